import { AcmImporter } from '../adapters/acm-importer';
import { realSleep } from '../adapters/aws-retry';
import { EventBridgePublisher } from '../adapters/eventbridge-publisher';
import { Route53DnsProvider } from '../adapters/route53-dns';
import { S3Lease } from '../adapters/s3-lease';
import { firstImport } from '../core/renewal/first-import';
import { writePersistRecords } from '../core/renewal/persist-record';
import type { DnsPersistWriter, FirstImporter, RenewalReason, SecretReader } from '../core/renewal/ports';
import { type RenewerDeps, renewCertificate } from '../core/renewal/renew-certificate';
import { RENEWER_POLL_BUDGET_MS } from '../core/time-budget';
import { RenewalScopedStore } from './renewal-scoped-store';
import { awsBase, type RuntimeConfig } from './runtime-config';
import { createSchedulerRuntime, type SchedulerRuntime } from './scheduler-runtime';
import { createStateRuntime, type StateRuntime } from './state-runtime';

export { configFromEnv, type RuntimeConfig } from './runtime-config';

/** The renewer's runtime: the shared state parts plus the renewal use case. */
export interface RenewerRuntime extends StateRuntime {
  renew(
    request: { id: string; reason: RenewalReason; force?: boolean },
    owner: string,
    progress?: RenewerDeps['progress'],
  ): ReturnType<typeof renewCertificate>;
}

/** The whole system in one process (CLI, demo, tests, benchmarks): the scheduler's parts plus the renewer's. */
export interface Runtime extends SchedulerRuntime, RenewerRuntime {}

/**
 * A port whose adapter module is loaded and built on first use: in the renewer's bundle the Lambda client (first
 * imports, persist records) and Secrets Manager (EAB) are evaluated only by the rare renewal that needs them.
 */
function onFirstUse<T>(build: () => Promise<T>): () => Promise<T> {
  let built: Promise<T> | undefined;
  return () => {
    built ??= build().catch((error: unknown) => {
      built = undefined;
      throw error;
    });
    return built;
  };
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
function firstImporterFor(config: RuntimeConfig, store: StateRuntime['store']): FirstImporter {
  const functionName = config.firstImportFunctionName;
  if (functionName !== undefined) {
    const remote = onFirstUse(async () => {
      const { LambdaFirstImporter } = await import('../adapters/lambda-first-import');
      return new LambdaFirstImporter({ functionName, clientConfig: awsBase(config) });
    });
    return { importNew: async (request) => (await remote()).importNew(request) };
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
  store: StateRuntime['store'],
  route53: Route53DnsProvider,
): DnsPersistWriter {
  const functionName = config.firstImportFunctionName;
  if (functionName !== undefined) {
    const remote = onFirstUse(async () => {
      const { LambdaPersistRecordWriter } = await import('../adapters/lambda-persist-record');
      return new LambdaPersistRecordWriter({ functionName, clientConfig: awsBase(config) });
    });
    return { write: async (request) => (await remote()).write(request) };
  }
  const local: DnsPersistWriter = {
    write: (request) => writePersistRecords({ store, dns: route53 }, request),
  };
  return config.decorate?.persistRecord?.(local) ?? local;
}

/** Secrets Manager, read only for an EAB secret (a CA account's registration), so built on first use. */
function secretsFor(config: RuntimeConfig): SecretReader {
  const reader = onFirstUse(async () => {
    const { SecretsManagerReader } = await import('../adapters/secrets-reader');
    return new SecretsManagerReader({ clientConfig: awsBase(config) });
  });
  return { getSecret: async (arn) => (await reader()).getSecret(arn) };
}

/** The whole system for one local run: the scheduler and the renewer on one state runtime. */
export function createRuntime(config: RuntimeConfig): Runtime {
  const state = createStateRuntime(config);
  return { ...createSchedulerRuntime(config, state), ...createRenewerRuntime(config, state) };
}

/**
 * Builds the renewer's adapters for one container, on `state` when the caller shares one with a scheduler. The
 * renewer's bundle holds this module and not the scheduler's: no SQS client, no scheduler pass.
 */
export function createRenewerRuntime(
  config: RuntimeConfig,
  state: StateRuntime = createStateRuntime(config),
): RenewerRuntime {
  const base = awsBase(config);
  const lease = new S3Lease({ bucket: config.bucket, client: state.s3, kmsReader: state.kmsReader });
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
    firstImporter: firstImporterFor(config, state.store),
  });
  const importer = config.decorate?.importer?.(acm) ?? acm;
  const persistRecords = persistWriterFor(config, state.store, route53);
  const events = new EventBridgePublisher({ eventBusName: config.eventBusName, clientConfig: base });
  const secrets = secretsFor(config);
  const renewerDeps = (
    owner: string,
    progress: RenewerDeps['progress'],
    markChanged: () => Promise<void>,
  ): RenewerDeps => ({
    // A store per attempt: each object read once, nothing just written read back (renewal-scoped-store.ts).
    store: new RenewalScopedStore(state.store),
    // The lease is released after the attempt's last state write: the change marker goes out at the same time.
    lease: {
      acquire: (id, holder, ttlMs, now) => lease.acquire(id, holder, ttlMs, now),
      release: async (handle) => {
        await Promise.all([lease.release(handle), markChanged()]);
      },
    },
    dns,
    persistRecords,
    importer,
    events,
    secrets,
    transport: state.transport,
    fetch: state.fetch,
    clock: state.clock,
    sleep: realSleep,
    random: Math.random,
    owner,
    progress,
    // Leave a margin inside the Lambda limit to checkpoint and release the lease (core/time-budget.ts).
    pollTimeoutMs: RENEWER_POLL_BUDGET_MS,
  });
  return {
    ...state,
    renew: async (request, owner, progress) => {
      let marked: Promise<void> | undefined;
      // Whatever the attempt wrote, the next scheduler pass reads this state again instead of trusting its index.
      const markChanged = () => {
        marked ??= state.index.markChanged(request.id).catch(() => {});
        return marked;
      };
      try {
        return await renewCertificate(renewerDeps(owner, progress, markChanged), {
          ...request,
          defaultRegion: config.region,
          // The renewer agrees with the scheduler that enqueued the certificate (RFC 9773 §4.2 lookahead).
          lookaheadMs: config.scheduleIntervalMs,
          ...(config.forcedRenewalMinIntervalMs === undefined
            ? {}
            : { forcedRenewalMinIntervalMs: config.forcedRenewalMinIntervalMs }),
        });
      } finally {
        // Marked with the lease's release, or here when no lease was taken.
        await markChanged();
      }
    },
  };
}
