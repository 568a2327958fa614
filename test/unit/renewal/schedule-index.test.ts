import { describe, expect, it } from 'vitest';
import type { RenewalDecision } from '../../../functions/core/ari';
import {
  emptyScheduleIndex,
  lookAtAfter,
  MAX_LOOK_AT_MS,
  mustCheck,
  nextScheduleIndex,
  parseScheduleIndex,
} from '../../../functions/core/renewal/schedule-index';

const NOW = new Date('2026-12-01T10:00:00.000Z');
const HOUR = 60 * 60_000;
const at = (hours: number) => new Date(NOW.getTime() + hours * HOUR).toISOString();

describe('mustCheck: a pass reads a state document only when something says so', () => {
  it.each([
    { name: 'no entry yet', entry: undefined, hash: 'h1', marked: false, expected: 'unknown' },
    {
      name: 'the inventory entry changed',
      entry: { configHash: 'h0', lookAt: at(500) },
      hash: 'h1',
      marked: false,
      expected: 'changed-entry',
    },
    {
      name: 'a renewer left a marker',
      entry: { configHash: 'h1', lookAt: at(500) },
      hash: 'h1',
      marked: true,
      expected: 'marked',
    },
    {
      name: 'its time has come',
      entry: { configHash: 'h1', lookAt: at(-1) },
      hash: 'h1',
      marked: false,
      expected: 'due',
    },
    {
      name: 'its time falls before the next pass (lookahead)',
      entry: { configHash: 'h1', lookAt: at(0.5) },
      hash: 'h1',
      marked: false,
      expected: 'due',
    },
    {
      name: 'its time is after the next pass',
      entry: { configHash: 'h1', lookAt: at(1.5) },
      hash: 'h1',
      marked: false,
      expected: undefined,
    },
  ] as const)('$name → $expected', ({ entry, hash, marked, expected }) => {
    expect(mustCheck({ entry, configHash: hash, marked, now: NOW, lookaheadMs: HOUR })).toBe(expected);
  });
});

describe('lookAtAfter: the next look is the decision’s next check, never later than the cap', () => {
  const notYet = (hours: number): RenewalDecision => ({
    renew: false,
    reason: 'not-yet',
    renewAt: new Date(at(hours)),
    nextCheckAt: new Date(at(hours)),
    explanation: 'x',
  });
  it.each([
    [
      'a due certificate is looked at now',
      { renew: true, reason: 'ratio', explanation: 'x' } as RenewalDecision,
      NOW.toISOString(),
    ],
    ['the next ARI refresh in 6 hours', notYet(6), at(6)],
    [
      'a renewal in 200 days is capped at 30',
      notYet(200 * 24),
      new Date(NOW.getTime() + MAX_LOOK_AT_MS).toISOString(),
    ],
  ])('%s', (_name, decision, expected) => {
    expect(lookAtAfter(decision, NOW).toISOString()).toBe(expected);
  });
});

describe('the index as stored', () => {
  it('rebuilds from nothing when the stored index is corrupt or of another version', () => {
    expect(parseScheduleIndex(undefined)).toBeUndefined();
    expect(parseScheduleIndex({ version: 2, updatedAt: NOW.toISOString(), entries: {} })).toBeUndefined();
    expect(
      parseScheduleIndex({ version: 1, updatedAt: NOW.toISOString(), entries: { a: { lookAt: 'soon' } } }),
    ).toBeUndefined();
    const good = {
      version: 1,
      updatedAt: NOW.toISOString(),
      entries: { a: { configHash: 'h', lookAt: at(1) } },
    };
    expect(parseScheduleIndex(JSON.parse(JSON.stringify(good)))).toEqual(good);
  });

  it('keeps unchecked entries, replaces checked ones and drops certificates no longer in the inventory', () => {
    const previous = {
      ...emptyScheduleIndex(NOW),
      entries: {
        a: { configHash: 'ha', lookAt: at(10) },
        b: { configHash: 'hb', lookAt: at(20) },
        gone: { configHash: 'hg', lookAt: at(1) },
      },
    };
    const checked = new Map([['b', { configHash: 'hb2', lookAt: at(30) }]]);
    expect(nextScheduleIndex(previous, checked, ['a', 'b', 'new'], NOW).entries).toEqual({
      a: { configHash: 'ha', lookAt: at(10) },
      b: { configHash: 'hb2', lookAt: at(30) },
    });
  });
});
