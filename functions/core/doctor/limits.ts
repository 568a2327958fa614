import { CA_PRESETS, type CaConfig, type CertificateConfig, MAX_NAMES } from '../config/inventory';
import type { DoctorCheck } from './check';

/** CAA identities (issuer domain names) of the preset CAs, as their CPSs publish them. */
export const PRESET_CAA_IDENTITIES: Record<keyof typeof CA_PRESETS, readonly string[]> = {
  letsencrypt: ['letsencrypt.org'],
  'letsencrypt-staging': ['letsencrypt.org'],
  zerossl: ['sectigo.com'],
  'google-trust-services': ['pki.goog'],
};

function presetOf(caName: string, ca: CaConfig | undefined): keyof typeof CA_PRESETS | undefined {
  const url = ca?.directoryUrl ?? (CA_PRESETS as Record<string, string>)[caName];
  return (Object.keys(CA_PRESETS) as (keyof typeof CA_PRESETS)[]).find((name) => CA_PRESETS[name] === url);
}

/**
 * The issuer domain names a CA recognises in CAA: the operator's override for this CA name (or for every CA
 * without one, key `*`), else the preset's, else `undefined` (a custom CA: CAA cannot be checked).
 */
export function caaIdentitiesFor(
  caName: string,
  ca: CaConfig | undefined,
  overrides: Readonly<Record<string, readonly string[]>> = {},
): readonly string[] | undefined {
  const own = overrides[caName];
  if (own) return own;
  const preset = presetOf(caName, ca);
  if (preset) return PRESET_CAA_IDENTITIES[preset];
  return overrides['*'];
}

/** Profiles for which Let's Encrypt accepts at most 25 identifiers per order. */
const LETSENCRYPT_25_NAME_PROFILES = new Set(['tlsserver', 'shortlived']);

/**
 * How many names one order may carry: 25 for Let's Encrypt's `tlsserver` and `shortlived` profiles, otherwise
 * the 100 the inventory schema allows (Let's Encrypt's `classic` limit).
 * @see https://letsencrypt.org/docs/profiles/
 */
export function nameLimit(caName: string, ca: CaConfig | undefined, profile: string | undefined): number {
  const preset = presetOf(caName, ca);
  const letsEncrypt = preset === 'letsencrypt' || preset === 'letsencrypt-staging';
  return letsEncrypt && profile !== undefined && LETSENCRYPT_25_NAME_PROFILES.has(profile) ? 25 : MAX_NAMES;
}

/** The entry's name count against the profile's limit. */
export function checkNameLimit(
  cert: Pick<CertificateConfig, 'domains' | 'ca' | 'profile'>,
  ca: CaConfig | undefined,
): DoctorCheck {
  const limit = nameLimit(cert.ca, ca, cert.profile);
  const count = cert.domains.length;
  const profile = cert.profile ? `profile ${cert.profile}` : 'the default profile';
  return count > limit
    ? {
        check: 'name-limit',
        status: 'fail',
        subject: `${count} name${count === 1 ? '' : 's'}`,
        message: `${count} names, more than the ${limit} ${cert.ca} accepts with ${profile}`,
        fix: `split the entry into certificates of at most ${limit} names, or use a profile that allows more`,
      }
    : {
        check: 'name-limit',
        status: 'ok',
        subject: `${count} name${count === 1 ? '' : 's'}`,
        message: `${count} of at most ${limit} names (${profile})`,
      };
}

/** Key types CloudFront serves from ACM. */
const CLOUDFRONT_KEY_TYPES = new Set(['rsa-2048', 'ec-p256']);

/**
 * CloudFront's rules for an entry with `cloudfront: true`: an RSA 2048 or EC P-256 key, and a copy in
 * us-east-1. The schema already refuses both; they are reported so the operator sees them checked.
 * @see https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cnames-and-https-requirements.html
 */
export function checkCloudFront(
  cert: Pick<CertificateConfig, 'cloudfront' | 'keyType' | 'acmRegions'>,
  defaultRegion: string,
): DoctorCheck[] {
  if (!cert.cloudfront) return [];
  const regions = cert.acmRegions.length > 0 ? cert.acmRegions : [defaultRegion];
  return [
    CLOUDFRONT_KEY_TYPES.has(cert.keyType)
      ? {
          check: 'cloudfront-key',
          status: 'ok',
          subject: cert.keyType,
          message: `${cert.keyType} is served by CloudFront`,
        }
      : {
          check: 'cloudfront-key',
          status: 'fail',
          subject: cert.keyType,
          message: `CloudFront serves only rsa-2048 and ec-p256 certificates, not ${cert.keyType}`,
          fix: 'set keyType to ec-p256 (or rsa-2048)',
        },
    regions.includes('us-east-1')
      ? {
          check: 'cloudfront-region',
          status: 'ok',
          subject: 'us-east-1',
          message: 'imported into us-east-1, where CloudFront reads it',
        }
      : {
          check: 'cloudfront-region',
          status: 'fail',
          subject: regions.join(', '),
          message: `CloudFront reads certificates from us-east-1 only; this one goes to ${regions.join(', ')}`,
          fix: 'add "us-east-1" to acmRegions',
        },
  ];
}
