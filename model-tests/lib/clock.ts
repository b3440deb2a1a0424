import { SimulatedClock } from 'xstate';

type Timer = { label: string; due: number };

/**
 * xstate's SimulatedClock, plus a name for every pending timer so a path can say which delay it
 * drives ("linkTimeout", "untilExpiry", "RESTART.WINDOW_ELAPSED") and a test can see which fired.
 */
export class ModelClock extends SimulatedClock {
  /** Names the timer being set; the world points it at the actor system's scheduled events. */
  labeler: () => string = () => 'timer';
  private readonly timers = new Map<number, Timer>();
  /** Labels of the timers fired since the last `takeFired()`. */
  private fired: string[] = [];

  /** The pending timers as `label:remaining`, the form every model observes them in. */
  pendingLabels(): string[] {
    return this.pending().map((t) => `${t.label}:${t.remaining}`);
  }

  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const label = this.labeler();
    const id: number = super.setTimeout(() => {
      this.timers.delete(id);
      this.fired.push(label);
      fn();
    }, timeout);
    this.timers.set(id, { label, due: this.now() + timeout });
    return id;
  }

  override clearTimeout(id: number): void {
    this.timers.delete(id);
    super.clearTimeout(id);
  }

  pending(): Array<Timer & { remaining: number }> {
    return [...this.timers.values()]
      .map((t) => ({ ...t, remaining: t.due - this.now() }))
      .sort((a, b) => a.due - b.due || a.label.localeCompare(b.label));
  }

  nextDue(): number | undefined {
    return this.pending()[0]?.due;
  }

  /** Move to the earliest deadline: that timer (and any due at the same instant) fires. */
  advanceToNext(): void {
    const due = this.nextDue();
    if (due !== undefined) this.set(due);
  }

  /** Move to 1 ms before the earliest deadline: nothing may fire. */
  advanceAlmost(): void {
    const due = this.nextDue();
    if (due !== undefined && due - this.now() > 1) this.set(due - 1);
  }

  takeFired(): string[] {
    const f = this.fired;
    this.fired = [];
    return f;
  }
}

/** `xstate.after.linkTimeout.shareWorker.running.launching` -> `linkTimeout`; other events keep their type. */
export const timerName = (eventType: string): string => {
  const m = /^xstate\.after\.([^.]+)\./.exec(eventType);
  return m ? m[1]! : eventType;
};
