import {
  ACMClient,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  LimitExceededException,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
} from '@aws-sdk/client-acm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  AcmImporter,
  CERTIFICATE_ID_TAG,
  MANAGED_BY_TAG,
  sameSerial,
} from '../../../functions/adapters/acm-importer';
import { hasCode } from '../../../functions/core/errors';
import { buildTestChain } from '../pki/fixtures';

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

describe('AcmImporter.prepare', () => {
  const prepared = (now: () => Date) =>
    new AcmImporter({ clientFor: () => client, retry: { sleep: async () => {}, random: () => 1 }, now });

  it('a failed prepared description is asked again by the import, which then succeeds', async () => {
    acm
      .on(DescribeCertificateCommand)
      .rejectsOnce(Object.assign(new Error('denied for a moment'), { name: 'AccessDeniedException' }))
      .resolves({ Certificate: { CertificateArn: arn, Serial: '09:99', KeyAlgorithm: 'EC_prime256v1' } });
    acm.on(ImportCertificateCommand).resolves({ CertificateArn: arn });
    const imp = prepared(() => new Date('2026-12-02T00:00:00Z'));

    imp.prepare({ region: request.region, arn });
    expect(await imp.importCertificate(request)).toEqual({ region: 'eu-central-1', arn, imported: true });
    expect(acm.commandCalls(DescribeCertificateCommand)).toHaveLength(2);
  });

  it('a description prepared more than a minute before the import is not trusted: ACM is asked again', async () => {
    acm.on(ImportCertificateCommand).resolves({ CertificateArn: arn });
    let now = new Date('2026-12-02T00:00:00Z');
    const imp = prepared(() => now);

    imp.prepare({ region: request.region, arn });
    await new Promise((resolve) => setImmediate(resolve));
    now = new Date(now.getTime() + 61_000);
    // ACM meanwhile holds the new serial (another attempt imported it): the stale answer would import it again.
    acm.on(DescribeCertificateCommand).resolves({
      Certificate: { CertificateArn: arn, Serial: '0a:1b:2c', KeyAlgorithm: 'EC_prime256v1' },
    });
    expect(await imp.importCertificate(request)).toEqual({ region: 'eu-central-1', arn, imported: false });
    expect(acm.commandCalls(DescribeCertificateCommand)).toHaveLength(2);
    expect(acm.commandCalls(ImportCertificateCommand)).toHaveLength(0);
  });
});

