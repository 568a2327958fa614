import {
  AcmeProblemError,
  type AcmeTransport,
  ensureAccount,
  issueCertificate,
  type ProblemDocument,
  RateLimitedError,
  selectChain,
} from '../acme';
import { certId, fetchRenewalInfo, selectRenewalTime } from '../ari';
import type { Clock, Random, Sleep } from '../clock';
import {
  type CaConfig,
  type CertificateConfig,
  caFor,
  type Inventory,
  parseInventoryLenient,
} from '../config/inventory';
import { AcmeAwsError, describeError } from '../errors';
import type { Fetch } from '../http';
import {
  createCsr,
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKeyPem,
  parseCertificate,
  splitPemChain,
  verifyIssuedCertificate,
} from '../pki';
import { ariState, decideFromState } from './check-certificate';
import { configHash } from './config-hash';
import type {
  CertificateImporter,
  CertificateStore,
  DnsChallengeProvider,
  DnsChangeHandle,
  EventPublisher,
  ImportResult,
  Lease,
  RenewalReason,
  SecretReader,
} from './ports';
import { type CertificateState, emptyState } from './state';

/** What the renewer needs from the outside world. */
export interface RenewerDeps {
  readonly store: CertificateStore;
  readonly lease: Lease;
  readonly dns: DnsChallengeProvider;
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
  readonly imports: readonly ImportResult[];
  readonly notes: readonly string[];
  readonly retryAfter?: string;
}

/** One renewal request as the renewer receives it. */
export interface RenewRequest {
  readonly id: string;
  readonly reason: RenewalReason;
  /** Renew even when the certificate is not due. */
  readonly force?: boolean;
  /** ACM region when the inventory entry names none (the deployment's region). */
  readonly defaultRegion?: string;
  /**
   * The scheduler's lookahead: a certificate due before the next scheduler run counts as due now, so the
   * renewer agrees with the scheduler that enqueued it (RFC 9773 §4.2).
   */
  readonly lookaheadMs?: number;
  /**
   * At most one forced order per certificate in this time; a forced request sooner is answered `limited` and
   * orders nothing (anyone who may send to the queue could otherwise exhaust the CA's duplicate-certificate
   * limit). 0 turns the limit off.
   * @default 1 hour
   */
  readonly forcedRenewalMinIntervalMs?: number;
}

/** Default of {@link RenewRequest.forcedRenewalMinIntervalMs}. */
export const FORCED_RENEWAL_MIN_INTERVAL_MS = 60 * 60_000;

/** A lease outlives the longest Lambda run (15 min), so a crashed holder frees it on its own. */
export const LEASE_TTL_MS = 16 * 60_000;

/** ACM regions for a certificate: those configured, or the deployment's own region. */
function regionsOf(config: CertificateConfig, defaultRegion: string | undefined): string[] {
  if (config.acmRegions.length > 0) return config.acmRegions;
  return defaultRegion ? [defaultRegion] : [];
}

async function importEverywhere(
  deps: RenewerDeps,
  config: CertificateConfig,
  state: CertificateState,
  regions: readonly string[],
): Promise<{ state: CertificateState; results: ImportResult[]; failures: string[] }> {
  const current = state.current;
  if (!current || regions.length === 0) return { state, results: [], failures: [] };
  const files = await deps.store.getCertificate(config.id);
  if (!files)
    throw new AcmeAwsError(
      'store-failed',
      `the PEM files of "${config.id}" are missing although its state names serial ${current.serial}`,
    );
  const acm = { ...state.acm };
  const retired = [...state.retiredAcmArns];
  const results: ImportResult[] = [];
  const failures: string[] = [];
  for (const region of regions) {
    const recorded = acm[region];
    if (recorded && recorded.serial === current.serial) continue;
    try {
      const result = await deps.importer.importCertificate({
        region,
        certificateId: config.id,
        files,
        serial: current.serial,
        keyType: current.keyType,
        arn: recorded?.arn,
        arnKeyType: recorded?.keyType,
        tags: config.tags,
      });
      results.push(result);
      acm[region] = { arn: result.arn, serial: current.serial, keyType: current.keyType };
      if (result.replacedArn)
        retired.push({ region, arn: result.replacedArn, retiredAt: deps.clock.now().toISOString() });
    } catch (error) {
      failures.push(`${region}: ${describeError(error)}`);
    }
  }
  return { state: { ...state, acm, retiredAcmArns: retired }, results, failures };
}

