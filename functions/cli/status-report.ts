import type { ConfigProblem, Inventory } from '../core/config/inventory';
import { caFor, parseInventoryLenient } from '../core/config/inventory';
import { describeError } from '../core/errors';
import { configCanonical, configDigest } from '../core/renewal/config-hash';
import { certificateDaysToExpiry } from '../core/renewal/expiry';
import type { CertificateStore } from '../core/renewal/ports';
import {
  LOOK_NOW,
  parseScheduleIndex,
  rowsById,
  type ScheduleIndexStore,
} from '../core/renewal/schedule-index';
import type { CertificateState } from '../core/renewal/state';
import { renderTable } from './table';

/** What `status` shows for one certificate; also its `--json` shape. */
export interface StatusRow {
  readonly id: string;
  /** The names the inventory asks for. */
  readonly domains: readonly string[];
  /** Common name of the issuing CA certificate, when a certificate was issued. */
  readonly issuer?: string;
  readonly serial?: string;
  readonly notAfter?: string;
  /** Days until `notAfter`, two decimals; negative once expired. */
  readonly daysLeft?: number;
  /**
   * {@link daysLeft} on the expiry alarm's lifetime-scaled measure (core/renewal/expiry.ts: 14 days of 90 is 0.93 of
   * 6), two decimals: what `--fail-under` compares, as the `MinDaysToExpiry` alarm does.
   */
  readonly scaledDaysLeft?: number;
  /** The CA's suggested renewal window and the time chosen inside it (RFC 9773 §4.2). */
  readonly ari?: {
    readonly windowStart: string;
    readonly windowEnd: string;
    readonly selectedTime: string;
    readonly explanationUrl?: string;
  };
  /** Why ARI is not usable right now, when it is not. */
  readonly ariError?: string;
  /**
   * When the scheduler looks at this certificate next (reads its state, decides, and asks renewalInfo if its
   * Retry-After has passed): its schedule index row's time, which is what the scheduler acts on; a time at or before
   * `generatedAt` means at its next pass. Without an index row for the current inventory entry, the state document's
   * next renewalInfo request (`ari.nextCheckAt`, or `ariRetryAt` after a failed one), see {@link nextCheckFrom}.
   */
  readonly nextCheckAt?: string;
  /** Where {@link nextCheckAt} comes from: the scheduler's schedule index, or (without a row there) the state. */
  readonly nextCheckFrom?: NextCheckSource;
  readonly lastResult?: string;
  readonly lastReason?: string;
  readonly lastAttemptAt?: string;
  readonly lastError?: string;
  /** The CA's problem document of the last failure, as stored (RFC 7807 members and RFC 8555 §6.7.1 subproblems). */
  readonly lastProblem?: {
    readonly type?: string;
    readonly detail?: string;
    readonly status?: number;
    readonly instance?: string;
    readonly subproblems?: ReadonlyArray<Readonly<Record<string, unknown>>>;
  };
  readonly failures: number;
  /** The certID the current certificate's order named in `replaces`, when the CA accepted it. */
  readonly replaced?: string;
  /** Why the last renewal was placed again without `replaces`. */
  readonly replacesDropped?: string;
  /** ACM certificate ARN per region. */
  readonly acm: Readonly<Record<string, string>>;
  /** An order in flight that the next renewer attempt resumes. */
  readonly pendingOrder?: string;
  /** Why the current certificate was ordered without the inventory's profile (the CA does not advertise it). */
  readonly profileNote?: string;
  /** The last kept order given up on after repeated failed attempts, and when. */
  readonly abandonedOrder?: { readonly url: string; readonly at: string; readonly failedAttempts: number };
  /** The CA asked us to wait until then (rate limit). */
  readonly retryAfter?: string;
  /** The inventory name of the CA that issued the current certificate (recorded since failover exists). */
  readonly ca?: string;
  /** Set when a later CA of the certificate's list issued it: from which CA, why and when (docs/failover.md). */
  readonly failover?: {
    readonly from: string;
    readonly reason: string;
    readonly at: string;
    readonly why: string;
  };
  /** Why the current certificate's order went without `replaces` although there was a predecessor. */
  readonly replacesWithheld?: string;
  /** How the current certificate's authorizations were proven, and why dns-01 stood in for dns-persist-01. */
  readonly validation?: { readonly methods: readonly string[]; readonly fallbacks: readonly string[] };
  /** The `_validation-persist` records in place: name, the account they bind and until when (dns-persist-01). */
  readonly dnsPersist?: ReadonlyArray<{
    readonly name: string;
    readonly accountUrl: string;
    readonly persistUntil: string;
  }>;
}

