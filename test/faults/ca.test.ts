import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeConfig } from '../../functions/composition/runtime';
import type { Fetch } from '../../functions/core/http';
import { importPrivateKeyPem, parseCertificate } from '../../functions/core/pki';
import type { DnsChallengeProvider } from '../../functions/core/renewal/ports';
import { overwriteState } from '../support/fakes';
import { expectLoudFailure, type FaultWorld, startFaultWorld } from '../support/faults/faults-world';
import { buildTestChain, createTestIntermediate, createTestRoot, issueTestLeaf } from '../unit/pki/fixtures';

const ACME = 'urn:ietf:params:acme:error:';
const IDS = [
  'replace-500',
  'replace-409',
  'bad-nonce',
  'rate-limited',
  'unavailable',
  'reset',
  'timeout',
  'wrong-txt',
  'oversized',
  'content-type',
  'non-json',
  'other-host',
  'other-names',
  'other-key',
  'bad-chain',
  'expires-sooner',
] as const;
const domain = (id: string) => `${id}.ca.test`;

let world: FaultWorld;
let config: RuntimeConfig;

const problem = (type: string, detail: string, status: number) => ({
  status,
  headers: { 'content-type': 'application/problem+json' },
  body: JSON.stringify({ type: `${ACME}${type}`, detail, status }),
});
const isNewOrder = (path: string, method: string) => method === 'POST' && path === '/order-plz';

/** A fetch that hands the CA's certificate chain to `tamper` before the renewer sees it. */
function tamperingFetch(tamper: (pem: string) => Promise<string>): Fetch {
  return async (url, init) => {
    const response = await world.bed.fetch(url, init);
    if (!new URL(url).pathname.startsWith('/certZ/') || !response.ok) return response;
    const pem = await tamper(await response.text());
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    return new Response(pem, { status: response.status, headers });
  };
}

/** A leaf for the renewer's own pending key, with the names and lifetime given, under a throwaway CA. */
async function mintForPendingKey(
  id: string,
  names: string[],
  notAfter: Date,
  issuer?: Awaited<ReturnType<typeof createTestIntermediate>>,
) {
  const pendingKey = await world.runtime().store.getPendingKey(id);
  const { keys } = await importPrivateKeyPem(pendingKey!);
  const intermediate =
    issuer ??
    (await createTestIntermediate(await createTestRoot({ name: 'Not The CA Root' }), { name: 'Not The CA' }));
  const leaf = await issueTestLeaf(intermediate, {
    names,
    keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
    notBefore: new Date(Date.now() - 60_000),
    notAfter,
    serialNumber: '7f00ff01',
  });
  return { leaf, intermediate };
}

beforeAll(async () => {
  world = await startFaultWorld('ca', {
    zones: ['ca.test'],
    inventory: (_zones, directoryUrl, trustAnchors) => ({
      cas: { pebble: { directoryUrl, trustAnchors } },
      certificates: IDS.map((id) => ({ id, ca: 'pebble', domains: [domain(id)], keyType: 'ec-p256' })),
    }),
  });
  config = world.config;
  // Every certificate exists, stored and imported, before its scenario: that is what must not be lost.
  const { event } = await world.schedule();
  expect(event.Records).toHaveLength(IDS.length);
  expect((await world.renew(event, config, 8)).batchItemFailures).toEqual([]);
});

afterAll(async () => {
  await world?.stop();
});

