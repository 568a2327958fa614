import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import {
  type PersistRecordRequest,
  type PersistRecordResponse,
  persistRecordRequestSchema,
  persistRecordResponseSchema,
} from '../core/contracts/persist-record';
import { AcmeAwsError } from '../core/errors';
import type { DnsPersistWriter } from '../core/renewal/ports';
import type { RetryOptions } from './aws-retry';
import { invokeFunction } from './lambda-invoke';

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
  readonly #call: { client: LambdaClient; functionName: string; retry?: RetryOptions };

  constructor(private readonly options: LambdaPersistRecordWriterOptions) {
    const client = options.client ?? new LambdaClient(options.clientConfig ?? {});
    this.#call = { client, functionName: options.functionName, retry: options.retry };
  }

  async write(request: PersistRecordRequest): Promise<PersistRecordResponse> {
    const where = `the dns-persist-01 records of "${request.certificateId}" (function ${this.options.functionName})`;
    const answer = await invokeFunction(
      { ...this.#call, code: 'dns-failed', failed: `Writing ${where} failed` },
      persistRecordRequestSchema.parse(request),
    );
    const parsed = persistRecordResponseSchema.safeParse(answer);
    if (!parsed.success) {
      throw new AcmeAwsError('dns-failed', `Writing ${where} answered something that is not a write result`);
    }
    return parsed.data;
  }
}
