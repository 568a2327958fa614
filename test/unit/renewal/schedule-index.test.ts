import { describe, expect, it } from 'vitest';
import type { RenewalDecision } from '../../../functions/core/ari';
import {
  emptyScheduleIndex,
  INVENTORY_RULES,
  LOOK_NOW,
  lookAtAfter,
  MAX_LOOK_AT_MS,
  mustCheck,
  nextScheduleIndex,
  parseScheduleIndex,
} from '../../../functions/core/renewal/schedule-index';

const NOW = new Date('2026-12-01T10:00:00.000Z');
const HOUR = 60 * 60_000;
const at = (hours: number) => new Date(NOW.getTime() + hours * HOUR).toISOString();
const ms = (hours: number) => NOW.getTime() + hours * HOUR;

describe('mustCheck: a pass reads a state document only when something says so', () => {
  it.each([
    { name: 'no entry yet', entry: undefined, hash: 'h1', marked: false, expected: 'unknown' },
    {
      name: 'the inventory entry changed',
      entry: { configHash: 'h0', lookAt: ms(500) },
      hash: 'h1',
      marked: false,
      expected: 'changed-entry',
    },
    {
      name: 'a renewer left a marker',
      entry: { configHash: 'h1', lookAt: ms(500) },
      hash: 'h1',
      marked: true,
      expected: 'marked',
    },
    {
      name: 'its time has come',
      entry: { configHash: 'h1', lookAt: ms(-1) },
      hash: 'h1',
      marked: false,
      expected: 'due',
    },
    {
      name: 'its time falls before the next pass (lookahead)',
      entry: { configHash: 'h1', lookAt: ms(0.5) },
      hash: 'h1',
      marked: false,
      expected: 'due',
    },
    {
      name: 'its time is after the next pass',
      entry: { configHash: 'h1', lookAt: ms(1.5) },
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
  const v2 = {
    version: 2,
    updatedAt: NOW.toISOString(),
    inventory: { etag: '"e1"', rules: INVENTORY_RULES, parsedAt: NOW.toISOString(), problems: [] },
    ids: ['a', 'b'],
    hashes: ['ha', 'hb'],
    lookAt: [ms(1), LOOK_NOW],
    notAfter: [ms(900), null],
    ariAt: [ms(6), null],
  };

  it('reads back what it wrote', () => {
    expect(parseScheduleIndex(JSON.parse(JSON.stringify(v2)))).toEqual(v2);
  });

  it.each([
    ['nothing', undefined],
    ['another version', { ...v2, version: 3 }],
    ['columns of different lengths', { ...v2, hashes: ['ha'] }],
    ['a time that is not a number', { ...v2, lookAt: [ms(1), 'soon'] }],
    ['an id that is not a string', { ...v2, ids: ['a', 7] }],
    [
      'a version 1 index whose entry has no hash',
      { version: 1, updatedAt: at(0), entries: { a: { lookAt: at(1) } } },
    ],
  ])('rebuilds from nothing when the stored index is %s', (_name, value) => {
    expect(parseScheduleIndex(value)).toBeUndefined();
  });

  it('a damaged inventory record costs a full inventory parse, not the rows', () => {
    const parsed = parseScheduleIndex({ ...v2, inventory: { etag: 5 } });
    expect(parsed?.inventory).toBeUndefined();
    expect(parsed?.ids).toEqual(['a', 'b']);
  });

  it('an index of the previous version (one object per certificate) is read, with no inventory record', () => {
    const v1 = {
      version: 1,
      updatedAt: NOW.toISOString(),
      entries: {
        a: { configHash: 'ha', lookAt: at(1), notAfter: at(900) },
        b: { configHash: 'hb', lookAt: at(2) },
      },
    };
    expect(parseScheduleIndex(JSON.parse(JSON.stringify(v1)))).toEqual({
      version: 2,
      updatedAt: NOW.toISOString(),
      ids: ['a', 'b'],
      hashes: ['ha', 'hb'],
      lookAt: [ms(1), ms(2)],
      notAfter: [ms(900), null],
      ariAt: [null, null],
    });
  });

  it('keeps unchecked rows, replaces checked ones, drops what left the inventory, and looks now at what changed', () => {
    const previous = {
      ...emptyScheduleIndex(NOW),
      ids: ['a', 'b', 'c', 'gone'],
      hashes: ['ha', 'hb', 'hc', 'hg'],
      lookAt: [ms(10), ms(20), ms(30), ms(1)],
      notAfter: [ms(100), ms(200), ms(300), null],
      ariAt: [ms(5), ms(6), ms(7), null],
    };
    const checked = new Map([['b', { configHash: 'hb2', lookAt: ms(40), notAfter: ms(400), ariAt: ms(8) }]]);
    const roster = { ids: ['a', 'b', 'c', 'new'], hashes: ['ha', 'hb2', 'hc2', 'hn'] };
    const next = nextScheduleIndex(previous, checked, roster, NOW, undefined);
    expect(next).toMatchObject({
      ids: ['a', 'b', 'c', 'new'],
      hashes: ['ha', 'hb2', 'hc2', 'hn'],
      // c changed in the inventory but was not checked (a spent budget): the next pass looks at it at once.
      lookAt: [ms(10), ms(40), LOOK_NOW, LOOK_NOW],
      notAfter: [ms(100), ms(400), ms(300), null],
      ariAt: [ms(5), ms(8), null, null],
    });
  });
});
