import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CedarPolicyGate } from '../../../../src/adapters/policy/cedar/cedarGate.ts';
import type { PolicyQuery } from '../../../../src/adapters/policy/types.ts';

const examples = join(import.meta.dirname, '../../../../examples');
const OPERATOR = { kind: 'human', id: 'operator' } as const;
const LEAD = { kind: 'human', id: 'lee' } as const;
const q = (o: Partial<PolicyQuery> = {}): PolicyQuery => ({
  action: 'share.start',
  requester: OPERATOR,
  terminal: 'tmux:w',
  backend: 'upterm',
  access: 'read-only',
  ttlSeconds: 600,
  ...o,
});

const gates: CedarPolicyGate[] = [];
afterAll(() => gates.forEach((g) => g.close()));

/** A gate on a fresh directory holding `policy` (null: no file) and `entities` (null: no file). */
async function gateWith(policy: string | null, entities: unknown[] | null = null): Promise<CedarPolicyGate> {
  const dir = await mkdtemp(join(tmpdir(), 'cedar-'));
  if (policy !== null) await writeFile(join(dir, 'policy.cedar'), policy);
  if (entities !== null) await writeFile(join(dir, 'entities.json'), JSON.stringify(entities));
  const gate = new CedarPolicyGate(join(dir, 'policy.cedar'), join(dir, 'entities.json'));
  gates.push(gate);
  return gate;
}

