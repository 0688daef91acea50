/**
 * Runs `fn` over an async iterable with at most `concurrency` calls in flight and yields results
 * as they finish (not in input order). The input is pulled lazily, one item per free slot, so a
 * directory walk feeding it never runs ahead of the work by more than `concurrency` items.
 */
export async function* mapConcurrent<T, R>(items: AsyncIterable<T>, concurrency: number, fn: (item: T) => Promise<R>): AsyncGenerator<R> {
  const it = items[Symbol.asyncIterator]();
  const done: R[] = [];
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  let space: (() => void)[] = [];
  let running = 0;
  const limit = Math.max(1, concurrency);
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  // Each worker pulls the next item itself; calls to next() on an async generator are queued, so workers never share an item.
  const worker = async () => {
    try {
      for (;;) {
        // A slow consumer (output blocked) stops the workers instead of letting results pile up.
        while (done.length >= limit) await new Promise<void>((r) => space.push(r));
        const n = await it.next();
        if (n.done) return;
        done.push(await fn(n.value));
        notify();
      }
    } catch (e) {
      failure ??= { error: e };
    } finally {
      running--;
      notify();
    }
  };
  for (let i = 0; i < limit; i++) {
    running++;
    void worker();
  }
  try {
    for (;;) {
      while (done.length) {
        yield done.shift()!;
        const waiting = space;
        space = [];
        for (const r of waiting) r();
      }
      if (failure) throw failure.error;
      if (running === 0) return;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    for (const r of space) r();
    await it.return?.();
  }
}
