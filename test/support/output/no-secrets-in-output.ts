import nodeConsole from 'node:console';
import { afterAll } from 'vitest';
import { redirectWrites } from './capture-output';

// Loaded before every test file of every project. Two jobs:
// 1. Whatever the code under test writes (Powertools logs and metrics, console, progress lines) is kept and
//    scanned when the file ends: key material must never reach a log.
// 2. Writes to process.stdout/stderr go through vitest's console, which keeps them per test; with
//    `silent: 'passed-only'` a green run prints none of them and a failing test shows its own. What is shown
//    has key material redacted; what is scanned is the raw text.
export const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a PEM private key block'],
  [/"d"\s*:\s*"[A-Za-z0-9_-]{16,}"/, 'a JWK private exponent ("d")'],
];

/** Names the kinds of key material found in `text`. */
export function findSecrets(text: string): string[] {
  return SECRET_PATTERNS.filter(([pattern]) => pattern.test(text)).map(([, what]) => what);
}

/** `text` with every PEM private key block (to its END line, or to the end of the text) and JWK `d` blanked. */
export function redactSecrets(text: string): string {
  return text
    .replace(
      /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)/g,
      '[private key redacted]',
    )
    .replace(/("d"\s*:\s*")[A-Za-z0-9_-]{16,}"/g, '$1[redacted]"');
}

const seen: string[] = [];

/** Everything this test file has written so far, captured or not (what the guard scans). */
export function outputSeen(): string {
  return seen.join('');
}

const shown = (text: string) => (findSecrets(text).length > 0 ? redactSecrets(text) : text);
// vitest replaces the global console with one that reports to the test runner; node:console is the process's own.
const intercepted = globalThis.console !== nodeConsole;
const toVitest = { stdout: console.log.bind(console), stderr: console.error.bind(console) };

for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    const text = args.map((a) => (typeof a === 'string' ? a : (JSON.stringify(a) ?? String(a)))).join(' ');
    seen.push(text);
    if (findSecrets(text).length > 0) original(redactSecrets(text));
    else original(...args);
  };
}

for (const name of ['stdout', 'stderr'] as const) {
  const stream = process[name];
  if (intercepted) {
    // Console.log ends every line with a newline; a write already carries its own.
    redirectWrites(stream, (text) => {
      seen.push(text);
      toVitest[name](shown(text).replace(/\n$/, ''));
    });
  } else {
    // vitest runs with console interception off: pass writes through, still scanning them.
    const original = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    redirectWrites(stream, (text) => {
      seen.push(text);
      original(shown(text));
    });
  }
}

afterAll(() => {
  const found = findSecrets(outputSeen());
  if (found.length > 0) {
    throw new Error(
      `this test file wrote ${found.join(' and ')} to its output; key material must never be logged`,
    );
  }
});
