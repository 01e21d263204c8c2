/* pubsub.c: Pub/Sub and MONITOR. Owns the registry of channels, patterns
 * and shard channels with their subscribers, the list of MONITOR clients,
 * the commands that change or read them, the message and MONITOR-line
 * encodings, and the gates a subscribed or monitoring client passes before
 * each command. Delivery to another thread's client goes through
 * networking.c (net_deliver); docs/pubsub.md explains the design.
 *
 * Invariants:
 *  1. Everything below (tables, channels, ps_client records, the monitor
 *     list) is read and written only under ps_lock. client.ps is written
 *     by the client's owner thread under ps_lock; other threads reach a
 *     client only through the registry, under ps_lock.
 *  2. A ps_chan exists (in exactly one table) iff it has a subscriber, and
 *     a client is in ch->subs iff ch is in its ps_client set of that kind.
 *  3. Every delivery happens under ps_lock, after net_deliver_begin: so
 *     each receiver gets messages in the order publishers took the lock,
 *     and PUBLISH's count is exactly the deliveries it made.
 *  4. pubsub_client_free runs (on the owner thread) before the client is
 *     freed: once it returns, no pointer to the client is left here, so no
 *     publisher can reach it.
 */
#include "pubsub.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "commands.h"
#include "config.h"
#include "networking.h"
#include "util.h"

enum { K_CHAN, K_PAT, K_SHARD, K_KINDS };

/* A channel, pattern or shard channel and the clients subscribed to it.
 * Owned by its table; freed when its last subscriber leaves. */
typedef struct ps_chan {
    struct ps_chan *next;          /* bucket chain */
    uint64_t hash;
    size_t idx;                    /* position in the table's items[] */
    struct ps_client **subs;
    size_t nsubs, cap;
    size_t len;
    char name[];
} ps_chan;

/* name -> ps_chan, chained, with a dense array for iteration (PUBLISH
 * walks every pattern, PUBSUB CHANNELS every channel). Resized all at once:
 * the tables hold names people subscribe to, not the keyspace. */
typedef struct chan_table {
    ps_chan **buckets;
    size_t nbuckets;               /* power of two, or 0 */
    ps_chan **items;
    size_t n, cap;
} chan_table;

/* A client's subscriptions of one kind: a set of ps_chan pointers (open
 * addressing keyed by the channel's hash, backward-shift deletion). */
typedef struct chan_set {
    ps_chan **slots;
    size_t cap, n;                 /* cap: power of two, or 0 */
} chan_set;

typedef struct ps_client {
    client *c;
    int resp;                      /* protocol to encode messages in */
    chan_set sets[K_KINDS];
    bool monitor;
    struct ps_client *mprev, *mnext;
} ps_client;

static pthread_mutex_t ps_lock = PTHREAD_MUTEX_INITIALIZER;
static chan_table tables[K_KINDS];
static ps_client *monitors;
/* Table sizes for INFO, which reads them without the lock. */
static _Atomic unsigned long table_sizes[K_KINDS];
struct pubsub_hot pubsub_hot;

static const char *const sub_word[K_KINDS] = {"subscribe", "psubscribe", "ssubscribe"};
static const char *const unsub_word[K_KINDS] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

/* ---- tables --------------------------------------------------------------- */

static uint64_t name_hash(const char *p, size_t n) { return XXH3_64bits(p, n); }

static ps_chan *table_find(const chan_table *t, const char *name, size_t len, uint64_t h) {
    if (!t->nbuckets) return NULL;
    for (ps_chan *ch = t->buckets[h & (t->nbuckets - 1)]; ch; ch = ch->next)
        if (ch->hash == h && ch->len == len && memcmp(ch->name, name, len) == 0) return ch;
    return NULL;
}

