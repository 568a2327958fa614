import * as z from 'zod';

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
  keyChange: url.optional(),
  newAuthz: url.optional(),
  /** @see RFC 9773 §4 "The server MUST advertise the renewalInfo resource in its directory" */
  renewalInfo: url.optional(),
  meta: z
    .looseObject({
      termsOfService: z.string().optional(),
      website: z.string().optional(),
      caaIdentities: z.array(z.string()).optional(),
      externalAccountRequired: z.boolean().optional(),
      /** @see draft-ietf-acme-profiles §3: profile name → human-readable description */
      profiles: z.record(z.string(), z.string()).optional(),
    })
    .optional(),
});
export type Directory = z.infer<typeof directorySchema>;
