/* test_storage.c: the storage engine over real sockets (docs/storage.md).
 * Spill with maxmemory ten times below the data set: every key read back,
 * TTLs, deletes, overwrites, the string commands, RENAME/COPY/MOVE and the
 * key directory commands (SCAN, KEYS, DBSIZE, EXISTS, RANDOMKEY) on keys
 * whose values are only on disk, and expiry of such keys. Restarts: after
 * SHUTDOWN, and after kill -9 with appendfsync always, the store comes
 * back from the SSTables plus the WAL tail, FLUSHDB and SWAPDB included.
 * SAVE / BGSAVE / LASTSAVE reply as redis-server does (REF=1 runs that
 * test against it). A corrupted SSTable is refused at start, by name.
 * Sizes are bounded: ~12 MB of values, a few seconds per test. */
#include "harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NKEYS 12000
#define VLEN 1000

/* The value of key i in generation gen: deterministic, distinct per key. */
static void make_val(char *buf, long i, int gen) {
    int n = snprintf(buf, VLEN + 1, "g%d-k%ld-", gen, i);
    for (int j = n; j < VLEN; j++) buf[j] = (char)('a' + (i + j + gen) % 26);
    buf[VLEN] = '\0';
}

static void kill9(hserver *s) {
    kill(s->pid, SIGKILL);
    h_wait_exit(s, 5000);
    s->checked = true;
}

/* SET k:i for i in [from, to), pipelined; false (test failed) on a reply
 * other than +OK. */
static bool fill(redisContext *c, long from, long to, int gen) {
    char v[VLEN + 1];
    for (long base = from; base < to; base += 500) {
        long end = base + 500 < to ? base + 500 : to;
        for (long i = base; i < end; i++) {
            make_val(v, i, gen);
            redisAppendCommand(c, "SET k:%ld %s", i, v);
        }
        for (long i = base; i < end; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                h_fail(H_LOC, "SET k:%ld: io error %s", i, c->errstr);
                return false;
            }
            bool ok = r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK");
            if (!ok) h_fail(H_LOC, "SET k:%ld: %s", i, r->type == REDIS_REPLY_ERROR ? r->str : "(not +OK)");
            freeReplyObject(r);
            if (!ok) return false;
        }
    }
    return true;
}

/* GET k:i for i in [from, to) must give generation gen's value, except
 * those for which skip(i) holds (expected missing). */
static bool check(redisContext *c, long from, long to, int gen, bool (*missing)(long)) {
    char v[VLEN + 1];
    for (long base = from; base < to; base += 500) {
        long end = base + 500 < to ? base + 500 : to;
        for (long i = base; i < end; i++) redisAppendCommand(c, "GET k:%ld", i);
        for (long i = base; i < end; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                h_fail(H_LOC, "GET k:%ld: io error %s", i, c->errstr);
                return false;
            }
            bool ok;
            if (missing && missing(i)) {
                ok = r->type == REDIS_REPLY_NIL;
                if (!ok) h_fail(H_LOC, "GET k:%ld: want (nil), got type %d", i, r->type);
            } else {
                make_val(v, i, gen);
                ok = r->type == REDIS_REPLY_STRING && r->len == VLEN && !memcmp(r->str, v, VLEN);
                if (!ok)
                    h_fail(H_LOC, "GET k:%ld: want %.20s..., got type %d %.20s", i, v, r->type,
                           r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_ERROR ? r->str : "");
            }
            freeReplyObject(r);
            if (!ok) return false;
        }
    }
    return true;
}

static long long info_ll(redisContext *c, const char *section, const char *field) {
    return h_info_ll(c, section, field);
}

/* The server answers PING while it loads (-LOADING for the rest): wait for
 * the end of recovery. NULL (test failed) if it does not come. */
static hserver *loaded(hserver *s) {
    if (!s) return NULL;
    redisContext *c = h_connect(s);
    if (!c) return NULL;
    if (!WAIT_FOR(info_ll(c, "persistence", "loading") == 0, 10000)) {
        h_fail(H_LOC, "recovery did not end; see %s/stdout.log", s->dir);
        return NULL;
    }
    return s;
}

