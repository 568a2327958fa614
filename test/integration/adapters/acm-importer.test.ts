import {
  ACMClient,
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
} from '@aws-sdk/client-acm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { AcmImporter, sameSerial } from '../../../functions/adapters/acm-importer';
import type { KeyType } from '../../../functions/core/config/inventory';
import { hasCode } from '../../../functions/core/errors';
import type { CertificateFiles, ImportRequest } from '../../../functions/core/renewal/ports';
import { awsTestConfig, type MotoServer, startMoto } from '../../../testbed/moto';
import { x509 } from '../../support/pki/x509';

let moto: MotoServer;
let acm: ACMClient;
let ca: { cert: x509.X509Certificate; keys: CryptoKeyPair };

const ALGORITHMS: Record<'ec-p256' | 'rsa-2048', RsaHashedKeyGenParams | EcKeyGenParams> = {
  'ec-p256': { name: 'ECDSA', namedCurve: 'P-256' },
  'rsa-2048': {
    name: 'RSASSA-PKCS1-v1_5',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-256',
  },
};

let serialCounter = 0x1000;

/** A real CA-signed leaf for `names`, so moto parses it like ACM would. */
async function issue(
  keyType: 'ec-p256' | 'rsa-2048',
  names: string[],
): Promise<{ files: CertificateFiles; serial: string }> {
  const keys = (await crypto.subtle.generateKey(ALGORITHMS[keyType], true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  serialCounter += 1;
  const serial = `7f${serialCounter.toString(16).padStart(30, '0')}`;
  const now = Date.now();
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${names[0]}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 45 * 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
    ],
  });
  const pkcs8 = await crypto.subtle.exportKey('pkcs8', keys.privateKey);
  const certPem = leaf.toString('pem');
  const chainPem = ca.cert.toString('pem');
  return {
    serial,
    files: {
      certPem,
      chainPem,
      fullchainPem: `${certPem}\n${chainPem}`,
      privateKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
    },
  };
}

beforeAll(async () => {
  moto = await startMoto();
  acm = new ACMClient(awsTestConfig(moto.endpoint, 'eu-west-1'));
  const keys = (await crypto.subtle.generateKey(ALGORITHMS['ec-p256'], true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Test Root',
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 365 * 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  ca = { cert, keys };
});

afterAll(async () => {
  await moto?.stop();
});

beforeEach(async () => {
  await moto.reset();
});

/** An importer whose ACM calls are counted per command name. */
function importer() {
  const calls: string[] = [];
  const imp = new AcmImporter({
    clientFor: (region) => {
      const client = new ACMClient(awsTestConfig(moto.endpoint, region));
      client.middlewareStack.add(
        (next, context) => async (args) => {
          calls.push(String(context.commandName).replace(/Command$/, ''));
          return next(args);
        },
        { step: 'initialize' },
      );
      return client;
    },
  });
  return { imp, calls };
}

function request(
  cert: { files: CertificateFiles; serial: string },
  keyType: KeyType,
  extra: Partial<ImportRequest> = {},
) {
  return {
    region: 'eu-west-1',
    certificateId: 'www',
    files: cert.files,
    serial: cert.serial,
    keyType,
    tags: { team: 'edge' },
    ...extra,
  } satisfies ImportRequest;
}

async function tagsOf(arn: string): Promise<Record<string, string>> {
  const out = await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
  return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key, t.Value]));
}

async function serialOf(arn: string): Promise<string> {
  const out = await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }));
  return out.Certificate?.Serial ?? '';
}

