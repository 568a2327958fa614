import { ARI_MAX_CHECK_INTERVAL_MS, type RequestRate } from '../ari';
import type { Random } from '../clock';
import { mapLimit } from '../concurrency';
import {
  type ConfigProblem,
  caFor,
  type InventoryScan,
  type ResolvedCa,
  scanInventory,
} from '../config/inventory';
import { describeError, hasCode } from '../errors';
import type { Fetch, RequestTimer } from '../http';
import { type CheckCertificateResult, checkCertificate, rateLimitDeferral } from './check-certificate';
import { configCanonical, configDigest } from './config-hash';
import { certificateDaysToExpiry, daysToExpiry } from './expiry';
import type { CertificateStore, EventPublisher, RenewalQueue, RenewalReason, RenewalRequest } from './ports';
import {
  INVENTORY_RULES,
  IndexedPass,
  type InventoryRead,
  type InventoryRecord,
  type ScheduleIndexStore,
} from './schedule-index';
import { type CertificateState, emptyState, sameState, sameStateButAriTiming } from './state';
import { type AriWindowMove, ariWindowMove, windowMovedDetail } from './window-moved';

/** What the scheduler needs from the outside world. */
export interface SchedulerDeps {
  readonly store: CertificateStore;
  readonly queue: RenewalQueue;
  readonly fetch: Fetch;
  /** The `renewalInfo` URL a CA advertises (directory cached per container), or `undefined` without ARI. */
  readonly renewalInfoUrl: (directoryUrl: string) => Promise<string | undefined>;
  readonly now: Date;
  readonly random: Random;
  /** How many certificates are checked at once (ARI requests and S3 reads). */
  readonly concurrency?: number;
  /** The schedule interval: a renewal time before the next run is acted on now (RFC 9773 §4.2). */
  readonly lookaheadMs?: number;
  /** Deadline of each renewalInfo request. @default ARI_REQUEST_TIMEOUT_MS (time-budget.ts) */
  readonly ariTimeoutMs?: number;
  /** Makes each request's deadline signal. @default abortAfter (`AbortSignal.timeout`) */
  readonly timer?: RequestTimer;
  /**
   * Milliseconds left of this pass's budget, e.g. `passBudget(clock, SCHEDULER_PASS_BUDGET_MS)` (time-budget.ts).
   * Once it is at or below zero no new certificate check starts; the checks in flight finish, the due ones found
   * are enqueued, and the rest is left for the next pass. Absent: every certificate is checked.
   */
  readonly remainingMs?: () => number;
  /**
   * The schedule index: with it a pass reads only the state documents that are due, changed, marked by a renewer
   * or unknown (see `schedule-index.ts`). Absent, or in a dry run or a one-certificate run: every state is read.
   */
  readonly index?: ScheduleIndexStore;
  /**
   * Spreads each refreshed certificate's next check past the CA's Retry-After by up to this fraction of it
   * (`ARI_CHECK_JITTER` in the deployed scheduler), so a burst of certificates stops falling due in one pass.
   * @default 0 (exactly the Retry-After)
   */
  readonly ariJitter?: number;
  /**
   * Bounds the renewalInfo requests per CA, e.g. `perKeyTokenBuckets` at `ARI_REQUESTS_PER_SECOND`; checks wait
   * for a token, so the bound holds whatever the concurrency. @default unbounded
   */
  readonly ariRate?: RequestRate;
  /**
   * Where an `ARI Window Moved` event goes when a refresh finds that the CA moved a certificate's window (not in
   * a dry run). Absent: the move is only reported in the check.
   */
  readonly events?: EventPublisher;
}

