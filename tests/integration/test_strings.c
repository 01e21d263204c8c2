/* test_strings.c: the string commands (GET SET SETNX SETEX PSETEX MGET MSET
 * MSETNX GETSET GETDEL GETEX APPEND STRLEN INCR DECR INCRBY DECRBY
 * INCRBYFLOAT GETRANGE SETRANGE SUBSTR LCS) over a real socket: a normal
 * case for each and its error replies, with exact types and texts taken
 * from redis-server 7.0.15. WRONGTYPE cannot be produced while strings are
 * the only type, so it is not tested here. */
#include "harness.h"

#include <stdio.h>
#include <string.h>

TEST(strings_get_set)
{
    FRESH(c);
    EXPECT_CMD(c, "(nil)", "GET k");
    EXPECT_CMD(c, "+OK", "SET k v");
    EXPECT_CMD(c, "\"v\"", "GET k");
    EXPECT_CMD(c, "+OK", "SET k %s", "other value");
    EXPECT_CMD(c, "\"other value\"", "GET k");
    EXPECT_CMD(c, "+OK", "SET e %s", "");
    EXPECT_CMD(c, "\"\"", "GET e");
    EXPECT_CMD(c, ":1", "EXISTS e");
    EXPECT_CMD(c, "+OK", "set lower case");
    EXPECT_CMD(c, "\"case\"", "get lower");
}

TEST(strings_set_options)
{
    FRESH(c);
    /* NX / XX */
    EXPECT_CMD(c, "+OK", "SET k v1 NX");
    EXPECT_CMD(c, "(nil)", "SET k v2 NX");
    EXPECT_CMD(c, "\"v1\"", "GET k");
    EXPECT_CMD(c, "+OK", "SET k v3 XX");
    EXPECT_CMD(c, "(nil)", "SET missing v XX");
    EXPECT_CMD(c, ":0", "EXISTS missing");
    /* GET returns the old value (or nil) and still sets. */
    EXPECT_CMD(c, "\"v3\"", "SET k v4 GET");
    EXPECT_CMD(c, "(nil)", "SET new v GET");
    EXPECT_CMD(c, "\"v\"", "GET new");
    /* NX GET (allowed since 7.0): old value, nothing written. */
    EXPECT_CMD(c, "\"v4\"", "SET k v5 NX GET");
    EXPECT_CMD(c, "\"v4\"", "GET k");
    EXPECT_CMD(c, "(nil)", "SET nxget v NX GET");
    EXPECT_CMD(c, "\"v\"", "GET nxget");
    EXPECT_CMD(c, "(nil)", "SET xxget v XX GET");
    EXPECT_CMD(c, ":0", "EXISTS xxget");
    /* Expiry options, case-insensitive. */
    EXPECT_CMD(c, "+OK", "SET k v EX 100");
    EXPECT_RANGE(c, 99, 100, "TTL k");
    EXPECT_CMD(c, "+OK", "SET k v px 100000");
    EXPECT_RANGE(c, 99000, 100000, "PTTL k");
    long long now = h_now_ms();
    EXPECT_CMD(c, "+OK", "SET k v EXAT %lld", now / 1000 + 200);
    EXPECT_RANGE(c, 198, 200, "TTL k");
    char exp[32];
    snprintf(exp, sizeof exp, ":%lld", now / 1000 + 200);
    EXPECT_CMD(c, exp, "EXPIRETIME k");
    snprintf(exp, sizeof exp, ":%lld", now + 300000);
    EXPECT_CMD(c, "+OK", "SET k v PXAT %lld", now + 300000);
    EXPECT_CMD(c, exp, "PEXPIRETIME k");
    /* KEEPTTL keeps it; a plain SET clears it. */
    EXPECT_CMD(c, "+OK", "SET k v2 KEEPTTL");
    EXPECT_CMD(c, exp, "PEXPIRETIME k");
    EXPECT_CMD(c, "\"v2\"", "GET k");
    EXPECT_CMD(c, "+OK", "SET k v3");
    EXPECT_CMD(c, ":-1", "TTL k");
    /* An absolute time in the past: the write succeeds, the key is gone. */
    EXPECT_CMD(c, "+OK", "SET past v PXAT 1");
    EXPECT_CMD(c, ":0", "EXISTS past");
    EXPECT_CMD(c, "+OK", "SET past v EXAT 1");
    EXPECT_CMD(c, "(nil)", "GET past");
    /* GET with an expiry. */
    EXPECT_CMD(c, "\"v3\"", "SET k v4 GET EX 50");
    EXPECT_RANGE(c, 49, 50, "TTL k");
}