async function accountFor(deps: RenewerDeps, ca: CaConfig, transport: AcmeTransport) {
  const stored = await deps.store.getAccount(ca.directoryUrl);
  const eab = ca.eab
    ? { keyId: ca.eab.keyId, hmacKey: await deps.secrets.getSecret(ca.eab.hmacSecretArn) }
    : undefined;
  const account = await ensureAccount(transport, {
    stored: stored ? { privateJwk: stored.privateJwk, accountUrl: stored.accountUrl } : undefined,
    contact: ca.contact,
    eab,
  });
  if (stored) return account.client;
  const winner = await deps.store.putAccount({
    directoryUrl: ca.directoryUrl,
    accountUrl: account.record.accountUrl,
    privateJwk: account.record.privateJwk,
    createdAt: deps.clock.now().toISOString(),
  });
  if (winner.accountUrl === account.record.accountUrl) return account.client;
  // Another renewer stored its account first: use that one, so every certificate shares one account per CA.
  return (
    await ensureAccount(transport, {
      stored: { privateJwk: winner.privateJwk, accountUrl: winner.accountUrl },
    })
  ).client;
}

/** Subject and issuer common names of a chain's topmost certificate, for `preferredChain`. */
function issuerNames(pem: string): string[] {
  const top = splitPemChain(pem).at(-1);
  if (!top) return [];
  const parsed = parseCertificate(top);
  return [parsed.issuerCommonName, parsed.subjectCommonName].filter((n): n is string => n !== undefined);
}

/**
 * Renews one certificate: lease, order (resumed when one is in flight), dns-01 through the DNS port, finalize
 * with a fresh key, verify, store (PEMs first, state last), import into ACM in every region, refresh ARI,
 * publish the outcome. Failures are recorded in the state and rethrown, so the queue retries and then
 * dead-letters; a rate limit defers instead, with the CA's Retry-After recorded.
 */
