#!/usr/bin/env bash
# Writes the API's OpenAPI document, generated from the code (`oms openapi`), to client/openapi.json: the file
# the client's API types are generated from. With --check, changes nothing and fails when the committed file
# differs from what the code generates (the test `the_committed_client_document_is_current` checks the same).
#
#   scripts/openapi.sh           regenerate client/openapi.json
#   scripts/openapi.sh --check   fail if client/openapi.json is out of date
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

OUT=client/openapi.json
check=false
case "${1:-}" in
  "") ;;
  --check) check=true ;;
  *) echo "usage: scripts/openapi.sh [--check]" >&2; exit 2 ;;
esac

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cargo run --quiet --bin oms -- openapi >"$tmp"

if $check; then
  if [ ! -f "$OUT" ] || ! diff -u "$OUT" "$tmp"; then
    echo "[openapi] $OUT is out of date: run scripts/openapi.sh and commit the result" >&2
    exit 1
  fi
  echo "[openapi] $OUT is current"
else
  cat "$tmp" >"$OUT"
  echo "[openapi] wrote $OUT"
fi
