#!/usr/bin/env bash
# Where strata's CPU goes on one benchmark row: perf on the server process.
#
# Owns one strata-server (free loopback port, scratch cwd, stopped by pid on
# any exit) and one redis-benchmark.  Starts strata placed like the row in
# bench/run.sh (pinned: taskset -c SERVER_CPU, io-threads 1, benchmark on
# BENCH_CPU; unpinned: io-threads 2, benchmark --threads 2), preloads the
# 1M keys like the suite, runs the row's load and, while it runs, samples
# the server with `perf record` (cpu-clock: this VM has no hardware
# counters) and counts its CPU time with `perf stat`.  Requests in the
# window come from INFO stats total_commands_processed, so the report gives
# CPU ns per request, split by symbol and by area.
#
# Usage: bench/profile.sh TEST PIPELINE [DSIZE] [PLACEMENT] [SECS]
#        e.g. bench/profile.sh get 16     bench/profile.sh set 1 16 pinned 8
# Env:   STRATA_SERVER, REDIS_BENCHMARK, REDIS_CLI, SERVER_CPU (1),
#        BENCH_CPU (0), KEYSPACE (1000000: -r and the preload),
#        PERF_CALLGRAPH=1 adds a dwarf call-graph report.
# Output: bench/results/profile/<stamp>-<row>/ (summary.md, report-*.txt);
# perf.data stays in the scratch dir and is deleted.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PY=${PYTHON:-python3}
STRATA=${STRATA_SERVER:-$ROOT/build/strata-server}
RBENCH=${REDIS_BENCHMARK:-$(command -v redis-benchmark)}
RCLI=${REDIS_CLI:-$(command -v redis-cli)}
SERVER_CPU=${SERVER_CPU:-1}
KEYSPACE=${KEYSPACE:-1000000}
BENCH_CPU=${BENCH_CPU:-0}

