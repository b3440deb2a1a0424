/**
 * npm run bench:recording: what recording a busy terminal costs. A tmux pane prints build-log
 * lines (and, second, floods output as fast as it can) while a Recorder records it through the
 * control-mode tap into a real JetStream stream; tmux's own `pipe-pane` copies the raw bytes
 * alongside, as the raw-backend baseline. Per second: cast bytes stored, CPU of the recorder (this
 * process: tap parsing, redaction, JSON, publish) plus the tmux control client. Prints a table with
 * p50/p95/p99 and writes bench/results/recording.md. Not a test: nothing passes or fails on a number.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { execa } from 'execa';
import { startEmbeddedNats } from '../src/adapters/bus/nats/embeddedServer.ts';
import { RecordingStore } from '../src/adapters/recording/jetstream/recordingStore.ts';
import { redactLines } from '../src/adapters/terminals/redact.ts';
import { TmuxOutputTap } from '../src/adapters/terminals/tmux/outputTap.ts';
import { createLogger } from '../src/log.ts';
import { Recorder } from '../src/recording/recorder.ts';
import { summarize, table } from './stats.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const SCENARIOS = [
  // A coloured line of 80-odd characters, then 10 ms of sleep, over and over: a build or test run.
  { what: 'build log (a coloured line, then 10 ms sleep)', command: `i=0; while :; do i=$((i+1)); printf '\\033[32m[ok]\\033[0m compiling module %05d of the project ............ src/pkg/file_%d.ts\\n' $i $i; sleep 0.01; done` },
  // As fast as the shell can print: the worst case.
  { what: 'flood (yes)', command: `yes 'flood line of output from a busy program that prints without pause 0123456789'` },
];

const dir = await mkdtemp(join(tmpdir(), 'termshare-bench-rec-'));
const nats = await startEmbeddedNats({ bin: process.env.TERMSHARE_NATS_SERVER_BIN ?? 'nats-server', dataDir: join(dir, 'nats'), preferredPort: 0 });
const nc = await connect({ servers: nats.url });
const store = await RecordingStore.open(nc, 'benchrec', 3600_000);
const socket = `bench-rec-${process.pid}`;
const tmux = (...args: string[]) => execa('tmux', ['-L', socket, ...args], { reject: false });
const log = createLogger('warn');

/** utime + stime of a process, in ms (from /proc; 0 when it is gone). */
async function procCpuMs(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')).split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) || 0) + (Number(fields[12]) || 0)) * 10;
}

const rows: Record<string, string | number>[] = [];
for (const [n, s] of SCENARIOS.entries()) {
  const session = `busy${n}`;
  const rawFile = join(dir, `${session}.raw`);
  await tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '40', 'bash --norc --noprofile');
  await tmux('pipe-pane', '-O', '-t', `=${session}:`, `cat >> ${rawFile}`);
  const sink: { recorder?: Recorder } = {};
  const tap = await TmuxOutputTap.open({
    socket,
    session,
    onEvent: (e) => {
      if (e.kind === 'output') sink.recorder?.output(e.data, e.at);
      else if (e.kind === 'resize') sink.recorder?.resize(e.cols, e.rows, e.at);
    },
  });
  if (!tap?.size) throw new Error('tmux tap did not open');
  const recorder = (sink.recorder = await Recorder.start({ recordingId: `rec_bench${n}xxxxx`, shareId: `sh_bench${n}xxx`, terminal: `tmux:${session}`, correlationId: 'bench' }, tap.size, false, { store, redact: redactLines, log }));
  await tmux('send-keys', '-t', `=${session}:`, s.command, 'Enter');
  const cpuPerSecond: number[] = [];
  let lastCpu = process.cpuUsage();
  let lastTap = await procCpuMs(tap.pid);
  for (let t = 0; t < SECONDS; t++) {
    await new Promise((r) => setTimeout(r, 1000));
    const c = process.cpuUsage(lastCpu);
    lastCpu = process.cpuUsage();
    const tapNow = await procCpuMs(tap.pid);
    cpuPerSecond.push((c.user + c.system) / 1000 + (tapNow - lastTap));
    lastTap = tapNow;
  }
  await tmux('send-keys', '-t', `=${session}:`, 'C-c', '');
  await tmux('pipe-pane', '-t', `=${session}:`);
  tap.close();
  const end = await recorder.finish();
  const raw = (await stat(rawFile)).size;
  const cpu = summarize(cpuPerSecond);
  const perMinute = (bytes: number) => `${((bytes / SECONDS) * 60 / 1e6).toFixed(2)} MB`;
  rows.push({
    what: s.what,
    seconds: SECONDS,
    'cast/min': perMinute(end.bytes),
    'raw pane/min': perMinute(raw),
    'cast/raw': (end.bytes / raw).toFixed(2),
    events: end.events,
    'cpu ms/s p50': cpu.p50.toFixed(0),
    'cpu ms/s p95': cpu.p95.toFixed(0),
    'cpu ms/s p99': cpu.p99.toFixed(0),
  });
  await tmux('kill-session', '-t', `=${session}`);
}

await tmux('kill-server');
await nc.close();
await nats.stop();
await rm(dir, { recursive: true, force: true });
const rendered = table(rows);
const machine = `load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores`;
console.log(rendered);
console.log(machine);
await writeFile(
  join(import.meta.dirname, 'results', 'recording.md'),
  `# Recording cost (npm run bench:recording)\n\nA tmux pane recorded for ${SECONDS} s per case (cast bytes as stored, incl. JSON framing; raw = tmux pipe-pane bytes of the same pane; CPU = recorder process + tmux control client, ms of CPU per second of recording, i.e. per mille of one core).\n\n${rendered}\n\n${machine}\n`,
);
