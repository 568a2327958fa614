import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { HANDLER_ENTRIES } from '../../infra/lib/lambda-bundling';
import { type Bundle, bundleLikeLambda } from '../lib/bundle';
import type { LambdaNode } from '../lib/lambda-node';
import { type Summary, summarize } from '../lib/stats';

/** Section 3 for one handler. */
export interface ColdStartResult {
  readonly handler: keyof typeof HANDLER_ENTRIES;
  /** The deployed bundle: index.mjs, what a cold start loads, the chunks loaded on first use, the source maps. */
  readonly bundle: Omit<Bundle, 'path'>;
  /** The Node.js that ran the probes (`process.version` of the binary). */
  readonly nodeVersion: string;
  /** `import()` of the deployed bundle in a fresh process, with `--enable-source-maps` as the Lambda sets it. */
  readonly importMs: Summary;
  /** `import()` of the same code plus the function's own runtime (`createSchedulerRuntime`, `createRenewerRuntime`, `createFirstImport`): every client it builds at start. */
  readonly importAndClientsMs: Summary;
  /** Whole fresh process (`node` start to exit) for the import + clients run. */
  readonly processMs: Summary;
  /** Peak resident set of the import + clients process, in MiB (VmHWM of /proc/self/status). */
  readonly peakRssMiB: Summary;
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

function timeInFreshProcess(node: string, script: string): { inner: number; outer: number; rssMiB: number } {
  const started = performance.now();
  const out = spawnSync(node, ['--enable-source-maps', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...LAMBDA_ENV },
  });
  const outer = performance.now() - started;
  if (out.status !== 0) throw new Error(`cold start probe failed: ${out.stderr.slice(-2000)}`);
  const [, inner, rssKib] = /COLD (\S+) (\S+)/.exec(out.stdout) ?? [];
  return { inner: Number(inner), outer, rssMiB: Number(rssKib) / 1024 };
}

/**
 * The probe's last line: the time since `t`, and the peak RSS so far (KiB). VmHWM, not `resourceUsage().maxRSS`:
 * Linux carries ru_maxrss across execve, so a child of the bench process reported the bench's own high-water mark
 * (70 MiB alone, 82–120 MiB after the scheduler section had grown the parent), where VmHWM starts with the new image.
 */
const REPORT =
  "const hwm=/^VmHWM:\\s+(\\d+)/m.exec((await import('node:fs')).readFileSync('/proc/self/status','utf8'));" +
  "console.log('COLD',performance.now()-t,hwm?Number(hwm[1]):process.resourceUsage().maxRSS);";

/**
 * Section 3: bundle each handler exactly as the CDK construct does and time, in fresh Node.js processes, the
 * import of the bundle and (with the same code bundled alongside the function's runtime) the building of its clients.
 */
export async function runColdStart(input: {
  readonly runs: number;
  /** The Node.js to time: the Lambda runtime's major, when the bed has it (bench/lib/lambda-node.ts). */
  readonly node: LambdaNode;
}): Promise<ColdStartResult[]> {
  const { path: node, version: nodeVersion } = input.node;
  const results: ColdStartResult[] = [];
  for (const handler of Object.keys(HANDLER_ENTRIES) as (keyof typeof HANDLER_ENTRIES)[]) {
    const { path, ...deployed } = await bundleLikeLambda(HANDLER_ENTRIES[handler], `lambda-${handler}`);
    const probe = await bundleLikeLambda(`bench/children/cold-${handler}.ts`, `cold-${handler}`);
    const importOnly = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(path).href)});${REPORT}`;
    const build = BUILD_CLIENTS[handler];
    const withClients = `const t=performance.now();const m=await import(${JSON.stringify(pathToFileURL(probe.path).href)});${build};${REPORT}`;
    const imports: number[] = [];
    const full: number[] = [];
    const processes: number[] = [];
    const rss: number[] = [];
    // One unmeasured run each, so the first measured one does not pay for reading the files from disk.
    timeInFreshProcess(node, importOnly);
    timeInFreshProcess(node, withClients);
    for (let i = 0; i < input.runs; i++) {
      imports.push(timeInFreshProcess(node, importOnly).inner);
      const run = timeInFreshProcess(node, withClients);
      full.push(run.inner);
      processes.push(run.outer);
      rss.push(run.rssMiB);
    }
    results.push({
      handler,
      bundle: deployed,
      nodeVersion,
      importMs: summarize(imports),
      importAndClientsMs: summarize(full),
      processMs: summarize(processes),
      peakRssMiB: summarize(rss),
    });
  }
  return results;
}
