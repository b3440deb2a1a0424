import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { readCredentials } from '../../src/adapters/bus/nats/auth/credentials.ts';
import { Principals } from '../../src/adapters/bus/nats/auth/principals.ts';
import { startEmbeddedNats } from '../../src/adapters/bus/nats/embeddedServer.ts';
import { TermshareClient } from '../../src/cli/client.ts';
import { Kvm } from '@nats-io/kv';
import { badgeKey } from '../../src/adapters/bus/nats/badges.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import type { PanelState } from '../../src/panel/feed.ts';
import { startPanel, type Panel } from '../../src/panel/server.ts';
import { startHarness, OPERATOR, type Harness } from '../support/harness.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

/** The panel's server-sent states, as a page receives them. */
function followStates(panel: Panel) {
  const states: PanelState[] = [];
  let buffer = '';
  const req = get(new URL('/events', panel.url), (res) =>
    res.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (let i = buffer.indexOf('\n\n'); i >= 0; i = buffer.indexOf('\n\n')) {
        const data = buffer.slice(0, i).split('\n').find((l) => l.startsWith('data: '));
        buffer = buffer.slice(i + 2);
        if (data) states.push(JSON.parse(data.slice(6)) as PanelState);
      }
    }),
  );
  return { states, stop: () => req.destroy() };
}
const sharesIn = (s: PanelState | undefined) => (s?.lanes ?? []).flatMap((l) => l.shares.map((x) => x.shareId));

describe.skipIf(missing.length > 0)('the lane panel, over real NATS', () => {
  let h: Harness;
  let panel: Panel;
  beforeAll(async () => {
    h = await startHarness();
    panel = await startPanel(h.client, { log: () => undefined });
  });
  afterAll(async () => {
    await panel?.close();
    await h?.stop();
  });

  it('pushes a lane to the page when a share starts and takes it away when it ends, never with the link', async () => {
    const terminal = await h.terminal('lane');
    const feed = followStates(panel);
    try {
      await waitFor('the first state', () => feed.states.length > 0);
      expect(feed.states[0]).toMatchObject({ service: 'up', principal: 'human:alice', lanes: [] });

      const r = await h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR });
      if (!r.ok) throw new Error(r.message);
      const shown = await waitFor('a state with the lane', () => feed.states.find((s) => sharesIn(s).includes(r.value.share.id)));
      expect(shown.lanes).toEqual([expect.objectContaining({ terminal, badges: [{ kind: 'shared', text: 'shared' }] })]);
      expect(JSON.stringify(feed.states)).not.toContain(r.value.share.link!.ssh);

      await h.client.request('share.stop', { shareId: r.value.share.id, requester: OPERATOR });
      await waitFor('a state without the lane', () => sharesIn(feed.states.at(-1)).length === 0 && feed.states.at(-1)!.lanes.length === 0);
    } finally {
      feed.stop();
    }
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
      const state = await waitFor('the state with the good lane', async () => {
        const s = (await (await fetch(new URL('/api/state', panel.url))).json()) as PanelState;
        return sharesIn(s).includes(r.value.share.id) ? s : undefined;
      }, 30_000);
      expect(JSON.stringify(state)).not.toMatch(/tmux:(notjson|shape|crlf|null|huge)/);
      expect(state.lanes.map((l) => l.terminal)).toEqual([terminal]);
      const api = await fetch(new URL('/api/badges', panel.url));
      expect(((await api.json()) as Array<{ terminal: string }>).map((b) => b.terminal)).toEqual([terminal]);
    } finally {
      for (const [t] of bad) await kv.delete(badgeKey(t));
      await h.client.request('share.stop', { shareId: r.value.share.id, requester: OPERATOR });
    }
  });

  it('says so when the service stops', async () => {
    const terminal = await h.terminal('gone');
    const r = await h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR });
    if (!r.ok) throw new Error(r.message);
    const feed = followStates(panel);
    try {
      await waitFor('the lane', () => sharesIn(feed.states.at(-1)).includes(r.value.share.id));
      // The panel notices by its ping (every 5 s) or by the badge going, whichever finds nobody answering first.
      await h.svc.stop();
      // Bound: a ping (5 s) that times out (3 s), then reads that time out (10 s), on a loaded machine.
      const down = await waitFor('a state saying no service answers', () => feed.states.find((s) => s.service === 'down'), 45_000);
      expect(down.problem).toMatch(/no termshare service answers .*start one with `termshare serve`/);
      expect(down.lanes).toEqual([]);
    } finally {
      feed.stop();
    }
  });
});

describe.skipIf(missing.length > 0)('the lane panel with no service at all', () => {
  it('says so, and creates no badge bucket', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'termshare-panel-'));
    const principals = new Principals(join(dir, 'state'), 'termshare', async () => true);
    await principals.ensure('human:alice');
    const nats = await startEmbeddedNats({ bin: 'nats-server', dataDir: join(dir, 'state', 'nats'), authConfig: principals.paths.authConfig, preferredPort: 0 });
    const client = await TermshareClient.connect(nats.url, await readCredentials(principals.paths.operator));
    const panel = await startPanel(client, { log: () => undefined });
    try {
      const state = (await (await fetch(new URL('/api/state', panel.url))).json()) as PanelState;
      expect(state).toMatchObject({ service: 'down', lanes: [] });
      expect(state.problem).toMatch(/no termshare service answers/);
      // Looked at with the service's own credentials, the only ones with JetStream.
      const svc = await connect({ servers: nats.url, authenticator: nkeyAuthenticator((await readCredentials(principals.paths.service)).seed) });
      const streams = await (await jetstreamManager(svc)).streams.names().next();
      expect(streams).toEqual([]);
      await svc.close();
    } finally {
      await panel.close();
      await client.close();
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
