import type { AnyActorRef } from 'xstate';
import type { Approval, Requester } from '../api/schemas.ts';
import type { PolicyGate } from '../adapters/policy/types.ts';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../errors.ts';
import type { ApprovalDecision, ApprovalEmitted, ApprovalOutcome } from '../machines/approval.ts';
import type { ShareEffects } from './effects.ts';
import type { ShareRecord } from './shareView.ts';

const who = (r: Requester) => `${r.kind}:${r.id}`;
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Approvals are children of the share that waits for them; this finds them by id, checks that
 * an approver may decide (the policy gate, action `approval.decide`), and hands them decisions.
 */
export class Approvals {
  constructor(
    private readonly records: Map<string, ShareRecord>,
    private readonly gate: PolicyGate,
    private readonly effects: ShareEffects,
  ) {}

  private find(approvalId: string): ShareRecord | undefined {
    for (const r of this.records.values()) if (r.approval && r.snapshot?.context.approvalId === approvalId) return r;
    return undefined;
  }

  list(state?: Approval['state']): Approval[] {
    return [...this.records.values()].filter((r) => r.approval).map((r) => this.view(r)).filter((a) => !state || a.state === state);
  }

  async decide(req: { approvalId: string; approver: Requester; decision: 'approve' | 'reject'; comment?: string }): Promise<Result<Approval>> {
    const rec = this.find(req.approvalId);
    if (!rec) return err(new TermshareError(ErrorCodes.notFound, `no approval ${req.approvalId}; list pending ones with \`termshare approvals\``));
    const child = rec.ref?.getSnapshot().children.approval as AnyActorRef | undefined;
    if (!child || rec.approval?.outcome) return err(new TermshareError(ErrorCodes.conflict, `approval ${req.approvalId} is already ${this.view(rec).state}`));
    const c = rec.snapshot!.context;
    const allowed = await this.gate.decide({
      action: 'approval.decide',
      requester: req.approver,
      terminal: c.terminal,
      backend: c.backend,
      access: c.access,
      ttlSeconds: Math.round(c.ttlMs / 1000),
      ...(c.reason ? { reason: c.reason } : {}),
    });
    if (allowed.decision !== 'allow') {
      void this.effects.record(rec, { approvalEvent: 'decided', audit: 'approval.decide', outcome: 'unauthorized', actor: who(req.approver), data: { approvalId: req.approvalId, decision: req.decision, message: allowed.message } });
      return err(new TermshareError(ErrorCodes.unauthorized, `${who(req.approver)} may not decide approvals on ${c.terminal}: ${allowed.message}`));
    }
    const groups = await this.gate.groupsOf(req.approver);
    let answer: ApprovalEmitted | undefined;
    const sub = child.on('*', (e: ApprovalEmitted) => (answer ??= e));
    child.send({ type: 'DECIDE', approver: req.approver, groups, decision: req.decision, ...(req.comment ? { comment: req.comment } : {}), at: Date.now() });
    sub.unsubscribe();
    if (answer?.type === 'approval.refused') {
      void this.effects.record(rec, { approvalEvent: 'decided', audit: 'approval.decide', outcome: 'refused', actor: who(req.approver), data: { approvalId: req.approvalId, decision: req.decision, message: answer.reason } });
      return err(new TermshareError(ErrorCodes.unauthorized, answer.reason));
    }
    if (answer?.type === 'approval.decided') {
      await this.effects.record(rec, {
        approvalEvent: 'decided',
        audit: 'approval.decide',
        outcome: req.decision,
        actor: who(req.approver),
        data: { approvalId: req.approvalId, decision: req.decision, comment: req.comment ?? null, remaining: answer.remaining },
      });
    }
    return ok(this.view(rec));
  }

  view(rec: ShareRecord): Approval {
    const c = rec.snapshot!.context;
    const r = c.decision!.approval!;
    const child = (rec.ref?.getSnapshot().children.approval as AnyActorRef | undefined)?.getSnapshot();
    // A decision that ended the approval is in the child's output before the share has seen it.
    const ended = rec.approval!.outcome ?? (child?.status === 'done' ? (child.output as { outcome: ApprovalOutcome }).outcome : undefined);
    const live: ApprovalDecision[] | undefined = child?.context?.decisions;
    const decisions = rec.approval!.outcome ? rec.approval!.decisions : (live ?? rec.approval!.decisions);
    return {
      id: c.approvalId,
      state: ended ?? (child ? 'pending' : 'withdrawn'),
      shareId: rec.id,
      terminal: c.terminal,
      requester: rec.requester,
      requirement: { policy: r.policy, approvals: r.approvals, approvers: r.approvers, ordered: r.ordered, timeoutSeconds: r.timeoutMs / 1000 },
      decisions: decisions.map((d) => ({ approver: d.approver, decision: d.decision, ...(d.comment ? { comment: d.comment } : {}), at: iso(d.at) })),
      createdAt: iso(rec.approval!.createdAt),
      expiresAt: iso(rec.approval!.createdAt + r.timeoutMs),
      correlationId: rec.correlationId,
    };
  }
}
