import {
  CopyObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describeAwsError } from '../../adapters/aws-retry';
import { isKmsAccessError } from '../../adapters/s3-errors';
import { isNotFound, isPreconditionFailed } from '../../adapters/s3-objects';
import { STORE_KEY_PATTERNS } from '../../adapters/s3-store';
import { DEPLOYMENT_KEY } from '../../core/contracts/deployment';
import { AcmeAwsError } from '../../core/errors';
import { type CliIo, EXIT } from '../failure';
import { renderTable } from '../table';

/** Flags of `acme-ari migrate-encryption`. */
export interface MigrateEncryptionArgs {
  readonly bucket: string;
  /** List what would move; copy nothing. */
  readonly dryRun: boolean;
  readonly json: boolean;
}

/** What the state bucket holds, by object kind; key material is recognised first and never touched. */
const KINDS: ReadonlyArray<readonly [kind: string, patterns: readonly string[]]> = [
  ['key material', STORE_KEY_PATTERNS.keyMaterial],
  ['inventory', [STORE_KEY_PATTERNS.inventory]],
  ['state', [STORE_KEY_PATTERNS.state]],
  ['certificates', STORE_KEY_PATTERNS.certificates],
  ['schedule index', [STORE_KEY_PATTERNS.scheduleIndex]],
  ['leases', [STORE_KEY_PATTERNS.leases]],
  ['change markers', [STORE_KEY_PATTERNS.changes]],
  ['deployment', [DEPLOYMENT_KEY]],
];

/** An IAM-style key pattern (`*` spans any characters, `/` included) as a whole-key regular expression. */
function patternRegex(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
}
const MATCHERS = KINDS.map(([kind, patterns]) => [kind, patterns.map(patternRegex)] as const);

/** The kind of the object at `key` (`other` for anything this system does not write). */
export function objectKind(key: string): string {
  return MATCHERS.find(([, regexes]) => regexes.some((r) => r.test(key)))?.[0] ?? 'other';
}

/** What happened to one object: copied to SSE-S3, already not SSE-KMS, changed under us, key material. */
type Outcome = 'moved' | 'already' | 'changed' | 'key-material';

/** Per-kind counts; never object contents. */
type Summary = Map<string, Record<Outcome, number>>;

/** Attempts per object when a function rewrites it between our HEAD and our copy. */
const ATTEMPTS = 3;

/**
 * `acme-ari migrate-encryption --bucket B [--dry-run]`: re-encrypts in place, to SSE-S3, every SSE-KMS object of the
 * state bucket that is not key material (private keys, pending keys, ACME accounts stay exactly as they are, and are
 * neither read nor HEADed). Each copy is conditional on the ETag its HEAD returned, on the source
 * (`CopySourceIfMatch`) and on the destination (`IfMatch`), so an object a function rewrote meanwhile is never
 * overwritten with the older content: S3 answers 412, the object is looked at again, and after {@link ATTEMPTS}
 * it is reported as changed (exit 1: run the command again). Runs with the operator's credentials.
 */
export async function migrateEncryptionCommand(
  s3: S3Client,
  args: MigrateEncryptionArgs,
  io: CliIo,
): Promise<number> {
  const summary: Summary = new Map();
  const count = (kind: string, outcome: Outcome) => {
    const row = summary.get(kind) ?? { moved: 0, already: 0, changed: 0, 'key-material': 0 };
    row[outcome]++;
    summary.set(kind, row);
  };
  const changed: string[] = [];
  for await (const key of listKeys(s3, args.bucket)) {
    const kind = objectKind(key);
    if (kind === 'key material') {
      count(kind, 'key-material');
      continue;
    }
    const outcome = await migrateObject(s3, args.bucket, key, args.dryRun);
    if (outcome === undefined) continue; // Deleted since the listing: nothing left to re-encrypt.
    if (outcome === 'changed') changed.push(key);
    count(kind, outcome);
  }
  report(summary, changed, args, io);
  return changed.length > 0 ? EXIT.failed : EXIT.ok;
}