/** The outcome for one certificate, for logs, metrics and `check`. */
export interface CertificateCheck {
  readonly id: string;
  readonly due: boolean;
  readonly reason: RenewalReason | 'not-yet' | 'deferred' | 'error';
  readonly explanation: string;
  readonly notAfter?: string;
  /** The current certificate's start of validity: with `notAfter` its lifetime. */
  readonly notBefore?: string;
  /** Real days left until `notAfter` (negative once expired). */
  readonly daysToExpiry?: number;
  /**
   * `daysToExpiry` scaled to a 90-day lifetime (`lifetimeScaledDays`, expiry.ts): what `minDaysToExpiry` and the
   * `near-expiry` threshold compare, so one threshold fits 6-, 45- and 90-day certificates.
   */
  readonly scaledDaysToExpiry?: number;
  readonly renewAt?: string;
  readonly nextCheckAt?: string;
  readonly ariRequested: boolean;
  readonly ariError?: string;
  /**
   * The check changed what the state records (a first window, a new selected time, an error or its recovery):
   * false for a refresh that only confirmed the stored window. In a dry run (`acme-ari check`) it says what a pass
   * would have written; nothing is.
   */
  readonly stateChanged?: boolean;
  /** The CA moved this certificate's ARI window since the last check (an incident, RFC 9773 §4.2). */
  readonly windowMoved?: AriWindowMove;
  /** Why the `ARI Window Moved` event could not be published, when it could not. */
  readonly windowMovedEventError?: string;
}

/** The result of one scheduler pass. */
export interface SchedulerReport {
  readonly checks: readonly CertificateCheck[];
  readonly enqueued: readonly RenewalRequest[];
  readonly problems: readonly ConfigProblem[];
  readonly ariRequests: number;
  readonly ariErrors: number;
  /**
   * The smallest lifetime-scaled days to expiry (see `expiry.ts`) over all issued certificates, checked or waiting
   * in the index; `undefined` when none is issued yet. For 90-day and longer certificates it is their days left;
   * a 6-day certificate with 0.5 days left counts 7.5.
   */
  readonly minDaysToExpiry?: number;
  /** True when the pass budget ran out before every certificate was checked. */
  readonly budgetSpent: boolean;
  /**
   * Certificates not checked because the pass budget was spent (not errors, and not in `checks`): the next pass
   * checks them, starting from another place in the inventory.
   */
  readonly leftForNextPass: number;
  /** Certificates the schedule index says can wait (not read, not in `checks`). */
  readonly waiting: number;
  /** True when the schedule index was missing or unreadable and this pass rebuilt it. */
  readonly indexRebuilt: boolean;
}

/** Due certificates are enqueued in batches of this size as they are found: SQS `SendMessageBatch` takes 10. */
export const ENQUEUE_BATCH_SIZE = 10;

/** Longest description of a directory failure kept in a certificate's `ariError`. */
const MAX_DIRECTORY_ERROR_CHARS = 300;

/** How often one check re-reads and decides again after its state write lost to a renewer's. */
const MAX_STATE_CONFLICTS = 2;

/**
 * Checks one certificate and writes what the check learned (its ARI refresh) conditionally on the state it read:
 * a renewer that wrote meanwhile (a new certificate, a checkpoint) is never overwritten; the check re-reads and
 * decides again from what the renewer wrote.
 *
 * With the schedule index (`indexed`), a refresh that only confirms the stored window (same window, selected time,
 * explanation; see `sameStateButAriTiming`) writes nothing: its next check goes into the index alone. The state
 * then keeps the time the window was last stored; a later read that finds its `ari.nextCheckAt` passed asks the CA
 * again, which is what the index asks for anyway. Without the index the state is the only record, and is written.
 */
