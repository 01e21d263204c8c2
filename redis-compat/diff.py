#!/usr/bin/python3
"""Differential engine: sends the same commands to a reference redis-server
and to strata, parses every reply completely (RESP2 and RESP3) and compares
them exactly: type, value, error text, aggregate shape and order.

This file owns the case-file language, the RESP reader, the comparison modes,
the reading of allowed-differences.txt and the randomized command generator.
It starts no servers (run.sh does); it only needs two TCP ports.

Case file format (cases/*.txt), one item per line:
  COMMAND arg "arg with spaces" 'single' "\\x00binary\\r\\n"
      redis-cli quoting (sdssplitargs): in "..." the escapes \\xHH \\n \\r \\t
      \\b \\a and \\<any char>; in '...' only \\' ; "" is an empty argument.
  # comment            only whole-line comments (a '#' inside a line is data)
  @resp3 / @resp2      send HELLO 3 / HELLO 2 and compare its reply
  @sleep SECONDS       sleep once (both servers age together)
  @raw BYTES           send raw bytes (escapes \\r \\n \\t \\0 \\\\ \\xHH) and
                       compare every byte read back until the connection
                       closes or 0.3 s pass without data, plus whether it closed
  @bytes               next command: send it normally, but compare the raw
                       bytes read back like @raw (CLIENT REPLY OFF/SKIP, QUIT)
  @sorted              next reply: aggregates compared as sorted multisets;
                       on SCAN it drives a full iteration on each server from
                       the given cursor and compares the de-duplicated key sets
                       (SCAN may legally return a key twice)
  @ignore              next reply: compare only the RESP type
  @approx N            next reply: integers and doubles may differ by N
                       (TTLs, idle times)
  @reconnect           close and reopen both connections (after a @raw that
                       leaves a half-sent request behind)
  @fill N              next command or @raw: the word @FILL stands for N bytes
                       of a repeating pattern (big values, over-long lines)
  @conn NAME           send what follows on connection NAME (opened on first
                       use, on both servers; the case starts on connection 1):
                       a subscriber on one, a publisher on another
  @replies N           next command: read and compare N replies (SUBSCRIBE a b
                       confirms each channel with a reply of its own)
  @read [N]            send nothing; read and compare the next N replies (default
                       1) on the current connection: messages another
                       connection's PUBLISH pushed to it, MONITOR lines
  @monitor             next reply (command or @read): MONITOR lines compared with
                       their timestamp and client address masked
                       ("+<time> [<db> <addr>] ..."); the db and the arguments
                       are compared exactly

A connection the server closed (QUIT, protocol error) is reopened silently
before the next command, in RESP2 and db 0, on both sides alike. At the end
of a case every connection must have no unread bytes left.

allowed-differences.txt, one rule a line:  MODE WORD... -- reason
  MODE is exact | type | sorted | skip | approx:N | fields-type:F1,F2 |
  pairs-sorted | subcommands-unordered | acl-rules | subset | length |
  fields-type:* | elements-type:I,J
  (fields-type: in a map, or a RESP2 flat key/value array, the named fields'
  values are compared by type only, everything else exactly (an array of
  such maps, as ACL LOG's, element by element); fields-type:* every
  field's value by type, nested maps field by field; elements-type: an
  array of arrays whose elements' positions I, J (from 0) compare by type
  only; pairs-sorted: a map or flat key/value array compared with its
  pairs in key order; subcommands-unordered: COMMAND INFO/DOCS with each
  container's subcommands in name order; acl-rules: in every string, each
  run of single-command ACL rules (+get -set, not +@category) in sorted
  order, since Redis prints them in its randomly seeded dict order; subset:
  the second server's aggregate must hold only elements of the first's, as
  a multiset; length: same type and length, for random strings such as ACL
  GENPASS).
  Whatever the mode (but skip), two error replies must be identical.
  WORDs are matched case-insensitively against the first arguments; a final
  '$' requires the command to end there. The longest matching rule wins; a
  directive in a case file wins over any rule.
"""

import argparse
import os
import random
import re
import select
import socket
import sys
import threading
import time

# ---------------------------------------------------------------- RESP ----

class Closed(Exception):
    pass


class Timeout(Exception):
    pass


class Malformed(Exception):
    pass


class Conn:
    """One client connection. Replies are immutable tuples so they compare
    with == and sort with a key: (type, value) for scalars, where value is
    the raw bytes of the line (so ':007' and ':7' differ), None for nulls
    ('$-1', '*-1', '_'), a tuple for aggregates; maps and attributes hold
    tuples of (key, value) pairs."""

    def __init__(self, port, timeout):
        self.port = port
        self.timeout = timeout
        self.buf = b""
        self.closed = False
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            # The server may have closed already; the read reports it.
            self.closed = True

    def fill(self, deadline):
        remain = deadline - time.monotonic()
        if remain <= 0:
            raise Timeout()
        self.sock.settimeout(remain)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Timeout()
        except OSError:
            data = b""
        if not data:
            self.closed = True
            raise Closed()
        self.buf += data

    def line(self, deadline):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                ln, self.buf = self.buf[:i], self.buf[i + 2:]
                return ln
            self.fill(deadline)

    def exact(self, n, deadline):
        while len(self.buf) < n + 2:
            self.fill(deadline)
        data, tail, self.buf = self.buf[:n], self.buf[n:n + 2], self.buf[n + 2:]
        if tail != b"\r\n":
            raise Malformed("bulk of %d bytes not followed by CRLF (got %r)" % (n, tail))
        return data

    def count(self, ln, t):
        try:
            return int(ln)
        except ValueError:
            raise Malformed("bad %s length %r" % (t, ln))

    def reply(self, deadline=None):
        if deadline is None:
            deadline = time.monotonic() + self.timeout
        ln = self.line(deadline)
        if not ln:
            raise Malformed("empty line where a reply was expected")
        t, rest = chr(ln[0]), ln[1:]
        if t in "+-:,#(":
            if t == ":" and not re.fullmatch(rb"-?\d+", rest):
                raise Malformed("bad integer %r" % rest)
            return (t, rest)
        if t == "_":
            if rest:
                raise Malformed("null with payload %r" % rest)
            return ("_", None)
        if t in "$!=":
            n = self.count(rest, t)
            if n < 0:
                if t != "$" or n != -1:
                    raise Malformed("bad length %d for %s" % (n, t))
                return ("$", None)
            return (t, self.exact(n, deadline))
        if t in "*~>":
            n = self.count(rest, t)
            if n < 0:
                if t != "*" or n != -1:
                    raise Malformed("bad length %d for %s" % (n, t))
                return ("*", None)
            return (t, tuple(self.reply(deadline) for _ in range(n)))
        if t in "%|":
            n = self.count(rest, t)
            pairs = tuple((self.reply(deadline), self.reply(deadline)) for _ in range(n))
            if t == "|":
                # An attribute decorates the reply that follows it.
                return ("|", pairs, self.reply(deadline))
            return ("%", pairs)
        raise Malformed("unknown reply type byte %r" % ln[:1])

    def raw(self, idle=0.3, limit=3.0):
        """Everything the server sends until it closes or falls silent."""
        data, self.buf = self.buf, b""
        start = last = time.monotonic()
        while not self.closed:
            now = time.monotonic()
            if now - last >= idle or now - start >= limit:
                break
            r, _, _ = select.select([self.sock], [], [], idle - (now - last))
            if not r:
                continue
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                break
            data += chunk
            last = time.monotonic()
        return ("RAW", data, "closed" if self.closed else "open")


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# --------------------------------------------------------- case files ----

