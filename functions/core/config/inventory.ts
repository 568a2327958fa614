import { domainToASCII } from 'node:url';
import { CHALLENGE_TYPES, type ChallengeType } from '../acme/dns-persist';
import { AcmeAwsError, describeError } from '../errors';
import { splitPemChain } from '../pki/chain';
import { PRESET_TRUST_ANCHORS } from '../pki/trust-anchors';
import * as z from '../zod';

/** Key types a certificate can be issued for; all of them are accepted by ACM. */
export const KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** CloudFront only serves RSA 2048 and ECDSA P-256 certificates from ACM. */
const CLOUDFRONT_KEY_TYPES: readonly KeyType[] = ['ec-p256', 'rsa-2048'];

/** Well-known directory URLs, so operators name a CA instead of pasting a URL. */
export const CA_PRESETS = {
  letsencrypt: 'https://acme-v02.api.letsencrypt.org/directory',
  'letsencrypt-staging': 'https://acme-staging-v02.api.letsencrypt.org/directory',
  zerossl: 'https://acme.zerossl.com/v2/DV90',
  'google-trust-services': 'https://dv.acme-v02.api.pki.goog/directory',
} as const satisfies Record<string, string>;

/** RFC 8555 §7.1.3 caps nothing, but Let's Encrypt rejects orders with more than 100 identifiers. */
export const MAX_NAMES = 100;

const ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d$/;
const ZONE_ID = /^[A-Z0-9]{1,32}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;

/**
 * Normalises one DNS name to its ASCII (punycode) form, or explains why it cannot be a certificate name.
 * Wildcards are allowed only as the whole leftmost label (RFC 8555 §7.1.3: "*." prefix).
 */
export function normalizeDomain(input: string): { name: string } | { problem: string } {
  const raw = input.trim().replace(/\.$/, '');
  if (raw.length === 0) return { problem: 'is empty' };
  const wildcard = raw.startsWith('*.');
  const base = wildcard ? raw.slice(2) : raw;
  if (base.includes('*')) {
    return { problem: `"${input}" has a "*" that is not the whole leftmost label; write "*.example.com"` };
  }
  const ascii = domainToASCII(base.toLowerCase());
  if (ascii === '') return { problem: `"${input}" is not a valid domain name (IDN conversion failed)` };
  const labels = ascii.split('.');
  if (labels.length < 2) return { problem: `"${input}" needs at least two labels, e.g. "example.com"` };
  const bad = labels.find((label) => !LABEL.test(label));
  if (bad !== undefined) {
    return { problem: `"${input}" has an invalid label "${bad}" (letters, digits and inner hyphens only)` };
  }
  if (ascii.length > 253) return { problem: `"${input}" is longer than 253 characters` };
  if (/^\d+$/.test(labels.at(-1) ?? '')) return { problem: `"${input}" looks like an IP address` };
  return { name: wildcard ? `*.${ascii}` : ascii };
}

/**
 * `z.superRefine` with the same issues, without its side effect: zod's stores a fresh `addIssue` closure on the parse
 * payload of every value it checks, and V8 then keeps each such payload (with the parsed entry it carries) alive
 * through the next young-generation collection. Over a 100,000-entry inventory that promoted about 7 MB of garbage
 * per collection and grew the young generation to its maximum: some 200 MB of RSS the scheduler never needed
 * (bench/results.md §2). Here the checked function gets its own small context instead.
 */
function refine<T>(fn: (value: T, ctx: z.core.$RefinementCtx<T>) => void): z.core.$ZodCheck<T> {
  const check: z.core.$ZodCheck<T> = z.check<T>((payload) => {
    const addIssue = (issue: Parameters<z.core.$RefinementCtx<T>['addIssue']>[0]) => {
      if (typeof issue === 'string') {
        payload.issues.push({
          message: issue,
          code: 'custom',
          input: payload.value,
          inst: check._zod.def,
        } as never);
        return;
      }
      // What superRefine fills in for an issue given as an object (zod/v4/core api.js, `_superRefine`).
      const raw: Record<string, unknown> = { ...issue };
      if (raw.fatal) raw.continue = false;
      raw.code ??= 'custom';
      if (!('input' in raw)) raw.input = payload.value;
      raw.inst ??= check;
      raw.continue ??= true;
      payload.issues.push(raw as never);
    };
    fn(payload.value, { value: payload.value, issues: payload.issues, addIssue });
  });
  return check;
}

