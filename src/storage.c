/* storage.c: the storage engine glued under the keyspace. Owns the LSM
 * handle, the flush thread (strata-flush) that writes dirty entries and
 * pending tombstones to level 0 and then truncates the WAL, the loads of
 * spilled values, recovery at start (key directory from the SSTables, then
 * the WAL tail), and what SAVE / BGSAVE / LASTSAVE / INFO persistence
 * report. The design and its reasons: docs/storage.md.
 *
 * Invariants:
 *  1. Keys and expiries are always in RAM; only values of clean entries
 *     (not DIRTY, not FLUSHING, ONDISK) are ever dropped (keyspace.c).
 *  2. A flush captures S = ws_last_seq() before it collects anything.
 *     Every write with seq <= S finished under its shard lock before the
 *     flush takes that lock, so the collected records contain every
 *     effect with seq <= S; after lsm_flush_commit(S) the WAL up to S may
 *     go. Records of writes after S may be collected too: replaying their
 *     WAL records again is idempotent (records are physical).
 *  3. At most one flush runs at a time (the flush thread; SAVE waits for
 *     it rather than writing itself).
 *  4. Lock order: shard lock -> batch_mu (collect callbacks and the
 *     drop/swap hooks run under shard locks and take batch_mu; the flush
 *     thread never takes a shard lock while holding batch_mu). fl_mu is
 *     a leaf: nothing is taken while holding it, so the spill path may
 *     request a flush with shard locks held (inside EXEC).
 *  5. An entry collected by a flush in flight is FLUSHING until the post
 *     walk after commit (or failure): it cannot be spilled before its
 *     value is on disk, and a failed flush makes it DIRTY again.
 *  6. Every flush that commits durable_seq = S also writes the db view
 *     (perm) as of S, in the same SSTable: recovery scans in that view and
 *     the WAL replay (seq > S) applies the later SWAPDBs, so no crash
 *     point can apply a swap twice or not at all.
 */
#include "storage.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "config.h"
#include "durability.h"
#include "evict.h"
#include "keyspace.h"
#include "log.h"
#include "lsm.h"
#include "memory.h"
#include "util.h"
#include "wal.h"
#include "wstream.h"

static bool st_enabled;
static char data_dir[4096];
static lsm *db_lsm;

/* SWAPDB without MANIFEST edits (docs/storage.md, "Databases"): perm maps
 * a logical db to the LSM db its records live in. An entry's LSM db never
 * changes (a swap swaps both the tables and perm), so only the view
 * changes, and that view is saved as a record of the hidden LSM db
 * `meta_db` in every flush, atomically with durable_seq. perm changes
 * only under every shard lock (the swap/flush hooks); readers hold at
 * least one shard lock. */
static int nuser_dbs, meta_db;
static int *perm, *perm_snap, *perm_saved;
#define PERM_KEY "perm"

/* ---- flush state (fl_mu) ---- */
static pthread_mutex_t fl_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t fl_cv = PTHREAD_COND_INITIALIZER;       /* wakes the flusher */
static pthread_cond_t fl_done_cv = PTHREAD_COND_INITIALIZER;  /* a flush ended */
static pthread_t fl_thread;
static bool fl_thread_started, fl_stop, fl_requested, fl_running;
static uint64_t fl_started, fl_completed;   /* flush generations */
static bool fl_last_ok = true;
static char fl_last_err[256];
static int64_t fl_run_start_ms;
static long long fl_last_secs = -1;

static _Atomic long long lastsave_s;
static _Atomic uint64_t saved_seq;           /* S of the last successful flush */
static _Atomic bool writes_failing;
static _Atomic uint64_t stat_flushes, stat_flushed, stat_fail, stat_loads, stat_load_errors;
static _Atomic uint64_t replay_seq;

/* ---- the batch of one flush (batch_mu, invariant 4) ---- */
typedef struct brec {
    int db;             /* logical: SWAPDB swaps it, FLUSHDB kills it */
    uint32_t phys;
    bool tomb, dead;
    unsigned flags;
    int64_t expire_ms;
    size_t klen, vlen;
    char *kv;           /* key then value, one allocation */
} brec;

static pthread_mutex_t batch_mu = PTHREAD_MUTEX_INITIALIZER;
static brec *batch;
static size_t batch_n, batch_cap;

