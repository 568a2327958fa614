import { describe, expect, it } from 'vitest';
import { fetchRenewalInfo, RenewalInfoError } from '../../../functions/core/ari';
import { hasCode } from '../../../functions/core/errors';
import type { Fetch } from '../../../functions/core/http';

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
    expect(error.message).toMatch(/HTTP 500$/);
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