describe('Cedar policy gate with the example policies', () => {
  let gate: CedarPolicyGate;
  beforeAll(async () => {
    gate = await gateWith(await readFile(join(examples, 'policy.cedar'), 'utf8'), JSON.parse(await readFile(join(examples, 'entities.json'), 'utf8')));
  });

  describe('operators-read-only: operators share read-only up to 30 minutes, no approval', () => {
    it('permits an operator to share read-only for 30 minutes', async () => {
      expect(await gate.decide(q({ ttlSeconds: 1800 }))).toMatchObject({ decision: 'allow', policies: ['operators-read-only'] });
    });
    it('with either backend', async () => {
      expect((await gate.decide(q({ backend: 'tmate' }))).decision).toBe('allow');
    });
    it('denies an operator a share longer than 30 minutes, saying no policy permits it', async () => {
      const d = await gate.decide(q({ ttlSeconds: 1801 }));
      expect(d).toMatchObject({ decision: 'deny', policies: [] });
      expect(d.message).toMatch(/no policy permits Human::"operator" to share\.start tmux:w/);
    });
    it('denies someone outside the operators group', async () => {
      expect((await gate.decide(q({ requester: { kind: 'human', id: 'mallory' } }))).decision).toBe('deny');
    });
    it('a lead is an operator through the nested group', async () => {
      expect((await gate.decide(q({ requester: LEAD }))).decision).toBe('allow');
    });
    it('an AI agent named like an operator is still an Agent, not a Human', async () => {
      const d = await gate.decide(q({ requester: { kind: 'ai', id: 'operator' } }));
      expect(d.decision).toBe('deny');
      expect(d.message).toContain('Agent::"operator"');
    });
  });

  describe('operators-read-write: read-write needs one approval from leads', () => {
    it('asks for one approval from leads, with the default timeout', async () => {
      expect(await gate.decide(q({ access: 'read-write', ttlSeconds: 1800 }))).toMatchObject({
        decision: 'approval',
        policies: ['operators-read-write'],
        approval: { policy: 'operators-read-write', approvals: 1, approvers: ['leads'], ordered: false, timeoutMs: 900_000 },
        message: expect.stringMatching(/operators-read-write permits this once it has 1 approval from members of leads/),
      });
    });
    it('past 30 minutes read-write is not permitted at all', async () => {
      expect(await gate.decide(q({ access: 'read-write', ttlSeconds: 1801 }))).toMatchObject({ decision: 'deny', policies: [] });
    });
    it('not for someone outside operators', async () => {
      expect((await gate.decide(q({ access: 'read-write', requester: { kind: 'human', id: 'mallory' } }))).decision).toBe('deny');
    });
  });

  describe('no-rw-for-agents: a forbid beats every permit', () => {
    it('forbids an agent a read-write share, naming the policy and its reason', async () => {
      const d = await gate.decide(q({ requester: { kind: 'ai', id: 'operator' }, access: 'read-write' }));
      expect(d).toMatchObject({ decision: 'deny', policies: ['no-rw-for-agents'] });
      expect(d.message).toBe('forbidden by policy no-rw-for-agents (AI agents may not hold read-write shares)');
    });
    it('also for an agent that is in the operators group, whose permit would otherwise apply', async () => {
      const g = await gateWith(await readFile(join(examples, 'policy.cedar'), 'utf8'), [
        { uid: { type: 'Agent', id: 'bot' }, attrs: {}, parents: [{ type: 'Group', id: 'operators' }] },
        { uid: { type: 'Group', id: 'operators' }, attrs: {}, parents: [] },
      ]);
      const bot = { kind: 'ai', id: 'bot' } as const;
      expect((await g.decide(q({ requester: bot }))).decision).toBe('allow');
      expect(await g.decide(q({ requester: bot, access: 'read-write' }))).toMatchObject({ decision: 'deny', policies: ['no-rw-for-agents'] });
      expect(await g.decide(q({ requester: bot, access: 'read-write', action: 'share.switch' }))).toMatchObject({ decision: 'deny', policies: ['no-rw-for-agents'] });
      expect((await g.decide(q({ requester: bot, action: 'share.switch' }))).decision).toBe('allow');
    });
  });

  describe('operators-extend and operators-switch', () => {
    it('lets an operator extend up to 30 minutes from now, and no further', async () => {
      expect(await gate.decide(q({ action: 'share.extend', ttlSeconds: 1800 }))).toMatchObject({ decision: 'allow', policies: ['operators-extend'] });
      expect((await gate.decide(q({ action: 'share.extend', ttlSeconds: 1801 }))).decision).toBe('deny');
    });
    it('lets an operator switch backends, and nobody else', async () => {
      expect(await gate.decide(q({ action: 'share.switch', backend: 'tmate' }))).toMatchObject({ decision: 'allow', policies: ['operators-switch'] });
      expect((await gate.decide(q({ action: 'share.switch', requester: { kind: 'human', id: 'mallory' } }))).decision).toBe('deny');
    });
  });

  describe('handoff-needs-a-lead', () => {
    it('a handoff by an operator to an AI agent needs one approval from leads', async () => {
      expect(await gate.decide(q({ action: 'handoff.request', target: { kind: 'ai', id: 'claude' } }))).toMatchObject({
        decision: 'approval',
        approval: { policy: 'handoff-needs-a-lead', approvals: 1, approvers: ['leads'] },
      });
    });
    it('a handoff to another person needs none', async () => {
      expect(await gate.decide(q({ action: 'handoff.request', target: { kind: 'human', id: 'alice' } }))).toMatchObject({ decision: 'allow', policies: ['handoff-to-people'] });
    });
    it('nobody outside operators may ask for one', async () => {
      expect((await gate.decide(q({ action: 'handoff.request', requester: { kind: 'human', id: 'mallory' } }))).decision).toBe('deny');
    });
  });

  describe('approvers: leads-approve and agents-never-approve', () => {
    it('a lead may decide approvals; an operator who is not a lead may not', async () => {
      expect(await gate.canDecide(LEAD, q({ access: 'read-write' }))).toMatchObject({ decision: 'allow', policies: ['leads-approve'] });
      const d = await gate.canDecide(OPERATOR, q({ access: 'read-write' }));
      expect(d.decision).toBe('deny');
      expect(d.message).toMatch(/no policy permits Human::"operator" to approval\.decide tmux:w/);
    });
    it('an AI agent never approves, even one in leads', async () => {
      const g = await gateWith(await readFile(join(examples, 'policy.cedar'), 'utf8'), [
        { uid: { type: 'Agent', id: 'bot' }, attrs: {}, parents: [{ type: 'Group', id: 'leads' }] },
        { uid: { type: 'Group', id: 'leads' }, attrs: {}, parents: [] },
      ]);
      expect(await g.canDecide({ kind: 'ai', id: 'bot' }, q())).toMatchObject({ decision: 'deny', policies: ['agents-never-approve'] });
    });
  });

  it('groupsOf follows nested groups, and keeps Humans and Agents apart', async () => {
    expect(await gate.groupsOf(LEAD)).toEqual(['leads', 'operators']);
    expect(await gate.groupsOf(OPERATOR)).toEqual(['operators']);
    expect(await gate.groupsOf({ kind: 'ai', id: 'lee' })).toEqual([]);
    expect(await gate.groupsOf({ kind: 'human', id: 'nobody' })).toEqual([]);
  });

  it('lists the policies in force, in file order', async () => {
    expect(await gate.policies()).toEqual([
      'operators-read-only',
      'operators-read-write',
      'operators-extend',
      'operators-switch',
      'handoff-needs-a-lead',
      'handoff-to-people',
      'leads-approve',
      'operators-see',
      'owner-or-lead-ends',
      'giver-takes-back',
      'lease-holder-uses-terminal',
      'operators-watch',
      'operators-read-audit',
      'no-rw-for-agents',
      'agents-never-approve',
    ]);
  });

  describe('owner-or-lead-ends, and verbs on what exists', () => {
    const bob = { kind: 'human' as const, id: 'bob' };
    const lee = { kind: 'human' as const, id: 'lee' };
    it('the owner or a lead may revoke; another operator may not', async () => {
      expect((await gate.decide(q({ action: 'share.revoke', owner: OPERATOR }))).decision).toBe('allow');
      expect((await gate.decide(q({ action: 'share.revoke', requester: lee, owner: bob }))).decision).toBe('allow');
      expect(await gate.decide(q({ action: 'share.stop', owner: bob }))).toMatchObject({ decision: 'deny', message: expect.stringMatching(/no policy permits Human::"operator" to share\.stop/) });
    });
    it('an operator sees another\'s share but not its link', async () => {
      expect((await gate.decide(q({ action: 'share.get', owner: bob }))).decision).toBe('allow');
      expect((await gate.decide(q({ action: 'share.link', owner: bob }))).decision).toBe('deny');
      expect((await gate.decide(q({ action: 'share.link', owner: OPERATOR }))).decision).toBe('allow');
    });
    it('only the lease holder uses the terminal', async () => {
      const agent = { kind: 'ai' as const, id: 'claude' };
      expect((await gate.decide(q({ action: 'terminal.input', requester: agent, owner: OPERATOR, target: agent }))).decision).toBe('allow');
      expect((await gate.decide(q({ action: 'terminal.input', owner: OPERATOR, target: agent }))).decision).toBe('deny');
    });
    it('operators read the audit trail and follow events; an agent does neither', async () => {
      const agent = { kind: 'ai' as const, id: 'claude' };
      for (const action of ['audit.read', 'events.read'] as const) {
        expect((await gate.decide(q({ action }))).decision, action).toBe('allow');
        expect(await gate.decide(q({ action, requester: agent })), action).toMatchObject({ decision: 'deny', message: expect.stringMatching(/Agent::"claude" to .* (AuditTrail|EventStream)::"termshare"/) });
      }
    });
  });
});

