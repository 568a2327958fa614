import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { perKeyTokenBuckets } from '../../../functions/core/ari';
import { caFor, parseInventoryLenient } from '../../../functions/core/config/inventory';
import { AcmeAwsError, hasCode } from '../../../functions/core/errors';
import type { Fetch } from '../../../functions/core/http';
import { configHash } from '../../../functions/core/renewal/config-hash';
import {
  ENQUEUE_BATCH_SIZE,
  runScheduler,
  type SchedulerDeps,
} from '../../../functions/core/renewal/run-scheduler';
import type { CertificateState } from '../../../functions/core/renewal/state';
import {
  constantRandom,
  FakeAriServer,
  MemoryEvents,
  MemoryQueue,
  MemoryScheduleIndex,
  MemoryStore,
} from '../../support/fakes';
import { UNUSED_TRUST_ANCHOR_PEM } from '../acme/fake-ca';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = new Date('2025-04-01T12:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();
const DIRECTORY = 'https://ca.test/directory';
const WINDOW = { start: '2025-04-11T00:00:00.000Z', end: '2025-04-13T00:00:00.000Z' };

const certIdOf = (n: number) => `aYhba4dGQEHhs3uEe6CuLN4ByNQ.AA${String(n).padStart(2, '0')}`;

/** Two usable entries between two broken ones. */
const MIXED_INVENTORY = {
  cas: { test: { directoryUrl: DIRECTORY, trustAnchors: [UNUSED_TRUST_ANCHOR_PEM] } },
  certificates: [
    { id: 'fresh', domains: ['fresh.example.test'], ca: 'test' },
    { id: 'bad-domain', domains: ['not a domain'], ca: 'test' },
    { id: 'live', domains: ['live.example.test'], ca: 'test' },
    { id: 'bad-key', domains: ['x.example.test'], ca: 'test', keyType: 'dsa-1024' },
  ],
};

/**
 * Broken twice over: one entry fails its own schema (a bad domain), another only the inventory-wide checks (an
 * unknown CA, a duplicate id).
 */
const MIXED_CROSS_ENTRY_INVENTORY = {
  cas: { test: { directoryUrl: DIRECTORY, trustAnchors: [UNUSED_TRUST_ANCHOR_PEM] } },
  certificates: [
    { id: 'fresh', domains: ['fresh.example.test'], ca: 'test' },
    { id: 'bad-domain', domains: ['not a domain'], ca: 'test' },
    { id: 'live', domains: ['live.example.test'], ca: 'test' },
    { id: 'unknown-ca', domains: ['x.example.test'], ca: 'nowhere' },
    { id: 'live', domains: ['twin.example.test'], ca: 'test' },
  ],
};

function inventoryOf(ids: readonly string[]) {
  return {
    cas: { test: { directoryUrl: DIRECTORY, trustAnchors: [UNUSED_TRUST_ANCHOR_PEM] } },
    certificates: ids.map((id) => ({ id, domains: [`${id}.example.test`], ca: 'test' })),
  };
}

/** The hash the scheduler computes for entry `id` of `inventory`, so a seeded state counts as unchanged. */
async function hashOf(inventory: unknown, id: string): Promise<string> {
  const parsed = parseInventoryLenient(inventory).inventory;
  const config = parsed.certificates.find((c) => c.id === id)!;
  return configHash(config, caFor(parsed, config.ca));
}

/** An issued 90-day certificate with an ARI certID; `notAfter` decides its days to expiry. */
async function issued(
  inventory: unknown,
  id: string,
  n: number,
  overrides: Partial<CertificateState> = {},
  notAfter = '2025-05-30T00:00:00.000Z',
): Promise<CertificateState> {
  const notBefore = new Date(Date.parse(notAfter) - 90 * DAY).toISOString();
  return {
    version: 1,
    id,
    configHash: await hashOf(inventory, id),
    current: {
      serial: `0${n}`,
      notBefore,
      notAfter,
      domains: [`${id}.example.test`],
      keyType: 'ec-p256',
      issuer: 'CN=Test Intermediate',
      directoryUrl: DIRECTORY,
      accountUrl: 'https://ca.test/acct/1',
      certId: certIdOf(n),
      issuedAt: notBefore,
    },
    acm: {},
    retiredAcmArns: [],
    failures: 0,
    ...overrides,
  };
}

function bed(
  inventory: unknown,
  options: { delayMs?: number; concurrency?: number; lookaheadMs?: number } = {},
) {
  const store = new MemoryStore(inventory);
  const queue = new MemoryQueue();
  const ari = new FakeAriServer('https://ca.test/acme/renewal-info', options.delayMs ?? 0);
  const directoriesRead: string[] = [];
  const deps: SchedulerDeps = {
    store,
    queue,
    fetch: ari.fetch,
    renewalInfoUrl: async (directoryUrl) => {
      directoriesRead.push(directoryUrl);
      return directoryUrl === DIRECTORY ? ari.baseUrl : undefined;
    },
    now: NOW,
    random: constantRandom(0.5),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.lookaheadMs === undefined ? {} : { lookaheadMs: options.lookaheadMs }),
  };
  return { store, queue, ari, deps, directoriesRead };
}

