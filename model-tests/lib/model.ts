import { isDeepStrictEqual } from 'node:util';
import { createActor, type AnyActorLogic, type AnyActorRef, type AnyStateMachine, type InputFrom } from 'xstate';
import { ModelClock, timerName } from './clock.ts';
import type { Recorder } from './recorder.ts';

/** An abstract test event: a command to the in-memory world (`policy.allow`, `backend.exit`, `clock.next`, `STOP` ...). JSON only. */
export type Command = { type: string } & Record<string, string | number | boolean | string[] | undefined>;

export const commandLabel = (c: Command): string => {
  const { type, ...rest } = c;
  const args = Object.values(rest).filter((v) => v !== undefined);
  return args.length ? `${type}(${args.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(',')})` : type;
};

/** What every world has: the simulated clock, the root actor, and what went wrong or was noticed on the way. */
export type BaseWorld = {
  clock: ModelClock;
  root: AnyActorRef;
  /** Errors the root actor reported (an uncaught error in the machine under test fails the path). */
  errors: unknown[];
  /** Known-issue ids observed on this path (see Model.knownIssues). */
  issues: Set<string>;
};

/** One played step: the command, observations before and after, timers fired, transitions of the machine under test taken. */
export type Step<O> = { index: number; cmd: Command; before: O; after: O; fired: string[]; taken: string[]; now: number };

/**
 * The per-machine model module (model-tests/models/<machine>.model.ts exports `model`):
 * the machine provided with in-memory adapters (createWorld), the abstract test events,
 * and what each step must do (check) and what must always hold (invariants).
 */
export type Model<W extends BaseWorld = BaseWorld, O = unknown> = {
  /** The machine exactly as exported from src/machines (the discovery gate matches on identity). */
  machine: AnyStateMachine;
  /** Bound on path length. */
  maxDepth: number;
  createWorld(recorder: Recorder): W;
  /** The test events enabled now: valid and invalid variants alike. */
  commands(world: W, obs: O): Command[];
  apply(world: W, cmd: Command): void;
  observe(world: W): O;
  /** Abstract state for path generation: two worlds with the same key continue the same way. */
  key(obs: O, world: W): string;
  describe(obs: O): string;
  /** Per-step effects: state reached, adapter calls, events emitted / reported, children spawned or stopped. Throws on a mismatch. */
  check(step: Step<O>, world: W): void;
  /** Checked after every step of every path. */
  invariants(obs: O, world: W): void;
  /** Known issues in the machine (id -> description). Observing one is reported, not failed; an id never observed fails (stale). */
  knownIssues?: Record<string, string>;
  /** Transitions or guard sides (`<key> :: declined`) that cannot be reached, with the reason. Listing a covered one fails. */
  unreachable?: Record<string, string>;
};

export function fail(message: string): never {
  throw new Error(message);
}

/** JSON-level deep equality (key order and undefined fields do not matter). */
export function expectEq(actual: unknown, expected: unknown, what: string): void {
  const norm = (v: unknown): unknown => (v === undefined ? null : JSON.parse(JSON.stringify(v)));
  if (!isDeepStrictEqual(norm(actual), norm(expected))) fail(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/**
 * Creates and starts the root actor on the world's simulated clock, with the recorder's inspection,
 * timers named after the scheduled xstate events, and errors collected instead of thrown.
 */
export function startRoot<L extends AnyActorLogic>(
  world: Omit<BaseWorld, 'root'>,
  logic: L,
  recorder: Recorder,
  input: InputFrom<L>,
  wire?: (actor: AnyActorRef) => void,
): AnyActorRef {
  const actor = createActor(logic, { input, clock: world.clock, inspect: recorder.inspect } as never) as AnyActorRef;
  const seen = new WeakSet<object>();
  world.clock.labeler = () => {
    for (const ev of Object.values(actor.system.getSnapshot()._scheduledEvents)) {
      if (seen.has(ev)) continue;
      seen.add(ev);
      return timerName(ev.event.type);
    }
    return 'timer';
  };
  actor.subscribe({ error: (e) => world.errors.push(e) });
  wire?.(actor);
  actor.start();
  return actor;
}

/**
 * A deviation the model knows about: if `bad`, the path records the known issue when the model lists it,
 * and fails otherwise (so a new deviation is never silently absorbed).
 */
export function deviation(world: BaseWorld, known: Record<string, string> | undefined, id: string, bad: boolean, message: string): void {
  if (!bad) return;
  if (known && id in known) world.issues.add(id);
  else fail(message);
}

export function baseWorld(): Omit<BaseWorld, 'root'> {
  return { clock: new ModelClock(), errors: [], issues: new Set() };
}
