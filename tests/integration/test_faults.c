/* test_faults.c: fault injection against the storage engine (docs/reliability.md,
 * "Fault injection and soak"). Each test writes acknowledged data with
 * appendfsync always, injects one fault, checks that the error is reported
 * clearly (the reply text and a line in the server's log), then restarts
 * (after kill -9 where the fault is a crash) and checks that every
 * acknowledged write is present with its exact value and that
 * `strata-check dir` accepts the LSM directory.
 *
 * Faults: a full disk (a small tmpfs mounted here; SKIP when the mount is
 * not allowed) during WAL writes (then kill -9 with a write held; test_wal.c
 * covers the resume), during a flush and during a compaction; EIO from fsync of the WAL, of an SSTable, of the
 * MANIFEST and of the LSM directory after the MANIFEST rename (DEBUG FAULT
 * FSYNC-FAIL, src/fault.c); a read-only data dir at start and at run time
 * (a read-only bind mount, since chmod does not stop root); kill -9 while a
 * flush, a compaction and a MANIFEST update are in progress (DEBUG FAULT
 * DELAY holds the window open, and the test waits for the log line saying
 * the server is inside it); and the soak's finding, a key flushed with a
 * TTL then APPENDed and PERSISTed before a crash. Each test takes a few
 * seconds. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP_REF()                                                   \
    do {                                                             \
        if (h_is_ref()) { h_skip("strata storage engine"); return; } \
    } while (0)

/* Value of key i of a test: pseudo-random bytes (so lz4 cannot shrink the
 * SSTables: the disk-full tests count on their size), tagged with i. */
static size_t make_val(char *buf, size_t len, long i, int gen) {
    int n = snprintf(buf, len + 1, "g%d-k%ld-", gen, i);
    unsigned long long x = (unsigned long long)i * 0x9E3779B97F4A7C15ull + (unsigned)gen * 7919u + 1;
    for (size_t j = (size_t)n; j < len; j++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[j] = (char)('!' + x % 90);
    }
    buf[len] = 0;
    return len;
}

/* SET <prefix>:i for i in [from, to), pipelined, each reply +OK. */
static bool fill(redisContext *c, const char *prefix, long from, long to, size_t vlen, int gen) {
    char *v = malloc(vlen + 1);
    bool ok = v != NULL;
    for (long base = from; ok && base < to; base += 200) {
        long end = base + 200 < to ? base + 200 : to;
        for (long i = base; i < end; i++) {
            make_val(v, vlen, i, gen);
            redisAppendCommand(c, "SET %s:%ld %b", prefix, i, v, vlen);
        }
        for (long i = base; i < end; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                h_fail(H_LOC, "SET %s:%ld: io error %s", prefix, i, c->errstr);
                ok = false;
                break;
            }
            if (ok && !(r->type == REDIS_REPLY_STATUS && !strcmp(r->str, "OK"))) {
                h_fail(H_LOC, "SET %s:%ld: %s", prefix, i, r->type == REDIS_REPLY_ERROR ? r->str : "(not +OK)");
                ok = false;
            }
            freeReplyObject(r);
        }
    }
    free(v);
    return ok;
}

/* Every <prefix>:i in [from, to) holds generation gen's exact value. */
static bool check(redisContext *c, const char *prefix, long from, long to, size_t vlen, int gen) {
    char *v = malloc(vlen + 1);
    bool ok = v != NULL;
    for (long base = from; ok && base < to; base += 200) {
        long end = base + 200 < to ? base + 200 : to;
        for (long i = base; i < end; i++) redisAppendCommand(c, "GET %s:%ld", prefix, i);
        for (long i = base; i < end; i++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                h_fail(H_LOC, "GET %s:%ld: io error %s", prefix, i, c->errstr);
                ok = false;
                break;
            }
            make_val(v, vlen, i, gen);
            if (ok && !(r->type == REDIS_REPLY_STRING && r->len == vlen && !memcmp(r->str, v, vlen))) {
                h_fail(H_LOC, "GET %s:%ld: want %.16s... (%zu bytes), got type %d len %zu %.16s", prefix, i, v, vlen,
                       r->type, r->type == REDIS_REPLY_STRING ? r->len : 0,
                       r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_ERROR ? r->str : "");
                ok = false;
            }
            freeReplyObject(r);
        }
    }
    free(v);
    return ok;
}

