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

/** Established TCP connections (socket inode → remote port) of one network namespace, as last read. */
type TcpTable = { at: number; remotePorts: Map<string, number> };
const tables = new Map<string, TcpTable>();

/** Reads /proc/<pid>/net/tcp{,6}: the whole namespace's connections, so one read serves every process in it. */
function readTcpTable(pid: number): Map<string, number> {
  const remotePorts = new Map<string, number>();
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
      remotePorts.set(f[9]!, parseInt(f[2]?.split(':')[1] ?? '', 16));
    }
  }
  return remotePorts;
}

/**
 * Whether `pid` holds an established TCP connection to `port` (its relay), read from the
 * socket inodes among its fds and the kernel's TCP tables. undefined when that cannot be read.
 * The table is the namespace's, as large as all shares together: a read younger than
 * `maxAgeMs` is reused for a yes (every share's heartbeat in a tick shares one read), and a no is
 * always checked against a fresh read, so a new connection is never missed.
 */
export function hasConnectionTo(pid: number, port: number, maxAgeMs = 500): boolean | undefined {
  let inodes: string[];
  let namespace: string;
  try {
    namespace = readlinkSync(`/proc/${pid}/ns/net`);
    inodes = readdirSync(`/proc/${pid}/fd`)
      .map((fd) => {
        try {
          return readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/)?.[1];
        } catch {
          return undefined;
        }
      })
      .filter((x): x is string => x !== undefined);
  } catch {
    return undefined;
  }
  const connected = (t: TcpTable) => inodes.some((i) => t.remotePorts.get(i) === port);
  const cached = tables.get(namespace);
  if (cached && Date.now() - cached.at < maxAgeMs && connected(cached)) return true;
  const fresh = { at: Date.now(), remotePorts: readTcpTable(pid) };
  tables.set(namespace, fresh);
  return connected(fresh);
}

/** The port of `ssh://host:port` (22 when omitted), or undefined for another scheme. */
export function sshPort(server: string): number | undefined {
  const m = server.match(/^ssh:\/\/(?:\[[^\]]+\]|[^:/]+)(?::(\d+))?\/?$/);
  return m ? Number(m[1] ?? 22) : undefined;
}
