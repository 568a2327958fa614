import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { awsTestConfig, type MotoServer, startMoto } from '../../testbed/moto';

/** What {@link useMotoBucket} gives a test file; read its fields inside tests or hooks, once moto is up. */
export interface MotoBucket {
  readonly moto: MotoServer;
  readonly s3: S3Client;
}

/**
 * Starts moto once for the calling test file and, before each test, resets it and creates `bucket` again, so
 * every test starts from an empty bucket.
 */
export function useMotoBucket(bucket: string): MotoBucket {
  let started: MotoBucket | undefined;
  beforeAll(async () => {
    const moto = await startMoto();
    started = { moto, s3: new S3Client(awsTestConfig(moto.endpoint)) };
  });
  afterAll(async () => {
    await started?.moto.stop();
  });
  beforeEach(async () => {
    await started!.moto.reset();
    await started!.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  });
  const get = () => {
    if (!started) throw new Error('useMotoBucket: moto is not started yet (read it inside a test or hook)');
    return started;
  };
  return {
    get moto() {
      return get().moto;
    },
    get s3() {
      return get().s3;
    },
  };
}
