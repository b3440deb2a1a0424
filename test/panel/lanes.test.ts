import { describe, expect, it } from 'vitest';
import type { Approval, Badge } from '../../src/api/schemas.ts';
import { lanesOf } from '../../src/panel/lanes.ts';

const share = (shareId: string, state: Badge['shares'][number]['state']) => ({ shareId, backend: 'upterm' as const, access: 'read-only' as const, state, participants: 0 });
const badge = (terminal: string, ...shares: Badge['shares']): Badge => ({ terminal, badge: 'shared ro ×1', shares });
const approval = (id: string, terminal: string): Approval => ({
  id,
  state: 'pending',
  shareId: 'sh_waiting',
  terminal,
  requester: { kind: 'human', id: 'bob' },
  requirement: { policy: 'rw', approvals: 1, approvers: ['leads'], ordered: false, timeoutSeconds: 900 },
  decisions: [],
  createdAt: new Date().toISOString(),
  expiresAt: new Date(Date.now() + 900_000).toISOString(),
  correlationId: 'c',
});
const kinds = (l: { badges: { kind: string }[] }) => l.badges.map((b) => b.kind);

describe('the lanes of the panel', () => {
  it('gives a share awaiting approval the awaiting-approval badge, not shared', () => {
    const [lane] = lanesOf([badge('tmux:a', share('sh_waiting', 'awaiting-approval'))], [approval('ap_1', 'tmux:a')], []);
    expect(kinds(lane!)).toEqual(['awaiting-approval']);
    expect(lane!.badges[0]!.text).toBe('awaiting approval');
  });

  it('shows one badge per state present, the most pressing first', () => {
    const [lane] = lanesOf([badge('tmux:a', share('sh_1', 'active'), share('sh_2', 'expiring'))], [approval('ap_1', 'tmux:a')], [{ handoffId: 'hf_1', terminal: 'tmux:a', to: 'ai:claude' }]);
    expect(kinds(lane!)).toEqual(['ai-in-control', 'awaiting-approval', 'expiring', 'shared']);
  });

  it('gives a terminal whose input an AI holds a lane of its own, even with nothing shared', () => {
    const lanes = lanesOf([], [], [{ handoffId: 'hf_1', terminal: 'tmux:b', to: 'ai:claude' }]);
    expect(lanes).toEqual([expect.objectContaining({ terminal: 'tmux:b', shares: [], badges: [{ kind: 'ai-in-control', text: 'AI in control' }] })]);
  });

  it('does not call a lease held by a person AI in control', () => {
    const [lane] = lanesOf([badge('tmux:a', share('sh_1', 'active'))], [], [{ handoffId: 'hf_1', terminal: 'tmux:a', to: 'human:lee' }]);
    expect(kinds(lane!)).toEqual(['shared']);
  });

  it('sorts lanes by terminal and leaves out approvals no longer pending', () => {
    const decided = { ...approval('ap_2', 'tmux:c'), state: 'approved' as const };
    const lanes = lanesOf([badge('tmux:z', share('sh_z', 'active')), badge('tmux:a', share('sh_a', 'active'))], [decided], []);
    expect(lanes.map((l) => l.terminal)).toEqual(['tmux:a', 'tmux:z']);
  });
});
