import { AcmeProblemError, type ProblemDocument, RateLimitedError } from '../../acme';
import { AcmeAwsError, describeError } from '../../errors';
import type { CertificateState } from '../state';
import type { RenewalContext, RenewOutcome } from './context';

/** Without a Retry-After, a rate-limited certificate waits an hour. */
const DEFAULT_DEFERRAL_MS = 60 * 60_000;

/**
 * The state after a failed attempt: the failure counted and described, a rate limit's Retry-After recorded, and
 * the attempt counted against the kept order (a rate limit excepted: it says nothing about the order), so an
 * order that keeps failing is abandoned after a bounded number of attempts.
 */
export function failedState(
  state: CertificateState,
  error: unknown,
  reason: string,
  now: Date,
): CertificateState {
  const rateLimited = error instanceof RateLimitedError;
  const problem: ProblemDocument | undefined = error instanceof AcmeProblemError ? error.problem : undefined;
  const retryAfter = rateLimited
    ? (error.retryAfter ?? new Date(now.getTime() + DEFAULT_DEFERRAL_MS)).toISOString()
    : undefined;
  const pending = state.pendingOrder;
  return {
    ...state,
    failures: state.failures + 1,
    // The first failure of a run starts it; a CA outage's failover budget counts from here (renewal/failover.ts).
    failingSince: state.failures === 0 ? now.toISOString() : (state.failingSince ?? state.lastAttemptAt),
    lastAttemptAt: now.toISOString(),
    lastResult: rateLimited ? 'deferred' : 'failed',
    lastReason: reason,
    lastError: describeError(error),
    lastProblem: problem ? { ...problem } : undefined,
    retryAfter,
    pendingOrder:
      pending && !rateLimited ? { ...pending, failedAttempts: pending.failedAttempts + 1 } : pending,
  };
}

/**
 * Records a failed attempt in the state and as a failure event, then rethrows it so the queue retries and
 * finally dead-letters; a rate limit is answered `deferred` instead, with the CA's Retry-After recorded.
 * The pending key is deleted when no order in the stored state needs it. `ordering` is the order attempt's
 * context when the failure happened while ordering: the event then names that CA and the failover that led there.
 */
export async function recordFailure(
  ctx: RenewalContext,
  error: unknown,
  ordering?: Pick<RenewalContext, 'caName' | 'failover'>,
): Promise<RenewOutcome> {
  const { deps, config, request, record } = ctx;
  const state = failedState(record.state, error, request.reason, deps.clock.now());
  const recorded = await record.save(state).then(
    () => true,
    (saveError: unknown) => {
      deps.progress?.('failure_not_recorded', { id: config.id, error: describeError(saveError) });
      return false;
    },
  );
  // The pending key is a checkpoint only while an order in the stored state needs it; a failure before the
  // order was placed, or after the state moved on, would otherwise leave a private key nothing will ever use.
  // When the state could not be written, S3 may still name the order: keep the key so the retry resumes it.
  if (recorded && !record.state.pendingOrder) await deps.store.deletePendingKey(config.id).catch(() => {});
  const problem = state.lastProblem;
  await deps.events
    .publish('Certificate Renewal Failed', {
      id: config.id,
      domains: config.domains,
      reason: request.reason,
      code: error instanceof AcmeAwsError ? error.code : 'unknown',
      error: describeError(error),
      problem,
      failures: state.failures,
      retryAfter: state.retryAfter,
      ...(state.pendingOrder ? { orderFailedAttempts: state.pendingOrder.failedAttempts } : {}),
      ...(ordering ? { ca: ordering.caName, failover: ordering.failover ?? null } : {}),
    })
    // The renewal's own error matters more and is rethrown below; a lost event is still said, never swallowed.
    .catch((publishError: unknown) =>
      deps.progress?.('failure_event_not_published', { id: config.id, error: describeError(publishError) }),
    );
  if (!(error instanceof RateLimitedError)) throw error;
  return {
    id: config.id,
    result: 'deferred',
    reason: request.reason,
    imports: [],
    notes: [describeError(error)],
    ...(state.retryAfter === undefined ? {} : { retryAfter: state.retryAfter }),
  };
}
