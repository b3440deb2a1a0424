import { readFileSync } from 'node:fs';
import type { ResultPromise } from 'execa';

/** Quotes argv for a shell command line (upterm's --force-command is one string). */
export function shellJoin(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ');
}

/** Backend processes die with the service, even on SIGKILL (parent-death signal). */
export function withParentDeathSignal(bin: string, args: string[]): [string, string[]] {
  return ['setpriv', ['--pdeathsig', 'KILL', '--', bin, ...args]];
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
