/* test_keyspace.c: unit tests of the sharded keyspace (src/keyspace.c):
 * entries and their varint layout, the in-place and reallocating update
 * paths, expiry (lazy and active), incremental rehash while growing to
 * 200,000 keys and shrinking back, SCAN's guarantee under concurrent
 * change, whole-db operations, and the locking contract under two threads.
 *
 * Every test starts from config_setup() + ks_setup(16 shards, 4 dbs) and
 * tears both down, so tests are independent. Times are passed explicitly
 * (NOW), never read from the clock, except for the time-boxed thread tests. */
#include "unit.h"

#include <limits.h>
#include <stdatomic.h>
#include "config.h"
#include "keyspace.h"
#include "util.h"

#define NOW 1700000000000LL   /* an arbitrary "current" unix ms */
#define NSHARDS 16
#define NDBS 4

static void fresh(void) {
    config_setup();
    ks_setup(NSHARDS, NDBS);
    ks_stat_reset();
}

static void done(void) {
    ks_teardown();
    config_teardown();
}

static ks_key key_of(const char *s) { return ks_key_make(s, strlen(s)); }

static void put(int db, const char *k, size_t klen, const char *v, size_t vlen, int64_t exp,
                unsigned flags) {
    ks_key key = ks_key_make(k, klen);
    ks_lock_key(&key);
    do_ks_set(db, &key, v, vlen, exp, flags);
    ks_unlock_key(&key);
}

static void puts_(int db, const char *k, const char *v) {
    put(db, k, strlen(k), v, strlen(v), KS_NO_EXPIRE, 0);
}

/* Copy the value out under the lock; returns false if absent. */
static bool get(int db, const char *k, size_t klen, int64_t now, char *out, size_t cap,
                size_t *vlen, int64_t *exp) {
    ks_key key = ks_key_make(k, klen);
    ks_lock_key(&key);
    ks_entry *e = do_ks_find(db, &key, now);
    if (e) {
        size_t kl, vl;
        const char *kp = ks_entry_key(e, &kl);
        const char *vp = ks_entry_val(e, &vl);
        if (kl != klen || memcmp(kp, k, klen) != 0) unit_fail(__FILE__, __LINE__, "wrong key");
        if (vlen) *vlen = vl;
        if (out) memcpy(out, vp, vl < cap ? vl : cap);
        if (exp) *exp = ks_entry_expire(e);
    }
    ks_unlock_key(&key);
    return e != NULL;
}

static bool has(int db, const char *k, int64_t now) {
    return get(db, k, strlen(k), now, NULL, 0, NULL, NULL);
}

static bool del(int db, const char *k, int64_t now) {
    ks_key key = key_of(k);
    ks_lock_key(&key);
    bool r = do_ks_delete(db, &key, now);
    ks_unlock_key(&key);
    return r;
}

/* Check key k holds exactly (v, vlen) and expiry exp. */
static bool check_val(const char *file, int line, int db, const char *k, size_t klen,
                      const char *v, size_t vlen, int64_t exp) {
    char *buf = xmalloc(vlen + 1);
    size_t got = 0;
    int64_t gexp = 0;
    bool ok = get(db, k, klen, NOW, buf, vlen + 1, &got, &gexp);
    char rk[300];
    unit_repr(rk, sizeof(rk), k, klen);
    if (!ok) unit_fail(file, line, "key %s missing", rk);
    else if (got != vlen) { unit_fail(file, line, "key %s: vlen %zu, want %zu", rk, got, vlen); ok = false; }
    else if (vlen && memcmp(buf, v, vlen) != 0) { unit_fail(file, line, "key %s: value differs", rk); ok = false; }
    else if (gexp != exp) { unit_fail(file, line, "key %s: expire %lld, want %lld", rk, (long long)gexp, (long long)exp); ok = false; }
    free(buf);
    return ok;
}
#define CHECK_VAL(db, k, klen, v, vlen, exp) check_val(__FILE__, __LINE__, db, k, klen, v, vlen, exp)

static void fill_pattern(char *p, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) p[i] = (char)((i * 31 + seed * 7 + (i >> 8)) & 0xff);
}

/* ---- basics --------------------------------------------------------------- */

TEST(ks_setup_shape) {
    fresh();
    CHECK_EQ(ks_nshards(), NSHARDS);
    CHECK_EQ(ks_ndbs(), NDBS);
    int per[NSHARDS] = {0};
    for (int i = 0; i < 16000; i++) {
        char k[32];
        snprintf(k, sizeof(k), "key:%d", i);
        ks_key key = key_of(k);
        unsigned s = ks_shard_of(&key);
        if (!CHECK(s < NSHARDS)) break;
        per[s]++;
        ks_key again = key_of(k);
        CHECK_EQ(again.hash, key.hash);
    }
    for (int s = 0; s < NSHARDS; s++) CHECK(per[s] > 700 && per[s] < 1300);  /* ~1000 each */
    for (int d = 0; d < NDBS; d++) CHECK_EQ(ks_dbsize(d), 0);
    done();
    /* A shard count that is not a power of two falls back to 64. */
    config_setup();
    ks_setup(10, 2);
    CHECK_EQ(ks_nshards(), 64);
    CHECK_EQ(ks_ndbs(), 2);
    ks_teardown();
    config_teardown();
}

TEST(ks_set_find_delete) {
    fresh();
    puts_(0, "a", "1");
    puts_(0, "b", "22");
    puts_(1, "a", "other db");
    CHECK_EQ(ks_dbsize(0), 2);
    CHECK_EQ(ks_dbsize(1), 1);
    CHECK_EQ(ks_dbsize(2), 0);
    CHECK_VAL(0, "a", 1, "1", 1, KS_NO_EXPIRE);
    CHECK_VAL(0, "b", 1, "22", 2, KS_NO_EXPIRE);
    CHECK_VAL(1, "a", 1, "other db", 8, KS_NO_EXPIRE);
    CHECK(!has(0, "c", NOW));
    CHECK(!has(2, "a", NOW));
    CHECK(del(0, "a", NOW));
    CHECK(!del(0, "a", NOW));
    CHECK(!has(0, "a", NOW));
    CHECK(has(1, "a", NOW));
    CHECK_EQ(ks_dbsize(0), 1);
    CHECK(!del(3, "nothing", NOW));
    /* The entry a set returns is the live one. */
    ks_key k = key_of("z");
    ks_lock_key(&k);
    ks_entry *e = do_ks_set(0, &k, "zz", 2, KS_NO_EXPIRE, 0);
    CHECK(e == do_ks_find(0, &k, NOW));
    CHECK_EQ(ks_entry_type(e), KS_STRING);
    ks_unlock_key(&k);
    done();
}

