import { describe, expect, it } from 'vitest';
import {
  type DecideRenewalInput,
  decideRenewal,
  emergencyTime,
  ratioRenewalTime,
} from '../../../functions/core/ari';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
/** Every certificate in the table is issued at this instant; `now` and ARI times are offsets from it. */
const ISSUED = Date.parse('2025-01-01T00:00:00.000Z');
const at = (days: number) => new Date(ISSUED + Math.round(days * DAY));

/** Ratio time and emergency floor per lifetime, in days after issuance. */
const SCHEDULE = {
  90: { ratio: 60, emergency: 85.5 }, // 1/3 and 1/20 of 90 days left
  45: { ratio: 30, emergency: 42.75 }, // 1/3 and 1/20 of 45 days left
  6: { ratio: 3, emergency: 5.7 }, // under 10 days: 1/2, and 1/20 of 6 days left
} as const;

type Row = {
  name: string;
  lifetime: keyof typeof SCHEDULE;
  now: number;
  noCertificate?: true;
  configChanged?: true;
  ari?: { selected: number; start: number; end: number; nextCheck?: number };
  reason: 'new' | 'changed' | 'ari-window' | 'ratio' | 'emergency' | 'not-yet';
  renewAt?: number;
  nextCheckAt?: number;
  explains: RegExp;
};

function rowsFor(lifetime: keyof typeof SCHEDULE): Row[] {
  const { ratio, emergency } = SCHEDULE[lifetime];
  // An ARI window after the ratio point but well before the floor, like Let's Encrypt's (about 2/3 of lifetime).
  const win = { start: ratio + (emergency - ratio) / 4, end: ratio + (emergency - ratio) / 2 };
  const selected = (win.start + win.end) / 2;
  return [
    {
      name: 'no certificate yet',
      lifetime,
      now: 1,
      noCertificate: true,
      reason: 'new',
      explains: /No certificate/,
    },
    {
      name: 'inventory changed',
      lifetime,
      now: 1,
      configChanged: true,
      ari: { selected, ...win },
      reason: 'changed',
      explains: /inventory entry changed/,
    },
    {
      name: 'fresh, no ARI: wait for the ratio point',
      lifetime,
      now: 0.1,
      reason: 'not-yet',
      renewAt: ratio,
      nextCheckAt: ratio,
      explains: /when 1\/[23] of the/,
    },
    {
      name: 'no ARI, one millisecond before the ratio point',
      lifetime,
      now: ratio - 1 / DAY,
      reason: 'not-yet',
      renewAt: ratio,
      nextCheckAt: ratio,
      explains: /no usable ARI/,
    },
    {
      name: 'no ARI, at the ratio point',
      lifetime,
      now: ratio,
      reason: 'ratio',
      explains: /at or below 1\/[23]/,
    },
    {
      name: 'no ARI, an unusable window (end before start) falls back to the ratio',
      lifetime,
      now: ratio,
      ari: { selected: emergency - 0.01, start: emergency, end: win.start },
      reason: 'ratio',
      explains: /no usable ARI/,
    },
    {
      name: 'ARI, before the selected time: wait for it, check again at the ARI next-check',
      lifetime,
      now: 0.1,
      ari: { selected, ...win, nextCheck: 0.1 + 0.25 },
      reason: 'not-yet',
      renewAt: selected,
      nextCheckAt: 0.1 + 0.25,
      explains: /selected in the CA's renewal window/,
    },
    {
      name: 'ARI, past the ratio point but before the selected time: ratio does not apply',
      lifetime,
      now: (ratio + win.start) / 2,
      ari: { selected, ...win },
      reason: 'not-yet',
      renewAt: selected,
      nextCheckAt: selected,
      explains: /selected in the CA's renewal window/,
    },
    {
      name: 'ARI, the next check comes after the selected time: check at the selected time',
      lifetime,
      now: win.start,
      ari: { selected, ...win, nextCheck: win.end + 1 },
      reason: 'not-yet',
      renewAt: selected,
      nextCheckAt: selected,
      explains: /selected in the CA's renewal window/,
    },
    {
      name: 'ARI, the selected time has come',
      lifetime,
      now: selected,
      ari: { selected, ...win },
      reason: 'ari-window',
      explains: /came at/,
    },
    {
      name: 'ARI window moved into the past (revocation): renew before the ratio point',
      lifetime,
      now: 0.5,
      ari: { selected: 0.45, start: 0.4, end: 0.48 },
      reason: 'ari-window',
      explains: /came at/,
    },
    {
      name: 'ARI selected time beyond the floor: wait only until the floor',
      lifetime,
      now: win.start,
      ari: { selected: emergency + 0.01, start: emergency, end: lifetime },
      reason: 'not-yet',
      renewAt: emergency,
      nextCheckAt: emergency,
      explains: /emergency floor/,
    },
    {
      name: 'emergency floor wins even when ARI says later',
      lifetime,
      now: emergency,
      ari: { selected: emergency + 0.01, start: emergency, end: lifetime },
      reason: 'emergency',
      explains: /emergency floor.*although the CA's selected renewal time/,
    },
    {
      name: 'no ARI, at the emergency floor',
      lifetime,
      now: emergency,
      reason: 'emergency',
      explains: /emergency floor/,
    },
    { name: 'already expired', lifetime, now: lifetime + 1, reason: 'emergency', explains: /expired at/ },
  ];
}

