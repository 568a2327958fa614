import { Annotations, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { Inventory } from '../../functions/core/config/inventory';
import {
  ACM_DEFAULT_QUOTAS,
  type AcmQuotas,
  checkAcmQuotas,
  projectAcmUse,
} from '../../functions/core/doctor/acm-quota';

/**
 * Warns at synth when the inventory's projected ACM use (imports a year, certificates held, per region) reaches
 * 80 % of a quota or exceeds it: the projection `acme-ari doctor` reports, from the profiles' lifetimes.
 * @param defaultRegion the stack's region; a token (an environment-agnostic stack) is shown as "the stack's region"
 * @see https://docs.aws.amazon.com/acm/latest/userguide/acm-limits.html
 */
export function warnOnAcmQuotas(
  scope: Construct,
  inventory: Inventory,
  defaultRegion: string,
  quotas: AcmQuotas = ACM_DEFAULT_QUOTAS,
): void {
  const region = Token.isUnresolved(defaultRegion) ? "the stack's region" : defaultRegion;
  const projection = projectAcmUse(
    inventory.certificates.map((c) => ({
      id: c.id,
      acmRegions: c.acmRegions,
      ...(c.profile ? { profile: c.profile } : {}),
    })),
    region,
  );
  for (const check of checkAcmQuotas(projection, quotas)) {
    if (check.status === 'ok') continue;
    Annotations.of(scope).addWarningV2(
      `acme-ari-aws:${check.check}:${check.subject}`,
      `ACM quota: ${check.message}. ${check.fix ?? ''} (acme-ari doctor shows the projection)`.trim(),
    );
  }
}
