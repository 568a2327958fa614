/**
 * A scripted ACME CA for renewer tests that span several attempts and orders: every newOrder gets its own order
 * (`/o/<n>`), the two dns-01 authorizations are shared (valid once answered, as a CA reuses them), and what each
 * order's certificate looks like (lifetime, names) is up to the test. Built on the `FakeCa` of the ACME tests.
 */
import { signingAlgorithm } from '../../../functions/core/pki';
import { x509 } from '../../support/pki/x509';
import { DIRECTORY_URL, defaultDirectory, FakeCa, json, ORIGIN } from '../acme/fake-ca';
import type { TestChain } from '../pki/fixtures';

export { DIRECTORY_URL, ORIGIN };
export const ACCOUNT_URL = `${ORIGIN}/acct/1`;

/** What the CA puts in the certificate of order `n` (1-based). */
export interface CertificateScript {
  readonly notAfter: (order: number) => Date;
  /** @default the names of the inventory entry */
  readonly names?: (order: number) => readonly string[];
  /** Profiles the directory advertises (`meta.profiles`); absent: none. */
  readonly profiles?: Readonly<Record<string, string>>;
}

/** The CA, and what it was asked: newOrder payloads, finalizations per order. */
export interface ScriptedCa {
  readonly ca: FakeCa;
  readonly newOrders: () => Array<{ profile?: string; replaces?: string }>;
  readonly finalized: () => number[];
}

const MAX_ORDERS = 8;

/** Signs `publicKey` for `names` with the fixture intermediate: a CA in a few lines. */
async function sign(
  chain: TestChain,
  csrB64: string,
  names: readonly string[],
  serial: string,
  notBefore: Date,
  notAfter: Date,
): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(Buffer.from(csrB64, 'base64url'));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: [{ CN: [names[0]!] }],
    issuer: chain.intermediate.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: await csr.publicKey.export(),
    signingKey: chain.intermediate.keys.privateKey,
    signingAlgorithm: signingAlgorithm(chain.intermediate.keyType),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: 'dns' as const, value }))),
      await x509.AuthorityKeyIdentifierExtension.create(chain.intermediate.cert),
    ],
  });
  return `${cert.toString('pem').replace(/\r\n/g, '\n').trimEnd()}\n${chain.intermediate.pem}`;
}

/** A CA for `names` (an apex and its wildcard, validated by two dns-01 authorizations). */
export function scriptedCa(
  chain: TestChain,
  names: readonly [string, string],
  script: CertificateScript,
  now: () => Date,
): ScriptedCa {
  const ca = new FakeCa();
  if (script.profiles) ca.directory = defaultDirectory({ meta: { profiles: script.profiles } });
  const answered = new Set<number>();
  const issued = new Map<number, string>();
  let orders = 0;
  const order = (n: number) => ({
    status: issued.has(n) ? 'valid' : answered.size === 2 ? 'ready' : 'pending',
    identifiers: names.map((value) => ({ type: 'dns', value })),
    authorizations: [`${ORIGIN}/authz/1`, `${ORIGIN}/authz/2`],
    finalize: `${ORIGIN}/o/${n}/finalize`,
    ...(issued.has(n) ? { certificate: `${ORIGIN}/cert/${n}` } : {}),
  });
  const authz = (i: number) => () =>
    json({
      identifier: { type: 'dns', value: names[0] },
      status: answered.has(i) ? 'valid' : 'pending',
      ...(i === 2 ? { wildcard: true } : {}),
      challenges: [
        {
          type: 'dns-01',
          url: `${ORIGIN}/chall/${i}`,
          token: `token-${i}`,
          status: answered.has(i) ? 'valid' : 'pending',
        },
      ],
    });
  ca.on('/account', () => json({ status: 'valid' }, 201, { location: ACCOUNT_URL })).on('/order', () => {
    orders += 1;
    return json(order(orders), 201, { location: `${ORIGIN}/o/${orders}` });
  });
  for (const i of [1, 2]) {
    ca.on(`/authz/${i}`, authz(i)).on(`/chall/${i}`, () => {
      answered.add(i);
      return json({ type: 'dns-01', url: `${ORIGIN}/chall/${i}`, status: 'processing', token: `token-${i}` });
    });
  }
  for (let n = 1; n <= MAX_ORDERS; n++) {
    ca.on(`/o/${n}`, () => (n <= orders ? json(order(n)) : undefined))
      .on(`/o/${n}/finalize`, async (request) => {
        const certNames = script.names?.(n) ?? names;
        const notBefore = new Date(now().getTime() - 60 * 60_000);
        const csr = (request.payload as { csr: string }).csr;
        issued.set(n, await sign(chain, csr, certNames, `0c0c0c0${n}`, notBefore, script.notAfter(n)));
        return json(order(n), 200, { location: `${ORIGIN}/o/${n}` });
      })
      .on(`/cert/${n}`, () =>
        issued.has(n)
          ? new Response(issued.get(n), {
              status: 200,
              headers: { 'content-type': 'application/pem-certificate-chain' },
            })
          : undefined,
      );
  }
  return {
    ca,
    newOrders: () => ca.to('/order', 'POST').map((r) => r.payload as { profile?: string; replaces?: string }),
    finalized: () =>
      ca.requests.flatMap((r) => {
        const m = /\/o\/(\d+)\/finalize$/.exec(r.url);
        return m ? [Number(m[1])] : [];
      }),
  };
}
