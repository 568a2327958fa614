/** What went wrong while judging AWS calls against IAM policies. */
export type IamEvaluationErrorCode =
  | 'unmapped-command'
  | 'unresolved-intrinsic'
  | 'unsynthesizable-inventory'
  | 'role-not-found'
  | 'simulation-failed';

/** The suite could not judge a call; the message says which call and what to add or fix. */
export class IamEvaluationError extends Error {
  readonly code: IamEvaluationErrorCode;

  constructor(code: IamEvaluationErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IamEvaluationError';
    this.code = code;
  }
}
