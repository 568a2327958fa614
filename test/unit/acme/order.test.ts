import { describe, expect, it } from 'vitest';
import { AcmeClient } from '../../../functions/core/acme/client';
import { createAccountKey } from '../../../functions/core/acme/jws';
import { placeOrder, replacementRejection } from '../../../functions/core/acme/order';
import { ACME_ERROR_PREFIX, AcmeProblemError, RateLimitedError } from '../../../functions/core/acme/problem';
import { AcmeTransport } from '../../../functions/core/acme/transport';
import { AcmeAwsError } from '../../../functions/core/errors';
import { DIRECTORY_URL, defaultDirectory, FakeCa, json, ORIGIN, problem } from './fake-ca';

const INCIDENT_DETAIL = 'While validating order as a replacement and error occurred';
const problemError = (status: number, type: string, detail: string) =>
  new AcmeProblemError({ type: `${ACME_ERROR_PREFIX}${type}`, status, detail }, 'POST https://ca.test/order');

const rateLimited = new RateLimitedError(
  { type: `${ACME_ERROR_PREFIX}rateLimited`, status: 429, detail: 'too many replacement orders' },
  'x',
  undefined,
);

describe('replacementRejection: every CA rejection but a rate limit or badNonce drops replaces once', () => {
  it.each<[status: number, type: string, detail: string]>([
    [409, 'alreadyReplaced', 'certificate already replaced'],
    [409, 'malformed', 'cannot replace a certificate twice'], // Pebble 2.6 on a second replacement
    [500, 'serverInternal', INCIDENT_DETAIL], // the lego v4.16.0 incident
    [503, 'serverInternal', 'down'], // without Retry-After: not a RateLimitedError
    [400, 'malformed', 'the replaces field does not identify a known certificate'],
    [400, 'malformed', 'unknown issuer key identifier'], // the CA changed intermediates
    [404, 'malformed', 'certificate not found'],
    [403, 'unauthorized', 'certificate was issued to another account'],
    [403, 'alreadyReplaced', 'nope'],
    [400, 'rejectedIdentifier', 'example.invalid is forbidden'],
    [400, 'malformed', 'identifiers are empty'],
    [401, 'accountDoesNotExist', 'no such account'],
  ])('%i %s ("%s") → retried without replaces', (status, type, detail) => {
    expect(replacementRejection(problemError(status, type, detail))).toBe(`${status} ${type}: ${detail}`);
  });

  it.each<[string, unknown]>([
    ['rateLimited (RateLimitedError, 429)', rateLimited],
    ['rateLimited as a plain problem under 403', problemError(403, 'rateLimited', 'weekly limit')],
    ['a bare 429', new AcmeProblemError({ status: 429, detail: 'slow down' }, 'x')],
    ['badNonce (the transport already retried it)', problemError(400, 'badNonce', 'stale nonce')],
    ['a non-problem error', new AcmeAwsError('acme-protocol', 'newOrder answered without a Location')],
    ['a network error', new TypeError('fetch failed')],
  ])('%s → not retried', (_, error) => {
    expect(replacementRejection(error)).toBeUndefined();
  });

  it('a problem without a type reads "unknown", and a long multi-line detail is bounded to one line', () => {
    expect(replacementRejection(new AcmeProblemError({ status: 503, detail: 'down' }, 'x'))).toBe(
      '503 unknown: down',
    );
    const reason = replacementRejection(problemError(400, 'malformed', `a\nb ${'x'.repeat(500)}`))!;
    expect(reason).toMatch(/^400 malformed: a b x+$/);
    expect(reason.length).toBeLessThanOrEqual('400 malformed: '.length + 200);
  });
});

const NAMES = ['example.com', '*.example.com'];
const orderBody = (names = NAMES, extra: Record<string, unknown> = {}) => ({
  status: 'pending',
  identifiers: names.map((value) => ({ type: 'dns', value })),
  authorizations: [`${ORIGIN}/authz/1`],
  finalize: `${ORIGIN}/finalize/1`,
  ...extra,
});

async function clientFor(ca: FakeCa): Promise<AcmeClient> {
  const transport = new AcmeTransport({
    directoryUrl: DIRECTORY_URL,
    fetch: ca.fetch,
    clock: { now: () => new Date('2025-06-01T12:00:00Z') },
    sleep: async () => {},
  });
  const { key } = await createAccountKey();
  return new AcmeClient(transport, key, `${ORIGIN}/acct/1`);
}

