import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AcmeAwsError } from '../../functions/core/errors';
import {
  type Fetch,
  guardedFetch,
  MAX_JSON_BYTES,
  MAX_REDIRECTS,
  RedirectRefusedError,
  RequestTimeoutError,
  readBoundedJson,
  readBoundedText,
} from '../../functions/core/http';

/** A local HTTP server on a free port, with every request it saw; closed after each test. */
interface LocalServer {
  readonly origin: string;
  readonly seen: string[];
}

const servers: Server[] = [];

async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<LocalServer> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    handle(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const realFetch: Fetch = (url, init) => globalThis.fetch(url, init);

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

describe('guardedFetch: redirects (real sockets)', () => {
  it('refuses a redirect to another port (another origin) and never contacts it', async () => {
    const other = await serve((_req, res) => res.end('attacker body'));
    const ca = await serve((_req, res) => {
      res.writeHead(302, { location: `${other.origin}/steal` });
      res.end('moved');
    });

    const error = await rejection(
      guardedFetch(
        realFetch,
        `${ca.origin}/ari/x.y`,
        { method: 'GET' },
        { timeoutMs: 2_000, code: 'ari-invalid' },
      ),
    );

    expect(error).toBeInstanceOf(RedirectRefusedError);
    const refused = error as RedirectRefusedError;
    expect(refused.code).toBe('ari-invalid');
    expect(refused.status).toBe(302);
    expect(refused.targetOrigin).toBe(other.origin);
    expect(refused.message).toContain(`to another origin (${other.origin})`);
    expect(refused.message).not.toContain('/steal');
    expect(other.seen).toEqual([]);
  });

  it('follows a same-origin redirect of a GET and returns the final answer', async () => {
    const ca = await serve((req, res) => {
      if (req.url === '/old') {
        res.writeHead(301, { location: '/new' });
        res.end();
      } else res.end('{"ok":true}');
    });
    const response = await guardedFetch(
      realFetch,
      `${ca.origin}/old`,
      { method: 'GET' },
      { timeoutMs: 2_000, code: 'acme-protocol' },
    );
    expect(response.status).toBe(200);
    expect(await readBoundedJson(response, MAX_JSON_BYTES, 'acme-protocol', 'x')).toEqual({ ok: true });
    expect(ca.seen).toEqual(['GET /old', 'GET /new']);
  });

  it(`stops a same-origin redirect loop after ${MAX_REDIRECTS} hops`, async () => {
    const ca = await serve((_req, res) => {
      res.writeHead(307, { location: '/again' });
      res.end();
    });
    const error = await rejection(
      guardedFetch(
        realFetch,
        `${ca.origin}/start`,
        { method: 'GET' },
        { timeoutMs: 2_000, code: 'acme-protocol' },
      ),
    );
    expect(error).toBeInstanceOf(RedirectRefusedError);
    expect((error as Error).message).toMatch(/more than 3 times/);
    expect(ca.seen).toHaveLength(MAX_REDIRECTS + 1);
  });

  it('never redirects a POST, not even on its own origin', async () => {
    const ca = await serve((_req, res) => {
      res.writeHead(307, { location: '/elsewhere' });
      res.end();
    });
    const error = await rejection(
      guardedFetch(
        realFetch,
        `${ca.origin}/order`,
        { method: 'POST', body: '{}' },
        { timeoutMs: 2_000, code: 'acme-protocol' },
      ),
    );
    expect(error).toBeInstanceOf(RedirectRefusedError);
    expect((error as AcmeAwsError).code).toBe('acme-protocol');
    expect(ca.seen).toEqual(['POST /order']);
  });
});

describe('guardedFetch: deadlines (real sockets)', () => {
  it('gives up on a server that never answers, naming the URL and the limit', async () => {
    const silent = await serve(() => {});
    const url = `${silent.origin}/ari/x.y`;
    const started = performance.now();
    const error = await rejection(
      guardedFetch(realFetch, url, { method: 'GET' }, { timeoutMs: 100, code: 'ari-invalid' }),
    );
    const took = performance.now() - started;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    const timeout = error as RequestTimeoutError;
    expect(timeout.code).toBe('acme-timeout');
    expect(timeout.retryable).toBe(true);
    expect(timeout.url).toBe(url);
    expect(timeout.timeoutMs).toBe(100);
    expect(timeout.message).toContain(`GET ${url} did not complete within 100 ms`);
    expect(took).toBeLessThan(5_000);
  });

  it('gives up on a body that stalls after the headers', async () => {
    const stalling = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"suggestedWindow":');
    });
    const response = await guardedFetch(
      realFetch,
      `${stalling.origin}/ari/x.y`,
      { method: 'GET' },
      { timeoutMs: 1_000, code: 'ari-invalid' },
    );
    const error = await rejection(readBoundedText(response, MAX_JSON_BYTES, 'ari-invalid', 'renewalInfo'));
    expect(error).toBeInstanceOf(RequestTimeoutError);
  });
});

