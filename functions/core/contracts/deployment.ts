import * as z from '../zod';

/**
 * `deployment.json`, written next to the inventory by every `cdk deploy`: what a local run (the CLI's
 * `renew --now`, `check`, `status`) needs to act exactly as the deployed functions do — the service name that
 * is the ACM managed-by tag, the key-material KMS key, the scheduler's interval and the forced-renewal limit —
 * and what `doctor` needs to judge the renewer role's live policy (the role, the state key, the event bus, the
 * first-import function).
 */
export const DEPLOYMENT_KEY = 'deployment.json';

export const deploymentSchema = z.object({
  serviceName: z.string().check(z.minLength(1)),
  region: z.string().check(z.minLength(1)),
  scheduleIntervalMinutes: z.number().check(z.int(), z.gte(1)),
  forcedRenewalIntervalMinutes: z.number().check(z.int(), z.gte(0)),
  keyMaterialKmsKeyId: z.optional(z.string().check(z.minLength(1))),
  renewalQueueUrl: z.optional(z.string().check(z.minLength(1))),
  /** What `doctor` judges the live policy with: the renewer's role and what its renewal calls touch. */
  renewerRoleArn: z.optional(z.string().check(z.minLength(1))),
  /** The state bucket's default encryption key (inventory, state documents, certificates, leases). */
  stateKmsKeyArn: z.optional(z.string().check(z.minLength(1))),
  /**
   * How the state bucket encrypts what is not key material: `kms` (under `stateKmsKeyArn`) or `s3-managed`
   * (SSE-S3, no key); absent in documents written before the choice existed, which always had a state key.
   */
  stateEncryption: z.optional(z.enum(['kms', 's3-managed'])),
  /** The event bus the renewer publishes outcomes to (absent: the account's default bus). */
  eventBusName: z.optional(z.string().check(z.minLength(1))),
  /** The function the renewer invokes for a certificate's first import into a region. */
  firstImportFunctionName: z.optional(z.string().check(z.minLength(1))),
  /** The external id the renewer assumes cross-account zone roles with. */
  zoneRoleExternalId: z.optional(z.string().check(z.minLength(1))),
});
export type Deployment = z.infer<typeof deploymentSchema>;
