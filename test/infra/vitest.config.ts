import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Stand-alone config until the root config gets an `infra` project: `npx vitest run --config test/infra/vitest.config.ts`.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    name: 'infra',
    include: ['test/infra/**/*.test.ts'],
    // Synthesis bundles both functions and runs cdk-nag: tens of seconds on a 2-core machine.
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
