import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RuntimeConfig } from '../../functions/composition/runtime';
import { LAMBDA_NODE_OPTIONS } from '../../infra/lib/lambda-bundling';
import type { Bed } from '../../testbed/bed';
import { pebbleRootsPem } from '../../testbed/pebble';
import { testBedTls } from '../../testbed/tls';
import { createFloorRunner } from '../lib/acme-floor';
import { bundleLikeLambda } from '../lib/bundle';
import { startDnsHookServer } from '../lib/dns-hook-server';
import type { LambdaNode } from '../lib/lambda-node';
import { assertSucceeded, type MeasuredRun, measure } from '../lib/measure';
import type { Peers } from '../lib/peers';
import { type Summary, summarize } from '../lib/stats';

/** The tools compared side by side. */
export type Tool = 'ours' | 'lego' | 'certbot';

/** Certificate shapes issued by every tool. */
export type Shape = 'apex+wildcard' | 'single';

/** Results of one tool for one shape. */
export interface ToolResult {
  readonly wall: Summary;
  readonly rssKib: Summary;
  /** Ours only: time inside `renew` (the process minus Node start and module loading). */
  readonly inProcess?: Summary;
  /** Ours only, on Linux: resident memory at the end, anonymous and file-backed (KiB, /proc/self/status). */
  readonly residentAtEnd?: { readonly anonKib: Summary; readonly fileKib: Summary };
  readonly failures: readonly string[];
}

/** Everything section 1 measured. */
export interface IssuanceResults {
  readonly n: number;
  readonly byShape: Record<Shape, Partial<Record<Tool, ToolResult>>>;
  /** Bare replay: Pebble's own time (tight polling) and the polite floor (Retry-After honoured). */
  readonly floor: Record<Shape, { tight: Summary; polite: Summary }>;
  readonly notes: readonly string[];
  /** The Node.js ours ran on (`--version`): the Lambda runtime's, when the bed has it. */
  readonly node: string;
  /** That Node.js running nothing (`-e ''`), median of 3: its peak RSS and, on Linux, the split at its end. */
  readonly bareNode?: { readonly maxRssKib?: number; readonly anonKib?: number; readonly fileKib?: number };
}

/** Reports the resident split of a process at its end (what issue-once.ts prints too), for a bare Node.js. */
const BARE_NODE_SCRIPT = String.raw`const s = require('node:fs').readFileSync('/proc/self/status', 'utf8');
const kib = (f) => Number(new RegExp('^' + f + ':\\s+(\\d+)', 'm').exec(s)?.[1]);
process.stdout.write(JSON.stringify({ anonKib: kib('RssAnon'), fileKib: kib('RssFile') }));`;

const SHAPES: readonly Shape[] = ['apex+wildcard', 'single'];

function names(tool: Tool | 'floor', shape: Shape): string[] {
  const zone = `${tool}.bench.test`;
  return shape === 'single' ? [`www.${zone}`] : [zone, `*.${zone}`];
}

/**
 * Section 1: N issuances per tool and shape against one Pebble, interleaved ours → lego → certbot so drift in
 * the machine's load hits every tool alike. Each run is a process of its own under GNU time.
 */
