/* cmd_string.c: the string commands: GET/SET and their variants (SETNX,
 * SETEX, PSETEX, GETSET, GETDEL, GETEX), MGET/MSET/MSETNX, the INCR family,
 * APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE and LCS.
 *
 * Each handler follows Redis 7.0's t_string.c step for step, because clients
 * and test suites observe not only results but which error wins when several
 * apply (option syntax before key lookup, type before value parsing, ...).
 *
 * Locking: a single-key command holds its key's shard lock from the first
 * lookup to the last write, so a read-modify-write (INCR, APPEND, SET GET)
 * is atomic. Multi-key commands lock every shard they name once, through a
 * ks_lockset. Values are copied into the reply (or into a private buffer,
 * for LCS) before the lock is dropped, since entry pointers die at unlock.
 *
 * Keyspace hits/misses are counted where Redis uses lookupKeyRead (GET and
 * the commands built on it, MGET, GETEX, STRLEN, GETRANGE, LCS) and not
 * where it uses lookupKeyWrite (SET NX/XX, INCR, APPEND, SETRANGE...).
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client.h"
#include "commands.h"
#include "config.h"
#include "keyspace.h"
#include "util.h"

/* Options of SET and GETEX, parsed by parse_ext_args. */
enum {
    OPT_NX      = 1 << 0,
    OPT_XX      = 1 << 1,
    OPT_GET     = 1 << 2,
    OPT_KEEPTTL = 1 << 3,
    OPT_PERSIST = 1 << 4,
    OPT_EX      = 1 << 5,
    OPT_PX      = 1 << 6,
    OPT_EXAT    = 1 << 7,
    OPT_PXAT    = 1 << 8,
};
#define OPT_ANY_EXPIRE (OPT_EX | OPT_PX | OPT_EXAT | OPT_PXAT)

/* Multi-key commands hash their keys into this; small commands (the common
 * case) stay off the heap. */
#define KEYVEC_STACK 16
typedef struct keyvec {
    ks_key *v;
    int n;
    ks_key stack[KEYVEC_STACK];
} keyvec;

static void keyvec_init(keyvec *kv, client *c, int first, int step,
                        ks_lockset *ls)
{
    int n = (c->argc - first + step - 1) / step;
    kv->n = n;
    kv->v = n <= KEYVEC_STACK ? kv->stack : xmalloc(sizeof(ks_key) * (size_t)n);
    ks_lockset_init(ls);
    for (int i = 0; i < n; i++) {
        const resp_arg *a = &c->argv[first + i * step];
        kv->v[i] = ks_key_make(a->ptr, a->len);
        ks_lockset_add(ls, &kv->v[i]);
    }
}

static void keyvec_free(keyvec *kv)
{
    if (kv->v != kv->stack) free(kv->v);
}

static ks_key arg_key(const client *c, int i)
{
    return ks_key_make(c->argv[i].ptr, c->argv[i].len);
}

/* A lookup that reads the value: counts a hit or miss and refreshes the
 * access clock, as Redis's lookupKeyRead does. Caller holds the lock. */
static ks_entry *lookup_read(client *c, const ks_key *k, int64_t now)
{
    ks_entry *e = do_ks_find(c->db, k, now);
    ks_stat_hit(e != NULL);
    if (e) ks_entry_touch(e);
    return e;
}

/* A lookup before a write: refreshes the access clock but is no hit or
 * miss (lookupKeyWrite). Caller holds the lock. */
static ks_entry *lookup_write(client *c, const ks_key *k, int64_t now)
{
    ks_entry *e = do_ks_find(c->db, k, now);
    if (e) ks_entry_touch(e);
    return e;
}

/* lookup_write for callers that only ask whether the key exists (SET NX/XX
 * KEEPTTL, MSETNX): a spilled value stays on disk (docs/storage.md). */
static ks_entry *lookup_write_meta(client *c, const ks_key *k, int64_t now)
{
    ks_entry *e = do_ks_find_meta(c->db, k, now);
    if (e) ks_entry_touch(e);
    return e;
}

