/**
 * Parses an HTTP `Retry-After` value: either delay-seconds or an HTTP-date.
 * Returns the instant after which a retry is allowed, or `undefined` when the header is absent or malformed.
 * @see RFC 9110 §10.2.3: `Retry-After = HTTP-date / delay-seconds`
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): Date | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    const at = new Date(now.getTime() + seconds * 1000);
    // A delay too large for a Date is as useless as a malformed one.
    return Number.isSafeInteger(seconds) && !Number.isNaN(at.getTime()) ? at : undefined;
  }
  // RFC 9110 §5.6.7: "A recipient that parses a timestamp value in an HTTP header field MUST accept all three
  // HTTP-date formats". Only those three shapes reach Date.parse, keeping its leniency out; asctime carries no
  // zone and is UTC by definition.
  const asctime = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/.test(text);
  if (
    !asctime &&
    !/^[A-Za-z]{3},? .*GMT$/.test(text) &&
    !/^[A-Za-z]+, \d{2}-[A-Za-z]{3}-\d{2} .*GMT$/.test(text)
  )
    return undefined;
  const at = Date.parse(asctime ? `${text} GMT` : text);
  return Number.isNaN(at) ? undefined : new Date(at);
}

/** Limits `at` to the range [now + min, now + max]; used so a server can neither hot-loop nor silence us. */
export function clampInstant(at: Date, now: Date, minMs: number, maxMs: number): Date {
  const delta = Math.min(Math.max(at.getTime() - now.getTime(), minMs), maxMs);
  return new Date(now.getTime() + delta);
}

/**
 * Longest deferral a CA's rate limit (or a 503's Retry-After) can impose: Let's Encrypt's longest limits refill
 * over a week. A longer value (`Retry-After: 99999999`, three years) is a broken or hostile server, and is stored
 * as this; the renewal decision further ends every deferral at the certificate's emergency floor.
 * @see RFC 8555 §6.6 "the server ... MAY include a Retry-After header field indicating how long to wait"
 */
export const RATE_LIMIT_MAX_DEFERRAL_MS = 7 * 24 * 60 * 60 * 1000;

/** A rate limit's Retry-After as it may be stored: never before `now`, never more than a week after it. */
export function clampRateLimitRetryAfter(at: Date, now: Date): Date {
  return clampInstant(at, now, 0, RATE_LIMIT_MAX_DEFERRAL_MS);
}
