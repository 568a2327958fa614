import type { Random } from '../clock';
import type { RenewalWindow } from './renewal-info';

/** The window a renewal time was drawn from, and the time drawn, as remembered in the state document. */
export type PreviousSelection = { windowStart: Date; windowEnd: Date; selectedTime: Date };

/** Input of {@link selectRenewalTime}. */
export type SelectRenewalTimeInput = {
  window: RenewalWindow;
  previous?: PreviousSelection;
  random: Random;
};

/**
 * Picks the instant to renew at within the CA's suggested window, once per window.
 *
 * The draw is kept while the window is unchanged: re-drawing on every hourly check would make the effective
 * renewal time the earliest of many draws, clustering renewals at the window's start and defeating the CA's
 * load spreading. A moved window (for example a CA pulling it forward before a mass revocation) gets a new draw.
 *
 * @see RFC 9773 §4.2: "The following algorithm is RECOMMENDED for choosing a renewal time: [...] 2. Select a
 *   uniform random time within the suggested window. 3. If the selected time is in the past, attempt renewal
 *   immediately."
 * @returns `previous.selectedTime` when the window is unchanged, otherwise a uniform instant in [start, end).
 */
export function selectRenewalTime(input: SelectRenewalTimeInput): Date {
  const start = input.window.start.getTime();
  const end = input.window.end.getTime();
  const previous = input.previous;
  if (previous !== undefined) {
    const kept = previous.selectedTime.getTime();
    const sameWindow = previous.windowStart.getTime() === start && previous.windowEnd.getTime() === end;
    // A kept time outside its own window can only come from a hand-edited or corrupt state: draw again.
    if (sameWindow && kept >= start && kept < end) return new Date(kept);
  }
  if (!(end > start)) return new Date(start);
  // Clamp so a misbehaving source (returning 1, or NaN) still lands inside the window.
  const r = input.random();
  const fraction = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  const offset = Math.min(Math.floor(fraction * (end - start)), end - start - 1);
  return new Date(start + offset);
}
