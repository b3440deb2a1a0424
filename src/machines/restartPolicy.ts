/**
 * Supervision as data (OTP style): a share restarts its crashed worker at most `maxRestarts`
 * times within any `windowMs`; one more crash inside the window fails the share.
 */
export type RestartPolicy = { maxRestarts: number; windowMs: number };

export const defaultRestartPolicy: RestartPolicy = { maxRestarts: 3, windowMs: 60_000 };

/** Timing of a worker's own supervision: link bound, heartbeat budget, graceful stop bound. */
export type WorkerTimings = { linkTimeoutMs: number; heartbeatTimeoutMs: number; stopTimeoutMs: number };

export const defaultWorkerTimings: WorkerTimings = { linkTimeoutMs: 15_000, heartbeatTimeoutMs: 10_000, stopTimeoutMs: 3_000 };
