/* test_pubsub.c: Pub/Sub and MONITOR over real sockets, with the
 * connections of a test spread over the server's two reactor threads (the
 * server hands connections out round robin, so consecutive connections
 * land on different threads): replies of (P|S)(UN)SUBSCRIBE and PUBSUB,
 * message delivery and PUBLISH counts across threads, the order of 10,000
 * messages per channel under concurrent publishers, RESP3 push messages,
 * the RESP2 subscribed context, the pubsub output buffer limit, clients
 * closing while messages are published to them, INFO / CLIENT LIST, and
 * MONITOR's line format. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *CONTEXT_ERR =
    "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are "
    "allowed in this context";

/* A hiredis connection for a worker thread (the harness is not
 * thread-safe); NULL on failure. */
static redisContext *tconnect(int port)
{
    struct timeval tv = { 10 * h_slow(), 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    return c;
}

/* ---- replies ---- */

TEST(pubsub_subscribe_unsubscribe_replies)
{
    FRESH(c);
    EXPECT_CMD(c, "[\"subscribe\", \"r:c1\", :1]", "SUBSCRIBE r:c1 r:c2 r:c1");
    EXPECT_READ(c, "[\"subscribe\", \"r:c2\", :2]");
    EXPECT_READ(c, "[\"subscribe\", \"r:c1\", :2]");
    EXPECT_CMD(c, "[\"psubscribe\", \"r:*\", :3]", "PSUBSCRIBE r:*");
    EXPECT_CMD(c, "[\"psubscribe\", \"r:*\", :3]", "PSUBSCRIBE r:*");
    /* Shard channels are counted apart. */
    EXPECT_CMD(c, "[\"ssubscribe\", \"r:c1\", :1]", "SSUBSCRIBE r:c1");
    EXPECT_CMD(c, "[\"unsubscribe\", \"r:zz\", :3]", "UNSUBSCRIBE r:zz");
    EXPECT_CMD(c, "[\"punsubscribe\", \"r:zz*\", :3]", "PUNSUBSCRIBE r:zz*");
    /* Unsubscribe-all: one confirmation per channel, counting down; the
     * order of the channels is unspecified (Redis: dict order). */
    CMD(u1, c, "UNSUBSCRIBE");
    redisReply *u2 = h_read(H_LOC, c);
    CHECK(u2);
    char a[200], b[200];
    h_render(u1, a, sizeof a);
    h_render(u2, b, sizeof b);
    bool order1 = !strcmp(a, "[\"unsubscribe\", \"r:c1\", :2]") && !strcmp(b, "[\"unsubscribe\", \"r:c2\", :1]");
    bool order2 = !strcmp(a, "[\"unsubscribe\", \"r:c2\", :2]") && !strcmp(b, "[\"unsubscribe\", \"r:c1\", :1]");
    CHECKF(order1 || order2, "UNSUBSCRIBE answered %s then %s", a, b);
    /* Still subscribed (a pattern, a shard channel): still in context. */
    EXPECT_CMD(c, "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
               "RESET are allowed in this context", "GET k");
    EXPECT_CMD(c, "[\"punsubscribe\", \"r:*\", :0]", "PUNSUBSCRIBE");
    EXPECT_CMD(c, "[\"unsubscribe\", (nil), :0]", "UNSUBSCRIBE");
    EXPECT_CMD(c, "[\"punsubscribe\", (nil), :0]", "PUNSUBSCRIBE");
    EXPECT_CMD(c, "[\"sunsubscribe\", \"r:c1\", :0]", "SUNSUBSCRIBE");
    EXPECT_CMD(c, "[\"sunsubscribe\", (nil), :0]", "SUNSUBSCRIBE");
    /* No subscription left: a normal client again. */
    EXPECT_CMD(c, "(nil)", "GET k");
    EXPECT_CMD(c, "+PONG", "PING");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'subscribe' command", "SUBSCRIBE");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'psubscribe' command", "PSUBSCRIBE");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'ssubscribe' command", "SSUBSCRIBE");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'publish' command", "PUBLISH x");
    EXPECT_CMD(c, ":0", "PUBLISH r:nobody x");
    EXPECT_CMD(c, ":0", "SPUBLISH r:nobody x");
}