TEST(strings_set_errors)
{
    FRESH(c);
    EXPECT_CMD(c, "-ERR syntax error", "SET k v NX XX");
    EXPECT_CMD(c, "-ERR syntax error", "SET k v EX 10 PX 100");
    EXPECT_CMD(c, "-ERR syntax error", "SET k v KEEPTTL EX 10");
    EXPECT_CMD(c, "-ERR syntax error", "SET k v EX 10 KEEPTTL");
    EXPECT_CMD(c, "-ERR syntax error", "SET k v EXAT 10 PXAT 100");
    EXPECT_CMD(c, "-ERR syntax error", "SET k v EX");
    EXPECT_CMD(c, "-ERR syntax error", "SET k v foo");
    EXPECT_CMD(c, "-ERR syntax error", "SET k v GET GET x");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "SET k v EX abc");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "SET k v EX 1.5");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "SET k v PX 99999999999999999999");
    EXPECT_CMD(c, "-ERR invalid expire time in 'set' command", "SET k v EX 0");
    EXPECT_CMD(c, "-ERR invalid expire time in 'set' command", "SET k v EX -1");
    EXPECT_CMD(c, "-ERR invalid expire time in 'set' command", "SET k v PX 0");
    EXPECT_CMD(c, "-ERR invalid expire time in 'set' command", "SET k v EXAT 0");
    EXPECT_CMD(c, "-ERR invalid expire time in 'set' command", "SET k v PXAT -5");
    /* Overflow of seconds * 1000 or of now + ttl. */
    EXPECT_CMD(c, "-ERR invalid expire time in 'set' command", "SET k v EX 9223372036854775807");
    EXPECT_CMD(c, "-ERR invalid expire time in 'set' command", "SET k v PX 9223372036854775807");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'set' command", "SET k");
    EXPECT_CMD(c, ":0", "EXISTS k");
}

TEST(strings_setnx_setex_psetex)
{
    FRESH(c);
    EXPECT_CMD(c, ":1", "SETNX k v");
    EXPECT_CMD(c, ":0", "SETNX k w");
    EXPECT_CMD(c, "\"v\"", "GET k");
    EXPECT_CMD(c, "+OK", "SETEX k 100 x");
    EXPECT_CMD(c, "\"x\"", "GET k");
    EXPECT_RANGE(c, 99, 100, "TTL k");
    EXPECT_CMD(c, "+OK", "PSETEX k 100000 y");
    EXPECT_RANGE(c, 99000, 100000, "PTTL k");
    EXPECT_CMD(c, "\"y\"", "GET k");
    EXPECT_CMD(c, "-ERR invalid expire time in 'setex' command", "SETEX k 0 v");
    EXPECT_CMD(c, "-ERR invalid expire time in 'setex' command", "SETEX k -5 v");
    EXPECT_CMD(c, "-ERR invalid expire time in 'psetex' command", "PSETEX k 0 v");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "SETEX k abc v");
    EXPECT_CMD(c, "-ERR invalid expire time in 'setex' command", "SETEX k 9223372036854775807 v");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'setex' command", "SETEX k 10");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'setnx' command", "SETNX k");
    /* The failed calls left the value alone. */
    EXPECT_CMD(c, "\"y\"", "GET k");
}

TEST(strings_mget_mset_msetnx)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "MSET a 1 b 2 c 3");
    EXPECT_CMD(c, "[\"1\", \"2\", (nil), \"3\"]", "MGET a b nokey c");
    EXPECT_CMD(c, "+OK", "MSET a x a y");   /* the last one wins */
    EXPECT_CMD(c, "\"y\"", "GET a");
    EXPECT_CMD(c, ":0", "MSETNX a 1 z 2");
    EXPECT_CMD(c, ":0", "EXISTS z");
    EXPECT_CMD(c, ":1", "MSETNX z 1 w 2");
    EXPECT_CMD(c, "[\"1\", \"2\"]", "MGET z w");
    EXPECT_CMD(c, "+OK", "SET t v EX 100");
    EXPECT_CMD(c, "+OK", "MSET t v2");        /* MSET clears TTLs */
    EXPECT_CMD(c, ":-1", "TTL t");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'mset' command", "MSET a");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'mset' command", "MSET a 1 b");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'msetnx' command", "MSETNX a 1 b");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'mget' command", "MGET");
}