async function checkOne(
  deps: SchedulerDeps,
  id: string,
  hash: string,
  write: { readonly dryRun: boolean; readonly indexed: boolean; readonly ariNotBefore?: number },
): Promise<CertificateCheck & { readonly ariNextCheckAt?: string }> {
  for (let conflicts = 0; ; conflicts++) {
    const read = await deps.store.readState(id);
    const stored = read?.state ?? emptyState(id);
    const checked = await checkState(deps, hash, withAriNotBefore(stored, write.ariNotBefore, deps.now));
    const next = checked.result.state;
    const same = write.indexed ? sameStateButAriTiming : sameState;
    const changed = read === undefined || !same(read.state, next);
    try {
      if (!write.dryRun && changed) await deps.store.putStateIf(id, next, read?.etag);
      const report = {
        ...checkReport(deps.now, id, checked.result, checked.directoryError),
        stateChanged: changed,
        ...(next.ari === undefined ? {} : { ariNextCheckAt: next.ari.nextCheckAt }),
      };
      const moved = ariWindowMove(read?.state, checked.result.state);
      return moved === undefined
        ? report
        : { ...report, ...(await announceMove(deps, id, moved, write.dryRun)) };
    } catch (error) {
      if (!hasCode(error, 'state-conflict') || conflicts >= MAX_STATE_CONFLICTS) throw error;
    }
  }
}

/**
 * The state as the check must see it: a window confirmed by an earlier refresh kept its next renewalInfo request in
 * the index only, so the stored `ari.nextCheckAt` (and the `checkedAt` its one-day cap counts from) may be older.
 * The later of the two is honoured, never more than a day ahead; Retry-After is not cut short because the state
 * was not rewritten.
 * @see RFC 9773 §4.3 (Retry-After)
 */
function withAriNotBefore(
  state: CertificateState,
  ariNotBefore: number | undefined,
  now: Date,
): CertificateState {
  const ari = state.ari;
  if (ari === undefined || ariNotBefore === undefined || ari.certId !== state.current?.certId) return state;
  const at = Math.min(ariNotBefore, now.getTime() + ARI_MAX_CHECK_INTERVAL_MS);
  if (!(at > Date.parse(ari.nextCheckAt))) return state;
  const checkedAt = Math.max(Date.parse(ari.checkedAt), at - ARI_MAX_CHECK_INTERVAL_MS);
  return {
    ...state,
    ari: { ...ari, nextCheckAt: new Date(at).toISOString(), checkedAt: new Date(checkedAt).toISOString() },
  };
}

/**
 * The move in the check, and its `ARI Window Moved` event once the new window is stored (never in a dry run).
 * A bus that refuses the event does not fail the check: the move is still logged and counted.
 */
async function announceMove(
  deps: SchedulerDeps,
  id: string,
  move: AriWindowMove,
  dryRun: boolean,
): Promise<Pick<CertificateCheck, 'windowMoved' | 'windowMovedEventError'>> {
  if (dryRun || deps.events === undefined) return { windowMoved: move };
  try {
    await deps.events.publish('ARI Window Moved', windowMovedDetail(id, move));
    return { windowMoved: move };
  } catch (error) {
    return { windowMoved: move, windowMovedEventError: describeError(error) };
  }
}

/**
 * The check of one state document: the renewalInfo URL of the CA that issued its certificate (its directory), then
 * ARI and the decision. A certificate not issued yet asks no CA anything: the decision is `new` whatever its CA.
 */
async function checkState(
  deps: SchedulerDeps,
  hash: string,
  state: CertificateState,
): Promise<{ result: CheckCertificateResult; directoryError?: string }> {
  const { now } = deps;
  const issuingCa = state.current?.directoryUrl;
  // A certificate the CA deferred asks no renewalInfo (nothing could act on it), so it needs no directory either.
  const deferred = rateLimitDeferral(state, now) !== undefined;
  let renewalInfoUrl: string | undefined;
  let directoryError: string | undefined;
  try {
    renewalInfoUrl = issuingCa !== undefined && !deferred ? await deps.renewalInfoUrl(issuingCa) : undefined;
  } catch (error) {
    // Bounded and on one line: a CA's problem detail may be long, and this is logged for every certificate.
    const why = describeError(error).replace(/\s+/g, ' ').slice(0, MAX_DIRECTORY_ERROR_CHARS);
    directoryError = `the directory of ${issuingCa} could not be read: ${why}`;
  }
  const result = await checkCertificate({
    state,
    configHash: hash,
    renewalInfoUrl,
    fetch: deps.fetch,
    now,
    random: deps.random,
    lookaheadMs: deps.lookaheadMs,
    ...(deps.ariTimeoutMs === undefined ? {} : { ariTimeoutMs: deps.ariTimeoutMs }),
    ...(deps.timer ? { timer: deps.timer } : {}),
    ...(deps.ariJitter === undefined ? {} : { ariJitter: deps.ariJitter }),
    ...(deps.ariRate ? { requestRate: deps.ariRate } : {}),
  });
  return { result, ...(directoryError === undefined ? {} : { directoryError }) };
}