TEST(pubsub_introspection_commands)
{
    START(s, NULL);
    CONNECT(s1, s);
    CONNECT(s2, s);
    CONNECT(c, s);
    CMD(s1id, s1, "CLIENT ID");
    long long id1 = s1id->integer;
    EXPECT_CMD(c, "[]", "PUBSUB CHANNELS");
    EXPECT_CMD(c, ":0", "PUBSUB NUMPAT");
    EXPECT_CMD(c, "[]", "PUBSUB NUMSUB");
    EXPECT_CMD(s1, "[\"subscribe\", \"news.1\", :1]", "SUBSCRIBE news.1 news.2 other");
    EXPECT_READ(s1, "[\"subscribe\", \"news.2\", :2]");
    EXPECT_READ(s1, "[\"subscribe\", \"other\", :3]");
    EXPECT_CMD(s2, "[\"subscribe\", \"news.1\", :1]", "SUBSCRIBE news.1");
    EXPECT_CMD(s2, "[\"psubscribe\", \"news.*\", :2]", "PSUBSCRIBE news.*");
    EXPECT_CMD(s1, "[\"psubscribe\", \"news.*\", :4]", "PSUBSCRIBE news.*");
    EXPECT_CMD(s1, "[\"psubscribe\", \"o*\", :5]", "PSUBSCRIBE o*");
    EXPECT_CMD(s1, "[\"ssubscribe\", \"shard.1\", :1]", "SSUBSCRIBE shard.1 shard.2");
    EXPECT_READ(s1, "[\"ssubscribe\", \"shard.2\", :2]");
    EXPECT_SORTED(c, "[\"news.1\", \"news.2\", \"other\"]", "PUBSUB CHANNELS");
    EXPECT_SORTED(c, "[\"news.1\", \"news.2\"]", "PUBSUB CHANNELS news.*");
    EXPECT_SORTED(c, "[\"news.2\"]", "PUBSUB CHANNELS *2");
    EXPECT_CMD(c, "[]", "PUBSUB CHANNELS shard*");
    EXPECT_SORTED(c, "[\"shard.1\", \"shard.2\"]", "PUBSUB SHARDCHANNELS");
    EXPECT_SORTED(c, "[\"shard.2\"]", "PUBSUB SHARDCHANNELS *2");
    /* Distinct patterns, as Redis 7.0 counts them. */
    EXPECT_CMD(c, ":2", "PUBSUB NUMPAT");
    EXPECT_CMD(c, "[\"news.1\", :2, \"news.2\", :1, \"nope\", :0, \"shard.1\", :0]",
               "PUBSUB NUMSUB news.1 news.2 nope shard.1");
    EXPECT_CMD(c, "[\"shard.1\", :1, \"news.1\", :0]", "PUBSUB SHARDNUMSUB shard.1 news.1");
    EXPECT_CMD(c, "-ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.",
               "PUBSUB CHANNELS a b");
    EXPECT_CMD(c, "-ERR unknown subcommand or wrong number of arguments for 'shardchannels'. Try PUBSUB HELP.",
               "PUBSUB shardchannels a b");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'pubsub|numpat' command", "PUBSUB NUMPAT x");
    EXPECT_CMD(c, "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.", "PUBSUB FOO");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'pubsub' command", "PUBSUB");
    EXPECT_CMD(c, "glob:[+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, "
               "+CHANNELS [<pattern>], *, +HELP, +    Prints this help.]", "PUBSUB HELP");
    CMD(help, c, "PUBSUB HELP");
    CHECK(help->type == REDIS_REPLY_ARRAY && help->elements == 14);

    /* INFO and CLIENT LIST see the same registry. */
    CHECK(h_info_ll(c, "stats", "pubsub_channels") == 3);
    CHECK(h_info_ll(c, "stats", "pubsub_patterns") == 2);
    CHECK(h_info_ll(c, "stats", "pubsubshard_channels") == 2);
    CMD(list, c, "CLIENT LIST");
    CHECK(list->type == REDIS_REPLY_STRING);
    CHECKF(strstr(list->str, " flags=P db=0 sub=3 psub=2 ssub=2 "), "CLIENT LIST: %s", list->str);
    CHECKF(strstr(list->str, " flags=P db=0 sub=1 psub=1 ssub=0 "), "CLIENT LIST: %s", list->str);
    CHECKF(strstr(list->str, " flags=N db=0 sub=0 psub=0 ssub=0 "), "CLIENT LIST: %s", list->str);
    CMD(pl, c, "CLIENT LIST TYPE pubsub");
    int n = 0;
    for (const char *p = pl->str; (p = strstr(p, "flags=P")); p++)
        n++;
    CHECKF(n == 2 && !strstr(pl->str, "flags=N"), "CLIENT LIST TYPE pubsub: %s", pl->str);
    CMD(nl, c, "CLIENT LIST TYPE normal");
    CHECKF(strstr(nl->str, "flags=N") && !strstr(nl->str, "flags=P"), "CLIENT LIST TYPE normal: %s", nl->str);
    EXPECT_CMD(c, "-ERR Unknown client type 'bogus'", "CLIENT LIST TYPE bogus");

    /* Closing a subscriber leaves everything it held. */
    EXPECT_CMD(c, ":0", "CLIENT KILL TYPE normal ID %lld", id1);
    EXPECT_CMD(c, ":1", "CLIENT KILL TYPE pubsub ID %lld", id1);
    bool gone = WAIT_FOR(h_info_ll(c, "stats", "pubsub_channels") == 1, 3000);
    CHECKF(gone, "pubsub_channels is %lld after s1 was killed", h_info_ll(c, "stats", "pubsub_channels"));
    EXPECT_CMD(c, "[\"news.1\"]", "PUBSUB CHANNELS");
    EXPECT_CMD(c, ":1", "PUBSUB NUMPAT");
    EXPECT_CMD(c, "[]", "PUBSUB SHARDCHANNELS");
    EXPECT_CMD(c, ":1", "CLIENT KILL TYPE pubsub");
    CHECK(WAIT_FOR(h_info_ll(c, "stats", "pubsub_channels") == 0 &&
                   h_info_ll(c, "stats", "pubsub_patterns") == 0, 3000));
    EXPECT_CMD(c, ":0", "CLIENT KILL TYPE pubsub");
}

/* ---- delivery across threads ---- */

