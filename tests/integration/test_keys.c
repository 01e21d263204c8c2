/* test_keys.c: the generic keyspace commands (DEL UNLINK EXISTS TYPE KEYS
 * SCAN RANDOMKEY RENAME RENAMENX COPY MOVE DBSIZE FLUSHDB FLUSHALL TOUCH
 * OBJECT SELECT SWAPDB) over a real socket, each with a normal case and its
 * error replies as redis-server 7.0.15 gives them; and a full SCAN
 * iteration while the keyspace changes. Expiry lives in test_expire.c. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

TEST(keys_del_unlink_exists_touch_type)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "MSET a 1 b 2 c 3 d 4");
    EXPECT_CMD(c, ":3", "EXISTS a b nokey c");
    EXPECT_CMD(c, ":2", "EXISTS a a");          /* counted per argument */
    EXPECT_CMD(c, ":2", "DEL a b nokey");
    EXPECT_CMD(c, ":0", "DEL a");
    EXPECT_CMD(c, ":1", "UNLINK c c");
    EXPECT_CMD(c, ":1", "TOUCH d nokey");
    EXPECT_CMD(c, ":2", "TOUCH d d");
    EXPECT_CMD(c, "+string", "TYPE d");
    EXPECT_CMD(c, "+none", "TYPE nokey");
    EXPECT_CMD(c, ":1", "DBSIZE");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'del' command", "DEL");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'unlink' command", "UNLINK");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'exists' command", "EXISTS");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'touch' command", "TOUCH");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'type' command", "TYPE a b");
}

TEST(keys_keys_patterns)
{
    FRESH(c);
    EXPECT_CMD(c, "[]", "KEYS *");
    EXPECT_CMD(c, "+OK", "MSET hello 1 hallo 2 hxllo 3 hllo 4 heeeello 5 h*llo 6 h[a]llo 7 other 8");
    EXPECT_SORTED(c, "[\"h*llo\", \"hallo\", \"hello\", \"hxllo\"]", "KEYS h?llo");
    EXPECT_SORTED(c, "[\"h*llo\", \"h[a]llo\", \"hallo\", \"heeeello\", \"hello\", \"hllo\", \"hxllo\"]",
                  "KEYS h*llo");
    EXPECT_SORTED(c, "[\"hallo\", \"hello\"]", "KEYS h[ae]llo");
    EXPECT_SORTED(c, "[\"h*llo\", \"hallo\", \"hxllo\"]", "KEYS h[^e]llo");
    EXPECT_SORTED(c, "[\"hallo\"]", "KEYS h[a-b]llo");
    EXPECT_SORTED(c, "[\"h*llo\"]", "KEYS %s", "h\\*llo");
    EXPECT_SORTED(c, "[\"h[a]llo\"]", "KEYS %s", "h\\[a\\]llo");
    EXPECT_SORTED(c, "[\"other\"]", "KEYS other");
    EXPECT_CMD(c, "[]", "KEYS nomatch");
    EXPECT_CMD(c, ":8", "DBSIZE");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'keys' command", "KEYS");
}

TEST(keys_scan_errors_and_filters)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "MSET hello 1 hallo 2 hxllo 3");
    EXPECT_SORTED(c, "[\"0\", [\"hallo\", \"hello\"]]", "SCAN 0 MATCH h[ae]llo COUNT 1000");
    EXPECT_CMD(c, "[\"0\", [\"hello\"]]", "SCAN 0 TYPE string COUNT 1000 MATCH hello");
    EXPECT_CMD(c, "glob:[\"0\", [\"h?llo\"]]", "SCAN 0 type STRING count 1000 match hello");
    /* No lists exist; an unknown type name is not an error in 7.0. */
    EXPECT_CMD(c, "[\"0\", []]", "SCAN 0 TYPE list COUNT 1000");
    EXPECT_CMD(c, "[\"0\", []]", "SCAN 0 TYPE foo COUNT 1000");
    EXPECT_CMD(c, "-ERR invalid cursor", "SCAN abc");
    /* Redis parses the cursor with strtoul, so "-1" is accepted (as
     * 2^64-1) and not tested here. */
    EXPECT_CMD(c, "-ERR syntax error", "SCAN 0 COUNT 0");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "SCAN 0 COUNT abc");
    EXPECT_CMD(c, "-ERR syntax error", "SCAN 0 foo bar");
    EXPECT_CMD(c, "-ERR syntax error", "SCAN 0 MATCH");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'scan' command", "SCAN");
}

