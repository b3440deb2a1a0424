import { randomBytes, randomUUID } from 'node:crypto';
import type { AnyActorRef, SnapshotFrom } from 'xstate';
import type { Handoff, Requester, TerminalRef } from '../api/schemas.ts';
import type { ResolvedTerminal } from '../adapters/terminals/canonical.ts';
import type { TerminalContext, TerminalControl, TerminalScreen } from '../adapters/terminals/types.ts';
import { ErrorCodes, TermshareError, audited, err, ok, type Result } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ApprovalDecision, ApprovalOutcome } from '../machines/approval.ts';
import type { handoff, HandoffEmitted } from '../machines/handoff.ts';
import { approvalSourceOf, type ApprovalSource } from './approvals.ts';
import type { ShareEffects } from './effects.ts';
import type { LiveJournal } from './liveJournal.ts';
import { defaultRetention, pruneEnded, type Retention } from './retention.ts';
import type { Shares } from './shares.ts';

type HandoffSnapshot = SnapshotFrom<typeof handoff>;
type HandoffRecord = {
  entity: 'handoff';
  id: string;
  correlationId: string;
  createdAt: number;
  lastEventId?: string;
  ref?: AnyActorRef;
  snapshot?: HandoffSnapshot;
  approval?: { createdAt: number; outcome?: ApprovalOutcome; decisions: ApprovalDecision[] };
  /** Clients that attached after the transfer and were locked by the lease's watch. */
  lateLocked: string[];
  /** The request asked for a recording. */
  record?: boolean;
  /** When its actor reached a final state: from then on it is pruned after the retention window. */
  endedAt?: number;
};

const who = (r: Requester) => `${r.kind}:${r.id}`;
const same = (a: Requester, b: Requester) => a.kind === b.kind && a.id === b.id;
const SETTLED = ['held', 'awaitingApproval', 'denied', 'rejected', 'failed', 'withdrawn', 'closed', 'released'];
const STATE: Record<string, Handoff['state']> = {
  checkingPolicy: 'requested',
  awaitingApproval: 'awaiting-approval',
  transferring: 'transferring',
  held: 'held',
  releasing: 'releasing',
  released: 'released',
  denied: 'denied',
  rejected: 'rejected',
  failed: 'failed',
  withdrawn: 'withdrawn',
  closed: 'closed',
};

/** Handoffs of terminal input between a human and an AI agent, and the lease holder's terminal verbs. */
export class Handoffs {
  readonly records = new Map<string, HandoffRecord>();
  constructor(
    private readonly shares: Shares,
    private readonly control: TerminalControl,
    private readonly resolveTerminal: (t: TerminalRef) => Promise<Result<ResolvedTerminal>>,
    private readonly effects: ShareEffects,
    private readonly log: Logger,
    private readonly retention: Retention = defaultRetention(),
    private readonly journal?: LiveJournal,
  ) {}

  /** Told each input the lease holder sent (the recording's input events). */
  onInput?: (handoffId: string, input: { text?: string; keys?: string[] }) => void;

  /** Forgets ended handoffs (and their approvals) past the retention window, and the oldest beyond the cap. */
  prune(): number {
    return pruneEnded(this.records, (r) => r.endedAt, this.retention);
  }

  /** On disk while live: which clients a held lease locked, so a restart after a crash unlocks them. */
  private journalOf(rec: HandoffRecord): void {
    const s = rec.snapshot;
    if (!this.journal || !s) return;
    if (s.status !== 'active') {
      void this.journal.drop(rec.id);
      return;
    }
    const lockedClients = [...new Set([...s.context.lockedClients, ...rec.lateLocked])];
    void this.journal.note({ kind: 'handoff', id: rec.id, correlationId: rec.correlationId, terminal: s.context.terminal, ...(rec.lastEventId ? { lastEventId: rec.lastEventId } : {}), ...(lockedClients.length ? { lockedClients } : {}) });
  }

