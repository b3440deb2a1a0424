import type { RecordingSummary } from '../adapters/recording/jetstream/recordingStore.ts';
import { Verbs } from '../api/subjects.ts';
import type { Recording, Requester } from '../api/schemas.ts';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../errors.ts';
import type { PolicyAction } from '../machines/shareSession.ts';
import type { Target } from './access.ts';
import type { Handlers } from './endpoints.ts';
import type { Caller } from './identity.ts';
import type { VerbDeps } from './verbs.ts';

type Gate = (verb: string, action: PolicyAction, caller: Caller, target: Target, ids: { shareId?: string; handoffId?: string; correlationId?: string }) => Promise<Result<true>>;

/** Pages of a cast stay well under NATS's 1 MiB payload once JSON-escaped. */
const PAGE_BYTES = 256 * 1024;

/** A recording as the policy sees it: the terminal it recorded, and whose share or lease it was. */
export const recordingTarget = (r: RecordingSummary): Target => {
  const [kind, ...id] = (r.origin.owner ?? '').split(':');
  const owner = kind === 'human' || kind === 'ai' ? { owner: { kind, id: id.join(':') } as Requester } : {};
  return { terminal: r.origin.terminal as Target['terminal'], backend: 'upterm', access: 'read-only', ttlSeconds: 0, ...owner };
};

export const recordingView = (r: RecordingSummary): Recording => ({
  id: r.origin.recordingId,
  terminal: r.origin.terminal,
  ...(r.origin.shareId ? { shareId: r.origin.shareId } : {}),
  ...(r.origin.handoffId ? { handoffId: r.origin.handoffId } : {}),
  correlationId: r.origin.correlationId,
  startedAt: r.startedAt,
  input: r.input,
  ...(r.end ? { end: r.end } : {}),
});

const noRecordings = () => err(new TermshareError(ErrorCodes.backendUnavailable, 'this service keeps no recordings (its recording store did not open; see its log)'));

/** `recording.list` and `recording.read`: policy action `recording.read` on the recorded terminal. */
export function recordingVerbs(d: VerbDeps, gate: Gate): Pick<Handlers, typeof Verbs.recordingList | typeof Verbs.recordingRead> {
  return {
    [Verbs.recordingList]: async (r, caller) => {
      if (!d.recordings) return noRecordings();
      const all = (await d.recordings.list()).filter(
        (x) => (!r.terminal || x.origin.terminal === r.terminal) && (!r.shareId || x.origin.shareId === r.shareId) && (!r.handoffId || x.origin.handoffId === r.handoffId),
      );
      const visible = await d.access.filter(all, 'recording.read', caller, recordingTarget);
      return ok({ recordings: visible.map(recordingView) });
    },
    [Verbs.recordingRead]: async (r, caller) => {
      if (!d.recordings) return noRecordings();
      const found = await d.recordings.store.get(r.recordingId);
      if (!found) return err(new TermshareError(ErrorCodes.notFound, `no recording ${r.recordingId}: it was never made, or is past its retention (TERMSHARE_RECORDING_TTL); see termshare recording list`));
      const ids = { ...(found.origin.shareId ? { shareId: found.origin.shareId } : {}), ...(found.origin.handoffId ? { handoffId: found.origin.handoffId } : {}), correlationId: found.origin.correlationId };
      const g = await gate(Verbs.recordingRead, 'recording.read', caller, recordingTarget(found), ids);
      if (!g.ok) return g;
      const page = await d.recordings.store.page(r.recordingId, r.afterSeq ?? 0, PAGE_BYTES);
      if (!page) return err(new TermshareError(ErrorCodes.notFound, `recording ${r.recordingId} is gone (past its retention)`));
      return ok({ recording: recordingView(found), headerLine: page.header.headerLine, chunks: page.chunks, nextSeq: page.nextSeq, done: page.done });
    },
  };
}
