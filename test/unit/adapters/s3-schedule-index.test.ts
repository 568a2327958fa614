import { Readable } from 'node:stream';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { S3ScheduleIndexStore } from '../../../functions/adapters/s3-schedule-index';
import { emptyScheduleIndex } from '../../../functions/core/renewal/schedule-index';

const s3 = mockClient(S3Client);
afterAll(() => s3.restore());
beforeEach(() => s3.reset());

const store = () =>
  new S3ScheduleIndexStore({
    bucket: 'state',
    client: new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
  });

/** An object body as S3 streams it: `bytes` cut into `size`-byte chunks (a character may straddle two). */
function answer(bytes: Buffer, size: number) {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return { Body: Readable.from(chunks) as never, ContentLength: bytes.length, ETag: '"v1"' };
}

describe('S3ScheduleIndexStore reads its large objects chunk by chunk', () => {
  it('reads an inventory whose names straddle chunk boundaries exactly as written', async () => {
    const inventory = {
      certificates: Array.from({ length: 200 }, (_, i) => ({
        id: `c-${i}`,
        domains: [`bücher-${i}.example`],
      })),
    };
    s3.on(GetObjectCommand).resolves(answer(Buffer.from(JSON.stringify(inventory)), 7));
    expect(await store().readInventory(undefined)).toEqual({ value: inventory, etag: '"v1"' });
  });

  it('rejects an inventory that starts with a byte-order mark, as before, naming the object', async () => {
    s3.on(GetObjectCommand).resolves(answer(Buffer.from('\uFEFF{"certificates":[]}'), 4));
    await expect(store().readInventory(undefined)).rejects.toThrow(
      /s3:\/\/state\/inventory\.json is not valid JSON/,
    );
  });

  it('reads back the index it wrote', async () => {
    let written: Buffer | undefined;
    s3.on(PutObjectCommand).callsFake((input: { Body: Buffer }) => {
      written = Buffer.from(input.Body);
      return { ETag: '"v2"' };
    });
    const index = { ...emptyScheduleIndex(new Date('2026-12-01T00:00:00Z')), ids: ['é'], hashes: ['h'] };
    expect(await store().saveIndex(index as never, undefined)).toBe(true);
    s3.on(GetObjectCommand).resolves(answer(written!, 3));
    expect(await store().loadIndex()).toEqual({ value: JSON.parse(JSON.stringify(index)), etag: '"v1"' });
  });
});