// zod/mini's transform gets the parse payload, not classic zod's `ctx.addIssue`: the issue is pushed as that would.
const domainSchema = z.pipe(
  z.string(),
  z.transform((value: string, payload) => {
    const result = normalizeDomain(value);
    if ('problem' in result) {
      payload.issues.push({ code: 'custom', message: result.problem, input: value });
      return z.NEVER;
    }
    return result.name;
  }),
);

const eabSchema = z.strictObject({
  keyId: z.string().check(z.minLength(1, 'keyId is required for External Account Binding')),
  /** The HMAC key lives in Secrets Manager (base64url text); it never appears in configuration. */
  hmacSecretArn: z
    .string()
    .check(z.regex(SECRET_ARN, 'must be a Secrets Manager secret ARN holding the base64url HMAC key')),
});

/** One PEM certificate (a trust anchor); only its framing is checked here, verification parses it whole. */
const pemCertificateSchema = z.string().check(
  refine((value, ctx) => {
    let blocks: string[];
    try {
      blocks = splitPemChain(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `is not a PEM certificate: ${describeError(error)}` });
      return;
    }
    if (blocks.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `must hold exactly one PEM certificate ("-----BEGIN CERTIFICATE-----"), found ${blocks.length}; list each root separately`,
      });
    }
  }),
);

/** The preset whose directory URL this is, so a `cas` entry for a preset's URL keeps the preset's anchors. */
function presetOfUrl(directoryUrl: string): keyof typeof CA_PRESETS | undefined {
  return (Object.keys(CA_PRESETS) as (keyof typeof CA_PRESETS)[]).find(
    (name) => CA_PRESETS[name] === directoryUrl,
  );
}

const challengeSchema = z.enum(CHALLENGE_TYPES, { error: `must be one of ${CHALLENGE_TYPES.join(', ')}` });

const caSchema = z
  .strictObject({
    directoryUrl: z.url({ protocol: /^https$/, error: 'must be an https:// ACME directory URL' }),
    contact: z._default(
      z.array(
        z.string().check(z.regex(/^mailto:[^@\s]+@[^@\s]+$/, 'must look like "mailto:ops@example.com"')),
      ),
      [],
    ),
    eab: z.optional(eabSchema),
    /** Common name of the root or intermediate to prefer among alternate chains (RFC 8555 §7.4.2). */
    preferredChain: z.optional(z.string().check(z.minLength(1))),
    /**
     * The roots this CA's chains must lead to, one PEM certificate each; an issued chain that reaches none of them
     * is never stored or imported. Required for a CA that is not a preset; replaces a preset's built-in roots.
     */
    trustAnchors: z.optional(
      z
        .array(pemCertificateSchema)
        .check(
          z.minLength(
            1,
            "needs at least one root; add the PEM of the CA's root, or leave the field out for a preset",
          ),
        ),
    ),
    /** The challenge this CA's certificates answer unless they name one (docs/design.md, dns-persist-01). */
    challenge: z.optional(challengeSchema),
    /** Default of the certificates' `dns01Fallback`. @default true */
    dns01Fallback: z.optional(z.boolean({ error: 'must be true or false' })),
    /**
     * How long a `_validation-persist` record written for this CA's account stays usable (`persistUntil`), in
     * days; the record is rewritten once less than a third of that is left.
     * @default 365
     */
    persistDays: z.optional(
      z
        .number({ error: 'must be a whole number of days' })
        .check(
          z.int('must be a whole number of days'),
          z.gte(7, 'must be at least 7 days'),
          z.lte(3650, 'must be at most 3650 days (10 years)'),
        ),
    ),
  })
  .check(
    refine((ca, ctx) => {
      if (ca.trustAnchors === undefined && presetOfUrl(ca.directoryUrl) === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['trustAnchors'],
          message:
            "is required for a CA that is not a preset: add the PEM of the CA's root (the certificate its chains end at) as trustAnchors, so issued chains are verified up to it before they are stored or imported",
        });
      }
    }),
  );
