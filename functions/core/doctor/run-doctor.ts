import { dnsPersistRecordName } from '../acme/dns-persist';
import { dns01RecordName } from '../acme/dns01';
import {
  type CertificateConfig,
  type ConfigProblem,
  caFor,
  casOf,
  challengeOf,
  type Inventory,
  parseInventoryLenient,
  type ResolvedCa,
  usesDns01,
} from '../config/inventory';
import { describeError } from '../errors';
import type { ChallengeTarget } from '../iam/renewal-calls';
import { ACM_DEFAULT_QUOTAS, type AcmQuotas, checkAcmQuotas, projectAcmUse } from './acm-quota';
import { type CaaRecord, evaluateCaa, findRelevantCaa } from './caa';
import { type CheckStatus, type DoctorCheck, worstStatus } from './check';
import {
  type ChallengeChain,
  checkDelegation,
  checkNameServers,
  MAX_CNAME_HOPS,
  type ManagedZone,
  normalizeName,
} from './delegation';
import { caaIdentitiesFor, checkCloudFront, checkNameLimit } from './limits';
import { type PermissionsDeps, type PermissionsJudge, preparePermissions } from './permissions';

/** The DNS as the CA sees it: CAA, CNAME and NS answers, empty when the name has none. */
export interface DoctorDns {
  caa(name: string): Promise<readonly CaaRecord[]>;
  /** The CNAME target at a name, or `undefined` when the name has no CNAME. */
  cname(name: string): Promise<string | undefined>;
  ns(name: string): Promise<readonly string[]>;
}

/** The Route 53 hosted zones the deployment's credentials see, and the name servers Route 53 assigned each. */
export interface ZoneDirectory {
  zones(): Promise<readonly ManagedZone[]>;
  /** The hosted zone's delegation set (GetHostedZone `DelegationSet.NameServers`). */
  nameServers(zoneId: string): Promise<readonly string[]>;
}

/** What the doctor reads besides the DNS and Route 53: the stored ACME accounts and issued certificates. */
export interface DoctorDeps {
  readonly dns: DoctorDns;
  readonly zones: ZoneDirectory;
  /** The account URL the renewer orders with at this directory, when an account exists already. */
  accountUrl(directoryUrl: string): Promise<string | undefined>;
  /** The lifetime in days of the certificate issued last for this id, when there is one. */
  issuedLifetimeDays(id: string): Promise<number | undefined>;
  /** The renewer role's live policies and the evaluator; absent: the permissions check is a warning. */
  readonly permissions?: PermissionsDeps;
}

/** What to check and against which limits. */
export interface DoctorOptions {
  /** Check only this certificate (the quota projection still sums the whole inventory). */
  readonly only?: string;
  /** The deployment's region, where entries without `acmRegions` are imported. */
  readonly defaultRegion: string;
  /** CAA issuer domain names by CA name (`*`: every CA without one); they win over the presets'. */
  readonly caaIdentities?: Readonly<Record<string, readonly string[]>>;
  /** @default ACM_DEFAULT_QUOTAS */
  readonly quotas?: AcmQuotas;
}

/** Every check of one certificate and its worst verdict. */
export interface CertificateDiagnosis {
  readonly id: string;
  readonly ca: string;
  readonly domains: readonly string[];
  readonly status: CheckStatus;
  readonly checks: readonly DoctorCheck[];
}

/** The doctor's findings: per certificate, for the deployment as a whole, and the inventory's own problems. */
export interface DoctorReport {
  readonly status: CheckStatus;
  readonly certificates: readonly CertificateDiagnosis[];
  /** Checks of the deployment as a whole: ACM quotas per region, the renewer's permissions. */
  readonly deployment: readonly DoctorCheck[];
  readonly problems: readonly ConfigProblem[];
}

async function walkChallenge(dns: DoctorDns, start: string): Promise<ChallengeChain> {
  const names = [start];
  const seen = new Set(names);
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const target = await dns.cname(names.at(-1)!);
    if (target === undefined) return { names, end: 'resolved' };
    const next = normalizeName(target);
    names.push(next);
    if (seen.has(next)) return { names, end: 'loop' };
    seen.add(next);
    if (hop + 1 > MAX_CNAME_HOPS) break;
  }
  return { names, end: 'too-long' };
}

