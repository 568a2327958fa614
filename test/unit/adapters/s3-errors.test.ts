import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { kmsReadFailure, kmsRefusal } from '../../../functions/adapters/s3-errors';
import { S3Lease } from '../../../functions/adapters/s3-lease';
import { S3ScheduleIndexStore } from '../../../functions/adapters/s3-schedule-index';
import { S3CertificateStore } from '../../../functions/adapters/s3-store';
import { readDeploymentWith } from '../../../functions/cli/target';
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
/** S3's own code when the key is there but refuses the caller. */
const kmsCode = s3Error('KMS.AccessDeniedException', 'Access denied to the KMS key');
/** S3's codes when no caller can use the key: disabled, pending deletion, gone. */
const kmsDisabled = s3Error('KMS.DisabledException', 'the key is disabled', 400);
const kmsNotFound = s3Error('KMS.NotFoundException', 'the key does not exist', 400);
const kmsInvalidState = s3Error('KMS.KMSInvalidStateException', 'the key is pending deletion', 400);
/** A KMS throttle S3 passes on: transient, not a key the caller cannot use. */
const kmsThrottled = s3Error('KMS.ThrottlingException', 'Rate exceeded', 503);

/** `key` is the object's key, or a prefix of it (a certificate's four files are read at once). */
function expectKmsMessage(error: unknown, key: string, reader = 'this function'): void {
  expect(hasCode(error, 'store-failed')).toBe(true);
  const message = (error as Error).message;
  expect(message.startsWith(`Reading s3://state/${key}`)).toBe(true);
  expect(message).toMatch(
    new RegExp(
      `^Reading s3://state/\\S+ failed: the object is encrypted with a KMS key ${reader} cannot use \\(`,
    ),
  );
  expect(message).toContain("set stateEncryption: 'kms' on the construct");
  expect(message).toContain('`acme-ari migrate-encryption --bucket state`');
  expect((error as Error).cause).toBeInstanceOf(S3ServiceException);
}

/** The message for a key no caller can use: the key's state is the fix, not a grant or the stateEncryption setting. */
function expectKeyStateMessage(error: unknown, key: string, code: string): void {
  expect(hasCode(error, 'store-failed')).toBe(true);
  const message = (error as Error).message;
  expect(message).toMatch(
    new RegExp(
      `^Reading s3://state/${key}\\S* failed: the KMS key that encrypts it is disabled, scheduled for deletion or deleted \\(${code} \\(HTTP 400\\): `,
    ),
  );
  expect(message).toContain('re-enable the key, or cancel its deletion');
  expect(message).not.toContain("set stateEncryption: 'kms'");
  expect(message).not.toContain('migrate-encryption');
  expect(message).not.toContain('cannot use');
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
    s3.on(GetObjectCommand).rejects(kmsCode);
    const index = new S3ScheduleIndexStore({ bucket: 'state', client, retry });
    expectKmsMessage(await index.readInventory('"etag"').catch((e: unknown) => e), 'inventory.json');
    expectKmsMessage(await index.loadIndex().catch((e: unknown) => e), 'schedule-index.json');
    const lease = new S3Lease({ bucket: 'state', client, retry });
    expectKmsMessage(
      await lease.release({ id: 'www', owner: 'me', expiresAt: new Date() }).catch((e: unknown) => e),
      'leases/www.json',
    );
  });

  it.each([
    ['KMS.DisabledException', kmsDisabled],
    ['KMS.NotFoundException', kmsNotFound],
    ['KMS.KMSInvalidStateException', kmsInvalidState],
  ])(
    'says the key is disabled or scheduled for deletion for %s (store, schedule index)',
    async (code, error) => {
      expect(kmsRefusal(error)).toBe('key-state');
      s3.on(GetObjectCommand).rejects(error);
      const store = new S3CertificateStore({ bucket: 'state', client, retry });
      expectKeyStateMessage(
        await store.readState('www').catch((e: unknown) => e),
        'certificates/www/state.json',
        code,
      );
      const index = new S3ScheduleIndexStore({ bucket: 'state', client, retry });
      expectKeyStateMessage(await index.loadIndex().catch((e: unknown) => e), 'schedule-index.json', code);
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(2);
    },
  );

  it('names these credentials, not this function, for the CLI’s own read of deployment.json', async () => {
    s3.on(GetObjectCommand).rejects(decryptDenied);
    const error = await readDeploymentWith(client, 'state').catch((e: unknown) => e);
    expectKmsMessage(error, 'deployment.json', 'these credentials');
    expect((error as Error).message).not.toContain('this function');
    expect(kmsReadFailure('state', 'k', kmsCode, 'this function')?.message).toContain(
      'a KMS key this function cannot use',
    );
  });

  it('passes a KMS throttle through unchanged: retried, then the plain read failure', async () => {
    expect(kmsRefusal(kmsThrottled)).toBeUndefined();
    expect(kmsReadFailure('state', 'inventory.json', kmsThrottled, 'this function')).toBeUndefined();
    // A throttle that clears: the read succeeds after the SDK-level retry.
    s3.on(GetObjectCommand)
      .rejectsOnce(kmsThrottled)
      .resolves({ Body: { transformToString: async () => '{"id":"www"}' } as never });
    const store = new S3CertificateStore({ bucket: 'state', client, retry });
    await expect(store.loadInventory()).resolves.toEqual({ id: 'www' });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(2);
    // One that does not: the caller sees S3's answer as it was, not a KMS-key diagnosis.
    s3.reset();
    s3.on(GetObjectCommand).rejects(kmsThrottled);
    const error = await store.readState('www').catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'Reading s3://state/certificates/www/state.json failed: KMS.ThrottlingException (HTTP 503): Rate exceeded',
    );
    expect((error as Error).cause).toBe(kmsThrottled);
  });

  it('leaves an S3 denial that names no KMS action as it was', async () => {
    const plain = s3Error(
      'AccessDenied',
      'User: x is not authorized to perform: s3:GetObject on resource: y',
    );
    expect(kmsRefusal(plain)).toBeUndefined();
    expect(kmsRefusal(kmsInvalidState)).toBe('key-state');
    expect(kmsRefusal(decryptDenied)).toBe('access');
    expect(kmsRefusal(kmsCode)).toBe('access');
    expect(kmsRefusal(new Error('kms: not from S3'))).toBeUndefined();
    s3.on(GetObjectCommand).rejects(plain);
    const error = await new S3CertificateStore({ bucket: 'state', client, retry })
      .readState('www')
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      'Reading s3://state/certificates/www/state.json failed: AccessDenied (HTTP 403): User: x is not authorized to perform: s3:GetObject on resource: y',
    );
  });
});
