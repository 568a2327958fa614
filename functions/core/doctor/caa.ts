import type { CheckStatus } from './check';

/** One CAA resource record as resolved: the flags octet, the property tag and its value. */
export interface CaaRecord {
  readonly flags: number;
  readonly tag: string;
  readonly value: string;
}

/** Resolves the CAA RRset of one name; an empty list when there is none (NODATA or NXDOMAIN). */
export type CaaLookup = (name: string) => Promise<readonly CaaRecord[]>;

/** The relevant CAA RRset of a name and where it was found (`undefined`: nowhere up to the root). */
export interface RelevantCaa {
  readonly foundAt?: string;
  readonly records: readonly CaaRecord[];
}

/**
 * Finds the relevant RRset by climbing the tree from the certificate name (a wildcard's base name) towards the
 * root, stopping at the first name whose CAA RRset is not empty.
 * @see RFC 8659 §3: "RelevantCAASet(domain): for domain is not ".": if CAA(domain) is not Empty: return
 *   CAA(domain); domain := Parent(domain); return Empty"
 */
export async function findRelevantCaa(domain: string, lookup: CaaLookup): Promise<RelevantCaa> {
  const labels = domain.replace(/^\*\./, '').replace(/\.$/, '').toLowerCase().split('.');
  for (let i = 0; i < labels.length; i++) {
    const name = labels.slice(i).join('.');
    const records = await lookup(name);
    if (records.length > 0) return { foundAt: name, records };
  }
  return { records: [] };
}

/** The parts of an `issue` / `issuewild` value: the issuer's domain (empty for `";"`) and its parameters. */
export interface IssueValue {
  readonly issuer: string;
  /** Parameter tags lower-cased, in order; a tag given twice appears twice. */
  readonly parameters: readonly (readonly [tag: string, value: string])[];
}

const LABEL = '[A-Za-z0-9](?:-*[A-Za-z0-9])*';
const ISSUER = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
const PARAMETER = new RegExp(`^(${LABEL})[ \\t]*=[ \\t]*([\\x21-\\x3a\\x3c-\\x7e]*)$`);

/**
 * Parses an `issue` or `issuewild` property value, or returns `undefined` when it is malformed.
 * @see RFC 8659 §4.2: `issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]`,
 *   `parameter = tag *WSP "=" *WSP value`, `value = *(%x21-3A / %x3C-7E)`
 */
export function parseIssueValue(raw: string): IssueValue | undefined {
  const [head = '', ...rest] = raw.split(';');
  const issuer = head.trim();
  if (issuer !== '' && !ISSUER.test(issuer)) return undefined;
  const parameters: [string, string][] = [];
  const text = rest.join(';').trim();
  if (text !== '') {
    for (const part of text.split(';')) {
      const match = PARAMETER.exec(part.trim());
      if (!match) return undefined;
      parameters.push([match[1]!.toLowerCase(), match[2]!]);
    }
  }
  return { issuer: issuer.toLowerCase(), parameters };
}

/** Property tags this check understands; a critical record with any other tag blocks issuance. */
const KNOWN_TAGS = new Set(['issue', 'issuewild', 'iodef', 'contactemail', 'contactphone']);

/** Why CAA allows or refuses the order, as a stable reason. */
export type CaaReason =
  | 'no-caa'
  | 'not-restricted'
  | 'allowed'
  | 'critical-unknown'
  | 'issuer-unknown'
  | 'issuance-forbidden'
  | 'issuer-not-listed'
  | 'method-not-allowed'
  | 'account-not-allowed'
  | 'account-unknown'
  | 'malformed';

/** What the order would look like to the CA: the name, the CA's CAA identities, the account and the method. */
export interface CaaRequest {
  /** The certificate name; a wildcard as `*.example.com`. */
  readonly domain: string;
  /** Issuer domain names the CA recognises as its own; `undefined` when not known (a custom CA). */
  readonly identities: readonly string[] | undefined;
  /** The ACME account URL the order would be sent with, when an account exists already. */
  readonly accountUri?: string;
  /** The ACME challenge type used. @default 'dns-01' */
  readonly method?: string;
}

/** The CAA verdict for one name, with the reason and the properties it was decided on. */
export interface CaaVerdict {
  readonly status: CheckStatus;
  readonly reason: CaaReason;
  readonly message: string;
  readonly fix?: string;
}

type Candidate = 'ok' | 'method' | 'account' | 'account-unknown' | 'unsatisfiable';

