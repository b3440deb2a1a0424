/** Cuts `s` to at most `max` characters, marking the cut with `…`. */
export function truncate(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, Math.max(0, max - 1))}…`;
}

/**
 * Input quoted in a message: as a JSON string (so CR, LF, NUL and quotes show as escapes and the
 * message stays one readable line), cut to `max` characters of the input.
 */
export function quote(input: unknown, max = 64): string {
  const s = typeof input === 'string' ? input : String(input);
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

/** Input shown in a message as it is when it is plain printable text of at most `max` characters, else quoted (see `quote`). */
export function shown(input: unknown, max = 64): string {
  const s = typeof input === 'string' ? input : String(input);
  return s.length <= max && /^[\x21-\x7e]*$/.test(s) && !s.includes('"') ? s : quote(s, max);
}
