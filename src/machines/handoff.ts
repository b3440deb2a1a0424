import { assign, emit, fromPromise, setup } from 'xstate';
import type { Requester, TerminalRef } from '../api/schemas.ts';
import type { TerminalContext } from '../adapters/terminals/types.ts';
import { approval, type ApprovalDecision, type ApprovalOutcome } from './approval.ts';
import type { ApprovalRequirement, Failure, PolicyDecision, PolicyQuery } from './shareSession.ts';

/**
 * A lease on a terminal's input, moving from one party to another (human → AI, or back).
 * Request → policy → approvals → transfer (the others' clients locked, the context packet taken)
 * → held by `to` → released (input given back, the other side told).
 */
export type HandoffInput = {
  handoffId: string;
  terminal: TerminalRef;
  /** The session's own id: one lease per session, whatever it is called. */
  terminalId: string;
  from: Requester;
  to: Requester;
  reason?: string;
  correlationId: string;
  approvalId: string;
};

export type TransferOutput = { lockedClients: string[]; context: TerminalContext };

export type HandoffEvent =
  | { type: 'RELEASE'; by: Requester; at: number }
  | { type: 'CANCEL'; by: Requester; at: number }
  | { type: 'TERMINAL.CLOSED'; at: number }
  /** The service is going: a held lease is released (input back), anything earlier withdrawn. */
  | { type: 'SHUTDOWN'; at: number };

export type HandoffEmitted =
  | { type: 'handoff.denied'; decision: PolicyDecision }
  | { type: 'handoff.awaiting-approval'; approvalId: string; requirement: ApprovalRequirement }
  | { type: 'handoff.approval-ended'; approvalId: string; outcome: ApprovalOutcome; decisions: ApprovalDecision[] }
  | { type: 'handoff.transferred'; context: TerminalContext; lockedClients: string[] }
  | { type: 'handoff.released'; by: Requester }
  | { type: 'handoff.ended'; state: 'failed' | 'closed' | 'withdrawn'; failure?: Failure };

type Context = HandoffInput & {
  decision?: PolicyDecision;
  lockedClients: string[];
  context?: TerminalContext;
  failure?: Failure;
  releasedBy?: Requester;
  /** The service began shutting down mid-transfer: the lease is given back as soon as it exists. */
  shuttingDown: boolean;
};

const SERVICE: Requester = { kind: 'human', id: 'termshare-service' };

const same = (a: Requester, b: Requester) => a.kind === b.kind && a.id === b.id;

