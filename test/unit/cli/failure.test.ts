import { describe, expect, it } from 'vitest';
import {
  describeFailure,
  EXIT,
  exitCodeFor,
  RenewalFailedError,
  UsageError,
} from '../../../functions/cli/failure';
import { AcmeProblemError } from '../../../functions/core/acme/problem';
import { ConfigError } from '../../../functions/core/config/inventory';
import { AcmeAwsError } from '../../../functions/core/errors';
import { emptyState } from '../../../functions/core/renewal/state';

const rejected = new AcmeProblemError(
  {
    type: 'urn:ietf:params:acme:error:rejectedIdentifier',
    detail: 'Error creating new order :: Cannot issue for "*.*.example.test"',
    status: 400,
    subproblems: [
      {
        type: 'urn:ietf:params:acme:error:rejectedIdentifier',
        detail: 'Domain name has more than one wildcard',
        identifier: { type: 'dns', value: '*.*.example.test' },
      },
    ],
  },
  'POST https://ca.test/new-order',
);

describe('describeFailure', () => {
  it('prints one line for what failed, then the problem document and each subproblem', () => {
    expect(describeFailure(rejected, false)).toEqual([
      'error: ACME POST https://ca.test/new-order failed: rejectedIdentifier (HTTP 400): Error creating new order :: Cannot issue for "*.*.example.test" [*.*.example.test: rejectedIdentifier Domain name has more than one wildcard]',
      '  problem: urn:ietf:params:acme:error:rejectedIdentifier (HTTP 400): Error creating new order :: Cannot issue for "*.*.example.test"',
      '    *.*.example.test: urn:ietf:params:acme:error:rejectedIdentifier: Domain name has more than one wildcard',
    ]);
  });

  it('finds the problem document on a wrapping error’s cause', () => {
    const wrapped = new AcmeAwsError('config-invalid', 'the CA rejected the EAB', { cause: rejected });
    expect(describeFailure(wrapped, false)[1]).toMatch(
      /^ {2}problem: urn:ietf:params:acme:error:rejectedIdentifier/,
    );
  });

  it('shows the problem a failed renewal recorded in its state (what the demo reports)', () => {
    const failed = new RenewalFailedError('shop', {
      ...emptyState('shop'),
      failures: 1,
      lastResult: 'failed',
      lastError: 'AcmeProblemError: ACME POST https://ca.test/order failed: unauthorized (HTTP 403): no TXT',
      lastProblem: { type: 'urn:ietf:params:acme:error:unauthorized', detail: 'no TXT', status: 403 },
    });
    expect(describeFailure(failed, false)).toEqual([
      'error: renewal of "shop" failed: AcmeProblemError: ACME POST https://ca.test/order failed: unauthorized (HTTP 403): no TXT',
      '  problem: urn:ietf:params:acme:error:unauthorized (HTTP 403): no TXT',
    ]);
    expect(failed.code).toBe('acme-problem');
    expect(new RenewalFailedError('shop', undefined).code).toBe('acme-protocol');
  });

  it('lists every problem of an invalid configuration', () => {
    const error = new ConfigError('certificates.json', [
      { path: 'certificates[0].id', message: 'must be lowercase' },
      { path: 'certificates[1].keyType', message: 'must be one of ec-p256' },
    ]);
    expect(describeFailure(error, false)).toEqual([
      'error: certificates.json has 2 problems:',
      '  - certificates[0].id: must be lowercase',
      '  - certificates[1].keyType: must be one of ec-p256',
    ]);
  });

  it('keeps other multi-line messages to their first line, and shows the stack only with --debug', () => {
    const error = new AcmeAwsError('store-failed', 'S3 said no\nsecond line');
    expect(describeFailure(error, false)).toEqual(['error: S3 said no']);
    const debug = describeFailure(error, true);
    expect(debug).toHaveLength(2);
    expect(debug[1]).toMatch(/^AcmeAwsError: S3 said no\n[\s\S]*at /);
  });

  it('describes thrown non-errors', () => {
    expect(describeFailure('boom', true)).toEqual(['error: boom']);
  });
});

describe('exitCodeFor', () => {
  it.each([
    ['a usage error', new UsageError('unknown command'), EXIT.usage],
    ['an invalid configuration', new ConfigError('x', []), EXIT.usage],
    ['an ACME problem', rejected, EXIT.failed],
    ['an AWS failure', new AcmeAwsError('import-failed', 'ACM'), EXIT.failed],
    ['anything else', new TypeError('x'), EXIT.failed],
  ])('%s exits %i', (_what, error, code) => {
    expect(exitCodeFor(error)).toBe(code);
  });
});
