/**
 * In-memory implementations of the renewal ports (`functions/core/renewal/ports.ts`), plus a fixed clock, a
 * seeded random source, an instant sleep and a fake ARI server, so the use cases run in unit tests without AWS or a
 * CA. Each fake records what it was asked, so a test asserts what a user would notice (what was written, imported,
 * enqueued or published) rather than how the code got there.
 */
import { createHash } from 'node:crypto';
import type { Clock, Random, Sleep } from '../../functions/core/clock';
import { type EventDetail, type EventDetailType, parseEvent } from '../../functions/core/contracts/events';
import { AcmeAwsError } from '../../functions/core/errors';
import type { Fetch } from '../../functions/core/http';
import type {
  CertificateFiles,
  CertificateImporter,
  CertificateStore,
  DnsChallengeProvider,
  DnsChangeHandle,
  DnsTxtRecord,
  EventPublisher,
  ImportRequest,
  ImportResult,
  Lease,
  LeaseHandle,
  RenewalQueue,
  RenewalRequest,
  SecretReader,
  StoredAccount,
  VersionedState,
  ZoneHints,
} from '../../functions/core/renewal/ports';
import type {
  ChangeMarker,
  InventoryRead,
  ScheduleIndex,
  ScheduleIndexStore,
} from '../../functions/core/renewal/schedule-index';
import { type CertificateState, certificateStateSchema } from '../../functions/core/renewal/state';

/** One write to a {@link MemoryStore}: which operation on which certificate (never the content: keys stay out). */
export interface StoreWrite {
  /** `putState` is a state write that took place (a conditional write that lost is in `conflicts` instead). */
  readonly op: 'putState' | 'putCertificate' | 'putPendingKey' | 'deletePendingKey' | 'putAccount';
  readonly id: string;
  /** For `putState`: the serial the written state names as current, so tests see when a new one is recorded. */
  readonly serial?: string;
}

/**
 * A `CertificateStore` in memory. State documents go through JSON and the state schema on the way in and out, as
 * they do in S3, and carry an ETag: `putStateIf` succeeds only at the ETag read (or, with none, when there is no
 * document yet), as S3's `If-Match` / `If-None-Match: *` do. `writes` logs every write in order.
 */
export class MemoryStore implements CertificateStore {
  inventory: unknown;
  readonly states = new Map<string, string>();
  readonly etags = new Map<string, string>();
  readonly certificates = new Map<string, CertificateFiles>();
  readonly pendingKeys = new Map<string, string>();
  readonly accounts = new Map<string, StoredAccount>();
  readonly writes: StoreWrite[] = [];
  /** Conditional state writes that lost (`state-conflict`), in order. */
  readonly conflicts: Array<{ id: string; expected?: string; actual?: string }> = [];
  /** Certificate ids whose `getState` throws a `store-failed` error, to test that one failure stays local. */
  readonly failGetState = new Set<string>();
  /**
   * Called after each `readState` returned, before the caller continues: a test makes another writer act between
   * one writer's read and its write (the race the conditional write exists for).
   */
  afterReadState?: (id: string, read: VersionedState | undefined) => Promise<void> | void;
  #version = 0;

  constructor(inventory?: unknown) {
    this.inventory = inventory;
  }

  /** Puts a state document in place without logging a write (test setup); it gets a new ETag. */
  seedState(state: CertificateState): void {
    this.states.set(state.id, JSON.stringify(certificateStateSchema.parse(state)));
    this.etags.set(state.id, this.#nextEtag());
  }

  /** Puts PEM files in place without logging a write (test setup). */
  seedCertificate(id: string, files: CertificateFiles): void {
    this.certificates.set(id, { ...files });
  }

  /** The state as stored now, parsed; `undefined` when none. */
  state(id: string): CertificateState | undefined {
    const raw = this.states.get(id);
    return raw === undefined ? undefined : certificateStateSchema.parse(JSON.parse(raw));
  }

  async loadInventory(): Promise<unknown> {
    return this.inventory === undefined ? undefined : structuredClone(this.inventory);
  }

  async getState(id: string): Promise<CertificateState | undefined> {
    if (this.failGetState.has(id))
      throw new AcmeAwsError('store-failed', `reading the state of "${id}" failed`);
    return this.state(id);
  }

  async readState(id: string): Promise<VersionedState | undefined> {
    const state = await this.getState(id);
    const read = state === undefined ? undefined : { state, etag: this.etags.get(id)! };
    await this.afterReadState?.(id, read);
    return read;
  }

  async putStateIf(id: string, state: CertificateState, expectedEtag: string | undefined): Promise<string> {
    const actual = this.states.has(id) ? this.etags.get(id) : undefined;
    if (actual !== expectedEtag) {
      this.conflicts.push({
        id,
        ...(expectedEtag === undefined ? {} : { expected: expectedEtag }),
        ...(actual === undefined ? {} : { actual }),
      });
      throw new AcmeAwsError('state-conflict', `the state of "${id}" changed since it was read (fake)`);
    }
    // Parsed on write too: a use case that writes a document the next read would reject is a bug to surface here.
    this.states.set(id, JSON.stringify(certificateStateSchema.parse(JSON.parse(JSON.stringify(state)))));
    const etag = this.#nextEtag();
    this.etags.set(id, etag);
    this.writes.push({ op: 'putState', id, ...(state.current ? { serial: state.current.serial } : {}) });
    return etag;
  }

  #nextEtag(): string {
    this.#version += 1;
    return `"etag-${this.#version}"`;
  }

