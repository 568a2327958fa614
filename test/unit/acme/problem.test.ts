import { describe, expect, it } from 'vitest';
import {
  ACME_ERROR_PREFIX,
  AcmeProblemError,
  acmeErrorName,
  parseProblem,
  RateLimitedError,
} from '../../../functions/core/acme/problem';

const full = {
  type: `${ACME_ERROR_PREFIX}rejectedIdentifier`,
  detail: 'Some of the identifiers were rejected',
  status: 400,
  instance: 'https://ca.test/problem/1',
  subproblems: [
    {
      type: `${ACME_ERROR_PREFIX}rejectedIdentifier`,
      detail: 'policy forbids this name',
      identifier: { type: 'dns', value: 'bad.example.com' },
    },
    {
      type: `${ACME_ERROR_PREFIX}caa`,
      detail: 'CAA forbids issuance',
      identifier: { type: 'dns', value: 'caa.example.com' },
    },
  ],
};

describe('parseProblem', () => {
  it('keeps a full problem document with its subproblems and unknown fields', () => {
    const problem = parseProblem({ ...full, algorithms: ['ES256'] }, 400);
    expect(problem).toMatchObject(full);
    expect(problem.subproblems).toHaveLength(2);
    expect(problem).toHaveProperty('algorithms', ['ES256']);
  });

  it('takes the HTTP status when the document has none', () => {
    expect(parseProblem({ type: `${ACME_ERROR_PREFIX}malformed`, detail: 'x' }, 400).status).toBe(400);
  });

  it.each([
    [
      'a non-JSON 502 body',
      undefined,
      502,
      '<html>Bad Gateway</html>',
      `${ACME_ERROR_PREFIX}serverInternal`,
      'HTTP 502 without a problem document: <html>Bad Gateway</html>',
    ],
    [
      'an empty 500 body',
      undefined,
      500,
      '',
      `${ACME_ERROR_PREFIX}serverInternal`,
      'HTTP 500 without a problem document',
    ],
    ['an empty 404 body', undefined, 404, '', 'about:blank', 'HTTP 404 without a problem document'],
    ['a JSON array', [1, 2], 400, '[1,2]', 'about:blank', 'HTTP 400 without a problem document: [1,2]'],
    [
      'JSON without type or detail',
      { hello: 'world' },
      503,
      '{"hello":"world"}',
      `${ACME_ERROR_PREFIX}serverInternal`,
      'HTTP 503 without a problem document: {"hello":"world"}',
    ],
  ])('turns %s into a synthetic problem', (_, body, status, text, type, detail) => {
    expect(parseProblem(body, status, text)).toEqual({ type, detail, status });
  });

  it('keeps type and detail when another member is malformed, so badNonce and alreadyReplaced are still seen', () => {
    const body = {
      type: `${ACME_ERROR_PREFIX}badNonce`,
      detail: 'stale',
      status: '400',
      subproblems: 'none',
    };
    expect(parseProblem(body, 400, JSON.stringify(body))).toEqual({
      type: `${ACME_ERROR_PREFIX}badNonce`,
      detail: 'stale',
      status: 400,
    });
  });

  it('cuts a long non-JSON body so a huge error page does not end up in the state document', () => {
    const problem = parseProblem(undefined, 500, 'x'.repeat(10_000));
    expect(problem.detail!.length).toBeLessThan(300);
  });
});

describe('acmeErrorName', () => {
  it.each([
    [`${ACME_ERROR_PREFIX}badNonce`, 'badNonce'],
    [`${ACME_ERROR_PREFIX}alreadyReplaced`, 'alreadyReplaced'],
    ['about:blank', undefined],
    [undefined, undefined],
  ])('%s → %s', (type, name) => {
    expect(acmeErrorName({ type })).toBe(name);
  });
});

describe('AcmeProblemError', () => {
  it('says which request failed, with type, status, detail and every subproblem identifier', () => {
    const error = new AcmeProblemError(parseProblem(full, 400), 'POST https://ca.test/new-order');
    expect(error.name).toBe('AcmeProblemError');
    expect(error.code).toBe('acme-problem');
    expect(error.acmeType).toBe('rejectedIdentifier');
    expect(error.status).toBe(400);
    expect(error.request).toBe('POST https://ca.test/new-order');
    expect(error.message).toContain('POST https://ca.test/new-order');
    expect(error.message).toContain('rejectedIdentifier (HTTP 400): Some of the identifiers were rejected');
    expect(error.message).toContain('bad.example.com: rejectedIdentifier policy forbids this name');
    expect(error.message).toContain('caa.example.com: caa CAA forbids issuance');
    expect(error.problem).toMatchObject(full);
  });

  it('names a non-ACME problem type in full', () => {
    const error = new AcmeProblemError(
      { type: 'https://ca.test/errors/odd', status: 418, detail: 'teapot' },
      'GET x',
    );
    expect(error.acmeType).toBeUndefined();
    expect(error.message).toContain('https://ca.test/errors/odd (HTTP 418): teapot');
  });

  it('RateLimitedError carries its own code, name and the retry time', () => {
    const at = new Date('2025-06-01T13:00:00Z');
    const error = new RateLimitedError(
      { type: `${ACME_ERROR_PREFIX}rateLimited`, status: 429, detail: 'too many certificates' },
      'POST https://ca.test/new-order',
      at,
    );
    expect(error).toBeInstanceOf(AcmeProblemError);
    expect(error.name).toBe('RateLimitedError');
    expect(error.code).toBe('acme-rate-limited');
    expect(error.retryAfter).toBe(at);
    expect(error.message).toContain('rateLimited (HTTP 429): too many certificates');
  });
});
