/**
 * The renewal defects of issue 11, each through the whole renewer against a scripted CA that spans several
 * attempts: an interrupted change to a shorter-lived profile, a kept order whose certificate keeps failing
 * verification, a profile the CA does not advertise, and a scheduler pass that writes after a renewal finished.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AcmeTransport } from '../../../functions/core/acme';
import { certId } from '../../../functions/core/ari';
import { caFor, parseInventory } from '../../../functions/core/config/inventory';
import { AcmeAwsError, hasCode } from '../../../functions/core/errors';
import type { Fetch } from '../../../functions/core/http';
import { parseCertificate } from '../../../functions/core/pki';
import { configHash } from '../../../functions/core/renewal/config-hash';
import { type RenewerDeps, renewCertificate } from '../../../functions/core/renewal/renew-certificate';
import { runScheduler } from '../../../functions/core/renewal/run-scheduler';
import { type CertificateState, MAX_FAILED_ATTEMPTS_PER_ORDER } from '../../../functions/core/renewal/state';
import {
  FakeAriServer,
  FixedClock,
  instantSleep,
  MemoryDns,
  MemoryEvents,
  MemoryImporter,
  MemoryLease,
  MemoryQueue,
  MemorySecrets,
  MemoryStore,
  seededRandom,
} from '../../support/fakes';
import { json } from '../acme/fake-ca';
import { buildTestChain, FIXED, type TestChain } from '../pki/fixtures';
import { ACCOUNT_URL, type CertificateScript, DIRECTORY_URL, ORIGIN, scriptedCa } from './scripted-ca';

const NAMES = ['example.test', '*.example.test'] as const;
const DAY = 24 * 60 * 60_000;

let chain: TestChain;
let oldSerial: string;
let oldCertId: string;

beforeAll(async () => {
  chain = await buildTestChain({ names: [...NAMES] });
  const parsed = parseCertificate(chain.leaf.pem);
  oldSerial = parsed.serialHex;
  oldCertId = certId({ authorityKeyId: parsed.authorityKeyId!, serialDer: parsed.serialDer });
});

function inventory(entry: Record<string, unknown> = {}) {
  return {
    cas: { fake: { directoryUrl: DIRECTORY_URL, trustAnchors: [chain.root.pem] } },
    certificates: [{ id: 'shop', domains: [...NAMES], ca: 'fake', acmRegions: ['us-east-1'], ...entry }],
  };
}

/** The state after the fixture leaf was issued for `issuedFor` (its ARI window weeks away). */
async function issuedState(
  issuedFor: ReturnType<typeof inventory>,
  ari: { nextCheckAt?: string } = {},
): Promise<CertificateState> {
  const parsed = parseInventory(issuedFor);
  const config = parsed.certificates[0]!;
  return {
    version: 1,
    id: 'shop',
    configHash: await configHash(config, caFor(parsed, config.ca)),
    current: {
      serial: oldSerial,
      notBefore: FIXED.issued.toISOString(),
      notAfter: FIXED.expires.toISOString(),
      domains: [...NAMES],
      keyType: 'ec-p256',
      issuer: 'CN=Test Intermediate',
      directoryUrl: DIRECTORY_URL,
      accountUrl: ACCOUNT_URL,
      certId: oldCertId,
      issuedAt: FIXED.issued.toISOString(),
    },
    ari: {
      certId: oldCertId,
      windowStart: '2025-05-01T00:00:00.000Z',
      windowEnd: '2025-05-03T00:00:00.000Z',
      selectedTime: '2025-05-02T00:00:00.000Z',
      nextCheckAt: ari.nextCheckAt ?? '2025-04-01T18:00:00.000Z',
      checkedAt: '2025-04-01T05:00:00.000Z',
    },
    acm: {},
    retiredAcmArns: [],
    failures: 0,
  };
}

