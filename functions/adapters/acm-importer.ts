import {
  ACMClient,
  type ACMClientConfig,
  type CertificateDetail,
  DescribeCertificateCommand,
  ImportCertificateCommand,
  type KeyAlgorithm,
  ListCertificatesCommand,
  ListTagsForCertificateCommand,
  type ListTagsForCertificateCommandOutput,
} from '@aws-sdk/client-acm';
import type { KeyType } from '../core/config/inventory';
import { AcmeAwsError } from '../core/errors';
import { canonicalSerialHex, parseCertificateDer } from '../core/pki/certificate';
import { decodePem } from '../core/pki/pem';
import type { CertificateImporter, FirstImporter, ImportRequest, ImportResult } from '../core/renewal/ports';
import { awsErrorName, describeAwsError, type RetryOptions, withRetry } from './aws-retry';

/** The tag that ties an ACM certificate to its inventory entry, so a lost ARN is found again, not duplicated. */
export const CERTIFICATE_ID_TAG = 'acme-ari:certificate-id';

/**
 * Tag naming the deployment that manages a certificate. The renewer's IAM policy allows ImportCertificate only
 * with this tag in the request (first import) or on the resource (re-import), so the value must be the
 * construct's service name.
 */
export const MANAGED_BY_TAG = 'acme-ari:managed-by';

/** How {@link AcmImporter} builds its per-region clients. */
export interface AcmImporterOptions {
  /** @default `new ACMClient({ ...clientConfig, region })` */
  readonly clientFor?: (region: string) => ACMClient;
  /** Endpoint and credentials for the clients built per region. */
  readonly clientConfig?: Omit<ACMClientConfig, 'region'>;
  readonly retry?: RetryOptions;
  /** Value of the {@link MANAGED_BY_TAG} set on first import. @default no such tag */
  readonly managedBy?: string;
  /**
   * Where new certificates are created. The renewer's role may not tag certificates (IAM cannot tell tagging a
   * new certificate from tagging someone else's), so on AWS first imports go to the first-import function.
   * @default this importer creates them itself (first-import function, local runs)
   */
  readonly firstImporter?: FirstImporter;
  /** The clock that ages prepared descriptions. @default the system clock */
  readonly now?: () => Date;
}

/** Descriptions `prepare` keeps at most (one per region of the certificate being renewed). */
const MAX_PREPARED = 32;
/**
 * How old a prepared description may be when its import comes: the renewal that prepared it imports seconds later
 * (under the certificate's lease); anything older belongs to an attempt that failed in between.
 */
const PREPARED_TTL_MS = 60_000;

/** ACM's key algorithm names for our key types (DescribeCertificate `KeyAlgorithm`). */
const KEY_ALGORITHMS: Readonly<Record<KeyType, KeyAlgorithm>> = {
  'ec-p256': 'EC_prime256v1',
  'ec-p384': 'EC_secp384r1',
  'rsa-2048': 'RSA_2048',
  'rsa-3072': 'RSA_3072',
  'rsa-4096': 'RSA_4096',
};

/** Every key algorithm, because ListCertificates returns only RSA 2048 and P-256 certificates unless asked. */
const ALL_KEY_ALGORITHMS: KeyAlgorithm[] = [
  'RSA_1024',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'EC_prime256v1',
  'EC_secp384r1',
  'EC_secp521r1',
];

/**
 * True when ACM's serial names the same certificate as ours. ACM prints colon-separated hex (`0a:1b:…`); moto
 * prints the decimal integer, so a separator-free all-digit serial is also compared as decimal.
 */
export function sameSerial(acmSerial: string, serialHex: string): boolean {
  const ours = canonicalSerialHex(serialHex);
  if (canonicalSerialHex(acmSerial) === ours) return true;
  return /^\d+$/.test(acmSerial) && BigInt(acmSerial).toString(16) === ours;
}

/** DNS names a certificate covers (SANs, else the subject CN), lower case; the PEM's first block is read. */
function namesOf(certPem: string): Set<string> {
  const [block] = decodePem(certPem);
  if (block === undefined) throw new AcmeAwsError('pki-invalid', 'No PEM block in the certificate');
  const certificate = parseCertificateDer(block.der);
  const names = certificate.dnsNames.map((name) => name.toLowerCase());
  if (names.length === 0 && certificate.subjectCommonName !== undefined) {
    names.push(certificate.subjectCommonName.toLowerCase());
  }
  return new Set(names);
}

/**
 * Imports certificates into ACM without growing the account's import count needlessly: re-imports in place
 * (attachments on ALB, CloudFront and API Gateway keep working), skips a serial ACM already holds, and finds an
 * ARN that was lost from state by its `acme-ari:certificate-id` tag.
 */
