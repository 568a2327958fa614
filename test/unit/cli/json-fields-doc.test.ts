import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkCommand } from '../../../functions/cli/commands/check';
import { statusCommand } from '../../../functions/cli/commands/status';
import type { Target } from '../../../functions/cli/target';
import type { Runtime } from '../../../functions/composition/runtime';
import { caFor, parseInventoryLenient } from '../../../functions/core/config/inventory';
import { configHash } from '../../../functions/core/renewal/config-hash';
import { runScheduler } from '../../../functions/core/renewal/run-scheduler';
import type { CertificateState } from '../../../functions/core/renewal/state';
import {
  constantRandom,
  FakeAriServer,
  MemoryQueue,
  MemoryScheduleIndex,
  MemoryStore,
} from '../../support/fakes';
import { UNUSED_TRUST_ANCHOR_PEM } from '../acme/fake-ca';

// docs/cli.md documents every field `status --json` and `check --json` print, one table each. The fields are taken
// from what the commands print for states that exercise every optional part, so a field added to a report fails
// here until the table names it.

const docs = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../../docs/cli.md'), 'utf8');

/** The backticked first cells of the tables in the `### \`command …` section of docs/cli.md. */
function documentedFields(command: string): Set<string> {
  const start = docs.indexOf(`### \`${command}`);
  expect(start, `docs/cli.md has a section for ${command}`).toBeGreaterThan(-1);
  const end = docs.indexOf('\n### ', start + 1);
  const section = docs.slice(start, end === -1 ? undefined : end);
  return new Set([...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!));
}

/** Values whose keys are data (regions, a CA's subproblem members): documented as a whole. */
const MAP_VALUED = new Set(['certificates[].acm', 'certificates[].lastProblem.subproblems[]']);

/** Every field path of a printed JSON value: `a.b`, `a[].b` for the members of an array's objects. */
function fieldPaths(value: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) fieldPaths(item, `${prefix}[]`, out);
    return out;
  }
  if (value === null || typeof value !== 'object' || MAP_VALUED.has(prefix)) return out;
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    out.add(path);
    fieldPaths(child, path, out);
  }
  return out;
}

/** What a command printed on stdout, parsed. */
async function printed(run: (io: { out(t: string): void; err(t: string): void }) => Promise<number>) {
  const out: string[] = [];
  await run({ out: (t) => out.push(t), err: () => {} });
  return JSON.parse(out.join('\n')) as unknown;
}

const DIRECTORY = 'https://ca.test/directory';
const NOW = new Date('2025-04-01T12:00:00.000Z');
const HOUR = 60 * 60_000;
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();
const WINDOW = { start: '2025-04-11T00:00:00.000Z', end: '2025-04-13T00:00:00.000Z' };
const MOVED = { start: '2025-03-31T00:00:00.000Z', end: '2025-04-01T00:00:00.000Z' };

const inventory = {
  cas: {
    test: { directoryUrl: DIRECTORY, trustAnchors: [UNUSED_TRUST_ANCHOR_PEM] },
    backup: { directoryUrl: 'https://backup.test/directory', trustAnchors: [UNUSED_TRUST_ANCHOR_PEM] },
  },
  certificates: [
    { id: 'fresh', domains: ['fresh.example.test'], ca: 'test' },
    { id: 'moved', domains: ['moved.example.test'], ca: 'test' },
    { id: 'waiting', domains: ['waiting.example.test'], ca: 'test' },
    { id: 'ari-down', domains: ['down.example.test'], ca: 'test' },
    { id: 'bad-key', domains: ['x.example.test'], ca: 'test', keyType: 'dsa-1024' },
  ],
};

async function issued(
  id: string,
  n: number,
  extra: Partial<CertificateState> = {},
): Promise<CertificateState> {
  const parsed = parseInventoryLenient(inventory).inventory;
  const config = parsed.certificates.find((c) => c.id === id)!;
  const notAfter = '2025-05-30T00:00:00.000Z';
  const notBefore = '2025-03-01T00:00:00.000Z';
  return {
    version: 1,
    id,
    configHash: await configHash(config, caFor(parsed, config.ca)),
    current: {
      serial: `0${n}`,
      notBefore,
      notAfter,
      domains: config.domains,
      keyType: 'ec-p256',
      issuer: 'CN=Test Intermediate',
      directoryUrl: DIRECTORY,
      accountUrl: 'https://ca.test/acct/1',
      certId: `aYhba4dGQEHhs3uEe6CuLN4ByNQ.AA0${n}`,
      issuedAt: notBefore,
    },
    acm: {},
    retiredAcmArns: [],
    failures: 0,
    ...extra,
  };
}

/** A stored window whose Retry-After has passed, so the check asks the CA again. */
const storedAri = (n: number) => ({
  ari: {
    certId: `aYhba4dGQEHhs3uEe6CuLN4ByNQ.AA0${n}`,
    windowStart: WINDOW.start,
    windowEnd: WINDOW.end,
    selectedTime: '2025-04-12T00:00:00.000Z',
    explanationUrl: 'https://ca.test/why',
    nextCheckAt: at(-60_000),
    checkedAt: at(-6 * HOUR),
  },
});

