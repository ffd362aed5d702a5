#!/usr/bin/env bash
# Browser tests drive the system's Chromium (Debian packages chromium and chromium-driver), never a
# downloaded browser. Installs them when missing and the machine can (root or sudo with apt-get).
set -euo pipefail

chromium="${CHROMIUM_BINARY:-/usr/bin/chromium}"
chromedriver="${CHROMEDRIVER_BINARY:-/usr/bin/chromedriver}"
if [ -x "$chromium" ] && [ -x "$chromedriver" ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Browser tests need Chromium and ChromeDriver at $chromium and $chromedriver;" \
       "install them with your package manager (or set CHROMIUM_BINARY / CHROMEDRIVER_BINARY)." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
echo "Installing Chromium and ChromeDriver from the system's packages..."
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
