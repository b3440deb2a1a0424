import { mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CedarPolicyGate, type ReloadResult } from '../../../../src/adapters/policy/cedar/cedarGate.ts';
import type { PolicyQuery } from '../../../../src/adapters/policy/types.ts';

const q = (o: Partial<PolicyQuery> = {}): PolicyQuery => ({
  action: 'share.start',
  requester: { kind: 'human', id: 'alice' },
  terminal: 'tmux:w',
  backend: 'upterm',
  access: 'read-only',
  ttlSeconds: 600,
  ...o,
});
const ENTITIES = [
  { uid: { type: 'Human', id: 'alice' }, attrs: {}, parents: [{ type: 'Group', id: 'operators' }] },
  { uid: { type: 'Group', id: 'operators' }, attrs: {}, parents: [] },
];
const OPS_READ_ONLY = '@id("ops-ro")\npermit (principal in Group::"operators", action == Action::"share.start", resource)\nwhen { context.access == "read-only" };\n';
const OPS_ANY = '@id("ops-any")\npermit (principal in Group::"operators", action == Action::"share.start", resource);\n';

/** A gate on a fresh directory; `reloads` yields each onReload result as it comes, `next(pred)` waits for one. */
async function setup(policy: string | null = OPS_READ_ONLY, entities: unknown = ENTITIES, opts: { watch?: boolean } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'cedar-reload-'));
  const policyFile = join(dir, 'policy.cedar');
  const entitiesFile = join(dir, 'entities.json');
  if (policy !== null) await writeFile(policyFile, policy);
  await writeFile(entitiesFile, JSON.stringify(entities));
  const reloads: ReloadResult[] = [];
  const waiters: { pred: (r: ReloadResult) => boolean; resolve: (r: ReloadResult) => void }[] = [];
  const gate = new CedarPolicyGate(policyFile, entitiesFile, undefined, {
    ...opts,
    onReload: (r) => {
      reloads.push(r);
      for (const w of waiters.filter((w) => w.pred(r))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(r);
      }
    },
  });
  cleanups.push(async () => {
    gate.close();
    await rm(dir, { recursive: true, force: true });
  });
  /** The next onReload result (from now on) that satisfies `pred`. */
  const next = (pred: (r: ReloadResult) => boolean = () => true) => new Promise<ReloadResult>((resolve) => waiters.push({ pred, resolve }));
  return { dir, policyFile, entitiesFile, gate, reloads, next };
}
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
const loaded = (...ids: string[]) => (r: ReloadResult) => r.ok && r.policies.join() === ids.join();
const rejected = (r: ReloadResult) => !r.ok;

