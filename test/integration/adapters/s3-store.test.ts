import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Lease } from '../../../functions/adapters/s3-lease';
import { S3CertificateStore, storeKeys } from '../../../functions/adapters/s3-store';
import { AcmeAwsError, hasCode } from '../../../functions/core/errors';
import type { StoredAccount } from '../../../functions/core/renewal/ports';
import { type CertificateState, emptyState } from '../../../functions/core/renewal/state';
import { useMotoBucket } from '../../support/moto-bucket';

const bucket = 'acme-state';
const aws = useMotoBucket(bucket);

const store = () => new S3CertificateStore({ bucket, client: aws.s3 });
const lease = () => new S3Lease({ bucket, client: aws.s3 });

async function body(key: string): Promise<string> {
  const out = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

const files = {
  certPem: '-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n',
  chainPem: '-----BEGIN CERTIFICATE-----\nintermediate\n-----END CERTIFICATE-----\n',
  fullchainPem: 'leaf+intermediate',
  privateKeyPem: '-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n',
};

const state: CertificateState = {
  ...emptyState('www'),
  configHash: 'abc',
  current: {
    serial: '0a1b',
    notBefore: '2026-01-01T00:00:00.000Z',
    notAfter: '2026-02-15T00:00:00.000Z',
    domains: ['www.example.com'],
    keyType: 'ec-p256',
    issuer: 'Pebble Intermediate CA',
    directoryUrl: 'https://ca.test/dir',
    accountUrl: 'https://ca.test/acct/1',
    issuedAt: '2026-01-01T00:00:00.000Z',
  },
  acm: {
    'us-east-1': {
      arn: 'arn:aws:acm:us-east-1:123456789012:certificate/x',
      serial: '0a1b',
      keyType: 'ec-p256',
    },
  },
  failures: 2,
};

describe('S3CertificateStore against moto', () => {
  it('round-trips certificates, state, pending keys and the inventory under the documented keys', async () => {
    const s = store();
    expect(await s.getCertificate('www')).toBeUndefined();
    expect(await s.getState('www')).toBeUndefined();
    expect(await s.loadInventory()).toBeUndefined();

    await s.putCertificate('www', files);
    await s.putStateIf('www', state, undefined);
    await s.putPendingKey('www', 'pending-key');
    await aws.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'inventory.json', Body: '{"certificates":[]}' }),
    );

    expect(await s.getCertificate('www')).toEqual(files);
    expect(await s.getState('www')).toEqual(state);
    expect(await s.getPendingKey('www')).toBe('pending-key');
    expect(await s.loadInventory()).toEqual({ certificates: [] });
    expect(await body('certificates/www/privkey.pem')).toBe(files.privateKeyPem);
    expect(await body('certificates/www/fullchain.pem')).toBe(files.fullchainPem);
    expect(JSON.parse(await body('certificates/www/state.json'))).toMatchObject({ id: 'www', failures: 2 });

    await s.deletePendingKey('www');
    await s.deletePendingKey('www'); // Deleting twice is fine: a retried renewal does exactly that.
    expect(await s.getPendingKey('www')).toBeUndefined();
  });

  it('encrypts private keys with the configured KMS key', async () => {
    const s = new S3CertificateStore({ bucket, client: aws.s3, keyMaterialKmsKeyId: 'alias/acme-state' });
    await s.putCertificate('www', files);
    await s.putPendingKey('www', 'pending');
    const head = (key: string) => aws.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    expect(await head('certificates/www/privkey.pem')).toMatchObject({ ServerSideEncryption: 'aws:kms' });
    expect(await head('certificates/www/pending-key.pem')).toMatchObject({ ServerSideEncryption: 'aws:kms' });
    expect((await head('certificates/www/cert.pem')).ServerSideEncryption).not.toBe('aws:kms');
  });

  it.each([
    ['truncated JSON', '{"version":1,"id":"www"'],
    ['a schema violation', JSON.stringify({ version: 2, id: 'www' })],
  ])('rejects a corrupt state document (%s) with store-failed naming the key', async (_, corrupt) => {
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: storeKeys.state('www'), Body: corrupt }));
    const error = await store()
      .getState('www')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeAwsError);
    expect(hasCode(error, 'store-failed')).toBe(true);
    expect((error as Error).message).toContain('s3://acme-state/certificates/www/state.json');
  });

  it('rejects an inventory that is not JSON as config-invalid', async () => {
    await aws.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'inventory.json', Body: 'certificates: []' }),
    );
    await expect(store().loadInventory()).rejects.toSatisfy((e) => hasCode(e, 'config-invalid'));
  });

  it('stores one ACME account per directory; a second first run gets the winner back', async () => {
    const directoryUrl = 'https://acme.test/directory';
    const first: StoredAccount = {
      directoryUrl,
      accountUrl: 'https://acme.test/acct/1',
      privateJwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' },
      createdAt: '2026-01-01T00:00:00.000Z',
    };
    const second: StoredAccount = { ...first, accountUrl: 'https://acme.test/acct/2' };
    const s = store();

    expect(await s.getAccount(directoryUrl)).toBeUndefined();
    expect(await s.putAccount(first)).toEqual(first);
    expect(await s.putAccount(second)).toEqual(first);
    expect(await s.getAccount(directoryUrl)).toEqual(first);
    expect(storeKeys.account(directoryUrl)).toMatch(/^accounts\/[0-9a-f]{16}\.json$/);
    expect(await s.getAccount('https://other.test/directory')).toBeUndefined();
  });
});

