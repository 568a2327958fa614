import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every relative import of every tracked TypeScript file outside test/, resolved against the repository root. */
function shippedImports(): Array<{ file: string; target: string }> {
  const files = execFileSync('git', ['ls-files', '*.ts', '*.mjs'], { encoding: 'utf8' })
    .split('\n')
    .filter((f) => f !== '' && !f.startsWith('test/'));
  const found: Array<{ file: string; target: string }> = [];
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      found.push({ file, target: normalize(join(dirname(file), match[1]!)) });
    }
  }
  return found;
}

describe('the repository layout', () => {
  it('reads relative imports from the product folders (a check that finds none would prove nothing)', () => {
    expect(shippedImports().filter((i) => i.target.startsWith('testbed/')).length).toBeGreaterThan(0);
  });

  it('never lets shipped code, the demo, the benchmarks or the scripts import the test tree', () => {
    const offenders = shippedImports().filter((i) => i.target === 'test' || i.target.startsWith('test/'));
    expect(offenders).toEqual([]);
  });
});
