import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { processState } from '../process.ts';

/** `stopped (state T)` when the process is stopped (SIGSTOP, or traced), else undefined. */
export function stoppedState(pid: number): string | undefined {
  try {
    const s = processState(pid);
    return s === 'T' || s === 't' ? `is stopped (/proc state ${s})` : undefined;
  } catch {
    return undefined;
  }
}

/** TCP state ESTABLISHED in /proc/net/tcp. */
const ESTABLISHED = '01';

/**
 * Whether `pid` holds an established TCP connection to `port` (its relay), read from the
 * socket inodes among its fds and the kernel's TCP tables. undefined when that cannot be read.
 */
export function hasConnectionTo(pid: number, port: number): boolean | undefined {
  let inodes: Set<string>;
  try {
    inodes = new Set(
      readdirSync(`/proc/${pid}/fd`)
        .map((fd) => {
          try {
            return readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/)?.[1];
          } catch {
            return undefined;
          }
        })
        .filter((x): x is string => x !== undefined),
    );
  } catch {
    return undefined;
  }
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length < 10 || f[3] !== ESTABLISHED) continue;
      if (f[2]?.split(':')[1] === hexPort && inodes.has(f[9]!)) return true;
    }
  }
  return false;
}

/** The port of `ssh://host:port` (22 when omitted), or undefined for another scheme. */
export function sshPort(server: string): number | undefined {
  const m = server.match(/^ssh:\/\/(?:\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/);
  return m ? Number(m[1] ?? 22) : undefined;
}