TEST(pubsub_messages_across_threads)
{
    START(s, NULL);
    /* Consecutive connections alternate between the two reactors, so
     * every publisher has subscribers on its own and on the other thread. */
    CONNECT(s0, s);
    CONNECT(s1, s);
    CONNECT(s2, s);
    CONNECT(s3, s);
    CONNECT(p0, s);
    CONNECT(p1, s);
    EXPECT_CMD(s0, "[\"subscribe\", \"t:news\", :1]", "SUBSCRIBE t:news");
    EXPECT_CMD(s1, "[\"subscribe\", \"t:news\", :1]", "SUBSCRIBE t:news");
    EXPECT_CMD(s2, "[\"psubscribe\", \"t:n*\", :1]", "PSUBSCRIBE t:n*");
    EXPECT_CMD(s3, "[\"subscribe\", \"t:news\", :1]", "SUBSCRIBE t:news");
    EXPECT_CMD(s3, "[\"psubscribe\", \"t:*\", :2]", "PSUBSCRIBE t:*");
    for (int round = 0; round < 2; round++) {
        redisContext *p = round ? p1 : p0;
        /* Channel subscribers plus matching patterns (s3 twice). */
        EXPECT_CMD(p, ":5", "PUBLISH t:news hello%d", round);
        char m[64], pm[80], pm2[80];
        snprintf(m, sizeof m, "[\"message\", \"t:news\", \"hello%d\"]", round);
        snprintf(pm, sizeof pm, "[\"pmessage\", \"t:n*\", \"t:news\", \"hello%d\"]", round);
        snprintf(pm2, sizeof pm2, "[\"pmessage\", \"t:*\", \"t:news\", \"hello%d\"]", round);
        EXPECT_READ(s0, m);
        EXPECT_READ(s1, m);
        EXPECT_READ(s2, pm);
        /* A channel subscriber gets the message before the pattern's. */
        EXPECT_READ(s3, m);
        EXPECT_READ(s3, pm2);
    }
    EXPECT_CMD(p1, ":1", "PUBLISH t:other x");
    EXPECT_READ(s3, "[\"pmessage\", \"t:*\", \"t:other\", \"x\"]");
    EXPECT_CMD(p0, ":0", "PUBLISH nobody x");
    /* Binary-safe channel and payload. */
    const char *argv[] = { "PUBLISH", "t:news", "a\0b\r\n\xff" };
    size_t lens[] = { 7, 6, 6 };
    EXPECT_ARGV(p0, ":5", 3, argv, lens);
    EXPECT_READ(s0, "[\"message\", \"t:news\", \"a\\x00b\\r\\n\\xff\"]");
    EXPECT_READ(s1, "[\"message\", \"t:news\", \"a\\x00b\\r\\n\\xff\"]");
    EXPECT_READ(s2, "[\"pmessage\", \"t:n*\", \"t:news\", \"a\\x00b\\r\\n\\xff\"]");
    EXPECT_READ(s3, "[\"message\", \"t:news\", \"a\\x00b\\r\\n\\xff\"]");
    EXPECT_READ(s3, "[\"pmessage\", \"t:*\", \"t:news\", \"a\\x00b\\r\\n\\xff\"]");
    /* Shard channels: their own namespace and message kind. */
    EXPECT_CMD(s0, "[\"ssubscribe\", \"t:news\", :1]", "SSUBSCRIBE t:news");
    EXPECT_CMD(p1, ":1", "SPUBLISH t:news sm");
    EXPECT_READ(s0, "[\"smessage\", \"t:news\", \"sm\"]");
    EXPECT_CMD(p1, ":5", "PUBLISH t:news plain");
    EXPECT_READ(s0, "[\"message\", \"t:news\", \"plain\"]");
    EXPECT_READ(s1, "[\"message\", \"t:news\", \"plain\"]");
    /* After UNSUBSCRIBE nothing more arrives: the confirmation is the last
     * thing before the next reply. */
    EXPECT_CMD(s1, "[\"unsubscribe\", \"t:news\", :0]", "UNSUBSCRIBE t:news");
    EXPECT_CMD(p0, ":4", "PUBLISH t:news after");
    EXPECT_CMD(s1, "+PONG", "PING");
}

/* 10,000 messages per channel from two concurrent publishers each (on
 * both threads), to subscribers on both threads: every subscriber gets
 * every message, each publisher's in its order, and all subscribers of a
 * channel see the very same interleaving (deliveries are serialized). */
enum { ORD_PER_PUB = 5000, ORD_BATCH = 250 };

typedef struct ord_sub {
    redisContext *ctx;
    int expect;
    int *seq[2];             /* per channel: publisher * 100000 + number */
    int n[2];
    char err[200];
} ord_sub;

typedef struct ord_pub {
    redisContext *ctx;
    int idx;
    const char *chan;
    long long receivers;
    char err[200];
} ord_pub;

static void *ord_read(void *arg)
{
    ord_sub *s = arg;
    while (s->n[0] + s->n[1] < s->expect) {
        redisReply *r = NULL;
        if (redisGetReply(s->ctx, (void **)&r) != REDIS_OK || !r) {
            snprintf(s->err, sizeof s->err, "read after %d messages: %s", s->n[0] + s->n[1],
                     s->ctx->errstr);
            return NULL;
        }
        size_t ne = r->elements;
        if (r->type != REDIS_REPLY_ARRAY || (ne != 3 && ne != 4)) {
            snprintf(s->err, sizeof s->err, "not a message (type %d)", r->type);
            freeReplyObject(r);
            return NULL;
        }
        const char *ch = r->element[ne - 2]->str;
        int pub = -1, num = -1;
        sscanf(r->element[ne - 1]->str, "P%d:%d", &pub, &num);
        int k = !strcmp(ch, "ord:a") ? 0 : !strcmp(ch, "ord:b") ? 1 : -1;
        if (k < 0 || pub < 0 || num < 0 || s->n[k] >= 2 * ORD_PER_PUB) {
            snprintf(s->err, sizeof s->err, "unexpected message on %s: %s", ch, r->element[ne - 1]->str);
            freeReplyObject(r);
            return NULL;
        }
        s->seq[k][s->n[k]++] = pub * 100000 + num;
        freeReplyObject(r);
    }
    return NULL;
}

static void *ord_publish(void *arg)
{
    ord_pub *p = arg;
    for (int base = 0; base < ORD_PER_PUB; base += ORD_BATCH) {
        for (int i = 0; i < ORD_BATCH; i++)
            redisAppendCommand(p->ctx, "PUBLISH %s P%d:%d", p->chan, p->idx, base + i);
        for (int i = 0; i < ORD_BATCH; i++) {
            redisReply *r = NULL;
            if (redisGetReply(p->ctx, (void **)&r) != REDIS_OK || !r) {
                snprintf(p->err, sizeof p->err, "PUBLISH #%d: %s", base + i, p->ctx->errstr);
                return NULL;
            }
            if (r->type != REDIS_REPLY_INTEGER || r->integer != p->receivers)
                if (!p->err[0])
                    snprintf(p->err, sizeof p->err, "PUBLISH #%d answered type %d value %lld, want %lld",
                             base + i, r->type, r->integer, p->receivers);
            freeReplyObject(r);
        }
    }
    return NULL;
}

