import { jetstreamManager } from '@nats-io/jetstream';
import { connect, headers, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { createUser } from '@nats-io/nkeys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval, Share } from '../../src/api/schemas.ts';
import { AUDIT_STREAM } from '../../src/api/subjects.ts';
import { REQUEST_INFO_HEADER } from '../../src/service/identity.ts';
import { readCredentials } from '../../src/adapters/bus/nats/auth/credentials.ts';
import { serviceConnection } from '../support/auth.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { auditRecords } from '../support/observe.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

/** The README's shape: the owner or a lead may end a share; read-write needs a lead's approval. */
const POLICY = `
@id("operators-read-only")
permit (principal in Group::"operators", action == Action::"share.start", resource)
when { context.access == "read-only" };

@id("rw-needs-a-lead")
@approvals("1")
@approvers("leads")
permit (principal in Group::"operators", action == Action::"share.start", resource)
when { context.access == "read-write" };

@id("leads-approve")
permit (principal in Group::"leads", action == Action::"approval.decide", resource);

@id("operators-watch")
permit (principal in Group::"operators", action == Action::"events.read", resource);

@id("operators-see")
permit (principal in Group::"operators", action in [Action::"share.get", Action::"share.list", Action::"approval.list"], resource);

@id("owner-or-lead-ends")
permit (principal, action in [Action::"share.stop", Action::"share.revoke", Action::"share.link"], resource)
when { context.isOwner || principal in Group::"leads" };

@id("no-mallory-endings")
forbid (principal == Human::"mallory", action in [Action::"share.stop", Action::"share.revoke"], resource);
`;
const person = (id: string, ...groups: string[]) => ({ uid: { type: 'Human', id }, attrs: {}, parents: groups.map((g) => ({ type: 'Group', id: g })) });
const ENTITIES = [
  person('alice', 'operators'),
  person('mallory', 'operators'),
  person('carol', 'operators'),
  person('lee', 'leads'),
  ...['operators', 'leads'].map((g) => ({ uid: { type: 'Group', id: g }, attrs: {}, parents: [] })),
];
const H = (id: string) => ({ kind: 'human' as const, id });

describe.skipIf(missing.length > 0)('who is asking: principals the NATS server authenticated', () => {
  let h: Harness;
  let terminal: string;
  let svc: NatsConnection;
  beforeAll(async () => {
    h = await startHarness({ policy: POLICY, entities: ENTITIES });
    terminal = await h.terminal('who');
    svc = await serviceConnection(h.config.stateDir, h.nats.url);
  });
  afterAll(async () => {
    await svc?.close();
    await h?.stop();
  });

  const shareAs = async (principal: string, access: 'read-only' | 'read-write' = 'read-only') => {
    const r = await (await h.as(principal)).request<{ share: Share }>('share.start', { terminal, backend: 'upterm', access, ttlSeconds: 600 });
    if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
    return r.value.share;
  };
  const refusals = async (actor: string) => (await auditRecords(svc)).filter((r) => r.action === 'request.refused' && r.actor === actor);

  it('a client with no credentials, or with a key nobody issued, cannot connect at all', async () => {
    await expect(connect({ servers: h.nats.url, reconnect: false })).rejects.toThrow(/authorization violation/i);
    const stranger = createUser();
    await expect(connect({ servers: h.nats.url, reconnect: false, authenticator: nkeyAuthenticator(stranger.getSeed()) })).rejects.toThrow(/authorization violation/i);
  });

  it('mallory claiming to be a lead is refused unauthorized, nothing changes, and the refusal is audited with mallory as the actor', async () => {
    const mallory = await h.as('human:mallory');
    const before = h.svc.shares.list().length;
    const r = await mallory.request('share.start', { terminal, backend: 'upterm', requester: H('lee'), access: 'read-write' });
    expect(r).toMatchObject({ ok: false, code: 'unauthorized', message: expect.stringMatching(/you are signed in as human:mallory, but the request says requester human:lee/) });
    expect(h.svc.shares.list()).toHaveLength(before);
    const audited = await waitFor('the refusal record', async () => (await refusals('human:mallory')).find((x) => x.outcome === 'unauthorized'));
    expect(audited).toMatchObject({ terminal, data: { verb: 'share.start' } });
  });

  it('a forged request-info header is overwritten by the server: the service still sees mallory', async () => {
    const mallory = await h.as('human:mallory');
    const alice = await h.as('human:alice');
    const aliceKey = (await h.principals.list()).find((p) => p.principal === 'human:alice')!.publicKey;
    const hdrs = headers();
    hdrs.set(REQUEST_INFO_HEADER, JSON.stringify({ acc: 'TERMSHARE_USERS', user: aliceKey }));
    const m = await mallory.nc.request('termshare.share.start', JSON.stringify({ terminal, backend: 'upterm', ttlSeconds: 60 }), { headers: hdrs, timeout: 20_000 });
    const share = (m.json() as { share: Share }).share;
    expect(share.requester).toEqual(H('mallory'));
    expect(alice.principal).toBe('human:alice');
    await (await h.as('human:lee')).request('share.stop', { shareId: share.id });
  });

  it('self-approval under a forged id is impossible; only a lead with their own credentials approves', async () => {
    const s = await shareAs('human:mallory', 'read-write');
    expect(s.state).toBe('awaiting-approval');
    const mallory = await h.as('human:mallory');
    const forged = await mallory.request<{ approval: Approval }>('approval.decide', { approvalId: s.approvalId, approver: H('lee'), decision: 'approve' });
    expect(forged).toMatchObject({ ok: false, code: 'unauthorized', message: expect.stringMatching(/signed in as human:mallory/) });
    const own = await mallory.request<{ approval: Approval }>('approval.decide', { approvalId: s.approvalId, decision: 'approve' });
    expect(own).toMatchObject({ ok: false, code: 'unauthorized' });
    expect(h.svc.shares.get(s.id)).toMatchObject({ ok: true, value: { state: 'awaiting-approval' } });
    const lee = await (await h.as('human:lee')).request<{ approval: Approval }>('approval.decide', { approvalId: s.approvalId, decision: 'approve' });
    expect(lee.ok && lee.value.approval).toMatchObject({ state: 'approved', decisions: [{ approver: H('lee'), decision: 'approve' }] });
    await waitFor('the approved share to be active', () => h.svc.shares.get(s.id).ok && (h.svc.shares.get(s.id) as { value: Share }).value.state === 'active');
    await (await h.as('human:lee')).request('share.stop', { shareId: s.id });
  });

  it('stop and revoke by a principal the policy does not permit are policy_denied, and the share lives on', async () => {
    const s = await shareAs('human:alice');
    for (const [who, verb] of [
      ['human:carol', 'share.stop'],
      ['human:carol', 'share.revoke'],
      ['human:mallory', 'share.revoke'],
    ] as const) {
      const r = await (await h.as(who)).request(verb, { shareId: s.id });
      expect(r, `${who} ${verb}`).toMatchObject({ ok: false, code: 'policy_denied' });
    }
    const mallory = await (await h.as('human:mallory')).request('share.stop', { shareId: s.id });
    expect(mallory).toMatchObject({ ok: false, code: 'policy_denied', message: expect.stringMatching(/no-mallory-endings/) });
    expect(h.svc.shares.get(s.id)).toMatchObject({ ok: true, value: { state: 'active' } });
    await waitFor('carol\'s refusals in the audit trail', async () => (await refusals('human:carol')).filter((r) => r.shareId === s.id && r.outcome === 'policy_denied').length === 2);
    // The share's link goes only to those who may see it: the owner, not another operator.
    expect(((await (await h.as('human:carol')).request<{ share: Share }>('share.get', { shareId: s.id })) as { value: { share: Share } }).value.share.link).toBeUndefined();
    expect(((await h.client.request<{ share: Share }>('share.get', { shareId: s.id })) as { value: { share: Share } }).value.share.link?.ssh).toMatch(/^ssh /);
    const ended = await (await h.as('human:lee')).request<{ share: Share }>('share.revoke', { shareId: s.id, reason: 'a lead may' });
    expect(ended.ok && ended.value.share.state).toBe('revoked');
  });

  it('a principal cannot read replies meant for another, answer a request in the service\'s place, or publish an event', async () => {
    const mallory = await h.as('human:mallory');
    const violations: string[] = [];
    void (async () => {
      for await (const s of mallory.nc.status()) if (s.type === 'error') violations.push(String(s.error));
    })();
    const aliceKey = (await h.principals.list()).find((p) => p.principal === 'human:alice')!.publicKey;
    mallory.nc.subscribe(`_INBOX_${aliceKey}.>`);
    mallory.nc.subscribe('termshare.share.start');
    mallory.nc.publish('termshare.events.share.sh_fake000000.revoked', '{}');
    await mallory.nc.flush();
    await waitFor('three permission violations', () => violations.length >= 3);
    expect(violations.join('\n')).toMatch(/_INBOX_/);
    expect(violations.join('\n')).toMatch(/termshare\.share\.start/);
    expect(violations.join('\n')).toMatch(/termshare\.events\.share/);
    // Alice's share.start is still answered by the service, with a real link.
    const s = await shareAs('human:alice');
    expect(s.link?.ssh).toMatch(/^ssh /);
    await h.client.request('share.stop', { shareId: s.id });
  });

  it('only principals the policy permits events.read may subscribe to events and badge changes', async () => {
    const errorsOf = (c: { nc: NatsConnection }) => {
      const out: string[] = [];
      void (async () => {
        for await (const s of c.nc.status()) if (s.type === 'error') out.push(String(s.error));
      })();
      return out;
    };
    const lee = await h.as('human:lee');
    const leeErrors = errorsOf(lee);
    const seenByLee: string[] = [];
    const leeRefused: string[] = [];
    lee.nc.subscribe('termshare.events.>', { callback: (e, m) => void (e ? leeRefused.push(e.message) : seenByLee.push(m.subject)) });
    const seenByAlice: string[] = [];
    h.client.nc.subscribe('termshare.events.share.>', { callback: (_e, m) => void seenByAlice.push(m.subject) });
    await Promise.all([lee.nc.flush(), h.client.nc.flush()]);
    await waitFor('the server to refuse lee the events', () => [...leeErrors, ...leeRefused].some((e) => /permissions violation for subscription to "termshare\.events\.>"/i.test(e)));
    const s = await shareAs('human:alice');
    await waitFor('alice to see the share\'s events', () => seenByAlice.some((x) => x.includes(s.id)));
    await h.client.request('share.stop', { shareId: s.id });
    await waitFor('alice to see it stopped', () => seenByAlice.some((x) => x.endsWith(`${s.id}.stopped`)));
    expect(seenByLee).toEqual([]);
  });

  it('deleting or purging audit records is refused with the service\'s own credentials and with an operator\'s', async () => {
    const jsm = await jetstreamManager(svc);
    const before = (await jsm.streams.info(AUDIT_STREAM)).state;
    expect(before.messages).toBeGreaterThan(0);
    await expect(jsm.streams.deleteMessage(AUDIT_STREAM, before.first_seq)).rejects.toThrow(/permissions violation/i);
    await expect(jsm.streams.purge(AUDIT_STREAM)).rejects.toThrow(/permissions violation/i);
    await expect(jsm.streams.delete(AUDIT_STREAM)).rejects.toThrow(/permissions violation/i);
    await expect(jsm.streams.update(AUDIT_STREAM, { max_msgs: 1 })).rejects.toThrow(/permissions violation/i);
    // An operator's credentials reach no JetStream API at all.
    await expect(jetstreamManager(h.client.nc, { timeout: 1000 })).rejects.toThrow(/permissions violation/i);
    const after = (await jsm.streams.info(AUDIT_STREAM)).state;
    expect(after.first_seq).toBe(before.first_seq);
    expect(after.messages).toBeGreaterThanOrEqual(before.messages);
  });

  it('a revoked credential stops working on its next request', async () => {
    const carol = await h.as('human:carol');
    expect((await carol.request('share.list', {})).ok).toBe(true);
    const creds = await readCredentials(h.principals.paths.of('human:carol'));
    await h.principals.revoke('human:carol');
    // Before the server has reloaded, the service itself refuses the revoked key.
    const refused = await carol.request('share.list', {});
    expect(refused).toMatchObject({ ok: false, code: 'unauthorized', message: expect.stringMatching(/credentials of human:carol were revoked/) });
    // Once it has, the server drops the connection and refuses the key.
    await h.nats.reload();
    await expect(connect({ servers: h.nats.url, reconnect: false, authenticator: nkeyAuthenticator(creds.seed) })).rejects.toThrow(/authorization violation/i);
    await expect(carol.request('share.list', {}, 1000)).rejects.toThrow();
  });
});
