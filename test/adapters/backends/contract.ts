import { describe, expect, it } from 'vitest';
import type { BackendSession, BackendStartSpec, ShareBackendAdapter } from '../../../src/adapters/backends/types.ts';

/** How one implementation is put through the contract: the twin and the real adapter both pass it. */
export type ContractFixture = {
  /** An adapter that reaches a working relay. */
  working(): Promise<ShareBackendAdapter>;
  /** An adapter whose relay refuses connections. */
  unreachable(): Promise<ShareBackendAdapter>;
  /** An adapter whose relay accepts but never produces a link. */
  silent(): Promise<ShareBackendAdapter>;
  /** Makes the backend process die by itself. */
  crash(session: BackendSession): void;
  spec(overrides?: Partial<BackendStartSpec>): BackendStartSpec;
  /** Backend processes of this fixture still alive. */
  leftovers(): number;
};

export function backendContract(name: string, fx: ContractFixture): void {
  describe(`${name} backend contract`, () => {
    it('start resolves with a link and a live process', async () => {
      const r = await (await fx.working()).start(fx.spec());
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.value.link.ssh).toMatch(/^ssh \S+@\S+/);
      expect(r.value.isAlive()).toBe(true);
      await r.value.stop();
    });

    it('stop ends the process and settles `exited`', async () => {
      const r = await (await fx.working()).start(fx.spec());
      if (!r.ok) throw new Error(r.error.message);
      const exit = await r.value.stop();
      expect(r.value.isAlive()).toBe(false);
      expect(await r.value.exited).toEqual(exit);
    });

    it('a read-only share hands out a read-only link', async () => {
      const r = await (await fx.working()).start(fx.spec({ access: 'read-only' }));
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value.link.sshReadOnly ?? r.value.link.ssh).toBe(r.value.link.ssh);
      await r.value.stop();
    });

    it('a crash of the process is reported through `exited`', async () => {
      const r = await (await fx.working()).start(fx.spec());
      if (!r.ok) throw new Error(r.error.message);
      fx.crash(r.value);
      const exit = await r.value.exited;
      expect(exit.message).toBeTruthy();
      expect(r.value.isAlive()).toBe(false);
      expect(fx.leftovers()).toBe(0);
    });

    it('an unreachable relay is backend_unavailable, with nothing left running', async () => {
      const r = await (await fx.unreachable()).start(fx.spec());
      expect(r).toMatchObject({ ok: false, error: { code: 'backend_unavailable' } });
      expect(fx.leftovers()).toBe(0);
    });

    it('no link within the bound is backend_failed, naming the bound', async () => {
      const r = await (await fx.silent()).start(fx.spec({ linkTimeoutMs: 400 }));
      expect(r).toMatchObject({ ok: false, error: { code: 'backend_failed' } });
      expect(fx.leftovers()).toBe(0);
    });
  });
}
