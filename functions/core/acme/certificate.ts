import type { AcmeClient } from './client';

/** A downloaded certificate chain and the alternate chains the CA offered. */
export interface DownloadedCertificate {
  readonly pem: string;
  readonly alternates: readonly string[];
}

/**
 * The targets of the Link header fields with relation `relation` (compared whole and case-insensitively, so
 * "alternates" is not "alternate" and "up alternate" holds it).
 * @see RFC 8288 §3.3 "The 'rel' parameter can ... contain multiple relation types ... separated by spaces"
 */
export function linkTargets(link: string | null, relation: string): string[] {
  if (!link) return [];
  const out: string[] = [];
  for (const match of link.matchAll(/<([^>]+)>\s*((?:;\s*[^;,]+)*)/g)) {
    const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))/i.exec(match[2] ?? '');
    const types = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
    if (types.includes(relation)) out.push(match[1]!);
  }
  return out;
}

/** Extracts `rel="alternate"` targets from Link headers (RFC 8555 §7.4.2 alternate chains). */
export function alternateLinks(link: string | null): string[] {
  return linkTargets(link, 'alternate');
}

/**
 * Downloads the certificate chain and every alternate chain.
 * @see RFC 8555 §7.4.2 "The server MAY provide one or more link relation header fields [RFC8288] with relation
 * 'alternate'. Each such field SHOULD express an alternative certificate chain"
 */
export async function downloadCertificate(client: AcmeClient, url: string): Promise<DownloadedCertificate> {
  const response = await client.postAsGet<string>(url, 'certificate');
  const alternates: string[] = [];
  for (const alt of alternateLinks(response.headers.get('link')).slice(0, 4)) {
    const other = await client.postAsGet<string>(
      client.transport.checkUrl(alt, 'alternate chain link'),
      'certificate',
    );
    alternates.push(other.body);
  }
  return { pem: response.body, alternates };
}

/**
 * Picks the chain whose topmost certificate was issued by (or is) `preferred`, falling back to the default chain,
 * as certbot's `--preferred-chain` does. `issuerNames` returns the subject and issuer common names of a chain's
 * last certificate.
 */
export function selectChain(
  downloaded: DownloadedCertificate,
  preferred: string | undefined,
  issuerNames: (pem: string) => readonly string[],
): string {
  if (!preferred) return downloaded.pem;
  const want = preferred.trim().toLowerCase();
  for (const pem of [downloaded.pem, ...downloaded.alternates]) {
    if (issuerNames(pem).some((name) => name.toLowerCase() === want)) return pem;
  }
  return downloaded.pem;
}
