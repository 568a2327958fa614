import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { HANDLER_ENTRIES, lambdaBuildOptions } from '../../infra/lib/lambda-bundling';

// doctor's IAM policy evaluator (AGPL-3.0, ~19 MB with its data) and IAM client are the CLI's alone: no function
// bundle may contain them, nor the doctor's code.

const FORBIDDEN = [
  /node_modules\/@cloud-copilot\//,
  /node_modules\/@aws-sdk\/client-iam\//,
  /^functions\/core\/(iam|doctor)\//,
  /^functions\/cli\//,
];

describe('the function bundles', () => {
  it.each(Object.entries(HANDLER_ENTRIES))(
    '%s contains neither the policy evaluator nor IAM reads',
    async (_, entry) => {
      const result = await build({ ...lambdaBuildOptions(entry), metafile: true });
      const inputs = Object.keys(result.metafile.inputs);
      expect(inputs.length).toBeGreaterThan(10);
      expect(inputs.filter((path) => FORBIDDEN.some((pattern) => pattern.test(path)))).toEqual([]);
    },
  );
});
