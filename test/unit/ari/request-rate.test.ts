import { describe, expect, it } from 'vitest';
import { perKeyTokenBuckets } from '../../../functions/core/ari';

/** A virtual clock whose sleep moves time on, recording when each request left. */
function virtualTime() {
  let now = 0;
  return {
    nowMs: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('perKeyTokenBuckets', () => {
  it('lets the burst leave at once, then one request per interval', async () => {
    const time = virtualTime();
    const rate = perKeyTokenBuckets({ perSecond: 10, burst: 3, ...time });
    const left: number[] = [];
    for (let i = 0; i < 6; i++) {
      await rate.acquire('https://ca.test/renewalInfo');
      left.push(time.nowMs());
    }
    expect(left).toEqual([0, 0, 0, 100, 200, 300]);
  });

  it('never sends more than the burst plus the rate in any second, however many wait at once', async () => {
    const waits: number[] = [];
    // The clock stands still: 1,000 checks ask at the same instant, each sleeps until its own reserved slot.
    const rate = perKeyTokenBuckets({
      perSecond: 200,
      burst: 20,
      nowMs: () => 0,
      sleep: async (ms) => void waits.push(ms),
    });
    await Promise.all(Array.from({ length: 1_000 }, () => rate.acquire('ca')));
    const departures = [...Array.from({ length: 1_000 - waits.length }, () => 0), ...waits].sort(
      (x, y) => x - y,
    );
    expect(departures.filter((t) => t === 0)).toHaveLength(20);
    expect(departures.filter((t) => t < 1_000)).toHaveLength(20 + 199);
    // After the burst of 20, the other 980 leave 5 ms apart: the last at 4.9 s.
    expect(departures.at(-1)).toBeCloseTo(980 * 5, 6);
  });

  it('keeps one bucket per CA: a busy CA does not slow another', async () => {
    const time = virtualTime();
    const rate = perKeyTokenBuckets({ perSecond: 1, burst: 1, ...time });
    await rate.acquire('https://a.test/renewalInfo');
    await rate.acquire('https://b.test/renewalInfo');
    expect(time.nowMs()).toBe(0);
    await rate.acquire('https://a.test/renewalInfo');
    expect(time.nowMs()).toBe(1_000);
  });

  it('refills while idle, up to the burst and no further', async () => {
    const time = virtualTime();
    const rate = perKeyTokenBuckets({ perSecond: 10, burst: 2, ...time });
    await rate.acquire('ca');
    await rate.acquire('ca');
    time.advance(10_000);
    const before = time.nowMs();
    await rate.acquire('ca');
    await rate.acquire('ca');
    await rate.acquire('ca');
    expect(time.nowMs() - before).toBe(100);
  });
});
