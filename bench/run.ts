/**
 * npm run bench: link generation and revoke-to-disconnect over the real stack (nats-server,
 * tmux, upterm + uptermd on loopback, ssh participants), beside raw `upterm host` in the same
 * run. Writes bench/results/latest.json and .md and prints the table. Not a test: nothing here
 * passes or fails on a timing.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Share } from '../src/api/schemas.ts';
import { parseServer, tmateConfig } from '../src/adapters/backends/tmate/tmate.ts';
import { startHarness, OPERATOR } from '../test/support/harness.ts';
import { uptermProcesses } from '../test/support/observe.ts';
import { Participant } from '../test/support/participant.ts';
import { toolPath } from '../test/support/tools.ts';
import { waitFor } from '../test/support/waitFor.ts';
import { rawUptermLink } from './rawUpterm.ts';
import { summarize, table, type Summary } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

/** Raw tmate, run as the adapter runs it: spawn to `wait tmate-ready` returning. */
async function rawTmateReady(server: string, fingerprint: string, dir: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const relay = parseServer(server);
  if (!relay.ok) throw new Error(relay.error.message);
  await writeFile(join(dir, 'tmate.conf'), tmateConfig(relay.value, fingerprint));
  const sock = join(dir, 'raw.sock');
  const env = { HOME: dir, TMUX: undefined };
  const t0 = process.hrtime.bigint();
  const child = execa('tmate', ['-S', sock, '-f', join(dir, 'tmate.conf'), '-F', 'new-session', 'bash --norc'], { reject: false, buffer: false, stdin: 'ignore', stdout: 'ignore', env, extendEnv: true });
  // `wait` fails until the socket exists, then blocks until the relay says ready.
  while ((await execa('tmate', ['-S', sock, 'wait', 'tmate-ready'], { reject: false, env, extendEnv: true, timeout: 10_000 })).exitCode !== 0) {
    if (child.exitCode !== null) throw new Error('raw tmate exited');
    await new Promise((r) => setTimeout(r, 5));
  }
  const elapsed = ms(t0);
  child.kill('SIGTERM');
  await child;
  return elapsed;
}

/** Memory of a process and its children (upterm and the tmux client it hosts), in kB, from smaps_rollup. */
function memoryKb(pid: number): { rss: number; uss: number } {
  const tree = [pid, ...childrenOf(pid)];
  let rss = 0, uss = 0;
  for (const p of tree) {
    try {
      const t = readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0);
      rss += kb('Rss');
      uss += kb('Private_Clean') + kb('Private_Dirty');
    } catch {
      /* gone */
    }
  }
  return { rss, uss };
}
function childrenOf(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return kids.flatMap((k) => [k, ...childrenOf(k)]);
  } catch {
    return [];
  }
}