static void reply_entry(client *c, const ks_entry *e)
{
    size_t n;
    const char *p = ks_entry_val(e, &n);
    reply_bulk(c, p, n);
}

/* Redis's checkStringLength: the result of APPEND/SETRANGE may not exceed
 * proto-max-bulk-len; the sum is checked for wrap-around too, since offset
 * can be as large as LLONG_MAX. */
static bool check_string_length(client *c, long long size, long long append)
{
    long long total = (long long)((uint64_t)size + (uint64_t)append);
    if (total > cfg.proto_max_bulk_len || total < size || total < append) {
        reply_error(c, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return false;
    }
    return true;
}

/* ---- GET / SET family ------------------------------------------------- */

/* Redis compares option words as C strings, so an argument with an
 * embedded NUL matches on its prefix; we do the same to stay identical. */
static bool word_is(const client *c, int i, const char *w)
{
    return strcasecmp(c->argv[i].ptr, w) == 0;
}

/* EX/PX/EXAT/PXAT as their OPT_ flag, 0 for any other word. */
static unsigned expire_word(const client *c, int i)
{
    if (word_is(c, i, "ex")) return OPT_EX;
    if (word_is(c, i, "px")) return OPT_PX;
    if (word_is(c, i, "exat")) return OPT_EXAT;
    if (word_is(c, i, "pxat")) return OPT_PXAT;
    return 0;
}

/* Parse SET's options (from argv[3]) or GETEX's (from argv[2]) with the
 * exact acceptance rules of Redis's parseExtendedStringArgumentsOrReply:
 * repeating an option is allowed, combining conflicting ones is a syntax
 * error, and an expire option as the last word is a syntax error.
 * *exp_i gets the argv index of the expire value (0 if none). */
static bool parse_ext_args(client *c, bool is_set, unsigned *flags, int *exp_i)
{
    unsigned f = 0;
    *exp_i = 0;
    for (int j = is_set ? 3 : 2; j < c->argc; j++) {
        bool next = j < c->argc - 1;
        unsigned ex;

        if (is_set && word_is(c, j, "nx") && !(f & OPT_XX)) {
            f |= OPT_NX;
        } else if (is_set && word_is(c, j, "xx") && !(f & OPT_NX)) {
            f |= OPT_XX;
        } else if (is_set && word_is(c, j, "get")) {
            f |= OPT_GET;
        } else if (is_set && word_is(c, j, "keepttl") &&
                   !(f & (OPT_PERSIST | OPT_ANY_EXPIRE))) {
            f |= OPT_KEEPTTL;
        } else if (!is_set && word_is(c, j, "persist") &&
                   !(f & (OPT_KEEPTTL | OPT_ANY_EXPIRE))) {
            f |= OPT_PERSIST;
        } else if ((ex = expire_word(c, j)) != 0) {
            /* The same expire option twice is fine (the last wins); two
             * different ones, or one with KEEPTTL/PERSIST, are not. */
            if (!next || (f & (OPT_KEEPTTL | OPT_PERSIST |
                               (OPT_ANY_EXPIRE & ~ex)))) {
                reply_error(c, ERR_SYNTAX);
                return false;
            }
            f |= ex;
            *exp_i = ++j;
        } else {
            reply_error(c, ERR_SYNTAX);
            return false;
        }
    }
    *flags = f;
    return true;
}

/* Turn the expire argument into an absolute unix time in ms, as Redis's
 * getExpireMillisecondsOrReply: the value must be a positive integer, and
 * neither the seconds-to-ms conversion nor adding "now" may overflow. */
static bool expire_to_abs_ms(client *c, int i, unsigned flags, int64_t now,
                             const char *cmdname, long long *when)
{
    long long v;
    if (!arg_ll(c, i, &v, NULL)) return false;
    bool secs = flags & (OPT_EX | OPT_EXAT);
    if (v <= 0 || (secs && v > LLONG_MAX / 1000)) goto invalid;
    if (secs) v *= 1000;
    if (flags & (OPT_EX | OPT_PX)) {
        if (v > LLONG_MAX - now) goto invalid;
        v += now;
    }
    *when = v;
    return true;
invalid:
    reply_errorf(c, "ERR invalid expire time in '%s' command", cmdname);
    return false;
}

/* GET's body, shared by GETDEL and SET ... GET (so GETSET). Caller holds the
 * key's lock. Replies nil or the value and returns 0 (absent) or 1
 * (present); on a non-string replies WRONGTYPE and returns -1. */
static int get_generic(client *c, const ks_key *k, int64_t now)
{
    ks_entry *e = lookup_read(c, k, now);
    if (!e) {
        reply_null(c);
        return 0;
    }
    if (ks_entry_type(e) != KS_STRING) {
        reply_error(c, ERR_WRONGTYPE);
        return -1;
    }
    reply_entry(c, e);
    return 1;
}

/* The body of SET, SETNX, SETEX, PSETEX and GETSET (Redis's
 * setGenericCommand). exp_i is the argv index of the expire value or 0.
 * SETNX answers :1/:0 (int_reply), the others +OK/nil. With GET the reply is the old value
 * whether or not the write happens (NX+GET is legal since 7.0). */
static void set_generic(client *c, unsigned flags, int exp_i,
                        const char *cmdname, int val_i, bool int_reply)
{
    int64_t now = client_now_ms(c);
    long long when = KS_NO_EXPIRE;
    if (exp_i && !expire_to_abs_ms(c, exp_i, flags, now, cmdname, &when))
        return;

    ks_key k = arg_key(c, 1);
    ks_lock_key(&k);
    if ((flags & OPT_GET) && get_generic(c, &k, now) < 0) goto out;
    /* KEEPTTL must not keep the TTL of a key that already expired: look
     * it up first so lazy expiry removes it. */
    if ((flags & OPT_KEEPTTL) && !(flags & (OPT_NX | OPT_XX))) lookup_write_meta(c, &k, now);
    if (flags & (OPT_NX | OPT_XX)) {
        bool found = lookup_write_meta(c, &k, now) != NULL;
        if (((flags & OPT_NX) && found) || ((flags & OPT_XX) && !found)) {
            if (!(flags & OPT_GET)) {
                if (int_reply) reply_int(c, 0);
                else reply_null(c);
            }
            goto out;
        }
    }
    /* An EXAT/PXAT already in the past is stored as given, as Redis does:
     * the key then expires on its next access or active-expire pass. */
    do_ks_set(c->db, &k, c->argv[val_i].ptr, c->argv[val_i].len, when,
              (flags & OPT_KEEPTTL) ? KS_KEEPTTL : 0);
    if (!(flags & OPT_GET)) {
        if (int_reply) reply_int(c, 1);
        else reply_ok(c);
    }
out:
    ks_unlock_key(&k);
}

void cmd_get(client *c)
{
    ks_key k = arg_key(c, 1);
    ks_lock_key(&k);
    get_generic(c, &k, client_now_ms(c));
    ks_unlock_key(&k);
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL] */
void cmd_set(client *c)
{
    unsigned flags;
    int exp_i;
    if (!parse_ext_args(c, true, &flags, &exp_i)) return;
    set_generic(c, flags, exp_i, "set", 2, false);
}

void cmd_setnx(client *c)
{
    set_generic(c, OPT_NX, 0, "setnx", 2, true);
}

/* SETEX key seconds value */
void cmd_setex(client *c)
{
    set_generic(c, OPT_EX, 2, "setex", 3, false);
}

/* PSETEX key milliseconds value */
void cmd_psetex(client *c)
{
    set_generic(c, OPT_PX, 2, "psetex", 3, false);
}

/* GETSET is SET key value GET: the old value back, the new one without
 * a TTL. */
void cmd_getset(client *c)
{
    set_generic(c, OPT_GET, 0, "getset", 2, false);
}

void cmd_getdel(client *c)
{
    int64_t now = client_now_ms(c);
    ks_key k = arg_key(c, 1);
    ks_lock_key(&k);
    if (get_generic(c, &k, now) > 0) do_ks_delete(c->db, &k, now);
    ks_unlock_key(&k);
}

/* GETEX key [EX s|PX ms|EXAT ts|PXAT ms-ts|PERSIST]. Redis checks the
 * option syntax first, then the key (a missing key answers nil even when
 * the expire value is invalid), then the expire value. */
void cmd_getex(client *c)
{
    unsigned flags;
    int exp_i;
    if (!parse_ext_args(c, false, &flags, &exp_i)) return;

    int64_t now = client_now_ms(c);
    ks_key k = arg_key(c, 1);
    ks_lock_key(&k);
    ks_entry *e = lookup_read(c, &k, now);
    long long when = KS_NO_EXPIRE;
    if (!e) {
        reply_null(c);
    } else if (ks_entry_type(e) != KS_STRING) {
        reply_error(c, ERR_WRONGTYPE);
    } else if (!exp_i || expire_to_abs_ms(c, exp_i, flags, now, "getex", &when)) {
        reply_entry(c, e);
        /* An absolute time already past deletes the key now (Redis's
         * checkAlreadyExpired); relative ones are always in the future. */
        if ((flags & (OPT_EXAT | OPT_PXAT)) && when <= now)
            do_ks_delete(c->db, &k, now);
        else if (exp_i)
            do_ks_set_expire(c->db, &k, when);
        else if ((flags & OPT_PERSIST) && ks_entry_expire(e) != KS_NO_EXPIRE)
            do_ks_set_expire(c->db, &k, KS_NO_EXPIRE);   /* no TTL: no change (WATCH) */
    }
    ks_unlock_key(&k);
}

/* ---- multi-key -------------------------------------------------------- */

/* MGET: a missing key or a non-string both answer nil. */
void cmd_mget(client *c)
{
    int64_t now = client_now_ms(c);
    ks_lockset ls;
    keyvec kv;
    keyvec_init(&kv, c, 1, 1, &ls);
    ks_lockset_lock(&ls);
    reply_array(c, kv.n);
    for (int i = 0; i < kv.n; i++) {
        ks_entry *e = lookup_read(c, &kv.v[i], now);
        if (e && ks_entry_type(e) == KS_STRING) reply_entry(c, e);
        else reply_null(c);
    }
    ks_lockset_unlock(&ls);
    keyvec_free(&kv);
}

/* MSET and MSETNX. MSETNX sets nothing if any key exists; a key named
 * twice takes its last value either way. */
static void mset_generic(client *c, bool nx)
{
    if (c->argc % 2 == 0) {
        reply_errorf(c, "ERR wrong number of arguments for '%s' command",
                     nx ? "msetnx" : "mset");
        return;
    }
    int64_t now = client_now_ms(c);
    ks_lockset ls;
    keyvec kv;
    keyvec_init(&kv, c, 1, 2, &ls);
    ks_lockset_lock(&ls);
    if (nx) {
        for (int i = 0; i < kv.n; i++) {
            if (lookup_write_meta(c, &kv.v[i], now)) {
                reply_int(c, 0);
                goto out;
            }
        }
    }
    for (int i = 0; i < kv.n; i++) {
        const resp_arg *v = &c->argv[2 + 2 * i];
        do_ks_set(c->db, &kv.v[i], v->ptr, v->len, KS_NO_EXPIRE, 0);
    }
    if (nx) reply_int(c, 1);
    else reply_ok(c);
out:
    ks_lockset_unlock(&ls);
    keyvec_free(&kv);
}

void cmd_mset(client *c)
{
    mset_generic(c, false);
}

void cmd_msetnx(client *c)
{
    mset_generic(c, true);
}

/* ---- counters --------------------------------------------------------- */

/* The current value of a counter key for a write: 1 with *p and *n set, 0 if
 * absent, -1 after replying WRONGTYPE. Caller holds the key's lock. */
static int counter_value(client *c, const ks_key *k, int64_t now, const char **p, size_t *n)
{
    ks_entry *e = lookup_write(c, k, now);
    if (!e) return 0;
    if (ks_entry_type(e) != KS_STRING) {
        reply_error(c, ERR_WRONGTYPE);
        return -1;
    }
    *p = ks_entry_val(e, n);
    return 1;
}

/* INCR/DECR/INCRBY/DECRBY: the value must be a strict 64-bit decimal; the
 * result is stored as its decimal text and the TTL is kept. */
static void incr_generic(client *c, long long incr)
{
    int64_t now = client_now_ms(c);
    ks_key k = arg_key(c, 1);
    ks_lock_key(&k);
    const char *p;
    size_t n;
    long long v = 0;
    int found = counter_value(c, &k, now, &p, &n);
    if (found < 0) goto out;
    if (found && !util_str2ll(p, n, &v)) {
        reply_error(c, ERR_NOT_INT);
        goto out;
    }
    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
        (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
        reply_error(c, ERR_OVERFLOW);
        goto out;
    }
    v += incr;
    char buf[32];
    int len = util_ll2str(buf, v);
    do_ks_set(c->db, &k, buf, (size_t)len, KS_NO_EXPIRE, KS_KEEPTTL);
    reply_int(c, v);
out:
    ks_unlock_key(&k);
}

void cmd_incr(client *c)
{
    incr_generic(c, 1);
}

void cmd_decr(client *c)
{
    incr_generic(c, -1);
}

void cmd_incrby(client *c)
{
    long long incr;
    if (!arg_ll(c, 2, &incr, NULL)) return;
    incr_generic(c, incr);
}

void cmd_decrby(client *c)
{
    long long incr;
    if (!arg_ll(c, 2, &incr, NULL)) return;
    /* -LLONG_MIN does not exist. */
    if (incr == LLONG_MIN) {
        reply_error(c, "ERR decrement would overflow");
        return;
    }
    incr_generic(c, -incr);
}

/* INCRBYFLOAT: long double arithmetic; the result is stored in the same
 * text it is replied with (ld2string's human form), keeping the TTL. The
 * stored value is checked before the increment, as Redis does. */
void cmd_incrbyfloat(client *c)
{
    int64_t now = client_now_ms(c);
    ks_key k = arg_key(c, 1);
    ks_lock_key(&k);
    const char *p;
    size_t n;
    long double v = 0, incr;
    int found = counter_value(c, &k, now, &p, &n);
    if (found < 0) goto out;
    if (found && !util_str2ld(p, n, &v)) {
        reply_error(c, ERR_NOT_FLOAT);
        goto out;
    }
    if (!arg_ld(c, 2, &incr, NULL)) goto out;
    v += incr;
    if (isnan(v) || isinf(v)) {
        reply_error(c, "ERR increment would produce NaN or Infinity");
        goto out;
    }
    /* The widest long double prints in under 5000 characters. */
    char buf[5 * 1024 + 64];
    int len = util_ld2str(buf, sizeof(buf), v);
    do_ks_set(c->db, &k, buf, (size_t)len, KS_NO_EXPIRE, KS_KEEPTTL | KS_NOINT);
    reply_bulk(c, buf, (size_t)len);
out:
    ks_unlock_key(&k);
}

/* ---- in-place edits and ranges ---------------------------------------- */

/* APPEND grows the value in place (do_ks_write_at), so repeated appends are
 * amortized O(1) instead of copying the whole value each time. */
void cmd_append(client *c)
{
    int64_t now = client_now_ms(c);
    const resp_arg *a = &c->argv[2];
    ks_key k = arg_key(c, 1);
    ks_lock_key(&k);
    ks_entry *e = lookup_write(c, &k, now);
    size_t total;
    if (!e) {
        do_ks_set(c->db, &k, a->ptr, a->len, KS_NO_EXPIRE, 0);
        total = a->len;
    } else {
        if (ks_entry_type(e) != KS_STRING) {
            reply_error(c, ERR_WRONGTYPE);
            goto out;
        }
        size_t olen;
        ks_entry_val(e, &olen);
        if (!check_string_length(c, (long long)olen, (long long)a->len))
            goto out;
        total = do_ks_write_at(c->db, &k, olen, a->ptr, a->len);
    }
    reply_int(c, (long long)total);
out:
    ks_unlock_key(&k);
}

void cmd_strlen(client *c)
{
    ks_key k = arg_key(c, 1);
    ks_lock_key(&k);
    ks_entry *e = lookup_read(c, &k, client_now_ms(c));
    if (!e) {
        reply_int(c, 0);
    } else if (ks_entry_type(e) != KS_STRING) {
        reply_error(c, ERR_WRONGTYPE);
    } else {
        size_t n;
        ks_entry_val(e, &n);
        reply_int(c, (long long)n);
    }
    ks_unlock_key(&k);
}

/* GETRANGE/SUBSTR: inclusive range, negative indexes count from the end,
 * out-of-range ends are clamped; a missing key reads as "". */
void cmd_getrange(client *c)
{
    long long start, end;
    if (!arg_ll(c, 2, &start, NULL) || !arg_ll(c, 3, &end, NULL)) return;

    ks_key k = arg_key(c, 1);
    ks_lock_key(&k);
    ks_entry *e = lookup_read(c, &k, client_now_ms(c));
    if (!e) {
        reply_bulk(c, "", 0);
        goto out;
    }
    if (ks_entry_type(e) != KS_STRING) {
        reply_error(c, ERR_WRONGTYPE);
        goto out;
    }
    size_t n;
    const char *p = ks_entry_val(e, &n);
    long long len = (long long)n;
    /* Both negative and reversed: empty, even after clamping would make
     * them meet at 0. */
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(c, "", 0);
        goto out;
    }
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (len == 0 || start > end) reply_bulk(c, "", 0);
    else reply_bulk(c, p + start, (size_t)(end - start + 1));
out:
    ks_unlock_key(&k);
}

