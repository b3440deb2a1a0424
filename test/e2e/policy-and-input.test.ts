import { existsSync } from 'node:fs';
import { rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { startHarness, OPERATOR, TEST_POLICY, type Harness } from '../support/harness.ts';
import { collectEvents, uptermProcesses } from '../support/observe.ts';
import { serviceConnection } from '../support/auth.ts';
import { missingTools } from '../support/tools.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

describe.skipIf(missing.length > 0)('the policy gate and bad input, over real NATS', () => {
  let h: Harness;
  let terminal: string;
  let policyVersion = 0;
  /** The service's own view of the bus: under the policies tried here, alice may not read events. */
  let svc: NatsConnection;
  beforeAll(async () => {
    h = await startHarness({ policy: null });
    terminal = await h.terminal('gate');
    svc = await serviceConnection(h.config.stateDir, h.nats.url);
  });
  afterAll(async () => {
    await svc?.close();
    await h?.stop();
  });

  const setPolicy = async (text: string | null) => {
    const file = join(h.dir, 'policy.cedar');
    if (text === null) return rm(file, { force: true });
    await writeFile(file, text);
    const t = new Date(Date.now() + ++policyVersion * 1000); // a distinct mtime, so the gate sees the change
    await utimes(file, t, t);
  };
  const start = (extra: Record<string, unknown> = {}, client = h.client) =>
    client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR, ...extra });

  /** Denied: the reply says why, and no worker (not even its directory) ever existed for that share. */
  async function expectDenied(reason: RegExp, extra: Record<string, unknown> = {}, client = h.client) {
    const events = collectEvents(svc);
    // The service's own registry: under a policy that permits nothing, share.list shows nothing either.
    const before = h.svc.shares.list();
    const r = await start(extra, client);
    expect(r).toMatchObject({ ok: false, code: 'policy_denied' });
    if (r.ok) return;
    expect(r.message).toMatch(reason);
    const known = new Set(before.map((s) => s.id));
    const denied = h.svc.shares.list().filter((s) => !known.has(s.id));
    expect(denied.map((s) => s.state)).toEqual(['denied']);
    const id = denied[0]!.id;
    expect(existsSync(join(h.config.stateDir, 'workers', id))).toBe(false);
    expect(uptermProcesses(h.config.stateDir, id)).toEqual([]);
    await svc.flush();
    expect(events.of(id).map((e) => e.type)).toEqual(['requested', 'denied']);
    events.stop();
  }

  it('with no policy file every request is denied and no worker starts', async () => {
    await setPolicy(null);
    await expectDenied(/no policy file .* denies every request/);
  });

  it('an empty policy file denies everything', async () => {
    await setPolicy('');
    await expectDenied(/no policy permits Human::"alice" to share\.start tmux:gate/);
  });

  it('a policy file that only forbids denies everything, naming the policy', async () => {
    await setPolicy('@id("nobody")\n@reason("sharing is off today")\nforbid (principal, action, resource);');
    await expectDenied(/forbidden by policy nobody \(sharing is off today\)/);
  });

  it('a forbid overrides a permit: an AI agent never gets a read-write share', async () => {
    await setPolicy(TEST_POLICY);
    await expectDenied(/no-rw-for-agents/, { requester: { kind: 'ai', id: 'alice' }, access: 'read-write' }, await h.as('ai:alice'));
  });

  it('a policy that needs approvals holds the share in awaiting-approval, with no worker', async () => {
    await setPolicy('@id("needs-lead")\n@approvals("1")\n@approvers("leads")\npermit (principal in Group::"operators", action == Action::"share.start", resource);');
    const r = await start();
    expect(r.ok && r.value.share).toMatchObject({ state: 'awaiting-approval', approvalId: expect.stringMatching(/^ap_/) });
    if (!r.ok) return;
    expect(existsSync(join(h.config.stateDir, 'workers', r.value.share.id))).toBe(false);
    await h.client.request('share.stop', { shareId: r.value.share.id, requester: OPERATOR });
  });

  describe('bad input gets invalid_request (or its own code), says what to do, and changes nothing', () => {
    const cases: [string, string | Record<string, unknown>, string, RegExp][] = [
      ['malformed JSON', '{"terminal": ', 'invalid_request', /not valid JSON/],
      ['an unknown field', { terminal: 'tmux:gate', backend: 'upterm', requester: OPERATOR, colour: 'red' }, 'invalid_request', /unknown field\(s\) "colour"; remove them/],
      ['a wrong type', { terminal: 'tmux:gate', backend: 'upterm', requester: OPERATOR, ttlSeconds: '60' }, 'invalid_request', /ttlSeconds/],
      ['a missing backend', { terminal: 'tmux:gate', requester: OPERATOR }, 'invalid_request', /backend/],
      ['an unknown backend', { terminal: 'tmux:gate', backend: 'vnc', requester: OPERATOR }, 'invalid_request', /backend/],
      ['a malformed terminal', { terminal: 'gate', backend: 'upterm', requester: OPERATOR }, 'invalid_request', /tmux:<session>/],
      ['a negative TTL', { terminal: 'tmux:gate', backend: 'upterm', requester: OPERATOR, ttlSeconds: -5 }, 'invalid_request', /at least 1/],
      ['an absurd TTL', { terminal: 'tmux:gate', backend: 'upterm', requester: OPERATOR, ttlSeconds: 10 ** 9 }, 'invalid_request', /at most 604800/],
      ['an unknown terminal', { terminal: 'tmux:nope', backend: 'upterm', requester: OPERATOR }, 'terminal_not_found', /does not exist; create it first/],
    ];
    for (const [what, body, code, message] of cases) {
      it(`share.start with ${what}`, async () => {
        await setPolicy(TEST_POLICY);
        const events = collectEvents(svc, 'termshare.events.share.>');
        const before = await h.client.request<{ shares: Share[] }>('share.list', {});
        const r = await h.client.request('share.start', body);
        expect(r).toMatchObject({ ok: false, code });
        if (!r.ok) expect(r.message).toMatch(message);
        const after = await h.client.request<{ shares: Share[] }>('share.list', {});
        expect(after).toEqual(before);
        await svc.flush();
        expect(events.events).toEqual([]);
        events.stop();
      });
    }

    it('stop, revoke, extend and get of an unknown share id get not_found', async () => {
      const shareId = 'sh_doesnotexist1';
      for (const [verb, body] of [
        ['share.stop', { shareId, requester: OPERATOR }],
        ['share.revoke', { shareId, requester: OPERATOR }],
        ['share.extend', { shareId, requester: OPERATOR, ttlSeconds: 60 }],
        ['share.get', { shareId }],
      ] as const) {
        const r = await h.client.request(verb, body);
        expect(r, verb).toMatchObject({ ok: false, code: 'not_found' });
      }
    });

    it('an extension goes back through the gate: without a permit for share.extend it is denied and the expiry stays', async () => {
      await setPolicy('@id("start-only")\npermit (principal in Group::"operators", action == Action::"share.start", resource);');
      const s = await start({ ttlSeconds: 600 });
      if (!s.ok) throw new Error(s.message);
      const r = await h.client.request('share.extend', { shareId: s.value.share.id, requester: OPERATOR, ttlSeconds: 3600 });
      expect(r).toMatchObject({ ok: false, code: 'policy_denied' });
      if (!r.ok) expect(r.message).toMatch(/no policy permits Human::"alice" to share\.extend/);
      await setPolicy(TEST_POLICY);
      const now = await h.client.request<{ share: Share }>('share.get', { shareId: s.value.share.id });
      expect(now.ok && now.value.share.expiresAt).toBe(s.value.share.expiresAt);
      await h.client.request('share.stop', { shareId: s.value.share.id, requester: OPERATOR });
    });

    it('extend with a negative TTL is refused and the expiry stays', async () => {
      await setPolicy(TEST_POLICY);
      const s = await start({ ttlSeconds: 600 });
      if (!s.ok) throw new Error(s.message);
      const r = await h.client.request('share.extend', { shareId: s.value.share.id, requester: OPERATOR, ttlSeconds: -1 });
      expect(r).toMatchObject({ ok: false, code: 'invalid_request' });
      const now = await h.client.request<{ share: Share }>('share.get', { shareId: s.value.share.id });
      expect(now.ok && now.value.share.expiresAt).toBe(s.value.share.expiresAt);
      await h.client.request('share.stop', { shareId: s.value.share.id, requester: OPERATOR });
      const again = await h.client.request('share.stop', { shareId: s.value.share.id, requester: OPERATOR });
      expect(again).toMatchObject({ ok: false, code: 'conflict' });
    });
  });
});
