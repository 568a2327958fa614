import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AcmeTransport,
  accountSchema,
  authorizationSchema,
  challengeSchema,
  directorySchema,
  orderSchema,
  parseProblem,
  parseResource,
} from '../../functions/core/acme';
import { parseRenewalInfo } from '../../functions/core/ari';
import {
  normalizeDomain,
  parseInventory,
  parseInventoryLenient,
} from '../../functions/core/config/inventory';
import { AcmeAwsError } from '../../functions/core/errors';
import { parseCertificate } from '../../functions/core/pki';
import { expectLoudFailure, type FaultWorld, startFaultWorld } from '../support/faults/faults-world';

const RUNS = 2_000;

/** Entries that must each be reported and never renewed, with the problem path they must be reported under. */
const BAD: ReadonlyArray<{ entry: Record<string, unknown>; why: string; message: RegExp }> = [
  {
    entry: { id: 'bad-label', domains: ['bad..name.input.test'] },
    why: 'an empty label',
    message: /invalid label|not a valid/,
  },
  {
    entry: { id: 'underscore', domains: ['exa_mple.input.test'] },
    why: 'an underscore',
    message: /invalid label/,
  },
  {
    entry: { id: 'wild-twice', domains: ['*.*.input.test'] },
    why: 'a double wildcard',
    message: /leftmost label/,
  },
  {
    entry: { id: 'wild-inner', domains: ['foo.*.input.test'] },
    why: 'an inner wildcard',
    message: /leftmost label/,
  },
  {
    entry: { id: 'wild-partial', domains: ['*shop.input.test'] },
    why: 'a partial-label wildcard',
    message: /leftmost label/,
  },
  { entry: { id: 'ip-address', domains: ['192.0.2.1'] }, why: 'an IP address', message: /IP address/ },
  {
    entry: { id: 'too-many', domains: Array.from({ length: 101 }, (_, i) => `n${i}.input.test`) },
    why: '101 names',
    message: /more than 100 names/,
  },
  {
    entry: { id: 'rsa-1024', domains: ['rsa.input.test'], keyType: 'rsa-1024' },
    why: 'key type rsa-1024 (ACM refuses it)',
    message: /must be one of/,
  },
  {
    entry: { id: 'ed25519', domains: ['ed.input.test'], keyType: 'ed25519' },
    why: 'key type ed25519',
    message: /must be one of/,
  },
  {
    entry: { id: 'cloudfront-p384', domains: ['cf.input.test'], keyType: 'ec-p384', cloudfront: true },
    why: 'ec-p384 for CloudFront',
    message: /CloudFront accepts only/,
  },
  { entry: { id: 'Bad_Id', domains: ['id.input.test'] }, why: 'an invalid id', message: /lowercase/ },
  {
    entry: { id: 'dup', domains: ['dup-two.input.test'] },
    why: 'a duplicate id (the second entry)',
    message: /duplicate id/,
  },
];
const GOOD = [
  { id: 'plain', domains: ['plain.input.test', '*.plain.input.test'] },
  { id: 'idn', domains: ['bücher.input.test'] },
  { id: 'dup', domains: ['dup-one.input.test'] },
];
const UNMANAGED = { id: 'no-zone', domains: ['www.unmanaged.test'] };

let world: FaultWorld;

beforeAll(async () => {
  world = await startFaultWorld('input', {
    zones: ['input.test'],
    inventory: (_zones, directoryUrl, trustAnchors) => ({
      cas: { pebble: { directoryUrl, trustAnchors } },
      // The duplicate id comes after its first occurrence, as an operator's copy-paste would.
      certificates: [...GOOD, UNMANAGED, ...BAD.map((b) => b.entry)].map((c) => ({ ca: 'pebble', ...c })),
    }),
  });
});

afterAll(async () => {
  await world?.stop();
});

