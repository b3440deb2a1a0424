import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCredentials } from '../../src/adapters/bus/nats/auth/credentials.ts';
import { freePort } from '../../src/adapters/ports.ts';
import { TermshareClient } from '../../src/cli/client.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startService, type RunningService } from '../../src/service/service.ts';
import { TEST_ENTITIES, TEST_POLICY } from '../support/harness.ts';
import { missingTools } from '../support/tools.ts';
import { waitFor } from '../support/waitFor.ts';

const missing = missingTools('nats-server');
const repo = resolve(import.meta.dirname, '../..');
const cli = (env: Record<string, string>, ...args: string[]) => execa('node', [join(repo, 'bin/termshare.js'), ...args], { env: { ...process.env, ...env }, reject: false });

describe.skipIf(missing.length > 0)('a NATS server of your own, configured as examples/nats-server.conf says', () => {
  let dir: string;
  let server: ResultPromise;
  let svc: RunningService;
  let env: Record<string, string>;
  let url: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'termshare-ext-'));
    env = { TERMSHARE_STATE_DIR: join(dir, 'state'), TERMSHARE_OPERATOR: 'human:alice', TERMSHARE_POLICY: join(dir, 'policy.cedar'), TERMSHARE_ENTITIES: join(dir, 'entities.json') };
    await writeFile(env.TERMSHARE_POLICY!, TEST_POLICY);
    await writeFile(env.TERMSHARE_ENTITIES!, JSON.stringify(TEST_ENTITIES));
    // Step 1 and 2 of the example: credentials and accounts, linked beside the server's config.
    const init = await cli(env, 'principal', 'init', '--json');
    expect(init.exitCode, init.stderr).toBe(0);
    const accounts = (JSON.parse(init.stdout) as { accounts: string }).accounts;
    await symlink(accounts, join(dir, 'termshare-auth.conf'));
    const port = await freePort();
    const example = await readFile(join(repo, 'examples/nats-server.conf'), 'utf8');
    const conf = example.replace('"127.0.0.1:4222"', `"127.0.0.1:${port}"`).replace('"/var/lib/nats/termshare"', JSON.stringify(join(dir, 'js')));
    expect(conf).not.toEqual(example);
    await writeFile(join(dir, 'nats-server.conf'), conf);
    server = execa('nats-server', ['-c', join(dir, 'nats-server.conf'), '-P', join(dir, 'nats.pid')], { reject: false, stderr: 'pipe', buffer: false });
    server.stderr!.resume();
    url = `nats://127.0.0.1:${port}`;
    const config = loadConfig({ ...process.env, ...env, TERMSHARE_NATS_URL: url, TERMSHARE_LOG_LEVEL: 'warn' });
    svc = await waitFor('the service to connect to the new server', () => startService(config, createLogger('warn')).catch(() => undefined));
  });
  afterAll(async () => {
    await svc?.stop();
    server?.kill('SIGINT');
    await server;
    await rm(dir, { recursive: true, force: true });
  });

  it('the service answers the operator over it, and a principal added later gets in after a reload', async () => {
    const status = await cli({ ...env, TERMSHARE_NATS_URL: url }, 'status', '--json');
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({ shares: [] });

    const added = await cli(env, 'principal', 'add', 'human:bob', '--json');
    expect(added.exitCode, added.stderr).toBe(0);
    const creds = await readCredentials((JSON.parse(added.stdout) as { file: string }).file);
    await expect(TermshareClient.connect(url, creds)).rejects.toThrow(/authorization violation/i);
    const reload = await execa('nats-server', ['--signal', `reload=${join(dir, 'nats.pid')}`], { reject: false });
    expect(reload.exitCode, reload.stderr).toBe(0);
    const bob = await waitFor('the server to take bob', () => TermshareClient.connect(url, creds).catch(() => undefined));
    // bob is authenticated but no policy lets him list: deny by default, nothing shown.
    expect(await bob.request('share.list', {})).toEqual({ ok: true, value: { shares: [] } });
    await bob.close();
  });
});
