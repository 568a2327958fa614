import type { CertificateConfig } from '../config/inventory';
import { caFor } from '../config/inventory';
import { AcmeAwsError } from '../errors';
import { RENEWER_LEASE_TTL_MS } from '../time-budget';
import { configHash } from './config-hash';
import { planRenewal, type RenewalPlan } from './plan-renewal';
import { openCaSession, profileFor } from './steps/ca-session';
import {
  arnsByRegion,
  type RenewalContext,
  type RenewerDeps,
  type RenewOutcome,
  type RenewRequest,
} from './steps/context';
import { findEntry } from './steps/find-entry';
import { importEverywhere, importOnly } from './steps/import-acm';
import { installCertificate } from './steps/install-certificate';
import { obtainCertificate } from './steps/obtain-certificate';
import { type OrderPlan, prepareOrder } from './steps/prepare-order';
import { recordFailure } from './steps/record-failure';
import { StateRecord } from './steps/state-record';

export { FORCED_RENEWAL_MIN_INTERVAL_MS } from './plan-renewal';
export type { RenewerDeps, RenewOutcome, RenewRequest } from './steps/context';

/** A lease outlives the longest Lambda run (15 min), so a crashed holder frees it on its own. */
export const LEASE_TTL_MS = RENEWER_LEASE_TTL_MS;

/** ACM regions for a certificate: those configured, or the deployment's own region. */
function regionsOf(config: CertificateConfig, defaultRegion: string | undefined): string[] {
  if (config.acmRegions.length > 0) return config.acmRegions;
  return defaultRegion ? [defaultRegion] : [];
}

/**
 * Renews one certificate: lease, read the state, plan (pure), then the plan's steps — import only, refuse a
 * forced order past its limit, or order (resumed when one is in flight), dns-01, finalize with a fresh key,
 * verify, store (PEMs first, state last), import into ACM in every region, refresh ARI, publish. Every state
 * write is conditional on what was read. Failures are recorded in the state and rethrown, so the queue retries
 * and then dead-letters; a rate limit defers instead, with the CA's Retry-After recorded.
 */
export async function renewCertificate(deps: RenewerDeps, request: RenewRequest): Promise<RenewOutcome> {
  const entry = await findEntry(deps, request);
  if ('outcome' in entry) return entry.outcome;
  const { inventory, config } = entry;
  const lease = await deps.lease.acquire(config.id, deps.owner, LEASE_TTL_MS, deps.clock.now());
  if (!lease) {
    deps.progress?.('lease_busy', { id: config.id });
    const notes = ['another renewer holds the lease'];
    return { id: config.id, result: 'busy', reason: request.reason, imports: [], notes };
  }
  try {
    const ca = caFor(inventory, config.ca);
    const ctx: RenewalContext = {
      deps,
      config,
      ca,
      configHash: await configHash(config, ca),
      request,
      record: await StateRecord.open(deps.store, config.id),
      regions: regionsOf(config, request.defaultRegion),
    };
    return await renewLeased(ctx).catch((error: unknown) => recordFailure(ctx, error));
  } finally {
    await deps.lease.release(lease).catch(() => {});
  }
}

/** Plans from the state as read, and runs the plan. */
async function renewLeased(ctx: RenewalContext): Promise<RenewOutcome> {
  const { deps, config, request, record } = ctx;
  const plan = planRenewal({
    state: record.state,
    configHash: ctx.configHash,
    request,
    now: deps.clock.now(),
  });
  deps.progress?.('renewal_planned', {
    id: config.id,
    action: plan.action,
    reason: plan.reason,
    why: plan.why,
  });
  if (plan.action === 'import-only') return importOnly(ctx, plan.why);
  if (plan.action === 'limited') return limited(ctx, plan);
  return orderAndInstall(ctx, plan);
}

/** A forced request before the forced-order limit allows another: nothing is ordered or written. */
function limited(ctx: RenewalContext, plan: Extract<RenewalPlan, { action: 'limited' }>): RenewOutcome {
  const { deps, config, record } = ctx;
  const current = record.state.current;
  deps.progress?.('forced_renewal_limited', {
    id: config.id,
    last_forced_at: record.state.lastForcedAt,
    next: plan.nextAllowedAt,
  });
  return {
    id: config.id,
    result: 'limited',
    reason: plan.reason,
    serial: current?.serial,
    notAfter: current?.notAfter,
    imports: [],
    notes: [plan.why],
  };
}

/** Orders (or resumes), installs the certificate, imports it into ACM and announces it. */
async function orderAndInstall(ctx: RenewalContext, plan: OrderPlan): Promise<RenewOutcome> {
  const { deps, config, record } = ctx;
  if (plan.recordForcedAt)
    await record.save({ ...record.state, lastForcedAt: deps.clock.now().toISOString() });
  const session = await openCaSession(deps, ctx.ca);
  const prepared = await prepareOrder(ctx, plan);
  const profile = profileFor(config.profile, session.directory);
  if (profile.note) deps.progress?.('profile_dropped', { id: config.id, note: profile.note });
  const issued = await obtainCertificate(ctx, plan, session, prepared, profile.profile);
  if (issued.replacesDropped)
    deps.progress?.('replaces_dropped', { id: config.id, why: issued.replacesDropped });
  const installed = await installCertificate(ctx, plan, session, prepared, issued, profile.note);

  const imported = await importEverywhere(ctx, record.state);
  await record.save(imported.state);
  if (imported.failures.length > 0) {
    throw new AcmeAwsError(
      'import-failed',
      `"${config.id}" was renewed and stored (serial ${installed.serial}) but ACM import failed: ${imported.failures.join('; ')}; the retry re-imports from S3 without a new order`,
    );
  }
  const abandonedOrder = plan.abandon?.url;
  await deps.events.publish('Certificate Renewed', {
    id: config.id,
    domains: config.domains,
    reason: plan.reason,
    serial: installed.serial,
    notAfter: installed.notAfter,
    replaced: issued.replaced ?? null,
    replacesDropped: issued.replacesDropped ?? null,
    profileNote: profile.note ?? null,
    abandonedOrder: abandonedOrder ?? null,
    acm: arnsByRegion(imported.state.acm),
  });
  const notes = [
    ...(profile.note ? [profile.note] : []),
    ...issued.notes,
    ...(plan.abandon ? [plan.why] : []),
  ];
  return {
    id: config.id,
    result: 'renewed',
    reason: plan.reason,
    serial: installed.serial,
    notAfter: installed.notAfter,
    orderUrl: issued.orderUrl,
    replaced: issued.replaced,
    replacesDropped: issued.replacesDropped,
    resumed: issued.resumed,
    ...(profile.note ? { profileNote: profile.note } : {}),
    ...(abandonedOrder ? { abandonedOrder } : {}),
    imports: imported.results,
    notes,
  };
}
