import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { Kvm } from '@nats-io/kv';
import { jetstreamManager } from '@nats-io/jetstream';
import { decodeBadgeKey } from '../../src/adapters/bus/nats/badges.ts';
import { isAlive } from '../../src/adapters/process.ts';
import { LEASE_OPTION } from '../../src/adapters/terminals/tmux/guestInput.js';
import type { AuditRecord, Badge, Handoff, Share } from '../../src/api/schemas.ts';
import { AUDIT_STREAM } from '../../src/api/subjects.ts';
import { REVOKE_BOUND_MS } from '../support/bounds.ts';
import type { Invariant } from './engine.ts';
import { backendPid } from './faults.ts';
import type { World } from './world.ts';

/** Retries `probe` until it sees nothing wrong or `boundMs` has passed; what it still sees is a violation. */
async function settle(boundMs: number, probe: () => Promise<string[]>): Promise<string[]> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const seen = await probe().catch((e: unknown) => [`probe failed: ${String(e)}`]);
    if (seen.length === 0 || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, 250));
  }
}

const ENDS = ['stop', 'revoke', 'expire', 'fail', 'terminal.closed'];
/** Hung backends are found within two heartbeats, then ended the orderly way within the revoke bound. */
const END_BOUND_MS = REVOKE_BOUND_MS + 2000;

async function liveById(w: World): Promise<Map<string, Share>> {
  return new Map((await w.liveShares()).map((s) => [s.id, s]));
}

/** Share ids of every process running in a share's worker directory (reaper, backend, its attach and guest views). */
function workerProcesses(stateDir: string): Map<string, number[]> {
  const roots = [`${stateDir}/workers/`, `${stateDir}/tmate-workers/`];
  const out = new Map<string, number[]>();
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    const root = roots.find((r) => cwd.startsWith(r));
    if (!root || !isAlive(Number(pid))) continue;
    const id = cwd.slice(root.length).split('/')[0]!;
    out.set(id, [...(out.get(id) ?? []), Number(pid)]);
  }
  return out;
}

const noOrphans: Invariant = {
  name: 'no backend or attach process without a live share',
  check: (w) => settle(END_BOUND_MS, async () => {
    const live = await liveById(w);
    return [...workerProcesses(w.stateDir)].filter(([id]) => !live.has(id)).map(([id, pids]) => `share ${id} is not live, yet pids ${pids.join(',')} run in its worker dir`);
  }),
};

/** A hung or dead backend is found and restarted (or the share ended) within the restart policy: 1 + 2 + 4 s of backoff and a link. */
const RECOVERY_BOUND_MS = 25_000;
const procState = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '')[0];

const backendsRunning: Invariant = {
  name: 'every active share has a running backend',
  check: (w) => settle(RECOVERY_BOUND_MS, async () => {
    const out: string[] = [];
    for (const s of (await w.liveShares()).filter((x) => ['active', 'expiring'].includes(x.state))) {
      const pid = backendPid(w.stateDir, s);
      const state = pid ? procState(pid) : undefined;
      if (!pid || state === 'T' || state === 'Z') out.push(`share ${s.id} is ${s.state} but its ${s.backend} ${pid ? `pid ${pid} is in state ${state}` : 'is not running'}`);
    }
    return out;
  }),
};

const nobodyOnEnded: Invariant = {
  name: 'no participant connected to an ended share',
  check: async (w) => {
    const typed = new Set<unknown>();
    const seen = await settle(END_BOUND_MS, async () => {
      const out: string[] = [];
      for (const g of w.guests.filter((x) => x.p.connected())) {
        const s = await w.share(g.shareId);
        const current = s && ['starting', 'active', 'expiring'].includes(s.state) ? s.link?.ssh : undefined;
        if (current === g.link) continue;
        // uptermd 0.24 drops a guest of a SIGKILLed upterm only once it sends a byte (README): it types.
        if (g.exempt && !typed.has(g)) await g.p.type('x').then(() => typed.add(g), () => undefined);
        out.push(`participant (ssh pid ${g.p.sshPid}${g.exempt ? ', plain ssh of a SIGKILLed upterm, after typing' : ''}) still connected by ${g.link} to share ${g.shareId} (${s ? `${s.state}, link ${s.link?.ssh ?? 'none'}` : 'ended and forgotten'})`);
      }
      return out;
    });
    for (const g of w.guests.filter((x) => !x.p.connected())) await g.p.close();
    w.guests.splice(0, w.guests.length, ...w.guests.filter((x) => x.p.connected()));
    return seen;
  },
};

const shellsAlive: Invariant = {
  name: 'every shell alive with its scrollback',
  check: (w) => settle(2000, async () => {
    const out: string[] = [];
    for (const t of w.openTerminals()) {
      const pid = (await w.tmux('display-message', '-p', '-t', `=${t.name}:`, '#{pane_pid} #{pane_dead}')).stdout.trim();
      if (pid !== `${t.shellPid} 0` || !isAlive(t.shellPid)) out.push(`terminal ${t.name}: shell ${t.shellPid} gone (pane: "${pid}")`);
      else if (!(await w.tmux('capture-pane', '-p', '-J', '-S', '-', '-t', `=${t.name}:`)).stdout.includes(t.mark)) out.push(`terminal ${t.name}: scrollback lost "${t.mark}"`);
    }
    return out;
  }),
};

let auditCache: { seq: number; records: AuditRecord[] } = { seq: 0, records: [] };

