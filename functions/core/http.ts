import { AcmeAwsError, type ErrorCode } from './errors';

/**
 * The User-Agent of every request to a CA, ACME and renewalInfo alike.
 * @see RFC 8555 §6.1 "ACME clients MUST send a User-Agent header field"
 */
export const USER_AGENT = 'acme-ari-aws/0.1';

/**
 * What the core sends: the part of WHATWG `RequestInit` it uses (headers by lower-case name, a text body).
 */
export interface HttpRequestInit {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
  /** The core follows redirects itself ({@link guardedFetch}); a port must hand every 3xx back as it came. */
  readonly redirect?: 'manual';
}

/** What the core reads of an answer: the part of a WHATWG `Response` it uses. */
export interface HttpResponse {
  readonly status: number;
  /** `status` is 200–299. */
  readonly ok: boolean;
  readonly statusText: string;
  /** Header values by case-insensitive name, repeated fields joined with ", " (RFC 9110 §5.3). */
  readonly headers: { get(name: string): string | null };
  readonly body: ReadableStream<Uint8Array> | null;
}

/**
 * The HTTP port of the core: a subset of the WHATWG `fetch` signature, so the global `fetch` fits it (tests pass one
 * that trusts the local CA or injects faults) and so does the functions' own client on `node:https`
 * (functions/adapters/https-fetch.ts), lighter than undici's in a cold start. The core calls it only through
 * {@link guardedFetch}, which adds the deadline and the redirect rule.
 */
export type Fetch = (url: string, init: HttpRequestInit) => Promise<HttpResponse>;

/**
 * Makes the signal that ends one request after `timeoutMs`: a timer, not a clock read, injected so tests can fire
 * it at will. {@link abortAfter} (`AbortSignal.timeout`) is the default.
 */
export type RequestTimer = (timeoutMs: number) => AbortSignal;

/** The default {@link RequestTimer}: `AbortSignal.timeout`, whose timer never keeps a Lambda alive on its own. */
export const abortAfter: RequestTimer = (timeoutMs) => AbortSignal.timeout(timeoutMs);

/** Same-origin redirects a GET or HEAD follows before it is refused (RFC 9110 §15.4 leaves the bound to us). */
export const MAX_REDIRECTS = 3;

/**
 * A request that did not complete (headers and body) within its deadline. Retryable: the endpoint may answer
 * next time, so callers schedule a sooner retry rather than treating it as a broken server.
 */
export class RequestTimeoutError extends AcmeAwsError {
  readonly url: string;
  readonly timeoutMs: number;
  readonly retryable = true;

