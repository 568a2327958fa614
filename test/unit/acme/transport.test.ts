import { describe, expect, it } from 'vitest';
import { createAccountKey } from '../../../functions/core/acme/jws';
import { AcmeProblemError, RateLimitedError } from '../../../functions/core/acme/problem';
import { AcmeTransport, MAX_CERTIFICATE_BYTES } from '../../../functions/core/acme/transport';
import { AcmeAwsError } from '../../../functions/core/errors';
import { MAX_JSON_BYTES, RedirectRefusedError, RequestTimeoutError } from '../../../functions/core/http';
import { RATE_LIMIT_MAX_DEFERRAL_MS } from '../../../functions/core/retry-after';
import { ACME_REQUEST_TIMEOUT_MS } from '../../../functions/core/time-budget';
import { DIRECTORY_URL, FakeCa, json, ORIGIN, problem } from './fake-ca';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const ACCOUNT = `${ORIGIN}/acct/1`;

function transportFor(ca: FakeCa, extra: Partial<ConstructorParameters<typeof AcmeTransport>[0]> = {}) {
  return new AcmeTransport({
    directoryUrl: DIRECTORY_URL,
    fetch: ca.fetch,
    clock: { now: () => NOW },
    sleep: async () => {},
    ...extra,
  });
}

async function signer() {
  const { key } = await createAccountKey();
  return { key, kid: ACCOUNT };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe('AcmeTransport directory', () => {
  it('fetches the directory once, however many callers ask, concurrently or later', async () => {
    const ca = new FakeCa();
    const transport = transportFor(ca);
    const [a, b] = await Promise.all([transport.directory(), transport.directory()]);
    const c = await transport.directory();
    expect(a.newOrder).toBe(`${ORIGIN}/order`);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(ca.to('/dir', 'GET')).toHaveLength(1);
  });

  it('fetches the directory again after a failed attempt instead of caching the failure', async () => {
    const ca = new FakeCa().on('/dir', (_r, n) =>
      n === 1 ? problem(503, 'serverInternal', 'maintenance') : undefined,
    );
    const transport = transportFor(ca);
    await expect(transport.directory()).rejects.toThrow(/serverInternal \(HTTP 503\): maintenance/);
    await expect(transport.directory()).resolves.toMatchObject({ newNonce: `${ORIGIN}/nonce` });
    expect(ca.to('/dir')).toHaveLength(2);
  });

  it('refuses a directory whose resources live on another origin', async () => {
    const ca = new FakeCa();
    ca.directory = { ...ca.directory, newOrder: 'https://evil.test/order' };
    const error = await rejection(transportFor(ca).directory());
    expect(error).toBeInstanceOf(AcmeAwsError);
    expect((error as AcmeAwsError).code).toBe('acme-protocol');
    expect((error as Error).message).toMatch(/directory\.newOrder points to https:\/\/evil\.test/);
  });

  it('refuses a directory that lacks a required resource, naming the field', async () => {
    const ca = new FakeCa();
    const { newNonce: _dropped, ...rest } = ca.directory;
    ca.directory = rest;
    await expect(transportFor(ca).directory()).rejects.toThrow(/is not an ACME directory: newNonce/);
  });
});

describe('AcmeTransport signed POST', () => {
  it('retries a badNonce rejection with the nonce the error response carried', async () => {
    const ca = new FakeCa().on('/order', (_r, n) =>
      n === 1
        ? problem(400, 'badNonce', 'JWS has an invalid anti-replay nonce', {
            'replay-nonce': 'from-the-error',
          })
        : json({ ok: true }, 201),
    );
    const response = await transportFor(ca).post(`${ORIGIN}/order`, { a: 1 }, await signer());
    expect(response.status).toBe(201);
    expect(response.body).toEqual({ ok: true });
    const posts = ca.to('/order', 'POST');
    expect(posts).toHaveLength(2);
    expect(posts[1]!.protected!.nonce).toBe('from-the-error');
    expect(posts[0]!.protected!.nonce).not.toBe('from-the-error');
    // Only the first attempt needed a nonce from newNonce; the retry reused the one in the error.
    expect(ca.to('/nonce', 'HEAD')).toHaveLength(1);
  });

  it('gives up after the configured number of badNonce retries with the problem', async () => {
    const ca = new FakeCa().on('/order', () => problem(400, 'badNonce', 'nope'));
    const error = await rejection(
      transportFor(ca, { maxBadNonceRetries: 2 }).post(`${ORIGIN}/order`, {}, await signer()),
    );
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect((error as AcmeProblemError).acmeType).toBe('badNonce');
    expect(ca.to('/order', 'POST')).toHaveLength(3);
  });

  it('reuses the nonce of a successful response for the next request', async () => {
    const ca = new FakeCa().on('/order', () => json({}, 200, { 'replay-nonce': 'pooled-nonce' }));
    const transport = transportFor(ca);
    const s = await signer();
    await transport.post(`${ORIGIN}/order`, {}, s);
    await transport.post(`${ORIGIN}/order`, {}, s);
    expect(ca.to('/order', 'POST')[1]!.protected!.nonce).toBe('pooled-nonce');
    expect(ca.to('/nonce', 'HEAD')).toHaveLength(1);
  });

  it('warm fetches the directory and nonces at once; the posts that follow use them instead of asking', async () => {
    const ca = new FakeCa().on('/authz', () => json({}));
    const transport = transportFor(ca);
    const s = await signer();

    transport.warm(2);
    const warmed = ca.requests.length;
    await Promise.all([transport.post(`${ORIGIN}/authz`, {}, s), transport.post(`${ORIGIN}/authz`, {}, s)]);

    expect(ca.to('/nonce', 'HEAD')).toHaveLength(2);
    expect(ca.requests.slice(0, 3).map((r) => r.method)).toEqual(['GET', 'HEAD', 'HEAD']);
    expect(warmed).toBeLessThanOrEqual(3);
    const used = ca.to('/authz', 'POST').map((r) => r.protected!.nonce);
    expect(new Set(used).size).toBe(2);
    // Nothing more once the pool holds enough: each response brought a nonce back.
    transport.warm(2);
    expect(ca.to('/nonce', 'HEAD')).toHaveLength(2);
  });

  it('a nonce warm could not get is fetched by the post that needs it, which reports the failure', async () => {
    const ca = new FakeCa().on('/nonce', (_, count) =>
      count === 1 ? problem(503, 'serverInternal', 'nonce service down for a moment') : undefined,
    );
    ca.on('/order', () => json({}));
    const transport = transportFor(ca);

    transport.warm(1);
    await transport.post(`${ORIGIN}/order`, {}, await signer());
    expect(ca.to('/nonce', 'HEAD')).toHaveLength(2);

    const down = new FakeCa().on('/nonce', () => problem(503, 'serverInternal', 'nonce service down'));
    const failing = transportFor(down);
    failing.warm(1);
    const error = await rejection(failing.post(`${ORIGIN}/order`, {}, await signer()));
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect((error as AcmeProblemError).message).toContain(`HEAD ${ORIGIN}/nonce`);
    expect((error as AcmeProblemError).status).toBe(503);
  });

  it('sends application/jose+json, handles redirects itself, and signs with kid and url', async () => {
    const ca = new FakeCa().on('/order', () => json({}));
    await transportFor(ca).post(`${ORIGIN}/order`, { x: 1 }, await signer());
    const [post] = ca.to('/order', 'POST');
    expect(post!.headers.get('content-type')).toBe('application/jose+json');
    expect(post!.redirect).toBe('manual');
    expect(post!.protected).toMatchObject({ kid: ACCOUNT, url: `${ORIGIN}/order` });
    expect(post!.payload).toEqual({ x: 1 });
  });

  it('refuses a JSON body larger than the bound, declared by Content-Length', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(MAX_JSON_BYTES) });
    const ca = new FakeCa().on(
      '/order',
      () =>
        new Response(big, {
          headers: { 'content-type': 'application/json', 'content-length': `${big.length}` },
        }),
    );
    const error = await rejection(transportFor(ca).post(`${ORIGIN}/order`, {}, await signer()));
    expect((error as AcmeAwsError).code).toBe('acme-protocol');
    expect((error as Error).message).toMatch(
      new RegExp(`${big.length} bytes, more than the ${MAX_JSON_BYTES}`),
    );
  });

  it('stops reading a streamed body without Content-Length once it passes the bound', async () => {
    let pulled = 0;
    const chunk = new TextEncoder().encode('x'.repeat(16 * 1024));
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        controller.enqueue(chunk);
      },
    });
    const ca = new FakeCa().on(
      '/order',
      () => new Response(endless, { headers: { 'content-type': 'application/json' } }),
    );
    await expect(transportFor(ca).post(`${ORIGIN}/order`, {}, await signer())).rejects.toThrow(
      `exceeded ${MAX_JSON_BYTES} bytes`,
    );
    expect(pulled).toBeLessThan(10);
  });

  it('refuses a certificate chain larger than its own bound', async () => {
    const huge = 'A'.repeat(MAX_CERTIFICATE_BYTES + 1);
    const ca = new FakeCa().on(
      '/cert/1',
      () => new Response(huge, { headers: { 'content-type': 'application/pem-certificate-chain' } }),
    );
    await expect(
      transportFor(ca).post(`${ORIGIN}/cert/1`, null, await signer(), 'certificate'),
    ).rejects.toThrow(/the certificate from POST https:\/\/ca\.test\/cert\/1 exceeded 262144 bytes/);
  });

  it.each([
    [
      'text/html',
      '<html>gateway</html>',
      'json' as const,
      /came back as "text\/html" \(HTTP 200\), not JSON/,
    ],
    ['', '{}', 'json' as const, /came back as "no content type"/],
    [
      'application/json',
      '{}',
      'certificate' as const,
      /came as "application\/json", not application\/pem-certificate-chain/,
    ],
  ])(
    'refuses a success answer of content type "%s" (body %s) when expecting %s',
    async (type, body, expect_, message) => {
      const ca = new FakeCa().on('/thing', () => {
        const response = new Response(body);
        if (type) response.headers.set('content-type', type);
        else response.headers.delete('content-type');
        return response;
      });
      const error = await rejection(transportFor(ca).post(`${ORIGIN}/thing`, null, await signer(), expect_));
      expect((error as AcmeAwsError).code).toBe('acme-protocol');
      expect((error as Error).message).toMatch(message);
    },
  );

  it('accepts a content type with parameters', async () => {
    const ca = new FakeCa().on(
      '/thing',
      () => new Response('{"a":1}', { headers: { 'content-type': 'Application/JSON; charset=utf-8' } }),
    );
    const response = await transportFor(ca).post(`${ORIGIN}/thing`, null, await signer());
    expect(response.body).toEqual({ a: 1 });
  });

  it('refuses a Location header on another origin', async () => {
    const ca = new FakeCa().on('/order', () => json({}, 201, { location: 'https://evil.test/order/1' }));
    const error = await rejection(transportFor(ca).post(`${ORIGIN}/order`, {}, await signer()));
    expect((error as AcmeAwsError).code).toBe('acme-protocol');
    expect((error as Error).message).toMatch(
      /Location of POST https:\/\/ca\.test\/order points to https:\/\/evil\.test, not the CA's origin/,
    );
  });

  it('follows a Location on an origin the operator allowed', async () => {
    const ca = new FakeCa().on('/order', () => json({}, 201, { location: 'https://cdn.ca.test/order/1' }));
    const response = await transportFor(ca, { allowedOrigins: ['https://cdn.ca.test'] }).post(
      `${ORIGIN}/order`,
      {},
      await signer(),
    );
    expect(response.location).toBe('https://cdn.ca.test/order/1');
  });

  it('refuses to sign a request for a URL on another origin, before sending anything', async () => {
    const ca = new FakeCa();
    await expect(transportFor(ca).post('https://evil.test/x', {}, await signer())).rejects.toThrow(
      /request URL points to https:\/\/evil\.test/,
    );
    expect(ca.requests).toHaveLength(0);
  });

  it('turns a network failure into an acme-protocol error naming the request', async () => {
    const transport = new AcmeTransport({
      directoryUrl: DIRECTORY_URL,
      fetch: async () => {
        throw new TypeError('connect ECONNREFUSED');
      },
      clock: { now: () => NOW },
      sleep: async () => {},
    });
    await expect(transport.directory()).rejects.toThrow(
      `GET ${DIRECTORY_URL} failed before any answer: connect ECONNREFUSED`,
    );
  });
});

