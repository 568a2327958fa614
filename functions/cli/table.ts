/** One table cell: a line of text, or several lines stacked in the same row. */
export type Cell = string | readonly string[];

/** Visible width of a string: code points, so `–` or `…` count as one column. */
function width(text: string): number {
  return [...text].length;
}

function pad(text: string, to: number): string {
  return text + ' '.repeat(Math.max(0, to - width(text)));
}

/**
 * Renders rows as a plain-text table with a header rule; cells may span several lines, so long values (names,
 * ARNs) stack instead of widening the table. Trailing spaces are trimmed so the output diffs cleanly.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const lines = (cell: Cell | undefined): readonly string[] =>
    cell === undefined ? [''] : typeof cell === 'string' ? cell.split('\n') : cell.length ? cell : [''];
  const widths = headers.map((header, column) =>
    Math.max(width(header), ...rows.flatMap((row) => lines(row[column]).map(width))),
  );
  const join = (cells: readonly string[]) =>
    cells
      .map((cell, column) => pad(cell, widths[column]!))
      .join('  ')
      .trimEnd();
  const out = [join(headers), join(widths.map((w) => '-'.repeat(w)))];
  for (const row of rows) {
    const split = headers.map((_, column) => lines(row[column]));
    const height = Math.max(...split.map((l) => l.length));
    for (let i = 0; i < height; i++) out.push(join(split.map((l) => l[i] ?? '')));
  }
  return out.join('\n');
}
