import { describe, expect, it } from 'vitest';
import { AcmeProblemError, CaUnreachableError, RateLimitedError } from '../../../functions/core/acme';
import { AcmeAwsError } from '../../../functions/core/errors';
import { RequestTimeoutError } from '../../../functions/core/http';
import {
  type FailoverInput,
  lateAt,
  shouldFailOver,
  startingCa,
} from '../../../functions/core/renewal/failover';

const NOW = new Date('2026-03-01T12:00:00Z');
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const at = (ms: number) => new Date(NOW.getTime() + ms);
const iso = (ms: number) => at(ms).toISOString();
const CAS = ['primary', 'backup', 'last'];

/** A 90-day certificate issued 60 days ago: 30 days left, late from 15 days left (the last sixth). */
const current = {
  serial: '01',
  notBefore: iso(-60 * DAY),
  notAfter: iso(30 * DAY),
  domains: ['www.example.com'],
  keyType: 'ec-p256' as const,
  issuer: 'CN=Test CA',
  directoryUrl: 'https://primary.test/dir',
  accountUrl: 'https://primary.test/acct/1',
  certId: 'aki.serial',
  issuedAt: iso(-60 * DAY),
};
/** The same certificate 20 days on: 10 days left, inside its last sixth. */
const lateCurrent = { ...current, notBefore: iso(-80 * DAY), notAfter: iso(10 * DAY) };

const problem = (status: number, type = 'serverInternal') =>
  new AcmeProblemError(
    { type: `urn:ietf:params:acme:error:${type}`, detail: 'x', status },
    'POST /new-order',
  );