TEST(ks_binary_keys) {
    fresh();
    static const struct { const char *k; size_t klen; } keys[] = {
        {"", 0}, {"\0", 1}, {"\0\0", 2}, {"a\0b", 3}, {"a\0c", 3}, {"a", 1},
        {"\r\n", 2}, {"\xff\xfe", 2}, {"key with spaces", 15},
    };
    size_t n = sizeof(keys) / sizeof(keys[0]);
    for (size_t i = 0; i < n; i++) {
        char v[16];
        int vl = snprintf(v, sizeof(v), "v%zu", i);
        put(0, keys[i].k, keys[i].klen, v, (size_t)vl, KS_NO_EXPIRE, 0);
    }
    /* Long keys: key lengths across the 127/128 varint boundary. */
    static const size_t longs[] = {126, 127, 128, 129, 300, 16383, 16384, 70000};
    char *big = xmalloc(70000);
    for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
        fill_pattern(big, longs[i], 1);
        put(0, big, longs[i], (char *)&longs[i], sizeof(size_t), KS_NO_EXPIRE, 0);
    }
    CHECK_EQ(ks_dbsize(0), n + sizeof(longs) / sizeof(longs[0]));
    for (size_t i = 0; i < n; i++) {
        char v[16];
        int vl = snprintf(v, sizeof(v), "v%zu", i);
        CHECK_VAL(0, keys[i].k, keys[i].klen, v, (size_t)vl, KS_NO_EXPIRE);
    }
    for (size_t i = 0; i < sizeof(longs) / sizeof(longs[0]); i++) {
        fill_pattern(big, longs[i], 1);
        CHECK_VAL(0, big, longs[i], (char *)&longs[i], sizeof(size_t), KS_NO_EXPIRE);
    }
    /* Delete by binary key. */
    ks_key k = ks_key_make("a\0b", 3);
    ks_lock_key(&k);
    CHECK(do_ks_delete(0, &k, NOW));
    ks_unlock_key(&k);
    CHECK(!get(0, "a\0b", 3, NOW, NULL, 0, NULL, NULL));
    CHECK(get(0, "a\0c", 3, NOW, NULL, 0, NULL, NULL));
    CHECK(get(0, "a", 1, NOW, NULL, 0, NULL, NULL));
    free(big);
    done();
}

/* Overwrites of every size class, with and without expiry, so both the
 * in-place path (new entry fits an allocation not much bigger) and the
 * replace path run, and the vlen varint changes width in place. */
TEST(ks_overwrite_sizes) {
    fresh();
    static const size_t lens[] = {0, 1, 5, 15, 16, 17, 30, 40, 100, 126, 127, 128, 129, 130,
                                  255, 256, 300, 1000, 16382, 16383, 16384, 16385, 100000,
                                  50, 3, 0, 127, 128, 127, 16384, 16383, 7};
    size_t n = sizeof(lens) / sizeof(lens[0]);
    char *v = xmalloc(100000);
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < n; i++) {
            /* round 0: never an expiry; 1: always; 2, 3: alternating */
            bool with = round == 1 || (round >= 2 && (i + (size_t)round) % 2 == 0);
            int64_t exp = with ? NOW + 1000 + (int64_t)i : KS_NO_EXPIRE;
            fill_pattern(v, lens[i], (unsigned)(i + (size_t)round * 100));
            put(0, "k", 1, v, lens[i], exp, 0);
            if (!CHECK_VAL(0, "k", 1, v, lens[i], exp)) {
                fprintf(stderr, "  round %d, step %zu (len %zu)\n", round, i, lens[i]);
                break;
            }
            CHECK_EQ(ks_expires_count(0), with ? 1 : 0);
            CHECK_EQ(ks_dbsize(0), 1);
        }
    }
    /* Set a value from bytes that live inside the entry itself (a caller
     * copying a value onto its own key), both paths. */
    for (size_t i = 0; i < n; i++) {
        fill_pattern(v, lens[i], 9);
        put(0, "self", 4, v, lens[i], KS_NO_EXPIRE, 0);
        ks_key k = key_of("self");
        ks_lock_key(&k);
        ks_entry *e = do_ks_find(0, &k, NOW);
        size_t vl;
        const char *vp = ks_entry_val(e, &vl);
        size_t half = vl / 2;
        do_ks_set(0, &k, vp + half, vl - half, KS_NO_EXPIRE, 0);
        ks_unlock_key(&k);
        if (!CHECK_VAL(0, "self", 4, v + half, lens[i] - half, KS_NO_EXPIRE)) break;
    }
    free(v);
    done();
}

TEST(ks_keepttl) {
    fresh();
    put(0, "k", 1, "v", 1, NOW + 5000, 0);
    put(0, "k", 1, "v2", 2, KS_NO_EXPIRE, KS_KEEPTTL);
    CHECK_VAL(0, "k", 1, "v2", 2, NOW + 5000);
    /* KEEPTTL ignores the expire given. */
    put(0, "k", 1, "v3", 2, NOW + 9, KS_KEEPTTL);
    CHECK_VAL(0, "k", 1, "v3", 2, NOW + 5000);
    /* Through the reallocating path (much bigger value). */
    char big[5000];
    fill_pattern(big, sizeof(big), 3);
    put(0, "k", 1, big, sizeof(big), KS_NO_EXPIRE, KS_KEEPTTL);
    CHECK_VAL(0, "k", 1, big, sizeof(big), NOW + 5000);
    put(0, "k", 1, "s", 1, KS_NO_EXPIRE, KS_KEEPTTL);
    CHECK_VAL(0, "k", 1, "s", 1, NOW + 5000);
    CHECK_EQ(ks_expires_count(0), 1);
    /* Without KEEPTTL a plain set clears it. */
    put(0, "k", 1, "p", 1, KS_NO_EXPIRE, 0);
    CHECK_VAL(0, "k", 1, "p", 1, KS_NO_EXPIRE);
    CHECK_EQ(ks_expires_count(0), 0);
    /* On a new key KEEPTTL means no expiry. */
    put(0, "new", 3, "x", 1, NOW + 7, KS_KEEPTTL);
    CHECK_VAL(0, "new", 3, "x", 1, KS_NO_EXPIRE);
    CHECK_EQ(ks_expires_count(0), 0);
    done();
}