export async function renewCertificate(deps: RenewerDeps, request: RenewRequest): Promise<RenewOutcome> {
  const { inventory, problems } = parseInventoryLenient(await deps.store.loadInventory());
  const config = inventory.certificates.find((c) => c.id === request.id);
  if (!config) {
    const mine = problems.filter((p) => p.path.startsWith('certificates'));
    const message = `certificate "${request.id}" is not a valid entry of the inventory${mine.length ? `: ${mine.map((p) => `${p.path}: ${p.message}`).join('; ')}` : ''}`;
    await deps.events.publish('Certificate Renewal Failed', {
      id: request.id,
      reason: request.reason,
      code: 'config-invalid',
      error: message,
    });
    return { id: request.id, result: 'skipped', reason: request.reason, imports: [], notes: [message] };
  }
  const now = deps.clock.now();
  const lease = await deps.lease.acquire(config.id, deps.owner, LEASE_TTL_MS, now);
  if (!lease) {
    deps.progress?.('lease_busy', { id: config.id });
    return {
      id: config.id,
      result: 'busy',
      reason: request.reason,
      imports: [],
      notes: ['another renewer holds the lease'],
    };
  }
  let state = (await deps.store.getState(config.id)) ?? emptyState(config.id);
  try {
    return await renewLeased(
      deps,
      inventory,
      config,
      request,
      () => state,
      (next) => {
        state = next;
      },
    );
  } catch (error) {
    const rateLimited = error instanceof RateLimitedError;
    const problem: ProblemDocument | undefined =
      error instanceof AcmeProblemError ? error.problem : undefined;
    const retryAfter = rateLimited
      ? (error.retryAfter ?? new Date(deps.clock.now().getTime() + 60 * 60_000)).toISOString()
      : undefined;
    state = {
      ...state,
      failures: state.failures + 1,
      lastAttemptAt: deps.clock.now().toISOString(),
      lastResult: rateLimited ? 'deferred' : 'failed',
      lastReason: request.reason,
      lastError: describeError(error),
      lastProblem: problem ? { ...problem } : undefined,
      retryAfter,
    };
    const recorded = await deps.store.putState(config.id, state).then(
      () => true,
      () => false,
    );
    // The pending key is a checkpoint only while an order in the stored state needs it; a failure before the
    // order was placed, or after the state moved on, would otherwise leave a private key nothing will ever use.
    // When the state could not be written, S3 may still name the order: keep the key so the retry resumes it.
    if (recorded && !state.pendingOrder) await deps.store.deletePendingKey(config.id).catch(() => {});
    await deps.events
      .publish('Certificate Renewal Failed', {
        id: config.id,
        domains: config.domains,
        reason: request.reason,
        code: error instanceof AcmeAwsError ? error.code : 'unknown',
        error: describeError(error),
        problem,
        failures: state.failures,
        retryAfter,
      })
      .catch(() => {});
    if (rateLimited) {
      return {
        id: config.id,
        result: 'deferred',
        reason: request.reason,
        imports: [],
        notes: [describeError(error)],
        retryAfter,
      };
    }
    throw error;
  } finally {
    await deps.lease.release(lease).catch(() => {});
  }
}

