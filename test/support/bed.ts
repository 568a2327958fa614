import { createRuntime } from '../../functions/composition/runtime';
import {
  startBed as startTestBed,
  type Bed as TestBed,
  type BedOptions as TestBedOptions,
} from '../../testbed/bed';
import { testBedTls } from '../../testbed/tls';
import { deactivateAuthorizations } from './authorizations';
import { registerChangeMarks } from './fakes';
import { type FaultProxy, startFaultProxy } from './faults/fault-proxy';
import { withFunctionRoles, withImporterRole } from './iam/role';

/** The product's test bed, as the tests use it: functions run as their IAM roles, optionally behind the fault proxy. */
export interface Bed extends TestBed {
  /** Present when started with `faultProxy: true`: the client talks to Pebble through it. */
  readonly proxy?: FaultProxy;
  /** Requests to the CA's newOrder resource seen by the fault proxy, in order. */
  newOrders(): Promise<Array<{ payload?: unknown }>>;
  /**
   * Deactivates the valid authorizations of the account stored in `bucket` for the CA at `directoryUrl` (the
   * bed's by default), so the next order for those names answers a fresh challenge: Pebble otherwise reuses one
   * about 1 % of the time. Returns the identifiers deactivated. See {@link deactivateAuthorizations}.
   */
  deactivateAuthorizations(bucket: string, directoryUrl?: string): Promise<string[]>;
}

/** Options for {@link startBed}. */
export interface BedOptions extends Omit<TestBedOptions, 'front' | 'runtime'> {
  readonly faultProxy?: boolean;
}

/** Starts the test bed with the IAM recording runtime and, when asked, the fault proxy in front of Pebble. */
export async function startBed(options: BedOptions = {}): Promise<Bed> {
  let proxy: FaultProxy | undefined;
  const bed = await startTestBed({
    ...options,
    front: options.faultProxy
      ? async (pebble) => {
          const tls = testBedTls();
          const started = await startFaultProxy({
            targetOrigin: new URL(pebble.directoryUrl).origin,
            caPem: pebble.caPem,
            certPath: tls.certPath,
            keyPath: tls.keyPath,
          });
          proxy = started;
          return {
            directoryUrl: new URL(new URL(pebble.directoryUrl).pathname, started.directoryUrl).toString(),
            fetch: started.fetch,
            stop: () => started.stop(),
          };
        }
      : undefined,
    // The scheduler and renewer run as their functions' roles (and first imports as the importer's): the IAM
    // setup file records their AWS calls and judges them against the synthesized policies.
    runtime: (config) => {
      const runtime = withFunctionRoles(createRuntime(withImporterRole(config)));
      // A test that writes a state document by hand marks it as a renewer would, for the schedule index.
      registerChangeMarks(runtime.store, runtime.index);
      return runtime;
    },
  });
  return {
    ...bed,
    proxy,
    async newOrders() {
      if (!proxy) throw new Error('newOrders() needs the bed started with faultProxy: true');
      const directory = (await (await bed.fetch(bed.directoryUrl)).json()) as { newOrder: string };
      const path = new URL(directory.newOrder).pathname;
      return proxy.requests.filter((r) => r.method === 'POST' && r.path === path);
    },
    deactivateAuthorizations: (bucket, directoryUrl = bed.directoryUrl) =>
      deactivateAuthorizations({ s3: bed.clients.s3, bucket, directoryUrl, fetch: bed.fetch }),
  };
}
