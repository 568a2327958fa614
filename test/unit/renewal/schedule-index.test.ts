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
  const v3 = {
    version: 3,
    updatedAt: NOW.toISOString(),
    inventory: { etag: '"e1"', rules: INVENTORY_RULES, parsedAt: NOW.toISOString(), problems: [] },
    ids: ['a', 'b'],
    hashes: ['ha', 'hb'],
    lookAt: [ms(1), LOOK_NOW],
    notAfter: [ms(900), null],
    notBefore: [ms(900 - 6 * 24), null],
    ariAt: [ms(6), null],
  };

  it('reads back what it wrote, the certificates’ start of validity included', () => {
    expect(parseScheduleIndex(JSON.parse(JSON.stringify(v3)))).toEqual(v3);
  });

  it.each([
    ['nothing', undefined],
    ['another version', { ...v3, version: 4 }],
    ['columns of different lengths', { ...v3, hashes: ['ha'] }],
    ['a notBefore column of another length', { ...v3, notBefore: [null] }],
    ['a version 3 index without its notBefore column', { ...v3, notBefore: undefined }],
    ['a time that is not a number', { ...v3, lookAt: [ms(1), 'soon'] }],
    ['a notBefore that is not a number', { ...v3, notBefore: [ms(1), 'yesterday'] }],
    ['an id that is not a string', { ...v3, ids: ['a', 7] }],
    [
      'a version 1 index whose entry has no hash',
      { version: 1, updatedAt: at(0), entries: { a: { lookAt: at(1) } } },
    ],
  ])('rebuilds from nothing when the stored index is %s', (_name, value) => {
    expect(parseScheduleIndex(value)).toBeUndefined();
  });

  it('a damaged inventory record costs a full inventory parse, not the rows', () => {
    const parsed = parseScheduleIndex({ ...v3, inventory: { etag: 5 } });
    expect(parsed?.inventory).toBeUndefined();
    expect(parsed?.ids).toEqual(['a', 'b']);
  });

  it('an index of version 2 (no notBefore) is read as it is, every lifetime unknown: no rebuild', () => {
    const { notBefore: _notBefore, ...v2 } = { ...v3, version: 2 };
    expect(parseScheduleIndex(JSON.parse(JSON.stringify(v2)))).toEqual({ ...v3, notBefore: [null, null] });
  });

  it('an index of the first version (one object per certificate) is read, with no inventory record', () => {
    const v1 = {
      version: 1,
      updatedAt: NOW.toISOString(),
      entries: {
        a: { configHash: 'ha', lookAt: at(1), notAfter: at(900) },
        b: { configHash: 'hb', lookAt: at(2) },
      },
    };
    expect(parseScheduleIndex(JSON.parse(JSON.stringify(v1)))).toEqual({
      version: 3,
      updatedAt: NOW.toISOString(),
      ids: ['a', 'b'],
      hashes: ['ha', 'hb'],
      lookAt: [ms(1), ms(2)],
      notAfter: [ms(900), null],
      notBefore: [null, null],
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
      notBefore: [ms(-44), ms(50), null, null],
      ariAt: [ms(5), ms(6), ms(7), null],
    };
    const checked = new Map([
      ['b', { configHash: 'hb2', lookAt: ms(40), notAfter: ms(400), notBefore: ms(256), ariAt: ms(8) }],
    ]);
    const roster = { ids: ['a', 'b', 'c', 'new'], hashes: ['ha', 'hb2', 'hc2', 'hn'] };
    const next = nextScheduleIndex(previous, checked, roster, NOW, undefined);
    expect(next).toMatchObject({
      ids: ['a', 'b', 'c', 'new'],
      hashes: ['ha', 'hb2', 'hc2', 'hn'],
      // c changed in the inventory but was not checked (a spent budget): the next pass looks at it at once.
      lookAt: [ms(10), ms(40), LOOK_NOW, LOOK_NOW],
      notAfter: [ms(100), ms(400), ms(300), null],
      // c's lifetime stays unknown (a row of a version 2 index) until a check writes it.
      notBefore: [ms(-44), ms(256), null, null],
      ariAt: [ms(5), ms(8), null, null],
    });
  });
});
