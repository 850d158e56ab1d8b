#!/usr/bin/env bash
# OMS beyond one machine, on one machine: a three-node RabbitMQ cluster (own node names, ports and data
# directories, joined into one cluster, management on each), a MongoDB-compatible server of its own, two
# `oms api` and two `oms worker all` processes, each logging to its own file under .oms-data/cluster/.
#
#   scripts/cluster.sh up [--brokers-only]   start what is not running yet (idempotent), print where it is
#   scripts/cluster.sh down                  stop what `up` started, processes first (data stays)
#   scripts/cluster.sh status                nodes, queue leaders per node, processes
#   scripts/cluster.sh node kill|stop|start N   kill -9 / stop / start RabbitMQ node N (1-3)
#   scripts/cluster.sh leader                the node (1-3) leading most of the quorum queues
#   scripts/cluster.sh proc kill|start|restart NAME   NAME: api1 api2 worker1 worker2
#   scripts/cluster.sh env                   the variables a process needs to join this cluster
#
# Ports (all on 127.0.0.1): RabbitMQ node N: AMQP 5680+N, management 15680+N, Erlang distribution 25680+N;
# MongoDB-compatible server 27181; api1 8091, api2 8092. Knobs: OMS_CLUSTER_AMQP_BASE (5680),
# OMS_CLUSTER_MONGO_PORT (27181), OMS_CLUSTER_API_BASE (8090), OMS_STOCK_PARTITIONS (8),
# OMS_BIN (an oms binary to run; default: cargo build --bin oms).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA="$ROOT/.oms-data/cluster"
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

NODES=3
AMQP_BASE=${OMS_CLUSTER_AMQP_BASE:-5680}
MONGO_PORT=${OMS_CLUSTER_MONGO_PORT:-27181}
API_BASE=${OMS_CLUSTER_API_BASE:-8090}
PROCS=(api1 api2 worker1 worker2)

say() { echo "[cluster] $*"; }
warn() { echo "[cluster] $*" >&2; }
die() { warn "error: $*"; exit 1; }

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
port_closed() { ! port_open "$1"; }
pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

wait_for() {
  local what=$1 secs=$2 i
  shift 2
  for ((i = 0; i < secs; i++)); do
    "$@" && return 0
    ((i % 15 == 14)) && say "still waiting for $what ($((i + 1))s)"
    sleep 1
  done
  return 1
}

amqp_port() { echo $((AMQP_BASE + $1)); }
mgmt_port() { echo $((AMQP_BASE + 10000 + $1)); }
dist_port() { echo $((AMQP_BASE + 20000 + $1)); }
node_name() { echo "oms-c$1@localhost"; }
node_dir() { echo "$DATA/rabbit$1"; }

# ---------------------------------------------------------------- RabbitMQ nodes

rabbit_script_dir() {
  local server
  server=$(command -v rabbitmq-server) || die "rabbitmq-server is not installed (scripts/services.sh start installs it)"
  dirname "$(readlink -f "$server")"
}

# rabbit N TOOL ARGS...: runs a RabbitMQ script as the caller against node N (the Debian wrappers
# `su` to the rabbitmq user, which cannot read a clone in a private directory).
rabbit() {
  local n=$1 tool=$2 dir
  shift 2
  dir=$(node_dir "$n")
  env HOME="$dir" \
    RABBITMQ_NODENAME="$(node_name "$n")" \
    RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" \
    RABBITMQ_LOG_BASE="$dir/log" \
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_NODE_PORT="$(amqp_port "$n")" \
    RABBITMQ_DIST_PORT="$(dist_port "$n")" \
    ERL_EPMD_ADDRESS=127.0.0.1 \
    "$(rabbit_script_dir)/$tool" "$@"
}

