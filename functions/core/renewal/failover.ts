import { AcmeProblemError, CaUnreachableError, RateLimitedError } from '../acme';
import { AcmeAwsError, type ErrorCode } from '../errors';
import { RequestTimeoutError } from '../http';
import type { CertificateState } from './state';

/**
 * Why a renewal moved on from a certificate's CA to the next one in its list:
 * - `ca-unavailable`: the CA answered 5xx, timed out or did not answer, for longer than the outage budget (or
 *   while the renewal is already late);
 * - `rate-limited`: the CA's Retry-After reaches past the point where the renewal would be late;
 * - `repeated-failures`: the CA failed the certificate's last attempts while the renewal is late.
 */
export const FAILOVER_REASONS = ['ca-unavailable', 'rate-limited', 'repeated-failures'] as const;
export type FailoverReason = (typeof FAILOVER_REASONS)[number];

/** When a renewal gives up on a CA for this attempt and orders from the next one. */
export interface FailoverPolicy {
  /** How long a CA may stay unavailable (5xx, timeouts, no answer) for one certificate before the next is tried. */
  readonly unavailableBudgetMs: number;
  /** Consecutive failed attempts (this one included) after which a late renewal moves on, whatever failed. */
  readonly lateFailures: number;
  /** The last part of the lifetime in which a renewal is late, unless the CA's ARI window ended sooner. */
  readonly lateFraction: number;
}

/**
 * Defaults: half an hour of outage (a CA blip or a deploy stays with the first CA; Let's Encrypt's 8-hour outage of
 * 2025-07-21 does not), three failures, and the last sixth of the lifetime (15 days of 90, 1 day of 6).
 */
export const DEFAULT_FAILOVER_POLICY: FailoverPolicy = {
  unavailableBudgetMs: 30 * 60_000,
  lateFailures: 3,
  lateFraction: 1 / 6,
};

/** How long a rate limit without Retry-After defers a renewal (record-failure's default deferral). */
const RATE_LIMIT_DEFAULT_WAIT_MS = 60 * 60_000;

/** Failures that are the CA's to answer for; the rest (DNS, S3, ACM, leases, configuration) would follow us. */
const CA_SIDE_CODES: ReadonlySet<ErrorCode> = new Set([
  'acme-problem',
  'acme-rate-limited',
  'acme-protocol',
  'acme-timeout',
  'verification-failed',
]);

/** Input of {@link shouldFailOver}: what the CA answered now, the certificate's state as read, and its CAs. */
export interface FailoverInput {
  readonly error: unknown;
  readonly now: Date;
  readonly state: Pick<CertificateState, 'current' | 'ari' | 'failures' | 'failingSince' | 'lastAttemptAt'>;
  /** The certificate's CAs in failover order (`casOf`). */
  readonly cas: readonly string[];
  /** The CA that just failed. */
  readonly from: string;
  readonly policy?: Partial<FailoverPolicy>;
}

/** Whether to order from another CA now, which one, and why (or why not). */
export type FailoverDecision =
  | { readonly failover: true; readonly to: string; readonly reason: FailoverReason; readonly why: string }
  | { readonly failover: false; readonly why: string };

type Failure =
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'rate-limited'; readonly until?: Date }
  | { readonly kind: 'ca' }
  | { readonly kind: 'ours'; readonly code: string };

/** What kind of failure `error` is, as far as moving to another CA can help with it. */
function classify(error: unknown): Failure {
  if (error instanceof RateLimitedError) return { kind: 'rate-limited', until: error.retryAfter };
  if (error instanceof RequestTimeoutError || error instanceof CaUnreachableError)
    return { kind: 'unavailable' };
  if (error instanceof AcmeProblemError && (error.status ?? 0) >= 500) return { kind: 'unavailable' };
  if (error instanceof AcmeAwsError && CA_SIDE_CODES.has(error.code)) return { kind: 'ca' };
  return { kind: 'ours', code: error instanceof AcmeAwsError ? error.code : 'unknown' };
}

/**
 * The instant from which the renewal is late: the end of the CA's suggested window for the current certificate
 * when that comes first (RFC 9773 §4.2: the window "bound[s] the window of time in which the CA recommends renewing
 * the certificate"), else the start of the lifetime's last part; for a certificate not issued yet, once it has
 * waited the outage budget.
 */
