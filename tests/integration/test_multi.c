/* test_multi.c: transactions over real sockets where one connection is not
 * enough (single-connection semantics are in redis-compat/cases/multi.txt):
 * EXEC atomicity against clients on the other reactor thread, WATCH
 * touched by another connection, a WATCH/MULTI compare-and-set loop raced
 * by several threads, expiry of a watched key nobody reads, big queues, and
 * clients that go away inside MULTI while holding watches. */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NKEYS 10

typedef struct worker {
    int port;
    int iters;
    atomic_int *stop;
    char err[256];          /* first problem seen, empty if none */
    long retries;
} worker;

static redisContext *wconnect(worker *w) {
    redisContext *c = redisConnect("127.0.0.1", w->port);
    if (!c || c->err) {
        snprintf(w->err, sizeof(w->err), "connect: %s", c ? c->errstr : "oom");
        if (c) redisFree(c);
        return NULL;
    }
    return c;
}

/* MULTI, INCR k0..k9, EXEC, pipelined, iters times. */
static void *incr_all(void *arg) {
    worker *w = arg;
    redisContext *c = wconnect(w);
    if (!c) return NULL;
    for (int i = 0; i < w->iters && !w->err[0]; i++) {
        redisAppendCommand(c, "MULTI");
        for (int k = 0; k < NKEYS; k++) redisAppendCommand(c, "INCR tx:%d", k);
        redisAppendCommand(c, "EXEC");
        for (int n = 0; n < NKEYS + 2; n++) {
            redisReply *r;
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                snprintf(w->err, sizeof(w->err), "io: %s", c->errstr);
                break;
            }
            if (n == NKEYS + 1 && (r->type != REDIS_REPLY_ARRAY || r->elements != NKEYS))
                snprintf(w->err, sizeof(w->err), "EXEC reply type %d", r->type);
            freeReplyObject(r);
        }
    }
    redisFree(c);
    return NULL;
}

/* MGET k0..k9 until stopped: every snapshot must show all keys equal. */
static void *check_equal(void *arg) {
    worker *w = arg;
    redisContext *c = wconnect(w);
    if (!c) return NULL;
    while (!atomic_load(w->stop) && !w->err[0]) {
        redisReply *r = redisCommand(c, "MGET tx:0 tx:1 tx:2 tx:3 tx:4 tx:5 tx:6 tx:7 tx:8 tx:9");
        if (!r) {
            snprintf(w->err, sizeof(w->err), "io: %s", c->errstr);
            break;
        }
        const char *first = r->element[0]->str;
        for (size_t k = 1; k < r->elements; k++) {
            const char *v = r->element[k]->str;
            if ((first == NULL) != (v == NULL) || (first && strcmp(first, v))) {
                snprintf(w->err, sizeof(w->err), "torn snapshot: tx:0=%s tx:%zu=%s",
                         first ? first : "nil", k, v ? v : "nil");
                break;
            }
        }
        freeReplyObject(r);
        w->iters++;
    }
    redisFree(c);
    return NULL;
}

TEST(multi_exec_is_atomic_across_threads)
{
    hserver *s = h_shared();
    CHECK(s);
    FRESH(c);
    enum { WRITERS = 3, READERS = 2, ITERS = 1500 };
    atomic_int stop = 0;
    worker w[WRITERS + READERS];
    pthread_t th[WRITERS + READERS];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < WRITERS + READERS; i++) {
        w[i].port = s->port;
        w[i].stop = &stop;
        w[i].iters = i < WRITERS ? ITERS : 0;
        pthread_create(&th[i], NULL, i < WRITERS ? incr_all : check_equal, &w[i]);
    }
    for (int i = 0; i < WRITERS; i++) pthread_join(th[i], NULL);
    atomic_store(&stop, 1);
    for (int i = WRITERS; i < WRITERS + READERS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < WRITERS + READERS; i++) CHECKF(!w[i].err[0], "worker %d: %s", i, w[i].err);
    for (int i = WRITERS; i < WRITERS + READERS; i++)
        CHECKF(w[i].iters > 10, "reader %d only made %d snapshots", i, w[i].iters);
    char exp[32];
    snprintf(exp, sizeof(exp), "\"%d\"", WRITERS * ITERS);
    for (int k = 0; k < NKEYS; k++) EXPECT_CMD(c, exp, "GET tx:%d", k);
}

