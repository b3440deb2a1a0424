import { open, readFile, rename, rm } from 'node:fs/promises';
import { jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AUDIT_STREAM, type AuditAction, type Subjects } from '../../../api/subjects.ts';
import type { AuditRecord } from '../../../api/schemas.ts';
import type { Logger } from '../../../log.ts';
import { defaultNodeName } from '../../../config.ts';
import type { AuditSigner } from './auditKey.ts';
import { CheckpointKeeper } from './checkpointKeeper.ts';
import type { Checkpoint } from './checkpoint.ts';
import { GENESIS, chainRecord, signRecord, type AuditBody } from './hashChain.ts';

export type AuditInput = Omit<AuditBody, 'action'> & { action: AuditAction };

/** Where the writer keeps its state, and the key it signs with. */
export type AuditStore = {
  spoolFile: string;
  checkpointFile: string;
  signer: AuditSigner;
  /** The node whose chain this writer continues: its records carry it and go to its own subjects (default: the host's name). */
  node?: string;
  /** Replicas of the stream when this writer makes it. */
  replicas?: number;
};

const RETRY_MS = 1000;

/**
 * Writes one record per action to the TERMSHARE_AUDIT stream, chained by hash and signed with the
 * service's audit key, with the event id as the message id so a retry never duplicates. The stream
 * is made append-only (no message delete, no purge, no rollup); a signed checkpoint of the newest
 * stored record is kept in a file, so that a cut tail shows. When NATS does not take a record (or the
 * connection is known to be down), it goes to an fsync'd spool file. Spooled records are sent, in
 * order, as soon as NATS is back and always before any newer record: every write, flush and retry
 * runs on one queue, so nothing overtakes a spooled record.
 */