describe('guardedFetch: deadlines and aborts (fake fetch)', () => {
  it('times out even when the fetch port ignores the signal', async () => {
    const neverSettles: Fetch = () => new Promise(() => {});
    const error = await rejection(
      guardedFetch(neverSettles, 'https://ca.test/x', {}, { timeoutMs: 20, code: 'acme-protocol' }),
    );
    expect(error).toBeInstanceOf(RequestTimeoutError);
  });

  it('uses the injected timer, passes its signal, and sends redirect: manual', async () => {
    const timer = new AbortController();
    const seen: RequestInit[] = [];
    const fetch: Fetch = (_url, init) => {
      seen.push(init ?? {});
      return new Promise((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      );
    };
    const pending = rejection(
      guardedFetch(
        fetch,
        'https://ca.test/x',
        {},
        { timeoutMs: 5_000, timer: () => timer.signal, code: 'acme-protocol' },
      ),
    );
    timer.abort();
    const error = await pending;
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as RequestTimeoutError).timeoutMs).toBe(5_000);
    expect(seen[0]?.redirect).toBe('manual');
    expect(seen[0]?.signal?.aborted).toBe(true);
  });

  it("rethrows the caller's own abort as it is, not as a timeout", async () => {
    const caller = new AbortController();
    const fetch: Fetch = () => new Promise(() => {});
    const pending = rejection(
      guardedFetch(
        fetch,
        'https://ca.test/x',
        {},
        { timeoutMs: 5_000, signal: caller.signal, code: 'acme-protocol' },
      ),
    );
    caller.abort(new Error('pass over'));
    const error = await pending;
    expect(error).not.toBeInstanceOf(RequestTimeoutError);
    expect((error as Error).message).toBe('pass over');
  });

  it('refuses a redirect whose Location is not a URL', async () => {
    const fetch: Fetch = async () =>
      new Response(null, { status: 302, headers: { location: 'http://[::1' } });
    const error = await rejection(
      guardedFetch(fetch, 'https://ca.test/x', {}, { timeoutMs: 1_000, code: 'acme-protocol' }),
    );
    expect(error).toBeInstanceOf(RedirectRefusedError);
    expect((error as RedirectRefusedError).targetOrigin).toBeUndefined();
  });

  it('follows a redirect to another allowed origin (the CA named it), and refuses an https → http downgrade', async () => {
    const seen: string[] = [];
    const fetch: Fetch = async (url) => {
      seen.push(url);
      if (url === 'https://ca.test/dir') return Response.redirect('https://cdn.ca.test/dir', 302);
      if (url === 'https://ca.test/plain') return Response.redirect('http://ca.test/plain', 302);
      return new Response('{}');
    };
    const allowedOrigins = ['https://ca.test', 'https://cdn.ca.test'];
    const ok = await guardedFetch(
      fetch,
      'https://ca.test/dir',
      {},
      { timeoutMs: 1_000, allowedOrigins, code: 'acme-protocol' },
    );
    expect(ok.status).toBe(200);
    const downgrade = await rejection(
      guardedFetch(
        fetch,
        'https://ca.test/plain',
        {},
        { timeoutMs: 1_000, allowedOrigins, code: 'acme-protocol' },
      ),
    );
    expect(downgrade).toBeInstanceOf(RedirectRefusedError);
    expect(seen).toEqual(['https://ca.test/dir', 'https://cdn.ca.test/dir', 'https://ca.test/plain']);
  });
});

describe('readBoundedJson', () => {
  it("says what a non-JSON body was without copying the server's bytes", async () => {
    const response = new Response('<html>secret-marker</html>', { headers: { 'content-type': 'text/html' } });
    const error = await rejection(readBoundedJson(response, MAX_JSON_BYTES, 'ari-invalid', 'renewalInfo'));
    expect(error).toBeInstanceOf(AcmeAwsError);
    expect((error as Error).message).toBe('renewalInfo is not JSON (HTTP 200, "text/html", 26 characters)');
  });
});
