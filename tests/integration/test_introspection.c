/* test_introspection.c: SLOWLOG (entries, truncation, redaction, max-len,
 * entries from clients on both reactor threads), LATENCY (command,
 * fast-command and expire-cycle events, HISTORY, GRAPH, DOCTOR, RESET),
 * MEMORY (USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, redis-cli --memkeys),
 * DEBUG (enable-debug-command, OBJECT, SLEEP blocking only its own reactor
 * thread, SET-ACTIVE-EXPIRE) and CLIENT's tracking subcommands that strata
 * does not serve yet. Servers are started per test with the options each
 * needs (--io-threads 2 is the harness default). */
#include "harness.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#define DEBUG_ON "--enable-debug-command", "yes"

static long long dbsize(redisContext *c)
{
    redisReply *r = h_cmd(H_LOC, c, "DBSIZE");
    return r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
}

/* This connection's "ip:port" as the server sees it (CLIENT INFO addr=). */
static bool my_addr(redisContext *c, char *out, size_t cap)
{
    redisReply *r = h_cmd(H_LOC, c, "CLIENT INFO");
    if (!r || r->type != REDIS_REPLY_STRING)
        return false;
    const char *a = strstr(r->str, " addr=");
    if (!a)
        return false;
    a += 6;
    size_t n = strcspn(a, " ");
    if (n >= cap)
        return false;
    memcpy(out, a, n);
    out[n] = '\0';
    return true;
}

/* ---- SLOWLOG ---- */

TEST(slowlog_entries)
{
    START(s, NULL);
    CONNECT(c, s);
    char addr[64], exp[512];
    CHECK(my_addr(c, addr, sizeof addr));
    EXPECT_CMD(c, "+OK", "CONFIG SET slowlog-log-slower-than 0");
    EXPECT_CMD(c, "+OK", "SLOWLOG RESET");
    EXPECT_CMD(c, "+OK", "SET a b");
    EXPECT_CMD(c, "+OK", "CLIENT SETNAME tester");
    long long t0 = h_now_ms() / 1000;
    CMD(r, c, "SLOWLOG GET 3");
    /* Newest first; the name is the client's after the command ran. The
     * RESET itself is the oldest entry. */
    snprintf(exp, sizeof exp,
             "glob:[[:*, :*, :*, [\"CLIENT\", \"SETNAME\", \"tester\"], \"%s\", \"tester\"], "
             "[:*, :*, :*, [\"SET\", \"a\", \"b\"], \"%s\", \"\"], "
             "[:*, :*, :*, [\"SLOWLOG\", \"RESET\"], \"%s\", \"\"]]", addr, addr, addr);
    EXPECT_REPLY(r, exp);
    /* ids count up by one, times are now, durations are microseconds. */
    long long id0 = r->element[0]->element[0]->integer;
    for (int i = 0; i < 3; i++) {
        redisReply *e = r->element[i];
        CHECKF(e->element[0]->integer == id0 - i, "entry %d has id %lld, want %lld", i,
               e->element[0]->integer, id0 - i);
        CHECKF(llabs(e->element[1]->integer - t0) <= 2, "entry %d time %lld, now %lld", i,
               e->element[1]->integer, t0);
        CHECKF(e->element[2]->integer >= 0 && e->element[2]->integer < 1000000,
               "entry %d duration %lld us", i, e->element[2]->integer);
    }
    /* RESET, SET, SETNAME, GET 3: the GET logged itself after replying. */
    EXPECT_CMD(c, ":4", "SLOWLOG LEN");
    EXPECT_CMD(c, "glob:[[:*, :*, :*, [\"SLOWLOG\", \"LEN\"], *]]", "SLOWLOG GET 1");
    EXPECT_CMD(c, "[]", "SLOWLOG GET 0");
    /* RESET SET SETNAME GET-3 LEN GET-1 GET-0 */
    CMD(all, c, "SLOWLOG GET -1");
    CHECKF(all->type == REDIS_REPLY_ARRAY && all->elements == 7, "GET -1: %zu entries, want 7",
           all->elements);
    CMD(dflt, c, "SLOWLOG GET");
    CHECKF(dflt->type == REDIS_REPLY_ARRAY && dflt->elements == 8, "GET: %zu entries, want 8",
           dflt->elements);
    for (int i = 0; i < 15; i++)
        EXPECT_CMD(c, "+PONG", "PING");
    CMD(ten, c, "SLOWLOG GET");
    CHECKF(ten->elements == 10, "GET without a count: %zu entries, want 10", ten->elements);

    /* Errors, as Redis words them. */
    EXPECT_CMD(c, "-ERR count should be greater than or equal to -1", "SLOWLOG GET -2");
    EXPECT_CMD(c, "-ERR count should be greater than or equal to -1", "SLOWLOG GET abc");
    EXPECT_CMD(c, "-ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.",
               "SLOWLOG get 1 2");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'slowlog|len' command", "SLOWLOG LEN x");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'slowlog|reset' command", "SLOWLOG RESET x");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'slowlog' command", "SLOWLOG");
    EXPECT_CMD(c, "-ERR unknown subcommand 'foo'. Try SLOWLOG HELP.", "SLOWLOG foo");
    EXPECT_CMD(c, "glob:[+SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, "
               "+GET [<count>], *, +LEN, *, +RESET, *, +HELP, +    Prints this help.]", "SLOWLOG HELP");
    EXPECT_CMD(c, "-ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - "
               "argument must be between -1 and 9223372036854775807 inclusive",
               "CONFIG SET slowlog-log-slower-than -2");
    EXPECT_CMD(c, "[\"slowlog-log-slower-than\", \"0\"]", "CONFIG GET slowlog-log-slower-than");
}

