import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { migrateEncryptionCommand, objectKind } from '../../../functions/cli/commands/migrate-encryption';
import { awsTestConfig } from '../../../testbed/moto';
import { useMotoBucket } from '../../support/moto-bucket';

// The CLI builds its client from the SDK's usual chain; moto accepts any credentials.
process.env.AWS_ACCESS_KEY_ID = 'testing';
process.env.AWS_SECRET_ACCESS_KEY = 'testing';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
const { runCli } = await import('../../../functions/cli/run');

const bucket = 'acme-state';
const aws = useMotoBucket(bucket);
const OLD_STATE_KEY = 'arn:aws:kms:us-east-1:123456789012:key/old-state-key';
const KEY_MATERIAL_KEY = 'arn:aws:kms:us-east-1:123456789012:key/key-material';

/** What a deployment from before `stateEncryption` holds: everything but key material under the state key. */
const STATE_OBJECTS: Record<string, string> = {
  'inventory.json': '{"certificates":[]}\n',
  // Written before stateEncryption existed: no such field (the case the command is for).
  'deployment.json': JSON.stringify({
    serviceName: 'x',
    region: 'us-east-1',
    scheduleIntervalMinutes: 60,
    forcedRenewalIntervalMinutes: 1440,
  }),
  'certificates/www/state.json': '{"id":"www"}\n',
  'certificates/www/cert.pem': 'leaf',
  'certificates/www/chain.pem': 'intermediate',
  'certificates/www/fullchain.pem': 'leaf+intermediate',
  'schedule-index.json': '{}',
  'leases/www.json': '{"owner":"renewer"}',
  'changes/www': 'a0f3c1e2-marker-body',
};
const KEY_MATERIAL: Record<string, string> = {
  'certificates/www/privkey.pem': 'not-a-real-private-key',
  'certificates/www/pending-key.pem': 'not-a-real-pending-key',
  'accounts/0123456789abcdef.json': '{"account":"not-a-real-jwk"}',
};
/** An object at a path the state layout does not know (an operator's file, a future layout): maybe key material. */
const UNKNOWN_KEY = 'operator/backup/old-account-key.pem';
const UNKNOWN_BODY = 'not-a-real-operator-key';

async function put(key: string, body: string, kmsKey: string | undefined): Promise<void> {
  await aws.s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: key.endsWith('.json') ? 'application/json' : 'application/x-pem-file',
      ...(kmsKey ? { ServerSideEncryption: 'aws:kms', SSEKMSKeyId: kmsKey, BucketKeyEnabled: true } : {}),
    }),
  );
}

async function head(key: string) {
  return aws.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
}

async function body(key: string): Promise<string> {
  const out = await aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await out.Body?.transformToString()) ?? '';
}

async function versions(key: string) {
  const out = await aws.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  return (out.Versions ?? []).filter((v) => v.Key === key);
}

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    io: { out: (t) => out.push(t), err: (t) => err.push(t) },
    env: { STATE_BUCKET: bucket, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: aws.moto.endpoint },
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Every request the client sends (method and path), and a hook run just before each `CopyObject` goes out. */
interface Watched {
  readonly s3: S3Client;
  readonly requests: string[];
  beforeCopy?: (key: string) => Promise<void>;
}

/**
 * A client like the CLI's that records its requests and enforces `x-amz-copy-source-if-match` and `if-match` on
 * `CopyObject` as S3 does: moto (5.x `copy_object`) checks only `x-amz-copy-source-if-none-match` and would copy
 * whatever is there. The check compares the headers on the wire with the object moto holds at that moment.
 */
function watchedClient(): Watched {
  const s3 = new S3Client(awsTestConfig(aws.moto.endpoint));
  const watched: Watched = { s3, requests: [] };
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { method: string; path: string; headers: Record<string, string> };
      watched.requests.push(`${request.method} ${decodeURIComponent(request.path)}`);
      if (context.commandName === 'CopyObjectCommand') {
        const key = (args.input as { Key: string }).Key;
        await watched.beforeCopy?.(key);
        const now = (await head(key)).ETag;
        for (const header of ['x-amz-copy-source-if-match', 'if-match']) {
          expect(request.headers[header], header).toBeDefined();
          if (request.headers[header] !== now)
            throw new S3ServiceException({
              name: 'PreconditionFailed',
              $fault: 'client',
              message: 'At least one of the pre-conditions you specified did not hold',
              $metadata: { httpStatusCode: 412 },
            });
        }
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'watch-and-enforce-copy-conditions' },
  );
  return watched;
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

