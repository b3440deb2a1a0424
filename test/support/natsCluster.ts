import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { execa, type ResultPromise } from 'execa';
import { freePort } from '../../src/adapters/ports.ts';
import { serviceConnection } from './auth.ts';
import { waitFor } from './waitFor.ts';

/** One nats-server of the cluster, restartable on its ports and store. */
export type ClusterServer = { name: string; url: string; conf: string; proc?: ResultPromise; kill(signal?: NodeJS.Signals): Promise<void>; start(): Promise<void> };
export type NatsCluster = { servers: ClusterServer[]; stop(): Promise<void> };

/**
 * A real nats-server cluster on loopback: `size` servers with routes to each other, JetStream on
 * each (so streams and buckets can be R3), ports chosen free at run time, and termshare's accounts
 * (`authConfig`, from a state dir's `principal init`) included by every server.
 */
export async function startNatsCluster(dir: string, authConfig: string, opts: { size?: number; stateDir: string }): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const ports = await Promise.all(Array.from({ length: size }, async () => ({ client: await freePort(), route: await freePort() })));
  const routes = ports.map((p) => `"nats-route://127.0.0.1:${p.route}"`).join(', ');
  const servers: ClusterServer[] = [];
  for (const [i, p] of ports.entries()) {
    const home = join(dir, `nats-${i + 1}`);
    await mkdir(home, { recursive: true });
    await copyFile(authConfig, join(home, 'termshare-auth.conf'));
    const conf = join(home, 'nats-server.conf');
    await writeFile(
      conf,
      [
        `server_name: "n${i + 1}"`,
        `listen: "127.0.0.1:${p.client}"`,
        `jetstream { store_dir: ${JSON.stringify(join(home, 'js'))} }`,
        `cluster { name: "termshare"; listen: "127.0.0.1:${p.route}"; routes: [${routes}] }`,
        'include "termshare-auth.conf"',
        '',
      ].join('\n'),
    );
    const server: ClusterServer = {
      name: `n${i + 1}`,
      url: `nats://127.0.0.1:${p.client}`,
      conf,
      start: async () => {
        server.proc = execa('nats-server', ['-c', conf, '-l', join(home, 'nats.log')], { reject: false, stdout: 'ignore', stderr: 'ignore' });
      },
      kill: async (signal = 'SIGKILL') => {
        server.proc?.kill(signal);
        await server.proc;
        server.proc = undefined;
      },
    };
    servers.push(server);
  }
  for (const s of servers) await s.start();
  await waitForJetStream(opts.stateDir, servers[0]!.url);
  return { servers, stop: async () => void (await Promise.all(servers.map((s) => s.kill('SIGTERM')))) };
}

/** Until the cluster's JetStream has a meta leader and takes an account request. */
export async function waitForJetStream(stateDir: string, url: string): Promise<void> {
  await waitFor(
    'the NATS cluster to elect its JetStream leader',
    async () => {
      const nc = await serviceConnection(stateDir, url);
      try {
        const jsm = await jetstreamManager(nc, { timeout: 1000 });
        await jsm.getAccountInfo();
        return true;
      } finally {
        await nc.close();
      }
    },
    30_000,
    250,
  );
}
