#!/usr/bin/python3
"""benchmark.py: strata under redis-benchmark 7.0 (Debian's redis-tools),
as a correctness check, not a measurement: small -n, and every run must
finish without an error reply.

redis-benchmark stops at the first error reply it gets, printing "Error from
server: <text>" and exiting 1. So:
  * the tests of its default list whose commands strata serves (PING_INLINE,
    PING_MBULK, SET, GET, INCR, MSET) must complete, plain and with -P 16,
    --threads 2, -r 100000, -d 4096 and --csv; INCR's counter must then hold
    exactly the number of requests sent (nothing lost, nothing doubled);
  * each data-type test (LPUSH, RPUSH, LPOP, RPOP, SADD, HSET, SPOP, ZADD,
    ZPOPMIN, LRANGE_*) runs on its own: it completes on a server that serves
    the command, and on one that does not it must stop at exactly the error
    Redis itself gives for an unknown command. That text is not written
    here: it is taken from a reference redis-server started with those
    commands renamed away (rename-command CMD ""), with the same arguments.

Run by tests/clients/run.sh; see common.py for the output contract.
"""
import json, os, re, socket, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, eq, main, raw_command  # noqa: E402
import common  # noqa: E402

BENCH = "redis-benchmark"
SERVED_TESTS = ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"]
SERVED_T = "ping,set,get,incr,mset"
# -t name -> the commands it sends (the first unknown one stops it)
DATA_TESTS = {
    "lpush": ["lpush"], "rpush": ["rpush"], "lpop": ["lpop"], "rpop": ["rpop"],
    "sadd": ["sadd"], "hset": ["hset"], "spop": ["spop"], "zadd": ["zadd"],
    "zpopmin": ["zpopmin"], "lrange_100": ["lpush", "lrange"], "lrange_300": ["lpush", "lrange"],
    "lrange_500": ["lpush", "lrange"], "lrange_600": ["lpush", "lrange"],
}
RESULT = re.compile(r"^\s*(\S.*?): ([\d.]+) requests per second")
ERROR = re.compile(r"Error from server: (.*)")


def bench(*args, port=None, timeout=60):
    p = subprocess.run([BENCH, "-h", "127.0.0.1", "-p", str(port or common.ARGS.port)] + list(args),
                       capture_output=True, timeout=timeout)
    out = (p.stdout + p.stderr).decode(errors="replace")
    lines = [l for l in re.split(r"[\r\n]", out) if l.strip()]   # trailing spaces kept: errors end in one
    return p.returncode, lines


def quiet_results(lines):
    return {m[1]: float(m[2]) for m in map(RESULT.match, lines) if m}


def errors(lines):
    return [m[1] for m in map(ERROR.search, lines) if m]


def run_served(*opts, n=2000):
    """The served tests with opts; returns {test: rps}; fails on any error."""
    rc, lines = bench("-n", str(n), "-t", SERVED_T, "-q", *opts)
    errs = errors(lines)
    eq(errs, [], "error replies (%s)" % " ".join(opts))
    eq(rc, 0, "exit status (%s)" % " ".join(opts))
    res = quiet_results(lines)
    eq(sorted(res), sorted(SERVED_TESTS), "tests completed (%s)" % " ".join(opts))
    for t, rps in res.items():
        assert rps > 0, "%s: %s requests per second" % (t, rps)
    return res


def get(key):
    s = socket.create_connection(("127.0.0.1", common.ARGS.port), timeout=5)
    try:
        k = key.encode()
        s.sendall(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k))
        buf = b""
        while b"\r\n" not in buf:
            buf += s.recv(65536)
        head, rest = buf.split(b"\r\n", 1)
        if head == b"$-1":
            return None
        n = int(head[1:])
        while len(rest) < n + 2:
            rest += s.recv(65536)
        return rest[:n]
    finally:
        s.close()


def flushall():
    eq(raw_command("FLUSHALL"), b"+OK", "FLUSHALL")


@check("served-plain")
def _():
    flushall()
    run_served()
    eq(get("counter:__rand_int__"), b"2000", "INCR counter after 2000 INCR requests")
    eq(len(get("key:__rand_int__")), 3, "SET value size (default -d 3)")


@check("served-pipeline-16")
def _():
    flushall()
    run_served("-P", "16", n=20000)
    eq(get("counter:__rand_int__"), b"20000", "INCR counter after 20000 pipelined INCR")


