#!/usr/bin/env bash
# The main job. With AWS credentials: `cdk deploy` of the whole system (certificates from certificates.json).
# Without: the local demo on the embedded test bed (Pebble with ARI, moto, a DNS responder), no account needed.
# Force one or the other with ACME_ARI_MODE=deploy|demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh

has_aws_credentials() {
  [ -n "${AWS_ACCESS_KEY_ID:-}" ] || [ -n "${AWS_PROFILE:-}" ] || [ -n "${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}" ] ||
    [ -n "${AWS_WEB_IDENTITY_TOKEN_FILE:-}" ] || [ -s "${AWS_SHARED_CREDENTIALS_FILE:-$HOME/.aws/credentials}" ]
}

mode="${ACME_ARI_MODE:-}"
if [ -z "$mode" ]; then
  if has_aws_credentials; then mode=deploy; else mode=demo; fi
fi

case "$mode" in
  deploy)
    echo "AWS credentials found: deploying with cdk (set ACME_ARI_MODE=demo for the local demo)" >&2
    exec npx cdk deploy --require-approval never "$@"
    ;;
  demo)
    echo "no AWS credentials: running the local demo on the embedded test bed (set ACME_ARI_MODE=deploy to deploy)" >&2
    exec npx tsx scripts/demo.ts "$@"
    ;;
  *)
    echo "ACME_ARI_MODE must be 'deploy' or 'demo', not '$mode'" >&2
    exit 2
    ;;
esac
