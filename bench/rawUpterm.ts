import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { parseUptermLink } from '../src/adapters/backends/upterm/parseLink.ts';
import type { Harness } from '../test/support/harness.ts';
import { toolPath } from '../test/support/tools.ts';

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** A HOME for raw upterm runs, with the service's own ssh identity. */
export async function rawUptermHome(h: Harness): Promise<string> {
  const home = join(h.dir, 'raw-home');
  await mkdir(join(home, '.ssh'), { recursive: true });
  await mkdir(join(home, 'run'), { recursive: true });
  await execa('cp', [join(h.config.stateDir, 'keys', 'id_ed25519'), join(home, '.ssh', 'id_ed25519')]);
  await execa('cp', [join(h.config.stateDir, 'keys', 'id_ed25519.pub'), join(home, '.ssh', 'id_ed25519.pub')]);
  return home;
}

/** Raw `upterm host`: spawn to its link printed, in ms (the baseline of share.start). */
export async function rawUptermLink(server: string, home: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  const child = execa(toolPath('upterm')!, ['host', '--accept', '--no-sftp', '--skip-host-key-check', '--server', server, '--', 'bash', '--norc'], {
    reject: false, buffer: false, stdin: 'pipe', env: { HOME: home, XDG_RUNTIME_DIR: join(home, 'run') }, extendEnv: true,
  });
  const elapsed = await new Promise<number>((resolve, reject) => {
    const seen: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => {
      seen.push(l);
      if (parseUptermLink(seen)) resolve(ms(t0));
    });
    void child.then((r) => reject(new Error(`raw upterm exited ${r.exitCode}`)));
  });
  child.kill('SIGTERM');
  await child;
  return elapsed;
}
