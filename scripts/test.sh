#!/usr/bin/env bash
# Runs every test: the Rust workspace (unit, integration and end-to-end tests against real RabbitMQ and a
# MongoDB-compatible server), the fault tests on a three-node RabbitMQ cluster (scripts/cluster.sh), the
# API fuzzer (scripts/fuzz-api.sh) and, when client/ has a test script, the SPA's tests.
# Services already running are used and left running; the ones this run starts are stopped at exit.
# Extra arguments go to `cargo test`, e.g. scripts/test.sh -- cancel_after_shipping
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

say() { echo "[test] $*"; }

# services.sh records what it starts under .oms-data/started/; what appears there during this run is ours.
record_of() {
  case "$1" in
    rabbitmq) echo .oms-data/started/rabbitmq ;;
    secantus) echo .oms-data/started/secantus.pid ;;
  esac
}
already_started=()
for svc in rabbitmq secantus; do
  [ -e "$(record_of "$svc")" ] && already_started+=("$svc")
done

cluster_ours=false
stop_ours() {
  local status=$? svc ours=()
  if $cluster_ours; then
    say "stopping the cluster this run started"
    bash scripts/cluster.sh down >/dev/null || status=1
  fi
  for svc in secantus rabbitmq; do
    [ -e "$(record_of "$svc")" ] || continue
    [[ " ${already_started[*]} " == *" $svc "* ]] && continue
    ours+=("$svc")
  done
  if [ ${#ours[@]} -gt 0 ]; then
    say "stopping what this run started: ${ours[*]}"
    bash scripts/services.sh stop "${ours[@]}" || status=1
  fi
  exit "$status"
}
trap stop_ours EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash scripts/services.sh start

mongo_port=${OMS_MONGO_PORT:-27017}
export OMS_TEST_MONGO_URI=${OMS_TEST_MONGO_URI:-${OMS_MONGO_URI:-mongodb://127.0.0.1:$mongo_port/?directConnection=true}}
export OMS_TEST_AMQP_URL=${OMS_TEST_AMQP_URL:-amqp://guest:guest@127.0.0.1:${OMS_RABBITMQ_PORT:-5672}/%2f}
# The fault tests run a private MongoDB-compatible server; services.sh caches its binary here.
secantus_bin="${OMS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/oms}/secantus-0.5.3-beta.196/bin/secantusd-rs"
[ -x "$secantus_bin" ] && export OMS_TEST_SECANTUS_BIN=${OMS_TEST_SECANTUS_BIN:-$secantus_bin}
export OMS_TEST_RABBIT_MGMT_URL=${OMS_TEST_RABBIT_MGMT_URL:-http://guest:guest@127.0.0.1:${OMS_RABBITMQ_MGMT_PORT:-15672}}

failed=()

# This run's test databases are named after it, and dropped once every test is over.
export OMS_TEST_RUN=${OMS_TEST_RUN:-$(date +%s)$RANDOM}

# A failing test prints the log of the processes it ran in (warnings, and the workers' info lines).
export TEST_LOG=${TEST_LOG:-warn,oms_workers=info,oms_platform=info}

say "cargo test --workspace --all-targets $*"
cargo test --workspace --all-targets "$@" || failed+=("cargo test")
cargo test -q --test it -- --ignored --exact helpers::drop_this_runs_databases >/dev/null 2>&1 ||
  say "could not drop this run's test databases (oms_test_${OMS_TEST_RUN}_*)"

# Faults on a three-node RabbitMQ cluster of the run's own: a node, a worker, an API killed, a rolling
# restart. One at a time: they kill the cluster's nodes.
say "cluster fault tests (scripts/cluster.sh up --brokers-only)"
timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$((${OMS_CLUSTER_AMQP_BASE:-5680} + 1))" 2>/dev/null || cluster_ours=true
if bash scripts/cluster.sh up --brokers-only; then
  cargo test --test it cluster:: -- --ignored --test-threads=1 || failed+=("cluster fault tests")
else
  failed+=("starting the cluster")
fi
if $cluster_ours; then
  bash scripts/cluster.sh down >/dev/null || true
  cluster_ours=false
fi

# The API contract, fuzzed from the OpenAPI document (the oms binary cargo test built for the
# integration tests).
say "API fuzzing (scripts/fuzz-api.sh)"
OMS_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/oms" bash scripts/fuzz-api.sh || failed+=("API fuzzing")

if [ -f client/package.json ]; then
  if ! command -v npm >/dev/null; then
    say "installing Node.js and npm with apt-get (needed to test client/)"
    sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -q >/dev/null && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null ||
      failed+=("installing nodejs and npm")
  fi
  if ! command -v npm >/dev/null; then
    failed+=("client tests (no npm)")
  elif node -e 'process.exit(require("./client/package.json").scripts?.test ? 0 : 1)'; then
    say "client tests"
    if [ -f client/package-lock.json ]; then install=(npm ci); else install=(npm install); fi
    (cd client && "${install[@]}" --no-audit --no-fund && npm test) || failed+=("client tests")
  else
    say "client/package.json has no test script; skipping client tests"
  fi
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "[test] FAILED: ${failed[*]}" >&2
  exit 1
fi
say "all tests passed"
