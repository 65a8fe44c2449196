#!/usr/bin/env bash
# Browser tests of the web client: installs what a fresh Debian machine lacks (Chromium,
# an Arabic-capable font, the two npm packages), builds the server binary (the client is
# embedded in it), then runs every *.test.js with node's built-in runner: catalogues,
# end to end, the stage display's and the consoles' geometry, every view × language ×
# screen (screenshots in test-artifacts/screenshots/, axe light and dark), the host
# console's tools (their QR codes read back by zbarimg). Each file starts its own
# server. Exits non-zero on any failure.
#
#   tests/browser/run.sh                 # build target/debug/podium and test it
#   PODIUM_BIN=/path/to/podium tests/browser/run.sh   # test that binary as it is
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

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  apt_install nodejs npm
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  apt_install chromium
fi
if ! command -v zbarimg >/dev/null; then
  # The host console's QR codes are read back by a real decoder (console-features.test.js).
  apt_install zbar-tools
fi
if command -v fc-list >/dev/null && [ -z "$(fc-list :lang=ar 2>/dev/null)" ]; then
  apt_install fonts-noto-core || echo "note: no Arabic font installed; screenshots may show boxes"
fi

if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

if [ -z "${PODIUM_BIN:-}" ]; then
  # The client is embedded in the binary: rebuild so that it serves the current files.
  (cd "$repo" && cargo build -p podium-server)
  export PODIUM_BIN="$repo/target/debug/podium"
fi

# Fresh screenshots of the views; the overlay tests' own (overlay-*.png, written just
# before by tests/overlays/run.sh) stay.
mkdir -p "$repo/test-artifacts/screenshots"
find "$repo/test-artifacts/screenshots" -maxdepth 1 -name '*.png' ! -name 'overlay-*' -delete
node --test i18n.test.js units.test.js console-units.test.js e2e.test.js stage.test.js consoles.test.js views.test.js booth.test.js console-features.test.js
