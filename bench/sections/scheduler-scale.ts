import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { RuntimeConfig } from '../../functions/composition/runtime';
import { mapLimit } from '../../functions/core/concurrency';
import { caFor, parseInventoryLenient } from '../../functions/core/config/inventory';
import {
  DEFAULT_ARI_CONCURRENCY,
  schedulerEnvironmentSchema,
} from '../../functions/core/contracts/environment';
import { configHash } from '../../functions/core/renewal/config-hash';
import { INVENTORY_RULES, type ScheduleIndex } from '../../functions/core/renewal/schedule-index';
import type { CertificateState } from '../../functions/core/renewal/state';
import { LAMBDA_NODE_OPTIONS } from '../../infra/lib/lambda-bundling';
import type { Bed } from '../../testbed/bed';
import { pebbleRootsPem } from '../../testbed/pebble';
import { testBedTls } from '../../testbed/tls';
import { bundleLikeLambda } from '../lib/bundle';
import type { CountingProxy } from '../lib/counting-proxy';
import type { LambdaNode } from '../lib/lambda-node';
import { assertSucceeded, measure } from '../lib/measure';

/** One measured scheduler pass. */
export interface PassResult {
  /** Wall time of the whole process (Node start, bundle load, pass), under GNU time. */
  readonly processMs: number;
  /** Time inside the handler. */
  readonly handlerMs: number;
  readonly maxRssKib?: number;
  /** User + system CPU of the scheduler process: our own work, as opposed to waiting for moto or Pebble. */
  readonly cpuMs?: number;
  /** Peak `process.memoryUsage().rss` sampled every 20 ms inside the process. */
  readonly sampledPeakRssBytes: number;
  readonly ariRequests: number;
  readonly caRequests: number;
  /** Summed duration of the requests to the CA (directory and renewalInfo). */
  readonly caMs: number;
  /** Summed duration of the AWS calls, measured at the endpoint (moto here). */
  readonly awsMs: number;
  readonly checked: number;
  readonly enqueued: number;
  /** AWS calls seen at the endpoint, `service:action` → count. */
  readonly awsCalls: Record<string, number>;
  /** Bytes the handler wrote to stdout (structured logs and EMF metrics): what CloudWatch Logs would ingest. */
  readonly logBytes: number;
  /** Checked certificates by whole hours until their next look (the ARI jitter's spread). */
  readonly spread: Record<number, number>;
}

/** Section 2 for one inventory size. */
export interface ScaleResult {
  readonly certificates: number;
  readonly seedMs: number;
  /** The pass that reads every state and refreshes ARI for all (absent above {@link FULL_PASS_LIMIT}). */
  readonly first?: PassResult;
  /** The pass right after, when nothing is due: the schedule index lets every certificate wait. */
  readonly second: PassResult;
  /**
   * Up to {@link FULL_PASS_LIMIT}: a pass 1.5 × Retry-After later, when every certificate's next ARI check has come
   * and the CA confirms the window it gave: what a steady-state refresh costs (no state rewrite).
   */
  readonly confirmed?: PassResult;
  /**
   * Above {@link FULL_PASS_LIMIT}: the same nothing-due pass once the index no longer names the inventory's version
   * (as after an inventory edit), so the inventory is parsed and hashed in full.
   */
  readonly changedInventory?: PassResult;
  /** True when the index was written by the bench (above {@link FULL_PASS_LIMIT}) instead of by a first pass. */
  readonly seededIndex: boolean;
}

/** Everything section 2 measured. */
export interface SchedulerResults {
  readonly seeds: number;
  /** Pebble's Retry-After on renewalInfo, as seen on a seed certificate. */
  readonly ariRetryAfter: string | null;
  readonly sizes: readonly ScaleResult[];
  /** The scheduler's concurrency in these passes (the deployed default). */
  readonly concurrency: number;
  /** The Node.js the passes ran on (`--version`): the Lambda runtime's, when the bed has it. */
  readonly node: string;
}

const SEEDS = 4;

/**
 * The per-certificate metric setting a deployed scheduler gets by default (the environment contract's defaults):
 * the bed's in-process config names none, which would mean one DaysToExpiry document per certificate per pass.
 */
const DEPLOYED_PER_CERTIFICATE_METRICS = {
  mode: schedulerEnvironmentSchema.shape.PER_CERTIFICATE_METRICS.parse(undefined),
  days: schedulerEnvironmentSchema.shape.PER_CERTIFICATE_METRIC_DAYS.parse(undefined),
} as const;

/**
 * Larger inventories get only the nothing-due pass, over a schedule index the bench writes (every certificate
 * waiting five hours): seeding 100,000 state documents into moto and refreshing them all against one Pebble would
 * take longer than the whole benchmark; the refresh pass at that size is modelled from the measured ones.
 */
export const FULL_PASS_LIMIT = 10_000;

