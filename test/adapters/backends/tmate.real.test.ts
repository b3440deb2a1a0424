import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { GUEST_LOCKDOWN, TmateBackend, normaliseTmateSsh } from '../../../src/adapters/backends/tmate/tmate.ts';
import type { BackendSession, BackendStartSpec, ShareBackendAdapter } from '../../../src/adapters/backends/types.ts';
import { freePort } from '../../../src/adapters/ports.ts';
import { tmateProcesses } from '../../support/observe.ts';
import { TmateOut, startTmateRelay, type TmateRelay } from '../../support/tmateRelay.ts';
import { missingTools, toolPath } from '../../support/tools.ts';
import { backendContract } from './contract.ts';

const missing = missingTools('tmate', 'setpriv');

describe('tmate link shapes', () => {
  it('normalises `ssh -p PORT TOKEN@host` to the participants\' `ssh TOKEN@host -p PORT`', () => {
    expect(normaliseTmateSsh('ssh -p 2222 abc@relay.example')).toBe('ssh abc@relay.example -p 2222');
    expect(normaliseTmateSsh('ssh abc@relay.example')).toBe('ssh abc@relay.example');
    expect(normaliseTmateSsh('ssh -p22 abc@relay.example')).toBe('ssh abc@relay.example');
    expect(normaliseTmateSsh('')).toBeUndefined();
  });
});

