import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerPolicyCommands } from '../../src/cli/policyCommands.ts';

const examples = join(import.meta.dirname, '../../examples');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-cli-'));
  // The policy verbs load cedar-wasm when they run (so other verbs never do): load it once here,
  // so that the first test's time is its own.
  await import('../../src/adapters/policy/cedar/policySet.ts');
}, 120_000);
afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

/** Runs `termshare <args>` in-process; returns what it printed and its exit code. */
async function run(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const program = new Command('termshare').exitOverride();
  registerPolicyCommands(program);
  await program.parseAsync(args, { from: 'user' });
  const code = process.exitCode ?? 0;
  process.exitCode = undefined;
  return { out: out.join('\n'), err: err.join('\n'), code };
}
const file = async (name: string, text: string) => {
  await writeFile(join(dir, name), text);
  return join(dir, name);
};

describe('termshare policy validate', () => {
  it('prints OK and the policy ids of a valid file', async () => {
    const r = await run('policy', 'validate', join(examples, 'policy.cedar'), '--entities', join(examples, 'entities.json'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^OK .*policy\.cedar: 15 policies/);
    expect(r.out).toMatch(/operators-read-write\s+permit\s+needs 1 approval from members of leads \(within 900 s\)/);
    expect(r.out).toMatch(/no-rw-for-agents\s+forbid\s+\(AI agents may not hold read-write shares\)/);
    expect(r.err).toBe('');
  });
  it('prints each error with line:column and exits 2', async () => {
    const f = await file('bad.cedar', '@id("a")\n@approvals("x")\npermit (principal, action, resource)\nwhen { context.acces == "x" };\n');
    const r = await run('policy', 'validate', f);
    expect(r.code).toBe(2);
    expect(r.err.split('\n')).toEqual([
      `error: ${f}:2:1: policy a: @approvals("x") must be a whole number from 0 to 100`,
      `error: ${f}:4:8: policy a: attribute \`acces\` in context not found (did you mean \`access\`?)`,
    ]);
  });
  it('checks the entities file too, and warns about approver groups without members', async () => {
    const e = await file('e.json', JSON.stringify([{ uid: { type: 'Human', id: 'a' }, attrs: {}, parents: [] }]));
    const r = await run('policy', 'validate', join(examples, 'policy.cedar'), '--entities', e);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/warning: .*policy operators-read-write: approver group leads has no members/);
    const bad = await file('bad.json', '[{"uid": {"type": "Robot", "id": "x"}, "attrs": {}, "parents": []}]');
    expect(await run('policy', 'validate', join(examples, 'policy.cedar'), '--entities', bad)).toMatchObject({ code: 2, err: expect.stringMatching(/`Robot` which is not declared/) });
  });
  it('--json', async () => {
    const r = await run('policy', 'validate', join(examples, 'policy.cedar'), '--json');
    expect(JSON.parse(r.out)).toMatchObject({ ok: true, errors: [], policies: expect.arrayContaining([{ id: 'operators-switch', effect: 'permit', at: expect.stringMatching(/policy\.cedar:\d+:1$/) }]) });
  });
  it('a missing file exits 2', async () => {
    expect(await run('policy', 'validate', join(dir, 'nope.cedar'))).toMatchObject({ code: 2, err: expect.stringMatching(/nope\.cedar: cannot be read/) });
  });
});

describe('termshare policy check', () => {
  const opts = ['--policy', join(examples, 'policy.cedar'), '--entities', join(examples, 'entities.json')];
  it('allow, with defaults filled in (share.start, upterm, read-only, the default TTL)', async () => {
    const f = await file('ro.json', JSON.stringify({ requester: { kind: 'human', id: 'alice' }, terminal: 'tmux:w' }));
    const r = await run('policy', 'check', f, ...opts);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^ALLOW {2}human:alice share\.start tmux:w \(read-only, upterm, 1800 s\)/);
    expect(r.out).toMatch(/policies\s+operators-read-only/);
  });
  it('approval: names the requirement', async () => {
    const f = await file('rw.json', JSON.stringify({ requester: 'human:alice', terminal: 'tmux:w', access: 'read-write', ttlSeconds: 600 }));
    const r = await run('policy', 'check', f, ...opts);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^APPROVAL/);
    expect(r.out).toMatch(/approvals\s+1 approval from members of leads \(within 900 s\)/);
  });
  it('deny exits 3 and says why; --json prints the decision', async () => {
    const f = await file('ai.json', JSON.stringify({ requester: 'ai:alice', terminal: 'tmux:w', access: 'read-write' }));
    const r = await run('policy', 'check', f, ...opts, '--json');
    expect(r.code).toBe(3);
    expect(JSON.parse(r.out)).toMatchObject({ decision: 'deny', policies: ['no-rw-for-agents'], message: 'forbidden by policy no-rw-for-agents (AI agents may not hold read-write shares)' });
  });
  it('no policy file: denied, saying so', async () => {
    const f = await file('ro2.json', JSON.stringify({ requester: 'human:alice', terminal: 'tmux:w' }));
    const r = await run('policy', 'check', f, '--policy', join(dir, 'none.cedar'), '--entities', join(dir, 'none.json'));
    expect(r).toMatchObject({ code: 3, out: expect.stringMatching(/no policy file at/) });
  });
  it('a bad request exits 2, naming each field', async () => {
    const f = await file('bad-req.json', JSON.stringify({ requester: 'bob', terminal: 'w', action: 'share.delete' }));
    const r = await run('policy', 'check', f, ...opts);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/action: /);
    expect(r.err).toMatch(/requester: write a principal as/);
    expect(r.err).toMatch(/terminal: a terminal is "tmux:<session>"/);
  });
  it('an invalid policy file exits 2 with its errors', async () => {
    const p = await file('broken.cedar', 'permit (principal, action, resource) when {');
    const f = await file('ro3.json', JSON.stringify({ requester: 'human:alice', terminal: 'tmux:w' }));
    const r = await run('policy', 'check', f, '--policy', p);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/broken\.cedar:1:\d+: unexpected end of input/);
  });
});
