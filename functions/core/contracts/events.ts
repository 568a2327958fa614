import { AcmeAwsError } from '../errors';
import { failoverRecordSchema, problemSchema } from '../renewal/state';
import * as z from '../zod';
import { RENEWAL_REASONS } from './renewal-message';

/**
 * The EventBridge events this system publishes, defined once: the core builds their details with these types,
 * the publisher validates each one before `PutEvents`, the construct grants `events:PutEvents` for exactly these
 * detail types, and docs/events.md lists exactly these types and fields (test/unit/contracts/events.test.ts).
 * No detail carries key material: certificates are named by inventory id, serial and certID only.
 */

/** The `source` of every event this system publishes, for EventBridge rules to match on. */
export const EVENT_SOURCE = 'acme-ari-aws';

const isoDate = z.iso.datetime({ offset: true });
const reason = z.enum(RENEWAL_REASONS);
/** ACM certificate ARN by region. */
const acmArns = z.record(z.string(), z.string());
/** An ARI suggested window (RFC 9773 §4.2: "start" and "end", RFC 3339 timestamps). */
const windowSchema = z.strictObject({ start: isoDate, end: isoDate });

/** A certificate was issued and imported, or (with `importOnly`) an earlier renewal's import finished. */
export const certificateRenewedSchema = z.strictObject({
  id: z.string().check(z.minLength(1)),
  domains: z.array(z.string()),
  reason,
  serial: z.optional(z.string()),
  notAfter: z.optional(isoDate),
  replaced: z.optional(z.nullable(z.string())),
  replacesDropped: z.optional(z.nullable(z.string())),
  profileNote: z.optional(z.nullable(z.string())),
  abandonedOrder: z.optional(z.nullable(z.string())),
  importOnly: z.optional(z.literal(true)),
  acm: acmArns,
  /** The inventory name of the CA that issued the certificate (docs/failover.md). */
  issuedBy: z.optional(z.nullable(z.string())),
  /** The failover that led to that CA: from which CA, why, when; null when the first CA issued it. */
  failover: z.optional(z.nullable(failoverRecordSchema)),
  /** Why the order went without `replaces` although there was a predecessor (another CA or account issued it). */
  replacesWithheld: z.optional(z.nullable(z.string())),
});

/** A renewal attempt failed (or an unknown id was asked for); `code` is the error's stable code. */
export const certificateRenewalFailedSchema = z.strictObject({
  id: z.string().check(z.minLength(1)),
  domains: z.optional(z.array(z.string())),
  reason,
  code: z.string().check(z.minLength(1)),
  error: z.string(),
  problem: z.optional(problemSchema),
  failures: z.optional(z.number().check(z.int(), z.nonnegative())),
  retryAfter: z.optional(isoDate),
  orderFailedAttempts: z.optional(z.number().check(z.int(), z.nonnegative())),
  /** The inventory name of the CA the failed order attempt was at; absent when no order was attempted. */
  ca: z.optional(z.string()),
  /** The failover that led to that CA in this attempt: from which CA, why, when; null at the first CA. */
  failover: z.optional(z.nullable(failoverRecordSchema)),
});

/**
 * The CA moved a certificate's ARI window (an incident such as a mass revocation, or a planned change).
 * @see RFC 9773 §4.2: "The server MAY change the suggested window at any time" and "explanationURL … a URL
 *   pointing to a page which may explain why the suggested renewal window has its current value."
 */
export const ariWindowMovedSchema = z.strictObject({
  id: z.string().check(z.minLength(1)),
  certId: z.string().check(z.minLength(1)),
  previousWindow: windowSchema,
  window: windowSchema,
  explanationUrl: z.nullable(z.string()),
  selectedTime: isoDate,
});

/** The detail schema of each detail type. */
export const EVENT_DETAIL_SCHEMAS = {
  'Certificate Renewed': certificateRenewedSchema,
  'Certificate Renewal Failed': certificateRenewalFailedSchema,
  'ARI Window Moved': ariWindowMovedSchema,
} as const;

/** Every event as `{ detailType, detail }`, discriminated on the EventBridge detail-type. */
export const eventSchema = z.discriminatedUnion('detailType', [
  z.strictObject({ detailType: z.literal('Certificate Renewed'), detail: certificateRenewedSchema }),
  z.strictObject({
    detailType: z.literal('Certificate Renewal Failed'),
    detail: certificateRenewalFailedSchema,
  }),
  z.strictObject({ detailType: z.literal('ARI Window Moved'), detail: ariWindowMovedSchema }),
]);

/** One event this system publishes. */
export type AcmeEvent = z.infer<typeof eventSchema>;
/** The EventBridge detail-type of an event. */
export type EventDetailType = keyof typeof EVENT_DETAIL_SCHEMAS;
/** The detail object of one detail type, as the code that builds it writes it. */
export type EventDetail<T extends EventDetailType> = z.input<(typeof EVENT_DETAIL_SCHEMAS)[T]>;

/** Every detail type (the construct's `events:detail-type` condition, the docs). */
export const EVENT_DETAIL_TYPES = Object.keys(EVENT_DETAIL_SCHEMAS) as readonly EventDetailType[];

/** Which function publishes which detail types: each function's PutEvents grant allows only its own. */
export const EVENTS_PUBLISHED_BY = {
  renewer: ['Certificate Renewed', 'Certificate Renewal Failed'],
  scheduler: ['ARI Window Moved'],
} as const satisfies Readonly<Record<string, readonly EventDetailType[]>>;

/**
 * Checks one event against its schema before it leaves the process. A detail that does not match is a bug in
 * the code that built it, never a transient failure: `event-invalid`, naming every problem.
 */
export function parseEvent(detailType: string, detail: unknown): AcmeEvent {
  const parsed = eventSchema.safeParse({ detailType, detail });
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`)
    .join('; ');
  throw new AcmeAwsError(
    'event-invalid',
    `Event "${detailType}" does not match its schema (a bug): ${problems}`,
  );
}
