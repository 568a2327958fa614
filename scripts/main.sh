#!/usr/bin/env bash
# The main job (`npm start`). With AWS credentials, from any source the AWS SDK's credential chain accepts
# (environment, ~/.aws/credentials, SSO, credential_process and role_arn profiles in ~/.aws/config, ECS/CodeBuild
# container credentials, the EC2 instance profile): `cdk deploy` of the whole system (certificates from
# certificates.json), once the inventory is no longer the example, someone hears the alarms and the account is
# bootstrapped. Without: the local demo on the embedded test bed (Pebble with ARI, moto, a DNS responder).
# Force one or the other with ACME_ARI_MODE=deploy|demo. The decision is scripts/start/decide.ts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/ensure-deps.sh
exec npx tsx scripts/start/main.ts "$@"
