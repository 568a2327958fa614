import type { Peers } from './lib/peers';
import { mebibytes, ratio, seconds, table } from './lib/stats';
import { schedulerSection } from './report-scheduler';
import type { AwsCallResults } from './sections/aws-calls';
import type { ColdStartResult } from './sections/cold-start';
import { ASSUMPTIONS, type CostModel, PRICES } from './sections/cost';
import type { IssuanceResults, Shape, Tool } from './sections/issuance';
import type { SchedulerResults } from './sections/scheduler-scale';

/** Everything the report is made of; a section that failed or was skipped is `undefined`. */
export interface ReportInput {
  readonly startedAt: Date;
  readonly durationMs: number;
  readonly machine: string;
  readonly smoke: boolean;
  readonly options: { n: number; sizes: readonly number[]; coldRuns: number };
  readonly peers: Peers;
  readonly issuance?: IssuanceResults;
  readonly scheduler?: SchedulerResults;
  readonly cold?: readonly ColdStartResult[];
  readonly calls?: AwsCallResults;
  readonly cost?: CostModel;
  readonly errors: readonly string[];
}

const MB = 1_000_000;
const int = (n: number) => Math.round(n).toLocaleString('en-US');
const usd = (v: number | undefined) =>
  v === undefined ? 'n/a' : v >= 100 ? `$${int(v)}` : v >= 1 ? `$${v.toFixed(2)}` : `$${v.toFixed(3)}`;
const verdict = (met: boolean | undefined) => (met === undefined ? '—' : met ? '**met**' : '**missed**');

