import * as z from '../zod';

const url = z.url({ protocol: /^https?$/ });

/**
 * The ACME directory resource, extended with RFC 9773 `renewalInfo` and draft-ietf-acme-profiles `meta.profiles`.
 * @see RFC 8555 §7.1.1
 */
export const directorySchema = z.looseObject({
  newNonce: url,
  newAccount: url,
  newOrder: url,
  revokeCert: url,
  keyChange: z.optional(url),
  newAuthz: z.optional(url),
  /** @see RFC 9773 §4 "The server MUST advertise the renewalInfo resource in its directory" */
  renewalInfo: z.optional(url),
  meta: z.optional(
    z.looseObject({
      termsOfService: z.optional(z.string()),
      website: z.optional(z.string()),
      caaIdentities: z.optional(z.array(z.string())),
      externalAccountRequired: z.optional(z.boolean()),
      /** @see draft-ietf-acme-profiles §3: profile name → human-readable description */
      profiles: z.optional(z.record(z.string(), z.string())),
    }),
  ),
});
export type Directory = z.infer<typeof directorySchema>;
