#!/usr/bin/env bash
# Differential compatibility run: starts the reference redis-server and strata
# side by side on free loopback ports, feeds both the same commands through
# diff.py and reports every case as PASS or FAIL with the first difference.
# This script owns only the servers' lifecycle; the case language, the
# comparison and the random generator live in diff.py.
#
# Usage:
#   redis-compat/run.sh [CASE.txt ...] [diff.py options]
#       no case named: every cases/*.txt (cases/unserved.txt only with ALL=1),
#       then a fixed-seed random round of 2,000 commands.
#   redis-compat/run.sh --random [--seed S] [--count N] [--dump FILE]
#       only a random round; stops at the first different reply.
#   Useful diff.py options: --show (every reply), --all-diffs.
# Environment:
#   STRATA_SERVER  candidate binary (default build/strata-server)
#   REDIS_SERVER   reference binary (default redis-server)
#   ALL=1          also run cases/unserved.txt
#   RANDOM_SEED    seed of the default random round (default 20240601)
#   RANDOM_COUNT   its length (default 2000; 0 skips it)
#   KEEP_LOGS=1    keep the servers' logs and print where they are
set -u

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

STRATA_SERVER="${STRATA_SERVER:-build/strata-server}"
REDIS_SERVER="${REDIS_SERVER:-redis-server}"
PY=/usr/bin/python3

cases=()
extra=()
random_only=0
prev=
for a in "$@"; do
    case "$prev:$a" in
        --dump:*|--allowed:*) extra+=("$a") ;;
        *:--random) random_only=1; extra+=("$a") ;;
        *:*.txt) cases+=("$(realpath -m "$a")") ;;
        *) extra+=("$a") ;;
    esac
    prev="$a"
done

cd "$root"   # STRATA_SERVER's default is relative to the repository

if ! command -v "$REDIS_SERVER" >/dev/null 2>&1; then
    echo "run.sh: reference server '$REDIS_SERVER' not found" >&2; exit 2
fi
if ! command -v "$STRATA_SERVER" >/dev/null 2>&1 && [ ! -x "$STRATA_SERVER" ]; then
    echo "run.sh: candidate server '$STRATA_SERVER' not found (build it with make, or set STRATA_SERVER)" >&2
    exit 2
fi

work="$(mktemp -d /tmp/redis-compat.XXXXXX)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null
    done
    if [ "${KEEP_LOGS:-0}" = 1 ]; then
        echo "logs kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port the kernel just handed out on loopback and released again.
free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ready() {  # port pid name
    "$PY" - "$1" <<'EOF' && return 0
import socket, sys, time
port = int(sys.argv[1])
end = time.time() + 10
while time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        if s.recv(64).startswith(b"+PONG"):
            sys.exit(0)
    except OSError:
        pass
    time.sleep(0.05)
sys.exit(1)
EOF
    echo "run.sh: $3 (pid $2) did not answer PING on port $1; its log:" >&2
    sed 's/^/    /' "$work/$3.log" >&2
    exit 2
}

start() {  # name binary -> sets port_<name>
    local name="$1" bin="$2" port
    port="$(free_port)"
    mkdir -p "$work/$name"
    # DEBUG is refused unless enabled (Redis 7.0's default is "no"); "local"
    # allows it from loopback, which is where the harness connects from.
    "$bin" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --enable-debug-command local \
        --dir "$work/$name" >"$work/$name.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    wait_ready "$port" "$pid" "$name"
    eval "port_$name=$port"
    echo "started $name: $bin (pid $pid, port $port)"
}

start redis "$REDIS_SERVER"
start strata "$STRATA_SERVER"

args=(--a-port "$port_redis" --b-port "$port_strata" --a-name redis --b-name strata)
if [ "$random_only" = 1 ]; then
    "$PY" "$here/diff.py" "${args[@]}" "${extra[@]}"
    rc=$?
else
    if [ ${#cases[@]} -eq 0 ]; then
        for f in "$here"/cases/*.txt; do
            if [ "$(basename "$f")" = unserved.txt ] && [ "${ALL:-0}" != 1 ]; then
                continue
            fi
            cases+=("$f")
        done
        count="${RANDOM_COUNT:-2000}"
        if [ "$count" != 0 ]; then
            seed="${RANDOM_SEED:-20240601}"
            echo "random round: seed $seed, $count commands"
            extra+=(--random --seed "$seed" --count "$count")
        fi
    fi
    "$PY" "$here/diff.py" "${args[@]}" "${extra[@]}" "${cases[@]}"
    rc=$?
fi

# A candidate that died during the run explains a wall of FAILs.
for p in "${pids[@]}"; do
    if ! kill -0 "$p" 2>/dev/null; then
        echo "run.sh: server pid $p exited during the run; last lines of its log:" >&2
        for n in redis strata; do tail -n 20 "$work/$n.log" >&2; done
        rc=1
    fi
done
exit $rc