describe('AcmeTransport rate limits', () => {
  it.each([
    ['delay-seconds', '120', new Date(NOW.getTime() + 120_000)],
    ['an HTTP-date', 'Sun, 01 Jun 2025 13:30:00 GMT', new Date('2025-06-01T13:30:00.000Z')],
    ['no header', undefined, undefined],
  ])(
    'a 429 rateLimited answer with %s becomes a RateLimitedError with that time',
    async (_, header, expected) => {
      const ca = new FakeCa().on('/order', () =>
        problem(429, 'rateLimited', 'too many new orders', header ? { 'retry-after': header } : {}),
      );
      const error = await rejection(transportFor(ca).post(`${ORIGIN}/order`, {}, await signer()));
      expect(error).toBeInstanceOf(RateLimitedError);
      const limited = error as RateLimitedError;
      expect(limited.code).toBe('acme-rate-limited');
      expect(limited.retryAfter).toEqual(expected);
      expect(limited.message).toContain('rateLimited (HTTP 429): too many new orders');
      // Rate limits are never retried automatically: each attempt would count against the limit again.
      expect(ca.to('/order', 'POST')).toHaveLength(1);
    },
  );

  it('a 429 without a problem document is still a rate limit', async () => {
    const ca = new FakeCa().on(
      '/order',
      () => new Response('slow down', { status: 429, headers: { 'retry-after': '30' } }),
    );
    const error = await rejection(transportFor(ca).post(`${ORIGIN}/order`, {}, await signer()));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfter).toEqual(new Date(NOW.getTime() + 30_000));
    expect((error as Error).message).toContain(
      'HTTP 429 without a problem document: "text/plain", 9 characters',
    );
    expect((error as Error).message).not.toContain('slow down');
  });

  it('a rateLimited problem under another status is a RateLimitedError too', async () => {
    const ca = new FakeCa().on('/order', () => problem(403, 'rateLimited', 'weekly limit'));
    const error = await rejection(transportFor(ca).post(`${ORIGIN}/order`, {}, await signer()));
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfter).toBeUndefined();
  });
});

