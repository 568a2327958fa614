import { CHALLENGE_TYPES } from '../acme/dns-persist';
import { KEY_TYPES } from '../config/inventory';
import { RENEWAL_REASONS } from '../contracts/renewal-message';
import * as z from '../zod';
import { FAILOVER_REASONS } from './failover';

const isoDate = z.iso.datetime({ offset: true });

/** An RFC 7807 problem document as recorded in state and events. */
export const problemSchema = z.compiledObject({
  type: z.optional(z.string()),
  detail: z.optional(z.string()),
  status: z.optional(z.number()),
  instance: z.optional(z.string()),
  subproblems: z.optional(z.array(z.record(z.string(), z.unknown()))),
});

/** What we know from the CA's renewalInfo for the current certificate (RFC 9773 §4.2). */
export const ariStateSchema = z.compiledObject({
  certId: z.string(),
  windowStart: isoDate,
  windowEnd: isoDate,
  /** Chosen once per window and kept while the window is unchanged. */
  selectedTime: isoDate,
  explanationUrl: z.optional(z.string()),
  /** Do not ask again before this instant (Retry-After, clamped). */
  nextCheckAt: isoDate,
  checkedAt: isoDate,
});
export type AriState = z.infer<typeof ariStateSchema>;

/**
 * Exactly what a renewer added to DNS (see `DnsChangeHandle` in ports.ts), checkpointed so a crashed attempt's
 * records are removed by the next one. Parsed, not trusted: cleanup deletes exactly these values.
 */
export const dnsChangeHandleSchema = z.compiledObject({
  changes: z.array(
    z.compiledObject({
      zoneId: z.string().check(z.minLength(1)),
      roleArn: z.optional(z.string()),
      name: z.string().check(z.minLength(1)),
      values: z.array(z.string()),
    }),
  ),
});

/** How an order's authorizations were proven (`IssueResult.validation`), for `status`. */
export const validationStateSchema = z.compiledObject({
  methods: z.array(z.enum(CHALLENGE_TYPES)),
  fallbacks: z._default(z.array(z.string()), []),
  at: isoDate,
});

/**
 * One persistent record as written: rewritten when the account URL or issuer changes, a wildcard is added, or
 * `persistUntil` comes near (core/acme/dns-persist.ts `persistRecordReason`).
 */
export const dnsPersistStateSchema = z.compiledObject({
  domain: z.string(),
  name: z.string(),
  issuerDomainName: z.string(),
  accountUrl: z.string(),
  wildcard: z.boolean(),
  persistUntil: isoDate,
  writtenAt: isoDate,
});
export type DnsPersistState = z.infer<typeof dnsPersistStateSchema>;

/** A renewal that moved on from the certificate's first CA: from which CA, why, and when (docs/failover.md). */
export const failoverRecordSchema = z.compiledObject({
  from: z.string(),
  reason: z.enum(FAILOVER_REASONS),
  at: isoDate,
  /** What the CA that was left answered, in one line. */
  why: z.string(),
});
export type FailoverRecord = z.infer<typeof failoverRecordSchema>;

/** Reasons an order can be placed for (the renewal message's reasons). */
const reasonSchema = z.enum(RENEWAL_REASONS);

/**
 * Failed attempts on one kept order before it is abandoned and a new one placed: an order whose certificate keeps
 * failing verification (or whose authorizations keep failing) would otherwise be retried forever.
 */
export const MAX_FAILED_ATTEMPTS_PER_ORDER = 3;

