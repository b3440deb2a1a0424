import { randomBytes } from 'node:crypto';
import type { RecordingStore, RecordingSummary } from '../adapters/recording/jetstream/recordingStore.ts';
import type { TapEvent } from '../adapters/terminals/tmux/outputTap.ts';
import type { Logger } from '../log.ts';
import type { RecordingOrigin } from './asciicast.ts';
import { BEGINS, ENDS, keyBytes, markerText, marks } from './markers.ts';
import { Recorder } from './recorder.ts';

/** What a step is recorded against: a share's or handoff's record, with what decides recording. */
export type Recordable = {
  entity?: 'share' | 'handoff';
  id: string;
  correlationId: string;
  /** The request asked for a recording (`record: true`). */
  record?: boolean;
  requester?: { kind: string; id: string };
  snapshot?: { context: { terminal: string; from?: { kind: string; id: string }; decision?: { record?: 'required' } } };
};
export type { Step } from './markers.ts';
import type { Step } from './markers.ts';
export type Tap = { size: { cols: number; rows: number } | undefined; close(): void };

export type RecordingsDeps = {
  store: RecordingStore;
  openTap: (terminal: string, onEvent: (e: TapEvent) => void) => Promise<Tap | undefined>;
  redact: (lines: string[]) => Promise<string[]>;
  /** Writes the recording's audit record in the share's (handoff's) own chain. */
  saved: (rec: Recordable, data: Record<string, unknown>, outcome: 'saved' | 'failed') => Promise<void>;
  log: Logger;
};

type Live = { ready: Promise<{ recorder: Recorder; tap: Tap } | undefined> };

/**
 * Every recording this node makes. A share is recorded from its grant (`start`) and a lease from
 * its transfer when the request asked (`record: true`) or the permitting policy says
 * `@record("required")`; each later step of its chain is a marker; its end finishes the recording
 * and leaves a `recording` audit record with the file's hash.
 */
export class Recordings {
  private readonly live = new Map<string, Live>();
  /** Recordings whose end is being written. */
  private readonly finishing = new Set<Promise<unknown>>();

  constructor(private readonly deps: RecordingsDeps) {}

  get store(): RecordingStore {
    return this.deps.store;
  }

  static wanted(rec: Recordable): boolean {
    return rec.record === true || rec.snapshot?.context.decision?.record === 'required';
  }

  /** Called for each step recorded in a share's or handoff's chain (ShareEffects.onStep). */
  onStep(rec: Recordable, step: Step): void {
    const at = Date.parse(step.at);
    if (BEGINS.has(step.action) && step.outcome !== 'denied' && !this.live.has(rec.id) && Recordings.wanted(rec)) {
      this.live.set(rec.id, { ready: this.begin(rec, at) });
    }
    const live = this.live.get(rec.id);
    if (!live) return;
    const ends = ENDS.has(step.action);
    if (ends) this.live.delete(rec.id);
    live.ready = live.ready.then(async (r) => {
      if (!r) return undefined;
      if (marks(step)) r.recorder.marker(markerText(step.action, step.eventId), at);
      if (ends) await this.end(rec, r);
      return r;
    });
    if (ends) {
      const done = live.ready.finally(() => this.finishing.delete(done));
      this.finishing.add(done);
    }
  }

  /** The lease holder's input, as input events of the handoff's recording. */
  agentInput(handoffId: string, input: { text?: string; keys?: string[] }): void {
    const live = this.live.get(handoffId);
    if (!live) return;
    const at = Date.now();
    const data = (input.text ?? '') + (input.keys ?? []).map(keyBytes).join('');
    live.ready = live.ready.then(async (r) => {
      if (r && data) r.recorder.input((await this.deps.redact([data])).join('\n'), at);
      return r;
    });
  }

  list(): Promise<RecordingSummary[]> {
    return this.deps.store.list();
  }

  /** Finishes every recording in progress (orderly shutdown), bounded. */
  async settle(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...[...this.live.values()].map((l) => l.ready), ...this.finishing]), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private async begin(rec: Recordable, at: number) {
    const terminal = rec.snapshot!.context.terminal;
    const owner = rec.requester ?? rec.snapshot!.context.from;
    const origin: RecordingOrigin = {
      recordingId: `rec_${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}`,
      ...(rec.entity === 'handoff' ? { handoffId: rec.id } : { shareId: rec.id }),
      terminal,
      correlationId: rec.correlationId,
      ...(owner ? { owner: `${owner.kind}:${owner.id}` } : {}),
    };
    try {
      // Output that comes before the recorder is ready (its header stored) is held, then fed in order.
      const sink: { recorder?: Recorder } = {};
      const early: TapEvent[] = [];
      const tap = await this.deps.openTap(terminal, (e) => (sink.recorder ? feed(sink.recorder, e) : early.push(e)));
      if (!tap?.size) throw new Error(`${terminal} cannot be recorded (no tmux session to attach to)`);
      const recorder = await Recorder.start(origin, tap.size, rec.entity === 'handoff', { store: this.deps.store, redact: this.deps.redact, log: this.deps.log }, at);
      for (const e of early) feed(recorder, e);
      sink.recorder = recorder;
      this.deps.log.info({ recordingId: origin.recordingId, terminal, correlationId: rec.correlationId }, 'recording started');
      return { recorder, tap };
    } catch (e) {
      this.deps.log.error({ terminal, id: rec.id, err: (e as Error).message }, 'recording not started');
      await this.deps.saved(rec, { recordingId: origin.recordingId, error: (e as Error).message }, 'failed').catch(() => undefined);
      return undefined;
    }
  }

  private async end(rec: Recordable, r: { recorder: Recorder; tap: Tap }): Promise<void> {
    r.tap.close();
    try {
      const end = await r.recorder.finish();
      await this.deps.saved(rec, { recordingId: r.recorder.id, sha256: end.sha256, bytes: end.bytes, events: end.events }, 'saved');
    } catch (e) {
      this.deps.log.error({ recordingId: r.recorder.id, err: (e as Error).message }, 'recording not finished');
      await this.deps.saved(rec, { recordingId: r.recorder.id, error: (e as Error).message }, 'failed').catch(() => undefined);
    }
  }
}

function feed(recorder: Recorder, e: TapEvent): void {
  if (e.kind === 'output') recorder.output(e.data, e.at);
  else if (e.kind === 'resize') recorder.resize(e.cols, e.rows, e.at);
}

