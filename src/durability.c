/* durability.c: the server's side of the write-ahead log (durability.h):
 * where it lives, recovery at start, the -LOADING / -MISCONF gate, turning
 * appendonly on and off at run time, and INFO persistence.
 *
 * Recovery runs on a loader thread (strata-loader) after the listeners are
 * up, so clients connect and get -LOADING meanwhile (Redis does the same
 * from its event loop). Invariants:
 *  1. While dur_loading is 1 the write stream is off, the reactors run no
 *     active expiry and no eviction, and every command that could touch
 *     the keyspace is refused by durability_gate: the loader is the only
 *     writer, and it replays records exactly (no expiry checks), so the
 *     state it builds is the state the log describes.
 *  2. The stream is started (ws_start) with every shard lock held, right
 *     after the live segment is open, so the first record of the new
 *     segment is the first mutation after recovery.
 */
#include "durability.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "commands.h"
#include "config.h"
#include "keyspace.h"
#include "log.h"
#include "memory.h"
#include "multi.h"
#include "server.h"
#include "storage.h"
#include "util.h"
#include "wstream.h"

_Atomic int dur_loading;

static char data_dir[4200], wal_dir[4300];
static pthread_t loader;
static bool loader_started;
static struct {
    _Atomic int64_t start_ms;
    _Atomic uint64_t total_bytes, done_bytes, records;
    _Atomic int64_t last_load_ms;   /* duration of the last recovery */
} ld;
static _Atomic long long snapshots;   /* INFO aof_rewrites: snapshots written by CONFIG SET appendonly yes */
static pthread_mutex_t toggle_lock = PTHREAD_MUTEX_INITIALIZER;   /* appendonly on/off */

const char *durability_data_dir(void) { return data_dir; }

/* ---- the gate ------------------------------------------------------------ */

#define MISCONF_FMT "MISCONF Errors writing to the AOF file: %s"
#define LOADING_ERR "LOADING Redis is loading the dataset in memory"

bool durability_gate(client *c, const command *cmd) {
    int e = wal_error();
    if (e) {
        bool write = (cmd->flags & CMD_WRITE) ||
                     (cmd->proc == cmd_exec && c->mstate && (multi_queued_flags(c) & CMD_WRITE));
        if (write || cmd->proc == cmd_ping) {
            char msg[256];
            snprintf(msg, sizeof(msg), MISCONF_FMT, strerror(e));
            command_reject(c, cmd, msg);
            if (c->mstate && cmd->proc != cmd_exec) multi_flag_error(c);
            return false;
        }
    }
    if (atomic_load_explicit(&dur_loading, memory_order_relaxed) && !(cmd->flags & CMD_LOADING)) {
        command_reject(c, cmd, LOADING_ERR);
        if (c->mstate && cmd->proc != cmd_exec) multi_flag_error(c);
        return false;
    }
    return true;
}

/* ---- replay into the keyspace ------------------------------------------- */

static int apply(void *priv, const wal_rec *r) {
    int ndbs = ks_ndbs();
    /* FLUSHDB/SWAPDB edits of the LSM carry the record's seq (storage.h) */
    storage_set_replay_seq(r->seq);
    if ((int64_t)r->db >= ndbs || (r->op == WALF_SWAPDB && (int64_t)r->db2 >= ndbs)) {
        log_warning("WAL record seq %" PRIu64 " names database %u but 'databases' is %d", r->seq,
                    r->op == WALF_SWAPDB && r->db2 >= (uint32_t)ndbs ? r->db2 : r->db, ndbs);
        return -1;
    }
    int db = (int)r->db;
    ks_key k = ks_key_make(r->key ? r->key : "", r->klen);
    switch (r->op) {
    case WALF_SET:
        ks_lock_key(&k);
        do_ks_set(db, &k, r->val, r->vlen, r->expire_ms, r->flags & (KS_RAW | KS_NOINT | KS_UNSHARED));
        ks_unlock_key(&k);
        break;
    case WALF_DEL:
        ks_lock_key(&k);
        do_ks_delete(db, &k, INT64_MIN);
        ks_unlock_key(&k);
        break;
    case WALF_EXPIRE:
        ks_lock_key(&k);
        do_ks_set_expire(db, &k, r->expire_ms);
        ks_unlock_key(&k);
        break;
    case WALF_SETRANGE:
        ks_lock_key(&k);
        if (!do_ks_find(db, &k, INT64_MIN)) do_ks_set(db, &k, "", 0, KS_NO_EXPIRE, KS_RAW);
        do_ks_write_at(db, &k, (size_t)r->offset, r->val, r->vlen);
        ks_unlock_key(&k);
        break;
    case WALF_FLUSHDB: ks_flushdb(db); break;
    case WALF_FLUSHALL:
    case WALF_SNAP_BEGIN: ks_flushall(); break;
    case WALF_SWAPDB: ks_swapdb(db, (int)r->db2); break;
    case WALF_SNAP_END: break;
    default: return -1;
    }
    if (cfg.key_load_delay > 0) usleep((useconds_t)cfg.key_load_delay);
    return 0;
}