/** A bed whose one certificate, `live`, has `WINDOW` stored with `selectedTime` in it and its Retry-After passed. */
async function liveWindowBed(selectedTime: string, options: Parameters<typeof bed>[1] = {}) {
  const inventory = inventoryOf(['live']);
  const b = bed(inventory, options);
  b.store.seedState(
    await issued(inventory, 'live', 1, {
      ari: {
        certId: certIdOf(1),
        windowStart: WINDOW.start,
        windowEnd: WINDOW.end,
        selectedTime,
        nextCheckAt: at(-MINUTE),
        checkedAt: at(-6 * HOUR),
      },
    }),
  );
  return b;
}

describe('runScheduler: inventory', () => {
  it('lists every problem of a mixed inventory and still checks and enqueues the valid entries', async () => {
    const { store, queue, ari, deps } = bed(MIXED_INVENTORY);
    store.seedState(await issued(MIXED_INVENTORY, 'live', 1));
    ari.answers.set(certIdOf(1), { window: WINDOW });

    const report = await runScheduler(deps);

    expect(report.problems.map((p) => p.path).sort()).toEqual([
      'certificates[1].domains[0]',
      'certificates[3].keyType',
    ]);
    expect(report.checks.map((c) => [c.id, c.reason, c.due])).toEqual([
      ['fresh', 'new', true],
      ['live', 'not-yet', false],
    ]);
    expect(queue.batches).toEqual([[{ id: 'fresh', reason: 'new' }]]);
    expect(report.enqueued).toEqual([{ id: 'fresh', reason: 'new' }]);
    expect(ari.certIds).toEqual([certIdOf(1)]);
    expect(report.ariRequests).toBe(1);
    expect(report.ariErrors).toBe(0);
    const live = report.checks.find((c) => c.id === 'live');
    expect(live).toMatchObject({ renewAt: '2025-04-12T00:00:00.000Z', nextCheckAt: at(6 * HOUR) });
    // The fresh window is saved so the next pass does not ask again before its Retry-After.
    expect(store.state('live')?.ari).toMatchObject({
      certId: certIdOf(1),
      selectedTime: '2025-04-12T00:00:00.000Z',
    });
    expect(store.state('bad-domain')).toBeUndefined();
  });

  // BUG (functions/core/config/inventory.ts, parseInventoryLenient): when one entry fails its own schema and
  // another fails only the inventory-wide superRefine (unknown CA, duplicate id), the first parse reports only
  // the schema problem (zod skips superRefine when the shape is invalid), and the second parse of the "good"
  // entries then fails on the unknown CA and falls back to an empty inventory. Result: no certificate is checked
  // or renewed at all, and the unknown-CA and duplicate-id problems are never listed.
  it('one entry with a bad domain and another with an unknown CA: the valid entries are still checked', async () => {
    const { queue, deps } = bed(MIXED_CROSS_ENTRY_INVENTORY);

    const report = await runScheduler(deps);

    expect(report.problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['certificates[1].domains[0]', 'certificates[3].ca', 'certificates[4].id']),
    );
    expect(report.checks.map((c) => c.id)).toEqual(['fresh', 'live']);
    expect(queue.requests).toEqual([
      { id: 'fresh', reason: 'new' },
      { id: 'live', reason: 'new' },
    ]);
  });

  it('an inventory that is not there at all gives one problem and no work', async () => {
    const { queue, deps } = bed(undefined);
    const report = await runScheduler(deps);
    expect(report.problems).toHaveLength(1);
    expect(report.checks).toEqual([]);
    expect(queue.batches).toEqual([]);
    expect(report.minDaysToExpiry).toBeUndefined();
  });

  it('checks only the certificate named by `only`', async () => {
    const { ari, deps } = bed(MIXED_INVENTORY);
    const report = await runScheduler(deps, { only: 'live' });
    expect(report.checks.map((c) => c.id)).toEqual(['live']);
    expect(ari.requests).toEqual([]);
  });
});

