#!/bin/sh
# Browser tests drive a real Chromium. Debian's package where apt exists (no downloads at
# test time); elsewhere, as on macOS, Playwright's own build.
set -e
if [ -x /usr/bin/chromium ]; then exit 0; fi
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
else
  "$1" -m playwright install chromium
fi
