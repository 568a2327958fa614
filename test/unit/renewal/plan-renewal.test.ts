import { describe, expect, it } from 'vitest';
import {
  planRenewal,
  type RenewalPlan,
  type RenewalPlanRequest,
  verificationRules,
} from '../../../functions/core/renewal/plan-renewal';
import {
  type CertificateState,
  MAX_FAILED_ATTEMPTS_PER_ORDER,
  type PendingOrder,
} from '../../../functions/core/renewal/state';

const NOW = new Date('2025-04-01T12:00:00.000Z');
const HASH = 'hash-now';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();

/** A certificate issued a month ago for 90 days, whose ARI time is `selectedIn` from now. */
function issued(overrides: Partial<CertificateState> = {}, selectedIn = 20 * 24 * HOUR): CertificateState {
  return {
    version: 1,
    id: 'shop',
    configHash: HASH,
    current: {
      serial: '01',
      notBefore: '2025-03-01T00:00:00.000Z',
      notAfter: '2025-05-30T00:00:00.000Z',
      domains: ['example.test'],
      keyType: 'ec-p256',
      issuer: 'CN=Test',
      directoryUrl: 'https://ca.test/dir',
      accountUrl: 'https://ca.test/acct/1',
      certId: 'aki.01',
      issuedAt: '2025-03-01T00:00:00.000Z',
    },
    ari: {
      certId: 'aki.01',
      windowStart: at(selectedIn - HOUR),
      windowEnd: at(selectedIn + HOUR),
      selectedTime: at(selectedIn),
      nextCheckAt: at(6 * HOUR),
      checkedAt: at(-HOUR),
    },
    acm: {},
    retiredAcmArns: [],
    failures: 0,
    ...overrides,
  };
}

const pending = (extra: Partial<PendingOrder> = {}): PendingOrder => ({
  url: 'https://ca.test/o/1',
  createdAt: at(-10 * MINUTE),
  failedAttempts: 0,
  ...extra,
});

const noCurrent: CertificateState = { version: 1, id: 'shop', acm: {}, retiredAcmArns: [], failures: 0 };

type Expected = Pick<Extract<RenewalPlan, { action: 'order' | 'resume' }>, 'action' | 'reason'> & {
  recordForcedAt?: boolean;
  notSoonerThanCurrent?: boolean;
  abandons?: boolean;
};

