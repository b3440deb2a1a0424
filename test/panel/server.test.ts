import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { TermshareClient } from '../../src/cli/client.ts';
import { startPanel, type Panel } from '../../src/panel/server.ts';

const good = { terminal: 'tmux:ok', badge: 'shared ro ×1', shares: [{ shareId: 'sh_goodone', backend: 'upterm', access: 'read-only', state: 'active', participants: 1 }] };

/**
 * A client seam for the panel's HTTP side: answers badge.list and approval.list with whatever a
 * test hands it, records every other request, or throws as NATS does when no service answers.
 */
function fakeClient(opts: { badges?: unknown; approvals?: unknown; down?: boolean } = {}) {
  const asked: { verb: string; body: unknown }[] = [];
  const client = {
    principal: 'human:alice',
    nc: { subscribe: () => ({ unsubscribe: () => undefined }), isClosed: () => false },
    request: async (verb: string, body: unknown) => {
      if (opts.down) throw new Error('503');
      if (verb === 'badge.list') return { ok: true, value: { badges: opts.badges ?? [] } };
      if (verb === 'approval.list') return { ok: true, value: { approvals: opts.approvals ?? [] } };
      asked.push({ verb, body });
      if (verb === 'share.get') return { ok: true, value: { share: { id: 'sh_goodone', link: { ssh: 'ssh secret@127.0.0.1 -p 2222' } } } };
      return { ok: true, value: { share: { id: 'sh_goodone' } } };
    },
  } as unknown as TermshareClient;
  return { client, asked };
}

async function tokenOf(panel: Panel): Promise<string> {
  const page = await (await fetch(panel.url)).text();
  return page.match(/name="termshare-csrf" content="([^"]+)"/)![1]!;
}

