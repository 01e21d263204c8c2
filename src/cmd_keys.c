/* cmd_keys.c: the generic keyspace commands, whatever the value type:
 * DEL/UNLINK/EXISTS/TOUCH/TYPE, KEYS/SCAN/RANDOMKEY, RENAME/RENAMENX/COPY/
 * MOVE/SWAPDB, DBSIZE/FLUSHDB/FLUSHALL, the EXPIRE and TTL families, PERSIST
 * and OBJECT. Each reproduces Redis 7.0's replies, error texts and argument
 * order of checks (db.c, expire.c, object.c), since clients and test suites
 * depend on them byte for byte.
 *
 * Locking: a single-key command holds its key's shard lock for its whole
 * body; a multi-key command locks the shards of all its keys at once
 * (ks_lockset) so that it is atomic, as it is in single-threaded Redis.
 * KEYS and SCAN go through ks_scan, which locks one shard at a time.
 *
 * Keyspace hit/miss counters follow Redis: lookups that Redis does with
 * lookupKeyRead* (EXISTS, TOUCH, TYPE, the TTL family, OBJECT, COPY's
 * source, SCAN's TYPE filter) count; write lookups, KEYS and DEL do not.
 * Likewise only the lookups Redis does without LOOKUP_NOTOUCH reset the
 * access clock (TOUCH, COPY's source and the write lookups).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "commands.h"
#include "config.h"
#include "keyspace.h"
#include "util.h"

#define ERR_SAME_OBJECT "ERR source and destination objects are the same"
#define ERR_INT_RANGE \
    "ERR value is out of range, value must between -2147483648 and 2147483647"

/* Redis shares the integer objects 0..9999 (OBJ_SHARED_INTEGERS) and reports
 * their refcount as OBJ_SHARED_REFCOUNT. */
#define SHARED_INTEGERS 10000
#define SHARED_REFCOUNT INT_MAX

/* Keys of a multi-key command live on the stack up to this many. */
#define KEYS_ON_STACK 16

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static bool lfu_policy(void) {
    return cfg.maxmemory_policy == MM_ALLKEYS_LFU ||
           cfg.maxmemory_policy == MM_VOLATILE_LFU;
}

/* getIntFromObjectOrReply: an integer that must fit an int. With msg NULL
 * the two failures have different texts, as in Redis. */
static bool arg_int(client *c, int i, int *out, const char *msg) {
    long long v;
    if (!arg_ll(c, i, &v, msg)) return false;
    if (v < INT_MIN || v > INT_MAX) {
        reply_error(c, msg ? msg : ERR_INT_RANGE);
        return false;
    }
    *out = (int)v;
    return true;
}

/* A db index after arg_int: Redis's selectDb() range check. */
static bool db_in_range(int id) {
    return id >= 0 && id < ks_ndbs();
}

