#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser test; install it with apt when missing.
set -euo pipefail
if command -v chromium > /dev/null; then
  exit 0
fi
echo "Chromium is missing: installing Debian's chromium package with apt-get."
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium > /dev/null
command -v chromium
