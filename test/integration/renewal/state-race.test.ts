/**
 * The race of issue 11 on the bed, with S3's conditional-write semantics (moto patched to enforce `If-Match`, see
 * testbed/provision.sh): a scheduler pass reads a certificate's state, a renewal finishes, then the pass
 * writes. Before, that write put the old `current` back; now it loses (412), re-reads and decides again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuntimeConfig } from '../../../functions/composition/runtime';
import { AcmeAwsError } from '../../../functions/core/errors';
import { parseCertificate } from '../../../functions/core/pki';
import type { CertificateStore } from '../../../functions/core/renewal/ports';
import { overwriteState } from '../../support/fakes';
import { type FaultWorld, startFaultWorld } from '../../support/faults/faults-world';

const ID = 'raced';
let world: FaultWorld;
let config: RuntimeConfig;

/**
 * A store whose `readState` of `id` runs `meanwhile` once, after the read and before the caller goes on, and
 * which records the code of every conditional state write that failed.
 */
function pausingAfterRead(
  real: CertificateStore,
  id: string,
  meanwhile: () => Promise<void>,
  failedWrites: string[],
): CertificateStore {
  let pending: (() => Promise<void>) | undefined = meanwhile;
  const overrides: Partial<CertificateStore> = {
    async readState(certificateId) {
      const read = await real.readState(certificateId);
      const run = certificateId === id ? pending : undefined;
      pending = undefined;
      await run?.();
      return read;
    },
    async putStateIf(certificateId, state, etag) {
      return real.putStateIf(certificateId, state, etag).catch((error: unknown) => {
        failedWrites.push(error instanceof AcmeAwsError ? error.code : String(error));
        throw error;
      });
    },
  };
  return new Proxy(real, {
    get(target, prop, receiver) {
      if (prop in overrides) return overrides[prop as keyof CertificateStore];
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

beforeAll(async () => {
  world = await startFaultWorld('state-race', {
    zones: ['race.test'],
    inventory: (_zones, directoryUrl, trustAnchors) => ({
      cas: { pebble: { directoryUrl, trustAnchors } },
      certificates: [{ id: ID, ca: 'pebble', domains: ['race.test'] }],
    }),
  });
  config = world.config;
  const { event } = await world.schedule();
  expect((await world.renew(event)).batchItemFailures).toEqual([]);
});

afterAll(async () => {
  await world?.stop();
});

describe('a scheduler pass that read the state before a renewal finished writes after it', () => {
  it('cannot lose the renewal: the final state names the renewer’s new serial, as S3 does', async () => {
    const before = await world.snapshot(ID);
    // Due for an ARI refresh, and with an ARI error the refresh clears, so the pass has something to write (a
    // refresh that only confirms the window writes nothing: its next check goes into the schedule index).
    const stored = (await world.state(ID))!;
    await overwriteState(world.runtime().store, ID, {
      ...stored,
      ari: { ...stored.ari!, nextCheckAt: new Date(0).toISOString() },
      ariError: 'renewalInfo answered 503 (test)',
    });
    let renewedSerial: string | undefined;
    const failedWrites: string[] = [];
    const racing: RuntimeConfig = {
      ...config,
      decorate: {
        store: (real) =>
          pausingAfterRead(
            real,
            ID,
            async () => {
              // The renewal runs (as another Lambda) between the pass's read and its write.
              expect((await world.renew(world.message(ID))).batchItemFailures).toEqual([]);
              renewedSerial = (await world.state(ID))!.current!.serial;
            },
            failedWrites,
          ),
      },
    };

    const { result } = await world.schedule(racing);

    expect(result).toMatchObject({ checked: 1, enqueued: 0 });
    // Its write at the ETag it had read lost (S3 412), and it decided again from the renewer's state.
    expect(failedWrites).toEqual(['state-conflict']);
    expect(renewedSerial).toBeDefined();
    expect(renewedSerial).not.toBe(before.serial);
    const after = (await world.state(ID))!;
    expect(after.current!.serial).toBe(renewedSerial);
    expect(after.ari?.certId).toBe(after.current!.certId);
    const files = (await world.runtime().store.getCertificate(ID))!;
    expect(parseCertificate(files.certPem).serialHex).toBe(after.current!.serial);
    expect(await world.lost(before, 'renewed')).toEqual([]);
    // The next pass agrees: nothing is due, no duplicate order follows.
    const mark = world.mark();
    expect((await world.schedule()).result.enqueued).toBe(0);
    expect(await world.newOrders(mark)).toEqual([]);
  });
});
