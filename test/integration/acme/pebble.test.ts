import { base64url } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureAccount } from '../../../functions/core/acme/account';
import type { AcmeClient } from '../../../functions/core/acme/client';
import type { DnsTxtRecord } from '../../../functions/core/acme/dns01';
import { type Dns01Solver, type IssueResult, issueCertificate } from '../../../functions/core/acme/issue';
import type { PollOptions } from '../../../functions/core/acme/poll';
import { revokeCertificate } from '../../../functions/core/acme/revoke';
import { AcmeTransport } from '../../../functions/core/acme/transport';
import { certId } from '../../../functions/core/ari/cert-id';
import { decideRenewal } from '../../../functions/core/ari/decide-renewal';
import { fetchRenewalInfo } from '../../../functions/core/ari/fetch-renewal-info';
import { selectRenewalTime } from '../../../functions/core/ari/select-time';
import type { KeyType } from '../../../functions/core/config/inventory';
import { AcmeAwsError } from '../../../functions/core/errors';
import type { Fetch } from '../../../functions/core/http';
import {
  createCsr,
  exportPrivateKeyPem,
  generateKeyPair,
  type ParsedCertificate,
  parseCertificate,
  splitPemChain,
  type VerifiedCertificate,
  verifyIssuedCertificate,
} from '../../../functions/core/pki';
import { type ChallTestSrv, startChallTestSrv } from '../../../testbed/challtestsrv';
import { type PebbleInstance, pebbleRootsPem, startPebble } from '../../../testbed/pebble';
import { testBedTls } from '../../../testbed/tls';
import { type FaultProxy, startFaultProxy } from '../../support/faults/fault-proxy';

const INCIDENT_DETAIL = 'While validating order as a replacement and error occurred';
const DAY_SECONDS = 86_400;
const clock = { now: () => new Date() };
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const poll: PollOptions = { clock, sleep, timeoutMs: 30_000 };

/**
 * The dns-01 solver of these tests: it writes every TXT value through challtestsrv (where Pebble resolves them)
 * and remembers each publication, so a test can see what the client asked for.
 */
class ChallTestSrvSolver implements Dns01Solver<DnsTxtRecord[]> {
  readonly published: DnsTxtRecord[][] = [];
  readonly cleaned: DnsTxtRecord[][] = [];

  constructor(private readonly dns: ChallTestSrv) {}

  async present(records: readonly DnsTxtRecord[]): Promise<DnsTxtRecord[]> {
    for (const record of records) await this.dns.setTxt(record.name, record.value);
    this.published.push([...records]);
    return [...records];
  }

  async cleanup(handle: DnsTxtRecord[]): Promise<void> {
    for (const name of new Set(handle.map((record) => record.name))) await this.dns.clearTxt(name);
    this.cleaned.push(handle);
  }
}

function transportFor(directoryUrl: string, fetch: Fetch): AcmeTransport {
  return new AcmeTransport({ directoryUrl, fetch, clock, sleep });
}

interface Issued {
  readonly result: IssueResult;
  readonly verified: VerifiedCertificate;
  readonly leaf: ParsedCertificate;
  readonly certId: string;
}

/** Issues a certificate with a fresh key of `keyType` and verifies it against the CA's intermediate. */
async function issue(
  client: AcmeClient,
  ca: PebbleInstance,
  solver: ChallTestSrvSolver,
  names: readonly string[],
  options: {
    keyType?: KeyType;
    replaces?: string;
    resumeOrderUrl?: string;
    onOrder?: (order: { url: string; replaced?: string }) => Promise<void>;
  } = {},
): Promise<Issued> {
  const keys = await generateKeyPair(options.keyType ?? 'ec-p256');
  const result = await issueCertificate({
    client,
    names,
    csr: async () => (await createCsr({ keys, names })).der,
    dns: solver,
    poll,
    ...(options.replaces ? { replaces: options.replaces } : {}),
    ...(options.resumeOrderUrl ? { resumeOrderUrl: options.resumeOrderUrl } : {}),
    ...(options.onOrder ? { onOrder: options.onOrder } : {}),
  });
  const verified = await verifyIssuedCertificate({
    fullchainPem: result.certificate.pem,
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
    expectedNames: names,
    now: new Date(),
    expectedIssuerPem: await ca.issuerIntermediatesPem(),
    trustAnchors: await pebbleRootsPem(ca),
  });
  const leaf = parseCertificate(splitPemChain(result.certificate.pem)[0]!);
  if (!leaf.authorityKeyId) throw new Error('Pebble issued a certificate without an AKI');
  return {
    result,
    verified,
    leaf,
    certId: certId({ authorityKeyId: leaf.authorityKeyId, serialDer: leaf.serialDer }),
  };
}

