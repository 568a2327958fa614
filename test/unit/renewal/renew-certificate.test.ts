import { beforeAll, describe, expect, it } from 'vitest';
import { certId } from '../../../functions/core/ari';
import { caFor, parseInventory } from '../../../functions/core/config/inventory';
import { hasCode } from '../../../functions/core/errors';
import { parseCertificate } from '../../../functions/core/pki';
import { configHash } from '../../../functions/core/renewal/config-hash';
import {
  LEASE_TTL_MS,
  type RenewerDeps,
  type RenewRequest,
  renewCertificate,
} from '../../../functions/core/renewal/renew-certificate';
import type { CertificateState } from '../../../functions/core/renewal/state';
import {
  FixedClock,
  instantSleep,
  MemoryDns,
  MemoryEvents,
  MemoryImporter,
  MemoryLease,
  MemorySecrets,
  MemoryStore,
  seededRandom,
} from '../../support/fakes';
import { UNUSED_TRUST_ANCHOR_PEM } from '../acme/fake-ca';
import { buildTestChain, FIXED, type TestChain } from '../pki/fixtures';

const DIRECTORY = 'https://ca.test/directory';
const OWNER = 'request-1';
const ARN_US = 'arn:aws:acm:us-east-1:123456789012:certificate/shop-us';

/** One certificate in two ACM regions. */
function inventory(entry: Record<string, unknown> = {}) {
  return {
    cas: {
      test: {
        directoryUrl: DIRECTORY,
        contact: ['mailto:ops@example.test'],
        // Nothing here reaches the CA's certificate download, so no chain is ever verified against it.
        trustAnchors: [UNUSED_TRUST_ANCHOR_PEM],
      },
    },
    certificates: [
      {
        id: 'shop',
        domains: ['example.test', '*.example.test'],
        ca: 'test',
        acmRegions: ['us-east-1', 'eu-west-1'],
        tags: { team: 'web' },
        ...entry,
      },
    ],
  };
}

let chain: TestChain;
let serial: string;
let leafCertId: string;

beforeAll(async () => {
  chain = await buildTestChain();
  const parsed = parseCertificate(chain.leaf.pem);
  serial = parsed.serialHex;
  leafCertId = certId({ authorityKeyId: parsed.authorityKeyId!, serialDer: parsed.serialDer });
});

/** The state the renewer wrote when it issued the fixture leaf; its ARI window is weeks away. */
async function issuedState(
  inv: ReturnType<typeof inventory>,
  overrides: Partial<CertificateState> = {},
): Promise<CertificateState> {
  const parsed = parseInventory(inv);
  const config = parsed.certificates[0]!;
  return {
    version: 1,
    id: 'shop',
    configHash: await configHash(config, caFor(parsed, config.ca)),
    current: {
      serial,
      notBefore: FIXED.issued.toISOString(),
      notAfter: FIXED.expires.toISOString(),
      domains: ['example.test', '*.example.test'],
      keyType: 'ec-p256',
      issuer: 'CN=Test Intermediate',
      directoryUrl: DIRECTORY,
      accountUrl: 'https://ca.test/acct/1',
      certId: leafCertId,
      issuedAt: FIXED.issued.toISOString(),
    },
    ari: {
      certId: leafCertId,
      windowStart: '2025-04-29T00:00:00.000Z',
      windowEnd: '2025-05-01T00:00:00.000Z',
      selectedTime: '2025-04-30T00:00:00.000Z',
      nextCheckAt: '2025-04-01T18:00:00.000Z',
      checkedAt: FIXED.now.toISOString(),
    },
    acm: {},
    retiredAcmArns: [],
    failures: 0,
    lastResult: 'renewed',
    lastReason: 'new',
    ...overrides,
  };
}

