import { beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../../functions/core/errors';
import { decodePem, encodePem, joinPem, splitPemChain } from '../../../functions/core/pki';
import { buildTestChain, type TestChain } from './fixtures';

let chain: TestChain;
beforeAll(async () => {
  chain = await buildTestChain();
});

function thrownBy(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('splitPemChain', () => {
  it('splits a fullchain into normalised blocks, in order', () => {
    expect(splitPemChain(chain.fullchainPem)).toEqual([chain.leaf.pem, chain.intermediate.pem]);
    expect(joinPem(splitPemChain(chain.fullchainPem))).toBe(chain.fullchainPem);
  });

  it('normalises CRLF, blank lines, re-wrapped base64 and explanatory text', () => {
    const rewrap = (pem: string) => {
      const body = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
      return `-----BEGIN CERTIFICATE-----\r\n${body.match(/.{1,76}/g)?.join('\r\n')}\r\n-----END CERTIFICATE-----`;
    };
    const messy = `subject=CN=example.test\r\n${rewrap(chain.leaf.pem)}\r\n\r\n\r\nissuer\n${rewrap(chain.intermediate.pem)}`;
    expect(splitPemChain(messy)).toEqual([chain.leaf.pem, chain.intermediate.pem]);
  });

  it('returns no blocks for text without PEM', () => {
    expect(splitPemChain('')).toEqual([]);
  });

  it.each([
    {
      name: 'a private key in the chain',
      pem: () => chain.leaf.pem + chain.leaf.privateKeyPem,
      message: /"PRIVATE KEY"/,
    },
    {
      name: 'mismatched boundaries',
      pem: () => chain.leaf.pem.replace('END CERTIFICATE', 'END X509 CRL'),
      message: /begins as "CERTIFICATE" but ends as "X509 CRL"/,
    },
    {
      name: 'broken base64',
      pem: () => '-----BEGIN CERTIFICATE-----\nMII*\n-----END CERTIFICATE-----\n',
      message: /not valid base64/,
    },
    {
      name: 'trailing bytes after the certificate',
      pem: () => encodePem('CERTIFICATE', new Uint8Array([0x30, 0x00, 0x00])),
      message: /does not hold one DER-encoded certificate/,
    },
  ])('rejects $name', ({ pem, message }) => {
    const error = thrownBy(() => splitPemChain(pem()));
    expect(hasCode(error, 'pki-invalid')).toBe(true);
    expect(error.message).toMatch(message);
  });
});

describe('encodePem / decodePem', () => {
  it.each([0, 1, 47, 48, 49, 100, 70_000])('round-trips %i bytes with 64-character lines', (length) => {
    const der = Uint8Array.from({ length }, (_, index) => (index * 31) % 256);
    const pem = encodePem('TEST DATA', der);
    for (const line of pem.trimEnd().split('\n').slice(1, -1)) expect(line.length).toBeLessThanOrEqual(64);
    if (length === 0) {
      expect(() => decodePem(pem)).toThrow(/not valid base64/);
      return;
    }
    expect(decodePem(pem)).toEqual([{ label: 'TEST DATA', der }]);
  });
});
