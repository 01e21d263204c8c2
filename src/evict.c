/* evict.c: maxmemory enforcement: the command gate, the eviction loop, the
 * per-thread eviction pool, and the eviction stats. See evict.h for the
 * model and docs/eviction.md for the design and its costs.
 *
 * Invariants:
 *  1. No lock is held here except one shard lock at a time, inside the
 *     keyspace calls (ks_evict_sample, do_ks_evict); so eviction may run
 *     on any reactor, concurrently, and inside EXEC (which holds them all:
 *     the keyspace's lock calls are then no-ops).
 *  2. A pool belongs to one thread and holds copies of keys, never entry
 *     pointers: a key in the pool may be gone by the time it is picked (a
 *     "ghost", skipped), exactly as in Redis.
 *  3. The pool's scores were computed under the policy in pool_policy;
 *     a policy change empties the pool.
 */
#include "evict.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "config.h"
#include "keyspace.h"
#include "log.h"
#include "memory.h"
#include "multi.h"
#include "storage.h"
#include "util.h"

#define EVPOOL_SIZE 16          /* Redis's pool size */
#define EVPOOL_KEY_CAP 256      /* keys up to this long reuse the entry's buffer */

typedef struct pool_entry {
    uint64_t score;             /* higher = evict sooner */
    int db;
    bool used;
    size_t len, cap;
    char *buf;                  /* owned by the entry, moves with it */
} pool_entry;

typedef struct evict_pool {
    pool_entry e[EVPOOL_SIZE];  /* ascending score; unused entries at the right end */
    int policy;
} evict_pool;

static _Thread_local evict_pool *tl_pool;
static _Thread_local unsigned tl_next_db;

static _Atomic uint64_t stat_evicted;
static _Atomic uint64_t stat_spilled;       /* values spilled (policy spill) */
static _Atomic int64_t exceeded_since_us;   /* 0: used_memory is not over the limit */
static _Atomic uint64_t exceeded_total_us;
static _Atomic bool continue_pending;       /* an eviction ran out of time */

/* ---- policies ------------------------------------------------------------ */

static bool policy_volatile(int p) {
    return p == MM_VOLATILE_LRU || p == MM_VOLATILE_LFU || p == MM_VOLATILE_RANDOM ||
           p == MM_VOLATILE_TTL;
}

static bool policy_random(int p) { return p == MM_ALLKEYS_RANDOM || p == MM_VOLATILE_RANDOM; }

/* The pool's score of a sampled entry: Redis's "idle" (idle time for LRU,
 * 255 - frequency for LFU, how soon it expires for volatile-ttl). */
static uint64_t score_of(int policy, const ks_entry *e) {
    switch (policy) {
    case MM_ALLKEYS_LRU: case MM_VOLATILE_LRU: case MM_SPILL:
        return ks_entry_idle_seconds(e);
    case MM_ALLKEYS_LFU: case MM_VOLATILE_LFU:
        return 255 - ks_entry_lfu(e);
    case MM_VOLATILE_TTL:
        return UINT64_MAX - (uint64_t)ks_entry_expire(e);
    default:
        return 0;
    }
}

/* Redis's evictionTimeLimitUs: tenacity 0..10 is 0..500 us linearly, then
 * +15% per step (about 2 minutes at 99), 100 unbounded. */
static uint64_t time_limit_us(long long tenacity) {
    if (tenacity <= 10) return 50ULL * (uint64_t)(tenacity < 0 ? 0 : tenacity);
    if (tenacity < 100) return (uint64_t)(500.0 * pow(1.15, (double)tenacity - 10.0));
    return UINT64_MAX;
}

/* ---- the pool ------------------------------------------------------------- */

static evict_pool *pool_get(int policy) {
    evict_pool *p = tl_pool;
    if (!p) {
        p = tl_pool = xcalloc(1, sizeof(*p));
        for (int i = 0; i < EVPOOL_SIZE; i++) {
            p->e[i].buf = xmalloc(EVPOOL_KEY_CAP);
            p->e[i].cap = EVPOOL_KEY_CAP;
        }
        p->policy = policy;
    }
    if (p->policy != policy) {
        for (int i = 0; i < EVPOOL_SIZE; i++) p->e[i].used = false;
        p->policy = policy;
    }
    return p;
}

void evict_thread_exit(void) {
    evict_pool *p = tl_pool;
    if (!p) return;
    for (int i = 0; i < EVPOOL_SIZE; i++) free(p->e[i].buf);
    free(p);
    tl_pool = NULL;
}

typedef struct sample_ctx {
    evict_pool *pool;
    int db;
} sample_ctx;

/* Redis's evictionPoolPopulate insertion, for one sampled entry: keep the
 * pool sorted ascending, fill free entries first, else push out the worst
 * (leftmost) one if the new entry beats it. */