/**
 * Section 2: real certificates cheaply. A handful are issued by Pebble through the renewer; every inventory entry
 * i then gets seed i mod 4's state document (same names, key type and CA, so the same config hash), with its ARI
 * data removed. The first pass therefore asks Pebble's renewalInfo for every entry and gets real answers about
 * real certificates; the second pass, right after, must skip them all because of Retry-After.
 */
export async function runSchedulerScale(input: {
  readonly bed: Bed;
  readonly proxy: CountingProxy;
  readonly sizes: readonly number[];
  readonly scratch: string;
  readonly log: (line: string) => void;
  /** The Node.js the passes run on (bench/lib/lambda-node.ts). */
  readonly node: LambdaNode;
}): Promise<SchedulerResults> {
  const { bed, proxy, log, node } = input;
  const tls = testBedTls();
  const seedStack = await bed.createStack('seeds');
  await bed.createZone('sched.bench.test');
  const seedDomains = (i: number) => [`s${i}.sched.bench.test`];
  await bed.putInventory(seedStack.bucket, {
    cas: { pebble: { directoryUrl: bed.directoryUrl, trustAnchors: await pebbleRootsPem(bed.pebble) } },
    certificates: Array.from({ length: SEEDS }, (_, i) => ({
      id: `seed-${i}`,
      ca: 'pebble',
      domains: seedDomains(i),
      keyType: 'ec-p256',
    })),
  });
  const seedRuntime = bed.runtime(seedStack.config);
  const seeds: CertificateState[] = [];
  for (let i = 0; i < SEEDS; i++) {
    const outcome = await seedRuntime.renew({ id: `seed-${i}`, reason: 'new' }, 'bench-seed');
    if (outcome.result !== 'renewed') throw new Error(`seed certificate ${i} ended "${outcome.result}"`);
    const state = await seedRuntime.store.getState(`seed-${i}`);
    if (!state?.current?.certId) throw new Error(`seed certificate ${i} has no CertID`);
    seeds.push(state);
  }
  const directory = (await (await bed.fetch(bed.directoryUrl)).json()) as { renewalInfo: string };
  const probe = await bed.fetch(`${directory.renewalInfo.replace(/\/$/, '')}/${seeds[0]!.current!.certId}`);
  await probe.arrayBuffer();
  const ariRetryAfter = probe.headers.get('retry-after');

  const child = await bundleLikeLambda('bench/children/scheduler-pass.ts', 'scheduler-pass');
  const sizes: ScaleResult[] = [];
  for (const size of input.sizes) {
    const stack = await bed.createStack(`sched-${size}`);
    const ids = Array.from({ length: size }, (_, i) => `c-${String(i).padStart(5, '0')}`);
    const seedStarted = performance.now();
    await bed.putInventory(stack.bucket, {
      cas: { pebble: { directoryUrl: bed.directoryUrl, trustAnchors: await pebbleRootsPem(bed.pebble) } },
      certificates: ids.map((id, i) => ({
        id,
        ca: 'pebble',
        domains: seedDomains(i % SEEDS),
        keyType: 'ec-p256',
      })),
    });
    const full = size <= FULL_PASS_LIMIT;
    if (!full) await putWaitingIndex(bed, stack.bucket, ids, seeds);
    await mapLimit(full ? ids : [], 64, async (id, i) => {
      const { ari: _ari, ...seed } = seeds[i % SEEDS]!;
      await bed.clients.s3.send(
        new PutObjectCommand({
          Bucket: stack.bucket,
          Key: `certificates/${id}/state.json`,
          Body: JSON.stringify({ ...seed, id }),
          ContentType: 'application/json',
        }),
      );
    });
    const seedMs = performance.now() - seedStarted;
    log(`  ${size} certificates seeded in ${(seedMs / 1000).toFixed(1)} s`);
    const pass = async (n: number, clockOffsetMs = 0): Promise<PassResult> => {
      const config: Omit<RuntimeConfig, 'fetch' | 'clock' | 'decorate'> = (({
        fetch: _f,
        clock: _c,
        decorate: _d,
        ...rest
      }) => ({
        ...rest,
        endpoint: proxy.endpoint,
        ariConcurrency: DEFAULT_ARI_CONCURRENCY,
        perCertificateMetrics: DEPLOYED_PER_CERTIFICATE_METRICS,
      }))(stack.config);
      const configFile = join(input.scratch, `sched-${size}-${n}.json`);
      const outFile = join(input.scratch, `sched-${size}-${n}.out.json`);
      writeFileSync(configFile, JSON.stringify({ config, clockOffsetMs }));
      proxy.reset();
      const run = assertSucceeded(
        `scheduler pass over ${size} certificates`,
        await measure(node.path, [child.path, configFile, outFile], {
          env: {
            PATH: process.env.PATH,
            NODE_EXTRA_CA_CERTS: tls.caPath,
            POWERTOOLS_SERVICE_NAME: 'acme-ari-bench',
            POWERTOOLS_METRICS_NAMESPACE: 'AcmeAriBench',
            POWERTOOLS_METRICS_DISABLED: 'false',
            NODE_OPTIONS: LAMBDA_NODE_OPTIONS,
          },
          timeoutMs: 15 * 60_000,
        }),
      );
      const out = JSON.parse(readFileSync(outFile, 'utf8')) as {
        ms: number;
        ariRequests: number;
        caRequests: number;
        caMs: number;
        checked: number;
        waiting?: number;
        enqueued: number;
        peakRssBytes: number;
        spread: Record<number, number>;
      };
      // The first pass reads every state (it builds the schedule index); later ones read what is due or changed.
      const seen = out.checked + (out.waiting ?? 0);
      if (seen !== size || ((n === 1 || n === 4) && out.checked !== size) || (!full && out.checked !== 0))
        throw new Error(
          `the pass checked ${out.checked} and let ${out.waiting ?? 0} wait of ${size} certificates`,
        );
      const result: PassResult = {
        processMs: run.wallMs,
        handlerMs: out.ms,
        maxRssKib: run.maxRssKib,
        cpuMs: run.cpuMs,
        sampledPeakRssBytes: out.peakRssBytes,
        ariRequests: out.ariRequests,
        caRequests: out.caRequests,
        caMs: out.caMs,
        awsMs: proxy.totalMs(),
        checked: out.checked,
        enqueued: out.enqueued,
        awsCalls: Object.fromEntries(proxy.counts()),
        logBytes: Buffer.byteLength(run.stdout),
        spread: out.spread,
      };
      log(
        `  ${size} certificates, pass ${n}: ${(result.handlerMs / 1000).toFixed(2)} s, ${result.ariRequests} ARI requests, ` +
          `${((result.maxRssKib ?? 0) / 1024).toFixed(0)} MiB`,
      );
      return result;
    };
    const first = full ? await pass(1) : undefined;
    const second = await pass(2);
    // Past every jittered next check (at most 1.5 × Retry-After), a minute to spare: every window is asked again.
    const laterMs = Math.ceil(1.5 * Number(ariRetryAfter ?? 21_600) * 1000) + 60_000;
    const confirmed = full ? await pass(4, laterMs) : undefined;
    let changedInventory: PassResult | undefined;
    if (!full) {
      await forgetInventoryVersion(bed, stack.bucket);
      changedInventory = await pass(3);
    }
    sizes.push({
      certificates: size,
      seedMs,
      ...(first ? { first } : {}),
      second,
      ...(confirmed ? { confirmed } : {}),
      ...(changedInventory ? { changedInventory } : {}),
      seededIndex: !full,
    });
  }
  return { seeds: SEEDS, ariRetryAfter, sizes, concurrency: DEFAULT_ARI_CONCURRENCY, node: node.version };
}

