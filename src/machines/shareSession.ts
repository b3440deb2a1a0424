import { and, assertEvent, assign, emit, enqueueActions, fromPromise, raise, sendTo, setup, stateIn } from 'xstate';
import type { Access, Backend, Requester, ShareLink, TerminalRef } from '../api/schemas.ts';
import type { ErrorCode } from '../errors.ts';
import { graceFor } from './grace.ts';
import { backoffMs, type RestartPolicy, type WorkerTimings } from './restartPolicy.ts';
import { approval, type ApprovalDecision, type ApprovalOutcome } from './approval.ts';
import { shareWorker, type WorkerInput, type WorkerOutput, type WorkerReport } from './shareWorker.ts';

/** What the policy gate is asked, and what it answers. */
export type PolicyAction =
  | 'share.start'
  | 'share.extend'
  | 'share.switch'
  | 'handoff.request'
  | 'approval.decide'
  | 'share.stop'
  | 'share.revoke'
  | 'share.get'
  | 'share.list'
  | 'share.link'
  | 'handoff.get'
  | 'handoff.release'
  | 'approval.list'
  | 'terminal.context'
  | 'terminal.input'
  | 'terminal.screen'
  | 'audit.read'
  | 'events.read'
  | 'recording.read';
export type PolicyQuery = {
  action: PolicyAction;
  requester: Requester;
  terminal: TerminalRef;
  backend: Backend;
  access: Access;
  ttlSeconds: number;
  reason?: string;
  /** handoff.request: who would get the terminal's input. */
  target?: Requester;
  /** Whose the share, handoff or approval is (its requester), for verbs on something that exists. */
  owner?: Requester;
};
/**
 * How many approvals a permitting policy asks for, from which groups (Cedar annotations
 * `@approvals`, `@approvers` (comma-separated groups), `@approval_ordered`, `@approval_timeout`).
 * Ordered: the n-th approval must come from the n-th group of `approvers` (the last group repeats).
 */
export type ApprovalRequirement = { policy: string; approvals: number; approvers: string[]; ordered: boolean; timeoutMs: number };
/** `approval`: permitted once `approval` is satisfied; `allow` and `deny` are final. */
export type PolicyDecision = {
  decision: 'allow' | 'deny' | 'approval';
  policies: string[];
  message: string;
  approval?: ApprovalRequirement;
  /** A permitting policy says `@record("required")`: the share or lease is recorded. */
  record?: 'required';
};

export type ShareSessionInput = {
  shareId: string;
  /** The canonical reference (see terminals/canonical.ts). */
  terminal: TerminalRef;
  /** The session's own id (tmux `$N`): what the per-terminal limit counts by, so a rename does not reset it. */
  terminalId: string;
  backend: Backend;
  access: Access;
  requester: Requester;
  reason?: string;
  ttlMs: number;
  /** The configured grace: the warning goes out graceFor(TTL, graceMs) before expiry (grace.ts). */
  graceMs: number;
  correlationId: string;
  /** Used when a policy asks for approvals. */
  approvalId: string;
  restartPolicy: RestartPolicy;
  workerTimings: WorkerTimings;
};

export type EndReason = 'stopped' | 'revoked' | 'expired' | 'terminal-closed' | 'failed';
export type Failure = { code: ErrorCode; message: string };

type Context = ShareSessionInput & {
  /** TTL counted from the last (re)arming of the timers: activation or extension. */
  armedTtlMs: number;
  link?: ShareLink;
  expiresAt?: number;
  participants: string[];
  restartsInWindow: number;
  /** The backend a switch in flight is moving to. */
  switchingTo?: Backend;
  switchBy?: string;
  endReason?: EndReason;
  failure?: Failure;
  /** What the end could not confirm (a participant possibly still connected), when the worker said so. */
  endUnconfirmed?: string;
  decision?: PolicyDecision;
};

export type ShareSessionEvent =
  | WorkerReport
  | { type: 'STOP'; at: number; by: string; reason?: string }
  | { type: 'REVOKE'; at: number; by: string; reason?: string }
  | { type: 'EXTEND'; at: number; ttlMs: number; by: string }
  | { type: 'SWITCH'; at: number; backend: Backend; by: string }
  | { type: 'TERMINAL.CLOSED'; at: number }
  | { type: 'END' }
  | { type: 'RESTART.WINDOW_ELAPSED' };

