import type { FlattenedJWS } from 'jose';
import { base64url } from 'jose';
import type { Fetch } from '../../../functions/core/http';

/** One request the fake CA received, with the JWS protected header and payload decoded. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly redirect: RequestRedirect | undefined;
  readonly protected?: Record<string, unknown>;
  /** The decoded payload: `''` for POST-as-GET, parsed JSON otherwise. */
  readonly payload?: unknown;
}

/** Answers one request; return `undefined` to fall through to the default handlers. */
export type Route = (request: SeenRequest, count: number) => Response | Promise<Response> | undefined;

export const ORIGIN = 'https://ca.test';
export const DIRECTORY_URL = `${ORIGIN}/dir`;

/**
 * A self-signed root ("Fake CA Root (tests)") whose key was thrown away, for inventories that must name a custom
 * CA's `trustAnchors` but never verify a chain (the scheduler only decides). A test that issues uses its fixture
 * chain's root instead, so this one trusting nothing is never what makes a test pass.
 */
export const UNUSED_TRUST_ANCHOR_PEM = `-----BEGIN CERTIFICATE-----
MIIBkjCCATigAwIBAgIBATAKBggqhkjOPQQDAjAfMR0wGwYDVQQDDBRGYWtlIENB
IFJvb3QgKHRlc3RzKTAgFw0yNjEyMDEwOTQ1MTZaGA8yMTI2MTEwNzA5NDUxNlow
HzEdMBsGA1UEAwwURmFrZSBDQSBSb290ICh0ZXN0cykwWTATBgcqhkjOPQIBBggq
hkjOPQMBBwNCAAQu4XvSXErZAhtmclBJZ/XFCqBa168uVrGc5ts7I+x5ZPV9LlzS
tWsMgF34a1Y9+S/uAhRqdTKkiTLLyOO17/gTo2MwYTAdBgNVHQ4EFgQUKJ24CLTG
Xb8q8KjuLkRiJeq5a4EwHwYDVR0jBBgwFoAUKJ24CLTGXb8q8KjuLkRiJeq5a4Ew
DwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAQYwCgYIKoZIzj0EAwIDSAAw
RQIhAOIhxhkJ3ibV8Ms5MqVt3sf+zb9YtcKkQxOAcSVsYSX4AiB5D9wmgfU82206
HITDAXluz1O2pQT1mXP1OUX8h6+S4Q==
-----END CERTIFICATE-----
`;

/** The directory the fake CA serves unless a test overrides it. */
export function defaultDirectory(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    newNonce: `${ORIGIN}/nonce`,
    newAccount: `${ORIGIN}/account`,
    newOrder: `${ORIGIN}/order`,
    revokeCert: `${ORIGIN}/revoke`,
    renewalInfo: `${ORIGIN}/ari`,
    ...extra,
  };
}

/** A JSON response with a fresh Replay-Nonce, as an ACME server sends one. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** An RFC 7807 problem response. */
export function problem(
  status: number,
  type: string,
  detail: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ type: `urn:ietf:params:acme:error:${type}`, detail, status }), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
}

/**
 * A scripted in-memory ACME server behind the `Fetch` port: it serves a directory and nonces, records every
 * request with its JWS decoded, and hands each other request to the test's route for that path.
 */
export class FakeCa {
  readonly requests: SeenRequest[] = [];
  directory: Record<string, unknown> = defaultDirectory();
  private readonly routes = new Map<string, Route>();
  private readonly counts = new Map<string, number>();
  private nonceCounter = 0;

  /** Answers requests to `path` (on the fake CA's origin) with `route`. */
  on(path: string, route: Route): this {
    this.routes.set(`${ORIGIN}${path}`, route);
    return this;
  }

  /** Requests whose URL ends with `path`, in order. */
  to(path: string, method?: string): SeenRequest[] {
    return this.requests.filter((r) => r.url === `${ORIGIN}${path}` && (!method || r.method === method));
  }

  nextNonce(): string {
    this.nonceCounter += 1;
    return `nonce-${this.nonceCounter}`;
  }

  readonly fetch: Fetch = async (url, init) => {
    const method = init?.method ?? 'GET';
    let decoded: Pick<SeenRequest, 'protected' | 'payload'> = {};
    if (typeof init?.body === 'string') {
      const jws = JSON.parse(init.body) as FlattenedJWS;
      const payloadText = new TextDecoder().decode(base64url.decode(jws.payload));
      decoded = {
        protected: JSON.parse(new TextDecoder().decode(base64url.decode(jws.protected ?? ''))) as Record<
          string,
          unknown
        >,
        payload: payloadText === '' ? '' : (JSON.parse(payloadText) as unknown),
      };
    }
    const request: SeenRequest = {
      method,
      url,
      headers: new Headers(init?.headers),
      redirect: init?.redirect,
      ...decoded,
    };
    this.requests.push(request);
    const count = (this.counts.get(url) ?? 0) + 1;
    this.counts.set(url, count);
    const routed = await this.routes.get(url)?.(request, count);
    const response =
      routed ??
      (url === DIRECTORY_URL && method === 'GET'
        ? json(this.directory)
        : url === `${ORIGIN}/nonce`
          ? new Response(null, { status: 200 })
          : problem(404, 'malformed', `no route for ${method} ${url}`));
    // Every ACME response carries a fresh nonce (RFC 8555 §6.5) unless the route set one itself.
    if (!response.headers.has('replay-nonce')) response.headers.set('replay-nonce', this.nextNonce());
    return response;
  };
}
