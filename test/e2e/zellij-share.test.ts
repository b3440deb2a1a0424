import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { startHarness, OPERATOR, type Harness } from '../support/harness.ts';
import { collectEvents, tmateProcesses, uptermProcesses } from '../support/observe.ts';
import { Participant } from '../support/participant.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';
import { withEnv, zellijWorld, type ZellijWorld } from '../support/zellij.ts';

const missing = missingTools('nats-server', 'zellij', 'tmux', 'tmate', 'ssh', 'setpriv', 'upterm', 'uptermd');

describe.skipIf(missing.length > 0)('zellij terminals shared over real NATS, upterm, tmate and ssh', () => {
  let h: Harness;
  let world: ZellijWorld;
  let restoreEnv: (() => void) | undefined;
  beforeAll(async () => {
    world = await zellijWorld();
    // The service finds sessions where this test's zellij keeps them (its own socket dir and config).
    restoreEnv = withEnv(world.env);
    h = await startHarness({ tmate: true });
  });
  afterAll(async () => {
    await h?.stop();
    await world?.cleanup();
    restoreEnv?.();
  });

  const start = (terminal: string, extra: Record<string, unknown> = {}) =>
    h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR, ...extra });
  const type = async (session: string, line: string) => {
    await world.terminals.run(['--session', session, 'action', 'write-chars', '--', line]);
    await world.terminals.run(['--session', session, 'action', 'write', '--', '13']);
  };
  const pane = async (session: string) => (await world.terminals.run(['--session', session, 'action', 'dump-screen', '--full'])).stdout;

  it('a read-write upterm share: the ssh participant sees the session and types into it; revoke disconnects them', async () => {
    await world.create('zrw');
    const events = collectEvents(h.client.nc);
    const started = await start('zellij:zrw', { access: 'read-write' });
    if (!started.ok) throw new Error(started.message);
    const share = started.value.share;
    expect(share).toMatchObject({ state: 'active', terminal: 'zellij:zrw', access: 'read-write' });
    const guest = await Participant.join(share.link!.ssh, h.guestKey);
    await type('zrw', 'echo seen-by-$((40+2))-guest');
    await guest.waitForText('seen-by-42-guest');
    await guest.type('echo guest-wrote-$((5*5))');
    await waitFor('the guest line in the pane', async () => /^guest-wrote-25$/m.test(await pane('zrw')));
    await waitFor('participant-joined event', () => events.of(share.id).some((e) => e.type === 'participant-joined'));

    const revoked = await h.client.request<{ share: Share }>('share.revoke', { shareId: share.id, requester: OPERATOR, reason: 'done' });
    expect(revoked.ok && revoked.value.share.state).toBe('revoked');
    await waitFor('the participant ssh process to exit', () => !guest.connected(), 5000);
    expect(uptermProcesses(h.config.stateDir, share.id)).toEqual([]);
    await waitFor('no client of the share left', async () => (await world.terminals.clients('zellij:zrw', share.id)).length === 0);
    await guest.close();
    events.stop();
  });

  it('a read-only share never lets what the participant types reach the session', async () => {
    await world.create('zro');
    const started = await start('zellij:zro');
    if (!started.ok) throw new Error(started.message);
    expect(started.value.share.access).toBe('read-only');
    const guest = await Participant.join(started.value.share.link!.ssh, h.guestKey);
    await type('zro', 'echo ready-$((1+1))');
    await guest.waitForText('ready-2');
    await guest.type('echo intruder-$((3+4))');
    await type('zro', 'echo marker-$((5+5))');
    await guest.waitForText('marker-10');
    expect(await pane('zro')).not.toContain('intruder');
    await h.client.request('share.stop', { shareId: started.value.share.id, requester: OPERATOR });
    await guest.close();
  });

  it('a short TTL warns inside the participant view, then expires and disconnects them', async () => {
    await world.create('zttl');
    const events = collectEvents(h.client.nc);
    const started = await start('zellij:zttl', { ttlSeconds: 8 });
    if (!started.ok) throw new Error(started.message);
    const guest = await Participant.join(started.value.share.link!.ssh, h.guestKey);
    expect(await guest.waitForText('this share expires in', 15_000)).toMatch(/expires in \d s unless the operator extends it/);
    await waitFor('the share to expire', () => events.of(started.value.share.id).some((e) => e.type === 'expired'), 15_000);
    await waitFor('the participant to be disconnected', () => !guest.connected(), 5000);
    await guest.close();
    events.stop();
  });

  it('a tmate share of a zellij session hosts the confined view on it; stop ends it', async () => {
    await world.create('ztm');
    const r = await start('zellij:ztm', { backend: 'tmate' });
    if (!r.ok) throw new Error(r.message);
    const share = r.value.share;
    expect(share).toMatchObject({ state: 'active', backend: 'tmate', access: 'read-only' });
    const dir = `${h.config.stateDir}/tmate-workers/${share.id}`;
    expect(tmateProcesses(dir)).toHaveLength(1);
    // tmate's one local client is the guest view on the zellij session (a zellij watcher).
    await waitFor('the hosted view on the session', async () => (await world.terminals.clients('zellij:ztm', share.id)).some((c) => c.role === 'host'));
    const stopped = await h.client.request<{ share: Share }>('share.stop', { shareId: share.id, requester: OPERATOR });
    expect(stopped.ok && stopped.value.share.state).toBe('stopped');
    expect(tmateProcesses(dir)).toEqual([]);
  });

  it('an exited session cannot be shared, and a session ending ends its shares', async () => {
    const missingOne = await start('zellij:znone');
    expect(missingOne).toMatchObject({ ok: false, code: 'terminal_not_found' });
    await world.create('zend');
    const started = await start('zellij:zend');
    if (!started.ok) throw new Error(started.message);
    await world.terminals.kill('zend');
    const ended = await waitFor('the share to end', async () => {
      const g = await h.client.request<{ share: Share }>('share.get', { shareId: started.value.share.id });
      return g.ok && g.value.share.state === 'stopped' ? g.value.share : undefined;
    });
    expect(ended.endReason).toBe('terminal-closed');
    expect(uptermProcesses(h.config.stateDir, started.value.share.id)).toEqual([]);
  });
});
