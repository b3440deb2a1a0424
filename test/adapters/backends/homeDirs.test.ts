import { access, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HomeDirs } from '../../../src/adapters/backends/homeDirs.ts';
import type { BackendSession } from '../../../src/adapters/backends/types.ts';
import { UptermBackend } from '../../../src/adapters/backends/upterm/upterm.ts';
import { TmuxTerminals } from '../../../src/adapters/terminals/tmux/tmux.ts';
import { ensureIdentity } from '../../../src/service/keys.ts';

const fake = join(import.meta.dirname, '../../fixtures/fake-upterm.sh');
const exists = (p: string) => access(p).then(() => true, () => false);

/** Rejections nobody handled while a test ran: a restart race used to surface as one (ENOENT), and took the service down. */
function unhandled() {
  const seen: unknown[] = [];
  const on = (e: unknown) => seen.push(e);
  process.on('unhandledRejection', on);
  return { seen, stop: () => process.off('unhandledRejection', on) };
}

describe('a share backend home directory, one incarnation at a time', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'home-dirs-'));
  });

  it('the next incarnation gets the directory only after the one before has removed it', async () => {
    const homes = new HomeDirs();
    const home = join(dir, 'sh_order');
    const first = await homes.take(home, 'upterm');
    if (!first.ok) throw first.error;
    await mkdir(home);
    await writeFile(join(home, 'old'), 'x');
    let secondHasIt = false;
    const second = homes.take(home, 'upterm').then((r) => ((secondHasIt = true), r));
    await new Promise((r) => setImmediate(r));
    expect(secondHasIt).toBe(false);
    await first.value.release();
    const next = await second;
    expect(next.ok).toBe(true);
    expect(await exists(join(home, 'old'))).toBe(false);
  });

  it('a wait past the bound fails that start as a value naming the reason, and the one after still gets its turn', async () => {
    const homes = new HomeDirs(1000);
    const home = join(dir, 'sh_stuck');
    const stuck = await homes.take(home, 'upterm');
    if (!stuck.ok) throw stuck.error;
    const late = await homes.take(home, 'upterm');
    expect(late.ok).toBe(false);
    if (!late.ok) expect(late.error).toMatchObject({ code: 'backend_failed', message: expect.stringMatching(/previous upterm of this share has not ended within 1 s/) });
    const third = homes.take(home, 'upterm');
    await stuck.value.release();
    expect((await third).ok).toBe(true);
  });
});

describe('the upterm adapter restarting a share whose previous upterm is still ending (fake-upterm fixture)', () => {
  let dir: string;
  let backend: UptermBackend;
  const open: BackendSession[] = [];
  const tmux = new TmuxTerminals('sock');
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'upterm-restart-'));
    backend = new UptermBackend({
      bin: fake,
      server: 'ssh://127.0.0.1:2222',
      identityFile: await ensureIdentity(join(dir, 'id_ed25519')),
      hostKey: { knownHosts: join(dir, 'known_hosts'), fingerprint: 'SHA256:pinnedFingerprint' },
      workDir: join(dir, 'workers'),
      stopBoundMs: 200,
      guestAttach: (s) => tmux.attachCommand(s.terminal, { shareId: s.shareId, access: s.access, role: 'guest' }).argv,
    });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.stop()));
    delete process.env.FAKE_UPTERM_MODE;
  });
  const spec = (shareId: string) => ({ shareId, terminal: 'tmux:work', access: 'read-only' as const, attach: tmux.attachCommand('tmux:work', { shareId, access: 'read-only', role: 'host' }), linkTimeoutMs: 3000 });

  it("a new upterm started while the old one's end removes the share's home keeps its keys and never fails on ENOENT", async () => {
    process.env.FAKE_UPTERM_MODE = 'link';
    const faults = unhandled();
    try {
      const old = await backend.start(spec('sh_restart1'));
      if (!old.ok) throw old.error;
      // The worker gave up on the old one (a machine timeout) and restarts at once, while the old one ends.
      const ending = old.value.stop();
      const again = await backend.start(spec('sh_restart1'));
      if (!again.ok) throw again.error;
      open.push(again.value);
      await ending;
      const home = join(dir, 'workers', 'sh_restart1');
      expect(await exists(join(home, '.ssh', 'id_ed25519'))).toBe(true);
      expect(await exists(join(home, 'run'))).toBe(true);
      expect(again.value.isAlive()).toBe(true);
      expect(faults.seen).toEqual([]);
    } finally {
      faults.stop();
    }
  });

  it('five restarts racing the ends of those before all start, each with its home in place', async () => {
    process.env.FAKE_UPTERM_MODE = 'link';
    const faults = unhandled();
    try {
      let current = await backend.start(spec('sh_restart2'));
      const endings: Promise<unknown>[] = [];
      for (let i = 0; i < 5; i++) {
        if (!current.ok) throw current.error;
        endings.push(current.value.stop());
        current = await backend.start(spec('sh_restart2'));
      }
      if (!current.ok) throw current.error;
      open.push(current.value);
      await Promise.all(endings);
      expect(await exists(join(dir, 'workers', 'sh_restart2', '.ssh', 'id_ed25519'))).toBe(true);
      expect(faults.seen).toEqual([]);
    } finally {
      faults.stop();
    }
  });
});
