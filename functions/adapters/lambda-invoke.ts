import { InvokeCommand, type InvokeCommandOutput, type LambdaClient } from '@aws-sdk/client-lambda';
import { AcmeAwsError, type ErrorCode } from '../core/errors';
import { describeAwsError, type RetryOptions, withRetry } from './aws-retry';

/** One synchronous call of another function of the deployment, and how its failures are named. */
export interface FunctionCall {
  readonly client: LambdaClient;
  readonly functionName: string;
  readonly retry?: RetryOptions;
  /** The error code a failed call is reported with. */
  readonly code: ErrorCode;
  /** The start of every failure message, e.g. `The first import of "shop" into us-east-1 failed`. */
  readonly failed: string;
}

/**
 * Invokes a function (`RequestResponse`) with a JSON payload and returns its JSON answer, unparsed. A function
 * error comes back as Lambda's `{errorType, errorMessage}`: the message is our own, written by that function,
 * and is quoted (bounded); an answer that is not JSON is `undefined`, for the caller's schema to refuse.
 */
export async function invokeFunction(call: FunctionCall, payload: unknown): Promise<unknown> {
  let out: InvokeCommandOutput;
  try {
    out = await withRetry(
      () =>
        call.client.send(
          new InvokeCommand({
            FunctionName: call.functionName,
            InvocationType: 'RequestResponse',
            Payload: new TextEncoder().encode(JSON.stringify(payload)),
          }),
        ),
      call.retry,
    );
  } catch (error) {
    throw new AcmeAwsError(call.code, `${call.failed}: ${describeAwsError(error)}`, { cause: error });
  }
  const body = parseJson(out.Payload === undefined ? '' : new TextDecoder().decode(out.Payload));
  if (out.FunctionError !== undefined) {
    throw new AcmeAwsError(call.code, `${call.failed}: ${functionErrorMessage(body)}`);
  }
  return body;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function functionErrorMessage(body: unknown): string {
  const value = body as { errorType?: unknown; errorMessage?: unknown } | undefined;
  const type = typeof value?.errorType === 'string' ? value.errorType : 'Error';
  const message = typeof value?.errorMessage === 'string' ? value.errorMessage.slice(0, 500) : 'no message';
  return `${type}: ${message}`;
}
