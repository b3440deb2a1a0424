import type { NatsConnection } from '@nats-io/transport-node';
import { RecordingStore } from '../adapters/recording/jetstream/recordingStore.ts';
import { redactLines } from '../adapters/terminals/redact.ts';
import { TmuxOutputTap } from '../adapters/terminals/tmux/outputTap.ts';
import { tmuxSession } from '../adapters/terminals/tmux/tmux.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ShareEffects, StepSubject } from '../service/effects.ts';
import { Recordings, type Recordable } from './recordings.ts';

/**
 * The service's recordings: the JetStream store, tmux output taps, the redaction rule, and the
 * audit chain each recording's record goes into. Without a store (JetStream refused it), nothing
 * is recorded and the recording verbs say so; the service runs on.
 */
export async function startRecordings(nc: NatsConnection, config: Config, effects: ShareEffects, log: Logger): Promise<Recordings | undefined> {
  const store = await RecordingStore.open(nc, config.prefix, config.recordingTtlMs).catch((e: Error) => {
    log.error({ err: e.message }, 'recording store not opened: nothing will be recorded');
    return undefined;
  });
  if (!store) return undefined;
  const recordings = new Recordings({
    store,
    openTap: (terminal, onEvent) =>
      terminal.startsWith('tmux:') ? TmuxOutputTap.open({ ...(config.tmuxSocket ? { socket: config.tmuxSocket } : {}), session: tmuxSession(terminal), onEvent }) : Promise.resolve(undefined),
    redact: redactLines,
    saved: (rec, data, outcome) => effects.record(rec as unknown as StepSubject, { audit: 'recording', outcome, actor: 'termshare', data }),
    log,
  });
  effects.onStep = (rec, step) => recordings.onStep(rec as Recordable, step);
  return recordings;
}
