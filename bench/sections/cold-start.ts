import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { HANDLER_ENTRIES } from '../../infra/lib/lambda-bundling';
import { bundleLikeLambda } from '../lib/bundle';
import { type Summary, summarize } from '../lib/stats';

/** Section 3 for one handler. */
export interface ColdStartResult {
  readonly handler: keyof typeof HANDLER_ENTRIES;
  /** The deployed bundle (index.mjs) and its source map. */
  readonly bytes: number;
  readonly mapBytes: number;
  /** Largest contributors to the bundle. */
  readonly topInputs: ReadonlyArray<{ readonly name: string; readonly bytes: number }>;
  /** `import()` of the deployed bundle in a fresh process, with `--enable-source-maps` as the Lambda sets it. */
  readonly importMs: Summary;
  /** `import()` of the same code plus the function's own runtime (`createSchedulerRuntime`, `createRenewerRuntime`, `createFirstImport`): every client it builds at start. */
  readonly importAndClientsMs: Summary;
  /** Whole fresh process (`node` start to exit) for the import + clients run. */
  readonly processMs: Summary;
}

const LAMBDA_ENV = {
  STATE_BUCKET: 'bench-state',
  RENEWAL_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  POWERTOOLS_SERVICE_NAME: 'acme-ari-bench',
  POWERTOOLS_METRICS_NAMESPACE: 'AcmeAriBench',
};

/** What each handler's first invocation builds, as its probe bundle exports it (each parses its own environment). */
const BUILD_CLIENTS: Record<keyof typeof HANDLER_ENTRIES, string> = {
  scheduler: "m.createSchedulerRuntime(m.configFromEnv(process.env,'scheduler'))",
  renewer: "m.createRenewerRuntime(m.configFromEnv(process.env,'renewer'))",
  firstImport: "m.createFirstImport(m.configFromEnv(process.env,'first-import'))",
};

function timeInFreshProcess(script: string): { inner: number; outer: number } {
  const started = performance.now();
  const out = spawnSync(process.execPath, ['--enable-source-maps', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...LAMBDA_ENV },
  });
  const outer = performance.now() - started;
  if (out.status !== 0) throw new Error(`cold start probe failed: ${out.stderr.slice(-2000)}`);
  const inner = Number(/COLD (\S+)/.exec(out.stdout)?.[1]);
  return { inner, outer };
}

/**
 * Section 3: bundle each handler exactly as the CDK construct does and time, in fresh Node.js processes, the
 * import of the bundle and (with the same code bundled alongside the function's runtime) the building of its clients.
 */
export async function runColdStart(input: { readonly runs: number }): Promise<ColdStartResult[]> {
  const results: ColdStartResult[] = [];
  for (const handler of Object.keys(HANDLER_ENTRIES) as (keyof typeof HANDLER_ENTRIES)[]) {
    const deployed = await bundleLikeLambda(HANDLER_ENTRIES[handler], `lambda-${handler}`);
    const probe = await bundleLikeLambda(`bench/children/cold-${handler}.ts`, `cold-${handler}`);
    const importOnly = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(deployed.path).href)});console.log('COLD',performance.now()-t);`;
    const build = BUILD_CLIENTS[handler];
    const withClients = `const t=performance.now();const m=await import(${JSON.stringify(pathToFileURL(probe.path).href)});${build};console.log('COLD',performance.now()-t);`;
    const imports: number[] = [];
    const full: number[] = [];
    const processes: number[] = [];
    // One unmeasured run each, so the first measured one does not pay for reading the file from disk.
    timeInFreshProcess(importOnly);
    timeInFreshProcess(withClients);
    for (let i = 0; i < input.runs; i++) {
      imports.push(timeInFreshProcess(importOnly).inner);
      const run = timeInFreshProcess(withClients);
      full.push(run.inner);
      processes.push(run.outer);
    }
    results.push({
      handler,
      bytes: deployed.bytes,
      mapBytes: deployed.mapBytes,
      topInputs: deployed.topInputs,
      importMs: summarize(imports),
      importAndClientsMs: summarize(full),
      processMs: summarize(processes),
    });
  }
  return results;
}
