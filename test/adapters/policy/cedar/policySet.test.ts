import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  activate,
  approverWarnings,
  compileEntities,
  compilePolicies,
  evaluate,
  groupsIn,
  type CompiledPolicies,
} from '../../../../src/adapters/policy/cedar/policySet.ts';
import type { PolicyQuery } from '../../../../src/adapters/policy/types.ts';

const F = 'policy.cedar';
const permit = 'permit (principal, action, resource);';
const compiled = (text: string): CompiledPolicies => {
  const r = compilePolicies(text, F);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.value;
};
const errorsOf = (text: string): string[] => {
  const r = compilePolicies(text, F);
  if (r.ok) throw new Error(`expected errors, got policies ${r.value.policies.map((p) => p.id)}`);
  return r.errors;
};
const approvalOf = (annotations: string) => compiled(`@id("p")\n${annotations}\n${permit}`).policies[0]!.approval;

describe('approval annotations', () => {
  it('unordered, with the default timeout of 900 s', () => {
    expect(approvalOf('@approvals("1")\n@approvers("leads")')).toEqual({ policy: 'p', approvals: 1, approvers: ['leads'], ordered: false, timeoutMs: 900_000 });
  });
  it('ordered, several groups (spaces around commas are fine), a timeout of its own', () => {
    expect(approvalOf('@approvals("3")\n@approvers("leads, security ,ops")\n@approval_ordered("true")\n@approval_timeout("60")')).toEqual({
      policy: 'p',
      approvals: 3,
      approvers: ['leads', 'security', 'ops'],
      ordered: true,
      timeoutMs: 60_000,
    });
  });
  it('@approval_ordered("false") is unordered', () => {
    expect(approvalOf('@approvals("2")\n@approvers("leads")\n@approval_ordered("false")')?.ordered).toBe(false);
  });
  it('no annotations, or @approvals("0"), asks for none', () => {
    expect(approvalOf('')).toBeUndefined();
    expect(approvalOf('@approvals("0")')).toBeUndefined();
  });
  it('@reason is kept for deny messages', () => {
    expect(compiled(`@id("f")\n@reason("because")\nforbid (principal, action, resource);`).policies[0]).toMatchObject({ effect: 'forbid', reason: 'because' });
  });

  const bad: [string, string, RegExp][] = [
    ['a count that is not a number', '@approvals("one")\n@approvers("leads")', /policy\.cedar:2:1: policy p: @approvals\("one"\) must be a whole number from 0 to 100/],
    ['a negative count', '@approvals("-1")\n@approvers("leads")', /@approvals\("-1"\) must be a whole number/],
    ['a count over 100', '@approvals("101")\n@approvers("leads")', /@approvals\("101"\) must be a whole number/],
    ['approvals without approvers', '@approvals("1")', /policy\.cedar:2:1: policy p: @approvals\("1"\) needs @approvers/],
    ['an empty group in the list', '@approvals("1")\n@approvers("leads,")', /policy\.cedar:3:1: policy p: @approvers\("leads,"\) must list Group ids/],
    ['an ordered flag that is not true or false', '@approvals("1")\n@approvers("leads")\n@approval_ordered("yes")', /policy\.cedar:4:1: .*@approval_ordered\("yes"\) must be "true" or "false"/],
    ['a timeout that is not seconds', '@approvals("1")\n@approvers("leads")\n@approval_timeout("15m")', /policy\.cedar:4:1: .*@approval_timeout\("15m"\) must be a whole number of seconds from 1 to 604800/],
    ['a timeout of 0', '@approvals("1")\n@approvers("leads")\n@approval_timeout("0")', /@approval_timeout\("0"\) must be/],
    ['approvers without approvals', '@approvers("leads")', /policy\.cedar:2:1: policy p: @approvers has no effect without @approvals\("N"\)/],
    ['approvers with approvals 0', '@approvals("0")\n@approvers("leads")', /policy\.cedar:3:1: policy p: @approvers has no effect with @approvals\("0"\)/],
    ['an annotation without a value', '@approvals\n@approvers("leads")', /policy\.cedar:2:1: policy p: @approvals needs a value/],
    ['a misspelt approval annotation', '@approvals("1")\n@approver("leads")', /policy\.cedar:3:1: policy p: unknown annotation @approver; termshare reads @approvals, @approvers/],
  ];
  for (const [what, annotations, message] of bad) {
    it(`rejects ${what}, saying where`, () => {
      const errors = errorsOf(`@id("p")\n${annotations}\n${permit}`);
      expect(errors.some((e) => message.test(e)), errors.join('\n')).toBe(true);
    });
  }
  it('rejects approvals on a forbid', () => {
    expect(errorsOf('@id("f")\n@approvals("1")\n@approvers("leads")\nforbid (principal, action, resource);')).toEqual([
      'policy.cedar:2:1: policy f: a forbid cannot ask for approvals (@approvals, @approvers); put them on a permit',
    ]);
  });
  it('warns when ordered groups outnumber the approvals', () => {
    const r = compilePolicies(`@id("p")\n@approvals("1")\n@approvers("a,b")\n@approval_ordered("true")\n${permit}`, F);
    expect(r.ok && r.warnings).toEqual(['policy.cedar:3:1: policy p: only the first 1 of the 2 ordered approver groups are ever asked']);
  });
});

