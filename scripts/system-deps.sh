#!/bin/sh
# Installs the Debian packages a profile needs, only when one is missing.
#   run  - what `make run` needs (a Python with venv)
#   test - what the test suite's real clients and services need
set -eu
profile=${1:-run}

packages_run="python3 python3-venv"
packages_test="$packages_run"

eval "wanted=\$packages_$profile"
missing=""
for pkg in $wanted; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

echo "Installing system packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