void cmd_substr(client *c)
{
    cmd_getrange(c);
}

/* SETRANGE: overwrite at offset, zero-padding a gap. An empty value writes
 * nothing and creates nothing: it only reports the current length. */
void cmd_setrange(client *c)
{
    long long offset;
    if (!arg_ll(c, 2, &offset, NULL)) return;
    if (offset < 0) {
        reply_error(c, "ERR offset is out of range");
        return;
    }
    const resp_arg *v = &c->argv[3];
    int64_t now = client_now_ms(c);
    ks_key k = arg_key(c, 1);
    ks_lock_key(&k);
    ks_entry *e = lookup_write(c, &k, now);
    size_t olen = 0;
    if (!e) {
        if (v->len == 0) {
            reply_int(c, 0);
            goto out;
        }
        if (!check_string_length(c, offset, (long long)v->len)) goto out;
        /* Redis builds this value in place, so it is "raw" from birth. */
        do_ks_set(c->db, &k, "", 0, KS_NO_EXPIRE, KS_RAW);
    } else {
        if (ks_entry_type(e) != KS_STRING) {
            reply_error(c, ERR_WRONGTYPE);
            goto out;
        }
        ks_entry_val(e, &olen);
        if (v->len == 0) {
            reply_int(c, (long long)olen);
            goto out;
        }
        if (!check_string_length(c, offset, (long long)v->len)) goto out;
    }
    size_t newlen = do_ks_write_at(c->db, &k, (size_t)offset, v->ptr, v->len);
    reply_int(c, (long long)newlen);
out:
    ks_unlock_key(&k);
}

