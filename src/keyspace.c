/* keyspace.c: the sharded in-memory hash table that holds every key.
 *
 * Layout. S shards (power of two), each a cache-line-aligned struct with a
 * mutex and one table per database. A table is a chained hash table with
 * two bucket arrays during an incremental rehash, as in Redis's dict: every
 * operation on a rehashing table moves one bucket, and the cron moves more
 * for idle shards, so no resize ever stops the world.
 *
 * Entries are one allocation each (see docs/keyspace.md):
 *     next(8) | clock(4) | flags(1) | varint klen | key | varint vlen |
 *     value | expire(8, only if flags & F_EXPIRE)
 * For a 16-byte key and value that is 47 bytes, jemalloc's 48-byte class;
 * Redis spends a dictEntry, an sds key and a robj for the same pair.
 *
 * Invariants:
 *  1. A key lives in exactly one shard: shard = hash & (S-1), and its
 *     bucket index uses the hash bits above those, so the two choices are
 *     independent.
 *  2. While a table rehashes (rehash_idx >= 0), buckets [0, rehash_idx) of
 *     b[0] are empty; lookups check b[0] then b[1]; inserts go to b[1].
 *  3. count is the number of entries in the table, including expired ones
 *     not yet reclaimed; nexpires the number of those carrying an expiry.
 *  4. Every access to a table happens under its shard's mutex, except the
 *     relaxed atomic reads of count and nexpires (DBSIZE, INFO, eviction
 *     looking for a shard that holds candidates).
 */
#include "keyspace.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#define XXH_INLINE_ALL
#include <xxhash.h>
#include "config.h"
#include "multi.h"
#include "util.h"
#include "wstream.h"

#define F_EXPIRE 0x01
#define F_RAW    0x02
#define F_NOINT  0x04   /* never report encoding int (INCRBYFLOAT results) */
#define F_UNSHARED 0x08 /* OBJECT REFCOUNT 1 even for 0..9999 (COPY) */
/* Storage engine bits (docs/storage.md); all zero when the engine is off. */
#define F_DIRTY    0x10 /* changed since it was last collected by a flush */
#define F_SPILLED  0x20 /* value only on disk: the entry holds vlen 0 */
#define F_ONDISK   0x40 /* some version may be in an SSTable: a delete leaves a tombstone */
#define F_FLUSHING 0x80 /* collected by the flush in flight: not spillable until it commits */
#define F_STORAGE  (F_DIRTY | F_SPILLED | F_ONDISK | F_FLUSHING)

struct ks_entry {
    ks_entry *next;
    uint32_t clock;     /* seconds (24 bits) << 8 | LFU counter (8 bits) */
    uint8_t flags;
    uint8_t data[];
};

#define ENTRY_HDR offsetof(ks_entry, data)

/* nexpires changes only under the shard lock, so a relaxed load and store
 * (plain moves) suffice; the atomic type makes the lock-free reads legal. */
#define nexp_add(t, d) \
    atomic_store_explicit(&(t)->nexpires, atomic_load_explicit(&(t)->nexpires, memory_order_relaxed) + (uint64_t)(d), memory_order_relaxed)
#define nexp_get(t) atomic_load_explicit(&(t)->nexpires, memory_order_relaxed)

typedef struct ks_table {
    ks_entry **b[2];
    uint64_t size[2];       /* bucket counts, powers of two (0: none) */
    uint64_t used[2];
    int64_t rehash_idx;     /* -1 when not rehashing */
    _Atomic uint64_t count;
    _Atomic uint64_t nexpires;  /* written under the lock (nexp_add), read without by eviction */
    uint64_t expire_cursor; /* active-expire position (reverse-binary) */
} ks_table;

/* A delete of a key that may be on disk, waiting for the next flush to
 * write it as a tombstone. db is logical (SWAPDB swaps it, FLUSHDB drops
 * it, both under every shard lock). */
typedef struct ks_tomb {
    struct ks_tomb *next;
    int db;
    size_t klen;
    char key[];
} ks_tomb;

typedef struct ks_shard {
    pthread_mutex_t lock;
    ks_table *dbs;
    ks_tomb *tombs;         /* pending tombstones (storage engine only) */
} __attribute__((aligned(64))) ks_shard;

static ks_shard *shards;
static unsigned nshards, shard_bits;
static int ndbs;
static uint64_t hash_seed;
static _Atomic uint32_t clock_sec;
static _Atomic uint64_t stat_expired;
static _Atomic bool expiry_paused;   /* CLIENT PAUSE: see ks_pause_expiry */

/* Storage engine (docs/storage.md). `st_on` is written once at start,
 * before any other thread exists; with the engine off every hook below
 * costs one predictable branch. */
static bool st_on;
static const ks_storage_ops *st_ops;
static _Atomic uint64_t st_dirty, st_spilled, st_tombs, st_dirty_bytes;

/* Hit/miss counters are per thread: a shared atomic would bounce one cache
 * line between reactor threads on every GET. */
#define MAX_STAT_THREADS 256
typedef struct { _Atomic uint64_t hits, misses; } __attribute__((aligned(64))) thread_stats;
static thread_stats tstats[MAX_STAT_THREADS];
static _Atomic unsigned tstats_next;
static _Thread_local thread_stats *my_stats;

/* ---- varints and entry layout ---------------------------------------- */

static inline size_t varint_len(uint64_t v) {
    size_t n = 1;
    while (v >= 0x80) { v >>= 7; n++; }
    return n;
}

static inline size_t varint_put(uint8_t *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) { p[n++] = (uint8_t)(v | 0x80); v >>= 7; }
    p[n++] = (uint8_t)v;
    return n;
}

static inline size_t varint_get(const uint8_t *p, uint64_t *v) {
    uint64_t r = 0;
    size_t n = 0;
    unsigned shift = 0;
    for (;;) {
        uint8_t b = p[n++];
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
    }
    *v = r;
    return n;
}

typedef struct layout {
    const uint8_t *key;
    size_t klen;
    uint8_t *vlen_at;   /* where the vlen varint starts */
    uint8_t *val;
    size_t vlen;
} layout;

static inline void entry_layout(const ks_entry *e, layout *l) {
    uint64_t v;
    const uint8_t *p = e->data;
    p += varint_get(p, &v);
    l->key = p;
    l->klen = (size_t)v;
    p += v;
    l->vlen_at = (uint8_t *)p;
    p += varint_get(p, &v);
    l->val = (uint8_t *)p;
    l->vlen = (size_t)v;
}

static inline size_t entry_size(size_t klen, size_t vlen, bool expire) {
    return ENTRY_HDR + varint_len(klen) + klen + varint_len(vlen) + vlen + (expire ? 8 : 0);
}

static inline int64_t entry_expire_l(const ks_entry *e, const layout *l) {
    if (!(e->flags & F_EXPIRE)) return KS_NO_EXPIRE;
    int64_t t;
    memcpy(&t, l->val + l->vlen, 8);
    return t;
}

static inline uint32_t clock_now(void) {
    return atomic_load_explicit(&clock_sec, memory_order_relaxed) & 0xffffff;
}

#define LFU_INIT_VAL 5

/* do_ks_set's KS_* flags to the entry's F_* bits. */
static inline uint8_t entry_flags(unsigned flags) {
    return (uint8_t)(((flags & KS_RAW) ? F_RAW : 0) | ((flags & KS_NOINT) ? F_NOINT : 0) |
                     ((flags & KS_UNSHARED) ? F_UNSHARED : 0));
}

