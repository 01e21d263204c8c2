"""common.py: the little check framework shared by the Python client
programs of tests/clients (redis_py.py, redis_cli.py, benchmark.py).

A program registers checks with @check("name"); main() parses the
arguments the runner passes (--port P --server redis|strata --work DIR),
runs every check (or those named on the command line) in order and prints
one line per check:

    PASS name
    FAIL name: reason
    SKIP name: reason        (counted nowhere; the reason must say why)

A check fails by raising (assert with a message, or any exception: its
repr becomes the reason). tests/clients/run.sh prefixes each line with the
server and the program, so the program itself knows nothing about which
server it talks to, beyond the --server name it may print in a reason.
Every check must hold against redis-server 7.0: the runner runs each
program against the reference first.
"""
import argparse, os, socket, sys, time, traceback

CHECKS = []
ARGS = None


class Skip(Exception):
    """Raised by a check that cannot run here; the message says why."""


def check(name):
    def wrap(fn):
        CHECKS.append((name, fn))
        return fn
    return wrap


def eq(got, want, what=""):
    """assert got == want with both values in the failure reason."""
    if got != want:
        raise AssertionError("%sexpected %r, got %r" % (what + ": " if what else "", want, got))


def raw_command(*args, port=None, timeout=5.0):
    """Send one command over a fresh socket and return the raw reply bytes
    up to the first CRLF (enough for status, error and integer replies).
    Used where a client library would hide the exact text."""
    s = socket.create_connection(("127.0.0.1", port or ARGS.port), timeout=timeout)
    try:
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        s.sendall(out)
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        return buf.split(b"\r\n", 1)[0]
    finally:
        s.close()


def served(command):
    """True when the server under test knows `command` (COMMAND INFO has an
    entry for it). Used only to choose which of two exact expectations
    holds, never to skip a check silently."""
    s = socket.create_connection(("127.0.0.1", ARGS.port), timeout=5)
    try:
        c = command.encode()
        s.sendall(b"*3\r\n$7\r\nCOMMAND\r\n$4\r\nINFO\r\n$%d\r\n%s\r\n" % (len(c), c))
        buf = b""
        while len(buf) < 9:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        # "*1\r\n$-1\r\n" (a nil entry, as Redis 7.0 sends it) means unknown
        return not buf.startswith(b"*1\r\n$-1\r\n")
    finally:
        s.close()


def wait_until(pred, timeout=5.0, step=0.02):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def main(description):
    global ARGS
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--server", default="server", help="name of the server under test (for reasons only)")
    ap.add_argument("--work", default=os.environ.get("TMPDIR", "/tmp"),
                    help="scratch directory shared by the runs of one suite")
    ap.add_argument("only", nargs="*", help="run only the checks whose name contains one of these")
    ARGS = ap.parse_args()
    npass = nfail = 0
    for name, fn in CHECKS:
        if ARGS.only and not any(o in name for o in ARGS.only):
            continue
        t0 = time.time()
        try:
            fn()
        except Skip as e:
            print("SKIP %s: %s" % (name, e), flush=True)
            continue
        except AssertionError as e:
            reason = str(e) or traceback.format_exc().strip().splitlines()[-2].strip()
            print("FAIL %s: %s" % (name, reason.replace("\n", " | ")), flush=True)
            nfail += 1
            continue
        except Exception as e:  # any client error is a failure of the check
            print("FAIL %s: %s: %s" % (name, type(e).__name__, str(e).replace("\n", " | ")), flush=True)
            nfail += 1
            continue
        print("PASS %s" % name, flush=True)
        npass += 1
        if time.time() - t0 > 10:
            print("# %s took %.1fs" % (name, time.time() - t0), flush=True)
    print("%d passed, %d failed" % (npass, nfail), flush=True)
    sys.exit(1 if nfail else 0)