static void kill9(hserver *s) {
    kill(s->pid, SIGKILL);
    h_wait_exit(s, 5000);
    s->checked = true;
}

/* Start with the engine and the WAL (appendfsync always) on dd and wait
 * for the end of recovery. */
static hserver *start_dd(const char *file, int line, const char *dd, const char *x1, const char *x2,
                         const char *x3, const char *x4) {
    hserver *s = h_start_at(file, line, "--data-dir", dd, "--appendonly", "yes", "--appendfsync", "always",
                            "--enable-debug-command", "yes", "--flush-interval-ms", "100000", x1, x2, x3, x4,
                            (const char *)NULL);
    if (!s) return NULL;
    redisContext *c = h_connect_at(file, line, s);
    if (!c) return NULL;
    if (!WAIT_FOR(h_info_ll_at(file, line, c, "persistence", "loading") == 0, 10000)) {
        h_fail(file, line, "recovery did not end; see %s/stdout.log", s->dir);
        return NULL;
    }
    return s;
}
#define START_DD(var, dd, x1, x2, x3, x4)                          \
    hserver *var = start_dd(H_LOC, (dd), (x1), (x2), (x3), (x4)); \
    if (!var) return

/* Does the server's log contain needle? */
static bool log_has(hserver *s, const char *needle) {
    FILE *f = fopen(h_path(s, "stdout.log"), "r");
    if (!f) return false;
    char line[2048];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f)) found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

static const char *build_dir(void) {
    const char *b = getenv("BUILD");
    return b && *b ? b : "build";
}

/* strata-check dir <dd>/lsm must say OK (exit 0), and strata-check wal
 * <dd>/wal OK or a torn tail only (exit 0 or 2). */
static bool check_files(const char *file, int line, const char *dd) {
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "%s/strata-check dir %s/lsm >/dev/null 2>&1", build_dir(), dd);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        h_fail(file, line, "strata-check dir %s/lsm: exit %d", dd, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return false;
    }
    snprintf(cmd, sizeof(cmd), "%s/strata-check wal %s/wal >/dev/null 2>&1", build_dir(), dd);
    st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || (WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 2)) {
        h_fail(file, line, "strata-check wal %s/wal: exit %d", dd, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        return false;
    }
    return true;
}
#define CHECK_FILES(dd) CHECK(check_files(H_LOC, (dd)))

/* Mount a tmpfs of `size` at <dir>/small; false (and the test skipped) when
 * the mount is not allowed. */
static bool mount_small(hserver *home, const char *size, char *mnt, size_t cap) {
    snprintf(mnt, cap, "%s/small", home->dir);
    mkdir(mnt, 0700);
    char opt[64];
    snprintf(opt, sizeof(opt), "size=%s", size);
    if (mount("tmpfs", mnt, "tmpfs", 0, opt) != 0) {
        char why[300];
        snprintf(why, sizeof(why), "cannot mount a small tmpfs (%s): this fault-injection test needs root", strerror(errno));
        h_skip(why);
        return false;
    }
    return true;
}

/* Fill the file system holding dir until write fails; returns the bytes
 * written to <dir>/filler. If `spare` > 0, a second file of that size is
 * written first and removed at the end, leaving about that much free. */