bool storage_enabled(void) { return st_enabled; }
const char *storage_data_dir(void) { return data_dir; }

static uint64_t cur_seq(void) {
    uint64_t r = atomic_load(&replay_seq);
    if (r) return r;
    return ws_on() ? ws_last_seq() : 0;
}

void storage_set_replay_seq(uint64_t seq) { atomic_store(&replay_seq, seq); }

/* ---- keyspace hooks ------------------------------------------------------ */

static int hook_load(int db, const char *key, size_t klen, char **val, size_t *vlen, unsigned *flags) {
    char err[512];
    int64_t exp;
    uint8_t f = 0;
    /* RAM owns the expiry (invariant 1): never let the engine hide a
     * record as expired, hence the lowest possible "now". */
    enum lsm_status st = lsm_get(db_lsm, perm[db], key, klen, INT64_MIN, val, vlen, &exp, &f, err, sizeof(err));
    atomic_fetch_add_explicit(&stat_loads, 1, memory_order_relaxed);
    if (st == LSM_OK) {
        *flags = f;
        return 0;
    }
    atomic_fetch_add_explicit(&stat_load_errors, 1, memory_order_relaxed);
    if (st == LSM_NOTFOUND)
        log_warning("Storage: spilled key '%.*s' (db %d) not found on disk", (int)(klen > 64 ? 64 : klen), key, db);
    else
        log_warning("Storage: reading spilled key '%.*s' (db %d) failed: %s", (int)(klen > 64 ? 64 : klen), key,
                    db, err);
    return -1;
}

static void hook_drop_db(int db) {
    char err[512];
    pthread_mutex_lock(&batch_mu);
    for (size_t i = 0; i < batch_n; i++)
        if (db < 0 || batch[i].db == db) batch[i].dead = true;
    pthread_mutex_unlock(&batch_mu);
    /* FLUSHALL drops every LSM db, the hidden one too: with nothing left
     * the view starts again from identity. */
    int target = db < 0 ? -1 : perm[db];
    if (db < 0)
        for (int i = 0; i < nuser_dbs; i++) perm[i] = i;
    if (lsm_drop_db(db_lsm, target, cur_seq(), err, sizeof(err)) != LSM_OK) {
        log_warning("Storage: dropping db %d failed: %s", db, err);
        atomic_store(&writes_failing, true);
    }
}

static void hook_swap_db(int a, int b) {
    pthread_mutex_lock(&batch_mu);
    for (size_t i = 0; i < batch_n; i++)
        if (batch[i].db == a) batch[i].db = b;
        else if (batch[i].db == b) batch[i].db = a;
    pthread_mutex_unlock(&batch_mu);
    int t = perm[a];
    perm[a] = perm[b];
    perm[b] = t;
}

static const ks_storage_ops ops = {hook_load, hook_drop_db, hook_swap_db};

/* ---- flush ---------------------------------------------------------------- */

/* Runs under shard s's lock (ks_flush_collect). */
static void collect_cb(void *priv, const ks_flush_rec *r) {
    (void)priv;
    brec b = {0};
    b.db = r->db;
    b.phys = lsm_phys_db(db_lsm, perm[r->db]);
    b.tomb = r->tombstone;
    b.flags = r->flags;
    b.expire_ms = r->expire_ms;
    b.klen = r->klen;
    b.vlen = r->tombstone ? 0 : r->vlen;
    b.kv = xmalloc(b.klen + b.vlen + 1);
    memcpy(b.kv, r->key, b.klen);
    if (b.vlen) memcpy(b.kv + b.klen, r->val, b.vlen);
    pthread_mutex_lock(&batch_mu);
    if (batch_n == batch_cap) {
        batch_cap = batch_cap ? batch_cap * 2 : 1024;
        batch = xrealloc(batch, batch_cap * sizeof(*batch));
    }
    batch[batch_n++] = b;
    pthread_mutex_unlock(&batch_mu);
}

/* (phys, key) ascending; for equal keys a value sorts before a tombstone,
 * so the dedupe below keeps the value (the tombstone is older: the key was
 * set again after the delete that left it). */
static int brec_cmp(const void *pa, const void *pb) {
    const brec *a = pa, *b = pb;
    if (a->phys != b->phys) return a->phys < b->phys ? -1 : 1;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = memcmp(a->kv, b->kv, n);
    if (c) return c;
    if (a->klen != b->klen) return a->klen < b->klen ? -1 : 1;
    return (int)a->tomb - (int)b->tomb;
}

