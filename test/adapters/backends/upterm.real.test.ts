import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe } from 'vitest';
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

  const adapter = (server: string) => async () =>
    new UptermBackend({ bin: toolPath('upterm')!, server, identityFile: identity, workDir: join(dir, 'workers'), guestAttach: () => ['bash', '--norc'] });

  let n = 0;
  backendContract('upterm', {
    working: async () => adapter(relay.server)(),
    unreachable: async () => adapter(`ssh://127.0.0.1:${await freePort()}`)(),
    silent: async () => adapter(`ssh://127.0.0.1:${mutePort}`)(),
    crash: (s) => process.kill(s.pid!, 'SIGKILL'),
    leftovers: () => uptermProcesses(dir).length,
    spec: (o) => ({ shareId: `sh_contract${++n}`, terminal: 'tmux:none', access: 'read-write', attach: { argv: ['bash', '--norc'], env: {} }, linkTimeoutMs: 5000, ...o }),
  });
});
