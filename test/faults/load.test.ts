import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime, RuntimeConfig } from '../../functions/composition/runtime';
import { AcmeTransport, ensureAccount, revokeCertificate } from '../../functions/core/acme';
import { mapLimit } from '../../functions/core/concurrency';
import { parseCertificate } from '../../functions/core/pki';
import type { DnsChallengeProvider } from '../../functions/core/renewal/ports';
import { type FaultWorld, startFaultWorld } from '../support/faults/faults-world';

/**
 * How many certificates the CA incident revokes. The issue asks for 500; on two cores the bed sets the scene
 * (first issuances) at about 4 certificates a second and renews at about 3.5 a second at concurrency 5, so 500
 * alone takes 4.5 to 5.5 minutes. Measured with the other faults files: 400 → 5 min 48 s, 300 → 4 min 11 s on a
 * shared machine; 300 is the largest round count that keeps the suite safely under about 6 minutes.
 * FAULTS_LOAD_COUNT=500 runs the full incident.
 */
const COUNT = Number(process.env.FAULTS_LOAD_COUNT ?? 300);
/** The renewer's concurrency (the queue's maximum concurrency in production). */
const CONCURRENCY = 5;
const ids = Array.from({ length: COUNT }, (_, i) => `c${String(i).padStart(3, '0')}`);

let world: FaultWorld;
let direct: RuntimeConfig;
let seedMs = 0;

