/**
 * Time and randomness enter the pure core through these two ports, so every decision can be tested with a
 * fixed clock and a seeded random source.
 */
export interface Clock {
  /** The current instant. */
  now(): Date;
}

/** A uniform random number in [0, 1). */
export type Random = () => number;

/** Suspends for `ms` milliseconds; injected so polling loops run instantly under test. */
export type Sleep = (ms: number) => Promise<void>;
