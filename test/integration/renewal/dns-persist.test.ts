import { ListResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CountingProxy, startCountingProxy } from '../../../bench/lib/counting-proxy';
import { storeKeys } from '../../../functions/adapters/s3-store';
import type { RuntimeConfig } from '../../../functions/composition/runtime';
import { hasCode } from '../../../functions/core/errors';
import { createFirstImport } from '../../../functions/handlers/first-import';
import { createRenewerHandler } from '../../../functions/handlers/renewer';
import { pebbleRootsPem } from '../../../testbed/pebble';
import { type Bed, startBed } from '../../support/bed';
import { overwriteState } from '../../support/fakes';
import { runAs } from '../../support/iam/role';
import { captureOutput } from '../../support/output/capture-output';

const output = captureOutput();
let bed: Bed;
let config: RuntimeConfig;
let bucket: string;
let counting: CountingProxy;
let zoneId: string;

const PERSIST = 'persist';
const FALLBACK = 'fallback';

function forced(id: string): SQSEvent {
  return {
    Records: [
      {
        messageId: `m-${id}-${Date.now()}`,
        receiptHandle: 'r',
        body: JSON.stringify({ id, reason: 'forced', force: true }),
        attributes: {} as SQSEvent['Records'][number]['attributes'],
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:q',
        awsRegion: 'us-east-1',
      },
    ],
  };
}

async function renew(id: string) {
  const runtime = bed.runtime(config);
  const response = await createRenewerHandler(() => runtime)(forced(id), { awsRequestId: `req-${id}` });
  expect(response.batchItemFailures).toEqual([]);
  return (await bed.runtime(config).store.getState(id))!;
}

/** Route 53 record changes that reached moto since `since` (counted at the endpoint, whoever sent them). */
const changesSince = (since: number) =>
  counting.calls
    .slice(since)
    .filter((c) => c.service === 'route53' && c.action === 'ChangeResourceRecordSets');

async function persistValues(): Promise<string[]> {
  const sets = await bed.clients.route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      StartRecordName: '_validation-persist.persist.test',
    }),
  );
  const set = sets.ResourceRecordSets?.find(
    (s) => s.Name === '_validation-persist.persist.test.' && s.Type === 'TXT',
  );
  return (set?.ResourceRecords ?? []).map((r) => r.Value ?? '');
}

beforeAll(async () => {
  bed = await startBed({ faultProxy: true });
  const stack = await bed.createStack('persist');
  bucket = stack.bucket;
  counting = await startCountingProxy(bed.moto.endpoint);
  config = { ...stack.config, endpoint: counting.endpoint };
  zoneId = await bed.createZone('persist.test');
  await bed.createZone('fallback.test');
  await bed.putInventory(bucket, {
    cas: {
      pebble: {
        directoryUrl: bed.directoryUrl,
        trustAnchors: await pebbleRootsPem(bed.pebble),
        challenge: 'dns-persist-01',
        persistDays: 30,
      },
    },
    certificates: [
      { id: PERSIST, ca: 'pebble', domains: ['persist.test', '*.persist.test'], dns01Fallback: false },
      { id: FALLBACK, ca: 'pebble', domains: ['fallback.test'] },
    ],
  });
});

afterAll(async () => {
  await Promise.allSettled([counting?.stop()]);
  await bed?.stop();
  output.stop();
});

