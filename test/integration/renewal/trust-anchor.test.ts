/**
 * Trust anchors on the real Pebble: a chain is verified up to one of the CA's configured roots before anything is
 * stored or imported. Pebble makes new roots on every start, so "a CA whose root is not the configured anchor" is
 * exactly a second Pebble's roots configured for this one; and with `PEBBLE_ALTERNATE_ROOTS` it offers an
 * alternate chain to a second root, which the renewer must choose when only that root is trusted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../../functions/composition/runtime';
import { hasCode } from '../../../functions/core/errors';
import { parseCertificate, splitPemChain } from '../../../functions/core/pki';
import { pebbleRootsPem, startPebble } from '../../../testbed/pebble';
import { type Bed, startBed } from '../../support/bed';
import { captureOutput } from '../../support/output/capture-output';

const output = captureOutput();
const ID = 'anchored';
let bed: Bed;
let bucket: string;
let runtime: Runtime;
let roots: string[];
let foreignRoots: string[];

async function useAnchors(trustAnchors: readonly string[]): Promise<void> {
  await bed.putInventory(bucket, {
    cas: { pebble: { directoryUrl: bed.directoryUrl, trustAnchors } },
    certificates: [
      { id: ID, ca: 'pebble', domains: ['www.anchor.test'], keyType: 'ec-p256', acmRegions: [bed.region] },
    ],
  });
}

/** The issuer name of the chain's last certificate. */
function topIssuerSubject(chainPem: string): string {
  const top = splitPemChain(chainPem).at(-1);
  if (!top) throw new Error('empty chain');
  return parseCertificate(top).issuer;
}

beforeAll(async () => {
  bed = await startBed({ pebble: { env: { PEBBLE_ALTERNATE_ROOTS: '1' } } });
  const stack = await bed.createStack('anchors');
  bucket = stack.bucket;
  await bed.createZone('anchor.test');
  runtime = bed.runtime(stack.config);
  roots = await pebbleRootsPem(bed.pebble);
  // Another Pebble: a real ACME CA hierarchy, just not the one that issues here.
  const foreign = await startPebble();
  try {
    foreignRoots = await pebbleRootsPem(foreign);
  } finally {
    await foreign.stop();
  }
});

afterAll(async () => {
  await bed?.stop();
  output.stop();
});

describe('the renewer and the CA’s trust anchors, on Pebble', () => {
  it('serves two roots (the default chain and one alternate)', () => {
    expect(roots).toHaveLength(2);
    const [first, second] = roots.map((pem) => parseCertificate(pem).subject);
    expect(first).not.toBe(second);
  });

  it('trusting only the alternate root, stores and imports the alternate chain', async () => {
    await useAnchors([roots[1]!]);
    const outcome = await runtime.renew({ id: ID, reason: 'new' }, 'trust-anchor-test');
    expect(outcome.result).toBe('renewed');

    const files = (await runtime.store.getCertificate(ID))!;
    expect(topIssuerSubject(files.chainPem)).toBe(parseCertificate(roots[1]!).subject);
    expect(topIssuerSubject(files.chainPem)).not.toBe(parseCertificate(roots[0]!).subject);
    const state = (await runtime.store.getState(ID))!;
    const acm = state.acm[bed.region]!;
    expect(acm.serial).toBe(state.current!.serial);
    expect((await bed.describeCertificate(acm.arn)).serialHex).toBe(state.current!.serial.replace(/^0+/, ''));
  });

  it('never stores or imports a chain that leads to none of the configured roots', async () => {
    const before = (await runtime.store.getState(ID))!;
    const filesBefore = (await runtime.store.getCertificate(ID))!;
    await useAnchors(foreignRoots);

    const error = await runtime.renew({ id: ID, reason: 'forced', force: true }, 'trust-anchor-test').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(hasCode(error, 'verification-failed')).toBe(true);
    const message = (error as Error).message;
    const foreignNames = foreignRoots.map((pem) => `"${parseCertificate(pem).subjectCommonName}"`).join(', ');
    expect(message).toContain(`The chain from CA "pebble" ends at "Pebble Intermediate CA`);
    expect(message).toContain(`issued by "${parseCertificate(roots[0]!).subject}"`);
    expect(message).toContain(`leads to none of its trust anchors (its trust anchors are ${foreignNames})`);
    expect(message).toContain("add the PEM of the CA's root to cas.pebble.trustAnchors");
    expect(message).toContain("(and none of the CA's 1 alternate chain passes either)");

    // The old certificate stays: in the state, in S3 and in ACM; the failure is recorded with its reason.
    const after = (await runtime.store.getState(ID))!;
    expect(after.current).toEqual(before.current);
    expect(after.acm).toEqual(before.acm);
    expect(after.lastResult).toBe('failed');
    expect(after.lastError).toContain('leads to none of its trust anchors');
    const filesAfter = (await runtime.store.getCertificate(ID))!;
    expect(filesAfter.fullchainPem).toBe(filesBefore.fullchainPem);
    // Compared as a boolean so a failure never prints key material.
    expect(filesAfter.privateKeyPem === filesBefore.privateKeyPem).toBe(true);
    const acm = before.acm[bed.region]!;
    expect((await bed.describeCertificate(acm.arn)).serialHex).toBe(
      before.current!.serial.replace(/^0+/, ''),
    );
  });
});
