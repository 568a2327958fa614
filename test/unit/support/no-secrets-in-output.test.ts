import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { exportPrivateKeyPem, generateKeyPair } from '../../../functions/core/pki';
import { findSecrets, outputSeen, redactSecrets } from '../../support/output/no-secrets-in-output';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

// The suite-wide guard is only worth something if it recognises real key material.
describe('the no-secrets-in-output guard', () => {
  it('finds a real PKCS#8 private key and a real private JWK, and nothing in ordinary logs', async () => {
    const keys = await generateKeyPair('ec-p256');
    const pem = await exportPrivateKeyPem(keys.privateKey);
    const jwk = JSON.stringify(await exportJWK(keys.privateKey));
    expect(findSecrets(`{"level":"INFO","key":${JSON.stringify(pem)}}`)).toEqual(['a PEM private key block']);
    expect(findSecrets(`account ${jwk}`)).toEqual(['a JWK private exponent ("d")']);
    expect(findSecrets('{"level":"INFO","message":"renewal_done","serial":"0a1b","d":"x"}')).toEqual([]);
  });

  it('redacts what it shows: no fragment of a real key survives, ordinary text is untouched', async () => {
    const keys = await generateKeyPair('ec-p256');
    const pem = await exportPrivateKeyPem(keys.privateKey);
    const jwk = JSON.stringify(await exportJWK(keys.privateKey));
    const body = pem.split('\n')[1]!;
    const shown = redactSecrets(`{"level":"INFO","key":${JSON.stringify(pem)},"account":${jwk}}`);
    expect(findSecrets(shown)).toEqual([]);
    expect(shown).not.toContain(body.slice(0, 16));
    expect(shown).not.toContain((JSON.parse(jwk) as { d: string }).d);
    expect(redactSecrets('{"message":"renewal_done","serial":"0a1b"}')).toBe(
      '{"message":"renewal_done","serial":"0a1b"}',
    );
  });

  it('sees what is written to process.stdout and process.stderr, though vitest captures it', () => {
    process.stdout.write('guard-sees-stdout\n');
    process.stderr.write(Buffer.from('guard-sees-stderr\n'));
    expect(outputSeen()).toContain('guard-sees-stdout\n');
    expect(outputSeen()).toContain('guard-sees-stderr\n');
  });

  // The real setup on three small files in a child vitest: Powertools Logger and Metrics, console and raw
  // stream writes are kept per test, shown for failing tests only, and key material fails its file unshown.
  it('in a child vitest: a green file prints none of its logs, a red test shows its own, a leak fails its file', () => {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST')),
    );
    const child = spawnSync(
      process.execPath,
      [
        'node_modules/vitest/vitest.mjs',
        'run',
        '--config',
        'test/unit/support/fixtures/vitest.fixture.config.ts',
      ],
      { cwd: root, env: { ...env, NO_COLOR: '1', CI: 'true' }, encoding: 'utf8', timeout: 120_000 },
    );
    const output = `${child.stdout}${child.stderr}`;
    // Booleans, so a failure here never prints the child's output (it holds a key-looking line).
    expect(child.status).toBe(1);
    expect(output.includes('quiet-marker'), 'a green test printed its logs').toBe(false);
    expect(output.includes('passing-marker'), 'a passing test of a red file printed its logs').toBe(false);
    expect(
      output.includes('"message":"loud-marker logger"'),
      'the failing test did not show its logger line',
    ).toBe(true);
    expect(output.includes('loud-marker stdout'), 'the failing test did not show its stdout').toBe(true);
    expect(output.includes('loud-marker before all'), 'the failing file did not show its setup logs').toBe(
      true,
    );
    expect(
      output.includes('this test file wrote a PEM private key block to its output'),
      'the leaking file did not fail',
    ).toBe(true);
    expect(output.includes('[private key redacted]'), 'the leaking line was not shown redacted').toBe(true);
    expect(findSecrets(output), 'key material reached the terminal').toEqual([]);
  }, 120_000);
});