beforeEach(async () => {
  await aws.s3.send(
    new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
  );
  for (const [key, text] of Object.entries(STATE_OBJECTS)) await put(key, text, OLD_STATE_KEY);
  for (const [key, text] of Object.entries(KEY_MATERIAL)) await put(key, text, KEY_MATERIAL_KEY);
  await put(UNKNOWN_KEY, UNKNOWN_BODY, OLD_STATE_KEY);
  // Written after the upgrade, under the new default.
  await put('certificates/api/state.json', '{"id":"api"}\n', undefined);
  await aws.s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'certificates/api/cert.pem',
      Body: 'api-leaf',
      ServerSideEncryption: 'AES256',
    }),
  );
});

describe('acme-ari migrate-encryption against moto', () => {
  it('moves every SSE-KMS state object to SSE-S3 in place, keeps contents and metadata, leaves key material alone', async () => {
    const keyMaterialBefore = Object.fromEntries(
      await Promise.all(Object.keys(KEY_MATERIAL).map(async (k) => [k, await head(k)] as const)),
    );
    const { code, out, err } = await cli('migrate-encryption');
    expect(code).toBe(0);

    for (const [key, text] of Object.entries(STATE_OBJECTS)) {
      const after = await head(key);
      expect(after.ServerSideEncryption, key).toBe('AES256');
      expect(after.SSEKMSKeyId, key).toBeUndefined();
      expect(after.ContentType, key).toBe(
        key.endsWith('.json') ? 'application/json' : 'application/x-pem-file',
      );
      expect(await body(key)).toBe(text);
      // Versioned: the copy is a new version; the one under the old key is still there.
      const all = await versions(key);
      expect(all, key).toHaveLength(2);
      const old = all.find((v) => !v.IsLatest)!;
      const previous = await aws.s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: key, VersionId: old.VersionId }),
      );
      expect(previous.SSEKMSKeyId).toBe(OLD_STATE_KEY);
    }
    for (const key of Object.keys(KEY_MATERIAL)) {
      const after = await head(key);
      expect(after.ServerSideEncryption, key).toBe('aws:kms');
      expect(after.SSEKMSKeyId, key).toBe(KEY_MATERIAL_KEY);
      expect(after.ETag).toBe(keyMaterialBefore[key]!.ETag);
      expect(after.VersionId).toBe(keyMaterialBefore[key]!.VersionId);
      expect(await versions(key)).toHaveLength(1);
    }
    expect((await versions('certificates/api/state.json')).length).toBe(1);
    // Of no known kind: left under the KMS key, as it was.
    expect((await head(UNKNOWN_KEY)).SSEKMSKeyId).toBe(OLD_STATE_KEY);
    expect(await versions(UNKNOWN_KEY)).toHaveLength(1);

    const rows = Object.fromEntries(
      out
        .split('\n')
        .slice(2)
        .map((line) => {
          const [kind, ...counts] = line.split(/\s{2,}/);
          return [kind, counts.map(Number)];
        }),
    );
    expect(out.split('\n')[0]).toMatch(
      /^KIND\s+MOVED TO SSE-S3\s+ALREADY SSE-S3\s+SKIPPED: CHANGED\s+NOT TOUCHED$/,
    );
    expect(rows).toEqual({
      'key material': [0, 0, 0, 3],
      inventory: [1, 0, 0, 0],
      state: [1, 1, 0, 0],
      certificates: [3, 1, 0, 0],
      'schedule index': [1, 0, 0, 0],
      leases: [1, 0, 0, 0],
      'change markers': [1, 0, 0, 0],
      deployment: [1, 0, 0, 0],
      other: [0, 0, 0, 1],
    });
    expect(err).toContain(`${UNKNOWN_KEY}: not touched (unknown kind)`);
    expect(err).toContain('--include-other re-encrypts it too');
    expect(err).toContain('key material (private keys, pending keys, ACME accounts) was not touched');
    expect(err).toContain('the earlier versions stay under the KMS key');
    // Counts only: no object's content reaches the output.
    for (const text of [...Object.values(STATE_OBJECTS), ...Object.values(KEY_MATERIAL), UNKNOWN_BODY])
      expect(`${out}\n${err}`).not.toContain(text);

    // A second run finds nothing left to move.
    const again = await cli('migrate-encryption', '--json');
    expect(again.code).toBe(0);
    const report = JSON.parse(again.out) as { kinds: Record<string, { moved: number; already: number }> };
    expect(Object.values(report.kinds).reduce((n, k) => n + k.moved, 0)).toBe(0);
    expect(report.kinds.certificates).toMatchObject({ moved: 0, already: 4 });
    expect(report).toMatchObject({ notTouched: [UNKNOWN_KEY] });
  });

  it('--include-other also moves an object of no known kind; key material stays as it is', async () => {
    const { code, out, err } = await cli('migrate-encryption', '--include-other');
    expect(code).toBe(0);
    expect((await head(UNKNOWN_KEY)).ServerSideEncryption).toBe('AES256');
    expect(await body(UNKNOWN_KEY)).toBe(UNKNOWN_BODY);
    expect(out).toMatch(/^other\s+1\s+0\s+0\s+0$/m);
    expect(out).toMatch(/^key material\s+0\s+0\s+0\s+3$/m);
    expect(err).not.toContain('unknown kind');
    for (const key of Object.keys(KEY_MATERIAL))
      expect((await head(key)).SSEKMSKeyId, key).toBe(KEY_MATERIAL_KEY);
  });

  it('refuses a deployment that chose stateEncryption: kms (exit 2, nothing copied) unless --force', async () => {
    const chosen = JSON.stringify({
      serviceName: 'x',
      region: 'us-east-1',
      scheduleIntervalMinutes: 60,
      forcedRenewalIntervalMinutes: 1440,
      stateKmsKeyArn: OLD_STATE_KEY,
      stateEncryption: 'kms',
    });
    await put('deployment.json', chosen, OLD_STATE_KEY);
    for (const flags of [[], ['--dry-run'], ['--include-other']]) {
      const refused = await cli('migrate-encryption', ...flags);
      expect(refused.code, flags.join(' ')).toBe(2);
      expect(refused.out).toBe('');
      expect(refused.err).toBe(
        "error: s3://acme-state/deployment.json says stateEncryption: 'kms': this deployment keeps its state objects " +
          'under its state key by choice, and its functions still write under it; re-encrypting them to SSE-S3 would ' +
          "silently downgrade it. To move to SSE-S3, set stateEncryption: 's3-managed' (the default) on the construct, " +
          'cdk deploy, then run this again; --force migrates anyway',
      );
    }
    // Refused before the listing: the deployment document is the only object it asked for.
    const watched = watchedClient();
    const sink = io();
    const error = await migrateEncryptionCommand(
      watched.s3,
      { bucket, dryRun: false, json: false },
      sink.io,
    ).catch((e: unknown) => e);
    expect((error as Error).name).toBe('UsageError');
    expect(watched.requests).toEqual([`GET /${bucket}/deployment.json`]);
    for (const key of [...Object.keys(STATE_OBJECTS), UNKNOWN_KEY]) {
      expect((await head(key)).SSEKMSKeyId, key).toBe(OLD_STATE_KEY);
      expect(await versions(key), key).toHaveLength(key === 'deployment.json' ? 2 : 1);
    }

    const forced = await cli('migrate-encryption', '--force');
    expect(forced.code).toBe(0);
    expect(forced.err).toContain("--force: s3://acme-state/deployment.json says stateEncryption: 'kms'");
    for (const key of Object.keys(STATE_OBJECTS))
      expect((await head(key)).ServerSideEncryption, key).toBe('AES256');
    expect((await head(UNKNOWN_KEY)).SSEKMSKeyId).toBe(OLD_STATE_KEY);
    expect(JSON.parse(await body('deployment.json'))).toMatchObject({ stateEncryption: 'kms' });
  });

  it('proceeds when the bucket has no deployment.json', async () => {
    await aws.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'deployment.json' }));
    const { code, out } = await cli('migrate-encryption');
    expect(code).toBe(0);
    expect(out).not.toMatch(/^deployment\s/m);
    expect((await head('inventory.json')).ServerSideEncryption).toBe('AES256');
  });

  it('--dry-run counts what would move and copies nothing', async () => {
    const { code, out, err } = await cli('migrate-encryption', '--dry-run');
    expect(code).toBe(0);
    expect(out).toMatch(/^KIND\s+WOULD MOVE TO SSE-S3\s/);
    expect(out).toMatch(/^certificates\s+3\s+1\s+0\s+0$/m);
    expect(err).toContain('dry run: nothing was copied');
    for (const key of Object.keys(STATE_OBJECTS)) {
      expect((await head(key)).SSEKMSKeyId, key).toBe(OLD_STATE_KEY);
      expect(await versions(key)).toHaveLength(1);
    }
  });

  it('never sends a request for a key-material or unknown-kind object (only the bucket listing names them)', async () => {
    const watched = watchedClient();
    const sink = io();
    expect(await migrateEncryptionCommand(watched.s3, { bucket, dryRun: false, json: false }, sink.io)).toBe(
      0,
    );
    expect(watched.requests.some((r) => r.startsWith('PUT '))).toBe(true);
    for (const request of watched.requests) {
      for (const key of [...Object.keys(KEY_MATERIAL), UNKNOWN_KEY]) expect(request).not.toContain(key);
      expect(request).not.toMatch(/privkey|pending-key|accounts\/|operator\//);
    }
  });

  it('a state document a function rewrites between the HEAD and the copy is looked at again, never overwritten', async () => {
    const key = 'certificates/www/state.json';
    const watched = watchedClient();
    let writes = 0;
    // The scheduler stores a new ARI window (under the new default, SSE-S3) just as the copy goes out.
    watched.beforeCopy = async (copying) => {
      if (copying !== key || writes > 0) return;
      writes++;
      await put(key, '{"id":"www","ari":"new window"}\n', undefined);
    };
    const { io: sink, out } = io();
    expect(await migrateEncryptionCommand(watched.s3, { bucket, dryRun: false, json: true }, sink)).toBe(0);
    expect(await body(key)).toBe('{"id":"www","ari":"new window"}\n');
    const report = JSON.parse(out.join('\n')) as { kinds: Record<string, unknown>; changed: string[] };
    // Looked at again: the function's write is already not SSE-KMS, so there was nothing left to move.
    expect(report.kinds.state).toEqual({
      moved: 0,
      already: 2,
      changed: 0,
      'key-material': 0,
      'unknown-kind': 0,
    });
    expect(report.changed).toEqual([]);
    // Its versions: the seed under the old key and the function's write; no copy of the stale one on top.
    expect(await versions(key)).toHaveLength(2);
  });

  it('an object that keeps changing is skipped, reported and left as its writer left it (exit 1: run again)', async () => {
    const key = 'inventory.json';
    const watched = watchedClient();
    let n = 0;
    // Every copy of it races a write that keeps it under the old key (a deploy still on stateEncryption: 'kms').
    watched.beforeCopy = async (copying) => {
      if (copying === key) await put(key, `{"certificates":[],"n":${++n}}\n`, OLD_STATE_KEY);
    };
    const { io: sink, err } = io();
    expect(await migrateEncryptionCommand(watched.s3, { bucket, dryRun: false, json: false }, sink)).toBe(1);
    expect(n).toBe(3);
    expect(await body(key)).toBe('{"certificates":[],"n":3}\n');
    expect((await head(key)).SSEKMSKeyId).toBe(OLD_STATE_KEY);
    expect(err).toContain(
      `${key}: changed by another writer 3 times while being re-encrypted; left as it is, run again`,
    );
    // The rest moved regardless.
    expect((await head('certificates/www/state.json')).ServerSideEncryption).toBe('AES256');
  });

  it('classifies keys by the store’s patterns', () => {
    expect(objectKind('certificates/a/privkey.pem')).toBe('key material');
    expect(objectKind('certificates/a/pending-key.pem')).toBe('key material');
    expect(objectKind('accounts/abc.json')).toBe('key material');
    expect(objectKind('certificates/a/state.json')).toBe('state');
    expect(objectKind('certificates/a/fullchain.pem')).toBe('certificates');
    expect(objectKind('notes.txt')).toBe('other');
  });

  it('refuses --bed and arguments; needs a bucket', async () => {
    const bed = await cli('migrate-encryption', '--bed');
    expect(bed.code).toBe(2);
    expect(bed.err).toContain('not --bed');
    expect((await cli('migrate-encryption', 'extra')).err).toBe(
      'error: migrate-encryption takes no arguments, not "extra"',
    );
    const none = await runCli(['migrate-encryption'], { io: { out: () => {}, err: () => {} }, env: {} });
    expect(none).toBe(2);
  });
});