TEST(ks_encoding_and_clock) {
    fresh();
    static const struct { const char *v; enum ks_encoding enc; } cases[] = {
        {"123", KS_ENC_INT}, {"-9223372036854775808", KS_ENC_INT}, {"0", KS_ENC_INT},
        {"01", KS_ENC_EMBSTR}, {"abc", KS_ENC_EMBSTR}, {"", KS_ENC_EMBSTR},
        {"12345678901234567890123", KS_ENC_EMBSTR},
        {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", KS_ENC_EMBSTR},   /* 44 */
        {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", KS_ENC_RAW},     /* 45 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        puts_(0, "e", cases[i].v);
        ks_key k = key_of("e");
        ks_lock_key(&k);
        ks_entry *e = do_ks_find(0, &k, NOW);
        if (!CHECK_EQ(ks_entry_encoding(e), cases[i].enc)) fprintf(stderr, "  for \"%s\"\n", cases[i].v);
        ks_unlock_key(&k);
    }
    put(0, "r", 1, "123", 3, KS_NO_EXPIRE, KS_RAW);
    ks_key k = key_of("r");
    ks_clock_update(NOW);
    ks_lock_key(&k);
    ks_entry *e = do_ks_find(0, &k, NOW);
    CHECK_EQ(ks_entry_encoding(e), KS_ENC_RAW);
    ks_unlock_key(&k);
    /* A plain set after a raw one is derived from the bytes again. */
    put(0, "r", 1, "124", 3, KS_NO_EXPIRE, 0);
    ks_lock_key(&k);
    e = do_ks_find(0, &k, NOW);
    CHECK_EQ(ks_entry_encoding(e), KS_ENC_INT);
    CHECK_EQ(ks_entry_idle_seconds(e), 0);
    CHECK_EQ(ks_entry_lfu(e), 5);               /* LFU_INIT_VAL, as Redis */
    ks_unlock_key(&k);
    ks_clock_update(NOW + 7000);
    ks_lock_key(&k);
    e = do_ks_find(0, &k, NOW);
    CHECK_EQ(ks_entry_idle_seconds(e), 7);
    ks_entry_touch(e);
    CHECK_EQ(ks_entry_idle_seconds(e), 0);
    /* Not an LFU policy: an access moves only the time, as in Redis. */
    CHECK_EQ(ks_entry_lfu(e), 5);
    cfg.maxmemory_policy = MM_ALLKEYS_LFU;
    ks_entry_touch(e);
    CHECK_EQ(ks_entry_lfu(e), 6);               /* at LFU_INIT_VAL the first hit always counts */
    for (int i = 0; i < 1000; i++) ks_entry_touch(e);
    uint8_t f = ks_entry_lfu(e);
    CHECK(f > 6 && f < 30);                     /* logarithmic: 1000 hits, ~+10 */
    /* lfu-decay-time 1: one step per minute idle (whole minutes crossed) */
    ks_clock_update(NOW + 7000 + 120000);
    CHECK_EQ(ks_entry_lfu(e), f - 2);
    cfg.maxmemory_policy = MM_NOEVICTION;
    ks_unlock_key(&k);
    ks_clock_update(util_ms());
    done();
}

/* ---- do_ks_resize (APPEND, SETRANGE) ------------------------------------ */

static void resize_walk(int64_t exp) {
    static const size_t lens[] = {0, 10, 126, 127, 128, 129, 127, 128, 200, 16382, 16383,
                                  16384, 16385, 200000, 16385, 16384, 16383, 128, 127, 5, 0,
                                  1, 300000, 3};
    put(0, "r", 1, "", 0, exp, 0);
    char *model = xcalloc(300000, 1);
    size_t cur = 0;
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t n = lens[i];
        ks_key k = key_of("r");
        ks_lock_key(&k);
        char *p = do_ks_resize(0, &k, n);
        bool ok = CHECK(p != NULL);
        if (ok) {
            /* content kept up to min(old, new), growth zero-filled */
            if (n > cur) memset(model + cur, 0, n - cur);
            ok = CHECK_MEM(p, n, model, n);
            /* write through the returned pointer, as APPEND does */
            fill_pattern(model, n, (unsigned)i);
            memcpy(p, model, n);
        }
        ks_entry *e = do_ks_find(0, &k, NOW);
        if (ok && CHECK(e != NULL)) {
            CHECK_EQ(ks_entry_encoding(e), KS_ENC_RAW);
            size_t vl;
            CHECK(ks_entry_val(e, &vl) == p);
            CHECK_EQ(vl, n);
        }
        ks_unlock_key(&k);
        cur = n;
        if (!ok || !CHECK_VAL(0, "r", 1, model, n, exp)) {
            fprintf(stderr, "  step %zu (len %zu), exp %lld\n", i, n, (long long)exp);
            break;
        }
    }
    CHECK_EQ(ks_expires_count(0), exp == KS_NO_EXPIRE ? 0 : 1);
    CHECK_EQ(ks_dbsize(0), 1);
    free(model);
}

TEST(ks_resize) {
    fresh();
    resize_walk(KS_NO_EXPIRE);
    del(0, "r", NOW);
    resize_walk(NOW + 12345);
    /* Missing key: NULL, nothing created. */
    ks_key k = key_of("missing");
    ks_lock_key(&k);
    CHECK(do_ks_resize(0, &k, 10) == NULL);
    ks_unlock_key(&k);
    CHECK(!has(0, "missing", NOW));
    /* Many 1-byte appends: the slack makes this cheap, content exact. */
    puts_(1, "log", "");
    char *model = xmalloc(20000);
    for (size_t i = 0; i < 20000; i++) {
        ks_key lk = key_of("log");
        ks_lock_key(&lk);
        char *p = do_ks_resize(1, &lk, i + 1);
        p[i] = (char)('a' + i % 26);
        model[i] = (char)('a' + i % 26);
        ks_unlock_key(&lk);
    }
    CHECK_VAL(1, "log", 3, model, 20000, KS_NO_EXPIRE);
    free(model);
    done();
}

/* ---- expiry ------------------------------------------------------------- */

TEST(ks_lazy_expiry) {
    fresh();
    put(0, "t", 1, "v", 1, NOW + 1000, 0);
    put(0, "p", 1, "v", 1, KS_NO_EXPIRE, 0);
    CHECK_EQ(ks_expires_count(0), 1);
    CHECK(has(0, "t", NOW));
    CHECK(has(0, "t", NOW + 1000));         /* Redis: expired once now > when */
    CHECK_EQ(ks_dbsize(0), 2);
    CHECK(!has(0, "t", NOW + 1001));        /* gone */
    CHECK_EQ(ks_dbsize(0), 1);               /* and deleted */
    CHECK_EQ(ks_expires_count(0), 0);
    CHECK_EQ(ks_stat_expired(), 1);
    CHECK(!has(0, "t", NOW));               /* not resurrected by an older now */
    CHECK(has(0, "p", NOW + 1000000000));
    /* Deleting an expired key reports "not there" but reclaims it. */
    put(0, "t2", 2, "v", 1, NOW + 10, 0);
    CHECK(del(0, "t2", NOW + 10));          /* at its expire time: still live */
    put(0, "t2", 2, "v", 1, NOW + 10, 0);
    CHECK(!del(0, "t2", NOW + 11));
    CHECK_EQ(ks_dbsize(0), 1);
    CHECK_EQ(ks_stat_expired(), 2);
    /* An expiry already in the past is stored as given. */
    put(0, "past", 4, "v", 1, NOW - 1, 0);
    CHECK_EQ(ks_dbsize(0), 2);
    CHECK(!has(0, "past", NOW));
    CHECK_EQ(ks_dbsize(0), 1);
    done();
}

TEST(ks_set_expire) {
    fresh();
    ks_key k = key_of("k");
    ks_lock_key(&k);
    CHECK(!do_ks_set_expire(0, &k, NOW + 5));            /* absent */
    ks_unlock_key(&k);
    /* Values of sizes whose allocation has no room for the 8 expiry bytes
     * and sizes that do, so both the realloc and in-place paths run. */
    for (size_t len = 0; len < 80; len++) {
        char v[80];
        fill_pattern(v, len, (unsigned)len);
        put(0, "k", 1, v, len, KS_NO_EXPIRE, 0);
        ks_lock_key(&k);
        CHECK(do_ks_set_expire(0, &k, NOW + 100));
        ks_unlock_key(&k);
        if (!CHECK_VAL(0, "k", 1, v, len, NOW + 100)) break;
        CHECK_EQ(ks_expires_count(0), 1);
        ks_lock_key(&k);
        CHECK(do_ks_set_expire(0, &k, NOW + 200));       /* change */
        ks_unlock_key(&k);
        CHECK_VAL(0, "k", 1, v, len, NOW + 200);
        CHECK_EQ(ks_expires_count(0), 1);
        ks_lock_key(&k);
        CHECK(do_ks_set_expire(0, &k, KS_NO_EXPIRE));    /* PERSIST */
        CHECK(do_ks_set_expire(0, &k, KS_NO_EXPIRE));    /* twice is harmless */
        ks_unlock_key(&k);
        CHECK_VAL(0, "k", 1, v, len, KS_NO_EXPIRE);
        CHECK_EQ(ks_expires_count(0), 0);
        ks_lock_key(&k);
        CHECK(do_ks_set_expire(0, &k, NOW + 300));
        ks_unlock_key(&k);
        CHECK(has(0, "k", NOW + 300));
    }
    CHECK(!has(0, "k", NOW + 301));
    CHECK_EQ(ks_dbsize(0), 0);
    CHECK_EQ(ks_expires_count(0), 0);
    done();
}

/* Keys nobody reads again are reclaimed by the active cycle alone. */
TEST(ks_active_expire) {
    fresh();
    char k[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(k, sizeof(k), "exp:%d", i);
        put(i % 2, k, strlen(k), "v", 1, NOW + 1000 + i % 100, 0);
    }
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "keep:%d", i);
        put(i % 2, k, strlen(k), "v", 1, i % 3 ? KS_NO_EXPIRE : NOW + 1000000, 0);
    }
    CHECK_EQ(ks_dbsize(0) + ks_dbsize(1), 11000);
    /* Nothing is due yet. */
    CHECK_EQ(ks_active_expire(0, 1, NOW, 1000000), 0);
    int64_t later = NOW + 2000;
    uint64_t removed = 0;
    int calls = 0;
    while (ks_dbsize(0) + ks_dbsize(1) > 1000 && calls < 10000) {
        /* as two cron threads would: each its own half of the shards */
        removed += ks_active_expire(calls % 2, 2, later, 1000);
        calls++;
    }
    CHECK_EQ(removed, 10000);
    CHECK_EQ(ks_dbsize(0) + ks_dbsize(1), 1000);
    CHECK_EQ(ks_expires_count(0) + ks_expires_count(1), 334);
    CHECK_EQ(ks_stat_expired(), 10000);
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "keep:%d", i);
        if (!CHECK(has(i % 2, k, later))) break;
    }
    /* All of one db expired: dbsize reaches 0. */
    for (int i = 0; i < 10000; i++) {
        snprintf(k, sizeof(k), "x:%d", i);
        put(3, k, strlen(k), "v", 1, NOW - 1, 0);
    }
    calls = 0;
    while (ks_dbsize(3) > 0 && calls < 10000) {
        ks_active_expire(0, 1, NOW, 2000);
        calls++;
    }
    CHECK_EQ(ks_dbsize(3), 0);
    CHECK_EQ(ks_expires_count(3), 0);
    done();
}

