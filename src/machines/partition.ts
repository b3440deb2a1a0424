import { assign, emit, setup } from 'xstate';

/**
 * The service's view of its NATS connection, for the partition timeout (TERMSHARE_PARTITION_TIMEOUT):
 * connected → disconnected (the timer runs) → partitioned (every share ends, fail safe) →
 * connected again (the operator is told). A disconnection shorter than the timeout ends nothing.
 * `timeoutMs` 0 turns the timeout off: a disconnection is not even timed.
 */
export type PartitionInput = { timeoutMs: number };

export type PartitionEvent = { type: 'NATS.DISCONNECTED'; at: number } | { type: 'NATS.RECONNECTED'; at: number };

export type PartitionEmitted =
  /** The timeout passed with NATS unreachable: end every share and handoff now. */
  | { type: 'partition.started'; disconnectedAt: number; at: number }
  /** NATS is back after a partition: tell the operator (event, log line) once the spool is sent. */
  | { type: 'partition.ended'; disconnectedAt: number; partitionedAt: number; at: number };

type Context = PartitionInput & { disconnectedAt?: number; partitionedAt?: number };

export const partition = setup({
  types: {
    input: {} as PartitionInput,
    context: {} as Context,
    events: {} as PartitionEvent,
    emitted: {} as PartitionEmitted,
  },
  guards: {
    timeoutOn: ({ context }) => context.timeoutMs > 0,
  },
  delays: {
    partitionTimeout: ({ context }) => context.timeoutMs,
  },
}).createMachine({
  id: 'partition',
  context: ({ input }) => ({ ...input }),
  initial: 'connected',
  states: {
    connected: {
      entry: assign({ disconnectedAt: undefined, partitionedAt: undefined }),
      on: {
        'NATS.DISCONNECTED': { guard: 'timeoutOn', target: 'disconnected', actions: assign({ disconnectedAt: ({ event }) => event.at }) },
      },
    },
    disconnected: {
      after: {
        partitionTimeout: {
          target: 'partitioned',
          actions: [
            assign({ partitionedAt: ({ context }) => context.disconnectedAt! + context.timeoutMs }),
            emit(({ context }) => ({ type: 'partition.started' as const, disconnectedAt: context.disconnectedAt!, at: context.partitionedAt! })),
          ],
        },
      },
      // A blip shorter than the timeout: nothing ended, nothing to tell.
      on: { 'NATS.RECONNECTED': 'connected' },
    },
    partitioned: {
      on: {
        'NATS.RECONNECTED': {
          target: 'connected',
          actions: emit(({ context, event }) => ({ type: 'partition.ended' as const, disconnectedAt: context.disconnectedAt!, partitionedAt: context.partitionedAt!, at: event.at })),
        },
      },
    },
  },
});
