import { describe, expect, it } from 'vitest';
import type { TerminalAdapter } from '../../../src/adapters/terminals/types.ts';

/** How one implementation is put through the contract: the in-memory twin and real tmux both pass it. */
export type TerminalFixture = {
  adapter: TerminalAdapter;
  /** Makes a session of that exact name. */
  create(session: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
};

const refusal = async (fx: TerminalFixture, ref: string) => {
  const r = await fx.adapter.resolve(ref);
  if (r.ok) throw new Error(`${ref} resolved to ${r.value.canonical} (${r.value.id}); it should be refused`);
  return r.error;
};

/** Session names are prefixed per suite so the real tmux socket can be shared by nothing else. */
export function terminalContract(name: string, fx: TerminalFixture): void {
  describe(`${name} terminal contract: resolve`, () => {
    it('an exact session name resolves to itself and the session id', async () => {
      await fx.create('rx');
      const r = await fx.adapter.resolve('tmux:rx');
      expect(r).toEqual({ ok: true, value: { canonical: 'tmux:rx', id: expect.stringMatching(/^\$\d+$/) } });
    });

    it('two sessions have two ids; a renamed session keeps its id under its new name', async () => {
      await fx.create('ra');
      await fx.create('rb');
      const a = await fx.adapter.resolve('tmux:ra');
      const b = await fx.adapter.resolve('tmux:rb');
      if (!a.ok || !b.ok) throw new Error('both sessions should resolve');
      expect(a.value.id).not.toBe(b.value.id);
      await fx.rename('ra', 'rc');
      expect(await fx.adapter.resolve('tmux:rc')).toEqual({ ok: true, value: { canonical: 'tmux:rc', id: a.value.id } });
      expect((await refusal(fx, 'tmux:ra')).code).toBe('terminal_not_found');
    });

    it.each(['tmux:ry.0', 'tmux:ry:', 'tmux:ry:0', 'tmux:ry.', 'tmux:ry.0.', 'tmux:=ry', 'tmux:ry:.0'])(
      'the alias %s is refused as invalid_request naming tmux:ry',
      async (ref) => {
        await fx.create('ry');
        const e = await refusal(fx, ref);
        expect(e.code).toBe('invalid_request');
        expect(e.message).toContain('use tmux:ry');
      },
    );

    it("the session's id ($N) is refused naming the session", async () => {
      await fx.create('rid');
      const r = await fx.adapter.resolve('tmux:rid');
      if (!r.ok) throw new Error('rid should resolve');
      const e = await refusal(fx, `tmux:${r.value.id}`);
      expect(e.code).toBe('invalid_request');
      expect(e.message).toContain('use tmux:rid');
    });

    it('a prefix of a longer session name is refused naming the full name', async () => {
      await fx.create('rlongername');
      const e = await refusal(fx, 'tmux:rlonger');
      expect(e.code).toBe('invalid_request');
      expect(e.message).toContain('use tmux:rlongername');
    });

    it('a name that reaches no session is terminal_not_found; target syntax reaching none is invalid_request', async () => {
      expect((await refusal(fx, 'tmux:rnone')).code).toBe('terminal_not_found');
      const e = await refusal(fx, 'tmux:rnone.1');
      expect(e.code).toBe('invalid_request');
      expect(e.message).toContain('contain no "." or ":"');
    });

    it('a terminal of another kind is terminal_not_found', async () => {
      expect((await refusal(fx, 'zellij:rx')).code).toBe('terminal_not_found');
    });
  });
}
