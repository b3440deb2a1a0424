import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { AuditRecord } from '../../../api/schemas.ts';
import { AUDIT_STREAM } from '../../../api/subjects.ts';

export type AuditPage = { records: AuditRecord[]; firstSeq: number; lastSeq: number; nextSeq: number };

/**
 * Up to `limit` records after stream sequence `afterSeq`, oldest first, as the stream holds them
 * now; `nextSeq` is the `afterSeq` of the next page (equal to `lastSeq` once caught up). The
 * service reads for its callers: principals have no JetStream access of their own.
 */
export async function readAuditPage(nc: NatsConnection, afterSeq: number, limit: number): Promise<AuditPage> {
  const info = await (await jetstreamManager(nc)).streams.info(AUDIT_STREAM).catch((e: Error) => {
    if (/not found/i.test(e.message)) return undefined;
    throw e;
  });
  if (!info) return { records: [], firstSeq: 0, lastSeq: 0, nextSeq: afterSeq };
  const { first_seq: firstSeq, last_seq: lastSeq } = info.state;
  const from = Math.max(afterSeq + 1, firstSeq);
  const want = Math.min(limit, lastSeq - from + 1);
  if (want <= 0 || info.state.messages === 0) return { records: [], firstSeq, lastSeq, nextSeq: Math.max(afterSeq, lastSeq) };
  const consumer = await jetstream(nc).consumers.get(AUDIT_STREAM, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
  const records: AuditRecord[] = [];
  let seq = afterSeq;
  const batch = await consumer.fetch({ max_messages: want, expires: 5000 });
  for await (const m of batch) {
    records.push(m.json<AuditRecord>());
    seq = m.seq;
    if (records.length >= want) break;
  }
  await batch.close();
  return { records, firstSeq, lastSeq, nextSeq: seq };
}
