import type { Access, Backend, ShareLink, TerminalRef } from '../../api/schemas.ts';
import type { TermshareError } from '../../errors.ts';
import type { Result } from '../../errors.ts';

/** How to attach a multiplexer client to exactly one terminal, for the backend to run. */
export type AttachCommand = { argv: string[]; env: Record<string, string> };

export type BackendStartSpec = {
  shareId: string;
  terminal: TerminalRef;
  access: Access;
  /** Run by the backend as its hosted command and by every participant. Read-only unless access is read-write. */
  attach: AttachCommand;
  linkTimeoutMs: number;
  signal?: AbortSignal;
};

export type BackendExit = { exitCode?: number; signal?: string; message: string };

/** A running backend process that has produced a link. */
export interface BackendSession {
  readonly backend: Backend;
  readonly link: ShareLink;
  readonly pid: number | undefined;
  /** Settles once when the process has ended, for whatever reason. */
  readonly exited: Promise<BackendExit>;
  isAlive(): boolean;
  /** Participants connected as the backend itself counts them (undefined when it cannot tell). */
  connectedClients(): Promise<number | undefined>;
  /** Ends the process (TERM, then KILL after a bound) and resolves once it is gone. Every participant is dropped. */
  stop(): Promise<BackendExit>;
}

export interface ShareBackendAdapter {
  readonly name: Backend;
  /** Starts the backend and resolves with a session only once a link is in hand. Never throws. */
  start(spec: BackendStartSpec): Promise<Result<BackendSession, TermshareError>>;
}
