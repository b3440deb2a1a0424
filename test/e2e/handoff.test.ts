import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Handoff } from '../../src/api/schemas.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { HumanClient } from '../support/humanClient.ts';
import { auditRecords, collectEvents } from '../support/observe.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

const POLICY = `
@id("operators-watch")
permit (principal in Group::"operators", action == Action::"events.read", resource);

@id("handoff-needs-a-lead")
@approvals("1")
@approvers("leads")
permit (principal in Group::"operators", action == Action::"handoff.request", resource);

@id("leads-decide")
permit (principal in Group::"leads", action == Action::"approval.decide", resource);

// Seeing and ending handoffs, and the lease verbs: the code still lets only the holder use them.
@id("handoff-parties")
permit (
  principal,
  action in [Action::"handoff.get", Action::"handoff.release", Action::"terminal.context", Action::"terminal.input", Action::"terminal.screen"],
  resource
);
`;
const person = (id: string, ...groups: string[]) => ({ uid: { type: 'Human', id }, attrs: {}, parents: groups.map((g) => ({ type: 'Group', id: g })) });
const ENTITIES = [
  person('alice', 'operators'),
  person('bob', 'leads'),
  { uid: { type: 'Agent', id: 'lead-bot' }, attrs: {}, parents: [{ type: 'Group', id: 'leads' }] },
  ...['operators', 'leads'].map((g) => ({ uid: { type: 'Group', id: g }, attrs: {}, parents: [] })),
];
const ALICE = { kind: 'human' as const, id: 'alice' };
const BOB = { kind: 'human' as const, id: 'bob' };
const AGENT = { kind: 'ai' as const, id: 'claude' };
const SECRET = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

