import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { TEST_ENTITIES, TEST_POLICY } from './harness.ts';
import { toolPath } from './tools.ts';
import { startUptermd, type Relay } from './uptermd.ts';

export const termshareBin = join(import.meta.dirname, '../../bin/termshare.js');

/** The embedded nats-server's pid, from the pid file `serve` has it write. */
export const natsPidOf = async (stateDir: string) => Number((await readFile(join(stateDir, 'nats', 'nats.pid'), 'utf8')).trim());

/** `termshare serve` on its embedded NATS (no TERMSHARE_NATS_URL), resolved at its ready line. */
export async function spawnServe(env: Record<string, string>, opts: { ownGroup?: boolean; /** a NATS server of your own (a cluster's) instead of the embedded one */ natsUrl?: string } = {}): Promise<{ serve: ResultPromise; ready: string }> {
  const serve: ResultPromise = execa('node', [termshareBin, 'serve'], { env: { ...env, TERMSHARE_NATS_URL: opts.natsUrl ?? '' }, detached: opts.ownGroup ?? false, reject: false, buffer: false, stdout: 'pipe', stderr: 'inherit' });
  const ready = await new Promise<string>((resolve, reject) => {
    createInterface({ input: serve.stdout! }).on('line', (l) => l.startsWith('termshare ready') && resolve(l));
    void serve.then((r) => reject(new Error(`serve exited early: ${r.exitCode}`)));
  });
  return { serve, ready };
}

/**
 * What a `serve` child process needs around it: a temp dir with a policy and entities, a loopback
 * uptermd whose key the service pins, a tmux server of its own with the named sessions, and the
 * environment pointing at all of it (embedded NATS, operator human:alice).
 */
export type ServeWorld = { dir: string; relay: Relay; socket: string; env: Record<string, string>; stop(): Promise<void> };

export async function serveWorld(name: string, sessions: string[], opts: { policy?: string } = {}): Promise<ServeWorld> {
  const dir = await mkdtemp(join(tmpdir(), `termshare-${name}-`));
  const relay = await startUptermd(toolPath('uptermd')!);
  const socket = `${name}-${process.pid}`;
  await writeFile(join(dir, 'policy.cedar'), opts.policy ?? TEST_POLICY);
  await writeFile(join(dir, 'entities.json'), JSON.stringify(TEST_ENTITIES));
  for (const s of sessions) await execa('tmux', ['-L', socket, 'new-session', '-d', '-s', s, 'bash --norc']);
  const env = {
    TERMSHARE_STATE_DIR: join(dir, 'state'),
    TERMSHARE_POLICY: join(dir, 'policy.cedar'),
    TERMSHARE_ENTITIES: join(dir, 'entities.json'),
    TERMSHARE_UPTERM_SERVER: relay.server,
    TERMSHARE_UPTERM_FINGERPRINT: relay.fingerprint,
    TERMSHARE_TMUX_SOCKET: socket,
    TERMSHARE_OPERATOR: 'human:alice',
    TERMSHARE_LOG_LEVEL: 'warn',
    TERMSHARE_NATS_URL: '',
  };
  return {
    dir,
    relay,
    socket,
    env,
    stop: async () => {
      await execa('tmux', ['-L', socket, 'kill-server'], { reject: false });
      await relay.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
