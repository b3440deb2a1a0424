/**
 * Model-based tests for every machine in src/machines/ (issue 3).
 * Each machine has a model module in model-tests/models/<machine>.model.ts; this file discovers them,
 * generates paths with @xstate/graph over the machine + in-memory adapters + simulated clock, plays
 * them with per-step effect checks and invariants, prints the transition coverage table, and fails
 * on any failing path, any uncovered transition or guard side, or any machine without a model.
 */
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { StateMachine, type AnyStateMachine } from 'xstate';
import { afterAll, describe, expect, it } from 'vitest';
import { explore, runPath, type Exploration } from './lib/explore.ts';
import { commandLabel, type Model } from './lib/model.ts';
import { gate, table } from './lib/report.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const machinesDir = join(here, '../src/machines');
const modelsDir = join(here, 'models');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModel = Model<any, any>;
const models: Array<{ file: string; model: AnyModel }> = [];
for (const f of readdirSync(modelsDir).filter((f) => f.endsWith('.model.ts')).sort()) {
  const mod = (await import(pathToFileURL(join(modelsDir, f)).href)) as { model?: AnyModel };
  if (!mod.model) throw new Error(`model-tests/models/${f} must export \`model\``);
  models.push({ file: f, model: mod.model });
}

const exportedMachines: Array<{ file: string; name: string; machine: AnyStateMachine }> = [];
for (const f of readdirSync(machinesDir).filter((f) => f.endsWith('.ts')).sort()) {
  const mod = (await import(pathToFileURL(join(machinesDir, f)).href)) as Record<string, unknown>;
  for (const [name, value] of Object.entries(mod)) if (value instanceof StateMachine) exportedMachines.push({ file: f, name, machine: value });
}

const tables: string[] = [];
afterAll(() => {
  console.log(`\nTransition coverage (model-tests):\n${tables.join('\n\n')}\n`);
});

it('every machine exported by src/machines/ has a model module', () => {
  const missing = exportedMachines
    .filter((e) => !models.some((m) => m.model.machine === e.machine))
    .map((e) => `src/machines/${e.file} exports machine '${e.machine.id}' (${e.name}) with no model: add model-tests/models/${basename(e.file, '.ts')}.model.ts`);
  expect(missing).toEqual([]);
});

for (const { file, model } of models) {
  describe(model.machine.id, () => {
    let ex: Exploration;
    const explored = () => (ex ??= explore(model));

    it(`plays every generated path (${file}) with its step effects and invariants`, () => {
      const r = explored();
      tables.push(table(r, model.unreachable, model.knownIssues));
      const shown = r.failures.slice(0, 3).map((f) => {
        const replay = runPath(model, r.catalog, f.trace, true);
        return `path ${f.trace.map(commandLabel).join(' > ')}\n  step ${f.failure!.step}: ${f.failure!.message}\n  ${replay.log.join('\n  ')}`;
      });
      expect(shown, `${r.failures.length} of ${r.played} paths failed`).toEqual([]);
    });

    it('covers every transition, and both sides of every guard', () => {
      const g = gate(explored(), model.unreachable, model.knownIssues);
      expect(g.uncovered, 'transitions no generated path took').toEqual([]);
      expect(g.guardSidesMissing, 'guarded transitions never declined (other side of the guard)').toEqual([]);
    });

    it('its lists of unreachable transitions and known issues are current', () => {
      const g = gate(explored(), model.unreachable, model.knownIssues);
      expect(g.staleUnreachable, 'listed as unreachable, but a path took it').toEqual([]);
      expect(g.staleKnownIssues, 'listed as a known issue, but no path shows it any more').toEqual([]);
    });
  });
}
