import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpsFetch } from '../../../functions/adapters/https-fetch';
import { linkTargets } from '../../../functions/core/acme/certificate';
import { guardedFetch, RequestTimeoutError, readBoundedText } from '../../../functions/core/http';
import { type BedTlsServer, startBedTlsServer } from '../../support/tls-server';

type Handler = (req: IncomingMessage & { bodyText: string }, res: ServerResponse) => void;

// A real TLS server with the test bed's certificate (127.0.0.1), so the client's TLS, keep-alive and streaming are
// exercised as against a CA.
let handler: Handler = (_req, res) => res.end();
let server: BedTlsServer;
let origin: string;
let connections: Set<Socket>;
let caPem: string;

beforeAll(async () => {
  server = await startBedTlsServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => handler(Object.assign(req, { bodyText: text }), res));
  });
  ({ origin, connections, caPem } = server);
});

afterAll(() => server.close());

beforeEach(() => {
  for (const socket of connections) socket.destroy();
  connections.clear();
});

const fetch = () => createHttpsFetch({ ca: caPem });
const text = (response: Awaited<ReturnType<ReturnType<typeof fetch>>>) =>
  readBoundedText(response, 1 << 20, 'acme-protocol', 'the test body');

describe('the functions’ HTTP client on node:https', () => {
  it('answers a GET with its status, headers by any case and its body', async () => {
    handler = (_req, res) => {
      res.writeHead(201, 'Made', { 'Content-Type': 'application/json', 'Replay-Nonce': 'abc_-1' });
      res.end('{"ok":true}');
    };
    const response = await fetch()(`${origin}/dir`, { method: 'GET' });
    expect([response.status, response.ok, response.statusText]).toEqual([201, true, 'Made']);
    expect(response.headers.get('replay-nonce')).toBe('abc_-1');
    expect(response.headers.get('REPLAY-NONCE')).toBe('abc_-1');
    expect(response.headers.get('retry-after')).toBeNull();
    expect(await text(response)).toBe('{"ok":true}');
  });

  it('sends a POST body with its length and the caller’s headers, and a 4xx is not ok', async () => {
    let seen: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    handler = (req, res) => {
      seen = { method: req.method, headers: req.headers, body: req.bodyText };
      res.writeHead(400, { 'content-type': 'application/problem+json' }).end('{"type":"x"}');
    };
    const body = JSON.stringify({ protected: 'é', payload: '' });
    const response = await fetch()(`${origin}/new-order`, {
      method: 'POST',
      headers: { 'content-type': 'application/jose+json', 'user-agent': 'acme-ari-aws/test' },
      body,
    });
    expect(response.ok).toBe(false);
    expect(response.status).toBe(400);
    await text(response);
    expect(seen.method).toBe('POST');
    expect(seen.body).toBe(body);
    expect(seen.headers?.['content-length']).toBe(String(Buffer.byteLength(body)));
    expect(seen.headers?.['content-type']).toBe('application/jose+json');
    expect(seen.headers?.['user-agent']).toBe('acme-ari-aws/test');
    // Nothing asks for compression: the bodies the core bounds are the bytes on the wire.
    expect(seen.headers?.['accept-encoding']).toBeUndefined();
  });

  it('gives HEAD and 204 answers no body', async () => {
    handler = (_req, res) => res.writeHead(204, { 'replay-nonce': 'n1' }).end();
    const head = await fetch()(`${origin}/nonce`, { method: 'HEAD' });
    expect([head.status, head.body, head.headers.get('replay-nonce')]).toEqual([204, null, 'n1']);
  });

  it('hands a redirect back as it came, for the core to judge', async () => {
    handler = (req, res) =>
      req.url === '/moved'
        ? res.writeHead(302, { location: 'https://elsewhere.test/x' }).end()
        : res.end('no');
    const response = await fetch()(`${origin}/moved`, { method: 'GET', redirect: 'manual' });
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('https://elsewhere.test/x');
  });

  it('joins repeated Link fields, so alternate chains are all seen (RFC 8555 §7.4.2)', async () => {
    handler = (_req, res) => {
      res.setHeader('link', [`<${origin}/cert/1>;rel="alternate"`, `<${origin}/cert/2>;rel="alternate"`]);
      res.end('pem');
    };
    const response = await fetch()(`${origin}/cert/0`, { method: 'POST', body: '' });
    expect(linkTargets(response.headers.get('link'), 'alternate')).toEqual([
      `${origin}/cert/1`,
      `${origin}/cert/2`,
    ]);
  });

  it('keeps one connection alive across a renewal’s requests', async () => {
    handler = (_req, res) => res.end('x');
    const client = fetch();
    for (let i = 0; i < 3; i++) await text(await client(`${origin}/r${i}`, { method: 'GET' }));
    expect(connections.size).toBe(1);
  });

  it('closes a pooled connection left idle past its timeout, and a slow answer is not cut by it', async () => {
    let closedByClient = 0;
    handler = (req, res) => {
      req.socket.once('end', () => closedByClient++);
      // Slower than the idle timeout: a connection carrying a request is the request deadline's business.
      if (req.url === '/slow') setTimeout(() => res.end('late'), 250);
      else res.end('x');
    };
    const client = createHttpsFetch({ ca: caPem, idleTimeoutMs: 100 });
    expect(await text(await client(`${origin}/slow`, { method: 'GET' }))).toBe('late');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(closedByClient).toBe(1);
    await text(await client(`${origin}/again`, { method: 'GET' }));
    expect(connections.size).toBe(2);
  });

  /** A server that closes the first connection when its second request arrives, before answering it. */
  function closeOnSecondRequest(): { dropped: () => number } {
    const served = new WeakMap<Socket, number>();
    let dropped = 0;
    handler = (req, res) => {
      const socket = req.socket;
      const count = (served.get(socket) ?? 0) + 1;
      served.set(socket, count);
      // As a keep-alive timeout or a thawed Lambda's stale socket would: the request never gets an answer.
      if (count === 2 && dropped === 0) {
        dropped++;
        socket.destroy();
        return;
      }
      res.end(`answer ${req.method} ${req.url}`);
    };
    return { dropped: () => dropped };
  }

  it('sends a GET once more on a new connection when the kept-alive one was closed under it', async () => {
    const server = closeOnSecondRequest();
    const client = fetch();
    expect(await text(await client(`${origin}/first`, { method: 'GET' }))).toBe('answer GET /first');
    expect(await text(await client(`${origin}/second`, { method: 'GET' }))).toBe('answer GET /second');
    expect(server.dropped()).toBe(1);
    expect(connections.size).toBe(2);
  });

  it('sends a GET on a new connection even when every kept-alive one had been closed under it', async () => {
    // Two connections kept alive (two requests in flight at once), both closed by the server while the client's
    // event loop did not run (a frozen Lambda thawing): the FINs are unread, so both look free and reusable.
    handler = (_req, res) => setTimeout(() => res.end('kept'), 20);
    const client = fetch();
    await Promise.all(
      ['/a', '/b'].map(async (path) => text(await client(`${origin}${path}`, { method: 'GET' }))),
    );
    expect(connections.size).toBe(2);
    server.closeIdleConnections();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    handler = (_req, res) => res.end('fresh');
    expect(await text(await client(`${origin}/after-thaw`, { method: 'GET' }))).toBe('fresh');
    expect(connections.size).toBe(3);
  });

  it('never sends a POST twice: it may have reached the CA, so the failure is the caller’s to judge', async () => {
    const server = closeOnSecondRequest();
    const client = fetch();
    await text(await client(`${origin}/first`, { method: 'GET' }));
    await expect(client(`${origin}/finalize`, { method: 'POST', body: '{}' })).rejects.toThrow(
      /socket hang up/,
    );
    expect(server.dropped()).toBe(1);
    expect(connections.size).toBe(1);
  });

  it('refuses a server its trust store does not know', async () => {
    handler = (_req, res) => res.end('x');
    // Node's own store (the default) does not hold the bed's CA.
    await expect(createHttpsFetch()(`${origin}/`, { method: 'GET' })).rejects.toThrow(
      /self-signed|unable to verify|self signed/i,
    );
  });

  it('ends a body that stalls past the deadline, through the core’s guard', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":');
      // …and never ends.
    };
    const response = await guardedFetch(
      fetch(),
      `${origin}/slow`,
      { method: 'GET' },
      { timeoutMs: 200, code: 'acme-protocol' },
    );
    await expect(text(response)).rejects.toBeInstanceOf(RequestTimeoutError);
  });

  it('stops reading a body larger than the bound the core sets', async () => {
    handler = (_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024, 'a');
      let sent = 0;
      const pump = () => {
        while (sent < 64 && res.write(chunk)) sent++;
        if (sent < 64) res.once('drain', pump);
        else res.end();
      };
      pump();
    };
    const response = await fetch()(`${origin}/big`, { method: 'GET' });
    await expect(readBoundedText(response, 100_000, 'acme-protocol', 'the big body')).rejects.toThrow(
      'the big body exceeded 100000 bytes',
    );
  });

  it('rejects when the signal aborts before the answer', async () => {
    handler = () => {};
    const controller = new AbortController();
    const pending = fetch()(`${origin}/never`, { method: 'GET', signal: controller.signal });
    setTimeout(() => controller.abort(new Error('deadline')), 50);
    await expect(pending).rejects.toThrow();
  });

  it('rejects, never throws, for a URL it cannot send to, as fetch does', async () => {
    const client = fetch();
    let pending: Promise<unknown> | undefined;
    expect(() => {
      pending = client('not a URL', { method: 'GET' });
    }).not.toThrow();
    await expect(pending).rejects.toBeInstanceOf(TypeError);
    await expect(client('ftp://127.0.0.1/x', { method: 'GET' })).rejects.toThrow(/not supported/);
  });

  it('speaks plain HTTP to an http: URL', async () => {
    const plain = createHttpServer((_req, res) => res.end('plain'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/`;
      expect(await text(await fetch()(url, { method: 'GET' }))).toBe('plain');
    } finally {
      plain.closeAllConnections();
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});
