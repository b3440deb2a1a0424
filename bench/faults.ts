/**
 * Participant disconnect time after each way an upterm backend ends (real upterm, uptermd on
 * loopback, tmux, ssh participants), N runs each: `npx tsx bench/faults.ts [N]`.
 * Writes bench/results/faults.md. Timings are measured here, never asserted in tests.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UptermBackend } from '../src/adapters/backends/upterm/upterm.ts';
import type { BackendSession } from '../src/adapters/backends/types.ts';
import { TmuxTerminals } from '../src/adapters/terminals/tmux/tmux.ts';
import { ensureIdentity } from '../src/service/keys.ts';
import { Participant, guestKey } from '../test/support/participant.ts';
import { toolPath } from '../test/support/tools.ts';
import { startUptermd } from '../test/support/uptermd.ts';

const parentOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
const N = Number(process.argv[2] ?? 5);
const GIVE_UP_MS = 10_000;
type Fault = { name: string; keepalive?: boolean; inject(s: BackendSession): unknown };
const faults: Fault[] = [
  { name: 'stop / revoke (reaper: detach, TERM)', inject: (s) => void s.stop() },
  { name: 'hung (SIGSTOP), then ended as hung', inject: (s) => { process.kill(s.pid!, 'SIGSTOP'); void s.stop(); } },
  // What the kernel does when the service dies: SIGTERM to the share's reaper (upterm's parent).
  { name: 'service death (reaper gets its pdeathsig TERM)', inject: (s) => process.kill(parentOf(s.pid!), 'SIGTERM') },
  { name: 'upterm SIGKILLed, plain ssh participant', inject: (s) => process.kill(s.pid!, 'SIGKILL') },
  { name: 'upterm SIGKILLed, participant with ServerAliveInterval=1', keepalive: true, inject: (s) => process.kill(s.pid!, 'SIGKILL') },
];

const relay = await startUptermd(toolPath('uptermd')!);
const dir = await mkdtemp(join(tmpdir(), 'bench-faults-'));
const identity = await ensureIdentity(join(dir, 'id'));
const key = await guestKey(dir);
const tmux = new TmuxTerminals(`bench-faults-${process.pid}`);
await tmux.create('t', { command: 'bash --norc' });
const upterm = new UptermBackend({ bin: toolPath('upterm')!, server: relay.server, hostKey: { knownHosts: join(dir, 'kh'), fingerprint: relay.fingerprint }, identityFile: identity, workDir: join(dir, 'w'), guestAttach: (s) => tmux.attachCommand(s.terminal, { shareId: s.shareId, access: s.access, role: 'guest' }).argv });
const rows: string[] = [];
let n = 0;
for (const f of faults) {
  const times: number[] = [];
  let stuck = 0;
  for (let i = 0; i < N; i++) {
    const shareId = `sh_bench${String(++n).padStart(7, '0')}`;
    const r = await upterm.start({ shareId, terminal: 'tmux:t', access: 'read-write', attach: tmux.attachCommand('tmux:t', { shareId, access: 'read-write', role: 'host' }), linkTimeoutMs: 10_000, detachGuests: tmux.detachCommand('tmux:t', shareId) });
    if (!r.ok) throw r.error;
    const p = await Participant.join(r.value.link.ssh, key, f.keepalive ? { sshOptions: ['ServerAliveInterval=1'] } : {});
    while ((await tmux.clients('tmux:t', shareId)).filter((c) => c.role === 'guest').length === 0) await new Promise((res) => setTimeout(res, 20));
    const t0 = Date.now();
    await f.inject(r.value);
    while (p.connected() && Date.now() - t0 < GIVE_UP_MS) await new Promise((res) => setTimeout(res, 10));
    if (p.connected()) stuck++;
    else times.push(Date.now() - t0);
    await p.close();
    await r.value.stop();
  }
  times.sort((a, b) => a - b);
  const p50 = times.length ? times[Math.floor(times.length / 2)] : undefined;
  rows.push(`| ${f.name} | ${N} | ${times.length} | ${stuck} | ${p50 ?? '-'} | ${times.at(-1) ?? '-'} |`);
  console.log(rows.at(-1));
}
const md = [`# Participant disconnect after a backend ends (N=${N} each, give up at ${GIVE_UP_MS / 1000} s)`, '', '| fault | runs | dropped | still connected | p50 ms | max ms |', '|---|---|---|---|---|---|', ...rows, ''].join('\n');
await writeFile(join(import.meta.dirname, 'results', 'faults.md'), md);
await tmux.kill('t');
await relay.stop();
process.exit(0);
