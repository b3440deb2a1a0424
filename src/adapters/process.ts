import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ResultPromise } from 'execa';

/** Quotes argv for a shell command line (upterm's --force-command is one string). */
export function shellJoin(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/** A helper process (the embedded nats-server) dies with the service, even on SIGKILL (parent-death signal). */
export function withParentDeathSignal(bin: string, args: string[]): [string, string[]] {
  return ['setpriv', ['--pdeathsig', 'KILL', '--', bin, ...args]];
}

/** The per-share reaper and the guest detacher (sh scripts in bin/). */
export const REAPER = fileURLToPath(new URL('../../bin/termshare-reaper', import.meta.url));
export const DETACH_GUESTS = fileURLToPath(new URL('../../bin/termshare-detach-guests', import.meta.url));

/** What the reaper needs to end a backend the orderly way (see bin/termshare-reaper). */
export type ReaperSpec = {
  /** argv that detaches the share's guest clients. */
  detach?: string[];
  /** A shell command printing how many guests the backend counts; it must end by itself (bounded). */
  count?: string;
  /** Bound of each phase: guests gone, then the backend gone after SIGTERM. */
  boundMs: number;
};

/**
 * A backend process runs under its share's reaper (bin/termshare-reaper), which the kernel sends
 * SIGTERM when the service dies (even by SIGKILL): the reaper then detaches the share's guests,
 * ends the backend with SIGTERM and SIGKILLs it after the bound. The backend itself gets SIGTERM
 * should the reaper die first. Ending the reaper with SIGTERM is how the service ends a backend.
 */
export function underReaper(bin: string, args: string[], spec: ReaperSpec): { file: string; argv: string[]; env: Record<string, string> } {
  // Both always set ('' when unused): the reaper evals them, so none may come from the service's own environment.
  const env: Record<string, string> = {
    TERMSHARE_REAPER_BOUND_MS: String(spec.boundMs),
    TERMSHARE_REAPER_DETACH: spec.detach ? shellJoin(spec.detach) : '',
    TERMSHARE_REAPER_COUNT: spec.count ?? '',
  };
  return { file: 'setpriv', argv: ['--pdeathsig', 'TERM', '--', 'sh', REAPER, '--', 'setpriv', '--pdeathsig', 'TERM', '--', bin, ...args], env };
}

/** The reaper's report on stderr: the backend's pid, then how the end went. */
export type ReaperEnd = { guests: 'gone' | 'left' | 'unknown'; backend: 'exited' | 'term' | 'kill'; status: number };

export function reaperBackendPid(stderr: string): number | undefined {
  const m = stderr.match(/termshare-reaper: backend pid (\d+)/);
  return m ? Number(m[1]) : undefined;
}

export function reaperEnd(stderr: string): ReaperEnd | undefined {
  const m = stderr.match(/termshare-reaper: end guests=(gone|left|unknown) backend=(exited|term|kill) status=(\d+)/);
  return m ? { guests: m[1] as ReaperEnd['guests'], backend: m[2] as ReaperEnd['backend'], status: Number(m[3]) } : undefined;
}

/** `SIGKILL` for 137 (a shell's 128+N), undefined for a plain exit code. */
export function signalOfStatus(status: number | undefined): string | undefined {
  if (status === undefined || status <= 128) return undefined;
  return Object.entries(constants.signals).find(([, n]) => n === status - 128)?.[0];
}

export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A killed child that nobody reaped yet is a zombie, not a live process.
  try {
    return processState(pid) !== 'Z';
  } catch {
    return false;
  }
}

/** The one-letter state from /proc/PID/stat (R, S, Z, ...). */
export function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const end = stat.lastIndexOf(')');
  return stat.slice(end + 2, end + 3);
}

/** Ends a child: TERM, then KILL after `killAfterMs`; resolves once the process has exited. */
export async function terminate(child: ResultPromise, killAfterMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  try {
    await child;
  } finally {
    clearTimeout(timer);
  }
}
