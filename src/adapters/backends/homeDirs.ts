import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, TermshareError, err, ok, type Result } from '../../errors.ts';

/** A backend incarnation's hold on its share's directory; `release` removes the directory and lets the next incarnation in. */
export type HomeLease = { dir: string; release(): Promise<void> };

/**
 * A share's backend works in a directory named after the share (its HOME, keys, admin socket). A
 * restarted worker's new backend used to make that directory while the old backend's end was
 * still removing it: `mkdir`/`copyFile` failed with ENOENT (uncaught, it took the service down),
 * or the new backend's keys and socket vanished under it. Incarnations now take the directory in
 * turn: the next waits, bounded, until the one before has removed it, then makes it afresh.
 */
export class HomeDirs {
  private readonly last = new Map<string, Promise<void>>();

  constructor(private readonly waitBoundMs = 10_000) {}

  /** `boundMs`: how long to wait for the one before at most (default the constructor's). */
  async take(dir: string, what: string, boundMs = this.waitBoundMs): Promise<Result<HomeLease, TermshareError>> {
    const before = this.last.get(dir) ?? Promise.resolve();
    let free!: () => void;
    const freed = new Promise<void>((resolve) => (free = resolve));
    const mine = before.then(() => freed);
    this.last.set(dir, mine);
    let released = false;
    const release = async () => {
      if (released) return mine;
      released = true;
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
      free();
      if (this.last.get(dir) === mine) this.last.delete(dir);
    };
    const bound = new AbortController();
    const turn = await Promise.race([before.then(() => true), sleep(boundMs, false, { signal: bound.signal }).catch(() => false)]);
    bound.abort();
    if (!turn) {
      // Never made anything: the next one may go once the one before is gone. `before` settles by
      // its own bound (a backend's end is bounded); this lease must not remove its directory meanwhile.
      released = true;
      free();
      return err(new TermshareError(ErrorCodes.backendFailed, `the previous ${what} of this share has not ended within ${Math.round(boundMs / 1000)} s and still holds ${dir}; the share's restart policy retries`));
    }
    return ok({ dir, release });
  }

  /** Directories some incarnation still holds or is waiting for (for tests). */
  get held(): number {
    return this.last.size;
  }
}