/** The renewer wired to a scripted CA and in-memory ports. */
async function bed(options: { inventory: unknown; state: CertificateState; script: CertificateScript }) {
  const store = new MemoryStore(options.inventory);
  store.seedState(options.state);
  store.seedCertificate('shop', {
    certPem: chain.leaf.pem,
    chainPem: chain.intermediate.pem,
    fullchainPem: chain.fullchainPem,
    privateKeyPem: chain.leaf.privateKeyPem,
  });
  const clock = new FixedClock(FIXED.now);
  const sleep = instantSleep(clock);
  const scripted = scriptedCa(chain, NAMES, options.script, () => clock.now());
  const dns = new MemoryDns();
  const events = new MemoryEvents();
  const ariFetch: Fetch = async () =>
    json({ suggestedWindow: { start: '2025-06-01T00:00:00Z', end: '2025-06-03T00:00:00Z' } }, 200, {
      'retry-after': '21600',
    });
  const deps: RenewerDeps = {
    store,
    lease: new MemoryLease(),
    dns,
    importer: new MemoryImporter(),
    events,
    secrets: new MemorySecrets(),
    transport: (directoryUrl) => new AcmeTransport({ directoryUrl, fetch: scripted.ca.fetch, clock, sleep }),
    fetch: ariFetch,
    clock,
    sleep,
    random: seededRandom(3),
    owner: 'request-1',
  };
  return { store, clock, dns, events, scripted, deps };
}

/** A DNS provider whose first `present` dies, as a renewer killed right after the order checkpoint. */
function interruptOnce(dns: MemoryDns): MemoryDns {
  let first = true;
  const present = dns.present.bind(dns);
  dns.present = async (records, hints) => {
    if (first) {
      first = false;
      throw new AcmeAwsError('dns-failed', 'the attempt was interrupted after the order was saved (test)');
    }
    return present(records, hints);
  };
  return dns;
}

describe('issue 11 (a): a change to a shorter-lived profile, interrupted after the order was saved', () => {
  // Before: the resumed attempt was relabelled `retry`, the "not sooner than the current one" rule refused the
  // 6-day certificate, and the kept order was retried with the same result forever.
  it('resumes the order for the reason it was placed for (changed) and renews with the shorter certificate', async () => {
    const before = inventory();
    const after = inventory({ profile: 'shortlived' });
    const t = await bed({
      inventory: after,
      state: await issuedState(before),
      script: {
        profiles: { default: '90 days', shortlived: '6 days' },
        notAfter: () => new Date(FIXED.now.getTime() + 6 * DAY),
      },
    });
    interruptOnce(t.dns);

    const first = await renewCertificate(t.deps, { id: 'shop', reason: 'changed' }).catch((e: unknown) => e);
    expect(hasCode(first, 'dns-failed')).toBe(true);
    const kept = t.store.state('shop')!;
    expect(kept.pendingOrder).toMatchObject({ url: `${ORIGIN}/o/1`, reason: 'changed', failedAttempts: 1 });

    // The queue's retry says `retry`; the order still carries why it was placed.
    const retry = await renewCertificate(t.deps, { id: 'shop', reason: 'retry' });

    expect(retry).toMatchObject({ result: 'renewed', reason: 'changed', resumed: true });
    expect(t.scripted.newOrders()).toEqual([expect.objectContaining({ profile: 'shortlived' })]);
    const saved = t.store.state('shop')!;
    expect(saved.current!.notAfter).toBe(new Date(FIXED.now.getTime() + 6 * DAY).toISOString());
    expect(saved).toMatchObject({ lastResult: 'renewed', lastReason: 'changed', failures: 0 });
    expect(saved.pendingOrder).toBeUndefined();
  });
});

