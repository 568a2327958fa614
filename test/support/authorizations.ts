import type { S3Client } from '@aws-sdk/client-s3';
import { S3CertificateStore } from '../../functions/adapters/s3-store';
import {
  type AcmeClient,
  type AcmeResponse,
  AcmeTransport,
  accountSchema,
  authorizationSchema,
  ensureAccount,
  linkTargets,
  orderSchema,
  parseResource,
} from '../../functions/core/acme';
import { mapLimit } from '../../functions/core/concurrency';
import type { Fetch } from '../../functions/core/http';

/** Where {@link deactivateAuthorizations} finds the account and how it reaches the CA. */
export interface DeactivateAuthorizationsOptions {
  /** A client of the moto S3 holding the state bucket (the bed's own, so no function role is recorded). */
  readonly s3: S3Client;
  readonly bucket: string;
  /** The CA entry's `directoryUrl`, as in the inventory: the stored account is keyed by it. */
  readonly directoryUrl: string;
  /** A fetch that reaches the CA at that URL (the bed's, through the fault proxy when there is one). */
  readonly fetch: Fetch;
}

/** Requests in flight at once: Pebble answers each in a few milliseconds. */
const CONCURRENCY = 8;

/**
 * Deactivates every valid authorization of the ACME account stored in the state bucket for a CA, so that the next
 * order for any name it validated gets new pending authorizations and has to answer a fresh challenge. Returns the
 * identifiers deactivated (`*.name` for a wildcard); none when no account is stored yet.
 *
 * Why the bed needs it: Pebble 2.10 reuses a valid authorization about 1 % of the time even with
 * `PEBBLE_AUTHZREUSE=0` (its wfe.go makes a new one only when `rand.Intn(100) > percent`), and such an order makes
 * no DNS change and answers no challenge. A test whose fault sits on that path (a change batch, its propagation, the
 * DNS checkpoint, the challenge answer) calls this first; a deactivated authorization is never reused.
 *
 * Authorizations are found through the account's orders list, which Pebble fills with every order of the account
 * except invalid ones.
 * @see RFC 8555 §7.5.2 "the client can deactivate the authorization by sending a POST request to the authorization
 * URL with a JSON body containing the field 'status' with the value 'deactivated'"
 * @see RFC 8555 §7.1.2.1 (the orders list)
 */
export async function deactivateAuthorizations(options: DeactivateAuthorizationsOptions): Promise<string[]> {
  const stored = await new S3CertificateStore({ bucket: options.bucket, client: options.s3 }).getAccount(
    options.directoryUrl,
  );
  if (stored === undefined) return [];
  const transport = new AcmeTransport({
    directoryUrl: options.directoryUrl,
    fetch: options.fetch,
    clock: { now: () => new Date() },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });
  const { client } = await ensureAccount(transport, { stored });
  const orders = await orderUrls(client);
  const authorizations = new Set(
    (
      await mapLimit(orders, CONCURRENCY, async (url) => {
        const order = parseResource(orderSchema, (await client.postAsGet(url)).body, `the order ${url}`);
        return order.authorizations;
      })
    ).flat(),
  );
  const deactivated = await mapLimit([...authorizations], CONCURRENCY, async (url) => {
    const what = `the authorization ${url}`;
    const authz = parseResource(authorizationSchema, (await client.postAsGet(url)).body, what);
    if (authz.status !== 'valid') return [];
    const after = parseResource(
      authorizationSchema,
      (await client.post(url, { status: 'deactivated' })).body,
      what,
    );
    if (after.status !== 'deactivated') {
      throw new Error(`test bed: ${what} is ${after.status} after deactivation, not deactivated`);
    }
    return [`${authz.wildcard ? '*.' : ''}${authz.identifier.value}`];
  });
  return deactivated.flat();
}

/** Every order URL of the account, following the list's `Link: rel="next"` pages. */
async function orderUrls(client: AcmeClient): Promise<string[]> {
  const account = parseResource(
    accountSchema,
    (await client.postAsGet(client.accountUrl)).body,
    'the account',
  );
  if (account.orders === undefined) throw new Error('test bed: the CA gave the account no orders URL');
  const urls: string[] = [];
  for (let page: string | undefined = account.orders; page !== undefined; ) {
    const response: AcmeResponse<{ orders?: unknown }> = await client.postAsGet(page);
    const listed = response.body.orders;
    if (!Array.isArray(listed)) throw new Error(`test bed: the orders list ${page} carries no orders array`);
    urls.push(...listed.map(String));
    // RFC 8555 §7.1.2.1: a long list is paged with Link rel="next".
    page = linkTargets(response.headers.get('link'), 'next')[0];
  }
  return urls;
}
