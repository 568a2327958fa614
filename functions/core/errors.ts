/**
 * Every failure the system raises is one of these codes, so callers (handlers, alarms, the CLI) branch on a
 * stable string instead of on message text or class identity.
 */
export type ErrorCode =
  | 'acme-problem'
  | 'acme-rate-limited'
  | 'acme-protocol'
  | 'acme-timeout'
  | 'ari-invalid'
  | 'config-invalid'
  | 'pki-invalid'
  | 'verification-failed'
  | 'dns-failed'
  | 'store-failed'
  | 'lease-held'
  | 'import-failed'
  | 'queue-failed'
  /** An outcome event could not be published (EventBridge). */
  | 'event-failed'
  /** An event detail does not match its schema in functions/core/contracts/events.ts (a bug, not retried). */
  | 'event-invalid'
  /** A secret (the EAB HMAC key) could not be read (Secrets Manager). */
  | 'secret-failed'
  /** IAM policies could not be read or judged (the doctor's permissions check). */
  | 'iam-failed'
  /** The operator's command line is wrong (CLI). */
  | 'usage-invalid'
  /** A conditional state write lost: the document changed since it was read (re-read, decide again). */
  | 'state-conflict'
  | 'bundle-missing';

/** Base error of the project: a stable `code`, a message saying what to do, and the underlying `cause`. */
export class AcmeAwsError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    // Set explicitly: bundlers minify class names, and logs must still say what failed.
    this.name = 'AcmeAwsError';
    this.code = code;
  }
}

/** True when `error` is one of ours with the given code. */
export function hasCode(error: unknown, code: ErrorCode): error is AcmeAwsError {
  return error instanceof AcmeAwsError && error.code === code;
}

/** A short, safe description of any thrown value, for logs and state documents. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
