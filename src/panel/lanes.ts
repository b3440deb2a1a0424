import type { Approval, Badge } from '../api/schemas.ts';

/** One badge per state a lane can be in, each with its own text and colour on the page. */
export const BadgeKinds = {
  aiInControl: 'ai-in-control',
  awaitingApproval: 'awaiting-approval',
  expiring: 'expiring',
  shared: 'shared',
} as const;
export type BadgeKind = (typeof BadgeKinds)[keyof typeof BadgeKinds];

export const BADGE_TEXT: Record<BadgeKind, string> = {
  'ai-in-control': 'AI in control',
  'awaiting-approval': 'awaiting approval',
  expiring: 'expiring',
  shared: 'shared',
};

/** A held lease the panel learned of from the handoff events: who holds the terminal's input. */
export type Lease = { handoffId: string; terminal: string; to: string };

export type LaneShare = Badge['shares'][number];
export type Lane = {
  terminal: string;
  badges: { kind: BadgeKind; text: string }[];
  shares: LaneShare[];
  approvals: Approval[];
  lease?: Lease;
};

/**
 * The lanes of the page, one per terminal with a live share, a pending approval or a held
 * lease, sorted by terminal. A lane's badges are one per state present, most pressing first:
 * an AI holding the input, then a share awaiting approval, then one expiring, then shared.
 */
export function lanesOf(badges: Badge[], approvals: Approval[], leases: Lease[]): Lane[] {
  const lanes = new Map<string, Lane>();
  const lane = (terminal: string): Lane => {
    let l = lanes.get(terminal);
    if (!l) lanes.set(terminal, (l = { terminal, badges: [], shares: [], approvals: [] }));
    return l;
  };
  for (const b of badges) lane(b.terminal).shares.push(...b.shares);
  for (const a of approvals) if (a.state === 'pending') lane(a.terminal).approvals.push(a);
  for (const l of leases) lane(l.terminal).lease = l;
  for (const l of lanes.values()) {
    const kinds: BadgeKind[] = [];
    if (l.lease?.to.startsWith('ai:')) kinds.push(BadgeKinds.aiInControl);
    if (l.approvals.length > 0 || l.shares.some((s) => s.state === 'awaiting-approval')) kinds.push(BadgeKinds.awaitingApproval);
    if (l.shares.some((s) => s.state === 'expiring')) kinds.push(BadgeKinds.expiring);
    if (l.shares.some((s) => s.state === 'active' || s.state === 'starting')) kinds.push(BadgeKinds.shared);
    l.badges = kinds.map((kind) => ({ kind, text: BADGE_TEXT[kind] }));
  }
  return [...lanes.values()].sort((a, b) => a.terminal.localeCompare(b.terminal));
}
