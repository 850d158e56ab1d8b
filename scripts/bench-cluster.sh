#!/usr/bin/env bash
# Scale-out measured: `oms bench` against the three-node RabbitMQ cluster of scripts/cluster.sh, with two
# `oms api` processes (the bench spreads its clients over both) and 1, 2 and 4 `oms worker all` processes,
# at 4 and 16 partitions. Every run gets a fresh virtual host on the cluster and a fresh, empty store, and
# release builds. Prints one Markdown table; the JSON reports stay in $OUT (default bench-results/cluster/).
#
#   scripts/bench-cluster.sh [ORDERS] [CONCURRENCY]      (defaults: 2000 32)
#
# Knobs: BENCH_WORKERS ("1 2 4"), BENCH_PARTITIONS ("4 16"), BENCH_SCENARIO (uniform), BENCH_APIS (2),
# BENCH_STORE_PORT (27092), OMS_BIN (a prebuilt `oms` instead of a release build of this checkout),
# BENCH_BROKER=single (the same processes on the machine's one RabbitMQ node, 127.0.0.1:5672, for reference).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
ORDERS=${1:-2000}
CONCURRENCY=${2:-32}
OUT=${OUT:-$ROOT/bench-results/cluster}
WORKERS=${BENCH_WORKERS:-1 2 4}
PARTITIONS=${BENCH_PARTITIONS:-4 16}
SCENARIO=${BENCH_SCENARIO:-uniform}
APIS=${BENCH_APIS:-2}
STORE_PORT=${BENCH_STORE_PORT:-27092}
AMQP_BASE=${OMS_CLUSTER_AMQP_BASE:-5680}
mkdir -p "$OUT"

SINGLE=false
[ "${BENCH_BROKER:-cluster}" = single ] && SINGLE=true
$SINGLE || bash scripts/cluster.sh up --brokers-only >/dev/null
SECANTUS=$(bash scripts/services.sh secantus-bin)
if [ -n "${OMS_BIN:-}" ]; then
  OMS=$OMS_BIN
else
  cargo build --release --bin oms
  OMS=${CARGO_TARGET_DIR:-$ROOT/target}/release/oms
fi

export OMS_ENV=dev OMS_ADMIN_EMAIL=bench@oms.local OMS_ADMIN_PASSWORD=bench-password RUST_LOG=warn
export OMS_MONGO_URI="mongodb://127.0.0.1:$STORE_PORT/?directConnection=true"
if $SINGLE; then
  MGMT=http://127.0.0.1:15672
  export OMS_RABBIT_MANAGEMENT_URL=http://guest:guest@127.0.0.1:15672
  OUT=$OUT/single
  mkdir -p "$OUT"
  amqp_url() { echo "amqp://guest:guest@127.0.0.1:5672/$2"; }
else
  MGMT=http://127.0.0.1:$((AMQP_BASE + 10001))
  export OMS_RABBIT_MANAGEMENT_URL="http://guest:guest@127.0.0.1:$((AMQP_BASE + 10001)),127.0.0.1:$((AMQP_BASE + 10002)),127.0.0.1:$((AMQP_BASE + 10003))"
  # Every node, starting at node $1 (1-3), for the vhost $2: each process lists them in its own order.
  amqp_url() {
    local first=$1 i hosts=()
    for i in 0 1 2; do hosts+=("127.0.0.1:$((AMQP_BASE + (first - 1 + i) % 3 + 1))"); done
    local IFS=,
    echo "amqp://guest:guest@${hosts[*]}/$2"
  }
fi

pids=()
store=
store_dir=
vhost=
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
  [ -n "$store" ] && kill "$store" 2>/dev/null && wait "$store" 2>/dev/null
  [ -n "$store_dir" ] && rm -rf "$store_dir"
  store= store_dir=
  [ -n "$vhost" ] && curl -fsS -u guest:guest -X DELETE "$MGMT/api/vhosts/$vhost" >/dev/null
  vhost=
  true
}
trap stop_all EXIT

ready() { curl -fs -o /dev/null "http://127.0.0.1:$1/readyz"; }

for partitions in $PARTITIONS; do
  for workers in $WORKERS; do
    label="$SCENARIO-p$partitions-w$workers"
    store_dir=$(mktemp -d)
    "$SECANTUS" --host 127.0.0.1 --port "$STORE_PORT" --storage-path "$store_dir" >"$OUT/$label.store.log" 2>&1 &
    store=$!
    vhost=oms-bench-$(date +%s%N)
    curl -fsS -u guest:guest -X PUT "$MGMT/api/vhosts/$vhost" >/dev/null
    curl -fsS -u guest:guest -X PUT -H 'content-type: application/json' \
      -d '{"configure":".*","write":".*","read":".*"}' "$MGMT/api/permissions/$vhost/guest" >/dev/null
    for _ in $(seq 120); do
      (exec 3<>"/dev/tcp/127.0.0.1/$STORE_PORT") 2>/dev/null && break
      sleep 0.5
    done
    export OMS_STOCK_PARTITIONS=$partitions OMS_MONGO_DB=oms_bench
    urls=()
    # The first API declares the topology; the others start once it is ready.
    for ((a = 1; a <= APIS; a++)); do
      port=$((8190 + a))
      env OMS_AMQP_URL="$(amqp_url $(((a - 1) % 3 + 1)) "$vhost")" OMS_HTTP_ADDR="127.0.0.1:$port" \
        "$OMS" api >"$OUT/$label.api$a.log" 2>&1 &
      pids+=($!)
      urls+=("http://127.0.0.1:$port")
      for _ in $(seq 240); do ready "$port" && break; sleep 0.5; done
      ready "$port" || { echo "[bench] api$a never got ready; see $OUT/$label.api$a.log" >&2; exit 1; }
    done
    for ((w = 1; w <= workers; w++)); do
      env OMS_AMQP_URL="$(amqp_url $(((w) % 3 + 1)) "$vhost")" "$OMS" worker all >"$OUT/$label.worker$w.log" 2>&1 &
      pids+=($!)
    done
    sleep 3
    echo "[bench] $label: $APIS APIs, $workers worker processes, $partitions partitions" >&2
    url_list=$(IFS=,; echo "${urls[*]}")
    OMS_AMQP_URL="$(amqp_url 1 "$vhost")" "$OMS" bench --url "$url_list" --scenario "$SCENARIO" \
      --orders "$ORDERS" --concurrency "$CONCURRENCY" --json "$OUT/$label.json" >/dev/null
    stop_all
  done
done

echo "| partitions | worker processes | decided/s | decided ÷ sync | send→decision p50 / p99 ms | CPU ms / order: total (oms, store, broker) | oms processes' peak RSS MB | invariants |"
echo "|---|---|---|---|---|---|---|---|"
for partitions in $PARTITIONS; do
  for workers in $WORKERS; do
    jq -r --arg p "$partitions" --arg w "$workers" '
      def r(n): (. * n | round) / n;
      def cpu(role): ([.cpu | to_entries[] | select(.key | startswith(role)) | .value.ms_per_order] | add // 0 | r(100));
      "| \($p) | \($w) | \(.final_orders_per_s|floor) | \(.ratio_final_to_sync|r(100)) | \(.send_to_final_ms.p50|r(10)) / \(.send_to_final_ms.p99|r(10)) | \(cpu("total")) (\(cpu("oms")), \(cpu("store")), \(cpu("rabbitmq"))) | \([.peak_rss_kib[][1]] | add // 0 | ./1024 | floor) | \(if .invariants_ok then "ok" else "VIOLATED" end) |"' \
      "$OUT/$SCENARIO-p$partitions-w$workers.json"
  done
done