TEST(strings_getset_getdel_getex)
{
    FRESH(c);
    EXPECT_CMD(c, "(nil)", "GETSET k v");
    EXPECT_CMD(c, "+OK", "SET k v1 EX 100");
    EXPECT_CMD(c, "\"v1\"", "GETSET k v2");
    EXPECT_CMD(c, ":-1", "TTL k");       /* GETSET clears the TTL */
    EXPECT_CMD(c, "\"v2\"", "GETDEL k");
    EXPECT_CMD(c, ":0", "EXISTS k");
    EXPECT_CMD(c, "(nil)", "GETDEL k");

    EXPECT_CMD(c, "+OK", "SET k v");
    EXPECT_CMD(c, "\"v\"", "GETEX k");
    EXPECT_CMD(c, ":-1", "TTL k");
    EXPECT_CMD(c, "\"v\"", "GETEX k EX 100");
    EXPECT_RANGE(c, 99, 100, "TTL k");
    EXPECT_CMD(c, "\"v\"", "GETEX k PX 200000");
    EXPECT_RANGE(c, 199000, 200000, "PTTL k");
    long long now = h_now_ms();
    EXPECT_CMD(c, "\"v\"", "GETEX k EXAT %lld", now / 1000 + 300);
    EXPECT_RANGE(c, 298, 300, "TTL k");
    EXPECT_CMD(c, "\"v\"", "GETEX k PXAT %lld", now + 400000);
    EXPECT_RANGE(c, 398, 400, "TTL k");
    EXPECT_CMD(c, "\"v\"", "GETEX k persist");
    EXPECT_CMD(c, ":-1", "TTL k");
    EXPECT_CMD(c, "(nil)", "GETEX nokey EX 10");
    /* A time in the past deletes the key after returning it. */
    EXPECT_CMD(c, "\"v\"", "GETEX k PXAT 1");
    EXPECT_CMD(c, ":0", "EXISTS k");

    EXPECT_CMD(c, "+OK", "SET k v");
    EXPECT_CMD(c, "-ERR syntax error", "GETEX k PERSIST EX 1");
    EXPECT_CMD(c, "-ERR syntax error", "GETEX k EX 1 PX 1");
    EXPECT_CMD(c, "-ERR syntax error", "GETEX k foo");
    EXPECT_CMD(c, "-ERR syntax error", "GETEX k EX");
    EXPECT_CMD(c, "-ERR invalid expire time in 'getex' command", "GETEX k EX 0");
    EXPECT_CMD(c, "-ERR invalid expire time in 'getex' command", "GETEX k EXAT 0");
    EXPECT_CMD(c, "-ERR invalid expire time in 'getex' command", "GETEX k PX -1");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "GETEX k EX ten");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'getdel' command", "GETDEL");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'getset' command", "GETSET k");
    EXPECT_CMD(c, ":-1", "TTL k");
}

TEST(strings_append_strlen)
{
    FRESH(c);
    EXPECT_CMD(c, ":0", "STRLEN k");
    EXPECT_CMD(c, ":5", "APPEND k hello");
    EXPECT_CMD(c, ":11", "APPEND k %s", " world");
    EXPECT_CMD(c, "\"hello world\"", "GET k");
    EXPECT_CMD(c, ":11", "STRLEN k");
    EXPECT_CMD(c, ":11", "APPEND k %s", "");
    EXPECT_CMD(c, "+OK", "SET n 10");
    EXPECT_CMD(c, ":3", "APPEND n 5");
    EXPECT_CMD(c, ":106", "INCR n");
    EXPECT_CMD(c, ":3", "STRLEN n");
    /* APPEND keeps the TTL. */
    EXPECT_CMD(c, "+OK", "SET t a EX 100");
    EXPECT_CMD(c, ":2", "APPEND t b");
    EXPECT_RANGE(c, 99, 100, "TTL t");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'append' command", "APPEND k");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'strlen' command", "STRLEN");
}

