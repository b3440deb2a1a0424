import { execa, type ResultPromise } from 'execa';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AuditRecord, Share } from '../../src/api/schemas.ts';
import { authedNats, serviceConnection } from '../support/auth.ts';
import { jsonError, noStackTrace, termshare } from '../support/cli.ts';
import { serveWorld, spawnServe, termshareBin, type ServeWorld } from '../support/serveProcess.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server', 'tmux', 'upterm', 'uptermd');
// Every step is a CLI process of its own: generous, for a loaded machine.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 180_000 });

describe.skipIf(missing.length > 0)('the CLI against a real `termshare serve`: exit codes and --json for each kind of failure', () => {
  let w: ServeWorld;
  let serve: ResultPromise;
  let env: Record<string, string>;
  beforeAll(async () => {
    w = await serveWorld('clierr', ['clierr']);
    env = w.env;
    ({ serve } = await spawnServe(env));
  });
  afterAll(async () => {
    serve?.kill('SIGTERM');
    await serve;
    await w?.stop();
  });

  const share = async (...extra: string[]) => {
    const r = await termshare(['share', 'tmux:clierr', '--json', ...extra], env);
    expect(r.exitCode, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { share: Share }).share;
  };

  it('not found: exit 4, code not_found, as text and as JSON', async () => {
    const [text, json] = await Promise.all([termshare(['stop', 'sh_nosuchshare1'], env), termshare(['status', 'sh_nosuchshare1', '--json'], env)]);
    expect(text.exitCode).toBe(4);
    expect(text.stderr).toMatch(/^termshare: not_found: .*sh_nosuchshare1/);
    expect(text.stderr.trim().split('\n')).toHaveLength(1);
    expect(json.exitCode).toBe(4);
    expect(jsonError(json)).toMatchObject({ code: 'not_found', exitCode: 4 });
  });

  it('denied by policy: exit 3, code policy_denied; someone else without credentials: exit 3, unauthorized', async () => {
    const denied = await termshare(['handoff', 'request', 'tmux:clierr', '--to', 'ai:bot', '--json'], env);
    expect(denied.exitCode).toBe(3);
    expect(jsonError(denied)).toMatchObject({ code: 'policy_denied', exitCode: 3 });
    const impostor = await termshare(['status', '--as', 'human:mallory', '--json'], env);
    const stop = await termshare(['stop', 'sh_nosuchshare1', '--as', 'human:mallory', '--json'], env);
    expect(impostor.exitCode === 0 || impostor.exitCode === 3).toBe(true);
    expect(stop.exitCode).toBe(3);
    expect(jsonError(stop)).toMatchObject({ code: 'unauthorized' });
    expect(jsonError(stop).message).toMatch(/signed in as human:alice/);
  });

  it('invalid request: exit 2, code invalid_request, naming the form to use', async () => {
    const r = await termshare(['share', 'tmux:clierr.0', '--json'], env);
    expect(r.exitCode).toBe(2);
    expect(jsonError(r)).toMatchObject({ code: 'invalid_request', exitCode: 2 });
    expect(jsonError(r).message).toMatch(/use tmux:clierr/);
    const text = await termshare(['share', 'tmux:clierr.0'], env);
    expect(text.stderr.trim().split('\n')).toHaveLength(1);
    expect(noStackTrace(text)).toBe(true);
  });

  it('status lists live shares only, --all the ended ones too (no time left), and stop --reason reaches the audit trail', async () => {
    const s = await share('--ttl', '600');
    const live = await termshare(['status', '--json'], env);
    expect((JSON.parse(live.stdout) as { shares: Share[] }).shares.map((x) => x.id)).toContain(s.id);

    const stopped = await termshare(['stop', s.id, '--reason', 'done for today', '--json'], env);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    expect((JSON.parse(stopped.stdout) as { share: Share }).share.state).toBe('stopped');
    const again = await termshare(['stop', s.id, '--json'], env);
    expect(again.exitCode).toBe(5);
    expect(jsonError(again).code).toBe('conflict');

    const after = JSON.parse((await termshare(['status', '--json'], env)).stdout) as { shares: Share[] };
    expect(after.shares.map((x) => x.id)).not.toContain(s.id);
    const all = JSON.parse((await termshare(['status', '--all', '--json'], env)).stdout) as { shares: Share[] };
    expect(all.shares.find((x) => x.id === s.id)?.state).toBe('stopped');
    const table = await termshare(['status', '--all'], env);
    expect(table.stdout).toMatch(new RegExp(`${s.id}\\s+tmux:clierr\\s+stopped\\s+upterm\\s+read-only\\s+-\\s+0`));
    const one = await termshare(['status', s.id], env);
    expect(one.stdout).toMatch(/ended\s+stopped/);
    expect(one.stdout).not.toMatch(/expires/);

    const audit = await termshare(['audit', 'show', '--share', s.id, '--json'], env);
    const stop = (JSON.parse(audit.stdout) as AuditRecord[]).find((r) => r.action === 'stop');
    expect(stop?.data).toMatchObject({ reason: 'done for today' });
  });

  it('status --watch, not on a terminal, prints a JSON line when a share starts and when it ends', async () => {
    const watch = execa('node', [termshareBin, 'status', '--watch', '--json'], { env: { ...process.env, ...env }, reject: false, buffer: false, stdin: 'ignore' });
    const lines: { share: Share }[] = [];
    createInterface({ input: watch.stdout! }).on('line', (l) => lines.push(JSON.parse(l) as { share: Share }));
    void watch.then((r) => !watching && console.error(`the watch ended early (exit ${r.exitCode})`));
    let watching = false;
    createInterface({ input: watch.stderr! }).on('line', (l) => (watching ||= /watching share events/.test(l)));
    await waitFor('the watch to say it follows events', () => watching, 60_000);
    const s = await share();
    await waitFor('an active line for the new share', () => lines.some((l) => l.share?.id === s.id && l.share.state === 'active'), 60_000);
    expect((await termshare(['revoke', s.id, '--reason', 'watch test'], env)).exitCode).toBe(0);
    await waitFor('a revoked line for it', () => lines.some((l) => l.share?.id === s.id && l.share.state === 'revoked'), 60_000);
    watch.kill('SIGINT');
    expect((await watch).exitCode).toBe(0);
  });
});

