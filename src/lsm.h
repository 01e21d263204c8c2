/* lsm.h: the on-disk store under the in-memory keyspace .
 *
 * The LSM engine owns a directory of SSTables plus a MANIFEST that names
 * them. It knows nothing of RESP, shards or the WAL. The server (storage.c)
 * hands it sorted batches of records to flush to level 0, asks it for single
 * keys (spilled values), and scans it at start to rebuild the key directory.
 * A background thread owned by the engine compacts levels; it never blocks
 * callers of lsm_get beyond a short mutex on the current version.
 *
 * Databases: every record carries a *physical* database id (uint32). The
 * MANIFEST maps logical databases 0..N-1 to physical ids, so FLUSHDB is one
 * MANIFEST edit that gives the logical db a fresh physical id (records of
 * the old id are dead and compaction drops them), and SWAPDB swaps two
 * mappings. The server reads lsm_phys_db() under the shard lock when it
 * collects records for a flush, and it changes mappings only while holding
 * every shard lock, so a flush never writes a record into a database that
 * was dropped after the record was collected.
 *
 * Errors: functions return enum lsm_status; on failure `err` (if given)
 * names the file and offset (corruption) or the errno text (io).
 * Thread safety: every function may be called from any thread, concurrently,
 * except lsm_open/lsm_close. At most one flush writer is open at a time.
 */
#ifndef STRATA_LSM_H
#define STRATA_LSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum lsm_status { LSM_OK = 0, LSM_NOTFOUND, LSM_NOMEM, LSM_INVALID, LSM_CORRUPT, LSM_IO };

typedef struct lsm lsm;
typedef struct lsm_writer lsm_writer;

typedef struct lsm_opts {
    const char *dir;            /* created if missing; holds MANIFEST and *.sst */
    int ndbs;                   /* logical databases (config `databases`) */
    size_t block_size;          /* uncompressed data block target, default 4096 */
    int bloom_bits_per_key;     /* default 10 (~1% false positives) */
    int l0_compaction_trigger;  /* L0 files that start a compaction, default 4 */
    uint64_t level1_bytes;      /* L1 target size, default 64 MB; x10 per level */
    uint64_t target_file_bytes; /* output file size of compaction, default 32 MB */
    bool background;            /* start the compaction thread (false in some unit tests) */
    /* When set, compaction turns expired records into tombstones only if
     * they expired before the horizon given by lsm_set_expire_horizon (0,
     * i.e. never, until the first call), not before the current time: the
     * server's WAL may hold a later PERSIST or APPEND of a key whose
     * SSTable version has since expired (docs/compaction.md). */
    bool expire_horizon;
} lsm_opts;

/* One record. In lsm_flush_add `db` is a physical id from lsm_phys_db();
 * in lsm_scan callbacks it is the logical db. expire_ms: absolute unix ms
 * or -1. seq: the write-stream sequence number of the write that made it.
 * A tombstone has no value. `flags` carries the keyspace's encoding flags
 * (KS_RAW/KS_NOINT/KS_UNSHARED) opaque to the engine. */
typedef struct lsm_rec {
    uint32_t db;
    const char *key;
    size_t klen;
    const char *val;
    size_t vlen;
    int64_t expire_ms;
    uint64_t seq;
    uint8_t flags;
    bool tombstone;
} lsm_rec;

void lsm_opts_default(lsm_opts *o);

/* Open (or create) the store: reads MANIFEST, checks every named file
 * exists and its footer checksum holds; a corrupt file refuses the open
 * with LSM_CORRUPT and an err naming the file. */
enum lsm_status lsm_open(const lsm_opts *o, lsm **out, char *err, size_t errlen);
void lsm_close(lsm *l);     /* stops the compaction thread; waits for it */

/* Highest write-stream sequence number whose effects are durable in the
 * SSTables (recorded in the MANIFEST by lsm_flush_commit); 0 for a new
 * store. Recovery replays WAL records with seq greater than this. */
uint64_t lsm_durable_seq(lsm *l);