TEST(strings_incr_decr)
{
    FRESH(c);
    EXPECT_CMD(c, ":1", "INCR n");
    EXPECT_CMD(c, ":11", "INCRBY n 10");
    EXPECT_CMD(c, ":10", "DECR n");
    EXPECT_CMD(c, ":-5", "DECRBY n 15");
    EXPECT_CMD(c, ":-10", "INCRBY n -5");
    EXPECT_CMD(c, ":-1", "DECR fresh");
    EXPECT_CMD(c, ":5", "DECRBY fresh2 -5");
    EXPECT_CMD(c, "\"-10\"", "GET n");
    /* INCR keeps the TTL. */
    EXPECT_CMD(c, "+OK", "SET t 1 EX 100");
    EXPECT_CMD(c, ":2", "INCR t");
    EXPECT_RANGE(c, 99, 100, "TTL t");

    EXPECT_CMD(c, "+OK", "SET max 9223372036854775807");
    EXPECT_CMD(c, "-ERR increment or decrement would overflow", "INCR max");
    EXPECT_CMD(c, "-ERR increment or decrement would overflow", "INCRBY max 1");
    EXPECT_CMD(c, ":9223372036854775806", "DECR max");
    EXPECT_CMD(c, "+OK", "SET min -9223372036854775808");
    EXPECT_CMD(c, "-ERR increment or decrement would overflow", "DECR min");
    EXPECT_CMD(c, "-ERR increment or decrement would overflow", "DECRBY min 9223372036854775807");
    EXPECT_CMD(c, "-ERR increment or decrement would overflow", "INCRBY min -1");
    /* DECRBY negates its argument first, which LLONG_MIN cannot survive. */
    EXPECT_CMD(c, "-ERR decrement would overflow", "DECRBY n -9223372036854775808");
    EXPECT_CMD(c, "\"-9223372036854775808\"", "GET min");

    const char *bad[] = { "1.5", " 1", "1 ", "+1", "007", "abc", "",
                          "123456789012345678901", "9223372036854775808", "0x10" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        EXPECT_CMD(c, "+OK", "SET s %s", bad[i]);
        EXPECT_CMD(c, "-ERR value is not an integer or out of range", "INCR s");
        EXPECT_CMD(c, "-ERR value is not an integer or out of range", "INCRBY n %s", bad[i]);
    }
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "DECRBY n abc");
    EXPECT_CMD(c, "\"-10\"", "GET n");
    EXPECT_CMD(c, "+OK", "SET z 0");
    EXPECT_CMD(c, ":-1", "DECR z");
    EXPECT_CMD(c, "+OK", "SET z -0");   /* "-0" is not canonical */
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "INCR z");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'incr' command", "INCR");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'incrby' command", "INCRBY n");
}

TEST(strings_incrbyfloat)
{
    FRESH(c);
    EXPECT_CMD(c, "\"1.5\"", "INCRBYFLOAT f 1.5");
    EXPECT_CMD(c, "\"-1.5\"", "INCRBYFLOAT g -1.5");
    EXPECT_CMD(c, "+OK", "SET f 10.50");
    EXPECT_CMD(c, "\"10.6\"", "INCRBYFLOAT f 0.1");
    EXPECT_CMD(c, "\"10.6\"", "GET f");
    EXPECT_CMD(c, "+OK", "SET f 5.0e3");
    EXPECT_CMD(c, "\"5200\"", "INCRBYFLOAT f 2.0e2");
    EXPECT_CMD(c, "\"5000\"", "INCRBYFLOAT f -200");
    EXPECT_CMD(c, "+OK", "SET f 1");
    EXPECT_CMD(c, "\"1501\"", "INCRBYFLOAT f 1.5e3");
    /* long double arithmetic printed with %.17Lg, as Redis does. */
    EXPECT_CMD(c, "\"1501.09999999999999998\"", "INCRBYFLOAT f 0.1");
    EXPECT_CMD(c, "+OK", "SET i 10");
    EXPECT_CMD(c, "\"15\"", "INCRBYFLOAT i 5");
    EXPECT_CMD(c, ":16", "INCR i");
    EXPECT_CMD(c, "+OK", "SET f 1 EX 100");
    EXPECT_CMD(c, "\"2\"", "INCRBYFLOAT f 1");
    EXPECT_RANGE(c, 99, 100, "TTL f");

    EXPECT_CMD(c, "-ERR increment would produce NaN or Infinity", "INCRBYFLOAT f inf");
    EXPECT_CMD(c, "-ERR value is not a valid float", "INCRBYFLOAT f nan");
    EXPECT_CMD(c, "-ERR value is not a valid float", "INCRBYFLOAT f abc");
    EXPECT_CMD(c, "-ERR value is not a valid float", "INCRBYFLOAT f %s", "");
    EXPECT_CMD(c, "-ERR value is not a valid float", "INCRBYFLOAT f %s", "1 ");
    EXPECT_CMD(c, "+OK", "SET s hello");
    EXPECT_CMD(c, "-ERR value is not a valid float", "INCRBYFLOAT s 1");
    EXPECT_CMD(c, "+OK", "SET s %s", "1.5 ");
    EXPECT_CMD(c, "-ERR value is not a valid float", "INCRBYFLOAT s 1");
    EXPECT_CMD(c, "\"2\"", "GET f");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'incrbyfloat' command", "INCRBYFLOAT f");
}

