/**
 * Maps `items` through `fn` with at most `limit` calls in flight, keeping order. Used where thousands of
 * certificates meet a CA or AWS rate limit.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= items.length) return;
      results[index] = await fn(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}

/** Work started now whose result is taken later: `settled` never rejects, so a failure is never unhandled. */
export interface Early<T> {
  /** The result, or the failure rethrown; may be called any number of times. */
  readonly get: () => Promise<T>;
  /** Resolves once the work is over, whatever its outcome: what a failure path awaits before it goes on. */
  readonly settled: Promise<unknown>;
}

/** Starts `make` now, for a result taken later with `get()`. */
export function early<T>(make: () => Promise<T>): Early<T> {
  const settled = make().then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  return {
    settled,
    get: async () => {
      const result = await settled;
      if ('error' in result) throw result.error;
      return result.value;
    },
  };
}
