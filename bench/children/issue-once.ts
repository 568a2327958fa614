// First, as in the renewer's entry point (functions/handlers/renewer.ts): schemas built without zod's JIT.
import '../../functions/composition/one-shot-parsing';
import { readFileSync } from 'node:fs';
import { createRenewerRuntime } from '../../functions/composition/runtime';
import type { RuntimeConfig } from '../../functions/composition/runtime-config';

/**
 * One issuance by this project's renewer path, in a process of its own so it is measured exactly like lego and
 * certbot (GNU time around the whole process). Pebble's TLS is trusted through NODE_EXTRA_CA_CERTS, i.e. with the
 * global fetch the Lambda uses. Prints one JSON line: the time spent inside `renew` and its outcome.
 */
const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as {
  config: Omit<RuntimeConfig, 'fetch' | 'clock' | 'decorate'>;
  id: string;
};
const started = performance.now();
const runtime = createRenewerRuntime(input.config);
const outcome = await runtime.renew({ id: input.id, reason: 'forced', force: true }, `bench-${process.pid}`);
const renewMs = performance.now() - started;
process.stdout.write(`${JSON.stringify({ renewMs, result: outcome.result, serial: outcome.serial })}\n`);
