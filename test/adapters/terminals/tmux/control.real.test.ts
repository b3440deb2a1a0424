import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED } from '../../../../src/adapters/terminals/redact.ts';
import { LEASE_OPTION } from '../../../../src/adapters/terminals/tmux/guestInput.js';
import { TmuxTerminals } from '../../../../src/adapters/terminals/tmux/tmux.ts';
import { missingTools } from '../../../support/tools.ts';
import { waitFor } from '../../../support/waitFor.ts';

const missing = missingTools('tmux');

describe.skipIf(missing.length > 0)('tmux terminal control (real tmux)', () => {
  const socket = `termshare-control-${process.pid}`;
  const tmux = new TmuxTerminals(socket);
  // Real attached clients: `tmux attach` running inside panes of a second, outer tmux server.
  const outer = new TmuxTerminals(`termshare-control-outer-${process.pid}`);
  const ghToken = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
  let dir: string;

  const shell = 'bash --norc --noprofile';
  const pane = async (session: string, socketOf = tmux) =>
    (await socketOf.run(['capture-pane', '-p', '-J', '-S', '-', '-E', '-', '-t', `=${session}:`])).stdout;
  const type = (session: string, line: string) => tmux.run(['send-keys', '-t', `=${session}:`, '-l', '--', line, ';', 'send-keys', '-t', `=${session}:`, 'Enter']);
  const paneShows = (session: string, re: RegExp, socketOf = tmux) => waitFor(`${session} to show ${re}`, async () => re.test(await pane(session, socketOf)));

  beforeAll(async () => {
    dir = await realpath(await mkdtemp(join(tmpdir(), 'termshare-control-')));
    await mkdir(join(dir, 'sub dir'));
  });
  afterAll(async () => {
    for (const server of [outer, tmux]) {
      // tmux 3.3a leaves its socket file behind on kill-server.
      const path = (await server.run(['display-message', '-p', '#{socket_path}'])).stdout.trim();
      await server.run(['kill-server']);
      if (path) await rm(path, { force: true });
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('context: cwd after a typed cd, redacted starting env, command, full redacted scrollback, size', async () => {
    const env = { GITHUB_TOKEN: ghToken, FOO: 'bar' };
    expect((await tmux.create('ctx', { command: shell, cwd: dir, env, width: 100, height: 20 })).exitCode).toBe(0);
    await type('ctx', 'echo EARLY_$((20+1)) pushed-with-$GITHUB_TOKEN; seq 1 60');
    await paneShows('ctx', /^60$/m);
    await type('ctx', `cd '${join(dir, 'sub dir')}'`);
    const ctx = await waitFor('cwd to follow the cd', async () => {
      const c = await tmux.context('tmux:ctx');
      return c?.cwd === join(dir, 'sub dir') && c;
    });
    expect(ctx.env.FOO).toBe('bar');
    expect(ctx.env.GITHUB_TOKEN).toBe(REDACTED);
    expect(JSON.stringify(ctx)).not.toContain(ghToken);
    expect(ctx.command).toBe('bash');
    expect(ctx.size).toEqual({ cols: 100, rows: 20 });
    // EARLY_21 has scrolled off the 20 visible rows: only the full history still has it.
    expect(ctx.scrollback).toContain(`EARLY_21 pushed-with-${REDACTED}`);
    expect(ctx.scrollback).toContain('60');
    expect(ctx.scrollback.at(-1)).not.toBe('');
    expect((await tmux.screen('tmux:ctx'))!.lines).not.toContain('EARLY_21');
  });

  it('screen: the visible rows and the cursor', async () => {
    await tmux.create('scr', { command: `printf 'line one\\nline two:'; exec cat`, width: 60, height: 10 });
    const screen = await waitFor('the screen to show both lines', async () => {
      const s = await tmux.screen('tmux:scr');
      return s?.lines[1] === 'line two:' && s;
    });
    expect(screen.lines).toHaveLength(10);
    expect(screen.lines[0]).toBe('line one');
    expect(screen.cursor).toEqual({ x: 'line two:'.length, y: 1 });
  });

  it('a terminal that does not exist has no context, no screen, takes no input', async () => {
    expect(await tmux.context('tmux:nope')).toBeUndefined();
    expect(await tmux.screen('tmux:nope')).toBeUndefined();
    expect(await tmux.sendInput('tmux:nope', { text: 'x', keys: ['Enter'] })).toBe(false);
    expect(await tmux.sendInput('tmux:nope', {})).toBe(false);
    expect(await tmux.lockClients('tmux:nope')).toEqual([]);
    expect(await tmux.context('zellij:ctx')).toBeUndefined();
  });

  it('sendInput: literal text then named keys runs a command; an invalid key sends nothing', async () => {
    await tmux.create('inp', { command: shell });
    expect(await tmux.sendInput('tmux:inp', { text: 'echo RAN_$((6*7))', keys: ['Enter'] })).toBe(true);
    await paneShows('inp', /^RAN_42$/m);

    // Refused as a whole: neither the text nor the valid key before the bad one is sent.
    expect(await tmux.sendInput('tmux:inp', { text: 'echo SHOULD_NOT_$((1+1))', keys: ['Enter', 'NotAKey'] })).toBe(false);
    expect(await tmux.sendInput('tmux:inp', { text: 'echo SHOULD_NOT_$((1+1))', keys: ['Enter; kill-server'] })).toBe(false);
    // Text that tmux's parser would otherwise mangle: a leading dash, a trailing `;`, `#`, `$`, braces.
    expect(await tmux.sendInput('tmux:inp', { text: '-x 2>/dev/null; echo "#{x} {a} $((5+4))" END;', keys: ['Enter'] })).toBe(true);
    // Input is applied in order: once this shows, anything sent before it has arrived.
    await paneShows('inp', /^#\{x\} \{a\} 9 END$/m);
    expect(await pane('inp')).not.toContain('SHOULD_NOT');
    expect(await pane('inp')).toContain(' -x 2>/dev/null; echo "#{x} {a} $((5+4))" END;');

    expect(await tmux.sendInput('tmux:inp', { text: 'sleep 30', keys: ['Enter'] })).toBe(true);
    await waitFor('sleep to run', async () => (await tmux.context('tmux:inp'))?.command === 'sleep');
    expect(await tmux.sendInput('tmux:inp', { keys: ['C-c'] })).toBe(true);
    await waitFor('sleep to be interrupted', async () => (await tmux.context('tmux:inp'))?.command === 'bash');
    expect(await tmux.sendInput('tmux:inp', { text: 'echo AFTER_$((3+4))', keys: ['Enter'] })).toBe(true);
    await paneShows('inp', /^AFTER_7$/m);
  });

  describe('with real attached clients', () => {
    const sessionClients = async () => {
      const r = await tmux.run(['list-clients', '-t', '=lock', '-F', '#{client_tty} #{client_readonly} #{client_flags} #{client_session}']);
      return r.stdout.split('\n').filter(Boolean).map((l) => {
        const [tty, ro, flags, session] = l.split(' ');
        return { tty: tty!, readOnly: ro === '1', ignoreSize: flags!.split(',').includes('ignore-size'), session };
      });
    };
    // Outer sessions: a plain client, an ignore-size one and one already read-only.
    const attach = { plain: '', sized: '-f ignore-size', viewer: '-r' } as const;
    const ttyOf: Record<string, string> = {};

    beforeAll(async () => {
      await tmux.create('lock', { command: shell, width: 80, height: 20 });
      // Another session the clients must not be moved to (a bare `switch-client -r` would do that).
      await tmux.create('elsewhere', { command: 'cat' });
      // A sentinel key: a read-only client may still switch its key table, and a key is handled
      // only after the ones typed before it. Keys typed in one burst count as a paste, which skips
      // bindings: paste detection is turned off so the sentinel typed right after a line still binds.
      await tmux.run(['set-option', '-g', 'assume-paste-time', '0']);
      await tmux.run(['bind-key', '-T', 'sentinel', 'F12', 'switch-client', '-T', 'root']);
      await tmux.run(['bind-key', '-n', 'F12', 'switch-client', '-T', 'sentinel']);
      for (const [name, flags] of Object.entries(attach)) {
        const before = new Set((await sessionClients()).map((c) => c.tty));
        await outer.create(name, { command: `env -u TMUX tmux -L ${socket} attach ${flags} -t =lock`, width: 90, height: 24 });
        ttyOf[name] = await waitFor(`${name} client to attach`, async () => (await sessionClients()).find((c) => !before.has(c.tty))?.tty);
      }
    });

    /** Types into a client; returns once the inner server has handled every key typed. */
    const typeAs = async (client: keyof typeof attach, line: string) => {
      await outer.run(['send-keys', '-t', `=${client}:`, '-l', '--', line, ';', 'send-keys', '-t', `=${client}:`, 'Enter', 'F12']);
      const table = async () => (await tmux.run(['display-message', '-p', '-c', ttyOf[client]!, '#{client_key_table}'])).stdout.trim();
      await waitFor(`${client}'s keys to be handled`, async () => (await table()) === 'sentinel');
      await tmux.run(['switch-client', '-c', ttyOf[client]!, '-T', 'root']);
    };

    it('lockClients makes the writable clients read-only: their keys no longer reach the pane', async () => {
      await typeAs('plain', 'echo BEFORE_$((1+1))');
      await paneShows('lock', /^BEFORE_2$/m);

      const locked = await tmux.lockClients('tmux:lock');
      expect(locked.sort()).toEqual([ttyOf.plain, ttyOf.sized].sort());
      for (const c of await sessionClients()) expect(c.readOnly).toBe(true);
      // The lease marker every guest view checks before it writes a byte (guestInput.js).
      const marker = async () => (await tmux.run(['show-options', '-qv', '-t', '=lock:', LEASE_OPTION])).stdout.trim();
      expect(await marker()).toBe('1');
      expect(await tmux.lockClients('tmux:lock')).toEqual([]);

      await typeAs('plain', 'echo LOCKED_$((1+1))');
      await typeAs('sized', 'echo LOCKED_$((2+1))');
      expect(await pane('lock')).not.toContain('LOCKED');
      // The agent's input still goes through.
      expect(await tmux.sendInput('tmux:lock', { text: 'echo AGENT_$((2+3))', keys: ['Enter'] })).toBe(true);
      await paneShows('lock', /^AGENT_5$/m);

      await tmux.unlockClients('tmux:lock', locked);
      expect(await marker()).toBe('');
      const after = Object.fromEntries((await sessionClients()).map((c) => [c.tty, c]));
      expect(after[ttyOf.plain!]).toMatchObject({ readOnly: false, ignoreSize: false, session: 'lock' });
      expect(after[ttyOf.sized!]).toMatchObject({ readOnly: false, ignoreSize: true, session: 'lock' });
      // Not handed out by lockClients, so not given input.
      expect(after[ttyOf.viewer!]).toMatchObject({ readOnly: true, session: 'lock' });

      await typeAs('plain', 'echo UNLOCKED_$((2+2))');
      await paneShows('lock', /^UNLOCKED_4$/m);
      await typeAs('viewer', 'echo VIEWER_$((1+1))');
      expect(await pane('lock')).not.toContain('VIEWER_2');
      expect(await pane('lock')).not.toContain('LOCKED_2');
    });

    it('notifyAll shows the text, literally, on every client', async () => {
      const text = 'agent has input #{session_name} #(id) ok;';
      await tmux.notifyAll('tmux:lock', text);
      for (const client of Object.keys(attach)) {
        await waitFor(`${client} to show the notice`, async () => (await pane(client, outer)).split('\n').some((l) => l.includes(text)));
      }
    });
  });
});
