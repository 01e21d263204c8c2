#!/usr/bin/env bash
# strata vs redis-server, side by side, with redis-benchmark.
#
# Owns the processes: starts both servers on free loopback ports, runs
# redis-benchmark against each in turn (strata, redis, strata, redis ... for
# every row, so slow drift of a noisy machine hits both), measures memory per
# key on fresh servers, and stops every server it started, by pid, on any
# exit including Ctrl-C.  bench/bench.py turns the raw files into
# bench/results/<stamp>.md, latest.md and the PNG charts.
#
# Usage: bench/run.sh [--quick] [--rounds N] [--scale F] [--wait-idle SECS]
#                     [--max-retries N] [--no-memory] [--no-throughput]
#                     [--groups "memory throughput storm scaling storage"]
#                     [--placements "pinned unpinned"]
# Env:   STRATA_SERVER (default build/strata-server), REDIS_SERVER,
#        REDIS_BENCHMARK, REDIS_CLI, SERVER_CPU (1), BENCH_CPU (0),
#        BENCH_TIMEOUT (seconds per redis-benchmark run), IDLE_PCT (15),
#        BUSY_PCT (20), RETRY_BUDGET (quick: 15 s of re-runs; full: no limit),
#        IOT_MAX (io-threads scaling goes 1..IOT_MAX),
#        ST_PARTS (storage group parts: "aof spill restart").
# See bench/README.md.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=${PYTHON:-python3}
BENCHPY="$HERE/bench.py"

STRATA=${STRATA_SERVER:-$ROOT/build/strata-server}
REDIS=${REDIS_SERVER:-$(command -v redis-server || true)}
RBENCH=${REDIS_BENCHMARK:-$(command -v redis-benchmark || true)}
RCLI=${REDIS_CLI:-$(command -v redis-cli || true)}
SERVER_CPU=${SERVER_CPU:-1}
BENCH_CPU=${BENCH_CPU:-0}

MODE=full
ROUNDS=
SCALE=1
WAIT_IDLE=0
IDLE_PCT=${IDLE_PCT:-15}
BUSY_PCT=${BUSY_PCT:-20}
MAX_RETRIES=2
RETRIES=0
PLACEMENTS="pinned unpinned"
NO_GROUPS=

usage() { sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; }

while [ $# -gt 0 ]; do
    case $1 in
        --quick) MODE=quick ;;
        --rounds) ROUNDS=$2; shift ;;
        --scale) SCALE=$2; shift ;;
        --placements) PLACEMENTS=$2; shift ;;
        --no-memory) NO_GROUPS="${NO_GROUPS:-} memory" ;;
        --no-throughput) NO_GROUPS="${NO_GROUPS:-} throughput" ;;
        --groups) GROUPS_SEL=$2; shift ;;
        --wait-idle) WAIT_IDLE=$2; shift ;;
        --max-retries) MAX_RETRIES=$2; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

# ---------------------------------------------------------------- parameters
CLIENTS=50
KEYSPACE=1000000
TESTS="ping_mbulk set get incr mset"
PIPELINES="1 16"
SCALE_CLIENTS="1 10 50 200 1000"
NPROC=$(nproc)
if [ "$MODE" = quick ]; then
    : "${ROUNDS:=1}"
    DSIZES="16"
    MEM_KEYS="1000000"
    MEM_VSIZES="16"
    # ~0.7 s per run on a 2-core EPYC for redis 7.0 (P1 ~25-45k rps,
    # P16 ~200-700k rps, MSET moves 10 keys per request).
    N_P1=25000;  N_P1_MSET=18000
    N_P16=400000; N_P16_MSET=45000
    N_STORM=8000
    : "${IOT_MAX:=$NPROC}"
    SCALE_PIPELINES="16"            # io-threads scaling: GET -P 16 only
    CLIENT_PLACEMENTS="pinned"      # clients scaling: pinned only
    : "${BENCH_TIMEOUT:=60}"
else
    : "${ROUNDS:=3}"
    DSIZES="16 256 4096"
    MEM_KEYS="1000000 10000000"
    MEM_VSIZES="16 100"
    # ~2-3 s per run.
    N_P1=100000;  N_P1_MSET=60000
    N_P16=1000000; N_P16_MSET=150000
    N_STORM=30000
    # io-threads 1..2x the CPUs (at most 8): past the CPU count shows what
    # oversubscription costs.
    : "${IOT_MAX:=$(( NPROC * 2 > 8 ? 8 : NPROC * 2 ))}"
    SCALE_PIPELINES="1 16"
    CLIENT_PLACEMENTS="pinned unpinned"
    : "${BENCH_TIMEOUT:=180}"
fi
# storage group (see group_storage): sizes of its three parts.
ST_DSIZES="16 256"
if [ "$MODE" = quick ]; then
    ST_N_ALWAYS_P1=3000; ST_N_ALWAYS_P16=30000
    ST_MAXMEM=$((16 * 1024 * 1024))
    ST_N_GET=20000; ST_GET_PIPELINES="1"
    ST_RESTART_KEYS=1000000; ST_RESTART_ROUNDS=1
else
    ST_N_ALWAYS_P1=15000; ST_N_ALWAYS_P16=150000
    ST_MAXMEM=$((64 * 1024 * 1024))
    ST_N_GET=40000; ST_GET_PIPELINES="1 16"
    ST_RESTART_KEYS=10000000; ST_RESTART_ROUNDS=2
fi
# 10x maxmemory of 256-byte values; the hot-set warm-up draws 2x its size.
ST_SPILL_KEYS=$((ST_MAXMEM * 10 / 256))
ST_N_WARM=$((ST_SPILL_KEYS / 10 * 2))
: "${ST_PARTS:=aof spill restart}"
# -d only changes set/get/mset; ping_mbulk and incr run at the first size only.
DSIZE_TESTS="set get mset"

