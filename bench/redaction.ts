import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
/**
 * npm run bench:redaction: how long redaction takes on a 10,000-line scrollback holding the issue's
 * secrets among ordinary build output, and on an 80-variable environment. Prints the numbers; not a
 * test, nothing passes or fails on a timing.
 */
import { cpus, loadavg } from 'node:os';
import { redactEnv, redactLines } from '../src/adapters/terminals/redact.ts';
import { HARMLESS_LINES, SECRET_CASES, fake } from '../test/adapters/terminals/secretCases.ts';
import { summarize, table } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const LINES = 10_000;

const scrollback: string[] = [];
for (let i = 0; i < LINES; i++) {
  // One line in fifty carries a secret; the rest is ordinary output of about 80 characters.
  const c = SECRET_CASES[i % SECRET_CASES.length]!;
  scrollback.push(i % 50 === 0 ? `$ printenv ${c.name} ${c.value.split('\n')[0]}` : `${HARMLESS_LINES[i % HARMLESS_LINES.length]!.slice(0, 50)} step ${i} ${fake(20)}`);
}
const env = Object.fromEntries(Array.from({ length: 80 }, (_, i) => [`VAR_${i}`, i % 10 === 0 ? SECRET_CASES[i / 10]!.value : fake(40)]));

/** Wall time and this process's CPU time (user + system) per run: on a shared machine the CPU time is the steadier. */
async function time(f: () => Promise<unknown>): Promise<{ wall: number[]; cpu: number[] }> {
  await f(); // warm-up: module and regex compilation
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await f();
    const c = process.cpuUsage(c0);
    wall.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall, cpu };
}

const chars = scrollback.join('\n').length;
const runs = [
  { what: `scrollback, ${LINES} lines (${(chars / 1e6).toFixed(2)} MB)`, ...(await time(() => redactLines(scrollback))) },
  { what: 'environment, 80 variables', ...(await time(() => redactEnv(env))) },
];
const rendered = table(runs.map((r) => {
  const wall = summarize(r.wall);
  const cpu = summarize(r.cpu);
  return { what: r.what, runs: wall.runs, 'wall p50 ms': wall.p50.toFixed(1), 'wall p95 ms': wall.p95.toFixed(1), 'wall p99 ms': wall.p99.toFixed(1), 'cpu p50 ms': cpu.p50.toFixed(1) };
}));
const machine = `load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`;
console.log(rendered);
console.log(machine);
await writeFile(join(import.meta.dirname, 'results', 'redaction.md'), `# Redaction cost (npm run bench:redaction)\n\n${rendered}\n\n${machine}\n`);
