/**
 * A kept order lives at the CA that created it: an attempt resumes it only at that CA (the one its checkpoint
 * names, or the entry's first CA for orders checkpointed before orders named theirs), and a failover to another CA
 * keeps the prepared key but never the order.
 */
import { describe, expect, it } from 'vitest';
import { caFor, parseInventory } from '../../../../functions/core/config/inventory';
import { exportPrivateKeyPem, generateKeyPair } from '../../../../functions/core/pki';
import type { RenewerDeps } from '../../../../functions/core/renewal/renew-certificate';
import { emptyState } from '../../../../functions/core/renewal/state';
import type { RenewalContext } from '../../../../functions/core/renewal/steps/context';
import {
  forAnotherCa,
  type OrderPlan,
  prepareOrder,
} from '../../../../functions/core/renewal/steps/prepare-order';
import { StateRecord } from '../../../../functions/core/renewal/steps/state-record';
import { FixedClock, MemoryDns, MemoryStore } from '../../../support/fakes';

const ID = 'www';
const ORDER_URL = 'https://backup.test/order/7';
const inventory = parseInventory({
  certificates: [{ id: ID, domains: ['www.example.com'], ca: ['letsencrypt', 'zerossl'] }],
});
const config = inventory.certificates[0]!;
const resume: OrderPlan = {
  action: 'resume',
  reason: 'ari-window',
  recordForcedAt: false,
  rules: { notSoonerThanCurrent: false, why: 'test' },
  why: 'resuming',
};

async function contextAt(caName: string, pendingCa: string | undefined) {
  const store = new MemoryStore();
  const keptKey = await exportPrivateKeyPem((await generateKeyPair('ec-p256')).privateKey);
  await store.putPendingKey(ID, keptKey);
  const pendingOrder = {
    url: ORDER_URL,
    createdAt: '2026-03-01T00:00:00.000Z',
    failedAttempts: 0,
    ...(pendingCa === undefined ? {} : { ca: pendingCa }),
  };
  await store.putStateIf(ID, { ...emptyState(ID), pendingOrder }, undefined);
  const deps = {
    store,
    dns: new MemoryDns(),
    clock: new FixedClock('2026-03-01T01:00:00Z'),
  } as unknown as RenewerDeps;
  const ctx: RenewalContext = {
    deps,
    config,
    ca: caFor(inventory, caName),
    caName,
    configHash: 'hash',
    request: { id: ID, reason: 'ari-window' },
    record: await StateRecord.open(store, ID),
    regions: [],
  };
  return { ctx, store, keptKey };
}

describe('prepareOrder across a certificate’s CAs', () => {
  it.each<[string, string, string | undefined, boolean]>([
    ['resumes at the CA the order names', 'zerossl', 'zerossl', true],
    ['does not resume another CA’s order', 'letsencrypt', 'zerossl', false],
    [
      'an order checkpointed before orders named their CA belongs to the first CA',
      'letsencrypt',
      undefined,
      true,
    ],
    ['…and is not resumed at a later CA', 'zerossl', undefined, false],
  ])('%s', async (_name, caName, pendingCa, resumes) => {
    const { ctx, store, keptKey } = await contextAt(caName, pendingCa);
    const prepared = await prepareOrder(ctx, resume);
    expect(prepared.resumeUrl).toBe(resumes ? ORDER_URL : undefined);
    // Compared as booleans so a failure never prints key material.
    const { keyPem } = await prepared.key();
    expect(keyPem === keptKey).toBe(resumes);
    expect((await store.getPendingKey(ID)) === keyPem).toBe(true);
  });

  it('a failover keeps the prepared key and drops the order to resume', async () => {
    const { ctx } = await contextAt('zerossl', 'zerossl');
    const prepared = await prepareOrder(ctx, resume);
    const next = forAnotherCa(prepared);
    expect(next.resumeUrl).toBeUndefined();
    const [a, b] = [await next.key(), await prepared.key()];
    expect(a.keyPem === b.keyPem).toBe(true);
    expect(a.keys).toBe(b.keys);
  });
});
