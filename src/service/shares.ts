import { randomBytes, randomUUID } from 'node:crypto';
import { createActor, fromPromise, waitFor, type Actor, type AnyActorRef, type InspectionEvent } from 'xstate';
import type { TerminalControl } from '../adapters/terminals/types.ts';
import { handoff, type HandoffInput } from '../machines/handoff.ts';
import type { Backend, Share, TerminalRef } from '../api/schemas.ts';
import type { ShareBackendAdapter } from '../adapters/backends/types.ts';
import type { PolicyGate } from '../adapters/policy/types.ts';
import type { TerminalAdapter } from '../adapters/terminals/types.ts';
import { backendProcess } from '../actors/backendProcess.ts';
import type { Config } from '../config.ts';
import { ErrorCodes, TermshareError, audited, err, ok, type Result } from '../errors.ts';
import type { Logger } from '../log.ts';
import { linkHash } from '../log.ts';
import { defaultRestartPolicy, defaultWorkerTimings, type RestartPolicy, type WorkerTimings } from '../machines/restartPolicy.ts';
import { shareSession, type ShareSessionEmitted } from '../machines/shareSession.ts';
import { shareWorker } from '../machines/shareWorker.ts';
import { slotFree, supervisor, type SupervisorEmitted } from '../machines/supervisor.ts';
import { approvalSourceOf, type ApprovalSource } from './approvals.ts';
import type { ShareEffects } from './effects.ts';
import type { LiveJournal } from './liveJournal.ts';
import { defaultRetention, pruneEnded } from './retention.ts';
import { contractState, LIVE_STATES, shareView, type SessionSnapshot, type ShareRecord } from './shareView.ts';

export type SharesDeps = {
  config: Pick<Config, 'defaultTtlMs' | 'graceMs' | 'maxSharesPerTerminal' | 'linkTimeoutMs'> & Partial<Pick<Config, 'endedRetentionMs'>>;
  /** A clock for pruning ended records (tests). */
  now?: () => number;
  terminals: TerminalAdapter;
  backends: Partial<Record<'upterm' | 'tmate', ShareBackendAdapter>>;
  gate: PolicyGate;
  effects: ShareEffects;
  log: Logger;
  restartPolicy?: RestartPolicy;
  workerTimings?: Partial<WorkerTimings>;
  heartbeatIntervalMs?: number;
  /** Development inspector: sees every actor's transitions. */
  inspect?: (ev: InspectionEvent) => void;
  onProcess?: (shareId: string, pid: number | undefined, alive: boolean) => void;
  /** Input control of terminals, for handoffs; without it a handoff's transfer fails. */
  control?: TerminalControl;
  /** Keeps what is live on disk, so a restart after a crash can end it properly. */
  journal?: LiveJournal;
};

type StartRequest = {
  terminal: TerminalRef;
  backend: 'upterm' | 'tmate';
  ttlSeconds?: number;
  access?: 'read-only' | 'read-write';
  requester: { kind: 'human' | 'ai'; id: string };
  reason?: string;
  correlationId?: string;
  /** Record the share (asciicast, see src/recording). */
  record?: boolean;
};

const who = (r: { kind: string; id: string }) => `${r.kind}:${r.id}`;

/** The share side of the service: owns the supervisor actor and turns requests into its events. */
export class Shares {
  readonly records = new Map<string, ShareRecord>();
  private readonly supervisor: Actor<typeof supervisor>;
  private readonly waiters = new Map<string, Set<(s: SessionSnapshot) => void>>();
  private lastRejection?: Extract<SupervisorEmitted, { type: 'share.rejected' }>;
  private lastHandoffRejection?: Extract<SupervisorEmitted, { type: 'handoff.rejected' }>;

