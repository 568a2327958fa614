import { ARI_CHECK_JITTER, ARI_REQUEST_BURST, ARI_REQUESTS_PER_SECOND } from '../functions/core/ari';
import { SCHEDULER_MEMORY_MB } from '../infra/lib/acme-function';
import { mebibytes, seconds, table } from './lib/stats';
import type { PassResult, ScaleResult, SchedulerResults } from './sections/scheduler-scale';

/** AWS latencies the issue's target is stated at (renewalInfo from a real CA, S3 in-region). */
export const MODEL = { renewalInfoMs: 150, s3Ms: 20 } as const;

/** Lambda's CPU share: one vCPU at 1,769 MB. */
const MB_PER_VCPU = 1769;
const TARGET_MS = 60_000;

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const verdict = (met: boolean | undefined) => (met === undefined ? '—' : met ? '**met**' : '**missed**');
const s3 = (p: PassResult) =>
  `${int(p.awsCalls['s3:GetObject'] ?? 0)} / ${int(p.awsCalls['s3:PutObject'] ?? 0)}`;

/**
 * The refresh pass at the modelled latencies: each check reads its state, asks renewalInfo and writes the state
 * (one S3 GET, one CA request, one S3 PUT: the bench's refresh pass selects every window for the first time; a
 * refresh that confirms a stored window makes no PUT: `writesState` false), `concurrency` at a time, never faster than the per-CA rate;
 * plus the inventory, index and marker listing before and the index write after.
 */
export function modelRefreshMs(certificates: number, concurrency: number, writesState = true): number {
  const perCheck = MODEL.s3Ms + MODEL.renewalInfoMs + (writesState ? MODEL.s3Ms : 0);
  const byConcurrency = (certificates * perCheck) / concurrency;
  const byRate = (Math.max(0, certificates - ARI_REQUEST_BURST) / ARI_REQUESTS_PER_SECOND) * 1000;
  return Math.max(byConcurrency, byRate) + 4 * MODEL.s3Ms;
}

function row(s: ScaleResult, p: PassResult, label: string, concurrency: number): string[] {
  return [
    int(s.certificates),
    label,
    seconds(p.handlerMs),
    label.startsWith('1')
      ? seconds(modelRefreshMs(s.certificates, concurrency))
      : label.startsWith('4')
        ? seconds(modelRefreshMs(s.certificates, concurrency, false))
        : seconds(4 * MODEL.s3Ms),
    int(p.ariRequests),
    s3(p),
    int(p.awsCalls['s3:ListObjectsV2'] ?? p.awsCalls['s3:ListObjects'] ?? 0),
    mebibytes(p.maxRssKib),
    seconds(p.cpuMs),
    `${(p.logBytes / 1024).toFixed(0)} KiB`,
    int(p.enqueued),
  ];
}

/** The spread of next looks after the refresh pass, as "6 h: 3,300 (33 %)". */
function spreadLine(p: PassResult, certificates: number): { text: string; largestShare: number } {
  const hours = Object.entries(p.spread)
    .map(([h, n]) => [Number(h), n] as const)
    .sort((a, b) => a[0] - b[0]);
  const largest = Math.max(0, ...hours.map(([, n]) => n));
  const text = hours.map(
    ([h, n]) => `${h}–${h + 1} h: ${int(n)} (${((100 * n) / certificates).toFixed(0)} %)`,
  );
  return { text: text.join(', '), largestShare: largest / certificates };
}

