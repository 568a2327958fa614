import type { DoctorCheck } from './check';

/** A Route 53 hosted zone the deployment can write to. */
export interface ManagedZone {
  readonly id: string;
  /** Lower case, no trailing dot. */
  readonly name: string;
  readonly private: boolean;
}

/** CNAME chains longer than this are a misconfiguration (or a loop), as the renewer treats them. */
export const MAX_CNAME_HOPS = 5;

/** Lower case, no trailing dot. */
export function normalizeName(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** The managed zone holding a name: the longest suffix match, a public zone before a private one. */
export function zoneContaining(name: string, zones: readonly ManagedZone[]): ManagedZone | undefined {
  const n = normalizeName(name);
  const matches = zones.filter((z) => n === z.name || n.endsWith(`.${z.name}`));
  const publicOnes = matches.filter((z) => !z.private);
  return (publicOnes.length > 0 ? publicOnes : matches).reduce<ManagedZone | undefined>(
    (best, z) => (best === undefined || z.name.length > best.name.length ? z : best),
    undefined,
  );
}

/** Where the `_acme-challenge` name of a certificate name leads: the names visited and how the walk ended. */
export interface ChallengeChain {
  /** The challenge name first, then each CNAME target in order. */
  readonly names: readonly string[];
  readonly end: 'resolved' | 'loop' | 'too-long';
}

/**
 * Judges an `_acme-challenge` chain: its last name must lie in a public hosted zone this deployment manages,
 * because that is where the renewer writes the TXT record the CA reads.
 * @see RFC 8555 §8.4: the client provisions a TXT record "under the "_acme-challenge" label"; validation
 *   follows CNAMEs as any DNS resolution does
 */
export function checkDelegation(
  chain: ChallengeChain,
  zones: readonly ManagedZone[],
): {
  check: DoctorCheck;
  zone?: ManagedZone;
} {
  const start = chain.names[0] ?? '?';
  const last = chain.names.at(-1) ?? start;
  const path = chain.names.join(' → ');
  if (chain.end === 'loop' || chain.end === 'too-long') {
    return {
      check: {
        check: 'delegation',
        status: 'fail',
        subject: start,
        message:
          chain.end === 'loop'
            ? `CNAME loop: ${path}`
            : `more than ${MAX_CNAME_HOPS} CNAMEs: ${path}; the renewer gives up after ${MAX_CNAME_HOPS}`,
        fix: `point ${start} with one CNAME at a name inside a Route 53 zone of this deployment`,
      },
    };
  }
  const zone = zoneContaining(last, zones);
  const via = chain.names.length > 1 ? `CNAME ${path}` : start;
  if (zone === undefined) {
    return {
      check: {
        check: 'delegation',
        status: 'fail',
        subject: start,
        message: `${via}: no hosted zone this deployment manages contains ${last}`,
        fix:
          chain.names.length > 1
            ? `fix the CNAME at ${chain.names.at(-2)} (a broken delegation), or create a hosted zone for ${last} and grant it`
            : `create a Route 53 hosted zone containing ${last}, or CNAME ${start} to a name in one`,
      },
    };
  }
  if (zone.private) {
    return {
      zone,
      check: {
        check: 'delegation',
        status: 'fail',
        subject: start,
        message: `${via} is in private hosted zone ${zone.name} (${zone.id}), which the CA cannot see`,
        fix: `create a public hosted zone for ${zone.name}`,
      },
    };
  }
  return {
    zone,
    check: {
      check: 'delegation',
      status: 'ok',
      subject: start,
      message: `${via} is in hosted zone ${zone.name} (${zone.id})`,
    },
  };
}

/**
 * Compares the name servers the DNS gives for a zone with the ones Route 53 assigned to it (the hosted zone's
 * delegation set): when they differ, the parent delegates the zone elsewhere and the CA never sees the
 * challenge records written in Route 53.
 * @see RFC 1034 §4.2.2 (a zone cut is marked by NS records in the parent)
 */
export function checkNameServers(
  zone: ManagedZone,
  published: readonly string[],
  assigned: readonly string[],
): DoctorCheck {
  const have = new Set(published.map(normalizeName));
  const want = [...new Set(assigned.map(normalizeName))].sort();
  const missing = want.filter((ns) => !have.has(ns));
  const extra = [...have].filter((ns) => !want.includes(ns)).sort();
  const subject = `${zone.name} (${zone.id})`;
  const fix = `set the NS records for ${zone.name} at its parent (the registrar, or the parent zone) to ${want.join(' ')}`;
  if (have.size === 0) {
    return {
      check: 'nameservers',
      status: 'fail',
      subject,
      message: `the DNS has no NS records for ${zone.name}: the parent does not delegate it`,
      fix,
    };
  }
  if (missing.length === want.length) {
    return {
      check: 'nameservers',
      status: 'fail',
      subject,
      message: `the parent delegates ${zone.name} to ${[...have].sort().join(' ')}, not to this hosted zone's ${want.join(' ')}`,
      fix,
    };
  }
  if (missing.length > 0 || extra.length > 0) {
    return {
      check: 'nameservers',
      status: 'warn',
      subject,
      message: `NS for ${zone.name} only partly match the hosted zone${missing.length ? `; missing ${missing.join(' ')}` : ''}${extra.length ? `; foreign ${extra.join(' ')}` : ''}`,
      fix,
    };
  }
  return {
    check: 'nameservers',
    status: 'ok',
    subject,
    message: `delegated to the hosted zone's ${want.length} name servers`,
  };
}
