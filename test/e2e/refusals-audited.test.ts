import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord, Share } from '../../src/api/schemas.ts';
import type { Verb } from '../../src/api/subjects.ts';
import { serviceConnection } from '../support/auth.ts';
import { OPERATOR, startHarness, type Harness } from '../support/harness.ts';
import { auditRecords } from '../support/observe.ts';
import { rawRequest } from '../support/rawRequest.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

type Row = { kind: string; verb: Verb; body: (ctx: { terminal: string; shareId: string }) => unknown; code: string };

/** One request of each kind of refusal; the terminal has one live share, the most allowed. */
const ROWS: Row[] = [
  { kind: 'a terminal that does not exist', verb: 'share.start', body: () => ({ terminal: 'tmux:nowhere', backend: 'upterm' }), code: 'terminal_not_found' },
  { kind: 'a terminal already at its limit', verb: 'share.start', body: ({ terminal }) => ({ terminal, backend: 'upterm' }), code: 'limit_exceeded' },
  { kind: 'an unknown field', verb: 'share.start', body: ({ terminal }) => ({ terminal, backend: 'upterm', colour: 'red' }), code: 'invalid_request' },
  { kind: 'a body that is not JSON', verb: 'share.stop', body: () => '{"shareId": ', code: 'invalid_request' },
  { kind: 'an alias of a session', verb: 'share.start', body: () => ({ terminal: 'tmux:refuse.0', backend: 'upterm' }), code: 'invalid_request' },
  { kind: 'someone else named as requester', verb: 'share.start', body: ({ terminal }) => ({ terminal, backend: 'upterm', requester: { kind: 'human', id: 'lee' } }), code: 'unauthorized' },
  { kind: 'a share that does not exist (read)', verb: 'share.get', body: () => ({ shareId: 'sh_nosuchshare' }), code: 'not_found' },
  { kind: 'an alias as a list filter (read)', verb: 'share.list', body: () => ({ terminal: 'tmux:=refuse' }), code: 'invalid_request' },
  { kind: 'an extension of a share that does not exist', verb: 'share.extend', body: () => ({ shareId: 'sh_nosuchshare', ttlSeconds: 60 }), code: 'not_found' },
  { kind: 'a handoff to oneself', verb: 'handoff.request', body: ({ terminal }) => ({ terminal, to: OPERATOR }), code: 'invalid_request' },
  { kind: 'a handoff that does not exist (read)', verb: 'handoff.get', body: () => ({ handoffId: 'ho_nosuchhandoff' }), code: 'not_found' },
  { kind: 'a screen without a lease (read)', verb: 'terminal.screen', body: ({ terminal }) => ({ terminal, handoffId: 'ho_nosuchhandoff' }), code: 'not_found' },
  { kind: 'an approval that does not exist', verb: 'approval.decide', body: () => ({ approvalId: 'ap_nosuchapproval', decision: 'approve' }), code: 'not_found' },
  { kind: 'a stop of a share that has ended', verb: 'share.stop', body: ({ shareId }) => ({ shareId }), code: 'conflict' },
];

describe.skipIf(missing.length > 0)('every refused request leaves exactly one audit record', () => {
  let h: Harness;
  let svc: NatsConnection;
  let terminal: string;
  let share: Share;
  beforeAll(async () => {
    h = await startHarness({ env: { TERMSHARE_MAX_SHARES_PER_TERMINAL: '1' } });
    svc = await serviceConnection(h.config.stateDir, h.nats.url);
    terminal = await h.terminal('refuse');
    const started = await h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', ttlSeconds: 600 });
    if (!started.ok) throw new Error(started.message);
    share = started.value.share;
  });
  afterAll(async () => {
    await svc?.close();
    await h?.stop();
  });

  const refusals = async (verb: string, code: string) =>
    (await auditRecords(svc)).filter((r: AuditRecord) => r.action === 'request.refused' && r.outcome === code && (r.data as { verb?: string }).verb === verb);

  for (const row of ROWS) {
    it(`${row.verb} refused for ${row.kind}: ${row.code}, recorded once with the caller as actor`, async () => {
      // The last row needs an ended share.
      if (row.code === 'conflict') expect((await h.client.request('share.stop', { shareId: share.id })).ok).toBe(true);
      const before = (await refusals(row.verb, row.code)).length;
      const body = row.body({ terminal, shareId: share.id });
      const reply = await rawRequest(h.client, row.verb, typeof body === 'string' ? body : JSON.stringify(body));
      expect(reply.body).toMatchObject({ error: { code: row.code } });
      const after = await waitFor(`the ${row.verb} refusal record`, async () => {
        const r = await refusals(row.verb, row.code);
        return r.length > before ? r : undefined;
      });
      // Given time for a second record to land, there is still exactly one.
      await h.client.request('share.list', {});
      expect((await refusals(row.verb, row.code)).length - before).toBe(1);
      expect(after.at(-1)).toMatchObject({ actor: 'human:alice', outcome: row.code, data: { verb: row.verb, message: expect.any(String) } });
      // A refusal about a share that exists carries that share's correlation id (outside its causation chain).
      if (row.code === 'conflict') expect(after.at(-1)).toMatchObject({ shareId: share.id, correlationId: share.correlationId });
    });
  }

  it('a start the policy denies is recorded in its share\'s own chain (request, deny), not again at the door', async () => {
    const terminal2 = await h.terminal('refuse2');
    // Agents have no permit here (and may never hold read-write): a `deny` step of that share's chain.
    const agent = await h.as('ai:bot');
    const rw = await agent.request<{ share: Share }>('share.start', { terminal: terminal2, backend: 'upterm', access: 'read-write', correlationId: 'corr-denied-rw' });
    expect(rw).toMatchObject({ ok: false, code: 'policy_denied' });
    const recs = await waitFor('the deny record', async () => {
      const r = (await auditRecords(svc)).filter((x) => x.correlationId === 'corr-denied-rw');
      return r.some((x) => x.action === 'deny') ? r : undefined;
    });
    await h.client.request('share.list', {});
    expect((await auditRecords(svc)).filter((x) => x.correlationId === 'corr-denied-rw').map((r) => r.action)).toEqual(['request', 'deny']);
    expect(recs[0]).toMatchObject({ actor: 'ai:bot' });
  });
});
