import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { headers } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { execa } from 'execa';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureAuditKey, type AuditSigner } from '../../../../src/adapters/audit/jetstream/auditKey.ts';
import { checkChain, readAudit, toJsonl } from '../../../../src/adapters/audit/jetstream/auditReader.ts';
import { AuditWriter, appendOnlyConfig, type AuditInput } from '../../../../src/adapters/audit/jetstream/auditWriter.ts';
import { checkpointFile, checkpointProblem, readCheckpoint, type Checkpoint } from '../../../../src/adapters/audit/jetstream/checkpoint.ts';
import { GENESIS, chainRecord } from '../../../../src/adapters/audit/jetstream/hashChain.ts';
import { startEmbeddedNats, type EmbeddedNats } from '../../../../src/adapters/bus/nats/embeddedServer.ts';
import type { AuditRecord } from '../../../../src/api/schemas.ts';
import { AUDIT_STREAM, subjects, type AuditAction } from '../../../../src/api/subjects.ts';
import { missingTools } from '../../../support/tools.ts';
import { waitFor } from '../../../support/waitFor.ts';

const missing = missingTools('nats-server');
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

describe.skipIf(missing.length > 0)('the audit stream and its checkpoint against tampering, on a real nats-server', () => {
  let dir: string;
  let nats: EmbeddedNats;
  let key: AuditSigner;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const conns: NatsConnection[] = [];
  let n = 0;
  const input = (tag: string): AuditInput => ({ eventId: `${tag}-${++n}-${Date.now()}`, at: new Date().toISOString(), action: 'start', actor: 'test', correlationId: 'c', outcome: tag });

  /** A writer as the service makes it; `lines` gets what it logs. */
  const writer = async (lines: string[] = []) => {
    const wc = await connect({ servers: nats.url });
    conns.push(wc);
    const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const w = new AuditWriter(wc, subjects(), { spoolFile: join(dir, 'audit.spool.jsonl'), checkpointFile: checkpointFile(dir), signer: key }, log);
    await w.init();
    return w;
  };
  const writeAll = async (w: AuditWriter, tags: string[]) => {
    for (const t of tags) await w.record(input(t));
    await w.drain();
  };
  const checkpoint = async (): Promise<Checkpoint> => {
    const cp = await readCheckpoint(checkpointFile(dir));
    if (!cp.ok || !cp.value) throw new Error(`no checkpoint: ${JSON.stringify(cp)}`);
    return cp.value;
  };
  /** What someone with stream admin rights (not the service's key) can do: delete the stream, make it again, publish what they like. */
  const rebuild = async (records: AuditRecord[]) => {
    await jsm.streams.delete(AUDIT_STREAM);
    await jsm.streams.add({ ...appendOnlyConfig(), subjects: [subjects().auditAll] });
    const js = jetstream(nc);
    // Each record back on its node's own subject, where the node's writer finds its chain's head.
    for (const r of records) await js.publish(r.node ? subjects().nodeAudit(r.node, r.action as AuditAction) : subjects().audit(r.action as AuditAction), JSON.stringify(r));
  };
  /**
   * `termshare audit verify` as an operator runs it on the service's machine, over the stream as
   * it stands (exported here with the server's own view: there is no service in this test to read
   * it through, and the CLI's --file path makes the same checks).
   */
  const verifyCli = async (...args: string[]) => {
    const file = join(dir, 'stream.jsonl');
    await writeFile(file, toJsonl(await readAudit(nc)));
    return execa('node', ['bin/termshare.js', 'audit', 'verify', '--file', file, ...args], { cwd: repo, env: { ...process.env, TERMSHARE_STATE_DIR: dir }, reject: false, stdin: 'ignore' });
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'termshare-tamper-'));
    nats = await startEmbeddedNats({ bin: 'nats-server', dataDir: join(dir, 'nats'), preferredPort: 0 });
    const k = await ensureAuditKey(dir);
    if (!k.ok) throw new Error(k.error);
    key = k.value;
    // A plain, unauthenticated connection: the server's stream settings alone must refuse.
    nc = await connect({ servers: nats.url });
    jsm = await jetstreamManager(nc);
  });
  afterEach(async () => {
    for (const c of conns.splice(0)) await c.close().catch(() => undefined);
    await nc.close();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('the stream is made append-only: the server refuses to delete a record, purge the stream or roll it up', async () => {
    await writeAll(await writer(), ['a', 'b', 'c']);
    const { config } = await jsm.streams.info(AUDIT_STREAM);
    expect(config).toMatchObject({ deny_delete: true, deny_purge: true, allow_rollup_hdrs: false });
    await expect(jsm.streams.deleteMessage(AUDIT_STREAM, 2)).rejects.toThrow(/message delete not permitted/i);
    await expect(jsm.streams.deleteMessage(AUDIT_STREAM, 3, false)).rejects.toThrow(/message delete not permitted/i);
    await expect(jsm.streams.purge(AUDIT_STREAM)).rejects.toThrow(/purge not permitted/i);
    await expect(jsm.streams.purge(AUDIT_STREAM, { filter: subjects().audit('start') })).rejects.toThrow(/purge not permitted/i);
    const h = headers();
    h.set('Nats-Rollup', 'all');
    await expect(jetstream(nc).publish(subjects().audit('start'), '{}', { headers: h })).rejects.toThrow(/rollup.*not permitted/i);
    expect((await readAudit(nc)).map((r) => r.outcome)).toEqual(['a', 'b', 'c']);
  });

  it('a stream made by an older termshare is used as it is, with an error naming the fix', async () => {
    await jsm.streams.add({ name: AUDIT_STREAM, subjects: [subjects().auditAll], duplicate_window: 2 * 60 * 1_000_000_000 });
    const lines: string[] = [];
    await writeAll(await writer(lines), ['old']);
    const errors = lines.map((l) => JSON.parse(l) as { level: number; msg: string; lacks?: string[] }).filter((l) => l.level >= 50);
    expect(errors).toContainEqual(expect.objectContaining({ lacks: ['deny_delete', 'deny_purge'], msg: expect.stringContaining(`nats stream edit ${AUDIT_STREAM} --deny-delete --deny-purge`) }));
    // Not updated by the writer (the service may not), and the records go in all the same.
    expect((await jsm.streams.info(AUDIT_STREAM)).config).toMatchObject({ deny_delete: false, deny_purge: false });
    expect((await readAudit(nc)).map((r) => r.outcome)).toEqual(['old']);
    // The fix named is one the server takes on an existing stream.
    const { config } = await jsm.streams.info(AUDIT_STREAM);
    await jsm.streams.update(AUDIT_STREAM, { ...config, deny_delete: true, deny_purge: true });
    await expect(jsm.streams.purge(AUDIT_STREAM)).rejects.toThrow(/purge not permitted/i);
  });

  it('the checkpoint names the newest stored record, signed, 0600: within a second, and at once on drain', async () => {
    const w = await writer();
    await w.record(input('first'));
    await waitFor('the debounced checkpoint', async () => {
      const cp = await readCheckpoint(checkpointFile(dir));
      return cp.ok && cp.value !== undefined;
    }, 3000);
    await writeAll(w, ['second', 'third']);
    const recs = await readAudit(nc);
    const cp = await checkpoint();
    expect(cp).toMatchObject({ seq: 3, eventId: recs[2]!.eventId, hash: recs[2]!.hash, keyId: key.keyId });
    expect(checkpointProblem(cp, key)).toBeUndefined();
    expect(statSync(checkpointFile(dir)).mode & 0o777).toBe(0o600);
    expect(checkChain(recs, { key, checkpoint: cp, start: GENESIS })).toMatchObject({ ok: true, checkpoint: 'matched' });
    const ok = await verifyCli();
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(`chain intact, 3 record\\(s\\), from genesis, each signed by key ${key.keyId}; the checkpoint's record \\(eventId ${recs[2]!.eventId}`));
  });

  it('a stream rebuilt without its last records fails verify against the checkpoint, which the next writer keeps', async () => {
    await writeAll(await writer(), ['r1', 'r2', 'r3', 'r4', 'r5']);
    const recs = await readAudit(nc);
    const cp = await checkpoint();
    await rebuild(recs.slice(0, 3));
    expect(checkChain(await readAudit(nc), { key, checkpoint: cp, start: GENESIS })).toMatchObject({ ok: false, reason: 'truncated', count: 3 });

    // The service starts again on the cut stream: it says so, goes on, and leaves the checkpoint as it is.
    const cpText = await readFile(checkpointFile(dir), 'utf8');
    const lines: string[] = [];
    await writeAll(await writer(lines), ['after']);
    expect(lines.join('')).toContain(`the audit stream does not hold the checkpoint's record (eventId ${cp.eventId}, seq 5)`);
    expect(await readFile(checkpointFile(dir), 'utf8')).toBe(cpText);

    const cut = await verifyCli();
    expect(cut.exitCode).toBe(1);
    expect(cut.stderr).toMatch(new RegExp(`chain truncated: the checkpoint's record \\(eventId ${cp.eventId}, seq 5, .*\\) is not in the chain of 4 record\\(s\\)`));
    // Signatures and links alone hold: the new record links to the cut tail. Only the checkpoint tells.
    const unchecked = await verifyCli('--no-checkpoint');
    expect(unchecked.exitCode, unchecked.stderr).toBe(0);
  });

  it('a stream whose record was modified and every hash recomputed, as an unkeyed chain allowed, fails verify on the signature', async () => {
    await writeAll(await writer(), ['r1', 'r2', 'r3', 'r4']);
    const recs = await readAudit(nc);
    const forged: AuditRecord[] = [];
    for (const [i, r] of recs.entries()) {
      const content = i === 1 ? { ...r, actor: 'human:mallory' } : r;
      forged.push({ ...chainRecord(content, forged.at(-1)?.hash ?? GENESIS), keyId: r.keyId!, sig: r.sig! });
    }
    await rebuild(forged);
    expect(checkChain(await readAudit(nc), { start: GENESIS }).ok).toBe(true);
    const r = await verifyCli('--json');
    expect(r.exitCode).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, line: 2, eventId: recs[1]!.eventId, reason: 'bad-signature', keyId: key.keyId });
  });
});
