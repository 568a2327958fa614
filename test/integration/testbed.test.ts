import { createHash } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { connect } from 'node:net';
import { calculateJwkThumbprint, exportJWK, FlattenedSign, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certId } from '../../functions/core/ari/cert-id';
import { fetchRenewalInfo, RenewalInfoError } from '../../functions/core/ari/fetch-renewal-info';
import {
  createCsr,
  generateKeyPair as generateCertificateKeys,
  parseCertificate,
  splitPemChain,
} from '../../functions/core/pki';
import { type ChallTestSrv, startChallTestSrv } from '../../testbed/challtestsrv';
import { type PebbleInstance, startPebble } from '../../testbed/pebble';
import { liveProcesses, stopAll } from '../../testbed/processes';
import { testBedTls } from '../../testbed/tls';
import type { WebFetch } from '../../testbed/trusting-fetch';
import { type FaultProxy, startFaultProxy } from '../support/faults/fault-proxy';

/** True when something accepts TCP connections on `port` of 127.0.0.1. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolveListening) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveListening(true);
    });
    socket.once('error', () => resolveListening(false));
  });
}

/** True while a process with this id exists. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** The least ACME a test needs to drive Pebble by hand: an account key, nonces and signed POSTs. */
async function acmeSession(fetch: WebFetch, directoryUrl: string) {
  const directory = (await (await fetch(directoryUrl)).json()) as Record<string, string>;
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = await exportJWK(publicKey);
  let nonce = (await fetch(directory.newNonce!, { method: 'HEAD' })).headers.get('replay-nonce')!;
  let kid: string | undefined;
  const post = async (url: string, payload: object | ''): Promise<Response> => {
    const bytes = new TextEncoder().encode(payload === '' ? '' : JSON.stringify(payload));
    const jws = await new FlattenedSign(bytes)
      .setProtectedHeader({ alg: 'ES256', nonce, url, ...(kid ? { kid } : { jwk }) })
      .sign(privateKey);
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/jose+json' },
      body: JSON.stringify(jws),
    });
    nonce = response.headers.get('replay-nonce') ?? nonce;
    return response;
  };
  const account = await post(directory.newAccount!, { termsOfServiceAgreed: true });
  kid = account.headers.get('location')!;
  return { directory, jwk, post };
}

type AcmeSession = Awaited<ReturnType<typeof acmeSession>>;

/** Polls a resource by POST-as-GET until its status leaves pending/processing (or 50 polls have passed). */
async function settled(
  acme: AcmeSession,
  url: string,
): Promise<{ status: string } & Record<string, unknown>> {
  let resource = (await (await acme.post(url, '')).json()) as { status: string } & Record<string, unknown>;
  for (
    let poll = 0;
    poll < 50 && (resource.status === 'pending' || resource.status === 'processing');
    poll++
  ) {
    await new Promise((resolveSleep) => setTimeout(resolveSleep, 100));
    resource = (await (await acme.post(url, '')).json()) as { status: string } & Record<string, unknown>;
  }
  return resource;
}

/**
 * Orders `name` by hand (naming a profile or the certificate it replaces when given), answers dns-01
 * through challtestsrv, finalizes and downloads: the bed's own check that Pebble issues, independent of the
 * client under test.
 */
async function issueByHand(
  acme: AcmeSession,
  dns: ChallTestSrv,
  name: string,
  extra: { readonly profile?: string; readonly replaces?: string } = {},
) {
  const created = await acme.post(acme.directory.newOrder!, {
    identifiers: [{ type: 'dns', value: name }],
    ...extra,
  });
  expect(created.status).toBe(201);
  const orderUrl = created.headers.get('location')!;
  const order = (await created.json()) as { authorizations: string[]; finalize: string; profile?: string };
  for (const authzUrl of order.authorizations) {
    const authz = (await (await acme.post(authzUrl, '')).json()) as {
      status: string;
      challenges: Array<{ type: string; url: string; token: string }>;
    };
    if (authz.status === 'valid') continue;
    const challenge = authz.challenges.find((c) => c.type === 'dns-01')!;
    const keyAuthorization = `${challenge.token}.${await calculateJwkThumbprint(acme.jwk, 'sha256')}`;
    await dns.setTxt(
      `_acme-challenge.${name}`,
      createHash('sha256').update(keyAuthorization).digest('base64url'),
    );
    try {
      await acme.post(challenge.url, {});
      expect((await settled(acme, authzUrl)).status).toBe('valid');
    } finally {
      await dns.clearTxt(`_acme-challenge.${name}`);
    }
  }
  const keys = await generateCertificateKeys('ec-p256');
  const csr = await createCsr({ keys, names: [name] });
  await acme.post(order.finalize, { csr: Buffer.from(csr.der).toString('base64url') });
  const finalized = await settled(acme, orderUrl);
  expect(finalized.status).toBe('valid');
  const pem = await (await acme.post(finalized.certificate as string, '')).text();
  const leaf = parseCertificate(splitPemChain(pem)[0]!);
  return {
    pem,
    profile: finalized.profile as string | undefined,
    lifetimeSeconds: (leaf.notAfter.getTime() - leaf.notBefore.getTime()) / 1000,
    certId: certId({ authorityKeyId: leaf.authorityKeyId!, serialDer: leaf.serialDer }),
  };
}

