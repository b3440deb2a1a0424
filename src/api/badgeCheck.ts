import { Badge } from './schemas.ts';

/** A badge larger than this (its JSON) is not one the service wrote: skipped. */
export const BADGE_MAX_BYTES = 64 * 1024;

export type BadgeCheck = { ok: true; badge: Badge } | { ok: false; why: string };

/**
 * A badge as read from the bucket or a reply, checked against the contract's schema: anything
 * else (not JSON, the wrong shape, too large, a terminal reference with CR/LF) is refused with
 * the reason, for the reader to skip and log. Never throws.
 */
export function checkBadge(raw: Uint8Array | string | unknown): BadgeCheck {
  let value: unknown = raw;
  if (typeof raw === 'string' || raw instanceof Uint8Array) {
    const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
    if (size > BADGE_MAX_BYTES) return { ok: false, why: `too large (${size} bytes > ${BADGE_MAX_BYTES})` };
    const text = typeof raw === 'string' ? raw : new TextDecoder().decode(raw);
    try {
      value = JSON.parse(text);
    } catch {
      return { ok: false, why: 'not JSON' };
    }
  }
  const parsed = Badge.safeParse(value);
  if (parsed.success) return { ok: true, badge: parsed.data };
  const first = parsed.error.issues[0]!;
  return { ok: false, why: `not a badge: ${first.path.join('.') || 'body'}: ${first.message}`.slice(0, 200) };
}

/** The badges among `values` that check, and how many did not (with the first reasons). */
export function checkBadges(values: Iterable<unknown>): { badges: Badge[]; skipped: string[] } {
  const badges: Badge[] = [];
  const skipped: string[] = [];
  for (const v of values) {
    const c = checkBadge(v);
    if (c.ok) badges.push(c.badge);
    else skipped.push(c.why);
  }
  return { badges, skipped };
}