static void pool_consider(void *priv, const ks_entry *e) {
    sample_ctx *ctx = priv;
    /* spill: only clean values that are on disk may leave RAM */
    if (ctx->pool->policy == MM_SPILL && !ks_entry_spillable(e)) return;
    pool_entry *pool = ctx->pool->e;
    uint64_t score = score_of(ctx->pool->policy, e);
    int k = 0;
    while (k < EVPOOL_SIZE && pool[k].used && pool[k].score < score) k++;
    if (k == 0 && pool[EVPOOL_SIZE - 1].used) return;   /* worse than all, and full */
    if (k < EVPOOL_SIZE && !pool[k].used) {
        /* a free entry: take it */
    } else if (!pool[EVPOOL_SIZE - 1].used) {
        /* room on the right: shift k.. right, reuse the last entry's buffer */
        pool_entry spare = pool[EVPOOL_SIZE - 1];
        memmove(pool + k + 1, pool + k, sizeof(pool[0]) * (size_t)(EVPOOL_SIZE - k - 1));
        pool[k] = spare;
    } else {
        /* full: drop the leftmost (worst), shift ..k-1 left */
        k--;
        pool_entry spare = pool[0];
        memmove(pool, pool + 1, sizeof(pool[0]) * (size_t)k);
        pool[k] = spare;
    }
    size_t len;
    const char *key = ks_entry_key(e, &len);
    pool_entry *p = &pool[k];
    if (len > p->cap) {
        p->buf = xrealloc(p->buf, len);
        p->cap = len;
    }
    memcpy(p->buf, key, len);
    p->len = len;
    p->score = score;
    p->db = ctx->db;
    p->used = true;
}

/* Delete (db, key) if it is still a candidate; the bytes freed, or 0. */
static size_t evict_key(int db, const char *key, size_t len, bool vol) {
    ks_key k = ks_key_make(key, len);
    ks_lock_key(&k);
    size_t freed = do_ks_evict(db, &k, vol);
    ks_unlock_key(&k);
    if (freed) atomic_fetch_add_explicit(&stat_evicted, 1, memory_order_relaxed);
    return freed;
}

/* The databases holding candidates, as of now (a lock-free count). */
static int candidate_dbs(bool vol, int *dbs) {
    int n = 0;
    for (int d = 0; d < ks_ndbs(); d++)
        if (ks_evict_candidates(d, vol)) dbs[n++] = d;
    return n;
}

/* Evict one key chosen by the pool (LRU, LFU, TTL): sample every database
 * that has candidates into the pool, then take the best entry that still
 * exists. Returns the bytes freed, 0 when there is nothing to evict. */
static size_t evict_one_pooled(int policy, int *dbs, int *ndbs) {
    bool vol = policy_volatile(policy);
    evict_pool *pool = pool_get(policy);
    unsigned samples = cfg.maxmemory_samples > 0 ? (unsigned)cfg.maxmemory_samples : 5;
    for (;;) {
        int n = 0;
        for (int i = 0; i < *ndbs; i++) {
            sample_ctx ctx = {pool, dbs[i]};
            if (ks_evict_sample(dbs[i], vol, samples, pool_consider, &ctx)) dbs[n++] = dbs[i];
        }
        *ndbs = n;
        if (n == 0) return 0;   /* no candidate left anywhere */
        for (int k = EVPOOL_SIZE - 1; k >= 0; k--) {
            pool_entry *p = &pool->e[k];
            if (!p->used) continue;
            p->used = false;
            size_t freed = evict_key(p->db, p->buf, p->len, vol);
            if (freed) return freed;
            /* a ghost: deleted since it was sampled; try the next best */
        }
    }
}

static size_t counted(size_t used);

/* Spill one value chosen by LRU among the spillable entries sampled. Most
 * sampled entries may be spilled already or dirty, so each round samples
 * more than maxmemory-samples, and a few rounds that find nothing mean
 * nothing is spillable now (everything in RAM is dirty): return 0. */
static size_t spill_one(int *dbs, int ndbs) {
    evict_pool *pool = pool_get(MM_SPILL);
    unsigned samples = cfg.maxmemory_samples > 16 ? (unsigned)cfg.maxmemory_samples : 16;
    int64_t now = util_ms();
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < ndbs; i++) {
            sample_ctx ctx = {pool, dbs[i]};
            ks_evict_sample(dbs[i], false, samples, pool_consider, &ctx);
        }
        for (int k = EVPOOL_SIZE - 1; k >= 0; k--) {
            pool_entry *p = &pool->e[k];
            if (!p->used) continue;
            p->used = false;
            ks_key key = ks_key_make(p->buf, p->len);
            ks_lock_key(&key);
            size_t freed = do_ks_spill(p->db, &key, now);
            ks_unlock_key(&key);
            if (freed) {
                atomic_fetch_add_explicit(&stat_spilled, 1, memory_order_relaxed);
                return freed;
            }
        }
    }
    return 0;
}

