import { ChangeResourceRecordSetsCommand, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../../functions/core/doctor/run-doctor';

// Quiet Powertools before the handlers are imported; moto accepts any credentials, the SDK chain reads these.
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_ACCESS_KEY_ID = 'testing';
process.env.AWS_SECRET_ACCESS_KEY = 'testing';
const { issueDemoInventory, startDemoBed } = await import('../../../functions/cli/demo-bed');
const { runCli } = await import('../../../functions/cli/run');
type DemoBed = Awaited<ReturnType<typeof startDemoBed>>;

let demo: DemoBed;
let env: NodeJS.ProcessEnv;
let accountUrl: string;

/** Runs the CLI in this process against the bed, as an operator would against a deployment. */
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { io: { out: (t) => out.push(t), err: (t) => err.push(t) }, env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** `doctor` asking the bed's DNS responder, with Pebble's CAA identity named as an operator would. */
const doctor = (...argv: string[]) =>
  cli('doctor', ...argv, '--dns-server', demo.bed.dns.address, '--caa-identity', 'pebble=pebble.test');

async function put(zoneId: string, sets: ResourceRecordSet[]) {
  await demo.bed.clients.route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: sets.map((set) => ({ Action: 'UPSERT', ResourceRecordSet: set })) },
    }),
  );
}

const caa = (name: string, ...values: string[]): ResourceRecordSet => ({
  Name: name,
  Type: 'CAA',
  TTL: 60,
  ResourceRecords: values.map((Value) => ({ Value })),
});

beforeAll(async () => {
  demo = await startDemoBed();
  await issueDemoInventory(demo, () => {});
  env = {
    STATE_BUCKET: demo.config.bucket,
    AWS_REGION: demo.config.region,
    AWS_ENDPOINT_URL: demo.bed.moto.endpoint,
  };
  const pebble = demo.inventory.cas.pebble!;
  accountUrl = (await demo.runtime.store.getAccount(pebble.directoryUrl))!.accountUrl;
  const zone = async (name: string) => demo.bed.createZone(name);
  const zoneIds = Object.fromEntries(
    await Promise.all(
      ['allow.test', 'forbid.test', 'httponly.test', 'broken.test', 'parent.test', 'sub.parent.test'].map(
        async (name) => [name, await zone(name)] as const,
      ),
    ),
  );
  const shopZone = (
    await demo.bed.clients.route53.send(
      new (
        await import('@aws-sdk/client-route-53')
      ).ListHostedZonesByNameCommand({ DNSName: 'shop.test' }),
    )
  ).HostedZones![0]!.Id!;
  // The issued certificate's CA, bound to the account the renewer registered and to dns-01 (RFC 8657).
  await put(shopZone, [
    caa(
      'shop.test',
      `0 issue "pebble.test; accounturi=${accountUrl}; validationmethods=dns-01"`,
      '0 iodef "mailto:ops@shop.test"',
    ),
  ]);
  // Found by climbing from www.allow.test (RFC 8659 §3).
  await put(zoneIds['allow.test']!, [caa('allow.test', '0 issue "letsencrypt.org"')]);
  await put(zoneIds['forbid.test']!, [caa('forbid.test', '0 issue "sectigo.com"')]);
  await put(zoneIds['httponly.test']!, [
    caa('httponly.test', '0 issue "letsencrypt.org; validationmethods=http-01"'),
  ]);
  // A delegation left behind by another DNS provider: the CNAME points into no zone managed here.
  await put(zoneIds['broken.test']!, [
    {
      Name: '_acme-challenge.broken.test',
      Type: 'CNAME',
      TTL: 60,
      ResourceRecords: [{ Value: 'broken-test.acme-dns.example.invalid' }],
    },
  ]);
  // sub.parent.test has a hosted zone here, but its parent delegates it to other name servers.
  await put(zoneIds['parent.test']!, [
    {
      Name: 'sub.parent.test',
      Type: 'NS',
      TTL: 60,
      ResourceRecords: [{ Value: 'ns1.other-dns.test' }, { Value: 'ns2.other-dns.test' }],
    },
  ]);
  const inventory = (await demo.runtime.store.loadInventory()) as { certificates: unknown[] };
  inventory.certificates.push(
    { id: 'caa-allowed', domains: ['www.allow.test'] },
    { id: 'caa-forbidden', domains: ['forbid.test'] },
    { id: 'caa-http-only', domains: ['httponly.test'] },
    { id: 'broken-cname', domains: ['broken.test'] },
    { id: 'ns-mismatch', domains: ['www.sub.parent.test'], profile: 'shortlived', cloudfront: true },
  );
  await demo.bed.putInventory(demo.config.bucket, inventory);
});

afterAll(async () => {
  await demo?.stop();
});

function checksOf(report: DoctorReport, id: string) {
  const cert = report.certificates.find((c) => c.id === id);
  expect(cert, id).toBeDefined();
  return cert!.checks;
}