export type CaConfig = z.infer<typeof caSchema>;

/** A CA as the renewer uses it: its configuration and the trust anchors its chains must lead to. */
export type ResolvedCa = CaConfig & {
  /** PEM roots: the entry's own `trustAnchors`, or the preset's built-in roots for a preset directory URL. */
  readonly trustAnchors: readonly string[];
};

/** One inventory entry as written (`ca` a name or a list), checked as a whole. */
const certificateEntrySchema = z
  .strictObject({
    id: z
      .string()
      .check(z.regex(ID, 'must be 1-64 lowercase letters, digits or inner hyphens, e.g. "www-example-com"')),
    domains: z
      .array(domainSchema)
      .check(
        z.minLength(1, 'needs at least one domain'),
        z.maxLength(MAX_NAMES, `has more than ${MAX_NAMES} names; split it into several certificates`),
      ),
    /**
     * The CA to order from, or an ordered list of CAs: every renewal starts with the first and fails over to the
     * next only when the first cannot renew in time (docs/failover.md). Parsed into `ca` (the first) and
     * `failoverCas` (the rest), so a parsed inventory reads back as itself.
     */
    ca: z._default(
      z.union(
        [
          z.string().check(z.minLength(1)),
          z.array(z.string().check(z.minLength(1))).check(z.minLength(1, 'needs at least one CA name')),
        ],
        { error: 'must be a CA name or a non-empty list of CA names, e.g. ["letsencrypt", "zerossl"]' },
      ),
      'letsencrypt',
    ),
    /** CAs to fail over to, in order, after `ca` (the parsed form of a list in `ca`). */
    failoverCas: z._default(z.array(z.string().check(z.minLength(1))), []),
    keyType: z._default(z.enum(KEY_TYPES, { error: `must be one of ${KEY_TYPES.join(', ')}` }), 'ec-p256'),
    profile: z.optional(
      z.string().check(z.regex(/^[a-z0-9._-]{1,64}$/, 'must be a profile name the CA advertises')),
    ),
    /** dns-01 or dns-persist-01 (dns-01 where the CA does not offer it). @default the CA's `challenge`, else dns-01 */
    challenge: z.optional(challengeSchema),
    /**
     * With dns-persist-01: answer dns-01 where the CA does not offer it. `false` fails such a renewal instead, and
     * is what leaves the renewer's role without any `_acme-challenge` write permission for this certificate.
     * @default the CA's `dns01Fallback`, else true
     */
    dns01Fallback: z.optional(z.boolean({ error: 'must be true or false' })),
    /** Explicit hosted zone per domain (apex or wildcard form); otherwise the longest matching zone is used. */
    hostedZones: z._default(
      z.record(
        z.string(),
        z.string().check(z.regex(ZONE_ID, 'must be a Route 53 hosted zone id, e.g. "Z0123ABC"')),
      ),
      {},
    ),
    /** Role to assume for the zone's records when the zone lives in another account. */
    zoneRoleArns: z._default(
      z.record(z.string(), z.string().check(z.regex(ROLE_ARN, 'must be an IAM role ARN'))),
      {},
    ),
    acmRegions: z._default(
      z.array(z.string().check(z.regex(REGION, 'must be an AWS region such as "us-east-1"'))),
      [],
    ),
    cloudfront: z._default(z.boolean(), false),
    tags: z._default(z.record(z.string().check(z.maxLength(128)), z.string().check(z.maxLength(256))), {}),
  })
  .check(
    refine((cert, ctx) => {
      const seen = new Set<string>();
      cert.domains.forEach((name, index) => {
        if (seen.has(name))
          ctx.addIssue({ code: 'custom', path: ['domains', index], message: `"${name}" is listed twice` });
        seen.add(name);
      });
      if (cert.cloudfront && !CLOUDFRONT_KEY_TYPES.includes(cert.keyType)) {
        ctx.addIssue({
          code: 'custom',
          path: ['keyType'],
          message: `CloudFront accepts only ${CLOUDFRONT_KEY_TYPES.join(' or ')}; change keyType or set cloudfront: false`,
        });
      }
      if (cert.cloudfront && cert.acmRegions.length > 0 && !cert.acmRegions.includes('us-east-1')) {
        ctx.addIssue({
          code: 'custom',
          path: ['acmRegions'],
          message: 'CloudFront needs the certificate in us-east-1; add it',
        });
      }
      checkCaList(cert.ca, cert.failoverCas, ctx);
    }),
  );

