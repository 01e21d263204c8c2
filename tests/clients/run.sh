#!/usr/bin/env bash
# tests/clients/run.sh: strata through real clients (redis-py, ioredis,
# redis-cli, redis-benchmark), every check first against the reference
# redis-server 7.0 and then against strata.
#
# For each client program and each server it starts a fresh server on a free
# loopback port (private --dir, --save '' --appendonly no; strata with
# --io-threads 2), runs the program against it, stops the server by pid with
# SIGTERM and insists that it exits 0 with nothing from a sanitizer in its
# log. A program prints "PASS check", "FAIL check: reason" or
# "SKIP check: reason"; this script shows them as
#     PASS redis/redis-py/pipeline
#     FAIL strata/redis-py/pubsub: ResponseError: unknown command 'SUBSCRIBE', ...
# adds one check per program and server, "server-exit", and ends with a
# matrix of every check by server and the line "N passed, N failed" that
# tests/run-all.sh counts. A check that fails against redis-server is a bug
# in the check; one that fails against strata is strata's (or a feature it
# does not serve yet).
#
# Usage: tests/clients/run.sh [redis-py] [ioredis] [redis-cli] [benchmark] [-- check-filter...]
# Environment:
#   STRATA_SERVER  candidate binary (default $BUILD/strata-server, BUILD=build)
#   REDIS_SERVER   reference binary (default redis-server)
#   SERVERS        which servers, in order (default "redis strata")
#   STRATA_SLOW=1  sanitizer builds: every timeout x3
#   KEEP_LOGS=1    keep the servers' logs and print where they are
# ioredis is installed with npm into build/clients-node (pinned version, only
# when missing). When npm cannot reach its registry, the ioredis program is
# reported as one SKIP line with npm's error; any other install failure is a
# FAIL.
set -u

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

BUILD="${BUILD:-build}"
STRATA_SERVER="${STRATA_SERVER:-$BUILD/strata-server}"
export REDIS_SERVER="${REDIS_SERVER:-redis-server}"
SERVERS="${SERVERS:-redis strata}"
PY=/usr/bin/python3            # Debian's, where python3-redis is installed
IOREDIS_VERSION=6.0.0          # RESP3 by default; needs node >= 20
NODE_DIR="$root/build/clients-node"
mult=1
[ "${STRATA_SLOW:-0}" = 1 ] && mult=3

programs=()
filters=()
seen_dashdash=0
for a in "$@"; do
    if [ "$seen_dashdash" = 1 ]; then filters+=("$a"); continue; fi
    case "$a" in
        --) seen_dashdash=1 ;;
        redis-py|ioredis|redis-cli|benchmark) programs+=("$a") ;;
        *) echo "run.sh: unknown program '$a' (redis-py, ioredis, redis-cli, benchmark)" >&2; exit 2 ;;
    esac
done
[ ${#programs[@]} -eq 0 ] && programs=(redis-py ioredis redis-cli benchmark)

for s in $SERVERS; do
    case "$s" in
        redis) bin="$REDIS_SERVER" ;;
        strata) bin="$STRATA_SERVER" ;;
        *) echo "run.sh: unknown server '$s'" >&2; exit 2 ;;
    esac
    if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "$bin" ]; then
        echo "run.sh: $s binary '$bin' not found (build strata with make)" >&2; exit 2
    fi
done

