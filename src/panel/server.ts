import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Approval, Badge } from '../api/schemas.ts';
import { BADGE_BUCKET, Verbs } from '../api/subjects.ts';
import type { TermshareClient } from '../cli/client.ts';
import { renderPanel } from './render.ts';

export type Panel = { url: string; close(): Promise<void> };

/**
 * The lane panel (FR-010): a loopback page of every terminal's badge, live through server-sent
 * events on each badge change. It is a principal like any other: it sees the badges
 * (`badge.list`) and approvals (`approval.list`) the policy lets its credentials see, and is
 * told of changes by the bucket's own messages, which the service alone writes.
 * Read-only: it changes nothing.
 */
export async function startPanel(client: TermshareClient, opts: { prefix?: string; port?: number } = {}): Promise<Panel> {
  const clients = new Set<ServerResponse>();
  const changes = client.nc.subscribe(`$KV.${BADGE_BUCKET}.>`, {
    callback: (_e, m) => {
      const key = m.subject.slice(`$KV.${BADGE_BUCKET}.`.length);
      const op = m.headers?.get('KV-Operation') || 'PUT';
      for (const c of clients) c.write(`data: ${JSON.stringify({ key, op })}\n\n`);
    },
  });

  const badges = async (): Promise<Badge[]> => {
    const r = await client.request<{ badges: Badge[] }>(Verbs.badgeList, {}, 2000).catch(() => null);
    return r?.ok ? r.value.badges : [];
  };
  const approvals = async (): Promise<Approval[]> => {
    const r = await client.request<{ approvals: Approval[] }>(Verbs.approvalList, { state: 'pending' }, 2000).catch(() => null);
    return r?.ok ? r.value.approvals : [];
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
      if (req.url === '/api/badges') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(await badges()));
      }
      if (req.url === '/' || req.url === '/index.html') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        return res.end(renderPanel(await badges(), await approvals()));
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    })().catch((e) => res.writeHead(500).end(String(e)));
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