static void table_rehash(chan_table *t, size_t nb) {
    ps_chan **b = xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < t->n; i++) {
        ps_chan *ch = t->items[i];
        size_t k = ch->hash & (nb - 1);
        ch->next = b[k];
        b[k] = ch;
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

static ps_chan *table_add(chan_table *t, int kind, const char *name, size_t len, uint64_t h) {
    if (t->n >= t->nbuckets) table_rehash(t, t->nbuckets ? t->nbuckets * 2 : 16);
    ps_chan *ch = xcalloc(1, sizeof(*ch) + len + 1);
    ch->hash = h;
    ch->len = len;
    memcpy(ch->name, name, len);
    size_t k = h & (t->nbuckets - 1);
    ch->next = t->buckets[k];
    t->buckets[k] = ch;
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->items = xrealloc(t->items, t->cap * sizeof(*t->items));
    }
    ch->idx = t->n;
    t->items[t->n++] = ch;
    atomic_store_explicit(&table_sizes[kind], t->n, memory_order_relaxed);
    return ch;
}

static void table_del(chan_table *t, int kind, ps_chan *ch) {
    ps_chan **pp = &t->buckets[ch->hash & (t->nbuckets - 1)];
    while (*pp != ch) pp = &(*pp)->next;
    *pp = ch->next;
    ps_chan *last = t->items[--t->n];
    t->items[ch->idx] = last;
    last->idx = ch->idx;
    free(ch->subs);
    free(ch);
    atomic_store_explicit(&table_sizes[kind], t->n, memory_order_relaxed);
    /* Give memory back after a burst of short-lived channels. */
    if (t->nbuckets > 16 && t->n < t->nbuckets / 8) {
        table_rehash(t, t->nbuckets / 4);
        if (t->cap > 64 && t->n < t->cap / 4) {
            t->cap /= 2;
            t->items = xrealloc(t->items, t->cap * sizeof(*t->items));
        }
    }
}

static void table_free(chan_table *t) {
    for (size_t i = 0; i < t->n; i++) {
        free(t->items[i]->subs);
        free(t->items[i]);
    }
    free(t->items);
    free(t->buckets);
    memset(t, 0, sizeof(*t));
}

/* ---- per-client sets ---------------------------------------------------- */

static bool set_has(const chan_set *s, const ps_chan *ch) {
    if (!s->cap) return false;
    size_t m = s->cap - 1;
    for (size_t i = ch->hash & m; s->slots[i]; i = (i + 1) & m)
        if (s->slots[i] == ch) return true;
    return false;
}

static void set_insert(ps_chan **slots, size_t cap, ps_chan *ch) {
    size_t m = cap - 1, i = ch->hash & m;
    while (slots[i]) i = (i + 1) & m;
    slots[i] = ch;
}

static void set_put(chan_set *s, ps_chan *ch) {
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        ps_chan **slots = xcalloc(cap, sizeof(*slots));
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i]) set_insert(slots, cap, s->slots[i]);
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    set_insert(s->slots, s->cap, ch);
    s->n++;
}

static void set_del(chan_set *s, const ps_chan *ch) {
    size_t m = s->cap - 1, i = ch->hash & m;
    while (s->slots[i] != ch) i = (i + 1) & m;
    s->slots[i] = NULL;
    /* Backward shift: pull later entries of the probe run into the hole
     * unless their home slot lies cyclically in (hole, their position]. */
    for (size_t j = (i + 1) & m; s->slots[j]; j = (j + 1) & m) {
        size_t home = s->slots[j]->hash & m;
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays) continue;
        s->slots[i] = s->slots[j];
        s->slots[j] = NULL;
        i = j;
    }
    if (--s->n == 0) {
        free(s->slots);
        s->slots = NULL;
        s->cap = 0;
    }
}

/* ---- subscriptions ------------------------------------------------------ */

static void chan_add_sub(ps_chan *ch, ps_client *p) {
    if (ch->nsubs == ch->cap) {
        ch->cap = ch->cap ? ch->cap * 2 : 4;
        ch->subs = xrealloc(ch->subs, ch->cap * sizeof(*ch->subs));
    }
    ch->subs[ch->nsubs++] = p;
}

