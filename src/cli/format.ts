import type { Approval, Handoff, Share } from '../api/schemas.ts';

/** Exit codes: one per kind of refusal, so scripts can branch without parsing text. */
export const ExitCodes: Record<string, number> = {
  ok: 0,
  usage: 2,
  invalid_request: 2,
  policy_denied: 3,
  approval_rejected: 3,
  approval_timeout: 3,
  unauthorized: 3,
  not_found: 4,
  terminal_not_found: 4,
  limit_exceeded: 5,
  conflict: 5,
  backend_unavailable: 6,
  backend_failed: 6,
  internal: 1,
  /** No NATS server, no service answering, or no answer within --timeout. */
  unreachable: 7,
  timeout: 7,
};

/** A share in one of these states is still live (the service's LIVE_STATES); the rest have ended. */
export const LIVE_SHARE_STATES: ReadonlySet<string> = new Set(['awaiting-approval', 'starting', 'active', 'expiring']);
export const isLive = (s: Pick<Share, 'state'>) => LIVE_SHARE_STATES.has(s.state);

export function until(iso?: string, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.round((Date.parse(iso) - now) / 1000);
  if (s <= 0) return 'now';
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}

export function formatShare(s: Share): string {
  const lines = [
    `share ${s.id}  ${s.state}`,
    `  terminal     ${s.terminal} (${s.access}, ${s.backend})`,
    isLive(s)
      ? `  expires      ${s.expiresAt ?? '-'}${s.expiresAt ? ` (in ${until(s.expiresAt)})` : ''}`
      : `  ended        ${s.state}${s.endReason && s.endReason !== s.state ? ` (${s.endReason})` : ''}`,
    `  participants ${s.participants}`,
    `  correlation  ${s.correlationId}`,
  ];
  if (s.link) lines.splice(1, 0, `  join with    ${s.link.ssh}`);
  if (s.state === 'awaiting-approval') lines.push(`  approval     ${s.approvalId} (termshare approvals; an approver runs termshare approve ${s.approvalId})`);
  if (s.error) lines.push(`  error        ${s.error.code}: ${s.error.message}`);
  return lines.join('\n');
}

/** The shares as a table; an ended share shows no time left. */
export function formatTable(shares: Share[], opts: { now?: number; empty?: string } = {}): string {
  if (shares.length === 0) return opts.empty ?? 'no shares';
  const rows = [['SHARE', 'TERMINAL', 'STATE', 'BACKEND', 'ACCESS', 'EXPIRES IN', 'PARTICIPANTS']];
  for (const s of shares) rows.push([s.id, s.terminal, s.state, s.backend, s.access, isLive(s) ? until(s.expiresAt, opts.now) : '-', String(s.participants)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatApproval(a: Approval): string {
  const r = a.requirement;
  const lines = [
    `approval ${a.id}  ${a.state}`,
    `  ${a.shareId ? `share        ${a.shareId}` : `handoff      ${a.handoffId}`} on ${a.terminal}, asked by ${a.requester.kind}:${a.requester.id}`,
    `  needs        ${r.approvals} approval(s) from ${r.approvers.join(r.ordered ? ' then ' : ' or ')} (policy ${r.policy})`,
    `  expires      ${a.expiresAt} (in ${until(a.expiresAt)})`,
  ];
  for (const d of a.decisions) lines.push(`  ${d.decision === 'approve' ? 'approved by' : 'rejected by'}  ${d.approver.kind}:${d.approver.id} at ${d.at}${d.comment ? `: ${d.comment}` : ''}`);
  return lines.join('\n');
}

export function formatApprovals(list: Approval[]): string {
  if (list.length === 0) return 'no approvals';
  const rows = [['APPROVAL', 'STATE', 'FOR', 'TERMINAL', 'REQUESTER', 'NEEDS', 'EXPIRES IN']];
  for (const a of list) {
    const got = a.decisions.filter((d) => d.decision === 'approve').length;
    rows.push([a.id, a.state, a.shareId ?? a.handoffId ?? '-', a.terminal, `${a.requester.kind}:${a.requester.id}`, `${got}/${a.requirement.approvals} ${a.requirement.approvers.join(',')}`, until(a.expiresAt)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatHandoff(h: Handoff): string {
  const lines = [
    `handoff ${h.id}  ${h.state}`,
    `  terminal     ${h.terminal}: input from ${h.from.kind}:${h.from.id} to ${h.to.kind}:${h.to.id}`,
    `  correlation  ${h.correlationId}`,
  ];
  if (h.approvalId) lines.push(`  approval     ${h.approvalId}`);
  if (h.context) lines.push(`  context      cwd ${h.context.cwd}, running ${h.context.command}, ${h.context.scrollback.length} lines of scrollback, ${Object.keys(h.context.env).length} env vars (secrets redacted)`);
  if (h.error) lines.push(`  error        ${h.error.code}: ${h.error.message}`);
  return lines.join('\n');
}

/** A spinner on stderr while a reply is on its way; silent when stderr is not a terminal. */
export function spinner(text: string): () => void {
  if (!process.stderr.isTTY) return () => {};
  const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  let i = 0;
  const t = setInterval(() => process.stderr.write(`\r${frames[i++ % frames.length]} ${text}`), 80);
  return () => {
    clearInterval(t);
    process.stderr.write('\r\x1b[K');
  };
}