describe('conditional state writes against moto (the bed enforces If-Match, as S3 does)', () => {
  const rawPut = (extra: { IfMatch?: string; IfNoneMatch?: string }, body = '{}') =>
    aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: storeKeys.state('www'), Body: body, ...extra }));
  const statusOf = (error: unknown) =>
    (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

  it('PutObject with a stale If-Match answers 412, with the current ETag 200, on a missing key 404', async () => {
    const first = await rawPut({}, '{"v":1}');
    const second = await rawPut({ IfMatch: first.ETag! }, '{"v":2}');
    expect(second.ETag).not.toBe(first.ETag);
    const stale = await rawPut({ IfMatch: first.ETag! }, '{"v":3}').catch((e: unknown) => e);
    expect(statusOf(stale)).toBe(412);
    expect((stale as Error).name).toBe('PreconditionFailed');
    expect(JSON.parse(await body(storeKeys.state('www')))).toEqual({ v: 2 });
    const gone = await aws.s3
      .send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'certificates/none/state.json',
          Body: '{}',
          IfMatch: first.ETag!,
        }),
      )
      .catch((e: unknown) => e);
    expect(statusOf(gone)).toBe(404);
  });

  it('of many writers holding the same ETag exactly one wins', async () => {
    const { ETag } = await rawPut({}, '{"v":0}');
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => rawPut({ IfMatch: ETag! }, JSON.stringify({ v: i + 1 }))),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(
      results
        .filter((r) => r.status === 'rejected')
        .map((r) => statusOf((r as PromiseRejectedResult).reason)),
    ).toEqual(Array(7).fill(412));
  });

  it('putStateIf writes at the ETag read, refuses a stale one and a second first write with state-conflict', async () => {
    const s = store();
    expect(await s.readState('www')).toBeUndefined();
    const created = await s.putStateIf('www', state, undefined);
    const again = await s.putStateIf('www', state, undefined).catch((e: unknown) => e);
    expect(hasCode(again, 'state-conflict')).toBe(true);

    const read = (await s.readState('www'))!;
    expect(read).toEqual({ state, etag: created });
    const next = await s.putStateIf('www', { ...read.state, failures: 3 }, read.etag);
    expect(next).not.toBe(created);
    const stale = await s
      .putStateIf('www', { ...read.state, failures: 9 }, read.etag)
      .catch((e: unknown) => e);
    expect(hasCode(stale, 'state-conflict')).toBe(true);
    expect((stale as Error).message).toMatch(/changed since it was read.*decide again/);
    expect((await s.getState('www'))?.failures).toBe(3);
  });
});

describe('S3Lease against moto', () => {
  const now = new Date('2026-03-01T12:00:00.000Z');
  const later = (ms: number) => new Date(now.getTime() + ms);

  it('refuses a second acquire while the first holder is live', async () => {
    const held = await lease().acquire('www', 'renewer-a', 60_000, now);
    expect(held).toEqual({
      id: 'www',
      owner: 'renewer-a',
      expiresAt: later(60_000),
      version: expect.any(String),
    });
    expect(await lease().acquire('www', 'renewer-b', 60_000, later(30_000))).toBeUndefined();
    // Another certificate is independent.
    expect(await lease().acquire('api', 'renewer-b', 60_000, now)).toMatchObject({ owner: 'renewer-b' });
  });

  it('takes over an expired lease', async () => {
    await lease().acquire('www', 'renewer-a', 60_000, now);
    const taken = await lease().acquire('www', 'renewer-b', 60_000, later(61_000));
    expect(taken).toMatchObject({ owner: 'renewer-b' });
    expect(JSON.parse(await body('leases/www.json'))).toMatchObject({ owner: 'renewer-b' });
  });

  it('ignores a release by a non-owner and frees the lease on release by the owner', async () => {
    const held = await lease().acquire('www', 'renewer-a', 60_000, now);
    await lease().release({ id: 'www', owner: 'renewer-b', expiresAt: later(60_000) });
    expect(await lease().acquire('www', 'renewer-c', 60_000, later(1_000))).toBeUndefined();

    await lease().release(held!);
    expect(await lease().acquire('www', 'renewer-c', 60_000, later(1_000))).toMatchObject({
      owner: 'renewer-c',
    });
    // Releasing a lease that is no longer ours (taken over) leaves the new holder in place: with the version it
    // was written at (no read), and without it (read first).
    await lease().release(held!);
    await lease().release({ ...held!, version: undefined });
    expect(JSON.parse(await body('leases/www.json'))).toMatchObject({ owner: 'renewer-c' });
  });

  it('lets exactly one of many concurrent renewers win', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => lease().acquire('www', `renewer-${i}`, 60_000, now)),
    );
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
  });
});
