import type { Random, Sleep } from '../core/clock';

/** Real-time sleep used when no test clock is injected. */
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Error codes AWS services use for "slow down"; retrying them after a pause is what the services ask for. */
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  // Route 53: "the previous request from this account is still being processed" — a per-zone throttle.
  'PriorRequestNotComplete',
]);

/** The AWS error code of a thrown SDK error (`name` in SDK v3), or `undefined` for anything else. */
export function awsErrorName(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { name, Code } = error as { name?: unknown; Code?: unknown };
  if (typeof Code === 'string') return Code;
  return typeof name === 'string' ? name : undefined;
}

/** The HTTP status of a thrown SDK error, when the service answered. */
export function awsHttpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** True for throttling answers that a later retry can get past. */
export function isThrottling(error: unknown): boolean {
  const name = awsErrorName(error);
  return (name !== undefined && THROTTLING.has(name)) || awsHttpStatus(error) === 429;
}

/** Bounds for {@link withRetry}; `sleep` and `random` are injected so tests run instantly and reproducibly. */
export interface RetryOptions {
  readonly sleep?: Sleep;
  readonly random?: Random;
  /** Total attempts including the first. @default 6 */
  readonly maxAttempts?: number;
  /** @default 200 */
  readonly baseDelayMs?: number;
  /** @default 10_000 */
  readonly maxDelayMs?: number;
}

/**
 * Runs `operation`, retrying errors `retryable` accepts with "full jitter" exponential backoff, so many
 * renewers throttled at once do not retry in lock-step. The SDK already retries a little; this adds patience
 * for account-wide limits such as Route 53's 5 requests per second.
 */
export async function withRetry<T>(
  operation: () => Promise<T>,
  options: RetryOptions = {},
  retryable: (error: unknown) => boolean = isThrottling,
): Promise<T> {
  const sleep = options.sleep ?? realSleep;
  const random = options.random ?? Math.random;
  const maxAttempts = options.maxAttempts ?? 6;
  const base = options.baseDelayMs ?? 200;
  const cap = options.maxDelayMs ?? 10_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= maxAttempts || !retryable(error)) throw error;
      await sleep(Math.round(random() * Math.min(cap, base * 2 ** (attempt - 1))));
    }
  }
}

/** A one-line description of an SDK error for messages: code, HTTP status and text, never request data. */
export function describeAwsError(error: unknown): string {
  const name = awsErrorName(error) ?? 'Error';
  const status = awsHttpStatus(error);
  const message = error instanceof Error ? error.message : String(error);
  return `${name}${status === undefined ? '' : ` (HTTP ${status})`}: ${message}`;
}
