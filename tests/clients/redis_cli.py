#!/usr/bin/python3
"""redis_cli.py: strata through redis-cli 7.0 (Debian's redis-tools), in
the modes people use: the interactive prompt (driven through a
pseudo-terminal, with a window size so linenoise shows its hints), command
mode, -x, --scan, --pipe mass insertion of a million commands, --latency,
--stat, --bigkeys and --memkeys.

Run by tests/clients/run.sh; see common.py for the output contract.
"""
import fcntl, os, re, select, signal, struct, subprocess, sys, termios, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, eq, main, raw_command  # noqa: E402
import common  # noqa: E402

CLI = "redis-cli"
PIPE_COUNT = 1000000
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


def env():
    e = dict(os.environ)
    e["REDISCLI_HISTFILE"] = "/dev/null"   # never touch the user's history
    e["REDISCLI_RCFILE"] = "/dev/null"
    e["TERM"] = "xterm"
    return e


def cli(*args, stdin=None, timeout=30, check_rc=True, stderr=False):
    """redis-cli's stdout (with stderr after it when stderr=True)."""
    p = subprocess.run([CLI, "-h", "127.0.0.1", "-p", str(common.ARGS.port)] + list(args),
                       input=stdin, capture_output=True, timeout=timeout, env=env())
    if check_rc and p.returncode != 0:
        raise AssertionError("redis-cli %s exited %d: %s" % (" ".join(args), p.returncode,
                                                           (p.stderr or p.stdout).decode(errors="replace")[-300:]))
    return (p.stdout + (p.stderr if stderr else b"")).decode(errors="replace")


def raw(*args):
    return raw_command(*args).decode(errors="replace")


def flushall():
    eq(raw("FLUSHALL"), "+OK", "FLUSHALL")


class Pty:
    """redis-cli on a pseudo-terminal of 40x160 characters."""

    def __init__(self):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
        self.p = subprocess.Popen([CLI, "-h", "127.0.0.1", "-p", str(common.ARGS.port)],
                                  stdin=slave, stdout=slave, stderr=slave, env=env(),
                                  start_new_session=True)
        os.close(slave)
        self.buf = b""

    def expect(self, pattern, timeout=5.0):
        """Read until the ANSI-stripped screen output since the last match
        contains pattern (bytes); returns that text."""
        end = time.time() + timeout
        while True:
            text = ANSI.sub(b"", self.buf)
            i = text.find(pattern)
            if i >= 0:
                self.buf = b""
                return text
            left = end - time.time()
            if left <= 0:
                raise AssertionError("no %r on the terminal within %.0fs; saw %r"
                                     % (pattern, timeout, text[-300:]))
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError("redis-cli closed the terminal; saw %r" % text[-300:])
                self.buf += chunk

    def type(self, s):
        for ch in s.encode():           # one key at a time, as a person types
            os.write(self.master, bytes([ch]))
            time.sleep(0.005)

    def close(self):
        try:
            os.write(self.master, b"\x04")   # Ctrl-D on an empty line quits
            self.p.wait(3)
        except Exception:
            self.p.kill()
            self.p.wait()
        os.close(self.master)


@check("interactive")
def _():
    t = Pty()
    try:
        prompt = ("127.0.0.1:%d> " % common.ARGS.port).encode()
        t.expect(prompt)
        t.type("set ")
        t.expect(b"key value [NX|XX] [GET] [EX seconds|PX milliseconds")   # the argument hint
        t.type("ik v1\r")
        t.expect(b"OK\r\n" + prompt)
        t.type("get ik\r")
        t.expect(b'"v1"\r\n' + prompt)
        t.type("incr ik\r")
        t.expect(b"(error) ERR value is not an integer or out of range\r\n" + prompt)
        t.type("mget ik nokey\r")
        t.expect(b'1) "v1"\r\n2) (nil)\r\n' + prompt)
        t.type("select 3\r")
        t.expect(("127.0.0.1:%d[3]> " % common.ARGS.port).encode())
    finally:
        t.close()
    eq(raw("GET", "ik"), "$2", "the key typed at the prompt exists")


