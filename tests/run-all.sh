#!/usr/bin/env bash
# tests/run-all.sh: run every test suite and add up the results.
#
# Suites, in order: each unit test binary $BUILD/tests/test_*, then the
# integration binary $BUILD/tests/integration, then redis-compat/run.sh if it
# exists and is executable, then tests/clients/run.sh (real clients against
# redis-server and strata), then tests/docs-check.sh (docs/commands.md is what
# the generator makes). Every suite prints "PASS name" / "FAIL name:
# reason" lines and a last line "N passed, N failed". This script passes
# their output through (a suite's own summary line is shown as
# "# <suite>: N passed, N failed" so that only one summary line remains), and
# ends with exactly one line "N passed, N failed" for the whole run.
#
# A suite that crashes, times out, or exits non-zero after reporting no
# failure (a sanitizer's leak report at exit, say) counts as one more failure
# named after the suite; the exit status is non-zero if anything failed.
#
# Environment: BUILD (default build), STRATA_SLOW=1 (sanitizer builds:
# timeouts x3), UNIT_TIMEOUT / INT_TIMEOUT / COMPAT_TIMEOUT / CLIENTS_TIMEOUT
# in seconds.
set -u

cd "$(dirname "$0")/.." || exit 2
export BUILD="${BUILD:-build}"

mult=1
[ "${STRATA_SLOW:-0}" = 1 ] && mult=3
unit_timeout=$(( ${UNIT_TIMEOUT:-300} * mult ))
int_timeout=$(( ${INT_TIMEOUT:-600} * mult ))
compat_timeout=$(( ${COMPAT_TIMEOUT:-600} * mult ))
clients_timeout=$(( ${CLIENTS_TIMEOUT:-300} * mult ))

total_pass=0
total_fail=0
failed=()
tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-run-all.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

summary_re='^([0-9]+) passed, ([0-9]+) failed$'

fail_suite() {   # name reason
    echo "FAIL $1: $2"
    total_fail=$((total_fail + 1))
    failed+=("$1")
}

# run_suite name timeout command...
run_suite() {
    local name=$1 limit=$2
    shift 2
    local out="$tmp/out" start end rc
    echo "# ---- $name ($*)"
    start=$(date +%s)
    # stdout is parsed; stderr (diagnostics, sanitizer reports) goes
    # straight through.
    timeout --kill-after=10 "$limit" "$@" | while IFS= read -r line; do
        printf '%s\n' "$line" >>"$out"
        if [[ $line =~ $summary_re ]]; then
            printf '# %s: %s\n' "$name" "$line"
        else
            printf '%s\n' "$line"
        fi
    done
    rc=${PIPESTATUS[0]}
    end=$(date +%s)
    touch "$out"

    local pass fail summary
    summary=$(grep -E "$summary_re" "$out" | tail -n 1)
    if [ -n "$summary" ]; then
        pass=$(printf '%s' "$summary" | sed -E "s/$summary_re/\\1/")
        fail=$(printf '%s' "$summary" | sed -E "s/$summary_re/\\2/")
    else
        pass=$(grep -c '^PASS ' "$out")
        fail=$(grep -c '^FAIL ' "$out")
    fi
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
    if [ "$fail" -gt 0 ]; then
        while IFS= read -r l; do
            failed+=("${l%%:*}")
        done < <(grep '^FAIL ' "$out" | sed 's/^FAIL //')
    fi

    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && [ -z "$summary" ]; then
        fail_suite "$name" "timed out after ${limit}s"
    elif [ "$rc" -gt 128 ]; then
        local sig=$((rc - 128))
        fail_suite "$name" "crashed: signal $sig ($(kill -l "$sig" 2>/dev/null || echo '?'))"
    elif [ -z "$summary" ] && [ "$rc" -ne 0 ]; then
        fail_suite "$name" "exited with status $rc without a summary line"
    elif [ -z "$summary" ] && [ "$pass" -eq 0 ] && [ "$fail" -eq 0 ]; then
        # A binary that reports nothing but succeeds counts as one pass.
        echo "PASS $name"
        total_pass=$((total_pass + 1))
    elif [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        fail_suite "$name" "exited with status $rc after reporting no failures"
    fi
    echo "# $name: $((end - start))s"
    rm -f "$out"
}

shopt -s nullglob
for bin in "$BUILD"/tests/test_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    case "$bin" in *.d|*.o) continue ;; esac
    run_suite "$(basename "$bin")" "$unit_timeout" "$bin"
done

if [ -x "$BUILD/tests/integration" ]; then
    run_suite integration "$int_timeout" "$BUILD/tests/integration"
elif compgen -G "tests/integration/*.c" >/dev/null; then
    fail_suite integration "$BUILD/tests/integration is not built (make tests-build)"
fi

if [ -f redis-compat/run.sh ] && [ -x redis-compat/run.sh ]; then
    STRATA_SERVER="${STRATA_SERVER:-$BUILD/strata-server}" run_suite redis-compat "$compat_timeout" redis-compat/run.sh
fi

if [ -x tests/clients/run.sh ]; then
    STRATA_SERVER="${STRATA_SERVER:-$BUILD/strata-server}" run_suite clients "$clients_timeout" tests/clients/run.sh
fi

if [ -x tests/docs-check.sh ]; then
    run_suite docs-check 60 tests/docs-check.sh
fi

if [ "${#failed[@]}" -gt 0 ]; then
    echo "# failed: ${failed[*]}"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