/* ---- growth and incremental rehash --------------------------------------- */

static void key_i(char *buf, size_t len, const char *prefix, int i) {
    snprintf(buf, len, "%s%d", prefix, i);
}

/* Check keys [lo, hi) are present with value "<i>" and [0, lo) absent
 * when absent_below; returns false at the first problem. */
static bool check_range(const char *file, int line, int db, int lo, int hi, bool absent_below) {
    char k[32], v[32], got[32];
    for (int i = absent_below ? 0 : lo; i < hi; i++) {
        key_i(k, sizeof(k), "key:", i);
        size_t vl = 0;
        bool present = get(db, k, strlen(k), NOW, got, sizeof(got), &vl, NULL);
        if (i < lo) {
            if (present) return unit_fail(file, line, "deleted key %s still found", k);
            continue;
        }
        int n = snprintf(v, sizeof(v), "%d", i);
        if (!present) return unit_fail(file, line, "key %s not found (keys %d..%d)", k, lo, hi);
        if (vl != (size_t)n || memcmp(got, v, vl) != 0)
            return unit_fail(file, line, "key %s has the wrong value", k);
    }
    return true;
}

TEST(ks_grow_and_shrink_200k) {
    fresh();
    const int n = 200000, step = 10000;
    char k[32], v[32];
    for (int i = 0; i < n; i++) {
        key_i(k, sizeof(k), "key:", i);
        int vl = snprintf(v, sizeof(v), "%d", i);
        put(2, k, strlen(k), v, (size_t)vl, KS_NO_EXPIRE, 0);
        /* at checkpoints (tables are mid-rehash somewhere at each): all
         * findable; denser early, where tables resize most often */
        int c = i + 1;
        if ((c < 20000 && (c & (c - 1)) == 0) || c % (2 * step) == 0) {
            if (!CHECK_EQ(ks_dbsize(2), i + 1)) break;
            if (!check_range(__FILE__, __LINE__, 2, 0, i + 1, false)) break;
        }
        /* a recent key right after its insert may have triggered a resize */
        if (i >= 100 && i % 97 == 0) {
            key_i(k, sizeof(k), "key:", i - 100);
            if (!CHECK(has(2, k, NOW))) break;
        }
    }
    /* Background rehash steps interleave with nothing else: harmless. */
    for (unsigned s = 0; s < NSHARDS; s++) ks_rehash_step(s, NSHARDS);
    /* Shrink by deleting from the bottom: tables shrink (below 1/8 load)
     * while lookups of the remaining keys continue. */
    for (int i = 0; i < n; i++) {
        key_i(k, sizeof(k), "key:", i);
        if (!CHECK(del(2, k, NOW))) break;
        if ((i + 1) % (3 * step) == 0 || i >= n - 10) {
            if (!CHECK_EQ(ks_dbsize(2), n - i - 1)) break;
            if (!check_range(__FILE__, __LINE__, 2, i + 1, n, (i + 1) % (6 * step) == 0)) break;
        }
    }
    CHECK_EQ(ks_dbsize(2), 0);
    /* The emptied table still works. */
    puts_(2, "again", "1");
    CHECK_VAL(2, "again", 5, "1", 1, KS_NO_EXPIRE);
    done();
}

/* ---- SCAN ---------------------------------------------------------------- */

typedef struct scan_seen {
    int *stable, *added, *vol;   /* visit counts by index, per key family */
    int nstable, nadded, nvol;
    long visits, other;
} scan_seen;

static void scan_cb(void *priv, const ks_entry *e) {
    scan_seen *s = priv;
    size_t kl;
    const char *k = ks_entry_key(e, &kl);
    char buf[64];
    if (kl >= sizeof(buf)) { s->other++; return; }
    memcpy(buf, k, kl);
    buf[kl] = '\0';
    int i = atoi(buf + 1);
    s->visits++;
    if (buf[0] == 's' && i < s->nstable) s->stable[i]++;
    else if (buf[0] == 'a' && i < s->nadded) s->added[i]++;
    else if (buf[0] == 'v' && i < s->nvol) s->vol[i]++;
    else s->other++;
}

static void seen_init(scan_seen *s, int ns, int na, int nv) {
    memset(s, 0, sizeof(*s));
    s->stable = xcalloc((size_t)ns + 1, sizeof(int));
    s->added = xcalloc((size_t)na + 1, sizeof(int));
    s->vol = xcalloc((size_t)nv + 1, sizeof(int));
    s->nstable = ns;
    s->nadded = na;
    s->nvol = nv;
}

static void seen_free(scan_seen *s) {
    free(s->stable);
    free(s->added);
    free(s->vol);
}

static void put_fam(int db, char fam, int i) {
    char k[32];
    snprintf(k, sizeof(k), "%c%d", fam, i);
    put(db, k, strlen(k), "x", 1, KS_NO_EXPIRE, 0);
}

static bool del_fam(int db, char fam, int i) {
    char k[32];
    snprintf(k, sizeof(k), "%c%d", fam, i);
    return del(db, k, NOW);
}

