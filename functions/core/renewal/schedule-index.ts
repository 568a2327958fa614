import type { RenewalDecision } from '../ari';
import type { ConfigProblem } from '../config/inventory';
import * as z from '../zod';

/**
 * The schedule index: for each certificate of the inventory, the hash of its inventory entry and the earliest time
 * the scheduler must look at it again, so a pass reads only the state documents that are due, changed or unknown —
 * what changed, not the inventory size.
 *
 * Why it can only ever be early, never late:
 * - a row's `lookAt` is written only by the scheduler, from a state document it has just read and decided on: that
 *   decision's next check (the renewal time, the next ARI refresh, a deferral's end, whichever comes first), never
 *   later than {@link MAX_LOOK_AT_MS} ahead; a row nothing was learned for yet says "now" ({@link LOOK_NOW});
 * - a renewer that changes a state document leaves a change marker (`changes/<id>`), and a marked certificate is
 *   read again whatever its row says; the marker is removed only once the state that carried it was read;
 * - an inventory entry that changed (its config hash), a certificate with no row, and a missing or corrupt index
 *   all mean "read the state document" — an index lost or damaged costs one full pass, which rebuilds it;
 * - the rows are those of the inventory version recorded with them (its ETag): a pass that finds the inventory
 *   unchanged uses them without parsing or hashing the inventory again, and any other version (or rules of another
 *   release, or a record older than {@link MAX_INVENTORY_TRUST_MS}) is parsed and hashed in full.
 */

/** Every certificate is read at least this often, even when nothing says it is due: a bound on any mistake. */
export const MAX_LOOK_AT_MS = 30 * 24 * 60 * 60_000;

/** A row's `lookAt` that means "look now": nothing is known of the certificate for its current entry yet. */
export const LOOK_NOW = 0;

/**
 * Names what the rows recorded for an inventory version depend on besides its bytes: the validation rules and the
 * config hash. Change it with either, so an index written by another release is not trusted for an unchanged
 * inventory (the pass then parses and hashes it again).
 */
export const INVENTORY_RULES = 'inventory-rules-1';

/** An unchanged inventory is still parsed and hashed again at least this often (a bound on a forgotten rules bump). */
export const MAX_INVENTORY_TRUST_MS = 24 * 60 * 60_000;

/** The inventory version the rows were computed from, and what its parse found wrong (reported every pass). */
export interface InventoryRecord {
  /** The inventory object's ETag when it was parsed. */
  readonly etag: string;
  /** {@link INVENTORY_RULES} of the release that parsed it. */
  readonly rules: string;
  /** When it was last parsed and hashed in full. */
  readonly parsedAt: string;
  readonly problems: readonly ConfigProblem[];
}

/**
 * The stored index, one row per usable inventory certificate in inventory order, as parallel arrays: at 100,000
 * certificates about 10 MB of JSON that parses into a few flat arrays instead of 100,000 objects with repeated keys.
 * Version 3 added `notBefore`; versions 1 and 2 are still read (see {@link parseScheduleIndex}).
 */
export interface ScheduleIndex {
  readonly version: 3;
  readonly updatedAt: string;
  readonly inventory?: InventoryRecord;
  readonly ids: readonly string[];
  /** The inventory entry's hash (see `configHash`) the row's `lookAt` was decided for. */
  readonly hashes: readonly string[];
  /** Epoch milliseconds: the earliest time the state must be read again ({@link LOOK_NOW}: at once). */
  readonly lookAt: readonly number[];
  /** Epoch milliseconds of the current certificate's expiry, so a pass that skips it still knows the soonest. */
  readonly notAfter: readonly (number | null)[];
  /**
   * Epoch milliseconds of the current certificate's start of validity: with `notAfter` its lifetime, which scales
   * its days to expiry (see `expiry.ts`). `null` where unknown (no certificate, or a row carried over from a
   * version 2 index and not checked since): that row's days count unscaled.
   */
  readonly notBefore: readonly (number | null)[];
  /**
   * Epoch milliseconds: not before this may the CA's renewalInfo be asked again (its Retry-After, as the last
   * refresh learned it). A refresh that confirms the stored window records it here only, not in the state document.
   */
  readonly ariAt: readonly (number | null)[];
}

