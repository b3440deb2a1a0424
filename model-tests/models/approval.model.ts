import { createActor, setup, type AnyActorRef } from 'xstate';
import type { Requester } from '../../src/api/schemas.ts';
import { approval, type ApprovalDecision, type ApprovalEmitted, type ApprovalInput, type ApprovalOutcome } from '../../src/machines/approval.ts';
import type { ApprovalRequirement } from '../../src/machines/shareSession.ts';
import type { Recorder } from '../lib/recorder.ts';
import { baseWorld, expectEq, fail, startRoot, type BaseWorld, type Command, type Model } from '../lib/model.ts';

const GROUPS = ['leads', 'security'];
const TIMEOUT_MS = 30_000;
/** The requests a test can open: unordered / ordered, 1 to 3 approvals (3 ordered: the last group repeats). */
const REQUIREMENTS: Record<string, ApprovalRequirement> = {
  u1: { policy: 'permit-prod-rw', approvals: 1, approvers: GROUPS, ordered: false, timeoutMs: TIMEOUT_MS },
  u2: { policy: 'permit-prod-rw', approvals: 2, approvers: GROUPS, ordered: false, timeoutMs: TIMEOUT_MS },
  o1: { policy: 'permit-prod-rw', approvals: 1, approvers: GROUPS, ordered: true, timeoutMs: TIMEOUT_MS },
  o2: { policy: 'permit-prod-rw', approvals: 2, approvers: GROUPS, ordered: true, timeoutMs: TIMEOUT_MS },
  o3: { policy: 'permit-prod-rw', approvals: 3, approvers: GROUPS, ordered: true, timeoutMs: TIMEOUT_MS },
};
const REQUESTER: Requester = { kind: 'human', id: 'alice' };
const APPROVAL_ID = 'ap_model0001';
/** The principals a test can make decide, with the groups the caller (the policy gate) resolves for them. */
const PEOPLE: Record<string, { who: Requester; groups: string[] }> = {
  alice: { who: REQUESTER, groups: ['leads'] }, // the requester, in an approver group
  bob: { who: { kind: 'human', id: 'bob' }, groups: ['leads'] },
  carol: { who: { kind: 'human', id: 'carol' }, groups: ['security'] },
  dave: { who: { kind: 'human', id: 'dave' }, groups: ['leads', 'security'] },
  mallory: { who: { kind: 'human', id: 'mallory' }, groups: ['interns'] },
};
const COMMENT = 'not during the freeze';
/** What the caller says when the request cannot be granted now (its terminal is full). */
const BLOCKED = 'tmux:w already has 2 active share(s): stop or revoke one, then approve again';

const same = (a: Requester, b: Requester) => a.kind === b.kind && a.id === b.id;
const label = (r: Requester) => `${r.kind}:${r.id}`;
const groupAt = (r: ApprovalRequirement, n: number) => r.approvers[Math.min(n, r.approvers.length - 1)]!;
const approvalsIn = (ds: ApprovalDecision[]) => ds.filter((d) => d.decision === 'approve').length;
const FINALS: Record<string, ApprovalOutcome> = { approved: 'approved', rejected: 'rejected', timedOut: 'timed-out', withdrawn: 'withdrawn' };

type World = BaseWorld & {
  recorder: Recorder;
  variant?: string;
  requestedAt?: number;
  emitted: ApprovalEmitted[];
};
type Obs = {
  variant?: string;
  value: string;
  done: boolean;
  decisions: ApprovalDecision[];
  output?: { outcome: ApprovalOutcome; decisions: ApprovalDecision[] };
  emitted: number;
  timers: string[];
};

const idle = setup({}).createMachine({ id: 'approvalNotRequested' });

/** What the machine must do with a DECIDE: refuse (and why), or record it and land where. The test's own reading of the rules. */
function oracle(r: ApprovalRequirement, decisions: ApprovalDecision[], who: Requester, groups: string[], decision: 'approve' | 'reject', blocked = false) {
  if (same(who, REQUESTER)) return { refused: 'self' as const };
  if (decisions.some((d) => same(d.approver, who))) return { refused: 'twice' as const };
  const n = approvalsIn(decisions);
  const allowed = r.ordered ? [groupAt(r, n)] : r.approvers;
  if (!groups.some((g) => allowed.includes(g))) return { refused: 'group' as const, allowed };
  const after = decision === 'approve' ? n + 1 : n;
  // A grant the caller says cannot be taken now is refused; the request stays pending.
  if (blocked && decision === 'approve' && after >= r.approvals) return { refused: 'blocked' as const };
  const value = decision === 'reject' ? 'rejected' : after >= r.approvals ? 'approved' : 'pending';
  return { value, remaining: Math.max(0, r.approvals - after) };
}

