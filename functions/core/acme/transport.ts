import type { FlattenedJWS } from 'jose';
import type { Clock, Sleep } from '../clock';
import { AcmeAwsError } from '../errors';
import {
  type Fetch,
  guardedFetch,
  type HttpRequestInit,
  type HttpResponse,
  MAX_JSON_BYTES,
  mediaType,
  RedirectRefusedError,
  RequestTimeoutError,
  type RequestTimer,
  readBoundedJson,
  readBoundedText,
  USER_AGENT,
} from '../http';
import { clampRateLimitRetryAfter, parseRetryAfter } from '../retry-after';
import { ACME_REQUEST_TIMEOUT_MS } from '../time-budget';
import { type Directory, directorySchema } from './directory';
import { type AccountKey, signRequest } from './jws';
import { AcmeProblemError, acmeErrorName, parseProblem, RateLimitedError } from './problem';
import { CaUnreachableError } from './unreachable';

/** Options shared by every ACME call. */
export interface AcmeTransportOptions {
  readonly directoryUrl: string;
  readonly fetch: Fetch;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly userAgent?: string;
  /** Each rejected nonce costs one more request; Pebble rejects a share of good nonces on purpose. */
  readonly maxBadNonceRetries?: number;
  /** Origins besides the directory's that the CA may send us to; all others are refused. */
  readonly allowedOrigins?: readonly string[];
  /** Deadline of each request (headers and body). @default ACME_REQUEST_TIMEOUT_MS */
  readonly requestTimeoutMs?: number;
  /** Makes each request's deadline signal. @default abortAfter (`AbortSignal.timeout`) */
  readonly timer?: RequestTimer;
}

/** A successful, parsed ACME response. */
export interface AcmeResponse<T> {
  readonly status: number;
  readonly headers: HttpResponse['headers'];
  readonly body: T;
  readonly location?: string;
}

const JSON_TYPES = ['application/json', 'application/problem+json'];
/** Certificates with long chains stay well under this; anything larger is not a certificate chain. */
export const MAX_CERTIFICATE_BYTES = 256 * 1024;

/** Nonces `warm` fetches at most: the signed requests one order sends at once (its authorizations). */
const MAX_WARM_NONCES = 4;

/**
 * Signed transport for one ACME server: directory (cached), nonce pool, `badNonce` retry, problem documents,
 * and the rule that every URL we follow stays on the CA's own origin.
 * @see RFC 8555 §6
 */
export class AcmeTransport {
  readonly options: AcmeTransportOptions;
  private directoryPromise: Promise<Directory> | undefined;
  private readonly nonces: string[] = [];
  /** Nonces `warm` asked for and nothing took yet (each settles to undefined when it could not be had). */
  private readonly incoming: Array<Promise<string | undefined>> = [];
  private readonly origins: Set<string>;

  constructor(options: AcmeTransportOptions) {
    this.options = options;
    this.origins = new Set([new URL(options.directoryUrl).origin, ...(options.allowedOrigins ?? [])]);
  }

  /** The directory, fetched once per transport (one per Lambda container). @see RFC 8555 §7.1.1 */
  directory(): Promise<Directory> {
    this.directoryPromise ??= this.fetchDirectory().catch((error: unknown) => {
      this.directoryPromise = undefined;
      throw error;
    });
    return this.directoryPromise;
  }

  /**
   * Starts fetching the directory and up to `nonces` fresh nonces, best effort, so the signed requests that follow
   * find them in hand (or on their way) instead of paying those round trips first. A nonce that could not be had is
   * fetched again by the request that needs it, which then meets and reports the failure.
   */
  warm(nonces: number): void {
    const wanted = Math.min(nonces, MAX_WARM_NONCES) - this.nonces.length - this.incoming.length;
    if (wanted <= 0) return;
    const directory = this.directory();
    for (let i = 0; i < wanted; i++) {
      this.incoming.push(directory.then(() => this.freshNonce()).catch(() => undefined));
    }
  }

