import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../../functions/core/contracts/events';
import type { AriState, CertificateState } from '../../../functions/core/renewal/state';
import { ariWindowMove, windowMovedDetail } from '../../../functions/core/renewal/window-moved';

const CERT_ID = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';
const ari = (over: Partial<AriState> = {}): AriState => ({
  certId: CERT_ID,
  windowStart: '2026-01-20T00:00:00.000Z',
  windowEnd: '2026-01-22T00:00:00.000Z',
  selectedTime: '2026-01-21T03:00:00.000Z',
  nextCheckAt: '2025-12-01T18:00:00.000Z',
  checkedAt: '2025-12-01T12:00:00.000Z',
  ...over,
});
const state = (a: AriState | undefined): CertificateState =>
  ({
    version: 1,
    id: 'www',
    acm: {},
    retiredAcmArns: [],
    failures: 0,
    ...(a ? { ari: a } : {}),
  }) as CertificateState;

const moved = ari({
  windowStart: '2025-12-01T11:00:00Z',
  windowEnd: '2025-12-01T12:00:00Z',
  selectedTime: '2025-12-01T11:20:00Z',
  explanationUrl: 'https://ca.example/incidents/42',
});

describe('ariWindowMove', () => {
  it.each([
    ['the first ARI answer (nothing stored)', state(undefined), state(ari())],
    ['no state before at all', undefined, state(ari())],
    [
      'a window unchanged (only the next check moved)',
      state(ari()),
      state(ari({ nextCheckAt: '2025-12-02T00:00:00Z' })),
    ],
    [
      'the same instants written differently',
      state(ari()),
      state(ari({ windowStart: '2026-01-20T00:00:00Z' })),
    ],
    [
      'the first answer for a new certificate (another certID)',
      state(ari()),
      state({ ...moved, certId: 'other.AA' }),
    ],
    ['an ARI failure that dropped the window', state(ari()), state(undefined)],
  ])('is no move for %s', (_, before, after) => {
    expect(ariWindowMove(before, after)).toBeUndefined();
  });

  it('carries the old and new window, the explanationURL and the new selected time when the CA moved it', () => {
    const move = ariWindowMove(state(ari()), state(moved));
    expect(move).toEqual({
      certId: CERT_ID,
      previous: { start: '2026-01-20T00:00:00.000Z', end: '2026-01-22T00:00:00.000Z' },
      window: { start: '2025-12-01T11:00:00Z', end: '2025-12-01T12:00:00Z' },
      explanationUrl: 'https://ca.example/incidents/42',
      selectedTime: '2025-12-01T11:20:00Z',
    });
    expect(parseEvent('ARI Window Moved', windowMovedDetail('www', move!)).detail).toMatchObject({
      id: 'www',
      explanationUrl: 'https://ca.example/incidents/42',
    });
  });

  it('says null, not nothing, when the CA gave no explanationURL', () => {
    const move = ariWindowMove(state(ari()), state({ ...moved, explanationUrl: undefined }));
    expect(windowMovedDetail('www', move!).explanationUrl).toBeNull();
  });
});
