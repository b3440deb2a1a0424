/**
 * npm run bench:cli: what one `termshare status --json` costs, as a user runs it (a new process
 * each time), against a running `termshare serve`: the compiled CLI (dist/), the same from the
 * TypeScript sources (tsx), a bare nats.js request in a new node process (the floor), and node
 * doing nothing. p50/p95/p99 over BENCH_RUNS (20) runs; writes bench/results/cli.md.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { authPaths } from '../src/adapters/bus/nats/auth/principals.ts';
import { serveWorld, spawnServe, termshareBin } from '../test/support/serveProcess.ts';
import { summarize, table } from './stats.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const root = join(import.meta.dirname, '..');

execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'inherit' });
const world = await serveWorld('benchcli', ['benchcli']);
const { serve, ready } = await spawnServe(world.env);
const url = ready.replace('termshare ready nats=', '');
const env = { ...process.env, ...world.env };
const creds = authPaths(world.env.TERMSHARE_STATE_DIR!).operator;

async function time(args: string[], extraEnv: Record<string, string> = {}): Promise<number[]> {
  const run = async () => {
    const t0 = performance.now();
    const r = await execa('node', args, { env: { ...env, ...extraEnv }, reject: false, stdin: 'ignore' });
    if (r.exitCode !== 0) throw new Error(`${args.join(' ')} exited ${r.exitCode}: ${r.stdout}${r.stderr}`);
    return performance.now() - t0;
  };
  await run(); // warm-up: the file system cache
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) out.push(await run());
  return out;
}

try {
  const shared = await execa('node', [termshareBin, 'share', 'tmux:benchcli', '--json'], { env, reject: false });
  if (shared.exitCode !== 0) console.warn(`no share for the table (${shared.stderr.trim()}); measuring an empty list`);
  const rows = [
    { what: 'termshare status --json (compiled, dist/)', samples: await time([termshareBin, 'status', '--json', '--timeout', '60s']) },
    { what: 'termshare status --json (from source, tsx)', samples: await time([termshareBin, 'status', '--json', '--timeout', '60s'], { TERMSHARE_FROM_SOURCE: '1' }) },
    { what: 'termshare --version (compiled)', samples: await time([termshareBin, '--version']) },
    { what: 'raw nats.js share.list, new node process', samples: await time([join(root, 'bench/cliRaw.mjs'), url, creds]) },
    { what: 'node -e "" (process start only)', samples: await time(['-e', '']) },
  ];
  const floor = summarize(rows[3]!.samples).p50;
  const rendered = table(
    rows.map((r) => {
      const s = summarize(r.samples);
      return { what: r.what, runs: s.runs, 'p50 ms': s.p50.toFixed(0), 'p95 ms': s.p95.toFixed(0), 'p99 ms': s.p99.toFixed(0), 'p50 / raw nats.js': (s.p50 / floor).toFixed(2) };
    }),
  );
  const machine = `load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} on ${cpus().length} cores, node ${process.version}`;
  console.log(rendered);
  console.log(machine);
  await writeFile(
    join(root, 'bench/results/cli.md'),
    `# CLI call cost\n\n\`npm run bench:cli\`, ${new Date().toISOString()}: one new process per call against a running \`termshare serve\` on its embedded NATS; ${machine}. The \`nats\` CLI is not installed here, so the floor is the same request with nats.js in a new node process.\n\n${rendered}\n`,
  );
} finally {
  serve.kill('SIGTERM');
  await serve;
  await world.stop();
}