describe('issue 11 (b): a kept order whose certificate keeps failing verification', () => {
  // Before: every attempt resumed the same order, downloaded the same certificate and failed the same way.
  it(`is abandoned after ${MAX_FAILED_ATTEMPTS_PER_ORDER} failed attempts; a new order renews, and the state says so`, async () => {
    const t = await bed({
      inventory: inventory(),
      state: { ...(await issuedState(inventory())), configHash: 'changed-since' },
      script: {
        // The first order's certificate names something else; the second is right.
        names: (order) => (order === 1 ? ['www.evil.test'] : NAMES),
        notAfter: () => new Date(FIXED.now.getTime() + 90 * DAY),
      },
    });

    for (let attempt = 1; attempt <= MAX_FAILED_ATTEMPTS_PER_ORDER; attempt++) {
      const error = await renewCertificate(t.deps, { id: 'shop', reason: 'retry' }).catch((e: unknown) => e);
      expect(hasCode(error, 'verification-failed')).toBe(true);
      expect(t.store.state('shop')!.pendingOrder).toMatchObject({
        url: `${ORIGIN}/o/1`,
        failedAttempts: attempt,
      });
    }
    expect(t.scripted.newOrders()).toHaveLength(1);

    const renewed = await renewCertificate(t.deps, { id: 'shop', reason: 'retry' });

    expect(renewed).toMatchObject({ result: 'renewed', reason: 'changed', abandonedOrder: `${ORIGIN}/o/1` });
    expect(renewed.orderUrl).toBe(`${ORIGIN}/o/2`);
    expect(t.scripted.newOrders()).toHaveLength(2);
    const saved = t.store.state('shop')!;
    expect(saved.current!.serial).toBe('0c0c0c02');
    expect(saved.pendingOrder).toBeUndefined();
    expect(saved.abandonedOrder).toMatchObject({
      url: `${ORIGIN}/o/1`,
      failedAttempts: MAX_FAILED_ATTEMPTS_PER_ORDER,
      abandonedAt: FIXED.now.toISOString(),
      lastError: expect.stringMatching(/does not cover/),
    });
    expect(t.store.pendingKeys.has('shop')).toBe(false);
    expect(t.events.published.at(-1)).toMatchObject({
      detailType: 'Certificate Renewed',
      detail: { abandonedOrder: `${ORIGIN}/o/1` },
    });
  });

  it('a rate limit on the kept order does not count against it', async () => {
    const t = await bed({
      inventory: inventory(),
      state: {
        ...(await issuedState(inventory())),
        pendingOrder: {
          url: `${ORIGIN}/o/9`,
          createdAt: FIXED.now.toISOString(),
          reason: 'ari-window',
          failedAttempts: 2,
        },
      },
      script: { notAfter: () => new Date(FIXED.now.getTime() + 90 * DAY) },
    });
    t.store.pendingKeys.set('shop', chain.leaf.privateKeyPem);
    t.scripted.ca.on('/o/9', () =>
      json({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'slow down', status: 429 }, 429, {
        'retry-after': '60',
      }),
    );

    const outcome = await renewCertificate(t.deps, { id: 'shop', reason: 'retry' });

    expect(outcome.result).toBe('deferred');
    expect(t.store.state('shop')!.pendingOrder).toMatchObject({ url: `${ORIGIN}/o/9`, failedAttempts: 2 });
  });
});

describe('issue 11 (c): a profile the CA does not advertise', () => {
  // Before: the note that the profile was dropped reached one log line, not the state, status or the outcome.
  it.each<{ name: string; profiles?: Record<string, string>; offered: string }>([
    {
      name: 'a CA with other profiles',
      profiles: { default: 'd', tlsserver: 't' },
      offered: 'default, tlsserver',
    },
    { name: 'a CA without profiles', offered: 'no profiles' },
  ])(
    '$name: renewed without it, the note in the state, the outcome and the event',
    async ({ profiles, offered }) => {
      const t = await bed({
        inventory: inventory({ profile: 'shortlived' }),
        state: await issuedState(inventory()),
        script: {
          ...(profiles ? { profiles } : {}),
          notAfter: () => new Date(FIXED.now.getTime() + 90 * DAY),
        },
      });

      const outcome = await renewCertificate(t.deps, { id: 'shop', reason: 'changed' });

      const note = `profile "shortlived" is not advertised by the CA (${offered}); ordered without it`;
      expect(outcome).toMatchObject({ result: 'renewed', profileNote: note });
      expect(outcome.notes).toContain(note);
      expect(t.scripted.newOrders()).toEqual([expect.not.objectContaining({ profile: expect.anything() })]);
      expect(t.store.state('shop')!.profileNote).toBe(note);
      expect(t.events.published.at(-1)?.detail).toMatchObject({ profileNote: note });
    },
  );

  it('an advertised profile is sent and leaves no note (an old note is cleared)', async () => {
    const t = await bed({
      inventory: inventory({ profile: 'shortlived' }),
      state: { ...(await issuedState(inventory())), profileNote: 'an older note' },
      script: { profiles: { shortlived: '6 days' }, notAfter: () => new Date(FIXED.now.getTime() + 6 * DAY) },
    });

    const outcome = await renewCertificate(t.deps, { id: 'shop', reason: 'changed' });

    expect(outcome.profileNote).toBeUndefined();
    expect(t.scripted.newOrders()).toEqual([expect.objectContaining({ profile: 'shortlived' })]);
    expect(t.store.state('shop')!.profileNote).toBeUndefined();
  });
});

