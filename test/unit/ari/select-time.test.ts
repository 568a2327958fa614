import { describe, expect, it } from 'vitest';
import { selectRenewalTime } from '../../../functions/core/ari';
import type { Random } from '../../../functions/core/clock';

/** Mulberry32: a tiny seeded PRNG, so every run draws the same sequence. */
function seeded(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const noRandom: Random = () => {
  throw new Error('random must not be drawn when the window is unchanged');
};

const start = new Date('2025-03-01T00:00:00.000Z');
const end = new Date('2025-03-03T00:00:00.000Z');
const window = { start, end };

describe('selectRenewalTime', () => {
  it('keeps the previous selection while the window is unchanged, without drawing', () => {
    const selectedTime = new Date('2025-03-02T07:13:00.000Z');
    const chosen = selectRenewalTime({
      window: { start: new Date(start), end: new Date(end) },
      previous: { windowStart: start, windowEnd: end, selectedTime },
      random: noRandom,
    });
    expect(chosen.toISOString()).toBe(selectedTime.toISOString());
  });

  it('draws uniformly inside [start, end) over many seeded draws', () => {
    const random = seeded(9773);
    const span = end.getTime() - start.getTime();
    const quarters = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const at = selectRenewalTime({ window, random }).getTime();
      expect(at).toBeGreaterThanOrEqual(start.getTime());
      expect(at).toBeLessThan(end.getTime());
      quarters[Math.floor(((at - start.getTime()) / span) * 4)]! += 1;
    }
    // Uniform: each quarter of the window gets about 1000 of 4000 draws, not a cluster at the start.
    for (const count of quarters) expect(count).toBeGreaterThan(850);
  });

  it.each([
    { r: 0, expected: '2025-03-01T00:00:00.000Z' },
    { r: 0.5, expected: '2025-03-02T00:00:00.000Z' },
    { r: 0.9999999999999999, expected: '2025-03-02T23:59:59.999Z' },
    { r: 1, expected: '2025-03-02T23:59:59.999Z' },
    { r: Number.NaN, expected: '2025-03-01T00:00:00.000Z' },
  ])('maps random $r to $expected (never outside the window)', ({ r, expected }) => {
    expect(selectRenewalTime({ window, random: () => r }).toISOString()).toBe(expected);
  });

  it.each([
    {
      name: 'the CA moved the whole window earlier (mass revocation)',
      window: { start: new Date('2025-02-20T00:00:00Z'), end: new Date('2025-02-20T06:00:00Z') },
    },
    { name: 'only the end moved', window: { start, end: new Date('2025-03-04T00:00:00Z') } },
    { name: 'only the start moved', window: { start: new Date('2025-03-01T00:00:01Z'), end } },
  ])('draws again when $name', ({ window: moved }) => {
    const previous = { windowStart: start, windowEnd: end, selectedTime: new Date('2025-03-02T12:00:00Z') };
    let draws = 0;
    const random = seeded(1);
    const at = selectRenewalTime({
      window: moved,
      previous,
      random: () => {
        draws += 1;
        return random();
      },
    });
    expect(draws).toBe(1);
    expect(at.getTime()).toBeGreaterThanOrEqual(moved.start.getTime());
    expect(at.getTime()).toBeLessThan(moved.end.getTime());
  });

  it('draws again when a stored selection lies outside its own window (corrupt state)', () => {
    const at = selectRenewalTime({
      window,
      previous: { windowStart: start, windowEnd: end, selectedTime: new Date('2030-01-01T00:00:00Z') },
      random: () => 0.25,
    });
    expect(at.toISOString()).toBe('2025-03-01T12:00:00.000Z');
  });
});
