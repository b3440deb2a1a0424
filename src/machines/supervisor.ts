import { assign, emit, enqueueActions, setup, stopChild } from 'xstate';
import type { TerminalRef } from '../api/schemas.ts';
import { handoff, type HandoffInput } from './handoff.ts';
import { shareSession, type ShareSessionInput } from './shareSession.ts';

/**
 * The registry of live shares, keyed by share id; each entry is a spawned shareSession child of the same id.
 * The limit and the lease count by the session's id, not its name: a renamed session is the same terminal.
 */
export type SupervisorInput = { maxSharesPerTerminal: number };
type Entry = { terminal: TerminalRef; terminalId: string };
type Context = SupervisorInput & {
  /** `pending`: waiting for an approval, so not holding one of its terminal's slots (see slotFree). */
  shares: Record<string, Entry & { pending?: boolean }>;
  /** Live handoffs, keyed by handoff id: at most one per terminal (one lease on its input). */
  handoffs: Record<string, Entry>;
};

export type SupervisorEvent =
  | { type: 'SHARE.START'; session: ShareSessionInput }
  | { type: 'HANDOFF.START'; handoff: HandoffInput }
  | { type: 'TERMINAL.CLOSED'; terminal: TerminalRef; at: number }
  /** A share now waits for approval: it gives its slot back until granted. */
  | { type: 'SHARE.PENDING'; shareId: string }
  /** A share's approval was granted: it holds a slot again (the grant checked `slotFree` first). */
  | { type: 'SHARE.GRANTED'; shareId: string }
  | { type: 'SHUTDOWN'; at: number }
  | { type: `xstate.done.actor.${string}`; output?: unknown }
  | { type: `xstate.error.actor.${string}`; error?: unknown };

export type SupervisorEmitted =
  | { type: 'share.spawned'; shareId: string }
  | { type: 'share.rejected'; shareId: string; code: 'limit_exceeded' | 'conflict'; message: string }
  | { type: 'handoff.rejected'; handoffId: string; code: 'conflict'; message: string }
  | { type: 'share.finished'; shareId: string }
  | { type: 'share.crashed'; shareId: string; error: unknown };

const sharesOf = (context: Context, terminal: string) =>
  Object.entries(context.shares).filter(([, s]) => s.terminal === terminal).map(([id]) => id);
/**
 * The shares holding one of a terminal's slots: every share of it but those waiting for an
 * approval, which count again once granted (a grant is refused while the terminal is full).
 */
export const slotsTaken = (context: Pick<Context, 'shares'>, terminalId: string) =>
  Object.values(context.shares).filter((s) => s.terminalId === terminalId && !s.pending).length;
/** By session id (canonical.ts): a session under any name has the same slots. */
export const slotFree = (context: Pick<Context, 'shares' | 'maxSharesPerTerminal'>, terminalId: string) =>
  slotsTaken(context, terminalId) < context.maxSharesPerTerminal;

const withPending = (shares: Context['shares'], id: string, pending: boolean): Context['shares'] =>
  shares[id] ? { ...shares, [id]: { ...shares[id], pending } } : shares;

const doneActorId = (event: { type: string }) => event.type.replace(/^xstate\.(done|error)\.actor\./, '');

