/**
 * One interval timer for every share's heartbeat: all beats of a tick run together, so the reads
 * they share (the multiplexer's client list, the kernel's TCP table) are made once per tick for
 * all shares instead of once per share at scattered times. The timer runs only while some share
 * listens, and does not keep the process alive.
 */
export class Ticker {
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly intervalMs: number) {}

  /** Calls `beat` on every tick until the returned function is called. */
  every(beat: () => void): () => void {
    this.listeners.add(beat);
    if (!this.timer) {
      this.timer = setInterval(() => {
        for (const l of [...this.listeners]) l();
      }, this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(beat);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  get size(): number {
    return this.listeners.size;
  }
}
