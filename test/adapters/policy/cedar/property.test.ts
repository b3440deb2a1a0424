import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { activate, compileEntities, compilePolicies, evaluate, groupsIn } from '../../../../src/adapters/policy/cedar/policySet.ts';
import { principalOf } from '../../../../src/adapters/policy/cedar/schema.ts';
import type { PolicyDecision, PolicyQuery } from '../../../../src/adapters/policy/types.ts';

/**
 * Properties of the gate's decisions over random policy sets, with real Cedar:
 * deny by default (no permit that matches: never allow or approval), a matching forbid always
 * wins, and with permits that match and no forbid that does, the decision is allow exactly when a
 * plain permit matches, else approval with the strictest requirement.
 */

const ACTIONS = ['share.start', 'share.extend', 'share.switch', 'handoff.request', 'approval.decide'] as const;
const BACKENDS = ['upterm', 'tmate'] as const;
const ACCESS = ['read-only', 'read-write'] as const;
const KINDS = ['human', 'ai'] as const;
const IDS = ['alice', 'bob', 'carol'];
const TERMINALS = ['tmux:a', 'tmux:b', 'zellij:c'];
const REASONS = ['', 'incident 7', 'demo'];
const GROUPS = ['g0', 'g1', 'g2', 'g3'];

type Entity = { uid: { type: string; id: string }; attrs: Record<string, never>; parents: { type: string; id: string }[] };
type World = { q: PolicyQuery; entities: Entity[]; groups: string[] };

const subset = <T>(xs: readonly T[]) => fc.subarray([...xs]);
const others = <T>(xs: readonly T[], x: T) => xs.filter((y) => y !== x);
const typeOf = (kind: 'human' | 'ai') => (kind === 'ai' ? 'Agent' : 'Human');

const query = fc.record({
  action: fc.constantFrom(...ACTIONS),
  requester: fc.record({ kind: fc.constantFrom(...KINDS), id: fc.constantFrom(...IDS) }),
  terminal: fc.constantFrom(...TERMINALS),
  backend: fc.constantFrom(...BACKENDS),
  access: fc.constantFrom(...ACCESS),
  ttlSeconds: fc.integer({ min: 1, max: 604_800 }),
  reason: fc.constantFrom(...REASONS),
});

/** Humans and Agents with the same ids in random groups; groups nest without cycles (gi only in gj, j > i). */
const entities = fc
  .record({
    groupParents: fc.tuple(...GROUPS.map((_, i) => subset(GROUPS.slice(i + 1)))),
    members: fc.tuple(...KINDS.flatMap(() => IDS.map(() => subset(GROUPS)))),
  })
  .map(({ groupParents, members }) => [
    ...GROUPS.map((g, i): Entity => ({ uid: { type: 'Group', id: g }, attrs: {}, parents: groupParents[i]!.map((p) => ({ type: 'Group', id: p })) })),
    ...KINDS.flatMap((k, ki) =>
      IDS.map((id, ii): Entity => ({ uid: { type: typeOf(k), id }, attrs: {}, parents: members[ki * IDS.length + ii]!.map((g) => ({ type: 'Group', id: g })) })),
    ),
  ]);

const world: fc.Arbitrary<World> = fc.tuple(query, entities).map(([q, ents]) => ({ q, entities: ents, groups: groupsIn(ents, principalOf(q.requester)) }));

