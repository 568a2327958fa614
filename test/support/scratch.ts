import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, onTestFinished } from 'vitest';
import { getCurrentTest } from 'vitest/suite';

// Vitest evaluates this module afresh for each test file (isolate), while it collects the file's tests: an
// `afterAll` registered here belongs to that file. One registered later (inside a test or a hook) would be
// dropped silently, so the hook is registered once, now, and every folder made in the file is removed by it;
// registered before any of the file's own hooks, it runs after them (vitest's default sequence.hooks: 'stack').
const made = new Set<string>();
// Loaded by a dynamic import inside a running test, the hook below does not belong to the file: each folder
// is then removed when the test that made it finishes.
const loadedInTest = getCurrentTest() !== undefined;

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
});

/**
 * Makes a fresh folder `<os.tmpdir()>/<prefix>XXXXXX` (as `mkdtempSync`) that is removed, with everything in
 * it, after the calling test file's tests and `afterAll` hooks have finished: call it anywhere (module top
 * level, `describe`, hooks, tests, callbacks of servers the file started), and hand the path to child
 * processes or CDK synthesis freely; it outlives them.
 *
 * Import it statically (directly or through another support module) so that its cleanup hook is registered
 * while vitest collects the file. (Should the file's top level throw, vitest runs none of its hooks: what it
 * made by then is left to scripts/test.sh, which runs the suite in a TMPDIR of its own and removes that.)
 */
export function scratchDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (loadedInTest) onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  else made.add(dir);
  return dir;
}