/** Where a status row's next check comes from: the scheduler's schedule index, or the state document. */
export type NextCheckSource = 'schedule-index' | 'state';

/** The whole `status` answer: one row per inventory certificate, plus the inventory's problems. */
export interface StatusReport {
  readonly generatedAt: string;
  /** When the scheduler last wrote its schedule index (a pass that learned something); absent without an index. */
  readonly scheduleIndexUpdatedAt?: string;
  /** Why the schedule index could not be read, when it could not: every next check is then the state's. */
  readonly scheduleIndexError?: string;
  readonly certificates: readonly StatusRow[];
  readonly problems: readonly ConfigProblem[];
}

/** The common name of an RFC 4514 distinguished name, or the whole name when it has none. */
export function commonName(dn: string): string {
  return /(?:^|,)\s*CN=((?:\\.|[^,])+)/i.exec(dn)?.[1]?.trim() ?? dn;
}

function hundredths(days: number): number {
  return Math.round(days * 100) / 100;
}

/**
 * Builds one status row from an inventory entry and its state document (absent before the first issuance);
 * `scheduled` is the scheduler's next look from its schedule index, when the index has a row for the entry.
 */
export function statusRow(
  id: string,
  domains: readonly string[],
  state: CertificateState | undefined,
  now: Date,
  scheduled?: string,
): StatusRow {
  const current = state?.current;
  const ari = state?.ari && state.ari.certId === current?.certId ? state.ari : undefined;
  const left = current ? certificateDaysToExpiry(current, now) : undefined;
  const stateNext = ari?.nextCheckAt ?? state?.ariRetryAt;
  return {
    id,
    domains,
    issuer: current ? commonName(current.issuer) : undefined,
    serial: current?.serial,
    notAfter: current?.notAfter,
    daysLeft: left && hundredths(left.days),
    scaledDaysLeft: left && hundredths(left.scaled),
    ari: ari
      ? {
          windowStart: ari.windowStart,
          windowEnd: ari.windowEnd,
          selectedTime: ari.selectedTime,
          ...(ari.explanationUrl ? { explanationUrl: ari.explanationUrl } : {}),
        }
      : undefined,
    ariError: state?.ariError,
    nextCheckAt: scheduled ?? stateNext,
    nextCheckFrom: scheduled !== undefined ? 'schedule-index' : stateNext !== undefined ? 'state' : undefined,
    lastResult: state?.lastResult,
    lastReason: state?.lastReason,
    lastAttemptAt: state?.lastAttemptAt,
    lastError: state?.lastError,
    lastProblem: state?.lastProblem,
    failures: state?.failures ?? 0,
    replaced: state?.current?.replaced,
    replacesDropped: state?.replacesDropped?.reason,
    acm: Object.fromEntries(Object.entries(state?.acm ?? {}).map(([region, entry]) => [region, entry.arn])),
    pendingOrder: state?.pendingOrder?.url,
    retryAfter: state?.retryAfter,
    ...(state?.profileNote ? { profileNote: state.profileNote } : {}),
    ...(state?.validation
      ? { validation: { methods: [...state.validation.methods], fallbacks: [...state.validation.fallbacks] } }
      : {}),
    ...(state?.dnsPersist?.length
      ? {
          dnsPersist: state.dnsPersist.map(({ name, accountUrl, persistUntil }) => ({
            name,
            accountUrl,
            persistUntil,
          })),
        }
      : {}),
    ...(current?.issuedBy ? { ca: current.issuedBy.ca } : {}),
    ...(current?.issuedBy?.failover ? { failover: { ...current.issuedBy.failover } } : {}),
    ...(current?.issuedBy?.replacesWithheld ? { replacesWithheld: current.issuedBy.replacesWithheld } : {}),
    ...(state?.abandonedOrder
      ? {
          abandonedOrder: {
            url: state.abandonedOrder.url,
            at: state.abandonedOrder.abandonedAt,
            failedAttempts: state.abandonedOrder.failedAttempts,
          },
        }
      : {}),
  };
}

