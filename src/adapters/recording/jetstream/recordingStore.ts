import { DeliverPolicy, jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { RECORDING_STREAM } from '../../../api/subjects.ts';
import { RecordingOrigin } from '../../../recording/asciicast.ts';

/**
 * Recordings in JetStream, so any node's recording can be read from anywhere: one stream,
 * `TERMSHARE_RECORDINGS`, on `<prefix>.recordings.<id>.{header,chunk,end}`, kept for the retention
 * (`max_age`). A recording is its header message (the cast's first line and what it belongs to),
 * then chunk messages appended as it goes (cast lines), then an end message (hash, size). A service
 * killed mid-recording leaves the header and every chunk written so far: readable, without an end.
 */
export const RecordingEnd = z.object({
  endedAt: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  events: z.number().int(),
  outcome: z.enum(['complete', 'interrupted']),
});
export type RecordingEnd = z.infer<typeof RecordingEnd>;

export const RecordingHeaderMsg = z.object({
  origin: RecordingOrigin,
  startedAt: z.string(),
  /** The agent's input is recorded (i events). */
  input: z.boolean(),
  /** The cast's first line, without its newline. */
  headerLine: z.string(),
});
export type RecordingHeaderMsg = z.infer<typeof RecordingHeaderMsg>;

export type RecordingSummary = RecordingHeaderMsg & { end?: RecordingEnd };
export type RecordingPage = { header: RecordingHeaderMsg; chunks: string[]; end?: RecordingEnd; nextSeq: number; done: boolean };

/** A recording id is `rec_` and letters/digits: safe as a subject token. */
export const RECORDING_ID = /^rec_[A-Za-z0-9]{6,40}$/;

export class RecordingStore {
  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly prefix: string,
  ) {}

  static async open(nc: NatsConnection, prefix: string, maxAgeMs: number): Promise<RecordingStore> {
    const jsm = await jetstreamManager(nc);
    const config = { name: RECORDING_STREAM, subjects: [`${prefix}.recordings.>`], storage: StorageType.File, max_age: maxAgeMs * 1_000_000 };
    const info = await jsm.streams.info(RECORDING_STREAM).catch(() => undefined);
    if (!info) await jsm.streams.add(config);
    else if (info.config.max_age !== config.max_age) await jsm.streams.update(RECORDING_STREAM, { ...info.config, max_age: config.max_age });
    return new RecordingStore(jetstream(nc), jsm, prefix);
  }

  private subject = (id: string, kind: 'header' | 'chunk' | 'end' | '>') => `${this.prefix}.recordings.${id}.${kind}`;

  async header(id: string, h: RecordingHeaderMsg): Promise<void> {
    await this.js.publish(this.subject(id, 'header'), JSON.stringify(h), { msgID: `${id}.header` });
  }

  async chunk(id: string, n: number, text: string): Promise<void> {
    await this.js.publish(this.subject(id, 'chunk'), text, { msgID: `${id}.chunk.${n}` });
  }

  async end(id: string, end: RecordingEnd): Promise<void> {
    await this.js.publish(this.subject(id, 'end'), JSON.stringify(end), { msgID: `${id}.end` });
  }

  /** How many messages the stream holds on each subject matching `filter`. */
  private async counts(filter: string): Promise<Record<string, number>> {
    const info = await this.jsm.streams.info(RECORDING_STREAM, { subjects_filter: filter });
    return info.state.subjects ?? {};
  }

  /** Every message on `filter` from `fromSeq` (inclusive), oldest first, stopping after `maxBytes`. */
  private async read(filter: string, want: number, fromSeq: number, maxBytes = Infinity): Promise<{ subject: string; data: Uint8Array; seq: number; pending: number }[]> {
    if (want <= 0) return [];
    const consumer = await this.js.consumers.get(RECORDING_STREAM, {
      // One subject as a string: filter_subject, which nats-server 2.9 (Debian's) takes.
      filter_subjects: filter,
      ...(fromSeq > 1 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq } : {}),
    });
    const out: { subject: string; data: Uint8Array; seq: number; pending: number }[] = [];
    let bytes = 0;
    const batch = await consumer.fetch({ max_messages: want, expires: 5000 });
    for await (const m of batch) {
      out.push({ subject: m.subject, data: m.data, seq: m.seq, pending: m.info.pending });
      bytes += m.data.length;
      if (out.length >= want || m.info.pending === 0 || bytes >= maxBytes) break;
    }
    await batch.close();
    return out;
  }

  /** Every recording the stream still holds, oldest first, with its end when it has one. */
  async list(): Promise<RecordingSummary[]> {
    const counts = await this.counts(`${this.prefix}.recordings.*.*`);
    const wanted = Object.entries(counts).filter(([s]) => s.endsWith('.header') || s.endsWith('.end'));
    const byId = new Map<string, RecordingSummary>();
    const ends = new Map<string, RecordingEnd>();
    for (const filter of ['header', 'end'] as const) {
      const msgs = await this.read(this.subject('*', filter), wanted.filter(([s]) => s.endsWith(`.${filter}`)).reduce((n, [, c]) => n + c, 0), 1);
      for (const m of msgs) {
        const id = m.subject.split('.').at(-2)!;
        const json: unknown = JSON.parse(new TextDecoder().decode(m.data));
        if (filter === 'header') {
          const h = RecordingHeaderMsg.safeParse(json);
          if (h.success) byId.set(id, h.data);
        } else {
          const e = RecordingEnd.safeParse(json);
          if (e.success) ends.set(id, e.data);
        }
      }
    }
    return [...byId.entries()].map(([id, h]) => ({ ...h, ...(ends.get(id) ? { end: ends.get(id)! } : {}) }));
  }

  /** The header of one recording, or undefined when the stream holds none (never made, or past retention). */
  async get(id: string): Promise<RecordingSummary | undefined> {
    const counts = await this.counts(this.subject(id, '>'));
    if (!counts[this.subject(id, 'header')]) return undefined;
    const [h] = await this.read(this.subject(id, 'header'), 1, 1);
    const header = RecordingHeaderMsg.parse(JSON.parse(new TextDecoder().decode(h!.data)));
    const endCount = counts[this.subject(id, 'end')] ?? 0;
    const [e] = endCount ? await this.read(this.subject(id, 'end'), 1, 1) : [];
    return { ...header, ...(e ? { end: RecordingEnd.parse(JSON.parse(new TextDecoder().decode(e.data))) } : {}) };
  }

  /**
   * One page of a recording's chunks after stream sequence `afterSeq`, at most about `maxBytes`:
   * `done` once the last chunk is in. The cast is the header line, a newline, then every chunk.
   */
  async page(id: string, afterSeq: number, maxBytes: number): Promise<RecordingPage | undefined> {
    const summary = await this.get(id);
    if (!summary) return undefined;
    const counts = await this.counts(this.subject(id, 'chunk'));
    const total = counts[this.subject(id, 'chunk')] ?? 0;
    const msgs = total ? await this.read(this.subject(id, 'chunk'), total, afterSeq + 1, maxBytes) : [];
    const last = msgs.at(-1);
    const { end, ...header } = summary;
    return { header, chunks: msgs.map((m) => new TextDecoder().decode(m.data)), ...(end ? { end } : {}), nextSeq: last?.seq ?? afterSeq, done: !last || last.pending === 0 };
  }
}
