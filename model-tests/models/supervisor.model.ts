import { setup, type AnyActorRef } from 'xstate';
import { defaultRestartPolicy, defaultWorkerTimings } from '../../src/machines/restartPolicy.ts';
import type { HandoffInput } from '../../src/machines/handoff.ts';
import type { ShareSessionInput } from '../../src/machines/shareSession.ts';
import { supervisor, type SupervisorEmitted } from '../../src/machines/supervisor.ts';
import { baseWorld, deviation, expectEq, fail, startRoot, type BaseWorld, type Command, type Model } from '../lib/model.ts';

const MAX_PER_TERMINAL = 2;
const IDS = ['sh_a', 'sh_b', 'sh_c'];
const TERMINALS = ['tmux:one', 'tmux:two'];
/**
 * HANDOFF.START payloads: enough for every case (a second lease on a terminal: ho_a then ho_b on tmux:one;
 * another terminal: ho_b on tmux:two; a live id on another terminal: ho_b on tmux:one while ho_b holds tmux:two).
 */
const HANDOFF_STARTS = [
  { id: 'ho_a', terminal: 'tmux:one' },
  { id: 'ho_b', terminal: 'tmux:one' },
  { id: 'ho_b', terminal: 'tmux:two' },
];

const session = (shareId: string, terminal: string): ShareSessionInput => ({
  shareId,
  terminal,
  terminalId: terminal,
  backend: 'upterm',
  access: 'read-only',
  requester: { kind: 'human', id: 'alice' },
  ttlMs: 60_000,
  graceMs: 10_000,
  correlationId: `corr-${shareId}`,
  approvalId: `ap_${shareId.slice(3)}`,
  restartPolicy: defaultRestartPolicy,
  workerTimings: defaultWorkerTimings,
});

const lease = (handoffId: string, terminal: string): HandoffInput => ({
  handoffId,
  terminal,
  terminalId: terminal,
  from: { kind: 'human', id: 'alice' },
  to: { kind: 'ai', id: 'claude' },
  correlationId: `corr-${handoffId}`,
  approvalId: `ap_${handoffId.slice(3)}`,
});

type ChildEvent =
  | { type: 'STOP'; at: number; by: string }
  | { type: 'SHUTDOWN'; at: number }
  | { type: 'TERMINAL.CLOSED'; at: number }
  | { type: 'TEST.FINISH' }
  | { type: 'TEST.CRASH' };
/** A spawned share, as the in-memory stand-in saw it: its id and input, and every event the supervisor sent it. */
type FakeShare = { id: string; input: ShareSessionInput; ref: AnyActorRef; received: ChildEvent[] };

/** A spawned handoff, as its stand-in saw it. */
type FakeHandoff = { id: string; input: HandoffInput; ref: AnyActorRef; received: ChildEvent[] };

/**
 * In-memory stand-in for a child (shareSession or handoff): records what it is told; the test makes it
 * finish (final) or crash (uncaught error).
 */
function inMemoryChild<I>(id: string, crash: string, children: Array<{ id: string; input: I; ref: AnyActorRef; received: ChildEvent[] }>) {
  const note = ({ event, self }: { event: ChildEvent; self: AnyActorRef }) => children.find((s) => s.ref === self)!.received.push(event);
  return setup({ types: { input: {} as I, context: {} as { input: I }, events: {} as ChildEvent } }).createMachine({
    id,
    context: ({ input }) => ({ input }),
    entry: ({ context, self }) => children.push({ id: self.id, input: context.input, ref: self, received: [] }),
    initial: 'live',
    states: {
      live: {
        on: {
          STOP: { actions: note },
          SHUTDOWN: { actions: note },
          'TERMINAL.CLOSED': { actions: note },
          'TEST.FINISH': 'ended',
          'TEST.CRASH': {
            actions: () => {
              throw new Error(crash);
            },
          },
        },
      },
      ended: { type: 'final' },
    },
  });
}

type World = BaseWorld & { shares: FakeShare[]; handoffs: FakeHandoff[]; emitted: SupervisorEmitted[]; /** The share the last command started, if it did. */ justStarted?: string };
type Obs = {
  state: string;
  done: boolean;
  registry: Record<string, string>;
  /** The supervisor's handoffs registry: handoff id -> terminal. */
  handoffRegistry: Record<string, string>;
  /** Shares waiting for an approval: registered, holding no slot. */
  pending: string[];
  live: string[];
  liveHandoffs: string[];
  received: Record<string, number>;
  handoffReceived: Record<string, number>;
  emitted: number;
  spawned: number;
  handoffsSpawned: number;
  retained: string[];
};