/**
 * Judges one `issue`/`issuewild` property naming this CA against the account and method of the order.
 * @see RFC 8657 §3: "If a certificate issuance request is made to a CA such that no account URI is available
 *   …, a CA MUST NOT consider any property having an "accounturi" parameter as authorizing issuance." and
 *   "A property without an "accounturi" parameter matches any account. A property with an invalid or
 *   unrecognized "accounturi" parameter is unsatisfiable. A property with multiple "accounturi" parameters is
 *   unsatisfiable."
 * @see RFC 8657 §4: "A CA MUST only consider a property with the "validationmethods" parameter to authorize
 *   issuance where the name of the challenge method being used is one of the names listed in the
 *   comma-separated list."
 */
function judgeProperty(value: IssueValue, accountUri: string | undefined, method: string): Candidate {
  const accounts = value.parameters.filter(([tag]) => tag === 'accounturi').map(([, v]) => v);
  const methods = value.parameters.filter(([tag]) => tag === 'validationmethods').map(([, v]) => v);
  if (accounts.length > 1 || methods.length > 1) return 'unsatisfiable';
  if (methods.length === 1) {
    const listed = methods[0]!.split(',').map((m) => m.trim().toLowerCase());
    if (!listed.includes(method)) return 'method';
  }
  if (accounts.length === 1) {
    if (accountUri === undefined) return 'account-unknown';
    if (accounts[0] !== accountUri) return 'account';
  }
  return 'ok';
}

function show(records: readonly CaaRecord[]): string {
  return records.map((r) => `${r.flags} ${r.tag} "${r.value}"`).join(', ');
}

/**
 * Decides whether the relevant CAA RRset lets this CA issue for the name with this account and method.
 * @see RFC 8659 §4.1: "A CA MUST NOT issue certificates for any FQDN if the Relevant RRset for that FQDN
 *   contains a CAA critical Property for an unknown or unsupported Property Tag."
 * @see RFC 8659 §4.3: "Each issuewild Property MUST be ignored when processing a request for an FQDN that is
 *   not a Wildcard Domain Name." and "If at least one issuewild Property is specified in the Relevant RRset for
 *   a Wildcard Domain Name, each issue Property MUST be ignored when processing a request for that Wildcard
 *   Domain Name."
 * @see RFC 8659 §4.2 (an empty issuer domain name, `issue ";"`, authorizes no CA)
 */
export function evaluateCaa(relevant: RelevantCaa, request: CaaRequest): CaaVerdict {
  const { records, foundAt } = relevant;
  const where = foundAt ?? request.domain;
  if (records.length === 0) {
    return { status: 'ok', reason: 'no-caa', message: 'no CAA records up to the root: any CA may issue' };
  }
  const critical = records.filter((r) => (r.flags & 0x80) !== 0 && !KNOWN_TAGS.has(r.tag.toLowerCase()));
  if (critical.length > 0) {
    return {
      status: 'fail',
      reason: 'critical-unknown',
      message: `CAA at ${where} has a critical property no CA is required to understand (${show(critical)}): every CA must refuse`,
      fix: `remove the critical flag (128) from that record at ${where}, or the record`,
    };
  }
  const wildcard = request.domain.startsWith('*.');
  const wild = records.filter((r) => r.tag.toLowerCase() === 'issuewild');
  const plain = records.filter((r) => r.tag.toLowerCase() === 'issue');
  const tag = wildcard && wild.length > 0 ? 'issuewild' : 'issue';
  const applicable = tag === 'issuewild' ? wild : plain;
  if (applicable.length === 0) {
    return {
      status: 'ok',
      reason: 'not-restricted',
      message: `CAA at ${where} has no ${wildcard ? 'issue or issuewild' : 'issue'} property: it does not restrict issuers`,
    };
  }
  const parsed = applicable.map((r) => ({ record: r, value: parseIssueValue(r.value) }));
  const issuers = [...new Set(parsed.map((p) => p.value?.issuer).filter((i): i is string => !!i))];
  const context = {
    where,
    tag,
    method: request.method ?? 'dns-01',
    request,
    applicable,
    parsed,
    issuers,
  } as const;
  if (request.identities === undefined) {
    return {
      status: 'warn',
      reason: 'issuer-unknown',
      message: `CAA at ${where} allows ${issuers.join(', ') || 'no CA'} (${tag}); this CA's CAA identity is unknown, cannot check`,
      fix: "pass --caa-identity <ca>=<the CA's issuer domain name> (from its CPS)",
    };
  }
  const mine = new Set(request.identities.map((i) => i.toLowerCase()));
  const ours = parsed.filter(
    (p): p is ParsedProperty & { value: IssueValue } => p.value !== undefined && mine.has(p.value.issuer),
  );
  return ours.length === 0 ? issuerNotListed(context, request.identities) : judgeOurProperties(context, ours);
}

