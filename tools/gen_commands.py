#!/usr/bin/env python3
"""Generate src/commands.def, strata's one command table, from a running
Redis 7.0 reference server's COMMAND INFO and COMMAND DOCS.

Usage: tools/gen_commands.py PORT > src/commands.def

Only the commands strata serves (SERVED below) are emitted. Arity, flags,
ACL categories and the legacy key positions become C fields; key specs, tips
and the docs map stay as RESP3-encoded blobs that COMMAND INFO / COMMAND DOCS
replay (converted to RESP2 on the fly for RESP2 clients). Run once when the
served set changes; the output is committed so builds never need a server.
"""
import socket, sys

SERVED = """
get set setnx setex psetex mget mset msetnx getset getdel getex append strlen
incr decr incrby decrby incrbyfloat getrange setrange substr lcs
del unlink exists type keys scan randomkey rename renamenx copy move dbsize
flushdb flushall expire pexpire expireat pexpireat ttl pttl expiretime
pexpiretime persist touch object swapdb
ping echo quit hello auth select reset time info config client command shutdown
multi exec discard watch unwatch
acl
subscribe unsubscribe psubscribe punsubscribe publish pubsub ssubscribe
sunsubscribe spublish monitor
slowlog latency memory debug
save bgsave lastsave
""".split()
# Subcommands a container serves; others answer "unknown subcommand".
SUBS = {
    "object": "encoding freq idletime refcount help".split(),
    "config": "get set resetstat rewrite help".split(),
    "client": "id setname getname list info kill reply no-evict pause unpause help".split(),
    "command": "count info docs list getkeys getkeysandflags help".split(),
    "acl": "cat deluser dryrun genpass getuser help list load log save setuser users whoami".split(),
    "pubsub": "channels numsub numpat shardchannels shardnumsub help".split(),
    "slowlog": "get len reset help".split(),
    "latency": "latest history reset doctor graph help".split(),
    "memory": "usage stats doctor malloc-stats purge help".split(),
}
# Redis 7.0 marks these CMD_PROTECTED internally (not shown by COMMAND INFO):
# they run only when their enable-* config allows the connection.
PROTECTED = {"debug"}
# Redis 7.2 added CLIENT SETINFO; clients send it on connect, so we serve it
# with the 7.2 metadata written by hand (the 7.0 reference has no entry).
EXTRA_SUBS = {
    "client|setinfo": dict(arity=4, flags=["noscript", "loading", "stale"],
                           acl=["@slow", "@connection"],
                           docs_summary="Sets information specific to the client or connection.",
                           since="7.2.0"),
}

class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")
    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.read()
    def read(self):
        line = self.f.readline()[:-2]
        t, rest = line[:1], line[1:]
        if t in (b"+",):
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return None
            d = self.f.read(n + 2)[:-2]
            return d.decode()
        if t in (b"*", b"~", b">"):
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        if t == b"%":
            n = int(rest)
            m = {}
            for _ in range(n):
                k = self.read()
                m[k] = self.read()
            return m
        if t == b"_":
            return None
        if t == b"#":
            return rest == b"t"
        if t == b",":
            return float(rest)
        raise RuntimeError("unexpected %r" % line)

def resp3(v, setlike=False):
    """Encode v as RESP3: dicts become maps, lists arrays (sets for flags)."""
    if isinstance(v, dict):
        out = b"%%%d\r\n" % len(v)
        for k, x in v.items():
            out += resp3(k) + resp3(x, setlike=(k == "flags"))
        return out
    if isinstance(v, list):
        out = (b"~%d\r\n" if setlike else b"*%d\r\n") % len(v)
        for x in v:
            out += resp3(x)
        return out
    if isinstance(v, bool):
        return b"#t\r\n" if v else b"#f\r\n"
    if isinstance(v, int):
        return b":%d\r\n" % v
    if v is None:
        return b"_\r\n"
    s = v.encode()
    # Short identifiers as simple strings the way Redis sends them would
    # require knowing Redis's choice per field; bulk strings are what Redis
    # uses for every docs/key-spec value except flags, which are simple.
    return b"$%d\r\n%s\r\n" % (len(s), s)

def simple_set(items):
    out = b"~%d\r\n" % len(items)
    for x in items:
        out += b"+%s\r\n" % x.encode()
    return out

def c_lit(b):
    return '"' + "".join(
        chr(c) if 32 <= c < 127 and chr(c) not in '"\\?' else "\\%03o" % c
        for c in b) + '"'