describe.skipIf(missing.length > 0)('the CLI against NATS without a termshare service', () => {
  it('NATS up but no service behind it: exit 7, code timeout, asking whether termshare serve runs; a silent responder: the same within --timeout', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'termshare-cli-nosvc-'));
    const { nats } = await authedNats(dir);
    const env = { TERMSHARE_STATE_DIR: dir, TERMSHARE_NATS_URL: nats.url };
    try {
      // The users' account imports the verbs from the service's: with nobody there, NATS says nothing, so the wait ends it.
      const none = await termshare(['status', '--timeout', '2s', '--json'], env);
      expect(none.exitCode).toBe(7);
      expect(jsonError(none)).toMatchObject({ code: 'timeout', exitCode: 7 });
      expect(jsonError(none).message).toMatch(/no answer on termshare\.share\.list within 2000 ms: is `termshare serve` running/);

      // The service's account, subscribed to the verb and silent: a service that is stuck.
      const stuck = await serviceConnection(dir, nats.url);
      stuck.subscribe('termshare.share.list');
      await stuck.flush();
      const slow = await termshare(['status', '--timeout', '300ms', '--json'], env);
      expect(slow.exitCode).toBe(7);
      expect(jsonError(slow)).toMatchObject({ code: 'timeout', exitCode: 7 });
      expect(jsonError(slow).message).toMatch(/within 300 ms/);
      const text = await termshare(['status', '--timeout', '300ms'], env);
      expect(text.stderr).toMatch(/^termshare: timeout: no answer on termshare\.share\.list within 300 ms/);
      expect(text.stderr.trim().split('\n')).toHaveLength(1);
      await stuck.close();
    } finally {
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