describe('runScheduler: Retry-After', () => {
  it.each<{ name: string; retryAfter: string; deferred: boolean }>([
    { name: 'a rate limit running for another hour', retryAfter: at(HOUR), deferred: true },
    { name: 'a rate limit that ended a minute ago', retryAfter: at(-MINUTE), deferred: false },
  ])('$name → deferred: $deferred', async ({ retryAfter, deferred }) => {
    const inventory = inventoryOf(['shop']);
    const { store, queue, ari, deps } = bed(inventory);
    // Past the ratio (1/3 left) and without ARI, so without the rate limit it would be due.
    store.seedState(
      await issued(
        inventory,
        'shop',
        1,
        { retryAfter, lastError: 'RateLimitedError: too many certificates' },
        at(20 * DAY),
      ),
    );
    ari.answers.set(certIdOf(1), { status: 404 });

    const report = await runScheduler(deps);
    const [check] = report.checks;

    if (deferred) {
      expect(check).toMatchObject({
        id: 'shop',
        due: false,
        reason: 'deferred',
        ariRequested: false,
        daysToExpiry: 20,
      });
      expect(check?.explanation).toContain(retryAfter);
      expect(check?.explanation).toContain('too many certificates');
      expect(queue.batches).toEqual([]);
      expect(ari.requests).toEqual([]);
      expect(store.writes).toEqual([]);
    } else {
      expect(check).toMatchObject({ id: 'shop', due: true, reason: 'ratio' });
      expect(queue.requests).toEqual([{ id: 'shop', reason: 'ratio' }]);
    }
  });
});

describe('runScheduler: the emergency floor beats any stored deferral', () => {
  it('Retry-After: 99999999 stored by an older version does not stop a renewal at the floor', async () => {
    const inventory = inventoryOf(['shop']);
    const { store, queue, deps } = bed(inventory);
    // 90-day certificate with 4 days left: past its floor (4.5 days left).
    store.seedState(
      await issued(
        inventory,
        'shop',
        1,
        {
          retryAfter: at(99_999_999_000),
          lastAttemptAt: at(-HOUR),
          lastError: 'RateLimitedError: slow down',
        },
        at(4 * DAY),
      ),
    );
    const report = await runScheduler(deps);
    expect(report.checks[0]).toMatchObject({ id: 'shop', due: true, reason: 'emergency' });
    expect(queue.requests).toEqual([{ id: 'shop', reason: 'emergency' }]);
  });
});

describe('runScheduler: dry run and writes', () => {
  it('dryRun decides and reports but writes nothing and enqueues nothing', async () => {
    const { store, queue, ari, deps } = bed(MIXED_INVENTORY);
    store.seedState(await issued(MIXED_INVENTORY, 'live', 1));
    ari.answers.set(certIdOf(1), { window: WINDOW });

    const report = await runScheduler(deps, { dryRun: true });

    expect(report.enqueued).toEqual([{ id: 'fresh', reason: 'new' }]);
    expect(report.ariRequests).toBe(1);
    expect(queue.batches).toEqual([]);
    expect(store.writes).toEqual([]);
    expect(store.state('fresh')).toBeUndefined();
    expect(store.state('live')?.ari).toBeUndefined();
  });

  it('a second pass before the ARI Retry-After asks nothing and rewrites nothing', async () => {
    const inventory = inventoryOf(['shop']);
    const { store, ari, deps } = bed(inventory);
    store.seedState(await issued(inventory, 'shop', 1));
    ari.answers.set(certIdOf(1), { window: WINDOW });

    await runScheduler(deps);
    expect(store.writes).toEqual([{ op: 'putState', id: 'shop', serial: '01' }]);
    const second = await runScheduler({ ...deps, now: new Date(NOW.getTime() + HOUR) });

    expect(ari.requests).toHaveLength(1);
    expect(second.ariRequests).toBe(0);
    expect(store.writes).toHaveLength(1);
  });
});

