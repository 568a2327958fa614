/**
 * CA failover on the bed: two real Pebbles (each with its own roots and accounts, the second requiring External
 * Account Binding from a Secrets Manager secret), each behind a fault proxy that records what the client sends.
 * The first CA answers 503 to everything; within the outage budget the renewal fails and is retried, past it the
 * renewal is issued by the second CA without `replaces`, and state, `status` and the renewal event say so. The next
 * renewal goes back to the first CA, again without `replaces`, because the first CA never issued the predecessor.
 */
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectStatus, renderStatus } from '../../../functions/cli/status-report';
import type { Runtime } from '../../../functions/composition/runtime';
import { hasCode } from '../../../functions/core/errors';
import { DEFAULT_FAILOVER_POLICY } from '../../../functions/core/renewal/failover';
import { pebbleRootsPem } from '../../../testbed/pebble';
import { testBedTls } from '../../../testbed/tls';
import { type Bed, startBed } from '../../support/bed';
import { type FaultProxy, startFaultProxy } from '../../support/faults/fault-proxy';
import { recordedCalls } from '../../support/iam/record';
import { captureOutput } from '../../support/output/capture-output';

const output = captureOutput();
const ID = 'failover';
/** A certificate not issued yet: any wait past the outage budget makes it late. */
const NEW_ID = 'first-issue';
const EAB_KID = 'kid-backup';
// A test-only HMAC key for the second Pebble; it lives in moto's Secrets Manager and is never printed.
const EAB_HMAC = Buffer.from('failover-test-hmac-key-of-32-bytes!').toString('base64url');
let bed: Bed;
let backupProxy: FaultProxy;
let runtime: Runtime;
let bucket: string;
/** How far the runtime's clock runs ahead of the wall clock (the outage budget is measured on it). */
let offsetMs = 0;

const unavailable = {
  status: 503,
  headers: { 'content-type': 'application/problem+json' },
  body: JSON.stringify({
    type: 'urn:ietf:params:acme:error:serverInternal',
    detail: 'the CA is down for this test',
    status: 503,
  }),
};

/** The `replaces` member of every newOrder a proxy saw since `from`. */
function replacesSent(proxy: FaultProxy, newOrderPath: string, from: number): Array<string | null> {
  return proxy.requests
    .slice(from)
    .filter((r) => r.method === 'POST' && r.path === newOrderPath && r.payload !== undefined)
    .map((r) => (r.payload as { replaces?: string }).replaces ?? null);
}

async function newOrderPath(directoryUrl: string): Promise<string> {
  const directory = (await (await bed.fetch(directoryUrl)).json()) as { newOrder: string };
  return new URL(directory.newOrder).pathname;
}

/**
 * Every detail of one type the renewer put on EventBridge (moto) so far, as the IAM recorder saw the `PutEvents`
 * calls it judges (moto delivers no events to targets).
 */
function publishedEvents(
  detailType: 'Certificate Renewed' | 'Certificate Renewal Failed',
): Array<Record<string, unknown>> {
  return recordedCalls()
    .filter((c) => c.role === 'renewer' && c.command === 'PutEventsCommand' && c.outcome.ok)
    .flatMap((c) => (c.input.Entries as Array<{ DetailType?: string; Detail?: string }>) ?? [])
    .filter((e) => e.DetailType === detailType)
    .map((e) => JSON.parse(e.Detail ?? '{}') as Record<string, unknown>);
}

const forced = () => runtime.renew({ id: ID, reason: 'forced', force: true }, 'failover-test');

