import * as z from 'zod';
import type { RenewalDecision } from '../ari';

/**
 * The schedule index: for each certificate, the inventory entry it was last checked for and the earliest time the
 * scheduler must look at it again, so a pass reads only the state documents that are due, changed or unknown — what
 * changed, not the inventory size.
 *
 * Why it can only ever be early, never late:
 * - an entry is written only by the scheduler, from a state document it has just read and decided on, and its
 *   `lookAt` is that decision's next check (the renewal time, the next ARI refresh, a deferral's end, whichever
 *   comes first), never later than {@link MAX_LOOK_AT_MS} ahead;
 * - a renewer that changes a state document leaves a change marker (`changes/<id>`), and a marked certificate is
 *   read again whatever its entry says; the marker is removed only once the state that carried it was read;
 * - an inventory entry that changed (its config hash), a certificate with no entry, and a missing or corrupt index
 *   all mean "read the state document" — an index lost or damaged costs one full pass, which rebuilds it.
 */

/** Every certificate is read at least this often, even when nothing says it is due: a bound on any mistake. */
export const MAX_LOOK_AT_MS = 30 * 24 * 60 * 60_000;

const isoDate = z.iso.datetime({ offset: true });

export const scheduleIndexEntrySchema = z.object({
  /** The inventory entry's hash when the state was last read (see `configHash`). */
  configHash: z.string().min(1),
  /** The earliest time the state must be read again. */
  lookAt: isoDate,
  /** The current certificate's expiry, so a pass that skips it still knows the soonest expiry (the alarm). */
  notAfter: isoDate.optional(),
});
export type ScheduleIndexEntry = z.infer<typeof scheduleIndexEntrySchema>;

export const scheduleIndexSchema = z.object({
  version: z.literal(1),
  updatedAt: isoDate,
  entries: z.record(z.string(), scheduleIndexEntrySchema),
});
export type ScheduleIndex = z.infer<typeof scheduleIndexSchema>;

/** An index that knows nothing: every certificate is read once, which rebuilds it. */
export function emptyScheduleIndex(now: Date): ScheduleIndex {
  return { version: 1, updatedAt: now.toISOString(), entries: {} };
}

/**
 * Reads a stored index; anything that is not one (missing, corrupt, another version) gives `undefined`, which the
 * scheduler treats as an empty index: it reads every state document once and writes a new index.
 */
export function parseScheduleIndex(value: unknown): ScheduleIndex | undefined {
  const parsed = scheduleIndexSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
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
  if (Date.parse(entry.lookAt) <= input.now.getTime() + input.lookaheadMs) return 'due';
  return undefined;
}

/**
 * The index after a pass: entries of checked certificates replaced, entries of certificates no longer in the
 * inventory dropped, every other entry kept as it was.
 */
export function nextScheduleIndex(
  previous: ScheduleIndex,
  checked: ReadonlyMap<string, ScheduleIndexEntry>,
  inventoryIds: readonly string[],
  now: Date,
): ScheduleIndex {
  const entries: Record<string, ScheduleIndexEntry> = {};
  for (const id of inventoryIds) {
    const entry = checked.get(id) ?? previous.entries[id];
    if (entry !== undefined) entries[id] = entry;
  }
  return { version: 1, updatedAt: now.toISOString(), entries };
}

/** A change marker a renewer left, with the version to remove once the state it announces has been read. */
export interface ChangeMarker {
  readonly id: string;
  readonly etag: string;
}

/** Where the index and the renewers' change markers live (S3 on AWS, memory in tests). */
export interface ScheduleIndexStore {
  /** The stored index and its version, or `undefined` when there is none (the raw value is parsed by the caller). */
  loadIndex(): Promise<{ readonly value: unknown; readonly etag: string } | undefined>;
  /** Writes the index unless another pass wrote it since `etag` (then the other pass's index is kept). */
  saveIndex(index: ScheduleIndex, etag: string | undefined): Promise<boolean>;
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
}

/**
 * One scheduler pass over the index: which certificates can wait, what the checked ones taught, and at the end the
 * new index (written conditionally on the one read) and the change markers that were acted on (cleared at the
 * version listed). A failed check or a due certificate is looked at again next pass.
 */
export class IndexedPass {
  readonly #checked = new Map<string, ScheduleIndexEntry>();

  private constructor(
    private readonly store: ScheduleIndexStore,
    private readonly index: ScheduleIndex,
    private readonly etag: string | undefined,
    private readonly markers: ReadonlyMap<string, ChangeMarker>,
    private readonly now: Date,
    private readonly lookaheadMs: number,
    /** True when the stored index was missing or unreadable: this pass rebuilds it. */
    readonly rebuilding: boolean,
  ) {}

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

  /** The entry of a certificate that can wait for a later pass; `undefined` when it must be checked now. */
  waiting(id: string, configHash: string): ScheduleIndexEntry | undefined {
    const entry = this.index.entries[id];
    const reason = mustCheck({
      entry,
      configHash,
      marked: this.markers.has(id),
      now: this.now,
      lookaheadMs: this.lookaheadMs,
    });
    return reason === undefined ? entry : undefined;
  }

  /** Records what checking a certificate taught. */
  record(id: string, configHash: string, check: IndexedCheck): void {
    const cap = this.now.getTime() + MAX_LOOK_AT_MS;
    const next = check.nextCheckAt === undefined ? this.now.getTime() : Date.parse(check.nextCheckAt);
    const lookAt = check.due || check.failed ? this.now : new Date(Math.min(next, cap));
    this.#checked.set(id, {
      configHash,
      lookAt: lookAt.toISOString(),
      ...(check.notAfter === undefined ? {} : { notAfter: check.notAfter }),
    });
  }

  /** Writes the new index, then clears the markers of the certificates this pass read. */
  async close(inventoryIds: readonly string[]): Promise<void> {
    const next = nextScheduleIndex(this.index, this.#checked, inventoryIds, this.now);
    await this.store.saveIndex(next, this.etag);
    for (const [id, marker] of this.markers) {
      // A marker for a certificate no longer in the inventory is cleared too: nothing will read its state again.
      if (this.#checked.has(id) || !inventoryIds.includes(id)) await this.store.clearChanged(marker);
    }
  }
}
