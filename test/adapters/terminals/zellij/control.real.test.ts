import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDACTED } from '../../../../src/adapters/terminals/redact.ts';
import { shellJoin } from '../../../../src/adapters/process.ts';
import { HumanClient } from '../../../support/humanClient.ts';
import { missingTools } from '../../../support/tools.ts';
import { waitFor } from '../../../support/waitFor.ts';
import { zellijWorld, type ZellijWorld } from '../../../support/zellij.ts';

const missing = missingTools('zellij', 'tmux', 'setpriv');

describe.skipIf(missing.length > 0)('zellij terminal control and attach (real zellij 0.45.1)', () => {
  let world: ZellijWorld;
  let dir: string;
  const ghToken = 'ghp_0123456789abcdefghijABCDEFGHIJ012345';
  const opened: HumanClient[] = [];

  /** The terminal's pane, with its whole scrollback, as zellij holds it. */
  const pane = async (session: string) => (await world.terminals.run(['--session', session, 'action', 'dump-screen', '--full'])).stdout;
  const paneShows = (session: string, re: RegExp) => waitFor(`${session} to show ${re}`, async () => re.test(await pane(session)));
  /** The owner typing a line at the keyboard (zellij writes it to the focused pane). */
  const type = async (session: string, line: string) => {
    await world.terminals.run(['--session', session, 'action', 'write-chars', '--', line]);
    await world.terminals.run(['--session', session, 'action', 'write', '--', '13']);
  };
  /** A program in its own terminal (a pane of an outer tmux), as a person or an ssh guest would run it. */
  const outside = async (argv: string[]) => {
    const h = await HumanClient.running(shellJoin(['env', ...Object.entries(world.env).map(([k, v]) => `${k}=${v}`), ...argv]));
    opened.push(h);
    return h;
  };

  beforeAll(async () => {
    world = await zellijWorld();
    dir = await realpath(world.root);
    await mkdir(join(dir, 'sub dir'));
  });
  afterAll(async () => {
    for (const h of opened) await h.close();
    await world?.cleanup();
  });

  it('context: cwd after a typed cd, redacted starting env, command, full redacted scrollback, size', async () => {
    await world.create('ctx', { cwd: dir, env: { GITHUB_TOKEN: ghToken, FOO: 'bar' } });
    await type('ctx', 'echo EARLY_$((20+1)) pushed-with-$GITHUB_TOKEN; seq 1 120');
    await paneShows('ctx', /^120$/m);
    await type('ctx', `cd '${join(dir, 'sub dir')}'`);
    const ctx = await waitFor('cwd to follow the cd', async () => {
      const c = await world.terminals.context('zellij:ctx');
      return c?.cwd === join(dir, 'sub dir') && c;
    });
    expect(ctx.env.FOO).toBe('bar');
    expect(ctx.env.GITHUB_TOKEN).toBe(REDACTED);
    expect(JSON.stringify(ctx)).not.toContain(ghToken);
    expect(ctx.command).toBe('bash');
    expect(ctx.size.cols).toBeGreaterThan(10);
    expect(ctx.size.rows).toBeGreaterThan(5);
    // EARLY_21 has scrolled off the visible rows: only the full history still has it.
    expect(ctx.scrollback).toContain(`EARLY_21 pushed-with-${REDACTED}`);
    expect(ctx.scrollback).toContain('120');
    expect((await world.terminals.screen('zellij:ctx'))!.lines.join('\n')).not.toContain('EARLY_21');
  });

  it('screen: the visible rows and the cursor', async () => {
    await world.create('scr', { command: ['sh', '-c', "printf 'line one\\nline two:'; exec cat"] });
    const screen = await waitFor('the screen to show both lines', async () => {
      const s = await world.terminals.screen('zellij:scr');
      return s?.lines[1] === 'line two:' && s;
    });
    expect(screen.lines[0]).toBe('line one');
    expect(screen.cursor).toEqual({ x: 'line two:'.length, y: 1 });
  });

  it('input: text then named keys reach the pane; an unknown key is refused and nothing is typed', async () => {
    await world.create('inp');
    expect(await world.terminals.sendInput('zellij:inp', { text: 'echo typed-$((6*7))', keys: ['Enter'] })).toBe(true);
    await paneShows('inp', /^typed-42$/m);
    expect(await world.terminals.sendInput('zellij:inp', { text: 'sleep 30', keys: ['Enter', 'C-c'] })).toBe(true);
    expect(await world.terminals.sendInput('zellij:inp', { text: 'echo after-$((1+1))', keys: ['Enter'] })).toBe(true);
    // C-c ended the sleep at once: the next line ran.
    await paneShows('inp', /^after-2$/m);
    expect(await world.terminals.sendInput('zellij:inp', { text: 'echo never', keys: ['Bogus'] })).toBe(false);
    expect(await pane('inp')).not.toContain('echo never');
  });

  it('a terminal that does not exist (or is not zellij) has no context, no screen, takes no input', async () => {
    expect(await world.terminals.context('zellij:nope')).toBeUndefined();
    expect(await world.terminals.screen('zellij:nope')).toBeUndefined();
    expect(await world.terminals.sendInput('zellij:nope', { text: 'x' })).toBe(false);
    expect(await world.terminals.lockClients('zellij:nope')).toEqual([]);
    expect(await world.terminals.context('tmux:ctx')).toBeUndefined();
  });

  it('zellij itself drops what is typed into a watch client (the read-only attach)', async () => {
    await world.create('watched');
    const watcher = await outside([world.terminals.bin, 'watch', 'watched']);
    await type('watched', 'echo shown-$((2+3))');
    await watcher.waitForText('shown-5');
    await watcher.type('echo intruder-$((3+4))');
    await type('watched', 'echo marker-$((5+5))');
    await watcher.waitForText('marker-10');
    expect(await pane('watched')).not.toContain('intruder');
  });

  it('a guest view shows the session; read-only drops the keys, read-write writes them to the pane', async () => {
    await world.create('guests');
    const view = (access: string) => world.terminals.attachCommand('zellij:guests', { shareId: 'sh_g', access: access as 'read-only', role: 'guest' }).argv;
    const ro = await outside(view('read-only'));
    const rw = await outside(view('read-write'));
    await type('guests', 'echo both-see-$((1+2))');
    await ro.waitForText('both-see-3');
    await rw.waitForText('both-see-3');
    await ro.type('echo from-ro-$((2+2))');
    await rw.type('echo from-rw-$((3+3))');
    await paneShows('guests', /^from-rw-6$/m);
    await type('guests', 'echo marker-$((4+4))');
    await ro.waitForText('marker-8');
    expect(await pane('guests')).not.toContain('from-ro');
    // Each view is one guest client of the share (its watch client is not counted again).
    const clients = await world.terminals.clients('zellij:guests', 'sh_g');
    expect(clients.map((c) => [c.role, c.readOnly])).toEqual([['guest', true], ['guest', true]]);
    // The expiry warning appears inside the view.
    await world.terminals.notify('zellij:guests', clients, 'termshare: this share expires in 9 s unless the operator extends it');
    await ro.waitForText('this share expires in 9 s');
    await world.terminals.detachAll('zellij:guests', 'sh_g', 'guest');
    await waitFor('the views to end', async () => (await world.terminals.clients('zellij:guests', 'sh_g')).length === 0);
  });

  it('lock: the human and guests type nothing into the leased pane, the agent does; unlock gives it back', async () => {
    await world.create('lease');
    const human = await outside([world.terminals.bin, 'attach', 'lease']);
    const guest = await outside(world.terminals.attachCommand('zellij:lease', { shareId: 'sh_l', access: 'read-write', role: 'guest' }).argv);
    await type('lease', 'echo before-$((40+2))');
    await human.waitForText('before-42');
    await guest.waitForText('before-42');

    const locked = await world.terminals.lockClients('zellij:lease');
    expect(locked).toEqual([expect.stringMatching(/^cover:terminal_\d+$/)]);
    // Locking again while held covers nothing new.
    expect(await world.terminals.lockClients('zellij:lease')).toEqual([]);
    await human.waitForText('an agent holds this terminal');
    await human.type('echo human-typed');
    await guest.type('echo guest-typed');
    expect(await world.terminals.sendInput('zellij:lease', { text: 'echo from-agent-$((2*21))', keys: ['Enter'] })).toBe(true);
    await waitFor('the agent output in the leased pane', async () => (await world.terminals.screen('zellij:lease'))?.lines.includes('from-agent-42'));
    // The human watches it happen through the cover.
    await human.waitForText('from-agent-42');
    const leased = (await world.terminals.context('zellij:lease'))!.scrollback.join('\n');
    expect(leased).toContain('from-agent-42');
    expect(leased).not.toContain('human-typed');
    expect(leased).not.toContain('guest-typed');

    await world.terminals.unlockClients('zellij:lease', locked);
    await world.terminals.notifyAll('zellij:lease', 'termshare: input is back with you');
    await human.waitForText('input is back with you');
    await human.type('echo human-again-$((3*3))');
    await waitFor('the human input to reach the pane', async () => (await world.terminals.context('zellij:lease'))?.scrollback.includes('human-again-9'));
    await guest.type('echo guest-again-$((4*4))');
    await waitFor('the guest input to reach the pane', async () => (await world.terminals.context('zellij:lease'))?.scrollback.includes('guest-again-16'));
    const history = (await world.terminals.context('zellij:lease'))!.scrollback.join('\n');
    expect(history).toContain('before-42');
    expect(history).not.toContain('human-typed');
  });

  it('a cover closed by hand is put back by the next lock while the lease is held', async () => {
    await world.create('reclose');
    const locked = await world.terminals.lockClients('zellij:reclose');
    expect(locked).toHaveLength(1);
    await world.terminals.run(['--session', 'reclose', 'action', 'close-pane', '--pane-id', locked[0]!.slice('cover:'.length)]);
    const again = await world.terminals.lockClients('zellij:reclose');
    expect(again).toEqual([expect.stringMatching(/^cover:terminal_\d+$/)]);
    await world.terminals.unlockClients('zellij:reclose', again);
    expect(await world.terminals.sendInput('zellij:reclose', { text: 'echo open-$((1+1))', keys: ['Enter'] })).toBe(true);
    await paneShows('reclose', /^open-2$/m);
  });

  it("the reaper's detach command ends a share's guest views; a killed session no longer exists", async () => {
    await world.create('gone');
    await outside(world.terminals.attachCommand('zellij:gone', { shareId: 'sh_d', access: 'read-only', role: 'guest' }).argv);
    await waitFor('the guest view to attach', async () => (await world.terminals.clients('zellij:gone', 'sh_d')).length === 1);
    const [cmd, ...args] = world.terminals.detachCommand('zellij:gone', 'sh_d');
    expect((await execa(cmd!, args, { reject: false })).exitCode).toBe(0);
    await waitFor('the guest view to be gone', async () => (await world.terminals.clients('zellij:gone', 'sh_d')).length === 0);
    await world.terminals.kill('gone');
    expect(await world.terminals.exists('zellij:gone')).toBe(false);
  });
});
