import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { provisionTestBed } from './provision';

/** The test bed's own TLS material: a CA that Node trusts per fetch, and a server certificate it signed. */
export interface TestBedTls {
  /** The test-bed CA certificate (PEM): trust this to talk to Pebble, challtestsrv's DoH or the fault proxy. */
  readonly caPem: string;
  /** Path of the CA certificate file, for tools that take a file (lego, certbot). */
  readonly caPath: string;
  /** Server certificate for `localhost`, 127.0.0.1 and ::1, signed by the CA. */
  readonly certPath: string;
  /** Private key of the server certificate (never printed). */
  readonly keyPath: string;
}

const files = ['ca.pem', 'ca-key.pem', 'cert.pem', 'key.pem'] as const;
const cached = new Map<string, TestBedTls>();

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** True when every file exists and the server certificate stays valid for at least 30 more days. */
function usable(dir: string): boolean {
  if (!files.every((name) => existsSync(join(dir, name)))) return false;
  try {
    openssl(['x509', '-checkend', String(30 * 86_400), '-noout', '-in', 'cert.pem'], dir);
    return true;
  } catch {
    return false;
  }
}

function generate(dir: string): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl(
    [
      'req',
      '-x509',
      '-new',
      ...ec,
      '-keyout',
      'ca-key.pem',
      '-out',
      'ca.pem',
      '-days',
      '3650',
      '-subj',
      '/CN=acme-ari-aws test bed CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  openssl(['req', '-new', ...ec, '-keyout', 'key.pem', '-out', 'server.csr', '-subj', '/CN=localhost'], dir);
  writeFileSync(
    join(dir, 'server.ext'),
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '',
    ].join('\n'),
  );
  // 800 days: under the 825-day ceiling some TLS clients enforce; `usable` renews it 30 days before expiry.
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-set_serial',
      `0x${Date.now().toString(16)}`,
      '-days',
      '800',
      '-extfile',
      'server.ext',
      '-out',
      'cert.pem',
    ],
    dir,
  );
}

/**
 * Makes (once per cache folder, then reuses) the test bed's CA and a `localhost`/127.0.0.1 server certificate
 * with openssl in `<cache>/tls/`.
 */
export function testBedTls(cacheDir: string = provisionTestBed()): TestBedTls {
  const known = cached.get(cacheDir);
  if (known) return known;
  const dir = join(cacheDir, 'tls');
  if (!usable(dir)) {
    // Build in a private folder and rename it into place, so parallel workers never read half-written files.
    mkdirSync(cacheDir, { recursive: true });
    const scratch = mkdtempSync(join(cacheDir, 'tls-'));
    try {
      generate(scratch);
      if (!usable(dir)) {
        rmSync(dir, { recursive: true, force: true });
        renameSync(scratch, dir);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const tls: TestBedTls = {
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    caPath: join(dir, 'ca.pem'),
    certPath: join(dir, 'cert.pem'),
    keyPath: join(dir, 'key.pem'),
  };
  cached.set(cacheDir, tls);
  return tls;
}
