import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { ServiceErrorCodeHeader, ServiceErrorHeader } from '@nats-io/services';
import { inboxPrefixOf, readCredentials, type Credentials } from '../adapters/bus/nats/auth/credentials.ts';
import { authPaths } from '../adapters/bus/nats/auth/principals.ts';
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

const exists = (f: string) => access(f).then(() => true, () => false);

/**
 * Which credentials a command connects with: `--creds`/TERMSHARE_CREDS; else, for `--as P`,
 * P's file under the state dir when there is one; else the local operator's.
 */
export async function resolveCredentials(opts: { creds?: string; as?: string } = {}, env = process.env): Promise<{ file: string; creds: Credentials }> {
  const paths = authPaths(defaultStateDir(env));
  let file = opts.creds ?? env.TERMSHARE_CREDS;
  if (!file && opts.as && (await exists(paths.of(opts.as)))) file = paths.of(opts.as);
  file ??= paths.operator;
  try {
    return { file, creds: await readCredentials(file) };
  } catch (e) {
    throw new Error(`cannot read credentials ${file}: ${(e as Error).message}; a first \`termshare serve\` makes yours, \`termshare principal add\` makes others'`);
  }
}

/** For CLI commands: the connected client, or a clear message and exit code 7 when no service answers. */
export async function connectOrExit(opts: { creds?: string; as?: string } = {}): Promise<TermshareClient> {
  try {
    const { creds } = await resolveCredentials(opts);
    return await TermshareClient.connect(await resolveNatsUrl(), creds);
  } catch (e) {
    console.error(`termshare: ${(e as Error).message}`);
    process.exit(ExitCodes.unreachable);
  }
}

export class TermshareClient {
  private constructor(
    readonly nc: NatsConnection,
    /** Whose credentials this client connected with. */
    readonly principal: string,
    private readonly prefix: string,
  ) {}

  /** Connects as the principal of `creds`; replies come back under its own inbox prefix, the only one the server lets it read. */
  static async connect(url: string, creds: Credentials, prefix = process.env.TERMSHARE_PREFIX ?? 'termshare'): Promise<TermshareClient> {
    const nc = await connect({ servers: url, name: `termshare-cli ${creds.principal}`, timeout: 3000, authenticator: nkeyAuthenticator(creds.seed), inboxPrefix: inboxPrefixOf(creds.publicKey) });
    return new TermshareClient(nc, creds.principal, prefix);
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
