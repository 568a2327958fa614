import {
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  IAMClient,
  type IAMClientConfig,
  ListAttachedRolePoliciesCommand,
  ListRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import type { RolePolicyReader } from '../core/doctor/permissions';
import { AcmeAwsError } from '../core/errors';
import type { NamedPolicy, PolicyDocument } from '../core/iam/evaluate-policies';
import { awsErrorName, describeAwsError } from './aws-retry';

const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation']);

/** The role name of a role ARN (`arn:aws:iam::1:role/path/name` → `name`). */
export function roleNameOf(roleArn: string): string {
  const match = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
  if (match === null) throw new AcmeAwsError('iam-failed', `${roleArn} is not an IAM role ARN`);
  return match[1]!;
}

/**
 * A policy document as IAM returns it: URL-encoded JSON (RFC 3986).
 * @see https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRolePolicy.html ("The policy document returned in this structure is URL-encoded compliant with RFC 3986")
 */
export function decodePolicyDocument(encoded: string, where: string): PolicyDocument {
  let text = encoded;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    // Not encoded (some emulators answer the JSON as is): parse it as it came.
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AcmeAwsError('iam-failed', `the policy document of ${where} is not JSON`, { cause: error });
  }
  const doc = parsed as { Version?: unknown; Statement?: unknown };
  if (doc === null || typeof doc !== 'object' || doc.Statement === undefined) {
    throw new AcmeAwsError('iam-failed', `the policy document of ${where} has no Statement`);
  }
  const statements = [doc.Statement].flat().filter((s) => s !== null && typeof s === 'object');
  return {
    ...(typeof doc.Version === 'string' ? { Version: doc.Version } : {}),
    Statement: statements as PolicyDocument['Statement'],
  };
}

/** Reads a role's live identity policies: its inline policies and the default version of each attached one. */
export class IamRolePolicies implements RolePolicyReader {
  readonly #client: IAMClient;

  constructor(options: { client?: IAMClient; clientConfig?: IAMClientConfig } = {}) {
    this.#client = options.client ?? new IAMClient(options.clientConfig ?? {});
  }

  async policies(roleArn: string): Promise<readonly NamedPolicy[]> {
    const RoleName = roleNameOf(roleArn);
    const policies: NamedPolicy[] = [];
    let marker: string | undefined;
    do {
      const page = await this.#call('iam:ListRolePolicies', roleArn, () =>
        this.#client.send(new ListRolePoliciesCommand({ RoleName, Marker: marker })),
      );
      for (const PolicyName of page.PolicyNames ?? []) {
        const out = await this.#call('iam:GetRolePolicy', roleArn, () =>
          this.#client.send(new GetRolePolicyCommand({ RoleName, PolicyName })),
        );
        const name = `${RoleName}/${PolicyName}`;
        policies.push({ name, policy: decodePolicyDocument(out.PolicyDocument ?? '', name) });
      }
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker !== undefined);
    do {
      const page = await this.#call('iam:ListAttachedRolePolicies', roleArn, () =>
        this.#client.send(new ListAttachedRolePoliciesCommand({ RoleName, Marker: marker })),
      );
      for (const attached of page.AttachedPolicies ?? []) {
        if (attached.PolicyArn !== undefined) policies.push(await this.#managed(attached.PolicyArn));
      }
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker !== undefined);
    return policies;
  }

  destroy(): void {
    this.#client.destroy();
  }

  async #managed(PolicyArn: string): Promise<NamedPolicy> {
    const policy = await this.#call('iam:GetPolicy', PolicyArn, () =>
      this.#client.send(new GetPolicyCommand({ PolicyArn })),
    );
    const VersionId = policy.Policy?.DefaultVersionId;
    if (VersionId === undefined) {
      throw new AcmeAwsError('iam-failed', `IAM names no default version of ${PolicyArn}`);
    }
    const version = await this.#call('iam:GetPolicyVersion', PolicyArn, () =>
      this.#client.send(new GetPolicyVersionCommand({ PolicyArn, VersionId })),
    );
    return {
      name: PolicyArn,
      policy: decodePolicyDocument(version.PolicyVersion?.Document ?? '', PolicyArn),
    };
  }

  async #call<T>(permission: string, resource: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      const denied = DENIED.has(awsErrorName(error) ?? '');
      throw new AcmeAwsError(
        'iam-failed',
        denied
          ? `IAM denied ${permission} on ${resource} to these credentials`
          : `IAM ${permission} on ${resource} failed: ${describeAwsError(error)}`,
        { cause: error },
      );
    }
  }
}