class ParseError(Exception):
    pass


def split_args(line):
    """redis-cli's sdssplitargs(), returning a list of bytes."""
    s = line.encode("utf-8", "surrogateescape") if isinstance(line, str) else line
    args, i, n = [], 0, len(s)
    hexd = b"0123456789abcdefABCDEF"
    while True:
        while i < n and s[i:i + 1].isspace():
            i += 1
        if i >= n:
            return args
        cur, inq, insq = bytearray(), False, False
        while True:
            c = s[i:i + 1]
            if inq:
                if not c:
                    raise ParseError("unbalanced double quotes")
                if c == b"\\" and s[i + 1:i + 2] == b"x" and len(s[i + 2:i + 4]) == 2 \
                        and all(ch in hexd for ch in s[i + 2:i + 4]):
                    cur.append(int(s[i + 2:i + 4], 16))
                    i += 3
                elif c == b"\\" and i + 1 < n:
                    i += 1
                    e = s[i:i + 1]
                    cur += {b"n": b"\n", b"r": b"\r", b"t": b"\t",
                            b"b": b"\b", b"a": b"\a"}.get(e, e)
                elif c == b'"':
                    if i + 1 < n and not s[i + 1:i + 2].isspace():
                        raise ParseError("closing quote must be followed by a space")
                    inq = False
                    i += 1
                    break
                else:
                    cur += c
            elif insq:
                if not c:
                    raise ParseError("unbalanced single quotes")
                if c == b"\\" and s[i + 1:i + 2] == b"'":
                    i += 1
                    cur += b"'"
                elif c == b"'":
                    if i + 1 < n and not s[i + 1:i + 2].isspace():
                        raise ParseError("closing quote must be followed by a space")
                    insq = False
                    i += 1
                    break
                else:
                    cur += c
            else:
                if not c or c.isspace():
                    break
                if c == b'"':
                    inq = True
                elif c == b"'":
                    insq = True
                else:
                    cur += c
            i += 1
        args.append(bytes(cur))


