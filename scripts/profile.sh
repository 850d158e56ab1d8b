#!/usr/bin/env bash
# Where the time goes in one `oms bench` run: CPU used by `oms up`, RabbitMQ, the store and the bench
# client while orders are placed (from /proc), and, from the bench report, store commands and consumed
# messages per decided order. Runs against an empty secantusd-rs of its own, with the defaults a user
# gets from `oms up` (set OMS_STOCK_PARTITIONS, OMS_STOCK_BATCH, OMS_ORDER_BATCH to try others).
#
#   scripts/profile.sh [ORDERS]     (default 3000)
#
# With PERF=1 it also records `perf record -g` of `oms up` for 4 s into perf.data.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ORDERS=${1:-3000}
PORT=${PROFILE_PORT:-8092}
STORE_PORT=${PROFILE_STORE_PORT:-27095}

bash scripts/services.sh start >/dev/null
SECANTUS=$(bash scripts/services.sh secantus-bin)
cargo build --release --bin oms
OMS=${CARGO_TARGET_DIR:-$ROOT/target}/release/oms

export OMS_ENV=dev OMS_ADMIN_EMAIL=bench@oms.local OMS_ADMIN_PASSWORD=bench-password
export OMS_HTTP_ADDR=127.0.0.1:$PORT RUST_LOG=warn OMS_MONGO_DB=oms_profile
export OMS_MONGO_URI="mongodb://127.0.0.1:$STORE_PORT/?directConnection=true"
work=$(mktemp -d)
store= server= bench=
cleanup() {
  for pid in $bench $server $store; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; done
  rm -rf "$work"
  true
}
trap cleanup EXIT

"$SECANTUS" --host 127.0.0.1 --port "$STORE_PORT" --storage-path "$work/store" >/dev/null 2>&1 &
store=$!
for _ in $(seq 120); do (exec 3<>"/dev/tcp/127.0.0.1/$STORE_PORT") 2>/dev/null && break; sleep 0.5; done
"$OMS" up >"$work/up.log" 2>&1 &
server=$!
for _ in $(seq 120); do curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz" && break; sleep 0.5; done
"$OMS" bench --url "http://127.0.0.1:$PORT" --scenario uniform --orders "$ORDERS" --concurrency 32 \
  --json "$work/report.json" >/dev/null 2>"$work/bench.log" &
bench=$!
for _ in $(seq 600); do grep -q "placing" "$work/bench.log" && break; sleep 0.1; done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
beam=$(pgrep -f beam.smp | head -1)
declare -A before after
for p in "$server" "$beam" "$store" "$bench"; do before[$p]=$(ticks "$p"); done
t0=$(date +%s.%N)
if [ "${PERF:-}" = 1 ]; then perf record -F 499 -g -p "$server" -o perf.data -- sleep 4 >/dev/null 2>&1; else sleep 4; fi
t1=$(date +%s.%N)
for p in "$server" "$beam" "$store" "$bench"; do after[$p]=$(ticks "$p"); done
hz=$(getconf CLK_TCK)
cores() { echo "scale=2; (${after[$1]} - ${before[$1]}) / $hz / ($t1 - $t0)" | bc; }
echo "CPU cores used while placing: oms up $(cores "$server"), RabbitMQ $(cores "$beam"), secantusd-rs $(cores "$store"), bench client $(cores "$bench")"
wait "$bench"
bench=
jq '{final_orders_per_s, store_cond_updates_per_s, ratio_final_to_store, placed, invariants_ok, per_order}' "$work/report.json"
