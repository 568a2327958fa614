import { CERTIFICATE_ID_TAG, MANAGED_BY_TAG } from '../adapters/acm-importer';
import { EVENT_SOURCE } from '../adapters/eventbridge-publisher';
import { IamRolePolicies } from '../adapters/iam-policies';
import { storeKeys } from '../adapters/s3-store';
import type { Deployment } from '../core/contracts/deployment';
import type { PermissionsDeps } from '../core/doctor/permissions';
import { type PolicyEvaluator, policyEvaluator, type RunSimulation } from '../core/iam/evaluate-policies';
import type { RenewerDeployment, RenewerNames } from '../core/iam/renewal-calls';
import type { Target } from './target';

/**
 * The evaluator on `@cloud-copilot/iam-simulate` when it is installed, else `undefined` (the check then says how to
 * add it). The package is not a dependency of acme-ari-aws (AGPL-3.0, and about 19 MB with its IAM data, for one
 * doctor check): a checkout has it as a development dependency, an installation once the operator adds it; the
 * build keeps it out of the CLI bundle (scripts/build-package.ts).
 */
export async function loadPolicyEvaluator(
  load: () => Promise<{ runSimulation: RunSimulation }> = () => import('@cloud-copilot/iam-simulate'),
): Promise<PolicyEvaluator | undefined> {
  try {
    return policyEvaluator((await load()).runSimulation);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return undefined;
    throw error;
  }
}

/** The names the renewer's adapters use, so the planned calls are the ones the renewer sends. */
export const RENEWER_NAMES: RenewerNames = {
  keys: storeKeys,
  eventSource: EVENT_SOURCE,
  // Route53Dns's default; the composition root sets no other.
  zoneRoleSessionName: 'acme-ari-aws',
  tags: { managedBy: MANAGED_BY_TAG, certificateId: CERTIFICATE_ID_TAG },
};

/** The renewer as deployment.json describes it, when it names the role and the state key. */
export function renewerOf(
  deployment: Deployment | undefined,
  bucket: string,
): PermissionsDeps['renewer'] | undefined {
  const roleArn = deployment?.renewerRoleArn;
  const stateKmsKeyArn = deployment?.stateKmsKeyArn;
  // A document without the state key and without `s3-managed` predates both: the doctor cannot tell the key.
  const stateKnown = stateKmsKeyArn !== undefined || deployment?.stateEncryption === 's3-managed';
  if (deployment === undefined || roleArn === undefined || !stateKnown) return undefined;
  const renewer: RenewerDeployment = {
    account: roleArn.split(':')[4] ?? '',
    region: deployment.region,
    bucket,
    serviceName: deployment.serviceName,
    ...(stateKmsKeyArn === undefined ? {} : { stateKmsKeyArn }),
    ...(deployment.keyMaterialKmsKeyId ? { keyMaterialKmsKeyArn: deployment.keyMaterialKmsKeyId } : {}),
    ...(deployment.eventBusName ? { eventBusName: deployment.eventBusName } : {}),
    ...(deployment.firstImportFunctionName
      ? { firstImportFunctionName: deployment.firstImportFunctionName }
      : {}),
    ...(deployment.zoneRoleExternalId ? { zoneRoleExternalId: deployment.zoneRoleExternalId } : {}),
  };
  return { roleArn, deployment: renewer };
}

/** Everything the doctor's permissions check reads, for a target; `destroy` closes the IAM client. */
export async function permissionsFor(
  target: Target,
  evaluate?: PolicyEvaluator,
): Promise<{ deps: PermissionsDeps; destroy(): void }> {
  const { config, store } = target.runtime;
  const reader = new IamRolePolicies({
    clientConfig: {
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.credentials ? { credentials: config.credentials } : {}),
    },
  });
  const renewer = renewerOf(target.deployment, config.bucket);
  const evaluator = evaluate ?? (await loadPolicyEvaluator());
  const deps: PermissionsDeps = {
    reader,
    names: RENEWER_NAMES,
    ...(renewer ? { renewer } : {}),
    ...(evaluator ? { evaluate: evaluator } : {}),
    acmArns: async (id) =>
      Object.fromEntries(
        Object.entries((await store.getState(id))?.acm ?? {}).map(([region, a]) => [region, a.arn]),
      ),
  };
  return { deps, destroy: () => reader.destroy() };
}
