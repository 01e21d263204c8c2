/* wal.c: the write-ahead log on disk (see wal.h; format in
 * docs/wal_format.md, promises in docs/durability.md).
 *
 * Invariants:
 *  1. Records reach the live segment in sequence order, with no gap: the
 *     write stream buffers them in seq order (wstream.c) and only the
 *     holder of wal_lock takes that buffer and writes it.
 *  2. `tail` holds the bytes of the live segment from offset synced_bytes
 *     on (those not yet known durable); the first tail_written of them are
 *     in the file. Under appendfsync no the tail is dropped once written
 *     (the OS decides when it is durable).
 *  3. written_seq is the last seq entirely in the file, synced_seq the last
 *     one made durable by an fsync; both only grow while the log is open.
 *  4. A failed write leaves a prefix of the tail in the file; the retry
 *     writes the rest after it. A failed fsync may have lost any page
 *     written since the last good one, so the retry cuts the file back to
 *     synced_bytes and writes the whole tail again before fsyncing.
 *  5. A segment's name is the seq of its first record; every record of
 *     segment i has a seq below the name of segment i+1.
 *  6. Nothing here runs under a shard lock; wal_lock nests outside the
 *     write stream's ws_lock.
 */
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "config.h"
#include "fault.h"
#include "log.h"
#include "memory.h"
#include "util.h"
#include "wstream.h"

typedef struct seg {
    uint64_t start;
    uint64_t bytes;
} seg;

static pthread_mutex_t wal_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sync_cond = PTHREAD_COND_INITIALIZER;

static struct {
    bool open;
    char dir[4096];
    uint64_t segment_size;
    int fd;
    uint64_t seg_start;
    unsigned seg_gen;           /* bumped at each rotation */
    uint64_t synced_bytes;      /* invariant 2 */
    ws_buf tail, spare;
    size_t tail_written;
    uint64_t tail_hi;           /* last seq in tail (or written before it) */
    bool need_rewrite;          /* invariant 4: an fsync failed */
    bool fsync_failed;          /* the error is an fsync's: only a good fsync clears it */
    seg *segs;                  /* closed segments, oldest first */
    int nsegs;
    bool sync_thread, stop;
    pthread_t tid;
} W = {.fd = -1};

static _Atomic uint64_t written_seq, synced_seq;
_Atomic int wal_cur_err;
static struct {
    _Atomic uint64_t fsyncs, fsync_last_us, fsync_max_us, fsync_total_us, write_errors;
    _Atomic int64_t last_fsync_ms, last_error_ms;
    _Atomic int last_errno;
} stats;

uint64_t wal_written_seq(void) { return atomic_load(&written_seq); }
uint64_t wal_synced_seq(void) { return atomic_load(&synced_seq); }
/* W.open changes under wal_lock (atomic stores); this reads it without the
 * lock (INFO persistence, the appendonly hook). */
bool wal_is_open(void) { return __atomic_load_n(&W.open, __ATOMIC_ACQUIRE); }

static void set_error(int e, const char *what) {
    int was = atomic_exchange(&wal_cur_err, e);
    atomic_fetch_add(&stats.write_errors, 1);
    atomic_store(&stats.last_errno, e);
    atomic_store(&stats.last_error_ms, util_ms());
    if (was != e)
        log_warning("Error %s the write-ahead log %s/%020" PRIu64 ".wal: %s", what, W.dir, W.seg_start,
                    strerror(e));
}

static void clear_error(void) {
    if (atomic_exchange(&wal_cur_err, 0))
        log_warning("Write-ahead log writes succeed again: write commands are accepted.");
}

static void seg_path(char *out, size_t cap, const char *dir, uint64_t start) {
    char name[64];
    walf_segment_name(name, sizeof(name), start);
    snprintf(out, cap, "%s/%s", dir, name);
}

static int fsync_dir(const char *dir) {
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -1;
    int r = fsync(dfd);
    close(dfd);
    return r;
}

static int mkdir_p(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int wal_list_segments(const char *dir, uint64_t **starts) {
    *starts = NULL;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t s;
        if (!walf_parse_segment_name(de->d_name, &s)) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            *starts = xrealloc(*starts, sizeof(uint64_t) * (size_t)cap);
        }
        (*starts)[n++] = s;
    }
    closedir(d);
    if (n) qsort(*starts, (size_t)n, sizeof(uint64_t), cmp_u64);
    return n;
}