/* The write stream's SET record for an entry as it now is (wstream.h). */
static void log_entry(int db, const ks_entry *e) {
    layout l;
    entry_layout(e, &l);
    ws_log_set(db, (const char *)l.key, l.klen, (const char *)l.val, l.vlen, entry_expire_l(e, &l),
               ks_entry_set_flags(e));
}

static ks_entry *entry_new(const ks_key *k, const char *val, size_t vlen, int64_t expire,
                           unsigned flags) {
    bool has_exp = expire != KS_NO_EXPIRE;
    ks_entry *e = xmalloc(entry_size(k->len, vlen, has_exp));
    e->next = NULL;
    e->clock = clock_now() << 8 | LFU_INIT_VAL;
    e->flags = (uint8_t)((has_exp ? F_EXPIRE : 0) | entry_flags(flags));
    uint8_t *p = e->data;
    p += varint_put(p, k->len);
    memcpy(p, k->ptr, k->len);
    p += k->len;
    p += varint_put(p, vlen);
    if (vlen) memcpy(p, val, vlen);
    p += vlen;
    if (has_exp) memcpy(p, &expire, 8);
    return e;
}

/* ---- setup ------------------------------------------------------------ */

void ks_setup(unsigned n, int dbs) {
    if (n == 0 || (n & (n - 1)) || n > KS_MAX_SHARDS) n = 64;
    nshards = n;
    shard_bits = 0;
    while ((1u << shard_bits) < n) shard_bits++;
    ndbs = dbs;
    shards = aligned_alloc(64, sizeof(ks_shard) * n);
    if (!shards) abort();
    for (unsigned i = 0; i < n; i++) {
        pthread_mutex_init(&shards[i].lock, NULL);
        shards[i].tombs = NULL;
        shards[i].dbs = xcalloc((size_t)dbs, sizeof(ks_table));
        for (int d = 0; d < dbs; d++) shards[i].dbs[d].rehash_idx = -1;
    }
    if (getrandom(&hash_seed, sizeof(hash_seed), 0) != sizeof(hash_seed))
        hash_seed = (uint64_t)util_us();
    ks_clock_update(util_ms());
}

static void table_free(ks_table *t) {
    for (int i = 0; i < 2; i++) {
        for (uint64_t j = 0; j < t->size[i]; j++) {
            ks_entry *e = t->b[i][j];
            while (e) {
                ks_entry *n = e->next;
                if (e->flags & F_DIRTY) atomic_fetch_sub_explicit(&st_dirty, 1, memory_order_relaxed);
                if (e->flags & F_SPILLED) atomic_fetch_sub_explicit(&st_spilled, 1, memory_order_relaxed);
                free(e);
                e = n;
            }
        }
        free(t->b[i]);
    }
    memset(t, 0, sizeof(*t));
    t->rehash_idx = -1;
}

static void tombs_free(ks_shard *sh, int only_db) {
    ks_tomb **p = &sh->tombs;
    while (*p) {
        ks_tomb *t = *p;
        if (only_db >= 0 && t->db != only_db) {
            p = &t->next;
            continue;
        }
        *p = t->next;
        free(t);
        atomic_fetch_sub_explicit(&st_tombs, 1, memory_order_relaxed);
    }
}

void ks_teardown(void) {
    if (!shards) return;
    for (unsigned i = 0; i < nshards; i++) {
        tombs_free(&shards[i], -1);
        for (int d = 0; d < ndbs; d++) table_free(&shards[i].dbs[d]);
        free(shards[i].dbs);
        pthread_mutex_destroy(&shards[i].lock);
    }
    free(shards);
    shards = NULL;
}

unsigned ks_nshards(void) { return nshards; }
int ks_ndbs(void) { return ndbs; }

ks_key ks_key_make(const char *ptr, size_t len) {
    ks_key k = {ptr, len, XXH3_64bits_withSeed(ptr, len, hash_seed)};
    return k;
}

unsigned ks_shard_of(const ks_key *k) { return (unsigned)(k->hash & (nshards - 1)); }

static inline ks_table *table_of(int db, const ks_key *k) {
    return &shards[ks_shard_of(k)].dbs[db];
}

static inline uint64_t bucket_hash(uint64_t h) { return h >> shard_bits; }

void ks_prefetch(int db, const char *ptr, size_t len, int what) {
    if (db < 0 || db >= ndbs) return;
    ks_key k = ks_key_make(ptr, len);
    unsigned s = ks_shard_of(&k);
    ks_table *t = &shards[s].dbs[db];
    uint64_t h = bucket_hash(k.hash);
    /* Under the lock even for the bucket's address: the table's geometry
     * changes under it (resize, FLUSHALL, SWAPDB), and an unlocked read
     * would be a data race. trylock: a hint never waits. */
    if (pthread_mutex_trylock(&shards[s].lock) != 0) return;
    if (what == KS_PF_BUCKET) {
        if (t->size[0]) __builtin_prefetch(&t->b[0][h & (t->size[0] - 1)], 0, 3);
        pthread_mutex_unlock(&shards[s].lock);
        return;
    }
    for (int i = 0; i < 2 && t->size[i]; i++) {
        const ks_entry *e = t->b[i][h & (t->size[i] - 1)];
        if (e) {
            __builtin_prefetch(e, 0, 3);
            __builtin_prefetch((const char *)e + 47, 0, 3);   /* a 48-byte entry may straddle */
        }
        if (t->rehash_idx < 0) break;
    }
    pthread_mutex_unlock(&shards[s].lock);
}

/* ---- locking ---------------------------------------------------------- */

/* Set while this thread holds every shard for an EXEC: the lock calls of
 * the commands the transaction runs become no-ops (the mutexes are not
 * recursive, and every lock they would take is already held). */
static _Thread_local bool tl_exclusive;

static inline void shard_lock(unsigned s) {
    if (!tl_exclusive) pthread_mutex_lock(&shards[s].lock);
}

static inline void shard_unlock(unsigned s) {
    if (!tl_exclusive) pthread_mutex_unlock(&shards[s].lock);
}

void ks_lock_shard(unsigned s) { shard_lock(s); }
void ks_unlock_shard(unsigned s) { shard_unlock(s); }
void ks_lock_key(const ks_key *k) { shard_lock(ks_shard_of(k)); }
void ks_unlock_key(const ks_key *k) { shard_unlock(ks_shard_of(k)); }

void ks_exclusive_begin(void) {
    for (unsigned s = 0; s < nshards; s++) pthread_mutex_lock(&shards[s].lock);
    tl_exclusive = true;
}

void ks_exclusive_end(void) {
    tl_exclusive = false;
    for (unsigned s = nshards; s-- > 0;) pthread_mutex_unlock(&shards[s].lock);
}

void ks_lockset_init(ks_lockset *ls) {
    memset(ls->bits, 0, sizeof(uint64_t) * ((nshards + 63) / 64));
    ls->all = false;
}

void ks_lockset_add(ks_lockset *ls, const ks_key *k) {
    unsigned s = ks_shard_of(k);
    ls->bits[s / 64] |= 1ULL << (s % 64);
}

void ks_lockset_all(ks_lockset *ls) { ls->all = true; }

/* Ascending shard order is the one lock order of the keyspace. */
void ks_lockset_lock(ks_lockset *ls) {
    for (unsigned s = 0; s < nshards; s++)
        if (ls->all || (ls->bits[s / 64] >> (s % 64) & 1)) shard_lock(s);
}

