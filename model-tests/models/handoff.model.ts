import type { AnyActorRef } from 'xstate';
import type { Requester } from '../../src/api/schemas.ts';
import type { TerminalContext } from '../../src/adapters/terminals/types.ts';
import type { ApprovalDecision, ApprovalEmitted, ApprovalOutcome } from '../../src/machines/approval.ts';
import { handoff, type HandoffEmitted, type HandoffInput, type TransferOutput } from '../../src/machines/handoff.ts';
import type { Failure, PolicyDecision, PolicyQuery } from '../../src/machines/shareSession.ts';
import { decisions, policyGate, promiseStandIn, type PolicyCall, type StandInCall } from '../lib/inMemory.ts';
import { baseWorld, deviation, expectEq, fail, startRoot, type BaseWorld, type Command, type Model } from '../lib/model.ts';

const FROM: Requester = { kind: 'human', id: 'alice' };
const TO: Requester = { kind: 'ai', id: 'claude' };
const SERVICE: Requester = { kind: 'human', id: 'termshare-service' };
/** Who sends RELEASE / CANCEL: the two parties, and someone else (refused by byAParty). */
const PARTIES: Record<string, Requester> = { from: FROM, to: TO, third: { kind: 'human', id: 'mallory' } };
const input: HandoffInput = {
  handoffId: 'ho_model0001',
  terminal: 'tmux:work',
  terminalId: '$0',
  from: FROM,
  to: TO,
  reason: 'fix the failing test',
  correlationId: 'corr-1',
  approvalId: 'ap_model0001',
};
/** The human clients attached to the terminal: they have input until the transfer locks them. */
const CLIENTS = ['c1', 'c2'];
const PACKET: TerminalContext = { cwd: '/work', env: { PATH: '/usr/bin' }, command: 'npm test', scrollback: ['$ npm test', '1 failing'], size: { cols: 80, rows: 24 } };
/** Who can decide the approval the policy asks for (decisions.approval: one of `leads`): a lead, and the requester `from` (also a lead: refused). */
const APPROVERS: Record<string, { who: Requester; groups: string[] }> = {
  bob: { who: { kind: 'human', id: 'bob' }, groups: ['leads'] },
  from: { who: FROM, groups: ['leads'] },
};
const COMMENT = 'not during the freeze';
const REQUIREMENT = decisions.approval.approval!;
const TRANSFER_ERROR = 'tmux:work is gone';
const RESTORE_ERROR = 'display-message failed';
const POLICY_ANSWERS: Record<string, PolicyDecision> = {
  'policy.allow': decisions.allow,
  'policy.approval': decisions.approval,
  'policy.deny': decisions.deny,
  'policy.garbage': decisions.garbage,
  'policy.approvalMissing': decisions.approvalMissing,
};
const FINALS = ['denied', 'rejected', 'released', 'failed', 'withdrawn', 'closed'];

type RestoreInput = { terminal: string; lockedClients: string[]; by: Requester };
type World = BaseWorld & {
  policyCalls: PolicyCall[];
  transferCalls: StandInCall<{ terminal: string }>[];
  restoreCalls: StandInCall<RestoreInput>[];
  /** The terminal: which human clients are locked (no input). */
  locked: string[];
  /** What the transfer stand-in answered (it locked these clients). */
  transferred?: TransferOutput;
  emitted: HandoffEmitted[];
  approvalRef?: AnyActorRef;
  approvalEmitted: ApprovalEmitted[];
  policyAnswer?: string;
  askedAt?: number;
};

type Obs = {
  value: string;
  done: boolean;
  decision?: PolicyDecision;
  failure?: Failure;
  lockedClients: string[];
  context?: TerminalContext;
  releasedBy?: Requester;
  shuttingDown: boolean;
  emitted: number;
  approval: string;
  approvalDecisions: number;
  approvalEmitted: number;
  policyPending: boolean;
  transferCalls: number;
  transferPending: boolean;
  restoreCalls: number;
  restorePending: boolean;
  locked: string[];
  timers: string[];
};

