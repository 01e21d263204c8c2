#!/usr/bin/env python3
"""soak.py: a bounded soak of strata's storage engine (`make soak`).

Several client threads run mixed load (SET, SET PX, GET, DEL, INCR, APPEND,
EXPIRE with 1-2 s TTLs, MSET) against one strata-server with the engine on,
appendfsync always and a maxmemory small enough that values spill to the
LSM. A controller restarts the server every few seconds: mostly kill -9,
sometimes a clean SIGTERM (which must exit 0). At the end a last clean
restart, and every key is checked.

The model. Each client owns its keys (no two clients touch one key), so
the order of its own operations is the order the server applied them. For
every key the model keeps the set of states the key may be in: a value (or
absent) and an expiry known to lie in an interval (the server time of the
EXPIRE lies between send and reply). A reply narrows the set (a GET must
match one state, INCR's and APPEND's results pick one); an operation that
was sent but whose reply never came (the server was killed) widens it to
"applied or not". Expiry is decided by time: a state whose expiry interval
ends before the operation was sent is absent, one whose interval starts
after the reply is present, otherwise both. With appendfsync always every
acknowledged write must survive kill -9, so any GET that matches no state
is a loss (or a resurrection) and fails the run.

After each restart every client reads back all of its keys; at the end,
after a clean restart, every key again, plus DBSIZE against the model.

Usage: soak.py --server build/strata-server [--seconds 180] [--clients 4]
Exit status 0 when nothing was lost, 1 otherwise; a summary is printed.
"""
import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

MARGIN = 0.010  # s: clock slack around expiry decisions


class Disconnected(Exception):
    pass


class RespError(Exception):
    pass


class Conn:
    """A minimal RESP2 client (one command at a time)."""

    def __init__(self, port, timeout=10.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass

    def _fill(self):
        try:
            d = self.s.recv(65536)
        except OSError as e:
            raise Disconnected(str(e))
        if not d:
            raise Disconnected("eof")
        self.buf += d

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        i = self.buf.index(b"\r\n")
        line, self.buf = self.buf[:i], self.buf[i + 2:]
        return line

    def _reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise Disconnected("protocol error: %r" % line)

    def cmd(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, int):
                a = str(a).encode()
            elif isinstance(a, str):
                a = a.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        try:
            self.s.sendall(b"".join(out))
        except OSError as e:
            raise Disconnected(str(e))
        return self._reply()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    def __init__(self, exe, workdir, port, extra):
        self.exe, self.workdir, self.port, self.extra = exe, workdir, port, extra
        self.proc = None
        self.log = open(os.path.join(workdir, "server.log"), "ab")
        self.up = threading.Event()

    def start(self):
        args = [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.workdir,
                "--save", "", "--data-dir", os.path.join(self.workdir, "data"),
                "--appendonly", "yes"] + self.extra
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s at start; see %s/server.log"
                                   % (self.proc.returncode, self.workdir))
            try:
                c = Conn(self.port, timeout=2)
                r = c.cmd("INFO", "persistence")
                c.close()
                if isinstance(r, bytes) and b"\nloading:0\r" in r:
                    self.up.set()
                    return
            except (OSError, Disconnected):
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not finish loading in 60 s")

    def kill9(self):
        self.up.clear()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.up.clear()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=60)
        if rc != 0:
            raise RuntimeError("clean shutdown exited with %s" % rc)


# A key's state: (value bytes or None, exp_lo, exp_hi) with exp None when
# there is no TTL. Times are time.time() seconds.

def age(states, t_lo, t_hi):
    """The states as seen by an operation the server ran within [t_lo, t_hi]."""
    out = set()
    for v, elo, ehi in states:
        if v is None or elo is None:
            out.add((v, elo, ehi))
        elif ehi < t_lo - MARGIN:
            out.add((None, None, None))
        elif elo > t_hi + MARGIN:
            out.add((v, elo, ehi))
        else:
            out.add((v, elo, ehi))
            out.add((None, None, None))
    return out


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops = 0
        self.acked_writes = 0
        self.uncertain = 0
        self.loading_retries = 0
        self.errors = []
        self.verified_keys = 0

    def fail(self, msg):
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append(msg)


