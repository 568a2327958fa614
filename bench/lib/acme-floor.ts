import { ChangeResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import {
  AcmeTransport,
  type Dns01Solver,
  type DnsTxtRecord,
  ensureAccount,
  issueCertificate,
} from '../../functions/core/acme';
import type { Fetch } from '../../functions/core/http';
import { createCsr, generateKeyPair } from '../../functions/core/pki';

/** What one bare replay measured. */
export interface FloorRun {
  /** From newOrder to the downloaded certificate, minus the time spent publishing and removing TXT records. */
  readonly acmeMs: number;
  /** Time spent publishing and removing TXT records (excluded above). */
  readonly dnsMs: number;
}

/**
 * A bare replay of one issuance: the same ACME requests every tool makes (newOrder, authorizations, challenges,
 * polls, finalize, download) with an existing account and a CSR made beforehand, and the TXT records written
 * straight into moto without waiting for INSYNC, their time subtracted. With `polite: false` polls come every
 * 10 ms instead of after Pebble's Retry-After, so the result is the time Pebble itself needs; with `polite: true`
 * Retry-After is honoured, which is the best any client that follows RFC 8555 §7.5.1 can do against this server.
 */
export async function createFloorRunner(options: {
  readonly directoryUrl: string;
  readonly fetch: Fetch;
  readonly route53: Route53Client;
  readonly zoneIdFor: (name: string) => string;
}) {
  const clock = { now: () => new Date() };
  const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const transport = (polite: boolean) =>
    new AcmeTransport({
      directoryUrl: options.directoryUrl,
      fetch: options.fetch,
      clock,
      sleep: polite ? realSleep : (ms) => realSleep(Math.min(ms, 10)),
    });
  const polite = transport(true);
  const tight = transport(false);
  const { record } = await ensureAccount(polite, {});
  const clients = {
    polite: (await ensureAccount(polite, { stored: record })).client,
    tight: (await ensureAccount(tight, { stored: record })).client,
  };

  return async (names: readonly string[], mode: { polite: boolean }): Promise<FloorRun> => {
    const keys = await generateKeyPair('ec-p256');
    const csr = (await createCsr({ keys, names })).der;
    let dnsMs = 0;
    const write = async (action: 'UPSERT' | 'DELETE', records: readonly DnsTxtRecord[]) => {
      const started = performance.now();
      const byName = new Map<string, string[]>();
      for (const r of records) byName.set(r.name, [...(byName.get(r.name) ?? []), r.value]);
      for (const [name, values] of byName) {
        await options.route53.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: options.zoneIdFor(name),
            ChangeBatch: {
              Changes: [
                {
                  Action: action,
                  ResourceRecordSet: {
                    Name: `${name}.`,
                    Type: 'TXT',
                    TTL: 60,
                    ResourceRecords: values.map((v) => ({ Value: `"${v}"` })),
                  },
                },
              ],
            },
          }),
        );
      }
      dnsMs += performance.now() - started;
    };
    const dns: Dns01Solver<readonly DnsTxtRecord[]> = {
      present: async (records) => {
        await write('UPSERT', records);
        return records;
      },
      cleanup: (records) => write('DELETE', records),
    };
    const client = mode.polite ? clients.polite : clients.tight;
    const started = performance.now();
    await issueCertificate({
      client,
      names,
      csr: async () => csr,
      dns,
      poll: { clock, sleep: mode.polite ? realSleep : (ms) => realSleep(Math.min(ms, 10)) },
    });
    return { acmeMs: performance.now() - started - dnsMs, dnsMs };
  };
}
