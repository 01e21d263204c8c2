/* test_evict.c: maxmemory and the eviction policies over real sockets.
 * Each test starts its own server, measures used_memory once the data it
 * cares about is written, and sets maxmemory just above it, so the limits
 * follow the build (jemalloc, or the ASan build's allocator) and hold for
 * redis-server too (REF=1). Then it writes past the limit and checks what
 * survived: LRU keeps recently read keys, LFU frequently read ones, the
 * volatile policies touch only keys with a TTL (and answer OOM when none
 * is left), volatile-ttl evicts the soonest to expire first. Error texts
 * under noeviction and inside MULTI, CONFIG SET maxmemory at runtime,
 * eviction from clients on both reactor threads, and memory staying near
 * the limit while ten times the limit is written. */
#include "harness.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OOM "-OOM command not allowed when used memory > 'maxmemory'."
#define VALSIZE 400

static char value[VALSIZE + 1];

static void init_value(void) {
    if (!value[0]) memset(value, 'v', VALSIZE);
}

/* SET prefix:i for i in [from, to) (with EX ttl when ttl > 0; ttl < 0
 * gives key i the TTL -ttl + i, for volatile-ttl), pipelined. Every reply
 * must be +OK; on another one, err gets it and the count written so far
 * is returned. */
static long fill(redisContext *c, const char *prefix, long from, long to, long ttl, char *err,
                 size_t errlen) {
    init_value();
    long done = 0;
    for (long base = from; base < to; base += 200) {
        long end = base + 200 < to ? base + 200 : to;
        for (long i = base; i < end; i++) {
            if (ttl > 0) redisAppendCommand(c, "SET %s:%ld %s EX %ld", prefix, i, value, ttl);
            else if (ttl < 0) redisAppendCommand(c, "SET %s:%ld %s EX %ld", prefix, i, value, -ttl + i);
            else redisAppendCommand(c, "SET %s:%ld %s", prefix, i, value);
        }
        bool bad = false;
        for (long i = base; i < end; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                snprintf(err, errlen, "io: %s", c->errstr);
                return done;
            }
            if (r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK")) {
                if (!bad) done++;
            } else if (!bad) {
                bad = true;
                snprintf(err, errlen, "SET %s:%ld: %s", prefix, i,
                         r->type == REDIS_REPLY_ERROR ? r->str : "(not +OK)");
            }
            freeReplyObject(r);
        }
        if (bad) return done;
    }
    err[0] = '\0';
    return done;
}

/* How many of prefix:i, i in [from, to), exist; -1 on I/O error. */
static long count_existing(redisContext *c, const char *prefix, long from, long to) {
    for (long i = from; i < to; i++) redisAppendCommand(c, "EXISTS %s:%ld", prefix, i);
    long n = 0;
    for (long i = from; i < to; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) return -1;
        if (r->type == REDIS_REPLY_INTEGER) n += r->integer;
        freeReplyObject(r);
    }
    return n;
}

/* GET prefix:i for i in [from, to), `times` rounds, pipelined. */
static bool read_keys(redisContext *c, const char *prefix, long from, long to, int times) {
    for (int t = 0; t < times; t++) {
        for (long i = from; i < to; i++) redisAppendCommand(c, "GET %s:%ld", prefix, i);
        for (long i = from; i < to; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK) return false;
            freeReplyObject(r);
        }
    }
    return true;
}

static long long used_memory(redisContext *c) { return h_info_ll(c, "memory", "used_memory"); }