/** Scope parts and conditions of any truth value for the request. */
const anyPrincipal = fc.oneof(
  fc.constant('principal'),
  fc.constantFrom('Human', 'Agent').map((t) => `principal is ${t}`),
  fc.tuple(fc.constantFrom('Human', 'Agent'), fc.constantFrom(...GROUPS)).map(([t, g]) => `principal is ${t} in Group::"${g}"`),
  fc.constantFrom(...GROUPS).map((g) => `principal in Group::"${g}"`),
  fc.tuple(fc.constantFrom('Human', 'Agent'), fc.constantFrom(...IDS)).map(([t, id]) => `principal == ${t}::"${id}"`),
);
const anyAction = fc.oneof(
  fc.constant('action'),
  fc.constantFrom(...ACTIONS).map((a) => `action == Action::"${a}"`),
  fc.subarray([...ACTIONS], { minLength: 1 }).map((as) => `action in [${as.map((a) => `Action::"${a}"`).join(', ')}]`),
);
const anyResource = fc.oneof(fc.constant('resource'), fc.constant('resource is Terminal'), fc.constantFrom(...TERMINALS).map((t) => `resource == Terminal::"${t}"`));
const anyCondition = fc.oneof(
  fc.integer({ min: 0, max: 700_000 }).map((n) => `context.ttlSeconds <= ${n}`),
  fc.constantFrom(...ACCESS).map((a) => `context.access == "${a}"`),
  fc.constantFrom(...BACKENDS).map((b) => `context.backend != "${b}"`),
  fc.constantFrom(...KINDS).map((k) => `context.requesterKind == "${k}"`),
  fc.constantFrom('*incident*', 'demo', '*').map((p) => `context.reason like "${p}"`),
  fc.constantFrom(...GROUPS).map((g) => `principal in Group::"${g}"`),
  fc.constantFrom(...TERMINALS).map((t) => `resource == Terminal::"${t}"`),
);
const anyConditions = fc.array(fc.tuple(anyCondition, fc.constantFrom('&&', '||')), { maxLength: 3 });

/** Conditions that are true / false for this request. */
const trueFor = ({ q, groups }: World) =>
  fc.oneof(
    fc.integer({ min: q.ttlSeconds, max: 700_000 }).map((n) => `context.ttlSeconds <= ${n}`),
    fc.constant(`context.access == "${q.access}"`),
    fc.constant(`context.backend == "${q.backend}"`),
    fc.constant(`context.requesterKind == "${q.requester.kind}"`),
    fc.constant(`context.reason == "${q.reason}"`),
    fc.constant(`resource == Terminal::"${q.terminal}"`),
    ...(groups.length > 0 ? [fc.constantFrom(...groups).map((g) => `principal in Group::"${g}"`)] : []),
  );
const falseFor = ({ q, groups }: World) =>
  fc.oneof(
    fc.integer({ min: q.ttlSeconds, max: 700_000 }).map((n) => `context.ttlSeconds > ${n}`),
    fc.integer({ min: 0, max: q.ttlSeconds }).map((n) => `context.ttlSeconds < ${n}`),
    fc.constantFrom(...others(ACCESS, q.access)).map((a) => `context.access == "${a}"`),
    fc.constantFrom(...others(BACKENDS, q.backend)).map((b) => `context.backend == "${b}"`),
    fc.constantFrom(...others(KINDS, q.requester.kind)).map((k) => `context.requesterKind == "${k}"`),
    fc.constantFrom(...others(REASONS, q.reason!)).map((r) => `context.reason == "${r}"`),
    fc.constantFrom(...others(TERMINALS, q.terminal)).map((t) => `resource == Terminal::"${t}"`),
    ...(groups.length < GROUPS.length ? [fc.constantFrom(...others(GROUPS, '').filter((g) => !groups.includes(g))).map((g) => `principal in Group::"${g}"`)] : []),
  );

/** Scope parts that rule the request out. */
const principalMismatch = ({ q, groups }: World) => {
  const type = typeOf(q.requester.kind);
  const otherType = typeOf(q.requester.kind === 'ai' ? 'human' : 'ai');
  return fc.oneof(
    fc.constant(`principal == ${otherType}::"${q.requester.id}"`), // same id, other kind: an Agent is never a Human
    fc.constantFrom(...others(IDS, q.requester.id)).map((id) => `principal == ${type}::"${id}"`),
    fc.constant(`principal is ${otherType}`),
    ...(groups.length < GROUPS.length ? [fc.constantFrom(...GROUPS.filter((g) => !groups.includes(g))).map((g) => `principal in Group::"${g}"`)] : []),
  );
};
const actionMismatch = ({ q }: World) =>
  fc.oneof(
    fc.constantFrom(...others(ACTIONS, q.action)).map((a) => `action == Action::"${a}"`),
    fc.subarray(others(ACTIONS, q.action), { minLength: 1 }).map((as) => `action in [${as.map((a) => `Action::"${a}"`).join(', ')}]`),
  );
const resourceMismatch = ({ q }: World) => fc.constantFrom(...others(TERMINALS, q.terminal)).map((t) => `resource == Terminal::"${t}"`);

