import { readFileSync, writeFileSync } from 'node:fs';
import { createHttpsFetch } from '../../functions/adapters/https-fetch';
import type { RuntimeConfig } from '../../functions/composition/runtime-config';
import { createSchedulerRuntime } from '../../functions/composition/scheduler-runtime';
import type { Fetch } from '../../functions/core/http';
import { createSchedulerHandler } from '../../functions/handlers/scheduler';

/**
 * One scheduler pass through the real Lambda handler, in a process of its own (a fresh container). Counts the
 * requests that reached the CA at the fetch, samples RSS every 20 ms, and writes its figures to the file named by
 * the second argument; stdout carries only the handler's logs and EMF metrics, whose bytes the parent counts for
 * the CloudWatch Logs estimate.
 */
const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as {
  config: Omit<RuntimeConfig, 'fetch' | 'clock' | 'decorate'>;
  /** Runs the pass this much later than now: hours after the last one, when the next ARI checks have come. */
  clockOffsetMs?: number;
};
const offset = input.clockOffsetMs ?? 0;
let ariRequests = 0;
let caRequests = 0;
let caMs = 0;
// The functions' own client (as the runtime's default), wrapped to count and time what reaches the CA.
const https = createHttpsFetch();
const fetch: Fetch = async (url, init) => {
  caRequests++;
  if (/renewalInfo/i.test(String(url))) ariRequests++;
  const started = performance.now();
  const response = await https(url, init);
  // Buffer the body so the time covers the whole answer; the caller reads the copy.
  const chunks: Uint8Array[] = [];
  const reader = response.body?.getReader();
  for (let part = await reader?.read(); part && !part.done; part = await reader?.read())
    chunks.push(part.value);
  caMs += performance.now() - started;
  const bytes = Buffer.concat(chunks);
  return {
    status: response.status,
    ok: response.ok,
    statusText: response.statusText,
    headers: response.headers,
    body: response.body
      ? new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(bytes);
            controller.close();
          },
        })
      : null,
  };
};
let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 20);

const built = createSchedulerRuntime({
  ...input.config,
  fetch,
  ...(offset === 0 ? {} : { clock: { now: () => new Date(Date.now() + offset) } }),
});
/** Hours from now to each checked certificate's next look, by whole hour: the spread the ARI jitter makes. */
const spread: Record<number, number> = {};
const runtime = {
  config: built.config,
  scheduler: async () => {
    const report = await built.scheduler();
    const now = Date.now() + offset;
    for (const check of report.checks) {
      if (check.nextCheckAt === undefined) continue;
      const hour = Math.floor((Date.parse(check.nextCheckAt) - now) / 3_600_000);
      spread[hour] = (spread[hour] ?? 0) + 1;
    }
    return report;
  },
};
const handler = createSchedulerHandler(() => runtime);
const started = performance.now();
const result = await handler();
const ms = performance.now() - started;
peakRss = Math.max(peakRss, process.memoryUsage().rss);
clearInterval(sampler);
writeFileSync(
  process.argv[3]!,
  JSON.stringify({ ms, ariRequests, caRequests, caMs, ...result, peakRssBytes: peakRss, spread }),
);
