import { describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { LineView, redraw, renderFrame } from '../../src/cli/watchView.ts';

const now = Date.parse('2026-01-01T12:00:00Z');
const share = (id: string, state: Share['state'], extra: Partial<Share> = {}): Share => ({
  id,
  terminal: 'tmux:work',
  backend: 'upterm',
  access: 'read-only',
  state,
  createdAt: new Date(now - 60_000).toISOString(),
  expiresAt: new Date(now + 90_000).toISOString(),
  participants: 0,
  correlationId: 'c',
  requester: { kind: 'human', id: 'alice' },
  ...extra,
});

describe('status --watch on a terminal', () => {
  it('replaces the previous frame in place: up to its first line, erase down, then the new frame', () => {
    expect(redraw(0, ['a', 'b'])).toBe('\x1b[Ja\nb\n');
    expect(redraw(3, ['a'])).toBe('\x1b[3F\x1b[Ja\n');
  });

  it('shows each share with its time left, counting down as the clock moves', () => {
    const first = renderFrame([share('sh_1', 'active')], now).join('\n');
    const later = renderFrame([share('sh_1', 'active')], now + 30_000).join('\n');
    expect(first).toMatch(/sh_1\s+tmux:work\s+active\s+upterm\s+read-only\s+1m30s/);
    expect(later).toMatch(/sh_1\s+tmux:work\s+active\s+upterm\s+read-only\s+1m0s/);
  });

  it('cuts lines to the terminal width, so the frame height it erases is the height it drew', () => {
    const lines = renderFrame([share('sh_1', 'active')], now, 20);
    expect(lines.every((l) => l.length <= 20)).toBe(true);
  });
});

describe('status --watch not on a terminal (line mode)', () => {
  it('prints a line for a new share and for each change, nothing for an unchanged one', () => {
    const out: string[] = [];
    const view = new LineView({}, (l) => out.push(l));
    view.show([share('sh_1', 'active')], now);
    view.show([share('sh_1', 'active')], now + 1000);
    view.show([share('sh_1', 'active', { participants: 1 })], now + 2000);
    view.show([share('sh_1', 'revoked')], now + 3000);
    expect(out).toHaveLength(3);
    expect(out[1]).toMatch(/sh_1 .* participants 1$/);
    expect(out[2]).toMatch(/sh_1\s+tmux:work\s+revoked .* ended/);
  });

  it('skips shares that had ended before it saw them, unless --all', () => {
    const out: string[] = [];
    new LineView({}, (l) => out.push(l)).show([share('sh_old', 'stopped')], now);
    expect(out).toEqual([]);
    new LineView({ all: true, json: true }, (l) => out.push(l)).show([share('sh_old', 'stopped')], now);
    expect(JSON.parse(out[0]!)).toMatchObject({ share: { id: 'sh_old', state: 'stopped' } });
  });
});