TEST(ks_scan_full) {
    fresh();
    int n = 5000;
    for (int i = 0; i < n; i++) put_fam(0, 's', i);
    for (int i = 0; i < 100; i++) put_fam(1, 'v', i);   /* another db: never seen */
    for (unsigned long count = 1; count <= 1000; count *= 10) {
        scan_seen s;
        seen_init(&s, n, 0, 0);
        uint64_t cur = 0;
        int calls = 0;
        do {
            cur = ks_scan(0, cur, count, NOW, scan_cb, &s);
            calls++;
        } while (cur != 0 && calls < 1000000);
        CHECK_EQ(cur, 0);
        int missing = 0;
        for (int i = 0; i < n; i++) missing += s.stable[i] == 0;
        if (!CHECK_EQ(missing, 0)) fprintf(stderr, "  count %lu\n", count);
        CHECK_EQ(s.other, 0);
        CHECK(s.visits >= n);
        /* A stable table: exactly once each. */
        CHECK_EQ(s.visits, n);
        seen_free(&s);
    }
    /* A huge count does it in one call, no duplicates. */
    scan_seen s;
    seen_init(&s, n, 0, 0);
    CHECK_EQ(ks_scan(0, 0, ULONG_MAX, NOW, scan_cb, &s), 0);
    CHECK_EQ(s.visits, n);
    for (int i = 0; i < n; i++)
        if (!CHECK_EQ(s.stable[i], 1)) break;
    seen_free(&s);
    /* Empty db: one call, cursor 0. */
    seen_init(&s, 1, 0, 0);
    CHECK_EQ(ks_scan(2, 0, 10, NOW, scan_cb, &s), 0);
    CHECK_EQ(s.visits, 0);
    seen_free(&s);
    /* Expired keys are not emitted. */
    for (int i = 0; i < 50; i++) {
        char k[32];
        snprintf(k, sizeof(k), "v%d", i);
        put(3, k, strlen(k), "x", 1, NOW - 1, 0);
    }
    put_fam(3, 's', 0);
    seen_init(&s, 1, 0, 50);
    CHECK_EQ(ks_scan(3, 0, ULONG_MAX, NOW, scan_cb, &s), 0);
    CHECK_EQ(s.visits, 1);
    CHECK_EQ(s.stable[0], 1);
    seen_free(&s);
    done();
}

/* Keys present for the whole scan must be seen although the tables grow
 * (and rehash) or shrink between calls. */
static void scan_mutating(bool grow) {
    fresh();
    int nstable = 3000, nvol = 40000, nadd = 60000;
    for (int i = 0; i < nstable; i++) put_fam(0, 's', i);
    if (!grow)
        for (int i = 0; i < nvol; i++) put_fam(0, 'v', i);
    scan_seen s;
    seen_init(&s, nstable, nadd, nvol);
    uint64_t cur = 0;
    int calls = 0, added = 0, removed = 0;
    do {
        cur = ks_scan(0, cur, 10, NOW, scan_cb, &s);
        calls++;
        /* between calls: grow with 25 new keys, or delete 25 volatile */
        for (int j = 0; j < 25; j++) {
            if (grow && added < nadd) put_fam(0, 'a', added++);
            if (!grow && removed < nvol) CHECK(del_fam(0, 'v', removed++));
        }
    } while (cur != 0 && calls < 1000000);
    CHECK_EQ(cur, 0);
    int missing = 0;
    for (int i = 0; i < nstable; i++) missing += s.stable[i] == 0;
    if (!CHECK_EQ(missing, 0))
        fprintf(stderr, "  %s: %d of %d stable keys never seen in %d calls\n",
                grow ? "growing" : "shrinking", missing, nstable, calls);
    CHECK_EQ(s.other, 0);
    /* The mutation really happened during the scan. */
    CHECK(grow ? added > 5000 : removed > 5000);
    seen_free(&s);
    done();
}

TEST(ks_scan_while_growing) { scan_mutating(true); }
TEST(ks_scan_while_shrinking) { scan_mutating(false); }

/* ---- whole-db operations ------------------------------------------------ */

TEST(ks_move) {
    fresh();
    put(0, "m", 1, "val", 3, NOW + 500, 0);
    put(0, "both", 4, "src", 3, KS_NO_EXPIRE, 0);
    put(1, "both", 4, "dst", 3, KS_NO_EXPIRE, 0);
    ks_key k = key_of("m");
    ks_lock_key(&k);
    CHECK_EQ(do_ks_move(0, 1, &k, NOW), 0);
    CHECK_EQ(do_ks_move(0, 1, &k, NOW), -1);             /* gone from src */
    ks_unlock_key(&k);
    CHECK(!has(0, "m", NOW));
    CHECK_VAL(1, "m", 1, "val", 3, NOW + 500);            /* TTL kept */
    CHECK_EQ(ks_dbsize(0), 1);
    CHECK_EQ(ks_dbsize(1), 2);
    CHECK_EQ(ks_expires_count(0), 0);
    CHECK_EQ(ks_expires_count(1), 1);
    k = key_of("both");
    ks_lock_key(&k);
    CHECK_EQ(do_ks_move(0, 1, &k, NOW), -2);             /* present in dst */
    ks_unlock_key(&k);
    CHECK_VAL(0, "both", 4, "src", 3, KS_NO_EXPIRE);
    CHECK_VAL(1, "both", 4, "dst", 3, KS_NO_EXPIRE);
    /* An expired source counts as absent; an expired destination as free. */
    put(2, "x", 1, "old", 3, NOW - 1, 0);
    put(3, "x", 1, "new", 3, KS_NO_EXPIRE, 0);
    k = key_of("x");
    ks_lock_key(&k);
    CHECK_EQ(do_ks_move(2, 3, &k, NOW), -1);
    do_ks_set(2, &k, "mv", 2, KS_NO_EXPIRE, 0);     /* we hold x's lock */
    do_ks_set_expire(3, &k, NOW - 1);
    CHECK_EQ(do_ks_move(2, 3, &k, NOW), 0);
    ks_unlock_key(&k);
    CHECK_VAL(3, "x", 1, "mv", 2, KS_NO_EXPIRE);
    CHECK_EQ(ks_dbsize(2), 0);
    /* Move many keys back and forth (tables resize under it). */
    char kb[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(kb, sizeof(kb), "mk%d", i);
        put(0, kb, strlen(kb), kb, strlen(kb), i % 2 ? NOW + 100 : KS_NO_EXPIRE, 0);
    }
    for (int i = 0; i < 3000; i++) {
        snprintf(kb, sizeof(kb), "mk%d", i);
        ks_key mk = key_of(kb);
        ks_lock_key(&mk);
        if (!CHECK_EQ(do_ks_move(0, 2, &mk, NOW), 0)) i = 3000;
        ks_unlock_key(&mk);
    }
    CHECK_EQ(ks_dbsize(2), 3000);
    CHECK_EQ(ks_expires_count(2), 1500);
    for (int i = 0; i < 3000; i++) {
        snprintf(kb, sizeof(kb), "mk%d", i);
        if (!CHECK_VAL(2, kb, strlen(kb), kb, strlen(kb), i % 2 ? NOW + 100 : KS_NO_EXPIRE)) break;
    }
    done();
}

TEST(ks_swapdb_flush) {
    fresh();
    for (int i = 0; i < 1000; i++) put_fam(0, 's', i);
    for (int i = 0; i < 10; i++) put_fam(1, 'a', i);
    put(0, "ttl", 3, "v", 1, NOW + 50, 0);
    ks_swapdb(0, 1);
    CHECK_EQ(ks_dbsize(0), 10);
    CHECK_EQ(ks_dbsize(1), 1001);
    CHECK_EQ(ks_expires_count(1), 1);
    CHECK_EQ(ks_expires_count(0), 0);
    CHECK(has(1, "s999", NOW));
    CHECK(has(0, "a9", NOW));
    CHECK(!has(0, "s1", NOW));
    ks_swapdb(2, 2);                           /* with itself: no change */
    ks_swapdb(1, 0);
    CHECK_EQ(ks_dbsize(0), 1001);
    CHECK(has(0, "s5", NOW));
    put_fam(2, 'v', 1);
    put_fam(3, 'v', 1);
    ks_flushdb(0);
    CHECK_EQ(ks_dbsize(0), 0);
    CHECK_EQ(ks_expires_count(0), 0);
    CHECK(!has(0, "s5", NOW));
    CHECK_EQ(ks_dbsize(1), 10);
    CHECK_EQ(ks_dbsize(2), 1);
    puts_(0, "after", "flush");                /* usable again */
    CHECK_VAL(0, "after", 5, "flush", 5, KS_NO_EXPIRE);
    ks_flushall();
    for (int d = 0; d < NDBS; d++) CHECK_EQ(ks_dbsize(d), 0);
    CHECK(!has(1, "a1", NOW));
    for (int i = 0; i < 1000; i++) put_fam(3, 's', i);
    CHECK_EQ(ks_dbsize(3), 1000);
    CHECK(has(3, "s777", NOW));
    done();
}

