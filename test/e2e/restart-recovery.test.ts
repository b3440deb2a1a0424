import { execa } from 'execa';
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badgeKey } from '../../src/adapters/bus/nats/badges.ts';
import { LEASE_OPTION } from '../../src/adapters/terminals/tmux/guestInput.js';
import type { Handoff, Share } from '../../src/api/schemas.ts';
import { TEST_POLICY } from '../support/harness.ts';
import { operatorClient, serviceConnection } from '../support/auth.ts';
import { HumanClient } from '../support/humanClient.ts';
import { auditRecords } from '../support/observe.ts';
import { serveWorld, spawnServe, type ServeWorld } from '../support/serveProcess.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');
const POLICY = `${TEST_POLICY}
permit (principal in Group::"operators", action == Action::"handoff.request", resource);
`;

describe.skipIf(missing.length > 0)('a service killed outright, started again', () => {
  let w: ServeWorld;
  let env: Record<string, string>;
  let socket: string;
  const readOnly = async () => (await execa('tmux', ['-L', socket, 'list-clients', '-t', '=work', '-F', '#{client_readonly}'])).stdout.split('\n').filter(Boolean);
  beforeAll(async () => {
    w = await serveWorld('recover', ['work', 'held'], { policy: POLICY });
    ({ env, socket } = w);
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('writes the end records of what died with it, gives locked clients their input back and clears badges before ready', async () => {
    const first = await spawnServe(env);
    const url = first.ready.split('nats=')[1]!;
    const client = await operatorClient(env.TERMSHARE_STATE_DIR!, url);
    const human = await HumanClient.attach(socket, 'held');
    await waitFor('the operator client to attach', async () => (await execa('tmux', ['-L', socket, 'list-clients', '-t', '=held'], { reject: false })).stdout.trim() !== '');
    const shared = await client.request<{ share: Share }>('share.start', { terminal: 'tmux:work', backend: 'upterm' });
    if (!shared.ok) throw new Error(shared.message);
    const given = await client.request<{ handoff: Handoff }>('handoff.request', { terminal: 'tmux:held', to: { kind: 'ai', id: 'bot' } });
    if (!given.ok) throw new Error(given.message);
    expect(given.value.handoff.state).toBe('held');
    const heldClient = async () => (await execa('tmux', ['-L', socket, 'list-clients', '-t', '=held', '-F', '#{client_readonly}'])).stdout.trim();
    expect(await heldClient()).toBe('1');
    const leaseMarker = async () => (await execa('tmux', ['-L', socket, 'display-message', '-p', '-t', '=held:', `#{${LEASE_OPTION}}`])).stdout.trim();
    expect(await leaseMarker()).not.toBe('');
    await client.close();

    first.serve.kill('SIGKILL');
    await first.serve;

    const second = await spawnServe(env);
    // By `ready`, the previous run's leftovers are dealt with: no waiting for them below.
    expect(await heldClient()).toBe('0');
    expect(await leaseMarker()).toBe('');
    const nc = await serviceConnection(env.TERMSHARE_STATE_DIR!, second.ready.split('nats=')[1]!);
    const kv = await new Kvm(nc).open('termshare_badges');
    expect((await kv.get(badgeKey('tmux:work')))?.operation).not.toBe('PUT');
    const records = await auditRecords(nc);
    const shareEnd = records.filter((r) => r.shareId === shared.value.share.id).at(-1);
    expect(shareEnd).toMatchObject({ action: 'fail', outcome: 'lost', actor: 'service', correlationId: shared.value.share.correlationId });
    const handoffEnd = records.filter((r) => r.handoffId === given.value.handoff.id).at(-1);
    expect(handoffEnd).toMatchObject({ action: 'handoff.end', outcome: 'lost', data: expect.objectContaining({ unlockedClients: 1 }) });
    expect(await readOnly()).not.toContain('1');
    await nc.close();
    second.serve.kill('SIGTERM');
    expect((await second.serve).exitCode).toBe(0);
    // Ended on the second start, recorded once: a third start finds nothing left.
    const third = await spawnServe(env);
    const nc3 = await serviceConnection(env.TERMSHARE_STATE_DIR!, third.ready.split('nats=')[1]!);
    expect((await auditRecords(nc3)).filter((r) => r.outcome === 'lost')).toHaveLength(2);
    await nc3.close();
    third.serve.kill('SIGTERM');
    await third.serve;
    await human.close();
  });
});
