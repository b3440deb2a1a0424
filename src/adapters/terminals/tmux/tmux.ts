import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { TerminalRef } from '../../../api/schemas.ts';
import type { Result } from '../../../errors.ts';
import type { AttachCommand } from '../../backends/types.ts';
import { coalesced } from '../../coalesce.ts';
import { DETACH_GUESTS } from '../../process.ts';
import { resolveRef, type ResolvedTerminal, type Session } from '../canonical.ts';
import type { AttachOptions, TerminalAdapter, TerminalClient, TerminalContext, TerminalControl, TerminalScreen } from '../types.ts';
import * as control from './control.ts';

/** Environment tags put on every client a share attaches, so its clients can be told apart from anyone else's. */
/** The guest's view program (bin/termshare-view.js runs guestView.ts). */
export const GUEST_VIEW = fileURLToPath(new URL('../../../../bin/termshare-view.js', import.meta.url));

export const CLIENT_TAGS = { share: 'TERMSHARE_SHARE', role: 'TERMSHARE_ROLE' } as const;

export function tmuxSession(terminal: TerminalRef): string {
  if (!terminal.startsWith('tmux:')) throw new Error(`not a tmux terminal: ${terminal}`);
  return terminal.slice('tmux:'.length);
}

/** The session of a `tmux:` terminal, or undefined for any other kind. */
function sessionOf(terminal: TerminalRef): string | undefined {
  return terminal.startsWith('tmux:') ? tmuxSession(terminal) : undefined;
}

export class TmuxTerminals implements TerminalAdapter, TerminalControl {
  constructor(
    private readonly socket?: string,
    private readonly bin = 'tmux',
  ) {}

  private get socketArgs(): string[] {
    return this.socket ? ['-L', this.socket] : [];
  }

  run(args: string[]) {
    // TMUX is removed so a service started inside tmux still talks to the configured server.
    return execa(this.bin, [...this.socketArgs, ...args], { reject: false, env: { TMUX: undefined }, extendEnv: true });
  }

  async exists(terminal: TerminalRef): Promise<boolean> {
    if (!terminal.startsWith('tmux:')) return false;
    const r = await this.run(['has-session', '-t', `=${tmuxSession(terminal)}`]);
    return r.exitCode === 0;
  }

  /**
   * The server's sessions and clients, each read once for all who ask at the same time (every
   * share's heartbeat, the service's terminal watch): one `tmux` run per tick, not one per share.
   */
  private readonly listSessions = coalesced(() => this.run(['list-sessions', '-F', '#{session_id}\t#{session_name}']));
  private readonly listClients = coalesced(() => this.run(['list-clients', '-F', '#{client_tty}\t#{client_pid}\t#{client_readonly}\t#{session_name}']));
  /** A client's share tags, by pid and tty (a process's environment does not change); pruned to the clients last listed. */
  private readonly tagsOf = new Map<string, Promise<{ share?: string; role?: string } | undefined>>();

  async resolve(terminal: TerminalRef): Promise<Result<ResolvedTerminal>> {
    const listed = await this.listSessions();
    // No server running means no sessions.
    const sessions: Session[] = (listed.exitCode === 0 ? listed.stdout.split('\n') : []).filter(Boolean).map((line) => {
      const [id = '', ...name] = line.split('\t');
      return { id, name: name.join('\t') };
    });
    // What tmux itself would make of the name as a session target, exact (`=name`) or not.
    const reach = async (name: string) => {
      for (const target of [`=${name}`, name]) {
        const r = await this.run(['list-windows', '-t', target, '-F', '#{session_id}']);
        const id = r.exitCode === 0 ? r.stdout.split('\n')[0] : undefined;
        const found = sessions.find((s) => s.id === id);
        if (found) return found;
      }
      return undefined;
    };
    return resolveRef(terminal, sessions, reach);
  }

  /**
   * The host client (upterm's own hosted command, whose screen nobody sees) is a plain read-only
   * tmux client. A guest gets the confined view (guestView.ts): a read-only, ignore-size client that
   * no keystroke reaches, and for read-write the guest's bytes written to the pane with `send-keys -H`.
   */
  attachCommand(terminal: TerminalRef, opts: AttachOptions): AttachCommand {
    const tags = ['env', '-u', 'TMUX', `${CLIENT_TAGS.share}=${opts.shareId}`, `${CLIENT_TAGS.role}=${opts.role}`];
    const session = tmuxSession(terminal);
    if (opts.role === 'host' && !opts.confined) {
      return { argv: [...tags, this.bin, ...this.socketArgs, 'attach-session', '-f', 'read-only,ignore-size', '-t', `=${session}`], env: {} };
    }
    const socket = this.socket ? ['--socket', this.socket] : [];
    return { argv: [...tags, process.execPath, GUEST_VIEW, '--tmux', this.bin, ...socket, '--session', session, '--access', opts.access], env: {} };
  }