TEST(slowlog_threshold)
{
    START(s, DEBUG_ON, NULL);
    CONNECT(c, s);
    /* 100 ms: ordinary commands stay out, a 150 ms sleep goes in with its
     * real duration. */
    EXPECT_CMD(c, "+OK", "CONFIG SET slowlog-log-slower-than 100000");
    EXPECT_CMD(c, "+OK", "SLOWLOG RESET");
    for (int i = 0; i < 20; i++)
        EXPECT_CMD(c, "+OK", "SET k%d v", i);
    EXPECT_CMD(c, ":0", "SLOWLOG LEN");
    EXPECT_CMD(c, "+OK", "DEBUG SLEEP 0.15");
    CMD(r, c, "SLOWLOG GET");
    EXPECT_REPLY(r, "glob:[[:*, :*, :*, [\"DEBUG\", \"SLEEP\", \"0.15\"], *, \"\"]]");
    long long us = r->element[0]->element[2]->integer;
    CHECKF(us >= 150000 && us < 150000 + 2000000LL * h_slow(), "DEBUG SLEEP 0.15 logged as %lld us", us);
    /* -1 turns it off: nothing is added, whatever the duration. */
    EXPECT_CMD(c, "+OK", "CONFIG SET slowlog-log-slower-than -1");
    EXPECT_CMD(c, "+OK", "DEBUG SLEEP 0.11");
    EXPECT_CMD(c, ":1", "SLOWLOG LEN");
    EXPECT_CMD(c, "+OK", "SLOWLOG RESET");
    EXPECT_CMD(c, ":0", "SLOWLOG LEN");
}

TEST(slowlog_truncation)
{
    START(s, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "CONFIG SET slowlog-log-slower-than 0");
    /* 41 arguments: the first 31 kept, the 32nd says how many more. */
    const char *argv[41];
    char keys[20][8];
    argv[0] = "MSET";
    for (int i = 0; i < 20; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        argv[1 + 2 * i] = keys[i];
        argv[2 + 2 * i] = "v";
    }
    EXPECT_ARGV(c, "+OK", 41, argv, NULL);
    CMD(r, c, "SLOWLOG GET 1");
    CHECKF(r->elements == 1 && r->element[0]->element[3]->elements == 32,
           "a 41-argument command logged with %zu arguments, want 32",
           r->elements ? r->element[0]->element[3]->elements : 0);
    redisReply *args = r->element[0]->element[3];
    EXPECT_REPLY(args->element[29], "\"k14\"");
    EXPECT_REPLY(args->element[30], "\"v\"");
    EXPECT_REPLY(args->element[31], "\"... (10 more arguments)\"");
    /* 32 arguments are kept whole. MSET runs with them, and fails in its
     * handler: a failed call is logged like any other. */
    EXPECT_ARGV(c, "-ERR wrong number of arguments for 'mset' command", 32, argv, NULL);
    CMD(r2, c, "SLOWLOG GET 1");
    CHECKF(r2->elements == 1 && r2->element[0]->element[3]->elements == 32,
           "a 32-argument command not logged whole");
    EXPECT_REPLY(r2->element[0]->element[3]->element[31], "\"k15\"");
    /* Strings over 128 bytes are cut, with the count of what was cut. */
    char big[301], cut[400];
    memset(big, 'x', 300);
    big[300] = '\0';
    EXPECT_CMD(c, "+OK", "SET big %s", big);
    snprintf(cut, sizeof cut, "[\"SET\", \"big\", \"%.128s... (172 more bytes)\"]", big);
    CMD(r3, c, "SLOWLOG GET 1");
    EXPECT_REPLY(r3->element[0]->element[3], cut);
    big[128] = '\0';
    snprintf(cut, sizeof cut, "\"%s\"", big);
    EXPECT_CMD(c, cut, "ECHO %s", big);
    snprintf(cut, sizeof cut, "[\"ECHO\", \"%s\"]", big);
    CMD(r4, c, "SLOWLOG GET 1");
    EXPECT_REPLY(r4->element[0]->element[3], cut);
    /* Binary arguments survive as they were sent. */
    const char *bin[] = { "ECHO", "a\0b\r\n" };
    size_t binlen[] = { 4, 5 };
    EXPECT_ARGV(c, "\"a\\x00b\\r\\n\"", 2, bin, binlen);
    CMD(r5, c, "SLOWLOG GET 1");
    EXPECT_REPLY(r5->element[0]->element[3], "[\"ECHO\", \"a\\x00b\\r\\n\"]");
}