describe('dns-persist-01 on Pebble 2.10 through moto Route 53', () => {
  it('issues with dns-persist-01: one UPSERT of the persistent record, no _acme-challenge record', async () => {
    const since = counting.calls.length;
    const state = await renew(PERSIST);
    expect(state.validation?.methods).toEqual(['dns-persist-01']);
    expect(state.validation?.fallbacks).toEqual([]);
    const changes = changesSince(since);
    expect(changes).toHaveLength(1);
    expect(changes[0]!.changeActions).toEqual(['UPSERT']);
    const account = (await bed.runtime(config).store.getAccount(bed.directoryUrl))!;
    const [value, ...more] = await persistValues();
    expect(more).toEqual([]);
    // Apex and wildcard share one record; the wildcard needs policy=wildcard (draft-ietf-acme-dns-persist §3.3).
    expect(value).toMatch(
      new RegExp(
        `^"pebble\\.letsencrypt\\.org; accounturi=${account.accountUrl}; policy=wildcard; persistUntil=\\d+"$`,
      ),
    );
    expect(state.dnsPersist).toEqual([
      expect.objectContaining({ domain: 'persist.test', accountUrl: account.accountUrl, wildcard: true }),
    ]);
    expect(await bed.challengeRecords()).toEqual([]);
    // Pebble looked the record up through the DNS responder, i.e. what moto holds.
    expect(bed.dns.queries.some((q) => q.includes('_validation-persist.persist.test'))).toBe(true);
  });

  it('renews with zero Route 53 changes once the record is in place', async () => {
    const before = (await bed.runtime(config).store.getState(PERSIST))!;
    // Validated by the record in place, not by authorizations Pebble kept from the first issuance.
    await bed.deactivateAuthorizations(bucket);
    const since = counting.calls.length;
    const state = await renew(PERSIST);
    expect(state.current?.serial).not.toBe(before.current?.serial);
    expect(state.validation?.methods).toEqual(['dns-persist-01']);
    expect(changesSince(since)).toEqual([]);
    // Not even a read: the renewer needs no Route 53 permission for this certificate at all.
    expect(counting.calls.slice(since).filter((c) => c.service === 'route53')).toEqual([]);
  });

  it('a new account (after an account key change) rewrites the record before the challenge is answered', async () => {
    const oldAccount = (await bed.runtime(config).store.getAccount(bed.directoryUrl))!;
    await bed.clients.s3.send(
      new DeleteObjectCommand({ Bucket: bucket, Key: storeKeys.account(bed.directoryUrl) }),
    );
    const since = counting.calls.length;
    const state = await renew(PERSIST);
    const newAccount = (await bed.runtime(config).store.getAccount(bed.directoryUrl))!;
    expect(newAccount.accountUrl).not.toBe(oldAccount.accountUrl);
    expect(state.current?.accountUrl).toBe(newAccount.accountUrl);
    expect(changesSince(since).map((c) => c.changeActions)).toEqual([['UPSERT']]);
    const [value, ...more] = await persistValues();
    expect(more).toEqual([]);
    expect(value).toContain(`accounturi=${newAccount.accountUrl};`);
    expect(state.dnsPersist?.map((r) => r.accountUrl)).toEqual([newAccount.accountUrl]);
  });

  it('rewrites the record once less than a third of persistDays is left, with a later persistUntil', async () => {
    const store = bed.runtime(config).store;
    const before = (await store.getState(PERSIST))!;
    // As if the record had been written 25 of its 30 days ago.
    const soon = new Date(Date.now() + 5 * 86_400_000).toISOString();
    await overwriteState(store, PERSIST, {
      ...before,
      dnsPersist: before.dnsPersist!.map((r) => ({ ...r, persistUntil: soon })),
    });
    // The record is rewritten for a pending authorization; a reused one would need none.
    await bed.deactivateAuthorizations(bucket);
    const since = counting.calls.length;
    const state = await renew(PERSIST);
    expect(changesSince(since).map((c) => c.changeActions)).toEqual([['UPSERT']]);
    const until = Date.parse(state.dnsPersist![0]!.persistUntil);
    expect(until).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const [value] = await persistValues();
    expect(value).toContain(`persistUntil=${until / 1000}"`);
  });

  it('falls back to dns-01 where the CA offers no dns-persist-01 challenge, and says why', async () => {
    // Pebble 2.10 always offers dns-persist-01; the proxy hides it, as a CA without the draft would answer.
    bed.proxy!.rewriteAnswers(({ path }, body) => {
      if (!path.includes('/authZ/')) return undefined;
      const authz = JSON.parse(body) as { challenges?: { type: string }[] };
      authz.challenges = authz.challenges?.filter((c) => c.type !== 'dns-persist-01');
      return JSON.stringify(authz);
    });
    try {
      const since = counting.calls.length;
      const state = await renew(FALLBACK);
      expect(state.validation?.methods).toEqual(['dns-01']);
      expect(state.validation?.fallbacks).toEqual([
        'the CA offers no dns-persist-01 challenge for fallback.test',
      ]);
      expect(state.dnsPersist ?? []).toEqual([]);
      // dns-01: a change batch to publish and one to delete, nothing persistent.
      expect(changesSince(since).map((c) => c.changeActions)).toEqual([['CREATE'], ['DELETE']]);
      expect(await bed.challengeRecords()).toEqual([]);
    } finally {
      bed.proxy!.clearRules();
    }
  });

  it('the first-import handler runs the persist-record step from its payload, and refuses a foreign domain', async () => {
    const run = createFirstImport(config);
    const account = (await bed.runtime(config).store.getAccount(bed.directoryUrl))!;
    const value = `pebble.letsencrypt.org; accounturi=${account.accountUrl}; policy=wildcard; persistUntil=4102444800`;
    const context = { bucket, region: config.region, serviceName: config.serviceName! };
    const since = counting.calls.length;
    const out = await runAs('importer', context, () =>
      run({ kind: 'persist-record', certificateId: PERSIST, records: [{ domain: 'persist.test', value }] }),
    );
    expect(out).toEqual({ written: ['_validation-persist.persist.test'] });
    expect(await persistValues()).toEqual([`"${value}"`]);
    const refused = await runAs('importer', context, () =>
      run({ kind: 'persist-record', certificateId: PERSIST, records: [{ domain: 'fallback.test', value }] }),
    ).catch((e: unknown) => e);
    expect(hasCode(refused, 'dns-failed')).toBe(true);
    expect(changesSince(since).map((c) => c.changeActions)).toEqual([['UPSERT']]);
  });
});