describe('placeOrder', () => {
  it('sends replaces and reports it accepted', async () => {
    const ca = new FakeCa().on('/order', () => json(orderBody(), 201, { location: `${ORIGIN}/o/1` }));
    const placed = await placeOrder(await clientFor(ca), { names: NAMES, replaces: 'aki.serial' });
    expect(placed).toMatchObject({ url: `${ORIGIN}/o/1`, replaced: 'aki.serial', notes: [] });
    expect(placed.replacesDropped).toBeUndefined();
    expect(ca.to('/order', 'POST')[0]!.payload).toEqual({
      identifiers: NAMES.map((value) => ({ type: 'dns', value })),
      replaces: 'aki.serial',
    });
  });

  it('retries once without replaces after the 500 incident and records why', async () => {
    const ca = new FakeCa().on('/order', (request) =>
      (request.payload as { replaces?: string }).replaces
        ? problem(500, 'serverInternal', INCIDENT_DETAIL)
        : json(orderBody(), 201, { location: `${ORIGIN}/o/2` }),
    );
    const placed = await placeOrder(await clientFor(ca), { names: NAMES, replaces: 'aki.serial' });
    const posts = ca.to('/order', 'POST');
    expect(posts).toHaveLength(2);
    expect(posts[0]!.payload).toHaveProperty('replaces', 'aki.serial');
    expect(posts[1]!.payload).not.toHaveProperty('replaces');
    expect(placed.url).toBe(`${ORIGIN}/o/2`);
    expect(placed.replaced).toBeUndefined();
    expect(placed.replacesDropped).toBe(`500 serverInternal: ${INCIDENT_DETAIL}`);
    expect(placed.notes.join('\n')).toContain('ordered again without replaces');
  });

  it.each<[status: number, type: string, detail: string]>([
    [400, 'malformed', 'unknown issuer key identifier'],
    [404, 'malformed', 'no certificate with this serial'],
    [403, 'unauthorized', 'certificate belongs to another account'],
    [409, 'alreadyReplaced', 'already replaced'],
    [500, 'serverInternal', INCIDENT_DETAIL],
  ])(
    'a replacement order answered %i %s is placed again without replaces, and the reason recorded',
    async (status, type, detail) => {
      const ca = new FakeCa().on('/order', (request) =>
        (request.payload as { replaces?: string }).replaces
          ? problem(status, type, detail)
          : json(orderBody(), 201, { location: `${ORIGIN}/o/9` }),
      );
      const placed = await placeOrder(await clientFor(ca), { names: NAMES, replaces: 'aki.serial' });
      expect(ca.to('/order', 'POST').map((p) => (p.payload as { replaces?: string }).replaces)).toEqual([
        'aki.serial',
        undefined,
      ]);
      expect(placed.url).toBe(`${ORIGIN}/o/9`);
      expect(placed.replaced).toBeUndefined();
      expect(placed.replacesDropped).toBe(`${status} ${type}: ${detail}`);
      expect(placed.notes).toEqual([
        `the CA rejected the replacement order (${status} ${type}: ${detail}); ordered again without replaces`,
      ]);
    },
  );

  it('a rate-limited replacement order is not placed again: the renewal is deferred', async () => {
    const ca = new FakeCa().on('/order', () => problem(429, 'rateLimited', 'too many new orders'));
    await expect(
      placeOrder(await clientFor(ca), { names: NAMES, replaces: 'aki.serial' }),
    ).rejects.toBeInstanceOf(RateLimitedError);
    expect(ca.to('/order', 'POST')).toHaveLength(1);
  });

  it('fails when the order without replaces fails too, with that second problem', async () => {
    const ca = new FakeCa().on('/order', (request) =>
      (request.payload as { replaces?: string }).replaces
        ? problem(500, 'serverInternal', INCIDENT_DETAIL)
        : problem(503, 'serverInternal', 'down for maintenance'),
    );
    await expect(placeOrder(await clientFor(ca), { names: NAMES, replaces: 'aki.serial' })).rejects.toThrow(
      /down for maintenance/,
    );
    expect(ca.to('/order', 'POST')).toHaveLength(2);
  });

  it('omits replaces when the CA does not advertise renewalInfo, and says so', async () => {
    const ca = new FakeCa().on('/order', () => json(orderBody(), 201, { location: `${ORIGIN}/o/3` }));
    const { renewalInfo: _none, ...withoutAri } = defaultDirectory();
    ca.directory = withoutAri;
    const placed = await placeOrder(await clientFor(ca), { names: NAMES, replaces: 'aki.serial' });
    expect(ca.to('/order', 'POST')[0]!.payload).not.toHaveProperty('replaces');
    expect(placed.replaced).toBeUndefined();
    expect(placed.notes).toEqual(['the CA does not advertise renewalInfo; ordered without replaces']);
  });

  it('sends an advertised profile and drops an unknown one with a note', async () => {
    const ca = new FakeCa().on('/order', () => json(orderBody(), 201, { location: `${ORIGIN}/o/4` }));
    ca.directory = defaultDirectory({ meta: { profiles: { classic: 'the usual', shortlived: '6 days' } } });
    const client = await clientFor(ca);
    await placeOrder(client, { names: NAMES, profile: 'shortlived' });
    const dropped = await placeOrder(client, { names: NAMES, profile: 'tlsserver' });
    const posts = ca.to('/order', 'POST');
    expect(posts[0]!.payload).toHaveProperty('profile', 'shortlived');
    expect(posts[1]!.payload).not.toHaveProperty('profile');
    expect(dropped.notes[0]).toMatch(
      /profile "tlsserver" is not advertised by the CA \(classic, shortlived\)/,
    );
  });

  it('refuses an order the CA created for other names', async () => {
    const ca = new FakeCa().on('/order', () =>
      json(orderBody(['example.com', 'other.example.net']), 201, { location: `${ORIGIN}/o/5` }),
    );
    await expect(placeOrder(await clientFor(ca), { names: NAMES })).rejects.toThrow(
      /the CA created an order for example.com, other.example.net instead of example.com, \*.example.com/,
    );
  });

  it('refuses an order without a Location', async () => {
    const ca = new FakeCa().on('/order', () => json(orderBody(), 201));
    await expect(placeOrder(await clientFor(ca), { names: NAMES })).rejects.toThrow(/without a Location/);
  });
});
