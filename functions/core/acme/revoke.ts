import type { AcmeClient } from './client';

/**
 * Revokes a certificate with the account key.
 * @see RFC 8555 §7.6 "The body of the POST ... certificate (required, string): The certificate to be revoked, in
 * the base64url-encoded version of the DER format"
 */
export async function revokeCertificate(
  client: AcmeClient,
  certificateDer: Uint8Array,
  reason?: number,
): Promise<void> {
  const { revokeCert } = await client.transport.directory();
  const payload: Record<string, unknown> = { certificate: Buffer.from(certificateDer).toString('base64url') };
  if (reason !== undefined) payload.reason = reason;
  await client.transport.post(revokeCert, payload, { key: client.key, kid: client.accountUrl }, 'none');
}
