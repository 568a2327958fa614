import {
  CopyObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { describeAwsError } from '../../adapters/aws-retry';
import { kmsRefusal } from '../../adapters/s3-errors';
import { isNotFound, isPreconditionFailed } from '../../adapters/s3-objects';
import { STORE_KEY_PATTERNS } from '../../adapters/s3-store';
import { DEPLOYMENT_KEY } from '../../core/contracts/deployment';
import { AcmeAwsError } from '../../core/errors';
import { type CliIo, EXIT, UsageError } from '../failure';
import { renderTable } from '../table';
import { readDeploymentWith } from '../target';

/** Flags of `acme-ari migrate-encryption`. */
export interface MigrateEncryptionArgs {
  readonly bucket: string;
  /** List what would move; copy nothing. */
  readonly dryRun: boolean;
  readonly json: boolean;
  /** Also re-encrypt objects of no known kind (`other`), which are otherwise left alone unread. */
  readonly includeOther?: boolean;
  /** Migrate even though `deployment.json` says `stateEncryption: 'kms'`. */
  readonly force?: boolean;
}

/**
 * What the state bucket holds, by object kind; key material is recognised first and never touched. Only the other
 * kinds listed here are migrated: an object matching none (`other`) may be key material at a path this list does not
 * know, so it is left alone unless the operator passes `--include-other`.
 */
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

/**
 * What happened to one object: copied to SSE-S3, already not SSE-KMS, changed under us, or not touched because it is
 * key material or of no known kind (without `--include-other`).
 */
type Outcome = 'moved' | 'already' | 'changed' | 'key-material' | 'unknown-kind';

/** Per-kind counts; never object contents. */
type Summary = Map<string, Record<Outcome, number>>;

/** Attempts per object when a function rewrites it between our HEAD and our copy. */
const ATTEMPTS = 3;

/**
 * `acme-ari migrate-encryption --bucket B [--dry-run] [--include-other] [--force]`: re-encrypts in place, to SSE-S3,
 * every SSE-KMS object of the state bucket whose key is one of the known kinds that are not key material ({@link KINDS}).
 * Key material (private keys, pending keys, ACME accounts) stays exactly as it is and is neither read nor HEADed, flag
 * or not; so do objects of no known kind unless `--include-other`. A deployment whose `deployment.json` says
 * `stateEncryption: 'kms'` chose the state key: it is refused (usage error) unless `--force`. Each copy is conditional on the ETag its HEAD returned, on the source
 * (`CopySourceIfMatch`) and on the destination (`IfMatch`), so an object a function rewrote meanwhile is never
 * overwritten with the older content: S3 answers 412, the object is looked at again, and after {@link ATTEMPTS}
 * it is reported as changed (exit 1: run the command again). Runs with the operator's credentials.
 */
export async function migrateEncryptionCommand(
  s3: S3Client,
  args: MigrateEncryptionArgs,
  io: CliIo,
): Promise<number> {
  await checkDeployment(s3, args, io);
  const summary: Summary = new Map();
  const count = (kind: string, outcome: Outcome) => {
    const row = summary.get(kind) ?? {
      moved: 0,
      already: 0,
      changed: 0,
      'key-material': 0,
      'unknown-kind': 0,
    };
    row[outcome]++;
    summary.set(kind, row);
  };
  const changed: string[] = [];
  const unknown: string[] = [];
  for await (const key of listKeys(s3, args.bucket)) {
    const kind = objectKind(key);
    if (kind === 'key material') {
      count(kind, 'key-material');
      continue;
    }
    if (kind === 'other' && args.includeOther !== true) {
      count(kind, 'unknown-kind');
      unknown.push(key);
      continue;
    }
    const outcome = await migrateObject(s3, args.bucket, key, args.dryRun);
    if (outcome === undefined) continue; // Deleted since the listing: nothing left to re-encrypt.
    if (outcome === 'changed') changed.push(key);
    count(kind, outcome);
  }
  report(summary, { changed, unknown }, args, io);
  return changed.length > 0 ? EXIT.failed : EXIT.ok;
}

/**
 * Refuses a deployment that chose `stateEncryption: 'kms'` (unless `--force`): its functions are granted the state
 * key and write under it, and moving its objects to SSE-S3 would downgrade that choice behind its back. A missing
 * document, or one without the field (written before the choice existed), is the upgrade this command is for.
 */
async function checkDeployment(s3: S3Client, args: MigrateEncryptionArgs, io: CliIo): Promise<void> {
  let stateEncryption: string | undefined;
  try {
    stateEncryption = (await readDeploymentWith(s3, args.bucket))?.stateEncryption;
  } catch (error) {
    const cause = error instanceof Error ? error.cause : undefined;
    if (kmsRefusal(cause) === 'access')
      throw failure(
        `reading s3://${args.bucket}/${DEPLOYMENT_KEY} (these credentials need kms:Decrypt on the key it is under, the old state key)`,
        cause,
      );
    throw error;
  }
  if (stateEncryption !== 'kms') return;
  if (args.force !== true)
    throw new UsageError(
      `s3://${args.bucket}/${DEPLOYMENT_KEY} says stateEncryption: 'kms': this deployment keeps its state objects ` +
        'under its state key by choice, and its functions still write under it; re-encrypting them to SSE-S3 would ' +
        "silently downgrade it. To move to SSE-S3, set stateEncryption: 's3-managed' (the default) on the construct, " +
        'cdk deploy, then run this again; --force migrates anyway',
    );
  io.err(
    `--force: s3://${args.bucket}/${DEPLOYMENT_KEY} says stateEncryption: 'kms'; re-encrypting to SSE-S3 regardless ` +
      '(what its functions write next is under the state key again)',
  );
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
      if (isPreconditionFailed(error)) continue;
      const refusal = kmsRefusal(error);
      if (refusal === 'access')
        throw failure(
          `re-encrypting s3://${bucket}/${key} (these credentials need kms:Decrypt on the key it is under, the old state key)`,
          error,
        );
      if (refusal === 'key-state')
        throw failure(
          `re-encrypting s3://${bucket}/${key} (the KMS key it is under is disabled or scheduled for deletion: re-enable it or cancel the deletion, then run again)`,
          error,
        );
      throw failure(`re-encrypting s3://${bucket}/${key}`, error);
    }
  }
  return 'changed';
}

/** The table's row order: the known kinds as listed, `other` last. */
const ORDER = [...KINDS.map(([kind]) => kind), 'other'];

function report(
  summary: Summary,
  keys: { readonly changed: readonly string[]; readonly unknown: readonly string[] },
  args: MigrateEncryptionArgs,
  io: CliIo,
): void {
  const { changed, unknown } = keys;
  const kinds = [...summary.keys()].sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
  if (args.json) {
    io.out(
      JSON.stringify(
        {
          bucket: args.bucket,
          dryRun: args.dryRun,
          kinds: Object.fromEntries(summary),
          changed,
          notTouched: unknown,
        },
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
            String(row['key-material'] + row['unknown-kind']),
          ];
        }),
      ),
    );
  }
  for (const key of changed)
    io.err(
      `${key}: changed by another writer ${ATTEMPTS} times while being re-encrypted; left as it is, run again`,
    );
  for (const key of unknown)
    io.err(
      `${key}: not touched (unknown kind): not read, HEADed or copied, in case it is key material; --include-other re-encrypts it too`,
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
