import { beforeAll, describe, expect, it } from 'vitest';
import {
  CA_PRESETS,
  ConfigError,
  caFor,
  parseInventory,
  parseInventoryLenient,
} from '../../../functions/core/config/inventory';
import { PRESET_TRUST_ANCHORS } from '../../../functions/core/pki/trust-anchors';
import { createTestRoot, type TestAuthority } from '../pki/fixtures';

let root: TestAuthority;
let other: TestAuthority;

beforeAll(async () => {
  root = await createTestRoot({ name: 'Custom Root' });
  other = await createTestRoot({ name: 'Second Root' });
});

const CUSTOM_URL = 'https://ca.example/acme/directory';
const certificate = (ca: string) => ({ id: 'www', domains: ['www.example.com'], ca });

function problemsOf(input: unknown): { path: string; message: string }[] {
  try {
    parseInventory(input);
  } catch (error) {
    if (error instanceof ConfigError) return [...error.problems];
    throw error;
  }
  return [];
}

describe('trustAnchors in the inventory', () => {
  it('rejects a custom CA without trust anchors, naming the field and the fix', () => {
    const problems = problemsOf({
      cas: { mine: { directoryUrl: CUSTOM_URL } },
      certificates: [certificate('mine')],
    });
    expect(problems).toContainEqual({
      path: 'cas.mine.trustAnchors',
      message: expect.stringContaining("add the PEM of the CA's root"),
    });
  });

  it('renews nothing for a certificate whose CA has no trust anchors (lenient parse)', () => {
    const { inventory, problems } = parseInventoryLenient({
      cas: { mine: { directoryUrl: CUSTOM_URL } },
      certificates: [certificate('mine')],
    });
    expect(inventory.certificates).toEqual([]);
    expect(problems.map((p) => p.path)).toContain('cas.mine.trustAnchors');
  });

  it.each([
    ['an empty list', [], /needs at least one root/],
    [
      'a private key',
      ['-----BEGIN PRIVATE KEY-----\nMAMCAQE=\n-----END PRIVATE KEY-----\n'],
      /not a PEM certificate/,
    ],
    ['text that is not PEM', ['ISRG Root X1'], /exactly one PEM certificate .* found 0/],
  ])('rejects %s as trust anchors', (_name, trustAnchors, message) => {
    const problems = problemsOf({
      cas: { mine: { directoryUrl: CUSTOM_URL, trustAnchors } },
      certificates: [certificate('mine')],
    });
    expect(problems.find((p) => p.path.startsWith('cas.mine.trustAnchors'))?.message).toMatch(message);
  });

  it('rejects two roots in one entry, asking to list them separately', () => {
    const problems = problemsOf({
      cas: { mine: { directoryUrl: CUSTOM_URL, trustAnchors: [root.pem + other.pem] } },
      certificates: [certificate('mine')],
    });
    expect(problems).toEqual([
      {
        path: 'cas.mine.trustAnchors[0]',
        message: expect.stringMatching(/found 2; list each root separately/),
      },
      {
        path: 'certificates[0].ca',
        message:
          'CA "mine" is defined under "cas" but cannot be used; fix the problems listed under cas.mine',
      },
    ]);
  });

  it('keeps a good CA usable when another CA entry is broken', () => {
    const { inventory } = parseInventoryLenient({
      cas: {
        broken: { directoryUrl: CUSTOM_URL },
        good: { directoryUrl: 'https://other.example/dir', trustAnchors: [root.pem] },
      },
      certificates: [certificate('broken'), { ...certificate('good'), id: 'api' }],
    });
    expect(inventory.certificates.map((c) => c.id)).toEqual(['api']);
    expect(Object.keys(inventory.cas)).toEqual(['good']);
  });

  it('gives a custom CA its own anchors', () => {
    const inventory = parseInventory({
      cas: { mine: { directoryUrl: CUSTOM_URL, trustAnchors: [root.pem, other.pem] } },
      certificates: [certificate('mine')],
    });
    expect(caFor(inventory, 'mine').trustAnchors).toEqual([root.pem, other.pem]);
  });

  it.each(Object.keys(CA_PRESETS) as (keyof typeof CA_PRESETS)[])(
    'gives preset %s its built-in roots',
    (preset) => {
      const inventory = parseInventory({ certificates: [certificate(preset)] });
      expect(caFor(inventory, preset).trustAnchors).toEqual(PRESET_TRUST_ANCHORS[preset].map((a) => a.pem));
    },
  );

  it('gives a cas entry for a preset directory URL (e.g. to add a contact) the preset roots', () => {
    const inventory = parseInventory({
      cas: { le: { directoryUrl: CA_PRESETS.letsencrypt, contact: ['mailto:ops@example.com'] } },
      certificates: [certificate('le')],
    });
    expect(caFor(inventory, 'le').trustAnchors).toEqual(PRESET_TRUST_ANCHORS.letsencrypt.map((a) => a.pem));
  });

  it('lets a preset entry replace its built-in roots with its own', () => {
    const inventory = parseInventory({
      cas: { letsencrypt: { directoryUrl: CA_PRESETS.letsencrypt, trustAnchors: [root.pem] } },
      certificates: [certificate('letsencrypt')],
    });
    expect(caFor(inventory, 'letsencrypt').trustAnchors).toEqual([root.pem]);
  });
});