/* Clear FLUSHING (ok) or make the records dirty / pending again (failed). */
static void post_walk(size_t n, bool ok) {
    for (size_t i = 0; i < n; i++) {
        /* The record's key bytes never change; db may (SWAPDB): read it
         * under the key's shard lock, which the hooks also hold. */
        ks_key k = ks_key_make(batch[i].kv, batch[i].klen);
        ks_lock_key(&k);
        pthread_mutex_lock(&batch_mu);
        int db = batch[i].db;
        bool dead = batch[i].dead, tomb = batch[i].tomb;
        pthread_mutex_unlock(&batch_mu);
        if (db >= 0 && !dead && !(ok && tomb)) do_ks_flush_done(db, &k, tomb, ok);
        ks_unlock_key(&k);
    }
}

static void batch_clear(void) {
    pthread_mutex_lock(&batch_mu);
    for (size_t i = 0; i < batch_n; i++) free(batch[i].kv);
    batch_n = 0;
    if (batch_cap > 65536) {
        free(batch);
        batch = NULL;
        batch_cap = 0;
    }
    pthread_mutex_unlock(&batch_mu);
}

/* One flush. Returns true on success (or nothing to do). */
static bool flush_once(char *err, size_t errlen) {
    /* S and the db view as of S: under one shard lock no SWAPDB/FLUSHDB
     * can be half done (they hold every shard while they emit their
     * record and change perm). */
    /* Every write after S happens after this instant (give or take a
     * command that read its clock just before): a key expired before it
     * cannot be touched by a WAL record after S. Compaction may purge
     * expired records only up to here, once this flush committed. */
    int64_t horizon = util_ms() - 60000;
    ks_lock_shard(0);
    uint64_t S = cur_seq();
    memcpy(perm_snap, perm, sizeof(int) * (size_t)nuser_dbs);
    ks_unlock_shard(0);
    ks_dirty_bytes_take();
    for (unsigned s = 0; s < ks_nshards(); s++) ks_flush_collect(s, collect_cb, NULL);
    uint64_t S_end = cur_seq();
    bool perm_changed = memcmp(perm_snap, perm_saved, sizeof(int) * (size_t)nuser_dbs) != 0;
    if (batch_n == 0 && !perm_changed) {
        /* Nothing to write, but the WAL may hold records of keys set and
         * deleted since (no tombstone needed): record durable_seq = S with
         * an empty commit, so the WAL can go. */
        if (S > lsm_durable_seq(db_lsm)) {
            lsm_writer *w = NULL;
            if (lsm_flush_begin(db_lsm, &w) != LSM_OK) {
                snprintf(err, errlen, "another flush writer is open");
                return false;
            }
            if (lsm_flush_commit(w, S, err, errlen) != LSM_OK) return false;
            lsm_set_expire_horizon(db_lsm, horizon);
            if (wal_is_open()) wal_truncate_upto(S);
        }
        atomic_store(&saved_seq, S);
        return true;
    }
    /* The view as of S, saved with the records (invariant 6). */
    {
        uint32_t *pv = xmalloc(sizeof(uint32_t) * (size_t)nuser_dbs);
        for (int i = 0; i < nuser_dbs; i++) pv[i] = (uint32_t)perm_snap[i];
        brec b = {0};
        b.db = -1;
        b.phys = lsm_phys_db(db_lsm, meta_db);
        b.expire_ms = -1;
        b.klen = strlen(PERM_KEY);
        b.vlen = sizeof(uint32_t) * (size_t)nuser_dbs;
        b.kv = xmalloc(b.klen + b.vlen);
        memcpy(b.kv, PERM_KEY, b.klen);
        memcpy(b.kv + b.klen, pv, b.vlen);
        free(pv);
        pthread_mutex_lock(&batch_mu);
        if (batch_n == batch_cap) {
            batch_cap = batch_cap ? batch_cap * 2 : 1024;
            batch = xrealloc(batch, batch_cap * sizeof(*batch));
        }
        batch[batch_n++] = b;
        pthread_mutex_unlock(&batch_mu);
    }
    size_t n = batch_n;     /* only this thread appends (collect) */
    /* The batch cannot move while sorting: appends come only from this
     * thread's collection, and hooks change db/dead fields, never order. */
    pthread_mutex_lock(&batch_mu);
    qsort(batch, n, sizeof(*batch), brec_cmp);
    pthread_mutex_unlock(&batch_mu);

    lsm_writer *w = NULL;
    enum lsm_status st = lsm_flush_begin(db_lsm, &w);
    /* lsm_flush_begin/add give a status only; the errno of the failed
     * open/write is what the operator needs ("No space left on device",
     * "Read-only file system"), so keep it for the message below. */
    int io_errno = st == LSM_IO ? errno : 0;
    uint64_t written = 0, bytes = 0;
    for (size_t i = 0; st == LSM_OK && i < n; i++) {
        brec *b = &batch[i];
        if (i > 0 && batch[i - 1].phys == b->phys && batch[i - 1].klen == b->klen &&
            memcmp(batch[i - 1].kv, b->kv, b->klen) == 0)
            continue;   /* a duplicate (tombstone after the value, or twice) */
        lsm_rec r = {b->phys, b->kv, b->klen, b->tomb ? NULL : b->kv + b->klen, b->vlen,
                     b->tomb ? -1 : b->expire_ms, S_end, (uint8_t)b->flags, b->tomb};
        st = lsm_flush_add(w, &r);
        if (st == LSM_IO) io_errno = errno;
        written++;
        bytes += b->klen + b->vlen;
    }
    if (st == LSM_OK) {
        st = lsm_flush_commit(w, S, err, errlen);
    } else {
        static const char *const names[] = {"ok", "not found", "out of memory", "invalid", "corrupt", "I/O error"};
        if (st == LSM_IO && io_errno)
            snprintf(err, errlen, "writing the SSTable for the flush failed: %s", strerror(io_errno));
        else
            snprintf(err, errlen, "writing the SSTable for the flush failed: %s",
                     (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?");
        if (w) lsm_flush_abort(w);
    }
    bool ok = st == LSM_OK;
    post_walk(n, ok);
    batch_clear();
    if (!ok) return false;
    memcpy(perm_saved, perm_snap, sizeof(int) * (size_t)nuser_dbs);
    atomic_store(&saved_seq, S);
    lsm_set_expire_horizon(db_lsm, horizon);
    atomic_fetch_add(&stat_flushed, written);
    if (written) evict_spill_kick();
    if (wal_is_open()) wal_truncate_upto(S);
    log_verbose("Storage: flushed %llu records (%llu bytes) up to seq %llu", (unsigned long long)written,
                (unsigned long long)bytes, (unsigned long long)S);
    return true;
}

static bool flush_wanted(int64_t now_ms, int64_t last_ms) {
    ks_storage_stat ks;
    ks_storage_stats(&ks);
    if (ks.dirty_bytes >= (uint64_t)cfg.flush_dirty_bytes) return true;
    if ((ks.dirty_keys || ks.pending_tombstones) && now_ms - last_ms >= cfg.flush_interval_ms) return true;
    /* A failed flush is retried every second: writes resume when the
     * disk is back (invariant 5 keeps nothing lost meanwhile). */
    if (atomic_load(&writes_failing) && now_ms - last_ms >= 1000) return true;
    return false;
}

static void *flush_main(void *arg) {
    (void)arg;
    mem_thread_register();
    pthread_setname_np(pthread_self(), "strata-flush");
    int64_t last_ms = util_mono_us() / 1000;
    pthread_mutex_lock(&fl_mu);
    for (;;) {
        while (!fl_requested && !fl_stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 100 * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&fl_cv, &fl_mu, &ts);
            if (flush_wanted(util_mono_us() / 1000, last_ms)) fl_requested = true;
            if (!fl_requested && !fl_stop && cfg.maxmemory) {
                /* Spill in the background so that commands rarely pay for
                 * it; fl_mu is not held meanwhile (it is a leaf lock). */
                pthread_mutex_unlock(&fl_mu);
                evict_spill_background(50000);
                pthread_mutex_lock(&fl_mu);
            }
        }
        if (fl_stop) break;     /* teardown runs the final flush itself */
        fl_requested = false;
        fl_running = true;
        uint64_t gen = ++fl_started;
        fl_run_start_ms = util_ms();
        pthread_mutex_unlock(&fl_mu);

        char err[512] = "";
        bool ok = flush_once(err, sizeof(err));
        last_ms = util_mono_us() / 1000;

        pthread_mutex_lock(&fl_mu);
        fl_running = false;
        fl_completed = gen;
        fl_last_ok = ok;
        fl_last_secs = (util_ms() - fl_run_start_ms) / 1000;
        if (ok) {
            atomic_store(&lastsave_s, util_ms() / 1000);
            atomic_fetch_add(&stat_flushes, 1);
            if (atomic_exchange(&writes_failing, false)) log_notice("Storage: flush succeeded again, writes accepted");
        } else {
            snprintf(fl_last_err, sizeof(fl_last_err), "%s", err);
            atomic_fetch_add(&stat_fail, 1);
            if (!atomic_exchange(&writes_failing, true)) log_warning("Storage: flush failed: %s", err);
        }
        pthread_cond_broadcast(&fl_done_cv);
    }
    pthread_mutex_unlock(&fl_mu);
    evict_thread_exit();    /* the spill pool of this thread */
    mem_thread_exit();
    return NULL;
}

void storage_request_flush(enum storage_flush_reason why) {
    (void)why;
    if (!st_enabled) return;
    pthread_mutex_lock(&fl_mu);
    if (!fl_requested) {
        fl_requested = true;
        pthread_cond_signal(&fl_cv);
    }
    pthread_mutex_unlock(&fl_mu);
}

int storage_save(char *err, size_t errlen) {
    if (!st_enabled) {
        snprintf(err, errlen, "ERR persistence is off (set data-dir, or appendonly yes)");
        return -1;
    }
    pthread_mutex_lock(&fl_mu);
    /* The flush that starts next covers every write acknowledged so far
     * (a running one may have collected before them). */
    uint64_t target = fl_started + 1;
    fl_requested = true;
    pthread_cond_signal(&fl_cv);
    while (fl_completed < target && !fl_stop) pthread_cond_wait(&fl_done_cv, &fl_mu);
    bool ok = fl_completed >= target && fl_last_ok;
    if (!ok) snprintf(err, errlen, "ERR %s", fl_stop ? "shutting down" : fl_last_err);
    pthread_mutex_unlock(&fl_mu);
    return ok ? 0 : -1;
}

bool storage_writes_failing(void) { return atomic_load_explicit(&writes_failing, memory_order_relaxed); }

const char *storage_write_error(void) {
    return "MISCONF Errors writing to the storage engine (data-dir): writes are refused until a flush "
           "succeeds. Check the server log for details about the error.";
}

long long storage_lastsave(void) { return atomic_load(&lastsave_s); }

/* ---- recovery --------------------------------------------------------------- */

typedef struct scan_ctx {
    int *inv;           /* LSM db -> logical db (the saved view) */
    uint64_t keys;
    int64_t start_us, last_log_us;
} scan_ctx;

static int scan_cb(void *priv, const lsm_rec *r) {
    scan_ctx *c = priv;
    if ((int)r->db >= nuser_dbs) return 0;     /* the hidden meta db */
    int db = c->inv[r->db];
    ks_restore(db, r->key, r->klen, r->val, r->vlen, r->expire_ms, r->flags);
    c->keys++;
    return 0;
}

static void scan_progress(void *priv, uint64_t done, uint64_t total) {
    scan_ctx *c = priv;
    int64_t now = util_mono_us();
    double secs = (double)(now - c->start_us) / 1e6;
    log_notice("Loading the key directory: %.0f%% (%llu keys, %.0f keys/s)",
               total ? 100.0 * (double)done / (double)total : 100.0, (unsigned long long)c->keys,
               secs > 0 ? (double)c->keys / secs : 0.0);
    c->last_log_us = now;
}

static bool mkdir_p(const char *path) {
    char tmp[4400];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return false;
            *p = '/';
        }
    return mkdir(tmp, 0755) == 0 || errno == EEXIST;
}