describe('policy ids and places', () => {
  it('a policy without @id is named as Cedar names it, policy<N> by place in the file', () => {
    const c = compiled(`@id("a")\n${permit}\n${permit}\n` + Array.from({ length: 10 }, (_, i) => `@id("x${i}") ${permit}`).join('\n'));
    expect(c.policies.map((p) => p.id)).toEqual(['a', 'policy1', ...Array.from({ length: 10 }, (_, i) => `x${i}`)]);
    expect(c.policies.map((p) => p.at).slice(0, 4)).toEqual(['policy.cedar:1:1', 'policy.cedar:3:1', 'policy.cedar:4:1', 'policy.cedar:5:1']);
  });
  it('semicolons and // inside strings and comments do not split policies', () => {
    const c = compiled('// a comment; with "quotes\n@id("a;b") // trailing; comment\npermit (principal, action, resource)\nwhen { context.reason == "x; // y\\"z" };\n@id("c") ' + permit);
    expect(c.policies.map((p) => [p.id, p.at])).toEqual([
      ['a;b', 'policy.cedar:2:1'],
      ['c', 'policy.cedar:5:1'],
    ]);
  });
  it('two policies with the same @id are an error naming both places', () => {
    expect(errorsOf(`@id("a")\n${permit}\n\n@id("a")\n${permit}`)).toEqual([
      'policy.cedar:4:1: policy a: the id a is already used by the policy at policy.cedar:1:1; give each policy its own @id',
    ]);
  });
  it('templates are refused', () => {
    expect(errorsOf(`@id("a")\n${permit}\n@id("t")\npermit (principal == ?principal, action, resource);`)).toEqual([
      'policy.cedar:3:1: policy templates (?principal, ?resource) are not supported; write plain policies',
    ]);
  });
});