describe.skipIf(missing.length > 0)('real tmate against a loopback tmate relay', () => {
  let relay: TmateRelay;
  let silentRelay: TmateRelay;
  let dir: string;
  beforeAll(async () => {
    relay = await startTmateRelay({ numClients: 0 });
    silentRelay = await startTmateRelay({ mode: 'never-ready' });
    dir = await mkdtemp(join(tmpdir(), 'termshare-tmate-'));
  });
  afterAll(async () => {
    // A failed test may leave its share running: end every one before the relays go.
    await Promise.all(live.map((s) => s.stop()));
    await relay?.stop();
    await silentRelay?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const live: BackendSession[] = [];
  const workDir = () => join(dir, 'workers');
  const adapter = (r: { server: string; fingerprint?: string }): ShareBackendAdapter => {
    const b = new TmateBackend({ bin: toolPath('tmate')!, server: r.server, fingerprint: r.fingerprint, workDir: workDir(), guestAttach: (s) => s.attach.argv });
    return {
      name: b.name,
      start: async (s) => {
        const res = await b.start(s);
        if (res.ok) live.push(res.value);
        return res;
      },
    };
  };

  let n = 0;
  const spec = (o?: Partial<BackendStartSpec>): BackendStartSpec => ({
    shareId: `sh_tmate${++n}`,
    terminal: 'tmux:none',
    access: 'read-write',
    attach: { argv: ['bash', '--norc'], env: {} },
    linkTimeoutMs: 5000,
    ...o,
  });

  backendContract('tmate', {
    working: async () => adapter(relay),
    unreachable: async () => adapter({ server: `127.0.0.1:${await freePort()}`, fingerprint: relay.fingerprint }),
    silent: async () => adapter(silentRelay),
    crash: (s) => process.kill(s.pid!, 'SIGKILL'),
    leftovers: () => tmateProcesses(dir).length,
    spec,
  });

  it('a read-write share hands out the read-write links and the read-only ones beside them', async () => {
    const r = await adapter(relay).start(spec());
    if (!r.ok) throw new Error(r.error.message);
    const issued = relay.sessions.at(-1)!;
    const token = issued.ssh.split(' ').find((w) => w.includes('@'))!;
    expect(r.value.link).toEqual({
      ssh: `ssh ${token} -p ${relay.port}`,
      sshReadOnly: `ssh ro-${token} -p ${relay.port}`,
      web: issued.web,
      webReadOnly: issued.webReadOnly,
    });
    expect(r.value.link.ssh).toMatch(/^ssh\s+(\S+@\S+)(?:\s+-p\s+(\d+))?$/);
    expect(await r.value.connectedClients()).toBe(0);
    await r.value.stop();
    expect(tmateProcesses(dir)).toEqual([]);
  });

  it('a read-only share hands out only read-only links', async () => {
    const r = await adapter(relay).start(spec({ access: 'read-only' }));
    if (!r.ok) throw new Error(r.error.message);
    const issued = relay.sessions.at(-1)!;
    const roToken = issued.sshReadOnly.split(' ').find((w) => w.includes('@'))!;
    expect(roToken.startsWith('ro-')).toBe(true);
    expect(r.value.link).toEqual({ ssh: `ssh ${roToken} -p ${relay.port}`, sshReadOnly: `ssh ${roToken} -p ${relay.port}`, webReadOnly: issued.webReadOnly });
    for (const v of Object.values(r.value.link)) expect(v).toMatch(/[ /]ro-/);
    await r.value.stop();
  });

  it('a relay whose host key does not match the fingerprint is a clear backend_unavailable, with nothing left running', async () => {
    const other = await startTmateRelay();
    try {
      const id = `sh_tmate${++n}`;
      const started = Date.now();
      const r = await adapter({ server: relay.server, fingerprint: other.fingerprint }).start(spec({ shareId: id }));
      expect(r).toMatchObject({ ok: false, error: { code: 'backend_unavailable' } });
      if (r.ok) return;
      expect(r.error.message).toContain('TERMSHARE_TMATE_FINGERPRINT');
      expect(r.error.message).toContain(relay.server);
      expect(Date.now() - started).toBeLessThan(4000);
      expect(tmateProcesses(dir)).toEqual([]);
      expect(existsSync(join(workDir(), id))).toBe(false);
    } finally {
      await other.stop();
    }
  });

  it('a custom relay without a fingerprint fails the same way, naming TERMSHARE_TMATE_FINGERPRINT', async () => {
    const r = await adapter({ server: relay.server }).start(spec());
    expect(r).toMatchObject({ ok: false, error: { code: 'backend_unavailable', message: expect.stringContaining('TERMSHARE_TMATE_FINGERPRINT is unset') } });
    expect(tmateProcesses(dir)).toEqual([]);
  });

  it('an unreachable relay is backend_unavailable within the bound, naming the relay, with no tmate process left', async () => {
    const server = `127.0.0.1:${await freePort()}`;
    const started = Date.now();
    const r = await adapter({ server, fingerprint: relay.fingerprint }).start(spec({ linkTimeoutMs: 3000 }));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(r).toMatchObject({ ok: false, error: { code: 'backend_unavailable' } });
    if (r.ok) return;
    expect(r.error.message).toContain(server);
    expect(r.error.message).toContain('TERMSHARE_TMATE_SERVER');
    expect(tmateProcesses(dir)).toEqual([]);
  });

  it('a relay that drops the connection is backend_unavailable', async () => {
    const dropping = await startTmateRelay({ mode: 'drop' });
    try {
      const r = await adapter(dropping).start(spec({ linkTimeoutMs: 3000 }));
      expect(r).toMatchObject({ ok: false, error: { code: 'backend_unavailable' } });
      expect(tmateProcesses(dir)).toEqual([]);
    } finally {
      await dropping.stop();
    }
  });

  it('a missing tmate binary is backend_unavailable naming the install step', async () => {
    const r = await new TmateBackend({ bin: join(dir, 'no-such-tmate'), server: relay.server, workDir: workDir(), guestAttach: (s) => s.attach.argv }).start(spec());
    expect(r).toMatchObject({ ok: false, error: { code: 'backend_unavailable', message: expect.stringContaining('apt-get install tmate') } });
  });

  it('the hosted command ending ends the share (tmate-foreground-restart 0)', async () => {
    const r = await adapter(relay).start(spec({ attach: { argv: ['sleep', '2'], env: {} } }));
    if (!r.ok) throw new Error(r.error.message);
    const exit = await r.value.exited;
    expect(exit.exitCode).toBe(0);
    expect(r.value.isAlive()).toBe(false);
    expect(tmateProcesses(dir)).toEqual([]);
  });

  it('tmate\'s own tmux leaves a guest no key: no binding, no prefix, no mouse, here and as replayed to the relay', async () => {
    const id = 'sh_tmatelockdown1';
    const r = await adapter(relay).start(spec({ shareId: id }));
    if (!r.ok) throw new Error(r.error.message);
    const tmate = (args: string[]) => execa(toolPath('tmate')!, ['-S', join(workDir(), id, 'tmate.sock'), ...args], { reject: false });
    expect((await tmate(['list-keys'])).stdout).toBe('');
    expect((await tmate(['show-options', '-g', 'prefix'])).stdout.trim()).toBe('prefix None');
    expect((await tmate(['show-options', '-g', 'prefix2'])).stdout.trim()).toBe('prefix2 None');
    expect((await tmate(['show-options', '-g', 'mouse'])).stdout.trim()).toBe('mouse off');
    // The relay runs the viewers' key bindings: it is sent every default binding, then the lockdown after them.
    const commands = relay.received.filter((m): m is unknown[] => Array.isArray(m) && m[0] === TmateOut.EXEC_CMD).map((m) => m.slice(1).join(' '));
    const lockdown = GUEST_LOCKDOWN.map((line) => line.replace('set ', 'set-option '));
    const at = lockdown.map((l) => commands.lastIndexOf(l));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect(commands.slice(at[0]!).filter((c) => c.startsWith('bind-key'))).toEqual([]);
    await r.value.stop();
  });

  it('the relay saw the client header of tmate 2.4 and its READY', () => {
    const header = relay.received.find((m) => Array.isArray(m) && m[0] === 0) as [number, number, string] | undefined;
    expect(header?.[2]).toMatch(/^2\./);
    expect(relay.received).toContainEqual([9]);
  });
});
