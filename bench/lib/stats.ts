/** Summary statistics of one series of measurements. */
export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p90: number;
  readonly min: number;
  readonly max: number;
}

/**
 * The value at quantile `q` (0..1) by linear interpolation between closest ranks, so a p90 of a short series
 * moves smoothly instead of jumping to the maximum.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const weight = position - lower;
  return sorted[lower]! * (1 - weight) + sorted[upper]! * weight;
}

/** Median, p90, min and max of a series. */
export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    median: quantile(values, 0.5),
    p90: quantile(values, 0.9),
    min: values.length ? Math.min(...values) : Number.NaN,
    max: values.length ? Math.max(...values) : Number.NaN,
  };
}

/** Milliseconds as seconds with two decimals (`1.23 s`), or `n/a`. */
export function seconds(ms: number | undefined): string {
  return ms === undefined || Number.isNaN(ms) ? 'n/a' : `${(ms / 1000).toFixed(2)} s`;
}

/** Kibibytes as mebibytes (`123.4 MiB`), or `n/a`. */
export function mebibytes(kib: number | undefined): string {
  return kib === undefined || Number.isNaN(kib) ? 'n/a' : `${(kib / 1024).toFixed(1)} MiB`;
}

/** A ratio with two decimals (`0.85×`), or `n/a`. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0)
    return 'n/a';
  return `${(a / b).toFixed(2)}×`;
}

/** A GitHub-flavoured Markdown table; also readable as plain text in a terminal. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}