describe('schema validation, with line:column', () => {
  it('a syntax error', () => {
    expect(errorsOf('@id("a")\npermit (principal, action, resource)\nwhen { context.access == };')[0]).toMatch(/^policy\.cedar:3:26: /);
  });
  it('columns count characters, not bytes', () => {
    expect(errorsOf('// é è ü\npermit (principal, action, resource) when { é };')[0]).toMatch(/^policy\.cedar:2:45: invalid token/);
  });
  it('an unknown context attribute, said once though it applies to five actions', () => {
    expect(errorsOf('@id("a")\npermit (principal, action, resource)\nwhen { context.acces == "read-only" };')).toEqual([
      'policy.cedar:3:8: policy a: attribute `acces` in context not found (did you mean `access`?)',
    ]);
  });
  it('an unknown entity type', () => {
    expect(errorsOf(`@id("a")\n${permit}\n\n@id("b")\npermit (principal == User::"alice", action, resource);`)).toEqual([
      'policy.cedar:5:22: policy b: unrecognized entity type `User` (did you mean `Agent`?)',
    ]);
  });
  it('an unknown action', () => {
    expect(errorsOf('@id("a")\npermit (principal, action == Action::"share.stat", resource);')).toEqual([
      'policy.cedar:2:30: policy a: unrecognized action `Action::"share.stat"` (did you mean `Action::"share.start"`?)',
    ]);
  });
  it('a type error', () => {
    expect(errorsOf('@id("a")\npermit (principal, action, resource)\nwhen { context.ttlSeconds <= "1800" };')).toEqual([
      'policy.cedar:3:30: policy a: unexpected type: expected Long but saw String',
    ]);
  });
  it('a policy that can never apply (here a Terminal as principal) is refused: a forbid like it would protect nothing', () => {
    expect(errorsOf('@id("a")\nforbid (principal is Terminal, action, resource);').sort()).toEqual([
      'policy.cedar:1:1: policy a: policy is impossible: the policy expression evaluates to false for all valid requests',
      'policy.cedar:1:1: policy a: unable to find an applicable action given the policy scope constraints',
    ]);
    expect(errorsOf('@id("off")\npermit (principal, action, resource) when { false };')).toEqual([
      'policy.cedar:1:1: policy off: policy is impossible: the policy expression evaluates to false for all valid requests',
    ]);
  });
  it('every mistake at once, in file order', () => {
    const errors = errorsOf(`@id("a")\n@approvals("x")\npermit (principal, action, resource) when { context.foo };\n@id("a")\n${permit}`);
    expect(errors.map((e) => e.split(': ')[0])).toEqual(['policy.cedar:2:1', 'policy.cedar:3:45', 'policy.cedar:4:1']);
  });
  it('the example policies are valid', async () => {
    const text = await readFile(join(import.meta.dirname, '../../../../examples/policy.cedar'), 'utf8');
    expect(compilePolicies(text, F)).toMatchObject({ ok: true, warnings: [] });
  });
});

describe('entities', () => {
  const human = (id: string, ...groups: string[]) => ({ uid: { type: 'Human', id }, attrs: {}, parents: groups.map((g) => ({ type: 'Group', id: g })) });
  const group = (id: string, ...groups: string[]) => ({ uid: { type: 'Group', id }, attrs: {}, parents: groups.map((g) => ({ type: 'Group', id: g })) });

  it('no file, or an empty one, is no entities', () => {
    expect(compileEntities(undefined, 'e.json')).toEqual({ ok: true, value: [], warnings: [] });
    expect(compileEntities('  ', 'e.json')).toEqual({ ok: true, value: [], warnings: [] });
  });
  it('rejects JSON that is not JSON, not an array, or not the schema', () => {
    expect(compileEntities('[{', 'e.json')).toMatchObject({ ok: false, stage: 'parse', errors: [expect.stringMatching(/^e\.json: not valid JSON/)] });
    expect(compileEntities('{}', 'e.json')).toMatchObject({ ok: false, errors: [expect.stringMatching(/must hold a JSON array/)] });
    expect(compileEntities(JSON.stringify([{ uid: { type: 'User', id: 'x' }, attrs: {}, parents: [] }]), 'e.json')).toMatchObject({
      ok: false,
      stage: 'check',
      errors: [expect.stringMatching(/`User` which is not declared in the schema/)],
    });
    expect(compileEntities(JSON.stringify([human('a', 'g'), { uid: { type: 'Group', id: 'g' }, attrs: {}, parents: [{ type: 'Human', id: 'a' }] }]), 'e.json').ok).toBe(false);
  });
  it('groupsIn is transitive and only counts Groups', () => {
    const entities = [human('ann', 'a', 'd'), group('a', 'b'), group('b', 'c'), group('c'), group('d', 'c'), human('bo'), group('lone')];
    expect(compileEntities(JSON.stringify(entities), 'e.json').ok).toBe(true);
    expect(groupsIn(entities, { type: 'Human', id: 'ann' })).toEqual(['a', 'b', 'c', 'd']);
    expect(groupsIn(entities, { type: 'Human', id: 'bo' })).toEqual([]);
    expect(groupsIn(entities, { type: 'Agent', id: 'ann' })).toEqual([]);
    expect(groupsIn(entities, { type: 'Group', id: 'b' })).toEqual(['c']);
  });
  it('Cedar refuses a cycle of groups; groupsIn would still end', () => {
    const entities = [human('ann', 'a'), group('a', 'b'), group('b', 'a')];
    expect(compileEntities(JSON.stringify(entities), 'e.json')).toMatchObject({ ok: false, errors: [expect.stringMatching(/cycle/)] });
    expect(groupsIn(entities, { type: 'Human', id: 'ann' })).toEqual(['a', 'b']);
  });
  it('warns about approver groups nobody is in', () => {
    const c = compiled(`@id("p")\n@approvals("1")\n@approvers("leads,empty")\n${permit}`);
    expect(approverWarnings(c, [human('lee', 'sub'), group('sub', 'leads'), group('leads'), group('empty')], 'e.json')).toEqual([
      'policy.cedar:1:1: policy p: approver group empty has no members in e.json, so nobody can approve what it asks for',
    ]);
  });
});

