/**
 * Pebble 2.10 scenarios of issue 11, through the real scheduler and renewer handlers against Pebble (profiles,
 * `/set-renewal-info/`) and moto: a change to a shorter profile interrupted after the order was saved, a profile
 * the CA does not advertise, and ARI windows in the past, far in the future and malformed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectStatus, renderStatus } from '../../../functions/cli/status-report';
import type { RuntimeConfig } from '../../../functions/composition/runtime';
import { AcmeAwsError } from '../../../functions/core/errors';
import type { DnsChallengeProvider } from '../../../functions/core/renewal/ports';
import { overwriteState } from '../../support/fakes';
import { type FaultWorld, startFaultWorld } from '../../support/faults/faults-world';

const DAY_S = 24 * 60 * 60;
const HOUR = 60 * 60_000;
const ZONE = 'scenarios.test';
const IDS = ['profile-change', 'profile-unknown', 'ari-past', 'ari-future', 'ari-malformed'] as const;
type Id = (typeof IDS)[number];
const PROFILES: Record<Id, string> = {
  'profile-change': 'default',
  'profile-unknown': 'tlsserver',
  'ari-past': 'default',
  'ari-future': 'default',
  'ari-malformed': 'default',
};

let world: FaultWorld;
let config: RuntimeConfig;
let directoryUrl: string;
let trustAnchors: string[];

const inventory = (profiles: Record<Id, string>) => ({
  cas: { pebble: { directoryUrl, trustAnchors } },
  // Every entry names its profile: with several profiles Pebble picks one at random for an order that names none.
  certificates: IDS.map((id) => ({ id, ca: 'pebble', domains: [`${id}.${ZONE}`], profile: profiles[id] })),
});

/** The certificate's lifetime in days, from the state. */
async function lifetimeDays(id: Id): Promise<number> {
  const current = (await world.state(id))!.current!;
  return (Date.parse(current.notAfter) - Date.parse(current.notBefore)) / (DAY_S * 1000);
}

/** Makes the next scheduler pass ask renewalInfo for `id` now (as if its Retry-After had passed). */
async function ariDueNow(id: Id): Promise<void> {
  const state = (await world.state(id))!;
  await overwriteState(world.runtime().store, id, {
    ...state,
    ari: { ...state.ari!, nextCheckAt: new Date(0).toISOString() },
  });
}

async function setRenewalInfo(id: Id, info: Parameters<FaultWorld['bed']['pebble']['setRenewalInfo']>[1]) {
  const files = (await world.runtime().store.getCertificate(id))!;
  await world.bed.pebble.setRenewalInfo(files.certPem, info);
}

beforeAll(async () => {
  world = await startFaultWorld('profiles-and-ari', {
    zones: [ZONE],
    pebble: { extraProfiles: { shortlived: { validitySeconds: 6 * DAY_S, description: '6 days' } } },
    inventory: (_zones, url, anchors) => {
      directoryUrl = url;
      trustAnchors = anchors;
      return inventory(PROFILES);
    },
  });
  config = world.config;
  const { event } = await world.schedule();
  expect(event.Records).toHaveLength(IDS.length);
  expect((await world.renew(event, config, 2)).batchItemFailures).toEqual([]);
});

afterAll(async () => {
  await world?.stop();
});

describe('a profile the CA does not advertise', () => {
  it('is renewed without it; the note is in the state and in `acme-ari status`', async () => {
    const state = (await world.state('profile-unknown'))!;
    expect(state).toMatchObject({ lastResult: 'renewed', lastReason: 'new' });
    expect(state.profileNote).toBe(
      'profile "tlsserver" is not advertised by the CA (default, shortlived); ordered without it',
    );
    const report = await collectStatus(world.runtime().store, new Date());
    const row = report.certificates.find((c) => c.id === 'profile-unknown')!;
    expect(row.profileNote).toBe(state.profileNote);
    expect(renderStatus(report)).toContain(`profile-unknown: ${state.profileNote}`);
    expect((await world.state('profile-change'))!.profileNote).toBeUndefined();
  });
});

