/**
 * `npm run bench` (full, about 10 minutes on 2 cores; writes bench/results.md) and `npm run bench:smoke` (a tiny
 * version of every section, well under 2 minutes; writes .cache/bench/results-smoke.md so CI leaves the tree
 * clean). Every section runs against one local bed: Pebble 2.6 with ARI, moto, and the Route 53 DNS responder.
 *
 * Options: `--smoke`, `--n=N` (issuances per tool and shape), `--sizes=10,1000,10000,100000` (above 10,000 only
 * the nothing-due pass, over a seeded index), `--cold-runs=N`, `--sections=1,2,3,4` (only these sections, e.g.
 * `--sections=2 --sizes=100000` for one scheduler size; the cost model, section 5, runs when 2 and 4 both do; a
 * partial run is for investigation, never for bench/results.md), `--out=path`.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { PROJECT_ROOT } from '../infra/lib/lambda-bundling';
import { startBed } from '../testbed/bed';
import { BENCH_CACHE } from './lib/bundle';
import { startCountingProxy } from './lib/counting-proxy';
import { lambdaNode } from './lib/lambda-node';
import { describeMachine } from './lib/machine';
import { ensurePeers } from './lib/peers';
import { renderReport } from './report';
import { type AwsCallResults, runAwsCalls } from './sections/aws-calls';
import { runColdStart } from './sections/cold-start';
import { type CostModel, costModel } from './sections/cost';
import { type IssuanceResults, runIssuance } from './sections/issuance';
import { runSchedulerScale, type SchedulerResults } from './sections/scheduler-scale';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined =>
  args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const smoke = args.includes('--smoke');
const options = {
  smoke,
  n: Number(flag('n') ?? (smoke ? 1 : 7)),
  sizes: (flag('sizes') ?? (smoke ? '50' : '10,1000,10000,100000')).split(',').map(Number),
  coldRuns: Number(flag('cold-runs') ?? (smoke ? 3 : 20)),
  sections: new Set((flag('sections') ?? '1,2,3,4').split(',').map(Number)),
  out:
    flag('out') ??
    (smoke ? join(BENCH_CACHE, 'results-smoke.md') : join(PROJECT_ROOT, 'bench', 'results.md')),
};
/** The cost targets: ≤ $2.50, ≤ $15 and ≤ $100 a month. */
const COST_SIZES = [1000, 10_000, 100_000];

const log = (line: string) => process.stderr.write(`${line}\n`);
const startedAt = new Date();
/** The machine is shared: its load before and after the run is part of the result. */
const loadAtStart = loadavg();
const wallStarted = performance.now();
const errors: string[] = [];

async function section<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  log(`== ${name}`);
  const started = performance.now();
  try {
    const result = await run();
    log(`   ${name} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return result;
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    errors.push(`${name}: ${message.slice(0, 2000)}`);
    log(`   ${name} FAILED: ${message.slice(0, 2000)}`);
    return undefined;
  }
}

/** Runs a section only when `--sections` names it. */
const wanted = <T>(n: number, name: string, run: () => Promise<T>): Promise<T | undefined> =>
  options.sections.has(n) ? section(name, run) : Promise.resolve(undefined);

const peers = ensurePeers();
/** The Node.js every measured function runs on, resolved once for all sections. */
const node = lambdaNode();
for (const note of peers.notes) log(`note: ${note}`);
const scratch = mkdtempSync(join(tmpdir(), 'acme-ari-bench-'));
log('starting the bed (moto, Route 53 DNS responder, Pebble with ARI)…');
const bed = await startBed({
  pebble: {
    nonceRejectPercent: 0,
    authzReusePercent: 0,
    // Like Let's Encrypt's 90-day certificates, so ARI windows sit where they would in production.
    validitySeconds: 90 * 86_400,
    env: { PEBBLE_VA_NOSLEEP: '1' },
  },
});
const proxy = await startCountingProxy(bed.moto.endpoint);
let issuance: IssuanceResults | undefined;
let calls: AwsCallResults | undefined;
let scheduler: SchedulerResults | undefined;
try {
  const stack = await bed.createStack('bench');
  issuance = await wanted(1, '1. issuance latency', () =>
    runIssuance({
      bed,
      config: stack.config,
      bucket: stack.bucket,
      peers,
      n: options.n,
      warmUp: !smoke,
      scratch,
      log,
      node,
    }),
  );
  calls = await wanted(4, '4. AWS calls per renewal', () => runAwsCalls({ bed, proxy }));
  scheduler = await wanted(2, '2. scheduler scale', () =>
    runSchedulerScale({ bed, proxy, sizes: options.sizes, scratch, log, node }),
  );
} finally {
  await proxy.stop();
  await bed.stop();
  rmSync(scratch, { recursive: true, force: true });
}
const cold = await wanted(3, '3. cold start and footprint', () =>
  runColdStart({ runs: options.coldRuns, node }),
);
const s = scheduler;
const c = calls;
const cost: CostModel | undefined =
  s && c
    ? await section('5. cost model', async () =>
        costModel({
          scheduler: s,
          renewalCalls: c.renewal.counts,
          renewalMs: c.renewalMs,
          ariRetryAfterHours: Number(s.ariRetryAfter ?? 21_600) / 3600,
          sizes: COST_SIZES,
        }),
      )
    : undefined;

const report = renderReport({
  startedAt,
  durationMs: performance.now() - wallStarted,
  machine: `${describeMachine()}; load average (1/5/15 min) ${loadAtStart.map((l) => l.toFixed(2)).join(' / ')} at the start, ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ')} at the end (the machine may be shared: the load says how busy it was)`,
  smoke,
  options,
  peers,
  issuance,
  scheduler,
  cold,
  calls,
  cost,
  errors,
});
mkdirSync(dirname(options.out), { recursive: true });
writeFileSync(options.out, report);
process.stdout.write(`${report}\n`);
log(`written to ${relative(process.cwd(), options.out)}`);
process.exitCode = errors.length > 0 ? 1 : 0;