TEST(strings_getrange_setrange_substr)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "SET k %s", "Hello World");
    EXPECT_CMD(c, "\"Hello\"", "GETRANGE k 0 4");
    EXPECT_CMD(c, "\"World\"", "GETRANGE k -5 -1");
    EXPECT_CMD(c, "\"Hello World\"", "GETRANGE k 0 -1");
    EXPECT_CMD(c, "\"Hello World\"", "GETRANGE k 0 1000");
    EXPECT_CMD(c, "\"\"", "GETRANGE k 5 3");
    EXPECT_CMD(c, "\"\"", "GETRANGE k 20 30");
    /* Redis 7.0 clamps a negative end to 0, so these give one byte (7.2+
     * returns ""); strata follows 7.0. */
    EXPECT_CMD(c, "\"H\"", "GETRANGE k 0 -100");
    EXPECT_CMD(c, "\"H\"", "GETRANGE k -100 -50");
    EXPECT_CMD(c, "\"\"", "GETRANGE nokey 0 -1");
    EXPECT_CMD(c, "\"ello\"", "SUBSTR k 1 4");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "GETRANGE k a 1");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'getrange' command", "GETRANGE k 0");

    EXPECT_CMD(c, ":11", "SETRANGE k 6 Redis");
    EXPECT_CMD(c, "\"Hello Redis\"", "GET k");
    EXPECT_CMD(c, ":13", "SETRANGE k 11 !!");
    EXPECT_CMD(c, "\"Hello Redis!!\"", "GET k");
    /* Zero padding past the end, and on a missing key. */
    EXPECT_CMD(c, ":5", "SETRANGE nk 3 ab");
    EXPECT_CMD(c, "\"\\x00\\x00\\x00ab\"", "GET nk");
    /* An empty write to a missing key creates nothing. */
    EXPECT_CMD(c, ":0", "SETRANGE empty 0 %s", "");
    EXPECT_CMD(c, ":0", "EXISTS empty");
    EXPECT_CMD(c, ":13", "SETRANGE k 100 %s", "");
    EXPECT_CMD(c, "-ERR offset is out of range", "SETRANGE k -1 x");
    EXPECT_CMD(c, "-ERR string exceeds maximum allowed size (proto-max-bulk-len)",
               "SETRANGE k 536870912 x");
    EXPECT_CMD(c, "-ERR string exceeds maximum allowed size (proto-max-bulk-len)",
               "SETRANGE k 536870911 xy");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "SETRANGE k x y");
    EXPECT_CMD(c, ":13", "STRLEN k");
}

TEST(strings_lcs)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "MSET k1 ohmytext k2 mynewtext");
    EXPECT_CMD(c, "\"mytext\"", "LCS k1 k2");
    EXPECT_CMD(c, ":6", "LCS k1 k2 LEN");
    EXPECT_CMD(c, "[\"matches\", [[[:4, :7], [:5, :8]], [[:2, :3], [:0, :1]]], \"len\", :6]",
               "LCS k1 k2 IDX");
    EXPECT_CMD(c, "[\"matches\", [[[:4, :7], [:5, :8], :4]], \"len\", :6]",
               "LCS k1 k2 IDX MINMATCHLEN 4 WITHMATCHLEN");
    EXPECT_CMD(c, "\"mytext\"", "LCS k1 k2 MINMATCHLEN -1");
    EXPECT_CMD(c, "\"\"", "LCS k1 nokey");
    EXPECT_CMD(c, ":0", "LCS nokey1 nokey2 LEN");
    EXPECT_CMD(c, "-ERR If you want both the length and indexes, please just use IDX.",
               "LCS k1 k2 LEN IDX");
    EXPECT_CMD(c, "-ERR syntax error", "LCS k1 k2 foo");
    EXPECT_CMD(c, "-ERR syntax error", "LCS k1 k2 MINMATCHLEN");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "LCS k1 k2 MINMATCHLEN abc");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'lcs' command", "LCS k1");
}
