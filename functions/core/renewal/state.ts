import * as z from 'zod';
import { KEY_TYPES } from '../config/inventory';

const isoDate = z.iso.datetime({ offset: true });

/** An RFC 7807 problem document as recorded in state and events. */
export const problemSchema = z.object({
  type: z.string().optional(),
  detail: z.string().optional(),
  status: z.number().optional(),
  instance: z.string().optional(),
  subproblems: z.array(z.record(z.string(), z.unknown())).optional(),
});

/** What we know from the CA's renewalInfo for the current certificate (RFC 9773 §4.2). */
export const ariStateSchema = z.object({
  certId: z.string(),
  windowStart: isoDate,
  windowEnd: isoDate,
  /** Chosen once per window and kept while the window is unchanged. */
  selectedTime: isoDate,
  explanationUrl: z.string().optional(),
  /** Do not ask again before this instant (Retry-After, clamped). */
  nextCheckAt: isoDate,
  checkedAt: isoDate,
});
export type AriState = z.infer<typeof ariStateSchema>;

/**
 * The state document kept per certificate in S3 (`certificates/<id>/state.json`).
 * Parsed on every read: a hand-edited or truncated document is rejected, not trusted.
 */
export const certificateStateSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  /** Hash of the inventory fields that require a new certificate when they change. */
  configHash: z.string().optional(),
  current: z
    .object({
      serial: z.string(),
      notBefore: isoDate,
      notAfter: isoDate,
      domains: z.array(z.string()),
      keyType: z.enum(KEY_TYPES),
      issuer: z.string(),
      directoryUrl: z.string(),
      accountUrl: z.string(),
      certId: z.string().optional(),
      /** The certID this certificate's order named in `replaces` (RFC 9773 §5), when the CA accepted it. */
      replaced: z.string().optional(),
      issuedAt: isoDate,
    })
    .optional(),
  ari: ariStateSchema.optional(),
  /** Why ARI is not usable right now (404, invalid window, …), for `status` and alarms. */
  ariError: z.string().optional(),
  /** When ARI failed without a usable window: do not ask again before this instant. */
  ariRetryAt: isoDate.optional(),
  acm: z
    .record(z.string(), z.object({ arn: z.string(), serial: z.string(), keyType: z.enum(KEY_TYPES) }))
    .default({}),
  retiredAcmArns: z.array(z.object({ region: z.string(), arn: z.string(), retiredAt: isoDate })).default([]),
  /** An order in flight: resumed instead of placing a new one after a crash or timeout. */
  pendingOrder: z
    .object({
      url: z.string(),
      createdAt: isoDate,
      replaces: z.string().optional(),
      dnsHandle: z.unknown().optional(),
    })
    .optional(),
  failures: z.number().int().nonnegative().default(0),
  lastAttemptAt: isoDate.optional(),
  /** When the last forced order was placed: at most one per `forcedRenewalMinIntervalMs`. */
  lastForcedAt: isoDate.optional(),
  lastResult: z.enum(['renewed', 'failed', 'deferred', 'imported']).optional(),
  lastReason: z.string().optional(),
  lastError: z.string().optional(),
  lastProblem: problemSchema.optional(),
  /** Not before this instant (rate limit Retry-After). */
  retryAfter: isoDate.optional(),
  /** When the last renewal dropped `replaces` and why (the lego v4.16.0 lesson). */
  replacesDropped: z.object({ at: isoDate, reason: z.string() }).optional(),
});
export type CertificateState = z.infer<typeof certificateStateSchema>;

/** A fresh state document for a certificate that has none yet. */
export function emptyState(id: string): CertificateState {
  return { version: 1, id, acm: {}, retiredAcmArns: [], failures: 0 };
}
