#!/usr/bin/env bash
# The whole test suite, as the README's Quick start runs it and as CI runs it (.ci/run calls `npm test`).
# It provisions the local test bed itself (Pebble with ARI, moto; needs root for apt-get on a fresh machine).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*"; }

bash scripts/ensure-deps.sh

step "provision the test bed (first run downloads Pebble and moto; later runs reuse .cache/)"
bash test/support/provision.sh >/dev/null

step "typecheck"
npx tsc -p tsconfig.json

step "lint and format (Biome)"
npx biome ci .

step "tests: unit, infra (CDK), integration and faults (real Pebble + moto)"
mkdir -p .cache
npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest-results.json "$@"
# One plain closing line, readable by any CI: how many tests ran and how many failed.
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(".cache/vitest-results.json", "utf8"));
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);'

step "benchmark smoke (every bench section, tiny sizes, so the benchmark code cannot rot; full run: npm run bench)"
npx tsx bench/run.ts --smoke

step "cdk synth (offline, local esbuild bundling, cdk-nag AwsSolutions)"
npx cdk synth --quiet >/dev/null
