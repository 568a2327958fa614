import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../../functions/cli/failure';
import { runCli, USAGE } from '../../../functions/cli/run';
import { scratchDir } from '../../support/scratch';

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { io: { out: (t) => out.push(t), err: (t) => err.push(t) }, env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const dir = scratchDir('acme-ari-cli-');
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('acme-ari command line', () => {
  it.each([
    ['no arguments print the usage and exit 2', [], EXIT.usage, ''],
    [
      'an unknown command',
      ['frobnicate'],
      EXIT.usage,
      'error: unknown command "frobnicate"; try acme-ari --help',
    ],
    ['an unknown flag', ['status', '--verbose'], EXIT.usage, "error: Unknown option '--verbose'"],
    [
      'a flag of another command',
      ['status', '--force'],
      EXIT.usage,
      'error: --force is not an option of status',
    ],
    ['too many arguments', ['renew', 'a', 'b'], EXIT.usage, 'error: renew takes one argument, not "a b"'],
    [
      'a missing string value',
      ['status', '--bucket'],
      EXIT.usage,
      "error: Option '--bucket <value>' argument missing",
    ],
    ['no deployment named', ['status'], EXIT.usage, 'error: which deployment? pass --bucket'],
    [
      'no region',
      ['status', '--bucket', 'b'],
      EXIT.usage,
      'error: which region? pass --region or set AWS_REGION',
    ],
    [
      'renew without an id',
      ['renew', '--bucket', 'b', '--region', 'eu-west-1'],
      EXIT.usage,
      'error: renew needs a certificate id',
    ],
    ['validate without a file', ['validate'], EXIT.usage, 'error: validate needs a file'],
    ['validate a missing file', ['validate', join(dir, 'absent.json')], EXIT.usage, 'ENOENT'],
  ])('%s', async (_what, argv, code, err) => {
    const result = await cli(argv);
    expect(result.code).toBe(code);
    expect(result.err).toContain(err);
    // One clear line, no stack trace without --debug.
    if (err) expect(result.err.split('\n')).toHaveLength(1);
    expect(result.err).not.toMatch(/\n\s+at /);
  });

  it('--help prints the usage with the exit codes and exits 0', async () => {
    const result = await cli(['status', '--help']);
    expect(result.code).toBe(EXIT.ok);
    expect(result.out).toBe(USAGE);
    expect(result.out).toContain('Exit codes: 0 ok, 1 the operation failed, 2 usage or validation error, 3');
  });

  it('--debug adds the stack to a failure', async () => {
    const result = await cli(['status', '--debug']);
    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toMatch(/^error: which deployment\?[\s\S]*\n\s+at /);
  });

  it('validate accepts the shipped inventories', async () => {
    for (const path of ['certificates.json', 'examples/demo-inventory.json']) {
      const result = await cli(['validate', path]);
      expect(result.code).toBe(EXIT.ok);
      expect(result.out).toMatch(new RegExp(`^${path.replace('.', '\\.')} is valid: \\d certificates`));
    }
  });

  it('validate reports every problem of a broken inventory at once and exits 2', async () => {
    const broken = file(
      'broken.json',
      JSON.stringify({
        certificates: [
          { id: 'Web', domains: ['example.test'] },
          { id: 'api', domains: ['a.*.example.test'], keyType: 'dsa-1024' },
          { id: 'db', domains: ['b.example.test'], extra: true },
        ],
      }),
    );
    const result = await cli(['validate', broken]);
    expect(result.code).toBe(EXIT.usage);
    const lines = result.err.split('\n');
    expect(lines[0]).toBe(`${broken} has 4 problems:`);
    expect(lines.slice(1)).toEqual([
      '  certificates[0].id: must be 1-64 lowercase letters, digits or inner hyphens, e.g. "www-example-com"',
      '  certificates[1].domains[0]: "a.*.example.test" has a "*" that is not the whole leftmost label; write "*.example.com"',
      '  certificates[1].keyType: must be one of ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096',
      '  certificates[2]: Unrecognized key: "extra"',
    ]);
  });

  it('validate --json gives the problems as data', async () => {
    const broken = file('broken-json.json', JSON.stringify({ certificates: [{ id: 'x' }] }));
    const result = await cli(['validate', broken, '--json']);
    expect(result.code).toBe(EXIT.usage);
    expect(JSON.parse(result.out)).toEqual({
      valid: false,
      problems: [{ path: 'certificates[0].domains', message: expect.any(String) }],
    });
  });

  it('validate rejects a file that is not JSON, saying where', async () => {
    const result = await cli(['validate', file('bad.json', '{"certificates": [,]}')]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.err).toMatch(/^error: .*bad\.json is not JSON: Unexpected token/);
  });
});
