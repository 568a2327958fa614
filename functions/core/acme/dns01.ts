import { base64url } from 'jose';

/** One TXT value to publish for a dns-01 challenge. */
export interface DnsTxtRecord {
  /** The identifier the record proves, as ordered: `example.com` or `*.example.com`. */
  readonly identifier: string;
  /** Fully qualified record name without trailing dot: `_acme-challenge.example.com`. */
  readonly name: string;
  /** The base64url SHA-256 digest of the key authorization. */
  readonly value: string;
}

/**
 * The dns-01 validation name of an identifier as ordered: a wildcard's is its base domain's, so `example.com` and
 * `*.example.com` share one.
 * @see RFC 8555 §8.4 "The client constructs the validation domain name by prepending the label
 * '_acme-challenge' to the domain name being validated"
 */
export function dns01RecordName(identifier: string): string {
  return `_acme-challenge.${identifier.replace(/^\*\./, '')}`;
}

/**
 * The TXT record that answers a dns-01 challenge. A wildcard authorization names the base domain, so
 * `example.com` and `*.example.com` share one record name with two values.
 * @see RFC 8555 §8.4 "The client constructs the validation domain name by prepending the label
 * '_acme-challenge' to the domain name being validated, then provisions a TXT record with the digest value"
 */
export async function dns01Record(input: {
  domain: string;
  wildcard: boolean;
  token: string;
  thumbprint: string;
}): Promise<DnsTxtRecord> {
  const keyAuthorization = `${input.token}.${input.thumbprint}`;
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(keyAuthorization));
  const domain = input.domain.replace(/^\*\./, '');
  return {
    identifier: input.wildcard ? `*.${domain}` : domain,
    name: dns01RecordName(domain),
    value: base64url.encode(new Uint8Array(digest)),
  };
}