async function count(): Promise<number> {
  return (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList?.length ?? 0;
}

describe('AcmImporter against moto', () => {
  it('imports a first certificate with the id tag and the inventory tags', async () => {
    const cert = await issue('ec-p256', ['www.example.com', 'example.com']);
    const { imp } = importer();

    const result = await imp.importCertificate(request(cert, 'ec-p256'));

    expect(result).toEqual({
      region: 'eu-west-1',
      arn: expect.stringMatching(/^arn:aws:acm:eu-west-1:/),
      imported: true,
    });
    expect(await tagsOf(result.arn)).toEqual({ 'acme-ari:certificate-id': 'www', team: 'edge' });
    expect(sameSerial(await serialOf(result.arn), cert.serial)).toBe(true);
  });

  it('re-imports a renewal into the same ARN, which then shows the new serial', async () => {
    const first = await issue('ec-p256', ['www.example.com']);
    const renewed = await issue('ec-p256', ['www.example.com']);
    const { imp, calls } = importer();
    const { arn } = await imp.importCertificate(request(first, 'ec-p256'));

    const result = await imp.importCertificate(request(renewed, 'ec-p256', { arn, arnKeyType: 'ec-p256' }));

    expect(result).toEqual({ region: 'eu-west-1', arn, imported: true });
    expect(sameSerial(await serialOf(arn), renewed.serial)).toBe(true);
    expect(sameSerial(await serialOf(arn), first.serial)).toBe(false);
    // (moto drops tags on re-import where ACM keeps them, so tags are not asserted here.)
    expect(calls.filter((c) => c === 'ImportCertificate')).toHaveLength(2);
    expect(await count()).toBe(1);
  });

  it('a description prepared while the files are stored serves the re-import: one DescribeCertificate', async () => {
    const first = await issue('ec-p256', ['www.example.com']);
    const renewed = await issue('ec-p256', ['www.example.com']);
    const { imp, calls } = importer();
    const { arn } = await imp.importCertificate(request(first, 'ec-p256'));
    calls.length = 0;

    imp.prepare({ region: 'eu-west-1', arn });
    // Asked at once, before the import is: the import then takes that answer instead of asking again.
    await vi.waitFor(() => expect(calls).toEqual(['DescribeCertificate']));
    const result = await imp.importCertificate(request(renewed, 'ec-p256', { arn, arnKeyType: 'ec-p256' }));

    expect(result).toEqual({ region: 'eu-west-1', arn, imported: true });
    expect(calls).toEqual(['DescribeCertificate', 'ImportCertificate']);
    expect(sameSerial(await serialOf(arn), renewed.serial)).toBe(true);
    // Taken once: the next import of that ARN asks ACM again.
    calls.length = 0;
    expect(await imp.importCertificate(request(renewed, 'ec-p256', { arn, arnKeyType: 'ec-p256' }))).toEqual({
      region: 'eu-west-1',
      arn,
      imported: false,
    });
    expect(calls).toEqual(['DescribeCertificate']);
  });

  it('skips the import when ACM already holds the serial', async () => {
    const cert = await issue('ec-p256', ['www.example.com']);
    const { imp, calls } = importer();
    const { arn } = await imp.importCertificate(request(cert, 'ec-p256'));

    const again = await imp.importCertificate(request(cert, 'ec-p256', { arn, arnKeyType: 'ec-p256' }));

    expect(again).toEqual({ region: 'eu-west-1', arn, imported: false });
    expect(calls.filter((c) => c === 'ImportCertificate')).toHaveLength(1);
  });

  it('finds a lost ARN by its tag instead of importing a duplicate', async () => {
    const first = await issue('ec-p256', ['www.example.com']);
    const renewed = await issue('ec-p256', ['www.example.com']);
    const { imp } = importer();
    // A lookalike for the same name but another inventory id must not be picked.
    const other = await imp.importCertificate({ ...request(first, 'ec-p256'), certificateId: 'other' });
    const { arn } = await imp.importCertificate(request(first, 'ec-p256'));

    expect(await imp.importCertificate(request(first, 'ec-p256'))).toEqual({
      region: 'eu-west-1',
      arn,
      imported: false,
    });
    const result = await imp.importCertificate(request(renewed, 'ec-p256'));

    expect(result).toEqual({ region: 'eu-west-1', arn, imported: true });
    expect(result.arn).not.toBe(other.arn);
    expect(sameSerial(await serialOf(arn), renewed.serial)).toBe(true);
    expect(await count()).toBe(2);
  });

  it('imports a new ARN when the key type changes and reports the replaced one', async () => {
    const rsa = await issue('rsa-2048', ['www.example.com']);
    const ec = await issue('ec-p256', ['www.example.com']);
    const { imp } = importer();
    const old = await imp.importCertificate(request(rsa, 'rsa-2048'));

    const result = await imp.importCertificate(
      request(ec, 'ec-p256', { arn: old.arn, arnKeyType: 'rsa-2048' }),
    );

    expect(result).toEqual({
      region: 'eu-west-1',
      arn: expect.any(String),
      imported: true,
      replacedArn: old.arn,
    });
    expect(result.arn).not.toBe(old.arn);
    expect(await tagsOf(result.arn)).toEqual({ 'acme-ari:certificate-id': 'www', team: 'edge' });
    expect(sameSerial(await serialOf(old.arn), rsa.serial)).toBe(true);
  });

  it('imports anew when the recorded ARN was deleted by hand', async () => {
    const cert = await issue('ec-p256', ['www.example.com']);
    const { imp } = importer();
    const old = await imp.importCertificate(request(cert, 'ec-p256'));
    await acm.send(new DeleteCertificateCommand({ CertificateArn: old.arn }));

    const result = await imp.importCertificate(
      request(cert, 'ec-p256', { arn: old.arn, arnKeyType: 'ec-p256' }),
    );

    expect(result.imported).toBe(true);
    expect(result.arn).not.toBe(old.arn);
    expect(result.replacedArn).toBeUndefined();
  });

  it('reports a re-import ACM rejects as import-failed naming the region and the ARN', async () => {
    const cert = await issue('ec-p256', ['www.example.com']);
    const renewed = await issue('ec-p256', ['www.example.com']);
    const { imp } = importer();
    const { arn } = await imp.importCertificate({ ...request(cert, 'ec-p256'), region: 'ap-south-1' });
    const broken = {
      ...renewed.files,
      certPem: renewed.files.certPem.replace(/[A-Za-z]{8}\n/, 'AAAAAAAA\n'),
    };

    const attempt = imp.importCertificate({
      ...request(renewed, 'ec-p256', { arn, arnKeyType: 'ec-p256' }),
      files: broken,
      region: 'ap-south-1',
    });

    await expect(attempt).rejects.toSatisfy(
      (e) => hasCode(e, 'import-failed') && e.message.includes('ap-south-1') && e.message.includes(arn),
    );
  });

  it('refuses a certificate that is not PEM before calling ACM', async () => {
    const cert = await issue('ec-p256', ['www.example.com']);
    const { imp, calls } = importer();
    const attempt = imp.importCertificate({
      ...request(cert, 'ec-p256'),
      files: { ...cert.files, certPem: 'junk' },
    });
    await expect(attempt).rejects.toSatisfy((e) => hasCode(e, 'import-failed'));
    expect(calls).not.toContain('ImportCertificate');
  });
});
