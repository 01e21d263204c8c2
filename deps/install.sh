#!/bin/sh
# deps/install.sh: install strata's build and test dependencies from Debian.
# Idempotent: packages already present are skipped, so `make` can call this
# on every build at no cost. Nothing is vendored and nothing is downloaded
# outside Debian's package registry (and npm, by tests/clients/run.sh, for
# ioredis, into build/clients-node).
set -e

BUILD_PKGS="build-essential pkg-config libevent-dev liblz4-dev libjemalloc-dev libxxhash-dev libssl-dev"
TEST_PKGS="libhiredis-dev redis-tools redis-server python3 python3-redis gnuplot-nox nodejs"
# Only for `make fuzz` (./deps/install.sh fuzz): clang and its libFuzzer
# runtime; and `make tsan` (./deps/install.sh tsan): gcc's ThreadSanitizer
# runtime.
FUZZ_PKGS="clang libclang-rt-14-dev"
TSAN_PKGS="libtsan2"
EXTRA_PKGS=""
case "${1:-}" in
fuzz) EXTRA_PKGS="$FUZZ_PKGS" ;;
tsan) EXTRA_PKGS="$TSAN_PKGS" ;;
esac

want=""
for p in $BUILD_PKGS $TEST_PKGS $EXTRA_PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        want="$want $p"
    fi
done

# npm: a separate Debian package, but bundled (and "provided") by the
# NodeSource nodejs some machines carry, which conflicts with Debian's npm;
# so ask for it only when there is no npm command at all.
if ! command -v npm >/dev/null 2>&1; then
    want="$want npm"
fi

[ -z "$want" ] && exit 0

echo "deps: installing:$want"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# redis-server's package would start a system instance on 6379 where a
# service manager exists; we only want the binary as a reference.
$SUDO apt-get install -y -qq --no-install-recommends $want >/dev/null