  async clients(terminal: TerminalRef, shareId: string): Promise<TerminalClient[]> {
    const session = tmuxSession(terminal);
    const r = await this.listClients();
    if (r.exitCode !== 0) return [];
    const lines = r.stdout.split('\n').filter(Boolean).map((line) => line.split('\t'));
    const listed = new Set(lines.map(([tty, pid]) => `${pid} ${tty}`));
    for (const key of this.tagsOf.keys()) if (!listed.has(key)) this.tagsOf.delete(key);
    const found: TerminalClient[] = [];
    for (const [tty, pidText, ro, ...name] of lines) {
      if (!tty || name.join('\t') !== session) continue;
      const pid = Number(pidText);
      const key = `${pidText} ${tty}`;
      let tags = this.tagsOf.get(key);
      if (!tags) this.tagsOf.set(key, (tags = processTags(pid)));
      const read = await tags;
      if (!read) this.tagsOf.delete(key); // unreadable now: asked again next time
      const { share, role } = read ?? {};
      // A guest view's size anchor (ptyClient.js) is no participant.
      if (share !== shareId || role === 'anchor') continue;
      found.push({ id: tty, pid, shareId, role: role === 'host' ? 'host' : 'guest', readOnly: ro === '1' });
    }
    return found;
  }

  async notify(_terminal: TerminalRef, clients: TerminalClient[], text: string): Promise<void> {
    await Promise.all(clients.map((c) => this.run(['display-message', '-c', c.id, '-d', '15000', '--', control.literalMessage(text)])));
  }

  async detachAll(terminal: TerminalRef, shareId: string, role?: 'host' | 'guest'): Promise<void> {
    const clients = (await this.clients(terminal, shareId)).filter((c) => !role || c.role === role);
    await Promise.all(clients.map((c) => this.run(['detach-client', '-t', c.id])));
  }

  detachCommand(_terminal: TerminalRef, shareId: string): string[] {
    return ['sh', DETACH_GUESTS, shareId, this.bin, ...this.socketArgs];
  }

  // The input side (TerminalControl); the tmux details are in control.ts.
  private readonly runBound = (args: string[]) => this.run(args);

  async context(terminal: TerminalRef): Promise<TerminalContext | undefined> {
    const s = sessionOf(terminal);
    return s === undefined ? undefined : control.readContext(this.runBound, s);
  }

  async screen(terminal: TerminalRef): Promise<TerminalScreen | undefined> {
    const s = sessionOf(terminal);
    return s === undefined ? undefined : control.readScreen(this.runBound, s);
  }

  async sendInput(terminal: TerminalRef, input: { text?: string; keys?: string[] }): Promise<boolean> {
    const s = sessionOf(terminal);
    return s === undefined ? false : control.sendInput(this.runBound, s, input);
  }

  async lockClients(terminal: TerminalRef): Promise<string[]> {
    const s = sessionOf(terminal);
    return s === undefined ? [] : control.lockClients(this.runBound, s);
  }

  async unlockClients(terminal: TerminalRef, clientIds: string[]): Promise<void> {
    const s = sessionOf(terminal);
    if (s !== undefined) await control.unlockClients(this.runBound, s, clientIds);
  }

  async notifyAll(terminal: TerminalRef, text: string): Promise<void> {
    const s = sessionOf(terminal);
    if (s !== undefined) await control.notifyAll(this.runBound, s, text);
  }

  /** Makes a detached session (used by the demo and the tests). */
  async create(session: string, opts: { command?: string; cwd?: string; width?: number; height?: number; env?: Record<string, string> } = {}) {
    const args = ['new-session', '-d', '-s', session, '-x', String(opts.width ?? 120), '-y', String(opts.height ?? 40)];
    if (opts.cwd) args.push('-c', opts.cwd);
    for (const [k, v] of Object.entries(opts.env ?? {})) args.push('-e', control.tmuxArg(`${k}=${v}`));
    if (opts.command) args.push(opts.command);
    return this.run(args);
  }

  async kill(session: string) {
    return this.run(['kill-session', '-t', `=${session}`]);
  }
}

async function processTags(pid: number): Promise<{ share?: string; role?: string } | undefined> {
  try {
    const env = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
    const get = (k: string) => env.find((e) => e.startsWith(`${k}=`))?.slice(k.length + 1);
    return { share: get(CLIENT_TAGS.share), role: get(CLIENT_TAGS.role) };
  } catch {
    return undefined;
  }
}