  constructor(private readonly deps: SharesDeps) {
    const timings = { ...defaultWorkerTimings, linkTimeoutMs: deps.config.linkTimeoutMs + 2000, ...deps.workerTimings };
    const backend = backendProcess({
      backends: deps.backends,
      terminals: deps.terminals,
      linkTimeoutMs: deps.config.linkTimeoutMs,
      heartbeatIntervalMs: deps.heartbeatIntervalMs ?? 1000,
      now: Date.now,
      onProcess: deps.onProcess,
    });
    const session = shareSession.provide({
      actors: {
        policy: fromPromise(({ input }) => deps.gate.decide(input)),
        worker: shareWorker.provide({ actors: { backend } }),
      },
    });
    const control = deps.control;
    const lease = handoff.provide({
      actors: {
        policy: fromPromise(({ input }) => deps.gate.decide(input)),
        transfer: fromPromise(async ({ input }) => {
          if (!control) throw new Error('this service has no terminal control');
          const context = await control.context(input.terminal);
          if (!context) throw new Error(`${input.terminal} is gone`);
          return { lockedClients: await control.lockClients(input.terminal), context };
        }),
        restore: fromPromise(async ({ input }) => {
          if (!control) return;
          await control.unlockClients(input.terminal, input.lockedClients);
          await control.notifyAll(input.terminal, `termshare: input is back with you (lease released by ${input.by.kind}:${input.by.id})`);
        }),
      },
    });
    this.supervisor = createActor(supervisor.provide({ actors: { shareSession: session, handoff: lease } }), {
      id: 'supervisor',
      input: { maxSharesPerTerminal: deps.config.maxSharesPerTerminal },
      ...(deps.inspect ? { inspect: deps.inspect } : {}),
    });
    this.workerTimings = timings;
    this.supervisor.on('share.rejected', (e) => (this.lastRejection = e));
    this.supervisor.on('handoff.rejected', (e) => (this.lastHandoffRejection = e));
    this.supervisor.on('share.crashed', (e) => deps.log.error({ shareId: e.shareId, err: String(e.error) }, 'share actor crashed'));
    this.supervisor.subscribe({ error: (e) => deps.log.fatal({ err: String(e) }, 'supervisor failed') });
    this.supervisor.start();
  }
  private readonly workerTimings: WorkerTimings;

  async start(req: StartRequest): Promise<Result<Share>> {
    // The policy, the limit, the badge and the lease see the one session meant, never an alias of it.
    const resolved = await this.deps.terminals.resolve(req.terminal);
    if (!resolved.ok) return resolved;
    const { canonical: terminal, id: terminalId } = resolved.value;
    if (!this.deps.backends[req.backend]) {
      return err(new TermshareError(ErrorCodes.backendUnavailable, `the ${req.backend} backend is not available on this service yet; use backend "upterm"`));
    }
    const id = `sh_${token()}`;
    const correlationId = req.correlationId ?? randomUUID();
    const rec: ShareRecord = { id, createdAt: Date.now(), correlationId, requester: req.requester, ...(req.record ? { record: true } : {}) };
    this.lastRejection = undefined;
    this.supervisor.send({
      type: 'SHARE.START',
      session: {
        shareId: id,
        terminal,
        terminalId,
        backend: req.backend,
        access: req.access ?? 'read-only',
        requester: req.requester,
        ...(req.reason ? { reason: req.reason } : {}),
        ttlMs: (req.ttlSeconds ?? this.deps.config.defaultTtlMs / 1000) * 1000,
        graceMs: this.deps.config.graceMs,
        correlationId,
        approvalId: `ap_${token()}`,
        restartPolicy: this.deps.restartPolicy ?? defaultRestartPolicy,
        workerTimings: this.workerTimings,
      },
    });
    const rejected = this.lastRejection as SupervisorEmitted | undefined;
    if (rejected?.type === 'share.rejected' && rejected.shareId === id) return err(new TermshareError(rejected.code, rejected.message));
    const ref = this.supervisor.getSnapshot().children[id] as ShareRecord['ref'];
    if (!ref) return err(new TermshareError(ErrorCodes.backendFailed, 'the share actor did not start; see the service log'));
    rec.ref = ref;
    rec.snapshot = ref.getSnapshot() as SessionSnapshot;
    this.records.set(id, rec);
    this.observe(rec);
    void this.deps.effects.record(rec, { event: 'requested', audit: 'request', outcome: 'requested', actor: who(req.requester), data: { backend: req.backend, access: rec.snapshot.context.access, ttlSeconds: rec.snapshot.context.ttlMs / 1000, reason: req.reason ?? null } });

    const settled = await this.until(id, (s) => s.status === 'done' || contractState(s) !== 'starting');
    const view = shareView(rec, { withLink: true });
    // From here on, a failure is a step of the share's own chain (`deny`, `fail`): already audited.
    if (view.state === 'denied' && settled.context.failure) return audited(err(new TermshareError(settled.context.failure.code, settled.context.failure.message)));
    if (view.state === 'denied') return audited(err(new TermshareError(ErrorCodes.policyDenied, settled.context.decision?.message ?? 'denied by policy', { policies: settled.context.decision?.policies ?? [] })));
    if (view.state === 'failed') return audited(err(new TermshareError(settled.context.failure?.code ?? ErrorCodes.backendFailed, settled.context.failure?.message ?? 'the share failed')));
    return ok(view);
  }