describe('runScheduler: scale and isolation', () => {
  it.each<{ concurrency?: number; bound: number }>([
    { concurrency: 7, bound: 7 },
    { bound: 10 },
    { concurrency: 1, bound: 1 },
  ])(
    '50 certificates with concurrency $concurrency: at most $bound ARI requests in flight, every one checked',
    async ({ concurrency, bound }) => {
      const ids = Array.from({ length: 50 }, (_, i) => `cert-${i}`);
      const inventory = inventoryOf(ids);
      const { store, queue, ari, deps } = bed(inventory, { delayMs: 2, concurrency });
      for (const [i, id] of ids.entries()) {
        store.seedState(await issued(inventory, id, i));
        ari.answers.set(certIdOf(i), { window: WINDOW });
      }

      const report = await runScheduler(deps);

      expect(ari.maxInFlight).toBeLessThanOrEqual(bound);
      // Reaching the bound shows the checks really overlap.
      expect(ari.maxInFlight).toBe(bound);
      expect(new Set(ari.certIds).size).toBe(50);
      expect(report.checks.map((c) => c.id)).toEqual(ids);
      expect(report.checks.every((c) => c.reason === 'not-yet')).toBe(true);
      expect(queue.batches).toEqual([]);
    },
  );

  it('50 refreshes against a 100 req/s, burst-5 bound leave over 0.45 s of virtual time, and their next checks spread', async () => {
    const ids = Array.from({ length: 50 }, (_, i) => `cert-${i}`);
    const inventory = inventoryOf(ids);
    const { store, ari, deps } = bed(inventory, { concurrency: 50 });
    for (const [i, id] of ids.entries()) {
      store.seedState(await issued(inventory, id, i));
      ari.answers.set(certIdOf(i), { window: WINDOW });
    }
    const slots: number[] = [];
    const ariRate = perKeyTokenBuckets({
      perSecond: 100,
      burst: 5,
      nowMs: () => 0,
      sleep: async (ms) => void slots.push(ms),
    });
    let draws = 0;
    // Every draw differs, so the spread is visible: 0, 0.02, 0.04, ...
    const random = () => (draws++ * 0.01) % 1;

    await runScheduler({ ...deps, random, ariRate, ariJitter: 0.5 });

    expect(ari.requests).toHaveLength(50);
    expect(slots).toHaveLength(45);
    expect(Math.max(...slots)).toBeCloseTo(450, 6);
    const nextChecks = new Set(ids.map((id) => JSON.parse(store.states.get(id)!).ari?.nextCheckAt as string));
    expect(nextChecks.size).toBeGreaterThan(20);
    for (const next of nextChecks) {
      const after = Date.parse(next!) - NOW.getTime();
      expect(after).toBeGreaterThanOrEqual(6 * HOUR);
      expect(after).toBeLessThanOrEqual(9 * HOUR);
    }
  });

  it('one certificate whose state cannot be read is reported as an error; the others are checked and enqueued', async () => {
    const inventory = inventoryOf(['first', 'broken', 'last']);
    const { store, queue, deps } = bed(inventory);
    store.failGetState.add('broken');

    const report = await runScheduler(deps);

    expect(report.checks.map((c) => [c.id, c.reason])).toEqual([
      ['first', 'new'],
      ['broken', 'error'],
      ['last', 'new'],
    ]);
    expect(report.checks[1]?.explanation).toMatch(/could not check: .*reading the state of "broken" failed/);
    expect(queue.requests).toEqual([
      { id: 'first', reason: 'new' },
      { id: 'last', reason: 'new' },
    ]);
  });

  it('an unreadable directory costs ARI for that certificate only; it is still decided on the ratio', async () => {
    const inventory = inventoryOf(['shop']);
    const { store, queue, ari, deps } = bed(inventory);
    store.seedState(await issued(inventory, 'shop', 1, {}, at(25 * DAY)));
    const report = await runScheduler({
      ...deps,
      renewalInfoUrl: async () => {
        throw new Error('directory answered 503');
      },
    });
    expect(report.checks[0]).toMatchObject({ id: 'shop', due: true, reason: 'ratio', ariRequested: false });
    expect(report.checks[0]?.ariError).toMatch(
      /directory of https:\/\/ca\.test\/directory could not be read/,
    );
    expect(report.ariErrors).toBe(1);
    expect(ari.requests).toEqual([]);
    expect(queue.requests).toEqual([{ id: 'shop', reason: 'ratio' }]);
  });

  it("a directory failure's description in ariError is one bounded line", async () => {
    const inventory = inventoryOf(['shop']);
    const { store, deps } = bed(inventory);
    store.seedState(await issued(inventory, 'shop', 1));
    const report = await runScheduler({
      ...deps,
      renewalInfoUrl: async () => {
        throw new Error(`maintenance\n${'x'.repeat(10_000)}`);
      },
    });
    const ariError = report.checks[0]!.ariError!;
    expect(ariError).toMatch(
      /^the directory of https:\/\/ca\.test\/directory could not be read: Error: maintenance x+$/,
    );
    expect(ariError.length).toBeLessThan(400);
  });

  it('an ARI failure is counted and the certificate falls back to the ratio', async () => {
    const inventory = inventoryOf(['shop']);
    const { store, ari, deps } = bed(inventory);
    store.seedState(await issued(inventory, 'shop', 1));
    ari.answers.set(certIdOf(1), { status: 500 });
    const report = await runScheduler(deps);
    expect(report.ariErrors).toBe(1);
    expect(report.checks[0]).toMatchObject({ reason: 'not-yet', renewAt: '2025-04-30T00:00:00.000Z' });
    expect(store.state('shop')).toMatchObject({
      ariRetryAt: at(HOUR),
      ariError: expect.stringMatching(/HTTP 500/),
    });
  });

  it('a queue that refuses the batch fails the pass loudly (queue-failed)', async () => {
    const { queue, deps } = bed(inventoryOf(['fresh']));
    queue.fail = true;
    const error = await runScheduler(deps).catch((e: unknown) => e);
    expect(hasCode(error, 'queue-failed')).toBe(true);
  });

  it('a lookahead of one schedule interval enqueues a certificate whose selected time falls before the next run', async () => {
    const inventory = inventoryOf(['shop']);
    const { store, ari, queue, deps } = bed(inventory, { lookaheadMs: HOUR });
    store.seedState(await issued(inventory, 'shop', 1));
    ari.answers.set(certIdOf(1), { window: { start: at(40 * MINUTE), end: at(41 * MINUTE) } });
    await runScheduler(deps);
    expect(queue.requests).toEqual([{ id: 'shop', reason: 'ari-window' }]);
  });
});

