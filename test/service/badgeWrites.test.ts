import type { NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { AuditWriter } from '../../src/adapters/audit/jetstream/auditWriter.ts';
import { MemoryBackend } from '../../src/adapters/backends/memory/memoryBackend.ts';
import type { BadgeStore } from '../../src/adapters/bus/nats/badges.ts';
import type { PolicyGate } from '../../src/adapters/policy/types.ts';
import { MemoryTerminals } from '../../src/adapters/terminals/memory/memoryTerminals.ts';
import type { Badge } from '../../src/api/schemas.ts';
import { subjects } from '../../src/api/subjects.ts';
import { ShareEffects } from '../../src/service/effects.ts';
import { Shares } from '../../src/service/shares.ts';
import { waitFor } from '../support/waitFor.ts';

/** A badge bucket that fails its next `failures` writes (NATS away), then takes them. */
function flakyBucket() {
  const b = { failures: 0, puts: [] as Badge[], clears: [] as string[] };
  const store = {
    put: async (badge: Badge) => {
      if (b.failures > 0 && b.failures--) throw new Error('no responders available');
      b.puts.push(badge);
    },
    clear: async (terminal: string) => {
      if (b.failures > 0 && b.failures--) throw new Error('no responders available');
      b.clears.push(terminal);
    },
  } as unknown as BadgeStore;
  return { b, store };
}

function world() {
  const terminals = new MemoryTerminals();
  terminals.terminals.add('tmux:work');
  const gate: PolicyGate = { decide: async () => ({ decision: 'allow', policies: ['ok'], message: 'ok' }), groupsOf: async () => [] };
  const bucket = flakyBucket();
  const audit = { record: async () => undefined } as unknown as AuditWriter;
  const nc = { publish: () => undefined } as unknown as NatsConnection;
  const effects = new ShareEffects(nc, subjects('termshare'), audit, bucket.store, pino({ level: 'silent' }));
  const shares = new Shares({
    config: { defaultTtlMs: 60_000, graceMs: 5_000, maxSharesPerTerminal: 2, linkTimeoutMs: 1_000 },
    terminals,
    backends: { upterm: new MemoryBackend('upterm') },
    gate,
    effects,
    log: pino({ level: 'silent' }),
    control: terminals,
  });
  const records = () => shares.records.values();
  return { shares, effects, bucket: bucket.b, records };
}

describe('badge writes', () => {
  it('a badge is written once per change, however often it is refreshed', async () => {
    const w = world();
    const r = await w.shares.start({ terminal: 'tmux:work', backend: 'upterm', requester: { kind: 'human', id: 'alice' } });
    expect(r.ok).toBe(true);
    await waitFor('the badge of the live share', () => w.bucket.puts.some((p) => p.shares[0]?.state === 'active'));
    const writes = w.bucket.puts.length;
    await Promise.all(Array.from({ length: 20 }, () => w.effects.refreshBadge('tmux:work', w.records)));
    expect(w.bucket.puts.length).toBe(writes);
    await w.shares.shutdown();
    await w.effects.settleBadges();
    expect(w.bucket.clears).toEqual(['tmux:work']);
  });

  it('a badge write that fails is retried until it lands, with what is true by then', async () => {
    const w = world();
    w.bucket.failures = 3;
    const r = await w.shares.start({ terminal: 'tmux:work', backend: 'upterm', requester: { kind: 'human', id: 'alice' } });
    expect(r.ok).toBe(true);
    await waitFor('the badge to land after three refused writes', () => w.bucket.puts.some((p) => p.shares[0]?.state === 'active'), 10_000);
    expect(w.bucket.failures).toBe(0);
    // Ended while a write was failing: the retry writes the truth (cleared), not the stale badge.
    w.bucket.failures = 2;
    await w.shares.shutdown();
    await waitFor('the cleared badge to land', () => w.bucket.clears.includes('tmux:work'), 10_000);
    await w.effects.settleBadges();
  });
});