const approvals = fc.option(
  fc.record({
    n: fc.integer({ min: 0, max: 5 }),
    groups: fc.subarray(GROUPS, { minLength: 1 }),
    ordered: fc.option(fc.boolean(), { nil: undefined }),
    timeout: fc.option(fc.integer({ min: 1, max: 604_800 }), { nil: undefined }),
  }),
  { nil: undefined },
);
type Approvals = { n: number; groups: string[]; ordered?: boolean; timeout?: number } | undefined;

type Policy = { effect: 'permit' | 'forbid'; principal: string; action: string; resource: string; when: string[]; unless?: string; approvals?: Approvals; reason?: string };
const render = (p: Policy, id: string) =>
  [
    `@id("${id}")`,
    ...(p.reason ? [`@reason("${p.reason}")`] : []),
    ...(p.approvals && p.approvals.n > 0
      ? [
          `@approvals("${p.approvals.n}")`,
          `@approvers("${p.approvals.groups.join(',')}")`,
          ...(p.approvals.ordered !== undefined ? [`@approval_ordered("${p.approvals.ordered}")`] : []),
          ...(p.approvals.timeout !== undefined ? [`@approval_timeout("${p.approvals.timeout}")`] : []),
        ]
      : []),
    `${p.effect} (${p.principal}, ${p.action}, ${p.resource})`,
    ...(p.when.length > 0 ? [`when { ${p.when.join(' && ')} }`] : []),
    ...(p.unless ? [`unless { ${p.unless} }`] : []),
  ].join('\n') + ';';

/** Joins random conditions with && / || into one parenthesised expression (or none). */
const joined = (cs: [string, string][]) => (cs.length === 0 ? [] : [`(${cs.map(([c], i) => (i === 0 ? c : `${cs[i - 1]![1]} ${c}`)).join(' ')})`]);

/** A policy that cannot match the request: one part of it (scope or a condition) rules it out. */
const nonMatching = (w: World, effect: 'permit' | 'forbid'): fc.Arbitrary<Policy> =>
  fc
    .record({
      principal: anyPrincipal,
      action: anyAction,
      resource: anyResource,
      extra: anyConditions,
      approvals,
      reason: fc.option(fc.constantFrom('off today', 'no'), { nil: undefined }),
      spoiler: fc.oneof(
        principalMismatch(w).map((s) => ({ principal: s })),
        actionMismatch(w).map((s) => ({ action: s })),
        resourceMismatch(w).map((s) => ({ resource: s })),
        falseFor(w).map((c) => ({ falseWhen: c })),
        trueFor(w).map((c) => ({ unless: c })),
      ),
    })
    .map(({ spoiler, extra, approvals, reason, ...scope }) => {
      const { falseWhen, unless, ...scopeSpoiler } = spoiler as { falseWhen?: string; unless?: string; principal?: string; action?: string; resource?: string };
      return {
        effect,
        ...scope,
        ...scopeSpoiler,
        when: [...joined(extra), ...(falseWhen ? [falseWhen] : [])],
        unless,
        approvals: effect === 'permit' ? approvals : undefined,
        reason: effect === 'forbid' ? reason : undefined,
      };
    });

/** A policy that matches the request: every part of its scope and every condition holds. */
const matching = (w: World, effect: 'permit' | 'forbid'): fc.Arbitrary<Policy> => {
  const { q, groups } = w;
  const type = typeOf(q.requester.kind);
  return fc.record({
    effect: fc.constant(effect),
    principal: fc.constantFrom('principal', `principal is ${type}`, `principal == ${type}::"${q.requester.id}"`, ...groups.map((g) => `principal in Group::"${g}"`)),
    action: fc.constantFrom('action', `action == Action::"${q.action}"`, `action in [Action::"${q.action}", Action::"${others(ACTIONS, q.action)[0]}"]`),
    resource: fc.constantFrom('resource', 'resource is Terminal', `resource == Terminal::"${q.terminal}"`),
    when: fc.array(trueFor(w), { maxLength: 3 }),
    approvals: effect === 'permit' ? approvals : fc.constant(undefined),
  });
};