/** One certificate's row, as a pass reads it. */
export interface ScheduleIndexEntry {
  readonly configHash: string;
  /** Epoch milliseconds. */
  readonly lookAt: number;
  /** Epoch milliseconds, when a certificate was issued. */
  readonly notAfter?: number;
  /** Epoch milliseconds, when a certificate was issued and its row was written by version 3 or later. */
  readonly notBefore?: number;
  /** Epoch milliseconds: the next renewalInfo request the last refresh allowed. */
  readonly ariAt?: number;
}

/** An index that knows nothing: every certificate is read once, which rebuilds it. */
export function emptyScheduleIndex(now: Date): ScheduleIndex {
  return {
    version: 3,
    updatedAt: now.toISOString(),
    ids: [],
    hashes: [],
    lookAt: [],
    notAfter: [],
    notBefore: [],
    ariAt: [],
  };
}

const isoDate = z.iso.datetime({ offset: true });

/** The first stored form (one object per certificate), still read so an upgrade does not cost a full pass. */
const scheduleIndexV1Schema = z.object({
  version: z.literal(1),
  updatedAt: isoDate,
  entries: z.record(
    z.string(),
    z.object({
      configHash: z.string().check(z.minLength(1)),
      lookAt: isoDate,
      notAfter: z.optional(isoDate),
    }),
  ),
});

const problemSchema = z.object({ path: z.string(), message: z.string() });
const inventoryRecordSchema = z.object({
  etag: z.string().check(z.minLength(1)),
  rules: z.string(),
  parsedAt: isoDate,
  problems: z.array(problemSchema),
});

const isString = (v: unknown): v is string => typeof v === 'string';
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

const isTimeOrNull = (v: unknown): boolean => v === null || isTime(v);

/**
 * A light guard over the arrays (one `typeof` per value, no object per row): they are the bulk of the index.
 * `withNotBefore`: the column is stored (version 3); a version 2 index has none.
 */
function columnsOk(value: Record<string, unknown>, withNotBefore: boolean): boolean {
  const { ids, hashes, lookAt, notAfter, ariAt } = value;
  const columns = [ids, hashes, lookAt, notAfter, ariAt, ...(withNotBefore ? [value.notBefore] : [])];
  if (!columns.every(Array.isArray)) return false;
  const n = (ids as unknown[]).length;
  if (!columns.every((c) => (c as unknown[]).length === n)) return false;
  const [id, hash, look, expiry, ari, start] = columns as unknown[][];
  for (let i = 0; i < n; i++) {
    if (!isString(id![i]) || !isString(hash![i]) || !isTime(look![i])) return false;
    if (!isTimeOrNull(expiry![i]) || !isTimeOrNull(ari![i])) return false;
    if (start !== undefined && !isTimeOrNull(start[i])) return false;
  }
  return true;
}

/**
 * Reads a stored index; anything that is not one (missing, corrupt, an unknown version) gives `undefined`, which the
 * scheduler treats as an empty index: it reads every state document once and writes a new index. The first stored
 * form (version 1) is converted; it records no inventory version, so its first pass parses the inventory in full.
 * Versions 1 and 2 have no `notBefore`: their rows read as lifetimes unknown (days to expiry unscaled, as those
 * releases counted them) until a check writes the row again — no rebuild, which would read every state document.
 */
export function parseScheduleIndex(value: unknown): ScheduleIndex | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (record.version === 1) {
    const v1 = scheduleIndexV1Schema.safeParse(value);
    if (!v1.success) return undefined;
    const rows = Object.entries(v1.data.entries);
    return {
      version: 3,
      updatedAt: v1.data.updatedAt,
      ids: rows.map(([id]) => id),
      hashes: rows.map(([, e]) => e.configHash),
      lookAt: rows.map(([, e]) => Date.parse(e.lookAt)),
      notAfter: rows.map(([, e]) => (e.notAfter === undefined ? null : Date.parse(e.notAfter))),
      notBefore: rows.map(() => null),
      ariAt: rows.map(() => null),
    };
  }
  if (record.version !== 2 && record.version !== 3) return undefined;
  const withNotBefore = record.version === 3;
  if (!isString(record.updatedAt) || !columnsOk(record, withNotBefore)) return undefined;
  let inventory: InventoryRecord | undefined;
  if (record.inventory !== undefined) {
    const parsed = inventoryRecordSchema.safeParse(record.inventory);
    // A damaged record costs one full parse of the inventory, not the rows.
    inventory = parsed.success ? parsed.data : undefined;
  }
  const ids = record.ids as string[];
  return {
    version: 3,
    updatedAt: record.updatedAt,
    ...(inventory === undefined ? {} : { inventory }),
    ids,
    hashes: record.hashes as string[],
    lookAt: record.lookAt as number[],
    notAfter: record.notAfter as (number | null)[],
    notBefore: withNotBefore
      ? (record.notBefore as (number | null)[])
      : new Array<number | null>(ids.length).fill(null),
    ariAt: record.ariAt as (number | null)[],
  };
}