/* WATCH, GET, MULTI, SET v+1, EXEC; retry while EXEC answers nil. */
static void *cas_incr(void *arg) {
    worker *w = arg;
    redisContext *c = wconnect(w);
    if (!c) return NULL;
    for (int i = 0; i < w->iters && !w->err[0]; i++) {
        for (;;) {
            freeReplyObject(redisCommand(c, "WATCH cas"));
            redisReply *g = redisCommand(c, "GET cas");
            if (!g) {
                snprintf(w->err, sizeof(w->err), "io: %s", c->errstr);
                break;
            }
            long long v = g->str ? atoll(g->str) : 0;
            freeReplyObject(g);
            redisAppendCommand(c, "MULTI");
            redisAppendCommand(c, "SET cas %lld", v + 1);
            redisAppendCommand(c, "EXEC");
            redisReply *r[3] = {0};
            for (int n = 0; n < 3; n++) redisGetReply(c, (void **)&r[n]);
            bool done = r[2] && r[2]->type == REDIS_REPLY_ARRAY;
            bool aborted = r[2] && r[2]->type == REDIS_REPLY_NIL;
            if (!done && !aborted)
                snprintf(w->err, sizeof(w->err), "EXEC answered type %d", r[2] ? r[2]->type : -1);
            for (int n = 0; n < 3; n++) freeReplyObject(r[n]);
            if (done || w->err[0]) break;
            w->retries++;
        }
    }
    redisFree(c);
    return NULL;
}

TEST(multi_watch_cas_loop_raced_by_threads)
{
    hserver *s = h_shared();
    CHECK(s);
    FRESH(c);
    enum { THREADS = 4, ITERS = 400 };
    worker w[THREADS];
    pthread_t th[THREADS];
    memset(w, 0, sizeof(w));
    for (int i = 0; i < THREADS; i++) {
        w[i].port = s->port;
        w[i].iters = ITERS;
        pthread_create(&th[i], NULL, cas_incr, &w[i]);
    }
    long retries = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        retries += w[i].retries;
    }
    for (int i = 0; i < THREADS; i++) CHECKF(!w[i].err[0], "worker %d: %s", i, w[i].err);
    /* Every increment happened exactly once: a lost update would leave
     * fewer, a transaction run on a stale read would too. */
    char exp[32];
    snprintf(exp, sizeof(exp), "\"%d\"", THREADS * ITERS);
    EXPECT_CMD(c, exp, "GET cas");
    printf("# multi_watch_cas_loop_raced_by_threads: %ld aborted EXECs retried\n", retries);
}

TEST(multi_watch_touched_by_other_connections)
{
    FRESH(a);
    /* Consecutive connections land on different reactor threads. */
    CONNECT(b, h_shared());
    EXPECT_CMD(a, "+OK", "SET k 1");
    EXPECT_CMD(a, "+OK", "WATCH k");
    EXPECT_CMD(b, "+OK", "SET k 2");
    EXPECT_CMD(a, "+OK", "MULTI");
    EXPECT_CMD(a, "+QUEUED", "GET k");
    EXPECT_CMD(a, "(nil)", "EXEC");
    /* A write to another key, or a read of this one, is no touch. */
    EXPECT_CMD(a, "+OK", "WATCH k");
    EXPECT_CMD(b, "+OK", "SET other 1");
    EXPECT_CMD(b, "\"2\"", "GET k");
    EXPECT_CMD(a, "+OK", "MULTI");
    EXPECT_CMD(a, "+QUEUED", "GET k");
    EXPECT_CMD(a, "[\"2\"]", "EXEC");
    /* The same key name in another db is another key. */
    EXPECT_CMD(a, "+OK", "WATCH k");
    EXPECT_CMD(b, "+OK", "SELECT 1");
    EXPECT_CMD(b, "+OK", "SET k x");
    EXPECT_CMD(a, "+OK", "MULTI");
    EXPECT_CMD(a, "+QUEUED", "PING");
    EXPECT_CMD(a, "[+PONG]", "EXEC");
    /* Two clients watching the same key: both are aborted. */
    CONNECT(d, h_shared());
    EXPECT_CMD(a, "+OK", "WATCH k");
    EXPECT_CMD(d, "+OK", "WATCH k");
    EXPECT_CMD(b, "+OK", "SELECT 0");
    EXPECT_CMD(b, ":1", "DEL k");
    EXPECT_CMD(a, "+OK", "MULTI");
    EXPECT_CMD(a, "(nil)", "EXEC");
    EXPECT_CMD(d, "+OK", "MULTI");
    EXPECT_CMD(d, "(nil)", "EXEC");
    /* CLIENT LIST shows the dirty watch ('d') and the open MULTI ('x'). */
    EXPECT_CMD(a, "+OK", "SET k 1");
    EXPECT_CMD(a, "+OK", "WATCH k");
    EXPECT_CMD(b, "+OK", "SET k 3");
    EXPECT_CMD(a, "+OK", "MULTI");
    EXPECT_CMD(a, "+QUEUED", "SET x 1");
    CMD(info, b, "CLIENT LIST");
    /* multi=0: a doomed transaction keeps no copies of its commands. */
    CHECKF(strstr(info->str, "flags=xd ") && strstr(info->str, "multi=0 "),
           "CLIENT LIST: %s", info->str);
    EXPECT_CMD(a, "+OK", "DISCARD");
}