/* Iterate a whole SCAN (with MATCH match TYPE string unless match is NULL),
 * marking keys "key:N" seen; returns false (after failing the test) on a
 * bad reply. unknown counts keys of another shape. */
static bool scan_all(redisContext *c, const char *match, unsigned char *seen, int n,
                     int *unknown, void (*each_page)(redisContext *, int), int *pages)
{
    char cursor[32] = "0";
    *pages = 0;
    do {
        redisReply *r = match ? h_cmd(H_LOC, c, "SCAN %s COUNT 10 MATCH %s TYPE string",
                                      cursor, match)
                              : h_cmd(H_LOC, c, "SCAN %s COUNT 10", cursor);
        if (!r)
            return false;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            char b[200];
            h_render(r, b, sizeof b);
            h_fail(H_LOC, "SCAN %s: malformed reply %s", cursor, b);
            return false;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const char *k = r->element[1]->element[i]->str;
            int id;
            if (sscanf(k, "key:%d", &id) == 1 && id >= 0 && id < n)
                seen[id] = 1;
            else
                (*unknown)++;
        }
        if (each_page)
            each_page(c, *pages);
        if (++*pages > 100000) {
            h_fail(H_LOC, "SCAN did not finish after 100000 calls");
            return false;
        }
    } while (strcmp(cursor, "0") != 0);
    return true;
}

/* Churn during the scan: keys "tmp:*" come and go, "key:*" stay. */
static void churn(redisContext *c, int page)
{
    redisReply *r = redisCommand(c, "SET tmp:%d x", page);
    freeReplyObject(r);
    r = redisCommand(c, "DEL tmp:%d", page - 3);
    freeReplyObject(r);
}

TEST(keys_scan_full_iteration)
{
    FRESH(c);
    enum { N = 2000 };
    for (int i = 0; i < N; i++)
        redisAppendCommand(c, "SET key:%d %d", i, i);
    for (int i = 0; i < N; i++) {
        redisReply *r = NULL;
        CHECKF(redisGetReply(c, (void **)&r) == REDIS_OK && r, "SET %d: %s", i, c->errstr);
        freeReplyObject(r);
    }
    unsigned char *seen = calloc(N, 1);
    CHECK(seen);
    int unknown = 0, pages = 0;
    bool ok = scan_all(c, NULL, seen, N, &unknown, NULL, &pages);
    int missing = -1;
    for (int i = 0; ok && i < N && missing < 0; i++)
        if (!seen[i])
            missing = i;
    free(seen);
    CHECK_OK();
    CHECKF(missing < 0, "full SCAN never returned key:%d", missing);
    CHECKF(unknown == 0, "full SCAN returned %d keys that do not exist", unknown);
    CHECKF(pages > 1, "SCAN COUNT 10 over %d keys finished in %d call(s)", N, pages);

    /* Again with writes and deletes between the calls: every key present
     * for the whole scan is still returned. */
    seen = calloc(N, 1);
    CHECK(seen);
    unknown = 0;
    ok = scan_all(c, NULL, seen, N, &unknown, churn, &pages);
    missing = -1;
    for (int i = 0; ok && i < N && missing < 0; i++)
        if (!seen[i])
            missing = i;
    free(seen);
    CHECK_OK();
    CHECKF(missing < 0, "SCAN under churn never returned key:%d", missing);

    /* MATCH filters but still walks everything. */
    seen = calloc(N, 1);
    CHECK(seen);
    unknown = 0;
    ok = scan_all(c, "key:1??", seen, N, &unknown, NULL, &pages);
    int wrong = -1, count = 0;
    for (int i = 0; ok && i < N; i++) {
        bool want = i >= 100 && i <= 199;
        if (seen[i] && !want && wrong < 0)
            wrong = i;
        count += seen[i] && want;
    }
    free(seen);
    CHECK_OK();
    CHECKF(wrong < 0, "SCAN MATCH key:1?? returned key:%d", wrong);
    CHECKF(count == 100 && unknown == 0, "SCAN MATCH key:1?? returned %d of 100 (+%d others)",
           count, unknown);
}

