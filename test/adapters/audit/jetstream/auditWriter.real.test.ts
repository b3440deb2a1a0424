import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkChain, parseJsonl, readAudit } from '../../../../src/adapters/audit/jetstream/auditReader.ts';
import { ensureAuditKey, type AuditSigner } from '../../../../src/adapters/audit/jetstream/auditKey.ts';
import { AuditWriter, type AuditInput } from '../../../../src/adapters/audit/jetstream/auditWriter.ts';
import { checkpointFile } from '../../../../src/adapters/audit/jetstream/checkpoint.ts';
import { startEmbeddedNats, type EmbeddedNats } from '../../../../src/adapters/bus/nats/embeddedServer.ts';
import { subjects } from '../../../../src/api/subjects.ts';
import { missingTools } from '../../../support/tools.ts';
import { waitFor } from '../../../support/waitFor.ts';

const missing = missingTools('nats-server');
const log = pino({ level: 'silent' });

describe.skipIf(missing.length > 0)('audit writer: spool and flush against a real nats-server that stops and starts', () => {
  let dir: string;
  let nats: EmbeddedNats;
  let spool: string;
  let key: AuditSigner;
  const conns: NatsConnection[] = [];
  let n = 0;
  const input = (tag: string): AuditInput => ({ eventId: `${tag}-${++n}-${Date.now()}`, at: new Date().toISOString(), action: 'start', actor: 'test', correlationId: 'c', outcome: tag });

  const writer = async (logger = log) => {
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
    conns.push(nc);
    const w = new AuditWriter(nc, subjects(), { spoolFile: spool, checkpointFile: checkpointFile(dir), signer: key }, logger);
    await w.init();
    return { w, nc };
  };
  /** Resolves when `nc` reports the connection lost. */
  const disconnected = async (nc: NatsConnection) => {
    for await (const s of nc.status()) if (s.type === 'disconnect') return;
  };
  const restartNats = async () => {
    await nats.stop();
    nats = await startEmbeddedNats({ bin: 'nats-server', dataDir: join(dir, 'nats'), preferredPort: nats.port });
  };
  const stream = async () => {
    const nc = await connect({ servers: nats.url });
    try {
      return await readAudit(nc);
    } finally {
      await nc.close();
    }
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'termshare-audit-'));
    spool = join(dir, 'audit.spool.jsonl');
    const k = await ensureAuditKey(dir);
    if (!k.ok) throw new Error(k.error);
    key = k.value;
    nats = await startEmbeddedNats({ bin: 'nats-server', dataDir: join(dir, 'nats'), preferredPort: 0 });
  });
  afterEach(async () => {
    for (const c of conns.splice(0)) await c.close().catch(() => undefined);
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('spools at once while NATS is down and flushes by itself, in order, when it is back', async () => {
    const { w, nc } = await writer();
    await w.record(input('before'));
    const down = disconnected(nc);
    await nats.stop();
    // The client hears of it when its socket closes, which can be just after nats-server has exited.
    await down;
    const t0 = Date.now();
    for (const tag of ['down1', 'down2', 'down3']) await w.record(input(tag));
    // No publish timeout is waited for: the writer knows the connection is down.
    expect(Date.now() - t0).toBeLessThan(500);
    const spooled = parseJsonl(await readFile(spool, 'utf8'));
    expect(spooled.map((r) => r.outcome)).toEqual(['down1', 'down2', 'down3']);
    // Signed before they are spooled.
    expect(checkChain(spooled, { key })).toMatchObject({ ok: true, fromGenesis: false });

    nats = await startEmbeddedNats({ bin: 'nats-server', dataDir: join(dir, 'nats'), preferredPort: nats.port });
    const up = Date.now();
    // No new record is written: the reconnect alone empties the spool.
    await waitFor('the spool to be flushed', () => !existsSync(spool), 5000, 10);
    expect(Date.now() - up).toBeLessThan(3000);
    const recs = await stream();
    expect(recs.map((r) => r.outcome)).toEqual(['before', 'down1', 'down2', 'down3']);
    expect(checkChain(recs, { key })).toMatchObject({ ok: true, fromGenesis: true, keyId: key.keyId });
  });

  it('a record written right after NATS returns never overtakes a spooled one', async () => {
    const { w } = await writer();
    await nats.stop();
    await w.record(input('a'));
    await w.record(input('b'));
    nats = await startEmbeddedNats({ bin: 'nats-server', dataDir: join(dir, 'nats'), preferredPort: nats.port });
    // Written while the client may still be reconnecting, and again right after.
    const c = w.record(input('c'));
    await waitFor('the client to reconnect', () => !existsSync(spool), 5000, 10).catch(() => undefined);
    await c;
    await w.record(input('d'));
    await w.drain();
    await waitFor('every record in the stream', async () => (await stream()).length === 4, 5000);
    const recs = await stream();
    expect(recs.map((r) => r.outcome)).toEqual(['a', 'b', 'c', 'd']);
    expect(checkChain(recs).ok).toBe(true);
  });

  it('a new writer (a restarted service) sends a non-empty spool first and continues the chain from it', async () => {
    const first = await writer();
    await first.w.record(input('one'));
    await nats.stop();
    await first.w.record(input('two'));
    await first.w.record(input('three'));
    // The process dies here: nothing more from this writer.
    first.nc.close().catch(() => undefined);
    nats = await startEmbeddedNats({ bin: 'nats-server', dataDir: join(dir, 'nats'), preferredPort: nats.port });
    const second = await writer();
    expect(existsSync(spool)).toBe(false);
    await second.w.record(input('four'));
    const recs = await stream();
    expect(recs.map((r) => r.outcome)).toEqual(['one', 'two', 'three', 'four']);
    expect(checkChain(recs).ok).toBe(true);
  });

  it('spooled records the stream already holds are not sent again, even past the duplicate window', async () => {
    const { w, nc } = await writer();
    await w.record(input('x'));
    await w.record(input('y'));
    const stored = await stream();
    // As if the acks of x and y had been lost: both were spooled as well, then z while NATS was down.
    await writeFile(spool, stored.map((r) => JSON.stringify(r) + '\n').join(''));
    await nc.close();
    await restartNats();
    const lines: string[] = [];
    const { w: w2 } = await writer(pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }));
    await w2.record(input('z'));
    const recs = await stream();
    expect(recs.map((r) => r.outcome)).toEqual(['x', 'y', 'z']);
    expect(new Set(recs.map((r) => r.eventId)).size).toBe(3);
    // Skipped by the writer, not left to the stream's duplicate window.
    expect(lines.map((l) => JSON.parse(l) as { msg: string; sent?: number; alreadyStored?: number })).toContainEqual(
      expect.objectContaining({ msg: 'audit spool flushed', sent: 0, alreadyStored: 2 }),
    );
  });

  it('a partial last line left by a crash is dropped; the rest is sent', async () => {
    const first = await writer();
    await nats.stop();
    await first.w.record(input('kept'));
    first.nc.close().catch(() => undefined);
    await appendFile(spool, '{"eventId":"torn","at":"2026');
    nats = await startEmbeddedNats({ bin: 'nats-server', dataDir: join(dir, 'nats'), preferredPort: nats.port });
    const second = await writer();
    await second.w.record(input('next'));
    const recs = await stream();
    expect(recs.map((r) => r.outcome)).toEqual(['kept', 'next']);
    expect(checkChain(recs).ok).toBe(true);
  });
});
