/**
 * How long ended records (shares, handoffs, and the approvals they hold) are kept for `get`,
 * `list` and `approval.list` after they end: at most `retentionMs`, and never more than
 * `maxKept` of them, so a flood of refused or denied requests cannot grow the service's memory.
 */
export type Retention = { retentionMs: number; maxKept: number; now: () => number };

export const DEFAULT_ENDED_RETENTION_S = 3600;
export const MAX_ENDED_KEPT = 500;

export const defaultRetention = (retentionMs = DEFAULT_ENDED_RETENTION_S * 1000): Retention => ({ retentionMs, maxKept: MAX_ENDED_KEPT, now: Date.now });

/**
 * Removes from `records` the ended ones (`endedAt` set) that ended longer than the window ago,
 * then the oldest ended ones beyond `maxKept`. Live records are never touched. Returns how many went.
 */
export function pruneEnded<R>(records: Map<string, R>, endedAt: (r: R) => number | undefined, r: Retention): number {
  const cutoff = r.now() - r.retentionMs;
  const ended: Array<[string, number]> = [];
  for (const [id, rec] of records) {
    const at = endedAt(rec);
    if (at !== undefined) ended.push([id, at]);
  }
  ended.sort((a, b) => a[1] - b[1]);
  const excess = Math.max(0, ended.length - r.maxKept);
  let removed = 0;
  ended.forEach(([id, at], i) => {
    if (i < excess || at <= cutoff) {
      records.delete(id);
      removed++;
    }
  });
  return removed;
}