/** The renewer wired to fakes; any attempt to reach the CA fails the test loudly. */
async function bed(options: { inventory?: unknown; state?: CertificateState | null } = {}) {
  const inv = 'inventory' in options ? options.inventory : inventory();
  const store = new MemoryStore(inv);
  const clock = new FixedClock(FIXED.now);
  const lease = new MemoryLease();
  const importer = new MemoryImporter();
  const events = new MemoryEvents();
  const progress: Array<{ event: string; fields: Record<string, unknown> }> = [];
  const caReached: string[] = [];
  if (options.state !== null) {
    store.seedState(options.state ?? (await issuedState(inventory())));
    store.seedCertificate('shop', {
      certPem: chain.leaf.pem,
      chainPem: chain.intermediate.pem,
      fullchainPem: chain.fullchainPem,
      privateKeyPem: chain.leaf.privateKeyPem,
    });
  }
  const deps: RenewerDeps = {
    store,
    lease,
    dns: new MemoryDns(),
    importer,
    events,
    secrets: new MemorySecrets(),
    transport: (directoryUrl) => {
      caReached.push(directoryUrl);
      throw new Error(`test: the CA at ${directoryUrl} must not be reached on this path`);
    },
    fetch: async (url) => {
      caReached.push(url);
      throw new Error(`test: ${url} must not be fetched on this path`);
    },
    clock,
    sleep: instantSleep(clock),
    random: seededRandom(7),
    owner: OWNER,
    progress: (event, fields) => progress.push({ event, fields }),
  };
  return { store, clock, lease, importer, events, progress, caReached, deps };
}

const REQUEST: RenewRequest = { id: 'shop', reason: 'ari-window' };

/** What an import request carried, without the private key (which must never reach test output). */
const summary = (r: MemoryImporter['requests'][number]) => ({
  region: r.region,
  certificateId: r.certificateId,
  serial: r.serial,
  keyType: r.keyType,
  arn: r.arn,
  arnKeyType: r.arnKeyType,
  tags: r.tags,
  certPemIsCurrent: r.files.certPem === chain.leaf.pem,
  fullchainIsCurrent: r.files.fullchainPem === chain.fullchainPem,
});

describe('renewCertificate: requests it cannot act on', () => {
  it.each<{ name: string; inventory: unknown; id: string; note: RegExp }>([
    {
      name: 'an id not in the inventory',
      inventory: inventory(),
      id: 'gone',
      note: /"gone" is not a valid entry/,
    },
    {
      name: 'an entry that fails validation',
      inventory: inventory({ domains: ['not a domain'] }),
      id: 'shop',
      note: /certificates\[0\]\.domains\[0\]: "not a domain"/,
    },
    { name: 'no inventory at all', inventory: undefined, id: 'shop', note: /"shop" is not a valid entry/ },
  ])('$name → skipped, a failure event, nothing else', async ({ inventory: inv, id, note }) => {
    const { store, lease, importer, events, caReached, deps } = await bed({ inventory: inv });

    const outcome = await renewCertificate(deps, { id, reason: 'retry' });

    expect(outcome).toMatchObject({ id, result: 'skipped', reason: 'retry', imports: [] });
    expect(outcome.notes.join('\n')).toMatch(note);
    expect(events.published).toEqual([
      {
        detailType: 'Certificate Renewal Failed',
        detail: { id, reason: 'retry', code: 'config-invalid', error: expect.stringMatching(note) },
      },
    ]);
    expect(lease.acquired).toEqual([]);
    expect(store.writes).toEqual([]);
    expect(importer.requests).toEqual([]);
    expect(caReached).toEqual([]);
  });
});

describe('renewCertificate: the lease', () => {
  it('another live holder → busy, and nothing is read from the CA, written or imported', async () => {
    const { store, lease, importer, events, progress, caReached, deps } = await bed();
    const before = store.state('shop');
    await lease.acquire('shop', 'other-renewer', LEASE_TTL_MS, new Date(FIXED.now.getTime() - 60_000));

    const outcome = await renewCertificate(deps, REQUEST);

    expect(outcome).toMatchObject({ id: 'shop', result: 'busy', imports: [] });
    expect(store.writes).toEqual([]);
    expect(store.state('shop')).toEqual(before);
    expect(importer.requests).toEqual([]);
    expect(events.published).toEqual([]);
    expect(caReached).toEqual([]);
    expect(progress.map((p) => p.event)).toEqual(['lease_busy']);
    // The other holder keeps its lease: busy must not release what it does not hold.
    expect(lease.held.get('shop')?.owner).toBe('other-renewer');
  });

  it('a stale lease (its holder crashed) is taken over, and released at the end', async () => {
    const { lease, importer, deps } = await bed();
    await lease.acquire(
      'shop',
      'crashed-renewer',
      LEASE_TTL_MS,
      new Date(FIXED.now.getTime() - LEASE_TTL_MS - 1),
    );

    const outcome = await renewCertificate(deps, REQUEST);

    expect(outcome.result).toBe('imported');
    expect(importer.requests).toHaveLength(2);
    expect(lease.acquired.at(-1)).toEqual({ id: 'shop', owner: OWNER, ttlMs: LEASE_TTL_MS });
    expect(lease.held.has('shop')).toBe(false);
  });
});

