import { AcmeAwsError } from '../errors';
import { type Fetch, MAX_JSON_BYTES, readBoundedJson } from '../http';
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
  /** Aborts the request (e.g. the scheduler's per-certificate time budget). */
  signal?: AbortSignal;
};

/**
 * Fetches and validates a certificate's renewal information, and when to fetch it again.
 *
 * @see RFC 9773 §4.1: "To request the suggested renewal information for a certificate, the client sends a GET
 *   request to a path under the server's `renewalInfo` URL." — `url = renewalInfo || '/' || certID`.
 * @see RFC 9773 §6 (Security Considerations): renewalInfo resources "MUST be exposed and accessed via
 *   unauthenticated GET requests", so no JWS and no nonce are involved.
 * @throws RenewalInfoError (code `ari-invalid`) on a network error, a non-2xx answer (with the problem detail when
 *   the body is a problem document), an oversized or non-JSON body, or an invalid RenewalInfo object.
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

  let response: Response;
  try {
    response = await input.fetch(url, {
      method: 'GET',
      headers: { accept: 'application/json' },
      ...(input.signal ? { signal: input.signal } : {}),
    });
  } catch (cause) {
    throw new RenewalInfoError(
      `Could not reach renewalInfo at ${url}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { temporary: true, nextCheckAt: new Date(now.getTime() + ARI_TEMPORARY_RETRY_MS) },
      { cause },
    );
  }

  const retryAfter = response.headers.get('retry-after');
  if (!response.ok) {
    const temporary = response.status >= 500 || response.status === 429;
    const nextCheckAt =
      temporary && retryAfter === null
        ? new Date(now.getTime() + ARI_TEMPORARY_RETRY_MS)
        : ariNextCheck(retryAfter, now);
    const problem = await readProblem(response);
    throw new RenewalInfoError(
      `renewalInfo at ${url} answered HTTP ${response.status}${problem ? `: ${problem}` : ''}`,
      { status: response.status, temporary, nextCheckAt },
    );
  }

  try {
    const body = await readBoundedJson(response, MAX_JSON_BYTES, 'ari-invalid', `renewalInfo at ${url}`);
    return { info: parseRenewalInfo(body), nextCheckAt: ariNextCheck(retryAfter, now) };
  } catch (cause) {
    // RFC 9773 §4.3.3 lists "RenewalInfo object is invalid" as a long-term error: six hours, or the CA's value.
    throw new RenewalInfoError(
      cause instanceof Error ? cause.message : String(cause),
      { status: response.status, temporary: false, nextCheckAt: ariNextCheck(retryAfter, now) },
      { cause },
    );
  }
}

/** "type: detail" of an RFC 7807 problem body, or `undefined` when the body is not one (never throws). */
async function readProblem(response: Response): Promise<string | undefined> {
  let body: unknown;
  try {
    body = await readBoundedJson(response, MAX_JSON_BYTES, 'ari-invalid', 'renewalInfo error body');
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { type, detail } = body as { type?: unknown; detail?: unknown };
  const parts = [
    typeof type === 'string' ? type : undefined,
    typeof detail === 'string' ? detail : undefined,
  ];
  const text = parts.filter((part) => part !== undefined && part.length > 0).join(': ');
  return text.length > 0 ? text.slice(0, 300) : undefined;
}