/** When the scheduler must look at a certificate again after deciding on it now. */
export function lookAtAfter(decision: RenewalDecision, now: Date): Date {
  const cap = now.getTime() + MAX_LOOK_AT_MS;
  if (decision.renew) return now;
  return new Date(Math.min(decision.nextCheckAt.getTime(), cap));
}

/** Why a certificate's state must be read in this pass; `undefined` when its entry says it can wait. */
export type CheckReason = 'unknown' | 'changed-entry' | 'marked' | 'due';

/**
 * Whether this pass must read a certificate's state document: no entry, another config hash, a renewer's change
 * marker, or a `lookAt` that falls before the next pass (the scheduler's lookahead).
 * @see RFC 9773 §4.2 "If the selected time is before the next time that the client would wake up normally, the
 *   client SHOULD attempt renewal immediately"
 */
export function mustCheck(input: {
  readonly entry: ScheduleIndexEntry | undefined;
  readonly configHash: string;
  readonly marked: boolean;
  readonly now: Date;
  readonly lookaheadMs: number;
}): CheckReason | undefined {
  const { entry } = input;
  if (entry === undefined) return 'unknown';
  if (entry.configHash !== input.configHash) return 'changed-entry';
  if (input.marked) return 'marked';
  if (entry.lookAt <= input.now.getTime() + input.lookaheadMs) return 'due';
  return undefined;
}

/**
 * The index after a pass, one row per certificate of `roster` in its order: a checked certificate's row replaced,
 * an unchecked one kept while its entry's hash is the same, and one whose entry changed (or that has no row yet)
 * set to look now — so even with an unchanged inventory the next pass reads it. Certificates no longer in the
 * inventory are dropped.
 */
export function nextScheduleIndex(
  previous: ScheduleIndex,
  checked: ReadonlyMap<string, ScheduleIndexEntry>,
  roster: { readonly ids: readonly string[]; readonly hashes: readonly string[] },
  now: Date,
  inventory: InventoryRecord | undefined,
  /** `previous`'s row numbers by id, when the caller already has them. */
  rows: ReadonlyMap<string, number> = rowsById(previous),
): ScheduleIndex {
  const n = roster.ids.length;
  const lookAt = new Array<number>(n);
  const notAfter = new Array<number | null>(n);
  const notBefore = new Array<number | null>(n);
  const ariAt = new Array<number | null>(n);
  // Read from the columns, not through an entry object per row: this runs over every certificate of the inventory.
  for (let i = 0; i < n; i++) {
    const hash = roster.hashes[i]!;
    const fresh = checked.get(roster.ids[i]!);
    const row = rows.get(roster.ids[i]!);
    if (fresh !== undefined && fresh.configHash === hash) {
      lookAt[i] = fresh.lookAt;
      notAfter[i] = fresh.notAfter ?? null;
      notBefore[i] = fresh.notBefore ?? null;
      ariAt[i] = fresh.ariAt ?? null;
    } else if (row !== undefined) {
      // The validity pair is the previous row's whatever the hash (same certificate); the times only for the same.
      const same = previous.hashes[row] === hash;
      lookAt[i] = same ? previous.lookAt[row]! : LOOK_NOW;
      notAfter[i] = previous.notAfter[row] ?? null;
      notBefore[i] = previous.notBefore[row] ?? null;
      ariAt[i] = same ? (previous.ariAt[row] ?? null) : null;
    } else {
      lookAt[i] = LOOK_NOW;
      notAfter[i] = null;
      notBefore[i] = null;
      ariAt[i] = null;
    }
  }
  return {
    version: 3,
    updatedAt: now.toISOString(),
    ...(inventory === undefined ? {} : { inventory }),
    ids: roster.ids,
    hashes: roster.hashes,
    lookAt,
    notAfter,
    notBefore,
    ariAt,
  };
}