  async end(kind: 'STOP' | 'REVOKE', shareId: string, requester: { kind: string; id: string }, reason?: string): Promise<Result<Share>> {
    const rec = this.records.get(shareId);
    if (!rec) return err(notFound(shareId));
    const state = contractState(rec.snapshot!);
    if (!LIVE_STATES.has(state) || !rec.ref) return err(new TermshareError(ErrorCodes.conflict, `share ${shareId} has already ended (${state}); nothing to ${kind === 'STOP' ? 'stop' : 'revoke'}`));
    rec.ref.send({ type: kind, at: Date.now(), by: who(requester), reason });
    // The reply waits for the backend to be gone; it says so when not every participant could be confirmed disconnected.
    const done = await this.until(shareId, (s) => s.status === 'done');
    const view = shareView(rec, { withLink: false });
    const unconfirmed = done.context.endUnconfirmed;
    if (unconfirmed) {
      // The end's own record carries `unconfirmed`.
      return audited(err(new TermshareError(ErrorCodes.backendFailed, `share ${shareId} is ${view.state} and its backend is gone, but not every participant could be confirmed disconnected: ${unconfirmed}`, { share: view, unconfirmed })));
    }
    return ok(view);
  }

  /** An extension goes back through the gate (action `share.extend`), so a policy's TTL cap cannot be stepped around. */
  async extend(shareId: string, ttlSeconds: number, requester: { kind: 'human' | 'ai'; id: string }): Promise<Result<Share>> {
    const rec = this.records.get(shareId);
    if (!rec) return err(notFound(shareId));
    const conflict = () => {
      const state = contractState(rec.snapshot!);
      return state === 'active' || state === 'expiring'
        ? undefined
        : new TermshareError(ErrorCodes.conflict, `share ${shareId} is ${state}; only an active or expiring share can be extended${state === 'starting' ? ' (wait for its link)' : ''}`);
    };
    const before = conflict();
    if (before) return err(before);
    const c = rec.snapshot!.context;
    const decision = await this.deps.gate.decide({ action: 'share.extend', requester, terminal: c.terminal, backend: c.backend, access: c.access, ttlSeconds, owner: rec.requester });
    if (decision.decision !== 'allow') {
      void this.deps.effects.record(rec, { audit: 'extend', outcome: 'denied', actor: who(requester), data: { ttlSeconds, policies: decision.policies, message: decision.message } });
      return audited(err(new TermshareError(ErrorCodes.policyDenied, decision.message, { policies: decision.policies })));
    }
    const after = conflict(); // the share may have ended while the gate decided
    if (after) return err(after);
    rec.ref!.send({ type: 'EXTEND', at: Date.now(), ttlMs: ttlSeconds * 1000, by: who(requester) });
    return ok(shareView(rec, { withLink: true }));
  }

