import type { AcmeTransport } from '../../acme';
import type { Clock, Random, Sleep } from '../../clock';
import type { CertificateConfig, ResolvedCa } from '../../config/inventory';
import type { Fetch } from '../../http';
import type { RenewalPlanRequest } from '../plan-renewal';
import type {
  CertificateImporter,
  CertificateStore,
  DnsChallengeProvider,
  DnsPersistWriter,
  EventPublisher,
  ImportResult,
  Lease,
  RenewalReason,
  SecretReader,
} from '../ports';
import type { FailoverRecord } from '../state';
import type { StateRecord } from './state-record';

/** What the renewer needs from the outside world. */
export interface RenewerDeps {
  readonly store: CertificateStore;
  readonly lease: Lease;
  readonly dns: DnsChallengeProvider;
  /** The persist-record step (another principal): without it, dns-persist-01 certificates fall back to dns-01. */
  readonly persistRecords?: DnsPersistWriter;
  readonly importer: CertificateImporter;
  readonly events: EventPublisher;
  readonly secrets: SecretReader;
  /** One transport per directory URL, cached per container (the directory is fetched once). */
  readonly transport: (directoryUrl: string) => AcmeTransport;
  readonly fetch: Fetch;
  readonly clock: Clock;
  readonly sleep: Sleep;
  readonly random: Random;
  /** Identifies this worker in the lease (the Lambda request id). */
  readonly owner: string;
  /** Progress notes for the caller's logger; never receives key material. */
  readonly progress?: (event: string, fields: Record<string, unknown>) => void;
  /** Budget for polling the CA in one attempt; past it the order is resumed next time. */
  readonly pollTimeoutMs?: number;
}

/** One renewal request as the renewer receives it. */
export interface RenewRequest extends RenewalPlanRequest {
  readonly id: string;
  /** ACM region when the inventory entry names none (the deployment's region). */
  readonly defaultRegion?: string;
}

/** What one renewer invocation did. */
export interface RenewOutcome {
  readonly id: string;
  readonly result: 'renewed' | 'imported' | 'up-to-date' | 'deferred' | 'busy' | 'skipped' | 'limited';
  readonly reason: RenewalReason | 'not-yet';
  readonly serial?: string;
  readonly notAfter?: string;
  readonly orderUrl?: string;
  readonly replaced?: string;
  readonly replacesDropped?: string;
  readonly resumed?: boolean;
  /** Why the certificate was ordered without the inventory's profile (the CA does not advertise it). */
  readonly profileNote?: string;
  /** The kept order this attempt gave up on (it failed too often) before ordering anew. */
  readonly abandonedOrder?: string;
  readonly imports: readonly ImportResult[];
  readonly notes: readonly string[];
  readonly retryAfter?: string;
  /** The inventory name of the CA that issued the certificate (renewed only). */
  readonly issuedBy?: string;
  /** Set when a later CA of the certificate's list issued it (docs/failover.md). */
  readonly failover?: FailoverRecord;
}

/** Everything the steps of one leased renewal share. */
export interface RenewalContext {
  readonly deps: RenewerDeps;
  readonly config: CertificateConfig;
  /** The CA this part of the attempt orders from, with its trust anchors resolved. */
  readonly ca: ResolvedCa;
  /** Its inventory name: the entry's `ca`, or a later CA of its list after a failover. */
  readonly caName: string;
  /** Why this attempt orders from a later CA of the list; absent at the certificate's first CA. */
  readonly failover?: FailoverRecord;
  /** The inventory entry's hash now (recorded with the new certificate). */
  readonly configHash: string;
  readonly request: RenewRequest;
  /** The state document, every write conditional on what was read. */
  readonly record: StateRecord;
  /** ACM regions to import into. */
  readonly regions: readonly string[];
}

/** ACM ARN per region, as events report them. */
export function arnsByRegion(acm: Readonly<Record<string, { arn: string }>>): Record<string, string> {
  return Object.fromEntries(Object.entries(acm).map(([region, v]) => [region, v.arn]));
}
