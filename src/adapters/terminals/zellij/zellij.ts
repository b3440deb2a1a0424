import { mkdirSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { TerminalRef } from '../../../api/schemas.ts';
import type { Result } from '../../../errors.ts';
import type { AttachCommand } from '../../backends/types.ts';
import type { ResolvedTerminal } from '../canonical.ts';
import { CLIENT_TAGS } from '../tmux/tmux.ts';
import type { AttachOptions, TerminalAdapter, TerminalClient, TerminalContext, TerminalControl, TerminalScreen } from '../types.ts';
import * as humans from './humanClients.ts';
import * as panes from './panes.ts';
import { liveSessions, resolveZellij } from './sessions.ts';

export const ZELLIJ_VIEW = fileURLToPath(new URL('../../../../bin/termshare-zellij-view.js', import.meta.url));
export const ZELLIJ_DETACH_GUESTS = fileURLToPath(new URL('../../../../bin/termshare-zellij-detach-guests', import.meta.url));

export type ZellijOptions = {
  /** The zellij binary (locate.ts finds it). */
  bin: string;
  /** Set on every zellij command: ZELLIJ_SOCKET_DIR, ZELLIJ_CONFIG_DIR, XDG_* (which sessions, which config). */
  env?: Record<string, string>;
  /** termshare's own files for these sessions (lease markers, notices); 0700. */
  runDir?: string;
};

/** The session of a `zellij:` terminal, or undefined for any other kind. */
export function zellijSession(terminal: TerminalRef): string | undefined {
  return terminal.startsWith('zellij:') ? terminal.slice('zellij:'.length) : undefined;
}

/** A share's client: a guest view (or tmate's confined host view), or upterm's plain host `zellij watch`. */
type Tagged = { pid: number; role: 'host' | 'guest'; session: string; view: boolean };

/**
 * zellij 0.45.1 terminals: `zellij:<session>` is one live zellij session, its focused pane the
 * terminal's pane. Every participant sees it through `zellij watch` (zellij's read-only client,
 * enforced by the server); a read-write guest's keys are written to the pane by the guest view.
 */
export class ZellijTerminals implements TerminalAdapter, TerminalControl {
  readonly bin: string;
  readonly env: Record<string, string>;
  readonly runDir: string;

  constructor(o: ZellijOptions) {
    this.bin = o.bin;
    this.env = o.env ?? {};
    this.runDir = o.runDir ?? join(tmpdir(), `termshare-zellij-${userInfo().uid}`);
    mkdirSync(join(this.runDir, 'notices'), { recursive: true, mode: 0o700 });
  }

  /** zellij with the configured environment, never aimed at a zellij session the service itself runs in. */
  run(args: string[], env: Record<string, string> = {}) {
    return execa(this.bin, args, {
      reject: false,
      timeout: 15_000,
      extendEnv: true,
      env: { ...this.env, ZELLIJ: undefined, ZELLIJ_SESSION_NAME: undefined, ZELLIJ_PANE_ID: undefined, ...env },
    });
  }

  private inSession(session: string) {
    return (args: string[], env?: Record<string, string>) => this.run(['--session', session, ...args], env);
  }

  private get fullEnv(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.env };
  }

  leaseFile(session: string): string {
    return join(this.runDir, `lease-${session}`);
  }

  /** The pane a held lease is on (the lease file holds its id), if one is held. */
  private async leasedPane(session: string): Promise<number | undefined> {
    const text = await readFile(this.leaseFile(session), 'utf8').catch(() => undefined);
    return text && /^\d+$/.test(text.trim()) ? Number(text.trim()) : undefined;
  }

  async exists(terminal: TerminalRef): Promise<boolean> {
    const s = zellijSession(terminal);
    return s !== undefined && (await liveSessions((a) => this.run(a), this.fullEnv)).some((x) => x.name === s);
  }

  async resolve(terminal: TerminalRef): Promise<Result<ResolvedTerminal>> {
    return resolveZellij(terminal, await liveSessions((a) => this.run(a), this.fullEnv));
  }

  /**
   * upterm's host (whose screen nobody sees) is a plain `zellij watch`. A guest, and tmate's one
   * hosted client (`confined`), get the guest view: a watch client no key reaches, and on
   * read-write the guest's bytes written to the focused pane (zellijView.js).
   */
  attachCommand(terminal: TerminalRef, opts: AttachOptions): AttachCommand {
    const session = zellijSession(terminal);
    if (session === undefined) throw new Error(`not a zellij terminal: ${terminal}`);
    const env = Object.entries(this.env).map(([k, v]) => `${k}=${v}`);
    const tags = ['env', '-u', 'ZELLIJ', '-u', 'ZELLIJ_SESSION_NAME', '-u', 'ZELLIJ_PANE_ID', ...env, `${CLIENT_TAGS.share}=${opts.shareId}`, `${CLIENT_TAGS.role}=${opts.role}`];
    if (opts.role === 'host' && !opts.confined) return { argv: [...tags, this.bin, 'watch', session], env: {} };
    return {
      argv: [...tags, process.execPath, ZELLIJ_VIEW, '--zellij', this.bin, '--session', session, '--access', opts.access,
        '--lease', this.leaseFile(session), '--notices', join(this.runDir, 'notices')],
      env: {},
    };
  }

  private async tagged(shareId: string): Promise<Tagged[]> {
    return this.scan((env) => env.includes(`${CLIENT_TAGS.share}=${shareId}`));
  }

  /** Every share's guest views, whatever the share. */
  private async allViews(): Promise<Tagged[]> {
    return (await this.scan((env) => env.some((e) => e.startsWith(`${CLIENT_TAGS.share}=`)))).filter((t) => t.view);
  }

  private async scan(match: (env: string[]) => boolean): Promise<Tagged[]> {
    const found: Tagged[] = [];
    for (const pid of (await readdir('/proc')).filter((d) => /^\d+$/.test(d))) {
      const env = (await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '')).split('\0');
      if (!match(env)) continue;
      const role = env.find((e) => e.startsWith(`${CLIENT_TAGS.role}=`))?.slice(CLIENT_TAGS.role.length + 1);
      if (role !== 'host' && role !== 'guest') continue;
      const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
      const isView = argv.some((a) => a.endsWith('termshare-zellij-view.js'));
      const isWatch = argv[0] === this.bin && argv[1] === 'watch';
      const session = isView ? argv[argv.indexOf('--session') + 1] : isWatch ? argv[2] : undefined;
      if (session) found.push({ pid: Number(pid), role, session, view: isView });
    }
    return found;
  }

  async clients(terminal: TerminalRef, shareId: string): Promise<TerminalClient[]> {
    const s = zellijSession(terminal);
    if (s === undefined) return [];
    // Every share client is a zellij watcher: read-only in zellij itself.
    return (await this.tagged(shareId)).filter((t) => t.session === s).map((t) => ({ id: `pid:${t.pid}`, pid: t.pid, shareId, role: t.role, readOnly: true }));
  }

  async notify(_terminal: TerminalRef, clients: TerminalClient[], text: string): Promise<void> {
    await Promise.all(clients.map(async (c) => {
      await writeFile(join(this.runDir, 'notices', String(c.pid)), text, { mode: 0o600 });
      try {
        process.kill(c.pid, 'SIGUSR2');
      } catch {
        await rm(join(this.runDir, 'notices', String(c.pid)), { force: true });
      }
    }));
  }

  async detachAll(terminal: TerminalRef, shareId: string, role?: 'host' | 'guest'): Promise<void> {
    for (const c of await this.clients(terminal, shareId)) {
      if (role && c.role !== role) continue;
      try {
        process.kill(c.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }

  detachCommand(_terminal: TerminalRef, shareId: string): string[] {
    return ['sh', ZELLIJ_DETACH_GUESTS, shareId];
  }

  async context(terminal: TerminalRef): Promise<TerminalContext | undefined> {
    const s = zellijSession(terminal);
    return s === undefined || !(await this.exists(terminal)) ? undefined : panes.readContext(this.inSession(s), s, await this.leasedPane(s));
  }

  async screen(terminal: TerminalRef): Promise<TerminalScreen | undefined> {
    const s = zellijSession(terminal);
    return s === undefined ? undefined : panes.readScreen(this.inSession(s), await this.leasedPane(s));
  }

  async sendInput(terminal: TerminalRef, input: { text?: string; keys?: string[] }): Promise<boolean> {
    const s = zellijSession(terminal);
    return s === undefined ? false : panes.sendInput(this.inSession(s), input, await this.leasedPane(s));
  }

  /**
   * First the lease file (naming the leased pane), which every guest view checks before it writes;
   * then the cover over that pane for the human clients (humanClients.ts). Called again while the
   * lease is held (the service's lease check): the pane stays the one first leased.
   */
  async lockClients(terminal: TerminalRef): Promise<string[]> {
    const s = zellijSession(terminal);
    if (s === undefined || !(await this.exists(terminal))) return [];
    const run = this.inSession(s);
    const pane = (await this.leasedPane(s)) ?? (await panes.activePane(run))?.id;
    if (pane === undefined) return [];
    await writeFile(this.leaseFile(s), String(pane), { mode: 0o600 });
    return humans.lock(run, this.bin, pane);
  }

  async unlockClients(terminal: TerminalRef, clientIds: string[]): Promise<void> {
    const s = zellijSession(terminal);
    if (s === undefined) return;
    await humans.unlock(this.inSession(s), clientIds);
    await rm(this.leaseFile(s), { force: true });
  }

  /** The humans see it in the pane's frame title, the guests at the bottom of their view. */
  async notifyAll(terminal: TerminalRef, text: string): Promise<void> {
    const s = zellijSession(terminal);
    if (s === undefined) return;
    const pane = (await this.leasedPane(s)) ?? (await panes.activePane(this.inSession(s)))?.id;
    if (pane !== undefined) await humans.notify(this.inSession(s), pane, text);
    const views = (await this.allViews()).filter((v) => v.session === s);
    await this.notify(terminal, views.map((v) => ({ id: `pid:${v.pid}`, pid: v.pid, shareId: '', role: v.role, readOnly: true })), text);
  }

  /** Makes a detached session running `command` (or the default shell) in `cwd` with `env` added (demo and tests). */
  async create(session: string, opts: { command?: string[]; cwd?: string; env?: Record<string, string> } = {}) {
    return execa(this.bin, ['attach', '--create-background', session, ...(opts.command ? ['--', ...opts.command] : [])], {
      reject: false,
      timeout: 15_000,
      extendEnv: true,
      cwd: opts.cwd,
      env: { ...this.env, ...opts.env, ZELLIJ: undefined, ZELLIJ_SESSION_NAME: undefined, ZELLIJ_PANE_ID: undefined },
    });
  }

  async kill(session: string) {
    return this.run(['kill-session', session]);
  }
}