export class AuditWriter {
  private js: JetStreamClient;
  private jsm?: JetStreamManager;
  private prevHash = GENESIS;
  private queue: Promise<unknown> = Promise.resolve();
  private connected = true;
  /** The spool file holds records the stream may not have yet. */
  private spooled = false;
  private retry?: NodeJS.Timeout;
  private readonly spoolFile: string;
  private readonly signer: AuditSigner;
  private readonly checkpoints: CheckpointKeeper;
  private readonly node: string;
  private readonly replicas: number;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    store: AuditStore,
    private readonly log: Logger,
  ) {
    this.js = jetstream(nc, { timeout: 2000 });
    this.spoolFile = store.spoolFile;
    this.signer = store.signer;
    this.node = store.node ?? defaultNodeName();
    this.replicas = store.replicas ?? 1;
    this.checkpoints = new CheckpointKeeper(store.checkpointFile, store.signer, log);
  }

  async init(): Promise<void> {
    void this.watch();
    const jsm = (this.jsm = await jetstreamManager(this.nc));
    // Used as it is when it exists: the service may not update it (nor delete, nor purge).
    const info = await jsm.streams.info(AUDIT_STREAM).catch((e: Error) => {
      if (/not found/i.test(e.message)) return undefined;
      throw e;
    });
    if (info) this.checkConfig(info.config);
    else await jsm.streams.add({ ...appendOnlyConfig(), subjects: [this.subjects.auditAll], num_replicas: this.replicas });
    const last = await this.lastStored();
    if (last) {
      this.prevHash = last.hash;
      if (last.keyId !== this.signer.keyId) {
        this.log.warn({ last: last.keyId ?? 'unsigned', key: this.signer.keyId }, 'audit: the newest record was not signed with this key: records from here on are signed with it');
      }
    }
    await this.checkpoints.init((cp) => this.holds(cp));
    // Spooled records come after the stream's last one: the chain continues from the newest.
    const spooled = await this.readSpool();
    if (spooled.length > 0) {
      this.spooled = true;
      this.prevHash = spooled.at(-1)!.hash;
      this.log.info({ records: spooled.length }, 'audit spool found at start-up: sending it first');
    }
    await this.flushSpool();
  }

  /** Queues a record; resolves once it is in the stream or safely spooled. Never rejects. */
  record(input: AuditInput): Promise<void> {
    return this.serial(() => this.write(input)).catch((e) => this.log.error({ err: (e as Error).message }, 'audit write failed'));
  }

  /** Sends spooled records in order; true when the spool is empty afterwards. */
  flushSpool(): Promise<boolean> {
    return this.serial(() => this.flush());
  }

  /** Resolves once every queued record is in the stream or spooled. */
  async drain(): Promise<void> {
    await this.queue;
    await this.checkpoints.flush();
  }

  /** Logs what an existing stream (made by an older termshare, or by hand) lacks; it is used anyway. */
  private checkConfig(config: StreamConfig): void {
    const lacks = [...(config.deny_delete ? [] : ['deny_delete']), ...(config.deny_purge ? [] : ['deny_purge']), ...(config.allow_rollup_hdrs ? ['allow_rollup_hdrs off'] : [])];
    if (lacks.length > 0) {
      this.log.error(
        { stream: AUDIT_STREAM, lacks },
        `audit stream ${AUDIT_STREAM} was made by an older termshare: its records can be deleted or purged. Fix, as a NATS admin: nats stream edit ${AUDIT_STREAM} --deny-delete --deny-purge --no-allow-rollup`,
      );
    }
    if (!config.subjects?.includes(this.subjects.auditAll)) {
      this.log.error({ stream: AUDIT_STREAM, subjects: config.subjects, needs: this.subjects.auditAll }, `audit stream ${AUDIT_STREAM} does not take this service's subjects: records will be spooled, not stored`);
    }
  }

  /** Whether the stream holds the checkpoint's record at its sequence; undefined when NATS does not say. */
  private async holds(cp: Checkpoint): Promise<boolean | undefined> {
    if (cp.seq === undefined) return undefined;
    const m = await this.jsm!.streams.getMessage(AUDIT_STREAM, { seq: cp.seq }).catch(() => undefined);
    if (m === undefined) return undefined;
    try {
      const r = m?.json<AuditRecord>(); // null: no message at that sequence
      return r?.eventId === cp.eventId && r.hash === cp.hash;
    } catch {
      return false;
    }
  }

  private serial<T>(step: () => Promise<T>): Promise<T> {
    const next = this.queue.then(step);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Follows the connection: spool at once while it is down, flush as soon as it is back. */
  private async watch(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'close') this.connected = false;
      else if (s.type === 'reconnect') {
        this.connected = true;
        if (this.spooled) void this.flushSpool().catch((e: Error) => this.log.error({ err: e.message }, 'audit spool not flushed; retried on the next record or reconnect'));
      }
    }
  }

  private up(): boolean {
    return this.connected && !this.nc.isClosed();
  }

  private async write(input: AuditInput): Promise<void> {
    // Signed before it is published or spooled: a spooled record is as good as a stored one.
    const rec = signRecord(chainRecord({ ...input, node: this.node }, this.prevHash), this.signer);
    this.prevHash = rec.hash;
    if ((await this.flush()) && (await this.publish(rec))) return;
    await this.spool(rec);
    this.log.warn({ eventId: rec.eventId, action: rec.action }, 'audit record spooled: NATS unreachable');
  }

  private async publish(rec: AuditRecord): Promise<boolean> {
    if (!this.up()) return false;
    try {
      const ack = await this.js.publish(this.subjects.nodeAudit(this.node, rec.action as AuditAction), JSON.stringify(rec), { msgID: rec.eventId });
      this.checkpoints.note({ seq: ack.seq, eventId: rec.eventId, hash: rec.hash });
      return true;
    } catch (e) {
      this.log.warn({ err: (e as Error).message, eventId: rec.eventId }, 'audit publish failed');
      return false;
    }
  }

  private async flush(): Promise<boolean> {
    if (!this.spooled) return true;
    if (!this.up()) return false;
    const lines = await this.readSpool();
    // Records up to the stream's last one are in already (nothing is published past a spooled
    // record), whatever the duplicate window: a restart long after a lost ack sends no duplicate.
    const last = await this.lastStored().catch(() => undefined);
    let sent = last ? lines.findIndex((r) => r.eventId === last.eventId) + 1 : 0;
    const first = sent;
    while (sent < lines.length && (await this.publish(lines[sent]!))) sent++;
    if (sent === lines.length) {
      await rm(this.spoolFile, { force: true });
      this.spooled = false;
      this.log.info({ sent: sent - first, alreadyStored: first }, 'audit spool flushed');
      return true;
    }
    if (sent > 0) await this.rewriteSpool(lines.slice(sent));
    this.scheduleRetry();
    return false;
  }

  /** Connected but NATS did not take the spool (JetStream still starting, a timeout): try again shortly. */
  private scheduleRetry(): void {
    if (this.retry || !this.up()) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.spooled) void this.flushSpool().catch((e: Error) => this.log.error({ err: e.message }, 'audit spool not flushed; retried on the next record or reconnect'));
    }, RETRY_MS);
    this.retry.unref();
  }

  private async lastStored(): Promise<AuditRecord | undefined> {
    // This node's chain only: other nodes write theirs concurrently to their own subjects.
    const m = await this.jsm!.streams.getMessage(AUDIT_STREAM, { last_by_subj: this.subjects.nodeAuditAll(this.node) }).catch(() => null);
    return m ? (m.json() as AuditRecord) : undefined;
  }

  private async readSpool(): Promise<AuditRecord[]> {
    const text = await readFile(this.spoolFile, 'utf8').catch(() => '');
    const out: AuditRecord[] = [];
    const lines = text.split('\n').filter(Boolean);
    for (const [i, line] of lines.entries()) {
      try {
        out.push(JSON.parse(line) as AuditRecord);
      } catch {
        // Only a write cut off by a crash can leave a partial line, and only the last one.
        this.log.error({ line: i + 1, of: lines.length }, 'audit spool: unreadable line dropped');
      }
    }
    if (out.length !== lines.length) await this.rewriteSpool(out);
    return out;
  }

  private async spool(rec: AuditRecord): Promise<void> {
    const fh = await open(this.spoolFile, 'a', 0o600);
    try {
      await fh.appendFile(JSON.stringify(rec) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    this.spooled = true;
  }

  /** Replaces the spool atomically (write, fsync, rename). */
  private async rewriteSpool(records: AuditRecord[]): Promise<void> {
    const tmp = this.spoolFile + '.tmp';
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(records.map((r) => JSON.stringify(r) + '\n').join(''));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, this.spoolFile);
  }
}

/** The stream as this service makes it: file storage, append-only (no delete, no purge, no rollup). */
export function appendOnlyConfig(): Partial<StreamConfig> & { name: string } {
  return { name: AUDIT_STREAM, storage: StorageType.File, duplicate_window: 2 * 60 * 1_000_000_000, deny_delete: true, deny_purge: true, allow_rollup_hdrs: false };
}
