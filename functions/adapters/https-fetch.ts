import type { IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import type { Fetch, HttpRequestInit, HttpResponse } from '../core/http';

// The global `fetch` is undici's. In use it is costly for a function that sends a dozen requests and exits: its
// WASM HTTP parser, its fetch machinery and web streams per request made the renewer's issuance peak at 107 MiB and
// spend about a quarter more CPU than with this client (the same runs, interleaved, on the bench's Pebble: 85 MiB).
// This one speaks HTTP/1.1 through `node:https`, which the AWS SDK has loaded anyway. `node:http` (plain-HTTP
// endpoints only) is required, never imported: an ESM import enumerates the module's exports, whose lazy WebSocket
// getters load undici.
const requireBuiltin = createRequire(import.meta.url);

/** How {@link createHttpsFetch} connects. */
export interface HttpsFetchOptions {
  /**
   * Connections kept open per origin between requests (keep-alive), so a renewal's requests reuse one TLS session.
   * @default 64 (above the scheduler's ARI concurrency, 50)
   */
  readonly maxSockets?: number;
  /**
   * The only certificate authorities trusted for TLS, in PEM (the test bed's CA).
   * @default - Node's trust store, with NODE_EXTRA_CA_CERTS
   */
  readonly ca?: string;
  /**
   * How long an idle kept-alive connection stays in the pool before the client closes it (undici's default too):
   * Go servers such as Boulder and Pebble send no Keep-Alive hint, and a NAT or load balancer may drop an idle flow
   * silently, which a request would only find out at its deadline.
   * @default 4000
   */
  readonly idleTimeoutMs?: number;
}

/**
 * A {@link Fetch} on `node:https` (and `node:http` for `http:` URLs): no redirect is followed (the core decides,
 * {@link guardedFetch}), no compression is asked for, and `signal` ends the request and its body. The server's
 * certificate is checked against Node's trust store (`NODE_EXTRA_CA_CERTS` adds to it).
 */
export function createHttpsFetch(options: HttpsFetchOptions = {}): Fetch {
  const maxSockets = options.maxSockets ?? 64;
  // An agent's `timeout` closes a socket that times out while free only; one carrying a request is left to the
  // request's own deadline (guardedFetch).
  const pool = { keepAlive: true, maxSockets, timeout: options.idleTimeoutMs ?? 4_000 };
  const httpsAgent = new HttpsAgent({ ...pool, ...(options.ca === undefined ? {} : { ca: options.ca }) });
  let http: typeof import('node:http') | undefined;
  let httpAgent: import('node:http').Agent | undefined;
  const send = (url: URL, init: HttpRequestInit): Promise<HttpResponse> => {
    if (url.protocol === 'https:') return exchange(httpsRequest, httpsAgent, maxSockets, url, init);
    if (url.protocol !== 'http:')
      return Promise.reject(new TypeError(`${url.protocol} URLs are not supported`));
    http ??= requireBuiltin('node:http') as typeof import('node:http');
    httpAgent ??= new http.Agent(pool);
    return exchange(http.request, httpAgent, maxSockets, url, init);
  };
  // Async, so a URL that does not parse rejects (as fetch does) instead of throwing at the caller.
  return async (url, init) => send(new URL(url), init);
}

type RequestFunction = typeof httpsRequest;

/**
 * One exchange. A GET or HEAD sent on a kept-alive connection that the server had closed meanwhile is sent once
 * more (Node documents this pattern for `reusedSocket`); a POST never is: it may have reached the CA, and the core
 * decides what a failed signed request means (the renewal fails, and its retry resumes the order). The agent may
 * hand the second try another connection closed just the same (a thawed Lambda has not yet read the FINs of its
 * whole pool), so it goes on while the failure was a reused connection's: each such one is destroyed, so at most
 * the pool (`maxSockets`) is tried before a new connection, whose failure is final.
 * @see RFC 9110 §9.2.2 (idempotent methods may be retried automatically)
 */
async function exchange(
  request: RequestFunction,
  agent: HttpsAgent | import('node:http').Agent,
  maxSockets: number,
  url: URL,
  init: HttpRequestInit,
): Promise<HttpResponse> {
  const method = (init.method ?? 'GET').toUpperCase();
  const idempotent = method === 'GET' || method === 'HEAD';
  for (let attempt = 0; ; attempt++) {
    try {
      return await once(request, agent, url, method, init);
    } catch (error) {
      const reused = (error as { reusedSocket?: boolean }).reusedSocket === true;
      if (!idempotent || !reused || attempt >= maxSockets) throw error;
    }
  }
}

function once(
  request: RequestFunction,
  agent: HttpsAgent | import('node:http').Agent,
  url: URL,
  method: string,
  init: HttpRequestInit,
): Promise<HttpResponse> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
  return new Promise<HttpResponse>((resolve, reject) => {
    const req = request(url, {
      method,
      headers,
      agent: agent as HttpsAgent,
      ...(init.signal ? { signal: init.signal } : {}),
    });
    req.once('error', (error: NodeJS.ErrnoException) => {
      const code = error.code;
      reject(
        req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE')
          ? Object.assign(error, { reusedSocket: true })
          : error,
      );
    });
    req.once('response', (res) => resolve(toResponse(res, method)));
    req.end(init.body);
  });
}

/** The answer as the core reads it; the body streams, and ends in an error if the connection or signal ends it. */
function toResponse(res: IncomingMessage, method: string): HttpResponse {
  const status = res.statusCode ?? 0;
  const empty = method === 'HEAD' || status === 204 || status === 304;
  if (empty) res.resume();
  return {
    status,
    ok: status >= 200 && status <= 299,
    statusText: res.statusMessage ?? '',
    headers: {
      get(name) {
        const value = res.headers[name.toLowerCase()];
        if (value === undefined) return null;
        return Array.isArray(value) ? value.join(', ') : value;
      },
    },
    body: empty ? null : bodyStream(res),
  };
}

function bodyStream(res: IncomingMessage): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        controller.error(error);
      };
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        // Backpressure: stop reading the socket until the reader asks for more.
        if ((controller.desiredSize ?? 0) <= 0) res.pause();
      });
      res.once('end', () => {
        if (settled) return;
        settled = true;
        controller.close();
      });
      res.once('error', fail);
      // A connection cut before the body ended (the signal, the server, the network).
      res.once('close', () => {
        if (!res.complete) fail(new Error('the connection closed before the body ended'));
      });
    },
    pull() {
      res.resume();
    },
    cancel() {
      settled = true;
      res.destroy();
    },
  });
}