TEST(pubsub_order_10000_per_channel_concurrent_publishers)
{
    START(s, NULL);
    /* s0: a; s1: a and b; s2: pattern ord:*; s3: b. */
    ord_sub subs[4] = { { 0 } };
    const char *subcmd[4] = { "SUBSCRIBE ord:a", "SUBSCRIBE ord:a ord:b", "PSUBSCRIBE ord:*",
                              "SUBSCRIBE ord:b" };
    int nconf[4] = { 1, 2, 1, 1 };
    int expect[4] = { 2 * ORD_PER_PUB, 4 * ORD_PER_PUB, 4 * ORD_PER_PUB, 2 * ORD_PER_PUB };
    for (int i = 0; i < 4; i++) {
        subs[i].ctx = h_connect(s);
        CHECK(subs[i].ctx);
        CMD(r, subs[i].ctx, subcmd[i]);
        (void)r;
        for (int j = 1; j < nconf[i]; j++)
            CHECK(h_read(H_LOC, subs[i].ctx));
        subs[i].expect = expect[i];
        for (int k = 0; k < 2; k++) {
            subs[i].seq[k] = calloc(2 * ORD_PER_PUB, sizeof(int));
            CHECK(subs[i].seq[k]);
        }
    }
    ord_pub pubs[4] = { { 0 } };
    for (int i = 0; i < 4; i++) {
        pubs[i].ctx = h_connect(s);
        CHECK(pubs[i].ctx);
        pubs[i].idx = i;
        pubs[i].chan = i < 2 ? "ord:a" : "ord:b";
        pubs[i].receivers = 3;   /* a: s0 s1 s2; b: s1 s2 s3 */
    }
    pthread_t rt[4], pt[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&rt[i], NULL, ord_read, &subs[i]);
    for (int i = 0; i < 4; i++)
        pthread_create(&pt[i], NULL, ord_publish, &pubs[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(pt[i], NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(rt[i], NULL);

    const char *fail = NULL;
    char msg[300];
    for (int i = 0; i < 4 && !fail; i++) {
        if (pubs[i].err[0]) {
            snprintf(msg, sizeof msg, "publisher %d: %s", i, pubs[i].err);
            fail = msg;
        }
    }
    for (int i = 0; i < 4 && !fail; i++) {
        if (subs[i].err[0]) {
            snprintf(msg, sizeof msg, "subscriber %d: %s", i, subs[i].err);
            fail = msg;
            break;
        }
        for (int k = 0; k < 2 && !fail; k++) {
            bool listens = (k == 0 && i != 3) || (k == 1 && i != 0);
            int want = listens ? 2 * ORD_PER_PUB : 0;
            if (subs[i].n[k] != want) {
                snprintf(msg, sizeof msg, "subscriber %d got %d messages on channel %d, want %d", i,
                         subs[i].n[k], k, want);
                fail = msg;
                break;
            }
            int next[4] = { 0, 0, 0, 0 };
            for (int j = 0; j < subs[i].n[k]; j++) {
                int pub = subs[i].seq[k][j] / 100000, num = subs[i].seq[k][j] % 100000;
                if (pub > 3 || num != next[pub]) {
                    snprintf(msg, sizeof msg, "subscriber %d channel %d: message %d is P%d:%d, want P%d:%d",
                             i, k, j, pub, num, pub, pub <= 3 ? next[pub] : -1);
                    fail = msg;
                    break;
                }
                next[pub]++;
            }
        }
    }
    /* Same interleaving everywhere: a = s0 s1 s2, b = s1 s2 s3. */
    int same_a[] = { 0, 1, 2 }, same_b[] = { 1, 2, 3 };
    for (int k = 0; k < 2 && !fail; k++) {
        int *who = k ? same_b : same_a;
        for (int x = 1; x < 3; x++)
            if (memcmp(subs[who[0]].seq[k], subs[who[x]].seq[k], sizeof(int) * 2 * ORD_PER_PUB) != 0) {
                snprintf(msg, sizeof msg, "subscribers %d and %d saw channel %d in different orders", who[0],
                         who[x], k);
                fail = msg;
                break;
            }
    }
    for (int i = 0; i < 4; i++) {
        free(subs[i].seq[0]);
        free(subs[i].seq[1]);
    }
    CHECKF(!fail, "%s", fail);
}

/* ---- RESP3 ---- */

TEST(pubsub_resp3_push_messages)
{
    START(s, NULL);
    RAW(r, s);
    CONNECT(pub, s);
    SEND(r, "HELLO 3\r\n");
    EXPECT_RAW_REPLY(r, "glob:{\"server\": \"redis\", *\"proto\": :3, *}");
    SEND(r, "SUBSCRIBE c3 c4\r\n");
    EXPECT_RAW_REPLY(r, ">[\"subscribe\", \"c3\", :1]");
    EXPECT_RAW_REPLY(r, ">[\"subscribe\", \"c4\", :2]");
    SEND(r, "PSUBSCRIBE p3*\r\n");
    EXPECT_RAW_REPLY(r, ">[\"psubscribe\", \"p3*\", :3]");
    EXPECT_CMD(pub, ":1", "PUBLISH c3 hi");
    EXPECT_RAW_REPLY(r, ">[\"message\", \"c3\", \"hi\"]");
    EXPECT_CMD(pub, ":1", "PUBLISH p3x there");
    EXPECT_RAW_REPLY(r, ">[\"pmessage\", \"p3*\", \"p3x\", \"there\"]");
    /* In RESP3 a subscriber may run anything; its own PUBLISH's push
     * comes before the reply, as in Redis. */
    SEND(r, "GET k\r\nPING\r\nPING x\r\nPUBLISH c3 self\r\n");
    EXPECT_RAW_REPLY(r, "(null)");
    EXPECT_RAW_REPLY(r, "+PONG");
    EXPECT_RAW_REPLY(r, "\"x\"");
    EXPECT_RAW_REPLY(r, ">[\"message\", \"c3\", \"self\"]");
    EXPECT_RAW_REPLY(r, ":1");
    SEND(r, "SSUBSCRIBE s3\r\n");
    EXPECT_RAW_REPLY(r, ">[\"ssubscribe\", \"s3\", :1]");
    EXPECT_CMD(pub, ":1", "SPUBLISH s3 m");
    EXPECT_RAW_REPLY(r, ">[\"smessage\", \"s3\", \"m\"]");
    SEND(r, "UNSUBSCRIBE c4\r\nPUNSUBSCRIBE\r\nSUNSUBSCRIBE\r\n");
    EXPECT_RAW_REPLY(r, ">[\"unsubscribe\", \"c4\", :2]");
    EXPECT_RAW_REPLY(r, ">[\"punsubscribe\", \"p3*\", :1]");
    EXPECT_RAW_REPLY(r, ">[\"sunsubscribe\", \"s3\", :0]");
    /* HELLO 2 while subscribed: later messages are RESP2 arrays and the
     * RESP2 subscribed context applies. */
    SEND(r, "HELLO 2\r\n");
    EXPECT_RAW_REPLY(r, "glob:[\"server\", \"redis\", *\"proto\", :2, *]");
    EXPECT_CMD(pub, ":1", "PUBLISH c3 two");
    EXPECT_RAW_REPLY(r, "[\"message\", \"c3\", \"two\"]");
    SEND(r, "GET k\r\nPING\r\n");
    EXPECT_RAW_REPLY(r, "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT "
                        "/ RESET are allowed in this context");
    EXPECT_RAW_REPLY(r, "[\"pong\", \"\"]");
    SEND(r, "UNSUBSCRIBE\r\nUNSUBSCRIBE\r\nHELLO 3\r\nUNSUBSCRIBE\r\n");
    EXPECT_RAW_REPLY(r, "[\"unsubscribe\", \"c3\", :0]");
    EXPECT_RAW_REPLY(r, "[\"unsubscribe\", (nil), :0]");
    EXPECT_RAW_REPLY(r, "glob:{\"server\": *}");
    EXPECT_RAW_REPLY(r, ">[\"unsubscribe\", (null), :0]");
    CHECK(h_raw_quiet(r, 100));
}

/* ---- the RESP2 subscribed context ---- */

TEST(pubsub_resp2_subscribed_context)
{
    FRESH(c);
    EXPECT_CMD(c, "+OK", "CONFIG RESETSTAT");
    EXPECT_CMD(c, "[\"subscribe\", \"ctx\", :1]", "SUBSCRIBE ctx");
    char err[300];
    const char *cmds[][2] = { { "GET k", "get" }, { "SET k v", "set" }, { "ECHO x", "echo" },
                              { "CONFIG GET port", "config|get" }, { "CLIENT ID", "client|id" },
                              { "PUBLISH ctx x", "publish" }, { "PUBSUB NUMPAT", "pubsub|numpat" },
                              { "MONITOR", "monitor" }, { "HELLO 3", "hello" }, { "SELECT 1", "select" } };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char exp[320];
        snprintf(err, sizeof err, CONTEXT_ERR, cmds[i][1]);
        snprintf(exp, sizeof exp, "-%s", err);
        EXPECT_CMD(c, exp, cmds[i][0]);
    }
    /* Unknown commands and arity errors come first, as in Redis. */
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'get' command", "GET");
    EXPECT_CMD(c, "-ERR unknown command 'NOSUCH', with args beginning with: 'a' ", "NOSUCH a");
    EXPECT_CMD(c, "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.", "CONFIG FOO");
    /* PING answers like a message. */
    EXPECT_CMD(c, "[\"pong\", \"\"]", "PING");
    EXPECT_CMD(c, "[\"pong\", \"hey\"]", "PING hey");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'ping' command", "PING a b");
    EXPECT_CMD(c, "[\"ssubscribe\", \"x\", :1]", "SSUBSCRIBE x");
    EXPECT_CMD(c, "[\"sunsubscribe\", \"x\", :0]", "SUNSUBSCRIBE x");
    /* RESET leaves everything silently. */
    EXPECT_CMD(c, "+RESET", "RESET");
    EXPECT_CMD(c, "(nil)", "GET k");
    CONNECT(other, h_shared());
    EXPECT_CMD(other, "[\"ctx\", :0]", "PUBSUB NUMSUB ctx");
    /* Refusals count as rejected calls, as in Redis. */
    CMD(st, other, "INFO commandstats");
    const char *get = strstr(st->str, "cmdstat_get:calls=1,");
    CHECKF(get && strstr(get, "rejected_calls=2,failed_calls=0\r\n") &&
               strstr(get, "rejected_calls=2,failed_calls=0\r\n") < strchr(get, '\n'),
           "commandstats: %s", st->str);
    CHECKF(strstr(st->str, "cmdstat_echo:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0"),
           "commandstats: %s", st->str);
    /* QUIT is allowed, and closes. */
    EXPECT_CMD(c, "[\"psubscribe\", \"q*\", :1]", "PSUBSCRIBE q*");
    EXPECT_CMD(c, "+OK", "QUIT");
    CHECK(WAIT_FOR(h_info_ll(other, "stats", "pubsub_patterns") == 0, 3000));
}

/* ---- output buffer limit for subscribers ---- */

enum { SLOW_MSG = 100 * 1024 };

typedef struct slow_reader {
    redisContext *ctx;
    int expect;
    _Atomic int got;
    char err[200];
} slow_reader;

static void *slow_read(void *arg)
{
    slow_reader *r = arg;
    while (atomic_load(&r->got) < r->expect) {
        redisReply *m = NULL;
        if (redisGetReply(r->ctx, (void **)&m) != REDIS_OK || !m) {
            snprintf(r->err, sizeof r->err, "read after %d messages: %s", atomic_load(&r->got),
                     r->ctx->errstr);
            return NULL;
        }
        int idx = -1;
        if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 && m->element[2]->len == SLOW_MSG)
            sscanf(m->element[2]->str, "%d:", &idx);
        if (idx != atomic_load(&r->got)) {
            snprintf(r->err, sizeof r->err, "message %d: got index %d", atomic_load(&r->got), idx);
            freeReplyObject(m);
            return NULL;
        }
        freeReplyObject(m);
        atomic_fetch_add(&r->got, 1);
    }
    return NULL;
}

/* Two subscribers that never read (one per thread) and two that do; the
 * publisher never runs more than a few messages ahead of the readers. */
static void slow_subscriber_case(hserver *s, int callers_clients, int nmsgs, long long limit_bytes,
                                 long rss_slack_kb)
{
    CONNECT(ctl, s);
    hraw *bad[2];
    for (int i = 0; i < 2; i++) {
        bad[i] = h_raw_open_rcvbuf(s, 4096);
        CHECK(bad[i]);
        SEND(bad[i], "SUBSCRIBE slow\r\n");
        EXPECT_RAW_REPLY(bad[i], "[\"subscribe\", \"slow\", :1]");
    }
    slow_reader good[2] = { { 0 } };
    for (int i = 0; i < 2; i++) {
        good[i].ctx = h_connect(s);
        CHECK(good[i].ctx);
        EXPECT_CMD(good[i].ctx, "[\"subscribe\", \"slow\", :1]", "SUBSCRIBE slow");
        good[i].expect = nmsgs;
    }
    CONNECT(pub, s);
    /* The caller's, ctl, two slow, two good, pub: once the server has
     * accepted them all (the kernel completes a handshake first). */
    long long clients0 = callers_clients + 6;
    CHECKF(WAIT_FOR(h_info_ll(ctl, "clients", "connected_clients") == clients0, 3000),
           "connected_clients is %lld, want %lld", h_info_ll(ctl, "clients", "connected_clients"), clients0);
    long rss0 = h_rss_kb(s), peak = rss0;
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, slow_read, &good[i]);
    char *msg = malloc(SLOW_MSG);
    CHECK(msg);
    memset(msg, 'm', SLOW_MSG);
    long long first = -1, last = -1;
    bool stuck = false;
    for (int i = 0; i < nmsgs && !stuck; i++) {
        int n = snprintf(msg, 16, "%d:", i);
        msg[n] = 'm';
        redisReply *r = h_cmd(H_LOC, pub, "PUBLISH slow %b", msg, (size_t)SLOW_MSG);
        if (!r)
            break;
        if (first < 0)
            first = r->integer;
        last = r->integer;
        /* Keep the readers within 10 messages (1MB). */
        long long deadline = h_now_ms() + 10000LL * h_slow();
        while ((atomic_load(&good[0].got) < i - 10 || atomic_load(&good[1].got) < i - 10) &&
               !good[0].err[0] && !good[1].err[0]) {
            if (h_now_ms() > deadline) {
                stuck = true;
                break;
            }
            usleep(1000);
        }
        if (i % 16 == 0) {
            long rss = h_rss_kb(s);
            if (rss > peak)
                peak = rss;
        }
    }
    free(msg);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    CHECK_OK();
    CHECKF(!stuck, "the readers stopped at %d and %d of %d", atomic_load(&good[0].got),
           atomic_load(&good[1].got), nmsgs);
    for (int i = 0; i < 2; i++)
        CHECKF(!good[i].err[0] && atomic_load(&good[i].got) == nmsgs, "good subscriber %d: %d of %d (%s)", i,
               atomic_load(&good[i].got), nmsgs, good[i].err);
    CHECKF(first == 4 && last == 2, "PUBLISH counted %lld receivers first, %lld last (want 4, then 2)",
           first, last);
    for (int i = 0; i < 2; i++) {
        size_t got = 0;
        CHECKF(h_raw_wait_closed(bad[i], 3000, &got), "subscriber %d that never reads is still connected", i);
        CHECKF(got < (size_t)limit_bytes + 16u * 1024 * 1024,
               "subscriber %d received %zu bytes before the close", i, got);
    }
    CHECKF(WAIT_FOR(h_info_ll(ctl, "clients", "connected_clients") == clients0 - 2, 3000),
           "connected_clients is %lld, was %lld with both slow subscribers",
           h_info_ll(ctl, "clients", "connected_clients"), clients0);
    /* A 7.2 counter that strata keeps (redis 7.0 has no such field). */
    if (!h_is_ref())
        CHECK(h_info_ll(ctl, "stats", "client_output_buffer_limit_disconnections") == 2);
    EXPECT_CMD(ctl, "[\"slow\", :2]", "PUBSUB NUMSUB slow");
    /* Under a sanitizer freed memory sits in quarantine, so RSS says
     * nothing about what the server holds. */
    if (rss0 > 0 && rss_slack_kb > 0 && h_slow() == 1)
        CHECKF(peak - rss0 < rss_slack_kb, "server RSS grew by %ld kB (peak) with a %lld-byte limit",
               peak - rss0, limit_bytes);
    /* The others keep working. */
    EXPECT_CMD(pub, ":2", "PUBLISH slow tail");
    EXPECT_READ(good[0].ctx, "[\"message\", \"slow\", \"tail\"]");
    EXPECT_READ(good[1].ctx, "[\"message\", \"slow\", \"tail\"]");
}

