export type Summary = { runs: number; p50: number; p95: number; p99: number; min: number; max: number };

/** Nearest-rank percentiles, in the unit of the samples. */
export function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
  return { runs: s.length, p50: at(50), p95: at(95), p99: at(99), min: s[0]!, max: s.at(-1)! };
}

export function table(rows: Record<string, string | number>[]): string {
  const cols = Object.keys(rows[0] ?? {});
  const cells = [cols, ...rows.map((r) => cols.map((c) => String(r[c])))];
  const w = cols.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(w[i]!)).join(' | ') + ' |';
  return [line(cols), '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|', ...cells.slice(1).map(line)].join('\n');
}