/* ---- LCS -------------------------------------------------------------- */

typedef struct lcs_range {
    uint32_t a0, a1, b0, b1;
} lcs_range;

/* The LCS length table, (alen+1) x (blen+1), row-major by a's index. */
#define LCS_AT(i, j) tab[(size_t)(j) + (size_t)(i) * ((size_t)blen + 1)]

/* Fill the table and walk it back from the end, producing the LCS string
 * (if out) and the matching ranges, last match first, as Redis emits them.
 * Returns the LCS length. */
static uint32_t lcs_compute(const char *a, uint32_t alen, const char *b,
                            uint32_t blen, uint32_t *tab, char *out,
                            lcs_range **ranges, size_t *nranges)
{
    for (uint32_t i = 0; i <= alen; i++) {
        for (uint32_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0) {
                LCS_AT(i, j) = 0;
            } else if (a[i - 1] == b[j - 1]) {
                LCS_AT(i, j) = LCS_AT(i - 1, j - 1) + 1;
            } else {
                uint32_t l1 = LCS_AT(i - 1, j), l2 = LCS_AT(i, j - 1);
                LCS_AT(i, j) = l1 > l2 ? l1 : l2;
            }
        }
    }
    uint32_t total = LCS_AT(alen, blen);
    if (!out) return total;

    size_t cap = 0, n = 0;
    lcs_range *rv = NULL;
    uint32_t idx = total;
    /* a0 == alen means "no range open". */
    uint32_t a0 = alen, a1 = 0, b0 = 0, b1 = 0;
    uint32_t i = alen, j = blen;
    while (i > 0 && j > 0) {
        bool emit = false;
        if (a[i - 1] == b[j - 1]) {
            out[idx - 1] = a[i - 1];
            if (a0 == alen) {
                a0 = a1 = i - 1;
                b0 = b1 = j - 1;
            } else if (a0 == i && b0 == j) {
                a0--;           /* contiguous: extend backwards */
                b0--;
            } else {
                emit = true;
            }
            if (a0 == 0 || b0 == 0) emit = true;
            idx--;
            i--;
            j--;
        } else {
            uint32_t l1 = LCS_AT(i - 1, j), l2 = LCS_AT(i, j - 1);
            if (l1 > l2) i--;
            else j--;
            if (a0 != alen) emit = true;
        }
        if (emit) {
            if (n == cap) {
                cap = cap ? cap * 2 : 16;
                rv = xrealloc(rv, cap * sizeof(*rv));
            }
            rv[n++] = (lcs_range){ a0, a1, b0, b1 };
            a0 = alen;
        }
    }
    *ranges = rv;
    *nranges = n;
    return total;
}
#undef LCS_AT

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]. Both values
 * are copied under the lock and the O(n*m) work runs after unlocking, so a
 * big LCS does not stall the shard; the result is that of one instant. */