const http503 = problem(503);
const http500 = problem(500);
const timeout = new RequestTimeoutError('POST', 'https://primary.test/new-order', 10_000);
const refused = new CaUnreachableError('GET https://primary.test/dir failed before any answer: ECONNREFUSED');
const rateLimited = (retryAfterMs: number | undefined) =>
  new RateLimitedError(
    { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many', status: 429 },
    'POST /new-order',
    retryAfterMs === undefined ? undefined : at(retryAfterMs),
  );
const unauthorized = problem(403, 'unauthorized');
const dnsFailed = new AcmeAwsError('dns-failed', 'Route 53 refused the change');

type State = FailoverInput['state'];
const fresh: State = { current, failures: 0 };
const failingFor = (ms: number, failures = 1, cert = current): State => ({
  current: cert,
  failures,
  failingSince: iso(-ms),
  lastAttemptAt: iso(-MIN),
});

describe('shouldFailOver', () => {
  it.each<[string, unknown, State, boolean, string]>([
    ['a first 503 stays within the outage budget', http503, fresh, false, 'within the budget of 30 min'],
    ['a 503 after 10 minutes of outage stays', http503, failingFor(10 * MIN), false, 'within the budget'],
    ['a 500 after 31 minutes of outage moves on', http500, failingFor(31 * MIN), true, 'ca-unavailable'],
    ['a timeout after 45 minutes moves on', timeout, failingFor(45 * MIN), true, 'ca-unavailable'],
    ['no answer at all after an hour moves on', refused, failingFor(60 * MIN), true, 'ca-unavailable'],
    ['a first 503 while late moves on at once', http503, { current: lateCurrent, failures: 0 }, true, 'late'],
    ['a rate limit lifting before the renewal is late stays', rateLimited(3 * DAY), fresh, false, 'before'],
    [
      'a rate limit lifting after the renewal is late moves on',
      rateLimited(20 * DAY),
      fresh,
      true,
      'rate-limited',
    ],
    [
      'a rate limit without Retry-After waits an hour, not late',
      rateLimited(undefined),
      fresh,
      false,
      'before',
    ],
    [
      'any rate limit moves on once late',
      rateLimited(2 * 60 * MIN),
      { current: lateCurrent, failures: 0 },
      true,
      'rate-limited',
    ],
    ['a CA refusal before the renewal is late stays', unauthorized, failingFor(DAY, 5), false, 'not late'],
    ['two CA refusals while late stay', unauthorized, failingFor(DAY, 1, lateCurrent), false, '2 of 3'],
    [
      'the third CA refusal in a row while late moves on',
      unauthorized,
      failingFor(DAY, 2, lateCurrent),
      true,
      'repeated-failures',
    ],
    [
      'a DNS failure never moves: another CA would meet it',
      dnsFailed,
      failingFor(DAY, 9, lateCurrent),
      false,
      'not the CA',
    ],
  ])('%s', (_name, error, state, failover, text) => {
    const decision = shouldFailOver({ error, now: NOW, state, cas: CAS, from: 'primary' });
    expect(decision.failover).toBe(failover);
    if (decision.failover) {
      expect(decision.to).toBe('backup');
      expect([decision.reason, decision.why].join(' ')).toContain(text);
    } else {
      expect(decision.why).toContain(text);
    }
  });

  it('moves from the second CA to the third, and from the last nowhere', () => {
    const input = { error: http503, now: NOW, state: failingFor(2 * 60 * MIN), cas: CAS };
    expect(shouldFailOver({ ...input, from: 'backup' })).toMatchObject({ failover: true, to: 'last' });
    expect(shouldFailOver({ ...input, from: 'last' })).toEqual({
      failover: false,
      why: 'no CA after "last" to fail over to',
    });
    expect(shouldFailOver({ ...input, cas: ['primary'], from: 'primary' }).failover).toBe(false);
  });

  it('a new certificate is late once it waited the outage budget, rate limited or not', () => {
    const none = (failures: number, sinceMs: number): State => ({
      failures,
      failingSince: iso(-sinceMs),
      lastAttemptAt: iso(-MIN),
    });
    expect(
      shouldFailOver({
        error: rateLimited(60 * MIN),
        now: NOW,
        state: none(0, 0),
        cas: CAS,
        from: 'primary',
      }),
    ).toMatchObject({ failover: true, reason: 'rate-limited' });
    expect(
      shouldFailOver({ error: rateLimited(10 * MIN), now: NOW, state: none(0, 0), cas: CAS, from: 'primary' })
        .failover,
    ).toBe(false);
    expect(
      shouldFailOver({ error: unauthorized, now: NOW, state: none(2, 40 * MIN), cas: CAS, from: 'primary' }),
    ).toMatchObject({ failover: true, reason: 'repeated-failures' });
  });

  it('the budget and thresholds follow the policy given', () => {
    const input = { error: http503, now: NOW, state: fresh, cas: CAS, from: 'primary' };
    expect(shouldFailOver({ ...input, policy: { unavailableBudgetMs: 0 } }).failover).toBe(true);
    expect(
      shouldFailOver({ ...input, state: failingFor(31 * MIN), policy: { unavailableBudgetMs: 2 * 60 * MIN } })
        .failover,
    ).toBe(false);
  });
});

describe('lateAt', () => {
  it.each<[string, State, string]>([
    ['the last sixth of the lifetime without ARI', fresh, iso(15 * DAY)],
    [
      'the end of the ARI window of the current certificate when sooner',
      { ...fresh, ari: ariFor('aki.serial', iso(5 * DAY)) },
      iso(5 * DAY),
    ],
    [
      'never later than the last sixth, whatever the window says',
      { ...fresh, ari: ariFor('aki.serial', iso(25 * DAY)) },
      iso(15 * DAY),
    ],
    [
      'not a window of another certificate',
      { ...fresh, ari: ariFor('other.cert', iso(1 * DAY)) },
      iso(15 * DAY),
    ],
  ])('%s', (_name, state, expected) => {
    expect(lateAt(state, NOW).toISOString()).toBe(expected);
  });
});

describe('startingCa', () => {
  it.each<[string | undefined, string]>([
    [undefined, 'primary'],
    ['backup', 'backup'],
    ['removed-from-the-list', 'primary'],
  ])('a kept order at %s starts at %s', (pending, expected) => {
    expect(startingCa(CAS, pending)).toBe(expected);
  });
});

function ariFor(certId: string, windowEnd: string): NonNullable<State['ari']> {
  return {
    certId,
    windowStart: iso(-DAY),
    windowEnd,
    selectedTime: iso(0),
    nextCheckAt: iso(6 * 60 * MIN),
    checkedAt: iso(0),
  };
}
