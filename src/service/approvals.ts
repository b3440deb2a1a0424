import type { AnyActorRef } from 'xstate';
import type { Approval, Requester } from '../api/schemas.ts';
import type { PolicyGate } from '../adapters/policy/types.ts';
import { ErrorCodes, TermshareError, audited, err, ok, type Result } from '../errors.ts';
import type { ApprovalDecision, ApprovalEmitted, ApprovalOutcome } from '../machines/approval.ts';
import type { ApprovalRequirement, PolicyQuery } from '../machines/shareSession.ts';
import type { ShareEffects, StepSubject } from './effects.ts';

const who = (r: Requester) => `${r.kind}:${r.id}`;
const iso = (ms: number) => new Date(ms).toISOString();

/** What an approval waits on: a share or a handoff, whose actor holds the approval as its child `approval`. */
export type ApprovalSource = {
  approvalId: string;
  subject: StepSubject;
  of: { shareId: string } | { handoffId: string };
  /** The request an approver is checked against (action `approval.decide`). */
  query: Omit<PolicyQuery, 'action' | 'requester'>;
  requester: Requester;
  /** Whoever the request would give something to (a handoff's `to`): never their own approver. */
  beneficiary?: Requester;
  requirement: ApprovalRequirement;
  /** Why granting it now is not possible (a share's terminal is full), if so; checked right before a decision. */
  blocked?: () => string | undefined;
  createdAt: number;
  outcome?: ApprovalOutcome;
  decisions: ApprovalDecision[];
  parent?: AnyActorRef;
};

/** What a share's or a handoff's record keeps of the approval it asked for. */
export type ApprovalHolder = StepSubject & {
  ref?: AnyActorRef;
  approval?: { createdAt: number; outcome?: ApprovalOutcome; decisions: ApprovalDecision[] };
  snapshot?: StepSubject['snapshot'] & { context: { decision?: { approval?: ApprovalRequirement } } };
};

/** The approval a record asked for, if it asked for one; `who` says what it is for and who asked. */
export function approvalSourceOf(
  rec: ApprovalHolder,
  who: Pick<ApprovalSource, 'of' | 'query' | 'requester' | 'beneficiary'>,
): ApprovalSource | undefined {
  const requirement = rec.snapshot?.context.decision?.approval;
  if (!rec.approval || !requirement) return undefined;
  return {
    ...who,
    approvalId: rec.snapshot!.context.approvalId,
    subject: rec,
    requirement,
    createdAt: rec.approval.createdAt,
    ...(rec.approval.outcome ? { outcome: rec.approval.outcome } : {}),
    decisions: rec.approval.decisions,
    ...(rec.ref ? { parent: rec.ref } : {}),
  };
}

/**
 * Approvals are children of the share or handoff that waits for them; this finds them by id,
 * checks that an approver may decide (the policy gate, action `approval.decide`), and hands
 * them decisions.
 */
export class Approvals {
  constructor(
    private readonly sources: () => Iterable<ApprovalSource>,
    private readonly gate: PolicyGate,
    private readonly effects: ShareEffects,
  ) {}

  private find(approvalId: string): ApprovalSource | undefined {
    for (const s of this.sources()) if (s.approvalId === approvalId) return s;
    return undefined;
  }

  list(state?: Approval['state']): Approval[] {
    return [...this.sources()].map((s) => this.view(s)).filter((a) => !state || a.state === state);
  }

  async decide(req: { approvalId: string; approver: Requester; decision: 'approve' | 'reject'; comment?: string }): Promise<Result<Approval>> {
    const src = this.find(req.approvalId);
    if (!src) return err(new TermshareError(ErrorCodes.notFound, `no approval ${req.approvalId}; list pending ones with \`termshare approvals\``));
    const child = src.parent?.getSnapshot().children.approval as AnyActorRef | undefined;
    if (!child || src.outcome) return err(new TermshareError(ErrorCodes.conflict, `approval ${req.approvalId} is already ${this.view(src).state}`));
    const audit = (outcome: string, data: Record<string, unknown>) =>
      this.effects.record(src.subject, { approvalEvent: 'decided', audit: 'approval.decide', outcome, actor: who(req.approver), data: { approvalId: req.approvalId, decision: req.decision, ...data } });
    if (src.beneficiary && src.beneficiary.kind === req.approver.kind && src.beneficiary.id === req.approver.id) {
      void audit('refused', { message: 'beneficiary' });
      return audited(err(new TermshareError(ErrorCodes.unauthorized, `${who(req.approver)} would receive the terminal's input and cannot approve that; ask someone else`)));
    }
    const allowed = await this.gate.decide({ ...src.query, action: 'approval.decide', requester: req.approver });
    if (allowed.decision !== 'allow') {
      void audit('unauthorized', { message: allowed.message });
      return audited(err(new TermshareError(ErrorCodes.unauthorized, `${who(req.approver)} may not decide approvals on ${src.query.terminal}: ${allowed.message}`)));
    }
    const groups = await this.gate.groupsOf(req.approver);
    let answer: ApprovalEmitted | undefined;
    const sub = child.on('*', (e: ApprovalEmitted) => (answer ??= e));
    // Checked in the same turn as the decision: nothing can take the slot in between.
    const blocked = src.blocked?.();
    child.send({ type: 'DECIDE', approver: req.approver, groups, decision: req.decision, ...(req.comment ? { comment: req.comment } : {}), ...(blocked ? { blocked } : {}), at: Date.now() });
    sub.unsubscribe();
    if (answer?.type === 'approval.refused') {
      void audit('refused', { message: answer.reason });
      return audited(err(new TermshareError(answer.code ?? ErrorCodes.unauthorized, answer.reason)));
    }
    if (answer?.type === 'approval.decided') await audit(req.decision, { comment: req.comment ?? null, remaining: answer.remaining });
    // Read the source again: a deciding answer may have ended the approval meanwhile.
    return ok(this.view(this.find(req.approvalId) ?? src));
  }

  view(src: ApprovalSource): Approval {
    const r = src.requirement;
    const child = (src.parent?.getSnapshot().children.approval as AnyActorRef | undefined)?.getSnapshot();
    // A decision that ended the approval is in the child's output before its parent has seen it.
    const ended = src.outcome ?? (child?.status === 'done' ? (child.output as { outcome: ApprovalOutcome }).outcome : undefined);
    const live: ApprovalDecision[] | undefined = child?.context?.decisions;
    const decisions = src.outcome ? src.decisions : (live ?? src.decisions);
    return {
      id: src.approvalId,
      state: ended ?? (child ? 'pending' : 'withdrawn'),
      ...src.of,
      terminal: src.query.terminal,
      requester: src.requester,
      requirement: { policy: r.policy, approvals: r.approvals, approvers: r.approvers, ordered: r.ordered, timeoutSeconds: r.timeoutMs / 1000 },
      decisions: decisions.map((d) => ({ approver: d.approver, decision: d.decision, ...(d.comment ? { comment: d.comment } : {}), at: iso(d.at) })),
      createdAt: iso(src.createdAt),
      expiresAt: iso(src.createdAt + r.timeoutMs),
      correlationId: src.subject.correlationId,
    };
  }
}
