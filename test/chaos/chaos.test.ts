import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../support/tools.ts';
import { describeFailure, runChaos, seedFromEnv, type RunReport } from './engine.ts';
import { FAULTS } from './faults.ts';
import { INVARIANTS } from './invariants.ts';
import { REQUEST_RACES } from './races.ts';
import { World } from './world.ts';

const missing = missingTools('nats-server', 'tmux', 'tmate', 'ssh', 'setpriv', 'upterm', 'uptermd');
/** CI's bounded run; `npm run test:chaos` runs longer (CHAOS_STEPS). */
const STEPS = Number(process.env.CHAOS_STEPS ?? 20);
const SEED = seedFromEnv();

describe.skipIf(missing.length > 0)('chaos: faults interleaved over real shares', () => {
  let world: World;
  beforeAll(async () => {
    world = await World.start();
  }, 120_000);
  afterAll(async () => {
    await world?.stop();
  }, 60_000);

  it(`after every one of ${STEPS} seeded random faults, nothing is left hanging, lost, locked or unrecorded`, async () => {
    console.log(`chaos: CHAOS_SEED=${SEED} CHAOS_STEPS=${STEPS}`);
    const report: RunReport = await runChaos(world, {
      seed: SEED,
      steps: STEPS,
      faults: [...FAULTS, ...REQUEST_RACES],
      invariants: INVARIANTS,
      onLine: process.env.CHAOS_VERBOSE ? (l) => console.log(l) : undefined,
    });
    console.log(`chaos: seed ${report.seed}, ${report.steps} steps\nfaults: ${JSON.stringify(report.faults)}\nviolations: ${JSON.stringify(report.violations)}`);
    if (report.failures.length > 0) throw new Error(describeFailure(report));
    expect(report.steps).toBe(STEPS);
    expect(Object.values(report.violations).every((n) => n === 0)).toBe(true);
  }, STEPS * 90_000 + 60_000);
});