TEST(ks_random_key) {
    fresh();
    char *buf = NULL;
    size_t len = 0;
    CHECK(!ks_random_key(0, NOW, &buf, &len));
    puts_(0, "only", "1");
    CHECK(ks_random_key(0, NOW, &buf, &len));
    CHECK_MEM(buf, len, "only", 4);
    free(buf);
    for (int i = 0; i < 100; i++) put_fam(1, 's', i);
    int seen[100] = {0}, distinct = 0;
    for (int t = 0; t < 2000; t++) {
        buf = NULL;
        if (!CHECK(ks_random_key(1, NOW, &buf, &len))) break;
        char tmp[16];
        if (!CHECK(len > 1 && len < sizeof(tmp) && buf[0] == 's')) { free(buf); break; }
        memcpy(tmp, buf, len);
        tmp[len] = '\0';
        int i = atoi(tmp + 1);
        if (CHECK(i >= 0 && i < 100) && !seen[i]++) distinct++;
        free(buf);
    }
    CHECK(distinct > 80);
    /* All keys expired: they are reclaimed and the answer is "empty". */
    for (int i = 0; i < 20; i++) {
        char k[16];
        snprintf(k, sizeof(k), "e%d", i);
        put(2, k, strlen(k), "v", 1, NOW - 5, 0);
    }
    buf = NULL;
    CHECK(!ks_random_key(2, NOW, &buf, &len));
    CHECK(buf == NULL);
    CHECK_EQ(ks_dbsize(2), 0);
    /* Mixed: only the live key ever comes back. */
    for (int i = 0; i < 20; i++) {
        char k[16];
        snprintf(k, sizeof(k), "e%d", i);
        put(3, k, strlen(k), "v", 1, NOW - 5, 0);
    }
    puts_(3, "live", "v");
    for (int t = 0; t < 50; t++) {
        buf = NULL;
        if (!CHECK(ks_random_key(3, NOW, &buf, &len))) break;
        CHECK_MEM(buf, len, "live", 4);
        free(buf);
    }
    done();
}

TEST(ks_stats) {
    fresh();
    CHECK_EQ(ks_stat_hits(), 0);
    CHECK_EQ(ks_stat_misses(), 0);
    ks_stat_hit(true);
    ks_stat_hit(true);
    ks_stat_hit(false);
    CHECK_EQ(ks_stat_hits(), 2);
    CHECK_EQ(ks_stat_misses(), 1);
    ks_stat_reset();
    CHECK_EQ(ks_stat_hits(), 0);
    CHECK_EQ(ks_stat_expired(), 0);
    done();
}

/* ---- locking ------------------------------------------------------------- */

static double run_for(void) { return 0.5; }

/* A lockset over many keys really holds their shards. */
typedef struct lock_probe {
    const char *key;
    atomic_int got;
} lock_probe;

static void *probe_thread(void *arg) {
    lock_probe *p = arg;
    ks_key k = key_of(p->key);
    ks_lock_key(&k);
    atomic_store(&p->got, 1);
    ks_unlock_key(&k);
    return NULL;
}

TEST(ks_lockset_holds) {
    fresh();
    ks_lockset ls;
    ks_lockset_init(&ls);
    char k[64][16];
    for (int i = 0; i < 64; i++) {
        snprintf(k[i], sizeof(k[i]), "ls%d", i);
        ks_key key = key_of(k[i]);
        ks_lockset_add(&ls, &key);
        ks_lockset_add(&ls, &key);          /* adding twice is harmless */
    }
    ks_lockset_lock(&ls);
    /* Under the lockset, do_ks_* on every key is legal. */
    for (int i = 0; i < 64; i++) {
        ks_key key = key_of(k[i]);
        do_ks_set(0, &key, "v", 1, KS_NO_EXPIRE, 0);
    }
    lock_probe p = {"ls7", 0};
    pthread_t th;
    pthread_create(&th, NULL, probe_thread, &p);
    usleep(50000);
    CHECK_EQ(atomic_load(&p.got), 0);        /* blocked by our lockset */
    ks_lockset_unlock(&ls);
    pthread_join(th, NULL);
    CHECK_EQ(atomic_load(&p.got), 1);
    CHECK_EQ(ks_dbsize(0), 64);
    /* lockset_all holds every shard, even one no key of ours maps to. */
    ks_lockset_init(&ls);
    ks_lockset_all(&ls);
    ks_lockset_lock(&ls);
    lock_probe q = {"anything-else", 0};
    pthread_create(&th, NULL, probe_thread, &q);
    usleep(50000);
    CHECK_EQ(atomic_load(&q.got), 0);
    ks_lockset_unlock(&ls);
    pthread_join(th, NULL);
    CHECK_EQ(atomic_load(&q.got), 1);
    done();
}

/* Two threads lock overlapping random key sets (and sometimes all shards)
 * in a loop and bump counters under the locks: no deadlock, and no lost
 * update (the counters add up). */
#define NCTR 64
typedef struct lock_worker {
    unsigned seed;
    atomic_long rounds;     /* read by the watchdog while running */
    long bumps;
    atomic_int *stop;
} lock_worker;

static void bump(int i) {
    char k[16];
    snprintf(k, sizeof(k), "ctr%d", i);
    ks_key key = key_of(k);
    ks_entry *e = do_ks_find(0, &key, NOW);
    long v = 0;
    if (e) {
        size_t vl;
        const char *p = ks_entry_val(e, &vl);
        char tmp[32];
        memcpy(tmp, p, vl);
        tmp[vl] = '\0';
        v = atol(tmp);
    }
    char nv[32];
    int n = snprintf(nv, sizeof(nv), "%ld", v + 1);
    do_ks_set(0, &key, nv, (size_t)n, KS_NO_EXPIRE, 0);
}

static void *lock_worker_fn(void *arg) {
    lock_worker *w = arg;
    while (!atomic_load(w->stop)) {
        ks_lockset ls;
        ks_lockset_init(&ls);
        int picks[12], np = 1 + (int)(rand_r(&w->seed) % 12);
        bool all = rand_r(&w->seed) % 50 == 0;
        for (int j = 0; j < np; j++) {
            picks[j] = (int)(rand_r(&w->seed) % NCTR);
            char k[16];
            snprintf(k, sizeof(k), "ctr%d", picks[j]);
            ks_key key = key_of(k);
            ks_lockset_add(&ls, &key);
        }
        if (all) ks_lockset_all(&ls);
        ks_lockset_lock(&ls);
        for (int j = 0; j < np; j++) {
            bump(picks[j]);
            w->bumps++;
        }
        ks_lockset_unlock(&ls);
        atomic_fetch_add(&w->rounds, 1);
    }
    return NULL;
}

TEST(ks_lockset_two_threads) {
    fresh();
    atomic_int stop = 0;
    lock_worker w[2] = {{1, 0, 0, &stop}, {2, 0, 0, &stop}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, lock_worker_fn, &w[i]);
    /* Watch for progress: a deadlock shows as rounds that stop moving. */
    double t0 = unit_now();
    long last = -1;
    bool stuck = false;
    while (unit_now() - t0 < run_for()) {
        usleep(100000);
        long r = atomic_load(&w[0].rounds) + atomic_load(&w[1].rounds);
        if (r == last) { stuck = true; break; }
        last = r;
    }
    atomic_store(&stop, 1);
    if (!CHECK(!stuck)) {
        fprintf(stderr, "  no progress: deadlock? (not joining)\n");
        done();
        return;
    }
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK(atomic_load(&w[0].rounds) > 100 && atomic_load(&w[1].rounds) > 100);
    long total = 0;
    for (int i = 0; i < NCTR; i++) {
        char k[16], v[32];
        snprintf(k, sizeof(k), "ctr%d", i);
        size_t vl = 0;
        if (get(0, k, strlen(k), NOW, v, sizeof(v) - 1, &vl, NULL)) {
            v[vl] = '\0';
            total += atol(v);
        }
    }
    CHECK_EQ(total, w[0].bumps + w[1].bumps);
    done();
}