# Row groups, in the order they run.  Each NAME has a function group_NAME
# below that starts its own servers (start_pair/stop_pair), runs its rows
# through run_pair (strata then redis, re-run when the machine was busy) and
# writes one manifest line per run with its group name; bench.py reports
# each group in a section of its own.  Adding a group = writing group_NAME,
# listing it here (and in ROW_GROUPS_QUICK if it fits in --quick), and a
# section for it in bench.py's report.
# Groups in ROW_GROUPS_ONCE run once with fresh servers; the others run
# once per placement (group_NAME pinned, then group_NAME unpinned).
# storage (needs strata's storage engine) runs in the full mode by default;
# --quick leaves it out to stay under two minutes: --quick --groups storage
# runs it alone at the quick sizes (~2 minutes).
ROW_GROUPS_ALL="memory throughput storm scaling storage"
ROW_GROUPS_QUICK="memory throughput storm scaling"
if [ "$MODE" = quick ]; then : "${GROUPS_SEL:=$ROW_GROUPS_QUICK}"; else : "${GROUPS_SEL:=$ROW_GROUPS_ALL}"; fi

die() { echo "run.sh: $*" >&2; exit 1; }

[ -x "$STRATA" ] || die "no strata binary at $STRATA (run make, or set STRATA_SERVER)"
[ -n "$REDIS" ] && [ -x "$REDIS" ] || die "redis-server not found (set REDIS_SERVER)"
[ -n "$RBENCH" ] || die "redis-benchmark not found"
[ -n "$RCLI" ] || die "redis-cli not found"
STRATA=$(cd "$(dirname "$STRATA")" && pwd)/$(basename "$STRATA")
if [ "$NPROC" -lt 2 ] || ! command -v taskset >/dev/null; then
    echo "run.sh: 1 CPU or no taskset, skipping the pinned placement" >&2
    PLACEMENTS=$(echo "$PLACEMENTS" | tr ' ' '\n' | grep -vx pinned | tr '\n' ' ' || true)
fi

# ---------------------------------------------------------------- output
STAMP=$(date +%Y-%m-%d-%H%M)
RESULTS="$HERE/results"
base=$STAMP; i=2
while [ -e "$RESULTS/raw/$STAMP" ] || [ -e "$RESULTS/$STAMP.md" ]; do
    STAMP="$base-$i"; i=$((i + 1))
done
RAW="$RESULTS/raw/$STAMP"
mkdir -p "$RAW"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strata-bench.XXXXXX")
META="$RAW/meta.txt"
CMDS="$RAW/commands.txt"
: >"$CMDS"
printf 'group\tplacement\tiothreads\tclients\tkeepalive\tpipeline\tdsize\ttest\tserver\tround\tn\tcsvfile\tforeign_pct\tserver_cpu_us\tretries\n' >"$RAW/manifest.tsv"

meta() { printf '%s=%s\n' "$1" "$2" >>"$META"; }
logcmd() { printf '%q ' "$@" | sed 's/ $//' >>"$CMDS"; echo >>"$CMDS"; }

# ---------------------------------------------------------------- processes
SERVER_PIDS=()

stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    echo "run.sh: pid $pid ignored SIGTERM, sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