describe('acme-ari doctor on the bed (DNS responder serving moto’s Route 53)', () => {
  it('--json reports every check per certificate, and exits 1 because some fail', async () => {
    const { code, out } = await doctor('--json');
    expect(code).toBe(1);
    const report = JSON.parse(out) as DoctorReport;
    expect(report.status).toBe('fail');
    expect(report.problems).toEqual([]);
    expect(report.certificates.map((c) => [c.id, c.status])).toEqual([
      ['shop', 'ok'],
      ['api-multi-zone', 'ok'],
      ['legacy-rsa', 'ok'],
      ['caa-allowed', 'ok'],
      ['caa-forbidden', 'fail'],
      ['caa-http-only', 'fail'],
      ['broken-cname', 'fail'],
      ['ns-mismatch', 'fail'],
    ]);

    // The CAA record binds the CA to the stored account and dns-01, for the apex and the wildcard alike.
    const shop = checksOf(report, 'shop');
    expect(shop.filter((c) => c.check === 'caa').map((c) => [c.subject, c.status])).toEqual([
      ['shop.test', 'ok'],
      ['*.shop.test', 'ok'],
    ]);
    expect(shop.find((c) => c.check === 'caa')!.message).toContain('with dns-01 and this account');
    expect(shop.find((c) => c.check === 'nameservers')).toMatchObject({
      status: 'ok',
      subject: expect.stringMatching(/^shop\.test /),
    });

    expect(checksOf(report, 'caa-allowed').find((c) => c.check === 'caa')!.message).toMatch(
      /^CAA at allow\.test allows letsencrypt\.org/,
    );
    expect(checksOf(report, 'caa-forbidden').find((c) => c.check === 'caa')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('allows sectigo.com (issue), not letsencrypt.org'),
      fix: 'add forbid.test. CAA 0 issue "letsencrypt.org; validationmethods=dns-01"',
    });
    expect(checksOf(report, 'caa-http-only').find((c) => c.check === 'caa')).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('validationmethods other than dns-01'),
    });
    expect(checksOf(report, 'broken-cname').find((c) => c.check === 'delegation')).toMatchObject({
      status: 'fail',
      subject: '_acme-challenge.broken.test',
      message:
        'CNAME _acme-challenge.broken.test → broken-test.acme-dns.example.invalid: no hosted zone this deployment manages contains broken-test.acme-dns.example.invalid',
    });
    const mismatch = checksOf(report, 'ns-mismatch');
    expect(mismatch.find((c) => c.check === 'delegation')).toMatchObject({ status: 'ok' });
    expect(mismatch.find((c) => c.check === 'nameservers')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(
        /^the parent delegates sub\.parent\.test to ns1\.other-dns\.test ns2\.other-dns\.test, not to this hosted zone's ns-/,
      ),
    });
    expect(
      mismatch
        .filter((c) => c.check.startsWith('cloudfront') || c.check === 'name-limit')
        .map((c) => [c.check, c.status]),
    ).toEqual([
      ['cloudfront-key', 'ok'],
      ['cloudfront-region', 'ok'],
      ['name-limit', 'ok'],
    ]);

    // The projection sums the whole inventory per region: 8 certificates in us-east-1, one of them short-lived.
    expect(
      report.deployment.find((c) => c.check === 'acm-imports' && c.subject === 'us-east-1')!.message,
    ).toMatch(
      /^about 159 imports a year projected in us-east-1, against a quota of 5000 \(largest: ns-mismatch 110\/year/,
    );
    expect(
      report.deployment.find((c) => c.check === 'acm-certificates' && c.subject === 'eu-west-1'),
    ).toMatchObject({
      status: 'ok',
      message: '1 imported certificates in eu-west-1, against a quota of 2500',
    });
    expect(report.deployment.find((c) => c.check === 'permissions')).toMatchObject({ status: 'warn' });
  });

  it('one certificate whose checks pass exits 0, and the table shows each check', async () => {
    const { code, out } = await doctor('shop');
    expect(code).toBe(0);
    expect(out.split('\n')[0]).toMatch(/^CERTIFICATE\s+RESULT\s+CHECK\s+SUBJECT\s+FINDING \/ WHAT TO DO$/);
    expect(out).toMatch(/^shop\s+ok\s+caa\s+\*\.shop\.test\s+CAA at shop\.test allows pebble\.test/m);
    expect(out).toMatch(
      /^shop\s+ok\s+delegation\s+_acme-challenge\.shop\.test\s+_acme-challenge\.shop\.test is in hosted zone shop\.test/m,
    );
    expect(out).not.toMatch(/FAIL/);
    expect(out).toMatch(/^1 certificate: \d+ ok, 1 warnings, 0 failed$/m);
  });

  it('a failing check prints what to do, and exits 1', async () => {
    const { code, out } = await doctor('caa-http-only');
    expect(code).toBe(1);
    expect(out).toMatch(
      /^caa-http-only\s+FAIL\s+caa\s+httponly\.test\s+CAA at httponly\.test allows this CA only/m,
    );
    // The fix sits under the finding, wrapped to the column: a record that allows dns-01.
    expect(out.replace(/\n\s+/g, ' ')).toContain(
      '→ add httponly.test. CAA 0 issue "letsencrypt.org; validationmethods=dns-01", or add dns-01 to the existing record',
    );
  });

  it('without a CAA identity for a custom CA, CAA is a warning, not a failure', async () => {
    const { code, out } = await cli('doctor', 'shop', '--json', '--dns-server', demo.bed.dns.address);
    expect(code).toBe(0);
    const caaChecks = (JSON.parse(out) as DoctorReport).certificates[0]!.checks.filter(
      (c) => c.check === 'caa',
    );
    expect(caaChecks.map((c) => c.status)).toEqual(['warn', 'warn']);
    expect(caaChecks[0]!.message).toContain('unknown, cannot check');
  });

  it('lower quotas given by flag are judged against', async () => {
    const { code, out } = await doctor('shop', '--json', '--acm-import-quota', '150');
    expect(code).toBe(1);
    const report = JSON.parse(out) as DoctorReport;
    expect(
      report.deployment.find((c) => c.check === 'acm-imports' && c.subject === 'us-east-1'),
    ).toMatchObject({ status: 'fail' });
  });

  it('an unknown id or a bad flag is a usage error (exit 2)', async () => {
    expect((await doctor('nope')).code).toBe(2);
    expect((await doctor('--acm-import-quota', 'many')).code).toBe(2);
    expect(
      (await cli('doctor', '--caa-identity', 'pebble=', '--dns-server', demo.bed.dns.address)).code,
    ).toBe(2);
  });
});