@check("served-threads-2")
def _():
    flushall()
    run_served("--threads", "2", "-c", "20", n=4000)
    eq(get("counter:__rand_int__"), b"4000", "INCR counter after 4000 INCR from 2 threads")


@check("served-random-keys")
def _():
    flushall()
    run_served("-r", "100000")
    keys = int(raw_command("DBSIZE")[1:])
    # SET, INCR and MSET over 100000 random ids: many distinct keys
    assert 2000 < keys <= 300000, "DBSIZE after -r 100000: %d" % keys
    eq(get("key:__rand_int__"), None, "no literal __rand_int__ key with -r")


@check("served-data-4096")
def _():
    flushall()
    run_served("-d", "4096")
    eq(len(get("key:__rand_int__")), 4096, "SET value size with -d 4096")


@check("served-csv")
def _():
    rc, lines = bench("-n", "1000", "-t", SERVED_T, "--csv")
    eq(rc, 0, "exit status")
    eq(errors(lines), [], "error replies")
    eq(lines[0], '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",'
                 '"p95_latency_ms","p99_latency_ms","max_latency_ms"', "CSV header")
    rows = [l.split(",") for l in lines[1:]]
    eq([r[0].strip('"') for r in rows], SERVED_TESTS, "CSV rows")
    for r in rows:
        eq(len(r), 8, "CSV columns")
        vals = [float(x.strip('"')) for x in r[1:]]
        assert vals[0] > 0 and vals[2] <= vals[3] <= vals[4] <= vals[5] <= vals[6], "CSV row %r" % r


# ---- the data-type tests ----

def unknown_texts():
    """For each data-type test, the error a real redis-server without its
    commands gives: started once per suite run, results cached in --work."""
    path = os.path.join(common.ARGS.work, "bench-unknown.json")
    if os.path.exists(path):
        return json.load(open(path))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    cmds = sorted({c for cs in DATA_TESTS.values() for c in cs})
    args = [os.environ.get("REDIS_SERVER", "redis-server"), "--port", str(port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", common.ARGS.work]
    for c in cmds:
        args += ["--rename-command", c, ""]
    srv = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        end = time.time() + 10
        while True:
            try:
                if raw_command("PING", port=port) == b"+PONG":
                    break
            except OSError:
                pass
            if time.time() > end:
                raise AssertionError("the reference redis-server without data types did not start")
            time.sleep(0.05)
        texts = {}
        for t in DATA_TESTS:
            rc, lines = bench("-n", "100", "-t", t, "-q", port=port)
            errs = errors(lines)
            assert rc == 1 and len(errs) == 1, "reference without %s: status %d, %r" % (t, rc, lines)
            texts[t] = errs[0]
        rc, lines = bench("-n", "10", "-q", "NOSUCHCMD", "key:__rand_int__", "x" * 200, port=port)
        texts["custom"] = errors(lines)[0]
    finally:
        srv.terminate()
        srv.wait(10)
    json.dump(texts, open(path, "w"))
    return texts


@check("unknown-command-text")
def _():
    # a command nobody serves, with a long argument (Redis cuts each one)
    want = unknown_texts()["custom"]
    assert want.startswith("ERR unknown command 'NOSUCHCMD', with args beginning with: 'key:__rand_int__' 'xxx"), want
    rc, lines = bench("-n", "10", "-q", "NOSUCHCMD", "key:__rand_int__", "x" * 200)
    eq(rc, 1, "exit status after an error reply")
    eq(errors(lines), [want], "error text")


for _t in DATA_TESTS:
    def _make(t):
        def fn():
            rc, lines = bench("-n", "1000", "-t", t, "-q")
            errs = errors(lines)
            if rc == 0 and not errs:
                got = quiet_results(lines)
                assert got and all(v > 0 for v in got.values()), "no result lines: %r" % lines[-3:]
                return                     # served, and it ran cleanly
            want = unknown_texts()[t]
            eq(errs, [want], "-t %s on a server without %s: error text" % (t, "/".join(DATA_TESTS[t]).upper()))
            eq(rc, 1, "-t %s exit status after the error" % t)
            print("# data-type-%s: not served by %s; stopped at Redis's exact reply: %s"
                  % (t, common.ARGS.server, want), flush=True)
        return fn
    check("data-type-" + _t)(_make(_t))


if __name__ == "__main__":
    main(__doc__.splitlines()[0])
