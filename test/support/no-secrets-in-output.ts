import { afterAll } from 'vitest';

// Loaded before every test file of every project: whatever the code under test writes (Powertools logs,
// console, progress lines) is scanned when the file ends. Key material must never reach a log.
export const SECRET_PATTERNS: ReadonlyArray<[RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, 'a PEM private key block'],
  [/"d"\s*:\s*"[A-Za-z0-9_-]{16,}"/, 'a JWK private exponent ("d")'],
];

const seen: string[] = [];
const record = (chunk: unknown) => {
  seen.push(
    typeof chunk === 'string'
      ? chunk
      : chunk instanceof Uint8Array
        ? Buffer.from(chunk).toString('utf8')
        : String(chunk),
  );
};
for (const stream of [process.stdout, process.stderr]) {
  const original = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    record(chunk);
    return original(chunk, ...rest);
  }) as typeof stream.write;
}
for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
  const original = console[level].bind(console);
  console[level] = (...args: unknown[]) => {
    record(args.map((a) => (typeof a === 'string' ? a : (JSON.stringify(a) ?? String(a)))).join(' '));
    original(...args);
  };
}

/** Names the kinds of key material found in `text`. */
export function findSecrets(text: string): string[] {
  return SECRET_PATTERNS.filter(([pattern]) => pattern.test(text)).map(([, what]) => what);
}

afterAll(() => {
  const found = findSecrets(seen.join(''));
  if (found.length > 0) {
    throw new Error(
      `this test file wrote ${found.join(' and ')} to its output; key material must never be logged`,
    );
  }
});