/* Start with a data dir and maxmemory ten times below NKEYS*VLEN (above
 * the empty server's own used_memory). */
static hserver *start_spill(const char *datadir, unsigned long long *maxmem) {
    hserver *s = loaded(h_start("--data-dir", datadir, "--flush-dirty-bytes", "1mb", "--flush-interval-ms", "200",
                                NULL));
    if (!s) return NULL;
    redisContext *c = h_connect(s);
    if (!c) return NULL;
    long long base = info_ll(c, "memory", "used_memory");
    unsigned long long limit = (unsigned long long)base + (unsigned long long)NKEYS * VLEN / 10;
    redisReply *r = h_cmd(H_LOC, c, "CONFIG SET maxmemory %llu", limit);
    if (!r || r->type != REDIS_REPLY_STATUS) {
        h_fail(H_LOC, "CONFIG SET maxmemory failed");
        return NULL;
    }
    *maxmem = limit;
    return s;
}

static bool none_missing(long i) { (void)i; return false; }
static bool every_7th(long i) { return i % 7 == 3; }

/* Wait until the background spill brought used_memory under the limit
 * (plus a margin for the server's own buffers). */
static bool settle(redisContext *c, unsigned long long limit) {
    redisReply *r = h_cmd(H_LOC, c, "SAVE");
    if (!r || r->type != REDIS_REPLY_STATUS) {
        h_fail(H_LOC, "SAVE failed: %s", r && r->type == REDIS_REPLY_ERROR ? r->str : "?");
        return false;
    }
    bool ok = WAIT_FOR((unsigned long long)info_ll(c, "memory", "used_memory") <= limit + limit / 4, 15000);
    if (!ok)
        h_fail(H_LOC, "used_memory %lld stayed above maxmemory %llu", info_ll(c, "memory", "used_memory"), limit);
    return ok;
}

static bool expect_int(redisContext *c, long long want, const char *cmd) {
    redisReply *r = h_cmd(H_LOC, c, "%s", cmd);
    if (!r) return false;
    if (r->type != REDIS_REPLY_INTEGER || r->integer != want) {
        char got[200];
        h_render(r, got, sizeof(got));
        h_fail(H_LOC, "%s: want :%lld, got %s", cmd, want, got);
        return false;
    }
    return true;
}

static long count_missing(long from, long to, bool (*missing)(long)) {
    long n = 0;
    for (long i = from; i < to; i++) n += missing(i);
    return n;
}

/* The value of GET key must be generation gen's value of key index i. */
static bool expect_val(redisContext *c, const char *key, long i, int gen) {
    char v[VLEN + 1];
    make_val(v, i, gen);
    redisReply *r = h_cmd(H_LOC, c, "GET %s", key);
    if (!r) return false;
    if (r->type != REDIS_REPLY_STRING || r->len != VLEN || memcmp(r->str, v, VLEN)) {
        h_fail(H_LOC, "GET %s: not the value of k:%ld gen %d (type %d)", key, i, gen, r->type);
        return false;
    }
    return true;
}