TEST(slowlog_redaction)
{
    START(s, "--requirepass", "pw", NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "AUTH pw");
    EXPECT_CMD(c, "+OK", "CONFIG SET slowlog-log-slower-than 0");
    EXPECT_CMD(c, "+OK", "SLOWLOG RESET");
    EXPECT_CMD(c, "-WRONGPASS invalid username-password pair or user is disabled.", "AUTH default nope");
    EXPECT_CMD(c, "+OK", "AUTH pw");
    EXPECT_CMD(c, "-ERR syntax error", "AUTH a b c");
    EXPECT_CMD(c, "glob:[\"server\", *]", "HELLO 2 AUTH default pw SETNAME n");
    EXPECT_CMD(c, "+OK", "CONFIG SET requirepass pw");
    EXPECT_CMD(c, "+OK", "CONFIG SET maxmemory 0 requirepass pw");
    CMD(r, c, "SLOWLOG GET 6");
    char got[2048];
    h_render(r, got, sizeof got);
    const char *want[] = {
        "[\"CONFIG\", \"SET\", \"maxmemory\", \"0\", \"requirepass\", \"(redacted)\"]",
        "[\"CONFIG\", \"SET\", \"requirepass\", \"(redacted)\"]",
        "[\"HELLO\", \"2\", \"AUTH\", \"(redacted)\", \"(redacted)\", \"SETNAME\", \"n\"]",
        /* a syntax error comes before AUTH looks at its arguments */
        "[\"AUTH\", \"a\", \"b\", \"c\"]",
        "[\"AUTH\", \"(redacted)\"]",
        "[\"AUTH\", \"(redacted)\", \"(redacted)\"]",
    };
    CHECKF(r->type == REDIS_REPLY_ARRAY && r->elements == 6, "SLOWLOG GET 6: %s", got);
    for (int i = 0; i < 6; i++)
        EXPECT_REPLY(r->element[i]->element[3], want[i]);
    CHECKF(!strstr(got, "nope") && !strstr(got, "\"pw\""), "a password reached the slow log: %s", got);
    /* The mask belongs to its command: a later command is not redacted. */
    EXPECT_CMD(c, "\"pw\"", "ECHO pw");
    EXPECT_CMD(c, "glob:[[:*, :*, :*, [\"ECHO\", \"pw\"], *]]", "SLOWLOG GET 1");
}

TEST(slowlog_max_len)
{
    START(s, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "CONFIG SET slowlog-log-slower-than 0 slowlog-max-len 5");
    for (int i = 0; i < 20; i++)
        EXPECT_CMD(c, "+PONG", "PING");
    EXPECT_CMD(c, ":5", "SLOWLOG LEN");
    /* Lowering it trims at once; the oldest entries go. */
    EXPECT_CMD(c, "+OK", "CONFIG SET slowlog-max-len 2");
    EXPECT_CMD(c, "glob:[[:*, :*, :*, [\"CONFIG\", \"SET\", \"slowlog-max-len\", \"2\"], *], "
               "[:*, :*, :*, [\"SLOWLOG\", \"LEN\"], *]]", "SLOWLOG GET");
    EXPECT_CMD(c, "+OK", "CONFIG SET slowlog-max-len 0");
    EXPECT_CMD(c, ":0", "SLOWLOG LEN");
    EXPECT_CMD(c, "[]", "SLOWLOG GET -1");
    EXPECT_CMD(c, "-ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - "
               "argument must be between 0 and 9223372036854775807 inclusive",
               "CONFIG SET slowlog-max-len -1");
}

/* Clients on both reactor threads log at once: every entry is kept, ids
 * are unique and consecutive, and each client's entries are in its own
 * order. */
TEST(slowlog_both_threads)
{
    START(s, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "CONFIG SET slowlog-log-slower-than 0 slowlog-max-len 5000");
    RAW(a, s);
    RAW(b, s);   /* accepted next, so on the other reactor thread */
    SEND(a, "CLIENT SETNAME ta\r\n");
    SEND(b, "CLIENT SETNAME tb\r\n");
    EXPECT_RAW_REPLY(a, "+OK");
    EXPECT_RAW_REPLY(b, "+OK");
    EXPECT_CMD(c, "+OK", "SLOWLOG RESET");
    enum { N = 1000 };
    static char pa[N * 40], pb[N * 40];
    size_t la = 0, lb = 0;
    for (int i = 0; i < N; i++) {
        la += (size_t)snprintf(pa + la, sizeof pa - la, "SET a %d\r\n", i);
        lb += (size_t)snprintf(pb + lb, sizeof pb - lb, "SET b %d\r\n", i);
    }
    /* Interleave the two pipelines so both threads run at the same time. */
    for (size_t off = 0; off < la || off < lb; off += 4096) {
        if (off < la)
            CHECK(h_raw_send(a, pa + off, la - off < 4096 ? la - off : 4096));
        if (off < lb)
            CHECK(h_raw_send(b, pb + off, lb - off < 4096 ? lb - off : 4096));
    }
    CHECKF(h_raw_fill(a, N * 5, 10000) >= N * 5, "client a got %zu reply bytes", a->len);
    CHECKF(h_raw_fill(b, N * 5, 10000) >= N * 5, "client b got %zu reply bytes", b->len);
    CMD(r, c, "SLOWLOG GET -1");
    /* RESET + 2N SETs (the GET logs itself after replying) */
    CHECKF(r->type == REDIS_REPLY_ARRAY && r->elements == 2 * N + 1, "%zu entries, want %d",
           r->elements, 2 * N + 1);
    long long next_a = N - 1, next_b = N - 1;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        CHECKF(e->element[0]->integer == r->element[0]->element[0]->integer - (long long)i,
               "entry %zu: id %lld after %lld", i, e->element[0]->integer,
               i ? r->element[i - 1]->element[0]->integer : -1);
        if (i == r->elements - 1)
            break;   /* the RESET */
        redisReply *args = e->element[3];
        const char *name = e->element[5]->str;
        CHECKF(args->elements == 3 && !strcmp(args->element[0]->str, "SET"), "entry %zu is not a SET", i);
        long long v = atoll(args->element[2]->str);
        if (!strcmp(args->element[1]->str, "a")) {
            CHECKF(!strcmp(name, "ta") && v == next_a, "entry %zu: a=%lld by '%s', want %lld by ta",
                   i, v, name, next_a);
            next_a--;
        } else {
            CHECKF(!strcmp(name, "tb") && v == next_b, "entry %zu: b=%lld by '%s', want %lld by tb",
                   i, v, name, next_b);
            next_b--;
        }
    }
    CHECKF(next_a == -1 && next_b == -1, "missing entries: a down to %lld, b down to %lld", next_a, next_b);
}