bool storage_setup(void) {
    atomic_store(&lastsave_s, util_ms() / 1000);
    if (!(cfg.data_dir && cfg.data_dir[0]) && !cfg.appendonly) return true;
    snprintf(data_dir, sizeof(data_dir), "%s", durability_data_dir());
    st_enabled = true;
    if (!cfg.maxmemory_policy_set) cfg.maxmemory_policy = MM_SPILL;

    char lsm_dir[4200], err[1024];
    snprintf(lsm_dir, sizeof(lsm_dir), "%s/lsm", data_dir);
    if (!mkdir_p(lsm_dir)) {
        log_warning("Storage: can't create %s: %s", lsm_dir, strerror(errno));
        return false;
    }
    lsm_opts o;
    lsm_opts_default(&o);
    o.dir = lsm_dir;
    nuser_dbs = (int)cfg.databases;
    meta_db = nuser_dbs;
    o.ndbs = nuser_dbs + 1;     /* + the hidden meta db */
    perm = xmalloc(sizeof(int) * (size_t)nuser_dbs);
    perm_snap = xmalloc(sizeof(int) * (size_t)nuser_dbs);
    perm_saved = xmalloc(sizeof(int) * (size_t)nuser_dbs);
    for (int i = 0; i < nuser_dbs; i++) perm[i] = perm_snap[i] = perm_saved[i] = i;
    o.block_size = (size_t)cfg.lsm_block_size;
    o.bloom_bits_per_key = (int)cfg.lsm_bloom_bits_per_key;
    o.l0_compaction_trigger = (int)cfg.lsm_l0_compaction_trigger;
    o.level1_bytes = (uint64_t)cfg.lsm_level1_bytes;
    o.target_file_bytes = (uint64_t)cfg.lsm_target_file_bytes;
    o.background = true;
    o.expire_horizon = true;
    enum lsm_status st = lsm_open(&o, &db_lsm, err, sizeof(err));
    if (st != LSM_OK) {
        log_warning("Storage: can't open the store in %s: %s", lsm_dir, err);
        return false;
    }
    ks_storage_enable(&ops);
    return true;
}

