import { AcmeAwsError } from '../errors';

/**
 * A request to the CA that failed before any answer (connection refused or reset, DNS, TLS): the CA is not
 * reachable from here right now. Its code stays `acme-protocol`; the class lets CA failover tell "the CA did not
 * answer" from "the CA answered something malformed".
 */
export class CaUnreachableError extends AcmeAwsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('acme-protocol', message, options);
    this.name = 'CaUnreachableError';
  }
}