/* ---- LATENCY ---- */

TEST(latency_command_events)
{
    START(s, DEBUG_ON, NULL);
    CONNECT(c, s);
    /* Off by default: nothing is recorded. */
    EXPECT_CMD(c, "[\"latency-monitor-threshold\", \"0\"]", "CONFIG GET latency-monitor-threshold");
    EXPECT_CMD(c, "+OK", "DEBUG SLEEP 0.06");
    EXPECT_CMD(c, "[]", "LATENCY LATEST");
    EXPECT_CMD(c, "[]", "LATENCY HISTORY command");
    EXPECT_CMD(c, "-ERR No samples available for event 'command'", "LATENCY GRAPH command");
    EXPECT_CMD(c, ":0", "LATENCY RESET");

    EXPECT_CMD(c, "+OK", "CONFIG SET latency-monitor-threshold 50");
    long long t0 = h_now_ms() / 1000;
    EXPECT_CMD(c, "+OK", "DEBUG SLEEP 0.06");
    EXPECT_CMD(c, "+OK", "DEBUG SLEEP 0.08");   /* same second: one sample, the worse */
    EXPECT_CMD(c, "+PONG", "PING");             /* fast, and under the threshold */
    CMD(r, c, "LATENCY LATEST");
    EXPECT_REPLY(r, "glob:[[\"command\", :*, :*, :*]]");
    redisReply *ev = r->element[0];
    CHECKF(llabs(ev->element[1]->integer - t0) <= 2, "sample time %lld, now %lld", ev->element[1]->integer, t0);
    CHECKF(ev->element[2]->integer >= 60 && ev->element[3]->integer >= 80 &&
           ev->element[3]->integer >= ev->element[2]->integer,
           "latest %lld ms, max %lld ms", ev->element[2]->integer, ev->element[3]->integer);
    CMD(h, c, "LATENCY HISTORY command");
    CHECKF(h->type == REDIS_REPLY_ARRAY && h->elements >= 1 && h->elements <= 2 &&
           h->element[0]->elements == 2, "LATENCY HISTORY command: unexpected shape");
    EXPECT_CMD(c, "[]", "LATENCY HISTORY COMMAND");   /* names are case-sensitive */
    EXPECT_CMD(c, "[]", "LATENCY HISTORY fast-command");

    /* The graph: Redis's header, an 80-dash rule, bars, ages as labels. */
    CMD(g, c, "LATENCY GRAPH command");
    CHECKF(g->type == REDIS_REPLY_STRING, "GRAPH is not a bulk string");
    CHECKF(h_match("glob:command - high * ms, low * ms (all time high * ms)\n"
                   "--------------------------------------------------------------------------------\n*",
                   g->str), "GRAPH: %.200s", g->str);
    const char *bars = strstr(g->str, "-\n");
    CHECKF(bars && strpbrk(bars, "_o#|"), "GRAPH has no bars: %.300s", g->str);
    /* the labels' last line: the "s" of "0s", "1s"... */
    CHECKF(g->len >= 2 && !strcmp(g->str + g->len - 2, "s\n"), "GRAPH has no age label: %.300s", g->str);

    /* DOCTOR: text, a bulk string in RESP2 and verbatim text in RESP3. */
    CMD(d, c, "LATENCY DOCTOR");
    CHECKF(d->type == REDIS_REPLY_STRING && d->len > 0 && strstr(d->str, "command"),
           "LATENCY DOCTOR did not mention the event");
    RAW(r3, s);
    SEND(r3, "HELLO 3\r\n");
    char buf[4096];
    CHECK(h_raw_reply(r3, buf, sizeof buf, 5000) == 1);
    SEND(r3, "LATENCY DOCTOR\r\nLATENCY GRAPH command\r\n");
    EXPECT_RAW_REPLY(r3, "glob:=\"*command*\"");
    EXPECT_RAW_REPLY(r3, "glob:=\"txt:command - high *\"");

    /* RESET by name is case-insensitive and counts what it removed. */
    EXPECT_CMD(c, ":0", "LATENCY RESET nosuchevent");
    EXPECT_CMD(c, ":1", "LATENCY RESET COMMAND command");
    EXPECT_CMD(c, "[]", "LATENCY LATEST");
    EXPECT_CMD(c, "-ERR No samples available for event 'command'", "LATENCY GRAPH command");

    EXPECT_CMD(c, "-ERR CONFIG SET failed (possibly related to argument 'latency-monitor-threshold') - "
               "argument must be between 0 and 9223372036854775807 inclusive",
               "CONFIG SET latency-monitor-threshold -1");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'latency|history' command", "LATENCY HISTORY");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'latency|latest' command", "LATENCY LATEST x");
    EXPECT_CMD(c, "-ERR unknown subcommand 'foo'. Try LATENCY HELP.", "LATENCY foo");
    /* DIFFERS: Redis also lists HISTOGRAM, which strata does not serve. */
    if (!h_is_ref())
        EXPECT_CMD(c, "glob:[+LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, "
                   "+DOCTOR, *, +GRAPH <event>, *, +HISTORY <event>, *, +LATEST, *, "
                   "+RESET [<event> ...], *, +HELP, +    Prints this help.]", "LATENCY HELP");
}

/* A @fast command that takes long is a "fast-command" event: GET of a big
 * value copies it into the reply. Two sleeps on the two reactor threads
 * land in one series. */
