import { get } from 'node:http';
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
});