describe('local test bed', () => {
  let dns: ChallTestSrv;
  let pebble: PebbleInstance;
  let proxy: FaultProxy;

  beforeAll(async () => {
    dns = await startChallTestSrv();
    pebble = await startPebble({ dnsServer: dns.dnsAddress, validitySeconds: 3600 });
    const tls = testBedTls();
    proxy = await startFaultProxy({ targetOrigin: new URL(pebble.directoryUrl).origin, ...tls });
  });

  afterAll(async () => {
    await proxy?.stop();
    await stopAll();
  });

  it('serves an ACME directory that advertises ARI, over TLS trusted only by the bed fetch', async () => {
    const response = await pebble.fetch(pebble.directoryUrl);
    expect(response.status).toBe(200);
    const directory = (await response.json()) as Record<string, unknown>;
    expect(directory.newOrder).toMatch(/^https:\/\/127\.0\.0\.1:\d+\//);
    expect(directory.renewalInfo).toMatch(/renewalInfo$/);
    // The global fetch does not trust the bed's CA: the trust is scoped to `pebble.fetch`.
    await expect(fetch(pebble.directoryUrl)).rejects.toThrow();
  });

  it('hands out the issuing root and intermediate of this Pebble run', async () => {
    const root = await pebble.issuerRootsPem();
    const intermediate = await pebble.issuerIntermediatesPem();
    expect(root).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(intermediate).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(intermediate).not.toBe(root);
    expect(pebble.logs()).toContain(
      'Loaded profile "default" with certificate validity period of 3600 seconds',
    );
    expect(pebble.logs()).toContain(`Using custom DNS resolver for ACME challenges: ${dns.dnsAddress}`);
  });

  it('publishes and removes TXT records that a DNS query sees', async () => {
    const resolver = new Resolver({ timeout: 1000, tries: 2 });
    resolver.setServers([dns.dnsAddress]);
    const name = '_acme-challenge.testbed.example';
    await dns.setTxt(name, 'first-value');
    await dns.setTxt(name, 'second-value');
    const records = (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
    expect(records.sort()).toEqual(['first-value', 'second-value']);
    await dns.clearTxt(name);
    await expect(resolver.resolveTxt(name)).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('lets Pebble validate a dns-01 challenge against the TXT record challtestsrv serves', async () => {
    const acme = await acmeSession(pebble.fetch, pebble.directoryUrl);
    const order = (await (
      await acme.post(acme.directory.newOrder!, { identifiers: [{ type: 'dns', value: 'bed.example' }] })
    ).json()) as { authorizations: string[] };
    const authzUrl = order.authorizations[0]!;
    const authz = (await (await acme.post(authzUrl, '')).json()) as {
      challenges: Array<{ type: string; url: string; token: string }>;
    };
    const challenge = authz.challenges.find((c) => c.type === 'dns-01')!;
    const keyAuthorization = `${challenge.token}.${await calculateJwkThumbprint(acme.jwk, 'sha256')}`;
    const txt = createHash('sha256').update(keyAuthorization).digest('base64url');
    await dns.setTxt('_acme-challenge.bed.example', txt);
    try {
      expect((await acme.post(challenge.url, {})).status).toBe(200);
      let status = 'pending';
      for (let poll = 0; poll < 50 && (status === 'pending' || status === 'processing'); poll++) {
        await new Promise((resolveSleep) => setTimeout(resolveSleep, 100));
        status = ((await (await acme.post(authzUrl, '')).json()) as { status: string }).status;
      }
      expect(status).toBe('valid');
    } finally {
      await dns.clearTxt('_acme-challenge.bed.example');
    }
  });

  it('issues every order that names no profile under "default", with the lifetime the bed asked for', async () => {
    const directory = (await (await pebble.fetch(pebble.directoryUrl)).json()) as {
      meta: { profiles?: Record<string, string> };
    };
    // One profile only: Pebble 2.10 picks a random profile for an order that names none.
    expect(directory.meta.profiles).toEqual({ default: 'The default profile' });
    const acme = await acmeSession(pebble.fetch, pebble.directoryUrl);
    for (const name of ['first.lifetime.example', 'second.lifetime.example']) {
      const issued = await issueByHand(acme, dns, name);
      expect(issued.profile).toBe('default');
      // Pebble makes notAfter the last second of the validity period.
      expect(issued.lifetimeSeconds).toBeGreaterThanOrEqual(3599);
      expect(issued.lifetimeSeconds).toBeLessThanOrEqual(3600);
    }
  });

  it('advertises the profiles it was started with in meta.profiles and issues each with its own lifetime', async () => {
    const lifetimes = { default: 90 * 86_400, shortlived: 6 * 86_400, tlsserver: 45 * 86_400 };
    const profiled = await startPebble({
      dnsServer: dns.dnsAddress,
      validitySeconds: lifetimes.default,
      extraProfiles: {
        shortlived: { validitySeconds: lifetimes.shortlived, description: 'Six days' },
        tlsserver: { validitySeconds: lifetimes.tlsserver },
      },
    });
    try {
      const directory = (await (await profiled.fetch(profiled.directoryUrl)).json()) as {
        meta: { profiles?: Record<string, string> };
      };
      expect(directory.meta.profiles).toEqual({
        default: 'The default profile',
        shortlived: 'Six days',
        tlsserver: 'tlsserver',
      });
      const acme = await acmeSession(profiled.fetch, profiled.directoryUrl);
      for (const [profile, seconds] of Object.entries(lifetimes)) {
        const issued = await issueByHand(acme, dns, `${profile}.profiles.example`, { profile });
        expect(issued.profile).toBe(profile);
        expect(issued.lifetimeSeconds).toBeGreaterThanOrEqual(seconds - 1);
        expect(issued.lifetimeSeconds).toBeLessThanOrEqual(seconds);
      }
      const unknown = await acme.post(acme.directory.newOrder!, {
        identifiers: [{ type: 'dns', value: 'unknown.profiles.example' }],
        profile: 'classic',
      });
      expect(unknown.status).toBe(400);
      expect(await unknown.json()).toMatchObject({ type: 'urn:ietf:params:acme:error:invalidProfile' });
    } finally {
      await profiled.stop();
    }
  });

  it('answers replacement orders as Pebble 2.10 does: 409 alreadyReplaced, 403 for another account, 500 for other names', async () => {
    const owner = await acmeSession(pebble.fetch, pebble.directoryUrl);
    const stranger = await acmeSession(pebble.fetch, pebble.directoryUrl);
    const order = (acme: AcmeSession, name: string, replaces: string) =>
      acme.post(acme.directory.newOrder!, { identifiers: [{ type: 'dns', value: name }], replaces });
    const answer = async (response: Response) => ({
      status: response.status,
      type: ((await response.json()) as { type?: string }).type,
    });

    const once = await issueByHand(owner, dns, 'once.replace.example');
    // Pebble accepts a second replacement while the first is still pending, and refuses one once the first is
    // issued.
    await issueByHand(owner, dns, 'once.replace.example', { replaces: once.certId });
    expect(await answer(await order(owner, 'once.replace.example', once.certId))).toEqual({
      status: 409,
      type: 'urn:ietf:params:acme:error:alreadyReplaced',
    });

    const other = await issueByHand(owner, dns, 'other.replace.example');
    expect(await answer(await order(stranger, 'other.replace.example', other.certId))).toEqual({
      status: 403,
      type: 'urn:ietf:params:acme:error:unauthorized',
    });
    expect(await answer(await order(owner, 'unrelated.replace.example', other.certId))).toEqual({
      status: 500,
      type: 'urn:ietf:params:acme:error:serverInternal',
    });
    // Neither refusal used the certificate up: its owner can still replace it.
    expect((await order(owner, 'other.replace.example', other.certId)).status).toBe(201);
  });

  describe('set-renewal-info', () => {
    let issued: Awaited<ReturnType<typeof issueByHand>>;
    let renewalInfoUrl: string;
    const renewalInfo = async () => {
      const response = await pebble.fetch(`${renewalInfoUrl}/${issued.certId}`);
      return {
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        contentType: response.headers.get('content-type'),
        body: await response.text(),
      };
    };
    /** What the client under test makes of the answer: a window, or the error that sends it to its fallback. */
    const clientReads = () =>
      fetchRenewalInfo({ fetch: pebble.fetch, renewalInfoUrl, certId: issued.certId, now: new Date() });

    beforeAll(async () => {
      const acme = await acmeSession(pebble.fetch, pebble.directoryUrl);
      issued = await issueByHand(acme, dns, 'ari.set-renewal-info.example');
      renewalInfoUrl = acme.directory.renewalInfo!;
    });

    it('serves a past window, which the client reads as "renew now"', async () => {
      const start = new Date(Date.now() - 2 * 3600_000);
      const end = new Date(Date.now() - 3600_000);
      await pebble.setRenewalInfo(issued.pem, { start, end });
      const answer = await renewalInfo();
      expect(answer.status).toBe(200);
      // Pebble 2.10.0 has no setting for the renewalInfo Retry-After: it stays six hours.
      expect(answer.retryAfter).toBe('21600');
      expect(JSON.parse(answer.body)).toEqual({
        suggestedWindow: { start: start.toISOString(), end: end.toISOString() },
      });
      const { info } = await clientReads();
      expect(info.window).toEqual({ start, end });
      expect(info.window.end.getTime()).toBeLessThan(Date.now());
    });

    it('serves a far-future window and its explanation URL, set by certID', async () => {
      await pebble.setRenewalInfo(issued.certId, {
        start: '2999-01-01T00:00:00Z',
        end: '2999-01-08T00:00:00Z',
        explanationURL: 'https://ca.example/why-so-late',
      });
      expect(JSON.parse((await renewalInfo()).body)).toEqual({
        suggestedWindow: { start: '2999-01-01T00:00:00Z', end: '2999-01-08T00:00:00Z' },
        explanationURL: 'https://ca.example/why-so-late',
      });
      const { info } = await clientReads();
      expect(info).toEqual({
        window: { start: new Date('2999-01-01T00:00:00Z'), end: new Date('2999-01-08T00:00:00Z') },
        explanationUrl: 'https://ca.example/why-so-late',
      });
    });

    it.each([
      {
        what: 'a window that ends before it starts',
        info: { start: '2030-01-08T00:00:00Z', end: '2030-01-01T00:00:00Z' },
        served: '{"suggestedWindow":{"start":"2030-01-08T00:00:00Z","end":"2030-01-01T00:00:00Z"}}',
        reason: /ends .* at or before it starts/,
      },
      {
        what: 'a start that is no timestamp',
        info: { start: 'next tuesday', end: '2030-01-01T00:00:00Z' },
        served: '{"suggestedWindow":{"start":"next tuesday","end":"2030-01-01T00:00:00Z"}}',
        reason: /not a valid RenewalInfo object: suggestedWindow\.start/,
      },
      {
        what: 'a body that is no JSON',
        info: { raw: 'renew whenever' },
        served: 'renew whenever',
        reason: /renewalInfo at .* is not JSON \(HTTP 200/,
      },
    ])(
      'accepts a malformed window ($what) and serves it as given, which the client refuses',
      async ({ info, served, reason }) => {
        await pebble.setRenewalInfo(issued.pem, info);
        const answer = await renewalInfo();
        expect(answer).toEqual({
          status: 200,
          retryAfter: '21600',
          contentType: 'application/json; charset=utf-8',
          body: served,
        });
        const refused = await clientReads().catch((error: unknown) => error);
        expect(refused).toBeInstanceOf(RenewalInfoError);
        expect(refused).toMatchObject({ code: 'ari-invalid', temporary: false, status: 200 });
        expect((refused as Error).message).toMatch(reason);
      },
    );

    it('refuses a certificate Pebble never issued', async () => {
      await expect(
        pebble.setRenewalInfo('AAAA.AQID', { start: new Date(), end: new Date() }),
      ).rejects.toThrow(/no certificate with serial 10203/);
    });
  });

  it('proxies the CA with its own origin in bodies and headers', async () => {
    const response = await proxy.fetch(proxy.directoryUrl);
    const text = await response.text();
    const pebbleOrigin = new URL(pebble.directoryUrl).origin;
    expect(response.status).toBe(200);
    expect(text).toContain(`${proxy.origin}/order-plz`);
    expect(text).not.toContain(pebbleOrigin);

    const nonce = await proxy.fetch(`${proxy.origin}/nonce-plz`, { method: 'HEAD' });
    expect(nonce.headers.get('replay-nonce')).toBeTruthy();
    expect(nonce.headers.get('link')).toContain(`<${proxy.directoryUrl}>;rel="index"`);
    expect(proxy.requests.map((r) => `${r.method} ${r.path} ${r.answeredBy}`)).toEqual([
      'GET /dir upstream',
      'HEAD /nonce-plz upstream',
    ]);
  });

  it('lets a rule answer one request with a nonce the CA accepts, then passes the retry through', async () => {
    const directory = (await (await proxy.fetch(proxy.directoryUrl)).json()) as Record<string, string>;
    const newAccount = directory.newAccount!;
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    const signedNewAccount = async (nonce: string): Promise<string> =>
      JSON.stringify(
        await new FlattenedSign(new TextEncoder().encode(JSON.stringify({ termsOfServiceAgreed: true })))
          .setProtectedHeader({ alg: 'ES256', jwk, nonce, url: newAccount })
          .sign(privateKey),
      );
    const post = async (nonce: string) =>
      proxy.fetch(newAccount, {
        method: 'POST',
        headers: { 'content-type': 'application/jose+json' },
        body: await signedNewAccount(nonce),
      });

    proxy.addRule(({ method, path, count }) =>
      method === 'POST' && path === new URL(newAccount).pathname && count === 1
        ? {
            status: 503,
            headers: { 'Retry-After': '1' },
            body: JSON.stringify({ type: 'urn:ietf:params:acme:error:serverInternal', detail: 'injected' }),
          }
        : undefined,
    );
    const first = await proxy.fetch(directory.newNonce!, { method: 'HEAD' });
    const faulted = await post(first.headers.get('replay-nonce')!);
    expect(faulted.status).toBe(503);
    expect(faulted.headers.get('retry-after')).toBe('1');
    expect(faulted.headers.get('content-type')).toBe('application/problem+json');
    expect(await faulted.json()).toEqual({
      type: 'urn:ietf:params:acme:error:serverInternal',
      detail: 'injected',
    });

    // The retry signs the nonce the canned answer carried; Pebble accepting it proves the nonce pool survives.
    const created = await post(faulted.headers.get('replay-nonce')!);
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toMatch(new RegExp(`^${proxy.origin}/my-account/`));

    const accounts = proxy.requests.filter((r) => r.method === 'POST');
    expect(accounts.map((r) => `${r.answeredBy} ${r.status}`)).toEqual(['rule 503', 'upstream 201']);
    expect(accounts[0]?.payload).toEqual({ termsOfServiceAgreed: true });
    expect(accounts[0]?.protectedHeader).toMatchObject({ alg: 'ES256', url: newAccount });
    proxy.clearRules();
  });

  it('can reset a connection and delay a request', async () => {
    proxy.addRule(({ path }) => (path === '/dir?reset' ? { reset: true } : undefined));
    proxy.addRule(({ path }) => (path === '/dir?slow' ? { delayMs: 300 } : undefined));
    await expect(proxy.fetch(`${proxy.origin}/dir?reset`)).rejects.toMatchObject({
      cause: { code: 'ECONNRESET' },
    });
    const started = performance.now();
    const slow = await proxy.fetch(`${proxy.origin}/dir?slow`);
    expect(slow.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    proxy.clearRules();
  });

  it('starts a Pebble that requires External Account Binding and rejects nonces when asked', async () => {
    const strict = await startPebble({
      eabKeys: { 'kid-1': 'c2VjcmV0LWhtYWMta2V5LWZvci10ZXN0cw' },
      nonceRejectPercent: 10,
    });
    try {
      const directory = (await (await strict.fetch(strict.directoryUrl)).json()) as {
        meta: Record<string, unknown>;
      };
      expect(directory.meta.externalAccountRequired).toBe(true);
      expect(strict.logs()).toContain('Configured to reject 10% of good nonces');
      expect(pebble.logs()).toContain('Configured to reject 0% of good nonces');
    } finally {
      await strict.stop();
    }
    expect(processExists(strict.pid)).toBe(false);
  });

  it('leaves no port open and no process behind after stop', async () => {
    const pids = [pebble.pid, dns.pid];
    const ports = [
      portOf(pebble.directoryUrl),
      portOf(pebble.managementUrl),
      portOf(dns.managementUrl),
      Number(dns.dnsAddress.split(':')[1]),
      portOf(proxy.directoryUrl),
    ];
    expect(pids.every(processExists)).toBe(true);
    await proxy.stop();
    await pebble.stop();
    await dns.stop();
    expect(pids.map(processExists)).toEqual([false, false]);
    expect(await Promise.all(ports.map(listening))).toEqual([false, false, false, false, false]);
    expect(liveProcesses()).toEqual([]);
  });
});