function issuanceSection(r: IssuanceResults, peers: Peers): string[] {
  const out: string[] = ['## 1. Issuance latency, side by side', ''];
  const tools: Tool[] = ['ours', 'lego', 'certbot'];
  const label: Record<Tool, string> = {
    ours: 'acme-ari-aws (this project)',
    lego: `lego ${peers.lego?.version ?? '(not installed)'}`,
    certbot: `certbot ${peers.certbot?.version ?? '(not installed)'}`,
  };
  const rows: string[][] = [];
  for (const shape of ['apex+wildcard', 'single'] as Shape[]) {
    const ours = r.byShape[shape].ours;
    for (const tool of tools) {
      const t = r.byShape[shape][tool];
      if (!t) {
        rows.push([shape, label[tool], 'skipped', '', '', '', '']);
        continue;
      }
      rows.push([
        shape,
        label[tool],
        seconds(t.wall.median),
        seconds(t.wall.p90),
        mebibytes(t.rssKib.median),
        tool === 'ours' ? '1.00×' : ratio(ours?.wall.median, t.wall.median),
        `${t.wall.n}${t.failures.length ? ` (+${t.failures.length} failed)` : ''}`,
      ]);
    }
    const f = r.floor[shape];
    rows.push([
      shape,
      'floor: Pebble alone (polls every 10 ms)',
      seconds(f.tight.median),
      seconds(f.tight.p90),
      '',
      '',
      `${f.tight.n}`,
    ]);
    rows.push([
      shape,
      'floor: Retry-After honoured',
      seconds(f.polite.median),
      seconds(f.polite.p90),
      '',
      '',
      `${f.polite.n}`,
    ]);
  }
  out.push(
    table(
      ['shape', 'tool', 'median wall', 'p90 wall', 'peak RSS (median)', 'ours / tool (median)', 'runs'],
      rows,
    ),
    '',
  );
  const inProc = (['apex+wildcard', 'single'] as Shape[])
    .map((s) => {
      const o = r.byShape[s].ours?.inProcess;
      return o ? `${s}: median ${seconds(o.median)}, p90 ${seconds(o.p90)}` : undefined;
    })
    .filter(Boolean);
  if (inProc.length) {
    out.push(
      `Time inside \`renew\` for ours (the same runs, minus Node.js start and bundle loading): ${inProc.join('; ')}.`,
      '',
    );
  }
  const peerMedians = (['lego', 'certbot'] as Tool[])
    .flatMap((t) =>
      (['apex+wildcard', 'single'] as Shape[]).map((s) => ({ t, s, m: r.byShape[s][t]?.wall.median })),
    )
    .filter((x) => x.m !== undefined && !Number.isNaN(x.m));
  const verdicts = (['apex+wildcard', 'single'] as Shape[]).map((s) => {
    const ours = r.byShape[s].ours?.wall.median;
    const fastest = peerMedians.filter((x) => x.s === s).sort((a, b) => a.m! - b.m!)[0];
    if (ours === undefined || !fastest) return `${s}: no peer measured`;
    const met = ours <= fastest.m!;
    return `${s}: ours ${seconds(ours)} vs fastest peer ${fastest.t} ${seconds(fastest.m)} — ${verdict(met)}${
      met ? '' : ` by ${seconds(ours - fastest.m!)}`
    }`;
  });
  out.push(`**Target** — issuance median no slower than the fastest peer: ${verdicts.join('; ')}.`, '');
  const lean = (['apex+wildcard', 'single'] as Shape[]).map((s) => {
    const ours = r.byShape[s].ours;
    const polite = r.floor[s]?.polite.median;
    const certbot = r.byShape[s].certbot?.wall.median;
    const m = ours?.wall.median;
    if (m === undefined) return `${s}: not measured`;
    const vsFloor = polite ? m / polite : undefined;
    const vsCertbot = certbot ? m / certbot : undefined;
    const rss = ours?.rssKib.median;
    const f = (x: number | undefined, limit: number) =>
      x === undefined ? 'n/a' : `${x.toFixed(2)}× ${verdict(x <= limit)}`;
    return (
      `${s}: ${f(vsFloor, 1.3)} the polite floor (≤ 1.3×), ${f(vsCertbot, 0.5)} certbot's (≤ 0.5×), peak RSS ` +
      `${mebibytes(rss)} ${verdict(rss === undefined ? undefined : rss <= 90 * 1024)} (≤ 90 MiB)`
    );
  });
  out.push(`**Target** — a lean renewer: ${lean.join('; ')}.`, '');
  const split = r.byShape['apex+wildcard'].ours?.residentAtEnd;
  if (split && r.bareNode?.anonKib !== undefined && r.bareNode.fileKib !== undefined) {
    out.push(
      `Where the renewer's memory is (apex+wildcard, medians at the end of the run, /proc/self/status): ` +
        `${mebibytes(split.anonKib.median)} anonymous (the V8 heap and native allocations) and ` +
        `${mebibytes(split.fileKib.median)} file-backed (the node binary's own code and data as far as the run ` +
        `touched them: TLS, WebCrypto, the compilers). Node.js ${r.node} running nothing holds ` +
        `${mebibytes(r.bareNode.anonKib)} anonymous and ${mebibytes(r.bareNode.fileKib)} file-backed ` +
        `(peak ${mebibytes(r.bareNode.maxRssKib)}), so the process's own work adds ` +
        `${mebibytes(split.anonKib.median - r.bareNode.anonKib)} and ` +
        `${mebibytes(split.fileKib.median - r.bareNode.fileKib)}.`,
      '',
    );
  }
  out.push(
    'How it was measured: one Pebble (`PEBBLE_VA_NOSLEEP=1`, nonce rejection 0 %, authorization reuse 0 %, ' +
      "Retry-After 1 s on pending authorizations and orders) validating dns-01 through the test bed's DNS " +
      "responder, which answers from moto's Route 53. All three tools publish their TXT records through moto's " +
      'Route 53 API (a change batch, then GetChange until INSYNC): ours in-process through its Route 53 adapter; ' +
      'lego (`--dns exec`, `EXEC_PATH`) and certbot (`--manual-auth-hook`/`--manual-cleanup-hook`) through a ' +
      '`curl` hook to a small endpoint in the bench process that makes the same SDK calls. Each run is one process ' +
      'under `/usr/bin/time -v` (wall time from spawn to exit, "Maximum resident set size"); ours is the renewer ' +
      'path (`createRenewerRuntime(config).renew({ force: true })`) bundled like the Lambda and run with ' +
      `Node.js ${r.node} (the Lambda runtime's major) and its NODE_OPTIONS, so it ` +
      'pays Node.js start, bundle loading, the S3 lease and state, and the ACM import, which the peers do not do. ' +
      "Runs are interleaved ours → lego → certbot; one unmeasured warm-up round registers each tool's account first " +
      "(each then reuses it, as a renewal would). lego's exec provider solves challenges one at a time; " +
      '`EXEC_SEQUENCE_INTERVAL=0` removes the 60 s pause it would otherwise add between them, `--dns.disable-cp` ' +
      'skips its authoritative-server check.',
    '',
    'Floor: a bare replay of the same ACME requests (newOrder, authorizations, challenges, polls, finalize, ' +
      'download) with an existing account, a CSR made beforehand and TXT records written straight into moto, the ' +
      'time spent writing them subtracted. "Pebble alone" polls every 10 ms, so it is the time Pebble needs to ' +
      'answer, validate and sign; "Retry-After honoured" waits as RFC 8555 §7.5.1 asks, which is the best any ' +
      "polite client can do against this server. Summing server-side handling from Pebble's logs was not " +
      'possible: Pebble logs requests without durations.',
    '',
  );
  return out;
}

