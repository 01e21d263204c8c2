/* keyspace.h: the sharded in-memory keyspace.
 *
 * The keyspace is split into S shards (S a power of two, `keyspace-shards`).
 * A key's 64-bit hash (XXH3, computed once per key per command) picks the
 * shard from its low bits and the bucket from its high bits. Each shard owns
 * one hash table per database, guarded by the shard's mutex, with
 * incremental rehashing, so no operation ever stops the world to resize.
 *
 * Locking contract (docs/threads.md):
 *  - Functions named do_ks_* require the caller to hold the lock of the
 *    key's shard (via ks_lock_key or a ks_lockset).
 *  - Multi-key commands build a ks_lockset over all their keys and lock it
 *    once; shards are locked in ascending index so two commands never
 *    deadlock. ks_lockset_all locks every shard (SWAPDB, FLUSHALL, KEYS).
 *  - Entry pointers and value pointers returned by do_ks_* are valid only
 *    until the lock is released or the entry is modified/deleted.
 *
 * Expiry: absolute unix time in ms, -1 for none. do_ks_find never returns an
 * expired entry: it deletes it (lazy expiry). ks_active_expire() reclaims
 * keys nobody reads again.
 */
#ifndef STRATA_KEYSPACE_H
#define STRATA_KEYSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KS_MAX_SHARDS 4096
#define KS_NO_EXPIRE  (-1LL)

/* Value types. Only strings exist today; the field is there for lists etc. */
enum ks_type { KS_STRING = 0 };

/* How OBJECT ENCODING reports a string: derived from the bytes, except that
 * APPEND/SETRANGE mark a value "raw" as Redis does. */
enum ks_encoding { KS_ENC_INT, KS_ENC_EMBSTR, KS_ENC_RAW };

typedef struct ks_entry ks_entry;

/* A key as commands see it: bytes plus its hash, computed once. */
typedef struct ks_key {
    const char *ptr;
    size_t len;
    uint64_t hash;
} ks_key;

/* The set of shard locks a command holds. */
typedef struct ks_lockset {
    uint64_t bits[KS_MAX_SHARDS / 64];
    bool all;
} ks_lockset;

/* setup/teardown: shards and databases come from the config at start. */
void ks_setup(unsigned nshards, int ndbs);
void ks_teardown(void);
unsigned ks_nshards(void);
int ks_ndbs(void);

ks_key ks_key_make(const char *ptr, size_t len);
/* Prefetch hints for a pipelined command's key, issued a command or two
 * before it runs so its cache misses overlap the commands before it.
 * Both work under the key's shard lock if pthread_mutex_trylock gets it,
 * and do nothing otherwise (a hint never waits).
 * KS_PF_BUCKET: the bucket the key hashes to.
 * KS_PF_ENTRY: the entry at the head of that bucket; the bucket should
 * have been prefetched one command earlier. */
enum { KS_PF_BUCKET, KS_PF_ENTRY };
void ks_prefetch(int db, const char *ptr, size_t len, int what);
unsigned ks_shard_of(const ks_key *k);

/* One shard by index (storage.c: a point no SWAPDB/FLUSHDB can cross,
 * since those hold every shard). */
void ks_lock_shard(unsigned s);
void ks_unlock_shard(unsigned s);

/* Single-key locking: the fast path for GET/SET and friends. */
void ks_lock_key(const ks_key *k);
void ks_unlock_key(const ks_key *k);

/* EXEC: lock every shard (ascending) for this thread; until
 * ks_exclusive_end, the lock calls this thread makes are no-ops, so the
 * commands of the transaction run unchanged. */
void ks_exclusive_begin(void);
void ks_exclusive_end(void);

/* Multi-key locking: add keys, then lock; unlock releases all. */
void ks_lockset_init(ks_lockset *ls);
void ks_lockset_add(ks_lockset *ls, const ks_key *k);
void ks_lockset_all(ks_lockset *ls);
void ks_lockset_lock(ks_lockset *ls);
void ks_lockset_unlock(ks_lockset *ls);

/* Lookup. Deletes and returns NULL if the entry expired before `now_ms`.
 * Does not update the access clock; callers that "read" call
 * ks_entry_touch (commands like TYPE/TTL/OBJECT IDLETIME do not).
 * With the storage engine on, do_ks_find brings a spilled value back from
 * disk (under the shard lock) before returning, so every command that
 * reads a value through it works on spilled keys as on keys in RAM; it
 * returns NULL if that read fails (the error is logged).
 * do_ks_find_meta never touches the disk: the entry it returns may be
 * spilled, and only its key, expiry, type and clock may be read
 * (EXISTS, TTL, TYPE, EXPIRE's checks, OBJECT IDLETIME/FREQ, WATCH). */
ks_entry *do_ks_find(int db, const ks_key *k, int64_t now_ms);
ks_entry *do_ks_find_meta(int db, const ks_key *k, int64_t now_ms);