  async request(req: { terminal: TerminalRef; to: Requester; requester: Requester; reason?: string; correlationId?: string; record?: boolean }): Promise<Result<Handoff>> {
    if (same(req.to, req.requester)) return err(new TermshareError(ErrorCodes.invalidRequest, 'a handoff goes to someone else: `to` is the requester'));
    // One lease per session: the request names the session itself, not an alias (canonical.ts).
    const resolved = await this.resolveTerminal(req.terminal);
    if (!resolved.ok) return resolved;
    const id = `ho_${token()}`;
    const rec: HandoffRecord = { entity: 'handoff', id, correlationId: req.correlationId ?? randomUUID(), createdAt: Date.now(), lateLocked: [], ...(req.record ? { record: true } : {}) };
    const spawned = this.shares.spawnHandoff({
      handoffId: id,
      terminal: resolved.value.canonical,
      terminalId: resolved.value.id,
      from: req.requester,
      to: req.to,
      ...(req.reason ? { reason: req.reason } : {}),
      correlationId: rec.correlationId,
      approvalId: `ap_${token()}`,
    });
    if (!spawned.ok) return spawned;
    rec.ref = spawned.value;
    rec.snapshot = rec.ref.getSnapshot() as HandoffSnapshot;
    this.records.set(id, rec);
    const settled = new Promise<void>((resolve) => {
      rec.ref!.subscribe({
        next: (s) => {
          rec.snapshot = s as HandoffSnapshot;
          this.journalOf(rec);
          if (SETTLED.includes(String(s.value))) resolve();
          if (s.status === 'done' && rec.endedAt === undefined) {
            rec.ref = undefined;
            rec.endedAt = this.retention.now();
            this.prune();
          }
        },
        error: (e) => this.log.error({ handoffId: id, err: String(e) }, 'handoff actor error'),
      });
    });
    rec.ref.on('*', (e: HandoffEmitted) => void this.onEmitted(rec, e).catch((x) => this.log.error({ err: String(x) }, 'handoff effect failed')));
    void this.effects.record(rec, { event: 'requested', audit: 'handoff.request', outcome: 'requested', actor: who(req.requester), data: { to: who(req.to), reason: req.reason ?? null } });
    await settled;
    const view = this.view(rec, true);
    // Steps of the handoff's own chain (`handoff.deny`, `handoff.end`): already audited.
    if (view.state === 'denied') return audited(err(new TermshareError(ErrorCodes.policyDenied, rec.snapshot.context.decision?.message ?? 'denied by policy')));
    if (view.state === 'failed') return audited(err(new TermshareError(rec.snapshot.context.failure?.code ?? ErrorCodes.backendFailed, rec.snapshot.context.failure?.message ?? 'the handoff failed')));
    return ok(view);
  }

  get(handoffId: string): Result<Handoff> {
    const rec = this.records.get(handoffId);
    return rec ? ok(this.view(rec, true)) : err(notFound(handoffId));
  }

  /** The holder hands input back, or the one who handed it off takes it back. Replies once input is back. */
  async release(handoffId: string, requester: Requester): Promise<Result<Handoff>> {
    const rec = this.records.get(handoffId);
    if (!rec) return err(notFound(handoffId));
    const c = rec.snapshot!.context;
    if (!same(requester, c.to) && !same(requester, c.from)) return err(new TermshareError(ErrorCodes.unauthorized, `only ${who(c.from)} or ${who(c.to)} may release handoff ${handoffId}`));
    const state = this.view(rec, false).state;
    if (state === 'held') rec.ref!.send({ type: 'RELEASE', by: requester, at: Date.now() });
    else if (state === 'requested' || state === 'awaiting-approval') rec.ref!.send({ type: 'CANCEL', by: requester, at: Date.now() });
    else return err(new TermshareError(ErrorCodes.conflict, `handoff ${handoffId} is ${state}; nothing to release`));
    await new Promise<void>((resolve) => {
      if (rec.snapshot!.status === 'done') return resolve();
      const sub = rec.ref?.subscribe({ complete: () => resolve(), next: (s) => s.status === 'done' && resolve() });
      if (!sub) resolve();
    });
    return ok(this.view(rec, false));
  }

