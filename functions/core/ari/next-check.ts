import type { Random } from '../clock';
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

/**
 * How far past the Retry-After a next check may be drawn, as a fraction of the interval: 0.5 spreads a 6-hour
 * Retry-After over 6–9 hours, so certificates issued in one burst stop falling due in one scheduler pass after
 * their first refresh (the hourly pass sees about a third of them each hour instead of all at once).
 */
export const ARI_CHECK_JITTER = 0.5;

/**
 * The next renewalInfo check drawn at random at or after the one the CA asked for: uniform in
 * [interval, interval × (1 + jitter)] from `now`. Near the one-day cap the span of the draw is kept and moved
 * below the cap (a Retry-After of a day or more is treated as a day), so capped intervals spread too. Never earlier
 * than {@link ARI_MIN_CHECK_INTERVAL_MS}, never later than {@link ARI_MAX_CHECK_INTERVAL_MS}. A jitter of 0 (or
 * a draw of 0) returns `nextCheckAt` unchanged.
 *
 * @see RFC 9773 §4.3.2: "clients SHOULD fetch it again as soon as possible after the time indicated in the
 *   Retry-After header" — the draw lies after that time (by less than the interval times `jitter`), except when
 *   the cap of one day, which the same section allows, pulls it under.
 */
export function jitterNextCheck(
  nextCheckAt: Date,
  now: Date,
  random: Random,
  jitter = ARI_CHECK_JITTER,
): Date {
  const base = nextCheckAt.getTime() - now.getTime();
  if (!(jitter > 0) || !Number.isFinite(base)) return nextCheckAt;
  const r = random();
  const fraction = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  const span = Math.max(base, 0) * Math.min(jitter, 1);
  const high = Math.min(base + span, ARI_MAX_CHECK_INTERVAL_MS);
  const low = Math.max(Math.min(base, high - span), ARI_MIN_CHECK_INTERVAL_MS);
  if (!(high > low)) return nextCheckAt;
  return new Date(now.getTime() + Math.round(low + fraction * (high - low)));
}
