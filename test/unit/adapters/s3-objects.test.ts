import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { S3Objects } from '../../../functions/adapters/s3-objects';
import { S3ScheduleIndexStore } from '../../../functions/adapters/s3-schedule-index';
import { S3CertificateStore } from '../../../functions/adapters/s3-store';

// moto enforces no KMS permissions: S3's answer to a caller without kms:Decrypt is mocked, in the shape S3 sends it.
const s3 = mockClient(S3Client);
afterAll(() => s3.restore());
s3.on(GetObjectCommand).rejects(
  new S3ServiceException({
    name: 'AccessDenied',
    $fault: 'client',
    message:
      'User: arn:aws:iam::123456789012:user/operator is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext',
    $metadata: { httpStatusCode: 403 },
  }),
);

const credentials = { accessKeyId: 'a', secretAccessKey: 'b' };
const newClient = () => new S3Client({ region: 'us-east-1', credentials });
const message = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: unknown) => (e as Error).message,
  );

describe('S3Objects names who was refused a KMS key', () => {
  it('says "this function" by default, the Lambda adapters’ reader', async () => {
    const objects = new S3Objects(newClient(), 'state', 'store-failed');
    expect(objects.reader).toBe('this function');
    expect(await message(objects.get('inventory.json'))).toContain('a KMS key this function cannot use');
  });

  it('says "these credentials" when told so, with the operator’s own grant as the first fix', async () => {
    const objects = new S3Objects(newClient(), 'state', 'store-failed', {}, 'these credentials');
    const text = await message(objects.get('inventory.json'));
    expect(text).toMatch(
      /^Reading s3:\/\/state\/inventory\.json failed: the object is encrypted with a KMS key these credentials cannot use \(/,
    );
    expect(text).toContain('give them kms:Decrypt on that key');
    expect(text).not.toContain('this function');
  });

  it('the store, index and lease adapters pass the reader they are given on to their reads', async () => {
    const client = newClient();
    const kmsReader = 'these credentials' as const;
    const store = new S3CertificateStore({ bucket: 'state', client, kmsReader });
    const index = new S3ScheduleIndexStore({ bucket: 'state', client, kmsReader });
    for (const read of [store.readState('www'), store.loadInventory(), index.loadIndex()]) {
      const text = await message(read);
      expect(text).toContain('a KMS key these credentials cannot use');
      expect(text).not.toContain('this function');
    }
    // Not told: the Lambda wording, whatever another adapter on the same client was told.
    expect(await message(new S3CertificateStore({ bucket: 'state', client }).loadInventory())).toContain(
      'a KMS key this function cannot use',
    );
  });
});
