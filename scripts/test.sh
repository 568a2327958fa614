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
npx vitest run "$@"

step "benchmark smoke (every bench section, tiny sizes, so the benchmark code cannot rot; full run: npm run bench)"
npx tsx bench/run.ts --smoke

step "cdk synth (offline, local esbuild bundling, cdk-nag AwsSolutions)"
npx cdk synth --quiet >/dev/null
