import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CedarPolicyGate } from '../../../../src/adapters/policy/cedar/cedarGate.ts';
import { contextReadBy } from '../../../../src/adapters/policy/cedar/policySet.ts';
import type { PolicyQuery } from '../../../../src/adapters/policy/types.ts';

const examples = join(import.meta.dirname, '../../../../examples');
const gates: CedarPolicyGate[] = [];
afterAll(() => gates.forEach((g) => g.close()));

async function gateWith(policy: string, entities: unknown[]): Promise<CedarPolicyGate> {
  const dir = await mkdtemp(join(tmpdir(), 'cedar-batch-'));
  await writeFile(join(dir, 'policy.cedar'), policy);
  await writeFile(join(dir, 'entities.json'), JSON.stringify(entities));
  const gate = new CedarPolicyGate(join(dir, 'policy.cedar'), join(dir, 'entities.json'), undefined, { watch: false });
  gates.push(gate);
  return gate;
}

/** Many queries as a share.list makes them: every share's terms, by several callers, under each action a list asks. */
function queries(): PolicyQuery[] {
  const out: PolicyQuery[] = [];
  const people = [{ kind: 'human', id: 'operator' }, { kind: 'human', id: 'lee' }, { kind: 'ai', id: 'claude' }, { kind: 'human', id: 'stranger' }] as const;
  for (const requester of people) {
    for (const action of ['share.list', 'share.link', 'share.stop', 'share.extend'] as const) {
      for (let i = 0; i < 12; i++) {
        out.push({
          action,
          requester,
          terminal: `tmux:t${i % 5}`,
          backend: i % 3 ? 'upterm' : 'tmate',
          access: i % 4 ? 'read-only' : 'read-write',
          ttlSeconds: 60 * (i % 45) + 1,
          owner: people[i % people.length]!,
        });
      }
    }
  }
  return out;
}

describe('a batch of decisions (share.list over many shares)', () => {
  it('says for each query exactly what deciding it alone says, under the example policies', async () => {
    const gate = await gateWith(await readFile(join(examples, 'policy.cedar'), 'utf8'), JSON.parse(await readFile(join(examples, 'entities.json'), 'utf8')));
    const qs = queries();
    const alone = await Promise.all(qs.map(async (q) => (await gate.decide(q)).decision === 'allow'));
    expect(alone.some(Boolean)).toBe(true);
    expect(alone.some((a) => !a)).toBe(true);
    expect(await gate.permitsAll(qs)).toEqual(alone);
  }, 90_000);

  it('a policy reading a context attribute the others do not still decides by it in a batch', async () => {
    const policy = `permit (principal, action == Action::"share.list", resource) when { context.ttlSeconds < 600 };`;
    const gate = await gateWith(policy, []);
    const qs = queries().filter((q) => q.action === 'share.list');
    const alone = await Promise.all(qs.map(async (q) => (await gate.decide(q)).decision === 'allow'));
    expect(new Set(alone)).toEqual(new Set([true, false]));
    expect(await gate.permitsAll(qs)).toEqual(alone);
  }, 90_000);

  it('the attributes a decision depends on are those the policies name; any other mention of context counts them all', () => {
    const p = (text: string) => ({ id: 'p', index: 0, effect: 'permit' as const, text, at: 'p:1:1' });
    expect(contextReadBy([p('permit (principal, action, resource) when { context.isOwner || context has reason };')])).toEqual(new Set(['isOwner', 'reason']));
    expect(contextReadBy([p('permit (principal, action, resource);')])).toEqual(new Set());
    expect(contextReadBy([p('// the context matters\npermit (principal, action, resource) when { context.isOwner };')])).toBe('all');
    expect(contextReadBy([p('permit (principal, action, resource) when { context["isOwner"] };')])).toBe('all');
  });
});
