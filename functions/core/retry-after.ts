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
