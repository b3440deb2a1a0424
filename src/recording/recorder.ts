import { createHash } from 'node:crypto';
import type { RecordingEnd, RecordingStore } from '../adapters/recording/jetstream/recordingStore.ts';
import type { Logger } from '../log.ts';
import { castLine, headerFor, type CastEvent, type EventCode, type RecordingOrigin } from './asciicast.ts';

export type RecorderOptions = {
  store: RecordingStore;
  /** Masks secrets in output lines (the redaction rule of the context packet). */
  redact: (lines: string[]) => Promise<string[]>;
  log: Logger;
  /** Chunks are appended at least this often while something was recorded. */
  flushMs?: number;
  /** A partial line is held this long for redaction (a secret echoed in pieces), then written as it is. */
  holdMs?: number;
};

/**
 * One recording: an asciicast v3 file written incrementally. Every event goes through one queue,
 * so markers and output stay in the order they happened; output is redacted by whole lines (a
 * partial line waits up to `holdMs` for its end). Lines are appended to the store in chunks, and
 * the hash covers the file exactly as stored: header line, then every event line.
 */
export class Recorder {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private events = 0;
  private lastAt: number;
  private queue: Promise<void> = Promise.resolve();
  private unsent: string[] = [];
  private sentChunks = 0;
  private sending: Promise<void> = Promise.resolve();
  private partial: { text: string; at: number } | undefined;
  private holdTimer: NodeJS.Timeout | undefined;
  private readonly flushTimer: NodeJS.Timeout;
  private ended: RecordingEnd | undefined;
  /** Set when finish begins: what arrives after it is not recorded (the hash is being taken). */
  private closing = false;

  private constructor(
    readonly id: string,
    readonly origin: RecordingOrigin,
    readonly startedAt: number,
    private readonly opts: Required<RecorderOptions>,
  ) {
    this.lastAt = startedAt;
    this.flushTimer = setInterval(() => void this.flush(), opts.flushMs);
    this.flushTimer.unref();
  }

  static async start(origin: RecordingOrigin, size: { cols: number; rows: number }, input: boolean, options: RecorderOptions, startedAt = Date.now()): Promise<Recorder> {
    const opts = { flushMs: 1000, holdMs: 500, ...options };
    const r = new Recorder(origin.recordingId, origin, startedAt, opts);
    const headerLine = castLine(headerFor(origin, size, startedAt));
    r.hash.update(headerLine);
    r.bytes += Buffer.byteLength(headerLine);
    await opts.store.header(r.id, { origin, startedAt: new Date(startedAt).toISOString(), input, headerLine: headerLine.slice(0, -1) });
    return r;
  }

  output(data: string, at = Date.now()): void {
    if (this.closing) return;
    const text = (this.partial?.text ?? '') + data;
    const first = this.partial?.at ?? at;
    const cut = text.lastIndexOf('\n') + 1;
    this.partial = cut < text.length ? { text: text.slice(cut), at: cut ? at : first } : undefined;
    if (cut) this.enqueueOutput(text.slice(0, cut), first);
    clearTimeout(this.holdTimer);
    if (this.partial) this.holdTimer = setTimeout(() => this.releasePartial(), this.opts.holdMs);
  }

  input(data: string, at = Date.now()): void {
    this.event('i', data, at);
  }

  resize(cols: number, rows: number, at = Date.now()): void {
    this.event('r', `${cols}x${rows}`, at);
  }

  marker(label: string, at = Date.now()): void {
    this.event('m', label, at);
  }

  /** Everything recorded so far is in the store, then the end (hash, size). Idempotent. */
  finish(exitStatus?: string): Promise<RecordingEnd> {
    return (this.finishing ??= this.finishOnce(exitStatus));
  }

  private finishing: Promise<RecordingEnd> | undefined;

  private async finishOnce(exitStatus?: string): Promise<RecordingEnd> {
    if (exitStatus !== undefined) this.event('x', exitStatus, Date.now());
    else this.releasePartial();
    this.closing = true;
    await this.queue;
    clearInterval(this.flushTimer);
    await this.flush();
    await this.sending;
    this.ended = { endedAt: new Date().toISOString(), sha256: `sha256:${this.hash.digest('hex')}`, bytes: this.bytes, events: this.events, outcome: 'complete' };
    await this.opts.store.end(this.id, this.ended);
    return this.ended;
  }

  private event(code: EventCode, data: string, at: number): void {
    if (this.closing) return;
    this.releasePartial();
    this.queue = this.queue.then(() => this.append([0, code, data], at));
  }

  private releasePartial(): void {
    clearTimeout(this.holdTimer);
    const p = this.partial;
    this.partial = undefined;
    if (p) this.enqueueOutput(p.text, p.at);
  }

  private enqueueOutput(text: string, at: number): void {
    this.queue = this.queue.then(async () => {
      let shown = text;
      try {
        shown = (await this.opts.redact(text.split('\n'))).join('\n');
      } catch (e) {
        // Not redacted means not recorded: a secret must not reach the store.
        this.opts.log.error({ recordingId: this.id, err: (e as Error).message }, 'output not redacted; left out of the recording');
        shown = '[output left out: redaction failed]\r\n';
      }
      this.append([0, 'o', shown], at);
    });
  }

  private append(e: CastEvent, at: number): void {
    const interval = Math.max(0, at - this.lastAt) / 1000;
    this.lastAt = Math.max(this.lastAt, at);
    const line = castLine([interval, e[1], e[2]]);
    this.hash.update(line);
    this.bytes += Buffer.byteLength(line);
    this.events++;
    this.unsent.push(line);
  }

  /** Appends what is not in the store yet, in chunks of at most about 256 KiB (under NATS's 1 MiB payload); on failure it stays for the next flush. */
  private flush(): Promise<void> {
    this.sending = this.sending.then(async () => {
      while (this.unsent.length > 0) {
        let size = 0;
        let n = 0;
        while (n < this.unsent.length && (n === 0 || size + this.unsent[n]!.length < CHUNK_BYTES)) size += this.unsent[n++]!.length;
        try {
          await this.opts.store.chunk(this.id, this.sentChunks, this.unsent.slice(0, n).join(''));
          this.unsent = this.unsent.slice(n);
          this.sentChunks++;
        } catch (e) {
          this.opts.log.warn({ recordingId: this.id, err: (e as Error).message }, 'recording chunk not stored yet; will retry');
          return;
        }
      }
    });
    return this.sending;
  }
}

const CHUNK_BYTES = 256 * 1024;
