import { AcmeAwsError, type ErrorCode } from '../errors';
import * as z from '../zod';

/** The ACME error namespace. @see RFC 8555 §6.7 */
export const ACME_ERROR_PREFIX = 'urn:ietf:params:acme:error:';

const problemSchema = z.looseObject({
  type: z.optional(z.string()),
  title: z.optional(z.string()),
  detail: z.optional(z.string()),
  status: z.optional(z.number().check(z.int())),
  instance: z.optional(z.string()),
  identifier: z.optional(z.object({ type: z.string(), value: z.string() })),
  subproblems: z.optional(
    z.array(
      z.looseObject({
        type: z.optional(z.string()),
        detail: z.optional(z.string()),
        identifier: z.optional(z.object({ type: z.string(), value: z.string() })),
      }),
    ),
  ),
});

/**
 * An RFC 7807 problem document as an ACME server sends it, kept whole so operators see exactly what the CA said.
 * @see RFC 8555 §6.7 "ACME servers can return responses with an HTTP error response code (4XX or 5XX). When the
 * server returns an error code, it SHOULD provide additional information using a problem document"
 */
export type ProblemDocument = z.infer<typeof problemSchema>;

/** Parses any value as a problem document; anything unusable becomes a synthetic `serverInternal` problem. */
export function parseProblem(body: unknown, status: number, fallbackText = ''): ProblemDocument {
  const parsed = problemSchema.safeParse(body);
  if (parsed.success && (parsed.data.type !== undefined || parsed.data.detail !== undefined)) {
    return { ...parsed.data, status: parsed.data.status ?? status };
  }
  // One odd member (a string status, a subproblem without an identifier type) must not cost us the type:
  // `badNonce` would no longer be retried and `alreadyReplaced` no longer recognised.
  if (!parsed.success && typeof body === 'object' && body !== null) {
    const { type, detail } = body as { type?: unknown; detail?: unknown };
    if (typeof type === 'string' || typeof detail === 'string') {
      return {
        ...(typeof type === 'string' ? { type } : {}),
        ...(typeof detail === 'string' ? { detail } : {}),
        status,
      };
    }
  }
  return {
    type: status >= 500 ? `${ACME_ERROR_PREFIX}serverInternal` : 'about:blank',
    detail: `HTTP ${status} without a problem document${fallbackText ? `: ${fallbackText.slice(0, 200)}` : ''}`,
    status,
  };
}

/** The short ACME error name (`badNonce`, `rateLimited`, …) of a problem, or `undefined` for non-ACME types. */
export function acmeErrorName(problem: ProblemDocument): string | undefined {
  return problem.type?.startsWith(ACME_ERROR_PREFIX)
    ? problem.type.slice(ACME_ERROR_PREFIX.length)
    : undefined;
}

function describe(problem: ProblemDocument): string {
  const sub = (problem.subproblems ?? [])
    .map((s) =>
      `${s.identifier?.value ?? '?'}: ${s.type?.replace(ACME_ERROR_PREFIX, '') ?? '?'} ${s.detail ?? ''}`.trim(),
    )
    .join('; ');
  return `${acmeErrorName(problem) ?? problem.type ?? 'problem'} (HTTP ${problem.status ?? '?'}): ${problem.detail ?? 'no detail'}${sub ? ` [${sub}]` : ''}`;
}

/** A non-2xx answer from the CA, carrying the full problem document. */
export class AcmeProblemError extends AcmeAwsError {
  readonly problem: ProblemDocument;
  /** The request that failed, as "METHOD url" (no payload: it may carry key material). */
  readonly request: string;

  constructor(problem: ProblemDocument, request: string, code: ErrorCode = 'acme-problem') {
    super(code, `ACME ${request} failed: ${describe(problem)}`);
    this.name = 'AcmeProblemError';
    this.problem = problem;
    this.request = request;
  }

  /** The ACME error name, e.g. `badNonce`. */
  get acmeType(): string | undefined {
    return acmeErrorName(this.problem);
  }

  get status(): number | undefined {
    return this.problem.status;
  }
}

/**
 * The CA asked us to come back later: a rate limit, or a 503 with Retry-After; `retryAfter` says when.
 * @see RFC 8555 §6.6 "the server ... MAY include a Retry-After header field indicating how long to wait"
 * @see RFC 9110 §15.6.4 "The server MAY send a Retry-After header field to suggest an appropriate amount of time
 * for the client to wait before retrying the request" (503 Service Unavailable)
 */
export class RateLimitedError extends AcmeProblemError {
  readonly retryAfter: Date | undefined;

  constructor(problem: ProblemDocument, request: string, retryAfter: Date | undefined) {
    super(problem, request, 'acme-rate-limited');
    this.name = 'RateLimitedError';
    this.retryAfter = retryAfter;
  }
}
