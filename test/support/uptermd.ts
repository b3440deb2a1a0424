import { createWriteStream } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLoopbackUptermd } from '../../src/adapters/backends/upterm/relayProcess.ts';
import { freePort } from './ports.ts';

/** `keyDir`: where its host key is, to start it again with the same key (what the service pinned). */
export type Relay = { server: string; port: number; fingerprint: string; keyDir: string; stop(): Promise<void> };

/** A real uptermd on loopback with a host key of its own; `fingerprint` is what the service pins. */
export async function startUptermd(bin: string, opts: { port?: number; keyDir?: string } = {}): Promise<Relay> {
  const keyDir = opts.keyDir ?? (await mkdtemp(join(tmpdir(), 'uptermd-key-')));
  const relay = await startLoopbackUptermd(bin, opts.port ?? (await freePort()), keyDir);
  if (process.env.UPTERMD_LOG) relay.child.stderr!.pipe(createWriteStream(process.env.UPTERMD_LOG));
  else relay.child.stderr!.resume();
  return { server: relay.server, port: relay.port, fingerprint: relay.fingerprint, keyDir, stop: relay.stop };
}
