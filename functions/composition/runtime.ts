import { AcmImporter } from '../adapters/acm-importer';
import { realSleep } from '../adapters/aws-retry';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { LambdaFirstImporter } from '../adapters/lambda-first-import';
import { LambdaPersistRecordWriter } from '../adapters/lambda-persist-record';
import { Route53DnsProvider } from '../adapters/route53-dns';
import { S3Lease } from '../adapters/s3-lease';
import { SecretsManagerReader } from '../adapters/secrets-reader';
import { firstImport } from '../core/renewal/first-import';
import { writePersistRecords } from '../core/renewal/persist-record';
import type { DnsPersistWriter, FirstImporter, RenewalReason } from '../core/renewal/ports';
import { type RenewerDeps, renewCertificate } from '../core/renewal/renew-certificate';
import { RENEWER_POLL_BUDGET_MS } from '../core/time-budget';
import { awsBase, type RuntimeConfig, s3ClientConfig } from './runtime-config';
import { createSchedulerRuntime, type SchedulerRuntime } from './scheduler-runtime';

export { configFromEnv, type RuntimeConfig } from './runtime-config';

/** Everything a handler calls, built once per container: the scheduler's parts plus the renewer's. */
export interface Runtime extends SchedulerRuntime {
  renew(
    request: { id: string; reason: RenewalReason; force?: boolean },
    owner: string,
    progress?: RenewerDeps['progress'],
  ): ReturnType<typeof renewCertificate>;
}

/** ACM clients are built per region by the importer: everything of the base settings but the region. */
function acmClientConfig(config: RuntimeConfig) {
  const { region: _region, ...rest } = awsBase(config);
  return rest;
}

/**
 * First imports: on AWS the first-import function (the renewer's role may not tag certificates); in local runs
 * (demo, CLI, tests) the same use case in-process, with the operator's credentials.
 */
function firstImporterFor(config: RuntimeConfig, store: SchedulerRuntime['store']): FirstImporter {
  if (config.firstImportFunctionName !== undefined) {
    return new LambdaFirstImporter({
      functionName: config.firstImportFunctionName,
      clientConfig: awsBase(config),
    });
  }
  const creator = new AcmImporter({ managedBy: config.serviceName, clientConfig: acmClientConfig(config) });
  const local: FirstImporter = {
    importNew: (request) => firstImport({ store, importer: creator, defaultRegion: config.region }, request),
  };
  return config.decorate?.firstImport?.(local) ?? local;
}

/**
 * The persist-record step (dns-persist-01): on AWS the first-import function writes the records (the renewer's
 * role may not); in local runs the same use case in-process.
 */
function persistWriterFor(
  config: RuntimeConfig,
  store: SchedulerRuntime['store'],
  route53: Route53DnsProvider,
): DnsPersistWriter {
  if (config.firstImportFunctionName !== undefined) {
    return new LambdaPersistRecordWriter({
      functionName: config.firstImportFunctionName,
      clientConfig: awsBase(config),
    });
  }
  const local: DnsPersistWriter = {
    write: (request) => writePersistRecords({ store, dns: route53 }, request),
  };
  return config.decorate?.persistRecord?.(local) ?? local;
}

/** Builds the AWS adapters and the ACME transports for one container (or one local run). */
export function createRuntime(config: RuntimeConfig): Runtime {
  const scheduling = createSchedulerRuntime(config);
  const base = awsBase(config);
  const lease = new S3Lease({ bucket: config.bucket, clientConfig: s3ClientConfig(config) });
  const route53 = new Route53DnsProvider({
    clientConfig: base,
    stsConfig: base,
    ...(config.zoneRoleExternalId ? { externalId: config.zoneRoleExternalId } : {}),
    ...(config.dnsPollIntervalMs ? { pollIntervalMs: config.dnsPollIntervalMs } : {}),
  });
  const dns = config.decorate?.dns?.(route53) ?? route53;
  const acm = new AcmImporter({
    managedBy: config.serviceName,
    clientConfig: acmClientConfig(config),
    firstImporter: firstImporterFor(config, scheduling.store),
  });
  const importer = config.decorate?.importer?.(acm) ?? acm;
  const persistRecords = persistWriterFor(config, scheduling.store, route53);
  const events = new EventBridgePublisher({ eventBusName: config.eventBusName, clientConfig: base });
  const secrets = new SecretsManagerReader({ clientConfig: base });
  const renewerDeps = (owner: string, progress?: RenewerDeps['progress']): RenewerDeps => ({
    store: scheduling.store,
    lease,
    dns,
    persistRecords,
    importer,
    events,
    secrets,
    transport: scheduling.transport,
    fetch: scheduling.fetch,
    clock: scheduling.clock,
    sleep: realSleep,
    random: Math.random,
    owner,
    progress,
    // Leave a margin inside the Lambda limit to checkpoint and release the lease (core/time-budget.ts).
    pollTimeoutMs: RENEWER_POLL_BUDGET_MS,
  });
  return {
    ...scheduling,
    renew: async (request, owner, progress) => {
      try {
        return await renewCertificate(renewerDeps(owner, progress), {
          ...request,
          defaultRegion: config.region,
          // The renewer agrees with the scheduler that enqueued the certificate (RFC 9773 §4.2 lookahead).
          lookaheadMs: config.scheduleIntervalMs,
          ...(config.forcedRenewalMinIntervalMs === undefined
            ? {}
            : { forcedRenewalMinIntervalMs: config.forcedRenewalMinIntervalMs }),
        });
      } finally {
        // Whatever the attempt wrote, the next scheduler pass reads this state again instead of trusting its index.
        await scheduling.index.markChanged(request.id).catch(() => {});
      }
    },
  };
}
