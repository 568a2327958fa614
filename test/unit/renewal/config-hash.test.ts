import { describe, expect, it } from 'vitest';
import { configCanonical, configDigest } from '../../../functions/core/renewal/config-hash';

const entry = {
  domains: ['www.example.com', 'example.com'],
  keyType: 'ec-p256' as const,
  profile: undefined,
};
const ca = { directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory' };

describe('configHash', () => {
  // Every state document records this hash; a different value for the same entry renews every certificate as
  // "changed" on the next pass. The values are pinned here, computed once with WebCrypto's SHA-256.
  it.each([
    ['the canonical text', configCanonical(entry, ca), '27e4cf870394a02a13cc113612f6843d'],
    ['non-ASCII text, hashed as UTF-8', 'bücher.example ☃', 'bd1816b0a612e1bbaa08b84e9b0adb5a'],
  ])('is the first 32 hex digits of the SHA-256 of %s', async (_, canonical, pinned) => {
    const webCrypto = Buffer.from(
      await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical)),
    ).toString('hex');
    expect(configDigest(canonical)).toBe(webCrypto.slice(0, 32));
    expect(configDigest(canonical)).toBe(pinned);
  });

  it('ignores the order of the names, and tells a profile apart', () => {
    const reversed = configCanonical({ ...entry, domains: ['example.com', 'www.example.com'] }, ca);
    expect(reversed).toBe(configCanonical(entry, ca));
    expect(configCanonical({ ...entry, profile: 'shortlived' }, ca)).not.toBe(reversed);
  });
});