const rows: Row[] = [...rowsFor(90), ...rowsFor(45), ...rowsFor(6)];

describe('decideRenewal', () => {
  it.each(rows)('$lifetime-day certificate: $name → $reason', (row) => {
    const input: DecideRenewalInput = { now: at(row.now) };
    if (!row.noCertificate) input.certificate = { notBefore: at(0), notAfter: at(row.lifetime) };
    if (row.configChanged) input.configChanged = true;
    if (row.ari) {
      input.ari = {
        selectedTime: at(row.ari.selected),
        windowStart: at(row.ari.start),
        windowEnd: at(row.ari.end),
      };
      if (row.ari.nextCheck !== undefined) input.ari.nextCheckAt = at(row.ari.nextCheck);
    }

    const decision = decideRenewal(input);

    expect(decision.reason).toBe(row.reason);
    expect(decision.renew).toBe(row.reason !== 'not-yet');
    expect(decision.explanation).toMatch(row.explains);
    if (decision.renew === false) {
      expect(decision.renewAt.toISOString()).toBe(at(row.renewAt!).toISOString());
      expect(decision.nextCheckAt.toISOString()).toBe(at(row.nextCheckAt!).toISOString());
      // A "not yet" must name an instant in the future, or the scheduler would spin.
      expect(decision.renewAt.getTime()).toBeGreaterThan(input.now.getTime());
    }
  });

  it.each([
    { name: 'notAfter before notBefore', notBefore: at(10), notAfter: at(1) },
    { name: 'an invalid notAfter', notBefore: at(0), notAfter: new Date(Number.NaN) },
  ])('renews a certificate with $name as an emergency', ({ notBefore, notAfter }) => {
    const decision = decideRenewal({ now: at(1), certificate: { notBefore, notAfter } });
    expect(decision).toMatchObject({ renew: true, reason: 'emergency' });
  });

  it('says how much is left in a sentence an operator can read', () => {
    const decision = decideRenewal({ now: at(61), certificate: { notBefore: at(0), notAfter: at(90) } });
    expect(decision.explanation).toBe(
      '29 days of the 90 days lifetime left, at or below 1/3 (30 days), and no usable ARI window',
    );
  });
});

