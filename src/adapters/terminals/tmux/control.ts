import { readFile } from 'node:fs/promises';
import { redactContext } from '../redact.ts';
import { LEASE_OPTION } from './guestInput.js';
import { INPUT_KEY, type TerminalContext, type TerminalScreen } from '../types.ts';

/**
 * The input side of a tmux terminal (tmux 3.3a). Every function takes the adapter's `run` (tmux on the
 * configured socket, failures as values) and the session name; one terminal = one session, and the
 * pane meant is the session's active pane.
 *
 * tmux facts this relies on (checked on 3.3a):
 * - Pane targets need `=name:`; `-t =name` only works where a session is the target.
 * - `display -p -t` on a missing target prints nothing and exits 0: emptiness is the failure signal.
 * - Commands chained with `;` in one invocation stop at the first failure, and run without pane
 *   output landing between them.
 * - An argument ending in `;` is cut there as a command separator (even inside `send-keys -l`);
 *   a `\;` ending stands for a literal `;`.
 * - `display-message` expands its text as a format, and `#(cmd)` in a format runs a shell command.
 * - `refresh-client -t TTY -f read-only` makes a client read-only (and nothing else);
 *   `-f '!read-only'` does NOT make it writable again on 3.3a.
 * - `switch-client -c TTY -r` toggles read-only AND ignore-size together; without `-t` it also moves
 *   the client to another (unattached) session. With `-T root` it only sets the key table, no switch.
 */

export type TmuxRun = (args: string[]) => Promise<{ exitCode?: number | undefined; stdout: string }>;

const paneTarget = (session: string) => `=${session}:`;
const sessionTarget = (session: string) => `=${session}`;

/** An argument tmux's command parser passes through unchanged (see the trailing `;` fact above). */
export function tmuxArg(text: string): string {
  return text.endsWith(';') ? `${text.slice(0, -1)}\\;` : text;
}

/** Text shown by display-message, literally: no format expansion, hence no `#(...)` commands. */
export function literalMessage(text: string): string {
  return tmuxArg(text.replaceAll('#', '##'));
}

function lines(stdout: string): string[] {
  const out = stdout.split('\n');
  if (out.at(-1) === '') out.pop();
  return out;
}

export async function readContext(run: TmuxRun, session: string): Promise<TerminalContext | undefined> {
  // The path goes last: it is the one field that could hold a newline.
  const shown = await run(['display-message', '-p', '-t', paneTarget(session),
    '#{pane_pid}\n#{pane_width} #{pane_height}\n#{pane_current_command}\n#{pane_current_path}']);
  const [pidText, sizeText, command, ...path] = lines(shown.stdout);
  const pid = Number(pidText);
  if (shown.exitCode !== 0 || !pidText || !Number.isInteger(pid)) return undefined;
  const history = await run(['capture-pane', '-p', '-J', '-S', '-', '-E', '-', '-t', paneTarget(session)]);
  if (history.exitCode !== 0) return undefined;
  const scrollback = lines(history.stdout).map((l) => l.trimEnd());
  while (scrollback.length > 0 && scrollback.at(-1) === '') scrollback.pop();
  const [cols, rows] = (sizeText ?? '').split(' ').map(Number);
  return redactContext({
    cwd: path.join('\n'),
    env: await processEnv(pid),
    command: command ?? '',
    scrollback,
    size: { cols: cols ?? 0, rows: rows ?? 0 },
  });
}

export async function readScreen(run: TmuxRun, session: string): Promise<TerminalScreen | undefined> {
  // One invocation, so the cursor belongs to the same moment as the lines. No -J: one line per
  // screen row, so `lines[cursor.y]` is the cursor's row.
  const r = await run(['capture-pane', '-p', '-t', paneTarget(session), ';',
    'display-message', '-p', '-t', paneTarget(session), '#{cursor_x} #{cursor_y}']);
  const out = lines(r.stdout);
  const cursor = out.pop()?.split(' ').map(Number);
  if (r.exitCode !== 0 || !cursor || cursor.length !== 2 || cursor.some((n) => !Number.isInteger(n))) return undefined;
  return { lines: out, cursor: { x: cursor[0]!, y: cursor[1]! } };
}

export async function sendInput(run: TmuxRun, session: string, input: { text?: string; keys?: string[] }): Promise<boolean> {
  const keys = input.keys ?? [];
  if (!keys.every((k) => INPUT_KEY.test(k))) return false;
  const target = paneTarget(session);
  const args: string[] = [];
  if (input.text) args.push('send-keys', '-t', target, '-l', '--', tmuxArg(input.text));
  // With no text and no keys, a bare send-keys still tells whether the pane is there.
  if (keys.length > 0 || args.length === 0) args.push(...(args.length ? [';'] : []), 'send-keys', '-t', target, ...keys);
  return (await run(args)).exitCode === 0;
}

type Client = { tty: string; readOnly: boolean; ignoreSize: boolean };

async function listClients(run: TmuxRun, session: string): Promise<Client[]> {
  const r = await run(['list-clients', '-t', sessionTarget(session), '-F', '#{client_tty} #{client_readonly} #{client_flags}']);
  if (r.exitCode !== 0) return [];
  return lines(r.stdout).filter(Boolean).map((l) => {
    const [tty = '', ro, flags = ''] = l.split(' ');
    return { tty, readOnly: ro === '1', ignoreSize: flags.split(',').includes('ignore-size') };
  });
}

/**
 * Locks the terminal: first the lease marker, which every guest view checks in the same server
 * command that would write its bytes (guestInput.ts), so a guest attaching later never gets a byte
 * in; then every writable tmux client attached now is made read-only.
 */
export async function lockClients(run: TmuxRun, session: string): Promise<string[]> {
  await run(['set-option', '-t', paneTarget(session), LEASE_OPTION, '1']);
  const writable = (await listClients(run, session)).filter((c) => !c.readOnly);
  if (writable.length === 0) return [];
  await run(writable.flatMap((c, i) => [...(i ? [';'] : []), 'refresh-client', '-t', c.tty, '-f', 'read-only']));
  // Report what is read-only now: a client gone meanwhile was not locked.
  const now = new Map((await listClients(run, session)).map((c) => [c.tty, c]));
  return writable.filter((c) => now.get(c.tty)?.readOnly).map((c) => c.tty);
}

export async function unlockClients(run: TmuxRun, session: string, ttys: string[]): Promise<void> {
  await run(['set-option', '-u', '-t', paneTarget(session), LEASE_OPTION]);
  const wanted = new Set(ttys);
  for (const c of await listClients(run, session)) {
    if (!wanted.has(c.tty) || !c.readOnly) continue;
    // The toggle clears ignore-size too: put it back in the same invocation if the client had it.
    const args = ['switch-client', '-c', c.tty, '-t', sessionTarget(session), '-r', '-T', 'root'];
    if (c.ignoreSize) args.push(';', 'refresh-client', '-t', c.tty, '-f', 'ignore-size');
    await run(args);
  }
}

export async function notifyAll(run: TmuxRun, session: string, text: string): Promise<void> {
  const clients = await listClients(run, session);
  await Promise.all(clients.map((c) => run(['display-message', '-c', c.tty, '-d', '15000', '--', literalMessage(text)])));
}

/** The starting environment of a process; empty when it cannot be read. */
export async function processEnv(pid: number): Promise<Record<string, string>> {
  try {
    const env: Record<string, string> = {};
    for (const entry of (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return env;
  } catch {
    return {};
  }
}