INTERRUPTED=0
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}"; do stop_pid "$pid"; done
    if [ "$INTERRUPTED" = 1 ]; then
        rm -rf "$RAW"          # a partial run is not worth committing
    elif [ "$rc" != 0 ]; then
        cp "$WORK"/*.log "$RAW"/ 2>/dev/null || true
        echo "run.sh: failed; partial results and server logs in $RAW" >&2
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'INTERRUPTED=1; echo "run.sh: interrupted" >&2; exit 130' INT TERM

freeport() { "$PY" "$BENCHPY" freeport; }

# start_server NAME BIN IOTHREADS PINNED(0|1) [EXTRA ARGS...] -> sets
# SRV_PID, SRV_PORT, SRV_CMD (the command, for a restart).  EXTRA ARGS come
# after the defaults, so they override them (both servers take the last
# value of a directive).
start_server() {
    local name=$1 bin=$2 iot=$3 pin=$4 port log i
    shift 4
    local -a cmd=()
    port=$(freeport)
    [ "$pin" = 1 ] && cmd=(taskset -c "$SERVER_CPU")
    cmd+=("$bin" --port "$port" --save '' --appendonly no --io-threads "$iot" "$@")
    SRV_CMD=("${cmd[@]}")
    log="$WORK/$name-$port.log"
    logcmd "${cmd[@]}"
    SRV_LOG=$log
    # cwd is the scratch dir so any file a server writes lands there.
    (cd "$WORK" && exec "${cmd[@]}") >>"$log" 2>&1 &
    SRV_PID=$!
    SRV_PORT=$port
    SERVER_PIDS+=("$SRV_PID")
    meta "${name}_$port""_port" "$port"
    for i in $(seq 1 100); do
        if ! kill -0 "$SRV_PID" 2>/dev/null; then
            tail -20 "$log" >&2
            die "$name exited at startup (cmd: ${cmd[*]})"
        fi
        if [ "$("$RCLI" -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
            [ "$name" = strata ] && strata_version_from_info "$port"
            return 0
        fi
        sleep 0.1
    done
    tail -20 "$log" >&2
    die "$name did not answer PING on port $port within 10 s"
}

stop_server() {
    local pid=$1 keep=() p
    stop_pid "$pid"
    for p in "${SERVER_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    SERVER_PIDS=("${keep[@]+"${keep[@]}"}")
}

cli() { local port=$1; shift; "$RCLI" -h 127.0.0.1 -p "$port" "$@"; }

# ---------------------------------------------------------------- CPU noise
# The machine is shared, so every run records how much CPU went to processes
# that are not ours: machine-wide busy ticks (/proc/stat, steal included)
# minus the ticks of our servers (/proc/PID/stat) and of our waited-for
# children (the `times` builtin: redis-benchmark, redis-cli, helpers).
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

cpu_snap() {  # -> "busy total" ticks summed over all CPUs
    awk '/^cpu /{ b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6; exit }' /proc/stat
}

pid_ticks() {  # utime + stime of the given pids (all threads)
    local pid sum=0 t
    for pid in "$@"; do
        t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }') || t=0
        sum=$((sum + ${t:-0}))
    done
    echo "$sum"
}

# cpu_mark -> sets M_BUSY M_TOTAL M_OURS
cpu_mark() {
    local c s
    read -r M_BUSY M_TOTAL < <(cpu_snap)
    times >"$WORK/times"   # must run in this shell, not a subshell
    c=$(awk -v hz="$HZ" 'NR == 2 {
            s = 0
            for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] }
            print int(s * hz) }' "$WORK/times")
    s=$(pid_ticks "${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}")
    M_OURS=$(( ${c:-0} + ${s:-0} ))
}

# foreign_since BUSY TOTAL OURS -> sets FOREIGN, percent of the machine used
# by others since that mark.  Call it in this shell, never inside $(...).
foreign_since() {
    local b0=$1 t0=$2 o0=$3
    cpu_mark
    FOREIGN=$(awk -v b=$((M_BUSY - b0)) -v t=$((M_TOTAL - t0)) -v o=$((M_OURS - o0)) \
        'BEGIN { f = t > 0 ? 100 * (b - o) / t : 0; if (f < 0) f = 0; printf "%.0f\n", f }')
}

# wait_idle MAXSECS: wait until others use < IDLE_PCT% of the machine.
wait_idle() {
    local max=$1 start b0 t0 b1 t1 pct
    start=$(date +%s)
    while :; do
        read -r b0 t0 < <(cpu_snap); sleep 3; read -r b1 t1 < <(cpu_snap)
        pct=$(( t1 > t0 ? 100 * (b1 - b0) / (t1 - t0) : 0 ))
        if [ "$pct" -lt "$IDLE_PCT" ]; then
            echo "bench: machine ${pct}% busy, starting" >&2; meta idle_wait "${pct}% busy at start after $(( $(date +%s) - start )) s of waiting"; return 0
        fi
        if [ $(( $(date +%s) - start )) -ge "$max" ]; then
            echo "bench: machine still ${pct}% busy after ${max} s, going ahead" >&2
            meta idle_wait "gave up after ${max} s, ${pct}% busy at start"; return 0
        fi
        echo "bench: machine ${pct}% busy, waiting (up to ${max} s)" >&2
    done
}

# ---------------------------------------------------------------- metadata
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
strata_version() {
    # A binary that does not know --version would start serving instead, so
    # give it a free port, no persistence and the scratch dir, and only trust
    # a quick clean exit.
    local v fp
    fp=$(freeport)
    v=$(cd "$WORK" && timeout 3 "$STRATA" --version --port "$fp" --save '' \
        --appendonly no 2>/dev/null | head -1) || v=
    echo "${v:-unknown}"
}
# Called once strata is up, if --version told us nothing.
strata_version_from_info() {
    local port=$1 f="$RAW/strata-info-server.txt" v
    [ "${SV%% *}" = unknown ] || return 0
    cli "$port" info server >"$f" 2>&1 || true
    v=$("$PY" "$BENCHPY" info-field "$f" strata_version redis_version) || v=
    SV="${v:-unknown} (from INFO server)"
}
meta stamp "$STAMP"
meta date "$(date '+%Y-%m-%d %H:%M %Z')"
meta mode "$MODE"
meta rounds "$ROUNDS"
meta scale "$SCALE"
meta busy_pct "$BUSY_PCT"
meta nproc "$NPROC"
meta cpu_model "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
meta kernel "$(uname -r)"
meta load_start "$(loadavg)"
meta strata_bin "$STRATA"
meta redis_bin "$REDIS"
meta redis_version "$("$REDIS" --version)"
meta bench_version "$("$RBENCH" --version)"
meta server_cpu "$SERVER_CPU"
meta bench_cpu "$BENCH_CPU"
SV=$(strata_version)

echo "bench: mode=$MODE rounds=$ROUNDS placements=[$PLACEMENTS] raw=$RAW" >&2
[ "$WAIT_IDLE" -gt 0 ] && wait_idle "$WAIT_IDLE"
START_TS=$(date +%s)
cpu_mark; RUN_B=$M_BUSY; RUN_T=$M_TOTAL; RUN_O=$M_OURS
# --quick spends at most ~RETRY_BUDGET s on re-runs so the whole run stays
# under 2 minutes; the full mode (budget 0) retries as often as needed.
RETRY_SPENT=0
if [ "$MODE" = quick ]; then RETRY_BUDGET=${RETRY_BUDGET:-15}; else RETRY_BUDGET=${RETRY_BUDGET:-0}; fi

# ---------------------------------------------------------------- helpers
# start_pair IOTHREADS PINNED(0|1): strata and redis-server with the same
# flags -> spid_cur sport rpid_cur rport
start_pair() {
    start_server strata "$STRATA" "$1" "$2"; spid_cur=$SRV_PID; sport=$SRV_PORT
    start_server redis "$REDIS" "$1" "$2"; rpid_cur=$SRV_PID; rport=$SRV_PORT
}
stop_pair() { stop_server "$spid_cur"; stop_server "$rpid_cur"; }

# preload PORT VSIZE: SET every key redis-benchmark's -r draws (key:%012d,
# 0..KEYSPACE-1) to a VSIZE-byte value, so GET rows hit every time and
# return values of the row's size.  Streamed, never stored on disk.
preload() {
    local port=$1 vs=$2 out
    echo "$PY bench/bench.py gen-resp --n $KEYSPACE --vsize $vs --out - | $RCLI -h 127.0.0.1 -p $port --pipe" >>"$CMDS"
    out=$("$PY" "$BENCHPY" gen-resp --n "$KEYSPACE" --vsize "$vs" --out - |
          cli "$port" --pipe 2>&1) || true
    echo "$out" | grep -q 'errors: 0,' ||
        echo "run.sh: preload port $port -d $vs: $(echo "$out" | tail -1)" >&2
}
preload_pair() { preload "$sport" "$1"; preload "$rport" "$1"; }

# ---------------------------------------------------------------- memory
# used_memory / RSS per key on a fresh server; no pinning, one I/O thread.
mem_one() {
    local name=$1 bin=$2 vsize=$3 nkeys=$4 resp=$5 bytes=$6 pid port tag ub rb ua ra db out
    start_server "$name" "$bin" 1 0
    pid=$SRV_PID; port=$SRV_PORT
    tag="mem-$name-v$vsize-n$nkeys"
    sleep 0.5
    logcmd "$RCLI" -h 127.0.0.1 -p "$port" info memory
    cli "$port" info memory >"$RAW/$tag-before.txt" || true
    echo "head -c $bytes $(basename "$resp") | $(printf '%q' "$RCLI") -h 127.0.0.1 -p $port --pipe" >>"$CMDS"
    out=$(head -c "$bytes" "$resp" | cli "$port" --pipe 2>&1) || true
    echo "$out" >"$RAW/$tag-pipe.txt"
    echo "$out" | grep -q 'errors: 0,' || echo "run.sh: $tag: --pipe reported: $(echo "$out" | tail -1)" >&2
    sleep 1   # let background frees/purges settle before reading RSS
    cli "$port" info memory >"$RAW/$tag-after.txt" || true
    db=$(cli "$port" dbsize 2>/dev/null || echo '?')
    ub=$("$PY" "$BENCHPY" info-field "$RAW/$tag-before.txt" used_memory || true)
    rb=$("$PY" "$BENCHPY" info-field "$RAW/$tag-before.txt" used_memory_rss || true)
    ua=$("$PY" "$BENCHPY" info-field "$RAW/$tag-after.txt" used_memory || true)
    ra=$("$PY" "$BENCHPY" info-field "$RAW/$tag-after.txt" used_memory_rss || true)
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$vsize" "$nkeys" \
        "$ub" "$rb" "$ua" "$ra" "$db" >>"$RAW/memory.tsv"
    echo "bench: memory $name v$vsize n$nkeys: used $ub -> $ua, rss $rb -> $ra, dbsize $db" >&2
    stop_server "$pid"
}

group_memory() {
    local vs resp maxn n size bytes
    printf 'server\tvsize\tnkeys\tused_before\trss_before\tused_after\trss_after\tdbsize\n' >"$RAW/memory.tsv"
    maxn=0
    for n in $MEM_KEYS; do [ "$n" -gt "$maxn" ] && maxn=$n; done
    for vs in $MEM_VSIZES; do
        # One file of the largest N; smaller N load its first commands (every
        # command has the same length, so N commands = N/maxN of the bytes).
        resp="$WORK/load-$maxn-v$vs.resp"
        logcmd "$PY" bench/bench.py gen-resp --n "$maxn" --vsize "$vs" --out "$(basename "$resp")"
        "$PY" "$BENCHPY" gen-resp --n "$maxn" --vsize "$vs" --out "$resp"
        size=$(stat -c %s "$resp")
        for n in $MEM_KEYS; do
            bytes=$(( size / maxn * n ))
            mem_one strata "$STRATA" "$vs" "$n" "$resp" "$bytes"
            mem_one redis "$REDIS" "$vs" "$n" "$resp" "$bytes"
        done
        rm -f "$resp"
    done
}

# ---------------------------------------------------------------- rows
nreq() {  # nreq PIPELINE TEST DSIZE -> -n, scaled by --scale
    local n
    case "$1:$2" in
        1:mset) n=$N_P1_MSET ;;   1:*) n=$N_P1 ;;
        16:mset) n=$N_P16_MSET ;; *) n=$N_P16 ;;
    esac
    # 4 KB values move 16x the bytes of 256 B ones: fewer requests keep the
    # run near the same duration.
    [ "${3:-16}" -ge 4096 ] && n=$((n / 3))
    awk -v n="$n" -v s="$SCALE" 'BEGIN { n = int(n * s); print (n < 1000 ? 1000 : n) }'
}

# A row is described by these globals, set by the group before run_pair:
#   R_GROUP R_PL (pinned|unpinned) R_IOT R_C (clients) R_KA (keepalive 1|0)
#   R_P (pipeline) R_D (-d) R_T (redis-benchmark test) R_ROUND R_N (-n)
# bench_one SERVER PORT TRY -> BO_LINE (manifest line), BO_FP (others' CPU %)
bench_one() {
    local srv=$1 port=$2 try=$3 f b0 t0 o0 fp spid k0 k1 us
    local -a cmd=()
    f="$R_GROUP-$R_PL-t$R_IOT-c$R_C-k$R_KA-P$R_P-d$R_D-$R_T-$srv-r$R_ROUND.txt"
    [ "$try" = 0 ] || f="${f%.txt}-retry$try.txt"
    if [ "$R_PL" = pinned ]; then
        cmd=(taskset -c "$BENCH_CPU" "$RBENCH")
    else
        cmd=("$RBENCH" --threads 2)
    fi
    # No --csv: redis-benchmark 7.0's CSV stops at p99; its default output
    # also has the percentile tables bench.py reads p99.9 from.
    cmd+=(-h 127.0.0.1 -p "$port" -c "$R_C" -n "$R_N" -r "${R_R:-$KEYSPACE}"
          -d "$R_D" -P "$R_P")
    # R_CMD (storage group): a command line instead of -t, e.g.
    # "GET key:__rand_int__" (redis-benchmark draws __rand_int__ from -r).
    if [ -n "${R_CMD:-}" ]; then
        # shellcheck disable=SC2206
        cmd+=($R_CMD)
    else
        cmd+=(-t "$R_T")
    fi
    [ "$R_KA" = 1 ] || cmd+=(-k 0)
    logcmd "${cmd[@]}"
    # R_STATS=1 (storage group): INFO stats before and after, for the hit
    # rate (keyspace_hits / keyspace_misses) of this run alone.
    [ "${R_STATS:-0}" = 1 ] && cli "$port" info stats >"$RAW/${f%.txt}.stats0" 2>&1
    # The server's own CPU per request (all its threads): at -P 1 both
    # servers wait on a single-threaded client, so rps alone hides how much
    # of its core each server needed.
    if [ "$srv" = strata ]; then spid=$spid_cur; else spid=$rpid_cur; fi
    k0=$(pid_ticks "$spid")
    cpu_mark; b0=$M_BUSY; t0=$M_TOTAL; o0=$M_OURS
    if ! timeout "$BENCH_TIMEOUT" "${cmd[@]}" >"$RAW/$f" 2>"$RAW/${f%.txt}.err"; then
        echo "run.sh: $f failed or timed out (see ${f%.txt}.err)" >&2
    fi
    foreign_since "$b0" "$t0" "$o0"; fp=$FOREIGN
    [ "${R_STATS:-0}" = 1 ] && cli "$port" info stats >"$RAW/${f%.txt}.stats1" 2>&1
    k1=$(pid_ticks "$spid")
    us=$(awk -v k=$((k1 - k0)) -v hz="$HZ" -v n="$R_N" 'BEGIN { printf "%.2f\n", k * 1e6 / hz / n }')
    # redis-benchmark -k 0 always warns about TIME_WAIT on stderr.
    grep -v 'Keepalive disabled' "$RAW/${f%.txt}.err" >"$WORK/err" || true
    [ -s "$WORK/err" ] || rm -f "$RAW/${f%.txt}.err"
    BO_FP=$fp
    BO_LINE=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' \
        "$R_GROUP" "$R_PL" "$R_IOT" "$R_C" "$R_KA" "$R_P" "$R_D" "$R_T" "$srv" \
        "$R_ROUND" "$R_N" "$f" "$fp" "$us")
    printf '  %-15s %-8s t%s c%-4s P%-2s d%-4s %-10s %-6s r%s %10s rps  others %s%% CPU\n' \
        "$R_GROUP" "$R_PL" "$R_IOT" "$R_C" "$R_P" "$R_D" "$R_T" "$srv" "$R_ROUND" \
        "$(tr '\r' '\n' <"$RAW/$f" | awk '/throughput summary:/ { print $3 }' | head -1)" "$fp" >&2
}

# run_pair: the current row (R_* globals) against strata, then redis.  The
# pair is re-run when other processes took more than BUSY_PCT% of the
# machine in either run; the quietest attempt is the one reported, all stay
# in raw/.
run_pair() {
    local best=101 try try_start la fa lb fb worst keep=
    for try in $(seq 0 "$MAX_RETRIES"); do
        try_start=$(date +%s)
        bench_one strata "$sport" "$try"; la=$BO_LINE; fa=$BO_FP
        bench_one redis "$rport" "$try"; lb=$BO_LINE; fb=$BO_FP
        [ "$try" = 0 ] || RETRY_SPENT=$((RETRY_SPENT + $(date +%s) - try_start))
        worst=$(( fa > fb ? fa : fb ))
        if [ "$worst" -lt "$best" ]; then
            best=$worst; keep=$(printf '%s\t%s\n%s\t%s' "$la" "$try" "$lb" "$try")
        fi
        [ "$worst" -le "$BUSY_PCT" ] && break
        [ "$try" -lt "$MAX_RETRIES" ] || break
        if [ "$RETRY_BUDGET" -gt 0 ] && [ "$RETRY_SPENT" -ge "$RETRY_BUDGET" ]; then
            break   # --quick: stay within its time budget
        fi
        RETRIES=$((RETRIES + 1))
        echo "  (others took ${fa}%/${fb}% of the CPU: re-running the pair)" >&2
    done
    echo "$keep" >>"$RAW/manifest.tsv"
}

# placement_args PLACEMENT -> PL_IOT PL_PIN: pinned = one core each,
# io-threads 1; unpinned = no taskset, io-threads 2.
placement_args() {
    if [ "$1" = pinned ]; then PL_IOT=1; PL_PIN=1; else PL_IOT=2; PL_PIN=0; fi
}

# ---------------------------------------------------------------- pairs
# One strata/redis pair runs at a time (4 KB rows hold ~5 GB per server).
# ensure_pair IOTHREADS PINNED VSIZE: reuse the running pair when it has the
# same flags, else replace it; then make sure its keyspace is preloaded at
# VSIZE (0: any).  Groups run placement by placement so consecutive groups
# can share one pair and one preload.
PAIR_CFG=; PAIR_D=0
ensure_pair() {
    if [ "$PAIR_CFG" != "$1:$2" ]; then
        [ -z "$PAIR_CFG" ] || stop_pair
        start_pair "$1" "$2"; PAIR_CFG="$1:$2"; PAIR_D=0
    fi
    if [ "$3" != 0 ] && [ "$PAIR_D" != "$3" ]; then
        preload_pair "$3"; PAIR_D=$3
    fi
}
drop_pair() { [ -z "$PAIR_CFG" ] || stop_pair; PAIR_CFG=; PAIR_D=0; }

# ---------------------------------------------------------------- groups
# Placement groups take the placement (pinned|unpinned) as their argument.

# throughput: every test x pipeline x value size, 50 clients.  Value sizes
# are the outer loop so each size is preloaded once.
group_throughput() {
    local pl=$1 d r p t first=1
    placement_args "$pl"
    R_GROUP=throughput; R_C=$CLIENTS; R_KA=1; R_PL=$pl; R_IOT=$PL_IOT
    for d in $DSIZES; do
        ensure_pair "$PL_IOT" "$PL_PIN" "$d"
        for r in $(seq 1 "$ROUNDS"); do
            for p in $PIPELINES; do
                for t in $TESTS; do
                    if [ $first = 0 ] && [[ " $DSIZE_TESTS " != *" $t "* ]]; then
                        continue
                    fi
                    R_P=$p; R_D=$d; R_T=$t; R_ROUND=$r; R_N=$(nreq "$p" "$t" "$d")
                    run_pair
                done
            done
        done
        first=0
    done
}

# storm: connect, one PING, close (redis-benchmark -k 0).
group_storm() {
    local pl=$1 r
    placement_args "$pl"
    R_GROUP=storm; R_C=$CLIENTS; R_KA=0; R_P=1; R_D=16; R_T=ping_mbulk
    R_PL=$pl; R_IOT=$PL_IOT
    ensure_pair "$PL_IOT" "$PL_PIN" 0
    for r in $(seq 1 "$ROUNDS"); do
        R_ROUND=$r
        R_N=$(awk -v n="$N_STORM" -v s="$SCALE" 'BEGIN { n = int(n * s); print (n < 1000 ? 1000 : n) }')
        run_pair
    done
}

# scaling: GET -P 1 vs number of clients (CLIENT_PLACEMENTS), then, in the
# unpinned placement, GET vs io-threads 1..IOT_MAX (the placement's own
# io-threads first, so its pair is reused; fresh servers for the others).
group_scaling() {
    local pl=$1 k r p c iots
    placement_args "$pl"
    R_KA=1; R_D=16; R_T=get; R_PL=$pl
    if [[ " $CLIENT_PLACEMENTS " == *" $pl "* ]]; then
        R_GROUP=scaling-clients; R_P=1; R_IOT=$PL_IOT
        ensure_pair "$PL_IOT" "$PL_PIN" 16
        for r in $(seq 1 "$ROUNDS"); do
            for c in $SCALE_CLIENTS; do
                R_C=$c; R_ROUND=$r
                # One client does ~1/3 of the requests/s of 50.
                case $c in
                    1) R_N=$(( $(nreq 1 get 16) / 4 )) ;;
                    10) R_N=$(( $(nreq 1 get 16) / 2 )) ;;
                    *) R_N=$(nreq 1 get 16) ;;
                esac
                run_pair
            done
        done
    fi
    [ "$pl" = unpinned ] || return 0
    R_GROUP=scaling-iot; R_C=$CLIENTS
    iots="$PL_IOT $(seq 1 "$IOT_MAX" | grep -vx "$PL_IOT" | tr '\n' ' ')"
    for k in $iots; do
        R_IOT=$k
        ensure_pair "$k" 0 16
        for r in $(seq 1 "$ROUNDS"); do
            for p in $SCALE_PIPELINES; do
                R_P=$p; R_ROUND=$r; R_N=$(nreq "$p" get 16)
                run_pair
            done
        done
    done
}

# ---------------------------------------------------------------- storage
# storage: the storage engine against redis-server's AOF and maxmemory, in
# three parts, all pinned (server on SERVER_CPU, clients on BENCH_CPU,
# io-threads 1), each server's files in its own scratch directory under
# $WORK (one filesystem):
#   aof      SET with appendfsync always / everysec (strata: data-dir +
#            appendonly yes; redis: appendonly yes), -P 1/16, -d 16/256
#   spill    ST_SPILL_KEYS 256-byte values = 10x maxmemory ST_MAXMEM:
#            strata (policy spill), redis allkeys-lru and redis noeviction;
#            GET uniform over every key and over a hot 10% (keys 0..N/10-1,
#            the first loaded), throughput, p99 and hit rate
#   restart  ST_RESTART_KEYS keys, persisted, SHUTDOWN, start again: time to
#            the first PONG and to loading:0
# bench.py's report has a section for each; storage-*.tsv hold what
# redis-benchmark does not print.

# start_pair_args "STRATA ARGS" "REDIS ARGS": a pinned, io-threads 1 pair
# with extra flags (word-split) -> spid_cur sport rpid_cur rport
start_pair_args() {
    # shellcheck disable=SC2086
    start_server strata "$STRATA" 1 1 $1; spid_cur=$SRV_PID; sport=$SRV_PORT
    # shellcheck disable=SC2086
    start_server redis "$REDIS" 1 1 $2; rpid_cur=$SRV_PID; rport=$SRV_PORT
}

# load_keys PORT TAG N VSIZE: SET key:%012d for 0..N-1 through redis-cli
# --pipe; appends "TAG n secs errors dbsize used rss" to storage-load.tsv.
load_keys() {
    local port=$1 tag=$2 n=$3 vs=$4 t0 t1 out err db
    echo "$PY bench/bench.py gen-resp --n $n --vsize $vs --out - | $RCLI -h 127.0.0.1 -p $port --pipe" >>"$CMDS"
    t0=$(date +%s.%N)
    # --pipe prints each error reply; keep a few lines and the summary.
    "$PY" "$BENCHPY" gen-resp --n "$n" --vsize "$vs" --out - |
        cli "$port" --pipe 2>&1 | awk 'NR <= 5 || /errors:/' >"$RAW/storage-load-$tag.txt" || true
    t1=$(date +%s.%N)
    err=$(sed -n 's/.*errors: \([0-9]*\),.*/\1/p' "$RAW/storage-load-$tag.txt" | tail -1)
    sleep 1
    db=$(cli "$port" dbsize 2>/dev/null || echo '?')
    cli "$port" info >"$RAW/storage-load-$tag-info.txt" 2>&1 || true
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tag" "$n" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" "${err:-?}" "$db" \
        "$("$PY" "$BENCHPY" info-field "$RAW/storage-load-$tag-info.txt" used_memory || true)" \
        "$("$PY" "$BENCHPY" info-field "$RAW/storage-load-$tag-info.txt" used_memory_rss || true)" \
        >>"$RAW/storage-load.tsv"
    echo "bench: storage load $tag: $n keys, errors ${err:-?}, dbsize $db" >&2
}

