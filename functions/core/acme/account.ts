import { AcmeAwsError } from '../errors';
import { AcmeClient } from './client';
import {
  type AccountKey,
  createAccountKey,
  importAccountKey,
  signExternalAccountBinding,
  signRequest,
} from './jws';
import { AcmeProblemError } from './problem';
import { accountSchema, parseResource } from './resources';
import type { AcmeTransport } from './transport';

/** External Account Binding credentials issued by the CA (ZeroSSL, Google Trust Services, …). */
export interface ExternalAccountBinding {
  readonly keyId: string;
  /** base64url HMAC key. Never logged. */
  readonly hmacKey: string;
}

/** What to remember about an account: the private JWK and its URL. */
export interface AccountRecord {
  readonly privateJwk: Record<string, unknown>;
  readonly accountUrl: string;
}

async function newAccountRequest(
  transport: AcmeTransport,
  key: AccountKey,
  payload: Record<string, unknown>,
  eab: ExternalAccountBinding | undefined,
): Promise<{ url: string; status: number }> {
  const { newAccount, meta } = await transport.directory();
  if (meta?.externalAccountRequired && !eab && !payload.onlyReturnExisting) {
    throw new AcmeAwsError(
      'config-invalid',
      `the CA at ${transport.options.directoryUrl} requires External Account Binding; set "eab" (keyId and hmacSecretArn) for this CA`,
    );
  }
  const response = await transport.post(newAccount, payload, {
    key,
    sign: async (nonce) => {
      const body = eab
        ? {
            ...payload,
            externalAccountBinding: await signExternalAccountBinding({
              key,
              url: newAccount,
              keyId: eab.keyId,
              hmacKeyBase64url: eab.hmacKey,
            }),
          }
        : payload;
      return signRequest({ key, url: newAccount, nonce, payload: body });
    },
  });
  const account = parseResource(accountSchema, response.body, 'the account');
  if (account.status !== 'valid') {
    throw new AcmeAwsError(
      'acme-protocol',
      `the ACME account is ${account.status}; create a new one by deleting the stored account`,
    );
  }
  if (!response.location)
    throw new AcmeAwsError('acme-protocol', 'newAccount answered without a Location (account URL)');
  return { url: response.location, status: response.status };
}

/**
 * Finds the account registered for `key`, or `undefined` when the CA knows none.
 * @see RFC 8555 §7.3.1 "If this field is present with the value 'true', then the server MUST NOT create a new
 * account if one does not already exist"
 */
export async function findAccount(transport: AcmeTransport, key: AccountKey): Promise<string | undefined> {
  try {
    return (await newAccountRequest(transport, key, { onlyReturnExisting: true }, undefined)).url;
  } catch (error) {
    if (error instanceof AcmeProblemError && error.acmeType === 'accountDoesNotExist') return undefined;
    throw error;
  }
}

/**
 * Returns a client for the stored account, or finds or creates one (once per CA: accounts are reused, never
 * re-registered on every run).
 * @see RFC 8555 §7.3
 */
export async function ensureAccount(
  transport: AcmeTransport,
  input: { stored?: AccountRecord; contact?: readonly string[]; eab?: ExternalAccountBinding },
): Promise<{ client: AcmeClient; record: AccountRecord; created: boolean }> {
  if (input.stored) {
    const key = await importAccountKey(input.stored.privateJwk);
    return {
      client: new AcmeClient(transport, key, input.stored.accountUrl),
      record: input.stored,
      created: false,
    };
  }
  const { key, privateJwk } = await createAccountKey();
  const payload: Record<string, unknown> = { termsOfServiceAgreed: true };
  if (input.contact && input.contact.length > 0) payload.contact = [...input.contact];
  try {
    const { url, status } = await newAccountRequest(transport, key, payload, input.eab);
    return {
      client: new AcmeClient(transport, key, url),
      record: { privateJwk, accountUrl: url },
      created: status === 201,
    };
  } catch (error) {
    if (
      input.eab &&
      error instanceof AcmeProblemError &&
      ['unauthorized', 'malformed', 'externalAccountRequired'].includes(error.acmeType ?? '')
    ) {
      throw new AcmeAwsError(
        'config-invalid',
        `the CA rejected the External Account Binding for key id "${input.eab.keyId}": ${error.problem.detail ?? error.acmeType}; check the key id and HMAC secret`,
        { cause: error },
      );
    }
    throw error;
  }
}