describe('renewCertificate: not due, so ACM is made to match the stored certificate', () => {
  it('imports only the region whose recorded serial differs, then is up to date', async () => {
    const state = await issuedState(inventory(), {
      acm: { 'us-east-1': { arn: ARN_US, serial, keyType: 'ec-p256' } },
    });
    const { store, lease, importer, events, caReached, deps } = await bed({ state });

    const first = await renewCertificate(deps, REQUEST);

    expect(first).toMatchObject({
      id: 'shop',
      result: 'imported',
      reason: 'not-yet',
      serial,
      notAfter: FIXED.expires.toISOString(),
      imports: [
        { region: 'eu-west-1', imported: true, arn: expect.stringMatching(/^arn:aws:acm:eu-west-1:/) },
      ],
    });
    expect(importer.requests.map(summary)).toEqual([
      {
        region: 'eu-west-1',
        certificateId: 'shop',
        serial,
        keyType: 'ec-p256',
        arn: undefined,
        arnKeyType: undefined,
        tags: { team: 'web' },
        certPemIsCurrent: true,
        fullchainIsCurrent: true,
      },
    ]);
    const saved = store.state('shop');
    expect(saved?.acm).toEqual({
      'us-east-1': { arn: ARN_US, serial, keyType: 'ec-p256' },
      'eu-west-1': { arn: first.imports[0]!.arn, serial, keyType: 'ec-p256' },
    });
    expect(saved?.lastResult).toBe('imported');
    expect(saved?.current).toEqual(state.current);
    expect(store.writes).toEqual([{ op: 'putState', id: 'shop', serial }]);
    expect(caReached).toEqual([]);
    expect(lease.held.has('shop')).toBe(false);

    const second = await renewCertificate(deps, REQUEST);

    expect(second).toMatchObject({ result: 'up-to-date', reason: 'not-yet', serial, imports: [] });
    expect(importer.requests).toHaveLength(1);
    expect(store.writes).toHaveLength(1);
    // The catch-up import is announced once (so a recovery is visible), and the up-to-date call says nothing.
    expect(events.published).toHaveLength(1);
    expect(events.published[0]).toMatchObject({
      detailType: 'Certificate Renewed',
      detail: { id: 'shop', importOnly: true, serial },
    });
  });

  it.each<{
    name: string;
    recorded?: { serial: string; keyType: 'ec-p256' | 'rsa-2048' };
    sameArn: boolean;
    retired: boolean;
  }>([
    { name: 'nothing recorded → a new ARN', sameArn: false, retired: false },
    {
      name: 'an older serial, same key type → re-imported in place',
      recorded: { serial: '01', keyType: 'ec-p256' },
      sameArn: true,
      retired: false,
    },
    {
      name: 'an older serial with another key type → a new ARN, the old one retired',
      recorded: { serial: '01', keyType: 'rsa-2048' },
      sameArn: false,
      retired: true,
    },
  ])('$name', async ({ recorded, sameArn, retired }) => {
    const inv = inventory({ acmRegions: ['us-east-1'] });
    const state = await issuedState(
      inv,
      recorded ? { acm: { 'us-east-1': { arn: ARN_US, ...recorded } } } : {},
    );
    const { store, importer, deps } = await bed({ inventory: inv, state });

    const outcome = await renewCertificate(deps, REQUEST);

    expect(outcome.result).toBe('imported');
    expect(importer.requests.map(summary)).toMatchObject([
      { region: 'us-east-1', arn: recorded ? ARN_US : undefined, arnKeyType: recorded?.keyType },
    ]);
    const saved = store.state('shop')!;
    expect(saved.acm['us-east-1']?.serial).toBe(serial);
    expect(saved.acm['us-east-1']?.arn === ARN_US).toBe(sameArn);
    expect(saved.retiredAcmArns).toEqual(
      retired ? [{ region: 'us-east-1', arn: ARN_US, retiredAt: FIXED.now.toISOString() }] : [],
    );
  });

  it.each<{ name: string; acmRegions: string[]; defaultRegion?: string; regions: string[] }>([
    {
      name: 'configured regions',
      acmRegions: ['eu-central-1', 'us-east-1'],
      regions: ['eu-central-1', 'us-east-1'],
    },
    {
      name: "none configured → the deployment's region",
      acmRegions: [],
      defaultRegion: 'eu-west-2',
      regions: ['eu-west-2'],
    },
    { name: 'none configured, no default → nothing to import', acmRegions: [], regions: [] },
  ])('$name', async ({ acmRegions, defaultRegion, regions }) => {
    const inv = inventory({ acmRegions });
    const { importer, deps } = await bed({ inventory: inv, state: await issuedState(inv) });
    const outcome = await renewCertificate(deps, { ...REQUEST, ...(defaultRegion ? { defaultRegion } : {}) });
    expect(importer.requests.map((r) => r.region)).toEqual(regions);
    expect(outcome.result).toBe(regions.length > 0 ? 'imported' : 'up-to-date');
  });
});

