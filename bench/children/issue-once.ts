// First, as in the renewer's entry point (functions/handlers/renewer.ts): schemas built without zod's JIT.
import '../../functions/composition/one-shot-parsing';
import { readFileSync } from 'node:fs';
import { createRenewerRuntime } from '../../functions/composition/runtime';
import type { RuntimeConfig } from '../../functions/composition/runtime-config';

/**
 * One issuance by this project's renewer path, in a process of its own so it is measured exactly like lego and
 * certbot (GNU time around the whole process). Pebble's TLS is trusted through NODE_EXTRA_CA_CERTS, by the runtime's
 * default HTTP client (functions/adapters/https-fetch.ts), as in Lambda. Prints one JSON line: the time spent inside
 * `renew` and its outcome.
 */
const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as {
  config: Omit<RuntimeConfig, 'fetch' | 'clock' | 'decorate'>;
  id: string;
};
const started = performance.now();
const runtime = createRenewerRuntime(input.config);
const outcome = await runtime.renew({ id: input.id, reason: 'forced', force: true }, `bench-${process.pid}`);
const renewMs = performance.now() - started;
process.stdout.write(
  `${JSON.stringify({ renewMs, result: outcome.result, serial: outcome.serial, rss: residentSplit() })}\n`,
);

/**
 * What the process holds in memory at its end, split as Linux reports it (/proc/self/status, KiB): anonymous pages
 * (the V8 heap, native allocations) and file-backed ones (the node binary's own code and data as far as they were
 * touched). Undefined where /proc is missing.
 */
function residentSplit(): { anonKib: number; fileKib: number } | undefined {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(status)?.[1]);
    const split = { anonKib: kib('RssAnon'), fileKib: kib('RssFile') };
    return Number.isFinite(split.anonKib) && Number.isFinite(split.fileKib) ? split : undefined;
  } catch {
    return undefined;
  }
}
