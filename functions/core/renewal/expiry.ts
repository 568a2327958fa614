/**
 * Days to expiry on one scale for every certificate lifetime, so one expiry threshold fits them all.
 *
 * Why: a fixed "fewer than 14 days left" says "renewal is late" for a 90-day certificate (it renews with about 30
 * left) but is always true for a 6-day one (Let's Encrypt's `shortlived` profile) and early for a 45-day one. An
 * alarm on the soonest expiry would fire permanently with one short-lived certificate and hide every other one.
 * Scaled to a {@link REFERENCE_LIFETIME_DAYS}-day lifetime, the same threshold means the same share of each
 * lifetime: 14 days of 90 is 7 of 45 and 0.93 of 6. No new metric is needed (each costs $0.30 a month).
 */

/** The lifetime the scale is expressed in: the classic Let's Encrypt certificate's. */
export const REFERENCE_LIFETIME_DAYS = 90;

const DAY_MS = 24 * 60 * 60_000;

/**
 * The days left scaled to a {@link REFERENCE_LIFETIME_DAYS}-day lifetime: `daysLeft × 90 / lifetimeDays` for a
 * certificate that lives less than 90 days; exactly `daysLeft` for one of 90 days or longer (a 365-day certificate
 * keeps the alarm at 14 real days left its operators know), for an unknown lifetime (a row of an older index: the
 * count of the release that wrote it), and for a lifetime that is not positive (a damaged record must not divide by
 * zero or turn the sign).
 */
export function lifetimeScaledDays(daysLeft: number, lifetimeDays: number | undefined): number {
  if (lifetimeDays === undefined || !Number.isFinite(lifetimeDays) || lifetimeDays <= 0) return daysLeft;
  if (lifetimeDays >= REFERENCE_LIFETIME_DAYS) return daysLeft;
  return (daysLeft * REFERENCE_LIFETIME_DAYS) / lifetimeDays;
}

/** A certificate's validity in epoch milliseconds; `notBefore` is absent where it is not known. */
export interface Validity {
  readonly notAfter: number;
  readonly notBefore?: number | undefined;
}

/** Days left until `notAfter` at `now` (negative once expired), real and lifetime-scaled. */
export interface DaysToExpiry {
  readonly days: number;
  /** {@link lifetimeScaledDays} of `days`: what the expiry alarm and the `near-expiry` threshold compare. */
  readonly scaled: number;
}

/** The days to expiry of a certificate at `now`, with its lifetime (`notAfter − notBefore`) when known. */
export function daysToExpiry(validity: Validity, now: Date): DaysToExpiry {
  const days = (validity.notAfter - now.getTime()) / DAY_MS;
  const lifetime =
    validity.notBefore === undefined ? undefined : (validity.notAfter - validity.notBefore) / DAY_MS;
  return { days, scaled: lifetimeScaledDays(days, lifetime) };
}

/** {@link daysToExpiry} of a state document's certificate, whose validity is stored as ISO timestamps. */
export function certificateDaysToExpiry(
  current: { readonly notBefore: string; readonly notAfter: string },
  now: Date,
): DaysToExpiry {
  return daysToExpiry(
    { notAfter: Date.parse(current.notAfter), notBefore: Date.parse(current.notBefore) },
    now,
  );
}
