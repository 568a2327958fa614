import { AcmeAwsError } from '../errors';
import * as z from '../zod';

const identifierSchema = z.object({ type: z.string(), value: z.string() });
export type Identifier = z.infer<typeof identifierSchema>;

const problemLike = z.looseObject({ type: z.optional(z.string()), detail: z.optional(z.string()) });

/** @see RFC 8555 §7.1.2 */
export const accountSchema = z.looseObject({
  status: z.enum(['valid', 'deactivated', 'revoked']),
  contact: z.optional(z.array(z.string())),
  orders: z.optional(z.string()),
});

/** @see RFC 8555 §7.1.3 */
export const orderSchema = z.looseObject({
  status: z.enum(['pending', 'ready', 'processing', 'valid', 'invalid']),
  expires: z.optional(z.string()),
  identifiers: z.array(identifierSchema).check(z.minLength(1)),
  authorizations: z.array(z.string()),
  finalize: z.string(),
  certificate: z.optional(z.string()),
  error: z.optional(problemLike),
  /** @see RFC 9773 §5 */
  replaces: z.optional(z.string()),
  profile: z.optional(z.string()),
});
export type Order = z.infer<typeof orderSchema>;

/** @see RFC 8555 §8 */
export const challengeSchema = z.looseObject({
  type: z.string(),
  url: z.string(),
  status: z.enum(['pending', 'processing', 'valid', 'invalid']),
  token: z.optional(z.string()),
  error: z.optional(problemLike),
});
export type Challenge = z.infer<typeof challengeSchema>;

/** @see RFC 8555 §7.1.4 */
export const authorizationSchema = z.looseObject({
  identifier: identifierSchema,
  status: z.enum(['pending', 'valid', 'invalid', 'deactivated', 'expired', 'revoked']),
  expires: z.optional(z.string()),
  challenges: z.array(challengeSchema),
  wildcard: z.optional(z.boolean()),
});
export type Authorization = z.infer<typeof authorizationSchema>;

/** Parses an ACME resource, turning schema failures into a message that names the resource and field. */
export function parseResource<T>(schema: z.ZodMiniType<T>, body: unknown, what: string): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new ResourceError(`${what} is malformed: ${issues}`);
}

/** A CA response that does not match the RFC 8555 resource shape. */
export class ResourceError extends AcmeAwsError {
  constructor(message: string) {
    super('acme-protocol', message);
    this.name = 'ResourceError';
  }
}