TEST(storage_spill_read_back_ttl_delete_overwrite) {
    if (h_is_ref()) { h_skip("strata storage engine"); return; }
    unsigned long long limit;
    hserver *s = start_spill("@/data", &limit);
    CHECK_OK();
    redisContext *c = h_connect(s);
    CHECK_OK();
    EXPECT_CMD(c, "[\"maxmemory-policy\", \"spill\"]", "CONFIG GET maxmemory-policy");
    CHECK(fill(c, 0, NKEYS, 1));
    for (long i = 0; i < 50; i++) EXPECT_CMD(c, ":1", "EXPIRE k:%ld 1000", i);
    CHECK(settle(c, limit));
    long long spilled = info_ll(c, "persistence", "lsm_spilled_keys");
    CHECKF(spilled > NKEYS / 2, "only %lld of %d values spilled", spilled, NKEYS);

    /* The key directory answers without reading values from disk. */
    long long loads0 = info_ll(c, "persistence", "lsm_spill_loads");
    EXPECT_CMD(c, ":12000", "DBSIZE");
    EXPECT_CMD(c, ":3", "EXISTS k:0 k:1 k:11999");
    EXPECT_RANGE(c, 990, 1000, "TTL k:10");
    EXPECT_CMD(c, ":-1", "TTL k:100");
    EXPECT_CMD(c, "+string", "TYPE k:200");
    redisReply *r = h_cmd(H_LOC, c, "KEYS k:*");
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == NKEYS);
    long scanned = 0;
    unsigned long long cursor = 0;
    do {
        r = h_cmd(H_LOC, c, "SCAN %llu COUNT 1000", cursor);
        CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 2);
        cursor = strtoull(r->element[0]->str, NULL, 10);
        scanned += (long)r->element[1]->elements;
    } while (cursor != 0);
    CHECKF(scanned >= NKEYS, "SCAN saw %ld keys", scanned);
    r = h_cmd(H_LOC, c, "RANDOMKEY");
    CHECK(r && r->type == REDIS_REPLY_STRING && !strncmp(r->str, "k:", 2));
    CHECKF(info_ll(c, "persistence", "lsm_spill_loads") == loads0, "the key directory read values from disk");

    /* Every value back, from RAM or from disk. */
    CHECK(check(c, 0, NKEYS, 1, none_missing));
    CHECKF(info_ll(c, "persistence", "lsm_spill_loads") > loads0 + NKEYS / 4, "few values came from disk");
    CHECK(settle(c, limit));

    /* Deletes and overwrites across RAM and disk. */
    for (long i = 3; i < NKEYS; i += 7) EXPECT_CMD(c, ":1", "DEL k:%ld", i);
    CHECK(fill(c, 0, 1000, 2));
    CHECK(settle(c, limit));
    CHECK(expect_int(c, NKEYS - count_missing(1000, NKEYS, every_7th), "DBSIZE"));
    CHECK(check(c, 0, 1000, 2, none_missing));
    CHECK(check(c, 1000, NKEYS, 1, every_7th));
    EXPECT_CMD(c, ":0", "EXISTS k:1004");
    EXPECT_CMD(c, ":-2", "TTL k:1004");
    EXPECT_CMD(c, ":-1", "TTL k:10");    /* the SET cleared it */
    CHECK(settle(c, limit));

    /* String commands on cold values (k:2000.. were last read long ago). */
    loads0 = info_ll(c, "persistence", "lsm_spill_loads");
    EXPECT_CMD(c, ":1000", "STRLEN k:2000");
    EXPECT_CMD(c, "\"g1-k2001\"", "GETRANGE k:2001 0 7");
    EXPECT_CMD(c, ":1003", "APPEND k:2002 xyz");
    EXPECT_CMD(c, "\"xyz\"", "GETRANGE k:2002 -3 -1");
    EXPECT_CMD(c, ":1000", "SETRANGE k:2004 0 G");
    EXPECT_CMD(c, "\"G1-k2004-\"", "GETRANGE k:2004 0 8");
    char v[VLEN + 1];
    make_val(v, 2007, 1);
    r = h_cmd(H_LOC, c, "GETSET k:2007 new");
    CHECK(r && r->type == REDIS_REPLY_STRING && r->len == VLEN && !memcmp(r->str, v, VLEN));
    make_val(v, 2006, 1);
    r = h_cmd(H_LOC, c, "GETDEL k:2006");
    CHECK(r && r->type == REDIS_REPLY_STRING && r->len == VLEN && !memcmp(r->str, v, VLEN));
    EXPECT_CMD(c, ":0", "EXISTS k:2006");
    make_val(v, 2008, 1);
    r = h_cmd(H_LOC, c, "GETEX k:2008 EX 500");
    CHECK(r && r->type == REDIS_REPLY_STRING && r->len == VLEN && !memcmp(r->str, v, VLEN));
    EXPECT_RANGE(c, 490, 500, "TTL k:2008");
    make_val(v, 2009, 1);
    r = h_cmd(H_LOC, c, "SET k:2009 other GET");
    CHECK(r && r->type == REDIS_REPLY_STRING && r->len == VLEN && !memcmp(r->str, v, VLEN));
    EXPECT_CMD(c, "\"raw\"", "OBJECT ENCODING k:2011");
    r = h_cmd(H_LOC, c, "MEMORY USAGE k:2010");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer > VLEN);
    r = h_cmd(H_LOC, c, "LCS k:2013 k:2015 LEN");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer > 10);
    r = h_cmd(H_LOC, c, "MGET k:2016 nosuch k:2018");
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->len == VLEN &&
          r->element[1]->type == REDIS_REPLY_NIL && r->element[2]->len == VLEN);
    CHECKF(info_ll(c, "persistence", "lsm_spill_loads") > loads0 + 5, "the string commands read no value from disk");

    /* RENAME, COPY, MOVE of cold values keep value and TTL. */
    CHECK(settle(c, limit));
    EXPECT_CMD(c, ":1", "EXPIRE k:3000 700");
    EXPECT_CMD(c, "+OK", "RENAME k:3000 renamed");
    CHECK(expect_val(c, "renamed", 3000, 1));
    EXPECT_RANGE(c, 690, 700, "TTL renamed");
    EXPECT_CMD(c, ":1", "COPY k:3001 copied");
    CHECK(expect_val(c, "copied", 3001, 1));
    CHECK(expect_val(c, "k:3001", 3001, 1));
    EXPECT_CMD(c, ":1", "MOVE k:3002 5");
    EXPECT_CMD(c, ":0", "EXISTS k:3002");
    EXPECT_CMD(c, "+OK", "SELECT 5");
    CHECK(expect_val(c, "k:3002", 3002, 1));
    EXPECT_CMD(c, "+OK", "SELECT 0");

    /* Counters that went cold, then INCR / INCRBYFLOAT. */
    for (long i = 0; i < 20; i++) EXPECT_CMD(c, "+OK", "SET n:%ld %ld", i, i * 10);
    CHECK(fill(c, 4000, 6000, 3));
    CHECK(settle(c, limit));
    EXPECT_CMD(c, ":31", "INCR n:3");
    EXPECT_CMD(c, ":45", "INCRBY n:4 5");
    EXPECT_CMD(c, ":49", "DECR n:5");
    EXPECT_CMD(c, "\"60.5\"", "INCRBYFLOAT n:6 0.5");

    /* Expiry of cold keys: they vanish, and no read brings them back. */
    for (long i = 0; i < 30; i++) EXPECT_CMD(c, "+OK", "SET e:%ld %s PX 1500", i, v);
    CHECK(fill(c, 6000, 8000, 4));
    CHECK(settle(c, limit));
    h_sleep_ms(1600);
    for (long i = 0; i < 30; i++) EXPECT_CMD(c, "(nil)", "GET e:%ld", i);
    CHECK(WAIT_FOR(!h_cmd(H_LOC, c, "KEYS e:*")->elements, 5000));
    CHECK(check(c, 6000, 8000, 4, none_missing));
}

