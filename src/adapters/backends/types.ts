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
  /** argv that detaches the share's guest clients: what the share's reaper runs before ending the backend. */
  detachGuests?: string[];
};

export type BackendExit = {
  exitCode?: number;
  signal?: string;
  message: string;
  /** Set when the end could not confirm every participant disconnected: what could not be confirmed. */
  unconfirmed?: string;
};

/**
 * A heartbeat's look at a live backend. `hung`: alive but useless (stopped, deaf admin socket,
 * relay connection gone for good): the worker treats it as a crash now. `degraded`: not serving
 * but may recover by itself (tmate reconnecting to its relay): no heartbeat, so the worker's
 * heartbeat budget decides. `ok` carries a new link when the backend now shows another one.
 */
export type BackendProbe = { status: 'ok'; link?: ShareLink } | { status: 'hung' | 'degraded'; reason: string };

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
  /** Is the process serving? (bounded: a probe that cannot tell within its bound says `hung`) */
  probe(): Promise<BackendProbe>;
  /**
   * Ends the process the orderly way (guests detached, then TERM, then KILL after a bound) and
   * resolves once it is gone; `unconfirmed` in the result says what could not be confirmed.
   */
  stop(): Promise<BackendExit>;
}

export interface ShareBackendAdapter {
  readonly name: Backend;
  /** Starts the backend and resolves with a session only once a link is in hand. Never throws. */
  start(spec: BackendStartSpec): Promise<Result<BackendSession, TermshareError>>;
}