TEST(keys_randomkey)
{
    FRESH(c);
    EXPECT_CMD(c, "(nil)", "RANDOMKEY");
    EXPECT_CMD(c, "+OK", "SET only v");
    EXPECT_CMD(c, "\"only\"", "RANDOMKEY");
    EXPECT_CMD(c, "+OK", "MSET a 1 b 2 c 3");
    bool seen[4] = { 0 };
    for (int i = 0; i < 200; i++) {
        CMD(r, c, "RANDOMKEY");
        CHECKF(r->type == REDIS_REPLY_STRING, "RANDOMKEY: not a bulk string");
        if (strcmp(r->str, "only") == 0) seen[0] = true;
        else if (strcmp(r->str, "a") == 0) seen[1] = true;
        else if (strcmp(r->str, "b") == 0) seen[2] = true;
        else if (strcmp(r->str, "c") == 0) seen[3] = true;
        else CHECKF(false, "RANDOMKEY returned %s", r->str);
    }
    CHECKF(seen[0] && seen[1] && seen[2] && seen[3],
           "200 RANDOMKEY calls over 4 keys missed one (%d%d%d%d)",
           seen[0], seen[1], seen[2], seen[3]);
    /* Keys that expired are never returned. */
    EXPECT_CMD(c, "+OK", "FLUSHDB");
    EXPECT_CMD(c, "+OK", "SET gone v PX 1");
    h_sleep_ms(20);
    EXPECT_CMD(c, "(nil)", "RANDOMKEY");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'randomkey' command", "RANDOMKEY x");
}

TEST(keys_rename_renamenx)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "SET a 1 EX 100");
    EXPECT_CMD(c, "+OK", "RENAME a b");
    EXPECT_CMD(c, ":0", "EXISTS a");
    EXPECT_CMD(c, "\"1\"", "GET b");
    EXPECT_RANGE(c, 99, 100, "TTL b");      /* the TTL moves with the value */
    EXPECT_CMD(c, "+OK", "SET c 3");
    EXPECT_CMD(c, "+OK", "RENAME c b");     /* overwrites, and its TTL goes */
    EXPECT_CMD(c, ":-1", "TTL b");
    EXPECT_CMD(c, "\"3\"", "GET b");
    EXPECT_CMD(c, "+OK", "RENAME b b");
    EXPECT_CMD(c, "\"3\"", "GET b");
    EXPECT_CMD(c, "+OK", "SET d 4");
    EXPECT_CMD(c, ":0", "RENAMENX b d");
    EXPECT_CMD(c, ":1", "RENAMENX b e");
    EXPECT_CMD(c, ":0", "RENAMENX e e");
    EXPECT_CMD(c, "\"3\"", "GET e");
    EXPECT_CMD(c, "-ERR no such key", "RENAME nokey x");
    EXPECT_CMD(c, "-ERR no such key", "RENAMENX nokey x");
    EXPECT_CMD(c, "-ERR no such key", "RENAME nokey nokey");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'rename' command", "RENAME a");
}

TEST(keys_copy)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "SET c v EX 100");
    EXPECT_CMD(c, ":1", "COPY c d");
    EXPECT_CMD(c, "\"v\"", "GET d");
    EXPECT_RANGE(c, 99, 100, "TTL d");
    EXPECT_CMD(c, ":0", "COPY c d");
    EXPECT_CMD(c, "+OK", "SET c w");
    EXPECT_CMD(c, ":1", "COPY c d REPLACE");
    EXPECT_CMD(c, "\"w\"", "GET d");
    EXPECT_CMD(c, ":-1", "TTL d");
    EXPECT_CMD(c, ":1", "COPY c d DB 1");
    EXPECT_CMD(c, ":0", "COPY c d DB 1");
    EXPECT_CMD(c, ":0", "COPY nokey x");
    EXPECT_CMD(c, "+OK", "SELECT 1");
    EXPECT_CMD(c, "\"w\"", "GET d");
    EXPECT_CMD(c, "+OK", "SELECT 0");
    /* The copy is independent of the source. */
    EXPECT_CMD(c, ":2", "APPEND d x");
    EXPECT_CMD(c, "\"w\"", "GET c");
    EXPECT_CMD(c, "-ERR source and destination objects are the same", "COPY c c");
    EXPECT_CMD(c, "-ERR DB index is out of range", "COPY c x DB 99");
    EXPECT_CMD(c, "-ERR DB index is out of range", "COPY c x DB -1");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "COPY c x DB abc");
    EXPECT_CMD(c, "-ERR syntax error", "COPY c x foo");
    EXPECT_CMD(c, "-ERR syntax error", "COPY c x DB 1 REPLACE foo");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'copy' command", "COPY c");
}

