import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Route53DnsProvider } from '../../functions/adapters/route53-dns';
import type { RuntimeConfig } from '../../functions/composition/runtime';
import { AcmeAwsError } from '../../functions/core/errors';
import type { CertificateImporter, CertificateStore } from '../../functions/core/renewal/ports';
import { LEASE_TTL_MS } from '../../functions/core/renewal/renew-certificate';
import { type AwsFault, route53Error } from '../support/faults/faults-aws-proxy';
import { expectLoudFailure, type FaultWorld, startFaultWorld } from '../support/faults/faults-world';

const SECOND_REGION = 'eu-west-1';
const IDS = [
  'throttled',
  'prior-request',
  'stuck-pending',
  's3-blip',
  's3-down',
  'contended',
  'stale-lease',
  'two-regions',
  'lambda-timeout',
] as const;
const domain = (id: string) => `${id}.aws.test`;

let world: FaultWorld;
let config: RuntimeConfig;

const isChange = (c: { service?: string; method: string; path: string }) =>
  c.service === 'route53' &&
  c.method === 'POST' &&
  /\/hostedzone\/[^/]+\/rrset\/?$/.test(c.path.split('?')[0]!);
const s3Error = (code: string, status: number): AwsFault => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>fault proxy</Message><RequestId>f</RequestId></Error>`,
});

/** A store whose methods are the real one's, except those given. */
function storeWith(real: CertificateStore, overrides: Partial<CertificateStore>): CertificateStore {
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop in overrides) return overrides[prop as keyof CertificateStore];
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

beforeAll(async () => {
  world = await startFaultWorld('aws', {
    zones: ['aws.test'],
    inventory: (_zones, directoryUrl, trustAnchors) => ({
      cas: { pebble: { directoryUrl, trustAnchors } },
      certificates: IDS.map((id) => ({
        id,
        ca: 'pebble',
        domains: [domain(id)],
        ...(id === 'two-regions' ? { acmRegions: ['us-east-1', SECOND_REGION] } : {}),
      })),
    }),
  });
  config = world.config;
  const { event } = await world.schedule();
  expect((await world.renew(event, config, 8)).batchItemFailures).toEqual([]);
});

afterAll(async () => {
  await world?.stop();
});

describe('Route 53 faults', () => {
  it.each([
    ['throttled', 'Throttling', 'Rate exceeded', 4],
    [
      'prior-request',
      'PriorRequestNotComplete',
      'The request was rejected because Route 53 was still processing a prior request.',
      3,
    ],
  ] as const)(
    '%s: %s on the change batch is retried and the renewal completes',
    async (id, code, message, times) => {
      // The fault waits on the change batch, which a reused authorization would not make.
      await world.deactivateAuthorizations();
      const before = await world.snapshot(id);
      let refused = 0;
      world.aws.addRule((c) => {
        if (!isChange(c) || refused >= times) return undefined;
        refused += 1;
        return route53Error(code, message);
      });
      const response = await world.renew(world.message(id));
      world.aws.clearRules();
      expect(response.batchItemFailures).toEqual([]);
      expect(refused).toBe(times);
      world.verdict(
        {
          scenario: `Route 53 answers ${code} to the first ${times} change batches`,
          outcome: 'renewed (SDK and adapter retries with jittered backoff)',
          notes: `${refused} throttled calls`,
        },
        await world.lost(before, 'renewed'),
        await world.leaked(id),
      );
    },
  );

  it('a change stuck PENDING past its budget: fails loudly, records removed, the retry resumes the order', async () => {
    const id = 'stuck-pending';
    // The change that sticks is the challenge's, which a reused authorization would not make.
    await world.deactivateAuthorizations();
    const before = await world.snapshot(id);
    const mark = world.mark();
    world.aws.addRule((c) =>
      c.service === 'route53' && (isChange(c) || /\/change\//.test(c.path))
        ? { rewrite: (body) => body.replaceAll('<Status>INSYNC</Status>', '<Status>PENDING</Status>') }
        : undefined,
    );
    // The production provider with a 1.5 s propagation budget instead of 5 minutes.
    const patient: RuntimeConfig = {
      ...config,
      decorate: {
        dns: () =>
          new Route53DnsProvider({
            clientConfig: {
              region: world.bed.region,
              endpoint: world.aws.endpoint,
              credentials: world.bed.aws.credentials,
            },
            propagationTimeoutMs: 1_500,
            pollIntervalMs: 100,
          }),
      },
    };
    const first = await world.renew(world.message(id), patient);
    world.aws.clearRules();
    expect(first.batchItemFailures).toHaveLength(1);
    const code = expectLoudFailure(world.signals(id, mark));
    expect(code).toBe('dns-failed');
    const failed = (await world.state(id))!;
    expect(failed.lastError).toMatch(/not INSYNC after/);
    expect(failed.pendingOrder?.url).toBeDefined();
    const lostMidway = await world.lost(before, 'kept');
    const leakedMidway = await world.leaked(id);
    const retry = await world.renew(world.message(id, 'retry'));
    expect(retry.batchItemFailures).toEqual([]);
    expect(await world.newOrders(mark)).toHaveLength(1);
    world.verdict(
      {
        scenario: 'Route 53 change stays PENDING past the propagation budget',
        outcome: `failed loudly: ${code}; records removed; the retry resumed the order and renewed`,
        notes: failed.lastError!.slice(0, 100),
      },
      [...lostMidway, ...(await world.lost(before, 'renewed'))],
      [...leakedMidway, ...(await world.leaked(id))],
    );
  });
});

describe('S3 faults', () => {
  it('S3 fails the state write after the PEM upload: fails loudly, consistent, the retry imports without a new order', async () => {
    const id = 's3-blip';
    const before = await world.snapshot(id);
    const mark = world.mark();
    let refused = 0;
    let uploaded = false;
    // Only the state write that follows the PEM upload fails (all SDK attempts); the failure record then lands.
    world.aws.addRule((c) => {
      if (c.service !== 's3' || c.method !== 'PUT') return undefined;
      if (c.path.includes(`/certificates/${id}/cert.pem`)) uploaded = true;
      const final =
        c.path.includes(`/certificates/${id}/state.json`) && c.body.includes('"lastResult": "renewed"');
      if (!uploaded || !final) return undefined;
      refused += 1;
      return s3Error('InternalError', 500);
    });
    const first = await world.renew(world.message(id));
    world.aws.clearRules();
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(first.batchItemFailures).toHaveLength(1);
    const code = expectLoudFailure(world.signals(id, mark));
    expect(code).toBe('store-failed');
    // The failure record landed: S3's PEMs and state name the new certificate; ACM still serves the old one.
    const midway = await world.snapshot(id);
    const lostMidway = (await world.lost({ ...before, acm: {} }, 'renewed')).concat(
      midway.acm[world.bed.region]!.serialHex === before.serial!.replace(/^0+/, '')
        ? []
        : ['ACM changed before the state was written'],
    );
    const leakedMidway = await world.leaked(id);
    const retry = await world.renew(world.message(id, 'retry'));
    expect(retry.batchItemFailures).toEqual([]);
    expect(await world.newOrders(mark)).toHaveLength(1);
    world.verdict(
      {
        scenario:
          'S3 answers 500 to the state write between the PEM upload and the state (SDK retries exhausted)',
        outcome: `failed loudly: ${code}; the retry imported the stored certificate, no new order`,
        notes: `${refused} refused PUTs`,
      },
      [...lostMidway, ...(await world.lost(before, 'renewed'))],
      [...leakedMidway, ...(await world.leaked(id))],
    );
  });

  it('S3 refuses every state write after the PEM upload: the retry resumes the order and reconciles', async () => {
    const id = 's3-down';
    const before = await world.snapshot(id);
    const mark = world.mark();
    let uploaded = false;
    world.aws.addRule((c) => {
      if (c.service !== 's3' || c.method !== 'PUT') return undefined;
      if (c.path.includes(`/certificates/${id}/cert.pem`)) uploaded = true;
      return uploaded && c.path.includes(`/certificates/${id}/state.json`)
        ? s3Error('ServiceUnavailable', 503)
        : undefined;
    });
    const first = await world.renew(world.message(id));
    world.aws.clearRules();
    expect(first.batchItemFailures).toHaveLength(1);
    const code = expectLoudFailure(world.signals(id, mark));
    const stale = (await world.state(id))!;
    // state.json is the last one written before S3 failed: it still names the old certificate and the order.
    expect(stale.current!.serial).toBe(before.serial);
    expect(stale.pendingOrder?.url).toBeDefined();
    const midway = await world.snapshot(id);
    const acmKept = midway.acm[world.bed.region]!.serialHex === before.serial!.replace(/^0+/, '');
    const pemsAhead = midway.certPem !== before.certPem;
    const leakedMidway = await world.leaked(id);
    const retry = await world.renew(world.message(id, 'retry'));
    expect(retry.batchItemFailures).toEqual([]);
    expect(await world.newOrders(mark)).toHaveLength(1);
    expect(acmKept).toBe(true);
    world.verdict(
      {
        scenario: 'S3 answers 503 to every state write after the PEM upload (the failure record is lost too)',
        outcome: `failed loudly: ${code} (event and metric; no state record); the retry resumed the order, re-downloaded the same certificate and reconciled`,
        notes: pemsAhead
          ? 'until the retry, S3 holds the new verified PEMs while state.json names the old certificate; ACM keeps serving the old one'
          : 'PEMs unchanged until the retry',
      },
      await world.lost(before, 'renewed'),
      [...leakedMidway, ...(await world.leaked(id))],
    );
  });
});

describe('leases', () => {
  it('two renewers at once, and one arriving while a live lease is held: one order, the others back off', async () => {
    const id = 'contended';
    const before = await world.snapshot(id);
    const mark = world.mark();
    const [a, b] = await Promise.all([world.renew(world.message(id)), world.renew(world.message(id))]);
    expect([...a.batchItemFailures, ...b.batchItemFailures]).toEqual([]);
    expect(await world.newOrders(mark)).toHaveLength(1);
    // A live lease of another worker: the renewer leaves the certificate alone.
    await world.bed.clients.s3.send(
      new PutObjectCommand({
        Bucket: world.bucket,
        Key: `leases/${id}.json`,
        Body: JSON.stringify({
          id,
          owner: 'other',
          acquiredAt: new Date().toISOString(),
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
        }),
      }),
    );
    const runtime = world.runtime();
    const busy = await runtime.renew({ id, reason: 'forced', force: true }, 'late-worker');
    expect(busy.result).toBe('busy');
    expect(await world.newOrders(mark)).toHaveLength(1);
    expect(await world.objectExists(`leases/${id}.json`)).toBe(true);
    await runtime.renew({ id, reason: 'forced' }, 'late-worker'); // Not the holder: must not free it.
    expect(await world.objectExists(`leases/${id}.json`)).toBe(true);
    const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    await world.bed.clients.s3.send(
      new DeleteObjectCommand({ Bucket: world.bucket, Key: `leases/${id}.json` }),
    );
    world.verdict(
      {
        scenario: 'two renewers for one certificate at once; a third while another worker holds a live lease',
        outcome: 'renewed once (1 order); the others returned `busy` and left the lease alone',
      },
      await world.lost(before, 'renewed'),
      await world.leaked(id),
    );
  });

  it('a stale lease (crashed holder) is taken over and released', async () => {
    const id = 'stale-lease';
    const before = await world.snapshot(id);
    await world.bed.clients.s3.send(
      new PutObjectCommand({
        Bucket: world.bucket,
        Key: `leases/${id}.json`,
        Body: JSON.stringify({
          id,
          owner: 'crashed',
          acquiredAt: new Date(Date.now() - 20 * 60_000).toISOString(),
          expiresAt: new Date(Date.now() - 60_000).toISOString(),
        }),
      }),
    );
    const response = await world.renew(world.message(id));
    expect(response.batchItemFailures).toEqual([]);
    world.verdict(
      { scenario: 'a stale lease left by a crashed renewer', outcome: 'taken over; renewed; lease released' },
      await world.lost(before, 'renewed'),
      await world.leaked(id),
    );
  });
});

describe('ACM and Lambda', () => {
  it(`ACM import fails in ${SECOND_REGION}: us-east-1 stands, the retry imports ${SECOND_REGION} only, no new order`, async () => {
    const id = 'two-regions';
    const before = await world.snapshot(id);
    expect(Object.keys(before.acm).sort()).toEqual([SECOND_REGION, 'us-east-1']);
    const mark = world.mark();
    const imports: string[] = [];
    let failOnce = true;
    const flaky: RuntimeConfig = {
      ...config,
      decorate: {
        importer: (real): CertificateImporter => ({
          importCertificate: async (request) => {
            imports.push(request.region);
            if (request.region === SECOND_REGION && failOnce) {
              failOnce = false;
              throw new AcmeAwsError(
                'import-failed',
                `ImportCertificate in ${SECOND_REGION}: ServiceUnavailable (HTTP 503)`,
              );
            }
            return real.importCertificate(request);
          },
        }),
      },
    };
    const first = await world.renew(world.message(id), flaky);
    expect(first.batchItemFailures).toHaveLength(1);
    const code = expectLoudFailure(world.signals(id, mark));
    expect(code).toBe('import-failed');
    const midway = await world.snapshot(id);
    const state = (await world.state(id))!;
    expect(midway.acm['us-east-1']!.serialHex).toBe(state.current!.serial.replace(/^0+/, ''));
    expect(midway.acm[SECOND_REGION]!.serialHex).toBe(before.serial!.replace(/^0+/, ''));
    const retry = await world.renew(world.message(id, 'retry'), flaky);
    expect(retry.batchItemFailures).toEqual([]);
    expect(imports).toEqual(['us-east-1', SECOND_REGION, SECOND_REGION]);
    expect(await world.newOrders(mark)).toHaveLength(1);
    world.verdict(
      {
        scenario: `ACM import fails in ${SECOND_REGION}, one of two regions`,
        outcome: `failed loudly: ${code}; us-east-1 kept the new import; the retry imported ${SECOND_REGION} only, no new order`,
        notes: `imports: ${imports.join(', ')}`,
      },
      await world.lost(before, 'renewed'),
      await world.leaked(id),
    );
  });

  it('Lambda timeout after the DNS checkpoint: the next attempt takes the stale lease, removes the records and resumes', async () => {
    const id = 'lambda-timeout';
    // The DNS checkpoint is only written for a fresh challenge.
    await world.deactivateAuthorizations();
    const before = await world.snapshot(id);
    const mark = world.mark();
    let frozen: () => void = () => {};
    const reachedCheckpoint = new Promise<void>((resolve) => {
      frozen = resolve;
    });
    // The invocation is frozen for good right after it checkpointed its DNS change: Lambda killed it.
    const dying: RuntimeConfig = {
      ...config,
      decorate: {
        store: (real) =>
          storeWith(real, {
            putStateIf: async (certificateId, state, etag) => {
              const written = await real.putStateIf(certificateId, state, etag);
              if (certificateId === id && state.pendingOrder?.dnsHandle) {
                frozen();
                await new Promise(() => {});
              }
              return written;
            },
          }),
      },
    };
    // If the invocation ends without reaching the checkpoint, say how it ended instead of waiting for the timeout.
    const ended = world.renew(world.message(id), dying).then(
      (result) => `the first attempt ended before its DNS checkpoint: ${JSON.stringify(result)}`,
      (error: unknown) => `the first attempt failed before its DNS checkpoint: ${String(error)}`,
    );
    const reached = await Promise.race([reachedCheckpoint.then(() => 'checkpoint'), ended]);
    expect(reached).toBe('checkpoint');
    const checkpoint = (await world.state(id))!;
    expect(checkpoint.pendingOrder?.dnsHandle).toBeDefined();
    expect(await world.bed.challengeRecords()).not.toEqual([]);
    expect(await world.objectExists(`leases/${id}.json`)).toBe(true);

    // SQS redelivers after the visibility timeout; by then the dead invocation's lease has expired.
    const later: RuntimeConfig = {
      ...config,
      clock: { now: () => new Date(Date.now() + LEASE_TTL_MS + 60_000) },
    };
    const retry = await world.renew(world.message(id, 'retry'), later);
    expect(retry.batchItemFailures).toEqual([]);
    expect(await world.newOrders(mark)).toHaveLength(1);
    const state = (await world.state(id))!;
    expect(state.lastResult).toBe('renewed');
    world.verdict(
      {
        scenario: 'Lambda timeout right after the DNS checkpoint (invocation frozen, lease and records left)',
        outcome:
          'the next attempt took over the stale lease, removed the old records, resumed the order and renewed',
        notes: '1 newOrder in total',
      },
      await world.lost(before, 'renewed'),
      await world.leaked(id),
    );
  });
});