/* Single-key SET/GET from two threads. Disjoint keys: each thread reads
 * back exactly what it wrote. Shared keys: a value is self-describing
 * ("<len>:<thread>:<seq>:" then filler derived from seq), so a torn or
 * mixed read is caught; lengths vary so in-place and realloc paths race. */
#define NSHARED 32
typedef struct rw_worker {
    int id;
    unsigned seed;
    long ops;
    atomic_int *stop;
    int bad;
} rw_worker;

static size_t make_val(char *buf, int id, long seq, size_t len) {
    int h = snprintf(buf, 64, "%zu:%d:%ld:", len, id, seq);
    if (len < (size_t)h) len = (size_t)h;
    for (size_t i = (size_t)h; i < len; i++) buf[i] = (char)('a' + (seq + (long)i) % 26);
    /* rewrite the header with the final length */
    h = snprintf(buf, 64, "%zu:%d:%ld:", len, id, seq);
    for (size_t i = (size_t)h; i < len; i++) buf[i] = (char)('a' + (seq + (long)i) % 26);
    return len;
}

static bool val_ok(const char *v, size_t vl) {
    char hdr[64];
    size_t n = vl < 63 ? vl : 63;
    memcpy(hdr, v, n);
    hdr[n] = '\0';
    size_t len;
    int id, used;
    long seq;
    if (sscanf(hdr, "%zu:%d:%ld:%n", &len, &id, &seq, &used) != 3) return false;
    if (len != vl) return false;
    for (size_t i = (size_t)used; i < vl; i++)
        if (v[i] != (char)('a' + (seq + (long)i) % 26)) return false;
    return true;
}

static void *rw_worker_fn(void *arg) {
    rw_worker *w = arg;
    char *val = xmalloc(4096), *got = xmalloc(4096);
    long seq = 0;
    while (!atomic_load(w->stop)) {
        seq++;
        static const size_t sizes[] = {10, 20, 40, 100, 200, 1000, 3000};
        size_t want = sizes[rand_r(&w->seed) % 7];
        size_t vl = make_val(val, w->id, seq, want);
        char k[32];
        bool shared = rand_r(&w->seed) % 2;
        if (shared) snprintf(k, sizeof(k), "shared%u", rand_r(&w->seed) % NSHARED);
        else snprintf(k, sizeof(k), "own%d:%u", w->id, rand_r(&w->seed) % 500);
        ks_key key = key_of(k);
        ks_lock_key(&key);
        do_ks_set(0, &key, val, vl, rand_r(&w->seed) % 3 ? KS_NO_EXPIRE : NOW + 100000, 0);
        ks_unlock_key(&key);
        /* read back */
        ks_lock_key(&key);
        ks_entry *e = do_ks_find(0, &key, NOW);
        size_t gl = 0;
        if (e) {
            const char *p = ks_entry_val(e, &gl);
            memcpy(got, p, gl < 4096 ? gl : 4096);
        }
        ks_unlock_key(&key);
        if (!e) w->bad++;
        else if (!shared && (gl != vl || memcmp(got, val, vl) != 0)) w->bad++;
        else if (shared && !val_ok(got, gl)) w->bad++;
        /* and sometimes a delete of an own key, or a read of a shared one */
        if (!shared && rand_r(&w->seed) % 10 == 0) {
            ks_lock_key(&key);
            do_ks_delete(0, &key, NOW);
            ks_unlock_key(&key);
        }
        (void)ks_dbsize(0);    /* lock-free read racing the writers */
        w->ops++;
    }
    free(val);
    free(got);
    return NULL;
}