bool storage_recover(void) {
    char lsm_dir[4200], err[1024];
    snprintf(lsm_dir, sizeof(lsm_dir), "%s/lsm", data_dir);
    /* The key directory: every live key and its expiry into RAM. Values
     * too when no maxmemory limit could push them out again anyway;
     * otherwise they stay on disk until read (spilled). */
    bool want_values = cfg.maxmemory == 0;
    /* The db view saved with durable_seq; the WAL replay moves it on. */
    char *pv = NULL;
    size_t pvlen = 0;
    int64_t pexp;
    uint8_t pfl;
    enum lsm_status pst = lsm_get(db_lsm, meta_db, PERM_KEY, strlen(PERM_KEY), INT64_MIN, &pv, &pvlen, &pexp,
                                  &pfl, err, sizeof(err));
    if (pst == LSM_OK) {
        if (pvlen != sizeof(uint32_t) * (size_t)nuser_dbs) {
            log_warning("Storage: the store in %s was written with databases %zu, not %d: refusing to start",
                        lsm_dir, pvlen / sizeof(uint32_t), nuser_dbs);
            free(pv);
            return false;
        }
        for (int i = 0; i < nuser_dbs; i++) {
            uint32_t x;
            memcpy(&x, pv + 4 * i, 4);
            perm[i] = perm_saved[i] = (int)x;
        }
        free(pv);
    } else if (pst != LSM_NOTFOUND) {
        log_warning("Storage: reading the database map failed: %s", err);
        return false;
    }
    int *inv = xmalloc(sizeof(int) * (size_t)(nuser_dbs + 1));
    for (int i = 0; i < nuser_dbs; i++) inv[perm[i]] = i;
    scan_ctx c = {inv, 0, util_mono_us(), 0};
    log_notice("Loading the key directory from %s (values %s)", lsm_dir, want_values ? "too" : "on demand");
    /* Expired keys too, with their expiry, as Redis loads them: the WAL
     * replay that follows may hold a PERSIST or an APPEND made before they
     * expired (skipping them made the replayed APPEND a zero-filled value,
     * and lost the PERSISTed key). Active expiry removes the rest after
     * loading, logging their DELs. */
    enum lsm_status st = lsm_scan(db_lsm, want_values, INT64_MIN, scan_cb, scan_progress, &c, err, sizeof(err));
    free(inv);
    if (st != LSM_OK) {
        log_warning("Storage: reading the store failed: %s", err);
        return false;
    }
    double secs = (double)(util_mono_us() - c.start_us) / 1e6;
    log_notice("Key directory loaded: %llu keys in %.3f seconds (%.0f keys/s), durable up to seq %llu",
               (unsigned long long)c.keys, secs, secs > 0 ? (double)c.keys / secs : 0.0,
               (unsigned long long)lsm_durable_seq(db_lsm));
    atomic_store(&saved_seq, lsm_durable_seq(db_lsm));
    return true;
}