FLAG_C = {
    "write": "CMD_WRITE", "readonly": "CMD_READONLY", "denyoom": "CMD_DENYOOM",
    "admin": "CMD_ADMIN", "pubsub": "CMD_PUBSUB", "noscript": "CMD_NOSCRIPT",
    "blocking": "CMD_BLOCKING", "loading": "CMD_LOADING", "stale": "CMD_STALE",
    "skip_monitor": "CMD_SKIP_MONITOR", "skip_slowlog": "CMD_SKIP_SLOWLOG",
    "asking": "CMD_ASKING", "fast": "CMD_FAST", "no_auth": "CMD_NO_AUTH",
    "may_replicate": "CMD_MAY_REPLICATE", "no_mandatory_keys": "CMD_NO_MANDATORY_KEYS",
    "no_multi": "CMD_NO_MULTI", "movablekeys": "CMD_MOVABLE_KEYS",
    "allow_busy": "CMD_ALLOW_BUSY",
}

def key_specs_blob(specs):
    # Key specs are maps whose nested "flags" are sets of simple strings.
    out = b"*%d\r\n" % len(specs)
    for ks in specs:
        out += b"%%%d\r\n" % len(ks)
        for k, v in ks.items():
            out += resp3(k)
            if k == "flags":
                out += simple_set(v)
            elif isinstance(v, dict):
                out += b"%%%d\r\n" % len(v)
                for k2, v2 in v.items():
                    out += resp3(k2)
                    if isinstance(v2, dict):
                        out += b"%%%d\r\n" % len(v2)
                        for k3, v3 in v2.items():
                            out += resp3(k3) + resp3(v3)
                    else:
                        out += resp3(v2)
            else:
                out += resp3(v)
    return out

def docs_blob(d):
    out = b"%%%d\r\n" % len(d)
    for k, v in d.items():
        out += resp3(k)
        if k in ("subcommands",):
            continue  # never reached: subcommands are emitted separately
        if k == "doc_flags":
            out += simple_set(v)
        elif k == "arguments":
            out += args_blob(v)
        elif k == "history":
            out += b"~%d\r\n" % len(v)   # a set of [version, change] pairs
            for h in v:
                out += resp3(h)
        else:
            out += resp3(v)
    return out

def args_blob(args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"%%%d\r\n" % len(a)
        for k, v in a.items():
            out += resp3(k)
            if k == "flags":
                out += simple_set(v)
            elif k == "arguments":
                out += args_blob(v)
            else:
                out += resp3(v)
    return out

def emit(name, parent, info, docs, handler):
    _, arity, flags, first, last, step, acl, tips, specs = info[:9]
    fl = "|".join(FLAG_C[f] for f in flags if f in FLAG_C) or "0"
    if name in PROTECTED:
        fl = "CMD_PROTECTED" if fl == "0" else fl + "|CMD_PROTECTED"
    d = dict(docs) if docs else {}
    d.pop("subcommands", None)
    print("CMD(%s, %s, %d, %s, %d, %d, %d, %s,\n    %s,\n    %s,\n    %s)\n" % (
        c_lit(name.encode()), c_lit(parent.encode()), arity, fl, first, last, step,
        c_lit(" ".join(acl).encode()), handler,
        c_lit(resp3(tips) if tips else b"*0\r\n") + ", " + c_lit(key_specs_blob(specs)),
        c_lit(docs_blob(d))))

def main():
    c = Conn(int(sys.argv[1]))
    c.cmd("HELLO", "3")
    print("/* Generated by tools/gen_commands.py from redis-server %s: strata's\n"
          " * one command table. Fields: name, parent container (\"\" at top level),\n"
          " * arity, flags, first/last/step key positions, ACL categories,\n"
          " * handler, tips+key specs (RESP3), docs (RESP3). Do not edit by hand;\n"
          " * change SERVED in the generator and re-run it. */\n" %
          c.cmd("INFO", "server").split("redis_version:")[1].split("\r\n")[0])
    for name in SERVED:
        info = c.cmd("COMMAND", "INFO", name)[0]
        docs = c.cmd("COMMAND", "DOCS", name)[name]
        subs = info[9] if len(info) > 9 else []
        handler = "cmd_" + name.replace("-", "_") if (not subs or name == "command") else "NULLPROC"
        emit(name, "", info, docs, handler)
        # Redis lists subcommands in its randomly seeded dict order; sort them
        # so that regenerating the table does not reshuffle it.
        for sub in sorted(subs, key=lambda s: s[0]):
            full = sub[0]
            sname = full.split("|")[1]
            if sname not in SUBS.get(name, []):
                continue
            sdocs = docs.get("subcommands", {}).get(full, {})
            emit(full, name, sub, sdocs, "cmd_" + full.replace("|", "_").replace("-", "_"))
    for full, e in EXTRA_SUBS.items():
        info = [full, e["arity"], e["flags"], 0, 0, 0, e["acl"], [], []]
        docs = {"summary": e["docs_summary"], "since": e["since"],
                "group": "connection", "complexity": "O(1)"}
        emit(full, full.split("|")[0], info, docs, "cmd_" + full.replace("|", "_"))

if __name__ == "__main__":
    main()