/** A POST with exactly these headers (fetch would not send a Host of our choosing). */
function post(panel: Panel, body: unknown, headers: Record<string, string>): Promise<{ status: number; json(): Promise<{ ok: boolean; code?: string; message: string; link?: string }> }> {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(new URL('/api/actions', panel.url), { method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode!, json: async () => JSON.parse(Buffer.concat(parts).toString()) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('the lane panel server', () => {
  let panel: Panel | undefined;
  afterEach(async () => panel?.close());

  it.each([
    ['a list with malformed badges among good ones', [good, { terminal: 'tmux:a\r\nb', badge: 1 }, 'garbage', null, { ...good, shares: 'x' }, 42]],
    ['a reply that is not a list at all', 'not a list'],
  ])('serves %s, skipping and logging the bad ones', async (_name, badges) => {
    const logged: string[] = [];
    panel = await startPanel(fakeClient({ badges, approvals: [{ id: 'ap_x' }, 'junk'] }).client, { log: (_f, msg) => logged.push(msg) });
    const state = await (await fetch(new URL('/api/state', panel.url))).json();
    expect(state.service).toBe('up');
    expect(state.lanes.map((l: { terminal: string }) => l.terminal)).toEqual(Array.isArray(badges) ? ['tmux:ok'] : []);
    expect(JSON.stringify(state)).not.toContain('ap_x');
    expect(logged).toContain('skipped approvals that are not approvals');
    expect(await (await fetch(new URL('/api/badges', panel.url))).json()).toEqual(Array.isArray(badges) ? [good] : []);
    if (Array.isArray(badges)) expect(logged).toContain('skipped badges that are not badges');
  });

  it('says so when no service answers, and what to do', async () => {
    panel = await startPanel(fakeClient({ down: true }).client, { log: () => undefined });
    const state = await (await fetch(new URL('/api/state', panel.url))).json();
    expect(state).toMatchObject({ service: 'down', lanes: [] });
    expect(state.problem).toMatch(/no termshare service answers .*termshare serve/);
  });

  it('names on the page the principal it acts as, and serves everything itself', async () => {
    panel = await startPanel(fakeClient().client, { log: () => undefined });
    const res = await fetch(panel.url);
    const page = await res.text();
    expect(page).toContain('Acting as <strong>human:alice</strong>');
    expect(page).not.toMatch(/(src|href)="(https?:)?\/\//);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  });

  it('takes an action from its own page with its token, as the verb the CLI sends', async () => {
    const { client, asked } = fakeClient({ badges: [good] });
    panel = await startPanel(client, { log: () => undefined });
    const token = await tokenOf(panel);
    const origin = new URL(panel.url).origin;
    const r = await post(panel, { action: 'extend', shareId: 'sh_goodone', ttlSeconds: 900 }, { origin, 'x-termshare-csrf': token });
    expect(await r.json()).toMatchObject({ ok: true, message: 'sh_goodone extended' });
    await post(panel, { action: 'reject', approvalId: 'ap_1', comment: 'no' }, { origin, 'x-termshare-csrf': token });
    expect(asked).toEqual([
      { verb: 'share.extend', body: { shareId: 'sh_goodone', ttlSeconds: 900 } },
      { verb: 'approval.decide', body: { approvalId: 'ap_1', decision: 'reject', comment: 'no' } },
    ]);
  });

  it('hands out a link only to an explicit request for it, never in the state it pushes', async () => {
    panel = await startPanel(fakeClient({ badges: [good] }).client, { log: () => undefined });
    expect(JSON.stringify(await (await fetch(new URL('/api/state', panel.url))).json())).not.toContain('ssh secret');
    const r = await post(panel, { action: 'link', shareId: 'sh_goodone' }, { origin: new URL(panel.url).origin, 'x-termshare-csrf': await tokenOf(panel) });
    expect(await r.json()).toMatchObject({ ok: true, link: 'ssh secret@127.0.0.1 -p 2222' });
  });

  it.each([
    ['without the token', (o: string) => ({ origin: o })],
    ['with a wrong token', (o: string) => ({ origin: o, 'x-termshare-csrf': 'x'.repeat(32) })],
    ['from another origin', () => ({ origin: 'http://evil.example', 'x-termshare-csrf': 'TOKEN' })],
    ['without an origin', () => ({ 'x-termshare-csrf': 'TOKEN' })],
    ['to another host name (DNS rebinding)', (o: string) => ({ origin: o, 'x-termshare-csrf': 'TOKEN', host: 'evil.example' })],
  ])('refuses an action %s, saying why, and does nothing', async (_name, headers) => {
    const { client, asked } = fakeClient({ badges: [good] });
    panel = await startPanel(client, { log: () => undefined });
    const token = await tokenOf(panel);
    const h = Object.fromEntries(Object.entries(headers(new URL(panel.url).origin)).map(([k, v]) => [k, v === 'TOKEN' ? token : v]));
    const r = await post(panel, { action: 'stop', shareId: 'sh_goodone' }, h);
    expect(r.status).toBe(403);
    expect((await r.json()).message).toMatch(/only|token/);
    expect(asked).toEqual([]);
  });

  it.each([
    ['not JSON', '{nope', /not JSON/],
    ['an unknown action', { action: 'delete-everything', shareId: 'sh_goodone' }, /not an action the panel takes/],
    ['an extension of no seconds', { action: 'extend', shareId: 'sh_goodone', ttlSeconds: 0 }, /ttlSeconds/],
    ['an unknown field', { action: 'stop', shareId: 'sh_goodone', requester: { kind: 'human', id: 'root' } }, /not an action the panel takes/],
  ])('refuses %s with the reason, and does nothing', async (_name, body, why) => {
    const { client, asked } = fakeClient({ badges: [good] });
    panel = await startPanel(client, { log: () => undefined });
    const r = await post(panel, body, { origin: new URL(panel.url).origin, 'x-termshare-csrf': await tokenOf(panel) });
    expect(r.status).toBe(400);
    const answer = await r.json();
    expect(answer).toMatchObject({ ok: false, code: 'invalid_request' });
    expect(answer.message).toMatch(why);
    expect(asked).toEqual([]);
  });
});
