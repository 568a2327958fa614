import { hasCode } from '../../../functions/core/errors';
import {
  type AwsCall,
  type CommandPermissions,
  type IamRequest,
  type MappingEnv,
  permissionsOf as productPermissionsOf,
  queueArnOf as productQueueArnOf,
  iamRequestsFor as productRequestsFor,
} from '../../../functions/core/iam/requests';
import { IamEvaluationError } from './errors';
import type { FunctionRole, RoleContext } from './role';

// The mapping of SDK commands to IAM authorizations is product code (functions/core/iam/requests.ts, which the
// doctor uses too); the suite adds what only a recording has: whose call it was, in which test, against what.

export {
  type CallOutcome,
  COMMAND_PERMISSIONS,
  type CommandPermissions,
  type IamRequest,
  type MappingEnv,
  normalizedRecordName,
  type ResourcePolicyTarget,
} from '../../../functions/core/iam/requests';

// Only the suite names services by SDK client or package (the recorder and the static check of the bundles).
/** IAM service prefix of an SDK client, from its `serviceId` (`Route 53` → `route53`). */
export const SERVICE_PREFIX_BY_SDK_ID: Readonly<Record<string, string>> = {
  S3: 's3',
  'Route 53': 'route53',
  ACM: 'acm',
  SQS: 'sqs',
  EventBridge: 'events',
  'Secrets Manager': 'secretsmanager',
  STS: 'sts',
  Lambda: 'lambda',
  CloudWatch: 'cloudwatch',
};

/** IAM service prefix of an `@aws-sdk/client-*` package. */
export const SERVICE_PREFIX_BY_PACKAGE: Readonly<Record<string, string>> = {
  '@aws-sdk/client-s3': 's3',
  '@aws-sdk/client-route-53': 'route53',
  '@aws-sdk/client-acm': 'acm',
  '@aws-sdk/client-sqs': 'sqs',
  '@aws-sdk/client-eventbridge': 'events',
  '@aws-sdk/client-secrets-manager': 'secretsmanager',
  '@aws-sdk/client-sts': 'sts',
  '@aws-sdk/client-lambda': 'lambda',
  '@aws-sdk/client-cloudwatch': 'cloudwatch',
};

/** One AWS SDK call a function made, with what IAM needs to judge it (never key material). */
export interface RecordedCall extends AwsCall {
  readonly role: FunctionRole;
  readonly context: RoleContext;
  /** Key of the inventory that was in the state bucket when the call was made. */
  readonly inventory?: string;
  /** Set when the client used credentials of an assumed role: the call is that role's, not the function's. */
  readonly assumedRoleArn?: string;
  /** The test that was running. */
  readonly test?: string;
}

/** Input fields that carry bodies, certificates or keys: never recorded. */
const DROPPED_FIELDS = new Set([
  'Body',
  'PrivateKey',
  'Certificate',
  'CertificateChain',
  'SecretString',
  'SecretBinary',
]);

function withoutMaterial(value: unknown): unknown {
  if (value instanceof Uint8Array || (value !== null && typeof value === 'object' && 'pipe' in value))
    return '[bytes]';
  if (Array.isArray(value)) return value.map(withoutMaterial);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !DROPPED_FIELDS.has(k))
        .map(([k, v]) => [k, withoutMaterial(v)]),
    );
  }
  return value;
}

/** A command input as it may be recorded: bodies, certificates, keys and secrets dropped, bytes elided. */
export function recordableInput(input: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return withoutMaterial(input) as Record<string, unknown>;
}

/** The product's mapping failures, as the suite's `unmapped-command` (reported as calls that cannot be judged). */
function judged<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (hasCode(error, 'iam-failed')) {
      throw new IamEvaluationError('unmapped-command', error.message, { cause: error });
    }
    throw error;
  }
}

/** The table entry of a command, or an error naming the command that must be added. */
export function permissionsOf(service: string, command: string): CommandPermissions {
  return judged(() => productPermissionsOf(service, command));
}

/** The authorizations IAM performs for one recorded call. */
export function iamRequestsFor(call: RecordedCall, env: MappingEnv): IamRequest[] {
  return judged(() => productRequestsFor(call, env));
}

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` (or moto's `http://host/<account>/<name>`) as an ARN. */
export function queueArnOf(queueUrl: string, region: string): string {
  return judged(() => productQueueArnOf(queueUrl, region));
}
