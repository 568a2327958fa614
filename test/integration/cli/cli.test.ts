import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteCertificateCommand, ListTagsForCertificateCommand } from '@aws-sdk/client-acm';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CERTIFICATE_ID_TAG, MANAGED_BY_TAG } from '../../../functions/adapters/acm-importer';
import type { StatusReport } from '../../../functions/cli/status-report';
import { AcmeTransport, ensureAccount, revokeCertificate } from '../../../functions/core/acme';
import { DEPLOYMENT_KEY, type Deployment } from '../../../functions/core/contracts/deployment';
import { parseCertificate } from '../../../functions/core/pki';
import { LOOK_NOW, parseScheduleIndex } from '../../../functions/core/renewal/schedule-index';
import { liveProcesses } from '../../../testbed/processes';
import { testBedTls } from '../../../testbed/tls';
import { overwriteState } from '../../support/fakes';

// Quiet Powertools before the handlers are imported; moto accepts any credentials, the SDK chain reads these.
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.AWS_ACCESS_KEY_ID = 'testing';
process.env.AWS_SECRET_ACCESS_KEY = 'testing';
const { issueDemoInventory, startDemoBed } = await import('../../../functions/cli/demo-bed');
const { runCli } = await import('../../../functions/cli/run');
type DemoBed = Awaited<ReturnType<typeof startDemoBed>>;

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
let demo: DemoBed;
let env: NodeJS.ProcessEnv;

/** Runs the CLI in this process against the shared bed, as an operator would against a deployment. */
async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    io: { out: (t) => out.push(t), err: (t) => err.push(t) },
    env,
    fetch: demo.config.fetch,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Runs the installed bin (bin/acme-ari.mjs) as a child process. */
function bin(argv: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; out: string; err: string }>((done) => {
    const child = spawn(process.execPath, ['bin/acme-ari.mjs', ...argv], {
      cwd: root,
      env: { ...process.env, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
    });
    child.once('exit', (code) => done({ code, out, err }));
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      answer(true);
    });
    socket.once('error', () => answer(false));
  });
}

async function stateJson(id: string): Promise<string> {
  const object = await demo.bed.clients.s3.send(
    new GetObjectCommand({ Bucket: demo.config.bucket, Key: `certificates/${id}/state.json` }),
  );
  return object.Body!.transformToString();
}

/** The scheduler's index as stored (body and version), and its rows parsed. */
async function scheduleIndex() {
  const object = await demo.bed.clients.s3.send(
    new GetObjectCommand({ Bucket: demo.config.bucket, Key: 'schedule-index.json' }),
  );
  const body = await object.Body!.transformToString();
  const index = parseScheduleIndex(JSON.parse(body))!;
  const lookAt = (id: string) => {
    const at = index.lookAt[index.ids.indexOf(id)]!;
    return at === LOOK_NOW ? index.updatedAt : new Date(at).toISOString();
  };
  return { body, etag: object.ETag!, index, lookAt };
}

beforeAll(async () => {
  demo = await startDemoBed();
  await issueDemoInventory(demo, () => {});
  env = {
    STATE_BUCKET: demo.config.bucket,
    RENEWAL_QUEUE_URL: demo.config.queueUrl,
    AWS_REGION: demo.config.region,
    AWS_ENDPOINT_URL: demo.bed.moto.endpoint,
  };
});

afterAll(async () => {
  await demo?.stop();
});

