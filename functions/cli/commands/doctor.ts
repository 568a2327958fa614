import { NodeDnsLookup } from '../../adapters/dns-resolver';
import { Route53ZoneDirectory } from '../../adapters/route53-zones';
import { ACM_DEFAULT_QUOTAS } from '../../core/doctor/acm-quota';
import type { CheckStatus, DoctorCheck } from '../../core/doctor/check';
import { type DoctorReport, runDoctor } from '../../core/doctor/run-doctor';
import { permissionsFor } from '../doctor-permissions';
import { type CliIo, EXIT, UsageError } from '../failure';
import { renderTable } from '../table';
import type { Target } from '../target';

/** Flags of `acme-ari doctor`. */
export interface DoctorArgs {
  readonly id?: string;
  readonly json: boolean;
  /** `host[:port]` of resolvers to ask instead of the system's (repeatable). */
  readonly dnsServers?: readonly string[];
  /** `CA=DOMAIN[,DOMAIN]` or `DOMAIN` (for every CA without a known identity), repeatable. */
  readonly caaIdentities?: readonly string[];
  readonly acmImportQuota?: string;
  readonly acmCertificateQuota?: string;
}

const DAY_MS = 86_400_000;

function positiveInteger(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`${flag} needs a whole number above 0, not "${value}"`);
  return n;
}

/** `--caa-identity pebble=pebble.test,ca.test` or `--caa-identity ca.test` (every CA without one) as a map. */
export function parseCaaIdentities(values: readonly string[] = []): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const value of values) {
    const [ca, domains] = value.includes('=') ? value.split('=', 2) : ['*', value];
    const list = (domains ?? '')
      .split(',')
      .map((d) => d.trim().toLowerCase())
      .filter(Boolean);
    if (!ca || list.length === 0 || list.some((d) => !/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(d)))
      throw new UsageError(
        `--caa-identity needs CA=DOMAIN (the CA's issuer domain name in CAA, e.g. letsencrypt.org), not "${value}"`,
      );
    out[ca] = [...(out[ca] ?? []), ...list];
  }
  return out;
}

const MARK: Record<CheckStatus, string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL' };

/** Findings wider than this wrap at spaces, so one long fix does not widen every row. */
const FINDING_WIDTH = 100;

function wrap(text: string, indent = ''): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > FINDING_WIDTH) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}

function row(owner: string, c: DoctorCheck): (string | string[])[] {
  const finding = [...wrap(c.message), ...(c.fix ? wrap(`→ ${c.fix}`, '  ') : [])];
  return [owner, MARK[c.status], c.check, c.subject, finding];
}

/** The report as a table: one row per check, the fix under its finding, then a one-line summary. */
export function renderDoctor(report: DoctorReport): string {
  const rows = [
    ...report.certificates.flatMap((cert) => cert.checks.map((c) => row(cert.id, c))),
    ...report.deployment.map((c) => row('(deployment)', c)),
  ];
  const all = [...report.certificates.flatMap((c) => c.checks), ...report.deployment];
  const count = (s: CheckStatus) => all.filter((c) => c.status === s).length;
  return [
    renderTable(['CERTIFICATE', 'RESULT', 'CHECK', 'SUBJECT', 'FINDING / WHAT TO DO'], rows),
    '',
    `${report.certificates.length} certificate${report.certificates.length === 1 ? '' : 's'}: ${count('ok')} ok, ${count('warn')} warnings, ${count('fail')} failed`,
  ].join('\n');
}

/**
 * `acme-ari doctor [id]`: pre-flight checks before the first order (CAA, `_acme-challenge` delegation, the
 * zones' NS delegation, CloudFront rules, the profile's name limit, each renewal's AWS calls against the renewer
 * role's live identity policies) and the projected ACM quota use. Exit 1 when
 * a check failed, 0 otherwise (warnings included).
 */
export async function doctorCommand(target: Target, args: DoctorArgs, io: CliIo): Promise<number> {
  const quotas = {
    importsPerYear: positiveInteger(
      '--acm-import-quota',
      args.acmImportQuota,
      ACM_DEFAULT_QUOTAS.importsPerYear,
    ),
    importedCertificates: positiveInteger(
      '--acm-certificate-quota',
      args.acmCertificateQuota,
      ACM_DEFAULT_QUOTAS.importedCertificates,
    ),
  };
  const caaIdentities = parseCaaIdentities(args.caaIdentities);
  const { config, store } = target.runtime;
  const dnsServers = args.dnsServers?.length ? args.dnsServers : target.dnsServers;
  const zones = new Route53ZoneDirectory({
    clientConfig: {
      region: config.region,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(config.credentials ? { credentials: config.credentials } : {}),
    },
  });
  const permissions = await permissionsFor(target);
  try {
    const report = await runDoctor(
      {
        dns: new NodeDnsLookup(dnsServers ? { servers: dnsServers } : {}),
        zones,
        accountUrl: async (directoryUrl) => (await store.getAccount(directoryUrl))?.accountUrl,
        issuedLifetimeDays: async (id) => {
          const current = (await store.getState(id))?.current;
          return current
            ? (Date.parse(current.notAfter) - Date.parse(current.notBefore)) / DAY_MS
            : undefined;
        },
        permissions: permissions.deps,
      },
      await store.loadInventory(),
      { defaultRegion: config.region, caaIdentities, quotas, ...(args.id ? { only: args.id } : {}) },
    );
    if (args.id && report.certificates.length === 0) {
      const problem = report.problems.find((p) => p.path.startsWith('certificates'));
      throw new UsageError(
        `no valid certificate "${args.id}" in the inventory of ${target.description}${problem ? ` (${problem.path}: ${problem.message})` : ''}`,
      );
    }
    if (args.json) {
      io.out(JSON.stringify(report, null, 2));
    } else {
      io.out(renderDoctor(report));
      for (const p of report.problems) io.err(`inventory ${p.path}: ${p.message}`);
    }
    return report.status === 'fail' ? EXIT.failed : EXIT.ok;
  } finally {
    zones.destroy();
    permissions.destroy();
  }
}
