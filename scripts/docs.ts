/**
 * `npm run docs`: renders docs/reliability.md and the README's reliability table (between its markers) from the
 * rows the faults suite recorded in .cache/faults/. `--check` writes nothing and fails when the committed files
 * differ from what the records render (scripts/test.sh runs it after a full run).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type MatrixRow,
  RECORDS_DIR,
  readRecords,
  renderReliabilityDoc,
  withReadmeTable,
} from './faults-matrix';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const fail = (message: string): never => {
  process.stderr.write(`${message}\n`);
  process.exit(1);
};

const { rows, missing, untitled } = readRecords();
for (const area of untitled) {
  process.stderr.write(
    `note: area "${area}" is rendered under its bare name; give it a title in AREAS (scripts/faults-matrix.ts)\n`,
  );
}
if (missing.length > 0) {
  fail(
    `no faults record for ${missing.join(', ')} in ${RECORDS_DIR}: run the faults suite first ` +
      '(`npx vitest run --project faults`), then `npm run docs`',
  );
}

/** The lines of `rendered` that `committed` lacks, to show what changed without printing whole files. */
function changedLines(committed: string, rendered: string): string[] {
  const had = new Set(committed.split('\n'));
  return rendered.split('\n').filter((line) => line !== '' && !had.has(line));
}

const targets = [
  { path: 'docs/reliability.md', render: (_: string) => renderReliabilityDoc(rows) },
  { path: 'README.md', render: (text: string) => withReadmeTable(text, rows) },
];
let stale = 0;
let written = 0;
for (const { path, render } of targets) {
  const file = join(root, path);
  const committed = readFileSync(file, 'utf8');
  const rendered = render(committed);
  if (rendered === committed) continue;
  if (!check) {
    writeFileSync(file, rendered);
    written++;
    process.stdout.write(`rendered ${path}\n`);
    continue;
  }
  stale++;
  const what = path === 'README.md' ? 'the reliability table of README.md' : path;
  process.stderr.write(`${what} is stale: run \`npm run docs\` and commit\n`);
  for (const line of changedLines(committed, rendered).slice(0, 5))
    process.stderr.write(`  the run renders: ${line}\n`);
}

const broken = rows.filter((r: MatrixRow) => r.nothingLost === false || r.nothingLeaked === false);
for (const row of broken) process.stderr.write(`note: ${row.area} "${row.scenario}" reads NO\n`);
if (stale > 0) process.exit(1);
if (check) process.stdout.write('docs/reliability.md and the README table match the faults run\n');
else if (written === 0) process.stdout.write('docs/reliability.md and the README table are up to date\n');
