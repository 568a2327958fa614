import { clampInstant, parseRetryAfter } from '../retry-after';

/** Shortest interval between two renewalInfo checks of one certificate. */
export const ARI_MIN_CHECK_INTERVAL_MS = 60 * 1000;

/** Longest interval between two renewalInfo checks of one certificate. */
export const ARI_MAX_CHECK_INTERVAL_MS = 24 * 60 * 60 * 1000;

/** Interval used when the CA sent no usable Retry-After. */
export const ARI_DEFAULT_CHECK_INTERVAL_MS = 6 * 60 * 60 * 1000;

/**
 * When to fetch a certificate's renewalInfo again, from the `Retry-After` header of the last answer.
 *
 * @see RFC 9773 §4.3.2: "clients SHOULD fetch it again as soon as possible after the time indicated in the
 *   Retry-After header [...]. Clients SHOULD set reasonable limits on their checking interval. For example, values
 *   under one minute could be treated as if they were one minute, and values over one day could be treated as if
 *   they were one day."
 * @see RFC 9773 §4.3.3: "Retry-After is invalid or not present" is a long-term error, and "On receiving a long term
 *   error, clients SHOULD perform the next RenewalInfo fetch as soon as possible after six hours have passed".
 */
export function ariNextCheck(retryAfterHeader: string | null, now: Date): Date {
  const at = parseRetryAfter(retryAfterHeader, now);
  // Delay-seconds too large for a Date (not a safe integer, or past year 275760) are still the CA asking for a
  // long pause, so they get the one-day cap rather than the six-hour default for a broken header.
  if (at === undefined || Number.isNaN(at.getTime())) {
    if (retryAfterHeader !== null && /^\s*\d+\s*$/.test(retryAfterHeader)) {
      return new Date(now.getTime() + ARI_MAX_CHECK_INTERVAL_MS);
    }
    return new Date(now.getTime() + ARI_DEFAULT_CHECK_INTERVAL_MS);
  }
  return clampInstant(at, now, ARI_MIN_CHECK_INTERVAL_MS, ARI_MAX_CHECK_INTERVAL_MS);
}