storage_aof() {
    local fs d p r
    R_GROUP=; R_PL=pinned; R_IOT=1; R_C=$CLIENTS; R_KA=1; R_T=set
    for fs in always everysec; do
        R_GROUP=storage-aof-$fs
        rm -rf "$WORK/aof-strata" "$WORK/aof-redis"
        mkdir -p "$WORK/aof-strata" "$WORK/aof-redis"
        start_pair_args "--data-dir $WORK/aof-strata --appendonly yes --appendfsync $fs" \
            "--dir $WORK/aof-redis --appendonly yes --appendfsync $fs"
        cli "$sport" config get appendfsync >"$RAW/$R_GROUP-strata-config.txt" 2>&1 || true
        cli "$rport" config get appendfsync >"$RAW/$R_GROUP-redis-config.txt" 2>&1 || true
        for r in $(seq 1 "$ROUNDS"); do
            for d in $ST_DSIZES; do
                for p in $PIPELINES; do
                    R_P=$p; R_D=$d; R_ROUND=$r
                    if [ "$fs" = always ]; then
                        if [ "$p" = 1 ]; then R_N=$ST_N_ALWAYS_P1; else R_N=$ST_N_ALWAYS_P16; fi
                    else
                        R_N=$(nreq "$p" set "$d")
                    fi
                    run_pair
                done
            done
        done
        du -sk "$WORK/aof-strata" "$WORK/aof-redis" >"$RAW/$R_GROUP-du.txt" 2>&1 || true
        stop_pair
    done
}