static void chan_del_sub(ps_chan *ch, ps_client *p) {
    for (size_t i = 0; i < ch->nsubs; i++)
        if (ch->subs[i] == p) {
            ch->subs[i] = ch->subs[--ch->nsubs];
            return;
        }
}

static ps_client *ps_of(client *c) {
    if (!c->ps) {
        c->ps = xcalloc(1, sizeof(ps_client));
        c->ps->c = c;
    }
    c->ps->resp = c->resp;
    return c->ps;
}

/* The count Redis reports after a (un)subscription of this kind: channels
 * and patterns together, shard channels apart. */
static long sub_count(const ps_client *p, int kind) {
    if (!p) return 0;
    if (kind == K_SHARD) return (long)p->sets[K_SHARD].n;
    return (long)(p->sets[K_CHAN].n + p->sets[K_PAT].n);
}

/* The client's own copy of its counts and flags (CLIENT LIST, the gates). */
static void sync_client(client *c) {
    ps_client *p = c->ps;
    c->nsub = (int)p->sets[K_CHAN].n;
    c->npsub = (int)p->sets[K_PAT].n;
    c->nssub = (int)p->sets[K_SHARD].n;
    if (c->nsub || c->npsub || c->nssub) c->flags |= CLIENT_PUBSUB;
    else c->flags &= ~CLIENT_PUBSUB;
    if (p->monitor) c->flags |= CLIENT_MONITOR;
    else c->flags &= ~CLIENT_MONITOR;
    atomic_store_explicit(&c->pub_type, (c->flags & CLIENT_PUBSUB) ? COB_PUBSUB : COB_NORMAL, memory_order_relaxed);
}

static bool do_subscribe(ps_client *p, int kind, const char *name, size_t len) {
    uint64_t h = name_hash(name, len);
    ps_chan *ch = table_find(&tables[kind], name, len, h);
    if (ch && set_has(&p->sets[kind], ch)) return false;
    if (!ch) ch = table_add(&tables[kind], kind, name, len, h);
    set_put(&p->sets[kind], ch);
    chan_add_sub(ch, p);
    return true;
}

static void do_unsubscribe(ps_client *p, int kind, ps_chan *ch) {
    set_del(&p->sets[kind], ch);
    chan_del_sub(ch, p);
    if (!ch->nsubs) table_del(&tables[kind], kind, ch);
}

static void reply_subscription(client *c, int kind, bool sub, const char *name, size_t len, long count) {
    reply_push(c, 3);
    reply_bulk_cstr(c, sub ? sub_word[kind] : unsub_word[kind]);
    if (name) reply_bulk(c, name, len);
    else reply_null(c);
    reply_int(c, count);
}

/* Leave every subscription of one kind; with notify, one confirmation per
 * subscription (in set order, as Redis's dict order: unspecified), or one
 * with a null name when there were none. */
static void do_unsubscribe_all(client *c, int kind, bool notify) {
    ps_client *p = c->ps;
    size_t n = p ? p->sets[kind].n : 0;
    if (n == 0) {
        if (notify) reply_subscription(c, kind, false, NULL, 0, sub_count(p, kind));
        return;
    }
    chan_set s = p->sets[kind];
    memset(&p->sets[kind], 0, sizeof(chan_set));
    long others = kind == K_SHARD ? 0 : (long)p->sets[kind == K_CHAN ? K_PAT : K_CHAN].n;
    size_t left = n;
    for (size_t i = 0; i < s.cap; i++) {
        ps_chan *ch = s.slots[i];
        if (!ch) continue;
        left--;
        if (notify) reply_subscription(c, kind, false, ch->name, ch->len, (long)left + others);
        chan_del_sub(ch, p);
        if (!ch->nsubs) table_del(&tables[kind], kind, ch);
    }
    free(s.slots);
}

