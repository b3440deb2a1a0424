import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badgeKey } from '../../src/adapters/bus/nats/badges.ts';
import type { Share } from '../../src/api/schemas.ts';
import { startHarness, OPERATOR, type Harness } from '../support/harness.ts';
import { auditRecords, collectEvents, tmateProcesses, uptermProcesses } from '../support/observe.ts';
import { Participant } from '../support/participant.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const userAtHost = (link: string) => link.split(' ').find((w) => w.includes('@'));

const missing = missingTools('nats-server', 'tmux', 'tmate', 'ssh', 'setpriv', 'upterm', 'uptermd');

describe.skipIf(missing.length > 0)('tmate shares and switching backends, over real NATS, tmux, upterm, tmate and ssh', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ tmate: true, env: { TERMSHARE_LINK_TIMEOUT: '3' } });
  });
  afterAll(async () => {
    await h?.stop();
  });
  const start = (terminal: string, extra: Record<string, unknown> = {}) =>
    h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR, ...extra });
  const tmateDir = () => `${h.config.stateDir}/tmate-workers`;

  it('a tmate share becomes active with read-only links; stop ends the tmate process', async () => {
    const terminal = await h.terminal('tm');
    const r = await start(terminal, { backend: 'tmate' });
    if (!r.ok) throw new Error(r.message);
    const share = r.value.share;
    expect(share).toMatchObject({ state: 'active', backend: 'tmate', access: 'read-only' });
    const issued = h.tmateRelay!.sessions.at(-1)!;
    // A read-only share hands out only read-only links.
    expect(userAtHost(share.link!.ssh)).toBe(userAtHost(issued.sshReadOnly));
    expect(Object.values(share.link!).map(userAtHost)).not.toContain(userAtHost(issued.ssh));
    expect(tmateProcesses(`${tmateDir()}/${share.id}`)).toHaveLength(1);
    const stopped = await h.client.request<{ share: Share }>('share.stop', { shareId: share.id, requester: OPERATOR });
    expect(stopped.ok && stopped.value.share.state).toBe('stopped');
    expect(tmateProcesses(`${tmateDir()}/${share.id}`)).toEqual([]);
  });

  it('switch upterm → tmate gives a new tmate link, ends upterm and its participant, and keeps id and expiry', async () => {
    const terminal = await h.terminal('sw');
    const events = collectEvents(h.client.nc);
    const r = await start(terminal, { ttlSeconds: 600, correlationId: 'corr-switch-1' });
    if (!r.ok) throw new Error(r.message);
    const before = r.value.share;
    const guest = await Participant.join(before.link!.ssh, h.guestKey);
    await waitFor('the participant to be counted', async () => {
      const g = await h.client.request<{ share: Share }>('share.get', { shareId: before.id });
      return g.ok && g.value.share.participants === 1;
    });

    const sw = await h.client.request<{ share: Share }>('share.switch', { shareId: before.id, backend: 'tmate', requester: OPERATOR });
    if (!sw.ok) throw new Error(sw.message);
    const after = sw.value.share;
    expect(after).toMatchObject({ id: before.id, backend: 'tmate', state: 'active', expiresAt: before.expiresAt, correlationId: 'corr-switch-1' });
    expect(after.link!.ssh).not.toBe(before.link!.ssh);
    expect(userAtHost(after.link!.ssh)).toBe(userAtHost(h.tmateRelay!.sessions.at(-1)!.sshReadOnly));
    expect(uptermProcesses(h.config.stateDir, before.id)).toEqual([]);
    expect(tmateProcesses(`${tmateDir()}/${before.id}`)).toHaveLength(1);
    await waitFor('the upterm participant to be disconnected', () => !guest.connected(), 5000);

    const kv = await new Kvm(h.svc.nc).open('termshare_badges');
    await waitFor('the badge to show tmate', async () => (await kv.get(badgeKey(terminal)))?.json<{ shares: { backend: string }[] }>().shares[0]?.backend === 'tmate');
    await waitFor('the switched event', () => events.of(before.id).some((e) => e.type === 'switched'));
    expect(events.of(before.id).find((e) => e.type === 'switched')!.data).toMatchObject({ from: 'upterm', to: 'tmate' });
    const audit = await waitFor('the switch audit record', async () => (await auditRecords(h.svc.nc)).find((x) => x.shareId === before.id && x.action === 'switch'));
    expect(audit).toMatchObject({ outcome: 'switched', correlationId: 'corr-switch-1', actor: 'human:alice' });

    // Switching used no extra slot of the per-terminal limit: one more share still fits.
    const second = await start(terminal);
    expect(second.ok).toBe(true);
    for (const id of [before.id, second.ok ? second.value.share.id : '']) await h.client.request('share.stop', { shareId: id, requester: OPERATOR });
    expect(tmateProcesses(`${tmateDir()}/${before.id}`)).toEqual([]);
    await guest.close();
    events.stop();
  });

  it('a switch whose new backend fails leaves the old link working, and the reply says why', async () => {
    const terminal = await h.terminal('swfail');
    const r = await start(terminal);
    if (!r.ok) throw new Error(r.message);
    const share = r.value.share;
    h.tmateRelay!.setMode('never-ready');
    try {
      const sw = await h.client.request('share.switch', { shareId: share.id, backend: 'tmate', requester: OPERATOR });
      // A relay that answers but never says ready: no link within the bound.
      expect(sw).toMatchObject({ ok: false, code: 'backend_failed' });
      if (!sw.ok) expect(sw.message).toMatch(/switch to tmate failed, the share goes on with upterm/);
    } finally {
      h.tmateRelay!.setMode('normal');
    }
    expect(tmateProcesses(`${tmateDir()}/${share.id}`)).toEqual([]);
    const now = await h.client.request<{ share: Share }>('share.get', { shareId: share.id });
    expect(now.ok && now.value.share).toMatchObject({ backend: 'upterm', state: 'active', link: share.link });
    const guest = await Participant.join(share.link!.ssh, h.guestKey);
    await h.typeInto('swfail', 'echo still-$((20+1))');
    await guest.waitForText('still-21');
    await h.client.request('share.stop', { shareId: share.id, requester: OPERATOR });
    await guest.close();
  });
});
