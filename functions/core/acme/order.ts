import { AcmeAwsError } from '../errors';
import type { AcmeClient } from './client';
import { type PollOptions, pollUntil } from './poll';
import { AcmeProblemError, RateLimitedError } from './problem';
import { type Order, orderSchema, parseResource } from './resources';

/** An order and the URL that identifies it (kept to resume an interrupted renewal). */
export interface PlacedOrder {
  readonly url: string;
  readonly order: Order;
}

/**
 * Places a new order for DNS names, optionally naming the certificate it replaces and a profile.
 * @see RFC 8555 §7.4, RFC 9773 §5 (`replaces`), draft-ietf-acme-profiles §4 (`profile`)
 */
export async function newOrder(
  client: AcmeClient,
  input: { names: readonly string[]; replaces?: string; profile?: string },
): Promise<PlacedOrder> {
  const { newOrder: url } = await client.transport.directory();
  const payload: Record<string, unknown> = {
    identifiers: input.names.map((value) => ({ type: 'dns', value })),
  };
  if (input.replaces) payload.replaces = input.replaces;
  if (input.profile) payload.profile = input.profile;
  const response = await client.post(url, payload);
  if (!response.location)
    throw new AcmeAwsError('acme-protocol', 'newOrder answered without a Location (order URL)');
  const order = parseResource(orderSchema, response.body, 'the new order');
  const asked = new Set(input.names.map((n) => n.toLowerCase()));
  const got = order.identifiers.map((i) => i.value.toLowerCase());
  if (got.length !== asked.size || got.some((n) => !asked.has(n))) {
    throw new AcmeAwsError(
      'acme-protocol',
      `the CA created an order for ${got.join(', ')} instead of ${[...asked].join(', ')}`,
    );
  }
  return { url: response.location, order };
}

/** Longest CA `detail` kept in the reason a replacement was dropped (state, events, logs). */
const MAX_REASON_DETAIL_CHARS = 200;

/**
 * Why a failed replacement order should be retried without `replaces`, or `undefined` when it must not be.
 *
 * Rule: ARI may make a renewal earlier or rate-limit exempt, it must never make it fail. So every problem the CA
 * answers a replacement order with is retried once without `replaces`, whatever the status and type: 409
 * `alreadyReplaced`; 5xx (the lego v4.16.0 incident, `500 serverInternal: While validating order as a
 * replacement...`); 400/404 `malformed` for an unknown issuer key identifier after a CA changed intermediates;
 * 403 for another account's certificate; and anything else. Except:
 * - a rate limit (`rateLimited`, a 429, or a 503 with Retry-After, i.e. a `RateLimitedError`): the retry would
 *   count against the same limit; the renewal is deferred instead;
 * - `badNonce`: the transport already retried it with fresh nonces, so it is not about `replaces`;
 * - an error that is not a problem document (network, timeout, a malformed success): the CA rejected nothing.
 * @see RFC 9773 §5 (the `replaces` field of a new order) and §7.4 (the `alreadyReplaced` error type)
 */
export function replacementRejection(error: unknown): string | undefined {
  if (!(error instanceof AcmeProblemError) || error instanceof RateLimitedError) return undefined;
  const status = error.status ?? 0;
  const name = error.acmeType;
  if (name === 'rateLimited' || name === 'badNonce' || status === 429) return undefined;
  const type = name ?? error.problem.type ?? 'unknown';
  const detail = (error.problem.detail ?? '').replace(/\s+/g, ' ').trim().slice(0, MAX_REASON_DETAIL_CHARS);
  return `${status || '?'} ${type}: ${detail}`;
}

/**
 * Places the order, sending `replaces` only when the CA advertises ARI; a replacement order the CA rejects is
 * retried once without it, and the result says why.
 * @see RFC 9773 §5 "Clients SHOULD NOT send the replaces field if the server does not advertise renewalInfo"
 */