node_pid() { cat "$(node_dir "$1")/mnesia/$(node_name "$1").pid" 2>/dev/null || true; }
node_up() { port_open "$(amqp_port "$1")"; }
mgmt_up() { curl -fsS -o /dev/null --max-time 3 -u guest:guest "http://127.0.0.1:$(mgmt_port "$1")/api/overview" 2>/dev/null; }

prepare_node() {
  local n=$1 dir cookie
  dir=$(node_dir "$n")
  mkdir -p "$dir/mnesia" "$dir/log"
  # One Erlang cookie for the three nodes (and rabbitmqctl), made once, kept in .oms-data only.
  cookie="$DATA/erlang.cookie"
  if [ ! -s "$cookie" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$cookie")
  fi
  rm -f "$dir/.erlang.cookie"
  install -m 400 "$cookie" "$dir/.erlang.cookie"
  # The AMQP listener comes from RABBITMQ_NODE_PORT alone: naming it here too makes the node open it twice
  # when its application restarts (as join_cluster does).
  cat >"$dir/rabbitmq.conf" <<EOF
# Written by scripts/cluster.sh: node $n of a local three-node cluster, reachable from this machine only.
management.tcp.ip = 127.0.0.1
management.tcp.port = $(mgmt_port "$n")
cluster_partition_handling = pause_minority
# Statistics (queue depths, active consumers) every half second rather than every five.
collect_statistics_interval = 500
EOF
  echo '[rabbitmq_management].' >"$dir/enabled_plugins"
  : >"$dir/rabbitmq-env.conf"
}

start_node() {
  local n=$1
  if node_up "$n"; then
    say "RabbitMQ node $n ($(node_name "$n")): already running on 127.0.0.1:$(amqp_port "$n")"
    return 0
  fi
  prepare_node "$n"
  say "RabbitMQ node $n ($(node_name "$n")): starting on 127.0.0.1:$(amqp_port "$n")"
  rabbit "$n" rabbitmq-server -detached </dev/null >>"$(node_dir "$n")/log/startup.log" 2>&1 8>&- ||
    die "rabbitmq-server -detached failed for node $n; see $(node_dir "$n")/log/"
}

wait_node() {
  local n=$1
  if ! wait_for "RabbitMQ node $n" 180 mgmt_up "$n"; then
    warn "node $n did not answer within 180 s; last log lines:"
    tail -n 30 "$(node_dir "$n")"/log/*.log >&2 || true
    exit 1
  fi
}

# Node N's view of the running members, one per line.
running_nodes() {
  curl -fsS --max-time 5 -u guest:guest "http://127.0.0.1:$(mgmt_port "$1")/api/nodes" 2>/dev/null |
    python3 -c 'import json,sys; [print(n["name"]) for n in json.load(sys.stdin) if n.get("running")]'
}

join_node() {
  local n=$1 first
  first=$(node_name 1)
  if rabbit "$n" rabbitmqctl -q -n "$(node_name "$n")" cluster_status --formatter json 2>/dev/null |
    python3 -c 'import json,sys; sys.exit(0 if sys.argv[1] in json.load(sys.stdin).get("disk_nodes", []) else 1)' "$first"; then
    return 0
  fi
  say "RabbitMQ node $n: joining the cluster of $first"
  rabbit "$n" rabbitmqctl -q -n "$(node_name "$n")" stop_app >/dev/null
  rabbit "$n" rabbitmqctl -q -n "$(node_name "$n")" join_cluster "$first" >/dev/null
  rabbit "$n" rabbitmqctl -q -n "$(node_name "$n")" start_app >/dev/null
}

kill_node() {
  local n=$1 pid
  pid=$(node_pid "$n")
  pid_alive "$pid" || { say "RabbitMQ node $n is not running"; return 0; }
  say "RabbitMQ node $n: kill -9 $pid"
  kill -9 "$pid"
  wait_for "node $n's port to close" 30 port_closed "$(amqp_port "$n")" || true
}

stop_node() {
  local n=$1 pid
  pid=$(node_pid "$n")
  pid_alive "$pid" || return 0
  say "RabbitMQ node $n: stopping"
  rabbit "$n" rabbitmqctl -q -n "$(node_name "$n")" stop "$(node_dir "$n")/mnesia/$(node_name "$n").pid" >/dev/null 2>&1 ||
    kill "$pid" 2>/dev/null || true
}

# The node (1-3) that leads the most OMS quorum queues, by the management API of any node up.
leader() {
  local n
  for n in $(seq 1 $NODES); do
    mgmt_up "$n" || continue
    curl -fsS --max-time 5 -u guest:guest "http://127.0.0.1:$(mgmt_port "$n")/api/queues?columns=name,type,leader,node" |
      python3 -c '
import collections, json, sys
count = collections.Counter(q.get("leader") or q.get("node") for q in json.load(sys.stdin) if q.get("type") == "quorum")
if not count:
    sys.exit(1)
name = count.most_common(1)[0][0]
print(name.split("@")[0].removeprefix("oms-c"))'
    return
  done
  die "no node answers"
}

# ---------------------------------------------------------------- the store

secantus_pid() { cat "$DATA/secantus.pid" 2>/dev/null || true; }

start_store() {
  if port_open "$MONGO_PORT"; then
    say "MongoDB-compatible server: already answering on 127.0.0.1:$MONGO_PORT"
    return 0
  fi
  local bin
  bin=$(bash scripts/services.sh secantus-bin)
  mkdir -p "$DATA/secantus"
  say "MongoDB-compatible server: starting secantusd-rs on 127.0.0.1:$MONGO_PORT"
  setsid "$bin" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$DATA/secantus" \
    </dev/null >>"$DATA/secantus.log" 2>&1 8>&- &
  echo $! >"$DATA/secantus.pid"
  wait_for "secantusd-rs on $MONGO_PORT" 60 port_open "$MONGO_PORT" || die "secantusd-rs did not start; see $DATA/secantus.log"
}

# ---------------------------------------------------------------- oms processes

amqp_url_from() {
  # Every node, starting at node $1: each process lists them in its own order, so connections spread.
  local first=$1 i n hosts=()
  for ((i = 0; i < NODES; i++)); do
    n=$(((first - 1 + i) % NODES + 1))
    hosts+=("127.0.0.1:$(amqp_port "$n")")
  done
  local IFS=,
  echo "amqp://guest:guest@${hosts[*]}/%2f"
}

management_url() {
  local hosts=() n
  for n in $(seq 1 $NODES); do hosts+=("127.0.0.1:$(mgmt_port "$n")"); done
  local IFS=,
  echo "http://guest:guest@${hosts[*]}"
}

admin_password() {
  local pw_file="$ROOT/.oms-data/admin-password" pw
  if [ -n "${OMS_ADMIN_PASSWORD:-}" ]; then echo "$OMS_ADMIN_PASSWORD"; return; fi
  if [ ! -s "$pw_file" ]; then
    mkdir -p "$ROOT/.oms-data"
    pw=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    (umask 077 && printf '%s\n' "${pw:0:20}" >"$pw_file")
  fi
  head -n 1 "$pw_file"
}

# The environment of process NAME (api1, api2, worker1, worker2), one VAR=value per line.
proc_env() {
  local name=$1 index=${1: -1}
  cat <<EOF
OMS_ENV=${OMS_ENV:-dev}
OMS_AMQP_URL=$(amqp_url_from "$index")
OMS_RABBIT_MANAGEMENT_URL=$(management_url)
OMS_MONGO_URI=mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true
OMS_MONGO_DB=${OMS_MONGO_DB:-oms}
OMS_STOCK_PARTITIONS=${OMS_STOCK_PARTITIONS:-8}
OMS_MEDIA_DIR=$DATA/media
OMS_ADMIN_EMAIL=${OMS_ADMIN_EMAIL:-admin@oms.local}
OMS_HTTP_ADDR=127.0.0.1:$((API_BASE + index))
EOF
}

oms_bin() {
  if [ -n "${OMS_BIN:-}" ]; then echo "$OMS_BIN"; return; fi
  cargo build -q --bin oms >&2
  echo "${CARGO_TARGET_DIR:-$ROOT/target}/debug/oms"
}

proc_pid() { cat "$DATA/$1.pid" 2>/dev/null || true; }

start_proc() {
  local name=$1 bin=$2 pid args
  pid=$(proc_pid "$name")
  if pid_alive "$pid"; then
    say "$name: already running (pid $pid)"
    return 0
  fi
  case "$name" in
    api*) args=(api) ;;
    worker*) args=(worker all) ;;
    *) die "unknown process $name (api1 api2 worker1 worker2)" ;;
  esac
  mkdir -p "$DATA/media"
  local -a vars
  mapfile -t vars < <(proc_env "$name")
  setsid env "${vars[@]}" OMS_ADMIN_PASSWORD="$(admin_password)" RUST_LOG="${RUST_LOG:-info}" \
    "$bin" "${args[@]}" </dev/null >>"$DATA/$name.log" 2>&1 8>&- &
  echo $! >"$DATA/$name.pid"
  say "$name: started (pid $!, log .oms-data/cluster/$name.log)"
}

stop_proc() {
  local name=$1 signal=${2:-TERM} pid
  pid=$(proc_pid "$name")
  pid_alive "$pid" || { rm -f "$DATA/$name.pid"; return 0; }
  kill "-$signal" "$pid" 2>/dev/null || true
  wait_for "$name (pid $pid) to exit" 30 eval "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null || true
  say "$name: stopped (SIG$signal)"
  rm -f "$DATA/$name.pid"
}

api_ready() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$1/readyz"; }

# ---------------------------------------------------------------- commands

up() {
  local brokers_only=false
  [ "${1:-}" = "--brokers-only" ] && brokers_only=true
  command -v rabbitmq-server >/dev/null || bash scripts/services.sh start
  mkdir -p "$DATA"
  local n
  for n in $(seq 1 $NODES); do start_node "$n"; done
  for n in $(seq 1 $NODES); do wait_node "$n"; done
  # Already one cluster (data kept from an earlier `up`, or a cluster started from another checkout): no
  # joining, which needs this checkout's Erlang cookie.
  if [ "$(running_nodes 1 | wc -l)" -ne "$NODES" ]; then
    for n in $(seq 2 $NODES); do join_node "$n"; done
  fi
  wait_for "all $NODES nodes running in one cluster" 60 eval "[ \$(running_nodes 1 | wc -l) -eq $NODES ]" ||
    die "the nodes did not form one cluster; see $DATA/rabbit*/log/"
  say "RabbitMQ: $NODES nodes clustered: $(running_nodes 1 | tr '\n' ' ')"
  if ! $brokers_only; then
    start_store
    local bin
    bin=$(oms_bin)
    # The first API process declares the topology alone, so that the queue leaders spread from one declarer.
    start_proc api1 "$bin"
    wait_for "api1 to be ready" 120 api_ready $((API_BASE + 1)) || die "api1 is not ready; see $DATA/api1.log"
    for name in api2 worker1 worker2; do start_proc "$name" "$bin"; done
    wait_for "api2 to be ready" 120 api_ready $((API_BASE + 2)) || die "api2 is not ready; see $DATA/api2.log"
  fi
  status
}

down() {
  local name n
  for name in "${PROCS[@]}"; do stop_proc "$name"; done
  local pid
  pid=$(secantus_pid)
  if pid_alive "$pid"; then
    kill "$pid"
    wait_for "secantusd-rs to exit" 30 eval "! kill -0 $pid 2>/dev/null" || kill -9 "$pid" 2>/dev/null || true
    say "MongoDB-compatible server: stopped"
  fi
  rm -f "$DATA/secantus.pid"
  for n in $(seq $NODES -1 1); do stop_node "$n"; done
  for n in $(seq 1 $NODES); do
    wait_for "node $n to stop" 60 port_closed "$(amqp_port "$n")" || kill_node "$n"
  done
  say "down (data kept in .oms-data/cluster/; remove that folder to start afresh)"
}

status() {
  local n name pid
  echo
  echo "  RabbitMQ nodes (guest/guest):"
  for n in $(seq 1 $NODES); do
    if node_up "$n"; then state=up; else state=down; fi
    printf '    %-18s amqp://127.0.0.1:%s  http://127.0.0.1:%s  %s\n' "$(node_name "$n")" "$(amqp_port "$n")" "$(mgmt_port "$n")" "$state"
  done
  for n in $(seq 1 $NODES); do
    if mgmt_up "$n"; then
      curl -fsS --max-time 5 -u guest:guest "http://127.0.0.1:$(mgmt_port "$n")/api/queues?columns=name,type,leader,members" |
        python3 -c '
import collections, json, sys
qs = [q for q in json.load(sys.stdin) if q.get("type") == "quorum"]
leaders = collections.Counter(q.get("leader") for q in qs)
sizes = collections.Counter(len(q.get("members") or []) for q in qs)
print("    quorum queues: %d; leaders: %s; replicas per queue: %s" % (len(qs),
      ", ".join("%s %d" % (k, v) for k, v in sorted(leaders.items(), key=str)) or "-",
      ", ".join("%d×%d" % (v, k) for k, v in sorted(sizes.items())) or "-"))'
      break
    fi
  done
  echo "  MongoDB-compatible server: mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true  $(port_open "$MONGO_PORT" && echo up || echo down)"
  echo "  Processes (logs in .oms-data/cluster/NAME.log):"
  for name in "${PROCS[@]}"; do
    pid=$(proc_pid "$name")
    if pid_alive "$pid"; then state="pid $pid"; else state=down; fi
    case "$name" in
      api*) printf '    %-8s http://127.0.0.1:%s  %s\n' "$name" "$((API_BASE + ${name: -1}))" "$state" ;;
      *) printf '    %-8s %s\n' "$name" "$state" ;;
    esac
  done
  echo "  admin login: ${OMS_ADMIN_EMAIL:-admin@oms.local} / the password in .oms-data/admin-password"
  echo
}

