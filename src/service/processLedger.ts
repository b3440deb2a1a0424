import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { isAlive } from '../adapters/process.ts';
import type { Logger } from '../log.ts';

type Entry = { shareId: string; pid: number; startTicks: string };

/** pid + start time of every backend process, so a restart after a crash reaps exactly those and no reused pid. */
export class ProcessLedger {
  private entries = new Map<number, Entry>();
  private writes: Promise<void> = Promise.resolve();
  constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {}

  async reapLeftovers(): Promise<void> {
    let old: Entry[] = [];
    try {
      old = JSON.parse(await readFile(this.file, 'utf8')) as Entry[];
    } catch {
      return;
    }
    for (const e of old) {
      if (isAlive(e.pid) && startTicks(e.pid) === e.startTicks) {
        this.log.warn({ shareId: e.shareId, pid: e.pid }, 'reaping a backend process left by an earlier run');
        try {
          process.kill(e.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    await writeFile(this.file, '[]');
  }

  note(shareId: string, pid: number | undefined, alive: boolean): Promise<void> {
    if (!pid) return this.writes;
    if (alive) this.entries.set(pid, { shareId, pid, startTicks: startTicks(pid) });
    else this.entries.delete(pid);
    this.writes = this.writes.then(() => writeFile(this.file, JSON.stringify([...this.entries.values()]))).catch(() => undefined);
    return this.writes;
  }
}

function startTicks(pid: number): string {
  try {
    // Field 22 of /proc/PID/stat: start time in clock ticks since boot.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}
