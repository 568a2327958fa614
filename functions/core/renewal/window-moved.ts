import type { EventDetail } from '../contracts/events';
import type { CertificateState } from './state';

/** A suggested window as stored: RFC 3339 start and end. */
export interface StoredWindow {
  readonly start: string;
  readonly end: string;
}

/** The CA answered another window for the same certificate than the one stored at the last check. */
export interface AriWindowMove {
  readonly certId: string;
  readonly previous: StoredWindow;
  readonly window: StoredWindow;
  /** The CA's `explanationURL` for the new window, when it gave one. */
  readonly explanationUrl?: string;
  /** The renewal time chosen inside the new window. */
  readonly selectedTime: string;
}

/**
 * Whether an ARI refresh moved the certificate's window: both states hold ARI for the same certID and the window
 * differs. A first answer (nothing stored, or ARI of a predecessor certificate) is no move.
 * @see RFC 9773 §4.2: "The server MAY change the suggested window at any time … Clients SHOULD
 *   check for updated windows"
 */
export function ariWindowMove(
  before: CertificateState | undefined,
  after: CertificateState,
): AriWindowMove | undefined {
  const old = before?.ari;
  const now = after.ari;
  if (old === undefined || now === undefined || old.certId !== now.certId) return undefined;
  if (
    Date.parse(old.windowStart) === Date.parse(now.windowStart) &&
    Date.parse(old.windowEnd) === Date.parse(now.windowEnd)
  )
    return undefined;
  return {
    certId: now.certId,
    previous: { start: old.windowStart, end: old.windowEnd },
    window: { start: now.windowStart, end: now.windowEnd },
    ...(now.explanationUrl === undefined ? {} : { explanationUrl: now.explanationUrl }),
    selectedTime: now.selectedTime,
  };
}

/** The `ARI Window Moved` event detail of one move (functions/core/contracts/events.ts). */
export function windowMovedDetail(id: string, move: AriWindowMove): EventDetail<'ARI Window Moved'> {
  return {
    id,
    certId: move.certId,
    previousWindow: move.previous,
    window: move.window,
    explanationUrl: move.explanationUrl ?? null,
    selectedTime: move.selectedTime,
  };
}
