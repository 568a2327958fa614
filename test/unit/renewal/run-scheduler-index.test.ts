import { describe, expect, it } from 'vitest';
import { caFor, parseInventoryLenient } from '../../../functions/core/config/inventory';
import { configHash } from '../../../functions/core/renewal/config-hash';
import { runScheduler, type SchedulerDeps } from '../../../functions/core/renewal/run-scheduler';
import {
  INVENTORY_RULES,
  MAX_INVENTORY_TRUST_MS,
  parseScheduleIndex,
} from '../../../functions/core/renewal/schedule-index';
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

/** A certificate of `lifetimeDays` issued `ageDays` ago, from a CA without ARI (the ratio rule decides). */
async function issued(
  inventory: unknown,
  id: string,
  ageDays: number,
  lifetimeDays = 90,
): Promise<CertificateState> {
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
      notAfter: new Date(notBefore.getTime() + lifetimeDays * DAY).toISOString(),
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
  const index = new MemoryScheduleIndex(store);
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
  return { store, index, queue, pass, deps };
}

// A pass costs what changed: the index says when each certificate must be looked at again, and only those, the
// ones a renewer marked, the changed inventory entries and the unknown ones are read.
describe('runScheduler with the schedule index', () => {
  it('the first pass reads everything and builds the index; the next reads nothing that can wait', async () => {
    const t = await bed({ a: 10, b: 20, c: 30, d: 40 });
    const first = await t.pass();
    expect(first.reads).toEqual(IDS);
    expect(first.report.indexRebuilt).toBe(true);
    expect([...parseScheduleIndex(t.index.stored?.value)!.ids].sort()).toEqual(IDS);

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

// An hourly pass over an inventory nobody changed should not parse and hash 100,000 entries again: the index records
// the inventory version its rows were computed from, and the store answers "unchanged" without a body.
describe('runScheduler over an unchanged inventory', () => {
  const HOUR = 60 * 60_000;
  const later = (hours: number) => new Date(NOW.getTime() + hours * HOUR);

  it('reads no inventory body and writes no index when nothing is due; the soonest expiry still covers all', async () => {
    const t = await bed({ a: 10, b: 40 });
    await t.pass();
    expect(t.index.inventoryReads).toBe(1);
    const saves = t.index.saves;
    const quiet = await t.pass(later(1));
    expect(quiet.reads).toEqual([]);
    expect(quiet.report).toMatchObject({ waiting: 2, checks: [], problems: [] });
    expect(quiet.report.minDaysToExpiry).toBeCloseTo(50 - 1 / 24, 5);
    expect(t.index.inventoryReads).toBe(1);
    expect(t.index.saves).toBe(saves);
  });

  it('still reads what is due, what a renewer marked, and reports the inventory problems every pass', async () => {
    const inventory = inventoryOf(['a', 'b']);
    const broken = {
      ...inventory,
      certificates: [...inventory.certificates, { id: 'bad', domains: ['x y'] }],
    };
    const t = await bed({ a: 10, b: 59.5 }, broken);
    const first = await t.pass();
    expect(first.report.problems.map((p) => p.path)).toEqual(['certificates[2].domains[0]']);
    await t.index.markChanged('a');
    const next = await t.pass(later(24 - 1));
    expect(t.index.inventoryReads).toBe(1);
    expect(next.reads).toEqual(['a', 'b']);
    expect(next.report.enqueued).toEqual([{ id: 'b', reason: 'ratio' }]);
    expect(next.report.problems).toEqual(first.report.problems);
  });

  it('parses and hashes again when the inventory changed, when another release wrote the index, and daily', async () => {
    const t = await bed({ a: 10, b: 10 });
    await t.pass();
    const next = inventoryOf(['a', 'b']);
    next.certificates[0]!.keyType = 'rsa-2048';
    t.store.inventory = next;
    const changed = await t.pass(later(1));
    expect(t.index.inventoryReads).toBe(2);
    expect(changed.report.enqueued).toEqual([{ id: 'a', reason: 'changed' }]);

    const stored = t.index.stored!.value as { inventory: { rules: string } };
    t.index.stored = {
      ...t.index.stored!,
      value: { ...stored, inventory: { ...stored.inventory, rules: 'old' } },
    };
    await t.pass(later(2));
    expect(t.index.inventoryReads).toBe(3);

    await t.pass(later(3));
    expect(t.index.inventoryReads).toBe(3);
    await t.pass(new Date(later(2).getTime() + MAX_INVENTORY_TRUST_MS));
    expect(t.index.inventoryReads).toBe(4);
    expect((t.index.stored!.value as { inventory: { rules: string } }).inventory.rules).toBe(INVENTORY_RULES);
  });

  it('an entry changed while the budget was spent is looked at by the next pass, with the inventory unchanged', async () => {
    const t = await bed({ a: 10, b: 10 });
    await t.pass();
    const next = inventoryOf(['a', 'b']);
    next.certificates[1]!.keyType = 'rsa-2048';
    t.store.inventory = next;
    // No check starts in this pass: the new index must still say b is to be looked at.
    const spent = await runScheduler({ ...t.deps(later(1)), remainingMs: () => 0 });
    expect(spent).toMatchObject({ budgetSpent: true, waiting: 1, leftForNextPass: 1 });
    const after = await t.pass(later(2));
    expect(t.index.inventoryReads).toBe(2);
    expect(after.reads).toEqual(['b']);
    expect(after.report.enqueued).toEqual([{ id: 'b', reason: 'changed' }]);
  });

  it('an index written by the previous version is read as it is: nothing that can wait is read again', async () => {
    const t = await bed({ a: 10, b: 20 });
    await t.pass();
    const v2 = parseScheduleIndex(t.index.stored!.value)!;
    const v1 = {
      version: 1,
      updatedAt: v2.updatedAt,
      entries: Object.fromEntries(
        v2.ids.map((id, i) => [
          id,
          {
            configHash: v2.hashes[i],
            lookAt: new Date(v2.lookAt[i]!).toISOString(),
            notAfter: new Date(v2.notAfter[i]!).toISOString(),
          },
        ]),
      ),
    };
    t.index.stored = { ...t.index.stored!, value: v1 };
    const upgraded = await t.pass(later(1));
    expect(upgraded.reads).toEqual([]);
    expect(upgraded.report).toMatchObject({ waiting: 2, indexRebuilt: false });
    expect(parseScheduleIndex(t.index.stored!.value)).toMatchObject({ version: 3, ids: ['a', 'b'] });
    expect((t.index.stored!.value as { version: number }).version).toBe(3);
  });

  it('an index of version 2 (no notBefore) is used as it is; a row gets its lifetime when a check writes it', async () => {
    // A 6-day certificate 2 days old (4 left) and a 90-day one 20 days old (70 left).
    const inventory = inventoryOf(['short', 'classic']);
    const t = await bed({ classic: 20 }, inventory);
    t.store.seedState(await issued(inventory, 'short', 2, 6));
    await t.pass();
    const { notBefore: _notBefore, ...v3 } = t.index.stored!.value as Record<string, unknown>;
    t.index.stored = { ...t.index.stored!, value: { ...v3, version: 2 } };

    const upgraded = await t.pass(later(1));
    expect(upgraded.reads).toEqual([]);
    expect(upgraded.report).toMatchObject({ waiting: 2, indexRebuilt: false });
    // Lifetime unknown: the days count unscaled, as the release that wrote the index counted them.
    expect(upgraded.report.minDaysToExpiry).toBeCloseTo(4 - 1 / 24, 5);

    await t.index.markChanged('short');
    const checked = await t.pass(later(2));
    expect(checked.reads).toEqual(['short']);
    const stored = t.index.stored!.value as { version: number; ids: string[]; notBefore: (number | null)[] };
    expect(stored.version).toBe(3);
    const row = (id: string) => stored.notBefore[stored.ids.indexOf(id)];
    expect(row('short')).toBe(NOW.getTime() - 2 * DAY);
    expect(row('classic')).toBeNull();
    // Now known to live 6 days: 4 days of 6, less two hours, count (4 − 1/12) × 90 / 6 = 58.75; the next pass, where
    // it waits, counts it from the index alike.
    expect(checked.report.minDaysToExpiry).toBeCloseTo((4 - 2 / 24) * 15, 5);
    expect((await t.pass(later(3))).report.minDaysToExpiry).toBeCloseTo((4 - 3 / 24) * 15, 5);
  });
});

describe('runScheduler over an edited inventory', () => {
  /**
   * An inventory of more certificates than one hash batch, in the shapes operators write (name lists in any order
   * and case, IDNs, profiles, CA lists, regions, tags), with a bad entry of every kind spread through it.
   */
  function largeInventory(size: number) {
    const certificates: Record<string, unknown>[] = [];
    for (let i = 0; i < size; i++) {
      const id = `cert-${i}`;
      const entry: Record<string, unknown> = {
        id,
        domains: i % 3 === 0 ? [`B${i}.Example.test`, `a${i}.example.test`] : [`${id}.example.test`],
        keyType: (['ec-p256', 'ec-p384', 'rsa-2048'] as const)[i % 3],
      };
      if (i % 5 === 0) entry.ca = 'test';
      if (i % 7 === 0) entry.ca = ['test', 'zerossl'];
      if (i % 11 === 0) entry.profile = 'shortlived';
      if (i % 13 === 0) entry.acmRegions = ['eu-west-1', 'us-east-1'];
      if (i % 17 === 0) entry.tags = { team: `t${i % 4}` };
      if (i % 19 === 0) entry.domains = [`bücher-${i}.example.test`];
      certificates.push(entry);
    }
    const bad: [number, Record<string, unknown>][] = [
      [10, { id: 'bad-domain', domains: ['x y'] }],
      [700, { id: 'cert-3', domains: ['dup.example.test'] }],
      [1400, { id: 'unknown-ca', domains: ['u.example.test'], ca: 'nowhere' }],
      [2100, { id: 'Bad_Id', domains: [], keyType: 'dsa', colour: 'blue' }],
      [2400, 'not an entry'],
    ] as never;
    for (const [at, entry] of bad) certificates.splice(at, 0, entry);
    return {
      cas: { test: { directoryUrl: DIRECTORY, trustAnchors: [UNUSED_TRUST_ANCHOR_PEM] } },
      certificates,
    };
  }

  it('indexes every usable entry with its config hash and lists every problem, as a whole-inventory parse does', async () => {
    const t = await bed({}, largeInventory(2_000));
    await t.pass();
    const edited = largeInventory(2_600);
    (edited.certificates[1] as { keyType: string }).keyType = 'rsa-3072';
    t.store.inventory = edited;

    const { report } = await t.pass(new Date(NOW.getTime() + 60 * 60_000));

    const reference = parseInventoryLenient(edited);
    const index = parseScheduleIndex(t.index.stored?.value)!;
    expect(index.ids).toEqual(reference.inventory.certificates.map((c) => c.id));
    expect(index.hashes).toEqual(
      await Promise.all(
        reference.inventory.certificates.map((c) => configHash(c, caFor(reference.inventory, c.ca))),
      ),
    );
    expect(report.problems).toEqual(reference.problems);
    expect(report.problems.map((p) => p.path)).toEqual([
      'certificates[10].domains[0]',
      'certificates[700].id',
      'certificates[1400].ca',
      'certificates[2100].id',
      'certificates[2100].domains',
      'certificates[2100].keyType',
      'certificates[2100]',
      'certificates[2400]',
    ]);
    expect(index.inventory?.problems).toEqual(reference.problems);
    expect(index.ids).toHaveLength(2_600);
  });
});
