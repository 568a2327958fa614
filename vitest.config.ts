import { defineConfig } from 'vitest/config';

// One command runs everything; the projects differ only in what they need from the test bed.
const integration = {
  globalSetup: ['test/support/global-setup.ts'],
  testTimeout: 180_000,
  hookTimeout: 180_000,
  // Each file starts its own Pebble/moto; on two cores they run best one file at a time.
  fileParallelism: false,
};

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 20_000 } },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
        },
      },
      { test: { name: 'integration', include: ['test/integration/**/*.test.ts'], ...integration } },
      { test: { name: 'faults', include: ['test/faults/**/*.test.ts'], ...integration } },
    ],
  },
});