const redirect = (status: number, location: string) => new Response(null, { status, headers: { location } });

describe('AcmeTransport redirects', () => {
  it('refuses a signed POST that is redirected, even on the CA origin, and sends it once', async () => {
    const ca = new FakeCa().on('/order', () => redirect(307, `${ORIGIN}/order-elsewhere`));
    const error = await rejection(transportFor(ca).post(`${ORIGIN}/order`, {}, await signer()));
    expect(error).toBeInstanceOf(RedirectRefusedError);
    expect((error as AcmeAwsError).code).toBe('acme-protocol');
    expect(ca.to('/order', 'POST')).toHaveLength(1);
    expect(ca.to('/order-elsewhere')).toHaveLength(0);
  });

  it('refuses a directory redirected to another origin without asking it', async () => {
    const ca = new FakeCa().on('/dir', () => redirect(302, 'https://evil.test/dir'));
    const error = await rejection(transportFor(ca).directory());
    expect(error).toBeInstanceOf(RedirectRefusedError);
    expect((error as Error).message).toContain('to another origin (https://evil.test)');
    expect(ca.requests.map((r) => r.url)).toEqual([DIRECTORY_URL]);
  });

  it('follows a same-origin redirect of the directory GET', async () => {
    const ca = new FakeCa()
      .on('/dir', () => redirect(301, '/v2/dir'))
      .on('/v2/dir', (_r) => json(ca.directory));
    await expect(transportFor(ca).directory()).resolves.toMatchObject({ newOrder: `${ORIGIN}/order` });
    expect(ca.to('/v2/dir', 'GET')).toHaveLength(1);
  });
});