/* Create the segment that starts at `start` and make its header and
 * directory entry durable. Caller holds wal_lock (or is wal_open). */
static int new_segment(uint64_t start) {
    char path[4200];
    seg_path(path, sizeof(path), W.dir, start);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    uint8_t h[WALF_HEADER_SIZE];
    walf_header_encode(h, start);
    if (pwrite(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) || fdatasync(fd) != 0 || fsync_dir(W.dir) != 0) {
        int e = errno ? errno : EIO;
        close(fd);
        unlink(path);
        errno = e;
        return -1;
    }
    W.fd = fd;
    W.seg_start = start;
    W.synced_bytes = WALF_HEADER_SIZE;
    W.tail.len = 0;
    W.tail_written = 0;
    W.need_rewrite = false;
    W.seg_gen++;
    return 0;
}

static void *sync_main(void *arg);

bool wal_open(const wal_opts *o, uint64_t last_seq, char *err, size_t errlen) {
    pthread_mutex_lock(&wal_lock);
    if (W.open) {
        pthread_mutex_unlock(&wal_lock);
        return true;
    }
    snprintf(W.dir, sizeof(W.dir), "%s", o->dir);
    W.segment_size = o->segment_size ? o->segment_size : 64ull << 20;
    if (mkdir_p(W.dir) != 0) {
        snprintf(err, errlen, "Can't create the WAL directory %s: %s", W.dir, strerror(errno));
        pthread_mutex_unlock(&wal_lock);
        return false;
    }
    uint64_t *starts;
    int n = wal_list_segments(W.dir, &starts);
    free(W.segs);
    W.segs = NULL;
    W.nsegs = 0;
    for (int i = 0; i < n; i++) {
        if (starts[i] == last_seq + 1) continue;   /* an empty leftover: replaced below */
        char path[4200];
        struct stat st;
        seg_path(path, sizeof(path), W.dir, starts[i]);
        W.segs = xrealloc(W.segs, sizeof(seg) * (size_t)(W.nsegs + 1));
        W.segs[W.nsegs].start = starts[i];
        W.segs[W.nsegs].bytes = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
        W.nsegs++;
    }
    free(starts);
    if (new_segment(last_seq + 1) != 0) {
        snprintf(err, errlen, "Can't create a WAL segment in %s: %s", W.dir, strerror(errno));
        pthread_mutex_unlock(&wal_lock);
        return false;
    }
    W.tail_hi = last_seq;
    atomic_store(&written_seq, last_seq);
    atomic_store(&synced_seq, last_seq);
    atomic_store(&wal_cur_err, 0);
    __atomic_store_n(&W.open, true, __ATOMIC_RELEASE);
    W.fsync_failed = false;
    W.stop = false;
    W.sync_thread = o->sync_thread;
    if (W.sync_thread) pthread_create(&W.tid, NULL, sync_main, NULL);
    pthread_mutex_unlock(&wal_lock);
    return true;
}

/* Move what the write stream staged into the tail (invariant 2). */
static void take_staged(void) {
    uint64_t hi;
    if (W.tail.len == 0) {
        ws_take(&W.tail, &hi);
        W.tail_written = 0;
    } else {
        W.spare.len = 0;
        ws_take(&W.spare, &hi);
        if (W.spare.len) {
            if (W.tail.len + W.spare.len > W.tail.cap) {
                size_t cap = W.tail.cap ? W.tail.cap * 2 : 64 * 1024;
                while (cap < W.tail.len + W.spare.len) cap *= 2;
                W.tail.p = xrealloc(W.tail.p, cap);
                W.tail.cap = cap;
            }
            memcpy(W.tail.p + W.tail.len, W.spare.p, W.spare.len);
            W.tail.len += W.spare.len;
            W.spare.len = 0;
        }
    }
    if (hi > W.tail_hi) W.tail_hi = hi;
}

