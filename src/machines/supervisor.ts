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
  shares: Record<string, Entry>;
  /** Live handoffs, keyed by handoff id: at most one per terminal (one lease on its input). */
  handoffs: Record<string, Entry>;
};

export type SupervisorEvent =
  | { type: 'SHARE.START'; session: ShareSessionInput }
  | { type: 'HANDOFF.START'; handoff: HandoffInput }
  | { type: 'TERMINAL.CLOSED'; terminal: TerminalRef; at: number }
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
const sharesOfSession = (context: Context, terminalId: string) => Object.values(context.shares).filter((s) => s.terminalId === terminalId).length;

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
    withinTerminalLimit: ({ context, event }) =>
      event.type === 'SHARE.START' && sharesOfSession(context, event.session.terminalId) < context.maxSharesPerTerminal,
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
              message: `${event.session.terminal} already has ${context.maxSharesPerTerminal} active share(s), the most allowed (TERMSHARE_MAX_SHARES_PER_TERMINAL); stop or revoke one first`,
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