work="$(mktemp -d /tmp/strata-clients.XXXXXX)"
results="$work/results"      # lines: status<TAB>program/check<TAB>server
: >"$results"
srv_pid=""
cleanup() {
    if [ -n "$srv_pid" ]; then kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; fi
    if [ "${KEEP_LOGS:-0}" = 1 ]; then echo "# logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

record() {  # status server program check [reason]
    local st=$1 s=$2 p=$3 c=$4 reason=${5:-}
    printf '%s\t%s/%s\t%s\n' "$st" "$p" "$c" "$s" >>"$results"
    if [ -n "$reason" ]; then
        echo "$st $s/$p/$c: $reason"
    else
        echo "$st $s/$p/$c"
    fi
}

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_ready() {  # port
    "$PY" - "$1" "$((10 * mult))" <<'EOF'
import socket, sys, time
port, limit = int(sys.argv[1]), float(sys.argv[2])
end = time.time() + limit
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
}

start_server() {  # server program -> srv_pid srv_port srv_log (returns 1 on failure)
    local s=$1 p=$2 bin extra=()
    srv_port="$(free_port)"
    mkdir -p "$work/$s-$p"
    srv_log="$work/$s-$p.log"
    if [ "$s" = redis ]; then
        bin="$REDIS_SERVER"
    else
        bin="$STRATA_SERVER"
        extra=(--io-threads 2)
    fi
    "$bin" --port "$srv_port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$work/$s-$p" "${extra[@]}" >"$srv_log" 2>&1 &
    srv_pid=$!
    if ! wait_ready "$srv_port"; then
        record FAIL "$s" "$p" server-start "$bin did not answer PING on port $srv_port; log: $(tail -n 5 "$srv_log" | tr '\n' ' ')"
        kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null; srv_pid=""
        return 1
    fi
    return 0
}

stop_server() {  # server program: the server-exit check
    local s=$1 p=$2 rc i
    if ! kill -0 "$srv_pid" 2>/dev/null; then
        wait "$srv_pid" 2>/dev/null; rc=$?
        record FAIL "$s" "$p" server-exit "server died during the program (status $rc); log: $(tail -n 5 "$srv_log" | tr '\n' ' ')"
        srv_pid=""; return
    fi
    kill -TERM "$srv_pid"
    for ((i = 0; i < 100 * mult; i++)); do
        kill -0 "$srv_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$srv_pid" 2>/dev/null; then
        kill -KILL "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null
        record FAIL "$s" "$p" server-exit "still running $((10 * mult))s after SIGTERM"
        srv_pid=""; return
    fi
    wait "$srv_pid"; rc=$?
    srv_pid=""
    if [ "$rc" -ne 0 ]; then
        record FAIL "$s" "$p" server-exit "exit status $rc after SIGTERM; log: $(tail -n 5 "$srv_log" | tr '\n' ' ')"
    elif grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$srv_log"; then
        record FAIL "$s" "$p" server-exit "sanitizer report in the server log: $(grep -m1 -E 'Sanitizer|runtime error' "$srv_log")"
    else
        record PASS "$s" "$p" server-exit
    fi
}

# ioredis from npm into $NODE_DIR, pinned, only when missing. Prints the
# reason and returns 1 when the registry cannot be reached, 2 on any other
# failure.
ioredis_reason=""
ensure_ioredis() {
    local pj="$NODE_DIR/node_modules/ioredis/package.json" out rc
    if [ -f "$pj" ] && grep -q "\"version\": \"$IOREDIS_VERSION\"" "$pj"; then
        return 0
    fi
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        ioredis_reason="node or npm is not installed (deps/install.sh installs them)"
        return 2
    fi
    if [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
        ioredis_reason="node $(node --version) is older than ioredis@$IOREDIS_VERSION needs (>= 20)"
        return 2
    fi
    mkdir -p "$NODE_DIR"
    echo "# installing ioredis@$IOREDIS_VERSION into $NODE_DIR"
    out=$(timeout 180 npm install --prefix "$NODE_DIR" --no-save --no-package-lock \
        --no-audit --no-fund --fetch-retries=1 --fetch-retry-mintimeout=2000 \
        --fetch-retry-maxtimeout=5000 "ioredis@$IOREDIS_VERSION" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && [ -f "$pj" ]; then
        return 0
    fi
    if [ "$rc" -eq 124 ]; then
        ioredis_reason="npm install did not finish in 180s (registry unreachable?)"
        return 1
    fi
    if printf '%s' "$out" | grep -qE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|ECONNRESET|EHOSTUNREACH|network'; then
        ioredis_reason="npm cannot reach the registry: $(printf '%s' "$out" | grep -m1 -E 'npm (ERR|error)' )"
        return 1
    fi
    ioredis_reason="npm install ioredis@$IOREDIS_VERSION failed (status $rc): $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
    return 2
}

run_program() {  # program server
    local p=$1 s=$2 cmd limit rc out="$work/out" line
    case "$p" in
        redis-py)  cmd=("$PY" "$here/redis_py.py"); limit=60 ;;
        ioredis)   cmd=(node "$here/ioredis.js"); limit=60 ;;
        redis-cli) cmd=("$PY" "$here/redis_cli.py"); limit=120 ;;
        benchmark) cmd=("$PY" "$here/benchmark.py"); limit=120 ;;
    esac
    limit=$((limit * mult))
    start_server "$s" "$p" || return
    : >"$out"
    NODE_PATH="$NODE_DIR/node_modules" timeout --kill-after=5 "$limit" \
        "${cmd[@]}" --port "$srv_port" --server "$s" --work "$work" "${filters[@]}" \
        | while IFS= read -r line; do
            printf '%s\n' "$line" >>"$out"
            case "$line" in
                "PASS "*) record PASS "$s" "$p" "${line#PASS }" ;;
                "FAIL "*) c=${line#FAIL }; record FAIL "$s" "$p" "${c%%: *}" "${c#*: }" ;;
                "SKIP "*) c=${line#SKIP }; record SKIP "$s" "$p" "${c%%: *}" "${c#*: }" ;;
                *" passed, "*" failed") ;;     # the program's own summary: ours comes last
                "#"*) printf '%s\n' "$line" ;;
                *) printf '# %s\n' "$line" ;;
            esac
        done
    rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        record FAIL "$s" "$p" run "timed out after ${limit}s"
    elif ! grep -qE '^[0-9]+ passed, [0-9]+ failed$' "$out"; then
        record FAIL "$s" "$p" run "exited with status $rc without its summary line"
    elif [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$out"; then
        record FAIL "$s" "$p" run "exited with status $rc after reporting no failure"
    fi
    stop_server "$s" "$p"
}