  /** The lease holder's verbs on the terminal: refused to anyone else, and outside a held lease. */
  private holder(terminal: TerminalRef, handoffId: string, requester: Requester): Result<HandoffRecord> {
    const rec = this.records.get(handoffId);
    if (!rec) return err(notFound(handoffId));
    const c = rec.snapshot!.context;
    if (c.terminal !== terminal) return err(new TermshareError(ErrorCodes.invalidRequest, `handoff ${handoffId} is for ${c.terminal}, not ${terminal}`));
    if (!same(requester, c.to)) return err(new TermshareError(ErrorCodes.unauthorized, `only the lease holder ${who(c.to)} may use ${terminal} through handoff ${handoffId}`));
    const state = this.view(rec, false).state;
    if (state !== 'held') return err(new TermshareError(ErrorCodes.unauthorized, `handoff ${handoffId} is ${state}: the lease is not held`));
    return ok(rec);
  }

  async context(req: { terminal: TerminalRef; handoffId: string; requester: Requester }): Promise<Result<{ context: TerminalContext }>> {
    const h = this.holder(req.terminal, req.handoffId, req.requester);
    if (!h.ok) return h;
    const context = await this.control.context(req.terminal);
    return context ? ok({ context }) : err(new TermshareError(ErrorCodes.terminalNotFound, `terminal ${req.terminal} is gone`));
  }

  async screen(req: { terminal: TerminalRef; handoffId: string; requester: Requester }): Promise<Result<TerminalScreen>> {
    const h = this.holder(req.terminal, req.handoffId, req.requester);
    if (!h.ok) return h;
    const screen = await this.control.screen(req.terminal);
    return screen ? ok(screen) : err(new TermshareError(ErrorCodes.terminalNotFound, `terminal ${req.terminal} is gone`));
  }

  async input(req: { terminal: TerminalRef; handoffId: string; requester: Requester; text?: string; keys?: string[] }): Promise<Result<{ ok: true }>> {
    const h = this.holder(req.terminal, req.handoffId, req.requester);
    if (!h.ok) return h;
    const sent = await this.control.sendInput(req.terminal, { ...(req.text !== undefined ? { text: req.text } : {}), ...(req.keys ? { keys: req.keys } : {}) });
    if (!sent) return err(new TermshareError(ErrorCodes.terminalNotFound, `${req.terminal} did not take the input; is it still there?`));
    // What was typed is not recorded (it may hold secrets); that it was, and how much, is.
    void this.effects.record(h.value, { audit: 'terminal.input', outcome: 'sent', actor: who(req.requester), data: { chars: req.text?.length ?? 0, keys: req.keys ?? [] } });
    this.onInput?.(req.handoffId, { ...(req.text !== undefined ? { text: req.text } : {}), ...(req.keys ? { keys: req.keys } : {}) });
    return ok({ ok: true });
  }

  /** Every approval a handoff of this service waited or waits for. */
  *approvalSources(): Iterable<ApprovalSource> {
    for (const rec of this.records.values()) {
      const c = rec.snapshot!.context;
      const src = approvalSourceOf(rec, {
        of: { handoffId: rec.id },
        query: { terminal: c.terminal, backend: 'upterm', access: 'read-write', ttlSeconds: 0, ...(c.reason ? { reason: c.reason } : {}) },
        requester: c.from,
        beneficiary: c.to,
      });
      if (src) yield src;
    }
  }

  /**
   * While a lease is held, a client attaching to its terminal (a read-write share's guest, the
   * operator re-attaching) is locked too, so the holder stays the only one typing; those clients
   * get input back when the lease ends. Called on the service's terminal watch.
   */
  async guardLeases(): Promise<void> {
    for (const rec of this.records.values()) {
      const s = rec.snapshot;
      if (!s || s.status !== 'active') continue;
      if (s.value !== 'held') continue;
      const locked = await this.control.lockClients(s.context.terminal);
      // The lease may have ended while locking: then these go straight back.
      if (rec.snapshot?.value === 'held') {
        rec.lateLocked.push(...locked);
        if (locked.length) this.journalOf(rec);
      }
      // (Always: unlocking also lifts the lease marker the lock just set.)
      else await this.control.unlockClients(s.context.terminal, locked);
    }
  }

  private async releaseLate(rec: HandoffRecord): Promise<void> {
    const late = rec.lateLocked.splice(0);
    if (late.length) await this.control.unlockClients(rec.snapshot!.context.terminal, late);
  }

  /** Fail safe (a partition): every live handoff ends as at a shutdown; a held lease gives input back. The ids ended. */
  endAll(): string[] {
    const live = [...this.records.values()].filter((r) => r.ref && r.snapshot?.status === 'active');
    for (const r of live) r.ref!.send({ type: 'SHUTDOWN', at: Date.now() });
    return live.map((r) => r.id);
  }

