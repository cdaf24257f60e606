#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing (Playwright's own browser
# downloads are not used: the e2e fixture launches /usr/bin/chromium through executable_path).
set -euo pipefail

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

echo "ensure-chromium: $CHROMIUM is missing; installing Debian's chromium" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# fonts-noto-core gives the screenshots readable Latin and Cyrillic glyphs.
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-core fonts-dejavu-core >/dev/null

if [ ! -x "$CHROMIUM" ]; then
  echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing" >&2
  exit 1
fi
"$CHROMIUM" --version >&2