/** An order in flight, checkpointed once the CA created it. */
export const pendingOrderSchema = z.compiledObject({
  url: z.string(),
  createdAt: isoDate,
  replaces: z.optional(z.string()),
  /**
   * Why the order was placed: a resumed attempt keeps it, so the verification rules that applied when it was
   * placed still apply (a profile change to a shorter lifetime stays `changed`, not `retry`). Absent in documents
   * written before it was recorded.
   */
  reason: z.optional(reasonSchema),
  /** Attempts on this order that failed (rate limits excepted); at {@link MAX_FAILED_ATTEMPTS_PER_ORDER} it is abandoned. */
  failedAttempts: z._default(z.number().check(z.int(), z.nonnegative()), 0),
  dnsHandle: z.optional(dnsChangeHandleSchema),
  /** The inventory name of the CA the order was placed with: a resumed attempt continues there. */
  ca: z.optional(z.string()),
  /** Set when the order was placed with a later CA of the certificate's list. */
  failover: z.optional(failoverRecordSchema),
});
export type PendingOrder = z.infer<typeof pendingOrderSchema>;

/**
 * The state document kept per certificate in S3 (`certificates/<id>/state.json`).
 * Parsed on every read: a hand-edited or truncated document is rejected, not trusted.
 */
export const certificateStateSchema = z.compiledObject({
  version: z.literal(1),
  id: z.string(),
  /** Hash of the inventory fields that require a new certificate when they change. */
  configHash: z.optional(z.string()),
  current: z.optional(
    z.compiledObject({
      serial: z.string(),
      notBefore: isoDate,
      notAfter: isoDate,
      domains: z.array(z.string()),
      keyType: z.enum(KEY_TYPES),
      issuer: z.string(),
      directoryUrl: z.string(),
      accountUrl: z.string(),
      certId: z.optional(z.string()),
      /** The certID this certificate's order named in `replaces` (RFC 9773 §5), when the CA accepted it. */
      replaced: z.optional(z.string()),
      issuedAt: isoDate,
      /**
       * Which of the certificate's CAs issued it (inventory name), the issuer key identifier its certID names, and,
       * when a later CA of the list issued it, the failover; why the order went without `replaces` although there
       * was a predecessor. Absent in documents written before failover existed.
       */
      issuedBy: z.optional(
        z.compiledObject({
          ca: z.string(),
          authorityKeyId: z.optional(z.string()),
          failover: z.optional(failoverRecordSchema),
          replacesWithheld: z.optional(z.string()),
        }),
      ),
    }),
  ),
  ari: z.optional(ariStateSchema),
  /** Why ARI is not usable right now (404, invalid window, …), for `status` and alarms. */
  ariError: z.optional(z.string()),
  /** When ARI failed without a usable window: do not ask again before this instant. */
  ariRetryAt: z.optional(isoDate),
  acm: z._default(
    z.record(
      z.string(),
      z.compiledObject({ arn: z.string(), serial: z.string(), keyType: z.enum(KEY_TYPES) }),
    ),
    {},
  ),
  retiredAcmArns: z._default(
    z.array(z.compiledObject({ region: z.string(), arn: z.string(), retiredAt: isoDate })),
    [],
  ),
  /** An order in flight: resumed instead of placing a new one after a crash or timeout. */
  pendingOrder: z.optional(pendingOrderSchema),
  /** The last kept order given up on after {@link MAX_FAILED_ATTEMPTS_PER_ORDER} failed attempts. */
  abandonedOrder: z.optional(
    z.compiledObject({
      url: z.string(),
      abandonedAt: isoDate,
      failedAttempts: z.number(),
      lastError: z.optional(z.string()),
    }),
  ),
  /**
   * Why the current certificate was ordered without the inventory's profile (the CA does not advertise it), so
   * `status` and the outcome show it rather than one log line.
   * @see draft-ietf-acme-profiles §4
   */
  profileNote: z.optional(z.string()),
  failures: z._default(z.number().check(z.int(), z.nonnegative()), 0),
  /** When the current run of failed attempts began (cleared by a renewal): a CA outage's budget counts from it. */
  failingSince: z.optional(isoDate),
  lastAttemptAt: z.optional(isoDate),
  /** When the last forced order was placed: at most one per `forcedRenewalMinIntervalMs`. */
  lastForcedAt: z.optional(isoDate),
  lastResult: z.optional(z.enum(['renewed', 'failed', 'deferred', 'imported'])),
  lastReason: z.optional(z.string()),
  lastError: z.optional(z.string()),
  lastProblem: z.optional(problemSchema),
  /** Not before this instant (rate limit Retry-After). */
  retryAfter: z.optional(isoDate),
  /** When the last renewal dropped `replaces` and why (the lego v4.16.0 lesson). */
  replacesDropped: z.optional(z.compiledObject({ at: isoDate, reason: z.string() })),
  /** How the last order's authorizations were proven, and why dns-01 stood in for dns-persist-01. */
  validation: z.optional(validationStateSchema),
  /** The `_validation-persist` records written for this certificate (draft-ietf-acme-dns-persist), per domain. */
  dnsPersist: z.optional(z.array(dnsPersistStateSchema)),
});
export type CertificateState = z.infer<typeof certificateStateSchema>;

