import { describe, expect, it } from 'vitest';
import { ariNextCheck, jitterNextCheck } from '../../../functions/core/ari';

const NOW = new Date('2025-01-01T12:00:00.000Z'); // a Wednesday
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('ariNextCheck', () => {
  it.each([
    { header: '21600', after: 6 * HOUR, why: 'delay-seconds as sent (the RFC example)' },
    { header: '3600', after: HOUR, why: 'delay-seconds as sent' },
    { header: ' 7200 ', after: 2 * HOUR, why: 'surrounding whitespace is tolerated' },
    { header: '0', after: MINUTE, why: 'zero is raised to the one-minute floor' },
    { header: '30', after: MINUTE, why: 'under a minute is raised to one minute' },
    { header: '86400', after: DAY, why: 'exactly one day is kept' },
    { header: '99999999', after: DAY, why: 'over a day is capped at one day' },
    { header: '9007199254740991', after: DAY, why: 'too large for a Date is capped at one day' },
    { header: '9'.repeat(40), after: DAY, why: 'beyond a safe integer is capped at one day' },
    { header: 'Wed, 01 Jan 2025 14:00:00 GMT', after: 2 * HOUR, why: 'HTTP-date two hours ahead' },
    {
      header: 'Wed, 01 Jan 2025 11:00:00 GMT',
      after: MINUTE,
      why: 'HTTP-date in the past is raised to a minute',
    },
    {
      header: 'Sat, 04 Jan 2025 12:00:00 GMT',
      after: DAY,
      why: 'HTTP-date three days ahead is capped at a day',
    },
    { header: null, after: 6 * HOUR, why: 'no header means the six-hour default' },
    { header: '', after: 6 * HOUR, why: 'an empty header means the default' },
    { header: 'garbage', after: 6 * HOUR, why: 'garbage means the default' },
    {
      header: '-5',
      after: 6 * HOUR,
      why: 'negative delay-seconds are not valid (RFC 9110) and mean the default',
    },
    { header: '1.5', after: 6 * HOUR, why: 'fractional delay-seconds are not valid and mean the default' },
    { header: '2025-01-01T14:00:00Z', after: 6 * HOUR, why: 'an ISO timestamp is not an HTTP-date' },
  ])('$header → now + $after ms: $why', ({ header, after }) => {
    expect(ariNextCheck(header, NOW).getTime() - NOW.getTime()).toBe(after);
  });
});

describe('jitterNextCheck', () => {
  const inMs = (ms: number) => new Date(NOW.getTime() + ms);
  it.each([
    { interval: 6 * HOUR, random: 0, expected: 6 * HOUR, why: 'a draw of 0 keeps the Retry-After' },
    { interval: 6 * HOUR, random: 0.5, expected: 7.5 * HOUR, why: 'half-way through 6–9 hours' },
    { interval: 6 * HOUR, random: 1, expected: 9 * HOUR, why: 'the top of the span: 1.5 × the interval' },
    {
      interval: HOUR,
      random: 0.5,
      expected: 1.25 * HOUR,
      why: 'a one-hour Retry-After spreads over an hour and a half',
    },
    { interval: 20 * HOUR, random: 1, expected: DAY, why: 'never past the one-day cap' },
    {
      interval: 20 * HOUR,
      random: 0,
      expected: 14 * HOUR,
      why: 'near the cap the 10-hour span moves below it',
    },
    { interval: DAY, random: 0.5, expected: 18 * HOUR, why: 'a capped day spreads over 12–24 hours' },
    { interval: MINUTE, random: 0, expected: MINUTE, why: 'never under the one-minute floor' },
    { interval: 6 * HOUR, random: Number.NaN, expected: 6 * HOUR, why: 'a broken random source counts as 0' },
    { interval: 6 * HOUR, random: 7, expected: 9 * HOUR, why: 'a random above 1 counts as 1' },
  ])('$why', ({ interval, random, expected }) => {
    expect(jitterNextCheck(inMs(interval), NOW, () => random).getTime() - NOW.getTime()).toBe(expected);
  });

  it('asks no random number without jitter, and returns the CA time unchanged', () => {
    let draws = 0;
    const next = inMs(6 * HOUR);
    expect(jitterNextCheck(next, NOW, () => ++draws, 0)).toBe(next);
    expect(draws).toBe(0);
  });

  it('spreads 10,000 certificates refreshed together over the span instead of one instant', () => {
    let seed = 42;
    // A small linear congruential source: the same spread on every run.
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const hours = new Map<number, number>();
    for (let i = 0; i < 10_000; i++) {
      const hour = Math.floor(
        (jitterNextCheck(inMs(6 * HOUR), NOW, random).getTime() - NOW.getTime()) / HOUR,
      );
      hours.set(hour, (hours.get(hour) ?? 0) + 1);
    }
    expect([...hours.keys()].sort()).toEqual([6, 7, 8]);
    for (const count of hours.values()) expect(count).toBeGreaterThan(3_000);
  });
});
