#!/usr/bin/env bash
# tests/fuzz/run.sh [target...]: run each libFuzzer target of
# $BUILD/fuzz/ (default: all) for FUZZ_SECONDS (default 60) over a scratch
# copy of its seed corpus tests/fuzz/corpus/<target>/, so the committed seeds
# stay small; new inputs stay in $BUILD/fuzz/work/<target>/. A crash leaves
# its input in $BUILD/fuzz/crashes/<target>/ and fails the run: turn it into
# a file of tests/fuzz/regress/<target>/ (replayed by make test) and fix it.
# Prints per target the executions run and the coverage libFuzzer reached
# (its "cov:" edges and "ft:" features), the numbers docs/reliability.md
# records.
set -u
cd "$(dirname "$0")/../.." || exit 2
BUILD="${BUILD:-build-fuzz}"
secs="${FUZZ_SECONDS:-60}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for f in tests/fuzz/fuzz_*.c; do
        t=${f#tests/fuzz/fuzz_}
        targets+=("${t%.c}")
    done
fi
failed=0
for t in "${targets[@]}"; do
    bin="$BUILD/fuzz/fuzz_$t"
    [ -x "$bin" ] || { echo "FAIL fuzz_$t: $bin is not built"; failed=$((failed + 1)); continue; }
    work="$BUILD/fuzz/work/$t" crashes="$BUILD/fuzz/crashes/$t" log="$BUILD/fuzz/$t.log"
    mkdir -p "$work" "$crashes"
    dict=()
    [ -f "tests/fuzz/$t.dict" ] && dict=("-dict=tests/fuzz/$t.dict")
    # -max_len: room for pipelines and config files, small enough to stay
    # fast; -rss_limit_mb bounds a runaway allocation (which is a bug too).
    "$bin" "${dict[@]}" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="$crashes/" "$work" "tests/fuzz/corpus/$t" \
        >"$log" 2>&1
    rc=$?
    runs=$(grep -oE '^Done [0-9]+ runs' "$log" | tail -1 | grep -oE '[0-9]+')
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    if [ "$rc" -ne 0 ]; then
        echo "FAIL fuzz_$t: exit $rc, see $log and $crashes/"
        grep -E 'ERROR|invariant|SUMMARY' "$log" | head -5
        failed=$((failed + 1))
    else
        echo "PASS fuzz_$t: ${runs:-?} runs in ${secs}s, ${cov:-no coverage line}, corpus $(ls "$work" | wc -l) inputs"
    fi
done
echo "$(( ${#targets[@]} - failed )) passed, $failed failed"
[ "$failed" -eq 0 ]