  /**
   * Moves an active share to another backend, make before break: the new link is in hand before
   * the old backend ends; when the new one fails, the old one keeps going and the reply says why.
   * The share id, expiry and correlation id stay; no extra slot of the per-terminal limit is used.
   */
  async switch(shareId: string, backend: Backend, requester: { kind: 'human' | 'ai'; id: string }): Promise<Result<Share>> {
    const rec = this.records.get(shareId);
    if (!rec) return err(notFound(shareId));
    const c = rec.snapshot!.context;
    const state = contractState(rec.snapshot!);
    if (state !== 'active' && state !== 'expiring') return err(new TermshareError(ErrorCodes.conflict, `share ${shareId} is ${state}; only an active share can switch backend`));
    if (c.backend === backend) return err(new TermshareError(ErrorCodes.conflict, `share ${shareId} already uses ${backend}`));
    if (c.switchingTo) return err(new TermshareError(ErrorCodes.conflict, `share ${shareId} is already switching to ${c.switchingTo}; wait for that to finish`));
    if (!this.deps.backends[backend]) return err(new TermshareError(ErrorCodes.backendUnavailable, `the ${backend} backend is not available on this service`));
    const expiresInS = Math.max(1, Math.round(((c.expiresAt ?? Date.now()) - Date.now()) / 1000));
    const decision = await this.deps.gate.decide({ action: 'share.switch', requester, terminal: c.terminal, backend, access: c.access, ttlSeconds: expiresInS, owner: rec.requester });
    if (decision.decision !== 'allow') {
      void this.deps.effects.record(rec, { audit: 'switch', outcome: 'denied', actor: who(requester), data: { from: c.backend, to: backend, policies: decision.policies, message: decision.message } });
      return audited(err(new TermshareError(ErrorCodes.policyDenied, decision.message, { policies: decision.policies })));
    }
    const ref = rec.ref!;
    const outcome = new Promise<ShareSessionEmitted | undefined>((resolve) => {
      const subs = [
        ref.on('share.switched', (e: ShareSessionEmitted) => done(e)),
        ref.on('share.switch-failed', (e: ShareSessionEmitted) => done(e)),
      ];
      const done = (e: ShareSessionEmitted | undefined) => {
        subs.forEach((s) => s.unsubscribe());
        resolve(e);
      };
      void this.until(shareId, (s) => s.status === 'done').then(() => done(undefined));
    });
    ref.send({ type: 'SWITCH', at: Date.now(), backend, by: who(requester) });
    if (rec.snapshot!.context.switchingTo !== backend) return err(new TermshareError(ErrorCodes.conflict, `share ${shareId} cannot switch now (${contractState(rec.snapshot!)})`));
    const result = await outcome;
    if (result?.type === 'share.switch-failed') {
      return audited(err(new TermshareError(result.failure.code, `switch to ${backend} failed, the share goes on with ${rec.snapshot!.context.backend}: ${result.failure.message}`)));
    }
    if (!result) {
      // Aborted by the share's end (a revoke, a stop, an expiry): a step of its chain, after the end's record.
      const ended = contractState(rec.snapshot!);
      await this.deps.effects.record(rec, { audit: 'switch', outcome: 'aborted', actor: who(requester), data: { from: c.backend, to: backend, endedAs: ended } });
      return audited(err(new TermshareError(ErrorCodes.conflict, `share ${shareId} ended during the switch (${ended})`)));
    }
    return ok(shareView(rec, { withLink: true }));
  }

  /** Every approval a share of this service waited or waits for. */
  *approvalSources(): Iterable<ApprovalSource> {
    for (const rec of this.records.values()) {
      const c = rec.snapshot!.context;
      const src = approvalSourceOf(rec, {
        of: { shareId: rec.id },
        query: { terminal: c.terminal, backend: c.backend, access: c.access, ttlSeconds: Math.round(c.ttlMs / 1000), ...(c.reason ? { reason: c.reason } : {}) },
        requester: rec.requester,
      });
      if (src) yield { ...src, blocked: () => this.fullMessage(c.terminal, c.terminalId, src.approvalId, src.createdAt + src.requirement.timeoutMs) };
    }
  }

  /**
   * A share waiting for approval holds none of its terminal's slots; its grant takes one, and is
   * refused (the request staying pending) while the terminal is full. Undefined when a slot is free.
   */
  private fullMessage(terminal: string, terminalId: string, approvalId: string, expiresAt: number): string | undefined {
    const context = this.supervisor.getSnapshot().context;
    if (slotFree(context, terminalId)) return undefined;
    return `${terminal} already has ${context.maxSharesPerTerminal} active share(s), the most allowed (TERMSHARE_MAX_SHARES_PER_TERMINAL): stop or revoke one, then approve again; approval ${approvalId} stays pending until ${iso(expiresAt)}`;
  }

