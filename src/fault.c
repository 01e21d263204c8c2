/* fault.c: test-only fault injection (see fault.h): armed fsync failures
 * and delays at named points of the flush, compaction and MANIFEST paths,
 * set by DEBUG FAULT. Nothing here runs unless a test turned it on. */
#include "fault.h"

#include <errno.h>
#include <stdatomic.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static _Atomic long sync_fail[FAULT_SYNC_N];
static _Atomic long delay_ms[FAULT_AT_N];

static const char *const sync_names[FAULT_SYNC_N] = {"wal", "sst", "manifest", "manifest-dir"};
static const char *const point_names[FAULT_AT_N] = {"flush", "compaction", "manifest"};

/* Consume one armed failure, if any. */
static bool take(enum fault_sync which) {
    long n = atomic_load_explicit(&sync_fail[which], memory_order_relaxed);
    while (n > 0) {
        if (atomic_compare_exchange_weak(&sync_fail[which], &n, n - 1)) {
            log_warning("DEBUG FAULT: failing an fsync of the %s with EIO (%ld more armed)", sync_names[which],
                        n - 1);
            return true;
        }
    }
    return false;
}

int fault_fsync(enum fault_sync which, int fd) {
    if (take(which)) {
        errno = EIO;
        return -1;
    }
    return fsync(fd);
}

int fault_fdatasync(enum fault_sync which, int fd) {
    if (take(which)) {
        errno = EIO;
        return -1;
    }
    return fdatasync(fd);
}

void fault_point(enum fault_point p) {
    long ms = atomic_load_explicit(&delay_ms[p], memory_order_relaxed);
    if (ms <= 0) return;
    log_notice("DEBUG FAULT: pausing %ld ms at the %s point", ms, point_names[p]);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

bool fault_arm_fsync(const char *which, long n) {
    for (int i = 0; i < FAULT_SYNC_N; i++)
        if (!strcasecmp(which, sync_names[i])) {
            atomic_store(&sync_fail[i], n < 0 ? 0 : n);
            return true;
        }
    return false;
}

bool fault_set_delay(const char *point, long ms) {
    for (int i = 0; i < FAULT_AT_N; i++)
        if (!strcasecmp(point, point_names[i])) {
            atomic_store(&delay_ms[i], ms < 0 ? 0 : ms);
            return true;
        }
    return false;
}

void fault_reset(void) {
    for (int i = 0; i < FAULT_SYNC_N; i++) atomic_store(&sync_fail[i], 0);
    for (int i = 0; i < FAULT_AT_N; i++) atomic_store(&delay_ms[i], 0);
}