function coldSection(results: readonly ColdStartResult[], runs: number): string[] {
  const out: string[] = ['## 3. Cold start and footprint', ''];
  const mb = (bytes: number) => `${(bytes / MB).toFixed(3)} MB`;
  out.push(
    table(
      [
        'handler',
        'index.mjs',
        'loaded at start (files)',
        'lazy chunks (files)',
        'source maps',
        'import median / p90',
        'import + clients median / p90',
        'whole process median',
        'peak RSS median',
      ],
      results.map((c) => [
        c.handler,
        mb(c.bundle.bytes),
        `${mb(c.bundle.eagerBytes)} (${c.bundle.eagerFiles})`,
        `${mb(c.bundle.lazyBytes)} (${c.bundle.lazyFiles})`,
        mb(c.bundle.allMapBytes),
        `${c.importMs.median.toFixed(0)} / ${c.importMs.p90.toFixed(0)} ms`,
        `${c.importAndClientsMs.median.toFixed(0)} / ${c.importAndClientsMs.p90.toFixed(0)} ms`,
        `${c.processMs.median.toFixed(0)} ms`,
        `${c.peakRssMiB.median.toFixed(1)} MiB`,
      ]),
    ),
    '',
  );
  const v = results.map((c) => {
    const limit = 700_000;
    const size = c.bundle.eagerBytes < limit;
    const time = c.importAndClientsMs.median < 120;
    return (
      `${c.handler}: size ${verdict(size)}${size ? '' : ` by ${((c.bundle.eagerBytes - limit) / 1000).toFixed(0)} kB`}, ` +
      `import + clients ${verdict(time)}${time ? '' : ` by ${(c.importAndClientsMs.median - 120).toFixed(0)} ms`}`
    );
  });
  out.push(
    `**Target** — each bundle under 700 kB (judged on what a cold start loads: index.mjs and the chunks it ` +
      `imports statically) and import + client set-up under 120 ms (median of ${runs}): ${v.join('; ')}.`,
    '',
  );
  for (const c of results) {
    out.push(
      `What a ${c.handler} cold start loads (bytes in the output, by package): ` +
        `${c.bundle.topInputs.map((i) => `${i.name} ${(i.bytes / 1000).toFixed(0)} kB`).join(', ')}; ` +
        `only on first use: ${c.bundle.lazyInputs.map((i) => `${i.name} ${(i.bytes / 1000).toFixed(0)} kB`).join(', ') || 'nothing'}.`,
      '',
    );
  }
  out.push(
    'How: each handler is bundled with the options of `infra/lib/lambda-bundling.ts` (ESM, minified, split into ' +
      "`index.mjs` and `chunks/`, external source maps, the `require` banner, the runtime's Node target, AWS SDK " +
      'bundled with the environment-only credential provider) — the options the infra test proves produce the ' +
      'deployed asset. "loaded at start" is `index.mjs` and every chunk it imports statically; the lazy chunks are ' +
      'read only by the code that needs them (the Lambda client of first imports and persist records, Secrets ' +
      'Manager for EAB, what the SDK loads on demand). "import" is `await import()` of that exact bundle in a fresh ' +
      `\`node --enable-source-maps\` process (${results[0]?.nodeVersion ?? 'Node.js'}; the Lambda sets NODE_OPTIONS so), ` +
      `median of ${runs} runs after one unmeasured run; "import + clients" imports the same code bundled together ` +
      "with the function's own runtime (`createSchedulerRuntime`, `createRenewerRuntime`, `createFirstImport`) and " +
      'builds its clients from a Lambda-like environment (what the first invocation does before any I/O); its peak ' +
      'RSS is VmHWM of /proc/self/status at the end (not `resourceUsage().maxRSS`, which Linux carries over from the ' +
      'parent across exec). Each function bundles only its own composition: the ' +
      'scheduler S3 and SQS; the renewer S3, Route 53, STS, ACM, EventBridge and, loaded on first use, Lambda ' +
      "(first imports) and Secrets Manager (EAB). A Lambda cold start adds the runtime's own initialisation, and " +
      "Lambda's arm64 CPUs are slower than this machine's, so expect the import to take longer there.",
    '',
  );
  return out;
}

