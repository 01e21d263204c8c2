#!/bin/sh
# deps/install.sh: install strata's build and test dependencies from Debian.
# Idempotent: packages already present are skipped, so `make` can call this
# on every build at no cost. Nothing is vendored and nothing is downloaded
# outside Debian's package registry (and npm for the client tests in #3).
set -e

BUILD_PKGS="build-essential pkg-config libevent-dev liblz4-dev libjemalloc-dev libxxhash-dev libssl-dev"
TEST_PKGS="libhiredis-dev redis-tools redis-server python3 gnuplot-nox"

want=""
for p in $BUILD_PKGS $TEST_PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        want="$want $p"
    fi
done

[ -z "$want" ] && exit 0

echo "deps: installing:$want"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# redis-server's package would start a system instance on 6379 where a
# service manager exists; we only want the binary as a reference.
$SUDO apt-get install -y -qq --no-install-recommends $want >/dev/null
