import { describe, expect, it } from 'vitest';
import type { CertificateConfig } from '../../../functions/core/config/inventory';
import { caaIdentitiesFor, checkCloudFront, checkNameLimit } from '../../../functions/core/doctor/limits';

const names = (n: number) => Array.from({ length: n }, (_, i) => `n${i}.example.com`);

describe('name limit', () => {
  it.each([
    ['letsencrypt', 'shortlived', 25, 'ok'],
    ['letsencrypt', 'shortlived', 26, 'fail'],
    ['letsencrypt', 'tlsserver', 26, 'fail'],
    ['letsencrypt', 'classic', 100, 'ok'],
    ['letsencrypt', undefined, 26, 'ok'],
    ['letsencrypt-staging', 'tlsserver', 30, 'fail'],
    ['google-trust-services', 'shortlived', 30, 'ok'],
  ])('%s with profile %s and %s names: %s', (ca, profile, count, status) => {
    const check = checkNameLimit({ ca, domains: names(count), ...(profile ? { profile } : {}) }, undefined);
    expect(check.status).toBe(status);
  });
});

describe('CloudFront rules', () => {
  const entry = (keyType: CertificateConfig['keyType'], acmRegions: string[], cloudfront = true) => ({
    keyType,
    acmRegions,
    cloudfront,
  });
  it.each([
    [entry('ec-p256', []), 'us-east-1', ['ok', 'ok']],
    [entry('rsa-2048', ['us-east-1', 'eu-west-1']), 'eu-west-1', ['ok', 'ok']],
    [entry('ec-p384', ['us-east-1']), 'eu-west-1', ['fail', 'ok']],
    [entry('ec-p256', []), 'eu-west-1', ['ok', 'fail']],
    [entry('rsa-4096', ['eu-west-1']), 'eu-west-1', ['fail', 'fail']],
    [entry('ec-p384', [], false), 'eu-west-1', []],
  ])('%j in default region %s', (cert, region, statuses) => {
    expect(checkCloudFront(cert, region).map((c) => c.status)).toEqual(statuses);
  });
});

describe('CAA identities', () => {
  it.each([
    ['letsencrypt', undefined, {}, ['letsencrypt.org']],
    ['zerossl', undefined, {}, ['sectigo.com']],
    ['google-trust-services', undefined, {}, ['pki.goog']],
    // A `cas` entry pointing at a preset's directory is that CA.
    [
      'mine',
      { directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory', contact: [] },
      {},
      ['letsencrypt.org'],
    ],
    ['pebble', { directoryUrl: 'https://pebble.test/dir', contact: [] }, {}, undefined],
    [
      'pebble',
      { directoryUrl: 'https://pebble.test/dir', contact: [] },
      { pebble: ['pebble.test'] },
      ['pebble.test'],
    ],
    ['pebble', { directoryUrl: 'https://pebble.test/dir', contact: [] }, { '*': ['any.test'] }, ['any.test']],
    ['letsencrypt', undefined, { '*': ['any.test'] }, ['letsencrypt.org']],
  ])('%s', (name, ca, overrides, expected) => {
    expect(caaIdentitiesFor(name, ca, overrides)).toEqual(expected);
  });
});
