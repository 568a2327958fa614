import { createHash } from 'node:crypto';
import type { CaConfig, CertificateConfig } from '../config/inventory';

/**
 * A digest of the inventory fields that shape the certificate itself (names, key type, CA, profile). When it
 * differs from the one recorded at issuance, the certificate is renewed with reason `changed`. Tags, regions
 * and zones are left out: changing them needs a re-import or new DNS setup, not a new certificate.
 */
export async function configHash(config: CertificateConfig, ca: CaConfig): Promise<string> {
  return configDigest(configCanonical(config, ca));
}

/** What {@link configHash} digests (a pass over a large inventory hashes each entry as it reads it). */
export function configCanonical(
  config: Pick<CertificateConfig, 'domains' | 'keyType' | 'profile'>,
  ca: Pick<CaConfig, 'directoryUrl'>,
): string {
  return JSON.stringify({
    domains: [...config.domains].sort(),
    keyType: config.keyType,
    directoryUrl: ca.directoryUrl,
    profile: config.profile ?? null,
  });
}

/**
 * The config hash of a {@link configCanonical} text: the first 32 hex digits of its SHA-256. Hashed in place:
 * WebCrypto's digest hops to the thread pool and back for each of a few hundred bytes, which for a 100,000-entry
 * inventory was about a second of a scheduler pass (and made it hash in batches).
 */
export function configDigest(canonical: string): string {
  return createHash('sha256').update(canonical, 'utf8').digest('hex').slice(0, 32);
}
