/* wal.h: the write-ahead log on disk: segment files in <data-dir>/wal/,
 * the writer that moves the write stream's buffer (wstream.h) into the
 * live segment, group commit, the everysec fsync thread, rotation and
 * truncation, and replay. Format: docs/wal_format.md. Durability promises
 * per appendfsync policy: docs/durability.md.
 *
 * Threads: reactors call wal_commit at the end of each read batch; the
 * sync thread (strata-walsync) writes what crons staged and fsyncs under
 * everysec; the LSM flush thread calls wal_truncate_upto. Everything that
 * touches the file happens under `wal_lock`, which is never held with a
 * shard lock (the write stream's own mutex is taken inside it, briefly, to
 * take the buffer). See docs/threads.md. */
#ifndef STRATA_WAL_H
#define STRATA_WAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wal_format.h"

enum wal_fsync { WAL_FSYNC_ALWAYS = 0, WAL_FSYNC_EVERYSEC = 1, WAL_FSYNC_NO = 2 };  /* cfg.appendfsync order */

typedef struct wal_opts {
    const char *dir;            /* the segment directory (created if missing) */
    uint64_t segment_size;      /* rotate once the live segment reaches this many bytes */
    bool sync_thread;           /* start strata-walsync (everysec fsync, cron writes, retries) */
} wal_opts;

/* Open the log for writing: a new live segment whose first record will
 * have seq last_seq + 1. Existing segments stay (replay them first). The
 * fsync policy is read from cfg.appendfsync at each commit. false with err
 * on failure. */
bool wal_open(const wal_opts *o, uint64_t last_seq, char *err, size_t errlen);
/* Write and fsync what is staged (best effort), close the live segment,
 * stop the sync thread. */
void wal_close(void);
bool wal_is_open(void);

/* Make every record with seq <= `seq` written (and fsynced under
 * `always`). Called by a reactor at the end of its read batch with the
 * last seq it staged; concurrent callers share one write + fsync (group
 * commit). Returns false, without acknowledging anything, when the write
 * or fsync failed: the records stay in memory and the next call (or the
 * sync thread) retries; wal_error() says why. */
bool wal_commit(uint64_t seq);
/* Like wal_commit for everything staged so far, always fsyncing (policy
 * `no` excepted). */
bool wal_flush_all(bool fsync);

/* 0, or the errno of the last failed write / fsync while it persists
 * (every command reads it: a relaxed load, inline). */
extern _Atomic int wal_cur_err;
static inline int wal_error(void) { return atomic_load_explicit(&wal_cur_err, memory_order_relaxed); }

/* After the LSM made every effect with seq <= `seq` durable: delete the
 * segments whose records all have seq <= seq, rotating the live segment
 * first if all of its records qualify. Returns how many were deleted. */
int wal_truncate_upto(uint64_t seq);
/* Close the live segment and start a new one (tests, DEBUG). */
bool wal_rotate(void);

/* Highest seq written to the file / known durable. */
uint64_t wal_written_seq(void);
uint64_t wal_synced_seq(void);

typedef struct wal_stats {
    int segments;
    uint64_t bytes;             /* all segments */
    uint64_t live_bytes;
    uint64_t written_seq, synced_seq;
    uint64_t fsyncs;
    uint64_t fsync_last_us, fsync_max_us, fsync_total_us;
    int64_t last_fsync_ms;      /* unix ms of the last successful fsync, 0 never */
    uint64_t write_errors;
    int last_errno;             /* errno of the last failure (even if since resolved) */
    int64_t last_error_ms;
} wal_stats;
void wal_get_stats(wal_stats *st);

/* ---- replay ---------------------------------------------------------- */

typedef int wal_apply_fn(void *priv, const wal_rec *r);   /* non-zero stops the replay */
typedef void wal_progress_fn(void *priv, uint64_t done_bytes, uint64_t total_bytes, uint64_t records);

typedef struct wal_replay_opts {
    uint64_t after_seq;         /* skip records with seq <= after_seq */
    bool load_truncated;        /* a torn tail of the last segment is cut off (else refused) */
    bool skip_corrupt;          /* a corrupt record stops the replay there and the log is cut at it */
    bool repair;                /* actually truncate files (false: report only, strata-check) */
    wal_apply_fn *apply;
    wal_progress_fn *progress;  /* may be NULL; called about every second */
    void *priv;
} wal_replay_opts;

typedef struct wal_replay_result {
    uint64_t records, applied;
    uint64_t first_seq, last_seq;   /* of the records seen (0 if none) */
    uint64_t bytes;
    int segments;
    bool truncated;             /* a torn tail was cut off */
    bool torn;                  /* stopped at a torn record (refused: load_truncated off, or not the last segment) */
    bool skipped_corrupt;       /* skip_corrupt cut the log at a corrupt record */
    char bad_file[4300];        /* where it stopped (torn/corrupt) */
    uint64_t bad_off;
} wal_replay_result;

enum wal_replay_status { WAL_REPLAY_OK = 0, WAL_REPLAY_CORRUPT, WAL_REPLAY_IO, WAL_REPLAY_APPLY };

/* Read every segment of dir in order, verifying checksums and that
 * sequence numbers follow each other, and call apply for each record with
 * seq > after_seq. A missing directory is an empty log. On CORRUPT, err
 * names the file and offset. */
enum wal_replay_status wal_replay(const char *dir, const wal_replay_opts *o, wal_replay_result *res,
                                  char *err, size_t errlen);

/* Segment start seqs of dir, sorted (malloc'ed; caller frees). */
int wal_list_segments(const char *dir, uint64_t **starts);

#endif