void ks_lockset_unlock(ks_lockset *ls) {
    for (unsigned s = nshards; s-- > 0;)
        if (ls->all || (ls->bits[s / 64] >> (s % 64) & 1)) shard_unlock(s);
}

/* ---- hash table core (caller holds the shard lock) --------------------- */

static inline uint64_t entry_hash(const ks_entry *e) {
    layout l;
    entry_layout(e, &l);
    return bucket_hash(XXH3_64bits_withSeed(l.key, l.klen, hash_seed));
}

/* Move one bucket of b[0] to b[1]; visit at most `empty` empty buckets. */
static void rehash_step(ks_table *t, int empty) {
    if (t->rehash_idx < 0) return;
    while (t->used[0] && t->b[0][t->rehash_idx] == NULL) {
        t->rehash_idx++;
        if (--empty == 0) return;
    }
    if (t->used[0]) {
        ks_entry *e = t->b[0][t->rehash_idx];
        uint64_t mask = t->size[1] - 1;
        while (e) {
            ks_entry *n = e->next;
            uint64_t idx = entry_hash(e) & mask;
            e->next = t->b[1][idx];
            t->b[1][idx] = e;
            t->used[0]--;
            t->used[1]++;
            e = n;
        }
        t->b[0][t->rehash_idx] = NULL;
        t->rehash_idx++;
    }
    if (t->used[0] == 0) {
        free(t->b[0]);
        t->b[0] = t->b[1];
        t->size[0] = t->size[1];
        t->used[0] = t->used[1];
        t->b[1] = NULL;
        t->size[1] = t->used[1] = 0;
        t->rehash_idx = -1;
    }
}

static void start_resize(ks_table *t, uint64_t want) {
    uint64_t size = 4;
    while (size < want) size <<= 1;
    if (t->size[0] == 0) {
        t->b[0] = xcalloc(size, sizeof(ks_entry *));
        t->size[0] = size;
        return;
    }
    if (size == t->size[0]) return;
    t->b[1] = xcalloc(size, sizeof(ks_entry *));
    t->size[1] = size;
    t->rehash_idx = 0;
}

/* Grow at load factor 1, shrink below 1/8: between the two a table is
 * stable, so a workload near a boundary does not resize back and forth. */
static inline void maybe_resize(ks_table *t) {
    if (t->rehash_idx >= 0) return;
    uint64_t n = t->used[0];
    if (t->size[0] == 0 || n >= t->size[0]) start_resize(t, n * 2 > 4 ? n * 2 : 4);
    else if (t->size[0] > 4 && n < t->size[0] / 8) start_resize(t, n * 2 > 4 ? n * 2 : 4);
}

static inline bool entry_is(const ks_entry *e, const ks_key *k) {
    const uint8_t *p = e->data;
    uint64_t klen;
    p += varint_get(p, &klen);
    return klen == k->len && memcmp(p, k->ptr, k->len) == 0;
}

/* The address of the pointer to k's entry, or NULL. */
static ks_entry **find_slot(ks_table *t, const ks_key *k) {
    if (t->size[0] == 0) return NULL;
    if (t->rehash_idx >= 0) rehash_step(t, 10);
    uint64_t h = bucket_hash(k->hash);
    for (int i = 0; i < 2; i++) {
        if (t->size[i] == 0) break;
        ks_entry **slot = &t->b[i][h & (t->size[i] - 1)];
        while (*slot) {
            if (entry_is(*slot, k)) return slot;
            slot = &(*slot)->next;
        }
        if (t->rehash_idx < 0) break;
    }
    return NULL;
}

static void link_new(ks_table *t, const ks_key *k, ks_entry *e) {
    maybe_resize(t);
    int i = t->rehash_idx >= 0 ? 1 : 0;
    uint64_t idx = bucket_hash(k->hash) & (t->size[i] - 1);
    e->next = t->b[i][idx];
    t->b[i][idx] = e;
    t->used[i]++;
    atomic_fetch_add_explicit(&t->count, 1, memory_order_relaxed);
    if (e->flags & F_EXPIRE) nexp_add(t, 1);
}

/* Which bucket array holds a slot; needed to keep used[] right. */
static int slot_table(ks_table *t, ks_entry **slot, const ks_key *k) {
    if (t->rehash_idx < 0) return 0;
    uint64_t h = bucket_hash(k->hash);
    ks_entry *e = *slot;
    for (ks_entry *x = t->b[0][h & (t->size[0] - 1)]; x; x = x->next)
        if (x == e) return 0;
    return 1;
}

/* ---- storage engine bookkeeping (docs/storage.md) ---------------------- */

static void tomb_push(unsigned s, int db, const char *key, size_t klen) {
    ks_tomb *t = xmalloc(sizeof(*t) + klen);
    t->db = db;
    t->klen = klen;
    memcpy(t->key, key, klen);
    t->next = shards[s].tombs;
    shards[s].tombs = t;
    atomic_fetch_add_explicit(&st_tombs, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&st_dirty_bytes, klen + 16, memory_order_relaxed);
}

/* An entry leaves the table for good (delete, expiry, eviction): counters,
 * and a tombstone if some version of it may be on disk. k may be NULL. */
static void entry_dropped(int db, const ks_key *k, const ks_entry *e) {
    if (!st_on) return;
    if (e->flags & F_DIRTY) atomic_fetch_sub_explicit(&st_dirty, 1, memory_order_relaxed);
    if (e->flags & F_SPILLED) atomic_fetch_sub_explicit(&st_spilled, 1, memory_order_relaxed);
    if (e->flags & F_ONDISK) {
        layout l;
        entry_layout(e, &l);
        unsigned s = k ? ks_shard_of(k)
                       : (unsigned)(XXH3_64bits_withSeed(l.key, l.klen, hash_seed) & (nshards - 1));
        tomb_push(s, db, (const char *)l.key, l.klen);
    }
}

/* A write changed e (old_bits: the storage bits before, 0 for a new key):
 * it is dirty until the next flush collects it, and holds its value. */
static inline void entry_written(ks_entry *e, uint8_t old_bits) {
    if (!st_on) return;
    if (old_bits & F_SPILLED) atomic_fetch_sub_explicit(&st_spilled, 1, memory_order_relaxed);
    if (!(old_bits & F_DIRTY)) atomic_fetch_add_explicit(&st_dirty, 1, memory_order_relaxed);
    e->flags = (uint8_t)((e->flags & ~F_STORAGE) | (old_bits & (F_ONDISK | F_FLUSHING)) | F_DIRTY);
    layout l;
    entry_layout(e, &l);
    atomic_fetch_add_explicit(&st_dirty_bytes, l.klen + l.vlen + 16, memory_order_relaxed);
}

static void unlink_free(int db, const ks_key *k, ks_table *t, ks_entry **slot, int which) {
    ks_entry *e = *slot;
    *slot = e->next;
    t->used[which]--;
    atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
    if (e->flags & F_EXPIRE) nexp_add(t, -1);
    entry_dropped(db, k, e);
    free(e);
    maybe_resize(t);
}

/* Read a spilled entry's value back from disk into a new allocation that
 * replaces it in its chain (the caller holds the shard lock: the disk read
 * happens under it, docs/storage.md). Returns the new entry, or NULL when
 * the read failed (logged by the storage layer). */
