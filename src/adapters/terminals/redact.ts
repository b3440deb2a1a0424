import type { TerminalContext } from './types.ts';
import { detectSecrets } from './redaction/detectors.ts';
import { isFlag, isSecretName, secretAssignments, type Span } from './redaction/secretNames.ts';

/**
 * Redaction of what a terminal hands to anyone (an agent taking over): its environment and its
 * scrollback. Detection is secretlint's recommended rule set plus the few shapes it lacks
 * (redaction/detectors.ts); names are ours (redaction/secretNames.ts). What is masked:
 * - an environment variable whose NAME says secret: its whole value (unless it is a flag such as `1`);
 * - anything the detectors find, in a value or in the scrollback: that span alone;
 * - in the scrollback, the value of an assignment whose name says secret (`export DB_PASS=...`).
 * When in doubt it over-redacts: a harmless value lost is cheaper than a secret handed out.
 */

export const REDACTED = '[redacted]';

function merge(spans: Span[]): Span[] {
  const sorted = spans.filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  const out: Span[] = [];
  for (const [a, b] of sorted) {
    const last = out.at(-1);
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Each span becomes `[redacted]`; a span across lines is masked line by line, so no line is lost. */
function mask(text: string, spans: Span[]): string {
  let out = '';
  let at = 0;
  for (const [a, b] of merge(spans)) {
    out += text.slice(at, a) + text.slice(a, b).split('\n').map((part) => (part ? REDACTED : '')).join('\n');
    at = b;
  }
  return out + text.slice(at);
}

export async function redactEnv(env: Record<string, string>): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  // One text for the detectors (one pass, and `NAME=value` gives name-aware rules their context).
  let text = '';
  const at: { name: string; start: number; end: number }[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (isSecretName(name) && !isFlag(value)) {
      out[name] = REDACTED;
      continue;
    }
    const start = text.length + name.length + 1;
    text += `${name}=${value}\n`;
    at.push({ name, start, end: start + value.length });
  }
  // A value may hold config text (JSON, .netrc): its secret-named fields count too.
  const found = [...(await detectSecrets(text)), ...secretAssignments(text)];
  for (const { name, start, end } of at) {
    const inside = found.filter(([a, b]) => a < end && b > start).map(([a, b]): Span => [Math.max(a, start) - start, Math.min(b, end) - start]);
    out[name] = mask(env[name]!, inside);
  }
  return out;
}

export async function redactLines(lines: string[]): Promise<string[]> {
  if (lines.length === 0) return [];
  const text = lines.join('\n');
  const spans = [...(await detectSecrets(text)), ...secretAssignments(text)];
  return spans.length ? mask(text, spans).split('\n') : [...lines];
}

/** The context packet as handed out: environment and scrollback redacted. */
export async function redactContext(context: TerminalContext): Promise<TerminalContext> {
  return { ...context, env: await redactEnv(context.env), scrollback: await redactLines(context.scrollback) };
}