function callsSection(r: AwsCallResults): string[] {
  const out: string[] = ['## 4. AWS calls per renewal', ''];
  const keys = [...new Set([...Object.keys(r.renewal.counts), ...Object.keys(r.issuance.counts)])].sort();
  out.push(
    table(
      ['service:action', 'renewal', 'first issuance'],
      [
        ...keys.map((k) => [k, String(r.renewal.counts[k] ?? 0), String(r.issuance.counts[k] ?? 0)]),
        ['**total**', String(r.renewal.total), String(r.issuance.total)],
      ],
    ),
    '',
  );
  const perZone = Object.entries(r.renewal.route53ChangesByZone).map(
    ([zone, batches]) => `${zone}: ${batches.map((b) => b.join('+')).join(', then ')}`,
  );
  const met =
    Object.keys(r.zones).length === Object.keys(r.renewal.route53ChangesByZone).length &&
    Object.values(r.renewal.route53ChangesByZone).every(
      (batches) => batches.length <= 2 && batches.filter((b) => !b.every((a) => a === 'DELETE')).length <= 1,
    );
  out.push(
    `Certificate: ${r.domains.join(', ')} (two hosted zones). Route 53 change batches per zone in the renewal — ` +
      `${perZone.join('; ')}.`,
    '',
    `**Target** — at most one Route 53 change per zone per renewal plus its cleanup: ${verdict(met)}.`,
    '',
    "How: the runtime's SDK endpoint was a counting HTTP proxy in front of moto; each request is named by the " +
      'SigV4 credential scope (service) and X-Amz-Target, `Action=` or method + path (operation). The DNS ' +
      'responder that Pebble queries reads moto directly and is not counted. moto reports changes INSYNC at once, so ' +
      'no GetChange poll was needed; on AWS expect a few more GetChange calls per zone (the adapter polls from 2 s, ' +
      `growing 1.5× up to 15 s). The renewal took ${seconds(r.renewalMs)} in-process.`,
    '',
  );
  return out;
}