static ks_entry *materialize(int db, const ks_key *k, ks_entry **slot) {
    ks_entry *e = *slot;
    char *val = NULL;
    size_t vlen = 0;
    unsigned vflags = 0;
    if (st_ops->load(db, k->ptr, k->len, &val, &vlen, &vflags) != 0) return NULL;
    layout l;
    entry_layout(e, &l);
    ks_entry *n = entry_new(k, val, vlen, entry_expire_l(e, &l), vflags);
    free(val);
    n->clock = e->clock;
    n->flags = (uint8_t)((n->flags & ~F_STORAGE) | (e->flags & (F_ONDISK | F_FLUSHING | F_DIRTY)));
    n->next = e->next;
    *slot = n;
    free(e);
    atomic_fetch_sub_explicit(&st_spilled, 1, memory_order_relaxed);
    return n;
}

static inline bool expired(const ks_entry *e, int64_t now) {
    if (!(e->flags & F_EXPIRE)) return false;
    layout l;
    entry_layout(e, &l);
    return entry_expire_l(e, &l) < now;   /* Redis: expired when now > when */
}

/* ---- public single-key operations -------------------------------------- */

ks_entry *do_ks_find_meta(int db, const ks_key *k, int64_t now_ms) {
    ks_table *t = table_of(db, k);
    ks_entry **slot = find_slot(t, k);
    if (!slot) return NULL;
    if (expired(*slot, now_ms)) {
        if (atomic_load_explicit(&expiry_paused, memory_order_relaxed)) return NULL;
        if (ws_on()) ws_log_del(db, k->ptr, k->len);
        unlink_free(db, k, t, slot, slot_table(t, slot, k));
        atomic_fetch_add_explicit(&stat_expired, 1, memory_order_relaxed);
        watch_touch_key(db, k);
        return NULL;
    }
    return *slot;
}

ks_entry *do_ks_find(int db, const ks_key *k, int64_t now_ms) {
    ks_entry *e = do_ks_find_meta(db, k, now_ms);
    if (e && (e->flags & F_SPILLED)) {
        ks_entry **slot = find_slot(table_of(db, k), k);
        e = materialize(db, k, slot);
    }
    return e;
}

ks_entry *do_ks_set(int db, const ks_key *k, const char *val, size_t vlen,
                    int64_t expire_ms, unsigned flags) {
    ks_table *t = table_of(db, k);
    ks_entry **slot = find_slot(t, k);
    watch_touch_key(db, k);
    if (!slot) {
        if (flags & KS_KEEPTTL) expire_ms = KS_NO_EXPIRE;
        ks_entry *e = entry_new(k, val, vlen, expire_ms, flags);
        entry_written(e, 0);
        link_new(t, k, e);
        if (ws_on()) log_entry(db, e);
        return e;
    }
    ks_entry *old = *slot;
    uint8_t old_bits = old->flags & F_STORAGE;
    layout l;
    entry_layout(old, &l);
    if (flags & KS_KEEPTTL) expire_ms = entry_expire_l(old, &l);
    bool had_exp = old->flags & F_EXPIRE, has_exp = expire_ms != KS_NO_EXPIRE;
    size_t need = entry_size(k->len, vlen, has_exp);
    size_t usable = util_alloc_size(old);
    ks_entry *e;
    if (need <= usable && need * 2 > usable) {
        /* Overwrite in place: same key, the allocation still fits and is
         * not wastefully large for the new value. Saves a free+malloc on
         * the SET-over-existing path. */
        e = old;
        uint8_t *p = l.vlen_at;
        p += varint_put(p, vlen);
        if (vlen) memmove(p, val, vlen);
        p += vlen;
        if (has_exp) memcpy(p, &expire_ms, 8);
        e->flags = (uint8_t)((has_exp ? F_EXPIRE : 0) | entry_flags(flags));
        e->clock = clock_now() << 8 | (e->clock & 0xff);
    } else {
        e = entry_new(k, val, vlen, expire_ms, flags);
        e->clock = (e->clock & ~0xffu) | (old->clock & 0xff);
        e->next = old->next;
        *slot = e;
        free(old);
    }
    entry_written(e, old_bits);
    if (had_exp && !has_exp) nexp_add(t, -1);
    if (!had_exp && has_exp) nexp_add(t, 1);
    if (ws_on()) log_entry(db, e);
    return e;
}

char *do_ks_resize(int db, const ks_key *k, size_t newlen) {
    ks_table *t = table_of(db, k);
    ks_entry **slot = find_slot(t, k);
    if (!slot) return NULL;
    watch_touch_key(db, k);
    if (((*slot)->flags & F_SPILLED) && !materialize(db, k, slot)) return NULL;
    ks_entry *e = *slot;
    entry_written(e, e->flags & F_STORAGE);
    layout l;
    entry_layout(e, &l);
    bool has_exp = e->flags & F_EXPIRE;
    int64_t exp = entry_expire_l(e, &l);
    size_t oldlen = l.vlen;
    size_t need = entry_size(k->len, newlen, has_exp);
    if (need > util_alloc_size(e)) {
        /* Grow with slack, like sds's greedy growth, so a loop of APPENDs
         * costs amortized O(1) per byte instead of a copy each time. */
        size_t slack = need < (1 << 20) ? need : (1 << 20);
        size_t off_vlen = (size_t)(l.vlen_at - (uint8_t *)e);
        ks_entry *n = xrealloc(e, need + slack);
        *slot = n;
        e = n;
        l.vlen_at = (uint8_t *)e + off_vlen;
    }
    size_t wold = varint_len(oldlen), wnew = varint_len(newlen);
    uint8_t *oldval = l.vlen_at + wold, *newval = l.vlen_at + wnew;
    if (wold != wnew) memmove(newval, oldval, oldlen < newlen ? oldlen : newlen);
    varint_put(l.vlen_at, newlen);
    if (newlen > oldlen) memset(newval + oldlen, 0, newlen - oldlen);
    if (has_exp) memcpy(newval + newlen, &exp, 8);
    e->flags |= F_RAW;
    return (char *)newval;
}

size_t do_ks_write_at(int db, const ks_key *k, size_t offset, const char *data, size_t len) {
    ks_entry **slot = find_slot(table_of(db, k), k);
    if (!slot) return 0;
    layout l;
    entry_layout(*slot, &l);
    size_t newlen = offset + len > l.vlen ? offset + len : l.vlen;
    char *p = do_ks_resize(db, k, newlen);
    if (len) memcpy(p + offset, data, len);
    if (ws_on()) ws_log_setrange(db, k->ptr, k->len, offset, data, len);
    return newlen;
}

bool do_ks_delete(int db, const ks_key *k, int64_t now_ms) {
    ks_table *t = table_of(db, k);
    ks_entry **slot = find_slot(t, k);
    if (!slot) return false;
    watch_touch_key(db, k);
    bool live = !expired(*slot, now_ms);
    if (!live) atomic_fetch_add_explicit(&stat_expired, 1, memory_order_relaxed);
    if (ws_on()) ws_log_del(db, k->ptr, k->len);
    unlink_free(db, k, t, slot, slot_table(t, slot, k));
    return live;
}

