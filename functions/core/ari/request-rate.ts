import type { Sleep } from '../clock';

/**
 * renewalInfo requests per second the scheduler sends to one CA, by default. Let's Encrypt documents
 * 1,000 requests per second (burst 100) per IP address for `/acme/renewal-info`; a fifth of that leaves room for
 * the account's other clients and still refreshes 10,000 certificates in 50 s.
 */
export const ARI_REQUESTS_PER_SECOND = 200;

/** How many renewalInfo requests may leave at once before the per-CA rate applies, by default. */
export const ARI_REQUEST_BURST = 20;

/** Waits until a request to the CA named by `key` may be sent. */
export interface RequestRate {
  acquire(key: string): Promise<void>;
}

/** Input of {@link perKeyTokenBuckets}: the rate, the burst, and the clock and sleep to wait with. */
export interface TokenBucketOptions {
  /** Requests per second each key may send once its burst is spent. */
  readonly perSecond: number;
  /** Requests a key may send at once. @default ARI_REQUEST_BURST */
  readonly burst?: number;
  /** Milliseconds since any fixed origin (a monotonic clock in Lambda). */
  readonly nowMs: () => number;
  readonly sleep: Sleep;
}

/**
 * One token bucket per key (a CA's renewalInfo URL), kept as a generic cell rate (GCRA): a key holds at most `burst` tokens, gains `perSecond` of
 * them a second, and each request takes one. A request finding no token reserves the next one and sleeps until it
 * is due, so waiting requests leave in order and never faster than the rate, however many checks run at once.
 */
export function perKeyTokenBuckets(options: TokenBucketOptions): RequestRate {
  const burst = Math.max(1, options.burst ?? ARI_REQUEST_BURST);
  const intervalMs = 1000 / options.perSecond;
  /** Per key: the instant its bucket is full again if nothing more is taken (GCRA's theoretical arrival time). */
  const fullAt = new Map<string, number>();
  const toleranceMs = (burst - 1) * intervalMs;
  return {
    async acquire(key) {
      const now = options.nowMs();
      const arrival = Math.max(fullAt.get(key) ?? now, now);
      // The request may leave once the bucket holds a token again: `burst - 1` intervals before the arrival.
      const waitMs = arrival - toleranceMs - now;
      fullAt.set(key, arrival + intervalMs);
      if (waitMs > 0) await options.sleep(waitMs);
    },
  };
}
