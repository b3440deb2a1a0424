import { fromCallback } from 'xstate';
import type { Backend } from '../api/schemas.ts';
import type { BackendSession, ShareBackendAdapter } from '../adapters/backends/types.ts';
import type { TerminalAdapter } from '../adapters/terminals/types.ts';
import type { BackendActorInput, BackendCommand, BackendEvent } from '../machines/shareWorker.ts';
import { ErrorCodes, TermshareError, err, type Result } from '../errors.ts';
import { Ticker } from './ticker.ts';

export type BackendProcessDeps = {
  backends: Partial<Record<Backend, ShareBackendAdapter>>;
  terminals: TerminalAdapter;
  linkTimeoutMs: number;
  heartbeatIntervalMs: number;
  now: () => number;
  /** Told of every backend pid, so leftovers can be reaped after a crash of the service itself. */
  onProcess?: (shareId: string, pid: number | undefined, alive: boolean) => void;
};

/**
 * The worker's `backend` actor: starts the backend process, reports its link, probes it on a
 * heartbeat (process alive, guests attached), and ends it on STOP or when the actor is stopped.
 */
export function backendProcess(deps: BackendProcessDeps) {
  const ticker = new Ticker(deps.heartbeatIntervalMs);
  return fromCallback<BackendCommand, BackendActorInput>(({ input, sendBack, receive }) => {
    // Aborting a launch's signal kills that process (execa cancelSignal): one controller per launch.
    const abort = new AbortController();
    let switchAbort: AbortController | undefined;
    let session: BackendSession | undefined;
    let switching = false;
    let disposed = false;
    let stopBeats: (() => void) | undefined;
    let beating = false;
    /** Why the current backend was ended as hung, for its exit report. */
    let hung: string | undefined;
    const report = (e: BackendEvent) => {
      if (!disposed) sendBack(e);
    };
    const terminalClosed = async () => !(await deps.terminals.exists(input.terminal));
    const launch = async (backend: Backend, signal?: AbortSignal): Promise<Result<BackendSession, TermshareError>> => {
      const adapter = deps.backends[backend];
      if (!adapter) return err(new TermshareError('backend_unavailable', `the ${backend} backend is not configured on this service`));
      try {
        return await adapter.start({
          shareId: input.shareId,
          terminal: input.terminal,
          access: input.access,
          attach: deps.terminals.attachCommand(input.terminal, { shareId: input.shareId, access: input.access, role: 'host' }),
          linkTimeoutMs: deps.linkTimeoutMs,
          signal,
          ...(deps.terminals.detachCommand ? { detachGuests: deps.terminals.detachCommand(input.terminal, input.shareId) } : {}),
        });
      } catch (e) {
        // An adapter is not to throw; one that does fails this launch as a value, never the service.
        return err(new TermshareError(ErrorCodes.backendFailed, `the ${backend} backend could not be started: ${e instanceof Error ? e.message : String(e)}`));
      }
    };

    /**
     * A live process is not enough: a stopped one, one whose admin socket is deaf, or one whose
     * relay connection is gone is ended now and reported as crashed (the share's restart policy
     * decides what next). One that is reconnecting by itself misses its heartbeat meanwhile.
     */
    const heartbeat = async () => {
      if (beating) return;
      beating = true;
      try {
        await beat();
      } catch {
        // A probe that throws tells nothing: the beat is missed, and the worker's heartbeat budget decides.
      } finally {
        beating = false;
      }
    };
    const beat = async () => {
      const current = session;
      if (!current?.isAlive()) return; // a dead process reports through `exited`
      const health = await current.probe();
      if (current !== session || disposed) return;
      if (health.status === 'hung') {
        hung = health.reason;
        stopBeats?.();
        await end(current);
        return;
      }
      if (health.status !== 'ok') return;
      if (health.link) report({ type: 'BACKEND.RELINKED', link: health.link, at: deps.now() });
      const clients = await deps.terminals.clients(input.terminal, input.shareId);
      const guests = clients.filter((c) => c.role === 'guest').map((c) => c.id);
      // tmate's viewers live on the relay, not in local tmux: count what the relay pushes.
      const remote = current.backend === 'tmate' ? ((await current.connectedClients()) ?? 0) : 0;
      for (let i = 1; i <= remote; i++) guests.push(`tmate-viewer-${i}`);
      report({ type: 'BACKEND.HEARTBEAT', participants: guests.sort(), at: deps.now() });
    };

    /** The share's reaper detaches its guests before ending the backend; without one, they are detached here first. */
    const end = async (s: BackendSession) => {
      if (!deps.terminals.detachCommand) await deps.terminals.detachAll(input.terminal, input.shareId, 'guest').catch(() => undefined);
      return s.stop();
    };

    /** The current process's exit is the worker's business; a replaced one's is not. */
    const adopt = (next: BackendSession) => {
      session = next;
      deps.onProcess?.(input.shareId, next.pid, true);
      void next.exited.then(async (exit) => {
        deps.onProcess?.(input.shareId, next.pid, false);
        if (next !== session) return;
        stopBeats?.();
        const message = `${hung ? `${hung}: ended it as hung (${exit.message})` : exit.message}${exit.unconfirmed ? `; ${exit.unconfirmed}` : ''}`;
        report({ type: 'BACKEND.EXITED', code: 'backend_failed', message, terminalClosed: await terminalClosed(), at: deps.now(), ...(exit.unconfirmed ? { unconfirmed: exit.unconfirmed } : {}) });
      });
    };

    void (async () => {
      const started = await launch(input.backend, abort.signal);
      if (!started.ok) {
        report({ type: 'BACKEND.EXITED', code: started.error.code, message: started.error.message, terminalClosed: await terminalClosed(), at: deps.now() });
        return;
      }
      if (disposed || abort.signal.aborted) {
        await started.value.stop();
        return;
      }
      adopt(started.value);
      report({ type: 'BACKEND.READY', link: started.value.link, pid: started.value.pid, at: deps.now() });
      void heartbeat();
      stopBeats = ticker.every(() => void heartbeat());
    })().catch((e: unknown) => report({ type: 'BACKEND.EXITED', code: 'backend_failed', message: `the backend could not be run: ${String(e)}`, terminalClosed: false, at: deps.now() }));

    /** Make before break: the new backend's link is in hand before the old backend is ended. */
    const switchTo = async (backend: Backend) => {
      const old = session!;
      switching = true;
      switchAbort = new AbortController();
      const started = await launch(backend, switchAbort.signal);
      switching = false;
      switchAbort = undefined; // from here on, aborting it would kill the process now serving
      if (!started.ok) {
        report({ type: 'BACKEND.SWITCH_FAILED', backend, code: started.error.code, message: started.error.message, at: deps.now() });
        return;
      }
      if (disposed) return void started.value.stop();
      adopt(started.value);
      await end(old);
      report({ type: 'BACKEND.SWITCHED', backend, link: started.value.link, at: deps.now() });
    };

    receive((event) => {
      if (event.type === 'SWITCH') {
        if (!session || switching) return;
        void switchTo(event.backend).catch((e: unknown) => report({ type: 'BACKEND.SWITCH_FAILED', backend: event.backend, code: 'backend_failed', message: String(e), at: deps.now() }));
        return;
      }
      if (!session) return abort.abort(); // still starting: cancel the launch
      switchAbort?.abort(); // a switch in flight is cancelled; the serving process is ended the orderly way
      void end(session).catch(() => undefined); // its end reports through `exited`
    });

    return () => {
      disposed = true;
      abort.abort();
      switchAbort?.abort();
      stopBeats?.();
      if (session?.isAlive()) void session.stop().catch(() => undefined);
    };
  });
}