/** Row numbers of an index by certificate id. */
export function rowsById(index: ScheduleIndex): Map<string, number> {
  const rows = new Map<string, number>();
  for (let i = 0; i < index.ids.length; i++) rows.set(index.ids[i]!, i);
  return rows;
}

function entryAt(index: ScheduleIndex, row: number): ScheduleIndexEntry {
  const notAfter = index.notAfter[row];
  const notBefore = index.notBefore[row];
  const ariAt = index.ariAt[row];
  return {
    configHash: index.hashes[row]!,
    lookAt: index.lookAt[row]!,
    ...(notAfter === null || notAfter === undefined ? {} : { notAfter }),
    ...(notBefore === null || notBefore === undefined ? {} : { notBefore }),
    ...(ariAt === null || ariAt === undefined ? {} : { ariAt }),
  };
}

/** A change marker a renewer left, with the version to remove once the state it announces has been read. */
export interface ChangeMarker {
  readonly id: string;
  readonly etag: string;
}

/** The inventory as the index store reads it: unchanged since a known version, or its value and version. */
export type InventoryRead =
  | { readonly unchanged: true }
  | { readonly unchanged?: false; readonly value: unknown; readonly etag?: string };

/** Where the index and the renewers' change markers live (S3 on AWS, memory in tests). */
export interface ScheduleIndexStore {
  /** The stored index and its version, or `undefined` when there is none (the raw value is parsed by the caller). */
  loadIndex(): Promise<{ readonly value: unknown; readonly etag: string } | undefined>;
  /** Writes the index unless another pass wrote it since `etag` (then the other pass's index is kept). */
  saveIndex(index: ScheduleIndex, etag: string | undefined): Promise<boolean>;
  /**
   * The inventory, or `{ unchanged: true }` when its version is still `knownEtag` (S3: a GET with `If-None-Match`,
   * answered 304 without a body). Absent: the pass reads the inventory from the certificate store every time.
   */
  readInventory?(knownEtag: string | undefined): Promise<InventoryRead>;
  /** The renewer's side: this certificate's state changed; the next pass reads it whatever the index says. */
  markChanged(id: string): Promise<void>;
  listChanged(): Promise<readonly ChangeMarker[]>;
  /** Removes a marker only if it is still the version that was listed (a newer one stays for the next pass). */
  clearChanged(marker: ChangeMarker): Promise<void>;
}

/** What a pass learned of one certificate it checked, as far as the index needs it. */
export interface IndexedCheck {
  readonly due: boolean;
  readonly failed: boolean;
  readonly nextCheckAt?: string;
  readonly notAfter?: string;
  /** The current certificate's start of validity (with `notAfter`: its lifetime). */
  readonly notBefore?: string;
  /** The next renewalInfo request the check's state allows (`ari.nextCheckAt`), when it has a window. */
  readonly ariNextCheckAt?: string;
}

/**
 * One scheduler pass over the index: which certificates can wait, what the checked ones taught, and at the end the
 * new index (written conditionally on the one read) and the change markers that were acted on (cleared at the
 * version listed). A failed check or a due certificate is looked at again next pass.
 */
export class IndexedPass {
  readonly #checked = new Map<string, ScheduleIndexEntry>();
  readonly #rows: ReadonlyMap<string, number>;

  private constructor(
    private readonly store: ScheduleIndexStore,
    private readonly index: ScheduleIndex,
    private readonly etag: string | undefined,
    private readonly markers: ReadonlyMap<string, ChangeMarker>,
    private readonly now: Date,
    private readonly lookaheadMs: number,
    /** True when the stored index was missing or unreadable: this pass rebuilds it. */
    readonly rebuilding: boolean,
  ) {
    this.#rows = rowsById(index);
  }

  /** Reads the index and the change markers; a missing or corrupt index starts empty (this pass rebuilds it). */
  static async open(store: ScheduleIndexStore, now: Date, lookaheadMs: number): Promise<IndexedPass> {
    const [loaded, markers] = await Promise.all([store.loadIndex(), store.listChanged()]);
    const index = parseScheduleIndex(loaded?.value);
    return new IndexedPass(
      store,
      index ?? emptyScheduleIndex(now),
      loaded?.etag,
      new Map(markers.map((m) => [m.id, m])),
      now,
      lookaheadMs,
      index === undefined,
    );
  }