beforeAll(async () => {
  bed = await startBed({ faultProxy: true, secondPebble: { eabKeys: { [EAB_KID]: EAB_HMAC } } });
  const second = bed.secondPebble!;
  const tls = testBedTls();
  backupProxy = await startFaultProxy({
    targetOrigin: new URL(second.directoryUrl).origin,
    caPem: second.caPem,
    certPath: tls.certPath,
    keyPath: tls.keyPath,
  });
  const stack = await bed.createStack('failover');
  bucket = stack.bucket;
  await bed.createZone('failover.test');
  runtime = bed.runtime({ ...stack.config, clock: { now: () => new Date(Date.now() + offsetMs) } });

  const secrets = new SecretsManagerClient(bed.aws);
  const secret = await secrets.send(new CreateSecretCommand({ Name: 'backup-eab', SecretString: EAB_HMAC }));
  await bed.putInventory(bucket, {
    cas: {
      primary: { directoryUrl: bed.directoryUrl, trustAnchors: await pebbleRootsPem(bed.pebble) },
      backup: {
        directoryUrl: new URL(new URL(second.directoryUrl).pathname, backupProxy.directoryUrl).toString(),
        trustAnchors: await pebbleRootsPem(second),
        eab: { keyId: EAB_KID, hmacSecretArn: secret.ARN! },
      },
    },
    certificates: [
      { id: ID, ca: ['primary', 'backup'], domains: ['www.failover.test'], acmRegions: [bed.region] },
      { id: NEW_ID, ca: ['primary', 'backup'], domains: ['new.failover.test'], acmRegions: [bed.region] },
    ],
  });
});

afterAll(async () => {
  await backupProxy?.stop();
  await bed?.stop();
  output.stop();
});

