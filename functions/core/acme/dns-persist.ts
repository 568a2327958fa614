import { AcmeAwsError } from '../errors';
import type { Authorization, Challenge } from './resources';

/**
 * The label of the persistent validation record.
 * @see draft-ietf-acme-dns-persist §3.1 "the Authorization Domain Name is the domain name being validated,
 * prepended with the label `_validation-persist`"
 */
export const DNS_PERSIST_LABEL = '_validation-persist';

/** The challenge types this client answers. */
export const CHALLENGE_TYPES = ['dns-01', 'dns-persist-01'] as const;
/** A challenge type this client answers. */
export type ChallengeType = (typeof CHALLENGE_TYPES)[number];

/** One persistent TXT record: the names it authorizes and the value the CA checks. */
export interface DnsPersistRecord {
  /** The base domain the record sits under (a wildcard identifier names its base). */
  readonly domain: string;
  /** Fully qualified record name without trailing dot: `_validation-persist.example.com`. */
  readonly name: string;
  /** The issuer domain name the CA offered, first in the value. */
  readonly issuerDomainName: string;
  readonly accountUrl: string;
  /** True when a wildcard of the domain is ordered too (`policy=wildcard`). */
  readonly wildcard: boolean;
  /** The instant after which the CA must not use the record (`persistUntil`, whole seconds). */
  readonly persistUntil: Date;
}

/** The `_validation-persist` record name for a domain or a wildcard of it. */
export function dnsPersistRecordName(domain: string): string {
  return `${DNS_PERSIST_LABEL}.${baseDomain(domain)}`;
}

/** `*.example.com` → `example.com`, lower case, no trailing dot. */
export function baseDomain(domain: string): string {
  return domain.replace(/^\*\./, '').replace(/\.$/, '').toLowerCase();
}

/**
 * The TXT value of a persistent record: the issuer domain name, then `;`-separated parameters. `policy=wildcard`
 * is written only when a wildcard is ordered, so a record for an apex never authorizes more than it must.
 * @see draft-ietf-acme-dns-persist §3.2 "The RDATA of this TXT record MUST fulfill the following requirements:
 * the issuer-domain-name … the accounturi parameter … MUST be present"; §3.3 (`policy=wildcard`); §3.4
 * (`persistUntil`, seconds since the UNIX epoch)
 */
export function dnsPersistValue(record: Omit<DnsPersistRecord, 'domain' | 'name'>): string {
  const parts = [record.issuerDomainName, `accounturi=${record.accountUrl}`];
  if (record.wildcard) parts.push('policy=wildcard');
  parts.push(`persistUntil=${Math.floor(record.persistUntil.getTime() / 1000)}`);
  return parts.join('; ');
}

/** The issuer domain name a TXT value starts with (lower case), so values of other CAs can be told apart. */
export function issuerOfValue(value: string): string {
  return (value.split(';')[0] ?? '').trim().toLowerCase();
}

const ISSUER_DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

/**
 * The issuer domain name to write: the first one the challenge offers that is a plain domain name.
 * @see draft-ietf-acme-dns-persist §3.1 "issuer-domain-names (required, array of strings): … The client MUST
 * choose one of these values"
 */
export function issuerDomainNameOf(challenge: Challenge): string | undefined {
  const names = (challenge as Record<string, unknown>)['issuer-domain-names'];
  if (!Array.isArray(names)) return undefined;
  return names
    .filter((n): n is string => typeof n === 'string')
    .map((n) => n.toLowerCase())
    .find((n) => ISSUER_DOMAIN.test(n));
}

/** The challenge chosen for one authorization, and why dns-01 was used when dns-persist-01 was asked for. */
export type ChallengeChoice =
  | { readonly type: 'dns-persist-01'; readonly challenge: Challenge; readonly issuerDomainName: string }
  | {
      readonly type: 'dns-01';
      readonly challenge: Challenge & { token: string };
      readonly fallback?: string;
    };

/**
 * Picks the challenge to answer: dns-persist-01 when it is asked for and the CA offers it with a usable issuer
 * domain name; dns-01 otherwise (unless `dns01Fallback` is false), with the reason for the fallback.
 * @throws AcmeAwsError `acme-protocol` when neither is usable, or dns-01 would be needed but is not allowed.
 */
export function chooseChallenge(
  authz: Authorization,
  wanted: ChallengeType,
  dns01Fallback = true,
): ChallengeChoice {
  let fallback: string | undefined;
  if (wanted === 'dns-persist-01') {
    const persist = authz.challenges.find((c) => c.type === 'dns-persist-01');
    const issuer = persist === undefined ? undefined : issuerDomainNameOf(persist);
    if (persist !== undefined && issuer !== undefined) {
      return { type: 'dns-persist-01', challenge: persist, issuerDomainName: issuer };
    }
    fallback =
      persist === undefined
        ? `the CA offers no dns-persist-01 challenge for ${authz.identifier.value}`
        : `the CA's dns-persist-01 challenge for ${authz.identifier.value} names no usable issuer-domain-names`;
  }
  if (fallback !== undefined && !dns01Fallback) {
    throw new AcmeAwsError(
      'acme-protocol',
      `${fallback}, and dns01Fallback is false; use a CA that offers dns-persist-01 or allow the fallback`,
    );
  }
  const dns01 = authz.challenges.find((c) => c.type === 'dns-01');
  if (!dns01?.token || !/^[A-Za-z0-9_-]+$/.test(dns01.token)) {
    throw new AcmeAwsError(
      'acme-protocol',
      `the authorization for ${authz.identifier.value} offers no usable ${fallback ? 'dns-persist-01 or ' : ''}dns-01 challenge`,
    );
  }
  return { type: 'dns-01', challenge: dns01 as Challenge & { token: string }, fallback };
}

/** Why a persistent record must be (re)written, or `current` when the one in place still serves. */
export type PersistRecordReason =
  | 'missing'
  | 'account-changed'
  | 'issuer-changed'
  | 'wildcard-added'
  | 'expiring'
  | 'current';

/**
 * Whether the record written earlier (`written`) still proves `wanted`: same account URL (an account key change
 * that led to a new account invalidates it), same issuer, wildcard covered, and `persistUntil` further away than
 * `marginMs`.
 */
export function persistRecordReason(
  written: Omit<DnsPersistRecord, 'domain' | 'name'> | undefined,
  wanted: { issuerDomainName: string; accountUrl: string; wildcard: boolean },
  now: Date,
  marginMs: number,
): PersistRecordReason {
  if (written === undefined) return 'missing';
  if (written.accountUrl !== wanted.accountUrl) return 'account-changed';
  if (written.issuerDomainName !== wanted.issuerDomainName) return 'issuer-changed';
  if (wanted.wildcard && !written.wildcard) return 'wildcard-added';
  if (written.persistUntil.getTime() - now.getTime() <= marginMs) return 'expiring';
  return 'current';
}
