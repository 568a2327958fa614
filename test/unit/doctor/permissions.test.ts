import { runSimulation } from '@cloud-copilot/iam-simulate';
import { describe, expect, it } from 'vitest';
import { RENEWER_NAMES } from '../../../functions/cli/doctor-permissions';
import {
  type PermissionsDeps,
  type PermissionsSubject,
  preparePermissions,
} from '../../../functions/core/doctor/permissions';
import { AcmeAwsError } from '../../../functions/core/errors';
import { type NamedPolicy, policyEvaluator } from '../../../functions/core/iam/evaluate-policies';
import type { ChallengeTarget } from '../../../functions/core/iam/renewal-calls';

const ACCOUNT = '123456789012';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/acme-renewer`;
const evaluate = policyEvaluator(runSimulation);

const subject: PermissionsSubject = {
  id: 'web',
  acmRegions: [],
  directoryUrl: 'https://acme.example/directory',
};
const challenges: ChallengeTarget[] = [{ name: '_acme-challenge.example.com', zoneId: 'Z1' }];

const allowAll = (extra: Record<string, unknown>[] = []): NamedPolicy => ({
  name: 'acme-renewer/Everything',
  policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }, ...extra] },
});

function deps(policies: () => Promise<readonly NamedPolicy[]>, over: Partial<PermissionsDeps> = {}) {
  return {
    renewer: {
      roleArn: ROLE,
      deployment: {
        account: ACCOUNT,
        region: 'eu-west-1',
        bucket: 'certs-state',
        serviceName: 'acme-ari-prod',
        stateKmsKeyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/state`,
      },
    },
    reader: { policies },
    evaluate,
    names: RENEWER_NAMES,
    acmArns: async () => ({}),
    ...over,
  } satisfies PermissionsDeps;
}

describe('doctor: the renewer role against its live identity policies', () => {
  it('passes a role whose policies allow every call, and says what is not evaluated', async () => {
    const { check, judge } = await preparePermissions(deps(async () => [allowAll()]));
    expect(check).toMatchObject({ status: 'ok', subject: 'acme-renewer' });
    const verdict = await judge!(subject, challenges);
    expect(verdict.status).toBe('ok');
    expect(verdict.message).toContain('SCPs and permission boundaries are not evaluated here');
  });

  it('fails on the first denied call, naming it, why, and a statement that would allow it', async () => {
    const deny = { Sid: 'NoDns', Effect: 'Deny', Action: 'route53:ChangeResourceRecordSets', Resource: '*' };
    const { judge } = await preparePermissions(deps(async () => [allowAll([deny])]));
    const verdict = await judge!(subject, challenges);
    expect(verdict).toMatchObject({ check: 'permissions', status: 'fail', subject: 'acme-renewer' });
    expect(verdict.message).toMatch(
      /^denied route53:ChangeResourceRecordSets on arn:aws:route53:::hostedzone\/Z1 \(to write the challenge TXT at _acme-challenge\.example\.com\): explicitly denied by identity statement NoDns/,
    );
    expect(verdict.fix).toBe(
      'add to the renewer role a statement that allows it: {"Effect":"Allow","Action":"route53:ChangeResourceRecordSets","Resource":"arn:aws:route53:::hostedzone/Z1"}',
    );
  });

  it('says which condition of the closest statement failed', async () => {
    const policy: NamedPolicy = {
      name: 'acme-renewer/Dns',
      policy: {
        Statement: [
          { Effect: 'Allow', NotAction: 'route53:ChangeResourceRecordSets', Resource: '*' },
          {
            Sid: 'OtherNames',
            Effect: 'Allow',
            Action: 'route53:ChangeResourceRecordSets',
            Resource: 'arn:aws:route53:::hostedzone/Z1',
            Condition: {
              'ForAllValues:StringEquals': {
                'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['_acme-challenge.other.com'],
              },
            },
          },
        ],
      },
    };
    const { judge } = await preparePermissions(deps(async () => [policy]));
    const verdict = await judge!(subject, challenges);
    expect(verdict.status).toBe('fail');
    expect(verdict.message).toContain(
      'identity statement OtherNames (acme-renewer/Dns) grants route53:ChangeResourceRecordSets but',
    );
    expect(verdict.message).toContain('route53:ChangeResourceRecordSetsNormalizedRecordNames');
  });

  it('is a warning naming the IAM reads the operator needs when the policies cannot be read', async () => {
    const denied = async (): Promise<never> => {
      throw new AcmeAwsError('iam-failed', `IAM denied iam:ListRolePolicies on ${ROLE} to these credentials`);
    };
    const { check, judge } = await preparePermissions(deps(denied));
    expect(judge).toBeUndefined();
    expect(check).toMatchObject({ status: 'warn', subject: 'acme-renewer' });
    expect(check.message).toContain('IAM denied iam:ListRolePolicies');
    expect(check.fix).toBe(
      `grant these credentials iam:ListRolePolicies, iam:GetRolePolicy, iam:ListAttachedRolePolicies, iam:GetPolicy, iam:GetPolicyVersion on ${ROLE} and its attached policies`,
    );
  });

  it('is a warning when deployment.json names no role, or the evaluator is not installed', async () => {
    const read = async () => [allowAll()];
    const { renewer: _, ...withoutRole } = deps(read);
    expect((await preparePermissions(withoutRole)).check).toMatchObject({
      status: 'warn',
      message: 'not checked: deployment.json names no renewer role',
    });
    const { evaluate: __, ...withoutEvaluator } = deps(read);
    expect((await preparePermissions(withoutEvaluator)).check.fix).toMatch(
      /^npm install @cloud-copilot\/iam-simulate /,
    );
    expect((await preparePermissions(undefined)).check.status).toBe('warn');
  });
});
