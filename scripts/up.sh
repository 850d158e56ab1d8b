#!/usr/bin/env bash
# Brings the whole system up on this machine: RabbitMQ and a MongoDB-compatible server (scripts/services.sh),
# the SPA (when client/ exists), then `oms up` (API and every worker in one process) in the foreground.
# Ctrl-C stops oms; the services keep running until `scripts/services.sh stop`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

say() { echo "[up] $*"; }

# oms reads .env itself, but the defaults below must not shadow what .env sets, so read it first.
# Variables already in the environment win, as with dotenv.
load_dotenv() {
  local line key value
  [ -f .env ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
    key=${BASH_REMATCH[2]}
    value=${BASH_REMATCH[3]}
    [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]] && value=${BASH_REMATCH[1]}
    [ -n "${!key+set}" ] || export "$key=$value"
  done <.env
}
load_dotenv

bash scripts/services.sh start

if [ -f client/package.json ]; then
  if ! command -v npm >/dev/null; then
    say "installing Node.js and npm with apt-get (needed to build client/)"
    sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    "${sudo[@]}" apt-get update -q >/dev/null && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null
  fi
  say "building the SPA (client/) with node $(node --version)"
  if [ -f client/package-lock.json ]; then
    (cd client && npm ci --no-audit --no-fund && npm run build)
  else
    (cd client && npm install --no-audit --no-fund && npm run build)
  fi
fi

say "building oms"
cargo build --bin oms
target_dir=${CARGO_TARGET_DIR:-target}

export OMS_ENV=${OMS_ENV:-dev}
if [ -n "${OMS_MONGO_PORT:-}" ] && [ -z "${OMS_MONGO_URI:-}" ]; then
  export OMS_MONGO_URI="mongodb://127.0.0.1:$OMS_MONGO_PORT/?directConnection=true"
fi
export OMS_ADMIN_EMAIL=${OMS_ADMIN_EMAIL:-admin@oms.local}
if [ -z "${OMS_ADMIN_PASSWORD:-}" ]; then
  # Generated once and kept, so the login stays the same across runs.
  pw_file=.oms-data/admin-password
  if [ ! -s "$pw_file" ]; then
    mkdir -p .oms-data
    pw=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    (umask 077 && printf '%s\n' "${pw:0:20}" >"$pw_file")
  fi
  chmod 600 "$pw_file"
  OMS_ADMIN_PASSWORD=$(head -n 1 "$pw_file")
  export OMS_ADMIN_PASSWORD
  admin_login="$OMS_ADMIN_EMAIL / $OMS_ADMIN_PASSWORD   (password kept in .oms-data/admin-password)"
else
  admin_login="$OMS_ADMIN_EMAIL / the password you set in OMS_ADMIN_PASSWORD"
fi

cat <<EOF

  OMS is starting at   http://${OMS_HTTP_ADDR:-127.0.0.1:8080}/
  admin login          $admin_login

  Ctrl-C stops oms. RabbitMQ and the MongoDB-compatible server keep running;
  scripts/services.sh stop stops the ones this checkout started.

EOF
exec "$target_dir/debug/oms" up