describe('hot reload of the policy and entities files', () => {
  it('reports the first load to onReload, with the policy ids', async () => {
    const { gate, reloads } = await setup();
    await gate.decide(q());
    expect(reloads).toEqual([{ ok: true, policies: ['ops-ro'] }]);
  });

  it('a valid change is picked up from the file event and applies to the next request', async () => {
    const { gate, policyFile, next } = await setup();
    expect((await gate.decide(q({ access: 'read-write' }))).decision).toBe('deny');
    const reloaded = next(loaded('ops-any'));
    await writeFile(policyFile, OPS_ANY);
    expect(await reloaded).toEqual({ ok: true, policies: ['ops-any'] });
    expect(await gate.decide(q({ access: 'read-write' }))).toMatchObject({ decision: 'allow', policies: ['ops-any'] });
  });

  it('an invalid file keeps the previous policies and reports the errors with line numbers; fixing it applies', async () => {
    const { gate, policyFile, next } = await setup();
    await gate.decide(q());
    const failed = next(rejected);
    await writeFile(policyFile, OPS_ANY + '\n@id("typo")\npermit (principal, action, resource)\nwhen { context.acces == "x" };\n');
    const r = await failed;
    expect(r).toEqual({ ok: false, errors: [`${policyFile}:6:8: policy typo: attribute \`acces\` in context not found (did you mean \`access\`?)`] });
    // Still the old policies: read-only allowed, read-write (which the broken file would allow) not.
    expect(await gate.decide(q())).toMatchObject({ decision: 'allow', policies: ['ops-ro'] });
    expect((await gate.decide(q({ access: 'read-write' }))).decision).toBe('deny');
    expect(await gate.policies()).toEqual(['ops-ro']);

    const fixed = next(loaded('ops-any'));
    await writeFile(policyFile, OPS_ANY);
    await fixed;
    expect((await gate.decide(q({ access: 'read-write' }))).decision).toBe('allow');
  });

  it('a file that does not parse keeps the previous policies too', async () => {
    const { gate, policyFile, next } = await setup();
    await gate.decide(q());
    const failed = next(rejected);
    await writeFile(policyFile, OPS_READ_ONLY + 'permit (principal, action, resource) when {');
    expect(await failed).toMatchObject({ ok: false, errors: [expect.stringMatching(new RegExp(`^${policyFile}:4:\\d+: unexpected end of input`))] });
    expect((await gate.decide(q())).decision).toBe('allow');
  });

  it('an entities change applies: someone added to a group may share', async () => {
    const { gate, entitiesFile, next } = await setup();
    const bob = q({ requester: { kind: 'human', id: 'bob' } });
    expect((await gate.decide(bob)).decision).toBe('deny');
    const reloaded = next(loaded('ops-ro'));
    await writeFile(entitiesFile, JSON.stringify([...ENTITIES, { uid: { type: 'Human', id: 'bob' }, attrs: {}, parents: [{ type: 'Group', id: 'operators' }] }]));
    await reloaded;
    expect((await gate.decide(bob)).decision).toBe('allow');
    expect(await gate.groupsOf({ kind: 'human', id: 'bob' })).toEqual(['operators']);
  });

  it('an invalid entities file keeps the previous policies and entities', async () => {
    const { gate, entitiesFile, next } = await setup();
    await gate.decide(q());
    const failed = next(rejected);
    await writeFile(entitiesFile, '[{"uid": {"type": "User", "id": "bob"}, "attrs": {}, "parents": []}]');
    expect(await failed).toMatchObject({ ok: false, errors: [expect.stringMatching(/entities\.json: .*`User` which is not declared in the schema/)] });
    expect((await gate.decide(q())).decision).toBe('allow');
    expect(await gate.groupsOf({ kind: 'human', id: 'alice' })).toEqual(['operators']);
  });

  it('an editor that writes a new file and renames it over the old one is picked up', async () => {
    const { gate, dir, policyFile, next } = await setup();
    await gate.decide(q());
    const reloaded = next(loaded('ops-any'));
    await writeFile(join(dir, '.policy.cedar.swp'), OPS_ANY);
    await rename(join(dir, '.policy.cedar.swp'), policyFile);
    await reloaded;
    expect((await gate.decide(q({ access: 'read-write' }))).decision).toBe('allow');
  });

  it('removing the policy file denies everything again; bringing it back permits again', async () => {
    const { gate, policyFile, next } = await setup();
    await gate.decide(q());
    const gone = next(loaded());
    await rm(policyFile);
    expect(await gone).toMatchObject({ ok: true, policies: [], warnings: [expect.stringMatching(/no policy file at/)] });
    expect((await gate.decide(q())).message).toMatch(/no policy file at .* denies every request/);
    const back = next(loaded('ops-ro'));
    await writeFile(policyFile, OPS_READ_ONLY);
    await back;
    expect((await gate.decide(q())).decision).toBe('allow');
  });

  it('a policy file that appears where there was none is picked up', async () => {
    const { gate, policyFile, next } = await setup(null);
    expect((await gate.decide(q())).message).toMatch(/no policy file/);
    const came = next(loaded('ops-ro'));
    await writeFile(policyFile, OPS_READ_ONLY);
    await came;
    expect((await gate.decide(q())).decision).toBe('allow');
  });

  it('invalid from the start: everything is denied, saying why; then a fix applies', async () => {
    const { gate, policyFile, reloads, next } = await setup('permit (principal, action, resource) when { oops');
    const d = await gate.decide(q());
    expect(d.decision).toBe('deny');
    expect(d.message).toMatch(/does not parse, so termshare denies every request until it is fixed: .*policy\.cedar:1:49/);
    expect(reloads).toMatchObject([{ ok: false }]);
    const fixed = next(loaded('ops-ro'));
    await writeFile(policyFile, OPS_READ_ONLY);
    await fixed;
    expect((await gate.decide(q())).decision).toBe('allow');
  });

  it('without watching, a request still sees a changed file by its mtime', async () => {
    const { gate, policyFile, reloads } = await setup(OPS_READ_ONLY, ENTITIES, { watch: false });
    expect((await gate.decide(q({ access: 'read-write' }))).decision).toBe('deny');
    await writeFile(policyFile, OPS_ANY);
    const later = new Date(Date.now() + 5000);
    await utimes(policyFile, later, later);
    expect((await gate.decide(q({ access: 'read-write' }))).decision).toBe('allow');
    expect(reloads.map((r) => r.ok && r.policies)).toEqual([['ops-ro'], ['ops-any']]);
  });

  it('reload() reads both files now, and the listener can be set after construction', async () => {
    const { gate } = await setup(OPS_READ_ONLY, ENTITIES, { watch: false });
    await gate.policies(); // the first load is done
    const seen: ReloadResult[] = [];
    gate.onReload = (r) => seen.push(r);
    expect(await gate.reload()).toEqual({ ok: true, policies: ['ops-ro'] });
    expect(seen).toEqual([{ ok: true, policies: ['ops-ro'] }]);
  });

  it('warns when an approval policy names a group nobody is in', async () => {
    const { gate } = await setup('@id("rw")\n@approvals("1")\n@approvers("leads")\npermit (principal, action, resource);', ENTITIES, { watch: false });
    expect(await gate.reload()).toMatchObject({ ok: true, policies: ['rw'], warnings: [expect.stringMatching(/approver group leads has no members/)] });
  });
});
