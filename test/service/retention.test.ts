import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../src/adapters/backends/memory/memoryBackend.ts';
import type { PolicyGate } from '../../src/adapters/policy/types.ts';
import { MemoryTerminals } from '../../src/adapters/terminals/memory/memoryTerminals.ts';
import { createLogger } from '../../src/log.ts';
import type { ShareEffects } from '../../src/service/effects.ts';
import { Handoffs } from '../../src/service/handoffs.ts';
import { MAX_ENDED_KEPT, pruneEnded } from '../../src/service/retention.ts';
import { Shares } from '../../src/service/shares.ts';

const log = createLogger('silent');
const denyAll: PolicyGate = { decide: async () => ({ decision: 'deny', policies: [], message: 'no policy permits it' }), groupsOf: async () => [] };
const effects = { record: async () => undefined, refreshBadge: async () => undefined, refused: async () => undefined } as unknown as ShareEffects;

/** A clock the test moves. */
const clock = () => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

function service(retentionMs: number, now: () => number) {
  const terminals = new MemoryTerminals();
  terminals.terminals.add('tmux:w');
  const config = { defaultTtlMs: 60_000, graceMs: 5_000, maxSharesPerTerminal: 2, linkTimeoutMs: 5_000, endedRetentionMs: retentionMs };
  const shares = new Shares({ config, terminals, backends: { upterm: new MemoryBackend() }, gate: denyAll, effects, log, control: terminals, now });
  const handoffs = new Handoffs(shares, terminals, (t) => terminals.resolve(t), effects, log, { retentionMs, maxKept: MAX_ENDED_KEPT, now });
  return { shares, handoffs };
}
const alice = { kind: 'human', id: 'alice' } as const;
const claude = { kind: 'ai', id: 'claude' } as const;

describe('ended records', () => {
  it('are pruned once their retention window is over, live ones never', () => {
    const c = clock();
    const m = new Map<string, { endedAt?: number }>([['live', {}], ['old', { endedAt: c.now() }]]);
    c.advance(500);
    m.set('recent', { endedAt: c.now() });
    expect(pruneEnded(m, (r) => r.endedAt, { retentionMs: 400, maxKept: 10, now: c.now })).toBe(1);
    expect([...m.keys()]).toEqual(['live', 'recent']);
  });
  it('are capped: the oldest go first when more ended than are kept', () => {
    const m = new Map(Array.from({ length: 20 }, (_, i) => [`r${i}`, { endedAt: i }] as const));
    pruneEnded(m, (r) => r.endedAt, { retentionMs: 1e9, maxKept: 5, now: () => 20 });
    expect([...m.keys()]).toEqual(['r15', 'r16', 'r17', 'r18', 'r19']);
  });

  it('3,000 denied handoffs keep at most the cap in memory, and none once the window is over', async () => {
    const c = clock();
    const { handoffs } = service(60_000, c.now);
    for (let i = 0; i < 3000; i++) {
      const r = await handoffs.request({ terminal: 'tmux:w', to: claude, requester: alice });
      expect(r.ok || r.error.code).toBe('policy_denied');
    }
    expect(handoffs.records.size).toBe(MAX_ENDED_KEPT);
    c.advance(60_001);
    handoffs.prune();
    expect(handoffs.records.size).toBe(0);
  });

  it('denied shares are forgotten after the window: get says not_found', async () => {
    const c = clock();
    const { shares } = service(10_000, c.now);
    const r = await shares.start({ terminal: 'tmux:w', backend: 'upterm', requester: alice });
    expect(r.ok || r.error.code).toBe('policy_denied');
    const [denied] = shares.list();
    expect(denied?.state).toBe('denied');
    const id = denied!.id;
    c.advance(9_000);
    shares.prune();
    expect(shares.get(id).ok).toBe(true);
    c.advance(1_001);
    shares.prune();
    expect(shares.get(id)).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });
});
