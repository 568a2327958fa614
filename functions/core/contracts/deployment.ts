import * as z from 'zod';

/**
 * `deployment.json`, written next to the inventory by every `cdk deploy`: what a local run (the CLI's
 * `renew --now`, `check`, `status`) needs to act exactly as the deployed functions do — the service name that
 * is the ACM managed-by tag, the key-material KMS key, the scheduler's interval and the forced-renewal limit —
 * and what `doctor` needs to judge the renewer role's live policy (the role, the state key, the event bus, the
 * first-import function).
 */
export const DEPLOYMENT_KEY = 'deployment.json';

export const deploymentSchema = z.object({
  serviceName: z.string().min(1),
  region: z.string().min(1),
  scheduleIntervalMinutes: z.number().int().min(1),
  forcedRenewalIntervalMinutes: z.number().int().min(0),
  keyMaterialKmsKeyId: z.string().min(1).optional(),
  renewalQueueUrl: z.string().min(1).optional(),
  /** What `doctor` judges the live policy with: the renewer's role and what its renewal calls touch. */
  renewerRoleArn: z.string().min(1).optional(),
  /** The state bucket's default encryption key (inventory, state documents, certificates, leases). */
  stateKmsKeyArn: z.string().min(1).optional(),
  /**
   * How the state bucket encrypts what is not key material: `kms` (under `stateKmsKeyArn`) or `s3-managed`
   * (SSE-S3, no key); absent in documents written before the choice existed, which always had a state key.
   */
  stateEncryption: z.enum(['kms', 's3-managed']).optional(),
  /** The event bus the renewer publishes outcomes to (absent: the account's default bus). */
  eventBusName: z.string().min(1).optional(),
  /** The function the renewer invokes for a certificate's first import into a region. */
  firstImportFunctionName: z.string().min(1).optional(),
  /** The external id the renewer assumes cross-account zone roles with. */
  zoneRoleExternalId: z.string().min(1).optional(),
});
export type Deployment = z.infer<typeof deploymentSchema>;
