import { describe, expect, it } from 'vitest';
import { pollDelayMs, pollUntil } from '../../../functions/core/acme/poll';
import { AcmeAwsError } from '../../../functions/core/errors';

const NOW = new Date('2025-06-01T12:00:00.000Z');

describe('pollDelayMs', () => {
  it.each<[string, string | null, number, number]>([
    ['no Retry-After, first attempt: 1 s', null, 1, 1_000],
    ['no Retry-After, second attempt: 2 s', null, 2, 2_000],
    ['no Retry-After, third attempt: 4 s', null, 3, 4_000],
    ['no Retry-After, fourth attempt: 8 s', null, 4, 8_000],
    ['no Retry-After, fifth attempt: capped at 10 s', null, 5, 10_000],
    ['no Retry-After, 50th attempt: still 10 s', null, 50, 10_000],
    ['attempt 0 is treated as the first', null, 0, 1_000],
    ['Retry-After 3 s', '3', 7, 3_000],
    ['Retry-After 0 is raised to 1 s', '0', 1, 1_000],
    ['Retry-After one hour is lowered to 60 s', '3600', 1, 60_000],
    ['Retry-After as an HTTP-date 20 s ahead', 'Sun, 01 Jun 2025 12:00:20 GMT', 1, 20_000],
    ['Retry-After as an HTTP-date in the past: 1 s', 'Sun, 01 Jun 2025 11:00:00 GMT', 1, 1_000],
    ['malformed Retry-After falls back to the backoff', 'later', 3, 4_000],
  ])('%s', (_, header, attempt, expected) => {
    expect(pollDelayMs(header, attempt, NOW)).toBe(expected);
  });
});

describe('pollUntil', () => {
  function fakeTime() {
    let now = NOW.getTime();
    const sleeps: number[] = [];
    return {
      clock: { now: () => new Date(now) },
      sleep: async (ms: number) => {
        sleeps.push(ms);
        now += ms;
      },
      sleeps,
    };
  }

  it('returns the value once the step is done, sleeping as the server asked in between', async () => {
    const time = fakeTime();
    const answers: Array<{ done: string } | { retryAfter: string | null }> = [
      { retryAfter: '2' },
      { retryAfter: null },
      { done: 'valid' },
    ];
    const result = await pollUntil(
      'order o',
      { clock: time.clock, sleep: time.sleep },
      async () => answers.shift()!,
    );
    expect(result).toBe('valid');
    expect(time.sleeps).toEqual([2_000, 2_000]);
  });

  it('gives up with acme-timeout before sleeping past the budget, saying it will resume', async () => {
    const time = fakeTime();
    let steps = 0;
    const error = await pollUntil('order https://ca.test/o/1', { ...time, timeoutMs: 30_000 }, async () => {
      steps += 1;
      return { retryAfter: '10' };
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeAwsError);
    expect((error as AcmeAwsError).code).toBe('acme-timeout');
    expect((error as Error).message).toBe(
      'order https://ca.test/o/1 did not finish within 30 s; it will be resumed on the next attempt',
    );
    expect(time.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(30_000);
    expect(steps).toBe(4); // at 0, 10, 20 and 30 s: the last one finds the budget spent
  });

  it('lets an error from the step through unchanged', async () => {
    const time = fakeTime();
    const failure = new Error('authorization invalid');
    await expect(pollUntil('x', time, async () => Promise.reject(failure))).rejects.toBe(failure);
  });
});
