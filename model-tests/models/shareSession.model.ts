import type { AnyActorRef } from 'xstate';
import type { Backend, Requester, ShareLink } from '../../src/api/schemas.ts';
import type { ApprovalDecision, ApprovalEmitted } from '../../src/machines/approval.ts';
import {
  shareSession,
  type EndReason,
  type Failure,
  type PolicyDecision,
  type ShareSessionEmitted,
  type ShareSessionInput,
} from '../../src/machines/shareSession.ts';
import { shareWorker } from '../../src/machines/shareWorker.ts';
import { backoffMs } from '../../src/machines/restartPolicy.ts';
import { graceFor } from '../../src/machines/grace.ts';
import { BackendFleet, backendSays, checkProcesses, decisions, policyGate, type PolicyCall } from '../lib/inMemory.ts';
import { baseWorld, deviation, expectEq, fail, startRoot, type BaseWorld, type Command, type Model } from '../lib/model.ts';

const input: ShareSessionInput = {
  shareId: 'sh_model0001',
  terminal: 'tmux:work',
  terminalId: '$0',
  backend: 'upterm',
  access: 'read-only',
  requester: { kind: 'ai', id: 'claude' },
  reason: 'pair on the failing test',
  ttlMs: 20_000,
  graceMs: 5_000,
  correlationId: 'corr-1',
  approvalId: 'ap_model0001',
  restartPolicy: { maxRestarts: 1, windowMs: 8_000, backoff: { initialMs: 500, factor: 2, maxMs: 2_000 } },
  workerTimings: { linkTimeoutMs: 3_000, heartbeatTimeoutMs: 60_000, stopTimeoutMs: 1_000 },
};
const BY = 'human:alice';
const REVOKE_REASON = 'left unattended';
/** EXTEND payloads: shorter than the grace (the grace is fitted to it: active for half, then the warning) and longer than the TTL. */
const extendTtls = [2_000, 30_000];
const participantsVariants = [['alice'], []];
/** SWITCH payloads: the share's own backend (refused) and the other one. */
const backends: Backend[] = ['upterm', 'tmate'];
const SWITCHED = 'live --WORKER.SWITCHED--> (no target)';
/** Who can decide the approval the policy asks for (decisions.approval: one of `leads`): a lead, and the requester (also a lead). */
const APPROVERS: Record<string, { who: Requester; groups: string[] }> = {
  bob: { who: { kind: 'human', id: 'bob' }, groups: ['leads'] },
  claude: { who: input.requester, groups: ['leads'] },
};
const COMMENT = 'not during the freeze';
const REQUIREMENT = decisions.approval.approval!;

type World = BaseWorld & {
  fleet: BackendFleet;
  policyCalls: PolicyCall[];
  emitted: ShareSessionEmitted[];
  /** The `approval` child (the real machine) while the share awaits approval, and what it emitted. */
  approvalRef?: AnyActorRef;
  approvalEmitted: ApprovalEmitted[];
  /** When the policy asked for approval. */
  askedAt?: number;
};

type Phase = 'checking' | 'awaiting' | 'pending' | 'active' | 'expiring' | 'over' | 'final';
type Obs = {
  done: boolean;
  phase: Phase;
  final?: string;
  worker: string;
  /** The share's worker region: alive (a worker runs), backoff (waiting to restart one), gone. */
  region: string;
  endUnconfirmed?: string;
  endReason?: EndReason;
  link?: ShareLink;
  expiresAt?: number;
  armedTtlMs: number;
  participants: string[];
  restarts: number;
  failure?: Failure;
  decision?: PolicyDecision;
  emitted: number;
  /** The approval child's state ('none' when the share has no approval child). */
  approval: string;
  approvalEmitted: number;
  spawned: number;
  alive: number;
  workerChildren: number;
  stopRequests: number;
  policyPending: boolean;
  timers: string[];
  backend: Backend;
  switchingTo?: Backend;
  switchBy?: string;
  /** SWITCH commands the current backend actor received. */
  switchRequests: number;
  /** The backend the current backend actor's switch in flight is bringing up. */
  standInSwitching?: Backend;
  /** The backend of the process the current backend actor serves with. */
  serving?: Backend;
};

const endState = (r: EndReason | undefined) => (r === 'revoked' || r === 'expired' || r === 'failed' ? r : 'stopped');
const ENDS: Record<string, EndReason> = { STOP: 'stopped', REVOKE: 'revoked', 'TERMINAL.CLOSED': 'terminal-closed' };
const timer = (world: World, label: string) => world.clock.pending().find((t) => t.label === label)?.remaining;

const knownIssues = {};
const same = (a: Requester, b: Requester) => a.kind === b.kind && a.id === b.id;

