import type { Clock, Sleep } from '../clock';
import { AcmeAwsError } from '../errors';
import { clampInstant, parseRetryAfter } from '../retry-after';

/** Bounds for polling orders and authorizations. */
export interface PollOptions {
  readonly clock: Clock;
  readonly sleep: Sleep;
  /** Give up after this long in total (default 5 minutes). */
  readonly timeoutMs?: number;
}

/**
 * How long to wait before polling again: the server's Retry-After (seconds or HTTP-date) clamped to [1 s, 60 s],
 * or an exponential backoff from 1 s when it sent none.
 * @see RFC 8555 §7.5.1 "The server MUST provide information about its retry state to the client via the
 * 'error' field ... Clients SHOULD NOT poll more frequently than the Retry-After header suggests"
 */
export function pollDelayMs(retryAfter: string | null, attempt: number, now: Date): number {
  const at = parseRetryAfter(retryAfter, now);
  if (at) return clampInstant(at, now, 1_000, 60_000).getTime() - now.getTime();
  return Math.min(1_000 * 2 ** Math.max(0, attempt - 1), 10_000);
}

/**
 * Polls until `step` returns a value or the time budget is spent. `step` returns `undefined` plus the response's
 * Retry-After to keep polling.
 */
export async function pollUntil<T>(
  what: string,
  options: PollOptions,
  step: () => Promise<{ done: T } | { retryAfter: string | null }>,
): Promise<T> {
  const started = options.clock.now().getTime();
  const budget = options.timeoutMs ?? 5 * 60_000;
  for (let attempt = 1; ; attempt++) {
    const result = await step();
    if ('done' in result) return result.done;
    const now = options.clock.now();
    const delay = pollDelayMs(result.retryAfter, attempt, now);
    if (now.getTime() + delay - started > budget) {
      throw new AcmeAwsError(
        'acme-timeout',
        `${what} did not finish within ${Math.round(budget / 1000)} s; it will be resumed on the next attempt`,
      );
    }
    await options.sleep(delay);
  }
}
