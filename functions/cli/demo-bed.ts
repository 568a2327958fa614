import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SQSEvent } from 'aws-lambda';
import { type Bed, startBed } from '../../testbed/bed';
import { pebbleRootsPem } from '../../testbed/pebble';
import type { Runtime, RuntimeConfig } from '../composition/runtime';
import { type Inventory, parseInventory } from '../core/config/inventory';
import type { Fetch } from '../core/http';
import type { RenewalRequest } from '../core/renewal/ports';
import type { CertificateState } from '../core/renewal/state';
import { createRenewerHandler } from '../handlers/renewer';
import { createSchedulerHandler } from '../handlers/scheduler';
import { RenewalFailedError } from './failure';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The inventory the demo, `--bed` and their tests issue; its CA's directoryUrl is replaced at run time. */
export const DEMO_INVENTORY_PATH = join(root, 'examples/demo-inventory.json');

/** Lifetime of the demo's certificates: Let's Encrypt's 90 days, so windows and days-left read naturally. */
export const DEMO_VALIDITY_SECONDS = 90 * 24 * 60 * 60;

/** A newOrder request seen on the wire: the names it asked for, the `replaces` it carried, the CA's answer. */
export interface ObservedOrder {
  readonly names: readonly string[];
  readonly replaces?: string;
  readonly status: number;
}

/** One renewer invocation's result as the demo reports it. */
export interface DemoRenewal {
  readonly id: string;
  readonly reason: string;
  readonly state: CertificateState;
  readonly ms: number;
}

/** The local system with the demo inventory loaded: what the demo and `acme-ari --bed` run against. */
export interface DemoBed {
  readonly bed: Bed;
  readonly config: RuntimeConfig;
  readonly runtime: Runtime;
  readonly inventory: Inventory;
  /** The CA's `renewalInfo` URL (RFC 9773 §3), read from its directory. */
  readonly renewalInfoUrl?: string;
  /** Every newOrder request the renewer sent, in order. */
  readonly orders: readonly ObservedOrder[];
  /** Loopback ports the bed listens on (moto, the DNS responder, Pebble), so a caller can prove they closed. */
  readonly ports: readonly number[];
  /** Runs the real scheduler handler and receives what it enqueued, as the SQS event Lambda would deliver. */
  schedule(): Promise<{ checked: number; requests: RenewalRequest[]; event: SQSEvent }>;
  /** Runs the real renewer handler once per message; throws {@link RenewalFailedError} on the first failure. */
  renew(event: SQSEvent): Promise<DemoRenewal[]>;
  /** Stops moto, the DNS responder and Pebble; safe to call more than once. */
  stop(): Promise<void>;
}

/** The hosted zone a demo name lives in: its last two labels (`*.shop.example.test` → `example.test`). */
export function demoZoneOf(name: string): string {
  return name.replace(/^\*\./, '').split('.').slice(-2).join('.');
}

function decodeOrder(body: unknown): { names: string[]; replaces?: string } | undefined {
  try {
    const jws = JSON.parse(String(body)) as { payload?: string };
    const payload = JSON.parse(Buffer.from(jws.payload ?? '', 'base64url').toString('utf8')) as {
      identifiers?: Array<{ value?: string }>;
      replaces?: string;
    };
    return {
      names: (payload.identifiers ?? []).map((i) => String(i.value)),
      ...(payload.replaces ? { replaces: payload.replaces } : {}),
    };
  } catch {
    return undefined;
  }
}

function portOf(address: string): number {
  return Number(address.includes('://') ? new URL(address).port : address.split(':').pop());
}

/** The bed's stack (state bucket, queue and the configuration pointing at them). */
type DemoStack = Awaited<ReturnType<Bed['createStack']>>;

/**
 * Starts the local test bed (Pebble with ARI, moto, a DNS responder serving moto's Route 53), creates the state
 * bucket, queue and one hosted zone per demo domain, and uploads the demo inventory pointed at this Pebble.
 */