export async function runIssuance(input: {
  readonly bed: Bed;
  readonly config: RuntimeConfig;
  readonly bucket: string;
  readonly peers: Peers;
  readonly n: number;
  /** One unmeasured round first (registers accounts, warms caches); the smoke run skips it to stay short. */
  readonly warmUp: boolean;
  readonly scratch: string;
  readonly log: (line: string) => void;
  /** The Node.js ours runs on (bench/lib/lambda-node.ts). */
  readonly node: LambdaNode;
}): Promise<IssuanceResults> {
  const { bed, peers, n, scratch, log, node } = input;
  const notes: string[] = [];
  if (!node.runtimeMajor) notes.push(`ours ran on ${node.version}: the bed has no Node.js 24`);
  const tls = testBedTls();
  const zoneIds = new Map<string, string>();
  for (const tool of ['ours', 'lego', 'certbot', 'floor'] as const) {
    zoneIds.set(`${tool}.bench.test`, await bed.createZone(`${tool}.bench.test`));
  }
  await bed.putInventory(input.bucket, {
    cas: { pebble: { directoryUrl: bed.directoryUrl, trustAnchors: await pebbleRootsPem(bed.pebble) } },
    certificates: SHAPES.map((shape) => ({
      id: shape === 'single' ? 'ours-single' : 'ours-wildcard',
      ca: 'pebble',
      domains: names('ours', shape),
      keyType: 'ec-p256',
    })),
  });

  const child = await bundleLikeLambda('bench/children/issue-once.ts', 'issue-once');
  const hooks = await startDnsHookServer({ ...bed.aws, scratchDir: scratch });
  const baseEnv = { PATH: process.env.PATH, HOME: scratch, LANG: 'C.UTF-8' };
  const legoDir = join(scratch, 'lego');
  const certbotDir = join(scratch, 'certbot');
  mkdirSync(legoDir, { recursive: true });
  mkdirSync(certbotDir, { recursive: true });

  const runners: Record<
    Tool,
    | ((
        shape: Shape,
      ) => Promise<MeasuredRun & { inProcessMs?: number; resident?: { anonKib: number; fileKib: number } }>)
    | undefined
  > = {
    ours: async (shape) => {
      const id = shape === 'single' ? 'ours-single' : 'ours-wildcard';
      const { fetch: _fetch, clock: _clock, decorate: _decorate, ...config } = input.config;
      const file = join(scratch, `ours-${id}.json`);
      writeFileSync(file, JSON.stringify({ config, id }));
      const run = assertSucceeded(
        'our issuance',
        await measure(node.path, [child.path, file], {
          env: { ...baseEnv, NODE_EXTRA_CA_CERTS: tls.caPath, NODE_OPTIONS: LAMBDA_NODE_OPTIONS },
        }),
      );
      const line = JSON.parse(run.stdout.trim().split('\n').pop()!) as {
        renewMs: number;
        result: string;
        rss?: { anonKib: number; fileKib: number };
      };
      if (line.result !== 'renewed') throw new Error(`our issuance ended "${line.result}", not "renewed"`);
      return { ...run, inProcessMs: line.renewMs, ...(line.rss ? { resident: line.rss } : {}) };
    },
    lego: peers.lego
      ? async (shape) =>
          assertSucceeded(
            'lego',
            await measure(
              peers.lego!.path,
              [
                '--server',
                bed.directoryUrl,
                '--accept-tos',
                '--email',
                'bench@lego.bench.test',
                '--key-type',
                'ec256',
                '--dns',
                'exec',
                '--dns.resolvers',
                bed.dns.address,
                '--dns.disable-cp',
                '--path',
                join(legoDir, '.lego'),
                ...names('lego', shape).flatMap((d) => ['-d', d]),
                'run',
              ],
              {
                cwd: legoDir,
                env: {
                  ...baseEnv,
                  LEGO_CA_CERTIFICATES: tls.caPath,
                  EXEC_PATH: hooks.hookPath,
                  // lego solves an exec-provider order one challenge at a time and sleeps this long in between
                  // (default 60 s); zero keeps the comparison about the protocol, not a tuning default.
                  EXEC_SEQUENCE_INTERVAL: '0',
                  EXEC_PROPAGATION_TIMEOUT: '30',
                  EXEC_POLLING_INTERVAL: '1',
                },
              },
            ),
          )
      : undefined,
    certbot: peers.certbot
      ? async (shape) =>
          assertSucceeded(
            'certbot',
            await measure(
              peers.certbot!.path,
              [
                'certonly',
                '--manual',
                '--preferred-challenges',
                'dns',
                '--manual-auth-hook',
                `${hooks.hookPath} present`,
                '--manual-cleanup-hook',
                `${hooks.hookPath} cleanup`,
                '--server',
                bed.directoryUrl,
                '--config-dir',
                join(certbotDir, 'config'),
                '--work-dir',
                join(certbotDir, 'work'),
                '--logs-dir',
                join(certbotDir, 'logs'),
                '--non-interactive',
                '--agree-tos',
                '--register-unsafely-without-email',
                '--key-type',
                'ecdsa',
                '--cert-name',
                `bench-${shape === 'single' ? 'single' : 'wildcard'}`,
                '--force-renewal',
                ...names('certbot', shape).flatMap((d) => ['-d', d]),
              ],
              { cwd: certbotDir, env: { ...baseEnv, REQUESTS_CA_BUNDLE: tls.caPath } },
            ),
          )
      : undefined,
  };

  const samples = new Map<
    string,
    { wall: number[]; rss: number[]; inProcess: number[]; anon: number[]; file: number[]; failures: string[] }
  >();
  const bucketOf = (tool: Tool, shape: Shape) => {
    const key = `${tool}|${shape}`;
    let s = samples.get(key);
    if (!s) {
      s = { wall: [], rss: [], inProcess: [], anon: [], file: [], failures: [] };
      samples.set(key, s);
    }
    return s;
  };
  const tools = (Object.keys(runners) as Tool[]).filter((t) => runners[t] !== undefined);

  // One unmeasured round first: accounts are registered (each tool then reuses its own, as a renewal would),
  // the page cache is warm, and Pebble's first-order costs are paid.
  for (const shape of input.warmUp ? SHAPES : [])
    for (const tool of tools) {
      try {
        await runners[tool]!(shape);
      } catch (error) {
        notes.push(`warm-up ${tool} ${shape} failed: ${String(error).slice(0, 400)}`);
        log(`  warm-up ${tool} ${shape} FAILED`);
      }
    }
  for (let i = 0; i < n; i++) {
    for (const shape of SHAPES) {
      for (const tool of tools) {
        const s = bucketOf(tool, shape);
        try {
          const run = await runners[tool]!(shape);
          s.wall.push(run.wallMs);
          if (run.maxRssKib !== undefined) s.rss.push(run.maxRssKib);
          if (run.inProcessMs !== undefined) s.inProcess.push(run.inProcessMs);
          if (run.resident) {
            s.anon.push(run.resident.anonKib);
            s.file.push(run.resident.fileKib);
          }
          log(`  ${tool.padEnd(7)} ${shape.padEnd(13)} #${i + 1}: ${(run.wallMs / 1000).toFixed(2)} s`);
        } catch (error) {
          s.failures.push(String(error).slice(0, 400));
          log(`  ${tool.padEnd(7)} ${shape.padEnd(13)} #${i + 1}: FAILED`);
        }
      }
    }
  }
  await hooks.stop();

  const floorRunner = await createFloorRunner({
    directoryUrl: bed.directoryUrl,
    fetch: bed.fetch,
    route53: bed.clients.route53,
    zoneIdFor: () => zoneIds.get('floor.bench.test')!,
  });
  const floor = {} as IssuanceResults['floor'];
  for (const shape of SHAPES) {
    const tight: number[] = [];
    const polite: number[] = [];
    for (let i = 0; i < (input.warmUp ? Math.max(n, 3) : n); i++) {
      tight.push((await floorRunner(names('floor', shape), { polite: false })).acmeMs);
      polite.push((await floorRunner(names('floor', shape), { polite: true })).acmeMs);
    }
    floor[shape] = { tight: summarize(tight), polite: summarize(polite) };
  }

  const byShape = { 'apex+wildcard': {}, single: {} } as IssuanceResults['byShape'];
  for (const shape of SHAPES)
    for (const tool of tools) {
      const s = bucketOf(tool, shape);
      byShape[shape][tool] = {
        wall: summarize(s.wall),
        rssKib: summarize(s.rss),
        ...(s.inProcess.length ? { inProcess: summarize(s.inProcess) } : {}),
        ...(s.anon.length
          ? { residentAtEnd: { anonKib: summarize(s.anon), fileKib: summarize(s.file) } }
          : {}),
        failures: s.failures,
      };
      for (const f of s.failures) notes.push(`${tool} ${shape}: ${f}`);
    }
  const bare: Array<{ maxRssKib?: number; anonKib?: number; fileKib?: number }> = [];
  for (let i = 0; i < 3; i++) {
    const run = await measure(node.path, ['-e', BARE_NODE_SCRIPT], { env: baseEnv });
    const split =
      run.exitCode === 0 ? (JSON.parse(run.stdout) as { anonKib?: number; fileKib?: number }) : {};
    bare.push({ maxRssKib: run.maxRssKib, ...split });
  }
  const median = (pick: (b: (typeof bare)[number]) => number | undefined) => {
    const values = bare.map(pick).filter((v): v is number => Number.isFinite(v));
    return values.length ? summarize(values).median : undefined;
  };
  const bareNode = {
    maxRssKib: median((b) => b.maxRssKib),
    anonKib: median((b) => b.anonKib),
    fileKib: median((b) => b.fileKib),
  };
  return { n, byShape, floor, notes, node: node.version, bareNode };
}