class Client(threading.Thread):
    def __init__(self, cid, srv, stats, nkeys, stop, seed):
        super().__init__(daemon=True)
        self.cid, self.srv, self.stats, self.nkeys, self.stop = cid, srv, stats, nkeys, stop
        self.rng = random.Random(seed)
        self.model = {}
        self.conn = None
        self.ops = 0
        self.hist = {}   # key -> the last few (time, command, reply), for the failure report

    def note(self, k, what, r):
        h = self.hist.setdefault(k, [])
        h.append("%.3f %s -> %s" % (time.time(), what, r if not isinstance(r, bytes) else r[:24]))
        del h[:-8]

    def key(self, kind, i):
        return "%s:%d:%d" % (kind, self.cid, i)

    def states(self, k):
        return self.model.get(k, {(None, None, None)})

    # -- one operation: returns the possible outcome states given the reply
    def run(self):
        try:
            self.loop()
        except Exception as e:  # a bug in the driver must not pass silently
            self.stats.fail("client %d crashed: %r" % (self.cid, e))

    def connect(self):
        while not self.stop.is_set():
            self.srv.up.wait(1)
            if not self.srv.up.is_set():
                continue
            try:
                self.conn = Conn(self.srv.port)
                self.verify_all()
                return True
            except (OSError, Disconnected):
                self.conn = None
                time.sleep(0.05)
        return False

    def verify_all(self):
        for k in list(self.model):
            self.get(k)

    def get(self, k):
        t0 = time.time()
        r = self.conn.cmd("GET", k)
        t1 = time.time()
        self.note(k, "GET", r)
        if isinstance(r, RespError):
            if r.args[0].startswith("LOADING"):
                raise Disconnected("loading")
            self.stats.fail("GET %s: %s" % (k, r))
            return
        st = age(self.states(k), t0, t1)
        match = {s for s in st if s[0] == r}
        if not match:
            self.stats.fail("GET %s at %.3f: got %r, model allows %r; history: %s"
                            % (k, t0, r if r is None else r[:40], sorted({(s[0] or b"")[:40] for s in st}),
                               " | ".join(self.hist.get(k, []))))
            match = {(r, None, None)} if r is not None else {(None, None, None)}
        self.model[k] = match
        with self.stats.lock:
            self.stats.verified_keys += 1

    def loop(self):
        if not self.connect():
            return
        while not self.stop.is_set():
            try:
                self.one()
            except Disconnected:
                self.conn.close()
                self.conn = None
                if not self.connect():
                    return

    def value(self, i):
        n = self.rng.choice((20, 200, 800, 2000))
        head = ("c%d-i%d-op%d-" % (self.cid, i, self.ops)).encode()
        return head + self.rng.randbytes(n // 2).hex().encode()

    def one(self):
        self.ops += 1
        i = self.rng.randrange(self.nkeys)
        op = self.rng.random()
        if op < 0.15:
            k = self.key("c", i)
            self.write(k, ("INCR", k), self.incr_outcomes)
        elif op < 0.35:
            k = self.key("s", i)
            v = self.value(i)
            self.write(k, ("SET", k, v), lambda st, r, t0, t1, v=v: self.set_outcomes(v, None, st, r, t0, t1))
        elif op < 0.42:
            k = self.key("s", i)
            v = self.value(i)
            ttl = self.rng.randrange(300, 2000)
            self.write(k, ("SET", k, v, "PX", ttl),
                       lambda st, r, t0, t1, v=v, ttl=ttl: self.set_outcomes(v, ttl / 1000.0, st, r, t0, t1))
        elif op < 0.52:
            k = self.key("s", i)
            suffix = ("+a%d" % self.ops).encode()
            if any(s[0] is not None and len(s[0]) > 6000 for s in self.states(k)):
                self.write(k, ("DEL", k), self.del_outcomes)
            else:
                self.write(k, ("APPEND", k, suffix), lambda st, r, t0, t1, x=suffix: self.append_outcomes(x, st, r))
        elif op < 0.60:
            k = self.key(self.rng.choice("sc"), i)
            self.write(k, ("DEL", k), self.del_outcomes)
        elif op < 0.68:
            k = self.key(self.rng.choice("sc"), i)
            secs = self.rng.choice((1, 2))
            self.write(k, ("EXPIRE", k, secs), lambda st, r, t0, t1, s=secs: self.expire_outcomes(s, st, r, t0, t1))
        elif op < 0.74:
            j = (i + 1 + self.rng.randrange(self.nkeys - 1)) % self.nkeys
            k1, k2 = self.key("s", i), self.key("s", j)
            v1, v2 = self.value(i), self.value(j)
            self.mset(k1, v1, k2, v2)
        else:
            k = self.key(self.rng.choice("sssc"), i)
            self.get(k)
        with self.stats.lock:
            self.stats.ops += 1

    # Outcome functions: (states aged, reply or None when unknown, t0, t1)
    # -> set of states consistent with the reply (None reply: every outcome).
    def set_outcomes(self, v, ttl, st, r, t0, t1):
        if r is not None and r != "OK":
            return None
        exp = (None, None) if ttl is None else (t0 + ttl, t1 + ttl)
        return {(v,) + exp}

    def incr_outcomes(self, st, r, t0, t1):
        out = set()
        for v, elo, ehi in st:
            n = 1 if v is None else int(v) + 1
            if r is None or r == n:
                out.add((str(n).encode(), elo, ehi))
        return out

    def append_outcomes(self, x, st, r):
        out = set()
        for v, elo, ehi in st:
            nv = x if v is None else v + x
            if r is None or r == len(nv):
                out.add((nv, elo, ehi))
        return out

    def del_outcomes(self, st, r, t0, t1):
        if r is None:
            return {(None, None, None)}
        if not any((s[0] is not None) == (r == 1) for s in st):
            return set()
        return {(None, None, None)}

    def expire_outcomes(self, secs, st, r, t0, t1):
        out = set()
        for v, elo, ehi in st:
            if v is None:
                if r in (None, 0):
                    out.add((None, None, None))
            elif r in (None, 1):
                out.add((v, t0 + secs, t1 + secs))
        return out

    def write(self, k, args, outcomes):
        before = self.states(k)
        t0 = time.time()
        what = " ".join(str(a)[:24] for a in args)
        try:
            r = self.conn.cmd(*args)
            self.note(k, what, r)
        except Disconnected:
            self.note(k, what, "(no reply: killed)")
            # sent, reply lost: applied or not, at any time until now
            t1 = time.time()
            st = age(before, t0, t1)
            self.model[k] = st | outcomes(st, None, t0, t1)
            with self.stats.lock:
                self.stats.uncertain += 1
            raise
        t1 = time.time()
        if isinstance(r, RespError):
            msg = r.args[0]
            if msg.startswith("LOADING"):
                with self.stats.lock:
                    self.stats.loading_retries += 1
                time.sleep(0.05)
                return
            self.stats.fail("%s: %s" % (" ".join(str(a)[:30] for a in args), msg))
            return
        st = age(before, t0, t1)
        new = outcomes(st, r, t0, t1)
        if not new:
            self.stats.fail("%s: reply %r matches no model state %r"
                            % (" ".join(str(a)[:30] for a in args), r, sorted((s[0] or b"")[:30] for s in st)))
            new = st
        self.model[k] = new
        with self.stats.lock:
            self.stats.acked_writes += 1

    def mset(self, k1, v1, k2, v2):
        b1, b2 = self.states(k1), self.states(k2)
        t0 = time.time()
        try:
            r = self.conn.cmd("MSET", k1, v1, k2, v2)
        except Disconnected:
            t1 = time.time()
            # each key independently old or new (one record per key)
            self.model[k1] = age(b1, t0, t1) | {(v1, None, None)}
            self.model[k2] = age(b2, t0, t1) | {(v2, None, None)}
            with self.stats.lock:
                self.stats.uncertain += 1
            raise
        if isinstance(r, RespError):
            if not r.args[0].startswith("LOADING"):
                self.stats.fail("MSET: %s" % r)
            return
        self.model[k1] = {(v1, None, None)}
        self.model[k2] = {(v2, None, None)}
        with self.stats.lock:
            self.stats.acked_writes += 1


def info(port, section):
    c = Conn(port)
    r = c.cmd("INFO", section)
    c.close()
    out = {}
    for line in r.decode().split("\r\n"):
        if ":" in line and not line.startswith("#"):
            a, b = line.split(":", 1)
            out[a] = b
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default="build/strata-server")
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 180)))
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--keys", type=int, default=1500, help="keys per client and kind")
    ap.add_argument("--fsync", default="always")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    if a.fsync != "always":
        sys.exit("only --fsync always gives an exact model (everysec may lose ~1 s on power loss only, "
                 "but the model here does not account for it)")

    rng = random.Random(a.seed)
    work = tempfile.mkdtemp(prefix="strata-soak-")
    port = free_port()
    extra = ["--appendfsync", a.fsync, "--maxmemory", "3mb", "--flush-dirty-bytes", "1mb",
             "--flush-interval-ms", "2000", "--lsm-l0-compaction-trigger", "3"]
    srv = Server(os.path.abspath(a.server), work, port, extra)
    srv.start()
    stats = Stats()
    stop = threading.Event()
    clients = [Client(i, srv, stats, a.keys, stop, a.seed * 100 + i) for i in range(a.clients)]
    for c in clients:
        c.start()
    t_start = time.time()
    kills = cleans = 0
    peak = {"lsm_values_spilled": 0, "lsm_spill_loads": 0, "lsm_compactions": 0, "lsm_flushes": 0}
    print("soak: %d clients, %.0f s, seed %d, dir %s, port %d" % (a.clients, a.seconds, a.seed, work, port),
          flush=True)
    try:
        while time.time() - t_start < a.seconds and not stats.errors:
            time.sleep(rng.uniform(3, 9))
            try:
                inf = info(port, "persistence")
                for f in peak:
                    peak[f] = max(peak[f], int(inf.get(f, 0)))
            except (OSError, Disconnected):
                pass
            if time.time() - t_start >= a.seconds:
                break
            kind = "kill -9" if rng.random() < 0.7 else "SIGTERM"
            if kind == "kill -9":
                srv.kill9()
                kills += 1
            else:
                srv.stop()
                cleans += 1
            srv.start()
            print("  %5.0f s: restart %d (%s), %d ops, %d acked writes, %d uncertain"
                  % (time.time() - t_start, kills + cleans, kind, stats.ops,
                     stats.acked_writes, stats.uncertain), flush=True)
        stop.set()
        for c in clients:
            c.join(30)
        if stats.errors:   # keep the files as they are for a post-mortem
            srv.kill9()
            raise SystemExit(report(a, stats, t_start, kills, cleans, 0, 0, 0, peak, work, keep=True))
        # the last restart is clean; then every key of every client
        inf = info(port, "persistence")
        for f in peak:
            peak[f] = max(peak[f], int(inf.get(f, 0)))
        srv.stop()
        cleans += 1
        srv.start()
        lo = hi = n = 0
        for c in clients:
            c.conn = Conn(port)
            c.verify_all()
            c.conn.close()
        c = Conn(port)
        t_d0 = time.time()
        n = c.cmd("DBSIZE")
        t_d1 = time.time()
        c.close()
        # DBSIZE counts keys that expired but were not reclaimed yet (as
        # Redis's): at least the keys surely alive, at most every key that
        # may exist, expired or not.
        for cl in clients:
            for k, st in cl.model.items():
                if all(s[0] is not None for s in age(st, t_d0, t_d1)):
                    lo += 1
                if any(s[0] is not None for s in st):
                    hi += 1
        if not (lo <= n <= hi):
            stats.fail("DBSIZE %d outside the model's [%d, %d]" % (n, lo, hi))
        srv.stop()
    finally:
        stop.set()
        if srv.proc and srv.proc.poll() is None:
            srv.proc.kill()
            srv.proc.wait()
    sys.exit(report(a, stats, t_start, kills, cleans, n, lo, hi, peak, work, a.keep))


def report(a, stats, t_start, kills, cleans, n, lo, hi, peak, work, keep):
    ok = not stats.errors
    print("soak: %s: %.0f s, %d ops (%d acknowledged writes), %d kill -9, %d clean restarts, "
          "%d operations in flight at a kill (applied or not), %d key read-backs checked, "
          "DBSIZE %d in [%d, %d]; values spilled %d, spill loads %d, flushes %d, compactions %d "
          "(per server life, max)"
          % ("PASS" if ok else "FAIL", time.time() - t_start, stats.ops, stats.acked_writes, kills, cleans,
             stats.uncertain, stats.verified_keys, n, lo, hi, peak["lsm_values_spilled"],
             peak["lsm_spill_loads"], peak["lsm_flushes"], peak["lsm_compactions"]))
    for e in stats.errors:
        print("  LOST/WRONG: " + e)
    if ok and not keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("  work directory kept: " + work)
    return 0 if ok else 1


if __name__ == "__main__":
    main()