  async getCertificate(id: string): Promise<CertificateFiles | undefined> {
    const files = this.certificates.get(id);
    return files ? { ...files } : undefined;
  }

  async putCertificate(id: string, files: CertificateFiles): Promise<void> {
    this.certificates.set(id, { ...files });
    this.writes.push({ op: 'putCertificate', id });
  }

  async getPendingKey(id: string): Promise<string | undefined> {
    return this.pendingKeys.get(id);
  }

  async putPendingKey(id: string, privateKeyPem: string): Promise<void> {
    this.pendingKeys.set(id, privateKeyPem);
    this.writes.push({ op: 'putPendingKey', id });
  }

  async deletePendingKey(id: string): Promise<void> {
    this.pendingKeys.delete(id);
    this.writes.push({ op: 'deletePendingKey', id });
  }

  async getAccount(directoryUrl: string): Promise<StoredAccount | undefined> {
    const account = this.accounts.get(directoryUrl);
    return account ? structuredClone(account) : undefined;
  }

  async putAccount(account: StoredAccount): Promise<StoredAccount> {
    const existing = this.accounts.get(account.directoryUrl);
    if (existing) return structuredClone(existing);
    this.accounts.set(account.directoryUrl, structuredClone(account));
    this.writes.push({ op: 'putAccount', id: account.directoryUrl });
    return structuredClone(account);
  }
}

/** A `Lease` in memory: a live lease (not past `expiresAt`) blocks other owners; a stale one is taken over. */
export class MemoryLease implements Lease {
  readonly held = new Map<string, { owner: string; expiresAt: Date }>();
  readonly acquired: Array<{ id: string; owner: string; ttlMs: number }> = [];
  readonly released: LeaseHandle[] = [];

  async acquire(id: string, owner: string, ttlMs: number, now: Date): Promise<LeaseHandle | undefined> {
    const current = this.held.get(id);
    if (current && current.expiresAt.getTime() > now.getTime()) return undefined;
    const expiresAt = new Date(now.getTime() + ttlMs);
    this.held.set(id, { owner, expiresAt });
    this.acquired.push({ id, owner, ttlMs });
    return { id, owner, expiresAt };
  }

  async release(handle: LeaseHandle): Promise<void> {
    this.released.push(handle);
    // Only the holder frees it: a worker whose lease was taken over must not release the new holder's lease.
    if (this.held.get(handle.id)?.owner === handle.owner) this.held.delete(handle.id);
  }
}

/**
 * A `CertificateImporter` in memory, behaving like ACM import: re-import in place into the recorded ARN, a new
 * ARN when the key type changes, and `imported: false` when the ARN already holds the serial.
 */
export class MemoryImporter implements CertificateImporter {
  /** Every request, in order, including the ones that failed. */
  readonly requests: ImportRequest[] = [];
  /** Regions whose import throws an `import-failed` error. */
  readonly failRegions = new Set<string>();
  /** The serial each ARN holds now. */
  readonly serials = new Map<string, string>();
  #next = 1;

  async importCertificate(request: ImportRequest): Promise<ImportResult> {
    this.requests.push(request);
    if (this.failRegions.has(request.region)) {
      throw new AcmeAwsError('import-failed', `ACM in ${request.region} refused the import (fake)`);
    }
    const keyChanged = request.arn !== undefined && request.arnKeyType !== request.keyType;
    const arn =
      request.arn && !keyChanged
        ? request.arn
        : `arn:aws:acm:${request.region}:123456789012:certificate/${request.certificateId}-${this.#next++}`;
    const imported = this.serials.get(arn) !== request.serial;
    this.serials.set(arn, request.serial);
    return {
      region: request.region,
      arn,
      imported,
      ...(keyChanged && request.arn ? { replacedArn: request.arn } : {}),
    };
  }
}