@check("command-mode")
def _():
    eq(cli("set", "ck", "v"), "OK\n", "SET")
    eq(cli("mget", "ck", "nokey"), "v\n\n", "MGET (raw output on a pipe)")
    eq(cli("--no-raw", "mget", "ck", "nokey"), '1) "v"\n2) (nil)\n', "MGET --no-raw")
    eq(cli("-r", "3", "incr", "cr"), "1\n2\n3\n", "-r 3 INCR")
    eq(cli("-n", "2", "set", "dbk", "x"), "OK\n", "-n 2 SET")
    eq(cli("-n", "2", "dbsize"), "1\n", "DBSIZE of db 2")
    eq(cli("-3", "--no-raw", "config", "get", "maxmemory-policy"),
       '1# "maxmemory-policy" => "noeviction"\n', "-3 CONFIG GET prints a RESP3 map")
    out = cli("nosuchcmd", "a", check_rc=False)
    # (redis-cli ends an error with an empty line in raw mode)
    eq(out, "ERR unknown command 'nosuchcmd', with args beginning with: 'a' \n\n", "error reply")


@check("auth")
def _():
    eq(raw("CONFIG", "SET", "requirepass", "s3cret"), "+OK", "CONFIG SET requirepass")
    try:
        eq(cli("ping", check_rc=False), "NOAUTH Authentication required.\n\n", "PING without a password")
        eq(cli("-a", "s3cret", "--no-auth-warning", "ping"), "PONG\n", "-a s3cret PING")
        out = cli("-a", "wrong", "--no-auth-warning", "ping", check_rc=False, stderr=True)
        assert "WRONGPASS invalid username-password pair or user is disabled." in out, \
            "-a wrong: %r" % out
    finally:
        cli("-a", "s3cret", "--no-auth-warning", "config", "set", "requirepass", "")
    eq(cli("ping"), "PONG\n", "PING after clearing requirepass")


@check("stdin-x")
def _():
    eq(cli("-x", "set", "xk", stdin=b"line1\nline2\n"), "OK\n", "-x SET")
    eq(raw_command("GET", "xk"), b"$12", "value length (stdin taken whole, newline included)")
    eq(cli("get", "xk"), "line1\nline2\n\n", "GET the -x value")
    blob = bytes(range(256)) * 64
    eq(cli("-x", "set", "xbin", stdin=blob), "OK\n", "-x SET 16 KiB binary")
    eq(cli("strlen", "xbin"), "16384\n", "STRLEN of the binary value")


@check("scan-pattern")
def _():
    flushall()
    want = {"user:%d" % i for i in range(500)}
    cmd = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n" % (len(k), k.encode()) for k in want)
    cmd += b"*3\r\n$3\r\nSET\r\n$7\r\nother:1\r\n$1\r\nv\r\n"
    out = subprocess.run([CLI, "-p", str(common.ARGS.port), "--pipe"], input=cmd,
                         capture_output=True, timeout=30).stdout.decode()
    assert "errors: 0, replies: 501" in out, "loading keys: %r" % out
    got = cli("--scan", "--pattern", "user:*").split()
    eq(set(got), want, "--scan --pattern user:*")
    got = set(cli("--scan", "--pattern", "user:4?").split())
    eq(got, {"user:%d" % i for i in range(40, 50)}, "--scan --pattern user:4?")
    eq(len(cli("--scan").split()), 501, "--scan without a pattern")


def pipe_file():
    """1,000,000 SET commands in RESP, made once per suite run."""
    path = os.path.join(common.ARGS.work, "pipe-1M.resp")
    if not os.path.exists(path):
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            for base in range(0, PIPE_COUNT, 10000):
                f.write(b"".join(
                    b"*3\r\n$3\r\nSET\r\n$%d\r\nkey:%d\r\n$%d\r\nval:%d\r\n"
                    % (len(b"key:%d" % i), i, len(b"val:%d" % i), i)
                    for i in range(base, base + 10000)))
        os.rename(tmp, path)
    return path


@check("pipe-1M")
def _():
    flushall()
    path = pipe_file()
    t0 = time.time()
    with open(path, "rb") as f:
        p = subprocess.run([CLI, "-p", str(common.ARGS.port), "--pipe"], stdin=f,
                           capture_output=True, timeout=120 * (3 if os.environ.get("STRATA_SLOW") == "1" else 1))
    out = p.stdout.decode()
    eq(p.returncode, 0, "redis-cli --pipe exit status (output %r)" % out[-200:])
    assert "errors: 0, replies: %d" % PIPE_COUNT in out, "summary line: %r" % out[-200:]
    eq(raw("DBSIZE"), ":%d" % PIPE_COUNT, "DBSIZE after --pipe")
    eq(cli("mget", "key:0", "key:999999", "key:1000000"), "val:0\nval:999999\n\n", "spot check")
    print("# %s: --pipe of %d commands took %.1fs" % (common.ARGS.server, PIPE_COUNT, time.time() - t0))


