import type { Exploration } from './explore.ts';

export type Gate = {
  uncovered: string[];
  guardSidesMissing: string[];
  staleUnreachable: string[];
  staleKnownIssues: string[];
};

export const DECLINED = ' :: declined';

export function gate(ex: Exploration, unreachable: Record<string, string> = {}, knownIssues: Record<string, string> = {}): Gate {
  const uncovered = ex.catalog.filter((t) => !ex.taken.has(t.key) && !(t.key in unreachable)).map((t) => t.key);
  const guardSidesMissing = ex.catalog
    .filter((t) => t.guarded && !ex.declined.has(t.key) && !(t.key + DECLINED in unreachable))
    .map((t) => t.key + DECLINED);
  const staleUnreachable = Object.keys(unreachable).filter((k) =>
    k.endsWith(DECLINED) ? ex.declined.has(k.slice(0, -DECLINED.length)) : ex.taken.has(k),
  );
  const staleKnownIssues = Object.keys(knownIssues).filter((i) => !ex.issues.has(i));
  return { uncovered, guardSidesMissing, staleUnreachable, staleKnownIssues };
}

/** The coverage table: every transition of the machine, how many times the generated paths took it, and the other side of each guard. */
export function table(ex: Exploration, unreachable: Record<string, string> = {}, knownIssues: Record<string, string> = {}): string {
  const g = gate(ex, unreachable, knownIssues);
  const covered = ex.catalog.filter((t) => ex.taken.has(t.key)).length;
  const guarded = ex.catalog.filter((t) => t.guarded);
  const bothSides = guarded.filter((t) => ex.taken.has(t.key) && (ex.declined.has(t.key) || t.key + DECLINED in unreachable)).length;
  const lines = [
    `${ex.machineId}: ${covered}/${ex.catalog.length} transitions covered (${Math.round((100 * covered) / Math.max(1, ex.catalog.length))}%), ` +
      `guards both sides ${bothSides}/${guarded.length}; ${ex.states} abstract states, ${ex.played} paths played ` +
      `(${ex.maximal} maximal, longest ${ex.maxLength} steps), all covered by depth ${Math.max(0, ...ex.firstDepth.values())}, ` +
      `${ex.failures.length} failing, ${(ex.ms / 1000).toFixed(2)} s`,
  ];
  for (const t of ex.catalog) {
    const n = ex.taken.get(t.key) ?? 0;
    const mark = n ? 'ok ' : t.key in unreachable ? 'n/a' : 'MISSING';
    let guard = '';
    if (t.guarded) {
      const d = ex.declined.has(t.key) ? 'declined ok' : t.key + DECLINED in unreachable ? 'declined n/a' : 'declined MISSING';
      guard = `  [guard: taken ${n ? 'ok' : 'MISSING'}, ${d}]`;
    }
    const d = ex.firstDepth.get(t.key);
    lines.push(`  ${mark.padEnd(7)} ${String(n).padStart(6)} ${d === undefined ? '  ' : `d${d}`}  ${t.key}${guard}`);
  }
  for (const [k, why] of Object.entries(unreachable)) lines.push(`  unreachable: ${k} -- ${why}`);
  for (const [k, why] of Object.entries(knownIssues)) lines.push(`  known issue ${ex.issues.has(k) ? 'OBSERVED' : 'not seen'}: ${k} -- ${why}`);
  if (g.uncovered.length) lines.push(`  UNCOVERED: ${g.uncovered.join(' | ')}`);
  return lines.join('\n');
}