function lookupFailed(
  check: DoctorCheck['check'],
  subject: string,
  status: CheckStatus,
  error: unknown,
): DoctorCheck {
  return {
    check,
    status,
    subject,
    message: `DNS lookup failed: ${describeError(error)}`,
    fix: 'check the name servers answer (or pass --dns-server), then run doctor again',
  };
}

/**
 * The permissions verdict of one renewal. A dns-persist-01 certificate without the dns-01 fallback writes no
 * challenge record (and the construct grants it none), so none is judged.
 */
function judgeRenewal(
  judge: PermissionsJudge,
  inventory: Inventory,
  cert: CertificateConfig,
  ca: ResolvedCa,
  targets: readonly ChallengeTarget[],
): Promise<DoctorCheck> {
  const subject = { id: cert.id, acmRegions: cert.acmRegions, directoryUrl: ca.directoryUrl };
  const eabSecretArn = ca.eab?.hmacSecretArn;
  const challenges = usesDns01(inventory, cert) ? targets : [];
  const persistRecord = challengeOf(inventory, cert) === 'dns-persist-01';
  return judge(
    { ...subject, ...(eabSecretArn ? { eabSecretArn } : {}), ...(persistRecord ? { persistRecord } : {}) },
    challenges,
  );
}

/**
 * For a dns-persist-01 certificate, where each `_validation-persist` name leads: the record is written where its
 * CNAME chain ends, which must be a hosted zone this deployment manages.
 * @see draft-ietf-acme-dns-persist §3.1 (the `_validation-persist` label)
 */
async function persistDelegationChecks(
  deps: DoctorDeps,
  inventory: Inventory,
  cert: CertificateConfig,
  zones: readonly ManagedZone[],
): Promise<DoctorCheck[]> {
  if (challengeOf(inventory, cert) !== 'dns-persist-01') return [];
  const checks: DoctorCheck[] = [];
  for (const name of new Set(cert.domains.map(dnsPersistRecordName))) {
    try {
      checks.push(checkDelegation(await walkChallenge(deps.dns, name), zones).check);
    } catch (error) {
      checks.push(lookupFailed('delegation', name, 'warn', error));
    }
  }
  return checks;
}

/**
 * A check made for one of the certificate's failover CAs: named after the CA, and a warning rather than a failure,
 * since renewals still go to the first CA and only a failover would be refused.
 */
function asFailover(cert: CertificateConfig, caName: string, check: DoctorCheck): DoctorCheck {
  if (caName === cert.ca) return check;
  return {
    ...check,
    status: check.status === 'fail' ? 'warn' : check.status,
    message: `failover CA "${caName}": ${check.message}`,
  };
}

/**
 * The CAA verdict per name for one of the certificate's CAs, with that CA's identities, account and challenge (the
 * renewer answers a failover CA with the challenge configured for it).
 */
async function caaChecks(
  deps: DoctorDeps,
  inventory: Inventory,
  cert: CertificateConfig,
  caName: string,
  options: DoctorOptions,
): Promise<DoctorCheck[]> {
  const identities = caaIdentitiesFor(caName, inventory.cas[caName], options.caaIdentities);
  const accountUri = await deps.accountUrl(caFor(inventory, caName).directoryUrl);
  const method = challengeOf(inventory, { ...cert, ca: caName });
  const checks: DoctorCheck[] = [];
  for (const domain of cert.domains) {
    try {
      const verdict = evaluateCaa(await findRelevantCaa(domain, (n) => deps.dns.caa(n)), {
        domain,
        identities,
        ...(accountUri ? { accountUri } : {}),
        method,
      });
      checks.push({
        check: 'caa',
        status: verdict.status,
        subject: domain,
        message: verdict.message,
        ...(verdict.fix ? { fix: verdict.fix } : {}),
      });
    } catch (error) {
      // A CA that cannot read CAA refuses to issue (RFC 8659 §3 leaves lookup failures to the CA's policy).
      checks.push(lookupFailed('caa', domain, 'fail', error));
    }
  }
  return checks.map((check) => asFailover(cert, caName, check));
}