TEST(latency_fast_command_and_threads)
{
    START(s, DEBUG_ON, NULL);
    CONNECT(c, s);
    size_t n = 16 * 1024 * 1024;
    char *big = malloc(n);
    CHECK(big);
    memset(big, 'v', n);
    const char *argv[] = { "SET", "big", big };
    size_t lens[] = { 3, 3, n };
    EXPECT_ARGV(c, "+OK", 3, argv, lens);
    free(big);
    EXPECT_CMD(c, "+OK", "CONFIG SET latency-monitor-threshold 1");
    bool seen = false;
    for (int i = 0; i < 20 && !seen; i++) {
        CMD(g, c, "GET big");
        CHECK(g->type == REDIS_REPLY_STRING && g->len == n);
        CMD(l, c, "LATENCY HISTORY fast-command");
        seen = l->elements > 0;
    }
    CHECKF(seen, "GET of 16 MB never recorded a fast-command event");
    EXPECT_CMD(c, ":1", "DEL big");

    EXPECT_CMD(c, "+OK", "CONFIG SET latency-monitor-threshold 50");
    CMD(reset, c, "LATENCY RESET");   /* fast-command, and DEL's free may be a "command" */
    CHECKF(reset->type == REDIS_REPLY_INTEGER && reset->integer >= 1, "LATENCY RESET removed nothing");
    EXPECT_CMD(c, "[]", "LATENCY LATEST");
    RAW(a, s);
    RAW(b, s);   /* the other thread */
    SEND(a, "DEBUG SLEEP 0.2\r\n");
    SEND(b, "DEBUG SLEEP 0.1\r\n");
    EXPECT_RAW_REPLY(a, "+OK");
    EXPECT_RAW_REPLY(b, "+OK");
    CMD(r, c, "LATENCY LATEST");
    EXPECT_REPLY(r, "glob:[[\"command\", :*, :*, :*]]");
    CHECKF(r->element[0]->element[3]->integer >= 200, "all-time max %lld ms, want >= 200",
           r->element[0]->element[3]->integer);
}

/* The active expire cycle reports itself when it takes long: here it
 * reclaims 300,000 keys that expire together. */
TEST(latency_expire_cycle)
{
    if (h_is_ref()) {
        h_skip("Redis's expire cycle stops at 25% of a tick and may stay under 1 ms");
        return;
    }
    START(s, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "CONFIG SET latency-monitor-threshold 1");
    RAW(r, s);
    enum { N = 300000 };
    char *p = malloc((size_t)N * 48);
    CHECK(p);
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(p + len, "SET key:%d v PX 300\r\n", i);
    bool ok = h_raw_send(r, p, len);
    free(p);
    CHECK(ok);
    CHECKF(h_raw_fill(r, (size_t)N * 5, 30000) >= (size_t)N * 5, "replies: %zu bytes", r->len);
    bool seen = WAIT_FOR(({
        redisReply *l = h_cmd(H_LOC, c, "LATENCY HISTORY expire-cycle");
        l && l->type == REDIS_REPLY_ARRAY && l->elements > 0;
    }), 5000);
    CHECK_OK();
    CHECKF(seen, "no expire-cycle event after 300,000 keys expired (DBSIZE %lld)", dbsize(c));
    CHECKF(WAIT_FOR(dbsize(c) == 0, 10000), "keys left behind");
}

/* ---- MEMORY ---- */

TEST(memory_usage)
{
    FRESH(c);
    EXPECT_CMD(c, "(nil)", "MEMORY USAGE nokey");
    EXPECT_CMD(c, "+OK", "SET 0123456789abcdef 0123456789ABCDEF");
    CMD(u, c, "MEMORY USAGE 0123456789abcdef");
    CHECKF(u->type == REDIS_REPLY_INTEGER, "MEMORY USAGE is not an integer");
    /* DIFFERS: strata reports its entry (47 bytes packed, docs/keyspace.md)
     * plus a bucket pointer; Redis reports its dictEntry, sds and robj. */
    if (!h_is_ref())
        CHECKF(u->integer >= 47 + 8 && u->integer <= 64 + 8, "16/16 entry: %lld bytes", u->integer);
    char big[1001];
    memset(big, 'x', 1000);
    big[1000] = '\0';
    EXPECT_CMD(c, "+OK", "SET big %s", big);
    CMD(ub, c, "MEMORY USAGE big");
    CHECKF(ub->integer >= 1000 && ub->integer < 1400, "1000-byte value: %lld bytes", ub->integer);
    EXPECT_CMD(c, "glob::*", "MEMORY USAGE big SAMPLES 0");
    EXPECT_CMD(c, "glob::*", "MEMORY USAGE big samples 5 SAMPLES 1");
    EXPECT_CMD(c, "-ERR syntax error", "MEMORY USAGE big SAMPLES -1");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "MEMORY USAGE big SAMPLES x");
    EXPECT_CMD(c, "-ERR syntax error", "MEMORY USAGE big SAMPLES");
    EXPECT_CMD(c, "-ERR syntax error", "MEMORY USAGE big foo 1");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'memory|usage' command", "MEMORY USAGE");
    /* DIFFERS: an expired key is gone for strata (lazy expiry, as for
     * every lookup); Redis's MEMORY USAGE finds it until it is reclaimed. */
    EXPECT_CMD(c, "+OK", "SET e v PX 30");
    h_sleep_ms(60);
    if (!h_is_ref())
        EXPECT_CMD(c, "(nil)", "MEMORY USAGE e");
    EXPECT_CMD(c, "+OK", "SELECT 3");
    EXPECT_CMD(c, "(nil)", "MEMORY USAGE big");
}

