/* test_expire.c: key expiry as clients see it: EXPIRE PEXPIRE EXPIREAT
 * PEXPIREAT with NX/XX/GT/LT, TTL PTTL EXPIRETIME PEXPIRETIME PERSIST,
 * times in the past, lazy expiry on access, and active expiry of keys that
 * are never read again (DBSIZE and INFO keyspace must drop to nothing). */
#include "harness.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

TEST(expire_ttl_basics)
{
    FRESH(c);
    EXPECT_CMD(c, ":-2", "TTL nokey");
    EXPECT_CMD(c, ":-2", "PTTL nokey");
    EXPECT_CMD(c, ":-2", "EXPIRETIME nokey");
    EXPECT_CMD(c, ":-2", "PEXPIRETIME nokey");
    EXPECT_CMD(c, "+OK", "SET k v");
    EXPECT_CMD(c, ":-1", "TTL k");
    EXPECT_CMD(c, ":-1", "PTTL k");
    EXPECT_CMD(c, ":-1", "EXPIRETIME k");
    EXPECT_CMD(c, ":-1", "PEXPIRETIME k");
    EXPECT_CMD(c, ":0", "EXPIRE nokey 10");
    EXPECT_CMD(c, ":1", "EXPIRE k 100");
    EXPECT_RANGE(c, 99, 100, "TTL k");
    EXPECT_CMD(c, ":1", "PEXPIRE k 50000");
    EXPECT_RANGE(c, 49000, 50000, "PTTL k");
    long long now = h_now_ms();
    EXPECT_CMD(c, ":1", "EXPIREAT k %lld", now / 1000 + 1000);
    char exp[40];
    snprintf(exp, sizeof exp, ":%lld", now / 1000 + 1000);
    EXPECT_CMD(c, exp, "EXPIRETIME k");
    snprintf(exp, sizeof exp, ":%lld", (now / 1000 + 1000) * 1000);
    EXPECT_CMD(c, exp, "PEXPIRETIME k");
    EXPECT_CMD(c, ":1", "PEXPIREAT k 99999999999999");
    EXPECT_CMD(c, ":99999999999999", "PEXPIRETIME k");
    EXPECT_CMD(c, ":100000000000", "EXPIRETIME k");   /* rounded, as Redis does */
    EXPECT_CMD(c, ":1", "PERSIST k");
    EXPECT_CMD(c, ":0", "PERSIST k");
    EXPECT_CMD(c, ":0", "PERSIST nokey");
    EXPECT_CMD(c, ":-1", "TTL k");
    EXPECT_CMD(c, "\"v\"", "GET k");
}

TEST(expire_nx_xx_gt_lt)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "SET a 1");
    /* No TTL counts as an infinite TTL: GT never applies, LT always. */
    EXPECT_CMD(c, ":0", "EXPIRE a 100 GT");
    EXPECT_CMD(c, ":-1", "TTL a");
    EXPECT_CMD(c, ":0", "EXPIRE a 100 XX");
    EXPECT_CMD(c, ":1", "EXPIRE a 100 LT");
    EXPECT_RANGE(c, 99, 100, "TTL a");
    EXPECT_CMD(c, ":0", "EXPIRE a 50 GT");
    EXPECT_CMD(c, ":1", "EXPIRE a 200 gt");
    EXPECT_RANGE(c, 199, 200, "TTL a");
    EXPECT_CMD(c, ":0", "EXPIRE a 300 LT");
    EXPECT_CMD(c, ":0", "EXPIRE a 100 NX");
    EXPECT_CMD(c, ":1", "EXPIRE a 100 XX");
    EXPECT_CMD(c, ":1", "PERSIST a");
    EXPECT_CMD(c, ":1", "PEXPIRE a 100000 NX");
    EXPECT_CMD(c, ":1", "PEXPIRE a 200000 XX GT");
    EXPECT_RANGE(c, 199000, 200000, "PTTL a");
    EXPECT_CMD(c, ":1", "PEXPIREAT a %lld LT", h_now_ms() + 100000);
    EXPECT_RANGE(c, 98, 100, "TTL a");
    EXPECT_CMD(c, ":0", "EXPIREAT a %lld GT", h_now_ms() / 1000 + 10);
    EXPECT_CMD(c, ":0", "EXPIRE nokey 10 NX");

    EXPECT_CMD(c, "-ERR NX and XX, GT or LT options at the same time are not compatible",
               "EXPIRE a 10 NX XX");
    EXPECT_CMD(c, "-ERR NX and XX, GT or LT options at the same time are not compatible",
               "EXPIRE a 10 NX GT");
    EXPECT_CMD(c, "-ERR NX and XX, GT or LT options at the same time are not compatible",
               "PEXPIRE a 10 LT NX");
    EXPECT_CMD(c, "-ERR GT and LT options at the same time are not compatible",
               "EXPIRE a 10 GT LT");
    EXPECT_CMD(c, "-ERR Unsupported option foo", "EXPIRE a 10 foo");
    EXPECT_CMD(c, "-ERR Unsupported option bar", "EXPIREAT a 10 NX bar");
    EXPECT_RANGE(c, 90, 100, "TTL a");
}