  get(shareId: string): Result<Share> {
    const rec = this.records.get(shareId);
    return rec ? ok(shareView(rec, { withLink: true })) : err(notFound(shareId));
  }

  list(terminal?: string): Share[] {
    return [...this.records.values()].filter((r) => !terminal || r.snapshot!.context.terminal === terminal).map((r) => shareView(r, { withLink: true }));
  }

  /** The terminals of live shares, with the session id each was resolved to. */
  liveTerminals(): Map<TerminalRef, string> {
    const live = [...this.records.values()].filter((r) => LIVE_STATES.has(contractState(r.snapshot!)));
    return new Map(live.map((r) => [r.snapshot!.context.terminal, r.snapshot!.context.terminalId]));
  }

  /** Spawns a handoff actor under the supervisor (one lease per terminal). */
  spawnHandoff(input: HandoffInput): Result<AnyActorRef> {
    this.lastHandoffRejection = undefined;
    this.supervisor.send({ type: 'HANDOFF.START', handoff: input });
    const rejected = this.lastHandoffRejection as SupervisorEmitted | undefined;
    if (rejected?.type === 'handoff.rejected' && rejected.handoffId === input.handoffId) return err(new TermshareError(rejected.code, rejected.message));
    const ref = this.supervisor.getSnapshot().children[input.handoffId] as AnyActorRef | undefined;
    return ref ? ok(ref) : err(new TermshareError(ErrorCodes.conflict, 'the handoff did not start (the service may be shutting down)'));
  }

  terminalClosed(terminal: TerminalRef): void {
    this.supervisor.send({ type: 'TERMINAL.CLOSED', terminal, at: Date.now() });
  }

  /**
   * Fail safe (a partition): revokes every live share as the service, with `reason`, the orderly
   * way (guests detached, backend ended); the end records spool while NATS is away. The ids revoked.
   */
  revokeAll(reason: string): string[] {
    const live = [...this.records.values()].filter((r) => r.ref && LIVE_STATES.has(contractState(r.snapshot!)));
    for (const r of live) r.ref!.send({ type: 'REVOKE', at: Date.now(), by: 'service', reason });
    return live.map((r) => r.id);
  }

  /** Ends every share (participants disconnected, audit written) and resolves when all are final. */
  async shutdown(): Promise<void> {
    const live = [...this.records.values()].filter((r) => r.ref && r.snapshot!.status !== 'done');
    this.supervisor.send({ type: 'SHUTDOWN', at: Date.now() });
    await Promise.all(live.map((r) => this.until(r.id, (s) => s.status === 'done')));
    // Handoffs give input back too; bounded, so a wedged terminal cannot hold the service up.
    await waitFor(this.supervisor, (s) => s.status === 'done', { timeout: 10_000 }).catch(() => undefined);
    this.supervisor.stop();
  }

  private until(id: string, pred: (s: SessionSnapshot) => boolean): Promise<SessionSnapshot> {
    const rec = this.records.get(id)!;
    if (pred(rec.snapshot!)) return Promise.resolve(rec.snapshot!);
    return new Promise((resolve) => {
      const set = this.waiters.get(id) ?? new Set();
      const w = (s: SessionSnapshot) => {
        if (!pred(s)) return;
        set.delete(w);
        resolve(s);
      };
      set.add(w);
      this.waiters.set(id, set);
    });
  }