describe('ACME client against Pebble (ARI, dns-01 through challtestsrv)', () => {
  let dns: ChallTestSrv;
  let pebble: PebbleInstance;
  let proxy: FaultProxy;
  let client: AcmeClient;
  let transport: AcmeTransport;
  let solver: ChallTestSrvSolver;
  let newOrderPath: string;
  let renewalInfoUrl: string;
  /** The EC certificate for example.test + *.example.test, replaced by the ARI test. */
  let first: Issued;
  let rsa: Issued;

  beforeAll(async () => {
    dns = await startChallTestSrv();
    pebble = await startPebble({ dnsServer: dns.dnsAddress, validitySeconds: 90 * DAY_SECONDS });
    const tls = testBedTls();
    // Every request of the main client goes through the proxy: it records payloads and injects the incident.
    proxy = await startFaultProxy({
      targetOrigin: new URL(pebble.directoryUrl).origin,
      caPem: tls.caPem,
      certPath: tls.certPath,
      keyPath: tls.keyPath,
    });
    transport = transportFor(proxy.directoryUrl, proxy.fetch);
    const account = await ensureAccount(transport, { contact: ['mailto:ops@example.test'] });
    expect(account.created).toBe(true);
    client = account.client;
    solver = new ChallTestSrvSolver(dns);
    const directory = await transport.directory();
    newOrderPath = new URL(directory.newOrder).pathname;
    if (!directory.renewalInfo) throw new Error('this Pebble does not advertise renewalInfo');
    renewalInfoUrl = directory.renewalInfo;
  });

  afterAll(async () => {
    await Promise.allSettled([proxy?.stop(), pebble?.stop(), dns?.stop()]);
  });

  const newOrders = (since: number) =>
    proxy.requests.slice(since).filter((r) => r.method === 'POST' && r.path === newOrderPath);

  it('issues example.test + *.example.test with an EC key, both TXT values under one name', async () => {
    const before = solver.published.length;
    first = await issue(client, pebble, solver, ['example.test', '*.example.test'], { keyType: 'ec-p256' });
    const batches = solver.published.slice(before);
    expect(batches).toHaveLength(1);
    const [records] = batches;
    expect(records).toHaveLength(2);
    expect(records!.map((r) => r.name)).toEqual([
      '_acme-challenge.example.test',
      '_acme-challenge.example.test',
    ]);
    expect(new Set(records!.map((r) => r.identifier))).toEqual(new Set(['example.test', '*.example.test']));
    expect(records![0]!.value).not.toBe(records![1]!.value);
    // What was published was removed again.
    expect(solver.cleaned.at(-1)).toEqual(records);
    expect(first.leaf.keyType).toBe('ec-p256');
    expect(new Set(first.verified.leaf.dnsNames)).toEqual(new Set(['example.test', '*.example.test']));
    expect(first.result.replaced).toBeUndefined();
    expect(first.result.resumed).toBe(false);
  });

  it('issues the same names with an RSA key', async () => {
    rsa = await issue(client, pebble, solver, ['example.test', '*.example.test'], { keyType: 'rsa-2048' });
    expect(rsa.leaf.keyType).toBe('rsa-2048');
    expect(rsa.leaf.serialHex).not.toBe(first.leaf.serialHex);
    expect(rsa.verified.chain.length).toBeGreaterThanOrEqual(1);
  });

  it('fetches a sane ARI window right after issuance, and renews with replaces', async () => {
    const now = new Date();
    const { info, nextCheckAt } = await fetchRenewalInfo({
      fetch: proxy.fetch,
      renewalInfoUrl,
      certId: first.certId,
      now,
    });
    const { start, end } = info.window;
    expect(start.getTime()).toBeGreaterThan(first.leaf.notBefore.getTime());
    expect(start.getTime()).toBeGreaterThan(now.getTime());
    expect(end.getTime()).toBeGreaterThan(start.getTime());
    expect(end.getTime()).toBeLessThan(first.leaf.notAfter.getTime());
    expect(nextCheckAt.getTime()).toBeGreaterThan(now.getTime());
    const selectedTime = selectRenewalTime({ window: info.window, random: () => 0.5 });
    const decision = decideRenewal({
      now,
      certificate: first.leaf,
      ari: { selectedTime, windowStart: start, windowEnd: end },
    });
    expect(decision).toMatchObject({ renew: false, reason: 'not-yet', renewAt: selectedTime });

    const mark = proxy.requests.length;
    const renewed = await issue(client, pebble, solver, ['example.test', '*.example.test'], {
      replaces: first.certId,
    });
    const orders = newOrders(mark);
    expect(orders).toHaveLength(1);
    expect(orders[0]!.payload).toMatchObject({ replaces: first.certId });
    expect(orders[0]!.status).toBe(201);
    expect(renewed.result.replaced).toBe(first.certId);
    expect(renewed.result.replacesDropped).toBeUndefined();
    expect(renewed.leaf.serialHex).not.toBe(first.leaf.serialHex);
  });

  it('a second replacement of the same certificate (409 alreadyReplaced) renews without replaces', async () => {
    const mark = proxy.requests.length;
    const again = await issue(client, pebble, solver, ['example.test', '*.example.test'], {
      replaces: first.certId,
    });
    const orders = newOrders(mark);
    expect(orders).toHaveLength(2);
    expect(orders[0]).toMatchObject({ status: 409, payload: { replaces: first.certId } });
    expect(orders[1]!.payload).not.toHaveProperty('replaces');
    expect(orders[1]!.status).toBe(201);
    expect(again.result.replaced).toBeUndefined();
    expect(again.result.replacesDropped).toMatch(/^409 alreadyReplaced: /);
    expect(again.result.notes.join('\n')).toContain('ordered again without replaces');
  });

  it('after revocation, ARI moves the window into the past and the decision is ari-window', async () => {
    await revokeCertificate(client, rsa.leaf.der);
    const now = new Date();
    const { info } = await fetchRenewalInfo({ fetch: proxy.fetch, renewalInfoUrl, certId: rsa.certId, now });
    expect(info.window.end.getTime()).toBeLessThanOrEqual(now.getTime());
    const selectedTime = selectRenewalTime({ window: info.window, random: () => 0.5 });
    expect(selectedTime.getTime()).toBeLessThan(now.getTime());
    const decision = decideRenewal({
      now,
      certificate: rsa.leaf,
      ari: { selectedTime, windowStart: info.window.start, windowEnd: info.window.end },
    });
    expect(decision.renew).toBe(true);
    expect(decision.reason).toBe('ari-window');
  });

  it('checkpoints the order before touching DNS, and resumes an interrupted order instead of placing another', async () => {
    const names = ['resume.example.test'];
    // An attempt that got as far as placing its order, then died (Lambda timeout): only the order URL survived.
    let checkpointed: string | undefined;
    const published = solver.published.length;
    const interrupted = await issue(client, pebble, solver, names, {
      onOrder: async ({ url }) => {
        checkpointed = url;
        throw new Error('simulated crash right after the checkpoint');
      },
    }).catch((e: unknown) => e);
    expect((interrupted as Error).message).toBe('simulated crash right after the checkpoint');
    expect(checkpointed).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
    expect(solver.published.length).toBe(published);

    const mark = proxy.requests.length;
    const resumed = await issue(client, pebble, solver, names, { resumeOrderUrl: checkpointed });
    expect(resumed.result.resumed).toBe(true);
    expect(resumed.result.orderUrl).toBe(checkpointed);
    expect(newOrders(mark)).toHaveLength(0);
    // The crash came before any DNS change; the resumed attempt published (and removed) the record once.
    expect(solver.published.length).toBe(published + 1);
  });

  it('the seed incident: a 500 on the replacement order still renews, without replaces, saying why', async () => {
    const names = ['incident.example.test'];
    const predecessor = await issue(client, pebble, solver, names);
    let tripped = false;
    proxy.addRule((request) => {
      if (tripped || request.method !== 'POST' || request.path !== newOrderPath) return undefined;
      if (typeof request.payload !== 'object' || request.payload === null || !('replaces' in request.payload))
        return undefined;
      tripped = true;
      return {
        status: 500,
        headers: { 'content-type': 'application/problem+json' },
        body: JSON.stringify({
          type: 'urn:ietf:params:acme:error:serverInternal',
          detail: INCIDENT_DETAIL,
          status: 500,
        }),
      };
    });
    try {
      const mark = proxy.requests.length;
      const renewed = await issue(client, pebble, solver, names, { replaces: predecessor.certId });
      const orders = newOrders(mark);
      expect(orders).toHaveLength(2);
      expect(orders[0]).toMatchObject({
        status: 500,
        answeredBy: 'rule',
        payload: { replaces: predecessor.certId },
      });
      expect(orders[1]!.payload).not.toHaveProperty('replaces');
      expect(orders[1]).toMatchObject({ status: 201, answeredBy: 'upstream' });
      expect(renewed.result.replaced).toBeUndefined();
      expect(renewed.result.replacesDropped).toContain('500');
      expect(renewed.result.replacesDropped).toContain(INCIDENT_DETAIL);
      expect(renewed.leaf.serialHex).not.toBe(predecessor.leaf.serialHex);
    } finally {
      proxy.clearRules();
    }
  });
});