/* maxmemory-policy spill: free values of cold clean entries until under
 * the limit. When nothing is spillable, wake the flusher (which makes
 * dirty entries clean) and let the command run: writes are refused only
 * while the disk is failing, or with the engine off. The overshoot is
 * bounded by what is written while one flush runs (docs/storage.md). */
#define SPILL_BACKOFF_US 50000
static _Atomic int64_t spill_backoff_until;   /* mono us; 0: none */

void evict_spill_kick(void) { atomic_store_explicit(&spill_backoff_until, 0, memory_order_relaxed); }

static enum evict_result spill_perform(size_t used, unsigned long long limit, uint64_t budget) {
    if (!storage_enabled()) return EVICT_FAIL;
    int64_t start = util_mono_us();
    /* A search that found nothing spillable holds until a flush makes
     * entries clean (evict_spill_kick) or a short time passes: without
     * it every command sampled 128 entries in vain, and when the key
     * directory alone is over maxmemory, nothing ever becomes spillable. */
    int64_t until = atomic_load_explicit(&spill_backoff_until, memory_order_relaxed);
    if (until && start < until) return storage_writes_failing() ? EVICT_FAIL : EVICT_OK;
    bool live = mem_is_live();
    size_t tofree = counted(used) - limit, freed = 0;
    int dbs[1024];
    int ndbs = candidate_dbs(false, dbs);
    unsigned keys = 0;
    for (;;) {
        size_t f = ndbs ? spill_one(dbs, ndbs) : 0;
        if (!f) {
            atomic_store_explicit(&spill_backoff_until, util_mono_us() + SPILL_BACKOFF_US, memory_order_relaxed);
            /* Only a flush can make something spillable, and only if
             * something is dirty: a flush with nothing to write still
             * walks every entry of every shard. */
            ks_storage_stat ks;
            ks_storage_stats(&ks);
            if (ks.dirty_keys || ks.pending_tombstones) storage_request_flush(STORAGE_FLUSH_MEMORY);
            return storage_writes_failing() ? EVICT_FAIL : EVICT_OK;
        }
        freed += f;
        keys++;
        mem_note_freed(f);
        if (live ? counted(mem_used()) <= limit : freed >= tofree) break;
        if (keys % 16 == 0 && (uint64_t)(util_mono_us() - start) > budget) {
            atomic_store(&continue_pending, true);
            return EVICT_RUNNING;
        }
    }
    atomic_store(&continue_pending, false);
    return EVICT_OK;
}

enum evict_result evict_spill_background(uint64_t budget_us) {
    unsigned long long limit = cfg.maxmemory;
    if (!limit || cfg.maxmemory_policy != MM_SPILL) return EVICT_OK;
    size_t used = mem_used();
    if (used <= limit || counted(used) <= limit) return EVICT_OK;
    return spill_perform(used, limit, budget_us);
}

typedef struct pick_ctx {
    char *buf;
    size_t len;
} pick_ctx;

static void pick_one(void *priv, const ks_entry *e) {
    pick_ctx *ctx = priv;
    const char *key = ks_entry_key(e, &ctx->len);
    ctx->buf = xstrndup(key, ctx->len);
}

/* allkeys-random / volatile-random: one random candidate of the next
 * database (round robin, as Redis). */
static size_t evict_one_random(int policy, int *dbs, int *ndbs) {
    bool vol = policy_volatile(policy);
    while (*ndbs > 0) {
        int i = (int)(tl_next_db++ % (unsigned)*ndbs);
        pick_ctx ctx = {NULL, 0};
        if (!ks_evict_sample(dbs[i], vol, 1, pick_one, &ctx)) {
            dbs[i] = dbs[--*ndbs];   /* this db ran out of candidates */
            continue;
        }
        size_t freed = evict_key(dbs[i], ctx.buf, ctx.len, vol);
        free(ctx.buf);
        if (freed) return freed;
    }
    return 0;
}

/* ---- the loop ------------------------------------------------------------- */

static void update_metrics(enum evict_result r) {
    int64_t since = atomic_load_explicit(&exceeded_since_us, memory_order_relaxed);
    if (r != EVICT_OK) {
        if (!since) {
            int64_t zero = 0;
            atomic_compare_exchange_strong(&exceeded_since_us, &zero, util_mono_us());
        }
    } else if (since && atomic_compare_exchange_strong(&exceeded_since_us, &since, 0)) {
        atomic_fetch_add(&exceeded_total_us, (uint64_t)(util_mono_us() - since));
    }
}

size_t evict_not_counted(void) { return 0; }

/* used_memory as the limit sees it (Redis's getMaxmemoryState). */
static size_t counted(size_t used) {
    size_t nc = evict_not_counted();
    return used > nc ? used - nc : 0;
}

