import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostKeyPin } from '../../../src/adapters/backends/upterm/hostKeyPin.ts';
import { UptermBackend } from '../../../src/adapters/backends/upterm/upterm.ts';
import { freePort } from '../../../src/adapters/ports.ts';
import { ensureIdentity } from '../../../src/service/keys.ts';
import { missingTools, toolPath } from '../../support/tools.ts';
import { startUptermd, type Relay } from '../../support/uptermd.ts';
import { uptermProcesses } from '../../support/observe.ts';
import { backendContract } from './contract.ts';

const missing = missingTools('upterm', 'uptermd', 'setpriv', 'ssh');

describe.skipIf(missing.length > 0)('real upterm against a loopback uptermd', () => {
  let relay: Relay;
  let dir: string;
  let identity: string;
  let mute: Server;
  let mutePort: number;
  beforeAll(async () => {
    relay = await startUptermd(toolPath('uptermd')!);
    dir = await mkdtemp(join(tmpdir(), 'termshare-upterm-'));
    identity = await ensureIdentity(join(dir, 'id_ed25519'));
    // Accepts TCP and never speaks: an ssh handshake that never completes.
    mute = createServer(() => {});
    mutePort = await freePort();
    await new Promise<void>((r) => mute.listen(mutePort, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    mute?.close();
    await relay?.stop();
  });

  const pinned = () => ({ knownHosts: join(dir, 'known_hosts'), fingerprint: relay.fingerprint });
  const adapter = (server: string, hostKey: HostKeyPin = pinned()) => async () =>
    new UptermBackend({ bin: toolPath('upterm')!, server, hostKey, identityFile: identity, workDir: join(dir, 'workers'), guestAttach: () => ['bash', '--norc'] });

  let n = 0;
  backendContract('upterm', {
    working: async () => adapter(relay.server)(),
    unreachable: async () => adapter(`ssh://127.0.0.1:${await freePort()}`)(),
    silent: async () => adapter(`ssh://127.0.0.1:${mutePort}`)(),
    crash: (s) => process.kill(s.pid!, 'SIGKILL'),
    leftovers: () => uptermProcesses(dir).length,
    spec: (o) => ({ shareId: `sh_contract${++n}`, terminal: 'tmux:none', access: 'read-write', attach: { argv: ['bash', '--norc'], env: {} }, linkTimeoutMs: 5000, ...o }),
  });

  describe('relay host key pinning', () => {
    const spec = () => ({ shareId: `sh_pin${++n}`, terminal: 'tmux:none', access: 'read-write' as const, attach: { argv: ['bash', '--norc'], env: {} }, linkTimeoutMs: 5000 });
    const fresh = async () => join(await mkdtemp(join(tmpdir(), 'pin-')), 'known_hosts');
    const fileText = (f: string) => readFile(f, 'utf8').catch(() => '');

    it('a relay not seen before is pinned only when it presents the configured fingerprint', async () => {
      const knownHosts = await fresh();
      const r = await (await adapter(relay.server, { knownHosts, fingerprint: relay.fingerprint })()).start(spec());
      if (!r.ok) throw new Error(r.error.message);
      await r.value.stop();
      expect(await fileText(knownHosts)).toMatch(/^@cert-authority \[127\.0\.0\.1\]:\d+ ssh-ed25519 /m);
      // Pinned: the next start needs no fingerprint at all.
      const again = await (await adapter(relay.server, { knownHosts })()).start(spec());
      expect(again.ok).toBe(true);
      if (again.ok) await again.value.stop();
    });

    it('an unpinned relay with no fingerprint configured is refused, naming the key it presented', async () => {
      const knownHosts = await fresh();
      const r = await (await adapter(relay.server, { knownHosts })()).start(spec());
      expect(r).toMatchObject({ ok: false, error: { code: 'backend_unavailable' } });
      expect(r.ok || r.error.message).toContain(`set TERMSHARE_UPTERM_FINGERPRINT=${relay.fingerprint}`);
      expect(await fileText(knownHosts)).toBe('');
      expect(uptermProcesses(dir).length).toBe(0);
    });

    it('a relay presenting another key than the configured fingerprint is refused and not pinned', async () => {
      const knownHosts = await fresh();
      const r = await (await adapter(relay.server, { knownHosts, fingerprint: 'SHA256:AAAAnotTheRelaysKeyAAAAAAAAAAAAAAAAAAAAAAAA' })()).start(spec());
      expect(r).toMatchObject({ ok: false, error: { code: 'backend_unavailable' } });
      expect(r.ok || r.error.message).toContain('is not TERMSHARE_UPTERM_FINGERPRINT');
      expect(await fileText(knownHosts)).toBe('');
    });

    it('a relay whose key changed after it was pinned is refused as a possible man-in-the-middle', async () => {
      const knownHosts = await fresh();
      const port = await freePort();
      const first = await startUptermd(toolPath('uptermd')!, { port });
      const ok = await (await adapter(first.server, { knownHosts, fingerprint: first.fingerprint })()).start(spec());
      if (!ok.ok) throw new Error(ok.error.message);
      await ok.value.stop();
      await first.stop();
      const impostor = await startUptermd(toolPath('uptermd')!, { port });
      try {
        // Even with the impostor's own fingerprint configured: a pinned key is never replaced silently.
        const r = await (await adapter(impostor.server, { knownHosts, fingerprint: impostor.fingerprint })()).start(spec());
        expect(r).toMatchObject({ ok: false, error: { code: 'backend_unavailable' } });
        expect(r.ok || r.error.message).toMatch(/differs from the one pinned in .*known_hosts/);
      } finally {
        await impostor.stop();
      }
    });
  });
});