/* Write the unwritten part of the tail (invariants 2 and 4). */
static bool write_tail(void) {
    if (W.need_rewrite) {
        if (ftruncate(W.fd, (off_t)W.synced_bytes) != 0) {
            set_error(errno, "truncating");
            return false;
        }
        W.tail_written = 0;
        W.need_rewrite = false;
    }
    while (W.tail_written < W.tail.len) {
        ssize_t n = pwrite(W.fd, W.tail.p + W.tail_written, W.tail.len - W.tail_written,
                           (off_t)(W.synced_bytes + W.tail_written));
        if (n > 0) {
            W.tail_written += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        set_error(n < 0 ? errno : ENOSPC, "writing");
        return false;
    }
    atomic_store(&written_seq, W.tail_hi);
    return true;
}

static void note_fsync(int64_t t0) {
    uint64_t us = (uint64_t)(util_mono_us() - t0);
    atomic_fetch_add(&stats.fsyncs, 1);
    atomic_store(&stats.fsync_last_us, us);
    atomic_fetch_add(&stats.fsync_total_us, us);
    if (us > atomic_load(&stats.fsync_max_us)) atomic_store(&stats.fsync_max_us, us);
    atomic_store(&stats.last_fsync_ms, util_ms());
}

/* fsync the live segment under the lock; the tail becomes durable. */
static bool sync_locked(void) {
    int64_t t0 = util_mono_us();
    if (fault_fdatasync(FAULT_SYNC_WAL, W.fd) != 0) {
        W.need_rewrite = true;
        W.fsync_failed = true;
        set_error(errno, "fsyncing");
        return false;
    }
    note_fsync(t0);
    W.fsync_failed = false;
    W.synced_bytes += W.tail.len;
    W.tail.len = 0;
    W.tail_written = 0;
    atomic_store(&synced_seq, W.tail_hi);
    return true;
}

static bool rotate_locked(void);

/* Write (and, when `sync`, fsync) everything staged. Caller holds wal_lock. */
static bool commit_locked(bool sync) {
    take_staged();
    if (!write_tail()) return false;
    int policy = (int)cfg.appendfsync;
    if (policy == WAL_FSYNC_NO) {
        /* Invariant 2: the OS owns it now. */
        W.synced_bytes += W.tail.len;
        W.tail.len = 0;
        W.tail_written = 0;
    } else if (sync && atomic_load(&synced_seq) < W.tail_hi) {
        if (!sync_locked()) return false;
    } else if (sync && W.need_rewrite) {
        return false;
    }
    /* A write succeeded; an fsync error stands until an fsync succeeds
     * (as Redis's aof_bio_fsync_status), unless nothing is fsynced now. */
    if (!W.fsync_failed || policy == WAL_FSYNC_NO) {
        W.fsync_failed = false;
        clear_error();
    }
    if (W.synced_bytes + W.tail.len >= W.segment_size) rotate_locked();
    return true;
}

bool wal_commit(uint64_t seq) {
    bool sync = cfg.appendfsync == WAL_FSYNC_ALWAYS;
    /* Group commit: another thread's write (and fsync) may already cover
     * seq; then nothing is left to do. */
    if (atomic_load(&written_seq) >= seq && (!sync || atomic_load(&synced_seq) >= seq) && !wal_error())
        return true;
    pthread_mutex_lock(&wal_lock);
    bool ok = true;
    if (W.open && (atomic_load(&written_seq) < seq || (sync && atomic_load(&synced_seq) < seq) || wal_error()))
        ok = commit_locked(sync);
    pthread_mutex_unlock(&wal_lock);
    return ok;
}

bool wal_flush_all(bool fsync) {
    pthread_mutex_lock(&wal_lock);
    bool ok = !W.open || commit_locked(fsync && cfg.appendfsync != WAL_FSYNC_NO);
    pthread_mutex_unlock(&wal_lock);
    return ok;
}

/* Close the live segment (made durable first unless policy no) and open
 * the next, named after the next seq (invariant 5). */
static bool rotate_locked(void) {
    if (W.tail_written < W.tail.len || W.need_rewrite) return false;
    if (cfg.appendfsync != WAL_FSYNC_NO && W.tail.len && !sync_locked()) return false;
    uint64_t size = W.synced_bytes + W.tail.len;
    int oldfd = W.fd;
    uint64_t oldstart = W.seg_start;
    if (new_segment(W.tail_hi + 1) != 0) {
        set_error(errno, "creating a segment of");
        W.fd = oldfd;
        return false;
    }
    close(oldfd);
    W.segs = xrealloc(W.segs, sizeof(seg) * (size_t)(W.nsegs + 1));
    W.segs[W.nsegs].start = oldstart;
    W.segs[W.nsegs].bytes = size;
    W.nsegs++;
    return true;
}

bool wal_rotate(void) {
    pthread_mutex_lock(&wal_lock);
    bool ok = W.open && commit_locked(false) && (W.seg_start > W.tail_hi || rotate_locked());
    pthread_mutex_unlock(&wal_lock);
    return ok;
}

int wal_truncate_upto(uint64_t seq) {
    pthread_mutex_lock(&wal_lock);
    int removed = 0;
    if (!W.open) {
        pthread_mutex_unlock(&wal_lock);
        return 0;
    }
    /* The live segment qualifies when it holds records and all are <= seq. */
    if (W.seg_start <= W.tail_hi && W.tail_hi <= seq && atomic_load(&written_seq) == W.tail_hi)
        rotate_locked();
    int keep = 0;
    for (int i = 0; i < W.nsegs; i++) {
        uint64_t next = i + 1 < W.nsegs ? W.segs[i + 1].start : W.seg_start;
        if (next - 1 <= seq && keep == i) {
            char path[4200];
            seg_path(path, sizeof(path), W.dir, W.segs[i].start);
            if (unlink(path) == 0 || errno == ENOENT) {
                removed++;
                keep++;
                continue;
            }
        }
        break;
    }
    if (keep) {
        memmove(W.segs, W.segs + keep, sizeof(seg) * (size_t)(W.nsegs - keep));
        W.nsegs -= keep;
        fsync_dir(W.dir);
    }
    pthread_mutex_unlock(&wal_lock);
    return removed;
}

/* strata-walsync: once a second (and when woken), write what crons
 * staged and, under everysec, fsync. The fsync runs outside wal_lock on a
 * duplicate of the descriptor, so reactors keep committing (write(2))
 * meanwhile; afterwards only the bytes it covered leave the tail. Retries
 * after a failure happen here too (and in the reactors' crons). */
static void *sync_main(void *arg) {
    mem_thread_register();
    pthread_setname_np(pthread_self(), "strata-walsync");
    pthread_mutex_lock(&wal_lock);
    while (!W.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&sync_cond, &wal_lock, &ts);
        if (W.stop) break;
        int policy = (int)cfg.appendfsync;
        if (policy != WAL_FSYNC_EVERYSEC) {
            /* always: reactors fsync what they commit; this only catches
             * records crons staged, and retries. no: write only. */
            commit_locked(policy == WAL_FSYNC_ALWAYS);
            continue;
        }
        take_staged();
        if (!write_tail()) continue;
        if (W.tail.len == 0 && !W.need_rewrite) {
            if (!W.fsync_failed) clear_error();
            continue;
        }
        if (W.need_rewrite) {
            commit_locked(true);
            continue;
        }
        int fd = dup(W.fd);
        if (fd < 0) continue;
        unsigned gen = W.seg_gen;
        /* The file offset this fsync makes durable, and the seq it covers. */
        uint64_t upto = W.synced_bytes + W.tail_written;
        uint64_t hi = W.tail_hi;
        pthread_mutex_unlock(&wal_lock);
        int64_t t0 = util_mono_us();
        int r = fault_fdatasync(FAULT_SYNC_WAL, fd), e = errno;
        close(fd);
        pthread_mutex_lock(&wal_lock);
        if (gen != W.seg_gen) continue;   /* rotated meanwhile: rotation synced it */
        if (r != 0) {
            W.need_rewrite = true;
            W.fsync_failed = true;
            set_error(e, "fsyncing");
            continue;
        }
        note_fsync(t0);
        /* Someone may have synced (or rewritten) meanwhile: drop only what
         * is still in the tail below `upto`. */
        if (W.need_rewrite || upto <= W.synced_bytes) continue;
        size_t covered = (size_t)(upto - W.synced_bytes);
        if (covered > W.tail_written) covered = W.tail_written;
        memmove(W.tail.p, W.tail.p + covered, W.tail.len - covered);
        W.tail.len -= covered;
        W.tail_written -= covered;
        W.synced_bytes += covered;
        if (hi > atomic_load(&synced_seq)) atomic_store(&synced_seq, hi);
        W.fsync_failed = false;
        if (W.tail_written == W.tail.len) clear_error();
        if (W.synced_bytes + W.tail.len >= W.segment_size) rotate_locked();
    }
    pthread_mutex_unlock(&wal_lock);
    mem_thread_exit();
    return NULL;
}

