import { afterEach, describe, expect, it } from 'vitest';
import type { TermshareClient } from '../../src/cli/client.ts';
import { startPanel, type Panel } from '../../src/panel/server.ts';

const good = { terminal: 'tmux:ok', badge: 'shared ro ×1', shares: [{ shareId: 'sh_goodone', backend: 'upterm', access: 'read-only', state: 'active', participants: 1 }] };

/** A client seam answering badge.list and approval.list with whatever a test hands it. */
function fakeClient(badges: unknown, approvals: unknown = []): TermshareClient {
  return {
    nc: { subscribe: () => ({ unsubscribe: () => undefined }) },
    request: async (verb: string) => ({ ok: true, value: verb === 'badge.list' ? { badges } : { approvals } }),
  } as unknown as TermshareClient;
}

describe('the lane panel, whatever the badges it is given', () => {
  let panel: Panel | undefined;
  afterEach(async () => panel?.close());

  it.each([
    ['a list with malformed badges among good ones', [good, { terminal: 'tmux:a\r\nb', badge: 1 }, 'garbage', null, { ...good, shares: 'x' }, 42]],
    ['a reply that is not a list at all', 'not a list'],
    ['approvals of the wrong shape too', [good]],
  ])('serves %s, skipping and logging the bad ones', async (_name, badges) => {
    const logged: string[] = [];
    panel = await startPanel(fakeClient(badges, [{ id: 'ap_x' }, 'junk']), { log: (_f, msg) => logged.push(msg) });
    const res = await fetch(panel.url);
    expect(res.status).toBe(200);
    const page = await res.text();
    if (Array.isArray(badges)) expect(page).toContain('data-terminal="tmux:ok"');
    expect(page).not.toContain('tmux:a');
    expect(page).not.toContain('ap_x');
    expect(logged).toContain('skipped approvals that are not approvals');
    const api = await fetch(new URL('/api/badges', panel.url));
    expect(api.status).toBe(200);
    expect(await api.json()).toEqual(Array.isArray(badges) ? [good] : []);
    if (Array.isArray(badges) && badges.length > 1) expect(logged).toContain('skipped badges that are not badges');
  });
});