uint64_t storage_durable_seq(void) { return db_lsm ? lsm_durable_seq(db_lsm) : 0; }

void storage_start(void) {
    if (!st_enabled || fl_thread_started) return;
    if (pthread_create(&fl_thread, NULL, flush_main, NULL) != 0) {
        log_warning("Storage: can't start the flush thread");
        abort();
    }
    fl_thread_started = true;
}

void storage_teardown(void) {
    if (!st_enabled) return;
    /* Recovery that did not finish (a corrupt file, a shutdown while
     * loading) must not write its partial keyspace: no final flush then. */
    bool recovered = fl_thread_started;
    if (fl_thread_started) {
        pthread_mutex_lock(&fl_mu);
        fl_stop = true;
        pthread_cond_broadcast(&fl_cv);
        pthread_cond_broadcast(&fl_done_cv);
        pthread_mutex_unlock(&fl_mu);
        pthread_join(fl_thread, NULL);
        fl_thread_started = false;
    }
    /* The final flush, on this thread: the clients are gone. */
    char err[512] = "";
    if (recovered) {
        log_notice("Storage: flushing dirty entries before exit");
        if (!flush_once(err, sizeof(err))) log_warning("Storage: the final flush failed: %s", err);
    }
    lsm_close(db_lsm);
    db_lsm = NULL;
    free(perm);
    free(perm_snap);
    free(perm_saved);
    perm = perm_snap = perm_saved = NULL;
    ks_storage_enable(NULL);
    pthread_mutex_lock(&batch_mu);
    free(batch);
    batch = NULL;
    batch_cap = batch_n = 0;
    pthread_mutex_unlock(&batch_mu);
}

