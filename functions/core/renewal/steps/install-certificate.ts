import { type IssueResult, selectChain } from '../../acme';
import { certId } from '../../ari';
import { parseCertificate, splitPemChain, verifyIssuedCertificate } from '../../pki';
import { refreshAri } from '../check-certificate';
import type { CertificateState } from '../state';
import type { CaSession } from './ca-session';
import type { RenewalContext } from './context';
import { prepareImports } from './import-acm';
import { type IssuedBy, issuedByRecord } from './issued-by';
import type { OrderPlan, PreparedOrder } from './prepare-order';

/** What a stored certificate adds to the outcome. */
export interface Installed {
  readonly serial: string;
  readonly notAfter: string;
}

/** Subject and issuer common names of a chain's topmost certificate, for `preferredChain`. */
function issuerNames(pem: string): string[] {
  const top = splitPemChain(pem).at(-1);
  if (!top) return [];
  const parsed = parseCertificate(top);
  return [parsed.issuerCommonName, parsed.subjectCommonName].filter((n): n is string => n !== undefined);
}

/**
 * Verifies the issued certificate, stores its PEM files, then the state that names it (PEMs first, so a reader
 * never sees a state pointing at files that are not there), with the new certificate's ARI window fetched right
 * away (best effort, through the scheduler's own refresh, while the PEMs upload). The pending key is the caller's to
 * delete, now that no stored order needs it.
 * Never stores what does not match its key, its names or a valid chain; and, where the plan's rules say so, what
 * expires sooner than the current certificate.
 */
export async function installCertificate(
  ctx: RenewalContext,
  plan: OrderPlan,
  session: CaSession,
  prepared: PreparedOrder,
  issued: IssueResult,
  profileNote: string | undefined,
): Promise<Installed> {
  const { deps, config, ca, record } = ctx;
  const current = record.state.current;
  prepareImports(ctx, record.state);
  const { keyPem } = await prepared.key();
  const verified = await verifyIssuedCertificate({
    fullchainPem: selectChain(issued.certificate, ca.preferredChain, issuerNames),
    alternateChains: [issued.certificate.pem, ...issued.certificate.alternates],
    trustAnchors: ca.trustAnchors,
    caName: ctx.caName,
    privateKeyPem: keyPem,
    expectedNames: config.domains,
    now: deps.clock.now(),
    notExpiringBefore: current && plan.rules.notSoonerThanCurrent ? new Date(current.notAfter) : undefined,
  });
  const leaf = verified.leaf;
  const newCertId = leaf.authorityKeyId
    ? certId({ authorityKeyId: leaf.authorityKeyId, serialDer: leaf.serialDer })
    : undefined;
  const renewed = renewedState(ctx, plan, session, issued, profileNote, {
    serial: leaf.serialHex,
    notBefore: leaf.notBefore.toISOString(),
    notAfter: leaf.notAfter.toISOString(),
    issuer: leaf.issuer,
    ...(newCertId === undefined ? {} : { certId: newCertId }),
    issuedBy: issuedByRecord(ctx, session, leaf.authorityKeyId),
  });
  // The new certificate's ARI window is asked for while its PEM files are uploaded; the state waits for both.
  const renewalInfoUrl = session.directory.renewalInfo;
  const withAri =
    newCertId && renewalInfoUrl
      ? refreshAri({
          state: renewed,
          renewalInfoUrl,
          fetch: deps.fetch,
          now: deps.clock.now(),
          random: deps.random,
        }).catch(() => ({ state: renewed }))
      : Promise.resolve({ state: renewed });
  await deps.store.putCertificate(config.id, {
    certPem: verified.certPem,
    chainPem: verified.chainPem,
    fullchainPem: verified.fullchainPem,
    privateKeyPem: keyPem,
  });
  await record.save((await withAri).state);
  deps.progress?.('certificate_stored', {
    id: config.id,
    serial: leaf.serialHex,
    not_after: leaf.notAfter.toISOString(),
  });
  return { serial: leaf.serialHex, notAfter: leaf.notAfter.toISOString() };
}

/** The state naming the new certificate: the order is done, the failures are over, ARI starts afresh. */
function renewedState(
  ctx: RenewalContext,
  plan: OrderPlan,
  session: CaSession,
  issued: IssueResult,
  profileNote: string | undefined,
  leaf: {
    serial: string;
    notBefore: string;
    notAfter: string;
    issuer: string;
    certId?: string;
    issuedBy: IssuedBy;
  },
): CertificateState {
  const { deps, config, ca, record } = ctx;
  const issuedAt = deps.clock.now().toISOString();
  const state = record.state;
  return {
    ...state,
    configHash: ctx.configHash,
    current: {
      ...leaf,
      domains: [...config.domains],
      keyType: config.keyType,
      directoryUrl: ca.directoryUrl,
      accountUrl: session.client.accountUrl,
      replaced: issued.replaced,
      issuedAt,
    },
    validation: {
      methods: [...issued.validation.methods],
      fallbacks: [...issued.validation.fallbacks],
      at: issuedAt,
    },
    ari: undefined,
    ariError: undefined,
    ariRetryAt: undefined,
    pendingOrder: undefined,
    failures: 0,
    failingSince: undefined,
    lastAttemptAt: issuedAt,
    lastResult: 'renewed',
    lastReason: plan.reason,
    lastError: undefined,
    lastProblem: undefined,
    retryAfter: undefined,
    replacesDropped: issued.replacesDropped
      ? { at: issuedAt, reason: issued.replacesDropped }
      : state.replacesDropped,
    profileNote,
  };
}