async function* listKeys(s3: S3Client, bucket: string): AsyncGenerator<string> {
  let token: string | undefined;
  do {
    const page = await call(`listing s3://${bucket}`, () =>
      s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token })),
    );
    for (const object of page.Contents ?? []) if (object.Key !== undefined) yield object.Key;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

/**
 * HEAD, and when the object is SSE-KMS, copy it onto itself as SSE-S3 on the condition that it is still the version
 * the HEAD saw. `undefined` when the object went away.
 */
async function migrateObject(
  s3: S3Client,
  bucket: string,
  key: string,
  dryRun: boolean,
): Promise<Outcome | undefined> {
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let head: { ServerSideEncryption?: string; ETag?: string };
    try {
      head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw failure(`reading the encryption of s3://${bucket}/${key}`, error);
    }
    if (head.ServerSideEncryption !== 'aws:kms' && head.ServerSideEncryption !== 'aws:kms:dsse')
      return 'already';
    if (dryRun) return 'moved';
    if (head.ETag === undefined)
      throw failure(`s3://${bucket}/${key}`, 'S3 answered the HEAD without an ETag');
    try {
      await s3.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: key,
          CopySource: `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
          CopySourceIfMatch: head.ETag,
          IfMatch: head.ETag,
          MetadataDirective: 'COPY',
          ServerSideEncryption: 'AES256',
        }),
      );
      return 'moved';
    } catch (error) {
      if (isNotFound(error)) return undefined;
      // A function wrote it between our HEAD and the copy (412, or 409 for a concurrent conditional write).
      if (isKmsAccessError(error))
        throw failure(
          `re-encrypting s3://${bucket}/${key} (these credentials need kms:Decrypt on the key it is under, the old state key)`,
          error,
        );
      if (!isPreconditionFailed(error)) throw failure(`re-encrypting s3://${bucket}/${key}`, error);
    }
  }
  return 'changed';
}

function report(summary: Summary, changed: readonly string[], args: MigrateEncryptionArgs, io: CliIo): void {
  const kinds = [...summary.keys()].sort(
    (a, b) => KINDS.findIndex(([k]) => k === a) - KINDS.findIndex(([k]) => k === b),
  );
  if (args.json) {
    io.out(
      JSON.stringify(
        { bucket: args.bucket, dryRun: args.dryRun, kinds: Object.fromEntries(summary), changed },
        null,
        2,
      ),
    );
  } else {
    io.out(
      renderTable(
        [
          'KIND',
          args.dryRun ? 'WOULD MOVE TO SSE-S3' : 'MOVED TO SSE-S3',
          'ALREADY SSE-S3',
          'SKIPPED: CHANGED',
          'NOT TOUCHED',
        ],
        kinds.map((kind) => {
          const row = summary.get(kind)!;
          return [
            kind,
            String(row.moved),
            String(row.already),
            String(row.changed),
            String(row['key-material']),
          ];
        }),
      ),
    );
  }
  for (const key of changed)
    io.err(
      `${key}: changed by another writer ${ATTEMPTS} times while being re-encrypted; left as it is, run again`,
    );
  if (args.dryRun) io.err('dry run: nothing was copied');
  else
    io.err(
      "key material (private keys, pending keys, ACME accounts) was not touched. In a versioned bucket (the construct's is) " +
        'each copy is a new version; the earlier versions stay under the KMS key until the noncurrent-version lifecycle expires them',
    );
}

function failure(what: string, error: unknown): AcmeAwsError {
  const reason = typeof error === 'string' ? error : describeAwsError(error);
  return new AcmeAwsError('store-failed', `${what} failed: ${reason}`, {
    ...(typeof error === 'string' ? {} : { cause: error }),
  });
}

async function call<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw failure(what, error);
  }
}
