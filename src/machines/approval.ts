import { assertEvent, assign, emit, setup } from 'xstate';
import type { Requester } from '../api/schemas.ts';
import type { ApprovalRequirement } from './shareSession.ts';

/** One pending request for approval (of a share, later of a handoff), collecting decisions. */
export type ApprovalInput = { approvalId: string; requester: Requester; requirement: ApprovalRequirement };

export type ApprovalDecision = { approver: Requester; decision: 'approve' | 'reject'; comment?: string; at: number };
export type ApprovalOutcome = 'approved' | 'rejected' | 'timed-out' | 'withdrawn';

export type ApprovalEvent =
  /** `groups` are the approver's groups, resolved by the caller (the policy gate's entities). */
  | {
      type: 'DECIDE';
      approver: Requester;
      groups: string[];
      decision: 'approve' | 'reject';
      comment?: string;
      at: number;
      /** Why the request cannot be granted now (its terminal is full), if so: an approval that would grant it is refused with this, and the request stays pending. */
      blocked?: string;
    }
  | { type: 'WITHDRAW' };

export type ApprovalEmitted =
  | { type: 'approval.refused'; approver: Requester; reason: string; code?: 'limit_exceeded' }
  | { type: 'approval.decided'; decision: ApprovalDecision; remaining: number };

type Context = ApprovalInput & { decisions: ApprovalDecision[]; outcome?: ApprovalOutcome };

const same = (a: Requester, b: Requester) => a.kind === b.kind && a.id === b.id;
const approvalsSoFar = (c: Context) => c.decisions.filter((d) => d.decision === 'approve').length;
/** The group the next approval must come from, when approvals are ordered (the last group repeats). */
const groupFor = (c: Context, n: number) => c.requirement.approvers[Math.min(n, c.requirement.approvers.length - 1)]!;

export const approval = setup({
  types: {
    input: {} as ApprovalInput,
    context: {} as Context,
    events: {} as ApprovalEvent,
    emitted: {} as ApprovalEmitted,
    output: {} as { outcome: ApprovalOutcome; decisions: ApprovalDecision[] },
  },
  guards: {
    selfDecision: ({ context, event }) => event.type === 'DECIDE' && same(event.approver, context.requester),
    alreadyDecided: ({ context, event }) => event.type === 'DECIDE' && context.decisions.some((d) => same(d.approver, event.approver)),
    outsideApprovers: ({ context, event }) => {
      if (event.type !== 'DECIDE') return false;
      const allowed = context.requirement.ordered ? [groupFor(context, approvalsSoFar(context))] : context.requirement.approvers;
      return !event.groups.some((g) => allowed.includes(g));
    },
    rejects: ({ event }) => event.type === 'DECIDE' && event.decision === 'reject',
    completes: ({ context }) => approvalsSoFar(context) + 1 >= context.requirement.approvals,
    grantBlocked: ({ context, event }) => event.type === 'DECIDE' && event.decision === 'approve' && !!event.blocked && approvalsSoFar(context) + 1 >= context.requirement.approvals,
  },
  delays: {
    approvalTimeout: ({ context }) => context.requirement.timeoutMs,
  },
  actions: {
    refuse: emit(({ context, event }, params: { why: 'self' | 'twice' | 'group' }) => {
      assertEvent(event, 'DECIDE');
      const who = `${event.approver.kind}:${event.approver.id}`;
      const groups = context.requirement.ordered ? groupFor(context, approvalsSoFar(context)) : context.requirement.approvers.join(' or ');
      const reason = {
        self: `${who} made this request and cannot decide it; ask someone in ${groups}`,
        twice: `${who} has already decided this request; another approver is needed`,
        group: `${who} is not in ${context.requirement.ordered ? 'group ' : ''}${groups}, whose members decide ${context.requirement.ordered ? 'this step' : 'this request'}`,
      }[params.why];
      return { type: 'approval.refused' as const, approver: event.approver, reason };
    }),
    record: assign({
      decisions: ({ context, event }) => {
        assertEvent(event, 'DECIDE');
        return [...context.decisions, { approver: event.approver, decision: event.decision, ...(event.comment ? { comment: event.comment } : {}), at: event.at }];
      },
    }),
    announce: emit(({ context }) => ({
      type: 'approval.decided' as const,
      decision: context.decisions.at(-1)!,
      remaining: Math.max(0, context.requirement.approvals - approvalsSoFar(context)),
    })),
    conclude: assign((_, params: { outcome: ApprovalOutcome }) => ({ outcome: params.outcome })),
  },
}).createMachine({
  id: 'approval',
  context: ({ input }) => ({ ...input, decisions: [] }),
  initial: 'pending',
  states: {
    pending: {
      on: {
        DECIDE: [
          { guard: 'selfDecision', actions: { type: 'refuse', params: { why: 'self' } } },
          { guard: 'alreadyDecided', actions: { type: 'refuse', params: { why: 'twice' } } },
          { guard: 'outsideApprovers', actions: { type: 'refuse', params: { why: 'group' } } },
          { guard: 'rejects', target: 'rejected', actions: ['record', 'announce'] },
          {
            guard: 'grantBlocked',
            actions: emit(({ event }) => {
              assertEvent(event, 'DECIDE');
              return { type: 'approval.refused' as const, approver: event.approver, reason: event.blocked!, code: 'limit_exceeded' as const };
            }),
          },
          { guard: 'completes', target: 'approved', actions: ['record', 'announce'] },
          { actions: ['record', 'announce'] },
        ],
        WITHDRAW: 'withdrawn',
      },
      after: { approvalTimeout: 'timedOut' },
    },
    approved: { type: 'final', entry: { type: 'conclude', params: { outcome: 'approved' } } },
    rejected: { type: 'final', entry: { type: 'conclude', params: { outcome: 'rejected' } } },
    timedOut: { type: 'final', entry: { type: 'conclude', params: { outcome: 'timed-out' } } },
    withdrawn: { type: 'final', entry: { type: 'conclude', params: { outcome: 'withdrawn' } } },
  },
  output: ({ context }) => ({ outcome: context.outcome!, decisions: context.decisions }),
});
