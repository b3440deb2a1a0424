/**
 * Joins concurrent calls of a read (a `tmux list-*`, a file's stat) into few real ones, without
 * ever answering from before the call: a caller arriving while a read is in flight waits for the
 * next read, which starts when that one ends and answers everybody who arrived meanwhile. So a
 * burst of N callers costs two reads, and each answer is at least as new as its caller's request.
 */
export function coalesced<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  let next: Promise<T> | undefined;
  const start = () => {
    const p = read().finally(() => {
      if (running === p) running = undefined;
    });
    running = p;
    return p;
  };
  return () => {
    if (!running) return start();
    next ??= running.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      next = undefined;
      return start();
    });
    return next;
  };
}
