// First: every schema below is built without zod's JIT (one-shot-parsing.ts says why).
import '../composition/one-shot-parsing';
import { AcmImporter } from '../adapters/acm-importer';
import { Route53DnsProvider } from '../adapters/route53-dns';
import { S3CertificateStore } from '../adapters/s3-store';
import { awsBase, configFromEnv, type RuntimeConfig, s3ClientConfig } from '../composition/runtime-config';
import { ConfigError } from '../core/config/inventory';
import { type FirstImportResponse, firstImportRequestSchema } from '../core/contracts/first-import';
import { type PersistRecordResponse, persistRecordRequestSchema } from '../core/contracts/persist-record';
import { describeError } from '../core/errors';
import { firstImport } from '../core/renewal/first-import';
import { writePersistRecords } from '../core/renewal/persist-record';
import { logger } from './telemetry';

/** The first-import use case wired to AWS: the state bucket and an ACM importer that only creates. */
export function createFirstImport(config: RuntimeConfig) {
  const store = new S3CertificateStore({ bucket: config.bucket, clientConfig: s3ClientConfig(config) });
  const { region: _region, ...acmClientConfig } = awsBase(config);
  const importer = new AcmImporter({ managedBy: config.serviceName, clientConfig: acmClientConfig });
  const dns = new Route53DnsProvider({ clientConfig: awsBase(config), stsConfig: awsBase(config) });
  return (request: unknown): Promise<FirstImportResponse | PersistRecordResponse> => {
    // The same function writes dns-persist-01 records: the renewer's role holds no Route 53 write permission.
    const persist = persistRecordRequestSchema.safeParse(request);
    if (persist.success) return writePersistRecords({ store, dns }, persist.data);
    const parsed = firstImportRequestSchema.safeParse(request);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new ConfigError('the first-import request', problems);
    }
    return firstImport({ store, importer, defaultRegion: config.region }, parsed.data);
  };
}

let run: ReturnType<typeof createFirstImport> | undefined;

/** Lambda entry point, invoked synchronously by the renewer only (its payload names a certificate, no key). */
export const handler = async (event: unknown): Promise<FirstImportResponse | PersistRecordResponse> => {
  run ??= createFirstImport(configFromEnv(process.env, 'first-import'));
  try {
    const result = await run(event);
    logger.info('first_import_done', { ...result });
    return result;
  } catch (error) {
    logger.error('first_import_failed', { error: describeError(error) });
    throw error;
  }
};