static long long dbsize(redisContext *c) {
    redisReply *r = redisCommand(c, "DBSIZE");
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

/* INFO itself allocates its reply after the eviction that ran before it:
 * what it reports may pass the limit by that much (Redis too). */
#define INFO_SLACK (16 * 1024)

/* maxmemory = used_memory + slack, checked back through CONFIG GET. */
static bool limit_above_used(redisContext *c, long long slack, long long *limit) {
    long long used = used_memory(c);
    if (used <= 0) return false;
    *limit = used + slack;
    redisReply *r = redisCommand(c, "CONFIG SET maxmemory %lld", *limit);
    bool ok = r && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    return ok;
}

/* ---- noeviction, errors, MULTI ------------------------------------------ */

TEST(evict_noeviction_oom_reads_and_del_work)
{
    START(s, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "MSET a 1 b 2 n 10");
    EXPECT_CMD(c, ":1", "EXPIRE b 1000");
    /* any server is over one byte */
    EXPECT_CMD(c, "+OK", "CONFIG SET maxmemory 1");
    EXPECT_CMD(c, OOM, "SET x 1");
    EXPECT_CMD(c, OOM, "SET a 2");
    EXPECT_CMD(c, OOM, "SETNX y 1");
    EXPECT_CMD(c, OOM, "SETEX y 10 1");
    EXPECT_CMD(c, OOM, "MSET y 1 z 2");
    EXPECT_CMD(c, OOM, "INCR n");
    EXPECT_CMD(c, OOM, "APPEND a x");
    EXPECT_CMD(c, OOM, "COPY a a2");
    /* arity is checked before memory, as in Redis */
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'set' command", "SET x");
    /* reads and commands that do not grow memory keep working */
    EXPECT_CMD(c, "\"1\"", "GET a");
    EXPECT_CMD(c, "[\"1\", \"2\", (nil)]", "MGET a b x");
    EXPECT_CMD(c, ":3", "DBSIZE");
    EXPECT_RANGE(c, 990, 1000, "TTL b");
    EXPECT_CMD(c, ":1", "PERSIST b");
    EXPECT_CMD(c, "+OK", "RENAME a a3");
    EXPECT_CMD(c, ":1", "DEL a3");
    EXPECT_CMD(c, ":1", "UNLINK b");
    EXPECT_CMD(c, "+PONG", "PING");
    EXPECT_CMD(c, ":1", "DBSIZE");
    /* nothing was evicted; the rejections are counted (the arity error too) */
    CHECK(h_info_ll(c, "stats", "evicted_keys") == 0);
    const char *cs = h_info(c, "commandstats");
    CHECK(cs);
    CHECKF(strstr(cs, "cmdstat_set:") && strstr(strstr(cs, "cmdstat_set:"), "rejected_calls=3"),
           "commandstats: %s", cs);
    const char *mem = h_info(c, "memory");
    char v[64];
    CHECK(mem && h_info_field(mem, "maxmemory", v, sizeof v) && !strcmp(v, "1"));
    CHECK(h_info_field(mem, "maxmemory_human", v, sizeof v) && !strcmp(v, "1B"));
    CHECK(h_info_field(mem, "maxmemory_policy", v, sizeof v) && !strcmp(v, "noeviction"));
    CHECK(h_info_field(mem, "mem_not_counted_for_evict", v, sizeof v) && !strcmp(v, "0"));
    /* the episode over the limit is being timed */
    CHECK(h_info_ll(c, "stats", "current_eviction_exceeded_time") >= 0);
    EXPECT_CMD(c, "+OK", "CONFIG SET maxmemory 0");
    EXPECT_CMD(c, "+OK", "SET x 1");
    EXPECT_CMD(c, ":1", "INCR y");
}

TEST(evict_oom_inside_multi)
{
    START(s, NULL);
    CONNECT(c, s);
    CONNECT(admin, s);
    EXPECT_CMD(c, "+OK", "SET k 1");
    /* queued before the limit, EXEC after it: the SET makes EXEC abort */
    EXPECT_CMD(c, "+OK", "MULTI");
    EXPECT_CMD(c, "+QUEUED", "SET x 1");
    EXPECT_CMD(c, "+QUEUED", "GET k");
    EXPECT_CMD(admin, "+OK", "CONFIG SET maxmemory 1");
    EXPECT_CMD(c, "-EXECABORT Transaction discarded because of: OOM command not allowed when used "
                  "memory > 'maxmemory'.", "EXEC");
    EXPECT_CMD(c, "-ERR EXEC without MULTI", "EXEC");
    EXPECT_CMD(c, "(nil)", "GET x");
    /* only reads queued: EXEC runs */
    EXPECT_CMD(admin, "+OK", "CONFIG SET maxmemory 0");
    EXPECT_CMD(c, "+OK", "MULTI");
    EXPECT_CMD(c, "+QUEUED", "GET k");
    EXPECT_CMD(admin, "+OK", "CONFIG SET maxmemory 1");
    EXPECT_CMD(c, "[\"1\"]", "EXEC");
    /* over the limit, MULTI queues nothing: every command is refused
     * (even a read) and the transaction is doomed; DISCARD still works */
    EXPECT_CMD(c, "+OK", "MULTI");
    EXPECT_CMD(c, OOM, "GET k");
    EXPECT_CMD(c, OOM, "PING");
    EXPECT_CMD(c, OOM, "WATCH k");
    EXPECT_CMD(c, OOM, "MULTI");
    EXPECT_CMD(c, "-EXECABORT Transaction discarded because of previous errors.", "EXEC");
    EXPECT_CMD(c, "+OK", "MULTI");
    EXPECT_CMD(c, OOM, "SET k 2");
    EXPECT_CMD(c, "+OK", "DISCARD");
    EXPECT_CMD(c, "+OK", "MULTI");
    EXPECT_CMD(c, "[]", "EXEC");
    EXPECT_CMD(c, "+OK", "MULTI");
    EXPECT_CMD(c, "+RESET", "RESET");
    EXPECT_CMD(c, "\"1\"", "GET k");
    EXPECT_CMD(admin, "+OK", "CONFIG SET maxmemory 0");
}

/* An eviction is a change of the key: a WATCH on it fails the EXEC. */
TEST(evict_touches_watched_keys)
{
    START(s, "--maxmemory-policy", "allkeys-random", NULL);
    CONNECT(c, s);
    CONNECT(admin, s);
    char err[256];
    CHECKF(fill(c, "w", 0, 50, 0, err, sizeof err) == 50, "%s", err);
    EXPECT_CMD(c, "+OK", "WATCH w:7");
    /* one byte: everything is evicted, then the limit cannot be met */
    EXPECT_CMD(admin, "+OK", "CONFIG SET maxmemory 1");
    EXPECT_CMD(admin, ":0", "DBSIZE");
    EXPECT_CMD(admin, "+OK", "CONFIG SET maxmemory 0");
    CHECK(h_info_ll(admin, "stats", "evicted_keys") == 50);
    EXPECT_CMD(c, "+OK", "MULTI");
    EXPECT_CMD(c, "+QUEUED", "SET w:7 again");
    EXPECT_CMD(c, "(nil)", "EXEC");
}

/* ---- the policies ------------------------------------------------------- */

/* LRU: keys read after a pause are younger than the untouched ones and
 * survive; the new keys and the read ones have the same age, so a random
 * policy would lose about a quarter of the read keys here. */
TEST(evict_allkeys_lru_keeps_recently_read)
{
    START(s, "--maxmemory-policy", "allkeys-lru", NULL);
    CONNECT(c, s);
    char err[256];
    CHECKF(fill(c, "old", 0, 2500, 0, err, sizeof err) == 2500, "%s", err);
    h_sleep_ms(2500);                        /* LRU clock: 1 s resolution */
    CHECK(read_keys(c, "old", 0, 500, 1));   /* the hot set: old:0..499 */
    long long limit;
    CHECK(limit_above_used(c, 50 * 1024, &limit));
    CHECKF(fill(c, "new", 0, 800, 0, err, sizeof err) == 800, "%s", err);
    long long evicted = h_info_ll(c, "stats", "evicted_keys");
    long hot = count_existing(c, "old", 0, 500);
    long cold = count_existing(c, "old", 500, 2500);
    long fresh = count_existing(c, "new", 0, 800);
    CHECKF(evicted >= 600, "evicted only %lld", evicted);
    CHECKF(hot >= 490, "hot keys: only %ld of 500 survived (cold %ld/2000, new %ld/800)", hot, cold, fresh);
    CHECKF(fresh >= 780, "new keys: only %ld of 800 survived (cold %ld/2000)", fresh, cold);
    CHECKF(cold <= 2000 - 600, "cold keys: %ld of 2000 survived", cold);
    CHECKF(used_memory(c) <= limit + INFO_SLACK, "used_memory %lld over maxmemory %lld", used_memory(c), limit);
}

/* LFU: keys read a few times have a higher counter than keys written once
 * (old or new); only the latter are evicted. */
TEST(evict_allkeys_lfu_keeps_frequently_read)
{
    START(s, "--maxmemory-policy", "allkeys-lfu", NULL);
    CONNECT(c, s);
    char err[256];
    CHECKF(fill(c, "k", 0, 2500, 0, err, sizeof err) == 2500, "%s", err);
    CHECK(read_keys(c, "k", 0, 500, 10));    /* the frequent set: k:0..499 */
    redisReply *f = redisCommand(c, "OBJECT FREQ k:1");
    CHECKF(f && f->type == REDIS_REPLY_INTEGER && f->integer > 5, "OBJECT FREQ of a read key: %lld",
           f ? f->integer : -1);
    freeReplyObject(f);
    /* LFU_INIT_VAL for a key never read (4 if a minute just began) */
    EXPECT_RANGE(c, 4, 5, "OBJECT FREQ k:1000");
    long long limit;
    CHECK(limit_above_used(c, 50 * 1024, &limit));
    CHECKF(fill(c, "new", 0, 800, 0, err, sizeof err) == 800, "%s", err);
    long long evicted = h_info_ll(c, "stats", "evicted_keys");
    long hot = count_existing(c, "k", 0, 500);
    long rest = count_existing(c, "k", 500, 2500) + count_existing(c, "new", 0, 800);
    CHECKF(evicted >= 600, "evicted only %lld", evicted);
    CHECKF(hot >= 495, "frequent keys: only %ld of 500 survived (others %ld/2800)", hot, rest);
    CHECKF(rest <= 2800 - 600, "others: %ld of 2800 survived", rest);
    CHECKF(used_memory(c) <= limit + INFO_SLACK, "used_memory %lld over maxmemory %lld", used_memory(c), limit);
}

TEST(evict_allkeys_random_evicts_some)
{
    START(s, "--maxmemory-policy", "allkeys-random", NULL);
    CONNECT(c, s);
    char err[256];
    CHECKF(fill(c, "a", 0, 2000, 0, err, sizeof err) == 2000, "%s", err);
    long long limit;
    CHECK(limit_above_used(c, 50 * 1024, &limit));
    CHECKF(fill(c, "b", 0, 1000, 0, err, sizeof err) == 1000, "%s", err);
    long a = count_existing(c, "a", 0, 2000), b = count_existing(c, "b", 0, 1000);
    long long evicted = h_info_ll(c, "stats", "evicted_keys");
    CHECKF(evicted >= 800 && a + b == 3000 - evicted, "evicted %lld, a %ld, b %ld", evicted, a, b);
    /* random: both generations lose keys */
    CHECKF(a < 2000 && b < 1000, "a %ld/2000, b %ld/1000", a, b);
    CHECKF(used_memory(c) <= limit + INFO_SLACK, "used_memory %lld over maxmemory %lld", used_memory(c), limit);
}

/* volatile-*: only keys with a TTL go, and when none is left the writes
 * are refused with OOM while the keys without TTL all stay. */
static void volatile_policy(const char *policy)
{
    START(s, "--maxmemory-policy", policy, NULL);
    CONNECT(c, s);
    char err[256];
    CHECKF(fill(c, "perm", 0, 1500, 0, err, sizeof err) == 1500, "%s", err);
    CHECKF(fill(c, "vol", 0, 1500, 100000, err, sizeof err) == 1500, "%s", err);
    long long limit;
    CHECK(limit_above_used(c, 50 * 1024, &limit));
    CHECKF(fill(c, "more", 0, 800, 0, err, sizeof err) == 800, "%s: %s", policy, err);
    CHECKF(count_existing(c, "perm", 0, 1500) == 1500, "%s evicted a key without TTL", policy);
    CHECKF(count_existing(c, "more", 0, 800) == 800, "%s evicted a key without TTL", policy);
    long vol = count_existing(c, "vol", 0, 1500);
    long long evicted = h_info_ll(c, "stats", "evicted_keys");
    CHECKF(evicted >= 600 && vol == 1500 - evicted, "%s: evicted %lld, volatile left %ld", policy, evicted, vol);
    CHECKF(used_memory(c) <= limit + INFO_SLACK, "used_memory %lld over maxmemory %lld", used_memory(c), limit);
    /* write until no volatile key is left: then OOM */
    long n = fill(c, "last", 0, 5000, 0, err, sizeof err);
    CHECKF(n < 5000 && !strncmp(err, "SET last:", 9) && strstr(err, OOM + 1),
           "%s: wrote %ld, then: %s", policy, n, err);
    EXPECT_CMD(c, OOM, "SET one more");
    CHECKF(count_existing(c, "vol", 0, 1500) == 0, "%s: volatile keys left at OOM", policy);
    CHECKF(count_existing(c, "perm", 0, 1500) == 1500, "%s evicted a key without TTL", policy);
    CHECKF(count_existing(c, "last", 0, n) == n, "%s evicted a key without TTL", policy);
    EXPECT_CMD(c, "\"vvvv\"", "GETRANGE perm:3 0 3");
    EXPECT_CMD(c, ":1", "DEL perm:3");
}

TEST(evict_volatile_lru_only_ttl_keys) { volatile_policy("volatile-lru"); }
TEST(evict_volatile_lfu_only_ttl_keys) { volatile_policy("volatile-lfu"); }
TEST(evict_volatile_random_only_ttl_keys) { volatile_policy("volatile-random"); }
TEST(evict_volatile_ttl_only_ttl_keys) { volatile_policy("volatile-ttl"); }

/* volatile-* with no key carrying a TTL: nothing to evict, OOM at once. */
TEST(evict_volatile_without_ttl_keys_is_oom)
{
    START(s, "--maxmemory-policy", "volatile-lru", NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "SET a 1");
    EXPECT_CMD(c, "+OK", "CONFIG SET maxmemory 1");
    EXPECT_CMD(c, OOM, "SET b 1");
    EXPECT_CMD(c, "\"1\"", "GET a");
    CHECK(h_info_ll(c, "stats", "evicted_keys") == 0);
}

/* volatile-ttl: the keys closest to expiring go first. vol:i expires in
 * 100000 + i seconds. */
TEST(evict_volatile_ttl_soonest_first)
{
    START(s, "--maxmemory-policy", "volatile-ttl", NULL);
    CONNECT(c, s);
    char err[256];
    CHECKF(fill(c, "vol", 0, 1500, -100000, err, sizeof err) == 1500, "%s", err);
    long long limit;
    CHECK(limit_above_used(c, 50 * 1024, &limit));
    CHECKF(fill(c, "perm", 0, 800, 0, err, sizeof err) == 800, "%s", err);
    long long evicted = h_info_ll(c, "stats", "evicted_keys");
    long soon = count_existing(c, "vol", 0, 500), late = count_existing(c, "vol", 1000, 1500);
    CHECKF(evicted >= 600, "evicted only %lld", evicted);
    /* random would leave about 60% of each third */
    CHECKF(late >= 490, "latest-expiring third: only %ld of 500 left (soonest third: %ld)", late, soon);
    CHECKF(soon <= 150, "soonest-expiring third: %ld of 500 left (latest: %ld)", soon, late);
}

/* ---- runtime changes, threads, staying at the limit ---------------------- */

TEST(evict_config_set_maxmemory_down_evicts)
{
    START(s, "--maxmemory-policy", "allkeys-random", NULL);
    CONNECT(c, s);
    char err[256];
    CHECKF(fill(c, "k", 0, 4000, 0, err, sizeof err) == 4000, "%s", err);
    long long used = used_memory(c), base;
    EXPECT_CMD(c, "+OK", "FLUSHALL");
    base = used_memory(c);
    CHECK(used > base);
    /* room for about half of the data */
    long long limit = base + (used - base) / 2;
    EXPECT_CMD(c, "+OK", "FLUSHALL");
    CHECKF(fill(c, "k", 0, 4000, 0, err, sizeof err) == 4000, "%s", err);
    EXPECT_CMD(c, "+OK", "CONFIG SET maxmemory %lld", limit);
    EXPECT_CMD(c, "+OK", "SET after the-change");
    /* Evicting 2000 keys takes longer than one command may spend on it
     * (maxmemory-eviction-tenacity): the rest happens in the background,
     * in Redis too. Wait until it settles. */
    long long n = -1, evicted = -1;
    bool settled = WAIT_FOR((evicted = h_info_ll(c, "stats", "evicted_keys"),
                             n = dbsize(c), evicted + n == 4001 && used_memory(c) <= limit + INFO_SLACK),
                            3000);
    CHECKF(settled, "DBSIZE %lld + evicted %lld, used_memory %lld for maxmemory %lld", n, evicted,
           used_memory(c), limit);
    CHECKF(n > 1000 && n < 3000, "DBSIZE %lld after halving the room for 4000 keys", n);
    /* raising it again stops evicting */
    EXPECT_CMD(c, "+OK", "CONFIG SET maxmemory 0");
    CHECKF(fill(c, "z", 0, 1000, 0, err, sizeof err) == 1000, "%s", err);
    EXPECT_CMD(c, "+OK", "CONFIG RESETSTAT");
    CHECK(h_info_ll(c, "stats", "evicted_keys") == 0);
    CHECKF(count_existing(c, "z", 0, 1000) == 1000, "keys evicted without a limit");
}

typedef struct writer {
    int port, id, nkeys;
    char err[256];
    long written;
} writer;

static void *write_many(void *arg) {
    writer *w = arg;
    redisContext *c = redisConnect("127.0.0.1", w->port);
    if (!c || c->err) {
        snprintf(w->err, sizeof w->err, "connect: %s", c ? c->errstr : "oom");
        if (c) redisFree(c);
        return NULL;
    }
    char prefix[32];
    snprintf(prefix, sizeof prefix, "t%d", w->id);
    w->written = fill(c, prefix, 0, w->nkeys, 0, w->err, sizeof w->err);
    redisFree(c);
    return NULL;
}

/* Clients on both reactor threads write three times the limit at once:
 * every write succeeds, evictions happen on both threads, and memory ends
 * at the limit (a concurrent evictor stops as soon as the shared figure is
 * under it: no over-eviction either). */
TEST(evict_concurrent_writers_io_threads)
{
    START(s, "--io-threads", "2", "--maxmemory-policy", "allkeys-lru", NULL);
    CONNECT(c, s);
    long long limit;
    CHECK(limit_above_used(c, 1024 * 1024, &limit));
    enum { W = 4, N = 2000 };   /* 4 x 2000 x ~450 B = 3.6 MB for a 1 MB room */
    writer w[W];
    pthread_t th[W];
    memset(w, 0, sizeof w);
    for (int i = 0; i < W; i++) {
        w[i].port = s->port;
        w[i].id = i;
        w[i].nkeys = N;
        pthread_create(&th[i], NULL, write_many, &w[i]);
    }
    for (int i = 0; i < W; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < W; i++) CHECKF(!w[i].err[0] && w[i].written == N, "writer %d: %ld, %s", i, w[i].written, w[i].err);
    long long evicted = h_info_ll(c, "stats", "evicted_keys");
    CMD(r, c, "DBSIZE");
    CHECKF(evicted > 0 && r->integer + evicted == W * N, "DBSIZE %lld + evicted %lld != %d", r->integer,
           evicted, W * N);
    long long used = used_memory(c);
    CHECKF(used <= limit + INFO_SLACK, "used_memory %lld over maxmemory %lld", used, limit);
    /* not evicted far below the limit either: the room holds >= 1000 keys */
    CHECKF(r->integer >= 1000, "only %lld keys left in a 1 MB room", r->integer);
}

/* Write ten times the limit and sample used_memory along the way: it never
 * goes past the limit by more than what one command adds. */
TEST(evict_memory_stays_near_limit)
{
    START(s, "--maxmemory-policy", "allkeys-lru", NULL);
    CONNECT(c, s);
    CONNECT(probe, s);
    long long room = 1024 * 1024, limit;
    CHECK(limit_above_used(c, room, &limit));
    char err[256];
    long long peak = 0;
    long batches = (10 * room) / (500 * 200) + 1;   /* ~500 B per key, 200 keys per batch */
    for (long b = 0; b < batches; b++) {
        CHECKF(fill(c, "x", b * 200, (b + 1) * 200, 0, err, sizeof err) == 200, "%s", err);
        long long u = used_memory(probe);
        if (u > peak) peak = u;
    }
    CHECKF(h_info_ll(c, "stats", "evicted_keys") > 10 * room / 1000, "too few evictions: %lld",
           h_info_ll(c, "stats", "evicted_keys"));
    CHECKF(peak <= limit + INFO_SLACK, "used_memory peaked at %lld for maxmemory %lld", peak, limit);
}