[ $# -ge 2 ] || { sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2; exit 2; }
TEST=$1 P=$2 D=${3:-16} PL=${4:-pinned} SECS=${5:-6}
command -v perf >/dev/null || { echo "profile.sh: perf not installed" >&2; exit 1; }
[ -x "$STRATA" ] || { echo "profile.sh: no $STRATA (run make)" >&2; exit 1; }

STAMP=$(date +%Y-%m-%d-%H%M%S)
OUT="$HERE/results/profile/$STAMP-$TEST-P$P-d$D-$PL"
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strata-profile.XXXXXX")
SPID= BPID=
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in $BPID $SPID; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port=$("$PY" "$HERE/bench.py" freeport)
if [ "$PL" = pinned ]; then
    scmd=(taskset -c "$SERVER_CPU" "$STRATA" --io-threads 1)
    bcmd=(taskset -c "$BENCH_CPU" "$RBENCH")
else
    scmd=("$STRATA" --io-threads 2)
    bcmd=("$RBENCH" --threads 2)
fi
scmd+=(--port "$port" --save '' --appendonly no)
(cd "$WORK" && exec "${scmd[@]}") >"$WORK/server.log" 2>&1 &
SPID=$!
for _ in $(seq 1 100); do
    [ "$("$RCLI" -p "$port" ping 2>/dev/null)" = PONG ] && break
    kill -0 "$SPID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.1
done
echo "profile: strata pid $SPID port $port ($PL); preloading $KEYSPACE keys of $D bytes" >&2
"$PY" "$HERE/bench.py" gen-resp --n "$KEYSPACE" --vsize "$D" --out - |
    "$RCLI" -p "$port" --pipe >/dev/null

# Enough requests to outlast warm-up + the window; stopped afterwards.
bcmd+=(-h 127.0.0.1 -p "$port" -c 50 -n 100000000 -r "$KEYSPACE" -d "$D" -P "$P" -t "$TEST" -q)
"${bcmd[@]}" >"$WORK/bench.out" 2>&1 &
BPID=$!
sleep 1.5

cmds() { "$RCLI" -p "$port" info stats | awk -F: '/^total_commands_processed/ { print $2 + 0 }'; }
c0=$(cmds); t0=$(date +%s.%N)
perf stat -e task-clock -x, -o "$WORK/stat.csv" -p "$SPID" -- \
    perf record -e cpu-clock -F 4999 -p "$SPID" -o "$WORK/perf.data" -- sleep "$SECS" \
    2>"$WORK/record.err"
c1=$(cmds); t1=$(date +%s.%N)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
if [ "${PERF_CALLGRAPH:-0}" = 1 ]; then
    perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$SPID" \
        -o "$WORK/perf-cg.data" -- sleep 3 2>>"$WORK/record.err"
fi
kill -TERM "$BPID" 2>/dev/null || true; wait "$BPID" 2>/dev/null || true; BPID=

# perf stat inside the recorded window counts the server's CPU time, with
# the recorder's own cost excluded (it is another process).
task_ms=$(awk -F, '/task-clock/ { print $1; exit }' "$WORK/stat.csv")
reqs=$((c1 - c0))
perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,symbol \
    --percent-limit 0.3 2>/dev/null >"$OUT/report-symbols.txt"
perf report -i "$WORK/perf.data" --stdio --no-children --sort dso \
    2>/dev/null >"$OUT/report-dso.txt"
if [ -f "$WORK/perf-cg.data" ]; then
    perf report -i "$WORK/perf-cg.data" --stdio --children --sort symbol \
        --percent-limit 2 2>/dev/null | head -400 >"$OUT/report-callgraph.txt"
fi
"$PY" - "$OUT" "$TEST" "$P" "$D" "$PL" "$wall" "$task_ms" "$reqs" "${bcmd[*]}" "${scmd[*]}" "$SECS" "${MALLOC_CONF:-}" <<'EOF'
import re, sys
out, test, p, d, pl, secs, task_ms, reqs, bcmd, scmd, win, mconf = sys.argv[1:]
reqs = int(reqs); task_ms = float(task_ms or 0)
ns_req = task_ms * 1e6 / reqs if reqs else 0
# Areas: a symbol's share of the samples, grouped so the per-request cost
# reads as "kernel TCP / syscalls / scheduler" vs strata's own work.
areas = [
    ("kernel: TCP/IP, loopback, socket", r"tcp|inet|ip_|__ip|skb|sock|lo_xmit|net_|napi|__dev_|dev_|netif|sk_|__sys_sendto|__sys_recvfrom|sendmsg|recvmsg|copy_page|copyout|copyin|_copy_|csum|rcv|xmit|loopback"),
    ("kernel: epoll, syscall entry/exit, scheduler, irq", r"epoll|ep_|entry_|syscall|do_syscall|__x64|_raw_spin|schedule|finish_task|irq|rcu|__schedule|pick_|enqueue|dequeue|update_|hrtimer|ktime|fput|fget|fdget|__fsnotify|vfs_|ksys_|rw_verify|security_|apparmor|native_|clear_bhb|srso|ret_from|exit_to_user"),
    ("strata: parse (RESP reader)", r"resp|parse|proto|read_query|process_input|on_read|buf_"),
    ("strata: keyspace (hash, lookup, insert, shard lock)", r"keyspace|ks_|shard|find_slot|dict|hash|xxh|XXH|lookup|entry_|slot"),
    ("strata: command dispatch and reply", r"command|cmd_|reply|add_reply|client|call|write|flush|out_|obuf"),
    ("allocator (jemalloc/libc malloc)", r"je_|jemalloc|malloc|free|calloc|realloc|arena|tcache|extent|sdallocx|mallocx|rallocx"),
    ("libc (memcpy, string, pthread)", r"mem|str|pthread|__libc|lll_"),
    ("libevent", r"event_|evmap|evthread|epoll_dispatch|libevent"),
]
rows = []
for line in open(out + "/report-symbols.txt", errors="replace"):
    m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[([.k])\]\s+(.+)$", line)
    if m:
        rows.append((float(m.group(1)), m.group(2), m.group(3),
                     re.sub(r"(\s+-)+$", "", m.group(4).strip())))
def area(dso, kind, sym):
    if kind == "k" or dso.startswith("[kernel"):
        for name, rx in areas[:2]:
            if re.search(rx, sym):
                return name
        return "kernel: other"
    if "libevent" in dso:
        return "libevent"
    if "jemalloc" in dso:
        return "allocator (jemalloc/libc malloc)"
    if "strata" in dso:
        for name, rx in areas[2:5]:
            if re.search(rx, sym, re.I):
                return name
        return "strata: other"
    for name, rx in areas[5:]:
        if re.search(rx, sym):
            return name
    return "other: " + dso
byarea = {}
for pct, dso, kind, sym in rows:
    a = area(dso, kind, sym)
    byarea[a] = byarea.get(a, 0) + pct
L = ["# strata profile: %s -P %s -d %s, %s" % (test, p, d, pl), "",
     "- server: `%s`%s" % (scmd, " with MALLOC_CONF=%s" % mconf if mconf else ""), "- load: `%s` (stopped after the window)" % bcmd,
     "- window: %s s of `perf record -e cpu-clock -F 4999` on the server pid; "
     "CPU time from `perf stat -e task-clock` around it (%s s wall, with "
     "perf's start and stop)" % (win, secs),
     "- requests in the window (INFO total_commands_processed delta): %d "
     "(%.0f/s)" % (reqs, reqs / float(secs)),
     "- server CPU: %.0f ms = **%.0f ns per request** (all threads; %.0f%% "
     "of one core)" % (task_ms, ns_req, task_ms / float(secs) / 10), "",
     "## By area (symbols >= 0.3%% of samples; the rest is in the tail)", "",
     "| area | share of samples | ns per request |", "|---|---:|---:|"]
for a, pct in sorted(byarea.items(), key=lambda x: -x[1]):
    L.append("| %s | %.1f%% | %.0f |" % (a, pct, pct * ns_req / 100))
tail = 100 - sum(byarea.values())
L.append("| (symbols below 0.3%%) | %.1f%% | %.0f |" % (tail, tail * ns_req / 100))
L += ["", "## Top symbols", "", "| share | ns/req | dso | symbol |", "|---:|---:|---|---|"]
for pct, dso, kind, sym in rows[:30]:
    L.append("| %.1f%% | %.0f | %s | `%s` |" % (pct, pct * ns_req / 100, dso, sym))
open(out + "/summary.md", "w").write("\n".join(L) + "\n")
print("\n".join(L))
EOF
echo "profile: wrote $OUT" >&2