def unescape_raw(text):
    out, i = bytearray(), 0
    b = text.encode("utf-8", "surrogateescape")
    while i < len(b):
        c = b[i:i + 1]
        if c == b"\\" and i + 1 < len(b):
            e = b[i + 1:i + 2]
            if e == b"x":
                out.append(int(b[i + 2:i + 4], 16))
                i += 4
                continue
            out += {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0"}.get(e, e)
            i += 2
            continue
        out += c
        i += 1
    return bytes(out)


def quote(arg):
    """Inverse of split_args for one argument (for printing and --dump)."""
    if arg and re.fullmatch(rb"[A-Za-z0-9_.:*?\[\]^+\-/=,@{}|<>!%&;~$]+", arg) \
            and not arg.startswith(b"@") and not arg.startswith(b"#"):
        return arg.decode()
    out = ['"']
    for ch in arg:
        c = chr(ch)
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif 32 <= ch < 127:
            out.append(c)
        else:
            out.append("\\x%02x" % ch)
    out.append('"')
    return "".join(out)


def cmdline(args):
    return " ".join(quote(a) for a in args)


class Step:
    """One thing to do: a command (args) with a compare mode, or a directive."""

    def __init__(self, kind, args=None, mode=None, lineno=0, data=None, src="", nreplies=1):
        self.kind = kind          # 'cmd', 'raw', 'sleep', 'reconnect', 'conn', 'read'
        self.nreplies = nreplies
        self.args = args
        self.mode = mode          # None (rules decide) or a mode string
        self.lineno = lineno
        self.data = data
        self.src = src

    def text(self, full=False):
        if self.kind == "cmd":
            if full:
                return cmdline(self.args)
            return " ".join(quote(a) if len(a) <= 200 else
                            "%s...<%d bytes>" % (quote(a[:20]), len(a)) for a in self.args)
        return self.src


def filler(n):
    """n bytes of a recognisable pattern, for @fill."""
    unit = b"0123456789abcdefghijklmnopqrstuvwxyz"
    return (unit * (n // len(unit) + 1))[:n]


def parse_case(path):
    steps, pending, fill, nrep = [], None, None, 1
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            where = "%s:%d" % (path, lineno)
            if s.startswith("@"):
                word, _, rest = s.partition(" ")
                if word == "@raw":
                    raw = unescape_raw(line.lstrip()[5:])
                    if fill is not None:
                        raw = raw.replace(b"@FILL", filler(fill))
                        fill = None
                    steps.append(Step("raw", lineno=lineno, data=raw, src=s))
                elif word == "@fill":
                    fill = int(rest)
                elif word in ("@resp3", "@resp2"):
                    steps.append(Step("cmd", [b"HELLO", word[-1].encode()],
                                      mode=pending, lineno=lineno))
                    pending = None
                elif word == "@sleep":
                    steps.append(Step("sleep", lineno=lineno, data=float(rest), src=s))
                elif word == "@reconnect":
                    steps.append(Step("reconnect", lineno=lineno, src=s))
                elif word == "@sorted":
                    pending = "sorted"
                elif word == "@ignore":
                    pending = "type"
                elif word == "@bytes":
                    pending = "bytes"
                elif word == "@approx":
                    pending = "approx:" + str(int(rest))
                elif word == "@monitor":
                    pending = "monitor"
                elif word == "@replies":
                    nrep = int(rest)
                    if nrep < 1:
                        raise ParseError("%s: @replies needs a count >= 1" % where)
                elif word == "@conn":
                    if not rest.strip():
                        raise ParseError("%s: @conn needs a name" % where)
                    steps.append(Step("conn", lineno=lineno, data=rest.strip(), src=s))
                elif word == "@read":
                    n = int(rest) if rest.strip() else 1
                    steps.append(Step("read", lineno=lineno, data=n, src=s, mode=pending))
                    pending = None
                else:
                    raise ParseError("%s: unknown directive %s" % (where, word))
                continue
            try:
                args = split_args(line)
            except ParseError as e:
                raise ParseError("%s: %s" % (where, e))
            if fill is not None:
                args = [filler(fill) if a == b"@FILL" else a for a in args]
                fill = None
            steps.append(Step("cmd", args, mode=pending, lineno=lineno, nreplies=nrep))
            pending, nrep = None, 1
    return steps


# ------------------------------------------------------------- rules ----

MODES = ("exact", "type", "sorted", "pairs-sorted", "subcommands-unordered", "skip", "bytes",
         "acl-rules", "subset", "length", "monitor")


def check_mode(mode):
    if mode in MODES or re.fullmatch(r"approx:\d+", mode) or \
            re.fullmatch(r"fields-type:([A-Za-z0-9_,-]+|\*)", mode) or \
            re.fullmatch(r"elements-type:\d+(,\d+)*", mode):
        return mode
    raise ParseError("unknown compare mode %r" % mode)


def load_rules(path):
    rules = []
    if not path or not os.path.exists(path):
        return rules
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            body, sep, reason = s.partition(" -- ")
            if not sep or not reason.strip():
                raise ParseError("%s:%d: rule needs ' -- reason'" % (path, lineno))
            words = body.split()
            if len(words) < 2:
                raise ParseError("%s:%d: rule needs a mode and a command" % (path, lineno))
            rules.append((check_mode(words[0]), [w.lower() for w in words[1:]], reason.strip()))
    return rules


def rule_mode(rules, args):
    best, blen = "exact", -1
    low = [a.lower() for a in args]
    for mode, words, _ in rules:
        end = words[-1] == "$"
        ws = words[:-1] if end else words
        if len(ws) > len(low) or (end and len(ws) != len(low)):
            continue
        # An end-anchored rule ('$') is more specific than the same prefix.
        if all(w.encode() == a for w, a in zip(ws, low)) and len(words) > blen:
            best, blen = mode, len(words)
    return best


# ---------------------------------------------------------- compare ----

def rtype(r):
    return r[0]


def sort_key(r):
    return repr(r)


def sorted_reply(r):
    if r[0] in "*~>" and r[1] is not None:
        return (r[0], tuple(sorted(r[1], key=sort_key)))
    if r[0] == "%":
        return ("%", tuple(sorted(r[1], key=sort_key)))
    return r


def pairs_sorted(r):
    """A map, or a RESP2 flat key/value array, with its pairs in key order."""
    ps = pairs_of(r)
    if ps is None:
        return r
    ps = sorted(ps, key=sort_key)
    if r[0] == "%":
        return ("%", tuple(ps))
    return ("*", tuple(x for kv in ps for x in kv))


def is_subcommand_list(r):
    return r[0] == "*" and r[1] and all(
        e[0] == "*" and e[1] and e[1][0][0] == "$" and b"|" in (e[1][0][1] or b"")
        for e in r[1])


def canon_subcommands(r):
    """COMMAND INFO / DOCS with every container's subcommands in name order:
    Redis lists them in its (randomly seeded) dict order, so even two Redis
    servers disagree. Everything else keeps its order."""
    t = r[0]
    if t in "*~>" and r[1] is not None:
        if is_subcommand_list(r):
            return (t, tuple(sorted((canon_subcommands(e) for e in r[1]), key=sort_key)))
        items = [canon_subcommands(e) for e in r[1]]
        if t == "*":
            # RESP2 DOCS: ..., "subcommands", [name, docs, name, docs...]
            for i in range(len(items) - 1):
                if items[i] == ("$", b"subcommands"):
                    items[i + 1] = pairs_sorted(items[i + 1])
        return (t, tuple(items))
    if t == "%":
        pairs = []
        for k, v in r[1]:
            v = canon_subcommands(v)
            if k == ("$", b"subcommands"):
                v = pairs_sorted(v)
            pairs.append((k, v))
        return ("%", tuple(pairs))
    return r


SINGLE_RULE = re.compile(rb"^[+-][^@]")


def canon_acl_text(b):
    """Sort each run of single-command rules in an ACL rule string; parens
    of selectors become their own tokens so '(~x -@all +get)' works too."""
    toks = b.replace(b"(", b"( ").replace(b")", b" )").split(b" ")
    out, run = [], []
    for t in toks + [None]:
        if t is not None and SINGLE_RULE.match(t):
            run.append(t)
            continue
        out.extend(sorted(run))
        run = []
        if t is not None:
            out.append(t)
    return b" ".join(out).replace(b"( ", b"(").replace(b" )", b")")


def canon_acl(r):
    t = r[0]
    if t in "$+" and r[1] is not None:
        return (t, canon_acl_text(r[1]))
    if t in "*~>" and r[1] is not None:
        return (t, tuple(canon_acl(e) for e in r[1]))
    if t == "%":
        return ("%", tuple((canon_acl(k), canon_acl(v)) for k, v in r[1]))
    return r


def is_subset(a, b):
    """b's elements form a sub-multiset of a's (same aggregate kind)."""
    if a[0] != b[0] or a[0] not in "*~>" or a[1] is None or b[1] is None:
        return a == b
    pool = list(a[1])
    for e in b[1]:
        if e not in pool:
            return False
        pool.remove(e)
    return True


def num(r):
    try:
        return float(r[1])
    except (TypeError, ValueError):
        return None


def approx_eq(a, b, tol):
    if a[0] != b[0]:
        return False
    if a[0] in ":," and num(a) is not None and num(b) is not None:
        return abs(num(a) - num(b)) <= tol
    if a[0] in "*~>" and a[1] is not None and b[1] is not None:
        return len(a[1]) == len(b[1]) and all(approx_eq(x, y, tol) for x, y in zip(a[1], b[1]))
    if a[0] == "%":
        return len(a[1]) == len(b[1]) and all(
            approx_eq(ka, kb, tol) and approx_eq(va, vb, tol)
            for (ka, va), (kb, vb) in zip(a[1], b[1]))
    return a == b


def pairs_of(r):
    if r[0] == "%":
        return list(r[1])
    if r[0] == "*" and r[1] is not None and len(r[1]) % 2 == 0:
        return [(r[1][i], r[1][i + 1]) for i in range(0, len(r[1]), 2)]
    return None


def fields_eq(a, b, fields):
    """fields is a set of names, or "*": every value by type, and a value
    that is itself a map (or RESP2 key/value array) compared the same way."""
    if a[0] != b[0]:
        return False
    if a[0] in "*~>" and a[1] and b[1] and all(e[0] in "*%" for e in a[1] + b[1]):
        return len(a[1]) == len(b[1]) and all(fields_eq(x, y, fields) for x, y in zip(a[1], b[1]))
    pa, pb = pairs_of(a), pairs_of(b)
    if pa is None or pb is None:
        return a == b
    if len(pa) != len(pb):
        return False
    for (ka, va), (kb, vb) in zip(pa, pb):
        if ka != kb:
            return False
        if fields == "*":
            if va[0] != vb[0]:
                return False
            if va[0] in "%*" and not fields_eq(va, vb, "*"):
                return False
        elif ka[1] is not None and ka[1].decode("latin-1") in fields:
            if va[0] != vb[0]:
                return False
        elif va != vb:
            return False
    return True


MONITOR_HEAD = re.compile(rb"^\d+\.\d{6} \[(\d+) [^\]]*\] ")


def monitor_masked(r):
    """A MONITOR line with the parts that describe the moment and the
    connection (time, client address) masked: "+TIME [db ADDR] args"."""
    if r[0] == "+" and r[1] is not None:
        return ("+", MONITOR_HEAD.sub(rb"TIME [\1 ADDR] ", r[1]))
    return r
def elements_eq(a, b, positions):
    """An array of arrays (SLOWLOG GET, LATENCY LATEST): in every element,
    the given positions compare by type only, the rest exactly."""
    if a[0] != b[0] or a[0] not in "*~" or a[1] is None or b[1] is None:
        return a == b
    if len(a[1]) != len(b[1]):
        return False
    for ea, eb in zip(a[1], b[1]):
        if ea[0] != eb[0] or ea[0] not in "*~" or ea[1] is None or eb[1] is None:
            if ea != eb:
                return False
            continue
        if len(ea[1]) != len(eb[1]):
            return False
        for i, (x, y) in enumerate(zip(ea[1], eb[1])):
            if (x[0] != y[0]) if i in positions else (x != y):
                return False
    return True


def same(a, b, mode):
    if a[0] == "SEQ" and b[0] == "SEQ":
        return len(a[1]) == len(b[1]) and all(same(x, y, mode) for x, y in zip(a[1], b[1]))
    if mode == "skip":
        return True
    if mode == "monitor":
        return monitor_masked(a) == monitor_masked(b)
    # An error is never a measurement: whatever the mode, two errors must
    # say the same thing (a "type" rule for a command's replies must not
    # hide a wrong error text for its bad arguments).
    if a[0] == "-" and b[0] == "-":
        return a == b
    if mode == "type":
        return rtype(a) == rtype(b)
    if mode == "sorted":
        return sorted_reply(a) == sorted_reply(b)
    if mode == "pairs-sorted":
        return pairs_sorted(a) == pairs_sorted(b)
    if mode == "subcommands-unordered":
        return canon_subcommands(a) == canon_subcommands(b)
    if mode == "acl-rules":
        return canon_acl(a) == canon_acl(b)
    if mode == "subset":
        return is_subset(a, b)
    if mode == "length":
        return a[0] == b[0] and (a[1] is None) == (b[1] is None) and len(a[1] or b"") == len(b[1] or b"")
    if mode.startswith("approx:"):
        return approx_eq(a, b, int(mode[7:]))
    if mode == "fields-type:*":
        return fields_eq(a, b, "*")
    if mode.startswith("fields-type:"):
        return fields_eq(a, b, set(mode[12:].split(",")))
    if mode.startswith("elements-type:"):
        return elements_eq(a, b, {int(x) for x in mode[14:].split(",")})
    return a == b


def esc(b):
    return quote(b) if b != b"" else '""'


def qq(b):
    q = quote(b)
    return q if q.startswith('"') else '"' + q + '"'


def show(r, limit=400):
    s = render(r)
    return s if len(s) <= limit else s[:limit] + "...(%d chars)" % len(s)


def render(r):
    t = r[0]
    if t == "TIMEOUT":
        return "(no reply before the timeout)"
    if t == "CLOSED":
        return "(connection closed without a reply)"
    if t == "MALFORMED":
        return "(malformed reply: %s)" % r[1]
    if t == "RAW":
        return "raw %s, connection %s" % (esc(r[1]), r[2])
    if t == "SCAN":
        return "full SCAN -> %s" % render(r[1])
    if t == "SEQ":
        return " ; ".join(render(x) for x in r[1])
    if t in "+-:,#(":
        return t + r[1].decode("latin-1")
    if t == "_":
        return "_(null)"
    if t == "$":
        return "nil" if r[1] is None else qq(r[1])
    if t in "!=":
        return t + qq(r[1])
    if t in "*~>":
        if r[1] is None:
            return "*nil"
        o, c = {"*": ("[", "]"), "~": ("~{", "}"), ">": (">[", "]")}[t]
        return o + ", ".join(render(x) for x in r[1]) + c
    if t == "%":
        return "%{" + ", ".join(render(k) + ": " + render(v) for k, v in r[1]) + "}"
    if t == "|":
        return "|{" + ", ".join(render(k) + ": " + render(v) for k, v in r[1]) + "} " + render(r[2])
    return repr(r)


def first_diff(a, b, path=""):
    """Where two replies first part, for long aggregates (COMMAND DOCS...)."""
    if a[0] != b[0] or a[0] not in "*~>%" or a[1] is None or b[1] is None:
        return path, a, b
    ea = a[1] if a[0] != "%" else [x for kv in a[1] for x in kv]
    eb = b[1] if b[0] != "%" else [x for kv in b[1] for x in kv]
    for i, (x, y) in enumerate(zip(ea, eb)):
        if x != y:
            return first_diff(x, y, "%s[%d]" % (path, i))
    return path + " (length %d vs %d)" % (len(ea), len(eb)), a, b


# ----------------------------------------------------------- engine ----

class Pair:
    """The connections to the reference (a) and the candidate (b), in
    lockstep: one pair per connection name (@conn), the current one in use."""

    def __init__(self, opts):
        self.opts = opts
        self.conns = {}
        self.cur = "1"
        self.open()

    @property
    def a(self):
        return self.conns[self.cur][0]

    @property
    def b(self):
        return self.conns[self.cur][1]

    def open(self):
        self.conns[self.cur] = (Conn(self.opts.a_port, self.opts.timeout),
                                Conn(self.opts.b_port, self.opts.timeout))

    def use(self, name):
        self.cur = name
        if name not in self.conns:
            self.open()

    def close(self):
        for a, b in self.conns.values():
            a.close()
            b.close()
        self.conns = {}

    def reopen_closed(self):
        a, b = self.conns[self.cur]
        if a.closed:
            a = Conn(self.opts.a_port, self.opts.timeout)
        if b.closed:
            b = Conn(self.opts.b_port, self.opts.timeout)
        self.conns[self.cur] = (a, b)

    @staticmethod
    def one(conn, args):
        conn.send(encode(args))
        try:
            return conn.reply()
        except Timeout:
            return ("TIMEOUT",)
        except Closed:
            return ("CLOSED",)
        except Malformed as e:
            return ("MALFORMED", str(e))

    @staticmethod
    def more(conn, n):
        """n replies already on their way (one as itself, several as SEQ)."""
        out = []
        for _ in range(n):
            try:
                out.append(conn.reply())
            except Timeout:
                out.append(("TIMEOUT",))
                break
            except Closed:
                out.append(("CLOSED",))
                break
            except Malformed as e:
                out.append(("MALFORMED", str(e)))
                break
        return out[0] if n == 1 and len(out) == 1 else ("SEQ", tuple(out))

    def read(self, n, mode):
        """@read: replies pushed to the current connection, nothing sent."""
        self.reopen_closed()
        ra, rb = self.more(self.a, n), self.more(self.b, n)
        return ra, rb, self.settle(ra, rb, mode)

    def settle(self, ra, rb, mode):
        desync = False
        for c, r in ((self.a, ra), (self.b, rb)):
            rs = r[1] if r[0] == "SEQ" else (r,)
            if any(x[0] in ("TIMEOUT", "MALFORMED") for x in rs):
                # A late or half-read reply would be taken for the next one.
                c.close()
                desync = True
        if desync:
            return False
        return same(ra, rb, mode)

    def command(self, args, mode, nreplies=1):
        """Returns (reply_a, reply_b, equal)."""
        self.reopen_closed()
        if nreplies > 1:
            self.a.send(encode(args))
            self.b.send(encode(args))
            ra, rb = self.more(self.a, nreplies), self.more(self.b, nreplies)
            return ra, rb, self.settle(ra, rb, mode)
        if mode == "bytes":
            self.a.send(encode(args))
            self.b.send(encode(args))
            ra, rb = raw_both(self.a, self.b)
            return ra, rb, ra == rb
        if mode == "sorted" and args and args[0].lower() == b"scan" and len(args) >= 2:
            ra, rb = self.scan_all(self.a, args), self.scan_all(self.b, args)
            return ra, rb, ra == rb
        ra = self.one(self.a, args)
        rb = self.one(self.b, args)
        desync = False
        for c, r in ((self.a, ra), (self.b, rb)):
            if r[0] in ("TIMEOUT", "MALFORMED"):
                # A late or half-read reply would be taken for the next one.
                c.close()
                desync = True
        if desync:
            return ra, rb, False
        return ra, rb, same(ra, rb, mode)

    def scan_all(self, conn, args):
        args = list(args)
        seen = set()
        for _ in range(100000):
            r = self.one(conn, args)
            if r[0] != "*" or r[1] is None or len(r[1]) != 2 or r[1][0][0] != "$" \
                    or r[1][1][0] != "*":
                return r  # errors and oddities compare as they are
            for k in r[1][1][1]:
                seen.add(k)
            if r[1][0][1] == b"0":
                return ("SCAN", ("*", tuple(sorted(seen, key=sort_key))))
            args[1] = r[1][0][1]
        return ("SCAN", ("-", b"iteration did not finish"))

    def raw(self, data):
        self.reopen_closed()
        self.a.send(data)
        self.b.send(data)
        ra, rb = raw_both(self.a, self.b)
        return ra, rb, ra == rb


def raw_both(a, b):
    # Read both at once so a silent server costs 0.3 s, not 0.6 s.
    out = {}
    ts = [threading.Thread(target=lambda c=c: out.__setitem__(id(c), c.raw())) for c in (a, b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out[id(a)], out[id(b)]


def flushall(opts):
    # Setup for a case runs on its own connection: FLUSHALL, nothing else.
    for port in (opts.a_port, opts.b_port):
        c = Conn(port, opts.timeout)
        c.send(encode([b"FLUSHALL"]))
        r = c.reply()
        c.close()
        if r != ("+", b"OK"):
            raise RuntimeError("FLUSHALL on port %d answered %s" % (port, show(r)))


class Result:
    def __init__(self):
        self.diffs = []   # (where, text, ra, rb, mode)
        self.count = 0


def run_steps(opts, rules, steps, name, stop_at_first=False):
    """Runs the steps and returns a Result with the differences found. A case
    runs to its end even after a difference, so its clean-up (CONFIG SET back
    to defaults) still happens; a random round stops at the first one."""
    res = Result()
    flushall(opts)
    pair = Pair(opts)
    timeouts = 0
    try:
        for st in steps:
            if st.kind == "sleep":
                time.sleep(st.data)
                continue
            if st.kind == "reconnect":
                pair.close()
                pair.open()
                continue
            if st.kind == "conn":
                pair.use(st.data)
                continue
            mode = "exact"
            if st.kind == "raw":
                ra, rb, eq = pair.raw(st.data)
            elif st.kind == "read":
                mode = st.mode or "exact"
                ra, rb, eq = pair.read(st.data, mode)
            else:
                mode = st.mode or rule_mode(rules, st.args)
                ra, rb, eq = pair.command(st.args, mode, st.nreplies)
            res.count += 1
            if opts.show:
                print("  %s:%d %s\n    %s: %s%s" % (
                    name, st.lineno, st.text(), opts.a_name, show(ra, 300),
                    "" if eq else "\n    %s: %s  <-- DIFF" % (opts.b_name, show(rb, 300))))
            if not eq:
                res.diffs.append(("%s:%d" % (name, st.lineno), st.text(), ra, rb, mode))
                if stop_at_first:
                    break
            if ("TIMEOUT",) in (ra, rb) or any(
                    r[0] == "SEQ" and ("TIMEOUT",) in r[1] for r in (ra, rb)):
                timeouts += 1
                if timeouts >= 2:
                    # A server that stopped answering would cost the timeout
                    # on every remaining line.
                    res.diffs.append(("%s:%d" % (name, st.lineno), "(case abandoned)",
                                      ("-", b"two replies timed out"), ("-", b""), "exact"))
                    break
        else:
            # Bytes nobody asked for (a reply sent twice, a stray CRLF) would
            # otherwise hide behind the end of the case.
            if not (stop_at_first and res.diffs):
                for cname in sorted(pair.conns):
                    pair.use(cname)
                    pair.reopen_closed()
                    ra, rb = raw_both_idle(pair.a, pair.b, 0.05)
                    if ra != rb:
                        res.diffs.append(("%s:end" % name, "(bytes left unread after the last reply"
                                          " on connection %s)" % cname, ra, rb, "exact"))
    finally:
        pair.close()
    return res


def raw_both_idle(a, b, idle):
    return a.raw(idle=idle, limit=idle * 4), b.raw(idle=idle, limit=idle * 4)


def describe(opts, d):
    where, text, ra, rb, mode = d
    # Point into the forms actually compared (sorted, canonical...).
    ca, cb = ra, rb
    if ra[0] not in ("RAW", "SCAN", "TIMEOUT", "CLOSED", "MALFORMED", "SEQ"):
        canon = {"sorted": sorted_reply, "pairs-sorted": pairs_sorted,
                 "subcommands-unordered": canon_subcommands, "acl-rules": canon_acl,
                 "monitor": monitor_masked}.get(mode)
        if canon:
            ca, cb = canon(ra), canon(rb)
    path, xa, xb = first_diff(ca, cb) if ra[0] not in ("RAW", "SCAN", "SEQ") else ("", ra, rb)
    s = "line %s: %s | %s: %s | %s: %s" % (where.rsplit(":", 1)[1], text,
                                           opts.a_name, show(ra), opts.b_name, show(rb))
    if path and (xa is not ca):
        s += " | first difference at %s: %s vs %s" % (path, show(xa, 200), show(xb, 200))
    return s


# ----------------------------------------------------------- random ----

KEYS = [b"k%d" % i for i in range(8)] + [b"k\x00bin", b"{k}9"]
VALUES = [b"", b"0", b"1", b"-1", b"7", b"42", b"10.5", b"3.0e3", b"-0", b"01", b" 1",
          b"9223372036854775807", b"-9223372036854775808", b"9223372036854775808",
          b"abc", b"hello world", b"\x00\x01\xff", b"a\r\nb", b"inf", b"nan",
          b"1e308", b"0.1", b"x" * 50, b"12345678901234567890"]
INTS = [b"0", b"1", b"-1", b"5", b"100", b"-100", b"9223372036854775807",
        b"-9223372036854775808", b"abc", b"1.5", b"", b"9223372036854775808"]
FLOATS = [b"0", b"1", b"-1.5", b"0.1", b"10.5", b"3.0e3", b"-3e-3", b"1e308", b"-1e308",
          b"inf", b"-inf", b"nan", b"abc", b"", b"1.1", b"2.2", b"0x10", b"5e-324"]
# Relative expiries stay long so nothing expires during a run; 0 and
# negatives are errors or immediate deletes, both deterministic.
SECS = [b"1000", b"5000", b"100000", b"0", b"-1", b"abc", b"9223372036854775807"]
MSECS = [b"1000000", b"5000000", b"0", b"-5", b"xyz", b"9223372036854775807"]
ABS_S = [b"1", b"1000", b"4102444800", b"4102444900", b"-1", b"abc"]
ABS_MS = [b"1", b"4102444800000", b"4102444800500", b"0", b"abc"]
# SET ... EXAT/PXAT in the past keeps the key (already expired) in 7.0 until
# something touches it or the active cycle runs, so DBSIZE would race; SET
# gets only future or invalid absolute times.
SET_ABS_S = [b"4102444800", b"4102444900", b"0", b"-1", b"abc"]
SET_ABS_MS = [b"4102444800000", b"4102444800500", b"0", b"abc"]
OFFSETS = [b"0", b"1", b"3", b"5", b"10", b"-1", b"-3", b"-100", b"100",
           b"9223372036854775807", b"-9223372036854775808", b"abc"]
PATTERNS = [b"*", b"k*", b"k?", b"k[0-3]", b"k[^0-3]", b"*bin", b"{k}*", b"nomatch*",
            b"k\\*", b"*[", b"k[1", b"?"]


def gen(rnd):
    """One random command: (args, mode). Options are shuffled in and
    sometimes invalid, so error paths are exercised too."""
    R = rnd.choice
    k, k2, v = R(KEYS), R(KEYS), R(VALUES)

    def opt(p):
        return rnd.random() < p

    c = rnd.randrange(100)
    if c < 8:
        a = [b"SET", k, v]
        pool = [[b"NX"], [b"XX"], [b"GET"], [b"KEEPTTL"], [b"EX", R(SECS)],
                [b"PX", R(MSECS)], [b"EXAT", R(SET_ABS_S)], [b"PXAT", R(SET_ABS_MS)], [b"BOGUS"],
                [b"EX"]]
        for o in rnd.sample(pool, rnd.choice([0, 0, 1, 1, 2, 3])):
            a += o
        return a, None
    if c < 12:
        return [b"GET", k], None
    if c < 14:
        return [R([b"SETNX", b"GETSET", b"APPEND"]), k, v], None
    if c < 16:
        return [b"SETEX", k, R(SECS), v], None
    if c < 17:
        return [b"PSETEX", k, R(MSECS), v], None
    if c < 20:
        return [b"MGET"] + rnd.sample(KEYS, rnd.randint(1, 4)), None
    if c < 22:
        a = [R([b"MSET", b"MSETNX"])]
        for _ in range(rnd.randint(1, 3)):
            a += [R(KEYS), R(VALUES)]
        if opt(0.1):
            a.append(R(KEYS))
        return a, None
    if c < 24:
        return [b"GETDEL", k], None
    if c < 27:
        a = [b"GETEX", k]
        pool = [[b"PERSIST"], [b"EX", R(SECS)], [b"PX", R(MSECS)], [b"EXAT", R(ABS_S)],
                [b"PXAT", R(ABS_MS)], [b"KEEPTTL"]]
        for o in rnd.sample(pool, rnd.choice([0, 1, 1, 2])):
            a += o
        return a, None
    if c < 29:
        return [b"STRLEN", k], None
    if c < 33:
        return [R([b"INCR", b"DECR"]), k], None
    if c < 36:
        return [R([b"INCRBY", b"DECRBY"]), k, R(INTS)], None
    if c < 39:
        return [b"INCRBYFLOAT", k, R(FLOATS)], None
    if c < 42:
        return [R([b"GETRANGE", b"SUBSTR"]), k, R(OFFSETS), R(OFFSETS)], None
    if c < 44:
        off = R([b"0", b"1", b"4", b"7", b"12", b"-1", b"536870912", b"abc"])
        val = R([b"", b"x", b"XYZ", b"\x00\xff"])
        return [b"SETRANGE", k, off, val], None
    if c < 46:
        a = [b"LCS", k, k2]
        pool = [[b"LEN"], [b"IDX"], [b"MINMATCHLEN", R([b"0", b"1", b"2", b"-1", b"x"])],
                [b"WITHMATCHLEN"], [b"BOGUS"]]
        for o in rnd.sample(pool, rnd.choice([0, 1, 1, 2])):
            a += o
        return a, None
    if c < 49:
        return [R([b"DEL", b"UNLINK", b"EXISTS", b"TOUCH"])] + \
            [R(KEYS) for _ in range(rnd.randint(1, 3))], None
    if c < 51:
        return [b"TYPE", k], None
    if c < 53:
        return [b"KEYS", R(PATTERNS)], "sorted"
    if c < 55:
        a = [b"SCAN", b"0"]
        if opt(0.5):
            a += [b"MATCH", R(PATTERNS)]
        if opt(0.5):
            a += [b"COUNT", R([b"1", b"2", b"10", b"1000", b"0", b"-1", b"x"])]
        if opt(0.3):
            a += [b"TYPE", R([b"string", b"list", b"none"])]
        return a, "sorted"
    if c < 56:
        return [b"RANDOMKEY"], "type"
    if c < 59:
        return [R([b"RENAME", b"RENAMENX"]), k, k2], None
    if c < 61:
        a = [b"COPY", k, k2]
        if opt(0.4):
            a += [b"DB", R([b"0", b"1", b"2", b"16", b"-1", b"x"])]
        if opt(0.4):
            a.append(b"REPLACE")
        return a, None
    if c < 62:
        return [b"MOVE", k, R([b"0", b"1", b"2", b"16", b"x"])], None
    if c < 63:
        return [b"SELECT", R([b"0", b"0", b"1", b"2", b"16", b"-1", b"x"])], None
    if c < 64:
        return [b"SWAPDB", R([b"0", b"1", b"2"]), R([b"0", b"1", b"2", b"16", b"x"])], None
    if c < 66:
        return [b"DBSIZE"], None
    if c < 67 and opt(0.3):
        return [R([b"FLUSHDB", b"FLUSHALL"])] + R([[], [b"ASYNC"], [b"SYNC"], [b"BOGUS"]]), None
    if c < 72:
        # Relative EXPIRE/PEXPIRE take NX/XX (which depend only on whether a
        # TTL exists); GT/LT go with absolute times, since comparing two
        # relative times set within the same millisecond is a timing race.
        if opt(0.5):
            a = [R([b"EXPIRE", b"PEXPIRE"]), k]
            a.append(R(SECS) if a[0] == b"EXPIRE" else R(MSECS))
            pool = [[b"NX"], [b"XX"], [b"GT"], [b"LT"], [b"FOO"]] if opt(0.1) else [[b"NX"], [b"XX"]]
        else:
            a = [R([b"EXPIREAT", b"PEXPIREAT"]), k]
            a.append(R(ABS_S) if a[0] == b"EXPIREAT" else R(ABS_MS))
            pool = [[b"NX"], [b"XX"], [b"GT"], [b"LT"], [b"FOO"]]
        for o in rnd.sample(pool, rnd.choice([0, 1, 1, 2])):
            a += o
        return a, None
    if c < 75:
        return [R([b"TTL", b"EXPIRETIME"]), k], "approx:1"
    if c < 77:
        return [R([b"PTTL", b"PEXPIRETIME"]), k], "approx:500"
    if c < 79:
        return [b"PERSIST", k], None
    if c < 82:
        return [b"OBJECT", R([b"ENCODING", b"REFCOUNT", b"FREQ", b"ENCODING"]), k], None
    if c < 83:
        # Type only: a key holding a small integer shares one object with
        # every such key in Redis, so its idle time is that shared object's
        # (often the server's uptime), not the key's.
        return [b"OBJECT", b"IDLETIME", k], "type"
    if c < 86:
        return [R([b"ECHO", b"PING"]), v], None
    if c < 95:
        # Plain writes keep the key space populated for the commands above.
        return R([[b"SET", k, v], [b"SET", k, v], [b"APPEND", k, v], [b"INCR", k],
                  [b"MSET", k, v, k2, R(VALUES)]]), None
    # Wrong arity and unknown commands.
    bad = rnd.choice([[b"GET"], [b"GET", k, k], [b"SET", k], [b"INCR"], [b"EXPIRE", k],
                      [b"MSET", k], [b"LCS", k], [b"COPY", k], [b"RENAME", k],
                      [b"NOSUCHCMD", k], [b"GETRANGE", k, b"0"], [b"SETEX", k, b"100"]])
    return bad, None


def gen_tx(rnd, in_multi):
    """A transaction command, or None. Inside MULTI: mostly EXEC, some
    DISCARD, and the errors (nested MULTI, WATCH inside MULTI); outside:
    MULTI, WATCH of 1-3 keys, UNWATCH, and EXEC/DISCARD without MULTI."""
    x = rnd.random()
    if in_multi:
        if x < 0.08:
            return [b"EXEC"]
        if x < 0.09:
            return [b"DISCARD"]
        if x < 0.095:
            return rnd.choice([[b"MULTI"], [b"WATCH", rnd.choice(KEYS)]])
        return None
    if x < 0.02:
        return [b"MULTI"]
    if x < 0.035:
        return [b"WATCH"] + rnd.sample(KEYS, rnd.randint(1, 3))
    if x < 0.038:
        return rnd.choice([[b"UNWATCH"], [b"EXEC"], [b"DISCARD"]])
    return None


def random_steps(seed, count):
    rnd = random.Random(seed)
    steps = []
    in_multi = False
    for i in range(count):
        tx = gen_tx(rnd, in_multi)
        if tx:
            if tx[0] == b"MULTI":
                in_multi = True
            elif tx[0] in (b"EXEC", b"DISCARD"):
                in_multi = False
            steps.append(Step("cmd", tx, lineno=i + 1))
            continue
        args, mode = gen(rnd)
        # Inside MULTI the reply is QUEUED and the real one arrives inside
        # EXEC's array, where per-command comparison modes cannot reach:
        # queue only commands whose replies compare exactly.
        # OBJECT REFCOUNT too: inside EXEC Redis's queued argv still holds
        # a reference to values it just stored (INCRBYFLOAT's), an artifact
        # of its object sharing.
        while in_multi and (mode is not None or args[:2] == [b"OBJECT", b"REFCOUNT"]):
            args, mode = gen(rnd)
        steps.append(Step("cmd", args, mode=mode, lineno=i + 1))
    return steps


# ------------------------------------------------------------- main ----

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--a-port", type=int, required=True, help="reference server port")
    p.add_argument("--b-port", type=int, required=True, help="candidate server port")
    p.add_argument("--a-name", default="redis")
    p.add_argument("--b-name", default="strata")
    p.add_argument("--allowed", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                     "allowed-differences.txt"))
    p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for a reply")
    p.add_argument("--show", action="store_true", help="print every command and reply")
    p.add_argument("--all-diffs", action="store_true",
                   help="list every difference in a case, not just the first")
    p.add_argument("--random", action="store_true", help="run a random round")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--dump", help="write the random round as a case file")
    p.add_argument("cases", nargs="*")
    opts = p.parse_args()

    rules = load_rules(opts.allowed)
    passed = failed = 0

    def report(name, res):
        nonlocal passed, failed
        if not res.diffs:
            passed += 1
            print("PASS %s (%d replies)" % (name, res.count))
        else:
            failed += 1
            more = len(res.diffs) - 1
            print("FAIL %s: %s%s" % (name, describe(opts, res.diffs[0]),
                                     " (+%d more; --all-diffs lists them)" % more
                                     if more and not opts.all_diffs else ""))
            for d in res.diffs[1:] if opts.all_diffs else []:
                print("     %s: %s" % (name, describe(opts, d)))
        sys.stdout.flush()

    for path in opts.cases:
        name = os.path.basename(path)
        try:
            steps = parse_case(path)
            res = run_steps(opts, rules, steps, name)
        except (ParseError, OSError, RuntimeError) as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
            continue
        report(name, res)

    if opts.random:
        seed = opts.seed if opts.seed is not None else random.randrange(1 << 31)
        steps = random_steps(seed, opts.count)
        if opts.dump:
            with open(opts.dump, "w") as f:
                f.write("# random round: seed %d, %d commands\n" % (seed, opts.count))
                for st in steps:
                    if st.mode:
                        f.write({"sorted": "@sorted", "type": "@ignore"}.get(
                            st.mode, "@approx " + st.mode.split(":")[-1]) + "\n")
                    f.write(st.text(full=True) + "\n")
        name = "random seed=%d count=%d" % (seed, opts.count)
        try:
            res = run_steps(opts, rules, steps, "random", stop_at_first=True)
        except (OSError, RuntimeError) as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
        else:
            if res.diffs:
                failed += 1
                where, text, ra, rb, _ = res.diffs[0]
                print("FAIL %s: seed %d, command #%s: %s | %s: %s | %s: %s" % (
                    name, seed, where.split(":")[1], text, opts.a_name, show(ra),
                    opts.b_name, show(rb)))
                print("     replay: redis-compat/run.sh --random --seed %d --count %s"
                      " (add --dump FILE to get the sequence as a case file)"
                      % (seed, where.split(":")[1]))
            else:
                passed += 1
                print("PASS %s (%d replies)" % (name, res.count))

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
