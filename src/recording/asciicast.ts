import { z } from 'zod';

/**
 * asciicast v3 (https://docs.asciinema.org/manual/asciicast/v3/): newline-delimited JSON, a header
 * object, then one `[interval, code, data]` array per line, the interval in seconds since the
 * previous event. Codes: o output, i input, r resize ("COLSxROWS"), m marker (label), x exit.
 * termshare puts what a recording belongs to in the header's `termshare` field and in `tags`.
 */
export const EventCodes = { output: 'o', input: 'i', resize: 'r', marker: 'm', exit: 'x' } as const;
export type EventCode = (typeof EventCodes)[keyof typeof EventCodes];

export const RecordingOrigin = z.object({
  recordingId: z.string(),
  shareId: z.string().optional(),
  handoffId: z.string().optional(),
  terminal: z.string(),
  correlationId: z.string(),
  /** Whose the share or lease is (`human:<id>`): the policy's `context.owner` for recording.read. */
  owner: z.string().optional(),
});
export type RecordingOrigin = z.infer<typeof RecordingOrigin>;

export const CastHeaderV3 = z.looseObject({
  version: z.literal(3),
  term: z.looseObject({ cols: z.number().int().positive(), rows: z.number().int().positive(), type: z.string().optional() }),
  timestamp: z.number().int().optional(),
  title: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  tags: z.array(z.string()).optional(),
  termshare: RecordingOrigin.optional(),
});
export type CastHeaderV3 = z.infer<typeof CastHeaderV3>;

export const CastEvent = z.tuple([z.number().nonnegative(), z.enum(['o', 'i', 'r', 'm', 'x']), z.string()]);
export type CastEvent = z.infer<typeof CastEvent>;

export function headerFor(origin: RecordingOrigin, size: { cols: number; rows: number }, startedAt: number): CastHeaderV3 {
  const of = origin.shareId ? `share ${origin.shareId}` : `handoff ${origin.handoffId}`;
  return {
    version: 3,
    term: { cols: size.cols, rows: size.rows, type: 'xterm-256color' },
    timestamp: Math.floor(startedAt / 1000),
    title: `${origin.terminal} (${of})`,
    env: { TERM: 'xterm-256color' },
    tags: [
      ...(origin.shareId ? [`share:${origin.shareId}`] : []),
      ...(origin.handoffId ? [`handoff:${origin.handoffId}`] : []),
      `correlation:${origin.correlationId}`,
      `terminal:${origin.terminal}`,
    ],
    termshare: origin,
  };
}

/** One line of a cast (with its newline); intervals to the microsecond, as asciinema writes them. */
export const castLine = (value: CastHeaderV3 | CastEvent): string =>
  Array.isArray(value) ? `${JSON.stringify([Math.round(value[0] * 1e6) / 1e6, value[1], value[2]])}\n` : `${JSON.stringify(value)}\n`;

export type ParsedCast = { header: CastHeaderV3; events: CastEvent[] };

/** Parses a v3 cast; comment lines (`#`) and blank lines are skipped. Throws naming the first bad line. */
export function parseCastV3(text: string): ParsedCast {
  const lines = text.split('\n');
  const header = CastHeaderV3.safeParse(safeJson(lines[0] ?? ''));
  if (!header.success) throw new Error(`line 1 is not an asciicast v3 header: ${header.error.issues[0]?.message ?? 'invalid'}`);
  const events: CastEvent[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line === '' || line.startsWith('#')) return;
    const e = CastEvent.safeParse(safeJson(line));
    if (!e.success) throw new Error(`line ${i + 2} is not an asciicast v3 event: ${e.error.issues[0]?.message ?? 'invalid'}`);
    events.push(e.data);
  });
  return { header: header.data, events };
}

const safeJson = (s: string): unknown => {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
};

/**
 * The same recording as asciicast v2 (asciinema 2.x, Debian's 2.2): width/height in the header,
 * absolute times, no exit event (v2 has none; its status goes in a last marker).
 */
export function toV2(cast: ParsedCast): string {
  const { header } = cast;
  const v2Header = {
    version: 2,
    width: header.term.cols,
    height: header.term.rows,
    ...(header.timestamp !== undefined ? { timestamp: header.timestamp } : {}),
    ...(header.title ? { title: header.title } : {}),
    env: { TERM: header.term.type ?? 'xterm-256color', ...(header.env ?? {}) },
    ...(header.termshare ? { termshare: header.termshare } : {}),
  };
  let at = 0;
  let out = `${JSON.stringify(v2Header)}\n`;
  for (const [interval, code, data] of cast.events) {
    at += interval;
    const time = Math.round(at * 1e6) / 1e6;
    out += code === 'x' ? `${JSON.stringify([time, 'm', `exit ${data}`])}\n` : `${JSON.stringify([time, code, data])}\n`;
  }
  return out;
}

/** Everything the terminal showed, in order (output events' data joined). */
export const outputText = (cast: ParsedCast): string =>
  cast.events
    .filter((e) => e[1] === 'o')
    .map((e) => e[2])
    .join('');
