import { LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import {
  type FirstImportRequest,
  firstImportRequestSchema,
  firstImportResponseSchema,
} from '../core/contracts/first-import';
import { AcmeAwsError } from '../core/errors';
import type { FirstImporter, ImportResult } from '../core/renewal/ports';
import type { RetryOptions } from './aws-retry';
import { invokeFunction } from './lambda-invoke';

/** Where {@link LambdaFirstImporter} sends first imports. */
export interface LambdaFirstImporterOptions {
  readonly functionName: string;
  /** @default a client built from `clientConfig` */
  readonly client?: LambdaClient;
  readonly clientConfig?: LambdaClientConfig;
  readonly retry?: RetryOptions;
}

/**
 * Asks the first-import function to create a certificate in ACM (synchronous invoke). The payload names the
 * certificate and never carries key material; the function reads the stored files itself.
 */
export class LambdaFirstImporter implements FirstImporter {
  readonly #call: { client: LambdaClient; functionName: string; retry?: RetryOptions };

  constructor(private readonly options: LambdaFirstImporterOptions) {
    const client = options.client ?? new LambdaClient(options.clientConfig ?? {});
    this.#call = { client, functionName: options.functionName, retry: options.retry };
  }

  async importNew(request: FirstImportRequest): Promise<ImportResult> {
    const where = `first import of "${request.certificateId}" into ${request.region} (function ${this.options.functionName})`;
    const answer = await invokeFunction(
      { ...this.#call, code: 'import-failed', failed: `The ${where} failed` },
      firstImportRequestSchema.parse(request),
    );
    const parsed = firstImportResponseSchema.safeParse(answer);
    if (!parsed.success) {
      throw new AcmeAwsError('import-failed', `The ${where} answered something that is not an import result`);
    }
    return parsed.data;
  }
}
