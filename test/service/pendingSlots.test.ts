import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../src/adapters/backends/memory/memoryBackend.ts';
import type { PolicyGate } from '../../src/adapters/policy/types.ts';
import { MemoryTerminals } from '../../src/adapters/terminals/memory/memoryTerminals.ts';
import { createLogger } from '../../src/log.ts';
import { Approvals } from '../../src/service/approvals.ts';
import type { ShareEffects } from '../../src/service/effects.ts';
import { Shares } from '../../src/service/shares.ts';

const log = createLogger('silent');
const effects = { record: async () => undefined, refreshBadge: async () => undefined, refused: async () => undefined } as unknown as ShareEffects;
/** Read-only shares start outright; read-write ones wait for one approval from `leads`; anyone may decide. */
const gate: PolicyGate = {
  decide: async (q) =>
    q.action === 'share.start' && q.access === 'read-write'
      ? { decision: 'approval', policies: ['rw'], message: 'needs a lead', approval: { policy: 'rw', approvals: 1, approvers: ['leads'], ordered: false, timeoutMs: 600_000 } }
      : { decision: 'allow', policies: ['p'], message: 'permitted' },
  groupsOf: async () => ['leads'],
};
const alice = { kind: 'human', id: 'alice' } as const;
const bob = { kind: 'human', id: 'bob' } as const;
const T = 'tmux:w';

describe('pending approvals and the per-terminal limit (2)', () => {
  let shares: Shares;
  afterEach(async () => shares?.shutdown());

  const setup = () => {
    const terminals = new MemoryTerminals();
    terminals.terminals.add(T);
    const config = { defaultTtlMs: 600_000, graceMs: 5_000, maxSharesPerTerminal: 2, linkTimeoutMs: 5_000 };
    shares = new Shares({ config, terminals, backends: { upterm: new MemoryBackend() }, gate, effects, log, control: terminals });
    const approvals = new Approvals(() => shares.approvalSources(), gate, effects);
    const start = (access: 'read-only' | 'read-write') => shares.start({ terminal: T, backend: 'upterm', access, requester: alice });
    return { approvals, start };
  };

  it('two pending approvals do not keep the operator from sharing the terminal twice', async () => {
    const { start } = setup();
    for (const r of [await start('read-write'), await start('read-write')]) expect(r.ok && r.value.state).toBe('awaiting-approval');
    const ro = [await start('read-only'), await start('read-only')];
    expect(ro.map((r) => r.ok && r.value.state)).toEqual(['active', 'active']);
    const third = await start('read-only');
    expect(third).toMatchObject({ ok: false, error: { code: 'limit_exceeded', message: expect.stringMatching(/shares waiting for approval do not count/) } });
  });

  it('a grant on a full terminal is refused saying what to do, and the request stays pending', async () => {
    const { approvals, start } = setup();
    const pending = await start('read-write');
    const approvalId = pending.ok ? pending.value.approvalId! : '';
    const ro = [await start('read-only'), await start('read-only')];
    const refused = await approvals.decide({ approvalId, approver: bob, decision: 'approve' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'limit_exceeded', message: expect.stringMatching(new RegExp(`${T} already has 2 active share\\(s\\).*stop or revoke one, then approve again; approval ${approvalId} stays pending until`)) } });
    expect(approvals.list('pending').map((a) => [a.id, a.decisions.length])).toEqual([[approvalId, 0]]);

    // A slot frees: the same approval now grants, and the share takes that slot.
    await shares.end('STOP', ro[0]!.ok ? ro[0]!.value.id : '', alice);
    const granted = await approvals.decide({ approvalId, approver: bob, decision: 'approve' });
    expect(granted).toMatchObject({ ok: true, value: { state: 'approved' } });
    const shareId = pending.ok ? pending.value.id : '';
    expect(shares.get(shareId)).toMatchObject({ ok: true, value: { state: expect.stringMatching(/^(starting|active)$/) } });
    expect(await start('read-only')).toMatchObject({ ok: false, error: { code: 'limit_exceeded' } });
  });

  it('a rejection is never blocked by a full terminal', async () => {
    const { approvals, start } = setup();
    const pending = await start('read-write');
    await start('read-only');
    await start('read-only');
    const r = await approvals.decide({ approvalId: pending.ok ? pending.value.approvalId! : '', approver: bob, decision: 'reject' });
    expect(r).toMatchObject({ ok: true, value: { state: 'rejected' } });
  });
});
