#!/usr/bin/env bash
# The whole test suite, as the README's Quick start runs it and as CI runs it (.ci/run calls `npm test`).
# It provisions the local test bed itself (Pebble with ARI, moto; needs root for apt-get on a fresh machine).
# A green run prints the step names and vitest's own lines: function logs are shown for failing tests only, and
# the other steps keep their output in .cache/ unless they fail. It leaves `git status` as it found it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== %s\n' "$*"; }

# Runs a command with its output kept in .cache/<log>; the output is shown only when the command fails.
quietly() {
  local log=".cache/$1"
  shift
  if "$@" >"$log" 2>&1; then
    echo "ok (output in $log)"
  else
    local rc=$?
    tail -n 100 "$log"
    echo "failed with exit code $rc; the whole output is in $log" >&2
    return "$rc"
  fi
}

# Every changed or untracked file, with a hash of its content: a file the developer had already edited
# counts as changed by the run only if the run changed it again.
worktree_state() {
  git status --porcelain=v1 --untracked-files=all | while IFS= read -r line; do
    local path=${line:3}
    path=${path##* -> }
    if [ -f "$path" ]; then echo "$line $(git hash-object -- "$path")"; else echo "$line -"; fi
  done | LC_ALL=C sort
}

in_git=false
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then in_git=true; fi
mkdir -p .cache
if $in_git; then worktree_state >.cache/status-before-test; fi

bash scripts/ensure-deps.sh

step "provision the test bed (first run downloads Pebble and moto; later runs reuse .cache/)"
bash testbed/provision.sh >/dev/null

# From here on the tests and everything they start (Pebble, moto, cdk, esbuild, tsx) make their temporary files
# in this run's own TMPDIR, removed when the script exits however it exits: what a test forgets cannot pile up
# in /tmp over many runs. Kept short: Unix socket paths are limited to 108 bytes.
run_tmp=$(mktemp -d /tmp/acme-test.XXXXXX)
trap 'rm -rf "$run_tmp"' EXIT
export TMPDIR=$run_tmp

step "typecheck"
npx tsc -p tsconfig.json

step "lint and format (Biome)"
npx biome ci .

step "tests: unit, infra (CDK), integration and faults (real Pebble + moto)"
# The faults suite records its rows in .cache/faults/; the docs check below reads only what a full run recorded.
rm -f .cache/vitest-results.json
if [ $# -eq 0 ]; then rm -rf .cache/faults; fi
vitest_rc=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest-results.json "$@" || vitest_rc=$?
# One plain closing line, readable by any CI: how many tests ran and how many failed.
node -e '
  const fs = require("node:fs");
  const file = ".cache/vitest-results.json";
  if (!fs.existsSync(file)) { console.error("vitest wrote no results"); process.exit(1); }
  const r = JSON.parse(fs.readFileSync(file, "utf8"));
  if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
  console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);'
if [ "$vitest_rc" -ne 0 ]; then exit "$vitest_rc"; fi

step "the tests removed their scratch folders (test/support/scratch.ts; acme-* in this run's TMPDIR)"
# Only the tests make acme-* folders, and every process they started has stopped by now; the trap would remove
# the leftovers, but a test that leaks them fills the disk of whoever runs it with plain `npx vitest`.
if [ $# -eq 0 ]; then
  leftovers=$(cd "$TMPDIR" && find . -mindepth 1 -maxdepth 1 -name 'acme-*' | sed 's|^\./||' | LC_ALL=C sort)
  if [ -n "$leftovers" ]; then
    echo "$leftovers" | sed "s|^|$TMPDIR/|" >&2
    echo "the tests left the folders above; make them with scratchDir() from test/support/scratch.ts" >&2
    exit 1
  fi
  echo "ok"
else
  echo "skipped: a run with vitest arguments ($*) runs only some of the tests"
fi

step "generated docs are current (docs/reliability.md and the README table, from this run's faults records)"
if [ $# -eq 0 ]; then
  npx tsx scripts/docs.ts --check
else
  echo "skipped: a run with vitest arguments ($*) may not record every fault scenario"
fi

step "benchmark smoke (every bench section, tiny sizes, so the benchmark code cannot rot; full run: npm run bench)"
quietly bench-smoke.log npx tsx bench/run.ts --smoke

step "cdk synth (offline, local esbuild bundling, cdk-nag AwsSolutions)"
quietly cdk-synth.log npx cdk synth --quiet -c notificationEmail=alarms@example.com

step "the run changed no file git tracks or sees (compared with git status before the run)"
if $in_git; then
  changed=$(worktree_state | LC_ALL=C comm -13 .cache/status-before-test - || true)
  if [ -n "$changed" ]; then
    echo "$changed" | sed 's/ [0-9a-f-]*$//' >&2
    echo "the test run changed the files above; write such output under .cache/ or cdk.out/ (git-ignored)" \
      "(if you edited them yourself during the run, run again)" >&2
    exit 1
  fi
  echo "ok"
else
  echo "skipped: not a git checkout"
fi
