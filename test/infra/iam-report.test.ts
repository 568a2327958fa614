import { describe, expect, it } from 'vitest';
import { type RecordedCall, recordableInput } from '../support/iam/actions';
import { REGION } from '../support/iam/evaluate';
import { reportFile } from '../support/iam/report';

// What a test file's author sees when a function makes a call its role cannot: the recorder's report, built
// from recorded calls exactly as the setup file builds it after the file's tests.

const BUCKET = 'report-state';
const inventory = {
  certificates: [{ id: 'a', domains: ['example.com'], hostedZones: { 'example.com': 'Z1' } }],
};
const world = { inventories: new Map([['inv', inventory]]), zones: new Map([['example.com', 'Z1']]) };

function call(
  role: RecordedCall['role'],
  service: string,
  command: string,
  input: Record<string, unknown>,
): RecordedCall {
  return {
    role,
    service,
    command,
    region: REGION,
    input,
    outcome: { ok: true },
    context: { bucket: BUCKET, region: REGION, serviceName: 'acme-ari-report' },
    inventory: 'inv',
    test: 'a test',
  };
}

describe('the IAM report of a test file', () => {
  it('passes a file whose calls are all allowed, counting them per role and action', async () => {
    const report = await reportFile(
      [call('scheduler', 's3', 'GetObjectCommand', { Bucket: BUCKET, Key: 'inventory.json' })],
      world,
    );
    expect(report.failure).toBeUndefined();
    // The inventory is SSE-S3 (the bucket default): S3 asks KMS nothing for it.
    expect(report.summary.byRole.scheduler).toEqual({ 's3:GetObject': { allowed: 1, denied: 0 } });
  });

  it('fails naming role, action, resource, context and a statement that would allow the call', async () => {
    const report = await reportFile(
      [
        call('renewer', 'route53', 'GetHostedZoneCommand', { Id: 'Z9' }),
        call('scheduler', 's3', 'GetObjectCommand', { Bucket: BUCKET, Key: 'certificates/a/privkey.pem' }),
      ],
      world,
    );
    expect(report.failure).toContain('IAM would deny 2 of the 2 AWS calls');
    expect(report.failure).toContain('renewer: route53:GetHostedZone on arn:aws:route53:::hostedzone/Z9');
    expect(report.failure).toContain(
      '"Effect":"Allow","Action":"route53:GetHostedZone","Resource":"arn:aws:route53:::hostedzone/Z9"',
    );
    expect(report.failure).toContain(
      'scheduler: s3:GetObject on arn:aws:s3:::report-state/certificates/a/privkey.pem',
    );
    expect(report.summary.denied.map((d) => `${d.role} ${d.action}`)).toEqual([
      'renewer route53:GetHostedZone',
      'scheduler s3:GetObject',
    ]);
  });

  it('fails naming a command the table cannot judge', async () => {
    const report = await reportFile(
      [call('renewer', 'route53', 'DeleteHostedZoneCommand', { Id: 'Z1' })],
      world,
    );
    expect(report.failure).toContain(
      'route53 DeleteHostedZoneCommand is not in functions/core/iam/requests.ts',
    );
  });

  it('records no certificate, private key, chain or object body', () => {
    const bytes = new TextEncoder().encode('-----BEGIN PRIVATE KEY-----');
    const recorded = recordableInput({
      CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/x',
      Certificate: bytes,
      PrivateKey: bytes,
      CertificateChain: bytes,
      Nested: { Body: 'secret', Keep: 1, Raw: bytes },
    });
    expect(recorded).toEqual({
      CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/x',
      Nested: { Keep: 1, Raw: '[bytes]' },
    });
  });
});