describe('acme-ari against a deployment (the bed’s moto and Pebble)', () => {
  it('status prints one row per certificate with expiry, ARI window, last result and ACM ARNs', async () => {
    const { code, out } = await cli('status');
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(
      /^CERTIFICATE\s+NAMES\s+ISSUER\s+EXPIRES \(UTC\)\s+ARI WINDOW \(UTC\)\s+RENEW AT/,
    );
    for (const id of ['shop', 'api-multi-zone', 'legacy-rsa'])
      expect(out).toMatch(
        new RegExp(`^${id}\\s+\\S+\\s+Pebble Intermediate CA \\w+\\s+\\d{4}-.*renewed \\(new\\)`, 'm'),
      );
    expect(out).toMatch(/\(90\.0 days\)/);
    expect(out).toMatch(/eu-west-1 [0-9a-f]{8}…/);
  });

  it('status --json parses back to the stored state', async () => {
    const { code, out } = await cli('status', '--json');
    expect(code).toBe(0);
    const report = JSON.parse(out) as StatusReport;
    expect(report.problems).toEqual([]);
    expect(report.certificates.map((c) => c.id)).toEqual(['shop', 'api-multi-zone', 'legacy-rsa']);
    const { index, lookAt } = await scheduleIndex();
    expect(report.scheduleIndexUpdatedAt).toBe(index.updatedAt);
    for (const row of report.certificates) {
      const state = (await demo.runtime.store.getState(row.id))!;
      expect(row).toMatchObject({
        serial: state.current!.serial,
        notAfter: state.current!.notAfter,
        ari: { windowStart: state.ari!.windowStart, selectedTime: state.ari!.selectedTime },
        // When the scheduler looks next is its index's to say, not the state's.
        nextCheckAt: lookAt(row.id),
        nextCheckFrom: 'schedule-index',
        lastResult: 'renewed',
        failures: 0,
      });
      expect(row.acm).toEqual(Object.fromEntries(Object.entries(state.acm).map(([r, e]) => [r, e.arn])));
      expect(row.issuer).toMatch(/^Pebble Intermediate CA/);
    }
  });

  it('status shows the schedule index’s next check where it differs from the state’s, and never writes the index', async () => {
    const stored = await scheduleIndex();
    const row = stored.index.ids.indexOf('shop');
    // A pass that confirmed shop's window kept its next look in the index only (jittered): not the state's time.
    const state = (await demo.runtime.store.getState('shop'))!;
    const later = Date.parse(state.ari!.nextCheckAt) + 7 * 60 * 60_000 + 17 * 60_000;
    const seeded = { ...stored.index, lookAt: stored.index.lookAt.map((at, i) => (i === row ? later : at)) };
    const put = await demo.bed.clients.s3.send(
      new PutObjectCommand({
        Bucket: demo.config.bucket,
        Key: 'schedule-index.json',
        Body: JSON.stringify(seeded),
        ContentType: 'application/json',
      }),
    );
    try {
      const report = JSON.parse((await cli('status', '--json')).out) as StatusReport;
      expect(report.certificates.find((c) => c.id === 'shop')).toMatchObject({
        nextCheckAt: new Date(later).toISOString(),
        nextCheckFrom: 'schedule-index',
      });
      const table = await cli('status');
      expect(table.out).toMatch(
        new RegExp(
          `^shop\\s.*\\s${new Date(later).toISOString().slice(0, 16).replace('T', ' ')}\\s+renewed`,
          'm',
        ),
      );
      // Read-only: the index is the version the test wrote.
      expect((await scheduleIndex()).etag).toBe(put.ETag);
    } finally {
      await demo.bed.clients.s3.send(
        new PutObjectCommand({
          Bucket: demo.config.bucket,
          Key: 'schedule-index.json',
          Body: stored.body,
          ContentType: 'application/json',
        }),
      );
    }
  });

  it('status --fail-under exits 3 only when a certificate has fewer days left', async () => {
    const near = await cli('status', '--fail-under', '100');
    expect(near.code).toBe(3);
    expect(near.err).toMatch(/^shop: 90\.0 days left, fewer than 100$/m);
    expect((await cli('status', '--fail-under', '30')).code).toBe(0);
    expect((await cli('status', '--fail-under', 'soon')).code).toBe(2);
  });

  it('check decides as the scheduler would, as a dry run', async () => {
    const { code, out, err } = await cli('check');
    expect(code).toBe(0);
    for (const id of ['shop', 'api-multi-zone', 'legacy-rsa'])
      expect(out).toMatch(new RegExp(`^${id}\\s+no\\s+not-yet\\s+\\d{4}-`, 'm'));
    expect(err).toContain('dry run: nothing was written or enqueued');
    const one = await cli('check', 'legacy-rsa', '--json');
    expect(JSON.parse(one.out).checks.map((c: { id: string }) => c.id)).toEqual(['legacy-rsa']);
    const unknown = await cli('check', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe(
      'error: no valid certificate "nope" in the inventory of s3://demo-state (us-east-1)',
    );
  });

  it('check after a revocation reports ari-window due, without writing state or enqueueing', async () => {
    const store = demo.runtime.store;
    const before = (await store.getState('legacy-rsa'))!;
    const transport = new AcmeTransport({
      directoryUrl: demo.bed.directoryUrl,
      fetch: demo.bed.fetch,
      clock: { now: () => new Date() },
      sleep: async () => {},
    });
    const { client } = await ensureAccount(transport, {
      stored: (await store.getAccount(demo.bed.directoryUrl))!,
    });
    await revokeCertificate(
      client,
      parseCertificate((await store.getCertificate('legacy-rsa'))!.certPem).der,
    );
    // The ARI answer is cached until its Retry-After; make it due, as time would.
    await overwriteState(store, 'legacy-rsa', {
      ...before,
      ari: { ...before.ari!, nextCheckAt: new Date(0).toISOString() },
    });
    const stored = await stateJson('legacy-rsa');

    const { code, out } = await cli('check', 'legacy-rsa');
    expect(code).toBe(0);
    expect(out).toMatch(/^legacy-rsa\s+yes\s+ari-window\s/m);
    expect(await stateJson('legacy-rsa')).toBe(stored);
    expect((await demo.bed.drainQueue(demo.config.queueUrl!)).Records).toEqual([]);
  });

  it('renew enqueues {id, reason: manual, force} for the renewer', async () => {
    const { code, out } = await cli('renew', 'shop', '--force');
    expect(code).toBe(0);
    expect(out).toMatch(/^enqueued a forced renewal of shop \(message [\w-]+\)/);
    const event = await demo.bed.drainQueue(demo.config.queueUrl!);
    expect(event.Records.map((r) => JSON.parse(r.body))).toEqual([
      { id: 'shop', reason: 'manual', force: true },
    ]);

    const unknown = await cli('renew', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(
      /^error: no valid certificate "nope" .*\(known: shop, api-multi-zone, legacy-rsa\)$/,
    );
    const noQueue = await runCli(['renew', 'shop'], {
      io: { out: () => {}, err: () => {} },
      env: { ...env, RENEWAL_QUEUE_URL: undefined },
    });
    expect(noQueue).toBe(2);
  });

  it('renew --now renews in this process, with replaces, and reports the new serial', async () => {
    const before = (await demo.runtime.store.getState('legacy-rsa'))!;
    const { code, out, err } = await cli('renew', 'legacy-rsa', '--now', '--force');
    expect(code).toBe(0);
    const after = (await demo.runtime.store.getState('legacy-rsa'))!;
    expect(after.current!.serial).not.toBe(before.current!.serial);
    expect(out).toBe(
      `renewed legacy-rsa (forced): serial ${after.current!.serial}, expires ${after.current!.notAfter}, replaces ${before.current!.certId}`,
    );
    expect(err).toContain('order_placed id=legacy-rsa');
    expect(demo.orders.at(-1)).toMatchObject({
      names: ['legacy.example.test'],
      replaces: before.current!.certId,
    });

    const again = await cli('renew', 'legacy-rsa', '--now');
    expect(again.code).toBe(0);
    expect(again.out).toMatch(
      /^legacy-rsa is not due, nothing to do \(Renew at .*\); use --force to renew anyway$/,
    );
  });

  it('renew --now reads deployment.json and imports exactly as the renewer does (managed-by tag, forced limit)', async () => {
    const id = 'api-multi-zone';
    const state = (await demo.runtime.store.getState(id))!;
    const [region, entry] = Object.entries(state.acm)[0]!;
    const acm = demo.bed.clients.acm(region);
    // The ACM certificate was deleted by hand: the renewal must create a new one the renewer may update later.
    await acm.send(new DeleteCertificateCommand({ CertificateArn: entry.arn }));
    const deployment: Deployment = {
      serviceName: 'ops-deployment',
      region: demo.config.region,
      scheduleIntervalMinutes: 60,
      forcedRenewalIntervalMinutes: 120,
    };
    await demo.bed.clients.s3.send(
      new PutObjectCommand({
        Bucket: demo.config.bucket,
        Key: DEPLOYMENT_KEY,
        Body: JSON.stringify(deployment),
      }),
    );
    try {
      const first = await cli('renew', id, '--now', '--force');
      expect(first.code).toBe(0);
      const after = (await demo.runtime.store.getState(id))!;
      const arn = after.acm[region]!.arn;
      expect(arn).not.toBe(entry.arn);
      const tags = await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }));
      expect(tags.Tags).toEqual(
        expect.arrayContaining([
          { Key: MANAGED_BY_TAG, Value: 'ops-deployment' },
          { Key: CERTIFICATE_ID_TAG, Value: id },
        ]),
      );
      // The deployment's forced-renewal interval holds for the CLI too.
      const second = await cli('renew', id, '--now', '--force');
      expect(second.code).not.toBe(0);
      expect(second.out).toMatch(/next is allowed from .*forcedRenewalInterval/);
    } finally {
      await demo.bed.clients.s3.send(
        new DeleteObjectCommand({ Bucket: demo.config.bucket, Key: DEPLOYMENT_KEY }),
      );
      // Later tests force this certificate again: forget this test's forced order.
      const { lastForcedAt: _, ...rest } = JSON.parse(await stateJson(id)) as Record<string, unknown>;
      await demo.bed.clients.s3.send(
        new PutObjectCommand({
          Bucket: demo.config.bucket,
          Key: `certificates/${id}/state.json`,
          Body: JSON.stringify(rest),
        }),
      );
    }
  });

  it('the installed bin runs check against a deployment through the usual environment', async () => {
    const result = await bin(['check', 'shop'], {
      ...env,
      // What an operator behind a private CA would do; here it makes Node trust the bed's Pebble.
      NODE_EXTRA_CA_CERTS: testBedTls().caPath,
    });
    expect(result.err).toContain('dry run');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/^shop\s+no\s+not-yet\s/m);
  });

  it('a failed renewal prints one line and the ACME problem, and exits 1', async () => {
    // Deactivate the ACME account at the CA: every later order is refused with a problem document.
    const store = demo.runtime.store;
    const account = (await store.getAccount(demo.bed.directoryUrl))!;
    const transport = new AcmeTransport({
      directoryUrl: demo.bed.directoryUrl,
      fetch: demo.bed.fetch,
      clock: { now: () => new Date() },
      sleep: async () => {},
    });
    const { client } = await ensureAccount(transport, { stored: account });
    await client.post(account.accountUrl, { status: 'deactivated' });

    const { code, out, err } = await cli('renew', 'api-multi-zone', '--now', '--force');
    expect(code).toBe(1);
    expect(out).toBe('');
    // Progress lines (`  <step> id=…`) go to stderr too; the failure itself is the rest.
    const lines = err.split('\n').filter((l) => !/^ {2}[a-z_]+ id=/.test(l) && l.trim() !== '');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^error: ACME POST https:\/\/127\.0\.0\.1:\d+\/.* failed: unauthorized \(HTTP 403\): .*deactivated/,
    );
    expect(lines[1]).toMatch(
      /^ {2}problem: urn:ietf:params:acme:error:unauthorized \(HTTP 403\): .*deactivated/,
    );
    expect(err).not.toMatch(/\n\s+at /);
    const state = (await store.getState('api-multi-zone'))!;
    expect(state).toMatchObject({ lastResult: 'failed', failures: 1 });
  });
});

describe('acme-ari --bed', () => {
  it('status --bed --json starts a bed, issues the demo inventory, prints parseable JSON and stops it all', async () => {
    const result = await bin(['status', '--bed', '--json'], { POWERTOOLS_LOG_LEVEL: undefined });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.out) as StatusReport;
    expect(report.certificates.map((c) => [c.id, c.lastResult, c.lastReason])).toEqual([
      ['shop', 'renewed', 'new'],
      ['api-multi-zone', 'renewed', 'new'],
      ['legacy-rsa', 'renewed', 'new'],
    ]);
    expect(result.err).toMatch(/^\[bed\] test bed up in/m);
    expect(result.err).toMatch(/^\[bed\] stopped$/m);
    expect(result.err).not.toContain('"level"');
    const ports = [...result.err.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    expect(ports.length).toBeGreaterThanOrEqual(3);
    for (const port of ports) expect(await listening(port)).toBe(false);
    // The in-process bed of this file is still the only thing this process runs.
    expect(
      liveProcesses()
        .map((p) => p.name)
        .sort(),
    ).toEqual(['moto', 'pebble']);
  });
});