export const supervisor = setup({
  types: {
    input: {} as SupervisorInput,
    context: {} as Context,
    events: {} as SupervisorEvent,
    emitted: {} as SupervisorEmitted,
  },
  actors: { shareSession, handoff },
  guards: {
    shareIdTaken: ({ context, event }) => event.type === 'SHARE.START' && event.session.shareId in context.shares,
    withinTerminalLimit: ({ context, event }) => event.type === 'SHARE.START' && slotFree(context, event.session.terminalId),
    hasShares: ({ context }) => Object.keys(context.shares).length + Object.keys(context.handoffs).length > 0,
    handoffIdTaken: ({ context, event }) =>
      event.type === 'HANDOFF.START' && (event.handoff.handoffId in context.handoffs || event.handoff.handoffId in context.shares),
    terminalHandedOff: ({ context, event }) =>
      event.type === 'HANDOFF.START' && Object.values(context.handoffs).some((h) => h.terminalId === event.handoff.terminalId),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({ ...input, shares: {}, handoffs: {} }),
  initial: 'serving',
  states: {
    serving: {
      on: {
        'SHARE.START': [
          {
            guard: 'shareIdTaken',
            actions: emit(({ event }) => ({
              type: 'share.rejected' as const,
              shareId: event.session.shareId,
              code: 'conflict' as const,
              message: `share id ${event.session.shareId} is already in use`,
            })),
          },
          {
            guard: 'withinTerminalLimit',
            actions: [
              enqueueActions(({ enqueue, event }) => {
                enqueue.spawnChild('shareSession', { id: event.session.shareId, input: event.session });
              }),
              assign({ shares: ({ context, event }) => ({ ...context.shares, [event.session.shareId]: { terminal: event.session.terminal, terminalId: event.session.terminalId } }) }),
              emit(({ event }) => ({ type: 'share.spawned' as const, shareId: event.session.shareId })),
            ],
          },
          {
            actions: emit(({ context, event }) => ({
              type: 'share.rejected' as const,
              shareId: event.session.shareId,
              code: 'limit_exceeded' as const,
              message: `${event.session.terminal} already has ${context.maxSharesPerTerminal} active share(s), the most allowed (TERMSHARE_MAX_SHARES_PER_TERMINAL); stop or revoke one first (shares waiting for approval do not count)`,
            })),
          },
        ],
        'HANDOFF.START': [
          {
            guard: 'handoffIdTaken',
            actions: emit(({ event }) => ({
              type: 'handoff.rejected' as const,
              handoffId: event.handoff.handoffId,
              code: 'conflict' as const,
              message: `handoff id ${event.handoff.handoffId} is already in use`,
            })),
          },
          {
            guard: 'terminalHandedOff',
            actions: emit(({ event }) => ({
              type: 'handoff.rejected' as const,
              handoffId: event.handoff.handoffId,
              code: 'conflict' as const,
              message: `${event.handoff.terminal} already has a handoff in progress; release it first`,
            })),
          },
          {
            actions: [
              enqueueActions(({ enqueue, event }) => {
                enqueue.spawnChild('handoff', { id: event.handoff.handoffId, input: event.handoff });
              }),
              assign({ handoffs: ({ context, event }) => ({ ...context.handoffs, [event.handoff.handoffId]: { terminal: event.handoff.terminal, terminalId: event.handoff.terminalId } }) }),
            ],
          },
        ],
        'TERMINAL.CLOSED': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            for (const id of sharesOf(context, event.terminal)) enqueue.sendTo(id, { type: 'TERMINAL.CLOSED', at: event.at });
            for (const [id, h] of Object.entries(context.handoffs)) if (h.terminal === event.terminal) enqueue.sendTo(id, { type: 'TERMINAL.CLOSED', at: event.at });
          }),
        },
        SHUTDOWN: [
          {
            guard: 'hasShares',
            target: 'draining',
            actions: enqueueActions(({ context, event, enqueue }) => {
              for (const id of Object.keys(context.shares)) enqueue.sendTo(id, { type: 'STOP', at: event.at, by: 'service' });
              // A held lease gives input back before the service goes (as a release by the service).
              for (const [id] of Object.entries(context.handoffs)) enqueue.sendTo(id, { type: 'SHUTDOWN', at: event.at });
            }),
          },
          { target: 'down' },
        ],
      },
    },
    draining: {
      on: {
        'HANDOFF.START': {
          actions: emit(({ event }) => ({
            type: 'handoff.rejected' as const,
            handoffId: event.handoff.handoffId,
            code: 'conflict' as const,
            message: 'the service is shutting down; ask again once it is back',
          })),
        },
        'SHARE.START': {
          actions: emit(({ event }) => ({
            type: 'share.rejected' as const,
            shareId: event.session.shareId,
            code: 'conflict' as const,
            message: 'the service is shutting down; start the share again once it is back',
          })),
        },
      },
      always: { guard: ({ context }) => Object.keys(context.shares).length + Object.keys(context.handoffs).length === 0, target: 'down' },
    },
    down: { type: 'final' },
  },
  on: {
    // Whether a share holds a slot, in any state (draining included).
    'SHARE.PENDING': { actions: assign({ shares: ({ context, event }) => withPending(context.shares, event.shareId, true) }) },
    'SHARE.GRANTED': { actions: assign({ shares: ({ context, event }) => withPending(context.shares, event.shareId, false) }) },
    // A child share ending (final state) or crashing (uncaught error) leaves the registry; siblings are untouched.
    'xstate.done.actor.*': {
      actions: [
        assign({
          shares: ({ context, event }) => dropShare(context.shares, doneActorId(event)),
          handoffs: ({ context, event }) => dropShare(context.handoffs, doneActorId(event)),
        }),
        stopChild(({ event }) => doneActorId(event)),
        emit(({ event }) => ({ type: 'share.finished' as const, shareId: doneActorId(event) })),
      ],
    },
    'xstate.error.actor.*': {
      actions: [
        assign({
          shares: ({ context, event }) => dropShare(context.shares, doneActorId(event)),
          handoffs: ({ context, event }) => dropShare(context.handoffs, doneActorId(event)),
        }),
        stopChild(({ event }) => doneActorId(event)),
        emit(({ event }) => ({ type: 'share.crashed' as const, shareId: doneActorId(event), error: 'error' in event ? event.error : undefined })),
      ],
    },
  },
});

function dropShare(shares: Context['shares'], id: string): Context['shares'] {
  const { [id]: _gone, ...rest } = shares;
  return rest;
}
