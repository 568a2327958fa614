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

describe('replacementRejection', () => {
  it.each<[string, unknown, string | undefined]>([
    [
      '409 alreadyReplaced (Let’s Encrypt, newer Pebble)',
      problemError(409, 'alreadyReplaced', 'certificate already replaced'),
      '409 alreadyReplaced: certificate already replaced',
    ],
    [
      '409 malformed (Pebble 2.6 on a second replacement)',
      problemError(409, 'malformed', 'cannot replace a certificate twice'),
      '409 malformed: cannot replace a certificate twice',
    ],
    [
      '500 serverInternal, the lego v4.16.0 incident',
      problemError(500, 'serverInternal', INCIDENT_DETAIL),
      `500 serverInternal: ${INCIDENT_DETAIL}`,
    ],
    [
      '503 without a problem type',
      new AcmeProblemError({ status: 503, detail: 'down' }, 'x'),
      '503 unknown: down',
    ],
    [
      '400 malformed about replaces',
      problemError(400, 'malformed', 'the replaces field does not identify a known certificate'),
      '400 malformed: the replaces field does not identify a known certificate',
    ],
    [
      '403 alreadyReplaced whatever the detail',
      problemError(403, 'alreadyReplaced', 'nope'),
      '403 alreadyReplaced: nope',
    ],
    [
      '400 rejectedIdentifier',
      problemError(400, 'rejectedIdentifier', 'example.invalid is forbidden'),
      undefined,
    ],
    ['403 unauthorized', problemError(403, 'unauthorized', 'account is not authorized'), undefined],
    [
      '400 malformed about something else',
      problemError(400, 'malformed', 'identifiers are empty'),
      undefined,
    ],
    [
      'rateLimited (RateLimitedError)',
      new RateLimitedError(
        { type: `${ACME_ERROR_PREFIX}rateLimited`, status: 429, detail: 'too many replacement orders' },
        'x',
        undefined,
      ),
      undefined,
    ],
    ['rateLimited as a plain problem', problemError(429, 'rateLimited', 'too many new orders'), undefined],
    [
      'a non-problem error',
      new AcmeAwsError('acme-protocol', 'newOrder answered without a Location'),
      undefined,
    ],
    ['a network error', new TypeError('fetch failed'), undefined],
  ])('%s', (_, error, expected) => {
    expect(replacementRejection(error)).toBe(expected);
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

  it('does not retry a rejection that has nothing to do with replaces', async () => {
    const ca = new FakeCa().on('/order', () => problem(400, 'rejectedIdentifier', 'forbidden name'));
    await expect(placeOrder(await clientFor(ca), { names: NAMES, replaces: 'aki.serial' })).rejects.toThrow(
      /rejectedIdentifier \(HTTP 400\): forbidden name/,
    );
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
