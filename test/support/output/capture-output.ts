type Write = (chunk: unknown, ...rest: unknown[]) => boolean;

/** The text of one `write(chunk, encoding?)` call, whatever the chunk type. */
export function textOfChunk(chunk: unknown, encoding?: unknown): string {
  if (typeof chunk === 'string') {
    return typeof encoding === 'string' && Buffer.isEncoding(encoding) && encoding !== 'utf8'
      ? Buffer.from(chunk, encoding).toString('utf8')
      : chunk;
  }
  if (chunk instanceof Uint8Array) return Buffer.from(chunk).toString('utf8');
  return String(chunk);
}

/**
 * Replaces `stream.write` so every chunk goes to `sink` as text instead of the file descriptor; the write
 * reports success and calls its callback as a stream would. Returns a function that puts the original back.
 *
 * The test setup uses it to send what the handlers write to stdout and stderr (Powertools Logger and Metrics
 * write there through their own `Console`, not through `console`) into vitest's per-test console capture.
 */
export function redirectWrites(stream: NodeJS.WriteStream, sink: (text: string) => void): () => void {
  const original = stream.write;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    sink(textOfChunk(chunk, typeof rest[0] === 'string' ? rest[0] : undefined));
    const callback = rest.find((arg): arg is () => void => typeof arg === 'function');
    if (callback) process.nextTick(callback);
    return true;
  }) as typeof stream.write;
  return () => {
    stream.write = original;
  };
}

/**
 * Captures everything written to stdout and stderr (Powertools logs, metrics) while still passing it on,
 * so a test can read what the handlers wrote (a `RenewalFailed` metric, a log line) or prove what they did not.
 */
export function captureOutput(): { text(): string; stop(): void } {
  const chunks: string[] = [];
  const originals = {
    out: process.stdout.write.bind(process.stdout) as Write,
    err: process.stderr.write.bind(process.stderr) as Write,
  };
  const tap =
    (original: Write) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      chunks.push(textOfChunk(chunk, rest[0]));
      return original(chunk, ...rest);
    };
  process.stdout.write = tap(originals.out) as typeof process.stdout.write;
  process.stderr.write = tap(originals.err) as typeof process.stderr.write;
  return {
    text: () => chunks.join(''),
    stop() {
      process.stdout.write = originals.out as typeof process.stdout.write;
      process.stderr.write = originals.err as typeof process.stderr.write;
    },
  };
}

/**
 * The lines `run` writes to stdout (Powertools log lines and EMF documents), kept from the terminal: what a unit
 * test of a handler's telemetry reads.
 */
export async function stdoutLines(run: () => unknown): Promise<string[]> {
  let text = '';
  const restore = redirectWrites(process.stdout, (chunk) => {
    text += chunk;
  });
  try {
    await run();
  } finally {
    restore();
  }
  return text.split('\n').filter((line) => line !== '');
}
