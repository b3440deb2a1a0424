import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { newCredentials, writeCredentials } from '../../src/adapters/bus/nats/auth/credentials.ts';
import { jsonError, noStackTrace, termshare } from '../support/cli.ts';

// Each test runs the CLI as its own process (a few, in parallel): generous on a loaded machine.
vi.setConfig({ testTimeout: 90_000 });

// No service anywhere: a fresh state dir and no TERMSHARE_NATS_URL.
let state: string;
let env: Record<string, string>;
beforeAll(async () => {
  state = await mkdtemp(join(tmpdir(), 'termshare-cli-usage-'));
  env = { TERMSHARE_STATE_DIR: state, TERMSHARE_NATS_URL: '', TERMSHARE_CREDS: '', TERMSHARE_LOG_LEVEL: '' };
});
afterAll(() => rm(state, { recursive: true, force: true }));

const version = async () => (JSON.parse(await readFile(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }).version;

describe('termshare --version', () => {
  it('prints the package version for -v and --version and exits 0', async () => {
    const [short, long] = await Promise.all([termshare(['-v'], env), termshare(['--version'], env)]);
    expect(short).toMatchObject({ exitCode: 0, stdout: await version() });
    expect(long).toMatchObject({ exitCode: 0, stdout: await version() });
  });
});

describe('usage errors exit 2 with one line saying why, and nothing else', () => {
  const mistakes: [string, string[], RegExp][] = [
    ['a ttl that is not a number', ['extend', 'sh_x', 'abc'], /"abc" is not a number of seconds/],
    ['--as without a kind', ['share', 'tmux:w', '--as', 'bob'], /"bob" is not a principal: write human:<id> or ai:<id>/],
    ['an unknown verb', ['shar', 'tmux:w'], /unknown command 'shar'.*share/],
    ['a missing argument', ['stop'], /missing required argument 'shareId'/],
    ['an unknown option', ['status', '--colour'], /unknown option '--colour'/],
    ['a timeout that is not a duration', ['status', '--timeout', 'forever'], /"forever" is not a duration/],
    ['a negative ttl', ['share', 'tmux:w', '--ttl', '-5'], /"-5" is not a number of seconds/],
    ['an unknown backend', ['share', 'tmux:w', '--backend', 'ssh'], /"ssh".*upterm, tmate|Allowed choices are upterm, tmate/],
    ['no verb at all', [], /name a verb/],
  ];
  it.each(mistakes)('%s', async (_, args, why) => {
    const r = await termshare(args, env);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n').at(-1)).toMatch(why);
    expect(r.stderr).toMatch(/^termshare: /m);
    expect(noStackTrace(r)).toBe(true);
  });

  it.each(mistakes.filter(([, args]) => args.length > 0))('%s, with --json, prints a JSON error object on stdout', async (_, args, why) => {
    const r = await termshare([...args, '--json'], env);
    expect(r.exitCode).toBe(2);
    expect(jsonError(r)).toMatchObject({ code: 'usage', exitCode: 2 });
    expect(jsonError(r).message).toMatch(why);
  });
});

describe('bad configuration is a usage error naming the variable', () => {
  it('serve with TERMSHARE_LOG_LEVEL=loud exits 2 naming it, without a stack trace', async () => {
    const r = await termshare(['serve'], { ...env, TERMSHARE_LOG_LEVEL: 'loud' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^termshare: invalid configuration: TERMSHARE_LOG_LEVEL: .*; fix or unset the variable/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(noStackTrace(r)).toBe(true);
  });

  it('principal list with TERMSHARE_DEFAULT_TTL=soon exits 2, and with --json prints the error as JSON', async () => {
    const r = await termshare(['principal', 'list', '--json'], { ...env, TERMSHARE_DEFAULT_TTL: 'soon' });
    expect(r.exitCode).toBe(2);
    expect(jsonError(r)).toMatchObject({ code: 'usage' });
    expect(jsonError(r).message).toMatch(/TERMSHARE_DEFAULT_TTL must be a number of seconds/);
  });
});

describe('no service to talk to', () => {
  it('status exits 7 and says how to start one; with --json the error is on stdout', async () => {
    const [text, json] = await Promise.all([termshare(['status'], env), termshare(['status', '--json'], env)]);
    expect(text.exitCode).toBe(7);
    expect(text.stderr).toMatch(/^termshare: unreachable: .*termshare serve/);
    expect(noStackTrace(text)).toBe(true);
    expect(json.exitCode).toBe(7);
    expect(jsonError(json)).toMatchObject({ code: 'unreachable', exitCode: 7 });
  });

  it('a NATS URL where nothing listens exits 7 naming the URL', async () => {
    const creds = join(state, 'someone.creds');
    await writeCredentials(creds, newCredentials('human:someone'));
    const r = await termshare(['status', '--json'], { ...env, TERMSHARE_NATS_URL: 'nats://127.0.0.1:9', TERMSHARE_CREDS: creds });
    expect(r.exitCode).toBe(7);
    expect(jsonError(r).message).toMatch(/nats:\/\/127\.0\.0\.1:9/);
  });
});

describe('help', () => {
  const verbs = [
    'serve', 'share', 'stop', 'revoke', 'switch', 'extend', 'status', 'approvals', 'approve', 'reject',
    'handoff', 'handoff request', 'handoff release', 'handoff status', 'demo', 'inspect', 'panel', 'schema',
    'policy', 'policy validate', 'policy check', 'principal', 'principal init', 'principal add', 'principal revoke', 'principal list',
    'audit', 'audit tail', 'audit show', 'audit verify', 'audit export', 'completion',
    'recording', 'recording list', 'recording play', 'recording export',
  ];
  it('every verb has examples in its help and exits 0', async () => {
    const missing: string[] = [];
    for (let i = 0; i < verbs.length; i += 8) {
      const batch = verbs.slice(i, i + 8);
      const runs = await Promise.all(batch.map((v) => termshare([...v.split(' '), '--help'], env)));
      runs.forEach((r, j) => {
        if (r.exitCode !== 0 || !/\nExamples:\n {2}\$ .*termshare /.test(r.stdout)) missing.push(`${batch[j]} (exit ${r.exitCode})`);
      });
    }
    expect(missing).toEqual([]);
  }, 300_000);

  it('the global --timeout and --creds show in a verb\'s help', async () => {
    const r = await termshare(['status', '--help'], env);
    expect(r.stdout).toMatch(/--timeout <duration>/);
    expect(r.stdout).toMatch(/--creds <file>/);
  });
});