/* ---- INFO ------------------------------------------------------------------- */

void storage_get_info(storage_info *si) {
    memset(si, 0, sizeof(*si));
    si->enabled = st_enabled;
    si->last_save_time = atomic_load(&lastsave_s);
    si->last_flush_ok = true;
    si->last_flush_time_sec = -1;
    si->current_flush_time_sec = -1;
    if (!st_enabled) return;
    pthread_mutex_lock(&fl_mu);
    si->flush_in_progress = fl_running;
    si->last_flush_ok = fl_last_ok;
    si->last_flush_time_sec = fl_completed ? fl_last_secs : -1;
    if (fl_running) si->current_flush_time_sec = (util_ms() - fl_run_start_ms) / 1000;
    pthread_mutex_unlock(&fl_mu);
    ks_storage_stat ks;
    ks_storage_stats(&ks);
    if (ws_on()) {
        uint64_t now = cur_seq(), saved = atomic_load(&saved_seq);
        si->changes_since_last_save = now > saved ? (long long)(now - saved) : 0;
    } else {
        /* without the write stream: the keys a flush would write */
        si->changes_since_last_save = (long long)(ks.dirty_keys + ks.pending_tombstones);
    }
    si->flushes = atomic_load(&stat_flushes);
    si->flushed_records = atomic_load(&stat_flushed);
    si->flush_failures = atomic_load(&stat_fail);
    si->spill_loads = atomic_load(&stat_loads);
    si->spill_load_errors = atomic_load(&stat_load_errors);
    si->dirty_keys = ks.dirty_keys;
    si->spilled_keys = ks.spilled_keys;
    si->pending_tombstones = ks.pending_tombstones;
    si->dirty_bytes = ks.dirty_bytes;
    if (db_lsm) {
        lsm_stats ls;
        lsm_get_stats(db_lsm, &ls);
        si->levels = ls.levels;
        for (int i = 0; i < 8; i++) {
            si->files[i] = ls.files[i];
            si->bytes[i] = ls.bytes[i];
        }
        si->total_bytes = ls.total_bytes;
        si->pending_compaction_bytes = ls.pending_compaction_bytes;
        si->compacting = ls.compacting;
        si->compactions = ls.compactions;
        si->lsm_gets = ls.gets;
        si->bloom_negatives = ls.bloom_negatives;
        si->block_reads = ls.block_reads;
    }
}