TEST(expire_errors)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "SET a 1");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "EXPIRE a abc");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "PEXPIRE a 1.5");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "EXPIREAT a %s", "");
    EXPECT_CMD(c, "-ERR invalid expire time in 'expire' command", "EXPIRE a 9223372036854775807");
    EXPECT_CMD(c, "-ERR invalid expire time in 'pexpire' command", "PEXPIRE a 9223372036854775807");
    EXPECT_CMD(c, "-ERR invalid expire time in 'expireat' command",
               "EXPIREAT a -9223372036854775808");
    EXPECT_CMD(c, "-ERR invalid expire time in 'expire' command", "EXPIRE a -9223372036854775808");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'expire' command", "EXPIRE a");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'ttl' command", "TTL");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'persist' command", "PERSIST");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'pexpiretime' command", "PEXPIRETIME a b");
    EXPECT_CMD(c, ":-1", "TTL a");
}

TEST(expire_in_the_past_deletes)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "MSET a 1 b 2 c 3 d 4");
    EXPECT_CMD(c, ":1", "EXPIRE a -1");
    EXPECT_CMD(c, ":0", "EXISTS a");
    EXPECT_CMD(c, ":1", "PEXPIRE b 0");
    EXPECT_CMD(c, ":0", "EXISTS b");
    EXPECT_CMD(c, ":1", "EXPIREAT c 1");
    EXPECT_CMD(c, "(nil)", "GET c");
    EXPECT_CMD(c, ":1", "PEXPIREAT d %lld", h_now_ms() - 1000);
    EXPECT_CMD(c, ":-2", "TTL d");
    EXPECT_CMD(c, ":0", "DBSIZE");
}

TEST(expire_lazy_on_access)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "SET a 1 PX 50");
    EXPECT_CMD(c, "+OK", "SET b 1 PX 50");
    EXPECT_CMD(c, "+OK", "SET c 1 PX 50");
    EXPECT_CMD(c, "+OK", "SET d 1 PX 50");
    EXPECT_CMD(c, ":1", "EXISTS a");
    h_sleep_ms(120);
    /* Whatever the active cycle did, every read path sees them gone. */
    EXPECT_CMD(c, "(nil)", "GET a");
    EXPECT_CMD(c, ":0", "EXISTS b");
    EXPECT_CMD(c, ":-2", "TTL c");
    EXPECT_CMD(c, ":1", "SETNX d 2");
    EXPECT_CMD(c, ":-1", "TTL d");
    EXPECT_CMD(c, ":1", "DBSIZE");
    EXPECT_CMD(c, "+OK", "SET e v PX 30");
    h_sleep_ms(80);
    EXPECT_CMD(c, "-ERR no such key", "RENAME e f");
    EXPECT_CMD(c, "[\"d\"]", "KEYS *");
}