/** Effects for the world (events, audit, badges, in-terminal messages), observed with `actor.on(...)`. */
export type ShareSessionEmitted =
  | { type: 'share.denied'; decision: PolicyDecision }
  | { type: 'share.awaiting-approval'; approvalId: string; requirement: ApprovalRequirement }
  | { type: 'share.approval-ended'; approvalId: string; outcome: ApprovalOutcome; decisions: ApprovalDecision[] }
  | { type: 'share.active'; link: ShareLink; expiresAt: number }
  /** A new link: after a worker restart, or after the backend reconnected to its relay. */
  | { type: 'share.relinked'; link: ShareLink; cause: 'restart' | 'reconnect' }
  | { type: 'share.expiring'; expiresAt: number; participants: string[] }
  | { type: 'share.extended'; expiresAt: number; by: string }
  | { type: 'share.participants'; participants: string[]; joined: string[]; left: string[] }
  | { type: 'worker.crashed'; failure: Failure; willRestart: boolean }
  | { type: 'share.switched'; from: Backend; to: Backend; link: ShareLink; by: string }
  | { type: 'share.switch-failed'; backend: Backend; failure: Failure }
  | { type: 'share.ending'; endReason: EndReason; by?: string; reason?: string };

function approvalFailure(context: { approvalId: string }, out: { outcome: ApprovalOutcome; decisions: ApprovalDecision[] }): Failure {
  if (out.outcome === 'timed-out') return { code: 'approval_timeout', message: `approval ${context.approvalId} timed out before enough approvers decided; ask again` };
  const no = out.decisions.find((d) => d.decision === 'reject');
  const by = no ? `${no.approver.kind}:${no.approver.id}${no.comment ? ` (${no.comment})` : ''}` : 'an approver';
  return { code: 'approval_rejected', message: `approval ${context.approvalId} was rejected by ${by}; nothing was shared` };
}

const workerOutput = (event: { type: string }): WorkerOutput | undefined =>
  event.type === 'xstate.done.actor.worker' ? (event as unknown as { output: WorkerOutput }).output : undefined;