async function listKeys(world: FaultWorld, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await world.bed.clients.s3.send(
      new ListObjectsV2Command({ Bucket: world.bucket, Prefix: prefix, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).map((o) => o.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

beforeAll(async () => {
  world = await startFaultWorld('load', {
    zones: ['load.test'],
    inventory: (_zones, directoryUrl, trustAnchors) => ({
      cas: { pebble: { directoryUrl, trustAnchors } },
      certificates: ids.map((id) => ({ id, ca: 'pebble', domains: [`${id}.load.test`] })),
    }),
  });
  // Load runs straight against moto: the AWS fault proxy would only add a hop per call in this process.
  direct = { ...world.config, endpoint: world.bed.moto.endpoint };
  // The scene: every certificate issued, stored and imported (faster than the renewer's own concurrency).
  const started = Date.now();
  const { event } = await world.schedule(direct);
  expect(event.Records).toHaveLength(COUNT);
  // At this pace Pebble's DNS lookups through the bed's responder can time out; SQS would redeliver those.
  const failed = (await world.renew(event, direct, 10)).batchItemFailures.map((f) => f.itemIdentifier);
  const redelivered = { Records: event.Records.filter((r) => failed.includes(r.messageId)) };
  expect((await world.renew(redelivered, direct, 2)).batchItemFailures).toEqual([]);
  seedMs = Date.now() - started;
});

afterAll(async () => {
  await world?.stop();
});

describe('a CA incident', () => {
  it(`${COUNT} certificates revoked at once: one pass enqueues all, renewals stay within concurrency ${CONCURRENCY}, all renewed, no duplicate orders`, async () => {
    const store = world.runtime().store;
    const before = new Map<string, string>();
    for (const id of ids) before.set(id, (await store.getState(id))!.current!.serial);

    // The incident: the CA revokes every certificate; ARI moves each window into the past.
    const account = (await store.getAccount(world.bed.directoryUrl))!;
    const transport = new AcmeTransport({
      directoryUrl: world.bed.directoryUrl,
      fetch: world.bed.fetch,
      clock: { now: () => new Date() },
      sleep: async () => {},
    });
    const { client } = await ensureAccount(transport, { stored: account });
    await mapLimit(ids, 10, async (id) => {
      const files = (await store.getCertificate(id))!;
      await revokeCertificate(client, parseCertificate(files.certPem).der);
    });

    // The next hourly pass, once the ARI Retry-After of the last check has passed (at most a day).
    const later: RuntimeConfig = { ...direct, clock: { now: () => new Date(Date.now() + 25 * 3_600_000) } };
    const passStarted = Date.now();
    const { result, event } = await world.schedule(later);
    const passMs = Date.now() - passStarted;
    expect(result).toMatchObject({ checked: COUNT, enqueued: COUNT });
    expect(new Set(event.Records.map((r) => JSON.parse(r.body).reason))).toEqual(new Set(['ari-window']));

    // The renewer with its configured concurrency: count renewals and DNS challenges in flight.
    let inFlight = 0;
    let maxInFlight = 0;
    let dnsInFlight = 0;
    let maxDnsInFlight = 0;
    const counting: RuntimeConfig = {
      ...direct,
      decorate: {
        dns: (real): DnsChallengeProvider => ({
          present: async (records, hints) => {
            maxDnsInFlight = Math.max(maxDnsInFlight, ++dnsInFlight);
            return real.present(records, hints);
          },
          cleanup: async (handle) => {
            try {
              await real.cleanup(handle);
            } finally {
              dnsInFlight -= 1;
            }
          },
        }),
      },
    };
    const runtime = world.runtime(counting);
    const wrapped: Runtime = {
      ...runtime,
      renew: async (...args) => {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          return await runtime.renew(...args);
        } finally {
          inFlight -= 1;
        }
      },
    };
    const mark = world.mark();
    const renewStarted = Date.now();
    const { createRenewerHandler } = await import('../../functions/handlers/renewer');
    const handler = createRenewerHandler(() => wrapped);
    const responses = await mapLimit(event.Records, CONCURRENCY, (record, i) =>
      handler({ Records: [record] }, { awsRequestId: `load-${i}` }),
    );
    const renewMs = Date.now() - renewStarted;
    expect(responses.flatMap((r) => r.batchItemFailures)).toEqual([]);
    expect(maxInFlight).toBe(CONCURRENCY);
    expect(maxDnsInFlight).toBeLessThanOrEqual(CONCURRENCY);

    // Every certificate renewed, each with exactly one order naming exactly its own name.
    const orders = await world.newOrders(mark);
    const nameOf = (o: { payload?: unknown }) =>
      (o.payload as { identifiers: Array<{ value: string }> }).identifiers.map((i) => i.value).join(',');
    const created = orders.filter((o) => (o as { status?: number }).status === 201);
    const ordered = created.map(nameOf);
    // A refused newOrder is fine only as a replacement order the CA rejected, then placed again without replaces.
    const refused = orders.filter((o) => (o as { status?: number }).status !== 201);
    for (const o of refused) expect((o.payload as { replaces?: string }).replaces).toBeDefined();
    expect({ created: ordered.length, distinct: new Set(ordered).size }).toEqual({
      created: COUNT,
      distinct: COUNT,
    });
    const dropped: string[] = [];
    const lost: string[] = [];
    for (const id of ids) {
      const state = (await store.getState(id))!;
      if (state.current!.serial === before.get(id)) lost.push(`${id} not renewed`);
      if (state.lastResult !== 'renewed') lost.push(`${id} ended ${state.lastResult}`);
      if (state.replacesDropped) dropped.push(state.replacesDropped.reason);
    }
    // ACM serves the new certificate: checked on a sample, every tenth (DescribeCertificate is slow on moto).
    for (const id of ids.filter((_, i) => i % 10 === 0)) {
      const state = (await store.getState(id))!;
      const acm = await world.bed.describeCertificate(state.acm[world.bed.region]!.arn);
      if (acm.serialHex !== state.current!.serial.replace(/^0+/, ''))
        lost.push(`${id}: ACM serves ${acm.serialHex}`);
    }
    const leaked: string[] = [];
    const records = await world.bed.challengeRecords();
    if (records.length > 0) leaked.push(`${records.length} challenge records left`);
    const leases = await listKeys(world, 'leases/');
    if (leases.length > 0) leaked.push(`${leases.length} leases left`);
    const pendingKeys = (await listKeys(world, 'certificates/')).filter((k) => k.endsWith('pending-key.pem'));
    if (pendingKeys.length > 0) leaked.push(`${pendingKeys.length} pending keys left`);

    const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;
    world.verdict(
      {
        scenario: `CA incident: ${COUNT} certificates revoked at once (${COUNT >= 500 ? "the issue's count" : 'reduced from 500 to keep the faults suite under 6 minutes on 2 cores'})`,
        outcome: `one scheduler pass enqueued ${result.enqueued} (ari-window); ${COUNT} renewed with at most ${CONCURRENCY} renewals and ${CONCURRENCY} DNS challenges in flight; ${ordered.length} orders, no duplicates; any replacement order the CA refused was placed again without replaces`,
        notes: `${maxInFlight} renewals and ${maxDnsInFlight} DNS challenges in flight at most; ${dropped.length} replacement orders refused; 2 cores: scheduler pass ${seconds(passMs)}, ${COUNT} renewals at concurrency ${CONCURRENCY} ${seconds(renewMs)} (${(COUNT / (renewMs / 1000)).toFixed(1)}/s); the scene (${COUNT} first issuances at concurrency 10) ${seconds(seedMs)}${dropped.length ? `; Pebble said: ${dropped[0]!.slice(0, 90)}` : ''}`,
      },
      lost,
      leaked,
    );
  });
});
