import { AcmeAwsError } from '../errors';
import * as z from '../zod';

/** The CA's suggested renewal window: renew at some instant in [start, end). */
export type RenewalWindow = { start: Date; end: Date };

/** A validated renewalInfo answer. */
export type RenewalInfo = { window: RenewalWindow; explanationUrl?: string };

// RFC 3339 with a mandatory "Z" or offset: a timestamp without a zone would be read in the Lambda's local zone.
const timestamp = z.iso.datetime({ offset: true });

const renewalInfoSchema = z.object({
  suggestedWindow: z.object({ start: timestamp, end: timestamp }),
  // Loosely typed on purpose: a bad explanation link is dropped, it never costs us the window (see below).
  explanationURL: z.optional(z.unknown()),
});

/**
 * Validates a renewalInfo response body (`unknown`, straight from JSON) into a {@link RenewalInfo}.
 *
 * @see RFC 9773 §4.2: "`suggestedWindow` (object, required): A JSON object with two keys, "`start`" and "`end`",
 *   whose values are timestamps, encoded in the format specified in [RFC3339], which bound the window of time in
 *   which the CA recommends renewing the certificate."
 * @see RFC 9773 §4.2: "A RenewalInfo object in which the `end` timestamp equals or precedes the `start` timestamp
 *   is invalid. Servers MUST NOT serve such a response, and clients MUST treat one as though they failed to
 *   receive any response from the server".
 * @see RFC 9773 §4.2: "`explanationURL` (string, optional): A URL pointing to a page which may explain why the
 *   suggested renewal window has its current value. [...] Conforming clients SHOULD provide this URL to their
 *   operator, if present." Only http(s) URLs are kept, because operators will click it.
 * @throws AcmeAwsError `ari-invalid` when the window is missing, unparseable or empty; the caller then falls back
 *   to the lifetime ratio, as the RFC asks.
 */
export function parseRenewalInfo(body: unknown): RenewalInfo {
  const parsed = renewalInfoSchema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(body)'}: ${issue.message}`)
      .join('; ');
    throw new AcmeAwsError(
      'ari-invalid',
      `The renewalInfo response is not a valid RenewalInfo object: ${problems}`,
    );
  }
  const { suggestedWindow, explanationURL } = parsed.data;
  const start = new Date(suggestedWindow.start);
  const end = new Date(suggestedWindow.end);
  // The schema accepts dates beyond what Date can hold (e.g. year 300000); those come out as NaN.
  if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime())) {
    throw new AcmeAwsError(
      'ari-invalid',
      `The renewalInfo window ${suggestedWindow.start} – ${suggestedWindow.end} is out of range`,
    );
  }
  if (end.getTime() <= start.getTime()) {
    throw new AcmeAwsError(
      'ari-invalid',
      `The renewalInfo window ends (${suggestedWindow.end}) at or before it starts (${suggestedWindow.start}); ignoring it as RFC 9773 §4.2 requires`,
    );
  }
  const explanationUrl = httpUrl(explanationURL);
  return explanationUrl === undefined
    ? { window: { start, end } }
    : { window: { start, end }, explanationUrl };
}

/** The value as a normalized URL when it is an absolute http(s) URL, otherwise `undefined`. */
function httpUrl(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
