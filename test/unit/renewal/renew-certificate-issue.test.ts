/**
 * One whole renewal through the renewer, against a scripted in-memory CA (the `FakeCa` of the ACME unit tests)
 * that signs the CSR with a fixture intermediate. Pebble covers the protocol for real; this file pins down what the
 * renewer does around it: the order of writes, DNS cleanup, `replaces`, imports and the outcome event.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AcmeTransport } from '../../../functions/core/acme';
import { certId } from '../../../functions/core/ari';
import { caFor, parseInventory } from '../../../functions/core/config/inventory';
import { AcmeAwsError, hasCode } from '../../../functions/core/errors';
import type { Fetch } from '../../../functions/core/http';
import { parseCertificate, signingAlgorithm } from '../../../functions/core/pki';
import { configHash } from '../../../functions/core/renewal/config-hash';
import { type RenewerDeps, renewCertificate } from '../../../functions/core/renewal/renew-certificate';
import { runScheduler } from '../../../functions/core/renewal/run-scheduler';
import type { CertificateState } from '../../../functions/core/renewal/state';
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
import { x509 } from '../../support/pki/x509';
import { DIRECTORY_URL, FakeCa, json, ORIGIN, problem } from '../acme/fake-ca';
import { buildTestChain, FIXED, type TestChain } from '../pki/fixtures';

const NAMES = ['example.test', '*.example.test'];
const ACCOUNT_URL = `${ORIGIN}/acct/1`;
const NEW_SERIAL = '0b0b0b0b';
const ARN_US = 'arn:aws:acm:us-east-1:123456789012:certificate/shop-us';

const INVENTORY = {
  // The fixture chain's root, filled in once beforeAll has built it.
  cas: { fake: { directoryUrl: DIRECTORY_URL, trustAnchors: [] as string[] } },
  certificates: [{ id: 'shop', domains: NAMES, ca: 'fake', acmRegions: ['us-east-1', 'eu-west-1'] }],
};

let chain: TestChain;
let oldSerial: string;
let oldCertId: string;

beforeAll(async () => {
  chain = await buildTestChain({ names: NAMES });
  INVENTORY.cas.fake.trustAnchors.push(chain.root.pem);
  const parsed = parseCertificate(chain.leaf.pem);
  oldSerial = parsed.serialHex;
  oldCertId = certId({ authorityKeyId: parsed.authorityKeyId!, serialDer: parsed.serialDer });
});

/** Signs the CSR's public key for the order's names with the fixture intermediate: a CA in a few lines. */
async function sign(csrB64: string): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(Buffer.from(csrB64, 'base64url'));
  const names = NAMES;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: NEW_SERIAL,
    subject: [{ CN: [names[0]!] }],
    issuer: chain.intermediate.cert.subjectName,
    notBefore: new Date(FIXED.now.getTime() - 60 * 60_000),
    notAfter: new Date(FIXED.now.getTime() + 90 * 24 * 60 * 60_000),
    publicKey: await csr.publicKey.export(),
    signingKey: chain.intermediate.keys.privateKey,
    signingAlgorithm: signingAlgorithm(chain.intermediate.keyType),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(chain.intermediate.cert),
    ],
  });
  return `${cert.toString('pem').replace(/\r\n/g, '\n').trimEnd()}\n${chain.intermediate.pem}`;
}