static const char *const stats_fields[] = {
    "peak.allocated", "total.allocated", "startup.allocated", "replication.backlog",
    "clients.slaves", "clients.normal", "cluster.links", "aof.buffer", "lua.caches",
    "functions.caches", "db.0", "overhead.total", "keys.count", "keys.bytes-per-key",
    "dataset.bytes", "dataset.percentage", "peak.percentage", "allocator.allocated",
    "allocator.active", "allocator.resident", "allocator-fragmentation.ratio",
    "allocator-fragmentation.bytes", "allocator-rss.ratio", "allocator-rss.bytes",
    "rss-overhead.ratio", "rss-overhead.bytes", "fragmentation", "fragmentation.bytes",
};

TEST(memory_stats)
{
    START(s, NULL);
    CONNECT(c, s);
    for (int i = 0; i < 1000; i++)
        EXPECT_CMD(c, "+OK", "SET key:%d value:%d", i, i);
    CMD(r, c, "MEMORY STATS");
    size_t nf = sizeof stats_fields / sizeof stats_fields[0];
    CHECKF(r->type == REDIS_REPLY_ARRAY && r->elements == 2 * nf, "MEMORY STATS: %zu elements, want %zu",
           r->elements, 2 * nf);
    long long total = -1, keys = -1, startup = -1, peak = -1;
    for (size_t i = 0; i < nf; i++) {
        redisReply *k = r->element[2 * i], *v = r->element[2 * i + 1];
        CHECKF(k->type == REDIS_REPLY_STRING && !strcmp(k->str, stats_fields[i]),
               "field %zu is '%s', want '%s'", i, k->str, stats_fields[i]);
        if (!strcmp(k->str, "db.0")) {
            EXPECT_REPLY(v, "glob:[\"overhead.hashtable.main\", :*, \"overhead.hashtable.expires\", :*, "
                         "\"overhead.hashtable.slot-to-keys\", :*]");
            CHECKF(v->element[1]->integer > 0, "db.0 overhead 0 with 1000 keys");
        } else if (strstr(k->str, "ratio") || strstr(k->str, "percentage") || !strcmp(k->str, "fragmentation")) {
            char *end;
            CHECKF(v->type == REDIS_REPLY_STRING && (strtod(v->str, &end), *end == '\0'),
                   "%s is not a double", k->str);
        } else {
            CHECKF(v->type == REDIS_REPLY_INTEGER, "%s is not an integer", k->str);
        }
        if (!strcmp(k->str, "total.allocated")) total = v->integer;
        if (!strcmp(k->str, "keys.count")) keys = v->integer;
        if (!strcmp(k->str, "startup.allocated")) startup = v->integer;
        if (!strcmp(k->str, "peak.allocated")) peak = v->integer;
    }
    CHECKF(keys == 1000, "keys.count %lld, want 1000", keys);
    CHECKF(total > 0 && startup > 0 && startup < total && peak >= total,
           "total %lld, startup %lld, peak %lld", total, startup, peak);
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'memory|stats' command", "MEMORY STATS x");
    /* A database appears only when it holds keys; RESP3 gives a map with
     * nested maps and doubles. */
    EXPECT_CMD(c, "+OK", "SELECT 5");
    EXPECT_CMD(c, "+OK", "SET k v");
    RAW(r3, s);
    SEND(r3, "HELLO 3\r\nMEMORY STATS\r\n");
    static char buf[16384];
    CHECK(h_raw_reply(r3, buf, sizeof buf, 5000) == 1);
    CHECK(h_raw_reply(r3, buf, sizeof buf, 5000) == 1);
    CHECKF(h_match("glob:{\"peak.allocated\": :*, *\"functions.caches\": :*, "
                     "\"db.0\": {\"overhead.hashtable.main\": :*, \"overhead.hashtable.expires\": :0, "
                     "\"overhead.hashtable.slot-to-keys\": :0}, \"db.5\": {*}, \"overhead.total\": :*, "
                     "\"keys.count\": :1001, *\"dataset.percentage\": ,*, *\"fragmentation.bytes\": :*}", buf),
           "RESP3 MEMORY STATS: %.3000s", buf);
}

TEST(memory_doctor_malloc_purge)
{
    FRESH(c);
    CMD(d, c, "MEMORY DOCTOR");
    CHECKF(d->type == REDIS_REPLY_STRING && d->len > 0, "MEMORY DOCTOR is not text");
    EXPECT_CMD(c, "+OK", "MEMORY PURGE");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'memory|purge' command", "MEMORY PURGE x");
    const char *info = h_info(c, "memory");
    CHECK(info);
    char alloc[32] = "";
    h_info_field(info, "mem_allocator", alloc, sizeof alloc);
    CMD(m, c, "MEMORY MALLOC-STATS");
    CHECKF(m->type == REDIS_REPLY_STRING, "MALLOC-STATS is not a bulk string");
    if (!strncmp(alloc, "jemalloc", 8))
        CHECKF(strstr(m->str, "___ Begin jemalloc statistics ___") && strstr(m->str, "--- End jemalloc statistics ---"),
               "MALLOC-STATS with jemalloc: %.100s", m->str);
    else
        EXPECT_REPLY(m, "\"Stats not supported for the current allocator\"");
    EXPECT_CMD(c, "-ERR unknown subcommand 'foo'. Try MEMORY HELP.", "MEMORY foo");
    EXPECT_CMD(c, "glob:[+MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, "
               "+DOCTOR, *, +MALLOC-STATS, *, +PURGE, *, +STATS, *, "
               "+USAGE <key> [SAMPLES <count>], *, +HELP, +    Prints this help.]", "MEMORY HELP");
    hserver *s = h_shared();
    RAW(r3, s);
    SEND(r3, "HELLO 3\r\nMEMORY DOCTOR\r\n");
    char buf[4096];
    CHECK(h_raw_reply(r3, buf, sizeof buf, 5000) == 1);
    EXPECT_RAW_REPLY(r3, "glob:=\"*\"");
}