bool do_ks_set_expire(int db, const ks_key *k, int64_t expire_ms) {
    ks_table *t = table_of(db, k);
    ks_entry **slot = find_slot(t, k);
    if (!slot) return false;
    watch_touch_key(db, k);
    /* A dirty entry always holds its value (the flush writes it whole). */
    if (((*slot)->flags & F_SPILLED) && !materialize(db, k, slot)) return false;
    ks_entry *e = *slot;
    entry_written(e, e->flags & F_STORAGE);
    layout l;
    entry_layout(e, &l);
    bool had = e->flags & F_EXPIRE, has = expire_ms != KS_NO_EXPIRE;
    if (has && !had) {
        size_t off_val = (size_t)(l.val - (uint8_t *)e);
        size_t need = entry_size(l.klen, l.vlen, true);
        if (need > util_alloc_size(e)) {
            e = xrealloc(e, need);
            *slot = e;
        }
        l.val = (uint8_t *)e + off_val;
        nexp_add(t, 1);
    } else if (had && !has) {
        nexp_add(t, -1);
    }
    if (has) memcpy(l.val + l.vlen, &expire_ms, 8);
    e->flags = (uint8_t)((e->flags & ~F_EXPIRE) | (has ? F_EXPIRE : 0));
    if (ws_on()) ws_log_expire(db, k->ptr, k->len, expire_ms);
    return true;
}

int do_ks_move(int src, int dst, const ks_key *k, int64_t now_ms) {
    ks_entry *e = do_ks_find(src, k, now_ms);
    if (!e) return -1;
    if (do_ks_find(dst, k, now_ms)) return -2;
    ks_table *ts = table_of(src, k), *td = table_of(dst, k);
    ks_entry **slot = find_slot(ts, k);
    int which = slot_table(ts, slot, k);
    /* Unlink without freeing, then link the same allocation into dst. */
    *slot = e->next;
    ts->used[which]--;
    atomic_fetch_sub_explicit(&ts->count, 1, memory_order_relaxed);
    if (e->flags & F_EXPIRE) nexp_add(ts, -1);
    maybe_resize(ts);
    if (st_on) {
        /* For the disk a move is a delete in src and a new key in dst. */
        entry_dropped(src, k, e);
        e->flags &= (uint8_t)~F_STORAGE;
        entry_written(e, 0);
    }
    link_new(td, k, e);
    if (ws_on()) {
        ws_log_del(src, k->ptr, k->len);
        log_entry(dst, e);
    }
    watch_touch_key(src, k);
    watch_touch_key(dst, k);
    return 0;
}

/* ---- entry accessors ---------------------------------------------------- */

const char *ks_entry_key(const ks_entry *e, size_t *len) {
    layout l;
    entry_layout(e, &l);
    *len = l.klen;
    return (const char *)l.key;
}

const char *ks_entry_val(const ks_entry *e, size_t *len) {
    /* Invariant: only do_ks_find's entries are read for their value, and
     * it loads spilled ones; a spilled entry here is a caller's bug. */
    if (e->flags & F_SPILLED) abort();
    layout l;
    entry_layout(e, &l);
    *len = l.vlen;
    return (const char *)l.val;
}

int64_t ks_entry_expire(const ks_entry *e) {
    layout l;
    entry_layout(e, &l);
    return entry_expire_l(e, &l);
}

enum ks_type ks_entry_type(const ks_entry *e) { (void)e; return KS_STRING; }

enum ks_encoding ks_entry_encoding(const ks_entry *e) {
    layout l;
    entry_layout(e, &l);
    long long v;
    /* Redis stores a string as an integer when it parses as one and has at
     * most 20 chars; OBJECT ENCODING reports "int" even after APPEND made
     * it raw only if it was re-set. */
    if (!(e->flags & (F_RAW | F_NOINT)) && l.vlen <= 20 && util_str2ll((const char *)l.val, l.vlen, &v))
        return KS_ENC_INT;
    if (!(e->flags & F_RAW) && l.vlen <= 44) return KS_ENC_EMBSTR;
    return KS_ENC_RAW;
}

unsigned ks_entry_set_flags(const ks_entry *e) {
    return ((e->flags & F_RAW) ? KS_RAW : 0) | ((e->flags & F_NOINT) ? KS_NOINT : 0) |
           ((e->flags & F_UNSHARED) ? KS_UNSHARED : 0);
}

/* A fast per-thread generator (xorshift64*) for the LFU coin and eviction
 * sampling: random() takes a process-wide lock, which every GET touching a
 * key would then bounce between reactor threads. */
static _Thread_local uint64_t rng_state;