/** A CA that accepts one order for NAMES: two dns-01 authorizations, finalize, download. */
function scriptedCa() {
  const ca = new FakeCa();
  const answered = new Set<string>();
  let issued = false;
  const authz = (n: number, domain: string, wildcard: boolean) => () =>
    json({
      identifier: { type: 'dns', value: domain },
      status: answered.has(`/chall/${n}`) ? 'valid' : 'pending',
      ...(wildcard ? { wildcard: true } : {}),
      challenges: [
        {
          type: 'dns-01',
          url: `${ORIGIN}/chall/${n}`,
          token: `token-${n}`,
          status: answered.has(`/chall/${n}`) ? 'valid' : 'pending',
        },
      ],
    });
  const order = () => ({
    status: issued ? 'valid' : answered.size === 2 ? 'ready' : 'pending',
    identifiers: NAMES.map((value) => ({ type: 'dns', value })),
    authorizations: [`${ORIGIN}/authz/1`, `${ORIGIN}/authz/2`],
    finalize: `${ORIGIN}/o/1/finalize`,
    ...(issued ? { certificate: `${ORIGIN}/cert/1` } : {}),
  });
  let certificatePem = '';
  ca.on('/account', () => json({ status: 'valid' }, 201, { location: ACCOUNT_URL }))
    .on('/order', (request) =>
      json({ ...order(), replaces: (request.payload as { replaces?: string }).replaces }, 201, {
        location: `${ORIGIN}/o/1`,
      }),
    )
    .on('/o/1', () => json(order()))
    .on('/authz/1', authz(1, 'example.test', false))
    .on('/authz/2', authz(2, 'example.test', true))
    .on('/chall/1', () => {
      answered.add('/chall/1');
      return json({ type: 'dns-01', url: `${ORIGIN}/chall/1`, status: 'processing', token: 'token-1' });
    })
    .on('/chall/2', () => {
      answered.add('/chall/2');
      return json({ type: 'dns-01', url: `${ORIGIN}/chall/2`, status: 'processing', token: 'token-2' });
    })
    .on('/o/1/finalize', async (request) => {
      certificatePem = await sign((request.payload as { csr: string }).csr);
      issued = true;
      return json(order(), 200, { location: `${ORIGIN}/o/1` });
    })
    .on(
      '/cert/1',
      () =>
        new Response(certificatePem, {
          status: 200,
          headers: { 'content-type': 'application/pem-certificate-chain' },
        }),
    );
  return ca;
}

async function dueState(): Promise<CertificateState> {
  const inventory = parseInventory(INVENTORY);
  const config = inventory.certificates[0]!;
  return {
    version: 1,
    id: 'shop',
    configHash: await configHash(config, caFor(inventory, config.ca)),
    current: {
      serial: oldSerial,
      notBefore: FIXED.issued.toISOString(),
      notAfter: FIXED.expires.toISOString(),
      domains: NAMES,
      keyType: 'ec-p256',
      issuer: 'CN=Test Intermediate',
      directoryUrl: DIRECTORY_URL,
      accountUrl: ACCOUNT_URL,
      certId: oldCertId,
      issuedAt: FIXED.issued.toISOString(),
    },
    // The CA asked for renewal an hour ago.
    ari: {
      certId: oldCertId,
      windowStart: '2025-04-01T10:00:00.000Z',
      windowEnd: '2025-04-01T11:00:00.000Z',
      selectedTime: '2025-04-01T10:30:00.000Z',
      nextCheckAt: '2025-04-01T16:00:00.000Z',
      checkedAt: '2025-04-01T10:00:00.000Z',
    },
    acm: { 'us-east-1': { arn: ARN_US, serial: oldSerial, keyType: 'ec-p256' } },
    retiredAcmArns: [],
    failures: 0,
  };
}

/** The renewer wired to the scripted CA and in-memory ports, with a certificate whose ARI time has come. */
async function renewerBed() {
  const ca = scriptedCa();
  const store = new MemoryStore(INVENTORY);
  store.seedState(await dueState());
  store.seedCertificate('shop', {
    certPem: chain.leaf.pem,
    chainPem: chain.intermediate.pem,
    fullchainPem: chain.fullchainPem,
    privateKeyPem: chain.leaf.privateKeyPem,
  });
  const clock = new FixedClock(FIXED.now);
  const sleep = instantSleep(clock);
  const dns = new MemoryDns();
  const importer = new MemoryImporter();
  const events = new MemoryEvents();
  const lease = new MemoryLease();
  const ariAsked: string[] = [];
  const ariFetch: Fetch = async (url) => {
    ariAsked.push(url);
    return json({ suggestedWindow: { start: '2025-06-01T00:00:00Z', end: '2025-06-03T00:00:00Z' } }, 200, {
      'retry-after': '21600',
    });
  };
  const transports: Record<string, AcmeTransport> = {};
  const deps: RenewerDeps = {
    store,
    lease,
    dns,
    importer,
    events,
    secrets: new MemorySecrets(),
    // One transport per CA, as the runtime keeps them (functions/composition/state-runtime.ts).
    transport: (directoryUrl) => {
      transports[directoryUrl] ??= new AcmeTransport({ directoryUrl, fetch: ca.fetch, clock, sleep });
      return transports[directoryUrl];
    },
    fetch: ariFetch,
    clock,
    sleep,
    random: seededRandom(3),
    owner: 'request-1',
  };

  return { ca, store, dns, importer, events, lease, ariAsked, deps };
}