void cmd_lcs(client *c)
{
    int64_t now = client_now_ms(c);
    ks_key k[2] = { arg_key(c, 1), arg_key(c, 2) };
    ks_lockset ls;
    ks_lockset_init(&ls);
    ks_lockset_add(&ls, &k[0]);
    ks_lockset_add(&ls, &k[1]);

    char *s[2] = { NULL, NULL };
    size_t len[2] = { 0, 0 };
    bool wrongtype = false;
    ks_lockset_lock(&ls);
    ks_entry *e[2];
    for (int i = 0; i < 2; i++) {
        e[i] = lookup_read(c, &k[i], now);
        if (e[i] && ks_entry_type(e[i]) != KS_STRING) wrongtype = true;
    }
    for (int i = 0; i < 2 && !wrongtype; i++)
        if (e[i]) ks_entry_val(e[i], &len[i]);
    /* Copy only what can be computed: a pair that is refused below is
     * refused on its lengths alone. */
    enum { LCS_OK, LCS_TOO_LONG, LCS_OVER_LIMIT, LCS_NO_ALLOC } fit = LCS_OK;
    unsigned long long cells = 0, bytes = 0;
    if (len[0] >= UINT32_MAX - 1 || len[1] >= UINT32_MAX - 1) {
        fit = LCS_TOO_LONG;
    } else {
        cells = (unsigned long long)(len[0] + 1) * (len[1] + 1);
        bytes = cells * sizeof(uint32_t);
        if (bytes >= SIZE_MAX || bytes / cells != sizeof(uint32_t))
            fit = LCS_NO_ALLOC;
        else if (bytes > (unsigned long long)cfg.proto_max_bulk_len)
            fit = LCS_OVER_LIMIT;
    }
    if (!wrongtype && fit == LCS_OK) {
        for (int i = 0; i < 2; i++) {
            s[i] = xmalloc(len[i] + 1);
            if (e[i]) memcpy(s[i], ks_entry_val(e[i], &len[i]), len[i]);
        }
    }
    ks_lockset_unlock(&ls);

    uint32_t *tab = NULL;
    char *out = NULL;
    lcs_range *ranges = NULL;
    size_t nranges = 0;

    if (wrongtype) {
        reply_error(c, "ERR The specified keys must contain string values");
        goto done;
    }
    bool getlen = false, getidx = false, withmatchlen = false;
    long long minmatchlen = 0;
    for (int j = 3; j < c->argc; j++) {
        bool more = j < c->argc - 1;
        if (word_is(c, j, "idx")) {
            getidx = true;
        } else if (word_is(c, j, "len")) {
            getlen = true;
        } else if (word_is(c, j, "withmatchlen")) {
            withmatchlen = true;
        } else if (word_is(c, j, "minmatchlen") && more) {
            if (!arg_ll(c, j + 1, &minmatchlen, NULL)) goto done;
            if (minmatchlen < 0) minmatchlen = 0;
            j++;
        } else {
            reply_error(c, ERR_SYNTAX);
            goto done;
        }
    }
    if (getlen && getidx) {
        reply_error(c, "ERR If you want both the length and indexes, please just use IDX.");
        goto done;
    }
    if (fit == LCS_TOO_LONG) {
        reply_error(c, "ERR String too long for LCS");
        goto done;
    }
    if (fit == LCS_OVER_LIMIT) {
        reply_error(c, "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        goto done;
    }
    /* Not xmalloc: a failed allocation is an error reply, not an abort. */
    if (fit == LCS_OK) tab = malloc((size_t)bytes);
    if (!tab) {
        reply_error(c, "ERR Insufficient memory, failed allocating transient memory for LCS");
        goto done;
    }

    uint32_t alen = (uint32_t)len[0], blen = (uint32_t)len[1];
    bool need_str = getidx || !getlen;
    if (need_str) out = xmalloc((size_t)(alen < blen ? alen : blen) + 1);
    uint32_t total = lcs_compute(s[0], alen, s[1], blen, tab,
                                 need_str ? out : NULL, &ranges, &nranges);
    if (getidx) {
        size_t shown = 0;
        for (size_t r = 0; r < nranges; r++)
            if (ranges[r].a1 - ranges[r].a0 + 1 >= (unsigned long long)minmatchlen)
                shown++;
        reply_map(c, 2);
        reply_bulk_cstr(c, "matches");
        reply_array(c, (long)shown);
        for (size_t r = 0; r < nranges; r++) {
            const lcs_range *rg = &ranges[r];
            uint32_t mlen = rg->a1 - rg->a0 + 1;
            if (mlen < (unsigned long long)minmatchlen) continue;
            reply_array(c, withmatchlen ? 3 : 2);
            reply_array(c, 2);
            reply_int(c, rg->a0);
            reply_int(c, rg->a1);
            reply_array(c, 2);
            reply_int(c, rg->b0);
            reply_int(c, rg->b1);
            if (withmatchlen) reply_int(c, mlen);
        }
        reply_bulk_cstr(c, "len");
        reply_int(c, total);
    } else if (getlen) {
        reply_int(c, total);
    } else {
        reply_bulk(c, out, total);
    }

done:
    free(ranges);
    free(out);
    free(tab);
    free(s[0]);
    free(s[1]);
}