describe('CA faults', () => {
  it('500 serverInternal on the replacement order: renewed without replaces', async () => {
    const id = 'replace-500';
    const before = await world.snapshot(id);
    const mark = world.mark();
    world.bed.proxy!.addRule((r) =>
      isNewOrder(r.path, r.method) && (r.payload as { replaces?: string })?.replaces
        ? problem('serverInternal', 'While validating order as a replacement and error occurred', 500)
        : undefined,
    );
    const response = await world.renew(world.message(id));
    world.bed.proxy!.clearRules();
    expect(response.batchItemFailures).toEqual([]);
    const orders = await world.newOrders(mark);
    expect(orders.map((o) => Boolean((o.payload as { replaces?: string }).replaces))).toEqual([true, false]);
    const state = (await world.state(id))!;
    expect(state.replacesDropped?.reason).toMatch(/^500 serverInternal/);
    world.verdict(
      {
        scenario: '500 serverInternal on the replacement order (the lego v4.16.0 incident)',
        outcome: 'renewed without `replaces`; `replacesDropped` recorded',
        notes: '2 newOrder requests',
      },
      await world.lost(before, 'renewed'),
      await world.leaked(id),
    );
  });

  it('409 on a repeated replacement (the certificate was already replaced): renewed without replaces', async () => {
    const id = 'replace-409';
    const store = world.runtime().store;
    const oldState = (await store.getState(id))!;
    const oldFiles = (await store.getCertificate(id))!;
    // A renewal replaced the certificate at the CA, then the state and PEMs were rolled back to the previous S3
    // versions (an operator restore): the next renewal names a certificate the CA already saw replaced.
    expect((await world.renew(world.message(id))).batchItemFailures).toEqual([]);
    const imported = (await store.getState(id))!.acm;
    await store.putCertificate(id, oldFiles);
    await overwriteState(store, id, { ...oldState, acm: imported });
    const before = await world.snapshot(id);
    const mark = world.mark();
    const response = await world.renew(world.message(id));
    expect(response.batchItemFailures).toEqual([]);
    const orders = await world.newOrders(mark);
    expect(orders.map((o) => Boolean((o.payload as { replaces?: string }).replaces))).toEqual([true, false]);
    const after = (await world.state(id))!;
    expect(after.replacesDropped?.reason).toMatch(/^409 alreadyReplaced: /);
    world.verdict(
      {
        scenario: '409 from Pebble on a second replacement of the same certificate',
        outcome: 'renewed without `replaces`; `replacesDropped` recorded',
        notes: `Pebble said: ${after.replacesDropped!.reason.slice(0, 80)}`,
      },
      await world.lost({ ...before, acm: {} }, 'renewed'),
      await world.leaked(id),
    );
    // ACM held the rolled-back-over serial; the renewal re-imported the new one into the same ARN.
    const acm = (await world.snapshot(id)).acm[world.bed.region]!;
    expect(acm.arn).toBe(imported[world.bed.region]!.arn);
    expect(acm.serialHex).toBe(after.current!.serial.replace(/^0+/, ''));
  });

  it('badNonce on 50% of signed requests: renewed', async () => {
    const id = 'bad-nonce';
    // A fresh challenge makes the renewal sign enough requests for the count below.
    await world.deactivateAuthorizations();
    const before = await world.snapshot(id);
    let posts = 0;
    let rejected = 0;
    world.bed.proxy!.addRule((r) => {
      if (r.method !== 'POST') return undefined;
      posts += 1;
      if (posts % 2 === 1) return undefined;
      rejected += 1;
      return problem('badNonce', 'JWS has an invalid anti-replay nonce', 400);
    });
    const response = await world.renew(world.message(id));
    world.bed.proxy!.clearRules();
    expect(response.batchItemFailures).toEqual([]);
    expect(rejected).toBeGreaterThanOrEqual(5);
    world.verdict(
      {
        scenario: 'badNonce on every second signed request (50%)',
        outcome: 'renewed',
        notes: `${rejected} of ${posts} POSTs rejected, each retried with the fresh nonce`,
      },
      await world.lost(before, 'renewed'),
      await world.leaked(id),
    );
  });

  it('rateLimited with Retry-After: deferred, not enqueued before it, one order attempt, then renewed', async () => {
    const id = 'rate-limited';
    const before = await world.snapshot(id);
    // Make it due by its ARI window (as after a CA incident), without asking ARI again this hour.
    const store = world.runtime().store;
    const s = (await store.getState(id))!;
    const hour = 60 * 60_000;
    await overwriteState(store, id, {
      ...s,
      ari: {
        ...s.ari!,
        windowStart: new Date(Date.now() - hour).toISOString(),
        selectedTime: new Date(Date.now() - 60_000).toISOString(),
        nextCheckAt: new Date(Date.now() + 24 * hour).toISOString(),
      },
    });
    const first = await world.schedule();
    expect(first.event.Records.map((r) => JSON.parse(r.body))).toEqual([{ id, reason: 'ari-window' }]);

    const mark = world.mark();
    world.bed.proxy!.addRule((r) =>
      isNewOrder(r.path, r.method)
        ? {
            ...problem('rateLimited', 'too many certificates already issued for "ca.test"', 429),
            headers: { 'content-type': 'application/problem+json', 'retry-after': '3600' },
          }
        : undefined,
    );
    const response = await world.renew(first.event);
    expect(response.batchItemFailures).toEqual([]); // Deferred, not retried by SQS: the scheduler brings it back.
    expect(await world.newOrders(mark)).toHaveLength(1);
    const state = (await world.state(id))!;
    expect(state.lastResult).toBe('deferred');
    expect(state.lastProblem?.type).toBe(`${ACME}rateLimited`);
    const retryAfter = Date.parse(state.retryAfter!);
    expect(retryAfter - Date.now()).toBeGreaterThan(hour - 5 * 60_000);
    const code = expectLoudFailure(world.signals(id, mark));
    expect(code).toBe('acme-rate-limited');

    // The next passes before Retry-After enqueue nothing and ask the CA nothing: no hot loop.
    const again = await world.schedule();
    expect(again.event.Records).toHaveLength(0);
    const halfway = await world.schedule({ ...config, clock: { now: () => new Date(retryAfter - 60_000) } });
    expect(halfway.event.Records).toHaveLength(0);
    expect(await world.newOrders(mark)).toHaveLength(1);
    const lostWhileDeferred = await world.lost(before, 'kept');
    const leakedWhileDeferred = await world.leaked(id);

    // After Retry-After the scheduler brings it back and the renewal goes through.
    world.bed.proxy!.clearRules();
    const afterRetry: RuntimeConfig = { ...config, clock: { now: () => new Date(retryAfter + 1_000) } };
    const later = await world.schedule(afterRetry);
    expect(later.event.Records.map((r) => JSON.parse(r.body).id)).toEqual([id]);
    // The renewer runs then too: it judges the deferral at its own present, as the scheduler does.
    expect((await world.renew(later.event, afterRetry)).batchItemFailures).toEqual([]);
    world.verdict(
      {
        scenario: '429 rateLimited on newOrder with Retry-After: 3600',
        outcome: `deferred (${code}); not enqueued before Retry-After; renewed after it`,
        notes: '1 newOrder until Retry-After passed',
      },
      [...lostWhileDeferred, ...(await world.lost(before, 'renewed'))],
      [...leakedWhileDeferred, ...(await world.leaked(id))],
    );
  });

  it('503 with Retry-After on newOrder: deferred until then, nothing lost', async () => {
    const id = 'unavailable';
    const before = await world.snapshot(id);
    const mark = world.mark();
    world.bed.proxy!.addRule((r) =>
      isNewOrder(r.path, r.method)
        ? {
            ...problem('serverInternal', 'The service is down for maintenance', 503),
            headers: { 'content-type': 'application/problem+json', 'retry-after': '1800' },
          }
        : undefined,
    );
    const response = await world.renew(world.message(id));
    world.bed.proxy!.clearRules();
    const state = (await world.state(id))!;
    const code = expectLoudFailure(world.signals(id, mark));
    expect(state.lastError).toMatch(/503/);
    expect(state.lastProblem?.status).toBe(503);
    // The CA said when it will be back: the renewal waits for that instead of being retried (and dead-lettered).
    expect(response.batchItemFailures).toEqual([]);
    expect(state.lastResult).toBe('deferred');
    expect(Date.parse(state.retryAfter!) - Date.now()).toBeGreaterThan(25 * 60_000);
    const orders = await world.newOrders(mark);
    expect(orders).toHaveLength(1);
    expect((await world.schedule()).event.Records).toHaveLength(0);
    world.verdict(
      {
        scenario: '503 with Retry-After: 1800 on the (replacement) newOrder',
        outcome: `deferred (${code}) until Retry-After`,
        notes: '1 newOrder; not retried without `replaces` (the CA is down, not rejecting the replacement)',
      },
      await world.lost(before, 'kept'),
      await world.leaked(id),
    );
  });

  it('connection reset on finalize: fails loudly, the retry resumes the same order', async () => {
    const id = 'reset';
    const before = await world.snapshot(id);
    const mark = world.mark();
    let resets = 0;
    world.bed.proxy!.addRule((r) =>
      r.method === 'POST' && r.path.startsWith('/finalize-order/') && resets++ === 0
        ? { reset: true }
        : undefined,
    );
    const first = await world.renew(world.message(id));
    expect(first.batchItemFailures).toHaveLength(1);
    const code = expectLoudFailure(world.signals(id, mark));
    expect(code).toBe('acme-protocol');
    const failed = (await world.state(id))!;
    expect(failed.lastError).toMatch(/failed before any answer/);
    expect(failed.pendingOrder?.url).toBeDefined();
    const lostMidway = await world.lost(before, 'kept');
    const leakedMidway = await world.leaked(id);

    const retry = await world.renew(world.message(id, 'retry'));
    world.bed.proxy!.clearRules();
    expect(retry.batchItemFailures).toEqual([]);
    expect(await world.newOrders(mark)).toHaveLength(1);
    expect((await world.state(id))!.pendingOrder).toBeUndefined();
    world.verdict(
      {
        scenario: 'TCP reset on the finalize request',
        outcome: `failed loudly (${code}); the retry resumed the checkpointed order and renewed`,
        notes: '1 newOrder in total',
      },
      [...lostMidway, ...(await world.lost(before, 'renewed'))],
      [...leakedMidway, ...(await world.leaked(id))],
    );
  });

  it('a CA that stops answering mid-order (timeout): fails loudly, the retry resumes', async () => {
    const id = 'timeout';
    const before = await world.snapshot(id);
    const mark = world.mark();
    let delayed = 0;
    world.bed.proxy!.addRule((r) =>
      r.method === 'POST' && r.path.startsWith('/finalize-order/') && delayed++ === 0
        ? { delayMs: 1_500 }
        : undefined,
    );
    // Lambda's fetch gives up on a silent server (undici's headers timeout); here after 400 ms.
    const impatient: RuntimeConfig = {
      ...config,
      fetch: (url, init) =>
        world.bed.fetch(url, {
          ...init,
          // The transport's own (30 s) deadline stays; the 400 ms one comes first.
          signal: init?.signal
            ? AbortSignal.any([init.signal, AbortSignal.timeout(400)])
            : AbortSignal.timeout(400),
        }),
    };
    const first = await world.renew(world.message(id), impatient);
    expect(first.batchItemFailures).toHaveLength(1);
    const code = expectLoudFailure(world.signals(id, mark));
    const failed = (await world.state(id))!;
    expect(failed.lastError).toMatch(/failed before any answer/);
    expect(failed.pendingOrder?.url).toBeDefined();
    const lostMidway = await world.lost(before, 'kept');
    const leakedMidway = await world.leaked(id);
    // The late finalize still reaches the CA; the retry finds the order finalized and downloads it.
    await new Promise((r) => setTimeout(r, 2_000));
    const retry = await world.renew(world.message(id, 'retry'), impatient);
    world.bed.proxy!.clearRules();
    expect(retry.batchItemFailures).toEqual([]);
    expect(await world.newOrders(mark)).toHaveLength(1);
    world.verdict(
      {
        scenario: 'finalize answered after the client timed out',
        outcome: `failed loudly (${code}); the retry resumed the order (already finalized) and renewed`,
        notes: '1 newOrder in total',
      },
      [...lostMidway, ...(await world.lost(before, 'renewed'))],
      [...leakedMidway, ...(await world.leaked(id))],
    );
  });

  it('a challenge that turns invalid (wrong TXT value): dns unauthorized surfaced, records removed', async () => {
    const id = 'wrong-txt';
    // Only a fresh challenge reads the wrong TXT value.
    await world.deactivateAuthorizations();
    const before = await world.snapshot(id);
    const mark = world.mark();
    const wrong: RuntimeConfig = {
      ...config,
      decorate: {
        dns: (real): DnsChallengeProvider => ({
          present: (records, hints) =>
            real.present(
              records.map((r) => ({ ...r, value: 'not-the-key-authorization-digest' })),
              hints,
            ),
          cleanup: (handle) => real.cleanup(handle),
        }),
      },
    };
    const first = await world.renew(world.message(id), wrong);
    expect(first.batchItemFailures).toHaveLength(1);
    const code = expectLoudFailure(world.signals(id, mark));
    const failed = (await world.state(id))!;
    expect(failed.lastProblem?.type).toMatch(/unauthorized|dns/);
    expect(failed.lastProblem?.detail).toContain(domain(id));
    const lostMidway = await world.lost(before, 'kept');
    const leakedMidway = await world.leaked(id);
    // With DNS fixed, the retry sees the order is invalid and places a new one.
    const retry = await world.renew(world.message(id, 'retry'));
    expect(retry.batchItemFailures).toEqual([]);
    world.verdict(
      {
        scenario: 'challenge invalid: a DNS decorator publishes a wrong TXT value',
        outcome: `failed loudly: ${code} (${failed.lastProblem!.type!.replace(ACME, '')}: ${failed.lastProblem!.detail!.slice(0, 60)}…); the retry renewed with a new order`,
        notes: 'records removed after the failed validation',
      },
      [...lostMidway, ...(await world.lost(before, 'renewed'))],
      [...leakedMidway, ...(await world.leaked(id))],
    );
  });
});

