import { describe, expect, it } from 'vitest';
import { ShareStartRequest } from '../../src/api/schemas.ts';
import { parseRequest } from '../../src/api/validate.ts';

const ok = { terminal: 'tmux:w', backend: 'upterm', requester: { kind: 'human', id: 'a' } };

describe('request validation', () => {
  it('accepts a minimal start request', () => {
    expect(parseRequest(ShareStartRequest, JSON.stringify(ok), 'share.start')).toMatchObject({ ok: true, value: ok });
  });
  it('names every unknown field and says to remove it', () => {
    const r = parseRequest(ShareStartRequest, JSON.stringify({ ...ok, foo: 1, bar: 2 }), 'share.start');
    expect(r.ok || r.error.message).toMatch(/unknown field\(s\) "foo", "bar"; remove them/);
  });
  it('refuses a requester of an unknown kind', () => {
    const r = parseRequest(ShareStartRequest, JSON.stringify({ ...ok, requester: { kind: 'robot', id: 'x' } }), 'share.start');
    expect(r.ok || r.error.code).toBe('invalid_request');
    expect(r.ok || r.error.message).toMatch(/requester\.kind/);
  });
  it('refuses a fractional TTL', () => {
    const r = parseRequest(ShareStartRequest, JSON.stringify({ ...ok, ttlSeconds: 1.5 }), 'share.start');
    expect(r.ok || r.error.message).toMatch(/whole number/);
  });
  it('refuses a terminal reference with characters no session name holds, or of another multiplexer', () => {
    for (const terminal of ['tmux:a b', 'screen:x', 'tmux:', 'tmux:a*', 'tmux:x\r\nX: 1', `tmux:${'a'.repeat(129)}`]) {
      expect(parseRequest(ShareStartRequest, JSON.stringify({ ...ok, terminal }), 'share.start').ok, terminal).toBe(false);
    }
  });
  it('refuses whitespace around a terminal reference naming the reference without it', () => {
    for (const terminal of ['tmux:x ', ' tmux:x', 'tmux:x\t', 'tmux:x\n']) {
      const r = parseRequest(ShareStartRequest, JSON.stringify({ ...ok, terminal }), 'share.start');
      expect(r.ok || r.error.message, terminal).toMatch(/has whitespace around it; use tmux:x$/);
    }
  });
  it('lets tmux target syntax through, for resolution to refuse naming the session meant (terminal contract)', () => {
    for (const terminal of ['tmux:x.0', 'tmux:x:', 'tmux:=x', 'tmux:$3']) {
      expect(parseRequest(ShareStartRequest, JSON.stringify({ ...ok, terminal }), 'share.start').ok, terminal).toBe(true);
    }
  });
  it('treats bytes that are not JSON as invalid_request', () => {
    const r = parseRequest(ShareStartRequest, new TextEncoder().encode('{oops'), 'share.start');
    expect(r.ok || r.error.message).toMatch(/^share\.start: the body is not valid JSON/);
  });
});

describe('request validation quoting what was sent', () => {
  it('quotes an unknown field name holding CR/LF as an escaped string', () => {
    const r = parseRequest(ShareStartRequest, JSON.stringify({ ...ok, 'x\r\nNats-Service-Error: 200': 1 }), 'share.start');
    expect(r.ok || r.error.message).toContain('unknown field(s) "x\\r\\nNats-Service-Error: 200"; remove them');
    expect(r.ok || r.error.message).not.toMatch(/[\r\n]/);
  });
  it('shows the first bytes of a body that is not JSON, escaped and cut short', () => {
    const r = parseRequest(ShareStartRequest, `{\r\n\u0000${'z'.repeat(10_000)}`, 'share.start');
    expect(r.ok || r.error.message).toMatch(/it starts "\{\\r\\n\\u0000z+…"/);
    expect((r.ok ? '' : r.error.message).length).toBeLessThan(300);
  });
  it('names at most ten unknown fields however many were sent', () => {
    const body = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`f${i}`, i]));
    const r = parseRequest(ShareStartRequest, JSON.stringify({ ...ok, ...body }), 'share.start');
    expect(r.ok || r.error.message).toMatch(/and 4990 more; remove them/);
  });
});
