import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { PanelState } from '../../src/panel/feed.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');
const root = join(import.meta.dirname, '..', '..');

/**
 * `termshare demo` as a person runs it: in a terminal of its own (a tmux pane, so stdin is a TTY),
 * pressing Enter when asked and ending it with Ctrl-C; its output is read from the pane's log.
 */
describe.skipIf(missing.length > 0)('termshare demo, run in a terminal', () => {
  const socket = `demo-test-${process.pid}`;
  let dir: string;
  const output = async () => readFile(join(dir, 'out.txt'), 'utf8').catch(() => '');
  const shows = (text: string | RegExp, timeoutMs = 240_000) =>
    waitFor(`the demo to print ${String(text)}`, async () => {
      const o = await output();
      return (typeof text === 'string' ? o.includes(text) : text.test(o)) ? o : undefined;
    }, timeoutMs, 500);
  const tmux = (...args: string[]) => execa('tmux', ['-L', socket, ...args], { reject: false });

  afterAll(async () => {
    if (process.env.DEMO_TEST_SHOW) console.log(await output());
    await tmux('kill-server');
    await execa('tmux', ['-L', 'termshare-demo', 'kill-server'], { reject: false });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('shows a participant joining, how to reach it, the panel, a revoke and the timeline, and ends cleanly on Ctrl-C', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsdemo-'));
    const run = `cd ${root} && TERMSHARE_DEMO_DIR=${dir}/d node bin/termshare.js demo; echo "demo exit status $?"`;
    await tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'd', '-x', '200', '-y', '50', ';', 'set-option', '-t', 'd', 'remain-on-exit', 'on', ';', 'pipe-pane', '-t', 'd', '-o', `cat >> ${dir}/out.txt`, ';', 'respawn-pane', '-k', '-t', 'd', run);

    const before = await shows('press Enter to revoke the share', 400_000);
    const shareId = before.match(/share (sh_\w+) active; join with: ssh /)?.[1];
    expect(shareId).toBeDefined();
    expect(before).toContain('demo: the participant joined');

    // From another terminal, with nothing but what the demo printed.
    const stateDir = before.match(/export TERMSHARE_STATE_DIR=(\S+)/)![1]!;
    const env: NodeJS.ProcessEnv = { ...process.env, TERMSHARE_STATE_DIR: stateDir };
    delete env.TERMSHARE_NATS_URL;
    delete env.TERMSHARE_CREDS;
    const status = await execa('node', [join(root, 'bin', 'termshare.js'), 'status', '--json'], { env, reject: false });
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toContain(shareId);

    const panelUrl = before.match(/the lane panel \(acting as [^)]+\): (http:\/\/127\.0\.0\.1:\d+\/)/)![1]!;
    const state = (await (await fetch(new URL('/api/state', panelUrl))).json()) as PanelState;
    expect(state.lanes.flatMap((l) => l.shares.map((s) => s.shareId))).toEqual([shareId]);

    await tmux('send-keys', '-t', 'd', 'Enter');
    const after = await shows('Ctrl-C ends the demo.');
    expect(after).toContain('demo: the participant was disconnected (its ssh ended)');
    expect(after).toMatch(new RegExp(`revoke\\s.*revoked`));
    expect(after).toMatch(/request\s/);

    await tmux('send-keys', '-t', 'd', 'C-c');
    const all = await shows(/demo exit status \d+/);
    expect(all).toContain('demo: done');
    expect(all).toContain('demo exit status 0');
    // No warning or error on the way out (pino levels 40 and 50), the audit writer's included.
    expect(all).not.toMatch(/"level":(40|50|60)/);
    expect(all).not.toMatch(/spool|Error:/);
  }, 1_200_000);
});