export async function placeOrder(
  client: AcmeClient,
  input: { names: readonly string[]; replaces?: string; profile?: string },
): Promise<PlacedOrder & { replaced?: string; replacesDropped?: string; notes: string[] }> {
  const directory = await client.transport.directory();
  const notes: string[] = [];
  let profile = input.profile;
  const profiles = directory.meta?.profiles;
  if (profile && !(profiles && profile in profiles)) {
    notes.push(
      `profile "${profile}" is not advertised by the CA (${profiles ? Object.keys(profiles).join(', ') : 'no profiles'}); ordered without it`,
    );
    profile = undefined;
  }
  let replaces = input.replaces;
  if (replaces && !directory.renewalInfo) {
    notes.push('the CA does not advertise renewalInfo; ordered without replaces');
    replaces = undefined;
  }
  if (!replaces) return { ...(await newOrder(client, { names: input.names, profile })), notes };
  try {
    return {
      ...(await newOrder(client, { names: input.names, replaces, profile })),
      replaced: replaces,
      notes,
    };
  } catch (error) {
    const reason = replacementRejection(error);
    if (reason === undefined) throw error;
    notes.push(`the CA rejected the replacement order (${reason}); ordered again without replaces`);
    return { ...(await newOrder(client, { names: input.names, profile })), replacesDropped: reason, notes };
  }
}

/** Fetches an order by URL. @see RFC 8555 §7.4 */
export async function getOrder(client: AcmeClient, url: string): Promise<Order> {
  const response = await client.postAsGet(url);
  return parseResource(orderSchema, response.body, `the order ${url}`);
}

function orderFailure(order: Order, url: string): AcmeProblemError {
  return new AcmeProblemError(
    {
      type: order.error?.type,
      detail: order.error?.detail ?? `the order became ${order.status}`,
      status: 403,
      ...order.error,
    },
    `order ${url}`,
  );
}

/**
 * Polls an order until it leaves `pending`/`processing` as asked; an `invalid` order throws its problem, or the
 * better account of it `whyInvalid` finds (an order turns invalid when one of its authorizations does, and the
 * authorization's challenge says why).
 */
export async function waitForOrder(
  client: AcmeClient,
  url: string,
  until: Order['status'][],
  poll: PollOptions,
  whyInvalid?: () => Promise<Error | undefined>,
): Promise<Order> {
  return pollUntil<Order>(`order ${url}`, poll, async () => {
    const response = await client.postAsGet(url);
    const order = parseResource(orderSchema, response.body, `the order ${url}`);
    if (until.includes(order.status)) return { done: order };
    if (order.status === 'invalid') throw (await whyInvalid?.()) ?? orderFailure(order, url);
    return { retryAfter: response.headers.get('retry-after') };
  });
}

/**
 * Sends the CSR and waits for the certificate URL.
 * @see RFC 8555 §7.4 "Once the client believes it has fulfilled the server's requirements, it should send a POST
 * request to the order resource's finalize URL ... The body of the POST request MUST include the CSR"
 */
export async function finalizeOrder(
  client: AcmeClient,
  placed: PlacedOrder,
  csrDer: Uint8Array,
  poll: PollOptions,
  /** Work the client does anyway (e.g. removing TXT records): a processing order is polled once it is done. */
  meanwhile?: Promise<unknown>,
): Promise<Order> {
  const response = await client.post(placed.order.finalize, {
    csr: Buffer.from(csrDer).toString('base64url'),
  });
  const order = parseResource(orderSchema, response.body, 'the finalized order');
  if (order.status === 'valid') return order;
  if (order.status === 'invalid') throw orderFailure(order, placed.url);
  // The CA signs while the client finishes its own work; polling the moment the finalize returns mostly meets
  // "processing" and its Retry-After, a whole wait for a signature that takes milliseconds.
  await meanwhile;
  return waitForOrder(client, placed.url, ['valid'], poll);
}

export type { Order };
