import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request as httpsRequest, type Server } from 'node:https';
import type { Socket } from 'node:net';
import { freePort } from '../../../testbed/ports';
import { trustingFetch, type WebFetch } from '../../../testbed/trusting-fetch';
import { stoppable } from './http-forward';

/** One request the proxy received, as a test inspects it afterwards. */
export interface ProxiedRequest {
  readonly method: string;
  /** Path and query, e.g. `/order-plz`. */
  readonly path: string;
  /** The decoded JWS payload when the body is a flattened JWS with a JSON payload (absent for POST-as-GET). */
  readonly payload?: unknown;
  /** The decoded JWS protected header (alg, kid or jwk, nonce, url) when the body is a flattened JWS. */
  readonly protectedHeader?: unknown;
  /** The status the client received (absent while pending, or when a rule reset the connection). */
  status?: number;
  /** Whether a rule or Pebble answered. */
  answeredBy?: 'rule' | 'upstream';
}

/** What a rule sees: the request plus how many requests with this method and path arrived so far (1-based). */
export interface RuleRequest {
  readonly method: string;
  readonly path: string;
  readonly payload?: unknown;
  readonly protectedHeader?: unknown;
  readonly count: number;
}

/**
 * A rule's answer: a canned response (for a POST the proxy adds a fresh `Replay-Nonce` from the CA unless the
 * rule sets one), a connection reset, or a delay before the request goes on to the CA.
 */
export type FaultResponse =
  | { readonly status: number; readonly headers?: Readonly<Record<string, string>>; readonly body?: string }
  | { readonly reset: true }
  | { readonly delayMs: number };

/** Decides about one request: a fault, `'pass'` (forward, stop looking at rules) or `undefined` (next rule). */
export type FaultRule = (request: RuleRequest) => FaultResponse | 'pass' | undefined;

/** An HTTPS reverse proxy in front of the CA that records requests and injects faults. */
export interface FaultProxy {
  /** The CA's directory as seen through the proxy; a client given this URL only ever talks to the proxy. */
  readonly directoryUrl: string;
  /** The proxy's origin, e.g. `https://127.0.0.1:41234`. */
  readonly origin: string;
  /** A fetch that trusts the test bed's CA. */
  readonly fetch: WebFetch;
  /** Every request received so far, in arrival order. */
  readonly requests: ProxiedRequest[];
  /** Adds a rule; rules are asked in the order added, and the first that answers decides. */
  addRule(rule: FaultRule): void;
  /** Removes every rule, so requests go to the CA untouched. */
  clearRules(): void;
  /**
   * Rewrites the CA's textual answers from now on (e.g. a CA that does not offer a challenge type: Pebble 2.10
   * cannot be told to leave one out); `undefined` keeps a body as it is. `clearRules` removes it too.
   */
  rewriteAnswers(
    rewrite: (request: { method: string; path: string }, body: string) => string | undefined,
  ): void;
  /** Closes the proxy and every open connection. */
  stop(): Promise<void>;
}

/** Where to put the proxy and what it needs to terminate and originate TLS. */
export interface FaultProxyOptions {
  /** Origin of the CA behind the proxy, e.g. Pebble's `https://127.0.0.1:PORT`. */
  readonly targetOrigin: string;
  /** CA certificate that signed the CA's TLS certificate (and the proxy's). */
  readonly caPem: string;
  /** The proxy's TLS certificate (for 127.0.0.1). */
  readonly certPath: string;
  /** The proxy's TLS key. */
  readonly keyPath: string;
  /**
   * Path of the directory on the CA.
   * @default '/dir'
   */
  readonly directoryPath?: string;
}

const maxBodyBytes = 4 * 1024 * 1024;
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade']);

