import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CA_PRESETS } from '../../../functions/core/config/inventory';
import { parseCertificate } from '../../../functions/core/pki';
import { PRESET_TRUST_ANCHORS, type TrustAnchor } from '../../../functions/core/pki/trust-anchors';
import { x509 } from '../../support/pki/x509';

const ALL: [string, TrustAnchor][] = Object.entries(PRESET_TRUST_ANCHORS).flatMap(([preset, anchors]) =>
  anchors.map((anchor): [string, TrustAnchor] => [`${preset}: ${anchor.name}`, anchor]),
);

describe('built-in trust anchors', () => {
  it('cover every CA preset', () => {
    expect(Object.keys(PRESET_TRUST_ANCHORS).sort()).toEqual(Object.keys(CA_PRESETS).sort());
    for (const anchors of Object.values(PRESET_TRUST_ANCHORS)) expect(anchors.length).toBeGreaterThan(0);
  });

  it.each(ALL)('%s parses, is self-signed and has its recorded fingerprint', async (_name, anchor) => {
    const parsed = parseCertificate(anchor.pem);
    expect(parsed.subjectCommonName).toBe(anchor.name);
    expect(parsed.issuer).toBe(parsed.subject);
    const cert = new x509.X509Certificate(parsed.der);
    expect(await cert.verify({ publicKey: cert.publicKey, signatureOnly: true })).toBe(true);
    // node:crypto here on purpose: an independent digest, not the core's own SHA-256.
    expect(createHash('sha256').update(parsed.der).digest('hex')).toBe(anchor.sha256);
    // The constant is the normalised PEM, so what is compiled in is byte-for-byte the recorded certificate.
    expect(anchor.pem).toBe(parsed.pem);
  });

  it.each([
    ['letsencrypt', ['ISRG Root X1', 'ISRG Root X2']],
    ['letsencrypt-staging', ['(STAGING) Pretend Pear X1', '(STAGING) Bogus Broccoli X2']],
    ['zerossl', ['USERTrust RSA Certification Authority', 'USERTrust ECC Certification Authority']],
    ['google-trust-services', ['GTS Root R1', 'GTS Root R2', 'GTS Root R3', 'GTS Root R4']],
  ] as const)('%s trusts %j', (preset, names) => {
    expect(PRESET_TRUST_ANCHORS[preset].map((anchor) => anchor.name)).toEqual(names);
  });
});
