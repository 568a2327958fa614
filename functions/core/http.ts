import { AcmeAwsError, type ErrorCode } from './errors';

/**
 * The HTTP port of the core: the WHATWG `fetch` signature, so Lambda passes the global `fetch` and tests pass one
 * that trusts the local CA or injects faults.
 */
export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** Largest response body the core reads (directory, orders, problems, ARI); certificates have their own bound. */
export const MAX_JSON_BYTES = 64 * 1024;

/**
 * Reads a response body as text, refusing bodies larger than `maxBytes` (a hostile or broken server must not
 * exhaust the Lambda's memory).
 */
export async function readBoundedText(
  response: Response,
  maxBytes: number,
  code: ErrorCode,
  what: string,
): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new AcmeAwsError(
      code,
      `${what} is ${declared} bytes, more than the ${maxBytes} allowed; refusing to read it`,
    );
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new AcmeAwsError(code, `${what} exceeded ${maxBytes} bytes; refusing to read further`);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/** Reads a bounded body and parses it as JSON; the result is `unknown` and must go through a schema. */
export async function readBoundedJson(
  response: Response,
  maxBytes: number,
  code: ErrorCode,
  what: string,
): Promise<unknown> {
  const text = await readBoundedText(response, maxBytes, code, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new AcmeAwsError(code, `${what} is not JSON (HTTP ${response.status}): ${text.slice(0, 120)}`, {
      cause,
    });
  }
}