@check("latency")
def _():
    out = cli("--latency", "-i", "0.5", timeout=10)     # not a tty: one sample line, then exit
    m = re.fullmatch(r"(\d+) (\d+) ([\d.]+) (\d+)\n", out)
    assert m, "--latency output %r" % out
    lo, hi, avg, n = int(m[1]), int(m[2]), float(m[3]), int(m[4])
    assert n > 0 and lo <= avg <= hi, "--latency min/max/avg/samples %r" % out
    out = cli("--latency", "--csv", "-i", "0.3", timeout=10)
    assert re.fullmatch(r"\d+,\d+,[\d.]+,[1-9]\d*\n", out), "--latency --csv output %r" % out
    # --latency-history never ends by itself: bounded with timeout
    p = subprocess.run(["timeout", "1.8", "stdbuf", "-oL", CLI, "-p", str(common.ARGS.port),
                        "--latency-history", "-i", "0.5"], capture_output=True, timeout=10, env=env())
    out = p.stdout.decode()
    # (the range is the measured time: "0.50", or "0.51" on a busy machine)
    assert re.search(r"^ -- 0\.5\d seconds range$", out, re.M), "--latency-history output %r" % out[-300:]
    assert re.search(r"^\d+ \d+ [\d.]+ [1-9]\d*$", out, re.M), "--latency-history samples %r" % out[-300:]


@check("stat")
def _():
    flushall()
    for i in range(7):
        raw("SET", "st:%d" % i, "x" * 100)
    p = subprocess.run(["timeout", "-s", "INT", "1.5", "stdbuf", "-oL", CLI, "-p", str(common.ARGS.port),
                        "--stat", "-i", "0.2"], capture_output=True, timeout=10, env=env())
    lines = p.stdout.decode().splitlines()
    assert len(lines) >= 4, "--stat printed %r" % lines
    eq(lines[0].split(), ["-------", "data", "------", "---------------------", "load",
                          "--------------------", "-", "child", "-"], "--stat header")
    eq(lines[1].split(), ["keys", "mem", "clients", "blocked", "requests", "connections"], "--stat columns")
    rows = [l.split() for l in lines[2:]]
    for r in rows:
        assert len(r) >= 6, "--stat row %r" % r
        eq(r[0], "7", "keys column")
        assert re.fullmatch(r"[\d.]+[BKMG]?", r[1]), "mem column %r" % r[1]
        eq(r[2], "1", "clients column (redis-cli itself)")
        eq(r[3], "0", "blocked column")
        assert r[5].startswith("(+") and r[5].endswith(")"), "request delta %r" % r
    # each later row counts the one INFO redis-cli sent since the row before
    eq([r[5] for r in rows[1:]], ["(+1)"] * (len(rows) - 1), "request deltas")


@check("bigkeys")
def _():
    flushall()
    raw("SET", "bk:small", "a")
    raw("SET", "bk:mid", "x" * 20)
    raw("SET", "bk:big", "y" * 40)
    out = cli("--bigkeys", timeout=30)
    for want in ["Sampled 3 keys in the keyspace!",
                 "Total key length in bytes is 20 (avg len 6.67)",
                 "Biggest string found '\"bk:big\"' has 40 bytes",
                 "3 strings with 61 bytes (100.00% of keys, avg size 20.33)",
                 "0 lists with 0 items (00.00% of keys, avg size 0.00)"]:
        assert want in out, "--bigkeys: no %r in %r" % (want, out)
    out = cli("--bigkeys", "--pattern", "bk:s*", timeout=30)
    assert "Sampled 1 keys in the keyspace!" in out, "--bigkeys --pattern: %r" % out


@check("memkeys")
def _():
    flushall()
    raw("SET", "mk:small", "a")
    raw("SET", "mk:big", "y" * 4000)
    out = cli("--memkeys", timeout=30, stderr=True)   # its warnings go to stderr
    assert "Warning" not in out, "--memkeys: %r" % [l for l in out.splitlines() if "Warning" in l][0]
    assert "Sampled 2 keys in the keyspace!" in out, "--memkeys: %r" % out
    m = re.search(r"Biggest string found '\"mk:big\"' has (\d+) bytes", out)
    assert m and int(m[1]) >= 4000, "--memkeys biggest string: %r" % out
    m = re.search(r"2 strings with (\d+) bytes \(100\.00% of keys", out)
    assert m and int(m[1]) > 4000, "--memkeys string total: %r" % out


if __name__ == "__main__":
    main(__doc__.splitlines()[0])