async function renewLeased(
  deps: RenewerDeps,
  inventory: Inventory,
  config: CertificateConfig,
  request: RenewRequest,
  getState: () => CertificateState,
  setState: (state: CertificateState) => void,
): Promise<RenewOutcome> {
  const save = async (next: CertificateState) => {
    setState(next);
    await deps.store.putState(config.id, next);
  };
  const now = deps.clock.now();
  let state = getState();
  const ca = caFor(inventory, config.ca);
  const hash = await configHash(config, ca);
  const regions = regionsOf(config, request.defaultRegion);
  const current = state.current;
  const decision = decideFromState(state, hash, new Date(now.getTime() + (request.lookaheadMs ?? 0)));
  const mustRenew = request.force === true || state.pendingOrder !== undefined || decision.renew;

  if (!mustRenew) {
    // A duplicate message, or a retry after an import failure: make ACM match the stored certificate, no order.
    const imported = await importEverywhere(deps, config, state, regions);
    if (imported.failures.length > 0) {
      if (imported.results.length > 0) await save(imported.state);
      throw new AcmeAwsError(
        'import-failed',
        `ACM import failed for "${config.id}": ${imported.failures.join('; ')}`,
      );
    }
    if (imported.results.length > 0) {
      // Every region now serves the current certificate: the earlier failure is over, say so.
      await save({
        ...imported.state,
        lastResult: 'imported',
        failures: 0,
        lastError: undefined,
        lastProblem: undefined,
        lastAttemptAt: deps.clock.now().toISOString(),
      });
      await deps.events.publish('Certificate Renewed', {
        id: config.id,
        domains: config.domains,
        reason: 'retry',
        importOnly: true,
        serial: current?.serial,
        notAfter: current?.notAfter,
        acm: Object.fromEntries(Object.entries(imported.state.acm).map(([region, v]) => [region, v.arn])),
      });
    }
    return {
      id: config.id,
      result: imported.results.length > 0 ? 'imported' : 'up-to-date',
      reason: 'not-yet',
      serial: current?.serial,
      notAfter: current?.notAfter,
      imports: imported.results,
      notes: [decision.explanation],
    };
  }

  const forcedOnly = request.force === true && state.pendingOrder === undefined && !decision.renew;
  if (forcedOnly) {
    const limit = request.forcedRenewalMinIntervalMs ?? FORCED_RENEWAL_MIN_INTERVAL_MS;
    const last = state.lastForcedAt === undefined ? undefined : Date.parse(state.lastForcedAt);
    if (limit > 0 && last !== undefined && now.getTime() - last < limit) {
      const next = new Date(last + limit).toISOString();
      deps.progress?.('forced_renewal_limited', { id: config.id, last_forced_at: state.lastForcedAt, next });
      return {
        id: config.id,
        result: 'limited',
        reason: request.reason,
        serial: current?.serial,
        notAfter: current?.notAfter,
        imports: [],
        notes: [
          `a forced order for "${config.id}" was placed at ${state.lastForcedAt}; the next is allowed from ${next} (forcedRenewalInterval)`,
        ],
      };
    }
    state = { ...state, lastForcedAt: now.toISOString() };
    await save(state);
  }

  const transport = deps.transport(ca.directoryUrl);
  const client = await accountFor(deps, ca, transport);
  const directory = await transport.directory();

  // Resume an order in flight only with the key its CSR would carry; otherwise start over.
  let pending = state.pendingOrder;
  let keyPem = pending ? await deps.store.getPendingKey(config.id) : undefined;
  if (pending && !keyPem) pending = undefined;
  if (pending?.dnsHandle) {
    // A crash between publishing and cleaning up left records behind: remove exactly those first.
    await deps.dns.cleanup(pending.dnsHandle as DnsChangeHandle).catch(() => {});
  }
  if (!keyPem) {
    const keys = await generateKeyPair(config.keyType);
    keyPem = await exportPrivateKeyPem(keys.privateKey);
    await deps.store.putPendingKey(config.id, keyPem);
  }
  const { keys } = await importPrivateKeyPem(keyPem);

  // RFC 9773 §5: replaces only names a certificate of this CA and account, and only when ARI is advertised.
  const replaces =
    current?.certId && current.directoryUrl === ca.directoryUrl && current.accountUrl === client.accountUrl
      ? current.certId
      : undefined;
  const reason: RenewalReason = request.force
    ? 'forced'
    : pending
      ? 'retry'
      : decision.renew
        ? decision.reason
        : request.reason;
  deps.progress?.('order_start', { id: config.id, reason, resume: pending?.url, replaces: replaces ?? null });

  const issued = await issueCertificate<DnsChangeHandle>({
    client,
    names: config.domains,
    csr: async () => (await createCsr({ keys, names: config.domains })).der,
    dns: {
      present: (records) => deps.dns.present(records, config),
      cleanup: (handle) => deps.dns.cleanup(handle),
    },
    poll: { clock: deps.clock, sleep: deps.sleep, timeoutMs: deps.pollTimeoutMs },
    replaces,
    profile: config.profile,
    resumeOrderUrl: pending?.url,
    onOrder: async (order) => {
      deps.progress?.('order_placed', { id: config.id, order: order.url, replaces: order.replaced ?? null });
      await save({
        ...getState(),
        pendingOrder: { url: order.url, createdAt: deps.clock.now().toISOString(), replaces: order.replaced },
      });
    },
    onDnsPresented: async (handle) => {
      const s = getState();
      if (s.pendingOrder) await save({ ...s, pendingOrder: { ...s.pendingOrder, dnsHandle: handle } });
    },
  });
  if (issued.replacesDropped)
    deps.progress?.('replaces_dropped', { id: config.id, why: issued.replacesDropped });

  // Never store or import what does not match its key, its names or a valid chain. When neither the CA (ARI)
  // nor the operator (changed, forced) asked for it, a certificate that expires sooner than the current one is
  // refused too: it is a sign of a broken CA, not a renewal.
  const caDirected = ['ari-window', 'changed', 'new', 'forced'].includes(reason);
  const fullchain = selectChain(issued.certificate, ca.preferredChain, issuerNames);
  const verified = await verifyIssuedCertificate({
    fullchainPem: fullchain,
    alternateChains: [issued.certificate.pem, ...issued.certificate.alternates],
    trustAnchors: ca.trustAnchors,
    caName: config.ca,
    privateKeyPem: keyPem,
    expectedNames: config.domains,
    now: deps.clock.now(),
    notExpiringBefore: current && !caDirected ? new Date(current.notAfter) : undefined,
  });
  const leaf = verified.leaf;
  await deps.store.putCertificate(config.id, {
    certPem: verified.certPem,
    chainPem: verified.chainPem,
    fullchainPem: verified.fullchainPem,
    privateKeyPem: keyPem,
  });
  const newCertId = leaf.authorityKeyId
    ? certId({ authorityKeyId: leaf.authorityKeyId, serialDer: leaf.serialDer })
    : undefined;
  const issuedAt = deps.clock.now();
  state = {
    ...getState(),
    configHash: hash,
    current: {
      serial: leaf.serialHex,
      notBefore: leaf.notBefore.toISOString(),
      notAfter: leaf.notAfter.toISOString(),
      domains: [...config.domains],
      keyType: config.keyType,
      issuer: leaf.issuer,
      directoryUrl: ca.directoryUrl,
      accountUrl: client.accountUrl,
      certId: newCertId,
      replaced: issued.replaced,
      issuedAt: issuedAt.toISOString(),
    },
    ari: undefined,
    ariError: undefined,
    ariRetryAt: undefined,
    pendingOrder: undefined,
    failures: 0,
    lastAttemptAt: issuedAt.toISOString(),
    lastResult: 'renewed',
    lastReason: reason,
    lastError: undefined,
    lastProblem: undefined,
    retryAfter: undefined,
    replacesDropped: issued.replacesDropped
      ? { at: issuedAt.toISOString(), reason: issued.replacesDropped }
      : getState().replacesDropped,
  };

  // ARI for the new certificate right away, so the next scheduler pass has its window (best effort).
  if (newCertId && directory.renewalInfo) {
    try {
      const { info, nextCheckAt } = await fetchRenewalInfo({
        fetch: deps.fetch,
        renewalInfoUrl: directory.renewalInfo,
        certId: newCertId,
        now: issuedAt,
      });
      state = {
        ...state,
        ari: ariState({
          certId: newCertId,
          info,
          selectedTime: selectRenewalTime({ window: info.window, random: deps.random }),
          nextCheckAt,
          checkedAt: issuedAt,
        }),
      };
    } catch (error) {
      state = { ...state, ariError: describeError(error) };
    }
  }
  await save(state);
  await deps.store.deletePendingKey(config.id).catch(() => {});
  deps.progress?.('certificate_stored', {
    id: config.id,
    serial: leaf.serialHex,
    not_after: leaf.notAfter.toISOString(),
  });

  const imported = await importEverywhere(deps, config, state, regions);
  await save(imported.state);
  if (imported.failures.length > 0) {
    throw new AcmeAwsError(
      'import-failed',
      `"${config.id}" was renewed and stored (serial ${leaf.serialHex}) but ACM import failed: ${imported.failures.join('; ')}; the retry re-imports from S3 without a new order`,
    );
  }
  await deps.events.publish('Certificate Renewed', {
    id: config.id,
    domains: config.domains,
    reason,
    serial: leaf.serialHex,
    notAfter: leaf.notAfter.toISOString(),
    replaced: issued.replaced ?? null,
    replacesDropped: issued.replacesDropped ?? null,
    acm: Object.fromEntries(Object.entries(imported.state.acm).map(([region, v]) => [region, v.arn])),
  });
  return {
    id: config.id,
    result: 'renewed',
    reason,
    serial: leaf.serialHex,
    notAfter: leaf.notAfter.toISOString(),
    orderUrl: issued.orderUrl,
    replaced: issued.replaced,
    replacesDropped: issued.replacesDropped,
    resumed: issued.resumed,
    imports: imported.results,
    notes: issued.notes,
  };
}
