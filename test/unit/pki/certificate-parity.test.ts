import { rootCertificates } from 'node:tls';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodePem, type ParsedCertificate, parseCertificateDer, toHex } from '../../../functions/core/pki';
import { keyTypeFromSpki } from '../../../functions/core/pki/key-type';
import { sha256 } from '../../../functions/core/pki/sha256';
import { PRESET_TRUST_ANCHORS } from '../../../functions/core/pki/trust-anchors';
import { x509 } from '../../support/pki/x509';
import { buildTestChain, FIXED, type TestChain } from './fixtures';

// parseCertificateDer reads certificates with node:crypto and the DER reader instead of @peculiar/x509 (which the
// functions now load only to write CSRs). It must give the answer that library gave: this is the old parser, kept
// as the reference, run on every root Node.js trusts, the preset trust anchors, and certificates made to exercise
// what roots rarely have (escaped names, multi-valued RDNs, string types, every SAN kind, far dates).

function hexToBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

/** What parseCertificateDer returned when @peculiar/x509 parsed (functions/core/pki/certificate.ts before). */
function referenceParse(der: Uint8Array): Omit<ParsedCertificate, 'der' | 'pem' | 'serialDer' | 'serialHex'> {
  const cert = new x509.X509Certificate(der.slice());
  const spki = new Uint8Array(cert.publicKey.rawData);
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const sanItems = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const issuerCommonName = cert.issuerName.getField('CN')[0];
  const subjectCommonName = cert.subjectName.getField('CN')[0];
  const keyType = keyTypeFromSpki(spki);
  return {
    ...(aki?.keyId ? { authorityKeyId: hexToBytes(aki.keyId) } : {}),
    ...(ski?.keyId ? { subjectKeyId: hexToBytes(ski.keyId) } : {}),
    dnsNames: sanItems.filter((item) => item.type === 'dns').map((item) => item.value),
    otherSubjectAltNames: sanItems
      .filter((item) => item.type !== 'dns')
      .map((item) => `${item.type}:${item.value}`),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    issuer: cert.issuer,
    ...(issuerCommonName === undefined ? {} : { issuerCommonName }),
    subject: cert.subject,
    ...(subjectCommonName === undefined ? {} : { subjectCommonName }),
    spki,
    spkiSha256: toHex(sha256(spki)),
    ...(keyType === undefined ? {} : { keyType }),
  };
}

function ours(der: Uint8Array) {
  const {
    der: _der,
    pem: _pem,
    serialDer: _serialDer,
    serialHex: _serialHex,
    ...rest
  } = parseCertificateDer(der);
  return rest;
}

const derOf = (pem: string) => decodePem(pem)[0]!.der;

