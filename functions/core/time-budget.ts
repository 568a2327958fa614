import type { Clock } from './clock';

/**
 * The Lambda time budget, defined once: the construct sets the function timeouts from here, the runtime passes the
 * polling budget, the pass budget and the lease TTL from here, and the core defaults its request timeouts to these.
 *
 * How the values relate (each is asserted in `test/unit/time-budget.test.ts`):
 * - every request has a deadline far below the function that makes it, so one unresponsive endpoint costs one
 *   request, not the invocation: {@link ARI_REQUEST_TIMEOUT_MS} and {@link ACME_REQUEST_TIMEOUT_MS};
 * - the scheduler stops starting checks at {@link SCHEDULER_PASS_BUDGET_MS}, which leaves
 *   {@link SCHEDULER_PUBLISH_MARGIN_MS} of {@link SCHEDULER_TIMEOUT_MS} for the checks in flight (each bounded by
 *   the ARI request timeout plus a state write), the last SQS batch and the metrics (the heartbeat);
 * - the renewer polls DNS and the CA for at most {@link RENEWER_POLL_BUDGET_MS} per attempt, which leaves
 *   {@link RENEWER_CHECKPOINT_MARGIN_MS} of {@link RENEWER_TIMEOUT_MS} to record the order (checkpoint), clean up
 *   DNS and release the lease, so a long renewal resumes on the next attempt instead of dying mid-write;
 * - the renewer's lease outlives its function ({@link RENEWER_LEASE_TTL_MS} > {@link RENEWER_TIMEOUT_MS}), so a
 *   live renewer is never overtaken, and a crashed one frees the certificate on its own.
 *
 * Durations only: the core reads no clock, so the instants come from the caller's `Clock` (see
 * {@link passBudget}).
 */

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

/** The scheduler Lambda's timeout. */
export const SCHEDULER_TIMEOUT_MS = 5 * MINUTE;

/** The renewer Lambda's timeout: Lambda's maximum, because issuance waits on DNS and the CA. */
export const RENEWER_TIMEOUT_MS = 15 * MINUTE;

/**
 * How long a renewer's lease on a certificate lasts: longer than the renewer can run, so a second renewer never
 * takes over a live one, and short enough that a crashed holder's lease expires before the next retry.
 */
export const RENEWER_LEASE_TTL_MS = RENEWER_TIMEOUT_MS + MINUTE;

/** What the renewer keeps after polling to checkpoint the order, clean up DNS and release its lease. */
export const RENEWER_CHECKPOINT_MARGIN_MS = 5 * MINUTE;

/**
 * How long one renewer attempt polls DNS propagation and the CA (authorizations, order) before it stops, records
 * the order, and lets the next attempt resume it.
 */
export const RENEWER_POLL_BUDGET_MS = RENEWER_TIMEOUT_MS - RENEWER_CHECKPOINT_MARGIN_MS;

/**
 * Deadline of one renewalInfo request (headers and body).
 * @see RFC 9773 §4.3.3: "Connection timeout" and "Request timeout" are temporary errors, retried within the hour.
 */
export const ARI_REQUEST_TIMEOUT_MS = 10 * SECOND;

/** Deadline of one ACME request (directory, nonce, signed POST), headers and body. */
export const ACME_REQUEST_TIMEOUT_MS = 30 * SECOND;

/**
 * What a scheduler pass keeps after its budget: the checks in flight finish (each at most one ARI request timeout
 * plus a state read and write), the last batch is enqueued and the metrics, the heartbeat among them, are published.
 */
export const SCHEDULER_PUBLISH_MARGIN_MS = MINUTE;

/** How long a scheduler pass starts new certificate checks; the rest is left for the next pass. */
export const SCHEDULER_PASS_BUDGET_MS = SCHEDULER_TIMEOUT_MS - SCHEDULER_PUBLISH_MARGIN_MS;

/**
 * The time left of a budget that starts now, read from the caller's clock: pass
 * `passBudget(clock, SCHEDULER_PASS_BUDGET_MS)` as the scheduler's `remainingMs`. In Lambda,
 * `() => context.getRemainingTimeInMillis() - SCHEDULER_PUBLISH_MARGIN_MS` is the same budget and counts the
 * cold start too.
 */
export function passBudget(clock: Clock, budgetMs: number): () => number {
  const started = clock.now().getTime();
  return () => budgetMs - (clock.now().getTime() - started);
}
