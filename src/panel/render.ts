import type { Approval, Badge } from '../api/schemas.ts';

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function until(iso?: string): string {
  if (!iso) return '-';
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (s <= 0) return 'now';
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** The lane panel: one lane per terminal with a live share or lease, its badge, and pending approvals. */
export function renderPanel(badges: Badge[], approvals: Approval[]): string {
  const lanes = badges
    .sort((a, b) => a.terminal.localeCompare(b.terminal))
    .map((b) => {
      const rows = b.shares
        .map((s) => `<tr data-share="${esc(s.shareId)}"><td><code>${esc(s.shareId)}</code></td><td>${esc(s.backend)}</td><td>${esc(s.access)}</td><td class="state ${esc(s.state)}">${esc(s.state)}</td><td>${esc(until(s.expiresAt))}</td><td>${esc(s.participants)}</td></tr>`)
        .join('');
      return `<section class="lane" data-terminal="${esc(b.terminal)}"><h2>${esc(b.terminal)} <span class="badge">${esc(b.badge)}</span></h2>
<table><thead><tr><th>share</th><th>backend</th><th>access</th><th>state</th><th>expires in</th><th>participants</th></tr></thead><tbody>${rows}</tbody></table></section>`;
    })
    .join('\n');
  const pending = approvals
    .map((a) => `<li data-approval="${esc(a.id)}"><code>${esc(a.id)}</code> ${esc(a.requester.kind)}:${esc(a.requester.id)} on ${esc(a.terminal)} needs ${esc(a.requirement.approvals)} from ${esc(a.requirement.approvers.join(', '))} (expires in ${esc(until(a.expiresAt))})</li>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>termshare panel</title>
<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#222}h1{font-size:1.2rem}.lane{border:1px solid #ccc;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}
.badge{background:#2b6;color:#fff;border-radius:4px;padding:0 .4rem;font-size:.8rem}.state.expiring{color:#c60;font-weight:bold}table{border-collapse:collapse}td,th{padding:.2rem .8rem;text-align:left}</style></head>
<body><h1>termshare: shared terminals</h1>
${lanes || '<p class="empty">No terminal is shared right now.</p>'}
<h1>pending approvals</h1>${pending ? `<ul>${pending}</ul>` : '<p class="empty">None.</p>'}
<script>new EventSource('/events').onmessage = () => location.reload();</script>
</body></html>`;
}
