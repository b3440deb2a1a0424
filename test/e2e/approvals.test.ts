import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval, Share } from '../../src/api/schemas.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { auditRecords, collectEvents, uptermProcesses } from '../support/observe.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

const POLICY = `
@id("operators-watch")
permit (principal in Group::"operators", action == Action::"events.read", resource);

@id("operators-read-only")
permit (principal in Group::"operators", action == Action::"share.start", resource)
when { context.access == "read-only" };

@id("rw-needs-a-lead")
@approvals("1")
@approvers("leads")
@approval_timeout("2")
permit (principal in Group::"operators", action == Action::"share.start", resource)
when { context.access == "read-write" };

@id("operators-manage")
permit (principal in Group::"operators", action in [Action::"share.get", Action::"share.link", Action::"share.stop", Action::"approval.list"], resource);

@id("leads-and-deciders-decide")
permit (principal, action == Action::"approval.decide", resource)
when { principal in Group::"leads" || principal in Group::"deciders" };
`;
const person = (id: string, ...groups: string[]) => ({ uid: { type: 'Human', id }, attrs: {}, parents: groups.map((g) => ({ type: 'Group', id: g })) });
const ENTITIES = [
  person('alice', 'operators'),
  person('bob', 'leads'),
  person('carol', 'operators'),
  person('dave', 'operators', 'leads'),
  person('erin', 'deciders'),
  ...['operators', 'leads', 'deciders'].map((g) => ({ uid: { type: 'Group', id: g }, attrs: {}, parents: [] })),
];
const H = (id: string) => ({ kind: 'human' as const, id });

describe.skipIf(missing.length > 0)('approval chains over real NATS', () => {
  let h: Harness;
  let terminal: string;
  beforeAll(async () => {
    h = await startHarness({ policy: POLICY, entities: ENTITIES });
    terminal = await h.terminal('appr');
  });
  afterAll(async () => {
    await h?.stop();
  });

  const requestRw = async (requester = H('alice')) => {
    const r = await (await h.as(`human:${requester.id}`)).request<{ share: Share }>('share.start', { terminal, backend: 'upterm', access: 'read-write', requester, ttlSeconds: 300 });
    if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
    expect(r.value.share).toMatchObject({ state: 'awaiting-approval', approvalId: expect.stringMatching(/^ap_/) });
    return r.value.share;
  };
  const decide = async (approvalId: string, approver: string, decision: 'approve' | 'reject', comment?: string) =>
    (await h.as(`human:${approver}`)).request<{ approval: Approval }>('approval.decide', { approvalId, approver: H(approver), decision, ...(comment ? { comment } : {}) });
  const share = async (id: string) => {
    const r = await h.client.request<{ share: Share }>('share.get', { shareId: id });
    if (!r.ok) throw new Error(r.message);
    return r.value.share;
  };
  const noWorkerEver = (id: string) => {
    expect(existsSync(join(h.config.stateDir, 'workers', id))).toBe(false);
    expect(uptermProcesses(h.config.stateDir, id)).toEqual([]);
  };

  it('a read-write share waits for a lead; once approved its worker starts', async () => {
    const events = collectEvents(h.client.nc);
    const s = await requestRw();
    noWorkerEver(s.id);
    const pending = await h.client.request<{ approvals: Approval[] }>('approval.list', { state: 'pending' });
    expect(pending.ok && pending.value.approvals.map((a) => a.id)).toContain(s.approvalId);
    const ok = await decide(s.approvalId!, 'bob', 'approve', 'pairing on the outage');
    expect(ok.ok && ok.value.approval).toMatchObject({ state: 'approved', decisions: [{ approver: H('bob'), decision: 'approve' }] });
    const active = await waitFor('the share to become active', async () => ((await share(s.id)).state === 'active' ? share(s.id) : undefined));
    expect(active.link?.ssh).toMatch(/^ssh /);
    expect(uptermProcesses(h.config.stateDir, s.id)).toHaveLength(1);
    await waitFor('approval events', () => events.events.some((e) => e.subject === `termshare.events.approval.${s.approvalId}.approved`));
    const audit = await waitFor('the start audit record', async () => {
      const recs = (await auditRecords(h.svc.nc)).filter((r) => r.shareId === s.id);
      return recs.some((r) => r.action === 'start') ? recs : undefined;
    });
    expect(audit.map((r) => r.action)).toEqual(expect.arrayContaining(['approval.request', 'approval.decide', 'approval.approved', 'start']));
    expect(new Set(audit.map((r) => r.correlationId))).toEqual(new Set([s.correlationId]));
    await h.client.request('share.stop', { shareId: s.id, requester: H('alice') });
    events.stop();
  });

  it('a rejection starts nothing and tells the requester why', async () => {
    const events = collectEvents(h.client.nc);
    const s = await requestRw();
    const r = await decide(s.approvalId!, 'bob', 'reject', 'not during the freeze');
    expect(r.ok && r.value.approval.state).toBe('rejected');
    const after = await waitFor('the share to be denied', async () => ((await share(s.id)).state === 'denied' ? share(s.id) : undefined));
    expect(after.error).toMatchObject({ code: 'approval_rejected', message: expect.stringContaining('human:bob (not during the freeze)') });
    await waitFor('the denied event', () => events.of(s.id).some((e) => e.type === 'denied'));
    noWorkerEver(s.id);
    events.stop();
  });

  it('a request nobody decides times out, starts nothing, and the requester is told', async () => {
    const events = collectEvents(h.client.nc);
    const s = await requestRw();
    const after = await waitFor('the approval to time out', async () => ((await share(s.id)).state === 'denied' ? share(s.id) : undefined), 10_000);
    expect(after.error?.code).toBe('approval_timeout');
    await waitFor('the timed-out event', () => events.events.some((e) => e.subject === `termshare.events.approval.${s.approvalId}.timed-out`));
    noWorkerEver(s.id);
    events.stop();
  });

  it('a requester cannot approve their own request', async () => {
    const s = await requestRw(H('dave'));
    const r = await decide(s.approvalId!, 'dave', 'approve');
    expect(r).toMatchObject({ ok: false, code: 'unauthorized', message: expect.stringMatching(/human:dave made this request and cannot decide it/) });
    expect((await share(s.id)).state).toBe('awaiting-approval');
    await (await h.as('human:dave')).request('share.stop', { shareId: s.id, requester: H('dave') });
    noWorkerEver(s.id);
  });

  it('an approver outside the group is refused, by policy or by the approvers list', async () => {
    const s = await requestRw();
    const carol = await decide(s.approvalId!, 'carol', 'approve');
    expect(carol).toMatchObject({ ok: false, code: 'unauthorized', message: expect.stringMatching(/human:carol may not decide approvals/) });
    const erin = await decide(s.approvalId!, 'erin', 'approve');
    expect(erin).toMatchObject({ ok: false, code: 'unauthorized', message: expect.stringMatching(/human:erin is not in leads/) });
    expect((await share(s.id)).state).toBe('awaiting-approval');
    const gone = await h.client.request<{ share: Share }>('share.stop', { shareId: s.id, requester: H('alice') });
    expect(gone.ok && gone.value.share.state).toBe('stopped');
    const list = await h.client.request<{ approvals: Approval[] }>('approval.list', {});
    expect(list.ok && list.value.approvals.find((a) => a.id === s.approvalId)?.state).toBe('withdrawn');
    noWorkerEver(s.id);
  });
});