/* A second server on the first one's data dir (absolute path). */
static hserver *restart(hserver *old, const char *extra1, const char *extra2) {
    static char dd[300];
    snprintf(dd, sizeof(dd), "%s", h_path(old, "data"));
    return loaded(h_start("--data-dir", dd, "--maxmemory", "0", extra1, extra2, NULL));
}

TEST(storage_restart_after_shutdown) {
    if (h_is_ref()) { h_skip("strata storage engine"); return; }
    unsigned long long limit;
    hserver *s = start_spill("@/data", &limit);
    CHECK_OK();
    redisContext *c = h_connect(s);
    CHECK_OK();
    CHECK(fill(c, 0, NKEYS, 1));
    CHECK(settle(c, limit));
    for (long i = 3; i < NKEYS; i += 7) EXPECT_CMD(c, ":1", "DEL k:%ld", i);
    EXPECT_CMD(c, ":1", "EXPIRE k:100 1000");
    EXPECT_CMD(c, "+OK", "SET gone x PX 300");
    /* db 1 and 2 carry data; SWAPDB 0 1 after FLUSHDB of db 2 */
    EXPECT_CMD(c, "+OK", "SELECT 1");
    EXPECT_CMD(c, "+OK", "SET in1 one");
    EXPECT_CMD(c, "+OK", "SELECT 2");
    EXPECT_CMD(c, "+OK", "SET in2 two");
    EXPECT_CMD(c, "+OK", "SAVE");
    EXPECT_CMD(c, "+OK", "FLUSHDB");
    EXPECT_CMD(c, "+OK", "SET after2 x");
    EXPECT_CMD(c, "+OK", "SWAPDB 0 1");
    EXPECT_CMD(c, "+OK", "SELECT 0");
    EXPECT_CMD(c, "+OK", "SET in0 zero");
    h_sleep_ms(400);
    CHECK(h_stop(s));

    hserver *s2 = restart(s, NULL, NULL);
    CHECK_OK();
    c = h_connect(s2);
    CHECK_OK();
    CHECK(WAIT_FOR(info_ll(c, "persistence", "loading") == 0, 10000));
    /* db 0 now holds what was db 1, plus in0; db 1 holds the old db 0 */
    EXPECT_SORTED(c, "[\"in0\", \"in1\"]", "KEYS *");
    EXPECT_CMD(c, "+OK", "SELECT 2");
    EXPECT_SORTED(c, "[\"after2\"]", "KEYS *");
    EXPECT_CMD(c, "+OK", "SELECT 1");
    CHECK(expect_int(c, NKEYS - count_missing(0, NKEYS, every_7th), "DBSIZE"));
    CHECK(check(c, 0, NKEYS, 1, every_7th));
    EXPECT_RANGE(c, 990, 1000, "TTL k:100");
    EXPECT_CMD(c, ":0", "EXISTS gone");
}