describe('deny by default', () => {
  const all: Partial<PolicyQuery>[] = [
    {},
    { access: 'read-write' },
    { action: 'share.extend' },
    { action: 'share.switch' },
    { action: 'handoff.request' },
    { action: 'approval.decide' },
    { requester: { kind: 'ai', id: 'operator' } },
  ];
  const entities = [
    { uid: { type: 'Human', id: 'operator' }, attrs: {}, parents: [{ type: 'Group', id: 'operators' }] },
    { uid: { type: 'Group', id: 'operators' }, attrs: {}, parents: [] },
  ];

  it('with no policy file every request is denied, saying so', async () => {
    const g = await gateWith(null, entities);
    for (const o of all) {
      const d = await g.decide(q(o));
      expect(d).toMatchObject({ decision: 'deny', policies: [] });
      expect(d.message).toMatch(/no policy file at .*policy\.cedar: termshare denies every request/);
    }
  });
  it('an empty policy file (or one of comments only) denies everything: no policy permits it', async () => {
    for (const text of ['', '// nothing here yet\n']) {
      const g = await gateWith(text, entities);
      for (const o of all) {
        const d = await g.decide(q(o));
        expect(d).toMatchObject({ decision: 'deny', policies: [] });
        expect(d.message).toMatch(/^no policy permits (Human|Agent)::"operator" to /);
      }
    }
  });
  it('a policy file that only forbids denies everything, naming the policy and its reason', async () => {
    const g = await gateWith('@id("nobody")\n@reason("sharing is off today")\nforbid (principal, action, resource);', entities);
    for (const o of all) {
      const d = await g.decide(q(o));
      expect(d).toMatchObject({ decision: 'deny', policies: ['nobody'], message: 'forbidden by policy nobody (sharing is off today)' });
    }
  });
  it('a policy file that does not parse denies everything and says where', async () => {
    const g = await gateWith('permit (principal, action, resource) when { oops');
    const d = await g.decide(q());
    expect(d.decision).toBe('deny');
    expect(d.message).toMatch(/does not parse.*policy\.cedar:1:49: unexpected end of input/);
  });
  it('a policy file that fails the schema denies everything and says where', async () => {
    const g = await gateWith('@id("typo")\npermit (principal, action, resource)\nwhen { context.acces == "read-only" };');
    const d = await g.decide(q());
    expect(d.decision).toBe('deny');
    expect(d.message).toMatch(/is not valid.*policy\.cedar:3:8: policy typo: attribute `acces` in context not found \(did you mean `access`\?\)/);
  });
  it('an entities file that is not valid denies everything and says why', async () => {
    const g = await gateWith('@id("all")\npermit (principal, action, resource);', [{ uid: { type: 'User', id: 'x' }, attrs: {}, parents: [] }]);
    const d = await g.decide(q());
    expect(d.decision).toBe('deny');
    expect(d.message).toMatch(/entities file .*entities\.json is not valid.*`User` which is not declared in the schema/);
  });
  it('no entities file: nobody is in any group', async () => {
    const g = await gateWith('@id("ops")\npermit (principal in Group::"operators", action, resource);');
    expect((await g.decide(q())).decision).toBe('deny');
    expect(await g.groupsOf(OPERATOR)).toEqual([]);
  });
});

