/* test_pause.c: CLIENT PAUSE / UNPAUSE as Redis 7.0 defines them, across
 * reactor threads (--io-threads 2, the harness default): ALL holds every
 * client (the pausing one too) and WRITE only write commands; held commands
 * run in order when the pause ends, by time or by UNPAUSE from any thread;
 * what the pause does not hold (errors, QUIT); a second pause only makes it
 * stronger or longer; keys do not expire while paused; INFO
 * blocked_clients and CLIENT LIST show held clients; a held client can be
 * killed, and is not closed by the idle timeout.
 *
 * Connections accepted one after the other alternate between the two
 * reactor threads, so "RAW(a); RAW(b);" puts a and b on different ones. */
#include "harness.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long long blocked(redisContext *c)
{
    return h_info_ll(c, "clients", "blocked_clients");
}

TEST(pause_errors)
{
    FRESH(c);
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'client|pause' command", "CLIENT PAUSE");
    EXPECT_CMD(c, "-ERR timeout is not an integer or out of range", "CLIENT PAUSE abc");
    EXPECT_CMD(c, "-ERR timeout is not an integer or out of range", "CLIENT PAUSE 1.5");
    EXPECT_CMD(c, "-ERR timeout is not an integer or out of range", "CLIENT PAUSE 99999999999999999999");
    EXPECT_CMD(c, "-ERR timeout is negative", "CLIENT PAUSE -1");
    EXPECT_CMD(c, "-ERR CLIENT PAUSE mode must be WRITE or ALL", "CLIENT PAUSE 10 READ");
    EXPECT_CMD(c, "-ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.",
               "CLIENT pause 10 WRITE x");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'client|unpause' command", "CLIENT UNPAUSE x");
    /* 0 ms and a time beyond the clock's range pause nothing. */
    EXPECT_CMD(c, "+OK", "CLIENT PAUSE 0");
    EXPECT_CMD(c, "+OK", "CLIENT PAUSE 0 write");
    EXPECT_CMD(c, "+OK", "CLIENT PAUSE 9223372036854775807 ALL");
    EXPECT_CMD(c, "+OK", "SET k v");
    EXPECT_CMD(c, "+OK", "CLIENT UNPAUSE");
    EXPECT_CMD(c, "+OK", "CLIENT UNPAUSE");
    CMD(h, c, "CLIENT HELP");
    static char got[8192];
    h_render(h, got, sizeof got);
    CHECKF(strstr(got, "+UNPAUSE, +    Stop the current client pause, resuming traffic., "
                       "+PAUSE <timeout> [WRITE|ALL], +    Suspend all, or just write, clients for "
                       "<timeout> milliseconds."), "CLIENT HELP: %s", got);
}

/* ALL: a client on the other thread is held, its pipeline runs in order
 * when the pause times out, and not before. */
TEST(pause_all_holds_other_thread)
{
    START(s, NULL);
    RAW(p, s);
    RAW(x, s);   /* the other reactor thread */
    SEND(x, "PING\r\n");
    EXPECT_RAW_REPLY(x, "+PONG");
    long long t0 = h_now_ms();
    SEND(p, "CLIENT PAUSE 700 ALL\r\n");
    EXPECT_RAW_REPLY(p, "+OK");
    SEND(x, "SET k 1\r\nINCR k\r\nGET k\r\n");
    CHECKF(h_raw_quiet(x, 300), "a paused client was answered within 300 ms");
    EXPECT_RAW_REPLY(x, "+OK");
    long long t = h_now_ms() - t0;
    EXPECT_RAW_REPLY(x, ":2");
    EXPECT_RAW_REPLY(x, "\"2\"");
    CHECKF(t >= 650, "held commands ran %lld ms after CLIENT PAUSE 700", t);
    CHECKF(t < 700 + 1000LL * h_slow(), "held commands ran only %lld ms after CLIENT PAUSE 700", t);
    /* The pause is over: no one waits now. */
    SEND(x, "PING\r\n");
    EXPECT_RAW_REPLY(x, "+PONG");
}

/* The pausing client is held too (Redis 7.0), and in ALL mode so is its
 * CLIENT UNPAUSE; QUIT and commands that fail their checks answer at once. */
