import { KEY_TYPES } from '../config/inventory';
import * as z from '../zod';

/**
 * The request the renewer sends the first-import function, and its answer: defined once, parsed on both sides.
 * It names the certificate, never carries it: the function reads the stored PEM files itself, so no key material
 * travels in an invocation payload.
 */
export const firstImportRequestSchema = z.strictObject({
  /** Inventory id of the certificate. */
  certificateId: z.string().check(z.minLength(1)),
  /** ACM region to import into; must be one of the entry's regions. */
  region: z.string().check(z.regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as "us-east-1"')),
  /** Serial (hex) of the stored certificate the renewer expects to be imported. */
  serial: z.string().check(z.regex(/^[0-9a-fA-F:]+$/, 'must be the certificate serial in hex')),
  keyType: z.enum(KEY_TYPES),
});
export type FirstImportRequest = z.infer<typeof firstImportRequestSchema>;

/** What the first-import function answers. */
export const firstImportResponseSchema = z.strictObject({
  region: z.string(),
  arn: z.string().check(z.startsWith('arn:')),
  /** False when a certificate tagged with this id and key type already existed (nothing was imported). */
  imported: z.boolean(),
});
export type FirstImportResponse = z.infer<typeof firstImportResponseSchema>;
