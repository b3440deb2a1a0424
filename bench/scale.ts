/**
 * npm run bench:scale (and the second half of npm run bench): one node holding 50, 200 and 500
 * live upterm shares on a loopback uptermd. At each level: share.start while that many are live
 * beside raw `upterm host` in the same run, share.list and share.get, expiry lateness, the idle
 * service's CPU, its RSS and heap, and the backend processes' PSS per share. Writes
 * bench/results/scale.{json,md} and prints the table. Not a test: nothing passes or fails on a timing.
 *
 * BENCH_SCALE_LEVELS (default 50,200,500), BENCH_SCALE_SAMPLES (default 30) requests per measure.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Share } from '../src/api/schemas.ts';
import { startHarness, OPERATOR, type Harness } from '../test/support/harness.ts';
import { backendProcesses, cpuSeconds, load, pssMb } from './procStats.ts';
import { rawUptermLink, rawUptermHome } from './rawUpterm.ts';
import { summarize, table, type Summary } from './stats.ts';

const LEVELS = (process.env.BENCH_SCALE_LEVELS ?? '50,200,500').split(',').map(Number);
const SAMPLES = Number(process.env.BENCH_SCALE_SAMPLES ?? 30);
/** Shares per tmux session (the limit is raised to it for the run). */
const PER_TERMINAL = 10;
const RAMP_CONCURRENCY = 2;
/** A ramp gives up after this many failed starts (each is counted and reported). */
const MAX_RAMP_FAILURES = 20;
const IDLE_WINDOW_MS = 10_000;
const EXPIRY_TTL_S = 3;

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
const sleep = (msecs: number) => new Promise((r) => setTimeout(r, msecs));

type Level = {
  live: number;
  rampStart: Summary;
  start: Summary;
  rawStart: Summary;
  list: Summary;
  get: Summary;
  expiryLate: Summary;
  idleCpuPct: number;
  rssMb: number;
  heapMb: number;
  pssPerShareMb: number;
  uptermPssPerShareMb: number;
  failures: string[];
  load1: number;
};

async function startShare(h: Harness, terminal: string, ttlSeconds?: number): Promise<{ share?: Share; ms: number; error?: string }> {
  const t0 = process.hrtime.bigint();
  const r = await h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR, ...(ttlSeconds ? { ttlSeconds } : {}) });
  return r.ok ? { share: r.value.share, ms: ms(t0) } : { ms: ms(t0), error: `${r.code}: ${r.message}` };
}

async function measureLevel(h: Harness, target: number, live: Share[], terminals: string[], rawHome: string): Promise<Level> {
  const failures: string[] = [];
  const terminalFor = async (n: number) => {
    const i = Math.floor(n / PER_TERMINAL);
    while (terminals.length <= i) terminals.push(await h.terminal(`scale${terminals.length}`));
    return terminals[i]!;
  };
  // Grow to the level, a few starts at a time.
  const ramp: number[] = [];
  while (live.length < target) {
    const batch = Math.min(RAMP_CONCURRENCY, target - live.length);
    const terms: string[] = [];
    for (let k = 0; k < batch; k++) terms.push(await terminalFor(live.length + k));
    const started = await Promise.all(terms.map((t) => startShare(h, t)));
    for (const s of started) {
      if (s.share) {
        live.push(s.share);
        ramp.push(s.ms);
      } else failures.push(`ramp start: ${s.error}`);
    }
    if (failures.length >= MAX_RAMP_FAILURES) throw new Error(`${failures.length} starts failed on the way to ${target} (at ${live.length} live); the last: ${failures.at(-1)}`);
  }
  process.stderr.write(`scale: ${live.length} live\n`);

  // Idle: nothing changes for a while; what the service (and what it spawns) burns meanwhile.
  await sleep(2000);
  const cpu0 = cpuSeconds();
  const t0 = Date.now();
  await sleep(IDLE_WINDOW_MS);
  const idleCpuPct = ((cpuSeconds() - cpu0) / ((Date.now() - t0) / 1000)) * 100;

  // One more share while `target` are live (then stopped), interleaved with raw upterm under the same load.
  const start: number[] = [];
  const raw: number[] = [];
  const extraTerminal = await terminalFor(target);
  for (let i = 0; i < SAMPLES; i++) {
    raw.push(await rawUptermLink(h.relay.server, rawHome));
    const s = await startShare(h, extraTerminal);
    if (!s.share) {
      failures.push(`start at level: ${s.error}`);
      continue;
    }
    start.push(s.ms);
    await h.client.request('share.stop', { shareId: s.share.id, requester: OPERATOR });
  }

  const list: number[] = [];
  const get: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t1 = process.hrtime.bigint();
    const l = await h.client.request<{ shares: Share[] }>('share.list', {});
    list.push(ms(t1));
    if (!l.ok || l.value.shares.filter((s) => s.state === 'active').length < target) failures.push(`share.list: ${l.ok ? `${l.value.shares.length} shares` : l.message}`);
    const t2 = process.hrtime.bigint();
    const g = await h.client.request<{ share: Share }>('share.get', { shareId: live[(i * 7919) % live.length]!.id });
    get.push(ms(t2));
    if (!g.ok) failures.push(`share.get: ${g.message}`);
  }

  // Expiry: short-lived shares among the live ones; lateness = `expired` event seen - expiresAt.
  const late: number[] = [];
  const expiring = await Promise.all(Array.from({ length: Math.min(SAMPLES, 10) }, async () => startShare(h, extraTerminal, EXPIRY_TTL_S)));
  const waiting = new Map(expiring.filter((s) => s.share).map((s) => [s.share!.id, Date.parse(s.share!.expiresAt!)]));
  await new Promise<void>((resolve) => {
    const sub = h.client.nc.subscribe('termshare.events.share.*.expired', {
      callback: (_e, m) => {
        const id = (m.json() as { shareId: string }).shareId;
        const at = waiting.get(id);
        if (at === undefined) return;
        late.push(Date.now() - at);
        waiting.delete(id);
        if (waiting.size === 0) {
          sub.unsubscribe();
          resolve();
        }
      },
    });
    setTimeout(() => {
      if (waiting.size) failures.push(`${waiting.size} share(s) not expired within ${EXPIRY_TTL_S + 20} s`);
      sub.unsubscribe();
      resolve();
    }, (EXPIRY_TTL_S + 20) * 1000);
  });

  const procs = backendProcesses(join(h.config.stateDir, 'workers'));
  const mem = process.memoryUsage();
  return {
    live: target,
    rampStart: summarize(ramp.length ? ramp : [0]),
    start: summarize(start.length ? start : [0]),
    rawStart: summarize(raw),
    list: summarize(list),
    get: summarize(get),
    expiryLate: summarize(late.length ? late : [0]),
    idleCpuPct,
    rssMb: mem.rss / 2 ** 20,
    heapMb: mem.heapUsed / 2 ** 20,
    pssPerShareMb: pssMb(procs.map((p) => p.pid)) / target,
    uptermPssPerShareMb: pssMb(procs.filter((p) => p.upterm).map((p) => p.pid)) / target,
    failures,
    load1: load().load1,
  };
}

