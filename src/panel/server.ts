import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TermshareClient } from '../cli/client.ts';
import { PanelAction, runAction } from './actions.ts';
import { PanelFeed, type PanelLog, type PanelState } from './feed.ts';
import { PanelGuard } from './guard.ts';
import { pageShell } from './page.ts';

export type { PanelLog } from './feed.ts';
export type Panel = { url: string; close(): Promise<void> };

const assets = join(import.meta.dirname, 'assets');
const PANEL_JS = readFileSync(join(assets, 'panel.js'));
const PANEL_CSS = readFileSync(join(assets, 'panel.css'));
const MAX_BODY = 8 * 1024;
const SECURITY = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { ...SECURITY, 'content-type': 'application/json' }).end(JSON.stringify(body));

async function bodyOf(req: IncomingMessage): Promise<string> {
  let size = 0;
  const parts: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new Error(`a body over ${MAX_BODY} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString('utf8');
}

/**
 * The lane panel (FR-010): a loopback page of every shared terminal, updated in place over
 * server-sent events (`/events`, the whole state on each change), from which an operator extends,
 * revokes, stops, approves and rejects. It acts as the principal whose credentials `client`
 * holds, through the same NATS verbs and policy as the CLI, and says so on the page. Links go
 * out only for an explicit click (`link`), never in the pushed state.
 */
export async function startPanel(client: TermshareClient, opts: { prefix?: string; port?: number; log?: PanelLog; credsFile?: string } = {}): Promise<Panel> {
  const log = opts.log ?? ((fields, msg) => console.error(`termshare panel: ${msg} ${JSON.stringify(fields)}`));
  const feed = new PanelFeed(client, opts.prefix ?? 'termshare', log);
  const guard = new PanelGuard();
  const streams = new Set<ServerResponse>();
  const send = (res: ServerResponse, s: PanelState) => res.write(`event: state\ndata: ${JSON.stringify(s)}\n\n`);
  feed.onChange((s) => {
    for (const res of streams) send(res, s);
  });
  await feed.refresh();

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? '/').split('?')[0];
      const refused = req.method === 'POST' ? guard.refuseAction(req) : guard.refuseRead(req);
      if (refused) return json(res, 403, { ok: false, code: 'forbidden', message: refused });
      if (req.method === 'GET' && (path === '/' || path === '/index.html')) {
        return res.writeHead(200, { ...SECURITY, 'content-type': 'text/html; charset=utf-8' }).end(pageShell({ principal: client.principal, token: guard.token, ...(opts.credsFile ? { credsFile: opts.credsFile } : {}) }));
      }
      if (req.method === 'GET' && path === '/panel.js') return res.writeHead(200, { ...SECURITY, 'content-type': 'text/javascript; charset=utf-8' }).end(PANEL_JS);
      if (req.method === 'GET' && path === '/panel.css') return res.writeHead(200, { ...SECURITY, 'content-type': 'text/css; charset=utf-8' }).end(PANEL_CSS);
      if (req.method === 'GET' && path === '/api/state') return json(res, 200, feed.current());
      if (req.method === 'GET' && path === '/api/badges') return json(res, 200, feed.badges);
      if (req.method === 'GET' && path === '/events') {
        res.writeHead(200, { ...SECURITY, 'content-type': 'text/event-stream', connection: 'keep-alive' });
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return send(res, feed.current());
      }
      if (req.method === 'POST' && path === '/api/actions') {
        let raw: unknown;
        try {
          raw = JSON.parse(await bodyOf(req));
        } catch (e) {
          return json(res, 400, { ok: false, code: 'invalid_request', message: `the action is not JSON (${(e as Error).message}): send {"action": ..., ...}` });
        }
        const parsed = PanelAction.safeParse(raw);
        if (!parsed.success) {
          const first = parsed.error.issues[0]!;
          return json(res, 400, { ok: false, code: 'invalid_request', message: `not an action the panel takes: ${first.path.join('.') || 'body'}: ${first.message}; nothing was done` });
        }
        const result = await runAction(client, parsed.data);
        // Never the link itself: the log says which share's link was shown, by id.
        log({ action: parsed.data.action, ok: result.ok, ...(result.ok ? {} : { code: result.code }) }, 'panel action');
        if (parsed.data.action !== 'link') feed.changed();
        return json(res, 200, result);
      }
      json(res, 404, { ok: false, code: 'not_found', message: `no such page: ${JSON.stringify(path)}` });
    })().catch((e) => {
      log({ url: req.url, err: String(e) }, 'panel request failed');
      if (res.headersSent) res.destroy();
      else json(res, 500, { ok: false, code: 'internal', message: 'the panel failed on this request; see its log' });
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  guard.listenOn(port);
  return {
    url: `http://127.0.0.1:${port}/`,
    close: async () => {
      feed.close();
      for (const res of streams) res.end();
      await new Promise((r) => server.close(r));
    },
  };
}