  /**
   * The inventory version whose rows this index holds, when they can be used as they are: written under the same
   * {@link INVENTORY_RULES} and parsed in full less than {@link MAX_INVENTORY_TRUST_MS} ago.
   */
  get trustedInventory(): InventoryRecord | undefined {
    const record = this.index.inventory;
    if (record === undefined || record.rules !== INVENTORY_RULES) return undefined;
    const age = this.now.getTime() - Date.parse(record.parsedAt);
    return age >= 0 && age < MAX_INVENTORY_TRUST_MS ? record : undefined;
  }

  /** The certificates and their entries' hashes as this index holds them (for an unchanged inventory). */
  get roster(): { readonly ids: readonly string[]; readonly hashes: readonly string[] } {
    return { ids: this.index.ids, hashes: this.index.hashes };
  }

  /** The entry of a certificate that can wait for a later pass; `undefined` when it must be checked now. */
  waiting(id: string, configHash: string): ScheduleIndexEntry | undefined {
    const row = this.#rows.get(id);
    const entry = row === undefined ? undefined : entryAt(this.index, row);
    const reason = mustCheck({
      entry,
      configHash,
      marked: this.markers.has(id),
      now: this.now,
      lookaheadMs: this.lookaheadMs,
    });
    return reason === undefined ? entry : undefined;
  }

  /**
   * The next renewalInfo request the index knows of for a certificate whose state nothing changed since (same entry,
   * no renewer marker): the state document may hold an older one, since a confirmed window is not written back.
   */
  ariNotBefore(id: string, configHash: string): number | undefined {
    const row = this.#rows.get(id);
    if (row === undefined || this.markers.has(id) || this.index.hashes[row] !== configHash) return undefined;
    return this.index.ariAt[row] ?? undefined;
  }

  /** The row of a certificate whose stored entry hash is `configHash`, so a pass can reuse the row's strings. */
  rowWithHash(id: string, configHash: string): number | undefined {
    const row = this.#rows.get(id);
    return row !== undefined && this.index.hashes[row] === configHash ? row : undefined;
  }

  /** Records what checking a certificate taught. */
  record(id: string, configHash: string, check: IndexedCheck): void {
    const cap = this.now.getTime() + MAX_LOOK_AT_MS;
    const next = check.nextCheckAt === undefined ? this.now.getTime() : Date.parse(check.nextCheckAt);
    const lookAt = check.due || check.failed ? this.now.getTime() : Math.min(next, cap);
    const notAfter = check.notAfter === undefined ? Number.NaN : Date.parse(check.notAfter);
    const notBefore = check.notBefore === undefined ? Number.NaN : Date.parse(check.notBefore);
    const ariAt = check.ariNextCheckAt === undefined ? Number.NaN : Date.parse(check.ariNextCheckAt);
    this.#checked.set(id, {
      configHash,
      lookAt: Number.isFinite(lookAt) ? lookAt : this.now.getTime(),
      ...(Number.isFinite(notAfter) ? { notAfter } : {}),
      ...(Number.isFinite(notAfter) && Number.isFinite(notBefore) ? { notBefore } : {}),
      ...(Number.isFinite(ariAt) ? { ariAt } : {}),
    });
  }

  /**
   * Writes the new index for `roster` (the usable inventory certificates, in order) and `inventory` (the version
   * they came from), then clears the markers of the certificates this pass read. A pass that checked nothing over
   * an unchanged inventory writes nothing: the stored index already says all it learned.
   */
  async close(
    roster: { readonly ids: readonly string[]; readonly hashes: readonly string[] },
    inventory: InventoryRecord | undefined,
  ): Promise<void> {
    const unchanged =
      this.#checked.size === 0 && inventory !== undefined && inventory === this.index.inventory;
    if (!unchanged)
      await this.store.saveIndex(
        nextScheduleIndex(this.index, this.#checked, roster, this.now, inventory, this.#rows),
        this.etag,
      );
    if (this.markers.size === 0) return;
    const inInventory = new Set(roster.ids);
    for (const [id, marker] of this.markers) {
      // A marker for a certificate no longer in the inventory is cleared too: nothing will read its state again.
      if (this.#checked.has(id) || !inInventory.has(id)) await this.store.clearChanged(marker);
    }
  }
}