void wal_close(void) {
    pthread_mutex_lock(&wal_lock);
    if (!W.open) {
        pthread_mutex_unlock(&wal_lock);
        return;
    }
    W.stop = true;
    pthread_cond_broadcast(&sync_cond);
    pthread_mutex_unlock(&wal_lock);
    if (W.sync_thread) pthread_join(W.tid, NULL);
    pthread_mutex_lock(&wal_lock);
    commit_locked(true);
    close(W.fd);
    W.fd = -1;
    __atomic_store_n(&W.open, false, __ATOMIC_RELEASE);
    free(W.tail.p);
    free(W.spare.p);
    memset(&W.tail, 0, sizeof(W.tail));
    memset(&W.spare, 0, sizeof(W.spare));
    free(W.segs);
    W.segs = NULL;
    W.nsegs = 0;
    atomic_store(&wal_cur_err, 0);
    pthread_mutex_unlock(&wal_lock);
}

void wal_get_stats(wal_stats *st) {
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&wal_lock);
    if (W.open) {
        st->segments = W.nsegs + 1;
        for (int i = 0; i < W.nsegs; i++) st->bytes += W.segs[i].bytes;
        st->live_bytes = W.synced_bytes + W.tail_written;
        st->bytes += st->live_bytes;
    }
    pthread_mutex_unlock(&wal_lock);
    st->written_seq = atomic_load(&written_seq);
    st->synced_seq = atomic_load(&synced_seq);
    st->fsyncs = atomic_load(&stats.fsyncs);
    st->fsync_last_us = atomic_load(&stats.fsync_last_us);
    st->fsync_max_us = atomic_load(&stats.fsync_max_us);
    st->fsync_total_us = atomic_load(&stats.fsync_total_us);
    st->last_fsync_ms = atomic_load(&stats.last_fsync_ms);
    st->write_errors = atomic_load(&stats.write_errors);
    st->last_errno = atomic_load(&stats.last_errno);
    st->last_error_ms = atomic_load(&stats.last_error_ms);
}

