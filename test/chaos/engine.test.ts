import { describe, expect, it } from 'vitest';
import { describeFailure, pickFault, Rng, runChaos, type Fault, type Invariant } from './engine.ts';
import type { World } from './world.ts';

const world = {} as World;

describe('the chaos engine', () => {
  it('the same seed gives the same choices, another seed others', () => {
    const run = (seed: number) => {
      const r = new Rng(seed);
      return Array.from({ length: 8 }, () => r.int(0, 1000));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('picks faults in proportion to their weights', () => {
    const faults: Fault[] = [{ kind: 'rare', weight: 1, run: async () => undefined }, { kind: 'common', weight: 9, run: async () => undefined }];
    const rng = new Rng(7);
    const picks = Array.from({ length: 2000 }, () => pickFault(rng, faults).kind);
    const common = picks.filter((k) => k === 'common').length;
    expect(common).toBeGreaterThan(1700);
    expect(common).toBeLessThan(1900);
  });

  it('stops at the first step that breaks an invariant, and the report names the seed, the step and the log', async () => {
    let count = 0;
    const faults: Fault[] = [{ kind: 'tick', weight: 1, run: async ({ log }) => log(`tick ${++count}`) }];
    const invariants: Invariant[] = [{ name: 'fewer than three ticks', check: async () => (count >= 3 ? [`${count} ticks`] : []) }];
    const report = await runChaos(world, { seed: 99, steps: 10, faults, invariants });
    expect(report).toMatchObject({ seed: 99, steps: 3, faults: { tick: 3 }, violations: { 'fewer than three ticks': 1 } });
    const text = describeFailure(report);
    expect(text).toContain('CHAOS_SEED=99 CHAOS_STEPS=3');
    expect(text).toContain('step 3 (tick): fewer than three ticks: 3 ticks');
    expect(text).toContain('#2   tick 2');
  });

  it('a fault that throws ends the run with its step and stack', async () => {
    const faults: Fault[] = [{ kind: 'boom', weight: 1, run: async () => Promise.reject(new Error('relay would not start')) }];
    const report = await runChaos(world, { seed: 1, steps: 5, faults, invariants: [] });
    expect(report.steps).toBe(1);
    expect(report.failures[0]).toMatch(/^step 1 \(boom\) threw: Error: relay would not start/);
  });
});