/* redis-cli --memkeys samples every key with MEMORY USAGE. */
TEST(memory_redis_cli_memkeys)
{
    START(s, NULL);
    CONNECT(c, s);
    for (int i = 0; i < 50; i++)
        EXPECT_CMD(c, "+OK", "SET key:%d value:%d", i, i);
    char big[2001];
    memset(big, 'b', 2000);
    big[2000] = '\0';
    EXPECT_CMD(c, "+OK", "SET big %s", big);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "redis-cli -p %d --memkeys 2>&1", s->port);
    FILE *p = popen(cmd, "r");
    CHECKF(p, "popen redis-cli");
    static char out[65536];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "redis-cli --memkeys exited %d: %s", st, out);
    CHECKF(strstr(out, "Biggest string found '\"big\"' has "), "no biggest key in: %s", out);
    CHECKF(strstr(out, "51 strings with "), "no string total in: %s", out);
    CHECKF(!strstr(out, "ERR"), "an error in: %s", out);
}

/* ---- DEBUG ---- */

TEST(debug_not_allowed)
{
    /* Redis 7.0's default: DEBUG is refused before it runs, after the
     * arity check and before authentication. */
    START(s, "--requirepass", "pw", NULL);
    CONNECT(c, s);
    const char *refused = "-ERR DEBUG command not allowed. If the enable-debug-command option is set to "
                          "\"local\", you can run it from a local connection, otherwise you need to set "
                          "this option in the configuration file, and then restart the server.";
    EXPECT_CMD(c, refused, "DEBUG SLEEP 0");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'debug' command", "DEBUG");
    EXPECT_CMD(c, "-NOAUTH Authentication required.", "GET k");
    EXPECT_CMD(c, "+OK", "AUTH pw");
    EXPECT_CMD(c, refused, "DEBUG HELP");
    EXPECT_CMD(c, refused, "DEBUG nosuch");
    EXPECT_CMD(c, "[\"enable-debug-command\", \"no\"]", "CONFIG GET enable-debug-command");
    EXPECT_CMD(c, "-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - "
               "can't set immutable config", "CONFIG SET enable-debug-command yes");
    const char *cs = h_info(c, "commandstats");
    CHECK(cs);
    char v[200];
    CHECKF(h_info_field(cs, "cmdstat_debug", v, sizeof v) &&
           h_match("glob:calls=0,usec=0,usec_per_call=0.00,rejected_calls=4,failed_calls=0", v),
           "cmdstat_debug: %s", v);
}

TEST(debug_local)
{
    /* "local": loopback and unix socket clients may. The harness only
     * connects over 127.0.0.1 and the unix socket. */
    START(s, "--enable-debug-command", "local", "--unixsocket", "@/s.sock", NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "DEBUG SLEEP 0");
    EXPECT_CMD(c, "[\"enable-debug-command\", \"local\"]", "CONFIG GET enable-debug-command");
    redisContext *u = h_connect_unix(s, "s.sock");
    CHECK(u);
    EXPECT_CMD(u, "+OK", "DEBUG SLEEP 0");
}

TEST(debug_object)
{
    START(s, DEBUG_ON, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "SET k v");
    EXPECT_CMD(c, "glob:+Value at:0x* refcount:1 encoding:embstr serializedlength:2 lru:* lru_seconds_idle:*",
               "DEBUG OBJECT k");
    EXPECT_CMD(c, "+OK", "SET n 123");
    EXPECT_CMD(c, "glob:+Value at:* refcount:2147483647 encoding:int serializedlength:2 lru:*",
               "DEBUG OBJECT n");
    EXPECT_CMD(c, "+OK", "SET n 12345");
    EXPECT_CMD(c, "glob:+Value at:* refcount:1 encoding:int serializedlength:3 lru:*", "DEBUG OBJECT n");
    EXPECT_CMD(c, "+OK", "SET n -1234567");
    EXPECT_CMD(c, "glob:+Value at:* encoding:int serializedlength:5 lru:*", "DEBUG OBJECT n");
    EXPECT_CMD(c, "+OK", "SET n 1099511627776");
    EXPECT_CMD(c, "glob:+Value at:* encoding:int serializedlength:14 lru:*", "DEBUG OBJECT n");
    EXPECT_CMD(c, "+OK", "SET n 007");
    EXPECT_CMD(c, "glob:+Value at:* encoding:embstr serializedlength:4 lru:*", "DEBUG OBJECT n");
    EXPECT_CMD(c, "+OK", "SET a xyz");
    EXPECT_CMD(c, ":4", "APPEND a w");
    EXPECT_CMD(c, "glob:+Value at:* refcount:1 encoding:raw serializedlength:5 lru:*", "DEBUG OBJECT a");
    /* The idle time is the key's: it grows until the key is read. */
    h_sleep_ms(2100);
    CMD(o, c, "DEBUG OBJECT k");
    const char *idle = strstr(o->str, "lru_seconds_idle:");
    CHECKF(idle && atoi(idle + 17) >= 1, "idle after 2 s: %s", o->str);
    EXPECT_CMD(c, "\"v\"", "GET k");
    EXPECT_CMD(c, "glob:+* lru_seconds_idle:0", "DEBUG OBJECT k");
    EXPECT_CMD(c, "-ERR no such key", "DEBUG OBJECT nokey");
    EXPECT_CMD(c, "-ERR unknown subcommand or wrong number of arguments for 'object'. Try DEBUG HELP.",
               "DEBUG object");
    EXPECT_CMD(c, "-ERR unknown subcommand or wrong number of arguments for 'OBJECT'. Try DEBUG HELP.",
               "DEBUG OBJECT a b");
    EXPECT_CMD(c, "-ERR unknown subcommand or wrong number of arguments for 'jmap'. Try DEBUG HELP.",
               "DEBUG jmap");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'debug' command", "DEBUG");
    CMD(h, c, "DEBUG HELP");
    static char got[16384];
    h_render(h, got, sizeof got);
    CHECKF(h_match("glob:[+DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, *"
                   "+OBJECT <key>, *+SET-ACTIVE-EXPIRE <0|1>, *+SLEEP <seconds>, *"
                   "+HELP, +    Prints this help.]", got), "DEBUG HELP: %s", got);
}

