import type { Command } from 'commander';
import type { Verb } from '../api/subjects.ts';
import { connectClient, type TermshareClient } from './client.ts';
import { CliFailure } from './failure.ts';
import { spinner } from './format.ts';
import type { Globals } from './run.ts';

/**
 * How long a reply may take unless `--timeout` says: a verb that waits for a backend (a link, a
 * revoke's disconnects) a minute; a lookup 10 s, so that no service behind NATS is told soon.
 */
export const REPLY_TIMEOUT_MS = { slow: 60_000, quick: 10_000 } as const;

/** A connected client for one command, closed when `work` is done (whatever happened). */
export async function withClient<T>(program: Command, as: string | undefined, work: (c: TermshareClient, timeoutMs: number) => Promise<T>, pace: keyof typeof REPLY_TIMEOUT_MS = 'quick'): Promise<T> {
  const g = program.opts<Globals>();
  const client = await connectClient({ creds: g.creds, as, timeoutMs: g.timeout });
  try {
    return await work(client, g.timeout ?? REPLY_TIMEOUT_MS[pace]);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** One request: the reply's value, or the service's refusal as a CliFailure with its contract code. */
export async function requestValue<T>(client: TermshareClient, verb: Verb, body: unknown, timeoutMs: number): Promise<T> {
  const reply = await client.request<T>(verb, body, timeoutMs);
  if (!reply.ok) throw new CliFailure(reply.code, reply.message);
  return reply.value;
}

/**
 * A verb's whole life: connect, ask, print the value (JSON or text), exit 0. Any failure is
 * thrown for `runCli` to print (JSON on stdout with --json) with its exit code.
 */
export async function callVerb<T>(
  program: Command,
  verb: Verb,
  body: unknown,
  opts: { json?: boolean; wait?: string; as?: string; slow?: boolean },
  show: (v: T) => string,
  asJson: (v: T) => unknown = (v) => v,
): Promise<never> {
  const value = await withClient(program, opts.as, async (c, timeoutMs) => {
    const done = opts.wait ? spinner(opts.wait) : () => {};
    try {
      return await requestValue<T>(c, verb, body, timeoutMs);
    } finally {
      done();
    }
  }, opts.slow || opts.wait ? 'slow' : 'quick');
  console.log(opts.json ? JSON.stringify(asJson(value), null, 2) : show(value));
  process.exit(0);
}
