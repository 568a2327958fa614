import { describe, expect, it } from 'vitest';
import { caFor, parseInventoryLenient } from '../../../functions/core/config/inventory';
import { configHash } from '../../../functions/core/renewal/config-hash';
import { runScheduler, type SchedulerDeps } from '../../../functions/core/renewal/run-scheduler';
import { parseScheduleIndex } from '../../../functions/core/renewal/schedule-index';
import type { CertificateState } from '../../../functions/core/renewal/state';
import { constantRandom, MemoryQueue, MemoryScheduleIndex, MemoryStore } from '../../support/fakes';
import { UNUSED_TRUST_ANCHOR_PEM } from '../acme/fake-ca';

const DAY = 24 * 60 * 60_000;
const NOW = new Date('2026-12-01T12:00:00.000Z');
const DIRECTORY = 'https://ca.test/directory';
const IDS = ['a', 'b', 'c', 'd'];

function inventoryOf(ids: readonly string[]) {
  return {
    cas: { test: { directoryUrl: DIRECTORY, trustAnchors: [UNUSED_TRUST_ANCHOR_PEM] } },
    certificates: ids.map((id) => ({
      id,
      domains: [`${id}.example.test`],
      ca: 'test',
      keyType: 'ec-p256' as 'ec-p256' | 'rsa-2048',
    })),
  };
}

/** A 90-day certificate issued `ageDays` ago, from a CA without ARI (the ratio rule decides). */
async function issued(inventory: unknown, id: string, ageDays: number): Promise<CertificateState> {
  const parsed = parseInventoryLenient(inventory).inventory;
  const config = parsed.certificates.find((c) => c.id === id)!;
  const notBefore = new Date(NOW.getTime() - ageDays * DAY);
  return {
    version: 1,
    id,
    configHash: await configHash(config, caFor(parsed, config.ca)),
    current: {
      serial: `0${IDS.indexOf(id) + 1}`,
      notBefore: notBefore.toISOString(),
      notAfter: new Date(notBefore.getTime() + 90 * DAY).toISOString(),
      domains: [`${id}.example.test`],
      keyType: 'ec-p256',
      issuer: 'CN=Test Intermediate',
      directoryUrl: DIRECTORY,
      accountUrl: 'https://ca.test/acct/1',
      issuedAt: notBefore.toISOString(),
    },
    acm: {},
    retiredAcmArns: [],
    failures: 0,
  };
}

/** A scheduler over fakes that counts the state documents each pass reads. */
async function bed(ages: Record<string, number>, inventory: unknown = inventoryOf(Object.keys(ages))) {
  const store = new MemoryStore(inventory);
  for (const [id, age] of Object.entries(ages)) store.seedState(await issued(inventory, id, age));
  const reads: string[] = [];
  const counted = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'readState')
        return (id: string) => {
          reads.push(id);
          return target.readState(id);
        };
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const index = new MemoryScheduleIndex();
  const queue = new MemoryQueue();
  const deps = (now = NOW): SchedulerDeps => ({
    store: counted,
    queue,
    fetch: async () => {
      throw new Error('no ARI here');
    },
    renewalInfoUrl: async () => undefined,
    now,
    random: constantRandom(0.5),
    lookaheadMs: 60 * 60_000,
    index,
  });
  const pass = async (now = NOW) => {
    reads.length = 0;
    const report = await runScheduler(deps(now));
    return { report, reads: [...reads].sort() };
  };
  return { store, index, queue, pass };
}

// A pass costs what changed: the index says when each certificate must be looked at again, and only those, the
// ones a renewer marked, the changed inventory entries and the unknown ones are read.
describe('runScheduler with the schedule index', () => {
  it('the first pass reads everything and builds the index; the next reads nothing that can wait', async () => {
    const t = await bed({ a: 10, b: 20, c: 30, d: 40 });
    const first = await t.pass();
    expect(first.reads).toEqual(IDS);
    expect(first.report.indexRebuilt).toBe(true);
    expect(Object.keys(parseScheduleIndex(t.index.stored?.value)!.entries).sort()).toEqual(IDS);

    const second = await t.pass(new Date(NOW.getTime() + 60 * 60_000));
    expect(second.reads).toEqual([]);
    expect(second.report).toMatchObject({ waiting: 4, indexRebuilt: false, checks: [] });
    // The soonest expiry still covers every certificate: 40 days old of 90 leaves 50 days, less the hour.
    expect(second.report.minDaysToExpiry).toBeCloseTo(50 - 1 / 24, 5);
  });

  it('reads a certificate again when its time comes (the ratio rule at 2/3 of the lifetime)', async () => {
    const t = await bed({ a: 10, b: 59.5 });
    await t.pass();
    const later = await t.pass(new Date(NOW.getTime() + DAY));
    expect(later.reads).toEqual(['b']);
    expect(later.report.enqueued).toEqual([{ id: 'b', reason: 'ratio' }]);
  });

  it('reads what a renewer marked, then clears the marker it acted on (a newer one stays)', async () => {
    const t = await bed({ a: 10, b: 10, c: 10 });
    await t.pass();
    await t.index.markChanged('b');
    const marked = await t.pass();
    expect(marked.reads).toEqual(['b']);
    expect([...t.index.markers.keys()]).toEqual([]);
    expect((await t.pass()).reads).toEqual([]);
  });

  it('reads an entry whose inventory definition changed, and a certificate new to the inventory', async () => {
    const t = await bed({ a: 10, b: 10 }, inventoryOf(['a', 'b']));
    await t.pass();
    // b moves to RSA and e is added: both are read, a is not.
    const next = inventoryOf(['a', 'b', 'e']);
    next.certificates[1]!.keyType = 'rsa-2048';
    t.store.inventory = next;
    const changed = await t.pass();
    expect(changed.reads).toEqual(['b', 'e']);
    expect(changed.report.enqueued.map((r) => [r.id, r.reason])).toEqual([
      ['b', 'changed'],
      ['e', 'new'],
    ]);
  });

  it('rebuilds from a corrupt index with one full pass', async () => {
    const t = await bed({ a: 10, b: 10 });
    await t.pass();
    t.index.stored = { value: { version: 1, entries: 'garbage' }, etag: t.index.stored!.etag };
    const rebuilt = await t.pass();
    expect(rebuilt.reads).toEqual(['a', 'b']);
    expect(rebuilt.report.indexRebuilt).toBe(true);
    expect((await t.pass()).reads).toEqual([]);
  });

  it('keeps looking at a due certificate every pass until its state says it was renewed', async () => {
    const t = await bed({ a: 80 });
    expect((await t.pass()).report.enqueued).toEqual([{ id: 'a', reason: 'ratio' }]);
    expect((await t.pass()).reads).toContain('a');
    t.store.seedState(await issued(inventoryOf(['a']), 'a', 0));
    await t.index.markChanged('a');
    expect((await t.pass()).report.enqueued).toEqual([]);
    expect((await t.pass()).reads).not.toContain('a');
  });
});