cmd=${1:-status}
[ $# -gt 0 ] && shift
mkdir -p "$DATA"
case "$cmd" in
  up) exec 8>"$DATA/cluster.lock"; flock 8; up "$@" ;;
  down) exec 8>"$DATA/cluster.lock"; flock 8; down ;;
  status) status ;;
  leader) leader ;;
  env) proc_env "${1:-api1}" ;;
  node)
    action=${1:?node kill|stop|start N}
    n=${2:?node number 1-$NODES}
    case "$action" in
      kill) kill_node "$n" ;;
      stop) stop_node "$n"; wait_for "node $n to stop" 60 port_closed "$(amqp_port "$n")" ;;
      start) start_node "$n"; wait_node "$n"; say "RabbitMQ node $n: up" ;;
      *) die "node kill|stop|start N" ;;
    esac
    ;;
  proc)
    action=${1:?proc kill|start|restart NAME}
    name=${2:?process name}
    case "$action" in
      kill) stop_proc "$name" KILL ;;
      start) start_proc "$name" "$(oms_bin)" ;;
      restart) stop_proc "$name"; start_proc "$name" "$(oms_bin)" ;;
      *) die "proc kill|start|restart NAME" ;;
    esac
    ;;
  *) die "usage: scripts/cluster.sh up [--brokers-only] | down | status | leader | env [NAME] | node kill|stop|start N | proc kill|start|restart NAME" ;;
esac