describe('runScheduler: minDaysToExpiry', () => {
  it.each<{ name: string; expiries: Array<number | undefined>; deferred?: number; min: number | undefined }>([
    { name: 'none issued yet', expiries: [undefined, undefined], min: undefined },
    { name: 'one issued among new ones', expiries: [undefined, 40.5], min: 40.5 },
    { name: 'the soonest of several', expiries: [60, 10, 40.5], min: 10 },
    { name: 'an expired certificate counts negative', expiries: [60, -2], min: -2 },
    { name: 'a deferred certificate still counts', expiries: [60, 30], deferred: 1, min: 30 },
  ])('$name → $min', async ({ expiries, deferred, min }) => {
    const ids = expiries.map((_, i) => `cert-${i}`);
    const inventory = inventoryOf(ids);
    const { store, deps } = bed(inventory);
    for (const [i, days] of expiries.entries()) {
      if (days === undefined) continue;
      const overrides = i === deferred ? { retryAfter: at(HOUR) } : {};
      store.seedState(await issued(inventory, ids[i]!, i, overrides, at(days * DAY)));
    }
    const report = await runScheduler(deps);
    expect(report.minDaysToExpiry).toBe(min);
  });
});

// Let's Encrypt's 6-day (`shortlived`) and 45-day certificates always have fewer than 14 days left, or soon do: the
// minimum is lifetime-scaled (expiry.ts), so the expiry alarm at 14 fires for a late renewal of any lifetime and a
// healthy short-lived certificate masks no other one.
describe('runScheduler: minDaysToExpiry over short-lived certificates', () => {
  /** A certificate of `lifetime` days with `left` days to go at NOW. */
  async function ofLifetime(inventory: unknown, id: string, n: number, lifetime: number, left: number) {
    const state = await issued(inventory, id, n, {}, at(left * DAY));
    const notBefore = new Date(Date.parse(state.current!.notAfter) - lifetime * DAY).toISOString();
    return { ...state, current: { ...state.current!, notBefore, issuedAt: notBefore } };
  }

  it.each<{ name: string; certificates: Array<[lifetime: number, left: number]>; min: number }>([
    {
      name: 'a 6-day certificate at 3 days left and a 90-day one at 40: no alarm',
      certificates: [
        [6, 3],
        [90, 40],
      ],
      min: 40,
    },
    {
      name: 'the 6-day certificate at half a day left: below 14',
      certificates: [
        [6, 0.5],
        [90, 40],
      ],
      min: 7.5,
    },
    {
      name: 'a 90-day certificate at 10 days left is not hidden',
      certificates: [
        [6, 3],
        [90, 10],
      ],
      min: 10,
    },
    {
      name: 'a 45-day certificate at 10 days left counts 20',
      certificates: [
        [45, 10],
        [90, 40],
      ],
      min: 20,
    },
  ])('$name → $min', async ({ certificates, min }) => {
    const ids = certificates.map((_, i) => `cert-${i}`);
    const inventory = inventoryOf(ids);
    const { store, deps } = bed(inventory);
    for (const [i, [lifetime, left]] of certificates.entries())
      store.seedState(await ofLifetime(inventory, ids[i]!, i, lifetime, left));
    const report = await runScheduler(deps);
    expect(report.minDaysToExpiry).toBeCloseTo(min, 10);
    // What a check reports as days to expiry stays the real days left (the log line, the published metric).
    expect(report.checks.map((c) => c.daysToExpiry)).toEqual(certificates.map(([, left]) => left));
  });

  it('a waiting short-lived certificate counts scaled too, from the index', async () => {
    const inventory = inventoryOf(['short', 'classic']);
    const { store, deps } = bed(inventory, { lookaheadMs: HOUR });
    store.seedState(await ofLifetime(inventory, 'short', 1, 6, 4));
    store.seedState(await ofLifetime(inventory, 'classic', 2, 90, 70));
    const index = new MemoryScheduleIndex();
    await runScheduler({ ...deps, index });
    const later = await runScheduler({ ...deps, index, now: new Date(NOW.getTime() + HOUR) });
    expect(later).toMatchObject({ waiting: 2, checks: [] });
    // 4 days of 6 less the hour: (4 − 1/24) × 90 / 6.
    expect(later.minDaysToExpiry).toBeCloseTo((4 - 1 / 24) * 15, 5);
  });
});

