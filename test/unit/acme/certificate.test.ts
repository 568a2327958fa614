import { describe, expect, it } from 'vitest';
import {
  alternateLinks,
  type DownloadedCertificate,
  downloadCertificate,
  selectChain,
} from '../../../functions/core/acme/certificate';
import { AcmeClient } from '../../../functions/core/acme/client';
import { createAccountKey } from '../../../functions/core/acme/jws';
import { AcmeTransport } from '../../../functions/core/acme/transport';
import { DIRECTORY_URL, FakeCa, ORIGIN } from './fake-ca';

describe('alternateLinks', () => {
  it.each<[string, string | null, string[]]>([
    ['no header', null, []],
    ['empty header', '', []],
    ['one alternate', '<https://ca.test/cert/1/1>;rel="alternate"', ['https://ca.test/cert/1/1']],
    [
      'unquoted rel with spaces',
      '<https://ca.test/cert/1/1> ; rel = alternate',
      ['https://ca.test/cert/1/1'],
    ],
    ['case-insensitive rel', '<https://ca.test/c/2>; REL="Alternate"', ['https://ca.test/c/2']],
    [
      'alternates mixed with an index link (as fetch joins several Link headers)',
      '<https://ca.test/dir>;rel="index", <https://ca.test/cert/1/1>;rel="alternate", <https://ca.test/cert/1/2>;rel="alternate"',
      ['https://ca.test/cert/1/1', 'https://ca.test/cert/1/2'],
    ],
    [
      'a relation list containing alternate',
      '<https://ca.test/c/4>; rel="up alternate"',
      ['https://ca.test/c/4'],
    ],
    ['a different relation that starts with alternate', '<https://ca.test/c/5>; rel="alternates"', []],
    ['a link without rel', '<https://ca.test/c/6>; title="alternate"', []],
    ['only an up link', '<https://ca.test/issuer>;rel="up"', []],
    [
      'a link with a title before rel',
      '<https://ca.test/c/3>; title="ISRG X2"; rel="alternate"',
      ['https://ca.test/c/3'],
    ],
  ])('%s', (_, header, expected) => {
    expect(alternateLinks(header)).toEqual(expected);
  });
});

describe('downloadCertificate', () => {
  it('downloads the default chain and every alternate one', async () => {
    const pem = (n: string) => `-----BEGIN CERTIFICATE-----\n${n}\n-----END CERTIFICATE-----\n`;
    const chain = (body: string, link?: string) => {
      const headers: Record<string, string> = { 'content-type': 'application/pem-certificate-chain' };
      if (link) headers.link = link;
      return new Response(body, { headers });
    };
    const ca = new FakeCa()
      .on('/cert/1', () =>
        chain(pem('default'), `<${ORIGIN}/cert/1/1>;rel="alternate", <${ORIGIN}/dir>;rel="index"`),
      )
      .on('/cert/1/1', () => chain(pem('alternate')));
    const transport = new AcmeTransport({
      directoryUrl: DIRECTORY_URL,
      fetch: ca.fetch,
      clock: { now: () => new Date('2025-06-01T12:00:00Z') },
      sleep: async () => {},
    });
    const client = new AcmeClient(transport, (await createAccountKey()).key, `${ORIGIN}/acct/1`);
    const downloaded = await downloadCertificate(client, `${ORIGIN}/cert/1`);
    expect(downloaded).toEqual({ pem: pem('default'), alternates: [pem('alternate')] });
    // Both are POST-as-GET with the certificate media type.
    for (const request of [...ca.to('/cert/1'), ...ca.to('/cert/1/1')]) {
      expect(request.payload).toBe('');
      expect(request.headers.get('accept')).toBe('application/pem-certificate-chain');
    }
  });

  it('refuses an alternate chain on another origin', async () => {
    const ca = new FakeCa().on(
      '/cert/1',
      () =>
        new Response('pem', {
          headers: {
            'content-type': 'application/pem-certificate-chain',
            link: '<https://evil.test/chain>;rel="alternate"',
          },
        }),
    );
    const transport = new AcmeTransport({
      directoryUrl: DIRECTORY_URL,
      fetch: ca.fetch,
      clock: { now: () => new Date('2025-06-01T12:00:00Z') },
      sleep: async () => {},
    });
    const client = new AcmeClient(transport, (await createAccountKey()).key, `${ORIGIN}/acct/1`);
    await expect(downloadCertificate(client, `${ORIGIN}/cert/1`)).rejects.toThrow(
      /alternate chain link points to https:\/\/evil\.test/,
    );
  });
});

describe('selectChain', () => {
  const downloaded: DownloadedCertificate = { pem: 'DEFAULT', alternates: ['ALT-1', 'ALT-2'] };
  // The top of each chain: who issued it and what it is called.
  const tops: Record<string, readonly string[]> = {
    DEFAULT: ['R11', 'ISRG Root X1'],
    'ALT-1': ['ISRG Root X1', 'DST Root CA X3'],
    'ALT-2': ['E6', 'ISRG Root X2'],
  };
  const issuerNames = (pem: string) => tops[pem] ?? [];

  it.each<[string, string | undefined, string]>([
    ['no preference: the default chain', undefined, 'DEFAULT'],
    ['empty preference: the default chain', '', 'DEFAULT'],
    ['preferred root that tops the default chain', 'ISRG Root X1', 'DEFAULT'],
    ['preferred root only an alternate has', 'DST Root CA X3', 'ALT-1'],
    ['preference is case-insensitive and trimmed', '  isrg root x2 ', 'ALT-2'],
    ['unknown preference falls back to the default chain', 'Some Other Root', 'DEFAULT'],
  ])('%s', (_, preferred, expected) => {
    expect(selectChain(downloaded, preferred, issuerNames)).toBe(expected);
  });
});
