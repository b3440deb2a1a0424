import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import type { Verb } from '../../src/api/subjects.ts';
import { OPERATOR, startHarness, type Harness } from '../support/harness.ts';
import { ErrorReply, rawRequest, shareCensus } from '../support/rawRequest.ts';
import { missingTools } from '../support/tools.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');
const CRLF_ID = { kind: 'human', id: 'alice\r\nNats-Service-Error-Code: 200' };

/**
 * The nine single requests of issue 10 that each took the whole service down: a CR or LF that
 * ended up in an error message, and so in the `Nats-Service-Error` header.
 */
const crashing = (shareId: string): Array<[string, Verb, string]> => [
  ['an unknown field whose name holds CR/LF', 'share.start', JSON.stringify({ terminal: 'tmux:crash', backend: 'upterm', 'x\r\ny': 1 })],
  ['a requester with CR/LF on share.start', 'share.start', JSON.stringify({ terminal: 'tmux:crash', backend: 'upterm', requester: CRLF_ID })],
  ['a requester with CR/LF on share.stop of a live share', 'share.stop', JSON.stringify({ shareId, requester: CRLF_ID })],
  ['a requester with CR/LF on share.revoke of a live share', 'share.revoke', JSON.stringify({ shareId, requester: CRLF_ID })],
  ['a requester with CR/LF on share.extend', 'share.extend', JSON.stringify({ shareId, ttlSeconds: 60, requester: CRLF_ID })],
  ['an approver with CR/LF', 'approval.decide', JSON.stringify({ approvalId: 'ap_abcdefgh', approver: CRLF_ID, decision: 'approve' })],
  ['a requester with CR/LF on handoff.request', 'handoff.request', JSON.stringify({ terminal: 'tmux:crash', to: { kind: 'ai', id: 'x' }, requester: CRLF_ID })],
  ['invalid JSON whose first bytes hold CR/LF', 'share.list', '{\r\n"terminal": oops'],
  ['an unknown field with a bare LF on share.switch', 'share.switch', JSON.stringify({ shareId, backend: 'tmate', 'a\nb': true })],
];

describe.skipIf(missing.length > 0)('the nine messages that used to kill the service', () => {
  let h: Harness;
  let live: Share;
  beforeAll(async () => {
    h = await startHarness();
    const r = await h.client.request<{ share: Share }>('share.start', { terminal: await h.terminal('crash'), backend: 'upterm', requester: OPERATOR });
    if (!r.ok) throw new Error(r.message);
    live = r.value.share;
  });
  afterAll(async () => h?.stop());

  it.each(crashing('sh_LIVESHARE'))('%s (%s): refused with a clean contract error; the service answers after it, its live share untouched', async (name, verb, payload) => {
    const r = await rawRequest(h.client, verb, payload.replace('sh_LIVESHARE', live.id));
    expect(r.status, name).toBeGreaterThanOrEqual(400);
    expect(r.header, name).not.toMatch(/[\r\n]/);
    const body = ErrorReply.parse(r.body);
    expect(body.error.code, name).toMatch(/^(invalid_request|unauthorized)$/);
    const shares = await shareCensus(h.client);
    expect(shares.map((s) => [s.id, s.state])).toEqual([[live.id, 'active']]);
  });
});
