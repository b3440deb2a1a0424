import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { inboxPrefixOf, readCredentials, type Credentials } from '../adapters/bus/nats/auth/credentials.ts';
import { authPaths } from '../adapters/bus/nats/auth/paths.ts';
import { subjects, type Verb } from '../api/subjects.ts';
import { defaultStateDir } from '../stateDir.ts';
import { CliFailure } from './failure.ts';

export type Reply<T> = { ok: true; value: T } | { ok: false; code: string; message: string; status?: number };

/** @nats-io/services' header names, spelled here so a CLI call does not load that package. */
const SERVICE_ERROR_CODE = 'Nats-Service-Error-Code';
const SERVICE_ERROR = 'Nats-Service-Error';

/** How long TermshareClient.request waits by default (the CLI's verbs pass their own: request.ts). */
export const DEFAULT_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 5_000;

const NO_SERVICE = 'start one with `termshare serve`, or point TERMSHARE_NATS_URL at the NATS server it uses';

/** Finds the service: TERMSHARE_NATS_URL, else the URL a local `termshare serve` wrote into its state dir. */
export async function resolveNatsUrl(env = process.env): Promise<string> {
  if (env.TERMSHARE_NATS_URL) return env.TERMSHARE_NATS_URL;
  try {
    return (await readFile(join(defaultStateDir(env), 'nats.url'), 'utf8')).trim();
  } catch {
    throw new CliFailure('unreachable', `no termshare service found: ${NO_SERVICE}`);
  }
}

const exists = (f: string) => access(f).then(() => true, () => false);

/**
 * Which credentials a command connects with: `--creds`/TERMSHARE_CREDS; else, for `--as P`,
 * P's file under the state dir when there is one; else the local operator's.
 */
export async function resolveCredentials(opts: { creds?: string; as?: string } = {}, env = process.env): Promise<{ file: string; creds: Credentials }> {
  const paths = authPaths(defaultStateDir(env));
  let file = opts.creds || env.TERMSHARE_CREDS || undefined;
  if (!file && opts.as && (await exists(paths.of(opts.as)))) file = paths.of(opts.as);
  file ??= paths.operator;
  try {
    return { file, creds: await readCredentials(file) };
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `no credentials at ${file}` : `cannot read credentials ${file}: ${(e as Error).message}`;
    throw new CliFailure('unreachable', `${why}: a first \`termshare serve\` makes yours (or give --creds <file>), \`termshare principal add\` makes others'`);
  }
}

/** The connected client, or a CliFailure (`unreachable`, exit 7) saying how to reach a service. */
export async function connectClient(opts: { creds?: string; as?: string; timeoutMs?: number } = {}): Promise<TermshareClient> {
  const { creds } = await resolveCredentials(opts);
  const url = await resolveNatsUrl();
  try {
    // --timeout is for the reply; a connection gets at least its own few seconds.
    return await TermshareClient.connect(url, creds, undefined, Math.max(opts.timeoutMs ?? 0, CONNECT_TIMEOUT_MS));
  } catch (e) {
    throw new CliFailure('unreachable', `cannot connect to NATS at ${url} as ${creds.principal}: ${(e as Error).message}; ${NO_SERVICE}`);
  }
}

/** For long-running commands (panel, inspect): the connected client, or the reason (JSON with --json) and exit 7. */
export async function connectOrExit(opts: { creds?: string; as?: string } = {}): Promise<TermshareClient> {
  try {
    return await connectClient(opts);
  } catch (e) {
    const { failureOf, report, wantsJson } = await import('./run.ts');
    const f = failureOf(e)!;
    report(f, wantsJson(process.argv));
    process.exit(f.exitCode);
  }
}

/** nats.js names a request that nobody answers and one that is not answered in time by these. */
function requestFailure(e: unknown, subject: string, timeoutMs: number): CliFailure {
  const err = e as Error & { isNoResponders?: () => boolean; isTimeout?: () => boolean; cause?: unknown };
  const text = `${err.name} ${err.message} ${(err.cause as Error | undefined)?.message ?? ''}`;
  if (err.isNoResponders?.() || /no ?responders|503/i.test(text)) return new CliFailure('unreachable', `no termshare service answers on ${subject}: ${NO_SERVICE}`);
  if (err.isTimeout?.() || /timeout/i.test(text)) {
    return new CliFailure('timeout', `no answer on ${subject} within ${timeoutMs} ms: is \`termshare serve\` running on this NATS server? If it is busy, try a longer --timeout`);
  }
  return new CliFailure('unreachable', `request on ${subject} failed: ${err.message}; ${NO_SERVICE}`);
}

export class TermshareClient {
  private constructor(
    readonly nc: NatsConnection,
    /** Whose credentials this client connected with. */
    readonly principal: string,
    readonly prefix: string,
  ) {}

  /** Connects as the principal of `creds`; replies come back under its own inbox prefix, the only one the server lets it read. */
  static async connect(url: string, creds: Credentials, prefix = process.env.TERMSHARE_PREFIX || 'termshare', timeoutMs = 3000): Promise<TermshareClient> {
    const nc = await connect({ servers: url, name: `termshare-cli ${creds.principal}`, timeout: timeoutMs, authenticator: nkeyAuthenticator(creds.seed), inboxPrefix: inboxPrefixOf(creds.publicKey) });
    return new TermshareClient(nc, creds.principal, prefix);
  }

  /** The service's reply as a value; a request nobody answers (in time) throws a CliFailure (`unreachable`, `timeout`). */
  async request<T>(verb: Verb, body: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Reply<T>> {
    const subject = subjects(this.prefix).request(verb);
    let msg;
    try {
      msg = await this.nc.request(subject, typeof body === 'string' ? body : JSON.stringify(body), { timeout: timeoutMs });
    } catch (e) {
      throw requestFailure(e, subject, timeoutMs);
    }
    const code = msg.headers?.get(SERVICE_ERROR_CODE);
    if (code) {
      const text = msg.string();
      try {
        const parsed = JSON.parse(text) as { error: { code: string; message: string } };
        return { ok: false, ...parsed.error, status: Number(code) };
      } catch {
        return { ok: false, code: 'invalid_request', message: msg.headers?.get(SERVICE_ERROR) ?? text, status: Number(code) };
      }
    }
    return { ok: true, value: msg.json() as T };
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}