TEST(pubsub_slow_subscriber_hard_limit)
{
    START(s, "--client-output-buffer-limit", "pubsub 4mb 2mb 60", NULL);
    /* 40MB published to each subscriber; a 4MB limit. */
    slow_subscriber_case(s, 0, 400, 4 * 1024 * 1024, 48 * 1024);
}

TEST(pubsub_slow_subscriber_default_limit)
{
    /* Redis's default pubsub class: 32mb 8mb 60. */
    START(s, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "[\"client-output-buffer-limit\", \"normal 0 0 0 slave 268435456 67108864 60 pubsub "
               "33554432 8388608 60\"]", "CONFIG GET client-output-buffer-limit");
    slow_subscriber_case(s, 1, 600, 32 * 1024 * 1024, 0);
}

TEST(pubsub_slow_subscriber_soft_limit)
{
    START(s, "--client-output-buffer-limit", "pubsub 0 256kb 1", NULL);
    CONNECT(pub, s);
    hraw *bad = h_raw_open_rcvbuf(s, 4096);
    CHECK(bad);
    SEND(bad, "SUBSCRIBE soft\r\n");
    EXPECT_RAW_REPLY(bad, "[\"subscribe\", \"soft\", :1]");
    size_t n = 64 * 1024;
    char *msg = malloc(n);
    CHECK(msg);
    memset(msg, 's', n);
    long long t0 = h_now_ms(), closed_at = -1;
    while (h_now_ms() - t0 < 10000LL * h_slow()) {
        redisReply *r = h_cmd(H_LOC, pub, "PUBLISH soft %b", msg, n);
        if (!r)
            break;
        if (r->integer == 0) {
            closed_at = h_now_ms();
            break;
        }
        h_sleep_ms(20);
    }
    free(msg);
    CHECK_OK();
    CHECKF(closed_at > 0, "over the soft limit for %ds and still subscribed", 10 * h_slow());
    /* Over 256kb needs the kernel's buffers full first, then a second. */
    CHECKF(closed_at - t0 >= 1000, "closed after %lld ms, before the 1 s soft period", closed_at - t0);
    EXPECT_CLOSED(bad);
    if (!h_is_ref())
        CHECK(h_info_ll(pub, "stats", "client_output_buffer_limit_disconnections") == 1);
}