/** Every optional part of a status row, as a renewer and a scheduler would have recorded them. */
async function everything(): Promise<CertificateState> {
  const base = await issued('moved', 1, storedAri(1));
  return {
    ...base,
    current: {
      ...base.current!,
      replaced: 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AA00',
      issuedBy: {
        ca: 'backup',
        failover: { from: 'test', reason: 'ca-unavailable', at: at(-HOUR), why: 'HTTP 503' },
        replacesWithheld: 'the predecessor came from another CA',
      },
    },
    ariError: 'renewalInfo answered 500',
    acm: {
      'us-east-1': {
        arn: 'arn:aws:acm:us-east-1:123456789012:certificate/1',
        serial: '01',
        keyType: 'ec-p256',
      },
    },
    pendingOrder: { url: 'https://ca.test/order/2', createdAt: at(-HOUR), failedAttempts: 0 },
    abandonedOrder: { url: 'https://ca.test/order/1', abandonedAt: at(-2 * HOUR), failedAttempts: 3 },
    profileNote: 'profile "shortlived" is not advertised by the CA',
    lastAttemptAt: at(-HOUR),
    lastResult: 'failed',
    lastReason: 'ari-window',
    lastError: 'AcmeProblemError: ACME POST failed',
    lastProblem: {
      type: 'urn:ietf:params:acme:error:unauthorized',
      detail: 'no TXT record',
      status: 403,
      instance: 'https://ca.test/problem/1',
      subproblems: [{ type: 'urn:ietf:params:acme:error:dns', identifier: { type: 'dns', value: 'x' } }],
    },
    failures: 1,
    retryAfter: at(HOUR),
    replacesDropped: { at: at(-HOUR), reason: '409 alreadyReplaced' },
    validation: { methods: ['dns-persist-01'], fallbacks: ['no persist record yet'], at: at(-HOUR) },
    dnsPersist: [
      {
        domain: 'moved.example.test',
        name: '_validation-persist.moved.example.test',
        issuerDomainName: 'ca.test',
        accountUrl: 'https://ca.test/acct/1',
        wildcard: false,
        persistUntil: at(300 * 24 * HOUR),
        writtenAt: at(-HOUR),
      },
    ],
  };
}

function target(runtime: Partial<Runtime>): Target {
  return { runtime: runtime as Runtime, description: 'the test store', owner: 'test' };
}

describe('docs/cli.md lists every field of the --json output', () => {
  it('of status', async () => {
    const store = new MemoryStore(inventory);
    store.seedState(await everything());
    store.seedState(await issued('waiting', 2, storedAri(2)));
    const index = new MemoryScheduleIndex();
    index.stored = {
      value: {
        version: 3,
        updatedAt: at(-HOUR),
        ids: ['moved'],
        hashes: ['x'],
        lookAt: [0],
        notAfter: [null],
        notBefore: [null],
        ariAt: [null],
      },
      etag: '"1"',
    };
    const withIndex = await printed((io) => statusCommand(target({ store, index }), { json: true }, io));
    const unreadable = {
      loadIndex: async () => {
        throw new Error('AccessDenied');
      },
    } as unknown as Runtime['index'];
    const withoutIndex = await printed((io) =>
      statusCommand(target({ store, index: unreadable }), { json: true }, io),
    );
    const fields = new Set([...fieldPaths(withIndex), ...fieldPaths(withoutIndex)]);
    // The fixture reaches the rare parts, or the comparison below would prove little.
    for (const path of [
      'certificates[].failover.why',
      'certificates[].dnsPersist[].persistUntil',
      'scheduleIndexError',
    ])
      expect(fields).toContain(path);
    const documented = documentedFields('status');
    expect([...fields].filter((f) => !documented.has(f))).toEqual([]);
  });

  it('of check', async () => {
    const store = new MemoryStore(inventory);
    store.seedState(await issued('moved', 1, storedAri(1)));
    store.seedState(await issued('waiting', 2, storedAri(2)));
    store.seedState(await issued('ari-down', 3));
    const ari = new FakeAriServer('https://ca.test/acme/renewal-info');
    ari.answers.set('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AA01', {
      window: MOVED,
      explanationURL: 'https://ca.test/incident',
    });
    ari.answers.set('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AA02', { window: WINDOW });
    ari.answers.set('aYhba4dGQEHhs3uEe6CuLN4ByNQ.AA03', { status: 500 });
    const scheduler: Runtime['scheduler'] = (options) =>
      runScheduler(
        {
          store,
          queue: new MemoryQueue(),
          fetch: ari.fetch,
          renewalInfoUrl: async () => ari.baseUrl,
          now: NOW,
          random: constantRandom(0.5),
        },
        options,
      );
    const output = await printed((io) => checkCommand(target({ scheduler }), { json: true }, io));
    const fields = fieldPaths(output);
    for (const path of [
      'checks[].windowMoved.previous.start',
      'checks[].ariError',
      'checks[].renewAt',
      'problems[].path',
    ])
      expect(fields).toContain(path);
    const documented = documentedFields('check');
    expect([...fields].filter((f) => !documented.has(f))).toEqual([]);
  });
});
