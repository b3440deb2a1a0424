import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { connect } from '@nats-io/transport-node';
import { freePort, portFree } from '../../ports.ts';
import { withParentDeathSignal } from '../../process.ts';

export type EmbeddedNats = {
  url: string;
  port: number;
  stop(): Promise<void>;
  /**
   * Re-reads the configuration (the accounts include): a revoked principal is disconnected at
   * once. Resolves when the server says it has reloaded.
   */
  reload(): Promise<void>;
  pid: number | undefined;
};

/**
 * Starts a loopback `nats-server` with JetStream, its data under `dataDir`, on `preferredPort`
 * or any free port when that one is taken, and resolves once it accepts clients. With
 * `authConfig` (an accounts file in `dataDir`, see auth/authConfig.ts) nobody connects without
 * credentials; without it the server is open (unit tests of adapters only).
 */
export async function startEmbeddedNats(opts: { bin: string; dataDir: string; authConfig?: string; preferredPort?: number; readyTimeoutMs?: number }): Promise<EmbeddedNats> {
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  const preferred = opts.preferredPort ?? 4222;
  const port = preferred > 0 && (await portFree(preferred)) ? preferred : await freePort();
  const conf = join(opts.dataDir, 'nats.conf');
  // nats-server resolves `include` relative to the including file only.
  if (opts.authConfig && dirname(opts.authConfig) !== opts.dataDir) throw new Error(`the accounts file ${opts.authConfig} must sit in ${opts.dataDir}`);
  await writeFile(
    conf,
    [`listen: "127.0.0.1:${port}"`, `jetstream { store_dir: ${JSON.stringify(join(opts.dataDir, 'jetstream'))} }`, ...(opts.authConfig ? [`include ${JSON.stringify(basename(opts.authConfig))}`] : []), ''].join('\n'),
    { mode: 0o600 },
  );
  // Its own process group (detached): a Ctrl-C or a group SIGTERM reaches the service alone, which
  // ends the shares while NATS still carries their records, then stops NATS (parent-death signal still holds).
  const [bin, args] = withParentDeathSignal(opts.bin, ['-c', conf, '-P', join(opts.dataDir, 'nats.pid')]);
  const child: ResultPromise = execa(bin, args, { detached: true, reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', buffer: { stderr: true } });
  const url = `nats://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10_000);
  let lastError = '';
  for (;;) {
    if (child.exitCode !== null) {
      const r = await child;
      throw new Error(`nats-server (${opts.bin}) exited with ${r.exitCode}: ${String(r.stderr).trim().split('\n').slice(-3).join(' | ')}; install it with \`npm run setup\` or set TERMSHARE_NATS_URL`);
    }
    try {
      const nc = await connect({ servers: url, timeout: 500, reconnect: false });
      await nc.close();
      break;
    } catch (e) {
      lastError = (e as Error).message;
      // Refusing an anonymous client is the answer of a server that is up.
      if (opts.authConfig && /authorization violation/i.test(lastError)) break;
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`nats-server did not accept clients on ${url} within the bound: ${lastError}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    url,
    port,
    pid: child.pid,
    reload: () =>
      new Promise<void>((resolve, reject) => {
        if (child.exitCode !== null) return reject(new Error('nats-server is not running'));
        const t = setTimeout(() => done(new Error('nats-server did not report a reload within 5 s')), 5000);
        const onData = (d: Buffer) => d.toString().includes('Reloaded server configuration') && done();
        const done = (e?: Error) => {
          clearTimeout(t);
          child.stderr?.off('data', onData);
          if (e) reject(e);
          else resolve();
        };
        child.stderr?.on('data', onData);
        child.kill('SIGHUP');
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGINT'); // exits 0 on SIGINT (1 on SIGTERM)
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await child;
      clearTimeout(t);
    },
  };
}