describe('a mixed inventory through the scheduler and the renewer', () => {
  it('lists every problem at once, renews the good entries, renews nothing for the bad ones', async () => {
    const raw = await world.runtime().store.loadInventory();
    // The strict parser (CLI `validate`, CDK synth) names every problem in one error.
    let strict: unknown;
    try {
      parseInventory(raw);
    } catch (error) {
      strict = error;
    }
    expect(strict).toBeInstanceOf(AcmeAwsError);
    const problems = (strict as { problems: Array<{ path: string; message: string }> }).problems;
    const entries = (raw as { certificates: Array<{ id: string }> }).certificates;
    for (const bad of BAD) {
      const index = entries.findIndex((e, i) => e.id === bad.entry.id && (bad.entry.id !== 'dup' || i > 2));
      const mine = problems.filter((p) => p.path.startsWith(`certificates[${index}]`));
      expect(mine.map((p) => p.message).join('\n'), bad.why).toMatch(bad.message);
    }

    const mark = world.mark();
    const { result, event } = await world.schedule();
    expect(result.problems).toBe(problems.length);
    const enqueued = event.Records.map((r) => JSON.parse(r.body).id).sort();
    expect(enqueued).toEqual([...GOOD.map((g) => g.id), UNMANAGED.id].sort());
    const response = await world.renew(event, world.config, 4);
    // The one in no managed zone fails loudly; the good ones are unaffected.
    expect(response.batchItemFailures).toHaveLength(1);
    const unmanaged = (await world.state(UNMANAGED.id))!;
    expect(unmanaged.lastError).toMatch(/No Route 53 hosted zone/);
    expect(expectLoudFailure(world.signals(UNMANAGED.id, mark))).toBe('dns-failed');

    const lost: string[] = [];
    for (const good of GOOD) {
      const state = await world.state(good.id);
      if (state?.lastResult !== 'renewed') lost.push(`${good.id} not renewed`);
    }
    const idn = parseCertificate((await world.runtime().store.getCertificate('idn'))!.certPem);
    expect(idn.dnsNames).toEqual(['xn--bcher-kva.input.test']);
    const dup = parseCertificate((await world.runtime().store.getCertificate('dup'))!.certPem);
    expect(dup.dnsNames).toEqual(['dup-one.input.test']);
    for (const bad of BAD) {
      if (bad.entry.id === 'dup') continue;
      if (await world.state(String(bad.entry.id))) lost.push(`${bad.entry.id} has a state document`);
      if (await world.objectExists(`certificates/${bad.entry.id}/cert.pem`))
        lost.push(`${bad.entry.id} was issued`);
    }
    const orders = await world.newOrders(mark);
    expect(orders).toHaveLength(GOOD.length + 1);
    if (await world.objectExists(`certificates/${UNMANAGED.id}/cert.pem`)) lost.push('no-zone was issued');

    // A message naming a bad entry (hand-sent, or queued before the inventory changed) is skipped loudly.
    const before = world.mark();
    const skipped = await world.renew(world.message('rsa-1024'));
    expect(skipped.batchItemFailures).toEqual([]);
    expect(expectLoudFailure(world.signals('rsa-1024', before))).toBe('config-invalid');
    expect(await world.newOrders(before)).toHaveLength(0);

    const leaked: string[] = [];
    for (const id of [...GOOD.map((g) => g.id), ...BAD.map((b) => String(b.entry.id))])
      leaked.push(...(await world.leaked(id)));
    leaked.push(...(await world.leaked(UNMANAGED.id)));
    world.verdict(
      {
        scenario: `mixed inventory: ${BAD.map((b) => b.why).join('; ')}; an IDN; a name in no managed zone`,
        outcome: `all ${problems.length} problems listed at once; ${GOOD.length} good entries renewed (IDN as punycode, the first of the duplicate ids); the unmanaged name failed loudly (dns-failed); nothing ordered for the bad entries; a message for a bad entry skipped with a config-invalid event`,
        notes: 'duplicate ids: the first entry is renewed, the second reported',
      },
      lost,
      [...new Set(leaked)],
    );
  });
});