TEST(ks_concurrent_set_get) {
    fresh();
    atomic_int stop = 0;
    rw_worker w[2] = {{0, 11, 0, &stop, 0}, {1, 22, 0, &stop, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, rw_worker_fn, &w[i]);
    usleep((useconds_t)(run_for() * 1e6));
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK_EQ(w[0].bad, 0);
    CHECK_EQ(w[1].bad, 0);
    CHECK(w[0].ops > 1000 && w[1].ops > 1000);
    /* Final consistency: every key's value is intact, counts add up. */
    uint64_t found = 0;
    char k[32], *got = xmalloc(4096);
    for (int i = 0; i < NSHARED; i++) {
        snprintf(k, sizeof(k), "shared%d", i);
        size_t gl = 0;
        if (get(0, k, strlen(k), NOW, got, 4096, &gl, NULL)) {
            found++;
            CHECK(val_ok(got, gl));
        }
    }
    for (int id = 0; id < 2; id++)
        for (int i = 0; i < 500; i++) {
            snprintf(k, sizeof(k), "own%d:%d", id, i);
            size_t gl = 0;
            if (get(0, k, strlen(k), NOW, got, 4096, &gl, NULL)) {
                found++;
                if (!CHECK(val_ok(got, gl))) break;
            }
        }
    CHECK_EQ(ks_dbsize(0), found);
    uint64_t nexp = ks_expires_count(0);
    CHECK(nexp <= found);
    free(got);
    done();
}

/* ---- eviction sampling ------------------------------------------------------ */

typedef struct sampled {
    int n, with_ttl;
    char last[32];
} sampled;

static void on_sample(void *priv, const ks_entry *e) {
    sampled *s = priv;
    size_t kl;
    const char *k = ks_entry_key(e, &kl);
    s->n++;
    if (ks_entry_expire(e) != KS_NO_EXPIRE) s->with_ttl++;
    snprintf(s->last, sizeof(s->last), "%.*s", (int)kl, k);
}

TEST(ks_evict_sample_and_evict) {
    fresh();
    sampled s = {0};
    CHECK_EQ(ks_evict_sample(0, false, 5, on_sample, &s), 0);     /* empty db */
    CHECK_EQ(s.n, 0);
    char k[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        puts_(0, k, "v");
    }
    /* one key with a TTL among 5000: a volatile sample still finds it */
    put(0, "only-ttl", 8, "v", 1, NOW + 100000, 0);
    CHECK_EQ(ks_evict_candidates(0, true), 1);
    CHECK_EQ(ks_evict_candidates(0, false), 5001);
    CHECK_EQ(ks_evict_candidates(1, false), 0);
    for (int round = 0; round < 20; round++) {
        memset(&s, 0, sizeof(s));
        /* (a sample may hold an entry twice, as Redis's dictGetSomeKeys) */
        unsigned got = ks_evict_sample(0, true, 5, on_sample, &s);
        CHECK(got >= 1 && got <= 5);
        CHECK_EQ(s.with_ttl, (int)got);
        CHECK_STR(s.last, "only-ttl");
    }
    /* all keys: exactly `want` entries, any of them */
    memset(&s, 0, sizeof(s));
    CHECK_EQ(ks_evict_sample(0, false, 5, on_sample, &s), 5);
    CHECK_EQ(s.n, 5);
    memset(&s, 0, sizeof(s));
    CHECK_EQ(ks_evict_sample(0, false, 64, on_sample, &s), 64);
    /* do_ks_evict: volatile_only spares a key without TTL */
    ks_key a = key_of("k7"), t = key_of("only-ttl"), none = key_of("nosuch");
    ks_lock_key(&a);
    CHECK_EQ(do_ks_evict(0, &a, true), 0);
    CHECK(do_ks_evict(0, &a, false) >= 16);     /* the entry's allocation */
    CHECK_EQ(do_ks_evict(0, &a, false), 0);     /* gone */
    ks_unlock_key(&a);
    ks_lock_key(&t);
    CHECK(do_ks_evict(0, &t, true) > 0);
    ks_unlock_key(&t);
    ks_lock_key(&none);
    CHECK_EQ(do_ks_evict(0, &none, false), 0);
    ks_unlock_key(&none);
    CHECK(!has(0, "k7", NOW) && !has(0, "only-ttl", NOW) && has(0, "k8", NOW));
    CHECK_EQ(ks_evict_candidates(0, true), 0);
    memset(&s, 0, sizeof(s));
    CHECK_EQ(ks_evict_sample(0, true, 5, on_sample, &s), 0);
    CHECK_EQ(ks_dbsize(0), 4999);
    done();
}

/* ---- storage engine bits (docs/storage.md) --------------------------------
 * A fake engine: load() answers from one remembered value; drop/swap count. */

static int fake_loads, fake_drops, fake_swaps;
static char fake_val[64];

static int fake_load(int db, const char *key, size_t klen, char **val, size_t *vlen, unsigned *flags) {
    (void)db; (void)key; (void)klen;
    fake_loads++;
    *vlen = strlen(fake_val);
    *val = xmalloc(*vlen + 1);
    memcpy(*val, fake_val, *vlen);
    *flags = 0;
    return 0;
}
static void fake_drop(int db) { (void)db; fake_drops++; }
static void fake_swap(int a, int b) { (void)a; (void)b; fake_swaps++; }
static const ks_storage_ops fake_ops = {fake_load, fake_drop, fake_swap};

typedef struct coll {
    int n, tombs;
    char last_key[64];
    char last_val[64];
    int last_db;
} coll;

static void collect_fn(void *priv, const ks_flush_rec *r) {
    coll *c = priv;
    c->n++;
    if (r->tombstone) c->tombs++;
    snprintf(c->last_key, sizeof(c->last_key), "%.*s", (int)r->klen, r->key);
    snprintf(c->last_val, sizeof(c->last_val), "%.*s", (int)r->vlen, r->val ? r->val : "");
    c->last_db = r->db;
}

static coll collect_all(void) {
    coll c = {0};
    for (unsigned s = 0; s < ks_nshards(); s++) ks_flush_collect(s, collect_fn, &c);
    return c;
}

static void flush_done(int db, const char *k, bool tomb, bool ok) {
    ks_key key = key_of(k);
    ks_lock_key(&key);
    do_ks_flush_done(db, &key, tomb, ok);
    ks_unlock_key(&key);
}

static size_t spill(int db, const char *k) {
    ks_key key = key_of(k);
    ks_lock_key(&key);
    size_t n = do_ks_spill(db, &key, NOW);
    ks_unlock_key(&key);
    return n;
}

TEST(ks_storage_dirty_collect_spill_load) {
    fresh();
    fake_loads = fake_drops = fake_swaps = 0;
    ks_storage_enable(&fake_ops);
    ks_storage_stat st;
    put(0, "k", 1, "0123456789abcdef0123456789abcdef", 32, KS_NO_EXPIRE, 0);
    ks_storage_stats(&st);
    CHECK_EQ(st.dirty_keys, 1);
    CHECK_EQ(spill(0, "k"), 0);              /* dirty: not spillable */
    coll c = collect_all();
    CHECK_EQ(c.n, 1);
    CHECK_STR(c.last_key, "k");
    CHECK_STR(c.last_val, "0123456789abcdef0123456789abcdef");
    ks_storage_stats(&st);
    CHECK_EQ(st.dirty_keys, 0);
    CHECK_EQ(spill(0, "k"), 0);              /* flushing: not yet */
    flush_done(0, "k", false, true);
    CHECK(spill(0, "k") > 0);
    ks_storage_stats(&st);
    CHECK_EQ(st.spilled_keys, 1);
    /* metadata lookups leave the value on disk; value lookups load it */
    ks_key k = key_of("k");
    ks_lock_key(&k);
    ks_entry *e = do_ks_find_meta(0, &k, NOW);
    CHECK(e != NULL);
    CHECK_EQ(fake_loads, 0);
    snprintf(fake_val, sizeof(fake_val), "from-disk");
    e = do_ks_find(0, &k, NOW);
    size_t vlen;
    const char *v = e ? ks_entry_val(e, &vlen) : "";
    CHECK_MEM(v, e ? vlen : 0, "from-disk", 9);
    CHECK_EQ(fake_loads, 1);
    ks_unlock_key(&k);
    ks_storage_stats(&st);
    CHECK_EQ(st.spilled_keys, 0);
    CHECK_EQ(st.dirty_keys, 0);              /* loaded, still clean */
    CHECK(spill(0, "k") > 0);
    /* EXPIRE on a spilled key loads it first and makes it dirty */
    ks_lock_key(&k);
    CHECK(do_ks_set_expire(0, &k, NOW + 5000));
    ks_unlock_key(&k);
    CHECK_EQ(fake_loads, 2);
    ks_storage_stats(&st);
    CHECK_EQ(st.dirty_keys, 1);
    CHECK_EQ(st.spilled_keys, 0);
    ks_storage_enable(NULL);
    done();
}

TEST(ks_storage_tombstones_and_failed_flush) {
    fresh();
    ks_storage_enable(&fake_ops);
    put(1, "a", 1, "x", 1, KS_NO_EXPIRE, 0);
    put(1, "b", 1, "y", 1, KS_NO_EXPIRE, 0);
    coll c = collect_all();
    CHECK_EQ(c.n, 2);
    flush_done(1, "a", false, true);
    flush_done(1, "b", false, true);
    /* a key never flushed leaves no tombstone; an ONDISK one does */
    put(1, "new", 3, "z", 1, KS_NO_EXPIRE, 0);
    del(1, "new", NOW);
    del(1, "a", NOW);
    c = collect_all();
    CHECK_EQ(c.n, 1);
    CHECK_EQ(c.tombs, 1);
    CHECK_STR(c.last_key, "a");
    CHECK_EQ(c.last_db, 1);
    /* the flush failed: the tombstone is pending again */
    flush_done(1, "a", true, false);
    c = collect_all();
    CHECK_EQ(c.tombs, 1);
    /* a failed flush of a value makes it dirty again */
    put(1, "b", 1, "w", 1, KS_NO_EXPIRE, 0);
    c = collect_all();
    CHECK_EQ(c.n, 1);
    flush_done(1, "b", false, false);
    c = collect_all();
    CHECK_EQ(c.n, 1);
    CHECK_STR(c.last_val, "w");
    flush_done(1, "b", false, true);
    /* SWAPDB moves pending tombstones with their db; FLUSHDB drops them */
    del(1, "b", NOW);
    ks_swapdb(1, 2);
    CHECK_EQ(fake_swaps, 1);
    c = collect_all();
    CHECK_EQ(c.tombs, 1);
    CHECK_EQ(c.last_db, 2);
    put(3, "c", 1, "v", 1, KS_NO_EXPIRE, 0);
    collect_all();
    flush_done(3, "c", false, true);
    del(3, "c", NOW);
    ks_flushdb(3);
    CHECK_EQ(fake_drops, 1);
    c = collect_all();
    CHECK_EQ(c.n, 0);
    ks_storage_enable(NULL);
    done();
}