static bool same_bytes(const resp_arg *a, const resp_arg *b) {
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/* The n keys argv[first..first+n-1] of a multi-key command: hashes computed
 * once and their shards locked together. stack is a KEYS_ON_STACK array; a
 * larger one is allocated and returned (release with multi_unlock). */
static ks_key *multi_lock(client *c, int first, int n, ks_lockset *ls,
                          ks_key *stack) {
    ks_key *keys = n <= KEYS_ON_STACK ? stack : xmalloc(sizeof(*keys) * (size_t)n);
    ks_lockset_init(ls);
    for (int i = 0; i < n; i++) {
        keys[i] = ks_key_make(c->argv[first + i].ptr, c->argv[first + i].len);
        ks_lockset_add(ls, &keys[i]);
    }
    ks_lockset_lock(ls);
    return keys;
}

static void multi_unlock(ks_lockset *ls, ks_key *keys, ks_key *stack) {
    ks_lockset_unlock(ls);
    if (keys != stack) free(keys);
}

/* Redis's lookupKeyRead: the miss/hit counters, and the access clock unless
 * the command asks not to touch. */
static ks_entry *lookup_read(int db, const ks_key *k, int64_t now, bool touch) {
    ks_entry *e = do_ks_find(db, k, now);
    ks_stat_hit(e != NULL);
    if (e && touch) ks_entry_touch(e);
    return e;
}

/* The same for commands that read only the key, its expiry or its clock
 * (EXISTS, TYPE, TTL, EXPIRE, OBJECT IDLETIME/FREQ): the entry may be
 * spilled, and the disk is never read (docs/storage.md). */
static ks_entry *lookup_meta(int db, const ks_key *k, int64_t now, bool touch) {
    ks_entry *e = do_ks_find_meta(db, k, now);
    ks_stat_hit(e != NULL);
    if (e && touch) ks_entry_touch(e);
    return e;
}

static ks_entry *lookup_write_meta(int db, const ks_key *k, int64_t now) {
    ks_entry *e = do_ks_find_meta(db, k, now);
    if (e) ks_entry_touch(e);
    return e;
}

/* Redis's lookupKeyWrite: no counters, but the access clock moves. */
static ks_entry *lookup_write(int db, const ks_key *k, int64_t now) {
    ks_entry *e = do_ks_find(db, k, now);
    if (e) ks_entry_touch(e);
    return e;
}

/* ------------------------------------------------------------------ */
/* DEL UNLINK EXISTS TOUCH TYPE                                        */
/* ------------------------------------------------------------------ */

/* DEL and UNLINK: values are freed synchronously for now (lazy freeing
 * arrives with the background threads); the reply is the same. A key named
 * twice counts once, since the second delete finds nothing. */
static void del_generic(client *c) {
    int64_t now = client_now_ms(c);
    long long deleted = 0;

    if (c->argc == 2) {
        ks_key k = ks_key_make(c->argv[1].ptr, c->argv[1].len);
        ks_lock_key(&k);
        deleted = do_ks_delete(c->db, &k, now);
        ks_unlock_key(&k);
    } else {
        ks_lockset ls;
        ks_key stack[KEYS_ON_STACK];
        ks_key *keys = multi_lock(c, 1, c->argc - 1, &ls, stack);
        for (int i = 0; i < c->argc - 1; i++)
            deleted += do_ks_delete(c->db, &keys[i], now);
        multi_unlock(&ls, keys, stack);
    }
    reply_int(c, deleted);
}

void cmd_del(client *c) { del_generic(c); }
void cmd_unlink(client *c) { del_generic(c); }

/* EXISTS and TOUCH count every argument that names a live key, duplicates
 * included (EXISTS k k -> 2); TOUCH also resets the access clock. */
static void count_existing(client *c, bool touch) {
    int64_t now = client_now_ms(c);
    long long found = 0;

    if (c->argc == 2) {
        ks_key k = ks_key_make(c->argv[1].ptr, c->argv[1].len);
        ks_lock_key(&k);
        found = lookup_meta(c->db, &k, now, touch) != NULL;
        ks_unlock_key(&k);
    } else {
        ks_lockset ls;
        ks_key stack[KEYS_ON_STACK];
        ks_key *keys = multi_lock(c, 1, c->argc - 1, &ls, stack);
        for (int i = 0; i < c->argc - 1; i++)
            found += lookup_meta(c->db, &keys[i], now, touch) != NULL;
        multi_unlock(&ls, keys, stack);
    }
    reply_int(c, found);
}

void cmd_exists(client *c) { count_existing(c, false); }
void cmd_touch(client *c) { count_existing(c, true); }

static const char *type_name(enum ks_type t) {
    switch (t) {
    case KS_STRING: return "string";
    }
    return "none";
}

void cmd_type(client *c) {
    ks_key k = ks_key_make(c->argv[1].ptr, c->argv[1].len);
    const char *name = "none";
    ks_lock_key(&k);
    ks_entry *e = lookup_meta(c->db, &k, client_now_ms(c), false);
    if (e) name = type_name(ks_entry_type(e));
    ks_unlock_key(&k);
    reply_simple(c, name);
}

/* ------------------------------------------------------------------ */
/* KEYS SCAN RANDOMKEY                                                 */
/* ------------------------------------------------------------------ */

typedef struct keys_state {
    client *c;
    const char *pat;
    size_t plen;
    bool allkeys;
    long n;
} keys_state;

/* Replying from under the shard lock is only an append to the client's
 * output buffer; it saves copying every key twice. */
static void keys_visit(void *priv, const ks_entry *e) {
    keys_state *st = priv;
    size_t klen;
    const char *key = ks_entry_key(e, &klen);
    if (st->allkeys || util_glob_match(st->pat, st->plen, key, klen, false)) {
        reply_bulk(st->c, key, klen);
        st->n++;
    }
}

/* With an unbounded count every ks_scan call finishes whole shards under
 * their lock, so no key is reported twice even while the table rehashes. */
void cmd_keys(client *c) {
    keys_state st = {
        .c = c,
        .pat = c->argv[1].ptr,
        .plen = c->argv[1].len,
        .allkeys = c->argv[1].len == 1 && c->argv[1].ptr[0] == '*',
    };
    int64_t now = client_now_ms(c);
    size_t handle = reply_defer_len(c);
    uint64_t cursor = 0;
    do {
        cursor = ks_scan(c->db, cursor, ULONG_MAX, now, keys_visit, &st);
    } while (cursor != 0);
    reply_set_deferred_array(c, handle, st.n);
}

/* SCAN collects the keys of one call before replying because the cursor,
 * which comes first in the reply, is known only when ks_scan returns. */
typedef struct scan_state {
    const char *pat;
    size_t plen;
    bool use_pattern;
    const char *type;        /* TYPE filter or NULL */
    uint64_t typechecked;    /* keys Redis would look up for the filter */
    char *buf;               /* keys as (size_t len, bytes) records */
    size_t used, cap;
    long n;
} scan_state;

static void scan_visit(void *priv, const ks_entry *e) {
    scan_state *st = priv;
    size_t klen;
    const char *key = ks_entry_key(e, &klen);

    if (st->use_pattern && !util_glob_match(st->pat, st->plen, key, klen, false))
        return;
    if (st->type) {
        st->typechecked++;
        if (strcasecmp(st->type, type_name(ks_entry_type(e))) != 0) return;
    }
    size_t need = sizeof(size_t) + klen;
    if (st->used + need > st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 1024;
        while (cap < st->used + need) cap *= 2;
        st->buf = xrealloc(st->buf, cap);
        st->cap = cap;
    }
    memcpy(st->buf + st->used, &klen, sizeof(klen));
    memcpy(st->buf + st->used + sizeof(klen), key, klen);
    st->used += need;
    st->n++;
}

/* Redis parses the cursor with strtoul: a leading '-' or '+' and an empty
 * string are accepted, leading space and trailing bytes are not. */
static bool parse_cursor(const char *s, unsigned long *out) {
    char *end;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return !isspace((unsigned char)s[0]) && *end == '\0' && errno != ERANGE;
}

void cmd_scan(client *c) {
    unsigned long cursor;
    long long count = 10;
    scan_state st = {0};

    if (!parse_cursor(c->argv[1].ptr, &cursor)) {
        reply_error(c, "ERR invalid cursor");
        return;
    }
    for (int i = 2; i < c->argc;) {
        int left = c->argc - i;
        const char *opt = c->argv[i].ptr;
        if (!strcasecmp(opt, "count") && left >= 2) {
            if (!arg_ll(c, i + 1, &count, NULL)) return;
            if (count < 1) {
                reply_error(c, ERR_SYNTAX);
                return;
            }
        } else if (!strcasecmp(opt, "match") && left >= 2) {
            st.pat = c->argv[i + 1].ptr;
            st.plen = c->argv[i + 1].len;
            st.use_pattern = !(st.plen == 1 && st.pat[0] == '*');
        } else if (!strcasecmp(opt, "type") && left >= 2) {
            /* An unknown type name filters out every key (Redis 7.0). */
            st.type = c->argv[i + 1].ptr;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        i += 2;
    }

    uint64_t next = ks_scan(c->db, cursor, (unsigned long)count,
                            client_now_ms(c), scan_visit, &st);
    /* Redis looks each candidate up to learn its type: count those hits. */
    for (uint64_t i = 0; i < st.typechecked; i++) ks_stat_hit(true);

    char num[24];
    int nlen = snprintf(num, sizeof(num), "%llu", (unsigned long long)next);
    reply_array(c, 2);
    reply_bulk(c, num, (size_t)nlen);
    reply_array(c, st.n);
    for (size_t off = 0; off < st.used;) {
        size_t klen;
        memcpy(&klen, st.buf + off, sizeof(klen));
        reply_bulk(c, st.buf + off + sizeof(klen), klen);
        off += sizeof(klen) + klen;
    }
    free(st.buf);
}

void cmd_randomkey(client *c) {
    char *key;
    size_t len;
    if (!ks_random_key(c->db, client_now_ms(c), &key, &len)) {
        reply_null(c);
        return;
    }
    reply_bulk(c, key, len);
    free(key);
}

/* ------------------------------------------------------------------ */
/* RENAME RENAMENX COPY MOVE SWAPDB                                    */
/* ------------------------------------------------------------------ */

/* Writes the value of src (valid under the lock) to dst in db, keeping the
 * encoding Redis would keep and the expiry. RENAME moves Redis's object
 * (a shared small integer stays shared); COPY duplicates it (`dup`), and a
 * duplicate is never shared. The keyspace contract keeps src's value
 * pointer valid while another key is written, so no copy is made. */
static void copy_entry(int db, const ks_key *dst, const ks_entry *src, bool dup) {
    size_t vlen;
    const char *val = ks_entry_val(src, &vlen);
    unsigned flags = ks_entry_set_flags(src) | (dup ? KS_UNSHARED : 0);
    do_ks_set(db, dst, val, vlen, ks_entry_expire(src), flags);
}

/* RENAME and RENAMENX. A key renamed to itself is left alone, but a missing
 * source is still an error. The value keeps its TTL. */
static void rename_generic(client *c, bool nx) {
    int64_t now = client_now_ms(c);
    bool samekey = same_bytes(&c->argv[1], &c->argv[2]);
    ks_lockset ls;
    ks_key stack[KEYS_ON_STACK];
    ks_key *keys = multi_lock(c, 1, 2, &ls, stack);
    const ks_key *src = &keys[0], *dst = &keys[1];

    ks_entry *e = lookup_write(c->db, src, now);
    if (!e) {
        multi_unlock(&ls, keys, stack);
        reply_error(c, ERR_NO_SUCH_KEY);
        return;
    }
    if (samekey) {
        multi_unlock(&ls, keys, stack);
        if (nx) reply_int(c, 0); else reply_ok(c);
        return;
    }
    if (nx && lookup_write_meta(c->db, dst, now)) {
        multi_unlock(&ls, keys, stack);
        reply_int(c, 0);
        return;
    }
    copy_entry(c->db, dst, e, false);
    do_ks_delete(c->db, src, now);
    multi_unlock(&ls, keys, stack);
    if (nx) reply_int(c, 1); else reply_ok(c);
}

void cmd_rename(client *c) { rename_generic(c, false); }
void cmd_renamenx(client *c) { rename_generic(c, true); }

/* COPY source destination [DB destination-db] [REPLACE] */
void cmd_copy(client *c) {
    int dstdb = c->db;
    bool replace = false;

    for (int j = 3; j < c->argc; j++) {
        int additional = c->argc - j - 1;
        const char *opt = c->argv[j].ptr;
        if (!strcasecmp(opt, "replace")) {
            replace = true;
        } else if (!strcasecmp(opt, "db") && additional >= 1) {
            if (!arg_int(c, j + 1, &dstdb, NULL)) return;
            if (!db_in_range(dstdb)) {
                reply_error(c, ERR_DB_RANGE);
                return;
            }
            j++;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    if (dstdb == c->db && same_bytes(&c->argv[1], &c->argv[2])) {
        reply_error(c, ERR_SAME_OBJECT);
        return;
    }

    int64_t now = client_now_ms(c);
    ks_lockset ls;
    ks_key stack[KEYS_ON_STACK];
    ks_key *keys = multi_lock(c, 1, 2, &ls, stack);
    const ks_key *src = &keys[0], *dst = &keys[1];

    long long copied = 0;
    ks_entry *e = lookup_read(c->db, src, now, true);
    if (e && (replace || !lookup_write_meta(dstdb, dst, now))) {
        copy_entry(dstdb, dst, e, true);
        copied = 1;
    }
    multi_unlock(&ls, keys, stack);
    reply_int(c, copied);
}

/* MOVE key db: every db of a key lives in the key's shard, so one lock
 * covers both sides. */
void cmd_move(client *c) {
    int dstdb;
    if (!arg_int(c, 2, &dstdb, NULL)) return;
    if (!db_in_range(dstdb)) {
        reply_error(c, ERR_DB_RANGE);
        return;
    }
    if (dstdb == c->db) {
        reply_error(c, ERR_SAME_OBJECT);
        return;
    }
    int64_t now = client_now_ms(c);
    ks_key k = ks_key_make(c->argv[1].ptr, c->argv[1].len);
    ks_lock_key(&k);
    /* Redis's lookupKeyWrite of the source resets its clock, moved or not. */
    int rc = lookup_write(c->db, &k, now) ? do_ks_move(c->db, dstdb, &k, now) : -1;
    ks_unlock_key(&k);
    reply_int(c, rc == 0);
}

void cmd_swapdb(client *c) {
    int a, b;
    if (!arg_int(c, 1, &a, "ERR invalid first DB index")) return;
    if (!arg_int(c, 2, &b, "ERR invalid second DB index")) return;
    if (!db_in_range(a) || !db_in_range(b)) {
        reply_error(c, ERR_DB_RANGE);
        return;
    }
    if (a != b) ks_swapdb(a, b);
    reply_ok(c);
}

/* ------------------------------------------------------------------ */
/* DBSIZE FLUSHDB FLUSHALL                                             */
/* ------------------------------------------------------------------ */

void cmd_dbsize(client *c) {
    reply_int(c, (long long)ks_dbsize(c->db));
}

/* [ASYNC|SYNC] as the only argument. Both free synchronously for now. */
static bool flush_args_ok(client *c) {
    if (c->argc == 1) return true;
    if (c->argc == 2 && (!strcasecmp(c->argv[1].ptr, "sync") ||
                         !strcasecmp(c->argv[1].ptr, "async")))
        return true;
    reply_error(c, ERR_SYNTAX);
    return false;
}

void cmd_flushdb(client *c) {
    if (!flush_args_ok(c)) return;
    ks_flushdb(c->db);
    reply_ok(c);
}

void cmd_flushall(client *c) {
    if (!flush_args_ok(c)) return;
    ks_flushall();
    reply_ok(c);
}

/* ------------------------------------------------------------------ */
/* EXPIRE PEXPIRE EXPIREAT PEXPIREAT PERSIST                           */
/* ------------------------------------------------------------------ */

enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

/* The NX/XX/GT/LT options after the time, checked before the time itself. */
static bool parse_expire_flags(client *c, int *flags) {
    *flags = 0;
    for (int j = 3; j < c->argc; j++) {
        const char *opt = c->argv[j].ptr;
        if (!strcasecmp(opt, "nx")) {
            *flags |= EXP_NX;
        } else if (!strcasecmp(opt, "xx")) {
            *flags |= EXP_XX;
        } else if (!strcasecmp(opt, "gt")) {
            *flags |= EXP_GT;
        } else if (!strcasecmp(opt, "lt")) {
            *flags |= EXP_LT;
        } else {
            /* Not reply_errorf: its buffer would cut a long option. */
            static const char pre[] = "ERR Unsupported option ";
            size_t olen = strlen(opt);
            char *msg = xmalloc(sizeof(pre) + olen);
            memcpy(msg, pre, sizeof(pre) - 1);
            memcpy(msg + sizeof(pre) - 1, opt, olen + 1);
            reply_error(c, msg);
            free(msg);
            return false;
        }
    }
    if ((*flags & EXP_NX) && (*flags & (EXP_XX | EXP_GT | EXP_LT))) {
        reply_error(c, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return false;
    }
    if ((*flags & EXP_GT) && (*flags & EXP_LT)) {
        reply_error(c, "ERR GT and LT options at the same time are not compatible");
        return false;
    }
    return true;
}

/* Redis's expireGenericCommand. `relative`: the time counts from now;
 * `seconds`: the unit is seconds. A time already past deletes the key and
 * still answers 1. A key without TTL counts as an infinite TTL for GT/LT. */
static void expire_generic(client *c, bool relative, bool seconds,
                           const char *name) {
    int flags;
    long long when;
    int64_t now = client_now_ms(c);
    long long base = relative ? now : 0;

    if (!parse_expire_flags(c, &flags)) return;
    if (!arg_ll(c, 2, &when, NULL)) return;
    if (seconds && (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000)) {
        reply_errorf(c, "ERR invalid expire time in '%s' command", name);
        return;
    }
    if (seconds) when *= 1000;
    if (when > LLONG_MAX - base) {
        reply_errorf(c, "ERR invalid expire time in '%s' command", name);
        return;
    }
    when += base;

    ks_key k = ks_key_make(c->argv[1].ptr, c->argv[1].len);
    ks_lock_key(&k);
    long long ok = 0;
    ks_entry *e = lookup_write_meta(c->db, &k, now);
    if (!e) goto done;
    if (flags) {
        int64_t cur = ks_entry_expire(e);
        if ((flags & EXP_NX) && cur != KS_NO_EXPIRE) goto done;
        if ((flags & EXP_XX) && cur == KS_NO_EXPIRE) goto done;
        if ((flags & EXP_GT) && (cur == KS_NO_EXPIRE || when <= cur)) goto done;
        if ((flags & EXP_LT) && cur != KS_NO_EXPIRE && when >= cur) goto done;
    }
    if (when <= now)
        do_ks_delete(c->db, &k, now);
    else
        do_ks_set_expire(c->db, &k, when);
    ok = 1;
done:
    ks_unlock_key(&k);
    reply_int(c, ok);
}

void cmd_expire(client *c)    { expire_generic(c, true, true, "expire"); }
void cmd_pexpire(client *c)   { expire_generic(c, true, false, "pexpire"); }
void cmd_expireat(client *c)  { expire_generic(c, false, true, "expireat"); }
void cmd_pexpireat(client *c) { expire_generic(c, false, false, "pexpireat"); }

void cmd_persist(client *c) {
    ks_key k = ks_key_make(c->argv[1].ptr, c->argv[1].len);
    long long removed = 0;
    ks_lock_key(&k);
    ks_entry *e = lookup_write_meta(c->db, &k, client_now_ms(c));
    if (e && ks_entry_expire(e) != KS_NO_EXPIRE)
        removed = do_ks_set_expire(c->db, &k, KS_NO_EXPIRE);
    ks_unlock_key(&k);
    reply_int(c, removed);
}

/* ------------------------------------------------------------------ */
/* TTL PTTL EXPIRETIME PEXPIRETIME                                     */
/* ------------------------------------------------------------------ */

/* -2 for a missing key, -1 for no expiry; seconds are rounded to nearest
 * ((ms+500)/1000), for the absolute time too, as Redis does. */
static void ttl_generic(client *c, bool ms, bool absolute) {
    int64_t now = client_now_ms(c);
    ks_key k = ks_key_make(c->argv[1].ptr, c->argv[1].len);
    ks_lock_key(&k);
    ks_entry *e = lookup_meta(c->db, &k, now, false);
    int64_t expire = e ? ks_entry_expire(e) : KS_NO_EXPIRE;
    ks_unlock_key(&k);

    if (!e) {
        reply_int(c, -2);
        return;
    }
    if (expire == KS_NO_EXPIRE) {
        reply_int(c, -1);
        return;
    }
    long long ttl = absolute ? expire : expire - now;
    if (ttl < 0) ttl = 0;
    /* Unsigned: an expiry near LLONG_MAX must not overflow the rounding. */
    reply_int(c, ms ? ttl : (long long)(((unsigned long long)ttl + 500) / 1000));
}

void cmd_ttl(client *c)         { ttl_generic(c, false, false); }
void cmd_pttl(client *c)        { ttl_generic(c, true, false); }
void cmd_expiretime(client *c)  { ttl_generic(c, false, true); }
void cmd_pexpiretime(client *c) { ttl_generic(c, true, true); }

/* ------------------------------------------------------------------ */
/* OBJECT                                                              */
/* ------------------------------------------------------------------ */

enum object_field { OBJ_ENCODING, OBJ_REFCOUNT, OBJ_IDLETIME, OBJ_FREQ };

static const char *encoding_name(enum ks_encoding enc) {
    switch (enc) {
    case KS_ENC_INT: return "int";
    case KS_ENC_EMBSTR: return "embstr";
    case KS_ENC_RAW: return "raw";
    }
    return "unknown";
}

/* Redis shares the objects for 0..9999 unless an LRU/LFU maxmemory policy
 * needs a clock per value (MAXMEMORY_FLAG_NO_SHARED_INTEGERS). */
static long long refcount_of(const ks_entry *e) {
    if (ks_entry_encoding(e) != KS_ENC_INT || (ks_entry_set_flags(e) & KS_UNSHARED)) return 1;
    if (cfg.maxmemory != 0) {
        switch (cfg.maxmemory_policy) {
        case MM_ALLKEYS_LRU: case MM_VOLATILE_LRU:
        case MM_ALLKEYS_LFU: case MM_VOLATILE_LFU:
            return 1;
        default:
            break;
        }
    }
    size_t vlen;
    const char *v = ks_entry_val(e, &vlen);
    long long n;
    if (util_str2ll(v, vlen, &n) && n >= 0 && n < SHARED_INTEGERS)
        return SHARED_REFCOUNT;
    return 1;
}

/* The key is looked up first: a missing key answers null even where the
 * policy makes the field unavailable. */
static void object_generic(client *c, enum object_field field) {
    ks_key k = ks_key_make(c->argv[2].ptr, c->argv[2].len);
    const char *enc = NULL;
    long long n = 0;

    ks_lock_key(&k);
    /* ENCODING and REFCOUNT derive from the value; the clock fields not. */
    bool meta = field == OBJ_IDLETIME || field == OBJ_FREQ;
    ks_entry *e = meta ? lookup_meta(c->db, &k, client_now_ms(c), false)
                       : lookup_read(c->db, &k, client_now_ms(c), false);
    if (e) {
        switch (field) {
        case OBJ_ENCODING: enc = encoding_name(ks_entry_encoding(e)); break;
        case OBJ_REFCOUNT: n = refcount_of(e); break;
        case OBJ_IDLETIME: n = ks_entry_idle_seconds(e); break;
        case OBJ_FREQ: n = ks_entry_lfu(e); break;
        }
    }
    ks_unlock_key(&k);

    if (!e) {
        reply_null(c);
        return;
    }
    switch (field) {
    case OBJ_ENCODING:
        reply_bulk_cstr(c, enc);
        return;
    case OBJ_IDLETIME:
        if (lfu_policy()) {
            reply_error(c, "ERR An LFU maxmemory policy is selected, idle time not "
                           "tracked. Please note that when switching between "
                           "policies at runtime LRU and LFU data will take some "
                           "time to adjust.");
            return;
        }
        break;
    case OBJ_FREQ:
        if (!lfu_policy()) {
            reply_error(c, "ERR An LFU maxmemory policy is not selected, access "
                           "frequency not tracked. Please note that when switching "
                           "between policies at runtime LRU and LFU data will take "
                           "some time to adjust.");
            return;
        }
        break;
    case OBJ_REFCOUNT:
        break;
    }
    reply_int(c, n);
}

void cmd_object_encoding(client *c) { object_generic(c, OBJ_ENCODING); }
void cmd_object_refcount(client *c) { object_generic(c, OBJ_REFCOUNT); }
void cmd_object_idletime(client *c) { object_generic(c, OBJ_IDLETIME); }
void cmd_object_freq(client *c)     { object_generic(c, OBJ_FREQ); }

void cmd_object_help(client *c) {
    static const char *help[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
    };
    long n = (long)(sizeof(help) / sizeof(help[0]));
    reply_array(c, n);
    for (long i = 0; i < n; i++) reply_simple(c, help[i]);
}

/* The bytes Redis's RDB would give the string (rdbSavedObjectLen), without
 * LZF: a canonical integer that fits 8, 16 or 32 bits is a type byte plus
 * 1, 2 or 4 bytes; anything else a length prefix (1, 2, 5 or 9 bytes) and
 * the bytes. Redis compresses strings over 20 bytes when that saves
 * space, so for those its figure can be smaller. */
static size_t rdb_string_len(const char *v, size_t len) {
    long long n;
    char buf[32];
    if (len <= 11 && util_str2ll(v, len, &n) && (size_t)util_ll2str(buf, n) == len) {
        if (n >= -128 && n <= 127) return 2;
        if (n >= -32768 && n <= 32767) return 3;
        if (n >= INT32_MIN && n <= INT32_MAX) return 5;
    }
    size_t prefix = len < 64 ? 1 : len < 16384 ? 2 : len <= UINT32_MAX ? 5 : 9;
    return prefix + len;
}

void keys_debug_object(client *c) {
    ks_key k = ks_key_make(c->argv[2].ptr, c->argv[2].len);
    char line[256];
    ks_lock_key(&k);
    ks_entry *e = do_ks_find(c->db, &k, client_now_ms(c));
    if (e) {
        size_t vlen;
        const char *v = ks_entry_val(e, &vlen);
        snprintf(line, sizeof(line),
                 "Value at:%p refcount:%lld encoding:%s serializedlength:%zu lru:%u lru_seconds_idle:%u",
                 (void *)e, refcount_of(e), encoding_name(ks_entry_encoding(e)), rdb_string_len(v, vlen),
                 ks_entry_lru_clock(e), ks_entry_idle_seconds(e));
    }
    ks_unlock_key(&k);
    if (e) reply_simple(c, line);
    else reply_error(c, ERR_NO_SUCH_KEY);
}