TEST(storage_restart_after_kill9_appendfsync_always) {
    if (h_is_ref()) { h_skip("strata storage engine"); return; }
    hserver *s = loaded(h_start("--data-dir", "@/data", "--appendonly", "yes", "--appendfsync", "always",
                                "--flush-dirty-bytes", "1mb", NULL));
    CHECK_OK();
    redisContext *c = h_connect(s);
    CHECK_OK();
    CHECK(fill(c, 0, 4000, 1));            /* ~4 MB: some flushes happen */
    EXPECT_CMD(c, "+OK", "SAVE");
    CHECK(fill(c, 2000, 3000, 2));         /* overwrites only in the WAL */
    for (long i = 3; i < 4000; i += 7) EXPECT_CMD(c, ":1", "DEL k:%ld", i);
    EXPECT_CMD(c, ":1", "EXPIRE k:1 1000");
    EXPECT_CMD(c, ":1003", "APPEND k:0 abc");
    EXPECT_CMD(c, ":1000", "SETRANGE k:8 0 Z");
    EXPECT_CMD(c, "+OK", "SELECT 1");
    EXPECT_CMD(c, "+OK", "SET one 1");
    EXPECT_CMD(c, "+OK", "SWAPDB 0 1");     /* after the last flush */
    EXPECT_CMD(c, "+OK", "SELECT 3");
    EXPECT_CMD(c, "+OK", "SET three 3");
    EXPECT_CMD(c, "+OK", "FLUSHDB");
    EXPECT_CMD(c, "+OK", "SET three-again 3");
    kill9(s);

    hserver *s2 = restart(s, "--appendonly", "yes");
    CHECK_OK();
    c = h_connect(s2);
    CHECK_OK();
    CHECK(WAIT_FOR(info_ll(c, "persistence", "loading") == 0, 10000));
    EXPECT_SORTED(c, "[\"one\"]", "KEYS *");
    EXPECT_CMD(c, "+OK", "SELECT 3");
    EXPECT_SORTED(c, "[\"three-again\"]", "KEYS *");
    EXPECT_CMD(c, "+OK", "SELECT 1");
    CHECK(expect_int(c, 4000 - count_missing(0, 4000, every_7th), "DBSIZE"));
    CHECK(check(c, 9, 2000, 1, every_7th));
    CHECK(check(c, 2000, 3000, 2, every_7th));
    CHECK(check(c, 3000, 4000, 1, every_7th));
    EXPECT_RANGE(c, 990, 1000, "TTL k:1");
    EXPECT_CMD(c, ":1003", "STRLEN k:0");
    EXPECT_CMD(c, "\"abc\"", "GETRANGE k:0 -3 -1");
    EXPECT_CMD(c, "\"Z1-k8-\"", "GETRANGE k:8 0 5");
    /* and again, after a flush of the recovered state */
    EXPECT_CMD(c, "+OK", "SAVE");
    kill9(s2);
    hserver *s3 = restart(s, "--appendonly", "yes");
    CHECK_OK();
    c = h_connect(s3);
    CHECK_OK();
    CHECK(WAIT_FOR(info_ll(c, "persistence", "loading") == 0, 10000));
    EXPECT_SORTED(c, "[\"one\"]", "KEYS *");
    EXPECT_CMD(c, "+OK", "SELECT 1");
    CHECK(check(c, 3000, 4000, 1, every_7th));
    EXPECT_CMD(c, "\"abc\"", "GETRANGE k:0 -3 -1");
}

