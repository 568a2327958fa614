import type { Random } from '../clock';
import { mapLimit } from '../concurrency';
import {
  type CertificateConfig,
  type ConfigProblem,
  caFor,
  type Inventory,
  parseInventoryLenient,
} from '../config/inventory';
import { describeError } from '../errors';
import type { Fetch } from '../http';
import { checkCertificate } from './check-certificate';
import { configHash } from './config-hash';
import type { CertificateStore, RenewalQueue, RenewalReason, RenewalRequest } from './ports';
import { type CertificateState, emptyState } from './state';

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
}

/** The outcome for one certificate, for logs, metrics and `check`. */
export interface CertificateCheck {
  readonly id: string;
  readonly due: boolean;
  readonly reason: RenewalReason | 'not-yet' | 'deferred' | 'error';
  readonly explanation: string;
  readonly notAfter?: string;
  readonly daysToExpiry?: number;
  readonly renewAt?: string;
  readonly nextCheckAt?: string;
  readonly ariRequested: boolean;
  readonly ariError?: string;
}

/** The result of one scheduler pass. */
export interface SchedulerReport {
  readonly checks: readonly CertificateCheck[];
  readonly enqueued: readonly RenewalRequest[];
  readonly problems: readonly ConfigProblem[];
  readonly ariRequests: number;
  readonly ariErrors: number;
  /** The smallest days-to-expiry over all issued certificates; `undefined` when none is issued yet. */
  readonly minDaysToExpiry?: number;
}

const DAY_MS = 24 * 60 * 60_000;

function sameState(a: CertificateState, b: CertificateState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function checkOne(
  deps: SchedulerDeps,
  inventory: Inventory,
  config: CertificateConfig,
  dryRun: boolean,
): Promise<CertificateCheck> {
  const { now } = deps;
  const stored = await deps.store.getState(config.id);
  const state = stored ?? emptyState(config.id);
  if (state.retryAfter && new Date(state.retryAfter) > now) {
    return {
      id: config.id,
      due: false,
      reason: 'deferred',
      explanation: `the CA asked us to wait until ${state.retryAfter} (${state.lastError ?? 'rate limited'})`,
      notAfter: state.current?.notAfter,
      daysToExpiry: state.current ? (Date.parse(state.current.notAfter) - now.getTime()) / DAY_MS : undefined,
      ariRequested: false,
    };
  }
  const ca = caFor(inventory, config.ca);
  const hash = await configHash(config, ca);
  const issuingCa = state.current?.directoryUrl ?? ca.directoryUrl;
  let renewalInfoUrl: string | undefined;
  let directoryError: string | undefined;
  try {
    renewalInfoUrl = state.current ? await deps.renewalInfoUrl(issuingCa) : undefined;
  } catch (error) {
    directoryError = `the directory of ${issuingCa} could not be read: ${describeError(error)}`;
  }
  const result = await checkCertificate({
    state,
    configHash: hash,
    renewalInfoUrl,
    fetch: deps.fetch,
    now,
    random: deps.random,
    lookaheadMs: deps.lookaheadMs,
  });
  if (!dryRun && (!stored || !sameState(stored, result.state)))
    await deps.store.putState(config.id, result.state);
  const decision = result.decision;
  const current = result.state.current;
  return {
    id: config.id,
    due: decision.renew,
    reason: decision.reason,
    explanation: decision.explanation,
    notAfter: current?.notAfter,
    daysToExpiry: current ? (Date.parse(current.notAfter) - now.getTime()) / DAY_MS : undefined,
    renewAt: decision.renew ? undefined : decision.renewAt.toISOString(),
    nextCheckAt: decision.renew ? undefined : decision.nextCheckAt.toISOString(),
    ariRequested: result.ariRequested,
    ariError: result.ariError ?? directoryError,
  };
}

/**
 * One scheduler pass: read the inventory, refresh ARI where its Retry-After has passed, decide per certificate,
 * and enqueue the due ones. A bad inventory entry or one failing certificate never stops the others.
 */
export async function runScheduler(
  deps: SchedulerDeps,
  options: { dryRun?: boolean; only?: string } = {},
): Promise<SchedulerReport> {
  const { inventory, problems } = parseInventoryLenient(await deps.store.loadInventory());
  const certificates = inventory.certificates.filter(
    (c) => options.only === undefined || c.id === options.only,
  );
  const checks = await mapLimit(certificates, deps.concurrency ?? 10, async (config) => {
    try {
      return await checkOne(deps, inventory, config, options.dryRun === true);
    } catch (error) {
      return {
        id: config.id,
        due: false,
        reason: 'error' as const,
        explanation: `could not check: ${describeError(error)}`,
        ariRequested: false,
      };
    }
  });
  const enqueued: RenewalRequest[] = checks
    .filter((c) => c.due)
    .map((c) => ({ id: c.id, reason: c.reason as RenewalReason }));
  if (!options.dryRun && enqueued.length > 0) await deps.queue.enqueue(enqueued);
  const days = checks.map((c) => c.daysToExpiry).filter((d): d is number => d !== undefined);
  return {
    checks,
    enqueued,
    problems,
    ariRequests: checks.filter((c) => c.ariRequested).length,
    ariErrors: checks.filter((c) => c.ariError !== undefined).length,
    minDaysToExpiry: days.length > 0 ? Math.min(...days) : undefined,
  };
}
