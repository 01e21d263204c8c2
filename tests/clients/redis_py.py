#!/usr/bin/python3
"""redis_py.py: strata through redis-py, Debian's python3-redis (4.3.4 on
bookworm), the way an application uses it: typed helpers, pipelines,
optimistic locking with WATCH, pub/sub, scan_iter, connection naming and
the mapping of error replies to exceptions.

Run by tests/clients/run.sh with /usr/bin/python3 (Debian's interpreter,
where python3-redis lives; not a pyenv python from PATH). Each check uses
its own key prefix, so checks do not depend on one another.
"""
import inspect, os, sys, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check, eq, main, served, Skip, wait_until  # noqa: E402
import common  # noqa: E402

import redis  # noqa: E402


def R(**kw):
    kw.setdefault("decode_responses", True)
    kw.setdefault("socket_timeout", 10)
    return redis.Redis(host="127.0.0.1", port=common.ARGS.port, **kw)


def raises(fn, exc, text=None):
    """Call fn; it must raise exc (exactly that class or a subclass) whose
    str() is text when text is given. Returns the exception."""
    try:
        fn()
    except exc as e:
        if text is not None and str(e) != text:
            raise AssertionError("%s: expected text %r, got %r" % (exc.__name__, text, str(e)))
        return e
    raise AssertionError("expected %s%s, got no error" % (exc.__name__, " %r" % text if text else ""))


def near(got, lo, hi, what):
    if not (lo <= got <= hi):
        raise AssertionError("%s: expected %s..%s, got %r" % (what, lo, hi, got))


# ---- connect ----

@check("connect-resp2")
def _():
    r = R(decode_responses=False)
    eq(r.ping(), True, "PING")
    eq(r.echo("h\u00e9"), "h\u00e9".encode(), "ECHO utf-8")
    eq(r.set("c:bin", b"\x00\r\n\xff"), True, "SET binary")
    eq(r.get("c:bin"), b"\x00\r\n\xff", "GET binary")
    # CLIENT INFO parsed by redis-py (which keeps the reply's final "\n"
    # on the last field, so strip)
    info = {k: str(v).strip() for k, v in R().client_info().items()}
    eq(info.get("resp"), "2", "CLIENT INFO resp")
    eq(R().info("server").get("redis_version", "")[:2], "7.", "INFO server redis_version major")


@check("connect-resp3")
def _():
    if "protocol" not in inspect.signature(redis.Redis.__init__).parameters:
        raise Skip("redis-py %s has no protocol=3 (RESP3 arrived in redis-py 5.0); "
                   "the ioredis program covers RESP3" % redis.__version__)
    r = R(protocol=3)
    eq(r.ping(), True, "PING")
    eq(str(r.client_info().get("resp", "")).strip(), "3", "CLIENT INFO resp")


# ---- strings ----