/**
 * Writes the schedule index a first pass would have left for `ids` (seed i mod 4's config hash and validity, every
 * certificate to be looked at in five hours, and the inventory version it was computed from), so the next pass is
 * one where nothing is due and the inventory is unchanged.
 */
async function putWaitingIndex(
  bed: Bed,
  bucket: string,
  ids: readonly string[],
  seeds: readonly CertificateState[],
): Promise<void> {
  const object = await bed.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'inventory.json' }));
  const { inventory, problems } = parseInventoryLenient(
    JSON.parse((await object.Body?.transformToString()) ?? '{}'),
  );
  const hashes = await Promise.all(
    inventory.certificates.slice(0, SEEDS).map((c) => configHash(c, caFor(inventory, c.ca))),
  );
  const now = new Date();
  const lookAt = now.getTime() + 5 * 3_600_000;
  const index: ScheduleIndex = {
    version: 3,
    updatedAt: now.toISOString(),
    inventory: { etag: object.ETag!, rules: INVENTORY_RULES, parsedAt: now.toISOString(), problems },
    ids,
    hashes: ids.map((_, i) => hashes[i % SEEDS]!),
    lookAt: ids.map(() => lookAt),
    notAfter: ids.map((_, i) => Date.parse(seeds[i % SEEDS]!.current!.notAfter)),
    notBefore: ids.map((_, i) => Date.parse(seeds[i % SEEDS]!.current!.notBefore)),
    ariAt: ids.map(() => lookAt),
  };
  await putIndex(bed, bucket, index);
}

/**
 * Drops the inventory version from the stored index, as an inventory edit would make it stale: the next pass parses
 * and hashes the whole inventory (its rows still match, so nothing is read).
 */
async function forgetInventoryVersion(bed: Bed, bucket: string): Promise<void> {
  const object = await bed.clients.s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: 'schedule-index.json' }),
  );
  const { inventory: _inventory, ...index } = JSON.parse(
    (await object.Body?.transformToString()) ?? '{}',
  ) as ScheduleIndex;
  await putIndex(bed, bucket, index);
}

/** Stores `index` as the bucket's schedule index, as the scheduler writes it. */
async function putIndex(bed: Bed, bucket: string, index: ScheduleIndex): Promise<void> {
  await bed.clients.s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'schedule-index.json',
      Body: JSON.stringify(index),
      ContentType: 'application/json',
    }),
  );
}
