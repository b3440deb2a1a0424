import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { startHarness, OPERATOR, TEST_POLICY, type Harness } from '../support/harness.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import { serviceConnection } from '../support/auth.ts';
import { auditRecords, uptermProcesses } from '../support/observe.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

const POLICY = `${TEST_POLICY}
@id("never-secret")
@reason("tmux:secret is never shared")
forbid (principal, action == Action::"share.start", resource == Terminal::"tmux:secret");
`;

/** Every other way tmux would reach session `name`: target syntax, its id, a prefix, whitespace. */
const aliasesOf = (name: string, id: string) => [
  `tmux:${name}.0`, `tmux:${name}:`, `tmux:${name}.0.`, `tmux:${name}:0`, `tmux:=${name}`, `tmux:${id}`, `tmux:${name.slice(0, 3)}`, `tmux:${name} `, `tmux:${name}\t`,
];

describe.skipIf(missing.length > 0)('canonical terminals over real NATS, tmux and upterm', () => {
  let h: Harness;
  /** The service's own view of the bus, to read the audit stream. */
  let svc: NatsConnection;
  beforeAll(async () => {
    h = await startHarness({ policy: POLICY, env: { TERMSHARE_MAX_SHARES_PER_TERMINAL: '2' } });
    await h.terminal('secret');
    await h.terminal('full');
    svc = await serviceConnection(h.config.stateDir, h.nats.url);
  });
  afterAll(async () => {
    await svc?.close();
    await h?.stop();
  });

  const start = (terminal: string) => h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR });
  const sessionId = async (name: string) => {
    const r = await h.tmux.run(['list-sessions', '-F', '#{session_id} #{session_name}']);
    const id = r.stdout.split('\n').find((l) => l.endsWith(` ${name}`))?.split(' ')[0];
    if (!id) throw new Error(`no tmux session ${name}: ${r.stdout}`);
    return id;
  };

  it('aliases of a session the policy forbids are refused naming tmux:secret, and nothing starts', async () => {
    const before = h.svc.shares.list().length;
    for (const alias of aliasesOf('secret', await sessionId('secret'))) {
      const r = await start(alias);
      expect(r.ok ? `started ${r.value.share.terminal}` : r.code, JSON.stringify(alias)).toBe('invalid_request');
      expect(r.ok || r.message, JSON.stringify(alias)).toMatch(/use tmux:secret\b/);
    }
    expect(h.svc.shares.list()).toHaveLength(before);
    expect(uptermProcesses(h.config.stateDir)).toEqual([]);
    // The tries are on the record, against the session they reached (whitespace is refused before any session is looked up).
    const refused = await waitFor('the alias refusals in the audit trail', async () => {
      const found = (await auditRecords(svc)).filter((a) => a.action === 'request.refused' && a.terminal === 'tmux:secret');
      return found.length >= 7 && found;
    });
    expect(refused.map((a) => [a.actor, a.outcome])).toEqual(Array(7).fill(['human:alice', 'invalid_request']));
    const canonical = await start('tmux:secret');
    expect(canonical.ok || canonical.code).toBe('policy_denied');
  });

  it('aliases of a session at its limit are refused naming tmux:full; the limit of 2 holds', async () => {
    for (let n = 0; n < 2; n++) {
      const r = await start('tmux:full');
      expect(r.ok ? r.value.share.state : r.message).toBe('active');
    }
    for (const alias of aliasesOf('full', await sessionId('full'))) {
      const r = await start(alias);
      expect(r.ok ? `started ${r.value.share.terminal}` : r.code, JSON.stringify(alias)).toBe('invalid_request');
      expect(r.ok || r.message, JSON.stringify(alias)).toMatch(/use tmux:full\b/);
    }
    const third = await start('tmux:full');
    expect(third.ok || third.code).toBe('limit_exceeded');
    const live = h.svc.shares.list().filter((s) => s.state === 'active');
    expect(live.map((s) => s.terminal)).toEqual(['tmux:full', 'tmux:full']);
    expect(uptermProcesses(h.config.stateDir)).toHaveLength(2);
  });

  it('share.list refuses an alias as its filter, naming the terminal to list', async () => {
    const r = await h.client.request<{ shares: Share[] }>('share.list', { terminal: 'tmux:full.0' });
    expect(r.ok || r.code).toBe('invalid_request');
    expect(r.ok || r.message).toMatch(/use tmux:full\b/);
  });
});