@check("set-get-options")
def _():
    r = R()
    eq(r.set("s:a", "1"), True, "SET")
    eq(r.get("s:a"), "1", "GET")
    eq(r.get("s:missing"), None, "GET missing")
    eq(r.set("s:a", "2", nx=True), None, "SET NX on existing")
    eq(r.set("s:a", "2", xx=True), True, "SET XX on existing")
    eq(r.set("s:b", "x", xx=True), None, "SET XX on missing")
    eq(r.exists("s:b"), 0, "EXISTS after SET XX on missing")
    eq(r.set("s:a", "3", get=True), "2", "SET GET returns the old value")
    eq(r.set("s:a", "4", ex=100), True, "SET EX")
    near(r.ttl("s:a"), 99, 100, "TTL after SET EX 100")
    eq(r.set("s:a", "5", keepttl=True), True, "SET KEEPTTL")
    near(r.ttl("s:a"), 99, 100, "TTL after SET KEEPTTL")
    eq(r.set("s:a", "6"), True, "SET without options")
    eq(r.ttl("s:a"), -1, "SET without KEEPTTL clears the TTL")
    eq(r.set("s:a", "7", px=50000), True, "SET PX")
    near(r.pttl("s:a"), 49000, 50000, "PTTL after SET PX 50000")
    at = int(time.time()) + 100
    eq(r.set("s:a", "8", exat=at), True, "SET EXAT")
    eq(r.expiretime("s:a"), at, "EXPIRETIME after SET EXAT")
    eq(r.set("s:a", "9", pxat=at * 1000 + 500), True, "SET PXAT")
    eq(r.pexpiretime("s:a"), at * 1000 + 500, "PEXPIRETIME after SET PXAT")
    eq(r.set("s:c", "v", nx=True, get=True), None, "SET NX GET on missing (7.0)")
    eq(r.get("s:c"), "v", "GET after SET NX GET")
    eq(r.setnx("s:c", "w"), False, "SETNX existing")
    eq(r.setnx("s:d", "w"), True, "SETNX missing")
    eq(r.setex("s:e", 100, "v"), True, "SETEX")
    eq(r.psetex("s:f", 100000, "v"), True, "PSETEX")
    near(r.pttl("s:f"), 99000, 100000, "PTTL after PSETEX")
    eq(r.getset("s:e", "n"), "v", "GETSET")
    eq(r.ttl("s:e"), -1, "GETSET clears the TTL")
    eq(r.getdel("s:e"), "n", "GETDEL")
    eq(r.exists("s:e"), 0, "EXISTS after GETDEL")
    eq(r.getex("s:f", persist=True), "v", "GETEX PERSIST")
    eq(r.ttl("s:f"), -1, "TTL after GETEX PERSIST")
    eq(r.getex("s:f", ex=50), "v", "GETEX EX")
    near(r.ttl("s:f"), 49, 50, "TTL after GETEX EX 50")
    eq(r.append("s:g", "ab"), 2, "APPEND new")
    eq(r.append("s:g", "cd"), 4, "APPEND existing")
    eq(r.strlen("s:g"), 4, "STRLEN")
    eq(r.getrange("s:g", 1, 2), "bc", "GETRANGE")
    eq(r.getrange("s:g", -3, -1), "bcd", "GETRANGE negative")
    eq(r.setrange("s:g", 6, "x"), 7, "SETRANGE past the end")
    eq(r.get("s:g"), "abcd\x00\x00x", "GET after SETRANGE pads with zero bytes")
    eq(r.mset({"s:l1": "ohmytext", "s:l2": "mynewtext"}), True, "MSET for LCS")
    eq(r.lcs("s:l1", "s:l2"), "mytext", "LCS")
    eq(r.lcs("s:l1", "s:l2", len=True), 6, "LCS LEN")
    raises(lambda: r.set("s:a", "x", ex=0), redis.ResponseError,
           "invalid expire time in 'set' command")


@check("mget-mset")
def _():
    r = R()
    eq(r.mset({"m:1": "a", "m:2": "b"}), True, "MSET")
    eq(r.mget(["m:1", "m:missing", "m:2"]), ["a", None, "b"], "MGET with a missing key")
    eq(r.mget("m:1", "m:2"), ["a", "b"], "MGET varargs")
    eq(r.msetnx({"m:2": "x", "m:3": "c"}), False, "MSETNX with one existing key")
    eq(r.exists("m:3"), 0, "MSETNX sets nothing when one key exists")
    eq(r.get("m:2"), "b", "MSETNX left the existing key alone")
    eq(r.msetnx({"m:3": "c", "m:4": "d"}), True, "MSETNX all new")
    eq(r.mget(["m:3", "m:4"]), ["c", "d"], "MGET after MSETNX")
    big = {"m:big:%d" % i: str(i) * 3 for i in range(500)}
    eq(r.mset(big), True, "MSET 500 keys")
    eq(r.mget(list(big)), list(big.values()), "MGET 500 keys")


@check("incr-family")
def _():
    r = R()
    eq(r.incr("i:a"), 1, "INCR new")
    eq(r.incrby("i:a", 10), 11, "INCRBY")
    eq(r.decr("i:a"), 10, "DECR")
    eq(r.decrby("i:a", 4), 6, "DECRBY")
    eq(r.incr("i:a", -2), 4, "INCR with amount (INCRBY -2)")
    eq(r.incrbyfloat("i:f", 1.5), 1.5, "INCRBYFLOAT new")
    eq(r.incrbyfloat("i:f", "2.25"), 3.75, "INCRBYFLOAT")
    eq(r.get("i:f"), "3.75", "GET after INCRBYFLOAT")
    r.set("i:s", "abc")
    raises(lambda: r.incr("i:s"), redis.ResponseError, "value is not an integer or out of range")
    raises(lambda: r.incrbyfloat("i:s", 1), redis.ResponseError, "value is not a valid float")
    r.set("i:max", 9223372036854775807)
    raises(lambda: r.incr("i:max"), redis.ResponseError, "increment or decrement would overflow")
    eq(r.get("i:max"), "9223372036854775807", "value unchanged after overflow")