TEST(multi_watched_key_expires_unread)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "SET e 1 PX 100");
    EXPECT_CMD(c, "+OK", "WATCH e");
    /* Nobody reads the key: the active expire cycle or EXEC's own check
     * must still see that it changed. */
    h_sleep_ms(400);
    EXPECT_CMD(c, "+OK", "MULTI");
    EXPECT_CMD(c, "+QUEUED", "PING");
    EXPECT_CMD(c, "(nil)", "EXEC");
}

TEST(multi_big_queue_pipelined)
{
    FRESH(c);
    enum { N = 10000 };
    redisAppendCommand(c, "MULTI");
    for (int i = 0; i < N; i++) redisAppendCommand(c, "SET k:%d %d", i, i);
    redisAppendCommand(c, "EXEC");
    for (int i = 0; i < N + 2; i++) {
        redisReply *r;
        CHECKF(redisGetReply(c, (void **)&r) == REDIS_OK, "io: %s", c->errstr);
        if (i == 0) CHECK(r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK"));
        else if (i <= N) CHECKF(r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "QUEUED"),
                                "reply %d: type %d", i, r->type);
        else CHECKF(r->type == REDIS_REPLY_ARRAY && r->elements == N, "EXEC: type %d", r->type);
        freeReplyObject(r);
    }
    EXPECT_CMD(c, ":10000", "DBSIZE");
    EXPECT_CMD(c, "\"9999\"", "GET k:9999");
}

TEST(multi_client_gone_inside_transaction)
{
    hserver *s = h_shared();
    CHECK(s);
    FRESH(c);
    for (int i = 0; i < 50; i++) {
        redisContext *x = redisConnect("127.0.0.1", s->port);
        CHECK(x && !x->err);
        freeReplyObject(redisCommand(x, "WATCH g%d shared", i));
        freeReplyObject(redisCommand(x, "MULTI"));
        freeReplyObject(redisCommand(x, "SET g%d v", i));
        redisFree(x);   /* gone with watches and a queue */
    }
    EXPECT_CMD(c, ":0", "EXISTS g0 g49");   /* the queued SETs never ran */
    /* Writes to the keys they watched must not reach freed clients (ASan
     * would catch a use after free in the touch path). */
    for (int i = 0; i < 50; i++) EXPECT_CMD(c, "+OK", "SET g%d v", i);
    EXPECT_CMD(c, "+OK", "SET shared v");
    EXPECT_CMD(c, "+OK", "FLUSHALL");
    EXPECT_CMD(c, "+PONG", "PING");
}

TEST(multi_acl_rules_change_before_exec)
{
    FRESH(admin);
    CONNECT(u, h_shared());
    EXPECT_CMD(admin, "+OK", "ACL SETUSER txu on >p +@all ~*");
    EXPECT_CMD(u, "+OK", "AUTH txu p");
    EXPECT_CMD(u, "+OK", "MULTI");
    EXPECT_CMD(u, "+QUEUED", "SET k 1");
    EXPECT_CMD(u, "+QUEUED", "GET k");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER txu -set");
    EXPECT_CMD(u, "[-NOPERM ACLs rules changed between the moment the transaction was accumulated "
                  "and the EXEC call. This command is no longer allowed for the following reason: "
                  "no permission to execute the command or subcommand, (nil)]", "EXEC");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER txu +set resetkeys ~a*");
    EXPECT_CMD(u, "+OK", "MULTI");
    EXPECT_CMD(u, "+QUEUED", "GET a1");
    EXPECT_CMD(u, "+QUEUED", "PING");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER txu resetkeys ~b*");
    EXPECT_CMD(u, "[-NOPERM ACLs rules changed between the moment the transaction was accumulated "
                  "and the EXEC call. This command is no longer allowed for the following reason: "
                  "no permission to touch the specified keys, +PONG]", "EXEC");
    EXPECT_CMD(admin, "glob:*context*multi*", "ACL LOG 1");
    /* A refused EXEC ends the transaction and says why. */
    EXPECT_CMD(admin, "+OK", "ACL SETUSER txu -exec");
    EXPECT_CMD(u, "+OK", "MULTI");
    EXPECT_CMD(u, "-EXECABORT Transaction discarded because of: NOPERM this user has no "
                  "permissions to run the 'exec' command", "EXEC");
    EXPECT_CMD(u, "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command", "EXEC x");
    EXPECT_CMD(admin, ":1", "ACL DELUSER txu");
    EXPECT_CMD(admin, "+OK", "ACL LOG RESET");
}