static long long fill_disk(const char *dir, long spare) {
    char path[600], spath[600];
    static char block[65536];
    memset(block, 'f', sizeof(block));
    snprintf(spath, sizeof(spath), "%s/spare", dir);
    if (spare > 0) {
        int sfd = open(spath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        for (long w = 0; sfd >= 0 && w < spare;) {
            ssize_t n = write(sfd, block, (size_t)(spare - w) < sizeof(block) ? (size_t)(spare - w) : sizeof(block));
            if (n <= 0) break;
            w += n;
        }
        if (sfd >= 0) close(sfd);
    }
    snprintf(path, sizeof(path), "%s/filler", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    long long total = 0;
    ssize_t n;
    while (fd >= 0 && (n = write(fd, block, sizeof(block))) > 0) total += n;
    while (fd >= 0 && (n = write(fd, block, 512)) > 0) total += n;
    if (fd >= 0) close(fd);
    if (spare > 0) unlink(spath);
    return total;
}

static void free_disk(const char *dir) {
    char path[600];
    snprintf(path, sizeof(path), "%s/filler", dir);
    unlink(path);
}

/* Wait for a log line (the server is inside a DEBUG FAULT DELAY window). */
static bool wait_log(hserver *s, const char *needle, int ms) {
    return WAIT_FOR(log_has(s, needle), ms);
}

/* A reply that is an error containing `part`. */
static bool is_err(const redisReply *r, const char *part) {
    return r && r->type == REDIS_REPLY_ERROR && strstr(r->str, part);
}

/* ---- fsync failures ----------------------------------------------------- */

/* EIO from the WAL's fdatasync under always: the write's reply is held,
 * other writes get -MISCONF with the errno's text, reads go on; once the
 * fsync succeeds the held reply leaves, and the write survives kill -9. */
TEST(faults_fsync_eio_wal_holds_reply_then_recovers) {
    SKIP_REF();
    START_DD(s, "@/data", NULL, NULL, NULL, NULL);
    char dd[300];
    snprintf(dd, sizeof(dd), "%s", h_path(s, "data"));
    CONNECT(c, s);
    CHECK(fill(c, "k", 0, 300, 100, 1));
    EXPECT_CMD(c, "+OK", "DEBUG FAULT FSYNC-FAIL wal 1000000000");
    RAW(w, s);
    SEND(w, "*3\r\n$3\r\nSET\r\n$4\r\nheld\r\n$5\r\nvalue\r\n");
    char reply[512];
    CHECKF(h_raw_reply(w, reply, sizeof(reply), 1000) == 0, "a write whose fsync failed was acknowledged: %s", reply);
    EXPECT_CMD(c, "-MISCONF Errors writing to the AOF file: Input/output error", "SET other 1");
    EXPECT_CMD(c, "-MISCONF Errors writing to the AOF file: Input/output error", "PING");
    CHECK(check(c, "k", 0, 300, 100, 1));
    CHECK(strstr(h_info(c, "persistence"), "aof_last_write_status:err"));
    CHECK(log_has(s, "Error fsyncing the write-ahead log"));
    EXPECT_CMD(c, "+OK", "DEBUG FAULT RESET");
    CHECKF(h_raw_reply(w, reply, sizeof(reply), 5000 * h_slow()) == 1 && !strcmp(reply, "+OK"),
           "held write after the fault cleared: %s", reply);
    CHECK(WAIT_FOR(strstr(h_info(c, "persistence"), "aof_last_write_status:ok"), 5000));
    EXPECT_CMD(c, "+OK", "SET after 1");
    kill9(s);
    START_DD(s2, dd, NULL, NULL, NULL, NULL);
    CONNECT(d, s2);
    CHECK(check(d, "k", 0, 300, 100, 1));
    EXPECT_CMD(d, "\"value\"", "GET held");
    EXPECT_CMD(d, "\"1\"", "GET after");
    EXPECT_CMD(d, "(nil)", "GET other");
    CHECK(h_stop(s2));
    CHECK_FILES(dd);
}

/* EIO from a new SSTable's fsync: the flush fails (SAVE answers with the
 * error), writes get the storage -MISCONF, the flush is retried and writes
 * resume; nothing is lost across kill -9. */
TEST(faults_fsync_eio_sstable_fails_flush_then_recovers) {
    SKIP_REF();
    START_DD(s, "@/data", NULL, NULL, NULL, NULL);
    char dd[300];
    snprintf(dd, sizeof(dd), "%s", h_path(s, "data"));
    CONNECT(c, s);
    CHECK(fill(c, "k", 0, 500, 200, 1));
    EXPECT_CMD(c, "+OK", "DEBUG FAULT FSYNC-FAIL sst 1000000000");
    CMD(r, c, "SAVE");
    CHECKF(is_err(r, "Input/output error"), "SAVE with a failing SSTable fsync: %s", r->str ? r->str : "?");
    CMD(r2, c, "SET x 1");
    CHECKF(is_err(r2, "MISCONF Errors writing to the storage engine"), "SET during a failing flush: %s",
           r2->str ? r2->str : "?");
    CHECK(check(c, "k", 0, 500, 200, 1));
    CHECK(log_has(s, "Storage: flush failed:") && log_has(s, "fsync: Input/output error"));
    EXPECT_CMD(c, "+OK", "DEBUG FAULT RESET");
    redisReply *r3 = NULL;
    CHECK(WAIT_FOR((r3 = h_cmd(H_LOC, c, "SET x 1")) && r3->type == REDIS_REPLY_STATUS, 5000));
    CHECK(log_has(s, "Storage: flush succeeded again"));
    CHECK(fill(c, "k", 500, 600, 200, 1));
    kill9(s);
    START_DD(s2, dd, NULL, NULL, NULL, NULL);
    CONNECT(d, s2);
    CHECK(check(d, "k", 0, 600, 200, 1));
    EXPECT_CMD(d, "\"1\"", "GET x");
    CHECK(h_stop(s2));
    CHECK_FILES(dd);
}

/* EIO from the MANIFEST's own fsync (before its rename): the edit did not
 * happen; the flush fails and is retried. */
TEST(faults_fsync_eio_manifest_fails_flush_then_recovers) {
    SKIP_REF();
    START_DD(s, "@/data", NULL, NULL, NULL, NULL);
    char dd[300];
    snprintf(dd, sizeof(dd), "%s", h_path(s, "data"));
    CONNECT(c, s);
    CHECK(fill(c, "k", 0, 500, 200, 1));
    EXPECT_CMD(c, "+OK", "DEBUG FAULT FSYNC-FAIL manifest 1");
    CMD(r, c, "SAVE");
    CHECKF(is_err(r, "MANIFEST.tmp: fsync: Input/output error"), "SAVE with a failing MANIFEST fsync: %s",
           r->str ? r->str : "?");
    CHECK(log_has(s, "Storage: flush failed:"));
    redisReply *r3 = NULL;
    CHECK(WAIT_FOR((r3 = h_cmd(H_LOC, c, "SET x 1")) && r3->type == REDIS_REPLY_STATUS, 5000));
    EXPECT_CMD(c, "+OK", "SAVE");
    CHECK(fill(c, "k", 500, 600, 200, 1));
    kill9(s);
    CHECK_FILES(dd);
    START_DD(s2, dd, NULL, NULL, NULL, NULL);
    CONNECT(d, s2);
    CHECK(check(d, "k", 0, 600, 200, 1));
    EXPECT_CMD(d, "\"1\"", "GET x");
    CHECK(h_stop(s2));
}

/* EIO from the directory fsync after the MANIFEST rename: the new MANIFEST
 * is the one on disk, so the files it names must not be removed; the
 * server must come back after kill -9 with everything. */
TEST(faults_fsync_eio_manifest_dir_after_rename) {
    SKIP_REF();
    START_DD(s, "@/data", NULL, NULL, NULL, NULL);
    char dd[300];
    snprintf(dd, sizeof(dd), "%s", h_path(s, "data"));
    CONNECT(c, s);
    CHECK(fill(c, "k", 0, 500, 200, 1));
    EXPECT_CMD(c, "+OK", "DEBUG FAULT FSYNC-FAIL manifest-dir 1");
    /* the edit stands (it is the MANIFEST a restart reads): SAVE succeeds,
     * and the log says the directory fsync failed */
    EXPECT_CMD(c, "+OK", "SAVE");
    CHECK(log_has(s, "failing an fsync of the manifest-dir"));
    CHECK(log_has(s, "after the MANIFEST rename failed: Input/output error"));
    /* crash before the flush's retry (1 s later) can paper over it */
    kill9(s);
    CHECK_FILES(dd);
    START_DD(s2, dd, NULL, NULL, NULL, NULL);
    CONNECT(d, s2);
    CHECK(check(d, "k", 0, 500, 200, 1));
    CHECK(h_stop(s2));
}

/* ---- a full disk ---------------------------------------------------------- */

/* The disk fills up under a stream of writes (test_wal.c covers the resume
 * once space is back; here the process dies while a write is held): the
 * write that did not fit is never acknowledged, writes get the AOF
 * -MISCONF with ENOSPC's text and a log line; after kill -9 and space
 * back, every acknowledged write is present and the torn tail, if any, is
 * cut off. */
TEST(faults_disk_full_during_wal_writes_then_kill9) {
    SKIP_REF();
    START(home, NULL);
    char mnt[400], dd[500];
    if (!mount_small(home, "4m", mnt, sizeof(mnt))) return;
    snprintf(dd, sizeof(dd), "%s/data", mnt);
    hserver *s = start_dd(H_LOC, dd, NULL, NULL, NULL, NULL);
    redisContext *c = s ? h_connect(s) : NULL;
    hraw *w = s ? h_raw_open(s) : NULL;
    bool ok = c && w && fill(c, "k", 0, 200, 1000, 1);
    if (ok) fill_disk(mnt, 64 * 1024);
    long acked = 0;
    char cmd[1200], val[1001], reply[512];
    bool held = false;
    for (long i = 0; ok && i < 2000 && !held; i++) {
        make_val(val, 1000, i, 2);
        snprintf(cmd, sizeof(cmd), "*3\r\n$3\r\nSET\r\n$%zu\r\nw:%ld\r\n$1000\r\n%s\r\n",
                 strlen("w:") + (size_t)snprintf(NULL, 0, "%ld", i), i, val);
        if (!h_raw_sends(w, cmd)) ok = false;
        int r = h_raw_reply(w, reply, sizeof(reply), 1000);
        if (r == 0) held = true;
        else if (r == 1 && !strcmp(reply, "+OK")) acked = i + 1;
        else ok = false;
    }
    if (ok && !held) { h_fail(H_LOC, "the disk never filled up"); ok = false; }
    if (ok) ok = h_expect_cmd(H_LOC, c, "-MISCONF Errors writing to the AOF file: No space left on device", "SET x 1");
    if (ok && !log_has(s, "Error writing the write-ahead log")) {
        h_fail(H_LOC, "no WAL write error logged in %s/stdout.log", s->dir);
        ok = false;
    }
    if (s && s->running) kill9(s);
    free_disk(mnt);
    if (ok) {
        hserver *s2 = start_dd(H_LOC, dd, NULL, NULL, NULL, NULL);
        redisContext *d = s2 ? h_connect(s2) : NULL;
        ok = d && check(d, "k", 0, 200, 1000, 1) && check(d, "w", 0, acked, 1000, 2) &&
             h_expect_cmd(H_LOC, d, "(nil)", "GET x");
        if (ok) ok = h_expect_cmd(H_LOC, d, "+OK", "SAVE") && check_files(H_LOC, dd);
        if (s2) h_stop(s2);
    }
    umount2(mnt, MNT_DETACH);
}

/* The disk fills up between writes; the next flush fails with ENOSPC: SAVE
 * says so, writes get the storage -MISCONF; once space is back writes
 * resume and everything survives kill -9. */
TEST(faults_disk_full_during_flush) {
    SKIP_REF();
    START(home, NULL);
    char mnt[400], dd[500];
    if (!mount_small(home, "6m", mnt, sizeof(mnt))) return;
    snprintf(dd, sizeof(dd), "%s/data", mnt);
    hserver *s = start_dd(H_LOC, dd, NULL, NULL, NULL, NULL);
    redisContext *c = s ? h_connect(s) : NULL;
    bool ok = c && fill(c, "k", 0, 1000, 1000, 1);
    if (ok) {
        fill_disk(mnt, 0);
        redisReply *r = h_cmd(H_LOC, c, "SAVE");
        ok = is_err(r, "No space left on device");
        if (!ok && !h_failed()) h_fail(H_LOC, "SAVE on a full disk: %s", r && r->str ? r->str : "?");
    }
    if (ok) {
        redisReply *r = h_cmd(H_LOC, c, "SET x 1");
        ok = is_err(r, "MISCONF Errors writing to the storage engine");
        if (!ok && !h_failed()) h_fail(H_LOC, "SET with a failing flush: %s", r && r->str ? r->str : "?");
    }
    if (ok) ok = check(c, "k", 0, 1000, 1000, 1);
    if (ok && !(log_has(s, "Storage: flush failed:") && log_has(s, "No space left on device"))) {
        h_fail(H_LOC, "no log line for the failed flush in %s/stdout.log", s->dir);
        ok = false;
    }
    free_disk(mnt);
    redisReply *r3 = NULL;
    if (ok) ok = WAIT_FOR((r3 = h_cmd(H_LOC, c, "SET x 1")) && r3->type == REDIS_REPLY_STATUS, 5000);
    if (ok) ok = h_expect_cmd(H_LOC, c, "+OK", "SAVE") && fill(c, "k", 1000, 1100, 1000, 1);
    if (ok) {
        kill9(s);
        ok = check_files(H_LOC, dd);
        hserver *s2 = ok ? start_dd(H_LOC, dd, NULL, NULL, NULL, NULL) : NULL;
        redisContext *d = s2 ? h_connect(s2) : NULL;
        ok = d && check(d, "k", 0, 1100, 1000, 1) && h_expect_cmd(H_LOC, d, "\"1\"", "GET x");
        if (s2) h_stop(s2);
    } else if (!h_failed()) {
        h_fail(H_LOC, "the server did not come back after the disk was freed");
    }
    if (s && s->running) kill9(s);
    umount2(mnt, MNT_DETACH);
}

/* The disk has room for a small flush but not for the compaction that
 * follows it: the compaction fails with ENOSPC (a log line), its partial
 * outputs are removed, reads and writes go on; once space is back it
 * completes, and everything survives kill -9. */
TEST(faults_disk_full_during_compaction) {
    SKIP_REF();
    START(home, NULL);
    char mnt[400], dd[500];
    if (!mount_small(home, "8m", mnt, sizeof(mnt))) return;
    snprintf(dd, sizeof(dd), "%s/data", mnt);
    hserver *s = start_dd(H_LOC, dd, "--lsm-l0-compaction-trigger", "2", NULL, NULL);
    redisContext *c = s ? h_connect(s) : NULL;
    /* ~1.5 MB in the first SSTable; the compaction must rewrite all of it */
    bool ok = c && fill(c, "k", 0, 1500, 1000, 1) && h_expect_cmd(H_LOC, c, "+OK", "SAVE");
    long long comp0 = ok ? h_info_ll(c, "persistence", "lsm_compactions") : 0;
    if (ok) {
        fill_disk(mnt, 256 * 1024);   /* room for a small flush, not for 1.5 MB */
        ok = fill(c, "s", 0, 20, 100, 1) && h_expect_cmd(H_LOC, c, "+OK", "SAVE");
    }
    if (ok && !WAIT_FOR(log_has(s, "LSM background compaction failed") && log_has(s, "No space left on device"),
                        5000)) {
        h_fail(H_LOC, "no compaction failure logged in %s/stdout.log", s->dir);
        ok = false;
    }
    if (ok) ok = h_info_ll(c, "persistence", "lsm_compactions") == comp0;
    if (ok) ok = check(c, "k", 0, 1500, 1000, 1) && check(c, "s", 0, 20, 100, 1);
    free_disk(mnt);
    if (ok && !WAIT_FOR(h_info_ll(c, "persistence", "lsm_compactions") > comp0, 5000)) {
        h_fail(H_LOC, "the compaction did not complete once space was back");
        ok = false;
    }
    if (ok) ok = fill(c, "s", 20, 40, 100, 1);
    if (ok) {
        kill9(s);
        ok = check_files(H_LOC, dd);
        hserver *s2 = ok ? start_dd(H_LOC, dd, NULL, NULL, NULL, NULL) : NULL;
        redisContext *d = s2 ? h_connect(s2) : NULL;
        ok = d && check(d, "k", 0, 1500, 1000, 1) && check(d, "s", 0, 40, 100, 1);
        if (s2) h_stop(s2);
    }
    if (s && s->running) kill9(s);
    umount2(mnt, MNT_DETACH);
}

/* ---- a read-only data dir ------------------------------------------------- */

/* Bind-mount dir read-only over itself (root ignores chmod). */
static bool make_ro(const char *dir) {
    return mount(dir, dir, NULL, MS_BIND, NULL) == 0 &&
           mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) == 0;
}

/* At start: the server refuses to start, naming the problem; the data is
 * intact once the directory is writable again. */
TEST(faults_readonly_data_dir_at_start) {
    SKIP_REF();
    START_DD(s, "@/data", NULL, NULL, NULL, NULL);
    char dd[300];
    snprintf(dd, sizeof(dd), "%s", h_path(s, "data"));
    CONNECT(c, s);
    CHECK(fill(c, "k", 0, 300, 100, 1));
    EXPECT_CMD(c, "+OK", "SAVE");
    CHECK(fill(c, "k", 300, 400, 100, 1));
    CHECK(h_stop(s));
    if (!make_ro(dd)) {
        char why[300];
        snprintf(why, sizeof(why), "cannot bind-mount the data dir read-only (%s): test needs root", strerror(errno));
        umount2(dd, MNT_DETACH);
        h_skip(why);
        return;
    }
    hserver *f = h_start_failing("--data-dir", dd, "--appendonly", "yes", NULL);
    bool refused = f && WIFEXITED(f->status) && WEXITSTATUS(f->status) != 0;
    bool logged = f && log_has(f, "Read-only file system");
    umount2(dd, MNT_DETACH);
    CHECKF(refused, "a start on a read-only data dir was not refused");
    CHECKF(logged, "no 'Read-only file system' line in %s/stdout.log", f->dir);
    START_DD(s2, dd, NULL, NULL, NULL, NULL);
    CONNECT(d, s2);
    CHECK(check(d, "k", 0, 400, 100, 1));
    CHECK(h_stop(s2));
    CHECK_FILES(dd);
}

/* At run time: the directories become read-only under the server (its open
 * WAL segment stays writable, as after a remount of the file system with
 * files open; the paths do not). Flushes fail with EROFS: SAVE says so,
 * writes get the storage -MISCONF, reads go on; after the directory is
 * writable again everything resumes and survives kill -9. */
TEST(faults_readonly_data_dir_at_run_time) {
    SKIP_REF();
    START_DD(s, "@/data", NULL, NULL, NULL, NULL);
    char dd[300];
    snprintf(dd, sizeof(dd), "%s", h_path(s, "data"));
    CONNECT(c, s);
    CHECK(fill(c, "k", 0, 300, 100, 1));
    EXPECT_CMD(c, "+OK", "SAVE");
    CHECK(fill(c, "k", 300, 400, 100, 1));
    if (!make_ro(dd)) {
        char why[300];
        snprintf(why, sizeof(why), "cannot bind-mount the data dir read-only (%s): test needs root", strerror(errno));
        umount2(dd, MNT_DETACH);
        h_skip(why);
        return;
    }
    redisReply *r = h_cmd(H_LOC, c, "SAVE");
    bool save_err = is_err(r, "Read-only file system");
    redisReply *r2 = save_err ? h_cmd(H_LOC, c, "SET x 1") : NULL;
    bool misconf = is_err(r2, "MISCONF Errors writing to the storage engine");
    bool reads = misconf && check(c, "k", 0, 400, 100, 1);
    bool logged = log_has(s, "Storage: flush failed:") && log_has(s, "Read-only file system");
    umount2(dd, MNT_DETACH);
    CHECKF(save_err, "SAVE on a read-only data dir: %s", r && r->str ? r->str : "?");
    CHECKF(misconf, "SET on a read-only data dir: %s", r2 && r2->str ? r2->str : "?");
    CHECK(reads);
    CHECKF(logged, "no flush failure logged in %s/stdout.log", s->dir);
    redisReply *r3 = NULL;
    CHECK(WAIT_FOR((r3 = h_cmd(H_LOC, c, "SET x 1")) && r3->type == REDIS_REPLY_STATUS, 5000));
    CHECK(fill(c, "k", 400, 500, 100, 1));
    kill9(s);
    CHECK_FILES(dd);
    START_DD(s2, dd, NULL, NULL, NULL, NULL);
    CONNECT(d, s2);
    CHECK(check(d, "k", 0, 500, 100, 1));
    EXPECT_CMD(d, "\"1\"", "GET x");
    CHECK(h_stop(s2));
}

/* ---- kill -9 inside the windows --------------------------------------------- */

/* Common shape: data acknowledged, a fault DELAY at `point`, a flush (and
 * for compaction a second one) started with BGSAVE, the log line proves the
 * server is inside the window, kill -9, then everything must be back. */
static void kill_in_window(const char *point, bool compaction) {
    START_DD(s, "@/data", "--lsm-l0-compaction-trigger", compaction ? "2" : "4", NULL, NULL);
    char dd[300];
    snprintf(dd, sizeof(dd), "%s", h_path(s, "data"));
    CONNECT(c, s);
    CHECK(fill(c, "k", 0, 600, 300, 1));
    if (compaction) {
        EXPECT_CMD(c, "+OK", "SAVE");
        CHECK(fill(c, "k", 300, 900, 300, 2));   /* overwrites: the merge must keep generation 2 */
    }
    char needle[100];
    EXPECT_CMD(c, "+OK", "DEBUG FAULT DELAY %s 10000", point);
    EXPECT_CMD(c, "+Background saving started", "BGSAVE");
    snprintf(needle, sizeof(needle), "at the %s point", point);
    CHECKF(wait_log(s, needle, 5000), "the server never reached the %s point (see %s/stdout.log)", point, s->dir);
    /* writes go on while the flush or compaction is stuck */
    CHECK(fill(c, "w", 0, 100, 50, 1));
    if (!strcmp(point, "manifest")) {
        char tmp[400];
        snprintf(tmp, sizeof(tmp), "%s/lsm/MANIFEST.tmp", dd);
        CHECKF(access(tmp, F_OK) == 0, "no MANIFEST.tmp while the MANIFEST update is held");
    }
    kill9(s);
    CHECK_FILES(dd);
    START_DD(s2, dd, NULL, NULL, NULL, NULL);
    CONNECT(d, s2);
    CHECK(check(d, "k", 0, compaction ? 300 : 600, 300, 1));
    if (compaction) CHECK(check(d, "k", 300, 900, 300, 2));
    CHECK(check(d, "w", 0, 100, 50, 1));
    /* and the store is writable and flushable again */
    EXPECT_CMD(d, "+OK", "SAVE");
    CHECK(h_stop(s2));
    CHECK_FILES(dd);
    START_DD(s3, dd, NULL, NULL, NULL, NULL);
    CONNECT(e, s3);
    CHECK(check(e, "k", 0, compaction ? 300 : 600, 300, 1));
    CHECK(check(e, "w", 0, 100, 50, 1));
    CHECK(h_stop(s3));
}

TEST(faults_kill9_during_flush) {
    SKIP_REF();
    kill_in_window("flush", false);
}

TEST(faults_kill9_during_compaction) {
    SKIP_REF();
    kill_in_window("compaction", true);
}

TEST(faults_kill9_during_manifest_update) {
    SKIP_REF();
    kill_in_window("manifest", false);
}

/* ---- expiry across a crash (found by the soak) ----------------------------- */

/* A key flushed with a TTL, then APPENDed and PERSISTed before its TTL ran
 * out, the process killed, and restarted after the old TTL: the key must be
 * there, permanent, with the appended value. (The recovery scan used to
 * skip the SSTable version as expired, then replayed the APPEND's SETRANGE
 * onto nothing: a zero-filled value.) */
TEST(faults_kill9_persist_after_flush_with_ttl) {
    SKIP_REF();
    START_DD(s, "@/data", NULL, NULL, NULL, NULL);
    char dd[300];
    snprintf(dd, sizeof(dd), "%s", h_path(s, "data"));
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "SET k hello PX 800");
    EXPECT_CMD(c, "+OK", "SET gone bye PX 800");
    EXPECT_CMD(c, "+OK", "SAVE");
    EXPECT_CMD(c, ":11", "APPEND k -world");
    EXPECT_CMD(c, ":1", "PERSIST k");
    EXPECT_CMD(c, ":9", "APPEND gone -again");
    kill9(s);
    h_sleep_ms(1000);
    START_DD(s2, dd, NULL, NULL, NULL, NULL);
    CONNECT(d, s2);
    EXPECT_CMD(d, "\"hello-world\"", "GET k");
    EXPECT_CMD(d, ":-1", "TTL k");
    /* expired before the crash was recovered: absent, not zero-filled */
    EXPECT_CMD(d, "(nil)", "GET gone");
    EXPECT_CMD(d, ":0", "EXISTS gone");
    EXPECT_CMD(d, "+OK", "SAVE");
    CHECK(h_stop(s2));
    START_DD(s3, dd, NULL, NULL, NULL, NULL);
    CONNECT(e, s3);
    EXPECT_CMD(e, "\"hello-world\"", "GET k");
    EXPECT_CMD(e, ":0", "EXISTS gone");
    CHECK(h_stop(s3));
}
