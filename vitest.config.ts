import { defineConfig } from 'vitest/config';

// One command runs everything; the projects differ only in what they need from the test bed.
// Every project fails a test file whose output contains private key material.
const setupFiles = ['test/support/output/no-secrets-in-output.ts'];
const integration = {
  // The functions' AWS calls are recorded and judged against the synthesized IAM policies (moto enforces none).
  setupFiles: [...setupFiles, 'test/support/iam/record.ts'],
  globalSetup: ['test/support/global-setup.ts'],
  testTimeout: 180_000,
  hookTimeout: 180_000,
  // Each file starts its own Pebble/moto; on two cores they run best one file at a time.
  fileParallelism: false,
};

export default defineConfig({
  test: {
    // Function logs (routed into vitest's console by the setup file) are shown for failing tests only.
    silent: 'passed-only',
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles, testTimeout: 20_000 } },
      {
        test: {
          name: 'infra',
          setupFiles,
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      {
        // npm pack, install into a scratch CDK app, type check, synthesize: one file, its own slow setup.
        test: {
          name: 'package',
          setupFiles,
          include: ['test/package/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
      {
        // cdk bootstrap + cdk deploy onto moto's CloudFormation, then the deployed bundles run under Node.js 24.
        test: {
          name: 'deploy',
          setupFiles,
          include: ['test/deploy/**/*.test.ts'],
          globalSetup: integration.globalSetup,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
      { test: { name: 'integration', include: ['test/integration/**/*.test.ts'], ...integration } },
      { test: { name: 'faults', include: ['test/faults/**/*.test.ts'], ...integration } },
    ],
  },
});
