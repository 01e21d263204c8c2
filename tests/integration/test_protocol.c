/* test_protocol.c: the wire protocol as clients see it over real sockets:
 * inline and multibulk requests, pipelining, requests split at every byte,
 * protocol errors (Redis's exact text, then the connection closes), unknown
 * commands and wrong arity, RESP3 after HELLO 3, binary-safe keys and
 * values, big values and argument counts, and the unix socket. Every
 * expectation is what redis-server 7.0.15 replies (run with REF=1). */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

TEST(protocol_inline)
{
    FRESH(c);
    (void)c;
    RAW(r, h_shared());
    SEND(r, "PING\r\n");
    EXPECT_RAW_BYTES(r, "+PONG\r\n");
    /* Double and single quotes group words; \xHH and \n escapes apply
     * inside double quotes only. */
    SEND(r, "SET \"a b\" 'x'\r\nGET \"a b\"\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n$1\r\nx\r\n");
    SEND(r, "SET k \"a\\x41\\n\"\r\nGET k\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n$3\r\naA\n\r\n");
    SEND(r, "ECHO \"\\x00\"\r\n");
    EXPECT_RAW_BYTESN(r, "$1\r\n\0\r\n", 7);
    SEND(r, "SET k3 ''\r\nGET k3\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n$0\r\n\r\n");
    /* Runs of spaces and tabs separate arguments; a bare \n ends a line;
     * empty lines are skipped; command names are case-insensitive. */
    SEND(r, "  SET   k2  \t v2 \r\nGET k2\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n$2\r\nv2\r\n");
    SEND(r, "PING\n\r\n\r\npInG\r\n");
    EXPECT_RAW_BYTES(r, "+PONG\r\n+PONG\r\n");
    SEND(r, "PING hello\r\n");
    EXPECT_RAW_BYTES(r, "$5\r\nhello\r\n");
}