describe('parseCertificateDer gives the answer @peculiar/x509 gave', () => {
  it.each(rootCertificates.map((pem, i) => ({ i, pem })))('Node.js root #$i', ({ pem }) => {
    const der = derOf(pem);
    expect(ours(der)).toEqual(referenceParse(der));
  });

  it.each(
    Object.values(PRESET_TRUST_ANCHORS)
      .flat()
      .map((anchor) => ({ name: anchor.name, pem: anchor.pem })),
  )('preset trust anchor $name', ({ pem }) => {
    const der = derOf(pem);
    expect(ours(der)).toEqual(referenceParse(der));
  });

  let chain: TestChain;
  beforeAll(async () => {
    chain = await buildTestChain();
  });

  it('the test chain (leaf with AKI, SKI and SANs; intermediate; root)', () => {
    for (const cert of [chain.leaf, chain.intermediate, chain.root]) {
      const der = derOf(cert.pem);
      expect(ours(der)).toEqual(referenceParse(der));
    }
  });

  const unusual = async (options: {
    subject: string | x509.JsonName;
    sans?: x509.JsonGeneralNames;
    notBefore?: Date;
    notAfter?: Date;
  }) => {
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: '7f01',
      subject: options.subject,
      issuer: chain.intermediate.cert.subjectName,
      notBefore: options.notBefore ?? FIXED.issued,
      notAfter: options.notAfter ?? FIXED.expires,
      publicKey: chain.leaf.keys.publicKey,
      signingKey: chain.intermediate.keys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: options.sans ? [new x509.SubjectAlternativeNameExtension(options.sans)] : [],
    });
    return new Uint8Array(cert.rawData);
  };

  it.each([
    {
      name: 'characters RFC 4514 escapes',
      subject: [{ CN: ['a,b+c"d\\e<f>g;h'] }, { O: [' leading and trailing '] }],
    },
    // `#…` is DER to the generator: a UTF8String "#hash", and a VisibleString (a type names are not read as text).
    {
      name: 'a leading # and tabs',
      subject: [{ CN: ['#0c052368617368'] }, { OU: ['tab\there\tand\tthere'] }],
    },
    // A VisibleString serialNumber, which OpenSSL (node:crypto) refuses to parse: read as before all the same.
    {
      name: 'a value of another string type',
      subject: [{ CN: ['visible'] }, { '2.5.4.5': ['#1a03414243'] }],
    },
    { name: 'line breaks (only the first is hex-escaped)', subject: [{ CN: ['one\ntwo\rthree'] }] },
    { name: 'a multi-valued RDN', subject: [{ CN: ['multi'], O: ['Org'] }, { C: ['DE'] }] },
    { name: 'non-ASCII UTF-8', subject: [{ CN: ['Zürich Ŝtraße 東京 🙂'] }, { L: ['Köln'] }] },
    {
      name: 'domain components and an e-mail',
      subject: [{ DC: ['example'] }, { DC: ['test'] }, { E: ['ops@example.test'] }],
    },
    {
      name: 'an attribute type without a short name',
      subject: [{ '2.5.4.5': ['SERIAL-42'] }, { '2.5.4.97': ['VATDE-1'] }],
    },
    { name: 'an empty subject', subject: [] as x509.JsonName },
  ])('names with $name', async ({ subject }) => {
    const der = await unusual({ subject, sans: [{ type: 'dns', value: 'example.test' }] });
    expect(ours(der)).toEqual(referenceParse(der));
  });

  it('every kind of SubjectAltName the library writes', async () => {
    const der = await unusual({
      subject: [{ CN: ['sans'] }],
      sans: [
        { type: 'dns', value: 'Example.TEST' },
        { type: 'ip', value: '192.0.2.1' },
        { type: 'ip', value: '2001:db8::1' },
        { type: 'ip', value: '2001:db8:0:1:0:0:0:1' },
        { type: 'ip', value: '::' },
        { type: 'email', value: 'ops@example.test' },
        { type: 'url', value: 'https://example.test/x' },
        { type: 'dn', value: 'CN=Directory, O=Name' },
        { type: 'id', value: '1.2.3.4.5' },
        { type: 'guid', value: '8ee5c5a8-6f3a-4a3b-9c3f-5a2a7e1c0b11' },
        { type: 'upn', value: 'user@example.test' },
      ],
    });
    expect(ours(der)).toEqual(referenceParse(der));
    expect(ours(der).otherSubjectAltNames).toContain('ip:2001:db8::1');
  });

  it.each([
    {
      name: 'UTCTime before 2000',
      notBefore: new Date('1999-12-31T23:59:59Z'),
      notAfter: new Date('2049-12-31T23:59:59Z'),
    },
    {
      name: 'GeneralizedTime from 2050',
      notBefore: new Date('2050-01-01T00:00:00Z'),
      notAfter: new Date('9999-12-31T23:59:59Z'),
    },
  ])('validity in $name', async ({ notBefore, notAfter }) => {
    const der = await unusual({ subject: [{ CN: ['dates'] }], notBefore, notAfter });
    expect(ours(der)).toEqual(referenceParse(der));
    expect(ours(der).notAfter).toEqual(notAfter);
  });
});
