import type { Logger } from '../../../log.ts';
import type { AuditSigner } from './auditKey.ts';
import { checkpointProblem, makeCheckpoint, readCheckpoint, writeCheckpoint, type Checkpoint, type CheckpointMark } from './checkpoint.ts';

/** Does the stream hold the checkpoint's record? undefined when it cannot be told (NATS not answering). */
export type HoldsCheck = (cp: Checkpoint) => Promise<boolean | undefined>;

/**
 * Keeps the signed checkpoint of the newest stored record in a file: written at most once per
 * `debounceMs`, and at once on `flush` (drain, stop). A checkpoint already there that the stream
 * no longer holds (its tail was cut, or the stream replaced), or that this key did not sign, is
 * never overwritten: it stays as the evidence `termshare audit verify` fails on, until someone
 * looks into it and moves it away.
 */
export class CheckpointKeeper {
  private pending?: CheckpointMark;
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  /** Why checkpoints are not written, when they are not. */
  private frozen?: string;

  constructor(
    private readonly file: string,
    private readonly signer: AuditSigner,
    private readonly log: Logger,
    private readonly debounceMs = 1000,
  ) {}

  /** Checks the checkpoint left by a previous run against the key and the stream. */
  async init(holds: HoldsCheck): Promise<void> {
    const found = await readCheckpoint(this.file);
    if (!found.ok) return this.freeze(`the audit checkpoint is unreadable (${found.error})`);
    const cp = found.value;
    if (!cp) return;
    const problem = checkpointProblem(cp, this.signer);
    if (problem) return this.freeze(`the audit checkpoint is not this service's: ${problem}`);
    const held = await holds(cp);
    if (held === false) {
      return this.freeze(`the audit stream does not hold the checkpoint's record (eventId ${cp.eventId}${cp.seq ? `, seq ${cp.seq}` : ''}): records were removed or the stream was replaced`);
    }
    if (held === undefined) this.log.warn({ eventId: cp.eventId, seq: cp.seq }, 'audit checkpoint: could not check that the stream holds its record');
  }

  /** The newest record the stream holds is now `mark`. */
  note(mark: CheckpointMark): void {
    if (this.frozen) return;
    this.pending = mark;
    this.timer ??= setTimeout(() => void this.flush(), this.debounceMs);
    this.timer.unref();
  }

  /** Writes the newest mark now, if there is one not yet written. Never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(async () => {
      const mark = this.pending;
      if (!mark || this.frozen) return;
      this.pending = undefined;
      await writeCheckpoint(this.file, makeCheckpoint(mark, this.signer)).catch((e: Error) =>
        this.log.error({ err: e.message, file: this.file }, 'audit checkpoint could not be written'),
      );
    });
    return this.writing;
  }

  private freeze(why: string): void {
    this.frozen = why;
    this.log.error(
      { file: this.file },
      `${why}. The checkpoint is kept as it is and not updated: \`termshare audit verify\` fails on it. Once this is looked into, move ${this.file} away to start checkpoints afresh`,
    );
  }
}
