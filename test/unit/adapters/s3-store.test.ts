import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3Lease } from '../../../functions/adapters/s3-lease';
import { S3CertificateStore } from '../../../functions/adapters/s3-store';
import { hasCode } from '../../../functions/core/errors';

const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const s3 = mockClient(client);
const retry = { sleep: async () => undefined, random: () => 0 };

function serverError(status: number, name: string): S3ServiceException {
  return new S3ServiceException({
    name,
    $fault: 'server',
    message: `${name}`,
    $metadata: { httpStatusCode: status },
  });
}

const files = { certPem: 'c', chainPem: 'ch', fullchainPem: 'f', privateKeyPem: 'secret-key' };

beforeEach(() => {
  s3.reset();
});

describe('S3CertificateStore faults', () => {
  it('turns a 500 into store-failed naming bucket and key', async () => {
    s3.on(GetObjectCommand).rejects(serverError(500, 'InternalError'));
    const store = new S3CertificateStore({ bucket: 'state', client, retry });
    const error = await store.getState('www').catch((e: unknown) => e);
    expect(hasCode(error, 'store-failed')).toBe(true);
    expect((error as Error).message).toContain('s3://state/certificates/www/state.json');
    expect((error as Error).message).toContain('InternalError (HTTP 500)');
  });

  it('retries SlowDown (503) and then succeeds', async () => {
    s3.on(PutObjectCommand).rejectsOnce(serverError(503, 'SlowDown')).resolves({});
    const store = new S3CertificateStore({ bucket: 'state', client, retry });
    await store.putPendingKey('www', 'pending');
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(2);
  });

  it('writes private keys with SSE-KMS when a key is configured, and public files with the bucket default', async () => {
    s3.on(PutObjectCommand).resolves({});
    const store = new S3CertificateStore({
      bucket: 'state',
      client,
      keyMaterialKmsKeyId: 'alias/acme',
      retry,
    });
    await store.putCertificate('www', files);
    const puts = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    // The key is written first, so no reader finds a new certificate next to an old key.
    expect(puts[0]).toMatchObject({
      Key: 'certificates/www/privkey.pem',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: 'alias/acme',
    });
    for (const put of puts.slice(1)) expect(put.ServerSideEncryption).toBeUndefined();
    expect(puts.map((p) => p.Key).sort()).toEqual([
      'certificates/www/cert.pem',
      'certificates/www/chain.pem',
      'certificates/www/fullchain.pem',
      'certificates/www/privkey.pem',
    ]);
  });

  it('turns a 500 on the lease into store-failed instead of pretending the lease is held', async () => {
    s3.on(PutObjectCommand).rejects(serverError(500, 'InternalError'));
    const lease = new S3Lease({ bucket: 'state', client, retry });
    await expect(lease.acquire('www', 'me', 60_000, new Date('2026-01-01T00:00:00Z'))).rejects.toSatisfy(
      (e) => hasCode(e, 'store-failed'),
    );
  });
});