TEST(pause_all_holds_everyone)
{
    START(s, "--requirepass", "pw", NULL);
    RAW(p, s);
    RAW(q, s);
    RAW(u, s);   /* never authenticated */
    RAW(e, s);
    SEND(p, "AUTH pw\r\n");
    SEND(q, "AUTH pw\r\n");
    SEND(e, "AUTH pw\r\n");
    EXPECT_RAW_REPLY(p, "+OK");
    EXPECT_RAW_REPLY(q, "+OK");
    EXPECT_RAW_REPLY(e, "+OK");
    SEND(p, "CLIENT PAUSE 600 ALL\r\nPING\r\n");
    EXPECT_RAW_REPLY(p, "+OK");
    CHECKF(h_raw_quiet(p, 200), "the pausing client's next command ran during its ALL pause");
    SEND(q, "CLIENT UNPAUSE\r\n");
    CHECKF(h_raw_quiet(q, 100), "CLIENT UNPAUSE ran during an ALL pause");
    /* A held client's later commands wait behind the held one; another
     * client's rejected commands answer at once. */
    SEND(q, "NOSUCH\r\n");
    SEND(e, "NOSUCH\r\nGET\r\n");
    EXPECT_RAW_REPLY(e, "-ERR unknown command 'NOSUCH', with args beginning with: ");
    EXPECT_RAW_REPLY(e, "-ERR wrong number of arguments for 'get' command");
    CHECKF(h_raw_quiet(q, 50), "a command behind a held one ran");
    SEND(u, "GET k\r\nQUIT\r\n");
    EXPECT_RAW_REPLY(u, "-NOAUTH Authentication required.");
    EXPECT_RAW_REPLY(u, "+OK");
    EXPECT_CLOSED(u);
    /* Then the pause ends by itself; the held UNPAUSE is harmless. */
    EXPECT_RAW_REPLY(p, "+PONG");
    EXPECT_RAW_REPLY(q, "+OK");
    EXPECT_RAW_REPLY(q, "-ERR unknown command 'NOSUCH', with args beginning with: ");
}

/* WRITE: reads pass, writes wait; INFO and CLIENT LIST show the held
 * client; CLIENT UNPAUSE from the other thread lets it go at once. */
TEST(pause_write_lets_reads_through)
{
    START(s, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "SET k v");
    RAW(p, s);
    RAW(x, s);
    SEND(x, "CLIENT SETNAME heldone\r\n");
    EXPECT_RAW_REPLY(x, "+OK");
    SEND(p, "CLIENT PAUSE 20000 WRITE\r\n");
    EXPECT_RAW_REPLY(p, "+OK");
    SEND(x, "GET k\r\nEXISTS k\r\nTTL k\r\n");
    EXPECT_RAW_REPLY(x, "\"v\"");
    EXPECT_RAW_REPLY(x, ":1");
    EXPECT_RAW_REPLY(x, ":-1");
    SEND(x, "SET k v2\r\nGET k\r\n");
    CHECKF(h_raw_quiet(x, 300), "a write ran during a WRITE pause");
    EXPECT_CMD(c, "\"v\"", "GET k");
    CHECKF(blocked(c) == 1, "INFO blocked_clients %lld with one held client", blocked(c));
    CMD(l, c, "CLIENT LIST");
    const char *line = strstr(l->str, "name=heldone ");
    CHECKF(line && h_match("glob:* flags=b db=0 * cmd=set *", line), "held client's line: %.300s",
           line ? line : l->str);
    /* The pausing client's own writes wait too. */
    SEND(p, "SET mine 1\r\n");
    CHECKF(h_raw_quiet(p, 100), "the pausing client's write ran during its WRITE pause");
    CHECKF(blocked(c) == 2, "INFO blocked_clients %lld with two held clients", blocked(c));
    long long t0 = h_now_ms();
    EXPECT_CMD(c, "+OK", "CLIENT UNPAUSE");
    EXPECT_RAW_REPLY(x, "+OK");
    EXPECT_RAW_REPLY(x, "\"v2\"");
    EXPECT_RAW_REPLY(p, "+OK");
    CHECKF(h_now_ms() - t0 < 500LL * h_slow(), "UNPAUSE took %lld ms to release", h_now_ms() - t0);
    CHECKF(WAIT_FOR(blocked(c) == 0, 1000), "INFO blocked_clients %lld after UNPAUSE", blocked(c));
    CMD(l2, c, "CLIENT LIST");
    CHECKF(!strstr(l2->str, "flags=b"), "a client still flagged b: %s", l2->str);
}

/* Clients held on one thread are released oldest first, each with its
 * pipeline in order; clients of the other thread are released too. */