  private observe(rec: ShareRecord): void {
    const ref = rec.ref!;
    const log = this.deps.log.child({ actor: 'shareSession', shareId: rec.id, correlationId: rec.correlationId });
    const fx = this.deps.effects;
    const terminal = rec.snapshot!.context.terminal;
    const badge = () => fx.refreshBadge(terminal, () => this.records.values());
    ref.on('*', (e: ShareSessionEmitted) => void this.onEmitted(rec, e).catch((x) => log.error({ err: String(x) }, 'effect failed')));
    ref.subscribe({
      next: (s) => {
        const before = rec.snapshot ? contractState(rec.snapshot) : undefined;
        rec.snapshot = s as SessionSnapshot;
        const after = contractState(rec.snapshot);
        if (before !== after) {
          void badge();
          const journal = this.deps.journal;
          if (LIVE_STATES.has(after)) void journal?.note({ kind: 'share', id: rec.id, correlationId: rec.correlationId, terminal, ...(rec.lastEventId ? { lastEventId: rec.lastEventId } : {}) });
          else void journal?.drop(rec.id);
        }
        if (rec.snapshot.status === 'done' && !rec.endedAt) this.onEnded(rec, log);
        for (const w of [...(this.waiters.get(rec.id) ?? [])]) w(rec.snapshot);
      },
      error: (e) => log.error({ err: String(e) }, 'share actor error'),
    });
  }

  private async onEmitted(rec: ShareRecord, e: ShareSessionEmitted): Promise<void> {
    const fx = this.deps.effects;
    const c = rec.snapshot!.context;
    switch (e.type) {
      case 'share.denied':
        return fx.record(rec, { event: 'denied', audit: 'deny', outcome: 'denied', actor: 'policy', data: { policies: e.decision.policies, message: e.decision.message } });
      case 'share.active':
        return fx.record(rec, { event: 'active', audit: 'start', outcome: 'active', actor: who(rec.requester), data: { linkHash: linkHash(e.link.ssh), expiresAt: iso(e.expiresAt), backend: c.backend, access: c.access } });
      case 'share.relinked':
        if (e.cause === 'reconnect') return fx.record(rec, { event: 'relinked', audit: 'backend.relink', outcome: 'relinked', actor: 'supervisor', data: { linkHash: linkHash(e.link.ssh), cause: 'the backend reconnected to its relay' } });
        return fx.record(rec, { event: 'worker-restarted', audit: 'worker.restart', outcome: 'restarted', actor: 'supervisor', data: { linkHash: linkHash(e.link.ssh) } });
      case 'share.expiring': {
        const clients = (await this.deps.terminals.clients(c.terminal, rec.id)).filter((x) => x.role === 'guest');
        const secs = Math.max(0, Math.round((e.expiresAt - Date.now()) / 1000));
        await this.deps.terminals.notify(c.terminal, clients, `termshare: this share expires in ${secs} s unless the operator extends it`);
        return fx.record(rec, { event: 'expiring', audit: 'expiring', outcome: 'warned', actor: 'termshare', data: { expiresAt: iso(e.expiresAt), participantsWarned: clients.length } });
      }
      case 'share.extended':
        return fx.record(rec, { event: 'extended', audit: 'extend', outcome: 'extended', actor: e.by, data: { expiresAt: iso(e.expiresAt) } });
      case 'share.participants':
        for (const p of e.joined) await fx.record(rec, { event: 'participant-joined', audit: 'participant.join', outcome: 'joined', actor: `participant:${p}`, data: { participant: p, participants: e.participants.length } });
        for (const p of e.left) await fx.record(rec, { event: 'participant-left', audit: 'participant.leave', outcome: 'left', actor: `participant:${p}`, data: { participant: p, participants: e.participants.length } });
        // Every heartbeat reports the participants; the badge (a walk of all shares) only when they changed.
        if (e.joined.length === 0 && e.left.length === 0) return;
        return fx.refreshBadge(c.terminal, () => this.records.values());
      case 'worker.crashed':
        return fx.record(rec, { audit: 'worker.crash', outcome: e.willRestart ? 'restarting' : 'giving-up', actor: 'supervisor', data: { ...e.failure } });
      case 'share.switched':
        await fx.record(rec, { event: 'switched', audit: 'switch', outcome: 'switched', actor: e.by, data: { from: e.from, to: e.to, linkHash: linkHash(e.link.ssh) } });
        return fx.refreshBadge(c.terminal, () => this.records.values());
      case 'share.switch-failed':
        return fx.record(rec, { event: 'switch-failed', audit: 'switch', outcome: 'failed', actor: 'supervisor', data: { to: e.backend, error: e.failure } });
      case 'share.awaiting-approval': {
        // Waiting for approval gives the terminal's slot back until the grant.
        this.supervisor.send({ type: 'SHARE.PENDING', shareId: rec.id });
        rec.approval = { createdAt: Date.now(), decisions: [] };
        const r = e.requirement;
        const data = { approvalId: e.approvalId, policy: r.policy, approvals: r.approvals, approvers: r.approvers, ordered: r.ordered, timeoutSeconds: r.timeoutMs / 1000 };
        await fx.record(rec, { event: 'awaiting-approval', outcome: 'pending', actor: 'policy', data });
        return fx.record(rec, { approvalEvent: 'requested', audit: 'approval.request', outcome: 'pending', actor: who(rec.requester), data });
      }
      case 'share.approval-ended': {
        if (e.outcome === 'approved') this.supervisor.send({ type: 'SHARE.GRANTED', shareId: rec.id });
        rec.approval = { ...(rec.approval ?? { createdAt: Date.now() }), outcome: e.outcome, decisions: e.decisions };
        const type = ({ approved: 'approved', rejected: 'rejected', 'timed-out': 'timed-out', withdrawn: 'withdrawn' } as const)[e.outcome];
        const audit = ({ approved: 'approval.approved', rejected: 'approval.rejected', 'timed-out': 'approval.timeout', withdrawn: 'approval.withdrawn' } as const)[e.outcome];
        const data = { approvalId: e.approvalId, decisions: e.decisions.map((d) => ({ ...d, at: iso(d.at) })) };
        await fx.record(rec, { approvalEvent: type, audit, outcome: e.outcome, actor: 'approval', data });
        if (e.outcome === 'approved') return fx.record(rec, { event: 'approved', outcome: 'approved', actor: 'approval', data });
        if (e.outcome !== 'withdrawn') return fx.record(rec, { event: 'denied', audit: 'deny', outcome: e.outcome, actor: 'approval', data });
        return;
      }
      case 'share.ending':
        rec.endingBy = e.by;
        rec.endingReason = e.reason;
        return;
    }
  }

