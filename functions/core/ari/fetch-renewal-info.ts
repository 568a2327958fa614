import { AcmeAwsError } from '../errors';
import {
  type Fetch,
  guardedFetch,
  type HttpResponse,
  MAX_JSON_BYTES,
  mediaType,
  RedirectRefusedError,
  RequestTimeoutError,
  type RequestTimer,
  readBoundedJson,
  USER_AGENT,
} from '../http';
import { ARI_REQUEST_TIMEOUT_MS } from '../time-budget';
import { CERT_ID_PATTERN } from './cert-id';
import { ariNextCheck } from './next-check';
import { parseRenewalInfo, type RenewalInfo } from './renewal-info';

/** How soon to ask again after a temporary failure (network, 5xx, 429) that came without a Retry-After. */
export const ARI_TEMPORARY_RETRY_MS = 60 * 60 * 1000;

/**
 * A renewalInfo request that failed, with what the caller needs to schedule the next attempt.
 * Code `ari-invalid`, so a caller branching on `hasCode(error, 'ari-invalid')` treats every ARI failure alike.
 */
export class RenewalInfoError extends AcmeAwsError {
  /** The HTTP status, when the CA answered at all. */
  readonly status?: number;
  /**
   * True for failures RFC 9773 §4.3.3 calls temporary ("Connection timeout", "Request timeout", "5xx HTTP errors"),
   * which deserve a sooner retry than long-term ones.
   */
  readonly temporary: boolean;
  /** When to try again: the CA's Retry-After (clamped) or a default for the kind of failure. */
  readonly nextCheckAt: Date;

  constructor(
    message: string,
    details: { status?: number; temporary: boolean; nextCheckAt: Date },
    options?: { cause?: unknown },
  ) {
    super('ari-invalid', message, options);
    this.name = 'RenewalInfoError';
    if (details.status !== undefined) this.status = details.status;
    this.temporary = details.temporary;
    this.nextCheckAt = details.nextCheckAt;
  }
}

/** Input of {@link fetchRenewalInfo}. */
export type FetchRenewalInfoInput = {
  fetch: Fetch;
  /** The directory's `renewalInfo` URL. */
  renewalInfoUrl: string;
  /** The certificate's identifier, from `certId`. */
  certId: string;
  now: Date;
  /** Aborts the request (e.g. the end of the scheduler's pass). */
  signal?: AbortSignal;
  /** Deadline of the request, headers and body. @default ARI_REQUEST_TIMEOUT_MS */
  timeoutMs?: number;
  /** Makes the deadline's signal. @default abortAfter (`AbortSignal.timeout`) */
  timer?: RequestTimer;
};

/**
 * Fetches and validates a certificate's renewal information, and when to fetch it again.
 *
 * @see RFC 9773 §4.1: "To request the suggested renewal information for a certificate, the client sends a GET
 *   request to a path under the server's `renewalInfo` URL." — `url = renewalInfo || '/' || certID`.
 * @see RFC 9773 §6 (Security Considerations): renewalInfo resources "MUST be exposed and accessed via
 *   unauthenticated GET requests", so no JWS and no nonce are involved.
 * @see RFC 9773 §4.3.3: "Connection timeout" and "Request timeout" are temporary errors; so is a reply that does
 *   not arrive within `timeoutMs` here (retried within the hour).
 * @throws RenewalInfoError (code `ari-invalid`) on a network error or timeout (temporary, its cause a
 *   `RequestTimeoutError`), a redirect (never followed off the renewalInfo URL's origin; its cause a
 *   `RedirectRefusedError`), a non-2xx answer (with the CA's problem type and bounded detail when the body is a
 *   problem document, otherwise its status and content type only), an oversized or non-JSON body, or an invalid
 *   RenewalInfo object.
 */
