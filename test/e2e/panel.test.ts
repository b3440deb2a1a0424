import { get } from 'node:http';
import { Kvm } from '@nats-io/kv';
import { badgeKey } from '../../src/adapters/bus/nats/badges.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { startPanel, type Panel } from '../../src/panel/server.ts';
import { startHarness, OPERATOR, type Harness } from '../support/harness.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

describe.skipIf(missing.length > 0)('the lane panel, over real NATS', () => {
  let h: Harness;
  let panel: Panel;
  beforeAll(async () => {
    h = await startHarness();
    panel = await startPanel(h.client);
  });
  afterAll(async () => {
    await panel?.close();
    await h?.stop();
  });

  it('shows a lane with its badge for each shared terminal, and updates live when a share ends', async () => {
    const terminal = await h.terminal('lane');
    const before = await (await fetch(panel.url)).text();
    expect(before).toContain('No terminal is shared right now.');

    const r = await h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR });
    if (!r.ok) throw new Error(r.message);
    const page = await waitFor('the lane to appear', async () => {
      const t = await (await fetch(panel.url)).text();
      return t.includes(`data-share="${r.value.share.id}"`) ? t : undefined;
    });
    expect(page).toContain(`data-terminal="${terminal}"`);
    expect(page).toMatch(/<span class="badge">shared ro ×1<\/span>/);
    expect(page).not.toContain(r.value.share.link!.ssh); // the panel never shows a link
    const api = await (await fetch(new URL('/api/badges', panel.url))).json();
    expect(api).toEqual([expect.objectContaining({ terminal, shares: [expect.objectContaining({ shareId: r.value.share.id, state: 'active' })] })]);

    // A server-sent event arrives when the badge goes.
    const events: string[] = [];
    const req = get(new URL('/events', panel.url), (res) => res.on('data', (d: Buffer) => events.push(d.toString())));
    await waitFor('the event stream to open', () => events.some((e) => e.includes('connected')));
    await h.client.request('share.stop', { shareId: r.value.share.id, requester: OPERATOR });
    await waitFor('a badge change event', () => events.some((e) => e.startsWith('data:') && /"op":"(DEL|PURGE)"/.test(e)));
    req.destroy();
    expect(await (await fetch(panel.url)).text()).toContain('No terminal is shared right now.');
  });

  it('survives any value in the badge bucket: bad ones are skipped and logged, good lanes still show', async () => {
    const terminal = await h.terminal('steady');
    const r = await h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR });
    if (!r.ok) throw new Error(r.message);
    // Written with the service's own connection: the only one with access to the bucket.
    const kv = await new Kvm(h.svc.nc).open('termshare_badges');
    const bad: Array<[string, string]> = [
      ['tmux:notjson', 'not json\r\nat all'],
      ['tmux:shape', JSON.stringify({ terminal: 5, shares: 'nope' })],
      ['tmux:crlf', JSON.stringify({ terminal: 'tmux:a\r\nb', badge: 'x\r\ny', shares: [] })],
      ['tmux:null', 'null'],
      ['tmux:huge', JSON.stringify({ terminal: 'tmux:huge', badge: 'h'.repeat(600_000), shares: [] })],
    ];
    for (const [t, v] of bad) await kv.put(badgeKey(t), v);
    try {
      const page = await waitFor('the page with the good lane', async () => {
        const res = await fetch(panel.url);
        const t = await res.text();
        return res.status === 200 && t.includes(`data-share="${r.value.share.id}"`) ? t : undefined;
      });
      expect(page).not.toMatch(/tmux:(notjson|shape|crlf|null|huge)/);
      const api = await fetch(new URL('/api/badges', panel.url));
      expect(api.status).toBe(200);
      expect(((await api.json()) as Array<{ terminal: string }>).map((b) => b.terminal)).toEqual([terminal]);
      const listed = await h.client.request<{ badges: unknown[] }>('badge.list', {});
      expect(listed.ok && listed.value.badges).toHaveLength(1);
    } finally {
      for (const [t] of bad) await kv.delete(badgeKey(t));
      await h.client.request('share.stop', { shareId: r.value.share.id, requester: OPERATOR });
    }
  });
});
