import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval, Share } from '../../src/api/schemas.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { missingTools } from '../support/tools.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

const POLICY = `
@id("operators-read-only")
permit (principal in Group::"operators", action == Action::"share.start", resource) when { context.access == "read-only" };

@id("rw-needs-a-lead")
@approvals("1")
@approvers("leads")
@approval_timeout("600")
permit (principal in Group::"operators", action == Action::"share.start", resource) when { context.access == "read-write" };

@id("operators-manage")
permit (principal in Group::"operators", action in [Action::"share.get", Action::"share.list", Action::"share.link", Action::"share.stop", Action::"approval.list"], resource);

@id("leads-decide")
permit (principal in Group::"leads", action == Action::"approval.decide", resource);
`;
const person = (id: string, group: string) => ({ uid: { type: 'Human', id }, attrs: {}, parents: [{ type: 'Group', id: group }] });
const ENTITIES = [person('alice', 'operators'), person('bob', 'leads'), ...['operators', 'leads'].map((g) => ({ uid: { type: 'Group', id: g }, attrs: {}, parents: [] }))];

describe.skipIf(missing.length > 0)('pending approvals and the per-terminal limit, over real NATS and upterm', () => {
  let h: Harness;
  let terminal: string;
  beforeAll(async () => {
    h = await startHarness({ policy: POLICY, entities: ENTITIES });
    terminal = await h.terminal('slots');
  });
  afterAll(async () => h?.stop());

  const start = async (access: 'read-only' | 'read-write') => h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', access, ttlSeconds: 300 });
  const decide = async (approvalId: string) => (await h.as('human:bob')).request<{ approval: Approval }>('approval.decide', { approvalId, decision: 'approve' });

  it('pending requests leave both slots to the operator; a grant on a full terminal is refused saying what to do, and succeeds once a slot frees', async () => {
    const pending = [await start('read-write'), await start('read-write')].map((r) => (r.ok ? r.value.share : undefined));
    expect(pending.map((s) => s?.state)).toEqual(['awaiting-approval', 'awaiting-approval']);
    const ro = [await start('read-only'), await start('read-only')].map((r) => (r.ok ? r.value.share : undefined));
    expect(ro.map((s) => s?.state)).toEqual(['active', 'active']);

    const refused = await decide(pending[0]!.approvalId!);
    expect(refused).toMatchObject({ ok: false, code: 'limit_exceeded', message: expect.stringMatching(/stop or revoke one, then approve again; approval ap_\w+ stays pending until/) });
    const still = await h.client.request<{ approvals: Approval[] }>('approval.list', { state: 'pending' });
    expect(still.ok && still.value.approvals.map((a) => a.id).sort()).toEqual(pending.map((s) => s!.approvalId).sort());

    await h.client.request('share.stop', { shareId: ro[0]!.id });
    expect(await decide(pending[0]!.approvalId!)).toMatchObject({ ok: true, value: { approval: { state: 'approved' } } });
    const granted = await h.client.request<{ share: Share }>('share.get', { shareId: pending[0]!.id });
    expect(granted.ok && granted.value.share.state).toMatch(/^(starting|active)$/);
    // Two slots taken again (one read-only, one granted): a third share is refused.
    expect(await start('read-only')).toMatchObject({ ok: false, code: 'limit_exceeded' });
  });
});
