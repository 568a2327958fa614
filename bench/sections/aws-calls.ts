import type { RuntimeConfig } from '../../functions/composition/runtime';
import type { Bed } from '../../testbed/bed';
import { pebbleRootsPem } from '../../testbed/pebble';
import type { AwsCall, CountingProxy } from '../lib/counting-proxy';

/** The AWS calls of one renewal, as seen at the endpoint. */
export interface CallCount {
  /** `service:action` → count. */
  readonly counts: Record<string, number>;
  /** Route 53 change batches per hosted zone, with the actions in each. */
  readonly route53ChangesByZone: Record<string, string[][]>;
  readonly total: number;
}

/** Section 4: the first issuance and a renewal (re-import into the same ACM ARN). */
export interface AwsCallResults {
  readonly domains: readonly string[];
  readonly zones: Record<string, string>;
  readonly issuance: CallCount;
  readonly renewal: CallCount;
  readonly renewalMs: number;
}

function tally(calls: readonly AwsCall[], zoneNames: Record<string, string>): CallCount {
  const counts: Record<string, number> = {};
  const route53ChangesByZone: Record<string, string[][]> = {};
  for (const c of calls) {
    const key = `${c.service}:${c.action}`;
    counts[key] = (counts[key] ?? 0) + 1;
    if (c.action === 'ChangeResourceRecordSets' && c.zone) {
      const name = zoneNames[c.zone] ?? c.zone;
      const batches = route53ChangesByZone[name] ?? [];
      batches.push([...(c.changeActions ?? [])]);
      route53ChangesByZone[name] = batches;
    }
  }
  return { counts, route53ChangesByZone, total: calls.length };
}

/**
 * Section 4: an apex + wildcard certificate spanning two hosted zones, issued once and then renewed (forced), with
 * the runtime's every AWS call going through a counting proxy in front of moto. The DNS responder reads moto
 * directly, so only the renewer's own calls are counted.
 */
export async function runAwsCalls(input: {
  readonly bed: Bed;
  readonly proxy: CountingProxy;
}): Promise<AwsCallResults> {
  const { bed, proxy } = input;
  const stack = await bed.createStack('calls');
  const zones: Record<string, string> = {};
  for (const name of ['alpha.bench.test', 'beta.bench.test']) zones[await bed.createZone(name)] = name;
  const domains = ['alpha.bench.test', '*.alpha.bench.test', 'beta.bench.test', '*.beta.bench.test'];
  await bed.putInventory(stack.bucket, {
    cas: { pebble: { directoryUrl: bed.directoryUrl, trustAnchors: await pebbleRootsPem(bed.pebble) } },
    certificates: [{ id: 'two-zones', ca: 'pebble', domains, keyType: 'ec-p256' }],
  });
  const config: RuntimeConfig = { ...stack.config, endpoint: proxy.endpoint };
  proxy.reset();
  const first = await bed.runtime(config).renew({ id: 'two-zones', reason: 'new' }, 'bench-calls');
  if (first.result !== 'renewed') throw new Error(`the first issuance ended "${first.result}"`);
  const issuance = tally(proxy.calls, zones);
  proxy.reset();
  const started = performance.now();
  // A fresh runtime, as a new Lambda container would have: nothing cached from the first issuance.
  const second = await bed
    .runtime(config)
    .renew({ id: 'two-zones', reason: 'forced', force: true }, 'bench-calls');
  const renewalMs = performance.now() - started;
  if (second.result !== 'renewed') throw new Error(`the renewal ended "${second.result}"`);
  const renewal = tally(proxy.calls, zones);
  return { domains, zones, issuance, renewal, renewalMs };
}
