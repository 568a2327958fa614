import { describe, expect, it } from 'vitest';
import { hasCode } from '../../../../functions/core/errors';
import { type CertificateState, emptyState } from '../../../../functions/core/renewal/state';
import { StateRecord } from '../../../../functions/core/renewal/steps/state-record';
import { MemoryStore } from '../../../support/fakes';

const current = (serial: string, certId: string): CertificateState['current'] => ({
  serial,
  notBefore: '2025-03-01T00:00:00.000Z',
  notAfter: '2025-05-30T00:00:00.000Z',
  domains: ['example.test'],
  keyType: 'ec-p256',
  issuer: 'CN=Test',
  directoryUrl: 'https://ca.test/dir',
  accountUrl: 'https://ca.test/acct/1',
  certId,
  issuedAt: '2025-03-01T00:00:00.000Z',
});

const ari = (certId: string, checkedAt: string) => ({
  certId,
  windowStart: '2025-05-01T00:00:00.000Z',
  windowEnd: '2025-05-03T00:00:00.000Z',
  selectedTime: '2025-05-02T00:00:00.000Z',
  nextCheckAt: '2025-04-02T00:00:00.000Z',
  checkedAt,
});

const stored = (): CertificateState => ({
  ...emptyState('shop'),
  current: current('01', 'aki.01'),
  ari: ari('aki.01', '2025-04-01T00:00:00.000Z'),
});

/** What a scheduler pass does: read, refresh the ARI fields, write at the ETag it read. */
async function schedulerWrites(store: MemoryStore, checkedAt: string): Promise<void> {
  const read = (await store.readState('shop'))!;
  await store.putStateIf(
    'shop',
    { ...read.state, ari: ari('aki.01', checkedAt), ariError: undefined },
    read.etag,
  );
}

describe('StateRecord: every renewer write conditional on what it read', () => {
  it('a checkpoint that loses to a scheduler write keeps its own fields and takes the fresher ARI', async () => {
    const store = new MemoryStore();
    store.seedState(stored());
    const record = await StateRecord.open(store, 'shop');
    await schedulerWrites(store, '2025-04-01T12:00:00.000Z');

    const pendingOrder = {
      url: 'https://ca.test/o/1',
      createdAt: '2025-04-01T12:00:00.000Z',
      failedAttempts: 0,
    };
    await record.save({ ...record.state, pendingOrder });

    const saved = store.state('shop')!;
    expect(saved.pendingOrder).toEqual(pendingOrder);
    expect(saved.ari?.checkedAt).toBe('2025-04-01T12:00:00.000Z');
    expect(store.conflicts).toHaveLength(1);
    // The next write goes at the ETag just written: no second conflict.
    await record.save({ ...record.state, failures: 1 });
    expect(store.conflicts).toHaveLength(1);
    expect(store.state('shop')).toMatchObject({
      failures: 1,
      ari: { checkedAt: '2025-04-01T12:00:00.000Z' },
    });
  });

  it('a new certificate that loses to a refresh of the old one keeps its own ARI', async () => {
    const store = new MemoryStore();
    store.seedState(stored());
    const record = await StateRecord.open(store, 'shop');
    await schedulerWrites(store, '2025-04-01T12:00:00.000Z');

    await record.save({
      ...record.state,
      current: current('02', 'aki.02'),
      ari: ari('aki.02', '2025-04-01T12:01:00.000Z'),
    });

    const saved = store.state('shop')!;
    expect(saved.current?.serial).toBe('02');
    expect(saved.ari).toEqual(ari('aki.02', '2025-04-01T12:01:00.000Z'));
  });

  it('the first write of a certificate that has no state yet is If-None-Match: a scheduler’s first write is merged', async () => {
    const store = new MemoryStore();
    const record = await StateRecord.open(store, 'shop');
    await store.putStateIf('shop', emptyState('shop'), undefined);

    await record.save({ ...record.state, failures: 1 });

    expect(store.conflicts).toEqual([{ id: 'shop', actual: expect.any(String) }]);
    expect(store.state('shop')?.failures).toBe(1);
  });

  it('a document another renewer changed is never overwritten: state-conflict, the queue decides again', async () => {
    const store = new MemoryStore();
    store.seedState(stored());
    const record = await StateRecord.open(store, 'shop');
    const read = (await store.readState('shop'))!;
    await store.putStateIf('shop', { ...read.state, current: current('03', 'aki.03') }, read.etag);

    const error = await record.save({ ...record.state, failures: 1 }).catch((e: unknown) => e);

    expect(hasCode(error, 'state-conflict')).toBe(true);
    expect((error as Error).message).toMatch(/another renewer/);
    expect(store.state('shop')?.current?.serial).toBe('03');
  });

  it('a write whose response was lost (it did happen) is recognised on the retry, not taken for another renewer', async () => {
    const store = new MemoryStore();
    store.seedState(stored());
    const record = await StateRecord.open(store, 'shop');
    const real = store.putStateIf.bind(store);
    let lose = true;
    store.putStateIf = async (id, state, etag) => {
      const written = await real(id, state, etag);
      if (lose) {
        lose = false;
        throw new Error('socket hang up (the write went through)');
      }
      return written;
    };
    await expect(record.save({ ...record.state, failures: 1 })).rejects.toThrow(/socket hang up/);

    await record.save({ ...record.state, failures: 2 });

    expect(store.state('shop')?.failures).toBe(2);
  });
});
