import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../src/adapters/backends/memory/memoryBackend.ts';
import type { PolicyGate } from '../../src/adapters/policy/types.ts';
import { MemoryTerminals } from '../../src/adapters/terminals/memory/memoryTerminals.ts';
import { createLogger } from '../../src/log.ts';
import type { ShareEffects } from '../../src/service/effects.ts';
import { Shares } from '../../src/service/shares.ts';
import { waitFor } from '../support/waitFor.ts';

const log = createLogger('silent');
const gate: PolicyGate = { decide: async () => ({ decision: 'allow', policies: ['p'], message: 'permitted' }), groupsOf: async () => [] };
const alice = { kind: 'human', id: 'alice' } as const;
const T = 'tmux:w';

describe('a switch aborted by the share\'s end', () => {
  let shares: Shares;
  afterEach(async () => shares?.shutdown());

  it('is answered conflict, audited once as a `switch` step (aborted) after the revoke, and never again at the door', async () => {
    const steps: { audit?: string; outcome: string; data?: Record<string, unknown> }[] = [];
    const effects = { record: async (_r: unknown, s: (typeof steps)[number]) => void steps.push(s), refreshBadge: async () => undefined, refused: async () => undefined } as unknown as ShareEffects;
    const terminals = new MemoryTerminals();
    terminals.terminals.add(T);
    const tmate = new MemoryBackend('tmate');
    tmate.mode = 'silent'; // the new backend never gives its link: the switch is in flight until the share ends
    const config = { defaultTtlMs: 600_000, graceMs: 5_000, maxSharesPerTerminal: 2, linkTimeoutMs: 30_000 };
    shares = new Shares({ config, terminals, backends: { upterm: new MemoryBackend(), tmate }, gate, effects, log, control: terminals });
    const started = await shares.start({ terminal: T, backend: 'upterm', requester: alice });
    if (!started.ok) throw started.error;
    const switching = shares.switch(started.value.id, 'tmate', alice);
    await waitFor('the switch in flight', () => shares.records.get(started.value.id)!.snapshot!.context.switchingTo === 'tmate');
    const revoked = await shares.end('REVOKE', started.value.id, alice, 'done');
    expect(revoked.ok).toBe(true);
    const r = await switching;
    expect(r).toMatchObject({ ok: false, error: { code: 'conflict', audited: true, message: expect.stringMatching(/ended during the switch \(revoked\)/) } });
    const audited = steps.filter((s) => s.audit).map((s) => `${s.audit}:${s.outcome}`);
    expect(audited.slice(-2)).toEqual(['revoke:revoked', 'switch:aborted']);
    expect(steps.at(-1)!.data).toMatchObject({ from: 'upterm', to: 'tmate', endedAs: 'revoked' });
  });
});