/* DBSIZE counts keys that expired but were not reclaimed yet, so it drops
 * only through active expiry. */
static bool dbsize_is(redisContext *c, int db, long long n)
{
    redisReply *r = redisCommand(c, "SELECT %d", db);
    freeReplyObject(r);
    r = redisCommand(c, "DBSIZE");
    bool is = r && r->type == REDIS_REPLY_INTEGER && r->integer == n;
    freeReplyObject(r);
    return is;
}

TEST(expire_active_never_read)
{
    FRESH(c);
    long long expired0 = h_info_ll(c, "stats", "expired_keys");
    CHECK_OK();
    enum { N = 2000, N5 = 500 };
    for (int i = 0; i < N; i++)
        redisAppendCommand(c, "SET never:%d %d PX 100", i, i);
    redisAppendCommand(c, "SELECT 5");
    for (int i = 0; i < N5; i++)
        redisAppendCommand(c, "SET never5:%d %d PX 100", i, i);
    redisAppendCommand(c, "SET keep v");
    redisAppendCommand(c, "SELECT 0");
    for (int i = 0; i < N + N5 + 3; i++) {
        redisReply *r = NULL;
        CHECKF(redisGetReply(c, (void **)&r) == REDIS_OK && r, "reply %d: %s", i, c->errstr);
        bool ok = r->type == REDIS_REPLY_STATUS;
        freeReplyObject(r);
        CHECKF(ok, "reply %d to the SETs is not a status", i);
    }
    EXPECT_CMD(c, ":2000", "DBSIZE");
    bool gone = WAIT_FOR(dbsize_is(c, 0, 0) && dbsize_is(c, 5, 1), 2100);
    CHECKF(gone, "keys never read were not reclaimed within %d ms (db0 %s, db5 %s)",
           2100 * h_slow(), dbsize_is(c, 0, 0) ? "empty" : "not empty",
           dbsize_is(c, 5, 1) ? "done" : "not done");
    EXPECT_CMD(c, "+OK", "SELECT 0");
    const char *ks = h_info(c, "keyspace");
    CHECK(ks);
    CHECKF(strstr(ks, "db0:") == NULL, "INFO keyspace still lists db0: %s", ks);
    char v[128];
    CHECKF(h_info_field(ks, "db5", v, sizeof v) && strcmp(v, "keys=1,expires=0,avg_ttl=0") == 0,
           "INFO keyspace db5: want keys=1,expires=0,avg_ttl=0 in %s", ks);
    long long expired1 = h_info_ll(c, "stats", "expired_keys");
    CHECKF(expired1 - expired0 >= N + N5, "expired_keys grew by %lld, want >= %d",
           expired1 - expired0, N + N5);
}

TEST(expire_info_keyspace)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "SET e1 1 EX 100");
    EXPECT_CMD(c, "+OK", "MSET e2 1 e3 1");
    EXPECT_CMD(c, "+OK", "SELECT 3");
    EXPECT_CMD(c, "+OK", "SET z 1");
    const char *ks = h_info(c, "keyspace");
    CHECK(ks);
    char v[128];
    CHECKF(h_info_field(ks, "db0", v, sizeof v) && h_match("glob:keys=3,expires=1,avg_ttl=*", v),
           "INFO keyspace db0: %s", ks);
    CHECKF(h_info_field(ks, "db3", v, sizeof v) && strcmp(v, "keys=1,expires=0,avg_ttl=0") == 0,
           "INFO keyspace db3: %s", ks);
    CHECKF(strncmp(ks, "# Keyspace\r\n", 12) == 0, "INFO keyspace header: %.40s", ks);
    CHECKF(!strstr(ks, "db1:"), "INFO keyspace lists an empty db1: %s", ks);
}
