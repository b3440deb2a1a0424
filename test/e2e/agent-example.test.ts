import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Handoff } from '../../src/api/schemas.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'setpriv', 'uptermd');
const agentScript = join(import.meta.dirname, '../../examples/agent.ts');

/** A handoff to an AI agent needs a lead's approval; the lease holder alone uses the terminal (the README's example, trimmed). */
const POLICY = `
@id("handoff-needs-a-lead")
@approvals("1")
@approvers("leads")
permit (principal in Group::"operators", action == Action::"handoff.request", resource) when { context.targetKind == "ai" };

@id("leads-approve")
permit (principal in Group::"leads", action == Action::"approval.decide", resource);

@id("giver-takes-back")
permit (principal, action in [Action::"handoff.get", Action::"handoff.release"], resource) when { context.isOwner || context.isTarget };

@id("lease-holder-uses-terminal")
permit (principal, action in [Action::"terminal.context", Action::"terminal.input", Action::"terminal.screen"], resource) when { context.isTarget };
`;
const person = (id: string, ...groups: string[]) => ({ uid: { type: 'Human', id }, attrs: {}, parents: groups.map((g) => ({ type: 'Group', id: g })) });
const ENTITIES = [person('alice', 'operators'), person('bob', 'leads'), ...['operators', 'leads'].map((g) => ({ uid: { type: 'Group', id: g }, attrs: {}, parents: [] }))];

describe.skipIf(missing.length > 0)('examples/agent.ts, run as a process against a real service and tmux terminal', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ policy: POLICY, entities: ENTITIES });
    // Credentials for the agent and the lead (the server reloads its accounts for each): on a loaded
    // machine a first connection can miss the client's 3 s connect bound, so it is asked again.
    for (const p of ['ai:claude', 'human:bob']) await waitFor(`a connection as ${p}`, () => h.as(p).catch(() => undefined), 60_000, 200);
  }, 120_000);
  afterAll(async () => h?.stop());

  it('waits for the grant, reads the context packet, runs a command, reads its output off the screen and hands the terminal back', async () => {
    const terminal = await h.terminal('agentwork');
    await h.typeInto('agentwork', 'echo ready-$((1+1))');
    await waitFor('the shell to be ready', async () => (await h.pane('agentwork')).includes('ready-2'));
    // The agent's own identity: the credentials made for ai:claude (beforeAll), as `termshare principal add ai:claude` does.
    const asked = await h.client.request<{ handoff: Handoff }>('handoff.request', { terminal, to: { kind: 'ai', id: 'claude' }, reason: 'run a command' });
    if (!asked.ok) throw new Error(asked.message);
    expect(asked.value.handoff.state).toBe('awaiting-approval');

    const agent = execa('node', ['--import', 'tsx', agentScript, '--handoff', asked.value.handoff.id, '--run', 'echo agent-result-$((6*7)); ls /nonexistent-dir-for-agent', '--wait', '60'], {
      env: { TERMSHARE_NATS_URL: h.nats.url, TERMSHARE_CREDS: h.principals.paths.of('ai:claude') },
      reject: false,
    });
    // The grant comes after the agent started: it has to wait for it.
    const bob = await h.as('human:bob');
    const approved = await bob.request('approval.decide', { approvalId: asked.value.handoff.approvalId, decision: 'approve' });
    expect(approved.ok).toBe(true);

    const r = await agent;
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { principal: string; terminal: string; context: { cwd: string; command: string; scrollbackLines: number }; exitStatus: number; output: string[]; released: string };
    expect(out).toMatchObject({ principal: 'ai:claude', terminal, released: 'released' });
    expect(out.context).toMatchObject({ cwd: h.dir, command: 'bash', scrollbackLines: expect.any(Number) });
    expect(out.context.scrollbackLines).toBeGreaterThan(0);
    expect(out.output).toContain('agent-result-42');
    expect(out.output.some((l) => l.includes('nonexistent-dir-for-agent'))).toBe(true);
    expect(out.exitStatus).not.toBe(0);

    const after = await h.client.request<{ handoff: Handoff }>('handoff.get', { handoffId: asked.value.handoff.id });
    expect(after.ok && after.value.handoff.state).toBe('released');
    expect(await h.pane('agentwork')).toContain('agent-result-42');
  }, 180_000);
});
