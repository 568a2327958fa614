import { ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeConfig } from '../../../functions/composition/runtime';
import { AcmeTransport, ensureAccount, revokeCertificate } from '../../../functions/core/acme';
import { AcmeAwsError } from '../../../functions/core/errors';
import { parseCertificate } from '../../../functions/core/pki';
import type { CertificateImporter, DnsChallengeProvider } from '../../../functions/core/renewal/ports';
import { createRenewerHandler } from '../../../functions/handlers/renewer';
import { createSchedulerHandler } from '../../../functions/handlers/scheduler';
import { pebbleRootsPem } from '../../../testbed/pebble';
import { type Bed, startBed } from '../../support/bed';
import { overwriteState } from '../../support/fakes';
import { captureOutput } from '../../support/output/capture-output';

const output = captureOutput();
let bed: Bed;
let config: RuntimeConfig;
let bucket: string;
let queueUrl: string;

const ID = 'web';
const inventory = (zones: { example: string; other: string }) => ({
  cas: { pebble: { directoryUrl: '', trustAnchors: [] as string[] } },
  certificates: [
    {
      id: ID,
      ca: 'pebble',
      domains: ['example.test', '*.example.test', 'shop.other.test'],
      keyType: 'ec-p256',
      hostedZones: { 'shop.other.test': zones.other },
      tags: { team: 'web' },
    },
  ],
});

const orders: Array<{ payload?: unknown }> = [];
async function newOrderCount(): Promise<number> {
  orders.splice(0, orders.length, ...(await bed.newOrders()));
  return orders.length;
}

async function schedule(cfg: RuntimeConfig = config) {
  const runtime = bed.runtime(cfg);
  const result = await createSchedulerHandler(() => runtime)();
  return { result, event: await bed.drainQueue(queueUrl) };
}

async function renew(event: Awaited<ReturnType<typeof schedule>>['event'], cfg: RuntimeConfig = config) {
  const runtime = bed.runtime(cfg);
  return createRenewerHandler(() => runtime)(event, { awsRequestId: `req-${Math.random()}` });
}

function forced(id = ID) {
  return {
    Records: [
      {
        messageId: `m-${Math.random()}`,
        receiptHandle: 'r',
        body: JSON.stringify({ id, reason: 'forced', force: true }),
        attributes: {},
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
        awsRegion: 'us-east-1',
      },
    ],
  } as unknown as Parameters<typeof renew>[0];
}

beforeAll(async () => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  bed = await startBed({ faultProxy: true });
  const stack = await bed.createStack('e2e');
  ({ bucket, queueUrl } = stack);
  // These scenarios force one renewal after another; the forced-order limit has its own tests.
  config = { ...stack.config, forcedRenewalMinIntervalMs: 0 };
  const example = await bed.createZone('example.test');
  const other = await bed.createZone('other.test');
  const inv = inventory({ example, other });
  inv.cas.pebble.directoryUrl = bed.directoryUrl;
  inv.cas.pebble.trustAnchors = await pebbleRootsPem(bed.pebble);
  await bed.putInventory(bucket, inv);
});

afterAll(async () => {
  await bed?.stop();
  output.stop();
});

