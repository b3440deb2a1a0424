import { describe, expect, it } from 'vitest';
import type { TerminalAdapter } from '../../../src/adapters/terminals/types.ts';

/** How one implementation is put through the contract: the in-memory twin, real tmux and real zellij all pass it. */
export type TerminalFixture = {
  adapter: TerminalAdapter;
  /** Makes a session of that exact name. */
  create(session: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Ends a session (its server, for zellij); with it, `exists` is checked too. */
  end?(session: string): Promise<void>;
  /** The multiplexer the references name (default tmux) and the shape of its session ids (default `$N`). */
  kind?: 'tmux' | 'zellij';
  idPattern?: RegExp;
};

const refusal = async (fx: TerminalFixture, ref: string) => {
  const r = await fx.adapter.resolve(ref);
  if (r.ok) throw new Error(`${ref} resolved to ${r.value.canonical} (${r.value.id}); it should be refused`);
  return r.error;
};

/** Session names are prefixed per suite so the real tmux socket can be shared by nothing else. */
export function terminalContract(name: string, fx: TerminalFixture): void {
  const kind = fx.kind ?? 'tmux';
  const other = kind === 'tmux' ? 'zellij' : 'tmux';
  const ref = (session: string) => `${kind}:${session}`;
  describe(`${name} terminal contract: resolve`, () => {
    it('an exact session name resolves to itself and the session id', async () => {
      await fx.create('rx');
      const r = await fx.adapter.resolve(ref('rx'));
      expect(r).toEqual({ ok: true, value: { canonical: ref('rx'), id: expect.stringMatching(fx.idPattern ?? /^\$\d+$/) } });
    });

    it('two sessions have two ids; a renamed session keeps its id under its new name', async () => {
      await fx.create('ra');
      await fx.create('rb');
      const a = await fx.adapter.resolve(ref('ra'));
      const b = await fx.adapter.resolve(ref('rb'));
      if (!a.ok || !b.ok) throw new Error('both sessions should resolve');
      expect(a.value.id).not.toBe(b.value.id);
      await fx.rename('ra', 'rc');
      expect(await fx.adapter.resolve(ref('rc'))).toEqual({ ok: true, value: { canonical: ref('rc'), id: a.value.id } });
      expect((await refusal(fx, ref('ra'))).code).toBe('terminal_not_found');
    });

    it.each(['ry.0', 'ry:', 'ry:0', 'ry.', 'ry.0.', '=ry', 'ry:.0'])(
      'the alias <kind>:%s is refused as invalid_request naming <kind>:ry',
      async (alias) => {
        await fx.create('ry');
        const e = await refusal(fx, ref(alias));
        expect(e.code).toBe('invalid_request');
        expect(e.message).toContain(`use ${ref('ry')}`);
      },
    );

    it("the session's id ($N) is refused naming the session", async () => {
      await fx.create('rid');
      const r = await fx.adapter.resolve(ref('rid'));
      if (!r.ok) throw new Error('rid should resolve');
      const e = await refusal(fx, ref(r.value.id));
      expect(e.code).toBe('invalid_request');
      expect(e.message).toContain(`use ${ref('rid')}`);
    });

    it('a prefix of a longer session name is refused naming the full name', async () => {
      await fx.create('rlongername');
      const e = await refusal(fx, ref('rlonger'));
      expect(e.code).toBe('invalid_request');
      expect(e.message).toContain(`use ${ref('rlongername')}`);
    });

    it('a name that reaches no session is terminal_not_found; target syntax reaching none is invalid_request', async () => {
      expect((await refusal(fx, ref('rnone'))).code).toBe('terminal_not_found');
      const e = await refusal(fx, ref('rnone.1'));
      expect(e.code).toBe('invalid_request');
      expect(e.message).toContain('contain no "." or ":"');
    });

    it('a terminal of another kind is terminal_not_found', async () => {
      await fx.create('rx');
      expect((await refusal(fx, `${other}:rx`)).code).toBe('terminal_not_found');
      expect(await fx.adapter.exists(`${other}:rx`)).toBe(false);
    });

    it.skipIf(!fx.end)('a session exists while it runs and not once it has ended', async () => {
      await fx.create('rend');
      expect(await fx.adapter.exists(ref('rend'))).toBe(true);
      await fx.end!('rend');
      expect(await fx.adapter.exists(ref('rend'))).toBe(false);
      expect((await refusal(fx, ref('rend'))).code).toBe('terminal_not_found');
    });
  });
}
