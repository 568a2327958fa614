import { type Early, early } from '../concurrency';
import { AcmeAwsError } from '../errors';
import {
  failedAuthorization,
  getAuthorization,
  respondToChallenge,
  waitForAuthorization,
} from './authorization';
import { type DownloadedCertificate, downloadCertificate } from './certificate';
import type { AcmeClient } from './client';
import { baseDomain, type ChallengeType, chooseChallenge } from './dns-persist';
import { type DnsTxtRecord, dns01Record } from './dns01';
import { thumbprint } from './jws';
import { finalizeOrder, getOrder, type Order, type PlacedOrder, placeOrder, waitForOrder } from './order';
import type { PollOptions } from './poll';
import { AcmeProblemError } from './problem';

/** Publishes and removes dns-01 TXT records; the handle describes exactly what was added. */
export interface Dns01Solver<H> {
  present(records: readonly DnsTxtRecord[]): Promise<H>;
  cleanup(handle: H): Promise<void>;
}

/** What a dns-persist-01 authorization needs in DNS: one persistent record per base domain. */
export interface DnsPersistWanted {
  readonly domain: string;
  readonly issuerDomainName: string;
  /** A wildcard of the domain is ordered too: the record must carry `policy=wildcard`. */
  readonly wildcard: boolean;
}

/** Makes sure persistent records are in place (written only when missing or stale) before the CA looks. */
export interface DnsPersistSolver {
  ensure(wanted: readonly DnsPersistWanted[]): Promise<void>;
}

/** Input of one issuance: an order placed (or resumed), proven with dns-01, finalized and downloaded. */
export interface IssueInput<H> {
  readonly client: AcmeClient;
  readonly names: readonly string[];
  /**
   * DER CSR for the names; called at most once: as soon as every challenge is answered, so the CSR is made while
   * the authorizations validate, or when a ready order is finalized.
   */
  readonly csr: () => Promise<Uint8Array>;
  readonly dns: Dns01Solver<H>;
  /**
   * The challenge to answer where the CA offers it; dns-01 is the fallback (draft-ietf-acme-dns-persist).
   * @default 'dns-01'
   */
  readonly challenge?: ChallengeType;
  /** Required for `challenge: 'dns-persist-01'`; without it every authorization falls back to dns-01. */
  readonly persist?: DnsPersistSolver;
  /** With dns-persist-01: whether dns-01 may stand in where the CA does not offer it. @default true */
  readonly dns01Fallback?: boolean;
  readonly poll: PollOptions;
  /** CertID of the certificate this one replaces (RFC 9773 §5); sent only when the CA advertises ARI. */
  readonly replaces?: string;
  readonly profile?: string;
  /** An order placed by an earlier, interrupted attempt: resumed when still usable. */
  readonly resumeOrderUrl?: string;
  /** Checkpoint: called once the order exists, before any DNS change, so a crash can resume it. */
  readonly onOrder?: (order: { url: string; replaced?: string }) => Promise<void>;
  /** Checkpoint: called with the DNS handle right after publishing, so a crash can still clean up. */
  readonly onDnsPresented?: (handle: H) => Promise<void>;
}

/** What an issuance produced, with the reasons behind any change of plan. */
export interface IssueResult {
  readonly orderUrl: string;
  readonly certificate: DownloadedCertificate;
  readonly resumed: boolean;
  /** The CertID sent in `replaces`, when the CA accepted the replacement order. */
  readonly replaced?: string;
  /** Why `replaces` was dropped, when the CA rejected the replacement order. */
  readonly replacesDropped?: string;
  /** The challenge types answered (none when every authorization was already valid), and why dns-01 was used. */
  readonly validation: Validation;
  readonly notes: readonly string[];
}

/** How an order's authorizations were proven. */
export interface Validation {
  readonly methods: readonly ChallengeType[];
  readonly fallbacks: readonly string[];
}

async function resume(client: AcmeClient, url: string, notes: string[]): Promise<PlacedOrder | undefined> {
  try {
    const order = await getOrder(client, url);
    if (order.status === 'invalid') {
      notes.push(
        `the interrupted order ${url} is invalid (${order.error?.detail ?? 'no detail'}); placing a new one`,
      );
      return undefined;
    }
    return { url, order };
  } catch (error) {
    if (error instanceof AcmeProblemError && (error.status === 404 || error.acmeType === 'malformed')) {
      notes.push(`the interrupted order ${url} is gone; placing a new one`);
      return undefined;
    }
    throw error;
  }
}

interface Pending {
  readonly url: string;
  readonly challengeUrl: string;
}