/* SAVE, BGSAVE and LASTSAVE as redis-server answers them (REF=1 runs this
 * against it, with its default RDB persistence). */
TEST(storage_save_bgsave_lastsave_replies) {
    hserver *s = h_is_ref() ? h_start(NULL) : loaded(h_start("--data-dir", "@/data", NULL));
    CHECK_OK();
    redisContext *c = h_connect(s);
    CHECK_OK();
    long long t0 = h_now_ms() / 1000;
    redisReply *r = h_cmd(H_LOC, c, "LASTSAVE");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer <= t0 + 1 && r->integer >= t0 - 30);
    EXPECT_CMD(c, "+OK", "SET a 1");
    EXPECT_CMD(c, "+OK", "SAVE");
    r = h_cmd(H_LOC, c, "LASTSAVE");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer >= t0);
    EXPECT_CMD(c, "-ERR syntax error", "BGSAVE foo");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'save' command", "SAVE x");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'lastsave' command", "LASTSAVE x");
    EXPECT_CMD(c, "+Background saving started", "BGSAVE");
    CHECK(WAIT_FOR(info_ll(c, "persistence", "rdb_bgsave_in_progress") == 0, 5000));
    char st[32];
    const char *info = h_info(c, "persistence");
    CHECK(info && h_info_field(info, "rdb_last_bgsave_status", st, sizeof(st)));
    CHECKF(!strcmp(st, "ok"), "rdb_last_bgsave_status:%s", st);
    CHECK(info_ll(c, "persistence", "rdb_changes_since_last_save") == 0);
    EXPECT_CMD(c, "+OK", "SET b 2");
    CHECK(info_ll(c, "persistence", "rdb_changes_since_last_save") >= 1);
    CHECK(info_ll(c, "persistence", "rdb_last_save_time") >= t0);
    EXPECT_CMD(c, "+OK", "MULTI");
    EXPECT_CMD(c, "-ERR Command not allowed inside a transaction", "SAVE");
    EXPECT_CMD(c, "+OK", "DISCARD");
}

TEST(storage_save_without_engine_is_an_error) {
    if (h_is_ref()) { h_skip("DIFFERS: redis-server always has RDB persistence"); return; }
    redisContext *c = h_fresh();
    CHECK_OK();
    EXPECT_CMD(c, "-ERR persistence is off (set data-dir, or appendonly yes)", "SAVE");
    EXPECT_CMD(c, "-ERR persistence is off (set data-dir, or appendonly yes)", "BGSAVE");
    redisReply *r = h_cmd(H_LOC, c, "LASTSAVE");
    CHECK(r && r->type == REDIS_REPLY_INTEGER);
}

/* Flip one byte in the middle of an SSTable: the next start refuses, and
 * the log names the file. */
