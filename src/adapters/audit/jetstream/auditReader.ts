import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AUDIT_STREAM } from '../../../api/subjects.ts';
import type { AuditRecord } from '../../../api/schemas.ts';

export { checkChain, describeBreak, type ChainCheck, type ChainOptions } from './chainCheck.ts';

export type AuditFilter = { shareId?: string; correlationId?: string };

export const matches = (r: AuditRecord, f: AuditFilter): boolean =>
  (f.shareId === undefined || r.shareId === f.shareId) && (f.correlationId === undefined || r.correlationId === f.correlationId);

/** Thrown when there is no audit stream to read (no service has started on this NATS yet). */
export class NoAuditStream extends Error {}

async function streamSeqs(nc: NatsConnection): Promise<{ first: number; last: number; messages: number }> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(AUDIT_STREAM).catch((e: Error) => {
    throw /not found/i.test(e.message) ? new NoAuditStream(`no ${AUDIT_STREAM} stream on this NATS yet: it is made when \`termshare serve\` starts`) : e;
  });
  return { first: info.state.first_seq, last: info.state.last_seq, messages: info.state.messages };
}

/** Every record of the stream, oldest first, as it stands now (an ordered consumer, one pass). */
export async function readAudit(nc: NatsConnection, filter: AuditFilter = {}): Promise<AuditRecord[]> {
  const { last, messages } = await streamSeqs(nc);
  if (messages === 0) return [];
  const consumer = await jetstream(nc).consumers.get(AUDIT_STREAM, { deliver_policy: DeliverPolicy.All });
  const out: AuditRecord[] = [];
  const iter = await consumer.consume({ max_messages: 256 });
  for await (const m of iter) {
    const r = m.json<AuditRecord>();
    if (matches(r, filter)) out.push(r);
    if (m.seq >= last || m.info.pending === 0) break;
  }
  await iter.close();
  return out;
}

/**
 * Records as they arrive: the last `last` records first, then every new one, until `signal` aborts.
 * A live ordered consumer; it survives a NATS restart.
 */
export async function* tailAudit(nc: NatsConnection, opts: { last?: number; filter?: AuditFilter; signal?: AbortSignal } = {}): AsyncGenerator<AuditRecord> {
  const { last } = await streamSeqs(nc);
  const from = Math.max(1, last - (opts.last ?? 10) + 1);
  const consumer = await jetstream(nc).consumers.get(AUDIT_STREAM, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
  const iter = await consumer.consume();
  const stop = () => void iter.close();
  opts.signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const m of iter) {
      const r = m.json<AuditRecord>();
      if (matches(r, opts.filter ?? {})) yield r;
    }
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    await iter.close();
  }
}

/**
 * The stretch of the chain that holds every record of a share or correlation: from its first
 * record to its last, records of other shares in between included, so that it verifies on its own.
 */
export function stretchOf(records: AuditRecord[], filter: AuditFilter): AuditRecord[] {
  const first = records.findIndex((r) => matches(r, filter));
  if (first < 0) return [];
  const last = records.findLastIndex((r) => matches(r, filter));
  return records.slice(first, last + 1);
}

export const toJsonl = (records: AuditRecord[]): string => records.map((r) => JSON.stringify(r) + '\n').join('');

/** Parses an exported chain; a line that is not JSON is named. */
export function parseJsonl(text: string): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as AuditRecord);
    } catch {
      throw new Error(`line ${i + 1} is not a JSON record`);
    }
  }
  return out;
}
