import type { Access, TerminalRef } from '../../../api/schemas.ts';
import type { AttachCommand } from '../../backends/types.ts';
import type { TerminalAdapter, TerminalClient } from '../types.ts';

/** In-memory twin of the tmux adapter: terminals are names, clients are records, notices are kept. */
export class MemoryTerminals implements TerminalAdapter {
  readonly terminals = new Set<string>();
  readonly attached: TerminalClient[] = [];
  readonly notices: { terminal: string; client: string; text: string }[] = [];

  async exists(terminal: TerminalRef): Promise<boolean> {
    return this.terminals.has(terminal);
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

  join(shareId: string, id: string): void {
    this.attached.push({ id, pid: 0, shareId, role: 'guest', readOnly: true });
  }
}
