import { describe, expect, it } from 'vitest';
import { AcmeClient } from '../../../functions/core/acme/client';
import type { DnsTxtRecord } from '../../../functions/core/acme/dns01';
import { type Dns01Solver, issueCertificate } from '../../../functions/core/acme/issue';
import { createAccountKey } from '../../../functions/core/acme/jws';
import { AcmeProblemError } from '../../../functions/core/acme/problem';
import { AcmeTransport } from '../../../functions/core/acme/transport';
import { DIRECTORY_URL, FakeCa, json, ORIGIN, problem } from './fake-ca';

const NAMES = ['example.com', '*.example.com'];
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

/**
 * A stateful fake CA for one order of two authorizations (apex and wildcard). Like some CAs, it lets the order
 * lag: it stays `pending` for `lag` more reads after the last authorization became valid, and refuses to finalize
 * it meanwhile with 403 orderNotReady, as RFC 8555 §7.4 says.
 */
function orderingCa(lag: number, options: { failWildcard?: boolean } = {}) {
  const ca = new FakeCa();
  const authz = {
    1: { value: 'example.com', wildcard: false, token: 'tok-apex', status: 'pending' },
    2: { value: 'example.com', wildcard: true, token: 'tok-wild', status: 'pending' },
  } as Record<number, { value: string; wildcard: boolean; token: string; status: string }>;
  let order = 'pending';
  let lagLeft = lag;
  const orderBody = () => ({
    status: order,
    identifiers: NAMES.map((value) => ({ type: 'dns', value })),
    authorizations: [`${ORIGIN}/authz/1`, `${ORIGIN}/authz/2`],
    finalize: `${ORIGIN}/finalize`,
    ...(order === 'valid' ? { certificate: `${ORIGIN}/cert` } : {}),
  });
  const refresh = () => {
    // The CA validates answered challenges on its own: a read of the order finds them done.
    for (const a of Object.values(authz)) {
      if (a.status === 'processing') a.status = options.failWildcard && a.wildcard ? 'invalid' : 'valid';
    }
    // RFC 8555 §7.1.6: an order turns invalid with any of its authorizations (its own error says little).
    if (Object.values(authz).some((a) => a.status === 'invalid')) order = 'invalid';
    if (order === 'pending' && Object.values(authz).every((a) => a.status === 'valid')) {
      if (lagLeft === 0) order = 'ready';
      else lagLeft -= 1;
    }
  };
  ca.on('/order', () => json(orderBody(), 201, { location: `${ORIGIN}/o/1` }));
  for (const id of [1, 2]) {
    const a = authz[id]!;
    const challenge = () => ({
      type: 'dns-01',
      url: `${ORIGIN}/chall/${id}`,
      status: ['valid', 'invalid', 'processing'].includes(a.status) ? a.status : 'pending',
      token: a.token,
      ...(a.status === 'invalid'
        ? {
            error: {
              type: 'urn:ietf:params:acme:error:unauthorized',
              detail: 'Incorrect TXT record "nope" found at _acme-challenge.example.com',
              status: 403,
            },
          }
        : {}),
    });
    ca.on(`/authz/${id}`, () => {
      if (a.status === 'processing') a.status = 'valid';
      return json({
        identifier: { type: 'dns', value: a.value },
        status: a.status === 'processing' ? 'pending' : a.status,
        challenges: [challenge()],
        ...(a.wildcard ? { wildcard: true } : {}),
      });
    });
    ca.on(`/chall/${id}`, () => {
      a.status = 'processing';
      return json(challenge());
    });
  }
  ca.on('/finalize', () => {
    if (order !== 'ready') return problem(403, 'orderNotReady', `order is ${order}`);
    order = 'processing';
    return json(orderBody());
  });
  ca.on('/o/1', () => {
    if (order === 'processing') order = 'valid';
    else refresh();
    return json(orderBody());
  });
  ca.on(
    '/cert',
    () => new Response(PEM, { headers: { 'content-type': 'application/pem-certificate-chain' } }),
  );
  return ca;
}

class RecordingSolver implements Dns01Solver<number> {
  readonly events: string[] = [];
  readonly published: DnsTxtRecord[] = [];
  async present(records: readonly DnsTxtRecord[]): Promise<number> {
    this.published.push(...records);
    this.events.push(`present ${records.length}`);
    return records.length;
  }
  async cleanup(handle: number): Promise<void> {
    this.events.push(`cleanup ${handle}`);
  }
}

async function clientFor(ca: FakeCa) {
  const transport = new AcmeTransport({
    directoryUrl: DIRECTORY_URL,
    fetch: ca.fetch,
    clock: { now: () => new Date('2025-06-01T12:00:00Z') },
    sleep: async () => {},
  });
  return new AcmeClient(transport, (await createAccountKey()).key, `${ORIGIN}/acct/1`);
}

