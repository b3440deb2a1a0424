import { InvalidArgumentError } from 'commander';

/** Argument parsers: each refuses with what is wrong and the form to use (commander exits 2). */

export function principalRef(spec: string): { kind: 'human' | 'ai'; id: string } {
  const m = /^(human|ai):([A-Za-z0-9][A-Za-z0-9._@+-]{0,63})$/.exec(spec);
  if (!m) throw new InvalidArgumentError(`"${spec}" is not a principal: write human:<id> or ai:<id>, e.g. human:lee or ai:claude`);
  return { kind: m[1] as 'human' | 'ai', id: m[2]! };
}

export function positiveSeconds(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`"${v}" is not a number of seconds: give a whole number above 0, e.g. 900`);
  return n;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const MAX_TIMEOUT_MS = 3_600_000;

/** `--timeout`: `500ms`, `10s`, `2m`, `1h`, or a bare number of seconds; above 0, at most 1h. */
export function duration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  const ms = m ? Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS]) : NaN;
  if (!(ms > 0 && ms <= MAX_TIMEOUT_MS)) throw new InvalidArgumentError(`"${v}" is not a duration: give e.g. 500ms, 10s or 2m (above 0, at most 1h)`);
  return ms;
}

export function port(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new InvalidArgumentError(`"${v}" is not a port: give a number from 1 to 65535`);
  return n;
}