/**
 * When to look at a certificate again: the decision's next check, or the retry of a failed ARI request when that
 * comes first (a decision without a usable window does not know it, and the schedule index must).
 */
function nextLook(next: Date, ariRetryAt: string | undefined): string {
  const retry = ariRetryAt === undefined ? Number.NaN : Date.parse(ariRetryAt);
  return new Date(Number.isFinite(retry) ? Math.min(next.getTime(), retry) : next.getTime()).toISOString();
}

/** One certificate's line in the report. */
function checkReport(
  now: Date,
  id: string,
  result: CheckCertificateResult,
  directoryError: string | undefined,
): CertificateCheck {
  const decision = result.decision;
  const current = result.state.current;
  const expiry = current === undefined ? undefined : certificateDaysToExpiry(current, now);
  return {
    id,
    due: decision.renew,
    reason: decision.reason,
    explanation: decision.explanation,
    notAfter: current?.notAfter,
    notBefore: current?.notBefore,
    daysToExpiry: expiry?.days,
    scaledDaysToExpiry: expiry?.scaled,
    renewAt: decision.renew ? undefined : decision.renewAt.toISOString(),
    nextCheckAt: decision.renew ? undefined : nextLook(decision.nextCheckAt, result.state.ariRetryAt),
    ariRequested: result.ariRequested,
    ariError: result.ariError ?? directoryError,
  };
}

/**
 * Checks one certificate of the pass (an error becomes an `error` check, never the pass's) and records the outcome
 * in the index, with the next renewalInfo request the check chose.
 */
async function checkAndRecord(
  deps: SchedulerDeps,
  pass: IndexedPass | undefined,
  id: string,
  hash: string,
  dryRun: boolean,
): Promise<CertificateCheck> {
  let check: CertificateCheck & { readonly ariNextCheckAt?: string };
  try {
    const ariNotBefore = pass?.ariNotBefore(id, hash);
    check = await checkOne(deps, id, hash, {
      dryRun,
      indexed: pass !== undefined,
      ...(ariNotBefore === undefined ? {} : { ariNotBefore }),
    });
  } catch (error) {
    check = {
      id,
      due: false,
      reason: 'error' as const,
      explanation: `could not check: ${describeError(error)}`,
      ariRequested: false,
    };
  }
  const { ariNextCheckAt, ...reported } = check;
  pass?.record(id, hash, {
    ...reported,
    failed: check.reason === 'error',
    ...(ariNextCheckAt === undefined ? {} : { ariNextCheckAt }),
  });
  return reported;
}

/**
 * One scheduler pass: read the inventory, refresh ARI where its Retry-After has passed, decide per certificate,
 * and enqueue the due ones in batches as they are found, so a slow endpoint late in the pass cannot cost the
 * renewals found before it. A bad inventory entry or one failing certificate never stops the others.
 *
 * With a budget (`deps.remainingMs`) no check starts once it is spent; the pass still enqueues what it found and
 * returns in time for the caller to publish its metrics (the heartbeat). The pass then starts at a random place in
 * the inventory, so the certificates a spent budget leaves out differ from pass to pass and none is starved.
 *
 * With the schedule index, an inventory whose version is the one the index records is neither parsed nor hashed:
 * the index's rows are its certificates (see `schedule-index.ts`). What a pass holds is then the index's arrays and
 * the checks it made, not an object per inventory entry.
 * @throws the queue's error (e.g. `queue-failed`) when a batch could not be enqueued, after the pass finished
 */