/** Resolves true once `condition` holds, false after `ms`. */
async function eventually(condition: () => boolean, ms = 3_000): Promise<boolean> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > ms) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

/** `remainingMs` that allows `checks` certificate checks to start, then reports the budget spent. */
function budgetOf(checks: number): () => number {
  let left = checks;
  return () => (left-- > 0 ? 1 : 0);
}

describe('runScheduler: enqueued as found', () => {
  it('a check that hangs does not hold back the due certificates found meanwhile', async () => {
    const ids = ['slow', ...Array.from({ length: ENQUEUE_BATCH_SIZE }, (_, i) => `new-${i}`)];
    const inventory = inventoryOf(ids);
    const { store, queue, deps } = bed(inventory, { concurrency: 2 });
    store.seedState(await issued(inventory, 'slow', 1));
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const fetch: Fetch = async () => {
      await released;
      return new Response(JSON.stringify({ suggestedWindow: WINDOW }), {
        headers: { 'content-type': 'application/json' },
      });
    };

    const pass = runScheduler({ ...deps, fetch });

    expect(await eventually(() => queue.batches.length === 1)).toBe(true);
    expect(queue.batches[0]!.map((r) => r.id)).toEqual(ids.slice(1));
    release();
    const report = await pass;
    expect(report.enqueued.map((r) => r.id)).toEqual(ids.slice(1));
    expect(report.checks.find((c) => c.id === 'slow')).toMatchObject({
      reason: 'not-yet',
      ariRequested: true,
    });
  });

  it('25 due certificates go out as batches of 10, 10 and 5, each in inventory order', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => `cert-${String(i).padStart(2, '0')}`);
    const { queue, deps } = bed(inventoryOf(ids), { concurrency: 1 });
    const report = await runScheduler(deps);
    expect(queue.batches.map((b) => b.length)).toEqual([10, 10, 5]);
    expect(queue.requests.map((r) => r.id)).toEqual(ids);
    expect(report.enqueued.map((r) => r.id)).toEqual(ids);
    expect(report).toMatchObject({ budgetSpent: false, leftForNextPass: 0 });
  });

  it('the batches sent before a queue failure stay enqueued; the pass still fails loudly', async () => {
    const ids = Array.from({ length: 15 }, (_, i) => `cert-${String(i).padStart(2, '0')}`);
    const { queue, deps } = bed(inventoryOf(ids), { concurrency: 1 });
    const failing = {
      enqueue: async (requests: readonly { id: string; reason: 'new' }[]) => {
        if (queue.batches.length > 0) throw Object.assign(new Error('SQS down'), { code: 'queue-failed' });
        await queue.enqueue(requests);
      },
    };
    const error = await runScheduler({ ...deps, queue: failing }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('SQS down');
    expect(queue.requests.map((r) => r.id)).toEqual(ids.slice(0, 10));
  });
});

describe('runScheduler: the pass budget', () => {
  it('once the budget is spent no check starts; the rest is counted as left for the next pass, not as errors', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `cert-${i}`);
    const { store, queue, deps } = bed(inventoryOf(ids), { concurrency: 1 });

    const report = await runScheduler({ ...deps, remainingMs: budgetOf(3) });

    // The pass starts at random (0.5 → the sixth certificate), so a spent budget leaves out other ones next time.
    expect(report.checks.map((c) => c.id)).toEqual(['cert-5', 'cert-6', 'cert-7']);
    expect(report).toMatchObject({ budgetSpent: true, leftForNextPass: 7, ariErrors: 0 });
    expect(report.checks.every((c) => c.reason === 'new')).toBe(true);
    expect(queue.requests.map((r) => r.id)).toEqual(['cert-5', 'cert-6', 'cert-7']);
    expect(store.writes.map((w) => w.id)).toEqual(['cert-5', 'cert-6', 'cert-7']);
  });

  it.each<{ random: number; checked: string[] }>([
    { random: 0, checked: ['cert-0', 'cert-1', 'cert-2'] },
    { random: 0.95, checked: ['cert-0', 'cert-1', 'cert-9'] },
    { random: 1, checked: ['cert-0', 'cert-1', 'cert-9'] },
  ])('a pass starting at $random wraps around the inventory: $checked', async ({ random, checked }) => {
    const ids = Array.from({ length: 10 }, (_, i) => `cert-${i}`);
    const { deps } = bed(inventoryOf(ids), { concurrency: 1 });
    const report = await runScheduler({ ...deps, random: () => random, remainingMs: budgetOf(3) });
    expect(report.checks.map((c) => c.id)).toEqual(checked);
  });

  it('a budget spent before the pass starts checks nothing and enqueues nothing', async () => {
    const { queue, deps } = bed(inventoryOf(['a', 'b']));
    const report = await runScheduler({ ...deps, remainingMs: () => -1 });
    expect(report).toMatchObject({ checks: [], enqueued: [], budgetSpent: true, leftForNextPass: 2 });
    expect(queue.batches).toEqual([]);
  });
});