export const model: Model<World, Obs> = {
  machine: approval,
  maxDepth: 6,
  knownIssues: {},
  unreachable: {},

  createWorld(recorder) {
    const base = baseWorld();
    const world = { ...base, recorder, emitted: [] as ApprovalEmitted[] } as World;
    // The requirement is the first test event (`request(u2)`): until then the root is an idle placeholder.
    world.root = createActor(idle).start();
    return world;
  },

  commands(world, o) {
    if (!world.variant) return Object.keys(REQUIREMENTS).map((variant) => ({ type: 'request', variant }));
    if (o.done) {
      // Final is final: a late decision or withdrawal changes nothing.
      return [{ type: 'DECIDE', who: 'bob', decision: 'approve' }, { type: 'DECIDE', who: 'carol', decision: 'reject' }, { type: 'WITHDRAW' }];
    }
    const cmds: Command[] = [];
    for (const who of Object.keys(PEOPLE)) cmds.push({ type: 'DECIDE', who, decision: 'approve' }, { type: 'DECIDE', who, decision: 'reject' });
    cmds.push({ type: 'DECIDE', who: 'bob', decision: 'approve', blocked: true }, { type: 'WITHDRAW' });
    if (o.timers.length) cmds.push({ type: 'clock.next' }, { type: 'clock.almost' });
    return cmds;
  },

  apply(world, cmd) {
    const at = world.clock.now();
    const send = (e: Parameters<AnyActorRef['send']>[0]) => {
      if (world.root.getSnapshot().status === 'active') return world.root.send(e);
      // xstate warns about events sent to an actor in a final state; the step's check sees they change nothing.
      const warn = console.warn;
      console.warn = () => {};
      try {
        world.root.send(e);
      } finally {
        console.warn = warn;
      }
    };
    switch (cmd.type) {
      case 'request': {
        const variant = cmd.variant as string;
        const input: ApprovalInput = { approvalId: APPROVAL_ID, requester: REQUESTER, requirement: REQUIREMENTS[variant]! };
        world.root.stop();
        world.variant = variant;
        world.requestedAt = at;
        world.root = startRoot(world, approval, world.recorder, input, (a) => a.on('*', (e) => world.emitted.push(e as ApprovalEmitted)));
        return;
      }
      case 'DECIDE': {
        const p = PEOPLE[cmd.who as string]!;
        const decision = cmd.decision as 'approve' | 'reject';
        return send({ type: 'DECIDE', approver: p.who, groups: p.groups, decision, ...(decision === 'reject' ? { comment: COMMENT } : {}), ...(cmd.blocked ? { blocked: BLOCKED } : {}), at });
      }
      case 'WITHDRAW':
        return send({ type: 'WITHDRAW' });
      case 'clock.next':
        return world.clock.advanceToNext();
      case 'clock.almost':
        return world.clock.advanceAlmost();
      default:
        fail(`unknown command ${cmd.type}`);
    }
  },

  observe(world) {
    const timers = world.clock.pendingLabels();
    if (!world.variant) return { value: 'not requested', done: false, decisions: [], emitted: 0, timers };
    const s = world.root.getSnapshot();
    return {
      variant: world.variant,
      value: s.value as string,
      done: s.status === 'done',
      decisions: s.context.decisions,
      output: s.output,
      emitted: world.emitted.length,
      timers,
    };
  },

  key: (o) => JSON.stringify([o.variant ?? null, o.value, o.decisions.map((d) => `${label(d.approver)}:${d.decision}`), o.timers]),
  describe: (o) =>
    `${o.variant ?? '-'} ${o.value}${o.done ? ' (done)' : ''} decisions=[${o.decisions.map((d) => `${label(d.approver)}:${d.decision}`).join(',')}] timers=[${o.timers.join(' ')}]`,

  check({ cmd, before: b, after: a, fired, now }, world) {
    const emitted = world.emitted.slice(b.emitted);
    const unchanged = (what: string) => {
      expectEq(emitted, [], `${what}: emitted`);
      expectEq([a.value, a.done, a.decisions, a.output, a.timers], [b.value, b.done, b.decisions, b.output, b.timers], `${what}: nothing changes`);
    };
    const ended = (value: string, what: string) => {
      expectEq([a.value, a.done], [value, true], `${what}: final state`);
      expectEq(a.output, { outcome: FINALS[value], decisions: a.decisions }, `${what}: output`);
      expectEq(a.timers, [], `${what}: the timeout is cancelled`);
    };
    if (cmd.type === 'request') {
      expectEq([a.value, a.done, a.decisions, a.emitted], ['pending', false, [], 0], 'requested: pending, no decision, nothing emitted');
      return expectEq(a.timers, [`approvalTimeout:${TIMEOUT_MS}`], 'requested: the timeout is armed');
    }
    if (b.done) return unchanged(`${cmd.type} after ${b.value}`);
    const r = REQUIREMENTS[world.variant!]!;
    switch (cmd.type) {
      case 'DECIDE': {
        const p = PEOPLE[cmd.who as string]!;
        const decision = cmd.decision as 'approve' | 'reject';
        const what = `${label(p.who)} ${decision}s${cmd.blocked ? ' (terminal full)' : ''} (${world.variant}, after ${b.decisions.length} decision(s))`;
        const want = oracle(r, b.decisions, p.who, p.groups, decision, cmd.blocked === true);
        if (want.refused) {
          const e = emitted[0];
          if (emitted.length !== 1 || e?.type !== 'approval.refused' || !same(e.approver, p.who)) fail(`${what}: expected one approval.refused for ${label(p.who)}, got ${JSON.stringify(emitted)}`);
          if ((e.code === 'limit_exceeded') !== (want.refused === 'blocked')) fail(`${what}: refusal code ${String(e.code)}`);
          const reason =
            want.refused === 'blocked'
              ? new RegExp(`^${BLOCKED.replace(/[()]/g, '\\$&')}$`)
              : want.refused === 'self'
              ? new RegExp(`^${label(p.who)} made this request and cannot decide it; ask someone in ${r.ordered ? groupAt(r, approvalsIn(b.decisions)) : r.approvers.join(' or ')}$`)
              : want.refused === 'twice'
                ? new RegExp(`^${label(p.who)} has already decided this request`)
                : new RegExp(`^${label(p.who)} is not in ${r.ordered ? 'group ' : ''}${want.allowed.join(' or ')}, whose members decide ${r.ordered ? 'this step' : 'this request'}$`);
          if (!reason.test(e.reason)) fail(`${what}: refusal reason ${JSON.stringify(e.reason)} does not match ${reason}`);
          expectEq([a.value, a.decisions, a.timers], [b.value, b.decisions, b.timers], `${what}: refused, nothing recorded`);
          return;
        }
        const d: ApprovalDecision = { approver: p.who, decision, ...(decision === 'reject' ? { comment: COMMENT } : {}), at: now };
        expectEq(a.decisions, [...b.decisions, d], `${what}: decision recorded`);
        expectEq(emitted, [{ type: 'approval.decided', decision: d, remaining: want.remaining }], `${what}: emitted`);
        if (want.value === 'pending') {
          expectEq([a.value, a.done, a.timers], ['pending', false, b.timers], `${what}: still pending, same deadline`);
          return;
        }
        return ended(want.value!, what);
      }
      case 'WITHDRAW':
        expectEq(emitted, [], 'WITHDRAW: emitted');
        expectEq(a.decisions, b.decisions, 'WITHDRAW: decisions kept');
        return ended('withdrawn', 'WITHDRAW');
      case 'clock.almost':
        expectEq([fired, a.timers], [[], ['approvalTimeout:1']], 'no timer fires before its deadline');
        expectEq(emitted, [], 'clock.almost: emitted');
        return expectEq([a.value, a.decisions], [b.value, b.decisions], 'clock.almost: nothing changes');
      case 'clock.next':
        expectEq([fired, now], [['approvalTimeout'], world.requestedAt! + TIMEOUT_MS], 'the timeout fires timeoutMs after the request');
        expectEq(emitted, [], 'timed out: emitted');
        expectEq(a.decisions, b.decisions, 'timed out: decisions kept');
        return ended('timedOut', 'timed out');
    }
  },

  invariants(o, world) {
    if (!world.variant) return;
    const r = REQUIREMENTS[world.variant]!;
    const ds = o.decisions;
    const n = approvalsIn(ds);
    if (ds.some((d) => same(d.approver, REQUESTER))) fail(`a decision by the requester ${label(REQUESTER)}`);
    const who = ds.map((d) => label(d.approver));
    if (new Set(who).size !== who.length) fail(`more than one decision by one approver: ${who.join(',')}`);
    if (o.value === 'approved' && n < r.approvals) fail(`approved with ${n} of ${r.approvals} approvals`);
    if (o.value !== 'approved' && n >= r.approvals) fail(`${n} of ${r.approvals} approvals, but ${o.value}`);
    if (ds.some((d, i) => d.decision === 'reject' && i !== ds.length - 1)) fail('a decision recorded after a rejection');
    if ((o.value === 'rejected') !== (ds.at(-1)?.decision === 'reject')) fail(`${o.value} but the last decision is ${ds.at(-1)?.decision ?? 'none'}`);
    ds.forEach((d, i) => {
      const groups = Object.values(PEOPLE).find((p) => same(p.who, d.approver))!.groups;
      const allowed = r.ordered ? [groupAt(r, approvalsIn(ds.slice(0, i)))] : r.approvers;
      if (!groups.some((g) => allowed.includes(g))) fail(`decision ${i + 1} by ${label(d.approver)}, who is in none of ${allowed.join(',')}`);
    });
    const final = o.value in FINALS;
    if (final !== o.done) fail(`${o.value}: status ${o.done ? 'done' : 'active'}`);
    if (final) {
      expectEq(o.output, { outcome: FINALS[o.value], decisions: ds }, `${o.value}: output`);
      if (o.timers.length) fail(`${o.value} with a timer pending: ${o.timers}`);
    } else {
      expectEq(o.value, 'pending', 'state');
      expectEq(o.timers, [`approvalTimeout:${world.requestedAt! + TIMEOUT_MS - world.clock.now()}`], 'pending: exactly the request timeout is armed');
    }
  },
};