/** Chooses a challenge per pending authorization: dns-01 TXT records to publish, persistent records to ensure. */
async function collect<H>(input: IssueInput<H>, order: Order) {
  const key = await thumbprint(input.client.key);
  const wanted = input.persist ? (input.challenge ?? 'dns-01') : 'dns-01';
  const dns01: Array<Pending & { record: DnsTxtRecord }> = [];
  const persist: Array<Pending & { wanted: DnsPersistWanted }> = [];
  const fallbacks: string[] = [];
  if (!input.persist && input.challenge === 'dns-persist-01') {
    if (input.dns01Fallback === false) {
      throw new AcmeAwsError(
        'config-invalid',
        'dns-persist-01 is asked for without dns-01 fallback, but this runtime has no persist-record step to write its records',
      );
    }
    fallbacks.push('no dns-persist-01 writer is configured');
  }
  // Fetched at once: the answers are independent, and the order of the lists below stays the order's own.
  const authzs = await Promise.all(
    order.authorizations.map((url) =>
      getAuthorization(input.client, input.client.transport.checkUrl(url, 'authorization URL')),
    ),
  );
  for (const [i, authz] of authzs.entries()) {
    const url = order.authorizations[i]!;
    if (authz.status === 'valid') continue;
    if (authz.status !== 'pending') {
      throw new AcmeAwsError(
        'acme-protocol',
        `the authorization for ${authz.identifier.value} is ${authz.status}; the order cannot complete`,
      );
    }
    const choice = chooseChallenge(authz, wanted, input.dns01Fallback ?? true);
    const challengeUrl = input.client.transport.checkUrl(choice.challenge.url, 'challenge URL');
    if (choice.type === 'dns-persist-01') {
      const domain = baseDomain(authz.identifier.value);
      const wildcard = input.names.some((n) => n.startsWith('*.') && baseDomain(n) === domain);
      persist.push({
        url,
        challengeUrl,
        wanted: { domain, issuerDomainName: choice.issuerDomainName, wildcard },
      });
      continue;
    }
    if (choice.fallback) fallbacks.push(choice.fallback);
    const record = await dns01Record({
      domain: authz.identifier.value,
      wildcard: authz.wildcard === true,
      token: choice.challenge.token,
      thumbprint: key,
    });
    dns01.push({ url, challengeUrl, record });
  }
  return { dns01, persist, fallbacks };
}

/**
 * Answers every challenge at once, then waits until the CA has validated them. The last batch waits on the order:
 * it leaves "pending" exactly when every authorization is valid (RFC 8555 §7.1.6), so one request per poll answers
 * for every name. A batch that another follows (dns-persist-01 ones before dns-01 ones are published) waits on its
 * own authorizations: the first polled until valid (each poll at its Retry-After), then the others at once, which the
 * CA validated meanwhile.
 */
async function answerAndWait(
  input: Pick<IssueInput<unknown>, 'client' | 'poll'>,
  pending: readonly Pending[],
  whileValidating: () => void,
  orderUrl: string | undefined,
): Promise<Order | undefined> {
  await Promise.all(pending.map((p) => respondToChallenge(input.client, p.challengeUrl)));
  whileValidating();
  if (orderUrl !== undefined) {
    return waitForOrder(input.client, orderUrl, ['ready', 'processing', 'valid'], input.poll, () =>
      failedAuthorization(
        input.client,
        pending.map((p) => p.url),
      ),
    );
  }
  const [first, ...rest] = pending;
  if (first) await waitForAuthorization(input.client, first.url, input.poll);
  await allOrFirstError(rest.map((p) => waitForAuthorization(input.client, p.url, input.poll)));
  return undefined;
}

/** How control was proven, the order once it was, and the dns-01 cleanup still running (it settles, never rejects). */
interface Authorized {
  readonly validation: Validation;
  readonly proven: Order | undefined;
  readonly removed: Promise<{ error?: unknown }>;
}

const NOTHING_TO_REMOVE: Promise<{ error?: unknown }> = Promise.resolve({});

/**
 * Proves control of every pending authorization: persistent records ensured (no DNS change when they are in
 * place), dns-01 values published in one publication and always removed again. Once every authorization is valid
 * the removal runs on while the order is finalized; on a failure it is awaited before the error goes on.
 */
async function authorize<H>(
  input: IssueInput<H>,
  { url, order }: PlacedOrder,
  checkpoint: Early<void>,
  whileValidating: () => void,
): Promise<Authorized> {
  // The order's checkpoint is written while its authorizations are read; it must exist before any DNS change.
  const [collected] = await Promise.all([collect(input, order), checkpoint.get()]);
  const { dns01, persist, fallbacks } = collected;
  const methods: ChallengeType[] = [];
  if (persist.length > 0) {
    methods.push('dns-persist-01');
    const byDomain = new Map(
      persist.map((p) => [`${p.wanted.domain} ${p.wanted.issuerDomainName}`, p.wanted]),
    );
    await input.persist?.ensure([...byDomain.values()]);
    const proven = await answerAndWait(input, persist, whileValidating, dns01.length === 0 ? url : undefined);
    if (dns01.length === 0) return { validation: { methods, fallbacks }, proven, removed: NOTHING_TO_REMOVE };
  }
  if (dns01.length === 0) {
    return { validation: { methods, fallbacks }, proven: undefined, removed: NOTHING_TO_REMOVE };
  }
  methods.push('dns-01');
  const handle = await input.dns.present(dns01.map((p) => p.record));
  const remove = (): Promise<{ error?: unknown }> =>
    input.dns.cleanup(handle).then(
      () => ({}),
      (error: unknown) => ({ error }),
    );
  let proven: Order | undefined;
  try {
    // The checkpoint is written while the CA validates: it only has to exist before the records can go.
    await allOrFirstError([
      input.onDnsPresented?.(handle),
      answerAndWait(input, dns01, whileValidating, url).then((o) => {
        proven = o;
      }),
    ]);
  } catch (error) {
    const removed = await remove();
    throw removed.error ?? error;
  }
  return { validation: { methods, fallbacks }, proven, removed: remove() };
}

