import { createActor, setup, type AnyActorRef } from 'xstate';
import { partition, type PartitionEmitted } from '../../src/machines/partition.ts';
import type { Recorder } from '../lib/recorder.ts';
import { baseWorld, expectEq, fail, startRoot, type BaseWorld, type Model } from '../lib/model.ts';

/** The timeout on (30 s, the default) or off (TERMSHARE_PARTITION_TIMEOUT=0). */
const VARIANTS: Record<string, number> = { on: 30_000, off: 0 };

type World = BaseWorld & { recorder: Recorder; variant?: string; emitted: PartitionEmitted[] };
type Obs = { variant?: string; value: string; disconnectedAt?: number; partitionedAt?: number; emitted: number; timers: string[] };

const idle = setup({}).createMachine({ id: 'partitionNotStarted' });

export const model: Model<World, Obs> = {
  machine: partition,
  maxDepth: 6,
  knownIssues: {},
  unreachable: {},

  createWorld(recorder) {
    const world = { ...baseWorld(), recorder, emitted: [] as PartitionEmitted[] } as World;
    // The timeout is the first test event (`start(on)`): until then the root is an idle placeholder.
    world.root = createActor(idle).start();
    return world;
  },

  commands(world, o) {
    if (!world.variant) return Object.keys(VARIANTS).map((variant) => ({ type: 'start', variant }));
    return [{ type: 'NATS.DISCONNECTED' }, { type: 'NATS.RECONNECTED' }, ...(o.timers.length ? [{ type: 'clock.next' }, { type: 'clock.almost' }] : [])];
  },

  apply(world, cmd) {
    const at = world.clock.now();
    switch (cmd.type) {
      case 'start': {
        world.root.stop();
        world.variant = cmd.variant as string;
        world.root = startRoot(world, partition, world.recorder, { timeoutMs: VARIANTS[world.variant]! }, (a: AnyActorRef) => a.on('*', (e) => world.emitted.push(e as PartitionEmitted)));
        return;
      }
      case 'NATS.DISCONNECTED':
      case 'NATS.RECONNECTED':
        return world.root.send({ type: cmd.type, at });
      case 'clock.next':
        return world.clock.advanceToNext();
      case 'clock.almost':
        return world.clock.advanceAlmost();
      default:
        fail(`unknown command ${cmd.type}`);
    }
  },

  observe(world) {
    const timers = world.clock.pendingLabels();
    if (!world.variant) return { value: 'not started', emitted: 0, timers };
    const s = world.root.getSnapshot();
    return { variant: world.variant, value: s.value as string, disconnectedAt: s.context.disconnectedAt, partitionedAt: s.context.partitionedAt, emitted: world.emitted.length, timers };
  },

  key: (o) => JSON.stringify([o.variant ?? null, o.value, o.timers]),
  describe: (o) => `${o.variant ?? '-'} ${o.value} timers=[${o.timers.join(' ')}]`,

  check({ cmd, before: b, after: a, fired, now }, world) {
    const emitted = world.emitted.slice(b.emitted);
    const timeout = VARIANTS[world.variant ?? 'on']!;
    const unchanged = (what: string) => {
      expectEq(emitted, [], `${what}: emitted`);
      expectEq([a.value, a.disconnectedAt, a.partitionedAt, a.timers], [b.value, b.disconnectedAt, b.partitionedAt, b.timers], `${what}: nothing changes`);
    };
    switch (cmd.type) {
      case 'start':
        expectEq([a.value, a.timers, emitted], ['connected', [], []], 'started: connected, nothing timed');
        return;
      case 'NATS.DISCONNECTED':
        if (b.value !== 'connected') return unchanged(`a second disconnect while ${b.value}: the first one's timer stands`);
        if (timeout === 0) return unchanged('timeout off: a disconnection is not timed');
        expectEq([a.value, a.disconnectedAt, a.timers, emitted], ['disconnected', now, [`partitionTimeout:${timeout}`], []], 'disconnected: the partition timer runs');
        return;
      case 'NATS.RECONNECTED':
        if (b.value === 'connected') return unchanged('reconnected while connected');
        expectEq([a.value, a.timers], ['connected', []], `reconnected after ${b.value}: connected, no timer`);
        if (b.value === 'disconnected') return expectEq(emitted, [], 'a blip shorter than the timeout ends nothing and tells nothing');
        return expectEq(emitted, [{ type: 'partition.ended', disconnectedAt: b.disconnectedAt, partitionedAt: b.partitionedAt, at: now }], 'reconnected after a partition: the operator is told');
      case 'clock.almost':
        expectEq([fired, a.timers], [[], ['partitionTimeout:1']], 'no partition before the timeout');
        expectEq(emitted, [], 'clock.almost: emitted');
        return expectEq([a.value, a.disconnectedAt, a.partitionedAt], [b.value, b.disconnectedAt, b.partitionedAt], 'clock.almost: nothing changes');
      case 'clock.next':
        expectEq([fired, now], [['partitionTimeout'], b.disconnectedAt! + timeout], 'the partition starts timeoutMs after the disconnection');
        expectEq([a.value, a.partitionedAt, a.timers], ['partitioned', now, []], 'partitioned');
        return expectEq(emitted, [{ type: 'partition.started', disconnectedAt: b.disconnectedAt, at: now }], 'partitioned: every share is to end');
    }
  },

  invariants(o) {
    if (!o.variant) return;
    if (o.variant === 'off' && o.value !== 'connected') fail(`timeout off, but ${o.value}`);
    if ((o.value === 'disconnected') !== (o.timers.length === 1)) fail(`${o.value} with timers [${o.timers.join(' ')}]`);
    if (o.value === 'connected' && (o.disconnectedAt !== undefined || o.partitionedAt !== undefined)) fail('connected, but a disconnection is still remembered');
    if (o.value === 'partitioned' && o.partitionedAt === undefined) fail('partitioned without the time it started');
  },
};