function base64urlJson(value: unknown): unknown {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    return JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Decodes a flattened JWS body (RFC 7515 §7.2.2) into its protected header and payload, when it is one. */
function decodeJws(body: Buffer): { protectedHeader?: unknown; payload?: unknown } {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const jws = parsed as Record<string, unknown>;
  if (
    typeof jws.protected !== 'string' ||
    typeof jws.payload !== 'string' ||
    typeof jws.signature !== 'string'
  ) {
    return {};
  }
  return { protectedHeader: base64urlJson(jws.protected), payload: base64urlJson(jws.payload) };
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBodyBytes) {
        stream.destroy(new Error(`body larger than ${maxBodyBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.once('end', () => resolveBody(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** Starts an HTTPS reverse proxy on a free port of 127.0.0.1 in front of `targetOrigin`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.targetOrigin);
  const targetOrigin = target.origin;
  const directoryPath = options.directoryPath ?? '/dir';
  const port = await freePort();
  const origin = `https://127.0.0.1:${port}`;
  const fetch = trustingFetch(options.caPem);
  const rules: FaultRule[] = [];
  let answerRewrite:
    | ((request: { method: string; path: string }, body: string) => string | undefined)
    | undefined;
  const requests: ProxiedRequest[] = [];
  const counts = new Map<string, number>();

  const rewrite = (text: string): string => text.split(targetOrigin).join(origin);

  /** Sends one request to the CA; `host` is kept as the client sent it (see the forwarding comment below). */
  const upstream = (
    method: string,
    path: string,
    headers: Record<string, string | string[] | undefined>,
    body: Buffer | undefined,
  ): Promise<{ status: number; rawHeaders: string[]; body: Buffer }> =>
    new Promise((resolveUpstream, reject) => {
      const outgoing = httpsRequest(
        {
          host: target.hostname,
          port: target.port,
          method,
          path,
          headers,
          ca: options.caPem,
          // Verify the CA's certificate against its own address, whatever Host header is forwarded.
          servername: target.hostname === '127.0.0.1' ? 'localhost' : target.hostname,
          agent: false,
        },
        (incoming) => {
          readBody(incoming).then(
            (responseBody) =>
              resolveUpstream({
                status: incoming.statusCode ?? 502,
                rawHeaders: incoming.rawHeaders,
                body: responseBody,
              }),
            reject,
          );
        },
      );
      outgoing.once('error', reject);
      outgoing.end(body);
    });

  /**
   * Headers of the proxy's own requests to the CA; Pebble 2.10 refuses any request without a User-Agent
   * (RFC 8555 §6.1: "ACME clients MUST send a User-Agent header field").
   */
  const ownHeaders = { host: target.host, 'user-agent': 'acme-ari-aws-test-bed-fault-proxy' };
  let newNoncePath: string | undefined;
  /** A fresh nonce from the CA, so a client's nonce pool survives a canned answer to its POST. */
  const freshNonce = async (): Promise<string | undefined> => {
    if (newNoncePath === undefined) {
      const directory = await upstream('GET', directoryPath, ownHeaders, undefined);
      const parsed = JSON.parse(directory.body.toString('utf8')) as { newNonce?: string };
      newNoncePath = parsed.newNonce ? new URL(parsed.newNonce).pathname : '/nonce-plz';
    }
    const answer = await upstream('HEAD', newNoncePath, ownHeaders, undefined);
    for (let i = 0; i < answer.rawHeaders.length; i += 2) {
      if (answer.rawHeaders[i]?.toLowerCase() === 'replay-nonce') return answer.rawHeaders[i + 1];
    }
    return undefined;
  };

  const answerWithRule = async (
    res: ServerResponse,
    method: string,
    fault: { status: number; headers?: Readonly<Record<string, string>>; body?: string },
  ): Promise<void> => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(fault.headers ?? {})) headers[name.toLowerCase()] = value;
    if (method === 'POST' && headers['replay-nonce'] === undefined) {
      const nonce = await freshNonce();
      if (nonce !== undefined) headers['replay-nonce'] = nonce;
    }
    if (fault.body !== undefined && headers['content-type'] === undefined) {
      headers['content-type'] = fault.status >= 400 ? 'application/problem+json' : 'application/json';
    }
    headers['cache-control'] ??= 'no-store';
    res.writeHead(fault.status, headers);
    res.end(fault.body);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const body = await readBody(req);
    const decoded = decodeJws(body);
    const record: ProxiedRequest = { method, path, ...decoded };
    requests.push(record);
    const key = `${method} ${path}`;
    const count = (counts.get(key) ?? 0) + 1;
    counts.set(key, count);

    let decision: FaultResponse | 'pass' | undefined;
    for (const rule of rules) {
      decision = rule({ method, path, ...decoded, count });
      if (decision !== undefined) break;
    }
    if (decision !== undefined && decision !== 'pass') {
      if ('reset' in decision) {
        record.answeredBy = 'rule';
        // A TCP RST, so the client sees ECONNRESET as after a real network fault. The TLS socket cannot send one
        // itself; its TCP socket (Node's internal `_parent`) can. Without it, an abrupt close is the next best.
        const tcp = (req.socket as unknown as { _parent?: Socket })._parent;
        try {
          tcp?.resetAndDestroy();
        } catch {
          // Not a TCP handle after all: fall through to the abrupt close.
        }
        req.socket.destroy();
        return;
      }
      if ('status' in decision) {
        record.answeredBy = 'rule';
        record.status = decision.status;
        await answerWithRule(res, method, decision);
        return;
      }
      const { delayMs } = decision;
      await new Promise((resolveDelay) => setTimeout(resolveDelay, delayMs));
    }

    // The Host header goes through unchanged: Pebble builds every URL it returns from it and checks the JWS
    // `url` against it, so the client's signed URLs (the proxy's) stay valid. Rewriting below still covers any
    // URL a CA builds from its own configuration.
    const headers: Record<string, string | string[] | undefined> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (!hopByHop.has(name)) headers[name] = value;
    }
    if (body.length > 0) headers['content-length'] = String(body.length);
    const answer = await upstream(method, path, headers, body.length > 0 ? body : undefined);
    const outgoing = new Map<string, string[]>();
    let contentType = '';
    for (let i = 0; i < answer.rawHeaders.length; i += 2) {
      const name = answer.rawHeaders[i]!;
      const lower = name.toLowerCase();
      if (hopByHop.has(lower)) continue;
      let value = answer.rawHeaders[i + 1]!;
      if (lower === 'location' || lower === 'link') value = rewrite(value);
      if (lower === 'content-type') contentType = value;
      outgoing.set(lower, [...(outgoing.get(lower) ?? []), value]);
    }
    const textual = /json|text|pem/i.test(contentType);
    const text = textual ? rewrite(answer.body.toString('utf8')) : undefined;
    const rewritten = text === undefined ? undefined : (answerRewrite?.({ method, path }, text) ?? text);
    const responseBody = rewritten === undefined ? answer.body : Buffer.from(rewritten);
    record.answeredBy = 'upstream';
    record.status = answer.status;
    for (const [name, values] of outgoing) res.setHeader(name, values);
    res.setHeader('content-length', String(responseBody.length));
    res.writeHead(answer.status);
    res.end(method === 'HEAD' ? undefined : responseBody);
  };

  const server: Server = createServer(
    { cert: readFileSync(options.certPath), key: readFileSync(options.keyPath) },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        // A broken upstream shows up as a 502 the test can see, not as a hung client.
        if (!res.headersSent) {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`fault proxy: ${error instanceof Error ? error.message : String(error)}`);
        } else {
          res.destroy();
        }
      });
    },
  );
  const stop = stoppable(server);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveListen());
  });

  return {
    directoryUrl: `${origin}${directoryPath}`,
    origin,
    fetch,
    requests,
    addRule: (rule) => {
      rules.push(rule);
    },
    clearRules: () => {
      rules.length = 0;
      answerRewrite = undefined;
    },
    rewriteAnswers: (rewrite) => {
      answerRewrite = rewrite;
    },
    stop,
  };
}