@check("expiry")
def _():
    r = R()
    r.set("e:a", "v")
    eq(r.expire("e:a", 100), True, "EXPIRE")
    near(r.ttl("e:a"), 99, 100, "TTL")
    eq(r.pexpire("e:a", 200000), True, "PEXPIRE")
    near(r.pttl("e:a"), 199000, 200000, "PTTL")
    eq(r.expire("e:a", 300, nx=True), False, "EXPIRE NX with a TTL")
    eq(r.expire("e:a", 300, xx=True), True, "EXPIRE XX with a TTL")
    eq(r.expire("e:a", 50, gt=True), False, "EXPIRE GT smaller")
    eq(r.expire("e:a", 50, lt=True), True, "EXPIRE LT smaller")
    near(r.ttl("e:a"), 49, 50, "TTL after EXPIRE LT")
    eq(r.persist("e:a"), True, "PERSIST")
    eq(r.persist("e:a"), False, "PERSIST without a TTL")
    eq(r.ttl("e:a"), -1, "TTL without a TTL")
    eq(r.ttl("e:none"), -2, "TTL missing key")
    eq(r.expire("e:none", 10), False, "EXPIRE missing key")
    at = int(time.time()) + 1000
    eq(r.expireat("e:a", at), True, "EXPIREAT")
    eq(r.expiretime("e:a"), at, "EXPIRETIME")
    eq(r.pexpireat("e:a", at * 1000 + 1), True, "PEXPIREAT")
    eq(r.pexpiretime("e:a"), at * 1000 + 1, "PEXPIRETIME")
    eq(r.expireat("e:a", int(time.time()) - 10), True, "EXPIREAT in the past")
    eq(r.exists("e:a"), 0, "a key given a past expiry is gone")
    r.set("e:short", "v", px=100)
    eq(r.get("e:short"), "v", "GET before expiry")
    time.sleep(0.3)
    eq(r.get("e:short"), None, "GET after expiry")
    eq(r.exists("e:short"), 0, "EXISTS after expiry")
    # active expiry: keys nobody reads must go too
    for i in range(20):
        r.set("e:act:%d" % i, "v", px=50)
    ok = wait_until(lambda: r.dbsize() == len(r.keys("*")) and not r.keys("e:act:*"), timeout=5)
    eq(ok, True, "keys with a 50 ms TTL removed within 5 s")


# ---- pipelines and transactions ----

@check("pipeline")
def _():
    r = R()
    p = r.pipeline(transaction=False)
    p.set("p:a", "1").incr("p:a").get("p:a").mget("p:a", "p:b").expire("p:a", 100).ttl("p:a")
    eq(p.execute(), [True, 2, "2", ["2", None], True, 100], "pipeline results")
    p = r.pipeline(transaction=False)
    for _ in range(1000):
        p.incr("p:n")
    res = p.execute()
    eq(res[-1], 1000, "last of 1000 pipelined INCRs")
    eq(res, list(range(1, 1001)), "1000 pipelined INCR replies in order")
    p = r.pipeline(transaction=False)
    p.set("p:s", "x").incr("p:s").get("p:s")
    res = p.execute(raise_on_error=False)
    eq(res[0], True, "SET in a pipeline with a failing command")
    eq(type(res[1]), redis.ResponseError, "INCR on a non-integer in a pipeline")
    # (redis-py prefixes "Command # N ..." only to errors it raises)
    eq(str(res[1]), "value is not an integer or out of range", "error text")
    eq(res[2], "x", "the command after the error still runs")


@check("pipeline-transaction")
def _():
    r = R()
    p = r.pipeline()                       # transaction=True: MULTI ... EXEC
    p.set("t:a", "1").incr("t:a").get("t:a").mset({"t:b": "x", "t:c": "y"}).mget("t:b", "t:c")
    eq(p.execute(), [True, 2, "2", True, ["x", "y"]], "MULTI/EXEC results")
    # a runtime error inside EXEC fails that command only
    p = r.pipeline()
    p.set("t:s", "x").incr("t:s").get("t:s")
    res = p.execute(raise_on_error=False)
    eq(res[0], True, "SET inside EXEC")
    eq(type(res[1]), redis.ResponseError, "runtime error inside EXEC")
    eq(str(res[1]), "value is not an integer or out of range", "runtime error text inside EXEC")
    eq(res[2], "x", "GET after the failing command inside EXEC")
    # a command rejected while queueing aborts the whole transaction
    p = r.pipeline()
    p.set("t:q", "1").execute_command("SET", "t:q")
    e = raises(p.execute, redis.ResponseError)
    eq(str(e), "Command # 2 (SET t:q) of pipeline caused error: "
               "wrong number of arguments for 'set' command", "queue-time error")
    eq(r.exists("t:q"), 0, "nothing of an aborted transaction applies")


