/**
 * Supervision as data (OTP style): a share restarts its crashed worker at most `maxRestarts`
 * times within any `windowMs`; one more crash inside the window fails the share. The n-th restart
 * in the window waits `backoff.initialMs * backoff.factor^(n-1)` (at most `backoff.maxMs`), so a
 * relay that is back within the sum of those waits finds its shares recovering, not failed.
 */
export type Backoff = { initialMs: number; factor: number; maxMs: number };
export type RestartPolicy = { maxRestarts: number; windowMs: number; backoff: Backoff };

export const defaultBackoff: Backoff = { initialMs: 1000, factor: 2, maxMs: 10_000 };
export const defaultRestartPolicy: RestartPolicy = { maxRestarts: 3, windowMs: 60_000, backoff: defaultBackoff };

/** The wait before the n-th restart within the window (n >= 1). */
export function backoffMs(b: Backoff, n: number): number {
  return Math.min(b.maxMs, Math.round(b.initialMs * b.factor ** Math.max(0, n - 1)));
}

/** Timing of a worker's own supervision: link bound, heartbeat budget, graceful stop bound. */
export type WorkerTimings = { linkTimeoutMs: number; heartbeatTimeoutMs: number; stopTimeoutMs: number };

/** stopTimeoutMs is above the reaper's two bounds (1.5 s each, see bin/termshare-reaper) plus its report. */
export const defaultWorkerTimings: WorkerTimings = { linkTimeoutMs: 15_000, heartbeatTimeoutMs: 10_000, stopTimeoutMs: 5_000 };

/** Each phase of a backend's orderly end (guests gone, then the process gone after SIGTERM). */
export const STOP_PHASE_MS = 1500;