async function main() {
  const h = await startHarness({ tmate: true });
  const terminal = await h.terminal('bench');
  const rawHome = join(h.dir, 'raw-home');
  await mkdir(join(rawHome, '.ssh'), { recursive: true });
  await mkdir(join(rawHome, 'run'), { recursive: true });
  await execa('cp', [join(h.config.stateDir, 'keys', 'id_ed25519'), join(rawHome, '.ssh', 'id_ed25519')]);
  await execa('cp', [join(h.config.stateDir, 'keys', 'id_ed25519.pub'), join(rawHome, '.ssh', 'id_ed25519.pub')]);

  const tmateLink: number[] = [], tmateRaw: number[] = [], switchReply: number[] = [], switchBack: number[] = [];
  const link: number[] = [], raw: number[] = [], revokeDisconnect: number[] = [], revokeReply: number[] = [], uptermRss: number[] = [], uptermUss: number[] = [];
  console.error(`bench: ${RUNS} runs each (BENCH_RUNS to change)`);
  for (let i = 0; i < RUNS; i++) {
    // Interleaved, so both see the same machine load.
    raw.push(await rawUptermLink(h.relay.server, rawHome));
    const t0 = process.hrtime.bigint();
    const r = await h.client.request<{ share: Share }>('share.start', { terminal, backend: 'upterm', requester: OPERATOR });
    if (!r.ok) throw new Error(`share.start: ${r.message}`);
    link.push(ms(t0));
    const share = r.value.share;
    const [pid] = uptermProcesses(h.config.stateDir, share.id);
    if (pid) {
      const m = memoryKb(pid);
      uptermRss.push(m.rss / 1024);
      uptermUss.push(m.uss / 1024);
    }

    const guest = await Participant.join(share.link!.ssh, h.guestKey);
    await waitFor('participant counted', async () => {
      const g = await h.client.request<{ share: Share }>('share.get', { shareId: share.id });
      return g.ok && g.value.share.participants === 1;
    });
    const t1 = process.hrtime.bigint();
    const rv = h.client.request('share.revoke', { shareId: share.id, requester: OPERATOR }).then(() => revokeReply.push(ms(t1)));
    await waitFor('participant ssh to exit', () => !guest.connected(), 10_000, 5);
    revokeDisconnect.push(ms(t1));
    await rv;
    await guest.close();

    tmateRaw.push(await rawTmateReady(h.tmateRelay!.server, h.tmateRelay!.fingerprint, join(h.dir, `raw-tmate-${i}`)));
    const t2 = process.hrtime.bigint();
    const tm = await h.client.request<{ share: Share }>('share.start', { terminal, backend: 'tmate', requester: OPERATOR });
    if (!tm.ok) throw new Error(`share.start tmate: ${tm.message}`);
    tmateLink.push(ms(t2));
    // The switch reply comes once the new link is in hand and the old backend is gone.
    const t3 = process.hrtime.bigint();
    const sw = await h.client.request<{ share: Share }>('share.switch', { shareId: tm.value.share.id, backend: 'upterm', requester: OPERATOR });
    if (!sw.ok) throw new Error(`share.switch: ${sw.message}`);
    switchReply.push(ms(t3));
    const t4 = process.hrtime.bigint();
    const back = await h.client.request<{ share: Share }>('share.switch', { shareId: tm.value.share.id, backend: 'tmate', requester: OPERATOR });
    if (!back.ok) throw new Error(`share.switch back: ${back.message}`);
    switchBack.push(ms(t4));
    await h.client.request('share.stop', { shareId: tm.value.share.id, requester: OPERATOR });
    process.stderr.write('.');
  }
  process.stderr.write('\n');

  // Marginal memory: with several shares live, the upterm binary's pages are shared between them,
  // so each worker's private memory (USS) is what one more share adds.
  const concurrent: string[] = [];
  const terminals = [terminal, await h.terminal('bench2'), await h.terminal('bench3')];
  for (let i = 0; i < 5; i++) {
    const r = await h.client.request<{ share: Share }>('share.start', { terminal: terminals[i % 3], backend: 'upterm', requester: OPERATOR });
    if (!r.ok) throw new Error(`share.start: ${r.message}`);
    concurrent.push(r.value.share.id);
  }
  const concurrentUss = concurrent.map((id) => memoryKb(uptermProcesses(h.config.stateDir, id)[0]!).uss / 1024);
  for (const id of concurrent) await h.client.request('share.stop', { shareId: id, requester: OPERATOR });
  await h.stop();

  const s = { tmateLink: summarize(tmateLink), tmateRaw: summarize(tmateRaw), switchReply: summarize(switchReply), switchBack: summarize(switchBack), link: summarize(link), raw: summarize(raw), revokeDisconnect: summarize(revokeDisconnect), revokeReply: summarize(revokeReply), uptermRss: summarize(uptermRss), uptermUss: summarize(uptermUss), concurrentUss: summarize(concurrentUss) };
  const row = (name: string, x: Summary, unit: string, bound?: string, ratioTo?: Summary) => ({
    measure: name, runs: x.runs, p50: `${x.p50.toFixed(1)} ${unit}`, p95: `${x.p95.toFixed(1)} ${unit}`, p99: `${x.p99.toFixed(1)} ${unit}`,
    'ratio p50/p95': ratioTo ? `${(x.p50 / ratioTo.p50).toFixed(2)} / ${(x.p95 / ratioTo.p95).toFixed(2)}` : '-', 'spec bound': bound ?? '-',
  });
  const rows = [
    row('share.start → link (termshare)', s.link, 'ms', 'p95 < 3000 ms', s.raw),
    row('upterm host → link (raw)', s.raw, 'ms'),
    row('share.start → link (tmate)', s.tmateLink, 'ms', 'p95 < 3000 ms', s.tmateRaw),
    row('tmate → ready (raw)', s.tmateRaw, 'ms'),
    row('switch tmate → upterm: new link, old gone', s.switchReply, 'ms'),
    row('switch upterm → tmate: new link, old gone', s.switchBack, 'ms'),
    row('revoke → participant ssh exited', s.revokeDisconnect, 'ms', 'p95 < 5000 ms'),
    row('revoke → reply', s.revokeReply, 'ms'),
    row('worker RSS (upterm + its tmux client)', s.uptermRss, 'MB'),
    row('worker USS, the only share live', s.uptermUss, 'MB'),
    row('worker USS, one of 5 live shares', s.concurrentUss, 'MB', '< 15 MB per share'),
  ];
  const out = table(rows);
  const meta = { at: new Date().toISOString(), runs: RUNS, node: process.version, upterm: (await execa(toolPath('upterm')!, ['version'], { reject: false })).stdout.trim(), cpus: (await readFile('/proc/cpuinfo', 'utf8')).split('\n').filter((l) => l.startsWith('processor')).length };
  await mkdir(join(import.meta.dirname, 'results'), { recursive: true });
  await writeFile(join(import.meta.dirname, 'results', 'latest.json'), JSON.stringify({ meta, summary: s, samples: { tmateLink, tmateRaw, switchReply, switchBack, link, raw, revokeDisconnect, revokeReply, uptermRss, uptermUss, concurrentUss } }, null, 2));
  await writeFile(join(import.meta.dirname, 'results', 'latest.md'), `# termshare bench, ${meta.at}\n\n${JSON.stringify(meta)}\n\n${out}\n`);
  console.log(out);
}

await main();
process.exit(0);
