import type { World } from './world.ts';

/** mulberry32: a small seeded PRNG; the same seed gives the same run of choices. */
export class Rng {
  private s: number;
  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(xs: readonly T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[Math.floor(this.next() * xs.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** One step of a run: what it did, in words, for the log that reproduces it. */
export type StepContext = { world: World; rng: Rng; log(line: string): void };
export type Fault = { kind: string; weight: number; run(ctx: StepContext): Promise<void> };
/** An invariant: resolves with the violations it still sees once its bound has passed (none: holds). */
export type Invariant = { name: string; check(world: World): Promise<string[]> };

export type RunReport = { seed: number; steps: number; faults: Record<string, number>; violations: Record<string, number>; log: string[]; failures: string[] };

export function pickFault(rng: Rng, faults: readonly Fault[]): Fault {
  const total = faults.reduce((n, f) => n + f.weight, 0);
  let r = rng.next() * total;
  for (const f of faults) {
    r -= f.weight;
    if (r < 0) return f;
  }
  return faults.at(-1)!;
}

/**
 * Runs `steps` faults chosen by the seeded PRNG, checking every invariant after each. Stops at the
 * first step that leaves a violation (or throws), with the seed, step and log in the report.
 */
export async function runChaos(world: World, opts: { seed: number; steps: number; faults: readonly Fault[]; invariants: readonly Invariant[]; onLine?(line: string): void }): Promise<RunReport> {
  const rng = new Rng(opts.seed);
  const report: RunReport = { seed: opts.seed, steps: 0, faults: {}, violations: Object.fromEntries(opts.invariants.map((i) => [i.name, 0])), log: [], failures: [] };
  const say = (line: string) => {
    report.log.push(line);
    opts.onLine?.(line);
  };
  for (let step = 1; step <= opts.steps; step++) {
    const fault = pickFault(rng, opts.faults);
    report.faults[fault.kind] = (report.faults[fault.kind] ?? 0) + 1;
    report.steps = step;
    const t0 = Date.now();
    say(`#${step} ${fault.kind}`);
    try {
      await fault.run({ world, rng, log: (l) => say(`#${step}   ${l}`) });
    } catch (e) {
      report.failures.push(`step ${step} (${fault.kind}) threw: ${(e as Error).stack ?? String(e)}`);
      break;
    }
    for (const inv of opts.invariants) {
      const seen = await inv.check(world).catch((e: unknown) => [`could not be checked: ${String(e)}`]);
      report.violations[inv.name]! += seen.length;
      for (const v of seen) report.failures.push(`step ${step} (${fault.kind}): ${inv.name}: ${v}`);
    }
    say(`#${step}   done in ${Date.now() - t0} ms`);
    if (report.failures.length > 0) break;
  }
  return report;
}

export function describeFailure(r: RunReport): string {
  return [
    `chaos run failed at step ${r.steps}; reproduce with CHAOS_SEED=${r.seed} CHAOS_STEPS=${r.steps} npm run test:chaos`,
    ...r.failures,
    'step log:',
    ...r.log,
  ].join('\n');
}

export function seedFromEnv(): number {
  const s = process.env.CHAOS_SEED;
  return s ? Number(s) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;
}