async function readAudit(w: World): Promise<AuditRecord[]> {
  const jsm = await jetstreamManager(w.svcNc);
  const { state } = await jsm.streams.info(AUDIT_STREAM);
  for (let seq = Math.max(auditCache.seq + 1, state.first_seq); seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(AUDIT_STREAM, { seq });
    if (m) auditCache.records.push(m.json() as AuditRecord);
    auditCache.seq = seq;
  }
  return auditCache.records;
}
export const resetAuditCache = () => (auditCache = { seq: 0, records: [] });

async function handoffState(w: World, id: string): Promise<Handoff['state'] | undefined> {
  const r = await w.client.request<{ handoff: Handoff }>('handoff.get', { handoffId: id }, 10_000);
  return r.ok ? r.value.handoff.state : undefined;
}
const LEASED: readonly string[] = ['transferring', 'held', 'releasing'];

const auditOnce: Invariant = {
  name: "every action's audit record present exactly once",
  check: (w) => settle(END_BOUND_MS, async () => {
    const records = await readAudit(w);
    const out: string[] = [];
    const ids = new Set<string>();
    for (const r of records) {
      if (ids.has(r.eventId)) out.push(`record ${r.eventId} (${r.action}) twice`);
      ids.add(r.eventId);
    }
    const live = await liveById(w);
    const count = (pred: (r: AuditRecord) => boolean) => records.filter(pred).length;
    const expect = (what: string, got: number, want: number) => got !== want && out.push(`${what}: ${got} record(s), expected ${want}`);
    for (const a of w.shares.values()) {
      const of = (action: string, outcome?: string) => count((r) => r.shareId === a.shareId && r.action === action && (!outcome || r.outcome === outcome));
      expect(`share ${a.shareId} request`, of('request'), 1);
      expect(`share ${a.shareId} start`, of('start'), 1);
      expect(`share ${a.shareId} extend`, of('extend', 'extended'), a.extended);
      expect(`share ${a.shareId} switch`, of('switch', 'switched'), a.switched);
    }
    // Every share that started, those whose reply never came (a service killed in flight) included: one end once it is over.
    for (const id of new Set(records.filter((r) => r.action === 'start' && r.shareId).map((r) => r.shareId!))) {
      expect(`share ${id} end (${live.has(id) ? 'live' : 'ended'})`, count((r) => r.shareId === id && ENDS.includes(r.action)), live.has(id) ? 0 : 1);
    }
    const handoffs = new Set([...w.handoffs.keys(), ...records.filter((r) => r.action === 'handoff.request').map((r) => r.handoffId!)]);
    for (const id of handoffs) {
      const of = (action: string) => count((r) => r.handoffId === id && r.action === action);
      const held = LEASED.includes((await handoffState(w, id)) ?? 'gone');
      if (w.handoffs.has(id)) expect(`handoff ${id} request`, of('handoff.request'), 1);
      if (of('handoff.transfer') > 0 || w.handoffs.has(id)) expect(`handoff ${id} end (${held ? 'held' : 'ended'})`, of('handoff.release') + of('handoff.end'), held ? 0 : 1);
    }
    return out;
  }),
};

const badgesTrue: Invariant = {
  name: 'badges true',
  check: (w) => settle(END_BOUND_MS, async () => {
    const kv = await new Kvm(w.svcNc).open('termshare_badges');
    const want = new Map<string, string[]>();
    for (const s of (await w.liveShares()).filter((x) => x.state !== 'awaiting-approval')) want.set(s.terminal, [...(want.get(s.terminal) ?? []), s.id].sort());
    const got = new Map<string, string[]>();
    for await (const key of await kv.keys()) {
      const e = await kv.get(key);
      if (e?.operation === 'PUT') got.set(decodeBadgeKey(key), (e.json() as Badge).shares.map((s) => s.shareId).sort());
    }
    const terminals = new Set([...want.keys(), ...got.keys()]);
    return [...terminals].filter((t) => String(want.get(t) ?? []) !== String(got.get(t) ?? [])).map((t) => `${t}: badge lists [${String(got.get(t) ?? [])}], live shares are [${String(want.get(t) ?? [])}]`);
  }),
};

const noneLocked: Invariant = {
  name: 'no client left locked',
  check: (w) => settle(END_BOUND_MS, async () => {
    const out: string[] = [];
    const leased = new Set<string>();
    for (const [id, h] of w.handoffs) if (LEASED.includes((await handoffState(w, id)) ?? 'gone')) leased.add(h.terminal);
    for (const t of w.openTerminals()) {
      const held = leased.has(`tmux:${t.name}`);
      const pid = await t.human.clientPid();
      const flag = (await w.tmux('list-clients', '-t', `=${t.name}`, '-F', '#{client_pid} #{client_readonly}')).stdout.split('\n').find((l) => l.startsWith(`${pid} `))?.split(' ')[1];
      if (flag !== (held ? '1' : '0')) out.push(`tmux:${t.name}: the operator's client is ${flag === undefined ? 'not attached' : flag === '1' ? 'read-only' : 'not locked'} while ${held ? 'a lease is held' : 'no lease is held'}`);
      const marker = (await w.tmux('display-message', '-p', '-t', `=${t.name}:`, `#{${LEASE_OPTION}}`)).stdout.trim();
      if ((marker !== '') !== held) out.push(`tmux:${t.name}: ${LEASE_OPTION} is "${marker}" while ${held ? 'a lease is held' : 'no lease is held'}`);
    }
    return out;
  }),
};

export const INVARIANTS: readonly Invariant[] = [noOrphans, backendsRunning, nobodyOnEnded, shellsAlive, auditOnce, badgesTrue, noneLocked];
