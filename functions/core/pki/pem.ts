import { AcmeAwsError } from '../errors';

/** One decoded PEM block: its label (e.g. `CERTIFICATE`) and the DER bytes it carries. */
export interface PemBlock {
  readonly label: string;
  readonly der: Uint8Array<ArrayBuffer>;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes every PEM block in `text`, in order; text between blocks is ignored.
 *
 * @see RFC 7468 §2: "Data before the encapsulation boundaries are permitted, and parsers MUST NOT malfunction when
 *   processing such data." Encapsulated headers (RFC 1421 `Proc-Type`) are not base64 and are rejected.
 * @throws AcmeAwsError `pki-invalid` naming the block (never its content) when a block is malformed.
 */
export function decodePem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, label = '', body = '', endLabel = ''] = match;
    const position = blocks.length + 1;
    if (label !== endLabel) {
      throw new AcmeAwsError(
        'pki-invalid',
        `PEM block ${position} begins as "${label}" but ends as "${endLabel}"`,
      );
    }
    const base64 = body.replace(/\s+/g, '');
    if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64.test(base64)) {
      throw new AcmeAwsError('pki-invalid', `PEM block ${position} ("${label}") is not valid base64`);
    }
    blocks.push({ label, der: fromBase64(base64) });
  }
  return blocks;
}

/**
 * Encodes DER bytes as one PEM block with 64-character lines and a trailing newline.
 *
 * @see RFC 7468 §2: generators "MUST wrap the base64-encoded lines so that each line consists of exactly 64
 *   characters except for the final line".
 */
export function encodePem(label: string, der: Uint8Array): string {
  const base64 = toBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

// atob/btoa exist in every runtime the core targets (Node 20, Lambda, browsers), unlike Buffer.
function fromBase64(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  // Chunked so large inputs do not exceed the engine's argument limit.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
