import { readFile, rename, writeFile } from 'node:fs/promises';
import type { Logger } from '../log.ts';

/** What a restarted service needs to know about something that was live when the service died. */
export type LiveEntry = {
  kind: 'share' | 'handoff';
  id: string;
  correlationId: string;
  terminal: string;
  lastEventId?: string;
  /** tmux clients a held lease locked (handoffs): given input back after a crash. */
  lockedClients?: string[];
};

/**
 * `$STATE/live.json`: every share and handoff that is live, rewritten (atomically, one write at a
 * time) on each change. A service that dies without ending them leaves it behind; the next start
 * reads it, writes their end records, unlocks the clients, and starts a new one.
 */
export class LiveJournal {
  private entries = new Map<string, LiveEntry>();
  private writes: Promise<void> = Promise.resolve();
  private pending = false;
  /** Told after each write (a cluster node re-announces its live shares at once). */
  onChange?: () => void;
  constructor(
    private readonly file: string,
    private readonly log: Logger,
  ) {}

  /**
   * What the previous run left live. They stay in the journal until recovery drops each one it
   * has dealt with, so a start that dies half-way leaves the rest for the next.
   */
  async takeLeftovers(): Promise<LiveEntry[]> {
    let old: LiveEntry[] = [];
    try {
      const parsed: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      if (Array.isArray(parsed)) old = parsed.filter(isEntry);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log.error({ file: this.file, err: (e as Error).message }, 'live journal unreadable; nothing to recover from it');
    }
    for (const e of old) this.entries.set(e.id, e);
    return old;
  }

  /** What is live now. */
  live(): LiveEntry[] {
    return [...this.entries.values()];
  }

  note(entry: LiveEntry): Promise<void> {
    const before = this.entries.get(entry.id);
    if (before && JSON.stringify(before) === JSON.stringify(entry)) return this.writes;
    this.entries.set(entry.id, entry);
    return this.flush();
  }

  drop(id: string): Promise<void> {
    if (!this.entries.delete(id)) return this.writes;
    return this.flush();
  }

  /** Coalesces: however many changes arrive during a write, one more write follows with all of them. */
  private flush(): Promise<void> {
    if (this.pending) return this.writes;
    this.pending = true;
    this.writes = this.writes.then(async () => {
      this.pending = false;
      const tmp = `${this.file}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify([...this.entries.values()]), { mode: 0o600 });
        await rename(tmp, this.file);
      } catch (e) {
        this.log.error({ file: this.file, err: (e as Error).message }, 'live journal not written');
      }
      this.onChange?.();
    });
    return this.writes;
  }
}

function isEntry(x: unknown): x is LiveEntry {
  const e = x as LiveEntry;
  return typeof e === 'object' && e !== null && (e.kind === 'share' || e.kind === 'handoff') && typeof e.id === 'string' && typeof e.terminal === 'string' && typeof e.correlationId === 'string';
}
