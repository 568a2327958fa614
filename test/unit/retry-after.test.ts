import { describe, expect, it } from 'vitest';
import {
  clampInstant,
  clampRateLimitRetryAfter,
  parseRetryAfter,
  RATE_LIMIT_MAX_DEFERRAL_MS,
} from '../../functions/core/retry-after';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const plus = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);

describe('parseRetryAfter', () => {
  it.each<[string, string | null | undefined, Date | undefined]>([
    ['absent (null)', null, undefined],
    ['absent (undefined)', undefined, undefined],
    ['empty', '', undefined],
    ['zero seconds', '0', NOW],
    ['delay-seconds', '120', plus(120)],
    ['delay-seconds with surrounding spaces', '  30 ', plus(30)],
    ['one day of seconds', '86400', plus(86_400)],
    ['negative seconds', '-5', undefined],
    ['fractional seconds', '1.5', undefined],
    ['seconds with a unit', '10s', undefined],
    ['a delay too large for a Date', '9007199254740991', undefined],
    ['a delay beyond safe integers', '99999999999999999999', undefined],
    ['an IMF-fixdate in the future', 'Sun, 01 Jun 2025 13:30:00 GMT', new Date('2025-06-01T13:30:00.000Z')],
    ['an IMF-fixdate in the past', 'Wed, 21 Oct 2015 07:28:00 GMT', new Date('2015-10-21T07:28:00.000Z')],
    ['an obsolete RFC 850 date', 'Sunday, 06-Nov-94 08:49:37 GMT', new Date('1994-11-06T08:49:37.000Z')],
    [
      "an obsolete asctime date (UTC, not the machine's zone)",
      'Sun Nov  6 08:49:37 1994',
      new Date('1994-11-06T08:49:37.000Z'),
    ],
    ['an ISO timestamp (not an HTTP-date)', '2025-06-01T13:30:00Z', undefined],
    ['a date without GMT', 'Sun, 01 Jun 2025 13:30:00', undefined],
    ['a date with an impossible day', 'Sun, 99 Jun 2025 13:30:00 GMT', undefined],
    ['words', 'soon', undefined],
  ])('%s: %j', (_, header, expected) => {
    expect(parseRetryAfter(header, NOW)).toEqual(expected);
  });
});

describe('clampInstant', () => {
  const MIN = 1_000;
  const MAX = 60_000;
  it.each<[string, Date, Date]>([
    ['inside the range is kept', plus(30), plus(30)],
    ['exactly the minimum is kept', plus(1), plus(1)],
    ['exactly the maximum is kept', plus(60), plus(60)],
    ['now is raised to the minimum (no hot loop)', NOW, plus(1)],
    ['the past is raised to the minimum', plus(-3600), plus(1)],
    ['far future is lowered to the maximum (the server cannot silence us)', plus(86_400 * 365), plus(60)],
  ])('%s', (_, at, expected) => {
    expect(clampInstant(at, NOW, MIN, MAX)).toEqual(expected);
  });

  it('returns a new instant rather than the argument', () => {
    const at = plus(30);
    expect(clampInstant(at, NOW, MIN, MAX)).not.toBe(at);
  });
});

describe('clampRateLimitRetryAfter', () => {
  const WEEK = RATE_LIMIT_MAX_DEFERRAL_MS / 1000;
  it.each<[string, Date, Date]>([
    ["an hour (Let's Encrypt's usual) is kept", plus(3600), plus(3600)],
    ['exactly a week is kept', plus(WEEK), plus(WEEK)],
    ['Retry-After: 99999999 (three years) becomes a week', parseRetryAfter('99999999', NOW)!, plus(WEEK)],
    ['the past becomes now', plus(-60), NOW],
  ])('%s', (_, at, expected) => {
    expect(clampRateLimitRetryAfter(at, NOW)).toEqual(expected);
  });
});
