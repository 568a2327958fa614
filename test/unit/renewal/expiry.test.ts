import { describe, expect, it } from 'vitest';
import {
  daysToExpiry,
  lifetimeScaledDays,
  REFERENCE_LIFETIME_DAYS,
} from '../../../functions/core/renewal/expiry';

const DAY = 24 * 60 * 60_000;
const NOW = new Date('2026-03-01T12:00:00.000Z');

/** A certificate of `lifetime` days with `left` days to go at NOW (`lifetime` undefined: notBefore unknown). */
const validity = (lifetime: number | undefined, left: number) => {
  const notAfter = NOW.getTime() + left * DAY;
  return lifetime === undefined ? { notAfter } : { notAfter, notBefore: notAfter - lifetime * DAY };
};

// One threshold for every lifetime: 14 days of 90 is 7 of 45 and 0.93 of 6.
describe('daysToExpiry: days left, and scaled to a 90-day lifetime', () => {
  it.each([
    { name: '6-day certificate, 3 days left', lifetime: 6, left: 3, scaled: 45 },
    { name: '6-day certificate, half a day left', lifetime: 6, left: 0.5, scaled: 7.5 },
    { name: '45-day certificate, 10 days left', lifetime: 45, left: 10, scaled: 20 },
    { name: '90-day certificate, 10 days left', lifetime: 90, left: 10, scaled: 10 },
    {
      name: '365-day certificate, 10 days left (never later than a 90-day one)',
      lifetime: 365,
      left: 10,
      scaled: 10,
    },
    { name: 'lifetime unknown (a row of an older index)', lifetime: undefined, left: 3, scaled: 3 },
    { name: '6-day certificate expired a day ago', lifetime: 6, left: -1, scaled: -15 },
    { name: '90-day certificate expired two days ago', lifetime: 90, left: -2, scaled: -2 },
    { name: 'a lifetime of zero is not divided by', lifetime: 0, left: 3, scaled: 3 },
    {
      name: 'a negative lifetime (notBefore after notAfter) is not scaled',
      lifetime: -6,
      left: 3,
      scaled: 3,
    },
  ])('$name → $scaled', ({ lifetime, left, scaled }) => {
    const days = daysToExpiry(validity(lifetime, left), NOW);
    expect(days.days).toBeCloseTo(left, 10);
    expect(days.scaled).toBeCloseTo(scaled, 10);
  });

  it('the default threshold means the same share of each lifetime', () => {
    const threshold = 14;
    for (const lifetime of [6, 45, 90]) {
      const share = (threshold * lifetime) / REFERENCE_LIFETIME_DAYS;
      expect(lifetimeScaledDays(share, lifetime)).toBeCloseTo(threshold, 10);
    }
    expect(lifetimeScaledDays(0.93, 6)).toBeLessThan(threshold);
    expect(lifetimeScaledDays(0.94, 6)).toBeGreaterThan(threshold);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY])('a lifetime of %s counts as unknown', (lifetime) => {
    expect(lifetimeScaledDays(3, lifetime)).toBe(3);
  });
});