/** Like {@link early}, but started by `start()` or the first `get()`; `settled` is resolved until then. */
function onDemand<T>(make: () => Promise<T>): Early<T> & { readonly start: () => void } {
  let started: Early<T> | undefined;
  const start = () => {
    started ??= early(make);
    return started;
  };
  return {
    start: () => void start(),
    get: () => start().get(),
    get settled() {
      return started?.settled ?? Promise.resolve();
    },
  };
}

/** Awaits every one of `work` (none is left running) and then throws the first failure, if any. */
async function allOrFirstError(work: ReadonlyArray<Promise<unknown> | undefined>): Promise<void> {
  const outcomes = await Promise.allSettled(work);
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** Takes a proven order to its certificate: wait for `ready`, finalize, wait for `valid`, download. */
async function finish(
  input: Pick<IssueInput<unknown>, 'client' | 'poll'>,
  url: string,
  placed: Order,
  csr: () => Promise<Uint8Array>,
  meanwhile: Promise<unknown>,
): Promise<DownloadedCertificate> {
  let order = placed;
  if (order.status === 'pending') {
    // RFC 8555 §7.1.6 makes the order "ready" once every authorization is valid, but a CA may update it a moment
    // later; finalizing a still-pending order only earns 403 orderNotReady. The first poll is immediate.
    order = await waitForOrder(input.client, url, ['ready', 'processing', 'valid'], input.poll);
  }
  if (order.status === 'ready') {
    order = await finalizeOrder(input.client, { url, order }, await csr(), input.poll, meanwhile);
  } else if (order.status === 'processing') {
    order = await waitForOrder(input.client, url, ['valid'], input.poll);
  }
  if (order.status !== 'valid' || !order.certificate) {
    throw new AcmeAwsError('acme-protocol', `the order ${url} is ${order.status} without a certificate URL`);
  }
  return downloadCertificate(
    input.client,
    input.client.transport.checkUrl(order.certificate, 'certificate URL'),
  );
}

/**
 * Obtains a certificate: place (or resume) the order, answer dns-01, finalize, download.
 * @see RFC 8555 §7.4 "The client begins the certificate issuance process by sending a POST request to the
 * server's newOrder resource"
 */
export async function issueCertificate<H>(input: IssueInput<H>): Promise<IssueResult> {
  const notes: string[] = [];
  let placed = input.resumeOrderUrl ? await resume(input.client, input.resumeOrderUrl, notes) : undefined;
  const resumed = placed !== undefined;
  let replaced: string | undefined;
  let replacesDropped: string | undefined;
  if (!placed) {
    const result = await placeOrder(input.client, {
      names: input.names,
      replaces: input.replaces,
      profile: input.profile,
    });
    notes.push(...result.notes);
    placed = { url: result.url, order: result.order };
    replaced = result.replaced;
    replacesDropped = result.replacesDropped;
  }
  const order = placed.order;
  const newOrder = !resumed;
  const url = placed.url;
  const checkpoint = early(async () => {
    if (newOrder) await input.onOrder?.({ url, replaced });
  });
  // The CSR is made while the CA validates: started once the first challenges are answered (dns-persist-01 ones
  // before dns-01 ones are published, in a mixed order), so its CPU is not spent on the way to the CA, or when
  // finalizing needs it first. A valid or processing order needs none.
  const csr = onDemand(input.csr);
  let validation: Validation = { methods: [], fallbacks: [] };
  let removed = NOTHING_TO_REMOVE;
  let certificate: DownloadedCertificate;
  try {
    let proven: Order | undefined;
    if (order.status === 'pending')
      ({ validation, proven, removed } = await authorize(input, placed, checkpoint, csr.start));
    await checkpoint.get();
    certificate = await finish(input, url, proven ?? order, csr.get, removed);
  } catch (error) {
    // Nothing started here outlives the attempt: the caller records the failure once all of it has settled.
    await Promise.all([checkpoint.settled, csr.settled, removed]);
    throw error;
  }
  // The records go while the order is finalized; a failed removal fails the attempt (its checkpoint still names
  // them, so the retry removes them and resumes the order).
  const cleanup = await removed;
  if (cleanup.error !== undefined) throw cleanup.error;
  return { orderUrl: placed.url, certificate, resumed, replaced, replacesDropped, validation, notes };
}