/** One certificate's checks: CAA per name for each of its CAs, the delegation of each challenge name, its zones' NS, limits. */
async function diagnose(
  deps: DoctorDeps,
  inventory: Inventory,
  cert: CertificateConfig,
  options: DoctorOptions,
  judgePermissions?: PermissionsJudge,
): Promise<CertificateDiagnosis> {
  const ca = caFor(inventory, cert.ca);
  const zones = await deps.zones.zones();
  const checks: DoctorCheck[] = [];
  for (const caName of casOf(cert)) checks.push(...(await caaChecks(deps, inventory, cert, caName, options)));
  const challengeNames = [...new Set(cert.domains.map(dns01RecordName))];
  const zonesUsed = new Map<string, ManagedZone>();
  const targets: ChallengeTarget[] = [];
  for (const name of challengeNames) {
    try {
      const chain = await walkChallenge(deps.dns, name);
      const { check, zone } = checkDelegation(chain, zones);
      const base = name.replace(/^_acme-challenge\./, '');
      const roleArn = cert.zoneRoleArns[base] ?? cert.zoneRoleArns[`*.${base}`];
      if (zone === undefined && roleArn !== undefined) {
        targets.push({ name, roleArn });
        checks.push({
          ...check,
          status: 'warn',
          message: `${check.message}; the zone is reached through ${roleArn}, not checked from here`,
        });
        continue;
      }
      checks.push(check);
      // The renewer writes the TXT record where the CNAME chain ends.
      if (zone) targets.push({ name: chain.names.at(-1)!, zoneId: zone.id });
      if (zone && !zone.private) zonesUsed.set(zone.id, zone);
    } catch (error) {
      checks.push(lookupFailed('delegation', name, 'warn', error));
    }
  }
  checks.push(...(await persistDelegationChecks(deps, inventory, cert, zones)));
  for (const zone of zonesUsed.values()) {
    try {
      const [published, assigned] = await Promise.all([
        deps.dns.ns(zone.name),
        deps.zones.nameServers(zone.id),
      ]);
      checks.push(checkNameServers(zone, published, assigned));
    } catch (error) {
      checks.push(lookupFailed('nameservers', `${zone.name} (${zone.id})`, 'warn', error));
    }
  }
  checks.push(
    ...checkCloudFront(cert, options.defaultRegion),
    ...casOf(cert).map((caName) =>
      asFailover(cert, caName, checkNameLimit({ ...cert, ca: caName }, inventory.cas[caName])),
    ),
  );
  if (judgePermissions) checks.push(await judgeRenewal(judgePermissions, inventory, cert, ca, targets));
  return {
    id: cert.id,
    ca: cert.ca,
    domains: cert.domains,
    status: worstStatus(checks.map((c) => c.status)),
    checks,
  };
}

/**
 * Pre-flight checks of an inventory before its first order: per certificate CAA, `_acme-challenge` delegation,
 * the zones' NS delegation, CloudFront's key and region rules and the profile's name limit; for the deployment
 * the projected ACM imports per region and year against the quotas; each renewal's AWS calls against the renewer
 * role's live identity policies.
 */
export async function runDoctor(
  deps: DoctorDeps,
  rawInventory: unknown,
  options: DoctorOptions,
): Promise<DoctorReport> {
  const { inventory, problems } = parseInventoryLenient(rawInventory);
  const permissions = await preparePermissions(deps.permissions);
  const selected = inventory.certificates.filter((c) => options.only === undefined || c.id === options.only);
  const certificates: CertificateDiagnosis[] = [];
  for (const cert of selected)
    certificates.push(await diagnose(deps, inventory, cert, options, permissions.judge));
  const entries = await Promise.all(
    inventory.certificates.map(async (c) => {
      const issued = await deps.issuedLifetimeDays(c.id);
      return {
        id: c.id,
        acmRegions: c.acmRegions,
        ...(c.profile ? { profile: c.profile } : {}),
        ...(issued !== undefined ? { issuedLifetimeDays: issued } : {}),
      };
    }),
  );
  const deployment = [
    ...checkAcmQuotas(projectAcmUse(entries, options.defaultRegion), options.quotas ?? ACM_DEFAULT_QUOTAS),
    permissions.check,
  ];
  const status = worstStatus([
    ...certificates.map((c) => c.status),
    ...deployment.map((c) => c.status),
    // An inventory problem fails the whole run, not a run about one certificate that parsed.
    ...(problems.length > 0 && options.only === undefined ? (['fail'] as const) : []),
  ]);
  return { status, certificates, deployment, problems };
}
