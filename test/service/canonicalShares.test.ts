import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../src/adapters/backends/memory/memoryBackend.ts';
import type { PolicyGate } from '../../src/adapters/policy/types.ts';
import { MemoryTerminals } from '../../src/adapters/terminals/memory/memoryTerminals.ts';
import type { ShareEffects } from '../../src/service/effects.ts';
import { Handoffs } from '../../src/service/handoffs.ts';
import { Shares } from '../../src/service/shares.ts';

const alice = { kind: 'human', id: 'alice' } as const;

/** Shares over the in-memory twins, with a gate that forbids tmux:secret and allows the rest. */
function world() {
  const terminals = new MemoryTerminals();
  terminals.terminals.add('tmux:secret').add('tmux:work').add('tmux:workbench');
  const asked: string[] = [];
  const gate: PolicyGate = {
    decide: async (q) => {
      asked.push(q.terminal);
      return q.terminal === 'tmux:secret' ? { decision: 'deny', policies: ['no-secret'], message: 'tmux:secret is never shared' } : { decision: 'allow', policies: ['ok'], message: 'ok' };
    },
    groupsOf: async () => [],
  };
  const effects = { record: async () => undefined, refreshBadge: async () => undefined } as unknown as ShareEffects;
  const shares = new Shares({
    config: { defaultTtlMs: 60_000, graceMs: 5_000, maxSharesPerTerminal: 2, linkTimeoutMs: 1_000 },
    terminals,
    backends: { upterm: new MemoryBackend('upterm') },
    gate,
    effects,
    log: pino({ level: 'silent' }),
    control: terminals,
  });
  const handoffs = new Handoffs(shares, terminals, (t) => terminals.resolve(t), effects, pino({ level: 'silent' }));
  const start = (terminal: string) => shares.start({ terminal, backend: 'upterm', requester: alice });
  return { terminals, shares, handoffs, start, asked };
}

describe('shares see the one session a reference names', () => {
  it('aliases of a forbidden session are refused naming it, before the policy is asked, and leave no share', async () => {
    const w = world();
    for (const alias of ['tmux:secret.0', 'tmux:secret:', 'tmux:secret.0.', 'tmux:=secret', 'tmux:$0', 'tmux:secr']) {
      const r = await w.start(alias);
      expect(r.ok ? r.value.state : r.error.code, alias).toBe('invalid_request');
      expect(r.ok || r.error.message, alias).toContain('use tmux:secret');
    }
    expect(w.asked).toEqual([]);
    expect(w.shares.list()).toEqual([]);
    const canonical = await w.start('tmux:secret');
    expect(canonical.ok || canonical.error.code).toBe('policy_denied');
    await w.shares.shutdown();
  });

  it('aliases of a full session are refused, and the limit holds for the session under a new name', async () => {
    const w = world();
    for (let n = 0; n < 2; n++) expect((await w.start('tmux:work')).ok).toBe(true);
    for (const alias of ['tmux:work.0', 'tmux:work:', 'tmux:=work', 'tmux:$1']) {
      const r = await w.start(alias);
      expect(r.ok || r.error.message, alias).toContain('use tmux:work');
    }
    const third = await w.start('tmux:work');
    expect(third.ok || third.error.code).toBe('limit_exceeded');
    w.terminals.rename('tmux:work', 'tmux:renamed');
    const renamed = await w.start('tmux:renamed');
    expect(renamed.ok || renamed.error.code).toBe('limit_exceeded');
    expect(w.shares.list().filter((s) => s.state === 'active').map((s) => s.terminal)).toEqual(['tmux:work', 'tmux:work']);
    // Another session whose name the first one's is a prefix of is another terminal, with its own slots.
    expect((await w.start('tmux:workbench')).ok).toBe(true);
    await w.shares.shutdown();
  });
});

describe('a lease is one per session, whatever it is called', () => {
  it('a held lease keeps a second one off the session by an alias or after a rename, and is handed the canonical terminal', async () => {
    const w = world();
    const claude = { kind: 'ai', id: 'claude' } as const;
    const held = await w.handoffs.request({ terminal: 'tmux:work', to: claude, requester: alice });
    expect(held.ok && { state: held.value.state, terminal: held.value.terminal }).toEqual({ state: 'held', terminal: 'tmux:work' });
    const alias = await w.handoffs.request({ terminal: 'tmux:work:', to: claude, requester: alice });
    expect(alias.ok || alias.error.message).toContain('use tmux:work');
    w.terminals.rename('tmux:work', 'tmux:renamed');
    const again = await w.handoffs.request({ terminal: 'tmux:renamed', to: claude, requester: alice });
    expect(again.ok || again.error.code).toBe('conflict');
    await w.shares.shutdown();
  });
});
