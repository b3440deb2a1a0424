import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { freePort } from './ports.ts';

export type Relay = { server: string; port: number; stop(): Promise<void> };

/** A real uptermd on loopback; resolves once its listeners are bound ("starting server"). */
export async function startUptermd(bin: string): Promise<Relay> {
  const port = await freePort();
  const child: ResultPromise = execa(bin, ['--ssh-addr', `127.0.0.1:${port}`, '--hostname', '127.0.0.1'], { reject: false, buffer: false, stdout: 'ignore' });
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stderr! });
    const t = setTimeout(() => reject(new Error('uptermd did not start within 10 s')), 10_000);
    lines.on('line', (l) => {
      if (l.includes('starting server')) {
        clearTimeout(t);
        resolve();
      }
    });
    void child.then((r) => reject(new Error(`uptermd exited early with ${r.exitCode}`)));
  });
  if (process.env.UPTERMD_LOG) child.stderr!.pipe((await import('node:fs')).createWriteStream(process.env.UPTERMD_LOG));
  else child.stderr!.resume();
  return {
    server: `ssh://127.0.0.1:${port}`,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await child;
    },
  };
}
