import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ServiceErrorCodeHeader, ServiceErrorHeader } from '@nats-io/services';
import { subjects, type Verb } from '../api/subjects.ts';
import { defaultStateDir } from '../config.ts';
import { ExitCodes } from './format.ts';

export type Reply<T> = { ok: true; value: T } | { ok: false; code: string; message: string; status?: number };

/** Finds the service: TERMSHARE_NATS_URL, else the URL a local `termshare serve` wrote into its state dir. */
export async function resolveNatsUrl(env = process.env): Promise<string> {
  if (env.TERMSHARE_NATS_URL) return env.TERMSHARE_NATS_URL;
  try {
    return (await readFile(join(defaultStateDir(env), 'nats.url'), 'utf8')).trim();
  } catch {
    throw new Error(`no termshare service found: start one with \`termshare serve\` or set TERMSHARE_NATS_URL`);
  }
}

/** For CLI commands: the connected client, or a clear message and exit code 7 when no service answers. */
export async function connectOrExit(): Promise<TermshareClient> {
  try {
    return await TermshareClient.connect(await resolveNatsUrl());
  } catch (e) {
    console.error(`termshare: ${(e as Error).message}`);
    process.exit(ExitCodes.unreachable);
  }
}

export class TermshareClient {
  private constructor(
    readonly nc: NatsConnection,
    private readonly prefix: string,
  ) {}

  static async connect(url: string, prefix = process.env.TERMSHARE_PREFIX ?? 'termshare'): Promise<TermshareClient> {
    return new TermshareClient(await connect({ servers: url, name: 'termshare-cli', timeout: 3000 }), prefix);
  }

  async request<T>(verb: Verb, body: unknown, timeoutMs = 60_000): Promise<Reply<T>> {
    const msg = await this.nc.request(subjects(this.prefix).request(verb), typeof body === 'string' ? body : JSON.stringify(body), { timeout: timeoutMs });
    const code = msg.headers?.get(ServiceErrorCodeHeader);
    if (code) {
      const text = msg.string();
      try {
        const parsed = JSON.parse(text) as { error: { code: string; message: string } };
        return { ok: false, ...parsed.error, status: Number(code) };
      } catch {
        return { ok: false, code: 'invalid_request', message: msg.headers?.get(ServiceErrorHeader) ?? text, status: Number(code) };
      }
    }
    return { ok: true, value: msg.json() as T };
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}