export async function runScheduler(
  deps: SchedulerDeps,
  options: { dryRun?: boolean; only?: string } = {},
): Promise<SchedulerReport> {
  const dryRun = options.dryRun === true;
  const pass =
    deps.index && !dryRun && options.only === undefined
      ? await IndexedPass.open(deps.index, deps.now, deps.lookaheadMs ?? 0)
      : undefined;
  const { roster, problems, record } = await rosterOf(deps, pass, options.only);
  const count = roster.ids.length;
  const start = deps.remainingMs && count > 1 ? Math.floor(clampUnit(deps.random()) * count) % count : 0;
  const results = new Array<CertificateCheck | undefined>(count);
  const queue = new BatchingEnqueuer(deps.queue, dryRun);
  // What the index lets wait is settled here, synchronously: a pass where nothing is due makes no promise per row.
  const toCheck: number[] = [];
  let waitingCount = 0;
  // Lifetime-scaled, like the checked ones': a waiting 6-day certificate must not mask every other one.
  let minDays = Number.POSITIVE_INFINITY;
  for (let k = 0; k < count; k++) {
    const index = (start + k) % count;
    const entry = pass?.waiting(roster.ids[index]!, roster.hashes[index]!);
    if (entry === undefined) {
      toCheck.push(index);
      continue;
    }
    waitingCount += 1;
    if (entry.notAfter !== undefined)
      minDays = Math.min(
        minDays,
        daysToExpiry({ notAfter: entry.notAfter, notBefore: entry.notBefore }, deps.now).scaled,
      );
  }
  let budgetSpent = false;

  await mapLimit(toCheck, deps.concurrency ?? 10, async (index) => {
    if (!budgetSpent && deps.remainingMs !== undefined && deps.remainingMs() <= 0) budgetSpent = true;
    if (budgetSpent) return;
    const check = await checkAndRecord(deps, pass, roster.ids[index]!, roster.hashes[index]!, dryRun);
    results[index] = check;
    if (check.due) await queue.add(index, { id: check.id, reason: check.reason as RenewalReason });
  });
  await queue.flush();
  queue.throwIfFailed();
  // After the enqueueing: an index that says "due" for what was just enqueued is only ever early.
  await pass?.close(roster, record);

  const checks = results.filter((c): c is CertificateCheck => c !== undefined);
  const enqueued = results.flatMap((c, index) =>
    c !== undefined && queue.enqueued.has(index) ? [{ id: c.id, reason: c.reason as RenewalReason }] : [],
  );
  for (const c of checks)
    if (c.scaledDaysToExpiry !== undefined) minDays = Math.min(minDays, c.scaledDaysToExpiry);
  return {
    checks,
    enqueued,
    problems,
    ariRequests: checks.filter((c) => c.ariRequested).length,
    ariErrors: checks.filter((c) => c.ariError !== undefined).length,
    minDaysToExpiry: Number.isFinite(minDays) ? minDays : undefined,
    budgetSpent,
    leftForNextPass: count - checks.length - waitingCount,
    waiting: waitingCount,
    indexRebuilt: pass?.rebuilding ?? false,
  };
}

/** The certificates a pass goes over: their ids and entries' hashes, in inventory order. */
interface Roster {
  readonly ids: readonly string[];
  readonly hashes: readonly string[];
}

/**
 * The pass's certificates: the index's rows when the inventory is the version they were computed from (nothing
 * parsed, nothing hashed), else the inventory parsed and hashed in full — and then the record the next pass can
 * trust (its ETag, when the store gives one). Only the ids and hashes are kept: the parsed entries are dropped here.
 */
