import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { AuditWriter } from '../adapters/audit/jetstream/auditWriter.ts';
import type { BadgeStore } from '../adapters/bus/nats/badges.ts';
import type { Badge, EventBody } from '../api/schemas.ts';
import type { ApprovalEventType, AuditAction, HandoffEventType, ShareEventType, Subjects } from '../api/subjects.ts';

/** A share or a handoff: what a step is recorded against (its causation chain lives on it). */
export type StepSubject = {
  entity?: 'share' | 'handoff';
  id: string;
  correlationId: string;
  lastEventId?: string;
  snapshot?: { context: { terminal: string; approvalId: string } };
};
import type { Logger } from '../log.ts';
import { contractState, LIVE_STATES, type ShareRecord } from './shareView.ts';

/**
 * Publishes what happened to a share: one event on the bus, one audit record, the badge kept
 * true. Every step of one share carries its correlation id and the id of the step before it.
 */
export class ShareEffects {
  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly audit: AuditWriter,
    private readonly badges: BadgeStore,
    private readonly log: Logger,
  ) {}

  /** Told each step that has an audit record, as it is recorded (session recordings mark them). */
  onStep?: (rec: StepSubject, step: { action: AuditAction; eventId: string; at: string; outcome: string }) => void;

  record(
    rec: StepSubject,
    step: {
      event?: ShareEventType | HandoffEventType;
      /** Published on the approval's subject instead of the share's. */
      approvalEvent?: ApprovalEventType;
      audit?: AuditAction;
      outcome: string;
      actor: string;
      data?: Record<string, unknown>;
    },
  ): Promise<void> {
    const c = rec.snapshot!.context;
    const eventId = randomUUID();
    const at = new Date().toISOString();
    const causationId = rec.lastEventId;
    rec.lastEventId = eventId;
    const data = step.data ?? {};
    const ids = rec.entity === 'handoff' ? { handoffId: rec.id } : { shareId: rec.id };
    const type = step.approvalEvent ?? step.event;
    if (type) {
      const body: EventBody = {
        type,
        eventId,
        at,
        correlationId: rec.correlationId,
        ...(causationId ? { causationId } : {}),
        actor: step.actor,
        ...ids,
        terminal: c.terminal,
        data,
      };
      const subject = step.approvalEvent
        ? this.subjects.approvalEvent(c.approvalId, step.approvalEvent)
        : rec.entity === 'handoff'
          ? this.subjects.handoffEvent(rec.id, step.event as HandoffEventType)
          : this.subjects.shareEvent(rec.id, step.event as ShareEventType);
      // A publish that cannot go (a closed connection) is logged; the audit record below still spools.
      try {
        this.nc.publish(subject, JSON.stringify(body));
      } catch (e) {
        this.log.error({ subject, err: (e as Error).message }, 'event not published');
      }
    }
    this.log.info({ ...ids, correlationId: rec.correlationId, event: step.event, audit: step.audit, outcome: step.outcome }, `${rec.entity ?? 'share'} step`);
    if (!step.audit) return Promise.resolve();
    this.onStep?.(rec, { action: step.audit, eventId, at, outcome: step.outcome });
    return this.audit.record({
      eventId,
      at,
      action: step.audit,
      actor: step.actor,
      correlationId: rec.correlationId,
      ...(causationId ? { causationId } : {}),
      ...ids,
      terminal: c.terminal,
      outcome: step.outcome,
      data,
    });
  }

  /**
   * A request refused at the door (an identity that does not match the credentials, or a verb
   * on a share or handoff the policy does not permit): one audit record, with the caller the
   * NATS server authenticated as the actor. Outside any share's causation chain.
   */
  refused(r: { verb: string; actor: string; code: string; message: string; correlationId?: string; shareId?: string; handoffId?: string; terminal?: string }): Promise<void> {
    this.log.info({ verb: r.verb, actor: r.actor, code: r.code, correlationId: r.correlationId, shareId: r.shareId }, `refused: ${r.message}`);
    return this.audit.record({
      eventId: randomUUID(),
      at: new Date().toISOString(),
      action: 'request.refused',
      actor: r.actor,
      correlationId: r.correlationId ?? randomUUID(),
      ...(r.shareId ? { shareId: r.shareId } : {}),
      ...(r.handoffId ? { handoffId: r.handoffId } : {}),
      ...(r.terminal ? { terminal: r.terminal } : {}),
      outcome: r.code,
      data: { verb: r.verb, message: r.message },
    });
  }

  private badgeChains = new Map<string, Promise<void>>();
  /** What each terminal's badge was last written as ('' when cleared): a write that changes nothing is skipped. */
  private written = new Map<string, string>();
  private retries = new Map<string, { attempt: number; timer: NodeJS.Timeout }>();
  private closed = false;

  /** Makes a terminal's badge true to the shares live on it (or deletes it), one write at a time per terminal. */
  refreshBadge(terminal: string, records: () => Iterable<ShareRecord>): Promise<void> {
    const next = (this.badgeChains.get(terminal) ?? Promise.resolve()).then(() => this.writeBadge(terminal, records));
    this.badgeChains.set(terminal, next);
    return next;
  }

  /** Waits (bounded) for every badge write in flight; retries still pending are abandoned after it. */
  async settleBadges(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.badgeChains.values()), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.closed = true;
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
  }

  private async writeBadge(terminal: string, records: () => Iterable<ShareRecord>): Promise<void> {
    const badge = badgeOf(terminal, records());
    const value = badge ? JSON.stringify(badge) : '';
    if (this.written.get(terminal) === value) return;
    try {
      if (badge) await this.badges.put(badge);
      else await this.badges.clear(terminal);
      this.written.set(terminal, value);
      const pending = this.retries.get(terminal);
      if (pending) clearTimeout(pending.timer);
      this.retries.delete(terminal);
    } catch (e) {
      // NATS away (or the bucket): try again with backoff until it lands; each try writes what is true then.
      const attempt = (this.retries.get(terminal)?.attempt ?? 0) + 1;
      const delay = Math.min(250 * 2 ** (attempt - 1), 5000);
      this.log.warn({ terminal, attempt, retryInMs: delay, err: (e as Error).message }, 'badge not written; will retry');
      if (this.closed) return;
      const timer = setTimeout(() => void this.refreshBadge(terminal, records), delay);
      timer.unref();
      this.retries.set(terminal, { attempt, timer });
    }
  }
}

/** The badge of a terminal from the shares live on it, or undefined when none is. */
function badgeOf(terminal: string, records: Iterable<ShareRecord>): Badge | undefined {
  const shares: Badge['shares'] = [];
  for (const r of records) {
    const snap = r.snapshot;
    if (!snap || snap.context.terminal !== terminal) continue;
    const state = contractState(snap);
    if (!LIVE_STATES.has(state)) continue;
    shares.push({
      shareId: r.id,
      backend: snap.context.backend,
      access: snap.context.access,
      state,
      ...(snap.context.expiresAt ? { expiresAt: new Date(snap.context.expiresAt).toISOString() } : {}),
      participants: snap.context.participants.length,
    });
  }
  if (shares.length === 0) return undefined;
  const expiring = shares.some((s) => s.state === 'expiring');
  const rw = shares.some((s) => s.access === 'read-write');
  return { terminal, badge: `${expiring ? 'expiring' : 'shared'}${rw ? ' rw' : ' ro'} ×${shares.length}`, shares };
}