describe('property: parsers of untrusted input fail only with typed errors', () => {
  const typedOrValue = (run: () => unknown): boolean => {
    try {
      run();
      return true;
    } catch (error) {
      if (error instanceof AcmeAwsError) return true;
      throw error;
    }
  };
  const json = fc.jsonValue({ maxDepth: 4 });
  const stringish = fc.oneof(
    fc.string(),
    fc.webUrl(),
    fc.domain(),
    fc.constantFrom('', '*.', '..', '*', 'xn--', 'a'.repeat(70)),
  );
  const certificateLike = fc.record(
    {
      id: fc.oneof(fc.stringMatching(/^[a-z0-9-]{0,70}$/), fc.string()),
      domains: fc.oneof(
        fc.array(fc.oneof(fc.domain(), stringish, fc.string({ unit: 'grapheme' })), { maxLength: 110 }),
        json,
      ),
      ca: fc.oneof(fc.constantFrom('pebble', 'letsencrypt', 'nope'), json),
      keyType: fc.oneof(fc.constantFrom('ec-p256', 'rsa-2048', 'rsa-1024', 'ed25519'), json),
      cloudfront: fc.oneof(fc.boolean(), json),
      acmRegions: fc.oneof(fc.array(fc.constantFrom('us-east-1', 'eu-west-1', 'mars-1')), json),
      hostedZones: fc.oneof(fc.dictionary(stringish, fc.stringMatching(/^[A-Z0-9]{0,40}$/)), json),
      tags: json,
    },
    { requiredKeys: [] },
  );
  const inventoryLike = fc.oneof(
    json,
    fc.record(
      {
        cas: fc.oneof(
          fc.dictionary(fc.string(), fc.record({ directoryUrl: stringish }, { requiredKeys: [] })),
          json,
        ),
        certificates: fc.oneof(fc.array(fc.oneof(certificateLike, json), { maxLength: 6 }), json),
      },
      { requiredKeys: [] },
    ),
  );
  const instant = fc.oneof(
    fc
      .date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
      .map((d) => d.toISOString()),
    fc.string(),
    fc.constantFrom(
      '2025-01-01T00:00:00Z',
      '2025-01-01T00:00:00',
      '+275760-09-13T00:00:00Z',
      '2025-02-30T00:00:00Z',
    ),
  );

  const properties: Array<[string, () => unknown]> = [
    [
      'the inventory parser (strict and lenient) and domain normalisation',
      () =>
        fc.assert(
          fc.property(inventoryLike, (input) => {
            expect(typedOrValue(() => parseInventory(input))).toBe(true);
            const { inventory, problems } = parseInventoryLenient(input);
            for (const p of problems) expect(typeof p.path === 'string' && p.message.length > 0).toBe(true);
            // Whatever survives the lenient parse is itself a valid inventory.
            expect(() => parseInventory(inventory)).not.toThrow();
          }),
          { numRuns: RUNS },
        ),
    ],
    [
      'normalizeDomain on arbitrary text (IDNs, wildcards, garbage)',
      () =>
        fc.assert(
          fc.property(fc.oneof(fc.string({ unit: 'grapheme' }), fc.domain(), stringish), (name) => {
            const result = normalizeDomain(name);
            if ('name' in result) expect(result.name).toMatch(/^(\*\.)?[a-z0-9.-]+$/);
            else expect(result.problem.length).toBeGreaterThan(0);
          }),
          { numRuns: RUNS },
        ),
    ],
    [
      'parseProblem on any body and status',
      () =>
        fc.assert(
          fc.property(json, fc.integer({ min: 100, max: 599 }), fc.string(), (body, status, text) => {
            const problem = parseProblem(body, status, text);
            expect(typeof problem.status).toBe('number');
          }),
          { numRuns: RUNS },
        ),
    ],
    [
      'parseResource with the order, authorization, challenge and account schemas',
      () =>
        fc.assert(
          fc.property(
            fc.oneof(
              json,
              fc.record(
                {
                  status: fc.oneof(
                    fc.constantFrom('pending', 'ready', 'valid', 'invalid', 'processing'),
                    json,
                  ),
                  identifiers: fc.oneof(
                    fc.array(fc.record({ type: fc.constant('dns'), value: fc.domain() })),
                    json,
                  ),
                  authorizations: fc.oneof(fc.array(fc.webUrl()), json),
                  finalize: fc.oneof(fc.webUrl(), json),
                  identifier: fc.oneof(fc.record({ type: fc.constant('dns'), value: fc.domain() }), json),
                  challenges: fc.oneof(
                    fc.array(fc.record({ type: fc.string(), url: fc.webUrl(), status: fc.string() })),
                    json,
                  ),
                  error: json,
                },
                { requiredKeys: [] },
              ),
            ),
            (body) => {
              for (const schema of [orderSchema, authorizationSchema, challengeSchema, accountSchema])
                expect(typedOrValue(() => parseResource(schema as never, body, 'a resource'))).toBe(true);
            },
          ),
          { numRuns: RUNS },
        ),
    ],
    [
      'parseRenewalInfo on any body',
      () =>
        fc.assert(
          fc.property(
            fc.oneof(
              json,
              fc.record(
                {
                  suggestedWindow: fc.oneof(fc.record({ start: instant, end: instant }), json),
                  explanationURL: fc.oneof(fc.webUrl(), json),
                },
                { requiredKeys: [] },
              ),
            ),
            (body) => {
              try {
                const info = parseRenewalInfo(body);
                expect(info.window.end.getTime()).toBeGreaterThan(info.window.start.getTime());
              } catch (error) {
                expect(error).toBeInstanceOf(AcmeAwsError);
                expect((error as AcmeAwsError).code).toBe('ari-invalid');
              }
            },
          ),
          { numRuns: RUNS },
        ),
    ],
    [
      'the directory schema, through the transport that fetches it',
      () =>
        fc.assert(
          fc.asyncProperty(
            fc.oneof(
              json,
              fc.record(
                {
                  newNonce: stringish,
                  newAccount: stringish,
                  newOrder: stringish,
                  revokeCert: stringish,
                  renewalInfo: stringish,
                  meta: json,
                },
                { requiredKeys: [] },
              ),
            ),
            async (body) => {
              expect(directorySchema.safeParse(body)).toBeDefined();
              const transport = new AcmeTransport({
                directoryUrl: 'https://ca.test/dir',
                fetch: async () =>
                  new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } }),
                clock: { now: () => new Date(0) },
                sleep: async () => {},
              });
              await transport.directory().then(
                () => {},
                (error: unknown) => expect(error).toBeInstanceOf(AcmeAwsError),
              );
            },
          ),
          { numRuns: RUNS },
        ),
    ],
  ];

  it.each(properties)('%s', async (name, run) => {
    await run();
    world.matrix.record({
      scenario: `property (fast-check, ${RUNS} cases): ${name}`,
      outcome: 'no crash; every failure a typed AcmeAwsError',
      nothingLost: null,
      nothingLeaked: null,
      notes: 'pure: nothing stored, nothing to leak',
    });
  });
});
