import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Share } from '../../src/api/schemas.ts';
import { isAlive } from '../../src/adapters/process.ts';
import { startHarness, OPERATOR, type Harness } from '../support/harness.ts';
import { REVOKE_BOUND_MS } from '../support/bounds.ts';
import { auditRecords, uptermProcesses } from '../support/observe.ts';
import { Participant } from '../support/participant.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');

/** upterm hung (SIGSTOP) or killed under a live share with a real ssh participant. */
describe.skipIf(missing.length > 0)('a hung or killed upterm', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** An active share of a new terminal, its one upterm process, and a participant the share counts. */
  async function joined(name: string, sshOptions: string[] = []) {
    const r = await h.client.request<{ share: Share }>('share.start', { terminal: await h.terminal(name), backend: 'upterm', requester: OPERATOR });
    if (!r.ok) throw new Error(r.message);
    const share = r.value.share;
    const guest = await Participant.join(share.link!.ssh, h.guestKey, { sshOptions });
    await waitFor('the participant to be counted', async () => {
      const g = await h.client.request<{ share: Share }>('share.get', { shareId: share.id });
      return g.ok && g.value.share.participants > 0;
    });
    const [pid] = uptermProcesses(h.config.stateDir, share.id);
    return { share, guest, pid: pid! };
  }

  const audits = async (shareId: string, action: string) => (await auditRecords(h.svc.nc)).filter((r) => r.shareId === shareId && r.action === action);

  it('a stopped upterm is found by the heartbeat, ended as hung with its participant dropped, and restarted', async () => {
    const { share, guest, pid } = await joined('stopped');
    process.kill(pid, 'SIGSTOP');
    // Found within a heartbeat or two (1 s apart), then ended the orderly way within the revoke bound.
    await waitFor('the participant of the hung upterm to be disconnected', () => !guest.connected(), REVOKE_BOUND_MS + 2000);
    await waitFor('the hung upterm to be gone', () => !isAlive(pid), REVOKE_BOUND_MS);
    const crash = await waitFor('the crash record', async () => (await audits(share.id, 'worker.crash'))[0]);
    expect(crash.data).toMatchObject({ code: 'backend_failed' });
    expect(String((crash.data as { message: string }).message)).toMatch(/is stopped \(\/proc state T\): ended it as hung/);
    const restarted = await waitFor('a new link', async () => {
      const g = await h.client.request<{ share: Share }>('share.get', { shareId: share.id });
      return g.ok && g.value.share.state === 'active' && g.value.share.link!.ssh !== share.link!.ssh ? g.value.share : undefined;
    }, 15_000);
    expect(uptermProcesses(h.config.stateDir, share.id)).toHaveLength(1);
    await guest.close();
    await h.client.request('share.stop', { shareId: restarted.id, requester: OPERATOR });
  });

  it('revoke of a hung upterm replies once the backend is gone and the participant disconnected', async () => {
    const { share, guest, pid } = await joined('hung-revoke');
    process.kill(pid, 'SIGSTOP');
    const revoked = await h.client.request<{ share: Share }>('share.revoke', { shareId: share.id, requester: OPERATOR, reason: 'hung' });
    // Whatever the heartbeat did meanwhile, the reply comes with the backend gone and the participant dropped.
    expect(revoked.ok ? revoked.value.share.state : revoked.message).toBe('revoked');
    expect(isAlive(pid)).toBe(false);
    await waitFor('the participant to be disconnected', () => !guest.connected(), 1000);
    expect(uptermProcesses(h.config.stateDir, share.id)).toEqual([]);
    await guest.close();
  });

  it('a SIGKILLed upterm: the crash is recorded as unconfirmed, the share restarts; a participant whose ssh sends keepalives is dropped', async () => {
    // uptermd 0.24 notices a dead host's guest only when the guest sends a byte (see README): here, ssh keepalives.
    const { share, guest, pid } = await joined('killed', ['ServerAliveInterval=1']);
    process.kill(pid, 'SIGKILL');
    await waitFor('the participant (sending keepalives) to be disconnected', () => !guest.connected(), REVOKE_BOUND_MS);
    const crash = await waitFor('the crash record', async () => (await audits(share.id, 'worker.crash'))[0]);
    expect(String((crash.data as { message: string }).message)).toMatch(/upterm ended by SIGKILL; upterm was killed \(SIGKILL\) before it could close its guests' sessions/);
    await waitFor('a new link', async () => {
      const g = await h.client.request<{ share: Share }>('share.get', { shareId: share.id });
      return g.ok && g.value.share.state === 'active' && g.value.share.link!.ssh !== share.link!.ssh;
    }, 15_000);
    await guest.close();
    await h.client.request('share.stop', { shareId: share.id, requester: OPERATOR });
  });
});
