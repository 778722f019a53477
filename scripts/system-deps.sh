#!/bin/sh
# Installs the Debian packages a profile needs, only when one is missing.
#   run  - what `make run` needs (a Python with venv)
#   test - what the test suite's real clients and services need
#   bench - what the benchmarks in bench/ start besides repomgr
set -eu
profile=${1:-run}

# python-ldap builds against libldap; pysaml2 (SAML) signs and verifies with xmlsec1.
packages_run="python3 python3-venv gcc python3-dev libldap2-dev libsasl2-dev xmlsec1"
# A real OpenLDAP and a real SAML IdP (SimpleSAMLphp under php -S) for the identity tests.
packages_test="$packages_run slapd ldap-utils simplesamlphp php-cli php-xml php-mbstring php-curl"
# Docker/OCI clients, and the CNCF distribution registry (remote upstream, benchmark peer).
packages_test="$packages_test skopeo umoci podman buildah crun uidmap fuse-overlayfs containers-storage docker-registry"

# Benchmarks (bench/): nginx is the peer that serves the same bytes; curl is the client.
packages_bench="$packages_run nginx curl"
# The Docker benchmark's peer (CNCF distribution) and ab for manifest requests/s.
packages_bench="$packages_bench docker-registry apache2-utils"

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
# slapd: no system instance; the tests configure and start their own.
case "$missing" in *slapd*)
    echo "slapd slapd/no_configuration boolean true" | $SUDO debconf-set-selections ;;
esac
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