describe('renewCertificate: import failures', () => {
  it("one region failing keeps the other region's import in state and throws import-failed", async () => {
    const { store, lease, importer, events, deps } = await bed();
    importer.failRegions.add('eu-west-1');

    const error = await renewCertificate(deps, REQUEST).catch((e: unknown) => e);

    expect(hasCode(error, 'import-failed')).toBe(true);
    expect((error as Error).message).toMatch(/eu-west-1: .*refused the import/);
    expect(importer.requests.map((r) => r.region)).toEqual(['us-east-1', 'eu-west-1']);
    const saved = store.state('shop')!;
    expect(Object.keys(saved.acm)).toEqual(['us-east-1']);
    expect(saved.acm['us-east-1']).toMatchObject({ serial, keyType: 'ec-p256' });
    expect(saved).toMatchObject({ failures: 1, lastResult: 'failed', lastReason: 'ari-window' });
    expect(saved.lastError).toMatch(/eu-west-1/);
    expect(saved.retryAfter).toBeUndefined();
    expect(events.published).toEqual([
      {
        detailType: 'Certificate Renewal Failed',
        detail: expect.objectContaining({ id: 'shop', code: 'import-failed', failures: 1 }),
      },
    ]);
    expect(lease.held.has('shop')).toBe(false);

    // The queue's retry: only the failed region is imported, and us-east-1 is not imported a second time.
    importer.failRegions.clear();
    const retry = await renewCertificate(deps, { id: 'shop', reason: 'retry' });
    expect(retry.result).toBe('imported');
    expect(importer.requests.map((r) => r.region)).toEqual(['us-east-1', 'eu-west-1', 'eu-west-1']);
    expect(Object.keys(store.state('shop')!.acm).sort()).toEqual(['eu-west-1', 'us-east-1']);
  });

  it('a bus that refuses the failure event: the import error still reaches the queue and the loss is said', async () => {
    const { importer, events, progress, deps } = await bed();
    importer.failRegions.add('eu-west-1');
    events.publish = async () => {
      throw new Error('EventBridge: AccessDeniedException');
    };

    const error = await renewCertificate(deps, REQUEST).catch((e: unknown) => e);

    expect(hasCode(error, 'import-failed')).toBe(true);
    expect(progress).toContainEqual({
      event: 'failure_event_not_published',
      fields: { id: 'shop', error: expect.stringMatching(/AccessDeniedException/) },
    });
  });

  // BUG (functions/core/renewal/renew-certificate.ts, the `!mustRenew` branch): a successful re-import saves
  // `{ ...imported.state, lastResult: 'imported' }` and leaves `failures`, `lastError` and `lastProblem` from the
  // failed attempt in place. `status` (functions/cli/status-report.ts) then shows "1 failure" and lists the old
  // ACM error as a current problem for a certificate that has fully recovered.
  it('a successful re-import clears the failure count and the last error', async () => {
    const { store, importer, deps } = await bed();
    importer.failRegions.add('eu-west-1');
    await renewCertificate(deps, REQUEST).catch(() => {});
    importer.failRegions.clear();

    await renewCertificate(deps, { id: 'shop', reason: 'retry' });

    const saved = store.state('shop')!;
    expect(saved.lastResult).toBe('imported');
    expect(saved.failures).toBe(0);
    expect(saved.lastError).toBeUndefined();
  });

  it('PEM files missing while the state names a serial → store-failed, recorded, nothing imported', async () => {
    const { store, importer, events, deps } = await bed();
    store.certificates.delete('shop');

    const error = await renewCertificate(deps, REQUEST).catch((e: unknown) => e);

    expect(hasCode(error, 'store-failed')).toBe(true);
    expect((error as Error).message).toContain(serial);
    expect(importer.requests).toEqual([]);
    expect(store.state('shop')).toMatchObject({ failures: 1, lastResult: 'failed' });
    expect(events.published.map((e) => e.detail.code)).toEqual(['store-failed']);
  });
});