const same = (a: Requester, b: Requester) => a.kind === b.kind && a.id === b.id;
const active = (ref: AnyActorRef | undefined) => ref?.getSnapshot().status === 'active';
const timer = (world: World, label: string) => world.clock.pending().find((t) => t.label === label)?.remaining;

const knownIssues = {};

/** Sends to the handoff; events to a finished one are expected to change nothing (xstate's warning is muted). */
function send(world: World, e: Parameters<AnyActorRef['send']>[0]): void {
  if (world.root.getSnapshot().status === 'active') return world.root.send(e);
  const warn = console.warn;
  console.warn = () => {};
  try {
    world.root.send(e);
  } finally {
    console.warn = warn;
  }
}

export const model: Model<World, Obs> = {
  machine: handoff,
  maxDepth: 7,
  knownIssues,
  unreachable: {},

  createWorld(recorder) {
    const base = baseWorld();
    const world = {
      ...base,
      policyCalls: [],
      transferCalls: [],
      restoreCalls: [],
      locked: [],
      emitted: [],
      approvalEmitted: [],
    } as unknown as World;
    const machine = handoff.provide({
      actors: {
        policy: policyGate(world.policyCalls) as never,
        transfer: promiseStandIn<{ terminal: string }, TransferOutput>('inMemoryTransfer', world.transferCalls) as never,
        restore: promiseStandIn<RestoreInput, void>('inMemoryRestore', world.restoreCalls) as never,
      },
    });
    world.root = startRoot(world, machine, recorder, input, (a) => a.on('*', (e) => world.emitted.push(e as HandoffEmitted)));
    return world;
  },

  commands(_world, o) {
    if (o.done) {
      // Final is final: a late release, cancel, shutdown or close changes nothing.
      return [{ type: 'RELEASE', by: 'to' }, { type: 'CANCEL', by: 'from' }, { type: 'SHUTDOWN' }, { type: 'TERMINAL.CLOSED' }];
    }
    const cmds: Command[] = [];
    if (o.policyPending) for (const type of [...Object.keys(POLICY_ANSWERS), 'policy.fail']) cmds.push({ type });
    if (o.approval === 'active:pending') {
      cmds.push({ type: 'approval.decide', who: 'bob', decision: 'approve' }, { type: 'approval.decide', who: 'bob', decision: 'reject' });
      cmds.push({ type: 'approval.decide', who: 'from', decision: 'approve' }, { type: 'approval.withdraw' });
    }
    if (o.transferPending) cmds.push({ type: 'transfer.resolve' }, { type: 'transfer.reject' });
    if (o.restorePending) cmds.push({ type: 'restore.resolve' }, { type: 'restore.reject' });
    for (const by of Object.keys(PARTIES)) cmds.push({ type: 'RELEASE', by }, { type: 'CANCEL', by });
    cmds.push({ type: 'SHUTDOWN' }, { type: 'TERMINAL.CLOSED' });
    if (o.timers.length) cmds.push({ type: 'clock.next' }, { type: 'clock.almost' });
    return cmds;
  },

  apply(world, cmd) {
    const at = world.clock.now();
    const gate = world.policyCalls.at(-1)?.ref;
    const transfer = world.transferCalls.at(-1);
    const restore = world.restoreCalls.at(-1);
    if (cmd.type in POLICY_ANSWERS) {
      world.policyAnswer = cmd.type;
      if (cmd.type === 'policy.approval') world.askedAt = at;
      gate!.send({ type: 'ANSWER', decision: POLICY_ANSWERS[cmd.type]! });
    } else {
      switch (cmd.type) {
        case 'policy.fail':
          gate!.send({ type: 'FAIL' });
          break;
        case 'approval.decide': {
          const who = APPROVERS[cmd.who as string]!;
          const decision = cmd.decision as 'approve' | 'reject';
          world.approvalRef!.send({ type: 'DECIDE', approver: who.who, groups: who.groups, decision, ...(decision === 'reject' ? { comment: COMMENT } : {}), at });
          break;
        }
        case 'approval.withdraw':
          world.approvalRef!.send({ type: 'WITHDRAW' });
          break;
        case 'transfer.resolve': {
          // The real transfer takes the context packet and locks every client that had input.
          const lockedClients = CLIENTS.filter((c) => !world.locked.includes(c));
          world.locked = [...world.locked, ...lockedClients];
          world.transferred = { lockedClients, context: PACKET };
          transfer!.ref.send({ type: 'RESOLVE', output: world.transferred });
          break;
        }
        case 'transfer.reject':
          transfer!.ref.send({ type: 'REJECT', message: TRANSFER_ERROR });
          break;
        case 'restore.resolve':
        case 'restore.reject': {
          // The real restore unlocks the clients, then tells everyone; `reject` is the telling failing after the unlock.
          const give = restore!.input.lockedClients;
          world.locked = world.locked.filter((c) => !give.includes(c));
          if (cmd.type === 'restore.resolve') restore!.ref.send({ type: 'RESOLVE', output: undefined });
          else restore!.ref.send({ type: 'REJECT', message: RESTORE_ERROR });
          break;
        }
        case 'RELEASE':
        case 'CANCEL':
          send(world, { type: cmd.type, by: PARTIES[cmd.by as string]!, at });
          break;
        case 'SHUTDOWN':
        case 'TERMINAL.CLOSED':
          send(world, { type: cmd.type, at });
          break;
        case 'clock.next':
          world.clock.advanceToNext();
          break;
        case 'clock.almost':
          world.clock.advanceAlmost();
          break;
        default:
          fail(`unknown command ${cmd.type}`);
      }
    }
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
    const ref = s.children.approval as AnyActorRef | undefined;
    return {
      value: s.value as string,
      done: s.status === 'done',
      decision: c.decision,
      failure: c.failure,
      lockedClients: c.lockedClients,
      context: c.context,
      releasedBy: c.releasedBy,
      shuttingDown: c.shuttingDown,
      emitted: world.emitted.length,
      approval: ref ? `${ref.getSnapshot().status}:${String(ref.getSnapshot().value)}` : 'none',
      approvalDecisions: world.approvalRef ? (world.approvalRef.getSnapshot().context.decisions as ApprovalDecision[]).length : 0,
      approvalEmitted: world.approvalEmitted.length,
      policyPending: active(world.policyCalls.at(-1)?.ref),
      transferCalls: world.transferCalls.length,
      transferPending: active(world.transferCalls.at(-1)?.ref),
      restoreCalls: world.restoreCalls.length,
      restorePending: active(world.restoreCalls.at(-1)?.ref),
      locked: [...world.locked].sort(),
      timers: world.clock.pendingLabels(),
    };
  },

  key: (o) =>
    JSON.stringify([
      o.value, o.shuttingDown, o.releasedBy ?? null, o.failure?.code ?? null, o.decision?.decision ?? null, o.policyPending, o.approval,
      o.approvalDecisions, o.transferCalls, o.transferPending, o.restoreCalls, o.restorePending, o.locked, o.timers,
    ]),
  describe: (o) =>
    `${o.value}${o.done ? ' (done)' : ''}${o.shuttingDown ? ' shuttingDown' : ''}${o.approval === 'none' ? '' : ` approval=${o.approval}`}` +
    `${o.policyPending ? ' policy?' : ''}${o.transferPending ? ' transfer?' : ''}${o.restorePending ? ' restore?' : ''}` +
    ` locked=[${o.locked.join(',')}] releasedBy=${o.releasedBy ? `${o.releasedBy.kind}:${o.releasedBy.id}` : '-'} timers=[${o.timers.join(' ')}]`,

  check(step, world) {
    const { cmd, before: b, after: a, fired, now } = step;
    const emitted = world.emitted.slice(b.emitted);
    const fromChild = world.approvalEmitted.slice(b.approvalEmitted);
    const what = `${cmd.type}${cmd.by ? `(${String(cmd.by)})` : ''} in ${b.value}`;
    /** The command must change nothing: no state, context, emitted event, approval decision or stand-in call. */
    const nothing = (why = what) => {
      expectEq(emitted, [], `${why}: emitted`);
      expectEq(
        [a.value, a.done, a.decision, a.failure, a.lockedClients, a.context, a.releasedBy, a.shuttingDown, a.approval, a.approvalDecisions],
        [b.value, b.done, b.decision, b.failure, b.lockedClients, b.context, b.releasedBy, b.shuttingDown, b.approval, b.approvalDecisions],
        `${why}: nothing changes`,
      );
      expectEq([a.policyPending, a.transferCalls, a.transferPending, a.restoreCalls, a.restorePending, a.locked], [b.policyPending, b.transferCalls, b.transferPending, b.restoreCalls, b.restorePending, b.locked], `${why}: no stand-in called or answered`);
    };
    /** Entering transferring: the transfer is asked for, once, with the terminal. */
    const transferAsked = (why: string) => {
      expectEq([a.value, a.transferCalls, a.transferPending], ['transferring', 1, true], `${why}: transferring, the transfer asked once`);
      expectEq(world.transferCalls[0]!.input, { terminal: input.terminal }, `${why}: the transfer's input`);
      expectEq(a.locked, [], `${why}: the humans keep input until the transfer answers`);
    };
    /** Entering releasing: the restore is asked for, once, with the clients the transfer locked and who released. */
    const restoreAsked = (by: Requester, why: string) => {
      expectEq([a.value, a.releasedBy, a.restoreCalls, a.restorePending], ['releasing', by, 1, true], `${why}: releasing, the restore asked once`);
      expectEq(world.restoreCalls[0]!.input, { terminal: input.terminal, lockedClients: world.transferred!.lockedClients, by }, `${why}: the restore's input`);
    };
    /** A final reached with one announcement, every pending call cancelled, the approval child gone. */
    const ended = (value: string, announced: HandoffEmitted[], why: string) => {
      expectEq([a.value, a.done], [value, true], `${why}: final state`);
      expectEq(emitted, announced, `${why}: emitted`);
      expectEq([a.policyPending, a.transferPending, a.restorePending, a.approval], [false, false, false, 'none'], `${why}: nothing left pending`);
      // A call the command did not answer was cancelled by leaving its state.
      const answered = cmd.type.split('.')[0]!;
      if (b.approval === 'active:pending' && answered !== 'approval' && answered !== 'clock')
        expectEq(world.approvalRef!.getSnapshot().status, 'stopped', `${why}: the approval child is stopped undecided`);
      if (b.policyPending && answered !== 'policy') expectEq(world.policyCalls[0]!.ref.getSnapshot().status, 'stopped', `${why}: the policy call is cancelled`);
      if (b.transferPending && answered !== 'transfer') expectEq(world.transferCalls[0]!.ref.getSnapshot().status, 'stopped', `${why}: the transfer is cancelled`);
      if (b.restorePending && answered !== 'restore') expectEq(world.restoreCalls[0]!.ref.getSnapshot().status, 'stopped', `${why}: the restore is cancelled`);
    };
    const approvalEnded = (outcome: ApprovalOutcome, ds: ApprovalDecision[]) => {
      expectEq(emitted[0], { type: 'handoff.approval-ended', approvalId: input.approvalId, outcome, decisions: ds }, `approval ${outcome}: emitted first`);
      expectEq([a.approval, world.approvalRef!.getSnapshot().status], ['none', 'done'], `approval ${outcome}: the approval child finished and left`);
    };
    const rejectedBy = (failure: Failure) => {
      expectEq(emitted.length, 1, 'rejected by the approval: nothing else emitted');
      expectEq([a.value, a.done, a.failure, a.transferCalls], ['rejected', true, failure, 0], 'rejected by the approval: final, failure, no transfer ever');
    };

    if (b.done) return nothing(`${what} (final)`);

    switch (cmd.type) {
      case 'policy.allow':
        expectEq(emitted, [], 'allowed: emitted');
        expectEq(a.decision, decisions.allow, 'allowed: decision kept');
        return transferAsked('allowed');
      case 'policy.approval': {
        expectEq(emitted, [{ type: 'handoff.awaiting-approval', approvalId: input.approvalId, requirement: REQUIREMENT }], 'approval asked: emitted');
        expectEq([a.value, a.approval, a.decision, a.transferCalls], ['awaitingApproval', 'active:pending', decisions.approval, 0], 'approval asked: awaiting, no transfer');
        const c = world.approvalRef!.getSnapshot().context as Record<string, unknown>;
        expectEq([c.approvalId, c.requester, c.requirement, c.decisions], [input.approvalId, FROM, REQUIREMENT, []], 'the approval child gets the id, the requester (from) and the requirement');
        return expectEq(timer(world, 'approvalTimeout'), REQUIREMENT.timeoutMs, 'approval timeout armed');
      }
      case 'policy.deny':
      case 'policy.garbage':
      case 'policy.approvalMissing':
      case 'policy.fail': {
        const decision: PolicyDecision =
          cmd.type === 'policy.fail' ? { decision: 'deny', policies: [], message: 'the policy gate failed: Error: policy gate unreachable' } : POLICY_ANSWERS[cmd.type]!;
        ended('denied', [{ type: 'handoff.denied', decision }], `${cmd.type}: denied`);
        return expectEq([a.decision, a.transferCalls], [decision, 0], `${cmd.type}: decision recorded, no transfer ever`);
      }
      case 'approval.decide': {
        const { who } = APPROVERS[cmd.who as string]!;
        const decision = cmd.decision as 'approve' | 'reject';
        if (same(who, FROM)) {
          const e = fromChild[0];
          if (fromChild.length !== 1 || e?.type !== 'approval.refused' || !same(e.approver, who) || !e.reason.includes('made this request'))
            fail(`the requester's own decision: the approval emitted ${JSON.stringify(fromChild)}`);
          return nothing("the requester's own decision (refused)");
        }
        const d: ApprovalDecision = { approver: who, decision, ...(decision === 'reject' ? { comment: COMMENT } : {}), at: now };
        expectEq(fromChild, [{ type: 'approval.decided', decision: d, remaining: decision === 'approve' ? 0 : 1 }], `${decision}: the approval emitted`);
        approvalEnded(decision === 'approve' ? 'approved' : 'rejected', [d]);
        if (decision === 'reject') return rejectedBy({ code: 'approval_rejected', message: 'the approval was rejected; no access was transferred' });
        expectEq(emitted.length, 1, 'approved: emitted');
        return transferAsked('approved');
      }
      case 'approval.withdraw': {
        approvalEnded('withdrawn', []);
        const bad = a.value === 'rejected';
        deviation(world, knownIssues, 'withdrawn-approval-ends-as-rejected', bad, `withdrawn approval: handoff ${a.value} with ${JSON.stringify(a.failure)}`);
        if (bad) return rejectedBy({ code: 'approval_rejected', message: 'the approval was rejected; no access was transferred' });
        expectEq(emitted.slice(1), [{ type: 'handoff.ended', state: 'withdrawn' }], 'withdrawn approval: emitted');
        return expectEq([a.value, a.done, a.transferCalls], ['withdrawn', true, 0], 'withdrawn approval: withdrawn, no transfer ever');
      }
      case 'clock.almost':
        expectEq(fired, [], 'no timer fires before its deadline');
        return nothing();
      case 'clock.next':
        expectEq([fired, b.value, now], [['approvalTimeout'], 'awaitingApproval', world.askedAt! + REQUIREMENT.timeoutMs], 'approval timeout: while awaiting, timeoutMs after the ask');
        approvalEnded('timed-out', []);
        return rejectedBy({ code: 'approval_timeout', message: 'the approval timed out; no access was transferred' });
      case 'transfer.resolve': {
        const out = world.transferred!;
        expectEq(out.lockedClients, CLIENTS, 'the transfer locked every human client');
        if (b.shuttingDown) {
          // The service went down mid-transfer: the lease is given back at once, never held.
          expectEq(emitted, [], 'transferred while shutting down: emitted (no handoff.transferred)');
          expectEq(a.lockedClients, out.lockedClients, 'transferred while shutting down: the locked clients recorded');
          return restoreAsked(SERVICE, 'transferred while shutting down');
        }
        expectEq(emitted, [{ type: 'handoff.transferred', context: PACKET, lockedClients: out.lockedClients }], 'transferred: emitted');
        return expectEq([a.value, a.lockedClients, a.context, a.restoreCalls], ['held', out.lockedClients, PACKET, 0], 'transferred: held, clients and context recorded');
      }
      case 'transfer.reject': {
        const failure: Failure = { code: 'backend_failed', message: `the transfer failed: Error: ${TRANSFER_ERROR}` };
        ended('failed', [{ type: 'handoff.ended', state: 'failed', failure }], 'transfer failed');
        return expectEq([a.failure, a.lockedClients, a.locked, a.restoreCalls], [failure, [], [], 0], 'transfer failed: failure, nothing locked, nothing to restore');
      }
      case 'restore.resolve':
      case 'restore.reject':
        // Input comes back either way (a failure to tell the clients does not keep the lease).
        ended('released', [{ type: 'handoff.released', by: b.releasedBy! }], `${cmd.type}: released`);
        return expectEq([a.lockedClients, a.locked, a.releasedBy], [[], [], b.releasedBy], `${cmd.type}: input back with every locked client`);
      case 'RELEASE': {
        const by = PARTIES[cmd.by as string]!;
        if (b.value !== 'held' || cmd.by === 'third') return nothing();
        expectEq(emitted, [], `${what}: emitted (handoff.released once input is back)`);
        expectEq(a.locked, b.locked, `${what}: still locked until the restore answers`);
        return restoreAsked(by, what);
      }
      case 'CANCEL':
        if ((b.value !== 'checkingPolicy' && b.value !== 'awaitingApproval') || cmd.by === 'third') return nothing();
        ended('withdrawn', [{ type: 'handoff.ended', state: 'withdrawn' }], what);
        return expectEq([a.transferCalls, a.approvalEmitted], [0, b.approvalEmitted], `${what}: no transfer, the approval ends undecided`);
      case 'SHUTDOWN':
        if (b.value === 'checkingPolicy' || b.value === 'awaitingApproval') {
          ended('withdrawn', [{ type: 'handoff.ended', state: 'withdrawn' }], what);
          return expectEq(a.transferCalls, 0, `${what}: no transfer`);
        }
        if (b.value === 'transferring') {
          expectEq(emitted, [], `${what}: emitted`);
          return expectEq([a.value, a.shuttingDown, a.transferPending, a.transferCalls], ['transferring', true, true, 1], `${what}: the transfer goes on, the lease will be given back`);
        }
        if (b.value === 'held') {
          expectEq(emitted, [], `${what}: emitted`);
          return restoreAsked(SERVICE, what);
        }
        return nothing(); // releasing: input is already coming back
      case 'TERMINAL.CLOSED':
        ended('closed', [{ type: 'handoff.ended', state: 'closed' }], what);
        return expectEq([a.transferCalls, a.restoreCalls], [b.transferCalls, b.restoreCalls], `${what}: no new transfer or restore`);
      default:
        return fail(`unchecked command ${cmd.type}`);
    }
  },

  invariants(o, world) {
    const final = FINALS.includes(o.value);
    if (final !== o.done) fail(`${o.value}: status ${o.done ? 'done' : 'active'}`);
    if (o.done && (o.policyPending || o.transferPending || o.restorePending || o.approval !== 'none')) fail(`${o.value} (final) with something pending`);
    if ((o.value === 'awaitingApproval') !== (o.approval === 'active:pending')) fail(`handoff ${o.value} with approval child ${o.approval}`);
    if ((o.value === 'checkingPolicy') !== o.policyPending) fail(`handoff ${o.value}, policy call pending: ${o.policyPending}`);
    if ((o.value === 'transferring') !== o.transferPending) fail(`handoff ${o.value}, transfer pending: ${o.transferPending}`);
    if ((o.value === 'releasing') !== o.restorePending) fail(`handoff ${o.value}, restore pending: ${o.restorePending}`);
    if (o.value === 'awaitingApproval' && !o.timers.length) fail('awaiting approval with no timeout armed');
    if (o.value !== 'awaitingApproval' && o.timers.length) fail(`${o.value} with a timer pending: ${o.timers}`);

    // The policy is asked exactly once, for this request.
    const query: PolicyQuery = { action: 'handoff.request', requester: FROM, terminal: input.terminal, backend: 'upterm', access: 'read-write', ttlSeconds: 0, target: input.to, reason: input.reason };
    expectEq(world.policyCalls.map((c) => c.query), [query], 'the policy is asked once, with the request');

    // No transfer without an allow or an approval.
    const approved = (world.approvalRef?.getSnapshot().output as { outcome?: ApprovalOutcome } | undefined)?.outcome === 'approved';
    if (o.transferCalls > 1) fail(`${o.transferCalls} transfers`);
    if (o.transferCalls && world.policyAnswer !== 'policy.allow' && !approved) fail(`a transfer after ${world.policyAnswer ?? 'no policy answer'} without an approval`);

    // No restore without a transfer; at most one, with exactly the clients the transfer locked.
    if (o.restoreCalls > 1) fail(`${o.restoreCalls} restores`);
    if (o.restoreCalls) {
      if (!world.transferred) fail('a restore without a completed transfer');
      expectEq(world.restoreCalls[0]!.input.lockedClients, world.transferred.lockedClients, 'the restore gives input back to exactly the clients the transfer locked');
    }

    // Never two input holders: while held, every human client is locked (and recorded); before the transfer
    // and after the release, the humans have input.
    if (o.value === 'held' || o.value === 'releasing') {
      expectEq(o.locked, CLIENTS, `${o.value}: every human client is locked`);
      expectEq(o.lockedClients, world.transferred!.lockedClients, `${o.value}: the locked clients are recorded`);
    } else if (o.value !== 'closed') {
      expectEq(o.locked, [], `${o.value}: the humans have input`);
    }
    if (o.value === 'held') expectEq(o.context, PACKET, 'held: the context packet taken');
    if (o.value === 'released') {
      if (o.restoreCalls !== 1) fail(`released after ${o.restoreCalls} restores`);
      expectEq(o.lockedClients, [], 'released: no client recorded as locked');
    }

    // Each announcement at most once, and a final state announced by exactly its own.
    const count = (t: HandoffEmitted['type']) => world.emitted.filter((e) => e.type === t).length;
    for (const t of ['handoff.denied', 'handoff.awaiting-approval', 'handoff.approval-ended', 'handoff.transferred', 'handoff.released', 'handoff.ended'] as const) {
      if (count(t) > 1) fail(`${t} emitted ${count(t)} times`);
    }
    if (count('handoff.transferred') && o.value !== 'held' && o.value !== 'releasing' && o.value !== 'released' && o.value !== 'closed') fail(`handoff.transferred, then ${o.value}`);
    const ended = world.emitted.find((e) => e.type === 'handoff.ended');
    if (ended && (ended.state !== o.value || !o.done)) fail(`handoff.ended ${ended.state} while ${o.value}`);
    if (o.value === 'failed' || o.value === 'withdrawn' || o.value === 'closed') {
      if (!ended) fail(`${o.value} without handoff.ended`);
    }
    if ((o.value === 'denied') !== (count('handoff.denied') === 1)) fail(`${o.value}: handoff.denied emitted ${count('handoff.denied')} times`);
    if ((o.value === 'released') !== (count('handoff.released') === 1)) fail(`${o.value}: handoff.released emitted ${count('handoff.released')} times`);
    if (o.value === 'rejected') {
      const e = world.emitted.find((x) => x.type === 'handoff.approval-ended');
      if (e?.type !== 'handoff.approval-ended' || e.outcome === 'approved') fail(`rejected, approval ended ${JSON.stringify(e)}`);
    }
  },
};
