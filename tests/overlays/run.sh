#!/usr/bin/env bash
# Overlay tests: installs what a fresh Debian machine lacks (Chromium, an Arabic-capable
# font, playwright-core), builds the server binary unless PODIUM_BIN names one, then runs
# node's test runner. Screenshots go to test-artifacts/screenshots/overlay-*.png.
#
#   tests/overlays/run.sh
#   PODIUM_BIN=/path/to/podium tests/overlays/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"

sudo_if_needed() { if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then sudo_if_needed apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq "$@"
}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm; fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then apt_install chromium; fi
if command -v fc-list >/dev/null && [ -z "$(fc-list :lang=ar 2>/dev/null)" ]; then
  apt_install fonts-noto-core || echo "note: no Arabic font installed; screenshots may show boxes"
fi

npm ci --no-audit --no-fund --loglevel=error

if [ -z "${PODIUM_BIN:-}" ]; then
  (cd "$repo" && cargo build -p podium-server)
  export PODIUM_BIN="$repo/target/debug/podium"
fi

mkdir -p "$repo/test-artifacts/screenshots"
node --test overlays.test.js
