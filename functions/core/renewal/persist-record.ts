import { baseDomain, dnsPersistRecordName, issuerOfValue } from '../acme/dns-persist';
import { caFor, challengeOf, parseInventoryLenient } from '../config/inventory';
import type { PersistRecordRequest, PersistRecordResponse } from '../contracts/persist-record';
import { AcmeAwsError } from '../errors';
import type { CertificateStore, PersistentTxtRecord, PersistentTxtWriter } from './ports';

/** What the persist-record step needs: the inventory (to check the request) and a writer of TXT records. */
export interface PersistRecordDeps {
  readonly store: Pick<CertificateStore, 'loadInventory'>;
  readonly dns: PersistentTxtWriter;
}

const fail = (message: string) => new AcmeAwsError('dns-failed', message);

/**
 * The `accounturi` of a value, when the value is one issuer domain name followed by parameters of which exactly
 * one is `accounturi`.
 */
function accountUriOf(value: string): string | undefined {
  const params = value
    .split(';')
    .slice(1)
    .map((p) => p.trim());
  const uris = params.filter((p) => p.toLowerCase().startsWith('accounturi='));
  return uris.length === 1 ? uris[0]!.slice('accounturi='.length) : undefined;
}

/** The zone role that applies to a base domain (its own, apex or wildcard form), as the DNS adapter reads hints. */
function zoneRoleFor(roles: Readonly<Record<string, string>>, base: string): string | undefined {
  return roles[base] ?? roles[`*.${base}`];
}

/**
 * Writes the `_validation-persist` records the renewer asks for, after checking each against the inventory: the
 * certificate uses dns-persist-01, the domain is one of its own, and the value binds an account at its CA (same
 * origin as the CA's directory). Whoever can invoke this can at most point a record of a managed name at an
 * account of the configured CA.
 * @see draft-ietf-acme-dns-persist §3.2 (the record's RDATA), §6 (security: the record authorizes an account)
 * @throws AcmeAwsError `dns-failed` when the request does not match the inventory (nothing is written).
 */
export async function writePersistRecords(
  deps: PersistRecordDeps,
  request: PersistRecordRequest,
): Promise<PersistRecordResponse> {
  const { inventory } = parseInventoryLenient(await deps.store.loadInventory());
  const entry = inventory.certificates.find((c) => c.id === request.certificateId);
  if (entry === undefined || challengeOf(inventory, entry) !== 'dns-persist-01') {
    throw fail(
      `"${request.certificateId}" is not an inventory entry that uses dns-persist-01; no record was written`,
    );
  }
  const caOrigin = new URL(caFor(inventory, entry.ca).directoryUrl).origin;
  const own = new Set(entry.domains.map(baseDomain));
  const records: PersistentTxtRecord[] = request.records.map(({ domain, value }) => {
    const base = baseDomain(domain);
    const accountUri = accountUriOf(value);
    if (!own.has(base)) throw fail(`${domain} is not a domain of "${entry.id}"; no record was written`);
    if (zoneRoleFor(entry.zoneRoleArns, base) !== undefined) {
      throw fail(
        `${base} is in a zone of another account (zoneRoleArns): dns-persist-01 records are written in this account's zones only so far; use dns-01 for "${entry.id}"`,
      );
    }
    if (accountUri === undefined || !URL.canParse(accountUri) || new URL(accountUri).origin !== caOrigin) {
      throw fail(
        `the record for ${base} does not bind an account at ${caOrigin}, the CA of "${entry.id}"; no record was written`,
      );
    }
    return {
      identifier: base,
      name: dnsPersistRecordName(base),
      value,
      issuerDomainName: issuerOfValue(value),
    };
  });
  await deps.dns.upsertPersistent(records, { hostedZones: entry.hostedZones });
  return { written: records.map((r) => r.name) };
}
