import { describe, expect, it } from 'vitest';
import { parseRenewalInfo } from '../../../functions/core/ari';
import { hasCode } from '../../../functions/core/errors';

const window = (start: unknown, end: unknown) => ({ suggestedWindow: { start, end } });

describe('parseRenewalInfo', () => {
  it.each([
    {
      name: 'the RFC 9773 §4.2 example',
      body: {
        suggestedWindow: { start: '2021-01-03T00:00:00Z', end: '2021-01-07T00:00:00Z' },
        explanationURL: 'https://example.com/docs/ari',
      },
      start: '2021-01-03T00:00:00.000Z',
      end: '2021-01-07T00:00:00.000Z',
      explanationUrl: 'https://example.com/docs/ari',
    },
    {
      name: 'offsets and fractional seconds (Go emits nanoseconds)',
      body: window('2025-06-01T12:00:00.5+02:00', '2025-06-03T00:00:00.123456789Z'),
      start: '2025-06-01T10:00:00.500Z',
      end: '2025-06-03T00:00:00.123Z',
      explanationUrl: undefined,
    },
    {
      name: 'a window wholly in the past (a revoked certificate) is still valid',
      body: window('2020-01-01T00:00:00Z', '2020-01-01T01:00:00Z'),
      start: '2020-01-01T00:00:00.000Z',
      end: '2020-01-01T01:00:00.000Z',
      explanationUrl: undefined,
    },
    {
      name: 'unknown fields are ignored',
      body: { ...window('2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z'), futureField: { a: 1 } },
      start: '2025-01-01T00:00:00.000Z',
      end: '2025-01-02T00:00:00.000Z',
      explanationUrl: undefined,
    },
    {
      name: 'an http explanationURL is kept',
      body: {
        ...window('2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z'),
        explanationURL: 'http://ca.test/ari',
      },
      start: '2025-01-01T00:00:00.000Z',
      end: '2025-01-02T00:00:00.000Z',
      explanationUrl: 'http://ca.test/ari',
    },
    ...['javascript:alert(1)', 'file:///etc/passwd', 'not a url', 42, null, ''].map((explanationURL) => ({
      name: `explanationURL ${JSON.stringify(explanationURL)} is dropped, the window kept`,
      body: { ...window('2025-01-01T00:00:00Z', '2025-01-02T00:00:00Z'), explanationURL },
      start: '2025-01-01T00:00:00.000Z',
      end: '2025-01-02T00:00:00.000Z',
      explanationUrl: undefined,
    })),
  ])('accepts $name', ({ body, start, end, explanationUrl }) => {
    const info = parseRenewalInfo(body);
    expect(info.window.start.toISOString()).toBe(start);
    expect(info.window.end.toISOString()).toBe(end);
    expect(info.explanationUrl).toBe(explanationUrl);
    expect('explanationUrl' in info).toBe(explanationUrl !== undefined);
  });

  it.each([
    { name: 'null', body: null, message: /not a valid RenewalInfo/ },
    { name: 'a string', body: 'soon', message: /not a valid RenewalInfo/ },
    { name: 'an array', body: [], message: /not a valid RenewalInfo/ },
    { name: 'an empty object', body: {}, message: /suggestedWindow/ },
    {
      name: 'a window without end',
      body: { suggestedWindow: { start: '2025-01-01T00:00:00Z' } },
      message: /end/,
    },
    { name: 'an unparseable start', body: window('tomorrow', '2025-01-02T00:00:00Z'), message: /start/ },
    { name: 'a numeric start', body: window(1735689600, '2025-01-02T00:00:00Z'), message: /start/ },
    {
      name: 'a timestamp without zone',
      body: window('2025-01-01T00:00:00', '2025-01-02T00:00:00Z'),
      message: /start/,
    },
    {
      name: 'an impossible date',
      body: window('2025-02-30T00:00:00Z', '2025-03-02T00:00:00Z'),
      message: /start/,
    },
    {
      name: 'end equal to start',
      body: window('2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z'),
      message: /at or before/,
    },
    {
      name: 'end before start',
      body: window('2025-01-02T00:00:00Z', '2025-01-01T00:00:00Z'),
      message: /at or before/,
    },
    {
      name: 'end before start across offsets',
      body: window('2025-01-01T12:00:00+00:00', '2025-01-01T13:00:00+02:00'),
      message: /at or before/,
    },
  ])('rejects $name with ari-invalid', ({ body, message }) => {
    let thrown: unknown;
    try {
      parseRenewalInfo(body);
    } catch (error) {
      thrown = error;
    }
    expect(hasCode(thrown, 'ari-invalid')).toBe(true);
    expect((thrown as Error).message).toMatch(message);
  });
});
