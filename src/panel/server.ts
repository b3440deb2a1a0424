import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkBadges } from '../api/badgeCheck.ts';
import { Approval, type Badge } from '../api/schemas.ts';
import { BADGE_BUCKET, Verbs } from '../api/subjects.ts';
import type { TermshareClient } from '../cli/client.ts';
import { renderPanel } from './render.ts';

export type Panel = { url: string; close(): Promise<void> };
export type PanelLog = (fields: Record<string, unknown>, msg: string) => void;

/**
 * The lane panel (FR-010): a loopback page of every terminal's badge, live through server-sent
 * events on each badge change. It is a principal like any other: it sees the badges
 * (`badge.list`) and approvals (`approval.list`) the policy lets its credentials see, and is
 * told of changes by the bucket's own messages, which the service alone writes.
 * Read-only: it changes nothing.
 */
export async function startPanel(client: TermshareClient, opts: { prefix?: string; port?: number; log?: PanelLog } = {}): Promise<Panel> {
  const log = opts.log ?? ((fields, msg) => console.error(`termshare panel: ${msg} ${JSON.stringify(fields)}`));
  const clients = new Set<ServerResponse>();
  const changes = client.nc.subscribe(`$KV.${BADGE_BUCKET}.>`, {
    callback: (e, m) => {
      if (e || !m) return log({ err: String(e) }, 'badge change feed failed');
      const key = m.subject.slice(`$KV.${BADGE_BUCKET}.`.length);
      const op = m.headers?.get('KV-Operation') || 'PUT';
      for (const c of clients) c.write(`data: ${JSON.stringify({ key, op })}\n\n`);
    },
  });

  // Whatever comes back is checked against the contract: a malformed badge or approval is
  // skipped and logged, never rendered, never fatal.
  const badges = async (): Promise<Badge[]> => {
    const r = await client.request<{ badges: unknown }>(Verbs.badgeList, {}, 2000).catch(() => null);
    const { badges: good, skipped } = checkBadges(r?.ok && Array.isArray(r.value?.badges) ? r.value.badges : []);
    if (skipped.length) log({ skipped: skipped.length, why: skipped.slice(0, 3) }, 'skipped badges that are not badges');
    return good;
  };
  const approvals = async (): Promise<Approval[]> => {
    const r = await client.request<{ approvals: unknown }>(Verbs.approvalList, { state: 'pending' }, 2000).catch(() => null);
    const all = r?.ok && Array.isArray(r.value?.approvals) ? r.value.approvals : [];
    const good = all.flatMap((a) => {
      const p = Approval.safeParse(a);
      return p.success ? [p.data] : [];
    });
    if (good.length < all.length) log({ skipped: all.length - good.length }, 'skipped approvals that are not approvals');
    return good;
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.url === '/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
        res.write(': connected\n\n');
        clients.add(res);
        req.on('close', () => clients.delete(res));
        return;
      }
      // Each page is made in full before its status goes out, so a failure can still be a 500.
      if (req.url === '/api/badges') {
        const body = JSON.stringify(await badges());
        return res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      }
      if (req.url === '/' || req.url === '/index.html') {
        const page = renderPanel(await badges(), await approvals());
        return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    })().catch((e) => {
      log({ url: req.url, err: String(e) }, 'panel page failed');
      if (res.headersSent) res.destroy();
      else res.writeHead(500, { 'content-type': 'text/plain' }).end('the panel could not render this page; see its log');
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      changes.unsubscribe();
      for (const c of clients) c.end();
      await new Promise((r) => server.close(r));
    },
  };
}
