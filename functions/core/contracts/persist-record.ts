import * as z from '../zod';

/**
 * The request the renewer sends the persist-record step (the first-import function on AWS, in-process locally)
 * to write `_validation-persist` records: defined once, parsed on both sides. It names the certificate and the
 * domains with their TXT values; the writer checks both against the inventory before it changes anything, so the
 * renewer's role needs no Route 53 write permission.
 * @see draft-ietf-acme-dns-persist §3
 */
export const persistRecordRequestSchema = z.strictObject({
  /** Marks the payload apart from a first-import request on the same function. */
  kind: z.literal('persist-record'),
  /** Inventory id of the certificate whose domains the records authorize. */
  certificateId: z.string().check(z.minLength(1)),
  records: z
    .array(
      z.strictObject({
        /** Base domain (no `*.`); the record is `_validation-persist.<domain>`. */
        domain: z.string().check(z.minLength(1), z.maxLength(253)),
        /** The whole TXT value: `<issuer-domain-name>; accounturi=…[; policy=wildcard]; persistUntil=…`. */
        value: z.string().check(z.minLength(1), z.maxLength(255)),
      }),
    )
    .check(z.minLength(1), z.maxLength(100)),
});
export type PersistRecordRequest = z.infer<typeof persistRecordRequestSchema>;

/** What the writer answers: the record names it wrote (UPSERT). */
export const persistRecordResponseSchema = z.strictObject({
  written: z.array(z.string()),
});
export type PersistRecordResponse = z.infer<typeof persistRecordResponseSchema>;
