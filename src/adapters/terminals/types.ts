import type { Access, TerminalRef } from '../../api/schemas.ts';
import type { Result } from '../../errors.ts';
import type { AttachCommand } from '../backends/types.ts';
import type { ResolvedTerminal } from './canonical.ts';

export type AttachOptions = { shareId: string; access: Access; role: 'host' | 'guest'; confined?: boolean };

/** A multiplexer client attached to a terminal on behalf of a share. */
export type TerminalClient = { id: string; pid: number; shareId: string; role: 'host' | 'guest'; readOnly: boolean };

export interface TerminalAdapter {
  exists(terminal: TerminalRef): Promise<boolean>;
  /**
   * The one session a reference names, by its exact name: its canonical reference and id. Aliases
   * (target syntax, ids, prefixes) are refused naming the canonical form; see canonical.ts.
   */
  resolve(terminal: TerminalRef): Promise<Result<ResolvedTerminal>>;
  /**
   * The command a backend runs to show exactly this terminal; tagged so its clients can be found again.
   * A guest's (and, with `confined`, a host's whose pane guests type into, as tmate's) is confined:
   * nothing typed reaches the multiplexer, only the terminal's pane, and only on read-write.
   */
  attachCommand(terminal: TerminalRef, opts: AttachOptions): AttachCommand;
  /** Clients attached on behalf of a share (participants are its guests). */
  clients(terminal: TerminalRef, shareId: string): Promise<TerminalClient[]>;
  /** Shows a message to the given clients, inside their view of the terminal. */
  notify(terminal: TerminalRef, clients: TerminalClient[], text: string): Promise<void>;
  /** Detaches the clients of a share (only those of one role, if given), so nobody keeps a view. */
  detachAll(terminal: TerminalRef, shareId: string, role?: 'host' | 'guest'): Promise<void>;
  /** argv of a command that detaches the share's guest clients, run by the share's reaper when the service is gone. */
  detachCommand?(terminal: TerminalRef, shareId: string): string[];
}

/** What an agent taking over a terminal is handed: where it is, what runs, what was on screen. */
export type TerminalContext = {
  cwd: string;
  /** The foreground process's starting environment, secrets redacted (redact.ts), as is the scrollback. */
  env: Record<string, string>;
  command: string;
  scrollback: string[];
  size: { cols: number; rows: number };
};

export type TerminalScreen = { lines: string[]; cursor: { x: number; y: number } };

/** Named keys an input request may send, besides literal text (tmux key names). */
export const INPUT_KEY = /^(Enter|Escape|Tab|BSpace|Space|Up|Down|Left|Right|Home|End|PageUp|PageDown|F([1-9]|1[0-2])|C-[a-z\\[\]]|M-[a-z])$/;

/** The input side of a terminal, used while a handoff's lease is held. */
export interface TerminalControl {
  context(terminal: TerminalRef): Promise<TerminalContext | undefined>;
  screen(terminal: TerminalRef): Promise<TerminalScreen | undefined>;
  /** Literal text first, then the named keys, in order. */
  sendInput(terminal: TerminalRef, input: { text?: string; keys?: string[] }): Promise<boolean>;
  /** Makes every client of the terminal read-only; returns the ids of those that were not. */
  lockClients(terminal: TerminalRef): Promise<string[]>;
  /** Gives input back to the clients `lockClients` took it from (those still attached). */
  unlockClients(terminal: TerminalRef, clientIds: string[]): Promise<void>;
  /** Shows a message to every client of the terminal. */
  notifyAll(terminal: TerminalRef, text: string): Promise<void>;
}