describe('runScheduler against a renewalInfo server that never answers (real sockets)', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('each check costs one short deadline, the pass ends on its budget, and the due certificates are enqueued', async () => {
    const silent = createServer(() => {});
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const renewalInfo = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/ari`;
    const fresh = ['fresh-0', 'fresh-1', 'fresh-2'];
    const live = Array.from({ length: 100 }, (_, i) => `live-${i}`);
    const inventory = inventoryOf([...fresh, ...live]);
    const { store, queue, deps } = bed(inventory, { concurrency: 2 });
    for (const [i, id] of live.entries()) store.seedState(await issued(inventory, id, i));
    const started = performance.now();
    const budgetMs = 400;

    const report = await runScheduler({
      ...deps,
      fetch: (url, init) => globalThis.fetch(url, init),
      renewalInfoUrl: async () => renewalInfo,
      ariTimeoutMs: 100,
      random: () => 0,
      remainingMs: () => budgetMs - (performance.now() - started),
    });
    const took = performance.now() - started;

    // Without the budget: 100 checks × 100 ms / 2 at a time = 5 s at least.
    expect(took).toBeLessThan(2_500);
    expect(report.budgetSpent).toBe(true);
    expect(report.leftForNextPass).toBeGreaterThan(50);
    expect(report.checks.length + report.leftForNextPass).toBe(103);
    const asked = report.checks.filter((c) => c.ariRequested);
    expect(asked.length).toBeGreaterThan(0);
    for (const check of asked) expect(check.ariError).toMatch(/did not answer within 100 ms/);
    expect(report.ariErrors).toBe(asked.length);
    expect(queue.requests).toEqual(fresh.map((id) => ({ id, reason: 'new' })));
  });
});

describe('runScheduler: a window the CA moved (issue 14)', () => {
  const MOVED = { start: '2025-03-31T00:00:00.000Z', end: '2025-04-01T00:00:00.000Z' };

  /** `live` with a stored window whose Retry-After has passed, and the CA now answering `MOVED`. */
  async function movedBed(events: SchedulerDeps['events']) {
    const b = await liveWindowBed('2025-04-12T00:00:00.000Z');
    b.ari.answers.set(certIdOf(1), { window: MOVED, explanationURL: 'https://ca.test/incident' });
    return { ...b, deps: { ...b.deps, ...(events ? { events } : {}) } };
  }

  it('publishes one ARI Window Moved event with the old and new window once the new one is stored', async () => {
    const events = new MemoryEvents();
    const { deps, store } = await movedBed(events);
    const report = await runScheduler(deps);
    expect(report.checks[0]).toMatchObject({ id: 'live', due: true, reason: 'ari-window' });
    expect(report.checks[0]!.windowMoved).toMatchObject({ previous: WINDOW, window: MOVED });
    expect(store.state('live')?.ari).toMatchObject({ windowStart: MOVED.start });
    expect(events.published).toEqual([
      {
        detailType: 'ARI Window Moved',
        detail: expect.objectContaining({
          id: 'live',
          previousWindow: WINDOW,
          window: MOVED,
          explanationUrl: 'https://ca.test/incident',
        }),
      },
    ]);
  });

  it('with the schedule index, a moved window is still stored and announced', async () => {
    const events = new MemoryEvents();
    const { deps, store } = await movedBed(events);
    await runScheduler({ ...deps, index: new MemoryScheduleIndex() });
    expect(store.writes).toEqual([{ op: 'putState', id: 'live', serial: '01' }]);
    expect(store.state('live')?.ari).toMatchObject({ windowStart: MOVED.start, windowEnd: MOVED.end });
    expect(events.published.map((e) => e.detailType)).toEqual(['ARI Window Moved']);
  });

  it('publishes nothing in a dry run (acme-ari check), but still reports the move', async () => {
    const events = new MemoryEvents();
    const { deps } = await movedBed(events);
    const report = await runScheduler(deps, { dryRun: true });
    expect(report.checks[0]!.windowMoved).toBeDefined();
    expect(events.published).toEqual([]);
  });

  it('keeps the check and its enqueued renewal when the bus refuses the event, saying why', async () => {
    const refusing = {
      publish: async () => {
        throw new AcmeAwsError('event-failed', 'PutEvents refused (test)');
      },
    };
    const { deps, queue } = await movedBed(refusing);
    const report = await runScheduler(deps);
    expect(report.checks[0]).toMatchObject({
      due: true,
      windowMovedEventError: expect.stringMatching(/refused/),
    });
    expect(queue.requests).toEqual([{ id: 'live', reason: 'ari-window' }]);
  });
});

// Most refreshes confirm the window the CA gave last time: rewriting state.json for them was nearly all of the S3
// bill at 100,000 certificates. With the index, only what the renewer or `status` would see changed is written.
describe('runScheduler: a refresh that confirms the stored window', () => {
  const SELECTED = '2025-04-12T00:00:00.000Z';

  async function confirmedBed(
    answer: { window: typeof WINDOW; explanationURL?: string },
    lookaheadMs?: number,
  ) {
    const b = await liveWindowBed(SELECTED, lookaheadMs === undefined ? {} : { lookaheadMs });
    b.ari.answers.set(certIdOf(1), answer);
    const index = new MemoryScheduleIndex();
    const events = new MemoryEvents();
    return { ...b, index, events, deps: { ...b.deps, index, events } };
  }

  it('writes no state; the next check is in the index, and the next pass asks nothing before it', async () => {
    const { deps, store, ari, index, events } = await confirmedBed({ window: WINDOW });
    const report = await runScheduler(deps);
    // stateChanged false: the pass logs no line for it (scheduler-report), only counts it in the summary.
    expect(report.checks[0]).toMatchObject({
      id: 'live',
      due: false,
      ariRequested: true,
      stateChanged: false,
    });
    expect(store.writes).toEqual([]);
    expect(store.state('live')?.ari?.selectedTime).toBe(SELECTED);
    expect(events.published).toEqual([]);
    const nextCheckAt = report.checks[0]!.nextCheckAt!;
    expect(Date.parse(nextCheckAt)).toBeGreaterThan(NOW.getTime());

    const before = await runScheduler({ ...deps, now: new Date(Date.parse(nextCheckAt) - MINUTE) });
    expect(before).toMatchObject({ waiting: 1, checks: [] });
    expect(ari.requests).toHaveLength(1);
    expect(index.saves).toBe(2);
  });

  it('once the index says it is time, the stale state asks the CA again (never later than the index)', async () => {
    const { deps, store, ari } = await confirmedBed({ window: WINDOW });
    const first = await runScheduler(deps);
    const later = await runScheduler({ ...deps, now: new Date(Date.parse(first.checks[0]!.nextCheckAt!)) });
    expect(later.checks[0]).toMatchObject({ ariRequested: true });
    expect(ari.requests).toHaveLength(2);
    expect(store.writes).toEqual([]);
  });

  it('a pass that reads it early (the lookahead) honours the Retry-After the index kept, not the stale state', async () => {
    const { deps, store, ari } = await confirmedBed({ window: WINDOW }, HOUR);
    const first = await runScheduler(deps);
    const nextCheckAt = Date.parse(first.checks[0]!.nextCheckAt!);
    // Within the lookahead: the state is read, but the CA is not asked before its Retry-After.
    const early = await runScheduler({ ...deps, now: new Date(nextCheckAt - 30 * MINUTE) });
    expect(early.checks[0]).toMatchObject({ id: 'live', ariRequested: false, due: false });
    expect(Date.parse(early.checks[0]!.nextCheckAt!)).toBe(nextCheckAt);
    expect(ari.requests).toHaveLength(1);
    const due = await runScheduler({ ...deps, now: new Date(nextCheckAt + MINUTE) });
    expect(due.checks[0]).toMatchObject({ ariRequested: true });
    expect(ari.requests).toHaveLength(2);
    expect(store.writes).toEqual([]);
  });

  it('a new explanation URL for the same window is written (status shows it)', async () => {
    const { deps, store } = await confirmedBed({ window: WINDOW, explanationURL: 'https://ca.test/why' });
    const report = await runScheduler(deps);
    expect(store.writes).toHaveLength(1);
    expect(report.checks[0]).toMatchObject({ stateChanged: true });
    expect(store.state('live')?.ari?.explanationUrl).toBe('https://ca.test/why');
  });

  it('without the index (a local run) the state stays the only record of the next check, and is written', async () => {
    const { deps, store } = await confirmedBed({ window: WINDOW });
    const { index: _index, ...withoutIndex } = deps;
    await runScheduler(withoutIndex);
    expect(store.writes).toHaveLength(1);
    expect(Date.parse(store.state('live')!.ari!.nextCheckAt)).toBeGreaterThan(NOW.getTime());
  });
});
