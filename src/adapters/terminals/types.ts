import type { Access, TerminalRef } from '../../api/schemas.ts';
import type { AttachCommand } from '../backends/types.ts';

/** A multiplexer client attached to a terminal on behalf of a share. */
export type TerminalClient = { id: string; pid: number; shareId: string; role: 'host' | 'guest'; readOnly: boolean };

export interface TerminalAdapter {
  exists(terminal: TerminalRef): Promise<boolean>;
  /** The command a backend runs to show exactly this terminal; tagged so its clients can be found again. */
  attachCommand(terminal: TerminalRef, opts: { shareId: string; access: Access; role: 'host' | 'guest' }): AttachCommand;
  /** Clients attached on behalf of a share (participants are its guests). */
  clients(terminal: TerminalRef, shareId: string): Promise<TerminalClient[]>;
  /** Shows a message to the given clients, inside their view of the terminal. */
  notify(terminal: TerminalRef, clients: TerminalClient[], text: string): Promise<void>;
  /** Detaches the clients of a share (only those of one role, if given), so nobody keeps a view. */
  detachAll(terminal: TerminalRef, shareId: string, role?: 'host' | 'guest'): Promise<void>;
}