@check("watch-retry")
def _():
    r, other = R(), R()
    r.set("w:counter", 0)
    attempts = 0
    with r.pipeline() as pipe:
        while True:
            try:
                pipe.watch("w:counter")
                v = int(pipe.get("w:counter"))
                attempts += 1
                if attempts == 1:
                    other.incr("w:counter")   # a concurrent writer breaks the WATCH
                pipe.multi()
                pipe.set("w:counter", v + 10)
                pipe.execute()
                break
            except redis.WatchError:
                if attempts > 5:
                    raise
    eq(attempts, 2, "attempts (the first must fail with WatchError)")
    eq(r.get("w:counter"), "11", "value after the retried transaction")

    # the same through redis-py's transaction() helper
    def bump(pipe):
        v = int(pipe.get("w:counter"))
        pipe.multi()
        pipe.set("w:counter", v + 1)
    eq(r.transaction(bump, "w:counter"), [True], "transaction() helper")
    eq(r.get("w:counter"), "12", "value after transaction()")

    # UNWATCH (via reset) forgets the watched key
    with r.pipeline() as pipe:
        pipe.watch("w:counter")
        pipe.unwatch()
        other.incr("w:counter")
        pipe.multi()
        pipe.incr("w:counter")
        eq(pipe.execute(), [14], "EXEC after UNWATCH runs despite the change")


