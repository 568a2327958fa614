import type { DnsTxtRecord } from '../acme/dns01';
import type { KeyType } from '../config/inventory';
import type { EventDetail, EventDetailType } from '../contracts/events';
import type { FirstImportRequest } from '../contracts/first-import';
import type { PersistRecordRequest, PersistRecordResponse } from '../contracts/persist-record';
import type { RenewalReason } from '../contracts/renewal-message';
import type { CertificateState } from './state';

/**
 * The small interfaces the renewal use cases are written against. AWS adapters implement them in
 * `functions/adapters`; tests use in-memory fakes. Adapters translate SDK errors into `AcmeAwsError`s.
 */

export type { DnsTxtRecord } from '../acme/dns01';

/** Per-certificate hints for zone discovery: explicit zone ids and cross-account roles, keyed by domain. */
export interface ZoneHints {
  readonly hostedZones?: Readonly<Record<string, string>>;
  readonly zoneRoleArns?: Readonly<Record<string, string>>;
}

/** Exactly what was added to DNS, so cleanup removes that and nothing else. Serializable (JSON). */
export interface DnsChangeHandle {
  readonly changes: ReadonlyArray<{
    readonly zoneId: string;
    readonly roleArn?: string;
    readonly name: string;
    readonly values: readonly string[];
  }>;
}

/** Publishes and removes dns-01 TXT records. */
export interface DnsChallengeProvider {
  /**
   * Starts finding where the records for these names will be written (zones, delegations, what is there now) while
   * the order is placed, so `present` finds it done. Optional; its failures are left for `present` to meet.
   */
  prepare?(names: readonly Pick<DnsTxtRecord, 'identifier' | 'name'>[], hints?: ZoneHints): void;
  /** Publishes all records (one change per zone) and resolves once the change is in sync. */
  present(records: readonly DnsTxtRecord[], hints?: ZoneHints): Promise<DnsChangeHandle>;
  /** Removes exactly the values in `handle`, leaving other values of the same record set in place. */
  cleanup(handle: DnsChangeHandle): Promise<void>;
}

/** One persistent TXT record to put in place: `name` carries `_validation-persist`, `issuerDomainName` starts `value`. */
export interface PersistentTxtRecord {
  /** The identifier the record proves, for zone hints: `example.com`. */
  readonly identifier: string;
  readonly name: string;
  readonly value: string;
  /** Values of this record set from other issuers are kept; ours is replaced. */
  readonly issuerDomainName: string;
}

/** Writes persistent TXT records (UPSERT only, one change per zone) and resolves once they are in sync. */
export interface PersistentTxtWriter {
  upsertPersistent(records: readonly PersistentTxtRecord[], hints?: ZoneHints): Promise<void>;
}

/** The renewer's way to the persist-record step, which runs as a principal allowed to write those records. */
export interface DnsPersistWriter {
  write(request: PersistRecordRequest): Promise<PersistRecordResponse>;
}

/** The PEM files of one certificate. */
export interface CertificateFiles {
  readonly certPem: string;
  readonly chainPem: string;
  readonly fullchainPem: string;
  readonly privateKeyPem: string;
}

/** An ACME account as stored: the private JWK and the account URL (the `kid`). */
export interface StoredAccount {
  readonly directoryUrl: string;
  readonly accountUrl: string;
  /** Private JWK. Never logged. */
  readonly privateJwk: Record<string, unknown>;
  readonly createdAt: string;
}

/** A state document with the version (S3 ETag) it was read at, for a conditional write after it. */
export interface VersionedState {
  readonly state: CertificateState;
  readonly etag: string;
}