function applyCommand(world: World, cmd: Command): void {
  const at = world.clock.now();
  const s = world.root;
  const p = world.fleet.current!;
  const gate = world.policyCalls.at(-1)?.ref;
  switch (cmd.type) {
    case 'policy.allow':
      return gate!.send({ type: 'ANSWER', decision: decisions.allow });
    case 'policy.deny':
      return gate!.send({ type: 'ANSWER', decision: decisions.deny });
    case 'policy.garbage':
      return gate!.send({ type: 'ANSWER', decision: decisions.garbage });
    case 'policy.approval':
      return gate!.send({ type: 'ANSWER', decision: decisions.approval });
    case 'policy.approvalMissing':
      return gate!.send({ type: 'ANSWER', decision: decisions.approvalMissing });
    case 'approval.decide': {
      const who = APPROVERS[cmd.who as string]!;
      const decision = cmd.decision as 'approve' | 'reject';
      return world.approvalRef!.send({ type: 'DECIDE', approver: who.who, groups: who.groups, decision, ...(decision === 'reject' ? { comment: COMMENT } : {}), at });
    }
    case 'approval.withdraw':
      return world.approvalRef!.send({ type: 'WITHDRAW' });
    case 'policy.fail':
      return gate!.send({ type: 'FAIL' });
    case 'STOP':
      return s.send({ type: 'STOP', at, by: BY });
    case 'REVOKE':
      return s.send({ type: 'REVOKE', at, by: BY, reason: REVOKE_REASON });
    case 'TERMINAL.CLOSED':
      return s.send({ type: 'TERMINAL.CLOSED', at });
    case 'EXTEND':
      return s.send({ type: 'EXTEND', at, ttlMs: cmd.ttlMs as number, by: BY });
    case 'SWITCH':
      return s.send({ type: 'SWITCH', at, backend: cmd.backend as Backend, by: BY });
    case 'backend.switched':
      return p.switched(at);
    case 'backend.switch-failed':
      return p.switchFailed(at);
    case 'backend.ready':
      return p.say(backendSays.ready(p.n, at));
    case 'backend.heartbeat':
      return p.say(backendSays.heartbeat(cmd.participants as string[], at));
    case 'backend.exit':
      return p.say(backendSays.exit(cmd.terminalClosed === true, at, cmd.unconfirmed === true));
    case 'backend.relinked':
      return p.say(backendSays.relinked(p.n, at));
    case 'clock.next':
      return world.clock.advanceToNext();
    case 'clock.almost':
      return world.clock.advanceAlmost();
    default:
      fail(`unknown command ${cmd.type}`);
  }
}