export async function fetchRenewalInfo(
  input: FetchRenewalInfoInput,
): Promise<{ info: RenewalInfo; nextCheckAt: Date }> {
  const { now } = input;
  // The certID ends up in a URL path; refusing anything else keeps a corrupt state document from steering requests.
  if (!CERT_ID_PATTERN.test(input.certId)) {
    throw new RenewalInfoError(`"${input.certId}" is not an ARI certID (base64url "." base64url)`, {
      temporary: false,
      nextCheckAt: ariNextCheck(null, now),
    });
  }
  const url = `${input.renewalInfoUrl.replace(/\/+$/, '')}/${input.certId}`;

  const timeoutMs = input.timeoutMs ?? ARI_REQUEST_TIMEOUT_MS;
  const temporaryRetry = new Date(now.getTime() + ARI_TEMPORARY_RETRY_MS);

  // renewalInfo is unauthenticated (RFC 9773 §6), so nothing pins it to the CA but this: no redirect leaves the
  // renewalInfo URL's origin, and no request outlives its deadline.
  let response: HttpResponse;
  try {
    response = await guardedFetch(
      input.fetch,
      url,
      { method: 'GET', headers: { accept: 'application/json', 'user-agent': USER_AGENT } },
      {
        timeoutMs,
        code: 'ari-invalid',
        ...(input.timer ? { timer: input.timer } : {}),
        ...(input.signal ? { signal: input.signal } : {}),
      },
    );
  } catch (cause) {
    if (cause instanceof RequestTimeoutError) {
      throw new RenewalInfoError(
        `renewalInfo at ${url} did not answer within ${timeoutMs} ms`,
        { temporary: true, nextCheckAt: temporaryRetry },
        { cause },
      );
    }
    if (cause instanceof RedirectRefusedError) {
      // A CA that moves its renewalInfo elsewhere is misconfigured or compromised: a long-term error (six hours).
      throw new RenewalInfoError(
        cause.message,
        { status: cause.status, temporary: false, nextCheckAt: ariNextCheck(null, now) },
        { cause },
      );
    }
    throw new RenewalInfoError(
      `Could not reach renewalInfo at ${url}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { temporary: true, nextCheckAt: temporaryRetry },
      { cause },
    );
  }

  const retryAfter = response.headers.get('retry-after');
  if (!response.ok) {
    const temporary = response.status >= 500 || response.status === 429;
    const nextCheckAt = temporary && retryAfter === null ? temporaryRetry : ariNextCheck(retryAfter, now);
    const problem = await readProblem(response).catch(rethrowTimeout(url, timeoutMs, temporaryRetry));
    const type = mediaType(response) || 'no content type';
    throw new RenewalInfoError(
      `renewalInfo at ${url} answered HTTP ${response.status}${problem ? `: ${problem}` : ` (${type})`}`,
      { status: response.status, temporary, nextCheckAt },
    );
  }

  try {
    const body = await readBoundedJson(response, MAX_JSON_BYTES, 'ari-invalid', `renewalInfo at ${url}`);
    return { info: parseRenewalInfo(body), nextCheckAt: ariNextCheck(retryAfter, now) };
  } catch (cause) {
    rethrowTimeout(url, timeoutMs, temporaryRetry)(cause);
    // RFC 9773 §4.3.3 lists "RenewalInfo object is invalid" as a long-term error: six hours, or the CA's value.
    throw new RenewalInfoError(
      cause instanceof Error ? cause.message : String(cause),
      { status: response.status, temporary: false, nextCheckAt: ariNextCheck(retryAfter, now) },
      { cause },
    );
  }
}

/** A body that stalls past the deadline is a timeout (temporary), like one whose headers never came. */
function rethrowTimeout(url: string, timeoutMs: number, nextCheckAt: Date): (cause: unknown) => undefined {
  return (cause) => {
    if (!(cause instanceof RequestTimeoutError)) return undefined;
    throw new RenewalInfoError(
      `renewalInfo at ${url} did not send its body within ${timeoutMs} ms`,
      { temporary: true, nextCheckAt },
      { cause },
    );
  };
}

/** Longest problem `detail` recorded from the CA's own origin. */
const MAX_DETAIL_CHARS = 200;

/**
 * "type: detail" of the CA's RFC 7807 problem body, or `undefined` when the body is not one. Only a problem
 * document's two fields are kept, each checked and bounded, with control characters removed: the rest of the body
 * is never copied into errors, state or logs. Throws only a {@link RequestTimeoutError}.
 * @see RFC 7807 §3.1 (`type` is a URI reference, `detail` a human-readable explanation)
 */
async function readProblem(response: HttpResponse): Promise<string | undefined> {
  const type = mediaType(response);
  if (type !== 'application/problem+json' && type !== 'application/json') {
    await response.body?.cancel().catch(() => {});
    return undefined;
  }
  let body: unknown;
  try {
    body = await readBoundedJson(response, MAX_JSON_BYTES, 'ari-invalid', 'renewalInfo error body');
  } catch (error) {
    if (error instanceof RequestTimeoutError) throw error;
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { type: problemType, detail } = body as { type?: unknown; detail?: unknown };
  const parts = [
    typeof problemType === 'string' && /^[A-Za-z][A-Za-z0-9+.:/_-]{0,99}$/.test(problemType)
      ? problemType
      : undefined,
    typeof detail === 'string' ? printable(detail).slice(0, MAX_DETAIL_CHARS) : undefined,
  ];
  const text = parts.filter((part) => part !== undefined && part.length > 0).join(': ');
  return text.length > 0 ? text : undefined;
}

/** The text with every control character (line breaks included) replaced by a space, so a log line stays one. */
function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, ' ').trim();
}
