import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { createLogger } from '../../src/log.ts';
import { OPERATOR, startHarness, type Harness } from '../support/harness.ts';
import { missingTools } from '../support/tools.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

type Line = { level: number; msg: string; verb?: string; correlationId?: string; requester?: string; terminal?: string; [k: string]: unknown };

describe.skipIf(missing.length > 0)('the service log at debug, one line per step of each request', () => {
  let h: Harness;
  const lines: Line[] = [];
  beforeAll(async () => {
    const logger = createLogger('debug', { destination: { write: (s: string) => void lines.push(JSON.parse(s) as Line) } });
    h = await startHarness({ logger });
  });
  afterAll(async () => h?.stop());

  const linesOf = (correlationId: string) => lines.filter((l) => l.correlationId === correlationId);

  it('a share.start shows received, validated, the policy decision, the backend call and the reply, each with its correlation id, requester and terminal', async () => {
    const terminal = await h.terminal('logged');
    const r = await h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR });
    if (!r.ok) throw new Error(r.message);
    const mine = linesOf(r.value.share.correlationId);
    const steps = mine.map((l) => l.msg);
    const order = ['request received', 'request validated', 'policy decision: allow', 'backend call: upterm start', 'backend answered: upterm linked', 'request handled', 'replied'];
    for (const step of order) expect(steps, step).toContain(step);
    expect(order.map((s) => steps.indexOf(s))).toEqual([...order.map((s) => steps.indexOf(s))].sort((a, b) => a - b));
    // The first line comes before the caller is known: it names the key the NATS server verified.
    expect(mine[0]).toMatchObject({ msg: 'request received', verb: 'share.start', requester: expect.stringMatching(/^nkey:U/) });
    for (const l of mine.slice(1)) expect(l, l.msg).toMatchObject({ verb: 'share.start', requester: 'human:alice', terminal });
    // A link is a secret: no line holds it.
    expect(JSON.stringify(lines)).not.toContain(r.value.share.link!.ssh);
  });

  it('a denial carries the correlation id, requester and terminal on every line, the refusal included', async () => {
    const terminal = await h.terminal('denied');
    const agent = await h.as('ai:claude');
    const r = await agent.request('share.start', { terminal, backend: 'upterm', correlationId: 'corr-denied-1' });
    expect(r).toMatchObject({ ok: false, code: 'policy_denied' });
    const mine = linesOf('corr-denied-1');
    expect(mine.map((l) => l.msg)).toEqual(expect.arrayContaining(['request validated', 'policy decision: deny', 'replied']));
    const refusal = mine.find((l) => l.level === 30 && l.code === 'policy_denied');
    expect(refusal, 'the info line of the refusal').toBeDefined();
    for (const l of mine.slice(1)) expect(l, l.msg).toMatchObject({ verb: 'share.start', requester: 'ai:claude', terminal });
  });

  it('a refusal about a share that does not exist still has a correlation id, the caller and the verb', async () => {
    const before = lines.length;
    const r = await h.client.request('share.get', { shareId: 'sh_nosuchshare' });
    expect(r).toMatchObject({ ok: false, code: 'not_found' });
    const refusal = lines.slice(before).find((l) => l.level === 30 && l.code === 'not_found')!;
    expect(refusal).toMatchObject({ verb: 'share.get', requester: 'human:alice', shareId: 'sh_nosuchshare', correlationId: expect.any(String) });
    expect(linesOf(refusal.correlationId!).map((l) => l.msg)).toEqual(expect.arrayContaining(['request received', 'request validated', 'replied']));
  });
});