/** Compiles the policies (with ids p0.., in order) and decides the request. */
function decide(w: World, policies: Policy[]): { decision: PolicyDecision; ids: string[] } {
  const ids = policies.map((_, i) => `p${i}`);
  const text = policies.map((p, i) => render(p, ids[i]!)).join('\n\n');
  const compiled = compilePolicies(text, 'random.cedar');
  if (!compiled.ok) throw new Error(`the generated policies do not compile:\n${compiled.errors.join('\n')}\n---\n${text}`);
  const ents = compileEntities(JSON.stringify(w.entities), 'random.json');
  if (!ents.ok) throw new Error(ents.errors.join('\n'));
  return { decision: evaluate(activate(compiled.value, ents.value, 'property-test'), w.q, 'random.cedar'), ids };
}

const shuffled = <T>(xs: T[]) => fc.shuffledSubarray(xs, { minLength: xs.length, maxLength: xs.length });

describe('policy decisions over random policy sets (fast-check, real Cedar)', () => {
  it('without a permit that matches the request, the decision is never allow or approval', () => {
    fc.assert(
      fc.property(
        world.chain((w) => fc.tuple(fc.constant(w), fc.array(nonMatching(w, 'permit'), { maxLength: 6 }), fc.array(fc.oneof(nonMatching(w, 'forbid'), matching(w, 'forbid')), { maxLength: 3 }))),
        ([w, permits, forbids]) => {
          const policies = [...permits, ...forbids];
          const { decision, ids } = decide(w, policies);
          expect(decision.decision).toBe('deny');
          expect(decision.approval).toBeUndefined();
          // A denial names only forbids, and names one whenever some forbid matched.
          for (const id of decision.policies) expect(policies[ids.indexOf(id)]!.effect).toBe('forbid');
          if (decision.policies.length === 0) expect(decision.message).toMatch(/^no policy permits (Human|Agent)::"/);
          else expect(decision.message).toMatch(/^forbidden by policy /);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a forbid that matches the request denies it, whatever the permits', () => {
    fc.assert(
      fc.property(
        world.chain((w) =>
          fc.tuple(
            fc.constant(w),
            fc.array(fc.oneof(matching(w, 'permit'), nonMatching(w, 'permit')), { maxLength: 5 }),
            matching(w, 'forbid'),
            fc.array(nonMatching(w, 'forbid'), { maxLength: 2 }),
          ),
        ),
        ([w, permits, forbid, otherForbids]) => {
          const { decision, ids } = decide(w, [...permits, ...otherForbids, forbid]);
          expect(decision.decision).toBe('deny');
          expect(decision.policies).toContain(ids[ids.length - 1]);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('with permits that match and no forbid that does: allow iff a plain permit matches, else approval with the strictest', () => {
    fc.assert(
      fc.property(
        world.chain((w) =>
          fc
            .tuple(fc.array(nonMatching(w, 'permit'), { maxLength: 4 }), fc.array(matching(w, 'permit'), { minLength: 1, maxLength: 3 }), fc.array(nonMatching(w, 'forbid'), { maxLength: 3 }))
            .chain(([a, b, c]) => fc.tuple(fc.constant(w), shuffled([...a, ...b, ...c]), fc.constant(b))),
        ),
        ([w, policies, matched]) => {
          const { decision, ids } = decide(w, policies);
          const idOf = (p: Policy) => ids[policies.indexOf(p)]!;
          const plain = matched.filter((p) => !p.approvals || p.approvals.n === 0);
          if (plain.length > 0) {
            expect(decision.decision).toBe('allow');
            expect(decision.policies).toEqual(plain.map(idOf).sort((a, b) => ids.indexOf(a) - ids.indexOf(b)));
            return;
          }
          expect(decision.decision).toBe('approval');
          const most = Math.max(...matched.map((p) => p.approvals!.n));
          expect(decision.approval!.approvals).toBe(most);
          const chosen = policies[ids.indexOf(decision.approval!.policy)]!;
          expect(matched).toContain(chosen);
          expect(decision.approval).toEqual({
            policy: idOf(chosen),
            approvals: chosen.approvals!.n,
            approvers: chosen.approvals!.groups,
            ordered: chosen.approvals!.ordered ?? false,
            timeoutMs: (chosen.approvals!.timeout ?? 900) * 1000,
          });
          expect([...decision.policies].sort()).toEqual(matched.map(idOf).sort());
        },
      ),
      { numRuns: 100 },
    );
  });
});