describe('AcmeTransport deadlines', () => {
  it('a CA that never answers a POST fails it with a retryable acme-timeout naming the URL and the limit', async () => {
    const ca = new FakeCa().on('/order', () => new Promise<Response>(() => {}));
    const error = await rejection(
      transportFor(ca, { requestTimeoutMs: 30 }).post(`${ORIGIN}/order`, {}, await signer()),
    );
    expect(error).toBeInstanceOf(RequestTimeoutError);
    const timeout = error as RequestTimeoutError;
    expect(timeout.code).toBe('acme-timeout');
    expect(timeout.retryable).toBe(true);
    expect(timeout.message).toContain(`POST ${ORIGIN}/order did not complete within 30 ms`);
  });

  it('gives every request, nonce and directory included, ACME_REQUEST_TIMEOUT_MS unless told otherwise', async () => {
    const asked: number[] = [];
    const ca = new FakeCa().on('/order', () => json({}));
    const transport = transportFor(ca, {
      timer: (ms) => {
        asked.push(ms);
        return new AbortController().signal;
      },
    });
    await transport.post(`${ORIGIN}/order`, {}, await signer());
    expect(ca.requests.map((r) => r.method)).toEqual(['GET', 'HEAD', 'POST']);
    expect(asked).toEqual([ACME_REQUEST_TIMEOUT_MS, ACME_REQUEST_TIMEOUT_MS, ACME_REQUEST_TIMEOUT_MS]);
  });
});

describe('AcmeTransport rate-limit Retry-After bounds', () => {
  it.each([
    ['Retry-After: 99999999 (three years)', '99999999', new Date(NOW.getTime() + RATE_LIMIT_MAX_DEFERRAL_MS)],
    [
      'an HTTP-date ten years out',
      'Mon, 01 Jun 2035 12:00:00 GMT',
      new Date(NOW.getTime() + RATE_LIMIT_MAX_DEFERRAL_MS),
    ],
    ['an HTTP-date in the past', 'Wed, 21 Oct 2015 07:28:00 GMT', NOW],
    ['six days', String(6 * 24 * 3600), new Date(NOW.getTime() + 6 * 24 * 3600_000)],
  ])('%s is kept within [now, now + 7 days]', async (_, header, expected) => {
    const ca = new FakeCa().on('/order', () =>
      problem(429, 'rateLimited', 'too many certificates', { 'retry-after': header }),
    );
    const error = await rejection(transportFor(ca).post(`${ORIGIN}/order`, {}, await signer()));
    expect((error as RateLimitedError).retryAfter).toEqual(expected);
  });
});