describe('a hostile or broken CA', () => {
  const hostile = (
    id: (typeof IDS)[number],
    scenario: string,
    rule: Parameters<NonNullable<FaultWorld['bed']['proxy']>['addRule']>[0],
    expectMessage: RegExp,
  ) =>
    it(`${scenario}: rejected, nothing stored or imported`, async () => {
      const before = await world.snapshot(id);
      const mark = world.mark();
      world.bed.proxy!.addRule(rule);
      const response = await world.renew(world.message(id));
      world.bed.proxy!.clearRules();
      expect(response.batchItemFailures).toHaveLength(1);
      const code = expectLoudFailure(world.signals(id, mark));
      const state = (await world.state(id))!;
      expect(state.lastError).toMatch(expectMessage);
      world.verdict(
        {
          scenario,
          outcome: `failed loudly: ${code}`,
          notes: state.lastError!.replace(/https:\/\/127\.0\.0\.1:\d+/g, '<ca>').slice(0, 110),
        },
        await world.lost(before, 'kept'),
        await world.leaked(id),
      );
    });

  hostile(
    'oversized',
    'newOrder answered with a 200 kB body',
    (r) =>
      isNewOrder(r.path, r.method)
        ? {
            status: 201,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ status: 'pending', pad: 'x'.repeat(200_000) }),
          }
        : undefined,
    /bytes/,
  );
  hostile(
    'content-type',
    'newOrder answered as text/html',
    (r) =>
      isNewOrder(r.path, r.method)
        ? { status: 201, headers: { 'content-type': 'text/html' }, body: '<html>maintenance</html>' }
        : undefined,
    /text\/html/,
  );
  hostile(
    'non-json',
    'newOrder answered with non-JSON labelled application/json',
    (r) =>
      isNewOrder(r.path, r.method)
        ? { status: 201, headers: { 'content-type': 'application/json' }, body: '{"status": "pending", ' }
        : undefined,
    /not JSON/,
  );
  hostile(
    'other-host',
    'the order URL (Location) points to another host',
    (r) =>
      isNewOrder(r.path, r.method)
        ? {
            status: 201,
            headers: { 'content-type': 'application/json', location: 'https://ca.evil.test/my-order/1' },
            body: JSON.stringify({
              status: 'pending',
              identifiers: [{ type: 'dns', value: domain('other-host') }],
              authorizations: ['https://ca.evil.test/authZ/1'],
              finalize: 'https://ca.evil.test/finalize-order/1',
            }),
          }
        : undefined,
    /evil\.test.*refusing/,
  );

  const tampered = (
    id: (typeof IDS)[number],
    scenario: string,
    tamper: (pem: string) => Promise<string>,
    expectMessage: RegExp,
    reason = 'forced',
  ) =>
    it(`${scenario}: rejected, nothing stored or imported; the retry resumes the order`, async () => {
      const before = await world.snapshot(id);
      const mark = world.mark();
      const response = await world.renew(world.message(id, reason), {
        ...config,
        fetch: tamperingFetch(tamper),
      });
      expect(response.batchItemFailures).toHaveLength(1);
      const code = expectLoudFailure(world.signals(id, mark));
      expect(code).toBe('verification-failed');
      const state = (await world.state(id))!;
      expect(state.lastError).toMatch(expectMessage);
      const lostMidway = await world.lost(before, 'kept');
      const leakedMidway = await world.leaked(id);
      // The order is valid at the CA; an honest download on retry is verified and stored, without a new order.
      const retry = await world.renew(world.message(id, 'retry'));
      expect(retry.batchItemFailures).toEqual([]);
      expect(await world.newOrders(mark)).toHaveLength(1);
      world.verdict(
        {
          scenario,
          outcome: `failed loudly: ${code}; the untampered retry resumed the order and renewed`,
          notes: state.lastError!.slice(0, 110),
        },
        [...lostMidway, ...(await world.lost(before, 'renewed'))],
        [...leakedMidway, ...(await world.leaked(id))],
      );
    });

  tampered(
    'other-key',
    'the certificate URL serves another valid certificate (other names, other key)',
    async () => (await world.runtime().store.getCertificate('replace-500'))!.fullchainPem,
    /public key/,
  );
  tampered(
    'other-names',
    'the certificate URL serves a certificate for our key but other names',
    async () => {
      const { leaf, intermediate } = await mintForPendingKey(
        'other-names',
        ['www.evil.test'],
        new Date(Date.now() + 90 * 86_400_000),
      );
      return leaf.pem + intermediate.pem;
    },
    /does not cover/,
  );
  tampered(
    'bad-chain',
    'a chain that does not verify (real leaf, foreign intermediate)',
    async (pem) => {
      const leaf = pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + 26);
      const foreign = await buildTestChain();
      return leaf + foreign.intermediate.pem;
    },
    /not signed by/,
  );

  it('a certificate that expires sooner than the current one: rejected, current kept', async () => {
    const id = 'expires-sooner';
    // Due by the lifetime ratio (no usable ARI), so the renewer applies the "not sooner" rule.
    const store = world.runtime().store;
    const s = (await store.getState(id))!;
    await overwriteState(store, id, {
      ...s,
      ari: undefined,
      current: { ...s.current!, notBefore: '2000-01-01T00:00:00.000Z' },
    });
    const before = await world.snapshot(id);
    const mark = world.mark();
    const current = parseCertificate(before.certPem!);
    // A CA the inventory trusts (its chain passes), whose certificate merely expires sooner: only that rule refuses it.
    const root = await createTestRoot({ name: 'Sooner CA Root' });
    const issuer = await createTestIntermediate(root, { name: 'Sooner CA' });
    const inventory = (await store.loadInventory()) as { cas: { pebble: { trustAnchors: string[] } } };
    const pebble = inventory.cas.pebble;
    await world.bed.putInventory(world.bucket, {
      ...inventory,
      cas: { ...inventory.cas, pebble: { ...pebble, trustAnchors: [...pebble.trustAnchors, root.pem] } },
    });
    const tamper = async (pem: string) => {
      const real = parseCertificate(pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + 26));
      const notAfter = new Date(current.notAfter.getTime() - 86_400_000);
      const { leaf, intermediate } = await mintForPendingKey(id, real.dnsNames, notAfter, issuer);
      return leaf.pem + intermediate.pem;
    };
    const response = await world
      .renew(world.message(id, 'ratio'), { ...config, fetch: tamperingFetch(tamper) })
      .finally(() => world.bed.putInventory(world.bucket, inventory));
    expect(response.batchItemFailures).toHaveLength(1);
    const code = expectLoudFailure(world.signals(id, mark));
    const state = (await world.state(id))!;
    expect(state.lastError).toMatch(/sooner than the current one/);
    world.verdict(
      {
        scenario: 'a certificate that expires sooner than the current one (renewal due by ratio)',
        outcome: `failed loudly: ${code}`,
        notes: state.lastError!.slice(0, 110),
      },
      await world.lost(before, 'kept'),
      await world.leaked(id),
    );
  });
});