describe('CA failover that respects ARI, on two Pebbles', () => {
  it('issues from the first CA while it is up, and replaces its own certificate there', async () => {
    expect((await runtime.renew({ id: ID, reason: 'new' }, 'failover-test')).issuedBy).toBe('primary');
    const first = (await runtime.store.getState(ID))!.current!;
    const path = await newOrderPath(bed.directoryUrl);
    const seen = bed.proxy!.requests.length;

    const outcome = await forced();
    expect(outcome).toMatchObject({ result: 'renewed', issuedBy: 'primary', replaced: first.certId });
    expect(outcome.failover).toBeUndefined();
    expect(replacesSent(bed.proxy!, path, seen)).toEqual([first.certId]);
  });

  it('stays with the unavailable first CA within the outage budget: the attempt fails and is recorded', async () => {
    bed.proxy!.addRule(() => unavailable);
    const backupOrders = backupProxy.requests.length;
    const error = await forced().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(hasCode(error, 'acme-problem')).toBe(true);
    const state = (await runtime.store.getState(ID))!;
    expect(state).toMatchObject({ failures: 1, lastResult: 'failed' });
    expect(state.current?.issuedBy?.ca).toBe('primary');
    expect(state.failingSince).toBe(state.lastAttemptAt);
    expect(backupProxy.requests.length).toBe(backupOrders);
    // The failure event says where the attempt failed: at the first CA, reached without a failover.
    expect(publishedEvents('Certificate Renewal Failed').at(-1)).toMatchObject({
      id: ID,
      code: 'acme-problem',
      ca: 'primary',
      failover: null,
    });
  });

  it('past the budget, renews from the second CA without replaces, and records the failover everywhere', async () => {
    const predecessor = (await runtime.store.getState(ID))!.current!;
    offsetMs = DEFAULT_FAILOVER_POLICY.unavailableBudgetMs + 60_000;
    const backupPath = await newOrderPath(backupProxy.directoryUrl);
    const seen = backupProxy.requests.length;

    const outcome = await forced();
    expect(outcome).toMatchObject({ result: 'renewed', issuedBy: 'backup' });
    expect(outcome.failover).toMatchObject({ from: 'primary', reason: 'ca-unavailable' });
    expect(outcome.replaced).toBeUndefined();
    // The second CA never issued the predecessor: the order names nothing in `replaces`.
    expect(replacesSent(backupProxy, backupPath, seen)).toEqual([null]);

    const state = (await runtime.store.getState(ID))!;
    expect(state.failures).toBe(0);
    expect(state.failingSince).toBeUndefined();
    expect(state.current!.directoryUrl).not.toBe(predecessor.directoryUrl);
    expect(state.current!.issuedBy).toMatchObject({
      ca: 'backup',
      failover: { from: 'primary', reason: 'ca-unavailable' },
      replacesWithheld: 'the predecessor was issued by CA "primary"; this order goes to "backup"',
    });
    expect(state.current!.issuedBy!.failover!.why).toContain('beyond the budget of 30 min');
    expect(state.current!.certId!.split('.')[0]).toBe(state.current!.issuedBy!.authorityKeyId);
    // The chain was verified up to the second CA's own roots before it was stored and imported.
    const acm = state.acm[bed.region]!;
    expect((await bed.describeCertificate(acm.arn)).serialHex).toBe(state.current!.serial.replace(/^0+/, ''));

    const report = await collectStatus(runtime.store, new Date());
    const row = report.certificates.find((r) => r.id === ID)!;
    expect(row).toMatchObject({ ca: 'backup', failover: { from: 'primary', reason: 'ca-unavailable' } });
    const table = renderStatus(report);
    expect(table).toContain('failed over to backup');
    expect(table).toContain(`${ID}: issued by backup after failing over from primary`);

    const event = publishedEvents('Certificate Renewed').find((d) => d.serial === state.current!.serial);
    expect(event).toMatchObject({
      issuedBy: 'backup',
      failover: { from: 'primary', reason: 'ca-unavailable' },
      replacesWithheld: 'the predecessor was issued by CA "primary"; this order goes to "backup"',
    });
  });

  it('the next renewal starts with the first CA again, without replaces: it never issued the predecessor', async () => {
    bed.proxy!.clearRules();
    const path = await newOrderPath(bed.directoryUrl);
    const seen = bed.proxy!.requests.length;
    const backupSeen = backupProxy.requests.length;

    const outcome = await forced();
    expect(outcome).toMatchObject({ result: 'renewed', issuedBy: 'primary' });
    expect(outcome.failover).toBeUndefined();
    expect(replacesSent(bed.proxy!, path, seen)).toEqual([null]);
    expect(backupProxy.requests.length).toBe(backupSeen);
    const by = (await runtime.store.getState(ID))!.current!.issuedBy!;
    expect(by.ca).toBe('primary');
    expect(by.failover).toBeUndefined();
    expect(by.replacesWithheld).toBe(
      'the predecessor was issued by CA "backup"; this order goes to "primary"',
    );
  });

  it('a new certificate the first CA rate-limits for an hour is issued by the second CA at once', async () => {
    const path = await newOrderPath(bed.directoryUrl);
    bed.proxy!.addRule(({ method, path: at, payload }) =>
      method === 'POST' && at === path && JSON.stringify(payload).includes('new.failover.test')
        ? {
            status: 429,
            headers: { 'content-type': 'application/problem+json', 'retry-after': '3600' },
            body: JSON.stringify({
              type: 'urn:ietf:params:acme:error:rateLimited',
              detail: 'too many new orders for this test',
              status: 429,
            }),
          }
        : undefined,
    );
    const outcome = await runtime.renew({ id: NEW_ID, reason: 'new' }, 'failover-test');
    bed.proxy!.clearRules();
    expect(outcome).toMatchObject({ result: 'renewed', issuedBy: 'backup' });
    expect(outcome.failover).toMatchObject({ from: 'primary', reason: 'rate-limited' });
    expect(outcome.failover!.why).toContain('past the point the renewal is late');
    const state = (await runtime.store.getState(NEW_ID))!;
    expect(state.current!.issuedBy).toMatchObject({ ca: 'backup', failover: { reason: 'rate-limited' } });
    // Nothing to replace: no predecessor, so nothing is withheld either.
    expect(state.current!.issuedBy!.replacesWithheld).toBeUndefined();
    expect(state.retryAfter).toBeUndefined();
  });

  it('when the second CA fails too, the failure event names it and the failover that led there', async () => {
    bed.proxy!.addRule(() => unavailable);
    backupProxy.addRule(() => unavailable);
    try {
      // The first failure starts the outage's clock; past its budget the next attempt fails over, and fails there.
      await forced().catch(() => {});
      offsetMs += DEFAULT_FAILOVER_POLICY.unavailableBudgetMs + 60_000;
      const error = await forced().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(hasCode(error, 'acme-problem')).toBe(true);
    } finally {
      bed.proxy!.clearRules();
      backupProxy.clearRules();
    }
    const event = publishedEvents('Certificate Renewal Failed').at(-1);
    expect(event).toMatchObject({
      id: ID,
      code: 'acme-problem',
      ca: 'backup',
      failover: { from: 'primary', reason: 'ca-unavailable' },
    });
    expect(String(event!.error)).toContain('the CA is down for this test');
  });
});
