import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Recording } from '../api/schemas.ts';
import { parseCastV3, toV2, type ParsedCast } from '../recording/asciicast.ts';
import { connectOrExit, type TermshareClient } from './client.ts';
import { ExitCodes } from './format.ts';
import { fetchCast, listRecordings, RecordingReadError } from './recordingClient.ts';

let credsOption: () => string | undefined = () => undefined;

async function withClient<T>(work: (c: TermshareClient) => Promise<T>): Promise<T> {
  const client = await connectOrExit({ creds: credsOption() });
  try {
    return await work(client);
  } catch (e) {
    console.error(`termshare: ${(e as Error).message}`);
    process.exit(e instanceof RecordingReadError ? (ExitCodes[e.code] ?? 1) : ExitCodes.unreachable!);
  } finally {
    await client.close().catch(() => undefined);
  }
}

export function formatRecordings(list: Recording[]): string {
  if (list.length === 0) return 'no recordings';
  const head = ['ID', 'TERMINAL', 'OF', 'STARTED', 'STATE', 'BYTES', 'SHA256'];
  const rows = list.map((r) => [
    r.id,
    r.terminal,
    r.shareId ?? r.handoffId ?? '-',
    r.startedAt,
    r.end ? 'complete' : 'open',
    r.end ? String(r.end.bytes) : '-',
    r.end ? `${r.end.sha256.slice(0, 19)}…` : '-',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  return [head, ...rows].map((row) => row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

/** Plays a cast's output on stdout at `speed`, pauses longer than `idleLimit` seconds cut to it. */
export async function play(cast: ParsedCast, speed: number, idleLimit: number, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  for (const [interval, code, data] of cast.events) {
    const wait = Math.min(interval, idleLimit) / speed;
    if (wait > 0) await new Promise((r) => setTimeout(r, wait * 1000));
    if (code === 'o') out.write(data);
  }
}

/** `termshare recording list|play|export`: read through the service, policy action `recording.read`. */
export function registerRecordingCommands(program: Command): void {
  credsOption = () => program.opts<{ creds?: string }>().creds;
  const recording = program.command('recording').description('session recordings (asciicast): list, play, export');

  recording
    .command('list')
    .description('recordings you may read (policy recording.read), oldest first')
    .option('--terminal <terminal>', 'only this terminal\'s')
    .option('--share <id>', 'only this share\'s')
    .option('--handoff <id>', 'only this handoff\'s')
    .option('--json', 'JSON')
    .action((o: { terminal?: string; share?: string; handoff?: string; json?: boolean }) =>
      withClient(async (c) => {
        const list = await listRecordings(c, { ...(o.terminal ? { terminal: o.terminal } : {}), ...(o.share ? { shareId: o.share } : {}), ...(o.handoff ? { handoffId: o.handoff } : {}) });
        console.log(o.json ? JSON.stringify(list, null, 2) : formatRecordings(list));
      }),
    );

  recording
    .command('export <id>')
    .description('the recording as an asciicast .cast file (v3, or v2 for asciinema 2.x)')
    .option('--format <v3|v2>', 'asciicast version', 'v3')
    .option('-o, --output <file>', 'write to this file (default: stdout)')
    .action((id: string, o: { format: string; output?: string }) => {
      if (o.format !== 'v3' && o.format !== 'v2') {
        console.error(`termshare: --format is v3 or v2, not ${JSON.stringify(o.format)}`);
        process.exit(ExitCodes.usage);
      }
      return withClient(async (c) => {
        const { text } = await fetchCast(c, id);
        const out = o.format === 'v2' ? toV2(parseCastV3(text)) : text;
        if (o.output) await writeFile(o.output, out);
        else process.stdout.write(out);
      });
    });

  recording
    .command('play <id>')
    .description('replay the recording in this terminal')
    .option('-s, --speed <n>', 'playback speed', '1')
    .option('-i, --idle-limit <seconds>', 'longest pause shown', '2')
    .action((id: string, o: { speed: string; idleLimit: string }) => {
      const speed = Number(o.speed);
      const idle = Number(o.idleLimit);
      if (!(speed > 0) || !(idle >= 0)) {
        console.error('termshare: --speed must be above 0 and --idle-limit at least 0');
        process.exit(ExitCodes.usage);
      }
      return withClient(async (c) => play(parseCastV3((await fetchCast(c, id)).text), speed, idle));
    });
}