  private async fetchDirectory(): Promise<Directory> {
    const response = await this.send(this.options.directoryUrl, { method: 'GET' });
    if (!response.ok) await this.throwProblem(response, `GET ${this.options.directoryUrl}`);
    const body = await this.readJson(response, 'the ACME directory');
    const parsed = directorySchema.safeParse(body);
    if (!parsed.success) {
      throw new AcmeAwsError(
        'acme-protocol',
        `${this.options.directoryUrl} is not an ACME directory: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
    }
    for (const key of ['newNonce', 'newAccount', 'newOrder', 'revokeCert', 'renewalInfo'] as const) {
      const value = parsed.data[key];
      if (value !== undefined) this.checkUrl(value, `directory.${key}`);
    }
    return parsed.data;
  }

  /** Refuses URLs on another origin: a compromised or broken CA response must not redirect our signed requests. */
  checkUrl(url: string, what: string): string {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch (cause) {
      throw new AcmeAwsError('acme-protocol', `${what} is not a URL: ${url.slice(0, 200)}`, { cause });
    }
    if (!this.origins.has(origin)) {
      throw new AcmeAwsError(
        'acme-protocol',
        `${what} points to ${origin}, not the CA's origin ${[...this.origins].join(', ')}; refusing to follow it`,
      );
    }
    return url;
  }

  /**
   * One request with a deadline, following no redirect off the CA's origins and none of a POST.
   * @throws RequestTimeoutError (code `acme-timeout`, retryable), RedirectRefusedError (code `acme-protocol`)
   */
  private async send(url: string, init: HttpRequestInit): Promise<HttpResponse> {
    // RFC 8555 §6.1: every request carries a User-Agent (Pebble 2.10 refuses one without).
    const headers = { ...init.headers, 'user-agent': this.options.userAgent ?? USER_AGENT };
    try {
      return await guardedFetch(
        this.options.fetch,
        url,
        { ...init, headers },
        {
          timeoutMs: this.options.requestTimeoutMs ?? ACME_REQUEST_TIMEOUT_MS,
          allowedOrigins: this.origins,
          code: 'acme-protocol',
          ...(this.options.timer ? { timer: this.options.timer } : {}),
        },
      );
    } catch (cause) {
      if (cause instanceof RequestTimeoutError || cause instanceof RedirectRefusedError) throw cause;
      throw new CaUnreachableError(
        `${init.method ?? 'GET'} ${url} failed before any answer: ${String((cause as Error)?.message ?? cause)}`,
        {
          cause,
        },
      );
    }
  }

  private keepNonce(response: HttpResponse): void {
    const nonce = response.headers.get('replay-nonce');
    // RFC 8555 §6.5.1: the nonce is base64url; anything else is ignored rather than echoed back.
    if (nonce && /^[A-Za-z0-9_-]{1,255}$/.test(nonce)) this.nonces.push(nonce);
  }

  private async nonce(): Promise<string> {
    const pooled = this.nonces.pop();
    if (pooled) return pooled;
    const coming = this.incoming.shift();
    return (coming && (await coming)) || this.freshNonce();
  }

  private async freshNonce(): Promise<string> {
    const { newNonce } = await this.directory();
    const response = await this.send(newNonce, { method: 'HEAD' });
    await response.body?.cancel().catch(() => {});
    // A problem like any other answer: a 5xx is the CA being unavailable (failover), a 503 with Retry-After a deferral.
    if (!response.ok) await this.throwProblem(response, `HEAD ${newNonce}`);
    const nonce = response.headers.get('replay-nonce');
    if (!nonce) throw new AcmeAwsError('acme-protocol', `HEAD ${newNonce} returned no Replay-Nonce header`);
    return nonce;
  }