describe('approvals with several permits', () => {
  const entities = [
    { uid: { type: 'Human', id: 'operator' }, attrs: {}, parents: [{ type: 'Group', id: 'operators' }] },
    { uid: { type: 'Group', id: 'operators' }, attrs: {}, parents: [] },
  ];
  const one = '@id("one")\n@approvals("1")\n@approvers("leads")\npermit (principal in Group::"operators", action, resource);\n';
  const two = '@id("two")\n@approvals("2")\n@approvers("leads,security")\n@approval_ordered("true")\n@approval_timeout("60")\npermit (principal, action == Action::"share.start", resource);\n';
  const plain = '@id("plain")\npermit (principal, action, resource) when { context.access == "read-only" };\n';

  it('the strictest approval policy that matches wins: most approvals', async () => {
    const d = await (await gateWith(one + two, entities)).decide(q());
    expect(d).toMatchObject({
      decision: 'approval',
      policies: ['two', 'one'],
      approval: { policy: 'two', approvals: 2, approvers: ['leads', 'security'], ordered: true, timeoutMs: 60_000 },
    });
    expect(d.message).toMatch(/2 approvals in order: leads, then security \(within 60 s\)/);
  });
  it('a permit without approvals that also matches makes it a plain allow', async () => {
    const g = await gateWith(one + two + plain, entities);
    expect(await g.decide(q())).toMatchObject({ decision: 'allow', policies: ['plain'] });
    expect(await g.decide(q({ access: 'read-write' }))).toMatchObject({ decision: 'approval', approval: { policy: 'two' } });
  });
  it('a forbid still beats a permit that asks for approvals', async () => {
    const g = await gateWith(one + '@id("no")\nforbid (principal, action, resource) when { context.ttlSeconds > 60 };', entities);
    expect(await g.decide(q({ ttlSeconds: 61 }))).toMatchObject({ decision: 'deny', policies: ['no'] });
    expect((await g.decide(q({ ttlSeconds: 60 }))).decision).toBe('approval');
  });
  it('approving cannot itself wait for approvals: canDecide denies then', async () => {
    const g = await gateWith(one, entities);
    const d = await g.canDecide(OPERATOR, q());
    expect(d).toMatchObject({ decision: 'deny', policies: ['one'] });
    expect(d.message).toMatch(/permits approval\.decide only with approvals/);
  });
  it('the gate sends the whole context: reason and requesterKind reach the policies', async () => {
    const g = await gateWith(
      '@id("with-reason")\npermit (principal, action, resource) when { context.reason like "*incident*" && context.requesterKind == "human" };',
      entities,
    );
    expect((await g.decide(q({ reason: 'incident 42' }))).decision).toBe('allow');
    expect((await g.decide(q({ reason: 'curiosity' }))).decision).toBe('deny');
    expect((await g.decide(q())).decision).toBe('deny');
    expect((await g.decide(q({ reason: 'incident 42', requester: { kind: 'ai', id: 'x' } }))).decision).toBe('deny');
  });
});