/* Insert or replace the value. expire_ms: absolute ms or KS_NO_EXPIRE.
 * With KS_KEEPTTL the existing expiry (if any) is kept and expire_ms is
 * ignored. Returns the entry (valid under the lock). Never fails: out of
 * memory aborts, as Redis does. */
#define KS_KEEPTTL 0x1
#define KS_RAW     0x2   /* mark the value as mutated in place (encoding raw) */
#define KS_NOINT   0x4   /* a string that Redis would not encode as int (INCRBYFLOAT) */
#define KS_UNSHARED 0x8  /* a small integer Redis holds in its own object (COPY's duplicate) */
ks_entry *do_ks_set(int db, const ks_key *k, const char *val, size_t vlen,
                    int64_t expire_ms, unsigned flags);

/* Resize the value of an existing entry to newlen bytes (content up to
 * min(old,new) preserved, growth zero-filled) and return a pointer to the
 * writable value bytes. Used by APPEND and SETRANGE to avoid copies; marks
 * the encoding raw. */
char *do_ks_resize(int db, const ks_key *k, size_t newlen);

/* APPEND / SETRANGE: write len bytes at offset of an existing entry's
 * value, growing it (zero-filled gap) as needed, and mark it raw. Returns
 * the new length (0 if the key does not exist). Logs one SETRANGE record
 * to the write stream; do_ks_resize alone logs nothing. */
size_t do_ks_write_at(int db, const ks_key *k, size_t offset, const char *data, size_t len);

/* Delete; returns true if a live key was removed. */
bool do_ks_delete(int db, const ks_key *k, int64_t now_ms);

/* Set or clear (KS_NO_EXPIRE) the expiry of an existing entry. Returns false
 * if the key does not exist. Does not check for an expiry in the past;
 * callers delete in that case, as Redis does. */
bool do_ks_set_expire(int db, const ks_key *k, int64_t expire_ms);

/* Entry accessors (entry valid under the lock). */
const char *ks_entry_key(const ks_entry *e, size_t *len);
const char *ks_entry_val(const ks_entry *e, size_t *len);
int64_t ks_entry_expire(const ks_entry *e);           /* KS_NO_EXPIRE if none */
enum ks_type ks_entry_type(const ks_entry *e);
enum ks_encoding ks_entry_encoding(const ks_entry *e);
/* The KS_RAW / KS_NOINT / KS_UNSHARED flags that recreate e's encoding
 * with do_ks_set (RENAME, COPY). */
unsigned ks_entry_set_flags(const ks_entry *e);
void ks_entry_touch(ks_entry *e);                      /* reset idle time; under LFU, bump the counter */
uint32_t ks_entry_idle_seconds(const ks_entry *e);
uint8_t ks_entry_lfu(const ks_entry *e);               /* decayed LFU counter */
uint32_t ks_entry_lru_clock(const ks_entry *e);        /* 24-bit seconds of last access */
/* Bytes the entry costs: its allocation as the allocator sized it, plus
 * one bucket pointer (MEMORY USAGE, docs/keyspace.md). */
size_t ks_entry_mem(const ks_entry *e);

/* Key counts (keys, keys with a TTL). Lock-free reads of per-table
 * counters: exact when no write is in flight, which is what DBSIZE in
 * Redis gives a client too. */
uint64_t ks_dbsize(int db);
uint64_t ks_expires_count(int db);
/* Bytes of bucket arrays and table headers of one database over all
 * shards (MEMORY STATS overhead.hashtable.main). Locks each shard. */
uint64_t ks_db_overhead(int db);

/* Whole-keyspace operations. Each locks what it needs itself. */
void ks_flushdb(int db);               /* frees synchronously */
void ks_flushall(void);
void ks_swapdb(int a, int b);

/* Move `k` from db `src` to db `dst` keeping value and TTL. Caller holds the
 * key's shard lock (both dbs live in the same shard). Returns 0 on success,
 * -1 if absent in src, -2 if present in dst. */
int do_ks_move(int src, int dst, const ks_key *k, int64_t now_ms);

/* Emit a SET record to the write stream for every entry (the snapshot
 * CONFIG SET appendonly yes writes first). Caller holds every shard lock
 * and has started the stream. */
void do_ks_log_all(void);

/* SCAN: visits every key present for the whole scan at least once. The
 * cursor encodes shard and bucket position; 0 starts and ends a scan. The
 * callback runs under the shard lock and must not touch the keyspace.
 * Visits at least `count` buckets-worth of work; returns the next cursor. */
typedef void ks_scan_fn(void *priv, const ks_entry *e);
uint64_t ks_scan(int db, uint64_t cursor, unsigned long count, int64_t now_ms,
                 ks_scan_fn *fn, void *priv);

/* A uniformly-ish random live key copied into buf (allocated with malloc,
 * caller frees); returns false if the db is empty. */
bool ks_random_key(int db, int64_t now_ms, char **buf, size_t *len);

/* Active expiry: sweep the shards [first, first+step, ...] for expired keys
 * for at most `budget_us` microseconds. Returns the number of keys removed. */
