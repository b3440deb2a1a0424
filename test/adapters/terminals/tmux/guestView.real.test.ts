import { readFile, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TmuxTerminals } from '../../../../src/adapters/terminals/tmux/tmux.ts';
import { shellJoin } from '../../../../src/adapters/process.ts';
import { missingTools } from '../../../support/tools.ts';
import { waitFor } from '../../../support/waitFor.ts';

const missing = missingTools('tmux', 'script', 'setpriv');

/** The guest view on its own, in a terminal of an outer tmux (the guest's side), with every byte passed through. */
describe.skipIf(missing.length > 0)('the guest view (real tmux)', () => {
  const tmux = new TmuxTerminals(`termshare-view-${process.pid}`);
  const guest = new TmuxTerminals(`termshare-view-guest-${process.pid}`);
  beforeAll(async () => {
    await tmux.create('term', { command: 'cat -v', width: 100, height: 30 });
  });
  afterAll(async () => {
    for (const server of [guest, tmux]) {
      const path = (await server.run(['display-message', '-p', '#{socket_path}'])).stdout.trim();
      await server.run(['kill-server']);
      if (path) await rm(path, { force: true });
    }
  });

  const views = async (shareId: string) => tmux.clients('tmux:term', shareId);
  /** Every client a share's view attached, its anchor included (tmux.clients leaves anchors out). */
  const taggedPids = async (shareId: string) => {
    const pids = (await tmux.run(['list-clients', '-F', '#{client_pid}'])).stdout.split('\n').filter(Boolean);
    const tagged = await Promise.all(pids.map(async (pid) => (await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '')).split('\0').includes(`TERMSHARE_SHARE=${shareId}`)));
    return pids.filter((_, i) => tagged[i]);
  };
  const open = async (name: string, access: 'read-only' | 'read-write') => {
    const argv = tmux.attachCommand('tmux:term', { shareId: `sh_${name}`, access, role: 'guest' }).argv;
    await guest.create(name, { command: shellJoin(argv), width: 90, height: 24 });
    return waitFor('the view to attach', async () => (await views(`sh_${name}`))[0]);
  };
  const size = async (tty: string) => (await tmux.run(['display-message', '-p', '-c', tty, '#{client_width}x#{client_height}'])).stdout.trim();
  const typeAsGuest = (name: string, text: string) => guest.run(['send-keys', '-t', `=${name}:`, '-l', text]);

  it('is a read-only, ignore-size client sized like the guest\'s terminal, following its resizes, never the window\'s', async () => {
    const view = await open('sized', 'read-only');
    expect(await taggedPids('sh_sized')).toHaveLength(2); // the view and its anchor; only the view is a participant
    expect(await views('sh_sized')).toHaveLength(1);
    const window = async () => (await tmux.run(['display-message', '-p', '-t', '=term:', '#{window_width}x#{window_height}'])).stdout.trim();
    const before = await window();
    expect(view.readOnly).toBe(true);
    expect(await size(view.id)).toBe('90x24');
    await guest.run(['resize-window', '-t', '=sized:', '-x', '70', '-y', '20']);
    await waitFor('the view to follow the guest terminal', async () => (await size(view.id)) === '70x20');
    // Nobody else is attached here: without the view's anchor, the guest's terminal would size the window.
    expect(await window()).toBe(before);
  });

  it('a guest whose terminal goes away leaves no client behind', async () => {
    await open('dropped', 'read-write');
    await guest.run(['kill-session', '-t', '=dropped']);
    // Its own client and its size anchor, both.
    await waitFor('the view\'s clients to be gone', async () => (await taggedPids('sh_dropped')).length === 0);
  });

  it('read-write: bytes reach the pane, except while the pane is in a mode (its bindings are not the guest\'s)', async () => {
    await open('typist', 'read-write');
    await typeAsGuest('typist', 'first-line\r');
    await waitFor('the typed line', async () => (await tmux.run(['capture-pane', '-p', '-t', '=term:'])).stdout.includes('first-line'));
    await tmux.run(['copy-mode', '-t', '=term:']);
    // q would leave copy mode if it reached the pane's mode; then the barrier line is typed after leaving it by hand.
    await typeAsGuest('typist', 'q');
    await typeAsGuest('typist', '\x02d');
    await waitFor('the view to leave', async () => (await views('sh_typist')).length === 0);
    expect((await tmux.run(['display-message', '-p', '-t', '=term:', '#{pane_in_mode}'])).stdout.trim()).toBe('1');
    await tmux.run(['send-keys', '-t', '=term:', '-X', 'cancel']);
  });
});
