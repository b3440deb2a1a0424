/**
 * A small AI agent on termshare's public NATS contract, with a plain nats.js client and its own
 * principal's credentials (`termshare principal add ai:<id>` makes the file).
 *
 *   TERMSHARE_NATS_URL=nats://127.0.0.1:4222 TERMSHARE_CREDS=ai-claude.creds \
 *     npx tsx examples/agent.ts --handoff ho_... --run 'npm test'
 *
 * A handoff is a lease a person gives (`termshare handoff request tmux:work --to ai:claude`): the
 * agent is told its id, waits for the grant (approved and held), reads the context packet, types
 * one command, reads its output off the screen and hands the terminal back. It prints one JSON
 * object on stdout; a refusal ends it with exit code 1 and the service's error on stderr.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { fromSeed } from '@nats-io/nkeys';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';

type Handoff = { id: string; terminal: string; state: string; error?: { code: string; message: string } };
type Context = { cwd: string; command: string; env: Record<string, string>; scrollback: string[]; size: { cols: number; rows: number } };
type Screen = { lines: string[]; cursor: { x: number; y: number } };

/** A refusal, as the service words it: `{error: {code, message}}` with the NATS micro error headers. */
class Refused extends Error {
  constructor(
    readonly verb: string,
    readonly code: string,
    message: string,
  ) {
    super(`${verb}: ${code}: ${message}`);
  }
}

/** The credentials file: comment lines, then the nkey seed between NATS's markers. */
async function credentials(file: string): Promise<{ principal: string; seed: Uint8Array; publicKey: string }> {
  const text = await readFile(file, 'utf8');
  const principal = text.match(/^# principal: (\S+)$/m)?.[1];
  const seedLine = text.split('\n').find((l) => l.startsWith('SU'));
  if (!principal || !seedLine) throw new Error(`${file} is not a termshare credentials file`);
  const seed = new TextEncoder().encode(seedLine.trim());
  return { principal, seed, publicKey: fromSeed(seed).getPublicKey() };
}

/** One request of the contract; replies come back under the agent's own inbox prefix (the only one the server lets it read). */
async function call<T>(nc: NatsConnection, prefix: string, verb: string, body: unknown, timeoutMs = 30_000): Promise<T> {
  const msg = await nc.request(`${prefix}.${verb}`, JSON.stringify(body), { timeout: timeoutMs });
  if (msg.headers?.get('Nats-Service-Error-Code')) {
    const e = (msg.json() as { error: { code: string; message: string } }).error;
    throw new Refused(verb, e.code, e.message);
  }
  return msg.json() as T;
}

/** Asks again until `done` holds or the deadline passes: the agent has no event subscription of its own. */
async function until<T>(what: string, ask: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await ask();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * The command's output on screen: the lines after the one it was typed on (and that line's
 * wrapped rest), up to the marker the agent printed after it (`<marker>:<exit status>`). The typed
 * line holds the marker's parts apart (`printf '%s:%s' <marker> $?`), so only the printed one matches.
 */
export function outputOf(lines: string[], typed: string, marker: string): { output: string[]; exitStatus: number } | undefined {
  const end = lines.findIndex((l) => new RegExp(`^${marker}:(\\d+)\\s*$`).test(l));
  if (end < 0) return undefined;
  let start = end - 1;
  while (start >= 0 && !lines[start]!.includes(typed.slice(0, 20))) start--;
  let last = start;
  if (start >= 0) {
    let typedSoFar = lines[start]!;
    while (!typedSoFar.includes(`${marker} $?`) && last + 1 < end) typedSoFar += lines[++last]!;
  }
  return { output: lines.slice(last + 1, end).map((l) => l.trimEnd()), exitStatus: Number(lines[end]!.match(/:(\d+)\s*$/)![1]) };
}

export async function runAgent(opts: { url: string; credsFile: string; handoffId: string; command: string; prefix?: string; waitMs?: number }) {
  const prefix = opts.prefix ?? 'termshare';
  const creds = await credentials(opts.credsFile);
  const nc = await connect({ servers: opts.url, name: `agent ${creds.principal}`, authenticator: nkeyAuthenticator(creds.seed), inboxPrefix: `_INBOX_${creds.publicKey}` });
  try {
    // 1. The grant: the lease is held (after any approval the policy asks for).
    const held = await until(
      `handoff ${opts.handoffId} to be held`,
      async () => (await call<{ handoff: Handoff }>(nc, prefix, 'handoff.get', { handoffId: opts.handoffId })).handoff,
      (h) => h.state === 'held' || ['denied', 'rejected', 'failed', 'withdrawn', 'closed', 'released'].includes(h.state),
      opts.waitMs ?? 300_000,
    );
    if (held.state !== 'held') throw new Refused('handoff.get', held.error?.code ?? held.state, held.error?.message ?? `the handoff ended as ${held.state} before it was held`);
    const terminal = held.terminal;
    const lease = { terminal, handoffId: held.id };

    // 2. The context packet: where the shell is, what runs, what was on screen (secrets redacted).
    const { context } = await call<{ context: Context }>(nc, prefix, 'terminal.context', lease);

    // 3. One command, then a marker with its exit status, so the agent knows where its output ends.
    const nonce = randomBytes(4).toString('hex');
    const marker = `agent-done-${nonce}`;
    const typed = `${opts.command}; printf '%s:%s\\n' agent-done-${nonce} $?`;
    await call(nc, prefix, 'terminal.input', { ...lease, text: typed, keys: ['Enter'] });

    // 4. The result, read off the screen.
    const read = async () => outputOf((await call<Screen>(nc, prefix, 'terminal.screen', lease)).lines, typed, marker);
    const result = (await until('the command to finish on screen', read, (r) => r !== undefined, opts.waitMs ?? 300_000))!;

    // 5. Input goes back to the person.
    const back = (await call<{ handoff: Handoff }>(nc, prefix, 'handoff.release', { handoffId: held.id })).handoff;
    return {
      principal: creds.principal,
      handoffId: held.id,
      terminal,
      context: { cwd: context.cwd, command: context.command, scrollbackLines: context.scrollback.length, redacted: Object.entries(context.env).filter(([, v]) => v === '[redacted]').map(([k]) => k) },
      ran: opts.command,
      exitStatus: result.exitStatus,
      output: result.output,
      released: back.state,
    };
  } finally {
    await nc.close();
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      handoff: { type: 'string' },
      run: { type: 'string' },
      creds: { type: 'string' },
      'nats-url': { type: 'string' },
      wait: { type: 'string' },
    },
  });
  const url = values['nats-url'] ?? process.env.TERMSHARE_NATS_URL;
  const credsFile = values.creds ?? process.env.TERMSHARE_CREDS;
  if (!values.handoff || !values.run || !url || !credsFile) {
    console.error('usage: agent.ts --handoff <handoffId> --run <command> [--creds FILE | TERMSHARE_CREDS] [--nats-url URL | TERMSHARE_NATS_URL] [--wait SECONDS]');
    process.exit(2);
  }
  try {
    const out = await runAgent({ url, credsFile, handoffId: values.handoff, command: values.run, prefix: process.env.TERMSHARE_PREFIX, waitMs: values.wait ? Number(values.wait) * 1000 : undefined });
    console.log(JSON.stringify(out, null, 2));
  } catch (e) {
    console.error(`agent: ${(e as Error).message}`);
    process.exit(1);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