/** An applicable `issue`/`issuewild` record with its value parsed (undefined when malformed). */
interface ParsedProperty {
  readonly record: CaaRecord;
  readonly value: IssueValue | undefined;
}

/** What the verdicts on the applicable properties need to say where, which tag, and what record to add. */
interface PropertyContext {
  readonly where: string;
  readonly tag: 'issue' | 'issuewild';
  readonly method: string;
  readonly request: CaaRequest;
  readonly applicable: readonly CaaRecord[];
  readonly parsed: readonly ParsedProperty[];
  readonly issuers: readonly string[];
}

/** The record that would let this CA issue for the name with this method (and account, when known). */
function recordToAdd(context: PropertyContext, identity: string): string {
  const { where, tag, method, request } = context;
  return `${where}. CAA 0 ${tag} "${identity}; validationmethods=${method}${request.accountUri ? `; accounturi=${request.accountUri}` : ''}"`;
}

/** No applicable property names this CA: issuance is forbidden, malformed, or for other CAs only. */
function issuerNotListed(context: PropertyContext, identities: readonly string[]): CaaVerdict {
  const { where, tag, applicable, parsed, issuers } = context;
  const malformed = parsed.filter((p) => p.value === undefined).map((p) => p.record);
  const forbidden = parsed.every((p) => p.value?.issuer === '');
  return {
    status: 'fail',
    reason: forbidden
      ? 'issuance-forbidden'
      : malformed.length > 0 && issuers.length === 0
        ? 'malformed'
        : 'issuer-not-listed',
    message: forbidden
      ? `CAA at ${where} forbids every CA (${show(applicable)})`
      : `CAA at ${where} allows ${issuers.join(', ') || 'no CA'} (${tag}), not ${identities.join(' or ')}${malformed.length > 0 ? `; malformed: ${show(malformed)}` : ''}`,
    fix: `add ${recordToAdd(context, identities[0] ?? '?')}`,
  };
}

/** The properties naming this CA, judged against the order's account and method (RFC 8657 §3, §4). */
function judgeOurProperties(
  context: PropertyContext,
  ours: readonly (ParsedProperty & { value: IssueValue })[],
): CaaVerdict {
  const { where, tag, method, request } = context;
  const verdicts = ours.map((p) => judgeProperty(p.value, request.accountUri, method));
  const shown = show(ours.map((p) => p.record));
  if (verdicts.includes('ok')) {
    return {
      status: 'ok',
      reason: 'allowed',
      message: `CAA at ${where} allows ${[...new Set(ours.map((p) => p.value.issuer))].join(', ')} (${tag}) with ${method}${request.accountUri ? ' and this account' : ''}`,
    };
  }
  if (verdicts.includes('account-unknown')) {
    return {
      status: 'warn',
      reason: 'account-unknown',
      message: `CAA at ${where} allows this CA only for the accounts in accounturi; no account exists yet, so it cannot be checked`,
      fix: 'run the first order, then doctor again; or add the account URL the renewer will register to accounturi',
    };
  }
  if (verdicts.every((v) => v === 'unsatisfiable')) {
    return {
      status: 'fail',
      reason: 'malformed',
      message: `CAA at ${where} names this CA only with accounturi or validationmethods given twice, which is unsatisfiable (${shown})`,
      fix: `give each parameter once per record: ${recordToAdd(context, ours[0]!.value.issuer)}`,
    };
  }
  const byMethod = verdicts.includes('method');
  return {
    status: 'fail',
    reason: byMethod ? 'method-not-allowed' : 'account-not-allowed',
    message: byMethod
      ? `CAA at ${where} allows this CA only with validationmethods other than ${method} (${shown})`
      : `CAA at ${where} allows this CA only for other accounts (${shown}), not ${request.accountUri}`,
    fix: `add ${recordToAdd(context, ours[0]!.value.issuer)}, or add ${byMethod ? method : 'this account'} to the existing record`,
  };
}