enum evict_result evict_perform(void) {
    unsigned long long limit = cfg.maxmemory;
    if (!limit) return EVICT_OK;
    size_t used = mem_used();
    enum evict_result result;
    if (used <= limit || counted(used) <= limit) {
        result = EVICT_OK;
        goto done;
    }
    int policy = cfg.maxmemory_policy;
    if (policy == MM_NOEVICTION) {
        result = EVICT_FAIL;
        goto done;
    }
    if (policy == MM_SPILL) {
        result = spill_perform(used, limit, time_limit_us(cfg.maxmemory_eviction_tenacity));
        goto done;
    }
    uint64_t budget = time_limit_us(cfg.maxmemory_eviction_tenacity);
    int64_t start = util_mono_us();
    bool live = mem_is_live();
    size_t tofree = counted(used) - limit, freed = 0;
    int dbs[1024];
    int ndbs = candidate_dbs(policy_volatile(policy), dbs);
    unsigned keys = 0;
    result = EVICT_OK;
    for (;;) {
        size_t f = policy_random(policy) ? evict_one_random(policy, dbs, &ndbs)
                                         : evict_one_pooled(policy, dbs, &ndbs);
        if (!f) {
            result = EVICT_FAIL;
            break;
        }
        freed += f;
        keys++;
        mem_note_freed(f);
        /* Live accounting: stop when the shared figure is under the limit,
         * which also stops concurrent evictors on other threads as soon as
         * together they are done. Cached (libc): count what we freed. */
        if (live ? counted(mem_used()) <= limit : freed >= tofree) break;
        if (keys % 16 == 0 && (uint64_t)(util_mono_us() - start) > budget) {
            atomic_store(&continue_pending, true);
            result = EVICT_RUNNING;
            break;
        }
    }
    if (result != EVICT_RUNNING) atomic_store(&continue_pending, false);
done:
    update_metrics(result);
    return result;
}

bool evict_gate(client *c, const command *cmd) {
    if (evict_perform() != EVICT_FAIL) return true;
    bool reject = cmd->flags & CMD_DENYOOM;
    if (c->mstate) {
        /* Inside MULTI every command but these is refused: queueing may
         * take unbounded memory (Redis 7.0). EXEC is refused when its queue
         * holds a command that may grow memory. A no-multi command gets
         * its own error from multi_maybe_queue: Redis checks that first. */
        command_proc *p = cmd->proc;
        if (p == cmd_exec) reject = reject || (multi_queued_flags(c) & CMD_DENYOOM);
        else if (cmd->flags & CMD_NO_MULTI) return true;
        else if (p != cmd_discard && p != cmd_quit && p != cmd_reset) reject = true;
    }
    if (!reject) return true;
    command_reject(c, cmd, EVICT_OOM_ERR);
    if (c->mstate && cmd->proc != cmd_exec) multi_flag_error(c);
    return false;
}

void evict_maxmemory_changed(void) {
    unsigned long long limit = cfg.maxmemory;
    if (!limit) {
        /* No limit, nothing exceeded: close the episode (Redis leaves its
         * timer running until the next check under a limit). */
        update_metrics(EVICT_OK);
        atomic_store(&continue_pending, false);
        return;
    }
    size_t used = counted(mem_refresh());
    if (limit < used)
        log_warning("WARNING: the new maxmemory value set via CONFIG SET (%llu) is smaller than the "
                    "current memory usage (%zu). This will result in key eviction and/or the inability "
                    "to accept new write commands depending on the maxmemory-policy.",
                    limit, used);
    evict_perform();
}

void evict_cron(void) {
    if (atomic_load_explicit(&continue_pending, memory_order_relaxed)) evict_perform();
}

/* ---- stats ------------------------------------------------------------------ */

uint64_t evict_stat_evicted(void) { return atomic_load(&stat_evicted); }
uint64_t evict_stat_spilled(void) { return atomic_load(&stat_spilled); }

uint64_t evict_stat_exceeded_current_ms(void) {
    int64_t since = atomic_load(&exceeded_since_us);
    return since ? (uint64_t)(util_mono_us() - since) / 1000 : 0;
}

uint64_t evict_stat_exceeded_total_ms(void) {
    int64_t since = atomic_load(&exceeded_since_us);
    uint64_t cur = since ? (uint64_t)(util_mono_us() - since) : 0;
    return (atomic_load(&exceeded_total_us) + cur) / 1000;
}

void evict_stat_reset(void) {
    atomic_store(&stat_evicted, 0);
    atomic_store(&exceeded_total_us, 0);
    /* as Redis's resetServerStats: an episode in progress is forgotten and
     * starts again at the next check that finds the limit exceeded */
    atomic_store(&exceeded_since_us, 0);
}
