import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { ensureAuditKey } from '../../src/adapters/audit/jetstream/auditKey.ts';
import { readCredentials } from '../../src/adapters/bus/nats/auth/credentials.ts';
import { Principals, authPaths } from '../../src/adapters/bus/nats/auth/principals.ts';
import { TermshareClient } from '../../src/cli/client.ts';
import { startNatsCluster, type NatsCluster } from './natsCluster.ts';
import { serveWorld, spawnServe, type ServeWorld } from './serveProcess.ts';
import { startTmateRelay, type TmateRelay } from './tmateRelay.ts';
import { waitFor } from './waitFor.ts';

export type ClusterNodeWorld = ServeWorld & { node: string; url: string; serve?: ResultPromise; start(): Promise<void> };
export type ClusterWorld = {
  nats: NatsCluster;
  nodes: ClusterNodeWorld[];
  tmate: TmateRelay;
  /** The operator (human:alice) connected to the i-th nats-server. */
  client(i: number): Promise<TermshareClient>;
  stop(): Promise<void>;
};

/**
 * Three `termshare serve` nodes (a, b, c), each with its own tmux server, state dir and upterm
 * relay, each connected to its own nats-server of a real 3-node cluster; streams and buckets R3.
 * The nodes share one identity (principals, service credentials, audit key): made once, copied to
 * each state dir, as an operator copies them to each machine.
 */
export async function startClusterWorld(sessions: string[][], opts: { policy: string; env?: Record<string, string> }): Promise<ClusterWorld> {
  const dir = await mkdtemp(join(tmpdir(), 'ts-cluster-'));
  const seed = join(dir, 'seed');
  const principals = new Principals(seed, 'termshare');
  await principals.ensure('human:alice');
  const key = await ensureAuditKey(seed);
  if (!key.ok) throw new Error(key.error);
  const nats = await startNatsCluster(dir, principals.paths.authConfig, { stateDir: seed });
  const tmate = await startTmateRelay();
  const names = ['a', 'b', 'c'];
  const nodes: ClusterNodeWorld[] = [];
  for (const [i, node] of names.entries()) {
    const w = await serveWorld(`cl${node}`, sessions[i] ?? [], { policy: opts.policy });
    await cp(seed, w.env.TERMSHARE_STATE_DIR!, { recursive: true });
    const url = nats.servers[i]!.url;
    const env = {
      ...w.env,
      TERMSHARE_NODE: node,
      TERMSHARE_REPLICAS: '3',
      TERMSHARE_TMATE_SERVER: tmate.server,
      TERMSHARE_TMATE_FINGERPRINT: tmate.fingerprint,
      TERMSHARE_NATS_URL: url,
      ...opts.env,
    };
    const n: ClusterNodeWorld = {
      ...w,
      env,
      node,
      url,
      start: async () => {
        n.serve = (await spawnServe(env, { natsUrl: url, ownGroup: true })).serve;
      },
    };
    nodes.push(n);
  }
  await writeFile(join(dir, 'README'), 'termshare cluster test world\n');
  const operator = await readCredentials(authPaths(seed).operator);
  const clients: TermshareClient[] = [];
  const world: ClusterWorld = {
    nats,
    nodes,
    tmate,
    client: async (i) => {
      const c = await waitFor(`a client on nats-server ${i + 1}`, () => TermshareClient.connect(nats.servers[i]!.url, operator).catch(() => undefined));
      clients.push(c);
      return c;
    },
    stop: async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await Promise.all(nodes.map((n) => stopServe(n)));
      await nats.stop();
      await tmate.stop();
      for (const n of nodes) await n.stop();
      if (!process.env.TERMSHARE_KEEP_CLUSTER) await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
  // One after another: the first node creates the R3 stream and buckets, the others find them
  // (three nodes creating them at once on a loaded machine ran past serve's start-up bound).
  for (const n of nodes) await n.start();
  return world;
}

/** SIGTERM (the orderly stop), and SIGKILL if it has not ended within 20 s. */
async function stopServe(n: ClusterNodeWorld): Promise<void> {
  const serve = n.serve;
  if (!serve) return;
  serve.kill('SIGTERM');
  const killer = setTimeout(() => serve.kill('SIGKILL'), 20_000);
  await serve;
  clearTimeout(killer);
}