describe('issue 11: a scheduler pass that read the state before a renewal finished writes after it', () => {
  // Before: the scheduler rewrote state.json unconditionally with what it had read, so the final state named the
  // old serial while S3 held the new certificate (and the next pass ordered a duplicate).
  it('the final state names the renewer’s new serial, and the scheduler re-decided from it', async () => {
    const t = await bed({
      inventory: inventory(),
      // Its ARI is due for a refresh, so the scheduler has something to write.
      state: await issuedState(inventory(), { nextCheckAt: '2025-04-01T11:00:00.000Z' }),
      script: { notAfter: () => new Date(FIXED.now.getTime() + 90 * DAY) },
    });
    const forced = { id: 'shop', reason: 'forced', force: true } as const;
    const ari = new FakeAriServer(`${ORIGIN}/ari`);
    ari.answers.set(oldCertId, { window: { start: '2025-05-01T00:00:00Z', end: '2025-05-03T00:00:00Z' } });
    let renewedWhileSchedulerWaited: string | undefined;
    t.store.afterReadState = async (id, read) => {
      if (renewedWhileSchedulerWaited !== undefined || read?.state.current?.serial !== oldSerial) return;
      t.store.afterReadState = undefined;
      // The renewal runs and finishes between the scheduler's read and its write.
      renewedWhileSchedulerWaited = (await renewCertificate(t.deps, forced)).serial;
      expect(id).toBe('shop');
    };

    const report = await runScheduler({
      store: t.store,
      queue: new MemoryQueue(),
      fetch: ari.fetch,
      renewalInfoUrl: async () => ari.baseUrl,
      now: new Date(FIXED.now.getTime() + 60 * 60_000),
      random: seededRandom(1),
    });

    expect(renewedWhileSchedulerWaited).toBe('0c0c0c01');
    const saved = t.store.state('shop')!;
    expect(saved.current!.serial).toBe('0c0c0c01');
    expect(saved.ari?.certId).toBe(saved.current!.certId);
    // The scheduler's write lost (412) and it decided again from the renewer's state: not due.
    expect(t.store.conflicts).toHaveLength(1);
    expect(report.checks[0]).toMatchObject({ id: 'shop', due: false, reason: 'not-yet' });
    expect(report.enqueued).toEqual([]);
  });
});

describe('issue 11: the ARI refresh after issuance is the scheduler’s own', () => {
  // Before: the renewer had its own copy, which recorded the error but not when to ask again (`ariRetryAt`).
  it('a renewalInfo failure right after issuance records the error and when to ask again', async () => {
    const t = await bed({
      inventory: inventory(),
      state: { ...(await issuedState(inventory())), configHash: 'changed-since' },
      script: { notAfter: () => new Date(FIXED.now.getTime() + 90 * DAY) },
    });
    const down: Fetch = async () => json({ detail: 'down' }, 503);

    const outcome = await renewCertificate({ ...t.deps, fetch: down }, { id: 'shop', reason: 'changed' });

    expect(outcome.result).toBe('renewed');
    const saved = t.store.state('shop')!;
    expect(saved.ari).toBeUndefined();
    expect(saved.ariError).toMatch(/503/);
    expect(saved.ariRetryAt).toBe(new Date(FIXED.now.getTime() + 60 * 60_000).toISOString());
  });
});
