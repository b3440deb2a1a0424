import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { startHarness, OPERATOR, type Harness } from '../support/harness.ts';
import { uptermProcesses } from '../support/observe.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

/** The loopback uptermd of the harness, found by the address it listens on. */
function uptermdPid(port: number): number {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('uptermd') && cmd.includes(`127.0.0.1:${port}`)) return Number(name);
    } catch {
      /* gone meanwhile */
    }
  }
  throw new Error(`no uptermd on port ${port}`);
}

/** What reached the process's last line of defence while a test ran: each one would have been a crash without it. */
function faults() {
  const seen: string[] = [];
  const onRejection = (e: unknown) => seen.push(`unhandledRejection: ${String(e)}`);
  const onException = (e: Error) => seen.push(`uncaughtException: ${e.message}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return { seen, stop: () => (process.off('unhandledRejection', onRejection), process.off('uncaughtException', onException)) };
}

describe.skipIf(missing.length > 0)('many shares at once on one node', () => {
  let h: Harness;
  beforeAll(async () => {
    // A 1 s link bound: a relay that does not answer makes every start time out, and every worker restart race the last one's end.
    h = await startHarness({ env: { TERMSHARE_LINK_TIMEOUT: '1' } });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const start = (terminal: string) => h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR });

  it('link timeouts with worker restarts racing the old ends: each share fails cleanly with the reason, nothing uncaught, and the node serves on', async () => {
    const f = faults();
    const relay = uptermdPid(h.relay.port);
    try {
      const terminals = await Promise.all([0, 1, 2, 3].map((i) => h.terminal(`timeout${i}`)));
      process.kill(relay, 'SIGSTOP');
      const replies = await Promise.all([...terminals, ...terminals].map(start));
      process.kill(relay, 'SIGCONT');
      for (const r of replies) {
        expect(r.ok).toBe(false);
        // The adapter's 1 s bound or the worker's backstop (2 s later), whichever ends it first: either names the bound.
        if (!r.ok) expect(r).toMatchObject({ code: 'backend_failed', message: expect.stringMatching(/upterm gave no link within [13] s/) });
      }
      const listed = await h.client.request<{ shares: Share[] }>('share.list', {});
      if (!listed.ok) throw new Error(listed.message);
      expect(listed.value.shares.map((s) => s.state)).toEqual(Array(8).fill('failed'));
      await waitFor('no upterm left of the failed shares', () => uptermProcesses(h.config.stateDir).length === 0);
      expect(f.seen).toEqual([]);
      // Serving on: a request after all that is answered, and a new start is tried (not refused for the failed ones).
      const again = await start(terminals[0]!);
      expect(again.ok ? again.value.share.state : again.code).toMatch(/^(active|backend_failed)$/);
      if (again.ok) await h.client.request('share.stop', { shareId: again.value.share.id, requester: OPERATOR });
    } finally {
      process.kill(relay, 'SIGCONT');
      f.stop();
    }
  });

});

describe.skipIf(missing.length > 0)('a burst of shares on one node', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  const start = (terminal: string) => h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR });

  it('sixteen shares started at once, then ended: each one active or failed with its reason, nothing uncaught, nothing left running', async () => {
    const f = faults();
    try {
      const terminals = await Promise.all(Array.from({ length: 8 }, (_, i) => h.terminal(`burst${i}`)));
      const started = await Promise.all([...terminals, ...terminals].map(start));
      // On a loaded machine a start may run out of its link bound: then it is a clean failure saying so, never a crash.
      for (const r of started) if (!r.ok) expect(r).toMatchObject({ code: 'backend_failed', message: expect.stringMatching(/no link within \d+ s/) });
      const active = started.flatMap((r) => (r.ok ? [r.value.share] : []));
      expect(active.map((s) => s.state)).toEqual(Array(active.length).fill('active'));
      const stopped = await Promise.all(active.map((s) => h.client.request<{ share: Share }>('share.stop', { shareId: s.id, requester: OPERATOR })));
      // A stop that had to kill its upterm says so (backend_failed, naming what is unconfirmed); the share is stopped all the same.
      for (const r of stopped) if (!r.ok) expect(r).toMatchObject({ code: 'backend_failed', message: expect.stringMatching(/is stopped and its backend is gone/) });
      const listed = await h.client.request<{ shares: Share[] }>('share.list', {});
      if (!listed.ok) throw new Error(listed.message);
      const ids = new Set(active.map((s) => s.id));
      expect(listed.value.shares.filter((s) => ids.has(s.id)).map((s) => s.state)).toEqual(Array(active.length).fill('stopped'));
      await waitFor('no upterm left', () => uptermProcesses(h.config.stateDir).length === 0);
      expect(f.seen).toEqual([]);
    } finally {
      f.stop();
    }
  });
});
