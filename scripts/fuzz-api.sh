#!/usr/bin/env bash
# Property-based API tests: Schemathesis (pinned, in its own virtual environment under the cache)
# generates requests from the OpenAPI document and runs them against a fresh `oms up` (own port,
# database and RabbitMQ vhost), once as an admin and once as a shopper, with every check, the
# stateful phase on and a fixed seed. The rules across fields that JSON Schema cannot state, and the
# data the operations need (orders, a delivery, a declared queue), come from scripts/fuzz_hooks.py.
# Fails on any finding, and on any warning that an operation was never reached with usable data.
#
#   scripts/fuzz-api.sh                      the CI run (FUZZ_EXAMPLES=10 per operation)
#   FUZZ_EXAMPLES=500 scripts/fuzz-api.sh    the longer run before a release
#
# Knobs: FUZZ_EXAMPLES, FUZZ_SEED (42), FUZZ_AS ("admin shopper": which passes), OMS_BIN (a built oms; else `cargo build --bin oms`),
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

# Webhook URLs must resolve to an address webhooks may reach; this machine resolves no public
# names, so private ones are allowed here (scripts/fuzz_hooks.py sends loopback URLs).
# Access tokens last a day here: a long run (FUZZ_EXAMPLES=500) takes longer per pass than the
# default 15 minutes.
OMS_ENV=dev OMS_ACCESS_TTL=24h OMS_WEBHOOKS_ALLOW_PRIVATE=true OMS_HTTP_ADDR="127.0.0.1:$port" OMS_MONGO_DB="$db" OMS_AMQP_URL="$AMQP_BASE/$vhost" \
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
# Data for the operations to find: a product with stock, and orders on it that are PLACED (the
# hooks send status changes and cancels to them), and the name of a queue this deployment declares.
product=$(curl -fsS -H "authorization: Bearer $admin_token" -F name=Widget -F sku=FUZZ-1 -F price=1250 \
  -F stock=100000 "$base/api/products" | json_field "['id']")
# A webhook endpoint on the orders, so that there are deliveries (failing: nothing listens there).
webhook=$(curl -fsS -H "authorization: Bearer $admin_token" -H 'content-type: application/json' \
  -d '{"url":"http://127.0.0.1:9/seed","events":["order.placed"]}' "$base/api/webhooks" | json_field "['id']")
# placed_orders TOKEN: six orders of the token's user, once each is PLACED (comma-separated ids).
placed_orders() {
  local orders=() order status
  for _ in 1 2 3 4 5 6; do
    orders+=("$(curl -fsS -H "authorization: Bearer $1" -H 'content-type: application/json' \
      -d "{\"items\":[{\"product_id\":\"$product\",\"quantity\":1}]}" "$base/api/orders" | json_field "['id']")")
  done
  for order in "${orders[@]}"; do
    for _ in $(seq 100); do
      status=$(curl -fsS -H "authorization: Bearer $1" "$base/api/orders/$order" | json_field "['status']")
      [ "$status" = PLACED ] && break
      sleep 0.1
    done
    [ "$status" = PLACED ] || { echo "[fuzz] order $order stayed $status" >&2; return 1; }
  done
  (IFS=,; echo "${orders[*]}")
}
admin_orders=$(placed_orders "$admin_token")
shopper_password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
curl -fsS -o /dev/null -H 'content-type: application/json' \
  -d "{\"email\":\"shopper@fuzz.test\",\"name\":\"Fuzz Shopper\",\"password\":\"$shopper_password\"}" "$base/api/auth/register"
shopper_token=$(curl -fsS -H 'content-type: application/json' \
  -d "{\"email\":\"shopper@fuzz.test\",\"password\":\"$shopper_password\"}" "$base/api/auth/login" |
  json_field "['access_token']")
shopper_orders=$(placed_orders "$shopper_token")
export OMS_FUZZ_DELIVERY
for _ in $(seq 100); do
  delivery=$(curl -fsS -H "authorization: Bearer $admin_token" "$base/api/webhooks/$webhook/deliveries" |
    python3 -c "import json, sys; items = json.load(sys.stdin)['items']; print(items[0]['id'] if items else '')")
  [ -n "$delivery" ] && break
  sleep 0.1
done
[ -n "$delivery" ] || { echo "[fuzz] no webhook delivery was made" >&2; exit 1; }
OMS_FUZZ_DELIVERY="$webhook/$delivery"
export OMS_FUZZ_QUEUE
OMS_FUZZ_QUEUE=$(curl -fsS -H "authorization: Bearer $admin_token" "$base/api/ops/queues" |
  python3 -c "import json, sys; print(next(q['name'] for q in json.load(sys.stdin)['queues'] if q['name'].startswith('oms.stock.')))")

# run_as NAME TOKEN ORDERS [schemathesis options...]: one whole run as that user, whose PLACED
# orders the hooks send status changes and cancels to. One worker: with two, Hypothesis' source cache
# once failed a run with an internal error ("AST constructor recursion depth mismatch").
run_as() {
  local name=$1 token=$2 orders=$3
  shift 3
  say "schemathesis $SCHEMATHESIS_VERSION against $base as $name: $EXAMPLES examples per operation, seed $SEED"
  OMS_FUZZ_ORDERS=$orders OMS_FUZZ_PRODUCT=$product SCHEMATHESIS_HOOKS=fuzz_hooks PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}" \
    "$VENV/bin/schemathesis" --config-file "$ROOT/scripts/schemathesis.toml" run "$base/api/openapi.json" \
    --url "$base" \
    -H "Authorization: Bearer $token" \
    --checks all \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$EXAMPLES" \
    --seed "$SEED" \
    --workers 1 \
    --request-timeout 10 \
    --suppress-health-check too_slow,filter_too_much \
    --report junit --report-dir "$OUT/$name" \
    --exclude-path-regex '^/api/(events|orders/\{id\}/events)$' \
    "$@"
}

failed=0
passes=${FUZZ_AS:-admin shopper}
if [[ " $passes " == *" admin "* ]]; then
  run_as admin "$admin_token" "$admin_orders" "$@" || failed=1
fi
# A shopper runs what a shopper may: the operations whose security names no role (the ones that
# need `admin` answer a shopper 403, which tests/it/openapi.rs checks for each).
admin_operations=$(curl -fsS "$base/api/openapi.json" | python3 -c '
import json, sys
for item in json.load(sys.stdin)["paths"].values():
    for operation in item.values():
        if any("admin" in r.get("bearer", []) for r in operation.get("security", [])):
            print(operation["operationId"])')
shopper_excludes=()
for operation in $admin_operations; do shopper_excludes+=(--exclude-operation-id "$operation"); done
if [[ " $passes " == *" shopper "* ]]; then
  run_as shopper "$shopper_token" "$shopper_orders" "${shopper_excludes[@]}" "$@" || failed=1
fi
exit "$failed"
