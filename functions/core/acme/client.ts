import type { AccountKey } from './jws';
import type { AcmeResponse, AcmeTransport } from './transport';

/**
 * An ACME account bound to a transport: every request is signed with the account key and its `kid`.
 * @see RFC 8555 §6.2 "For all other requests, the request is signed using an existing account, and there MUST be a
 * 'kid' field"
 */
export class AcmeClient {
  readonly transport: AcmeTransport;
  readonly key: AccountKey;
  readonly accountUrl: string;

  constructor(transport: AcmeTransport, key: AccountKey, accountUrl: string) {
    this.transport = transport;
    this.key = key;
    this.accountUrl = accountUrl;
  }

  /** A signed POST with a JSON payload. */
  post<T = unknown>(url: string, payload: unknown): Promise<AcmeResponse<T>> {
    return this.transport.post<T>(url, payload, { key: this.key, kid: this.accountUrl });
  }

  /** POST-as-GET. @see RFC 8555 §6.3 */
  postAsGet<T = unknown>(url: string, expect: 'json' | 'certificate' = 'json'): Promise<AcmeResponse<T>> {
    return this.transport.post<T>(url, null, { key: this.key, kid: this.accountUrl }, expect);
  }
}
