/**
 * One pre-flight check's verdict. `ok`: nothing to do. `warn`: issuance may work, but something could not be
 * verified or is close to a limit. `fail`: the first order (or the next renewal) will fail until it is fixed.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** What `acme-ari doctor` checks; stable names for `--json` consumers. */
export type CheckName =
  | 'caa'
  | 'delegation'
  | 'nameservers'
  | 'cloudfront-key'
  | 'cloudfront-region'
  | 'name-limit'
  | 'acm-imports'
  | 'acm-certificates'
  | 'permissions';

/** One check of one subject (a name, a zone, a region): its verdict, what was found, and what to do. */
export interface DoctorCheck {
  readonly check: CheckName;
  readonly status: CheckStatus;
  /** What was checked: a domain name, a hosted zone, a region, a role. */
  readonly subject: string;
  /** What was found, in one sentence. */
  readonly message: string;
  /** What to do about a `warn` or `fail`. */
  readonly fix?: string;
}

const RANK: Record<CheckStatus, number> = { ok: 0, warn: 1, fail: 2 };

/** The worst of several verdicts (`ok` for none): a certificate is as healthy as its least healthy check. */
export function worstStatus(statuses: Iterable<CheckStatus>): CheckStatus {
  let worst: CheckStatus = 'ok';
  for (const status of statuses) if (RANK[status] > RANK[worst]) worst = status;
  return worst;
}
