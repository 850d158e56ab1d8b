#!/usr/bin/env bash
# Reads at scale: seeds a store with N orders (`oms seed`), starts `oms api` on it, and times every
# list the API serves (and /metrics and the verify report) over a few hundred requests with 8 at a
# time, printing p50/p99 per request in milliseconds.
#
#   scripts/bench-reads.sh [ORDERS]        default 100000; the database oms_reads_<ORDERS> is reused
#
# Knobs: OMS_BIN (default: a release build), REQUESTS (200 per list), CONCURRENCY (8).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ORDERS=${1:-100000}
REQUESTS=${REQUESTS:-200}
CONCURRENCY=${CONCURRENCY:-8}
say() { echo "[bench-reads] $*" >&2; }

bash scripts/services.sh start >/dev/null
if [ -z "${OMS_BIN:-}" ]; then
  cargo build -q --release --bin oms
  OMS_BIN="${CARGO_TARGET_DIR:-target}/release/oms"
fi
export OMS_ENV=dev OMS_MONGO_DB="oms_reads_$ORDERS" OMS_ADMIN_EMAIL=admin@reads.test
# The endpoint whose delivery log is timed points at this machine.
export OMS_WEBHOOKS_ALLOW_PRIVATE=true
export OMS_ADMIN_PASSWORD=${OMS_ADMIN_PASSWORD:-reads-admin-password-1}
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export OMS_HTTP_ADDR="127.0.0.1:$port"
base="http://127.0.0.1:$port"

if [ "$("$OMS_BIN" verify 2>/dev/null | grep -o 'and [0-9]* orders' | grep -o '[0-9]*' || echo 0)" -lt "$ORDERS" ]; then
  say "seeding $ORDERS orders into $OMS_MONGO_DB"
  "$OMS_BIN" seed --orders "$ORDERS"
  # The order counters (totals past the count cap, /metrics, stats) come from the analytics model.
  "$OMS_BIN" analytics rebuild >/dev/null
fi
"$OMS_BIN" api >/dev/null 2>&1 &
api=$!
trap 'kill $api 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 1; done

token() {
  curl -fsS -H 'content-type: application/json' -d "{\"email\":\"$1\",\"password\":\"$2\"}" "$base/api/auth/login" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])'
}
admin=$(token "$OMS_ADMIN_EMAIL" "$OMS_ADMIN_PASSWORD")
shopper=$(token seed-0@oms.test seeded-password-1)
deep=$(curl -fsS -H "authorization: Bearer $admin" "$base/api/orders?per_page=50" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["next_cursor"])')
product=$(curl -fsS "$base/api/products?per_page=1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')
# A cursor 10,000 orders down (the end of what page/per_page reach), and the busiest shopper's id.
deeper=$(curl -fsS -H "authorization: Bearer $admin" "$base/api/orders?page=100&per_page=100" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["next_cursor"])')
shopper_id=$(curl -fsS -H "authorization: Bearer $shopper" "$base/api/orders?per_page=1" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["user_id"])')
# A webhook endpoint, for its delivery log (empty here: the seed sends no events).
endpoint=$(curl -fsS -H "authorization: Bearer $admin" -H 'content-type: application/json' \
  -d '{"url":"http://127.0.0.1:9/reads","events":["order.placed"]}' "$base/api/webhooks" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' || true)

# time_it NAME TOKEN PATH: p50/p99 of REQUESTS requests, CONCURRENCY at a time.
time_it() {
  local name=$1 tok=$2 path=$3
  seq "$REQUESTS" | xargs -P "$CONCURRENCY" -I{} curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
    -H "authorization: Bearer $tok" "$base$path" |
    python3 -c '
import sys
name = sys.argv[1]
rows = [l.split() for l in sys.stdin if l.strip()]
bad = [r for r in rows if r[0] != "200"]
ms = sorted(float(r[1]) * 1000 for r in rows)
pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]
print(f"| {name} | {pick(0.5):.1f} | {pick(0.99):.1f} | {len(bad)} |")
' "$name"
}

echo "| request ($ORDERS orders) | p50 ms | p99 ms | non-200 |"
echo "|---|---|---|---|"
time_it "admin orders, page 1" "$admin" "/api/orders?page=1&per_page=50"
time_it "admin orders, status=PLACED, page 100" "$admin" "/api/orders?status=PLACED&page=100&per_page=50"
time_it "admin orders after a cursor" "$admin" "/api/orders?per_page=50&cursor=$deep"
time_it "admin orders after a cursor 10,000 down" "$admin" "/api/orders?per_page=50&cursor=$deeper"
time_it "admin orders of one customer (user_id)" "$admin" "/api/orders?user_id=$shopper_id&per_page=50"
time_it "shopper with $((ORDERS / 10)) orders, page 1" "$shopper" "/api/orders?page=1&per_page=50"
time_it "admin search by customer e-mail" "$admin" "/api/orders?customer=SEED-1@oms.test&per_page=50"
time_it "admin search by order number" "$admin" "/api/orders?number=$((ORDERS / 2))"
time_it "products, page 1" "$admin" "/api/products?page=1&per_page=50"
time_it "ledger of a product" "$admin" "/api/products/$product/ledger?per_page=50"
time_it "a shopper's notifications" "$shopper" "/api/notifications?per_page=50"
[ -n "$endpoint" ] && time_it "an endpoint's deliveries" "$admin" "/api/webhooks/$endpoint/deliveries?per_page=50"
time_it "dead letters, every queue" "$admin" "/api/ops/dead-letters?limit=100"
time_it "/metrics" "$admin" "/metrics"
time_it "/api/orders/stats" "$admin" "/api/orders/stats"
REQUESTS=3 CONCURRENCY=1 time_it "/api/ops/verify" "$admin" "/api/ops/verify"
