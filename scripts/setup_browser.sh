#!/usr/bin/env bash
# What the extension's end-to-end tests need, installed only where missing (safe to run again):
#   - Debian's chromium at /usr/bin/chromium (apt-get), driven by the `playwright` Python package;
#     `playwright install` is never run: its downloaded browsers are not used.
#   - Debian's firefox-esr (apt-get), driven over WebDriver BiDi (built into Firefox; the `websockets`
#     package of the `test` extra speaks it).
#   - web-ext (npm dev dependency in package.json) for `web-ext lint`.
#   - the Python `playwright` package in the venv (the `test` extra), if the venv lacks it.
set -euo pipefail
cd "$(dirname "$0")/.."

MISSING=""
[ -x /usr/bin/chromium ] || MISSING="$MISSING chromium"
[ -x /usr/bin/firefox-esr ] || MISSING="$MISSING firefox-esr"
if [ -n "$MISSING" ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends $MISSING
fi

if [ ! -x node_modules/.bin/web-ext ]; then
  if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
fi

PY=.venv/bin/python
[ -x "$PY" ] || PY=python3
if ! "$PY" -c "import playwright" 2>/dev/null; then
  "$PY" -m pip install "playwright>=1.45"
fi

/usr/bin/chromium --version 2>/dev/null || true
/usr/bin/firefox-esr --version 2>/dev/null || true
node_modules/.bin/web-ext --version
