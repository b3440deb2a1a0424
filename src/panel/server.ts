import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Approval, Badge } from '../api/schemas.ts';
import { BADGE_BUCKET, subjects, Verbs } from '../api/subjects.ts';
import { renderPanel } from './render.ts';

export type Panel = { url: string; close(): Promise<void> };

/**
 * The lane panel (FR-010): a loopback page of every terminal's badge, from the `termshare_badges`
 * bucket, live through server-sent events on each badge change. Read-only: it changes nothing.
 */
export async function startPanel(nc: NatsConnection, opts: { prefix?: string; port?: number } = {}): Promise<Panel> {
  const prefix = opts.prefix ?? 'termshare';
  const kv = await new Kvm(nc).create(BADGE_BUCKET, { history: 1 });
  const clients = new Set<ServerResponse>();
  // The watch delivers every badge's current value, then each change: the page renders from this map.
  const current = new Map<string, Badge>();
  const watch = await kv.watch();
  void (async () => {
    for await (const e of watch) {
      if (e.operation === 'PUT') current.set(e.key, e.json<Badge>());
      else current.delete(e.key);
      for (const c of clients) c.write(`data: ${JSON.stringify({ key: e.key, op: e.operation })}\n\n`);
    }
  })();

  const badges = async (): Promise<Badge[]> => [...current.values()];
  const approvals = async (): Promise<Approval[]> => {
    const r = await nc.request(subjects(prefix).request(Verbs.approvalList), JSON.stringify({ state: 'pending' }), { timeout: 2000 }).catch(() => null);
    return r && !r.headers?.get('Nats-Service-Error-Code') ? (r.json<{ approvals: Approval[] }>().approvals ?? []) : [];
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
      watch.stop();
      for (const c of clients) c.end();
      await new Promise((r) => server.close(r));
    },
  };
}