storage_spill() {
    local nk hot r a npid nport line
    nk=$ST_SPILL_KEYS; hot=$((ST_SPILL_KEYS / 10))
    rm -rf "$WORK/spill-strata" "$WORK/spill-redis" "$WORK/spill-redis-ne"
    mkdir -p "$WORK/spill-strata" "$WORK/spill-redis" "$WORK/spill-redis-ne"
    # Persistence off for redis (a cache); strata needs its data dir to
    # spill, without the WAL (appendonly no): the spill path, not the log.
    start_pair_args "--data-dir $WORK/spill-strata --maxmemory $ST_MAXMEM --maxmemory-policy spill" \
        "--dir $WORK/spill-redis --maxmemory $ST_MAXMEM --maxmemory-policy allkeys-lru"
    start_server redis "$REDIS" 1 1 --dir "$WORK/spill-redis-ne" --maxmemory "$ST_MAXMEM" \
        --maxmemory-policy noeviction
    npid=$SRV_PID; nport=$SRV_PORT
    load_keys "$sport" spill-strata "$nk" 256
    load_keys "$rport" spill-redis-lru "$nk" 256
    load_keys "$nport" spill-redis-noeviction "$nk" 256
    R_PL=pinned; R_IOT=1; R_C=$CLIENTS; R_KA=1; R_D=256; R_T=get; R_STATS=1
    R_CMD="GET key:__rand_int__"
    for a in uniform hot; do
        if [ "$a" = hot ]; then
            R_R=$hot
            # Warm-up, not reported: the hot set was loaded first, so it
            # starts on disk (strata) or evicted (redis allkeys-lru).
            for port in "$sport" "$rport" "$nport"; do
                logcmd taskset -c "$BENCH_CPU" "$RBENCH" -h 127.0.0.1 -p "$port" -c "$CLIENTS" \
                    -n "$ST_N_WARM" -r "$hot" -P 16 GET 'key:__rand_int__'
                timeout "$BENCH_TIMEOUT" taskset -c "$BENCH_CPU" "$RBENCH" -h 127.0.0.1 -p "$port" \
                    -c "$CLIENTS" -n "$ST_N_WARM" -r "$hot" -P 16 -q GET 'key:__rand_int__' \
                    >"$RAW/storage-warmup-$port.txt" 2>&1 || true
            done
        else
            R_R=$nk
        fi
        for r in $(seq 1 "$ROUNDS"); do
            R_ROUND=$r
            for p in $ST_GET_PIPELINES; do
                R_P=$p; R_N=$ST_N_GET; [ "$p" = 16 ] && R_N=$((ST_N_GET * 4))
                R_GROUP=storage-spill-$a
                run_pair
                # redis noeviction: the same row, as a third column.
                R_GROUP=storage-noevict-$a
                rpid_save=$rpid_cur; rport_save=$rport; rpid_cur=$npid
                bench_one redis "$nport" 0; line=$BO_LINE
                printf '%s\t0\n' "$line" >>"$RAW/manifest.tsv"
                rpid_cur=$rpid_save; rport=$rport_save
            done
        done
    done
    for port in "$sport" "$rport" "$nport"; do
        cli "$port" info >"$RAW/storage-spill-end-$port.txt" 2>&1 || true
    done
    printf 'strata\t%s\nredis-lru\t%s\nredis-noeviction\t%s\n' "$sport" "$rport" "$nport" \
        >"$RAW/storage-spill-ports.tsv"
    R_CMD=; R_R=; R_STATS=0
    stop_server "$npid"
    stop_pair
}