TEST(keys_move)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "SET m v PX 100000");
    EXPECT_CMD(c, ":1", "MOVE m 1");
    EXPECT_CMD(c, ":0", "EXISTS m");
    EXPECT_CMD(c, ":0", "MOVE m 1");
    EXPECT_CMD(c, ":0", "MOVE nokey 1");
    EXPECT_CMD(c, "+OK", "SELECT 1");
    EXPECT_CMD(c, "\"v\"", "GET m");
    EXPECT_RANGE(c, 99000, 100000, "PTTL m");
    EXPECT_CMD(c, "+OK", "SELECT 0");
    /* Present in the target: nothing moves. */
    EXPECT_CMD(c, "+OK", "SET m local");
    EXPECT_CMD(c, ":0", "MOVE m 1");
    EXPECT_CMD(c, "\"local\"", "GET m");
    EXPECT_CMD(c, "-ERR source and destination objects are the same", "MOVE m 0");
    EXPECT_CMD(c, "-ERR DB index is out of range", "MOVE m 16");
    EXPECT_CMD(c, "-ERR DB index is out of range", "MOVE m -1");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "MOVE m abc");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'move' command", "MOVE m");
}

TEST(keys_select_swapdb_dbsize_flush)
{
    FRESH(c);
    CONNECT(other, h_shared());
    EXPECT_CMD(c, "+OK", "MSET a 1 b 2");
    EXPECT_CMD(c, "+OK", "SELECT 15");
    EXPECT_CMD(c, ":0", "DBSIZE");
    EXPECT_CMD(c, "+OK", "SET x 15");
    EXPECT_CMD(c, "-ERR DB index is out of range", "SELECT 16");
    EXPECT_CMD(c, "-ERR DB index is out of range", "SELECT -1");
    EXPECT_CMD(c, "-ERR value is not an integer or out of range", "SELECT abc");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'select' command", "SELECT 0 1");
    EXPECT_CMD(c, ":1", "DBSIZE");      /* the failed SELECTs kept db 15 */

    /* SWAPDB is visible to every connection, including ones already in
     * the swapped databases. */
    EXPECT_CMD(c, "+OK", "SWAPDB 0 15");
    EXPECT_CMD(c, ":2", "DBSIZE");
    EXPECT_CMD(c, "\"1\"", "GET a");
    EXPECT_CMD(other, "\"15\"", "GET x");
    EXPECT_CMD(other, ":1", "DBSIZE");
    EXPECT_CMD(c, "+OK", "SWAPDB 15 0");
    EXPECT_CMD(other, ":2", "DBSIZE");
    EXPECT_CMD(c, "+OK", "SWAPDB 3 3");
    EXPECT_CMD(c, "-ERR DB index is out of range", "SWAPDB 0 16");
    EXPECT_CMD(c, "-ERR DB index is out of range", "SWAPDB -1 0");
    EXPECT_CMD(c, "-ERR invalid first DB index", "SWAPDB a 0");
    EXPECT_CMD(c, "-ERR invalid second DB index", "SWAPDB 0 abc");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'swapdb' command", "SWAPDB 0");

    /* FLUSHDB empties only the current database. */
    EXPECT_CMD(c, "+OK", "FLUSHDB");
    EXPECT_CMD(c, ":0", "DBSIZE");
    EXPECT_CMD(other, ":2", "DBSIZE");
    EXPECT_CMD(c, "+OK", "FLUSHDB SYNC");
    EXPECT_CMD(c, "+OK", "FLUSHDB ASYNC");
    EXPECT_CMD(c, "-ERR syntax error", "FLUSHDB foo");
    EXPECT_CMD(c, "+OK", "SET y 1");
    EXPECT_CMD(c, "+OK", "FLUSHALL ASYNC");
    EXPECT_CMD(other, ":0", "DBSIZE");
    EXPECT_CMD(c, ":0", "DBSIZE");
    EXPECT_CMD(c, "+OK", "FLUSHALL SYNC");
    EXPECT_CMD(c, "-ERR syntax error", "FLUSHALL foo");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'dbsize' command", "DBSIZE x");
}

