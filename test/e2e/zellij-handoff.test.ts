import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Handoff } from '../../src/api/schemas.ts';
import { shellJoin } from '../../src/adapters/process.ts';
import { startHarness, type Harness } from '../support/harness.ts';
import { HumanClient } from '../support/humanClient.ts';
import { auditRecords } from '../support/observe.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';
import { withEnv, zellijWorld, type ZellijWorld } from '../support/zellij.ts';

const missing = missingTools('nats-server', 'zellij', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

const POLICY = `
@id("handoff-to-agents")
permit (principal in Group::"operators", action == Action::"handoff.request", resource);

@id("handoff-parties")
permit (
  principal,
  action in [Action::"handoff.get", Action::"handoff.release", Action::"terminal.context", Action::"terminal.input", Action::"terminal.screen"],
  resource
);
`;
const ENTITIES = [
  { uid: { type: 'Human', id: 'alice' }, attrs: {}, parents: [{ type: 'Group', id: 'operators' }] },
  { uid: { type: 'Group', id: 'operators' }, attrs: {}, parents: [] },
];
const ALICE = { kind: 'human' as const, id: 'alice' };
const AGENT = { kind: 'ai' as const, id: 'claude' };
const SECRET = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

describe.skipIf(missing.length > 0)('handoff of a zellij terminal to an AI agent, over real NATS and zellij', () => {
  let h: Harness;
  let world: ZellijWorld;
  let restoreEnv: (() => void) | undefined;
  let human: HumanClient | undefined;
  beforeAll(async () => {
    world = await zellijWorld();
    restoreEnv = withEnv(world.env);
    h = await startHarness({ policy: POLICY, entities: ENTITIES });
  });
  afterAll(async () => {
    await human?.close();
    await h?.stop();
    await world?.cleanup();
    restoreEnv?.();
  });

  const pane = async (session: string) => (await world.terminals.run(['--session', session, 'action', 'dump-screen', '--full'])).stdout;
  const get = async (id: string, client = h.client) => {
    const r = await client.request<{ handoff: Handoff }>('handoff.get', { handoffId: id });
    if (!r.ok) throw new Error(r.message);
    return r.value.handoff;
  };

  it('the agent gets cwd, redacted environment and scrollback, and the input; the human is locked out and given it back', async () => {
    const dir = await realpath(world.root);
    await mkdir(join(dir, 'ho', 'src'), { recursive: true });
    await world.create('zho', { cwd: join(dir, 'ho'), env: { GITHUB_TOKEN: SECRET, PROJECT: 'demo' } });
    human = await HumanClient.running(shellJoin(['env', ...Object.entries(world.env).map(([k, v]) => `${k}=${v}`), world.terminals.bin, 'attach', 'zho']));
    await human.type('cd src && echo before-$((40+2))');
    await waitFor('the history line', async () => /^before-42$/m.test(await pane('zho')));
    const terminal = 'zellij:zho';
    const agent = await h.as('ai:claude');

    const req = await h.client.request<{ handoff: Handoff }>('handoff.request', { terminal, to: AGENT, requester: ALICE, reason: 'run the tests' });
    if (!req.ok) throw new Error(req.message);
    const id = req.value.handoff.id;
    await waitFor('the lease to be held', async () => (await get(id)).state === 'held');

    const packet = (await get(id, agent)).context as { cwd: string; env: Record<string, string>; command: string; scrollback: string[] };
    expect(packet.cwd).toBe(join(dir, 'ho', 'src'));
    expect(packet.env).toMatchObject({ GITHUB_TOKEN: '[redacted]', PROJECT: 'demo' });
    expect(packet.command).toBe('bash');
    expect(packet.scrollback.join('\n')).toContain('before-42');

    // The human's keys go nowhere while the agent holds the lease; the agent's reach the shell.
    await human.waitForText('an agent holds this terminal');
    await human.type('echo human-typed');
    const sent = await agent.request('terminal.input', { terminal, handoffId: id, requester: AGENT, text: 'echo from-agent-$((2*21))', keys: ['Enter'] });
    expect(sent).toMatchObject({ ok: true });
    const screen = await waitFor('the agent output on the screen', async () => {
      const s = await agent.request<{ lines: string[] }>('terminal.screen', { terminal, handoffId: id, requester: AGENT });
      return s.ok && s.value.lines.includes('from-agent-42') ? s.value : undefined;
    });
    expect(screen.lines.join('\n')).not.toContain('human-typed');
    await human.waitForText('from-agent-42');

    const back = await agent.request<{ handoff: Handoff }>('handoff.release', { handoffId: id, requester: AGENT });
    expect(back.ok && back.value.handoff.state).toBe('released');
    await human.waitForText('input is back with you');
    await human.type('echo human-again-$((3*3))');
    await waitFor('the human input to reach the shell', async () => /^human-again-9$/m.test(await pane('zho')));
    const history = await pane('zho');
    expect(history).toContain('before-42');
    expect(history).toContain('from-agent-42');
    expect(history).not.toContain('human-typed');

    const audit = await waitFor('the release audit record', async () => {
      const recs = (await auditRecords(h.svc.nc)).filter((r) => r.handoffId === id);
      return recs.some((r) => r.action === 'handoff.release') ? recs : undefined;
    });
    expect(JSON.stringify(audit)).not.toContain(SECRET);
  });
});