const f = (x: number, unit = 'ms') => `${x.toFixed(1)} ${unit}`;

function render(levels: Level[]): string {
  const rows = levels.map((l) => ({
    live: l.live,
    'start p50/p99': `${f(l.start.p50)} / ${f(l.start.p99)}`,
    'raw upterm p50/p99': `${f(l.rawStart.p50)} / ${f(l.rawStart.p99)}`,
    'start/raw p50': (l.start.p50 / l.rawStart.p50).toFixed(2),
    'ramp start p50/p99': `${f(l.rampStart.p50)} / ${f(l.rampStart.p99)}`,
    'list p50/p99': `${f(l.list.p50)} / ${f(l.list.p99)}`,
    'get p50/p99': `${f(l.get.p50)} / ${f(l.get.p99)}`,
    'expiry late p50/p99': `${f(l.expiryLate.p50)} / ${f(l.expiryLate.p99)}`,
    'idle CPU': `${l.idleCpuPct.toFixed(1)} %`,
    'RSS / heap': `${l.rssMb.toFixed(0)} / ${l.heapMb.toFixed(0)} MB`,
    'PSS/share (upterm alone)': `${l.pssPerShareMb.toFixed(1)} (${l.uptermPssPerShareMb.toFixed(1)}) MB`,
    load1: l.load1.toFixed(2),
    failures: l.failures.length,
  }));
  return table(rows);
}

async function main() {
  const h = await startHarness({ env: { TERMSHARE_MAX_SHARES_PER_TERMINAL: String(PER_TERMINAL + 1), TERMSHARE_DEFAULT_TTL: '7200', TERMSHARE_GRACE: '1' } });
  const rawHome = await rawUptermHome(h);
  const live: Share[] = [];
  const terminals: string[] = [];
  const levels: Level[] = [];
  let stoppedAt: string | undefined;
  const before = load();
  try {
    for (const target of LEVELS) {
      const level = await measureLevel(h, target, live, terminals, rawHome).catch((e: Error) => {
        stoppedAt = `${target} live not reached: ${e.message}`;
        return undefined;
      });
      if (!level) break;
      levels.push(level);
      console.error(render([level]));
      for (const x of level.failures.slice(0, 5)) console.error(`  failure: ${x}`);
    }
  } finally {
    // The results are written even when the harness's clean-up trips (seen: ENOTEMPTY removing its state dir).
    await h.stop().catch((e: Error) => console.error(`scale: harness stop: ${e.message}`));
  }
  if (stoppedAt) console.error(`scale: stopped: ${stoppedAt}`);
  const meta = { at: new Date().toISOString(), levels: LEVELS, ...(stoppedAt ? { stoppedAt } : {}), load1AtEnd: load().load1, samples: SAMPLES, node: process.version, cpus: before.cpus, load1AtStart: before.load1, perTerminal: PER_TERMINAL, idleWindowMs: IDLE_WINDOW_MS };
  const out = render(levels);
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFile(join(import.meta.dirname, 'results', 'scale.json'), JSON.stringify({ meta, levels }, null, 2));
  await writeFile(
    join(import.meta.dirname, 'results', 'scale.md'),
    `# termshare scale bench, ${meta.at}\n\n${JSON.stringify(meta)}\n\nGoal: 500 live shares, command p99 < 50 ms, expiry < 250 ms late.\n\n${out}\n`,
  );
  console.log(out);
}

await main();
process.exit(0);
