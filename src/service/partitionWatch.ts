import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { createActor, type Actor } from 'xstate';
import type { AuditWriter } from '../adapters/audit/jetstream/auditWriter.ts';
import type { EventBody } from '../api/schemas.ts';
import type { Subjects } from '../api/subjects.ts';
import type { Logger } from '../log.ts';
import { partition, type PartitionEmitted } from '../machines/partition.ts';

export type PartitionDeps = {
  nc: NatsConnection;
  subjects: Subjects;
  audit: AuditWriter;
  /** 0: off. */
  timeoutMs: number;
  /** Ends every share and handoff (fail safe); returns the ids ended. */
  endEverything: () => { shares: string[]; handoffs: string[] };
  log: Logger;
  /** How long to wait for the spool to be sent before telling the operator anyway. */
  flushBoundMs?: number;
};

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The partition timeout: follows the NATS connection's status (disconnect, reconnect) into the
 * partition machine. Past the timeout with NATS unreachable, every share ends (a revoke by the
 * service, reason `partition`) and every handoff gives input back; their records spool. When NATS
 * is back, the spool is sent first, then the operator is told: a `service.partition` audit record,
 * the event `<prefix>.events.service.partition`, and a log line.
 */
export class PartitionWatch {
  private readonly actor: Actor<typeof partition>;
  private ended: { shares: string[]; handoffs: string[] } = { shares: [], handoffs: [] };
  private correlationId = '';
  private lastEventId?: string;

  constructor(private readonly d: PartitionDeps) {
    this.actor = createActor(partition, { input: { timeoutMs: d.timeoutMs } });
    this.actor.on('partition.started', (e) => void this.started(e).catch((x) => d.log.error({ err: String(x) }, 'partition: ending shares failed')));
    this.actor.on('partition.ended', (e) => void this.reconnected(e).catch((x) => d.log.error({ err: String(x) }, 'partition: telling the operator failed')));
  }

  start(): void {
    this.actor.start();
    void this.follow();
  }

  stop(): void {
    this.stopped = true;
    this.actor.stop();
  }
  private stopped = false;

  private async follow(): Promise<void> {
    const log = this.d.log;
    for await (const s of this.d.nc.status()) {
      if (this.stopped) return;
      const was = this.actor.getSnapshot().value;
      if (s.type === 'disconnect') {
        this.actor.send({ type: 'NATS.DISCONNECTED', at: Date.now() });
        if (was === 'connected' && this.d.timeoutMs > 0) log.warn({ timeoutSeconds: this.d.timeoutMs / 1000 }, `NATS disconnected: every share ends unless it is back within ${this.d.timeoutMs / 1000} s`);
      } else if (s.type === 'reconnect') {
        this.actor.send({ type: 'NATS.RECONNECTED', at: Date.now() });
        if (was === 'disconnected') log.info('NATS back within the partition timeout: nothing ended');
      }
    }
  }

  private async started(e: Extract<PartitionEmitted, { type: 'partition.started' }>): Promise<void> {
    const timeoutSeconds = this.d.timeoutMs / 1000;
    this.ended = this.d.endEverything();
    this.correlationId = randomUUID();
    this.lastEventId = undefined;
    this.d.log.error(
      { disconnectedAt: iso(e.disconnectedAt), timeoutSeconds, shares: this.ended.shares, handoffs: this.ended.handoffs },
      `NATS unreachable for ${timeoutSeconds} s (TERMSHARE_PARTITION_TIMEOUT): ending every share and handoff (fail safe); their records are spooled until NATS is back`,
    );
    await this.record('partitioned', e.at, { disconnectedAt: iso(e.disconnectedAt), timeoutSeconds, sharesEnded: this.ended.shares, handoffsEnded: this.ended.handoffs });
  }

  private async reconnected(e: Extract<PartitionEmitted, { type: 'partition.ended' }>): Promise<void> {
    // The spooled records first (the writer sends them on reconnect; this waits until it has).
    const deadline = Date.now() + (this.d.flushBoundMs ?? 30_000);
    let flushed = await this.d.audit.flushSpool();
    while (!flushed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      flushed = await this.d.audit.flushSpool();
    }
    const data = {
      disconnectedAt: iso(e.disconnectedAt),
      partitionedAt: iso(e.partitionedAt),
      reconnectedAt: iso(e.at),
      timeoutSeconds: this.d.timeoutMs / 1000,
      sharesEnded: this.ended.shares,
      handoffsEnded: this.ended.handoffs,
      auditSpoolSent: flushed,
    };
    // The event is the `reconnected` record's step (same id), caused by the `partitioned` one.
    const at = Date.now();
    const { eventId, causationId } = await this.record('reconnected', at, data);
    const body: EventBody = { type: 'partition', eventId, at: iso(at), correlationId: this.correlationId, ...(causationId ? { causationId } : {}), actor: 'termshare', data };
    try {
      this.d.nc.publish(this.d.subjects.serviceEvent('partition'), JSON.stringify(body));
    } catch (x) {
      this.d.log.error({ err: (x as Error).message }, 'partition event not published');
    }
    this.d.log.warn(
      data,
      `NATS is back after a partition: ${data.sharesEnded.length} share(s) and ${data.handoffsEnded.length} handoff(s) were ended at ${data.partitionedAt}; ${flushed ? 'their spooled audit records are in the stream' : 'the audit spool is not sent yet (retried)'}; new shares work normally`,
    );
  }

  /** One `service.partition` record per step; the second is caused by the first. */
  private async record(outcome: 'partitioned' | 'reconnected', at: number, data: Record<string, unknown>): Promise<{ eventId: string; causationId?: string }> {
    const eventId = randomUUID();
    const causationId = this.lastEventId;
    this.lastEventId = eventId;
    await this.d.audit.record({ eventId, at: iso(at), action: 'service.partition', actor: 'termshare', correlationId: this.correlationId, ...(causationId ? { causationId } : {}), outcome, data });
    return { eventId, ...(causationId ? { causationId } : {}) };
  }
}