uint64_t ks_active_expire(unsigned first, unsigned step, int64_t now_ms,
                          uint64_t budget_us);

/* CLIENT PAUSE stops expiry, as Redis 7.0 does: a key past its time reads
 * as absent but is not deleted (lazily or actively) until the pause ends. */
void ks_pause_expiry(bool paused);
/* Eviction (evict.c, docs/eviction.md).
 * ks_evict_sample: call fn (under the shard lock, which fn must not use for
 * anything but reading e) for up to `want` entries of db sampled from
 * consecutive buckets of one random shard that holds candidates (every
 * entry, or only those with a TTL when volatile_only). Returns how many
 * were visited: 0 only when the db holds no candidate at all. Takes and
 * releases one shard lock at a time; the caller holds none.
 * ks_evict_candidates: the number of candidates in db, lock-free.
 * do_ks_evict: remove k from db (caller holds its shard lock) unless it is
 * gone, or has no TTL when volatile_only; reports the change to WATCH.
 * Returns the bytes freed (the entry's allocation), 0 if nothing was. */
typedef void ks_sample_fn(void *priv, const ks_entry *e);
unsigned ks_evict_sample(int db, bool volatile_only, unsigned want, ks_sample_fn *fn, void *priv);
uint64_t ks_evict_candidates(int db, bool volatile_only);
size_t do_ks_evict(int db, const ks_key *k, bool volatile_only);

/* Background rehash work for idle shards: a few buckets per call. */
void ks_rehash_step(unsigned first, unsigned step);

/* Counters for INFO (aggregated, relaxed atomics). */
uint64_t ks_stat_expired(void);
uint64_t ks_stat_hits(void);
uint64_t ks_stat_misses(void);
void ks_stat_hit(bool hit);            /* called by read commands */
void ks_stat_reset(void);

/* Coarse clock in seconds for LRU/idle time, advanced by the server cron. */
void ks_clock_update(int64_t now_ms);

/* ---- storage engine (storage.c, docs/storage.md) ----------------------
 * Entries carry four storage bits: DIRTY (changed since the last flush
 * collected it), SPILLED (the value is only on disk), ONDISK (some version
 * may be in an SSTable, so deleting it leaves a tombstone in its shard's
 * pending list) and FLUSHING (collected by the flush in flight; not
 * spillable until that flush commits). A dirty entry is never spilled.
 *
 * ops: load a spilled value (malloc'ed into *val; 0 ok, else the read
 * failed); drop_db / swap_db are called with every shard lock held, by
 * FLUSHDB (db, or -1 for FLUSHALL) and SWAPDB. ks_storage_enable must be
 * called before any other thread runs; NULL (the default) is engine off. */
typedef struct ks_storage_ops {
    int (*load)(int db, const char *key, size_t klen, char **val, size_t *vlen, unsigned *flags);
    void (*drop_db)(int db);
    void (*swap_db)(int a, int b);
} ks_storage_ops;
void ks_storage_enable(const ks_storage_ops *ops);

/* Spill: free the value of a clean, on-disk, not-flushing entry (caller
 * holds the shard lock). Returns the bytes freed, 0 if k is not
 * spillable now. */
bool ks_entry_spillable(const ks_entry *e);
size_t do_ks_spill(int db, const ks_key *k, int64_t now_ms);

/* Flush collection: under shard s's lock, call fn for every dirty entry of
 * every db (marking it ONDISK|FLUSHING, no longer DIRTY) and for every
 * pending tombstone (removing it). The record's pointers are valid only
 * during the call. Returns the number of records. */
typedef struct ks_flush_rec {
    int db;                 /* logical */
    const char *key;
    size_t klen;
    const char *val;        /* NULL for a tombstone */
    size_t vlen;
    int64_t expire_ms;
    unsigned flags;         /* KS_RAW / KS_NOINT / KS_UNSHARED */
    bool tombstone;
} ks_flush_rec;
typedef void ks_collect_fn(void *priv, const ks_flush_rec *r);
size_t ks_flush_collect(unsigned s, ks_collect_fn *fn, void *priv);
/* After the flush committed (ok) or failed: clear FLUSHING; on failure the
 * record is dirty again (or its tombstone pending again). Caller holds
 * k's shard lock. */
void do_ks_flush_done(int db, const ks_key *k, bool tombstone, bool ok);

/* Start-up: insert a key read from the SSTables (val NULL: spilled), clean
 * and ONDISK. Locks the shard itself. False if the key already existed. */
bool ks_restore(int db, const char *key, size_t klen, const char *val, size_t vlen,
                int64_t expire_ms, unsigned flags);

typedef struct ks_storage_stat {
    uint64_t dirty_keys, spilled_keys, pending_tombstones, dirty_bytes;
} ks_storage_stat;
void ks_storage_stats(ks_storage_stat *st);
/* Bytes written since the last take (the flush trigger); take resets it. */
uint64_t ks_dirty_bytes(void);
uint64_t ks_dirty_bytes_take(void);

#endif
