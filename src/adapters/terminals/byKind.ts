import type { TerminalRef } from '../../api/schemas.ts';
import { ErrorCodes, TermshareError, err, type Result } from '../../errors.ts';
import type { AttachCommand } from '../backends/types.ts';
import { splitRef, type ResolvedTerminal } from './canonical.ts';
import type { AttachOptions, TerminalAdapter, TerminalClient, TerminalContext, TerminalControl, TerminalScreen } from './types.ts';

export type TerminalKinds = Partial<Record<'tmux' | 'zellij', TerminalAdapter & TerminalControl>>;

/**
 * The service's terminals: each reference goes to the adapter of its kind (`tmux:`, `zellij:`).
 * A kind with no adapter (zellij not installed) does not exist, and resolving it says why.
 */
export class TerminalsByKind implements TerminalAdapter, TerminalControl {
  constructor(
    private readonly kinds: TerminalKinds,
    /** Why a configured kind is missing (e.g. how to install zellij), for the refusal. */
    private readonly missing: Partial<Record<'tmux' | 'zellij', string>> = {},
  ) {}

  private of(terminal: TerminalRef): (TerminalAdapter & TerminalControl) | undefined {
    const kind = splitRef(terminal).kind;
    return kind === 'tmux' || kind === 'zellij' ? this.kinds[kind] : undefined;
  }

  exists(terminal: TerminalRef) {
    return this.of(terminal)?.exists(terminal) ?? Promise.resolve(false);
  }

  async resolve(terminal: TerminalRef): Promise<Result<ResolvedTerminal>> {
    const adapter = this.of(terminal);
    if (adapter) return adapter.resolve(terminal);
    const kind = splitRef(terminal).kind;
    const why = kind === 'tmux' || kind === 'zellij' ? this.missing[kind] : undefined;
    return err(new TermshareError(ErrorCodes.terminalNotFound, `terminal ${terminal} does not exist: ${why ?? 'termshare has tmux:<session> and zellij:<session> terminals'}`));
  }

  attachCommand(terminal: TerminalRef, opts: AttachOptions): AttachCommand {
    const adapter = this.of(terminal);
    if (!adapter) throw new Error(`no adapter for terminal ${terminal}`);
    return adapter.attachCommand(terminal, opts);
  }

  clients(terminal: TerminalRef, shareId: string): Promise<TerminalClient[]> {
    return this.of(terminal)?.clients(terminal, shareId) ?? Promise.resolve([]);
  }

  async notify(terminal: TerminalRef, clients: TerminalClient[], text: string): Promise<void> {
    await this.of(terminal)?.notify(terminal, clients, text);
  }

  async detachAll(terminal: TerminalRef, shareId: string, role?: 'host' | 'guest'): Promise<void> {
    await this.of(terminal)?.detachAll(terminal, shareId, role);
  }

  detachCommand(terminal: TerminalRef, shareId: string): string[] {
    return this.of(terminal)?.detachCommand?.(terminal, shareId) ?? ['true'];
  }

  context(terminal: TerminalRef): Promise<TerminalContext | undefined> {
    return this.of(terminal)?.context(terminal) ?? Promise.resolve(undefined);
  }

  screen(terminal: TerminalRef): Promise<TerminalScreen | undefined> {
    return this.of(terminal)?.screen(terminal) ?? Promise.resolve(undefined);
  }

  sendInput(terminal: TerminalRef, input: { text?: string; keys?: string[] }): Promise<boolean> {
    return this.of(terminal)?.sendInput(terminal, input) ?? Promise.resolve(false);
  }

  lockClients(terminal: TerminalRef): Promise<string[]> {
    return this.of(terminal)?.lockClients(terminal) ?? Promise.resolve([]);
  }

  async unlockClients(terminal: TerminalRef, clientIds: string[]): Promise<void> {
    await this.of(terminal)?.unlockClients(terminal, clientIds);
  }

  async notifyAll(terminal: TerminalRef, text: string): Promise<void> {
    await this.of(terminal)?.notifyAll(terminal, text);
  }
}
