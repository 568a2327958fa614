import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeKeys } from '../../functions/adapters/s3-store';
import { type FaultWorld, startFaultWorld } from '../support/faults/faults-world';

// A damaged object that holds key material must fail the renewal loudly, and nothing the failure writes (state,
// event, error, log line) may quote any part of the key: JSON.parse and PEM decoders both like to quote input.
const IDS = ['damaged-account', 'damaged-pending'] as const;
const domain = (id: string) => `${id}.damaged.test`;

let world: FaultWorld;

async function read(key: string): Promise<string> {
  const out = await world.bed.clients.s3.send(new GetObjectCommand({ Bucket: world.bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

async function write(key: string, body: string): Promise<void> {
  await world.bed.clients.s3.send(new PutObjectCommand({ Bucket: world.bucket, Key: key, Body: body }));
}

/** Every 8-character window of the secret: none may appear in what the failure left behind. */
function fragmentsOf(secret: string): string[] {
  const windows: string[] = [];
  for (let i = 0; i + 8 <= secret.length; i += 4) windows.push(secret.slice(i, i + 8));
  return windows;
}

async function failureText(id: string, since: ReturnType<FaultWorld['mark']>): Promise<string> {
  const state = await world.state(id);
  const signals = world.signals(id, since);
  return JSON.stringify({
    lastError: state?.lastError,
    lastProblem: state?.lastProblem,
    events: signals.events,
  });
}

beforeAll(async () => {
  world = await startFaultWorld('damaged', {
    zones: ['damaged.test'],
    inventory: (_zones, directoryUrl, trustAnchors) => ({
      cas: { pebble: { directoryUrl, trustAnchors } },
      certificates: IDS.map((id) => ({ id, ca: 'pebble', domains: [domain(id)] })),
    }),
  });
  const { event } = await world.schedule();
  expect((await world.renew(event)).batchItemFailures).toEqual([]);
});

afterAll(async () => {
  await world?.stop();
});

describe('damaged key material', () => {
  it('a truncated account file fails the renewal without quoting the account key', async () => {
    const key = storeKeys.account(world.bed.directoryUrl);
    const original = await read(key);
    const jwk = (JSON.parse(original) as { privateJwk: { d: string } }).privateJwk;
    // Cut inside the private scalar, where JSON.parse's message would quote the text around the fault.
    const cut = original.indexOf(jwk.d) + Math.floor(jwk.d.length / 2);
    await write(key, `${original.slice(0, cut)}\u0000${original.slice(cut)}`);
    const before = await world.snapshot('damaged-account');
    const mark = world.mark();
    try {
      const response = await world.renew(world.message('damaged-account', 'manual', true));
      expect(response.batchItemFailures).toHaveLength(1);
      const text = await failureText('damaged-account', mark);
      expect(text).toContain(key);
      expect(text).toContain('restore the previous object version');
      const quoted = fragmentsOf(jwk.d).filter((f) => text.includes(f));
      world.verdict(
        {
          scenario: 'the ACME account file is corrupt inside its private key',
          outcome: `fails loudly naming the object, quotes ${quoted.length === 0 ? 'no' : 'some'} key material`,
        },
        await world.lost(before, 'kept'),
        await world.leaked('damaged-account'),
      );
      expect(quoted).toEqual([]);
    } finally {
      await write(key, original);
    }
  });

  it('a damaged pending key fails the resumed renewal without quoting the key', async () => {
    const id = 'damaged-pending';
    const stateKey = storeKeys.state(id);
    const state = JSON.parse(await read(stateKey)) as Record<string, unknown>;
    const privkey = await read(storeKeys.privkey(id));
    const body = privkey.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    // A pending order whose checkpointed key is corrupt in the middle of its base64 body.
    const middle = Math.floor(privkey.length / 2);
    await write(storeKeys.pendingKey(id), `${privkey.slice(0, middle)}!!${privkey.slice(middle + 2)}`);
    await write(
      stateKey,
      JSON.stringify({
        ...state,
        pendingOrder: {
          url: `${world.bed.directoryUrl.replace(/\/dir$/, '')}/my-order/none`,
          createdAt: new Date().toISOString(),
        },
      }),
    );
    const before = await world.snapshot(id);
    const mark = world.mark();
    const response = await world.renew(world.message(id));
    expect(response.batchItemFailures).toHaveLength(1);
    const text = await failureText(id, mark);
    expect(text).toMatch(/pending|PEM|key/i);
    const quoted = fragmentsOf(body).filter((f) => text.includes(f));
    world.verdict(
      {
        scenario: 'the pending key of an order in flight is corrupt',
        outcome: `fails loudly, quotes ${quoted.length === 0 ? 'no' : 'some'} key material`,
      },
      await world.lost(before, 'kept'),
      // The order and its (damaged) key stay for an operator to inspect; nothing else is left.
      (await world.leaked(id)).filter((p) => !p.startsWith('pending key')),
    );
    expect(quoted).toEqual([]);
  });
});
