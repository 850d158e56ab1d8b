#!/usr/bin/env bash
# Local backing services for OMS: RabbitMQ (with its management API) and a MongoDB-compatible server
# (secantusd-rs). `start` reuses whatever already answers on the ports and starts only what is missing;
# `stop` stops only what `start` recorded as started by it. Both are idempotent.
#
#   scripts/services.sh [start]                   start / reuse both
#   scripts/services.sh stop [rabbitmq|secantus]  stop what we started (all, or the named ones)
#   scripts/services.sh secantus-bin              print the pinned secantusd-rs binary's path
#
# Knobs (environment): OMS_MONGO_URI (set: no local MongoDB-compatible server is started),
# OMS_MONGO_PORT (27017), OMS_RABBITMQ_PORT (5672), OMS_RABBITMQ_MGMT_PORT (15672),
# OMS_CACHE_DIR (where the secantusd-rs binary is built once; default ~/.cache/oms).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/.oms-data"
# The RabbitMQ commands live in sbin, which a normal user's PATH may lack.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
STARTED="$DATA/started"

RABBIT_PORT=${OMS_RABBITMQ_PORT:-5672}
RABBIT_MGMT_PORT=${OMS_RABBITMQ_MGMT_PORT:-15672}
RABBIT_DIR="$DATA/rabbitmq"
MONGO_PORT=${OMS_MONGO_PORT:-27017}

SECANTUS_VERSION=0.5.3-beta.196
CACHE_DIR=${OMS_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:?HOME is not set}/.cache}/oms}
SECANTUS_ROOT="$CACHE_DIR/secantus-$SECANTUS_VERSION"
SECANTUS_BIN="$SECANTUS_ROOT/bin/secantusd-rs"
SECANTUS_PID="$STARTED/secantus.pid"
SECANTUS_LOG="$DATA/secantus.log"

say() { echo "[services] $*"; }
warn() { echo "[services] $*" >&2; }
die() { warn "error: $*"; exit 1; }

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
port_closed() { ! port_open "$1"; }

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND every second.
wait_for() {
  local what=$1 secs=$2 i
  shift 2
  for ((i = 0; i < secs; i++)); do
    "$@" && return 0
    ((i % 10 == 9)) && say "still waiting for $what ($((i + 1))s)"
    sleep 1
  done
  return 1
}

apt_install() {
  command -v apt-get >/dev/null || die "$* missing and apt-get not available: install $* yourself"
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  say "installing $* with apt-get"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null ||
    { "${sudo[@]}" apt-get update -q >/dev/null && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; } ||
    die "apt-get install $* failed"
}

# ---------------------------------------------------------------- RabbitMQ

mgmt_up() {
  curl -fsS -o /dev/null --max-time 3 -u guest:guest "http://127.0.0.1:$RABBIT_MGMT_PORT/api/overview" 2>/dev/null
}

# The RabbitMQ scripts behind the distribution's wrappers. The Debian wrappers `su` to the rabbitmq user,
# which cannot read a clone in a private directory; the real scripts run as the caller, and with HOME
# pointing into .oms-data/rabbitmq the Erlang cookie stays project-local too.
rabbit_script_dir() {
  local server
  server=$(command -v rabbitmq-server) || return 1
  server=$(readlink -f "$server")
  dirname "$server"
}

# Runs a RabbitMQ script (rabbitmq-server, rabbitmqctl, ...) against the node this script owns.
rabbit_own() {
  local tool=$1 dir
  shift
  dir=$(rabbit_script_dir) || die "rabbitmq-server is not installed"
  env HOME="$RABBIT_DIR" \
    RABBITMQ_NODENAME="oms@localhost" \
    RABBITMQ_CONF_ENV_FILE="$RABBIT_DIR/rabbitmq-env.conf" \
    RABBITMQ_CONFIG_FILE="$RABBIT_DIR/rabbitmq.conf" \
    RABBITMQ_ADVANCED_CONFIG_FILE="$RABBIT_DIR/advanced.config" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$RABBIT_DIR/enabled_plugins" \
    RABBITMQ_MNESIA_BASE="$RABBIT_DIR/mnesia" \
    RABBITMQ_LOG_BASE="$RABBIT_DIR/log" \
    RABBITMQ_NODE_PORT="$RABBIT_PORT" \
    RABBITMQ_DIST_PORT="$((RABBIT_PORT + 20000))" \
    ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
    "$dir/$tool" "$@"
}

write_rabbit_config() {
  mkdir -p "$RABBIT_DIR/mnesia" "$RABBIT_DIR/log"
  cat >"$RABBIT_DIR/rabbitmq.conf" <<EOF
# Written by scripts/services.sh: a RabbitMQ for this checkout only, reachable from this machine only.
listeners.tcp.default = 127.0.0.1:$RABBIT_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $RABBIT_MGMT_PORT
EOF
  echo '[rabbitmq_management].' >"$RABBIT_DIR/enabled_plugins"
  : >"$RABBIT_DIR/rabbitmq-env.conf"
}

