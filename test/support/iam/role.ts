import { AsyncLocalStorage } from 'node:async_hooks';

/** The Lambda functions whose AWS calls the suite judges against the synthesized IAM policies. */
export type FunctionRole = 'scheduler' | 'renewer' | 'importer';

/** Every function role, in the order reports list them. */
export const FUNCTION_ROLES: readonly FunctionRole[] = ['scheduler', 'renewer', 'importer'];

/**
 * What the deployment the calls belong to looks like from the test bed: the state bucket and queue the runtime
 * was configured with, so the evaluator can put the test's real names where the template has tokens.
 */
export interface RoleContext {
  readonly bucket: string;
  readonly queueUrl?: string;
  /** The runtime's region (the stack's). */
  readonly region: string;
  /** The runtime's service name: the `acme-ari:managed-by` tag value and the construct's `serviceName` prop. */
  readonly serviceName?: string;
}

interface Active {
  readonly role: FunctionRole;
  readonly context: RoleContext;
}

const storage = new AsyncLocalStorage<Active>();

/**
 * Runs `fn` as the named function: every AWS SDK call it makes (awaited or not) is recorded under that role,
 * while calls outside any role (test setup, reading results) are not.
 */
export function runAs<T>(role: FunctionRole, context: RoleContext, fn: () => T): T {
  return storage.run({ role, context }, fn);
}

/** The function role of the code running now, if any. */
export function activeRole(): Active | undefined {
  return storage.getStore();
}

/** Runs `fn` as the operator (outside every function role): its calls are not recorded. */
export function asOperator<T>(fn: () => T): T {
  return storage.exit(fn);
}

/** A first importer (`RuntimeConfig.decorate.firstImport` wraps one): creates ACM certificates. */
interface FirstImporterLike {
  importNew(...args: never[]): unknown;
}

/** A persist-record writer (`RuntimeConfig.decorate.persistRecord` wraps one): writes dns-persist-01 records. */
interface PersistWriterLike {
  write(...args: never[]): unknown;
}

/** The parts of a runtime config the roles need. */
interface RoleConfig {
  readonly bucket: string;
  readonly queueUrl?: string;
  readonly region: string;
  readonly serviceName?: string;
  readonly decorate?: object;
}

function contextOf(config: RoleConfig): RoleContext {
  return {
    bucket: config.bucket,
    region: config.region,
    ...(config.queueUrl === undefined ? {} : { queueUrl: config.queueUrl }),
    ...(config.serviceName === undefined ? {} : { serviceName: config.serviceName }),
  };
}

/**
 * The same config with first imports running as the importer function (on AWS the renewer invokes it; locally
 * the runtime imports in-process through `decorate.firstImport`), keeping any decoration the test set.
 */
export function withImporterRole<C extends RoleConfig>(config: C): C {
  const context = contextOf(config);
  const decorate = (config.decorate ?? {}) as {
    firstImport?: (real: FirstImporterLike) => FirstImporterLike;
  };
  const inner = decorate.firstImport;
  const firstImport = (real: FirstImporterLike): FirstImporterLike => {
    const wrapped = inner === undefined ? real : inner(real);
    const importNew = wrapped.importNew.bind(wrapped) as (...args: unknown[]) => unknown;
    return {
      ...wrapped,
      importNew: (...args: unknown[]) => runAs('importer', context, () => importNew(...args)),
    };
  };
  // The persist-record step (dns-persist-01) runs in the first-import function on AWS: the same role.
  const innerPersist = (decorate as { persistRecord?: (real: PersistWriterLike) => PersistWriterLike })
    .persistRecord;
  const persistRecord = (real: PersistWriterLike): PersistWriterLike => {
    const wrapped = innerPersist === undefined ? real : innerPersist(real);
    const write = wrapped.write.bind(wrapped) as (...args: unknown[]) => unknown;
    return { ...wrapped, write: (...args: unknown[]) => runAs('importer', context, () => write(...args)) };
  };
  return { ...config, decorate: { ...decorate, firstImport, persistRecord } };
}

/** The runtime shape the bed builds: a scheduler pass and a renewal, both of which the functions run. */
interface RoleRuntime {
  readonly config: RoleConfig;
  scheduler(...args: never[]): unknown;
  renew(...args: never[]): unknown;
}

/**
 * The same runtime with `scheduler()` running as the scheduler function and `renew()` as the renewer, as
 * Lambda would run them; everything else (the store the tests read results from) stays the operator's.
 */
export function withFunctionRoles<R extends RoleRuntime>(runtime: R): R {
  const context = contextOf(runtime.config);
  const scheduler = runtime.scheduler.bind(runtime) as (...args: unknown[]) => unknown;
  const renew = runtime.renew.bind(runtime) as (...args: unknown[]) => unknown;
  return {
    ...runtime,
    scheduler: (...args: unknown[]) => runAs('scheduler', context, () => scheduler(...args)),
    renew: (...args: unknown[]) => runAs('renewer', context, () => renew(...args)),
  };
}