static void subscribe_cmd(client *c, int kind) {
    pthread_mutex_lock(&ps_lock);
    net_deliver_begin();
    ps_client *p = ps_of(c);
    for (int j = 1; j < c->argc; j++) {
        do_subscribe(p, kind, c->argv[j].ptr, c->argv[j].len);
        reply_subscription(c, kind, true, c->argv[j].ptr, c->argv[j].len, sub_count(p, kind));
    }
    sync_client(c);
    pthread_mutex_unlock(&ps_lock);
}

static void unsubscribe_cmd(client *c, int kind) {
    pthread_mutex_lock(&ps_lock);
    /* Messages queued for us before this must go out before the
     * confirmation: after it, a RESP2 client may leave subscribed mode. */
    net_deliver_begin();
    ps_client *p = c->ps;
    if (c->argc == 1) {
        do_unsubscribe_all(c, kind, true);
    } else {
        for (int j = 1; j < c->argc; j++) {
            const char *name = c->argv[j].ptr;
            size_t len = c->argv[j].len;
            ps_chan *ch = p ? table_find(&tables[kind], name, len, name_hash(name, len)) : NULL;
            if (ch && set_has(&p->sets[kind], ch)) do_unsubscribe(p, kind, ch);
            reply_subscription(c, kind, false, name, len, sub_count(p, kind));
        }
    }
    if (p) sync_client(c);
    pthread_mutex_unlock(&ps_lock);
}

void cmd_subscribe(client *c) { subscribe_cmd(c, K_CHAN); }
void cmd_psubscribe(client *c) { subscribe_cmd(c, K_PAT); }
void cmd_ssubscribe(client *c) { subscribe_cmd(c, K_SHARD); }
void cmd_unsubscribe(client *c) { unsubscribe_cmd(c, K_CHAN); }
void cmd_punsubscribe(client *c) { unsubscribe_cmd(c, K_PAT); }
void cmd_sunsubscribe(client *c) { unsubscribe_cmd(c, K_SHARD); }

/* ---- encoding ------------------------------------------------------------ */

typedef struct ebuf {
    char *p;
    size_t len, cap;
} ebuf;

/* Per-thread scratch for messages and MONITOR lines: no allocation per
 * PUBLISH once warm. */
static _Thread_local ebuf tl_msg, tl_mon;

