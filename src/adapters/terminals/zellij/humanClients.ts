import { fileURLToPath } from 'node:url';
import type { ZellijRun } from './sessions.ts';

/**
 * The human clients of a zellij terminal while an agent holds its lease.
 *
 * zellij 0.45.1 cannot make a running client read-only (only a client that attaches as a watcher
 * is one) nor detach one chosen client from outside. What it does offer is a pane run "in place"
 * of another (`run --in-place`): the terminal's pane is suppressed, no client can focus it or type
 * into it, and it comes back unchanged when the pane in its place closes. So the lock is that
 * cover pane (bin/termshare-zellij-cover.js: it mirrors the leased pane's screen and drops every
 * key), and the agent reads and writes the suppressed pane by its id. Unlocking closes the cover.
 * A human who closes the cover on purpose gets it back at the service's next lease check (1 s).
 */

export const COVER = fileURLToPath(new URL('../../../../bin/termshare-zellij-cover.js', import.meta.url));

/** A lock's id: the cover pane's, so a restarted service can still lift it (live.json keeps it). */
const coverId = (pane: string) => `cover:${pane}`;

type PaneEntry = { id: number; is_plugin: boolean; is_suppressed: boolean; title: string; exited: boolean };

async function listPanes(run: ZellijRun): Promise<PaneEntry[] | undefined> {
  const r = await run(['action', 'list-panes', '--json', '--all']);
  if (r.exitCode !== 0) return undefined;
  try {
    return JSON.parse(r.stdout) as PaneEntry[];
  } catch {
    return undefined;
  }
}

export const COVER_TITLE = 'termshare: agent holds input';

/**
 * Covers `paneId` unless a cover is already up and it is still suppressed; the new cover's id, or
 * none (already covered, or the pane could not be covered).
 */
export async function lock(run: ZellijRun, zellijBin: string, paneId: number): Promise<string[]> {
  const before = await listPanes(run);
  const target = before?.find((p) => !p.is_plugin && p.id === paneId);
  if (!before || !target) return [];
  if (target.is_suppressed) return [];
  // `--in-place --near-current-pane` replaces the pane the CLI is "in" (ZELLIJ_PANE_ID), whoever has focus.
  const r = await run(['run', '--in-place', '--near-current-pane', '--name', COVER_TITLE, '--', process.execPath, COVER, '--zellij', zellijBin, '--pane', String(paneId)],
    { ZELLIJ_PANE_ID: String(paneId) });
  const made = /terminal_(\d+)/.exec(r.stdout)?.[0];
  if (r.exitCode !== 0 || !made) return [];
  const after = await listPanes(run);
  if (after?.find((p) => p.id === paneId && !p.is_plugin)?.is_suppressed) return [coverId(made)];
  // It replaced another pane: undo, and report nothing locked.
  await run(['action', 'close-pane', '--pane-id', made]);
  return [];
}

export async function unlock(run: ZellijRun, ids: string[]): Promise<void> {
  for (const id of ids) {
    if (!id.startsWith('cover:terminal_')) continue;
    await run(['action', 'close-pane', '--pane-id', id.slice('cover:'.length)]);
  }
}

/**
 * A message to the humans: the terminal pane's title (shown in its frame) for 15 s. Nothing
 * focusable is opened, so nobody's keys go astray.
 */
export async function notify(run: ZellijRun, paneId: number, text: string): Promise<void> {
  const pane = `terminal_${paneId}`;
  if ((await run(['action', 'rename-pane', '--pane-id', pane, '--', text.replace(/[\x00-\x1f\x7f]/g, ' ')])).exitCode !== 0) return;
  setTimeout(() => void run(['action', 'undo-rename-pane', '--pane-id', pane]), 15_000).unref();
}
