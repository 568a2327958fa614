import * as z from 'zod';

/**
 * `deployment.json`, written next to the inventory by every `cdk deploy`: what a local run (the CLI's
 * `renew --now`, `check`, `status`) needs to act exactly as the deployed functions do — the service name that
 * is the ACM managed-by tag, the key-material KMS key, the scheduler's interval and the forced-renewal limit.
 */
export const DEPLOYMENT_KEY = 'deployment.json';

export const deploymentSchema = z.object({
  serviceName: z.string().min(1),
  region: z.string().min(1),
  scheduleIntervalMinutes: z.number().int().min(1),
  forcedRenewalIntervalMinutes: z.number().int().min(0),
  keyMaterialKmsKeyId: z.string().min(1).optional(),
  renewalQueueUrl: z.string().min(1).optional(),
});
export type Deployment = z.infer<typeof deploymentSchema>;