describe('issueCertificate', () => {
  it.each([0, 2])(
    'issues with one DNS publication for apex and wildcard when the order lags %i reads behind',
    async (lag) => {
      const ca = orderingCa(lag);
      const solver = new RecordingSolver();
      let csrCalls = 0;
      const result = await issueCertificate({
        client: await clientFor(ca),
        names: NAMES,
        csr: async () => {
          csrCalls += 1;
          return new Uint8Array([1, 2, 3]);
        },
        dns: solver,
        poll: { clock: { now: () => new Date('2025-06-01T12:00:00Z') }, sleep: async () => {} },
      });
      expect(result.certificate.pem).toBe(PEM);
      expect(result.orderUrl).toBe(`${ORIGIN}/o/1`);
      expect(solver.events).toEqual(['present 2', 'cleanup 2']);
      expect(solver.published.map((r) => r.name)).toEqual([
        '_acme-challenge.example.com',
        '_acme-challenge.example.com',
      ]);
      expect(solver.published.map((r) => r.identifier)).toEqual(['example.com', '*.example.com']);
      // Finalized once, when the order was ready: never an orderNotReady round trip.
      expect(ca.to('/finalize', 'POST')).toHaveLength(1);
      expect(ca.to('/finalize')[0]!.payload).toEqual({ csr: 'AQID' });
      expect(csrCalls).toBe(1);
    },
  );

  it('makes the CSR once every challenge is answered, while the CA validates, not on the way to the CA', async () => {
    const ca = orderingCa(0);
    const answeredWhenMade: number[] = [];
    await issueCertificate({
      client: await clientFor(ca),
      names: NAMES,
      csr: async () => {
        answeredWhenMade.push(ca.to('/chall/1', 'POST').length + ca.to('/chall/2', 'POST').length);
        return new Uint8Array([1, 2, 3]);
      },
      dns: new RecordingSolver(),
      poll: { clock: { now: () => new Date('2025-06-01T12:00:00Z') }, sleep: async () => {} },
    });
    expect(answeredWhenMade).toEqual([2]);
  });

  it('waits on the order, one read per poll: no authorization is read again once its challenge is answered', async () => {
    const ca = orderingCa(2);
    await issueCertificate({
      client: await clientFor(ca),
      names: NAMES,
      csr: async () => new Uint8Array([1]),
      dns: new RecordingSolver(),
      poll: { clock: { now: () => new Date('2025-06-01T12:00:00Z') }, sleep: async () => {} },
    });
    expect(ca.to('/authz/1', 'POST')).toHaveLength(1);
    expect(ca.to('/authz/2', 'POST')).toHaveLength(1);
    // Pending twice (the lag), then ready; after the finalize, one more read finds it valid.
    expect(ca.to('/o/1', 'POST')).toHaveLength(4);
  });

  it("an order turned invalid fails with its authorization's problem, and the records are removed", async () => {
    const ca = orderingCa(0, { failWildcard: true });
    const solver = new RecordingSolver();
    let made = 0;
    const error = await issueCertificate({
      client: await clientFor(ca),
      names: NAMES,
      csr: async () => {
        made += 1;
        return new Uint8Array([1]);
      },
      dns: solver,
      poll: { clock: { now: () => new Date('2025-06-01T12:00:00Z') }, sleep: async () => {} },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect((error as AcmeProblemError).problem).toMatchObject({
      type: 'urn:ietf:params:acme:error:unauthorized',
      detail: 'example.com: Incorrect TXT record "nope" found at _acme-challenge.example.com',
      identifier: { type: 'dns', value: 'example.com' },
    });
    expect(solver.events).toEqual(['present 2', 'cleanup 2']);
    expect(ca.to('/finalize')).toEqual([]);
    expect(made).toBe(1);
  });

  it('makes no CSR for an order that fails before finalizing', async () => {
    const ca = orderingCa(0).on('/chall/2', () => problem(400, 'malformed', 'challenge gone'));
    let made = 0;
    await expect(
      issueCertificate({
        client: await clientFor(ca),
        names: NAMES,
        csr: async () => {
          made += 1;
          return new Uint8Array([1]);
        },
        dns: new RecordingSolver(),
        poll: { clock: { now: () => new Date('2025-06-01T12:00:00Z') }, sleep: async () => {} },
      }),
    ).rejects.toThrow(/challenge gone/);
    expect(made).toBe(0);
  });

  it('removes the TXT records even when validation fails', async () => {
    const ca = orderingCa(0).on('/chall/2', () => problem(400, 'malformed', 'challenge gone'));
    const solver = new RecordingSolver();
    await expect(
      issueCertificate({
        client: await clientFor(ca),
        names: NAMES,
        csr: async () => new Uint8Array([1]),
        dns: solver,
        poll: { clock: { now: () => new Date('2025-06-01T12:00:00Z') }, sleep: async () => {} },
      }),
    ).rejects.toThrow(/challenge gone/);
    expect(solver.events).toEqual(['present 2', 'cleanup 2']);
  });
});
