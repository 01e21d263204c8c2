/* fault.h: test-only fault injection for the storage paths (fault.c).
 *
 * Off by default: every counter and delay is zero, and the wrappers are one
 * relaxed load plus the real call. Only DEBUG FAULT (a protected command,
 * enable-debug-command) turns them on. See docs/reliability.md for why a
 * hook exists at all: an fsync that fails with EIO, and a crash at an exact
 * point of a flush, a compaction or a MANIFEST update, cannot be produced
 * from outside the process on the test machine. */
#ifndef STRATA_FAULT_H
#define STRATA_FAULT_H

#include <stdbool.h>

/* Which fsync a failure is aimed at. */
enum fault_sync {
    FAULT_SYNC_WAL,          /* WAL segment fdatasync (commit, everysec, rewrite) */
    FAULT_SYNC_SST,          /* a new SSTable's fsync (flush and compaction outputs) */
    FAULT_SYNC_MANIFEST,     /* MANIFEST.tmp's fsync, before the rename */
    FAULT_SYNC_MANIFEST_DIR, /* the LSM directory's fsync, after the rename */
    FAULT_SYNC_N
};

/* Where a delay can be placed (the window a kill -9 test aims at). */
enum fault_point {
    FAULT_AT_FLUSH,      /* after the flush's SSTable is written, before its MANIFEST edit */
    FAULT_AT_COMPACTION, /* after a compaction's outputs are written, before its MANIFEST edit */
    FAULT_AT_MANIFEST,   /* after MANIFEST.tmp is written and fsynced, before the rename */
    FAULT_AT_N
};

/* fsync / fdatasync, unless a failure is armed for `which`: then -1, EIO. */
int fault_fsync(enum fault_sync which, int fd);
int fault_fdatasync(enum fault_sync which, int fd);
/* Sleep for the delay set at `p` (none by default); logs when it does. */
void fault_point(enum fault_point p);

/* DEBUG FAULT's setters. Names: wal, sst, manifest, manifest-dir; flush,
 * compaction, manifest. False for an unknown name. */
bool fault_arm_fsync(const char *which, long n);
bool fault_set_delay(const char *point, long ms);
void fault_reset(void);

#endif