  constructor(method: string, url: string, timeoutMs: number) {
    super(
      'acme-timeout',
      `${method} ${url} did not complete within ${timeoutMs} ms; it is retried on the next attempt`,
    );
    this.name = 'RequestTimeoutError';
    this.url = url;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A redirect the core does not follow: to another origin (a compromised or misconfigured server must not steer
 * our requests, nor have its bytes recorded as the CA's), of a signed POST, without a parseable Location, or past
 * {@link MAX_REDIRECTS}. Only the target's origin is kept, never its path or the reply body.
 */
export class RedirectRefusedError extends AcmeAwsError {
  readonly url: string;
  readonly status: number;
  /** The origin the server pointed to, when Location was a URL. */
  readonly targetOrigin?: string;

  constructor(
    code: ErrorCode,
    details: { method: string; url: string; status: number; targetOrigin?: string; why: string },
  ) {
    super(
      code,
      `${details.method} ${details.url} answered HTTP ${details.status} redirecting ${details.why}; refusing to follow it`,
    );
    this.name = 'RedirectRefusedError';
    this.url = details.url;
    this.status = details.status;
    if (details.targetOrigin !== undefined) this.targetOrigin = details.targetOrigin;
  }
}

/** How {@link guardedFetch} bounds one request. */
export interface RequestLimits {
  /** Deadline of the whole exchange: every redirect hop, the headers and the body. */
  readonly timeoutMs: number;
  /** @default abortAfter */
  readonly timer?: RequestTimer;
  /** Origins a GET or HEAD may be redirected to. @default the origin of the requested URL */
  readonly allowedOrigins?: Iterable<string>;
  /** @default MAX_REDIRECTS */
  readonly maxRedirects?: number;
  /** The caller's own abort (e.g. the end of a pass); it wins over the deadline and is rethrown as is. */
  readonly signal?: AbortSignal;
  /** The code of a {@link RedirectRefusedError} (`acme-protocol` for the CA, `ari-invalid` for renewalInfo). */
  readonly code: ErrorCode;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** The media type of a response, lower case and without parameters; `''` when absent. */
export function mediaType(response: HttpResponse): string {
  return (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
}

/**
 * Sends one request with `redirect: 'manual'` semantics and a deadline. A redirect of a GET or HEAD to an allowed
 * origin is followed up to {@link MAX_REDIRECTS} times; any other redirect throws {@link RedirectRefusedError}. A
 * signed POST is never redirected: its JWS names the URL it was signed for (RFC 8555 §6.4), and ACME defines no
 * redirect. The deadline covers the body too: reading it past the deadline throws {@link RequestTimeoutError}.
 * A network failure is rethrown as the `fetch` port raised it, for the caller to describe.
 * @see RFC 9110 §15.4 "A client SHOULD detect and intervene in cyclical redirections"
 * @throws RequestTimeoutError (code `acme-timeout`) when the deadline passes first
 * @throws RedirectRefusedError (code `limits.code`) on a redirect that is not followed
 */
export async function guardedFetch(
  fetch: Fetch,
  url: string,
  init: HttpRequestInit,
  limits: RequestLimits,
): Promise<HttpResponse> {
  const method = (init.method ?? 'GET').toUpperCase();
  const deadline = (limits.timer ?? abortAfter)(limits.timeoutMs);
  const signal = limits.signal ? AbortSignal.any([limits.signal, deadline]) : deadline;
  const timedOut = () => new RequestTimeoutError(method, url, limits.timeoutMs);
  const allowed = new Set(limits.allowedOrigins ?? [new URL(url).origin]);
  const maxRedirects = limits.maxRedirects ?? MAX_REDIRECTS;
  let current = url;
  for (let hop = 0; ; hop++) {
    let response: HttpResponse;
    try {
      // Raced as well as passed: a `fetch` port that ignores `signal` must not be able to stall the pass.
      response = await raceAbort(fetch(current, { ...init, redirect: 'manual', signal }), signal);
    } catch (cause) {
      if (deadline.aborted && !limits.signal?.aborted) throw timedOut();
      throw cause;
    }
    const location = REDIRECT_STATUSES.has(response.status) ? response.headers.get('location') : null;
    if (location === null) return guardBody(response, signal, () => deadline.aborted, timedOut);
    await response.body?.cancel().catch(() => {});
    const refuse = (why: string, targetOrigin?: string): never => {
      throw new RedirectRefusedError(limits.code, {
        method,
        url,
        status: response.status,
        why,
        ...(targetOrigin === undefined ? {} : { targetOrigin }),
      });
    };
    let target: URL;
    try {
      target = new URL(location, current);
    } catch {
      return refuse('to a Location that is not a URL');
    }
    // An origin is scheme, host and port as the URL parser normalized them: never the server's raw bytes.
    const origin = target.origin.slice(0, 200);
    if (!allowed.has(target.origin)) return refuse(`to another origin (${origin})`, origin);
    if (method !== 'GET' && method !== 'HEAD')
      return refuse(`a ${method} (ACME defines no redirect)`, origin);
    if (hop >= maxRedirects) return refuse(`more than ${maxRedirects} times`, origin);
    current = target.href;
  }
}

/** Rejects as soon as `signal` aborts, whether or not `promise` listens to it. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** The response with a body whose reads fail with `timedOut()` once the deadline has passed. */
function guardBody(
  response: HttpResponse,
  signal: AbortSignal,
  expired: () => boolean,
  timedOut: () => Error,
): HttpResponse {
  const body = response.body;
  if (!body) return response;
  const reader = body.getReader();
  const guarded = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await raceAbort(reader.read(), signal);
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        reader.cancel().catch(() => {});
        controller.error(expired() ? timedOut() : error);
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
  return {
    status: response.status,
    ok: response.ok,
    statusText: response.statusText,
    headers: response.headers,
    body: guarded,
  };
}

/** Largest response body the core reads (directory, orders, problems, ARI); certificates have their own bound. */
export const MAX_JSON_BYTES = 64 * 1024;

/**
 * Reads a response body as text, refusing bodies larger than `maxBytes` (a hostile or broken server must not
 * exhaust the Lambda's memory).
 */
export async function readBoundedText(
  response: HttpResponse,
  maxBytes: number,
  code: ErrorCode,
  what: string,
): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new AcmeAwsError(
      code,
      `${what} is ${declared} bytes, more than the ${maxBytes} allowed; refusing to read it`,
    );
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new AcmeAwsError(code, `${what} exceeded ${maxBytes} bytes; refusing to read further`);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** Reads a bounded body and parses it as JSON; the result is `unknown` and must go through a schema. */
export async function readBoundedJson(
  response: HttpResponse,
  maxBytes: number,
  code: ErrorCode,
  what: string,
): Promise<unknown> {
  const text = await readBoundedText(response, maxBytes, code, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    // The body is the server's bytes: say what it was, never copy it into errors, state or logs.
    throw new AcmeAwsError(
      code,
      `${what} is not JSON (HTTP ${response.status}, "${mediaType(response) || 'no content type'}", ${text.length} characters)`,
      { cause },
    );
  }
}
