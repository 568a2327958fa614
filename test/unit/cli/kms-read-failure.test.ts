import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../../../functions/cli/failure';
import { runCli } from '../../../functions/cli/run';
import type { StatusReport } from '../../../functions/cli/status-report';

// moto enforces no KMS permissions, so the answer S3 gives an operator without kms:Decrypt on an object's key is
// mocked, on every S3 client the CLI builds (its deployment.json read and its runtime's).
const s3 = mockClient(S3Client);
afterAll(() => s3.restore());

const decryptDenied = new S3ServiceException({
  name: 'AccessDenied',
  $fault: 'client',
  message:
    'User: arn:aws:iam::123456789012:user/operator is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext because no identity-based policy allows the kms:Decrypt action',
  $metadata: { httpStatusCode: 403 },
});
const noSuchKey = new S3ServiceException({
  name: 'NoSuchKey',
  $fault: 'client',
  message: 'The specified key does not exist.',
  $metadata: { httpStatusCode: 404 },
});
const body = (value: unknown) => ({
  Body: { transformToString: async () => JSON.stringify(value) } as never,
});
const inventory = { certificates: [{ id: 'www', ca: 'letsencrypt', domains: ['www.example.test'] }] };

const env = {
  STATE_BUCKET: 'state',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'a',
  AWS_SECRET_ACCESS_KEY: 'b',
};

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { io: { out: (t) => out.push(t), err: (t) => err.push(t) }, env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The operator's wording and its fix, never the Lambdas'. */
function expectOperatorMessage(text: string, key: string): void {
  expect(text).toContain(
    `Reading s3://state/${key} failed: the object is encrypted with a KMS key these credentials cannot use (`,
  );
  expect(text).toContain(
    'give them kms:Decrypt on that key, or run the command with credentials that have it',
  );
  expect(text).toContain('`acme-ari migrate-encryption --bucket state`');
  expect(text).not.toContain('this function');
}

beforeEach(() => {
  s3.reset();
  s3.on(GetObjectCommand, { Key: 'deployment.json' }).rejects(noSuchKey);
});

describe('a state object the operator’s credentials cannot decrypt', () => {
  it.each([
    ['status', 'inventory.json'],
    ['check', 'inventory.json'],
    ['renew', 'inventory.json'],
  ])('%s names these credentials and the fix for the inventory', async (command, key) => {
    s3.on(GetObjectCommand, { Key: key }).rejects(decryptDenied);
    const { code, err } = await cli(command, ...(command === 'renew' ? ['www', '--now'] : []));
    expect(code).toBe(EXIT.failed);
    expectOperatorMessage(err, key);
  });

  it('status names these credentials for a state document', async () => {
    s3.on(GetObjectCommand, { Key: 'inventory.json' }).resolves(body(inventory));
    s3.on(GetObjectCommand, { Key: 'certificates/www/state.json' }).rejects(decryptDenied);
    const { code, err } = await cli('status');
    expect(code).toBe(EXIT.failed);
    expectOperatorMessage(err, 'certificates/www/state.json');
  });

  it('status still prints the table when only the schedule index is unreadable, and says why', async () => {
    s3.on(GetObjectCommand, { Key: 'inventory.json' }).resolves(body(inventory));
    s3.on(GetObjectCommand, { Key: 'certificates/www/state.json' }).rejects(noSuchKey);
    s3.on(GetObjectCommand, { Key: 'schedule-index.json' }).rejects(decryptDenied);
    const table = await cli('status');
    expect(table.code).toBe(EXIT.ok);
    expect(table.out).toMatch(/^www\s+www\.example\.test\s+not issued/m);
    expect(table.out).toContain("schedule index not read (next checks are the state documents'): ");
    expectOperatorMessage(table.out, 'schedule-index.json');
    const json = JSON.parse((await cli('status', '--json')).out) as StatusReport;
    expectOperatorMessage(json.scheduleIndexError ?? '', 'schedule-index.json');
  });
});
