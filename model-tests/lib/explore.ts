import { getShortestPaths } from '@xstate/graph';
import type { ActorLogic, EventObject } from 'xstate';
import { commandLabel, type BaseWorld, type Command, type Model, type Step } from './model.ts';
import { Recorder } from './recorder.ts';
import { listTransitions, type TransitionInfo } from './transitions.ts';

export type RunResult = {
  trace: Command[];
  key: string;
  enabled: Command[];
  failure?: { step: number; message: string };
  log: string[];
  recorder: Recorder;
  issues: Set<string>;
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModel = Model<any, any>;

/** Plays one path on a fresh world (deterministic: same trace, same outcome), checking every step. */
export function runPath(model: AnyModel, catalog: TransitionInfo[], trace: Command[], verbose = false): RunResult {
  const recorder = new Recorder(model.machine.id, catalog);
  const world: BaseWorld = model.createWorld(recorder);
  const log: string[] = [];
  let failure: RunResult['failure'];
  const attempt = (step: number, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      failure = { step, message: e instanceof Error ? e.message : String(e) };
    }
  };
  let obs = model.observe(world);
  if (verbose) log.push(`0. (start) -> ${model.describe(obs)}`);
  attempt(0, () => model.invariants(obs, world));
  for (let i = 0; i < trace.length && !failure; i++) {
    const cmd = trace[i]!;
    recorder.beginStep();
    world.clock.takeFired();
    attempt(i + 1, () => model.apply(world, cmd));
    if (failure) break;
    const after = model.observe(world);
    const step: Step<unknown> = { index: i + 1, cmd, before: obs, after, fired: world.clock.takeFired(), taken: recorder.stepTaken, now: world.clock.now() };
    if (verbose) {
      const fired = step.fired.length ? ` fired[${step.fired.join(',')}]` : '';
      log.push(`${i + 1}. @${step.now}ms ${commandLabel(cmd)}${fired} -> ${model.describe(after)}`);
      for (const t of step.taken) log.push(`     took ${t}`);
    }
    attempt(i + 1, () => {
      if (world.errors.length) throw new Error(`the actor reported an error: ${String(world.errors[0])}`);
      model.check(step, world);
      model.invariants(after, world);
    });
    obs = after;
  }
  const key = failure ? `FAIL ${trace.map(commandLabel).join(' ')}` : model.key(obs, world);
  const enabled = failure || trace.length >= model.maxDepth ? [] : model.commands(world, obs);
  if (world.root.getSnapshot().status === 'active') world.root.stop();
  return { trace, key, enabled, failure, log, recorder, issues: world.issues };
}

export type Exploration = {
  machineId: string;
  catalog: TransitionInfo[];
  /** Abstract states reached (one shortest path each, from @xstate/graph). */
  states: number;
  /** Every path played: the shortest path to each state extended by each enabled test event. */
  played: number;
  /** Played paths that are no prefix of another: the generated test suite. */
  maximal: number;
  maxLength: number;
  failures: RunResult[];
  taken: Map<string, number>;
  /** Shortest path length that took each transition / declined each guard. */
  firstDepth: Map<string, number>;
  declined: Set<string>;
  issues: Set<string>;
  ms: number;
};

type WorldSnapshot = { status: 'active'; output: undefined; error: undefined; run: Pick<RunResult, 'trace' | 'key' | 'enabled'> };

/**
 * Path generation with @xstate/graph over the *world* (machine + in-memory adapters + simulated clock)
 * as an actor logic whose events are the model's test events: `transition(s, e)` replays `s`'s path
 * plus `e` on a fresh world. getShortestPaths' breadth-first traversal thus plays every enabled test
 * event from every reachable abstract state (a transition tour), bounded by `maxDepth`.
 */
export function explore(model: AnyModel): Exploration {
  const started = performance.now();
  const catalog = listTransitions(model.machine);
  const taken = new Map<string, number>();
  const firstDepth = new Map<string, number>();
  const declined = new Set<string>();
  const issues = new Set<string>();
  const failures: RunResult[] = [];
  const traces: Command[][] = [];
  const play = (trace: Command[]): WorldSnapshot => {
    const run = runPath(model, catalog, trace);
    const depth = (k: string) => firstDepth.set(k, Math.min(firstDepth.get(k) ?? Infinity, trace.length));
    for (const [k, n] of run.recorder.taken) {
      taken.set(k, (taken.get(k) ?? 0) + n);
      depth(k);
    }
    for (const k of run.recorder.declined) {
      declined.add(k);
      depth(k + ' :: declined');
    }
    for (const i of run.issues) issues.add(i);
    if (run.failure) failures.push(run);
    if (trace.length) traces.push(trace);
    return { status: 'active', output: undefined, error: undefined, run: { trace, key: run.key, enabled: run.enabled } };
  };
  const logic = {
    getInitialSnapshot: () => play([]),
    transition: (s: WorldSnapshot, cmd: Command) => play([...s.run.trace, cmd]),
    getPersistedSnapshot: (s: WorldSnapshot) => s,
  } as unknown as ActorLogic<WorldSnapshot, Command & EventObject, undefined>;
  const statePaths = getShortestPaths(logic, {
    events: (s: WorldSnapshot) => s.run.enabled as Array<Command & EventObject>,
    serializeState: (s: WorldSnapshot) => s.run.key,
    serializeEvent: (e: Command & EventObject) => commandLabel(e),
  });
  const join = (t: Command[]) => t.map(commandLabel).join(' ');
  const extended = new Set<string>();
  for (const t of traces) for (let n = 1; n < t.length; n++) extended.add(join(t.slice(0, n)));
  const maximal = traces.filter((t) => !extended.has(join(t)));
  return {
    machineId: model.machine.id,
    catalog,
    states: statePaths.length,
    played: traces.length,
    maximal: maximal.length,
    maxLength: Math.max(0, ...traces.map((t) => t.length)),
    failures,
    taken,
    firstDepth,
    declined,
    issues,
    ms: performance.now() - started,
  };
}
