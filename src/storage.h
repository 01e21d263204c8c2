/* storage.h: the storage engine as the server sees it: the LSM under the
 * keyspace (lsm.h), the flush thread that moves dirty entries and pending
 * tombstones to level 0, spilled-value loads, recovery at start, and the
 * SAVE / BGSAVE / LASTSAVE / INFO persistence view of it.
 * Design and invariants: docs/storage.md; threads and lock order:
 * docs/threads.md.
 *
 * The engine is on when `data-dir` is set, or with `appendonly yes` (then
 * data-dir defaults to <dir>/strata-data). With it off, nothing here
 * touches the disk and every function below is a cheap no-op. */
#ifndef STRATA_STORAGE_H
#define STRATA_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum storage_flush_reason {
    STORAGE_FLUSH_DIRTY,        /* flush-dirty-bytes written since the last flush */
    STORAGE_FLUSH_TIMER,        /* flush-interval-ms elapsed with dirty entries */
    STORAGE_FLUSH_MEMORY,       /* spill found nothing clean to drop */
    STORAGE_FLUSH_SAVE,         /* SAVE / BGSAVE */
    STORAGE_FLUSH_SHUTDOWN,
};

/* Decide whether the engine is on (from cfg), pick the maxmemory policy
 * default (spill), open the LSM in <data-dir>/lsm (which verifies every
 * SSTable). Called from server.c after ks_setup and durability_setup,
 * before the listeners. false: a fatal error was logged (corrupt SSTable,
 * unreadable directory): the server must not start. */
bool storage_setup(void);
/* Rebuild the key directory from the SSTables (the loader thread, under
 * -LOADING, before the WAL replay). false: error logged. */
bool storage_recover(void);
/* Highest seq durable in the SSTables: the WAL replay starts after it. */
uint64_t storage_durable_seq(void);
/* Start the flush thread; after recovery (the WAL replay). */
void storage_start(void);
/* Final flush (SHUTDOWN), stop the flush thread, close the LSM. */
void storage_teardown(void);

bool storage_enabled(void);
/* The effective data directory ("" when off). */
const char *storage_data_dir(void);

/* Ask the flush thread for a flush soon; never blocks. */
void storage_request_flush(enum storage_flush_reason why);
/* SAVE: run a flush that starts after this call and wait for it. 0 ok,
 * -1 with err on failure. Never call with a shard lock held. */
int storage_save(char *err, size_t errlen);
/* True while the last flush failed (disk full, I/O error) and no flush
 * has succeeded since: writes are refused with a -MISCONF-style error,
 * reads go on. */
bool storage_writes_failing(void);
const char *storage_write_error(void);

/* Sequence of the write being replayed, so FLUSHDB/SWAPDB edits made
 * during recovery carry the seq of their WAL record. 0 outside replay. */
void storage_set_replay_seq(uint64_t seq);

/* LASTSAVE: unix seconds of the last successful flush (start time if none). */
long long storage_lastsave(void);

typedef struct storage_info {
    bool enabled;
    bool flush_in_progress;
    long long changes_since_last_save;
    long long last_save_time;       /* unix s */
    bool last_flush_ok;
    long long last_flush_time_sec;  /* -1 none */
    long long current_flush_time_sec;
    uint64_t flushes, flushed_records, flush_failures;
    uint64_t dirty_keys, spilled_keys, pending_tombstones, dirty_bytes;
    uint64_t spill_loads, spill_load_errors;
    /* from the LSM */
    int levels;
    int files[8];
    uint64_t bytes[8];
    uint64_t total_bytes, pending_compaction_bytes;
    bool compacting;
    uint64_t compactions, lsm_gets, bloom_negatives, block_reads;
} storage_info;
void storage_get_info(storage_info *si);

#endif