describe.skipIf(missing.length > 0)('handoff between a human and an AI agent, over real NATS and tmux', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ policy: POLICY, entities: ENTITIES });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** A terminal whose shell has a token in its environment and some history. */
  async function workTerminal(name: string) {
    await mkdir(join(h.dir, name, 'src'), { recursive: true });
    const r = await h.tmux.run(['new-session', '-d', '-s', name, '-x', '100', '-y', '30', '-c', join(h.dir, name), '-e', `GITHUB_TOKEN=${SECRET}`, '-e', 'PROJECT=demo', 'env PS1="$ " bash --norc --noprofile']);
    if (r.exitCode !== 0) throw new Error(r.stderr);
    await h.typeInto(name, 'cd src && echo before-$((40+2))');
    await waitFor('the history line', async () => (await h.pane(name)).includes('before-42'));
    return `tmux:${name}`;
  }
  const request = (terminal: string) => h.client.request<{ handoff: Handoff }>('handoff.request', { terminal, to: AGENT, requester: ALICE, reason: 'run the tests' });
  const agent = () => h.as('ai:claude');
  const bob = () => h.as('human:bob');
  const get = async (id: string, client = h.client) => {
    const r = await client.request<{ handoff: Handoff }>('handoff.get', { handoffId: id });
    if (!r.ok) throw new Error(r.message);
    return r.value.handoff;
  };

  it('after approval the agent gets the context packet and the input; the human is read-only until it is handed back', async () => {
    const terminal = await workTerminal('ho');
    const human = await HumanClient.attach(h.socket, 'ho');
    await human.waitForText('before-42');
    const events = collectEvents(h.client.nc, 'termshare.events.handoff.>');

    const req = await request(terminal);
    if (!req.ok) throw new Error(req.message);
    expect(req.value.handoff).toMatchObject({ state: 'awaiting-approval', from: ALICE, to: AGENT, approvalId: expect.stringMatching(/^ap_/) });
    const early = await (await agent()).request('terminal.input', { terminal, handoffId: req.value.handoff.id, requester: AGENT, text: 'echo too-early' });
    expect(early).toMatchObject({ ok: false, code: 'unauthorized' });

    const ok = await (await bob()).request('approval.decide', { approvalId: req.value.handoff.approvalId, approver: BOB, decision: 'approve' });
    expect(ok.ok).toBe(true);
    await waitFor('the lease to be held', async () => (await get(req.value.handoff.id)).state === 'held');

    // The packet goes to the lease holder alone: not on the broadcast event, not to the giver.
    const transferred = await waitFor('the transferred event', () => events.events.find((e) => e.type === 'transferred'));
    expect(transferred.data.context).toBeUndefined();
    expect((await get(req.value.handoff.id)).context).toBeUndefined();
    // The packet: cwd followed the `cd`, the token redacted by rule, other variables kept, scrollback intact.
    const packet = (await get(req.value.handoff.id, await agent())).context as { cwd: string; env: Record<string, string>; command: string; scrollback: string[] };
    expect(packet.cwd).toBe(join(h.dir, 'ho', 'src'));
    expect(packet.env).toMatchObject({ GITHUB_TOKEN: '[redacted]', PROJECT: 'demo' });
    expect(packet.command).toBe('bash');
    expect(packet.scrollback.join('\n')).toContain('before-42');
    const ctx = await (await agent()).request<{ context: typeof packet }>('terminal.context', { terminal, handoffId: req.value.handoff.id, requester: AGENT });
    expect(ctx.ok && ctx.value.context.cwd).toBe(packet.cwd);
    expect(await h.client.request('terminal.context', { terminal, handoffId: req.value.handoff.id, requester: ALICE })).toMatchObject({ ok: false, code: 'unauthorized' });

    // The agent types; the human's keys do not reach the terminal while the agent holds the lease.
    await human.type('echo human-typed');
    const sent = await (await agent()).request('terminal.input', { terminal, handoffId: req.value.handoff.id, requester: AGENT, text: 'echo from-agent-$((2*21))', keys: ['Enter'] });
    expect(sent).toMatchObject({ ok: true });
    await waitFor('the agent output', async () => (await h.pane('ho')).includes('from-agent-42'));
    const screen = await (await agent()).request<{ lines: string[]; cursor: { x: number; y: number } }>('terminal.screen', { terminal, handoffId: req.value.handoff.id, requester: AGENT });
    expect(screen.ok && screen.value.lines.join('\n')).toContain('from-agent-42');
    expect(await h.pane('ho')).not.toContain('human-typed');

    // Someone attaching while the agent holds the lease is locked as well.
    const late = await HumanClient.attach(h.socket, 'ho');
    await waitFor('the late client to be made read-only', async () => {
      const r = await h.tmux.run(['list-clients', '-t', '=ho', '-F', '#{client_readonly}']);
      return r.stdout.trim().split('\n').every((f) => f === '1');
    });

    // Handing back: input returns to the human, who is told, with the scrollback intact.
    const back = await (await agent()).request<{ handoff: Handoff }>('handoff.release', { handoffId: req.value.handoff.id, requester: AGENT });
    expect(back.ok && back.value.handoff.state).toBe('released');
    await human.waitForText('input is back with you');
    await human.type('echo human-again-$((3*3))');
    await waitFor('the human input to reach the terminal', async () => (await h.pane('ho')).includes('human-again-9'));
    await late.type('echo late-$((4*4))');
    await waitFor('the late client input to reach the terminal', async () => (await h.pane('ho')).includes('late-16'));
    await late.close();
    expect(await (await agent()).request('terminal.input', { terminal, handoffId: req.value.handoff.id, requester: AGENT, text: 'x' })).toMatchObject({ ok: false, code: 'unauthorized' });
    const history = (await h.tmux.run(['capture-pane', '-p', '-J', '-S', '-', '-t', '=ho:'])).stdout;
    expect(history).toContain('before-42');
    expect(history).toContain('from-agent-42');

    const types = events.events.filter((e) => e.handoffId === req.value.handoff.id).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['requested', 'awaiting-approval', 'approved', 'transferred', 'released']));
    const audit = await waitFor('the release audit record', async () => {
      const recs = (await auditRecords(h.svc.nc)).filter((r) => r.handoffId === req.value.handoff.id);
      return recs.some((r) => r.action === 'handoff.release') ? recs : undefined;
    });
    expect(new Set(audit.map((r) => r.correlationId))).toEqual(new Set([req.value.handoff.correlationId]));
    expect(JSON.stringify(audit)).not.toContain(SECRET);
    expect(JSON.stringify(events.events)).not.toContain(SECRET);
    events.stop();
    await human.close();
  });

  it('whoever would receive the lease cannot approve it, even as a member of the approvers', async () => {
    const terminal = await workTerminal('hoself');
    const req = await h.client.request<{ handoff: Handoff }>('handoff.request', { terminal, to: { kind: 'ai', id: 'lead-bot' }, requester: ALICE });
    if (!req.ok) throw new Error(req.message);
    const r = await (await h.as('ai:lead-bot')).request('approval.decide', { approvalId: req.value.handoff.approvalId, approver: { kind: 'ai', id: 'lead-bot' }, decision: 'approve' });
    expect(r).toMatchObject({ ok: false, code: 'unauthorized', message: expect.stringMatching(/ai:lead-bot would receive the terminal's input and cannot approve that/) });
    expect((await get(req.value.handoff.id)).state).toBe('awaiting-approval');
    const gone = await h.client.request<{ handoff: Handoff }>('handoff.release', { handoffId: req.value.handoff.id, requester: ALICE });
    expect(gone.ok && gone.value.handoff.state).toBe('withdrawn');
  });

  it('a rejected approval transfers nothing and tells both sides', async () => {
    const terminal = await workTerminal('horej');
    const human = await HumanClient.attach(h.socket, 'horej');
    await human.waitForText('before-42');
    const events = collectEvents(h.client.nc, 'termshare.events.>');
    const req = await request(terminal);
    if (!req.ok) throw new Error(req.message);
    const no = await (await bob()).request('approval.decide', { approvalId: req.value.handoff.approvalId, approver: BOB, decision: 'reject', comment: 'not now' });
    expect(no.ok).toBe(true);
    const ended = await waitFor('the handoff to be rejected', async () => ((await get(req.value.handoff.id)).state === 'rejected' ? get(req.value.handoff.id) : undefined));
    expect(ended.error?.code).toBe('approval_rejected');
    await waitFor('the rejection on the handoff and on its approval', () =>
      events.events.some((e) => e.subject.endsWith(`handoff.${req.value.handoff.id}.rejected`)) && events.events.some((e) => e.subject.endsWith(`approval.${req.value.handoff.approvalId}.rejected`)),
    );
    await human.type('echo still-mine-$((1+1))');
    await waitFor('the human input to reach the terminal', async () => (await h.pane('horej')).includes('still-mine-2'));
    events.stop();
    await human.close();
  });
});