TEST(storage_corrupt_sstable_refused_at_start) {
    if (h_is_ref()) { h_skip("strata storage engine"); return; }
    hserver *s = loaded(h_start("--data-dir", "@/data", NULL));
    CHECK_OK();
    redisContext *c = h_connect(s);
    CHECK_OK();
    CHECK(fill(c, 0, 500, 1));
    EXPECT_CMD(c, "+OK", "SAVE");
    CHECK(h_stop(s));
    char lsmdir[400], sst[700] = "";
    snprintf(lsmdir, sizeof(lsmdir), "%s/lsm", h_path(s, "data"));
    DIR *d = opendir(lsmdir);
    CHECK(d);
    struct dirent *de;
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".sst")) snprintf(sst, sizeof(sst), "%s/%s", lsmdir, de->d_name);
    closedir(d);
    CHECKF(sst[0], "no .sst file in %s", lsmdir);
    struct stat sb;
    CHECK(stat(sst, &sb) == 0 && sb.st_size > 100);
    int fd = open(sst, O_RDWR);
    CHECK(fd >= 0);
    unsigned char b;
    off_t off = sb.st_size / 2;
    CHECK(pread(fd, &b, 1, off) == 1);
    b ^= 0x5a;
    CHECK(pwrite(fd, &b, 1, off) == 1);
    close(fd);

    char dd[400];
    snprintf(dd, sizeof(dd), "%s", h_path(s, "data"));
    hserver *s2 = h_start_failing("--data-dir", dd, NULL);
    CHECK_OK();
    CHECKF(WIFEXITED(s2->status) && WEXITSTATUS(s2->status) != 0, "status 0x%x", s2->status);
    FILE *f = fopen(h_path(s2, "stdout.log"), "r");
    CHECK(f);
    char line[1024];
    bool named = false;
    const char *base = strrchr(sst, '/') + 1;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, base)) named = true;
    fclose(f);
    CHECKF(named, "the log does not name %s", base);
}

/* The LSM directory replaced by a file: flushes fail, writes get -MISCONF,
 * reads (spilled values too) go on; once the directory is back the retry
 * succeeds, writes resume, and nothing acknowledged is lost. */
TEST(storage_flush_failure_refuses_writes_until_disk_back) {
    if (h_is_ref()) { h_skip("strata storage engine"); return; }
    hserver *s = loaded(h_start("--data-dir", "@/data", "--flush-interval-ms", "100", NULL));
    CHECK_OK();
    redisContext *c = h_connect(s);
    CHECK_OK();
    EXPECT_CMD(c, "+OK", "SET a 1");
    EXPECT_CMD(c, "+OK", "SAVE");
    char lsm[400], away[420];
    snprintf(lsm, sizeof(lsm), "%s/lsm", h_path(s, "data"));
    snprintf(away, sizeof(away), "%s.away", lsm);
    CHECK(rename(lsm, away) == 0);
    int fd = open(lsm, O_WRONLY | O_CREAT, 0600);
    CHECK(fd >= 0);
    close(fd);
    EXPECT_CMD(c, "+OK", "SET b 2");
    redisReply *r = NULL;
    CHECK(WAIT_FOR((r = h_cmd(H_LOC, c, "SET c 3")) && r->type == REDIS_REPLY_ERROR, 5000));
    CHECKF(!strncmp(r->str, "MISCONF ", 8), "SET: %s", r->str);
    EXPECT_CMD(c, "\"1\"", "GET a");
    EXPECT_CMD(c, "\"2\"", "GET b");
    r = h_cmd(H_LOC, c, "SAVE");
    CHECK(r && r->type == REDIS_REPLY_ERROR);
    const char *info = h_info(c, "persistence");
    char st[16];
    CHECK(info && h_info_field(info, "rdb_last_bgsave_status", st, sizeof(st)) && !strcmp(st, "err"));
    CHECK(unlink(lsm) == 0 && rename(away, lsm) == 0);
    CHECK(WAIT_FOR((r = h_cmd(H_LOC, c, "SET c 3")) && r->type == REDIS_REPLY_STATUS, 5000));
    EXPECT_CMD(c, "+OK", "SAVE");
    CHECK(h_stop(s));
    hserver *s2 = restart(s, NULL, NULL);
    CHECK_OK();
    c = h_connect(s2);
    CHECK_OK();
    EXPECT_SORTED(c, "[\"a\", \"b\", \"c\"]", "KEYS *");
}
