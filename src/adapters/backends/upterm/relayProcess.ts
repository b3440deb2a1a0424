import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { ensureIdentity } from '../../../service/keys.ts';
import { fingerprintOf } from './hostKeyPin.ts';

export type LoopbackRelay = { server: string; port: number; fingerprint: string; child: ResultPromise; stop(): Promise<void> };

/**
 * A real uptermd on loopback with a host key of our making (kept in keyDir), so whoever starts
 * it knows the fingerprint to pin. Used by the demo and the tests; resolves once it listens.
 * `ownGroup`: in a process group of its own, so a terminal's Ctrl-C reaches only its starter,
 * which stops it after the shares that use it (the demo).
 */
export async function startLoopbackUptermd(bin: string, port: number, keyDir: string, opts: { ownGroup?: boolean } = {}): Promise<LoopbackRelay> {
  const key = await ensureIdentity(join(keyDir, 'uptermd_host_ed25519'));
  const fingerprint = await fingerprintOf(`${key}.pub`);
  const child = execa(bin, ['--ssh-addr', `127.0.0.1:${port}`, '--hostname', '127.0.0.1', '--private-key', key], { reject: false, buffer: false, stdout: 'ignore', detached: Boolean(opts.ownGroup) });
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    const t = setTimeout(() => reject(new Error('uptermd did not start within 10 s')), 10_000);
    lines.on('line', (l) => {
      if (!l.includes('starting server')) return;
      clearTimeout(t);
      resolve();
    });
    void child.then((r) => reject(new Error(`uptermd exited early with ${r.exitCode}; run \`npm run setup\``)));
  });
  return {
    server: `ssh://127.0.0.1:${port}`,
    port,
    fingerprint,
    child,
    stop: async () => {
      child.kill('SIGTERM');
      await child;
    },
  };
}