/** The scheduler's next look per certificate id, as its schedule index says, and when the index was written. */
interface ScheduledLooks {
  readonly updatedAt?: string;
  readonly looks: ReadonlyMap<string, string>;
  readonly error?: string;
}

/**
 * When the scheduler looks at each inventory certificate next, from one read of its schedule index (`loadIndex`
 * only: status never writes it). A row counts only for the entry it was decided for (the same config hash the
 * scheduler compares); a row for a changed entry, or one that says "look now", means the next pass. An index that
 * is missing, damaged or unreadable gives no rows: each certificate's next check is then its state's.
 */
async function scheduledLooks(
  index: Pick<ScheduleIndexStore, 'loadIndex'> | undefined,
  inventory: Inventory,
  now: Date,
): Promise<ScheduledLooks> {
  const looks = new Map<string, string>();
  if (index === undefined) return { looks };
  let parsed: ReturnType<typeof parseScheduleIndex>;
  try {
    parsed = parseScheduleIndex((await index.loadIndex())?.value);
  } catch (error) {
    // A status without the index is still worth printing (an operator's policy may not grant schedule-index.json).
    return { looks, error: describeError(error) };
  }
  if (parsed === undefined) return { looks };
  const rows = rowsById(parsed);
  for (const cert of inventory.certificates) {
    const row = rows.get(cert.id);
    if (row === undefined) continue;
    let hash: string;
    try {
      // The hash the scheduler compares (run-scheduler.ts hashRoster): another one means the entry changed since.
      hash = configDigest(configCanonical(cert, caFor({ ...inventory, certificates: [] }, cert.ca)));
    } catch {
      continue; // A CA the lenient parse let through but caFor refuses: the state's time, as without a row.
    }
    const lookAt = parsed.lookAt[row]!;
    const at =
      hash !== parsed.hashes[row] ? now.toISOString() : lookAt === LOOK_NOW ? parsed.updatedAt : lookAt;
    looks.set(cert.id, typeof at === 'string' ? at : new Date(at).toISOString());
  }
  return { updatedAt: parsed.updatedAt, looks };
}

/**
 * Reads the inventory, every certificate's state from the store and, given `index`, the scheduler's schedule index
 * once, for when it looks at each certificate next; a bad inventory entry is reported, not fatal.
 */
export async function collectStatus(
  store: CertificateStore,
  now: Date,
  index?: Pick<ScheduleIndexStore, 'loadIndex'>,
): Promise<StatusReport> {
  const { inventory, problems } = parseInventoryLenient(await store.loadInventory());
  const [scheduled, certificates] = await Promise.all([
    scheduledLooks(index, inventory, now),
    Promise.all(inventory.certificates.map(async (c) => ({ c, state: await store.getState(c.id) }))),
  ]);
  return {
    generatedAt: now.toISOString(),
    ...(scheduled.updatedAt === undefined ? {} : { scheduleIndexUpdatedAt: scheduled.updatedAt }),
    ...(scheduled.error === undefined ? {} : { scheduleIndexError: scheduled.error }),
    certificates: certificates.map(({ c, state }) =>
      statusRow(c.id, c.domains, state, now, scheduled.looks.get(c.id)),
    ),
    problems,
  };
}

/** `2026-01-02T03:04:05.678Z` → `2026-01-02 03:04` (UTC, minutes are enough to read a schedule). */
export function shortTime(iso: string | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : '';
}

/** Region and the start of an ACM ARN's id, enough to tell certificates apart; `--json` has the whole ARN. */
function shortArn(region: string, arn: string): string {
  return `${region} ${(arn.split('/').pop() ?? arn).slice(0, 8)}…`;
}

