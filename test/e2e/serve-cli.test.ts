import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portFree } from '../../src/adapters/ports.ts';
import { isAlive } from '../../src/adapters/process.ts';
import { badgeKey } from '../../src/adapters/bus/nats/badges.ts';
import { Kvm } from '@nats-io/kv';
import type { Share } from '../../src/api/schemas.ts';
import { authedNats, serviceConnection } from '../support/auth.ts';
import { auditRecords, uptermProcesses } from '../support/observe.ts';
import { guestKey, Participant } from '../support/participant.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';
import { natsPidOf, serveWorld, spawnServe, termshareBin, type ServeWorld } from '../support/serveProcess.ts';

const missing = missingTools('nats-server', 'tmux', 'ssh', 'setpriv', 'upterm', 'uptermd');
const bin = termshareBin;

describe.skipIf(missing.length > 0)('termshare serve and the CLI, as separate processes', () => {
  let w: ServeWorld;
  let dir: string;
  let env: Record<string, string>;
  let blocker: Server | undefined;
  beforeAll(async () => {
    w = await serveWorld('cli', ['cli']);
    ({ dir, env } = w);
    // Hold the default port so the embedded server has to find another.
    if (await portFree(4222)) blocker = await new Promise((r) => { const s = createServer(); s.listen(4222, '127.0.0.1', () => r(s)); });
  });
  afterAll(async () => {
    blocker?.close();
    await w?.stop();
  });

  it('serve owns an embedded NATS, the CLI shares through it, and SIGINT ends every share cleanly', async () => {
    const { serve, ready } = await spawnServe(env);
    const url = ready.match(/^termshare ready nats=(nats:\/\/127\.0\.0\.1:(\d+))$/);
    expect(url).not.toBeNull();
    expect(url![2]).not.toBe('4222');

    const shared = await execa('node', [bin, 'share', 'tmux:cli', '--json'], { env, reject: false });
    expect(shared.exitCode).toBe(0);
    const share = (JSON.parse(shared.stdout) as { share: Share }).share;
    expect(share.state).toBe('active');
    const status = await execa('node', [bin, 'status'], { env, reject: false });
    expect(status.stdout).toMatch(new RegExp(`${share.id}\\s+tmux:cli\\s+active\\s+upterm\\s+read-only`));
    const guest = await Participant.join(share.link!.ssh, await guestKey(dir));
    await waitFor('the participant to be counted', async () => {
      const r = await execa('node', [bin, 'status', share.id, '--json'], { env, reject: false });
      return (JSON.parse(r.stdout) as { share: Share }).share.participants === 1;
    });

    // Another principal, with credentials of its own: the server takes them at once (reload).
    const added = await execa('node', [bin, 'principal', 'add', 'ai:bot'], { env, reject: false });
    expect(added.exitCode, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/reloaded its accounts/);
    const denied = await execa('node', [bin, 'share', 'tmux:cli', '--as', 'ai:bot', '--read-write'], { env, reject: false });
    expect(denied.exitCode).toBe(3);
    expect(denied.stderr).toMatch(/policy_denied: forbidden by policy no-rw-for-agents \(AI agents may not hold read-write shares\)/);
    const unknown = await execa('node', [bin, 'stop', 'sh_nosuchshare1'], { env, reject: false });
    expect(unknown.exitCode).toBe(4);

    const natsPid = await natsPidOf(env.TERMSHARE_STATE_DIR!);
    expect(isAlive(natsPid)).toBe(true);
    serve.kill('SIGINT');
    const exit = await serve;
    expect(exit.exitCode).toBe(0);
    expect(uptermProcesses(env.TERMSHARE_STATE_DIR!)).toEqual([]);
    await waitFor('the participant to be disconnected', () => !guest.connected(), 5000);
    await waitFor('the embedded nats-server to be gone', () => !isAlive(natsPid), 5000);
    await guest.close();

    // The audit stream survives in the state dir: the stop on shutdown was recorded.
    const { nats } = await authedNats(env.TERMSHARE_STATE_DIR!);
    const client = await serviceConnection(env.TERMSHARE_STATE_DIR!, nats.url);
    const records = (await auditRecords(client)).filter((r) => r.shareId === share.id);
    expect(records.map((r) => r.action)).toEqual(['request', 'start', 'participant.join', 'stop']);
    expect(records.at(-1)).toMatchObject({ actor: 'service', outcome: 'stopped' });
    await client.close();
    await nats.stop();
  });

  it('a service killed outright takes its backend processes and embedded NATS with it', async () => {
    const state = join(dir, 'state-kill');
    const { serve } = await spawnServe({ ...env, TERMSHARE_STATE_DIR: state });
    const shared = await execa('node', [bin, 'share', 'tmux:cli', '--json'], { env: { ...env, TERMSHARE_STATE_DIR: state }, reject: false });
    expect(shared.exitCode).toBe(0);
    const [upterm] = uptermProcesses(state);
    const natsPid = await natsPidOf(state);
    expect(isAlive(upterm) && isAlive(natsPid)).toBe(true);
    serve.kill('SIGKILL');
    await serve;
    // Both run under a parent-death signal: nothing is orphaned.
    await waitFor('upterm to die with its service', () => !isAlive(upterm), 5000);
    await waitFor('nats-server to die with its service', () => !isAlive(natsPid), 5000);
  });

  it('SIGTERM to the whole process group (a terminal, systemd) ends every share, records it, clears its badge and exits 0', async () => {
    const state = join(dir, 'state-group');
    const e = { ...env, TERMSHARE_STATE_DIR: state };
    const { serve } = await spawnServe(e, { ownGroup: true });
    const shared = await execa('node', [bin, 'share', 'tmux:cli', '--json'], { env: e, reject: false });
    expect(shared.exitCode, shared.stderr).toBe(0);
    const share = (JSON.parse(shared.stdout) as { share: Share }).share;
    const guest = await Participant.join(share.link!.ssh, await guestKey(dir));
    await guest.waitForText('bash-');
    const natsPid = await natsPidOf(state);
    // What a terminal's Ctrl-C or systemd's stop does: the signal reaches every process of the group.
    process.kill(-serve.pid!, 'SIGTERM');
    const exit = await serve;
    expect(exit.exitCode).toBe(0);
    expect(exit.signal).toBeUndefined();
    await waitFor('the participant to be disconnected', () => !guest.connected(), 5000);
    await waitFor('the embedded nats-server to be gone', () => !isAlive(natsPid), 5000);
    await guest.close();
    expect(uptermProcesses(state)).toEqual([]);
    // The stop reached the stream before NATS stopped: nothing was left in the spool.
    expect(await readFile(join(state, 'audit.spool.jsonl'), 'utf8').catch(() => '')).toBe('');
    const { nats } = await authedNats(state);
    const client = await serviceConnection(state, nats.url);
    const records = (await auditRecords(client)).filter((r) => r.shareId === share.id);
    expect(records.at(-1)).toMatchObject({ action: 'stop', actor: 'service', outcome: 'stopped' });
    const badges = await new Kvm(client).open('termshare_badges');
    expect((await badges.get(badgeKey('tmux:cli')))?.operation).not.toBe('PUT');
    await client.close();
    await nats.stop();
  });
});