const certificateSchema = z.pipe(
  certificateEntrySchema,
  z.transform(({ ca, failoverCas, ...cert }) => {
    const list = typeof ca === 'string' ? [ca, ...failoverCas] : ca;
    return { ...cert, ca: list[0]!, failoverCas: list.slice(1) };
  }),
);
export type CertificateConfig = z.infer<typeof certificateSchema>;

/** One list of CAs per certificate, each named once: either `ca: [...]` or `ca` plus `failoverCas`. */
function checkCaList(
  ca: string | string[],
  failoverCas: readonly string[],
  ctx: z.core.$RefinementCtx,
): void {
  if (typeof ca !== 'string' && failoverCas.length > 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['failoverCas'],
      message:
        'list every CA in "ca" (["first", "next"]) or name one in "ca" and the rest in "failoverCas", not both',
    });
    return;
  }
  const seen = new Set<string>();
  caPaths(ca, failoverCas).forEach(({ name, path }) => {
    if (seen.has(name)) ctx.addIssue({ code: 'custom', path, message: `CA "${name}" is listed twice` });
    seen.add(name);
  });
}

/** Every CA a certificate names, in failover order, with the field path each was written at. */
function caPaths(
  ca: unknown,
  failoverCas: readonly unknown[],
): { name: string; path: (string | number)[] }[] {
  if (Array.isArray(ca)) return ca.map((name, index) => ({ name: String(name), path: ['ca', index] }));
  return [
    { name: String(ca ?? 'letsencrypt'), path: ['ca'] },
    ...failoverCas.map((name, index) => ({ name: String(name), path: ['failoverCas', index] })),
  ];
}

/**
 * The CAs a certificate may be ordered from, in failover order: `ca` first (where every renewal starts), then
 * `failoverCas`.
 */
export function casOf(config: Pick<CertificateConfig, 'ca' | 'failoverCas'>): string[] {
  return [config.ca, ...config.failoverCas];
}

/** A validated inventory: the CAs and the certificates to keep alive. */
export interface Inventory {
  readonly cas: Record<string, CaConfig>;
  readonly certificates: CertificateConfig[];
}

const shapeSchema = z.strictObject({
  cas: z.optional(z.unknown()),
  certificates: z.array(z.unknown(), { error: 'must be a list of certificate entries' }),
});
const casSchema = z.record(z.string(), z.unknown(), { error: 'must be an object of CA entries by name' });

/** One problem with a configuration file: where it is (`certificates[2].domains[0]`) and what to do. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
}

function problemsOf(error: z.core.$ZodError): ConfigProblem[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path) || '(root)', message: issue.message }));
}

/** Thrown when a configuration cannot be used; `problems` lists every problem found, not only the first. */
export class ConfigError extends AcmeAwsError {
  readonly problems: readonly ConfigProblem[];