describe('evaluate', () => {
  const q: PolicyQuery = { action: 'share.start', requester: { kind: 'human', id: 'a' }, terminal: 'tmux:w', backend: 'upterm', access: 'read-only', ttlSeconds: 60 };
  it('names every deciding forbid, in file order', () => {
    const c = compiled('@id("z")\n@reason("one")\nforbid (principal, action, resource);\n@id("a")\nforbid (principal, action, resource);\n' + permit);
    expect(evaluate(activate(c, [], 'test-evaluate'), q, F)).toEqual({ decision: 'deny', policies: ['z', 'a'], message: 'forbidden by policy z (one), a' });
  });
  it('names every permit that allows, in file order', () => {
    const c = compiled(`@id("b")\n${permit}\n@id("a")\n${permit}`);
    expect(evaluate(activate(c, [], 'test-evaluate'), q, F)).toEqual({ decision: 'allow', policies: ['b', 'a'], message: 'permitted by b, a' });
  });
});

describe('@record', () => {
  const q: PolicyQuery = { action: 'share.start', requester: { kind: 'human', id: 'a' }, terminal: 'tmux:w', backend: 'upterm', access: 'read-only', ttlSeconds: 60 };
  it('a permit with @record("required") makes what it allows recorded; one without does not', () => {
    expect(evaluate(activate(compiled(`@id("r")\n@record("required")\n${permit}`), [], 'test-record'), q, F)).toMatchObject({ decision: 'allow', record: 'required' });
    expect(evaluate(activate(compiled(`@id("p")\n${permit}`), [], 'test-record-none'), q, F).record).toBeUndefined();
  });
  it('a permit asking approvals keeps its @record in the approval decision', () => {
    const c = compiled(`@id("r")\n@record("required")\n@approvals("1")\n@approvers("leads")\n${permit}`);
    expect(evaluate(activate(c, [], 'test-record-approval'), q, F)).toMatchObject({ decision: 'approval', record: 'required' });
  });
  it('any other value, or @record on a forbid, is refused with its place', () => {
    expect(errorsOf(`@id("r")\n@record("yes")\n${permit}`)).toEqual([expect.stringMatching(/^policy\.cedar:2:1: policy r: @record takes "required"/)]);
    expect(errorsOf('@id("f")\n@record("required")\nforbid (principal, action, resource);')).toEqual([expect.stringMatching(/policy f: a forbid records nothing/)]);
  });
});