TEST(protocol_multibulk)
{
    FRESH(c);
    (void)c;
    RAW(r, h_shared());
    SEND(r, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n");
    SEND(r, "*2\r\n$3\r\nget\r\n$1\r\nk\r\n");
    EXPECT_RAW_BYTES(r, "$5\r\nhello\r\n");
    /* Empty and null multibulks are skipped silently. */
    SEND(r, "*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n");
    EXPECT_RAW_BYTES(r, "+PONG\r\n");
    /* Multibulk and inline mixed in one packet. */
    SEND(r, "*1\r\n$4\r\nPING\r\nECHO abc\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
    EXPECT_RAW_BYTES(r, "+PONG\r\n$3\r\nabc\r\n$0\r\n\r\n");
    /* A value holding CRLF inside a bulk. */
    SEND(r, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n\r\n\r\n\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n$4\r\n\r\n\r\n\r\n");
}

TEST(protocol_pipeline_10000)
{
    FRESH(c);
    enum { N = 10000 };
    for (int i = 0; i < N; i++) {
        switch (i % 3) {
        case 0: redisAppendCommand(c, "SET k:%d v:%d", i, i); break;
        case 1: redisAppendCommand(c, "GET k:%d", i - 1); break;
        case 2: redisAppendCommand(c, "INCR counter"); break;
        }
    }
    for (int i = 0; i < N; i++) {
        redisReply *r = NULL;
        CHECKF(redisGetReply(c, (void **)&r) == REDIS_OK && r,
               "reply %d of %d: I/O error %s", i, N, c->errstr);
        char exp[64], got[200];
        switch (i % 3) {
        case 0: snprintf(exp, sizeof exp, "+OK"); break;
        case 1: snprintf(exp, sizeof exp, "\"v:%d\"", i - 1); break;
        default: snprintf(exp, sizeof exp, ":%d", i / 3 + 1); break;
        }
        h_render(r, got, sizeof got);
        freeReplyObject(r);
        CHECKF(strcmp(exp, got) == 0, "pipelined reply %d: expected %s, got %s",
               i, exp, got);
    }
    EXPECT_CMD(c, ":3335", "DBSIZE");   /* 3,334 keys and the counter */

    /* The same over a raw socket in a single write: replies in order. */
    RAW(r, h_shared());
    size_t cap = (size_t)N * 40, len = 0;
    char *buf = malloc(cap);
    CHECK(buf);
    for (int i = 0; i < N; i++) {
        char num[16];
        int n = snprintf(num, sizeof num, "%d", i);
        len += (size_t)snprintf(buf + len, cap - len, "*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n", n, num);
    }
    bool sent = h_raw_send(r, buf, len);
    free(buf);
    CHECK(sent);
    for (int i = 0; i < N; i++) {
        char got[100], exp[32];
        snprintf(exp, sizeof exp, "\"%d\"", i);
        int rc = h_raw_reply(r, got, sizeof got, 5000);
        CHECKF(rc == 1 && strcmp(got, exp) == 0, "raw pipelined reply %d: expected %s, got %s",
               i, exp, got);
    }
}

/* Write one byte at a time, with a pause so that each byte is read
 * separately by the server. */
static bool send_slowly(hraw *r, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!h_raw_send(r, p + i, 1))
            return false;
        h_sleep_ms(1);
    }
    return true;
}

TEST(protocol_split_byte_by_byte)
{
    FRESH(c);
    RAW(r, h_shared());
    static const char set[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nhello\r\n";
    CHECK(send_slowly(r, set, strlen(set)));
    EXPECT_RAW_BYTES(r, "+OK\r\n");
    static const char get[] = "GET key\r\n";
    CHECK(send_slowly(r, get, strlen(get)));
    EXPECT_RAW_BYTES(r, "$5\r\nhello\r\n");
    static const char echo[] = "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n";
    CHECK(send_slowly(r, echo, strlen(echo)));
    EXPECT_RAW_BYTES(r, "$0\r\n\r\n");
    static const char quoted[] = "SET \"q k\" 'v w'\r\n";
    CHECK(send_slowly(r, quoted, strlen(quoted)));
    EXPECT_RAW_BYTES(r, "+OK\r\n");
    EXPECT_CMD(c, "\"v w\"", "GET %s", "q k");

    /* Every split point of one SET. */
    static const char set2[] = "*3\r\n$3\r\nSET\r\n$4\r\nsplt\r\n$10\r\n0123456789\r\n";
    size_t n = strlen(set2);
    for (size_t i = 1; i < n; i++) {
        CHECK(h_raw_send(r, set2, i));
        h_sleep_ms(2);
        CHECK(h_raw_send(r, set2 + i, n - i));
        char got[200];
        int rc = h_raw_reply(r, got, sizeof got, 5000);
        CHECKF(rc == 1 && strcmp(got, "+OK") == 0,
               "SET split after byte %zu: expected +OK, got %s", i, got);
    }
    EXPECT_CMD(c, "\"0123456789\"", "GET splt");
}

/* A fresh connection that sends req must get exactly exp, then EOF. */
static bool proto_error(const char *file, int line, const char *req, size_t reqlen,
                        const char *exp)
{
    hraw *r = h_raw_open(h_shared());
    if (!r)
        return false;
    if (!h_raw_send(r, req, reqlen)) {
        h_fail(file, line, "send failed");
        return false;
    }
    return h_expect_raw_bytes(file, line, r, exp, strlen(exp)) &&
           h_expect_closed(file, line, r);
}

#define PROTO_ERROR(req, exp)                                               \
    do { if (!proto_error(H_LOC, (req), strlen(req), (exp))) return; } while (0)

TEST(protocol_errors)
{
    FRESH(c);
    PROTO_ERROR("*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    PROTO_ERROR("*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n");
    PROTO_ERROR("*1\r\n$x\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    PROTO_ERROR("*1\r\n$-1\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    PROTO_ERROR("*1\r\nx\r\n", "-ERR Protocol error: expected '$', got 'x'\r\n");
    PROTO_ERROR("SET \"a\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
    PROTO_ERROR("SET k3 \"abc\"def\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n");
    /* Above proto-max-bulk-len (512mb by default). */
    PROTO_ERROR("*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    /* Commands before the bad one are answered first. */
    PROTO_ERROR("PING\r\n*x\r\nPING\r\n",
                "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n");

    /* Headers and inline lines longer than 64k without a newline. */
    size_t n = 70000;
    char *big = malloc(n + 8);
    CHECK(big);
    memset(big, 'A', n);
    bool ok = proto_error(H_LOC, big, n, "-ERR Protocol error: too big inline request\r\n");
    if (ok) {
        big[0] = '*';
        memset(big + 1, '1', n - 1);
        ok = proto_error(H_LOC, big, n, "-ERR Protocol error: too big mbulk count string\r\n");
    }
    if (ok) {
        memcpy(big, "*1\r\n$", 5);
        memset(big + 5, '1', n - 5);
        ok = proto_error(H_LOC, big, n, "-ERR Protocol error: too big bulk count string\r\n");
    }
    free(big);
    if (!ok)
        return;

    /* A lower proto-max-bulk-len applies to new bulks. */
    EXPECT_CMD(c, "+OK", "CONFIG SET proto-max-bulk-len 2mb");
    PROTO_ERROR("*2\r\n$4\r\nECHO\r\n$3000000\r\n", "-ERR Protocol error: invalid bulk length\r\n");
    EXPECT_CMD(c, "+OK", "CONFIG SET proto-max-bulk-len 512mb");
    EXPECT_CMD(c, "+PONG", "PING");
}

TEST(protocol_big_multibulk_count_accepted)
{
    FRESH(c);
    /* A million-argument header is legal: the server must not reply, must
     * not close, and must not allocate a million arguments up front. */
    long rss0 = h_rss_kb(h_shared());
    RAW(r, h_shared());
    SEND(r, "*1000000\r\n");
    CHECKF(h_raw_quiet(r, 300), "after *1000000 header: got %zu bytes or close", r->len);
    SEND(r, "$3\r\nSET\r\n");
    CHECKF(h_raw_quiet(r, 200), "after first argument: got %zu bytes or close", r->len);
    long rss1 = h_rss_kb(h_shared());
    if (rss0 > 0 && rss1 > 0)
        CHECKF(rss1 - rss0 < 64 * 1024, "RSS grew by %ld kB for an unfinished *1000000",
               rss1 - rss0);
    EXPECT_CMD(c, "+PONG", "PING");
}

TEST(protocol_unknown_command)
{
    FRESH(c);
    EXPECT_CMD(c, "-ERR unknown command 'foo', with args beginning with: 'a' 'b' ", "foo a b");
    EXPECT_CMD(c, "-ERR unknown command 'FOO', with args beginning with: ", "FOO");
    EXPECT_CMD(c, "-ERR unknown command '', with args beginning with: ", "%s", "");
    EXPECT_CMD(c, "-ERR unknown command '', with args beginning with: 'a' ", "%s a", "");
    /* Each argument is cut so that the list stays about 128 bytes. */
    char x200[201], x100[101], y100[101];
    memset(x200, 'x', 200); x200[200] = 0;
    memset(x100, 'x', 100); x100[100] = 0;
    memset(y100, 'y', 100); y100[100] = 0;
    char exp[400];
    snprintf(exp, sizeof exp,
             "-ERR unknown command 'foo', with args beginning with: '%.128s' ", x200);
    EXPECT_CMD(c, exp, "foo %s b", x200);
    snprintf(exp, sizeof exp,
             "-ERR unknown command 'foo', with args beginning with: '%s' '%.25s' ", x100, y100);
    EXPECT_CMD(c, exp, "foo %s %s c", x100, y100);
    EXPECT_CMD(c, "-ERR unknown subcommand 'foo'. Try CONFIG HELP.", "CONFIG foo");
    EXPECT_CMD(c, "-ERR unknown subcommand 'nope'. Try CLIENT HELP.", "CLIENT nope");
    EXPECT_CMD(c, "-ERR unknown subcommand 'foo'. Try OBJECT HELP.", "OBJECT foo a");
    EXPECT_CMD(c, "-ERR unknown subcommand 'foo'. Try COMMAND HELP.", "COMMAND foo");
    /* The connection stays usable. */
    EXPECT_CMD(c, "+PONG", "PING");
}

TEST(protocol_wrong_arity)
{
    FRESH(c);
    /* The name in the message is the table's (lower case), not the
     * client's spelling; subcommands read "container|sub". */
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'get' command", "GeT");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'get' command", "GET a b");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'set' command", "SET k");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'mset' command", "MSET a");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'mset' command", "MSET a 1 b");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'ping' command", "PING a b");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'config|get' command", "CONFIG GET");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'config|set' command", "CONFIG SET timeout");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'dbsize' command", "DBSIZE x");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'object|encoding' command", "OBJECT ENCODING");
    EXPECT_CMD(c, "+PONG", "PING");
}

TEST(protocol_resp3)
{
    FRESH(c);
    RAW(r, h_shared());
    SEND(r, "HELLO 3\r\n");
    /* DIFFERS: Redis answers "server": "redis"; strata may name itself
     * and report its own version string. Everything else is Redis's. */
    EXPECT_RAW_REPLY(r, "glob:{\"server\": \"*\", \"version\": \"*\", \"proto\": :3, "
                     "\"id\": :*, \"mode\": \"standalone\", \"role\": \"master\", "
                     "\"modules\": []}");
    SEND(r, "GET nokey\r\n");
    EXPECT_RAW_BYTES(r, "_\r\n");
    SEND(r, "SET k v\r\nGET k\r\nEXISTS k\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n$1\r\nv\r\n:1\r\n");
    /* MGET's missing elements are RESP3 nulls too. */
    SEND(r, "MGET k nokey\r\n");
    EXPECT_RAW_BYTES(r, "*2\r\n$1\r\nv\r\n_\r\n");
    /* Map-shaped replies become maps. */
    SEND(r, "CONFIG GET maxclients\r\n");
    EXPECT_RAW_REPLY(r, "glob:{\"maxclients\": \"*\"}");
    SEND(r, "INCRBYFLOAT f 1.5\r\n");
    EXPECT_RAW_REPLY(r, "\"1.5\"");
    SEND(r, "COMMAND INFO get\r\n");
    EXPECT_RAW_REPLY(r, "glob:[[\"get\", :2, ~[+readonly, +fast], :1, :1, :1, "
                     "~[+@read, +@string, +@fast], ~[], ~[{\"flags\": ~[+RO, +access], *], ~[]]]");
    SEND(r, "COMMAND DOCS get\r\n");
    EXPECT_RAW_REPLY(r, "glob:{\"get\": {\"summary\": \"Get the value of a key\", "
                     "\"since\": \"1.0.0\", \"group\": \"string\", \"complexity\": \"O(1)\", "
                     "\"arguments\": [{\"name\": \"key\", \"type\": \"key\", "
                     "\"key_spec_index\": :0}]}}");
    /* HELLO without arguments reports the current protocol. */
    SEND(r, "HELLO\r\n");
    EXPECT_RAW_REPLY(r, "glob:{*\"proto\": :3, *}");
    /* Errors stay simple errors. */
    SEND(r, "HELLO 4\r\n");
    EXPECT_RAW_BYTES(r, "-NOPROTO unsupported protocol version\r\n");
    SEND(r, "HELLO foo\r\n");
    EXPECT_RAW_BYTES(r, "-ERR Protocol version is not an integer or out of range\r\n");
    /* The failed HELLO left RESP3 in place. */
    SEND(r, "GET nokey\r\n");
    EXPECT_RAW_BYTES(r, "_\r\n");
    /* Back to RESP2: the HELLO reply is a flat array. */
    SEND(r, "HELLO 2\r\n");
    EXPECT_RAW_REPLY(r, "glob:[\"server\", \"*\", \"version\", \"*\", \"proto\", :2, "
                     "\"id\", :*, \"mode\", \"standalone\", \"role\", \"master\", "
                     "\"modules\", []]");
    SEND(r, "GET nokey\r\nMGET nokey\r\n");
    EXPECT_RAW_BYTES(r, "$-1\r\n*1\r\n$-1\r\n");
}

TEST(protocol_binary_safe)
{
    FRESH(c);
    static const char key[] = "k\0\r\nx \"'";
    size_t klen = sizeof key - 1;
    char val[256];
    for (int i = 0; i < 256; i++)
        val[i] = (char)i;
    EXPECT_CMD(c, "+OK", "SET %b %b", key, klen, val, sizeof val);
    CMD(r, c, "GET %b", key, klen);
    CHECKF(r->type == REDIS_REPLY_STRING && r->len == sizeof val &&
           memcmp(r->str, val, sizeof val) == 0, "GET of a binary value did not round-trip");
    EXPECT_CMD(c, ":256", "STRLEN %b", key, klen);
    EXPECT_CMD(c, "[\"k\\x00\\r\\nx \\\"'\"]", "KEYS *");
    EXPECT_CMD(c, ":1", "EXISTS %b", key, klen);
    EXPECT_CMD(c, ":0", "EXISTS %b", key, klen - 1);
    EXPECT_CMD(c, "\"\\x00\\x01\\x02\"", "GETRANGE %b 0 2", key, klen);
    EXPECT_CMD(c, ":259", "APPEND %b %b", key, klen, "\r\n\0", (size_t)3);
    EXPECT_CMD(c, "\"\\xff\\r\\n\\x00\"", "GETRANGE %b -4 -1", key, klen);
    EXPECT_CMD(c, "+OK", "MSET %b %b k2 %b", "a\0b", (size_t)3, "\n", (size_t)1, "", (size_t)0);
    EXPECT_CMD(c, "[\"\\n\", \"\", (nil)]", "MGET %b k2 a", "a\0b", (size_t)3);
    EXPECT_CMD(c, ":1", "DEL %b", key, klen);
    EXPECT_CMD(c, "(nil)", "GET %b", key, klen);
}

TEST(protocol_big_values)
{
    FRESH(c);
    size_t n = 8 * 1024 * 1024 + 3;
    char *v = malloc(n);
    CHECK(v);
    for (size_t i = 0; i < n; i++)
        v[i] = (char)('a' + i % 26);
    redisReply *r = h_cmd(H_LOC, c, "SET big %b", v, n);
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    redisReply *g = ok ? h_cmd(H_LOC, c, "GET big") : NULL;
    bool same = g && g->type == REDIS_REPLY_STRING && g->len == n && memcmp(g->str, v, n) == 0;
    free(v);
    CHECK_OK();
    CHECKF(ok, "SET of an 8MB value failed");
    CHECKF(same, "GET of an 8MB value did not round-trip");
    EXPECT_CMD(c, ":8388611", "STRLEN big");

    /* 5,000 pairs in one MSET and 5,000 keys in one MGET. */
    enum { K = 5000 };
    const char **argv = calloc(2 * K + 1, sizeof *argv);
    char (*bufs)[24] = calloc(2 * K, sizeof *bufs);
    CHECK(argv && bufs);
    argv[0] = "MSET";
    for (int i = 0; i < K; i++) {
        snprintf(bufs[2 * i], 24, "key:%d", i);
        snprintf(bufs[2 * i + 1], 24, "%d", i * 7);
        argv[1 + 2 * i] = bufs[2 * i];
        argv[2 + 2 * i] = bufs[2 * i + 1];
    }
    r = h_cmd_argv(H_LOC, c, 2 * K + 1, argv, NULL);
    bool mset_ok = r && r->type == REDIS_REPLY_STATUS;
    argv[0] = "MGET";
    for (int i = 0; i < K; i++)
        argv[1 + i] = bufs[2 * i];
    g = mset_ok ? h_cmd_argv(H_LOC, c, K + 1, argv, NULL) : NULL;
    int bad = -1;
    if (g && g->type == REDIS_REPLY_ARRAY && g->elements == K) {
        for (int i = 0; i < K && bad < 0; i++)
            if (g->element[i]->type != REDIS_REPLY_STRING ||
                atoi(g->element[i]->str) != i * 7)
                bad = i;
    } else {
        bad = K;
    }
    free(argv);
    free(bufs);
    CHECK_OK();
    CHECKF(mset_ok, "MSET of 5000 pairs failed");
    CHECKF(bad < 0, "MGET of 5000 keys: element %d wrong", bad);
    EXPECT_CMD(c, ":5001", "DBSIZE");
}

TEST(protocol_unix_socket)
{
    START(s, "--unixsocket", "@/strata.sock", "--unixsocketperm", "700", NULL);
    struct stat st;
    CHECKF(stat(h_path(s, "strata.sock"), &st) == 0 && S_ISSOCK(st.st_mode),
           "no socket at %s", h_path(s, "strata.sock"));
    CHECKF((st.st_mode & 0777) == 0700, "socket mode %o, want 700", st.st_mode & 0777);
    redisContext *c = h_connect_unix(s, "strata.sock");
    CHECK(c);
    EXPECT_CMD(c, "+PONG", "PING");
    EXPECT_CMD(c, "+OK", "SET %b v", "u\0k", (size_t)3);
    EXPECT_CMD(c, "\"v\"", "GET %b", "u\0k", (size_t)3);
    EXPECT_CMD(c, "glob:* flags=U *", "CLIENT INFO");
    hraw *r = h_raw_open_unix(s, "strata.sock");
    CHECK(r);
    SEND(r, "PING\r\n*1\r\n$4\r\nPING\r\n");
    EXPECT_RAW_BYTES(r, "+PONG\r\n+PONG\r\n");
    /* TCP still serves the same keyspace. */
    CONNECT(t, s);
    EXPECT_CMD(t, "\"v\"", "GET %b", "u\0k", (size_t)3);
    CHECK(h_stop(s));
    /* Redis removes its socket file on shutdown. */
    CHECKF(access(h_path(s, "strata.sock"), F_OK) != 0, "socket file left after shutdown");
}

TEST(protocol_quit)
{
    FRESH(c);
    RAW(r, h_shared());
    SEND(r, "PING\r\nQUIT\r\n");
    EXPECT_RAW_BYTES(r, "+PONG\r\n+OK\r\n");
    EXPECT_CLOSED(r);
    RAW(r2, h_shared());
    /* Commands pipelined after QUIT are not executed. */
    SEND(r2, "QUIT\r\nSET afterquit 1\r\n");
    EXPECT_RAW_BYTES(r2, "+OK\r\n");
    EXPECT_CLOSED(r2);
    EXPECT_CMD(c, ":0", "EXISTS afterquit");
}