export const model: Model<World, Obs> = {
  machine: shareSession,
  maxDepth: 8,
  knownIssues,
  unreachable: {},

  createWorld(recorder) {
    const base = baseWorld();
    const fleet = new BackendFleet(base.clock);
    const world = { ...base, fleet, policyCalls: [] as PolicyCall[], emitted: [] as ShareSessionEmitted[], approvalEmitted: [] as ApprovalEmitted[] } as World;
    const machine = shareSession.provide({
      actors: {
        policy: policyGate(world.policyCalls) as never,
        worker: shareWorker.provide({ actors: { backend: fleet.logic } }),
      },
    });
    world.root = startRoot(world, machine, recorder, input, (a) => a.on('*', (e) => world.emitted.push(e as ShareSessionEmitted)));
    return world;
  },

  commands(world, o) {
    if (o.done) return [];
    const cmds: Command[] = [];
    if (o.policyPending) {
      cmds.push({ type: 'policy.allow' }, { type: 'policy.deny' }, { type: 'policy.garbage' }, { type: 'policy.fail' });
      cmds.push({ type: 'policy.approval' }, { type: 'policy.approvalMissing' });
    }
    if (o.approval === 'active:pending') {
      cmds.push({ type: 'approval.decide', who: 'bob', decision: 'approve' }, { type: 'approval.decide', who: 'bob', decision: 'reject' });
      cmds.push({ type: 'approval.decide', who: 'claude', decision: 'approve' }, { type: 'approval.withdraw' });
    }
    cmds.push({ type: 'STOP' }, { type: 'REVOKE' }, { type: 'TERMINAL.CLOSED' });
    for (const ttlMs of extendTtls) cmds.push({ type: 'EXTEND', ttlMs });
    for (const backend of backends) cmds.push({ type: 'SWITCH', backend });
    if (world.fleet.current?.alive) {
      cmds.push({ type: 'backend.ready' });
      for (const p of participantsVariants) cmds.push({ type: 'backend.heartbeat', participants: p });
      cmds.push({ type: 'backend.exit', terminalClosed: false }, { type: 'backend.exit', terminalClosed: true });
      cmds.push({ type: 'backend.relinked' });
      if (o.worker === 'stopping') cmds.push({ type: 'backend.exit', terminalClosed: false, unconfirmed: true });
      if (world.fleet.current.switching) cmds.push({ type: 'backend.switched' }, { type: 'backend.switch-failed' });
    }
    if (o.timers.length) cmds.push({ type: 'clock.next' }, { type: 'clock.almost' });
    return cmds;
  },

  apply(world, cmd) {
    if (cmd.type === 'policy.approval') world.askedAt = world.clock.now();
    applyCommand(world, cmd);
    // Listen to the approval child as soon as it exists (it emits approval.refused / approval.decided on its own).
    const ref = world.root.getSnapshot().children.approval as AnyActorRef | undefined;
    if (ref && ref !== world.approvalRef) {
      world.approvalRef = ref;
      ref.on('*', (e) => world.approvalEmitted.push(e as ApprovalEmitted));
    }
  },

  observe(world) {
    const s = world.root.getSnapshot();
    const c = s.context;
    const v = s.value as string | { live: { worker: string | { alive: string }; lifetime: string } };
    const region = typeof v === 'string' ? 'none' : typeof v.live.worker === 'string' ? v.live.worker : 'alive';
    const workerRef = s.children.worker as AnyActorRef | undefined;
    const ws = workerRef?.getSnapshot();
    const workerState = !ws ? 'none' : ws.status !== 'active' ? `ended:${ws.status}` : typeof ws.value === 'string' ? ws.value : (ws.value as { running: string }).running;
    const phase: Phase = s.status === 'done' ? 'final' : v === 'awaitingApproval' ? 'awaiting' : typeof v === 'string' ? 'checking' : (v.live.lifetime as Phase);
    const approvalRef = s.children.approval as AnyActorRef | undefined;
    return {
      done: s.status === 'done',
      phase,
      final: s.status === 'done' ? (v as string) : undefined,
      worker: workerState,
      region,
      endUnconfirmed: c.endUnconfirmed,
      endReason: c.endReason,
      link: c.link,
      expiresAt: c.expiresAt,
      armedTtlMs: c.armedTtlMs,
      participants: c.participants,
      restarts: c.restartsInWindow,
      failure: c.failure,
      decision: c.decision,
      emitted: world.emitted.length,
      approval: approvalRef ? `${approvalRef.getSnapshot().status}:${String(approvalRef.getSnapshot().value)}` : 'none',
      approvalEmitted: world.approvalEmitted.length,
      spawned: world.fleet.procs.length,
      alive: world.fleet.alive.length,
      workerChildren: Object.keys(s.children).filter((k) => k === 'worker').length,
      stopRequests: world.fleet.current?.stopRequests ?? 0,
      policyPending: world.policyCalls.at(-1)?.ref.getSnapshot().status === 'active',
      timers: world.clock.pendingLabels(),
      backend: c.backend,
      switchingTo: c.switchingTo,
      switchBy: c.switchBy,
      switchRequests: world.fleet.current?.switchRequests.length ?? 0,
      standInSwitching: world.fleet.current?.switching?.backend,
      serving: world.fleet.current?.serving.backend,
    };
  },

  key: (o, world) =>
    JSON.stringify([
      o.phase, o.final, o.worker, o.region, o.endReason, !!o.link, o.restarts, o.participants, o.armedTtlMs, o.policyPending,
      o.alive, o.stopRequests > 0, o.timers, o.expiresAt === undefined ? null : o.expiresAt - world.clock.now(),
      o.backend, o.switchingTo ?? null, o.standInSwitching ?? null, o.approval,
    ]),
  describe: (o) =>
    `${o.final ?? o.phase}${o.approval === 'none' ? '' : ` approval=${o.approval}`} worker=${o.worker}/${o.region} backend=${o.backend}${o.switchingTo ? `->${o.switchingTo}` : ''} endReason=${o.endReason ?? '-'} restarts=${o.restarts} expiresAt=${o.expiresAt ?? '-'} timers=[${o.timers.join(' ')}]`,

  check(step, world) {
    const { cmd, before: b, after: a, fired, now } = step;
    const emitted = world.emitted.slice(b.emitted);
    const nothing = () => {
      expectEq(emitted, [], `${cmd.type} in ${b.phase}/${b.worker}: emitted`);
      expectEq([a.phase, a.endReason, a.expiresAt, a.link], [b.phase, b.endReason, b.expiresAt, b.link], `${cmd.type} in ${b.phase}/${b.worker} is ignored`);
      expectEq([a.backend, a.switchingTo], [b.backend, b.switchingTo], `${cmd.type} in ${b.phase}/${b.worker}: backend and switch in flight unchanged`);
      expectEq([a.approval, a.approvalEmitted], [b.approval, b.approvalEmitted], `${cmd.type} in ${b.phase}/${b.worker}: the approval is untouched`);
    };
    const asked = () =>
      expectEq(world.policyCalls.map((c) => c.query), [
        { action: 'share.start', requester: input.requester, terminal: input.terminal, backend: input.backend, access: input.access, ttlSeconds: 20, reason: input.reason },
      ], 'policy asked once, with the request');
    /** The approval ended (approved, rejected, timed out, withdrawn): announced once, the child is gone. */
    const approvalEnded = (outcome: string, ds: ApprovalDecision[]) => {
      expectEq(emitted[0], { type: 'share.approval-ended', approvalId: input.approvalId, outcome, decisions: ds }, `approval ${outcome}: emitted first`);
      expectEq([a.approval, world.approvalRef?.getSnapshot().status], ['none', 'done'], `approval ${outcome}: the approval child finished and left`);
    };
    const deniedByApproval = (failure: Failure) => {
      expectEq(emitted.length, 1, 'denied by the approval: nothing else emitted (no share.denied: the policy permitted)');
      expectEq([a.final, a.endReason, a.failure, a.spawned], ['denied', undefined, failure, 0], 'denied by the approval: final, failure, no worker ever');
    };
    const endedOnRequest = (unconfirmed?: string) => {
      expectEq(emitted, [], 'the requested stop completing emits nothing more');
      expectEq([a.done, a.final], [true, endState(b.endReason)], `worker gone after ${b.endReason}: final state`);
      expectEq(a.endUnconfirmed, unconfirmed, 'what the stop could not confirm is kept for the reply');
    };
    const workerFailed = (terminalClosed: boolean, message: RegExp) => {
      if (terminalClosed) {
        expectEq(emitted, [{ type: 'share.ending', endReason: 'terminal-closed' }], 'terminal closed under the worker: emitted');
        return expectEq([a.final, a.endReason], ['stopped', 'terminal-closed'], 'terminal closed under the worker: final state');
      }
      const crashed = emitted.find((e) => e.type === 'worker.crashed');
      const crash = crashed?.type === 'worker.crashed' ? crashed.failure : a.failure;
      if (crash?.code !== 'backend_failed' || !message.test(crash.message)) fail(`worker failure recorded as ${JSON.stringify(crash)}, expected ${message}`);
      // A crash during a switch drops it first: share.switch-failed, and the share goes on (or ends) with its old backend.
      const abandoned: ShareSessionEmitted[] = b.switchingTo
        ? [{ type: 'share.switch-failed', backend: b.switchingTo, failure: { code: 'backend_failed', message: 'the worker crashed during the switch; the share goes on with its old backend' } }]
        : [];
      expectEq([a.backend, a.switchingTo], [b.backend, undefined], 'worker crash: backend kept, no switch in flight');
      if (!b.link) {
        expectEq(emitted, [{ type: 'share.ending', endReason: 'failed' }], 'worker failed before any link: emitted');
        return expectEq([a.final, a.endReason, a.failure], ['failed', 'failed', crash], 'worker failed before any link: final state');
      }
      if (b.restarts < input.restartPolicy.maxRestarts) {
        expectEq(emitted, [...abandoned, { type: 'worker.crashed', failure: crash, willRestart: true }], 'worker crashed with budget left: emitted');
        expectEq([a.phase, a.restarts, a.spawned, a.worker, a.region], [b.phase, b.restarts + 1, b.spawned, 'none', 'backoff'], 'worker crashed: no worker until the backoff passes');
        expectEq(timer(world, 'restartBackoff'), backoffMs(input.restartPolicy.backoff, b.restarts + 1), 'restart backoff armed (exponential in the restarts of the window)');
        return expectEq(timer(world, 'RESTART.WINDOW_ELAPSED'), input.restartPolicy.windowMs, 'restart counted for one window');
      }
      expectEq(emitted, [...abandoned, { type: 'worker.crashed', failure: crash, willRestart: false }, { type: 'share.ending', endReason: 'failed' }], 'worker crashed over budget: emitted');
      expectEq([a.final, a.failure?.code], ['failed', 'backend_failed'], 'worker crashed over budget: final state');
      if (!a.failure!.message.includes(`the ${b.backend} worker crashed 2 times within 8 s (last: ${crash!.message})`)) fail(`budget failure message: ${a.failure!.message}`);
    };

    // The share's backend changes only on WORKER.SWITCHED.
    if (a.backend !== b.backend && !step.taken.includes(SWITCHED)) fail(`backend changed ${b.backend} -> ${a.backend} on ${cmd.type} without WORKER.SWITCHED`);
    if (step.taken.includes(SWITCHED) && cmd.type !== 'backend.switched') fail(`WORKER.SWITCHED on ${cmd.type}`);
    if (cmd.type !== 'SWITCH') expectEq(a.switchRequests, a.spawned === b.spawned ? b.switchRequests : 0, `${cmd.type}: SWITCH passed to the backend`);


    switch (cmd.type) {
      case 'policy.allow':
        asked();
        expectEq(emitted, [], 'allowed: emitted');
        return expectEq([a.phase, a.worker, a.spawned], ['pending', 'launching', 1], 'allowed: worker spawned, share pending its link');
      case 'policy.approval': {
        asked();
        expectEq(emitted, [{ type: 'share.awaiting-approval', approvalId: input.approvalId, requirement: REQUIREMENT }], 'approval asked: emitted');
        expectEq([a.phase, a.spawned, a.approval, a.decision], ['awaiting', 0, 'active:pending', decisions.approval], 'approval asked: awaiting, no worker');
        const c = world.approvalRef!.getSnapshot().context as Record<string, unknown>;
        expectEq([c.approvalId, c.requester, c.requirement, c.decisions], [input.approvalId, input.requester, REQUIREMENT, []], 'the approval child gets the id, requester and requirement');
        return expectEq(timer(world, 'approvalTimeout'), REQUIREMENT.timeoutMs, 'approval timeout armed');
      }
      case 'approval.decide': {
        const { who } = APPROVERS[cmd.who as string]!;
        const decision = cmd.decision as 'approve' | 'reject';
        const fromChild = world.approvalEmitted.slice(b.approvalEmitted);
        if (same(who, input.requester)) {
          const e = fromChild[0];
          if (fromChild.length !== 1 || e?.type !== 'approval.refused' || !same(e.approver, who) || !e.reason.includes('made this request'))
            fail(`the requester's own decision: the approval emitted ${JSON.stringify(fromChild)}`);
          expectEq([a.phase, a.approval, a.spawned], ['awaiting', 'active:pending', 0], "the requester's own decision is refused: still awaiting");
          expectEq(emitted, [], "the requester's own decision: the share emits nothing");
          return;
        }
        const d: ApprovalDecision = { approver: who, decision, ...(decision === 'reject' ? { comment: COMMENT } : {}), at: now };
        expectEq(fromChild, [{ type: 'approval.decided', decision: d, remaining: decision === 'approve' ? 0 : 1 }], `${decision}: the approval emitted`);
        approvalEnded(decision === 'approve' ? 'approved' : 'rejected', [d]);
        if (decision === 'reject') {
          return deniedByApproval({ code: 'approval_rejected', message: `approval ${input.approvalId} was rejected by human:bob (${COMMENT}); nothing was shared` });
        }
        expectEq(emitted.length, 1, 'approved: emitted');
        return expectEq([a.phase, a.worker, a.spawned, a.endReason, a.failure], ['pending', 'launching', 1, undefined, undefined], 'approved: worker spawned, share pending its link');
      }
      case 'approval.withdraw': {
        approvalEnded('withdrawn', []);
        const bad = a.final === 'denied' && a.failure?.code === 'approval_rejected';
        deviation(world, knownIssues, 'withdrawn-approval-denied-as-rejected', bad, `withdrawn approval: share ${a.final} with ${JSON.stringify(a.failure)}`);
        if (bad) return expectEq(a.spawned, 0, 'withdrawn: no worker');
        expectEq(emitted.slice(1), [{ type: 'share.ending', endReason: 'stopped' }], 'withdrawn: emitted');
        return expectEq([a.final, a.endReason, a.spawned], ['stopped', 'stopped', 0], 'withdrawn: the share stops, no worker ever');
      }
      case 'policy.deny':
      case 'policy.garbage':
      case 'policy.approvalMissing':
      case 'policy.fail': {
        const decision =
          cmd.type === 'policy.fail'
            ? { decision: 'deny', policies: [], message: 'the policy gate failed: Error: policy gate unreachable' }
            : cmd.type === 'policy.deny' ? decisions.deny : cmd.type === 'policy.garbage' ? decisions.garbage : decisions.approvalMissing;
        expectEq(emitted, [{ type: 'share.denied', decision }], 'denied: emitted');
        return expectEq([a.final, a.spawned, a.decision], ['denied', 0, decision], 'denied: final, no worker ever');
      }
      case 'STOP':
      case 'REVOKE':
      case 'TERMINAL.CLOSED': {
        const endReason = ENDS[cmd.type]!;
        const ending = { type: 'share.ending', endReason, ...(cmd.type === 'TERMINAL.CLOSED' ? {} : { by: BY }), ...(cmd.type === 'REVOKE' ? { reason: REVOKE_REASON } : {}) };
        if (b.phase === 'checking') {
          expectEq([a.final, a.endReason, a.spawned], [endState(endReason), endReason, 0], `${cmd.type} before the decision: final, no worker`);
          expectEq(world.policyCalls[0]!.ref.getSnapshot().status, 'stopped', 'the pending policy call is cancelled');
          deviation(world, knownIssues, 'end-before-live-not-announced', emitted.length === 0, `${cmd.type} before the decision: share.ending not emitted`);
          if (emitted.length) expectEq(emitted, [ending], 'emitted');
          return;
        }
        if (b.phase === 'awaiting') {
          // Ending while awaiting approval stops the approval child: no decision, no approval-ended, no worker.
          expectEq(emitted, [ending], `${cmd.type} while awaiting approval: emitted`);
          expectEq([a.final, a.endReason, a.spawned, a.approval], [endState(endReason), endReason, 0, 'none'], `${cmd.type} while awaiting approval: final, no worker`);
          expectEq([world.approvalRef!.getSnapshot().status, a.approvalEmitted], ['stopped', b.approvalEmitted], 'the approval child is stopped undecided');
          return;
        }
        if (b.endReason) return nothing();
        expectEq(emitted, [ending], `${cmd.type}: emitted`);
        if (b.region === 'backoff') {
          // No worker runs between a crash and its restart: the share ends at once, and none is started.
          return expectEq([a.final, a.endReason, a.spawned], [endState(endReason), endReason, b.spawned], `${cmd.type} during the restart backoff: final, no restart`);
        }
        expectEq([a.endReason, a.phase], [endReason, 'over'], `${cmd.type}: ending`);
        if (b.worker === 'launching' || b.worker === 'serving') {
          expectEq([a.worker, a.stopRequests], ['stopping', b.stopRequests + 1], `${cmd.type}: worker asked to stop its backend`);
        }
        return;
      }
      case 'EXTEND': {
        const ttlMs = cmd.ttlMs as number;
        if (b.phase !== 'active' && b.phase !== 'expiring') return nothing();
        expectEq(emitted, [{ type: 'share.extended', expiresAt: now + ttlMs, by: BY }], 'extended: emitted');
        expectEq([a.phase, a.expiresAt, a.armedTtlMs], ['active', now + ttlMs, ttlMs], 'extended: active until now + ttl');
        return expectEq(timer(world, 'untilWarning'), ttlMs - graceFor(ttlMs, input.graceMs), 'warning re-armed, the grace fitted to the new TTL');
      }
      case 'SWITCH': {
        const backend = cmd.backend as Backend;
        const accepted = (b.phase === 'active' || b.phase === 'expiring') && !b.switchingTo && backend !== b.backend;
        if (!accepted) {
          expectEq(a.switchRequests, b.switchRequests, 'refused SWITCH: not passed to the worker');
          return nothing();
        }
        expectEq([a.phase, a.expiresAt, a.link, a.backend], [b.phase, b.expiresAt, b.link, b.backend], 'SWITCH: lifetime, link and backend unchanged until the worker answers');
        if (b.worker === 'serving') {
          expectEq(emitted, [], 'SWITCH: emitted (the answer comes later)');
          expectEq([a.switchingTo, a.switchBy], [backend, BY], 'SWITCH: switch in flight');
          expectEq([a.switchRequests, world.fleet.current!.switchRequests.at(-1), a.standInSwitching], [b.switchRequests + 1, backend, backend], 'SWITCH passed to the backend actor, which starts the new process');
          return expectEq(a.alive, 1, 'one backend actor');
        }
        const answered = emitted.some((e) => e.type === 'share.switch-failed') || a.switchRequests > b.switchRequests;
        deviation(world, knownIssues, 'switch-dropped-while-relaunching', !answered && a.switchingTo === backend, `SWITCH accepted while the worker is ${b.worker}: dropped, switchingTo stuck at ${a.switchingTo}`);
        if (answered) expectEq([emitted.length, a.switchingTo], [1, undefined], 'SWITCH while the worker relaunches: refused at once');
        return;
      }
      case 'backend.switched': {
        const p = world.fleet.current!;
        if (b.worker !== 'serving') {
          expectEq(a.standInSwitching, undefined, 'the backend actor finished its switch');
          return nothing();
        }
        const link = backendSays.switchedLink(p.n, p.switches, b.standInSwitching!);
        expectEq(b.switchingTo, b.standInSwitching, 'the backend switches to what the share asked');
        expectEq(emitted, [{ type: 'share.switched', from: b.backend, to: b.standInSwitching, link, by: BY }], 'switched: emitted');
        expectEq([a.backend, a.link, a.switchingTo, a.switchBy], [b.standInSwitching, link, undefined, undefined], 'switched: new backend and link, no switch in flight');
        expectEq([a.phase, a.expiresAt, a.armedTtlMs, a.worker, a.spawned], [b.phase, b.expiresAt, b.armedTtlMs, 'serving', b.spawned], 'switched: same lifetime, same worker');
        return expectEq(world.fleet.running.map((o) => o.backend), [a.backend], 'switched: the old process was told to stop, only the new one runs');
      }
      case 'backend.switch-failed': {
        if (b.worker !== 'serving') {
          expectEq(a.standInSwitching, undefined, 'the backend actor dropped its switch');
          return nothing();
        }
        expectEq(emitted, [{ type: 'share.switch-failed', backend: b.standInSwitching, failure: backendSays.switchFailure(b.standInSwitching!) }], 'switch failed: emitted');
        expectEq([a.backend, a.link, a.switchingTo, a.switchBy], [b.backend, b.link, undefined, undefined], 'switch failed: old backend and link go on');
        expectEq([a.phase, a.expiresAt, a.worker], [b.phase, b.expiresAt, 'serving'], 'switch failed: same lifetime, same worker');
        return expectEq(world.fleet.running.map((o) => o.backend), [b.backend], 'switch failed: only the old process runs');
      }
      case 'backend.ready': {
        const link = backendSays.link(world.fleet.current!.n);
        if (b.worker !== 'launching') return nothing();
        if (b.phase === 'pending') {
          expectEq(emitted, [{ type: 'share.active', link, expiresAt: now + input.ttlMs }], 'first link: emitted');
          expectEq([a.phase, a.expiresAt, a.link], ['active', now + input.ttlMs, link], 'first link: active for the TTL');
          return expectEq(timer(world, 'untilWarning'), input.ttlMs - graceFor(input.ttlMs, input.graceMs), 'warning armed');
        }
        if (b.phase === 'active' || b.phase === 'expiring') {
          expectEq(emitted, [{ type: 'share.relinked', link, cause: 'restart' }], 'restarted worker: emitted');
          return expectEq([a.phase, a.expiresAt, a.link], [b.phase, b.expiresAt, link], 'restarted worker: new link, same lifetime');
        }
        return fail(`a launching worker in phase ${b.phase}`);
      }
      case 'backend.heartbeat': {
        if (b.worker !== 'serving') return nothing();
        const p = cmd.participants as string[];
        const change = { joined: p.filter((x) => !b.participants.includes(x)), left: b.participants.filter((x) => !p.includes(x)) };
        expectEq(emitted, [{ type: 'share.participants', participants: p, ...change }], 'heartbeat: emitted');
        return expectEq(a.participants, p, 'participants');
      }
      case 'backend.relinked': {
        if (b.worker !== 'serving') return nothing();
        const link = backendSays.reconnectedLink(world.fleet.current!.n);
        expectEq(emitted, [{ type: 'share.relinked', link, cause: 'reconnect' }], 'the backend reconnected: emitted');
        return expectEq([a.phase, a.expiresAt, a.link, a.worker], [b.phase, b.expiresAt, link, 'serving'], 'reconnected: new link, same lifetime, same worker');
      }
      case 'backend.exit':
        if (b.worker === 'stopping') return endedOnRequest(cmd.unconfirmed ? backendSays.unconfirmed : undefined);
        return workerFailed(cmd.terminalClosed === true, /upterm exited|tmux session is gone/);
      case 'clock.almost':
        expectEq(fired, [], 'no timer fires before its deadline');
        return nothing();
      case 'clock.next': {
        if (fired.length !== 1) return; // coincident deadlines: invariants only
        switch (fired[0]) {
          case 'untilWarning':
            expectEq([b.phase, now], ['active', b.expiresAt! - graceFor(b.armedTtlMs, input.graceMs)], 'warning: from active, one fitted grace before expiry');
            // A short share is active before it warns: at least half its TTL, never from its first moment.
            expectEq(b.armedTtlMs - (b.expiresAt! - now) >= b.armedTtlMs / 2, true, 'warning: not before half the TTL has passed');
            expectEq(emitted, [{ type: 'share.expiring', expiresAt: b.expiresAt, participants: b.participants }], 'warning: emitted');
            return expectEq(a.phase, 'expiring', 'warning: state');
          case 'untilExpiry':
            expectEq([b.phase, now], ['expiring', b.expiresAt], 'expiry: from expiring, exactly at expiresAt');
            expectEq(emitted, [{ type: 'share.ending', endReason: 'expired' }], 'expiry: emitted');
            if (b.region === 'backoff') return expectEq([a.final, a.endReason, a.spawned], ['expired', 'expired', b.spawned], 'expiry during the restart backoff: final, no restart');
            return expectEq([a.phase, a.endReason, a.worker], ['over', 'expired', b.worker === 'gone' ? 'gone' : 'stopping'], 'expiry: ending, worker stopping');
          case 'linkTimeout':
            return workerFailed(false, /gave no link within 3 s/);
          case 'heartbeatTimeout':
            return workerFailed(false, /missed its heartbeat for 60 s/);
          case 'stopTimeout':
            expectEq(b.worker, 'stopping', 'stop bound: only while stopping');
            return endedOnRequest(`${b.backend} did not end within 1 s of the stop; it was killed, and its participants may stay connected to the relay`);
          case 'restartBackoff':
            expectEq([b.region, emitted], ['backoff', []], 'restart backoff: fires in backoff, emits nothing');
            expectEq([a.region, a.worker, a.spawned, a.phase], ['alive', 'launching', b.spawned + 1, b.phase], 'backoff passed: the worker is restarted');
            return expectEq(world.fleet.current!.input.backend, b.backend, "the restarted worker launches the share's current backend");
          case 'approvalTimeout':
            expectEq([b.phase, now], ['awaiting', world.askedAt! + REQUIREMENT.timeoutMs], 'approval timeout: while awaiting, timeoutMs after the ask');
            approvalEnded('timed-out', []);
            return deniedByApproval({ code: 'approval_timeout', message: `approval ${input.approvalId} timed out before enough approvers decided; ask again` });
          case 'RESTART.WINDOW_ELAPSED':
            expectEq(emitted, [], 'window elapsed: emitted');
            return expectEq(a.restarts, Math.max(0, b.restarts - 1), 'one restart leaves the window');
          default:
            return fail(`unexpected timer ${fired[0]}`);
        }
      }
    }
  },

  invariants(o, world) {
    const now = world.clock.now();
    if ((o.phase === 'active' || o.phase === 'expiring') && !(now < o.expiresAt!)) fail(`share ${o.phase} at ${now}, past its expiry ${o.expiresAt}`);
    if (o.done && (o.alive > 0 || o.workerChildren > 0)) fail(`share ended (${o.final}) with a live worker`);
    if ((o.final === 'denied' || o.phase === 'checking' || o.phase === 'awaiting') && o.spawned > 0) fail(`a worker exists for a ${o.final ?? o.phase} share`);
    // Approval: the child lives exactly while awaiting; no worker before it approves, none after it rejects / times out.
    if ((o.phase === 'awaiting') !== (o.approval === 'active:pending')) fail(`share ${o.final ?? o.phase} with approval child ${o.approval}`);
    const asked = world.emitted.some((e) => e.type === 'share.awaiting-approval');
    const ended = world.emitted.find((e) => e.type === 'share.approval-ended');
    if (ended && !asked) fail('share.approval-ended without share.awaiting-approval');
    if (asked && o.spawned > 0 && ended?.outcome !== 'approved') fail(`a worker spawned with the approval ${ended?.outcome ?? 'undecided'}`);
    if (ended && ended.outcome !== 'approved' && o.phase !== 'final') fail(`share ${o.phase} after its approval ${ended.outcome}`);
    if (o.alive > 1) fail(`${o.alive} backends alive for one share`);
    const procs = checkProcesses(world.fleet);
    if (procs) fail(procs);
    if (o.done && world.fleet.running.length) fail(`share ended (${o.final}) with a backend process running`);
    if ((o.worker === 'launching' || o.worker === 'serving') && o.serving !== o.backend) fail(`the share says ${o.backend}, its worker serves with ${o.serving}`);
    if ((o.worker === 'launching' || o.worker === 'serving') && o.standInSwitching && o.standInSwitching !== o.switchingTo)
      fail(`the backend actor switches to ${o.standInSwitching}, the share thinks ${o.switchingTo ?? 'nothing'}`);
    if (o.switchingTo !== undefined && o.switchingTo === o.backend) fail(`switching to ${o.switchingTo}, the backend it already has`);
    if (o.done && o.final !== 'denied' && endState(o.endReason) !== o.final) fail(`final ${o.final} does not match endReason ${o.endReason}`);
    if (!o.done && o.endReason && o.phase !== 'over') fail(`ending (${o.endReason}) but lifetime is ${o.phase}`);
    const count = (t: string) => world.emitted.filter((e) => e.type === t).length;
    if (count('share.active') > 1 || count('share.ending') > 1 || count('share.denied') > 1) fail('share.active/ending/denied emitted more than once');
    if (count('share.awaiting-approval') > 1 || count('share.approval-ended') > 1) fail('share.awaiting-approval/approval-ended emitted more than once');
  },
};
