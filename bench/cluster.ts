/**
 * npm run bench:cluster: requests about a share on one node of a 3-node cluster (real nats-server
 * cluster on loopback, three `termshare serve`), sent from a client on the owner's nats-server
 * (answered by the owner itself: NATS prefers a queue subscriber on the publisher's server) and
 * from a client on another node's server (taken there and forwarded to the owner). Prints p50/p95/p99
 * and the ratio routed / owner; writes bench/results/cluster.md. Not a test: nothing passes or fails on a timing.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { Share } from '../src/api/schemas.ts';
import type { TermshareClient } from '../src/cli/client.ts';
import { startClusterWorld } from '../test/support/clusterWorld.ts';
import { waitFor } from '../test/support/waitFor.ts';
import { summarize, table } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 200);
const POLICY = `
@id("operators")
permit (principal in Group::"operators", action in [Action::"share.start", Action::"share.extend", Action::"share.stop", Action::"share.get", Action::"share.list", Action::"share.link"], resource);
`;

async function time(c: TermshareClient, verb: string, body: unknown): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < RUNS + 10; i++) {
    const t0 = performance.now();
    const r = await c.request(verb as never, body);
    const ms = performance.now() - t0;
    if (!r.ok) throw new Error(`${verb}: ${r.code} ${r.message}`);
    if (i >= 10) out.push(ms); // the first ten warm up connections and caches
  }
  return out;
}

const w = await startClusterWorld([['wa'], ['wb'], ['wc']], { policy: POLICY });
try {
  const owner = await w.client(0);
  const routed = await w.client(1);
  await waitFor('every node to see the other two', async () => {
    const seen = await Promise.all([owner, routed].map((c) => c.request<{ nodes?: string[] }>('share.list', {})));
    return seen.every((r) => r.ok && r.value.nodes?.length === 3);
  }, 30_000);
  const started = await owner.request<{ share: Share }>('share.start', { terminal: 'tmux:wa', backend: 'upterm', ttlSeconds: 3600 });
  if (!started.ok) throw new Error(`share.start: ${started.message}`);
  const shareId = started.value.share.id;
  const rows: Record<string, string | number>[] = [];
  for (const [verb, body] of [
    ['share.get', { shareId }],
    ['share.extend', { shareId, ttlSeconds: 3600 }],
    ['share.list', {}],
  ] as const) {
    const own = summarize(await time(owner, verb, body));
    const fwd = summarize(await time(routed, verb, body));
    const what = verb === 'share.list' ? `${verb} (gathered from 3 nodes either way)` : verb;
    rows.push({ request: what, from: 'owner’s server', runs: own.runs, 'p50 ms': own.p50.toFixed(2), 'p95 ms': own.p95.toFixed(2), 'p99 ms': own.p99.toFixed(2), 'p50 ratio': '1.00' });
    rows.push({ request: what, from: 'another node’s server', runs: fwd.runs, 'p50 ms': fwd.p50.toFixed(2), 'p95 ms': fwd.p95.toFixed(2), 'p99 ms': fwd.p99.toFixed(2), 'p50 ratio': (fwd.p50 / own.p50).toFixed(2) });
  }
  await owner.request('share.stop', { shareId });
  const rendered = table(rows);
  const machine = `load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores; 3-node nats-server cluster and 3 termshare nodes on loopback, streams and buckets R3`;
  console.log(rendered);
  console.log(machine);
  await writeFile(join(import.meta.dirname, 'results', 'cluster.md'), `# Routed requests in a 3-node cluster (npm run bench:cluster)\n\n${rendered}\n\n${machine}\n`);
} finally {
  await w.stop();
}