/** A `RenewalQueue` in memory: `batches` as enqueued, `requests` flattened. */
export class MemoryQueue implements RenewalQueue {
  readonly batches: RenewalRequest[][] = [];
  fail = false;

  get requests(): RenewalRequest[] {
    return this.batches.flat();
  }

  async enqueue(requests: readonly RenewalRequest[]): Promise<void> {
    if (this.fail) throw new AcmeAwsError('queue-failed', 'the queue refused the batch (fake)');
    this.batches.push([...requests]);
  }
}

/** An `EventPublisher` in memory. */
export class MemoryEvents implements EventPublisher {
  readonly published: Array<{ detailType: string; detail: Record<string, unknown> }> = [];

  async publish<T extends EventDetailType>(detailType: T, detail: EventDetail<T>): Promise<void> {
    // The same check the EventBridge publisher makes: a fake must not accept what the real one refuses.
    parseEvent(detailType, detail);
    this.published.push({ detailType, detail: structuredClone(detail) as Record<string, unknown> });
  }
}

/** A `SecretReader` over a fixed map; an unknown ARN fails as the adapter does. */
export class MemorySecrets implements SecretReader {
  readonly reads: string[] = [];

  constructor(readonly secrets: Readonly<Record<string, string>> = {}) {}

  async getSecret(arn: string): Promise<string> {
    this.reads.push(arn);
    const value = this.secrets[arn];
    if (value === undefined)
      throw new AcmeAwsError('config-invalid', `Reading secret ${arn} failed: not found`);
    return value;
  }
}

/**
 * A `DnsChallengeProvider` in memory: one fake zone, TXT record sets keyed by name. Records `present` and `cleanup`
 * calls, and `records` shows what is published now, so a test can check cleanup removed exactly what was added.
 */
export class MemoryDns implements DnsChallengeProvider {
  readonly presented: Array<{ records: DnsTxtRecord[]; hints?: ZoneHints }> = [];
  readonly cleanedUp: DnsChangeHandle[] = [];
  readonly records = new Map<string, string[]>();

  async present(records: readonly DnsTxtRecord[], hints?: ZoneHints): Promise<DnsChangeHandle> {
    this.presented.push({ records: [...records], ...(hints ? { hints } : {}) });
    const byName = new Map<string, string[]>();
    for (const record of records) byName.set(record.name, [...(byName.get(record.name) ?? []), record.value]);
    for (const [name, values] of byName)
      this.records.set(name, [...(this.records.get(name) ?? []), ...values]);
    return {
      changes: [...byName].map(([name, values]) => ({ zoneId: 'ZFAKE', name, values })),
    };
  }

  async cleanup(handle: DnsChangeHandle): Promise<void> {
    this.cleanedUp.push(handle);
    for (const change of handle.changes) {
      const left = (this.records.get(change.name) ?? []).filter((v) => !change.values.includes(v));
      if (left.length > 0) this.records.set(change.name, left);
      else this.records.delete(change.name);
    }
  }
}

/** A `Clock` that stands still until the test moves it. */
export class FixedClock implements Clock {
  #now: Date;

  constructor(now: Date | string) {
    this.#now = new Date(now);
  }

  now(): Date {
    return new Date(this.#now);
  }

  advance(ms: number): void {
    this.#now = new Date(this.#now.getTime() + ms);
  }

  set(now: Date | string): void {
    this.#now = new Date(now);
  }
}

/** A deterministic `Random` (mulberry32): the same seed gives the same sequence in [0, 1). */
export function seededRandom(seed = 1): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A `Random` that always returns `value`: makes a drawn renewal time predictable (start + value × length). */
export function constantRandom(value: number): Random {
  return () => value;
}

/** A `Sleep` that returns at once and remembers how long it was asked to wait; moves `clock` when given. */
export function instantSleep(clock?: FixedClock): Sleep & { readonly calls: number[] } {
  const calls: number[] = [];
  const sleep = async (ms: number) => {
    calls.push(ms);
    clock?.advance(ms);
  };
  return Object.assign(sleep, { calls });
}

/** How the fake ARI server answers one certID. */
export type AriAnswer =
  | {
      readonly window: { readonly start: string; readonly end: string };
      readonly explanationURL?: string;
      /** @default '21600' (six hours) */
      readonly retryAfter?: string | null;
    }
  | { readonly status: number; readonly body?: unknown; readonly retryAfter?: string }
  | { readonly network: true };

/**
 * A CA's renewalInfo endpoint behind the `Fetch` port: answers `GET <base>/<certID>` from `answers`, 404 for an
 * unknown certID. Counts requests in flight (with `delayMs` to let them overlap) to check concurrency bounds.
 */
export class FakeAriServer {
  readonly answers = new Map<string, AriAnswer>();
  readonly requests: string[] = [];
  inFlight = 0;
  maxInFlight = 0;