static void progress(void *priv, uint64_t done, uint64_t total, uint64_t records) {
    atomic_store(&ld.total_bytes, total);
    atomic_store(&ld.done_bytes, done);
    atomic_store(&ld.records, records);
    double secs = (double)(util_ms() - atomic_load(&ld.start_ms)) / 1000.0;
    log_notice("Loading the WAL: %.1f%% (%" PRIu64 " records, %.0f keys/s)",
               total ? 100.0 * (double)done / (double)total : 100.0, records,
               secs > 0 ? (double)records / secs : 0.0);
}

/* Open the live segment after `last_seq` and start the stream
 * (invariant 2). */
static bool start_logging(uint64_t last_seq, char *err, size_t errlen) {
    wal_opts o = {.dir = wal_dir, .segment_size = (uint64_t)cfg.wal_segment_size, .sync_thread = true};
    if (!wal_open(&o, last_seq, err, errlen)) return false;
    ks_lockset ls;
    ks_lockset_init(&ls);
    ks_lockset_all(&ls);
    ks_lockset_lock(&ls);
    ws_start(last_seq);
    ks_lockset_unlock(&ls);
    return true;
}

static void *loader_main(void *arg) {
    mem_thread_register();
    pthread_setname_np(pthread_self(), "strata-loader");
    int64_t t0 = util_ms();
    atomic_store(&ld.start_ms, t0);
    /* The storage engine's key directory first (storage.c), then the WAL
     * records it does not hold yet. */
    if (storage_enabled() && !storage_recover()) goto fail;
    if (!cfg.appendonly) {
        storage_start();
        atomic_store(&dur_loading, 0);
        mem_thread_exit();
        return NULL;
    }
    uint64_t *starts, total = 0;
    int ns = wal_list_segments(wal_dir, &starts);
    for (int i = 0; i < ns; i++) {
        char path[4400], name[64];
        struct stat sb;
        walf_segment_name(name, sizeof(name), starts[i]);
        snprintf(path, sizeof(path), "%s/%s", wal_dir, name);
        if (stat(path, &sb) == 0) total += (uint64_t)sb.st_size;
    }
    free(starts);
    atomic_store(&ld.total_bytes, total);
    if (total > (16u << 20)) log_notice("Loading the write-ahead log: %d segments, %" PRIu64 " bytes", ns, total);
    wal_replay_opts o = {
        .after_seq = storage_durable_seq(),   /* 0 without the storage engine */
        .load_truncated = cfg.aof_load_truncated,
        .skip_corrupt = cfg.wal_truncate_corrupt,
        .repair = true,
        .apply = apply,
        .progress = progress,
    };
    wal_replay_result res;
    char err[4600] = "";
    enum wal_replay_status st = wal_replay(wal_dir, &o, &res, err, sizeof(err));
    storage_set_replay_seq(0);
    atomic_store(&ld.done_bytes, res.bytes);
    atomic_store(&ld.records, res.records);
    if (st != WAL_REPLAY_OK) {
        log_warning("%s", err);
        if (st == WAL_REPLAY_CORRUPT && res.torn && o.load_truncated == false)
            log_warning("The last WAL record is incomplete (a crash while it was written) and "
                        "aof-load-truncated is no: strata refuses to start. Set 'aof-load-truncated yes' "
                        "to cut it off and start.");
        else if (st == WAL_REPLAY_CORRUPT)
            log_warning("The write-ahead log is corrupted: strata refuses to start. Inspect it with "
                        "'strata-check wal %s'. To start anyway with the records before the bad one "
                        "(later ones are set aside as *.skipped), set 'wal-truncate-corrupt yes'.",
                        wal_dir);
        else if (st == WAL_REPLAY_APPLY)
            log_warning("A WAL record could not be applied: strata refuses to start.");
        goto fail;
    }
    if (res.truncated)
        log_warning("!!! Warning: short read while loading the WAL %s: the last record (offset %" PRIu64
                    ") was incomplete and was truncated (aof-load-truncated yes) !!!",
                    res.bad_file, res.bad_off);
    if (res.skipped_corrupt)
        log_warning("!!! Warning: corrupt WAL record in %s at offset %" PRIu64
                    ": the log was cut there and later segments set aside (wal-truncate-corrupt yes) !!!",
                    res.bad_file, res.bad_off);
    uint64_t last = res.last_seq > o.after_seq ? res.last_seq : o.after_seq;
    if (!start_logging(last, err, sizeof(err))) {
        log_warning("%s", err);
        goto fail;
    }
    atomic_store(&ld.last_load_ms, util_ms() - t0);
    storage_start();    /* the flush thread, once the keyspace is whole */
    if (res.records)
        log_notice("DB loaded from the write-ahead log: %.3f seconds (%" PRIu64 " records, %d segments)",
                   (double)(util_ms() - t0) / 1000.0, res.records, res.segments);
    atomic_store(&dur_loading, 0);
    mem_thread_exit();
    return NULL;
fail:
    log_warning("Fatal error loading the write-ahead log. Exiting.");
    server_request_shutdown(1);
    mem_thread_exit();
    return NULL;
}

