import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';

export const termshareBin = join(import.meta.dirname, '../../bin/termshare.js');

/** The embedded nats-server's pid, from the pid file `serve` has it write. */
export const natsPidOf = async (stateDir: string) => Number((await readFile(join(stateDir, 'nats', 'nats.pid'), 'utf8')).trim());

/** `termshare serve` on its embedded NATS (no TERMSHARE_NATS_URL), resolved at its ready line. */
export async function spawnServe(env: Record<string, string>, opts: { ownGroup?: boolean } = {}): Promise<{ serve: ResultPromise; ready: string }> {
  const serve: ResultPromise = execa('node', [termshareBin, 'serve'], { env: { ...env, TERMSHARE_NATS_URL: '' }, detached: opts.ownGroup ?? false, reject: false, buffer: false, stdout: 'pipe', stderr: 'inherit' });
  const ready = await new Promise<string>((resolve, reject) => {
    createInterface({ input: serve.stdout! }).on('line', (l) => l.startsWith('termshare ready') && resolve(l));
    void serve.then((r) => reject(new Error(`serve exited early: ${r.exitCode}`)));
  });
  return { serve, ready };
}