  constructor(source: string, problems: readonly ConfigProblem[]) {
    super(
      'config-invalid',
      `${source} has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Validates a whole inventory: either every entry is usable, or a `ConfigError` lists every problem at once. */
export function parseInventory(input: unknown, source = 'inventory'): Inventory {
  const { inventory, problems } = parseInventoryLenient(input);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return inventory;
}

/**
 * Validates entry by entry, so one bad certificate never stops the renewal of the good ones: the scheduler
 * renews what is valid and reports the rest. Every problem is listed, those of each entry and those between
 * entries (duplicate ids, unknown CAs) alike.
 */
export function parseInventoryLenient(input: unknown): { inventory: Inventory; problems: ConfigProblem[] } {
  const certificates: CertificateConfig[] = [];
  const { cas, problems } = scanInventoryLenient(input, (cert) => {
    certificates.push(cert);
  });
  return { inventory: { cas, certificates }, problems };
}

/**
 * {@link parseInventoryLenient} without keeping the certificates: each usable one is handed to `use` as soon as it
 * is validated (with the usable CAs), so a caller that keeps less of it — the scheduler keeps an id and a hash —
 * never holds every parsed entry of a large inventory at once.
 */
export function scanInventoryLenient(
  input: unknown,
  use: (cert: CertificateConfig, cas: Readonly<Record<string, CaConfig>>) => void,
): { cas: Record<string, CaConfig>; problems: ConfigProblem[] } {
  const scan = scanInventory(input);
  for (const cert of scan.certificates) use(cert, scan.cas);
  return { cas: scan.cas, problems: scan.problems };
}

/** An inventory being validated entry by entry, as {@link scanInventory} gives it. */
export interface InventoryScan {
  /** The usable CAs, known before any certificate is read. */
  readonly cas: Record<string, CaConfig>;
  /** Every problem found so far: the CAs' at once, the certificates' as they are read; complete at the end. */
  readonly problems: ConfigProblem[];
  /**
   * The usable certificates in inventory order, each validated when the iteration reaches it (iterable once).
   * Entries already read are let go of, so a caller that dropped the input holds only what it kept of them.
   */
  readonly certificates: Iterable<CertificateConfig>;
}

/**
 * {@link parseInventoryLenient} one certificate at a time, for a caller that does asynchronous work between
 * entries: the scheduler hashes a large inventory in bounded batches while it is read, so neither every parsed
 * entry nor every hash input is held at once. The problems are the same, in the same order, once the iteration
 * has ended.
 */
export function scanInventory(input: unknown): InventoryScan {
  const problems: ConfigProblem[] = [];
  const shape = shapeSchema.safeParse(input);
  if (!shape.success) return { cas: {}, problems: problemsOf(shape.error), certificates: [] };
  // CA by CA, like certificates: one unusable CA (say, a custom one without trustAnchors) stops only its own
  // certificates, and they are told why instead of being called unknown.
  const casRecord = casSchema.safeParse(shape.data.cas ?? {});
  const usableCas: [string, CaConfig][] = [];
  const brokenCas = new Set<string>();
  if (!casRecord.success) {
    problems.push(...problemsOf(casRecord.error).map((p) => ({ ...p, path: `cas.${p.path}` })));
  } else {
    for (const [name, entry] of Object.entries(casRecord.data)) {
      const parsed = caSchema.safeParse(entry);
      if (parsed.success) {
        usableCas.push([name, parsed.data]);
        continue;
      }
      brokenCas.add(name);
      problems.push(
        ...problemsOf(parsed.error).map((p) => ({
          ...p,
          path: p.path === '(root)' ? `cas.${name}` : `cas.${name}.${p.path}`,
        })),
      );
    }
  }
  const cas: Record<string, CaConfig> = Object.fromEntries(usableCas);
  // The shape's copy of the list, not the caller's: emptying its slots as they are read is ours to do.
  const entries = shape.data.certificates;
  return { cas, problems, certificates: usableCertificates(entries, cas, brokenCas, problems) };
}

/** The certificate entries' half of {@link scanInventory}: validates each when the iteration reaches it. */
function* usableCertificates(
  entries: unknown[],
  cas: Readonly<Record<string, CaConfig>>,
  brokenCas: ReadonlySet<string>,
  problems: ConfigProblem[],
): Generator<CertificateConfig, void, undefined> {
  const ids = new Set<string>();
  for (let index = 0; index < entries.length; index++) {
    if (!(index in entries)) continue;
    const entry = entries[index];
    entries[index] = undefined;
    const parsed = certificateSchema.safeParse(entry);
    // Paths are written only for a problem: a pass over a large valid inventory makes no string per entry for them.
    if (!parsed.success) {
      const where = `certificates[${index}]`;
      problems.push(
        ...problemsOf(parsed.error).map((p) => ({
          ...p,
          path: p.path === '(root)' ? where : `${where}.${p.path}`,
        })),
      );
      continue;
    }
    const cert = parsed.data;
    let usable = true;
    if (ids.has(cert.id)) {
      problems.push({
        path: `certificates[${index}].id`,
        message: `duplicate id "${cert.id}"; ids must be unique`,
      });
      usable = false;
    }
    ids.add(cert.id);
    const raw = entry as { ca?: unknown; failoverCas?: unknown[] };
    const named = caPaths(raw.ca, Array.isArray(raw.ca) ? [] : (raw.failoverCas ?? []));
    for (const { name, path } of named) {
      if (brokenCas.has(name)) {
        problems.push({
          path: `certificates[${index}].${formatPath(path)}`,
          message: `CA "${name}" is defined under "cas" but cannot be used; fix the problems listed under cas.${name}`,
        });
        usable = false;
      } else if (!(name in cas) && !(name in CA_PRESETS)) {
        problems.push({
          path: `certificates[${index}].${formatPath(path)}`,
          message: `unknown CA "${name}"; define it under "cas" or use one of ${Object.keys(CA_PRESETS).join(', ')}`,
        });
        usable = false;
      }
    }
    if (usable) yield cert;
  }
}

/**
 * A certificate's CA, from the inventory's `cas` or a preset, with its trust anchors: the entry's own, else the
 * built-in roots of the preset its directory URL belongs to (validation rejects a custom CA without any).
 */
export function caFor(inventory: Inventory, caName: string): ResolvedCa {
  const defined = inventory.cas[caName];
  if (defined) {
    const preset = presetOfUrl(defined.directoryUrl);
    const builtIn = preset === undefined ? [] : PRESET_TRUST_ANCHORS[preset].map((anchor) => anchor.pem);
    return { ...defined, trustAnchors: defined.trustAnchors ?? builtIn };
  }
  if (caName in CA_PRESETS) {
    const preset = caName as keyof typeof CA_PRESETS;
    return {
      directoryUrl: CA_PRESETS[preset],
      contact: [],
      trustAnchors: PRESET_TRUST_ANCHORS[preset].map((anchor) => anchor.pem),
    };
  }
  throw new ConfigError('inventory', [{ path: 'ca', message: `unknown CA "${caName}"` }]);
}

/** Default lifetime of a `_validation-persist` record (`persistUntil`), in days. */
export const DEFAULT_PERSIST_DAYS = 365;

/**
 * Whether the renewer may answer dns-01 for a certificate (and so needs `_acme-challenge` writes): always for
 * dns-01, and for dns-persist-01 unless the certificate (or its CA) turns the fallback off.
 */
export function usesDns01(inventory: Inventory, cert: CertificateConfig): boolean {
  if (challengeOf(inventory, cert) === 'dns-01') return true;
  return cert.dns01Fallback ?? inventory.cas[cert.ca]?.dns01Fallback ?? true;
}

/** The challenge a certificate answers: its own choice, else its CA's, else dns-01. */
export function challengeOf(inventory: Inventory, cert: CertificateConfig): ChallengeType {
  return cert.challenge ?? inventory.cas[cert.ca]?.challenge ?? 'dns-01';
}