static void eb_reserve(ebuf *b, size_t n) {
    if (b->len + n <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    b->p = xrealloc(b->p, cap);
    b->cap = cap;
}

static void eb_put(ebuf *b, const char *p, size_t n) {
    eb_reserve(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void eb_hdr(ebuf *b, char type, long long n) {
    eb_reserve(b, 24);
    b->p[b->len++] = type;
    b->len += (size_t)util_ll2str(b->p + b->len, n);
    b->p[b->len++] = '\r';
    b->p[b->len++] = '\n';
}

static void eb_bulk(ebuf *b, const char *p, size_t n) {
    eb_hdr(b, '$', (long long)n);
    eb_reserve(b, n + 2);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len++] = '\r';
    b->p[b->len++] = '\n';
}

/* Keep a big message's buffer only until the next small one. */
static void eb_trim(ebuf *b) {
    if (b->cap > 1024 * 1024) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
    b->len = 0;
}

/* A message: [message, channel, payload], or [pmessage, pattern, channel,
 * payload]. Encoded once as a RESP2 array; deliver() sets the first byte
 * to '>' for RESP3 receivers, the only difference between the two. */
static void encode_message(ebuf *b, const char *word, const ps_chan *pat, const char *ch, size_t chlen,
                           const char *msg, size_t mlen) {
    b->len = 0;
    eb_hdr(b, '*', pat ? 4 : 3);
    eb_bulk(b, word, strlen(word));
    if (pat) eb_bulk(b, pat->name, pat->len);
    eb_bulk(b, ch, chlen);
    eb_bulk(b, msg, mlen);
}

static int class_of(const ps_client *p) {
    return (p->sets[K_CHAN].n || p->sets[K_PAT].n || p->sets[K_SHARD].n) ? COB_PUBSUB : COB_NORMAL;
}

static void deliver(ps_client *p, ebuf *b) {
    b->p[0] = p->resp == 3 ? '>' : '*';
    net_deliver(p->c, b->p, b->len, class_of(p));
}

/* ---- PUBLISH --------------------------------------------------------------- */

static long do_publish(int kind, const char *ch, size_t chlen, const char *msg, size_t mlen) {
    ebuf *b = &tl_msg;
    long receivers = 0;
    ps_chan *chan = table_find(&tables[kind], ch, chlen, name_hash(ch, chlen));
    if (chan) {
        encode_message(b, kind == K_SHARD ? "smessage" : "message", NULL, ch, chlen, msg, mlen);
        for (size_t i = 0; i < chan->nsubs; i++) deliver(chan->subs[i], b);
        receivers += (long)chan->nsubs;
    }
    if (kind == K_CHAN) {
        const chan_table *pt = &tables[K_PAT];
        for (size_t i = 0; i < pt->n; i++) {
            ps_chan *pat = pt->items[i];
            if (!util_glob_match(pat->name, pat->len, ch, chlen, false)) continue;
            encode_message(b, "pmessage", pat, ch, chlen, msg, mlen);
            for (size_t j = 0; j < pat->nsubs; j++) deliver(pat->subs[j], b);
            receivers += (long)pat->nsubs;
        }
    }
    eb_trim(b);
    return receivers;
}

static void publish_cmd(client *c, int kind) {
    pthread_mutex_lock(&ps_lock);
    net_deliver_begin();
    long n = do_publish(kind, c->argv[1].ptr, c->argv[1].len, c->argv[2].ptr, c->argv[2].len);
    pthread_mutex_unlock(&ps_lock);
    reply_int(c, n);
}

void cmd_publish(client *c) { publish_cmd(c, K_CHAN); }
void cmd_spublish(client *c) { publish_cmd(c, K_SHARD); }

/* ---- PUBSUB ------------------------------------------------------------------ */

static void channels_cmd(client *c, int kind) {
    if (c->argc > 3) {
        reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try PUBSUB HELP.",
                     c->argv[1].ptr);
        return;
    }
    const char *pat = c->argc == 3 ? c->argv[2].ptr : NULL;
    size_t plen = c->argc == 3 ? c->argv[2].len : 0;
    pthread_mutex_lock(&ps_lock);
    const chan_table *t = &tables[kind];
    size_t h = reply_defer_len(c);
    long n = 0;
    for (size_t i = 0; i < t->n; i++) {
        const ps_chan *ch = t->items[i];
        if (pat && !util_glob_match(pat, plen, ch->name, ch->len, false)) continue;
        reply_bulk(c, ch->name, ch->len);
        n++;
    }
    reply_set_deferred_array(c, h, n);
    pthread_mutex_unlock(&ps_lock);
}

static void numsub_cmd(client *c, int kind) {
    pthread_mutex_lock(&ps_lock);
    reply_array(c, 2L * (c->argc - 2));
    for (int j = 2; j < c->argc; j++) {
        const char *name = c->argv[j].ptr;
        size_t len = c->argv[j].len;
        const ps_chan *ch = table_find(&tables[kind], name, len, name_hash(name, len));
        reply_bulk(c, name, len);
        reply_int(c, ch ? (long long)ch->nsubs : 0);
    }
    pthread_mutex_unlock(&ps_lock);
}

void cmd_pubsub_channels(client *c) { channels_cmd(c, K_CHAN); }
void cmd_pubsub_shardchannels(client *c) { channels_cmd(c, K_SHARD); }
void cmd_pubsub_numsub(client *c) { numsub_cmd(c, K_CHAN); }
void cmd_pubsub_shardnumsub(client *c) { numsub_cmd(c, K_SHARD); }

void cmd_pubsub_numpat(client *c) {
    /* Distinct patterns, as Redis 7.0 counts them. */
    reply_int(c, (long long)pubsub_npatterns());
}

void cmd_pubsub_help(client *c) {
    static const char *const lines[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Prints this help.",
    };
    long n = (long)(sizeof(lines) / sizeof(lines[0]));
    reply_array(c, n);
    for (long i = 0; i < n; i++) reply_simple(c, lines[i]);
}

unsigned long pubsub_nchannels(void) { return atomic_load_explicit(&table_sizes[K_CHAN], memory_order_relaxed); }
unsigned long pubsub_npatterns(void) { return atomic_load_explicit(&table_sizes[K_PAT], memory_order_relaxed); }
unsigned long pubsub_nshardchannels(void) {
    return atomic_load_explicit(&table_sizes[K_SHARD], memory_order_relaxed);
}

/* ---- MONITOR ----------------------------------------------------------------- */

void cmd_monitor(client *c) {
    /* A second MONITOR is ignored, without a reply (Redis). */
    if (c->flags & CLIENT_MONITOR) return;
    pthread_mutex_lock(&ps_lock);
    net_deliver_begin();
    ps_client *p = ps_of(c);
    p->monitor = true;
    p->mprev = NULL;
    p->mnext = monitors;
    if (monitors) monitors->mprev = p;
    monitors = p;
    atomic_fetch_add(&pubsub_hot.nmonitors, 1);
    sync_client(c);
    reply_ok(c);
    pthread_mutex_unlock(&ps_lock);
}

static void monitor_unlink(ps_client *p) {
    if (!p->monitor) return;
    if (p->mprev) p->mprev->mnext = p->mnext;
    else monitors = p->mnext;
    if (p->mnext) p->mnext->mprev = p->mprev;
    p->mprev = p->mnext = NULL;
    p->monitor = false;
    atomic_fetch_sub(&pubsub_hot.nmonitors, 1);
}

/* sdscatrepr: quoted, with \\ \" \n \r \t \a \b and \xHH escapes. */
static void eb_repr(ebuf *b, const char *p, size_t n) {
    eb_reserve(b, n + 2);
    b->p[b->len++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        char esc = 0;
        switch (ch) {
        case '\\': esc = '\\'; break;
        case '"': esc = '"'; break;
        case '\n': esc = 'n'; break;
        case '\r': esc = 'r'; break;
        case '\t': esc = 't'; break;
        case '\a': esc = 'a'; break;
        case '\b': esc = 'b'; break;
        }
        if (esc) {
            char e[2] = {'\\', esc};
            eb_put(b, e, 2);
        } else if (ch >= 0x20 && ch < 0x7f) {
            eb_put(b, (const char *)&ch, 1);
        } else {
            char hex[5];
            snprintf(hex, sizeof(hex), "\\x%02x", ch);
            eb_put(b, hex, 4);
        }
    }
    eb_put(b, "\"", 1);
}

void pubsub_feed_monitors(client *c, const command *cmd) {
    if (cmd->flags & (CMD_SKIP_MONITOR | CMD_ADMIN)) return;
    /* +<unix time> [<db> <addr>] "arg" "arg"...: formatted once, outside
     * the lock, and sent as the same bytes to every monitor. */
    ebuf *b = &tl_mon;
    b->len = 0;
    int64_t us = util_us();
    char head[256];
    int n;
    if (c->flags & CLIENT_UNIX_SOCKET)
        n = snprintf(head, sizeof(head), "+%lld.%06lld [%d unix:%s] ", (long long)(us / 1000000),
                     (long long)(us % 1000000), c->db, cfg.unixsocket);
    else
        n = snprintf(head, sizeof(head), "+%lld.%06lld [%d %s] ", (long long)(us / 1000000),
                     (long long)(us % 1000000), c->db, c->addr);
    eb_put(b, head, n > 0 && (size_t)n < sizeof(head) ? (size_t)n : strlen(head));
    for (int j = 0; j < c->argc; j++) {
        if (j) eb_put(b, " ", 1);
        eb_repr(b, c->argv[j].ptr, c->argv[j].len);
    }
    eb_put(b, "\r\n", 2);
    pthread_mutex_lock(&ps_lock);
    net_deliver_begin();
    for (ps_client *m = monitors; m; m = m->mnext) net_deliver(m->c, b->p, b->len, class_of(m));
    pthread_mutex_unlock(&ps_lock);
    eb_trim(b);
}

/* ---- gates and client life ------------------------------------------------ */

bool pubsub_check_context(client *c, const command *cmd) {
    /* A MONITOR is a replica to Redis: no keyspace, and no PUBLISH (which
     * Redis flags may_replicate without listing it in COMMAND INFO). */
    if ((c->flags & CLIENT_MONITOR) &&
        ((cmd->flags & (CMD_WRITE | CMD_READONLY | CMD_MAY_REPLICATE)) || cmd->proc == cmd_publish ||
         cmd->proc == cmd_spublish)) {
        reply_error(c, "ERR Replica can't interact with the keyspace");
        return false;
    }
    if ((c->flags & CLIENT_PUBSUB) && c->resp == 2) {
        command_proc *p = cmd->proc;
        if (p != cmd_ping && p != cmd_subscribe && p != cmd_ssubscribe && p != cmd_unsubscribe &&
            p != cmd_sunsubscribe && p != cmd_psubscribe && p != cmd_punsubscribe && p != cmd_quit &&
            p != cmd_reset) {
            reply_errorf(c, "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                            "RESET are allowed in this context", cmd->name);
            return false;
        }
    }
    return true;
}

static void leave_all(client *c) {
    for (int k = 0; k < K_KINDS; k++) do_unsubscribe_all(c, k, false);
    monitor_unlink(c->ps);
}

void pubsub_client_free(client *c) {
    pthread_mutex_lock(&ps_lock);
    net_deliver_begin();
    leave_all(c);
    free(c->ps);
    c->ps = NULL;
    pthread_mutex_unlock(&ps_lock);
}

void pubsub_client_reset(client *c) {
    if (!c->ps) return;
    pthread_mutex_lock(&ps_lock);
    net_deliver_begin();
    leave_all(c);
    sync_client(c);
    pthread_mutex_unlock(&ps_lock);
}

void pubsub_client_resp_changed(client *c) {
    if (!c->ps) return;
    pthread_mutex_lock(&ps_lock);
    net_deliver_begin();
    c->ps->resp = c->resp;
    pthread_mutex_unlock(&ps_lock);
}

void pubsub_thread_exit(void) {
    free(tl_msg.p);
    free(tl_mon.p);
    memset(&tl_msg, 0, sizeof(tl_msg));
    memset(&tl_mon, 0, sizeof(tl_mon));
}

void pubsub_setup(void) {
    memset(tables, 0, sizeof(tables));
    monitors = NULL;
    atomic_store(&pubsub_hot.nmonitors, 0);
}

void pubsub_teardown(void) {
    pthread_mutex_lock(&ps_lock);
    for (int k = 0; k < K_KINDS; k++) {
        table_free(&tables[k]);
        atomic_store(&table_sizes[k], 0);
    }
    monitors = NULL;
    pthread_mutex_unlock(&ps_lock);
}

size_t pubsub_subscribers_denied(pubsub_allowed_fn *allowed, void *priv, uint64_t **ids) {
    size_t n = 0, cap = 0;
    *ids = NULL;
    pthread_mutex_lock(&ps_lock);
    for (int k = 0; k < K_KINDS; k++)
        for (size_t i = 0; i < tables[k].n; i++) {
            const ps_chan *ch = tables[k].items[i];
            if (!ch->nsubs || allowed(priv, ch->name, ch->len, k == K_PAT)) continue;
            for (size_t j = 0; j < ch->nsubs; j++) {
                if (n == cap) *ids = xrealloc(*ids, sizeof(uint64_t) * (cap = cap ? cap * 2 : 16));
                (*ids)[n++] = ch->subs[j]->c->id;   /* id: fixed at creation */
            }
        }
    pthread_mutex_unlock(&ps_lock);
    return n;
}
