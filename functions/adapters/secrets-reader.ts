import {
  GetSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';
import { AcmeAwsError } from '../core/errors';
import type { SecretReader } from '../core/renewal/ports';
import { describeAwsError, type RetryOptions, withRetry } from './aws-retry';

/** How {@link SecretsManagerReader} reaches Secrets Manager. */
export interface SecretsManagerReaderOptions {
  /** @default a client built from `clientConfig` */
  readonly client?: SecretsManagerClient;
  readonly clientConfig?: SecretsManagerClientConfig;
  readonly retry?: RetryOptions;
}

/**
 * Reads secrets (the EAB HMAC key) from Secrets Manager, once per ARN for the life of the instance: a Lambda
 * container renewing many certificates asks once, and the value never leaves memory.
 */
export class SecretsManagerReader implements SecretReader {
  readonly #client: SecretsManagerClient;
  readonly #retry: RetryOptions | undefined;
  readonly #cache = new Map<string, Promise<string>>();

  constructor(options: SecretsManagerReaderOptions = {}) {
    this.#client = options.client ?? new SecretsManagerClient(options.clientConfig ?? {});
    this.#retry = options.retry;
  }

  getSecret(arn: string): Promise<string> {
    let value = this.#cache.get(arn);
    if (value === undefined) {
      value = this.#read(arn);
      // A failed read is not cached, so the next renewal tries again.
      value.catch(() => this.#cache.delete(arn));
      this.#cache.set(arn, value);
    }
    return value;
  }

  async #read(arn: string): Promise<string> {
    try {
      const out = await withRetry(
        () => this.#client.send(new GetSecretValueCommand({ SecretId: arn })),
        this.#retry,
      );
      if (out.SecretString !== undefined) return out.SecretString;
      if (out.SecretBinary !== undefined) return new TextDecoder().decode(out.SecretBinary);
      throw new Error('the secret has no value');
    } catch (error) {
      // The secret value itself never appears in the message; only the ARN and the service's answer.
      throw new AcmeAwsError('secret-failed', `Reading secret ${arn} failed: ${describeAwsError(error)}`, {
        cause: error,
      });
    }
  }
}
