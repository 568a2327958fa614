import { describeError } from '../errors';
import type { NamedPolicy, PolicyDocument, PolicyEvaluator, Verdict } from '../iam/evaluate-policies';
import {
  type ChallengeTarget,
  type RenewalSubject,
  type RenewerDeployment,
  type RenewerNames,
  renewalCalls,
  renewalRequests,
} from '../iam/renewal-calls';
import type { DoctorCheck } from './check';

/** What reading a role's identity policies takes; the doctor names these when the operator lacks one. */
export const POLICY_READ_PERMISSIONS = [
  'iam:ListRolePolicies',
  'iam:GetRolePolicy',
  'iam:ListAttachedRolePolicies',
  'iam:GetPolicy',
  'iam:GetPolicyVersion',
] as const;

/** Said with every verdict: what this check judges and what it cannot see. */
export const PERMISSIONS_SCOPE =
  'identity policies only: bucket, key and queue policies, SCPs and permission boundaries are not evaluated here (a key policy is taken to delegate to IAM, as the construct writes it)';

/**
 * KMS never allows by identity policy alone: the key policy must let IAM decide. The doctor reads no key policy, so
 * it judges with the construct's (the account trusted for `kms:*`), leaving only the identity policies to decide.
 * @see https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
 */
function delegatingKeyPolicy(account: string): PolicyDocument {
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' },
    ],
  };
}

/** Reads a role's live identity policies (inline and attached), URL-decoded. */
export interface RolePolicyReader {
  policies(roleArn: string): Promise<readonly NamedPolicy[]>;
}

/** What the permissions check needs; any part missing makes it a warning that says which. */
export interface PermissionsDeps {
  /** The deployed renewer as deployment.json describes it; absent for a deployment that does not name it. */
  readonly renewer?: { readonly roleArn: string; readonly deployment: RenewerDeployment };
  readonly reader: RolePolicyReader;
  /** Absent when the CLI runs without the optional policy evaluator package. */
  readonly evaluate?: PolicyEvaluator;
  readonly names: RenewerNames;
  /** The ACM certificate imported per region for a certificate id, from its state document. */
  acmArns(id: string): Promise<Readonly<Record<string, string>>>;
}

/** The certificate-level part: what its renewal touches besides the deployment. */
export type PermissionsSubject = Omit<RenewalSubject, 'challenges' | 'acmArns'>;

/** Judges one certificate's renewal against the policies read once for the run. */
export type PermissionsJudge = (
  subject: PermissionsSubject,
  challenges: readonly ChallengeTarget[],
) => Promise<DoctorCheck>;

const roleName = (roleArn: string) => roleArn.split('/').at(-1) ?? roleArn;

function notChecked(subject: string, message: string, fix: string): DoctorCheck {
  return { check: 'permissions', status: 'warn', subject, message: `not checked: ${message}`, fix };
}

/**
 * Reads the renewer role's policies once: a deployment-level verdict, plus the judge of each certificate when
 * they could be read. Unreadable policies are a warning naming what the operator needs, never a failure.
 */
export async function preparePermissions(
  deps: PermissionsDeps | undefined,
): Promise<{ check: DoctorCheck; judge?: PermissionsJudge }> {
  if (deps?.renewer === undefined) {
    return {
      check: notChecked(
        'renewer role',
        'deployment.json names no renewer role',
        'cdk deploy this version of the construct (it writes renewerRoleArn and the state encryption), then run doctor again',
      ),
    };
  }
  const { roleArn } = deps.renewer;
  if (deps.evaluate === undefined) {
    return {
      check: notChecked(
        roleName(roleArn),
        'the IAM policy evaluator @cloud-copilot/iam-simulate is not installed',
        'npm install @cloud-copilot/iam-simulate next to acme-ari-aws (AGPL-3.0, about 19 MB with its IAM data), then run doctor again',
      ),
    };
  }
  let policies: readonly NamedPolicy[];
  try {
    policies = await deps.reader.policies(roleArn);
  } catch (error) {
    return {
      check: notChecked(
        roleName(roleArn),
        `the renewer role's policies could not be read (${describeError(error)})`,
        `grant these credentials ${POLICY_READ_PERMISSIONS.join(', ')} on ${roleArn} and its attached policies`,
      ),
    };
  }
  const check: DoctorCheck = {
    check: 'permissions',
    status: 'ok',
    subject: roleName(roleArn),
    message: `read ${policies.length} identity ${policies.length === 1 ? 'policy' : 'policies'} of ${roleArn}; each certificate's renewal is judged against them (${PERMISSIONS_SCOPE})`,
  };
  return { check, judge: renewalJudge(deps, deps.renewer, deps.evaluate, policies) };
}

/** Judges each certificate's planned calls in order; one verdict per distinct authorization for the run. */
function renewalJudge(
  deps: PermissionsDeps,
  { roleArn, deployment }: NonNullable<PermissionsDeps['renewer']>,
  evaluate: PolicyEvaluator,
  policies: readonly NamedPolicy[],
): PermissionsJudge {
  const verdicts = new Map<string, Promise<Verdict>>();
  return async (subject, challenges) => {
    const renewal = { ...subject, challenges, acmArns: await deps.acmArns(subject.id) };
    const requests = renewalRequests(renewalCalls(renewal, deployment, deps.names), deployment);
    for (const { call, request } of requests) {
      const key = JSON.stringify(request);
      let verdict = verdicts.get(key);
      if (verdict === undefined) {
        verdict = evaluate({
          principalArn: roleArn,
          account: deployment.account,
          region: deployment.region,
          identityPolicies: policies,
          ...(request.target?.kind === 'kms-key'
            ? { resourcePolicy: delegatingKeyPolicy(deployment.account) }
            : {}),
          request,
        });
        verdicts.set(key, verdict);
      }
      const { result, why, suggested } = await verdict;
      if (result === 'Allowed') continue;
      return {
        check: 'permissions',
        status: 'fail',
        subject: roleName(roleArn),
        message: `denied ${request.action} on ${request.resource} (to ${call.purpose}): ${why[0] ?? result}; ${PERMISSIONS_SCOPE}`,
        fix: `add to the renewer role a statement that allows it: ${JSON.stringify(suggested)}`,
      };
    }
    return {
      check: 'permissions',
      status: 'ok',
      subject: roleName(roleArn),
      message: `the renewer role allows every call a renewal makes (${requests.length} authorizations); ${PERMISSIONS_SCOPE}`,
    };
  };
}
