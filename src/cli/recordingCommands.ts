import type { Command } from 'commander';
import type { Recording } from '../api/schemas.ts';
import type { ParsedCast } from '../recording/asciicast.ts';
import type { TermshareClient } from './client.ts';
import { examples } from './examples.ts';
import { CliFailure, usage } from './failure.ts';

let programOf: () => Command | undefined = () => undefined;

/** Connected through the shared request path (--creds, --timeout); a refusal becomes a CliFailure with its code. */
async function withClient<T>(work: (c: TermshareClient) => Promise<T>): Promise<T> {
  const [{ withClient: connected }, { RecordingReadError }] = await Promise.all([import('./request.ts'), import('./recordingClient.ts')]);
  return connected(programOf()!, undefined, async (c) => {
    try {
      return await work(c);
    } catch (e) {
      if (e instanceof RecordingReadError) throw new CliFailure(e.code, e.message);
      throw e;
    }
  });
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
  programOf = () => program;
  const recording = program
    .command('recording')
    .description('session recordings (asciicast): list, play, export')
    .addHelpText('after', examples('termshare recording list', 'termshare recording play <recordingId> --speed 2', 'termshare recording export <recordingId> --format v2 -o share.cast'));

  recording
    .command('list')
    .description('recordings you may read (policy recording.read), oldest first')
    .option('--terminal <terminal>', 'only this terminal\'s')
    .option('--share <id>', 'only this share\'s')
    .option('--handoff <id>', 'only this handoff\'s')
    .option('--json', 'JSON')
    .addHelpText('after', examples('termshare recording list', 'termshare recording list --share <shareId> --json'))
    .action(async (o: { terminal?: string; share?: string; handoff?: string; json?: boolean }) => {
      const { listRecordings } = await import('./recordingClient.ts');
      await withClient(async (c) => {
        const list = await listRecordings(c, { ...(o.terminal ? { terminal: o.terminal } : {}), ...(o.share ? { shareId: o.share } : {}), ...(o.handoff ? { handoffId: o.handoff } : {}) });
        console.log(o.json ? JSON.stringify(list, null, 2) : formatRecordings(list));
      });
      process.exit(0);
    });

  recording
    .command('export <id>')
    .description('the recording as an asciicast .cast file (v3, or v2 for asciinema 2.x)')
    .option('--format <v3|v2>', 'asciicast version', 'v3')
    .option('-o, --output <file>', 'write to this file (default: stdout)')
    .addHelpText('after', examples('termshare recording export <recordingId> -o share.cast', 'termshare recording export <recordingId> --format v2 | asciinema cat /dev/stdin'))
    .action(async (id: string, o: { format: string; output?: string }) => {
      if (o.format !== 'v3' && o.format !== 'v2') throw usage(`--format is v3 or v2, not ${JSON.stringify(o.format)}`);
      const [{ fetchCast }, { parseCastV3, toV2 }, { writeFile }] = await Promise.all([import('./recordingClient.ts'), import('../recording/asciicast.ts'), import('node:fs/promises')]);
      await withClient(async (c) => {
        const { text } = await fetchCast(c, id);
        const out = o.format === 'v2' ? toV2(parseCastV3(text)) : text;
        if (o.output) await writeFile(o.output, out);
        else process.stdout.write(out);
      });
      process.exit(0);
    });

  recording
    .command('play <id>')
    .description('replay the recording in this terminal')
    .option('-s, --speed <n>', 'playback speed', '1')
    .option('-i, --idle-limit <seconds>', 'longest pause shown', '2')
    .addHelpText('after', examples('termshare recording play <recordingId>', 'termshare recording play <recordingId> --speed 4 --idle-limit 0.5'))
    .action(async (id: string, o: { speed: string; idleLimit: string }) => {
      const speed = Number(o.speed);
      const idle = Number(o.idleLimit);
      if (!(speed > 0) || !(idle >= 0)) throw usage('--speed must be above 0 and --idle-limit at least 0');
      const [{ fetchCast }, { parseCastV3 }] = await Promise.all([import('./recordingClient.ts'), import('../recording/asciicast.ts')]);
      await withClient(async (c) => play(parseCastV3((await fetchCast(c, id)).text), speed, idle));
      process.exit(0);
    });
}
