import { readFile, readdir, readlink } from 'node:fs/promises';
import { processEnv } from '../tmux/control.ts';
import { redactContext } from '../redact.ts';
import { INPUT_KEY, type TerminalContext, type TerminalScreen } from '../types.ts';
import type { ZellijRun } from './sessions.ts';

/**
 * The pane a zellij terminal means: the focused terminal pane of the session's active tab, the
 * same one zellij's own `write`/`dump-screen` without `--pane-id` would take. Every read and write
 * below names it by id (`terminal_N`), so a focus change halfway cannot split one request.
 */
export type Pane = {
  id: number;
  cols: number;
  rows: number;
  cursor?: { x: number; y: number };
};

type PaneEntry = {
  id: number;
  is_plugin: boolean;
  is_focused: boolean;
  is_floating: boolean;
  is_suppressed: boolean;
  exited: boolean;
  pane_content_columns: number;
  pane_content_rows: number;
  cursor_coordinates_in_pane?: [number, number] | null;
  tab_position: number;
};
type TabEntry = { position: number; active: boolean };

/** `pinned`: the pane a held lease is on (suppressed under its cover, see humanClients.ts). */
export async function activePane(run: ZellijRun, pinned?: number): Promise<Pane | undefined> {
  const [panes, tabs] = await Promise.all([run(['action', 'list-panes', '--json', '--all']), run(['action', 'list-tabs', '--json', '--state'])]);
  if (panes.exitCode !== 0 || tabs.exitCode !== 0) return undefined;
  let entries: PaneEntry[];
  let tabList: TabEntry[];
  try {
    entries = JSON.parse(panes.stdout) as PaneEntry[];
    tabList = JSON.parse(tabs.stdout) as TabEntry[];
  } catch {
    return undefined;
  }
  const tab = tabList.find((t) => t.active)?.position ?? 0;
  const leased = pinned === undefined ? undefined : entries.find((e) => !e.is_plugin && e.id === pinned);
  if (pinned !== undefined && !leased) return undefined;
  const candidates = entries.filter((p) => !p.is_plugin && !p.is_suppressed && p.tab_position === tab);
  const p = leased ?? candidates.find((c) => c.is_focused && !c.is_floating) ?? candidates.find((c) => c.is_focused) ?? candidates[0];
  if (!p) return undefined;
  const c = p.cursor_coordinates_in_pane;
  return { id: p.id, cols: p.pane_content_columns, rows: p.pane_content_rows, ...(c ? { cursor: { x: c[0], y: c[1] } } : {}) };
}

export const paneArg = (pane: Pane) => `terminal_${pane.id}`;

function lines(stdout: string): string[] {
  const out = stdout.split('\n');
  if (out.at(-1) === '') out.pop();
  return out;
}

/**
 * The pane's own process (its shell): zellij starts it with ZELLIJ_SESSION_NAME and ZELLIJ_PANE_ID
 * in its environment, as a child of the session's server (which has neither).
 */
export async function paneProcess(session: string, paneId: number): Promise<number | undefined> {
  const wanted = [`ZELLIJ_SESSION_NAME=${session}`, `ZELLIJ_PANE_ID=${paneId}`];
  const tagged = async (pid: string) => {
    const env = (await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '')).split('\0');
    return wanted.every((w) => env.includes(w));
  };
  for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
    if (!(await tagged(pid))) continue;
    const ppid = (await statFields(Number(pid)))?.[1];
    if (ppid && !(await tagged(ppid))) return Number(pid);
  }
  return undefined;
}

/** /proc/<pid>/stat from the field after the command name: state, ppid, pgrp, session, tty_nr, tpgid, ... */
async function statFields(pid: number): Promise<string[] | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ') : undefined;
}

/** The foreground process of the shell's terminal (as tmux's pane_current_command/_path): its name and cwd. */
async function foreground(shellPid: number): Promise<{ command: string; cwd: string }> {
  const tpgid = Number((await statFields(shellPid))?.[5]);
  const pid = Number.isInteger(tpgid) && tpgid > 0 ? tpgid : shellPid;
  const command = (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
  const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => readlink(`/proc/${shellPid}/cwd`).catch(() => ''));
  return { command, cwd };
}

async function dump(run: ZellijRun, pane: Pane, full: boolean): Promise<string[] | undefined> {
  const r = await run(['action', 'dump-screen', ...(full ? ['--full'] : []), '--pane-id', paneArg(pane)]);
  return r.exitCode === 0 ? lines(r.stdout) : undefined;
}

export async function readContext(run: ZellijRun, session: string, pinned?: number): Promise<TerminalContext | undefined> {
  const pane = await activePane(run, pinned);
  if (!pane) return undefined;
  const pid = await paneProcess(session, pane.id);
  const history = await dump(run, pane, true);
  if (!pid || !history) return undefined;
  const scrollback = history.map((l) => l.trimEnd());
  while (scrollback.length > 0 && scrollback.at(-1) === '') scrollback.pop();
  const fg = await foreground(pid);
  return redactContext({ cwd: fg.cwd, env: await processEnv(pid), command: fg.command, scrollback, size: { cols: pane.cols, rows: pane.rows } });
}

export async function readScreen(run: ZellijRun, pinned?: number): Promise<TerminalScreen | undefined> {
  const pane = await activePane(run, pinned);
  if (!pane) return undefined;
  const shown = await dump(run, pane, false);
  if (!shown) return undefined;
  // The cursor as of the same moment: read again after the dump, and the dump kept to the pane's rows.
  const after = await activePane(run, pane.id);
  const cursor = after?.id === pane.id ? after.cursor : pane.cursor;
  const rows = shown.slice(0, pane.rows).map((l) => l.trimEnd());
  while (rows.length < pane.rows) rows.push('');
  return { lines: rows, cursor: cursor ?? { x: 0, y: 0 } };
}

/** termshare's key names (tmux's, see INPUT_KEY) as zellij `send-keys` names; the three it has no name for as bytes. */
export function zellijKey(key: string): { name: string } | { bytes: number[] } | undefined {
  if (!INPUT_KEY.test(key)) return undefined;
  const named: Record<string, string> = { Escape: 'Esc', BSpace: 'Backspace', Space: 'Space' };
  if (named[key]) return { name: named[key] };
  const raw: Record<string, number> = { 'C-[': 0x1b, 'C-\\': 0x1c, 'C-]': 0x1d };
  if (raw[key] !== undefined) return { bytes: [raw[key]] };
  if (key.startsWith('C-')) return { name: `Ctrl ${key.slice(2)}` };
  if (key.startsWith('M-')) return { name: `Alt ${key.slice(2)}` };
  return { name: key };
}

export async function sendInput(run: ZellijRun, input: { text?: string; keys?: string[] }, pinned?: number): Promise<boolean> {
  const keys = (input.keys ?? []).map(zellijKey);
  if (keys.some((k) => k === undefined)) return false;
  const pane = await activePane(run, pinned);
  if (!pane) return false;
  const target = ['--pane-id', paneArg(pane)];
  if (input.text && (await run(['action', 'write-chars', ...target, '--', input.text])).exitCode !== 0) return false;
  for (const k of keys) {
    const args = k && 'name' in k ? ['action', 'send-keys', ...target, '--', k.name] : ['action', 'write', ...target, '--', ...(k?.bytes ?? []).map(String)];
    if ((await run(args)).exitCode !== 0) return false;
  }
  return true;
}