/* DEBUG SLEEP stops its client's reactor thread, as Redis's stops its one
 * thread; clients of the other reactor keep being served. */
TEST(debug_sleep_blocks_one_thread)
{
    START(s, DEBUG_ON, NULL);
    RAW(a, s);
    RAW(b, s);   /* accepted after a: the other reactor thread */
    RAW(c, s);   /* a's thread again */
    SEND(a, "PING\r\n");
    SEND(b, "PING\r\n");
    SEND(c, "PING\r\n");
    EXPECT_RAW_REPLY(a, "+PONG");
    EXPECT_RAW_REPLY(b, "+PONG");
    EXPECT_RAW_REPLY(c, "+PONG");
    long long t0 = h_now_ms();
    SEND(a, "DEBUG SLEEP 1\r\n");
    h_sleep_ms(100);
    SEND(b, "PING\r\n");
    SEND(c, "PING\r\n");
    EXPECT_RAW_REPLY(b, "+PONG");
    long long tb = h_now_ms() - t0;
    EXPECT_RAW_REPLY(c, "+PONG");
    long long tc = h_now_ms() - t0;
    EXPECT_RAW_REPLY(a, "+OK");
    long long ta = h_now_ms() - t0;
    if (h_is_ref()) {
        /* DIFFERS: Redis has one thread; everyone waits for the sleep. */
        CHECKF(tb >= 900, "redis answered another client during DEBUG SLEEP (%lld ms)", tb);
        return;
    }
    CHECKF(tb < 600, "the other thread's client waited %lld ms during DEBUG SLEEP 1", tb);
    CHECKF(tc >= 900, "a client of the sleeping thread was answered after %lld ms", tc);
    CHECKF(ta >= 1000, "DEBUG SLEEP 1 answered after %lld ms", ta);
    /* Decimal and odd arguments, as Redis's strtod reads them. */
    SEND(a, "DEBUG SLEEP 0.05\r\nDEBUG SLEEP abc\r\nDEBUG SLEEP -1\r\nDEBUG SLEEP 0\r\n");
    EXPECT_RAW_REPLY(a, "+OK");
    EXPECT_RAW_REPLY(a, "+OK");
    EXPECT_RAW_REPLY(a, "+OK");
    EXPECT_RAW_REPLY(a, "+OK");
    SEND(a, "DEBUG SLEEP\r\n");
    EXPECT_RAW_REPLY(a, "-ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.");
}

TEST(debug_set_active_expire)
{
    START(s, DEBUG_ON, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 0");
    if (!h_is_ref())
        EXPECT_CMD(c, "[\"active-expire-enabled\", \"no\"]", "CONFIG GET active-expire-enabled");
    for (int i = 0; i < 100; i++)
        EXPECT_CMD(c, "+OK", "SET k%d v PX 50", i);
    h_sleep_ms(600);
    /* Nobody reads them and the cycle is off: DBSIZE still counts them. */
    EXPECT_CMD(c, ":100", "DBSIZE");
    EXPECT_CMD(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 1");
    CHECKF(WAIT_FOR(dbsize(c) == 0, 5000), "active expiry did not resume");
    /* atoi, as Redis: "abc" is 0, "2" is on. */
    EXPECT_CMD(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE abc");
    if (!h_is_ref())
        EXPECT_CMD(c, "[\"active-expire-enabled\", \"no\"]", "CONFIG GET active-expire-enabled");
    EXPECT_CMD(c, "+OK", "DEBUG SET-ACTIVE-EXPIRE 2");
    if (!h_is_ref())
        EXPECT_CMD(c, "[\"active-expire-enabled\", \"yes\"]", "CONFIG GET active-expire-enabled");
    EXPECT_CMD(c, "-ERR unknown subcommand or wrong number of arguments for 'SET-ACTIVE-EXPIRE'. "
               "Try DEBUG HELP.", "DEBUG SET-ACTIVE-EXPIRE");
}

/* ---- not served yet ---- */

TEST(client_tracking_not_served)
{
    if (h_is_ref()) {
        h_skip("DIFFERS: Redis serves client-side caching; strata does not yet");
        return;
    }
    FRESH(c);
    EXPECT_CMD(c, "-ERR unknown subcommand 'TRACKING'. Try CLIENT HELP.", "CLIENT TRACKING on");
    EXPECT_CMD(c, "-ERR unknown subcommand 'CACHING'. Try CLIENT HELP.", "CLIENT CACHING yes");
    EXPECT_CMD(c, "-ERR unknown subcommand 'getredir'. Try CLIENT HELP.", "CLIENT getredir");
    EXPECT_CMD(c, "-ERR unknown subcommand 'TRACKINGINFO'. Try CLIENT HELP.", "CLIENT TRACKINGINFO");
    EXPECT_CMD(c, "-ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.", "CLIENT NOSUCH");
}