export const handoff = setup({
  types: {
    input: {} as HandoffInput,
    context: {} as Context,
    events: {} as HandoffEvent,
    emitted: {} as HandoffEmitted,
  },
  actors: {
    policy: fromPromise<PolicyDecision, PolicyQuery>(async () => ({ decision: 'deny', policies: [], message: 'no policy gate is configured' })),
    approval,
    /** Locks every other client of the terminal and takes the context packet. */
    transfer: fromPromise<TransferOutput, { terminal: TerminalRef }>(async () => {
      throw new Error('no terminal control is configured');
    }),
    /** Gives input back to the locked clients and tells them. */
    restore: fromPromise<void, { terminal: TerminalRef; lockedClients: string[]; by: Requester }>(async () => {}),
  },
  guards: {
    policyAllows: ({ event }) => 'output' in event && (event.output as PolicyDecision).decision === 'allow',
    policyAsksApproval: ({ event }) => {
      const d = 'output' in event ? (event.output as PolicyDecision) : undefined;
      return d?.decision === 'approval' && d.approval !== undefined;
    },
    approvalWithdrawn: ({ event }) => 'output' in event && (event.output as { outcome: ApprovalOutcome }).outcome === 'withdrawn',
    approvalGranted: ({ event }) => 'output' in event && (event.output as { outcome: ApprovalOutcome }).outcome === 'approved',
    shuttingDown: ({ context }) => context.shuttingDown,
    byAParty: ({ context, event }) => (event.type === 'RELEASE' || event.type === 'CANCEL') && (same(event.by, context.to) || same(event.by, context.from)),
  },
  actions: {
    announceApprovalEnd: emit(({ context, event }) => {
      const out = (event as unknown as { output: { outcome: ApprovalOutcome; decisions: ApprovalDecision[] } }).output;
      return { type: 'handoff.approval-ended' as const, approvalId: context.approvalId, outcome: out.outcome, decisions: out.decisions };
    }),
  },
}).createMachine({
  id: 'handoff',
  context: ({ input }) => ({ ...input, lockedClients: [], shuttingDown: false }),
  initial: 'checkingPolicy',
  on: {
    'TERMINAL.CLOSED': { target: '.closed' },
  },
  states: {
    checkingPolicy: {
      invoke: {
        src: 'policy',
        input: ({ context }) => ({
          action: 'handoff.request' as const,
          requester: context.from,
          terminal: context.terminal,
          backend: 'upterm' as const,
          access: 'read-write' as const,
          ttlSeconds: 0,
          target: context.to,
          ...(context.reason ? { reason: context.reason } : {}),
        }),
        onDone: [
          { guard: 'policyAllows', target: 'transferring', actions: assign({ decision: ({ event }) => event.output }) },
          { guard: 'policyAsksApproval', target: 'awaitingApproval', actions: assign({ decision: ({ event }) => event.output }) },
          {
            target: 'denied',
            actions: [assign({ decision: ({ event }) => event.output }), emit(({ event }) => ({ type: 'handoff.denied' as const, decision: event.output }))],
          },
        ],
        onError: {
          target: 'denied',
          actions: [
            assign({ decision: ({ event }) => ({ decision: 'deny' as const, policies: [], message: `the policy gate failed: ${String(event.error)}` }) }),
            emit(({ context }) => ({ type: 'handoff.denied' as const, decision: context.decision! })),
          ],
        },
      },
      on: { CANCEL: { guard: 'byAParty', target: 'withdrawn' }, SHUTDOWN: 'withdrawn' },
    },
    awaitingApproval: {
      entry: emit(({ context }) => ({ type: 'handoff.awaiting-approval' as const, approvalId: context.approvalId, requirement: context.decision!.approval! })),
      invoke: {
        id: 'approval',
        src: 'approval',
        input: ({ context }) => ({ approvalId: context.approvalId, requester: context.from, requirement: context.decision!.approval! }),
        onDone: [
          { guard: 'approvalGranted', target: 'transferring', actions: 'announceApprovalEnd' },
          { guard: 'approvalWithdrawn', target: 'withdrawn', actions: 'announceApprovalEnd' },
          {
            target: 'rejected',
            actions: [
              'announceApprovalEnd',
              assign(({ event }) => ({
                failure: {
                  code: event.output.outcome === 'timed-out' ? ('approval_timeout' as const) : ('approval_rejected' as const),
                  message: event.output.outcome === 'timed-out' ? 'the approval timed out; no access was transferred' : 'the approval was rejected; no access was transferred',
                },
              })),
            ],
          },
        ],
      },
      on: { CANCEL: { guard: 'byAParty', target: 'withdrawn' }, SHUTDOWN: 'withdrawn' },
    },
    transferring: {
      invoke: {
        src: 'transfer',
        input: ({ context }) => ({ terminal: context.terminal }),
        onDone: [
          {
            guard: 'shuttingDown',
            target: 'releasing',
            actions: assign({ lockedClients: ({ event }) => event.output.lockedClients, releasedBy: SERVICE }),
          },
          {
            target: 'held',
            actions: [
              assign({ lockedClients: ({ event }) => event.output.lockedClients, context: ({ event }) => event.output.context }),
              emit(({ event }) => ({ type: 'handoff.transferred' as const, context: event.output.context, lockedClients: event.output.lockedClients })),
            ],
          },
        ],
        onError: {
          target: 'failed',
          actions: assign({ failure: ({ event }) => ({ code: 'backend_failed' as const, message: `the transfer failed: ${String(event.error)}` }) }),
        },
      },
      on: { SHUTDOWN: { actions: assign({ shuttingDown: true }) } },
    },
    held: {
      on: {
        RELEASE: { guard: 'byAParty', target: 'releasing', actions: assign({ releasedBy: ({ event }) => event.by }) },
        SHUTDOWN: { target: 'releasing', actions: assign({ releasedBy: SERVICE }) },
      },
    },
    releasing: {
      invoke: {
        src: 'restore',
        input: ({ context }) => ({ terminal: context.terminal, lockedClients: context.lockedClients, by: context.releasedBy! }),
        onDone: { target: 'released', actions: [assign({ lockedClients: [] }), emit(({ context }) => ({ type: 'handoff.released' as const, by: context.releasedBy! }))] },
        // Input must come back even when telling the clients fails: the lease is over either way.
        onError: { target: 'released', actions: [assign({ lockedClients: [] }), emit(({ context }) => ({ type: 'handoff.released' as const, by: context.releasedBy! }))] },
      },
    },
    denied: { type: 'final' },
    rejected: { type: 'final' },
    released: { type: 'final' },
    failed: { type: 'final', entry: emit(({ context }) => ({ type: 'handoff.ended' as const, state: 'failed' as const, failure: context.failure })) },
    withdrawn: { type: 'final', entry: emit({ type: 'handoff.ended' as const, state: 'withdrawn' as const }) },
    closed: { type: 'final', entry: emit({ type: 'handoff.ended' as const, state: 'closed' as const }) },
  },
});