describe('AcmImporter under the least-privilege policy', () => {
  it('tags a first import with the managed-by tag and skips certificates whose tags it may not read', async () => {
    const chain = await buildTestChain({ names: ['www.example.test'] });
    const foreign = 'arn:aws:acm:eu-central-1:123456789012:certificate/foreign';
    acm.on(ListCertificatesCommand).resolves({
      CertificateSummaryList: [{ CertificateArn: foreign, DomainName: 'www.example.test', Type: 'IMPORTED' }],
    });
    // The policy allows ListTagsForCertificate only on certificates carrying our managed-by tag.
    acm
      .on(ListTagsForCertificateCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    acm.on(ImportCertificateCommand).resolves({ CertificateArn: arn });
    const result = await new AcmImporter({
      clientFor: () => client,
      managedBy: 'acme-ari-prod',
    }).importCertificate({
      ...request,
      arn: undefined,
      arnKeyType: undefined,
      files: { ...request.files, certPem: chain.leaf.pem },
      tags: { team: 'web', [MANAGED_BY_TAG]: 'spoofed' },
    });
    expect(result).toMatchObject({ arn, imported: true });
    const sent = acm.commandCalls(ImportCertificateCommand)[0]!.args[0].input;
    expect(sent.CertificateArn).toBeUndefined();
    expect(sent.Tags).toEqual([
      { Key: CERTIFICATE_ID_TAG, Value: 'www' },
      { Key: MANAGED_BY_TAG, Value: 'acme-ari-prod' },
      { Key: 'team', Value: 'web' },
    ]);
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

describe('AcmImporter with a first importer (the renewer on AWS)', () => {
  it('never imports a new certificate itself: the first importer creates it, the renewer sends no tags', async () => {
    acm.on(ListCertificatesCommand).resolves({ CertificateSummaryList: [] });
    const asked: unknown[] = [];
    const renewer = new AcmImporter({
      clientFor: () => client,
      managedBy: 'svc',
      firstImporter: {
        importNew: async (r) => {
          asked.push(r);
          return {
            region: r.region,
            arn: 'arn:aws:acm:eu-central-1:123456789012:certificate/new',
            imported: true,
          };
        },
      },
    });
    const chain = await buildTestChain({ names: ['www.example.test'] });
    const result = await renewer.importCertificate({
      ...request,
      files: { ...request.files, certPem: chain.leaf.pem },
      arn: undefined,
      arnKeyType: undefined,
    });
    expect(result).toEqual({
      region: 'eu-central-1',
      arn: 'arn:aws:acm:eu-central-1:123456789012:certificate/new',
      imported: true,
    });
    // The request names the certificate; the files (and so the private key) never travel.
    expect(asked).toEqual([
      { region: 'eu-central-1', certificateId: 'www', serial: '0a1b2c', keyType: 'ec-p256' },
    ]);
    expect(acm.commandCalls(ImportCertificateCommand)).toHaveLength(0);
  });

  it('re-imports in place (no tags) over a recorded ARN of ours', async () => {
    acm.on(ImportCertificateCommand).resolves({ CertificateArn: arn });
    const renewer = new AcmImporter({
      clientFor: () => client,
      firstImporter: { importNew: async () => expect.unreachable('a re-import needs no first import') },
    });
    expect(await renewer.importCertificate(request)).toEqual({ region: 'eu-central-1', arn, imported: true });
    const input = acm.commandCalls(ImportCertificateCommand)[0]!.args[0].input;
    expect(input.CertificateArn).toBe(arn);
    expect(input.Tags).toBeUndefined();
  });

  it('importNew returns a certificate already tagged with this id and key type instead of importing twice', async () => {
    acm.on(ListCertificatesCommand).resolves({
      CertificateSummaryList: [{ CertificateArn: arn, DomainName: 'www.example.test', Type: 'IMPORTED' }],
    });
    acm.on(ListTagsForCertificateCommand).resolves({ Tags: [{ Key: CERTIFICATE_ID_TAG, Value: 'www' }] });
    const chain = await buildTestChain({ names: ['www.example.test'] });
    const creator = new AcmImporter({ clientFor: () => client, managedBy: 'svc' });
    const files = { ...request.files, certPem: chain.leaf.pem };
    expect(await creator.importNew({ ...request, files, arn: undefined })).toEqual({
      region: 'eu-central-1',
      arn,
      imported: false,
    });
    expect(acm.commandCalls(ImportCertificateCommand)).toHaveLength(0);
  });

  it('importNew tags what it creates as this deployment’s', async () => {
    acm.on(ListCertificatesCommand).resolves({ CertificateSummaryList: [] });
    acm.on(ImportCertificateCommand).resolves({ CertificateArn: arn });
    const chain = await buildTestChain({ names: ['www.example.test'] });
    const creator = new AcmImporter({ clientFor: () => client, managedBy: 'svc' });
    await creator.importNew({
      ...request,
      files: { ...request.files, certPem: chain.leaf.pem },
      arn: undefined,
    });
    const input = acm.commandCalls(ImportCertificateCommand)[0]!.args[0].input;
    expect(input.CertificateArn).toBeUndefined();
    expect(input.Tags).toEqual(
      expect.arrayContaining([
        { Key: MANAGED_BY_TAG, Value: 'svc' },
        { Key: CERTIFICATE_ID_TAG, Value: 'www' },
      ]),
    );
  });
});
