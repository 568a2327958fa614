import {
  InvokeCommand,
  type InvokeCommandOutput,
  LambdaClient,
  type LambdaClientConfig,
} from '@aws-sdk/client-lambda';
import {
  type FirstImportRequest,
  firstImportRequestSchema,
  firstImportResponseSchema,
} from '../core/contracts/first-import';
import { AcmeAwsError } from '../core/errors';
import type { FirstImporter, ImportResult } from '../core/renewal/ports';
import { describeAwsError, type RetryOptions, withRetry } from './aws-retry';

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
  readonly #client: LambdaClient;

  constructor(private readonly options: LambdaFirstImporterOptions) {
    this.#client = options.client ?? new LambdaClient(options.clientConfig ?? {});
  }

  async importNew(request: FirstImportRequest): Promise<ImportResult> {
    const payload = firstImportRequestSchema.parse(request);
    const where = `first import of "${request.certificateId}" into ${request.region} (function ${this.options.functionName})`;
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
      throw new AcmeAwsError('import-failed', `The ${where} failed: ${describeAwsError(error)}`, {
        cause: error,
      });
    }
    const text = out.Payload === undefined ? '' : new TextDecoder().decode(out.Payload);
    if (out.FunctionError !== undefined) {
      // Lambda answers a function error as {errorType, errorMessage}: our own message, written by the function.
      const message = safeErrorMessage(text);
      throw new AcmeAwsError('import-failed', `The ${where} failed: ${message}`);
    }
    const parsed = firstImportResponseSchema.safeParse(parseJson(text));
    if (!parsed.success) {
      throw new AcmeAwsError('import-failed', `The ${where} answered something that is not an import result`);
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

function safeErrorMessage(text: string): string {
  const value = parseJson(text) as { errorType?: unknown; errorMessage?: unknown } | undefined;
  const type = typeof value?.errorType === 'string' ? value.errorType : 'Error';
  const message = typeof value?.errorMessage === 'string' ? value.errorMessage.slice(0, 500) : 'no message';
  return `${type}: ${message}`;
}
