#!/usr/bin/env bash
# Property-based API tests: Schemathesis (pinned, in its own virtual environment under the cache)
# generates requests from the OpenAPI document and runs them against a fresh `oms up` (own port,
# database and RabbitMQ vhost) as an admin, with every check, the stateful phase on and a fixed
# seed. Fails on any finding.
#
#   scripts/fuzz-api.sh                      the CI run (FUZZ_EXAMPLES=10 per operation)
#   FUZZ_EXAMPLES=500 scripts/fuzz-api.sh    the longer run before a release
#
# Knobs: FUZZ_EXAMPLES, FUZZ_SEED (42), OMS_BIN (a built oms; else `cargo build --bin oms`),
# OMS_CACHE_DIR (where the virtual environment is kept; default ~/.cache/oms).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SCHEMATHESIS_VERSION=4.32.5
CACHE_DIR=${OMS_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/oms}
VENV="$CACHE_DIR/schemathesis-$SCHEMATHESIS_VERSION"
EXAMPLES=${FUZZ_EXAMPLES:-10}
SEED=${FUZZ_SEED:-42}
MGMT=${OMS_TEST_RABBIT_MGMT_URL:-http://guest:guest@127.0.0.1:15672}
AMQP_BASE=${OMS_TEST_AMQP_BASE:-amqp://guest:guest@127.0.0.1:5672}
OUT="$ROOT/.oms-data/fuzz"

say() { echo "[fuzz] $*"; }

if [ ! -x "$VENV/bin/schemathesis" ]; then
  say "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

bash scripts/services.sh start >/dev/null
if [ -z "${OMS_BIN:-}" ]; then
  cargo build -q --bin oms
  OMS_BIN="${CARGO_TARGET_DIR:-target}/debug/oms"
fi

id="fuzz$(date +%s)$RANDOM"
vhost="oms-$id"
db="oms_$id"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
admin_email=admin@fuzz.test
admin_password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
mkdir -p "$OUT"

curl -fsS -X PUT "$MGMT/api/vhosts/$vhost" >/dev/null
curl -fsS -X PUT -H 'content-type: application/json' \
  -d '{"configure":".*","write":".*","read":".*"}' "$MGMT/api/permissions/$vhost/guest" >/dev/null

OMS_ENV=dev OMS_HTTP_ADDR="127.0.0.1:$port" OMS_MONGO_DB="$db" OMS_AMQP_URL="$AMQP_BASE/$vhost" \
  OMS_ADMIN_EMAIL="$admin_email" OMS_ADMIN_PASSWORD="$admin_password" OMS_MEDIA_DIR="$OUT/media" \
  RUST_LOG=warn "$OMS_BIN" up >"$OUT/oms.log" 2>&1 &
oms_pid=$!

cleanup() {
  kill "$oms_pid" 2>/dev/null && wait "$oms_pid" 2>/dev/null || true
  curl -fsS -X DELETE "$MGMT/api/vhosts/$vhost" >/dev/null || true
}
trap cleanup EXIT

for _ in $(seq 60); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$oms_pid" 2>/dev/null || { cat "$OUT/oms.log"; exit 1; }
  sleep 1
done

json_field() { python3 -c "import json, sys; print(json.load(sys.stdin)$1)"; }
admin_token=$(curl -fsS -H 'content-type: application/json' \
  -d "{\"email\":\"$admin_email\",\"password\":\"$admin_password\"}" "$base/api/auth/login" |
  json_field "['access_token']")
# Data for the operations to find: a product with stock, and an order on it.
product=$(curl -fsS -H "authorization: Bearer $admin_token" -F name=Widget -F sku=FUZZ-1 -F price=1250 \
  -F stock=100000 "$base/api/products" | json_field "['id']")
curl -fsS -H "authorization: Bearer $admin_token" -H 'content-type: application/json' \
  -d "{\"items\":[{\"product_id\":\"$product\",\"quantity\":1}]}" "$base/api/orders" >/dev/null

say "schemathesis $SCHEMATHESIS_VERSION against $base: $EXAMPLES examples per operation, seed $SEED"
# The sign-in routes are throttled per client by design; fuzzing them would only measure that.
"$VENV/bin/schemathesis" run "$base/api/openapi.json" \
  --url "$base" \
  -H "Authorization: Bearer $admin_token" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples "$EXAMPLES" \
  --seed "$SEED" \
  --workers 2 \
  --request-timeout 10 \
  --suppress-health-check too_slow,filter_too_much \
  --report junit --report-dir "$OUT" \
  --exclude-path-regex '^/api/(events|orders/\{id\}/events)$' \
  "$@"
