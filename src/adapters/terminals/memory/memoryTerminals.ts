import type { Access, TerminalRef } from '../../../api/schemas.ts';
import type { Result } from '../../../errors.ts';
import type { AttachCommand } from '../../backends/types.ts';
import { resolveRef, splitRef, type ResolvedTerminal, type Session } from '../canonical.ts';
import { redactContext } from '../redact.ts';
import { INPUT_KEY, type TerminalAdapter, type TerminalClient, type TerminalContext, type TerminalControl, type TerminalScreen } from '../types.ts';

/**
 * In-memory twin of the tmux adapter: terminals are names, clients are records, notices are kept.
 * Its clients all belong to whichever terminal is asked about (tests use one terminal at a time).
 */
export class MemoryTerminals implements TerminalAdapter, TerminalControl {
  readonly terminals = new Set<string>();
  readonly attached: TerminalClient[] = [];
  readonly notices: { terminal: string; client: string; text: string }[] = [];
  /** Scripted answers of `context`/`screen`, per terminal (an existing terminal without one gets a blank one). */
  readonly contexts = new Map<string, TerminalContext>();
  readonly screens = new Map<string, TerminalScreen>();
  /** Every input accepted, in order. */
  readonly inputs: { terminal: string; text?: string; keys: string[] }[] = [];
  /** Messages sent to every client of a terminal (`notifyAll`). */
  readonly broadcasts: { terminal: string; text: string }[] = [];
  /** Ids of the clients `lockClients` made read-only and that have not been unlocked. */
  readonly locked = new Set<string>();
  /** Set to make the terminal refuse input (as tmux does when its pane is gone). */
  refuseInput = false;

  async exists(terminal: TerminalRef): Promise<boolean> {
    return this.terminals.has(terminal);
  }

  /** Session ids (`$N`), given in the order terminals are first seen, kept across `rename`. */
  private readonly ids = new Map<string, string>();
  private nextId = 0;

  async resolve(terminal: TerminalRef): Promise<Result<ResolvedTerminal>> {
    const sessions: Session[] = [...this.terminals].filter((t) => t.startsWith('tmux:')).map((t) => ({ id: this.idOf(t), name: splitRef(t).name }));
    return resolveRef(terminal, sessions, async (name) => reachModel(`=${name}`, sessions) ?? reachModel(name, sessions));
  }

  /** Renames a terminal as `tmux rename-session` does: same session, same id, another name. */
  rename(from: TerminalRef, to: TerminalRef): void {
    const id = this.idOf(from);
    this.terminals.delete(from);
    this.terminals.add(to);
    this.ids.set(to, id);
    this.ids.delete(from);
  }

  private idOf(terminal: string): string {
    let id = this.ids.get(terminal);
    if (!id) this.ids.set(terminal, (id = `$${this.nextId++}`));
    return id;
  }

  attachCommand(terminal: TerminalRef, opts: { shareId: string; access: Access; role: 'host' | 'guest' }): AttachCommand {
    return { argv: ['memory-attach', terminal, opts.role, opts.access], env: { TERMSHARE_SHARE: opts.shareId } };
  }

  async clients(terminal: TerminalRef, shareId: string): Promise<TerminalClient[]> {
    return this.terminals.has(terminal) ? this.attached.filter((c) => c.shareId === shareId) : [];
  }

  async notify(terminal: TerminalRef, clients: TerminalClient[], text: string): Promise<void> {
    for (const c of clients) this.notices.push({ terminal, client: c.id, text });
  }

  async detachAll(_terminal: TerminalRef, shareId: string, role?: 'host' | 'guest'): Promise<void> {
    for (let i = this.attached.length - 1; i >= 0; i--) {
      const c = this.attached[i]!;
      if (c.shareId === shareId && (!role || c.role === role)) this.attached.splice(i, 1);
    }
  }

  async context(terminal: TerminalRef): Promise<TerminalContext | undefined> {
    if (!this.terminals.has(terminal)) return undefined;
    const c = this.contexts.get(terminal) ?? { cwd: '/', env: {}, command: 'sh', scrollback: [], size: { cols: 80, rows: 24 } };
    return redactContext(c);
  }

  async screen(terminal: TerminalRef): Promise<TerminalScreen | undefined> {
    if (!this.terminals.has(terminal)) return undefined;
    return this.screens.get(terminal) ?? { lines: [], cursor: { x: 0, y: 0 } };
  }

  async sendInput(terminal: TerminalRef, input: { text?: string; keys?: string[] }): Promise<boolean> {
    const keys = input.keys ?? [];
    if (!this.terminals.has(terminal) || this.refuseInput || !keys.every((k) => INPUT_KEY.test(k))) return false;
    this.inputs.push({ terminal, ...(input.text !== undefined ? { text: input.text } : {}), keys: [...keys] });
    return true;
  }

  async lockClients(terminal: TerminalRef): Promise<string[]> {
    if (!this.terminals.has(terminal)) return [];
    const changed = this.attached.filter((c) => !c.readOnly);
    for (const c of changed) {
      c.readOnly = true;
      this.locked.add(c.id);
    }
    return changed.map((c) => c.id);
  }

  async unlockClients(terminal: TerminalRef, clientIds: string[]): Promise<void> {
    if (!this.terminals.has(terminal)) return;
    for (const id of clientIds) {
      this.locked.delete(id);
      const c = this.attached.find((a) => a.id === id);
      if (c) c.readOnly = false;
    }
  }

  async notifyAll(terminal: TerminalRef, text: string): Promise<void> {
    if (this.terminals.has(terminal)) this.broadcasts.push({ terminal, text });
  }

  join(shareId: string, id: string): void {
    this.attached.push({ id, pid: 0, shareId, role: 'guest', readOnly: true });
  }

  /** A client that may type (a read-write guest, or the terminal owner's own client). */
  joinWritable(shareId: string, id: string, role: 'host' | 'guest' = 'guest'): void {
    this.attached.push({ id, pid: 0, shareId, role, readOnly: false });
  }
}

/**
 * A model of how tmux reads a session target (tmux 3.3a): `$N` is an id; `=` asks for an exact
 * name; the session part ends at `:` or `.` (a `.` pane part must be a number); otherwise a unique
 * prefix matches. The terminal contract suite holds this model to the real tmux.
 */
function reachModel(target: string, sessions: Session[]): Session | undefined {
  const exact = target.startsWith('=');
  const body = exact ? target.slice(1) : target;
  const colon = body.indexOf(':');
  const dot = body.indexOf('.');
  if (colon < 0 && dot >= 0 && !/^\d*$/.test(body.slice(dot + 1))) return undefined;
  const name = colon >= 0 ? body.slice(0, colon) : dot >= 0 ? body.slice(0, dot) : body;
  if (name.startsWith('$')) return sessions.find((s) => s.id === name);
  const found = sessions.find((s) => s.name === name);
  if (found || exact) return found;
  const prefixed = sessions.filter((s) => s.name.startsWith(name));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}