void durability_setup(void) {
    if (cfg.data_dir && cfg.data_dir[0]) {
        snprintf(data_dir, sizeof(data_dir), "%s", cfg.data_dir);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof(cwd))) snprintf(cwd, sizeof(cwd), ".");
        snprintf(data_dir, sizeof(data_dir), "%s/strata-data", cwd);
    }
    snprintf(wal_dir, sizeof(wal_dir), "%s/wal", data_dir);
    if (cfg.appendonly || (cfg.data_dir && cfg.data_dir[0])) atomic_store(&dur_loading, 1);
}

static void on_appendonly(void);

void durability_start(void) {
    config_watch("appendonly", on_appendonly);
    if (!cfg.appendonly && !storage_enabled()) return;
    if (pthread_create(&loader, NULL, loader_main, NULL) == 0) loader_started = true;
    else loader_main(NULL);
}

void durability_teardown(void) {
    if (loader_started) pthread_join(loader, NULL);
    loader_started = false;
    storage_teardown();     /* the final flush, before the log closes */
    pthread_mutex_lock(&toggle_lock);
    ws_stop();
    wal_close();
    ws_teardown();
    pthread_mutex_unlock(&toggle_lock);
}

/* ---- appendonly at run time -------------------------------------------- */

/* As Redis's startAppendOnly: the log starts with the whole keyspace (a
 * SNAPSHOT-BEGIN record, one SET per key, SNAPSHOT-END) taken under every
 * shard lock, then logs as usual. Segments of an earlier life are
 * superseded and removed once the snapshot is durable. */
static void enable(void) {
    uint64_t base = ws_last_seq();
    wal_replay_opts ro = {.load_truncated = true, .skip_corrupt = true};
    wal_replay_result rr;
    char err[4600];
    wal_replay(wal_dir, &ro, &rr, err, sizeof(err));
    if (rr.last_seq > base) base = rr.last_seq;
    wal_opts o = {.dir = wal_dir, .segment_size = (uint64_t)cfg.wal_segment_size, .sync_thread = true};
    if (!wal_open(&o, base, err, sizeof(err))) {
        log_warning("Can't turn appendonly on: %s", err);
        return;
    }
    int64_t t0 = util_mono_us();
    ks_lockset ls;
    ks_lockset_init(&ls);
    ks_lockset_all(&ls);
    if (storage_enabled()) {
        /* The SSTables hold the state: log from now on, and flush so that
         * every write made before the log existed is durable too. */
        ks_lockset_lock(&ls);
        ws_start(base);
        ks_lockset_unlock(&ls);
        char serr[512];
        atomic_fetch_add(&snapshots, 1);   /* the log's new base, as a rewrite is */
        if (storage_save(serr, sizeof(serr)) != 0) log_warning("Write-ahead log on, but the flush failed: %s", serr);
        else log_notice("Write-ahead log on (storage engine flushed)");
        return;
    }
    ks_lockset_lock(&ls);
    ws_start(base);
    ws_log_marker(WALF_SNAP_BEGIN);
    do_ks_log_all();
    ws_log_marker(WALF_SNAP_END);
    ks_lockset_unlock(&ls);
    double held_ms = (double)(util_mono_us() - t0) / 1000.0;
    bool ok = wal_flush_all(true);
    if (ok) wal_truncate_upto(base);
    atomic_fetch_add(&snapshots, 1);
    log_notice("Write-ahead log on: keyspace snapshot written (%" PRIu64 " records; shard locks held %.1f ms, "
               "written and fsynced in %.1f ms)%s",
               ws_last_seq() - base, held_ms, (double)(util_mono_us() - t0) / 1000.0,
               ok ? "" : "; the write failed and is retried");
}

static void disable(void) {
    ks_lockset ls;
    ks_lockset_init(&ls);
    ks_lockset_all(&ls);
    ks_lockset_lock(&ls);
    ws_stop();
    ks_lockset_unlock(&ls);
    wal_close();
    log_notice("Write-ahead log off (appendonly no)");
}

