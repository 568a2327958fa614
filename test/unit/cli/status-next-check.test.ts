import { describe, expect, it } from 'vitest';
import { collectStatus, renderStatus } from '../../../functions/cli/status-report';
import { caFor, parseInventory } from '../../../functions/core/config/inventory';
import { configHash } from '../../../functions/core/renewal/config-hash';
import { LOOK_NOW, type ScheduleIndex } from '../../../functions/core/renewal/schedule-index';
import type { CertificateState } from '../../../functions/core/renewal/state';
import { MemoryScheduleIndex, MemoryStore } from '../../support/fakes';

const NOW = new Date('2026-03-01T00:00:00.000Z');
const INDEX_WRITTEN = '2026-02-28T23:00:00.000Z';
/** What the state documents say: the last stored window's next renewalInfo request. */
const STATE_NEXT = '2026-03-01T06:00:00.000Z';
/** What the scheduler's index says (later: a confirmed window's refresh went into the index only, with jitter). */
const INDEX_NEXT = Date.parse('2026-03-02T09:17:00.000Z');

const inventory = {
  certificates: ['indexed', 'look-now', 'changed', 'unindexed'].map((id) => ({
    id,
    ca: 'letsencrypt',
    domains: [`${id}.example.test`],
  })),
};

function state(id: string): CertificateState {
  return {
    version: 1,
    id,
    current: {
      serial: '0a1b',
      notBefore: '2026-02-01T00:00:00.000Z',
      notAfter: '2026-05-02T00:00:00.000Z',
      domains: [`${id}.example.test`],
      keyType: 'ec-p256',
      issuer: 'CN=R11',
      directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory',
      accountUrl: 'https://ca.test/acct/1',
      certId: `${id}.cert`,
      issuedAt: '2026-02-01T00:00:00.000Z',
    },
    ari: {
      certId: `${id}.cert`,
      windowStart: '2026-04-01T00:00:00.000Z',
      windowEnd: '2026-04-03T00:00:00.000Z',
      selectedTime: '2026-04-02T07:30:00.000Z',
      nextCheckAt: STATE_NEXT,
      checkedAt: '2026-02-28T00:00:00.000Z',
    },
    acm: {},
    retiredAcmArns: [],
    failures: 0,
    lastResult: 'renewed',
    lastReason: 'new',
  };
}

/** The index a scheduler pass would have written: rows for three of the four entries, one for an older entry. */
async function scheduleIndex(): Promise<ScheduleIndex> {
  const parsed = parseInventory(inventory);
  const hash = (i: number) => configHash(parsed.certificates[i]!, caFor(parsed, 'letsencrypt'));
  return {
    version: 3,
    updatedAt: INDEX_WRITTEN,
    ids: ['indexed', 'look-now', 'changed'],
    hashes: [await hash(0), await hash(1), 'an-older-entry-hash'],
    lookAt: [INDEX_NEXT, LOOK_NOW, INDEX_NEXT],
    notAfter: [null, null, null],
    notBefore: [null, null, null],
    ariAt: [null, null, null],
  };
}

async function stores(index: unknown) {
  const store = new MemoryStore(inventory);
  for (const c of inventory.certificates) await store.putStateIf(c.id, state(c.id), undefined);
  const memory = new MemoryScheduleIndex();
  if (index !== undefined) memory.stored = { value: index, etag: '"index-1"' };
  let loads = 0;
  const readOnly = {
    loadIndex: () => {
      loads += 1;
      return memory.loadIndex();
    },
  };
  return { store, memory, readOnly, loads: () => loads };
}

describe('status shows when the scheduler looks next, from its schedule index', () => {
  it('takes each row’s time from the index, the state’s only without a row, in one index read and no write', async () => {
    const { store, memory, readOnly, loads } = await stores(await scheduleIndex());
    const report = await collectStatus(store, NOW, readOnly);
    const next = Object.fromEntries(
      report.certificates.map((c) => [c.id, { at: c.nextCheckAt, from: c.nextCheckFrom }]),
    );
    expect(next).toEqual({
      // Not the state's 06:00: the scheduler reads this certificate again only at the index's time.
      indexed: { at: new Date(INDEX_NEXT).toISOString(), from: 'schedule-index' },
      // "Look now", written by the pass at INDEX_WRITTEN: due since then.
      'look-now': { at: INDEX_WRITTEN, from: 'schedule-index' },
      // The row was decided for another entry: the next pass reads it, whatever the row's time.
      changed: { at: NOW.toISOString(), from: 'schedule-index' },
      unindexed: { at: STATE_NEXT, from: 'state' },
    });
    expect(report.scheduleIndexUpdatedAt).toBe(INDEX_WRITTEN);
    expect(report.scheduleIndexError).toBeUndefined();
    expect(loads()).toBe(1);
    expect(memory.saves).toBe(0);
    expect(memory.stored?.etag).toBe('"index-1"');
    const table = renderStatus(report);
    expect(table).toMatch(/^indexed\s.*\s2026-03-02 09:17\s+renewed \(new\)/m);
    expect(table).toMatch(/^unindexed\s.*\s2026-03-01 06:00\s+renewed \(new\)/m);
    // The state's time is marked on the line under it; the index's times are not.
    expect(table.split('\n').filter((l) => l.includes('(state)'))).toHaveLength(1);
  });

  it.each([
    ['no index yet (no scheduler pass since the deployment)', undefined],
    ['a damaged index (the next pass rebuilds it)', { version: 3, ids: 'not columns' }],
  ])('falls back to the state documents’ times with %s', async (_what, index) => {
    const { store, readOnly } = await stores(index);
    const report = await collectStatus(store, NOW, readOnly);
    for (const row of report.certificates)
      expect(row).toMatchObject({ nextCheckAt: STATE_NEXT, nextCheckFrom: 'state' });
    expect(report.scheduleIndexUpdatedAt).toBeUndefined();
    expect(report.scheduleIndexError).toBeUndefined();
  });
});