describe('ratioRenewalTime and emergencyTime', () => {
  it.each([
    { lifetime: 90, ratio: '2025-03-02T00:00:00.000Z', emergency: '2025-03-27T12:00:00.000Z' },
    { lifetime: 45, ratio: '2025-01-31T00:00:00.000Z', emergency: '2025-02-12T18:00:00.000Z' },
    { lifetime: 10, ratio: '2025-01-07T16:00:00.000Z', emergency: '2025-01-10T12:00:00.000Z' },
    { lifetime: 6, ratio: '2025-01-04T00:00:00.000Z', emergency: '2025-01-06T16:48:00.000Z' },
    { lifetime: 1 / 4, ratio: '2025-01-01T03:00:00.000Z', emergency: '2025-01-01T05:42:00.000Z' },
  ])('a $lifetime-day certificate issued 2025-01-01 renews at $ratio, floor $emergency', (row) => {
    expect(ratioRenewalTime(at(0), at(row.lifetime)).toISOString()).toBe(row.ratio);
    expect(emergencyTime(at(0), at(row.lifetime)).toISOString()).toBe(row.emergency);
  });
});

describe('decideRenewal: a deferral (rate limit Retry-After)', () => {
  const ninety = { notBefore: at(0), notAfter: at(90) };
  it.each<{
    name: string;
    now: number;
    until: number;
    certificate?: typeof ninety;
    configChanged?: true;
    reason: 'deferred' | 'emergency';
    renewAt?: number;
    explains: RegExp;
  }>([
    {
      name: 'past the ratio, deferred for two more days',
      now: 70,
      until: 72,
      certificate: ninety,
      reason: 'deferred',
      renewAt: 72,
      explains: /^The CA asked us to wait until 2025-03-14T00:00:00.000Z \(too many certificates\)$/,
    },
    {
      name: 'deferred past the emergency floor: waits only until the floor',
      now: 70,
      until: 200,
      certificate: ninety,
      reason: 'deferred',
      renewAt: 85.5,
      explains: /emergency floor at 2025-03-27T12:00:00.000Z comes first/,
    },
    {
      name: 'at the emergency floor, however long the deferral',
      now: 86,
      until: 200,
      certificate: ninety,
      reason: 'emergency',
      explains: /emergency floor/,
    },
    {
      name: 'expired, however long the deferral',
      now: 91,
      until: 200,
      certificate: ninety,
      reason: 'emergency',
      explains: /expired at/,
    },
    {
      name: 'the entry changed, but the CA said wait: the new order would hit the same limit',
      now: 10,
      until: 11,
      certificate: ninety,
      configChanged: true,
      reason: 'deferred',
      renewAt: 11,
      explains: /wait until/,
    },
    {
      name: 'the entry changed and the floor came: emergency wins',
      now: 86,
      until: 200,
      certificate: ninety,
      configChanged: true,
      reason: 'emergency',
      explains: /emergency floor/,
    },
    {
      name: 'no certificate yet (the first order was rate limited)',
      now: 10,
      until: 10.5,
      reason: 'deferred',
      renewAt: 10.5,
      explains: /wait until/,
    },
  ])('$name → $reason', (row) => {
    const decision = decideRenewal({
      now: at(row.now),
      ...(row.certificate ? { certificate: row.certificate } : {}),
      ...(row.configChanged ? { configChanged: true } : {}),
      deferral: { until: at(row.until), why: 'too many certificates' },
    });
    expect(decision.reason).toBe(row.reason);
    expect(decision.explanation).toMatch(row.explains);
    if (decision.renew === false) {
      expect(decision.renewAt.toISOString()).toBe(at(row.renewAt!).toISOString());
      expect(decision.nextCheckAt.toISOString()).toBe(at(row.renewAt!).toISOString());
    }
  });

  it('an unreadable deferral instant is ignored rather than honoured forever', () => {
    const decision = decideRenewal({
      now: at(70),
      certificate: ninety,
      deferral: { until: new Date(Number.NaN) },
    });
    expect(decision).toMatchObject({ renew: true, reason: 'ratio' });
  });
});