function lastResultCell(row: StatusRow): string[] {
  if (!row.lastResult) return [row.pendingOrder ? 'order in flight' : 'not issued yet'];
  const lines = [`${row.lastResult}${row.lastReason ? ` (${row.lastReason})` : ''}`];
  if (row.replaced) lines.push(`replaces ${row.replaced.slice(0, 16)}…`);
  if (row.replacesDropped) lines.push('replaces dropped');
  if (row.failover) lines.push(`failed over to ${row.ca ?? '?'}`);
  if (row.profileNote) lines.push('profile dropped');
  if (row.validation) lines.push(`via ${row.validation.methods.join(' + ') || 'valid authorizations'}`);
  if (row.failures > 0) lines.push(`${row.failures} failure${row.failures === 1 ? '' : 's'}`);
  if (row.retryAfter) lines.push(`wait until ${shortTime(row.retryAfter)}`);
  return lines;
}

/**
 * The `status` table: certificate, names, issuer, expiry with days left, ARI window and selected time, the
 * scheduler's next check (marked `(state)` when taken from the state document), last result and ACM ARNs per region.
 * Times are UTC. The demo prints the same table.
 */
export function renderStatus(report: StatusReport): string {
  const rows = report.certificates.map((row) => [
    row.id,
    [...row.domains],
    row.issuer ?? '',
    row.notAfter ? [shortTime(row.notAfter), `(${row.daysLeft?.toFixed(1)} days)`] : 'not issued',
    row.ari
      ? [`${shortTime(row.ari.windowStart)} –`, shortTime(row.ari.windowEnd)]
      : row.ariError
        ? 'unavailable'
        : '',
    row.ari ? shortTime(row.ari.selectedTime) : '',
    // Marked when it is not the scheduler's own: without an index row the state's time may be stale or early.
    row.nextCheckFrom === 'state' ? [shortTime(row.nextCheckAt), '(state)'] : shortTime(row.nextCheckAt),
    lastResultCell(row),
    Object.entries(row.acm).map(([region, arn]) => shortArn(region, arn)),
  ]);
  const table = renderTable(
    [
      'CERTIFICATE',
      'NAMES',
      'ISSUER',
      'EXPIRES (UTC)',
      'ARI WINDOW (UTC)',
      'RENEW AT',
      'NEXT ARI CHECK',
      'LAST RESULT',
      'ACM',
    ],
    rows,
  );
  const notes = [
    ...report.certificates
      .filter((r) => r.lastError && r.lastResult !== 'renewed')
      .map((r) => `${r.id}: ${r.lastProblem?.detail ?? r.lastError}`),
    ...report.certificates.filter((r) => r.profileNote).map((r) => `${r.id}: ${r.profileNote}`),
    ...report.certificates.flatMap((r) =>
      (r.validation?.fallbacks ?? []).map((why) => `${r.id}: dns-01 stood in for dns-persist-01: ${why}`),
    ),
    ...report.certificates.flatMap((r) =>
      (r.dnsPersist ?? []).map(
        (p) => `${r.id}: ${p.name} binds ${p.accountUrl} until ${shortTime(p.persistUntil)} (dns-persist-01)`,
      ),
    ),
    ...report.certificates
      .filter((r) => r.failover)
      .map(
        (r) =>
          `${r.id}: issued by ${r.ca} after failing over from ${r.failover!.from} at ${shortTime(r.failover!.at)} (${r.failover!.reason}: ${r.failover!.why}); the next renewal starts with its first CA again`,
      ),
    ...report.certificates
      .filter((r) => r.abandonedOrder)
      .map(
        (r) =>
          `${r.id}: abandoned the order ${r.abandonedOrder!.url} at ${shortTime(r.abandonedOrder!.at)} after ${r.abandonedOrder!.failedAttempts} failed attempts`,
      ),
    ...report.problems.map((p) => `inventory ${p.path}: ${p.message}`),
    ...(report.scheduleIndexError
      ? [`schedule index not read (next checks are the state documents'): ${report.scheduleIndexError}`]
      : []),
  ];
  return notes.length ? `${table}\n\n${notes.join('\n')}` : table;
}
