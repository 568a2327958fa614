import { describe, expect, it } from 'vitest';
import { ariNextCheck } from '../../../functions/core/ari';

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