/** Section 2 of bench/results.md: the passes, the model next to them, the spread, and the memory sizing. */
export function schedulerSection(r: SchedulerResults): string[] {
  const c = r.concurrency;
  const out: string[] = ['## 2. Scheduler scale', ''];
  const rows = r.sizes.flatMap((s) => [
    ...(s.first ? [row(s, s.first, '1: every ARI due (index rebuilt)', c)] : []),
    row(s, s.second, s.seededIndex ? '2: nothing due (index seeded)' : '2: nothing due (right after)', c),
    ...(s.changedInventory ? [row(s, s.changedInventory, '3: nothing due, inventory changed', c)] : []),
    ...(s.confirmed
      ? [row(s, s.confirmed, '4: every ARI due again, windows confirmed (+1.5 × Retry-After)', c)]
      : []),
  ]);
  const header = ['certificates', 'pass', 'handler time (bed)', 'model at AWS latencies', 'ARI requests'];
  header.push('S3 GET / PUT', 'S3 LIST', 'peak RSS', 'CPU (user+sys)', 'logs + EMF', 'enqueued');
  out.push(table(header, rows), '');
  const full = [...r.sizes].filter((s) => s.first).sort((a, b) => b.certificates - a.certificates)[0];
  const biggest = [...r.sizes].sort((a, b) => b.certificates - a.certificates)[0];
  if (full?.first) out.push(...refreshTargets(full, full.first, c, r.ariRetryAfter), '');
  if (biggest) out.push(...nothingDueTargets(r.sizes), '');
  out.push(
    `How the certificates were made: ${r.seeds} real certificates were issued by Pebble (90-day validity) through ` +
      `the renewer. Inventory entry i has the names, key type and CA of seed i mod ${r.seeds}, so its config hash ` +
      `matches, and gets seed i mod ${r.seeds}'s state document (serial, dates, CertID) with its ARI data removed ` +
      '(written with 64 PUTs in flight). The first pass therefore fetches renewalInfo for every entry, and Pebble ' +
      "answers each about a real certificate it issued. Pebble's renewalInfo Retry-After: " +
      `${r.ariRetryAfter ?? 'none'} s. Above 10,000 certificates the bench writes no state documents: it writes the ` +
      "schedule index a first pass would leave (every certificate to be looked at in five hours, with its seed's " +
      "config hash, expiry and start of validity, and the inventory's ETag) and runs only the nothing-due pass, " +
      'then the same pass with the ETag dropped from the index (as after an inventory edit); the refresh pass at ' +
      'that size is the model. ' +
      'Each pass runs the real scheduler handler (logs and EMF metrics included) in a fresh Node.js ' +
      `${r.node} process (the Lambda runtime's major) bundled like ` +
      `the Lambda, at the deployed \`ARI_CONCURRENCY\` default (${c}) and per-CA rate (${ARI_REQUESTS_PER_SECOND}/s, ` +
      `burst ${ARI_REQUEST_BURST}), with the AWS calls counted at a proxy in front of moto and the CA's requests ` +
      "counted at the fetch. Peak RSS is GNU time's figure for the whole process; seeding time is excluded.",
    '',
  );
  return out;
}

function refreshTargets(
  s: ScaleResult,
  p: PassResult,
  concurrency: number,
  retryAfter: string | null,
): string[] {
  const n = s.certificates;
  const model = modelRefreshMs(n, concurrency);
  const modelAt100k = modelRefreshMs(100_000, concurrency);
  const spread = spreadLine(p, n);
  const cpu = p.cpuMs ?? 0;
  const neededMb = Math.ceil(((cpu / TARGET_MS) * MB_PER_VCPU) / 64) * 64;
  const atMemory = (cpu * MB_PER_VCPU) / SCHEDULER_MEMORY_MB;
  const memMet = p.maxRssKib === undefined ? undefined : p.maxRssKib < 256 * 1024;
  return [
    `**Target** — a ${int(n)}-certificate ARI refresh in ≤ 60 s at modelled AWS latencies (renewalInfo ` +
      `${MODEL.renewalInfoMs} ms, S3 ${MODEL.s3Ms} ms) within a documented per-CA rate: model ` +
      `max(${int(n)} × (${MODEL.s3Ms} + ${MODEL.renewalInfoMs} + ${MODEL.s3Ms}) ms ÷ ${concurrency} checks in ` +
      `flight, ${int(n)} ÷ ${ARI_REQUESTS_PER_SECOND} req/s) + 4 S3 calls = ${seconds(model)} ` +
      `${verdict(model <= TARGET_MS)}${model > TARGET_MS ? ` by ${seconds(model - TARGET_MS)}` : ''}; ` +
      `measured on the bed ${seconds(p.handlerMs)} (moto serves S3 calls largely one at a time: ` +
      `${(p.awsMs / n).toFixed(2)} ms of summed S3 time per certificate; Pebble answers renewalInfo in ` +
      `${(p.caMs / Math.max(1, p.caRequests)).toFixed(1)} ms on average). The rate bound, not the concurrency, sets ` +
      `the model's time; at 100,000 certificates the same model gives ${seconds(modelAt100k)}, so a refresh of ` +
      'everything at once would take several passes (the pass budget stops it at 4 minutes and the next pass ' +
      'continues) — which the jitter below keeps from happening after the first.',
    '',
    `**Target** — refreshes spread instead of all falling due in one pass: after the refresh pass the next looks ` +
      `fall in ${spread.text} (Pebble's Retry-After ${retryAfter ?? 'none'} s; each next check drawn uniformly in ` +
      `[Retry-After, ${1 + ARI_CHECK_JITTER} × Retry-After]); the largest hourly pass would see ` +
      `${(100 * spread.largestShare).toFixed(0)} % of them — ${verdict(spread.largestShare < 0.5)} (without ` +
      'jitter: 100 % in one pass).',
    '',
    `**Target** — memory: peak RSS ${mebibytes(p.maxRssKib)} in the ${int(n)}-certificate refresh pass, under ` +
      `256 MiB ${verdict(memMet)}. Scheduler memory sized from its measured CPU: the pass used ${seconds(cpu)} of ` +
      `CPU (${(cpu / n).toFixed(2)} ms per certificate, process start included) on this machine; Lambda gives ` +
      `CPU in proportion to memory, so doing that within 60 s needs ≥ ${int(neededMb)} MB; the construct sets ` +
      `${int(SCHEDULER_MEMORY_MB)} MB (\`SCHEDULER_MEMORY_MB\`, infra/lib/acme-function.ts), where that CPU ` +
      `takes ≈ ${seconds(atMemory)} — ${verdict(atMemory <= TARGET_MS)}. ${int(MB_PER_VCPU)} MB is one whole vCPU, ` +
      'the most a pass can use (its JavaScript runs on one thread; more memory adds a second vCPU it barely ' +
      "touches), and it leaves a margin over the measured need for Lambda's arm64 cores, slower than this " +
      "machine's. This pass selects every window for the first time and so writes every state document; a " +
      'refresh that confirms a stored window (the usual case) reads the state and writes nothing.',
  ];
}

