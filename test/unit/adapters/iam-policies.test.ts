import { IAMClient, IAMServiceException, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { decodePolicyDocument, IamRolePolicies, roleNameOf } from '../../../functions/adapters/iam-policies';
import { hasCode } from '../../../functions/core/errors';

// Reading real policies is proven against moto (test/integration/cli/doctor-permissions.test.ts); moto enforces no
// IAM, so the operator's AccessDenied is mocked here.

const client = new IAMClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const iam = mockClient(client);
const ROLE = 'arn:aws:iam::123456789012:role/service/acme-renewer';

describe('IamRolePolicies', () => {
  it('names the IAM call the operator was denied, on which role', async () => {
    iam.on(ListRolePoliciesCommand).rejects(
      new IAMServiceException({
        name: 'AccessDenied',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message:
          'User: arn:aws:iam::123456789012:user/ops is not authorized to perform: iam:ListRolePolicies',
      }),
    );
    const error = await new IamRolePolicies({ client }).policies(ROLE).catch((e: unknown) => e);
    expect(hasCode(error, 'iam-failed')).toBe(true);
    expect((error as Error).message).toBe(`IAM denied iam:ListRolePolicies on ${ROLE} to these credentials`);
    expect(iam.commandCalls(ListRolePoliciesCommand)[0]!.args[0].input.RoleName).toBe('acme-renewer');
  });

  it('takes the role name from a role ARN with a path, and refuses anything else', () => {
    expect(roleNameOf(ROLE)).toBe('acme-renewer');
    expect(() => roleNameOf('arn:aws:iam::123456789012:user/ops')).toThrow(/is not an IAM role ARN/);
  });

  it('decodes the URL-encoded documents IAM returns, one statement or many', () => {
    const statement = { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::b/a+b%c' };
    const encoded = encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: statement }));
    expect(decodePolicyDocument(encoded, 'p')).toEqual({ Version: '2012-10-17', Statement: [statement] });
    expect(() => decodePolicyDocument('%7B', 'acme-renewer/Broken')).toThrow(
      'the policy document of acme-renewer/Broken is not JSON',
    );
  });
});
