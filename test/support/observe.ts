import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { AUDIT_STREAM } from '../../src/api/subjects.ts';
import type { AuditRecord, EventBody } from '../../src/api/schemas.ts';
import { isAlive } from '../../src/adapters/process.ts';

/** Every event published under `subject`, collected from the moment of the call. */
export function collectEvents(nc: NatsConnection, subject = 'termshare.events.>') {
  const events: (EventBody & { subject: string })[] = [];
  const sub = nc.subscribe(subject, { callback: (_e, m) => void events.push({ ...(m.json() as EventBody), subject: m.subject }) });
  return { events, stop: () => sub.unsubscribe(), of: (shareId: string) => events.filter((e) => e.shareId === shareId) };
}

export async function auditRecords(nc: NatsConnection): Promise<AuditRecord[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(AUDIT_STREAM);
  const out: AuditRecord[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(AUDIT_STREAM, { seq }).catch(() => null);
    if (m) out.push(m.json() as AuditRecord);
  }
  return out;
}

/** Live `upterm host` processes started by the service whose state dir is `stateDir` (for one share, if given). */
export function uptermProcesses(stateDir: string, shareId?: string): number[] {
  const root = shareId ? `${stateDir}/workers/${shareId}` : stateDir;
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (!cmd[0]?.endsWith('upterm') || cmd[1] !== 'host') continue;
      if (!readlinkSync(`/proc/${name}/cwd`).startsWith(root)) continue;
      if (isAlive(Number(name))) pids.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}

/** Live tmate processes (a share's `tmate -F` server, or a `tmate wait` client) whose cwd or argv lies under `dir`. */
export function tmateProcesses(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      // Before setpriv execs tmate, the process still shows as setpriv.
      const isTmate = cmd[0]?.endsWith('tmate') || (cmd[0]?.endsWith('setpriv') && cmd.some((a) => a.endsWith('tmate')));
      if (!isTmate) continue;
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
      } catch {
        /* no access to cwd: judge by argv */
      }
      if (!cwd.startsWith(dir) && !cmd.some((a) => a.startsWith(dir))) continue;
      if (isAlive(Number(name))) pids.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return pids;
}
