import { Token } from 'aws-cdk-lib';
import {
  type CaConfig,
  type CertificateConfig,
  ConfigError,
  type Inventory,
  parseInventory,
} from '../../functions/core/config/inventory';
import type { AcmeCa } from './acme-ca';

/** One certificate as written in `certificates.json`: `id` and `domains` are required, the rest has defaults. */
export type CertificateInput = Pick<CertificateConfig, 'id' | 'domains'> &
  Partial<Omit<CertificateConfig, 'id' | 'domains'>>;

/** A CA as written in `certificates.json`; the EAB HMAC key is referenced by secret ARN, never inlined. */
export type CaInput = Pick<CaConfig, 'directoryUrl'> & Partial<Omit<CaConfig, 'directoryUrl'>>;

/** The inventory as written in `certificates.json` (validated by `parseInventory`). */
export interface InventoryInput {
  readonly cas?: Readonly<Record<string, CaInput>>;
  readonly certificates: readonly CertificateInput[];
}

/** What the construct deploys and grants from: the validated inventory and the secret ARNs it references. */
export interface ResolvedInventory {
  /** The validated inventory with deploy-time values (secret ARNs of CAs given as constructs) in place. */
  readonly inventory: Inventory;
  /** Every hosted zone id the inventory names explicitly. */
  readonly hostedZoneIds: readonly string[];
  /** Every cross-account zone role ARN. */
  readonly zoneRoleArns: readonly string[];
  /** EAB secret ARNs given as plain strings in the inventory (CAs given as `AcmeCa` are granted directly). */
  readonly eabSecretArns: readonly string[];
}

/** Stands in for a deploy-time secret ARN while the schema checks the rest of the entry. */
const PLACEHOLDER_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:placeholder-AbCdEf';

/**
 * Merges the construct's CAs and defaults into the inventory and validates the result with the same schema
 * the Lambda functions use, so a bad entry fails `cdk synth` naming the entry and field.
 */
export function resolveInventory(
  input: InventoryInput,
  options: {
    readonly source: string;
    readonly defaultCa: AcmeCa;
    readonly cas: readonly AcmeCa[];
    readonly acmRegions?: readonly string[];
  },
): ResolvedInventory {
  const definedCas = [options.defaultCa, ...options.cas].filter((ca) => ca.needsDefinition);
  const problems: { path: string; message: string }[] = [];
  const cas: Record<string, unknown> = { ...(input.cas ?? {}) };
  for (const ca of definedCas) {
    if (ca.name in cas && cas[ca.name] !== undefined) {
      problems.push({
        path: `cas.${ca.name}`,
        message: `is defined both in the inventory and as a construct CA; keep one`,
      });
      continue;
    }
    const eab = ca.options.eab;
    cas[ca.name] = {
      directoryUrl: ca.directoryUrl,
      contact: [...(ca.options.contact ?? [])],
      ...(eab
        ? {
            eab: {
              keyId: eab.keyId,
              hmacSecretArn: Token.isUnresolved(eab.hmacSecret.secretArn)
                ? PLACEHOLDER_SECRET_ARN
                : eab.hmacSecret.secretArn,
            },
          }
        : {}),
      ...(ca.options.preferredChain ? { preferredChain: ca.options.preferredChain } : {}),
      ...(ca.options.trustAnchors ? { trustAnchors: [...ca.options.trustAnchors] } : {}),
    };
  }
  if (problems.length > 0) throw new ConfigError(options.source, problems);

  const certificates = input.certificates.map((cert) => ({
    ...cert,
    ca: cert.ca ?? options.defaultCa.name,
    ...((cert.acmRegions?.length ?? 0) === 0 && options.acmRegions
      ? { acmRegions: [...options.acmRegions] }
      : {}),
  }));
  const inventory = parseInventory({ cas, certificates }, options.source);

  // Put deploy-time secret ARNs back where the placeholder stood in for them during validation.
  for (const ca of definedCas) {
    const eab = ca.options.eab;
    const parsed = inventory.cas[ca.name];
    if (eab && parsed?.eab) parsed.eab.hmacSecretArn = eab.hmacSecret.secretArn;
  }
  const constructSecretArns = new Set(definedCas.map((ca) => ca.options.eab?.hmacSecret.secretArn));
  return {
    inventory,
    hostedZoneIds: unique(inventory.certificates.flatMap((cert) => Object.values(cert.hostedZones))),
    zoneRoleArns: unique(inventory.certificates.flatMap((cert) => Object.values(cert.zoneRoleArns))),
    eabSecretArns: unique(
      Object.values(inventory.cas)
        .map((ca) => ca.eab?.hmacSecretArn)
        .filter((arn): arn is string => arn !== undefined && !constructSecretArns.has(arn)),
    ),
  };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}
