import { mkdtemp, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CedarPolicyGate } from '../../../../src/adapters/policy/cedar/cedarGate.ts';
import type { PolicyQuery } from '../../../../src/adapters/policy/types.ts';

const examples = join(import.meta.dirname, '../../../../examples');
const q = (o: Partial<PolicyQuery> = {}): PolicyQuery => ({
  action: 'share.start',
  requester: { kind: 'human', id: 'operator' },
  terminal: 'tmux:w',
  backend: 'upterm',
  access: 'read-only',
  ttlSeconds: 600,
  ...o,
});

describe('Cedar policy gate with the example policies', () => {
  let gate: CedarPolicyGate;
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cedar-'));
    await writeFile(join(dir, 'policy.cedar'), await readFile(join(examples, 'policy.cedar')));
    await writeFile(join(dir, 'entities.json'), await readFile(join(examples, 'entities.json')));
    gate = new CedarPolicyGate(join(dir, 'policy.cedar'), join(dir, 'entities.json'));
  });

  it('permits an operator to share read-only for 30 minutes', async () => {
    expect(await gate.decide(q({ ttlSeconds: 1800 }))).toMatchObject({ decision: 'allow', policies: ['operators-read-only'] });
  });
  it('denies an operator a share longer than 30 minutes, saying no policy permits it', async () => {
    const d = await gate.decide(q({ ttlSeconds: 1801 }));
    expect(d).toMatchObject({ decision: 'deny', policies: [] });
    expect(d.message).toMatch(/no policy permits Human::"operator" to share\.start tmux:w/);
  });
  it('denies someone outside the operators group', async () => {
    expect((await gate.decide(q({ requester: { kind: 'human', id: 'mallory' } }))).decision).toBe('deny');
  });
  it('an AI agent named like an operator is still an Agent, not a Human', async () => {
    expect((await gate.decide(q({ requester: { kind: 'ai', id: 'operator' } }))).decision).toBe('deny');
  });
  it('forbids an agent a read-write share, naming the policy and its reason', async () => {
    const d = await gate.decide(q({ requester: { kind: 'ai', id: 'operator' }, access: 'read-write' }));
    expect(d).toMatchObject({ decision: 'deny', policies: ['no-rw-for-agents'] });
    expect(d.message).toContain('AI agents may not hold read-write shares');
  });
  it('lets an operator extend up to 30 minutes from now, and no further', async () => {
    expect((await gate.decide(q({ action: 'share.extend', ttlSeconds: 1800 }))).decision).toBe('allow');
    expect((await gate.decide(q({ action: 'share.extend', ttlSeconds: 1801 }))).decision).toBe('deny');
  });
  it('a policy file that does not parse denies everything and says where', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cedar-'));
    await writeFile(join(dir, 'policy.cedar'), 'permit (principal, action, resource) when { oops');
    const d = await new CedarPolicyGate(join(dir, 'policy.cedar'), join(dir, 'none.json')).decide(q());
    expect(d.decision).toBe('deny');
    expect(d.message).toMatch(/does not parse/);
  });
});