t0=$(date +%s)
for p in "${programs[@]}"; do
    echo "# ---- $p"
    if [ "$p" = ioredis ]; then
        ensure_ioredis
        case $? in
            1) for s in $SERVERS; do record SKIP "$s" ioredis all "$ioredis_reason"; done; continue ;;
            2) for s in $SERVERS; do record FAIL "$s" ioredis install "$ioredis_reason"; done; continue ;;
        esac
    fi
    for s in $SERVERS; do
        run_program "$p" "$s"
    done
done

# The matrix: one row per check, one column per server.
echo "# ---- checks by server ($(( $(date +%s) - t0 ))s)"
"$PY" - "$results" $SERVERS <<'EOF'
import sys
path, servers = sys.argv[1], sys.argv[2:]
rows, order = {}, []
for line in open(path):
    st, name, srv = line.rstrip("\n").split("\t")
    if name not in rows:
        rows[name] = {}
        order.append(name)
    rows[name][srv] = st
w = max([len(n) for n in order] + [5])
print("# %-*s %s" % (w, "check", " ".join("%-7s" % s for s in servers)))
for n in order:
    print("# %-*s %s" % (w, n, " ".join("%-7s" % rows[n].get(s, "-") for s in servers)))
for s in servers:
    c = [rows[n].get(s) for n in order]
    print("# %s: %d passed, %d failed, %d skipped" % (s, c.count("PASS"), c.count("FAIL"), c.count("SKIP")))
EOF
npass=$(grep -c '^PASS' "$results")
nfail=$(grep -c '^FAIL' "$results")
echo "$npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