export class AcmImporter implements CertificateImporter {
  readonly #clients = new Map<string, ACMClient>();
  readonly #options: AcmImporterOptions;
  /** Descriptions `prepare` started, by region and ARN, each taken once by the import that follows. */
  readonly #prepared = new Map<string, { at: number; detail: Promise<CertificateDetail | undefined> }>();

  constructor(options: AcmImporterOptions = {}) {
    this.#options = options;
  }

  prepare(target: { readonly region: string; readonly arn: string }): void {
    // Bounded: a description no import took (the renewal failed before it) is dropped with the others.
    if (this.#prepared.size >= MAX_PREPARED) this.#prepared.clear();
    const detail = this.#describe(target.region, target.arn);
    detail.catch(() => {});
    this.#prepared.set(`${target.region} ${target.arn}`, { at: this.#now(), detail });
  }

  #now(): number {
    return (this.#options.now?.() ?? new Date()).getTime();
  }

  /**
   * What the recorded ARN holds: the description `prepare` started when it is recent (a failed one is asked
   * again), else a new one.
   */
  async #describeRecorded(region: string, arn: string): Promise<CertificateDetail | undefined> {
    const key = `${region} ${arn}`;
    const prepared = this.#prepared.get(key);
    this.#prepared.delete(key);
    if (prepared === undefined || this.#now() - prepared.at > PREPARED_TTL_MS)
      return this.#describe(region, arn);
    return prepared.detail.catch(() => this.#describe(region, arn));
  }

  async importCertificate(request: ImportRequest): Promise<ImportResult> {
    const { region } = request;
    let existing: { arn: string; detail: CertificateDetail; keyTypeKnown?: KeyType } | undefined;
    if (request.arn !== undefined) {
      const detail = await this.#describeRecorded(region, request.arn);
      // A recorded ARN that was deleted by hand is not an error: import anew (and find by tag first).
      if (detail !== undefined) existing = { arn: request.arn, detail, keyTypeKnown: request.arnKeyType };
    }
    if (existing === undefined) {
      const found = await this.#findByTag(request);
      if (found !== undefined) {
        const detail = await this.#describe(region, found);
        if (detail !== undefined) existing = { arn: found, detail };
      }
    }

    if (existing === undefined) return this.#create(request);
    if (existing.detail.Serial !== undefined && sameSerial(existing.detail.Serial, request.serial)) {
      return { region, arn: existing.arn, imported: false };
    }
    const sameKeyType =
      existing.keyTypeKnown !== undefined
        ? existing.keyTypeKnown === request.keyType
        : existing.detail.KeyAlgorithm === KEY_ALGORITHMS[request.keyType];
    if (!sameKeyType) {
      // ACM keeps one key algorithm per ARN; the old ARN stays for the caller to retire once nothing uses it.
      const created = await this.#create(request);
      return { ...created, replacedArn: existing.arn };
    }
    return { region, arn: await this.#import(request, existing.arn), imported: true };
  }

  /**
   * First import only, as the first-import function runs it: a certificate already tagged with this id and of
   * this key type is returned as it is (never overwritten: that is a re-import, the renewer's job), otherwise the
   * certificate is imported new with the managed-by and certificate-id tags.
   */
  async importNew(request: ImportRequest): Promise<ImportResult> {
    const found = await this.#findByTag(request);
    if (found !== undefined) {
      const detail = await this.#describe(request.region, found);
      if (detail !== undefined && detail.KeyAlgorithm === KEY_ALGORITHMS[request.keyType]) {
        return { region: request.region, arn: found, imported: false };
      }
    }
    return { region: request.region, arn: await this.#import(request, undefined), imported: true };
  }

  /** A new certificate: through the first importer when there is one, else here. */
  async #create(request: ImportRequest): Promise<ImportResult> {
    const delegate = this.#options.firstImporter;
    if (delegate === undefined) {
      return { region: request.region, arn: await this.#import(request, undefined), imported: true };
    }
    const created = await delegate.importNew({
      region: request.region,
      certificateId: request.certificateId,
      serial: request.serial,
      keyType: request.keyType,
    });
    if (created.imported) return created;
    // It found a certificate of ours that our own lookup missed: bring it up to date in place.
    const detail = await this.#describe(request.region, created.arn);
    if (detail?.Serial !== undefined && sameSerial(detail.Serial, request.serial)) return created;
    return { region: request.region, arn: await this.#import(request, created.arn), imported: true };
  }

  #client(region: string): ACMClient {
    let client = this.#clients.get(region);
    if (client === undefined) {
      client = this.#options.clientFor?.(region) ?? new ACMClient({ ...this.#options.clientConfig, region });
      this.#clients.set(region, client);
    }
    return client;
  }

  async #call<T>(
    region: string,
    arn: string | undefined,
    what: string,
    operation: () => Promise<T>,
  ): Promise<T> {
    try {
      return await withRetry(operation, this.#options.retry);
    } catch (error) {
      const target = arn === undefined ? '' : ` ${arn}`;
      throw new AcmeAwsError(
        'import-failed',
        `ACM ${what}${target} in ${region} failed: ${describeAwsError(error)}`,
        { cause: error },
      );
    }
  }

  async #describe(region: string, arn: string): Promise<CertificateDetail | undefined> {
    try {
      const out = await withRetry(
        () => this.#client(region).send(new DescribeCertificateCommand({ CertificateArn: arn })),
        this.#options.retry,
      );
      return out.Certificate;
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return undefined;
      throw new AcmeAwsError(
        'import-failed',
        `ACM DescribeCertificate ${arn} in ${region} failed: ${describeAwsError(error)}`,
        { cause: error },
      );
    }
  }

  /** Finds an imported certificate tagged with our id among those covering one of the new certificate's names. */
  async #findByTag(request: ImportRequest): Promise<string | undefined> {
    const { region } = request;
    const client = this.#client(region);
    let names: Set<string>;
    try {
      names = namesOf(request.files.certPem);
    } catch (error) {
      throw new AcmeAwsError(
        'import-failed',
        `Certificate ${request.certificateId} for ${region} is not a parseable PEM certificate; nothing was imported`,
        { cause: error },
      );
    }
    let nextToken: string | undefined;
    do {
      const page = await this.#call(region, undefined, 'ListCertificates', () =>
        client.send(
          new ListCertificatesCommand({ Includes: { keyTypes: ALL_KEY_ALGORITHMS }, NextToken: nextToken }),
        ),
      );
      for (const summary of page.CertificateSummaryList ?? []) {
        const arn = summary.CertificateArn;
        if (arn === undefined || (summary.Type !== undefined && summary.Type !== 'IMPORTED')) continue;
        // Only certificates sharing a name are candidates: one tag read per lookalike, not per certificate.
        const covered = [summary.DomainName, ...(summary.SubjectAlternativeNameSummaries ?? [])];
        if (!covered.some((name) => name !== undefined && names.has(name.toLowerCase()))) continue;
        let tags: ListTagsForCertificateCommandOutput;
        try {
          tags = await withRetry(
            () => client.send(new ListTagsForCertificateCommand({ CertificateArn: arn })),
            this.#options.retry,
          );
        } catch (error) {
          // The renewer may read tags only of certificates carrying our managed-by tag: a denial means "not ours".
          if (awsErrorName(error) === 'AccessDeniedException' || awsErrorName(error) === 'AccessDenied')
            continue;
          throw new AcmeAwsError(
            'import-failed',
            `ACM ListTagsForCertificate ${arn} in ${region} failed: ${describeAwsError(error)}`,
            { cause: error },
          );
        }
        if (tags.Tags?.some((t) => t.Key === CERTIFICATE_ID_TAG && t.Value === request.certificateId))
          return arn;
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined);
    return undefined;
  }

  async #import(request: ImportRequest, arn: string | undefined): Promise<string> {
    const encode = (text: string) => new TextEncoder().encode(text);
    const chain = request.files.chainPem.trim();
    const out = await this.#call(
      request.region,
      arn,
      arn === undefined ? 'ImportCertificate' : 're-import into',
      () =>
        this.#client(request.region).send(
          new ImportCertificateCommand({
            Certificate: encode(request.files.certPem),
            PrivateKey: encode(request.files.privateKeyPem),
            ...(chain === '' ? {} : { CertificateChain: encode(request.files.chainPem) }),
            // ACM rejects Tags on a re-import; the ARN keeps the tags of its first import.
            ...(arn === undefined
              ? {
                  Tags: [
                    { Key: CERTIFICATE_ID_TAG, Value: request.certificateId },
                    ...(this.#options.managedBy === undefined
                      ? []
                      : [{ Key: MANAGED_BY_TAG, Value: this.#options.managedBy }]),
                    ...Object.entries(request.tags)
                      .filter(([key]) => key !== CERTIFICATE_ID_TAG && key !== MANAGED_BY_TAG)
                      .map(([Key, Value]) => ({ Key, Value })),
                  ],
                }
              : { CertificateArn: arn }),
          }),
        ),
    );
    if (out.CertificateArn === undefined) {
      throw new AcmeAwsError('import-failed', `ACM ImportCertificate in ${request.region} returned no ARN`);
    }
    return out.CertificateArn;
  }
}
