import { describe, expect, it } from 'vitest';
import * as humans from '../../../../src/adapters/terminals/zellij/humanClients.ts';
import { activePane, sendInput } from '../../../../src/adapters/terminals/zellij/panes.ts';
import type { ZellijRun } from '../../../../src/adapters/terminals/zellij/sessions.ts';

/**
 * The zellij commands the adapter issues, against scripted `list-panes`/`list-tabs` answers: which
 * pane each one names and in what order. (Whether zellij then does it is what the real-zellij
 * tests in this folder check.)
 */
type Call = { args: string[]; env?: Record<string, string> };
function scripted(panes: () => unknown[], extra: (args: string[]) => { exitCode: number; stdout: string } | undefined = () => undefined) {
  const calls: Call[] = [];
  const run: ZellijRun = async (args, env) => {
    calls.push({ args, ...(env ? { env } : {}) });
    const answer = extra(args);
    if (answer) return { ...answer, stderr: '' };
    if (args.includes('list-panes')) return { exitCode: 0, stdout: JSON.stringify(panes()), stderr: '' };
    if (args.includes('list-tabs')) return { exitCode: 0, stdout: JSON.stringify([{ position: 0, active: true }]), stderr: '' };
    return { exitCode: 0, stdout: '', stderr: '' };
  };
  return { run, calls };
}
const pane = (id: number, o: Record<string, unknown> = {}) => ({
  id, is_plugin: false, is_focused: false, is_floating: false, is_suppressed: false, exited: false, title: '', tab_position: 0,
  pane_content_columns: 80, pane_content_rows: 24, cursor_coordinates_in_pane: [2, 3], ...o,
});

describe('zellij pane commands', () => {
  it('the terminal pane is the focused terminal pane; a held lease pins it even while suppressed', async () => {
    const { run } = scripted(() => [pane(0, { is_plugin: true, is_focused: true }), pane(1, { is_suppressed: true }), pane(2, { is_focused: true })]);
    expect(await activePane(run)).toEqual({ id: 2, cols: 80, rows: 24, cursor: { x: 2, y: 3 } });
    expect((await activePane(run, 1))?.id).toBe(1);
    expect(await activePane(run, 9)).toBeUndefined();
  });

  it('input names the pane: text with write-chars, then each key in order', async () => {
    const { run, calls } = scripted(() => [pane(4, { is_focused: true })]);
    expect(await sendInput(run, { text: '-n x', keys: ['Enter', 'C-c', 'C-]'] })).toBe(true);
    expect(calls.filter((c) => !c.args.includes('list-panes') && !c.args.includes('list-tabs')).map((c) => c.args)).toEqual([
      ['action', 'write-chars', '--pane-id', 'terminal_4', '--', '-n x'],
      ['action', 'send-keys', '--pane-id', 'terminal_4', '--', 'Enter'],
      ['action', 'send-keys', '--pane-id', 'terminal_4', '--', 'Ctrl c'],
      ['action', 'write', '--pane-id', 'terminal_4', '--', '29'],
    ]);
  });

  it('an unknown key sends nothing at all', async () => {
    const { run, calls } = scripted(() => [pane(4, { is_focused: true })]);
    expect(await sendInput(run, { text: 'rm -rf x', keys: ['Enter', 'Bogus'] })).toBe(false);
    expect(calls).toEqual([]);
  });
});

describe('zellij lease cover', () => {
  it('runs the cover in place of the leased pane, named by ZELLIJ_PANE_ID, and reports it once it is suppressed', async () => {
    let covered = false;
    const { run, calls } = scripted(() => [pane(3, { is_suppressed: covered }), ...(covered ? [pane(8)] : [])], (args) => {
      if (args[0] !== 'run') return undefined;
      covered = true;
      return { exitCode: 0, stdout: 'terminal_8\n' };
    });
    expect(await humans.lock(run, '/bin/zellij', 3)).toEqual(['cover:terminal_8']);
    const spawned = calls.find((c) => c.args[0] === 'run')!;
    expect(spawned.env).toEqual({ ZELLIJ_PANE_ID: '3' });
    expect(spawned.args.slice(0, 3)).toEqual(['run', '--in-place', '--near-current-pane']);
    expect(spawned.args).toEqual(expect.arrayContaining(['--pane', '3', '--zellij', '/bin/zellij']));
    // Already covered: nothing new.
    expect(await humans.lock(run, '/bin/zellij', 3)).toEqual([]);
  });

  it('a cover that replaced another pane is closed again and nothing is reported locked', async () => {
    const { run, calls } = scripted(() => [pane(3)], (args) => (args[0] === 'run' ? { exitCode: 0, stdout: 'terminal_9\n' } : undefined));
    expect(await humans.lock(run, 'zellij', 3)).toEqual([]);
    expect(calls.at(-1)!.args).toEqual(['action', 'close-pane', '--pane-id', 'terminal_9']);
  });

  it('unlock closes the cover panes it is given and nothing else', async () => {
    const { run, calls } = scripted(() => []);
    await humans.unlock(run, ['cover:terminal_8', '/dev/pts/3', 'terminal_2']);
    expect(calls.map((c) => c.args)).toEqual([['action', 'close-pane', '--pane-id', 'terminal_8']]);
  });
});