function costSection(
  c: CostModel,
  retryAfter: string | null | undefined,
  renewalMs: number | undefined,
): string[] {
  const out: string[] = ['## 5. Cost model (monthly, USD)', ''];
  const sizes = c.sizes;
  out.push(
    table(
      ['item', ...sizes.map((n) => `${int(n)} certificates`)],
      [
        ...c.lines.map((l) => [l.item, ...sizes.map((n) => usd(l.monthly[n]))]),
        ['**total, this project**', ...sizes.map((n) => `**${usd(c.totals[n])}**`)],
        ['ACM exportable public, single-name certificates', ...sizes.map((n) => usd(c.acm.single[n]))],
        [
          'ACM exportable public, apex + wildcard certificates',
          ...sizes.map((n) => usd(c.acm.apexWildcard[n])),
        ],
      ],
    ),
    '',
  );
  const dominant = sizes.map((n) => {
    const top = [...c.lines].sort((a, b) => (b.monthly[n] ?? 0) - (a.monthly[n] ?? 0))[0]!;
    return `${int(n)}: ${top.item} (${((100 * (top.monthly[n] ?? 0)) / (c.totals[n] || 1)).toFixed(0)} %)`;
  });
  const targets: Record<number, number> = { 1000: 2.5, 10000: 15, 100000: 100 };
  const v = sizes
    .filter((n) => targets[n] !== undefined)
    .map((n) => {
      const t = targets[n]!;
      const total = c.totals[n] ?? 0;
      return `${int(n)}: ${usd(total)} vs ≤ ${usd(t)} ${verdict(total <= t)}${total > t ? ` by ${usd(total - t)}` : ''}`;
    });
  const d = c.defaults;
  out.push(
    `**Target** — default monthly cost, every line listed: ${v.join('; ')}. The fixed part (${d.kmsKeys} KMS ` +
      `${d.kmsKeys === 1 ? 'key' : 'keys'} at $${PRICES.kmsKeyMonth}, ${d.alarms} alarms, ${d.serviceMetrics.length} ` +
      `service-level metrics at $${PRICES.cloudWatchMetricMonthFirst10k} each, without CloudWatch's free tier of 10 ` +
      'metrics and 10 alarms) is most of the bill at 1,000 certificates. Keys, alarms, metrics and memory are the ' +
      "construct's defaults, read from a synthesized stack (bench/sections/cost-defaults.ts).",
    '',
  );
  out.push(
    `Largest item per size — ${dominant.join('; ')}.` +
      ' With the index, S3 requests grow with ARI refreshes, not with passes: a refresh that rewrites its ' +
      "certificate's state document costs a PUT ($0.005 per 1,000), and a certificate is refreshed about 97 times a " +
      'month at a 6-hour Retry-After; only its first refresh after a renewal selects a new window and writes the ' +
      'state (pass 1), every other one confirms the window and writes ' +
      (c.refreshMeasured
        ? `${c.refreshStateWriteShare.toFixed(4)} S3 PUTs per refresh as measured (pass 4, the index's write included). `
        : `${(c.refreshStateWriteShare * 100).toFixed(0)} % of the time as assumed (no confirming pass measured). `) +
      "With CloudWatch's always-free tier unused by anything else in the account " +
      '(10 metrics, 10 alarms), the 1,000-certificate total drops by the metrics and alarms lines.',
    '',
    'Inputs — measured here: the nothing-due pass at each size (time, S3 requests, log bytes: what every hourly ' +
      'pass costs), and per certificate what one ARI refresh added to the refresh pass (section 2); AWS calls and ' +
      `duration (${seconds(renewalMs)}) of one renewal (section 4). ` +
      `Assumed: a pass every ${ASSUMPTIONS.scheduleIntervalHours} h (${ASSUMPTIONS.hoursPerMonth} a month); ` +
      `each certificate read once per jittered Retry-After (${Number(retryAfter ?? 21_600) / 3600} h, Pebble's ` +
      'value, used for the CA, × 1.25 on average) and once after each renewal (its change marker), never otherwise; ' +
      `${ASSUMPTIONS.renewalsPerCertificateMonth.toFixed(2)} renewals per certificate a month (90-day certificates ` +
      'renewed ~60 days in; 45-day certificates double it); scheduler ' +
      `${d.schedulerMemoryMb} MB and renewer ${d.renewerMemoryMb} MB arm64, ${d.alarms} alarms, ` +
      `${d.serviceMetrics.length} service-level metrics (${d.serviceMetrics.join(', ')}; informational counts only ` +
      'in the log lines unless `detailedMetrics`) and `DaysToExpiry` per certificate under ' +
      `\`${d.perCertificateMetrics}\` ≤ ${d.perCertificateMetricDays} days (the construct's defaults; a 90-day ` +
      `certificate renews with ~${ASSUMPTIONS.daysLeftAtRenewal} days left, so ` +
      `${d.perCertificateMetricDays < ASSUMPTIONS.daysLeftAtRenewal ? 'none gets one unless its renewal is late' : 'each gets one for about an hour per renewal'}); ` +
      'SQS idle long-polling by the Lambda event source of ~5 pollers × 3 ' +
      `receives a minute; state bucket ${d.stateBucketKms ? 'SSE-KMS' : 'SSE-S3 (key material SSE-KMS)'}, S3 Bucket Keys cutting KMS requests to ~1 per 1,000 S3 object requests. Free tiers are ` +
      'not applied. Durations measured against moto and Pebble are shorter than on AWS (Route 53 INSYNC alone ' +
      'takes 10–60 s); even at 90 s per renewal the renewer line stays under ' +
      `${usd(10_000 * ASSUMPTIONS.renewalsPerCertificateMonth * 90 * PRICES.lambdaArmGbSecond)} a month at 10,000 ` +
      'certificates.',
    '',
    `Prices (us-east-1, public list prices used for ${PRICES.date}): Lambda arm64 $${PRICES.lambdaArmGbSecond} per ` +
      `GB-s and $${PRICES.lambdaPerMillionRequests} per million requests; SQS $${PRICES.sqsPerMillionRequests} per ` +
      `million requests; S3 $${PRICES.s3PutPer1000} per 1,000 PUT/LIST/DELETE-class and $${PRICES.s3GetPer1000} per ` +
      `1,000 GET requests; EventBridge Scheduler $${PRICES.schedulerPerMillionInvocations} per million invocations ` +
      `after ${int(PRICES.schedulerFreeInvocations)} free a month, custom events $${PRICES.eventBridgePerMillionEvents} ` +
      `per million; CloudWatch $${PRICES.cloudWatchMetricMonthFirst10k} per custom metric-month (first 10,000, then ` +
      `$${PRICES.cloudWatchMetricMonthNext240k}), $${PRICES.cloudWatchAlarmMonth} per standard alarm-month, ` +
      `$${PRICES.cloudWatchLogsPerGbIngested} per GB of logs ingested; KMS $${PRICES.kmsKeyMonth} per key-month and ` +
      `$${PRICES.kmsPer10kRequests} per 10,000 requests. Sources: aws.amazon.com/lambda/pricing, /sqs/pricing, ` +
      '/s3/pricing, /eventbridge/pricing, /cloudwatch/pricing, /kms/pricing. Check them before relying on the totals.',
    '',
    `ACM exportable public certificates: $${PRICES.acmExportableFqdn} per fully qualified domain name and ` +
      `$${PRICES.acmExportableWildcard} per wildcard name, charged at issuance and again at every renewal (AWS Price ` +
      'List ACM offer, usage types `USE1-IssueExportablePublicCertificateDomain` and ' +
      '`…IssueExportablePublicCertificateWildcardDomain`, read from a mirror of the offer file: ' +
      'huggingface.co/datasets/labofsahil/aws-pricing-dataset, ACM.csv; ' +
      'https://aws.amazon.com/certificate-manager/pricing/; ' +
      'https://docs.aws.amazon.com/acm/latest/userguide/acm-exportable-certificates.html). The monthly figures ' +
      `assume ${ASSUMPTIONS.acmChargesPerYear} charges a year per certificate (the 200-day maximum validity of ` +
      "CA/B Forum ballot SC-081 from 2026-03-15). ACM's non-exportable public certificates remain free when they " +
      'are only used with integrated services (ALB, CloudFront, API Gateway); this project is for certificates ' +
      'from a chosen ACME CA, with ARI, that must also exist outside ACM.',
    '',
  );
  for (const note of c.notes) out.push(`- ${note}`);
  if (c.notes.length) out.push('');
  return out;
}

