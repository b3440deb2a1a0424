import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonl, readAudit } from '../../src/adapters/audit/jetstream/auditReader.ts';
import { readCredentials } from '../../src/adapters/bus/nats/auth/credentials.ts';
import type { AuditRecord, EventBody, Handoff, Share } from '../../src/api/schemas.ts';
import { operatorClient, serviceConnection } from '../support/auth.ts';
import { startHarness, TEST_POLICY, type Harness } from '../support/harness.ts';
import { uptermProcesses } from '../support/observe.ts';
import { Participant } from '../support/participant.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');
const TIMEOUT_S = 2;
/** The harness's policy, and operators hand their terminal to a person without approval. */
const POLICY = `${TEST_POLICY}
@id("handoff-to-people")
permit (principal in Group::"operators", action == Action::"handoff.request", resource);
`;

describe.skipIf(missing.length > 0)(`partition timeout (${TIMEOUT_S} s) over a real nats-server stopped and started, upterm and ssh`, () => {
  let h: Harness;
  /** The operator's own connection to the events, reconnecting quickly (as a watching operator's client would). */
  let watcher: NatsConnection;
  const events: EventBody[] = [];
  const logLines: string[] = [];
  const logged = (msg: string) => logLines.filter((l) => l.includes(msg)).length;
  const spool = async () => parseJsonl(await readFile(join(h.config.stateDir, 'audit.spool.jsonl'), 'utf8').catch(() => ''));
  const trail = async (): Promise<AuditRecord[]> => {
    // A fresh connection to read with: a request made while a client is still reconnecting can be lost.
    const nc = await serviceConnection(h.config.stateDir, h.nats.url);
    try {
      return await readAudit(nc);
    } finally {
      await nc.close();
    }
  };
  /** A request on a fresh connection: the harness's client may still be reconnecting after an outage. */
  const ask = async <T>(verb: Parameters<Harness['client']['request']>[0], body: unknown) => {
    const c = await operatorClient(h.config.stateDir, h.nats.url);
    try {
      return await c.request<T>(verb, body);
    } finally {
      await c.close();
    }
  };
  const start = async (name: string): Promise<Share> => {
    const r = await ask<{ share: Share }>('share.start', { terminal: await h.terminal(name), backend: 'upterm', access: 'read-write', ttlSeconds: 600 });
    if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
    return r.value.share;
  };
  const joined = async (share: Share) => {
    const guest = await Participant.join(share.link!.ssh, h.guestKey);
    await waitFor('the participant to be counted', async () => {
      const r = await ask<{ share: Share }>('share.get', { shareId: share.id });
      return r.ok && r.value.share.participants === 1;
    }, 15_000);
    return guest;
  };

  beforeAll(async () => {
    const logger = pino({ level: 'info', base: { svc: 'termshare' } }, { write: (line: string) => void logLines.push(line) });
    h = await startHarness({ env: { TERMSHARE_PARTITION_TIMEOUT: String(TIMEOUT_S) }, policy: POLICY, logger });
    const creds = await readCredentials(h.principals.paths.operator);
    watcher = await connect({ servers: h.nats.url, authenticator: nkeyAuthenticator(creds.seed), maxReconnectAttempts: -1, reconnectTimeWait: 20 });
    watcher.subscribe('termshare.events.service.>', { callback: (_e, m) => void events.push(m.json() as EventBody) });
    await watcher.flush();
  });
  afterAll(async () => {
    await watcher?.close();
    await h?.stop();
  });

  it('a NATS blip shorter than the timeout ends nothing: the share stays active and its participant connected', async () => {
    const share = await start('blip');
    const guest = await joined(share);
    await h.stopNats();
    await h.startNats();
    await waitFor('the service to see NATS back within the timeout', () => logged('NATS back within the partition timeout') === 1, 10_000);
    // Nothing may happen in the window the timeout would have closed: that window has to pass.
    await new Promise((r) => setTimeout(r, TIMEOUT_S * 1000 + 1000));
    const got = await ask<{ share: Share }>('share.get', { shareId: share.id });
    expect(got.ok && got.value.share.state).toBe('active');
    expect(guest.connected()).toBe(true);
    expect(logged('ending every share')).toBe(0);
    expect((await trail()).filter((r) => r.shareId === share.id).map((r) => r.action)).toEqual(['request', 'start', 'participant.join']);
    await guest.close();
    expect((await ask('share.stop', { shareId: share.id })).ok).toBe(true);
  }, 60_000);

  it('NATS away past the timeout: the participant is dropped, the share is revoked (partition), a held lease gives input back, the end records land once when NATS returns, and the operator is told', async () => {
    const share = await start('part');
    const guest = await joined(share);
    const lease = await ask<{ handoff: Handoff }>('handoff.request', { terminal: await h.terminal('lease'), to: { kind: 'human', id: 'bob' } });
    if (!lease.ok) throw new Error(`${lease.code}: ${lease.message}`);
    const handoff = lease.value.handoff;
    expect(handoff.state).toBe('held');
    await h.stopNats();
    const down = Date.now();
    try {
      await waitFor('the participant to be disconnected', () => !guest.connected(), 20_000);
      const droppedAfterMs = Date.now() - down;
      expect(droppedAfterMs).toBeGreaterThanOrEqual(TIMEOUT_S * 1000);
      console.info(`participant dropped ${droppedAfterMs} ms after nats-server stopped (timeout ${TIMEOUT_S} s)`);
      await waitFor('the backend to be gone', () => uptermProcesses(h.config.stateDir, share.id).length === 0, 10_000);
      const ended = await waitFor('the revoke record to be spooled', async () => (await spool()).find((r) => r.shareId === share.id && r.action === 'revoke'), 10_000);
      expect(ended).toMatchObject({ actor: 'service', outcome: 'revoked', data: { reason: 'partition' } });
      await waitFor('the lease release to be spooled', async () => (await spool()).some((r) => r.handoffId === handoff.id && r.action === 'handoff.release'), 10_000);
      expect((await spool()).filter((r) => r.action === 'service.partition').map((r) => r.outcome)).toEqual(['partitioned']);
      expect(events).toEqual([]);
    } finally {
      await h.startNats();
    }
    const told = await waitFor('the partition event', () => events.find((e) => e.type === 'partition'), 20_000);
    expect(told).toMatchObject({ actor: 'termshare', data: { sharesEnded: [share.id], handoffsEnded: [handoff.id], auditSpoolSent: true, timeoutSeconds: TIMEOUT_S } });
    expect(logged('NATS is back after a partition')).toBe(1);

    const all = await trail();
    expect(new Set(all.map((r) => r.eventId)).size).toBe(all.length);
    const recs = all.filter((r) => r.shareId === share.id);
    expect(recs.filter((r) => r.action === 'revoke')).toHaveLength(1);
    expect(recs.map((r) => r.action)).toContain('participant.join');
    expect(recs.at(-1)).toMatchObject({ action: 'revoke', data: { reason: 'partition' } });
    expect(all.filter((r) => r.handoffId === handoff.id && r.action === 'handoff.release')).toHaveLength(1);
    const partition = all.filter((r) => r.action === 'service.partition');
    expect(partition.map((r) => r.outcome)).toEqual(['partitioned', 'reconnected']);
    expect(partition[1]).toMatchObject({ eventId: told.eventId, causationId: partition[0]!.eventId, correlationId: partition[0]!.correlationId });

    const got = await ask<{ share: Share }>('share.get', { shareId: share.id });
    expect(got.ok && got.value.share).toMatchObject({ state: 'revoked', participants: 0 });
    const back = await ask<{ handoff: Handoff }>('handoff.get', { handoffId: handoff.id });
    expect(back.ok && back.value.handoff.state).toBe('released');
    await guest.close();
    // A share started after the reconnect works normally.
    const after = await start('after');
    expect(after.state).toBe('active');
    const again = await joined(after);
    expect(again.connected()).toBe(true);
    await again.close();
    expect((await ask('share.stop', { shareId: after.id })).ok).toBe(true);
  }, 90_000);
});
