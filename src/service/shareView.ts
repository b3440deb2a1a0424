import type { AnyActorRef, SnapshotFrom } from 'xstate';
import type { Requester, Share, ShareState } from '../api/schemas.ts';
import { linkHash } from '../log.ts';
import type { ApprovalDecision, ApprovalOutcome } from '../machines/approval.ts';
import type { EndReason, shareSession } from '../machines/shareSession.ts';

export type SessionSnapshot = SnapshotFrom<typeof shareSession>;

/** What the service remembers of a share beyond its machine: identity, timestamps, causation. */
export type ShareRecord = {
  id: string;
  createdAt: number;
  correlationId: string;
  requester: Requester;
  ref?: AnyActorRef;
  /** The last snapshot seen; kept after the actor is gone so `get` still answers. */
  snapshot?: SessionSnapshot;
  lastEventId?: string;
  endedAt?: number;
  /** The approval this share waited for, if a policy asked for one. */
  approval?: { createdAt: number; outcome?: ApprovalOutcome; decisions: ApprovalDecision[] };
  /** Who ended it and why, as told by the request that ended it. */
  endingBy?: string;
  endingReason?: string;
  /** The request asked for a recording. */
  record?: boolean;
};

const endStates: Record<EndReason, ShareState> = {
  stopped: 'stopped',
  revoked: 'revoked',
  expired: 'expired',
  'terminal-closed': 'stopped',
  failed: 'failed',
};

export const LIVE_STATES: ReadonlySet<ShareState> = new Set(['awaiting-approval', 'starting', 'active', 'expiring']);

/** Maps the machine's state to the contract's share states. */
export function contractState(snap: SessionSnapshot): ShareState {
  if (snap.status === 'done') {
    if (snap.matches('denied')) return 'denied';
    if (snap.matches('revoked')) return 'revoked';
    if (snap.matches('expired')) return 'expired';
    if (snap.matches('failed')) return 'failed';
    return 'stopped';
  }
  if (snap.context.endReason) return endStates[snap.context.endReason];
  if (snap.matches('awaitingApproval')) return 'awaiting-approval';
  if (snap.matches({ live: { lifetime: 'active' } })) return 'active';
  if (snap.matches({ live: { lifetime: 'expiring' } })) return 'expiring';
  return 'starting';
}

export function shareView(rec: ShareRecord, opts: { withLink: boolean }): Share {
  const snap = rec.snapshot!;
  const c = snap.context;
  const state = contractState(snap);
  const live = LIVE_STATES.has(state);
  return {
    id: rec.id,
    terminal: c.terminal,
    backend: c.backend,
    access: c.access,
    state,
    ...(c.link && live && opts.withLink ? { link: c.link } : {}),
    ...(c.link ? { linkHash: linkHash(c.link.ssh) } : {}),
    createdAt: new Date(rec.createdAt).toISOString(),
    ...(c.expiresAt ? { expiresAt: new Date(c.expiresAt).toISOString() } : {}),
    participants: live ? c.participants.length : 0,
    correlationId: rec.correlationId,
    ...(rec.approval ? { approvalId: c.approvalId } : {}),
    requester: rec.requester,
    ...(c.endReason ? { endReason: c.endReason } : {}),
    ...(c.failure ? { error: c.failure } : {}),
    ...(state === 'denied' && c.decision && !c.failure ? { error: { code: 'policy_denied', message: c.decision.message } } : {}),
  };
}