static void on_appendonly(void) {
    pthread_mutex_lock(&toggle_lock);
    if (!atomic_load(&dur_loading)) {
        if (cfg.appendonly && !wal_is_open()) enable();
        else if (!cfg.appendonly && wal_is_open()) disable();
    }
    pthread_mutex_unlock(&toggle_lock);
}

/* ---- INFO persistence ---------------------------------------------------- */

void durability_info(char *buf, size_t cap) {
    size_t n = 0;
#define OUT(...) do { if (n < cap) n += (size_t)snprintf(buf + n, cap - n, __VA_ARGS__); } while (0)
    int loading = atomic_load(&dur_loading);
    OUT("loading:%d\r\nasync_loading:0\r\n", loading);
    if (loading) {
        int64_t start = atomic_load(&ld.start_ms);
        uint64_t total = atomic_load(&ld.total_bytes), done = atomic_load(&ld.done_bytes);
        double secs = start ? (double)(util_ms() - start) / 1000.0 : 0;
        double perc = total ? 100.0 * (double)done / (double)total : 0;
        OUT("loading_start_time:%lld\r\nloading_total_bytes:%" PRIu64 "\r\nloading_rdb_used_mem:0\r\n"
            "loading_loaded_bytes:%" PRIu64 "\r\nloading_loaded_perc:%.2f\r\nloading_eta_seconds:%d\r\n"
            "loading_loaded_records:%" PRIu64 "\r\n",
            (long long)(start / 1000), total, done, perc,
            done && total > done && secs > 0 ? (int)((double)(total - done) / ((double)done / secs)) : 1,
            atomic_load(&ld.records));
    }
    int e = wal_error();
    bool on = wal_is_open();
    wal_stats st;
    wal_get_stats(&st);
    /* Redis 7.0's fields, in its order; nothing forks here, so the
     * fork/COW ones are zero. rdb_*: a flush to level 0 is strata's "save"
     * (storage.c). */
    storage_info si;
    storage_get_info(&si);
    OUT("current_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\ncurrent_fork_perc:0.00\r\n"
        "current_save_keys_processed:0\r\ncurrent_save_keys_total:0\r\n"
        "rdb_changes_since_last_save:%lld\r\nrdb_bgsave_in_progress:%d\r\nrdb_last_save_time:%lld\r\n"
        "rdb_last_bgsave_status:%s\r\nrdb_last_bgsave_time_sec:%lld\r\nrdb_current_bgsave_time_sec:%lld\r\n"
        "rdb_saves:%llu\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:0\r\nrdb_last_load_keys_loaded:0\r\n"
        "aof_enabled:%d\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n"
        "aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\naof_last_bgrewrite_status:ok\r\n"
        "aof_rewrites:%lld\r\naof_rewrites_consecutive_failures:0\r\naof_last_write_status:%s\r\n"
        "aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        si.changes_since_last_save, si.flush_in_progress ? 1 : 0, si.last_save_time,
        si.last_flush_ok ? "ok" : "err", si.last_flush_time_sec, si.current_flush_time_sec,
        (unsigned long long)si.flushes, on || (cfg.appendonly && loading), (long long)atomic_load(&snapshots),
        e ? "err" : "ok");
    if (on) {
        OUT("aof_current_size:%" PRIu64 "\r\naof_base_size:0\r\naof_pending_rewrite:0\r\n"
            "aof_buffer_length:%zu\r\naof_pending_bio_fsync:0\r\naof_delayed_fsync:0\r\n",
            st.bytes, ws_pending_bytes());
    }
    OUT("wal_enabled:%d\r\nwal_dir:%s\r\nwal_segments:%d\r\nwal_bytes:%" PRIu64 "\r\n"
        "wal_last_seq:%" PRIu64 "\r\nwal_written_seq:%" PRIu64 "\r\nwal_synced_seq:%" PRIu64 "\r\n"
        "wal_fsyncs:%" PRIu64 "\r\nwal_last_fsync_time:%lld\r\nwal_fsync_last_usec:%" PRIu64 "\r\n"
        "wal_fsync_max_usec:%" PRIu64 "\r\nwal_fsync_avg_usec:%" PRIu64 "\r\n"
        "wal_write_errors:%" PRIu64 "\r\nwal_last_error:%s\r\nwal_last_load_ms:%lld\r\n",
        on, on ? wal_dir : "", st.segments, st.bytes, ws_last_seq(), st.written_seq, st.synced_seq, st.fsyncs,
        (long long)(st.last_fsync_ms / 1000), st.fsync_last_us, st.fsync_max_us,
        st.fsyncs ? st.fsync_total_us / st.fsyncs : 0, st.write_errors,
        st.last_errno ? strerror(st.last_errno) : "none", (long long)atomic_load(&ld.last_load_ms));
#undef OUT
}