@check("watch-concurrent")
def _():
    # optimistic increments from 4 threads, each with its own connection
    # (so they land on different reactor threads): none may be lost.
    R().set("w:shared", 0)
    errors, retries = [], [0]

    def worker():
        r = R()
        try:
            for _ in range(25):
                with r.pipeline() as pipe:
                    while True:
                        try:
                            pipe.watch("w:shared")
                            v = int(pipe.get("w:shared"))
                            pipe.multi()
                            pipe.set("w:shared", v + 1)
                            pipe.execute()
                            break
                        except redis.WatchError:
                            retries[0] += 1
        except Exception as e:  # reported below, the thread just stops
            errors.append("%s: %s" % (type(e).__name__, e))
    ts = [threading.Thread(target=worker) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    eq(errors, [], "errors in worker threads")
    eq(R().get("w:shared"), "100", "4 x 25 optimistic increments")


# ---- pub/sub ----

@check("pubsub")
def _():
    r = R()
    p = r.pubsub()
    p.subscribe("ps:ch")
    eq(p.get_message(timeout=2), {"type": "subscribe", "pattern": None, "channel": "ps:ch", "data": 1},
       "subscribe confirmation")
    eq(r.publish("ps:ch", "hello"), 1, "PUBLISH receivers")
    eq(p.get_message(timeout=2), {"type": "message", "pattern": None, "channel": "ps:ch", "data": "hello"},
       "message")
    p.psubscribe("ps:n*")
    eq(p.get_message(timeout=2), {"type": "psubscribe", "pattern": None, "channel": "ps:n*", "data": 2},
       "psubscribe confirmation")
    eq(r.publish("ps:news", "x"), 1, "PUBLISH to a pattern subscriber")
    eq(p.get_message(timeout=2), {"type": "pmessage", "pattern": "ps:n*", "channel": "ps:news", "data": "x"},
       "pmessage")
    eq(r.pubsub_numsub("ps:ch", "ps:none"), [("ps:ch", 1), ("ps:none", 0)], "PUBSUB NUMSUB")
    eq(r.pubsub_numpat(), 1, "PUBSUB NUMPAT")
    eq(r.pubsub_channels("ps:*"), ["ps:ch"], "PUBSUB CHANNELS")
    p.unsubscribe("ps:ch")
    eq(p.get_message(timeout=2), {"type": "unsubscribe", "pattern": None, "channel": "ps:ch", "data": 1},
       "unsubscribe confirmation")
    p.punsubscribe()
    eq(p.get_message(timeout=2), {"type": "punsubscribe", "pattern": None, "channel": "ps:n*", "data": 0},
       "punsubscribe confirmation")
    eq(r.publish("ps:ch", "late"), 0, "PUBLISH after unsubscribe")
    eq(p.get_message(timeout=0.2), None, "no message after unsubscribe")
    p.close()
    # a listener on a thread, as applications run it
    got = []
    p2 = r.pubsub(ignore_subscribe_messages=True)
    p2.subscribe(**{"ps:t": lambda m: got.append(m["data"])})
    t = p2.run_in_thread(sleep_time=0.01, daemon=True)
    try:
        wait_until(lambda: r.publish("ps:t", "0") == 1, timeout=3)
        for i in range(1, 50):
            r.publish("ps:t", str(i))
        wait_until(lambda: len(got) >= 50, timeout=5)
    finally:
        t.stop()
    eq(got[-49:], [str(i) for i in range(1, 50)], "50 messages in order to a threaded listener")


# ---- keyspace ----

@check("scan-iter")
def _():
    r = R()
    want = {"sc:%d" % i for i in range(300)}
    r.mset({k: "v" for k in want})
    r.mset({"other:%d" % i: "v" for i in range(20)})
    got = list(r.scan_iter(match="sc:*", count=25))
    eq(set(got) == want, True, "scan_iter(match='sc:*') returns every key (missing %r, extra %r)"
       % (sorted(want - set(got))[:5], sorted(set(got) - want)[:5]))
    got = set(r.scan_iter(match="sc:1?", _type="string"))
    eq(got, {"sc:%d" % i for i in range(10, 20)}, "scan_iter with TYPE string")
    eq(list(r.scan_iter(match="nomatch:*")), [], "scan_iter with no match")
    eq(sorted(r.keys("sc:2?")), sorted("sc:%d" % i for i in range(20, 30)), "KEYS")


@check("client-name-list")
def _():
    r = R(client_name="strata-clients")     # redis-py sends CLIENT SETNAME on connect
    eq(r.client_getname(), "strata-clients", "name given at connect")
    eq(r.client_setname("renamed"), True, "CLIENT SETNAME")
    eq(r.client_getname(), "renamed", "CLIENT GETNAME")
    other = R(client_name="other-conn")
    other.ping()
    me = r.client_id()
    entries = r.client_list()
    mine = [e for e in entries if e["id"] == str(me)]
    eq(len(mine), 1, "own entry in CLIENT LIST")
    eq(mine[0]["name"], "renamed", "own name in CLIENT LIST")
    eq(mine[0]["cmd"], "client|list", "own current command in CLIENT LIST")
    eq([e["name"] for e in entries if e["name"] == "other-conn"], ["other-conn"],
       "the other connection in CLIENT LIST")
    raises(lambda: r.client_setname("has space"), redis.ResponseError,
           "Client names cannot contain spaces, newlines or special characters.")


@check("auth")
def _():
    admin = R()
    admin.config_set("requirepass", "s3cret")
    try:
        raises(lambda: R().ping(), redis.AuthenticationError, "Authentication required.")
        eq(R(password="s3cret").ping(), True, "PING with the password")
    finally:
        R(password="s3cret").config_set("requirepass", "")
    eq(R().ping(), True, "PING after clearing requirepass")


# ---- concurrency ----

@check("concurrent-incr")
def _():
    errors = []

    def worker():
        try:
            r = R()
            for _ in range(10):
                p = r.pipeline(transaction=False)
                for _ in range(50):
                    p.incr("cc:n")
                p.execute()
        except Exception as e:
            errors.append(repr(e))
    ts = [threading.Thread(target=worker) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    eq(errors, [], "errors in worker threads")
    eq(R().get("cc:n"), "2000", "4 threads x 500 INCR")


# ---- errors ----

@check("error-syntax")
def _():
    r = R()
    raises(lambda: r.execute_command("SET", "x", "v", "NX", "XX"), redis.ResponseError, "syntax error")
    raises(lambda: r.execute_command("GET"), redis.ResponseError,
           "wrong number of arguments for 'get' command")
    raises(lambda: r.execute_command("CONFIG", "NOPE"), redis.ResponseError,
           "unknown subcommand 'NOPE'. Try CONFIG HELP.")


@check("error-unknown-command")
def _():
    raises(lambda: R().execute_command("NOSUCHCMD", "a", "b"), redis.ResponseError,
           "unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' ")


@check("error-wrongtype")
def _():
    r = R()
    if not served("lpush"):
        # WRONGTYPE needs a key of another type; a server without lists
        # cannot produce one, so there is nothing to map. Said loudly.
        raise Skip("%s serves no list (or other non-string) type, so WRONGTYPE is unreachable"
                   % common.ARGS.server)
    r.lpush("wt:l", "a")
    raises(lambda: r.get("wt:l"), redis.ResponseError,
           "WRONGTYPE Operation against a key holding the wrong kind of value")
    raises(lambda: r.incr("wt:l"), redis.ResponseError,
           "WRONGTYPE Operation against a key holding the wrong kind of value")


if __name__ == "__main__":
    main(__doc__.splitlines()[0])