TEST(keys_object)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "MSET n 12345 neg -123 max 9223372036854775807 big 9223372036854775808 "
               "s hello f 1.5 lz 01 sp %s", " 1");
    EXPECT_CMD(c, "\"int\"", "OBJECT ENCODING n");
    EXPECT_CMD(c, "\"int\"", "OBJECT ENCODING neg");
    EXPECT_CMD(c, "\"int\"", "OBJECT ENCODING max");
    EXPECT_CMD(c, "\"embstr\"", "OBJECT ENCODING big");
    EXPECT_CMD(c, "\"embstr\"", "OBJECT ENCODING s");
    EXPECT_CMD(c, "\"embstr\"", "OBJECT ENCODING f");
    EXPECT_CMD(c, "\"embstr\"", "OBJECT ENCODING lz");
    EXPECT_CMD(c, "\"embstr\"", "OBJECT ENCODING sp");
    /* 44 bytes fit embstr, 45 do not. */
    EXPECT_CMD(c, "+OK", "SET e44 12345678901234567890123456789012345678901234");
    EXPECT_CMD(c, "\"embstr\"", "OBJECT ENCODING e44");
    EXPECT_CMD(c, "+OK", "SET e45 1234567890123456789012345678901234567890123ab");
    EXPECT_CMD(c, "\"raw\"", "OBJECT ENCODING e45");
    /* In-place edits make a value raw; INCR makes it int. */
    EXPECT_CMD(c, ":6", "APPEND s x");
    EXPECT_CMD(c, "\"raw\"", "OBJECT ENCODING s");
    EXPECT_CMD(c, ":3", "SETRANGE f 0 2");
    EXPECT_CMD(c, "\"raw\"", "OBJECT ENCODING f");
    EXPECT_CMD(c, ":1", "INCR counter");
    EXPECT_CMD(c, "\"int\"", "OBJECT ENCODING counter");
    EXPECT_CMD(c, "(nil)", "OBJECT ENCODING nokey");

    /* DIFFERS (allowed): Redis shares the integers 0..9999 and reports
     * their refcount as INT_MAX, an artefact of its object sharing; it is
     * not asserted. A plain value has one reference in both. */
    EXPECT_CMD(c, "+OK", "SET r hello");
    EXPECT_CMD(c, ":1", "OBJECT REFCOUNT r");
    EXPECT_CMD(c, "(nil)", "OBJECT REFCOUNT nokey");
    EXPECT_RANGE(c, 0, 2, "OBJECT IDLETIME r");
    EXPECT_CMD(c, "(nil)", "OBJECT IDLETIME nokey");
    EXPECT_CMD(c, "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
               "Please note that when switching between policies at runtime LRU and LFU data "
               "will take some time to adjust.", "OBJECT FREQ r");
    EXPECT_CMD(c, "(nil)", "OBJECT FREQ nokey");
    EXPECT_CMD(c, "glob:[+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, "
               "+ENCODING <key>, *+FREQ <key>, *+IDLETIME <key>, *+REFCOUNT <key>, *"
               "+HELP, +    Prints this help.]", "OBJECT HELP");
    EXPECT_CMD(c, "-ERR unknown subcommand 'foo'. Try OBJECT HELP.", "OBJECT foo r");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'object|encoding' command",
               "OBJECT ENCODING");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'object|help' command", "OBJECT HELP x");
}

TEST(keys_object_freq_with_lfu)
{
    /* Changing the policy is global: use a private server. */
    START(s, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "CONFIG SET maxmemory-policy allkeys-lfu");
    EXPECT_CMD(c, "+OK", "SET r hello");
    for (int i = 0; i < 50; i++)
        EXPECT_CMD(c, "\"hello\"", "GET r");
    EXPECT_RANGE(c, 1, 255, "OBJECT FREQ r");
    EXPECT_CMD(c, "-ERR An LFU maxmemory policy is selected, idle time not tracked. "
               "Please note that when switching between policies at runtime LRU and LFU data "
               "will take some time to adjust.", "OBJECT IDLETIME r");
}
