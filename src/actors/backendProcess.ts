import { fromCallback } from 'xstate';
import type { Backend } from '../api/schemas.ts';
import type { BackendSession, ShareBackendAdapter } from '../adapters/backends/types.ts';
import type { TerminalAdapter } from '../adapters/terminals/types.ts';
import type { BackendActorInput, BackendEvent } from '../machines/shareWorker.ts';

export type BackendProcessDeps = {
  backends: Partial<Record<Backend, ShareBackendAdapter>>;
  terminals: TerminalAdapter;
  linkTimeoutMs: number;
  heartbeatIntervalMs: number;
  now: () => number;
  /** How long a stop waits for the backend to see its guests gone before ending it anyway. */
  disconnectTimeoutMs?: number;
  /** Told of every backend pid, so leftovers can be reaped after a crash of the service itself. */
  onProcess?: (shareId: string, pid: number | undefined, alive: boolean) => void;
};

/**
 * The worker's `backend` actor: starts the backend process, reports its link, probes it on a
 * heartbeat (process alive, guests attached), and ends it on STOP or when the actor is stopped.
 */
export function backendProcess(deps: BackendProcessDeps) {
  return fromCallback<{ type: 'STOP' }, BackendActorInput>(({ input, sendBack, receive }) => {
    const abort = new AbortController();
    let session: BackendSession | undefined;
    let disposed = false;
    let timer: NodeJS.Timeout | undefined;
    const report = (e: BackendEvent) => {
      if (!disposed) sendBack(e);
    };
    const terminalClosed = async () => !(await deps.terminals.exists(input.terminal));

    const heartbeat = async () => {
      if (!session?.isAlive()) return; // a dead process reports through `exited`
      const clients = await deps.terminals.clients(input.terminal, input.shareId);
      report({ type: 'BACKEND.HEARTBEAT', participants: clients.filter((c) => c.role === 'guest').map((c) => c.id).sort(), at: deps.now() });
    };

    void (async () => {
      const adapter = deps.backends[input.backend];
      if (!adapter) {
        report({ type: 'BACKEND.EXITED', code: 'backend_unavailable', message: `the ${input.backend} backend is not configured on this service`, terminalClosed: false, at: deps.now() });
        return;
      }
      const started = await adapter.start({
        shareId: input.shareId,
        terminal: input.terminal,
        access: input.access,
        attach: deps.terminals.attachCommand(input.terminal, { shareId: input.shareId, access: input.access, role: 'host' }),
        linkTimeoutMs: deps.linkTimeoutMs,
        signal: abort.signal,
      });
      if (!started.ok) {
        report({ type: 'BACKEND.EXITED', code: started.error.code, message: started.error.message, terminalClosed: await terminalClosed(), at: deps.now() });
        return;
      }
      session = started.value;
      deps.onProcess?.(input.shareId, session.pid, true);
      if (disposed || abort.signal.aborted) {
        await session.stop();
        return;
      }
      report({ type: 'BACKEND.READY', link: session.link, pid: session.pid, at: deps.now() });
      void heartbeat();
      timer = setInterval(() => void heartbeat(), deps.heartbeatIntervalMs);
      const exit = await session.exited;
      clearInterval(timer);
      deps.onProcess?.(input.shareId, session.pid, false);
      report({ type: 'BACKEND.EXITED', code: 'backend_failed', message: exit.message, terminalClosed: await terminalClosed(), at: deps.now() });
    })();

    receive((event) => {
      if (event.type !== 'STOP') return;
      if (!session) return abort.abort(); // still starting: cancel the launch
      void disconnectThenStop(session, () => deps.terminals.detachAll(input.terminal, input.shareId, 'guest'), deps.disconnectTimeoutMs ?? 2000);
    });

    return () => {
      disposed = true;
      abort.abort();
      clearInterval(timer);
      if (session?.isAlive()) void session.stop();
    };
  });
}

/**
 * Ends a backend so that every participant is really disconnected. Killing upterm while guests
 * are attached sometimes leaves a guest's ssh connected to uptermd for good (seen with uptermd
 * 0.24.0 here). So the guests' tmux clients are detached first, which makes upterm close each
 * guest's session itself; once upterm counts no guest (or the bound passes), it is ended.
 */
async function disconnectThenStop(session: BackendSession, detachGuests: () => Promise<void>, boundMs: number): Promise<void> {
  await detachGuests().catch(() => undefined);
  const deadline = Date.now() + boundMs;
  while (session.isAlive() && Date.now() < deadline) {
    const n = await session.connectedClients();
    if (n === undefined || n === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  await session.stop();
}
