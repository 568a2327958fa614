import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchRenewalInfo, RenewalInfoError } from '../../../functions/core/ari';
import { hasCode } from '../../../functions/core/errors';
import { type Fetch, RedirectRefusedError, RequestTimeoutError } from '../../../functions/core/http';
import { ARI_REQUEST_TIMEOUT_MS } from '../../../functions/core/time-budget';

const NOW = new Date('2025-01-01T12:00:00.000Z');
const HOUR = 60 * 60 * 1000;
const CERT_ID = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';
const BASE = 'https://ca.test/acme/renewal-info/';

/** A fake CA: answers every request with `respond()` and records what was asked. */
function fakeFetch(respond: () => Response | Promise<Response>) {
  const calls: Array<{ url: string; method: string | undefined }> = [];
  const fetch: Fetch = async (url, init) => {
    calls.push({ url, method: init?.method });
    return respond();
  };
  return { fetch, calls };
}

const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });

async function failure(promise: Promise<unknown>): Promise<RenewalInfoError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(RenewalInfoError);
    expect(hasCode(error, 'ari-invalid')).toBe(true);
    expect((error as Error).name).toBe('RenewalInfoError');
    return error as RenewalInfoError;
  }
  throw new Error('expected fetchRenewalInfo to fail');
}

describe('fetchRenewalInfo', () => {
  it('GETs <renewalInfo>/<certID> and returns the window and the Retry-After schedule', async () => {
    const ca = fakeFetch(() =>
      json(
        {
          suggestedWindow: { start: '2025-02-01T00:00:00Z', end: '2025-02-03T00:00:00Z' },
          explanationURL: 'https://ca.test/docs/ari',
        },
        200,
        { 'retry-after': '21600' },
      ),
    );

    const result = await fetchRenewalInfo({
      fetch: ca.fetch,
      renewalInfoUrl: BASE,
      certId: CERT_ID,
      now: NOW,
    });

    expect(ca.calls).toEqual([{ url: `https://ca.test/acme/renewal-info/${CERT_ID}`, method: 'GET' }]);
    expect(result.info.window.start.toISOString()).toBe('2025-02-01T00:00:00.000Z');
    expect(result.info.window.end.toISOString()).toBe('2025-02-03T00:00:00.000Z');
    expect(result.info.explanationUrl).toBe('https://ca.test/docs/ari');
    expect(result.nextCheckAt.getTime() - NOW.getTime()).toBe(6 * HOUR);
  });

  it('checks again in six hours when a 200 carries no Retry-After', async () => {
    const ca = fakeFetch(() =>
      json({ suggestedWindow: { start: '2025-02-01T00:00:00Z', end: '2025-02-03T00:00:00Z' } }, 200),
    );
    const result = await fetchRenewalInfo({
      fetch: ca.fetch,
      renewalInfoUrl: 'https://ca.test/ari',
      certId: CERT_ID,
      now: NOW,
    });
    expect(ca.calls[0]!.url).toBe(`https://ca.test/ari/${CERT_ID}`);
    expect(result.nextCheckAt.getTime() - NOW.getTime()).toBe(6 * HOUR);
  });

  it('reports a 404 with the problem detail, as a long-term error', async () => {
    const ca = fakeFetch(
      () =>
        new Response(
          JSON.stringify({
            type: 'urn:ietf:params:acme:error:malformed',
            detail: 'Certificate not found',
            status: 404,
          }),
          { status: 404, headers: { 'content-type': 'application/problem+json' } },
        ),
    );
    const error = await failure(
      fetchRenewalInfo({ fetch: ca.fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }),
    );
    expect(error.message).toContain('HTTP 404');
    expect(error.message).toContain('urn:ietf:params:acme:error:malformed: Certificate not found');
    expect(error.status).toBe(404);
    expect(error.temporary).toBe(false);
    expect(error.nextCheckAt.getTime() - NOW.getTime()).toBe(6 * HOUR);
  });

  it('reports a 500 with a non-JSON body as a temporary error, retried within the hour', async () => {
    const ca = fakeFetch(() => new Response('upstream exploded', { status: 500 }));
    const error = await failure(
      fetchRenewalInfo({ fetch: ca.fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }),
    );
    expect(error.message).toMatch(/HTTP 500 \(text\/plain\)$/);
    expect(error.message).not.toContain('upstream exploded');
    expect(error.status).toBe(500);
    expect(error.temporary).toBe(true);
    expect(error.nextCheckAt.getTime() - NOW.getTime()).toBe(HOUR);
  });

  it('honours Retry-After on a 503, clamped to at least a minute', async () => {
    const ca = fakeFetch(() => new Response('', { status: 503, headers: { 'retry-after': '5' } }));
    const error = await failure(
      fetchRenewalInfo({ fetch: ca.fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }),
    );
    expect(error.temporary).toBe(true);
    expect(error.nextCheckAt.getTime() - NOW.getTime()).toBe(60_000);
  });

  it('rejects a 200 whose body is not JSON', async () => {
    const ca = fakeFetch(() => new Response('<html>maintenance</html>', { status: 200 }));
    const error = await failure(
      fetchRenewalInfo({ fetch: ca.fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }),
    );
    expect(error.message).toMatch(/not JSON/);
    expect(error.temporary).toBe(false);
    expect(error.nextCheckAt.getTime() - NOW.getTime()).toBe(6 * HOUR);
  });

  it('rejects a 200 with an empty window, keeping the CA Retry-After for the next check', async () => {
    const ca = fakeFetch(() =>
      json({ suggestedWindow: { start: '2025-02-03T00:00:00Z', end: '2025-02-01T00:00:00Z' } }, 200, {
        'retry-after': '3600',
      }),
    );
    const error = await failure(
      fetchRenewalInfo({ fetch: ca.fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }),
    );
    expect(error.message).toMatch(/at or before/);
    expect(error.nextCheckAt.getTime() - NOW.getTime()).toBe(HOUR);
  });

  it('refuses to read an oversized body that declares its length', async () => {
    const ca = fakeFetch(
      () => new Response('{}', { status: 200, headers: { 'content-length': String(10 * 1024 * 1024) } }),
    );
    const error = await failure(
      fetchRenewalInfo({ fetch: ca.fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }),
    );
    expect(error.message).toMatch(/more than the 65536 allowed/);
  });

  it('stops reading an oversized streamed body', async () => {
    const chunk = new TextEncoder().encode(' '.repeat(16 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += 1;
        if (sent > 1000) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const ca = fakeFetch(() => new Response(body, { status: 200 }));
    const error = await failure(
      fetchRenewalInfo({ fetch: ca.fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }),
    );
    expect(error.message).toMatch(/exceeded 65536 bytes/);
    expect(sent).toBeLessThan(10);
  });

  it('wraps a network error, keeping the cause', async () => {
    const cause = new TypeError('fetch failed');
    const fetch: Fetch = async () => {
      throw cause;
    };
    const error = await failure(fetchRenewalInfo({ fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }));
    expect(error.cause).toBe(cause);
    expect(error.message).toContain('fetch failed');
    expect(error.temporary).toBe(true);
    expect(error.status).toBeUndefined();
  });

  it.each(['', 'no-dot', 'a.b/../../admin', 'a.b?x=1', 'a.b.c'])(
    'refuses certID %j without sending a request',
    async (certId) => {
      const ca = fakeFetch(() => json({}, 200));
      await failure(fetchRenewalInfo({ fetch: ca.fetch, renewalInfoUrl: BASE, certId, now: NOW }));
      expect(ca.calls).toHaveLength(0);
    },
  );
});

const WINDOW_BODY = { suggestedWindow: { start: '2025-02-01T00:00:00Z', end: '2025-02-03T00:00:00Z' } };

describe('fetchRenewalInfo: what reaches ariError', () => {
  it('records status and content type of a non-problem error body, never its bytes', async () => {
    const ca = fakeFetch(
      () => new Response('<h1>secret-marker</h1>', { status: 502, headers: { 'content-type': 'text/html' } }),
    );
    const error = await failure(
      fetchRenewalInfo({ fetch: ca.fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }),
    );
    expect(error.message).toMatch(/answered HTTP 502 \(text\/html\)$/);
    expect(error.message).not.toContain('secret-marker');
  });

  it("keeps a problem's type and a bounded detail on one line, and drops a type that is not a URI", async () => {
    const detail = `line one\nline two ${'x'.repeat(1000)}`;
    const ca = fakeFetch(() =>
      json({ type: 'urn:ietf:params:acme:error:malformed', detail }, 404, {
        'content-type': 'application/problem+json',
      }),
    );
    const error = await failure(
      fetchRenewalInfo({ fetch: ca.fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }),
    );
    expect(error.message).toContain('HTTP 404: urn:ietf:params:acme:error:malformed: line one line two xxx');
    expect(error.message).not.toContain('\n');
    expect(error.message.length).toBeLessThan(BASE.length + CERT_ID.length + 320);

    const odd = fakeFetch(() => json({ type: '<script>alert(1)</script>', detail: 'gone' }, 404));
    const oddError = await failure(
      fetchRenewalInfo({ fetch: odd.fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }),
    );
    expect(oddError.message).toMatch(/HTTP 404: gone$/);
  });

  it('says a 200 is not JSON without copying its body', async () => {
    const ca = fakeFetch(
      () =>
        new Response('<html>secret-marker</html>', { status: 200, headers: { 'content-type': 'text/html' } }),
    );
    const error = await failure(
      fetchRenewalInfo({ fetch: ca.fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }),
    );
    expect(error.message).toMatch(/is not JSON \(HTTP 200, "text\/html", 26 characters\)/);
    expect(error.message).not.toContain('secret-marker');
  });
});

describe('fetchRenewalInfo: redirects', () => {
  it('refuses a redirect to another origin: one request, a long-term error, nothing of the target recorded', async () => {
    const ca = fakeFetch(
      () =>
        new Response('attacker-marker', {
          status: 302,
          headers: { location: 'https://evil.test/renewal-info/x?token=attacker-marker' },
        }),
    );
    const error = await failure(
      fetchRenewalInfo({ fetch: ca.fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW }),
    );
    expect(ca.calls).toHaveLength(1);
    expect(error.cause).toBeInstanceOf(RedirectRefusedError);
    expect(error.status).toBe(302);
    expect(error.temporary).toBe(false);
    expect(error.nextCheckAt.getTime() - NOW.getTime()).toBe(6 * HOUR);
    expect(error.message).toContain('to another origin (https://evil.test)');
    expect(error.message).not.toContain('attacker-marker');
  });

  it('follows a redirect that stays on the renewalInfo origin', async () => {
    const seen: string[] = [];
    const fetch: Fetch = async (url) => {
      seen.push(url);
      return url.includes('/moved/')
        ? json(WINDOW_BODY, 200)
        : Response.redirect(`https://ca.test/moved/${CERT_ID}`, 308);
    };
    const result = await fetchRenewalInfo({ fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW });
    expect(result.info.window.start.toISOString()).toBe('2025-02-01T00:00:00.000Z');
    expect(seen).toEqual([`${BASE}${CERT_ID}`, `https://ca.test/moved/${CERT_ID}`]);
  });
});

describe('fetchRenewalInfo: deadline', () => {
  it('gives every request a deadline of ARI_REQUEST_TIMEOUT_MS unless told otherwise', async () => {
    const asked: number[] = [];
    const signals: Array<AbortSignal | null | undefined> = [];
    const fetch: Fetch = async (_url, init) => {
      signals.push(init?.signal);
      return json(WINDOW_BODY, 200);
    };
    const timer = (ms: number) => {
      asked.push(ms);
      return new AbortController().signal;
    };
    await fetchRenewalInfo({ fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW, timer });
    await fetchRenewalInfo({
      fetch,
      renewalInfoUrl: BASE,
      certId: CERT_ID,
      now: NOW,
      timer,
      timeoutMs: 1234,
    });
    expect(asked).toEqual([ARI_REQUEST_TIMEOUT_MS, 1234]);
    expect(signals.every((s) => s instanceof AbortSignal)).toBe(true);
  });

  it('a renewalInfo that never answers is a temporary error, retried within the hour', async () => {
    const fetch: Fetch = () => new Promise(() => {});
    const error = await failure(
      fetchRenewalInfo({ fetch, renewalInfoUrl: BASE, certId: CERT_ID, now: NOW, timeoutMs: 30 }),
    );
    expect(error.cause).toBeInstanceOf(RequestTimeoutError);
    expect(error.temporary).toBe(true);
    expect(error.message).toBe(`renewalInfo at ${BASE}${CERT_ID} did not answer within 30 ms`);
    expect(error.nextCheckAt.getTime() - NOW.getTime()).toBe(HOUR);
  });
});

describe('fetchRenewalInfo against real sockets', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
  async function listen(
    handler: Parameters<typeof createServer>[1],
  ): Promise<{ base: string; hits: () => number }> {
    let hits = 0;
    const server = createServer((req, res) => {
      hits += 1;
      handler!(req, res);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
  }
  const realFetch: Fetch = (url, init) => globalThis.fetch(url, init);

  it('a redirect to another port is refused and the other port is never asked', async () => {
    const other = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(WINDOW_BODY));
    });
    const ca = await listen((req, res) => {
      res.writeHead(302, { location: `${other.base}${req.url}` });
      res.end();
    });
    const error = await failure(
      fetchRenewalInfo({ fetch: realFetch, renewalInfoUrl: `${ca.base}/ari`, certId: CERT_ID, now: NOW }),
    );
    expect(error.cause).toBeInstanceOf(RedirectRefusedError);
    expect(other.hits()).toBe(0);
  });

  it('a renewalInfo server that accepts the connection and never answers costs one short deadline', async () => {
    const silent = await listen(() => {});
    const started = performance.now();
    const error = await failure(
      fetchRenewalInfo({
        fetch: realFetch,
        renewalInfoUrl: `${silent.base}/ari`,
        certId: CERT_ID,
        now: NOW,
        timeoutMs: 80,
      }),
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error.cause).toBeInstanceOf(RequestTimeoutError);
    expect(error.temporary).toBe(true);
    expect(silent.hits()).toBeLessThanOrEqual(1);
  });
});
