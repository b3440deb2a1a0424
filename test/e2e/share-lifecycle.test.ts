import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { badgeKey } from '../../src/adapters/bus/nats/badges.ts';
import { Kvm } from '@nats-io/kv';
import { linkHash } from '../../src/log.ts';
import { startHarness, OPERATOR, type Harness } from '../support/harness.ts';
import { auditRecords, collectEvents, uptermProcesses } from '../support/observe.ts';
import { Participant } from '../support/participant.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

describe.skipIf(missing.length > 0)('share lifecycle over real NATS, tmux, upterm and ssh', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const start = (terminal: string, extra: Record<string, unknown> = {}) =>
    h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR, ...extra });

  it('revoke disconnects a connected participant and leaves nothing behind', async () => {
    const terminal = await h.terminal('revoke');
    const events = collectEvents(h.client.nc);
    const started = await start(terminal, { access: 'read-write', reason: 'pairing', correlationId: 'corr-revoke-1' });
    expect(started.ok).toBe(true);
    if (!started.ok) return;
    const share = started.value.share;
    expect(share.state).toBe('active');
    expect(share.correlationId).toBe('corr-revoke-1');
    expect(share.link?.ssh).toMatch(/^ssh \S+@127\.0\.0\.1 -p \d+$/);
    expect(uptermProcesses(h.config.stateDir, share.id)).toHaveLength(1);

    const guest = await Participant.join(share.link!.ssh, h.guestKey);
    await h.typeInto('revoke', 'echo seen-by-$((40+2))-guest');
    await guest.waitForText('seen-by-42-guest');
    await waitFor('participant-joined event', () => events.of(share.id).some((e) => e.type === 'participant-joined'));

    const kv = await new Kvm(h.svc.nc).open('termshare_badges');
    const badge = await kv.get(badgeKey(terminal));
    expect(badge?.json<{ shares: { shareId: string; participants: number }[] }>().shares).toEqual([
      expect.objectContaining({ shareId: share.id, participants: 1 }),
    ]);

    const revoked = await h.client.request<{ share: Share }>('share.revoke', { shareId: share.id, requester: OPERATOR, reason: 'done' });
    const revokedAt = Date.now();
    expect(revoked.ok && revoked.value.share.state).toBe('revoked');
    await waitFor('the participant ssh process to exit', () => !guest.connected(), 5000);
    expect(Date.now() - revokedAt).toBeLessThan(5000);
    expect(uptermProcesses(h.config.stateDir, share.id)).toEqual([]);
    await waitFor('the badge to be cleared', async () => (await kv.get(badgeKey(terminal)))?.operation !== 'PUT');

    const types = events.of(share.id).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['requested', 'active', 'participant-joined', 'revoked']));
    expect(new Set(events.of(share.id).map((e) => e.correlationId))).toEqual(new Set([share.correlationId]));
    const audit = await waitFor('the revoke audit record', async () => {
      const recs = (await auditRecords(h.svc.nc)).filter((r) => r.shareId === share.id);
      return recs.some((r) => r.action === 'revoke') ? recs : undefined;
    });
    expect(audit.map((r) => r.action)).toEqual(expect.arrayContaining(['start', 'participant.join', 'revoke']));
    expect(audit.every((r) => r.correlationId === share.correlationId)).toBe(true);
    // The link is a secret: records carry its hash only.
    const text = JSON.stringify(audit) + JSON.stringify(events.events);
    expect(text).not.toContain(share.link!.ssh.split(' ')[1]!.split('@')[0]!);
    expect(text).toContain(linkHash(share.link!.ssh));
    await guest.close();
    events.stop();
  });

  it('a read-only share never lets what the participant types reach the terminal', async () => {
    const terminal = await h.terminal('readonly');
    const started = await start(terminal);
    if (!started.ok) throw new Error(started.message);
    expect(started.value.share.access).toBe('read-only');
    const guest = await Participant.join(started.value.share.link!.ssh, h.guestKey);
    await h.typeInto('readonly', 'echo ready-$((1+1))');
    await guest.waitForText('ready-2');
    await guest.type('echo intruder-$((3+4))');
    // The host then types a marker; once the guest sees it, any guest input would have arrived before it.
    await h.typeInto('readonly', 'echo marker-$((5+5))');
    await guest.waitForText('marker-10');
    const pane = await h.pane('readonly');
    expect(pane).toContain('marker-10');
    expect(pane).not.toContain('intruder');
    await h.client.request('share.stop', { shareId: started.value.share.id, requester: OPERATOR });
    await guest.close();
  });

  it('a short TTL warns, then expires by itself; an extension outlives the old deadline', async () => {
    const terminal = await h.terminal('ttl');
    const events = collectEvents(h.client.nc);
    // 8 s with the harness's 2 s grace: the warning comes 6 s in, time enough for the guest's view to
    // attach on a loaded machine (the warning is shown to whoever is attached when it fires).
    const a = await start(terminal, { ttlSeconds: 8 });
    const b = await start(terminal, { ttlSeconds: 8 });
    if (!a.ok || !b.ok) throw new Error('start failed');
    const guest = await Participant.join(a.value.share.link!.ssh, h.guestKey);
    const oldDeadline = Date.parse(b.value.share.expiresAt!);
    const extended = await h.client.request<{ share: Share }>('share.extend', { shareId: b.value.share.id, ttlSeconds: 60, requester: OPERATOR });
    expect(extended.ok && Date.parse(extended.value.share.expiresAt!)).toBeGreaterThan(oldDeadline + 50_000);

    // The warning is shown inside the participant's view before expiry; expiry then disconnects them.
    expect(await guest.waitForText('this share expires in', 15_000)).toMatch(/expires in \d s unless the operator extends it/);
    await waitFor('share a to expire', () => events.of(a.value.share.id).some((e) => e.type === 'expired'), 15_000);
    const aTypes = events.of(a.value.share.id).map((e) => e.type);
    expect(aTypes.indexOf('expiring')).toBeGreaterThan(-1);
    expect(aTypes.indexOf('expiring')).toBeLessThan(aTypes.indexOf('expired'));
    await waitFor('the participant of the expired share to be disconnected', () => !guest.connected(), 5000);
    await guest.close();
    const after = await h.client.request<{ share: Share }>('share.get', { shareId: a.value.share.id });
    expect(after.ok && after.value.share.state).toBe('expired');

    await waitFor('the old deadline of share b to pass', () => Date.now() > oldDeadline + 1000, 10_000);
    const bNow = await h.client.request<{ share: Share }>('share.get', { shareId: b.value.share.id });
    expect(bNow.ok && bNow.value.share.state).toBe('active');
    expect(events.of(b.value.share.id).map((e) => e.type)).toContain('extended');
    expect(uptermProcesses(h.config.stateDir, a.value.share.id)).toEqual([]);
    expect(uptermProcesses(h.config.stateDir, b.value.share.id)).toHaveLength(1);
    await h.client.request('share.stop', { shareId: b.value.share.id, requester: OPERATOR });
    expect(uptermProcesses(h.config.stateDir, b.value.share.id)).toEqual([]);
    events.stop();
  });

  it('the third share of a terminal gets limit_exceeded and changes nothing', async () => {
    const terminal = await h.terminal('limit');
    const one = await start(terminal);
    const two = await start(terminal);
    expect(one.ok && two.ok).toBe(true);
    const three = await start(terminal);
    expect(three).toMatchObject({ ok: false, code: 'limit_exceeded' });
    if (!three.ok) expect(three.message).toMatch(/stop or revoke one/);
    const list = await h.client.request<{ shares: Share[] }>('share.list', { terminal });
    expect(list.ok && list.value.shares.filter((s) => s.state === 'active')).toHaveLength(2);
    for (const s of [one, two]) if (s.ok) await h.client.request('share.stop', { shareId: s.value.share.id, requester: OPERATOR });
  });

  it('a terminal closing ends its shares', async () => {
    const terminal = await h.terminal('closing');
    const started = await start(terminal);
    if (!started.ok) throw new Error(started.message);
    await h.tmux.kill('closing');
    const ended = await waitFor('the share to end', async () => {
      const r = await h.client.request<{ share: Share }>('share.get', { shareId: started.value.share.id });
      return r.ok && r.value.share.state === 'stopped' ? r.value.share : undefined;
    });
    expect(ended.endReason).toBe('terminal-closed');
    expect(uptermProcesses(h.config.stateDir, started.value.share.id)).toEqual([]);
  });
});
