import { describe, expect, it } from 'vitest';
import { BADGE_MAX_BYTES, checkBadge, checkBadges } from '../../src/api/badgeCheck.ts';

const good = { terminal: 'tmux:w', badge: 'shared ro ×1', shares: [{ shareId: 'sh_abcdef', backend: 'upterm', access: 'read-only', state: 'active', participants: 0 }] };

describe('a badge read from the bucket', () => {
  it('is taken when it is the contract shape', () => {
    expect(checkBadge(JSON.stringify(good))).toEqual({ ok: true, badge: good });
  });
  it.each([
    ['not JSON', 'not json\r\n', /not JSON/],
    ['the wrong shape', JSON.stringify({ terminal: 5 }), /not a badge: terminal/],
    ['shares that are not a list', JSON.stringify({ ...good, shares: 'nope' }), /not a badge: shares/],
    ['a terminal with CR/LF', JSON.stringify({ ...good, terminal: 'tmux:a\r\nb' }), /not a badge: terminal/],
    ['null', 'null', /not a badge/],
    ['huge', JSON.stringify({ ...good, badge: 'x'.repeat(BADGE_MAX_BYTES) }), /too large/],
  ])('is skipped with a reason when it is %s', (_name, raw, why) => {
    const c = checkBadge(new TextEncoder().encode(raw));
    expect(c.ok).toBe(false);
    expect(c.ok ? '' : c.why).toMatch(why);
  });
  it('a bad one among good ones leaves the good ones', () => {
    const r = checkBadges([good, { terminal: 'tmux:x' }, 'garbage', good]);
    expect(r.badges).toHaveLength(2);
    expect(r.skipped).toHaveLength(2);
  });
});
