import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Access } from '../../../../src/api/schemas.ts';
import { TmateBackend } from '../../../../src/adapters/backends/tmate/tmate.ts';
import type { BackendSession } from '../../../../src/adapters/backends/types.ts';
import { UptermBackend } from '../../../../src/adapters/backends/upterm/upterm.ts';
import { ensureIdentity } from '../../../../src/service/keys.ts';
import { ESCAPE_PATHS, LEAVE_PATH } from '../../../support/escapePaths.ts';
import { EscapeWorld } from '../../../support/escapeWorld.ts';
import { Participant, guestKey } from '../../../support/participant.ts';
import { startTmateRelay, type TmateRelay } from '../../../support/tmateRelay.ts';
import { missingTools, toolPath } from '../../../support/tools.ts';
import { startUptermd, type Relay } from '../../../support/uptermd.ts';
import { waitFor } from '../../../support/waitFor.ts';

const missing = missingTools('tmux', 'tmate', 'upterm', 'uptermd', 'ssh', 'setpriv', 'script');

/** A guest typing: an ssh participant through upterm, or a viewer on the tmate relay. */
type Guest = { type(bytes: Buffer): Promise<void>; close(): Promise<void> };

describe.skipIf(missing.length > 0)('a guest is confined to its one terminal (real tmux, upterm, tmate, ssh)', () => {
  let dir: string;
  let uptermd: Relay;
  let relay: TmateRelay;
  let identity: string;
  let key: string;
  const table: Record<string, Record<string, string>> = {};
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'termshare-confine-'));
    [uptermd, relay] = await Promise.all([startUptermd(toolPath('uptermd')!), startTmateRelay({ numClients: 0 })]);
    identity = await ensureIdentity(join(dir, 'id_ed25519'));
    key = await guestKey(dir);
  });
  afterAll(async () => {
    const cases = Object.keys(table);
    if (cases.length) {
      const rows = [...ESCAPE_PATHS.map((p) => [p.id, p.label]), [LEAVE_PATH.id, LEAVE_PATH.label]];
      console.info(['| path | ' + cases.join(' | ') + ' |', ...rows.map(([id, label]) => `| ${id} ${label} | ${cases.map((c) => table[c]![id!] ?? '-').join(' | ')} |`)].join('\n'));
    }
    await uptermd?.stop();
    await relay?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function share(world: EscapeWorld, backend: 'upterm' | 'tmate', access: Access, shareId: string): Promise<{ session: BackendSession; guest: Guest }> {
    const attach = (role: 'host' | 'guest', confined = false) => world.tmux.attachCommand('tmux:work', { shareId, access, role, confined });
    const spec = { shareId, terminal: 'tmux:work', access, attach: attach('host'), linkTimeoutMs: 15_000 };
    const adapter = backend === 'upterm'
      ? new UptermBackend({ bin: toolPath('upterm')!, server: uptermd.server, hostKey: { knownHosts: join(world.dir, 'known_hosts'), fingerprint: uptermd.fingerprint }, identityFile: identity, workDir: join(world.dir, 'w'), guestAttach: () => attach('guest').argv })
      : new TmateBackend({ bin: toolPath('tmate')!, server: relay.server, fingerprint: relay.fingerprint, workDir: join(world.dir, 'w'), guestAttach: () => attach('host', true).argv });
    const started = await adapter.start(spec);
    if (!started.ok) throw new Error(started.error.message);
    let guest: Guest;
    if (backend === 'upterm') {
      const p = await Participant.join(started.value.link.ssh, key);
      guest = { type: (b) => p.typeBytes(b), close: () => p.close() };
    } else {
      guest = { type: async (b) => relay.typeAsViewer(b), close: async () => undefined };
    }
    // The guest's view: a read-only, ignore-size client of `work`, whatever the share's access.
    const view = await waitFor('the guest view to attach', async () => (await views(world, backend, shareId))[0]);
    expect((await world.clients()).find((c) => c.tty === view.id)?.flags.split(',')).toEqual(expect.arrayContaining(['read-only', 'ignore-size']));
    return { session: started.value, guest };
  }
  /** upterm's guests are tagged guest; tmate's hosted view is the share's host client, whose pane the relay's viewers type into. */
  const views = async (world: EscapeWorld, backend: string, shareId: string) =>
    (await world.tmux.clients('tmux:work', shareId)).filter((c) => c.role === (backend === 'upterm' ? 'guest' : 'host'));

  const cases: [backend: 'upterm' | 'tmate', access: Access][] = [['upterm', 'read-write'], ['upterm', 'read-only'], ['tmate', 'read-write'], ['tmate', 'read-only']];
  let n = 0;
  it.each(cases)('%s %s: none of the 30 paths leaves the terminal; typing reaches only its pane', async (backend, access) => {
    const world = new EscapeWorld(`confine-${process.pid}-${++n}`, join(dir, `case${n}`));
    await mkdir(world.dir, { recursive: true });
    await world.start();
    const { session, guest } = await share(world, backend, access, `sh_confine${n}`);
    try {
      const before = await world.snapshot();
      for (const path of ESCAPE_PATHS) {
        for (const segment of path.bytes((id) => world.marker(id), join(world.dir, 'evil.conf'))) await guest.type(Buffer.from(segment, 'latin1'));
      }
      if (access === 'read-write') {
        // Bytes go to the pane in order: once the barrier line is there, every path before it has arrived.
        await guest.type(Buffer.from('BARRIER_OK\r'));
        // (The keys after the last command-prompt path have no Enter of their own: they lead the barrier's line.)
        await waitFor('the barrier line in the pane', async () => /BARRIER_OK$/m.test(await world.pane('work')), 20_000).catch(async (e: Error) => {
          throw new Error(`${e.message}; the pane shows:\n${await world.pane('work')}`);
        });
        // The prefix arrived as a byte in the pane (cat -v shows it as ^B), not as a tmux key.
        expect(await world.pane('work')).toContain('^B:run-shell');
      }
      const after = await world.snapshot();
      const results = Object.fromEntries(ESCAPE_PATHS.map((p) => [p.id, p.breach(before, after) ?? 'held']));

      // The 30th: prefix d leaves the guest's own view; the operator stays. upterm itself drops a
      // read-only guest's input before it reaches the view (so there is nothing in flight to wait
      // for above); the view's own read-only handling is what the tmate read-only case exercises.
      await guest.type(Buffer.from(LEAVE_PATH.bytes, 'latin1'));
      const leaves = !(backend === 'upterm' && access === 'read-only');
      if (backend === 'tmate') await session.exited;
      else if (leaves) await waitFor('the guest view to leave', async () => (await views(world, backend, `sh_confine${n}`)).length === 0, 15_000);
      const left = await world.snapshot();
      const operatorStays = left.clients.some((c) => c.tty === world.operatorTty && c.session === 'work');
      results[LEAVE_PATH.id] = !operatorStays ? 'the operator was detached' : leaves ? 'held (only the guest left)' : 'held (upterm passes no read-only input)';
      if (access === 'read-only') expect(await world.pane('work')).not.toMatch(/run-shell|BARRIER/);
      table[`${backend} ${access}`] = results;
      expect(Object.entries(results).filter(([, r]) => !r.startsWith('held'))).toEqual([]);
      expect(left.markers).toEqual([]);
    } finally {
      await guest.close();
      await session.stop();
      await world.stop();
    }
  });
});