/** Durable state: inventory, certificates, their state documents and ACME accounts. */
export interface CertificateStore {
  /** The raw inventory document, or `undefined` when none was uploaded. */
  loadInventory(): Promise<unknown>;
  /** The state document, for read-only callers (status, the demo); writers use {@link readState}. */
  getState(id: string): Promise<CertificateState | undefined>;
  /** The state document and the version it was read at, or `undefined` when there is none yet. */
  readState(id: string): Promise<VersionedState | undefined>;
  /**
   * Writes the state document only if it is still at `expectedEtag` (S3 `If-Match`), or, with `undefined`, only
   * if there is none yet (`If-None-Match: *`), so no writer overwrites what another wrote since it read. Written
   * last, after the PEM files, so a reader never sees a state that points at missing files.
   * @returns the ETag of the document written
   * @throws AcmeAwsError `state-conflict` when the document changed (or appeared, or went) since it was read
   */
  putStateIf(id: string, state: CertificateState, expectedEtag: string | undefined): Promise<string>;
  getCertificate(id: string): Promise<CertificateFiles | undefined>;
  putCertificate(id: string, files: CertificateFiles): Promise<void>;
  /** The private key generated for an order in flight, kept so an interrupted renewal can resume it. */
  getPendingKey(id: string): Promise<string | undefined>;
  putPendingKey(id: string, privateKeyPem: string): Promise<void>;
  deletePendingKey(id: string): Promise<void>;
  getAccount(directoryUrl: string): Promise<StoredAccount | undefined>;
  /** Stores a new account unless one exists already; returns the one that is stored (the first writer wins). */
  putAccount(account: StoredAccount): Promise<StoredAccount>;
}

/** A held lease; pass it back to release. */
export interface LeaseHandle {
  readonly id: string;
  readonly owner: string;
  readonly expiresAt: Date;
  /** The version the holder wrote (an S3 ETag), when known: release is then conditional on it, with no read. */
  readonly version?: string;
}

/** Mutual exclusion per certificate, so two renewers never work on one certificate. */
export interface Lease {
  /** Takes the lease, or returns `undefined` when another live holder has it. A stale lease is taken over. */
  acquire(id: string, owner: string, ttlMs: number, now: Date): Promise<LeaseHandle | undefined>;
  release(handle: LeaseHandle): Promise<void>;
}

/** What to import into ACM in one region. */
export interface ImportRequest {
  readonly region: string;
  readonly certificateId: string;
  readonly files: CertificateFiles;
  readonly serial: string;
  readonly keyType: KeyType;
  /** The ARN recorded for this region; re-imported in place when present. */
  readonly arn?: string;
  /** The key type of the certificate behind `arn`; a different key type gets a new ARN. */
  readonly arnKeyType?: KeyType;
  readonly tags: Readonly<Record<string, string>>;
}

export interface ImportResult {
  readonly region: string;
  readonly arn: string;
  /** False when ACM already held this serial and nothing was imported. */
  readonly imported: boolean;
  /** The ARN left behind when the key type changed. */
  readonly replacedArn?: string;
}

/** Imports certificates into ACM. */
export interface CertificateImporter {
  importCertificate(request: ImportRequest): Promise<ImportResult>;
  /**
   * Starts reading what the recorded ARN holds now (best effort), for the `importCertificate` of the same region
   * and ARN that follows shortly: the new certificate's files are stored meanwhile.
   */
  prepare?(target: { readonly region: string; readonly arn: string }): void;
}

export type { FirstImportRequest } from '../contracts/first-import';

/**
 * Creates new ACM certificates, tagged as this deployment's. It is a port of its own because tagging is the one
 * ACM permission IAM cannot limit to our own certificates: on AWS it runs as a separate function whose code only
 * ever creates, so the renewer holds no tagging permission at all (docs/security.md).
 */
export interface FirstImporter {
  importNew(request: FirstImportRequest): Promise<ImportResult>;
}

/** Why a certificate is being renewed (see `decideRenewal` and the renewal message contract). */
export type { RenewalReason } from '../contracts/renewal-message';

/** One unit of work for the renewer. */
export interface RenewalRequest {
  readonly id: string;
  readonly reason: RenewalReason;
}

export interface RenewalQueue {
  enqueue(requests: readonly RenewalRequest[]): Promise<void>;
}

/** Outcome events (EventBridge), so operators can route success and failure anywhere (contracts/events.ts). */
export interface EventPublisher {
  publish<T extends EventDetailType>(detailType: T, detail: EventDetail<T>): Promise<void>;
}

/** Reads secrets (the EAB HMAC key) by ARN. */
export interface SecretReader {
  getSecret(arn: string): Promise<string>;
}
