import type { Recording } from '../api/schemas.ts';
import { Verbs } from '../api/subjects.ts';
import type { TermshareClient } from './client.ts';

export class RecordingReadError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Page = { recording: Recording; headerLine: string; chunks: string[]; nextSeq: number; done: boolean };

/** A recording's whole asciicast v3 text as stored (header line, then every chunk), read page by page through the service. */
export async function fetchCast(client: TermshareClient, recordingId: string): Promise<{ recording: Recording; text: string }> {
  let afterSeq = 0;
  let text = '';
  for (;;) {
    const r = await client.request<Page>(Verbs.recordingRead, { recordingId, afterSeq });
    if (!r.ok) throw new RecordingReadError(r.code, r.message);
    if (afterSeq === 0) text = `${r.value.headerLine}\n`;
    text += r.value.chunks.join('');
    if (r.value.done || r.value.nextSeq === afterSeq) return { recording: r.value.recording, text };
    afterSeq = r.value.nextSeq;
  }
}

export async function listRecordings(client: TermshareClient, filter: { terminal?: string; shareId?: string; handoffId?: string }): Promise<Recording[]> {
  const r = await client.request<{ recordings: Recording[] }>(Verbs.recordingList, filter);
  if (!r.ok) throw new RecordingReadError(r.code, r.message);
  return r.value.recordings;
}
