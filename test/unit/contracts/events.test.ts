import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  EVENT_DETAIL_SCHEMAS,
  EVENT_DETAIL_TYPES,
  EVENTS_PUBLISHED_BY,
  type EventDetail,
  parseEvent,
} from '../../../functions/core/contracts/events';
import { hasCode } from '../../../functions/core/errors';

const renewed: EventDetail<'Certificate Renewed'> = {
  id: 'www',
  domains: ['www.example.com', '*.example.com'],
  reason: 'ari-window',
  serial: '0a1b2c',
  notAfter: '2026-03-01T00:00:00.000Z',
  replaced: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
  replacesDropped: null,
  acm: { 'us-east-1': 'arn:aws:acm:us-east-1:123456789012:certificate/1' },
};
const failed: EventDetail<'Certificate Renewal Failed'> = {
  id: 'www',
  reason: 'retry',
  code: 'acme-problem',
  error: 'AcmeProblemError: the CA refused the order',
  problem: { type: 'urn:ietf:params:acme:error:rejectedIdentifier', status: 400 },
  failures: 2,
};
const moved: EventDetail<'ARI Window Moved'> = {
  id: 'www',
  certId: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE',
  previousWindow: { start: '2026-01-20T00:00:00Z', end: '2026-01-22T00:00:00Z' },
  window: { start: '2025-12-01T11:00:00Z', end: '2025-12-01T12:00:00Z' },
  explanationUrl: 'https://ca.example/incidents/42',
  selectedTime: '2025-12-01T11:20:00Z',
};

/** The `## \`Type\`` sections of docs/events.md and the `| \`field\` |` rows of each one's table. */
function documentedEvents(): Record<string, string[]> {
  const sections: Record<string, string[]> = {};
  let current: string[] | undefined;
  for (const line of readFileSync('docs/events.md', 'utf8').split('\n')) {
    const heading = /^## `([^`]+)`\s*$/.exec(line);
    if (heading) sections[heading[1]!] = current = [];
    const row = /^\| `([^`]+)` \|/.exec(line);
    if (row && current) current.push(row[1]!);
  }
  return sections;
}

describe('event detail contract', () => {
  it.each([
    ['Certificate Renewed', renewed],
    ['Certificate Renewal Failed', failed],
    ['ARI Window Moved', moved],
  ] as const)('accepts a %s detail as the functions build it', (detailType, detail) => {
    expect(parseEvent(detailType, detail)).toEqual({ detailType, detail });
  });

  it.each([
    ['an unknown detail type', 'Certificate Exploded', renewed, /detailType/],
    [
      'a field no schema defines (a key would be one)',
      'Certificate Renewed',
      { ...renewed, keyPem: 'x' },
      /keyPem/,
    ],
    ['a missing field', 'Certificate Renewal Failed', { ...failed, code: undefined }, /code/],
    ['a timestamp that is not one', 'ARI Window Moved', { ...moved, selectedTime: 'soon' }, /selectedTime/],
    ['a detail of another type', 'ARI Window Moved', renewed, /certId/],
  ])('refuses %s as a bug (event-invalid), naming the field', (_, detailType, detail, field) => {
    expect(() => parseEvent(detailType, detail)).toThrow(field);
    try {
      parseEvent(detailType, detail);
    } catch (error) {
      expect(hasCode(error, 'event-invalid')).toBe(true);
    }
  });

  it('lets each function publish only its own detail types, and every type by some function', () => {
    expect([...EVENTS_PUBLISHED_BY.renewer, ...EVENTS_PUBLISHED_BY.scheduler].sort()).toEqual(
      [...EVENT_DETAIL_TYPES].sort(),
    );
  });

  it('is documented in docs/events.md with exactly these detail types and fields', () => {
    const fromSchema = Object.fromEntries(
      Object.entries(EVENT_DETAIL_SCHEMAS).map(([type, schema]) => [type, Object.keys(schema.shape)]),
    );
    expect(documentedEvents()).toEqual(fromSchema);
  });
});
