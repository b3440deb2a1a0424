import { appendFile, readFile, rename, rm } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AUDIT_STREAM, type AuditAction, type Subjects } from '../../../api/subjects.ts';
import type { AuditRecord } from '../../../api/schemas.ts';
import type { Logger } from '../../../log.ts';
import { GENESIS, chainRecord } from './hashChain.ts';

export type AuditInput = Omit<AuditRecord, 'prevHash' | 'hash' | 'action'> & { action: AuditAction };

/**
 * Writes one record per action to the TERMSHARE_AUDIT stream, chained by hash, with the event id
 * as the message id so a retry never duplicates. When NATS does not take a record, it goes to
 * an fsync'd spool file and is sent, in order, before any newer record.
 */
export class AuditWriter {
  private js: JetStreamClient;
  private prevHash = GENESIS;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly nc: NatsConnection,
    private readonly subjects: Subjects,
    private readonly spoolFile: string,
    private readonly log: Logger,
  ) {
    this.js = jetstream(nc, { timeout: 2000 });
  }

  async init(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const config = { name: AUDIT_STREAM, subjects: [this.subjects.auditAll], duplicate_window: 2 * 60 * 1_000_000_000 };
    try {
      const info = await jsm.streams.info(AUDIT_STREAM);
      await jsm.streams.update(AUDIT_STREAM, { ...info.config, subjects: config.subjects, duplicate_window: config.duplicate_window });
      const last = await jsm.streams.getMessage(AUDIT_STREAM, { last_by_subj: this.subjects.auditAll }).catch(() => null);
      if (last) this.prevHash = (last.json() as AuditRecord).hash;
    } catch {
      await jsm.streams.add(config);
    }
    // Spooled records come after the stream's last one: the chain continues from the newest.
    const spooled = await readFile(this.spoolFile, 'utf8').catch(() => '');
    const lastSpooled = spooled.split('\n').filter(Boolean).at(-1);
    if (lastSpooled) this.prevHash = (JSON.parse(lastSpooled) as AuditRecord).hash;
    await this.flushSpool();
  }

  /** Queues a record; resolves once it is in the stream or safely spooled. */
  record(input: AuditInput): Promise<void> {
    this.queue = this.queue.then(() => this.write(input)).catch((e) => this.log.error({ err: e }, 'audit write failed'));
    return this.queue;
  }

  private async write(input: AuditInput): Promise<void> {
    const rec = chainRecord(input, this.prevHash);
    this.prevHash = rec.hash;
    if (!(await this.flushSpool()) || !(await this.publish(rec))) await this.spool(rec);
  }

  private async publish(rec: AuditRecord): Promise<boolean> {
    try {
      await this.js.publish(this.subjects.audit(rec.action as AuditAction), JSON.stringify(rec), { msgID: rec.eventId });
      return true;
    } catch (e) {
      this.log.warn({ err: (e as Error).message, eventId: rec.eventId }, 'audit record spooled: NATS did not take it');
      return false;
    }
  }

  private async spool(rec: AuditRecord): Promise<void> {
    const fh = await open(this.spoolFile, 'a');
    try {
      await fh.appendFile(JSON.stringify(rec) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Sends spooled records in order; true when the spool is empty afterwards. */
  async flushSpool(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.spoolFile, 'utf8');
    } catch {
      return true;
    }
    const lines = text.split('\n').filter(Boolean);
    let sent = 0;
    for (const line of lines) {
      if (!(await this.publish(JSON.parse(line) as AuditRecord))) break;
      sent++;
    }
    if (sent === lines.length) {
      await rm(this.spoolFile, { force: true });
      return true;
    }
    const rest = this.spoolFile + '.rest';
    await appendFile(rest, lines.slice(sent).map((l) => l + '\n').join(''));
    await rename(rest, this.spoolFile);
    return false;
  }

  drain(): Promise<void> {
    return this.queue;
  }
}
