import type { AuditAction } from '../api/subjects.ts';

/** The lifecycle steps a recording marks, by the audit action that records them, and what the marker says. */
export const MarkerLabels: Partial<Record<AuditAction, string>> = {
  start: 'granted',
  'participant.join': 'participant joined',
  'participant.leave': 'participant left',
  extend: 'extended',
  switch: 'switched',
  'handoff.transfer': 'lease taken',
  'handoff.release': 'input returned',
  revoke: 'revoked',
  stop: 'stopped',
  expire: 'expired',
  fail: 'failed',
  'terminal.closed': 'terminal closed',
  'handoff.end': 'lease ended',
};

/** Steps that begin a recording (a share granted, a lease taken) and steps that end one. */
export const BEGINS: ReadonlySet<string> = new Set(['start', 'handoff.transfer']);
export const ENDS: ReadonlySet<string> = new Set(['revoke', 'stop', 'expire', 'fail', 'terminal.closed', 'handoff.release', 'handoff.end']);

/** `granted (start 3f2a...)`: the step's name, then the audit action and event id it matches. */
export const markerText = (action: string, eventId: string) => `${MarkerLabels[action as AuditAction] ?? action} (${action} ${eventId})`;
export const MARKER = /^(.+) \(([a-z.]+) ([0-9a-f-]{36})\)$/;

/** tmux key names as the bytes a terminal would send, for input events; others as `<Name>`. */
const KEY_BYTES: Record<string, string> = { Enter: '\r', Tab: '\t', Escape: '\x1b', BSpace: '\x7f', Space: ' ', Up: '\x1b[A', Down: '\x1b[B', Right: '\x1b[C', Left: '\x1b[D' };
export const keyBytes = (key: string): string => {
  const ctrl = /^C-([a-z])$/.exec(key);
  if (ctrl) return String.fromCharCode(ctrl[1]!.charCodeAt(0) - 96);
  return KEY_BYTES[key] ?? `<${key}>`;
};

export type Step = { action: string; eventId: string; at: string; outcome: string };

/** A step the recording marks: one of the lifecycle steps, and for an extension or switch, one that happened (not denied, failed or aborted). */
export function marks(step: Pick<Step, 'action' | 'outcome'>): boolean {
  if (!MarkerLabels[step.action as AuditAction]) return false;
  if (step.action === 'extend') return step.outcome === 'extended';
  if (step.action === 'switch') return step.outcome === 'switched';
  return true;
}
