import {
  type DnsPersistWanted,
  dnsPersistRecordName,
  dnsPersistValue,
  persistRecordReason,
} from '../../acme';
import { DEFAULT_PERSIST_DAYS } from '../../config/inventory';
import type { DnsPersistState } from '../state';
import type { RenewalContext } from './context';

const DAY_MS = 86_400_000;

/** The record kept for a domain at an issuer, as written. */
function writtenFor(state: readonly DnsPersistState[], wanted: DnsPersistWanted) {
  const found = state.find(
    (s) => s.domain === wanted.domain && s.issuerDomainName === wanted.issuerDomainName,
  );
  return found && { ...found, persistUntil: new Date(found.persistUntil) };
}

/**
 * Puts the `_validation-persist` records an order needs in place through the persist-record step, writing only
 * those that are missing, bind another account (a new account after a key change), lack a wildcard the order
 * now needs, or have less than a third of their `persistUntil` lifetime left; the others cost no DNS change.
 * What was written is recorded in the state before the CA is asked to look.
 * @see draft-ietf-acme-dns-persist §3.4 "persistUntil … the CA MUST NOT use this record for validation after"
 */
export async function ensurePersistRecords(
  ctx: RenewalContext,
  accountUrl: string,
  wanted: readonly DnsPersistWanted[],
): Promise<void> {
  const { deps, record, config } = ctx;
  const now = deps.clock.now();
  const days = ctx.ca.persistDays ?? DEFAULT_PERSIST_DAYS;
  const kept = record.state.dnsPersist ?? [];
  const stale = wanted
    .map((w) => ({
      w,
      reason: persistRecordReason(writtenFor(kept, w), { ...w, accountUrl }, now, (days * DAY_MS) / 3),
    }))
    .filter((s) => s.reason !== 'current');
  if (stale.length === 0) {
    deps.progress?.('dns_persist_current', { id: config.id, domains: wanted.map((w) => w.domain) });
    return;
  }
  if (deps.persistRecords === undefined) return;
  const persistUntil = new Date(Math.floor((now.getTime() + days * DAY_MS) / 1000) * 1000);
  const fresh: DnsPersistState[] = stale.map(({ w }) => ({
    ...w,
    name: dnsPersistRecordName(w.domain),
    accountUrl,
    persistUntil: persistUntil.toISOString(),
    writtenAt: now.toISOString(),
  }));
  await deps.persistRecords.write({
    kind: 'persist-record',
    certificateId: config.id,
    records: fresh.map((f) => ({ domain: f.domain, value: dnsPersistValue({ ...f, persistUntil }) })),
  });
  deps.progress?.('dns_persist_written', {
    id: config.id,
    records: stale.map(({ w, reason }) => ({ domain: w.domain, reason })),
  });
  const replaced = (s: DnsPersistState) =>
    fresh.some((f) => f.domain === s.domain && f.issuerDomainName === s.issuerDomainName);
  const current = record.state;
  await record.save({
    ...current,
    dnsPersist: [...(current.dnsPersist ?? []).filter((s) => !replaced(s)), ...fresh],
  });
}