async function rosterOf(
  deps: SchedulerDeps,
  pass: IndexedPass | undefined,
  only: string | undefined,
): Promise<{ roster: Roster; problems: readonly ConfigProblem[]; record?: InventoryRecord }> {
  const trusted = pass?.trustedInventory;
  let read: InventoryRead | undefined =
    pass !== undefined && deps.index?.readInventory !== undefined
      ? await deps.index.readInventory(trusted?.etag)
      : { value: await deps.store.loadInventory() };
  if (read.unchanged === true && trusted !== undefined && pass !== undefined)
    return { roster: pass.roster, problems: trusted.problems, record: trusted };
  const etag = read.unchanged === true ? undefined : read.etag;
  const scan = scanInventory(read.unchanged === true ? await deps.store.loadInventory() : read.value);
  // The parsed JSON is the largest thing a pass holds: the scan lets go of each entry once read, and nothing else
  // may keep the whole of it.
  read = undefined;
  const { ids, hashes } = hashRoster(scan, only, pass);
  const { problems } = scan;
  const record =
    etag === undefined
      ? undefined
      : { etag, rules: INVENTORY_RULES, parsedAt: deps.now.toISOString(), problems };
  return { roster: { ids, hashes }, problems, ...(record === undefined ? {} : { record }) };
}

/**
 * The usable certificates' ids and config hashes, each entry hashed as the scan reaches it: what a pass keeps of an
 * entry (its id and hash) is all that outlives it, so memory follows the inventory's size in ids and hashes, not in
 * parsed entries and hash inputs. An entry whose hash the index already holds keeps the index's strings, which the
 * pass holds anyway: after an edit that leaves most entries as they were, the roster costs almost nothing on top of
 * the index.
 */
function hashRoster(
  scan: InventoryScan,
  only: string | undefined,
  pass: IndexedPass | undefined,
): { ids: string[]; hashes: string[] } {
  const ids: string[] = [];
  const hashes: string[] = [];
  const resolved = new Map<string, ResolvedCa>();
  const prior = pass?.roster;
  for (const cert of scan.certificates) {
    if (only !== undefined && cert.id !== only) continue;
    const ca = resolved.get(cert.ca) ?? caFor({ cas: scan.cas, certificates: [] }, cert.ca);
    resolved.set(cert.ca, ca);
    const digest = configDigest(configCanonical(cert, ca));
    const row = pass?.rowWithHash(cert.id, digest);
    ids.push(row === undefined ? cert.id : prior!.ids[row]!);
    hashes.push(row === undefined ? digest : prior!.hashes[row]!);
  }
  return { ids, hashes };
}

/** A random source's value forced into [0, 1), so a misbehaving one still yields a valid start. */
function clampUnit(r: number): number {
  return Number.isFinite(r) ? Math.min(Math.max(r, 0), 1 - Number.EPSILON) : 0;
}

/**
 * Sends due certificates to the queue in batches of {@link ENQUEUE_BATCH_SIZE} as they are found. After a failed
 * batch it sends no more (the next would fail alike, each after the SDK's retries) and keeps the first error.
 */
class BatchingEnqueuer {
  /** Inventory indexes of the certificates enqueued (or, in a dry run, that would be). */
  readonly enqueued = new Set<number>();
  private pending: Array<{ index: number; request: RenewalRequest }> = [];
  private failure: { error: unknown } | undefined;

  constructor(
    private readonly queue: RenewalQueue,
    private readonly dryRun: boolean,
  ) {}

  async add(index: number, request: RenewalRequest): Promise<void> {
    this.pending.push({ index, request });
    if (this.pending.length >= ENQUEUE_BATCH_SIZE)
      await this.send(this.pending.splice(0, ENQUEUE_BATCH_SIZE));
  }

  async flush(): Promise<void> {
    while (this.pending.length > 0) await this.send(this.pending.splice(0, ENQUEUE_BATCH_SIZE));
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure.error;
  }

  private async send(batch: Array<{ index: number; request: RenewalRequest }>): Promise<void> {
    if (this.failure) return;
    batch.sort((a, b) => a.index - b.index);
    try {
      if (!this.dryRun) await this.queue.enqueue(batch.map((b) => b.request));
      for (const { index } of batch) this.enqueued.add(index);
    } catch (error) {
      this.failure = { error };
    }
  }
}