function nothingDueTargets(sizes: readonly ScaleResult[]): string[] {
  const parts = sizes.map((s) => {
    const p = s.second;
    return `${int(s.certificates)}: ${seconds(p.handlerMs)}, ${s3(p)} S3 GET / PUT, ${int(p.ariRequests)} ARI`;
  });
  const gets = sizes.map((s) => s.second.awsCalls['s3:GetObject'] ?? 0);
  const flat = Math.max(...gets) <= 3;
  const biggest = [...sizes].sort((a, b) => b.certificates - a.certificates)[0]!;
  const p = biggest.second;
  const met = p.maxRssKib === undefined ? undefined : p.maxRssKib <= 256 * 1024 && p.handlerMs <= 30_000;
  const changed = biggest.changedInventory;
  const changedUnder = changed?.maxRssKib !== undefined && changed.maxRssKib <= 256 * 1024;
  return [
    `**Target** — a pass where nothing is due costs what changed, not the inventory size: ${parts.join('; ')}. ` +
      `S3 GETs per nothing-due pass stay at ${int(Math.max(...gets))} or fewer at every size (the inventory, read ` +
      'with `If-None-Match` on the ETag the index records, so S3 answers 304 without a body when it is unchanged; ' +
      `the index; the change markers are one LIST) — ${verdict(flat)}; a pass that checked nothing over an ` +
      'unchanged inventory writes no index (0 PUT).',
    '',
    `**Target** — ${int(biggest.certificates)} certificates, nothing due, in ≤ 30 s and ≤ 256 MiB: ` +
      `${seconds(p.handlerMs)} in the handler, peak RSS ${mebibytes(p.maxRssKib)}, ${seconds(p.cpuMs)} of CPU ` +
      `(process start included) — ${verdict(met)}. The index is parallel arrays (ids, hashes, look-at, ` +
      'validity and renewalInfo times) checked by a light guard, and an unchanged inventory is neither parsed nor ' +
      'hashed: the index rows are its certificates.' +
      (changed
        ? ` After an inventory edit the first pass parses and hashes it in full, keeping only ids and hashes: ` +
          `${seconds(changed.handlerMs)}, peak RSS ${mebibytes(changed.maxRssKib)}, ${seconds(changed.cpuMs)} of ` +
          `CPU (row 3; ${changedUnder ? 'also under' : 'over'} 256 MiB).`
        : ''),
  ];
}
