/** The least warning a short share gets, unless that is more than half its TTL. */
export const GRACE_FLOOR_MS = 10_000;
/** The warning never takes more than this share of the TTL (beyond the floor). */
export const GRACE_TTL_FRACTION = 1 / 5;

/**
 * How long before expiry a share warns: the configured grace, cut to fit its TTL so a short share
 * is `active` before it is `expiring`: min(grace, max(TTL/5, min(10 s, TTL/2))).
 * A 1800 s share with 300 s grace warns 300 s before; 300 s: 60 s; 60 s: 12 s; 30 s: 10 s; 10 s: 5 s.
 */
export function graceFor(ttlMs: number, configuredGraceMs: number): number {
  const fitted = Math.max(ttlMs * GRACE_TTL_FRACTION, Math.min(GRACE_FLOOR_MS, ttlMs / 2));
  return Math.max(0, Math.round(Math.min(configuredGraceMs, fitted)));
}
