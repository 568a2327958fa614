import {
  ACMClient,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  LimitExceededException,
} from '@aws-sdk/client-acm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AcmImporter, sameSerial } from '../../../functions/adapters/acm-importer';
import { hasCode } from '../../../functions/core/errors';

const client = new ACMClient({
  region: 'eu-central-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const acm = mockClient(client);
const arn = 'arn:aws:acm:eu-central-1:123456789012:certificate/abc';
const slept: number[] = [];

const importer = () =>
  new AcmImporter({
    clientFor: () => client,
    retry: {
      sleep: async (ms) => {
        slept.push(ms);
      },
      random: () => 1,
    },
  });

const request = {
  region: 'eu-central-1',
  certificateId: 'www',
  files: { certPem: 'cert', chainPem: 'chain', fullchainPem: 'full', privateKeyPem: 'key' },
  serial: '0a1b2c',
  keyType: 'ec-p256' as const,
  arn,
  arnKeyType: 'ec-p256' as const,
  tags: {},
};

beforeEach(() => {
  acm.reset();
  slept.length = 0;
  acm.on(DescribeCertificateCommand).resolves({
    Certificate: { CertificateArn: arn, Serial: '09:99', KeyAlgorithm: 'EC_prime256v1' },
  });
});

describe('AcmImporter faults', () => {
  it('reports an import ACM refuses as import-failed with region and ARN, without retrying', async () => {
    acm
      .on(ImportCertificateCommand)
      .rejects(
        new LimitExceededException({ message: 'import quota exceeded', $metadata: { httpStatusCode: 400 } }),
      );
    const error = await importer()
      .importCertificate(request)
      .catch((e: unknown) => e);
    expect(hasCode(error, 'import-failed')).toBe(true);
    expect((error as Error).message).toContain('eu-central-1');
    expect((error as Error).message).toContain(arn);
    expect((error as Error).message).toContain('LimitExceededException');
    expect(acm.commandCalls(ImportCertificateCommand)).toHaveLength(1);
  });

  it('retries a throttled re-import and sends no tags with it', async () => {
    acm
      .on(ImportCertificateCommand)
      .rejectsOnce(Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: {} }))
      .resolves({ CertificateArn: arn });

    expect(await importer().importCertificate(request)).toEqual({
      region: 'eu-central-1',
      arn,
      imported: true,
    });
    const inputs = acm.commandCalls(ImportCertificateCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(2);
    expect(inputs[1]?.CertificateArn).toBe(arn);
    expect(inputs[1]?.Tags).toBeUndefined();
    expect(slept).toEqual([200]);
  });

  it('reports a failing DescribeCertificate as import-failed', async () => {
    acm
      .on(DescribeCertificateCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(importer().importCertificate(request)).rejects.toSatisfy(
      (e) => hasCode(e, 'import-failed') && e.message.includes(arn),
    );
  });
});

describe('sameSerial', () => {
  it.each([
    ['0a:1b:2c', '0a1b2c', true],
    ['0A:1B:2C', 'a1b2c', true],
    ['00:0a:1b:2c', '0a1b2c', true],
    ['0a:1b:2d', '0a1b2c', false],
    // moto prints the decimal integer: 0x0a1b2c = 662316.
    ['662316', '0a1b2c', true],
    ['662317', '0a1b2c', false],
  ])('ACM %s vs ours %s → %s', (acmSerial, ours, expected) => {
    expect(sameSerial(acmSerial, ours)).toBe(expected);
  });
});