/** A fresh state document for a certificate that has none yet. */
export function emptyState(id: string): CertificateState {
  return { version: 1, id, acm: {}, retiredAcmArns: [], failures: 0 };
}

/**
 * The fields the scheduler writes: its ARI refresh of the current certificate. Every other field belongs to the
 * renewer, which holds the certificate's lease while it writes them.
 */
export const SCHEDULER_FIELDS = ['ari', 'ariError', 'ariRetryAt'] as const;

/** A state document as a later read would see it (defaults filled, undefined fields gone), keys sorted. */
function canonical(state: CertificateState, omit: readonly string[] = []): string {
  const parsed = certificateStateSchema.parse(JSON.parse(JSON.stringify(state))) as Record<string, unknown>;
  const sorted = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sorted)
      : value !== null && typeof value === 'object'
        ? Object.fromEntries(
            Object.keys(value)
              .sort()
              .map((k) => [k, sorted((value as Record<string, unknown>)[k])]),
          )
        : value;
  const kept = Object.fromEntries(Object.entries(parsed).filter(([k]) => !omit.includes(k)));
  return JSON.stringify(sorted(kept));
}

/** True when two documents would read back the same. */
export function sameState(a: CertificateState, b: CertificateState): boolean {
  return canonical(a) === canonical(b);
}

/**
 * True when two documents differ at most in when ARI was last asked and when to ask again (`ari.checkedAt`,
 * `ari.nextCheckAt`): the same window, selected time and explanation for the same certificate, and the same error
 * state. A refresh that only confirms the stored window changes nothing the renewer or `status` acts on, so the
 * scheduler keeps its next check in the schedule index instead of rewriting the document.
 */
export function sameStateButAriTiming(a: CertificateState, b: CertificateState): boolean {
  const untimed = (state: CertificateState): CertificateState =>
    state.ari === undefined
      ? state
      : { ...state, ari: { ...state.ari, checkedAt: UNTIMED, nextCheckAt: UNTIMED } };
  return sameState(untimed(a), untimed(b));
}

/** Stands in for the ARI timestamps {@link sameStateButAriTiming} leaves out of the comparison. */
const UNTIMED = '1970-01-01T00:00:00.000Z';

/** True when two documents agree on every field the renewer owns (all but {@link SCHEDULER_FIELDS}). */
export function sameRenewerFields(a: CertificateState, b: CertificateState): boolean {
  return canonical(a, SCHEDULER_FIELDS) === canonical(b, SCHEDULER_FIELDS);
}

/**
 * What the renewer writes after its conditional write lost to `theirs`: its own fields, and the scheduler's ARI
 * fields when they describe the certificate the renewer keeps as current (a refresh made for a certificate the
 * renewer has just replaced describes nothing any more).
 */
export function keepRenewerFields(ours: CertificateState, theirs: CertificateState): CertificateState {
  const sameCertificate =
    ours.current?.certId !== undefined && theirs.current?.certId === ours.current.certId;
  const sameEmpty = ours.current === undefined && theirs.current === undefined;
  if (!sameCertificate && !sameEmpty) return ours;
  return { ...ours, ari: theirs.ari, ariError: theirs.ariError, ariRetryAt: theirs.ariRetryAt };
}
