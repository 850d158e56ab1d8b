#!/usr/bin/env bash
# Runs `oms bench` for every scenario, one-at-a-time workers (OMS_STOCK_BATCH=1 OMS_ORDER_BATCH=1)
# and batched workers (the defaults), each against a fresh `oms up` with 4 partitions and a fresh,
# empty secantusd-rs of its own (so that results do not depend on what earlier runs left in a store),
# and prints one Markdown table of the results. The JSON reports are left in $OUT (default bench-results/).
#
#   scripts/bench.sh [ORDERS] [CONCURRENCY]      (defaults: 600 16)
#
# Knobs: BENCH_SCENARIOS ("uniform hot mixed"), BENCH_MODES ("one-at-a-time batched"), BENCH_PORT (8091),
# BENCH_STORE_PORT (27091), BENCH_RATE (orders/s, open loop; unset: as fast as the clients go),
# BENCH_UP_WITHOUT (worker kinds `oms up` leaves out, e.g. "analytics,notifications,webhooks"),
# BENCH_PARTITIONS (unset: the default a user gets from `oms up`), OMS_BIN (a prebuilt `oms` to measure
# instead of building this checkout, e.g. an older commit's), BENCH_LABEL (names the JSON reports).
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
if [ -n "${OMS_BIN:-}" ]; then
  OMS=$OMS_BIN
else
  cargo build --release --bin oms
  OMS=${CARGO_TARGET_DIR:-$ROOT/target}/release/oms
fi
LABEL=${BENCH_LABEL:+$BENCH_LABEL-}
RATE_ARGS=()
[ -n "${BENCH_RATE:-}" ] && RATE_ARGS=(--rate "$BENCH_RATE")

[ -n "${BENCH_PARTITIONS:-}" ] && export OMS_STOCK_PARTITIONS=$BENCH_PARTITIONS
export OMS_ENV=dev OMS_ADMIN_EMAIL=bench@oms.local OMS_ADMIN_PASSWORD=bench-password
export OMS_HTTP_ADDR=127.0.0.1:$PORT RUST_LOG=warn
export OMS_MONGO_URI="mongodb://127.0.0.1:$STORE_PORT/?directConnection=true"
server=
store=
store_dir=
vhost=
MGMT=http://127.0.0.1:${OMS_RABBITMQ_MGMT_PORT:-15672}
stop_store() {
  [ -n "$store" ] && kill "$store" 2>/dev/null && wait "$store" 2>/dev/null
  [ -n "$store_dir" ] && rm -rf "$store_dir"
  store= store_dir=
}
# Every run gets a RabbitMQ virtual host of its own, as it gets a store of its own: a consumer
# left over from another run (or anything else on the node) cannot take its messages.
new_vhost() {
  vhost=oms-bench-$(date +%s%N)
  curl -fsS -u guest:guest -X PUT "$MGMT/api/vhosts/$vhost" >/dev/null
  curl -fsS -u guest:guest -X PUT -H 'content-type: application/json' \
    -d '{"configure":".*","write":".*","read":".*"}' "$MGMT/api/permissions/$vhost/guest" >/dev/null
  export OMS_AMQP_URL="amqp://guest:guest@127.0.0.1:${OMS_RABBITMQ_PORT:-5672}/$vhost"
}
drop_vhost() {
  [ -n "$vhost" ] && curl -fsS -u guest:guest -X DELETE "$MGMT/api/vhosts/$vhost" >/dev/null
  vhost=
}
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; stop_store; drop_vhost; true; }
trap cleanup EXIT

for mode in $MODES; do
  case $mode in
    one-at-a-time) batch=1 ;;
    batched) batch=${BENCH_BATCH:-} ;;
    *) echo "unknown mode $mode" >&2; exit 2 ;;
  esac
  for scenario in $SCENARIOS; do
    db="oms_bench_${scenario}_${batch}"
    store_dir=$(mktemp -d)
    "$SECANTUS" --host 127.0.0.1 --port "$STORE_PORT" --storage-path "$store_dir" >"$OUT/$LABEL$scenario-$mode.store.log" 2>&1 &
    store=$!
    new_vhost
    for _ in $(seq 120); do
      (exec 3<>"/dev/tcp/127.0.0.1/$STORE_PORT") 2>/dev/null && break
      sleep 0.5
    done
    report="$OUT/$LABEL$scenario-$mode"
    env OMS_MONGO_DB=$db ${batch:+OMS_STOCK_BATCH=$batch OMS_ORDER_BATCH=$batch} "$OMS" up ${BENCH_UP_WITHOUT:+--without "$BENCH_UP_WITHOUT"} >"$report.log" 2>&1 &
    server=$!
    for _ in $(seq 120); do
      curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz" && break
      sleep 0.5
    done
    echo "[bench] $scenario, $mode (${batch:+OMS_STOCK_BATCH=$batch OMS_ORDER_BATCH=$batch }${OMS_STOCK_PARTITIONS:+OMS_STOCK_PARTITIONS=$OMS_STOCK_PARTITIONS})" >&2
    OMS_MONGO_DB=$db "$OMS" bench --url "http://127.0.0.1:$PORT" --scenario "$scenario" --orders "$ORDERS" \
      --concurrency "$CONCURRENCY" "${RATE_ARGS[@]}" --json "$report.json" >&2
    kill "$server"
    wait "$server" 2>/dev/null || true
    server=
    stop_store
    drop_vhost
  done
done

echo "| scenario | workers | decided/s | sync/s | decided ÷ sync | decided ÷ store | send→decision p50 / p99 ms | sync p50 / p99 ms | store cmds / order | msgs / order | CPU ms / order (oms, store, broker) | peak RSS MB | placed / expected | invariants |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for scenario in $SCENARIOS; do
  for mode in $MODES; do
    jq -r --arg mode "$mode" '
      def r(n): (. * n | round) / n;
      def cpu(role): ([.cpu | to_entries[] | select(.key | startswith(role)) | .value.ms_per_order] | add // 0 | r(100));
      "| \(.scenario) | \($mode) | \(.final_orders_per_s|floor) | \(.sync_orders_per_s|floor) | \(.ratio_final_to_sync|r(100)) | \(.ratio_final_to_store|r(1000)) | \(.send_to_final_ms.p50|r(10)) / \(.send_to_final_ms.p99|r(10)) | \(.sync.latency_ms.p50|r(10)) / \(.sync.latency_ms.p99|r(10)) | \(.store_commands_per_order) | \(.broker_messages_per_order) | \(cpu("total")) (\(cpu("oms")), \(cpu("store")), \(cpu("rabbitmq"))) | \([.peak_rss_kib[][1]] | max // 0 | ./1024 | floor) | \(.placed) / \(.expected_placed) | \(if .invariants_ok then "ok" else "VIOLATED" end) |"' \
      "$OUT/$LABEL$scenario-$mode.json"
  done
done
