#!/usr/bin/env bash
# tests/docs-check.sh: the generated command documentation cannot drift.
#
#   docs-commands-md      docs/commands.md is exactly what
#                         tools/gen_commands_doc.py makes from
#                         tools/redis-7.0-commands.tsv and src/commands.def
#                         (fix: make docs, and commit the result)
#   docs-tsv-reference    the TSV is what the reference redis-server 7.0
#                         says (COMMAND DOCS), so nobody edits it by hand
#   docs-def-build        the served set read from src/commands.def is what
#                         the built strata-server answers in COMMAND DOCS
#
# Prints "PASS name" / "FAIL name: reason" and "N passed, N failed".
# Environment: BUILD (default build), STRATA_SERVER, REDIS_SERVER.
set -u
cd "$(dirname "$0")/.." || exit 2
BUILD="${BUILD:-build}"
STRATA_SERVER="${STRATA_SERVER:-$BUILD/strata-server}"
REDIS_SERVER="${REDIS_SERVER:-redis-server}"
PY=/usr/bin/python3
pass=0 fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-docs.XXXXXX") || exit 2
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT

ok()  { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

# 1. the committed document is the generator's output
if "$PY" tools/gen_commands_doc.py >"$tmp/commands.md" 2>"$tmp/err"; then
    if cmp -s "$tmp/commands.md" docs/commands.md; then
        ok docs-commands-md
    else
        bad docs-commands-md "docs/commands.md differs from tools/gen_commands_doc.py's output (run make docs): $(diff docs/commands.md "$tmp/commands.md" | head -n 6 | tr '\n' ' ')"
    fi
else
    bad docs-commands-md "tools/gen_commands_doc.py failed: $(tail -n 3 "$tmp/err" | tr '\n' ' ')"
fi

start() {  # binary -> pid, port
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$tmp/dir"
    "$1" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp/dir" >"$tmp/server.log" 2>&1 &
    pid=$!
    "$PY" - "$port" <<'EOF'
import socket, sys, time
end = time.time() + 30
while time.time() < end:
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
        s.sendall(b"PING\r\n")
        if s.recv(16).startswith(b"+PONG"):
            sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
EOF
}
stop() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""; }

# 2. the TSV is the reference's own list
if start "$REDIS_SERVER"; then
    if "$PY" tools/gen_commands_doc.py --fetch "$port" >"$tmp/ref.tsv" 2>"$tmp/err"; then
        # (the "# Redis 7.0.x" header line may name another patch release)
        if cmp -s <(grep -v '^#' "$tmp/ref.tsv") <(grep -v '^#' tools/redis-7.0-commands.tsv); then
            ok docs-tsv-reference
        else
            bad docs-tsv-reference "tools/redis-7.0-commands.tsv differs from $REDIS_SERVER's COMMAND DOCS: $(diff tools/redis-7.0-commands.tsv "$tmp/ref.tsv" | head -n 4 | tr '\n' ' ')"
        fi
    else
        bad docs-tsv-reference "--fetch failed: $(tail -n 2 "$tmp/err" | tr '\n' ' ')"
    fi
    stop
else
    bad docs-tsv-reference "$REDIS_SERVER did not start"; stop
fi

# 3. commands.def is what the build serves
if start "$STRATA_SERVER"; then
    "$PY" tools/gen_commands_doc.py --served | sort >"$tmp/def.txt"
    "$PY" - "$port" >"$tmp/build.txt" <<'EOF'
import sys
sys.path.insert(0, "tools")
from gen_commands import Conn
c = Conn(int(sys.argv[1]))
c.cmd("HELLO", "3")
names = []
for name, d in c.cmd("COMMAND", "DOCS").items():
    names.append(name)
    names += list(d.get("subcommands", {}))
print("\n".join(sorted(names)))
EOF
    if [ -s "$tmp/build.txt" ] && cmp -s "$tmp/def.txt" "$tmp/build.txt"; then
        ok docs-def-build
    else
        bad docs-def-build "src/commands.def and $STRATA_SERVER's COMMAND DOCS disagree (rebuild?): $(diff "$tmp/def.txt" "$tmp/build.txt" | head -n 4 | tr '\n' ' ')"
    fi
    stop
else
    bad docs-def-build "$STRATA_SERVER did not start"; stop
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