const knownIssues = {};
/** The shares of `terminal` holding one of its slots: all but those waiting for approval. */
const slotsOn = (o: Pick<Obs, 'registry' | 'pending'>, terminal: string) => Object.entries(o.registry).filter(([id, t]) => t === terminal && !o.pending.includes(id)).length;
const DUPLICATE = 'handoff-id-not-checked';
const CRASH = { share: 'share crashed', handoff: 'handoff crashed' };

export const model: Model<World, Obs> = {
  machine: supervisor,
  maxDepth: 7,
  knownIssues,

  createWorld(recorder) {
    const base = baseWorld();
    const world = { ...base, shares: [] as FakeShare[], handoffs: [] as FakeHandoff[], emitted: [] as SupervisorEmitted[] } as World;
    const machine = supervisor.provide({
      actors: {
        shareSession: inMemoryChild<ShareSessionInput>('inMemoryShare', CRASH.share, world.shares) as never,
        handoff: inMemoryChild<HandoffInput>('inMemoryHandoff', CRASH.handoff, world.handoffs) as never,
      },
    });
    world.root = startRoot(world, machine, recorder, { maxSharesPerTerminal: MAX_PER_TERMINAL }, (a) =>
      a.on('*', (e) => world.emitted.push(e as SupervisorEmitted)),
    );
    return world;
  },

  commands(world, o) {
    // Past a duplicate handoff id the registry is knowingly wrong (known issue): the path stops there.
    if (o.done || world.issues.has(DUPLICATE)) return [];
    const cmds: Command[] = [];
    // Shares with handoffs: one share id is enough to mix them (the per-terminal limit is explored without handoffs).
    for (const id of world.handoffs.length ? IDS.slice(0, 1) : IDS) for (const terminal of TERMINALS) cmds.push({ type: 'SHARE.START', id, terminal });
    for (const h of HANDOFF_STARTS) cmds.push({ type: 'HANDOFF.START', ...h });
    for (const terminal of TERMINALS) cmds.push({ type: 'TERMINAL.CLOSED', terminal });
    cmds.push({ type: 'SHUTDOWN' });
    for (const id of o.live) cmds.push({ type: 'share.finish', id }, { type: 'share.crash', id });
    // One share waits for approval and is granted (explored without handoffs, like the limit). The
    // service grants only while a slot is free (Approvals.decide checks slotFree first), and so does the model.
    // A share goes pending right after it starts (its policy asks for approval): offered only then,
    // when it is the only share, on one terminal (the other is the same by symmetry), to keep the paths few.
    const [first] = IDS;
    if (!world.handoffs.length && o.live.includes(first!) && o.registry[first!] === TERMINALS[0]) {
      const terminal = o.registry[first!]!;
      if (!o.pending.includes(first!) && world.justStarted === first && o.live.length === 1) cmds.push({ type: 'SHARE.PENDING', id: first });
      else if (o.pending.includes(first!) && slotsOn(o, terminal) < MAX_PER_TERMINAL) cmds.push({ type: 'SHARE.GRANTED', id: first });
    }
    for (const id of o.liveHandoffs) cmds.push({ type: 'handoff.finish', id }, { type: 'handoff.crash', id });
    return cmds;
  },

  apply(world, cmd) {
    const at = world.clock.now();
    const child = (of: Array<{ id: string; ref: AnyActorRef }>) => of.filter((s) => s.id === cmd.id).at(-1)!.ref;
    world.justStarted = cmd.type === 'SHARE.START' ? (cmd.id as string) : undefined;
    switch (cmd.type) {
      case 'SHARE.START':
        return world.root.send({ type: 'SHARE.START', session: session(cmd.id as string, cmd.terminal as string) });
      case 'HANDOFF.START':
        return world.root.send({ type: 'HANDOFF.START', handoff: lease(cmd.id as string, cmd.terminal as string) });
      case 'TERMINAL.CLOSED':
        return world.root.send({ type: 'TERMINAL.CLOSED', terminal: cmd.terminal, at });
      case 'SHARE.PENDING':
      case 'SHARE.GRANTED':
        return world.root.send({ type: cmd.type, shareId: cmd.id as string });
      case 'SHUTDOWN':
        return world.root.send({ type: 'SHUTDOWN', at });
      case 'share.finish':
        return child(world.shares).send({ type: 'TEST.FINISH' });
      case 'share.crash':
        return child(world.shares).send({ type: 'TEST.CRASH' });
      case 'handoff.finish':
        return child(world.handoffs).send({ type: 'TEST.FINISH' });
      case 'handoff.crash':
        return child(world.handoffs).send({ type: 'TEST.CRASH' });
      default:
        fail(`unknown command ${cmd.type}`);
    }
  },

  observe(world) {
    const s = world.root.getSnapshot();
    const liveOf = (of: Array<{ id: string; ref: AnyActorRef }>) => of.filter((c) => c.ref.getSnapshot().status === 'active').map((c) => c.id).sort();
    const children = s.children as Record<string, AnyActorRef>;
    const reg = (r: Record<string, { terminal: string }>) => Object.fromEntries(Object.entries(r).map(([id, v]) => [id, v.terminal]).sort());
    return {
      state: s.value as string,
      done: s.status === 'done',
      registry: reg(s.context.shares),
      pending: Object.entries(s.context.shares).filter(([, v]) => (v as { pending?: boolean }).pending).map(([id]) => id).sort(),
      handoffRegistry: reg(s.context.handoffs),
      live: liveOf(world.shares),
      liveHandoffs: liveOf(world.handoffs),
      received: Object.fromEntries(world.shares.map((c) => [c.id, c.received.length])),
      handoffReceived: Object.fromEntries(world.handoffs.map((c) => [c.id, c.received.length])),
      emitted: world.emitted.length,
      spawned: world.shares.length,
      handoffsSpawned: world.handoffs.length,
      retained: Object.entries(children).filter(([, r]) => r.getSnapshot().status === 'done').map(([id]) => id).sort(),
    };
  },

  key: (o, world) => {
    const told = (of: Array<{ id: string; ref: AnyActorRef; received: ChildEvent[] }>) =>
      of.filter((c) => c.ref.getSnapshot().status === 'active').map((c) => [c.id, [...new Set(c.received.map((e) => e.type))].sort()]).sort();
    return JSON.stringify([o.state, o.registry, o.pending, o.handoffRegistry, o.retained.length > 0, told(world.shares), told(world.handoffs), world.issues.has(DUPLICATE)]);
  },
  describe: (o) =>
    `${o.state} registry=${JSON.stringify(o.registry)} handoffs=${JSON.stringify(o.handoffRegistry)} live=[${o.live.join(',')}] liveHandoffs=[${o.liveHandoffs.join(',')}]` +
    `${o.retained.length ? ` retained=[${o.retained}]` : ''}`,

  check({ cmd, before: b, after: a, now }, world) {
    const emitted = world.emitted.slice(b.emitted);
    const freshShare = (id: string) => (world.shares.find((s) => s.id === id)?.received ?? []).slice(b.received[id] ?? 0);
    const freshHandoff = (id: string) => (world.handoffs.find((s) => s.id === id)?.received ?? []).slice(b.handoffReceived[id] ?? 0);
    const nobodyTold = (what: string) => {
      for (const id of b.live) expectEq(freshShare(id), [], `${what}: ${id} receives nothing`);
      for (const id of b.liveHandoffs) expectEq(freshHandoff(id), [], `${what}: handoff ${id} receives nothing`);
    };
    const registries = (what: string) =>
      expectEq([a.registry, a.spawned, a.handoffRegistry, a.handoffsSpawned], [b.registry, b.spawned, b.handoffRegistry, b.handoffsSpawned], `${what}: nothing spawned`);
    const id = cmd.id as string;
    switch (cmd.type) {
      case 'SHARE.START': {
        const terminal = cmd.terminal as string;
        if (b.state !== 'serving') {
          registries(`SHARE.START while ${b.state}`);
          deviation(world, knownIssues, 'start-while-draining-silent', emitted.length === 0, `SHARE.START while ${b.state}: not rejected`);
          return;
        }
        if (id in b.registry) {
          expectEq(emitted, [{ type: 'share.rejected', shareId: id, code: 'conflict', message: `share id ${id} is already in use` }], 'duplicate id: emitted');
          return registries('duplicate id');
        }
        // Shares waiting for approval hold no slot.
        if (slotsOn(b, terminal) >= MAX_PER_TERMINAL) {
          const e = emitted[0];
          if (emitted.length !== 1 || e?.type !== 'share.rejected' || e.code !== 'limit_exceeded' || e.shareId !== id || !e.message.includes(`${terminal} already has 2 active share(s)`) || !e.message.includes('waiting for approval do not count'))
            fail(`over the terminal limit: emitted ${JSON.stringify(emitted)}`);
          return registries('over the limit');
        }
        expectEq(emitted, [{ type: 'share.spawned', shareId: id }], 'spawned: emitted');
        expectEq(a.registry, { ...b.registry, [id]: terminal }, 'spawned: registered');
        expectEq([a.spawned, a.handoffRegistry, a.handoffsSpawned], [b.spawned + 1, b.handoffRegistry, b.handoffsSpawned], 'one share child spawned');
        const child = world.shares.at(-1)!;
        return expectEq([child.id, child.input], [id, session(id, terminal)], 'the child has the share id and the session input');
      }
      case 'HANDOFF.START': {
        const terminal = cmd.terminal as string;
        if (b.state !== 'serving') {
          registries(`HANDOFF.START while ${b.state}`);
          deviation(world, knownIssues, 'handoff-start-while-draining-silent', emitted.length === 0, `HANDOFF.START while ${b.state}: not rejected`);
          if (emitted.length) expectEq([emitted.length, emitted[0]?.type], [1, 'handoff.rejected'], `HANDOFF.START while ${b.state}: rejected`);
          return;
        }
        const terminalTaken = Object.values(b.handoffRegistry).includes(terminal);
        const idTaken = id in b.handoffRegistry;
        if (idTaken && !terminalTaken) {
          const bad = a.handoffsSpawned > b.handoffsSpawned;
          deviation(world, knownIssues, DUPLICATE, bad, `HANDOFF.START ${id} on ${terminal}, live on ${b.handoffRegistry[id]}: a second child of that id spawned`);
          if (bad) return;
        }
        if (terminalTaken || idTaken) {
          // One lease per terminal, one child per id: refused as a conflict (either reason when both hold).
          const reasons = [
            ...(terminalTaken ? [`${terminal} already has a handoff in progress; release it first`] : []),
            ...(idTaken ? [`handoff id ${id} is already in use`] : []),
          ];
          const e = emitted[0];
          if (emitted.length !== 1 || e?.type !== 'handoff.rejected' || e.handoffId !== id || e.code !== 'conflict' || !reasons.includes(e.message))
            fail(`HANDOFF.START ${id} on ${terminal} (${reasons.join(' / ')}): emitted ${JSON.stringify(emitted)}`);
          return registries('conflicting HANDOFF.START');
        }
        expectEq(emitted, [], 'handoff spawned: emitted');
        expectEq(a.handoffRegistry, { ...b.handoffRegistry, [id]: terminal }, 'handoff spawned: registered');
        expectEq([a.handoffsSpawned, a.registry, a.spawned], [b.handoffsSpawned + 1, b.registry, b.spawned], 'one handoff child spawned');
        const child = world.handoffs.at(-1)!;
        expectEq([child.id, child.input], [id, lease(id, terminal)], 'the child has the handoff id and the handoff input');
        return expectEq((world.root.getSnapshot().children as Record<string, AnyActorRef>)[id], child.ref, 'the child is the supervisor child of that id');
      }
      case 'SHARE.PENDING':
      case 'SHARE.GRANTED': {
        expectEq(emitted, [], `${cmd.type}: emitted`);
        nobodyTold(cmd.type);
        expectEq([a.registry, a.handoffRegistry, a.spawned], [b.registry, b.handoffRegistry, b.spawned], `${cmd.type}: same registries`);
        const want = cmd.type === 'SHARE.PENDING' ? [...b.pending, id].sort() : b.pending.filter((x) => x !== id);
        return expectEq(a.pending, want, `${cmd.type} ${id}: pending`);
      }
      case 'TERMINAL.CLOSED': {
        expectEq(emitted, [], 'TERMINAL.CLOSED: emitted');
        for (const sid of b.live) {
          const told = b.state === 'serving' && b.registry[sid] === cmd.terminal;
          expectEq(freshShare(sid), told ? [{ type: 'TERMINAL.CLOSED', at: now }] : [], `TERMINAL.CLOSED ${cmd.terminal} while ${b.state}: what ${sid} (on ${b.registry[sid]}) receives`);
        }
        for (const hid of b.liveHandoffs) {
          const told = b.state === 'serving' && b.handoffRegistry[hid] === cmd.terminal;
          expectEq(freshHandoff(hid), told ? [{ type: 'TERMINAL.CLOSED', at: now }] : [], `TERMINAL.CLOSED ${cmd.terminal} while ${b.state}: what handoff ${hid} (on ${b.handoffRegistry[hid]}) receives`);
        }
        return;
      }
      case 'SHUTDOWN':
        if (b.state !== 'serving') return nobodyTold('SHUTDOWN again');
        if (!b.live.length && !b.liveHandoffs.length) return expectEq([a.state, a.done], ['down', true], 'SHUTDOWN with no shares or handoffs: down');
        expectEq(a.state, 'draining', 'SHUTDOWN with shares or handoffs: draining');
        for (const sid of b.live) expectEq(freshShare(sid), [{ type: 'STOP', at: now, by: 'service' }], `SHUTDOWN: ${sid} told to stop`);
        for (const hid of b.liveHandoffs) expectEq(freshHandoff(hid), [{ type: 'SHUTDOWN', at: now }], `SHUTDOWN: handoff ${hid} told to give its lease back`);
        return;
      case 'share.finish':
      case 'share.crash':
      case 'handoff.finish':
      case 'handoff.crash': {
        const [kind, how] = cmd.type.split('.') as ['share' | 'handoff', 'finish' | 'crash'];
        const drop = (r: Record<string, string>) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== id));
        // The supervisor announces any child's end as share.finished / share.crashed, handoffs included.
        if (how === 'finish') expectEq(emitted, [{ type: 'share.finished', shareId: id }], `${cmd.type}: emitted`);
        else {
          const e = emitted[0];
          if (emitted.length !== 1 || e?.type !== 'share.crashed' || e.shareId !== id || String(e.error) !== `Error: ${CRASH[kind]}`) fail(`${cmd.type}: emitted ${JSON.stringify(emitted)}`);
        }
        if (a.retained.includes(id)) fail(`${cmd.type}: the ended child is stopped and dropped from the children`);
        const rest = kind === 'share' ? { shares: drop(b.registry), handoffs: b.handoffRegistry } : { shares: b.registry, handoffs: drop(b.handoffRegistry) };
        expectEq([a.registry, a.handoffRegistry], [rest.shares, rest.handoffs], `${cmd.type}: leaves its registry, the other is untouched`);
        const drained = b.state === 'draining' && Object.keys(rest.shares).length + Object.keys(rest.handoffs).length === 0;
        return expectEq(a.state, drained ? 'down' : b.state, `${cmd.type} while ${b.state}: state`);
      }
    }
  },

  invariants(o, world) {
    expectEq(Object.keys(o.registry), o.live, 'the registry lists exactly the live shares');
    for (const id of o.pending) if (!(id in o.registry)) fail(`${id} pending but not registered`);
    if (!world.issues.has(DUPLICATE)) expectEq(Object.keys(o.handoffRegistry), o.liveHandoffs, 'the handoffs registry lists exactly the live handoffs');
    for (const t of TERMINALS) {
      if (slotsOn(o, t) > MAX_PER_TERMINAL) fail(`more than ${MAX_PER_TERMINAL} shares holding a slot on ${t}`);
      if (Object.values(o.handoffRegistry).filter((x) => x === t).length > 1) fail(`more than one handoff on ${t}`);
    }
    if (o.done && (o.live.length || o.liveHandoffs.length)) fail(`supervisor down with live shares ${o.live} / handoffs ${o.liveHandoffs}`);
    if (o.state === 'draining' && !o.live.length && !o.liveHandoffs.length) fail('draining with nothing left to wait for');
    deviation(world, knownIssues, 'done-children-retained', o.retained.length > 0, `finished children retained: ${o.retained}`);
  },
};