static inline uint64_t rng_next(void) {
    uint64_t x = rng_state;
    if (__builtin_expect(x == 0, 0)) {
        x = hash_seed ^ (uint64_t)(uintptr_t)&rng_state ^ (uint64_t)util_mono_us();
        if (x == 0) x = 0x9e3779b97f4a7c15ULL;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Redis's LFUDecrAndReturn: one step down per lfu-decay-time minutes since
 * the last access. Redis keeps the access time in minutes, so a minute
 * boundary crossed counts as a minute; the same count from our seconds. */
static uint8_t lfu_decayed(const ks_entry *e) {
    uint32_t now = clock_now(), then = e->clock >> 8;
    uint32_t idle = (now - then) & 0xffffff;
    uint32_t minutes = (then % 60 + idle) / 60;
    uint8_t counter = e->clock & 0xff;
    if (cfg.lfu_decay_time > 0) {
        uint32_t periods = minutes / (uint32_t)cfg.lfu_decay_time;
        counter = periods > counter ? 0 : (uint8_t)(counter - periods);
    }
    return counter;
}

static inline bool lfu_policy(void) {
    int p = cfg.maxmemory_policy;
    return p == MM_ALLKEYS_LFU || p == MM_VOLATILE_LFU;
}

void ks_entry_touch(ks_entry *e) {
    /* As Redis: under an LFU policy an access decays, then maybe bumps, the
     * counter; under the others it only moves the access time (OBJECT FREQ
     * is refused there anyway). The counter survives for a later switch to
     * LFU, decayed by the time since the last access. */
    uint8_t counter = e->clock & 0xff;
    if (lfu_policy()) {
        counter = lfu_decayed(e);
        if (counter < 255) {
            /* Logarithmic counter: the more hits, the less likely the next
             * one increments it, so 8 bits cover a million hits
             * (lfu-log-factor). */
            double r = (double)(rng_next() >> 11) * 0x1.0p-53;
            double base = counter > LFU_INIT_VAL ? counter - LFU_INIT_VAL : 0;
            if (r < 1.0 / (base * (double)cfg.lfu_log_factor + 1)) counter++;
        }
    }
    e->clock = clock_now() << 8 | counter;
}

uint32_t ks_entry_idle_seconds(const ks_entry *e) {
    return (clock_now() - (e->clock >> 8)) & 0xffffff;
}

uint8_t ks_entry_lfu(const ks_entry *e) { return lfu_decayed(e); }

uint32_t ks_entry_lru_clock(const ks_entry *e) { return e->clock >> 8; }

size_t ks_entry_mem(const ks_entry *e) {
    return util_alloc_size((void *)e) + sizeof(ks_entry *);
}

/* ---- counts and whole-keyspace operations ------------------------------ */

uint64_t ks_dbsize(int db) {
    uint64_t n = 0;
    for (unsigned s = 0; s < nshards; s++)
        n += atomic_load_explicit(&shards[s].dbs[db].count, memory_order_relaxed);
    return n;
}

uint64_t ks_expires_count(int db) {
    uint64_t n = 0;
    for (unsigned s = 0; s < nshards; s++) n += nexp_get(&shards[s].dbs[db]);
    return n;
}

/* In the table at all, expired or not (what FLUSHDB/SWAPDB report to
 * WATCH, as Redis's dictFind). Caller holds every shard. */
static bool present(int db, const ks_key *k) {
    return find_slot(table_of(db, k), k) != NULL;
}

uint64_t ks_db_overhead(int db) {
    uint64_t n = 0;
    for (unsigned s = 0; s < nshards; s++) {
        shard_lock(s);
        const ks_table *t = &shards[s].dbs[db];
        n += sizeof(*t) + (t->size[0] + t->size[1]) * sizeof(ks_entry *);
        shard_unlock(s);
    }
    return n;
}

/* Detach the tables under the locks, free them after: the lock is held for
 * O(shards), not O(keys). */
static void flush_dbs(int only_db) {
    ks_lockset ls;
    ks_lockset_init(&ls);
    ks_lockset_all(&ls);
    size_t n = (size_t)nshards * (size_t)ndbs;
    ks_table *old = xcalloc(n, sizeof(ks_table));
    ks_lockset_lock(&ls);
    watch_touch_flush(only_db, present);
    if (ws_on()) ws_log_flushdb(only_db);
    if (st_on) {
        for (unsigned s = 0; s < nshards; s++) tombs_free(&shards[s], only_db);
        st_ops->drop_db(only_db);
    }
    for (unsigned s = 0; s < nshards; s++)
        for (int d = 0; d < ndbs; d++) {
            if (only_db >= 0 && d != only_db) continue;
            ks_table *t = &shards[s].dbs[d];
            memcpy(&old[s * (size_t)ndbs + d], t, sizeof(*t));
            memset(t, 0, sizeof(*t));
            t->rehash_idx = -1;
        }
    ks_lockset_unlock(&ls);
    for (size_t i = 0; i < n; i++) table_free(&old[i]);
    free(old);
}

void ks_flushdb(int db) { flush_dbs(db); }
void ks_flushall(void) { flush_dbs(-1); }

void ks_swapdb(int a, int b) {
    ks_lockset ls;
    ks_lockset_init(&ls);
    ks_lockset_all(&ls);
    ks_lockset_lock(&ls);
    watch_touch_swap(a, b, present);
    if (ws_on()) ws_log_swapdb(a, b);
    if (st_on) {
        for (unsigned s = 0; s < nshards; s++)
            for (ks_tomb *t = shards[s].tombs; t; t = t->next)
                if (t->db == a) t->db = b;
                else if (t->db == b) t->db = a;
        st_ops->swap_db(a, b);
    }
    for (unsigned s = 0; s < nshards; s++) {
        ks_table tmp;
        memcpy(&tmp, &shards[s].dbs[a], sizeof(tmp));
        memcpy(&shards[s].dbs[a], &shards[s].dbs[b], sizeof(tmp));
        memcpy(&shards[s].dbs[b], &tmp, sizeof(tmp));
    }
    ks_lockset_unlock(&ls);
}

void do_ks_log_all(void) {
    for (unsigned s = 0; s < nshards; s++)
        for (int d = 0; d < ndbs; d++) {
            ks_table *t = &shards[s].dbs[d];
            for (int i = 0; i < 2; i++)
                for (uint64_t j = 0; j < t->size[i]; j++)
                    for (ks_entry *e = t->b[i][j]; e; e = e->next) log_entry(d, e);
        }
}

/* ---- SCAN --------------------------------------------------------------
 * Reverse-binary cursor over the bucket index, as in Redis's dictScan: it
 * increments the high bits first, so buckets visited before a resize map to
 * buckets visited after it, and no key present throughout is missed. */

static inline uint64_t rev(uint64_t v) {
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
    v = ((v >> 8) & 0x00FF00FF00FF00FFULL) | ((v & 0x00FF00FF00FF00FFULL) << 8);
    v = ((v >> 16) & 0x0000FFFF0000FFFFULL) | ((v & 0x0000FFFF0000FFFFULL) << 16);
    return (v >> 32) | (v << 32);
}

static unsigned long emit_bucket(ks_entry *e, int64_t now, ks_scan_fn *fn, void *priv) {
    unsigned long n = 0;
    for (; e; e = e->next)
        if (!expired(e, now)) {
            fn(priv, e);
            n++;
        }
    return n;
}

/* One dictScan step on table t at cursor v; returns the next v and adds
 * the number of keys emitted to *emitted. */
static uint64_t scan_step(ks_table *t, uint64_t v, int64_t now, ks_scan_fn *fn, void *priv,
                          unsigned long *emitted) {
    if (t->size[0] == 0) return 0;
    if (t->rehash_idx < 0) {
        uint64_t m0 = t->size[0] - 1;
        *emitted += emit_bucket(t->b[0][v & m0], now, fn, priv);
        v |= ~m0;
        v = rev(rev(v) + 1);
        return v;
    }
    int small = t->size[0] <= t->size[1] ? 0 : 1, big = 1 - small;
    uint64_t m0 = t->size[small] - 1, m1 = t->size[big] - 1;
    *emitted += emit_bucket(t->b[small][v & m0], now, fn, priv);
    do {
        *emitted += emit_bucket(t->b[big][v & m1], now, fn, priv);
        v |= ~m1;
        v = rev(rev(v) + 1);
    } while (v & (m0 ^ m1));
    return v;
}

uint64_t ks_scan(int db, uint64_t cursor, unsigned long count, int64_t now_ms,
                 ks_scan_fn *fn, void *priv) {
    unsigned s = (unsigned)(cursor & (nshards - 1));
    uint64_t v = cursor >> shard_bits;
    unsigned long emitted = 0, steps = 0;
    unsigned long max_steps = count > ULONG_MAX / 10 ? ULONG_MAX : count * 10;
    while (s < nshards) {
        shard_lock(s);
        ks_table *t = &shards[s].dbs[db];
        do {
            v = scan_step(t, v, now_ms, fn, priv, &emitted);
            steps++;
        } while (v != 0 && emitted < count && steps < max_steps);
        shard_unlock(s);
        if (v == 0) {
            s++;
            if (emitted >= count || steps >= max_steps) break;
        } else {
            break;
        }
    }
    if (s >= nshards) return 0;
    return v << shard_bits | s;
}

bool ks_random_key(int db, int64_t now_ms, char **buf, size_t *len) {
    for (int attempt = 0; attempt < 100; attempt++) {
        uint64_t total = ks_dbsize(db);
        if (total == 0) return false;
        uint64_t r = ((uint64_t)random() << 31 ^ (uint64_t)random()) % total;
        unsigned s = 0;
        for (; s < nshards; s++) {
            uint64_t c = atomic_load_explicit(&shards[s].dbs[db].count, memory_order_relaxed);
            if (r < c) break;
            r -= c;
        }
        if (s == nshards) continue;
        shard_lock(s);
        ks_table *t = &shards[s].dbs[db];
        ks_entry *found = NULL;
        if (atomic_load_explicit(&t->count, memory_order_relaxed) > 0) {
            /* Pick non-empty buckets at random, then an element of the
             * chain at random; chains are short at load factor <= 1. */
            for (int tries = 0; tries < 1000 && !found; tries++) {
                int i = (t->rehash_idx >= 0 && (random() & 1)) ? 1 : 0;
                if (t->size[i] == 0) continue;
                uint64_t idx = ((uint64_t)random() << 31 ^ (uint64_t)random()) & (t->size[i] - 1);
                ks_entry *e = t->b[i][idx];
                if (!e) continue;
                int n = 0;
                for (ks_entry *x = e; x; x = x->next) n++;
                int pick = (int)(random() % n);
                while (pick--) e = e->next;
                found = e;
            }
        }
        if (found && expired(found, now_ms)) {
            size_t kl;
            const char *kp = ks_entry_key(found, &kl);
            ks_key k = ks_key_make(kp, kl);
            do_ks_delete(db, &k, now_ms);
            found = NULL;
        }
        if (found) {
            const char *kp = ks_entry_key(found, len);
            *buf = xstrndup(kp, *len);
        }
        shard_unlock(s);
        if (found) return true;
    }
    return false;
}

/* ---- active expiry -------------------------------------------------------
 * Walk each table that holds keys with a TTL from a persistent cursor. A
 * cycle visits at least enough buckets to cover the table in ~10 s (so a
 * never-read key is reclaimed within that) and keeps going while more than
 * 10% of the keys it checks turn out expired, within the time budget. The
 * lock is dropped every 256 buckets so reactors are never held up long. */

#define EXPIRE_CHUNK 256

static uint64_t expire_chunk(ks_table *t, int db, int64_t now, uint64_t *checked) {
    uint64_t removed = 0;
    for (int n = 0; n < EXPIRE_CHUNK && t->size[0]; n++) {
        if (t->rehash_idx >= 0) rehash_step(t, 10);
        for (int i = 0; i < 2; i++) {
            if (t->size[i] == 0) continue;
            ks_entry **slot = &t->b[i][t->expire_cursor & (t->size[i] - 1)];
            while (*slot) {
                ks_entry *e = *slot;
                if (e->flags & F_EXPIRE) {
                    (*checked)++;
                    if (expired(e, now)) {
                        if (ws_on()) {
                            size_t kl;
                            const char *kp = ks_entry_key(e, &kl);
                            ws_log_del(db, kp, kl);
                        }
                        if (atomic_load_explicit(&watch_nkeys, memory_order_relaxed)) {
                            size_t kl;
                            const char *kp = ks_entry_key(e, &kl);
                            ks_key k = ks_key_make(kp, kl);
                            watch_touch_slow(db, &k);
                        }
                        *slot = e->next;
                        t->used[i]--;
                        atomic_fetch_sub_explicit(&t->count, 1, memory_order_relaxed);
                        nexp_add(t, -1);
                        entry_dropped(db, NULL, e);
                        free(e);
                        removed++;
                        continue;
                    }
                }
                slot = &e->next;
            }
        }
        uint64_t m = t->size[0] - 1;
        if (t->size[1] > t->size[0]) m = t->size[1] - 1;
        uint64_t v = t->expire_cursor | ~m;
        t->expire_cursor = rev(rev(v) + 1);
    }
    if (removed) maybe_resize(t);
    return removed;
}

void ks_pause_expiry(bool paused) { atomic_store(&expiry_paused, paused); }

uint64_t ks_active_expire(unsigned first, unsigned step, int64_t now_ms, uint64_t budget_us) {
    if (atomic_load_explicit(&expiry_paused, memory_order_relaxed)) return 0;
    int64_t start = util_mono_us();
    uint64_t removed = 0;
    for (unsigned s = first; s < nshards; s += step) {
        for (int d = 0; d < ndbs; d++) {
            ks_table *t = &shards[s].dbs[d];
            shard_lock(s);
            uint64_t size = t->size[0] > t->size[1] ? t->size[0] : t->size[1];
            bool has = nexp_get(t) > 0;
            shard_unlock(s);
            if (!has) continue;
            uint64_t hz = cfg.hz > 0 ? (uint64_t)cfg.hz : 10;
            uint64_t min_buckets = size / (hz * 10) + 1;
            uint64_t done = 0;
            for (;;) {
                uint64_t checked = 0, got;
                shard_lock(s);
                got = expire_chunk(t, d, now_ms, &checked);
                bool more = nexp_get(t) > 0;
                shard_unlock(s);
                removed += got;
                done += EXPIRE_CHUNK;
                if (!more) break;
                if ((uint64_t)(util_mono_us() - start) > budget_us) goto out;
                if (done >= min_buckets && got * 10 <= checked) break;
                if (done >= size * 2) break;
            }
        }
    }
out:
    atomic_fetch_add_explicit(&stat_expired, removed, memory_order_relaxed);
    return removed;
}

/* ---- eviction sampling ---------------------------------------------------
 * evict.c chooses what to evict; these two functions are all it needs from
 * the table: a few entries sampled from a random place (Redis's
 * dictGetSomeKeys), and the removal of one key it chose. */

/* Up to `want` entries of t (only those with an expiry when vol), from
 * consecutive buckets starting at a random one, in both arrays while
 * rehashing; after a run of empty buckets jump elsewhere, as Redis does.
 * A table with candidates never yields zero: past want*10 steps without a
 * find, the walk stops jumping and goes on until it has covered every
 * bucket once, which only a sparse volatile table (a few keys with a TTL
 * among many without) ever needs. Caller holds the shard lock. */
static unsigned sample_table(ks_table *t, bool vol, unsigned want, ks_sample_fn *fn, void *priv) {
    if (t->size[0] == 0) return 0;
    uint64_t maxmask = t->size[0] - 1;
    if (t->size[1] > t->size[0]) maxmask = t->size[1] - 1;
    uint64_t cap = (uint64_t)want * 10, full = maxmask + 1;
    uint64_t i = rng_next() & maxmask, steps = 0;
    unsigned got = 0, emptylen = 0;
    while (got < want) {
        bool capped = steps >= cap;
        if (capped && (got > 0 || steps >= cap + full)) break;
        for (int j = 0; j < 2; j++) {
            if (t->size[j] == 0 || i >= t->size[j]) continue;
            /* invariant 2: b[0] below rehash_idx is empty */
            if (j == 0 && t->rehash_idx >= 0 && i < (uint64_t)t->rehash_idx) continue;
            ks_entry *e = t->b[j][i];
            if (!e) {
                if (!capped && ++emptylen >= 5 && emptylen > want) {
                    i = rng_next() & maxmask;
                    emptylen = 0;
                }
                continue;
            }
            emptylen = 0;
            for (; e; e = e->next) {
                if (vol && !(e->flags & F_EXPIRE)) continue;
                fn(priv, e);
                if (++got == want) return got;
            }
        }
        i = (i + 1) & maxmask;
        steps++;
    }
    return got;
}

unsigned ks_evict_sample(int db, bool volatile_only, unsigned want, ks_sample_fn *fn, void *priv) {
    unsigned start = (unsigned)rng_next() & (nshards - 1);
    for (unsigned n = 0; n < nshards; n++) {
        unsigned s = (start + n) & (nshards - 1);
        ks_table *t = &shards[s].dbs[db];
        /* Lock-free look first: most shards of a volatile-* search may
         * hold no key with a TTL. */
        if (!(volatile_only ? nexp_get(t) : atomic_load_explicit(&t->count, memory_order_relaxed)))
            continue;
        shard_lock(s);
        unsigned got = sample_table(t, volatile_only, want, fn, priv);
        shard_unlock(s);
        if (got) return got;
    }
    return 0;
}

uint64_t ks_evict_candidates(int db, bool volatile_only) {
    return volatile_only ? ks_expires_count(db) : ks_dbsize(db);
}

size_t do_ks_evict(int db, const ks_key *k, bool volatile_only) {
    ks_table *t = table_of(db, k);
    ks_entry **slot = find_slot(t, k);
    if (!slot) return 0;
    if (volatile_only && !((*slot)->flags & F_EXPIRE)) return 0;
    size_t freed = util_alloc_size(*slot);
    watch_touch_key(db, k);
    if (ws_on()) ws_log_del(db, k->ptr, k->len);
    unlink_free(db, k, t, slot, slot_table(t, slot, k));
    return freed ? freed : 1;
}

void ks_rehash_step(unsigned first, unsigned step) {
    for (unsigned s = first; s < nshards; s += step) {
        if (tl_exclusive || pthread_mutex_trylock(&shards[s].lock) != 0) continue;
        for (int d = 0; d < ndbs; d++) {
            ks_table *t = &shards[s].dbs[d];
            for (int i = 0; i < 100 && t->rehash_idx >= 0; i++) rehash_step(t, 10);
        }
        shard_unlock(s);
    }
}

/* ---- stats and clock --------------------------------------------------- */

uint64_t ks_stat_expired(void) { return atomic_load(&stat_expired); }

static uint64_t sum_stats(bool hits) {
    uint64_t n = 0;
    unsigned m = atomic_load(&tstats_next);
    if (m > MAX_STAT_THREADS) m = MAX_STAT_THREADS;
    for (unsigned i = 0; i < m; i++)
        n += atomic_load_explicit(hits ? &tstats[i].hits : &tstats[i].misses, memory_order_relaxed);
    return n;
}

uint64_t ks_stat_hits(void) { return sum_stats(true); }
uint64_t ks_stat_misses(void) { return sum_stats(false); }

void ks_stat_hit(bool hit) {
    if (!my_stats) {
        unsigned i = atomic_fetch_add(&tstats_next, 1);
        my_stats = &tstats[i % MAX_STAT_THREADS];
    }
    if (hit) atomic_fetch_add_explicit(&my_stats->hits, 1, memory_order_relaxed);
    else atomic_fetch_add_explicit(&my_stats->misses, 1, memory_order_relaxed);
}

void ks_stat_reset(void) {
    atomic_store(&stat_expired, 0);
    for (unsigned i = 0; i < MAX_STAT_THREADS; i++) {
        atomic_store(&tstats[i].hits, 0);
        atomic_store(&tstats[i].misses, 0);
    }
}

void ks_clock_update(int64_t now_ms) {
    atomic_store_explicit(&clock_sec, (uint32_t)(now_ms / 1000), memory_order_relaxed);
}

/* ---- storage engine (docs/storage.md) -------------------------------------
 * The keyspace stays the key directory: every key and expiry is in RAM;
 * values of clean entries may be only on disk (F_SPILLED). These functions
 * are storage.c's view of the tables: loading, spilling, collecting dirty
 * entries and pending tombstones for a flush, and rebuilding at start. */

void ks_storage_enable(const ks_storage_ops *ops) {
    st_ops = ops;
    st_on = ops != NULL;
}

bool ks_entry_spillable(const ks_entry *e) {
    return (e->flags & (F_DIRTY | F_SPILLED | F_ONDISK | F_FLUSHING)) == F_ONDISK;
}

size_t do_ks_spill(int db, const ks_key *k, int64_t now_ms) {
    if (!st_on) return 0;
    ks_table *t = table_of(db, k);
    ks_entry **slot = find_slot(t, k);
    if (!slot || !ks_entry_spillable(*slot) || expired(*slot, now_ms)) return 0;
    ks_entry *e = *slot;
    layout l;
    entry_layout(e, &l);
    if (l.vlen == 0) return 0;
    ks_entry *n = entry_new(k, NULL, 0, entry_expire_l(e, &l), 0);
    n->clock = e->clock;
    n->flags = (uint8_t)(e->flags | F_SPILLED);
    n->next = e->next;
    size_t before = util_alloc_size(e), after = util_alloc_size(n);
    *slot = n;
    free(e);
    atomic_fetch_add_explicit(&st_spilled, 1, memory_order_relaxed);
    return before > after ? before - after : 1;
}

size_t ks_flush_collect(unsigned s, ks_collect_fn *fn, void *priv) {
    size_t n = 0;
    shard_lock(s);
    for (int d = 0; d < ndbs; d++) {
        ks_table *t = &shards[s].dbs[d];
        for (int i = 0; i < 2; i++)
            for (uint64_t j = 0; j < t->size[i]; j++)
                for (ks_entry *e = t->b[i][j]; e; e = e->next) {
                    if (!(e->flags & F_DIRTY)) continue;
                    layout l;
                    entry_layout(e, &l);
                    ks_flush_rec r = {d, (const char *)l.key, l.klen, (const char *)l.val, l.vlen,
                                      entry_expire_l(e, &l), ks_entry_set_flags(e), false};
                    fn(priv, &r);
                    e->flags = (uint8_t)((e->flags & ~F_DIRTY) | F_ONDISK | F_FLUSHING);
                    atomic_fetch_sub_explicit(&st_dirty, 1, memory_order_relaxed);
                    n++;
                }
    }
    ks_tomb *tb = shards[s].tombs;
    shards[s].tombs = NULL;
    while (tb) {
        ks_tomb *next = tb->next;
        ks_flush_rec r = {tb->db, tb->key, tb->klen, NULL, 0, KS_NO_EXPIRE, 0, true};
        fn(priv, &r);
        free(tb);
        atomic_fetch_sub_explicit(&st_tombs, 1, memory_order_relaxed);
        n++;
        tb = next;
    }
    shard_unlock(s);
    return n;
}

void do_ks_flush_done(int db, const ks_key *k, bool tombstone, bool ok) {
    if (!ok && tombstone) {
        tomb_push(ks_shard_of(k), db, k->ptr, k->len);
        return;
    }
    ks_entry **slot = find_slot(table_of(db, k), k);
    if (!slot) return;   /* deleted since: that delete left a tombstone */
    ks_entry *e = *slot;
    e->flags &= (uint8_t)~F_FLUSHING;
    if (!ok && !(e->flags & F_DIRTY)) {
        e->flags |= F_DIRTY;
        atomic_fetch_add_explicit(&st_dirty, 1, memory_order_relaxed);
    }
}

bool ks_restore(int db, const char *key, size_t klen, const char *val, size_t vlen,
                int64_t expire_ms, unsigned flags) {
    ks_key k = ks_key_make(key, klen);
    ks_lock_key(&k);
    ks_table *t = table_of(db, &k);
    bool fresh = find_slot(t, &k) == NULL;
    if (fresh) {
        ks_entry *e = entry_new(&k, val, val ? vlen : 0, expire_ms, flags);
        e->flags |= F_ONDISK;
        if (!val) {
            e->flags |= F_SPILLED;
            atomic_fetch_add_explicit(&st_spilled, 1, memory_order_relaxed);
        }
        link_new(t, &k, e);
    }
    ks_unlock_key(&k);
    return fresh;
}

void ks_storage_stats(ks_storage_stat *st) {
    st->dirty_keys = atomic_load_explicit(&st_dirty, memory_order_relaxed);
    st->spilled_keys = atomic_load_explicit(&st_spilled, memory_order_relaxed);
    st->pending_tombstones = atomic_load_explicit(&st_tombs, memory_order_relaxed);
    st->dirty_bytes = atomic_load_explicit(&st_dirty_bytes, memory_order_relaxed);
}

uint64_t ks_dirty_bytes_take(void) {
    return atomic_exchange_explicit(&st_dirty_bytes, 0, memory_order_relaxed);
}

uint64_t ks_dirty_bytes(void) { return atomic_load_explicit(&st_dirty_bytes, memory_order_relaxed); }
