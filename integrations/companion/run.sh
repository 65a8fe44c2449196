#!/usr/bin/env bash
# Tests of the Companion module against a real Podium server: installs the module's npm
# packages (from package-lock.json), builds the server binary unless PODIUM_BIN names
# one, then runs node's test runner. Exits non-zero on any failure.
#
#   integrations/companion/run.sh
#   PODIUM_BIN=/path/to/podium integrations/companion/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  sudo_if_needed() { if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
  sudo_if_needed apt-get update -qq
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq nodejs npm
fi

npm ci --no-audit --no-fund --loglevel=error

if [ -z "${PODIUM_BIN:-}" ]; then
  (cd "$repo" && cargo build -p podium-server)
  export PODIUM_BIN="$repo/target/debug/podium"
fi

node --test test/*.test.js