  liveTerminals(): Map<TerminalRef, string> {
    const live = [...this.records.values()].filter((r) => r.snapshot?.status === 'active');
    return new Map(live.map((r) => [r.snapshot!.context.terminal, r.snapshot!.context.terminalId]));
  }

  private async onEmitted(rec: HandoffRecord, e: HandoffEmitted): Promise<void> {
    const fx = this.effects;
    switch (e.type) {
      case 'handoff.denied':
        return fx.record(rec, { event: 'denied', audit: 'handoff.deny', outcome: 'denied', actor: 'policy', data: { policies: e.decision.policies, message: e.decision.message } });
      case 'handoff.awaiting-approval': {
        rec.approval = { createdAt: Date.now(), decisions: [] };
        const data = { approvalId: e.approvalId, approvers: e.requirement.approvers, approvals: e.requirement.approvals };
        await fx.record(rec, { event: 'awaiting-approval', outcome: 'pending', actor: 'policy', data });
        return fx.record(rec, { approvalEvent: 'requested', audit: 'approval.request', outcome: 'pending', actor: who(rec.snapshot!.context.from), data });
      }
      case 'handoff.approval-ended': {
        rec.approval = { createdAt: rec.approval?.createdAt ?? Date.now(), outcome: e.outcome, decisions: e.decisions };
        const audit = ({ approved: 'approval.approved', rejected: 'approval.rejected', 'timed-out': 'approval.timeout', withdrawn: 'approval.withdrawn' } as const)[e.outcome];
        const data = { approvalId: e.approvalId, decisions: e.decisions };
        await fx.record(rec, { approvalEvent: e.outcome, audit, outcome: e.outcome, actor: 'approval', data });
        return fx.record(rec, { event: e.outcome === 'approved' ? 'approved' : 'rejected', outcome: e.outcome, actor: 'approval', data });
      }
      case 'handoff.transferred': {
        // The audit keeps what the packet held, never the values.
        const c = e.context;
        // The packet itself goes to the lease holder alone (handoff.get, terminal.context), never on a broadcast.
        await fx.record(rec, { event: 'transferred', outcome: 'held', actor: 'termshare', data: { to: who(rec.snapshot!.context.to), contextVia: 'terminal.context' } });
        return fx.record(rec, { audit: 'handoff.transfer', outcome: 'held', actor: 'termshare', data: { to: who(rec.snapshot!.context.to), cwd: c.cwd, command: c.command, envNames: Object.keys(c.env).sort(), scrollbackLines: c.scrollback.length, lockedClients: e.lockedClients.length } });
      }
      case 'handoff.released':
        await this.releaseLate(rec);
        return fx.record(rec, { event: 'released', audit: 'handoff.release', outcome: 'released', actor: who(e.by), data: { backTo: who(rec.snapshot!.context.from) } });
      case 'handoff.ended':
        return fx.record(rec, { event: e.state, audit: 'handoff.end', outcome: e.state, actor: 'termshare', data: e.failure ? { error: e.failure } : {} });
    }
  }

  private view(rec: HandoffRecord, withContext: boolean): Handoff {
    const s = rec.snapshot!;
    const c = s.context;
    const state = STATE[String(s.value)] ?? 'requested';
    const asked = c.decision?.decision === 'approval';
    const failure = c.failure ?? (state === 'denied' && c.decision ? { code: 'policy_denied', message: c.decision.message } : undefined);
    return {
      id: rec.id,
      terminal: c.terminal,
      from: c.from,
      to: c.to,
      state,
      ...(asked ? { approvalId: c.approvalId } : {}),
      ...(withContext && state === 'held' && c.context ? { context: c.context } : {}),
      correlationId: rec.correlationId,
      createdAt: new Date(rec.createdAt).toISOString(),
      ...(c.reason ? { reason: c.reason } : {}),
      ...(failure ? { error: failure } : {}),
    };
  }
}

const token = () => randomBytes(9).toString('base64url').replace(/[-_]/g, 'x');
const notFound = (id: string) => new TermshareError(ErrorCodes.notFound, `no handoff ${id} on this service`);