describe('scheduler + renewer against Pebble and moto', () => {
  it('issues, stores and imports a new certificate across two hosted zones, leaving no challenge record', async () => {
    const { result, event } = await schedule();
    expect(result).toMatchObject({ checked: 1, enqueued: 1 });
    expect(JSON.parse(event.Records[0]!.body)).toEqual({ id: ID, reason: 'new' });

    const response = await renew(event);
    expect(response.batchItemFailures).toEqual([]);

    const state = (await bed.runtime(config).store.getState(ID))!;
    const files = (await bed.runtime(config).store.getCertificate(ID))!;
    const leaf = parseCertificate(files.certPem);
    expect(state.current?.serial).toBe(leaf.serialHex);
    expect(leaf.dnsNames.sort()).toEqual(['*.example.test', 'example.test', 'shop.other.test']);
    const arn = state.acm['us-east-1']!.arn;
    const acm = await bed.describeCertificate(arn);
    expect(acm.serialHex).toBe(leaf.serialHex.replace(/^0+/, ''));
    expect(acm.domains.sort()).toEqual(['*.example.test', 'example.test', 'shop.other.test']);
    expect(state.ari?.certId).toBe(state.current?.certId);
    expect(await bed.challengeRecords()).toEqual([]);
    // Pebble validated through our DNS responder, i.e. exactly what was written through the Route 53 API.
    expect(bed.dns.queries.some((q) => q.includes('_acme-challenge.example.test'))).toBe(true);
  });

  it('a second scheduler pass enqueues nothing and places no order', async () => {
    const before = await newOrderCount();
    const { result, event } = await schedule();
    expect(result.enqueued).toBe(0);
    expect(event.Records).toHaveLength(0);
    expect(await newOrderCount()).toBe(before);
  });

  it('after revocation ARI moves the window: renewed with replaces, same ACM ARN, old version kept in S3', async () => {
    const store = bed.runtime(config).store;
    const before = (await store.getState(ID))!;
    const files = (await store.getCertificate(ID))!;
    const account = (await store.getAccount(bed.directoryUrl))!;
    const transport = new AcmeTransport({
      directoryUrl: bed.directoryUrl,
      fetch: bed.fetch,
      clock: { now: () => new Date() },
      sleep: async () => {},
    });
    const { client } = await ensureAccount(transport, { stored: account });
    await revokeCertificate(client, parseCertificate(files.certPem).der);
    // Force the next ARI fetch now (as if Retry-After had passed).
    await overwriteState(store, ID, {
      ...before,
      ari: { ...before.ari!, nextCheckAt: new Date(0).toISOString() },
    });

    const { event } = await schedule();
    expect(event.Records.map((r) => JSON.parse(r.body))).toEqual([{ id: ID, reason: 'ari-window' }]);
    const response = await renew(event);
    expect(response.batchItemFailures).toEqual([]);

    await newOrderCount();
    const last = orders.at(-1)!;
    expect((last.payload as { replaces?: string }).replaces).toBe(before.current!.certId);
    const after = (await store.getState(ID))!;
    expect(after.current!.serial).not.toBe(before.current!.serial);
    expect(after.current!.replaced).toBe(before.current!.certId);
    expect(after.acm['us-east-1']!.arn).toBe(before.acm['us-east-1']!.arn);
    const acm = await bed.describeCertificate(after.acm['us-east-1']!.arn);
    expect(acm.serialHex).toBe(after.current!.serial.replace(/^0+/, ''));
    const versions = await bed.clients.s3.send(
      new ListObjectVersionsCommand({ Bucket: bucket, Prefix: `certificates/${ID}/cert.pem` }),
    );
    expect(versions.Versions?.length).toBeGreaterThanOrEqual(2);
    expect(await bed.challengeRecords()).toEqual([]);
  });

  it('two renewers started at once for one certificate place exactly one order', async () => {
    const before = await newOrderCount();
    const [a, b] = await Promise.all([renew(forced()), renew(forced())]);
    expect([...a.batchItemFailures, ...b.batchItemFailures]).toEqual([]);
    expect((await newOrderCount()) - before).toBe(1);
  });

  it('a renewer that dies after placing the order resumes that same order on retry', async () => {
    let failOnce = true;
    const dying: RuntimeConfig = {
      ...config,
      decorate: {
        dns: (real): DnsChallengeProvider => ({
          present: async (records, hints) => {
            if (failOnce) {
              failOnce = false;
              throw new AcmeAwsError('dns-failed', 'simulated crash after the order checkpoint');
            }
            return real.present(records, hints);
          },
          cleanup: (handle) => real.cleanup(handle),
        }),
      },
    };
    // The crash sits in the DNS step, which reused authorizations would skip.
    await bed.deactivateAuthorizations(bucket);
    const before = await newOrderCount();
    const first = await renew(forced(), dying);
    expect(first.batchItemFailures).toHaveLength(1);
    const pending = (await bed.runtime(config).store.getState(ID))!.pendingOrder;
    expect(pending?.url).toBeDefined();

    const retry = await renew(forced(), dying);
    expect(retry.batchItemFailures).toEqual([]);
    expect((await newOrderCount()) - before).toBe(1);
    const state = (await bed.runtime(config).store.getState(ID))!;
    expect(state.pendingOrder).toBeUndefined();
    expect(state.lastResult).toBe('renewed');
  });

  it('a renewer that fails on ACM import re-imports from S3 on retry without a new order', async () => {
    let failOnce = true;
    const flaky: RuntimeConfig = {
      ...config,
      decorate: {
        importer: (real): CertificateImporter => ({
          importCertificate: async (request) => {
            if (failOnce) {
              failOnce = false;
              throw new AcmeAwsError('import-failed', 'simulated ACM outage');
            }
            return real.importCertificate(request);
          },
        }),
      },
    };
    const store = bed.runtime(config).store;
    const before = (await store.getState(ID))!;
    const orders = await newOrderCount();
    const first = await renew(forced(), flaky);
    expect(first.batchItemFailures).toHaveLength(1);
    const stored = (await store.getState(ID))!;
    expect(stored.current!.serial).not.toBe(before.current!.serial);
    // ACM still serves the previous certificate: nothing lost.
    expect(stored.acm['us-east-1']!.serial).toBe(before.current!.serial);
    expect((await newOrderCount()) - orders).toBe(1);

    // The SQS retry carries the original message; the renewer sees the certificate is current and only imports.
    const retry = await renew(
      { Records: [{ ...forced().Records[0]!, body: JSON.stringify({ id: ID, reason: 'ari-window' }) }] },
      flaky,
    );
    expect(retry.batchItemFailures).toEqual([]);
    expect((await newOrderCount()) - orders).toBe(1);
    const after = (await store.getState(ID))!;
    expect(after.acm['us-east-1']!.serial).toBe(stored.current!.serial);
    expect(after.acm['us-east-1']!.arn).toBe(before.acm['us-east-1']!.arn);
  });

  it('never writes private key material to the logs', () => {
    const text = output.text();
    expect(text.length).toBeGreaterThan(0);
    expect(text).toContain('renewal_done');
    expect(text).not.toMatch(/PRIVATE KEY/);
    expect(text).not.toMatch(/"d"\s*:\s*"/);
  });
});