  private async readJson(response: HttpResponse, what: string): Promise<unknown> {
    const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!JSON_TYPES.includes(type)) {
      await response.body?.cancel().catch(() => {});
      throw new AcmeAwsError(
        'acme-protocol',
        `${what} came back as "${type || 'no content type'}" (HTTP ${response.status}), not JSON`,
      );
    }
    return readBoundedJson(response, MAX_JSON_BYTES, 'acme-protocol', what);
  }

  private async throwProblem(response: HttpResponse, request: string): Promise<never> {
    let body: unknown;
    let text = '';
    try {
      text = await readBoundedText(response, MAX_JSON_BYTES, 'acme-protocol', `the error body of ${request}`);
      body = JSON.parse(text);
    } catch (error) {
      if (error instanceof RequestTimeoutError) throw error;
      body = undefined;
    }
    // A body that is not a problem document (a proxy's or CDN's error page) is described, never copied: it ends
    // up in errors, state and logs.
    const problem = parseProblem(
      body,
      response.status,
      text.length > 0 ? `"${mediaType(response) || 'no content type'}", ${text.length} characters` : '',
    );
    const now = this.options.clock.now();
    const header = parseRetryAfter(response.headers.get('retry-after'), now);
    // Stored as the certificate's deferral: a CA (or a proxy) must not silence renewals for years with one header.
    const retryAfter = header && clampRateLimitRetryAfter(header, now);
    // RFC 9110 §15.6.4: a 503 with Retry-After says how long the CA expects to be down (Let's Encrypt sends it
    // during maintenance). Retrying sooner through the queue only dead-letters the renewal; defer like a rate limit.
    const unavailable = response.status === 503 && retryAfter !== undefined;
    if (acmeErrorName(problem) === 'rateLimited' || response.status === 429 || unavailable) {
      throw new RateLimitedError(problem, request, retryAfter);
    }
    throw new AcmeProblemError(problem, request);
  }

  /**
   * Sends one signed POST, retrying on `badNonce` with the fresh nonce the error carried.
   * @see RFC 8555 §6.5 "When a server rejects a request because its nonce value was unacceptable ... the client
   * SHOULD retry the request using the new nonce"
   */
  async post<T = unknown>(
    url: string,
    payload: unknown,
    signer: { key: AccountKey; kid?: string; sign?: (nonce: string) => Promise<FlattenedJWS> },
    expect: 'json' | 'certificate' | 'none' = 'json',
  ): Promise<AcmeResponse<T>> {
    this.checkUrl(url, 'request URL');
    const request = `POST ${url}`;
    const attempts = (this.options.maxBadNonceRetries ?? 16) + 1;
    for (let attempt = 1; ; attempt++) {
      const nonce = await this.nonce();
      const jws = signer.sign
        ? await signer.sign(nonce)
        : await signRequest({ key: signer.key, kid: signer.kid, url, nonce, payload });
      const response = await this.send(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/jose+json',
          accept: expect === 'certificate' ? 'application/pem-certificate-chain' : 'application/json',
        },
        body: JSON.stringify(jws),
      });
      this.keepNonce(response);
      if (response.ok) return this.parseSuccess<T>(response, request, expect);
      try {
        await this.throwProblem(response, request);
      } catch (error) {
        if (error instanceof AcmeProblemError && error.acmeType === 'badNonce' && attempt < attempts)
          continue;
        throw error;
      }
    }
  }

  private async parseSuccess<T>(
    response: HttpResponse,
    request: string,
    expect: 'json' | 'certificate' | 'none',
  ): Promise<AcmeResponse<T>> {
    const location = response.headers.get('location') ?? undefined;
    if (location) this.checkUrl(location, `Location of ${request}`);
    let body: unknown;
    if (expect === 'json') {
      body = await this.readJson(response, `the answer to ${request}`);
    } else if (expect === 'certificate') {
      const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== 'application/pem-certificate-chain') {
        await response.body?.cancel().catch(() => {});
        throw new AcmeAwsError(
          'acme-protocol',
          `the certificate from ${request} came as "${type}", not application/pem-certificate-chain`,
        );
      }
      body = await readBoundedText(
        response,
        MAX_CERTIFICATE_BYTES,
        'acme-protocol',
        `the certificate from ${request}`,
      );
    } else {
      await response.body?.cancel().catch(() => {});
    }
    return { status: response.status, headers: response.headers, body: body as T, location };
  }

  /** A GET that is not signed (ARI is fetched this way). Errors become problem errors. */
  async get(url: string): Promise<HttpResponse> {
    this.checkUrl(url, 'request URL');
    return this.send(url, { method: 'GET' });
  }
}
