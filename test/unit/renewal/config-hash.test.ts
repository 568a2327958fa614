import { describe, expect, it } from 'vitest';
import { configCanonical, configDigest, configHash } from '../../../functions/core/renewal/config-hash';

const entry = {
  domains: ['www.example.com', 'example.com'],
  keyType: 'ec-p256',
  profile: undefined,
} as const;
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
    expect(await configDigest(canonical)).toBe(webCrypto.slice(0, 32));
    expect(await configDigest(canonical)).toBe(pinned);
  });

  it('ignores the order of the names and nothing but names, key type, CA and profile', async () => {
    const hash = await configHash(
      { ...entry, domains: ['example.com', 'www.example.com'] } as never,
      ca as never,
    );
    expect(hash).toBe(await configDigest(configCanonical(entry, ca)));
    expect(await configHash({ ...entry, profile: 'shortlived' } as never, ca as never)).not.toBe(hash);
  });
});