/* Logical -> physical database id, for records being collected. */
uint32_t lsm_phys_db(lsm *l, int db);
/* FLUSHDB / FLUSHALL(db = -1) / SWAPDB as durable MANIFEST edits, tagged
 * with the write-stream seq of the command (replaying a WAL record whose
 * seq is <= the edit's seq is a no-op for the engine; seq 0 means untagged
 * and always applies). Caller holds every shard lock. db out of range:
 * LSM_INVALID. */
enum lsm_status lsm_drop_db(lsm *l, int db, uint64_t seq, char *err, size_t errlen);
enum lsm_status lsm_swap_db(lsm *l, int a, int b, uint64_t seq, char *err, size_t errlen);

/* Flush: records added in ascending (db, key) order with unique keys;
 * commit writes the SSTable (lz4 blocks, sparse index, bloom, footer),
 * fsyncs it, and installs it in L0 with a MANIFEST edit that also records
 * durable_seq = max(durable_seq, upto_seq). Only after commit returns OK
 * may the caller drop WAL records with seq <= upto_seq. A commit with no
 * records writes no file but still records durable_seq. Commit frees the
 * writer whatever its result (on failure the partial file is removed and
 * nothing changed); lsm_flush_add returns LSM_INVALID for a record that
 * does not sort after the previous one. */
enum lsm_status lsm_flush_begin(lsm *l, lsm_writer **w);
enum lsm_status lsm_flush_add(lsm_writer *w, const lsm_rec *r);
enum lsm_status lsm_flush_commit(lsm_writer *w, uint64_t upto_seq, char *err, size_t errlen);
/* With opts.expire_horizon: records that expired before horizon_ms may be
 * purged by compaction (the server passes the time its last committed
 * flush began, minus a margin). */
void lsm_set_expire_horizon(lsm *l, int64_t horizon_ms);
void lsm_flush_abort(lsm_writer *w);   /* removes the partial file */

/* Point lookup of the newest version of (logical db, key): checks L0 files
 * newest first, then one file per level (bloom, sparse index, one block).
 * LSM_OK: *val is malloc'ed (caller frees), *expire_ms and *flags set;
 * a record whose expiry is before now_ms reads as LSM_NOTFOUND.
 * LSM_NOTFOUND also for a tombstone. LSM_CORRUPT / LSM_IO with err. */
enum lsm_status lsm_get(lsm *l, int db, const char *key, size_t klen, int64_t now_ms,
                        char **val, size_t *vlen, int64_t *expire_ms, uint8_t *flags,
                        char *err, size_t errlen);

/* Visit the newest live version of every key (tombstones, dropped dbs and
 * records expired before now_ms skipped), in (db, key) order, db logical.
 * With want_values false, rec->val is NULL (start-up rebuilds the key
 * directory without reading values into RAM) -- the engine may still read
 * blocks. Returns the first non-zero fn result, or a status. `progress`
 * (may be NULL) is called every ~1s with done/total bytes. */
typedef int lsm_scan_fn(void *priv, const lsm_rec *rec);
typedef void lsm_progress_fn(void *priv, uint64_t done_bytes, uint64_t total_bytes);
enum lsm_status lsm_scan(lsm *l, bool want_values, int64_t now_ms, lsm_scan_fn *fn,
                         lsm_progress_fn *progress, void *priv, char *err, size_t errlen);

/* Run compactions until no level is over its target (tests, DEBUG). */
enum lsm_status lsm_compact_all(lsm *l, char *err, size_t errlen);

/* INFO persistence lsm_* fields. */
typedef struct lsm_stats {
    int levels;                 /* levels in use */
    int files[8];               /* runs per level */
    uint64_t bytes[8];          /* bytes per level */
    uint64_t total_bytes;
    uint64_t pending_compaction_bytes;  /* bytes over target, summed */
    bool compacting;            /* a compaction is running now */
    uint64_t compactions;       /* completed */
    uint64_t compaction_read_bytes, compaction_written_bytes;
    uint64_t flushes, flushed_bytes;
    uint64_t gets, bloom_negatives, block_reads;
    int last_bg_error;          /* 0, or errno of the last failed background write */
} lsm_stats;
void lsm_get_stats(lsm *l, lsm_stats *st);

#endif
