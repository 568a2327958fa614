/**
 * Captures everything written to stdout and stderr (Powertools logs, console) while still passing it through,
 * so a test can prove that no private key material was ever logged.
 */
export function captureOutput(): { text(): string; stop(): void } {
  const chunks: string[] = [];
  const originals = {
    out: process.stdout.write.bind(process.stdout),
    err: process.stderr.write.bind(process.stderr),
  };
  const tap =
    (original: typeof process.stdout.write) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      return (original as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
    };
  process.stdout.write = tap(originals.out) as typeof process.stdout.write;
  process.stderr.write = tap(originals.err) as typeof process.stderr.write;
  return {
    text: () => chunks.join(''),
    stop() {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}
