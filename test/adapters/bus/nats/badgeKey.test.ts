import { describe, expect, it } from 'vitest';
import { badgeKey, decodeBadgeKey } from '../../../../src/adapters/bus/nats/badges.ts';

describe('badge keys', () => {
  it('encode any terminal reference into the KV key alphabet and back', () => {
    for (const t of ['tmux:demo', 'tmux:a.b-c_d', 'zellij:x@y%z+1,2=3']) {
      const key = badgeKey(t);
      expect(key).toMatch(/^[-/_=.a-zA-Z0-9]+$/);
      expect(decodeBadgeKey(key)).toBe(t);
    }
    expect(badgeKey('tmux:demo')).toBe('dG11eDpkZW1v');
  });
});
