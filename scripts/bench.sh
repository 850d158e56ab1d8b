#!/usr/bin/env bash
# Runs `oms bench` for every scenario, one-at-a-time workers (OMS_STOCK_BATCH=1 OMS_ORDER_BATCH=1)
# and batched workers (the defaults), each against a fresh `oms up` with 4 partitions and a fresh,
# empty secantusd-rs of its own (so that results do not depend on what earlier runs left in a store),
# and prints one Markdown table of the results. The JSON reports are left in $OUT (default bench-results/).
#
#   scripts/bench.sh [ORDERS] [CONCURRENCY]      (defaults: 600 16)
#
# Knobs: BENCH_SCENARIOS ("uniform hot mixed"), BENCH_MODES ("one-at-a-time batched"), BENCH_PORT (8091),
# BENCH_STORE_PORT (27091), BENCH_RATE (orders/s, open loop; unset: as fast as the clients go).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ORDERS=${1:-600}
CONCURRENCY=${2:-16}
OUT=${OUT:-$ROOT/bench-results}
PORT=${BENCH_PORT:-8091}
SCENARIOS=${BENCH_SCENARIOS:-uniform hot mixed}
MODES=${BENCH_MODES:-one-at-a-time batched}
mkdir -p "$OUT"

bash scripts/services.sh start >/dev/null
SECANTUS=$(bash scripts/services.sh secantus-bin)
STORE_PORT=${BENCH_STORE_PORT:-27091}
cargo build --release --bin oms
OMS=${CARGO_TARGET_DIR:-$ROOT/target}/release/oms
RATE_ARGS=()
[ -n "${BENCH_RATE:-}" ] && RATE_ARGS=(--rate "$BENCH_RATE")

export OMS_ENV=dev OMS_STOCK_PARTITIONS=4 OMS_ADMIN_EMAIL=bench@oms.local OMS_ADMIN_PASSWORD=bench-password
export OMS_HTTP_ADDR=127.0.0.1:$PORT RUST_LOG=warn
export OMS_MONGO_URI="mongodb://127.0.0.1:$STORE_PORT/?directConnection=true"
server=
store=
store_dir=
stop_store() {
  [ -n "$store" ] && kill "$store" 2>/dev/null && wait "$store" 2>/dev/null
  [ -n "$store_dir" ] && rm -rf "$store_dir"
  store= store_dir=
}
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; stop_store; true; }
trap cleanup EXIT

for mode in $MODES; do
  case $mode in
    one-at-a-time) batch=1 ;;
    batched) batch=32 ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  for scenario in $SCENARIOS; do
    db="oms_bench_${scenario}_${batch}"
    store_dir=$(mktemp -d)
    "$SECANTUS" --host 127.0.0.1 --port "$STORE_PORT" --storage-path "$store_dir" >"$OUT/$scenario-$mode.store.log" 2>&1 &
    store=$!
    for _ in $(seq 120); do
      (exec 3<>"/dev/tcp/127.0.0.1/$STORE_PORT") 2>/dev/null && break
      sleep 0.5
    done
    OMS_MONGO_DB=$db OMS_STOCK_BATCH=$batch OMS_ORDER_BATCH=$batch "$OMS" up >"$OUT/$scenario-$mode.log" 2>&1 &
    server=$!
    for _ in $(seq 120); do
      curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz" && break
      sleep 0.5
    done
    echo "[bench] $scenario, $mode (OMS_STOCK_BATCH=$batch OMS_ORDER_BATCH=$batch)" >&2
    OMS_MONGO_DB=$db "$OMS" bench --url "http://127.0.0.1:$PORT" --scenario "$scenario" --orders "$ORDERS" \
      --concurrency "$CONCURRENCY" "${RATE_ARGS[@]}" --json "$OUT/$scenario-$mode.json" >&2
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=
    stop_store
  done
done

echo "| scenario | workers | accepted/s | decided/s | accept p50 / p99 ms | 202→decision p50 / p99 / max ms | store cond. updates/s | broker confirms/s | decided ÷ store | accepted ÷ broker | placed / expected | invariants |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for scenario in $SCENARIOS; do
  for mode in $MODES; do
    jq -r --arg mode "$mode" '"| \(.scenario) | \($mode) | \(.accepted_per_s|floor) | \(.final_orders_per_s|floor) | \(.accept_ms.p50*10|round/10) / \(.accept_ms.p99*10|round/10) | \(.accept_to_final_ms.p50|round) / \(.accept_to_final_ms.p99|round) / \(.accept_to_final_ms.max|round) | \(.store_cond_updates_per_s|floor) | \(.broker_confirms_per_s|floor) | \(.ratio_final_to_store*1000|round/1000) | \(.ratio_accept_to_broker*1000|round/1000) | \(.placed) / \(.expected_placed) | \(if .invariants_ok then "ok" else "VIOLATED" end) |"' \
      "$OUT/$scenario-$mode.json"
  done
done
