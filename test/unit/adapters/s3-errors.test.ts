import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { isKmsAccessError } from '../../../functions/adapters/s3-errors';
import { S3Lease } from '../../../functions/adapters/s3-lease';
import { S3ScheduleIndexStore } from '../../../functions/adapters/s3-schedule-index';
import { S3CertificateStore } from '../../../functions/adapters/s3-store';
import { hasCode } from '../../../functions/core/errors';

// moto enforces no KMS permissions, so the answers S3 gives a caller without kms:Decrypt on an object's key are
// mocked here, in the shapes S3 sends them.
const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
const s3 = mockClient(client);
const retry = { sleep: async () => undefined, random: () => 0 };

function s3Error(name: string, message: string, status = 403): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', message, $metadata: { httpStatusCode: status } });
}

/** What S3 answers a GetObject of an SSE-KMS object when the caller's role has no kms:Decrypt on its key. */
const decryptDenied = s3Error(
  'AccessDenied',
  'User: arn:aws:sts::123456789012:assumed-role/scheduler/fn is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext because no identity-based policy allows the kms:Decrypt action',
);
/** S3's own code when the key is there but refuses the caller, or is disabled / pending deletion. */
const kmsCode = s3Error('KMS.AccessDeniedException', 'Access denied to the KMS key');
const kmsInvalidState = s3Error('KMS.KMSInvalidStateException', 'the key is pending deletion', 400);

/** `key` is the object's key, or a prefix of it (a certificate's four files are read at once). */
function expectKmsMessage(error: unknown, key: string): void {
  expect(hasCode(error, 'store-failed')).toBe(true);
  const message = (error as Error).message;
  expect(message.startsWith(`Reading s3://state/${key}`)).toBe(true);
  expect(message).toMatch(
    /^Reading s3:\/\/state\/\S+ failed: the object is encrypted with a KMS key this function cannot use \(/,
  );
  expect(message).toContain("set stateEncryption: 'kms' on the construct");
  expect(message).toContain('`acme-ari migrate-encryption --bucket state`');
  expect((error as Error).cause).toBeInstanceOf(S3ServiceException);
}

beforeEach(() => {
  s3.reset();
});

describe('a state-bucket read refused for its KMS key', () => {
  it('names the object, the reason and both fixes (state document, scheduler and renewer)', async () => {
    s3.on(GetObjectCommand).rejects(decryptDenied);
    const store = new S3CertificateStore({ bucket: 'state', client, retry });
    const error = await store.readState('www').catch((e: unknown) => e);
    expectKmsMessage(error, 'certificates/www/state.json');
    expect((error as Error).message).toContain('kms:Decrypt');
    // Not retried: the answer will not change until the grants or the object do.
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it.each([
    ['the inventory (store)', (s: S3CertificateStore) => s.loadInventory(), 'inventory.json'],
    [
      'a certificate (renewer, first import)',
      (s: S3CertificateStore) => s.getCertificate('www'),
      'certificates/www/',
    ],
    [
      'an account (key material)',
      (s: S3CertificateStore) => s.getAccount('https://ca.test/dir'),
      'accounts/',
    ],
  ])('maps S3’s KMS.* codes on %s', async (_what, read, key) => {
    s3.on(GetObjectCommand).rejects(kmsCode);
    const error = await read(new S3CertificateStore({ bucket: 'state', client, retry })).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toContain('cannot use (KMS.AccessDeniedException (HTTP 403): ');
    expectKmsMessage(error, key);
  });

  it('maps the scheduler’s conditional inventory read, the schedule index and a lease', async () => {
    s3.on(GetObjectCommand).rejects(kmsInvalidState);
    const index = new S3ScheduleIndexStore({ bucket: 'state', client, retry });
    expectKmsMessage(await index.readInventory('"etag"').catch((e: unknown) => e), 'inventory.json');
    expectKmsMessage(await index.loadIndex().catch((e: unknown) => e), 'schedule-index.json');
    const lease = new S3Lease({ bucket: 'state', client, retry });
    expectKmsMessage(
      await lease.release({ id: 'www', owner: 'me', expiresAt: new Date() }).catch((e: unknown) => e),
      'leases/www.json',
    );
  });

  it('leaves an S3 denial that names no KMS action as it was', async () => {
    const plain = s3Error(
      'AccessDenied',
      'User: x is not authorized to perform: s3:GetObject on resource: y',
    );
    expect(isKmsAccessError(plain)).toBe(false);
    expect(isKmsAccessError(decryptDenied)).toBe(true);
    expect(isKmsAccessError(kmsInvalidState)).toBe(true);
    expect(isKmsAccessError(new Error('kms: not from S3'))).toBe(false);
    s3.on(GetObjectCommand).rejects(plain);
    const error = await new S3CertificateStore({ bucket: 'state', client, retry })
      .readState('www')
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'Reading s3://state/certificates/www/state.json failed: AccessDenied (HTTP 403): User: x is not authorized to perform: s3:GetObject on resource: y',
    );
  });
});
