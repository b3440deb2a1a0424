import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { connect } from '@nats-io/transport-node';
import { freePort, portFree } from '../../ports.ts';
import { withParentDeathSignal } from '../../process.ts';

export type EmbeddedNats = { url: string; port: number; stop(): Promise<void>; pid: number | undefined };

/**
 * Starts a loopback `nats-server` with JetStream, its data under `dataDir`, on `preferredPort`
 * or any free port when that one is taken, and resolves once it accepts clients.
 */
export async function startEmbeddedNats(opts: { bin: string; dataDir: string; preferredPort?: number; readyTimeoutMs?: number }): Promise<EmbeddedNats> {
  await mkdir(opts.dataDir, { recursive: true });
  const preferred = opts.preferredPort ?? 4222;
  const port = preferred > 0 && (await portFree(preferred)) ? preferred : await freePort();
  const [bin, args] = withParentDeathSignal(opts.bin, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', join(opts.dataDir, 'jetstream'), '--http_port', '0']);
  const child: ResultPromise = execa(bin, args, { reject: false, stdin: 'ignore', stdout: 'ignore', stderr: 'pipe', buffer: { stderr: true } });
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
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGINT'); // exits 0 on SIGINT (1 on SIGTERM)
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await child;
      clearTimeout(t);
    },
  };
}