  constructor(
    readonly baseUrl = 'https://ca.test/acme/renewal-info',
    readonly delayMs = 0,
  ) {}

  /** The certIDs asked for, in order. */
  get certIds(): string[] {
    return this.requests.map((url) => url.slice(url.lastIndexOf('/') + 1));
  }

  readonly fetch: Fetch = async (url) => {
    this.requests.push(url);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
      if (!url.startsWith(`${this.baseUrl}/`)) return new Response('not found', { status: 404 });
      const answer = this.answers.get(url.slice(this.baseUrl.length + 1));
      if (answer === undefined) return jsonResponse({ type: 'urn:ietf:params:acme:error:malformed' }, 404);
      if ('network' in answer) throw new TypeError('fetch failed: connect ECONNREFUSED (fake)');
      if ('status' in answer) {
        return jsonResponse(
          answer.body ?? { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'fake failure' },
          answer.status,
          answer.retryAfter === undefined ? {} : { 'retry-after': answer.retryAfter },
        );
      }
      const retryAfter = answer.retryAfter === undefined ? '21600' : answer.retryAfter;
      return jsonResponse(
        {
          suggestedWindow: answer.window,
          ...(answer.explanationURL ? { explanationURL: answer.explanationURL } : {}),
        },
        200,
        retryAfter === null ? {} : { 'retry-after': retryAfter },
      );
    } finally {
      this.inFlight--;
    }
  };
}

function jsonResponse(body: unknown, status: number, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/**
 * Test setup on any store (an operator's edit, as it were): writes `state` over what is stored, through the
 * conditional write every writer uses (read the ETag, then `If-Match`).
 */
export async function overwriteState(
  store: Pick<CertificateStore, 'readState' | 'putStateIf'>,
  id: string,
  state: CertificateState,
  /** Where to leave a change marker, as a renewer would. @default the one registered for this store, if any */
  marks: ChangeMarks | undefined = changeMarks.get(store),
): Promise<void> {
  const read = await store.readState(id);
  await store.putStateIf(id, state, read?.etag);
  // The next scheduler pass must read what the test wrote, not trust its schedule index.
  await marks?.markChanged(id);
}

type ChangeMarks = { markChanged(id: string): Promise<void> };
const changeMarks = new WeakMap<object, ChangeMarks>();

/** Ties a runtime's store to its schedule index, so {@link overwriteState} marks what it writes. */
export function registerChangeMarks(store: object, marks: ChangeMarks): void {
  changeMarks.set(store, marks);
}

/**
 * The schedule index and change markers in memory, with ETags, counting what a pass asks for. Given the store whose
 * inventory it reads (as the S3 adapter reads `inventory.json` with `If-None-Match`), it answers `unchanged` for the
 * version named, and counts the full reads in `inventoryReads`.
 */
export class MemoryScheduleIndex implements ScheduleIndexStore {
  stored: { value: unknown; etag: string } | undefined;
  readonly markers = new Map<string, string>();
  saves = 0;
  inventoryReads = 0;
  #versions = 0;
  readonly readInventory?: (knownEtag: string | undefined) => Promise<InventoryRead>;

  constructor(inventoryOf?: { readonly inventory: unknown }) {
    if (inventoryOf !== undefined)
      this.readInventory = async (knownEtag) => {
        const etag = `"${createHash('md5')
          .update(JSON.stringify(inventoryOf.inventory) ?? '')
          .digest('hex')}"`;
        if (knownEtag === etag) return { unchanged: true };
        this.inventoryReads += 1;
        return { value: structuredClone(inventoryOf.inventory), etag };
      };
  }

  async loadIndex() {
    return this.stored === undefined
      ? undefined
      : { value: structuredClone(this.stored.value), etag: this.stored.etag };
  }

  async saveIndex(index: ScheduleIndex, etag: string | undefined): Promise<boolean> {
    if (this.stored?.etag !== etag) return false;
    this.saves += 1;
    this.stored = { value: structuredClone(index), etag: `"index-${++this.#versions}"` };
    return true;
  }

  async markChanged(id: string): Promise<void> {
    this.markers.set(id, `"marker-${++this.#versions}"`);
  }

  async listChanged(): Promise<readonly ChangeMarker[]> {
    return [...this.markers].map(([id, etag]) => ({ id, etag }));
  }

  async clearChanged(marker: ChangeMarker): Promise<void> {
    if (this.markers.get(marker.id) === marker.etag) this.markers.delete(marker.id);
  }
}