describe('renewCertificate: a renewal that reaches the CA', () => {
  it('stores the PEMs before the state that names them, cleans up DNS, sends replaces, imports and reports', async () => {
    const { ca, store, dns, importer, events, lease, ariAsked, deps } = await renewerBed();

    const outcome = await renewCertificate(deps, { id: 'shop', reason: 'ari-window' });

    expect(outcome).toMatchObject({
      id: 'shop',
      result: 'renewed',
      reason: 'ari-window',
      serial: NEW_SERIAL,
      orderUrl: `${ORIGIN}/o/1`,
      replaced: oldCertId,
    });
    // RFC 9773 §5: the order names the certificate it replaces.
    expect(ca.to('/order', 'POST')[0]?.payload).toMatchObject({ replaces: oldCertId });

    // PEMs first, then the state that names the new serial; the pending key goes only after that. The pending key
    // is written while the order is placed and validated, but always before the CSR goes out (the PEMs follow it).
    const writes = store.writes.map((w) => `${w.op}${w.serial ? `:${w.serial}` : ''}`);
    expect(writes.indexOf('putPendingKey')).toBeGreaterThan(-1);
    expect(writes.indexOf('putPendingKey')).toBeLessThan(writes.indexOf('putCertificate'));
    expect(writes.filter((w) => w !== 'putPendingKey')).toEqual([
      `putAccount`,
      `putState:${oldSerial}`, // pendingOrder checkpoint
      `putState:${oldSerial}`, // the DNS handle, so a crash can clean up
      'putCertificate',
      `putState:${NEW_SERIAL}`,
      'deletePendingKey',
      `putState:${NEW_SERIAL}`, // the ACM ARNs
    ]);
    expect(store.pendingKeys.has('shop')).toBe(false);
    expect(parseCertificate((await store.getCertificate('shop'))!.certPem).serialHex).toBe(NEW_SERIAL);

    // Both TXT values went out in one present() and came back out exactly.
    expect(dns.presented).toHaveLength(1);
    expect(dns.presented[0]?.records.map((r) => r.name)).toEqual([
      '_acme-challenge.example.test',
      '_acme-challenge.example.test',
    ]);
    expect(dns.cleanedUp).toHaveLength(1);
    expect(dns.records.size).toBe(0);

    const saved = store.state('shop')!;
    expect(saved.current).toMatchObject({
      serial: NEW_SERIAL,
      accountUrl: ACCOUNT_URL,
      directoryUrl: DIRECTORY_URL,
    });
    expect(saved.pendingOrder).toBeUndefined();
    expect(saved).toMatchObject({ failures: 0, lastResult: 'renewed', lastReason: 'ari-window' });
    // The new certificate's own ARI window, fetched right away.
    expect(ariAsked).toEqual([`${ORIGIN}/ari/${saved.current!.certId}`]);
    expect(saved.ari).toMatchObject({
      certId: saved.current!.certId,
      windowStart: '2025-06-01T00:00:00.000Z',
    });

    // us-east-1 re-imported in place; eu-west-1 gets its first import.
    expect(importer.requests.map((r) => [r.region, r.arn, r.serial])).toEqual([
      ['us-east-1', ARN_US, NEW_SERIAL],
      ['eu-west-1', undefined, NEW_SERIAL],
    ]);
    expect(saved.acm['us-east-1']).toEqual({ arn: ARN_US, serial: NEW_SERIAL, keyType: 'ec-p256' });
    expect(saved.acm['eu-west-1']?.serial).toBe(NEW_SERIAL);

    expect(events.published).toEqual([
      {
        detailType: 'Certificate Renewed',
        detail: expect.objectContaining({
          id: 'shop',
          reason: 'ari-window',
          serial: NEW_SERIAL,
          replaced: oldCertId,
        }),
      },
    ]);
    expect(lease.held.has('shop')).toBe(false);
  });

  it('looks up where the TXT records go before the order is placed, and asks ACM before the files are stored', async () => {
    const { ca, store, dns, importer, deps } = await renewerBed();
    const seen: string[] = [];
    Object.assign(dns, {
      prepare: (names: ReadonlyArray<{ name: string }>) =>
        seen.push(`dns ${names.length} names, after ${ca.to('/order', 'POST').length} orders`),
    });
    Object.assign(importer, {
      prepare: ({ region, arn }: { region: string; arn: string }) =>
        seen.push(
          `acm ${region} ${arn}, ${store.writes.some((w) => w.op === 'putCertificate') ? 'after' : 'before'} the files`,
        ),
    });

    expect((await renewCertificate(deps, { id: 'shop', reason: 'ari-window' })).result).toBe('renewed');

    expect(seen).toEqual(['dns 2 names, after 0 orders', `acm us-east-1 ${ARN_US}, before the files`]);
    // The directory and nonces were asked for before the order needed them: it found a nonce in hand.
    const heads = ca.requests.filter((r) => r.method === 'HEAD').length;
    expect(ca.requests.findIndex((r) => r.method === 'HEAD')).toBeLessThan(
      ca.requests.findIndex((r) => r.url === `${ORIGIN}/order`),
    );
    // Two, asked together: one for the account's first request, one for the order; every later request reused
    // the nonce of an earlier answer.
    expect(heads).toBe(2);
  });

  it('a store failure while writing the PEMs leaves the old certificate current and the order resumable', async () => {
    const { store, importer, events, deps } = await renewerBed();
    store.putCertificate = async () => {
      throw new AcmeAwsError('store-failed', 'S3 PutObject failed (fake)');
    };

    const error = await renewCertificate(deps, { id: 'shop', reason: 'ari-window' }).catch((e: unknown) => e);

    expect(hasCode(error, 'store-failed')).toBe(true);
    const saved = store.state('shop')!;
    // Never a state that points at files that are not there: the old serial stays current.
    expect(saved.current?.serial).toBe(oldSerial);
    expect(saved.pendingOrder?.url).toBe(`${ORIGIN}/o/1`);
    expect(store.pendingKeys.has('shop')).toBe(true);
    expect(saved).toMatchObject({ failures: 1, lastResult: 'failed' });
    expect(importer.requests).toEqual([]);
    expect(events.published.map((e) => e.detailType)).toEqual(['Certificate Renewal Failed']);
  });

  it('a pending key that cannot be stored stops the attempt before the CSR is sent, and removes its records', async () => {
    const { ca, store, dns, importer, deps } = await renewerBed();
    store.putPendingKey = async () => {
      throw new AcmeAwsError('store-failed', 'S3 PutObject failed (fake)');
    };

    const error = await renewCertificate(deps, { id: 'shop', reason: 'ari-window' }).catch((e: unknown) => e);

    expect(hasCode(error, 'store-failed')).toBe(true);
    // The key is made while the CA validates, but no order is finalized with a key the store does not hold.
    expect(ca.to('/finalize')).toEqual([]);
    expect(dns.records.size).toBe(0);
    const saved = store.state('shop')!;
    expect(saved.current?.serial).toBe(oldSerial);
    expect(saved.pendingOrder?.url).toBe(`${ORIGIN}/o/1`);
    expect(saved).toMatchObject({ failures: 1, lastResult: 'failed' });
    expect(importer.requests).toEqual([]);
  });

  it("a rate limit defers with the CA's Retry-After, and the next scheduler pass leaves the certificate alone", async () => {
    const { ca, store, importer, events, deps } = await renewerBed();
    ca.on('/order', () =>
      problem(429, 'rateLimited', 'too many new orders recently', { 'retry-after': '3600' }),
    );

    const outcome = await renewCertificate(deps, { id: 'shop', reason: 'ari-window' });

    const retryAfter = new Date(FIXED.now.getTime() + 60 * 60_000).toISOString();
    expect(outcome).toMatchObject({ id: 'shop', result: 'deferred', retryAfter });
    const saved = store.state('shop')!;
    expect(saved).toMatchObject({ lastResult: 'deferred', retryAfter, failures: 1 });
    expect(saved.current?.serial).toBe(oldSerial);
    expect(saved.lastProblem?.type).toBe('urn:ietf:params:acme:error:rateLimited');
    expect(importer.requests).toEqual([]);
    expect(events.published).toEqual([
      {
        detailType: 'Certificate Renewal Failed',
        detail: expect.objectContaining({ id: 'shop', code: 'acme-rate-limited', retryAfter }),
      },
    ]);

    // Still inside its ARI window, but the CA said to wait: the scheduler must not enqueue it again.
    const queue = new MemoryQueue();
    const ari = new FakeAriServer();
    const report = await runScheduler({
      store,
      queue,
      fetch: ari.fetch,
      renewalInfoUrl: async () => ari.baseUrl,
      now: new Date(FIXED.now.getTime() + 30 * 60_000),
      random: seededRandom(1),
    });
    expect(report.checks[0]).toMatchObject({ id: 'shop', reason: 'deferred', due: false });
    expect(queue.batches).toEqual([]);
    expect(ari.requests).toEqual([]);
  });
});
