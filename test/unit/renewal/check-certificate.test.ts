import { describe, expect, it } from 'vitest';
import { checkCertificate } from '../../../functions/core/renewal/check-certificate';
import type { AriState, CertificateState } from '../../../functions/core/renewal/state';
import { type AriAnswer, constantRandom, FakeAriServer } from '../../support/fakes';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = new Date('2025-04-01T12:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();

const CERT_ID = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';
const OTHER_CERT_ID = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AP8AAQ';
const HASH = 'hash-of-the-entry';

/** A 90-day certificate issued 2025-03-01: the ratio (1/3 left) falls on 2025-04-30, the floor on 2025-05-25 12:00. */
const CURRENT = {
  serial: '0a1b2c3d',
  notBefore: '2025-03-01T00:00:00.000Z',
  notAfter: '2025-05-30T00:00:00.000Z',
  domains: ['example.test'],
  keyType: 'ec-p256',
  issuer: 'CN=Test Intermediate',
  directoryUrl: 'https://ca.test/directory',
  accountUrl: 'https://ca.test/acct/1',
  certId: CERT_ID,
  issuedAt: '2025-03-01T00:00:00.000Z',
} as const satisfies CertificateState['current'];
const RATIO_AT = '2025-04-30T00:00:00.000Z';

/** A window ten days out, 2 days long; with random 0.5 the drawn time is its middle. */
const WINDOW = { start: '2025-04-11T00:00:00.000Z', end: '2025-04-13T00:00:00.000Z' };
const WINDOW_MIDDLE = '2025-04-12T00:00:00.000Z';

function ari(overrides: Partial<AriState> = {}): AriState {
  return {
    certId: CERT_ID,
    windowStart: WINDOW.start,
    windowEnd: WINDOW.end,
    selectedTime: '2025-04-11T06:00:00.000Z',
    nextCheckAt: at(HOUR),
    checkedAt: at(-5 * HOUR),
    ...overrides,
  };
}

function state(overrides: Partial<CertificateState> = {}): CertificateState {
  return {
    version: 1,
    id: 'shop',
    configHash: HASH,
    current: CURRENT,
    acm: {},
    retiredAcmArns: [],
    failures: 0,
    ...overrides,
  };
}

function server(answer: AriAnswer = { window: WINDOW }, certId = CERT_ID): FakeAriServer {
  const ca = new FakeAriServer();
  ca.answers.set(certId, answer);
  return ca;
}

async function check(
  ca: FakeAriServer,
  input: { state: CertificateState; configHash?: string; lookaheadMs?: number; withoutAri?: boolean },
) {
  return checkCertificate({
    state: input.state,
    configHash: input.configHash ?? HASH,
    ...(input.withoutAri ? {} : { renewalInfoUrl: ca.baseUrl }),
    fetch: ca.fetch,
    now: NOW,
    random: constantRandom(0.5),
    ...(input.lookaheadMs === undefined ? {} : { lookaheadMs: input.lookaheadMs }),
  });
}

describe('checkCertificate: when renewalInfo is fetched', () => {
  it.each<{ name: string; state: CertificateState; withoutAri?: boolean; fetched: boolean }>([
    { name: 'never checked', state: state(), fetched: true },
    {
      name: "ARI's Retry-After still running",
      state: state({ ari: ari({ nextCheckAt: at(1) }) }),
      fetched: false,
    },
    { name: "ARI's Retry-After ends now", state: state({ ari: ari({ nextCheckAt: at(0) }) }), fetched: true },
    {
      name: "ARI's Retry-After passed",
      state: state({ ari: ari({ nextCheckAt: at(-MINUTE) }) }),
      fetched: true,
    },
    {
      name: 'ariRetryAt after a failure still running',
      state: state({ ariRetryAt: at(HOUR) }),
      fetched: false,
    },
    { name: 'ariRetryAt after a failure passed', state: state({ ariRetryAt: at(-1) }), fetched: true },
    {
      name: "another certificate's ARI, with its own Retry-After running",
      state: state({ ari: ari({ certId: OTHER_CERT_ID, nextCheckAt: at(HOUR) }) }),
      fetched: true,
    },
    {
      name: "another certificate's ARI; ariRetryAt running",
      state: state({ ari: ari({ certId: OTHER_CERT_ID }), ariRetryAt: at(HOUR) }),
      fetched: false,
    },
    { name: 'the CA has no renewalInfo', state: state(), withoutAri: true, fetched: false },
    {
      name: 'no certificate yet',
      state: state({ current: undefined, configHash: undefined }),
      fetched: false,
    },
    {
      name: 'a certificate without certID (no AKI)',
      state: state({ current: { ...CURRENT, certId: undefined } }),
      fetched: false,
    },
  ])('$name → fetched: $fetched', async ({ state, withoutAri, fetched }) => {
    const ca = server();
    const result = await check(ca, { state, withoutAri });
    expect(result.ariRequested).toBe(fetched);
    expect(ca.certIds).toEqual(fetched ? [CERT_ID] : []);
    if (fetched) {
      expect(result.state.ari).toMatchObject({
        certId: CERT_ID,
        windowStart: WINDOW.start,
        windowEnd: WINDOW.end,
        // The same window as before keeps its draw; a first window (or another certificate's) is drawn afresh.
        selectedTime: state.ari?.certId === CERT_ID ? state.ari.selectedTime : WINDOW_MIDDLE,
        nextCheckAt: at(6 * HOUR),
        checkedAt: NOW.toISOString(),
      });
    } else {
      expect(result.state).toEqual(state);
    }
  });

  it('clamps the Retry-After of a good answer to [1 minute, 1 day] and clears an earlier ARI error', async () => {
    const short = await check(server({ window: WINDOW, retryAfter: '5' }), {
      state: state({ ariError: 'old failure', ariRetryAt: at(-1) }),
    });
    expect(short.state.ari?.nextCheckAt).toBe(at(MINUTE));
    expect(short.state.ariError).toBeUndefined();
    expect(short.state.ariRetryAt).toBeUndefined();

    const long = await check(server({ window: WINDOW, retryAfter: String(7 * 24 * 3600) }), {
      state: state(),
    });
    expect(long.state.ari?.nextCheckAt).toBe(at(DAY));
  });

  it('keeps an http(s) explanationURL for the operator', async () => {
    const result = await check(server({ window: WINDOW, explanationURL: 'https://ca.test/incident/42' }), {
      state: state(),
    });
    expect(result.state.ari?.explanationUrl).toBe('https://ca.test/incident/42');
  });
});

describe('checkCertificate: ARI failures', () => {
  const kept = ari({ selectedTime: '2025-04-11T06:00:00.000Z', nextCheckAt: at(-MINUTE) });

  it.each<{ name: string; answer: AriAnswer; temporary: boolean; retryAt: string }>([
    {
      name: '503 with Retry-After 120',
      answer: { status: 503, retryAfter: '120' },
      temporary: true,
      retryAt: at(2 * MINUTE),
    },
    { name: '500 without Retry-After', answer: { status: 500 }, temporary: true, retryAt: at(HOUR) },
    { name: '429 without Retry-After', answer: { status: 429 }, temporary: true, retryAt: at(HOUR) },
    { name: 'a network error', answer: { network: true }, temporary: true, retryAt: at(HOUR) },
    { name: '404 without Retry-After', answer: { status: 404 }, temporary: false, retryAt: at(6 * HOUR) },
    {
      name: '404 with Retry-After 3600',
      answer: { status: 404, retryAfter: '3600' },
      temporary: false,
      retryAt: at(HOUR),
    },
    {
      name: 'a window that ends before it starts',
      answer: { status: 200, body: { suggestedWindow: { start: WINDOW.end, end: WINDOW.start } } },
      temporary: false,
      retryAt: at(6 * HOUR),
    },
    {
      name: 'a body without suggestedWindow',
      answer: { status: 200, body: {} },
      temporary: false,
      retryAt: at(6 * HOUR),
    },
  ])('$name: temporary=$temporary, next attempt at $retryAt', async ({ answer, temporary, retryAt }) => {
    const result = await check(server(answer), { state: state({ ari: kept }) });

    expect(result.ariRequested).toBe(true);
    expect(result.ariError).toMatch(/RenewalInfoError/);
    expect(result.state.ariError).toBe(result.ariError);
    expect(result.state.ariRetryAt).toBe(retryAt);
    expect(result.decision.renew).toBe(false);
    if (temporary) {
      // The last good window still decides: RFC 9773 §4.3.3 temporary errors do not invalidate it.
      expect(result.state.ari).toEqual({ ...kept, nextCheckAt: retryAt });
      expect(result.decision).toMatchObject({ renewAt: new Date(kept.selectedTime) });
    } else {
      // A long-term error drops the window: the lifetime ratio decides until ARI answers again.
      expect(result.state.ari).toBeUndefined();
      expect(result.decision).toMatchObject({ renewAt: new Date(RATIO_AT) });
    }
  });

  it('does not ask again before ariRetryAt, whichever kind of failure set it', async () => {
    const ca = server({ status: 404 });
    const first = await check(ca, { state: state() });
    const second = await check(ca, { state: first.state });
    expect(ca.requests).toHaveLength(1);
    expect(second.ariRequested).toBe(false);
    expect(second.state).toEqual(first.state);
  });

  it("a temporary failure does not keep another certificate's window", async () => {
    const result = await check(server({ status: 503 }), {
      state: state({ ari: ari({ certId: OTHER_CERT_ID, nextCheckAt: at(-1) }) }),
    });
    expect(result.state.ari).toBeUndefined();
    expect(result.state.ariRetryAt).toBe(at(HOUR));
    expect(result.decision).toMatchObject({ renew: false, renewAt: new Date(RATIO_AT) });
  });
});

describe("checkCertificate: another certificate's ARI", () => {
  it('is ignored by the decision, even when its selected time has passed', async () => {
    const ca = server();
    const stale = ari({
      certId: OTHER_CERT_ID,
      selectedTime: at(-DAY),
      windowStart: at(-2 * DAY),
      windowEnd: at(DAY),
    });
    const result = await check(ca, { state: state({ ari: stale }), withoutAri: true });
    expect(result.decision).toMatchObject({ renew: false, reason: 'not-yet', renewAt: new Date(RATIO_AT) });
  });

  it("is replaced by the current certificate's window, drawn afresh", async () => {
    const result = await check(server(), {
      state: state({ ari: ari({ certId: OTHER_CERT_ID, selectedTime: '2025-04-11T06:00:00.000Z' }) }),
    });
    expect(result.state.ari).toMatchObject({ certId: CERT_ID, selectedTime: WINDOW_MIDDLE });
  });
});

describe('checkCertificate: the selected time', () => {
  const previous = ari({ selectedTime: '2025-04-11T06:00:00.000Z', nextCheckAt: at(-1) });

  it.each<{ name: string; window: { start: string; end: string }; selected: string }>([
    { name: 'window unchanged → kept', window: WINDOW, selected: previous.selectedTime },
    {
      name: 'window pulled forward → drawn again',
      window: { start: '2025-04-02T00:00:00.000Z', end: '2025-04-04T00:00:00.000Z' },
      selected: '2025-04-03T00:00:00.000Z',
    },
    {
      name: 'window end moved only → drawn again',
      window: { start: WINDOW.start, end: '2025-04-15T00:00:00.000Z' },
      selected: '2025-04-13T00:00:00.000Z',
    },
  ])('$name', async ({ window, selected }) => {
    const result = await check(server({ window }), { state: state({ ari: previous }) });
    expect(result.state.ari?.selectedTime).toBe(selected);
    expect(result.decision).toMatchObject({ renew: false, renewAt: new Date(selected) });
  });

  it('a window moved into the past makes the certificate due at once (ari-window)', async () => {
    // What a CA does before a mass revocation: the window is now behind us.
    const result = await check(server({ window: { start: at(-2 * HOUR), end: at(-HOUR) } }), {
      state: state({ ari: previous }),
    });
    expect(result.decision).toMatchObject({ renew: true, reason: 'ari-window' });
  });
});

describe('checkCertificate: the decision', () => {
  it.each<{ name: string; selectedIn: number; lookaheadMs?: number; due: boolean }>([
    { name: 'selected in 30 min, no lookahead', selectedIn: 30 * MINUTE, due: false },
    { name: 'selected in 30 min, lookahead 1 h', selectedIn: 30 * MINUTE, lookaheadMs: HOUR, due: true },
    { name: 'selected in exactly 1 h, lookahead 1 h', selectedIn: HOUR, lookaheadMs: HOUR, due: true },
    { name: 'selected in 61 min, lookahead 1 h', selectedIn: 61 * MINUTE, lookaheadMs: HOUR, due: false },
    { name: 'selected 1 min ago, no lookahead', selectedIn: -MINUTE, due: true },
  ])('$name → due: $due', async ({ selectedIn, lookaheadMs, due }) => {
    const selected = at(selectedIn);
    const window = ari({
      windowStart: at(-DAY),
      windowEnd: at(DAY),
      selectedTime: selected,
      nextCheckAt: at(2 * HOUR),
    });
    const ca = server();
    const result = await check(ca, { state: state({ ari: window }), lookaheadMs });
    expect(ca.requests).toEqual([]);
    expect(result.decision.renew).toBe(due);
    if (due) expect(result.decision.reason).toBe('ari-window');
  });

  it.each<{ name: string; state: CertificateState; hash: string; reason: string }>([
    { name: 'configHash changed', state: state({ configHash: 'older-hash' }), hash: HASH, reason: 'changed' },
    { name: 'configHash unchanged', state: state(), hash: HASH, reason: 'not-yet' },
    {
      name: 'no configHash recorded yet',
      state: state({ configHash: undefined }),
      hash: HASH,
      reason: 'not-yet',
    },
    {
      name: 'no certificate yet',
      state: state({ current: undefined, configHash: undefined }),
      hash: HASH,
      reason: 'new',
    },
  ])('$name → $reason', async ({ state, hash, reason }) => {
    const result = await check(server(), { state: { ...state, ari: ari() }, configHash: hash });
    expect(result.decision.reason).toBe(reason);
    expect(result.decision.renew).toBe(reason !== 'not-yet');
  });

  it('schedules the next check at the earlier of the renewal time and the ARI Retry-After', async () => {
    const result = await check(server(), { state: state({ ari: ari({ nextCheckAt: at(3 * HOUR) }) }) });
    expect(result.decision).toMatchObject({
      renew: false,
      renewAt: new Date('2025-04-11T06:00:00.000Z'),
      nextCheckAt: new Date(at(3 * HOUR)),
    });
  });

  it('renews at the ratio without ARI, and at the emergency floor whatever ARI says', async () => {
    const ca = server();
    const atRatio = await checkCertificate({
      state: state(),
      configHash: HASH,
      fetch: ca.fetch,
      now: new Date(RATIO_AT),
      random: constantRandom(0.5),
    });
    expect(atRatio.decision).toMatchObject({ renew: true, reason: 'ratio' });

    const lateWindow = ari({
      windowStart: '2025-05-28T00:00:00.000Z',
      windowEnd: '2025-05-29T00:00:00.000Z',
      selectedTime: '2025-05-28T12:00:00.000Z',
      nextCheckAt: '2025-06-01T00:00:00.000Z',
    });
    const atFloor = await checkCertificate({
      state: state({ ari: lateWindow }),
      configHash: HASH,
      renewalInfoUrl: ca.baseUrl,
      fetch: ca.fetch,
      now: new Date('2025-05-25T12:00:00.000Z'),
      random: constantRandom(0.5),
    });
    expect(atFloor.decision).toMatchObject({ renew: true, reason: 'emergency' });
  });
});

describe('checkCertificate: stored deferrals are bounded, and the emergency floor wins', () => {
  /** Stored by an older version from `Retry-After: 99999999` (more than three years). */
  const FOREVER = at(99_999_999 * 1000);
  /** A 90-day certificate with 4 days left: past its floor (4.5 days left) at NOW. */
  const NEAR_EXPIRY = {
    ...CURRENT,
    notBefore: new Date(NOW.getTime() - 86 * DAY).toISOString(),
    notAfter: new Date(NOW.getTime() + 4 * DAY).toISOString(),
  };

  it('a rate limit deferral past expiry does not stop an emergency renewal', async () => {
    const result = await check(server(), {
      state: state({ current: NEAR_EXPIRY, retryAfter: FOREVER, lastAttemptAt: at(-HOUR) }),
    });
    expect(result.decision).toMatchObject({ renew: true, reason: 'emergency' });
  });

  it('a three-year deferral counts for a week after the attempt that stored it, and asks no ARI meanwhile', async () => {
    const ca = server();
    const result = await check(ca, {
      state: state({
        retryAfter: FOREVER,
        lastAttemptAt: at(-DAY),
        lastError: 'RateLimitedError: slow down',
      }),
    });
    expect(result.decision).toMatchObject({ renew: false, reason: 'deferred' });
    expect(result.decision.renew === false && result.decision.renewAt.toISOString()).toBe(at(6 * DAY));
    expect(result.decision.explanation).toContain('RateLimitedError: slow down');
    expect(ca.requests).toEqual([]);
    expect(result.ariRequested).toBe(false);
  });

  it('a deferral past the emergency floor ends at the floor', async () => {
    const nearFloor = {
      ...CURRENT,
      notBefore: new Date(NOW.getTime() - 84 * DAY).toISOString(),
      notAfter: new Date(NOW.getTime() + 6 * DAY).toISOString(),
    };
    const capped = await check(server(), {
      state: state({ current: nearFloor, retryAfter: at(5 * DAY), lastAttemptAt: at(-HOUR) }),
    });
    // 1/20 of 90 days is 4.5 days: the floor comes 1.5 days from now, before the deferral ends.
    expect(capped.decision.renew === false && capped.decision.renewAt.toISOString()).toBe(at(1.5 * DAY));
  });

  it('a far-future deferral without the attempt that stored it is not honoured', async () => {
    const result = await check(server(), { state: state({ retryAfter: FOREVER }) });
    expect(result.decision.reason).not.toBe('deferred');
    expect(result.ariRequested).toBe(true);
  });

  it.each<{ name: string; overrides: Partial<CertificateState> }>([
    {
      name: 'an ARI next check in the year 5000, a day after its answer',
      overrides: { ari: ari({ nextCheckAt: '5000-01-01T00:00:00.000Z', checkedAt: at(-DAY) }) },
    },
    {
      name: 'an ARI retry in the year 5000 after a failure',
      overrides: { ariRetryAt: '5000-01-01T00:00:00.000Z' },
    },
  ])('$name: renewalInfo is asked again (never more than a day between checks)', async ({ overrides }) => {
    const ca = server();
    const result = await check(ca, { state: state(overrides) });
    expect(result.ariRequested).toBe(true);
    expect(ca.certIds).toEqual([CERT_ID]);
    expect(result.state.ari?.nextCheckAt).toBe(at(6 * HOUR));
  });
});

describe('checkCertificate: refreshes spread and bounded per CA', () => {
  const order: string[] = [];
  const rate = {
    acquire: async (key: string) => {
      order.push(`token:${key}`);
    },
  };

  it.each([
    { random: 0, nextCheckAt: at(6 * HOUR) },
    { random: 0.5, nextCheckAt: at(7.5 * HOUR) },
    { random: 0.99, nextCheckAt: at(6 * HOUR + 0.99 * 3 * HOUR) },
  ])('a 6-hour Retry-After with jitter 0.5 and draw $random: next check at $nextCheckAt', async (row) => {
    const ca = server();
    const result = await checkCertificate({
      state: state(),
      configHash: HASH,
      renewalInfoUrl: ca.baseUrl,
      fetch: ca.fetch,
      now: NOW,
      random: constantRandom(row.random),
      ariJitter: 0.5,
    });
    expect(result.state.ari?.nextCheckAt).toBe(row.nextCheckAt);
  });

  it('spreads the retry after a failure too, so an outage does not bring every certificate back at once', async () => {
    const ca = server({ status: 500 });
    const result = await checkCertificate({
      state: state({ ari: ari({ nextCheckAt: at(-MINUTE) }) }),
      configHash: HASH,
      renewalInfoUrl: ca.baseUrl,
      fetch: ca.fetch,
      now: NOW,
      random: constantRandom(0.5),
      ariJitter: 0.5,
    });
    expect(result.state.ariRetryAt).toBe(at(1.25 * HOUR));
  });

  it("takes a token from the CA's bucket before each request, and none when nothing is asked", async () => {
    const ca = server();
    const fetch: typeof ca.fetch = async (url, init) => {
      order.push('request');
      return ca.fetch(url, init);
    };
    const input = {
      configHash: HASH,
      renewalInfoUrl: ca.baseUrl,
      fetch,
      now: NOW,
      random: constantRandom(0.5),
    };
    await checkCertificate({ ...input, state: state(), requestRate: rate });
    await checkCertificate({
      ...input,
      state: state({ ari: ari({ nextCheckAt: at(HOUR) }) }),
      requestRate: rate,
    });
    expect(order).toEqual([`token:${ca.baseUrl}`, 'request']);
  });
});