describe('ACME client against a Pebble that rejects half of all nonces', () => {
  let dns: ChallTestSrv;
  let pebble: PebbleInstance;

  beforeAll(async () => {
    dns = await startChallTestSrv();
    pebble = await startPebble({ dnsServer: dns.dnsAddress, nonceRejectPercent: 50 });
  });

  afterAll(async () => {
    await Promise.allSettled([pebble?.stop(), dns?.stop()]);
  });

  it('ten issuances in a row succeed', async () => {
    let badNonces = 0;
    const counting: Fetch = async (url, init) => {
      const response = await pebble.fetch(url, init);
      if (response.status === 400 && (await response.clone().text()).includes('badNonce')) badNonces += 1;
      return response;
    };
    const { client } = await ensureAccount(transportFor(pebble.directoryUrl, counting), {});
    const solver = new ChallTestSrvSolver(dns);
    const serials = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const issued = await issue(client, pebble, solver, [`n${i}.nonce.test`]);
      serials.add(issued.leaf.serialHex);
    }
    expect(serials.size).toBe(10);
    // The retries were really exercised, not skipped by luck.
    expect(badNonces).toBeGreaterThan(10);
  });
});

describe('External Account Binding against a Pebble that requires it', () => {
  const keyId = 'kid-integration';
  const hmacKey = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
  let pebble: PebbleInstance;

  beforeAll(async () => {
    pebble = await startPebble({ eabKeys: { [keyId]: hmacKey } });
  });

  afterAll(async () => {
    await pebble?.stop();
  });

  it('advertises externalAccountRequired', async () => {
    const directory = await transportFor(pebble.directoryUrl, pebble.fetch).directory();
    expect(directory.meta?.externalAccountRequired).toBe(true);
  });

  it('creates the account with the right key id and HMAC key', async () => {
    const { record, created } = await ensureAccount(transportFor(pebble.directoryUrl, pebble.fetch), {
      eab: { keyId, hmacKey },
    });
    expect(created).toBe(true);
    expect(record.accountUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
  });

  it('a wrong HMAC key is a config-invalid error naming the key id', async () => {
    const wrong = base64url.encode(crypto.getRandomValues(new Uint8Array(32)));
    const error = await ensureAccount(transportFor(pebble.directoryUrl, pebble.fetch), {
      eab: { keyId, hmacKey: wrong },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeAwsError);
    expect((error as AcmeAwsError).code).toBe('config-invalid');
    expect((error as Error).message).toContain(`key id "${keyId}"`);
    expect((error as Error).message).not.toContain(wrong);
    // The CA itself refused it: the cause keeps Pebble's problem document.
    expect((error as AcmeAwsError).cause).toMatchObject({ acmeType: 'unauthorized', status: 403 });
  });

  it('an unknown key id is a config-invalid error naming that key id', async () => {
    const error = await ensureAccount(transportFor(pebble.directoryUrl, pebble.fetch), {
      eab: { keyId: 'kid-nobody-issued', hmacKey },
    }).catch((e: unknown) => e);
    expect((error as AcmeAwsError).code).toBe('config-invalid');
    expect((error as Error).message).toContain('key id "kid-nobody-issued"');
  });

  it('no EAB at all is the "requires External Account Binding" error', async () => {
    const error = await ensureAccount(transportFor(pebble.directoryUrl, pebble.fetch), {}).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AcmeAwsError);
    expect((error as AcmeAwsError).code).toBe('config-invalid');
    expect((error as Error).message).toMatch(/requires External Account Binding/);
  });
});
