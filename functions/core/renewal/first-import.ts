import { parseInventoryLenient } from '../config/inventory';
import type { FirstImportRequest } from '../contracts/first-import';
import { AcmeAwsError } from '../errors';
import { canonicalSerialHex, parseCertificate } from '../pki';
import type { CertificateStore, ImportRequest, ImportResult } from './ports';

/** What the first-import use case needs: the stored certificates and an importer that only creates. */
export interface FirstImportDeps {
  readonly store: CertificateStore;
  readonly importer: { importNew(request: ImportRequest): Promise<ImportResult> };
  /** The deployment's region, for entries that list no ACM regions. */
  readonly defaultRegion: string;
}

const fail = (message: string) => new AcmeAwsError('import-failed', message);

/**
 * Creates the ACM certificate for one inventory entry in one region from what the renewer stored: the request
 * only names the entry, the region and the serial it expects, so whoever can invoke this can at most import a
 * certificate we issued, where the inventory says it belongs, once.
 * @throws AcmeAwsError `import-failed` when the entry, the region or the stored certificate does not match.
 */
export async function firstImport(deps: FirstImportDeps, request: FirstImportRequest): Promise<ImportResult> {
  const { inventory } = parseInventoryLenient(await deps.store.loadInventory());
  const entry = inventory.certificates.find((c) => c.id === request.certificateId);
  if (entry === undefined) {
    throw fail(`"${request.certificateId}" is not a valid entry of the inventory; nothing was imported`);
  }
  const regions = entry.acmRegions.length > 0 ? entry.acmRegions : [deps.defaultRegion];
  if (!regions.includes(request.region)) {
    throw fail(
      `"${entry.id}" is not imported into ${request.region} (its regions: ${regions.join(', ')}); nothing was imported`,
    );
  }
  const files = await deps.store.getCertificate(entry.id);
  if (files === undefined) throw fail(`"${entry.id}" has no stored certificate yet; nothing was imported`);
  const stored = parseCertificate(files.certPem);
  if (canonicalSerialHex(stored.serialHex) !== canonicalSerialHex(request.serial)) {
    throw fail(
      `the stored certificate of "${entry.id}" is serial ${stored.serialHex}, not ${request.serial}; nothing was imported (retry after the renewal finishes)`,
    );
  }
  return deps.importer.importNew({
    region: request.region,
    certificateId: entry.id,
    files,
    serial: stored.serialHex,
    keyType: request.keyType,
    tags: entry.tags,
  });
}