describe('planRenewal: what one renewer attempt does (fixed clock)', () => {
  it.each<{ name: string; state: CertificateState; request: RenewalPlanRequest; want: Expected }>([
    {
      name: 'no certificate yet → order (new), nothing to compare with',
      state: noCurrent,
      request: { reason: 'new' },
      want: { action: 'order', reason: 'new', notSoonerThanCurrent: false },
    },
    {
      name: 'the inventory entry changed → order (changed), may expire sooner (a shorter profile)',
      state: issued({ configHash: 'hash-before' }),
      request: { reason: 'changed' },
      want: { action: 'order', reason: 'changed', notSoonerThanCurrent: false },
    },
    {
      name: 'the ARI time has come → order (ari-window), may expire sooner',
      state: issued({}, -MINUTE),
      request: { reason: 'ari-window' },
      want: { action: 'order', reason: 'ari-window', notSoonerThanCurrent: false },
    },
    {
      name: "the ARI time comes before the scheduler's next run → due now with its lookahead",
      state: issued({}, 30 * MINUTE),
      request: { reason: 'ari-window', lookaheadMs: HOUR },
      want: { action: 'order', reason: 'ari-window' },
    },
    {
      name: 'by the lifetime ratio, without ARI → order (ratio), must not expire sooner',
      state: issued({
        ari: undefined,
        current: { ...issued().current!, notBefore: '2024-06-01T00:00:00.000Z' },
      }),
      request: { reason: 'ratio' },
      want: { action: 'order', reason: 'ratio', notSoonerThanCurrent: true },
    },
    {
      name: 'a kept order placed for changed is resumed as changed, whatever the message says',
      state: issued({ configHash: 'hash-before', pendingOrder: pending({ reason: 'changed' }) }),
      request: { reason: 'retry' },
      want: { action: 'resume', reason: 'changed', notSoonerThanCurrent: false },
    },
    {
      name: 'a kept order from an older document (no reason): the decision names it (changed)',
      state: issued({ configHash: 'hash-before', pendingOrder: pending() }),
      request: { reason: 'retry' },
      want: { action: 'resume', reason: 'changed', notSoonerThanCurrent: false },
    },
    {
      name: 'a kept order from an older document, not due any more → retry, must not expire sooner',
      state: issued({ pendingOrder: pending() }),
      request: { reason: 'retry' },
      want: { action: 'resume', reason: 'retry', notSoonerThanCurrent: true },
    },
    {
      name: 'a kept order is resumed, not re-forced, by a forced request',
      state: issued({ pendingOrder: pending({ reason: 'ratio' }) }),
      request: { reason: 'forced', force: true },
      want: { action: 'resume', reason: 'ratio', recordForcedAt: false, notSoonerThanCurrent: true },
    },
    {
      name: `a kept order with ${MAX_FAILED_ATTEMPTS_PER_ORDER - 1} failed attempts is resumed once more`,
      state: issued({
        pendingOrder: pending({ reason: 'ari-window', failedAttempts: MAX_FAILED_ATTEMPTS_PER_ORDER - 1 }),
      }),
      request: { reason: 'retry' },
      want: { action: 'resume', reason: 'ari-window', abandons: false },
    },
    {
      name: `a kept order with ${MAX_FAILED_ATTEMPTS_PER_ORDER} failed attempts is abandoned: order anew, same reason`,
      state: issued({
        pendingOrder: pending({ reason: 'changed', failedAttempts: MAX_FAILED_ATTEMPTS_PER_ORDER }),
      }),
      request: { reason: 'retry' },
      want: { action: 'order', reason: 'changed', abandons: true, notSoonerThanCurrent: false },
    },
    {
      name: 'forced and not due → order (forced), the forced order recorded',
      state: issued(),
      request: { reason: 'manual', force: true },
      want: { action: 'order', reason: 'forced', recordForcedAt: true, notSoonerThanCurrent: false },
    },
    {
      name: 'forced and due anyway → order (forced), not counted against the forced limit',
      state: issued({ configHash: 'hash-before', lastForcedAt: at(-5 * MINUTE) }),
      request: { reason: 'manual', force: true },
      want: { action: 'order', reason: 'forced', recordForcedAt: false },
    },
    {
      name: 'forced 61 minutes after the last forced order → order',
      state: issued({ lastForcedAt: at(-61 * MINUTE) }),
      request: { reason: 'forced', force: true },
      want: { action: 'order', reason: 'forced', recordForcedAt: true },
    },
  ])('$name', ({ state, request, want }) => {
    const plan = planRenewal({ state, configHash: HASH, request, now: NOW });
    expect(plan.action).toBe(want.action);
    if (plan.action !== 'order' && plan.action !== 'resume') return;
    expect(plan.reason).toBe(want.reason);
    if (want.recordForcedAt !== undefined) expect(plan.recordForcedAt).toBe(want.recordForcedAt);
    if (want.notSoonerThanCurrent !== undefined)
      expect(plan.rules.notSoonerThanCurrent).toBe(want.notSoonerThanCurrent);
    if (want.abandons !== undefined) expect(plan.abandon !== undefined).toBe(want.abandons);
    expect(plan.why.length).toBeGreaterThan(0);
    expect(plan.rules.why.length).toBeGreaterThan(0);
  });

  it.each<{
    name: string;
    state: CertificateState;
    request: RenewalPlanRequest;
    action: RenewalPlan['action'];
    why: RegExp;
  }>([
    {
      name: 'not due → import only, with the decision as the reason why',
      state: issued(),
      request: { reason: 'ari-window' },
      action: 'import-only',
      why: /not-yet|renew|2025-04-21/i,
    },
    {
      name: 'a state without configHash is not a change → import only',
      state: issued({ configHash: undefined }),
      request: { reason: 'manual' },
      action: 'import-only',
      why: /./,
    },
    {
      name: 'forced 10 minutes after the last forced order → limited until the hour is over',
      state: issued({ lastForcedAt: at(-10 * MINUTE) }),
      request: { reason: 'manual', force: true },
      action: 'limited',
      why: new RegExp(`next is allowed from ${at(50 * MINUTE).replace(/[.]/g, '\\.')}`),
    },
    {
      name: 'a 3-hour limit still holds after 2 hours',
      state: issued({ lastForcedAt: at(-2 * HOUR) }),
      request: { reason: 'forced', force: true, forcedRenewalMinIntervalMs: 3 * HOUR },
      action: 'limited',
      why: /forcedRenewalInterval/,
    },
    {
      name: 'a limit of 0 never limits',
      state: issued({ lastForcedAt: at(-MINUTE) }),
      request: { reason: 'forced', force: true, forcedRenewalMinIntervalMs: 0 },
      action: 'order',
      why: /forced/,
    },
  ])('$name', ({ state, request, action, why }) => {
    const plan = planRenewal({ state, configHash: HASH, request, now: NOW });
    expect(plan.action).toBe(action);
    expect(plan.why).toMatch(why);
  });

  it('is pure: the same input gives the same plan', () => {
    const input = {
      state: issued({ pendingOrder: pending({ reason: 'changed' }) }),
      configHash: HASH,
      request: { reason: 'retry' as const },
      now: NOW,
    };
    expect(planRenewal(input)).toEqual(planRenewal(structuredClone(input)));
  });
});

describe('verificationRules: when a certificate may expire sooner than the current one', () => {
  it.each<{ reason: Parameters<typeof verificationRules>[0]; hasCurrent: boolean; notSooner: boolean }>([
    { reason: 'ari-window', hasCurrent: true, notSooner: false },
    { reason: 'changed', hasCurrent: true, notSooner: false },
    { reason: 'new', hasCurrent: true, notSooner: false },
    { reason: 'forced', hasCurrent: true, notSooner: false },
    { reason: 'manual', hasCurrent: true, notSooner: false },
    { reason: 'ratio', hasCurrent: true, notSooner: true },
    { reason: 'emergency', hasCurrent: true, notSooner: true },
    { reason: 'retry', hasCurrent: true, notSooner: true },
    { reason: 'ratio', hasCurrent: false, notSooner: false },
  ])('$reason (current: $hasCurrent) → not sooner: $notSooner', ({ reason, hasCurrent, notSooner }) => {
    expect(verificationRules(reason, hasCurrent).notSoonerThanCurrent).toBe(notSooner);
  });
});
