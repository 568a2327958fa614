import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  type LambdaClientConfig,
} from '@aws-sdk/client-lambda';
import {
  type PersistRecordRequest,
  type PersistRecordResponse,
  persistRecordRequestSchema,
  persistRecordResponseSchema,
} from '../core/contracts/persist-record';
import { AcmeAwsError } from '../core/errors';
import type { DnsPersistWriter } from '../core/renewal/ports';
import { describeAwsError, type RetryOptions, withRetry } from './aws-retry';

/** Where {@link LambdaPersistRecordWriter} sends persistent-record writes. */
export interface LambdaPersistRecordWriterOptions {
  /** The first-import function, which also runs the persist-record step (its role may write those records). */
  readonly functionName: string;
  /** @default a client built from `clientConfig` */
  readonly client?: LambdaClient;
  readonly clientConfig?: LambdaClientConfig;
  readonly retry?: RetryOptions;
}

/**
 * Asks the first-import function to write `_validation-persist` records (synchronous invoke), so the renewer's
 * role holds no Route 53 write permission when every certificate uses dns-persist-01.
 */
export class LambdaPersistRecordWriter implements DnsPersistWriter {
  readonly #client: LambdaClient;

  constructor(private readonly options: LambdaPersistRecordWriterOptions) {
    this.#client = options.client ?? new LambdaClient(options.clientConfig ?? {});
  }

  async write(request: PersistRecordRequest): Promise<PersistRecordResponse> {
    const payload = persistRecordRequestSchema.parse(request);
    const where = `the dns-persist-01 records of "${request.certificateId}" (function ${this.options.functionName})`;
    let out: InvokeCommandOutput;
    try {
      out = await withRetry(
        () =>
          this.#client.send(
            new InvokeCommand({
              FunctionName: this.options.functionName,
              InvocationType: 'RequestResponse',
              Payload: new TextEncoder().encode(JSON.stringify(payload)),
            }),
          ),
        this.options.retry,
      );
    } catch (error) {
      throw new AcmeAwsError('dns-failed', `Writing ${where} failed: ${describeAwsError(error)}`, {
        cause: error,
      });
    }
    const text = out.Payload === undefined ? '' : new TextDecoder().decode(out.Payload);
    const body = parseJson(text) as { errorType?: unknown; errorMessage?: unknown } | undefined;
    if (out.FunctionError !== undefined) {
      const message = typeof body?.errorMessage === 'string' ? body.errorMessage.slice(0, 500) : 'no message';
      throw new AcmeAwsError('dns-failed', `Writing ${where} failed: ${message}`);
    }
    const parsed = persistRecordResponseSchema.safeParse(body);
    if (!parsed.success) {
      throw new AcmeAwsError('dns-failed', `Writing ${where} answered something that is not a write result`);
    }
    return parsed.data;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