  private onEnded(rec: ShareRecord, log: Logger): void {
    rec.endedAt = (this.deps.now ?? Date.now)();
    const s = rec.snapshot!;
    const state = contractState(s);
    const actor = rec.endingBy ?? (state === 'expired' ? 'termshare' : 'supervisor');
    const data = {
      endReason: s.context.endReason ?? state,
      ...(rec.endingReason ? { reason: rec.endingReason } : {}),
      ...(s.context.failure ? { error: s.context.failure } : {}),
      ...(s.context.endUnconfirmed ? { unconfirmed: s.context.endUnconfirmed } : {}),
    };
    const steps = {
      stopped: { event: 'stopped', audit: s.context.endReason === 'terminal-closed' ? 'terminal.closed' : 'stop' },
      revoked: { event: 'revoked', audit: 'revoke' },
      expired: { event: 'expired', audit: 'expire' },
      failed: { event: 'failed', audit: 'fail' },
    } as const;
    if (rec.approval && !rec.approval.outcome) {
      // Ended while awaiting its decision: the approval is withdrawn.
      rec.approval.outcome = 'withdrawn';
      void this.deps.effects.record(rec, { approvalEvent: 'withdrawn', audit: 'approval.withdrawn', outcome: 'withdrawn', actor, data: { approvalId: s.context.approvalId } });
    }
    if (state !== 'denied' && state in steps) {
      const step = steps[state as keyof typeof steps];
      void this.deps.effects.record(rec, { event: step.event, audit: step.audit, outcome: state, actor, data });
    }
    log.info({ state }, 'share ended');
    rec.ref = undefined;
    this.prune();
  }

  /** Forgets ended shares past the retention window (and the oldest beyond the cap); called on each end and by the service's watch. */
  prune(): number {
    const retention = { ...defaultRetention(this.deps.config.endedRetentionMs), ...(this.deps.now ? { now: this.deps.now } : {}) };
    return pruneEnded(this.records, (r) => r.endedAt, retention);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();
const token = () => randomBytes(9).toString('base64url').replace(/[-_]/g, 'x');
const notFound = (id: string) => new TermshareError(ErrorCodes.notFound, `no share ${id} on this service; list shares with \`termshare status\``);