describe('renewCertificate: agreeing with the scheduler', () => {
  it('with the lookahead the scheduler used, a time selected before the next run is due (reaches the CA)', async () => {
    const state = await issuedState(inventory(), {
      ari: {
        certId: leafCertId,
        windowStart: '2025-04-01T12:00:00.000Z',
        windowEnd: '2025-04-01T14:00:00.000Z',
        selectedTime: '2025-04-01T12:40:00.000Z',
        nextCheckAt: '2025-04-01T18:00:00.000Z',
        checkedAt: FIXED.now.toISOString(),
      },
    });
    const without = await bed({ state });
    expect((await renewCertificate(without.deps, REQUEST)).result).toBe('imported');
    expect(without.caReached).toEqual([]);

    const withLookahead = await bed({ state });
    const error = await renewCertificate(withLookahead.deps, { ...REQUEST, lookaheadMs: 60 * 60_000 }).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(/must not be reached/);
    expect(withLookahead.caReached).toEqual([DIRECTORY]);
    expect(withLookahead.importer.requests).toEqual([]);
  });

  // BUG (functions/core/renewal/renew-certificate.ts vs check-certificate.ts): the scheduler treats a state
  // without `configHash` as unchanged (`state.configHash !== undefined && …`), but the renewer computes
  // `configChanged: current !== undefined && state.configHash !== hash`, so for such a state (written by hand or
  // by an older version) any message — a duplicate, a retry, `acme-ari renew` without --force — places a new
  // order with reason `changed` although the scheduler said the certificate is not due.
  it('a state without configHash is not due for the renewer either', async () => {
    const state = await issuedState(inventory(), { configHash: undefined });
    const { caReached, deps } = await bed({ state });

    const outcome = await renewCertificate(deps, REQUEST).catch((e: unknown) => e);

    expect(caReached).toEqual([]);
    expect(outcome).toMatchObject({ result: 'imported', reason: 'not-yet' });
  });
});

describe('renewCertificate: at most one forced order per certificate per interval', () => {
  const MINUTE = 60_000;
  it.each<{ name: string; lastForcedMinutesAgo?: number; limitMinutes?: number; orders: boolean }>([
    { name: 'a first forced request orders', orders: true },
    { name: 'a second one 10 minutes later is limited', lastForcedMinutesAgo: 10, orders: false },
    { name: 'one 61 minutes later orders again', lastForcedMinutesAgo: 61, orders: true },
    { name: 'a limit of 0 never limits', lastForcedMinutesAgo: 1, limitMinutes: 0, orders: true },
    {
      name: 'a 3-hour limit still holds after 2 hours',
      lastForcedMinutesAgo: 120,
      limitMinutes: 180,
      orders: false,
    },
  ])('$name', async ({ lastForcedMinutesAgo, limitMinutes, orders }) => {
    const lastForcedAt =
      lastForcedMinutesAgo === undefined
        ? undefined
        : new Date(FIXED.now.getTime() - lastForcedMinutesAgo * MINUTE).toISOString();
    const t = await bed({ state: await issuedState(inventory(), lastForcedAt ? { lastForcedAt } : {}) });
    const request: RenewRequest = {
      id: 'shop',
      reason: 'manual',
      force: true,
      ...(limitMinutes === undefined ? {} : { forcedRenewalMinIntervalMs: limitMinutes * MINUTE }),
    };
    if (orders) {
      // Past the limit the renewer goes to the CA (which this bed refuses loudly) and has recorded the attempt.
      await expect(renewCertificate(t.deps, request)).rejects.toThrow(/must not be reached/);
      expect(t.caReached).toEqual([DIRECTORY]);
      expect((await t.store.getState('shop'))?.lastForcedAt).toBe(FIXED.now.toISOString());
    } else {
      const outcome = await renewCertificate(t.deps, request);
      expect(outcome.result).toBe('limited');
      expect(outcome.notes[0]).toMatch(/next is allowed from/);
      expect(t.caReached).toEqual([]);
      expect((await t.store.getState('shop'))?.lastForcedAt).toBe(lastForcedAt);
    }
  });

  it('does not limit an unforced manual request for a certificate that is due', async () => {
    const lastForcedAt = new Date(FIXED.now.getTime() - 5 * MINUTE).toISOString();
    const t = await bed({
      state: await issuedState(inventory(), { lastForcedAt, configHash: 'changed-since' }),
    });
    await expect(renewCertificate(t.deps, { id: 'shop', reason: 'manual', force: true })).rejects.toThrow(
      /must not be reached/,
    );
    expect(t.caReached).toEqual([DIRECTORY]);
  });
});