export async function startDemoBed(
  options: { progress?: (line: string) => void; inventoryPath?: string } = {},
): Promise<DemoBed> {
  const progress = options.progress ?? (() => {});
  const started = Date.now();
  const bed = await startBed({ pebble: { validitySeconds: DEMO_VALIDITY_SECONDS } });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= bed.stop();
    return stopping;
  };
  try {
    progress(
      `test bed up in ${((Date.now() - started) / 1000).toFixed(1)} s: Pebble ${bed.pebble.directoryUrl}, moto ${bed.moto.endpoint}, DNS ${bed.dns.address}`,
    );
    const { inventory, stack } = await provisionDemo(
      bed,
      options.inventoryPath ?? DEMO_INVENTORY_PATH,
      progress,
    );
    const directory = (await (await bed.fetch(bed.directoryUrl)).json()) as {
      newOrder: string;
      renewalInfo?: string;
    };
    const orders: ObservedOrder[] = [];
    const config: RuntimeConfig = {
      ...stack.config,
      fetch: observeOrders(bed.fetch, directory.newOrder, orders),
    };
    const runtime = bed.runtime(config);
    return {
      bed,
      config,
      runtime,
      inventory,
      renewalInfoUrl: directory.renewalInfo,
      orders,
      ports: [bed.moto.endpoint, bed.dns.address, bed.pebble.directoryUrl, bed.pebble.managementUrl].map(
        portOf,
      ),
      ...demoHandlers(bed, stack, runtime),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Points the inventory file's CAs at this Pebble (its roots are new on every start), creates the stack and one
 * hosted zone per demo domain, and uploads the inventory.
 */
async function provisionDemo(
  bed: Bed,
  inventoryPath: string,
  progress: (line: string) => void,
): Promise<{ inventory: Inventory; stack: DemoStack }> {
  const raw = JSON.parse(readFileSync(inventoryPath, 'utf8')) as {
    cas?: Record<string, { directoryUrl: string; trustAnchors?: string[] }>;
  };
  // Pebble's roots are new on every start: the file's trustAnchors is a placeholder for them.
  const pebbleRoots = await pebbleRootsPem(bed.pebble);
  for (const ca of Object.values(raw.cas ?? {})) {
    ca.directoryUrl = bed.directoryUrl;
    ca.trustAnchors = pebbleRoots;
  }
  const inventory = parseInventory(raw, 'examples/demo-inventory.json');
  const stack = await bed.createStack('demo');
  const zones = [...new Set(inventory.certificates.flatMap((c) => c.domains.map(demoZoneOf)))];
  for (const zone of zones) await bed.createZone(zone);
  await bed.putInventory(stack.bucket, raw);
  progress(
    `state bucket s3://${stack.bucket}, queue ${stack.queueUrl.split('/').pop()}, hosted zones ${zones.join(', ')}; inventory: ${inventory.certificates.length} certificates`,
  );
  return { inventory, stack };
}

/** Watches the wire, as an operator would with a proxy: the only way to show what `replaces` the order carried. */
function observeOrders(fetch: Fetch, newOrderUrl: string, orders: ObservedOrder[]): Fetch {
  return async (url, init) => {
    const response = await fetch(url, init);
    if (init?.method === 'POST' && url === newOrderUrl) {
      const order = decodeOrder(init.body);
      if (order) orders.push({ ...order, status: response.status });
    }
    return response;
  };
}

/** The real scheduler and renewer handlers over the bed's queue, as Lambda and the SQS event source run them. */
function demoHandlers(bed: Bed, stack: DemoStack, runtime: Runtime): Pick<DemoBed, 'schedule' | 'renew'> {
  const scheduler = createSchedulerHandler(() => runtime);
  const renewer = createRenewerHandler(() => runtime);
  let requestId = 0;
  return {
    async schedule() {
      const result = await scheduler();
      const event = await bed.drainQueue(stack.queueUrl);
      const requests = event.Records.map((r) => JSON.parse(r.body) as RenewalRequest);
      return { checked: result.checked, requests, event };
    },
    async renew(event) {
      const done: DemoRenewal[] = [];
      for (const record of event.Records) {
        const request = JSON.parse(record.body) as RenewalRequest;
        const t0 = Date.now();
        const response = await renewer({ Records: [record] }, { awsRequestId: `demo-${++requestId}` });
        const state = await runtime.store.getState(request.id);
        const failed = state?.lastResult === 'failed' || state?.lastResult === 'deferred';
        if (response.batchItemFailures.length > 0 || !state?.current || failed)
          throw new RenewalFailedError(request.id, state);
        done.push({
          id: request.id,
          reason: state.lastReason ?? request.reason,
          state,
          ms: Date.now() - t0,
        });
      }
      return done;
    },
  };
}

/** Issues every certificate of the demo inventory through the scheduler and renewer handlers. */
export async function issueDemoInventory(demo: DemoBed, progress: (line: string) => void): Promise<void> {
  const { requests, event } = await demo.schedule();
  progress(`scheduler enqueued ${requests.map((r) => `${r.id} (${r.reason})`).join(', ') || 'nothing'}`);
  for (const renewal of await demo.renew(event)) {
    progress(`renewer issued ${renewal.id}: serial ${renewal.state.current?.serial} in ${renewal.ms} ms`);
  }
}