export function lateAt(
  state: FailoverInput['state'],
  streakStart: Date,
  policy: FailoverPolicy = DEFAULT_FAILOVER_POLICY,
): Date {
  const current = state.current;
  if (!current) return new Date(streakStart.getTime() + policy.unavailableBudgetMs);
  const notBefore = Date.parse(current.notBefore);
  const notAfter = Date.parse(current.notAfter);
  const lastPart = notAfter - (notAfter - notBefore) * policy.lateFraction;
  const ari = state.ari && state.ari.certId === current.certId ? Date.parse(state.ari.windowEnd) : Number.NaN;
  return new Date(Number.isFinite(ari) ? Math.min(ari, lastPart) : lastPart);
}

/** When the certificate's current run of failed attempts began: now, for the first failure. */
function streakStart(state: FailoverInput['state'], now: Date): Date {
  if (state.failures === 0) return now;
  const since = Date.parse(state.failingSince ?? state.lastAttemptAt ?? '');
  return Number.isFinite(since) ? new Date(Math.min(since, now.getTime())) : now;
}

/**
 * Decides whether a failed order at `from` moves on to the next CA of the certificate in this same attempt.
 * Pure: the same input gives the same answer, so it is tested as a table with a fixed clock. Failures that are not
 * the CA's (DNS, storage, ACM) never move: another CA would meet them too. The next renewal starts with the first
 * CA again; only the order's `replaces` follows the CA that issued the predecessor.
 */
export function shouldFailOver(input: FailoverInput): FailoverDecision {
  const { now, state, cas, from } = input;
  const policy = { ...DEFAULT_FAILOVER_POLICY, ...input.policy };
  const failure = classify(input.error);
  if (failure.kind === 'ours') {
    return {
      failover: false,
      why: `the failure (${failure.code}) is not the CA's; another CA would meet it too`,
    };
  }
  const index = cas.indexOf(from);
  const to = index === -1 ? undefined : cas[index + 1];
  if (to === undefined) return { failover: false, why: `no CA after "${from}" to fail over to` };
  const since = streakStart(state, now);
  const late = lateAt(state, since, policy);
  const isLate = now.getTime() >= late.getTime();
  const lateText = isLate ? `the renewal is late since ${late.toISOString()}` : '';
  if (failure.kind === 'unavailable') {
    const downMs = now.getTime() - since.getTime();
    if (downMs >= policy.unavailableBudgetMs || isLate) {
      const why = isLate
        ? `"${from}" is unavailable and ${lateText}`
        : `"${from}" has been unavailable for ${minutes(downMs)}, beyond the budget of ${minutes(policy.unavailableBudgetMs)}`;
      return { failover: true, to, reason: 'ca-unavailable', why };
    }
    return {
      failover: false,
      why: `"${from}" has been unavailable for ${minutes(downMs)}, within the budget of ${minutes(policy.unavailableBudgetMs)}`,
    };
  }
  if (failure.kind === 'rate-limited') {
    const until = failure.until ?? new Date(now.getTime() + RATE_LIMIT_DEFAULT_WAIT_MS);
    if (until.getTime() > late.getTime()) {
      const why = `"${from}" rate-limits until ${until.toISOString()}, past the point the renewal is late (${late.toISOString()})`;
      return { failover: true, to, reason: 'rate-limited', why };
    }
    return {
      failover: false,
      why: `"${from}" rate-limits until ${until.toISOString()}, before the renewal is late`,
    };
  }
  const failures = state.failures + 1;
  if (isLate && failures >= policy.lateFailures) {
    return {
      failover: true,
      to,
      reason: 'repeated-failures',
      why: `"${from}" failed ${failures} attempts in a row and ${lateText}`,
    };
  }
  return {
    failover: false,
    why: isLate
      ? `"${from}" failed ${failures} of ${policy.lateFailures} attempts allowed once late`
      : `"${from}" failed; the renewal is not late before ${late.toISOString()}`,
  };
}

/**
 * The CA an attempt starts with: the first of the certificate's CAs, except when it resumes an order kept from an
 * earlier attempt, which continues at the CA that order was placed with (still one of the certificate's CAs).
 */
export function startingCa(cas: readonly string[], pendingCa: string | undefined): string {
  return pendingCa !== undefined && cas.includes(pendingCa) ? pendingCa : cas[0]!;
}

function minutes(ms: number): string {
  return `${Math.round(ms / 60_000)} min`;
}
