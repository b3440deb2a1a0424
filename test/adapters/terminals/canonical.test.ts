import { describe, expect, it } from 'vitest';
import { checkCanonicalSyntax, guessName } from '../../../src/adapters/terminals/canonical.ts';

describe('canonical terminal syntax (for references to what may have ended)', () => {
  it.each(['tmux:x', 'tmux:work-1', 'tmux:a_b@c%d+e=f,g'])('%s is canonical', (ref) => {
    expect(checkCanonicalSyntax(ref)).toEqual({ ok: true, value: ref });
  });

  it.each([
    ['tmux:x.0', 'use tmux:x'],
    ['tmux:x:', 'use tmux:x'],
    ['tmux:x.0.', 'use tmux:x'],
    ['tmux:=x', 'use tmux:x'],
    ['tmux:=x:1.2', 'use tmux:x'],
    ['tmux:$3', "use the session's name"],
  ])('%s is refused: %s', (ref, hint) => {
    const r = checkCanonicalSyntax(ref);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('invalid_request');
      expect(r.error.message).toContain(hint);
    }
  });

  it('guesses no name for a session id or an empty session part', () => {
    expect(guessName('$3')).toBeUndefined();
    expect(guessName(':1')).toBeUndefined();
    expect(guessName(' x.0 ')).toBe('x');
  });
});