/* ---- clients that close while being published to ---- */

typedef struct churn_pub {
    int port;
    _Atomic bool *stop;
    long long sent;
    char err[200];
} churn_pub;

static void *churn_publish(void *arg)
{
    churn_pub *p = arg;
    redisContext *c = tconnect(p->port);
    if (!c) {
        snprintf(p->err, sizeof p->err, "connect failed");
        return NULL;
    }
    while (!atomic_load(p->stop)) {
        for (int i = 0; i < 64; i++)
            redisAppendCommand(c, i % 2 ? "PUBLISH churn msg%d" : "PUBLISH chx%d payload", i);
        for (int i = 0; i < 64; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r || r->type != REDIS_REPLY_INTEGER) {
                if (!p->err[0])
                    snprintf(p->err, sizeof p->err, "PUBLISH failed: %s", c->errstr);
                if (r)
                    freeReplyObject(r);
                redisFree(c);
                return NULL;
            }
            freeReplyObject(r);
            p->sent++;
        }
    }
    redisFree(c);
    return NULL;
}

typedef struct churn_sub {
    int port, iterations, seed;
    int done;
    char err[200];
} churn_sub;

static void *churn_subscribe(void *arg)
{
    churn_sub *cs = arg;
    unsigned seed = (unsigned)cs->seed;
    for (int i = 0; i < cs->iterations; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cs->port) };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
            snprintf(cs->err, sizeof cs->err, "connect: %s", strerror(errno));
            if (fd >= 0)
                close(fd);
            return NULL;
        }
        int mode = rand_r(&seed) % 4;
        const char *req = mode == 3 ? "HELLO 3\r\nSUBSCRIBE churn\r\nPSUBSCRIBE ch*\r\n"
                                    : "SUBSCRIBE churn\r\nPSUBSCRIBE ch*\r\nSSUBSCRIBE churn\r\n";
        if (write(fd, req, strlen(req)) < 0) {
            close(fd);
            continue;
        }
        if (mode >= 1) {
            /* Read a little (the confirmations, maybe some messages). */
            char buf[4096];
            struct pollfd pfd = { fd, POLLIN, 0 };
            for (int k = 0; k < 1 + rand_r(&seed) % 3; k++)
                if (poll(&pfd, 1, 50) == 1 && read(fd, buf, sizeof buf) <= 0)
                    break;
        }
        if (mode == 2) {
            /* Reset instead of a FIN, with unread messages in flight. */
            struct linger lg = { 1, 0 };
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close(fd);
        cs->done++;
    }
    return NULL;
}