TEST(pause_release_order)
{
    START(s, NULL);
    CONNECT(c, s);
    RAW(p, s);
    RAW(x1, s);   /* thread B */
    RAW(y, s);    /* thread A */
    RAW(x2, s);   /* thread B */
    RAW(x3, s);   /* thread A... */
    RAW(x4, s);   /* thread B */
    hraw *all[] = { x1, y, x2, x3, x4 };
    for (int i = 0; i < 5; i++) {
        SEND(all[i], "PING\r\n");
        EXPECT_RAW_REPLY(all[i], "+PONG");
    }
    SEND(p, "CLIENT PAUSE 30000 WRITE\r\n");
    EXPECT_RAW_REPLY(p, "+OK");
    /* x1, x2 and x4 share a thread: held in this order. */
    SEND(x1, "APPEND log 1\r\nAPPEND log a\r\n");
    CHECK(h_raw_quiet(x1, 100));
    SEND(y, "APPEND other y\r\n");
    SEND(x2, "APPEND log 2\r\nAPPEND log b\r\n");
    CHECK(h_raw_quiet(x2, 100));
    SEND(x4, "APPEND log 4\r\nAPPEND log d\r\n");
    CHECK(h_raw_quiet(x4, 100));
    SEND(x3, "GET log\r\nAPPEND other 3\r\n");
    EXPECT_RAW_REPLY(x3, "(nil)");   /* a read passes */
    CHECKF(WAIT_FOR(blocked(c) == 5, 2000), "blocked_clients %lld, want 5", blocked(c));
    EXPECT_CMD(c, "+OK", "CLIENT UNPAUSE");
    EXPECT_RAW_REPLY(x1, ":1");
    EXPECT_RAW_REPLY(x1, ":2");
    EXPECT_RAW_REPLY(x2, "glob::*");
    EXPECT_RAW_REPLY(x2, "glob::*");
    EXPECT_RAW_REPLY(x4, "glob::*");
    EXPECT_RAW_REPLY(x4, ":6");
    EXPECT_RAW_REPLY(y, "glob::*");
    EXPECT_RAW_REPLY(x3, "glob::*");
    /* Each client's two appends stay together, in thread FIFO order. */
    EXPECT_CMD(c, "\"1a2b4d\"", "GET log");
    CMD(o, c, "GET other");
    CHECKF(o->type == REDIS_REPLY_STRING && (!strcmp(o->str, "y3") || !strcmp(o->str, "3y")),
           "other = %s", o->str);
}

/* A pause ended by time is noticed by the threads that hold clients, even
 * if nobody sends another command; a held pipeline of 2,000 commands runs
 * whole. */
TEST(pause_timeout_releases_big_pipeline)
{
    START(s, NULL);
    CONNECT(c, s);
    RAW(x, s);   /* the other thread than c */
    EXPECT_CMD(c, "+OK", "CLIENT PAUSE 400 WRITE");
    enum { N = 2000 };
    static char buf[N * 16];
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "INCR n\r\n");
    CHECK(h_raw_send(x, buf, len));
    CHECKF(h_raw_quiet(x, 200), "INCR ran during a WRITE pause");
    for (int i = 1; i <= N; i++) {
        char exp[32];
        snprintf(exp, sizeof exp, ":%d", i);
        EXPECT_RAW_REPLY(x, exp);
    }
    EXPECT_CMD(c, "\"2000\"", "GET n");
    CHECKF(blocked(c) == 0, "blocked_clients %lld after the pause", blocked(c));
}

/* A second pause makes the running one stronger or longer, never weaker
 * or shorter. */
TEST(pause_extend_and_upgrade)
{
    START(s, NULL);
    CONNECT(c, s);
    RAW(x, s);
    long long t0 = h_now_ms();
    EXPECT_CMD(c, "+OK", "CLIENT PAUSE 600 WRITE");
    EXPECT_CMD(c, "+OK", "CLIENT PAUSE 0 ALL");      /* ALL for the rest of the 600 ms */
    SEND(x, "GET k\r\n");
    EXPECT_RAW_REPLY(x, "(nil)");
    long long t = h_now_ms() - t0;
    CHECKF(t >= 550, "a read ran %lld ms into a WRITE pause upgraded to ALL", t);
    /* 300 ms after a 900 ms pause does not shorten it. */
    t0 = h_now_ms();
    SEND(x, "CLIENT PAUSE 900 WRITE\r\nCLIENT PAUSE 300 WRITE\r\nSET k v\r\n");
    EXPECT_RAW_REPLY(x, "+OK");
    EXPECT_RAW_REPLY(x, "+OK");
    EXPECT_RAW_REPLY(x, "+OK");
    t = h_now_ms() - t0;
    CHECKF(t >= 850, "a write ran %lld ms into a 900 ms pause shortened to 300", t);
}

/* While paused, keys do not expire: an expired key reads as absent but is
 * not deleted until the pause ends (Redis 7.0). */