start_rabbitmq() {
  if port_open "$RABBIT_PORT"; then
    if [ -f "$STARTED/rabbitmq" ]; then
      say "RabbitMQ: already running on 127.0.0.1:$RABBIT_PORT (started earlier by services.sh)"
    else
      say "RabbitMQ: using the one already running on 127.0.0.1:$RABBIT_PORT (not started by us)"
    fi
  else
    if ! command -v rabbitmq-server >/dev/null; then
      apt_install rabbitmq-server
      # The package may start a system-wide server itself; if it did, use that one.
      if wait_for "RabbitMQ from the package" 5 port_open "$RABBIT_PORT"; then
        say "RabbitMQ: the package started a server on port $RABBIT_PORT; using it (not started by us)"
      fi
    fi
    if ! port_open "$RABBIT_PORT"; then
      [ -f "$(rabbit_script_dir)/rabbitmq-server" ] || die "cannot find the rabbitmq-server script"
      write_rabbit_config
      # epmd outlives the node; remember whether we are the ones starting it.
      if port_open 4369; then rm -f "$STARTED/epmd"; else mkdir -p "$STARTED" && : >"$STARTED/epmd"; fi
      say "RabbitMQ: starting a local node on 127.0.0.1:$RABBIT_PORT (data and logs in .oms-data/rabbitmq/)"
      mkdir -p "$STARTED"
      # -detached: the Erlang VM daemonizes in its own session, so Ctrl-C here never reaches it.
      rabbit_own rabbitmq-server -detached </dev/null >>"$RABBIT_DIR/log/startup.log" 2>&1 8>&- ||
        die "rabbitmq-server -detached failed; see .oms-data/rabbitmq/log/"
      echo "oms@localhost" >"$STARTED/rabbitmq"
      if ! wait_for "RabbitMQ on port $RABBIT_PORT" 120 port_open "$RABBIT_PORT"; then
        warn "RabbitMQ did not open port $RABBIT_PORT within 120 s; last log lines:"
        tail -n 30 "$RABBIT_DIR"/log/*.log >&2 || true
        exit 1
      fi
      say "RabbitMQ: up"
    fi
  fi

  # The tests create a vhost per test through the management API, and the ops view reads it: required.
  if ! mgmt_up; then
    command -v curl >/dev/null || apt_install curl
  fi
  if ! mgmt_up; then
    say "RabbitMQ: enabling the management plugin"
    if [ -f "$STARTED/rabbitmq" ]; then
      rabbit_own rabbitmq-plugins enable rabbitmq_management >/dev/null
    else
      rabbitmq-plugins enable rabbitmq_management >/dev/null ||
        die "could not enable the management plugin; run: sudo rabbitmq-plugins enable rabbitmq_management"
    fi
    wait_for "the RabbitMQ management API on port $RABBIT_MGMT_PORT" 60 mgmt_up ||
      die "http://127.0.0.1:$RABBIT_MGMT_PORT/api/overview did not answer with guest:guest within 60 s"
  fi
  say "RabbitMQ: management API on http://127.0.0.1:$RABBIT_MGMT_PORT"
}

stop_rabbitmq() {
  if [ ! -f "$STARTED/rabbitmq" ]; then
    say "RabbitMQ: not started by services.sh; leaving it alone"
    return 0
  fi
  say "RabbitMQ: stopping the node services.sh started"
  # With the pid file, rabbitmqctl stop returns only once the Erlang VM has exited.
  local pidfile="$RABBIT_DIR/mnesia/oms@localhost.pid"
  local stop_args=(stop)
  [ -f "$pidfile" ] && stop_args+=("$pidfile")
  rabbit_own rabbitmqctl "${stop_args[@]}" >/dev/null 2>&1 || warn "rabbitmqctl stop failed (node already down?)"
  wait_for "RabbitMQ to close port $RABBIT_PORT" 30 port_closed "$RABBIT_PORT" ||
    warn "RabbitMQ still answers on port $RABBIT_PORT"
  rm -f "$STARTED/rabbitmq"
  if [ -f "$STARTED/epmd" ]; then
    # Only if no other Erlang node still relies on it.
    if command -v epmd >/dev/null && ! epmd -names 2>/dev/null | grep -q "^name "; then
      say "RabbitMQ: stopping epmd (we started it)"
      epmd -kill >/dev/null 2>&1 || true
    fi
    rm -f "$STARTED/epmd"
  fi
  say "RabbitMQ: stopped"
}

# ---------------------------------------------------------------- secantusd-rs

# A build started by hand (not under our lock) counts too: never run two.
build_in_progress() {
  command -v pgrep >/dev/null && pgrep -f '^[^ ]*cargo install secantus-mdb' >/dev/null
}

ensure_secantus() {
  [ -x "$SECANTUS_BIN" ] && return 0
  mkdir -p "$CACHE_DIR"
  # One build at a time: concurrent runs wait on the lock, then find the binary.
  exec 9>"$CACHE_DIR/secantus-$SECANTUS_VERSION.lock"
  if ! flock -n 9; then
    say "secantusd-rs: another run is building it; waiting for that build"
    flock 9
  fi
  if [ ! -x "$SECANTUS_BIN" ] && build_in_progress; then
    say "secantusd-rs: a 'cargo install secantus-mdb' is already running; waiting for it to finish"
    while build_in_progress; do sleep 10; done
  fi
  if [ ! -x "$SECANTUS_BIN" ]; then
    command -v cargo >/dev/null || die "cargo is required to build secantusd-rs"
    command -v cmake >/dev/null || apt_install cmake
    say "secantusd-rs: building the MongoDB-compatible server (secantus-mdb $SECANTUS_VERSION) into"
    say "  $SECANTUS_ROOT"
    say "  This compiles WiredTiger and takes 10-15 minutes, once; later runs reuse the binary."
    # Its own temporary target dir, never the project's (CARGO_TARGET_DIR may point at a CI cache).
    env -u CARGO_TARGET_DIR cargo install secantus-mdb --version "=$SECANTUS_VERSION" \
      --ignore-rust-version --locked --root "$SECANTUS_ROOT" ||
      die "cargo install secantus-mdb failed"
    [ -x "$SECANTUS_BIN" ] || die "cargo install finished but $SECANTUS_BIN is missing"
    say "secantusd-rs: built"
  fi
  exec 9>&-
}

pid_alive() { kill -0 "$1" 2>/dev/null; }
pid_gone() { ! pid_alive "$1"; }
# Ready, or dead: either way there is no point in waiting longer.
secantus_settled() { pid_gone "$1" || port_open "$MONGO_PORT"; }

secantus_pid_alive() {
  local pid
  pid=$(cat "$SECANTUS_PID" 2>/dev/null) || return 1
  [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q secantusd-rs
}

start_secantus() {
  if [ -n "${OMS_MONGO_URI:-}" ]; then
    say "MongoDB: OMS_MONGO_URI is set; not starting a local server"
    return 0
  fi
  if port_open "$MONGO_PORT"; then
    if secantus_pid_alive; then
      say "MongoDB: secantusd-rs already running on 127.0.0.1:$MONGO_PORT (started earlier by services.sh)"
    else
      say "MongoDB: using the server already answering on 127.0.0.1:$MONGO_PORT (not started by us)"
    fi
    return 0
  fi
  ensure_secantus
  mkdir -p "$DATA/secantus" "$STARTED"
  say "MongoDB: starting secantusd-rs on 127.0.0.1:$MONGO_PORT (data in .oms-data/secantus/, log in .oms-data/secantus.log)"
  # setsid: its own session, so Ctrl-C in this terminal does not reach it.
  setsid "$SECANTUS_BIN" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$DATA/secantus" \
    </dev/null >>"$SECANTUS_LOG" 2>&1 8>&- &
  local pid=$!
  echo "$pid" >"$SECANTUS_PID"
  wait_for "secantusd-rs on port $MONGO_PORT" 60 secantus_settled "$pid" || true
  if ! { pid_alive "$pid" && port_open "$MONGO_PORT"; }; then
    warn "secantusd-rs did not answer on port $MONGO_PORT within 60 s (or exited); last log lines:"
    tail -n 30 "$SECANTUS_LOG" >&2 || true
    kill "$pid" 2>/dev/null || true
    rm -f "$SECANTUS_PID"
    exit 1
  fi
  say "MongoDB: up (pid $pid)"
}

stop_secantus() {
  if [ ! -f "$SECANTUS_PID" ]; then
    say "MongoDB: not started by services.sh; leaving it alone"
    return 0
  fi
  if secantus_pid_alive; then
    local pid
    pid=$(cat "$SECANTUS_PID")
    say "MongoDB: stopping secantusd-rs (pid $pid)"
    kill "$pid" 2>/dev/null || true
    if ! wait_for "secantusd-rs (pid $pid) to exit" 30 pid_gone "$pid"; then
      warn "secantusd-rs did not exit after SIGTERM; sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
    say "MongoDB: stopped"
  else
    say "MongoDB: the recorded secantusd-rs is no longer running"
  fi
  rm -f "$SECANTUS_PID"
}

# ---------------------------------------------------------------- main

cmd=${1:-start}
[ $# -gt 0 ] && shift
# One start/stop at a time per checkout: concurrent runs would race for the same ports and records.
mkdir -p "$DATA"
exec 8>"$DATA/services.lock"
flock 8
case "$cmd" in
  start)
    start_rabbitmq
    start_secantus
    ;;
  stop)
    [ $# -gt 0 ] || set -- secantus rabbitmq
    for svc in "$@"; do
      case "$svc" in
        secantus | mongo) stop_secantus ;;
        rabbitmq) stop_rabbitmq ;;
        *) die "unknown service '$svc' (rabbitmq, secantus)" ;;
      esac
    done
    ;;
  secantus-bin)
    # The pinned secantusd-rs binary (built once into the cache when missing), for scripts and
    # tests that run a private instance.
    ensure_secantus >&2
    echo "$SECANTUS_BIN"
    ;;
  *) die "usage: scripts/services.sh [start | stop [rabbitmq|secantus]... | secantus-bin]" ;;
esac