TEST(pubsub_clients_closing_while_published_to)
{
    START(s, NULL);
    CONNECT(ctl, s);
    _Atomic bool stop = false;
    churn_pub pubs[2] = { { .port = s->port, .stop = &stop }, { .port = s->port, .stop = &stop } };
    churn_sub subs[2] = { { .port = s->port, .iterations = 150, .seed = 1 },
                          { .port = s->port, .iterations = 150, .seed = 2 } };
    pthread_t pt[2], st[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&pt[i], NULL, churn_publish, &pubs[i]);
    for (int i = 0; i < 2; i++)
        pthread_create(&st[i], NULL, churn_subscribe, &subs[i]);
    /* Kill subscribers from a third connection now and then. */
    for (int i = 0; i < 10; i++) {
        CMD(r, ctl, "CLIENT KILL TYPE pubsub");
        CHECK(r->type == REDIS_REPLY_INTEGER);
        h_sleep_ms(30);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(st[i], NULL);
    atomic_store(&stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(pt[i], NULL);
    for (int i = 0; i < 2; i++) {
        CHECKF(!subs[i].err[0] && subs[i].done == subs[i].iterations, "churner %d: %d done (%s)", i,
               subs[i].done, subs[i].err);
        CHECKF(!pubs[i].err[0] && pubs[i].sent > 0, "publisher %d: %lld sent (%s)", i, pubs[i].sent,
               pubs[i].err);
    }
    EXPECT_CMD(ctl, "+PONG", "PING");
    bool clean = WAIT_FOR(h_info_ll(ctl, "clients", "connected_clients") == 1 &&
                          h_info_ll(ctl, "stats", "pubsub_channels") == 0 &&
                          h_info_ll(ctl, "stats", "pubsub_patterns") == 0 &&
                          h_info_ll(ctl, "stats", "pubsubshard_channels") == 0, 5000);
    CHECKF(clean, "after the churn: %lld clients, %lld channels, %lld patterns, %lld shard channels",
           h_info_ll(ctl, "clients", "connected_clients"), h_info_ll(ctl, "stats", "pubsub_channels"),
           h_info_ll(ctl, "stats", "pubsub_patterns"), h_info_ll(ctl, "stats", "pubsubshard_channels"));
    EXPECT_CMD(ctl, "[\"churn\", :0]", "PUBSUB NUMSUB churn");
    EXPECT_CMD(ctl, ":0", "PUBLISH churn last");
}

/* ---- MONITOR ---- */

/* The next MONITOR line, checked against "+<time> <rest>": the time must
 * be unix seconds with 6 decimals, within a minute of ours. */
static bool expect_monitor_line(const char *file, int line, hraw *m, const char *rest)
{
    char got[2048];
    int rc = h_raw_reply(m, got, sizeof got, 5000);
    long long sec = 0, usec = 0;
    int n = 0;
    if (rc == 1 && sscanf(got, "+%lld.%6lld %n", &sec, &usec, &n) == 2 && n == 19 && got[11] == '.' && got[18] == ' ' && llabs(sec - h_now_ms() / 1000) < 60 &&
        h_match(rest, got + n))
        return true;
    h_fail(file, line, "MONITOR line: expected +<sec>.<usec> %s, got %s", rest, got);
    return false;
}
#define EXPECT_MONITOR(m, rest) \
    do { if (!expect_monitor_line(H_LOC, (m), (rest))) return; } while (0)

TEST(monitor_line_format)
{
    START(s, "--unixsocket", "@/strata.sock", NULL);
    RAW(m, s);
    CONNECT(c, s);   /* the other reactor thread */
    SEND(m, "MONITOR\r\n");
    EXPECT_RAW_REPLY(m, "+OK");
    CMD(id, c, "CLIENT INFO");
    char addr[64] = "";
    const char *a = strstr(id->str, "addr=");
    CHECK(a);
    sscanf(a, "addr=%63s", addr);
    char pre[100], exp[400];
    snprintf(pre, sizeof pre, "[0 %s] ", addr);
    snprintf(exp, sizeof exp, "%s\"CLIENT\" \"INFO\"", pre);
    EXPECT_MONITOR(m, exp);

    /* Binary arguments: Redis's sdscatrepr escapes. */
    const char *argv[] = { "SET", "k y", "a\0b\r\n\t\"\\\x07\x08\xff\x7f~" };
    size_t lens[] = { 3, 3, 13 };
    EXPECT_ARGV(c, "+OK", 3, argv, lens);
    snprintf(exp, sizeof exp, "%s\"SET\" \"k y\" \"a\\x00b\\r\\n\\t\\\"\\\\\\a\\b\\xff\\x7f~\"", pre);
    EXPECT_MONITOR(m, exp);
    /* After the command: SELECT shows the new db. */
    EXPECT_CMD(c, "+OK", "SELECT 3");
    snprintf(pre, sizeof pre, "[3 %s] ", addr);
    snprintf(exp, sizeof exp, "%s\"SELECT\" \"3\"", pre);
    EXPECT_MONITOR(m, exp);
    /* Redacted: AUTH (even when it fails), HELLO's AUTH pair. */
    EXPECT_CMD(c, "-WRONGPASS invalid username-password pair or user is disabled.", "AUTH someone secret");
    snprintf(exp, sizeof exp, "%s\"AUTH\" \"(redacted)\" \"(redacted)\"", pre);
    EXPECT_MONITOR(m, exp);
    EXPECT_CMD(c, "glob:[\"server\", *]", "HELLO 2 AUTH default secret SETNAME me");
    snprintf(exp, sizeof exp, "%s\"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\" \"SETNAME\" \"me\"", pre);
    EXPECT_MONITOR(m, exp);
    /* Not shown: admin commands, rejected commands (arity, unknown). */
    EXPECT_CMD(c, "glob:[\"port\", *]", "CONFIG GET port");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'get' command", "GET");
    EXPECT_CMD(c, "glob:-ERR unknown command 'NOSUCH'*", "NOSUCH");
    EXPECT_CMD(c, "glob:\"id=*", "CLIENT LIST");
    EXPECT_CMD(c, "(nil)", "GET missing");
    snprintf(exp, sizeof exp, "%s\"GET\" \"missing\"", pre);
    EXPECT_MONITOR(m, exp);

    /* A unix socket client shows as unix:<path>. */
    redisContext *u = h_connect_unix(s, "strata.sock");
    CHECK(u);
    EXPECT_CMD(u, "+PONG", "PING");
    snprintf(exp, sizeof exp, "[0 unix:%s] \"PING\"", h_path(s, "strata.sock"));
    EXPECT_MONITOR(m, exp);

    /* The monitor itself: a second MONITOR is silent; no keyspace access;
     * its own commands are fed to it after their reply. */
    SEND(m, "MONITOR\r\nGET k\r\nPUBLISH x y\r\nCLIENT GETNAME\r\n");
    EXPECT_RAW_REPLY(m, "-ERR Replica can't interact with the keyspace");
    EXPECT_RAW_REPLY(m, "-ERR Replica can't interact with the keyspace");
    EXPECT_RAW_REPLY(m, "(nil)");
    EXPECT_MONITOR(m, "glob:[0 127.0.0.1:*] \"CLIENT\" \"GETNAME\"");
    CMD(list, c, "CLIENT LIST TYPE normal");
    CHECKF(strstr(list->str, "flags=O db=0") && strstr(list->str, "cmd=client|getname"), "CLIENT LIST: %s",
           list->str);
    EXPECT_CMD(c, "+OK", "SET after list");
    snprintf(exp, sizeof exp, "%s\"SET\" \"after\" \"list\"", pre);
    EXPECT_MONITOR(m, exp);
    /* RESET ends monitoring. */
    SEND(m, "RESET\r\n");
    EXPECT_RAW_REPLY(m, "+RESET");
    EXPECT_CMD(c, "+OK", "SET more x");
    CHECK(h_raw_quiet(m, 200));
    SEND(m, "SELECT 3\r\nGET more\r\n");
    EXPECT_RAW_REPLY(m, "+OK");
    EXPECT_RAW_REPLY(m, "\"x\"");
}

/* Each monitor sees every command of every client, each client's in
 * order, whichever threads the monitors and the clients are on. */
typedef struct mon_client {
    redisContext *ctx;
    int idx, n;
    char err[200];
} mon_client;

static void *mon_run(void *arg)
{
    mon_client *m = arg;
    for (int i = 0; i < m->n; i++)
        redisAppendCommand(m->ctx, "SET mon%d %d", m->idx, i);
    for (int i = 0; i < m->n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(m->ctx, (void **)&r) != REDIS_OK || !r) {
            snprintf(m->err, sizeof m->err, "SET #%d: %s", i, m->ctx->errstr);
            return NULL;
        }
        freeReplyObject(r);
    }
    return NULL;
}

TEST(monitor_across_threads_in_order)
{
    START(s, NULL);
    RAW(m0, s);
    RAW(m1, s);
    SEND(m0, "MONITOR\r\n");
    SEND(m1, "MONITOR\r\n");
    EXPECT_RAW_REPLY(m0, "+OK");
    EXPECT_RAW_REPLY(m1, "+OK");
    enum { N = 2000 };
    mon_client cl[2] = { { .idx = 0, .n = N }, { .idx = 1, .n = N } };
    for (int i = 0; i < 2; i++) {
        cl[i].ctx = h_connect(s);
        CHECK(cl[i].ctx);
    }
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, mon_run, &cl[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++)
        CHECKF(!cl[i].err[0], "client %d: %s", i, cl[i].err);
    hraw *mons[2] = { m0, m1 };
    for (int k = 0; k < 2; k++) {
        int next[2] = { 0, 0 };
        for (int j = 0; j < 2 * N; j++) {
            char got[256];
            int rc = h_raw_reply(mons[k], got, sizeof got, 5000);
            CHECKF(rc == 1, "monitor %d: line %d: %s", k, j, got);
            int who = -1, val = -1;
            const char *q = strstr(got, "\"SET\" \"mon");
            if (q)
                sscanf(q, "\"SET\" \"mon%d\" \"%d\"", &who, &val);
            CHECKF(who >= 0 && who < 2 && val == next[who], "monitor %d: line %d is %s, want mon%d %d next", k, j,
                   got, who < 0 ? 0 : who, who < 0 ? 0 : next[who]);
            next[who]++;
        }
        CHECK(h_raw_quiet(mons[k], 50));
    }
}