# wait_shutdown PID: SHUTDOWN was sent; wait for the process to exit.
wait_exit() {
    local pid=$1 i
    for i in $(seq 1 6000); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    echo "run.sh: pid $pid still running 600 s after SHUTDOWN" >&2
}

# shutdown_server NAME PID PORT -> SD_S seconds from SHUTDOWN to exit
shutdown_server() {
    local name=$1 pid=$2 port=$3 t0 t1 keep=() p
    t0=$(date +%s.%N)
    logcmd "$RCLI" -h 127.0.0.1 -p "$port" shutdown
    cli "$port" shutdown >/dev/null 2>&1 || true
    wait_exit "$pid"
    t1=$(date +%s.%N)
    for p in "${SERVER_PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    SERVER_PIDS=("${keep[@]+"${keep[@]}"}")
    SD_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
}

storage_restart() {
    local n=$ST_RESTART_KEYS r srv pid port t0 t1 prep sd out db
    local sdir="$WORK/restart-strata" rdir="$WORK/restart-redis"
    rm -rf "$sdir" "$rdir"; mkdir -p "$sdir" "$rdir"
    printf 'server\tround\tkeys\tprep_s\tshutdown_s\tpong_s\tready_s\tdbsize\n' >"$RAW/storage-restart.tsv"
    # Same persistence on both: appendonly yes, appendfsync everysec.
    start_pair_args "--data-dir $sdir --appendonly yes --appendfsync everysec" \
        "--dir $rdir --appendonly yes --appendfsync everysec"
    load_keys "$sport" restart-strata "$n" 16
    load_keys "$rport" restart-redis "$n" 16
    # Before the first SHUTDOWN each server is brought to its compact,
    # fully persisted form: strata's SHUTDOWN flushes every dirty entry to
    # SSTables (and empties the WAL); redis gets BGREWRITEAOF first (its AOF
    # becomes an RDB preamble, the aof-use-rdb-preamble default, with an
    # empty tail) and then SHUTDOWN (fsyncs the AOF).  prep_s = the rewrite.
    # An automatic rewrite may be running (the load grew the AOF): redis
    # then answers "already in progress" and a rewrite that started before
    # the last keys would leave them in the AOF tail, to be replayed at
    # start.  So retry until our own rewrite started (or is scheduled).
    t0=$(date +%s.%N)
    logcmd "$RCLI" -h 127.0.0.1 -p "$rport" bgrewriteaof
    for r in $(seq 1 6000); do
        out=$(cli "$rport" bgrewriteaof 2>&1 || true)
        case $out in *started*|*scheduled*) break ;; esac
        sleep 0.1
    done
    echo "bench: storage restart redis BGREWRITEAOF: $out" >&2
    sleep 0.2
    for r in $(seq 1 6000); do
        out=$(cli "$rport" info persistence 2>/dev/null | tr -d '\r')
        echo "$out" | grep -q '^aof_rewrite_in_progress:0' &&
            echo "$out" | grep -q '^aof_rewrite_scheduled:0' && break
        sleep 0.1
    done
    t1=$(date +%s.%N)
    prep=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    for r in $(seq 1 "$ST_RESTART_ROUNDS"); do
        for srv in strata redis; do
            if [ "$srv" = strata ]; then pid=$spid_cur; port=$sport; else pid=$rpid_cur; port=$rport; fi
            shutdown_server "$srv" "$pid" "$port"; sd=$SD_S
            echo "bench: storage restart $srv r$r: SHUTDOWN took $sd s" >&2
            # Start again on the same port, same flags; time from the exec
            # to the first PONG and to INFO loading:0.
            t0=$(date +%s.%N)
            if [ "$srv" = strata ]; then
                logcmd taskset -c "$SERVER_CPU" "$STRATA" --port "$port" --save '' --appendonly no --io-threads 1 \
                    --data-dir "$sdir" --appendonly yes --appendfsync everysec
                (cd "$WORK" && exec taskset -c "$SERVER_CPU" "$STRATA" --port "$port" --save '' \
                    --appendonly no --io-threads 1 --data-dir "$sdir" --appendonly yes \
                    --appendfsync everysec) >>"$WORK/strata-$port.log" 2>&1 &
            else
                logcmd taskset -c "$SERVER_CPU" "$REDIS" --port "$port" --save '' --appendonly no --io-threads 1 \
                    --dir "$rdir" --appendonly yes --appendfsync everysec
                (cd "$WORK" && exec taskset -c "$SERVER_CPU" "$REDIS" --port "$port" --save '' \
                    --appendonly no --io-threads 1 --dir "$rdir" --appendonly yes \
                    --appendfsync everysec) >>"$WORK/redis-$port.log" 2>&1 &
            fi
            pid=$!; SERVER_PIDS+=("$pid")
            out=$("$PY" "$BENCHPY" wait-ready --port "$port" --t0 "$t0" --timeout 900) || out="? ?"
            db=$(cli "$port" dbsize 2>/dev/null || echo '?')
            cli "$port" info >"$RAW/storage-restart-$srv-r$r-info.txt" 2>&1 || true
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$srv" "$r" "$n" \
                "$([ "$r" = 1 ] && [ "$srv" = redis ] && echo "$prep" || echo 0)" "$sd" \
                "$(echo "$out" | tr ' ' '\t')" "$db" >>"$RAW/storage-restart.tsv"
            echo "bench: storage restart $srv r$r: pong/ready $out s, dbsize $db" >&2
            if [ "$srv" = strata ]; then spid_cur=$pid; else rpid_cur=$pid; fi
        done
    done
    stop_pair
    rm -rf "$sdir" "$rdir"
}

