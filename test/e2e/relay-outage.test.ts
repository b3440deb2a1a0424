import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { startHarness, OPERATOR, type Harness } from '../support/harness.ts';
import { auditRecords, collectEvents } from '../support/observe.ts';
import { Participant } from '../support/participant.ts';
import { missingTools, toolPath } from '../support/tools.ts';
import { startUptermd, type Relay } from '../support/uptermd.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd', 'tmate');

describe.skipIf(missing.length > 0)('relay outages', () => {
  let h: Harness;
  let again: Relay | undefined;
  beforeAll(async () => {
    h = await startHarness({ tmate: true });
  });
  afterAll(async () => {
    await again?.stop();
    await h?.stop();
  });

  const get = async (id: string) => {
    const g = await h.client.request<{ share: Share }>('share.get', { shareId: id });
    if (!g.ok) throw new Error(g.message);
    return g.value.share;
  };

  it('uptermd killed and started again: the share recovers with a new link within the restart policy', async () => {
    const r = await h.client.request<{ share: Share }>('share.start', { terminal: await h.terminal('outage'), backend: 'upterm', requester: OPERATOR });
    if (!r.ok) throw new Error(r.message);
    const share = r.value.share;
    await h.relay.stop();
    await waitFor('the crash to be seen', async () => (await auditRecords(h.svc.nc)).some((x) => x.shareId === share.id && x.action === 'worker.crash'));
    again = await startUptermd(toolPath('uptermd')!, { port: h.relay.port, keyDir: h.relay.keyDir });
    // Backoff 1 s, 2 s, 4 s within the budget of 3 restarts: the relay is back well inside it.
    const back = await waitFor('the share active with a new link', async () => {
      const s = await get(share.id);
      if (s.state === 'failed') throw new Error(`the share failed: ${s.error?.message}`);
      return s.state === 'active' && s.link!.ssh !== share.link!.ssh ? s : undefined;
    }, 20_000);
    const guest = await Participant.join(back.link!.ssh, h.guestKey);
    await waitFor('the participant on the new link to be counted', async () => (await get(share.id)).participants > 0);
    await guest.close();
    await h.client.request('share.stop', { shareId: share.id, requester: OPERATOR });
  });

  it('the tmate relay drops its connections: tmate reconnects, and the share takes its new link', async () => {
    const events = collectEvents(h.client.nc);
    const r = await h.client.request<{ share: Share }>('share.start', { terminal: await h.terminal('tmate-drop'), backend: 'tmate', requester: OPERATOR });
    if (!r.ok) throw new Error(r.message);
    const share = r.value.share;
    h.tmateRelay!.dropAll();
    const relinked = await waitFor('a relinked event', () => events.of(share.id).find((e) => e.type === 'relinked'), 15_000);
    const now = await get(share.id);
    expect(now.state).toBe('active');
    expect(now.link!.ssh).not.toBe(share.link!.ssh);
    // The new link is the one the relay handed out on the reconnection.
    expect(now.link!.ssh).toContain(h.tmateRelay!.sessions.at(-1)!.sshReadOnly.split(' ').at(-1)!.split('@')[0]);
    expect(relinked.data).toMatchObject({ cause: 'the backend reconnected to its relay' });
    events.stop();
    await h.client.request('share.stop', { shareId: share.id, requester: OPERATOR });
  });
});