/** Renders bench/results.md: machine, date, every section's table with its target and method. */
export function renderReport(input: ReportInput): string {
  const out: string[] = [
    `# Benchmarks${input.smoke ? ' (smoke run: tiny sizes, not for conclusions)' : ''}`,
    '',
    `- Date: ${input.startedAt.toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- Machine: ${input.machine}`,
    `- Command: \`npm run ${input.smoke ? 'bench:smoke' : 'bench'}\` (N = ${input.options.n} issuances per tool and ` +
      `shape, scheduler sizes ${input.options.sizes.map(int).join(', ')}, ${input.options.coldRuns} cold starts), ` +
      `${(input.durationMs / 60_000).toFixed(1)} min in all`,
    '- Bed: Pebble 2.10.0 (Debian sid, with ARI and profiles), moto 5.1.1 (Debian trixie), the Route 53 DNS ' +
      'responder of `testbed/`; peers from Debian bookworm',
    '- Targets are stated next to the numbers; they are goals, not assertions, and no test fails on them.',
    '',
  ];
  for (const note of input.peers.notes) out.push(`- Note: ${note}`);
  if (input.peers.notes.length) out.push('');
  if (input.errors.length) {
    out.push('## Sections that failed', '');
    for (const e of input.errors) out.push('```', e, '```', '');
  }
  if (input.issuance) out.push(...issuanceSection(input.issuance, input.peers));
  if (input.scheduler) out.push(...schedulerSection(input.scheduler));
  if (input.cold) out.push(...coldSection(input.cold, input.options.coldRuns));
  if (input.calls) out.push(...callsSection(input.calls));
  if (input.cost)
    out.push(...costSection(input.cost, input.scheduler?.ariRetryAfter, input.calls?.renewalMs));
  if (input.issuance?.notes.length) {
    out.push('## Run notes', '');
    for (const n of input.issuance.notes) out.push(`- ${n.replaceAll('\n', ' ')}`);
    out.push('');
  }
  return out.join('\n');
}
