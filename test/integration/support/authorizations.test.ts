/**
 * The bed's answer to Pebble's authorization reuse: once `deactivateAuthorizations` has run, an order for names the
 * account validated before gets pending authorizations, and a renewal answers a challenge for every name. Proven
 * against a Pebble that reuses every valid authorization it can (`PEBBLE_AUTHZREUSE=100`), the worst case of the
 * 1 % that `PEBBLE_AUTHZREUSE=0` still reuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3CertificateStore } from '../../../functions/adapters/s3-store';
import type { RuntimeConfig } from '../../../functions/composition/runtime';
import {
  AcmeTransport,
  authorizationSchema,
  ensureAccount,
  orderSchema,
  parseResource,
} from '../../../functions/core/acme';
import { pebbleRootsPem } from '../../../testbed/pebble';
import { type Bed, startBed } from '../../support/bed';

const ID = 'fresh';
const NAMES = ['fresh.test', '*.fresh.test'];
/** Rounds of "deactivate, then renew": each must answer a challenge for every name. */
const ROUNDS = 5;

let bed: Bed;
let bucket: string;
let config: RuntimeConfig;

/** Challenge answers (RFC 8555 §7.5.1: a POST with `{}`) the CA saw since `since` requests. */
const challengeAnswers = (since: number) =>
  bed
    .proxy!.requests.slice(since)
    .filter((r) => r.method === 'POST' && r.path.startsWith('/chalZ/') && r.payload !== undefined);

/** A forced renewal through the runtime; returns the challenge types it answered and how many challenges. */
async function renew(): Promise<{ methods: string[]; answered: number }> {
  const since = bed.proxy!.requests.length;
  const outcome = await bed.runtime(config).renew({ id: ID, reason: 'forced', force: true }, 'fresh-test');
  expect(outcome.result).toBe('renewed');
  const state = (await bed.runtime(config).store.getState(ID))!;
  return { methods: state.validation?.methods ?? [], answered: challengeAnswers(since).length };
}

/** The statuses of the authorizations of a new order for NAMES, placed by hand with the stored account. */
async function newOrderAuthorizations(): Promise<string[]> {
  const stored = (await new S3CertificateStore({ bucket, client: bed.clients.s3 }).getAccount(
    bed.directoryUrl,
  ))!;
  const transport = new AcmeTransport({
    directoryUrl: bed.directoryUrl,
    fetch: bed.fetch,
    clock: { now: () => new Date() },
    sleep: async () => {},
  });
  const { client } = await ensureAccount(transport, { stored });
  const placed = await client.post((await transport.directory()).newOrder, {
    identifiers: NAMES.map((value) => ({ type: 'dns', value })),
  });
  const order = parseResource(orderSchema, placed.body, 'the order');
  const statuses = [];
  for (const url of order.authorizations) {
    statuses.push(parseResource(authorizationSchema, (await client.postAsGet(url)).body, url).status);
  }
  return statuses;
}

beforeAll(async () => {
  bed = await startBed({ faultProxy: true, pebble: { authzReusePercent: 100 } });
  const stack = await bed.createStack('fresh');
  ({ bucket, config } = stack);
  await bed.createZone('fresh.test');
  await bed.putInventory(bucket, {
    cas: { pebble: { directoryUrl: bed.directoryUrl, trustAnchors: await pebbleRootsPem(bed.pebble) } },
    certificates: [{ id: ID, ca: 'pebble', domains: NAMES }],
  });
  // The first issuance validates both names: from then on this Pebble reuses their authorizations.
  const outcome = await bed.runtime(config).renew({ id: ID, reason: 'new' }, 'fresh-test');
  expect(outcome.result).toBe('renewed');
});

afterAll(async () => {
  await bed?.stop();
});

describe('deactivateAuthorizations (the bed against Pebble reusing valid authorizations)', () => {
  it('finds nothing to deactivate where no account is stored yet', async () => {
    const empty = await bed.createStack('fresh-empty');
    expect(await bed.deactivateAuthorizations(empty.bucket)).toEqual([]);
  });

  it('without it, a renewal of validated names answers no challenge: the flake the tests guard against', async () => {
    expect(await newOrderAuthorizations()).toEqual(['valid', 'valid']);
    expect(await renew()).toEqual({ methods: [], answered: 0 });
  });

  it('after it, a new order for the same names has only pending authorizations', async () => {
    expect((await bed.deactivateAuthorizations(bucket)).sort()).toEqual(['*.fresh.test', 'fresh.test']);
    expect(await newOrderAuthorizations()).toEqual(['pending', 'pending']);
  });

  it(`after it, every renewal answers a dns-01 challenge for every name (${ROUNDS} rounds)`, async () => {
    await bed.deactivateAuthorizations(bucket);
    for (let round = 0; round < ROUNDS; round++) {
      expect(await renew()).toEqual({ methods: ['dns-01'], answered: NAMES.length });
      // What that renewal validated is what the next call deactivates.
      expect((await bed.deactivateAuthorizations(bucket)).sort()).toEqual(['*.fresh.test', 'fresh.test']);
    }
    expect(await bed.deactivateAuthorizations(bucket)).toEqual([]);
  });
});