group_storage() {
    printf 'tag\tkeys\tsecs\terrors\tdbsize\tused_memory\trss\n' >"$RAW/storage-load.tsv"
    meta storage_maxmemory "$ST_MAXMEM"
    meta storage_spill_keys "$ST_SPILL_KEYS"
    meta storage_restart_keys "$ST_RESTART_KEYS"
    meta storage_warm "$ST_N_WARM"
    meta storage_scratch_fs "$(df -PT "$WORK" | awk 'NR == 2 { print $2 " on " $1 " (" $7 ")" }')"
    local part
    for part in $ST_PARTS; do
        echo "bench: storage $part" >&2
        meta "storage_${part}_start" "$(( $(date +%s) - START_TS ))"
        "storage_$part"
    done
}

# Groups that start their own servers and run once, not per placement.
ROW_GROUPS_ONCE="memory storage"
for g in $GROUPS_SEL; do
    declare -F "group_$g" >/dev/null || die "unknown row group '$g' (known: $ROW_GROUPS_ALL)"
done
meta groups "$GROUPS_SEL"
meta placements "$PLACEMENTS"
meta iot_max "$IOT_MAX"
for g in $GROUPS_SEL; do
    [[ " $NO_GROUPS " == *" $g "* ]] && continue
    [[ " $ROW_GROUPS_ONCE " == *" $g "* ]] || continue
    echo "bench: group $g" >&2
    meta "group_${g}_start" "$(( $(date +%s) - START_TS ))"
    "group_$g"