TEST(pause_stops_expiry)
{
    START(s, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "SET e v PX 100");
    EXPECT_CMD(c, "+OK", "CLIENT PAUSE 1000 WRITE");
    h_sleep_ms(400);
    EXPECT_CMD(c, "(nil)", "GET e");
    EXPECT_CMD(c, ":0", "EXISTS e");
    EXPECT_CMD(c, ":1", "DBSIZE");
    CHECKF(h_info_ll(c, "stats", "expired_keys") == 0, "a key expired during the pause");
    EXPECT_CMD(c, "+OK", "CLIENT UNPAUSE");
    CHECKF(WAIT_FOR(h_cmd(H_LOC, c, "DBSIZE")->integer == 0, 3000), "the key was not reclaimed after UNPAUSE");
    CHECKF(h_info_ll(c, "stats", "expired_keys") == 1, "expired_keys %lld after the pause",
           h_info_ll(c, "stats", "expired_keys"));
    /* A pause that ends by its time, with no command sent meanwhile:
     * expiry resumes by itself. */
    EXPECT_CMD(c, "+OK", "SET e v PX 100");
    EXPECT_CMD(c, "+OK", "CLIENT PAUSE 400 WRITE");
    h_sleep_ms(250);
    EXPECT_CMD(c, ":1", "DBSIZE");
    h_sleep_ms(400 + 500 * h_slow());   /* past the end, and a few cron ticks */
    EXPECT_CMD(c, ":0", "DBSIZE");
}

/* A held client can be killed (from another thread); the idle timeout
 * does not close a held client. */
TEST(pause_kill_and_timeout)
{
    START(s, "--timeout", "1", NULL);
    CONNECT(c, s);
    RAW(x, s);
    RAW(y, s);
    SEND(x, "CLIENT ID\r\n");
    char idbuf[64];
    CHECK(h_raw_reply(x, idbuf, sizeof idbuf, 5000) == 1);
    long long xid = atoll(idbuf + 1);
    EXPECT_CMD(c, "+OK", "CLIENT PAUSE 2500 WRITE");
    SEND(x, "SET a 1\r\n");
    SEND(y, "SET b 1\r\n");
    CHECKF(WAIT_FOR(blocked(c) == 2, 2000), "blocked_clients %lld, want 2", blocked(c));
    EXPECT_CMD(c, ":1", "CLIENT KILL ID %lld", xid);
    EXPECT_CLOSED(x);
    CHECKF(WAIT_FOR(blocked(c) == 1, 2000), "blocked_clients %lld after the kill", blocked(c));
    /* c keeps talking (so it does not time out itself); y is idle but held
     * for 2.5 s, past the 1 s timeout, and must get its reply. */
    long long t0 = h_now_ms();
    while (h_raw_fill(y, 5, 200) < 5 && h_now_ms() - t0 < 5000LL * h_slow())
        EXPECT_CMD(c, "+PONG", "PING");
    CHECKF(h_now_ms() - t0 >= 1200, "the held client got its reply after %lld ms", h_now_ms() - t0);
    EXPECT_RAW_REPLY(y, "+OK");
    EXPECT_CMD(c, ":0", "EXISTS a");
    EXPECT_CMD(c, ":1", "EXISTS b");
}

/* WRITE pauses and transactions (Redis 7.0): a write is held even when it
 * would only be queued, and an EXEC is held when its queue holds a write;
 * a transaction of reads runs. */
TEST(pause_write_and_multi)
{
    START(s, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "SET k v");
    RAW(p, s);
    RAW(m, s);
    SEND(m, "MULTI\r\nSET k queued\r\n");
    EXPECT_RAW_REPLY(m, "+OK");
    EXPECT_RAW_REPLY(m, "+QUEUED");
    SEND(p, "CLIENT PAUSE 20000 WRITE\r\n");
    EXPECT_RAW_REPLY(p, "+OK");
    SEND(m, "EXEC\r\n");
    CHECKF(h_raw_quiet(m, 300), "an EXEC with a queued write ran during a WRITE pause");
    EXPECT_CMD(c, "\"v\"", "GET k");
    EXPECT_CMD(c, "+OK", "CLIENT UNPAUSE");
    EXPECT_RAW_REPLY(m, "[+OK]");
    EXPECT_CMD(c, "\"queued\"", "GET k");
    /* Reads only: MULTI, queueing and EXEC all run while paused. */
    SEND(p, "CLIENT PAUSE 20000 WRITE\r\n");
    EXPECT_RAW_REPLY(p, "+OK");
    SEND(m, "MULTI\r\nGET k\r\nEXEC\r\n");
    EXPECT_RAW_REPLY(m, "+OK");
    EXPECT_RAW_REPLY(m, "+QUEUED");
    EXPECT_RAW_REPLY(m, "[\"queued\"]");
    /* A write inside MULTI is held before it is queued. */
    SEND(m, "MULTI\r\nSET k again\r\n");
    EXPECT_RAW_REPLY(m, "+OK");
    CHECKF(h_raw_quiet(m, 300), "a write was queued during a WRITE pause");
    EXPECT_CMD(c, "+OK", "CLIENT UNPAUSE");
    EXPECT_RAW_REPLY(m, "+QUEUED");
    SEND(m, "EXEC\r\n");
    EXPECT_RAW_REPLY(m, "[+OK]");
    EXPECT_CMD(c, "\"again\"", "GET k");
}