/* ---- replay ------------------------------------------------------------ */

/* Keep the evidence: the bad segment is copied aside before it is cut. */
static void keep_copy(const char *path) {
    char dst[4300];
    snprintf(dst, sizeof(dst), "%s.corrupt", path);
    int in = open(path, O_RDONLY | O_CLOEXEC), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (in >= 0 && out >= 0) {
        char buf[65536];
        ssize_t n;
        while ((n = read(in, buf, sizeof(buf))) > 0)
            if (write(out, buf, (size_t)n) != n) break;
        fsync(out);
    }
    if (in >= 0) close(in);
    if (out >= 0) close(out);
}

enum wal_replay_status wal_replay(const char *dir, const wal_replay_opts *o, wal_replay_result *res,
                                  char *err, size_t errlen) {
    memset(res, 0, sizeof(*res));
    uint64_t *starts;
    int n = wal_list_segments(dir, &starts);
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        char path[4200];
        struct stat st;
        seg_path(path, sizeof(path), dir, starts[i]);
        if (stat(path, &st) == 0) total += (uint64_t)st.st_size;
    }
    enum wal_replay_status rc = WAL_REPLAY_OK;
    uint64_t expect = 0;        /* next seq (0: anything) */
    uint64_t done = 0;
    int64_t last_progress = util_mono_us();
    bool stop_all = false;
    int i;
    for (i = 0; i < n && !stop_all; i++) {
        char path[4200];
        seg_path(path, sizeof(path), dir, starts[i]);
        bool last = i == n - 1;
        walf_reader r;
        enum walf_status st = walf_open(&r, path);
        res->segments++;
        if (st == WALF_OK && r.start_seq != starts[i]) {
            st = WALF_CORRUPT;
            snprintf(r.err, sizeof(r.err), "header says start seq %" PRIu64 ", name says %" PRIu64, r.start_seq,
                     starts[i]);
            r.off = 16;
        }
        if (st == WALF_OK && expect && r.start_seq != expect) {
            /* A segment is missing between this one and the previous. */
            st = WALF_CORRUPT;
            snprintf(r.err, sizeof(r.err), "records %" PRIu64 "..%" PRIu64 " are missing (segment gap)", expect,
                     r.start_seq - 1);
            r.off = 0;
        }
        if (st == WALF_OK) expect = r.start_seq;
        wal_rec rec;
        bool first_rec = true;
        while (st == WALF_OK) {
            st = walf_next(&r, &rec);
            if (st != WALF_OK) break;
            size_t at = r.off;   /* after the record */
            if (rec.seq != expect) {
                st = WALF_CORRUPT;
                snprintf(r.err, sizeof(r.err), "record seq %" PRIu64 " where %" PRIu64 " was expected", rec.seq,
                         expect);
                r.off = at - walf_encoded_size(&rec);
                break;
            }
            if (first_rec && i == 0 && rec.seq > o->after_seq + 1 && rec.op != WALF_SNAP_BEGIN) {
                snprintf(err, errlen,
                         "WAL %s starts at seq %" PRIu64 " but records from %" PRIu64 " on are needed",
                         path, rec.seq, o->after_seq + 1);
                rc = WAL_REPLAY_CORRUPT;
                stop_all = true;
                break;
            }
            first_rec = false;
            expect = rec.seq + 1;
            res->records++;
            if (!res->first_seq) res->first_seq = rec.seq;
            res->last_seq = rec.seq;
            if (rec.seq > o->after_seq && o->apply) {
                if (o->apply(o->priv, &rec) != 0) {
                    snprintf(err, errlen, "applying record seq %" PRIu64 " of %s at offset %zu failed", rec.seq,
                             path, at - walf_encoded_size(&rec));
                    rc = WAL_REPLAY_APPLY;
                    stop_all = true;
                    break;
                }
                res->applied++;
            }
            if (o->progress && (res->records & 1023) == 0 && util_mono_us() - last_progress > 1000000) {
                last_progress = util_mono_us();
                o->progress(o->priv, done + r.off, total, res->records);
            }
        }
        if (stop_all) {
            walf_close(&r);
            break;
        }
        done += r.size;
        if (st == WALF_END) {
            walf_close(&r);
            continue;
        }
        snprintf(res->bad_file, sizeof(res->bad_file), "%s", path);
        res->bad_off = r.off;
        if (st == WALF_IO) {
            snprintf(err, errlen, "Can't read WAL segment %s: %s", path, r.err);
            rc = WAL_REPLAY_IO;
            walf_close(&r);
            break;
        }
        if (st == WALF_TORN && last && o->load_truncated) {
            walf_close(&r);
            res->truncated = true;
            if (o->repair) {
                if (r.off < WALF_HEADER_SIZE) unlink(path);
                else if (truncate(path, (off_t)r.off) != 0) {
                    snprintf(err, errlen, "Can't truncate the torn tail of %s at offset %" PRIu64 ": %s", path,
                             (uint64_t)r.off, strerror(errno));
                    rc = WAL_REPLAY_IO;
                }
            }
            break;
        }
        if (o->skip_corrupt) {
            walf_close(&r);
            res->skipped_corrupt = true;
            if (o->repair) {
                keep_copy(path);
                if (r.off < WALF_HEADER_SIZE) unlink(path);
                else if (truncate(path, (off_t)r.off) != 0) {
                    snprintf(err, errlen, "Can't cut %s at offset %" PRIu64 ": %s", path, (uint64_t)r.off,
                             strerror(errno));
                    rc = WAL_REPLAY_IO;
                    break;
                }
                /* Later segments continue from records that are gone:
                 * set them aside (kept, never replayed). */
                for (int j = i + 1; j < n; j++) {
                    char p2[4200], p3[4300];
                    seg_path(p2, sizeof(p2), dir, starts[j]);
                    snprintf(p3, sizeof(p3), "%s.skipped", p2);
                    rename(p2, p3);
                }
            }
            break;
        }
        res->torn = st == WALF_TORN;
        snprintf(err, errlen, "%s WAL record in %s at offset %" PRIu64 ": %s",
                 st == WALF_TORN ? (last ? "Truncated" : "Truncated (not the last segment)") : "Bad",
                 path, (uint64_t)r.off, r.err);
        rc = WAL_REPLAY_CORRUPT;
        walf_close(&r);
        break;
    }
    res->bytes = done;
    free(starts);
    return rc;
}
