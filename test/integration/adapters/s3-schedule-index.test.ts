import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3ScheduleIndexStore } from '../../../functions/adapters/s3-schedule-index';
import { storeKeys } from '../../../functions/adapters/s3-store';
import { emptyScheduleIndex, parseScheduleIndex } from '../../../functions/core/renewal/schedule-index';
import { useMotoBucket } from '../../support/moto-bucket';

const bucket = 'acme-index';
const NOW = new Date('2026-12-01T10:00:00.000Z');
const aws = useMotoBucket(bucket);

const store = () => new S3ScheduleIndexStore({ bucket, client: aws.s3 });

describe('S3ScheduleIndexStore against moto', () => {
  it('writes a first index once, then only over the version it read', async () => {
    const index = {
      ...emptyScheduleIndex(NOW),
      ids: ['a'],
      hashes: ['h'],
      lookAt: [NOW.getTime()],
      notAfter: [NOW.getTime() + 6 * 86_400_000],
      notBefore: [NOW.getTime()],
      ariAt: [null],
    };
    expect(await store().loadIndex()).toBeUndefined();
    expect(await store().saveIndex(index, undefined)).toBe(true);
    // A second "first" write loses: another pass already wrote one.
    expect(await store().saveIndex(emptyScheduleIndex(NOW), undefined)).toBe(false);
    const loaded = (await store().loadIndex())!;
    expect(parseScheduleIndex(loaded.value)).toEqual(index);
    expect(await store().saveIndex(emptyScheduleIndex(NOW), loaded.etag)).toBe(true);
    expect(parseScheduleIndex((await store().loadIndex())!.value)?.ids).toEqual([]);
  });

  it('a damaged index loads as nothing to parse, so the pass rebuilds it', async () => {
    await aws.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: storeKeys.scheduleIndex, Body: '{"version":1,' }),
    );
    const loaded = (await store().loadIndex())!;
    expect(parseScheduleIndex(loaded.value)).toBeUndefined();
    expect(loaded.etag).toMatch(/\S/);
  });

  it('reads the inventory with its ETag, then answers unchanged (304, no body) until it is rewritten', async () => {
    expect(await store().readInventory(undefined)).toEqual({ value: undefined });
    const put = (body: unknown) =>
      aws.s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: storeKeys.inventory, Body: JSON.stringify(body) }),
      );
    await put({ certificates: [{ id: 'a' }] });
    const first = await store().readInventory(undefined);
    expect(first).toMatchObject({
      value: { certificates: [{ id: 'a' }] },
      etag: expect.stringMatching(/\S/),
    });
    const etag = (first as { etag: string }).etag;
    expect(await store().readInventory(etag)).toEqual({ unchanged: true });
    await put({ certificates: [{ id: 'a' }, { id: 'b' }] });
    const changed = await store().readInventory(etag);
    expect(changed).toMatchObject({ value: { certificates: [{ id: 'a' }, { id: 'b' }] } });
    expect((changed as { etag: string }).etag).not.toBe(etag);
  });

  it('an inventory that is not JSON is a configuration error naming the object', async () => {
    await aws.s3.send(new PutObjectCommand({ Bucket: bucket, Key: storeKeys.inventory, Body: '{"cas":' }));
    await expect(store().readInventory(undefined)).rejects.toMatchObject({
      code: 'config-invalid',
      message: expect.stringContaining('inventory.json is not valid JSON'),
    });
  });

  it('lists every change marker, also past one page, and clears one only at the version listed', async () => {
    const ids = Array.from({ length: 1005 }, (_, i) => `c${String(i).padStart(4, '0')}`);
    for (const id of ids) await store().markChanged(id);
    const listed = await store().listChanged();
    expect(listed.map((m) => m.id).sort()).toEqual(ids);
    const first = listed.find((m) => m.id === 'c0000')!;
    await store().markChanged('c0000');
    // The renewer marked it again after the list: the newer marker must survive the scheduler's clear.
    await store().clearChanged(first);
    const second = listed.find((m) => m.id === 'c0001')!;
    await store().clearChanged(second);
    const after = (await store().listChanged()).map((m) => m.id);
    expect(after).toContain('c0000');
    expect(after).not.toContain('c0001');
  });
});
