import type { DoctorCheck } from './check';

/** ACM's default quotas per account and region; some accounts have lower ones (see Service Quotas). */
export const ACM_DEFAULT_QUOTAS = {
  /** "Imports of certificates per year" (the last 365 days), re-imports into an existing ARN included. */
  importsPerYear: 5_000,
  /** "Imported certificates" held in a region at one time. */
  importedCertificates: 2_500,
} as const;

/** The quotas a projection is judged against. */
export interface AcmQuotas {
  readonly importsPerYear: number;
  readonly importedCertificates: number;
}

/** A projection at or above this share of a quota warns. */
export const QUOTA_WARN_RATIO = 0.8;

/** Certificate lifetimes by ACME profile name (Let's Encrypt's; a profile unknown here uses the default). */
const PROFILE_LIFETIME_DAYS: Record<string, number> = {
  classic: 90,
  tlsserver: 45,
  // 160 hours.
  shortlived: 160 / 24,
};

/** The lifetime assumed when neither the profile nor an issued certificate says otherwise. */
export const DEFAULT_LIFETIME_DAYS = 90;

/** How often a certificate is renewed, and where its lifetime comes from. */
export interface RenewalCadence {
  readonly lifetimeDays: number;
  readonly renewEveryDays: number;
  readonly source: 'profile' | 'issued' | 'default';
}

/**
 * How often a certificate of this profile is renewed: ARI windows (RFC 9773) open at about two thirds of a
 * long lifetime and at about half of a short one (a week or less), which gives 6 imports a year for 90 days,
 * 12 for 45 days and about 110 for Let's Encrypt's 160-hour `shortlived`.
 * @param issuedLifetimeDays the lifetime of the certificate issued last, used for a profile not known here
 */
export function renewalCadence(profile: string | undefined, issuedLifetimeDays?: number): RenewalCadence {
  const known = profile === undefined ? undefined : PROFILE_LIFETIME_DAYS[profile];
  const [lifetimeDays, source]: [number, RenewalCadence['source']] =
    known !== undefined
      ? [known, 'profile']
      : issuedLifetimeDays !== undefined && issuedLifetimeDays > 0
        ? [issuedLifetimeDays, 'issued']
        : [DEFAULT_LIFETIME_DAYS, 'default'];
  return { lifetimeDays, renewEveryDays: lifetimeDays * (lifetimeDays <= 10 ? 1 / 2 : 2 / 3), source };
}

/** One certificate as the projection sees it. */
export interface QuotaEntry {
  readonly id: string;
  readonly profile?: string;
  /** Regions it is imported into; empty means the deployment's region. */
  readonly acmRegions: readonly string[];
  readonly issuedLifetimeDays?: number;
}

/** The projected use of ACM's quotas in one region. */
export interface RegionProjection {
  readonly region: string;
  /** Imports a year: one per renewal, for every certificate imported into this region. */
  readonly importsPerYear: number;
  /** Certificates held in this region (one ARN per inventory entry and region). */
  readonly certificates: number;
  /** The three entries adding the most imports, for the message. */
  readonly largest: readonly { readonly id: string; readonly importsPerYear: number }[];
}

/** Imports a year and certificates held, per region, summed over the inventory. */
export function projectAcmUse(entries: readonly QuotaEntry[], defaultRegion: string): RegionProjection[] {
  const regions = new Map<
    string,
    { imports: number; certificates: number; by: { id: string; importsPerYear: number }[] }
  >();
  for (const entry of entries) {
    const cadence = renewalCadence(entry.profile, entry.issuedLifetimeDays);
    const perYear = Math.ceil(365 / cadence.renewEveryDays);
    for (const region of new Set(entry.acmRegions.length > 0 ? entry.acmRegions : [defaultRegion])) {
      const row = regions.get(region) ?? { imports: 0, certificates: 0, by: [] };
      row.imports += perYear;
      row.certificates += 1;
      row.by.push({ id: entry.id, importsPerYear: perYear });
      regions.set(region, row);
    }
  }
  return [...regions]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([region, row]) => ({
      region,
      importsPerYear: row.imports,
      certificates: row.certificates,
      largest: [...row.by].sort((a, b) => b.importsPerYear - a.importsPerYear).slice(0, 3),
    }));
}

function judge(used: number, quota: number): DoctorCheck['status'] {
  if (used > quota) return 'fail';
  return used >= quota * QUOTA_WARN_RATIO ? 'warn' : 'ok';
}

/**
 * The projection per region against ACM's quotas: `fail` above a quota, `warn` from 80 % of it.
 * @see https://docs.aws.amazon.com/acm/latest/userguide/acm-limits.html
 */
export function checkAcmQuotas(
  projections: readonly RegionProjection[],
  quotas: AcmQuotas = ACM_DEFAULT_QUOTAS,
): DoctorCheck[] {
  return projections.flatMap((p): DoctorCheck[] => {
    const imports = judge(p.importsPerYear, quotas.importsPerYear);
    const held = judge(p.certificates, quotas.importedCertificates);
    const largest = p.largest.map((l) => `${l.id} ${l.importsPerYear}/year`).join(', ');
    return [
      {
        check: 'acm-imports',
        status: imports,
        subject: p.region,
        message: `about ${p.importsPerYear} imports a year projected in ${p.region}, against a quota of ${quotas.importsPerYear} (largest: ${largest})`,
        ...(imports === 'ok'
          ? {}
          : {
              fix: `ask for a higher "Imports of certificates per year" in Service Quotas (${p.region}), move short-lived certificates to a longer profile, or spread them over regions`,
            }),
      },
      {
        check: 'acm-certificates',
        status: held,
        subject: p.region,
        message: `${p.certificates} imported certificates in ${p.region}, against a quota of ${quotas.importedCertificates}`,
        ...(held === 'ok'
          ? {}
          : {
              fix: `ask for a higher "Imported certificates" quota in Service Quotas (${p.region}), or combine names into fewer certificates`,
            }),
      },
    ];
  });
}