done
for pl in $PLACEMENTS; do
    for g in $GROUPS_SEL; do
        [[ " $NO_GROUPS " == *" $g "* ]] && continue
        [[ " $ROW_GROUPS_ONCE " == *" $g "* ]] && continue
        echo "bench: group $g, $pl" >&2
        meta "group_${g}_${pl}_start" "$(( $(date +%s) - START_TS ))"
        "group_$g" "$pl"
    done
    drop_pair
done

if [ "$(basename "$(readlink -f "$STRATA")")" = "$(basename "$(readlink -f "$REDIS")")" ]; then
    SV="$SV (A/A validation run: the strata column is redis-server too)"
fi
meta strata_version "$SV"
meta load_end "$(loadavg)"
foreign_since "$RUN_B" "$RUN_T" "$RUN_O"
meta foreign_pct "$FOREIGN"
meta retries "$RETRIES"
meta elapsed_s "$(( $(date +%s) - START_TS ))"

# ---------------------------------------------------------------- report
"$PY" "$BENCHPY" report --raw "$RAW" --out "$RESULTS/$STAMP.md"
cp "$RESULTS/$STAMP.md" "$RESULTS/latest.md"
echo "bench: wrote $RESULTS/$STAMP.md (and latest.md) in $(( $(date +%s) - START_TS )) s" >&2