export const shareSession = setup({
  types: {
    input: {} as ShareSessionInput,
    context: {} as Context,
    events: {} as ShareSessionEvent,
    emitted: {} as ShareSessionEmitted,
  },
  actors: {
    policy: fromPromise<PolicyDecision, PolicyQuery>(async () => ({
      decision: 'deny',
      policies: [],
      message: 'no policy gate is configured',
    })),
    worker: shareWorker,
    approval,
  },
  guards: {
    policyAllows: ({ event }) => 'output' in event && (event.output as PolicyDecision).decision === 'allow',
    policyAsksApproval: ({ event }) => {
      const d = 'output' in event ? (event.output as PolicyDecision) : undefined;
      return d?.decision === 'approval' && d.approval !== undefined;
    },
    approvalWithdrawn: ({ event }) => 'output' in event && (event.output as { outcome: ApprovalOutcome }).outcome === 'withdrawn',
    approvalGranted: ({ event }) => 'output' in event && (event.output as { outcome: ApprovalOutcome }).outcome === 'approved',
    notEnding: ({ context }) => context.endReason === undefined,
    endedAs: ({ context }, params: { reason: EndReason }) => context.endReason === params.reason,
    workerStoppedOnRequest: stateIn({ live: { worker: { alive: 'stopping' } } }),
    terminalClosed: ({ event }) => {
      const out = workerOutput(event);
      return out?.outcome === 'failed' && out.terminalClosed;
    },
    neverLinked: ({ context }) => context.link === undefined,
    restartBudgetLeft: ({ context }) => context.restartsInWindow < context.restartPolicy.maxRestarts,
    canSwitch: and([
      ({ context, event }) => event.type === 'SWITCH' && context.switchingTo === undefined && event.backend !== context.backend,
      // Not between a crash and its restart: no worker to pass it to.
      stateIn({ live: { worker: 'alive' } }),
    ]),
  },
  delays: {
    /** The grace is fitted to the TTL (grace.ts), so a short share is `active` before it warns. */
    untilWarning: ({ context }) => Math.max(0, context.armedTtlMs - graceFor(context.armedTtlMs, context.graceMs)),
    untilExpiry: ({ context }) => Math.min(graceFor(context.armedTtlMs, context.graceMs), context.armedTtlMs),
    restartWindow: ({ context }) => context.restartPolicy.windowMs,
    /** The wait before the n-th restart within the window (exponential, capped: see restartPolicy.ts). */
    restartBackoff: ({ context }) => backoffMs(context.restartPolicy.backoff, context.restartsInWindow),
  },
  actions: {
    endWith: assign((_, params: { reason: EndReason }) => ({ endReason: params.reason })),
    announceEnding: emit(({ context, event }) => ({
      type: 'share.ending' as const,
      endReason: context.endReason ?? 'stopped',
      by: 'by' in event ? event.by : undefined,
      reason: event.type === 'REVOKE' || event.type === 'STOP' ? event.reason : undefined,
    })),
    recordUnconfirmed: assign(({ event }) => {
      const out = workerOutput(event);
      return out?.outcome === 'stopped' && out.unconfirmed ? { endUnconfirmed: out.unconfirmed } : {};
    }),
    recordFailure: assign(({ event }) => {
      const out = workerOutput(event);
      return out?.outcome === 'failed' ? { failure: { code: out.code, message: out.message } } : {};
    }),
    beginSwitch: enqueueActions(({ enqueue, event }) => {
      assertEvent(event, 'SWITCH');
      enqueue.assign({ switchingTo: event.backend, switchBy: event.by });
      enqueue.sendTo('worker', { type: 'SWITCH', backend: event.backend });
    }),
    /** A worker crash drops a switch in flight: its new backend died with the worker. */
    abandonSwitch: enqueueActions(({ context, enqueue }) => {
      if (context.switchingTo === undefined) return;
      enqueue.emit({ type: 'share.switch-failed', backend: context.switchingTo, failure: { code: 'backend_failed', message: 'the worker crashed during the switch; the share goes on with its old backend' } });
      enqueue.assign({ switchingTo: undefined });
    }),
    announceApprovalEnd: emit(({ context, event }) => {
      const out = (event as unknown as { output: { outcome: ApprovalOutcome; decisions: ApprovalDecision[] } }).output;
      return { type: 'share.approval-ended' as const, approvalId: context.approvalId, outcome: out.outcome, decisions: out.decisions };
    }),
    applyExtension: assign(({ event }) => (event.type === 'EXTEND' ? { armedTtlMs: event.ttlMs, expiresAt: event.at + event.ttlMs } : {})),
    announceExtension: emit(({ context, event }) => ({
      type: 'share.extended' as const,
      expiresAt: context.expiresAt!,
      by: event.type === 'EXTEND' ? event.by : '',
    })),
    failBudget: assign(({ context }) => ({
      failure: {
        code: 'backend_failed' as const,
        message: `the ${context.backend} worker crashed ${context.restartPolicy.maxRestarts + 1} times within ${Math.round(context.restartPolicy.windowMs / 1000)} s (last: ${context.failure?.message ?? 'unknown'}); start a new share`,
      },
    })),
  },
}).createMachine({
  id: 'shareSession',
  context: ({ input }) => ({ ...input, armedTtlMs: input.ttlMs, participants: [], restartsInWindow: 0 }),
  initial: 'checkingPolicy',
  states: {
    checkingPolicy: {
      invoke: {
        src: 'policy',
        input: ({ context }) => ({
          action: 'share.start' as const,
          requester: context.requester,
          terminal: context.terminal,
          backend: context.backend,
          access: context.access,
          ttlSeconds: Math.round(context.ttlMs / 1000),
          reason: context.reason,
        }),
        onDone: [
          { guard: 'policyAllows', target: 'live', actions: assign({ decision: ({ event }) => event.output }) },
          { guard: 'policyAsksApproval', target: 'awaitingApproval', actions: assign({ decision: ({ event }) => event.output }) },
          {
            target: 'denied',
            actions: [
              assign({ decision: ({ event }) => event.output }),
              emit(({ event }) => ({ type: 'share.denied' as const, decision: event.output })),
            ],
          },
        ],
        // A gate that cannot decide denies (fail closed).
        onError: {
          target: 'denied',
          actions: [
            assign({
              decision: ({ event }) => ({ decision: 'deny' as const, policies: [], message: `the policy gate failed: ${String(event.error)}` }),
            }),
            emit(({ context }) => ({ type: 'share.denied' as const, decision: context.decision! })),
          ],
        },
      },
      on: {
        STOP: { target: 'stopped', actions: [{ type: 'endWith', params: { reason: 'stopped' } }, 'announceEnding'] },
        REVOKE: { target: 'revoked', actions: [{ type: 'endWith', params: { reason: 'revoked' } }, 'announceEnding'] },
        'TERMINAL.CLOSED': { target: 'stopped', actions: [{ type: 'endWith', params: { reason: 'terminal-closed' } }, 'announceEnding'] },
      },
    },
    awaitingApproval: {
      entry: emit(({ context }) => ({ type: 'share.awaiting-approval' as const, approvalId: context.approvalId, requirement: context.decision!.approval! })),
      invoke: {
        id: 'approval',
        src: 'approval',
        input: ({ context }) => ({ approvalId: context.approvalId, requester: context.requester, requirement: context.decision!.approval! }),
        onDone: [
          { guard: 'approvalGranted', target: 'live', actions: 'announceApprovalEnd' },
          { guard: 'approvalWithdrawn', target: 'stopped', actions: ['announceApprovalEnd', { type: 'endWith', params: { reason: 'stopped' } }, 'announceEnding'] },
          {
            target: 'denied',
            actions: [
              'announceApprovalEnd',
              assign(({ context, event }) => ({ failure: approvalFailure(context, event.output) })),
            ],
          },
        ],
      },
      on: {
        // Leaving stops the approval actor: a request ended before its decision is withdrawn.
        STOP: { target: 'stopped', actions: [{ type: 'endWith', params: { reason: 'stopped' } }, 'announceEnding'] },
        REVOKE: { target: 'revoked', actions: [{ type: 'endWith', params: { reason: 'revoked' } }, 'announceEnding'] },
        'TERMINAL.CLOSED': { target: 'stopped', actions: [{ type: 'endWith', params: { reason: 'terminal-closed' } }, 'announceEnding'] },
      },
    },
    live: {
      type: 'parallel',
      on: {
        STOP: { guard: 'notEnding', actions: [{ type: 'endWith', params: { reason: 'stopped' } }, 'announceEnding', raise({ type: 'END' })] },
        REVOKE: { guard: 'notEnding', actions: [{ type: 'endWith', params: { reason: 'revoked' } }, 'announceEnding', raise({ type: 'END' })] },
        'TERMINAL.CLOSED': {
          guard: 'notEnding',
          actions: [{ type: 'endWith', params: { reason: 'terminal-closed' } }, 'announceEnding', raise({ type: 'END' })],
        },
        'WORKER.HEARTBEAT': {
          actions: [
            emit(({ context, event }) => ({
              type: 'share.participants' as const,
              participants: event.participants,
              joined: event.participants.filter((p) => !context.participants.includes(p)),
              left: context.participants.filter((p) => !event.participants.includes(p)),
            })),
            assign({ participants: ({ event }) => event.participants }),
          ],
        },
        'RESTART.WINDOW_ELAPSED': { actions: assign({ restartsInWindow: ({ context }) => Math.max(0, context.restartsInWindow - 1) }) },
        'WORKER.SWITCHED': {
          actions: [
            emit(({ context, event }) => ({ type: 'share.switched' as const, from: context.backend, to: event.backend, link: event.link, by: context.switchBy ?? '' })),
            assign(({ event }) => ({ backend: event.backend, link: event.link, switchingTo: undefined, switchBy: undefined })),
          ],
        },
        'WORKER.SWITCH_FAILED': {
          actions: [
            emit(({ event }) => ({ type: 'share.switch-failed' as const, backend: event.backend, failure: { code: event.code, message: event.message } })),
            assign({ switchingTo: undefined, switchBy: undefined }),
          ],
        },
      },
      onDone: [
        { guard: { type: 'endedAs', params: { reason: 'revoked' } }, target: 'revoked' },
        { guard: { type: 'endedAs', params: { reason: 'expired' } }, target: 'expired' },
        { guard: { type: 'endedAs', params: { reason: 'failed' } }, target: 'failed' },
        { target: 'stopped' },
      ],
      states: {
        worker: {
          initial: 'alive',
          states: {
            alive: {
              invoke: {
                id: 'worker',
                src: 'worker',
                input: ({ context }): WorkerInput => ({
                  shareId: context.shareId,
                  terminal: context.terminal,
                  backend: context.backend,
                  access: context.access,
                  ...context.workerTimings,
                }),
                onDone: [
                  { guard: 'workerStoppedOnRequest', target: 'gone', actions: 'recordUnconfirmed' },
                  {
                    guard: 'terminalClosed',
                    target: 'gone',
                    actions: [{ type: 'endWith', params: { reason: 'terminal-closed' } }, 'announceEnding', raise({ type: 'END' })],
                  },
                  {
                    guard: 'neverLinked',
                    target: 'gone',
                    actions: ['recordFailure', { type: 'endWith', params: { reason: 'failed' } }, 'announceEnding', raise({ type: 'END' })],
                  },
                  {
                    guard: 'restartBudgetLeft',
                    target: 'backoff',
                    actions: [
                      'recordFailure',
                      'abandonSwitch',
                      emit(({ context }) => ({ type: 'worker.crashed' as const, failure: context.failure!, willRestart: true })),
                      assign({ restartsInWindow: ({ context }) => context.restartsInWindow + 1 }),
                      raise({ type: 'RESTART.WINDOW_ELAPSED' }, { delay: 'restartWindow' }),
                    ],
                  },
                  {
                    target: 'gone',
                    actions: [
                      'recordFailure',
                      'abandonSwitch',
                      emit(({ context }) => ({ type: 'worker.crashed' as const, failure: context.failure!, willRestart: false })),
                      'failBudget',
                      { type: 'endWith', params: { reason: 'failed' } },
                      'announceEnding',
                      raise({ type: 'END' }),
                    ],
                  },
                ],
              },
              initial: 'running',
              states: {
                running: { on: { END: 'stopping' } },
                stopping: { entry: sendTo('worker', { type: 'STOP' }) },
              },
            },
            // Between a crash and its restart: no backend runs, so an end needs nothing stopped.
            backoff: {
              on: { END: 'gone' },
              after: { restartBackoff: 'alive' },
            },
            gone: { type: 'final' },
          },
        },
        lifetime: {
          initial: 'pending',
          on: {
            END: '.over',
            // A restarted worker brings a new link; the share's lifetime is unchanged.
            'WORKER.READY': {
              actions: [
                assign({ link: ({ event }) => event.link }),
                emit(({ event }) => ({ type: 'share.relinked' as const, link: event.link, cause: 'restart' as const })),
              ],
            },
            'WORKER.RELINKED': {
              actions: [
                assign({ link: ({ event }) => event.link }),
                emit(({ event }) => ({ type: 'share.relinked' as const, link: event.link, cause: 'reconnect' as const })),
              ],
            },
          },
          states: {
            pending: {
              on: {
                'WORKER.READY': {
                  target: 'active',
                  actions: [
                    assign({ link: ({ event }) => event.link, expiresAt: ({ context, event }) => event.at + context.armedTtlMs }),
                    emit(({ context }) => ({ type: 'share.active' as const, link: context.link!, expiresAt: context.expiresAt! })),
                  ],
                },
              },
            },
            active: {
              on: {
                EXTEND: { target: 'active', reenter: true, actions: ['applyExtension', 'announceExtension'] },
                SWITCH: { guard: 'canSwitch', actions: 'beginSwitch' },
              },
              after: { untilWarning: 'expiring' },
            },
            expiring: {
              entry: emit(({ context }) => ({ type: 'share.expiring' as const, expiresAt: context.expiresAt!, participants: context.participants })),
              on: {
                EXTEND: { target: 'active', reenter: true, actions: ['applyExtension', 'announceExtension'] },
                SWITCH: { guard: 'canSwitch', actions: 'beginSwitch' },
              },
              after: {
                untilExpiry: {
                  target: 'over',
                  actions: [{ type: 'endWith', params: { reason: 'expired' } }, 'announceEnding', raise({ type: 'END' })],
                },
              },
            },
            over: { type: 'final' },
          },
        },
      },
    },
    denied: { type: 'final' },
    stopped: { type: 'final' },
    revoked: { type: 'final' },
    expired: { type: 'final' },
    failed: { type: 'final' },
  },
});