describe('a change to a shorter profile, interrupted after the order was saved', () => {
  it('is resumed for the reason it was placed for (changed) and renewed with the 6-day certificate', async () => {
    const id = 'profile-change';
    expect(await lifetimeDays(id)).toBeGreaterThan(365);
    // The interruption sits in the DNS step, which a reused authorization would skip.
    await world.deactivateAuthorizations();
    const before = await world.snapshot(id);
    const mark = world.mark();
    await world.bed.putInventory(world.bucket, inventory({ ...PROFILES, [id]: 'shortlived' }));
    const { event } = await world.schedule();
    expect(event.Records.map((r) => JSON.parse(r.body))).toEqual([{ id, reason: 'changed' }]);

    let interrupt = true;
    const interrupted: RuntimeConfig = {
      ...config,
      decorate: {
        dns: (real): DnsChallengeProvider => ({
          present: async (records, hints) => {
            if (interrupt) {
              interrupt = false;
              throw new AcmeAwsError(
                'dns-failed',
                'the renewer was interrupted after the order was saved (test)',
              );
            }
            return real.present(records, hints);
          },
          cleanup: (handle) => real.cleanup(handle),
        }),
      },
    };
    expect((await world.renew(event, interrupted)).batchItemFailures).toHaveLength(1);
    expect((await world.state(id))!.pendingOrder).toMatchObject({ reason: 'changed', failedAttempts: 1 });

    // SQS redelivers the same message; the retry resumes the kept order.
    expect((await world.renew(event)).batchItemFailures).toEqual([]);
    const after = (await world.state(id))!;
    expect(after).toMatchObject({ lastResult: 'renewed', lastReason: 'changed', failures: 0 });
    expect(after.pendingOrder).toBeUndefined();
    expect(await lifetimeDays(id)).toBeCloseTo(6, 1);
    const orders = await world.newOrders(mark);
    expect(orders).toHaveLength(1);
    expect(orders[0]!.payload).toMatchObject({ profile: 'shortlived' });
    expect(await world.lost(before, 'renewed')).toEqual([]);
    expect(await world.leaked(id)).toEqual([]);
  });
});

describe('ARI windows set with /set-renewal-info/', () => {
  it('a window in the past: enqueued for ari-window and renewed, replacing the old certificate', async () => {
    const id = 'ari-past';
    const before = await world.snapshot(id);
    const certId = (await world.state(id))!.current!.certId;
    await setRenewalInfo(id, { start: new Date(Date.now() - 2 * HOUR), end: new Date(Date.now() - HOUR) });
    await ariDueNow(id);
    const mark = world.mark();

    const { event } = await world.schedule();
    expect(event.Records.map((r) => JSON.parse(r.body))).toEqual([{ id, reason: 'ari-window' }]);
    expect((await world.renew(event)).batchItemFailures).toEqual([]);

    const after = (await world.state(id))!;
    expect(after).toMatchObject({ lastResult: 'renewed', lastReason: 'ari-window' });
    expect(after.current!.replaced).toBe(certId);
    expect((await world.newOrders(mark))[0]!.payload).toMatchObject({ replaces: certId });
    expect(await world.lost(before, 'renewed')).toEqual([]);
  });

  it('a window far in the future: not due, the renewal time is inside that window', async () => {
    const id = 'ari-future';
    const start = new Date(Date.now() + 365 * DAY_S * 1000);
    const end = new Date(start.getTime() + 2 * DAY_S * 1000);
    await setRenewalInfo(id, { start, end });
    await ariDueNow(id);

    const report = await world.runtime().scheduler({ only: id });

    expect(report.enqueued).toEqual([]);
    const check = report.checks[0]!;
    expect(check).toMatchObject({ id, due: false, reason: 'not-yet', ariRequested: true });
    expect(Date.parse(check.renewAt!)).toBeGreaterThanOrEqual(start.getTime());
    expect(Date.parse(check.renewAt!)).toBeLessThanOrEqual(end.getTime());
    expect((await world.state(id))!.ari).toMatchObject({ windowStart: start.toISOString() });
  });

  it('a malformed window: the lifetime ratio decides, the reason is recorded, nothing fails', async () => {
    const id = 'ari-malformed';
    await setRenewalInfo(id, { start: 'next tuesday', end: new Date(Date.now() + HOUR) });
    await ariDueNow(id);
    const mark = world.mark();

    const report = await world.runtime().scheduler({ only: id });

    const check = report.checks[0]!;
    expect(check).toMatchObject({ id, due: false, reason: 'not-yet', ariRequested: true });
    expect(check.explanation).toMatch(/no usable ARI window/);
    const state = (await world.state(id))!;
    expect(state.ari).toBeUndefined();
    expect(state.ariError).toMatch(/not a valid RenewalInfo object: suggestedWindow\.start/);
    expect(state.ariRetryAt).toBeDefined();
    expect(world.signals(id, mark).events).toEqual([]);

    // When the ratio's time comes (two thirds of the 5-year lifetime), it is due by the ratio, ARI still broken.
    const notBefore = Date.parse(state.current!.notBefore);
    const notAfter = Date.parse(state.current!.notAfter);
    const later = new Date(notBefore + ((notAfter - notBefore) * 7) / 10);
    const due = await world
      .runtime({ ...config, clock: { now: () => later } })
      .scheduler({ only: id, dryRun: true });
    expect(due.checks[0]).toMatchObject({ id, due: true, reason: 'ratio' });
  });
});
