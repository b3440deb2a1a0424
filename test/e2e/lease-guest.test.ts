import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Handoff, Share } from '../../src/api/schemas.ts';
import { OPERATOR, TEST_ENTITIES, TEST_POLICY, startHarness, type Harness } from '../support/harness.ts';
import { Participant } from '../support/participant.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd', 'script');

const POLICY = `${TEST_POLICY}
@id("handoffs")
permit (principal in Group::"operators", action == Action::"handoff.request", resource);

@id("lease-verbs")
permit (principal, action in [Action::"handoff.get", Action::"handoff.release", Action::"terminal.input", Action::"terminal.screen"], resource);
`;
const AGENT = { kind: 'ai' as const, id: 'claude' };

describe.skipIf(missing.length > 0)('a guest attaching while an AI lease is held (real upterm, ssh, tmux)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ policy: POLICY, entities: TEST_ENTITIES });
  });
  afterAll(async () => {
    await h?.stop();
  });

  const guestViews = async (shareId: string) => (await h.tmux.clients('tmux:leased', shareId)).filter((c) => c.role === 'guest');

  it('types at once: nothing reaches the terminal until the lease is released; the agent keeps the input', async () => {
    const terminal = await h.terminal('leased');
    const started = await h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', access: 'read-write', ttlSeconds: 600, requester: OPERATOR });
    if (!started.ok) throw new Error(started.message);
    const share = started.value.share;
    const link = await waitFor('the share link', async () => {
      const r = await h.client.request<{ share: Share }>('share.get', { shareId: share.id });
      return r.ok && r.value.share.link?.ssh;
    }, 20_000);

    const lease = await h.client.request<{ handoff: Handoff }>('handoff.request', { terminal, to: AGENT, requester: OPERATOR, reason: 'agent works' });
    if (!lease.ok) throw new Error(lease.message);
    const handoffId = lease.value.handoff.id;
    expect(lease.value.handoff.state).toBe('held');

    // Five guests in a row, each typing the moment its ssh starts (before its view is even up),
    // then again once attached, then leaving: prefix d waits until what it typed was handed to tmux.
    for (let i = 1; i <= 5; i++) {
      const guest = await Participant.join(link, h.guestKey);
      await guest.typeBytes(Buffer.from(`echo early-${i}-$((6*7))\r`));
      await waitFor('the guest view to attach', async () => (await guestViews(share.id)).length > 0, 15_000);
      await guest.typeBytes(Buffer.from(`echo attached-${i}-$((6*7))\r`));
      await guest.typeBytes(Buffer.from('\x02d'));
      await waitFor('the guest to leave', async () => (await guestViews(share.id)).length === 0, 15_000);
      await guest.close();
    }
    expect(await h.pane('leased')).not.toMatch(/early-|attached-/);

    // The lease holder still types.
    const agent = await h.as('ai:claude');
    const sent = await agent.request('terminal.input', { terminal, handoffId, requester: AGENT, text: 'echo agent-$((2*21))', keys: ['Enter'] });
    expect(sent).toMatchObject({ ok: true });
    await waitFor('the agent output', async () => (await h.pane('leased')).includes('agent-42'));

    // Released: a guest's keys reach the pane again.
    const back = await agent.request<{ handoff: Handoff }>('handoff.release', { handoffId, requester: AGENT });
    expect(back.ok && back.value.handoff.state).toBe('released');
    const after = await Participant.join(link, h.guestKey);
    await waitFor('the guest view to attach', async () => (await guestViews(share.id)).length > 0, 15_000);
    await after.typeBytes(Buffer.from('echo after-$((5*5))\r'));
    await waitFor('the released guest input', async () => (await h.pane('leased')).includes('after-25'));
    expect(await h.pane('leased')).not.toMatch(/early-|attached-/);
    await after.close();
    await h.client.request('share.stop', { shareId: share.id, requester: OPERATOR });
  });
});
