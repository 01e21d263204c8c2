/* test_wal.c: the write-ahead log over real sockets: restart recovers every
 * key, TTL, delete, FLUSHDB and SWAPDB; crash rounds (kill -9 at random
 * moments under many writers) lose no acknowledged write and tear no value
 * under appendfsync always, and stay within the loss bound under everysec;
 * corruption is refused naming the file (and wal-truncate-corrupt starts
 * anyway); clients get -LOADING during a slow recovery; CONFIG SET
 * appendonly yes writes the keyspace first; a full disk gives -MISCONF,
 * reads go on, nothing held is lost, and writes resume when space is back.
 * strata-only (data-dir, strata-check): skipped under REF=1. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SKIP_REF() do { if (h_is_ref()) { h_skip("strata's WAL (data-dir)"); return; } } while (0)

static const char *bin_path(const char *name) {
    static char buf[2][512];
    static int k;
    char *b = buf[k++ & 1];
    const char *build = getenv("BUILD") && *getenv("BUILD") ? getenv("BUILD") : "build";
    if (!strcmp(name, "strata-server") && getenv("STRATA_SERVER") && *getenv("STRATA_SERVER"))
        snprintf(b, 512, "%s", getenv("STRATA_SERVER"));
    else
        snprintf(b, 512, "%s/%s", build, name);
    return b;
}

/* A data-dir next to server s's files (absolute). */
static void data_dir_of(hserver *s, char *out, size_t cap) { snprintf(out, cap, "%s/data", s->dir); }

static hserver *start_wal(const char *file, int line, const char *dd, const char *fsync, const char *x1,
                          const char *x2) {
    hserver *s = h_start_at(file, line, "--appendonly", "yes", "--appendfsync", fsync, "--data-dir", dd, x1, x2,
                            (const char *)NULL);
    if (!s || (x1 && !strcmp(x1, "--key-load-delay"))) return s;
    /* Recovery runs after the server answers: wait for it to end. */
    redisContext *c = redisConnect("127.0.0.1", s->port);
    bool loaded = false;
    for (int i = 0; c && !c->err && i < 1000 * h_slow() && !loaded; i++) {
        redisReply *r = redisCommand(c, "INFO persistence");
        /* "\nloading:0": async_loading:0 must not match */
        loaded = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "\nloading:0\r");
        if (r) freeReplyObject(r);
        if (!loaded) h_sleep_ms(10);
    }
    if (c) redisFree(c);
    if (!loaded) {
        h_fail(file, line, "recovery did not end (see %s/stdout.log)", s->dir);
        return NULL;
    }
    return s;
}
#define START_WAL(var, dd, fsync) \
    hserver *var = start_wal(H_LOC, (dd), (fsync), NULL, NULL); \
    if (!var) return
#define START_WALX(var, dd, fsync, a, b) \
    hserver *var = start_wal(H_LOC, (dd), (fsync), (a), (b)); \
    if (!var) return

/* kill -9 and reap; the harness must not judge this exit. */
static void crash(hserver *s) {
    kill(s->pid, SIGKILL);
    h_wait_exit(s, 5000);
    s->checked = true;
}

/* Wait until INFO says loading:0. */
static bool wait_loaded(redisContext *c) {
    return WAIT_FOR(h_info_ll(c, "persistence", "loading") == 0, 10000);
}

/* Run the server without the harness (it is expected to exit during
 * recovery); returns the wait status, the log in `logpath`. */
static int run_expect_exit(const char *dir, const char *logpath, const char *dd, const char *extra1,
                           const char *extra2) {
    char exe[PATH_MAX];
    if (!realpath(bin_path("strata-server"), exe)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        int out = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out >= 0) { dup2(out, 1); dup2(out, 2); }
        close_range(3, ~0U, 0);
        if (chdir(dir) != 0) _exit(126);
        const char *argv[] = {exe, "--port", "0", "--save", "", "--appendonly", "yes",
                              "--data-dir", dd, extra1, extra2, NULL};
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = -1;
    for (int i = 0; i < 1000 * h_slow(); i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) return st;
        h_sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static bool file_contains(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    if (!f) return false;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, needle) != NULL;
}

static int run_check(const char *dir, char *out, size_t cap) {
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s wal %s 2>&1", bin_path("strata-check"), dir);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Path of the n-th segment (0 = oldest) of dd/wal. */
static bool segment_path(const char *dd, int n, char *out, size_t cap) {
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "ls %s/wal/*.wal | sort | sed -n '%dp'", dd, n + 1);
    FILE *p = popen(cmd, "r");
    if (!p) return false;
    bool ok = fgets(out, (int)cap, p) != NULL;
    pclose(p);
    if (ok) out[strcspn(out, "\n")] = 0;
    return ok && out[0];
}

TEST(wal_restart_recovers_everything)
{
    SKIP_REF();
    START(tmp, NULL);
    char dd[400];
    data_dir_of(tmp, dd, sizeof(dd));
    h_stop(tmp);
    START_WAL(s, dd, "always");
    CONNECT(c, s);
    long long far = h_now_ms() / 1000 + 100000;
    EXPECT_CMD(c, "+OK", "SET plain v1");
    EXPECT_CMD(c, "+OK", "SET ttl v2 EX 5000");
    EXPECT_CMD(c, "+OK", "SET abs v3");
    EXPECT_CMD(c, ":1", "EXPIREAT abs %lld", far);
    EXPECT_CMD(c, "+OK", "SET persisted v4 EX 100");
    EXPECT_CMD(c, ":1", "PERSIST persisted");
    EXPECT_CMD(c, "+OK", "SET gone x");
    EXPECT_CMD(c, ":1", "DEL gone");
    EXPECT_CMD(c, "+OK", "SET short x PX 1");
    EXPECT_CMD(c, ":5", "APPEND app hello");
    EXPECT_CMD(c, ":11", "APPEND app world!");
    EXPECT_CMD(c, ":8", "SETRANGE sr 5 abc");
    EXPECT_CMD(c, ":10", "INCRBY n 10");
    EXPECT_CMD(c, "\"10.5\"", "INCRBYFLOAT f 10.5");
    EXPECT_CMD(c, "+OK", "MSET m1 a m2 b");
    EXPECT_CMD(c, "+OK", "RENAME m2 m3");
    EXPECT_CMD(c, "+OK", "SET mv moved");
    EXPECT_CMD(c, ":1", "MOVE mv 5");
    EXPECT_CMD(c, "+OK", "SELECT 2");
    EXPECT_CMD(c, "+OK", "SET in2 x");
    EXPECT_CMD(c, "+OK", "FLUSHDB");
    EXPECT_CMD(c, "+OK", "SET after-flush y");
    EXPECT_CMD(c, "+OK", "SELECT 3");
    EXPECT_CMD(c, "+OK", "SET three 3");
    EXPECT_CMD(c, "+OK", "SWAPDB 3 4");
    EXPECT_CMD(c, "+OK", "SELECT 0");
    EXPECT_CMD(c, "+OK", "SET big %s", "0123456789abcdef0123456789abcdef0123456789abcdef-long-enough-to-be-raw");
    EXPECT_CMD(c, "\"raw\"", "OBJECT ENCODING app");
    h_sleep_ms(20);   /* `short` expires (and its DEL is logged on access) */
    EXPECT_CMD(c, "(nil)", "GET short");
    h_stop(s);

    START_WAL(s2, dd, "always");
    CONNECT(d, s2);
    CHECK(wait_loaded(d));
    EXPECT_CMD(d, "\"v1\"", "GET plain");
    EXPECT_RANGE(d, 4990, 5000, "TTL ttl");
    EXPECT_CMD(d, ":-1", "TTL persisted");
    EXPECT_RANGE(d, far - 5, far, "EXPIRETIME abs");
    EXPECT_CMD(d, ":0", "EXISTS gone");
    EXPECT_CMD(d, ":0", "EXISTS short");
    EXPECT_CMD(d, "\"helloworld!\"", "GET app");
    EXPECT_CMD(d, "\"raw\"", "OBJECT ENCODING app");
    EXPECT_CMD(d, "\"\\x00\\x00\\x00\\x00\\x00abc\"", "GET sr");
    EXPECT_CMD(d, "\"10\"", "GET n");
    EXPECT_CMD(d, "\"int\"", "OBJECT ENCODING n");
    EXPECT_CMD(d, "\"embstr\"", "OBJECT ENCODING f");
    EXPECT_CMD(d, "[\"a\", (nil), \"b\"]", "MGET m1 m2 m3");
    EXPECT_CMD(d, ":0", "EXISTS mv");
    EXPECT_CMD(d, "+OK", "SELECT 5");
    EXPECT_CMD(d, "\"moved\"", "GET mv");
    EXPECT_CMD(d, "+OK", "SELECT 2");
    EXPECT_CMD(d, ":1", "DBSIZE");
    EXPECT_CMD(d, "\"y\"", "GET after-flush");
    EXPECT_CMD(d, "+OK", "SELECT 3");
    EXPECT_CMD(d, ":0", "DBSIZE");
    EXPECT_CMD(d, "+OK", "SELECT 4");
    EXPECT_CMD(d, "\"3\"", "GET three");
    /* and once more after a kill -9 of the recovered server */
    EXPECT_CMD(d, "+OK", "FLUSHALL");
    EXPECT_CMD(d, "+OK", "SET survivor yes");
    crash(s2);
    START_WAL(s3, dd, "always");
    CONNECT(e, s3);
    CHECK(wait_loaded(e));
    EXPECT_CMD(e, "+OK", "SELECT 4");
    EXPECT_CMD(e, ":1", "DBSIZE");
    EXPECT_CMD(e, "\"yes\"", "GET survivor");
    EXPECT_CMD(e, "+OK", "SELECT 0");
    EXPECT_CMD(e, ":0", "DBSIZE");
    char out[4096];
    char wd[500];
    snprintf(wd, sizeof(wd), "%s/wal", dd);
    h_stop(s3);
    CHECKF(run_check(wd, out, sizeof(out)) == 0, "strata-check: %s", out);
}

/* ---- crash rounds ------------------------------------------------------ */

#define CR_THREADS 6
#define CR_MAXKEYS 20000

typedef struct crash_writer {
    int port, t, round;
    long long acked;                 /* last i acknowledged (-1: none) */
    long long ack_ms[CR_MAXKEYS];
    volatile int *stop;
} crash_writer;

/* Values are long and derived from (round, t, i), so a torn or swapped
 * value is recognised. */
static int make_val(char *buf, int round, int t, long long i) {
    int n = snprintf(buf, 64, "r%d-t%d-i%lld|", round, t, i);
    int len = 100 + (int)((i * 37 + t * 11) % 1500);
    for (int j = n; j < len; j++) buf[j] = (char)('a' + (j + i) % 26);
    return len;
}

static void *crash_writer_main(void *arg) {
    crash_writer *w = arg;
    w->acked = -1;
    redisContext *c = redisConnect("127.0.0.1", w->port);
    if (!c || c->err) {
        if (c) redisFree(c);
        return NULL;
    }
    char val[2048];
    for (long long i = 0; i < CR_MAXKEYS && !*w->stop; i++) {
        int len = make_val(val, w->round, w->t, i);
        redisReply *r;
        if (i % 5 == 4) {
            char entry[32];
            int el = snprintf(entry, sizeof(entry), "%lld,", i);
            r = redisCommand(c, "APPEND log:%d:%d %b", w->round, w->t, entry, (size_t)el);
            if (!r || r->type != REDIS_REPLY_INTEGER) { if (r) freeReplyObject(r); break; }
        } else {
            r = redisCommand(c, "SET k:%d:%d:%lld %b", w->round, w->t, i, val, (size_t)len);
            if (!r || r->type != REDIS_REPLY_STATUS) { if (r) freeReplyObject(r); break; }
        }
        freeReplyObject(r);
        w->ack_ms[i] = h_now_ms();
        w->acked = i;
    }
    redisFree(c);
    return NULL;
}

/* After recovery: every acknowledged write is there (for everysec: every
 * one acknowledged before `cutoff_ms`), whole, and writes of one client
 * are a prefix of what it sent. Returns false after failing the test. */
static bool verify_round(redisContext *c, crash_writer *w, long long cutoff_ms, long long *lost_max_ms) {
    char val[2048];
    for (int t = 0; t < CR_THREADS; t++) {
        crash_writer *x = &w[t];
        long long present_upto = -1;
        bool gap = false;
        long long n = x->acked + 2;   /* one more may have been written unacknowledged */
        if (n > CR_MAXKEYS) n = CR_MAXKEYS;
        for (long long i = 0; i < n; i++) {
            if (i % 5 == 4) continue;
            redisAppendCommand(c, "GET k:%d:%d:%lld", x->round, t, i);
        }
        for (long long i = 0; i < n; i++) {
            if (i % 5 == 4) continue;
            redisReply *r;
            if (redisGetReply(c, (void **)&r) != REDIS_OK) {
                h_fail(H_LOC, "connection lost while verifying");
                return false;
            }
            bool must = i <= x->acked && (cutoff_ms == 0 || x->ack_ms[i] <= cutoff_ms);
            if (r->type == REDIS_REPLY_STRING) {
                int len = make_val(val, x->round, t, i);
                if (r->len != (size_t)len || memcmp(r->str, val, (size_t)len) != 0) {
                    h_fail(H_LOC, "torn or wrong value for k:%d:%d:%lld (len %zu)", x->round, t, i, r->len);
                    freeReplyObject(r);
                    return false;
                }
                if (gap) {
                    h_fail(H_LOC, "k:%d:%d:%lld present after a missing earlier write", x->round, t, i);
                    freeReplyObject(r);
                    return false;
                }
                present_upto = i;
            } else {
                if (must) {
                    h_fail(H_LOC, "acknowledged k:%d:%d:%lld lost (acked up to %lld)", x->round, t, i, x->acked);
                    freeReplyObject(r);
                    return false;
                }
                if (i <= x->acked && lost_max_ms) {
                    long long age = h_now_ms() - x->ack_ms[i];
                    (void)age;
                }
                gap = true;
            }
            freeReplyObject(r);
        }
        (void)present_upto;
        /* the APPEND log: "4,9,14," ... a prefix holding every acked entry */
        redisReply *r = redisCommand(c, "GET log:%d:%d", x->round, t);
        if (!r) return false;
        char want[200000];
        size_t wl = 0;
        long long last_must = -1;
        for (long long i = 4; i <= x->acked; i += 5)
            if (cutoff_ms == 0 || x->ack_ms[i] <= cutoff_ms) last_must = i;
        for (long long i = 4; i <= x->acked + 5 && wl < sizeof(want) - 32; i += 5)
            wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "%lld,", i);
        size_t got = r->type == REDIS_REPLY_STRING ? r->len : 0;
        size_t need = 0;
        for (long long i = 4; i <= last_must; i += 5) {
            char e[32];
            need += (size_t)snprintf(e, sizeof(e), "%lld,", i);
        }
        if (got < need || got > wl || (got && memcmp(r->str, want, got) != 0)) {
            h_fail(H_LOC, "APPEND log of writer %d: %zu bytes, need at least %zu of \"%.60s...\"", t, got, need,
                   want);
            freeReplyObject(r);
            return false;
        }
        freeReplyObject(r);
    }
    return true;
}

static void crash_rounds(const char *fsync, int rounds, long long loss_ms) {
    START(tmp, NULL);
    char dd[400];
    data_dir_of(tmp, dd, sizeof(dd));
    h_stop(tmp);
    static crash_writer w[CR_THREADS];
    srand((unsigned)h_now_ms());
    long long total_acked = 0;
    for (int round = 0; round < rounds; round++) {
        START_WAL(s, dd, fsync);
        CONNECT(c, s);
        CHECK(wait_loaded(c));
        volatile int stop = 0;
        pthread_t tid[CR_THREADS];
        for (int t = 0; t < CR_THREADS; t++) {
            memset(&w[t], 0, sizeof(w[t]));
            w[t].port = s->port;
            w[t].t = t;
            w[t].round = round;
            w[t].stop = &stop;
            w[t].acked = -1;
            pthread_create(&tid[t], NULL, crash_writer_main, &w[t]);
        }
        /* some rounds outlive a tick of the everysec sync thread */
        h_sleep_ms(100 + rand() % (loss_ms ? 1400 : 600));
        long long kill_ms = h_now_ms();
        kill(s->pid, SIGKILL);
        for (int t = 0; t < CR_THREADS; t++) pthread_join(tid[t], NULL);
        stop = 1;
        h_wait_exit(s, 5000);
        s->checked = true;
        START_WAL(s2, dd, fsync);
        CONNECT(d, s2);
        CHECK(wait_loaded(d));
        /* every earlier round is still whole too */
        for (int t = 0; t < CR_THREADS; t++) total_acked += w[t].acked + 1;
        if (!verify_round(d, w, loss_ms ? kill_ms - loss_ms : 0, NULL)) return;
        h_stop(s2);
    }
    CHECKF(total_acked > rounds * 50, "too few writes acknowledged (%lld): the test proves little", total_acked);
    char out[8192], wd[500];
    snprintf(wd, sizeof(wd), "%s/wal", dd);
    CHECKF(run_check(wd, out, sizeof(out)) == 0, "strata-check after the crashes: %s", out);
}

TEST(wal_crash_always_loses_no_acknowledged_write)
{
    SKIP_REF();
    crash_rounds("always", 8, 0);
}

/* kill -9 leaves the page cache alone, so everysec loses nothing here
 * either (the write(2) happened before the reply); the check is the
 * policy's bound: everything acknowledged more than ~1 s (plus slack for a
 * loaded machine) before the kill. */
TEST(wal_crash_everysec_bounded_loss)
{
    SKIP_REF();
    crash_rounds("everysec", 4, 2500);
}

/* Many writers for longer than a sync-thread tick under `always`: the
 * fsyncs are shared (group commit) and the server stays consistent (a
 * regression test: the sync thread once miscounted the tail after a
 * reactor's fsync had emptied it, and the next commit spun forever). */
TEST(wal_group_commit_under_load)
{
    SKIP_REF();
    START(tmp, NULL);
    char dd[400];
    data_dir_of(tmp, dd, sizeof(dd));
    h_stop(tmp);
    START_WAL(s, dd, "always");
    static crash_writer w[CR_THREADS];
    volatile int stop = 0;
    pthread_t tid[CR_THREADS];
    for (int t = 0; t < CR_THREADS; t++) {
        memset(&w[t], 0, sizeof(w[t]));
        w[t].port = s->port;
        w[t].t = t;
        w[t].stop = &stop;
        w[t].acked = -1;
        pthread_create(&tid[t], NULL, crash_writer_main, &w[t]);
    }
    h_sleep_ms(2300);
    stop = 1;
    for (int t = 0; t < CR_THREADS; t++) pthread_join(tid[t], NULL);
    CONNECT(c, s);
    long long acked = 0;
    for (int t = 0; t < CR_THREADS; t++) acked += w[t].acked + 1;
    long long fsyncs = h_info_ll(c, "persistence", "wal_fsyncs");
    long long seq = h_info_ll(c, "persistence", "wal_last_seq");
    CHECKF(seq >= acked && acked > 100, "wal_last_seq %lld, acknowledged %lld", seq, acked);
    CHECKF(fsyncs > 0 && fsyncs < seq, "%lld fsyncs for %lld records: no group commit", fsyncs, seq);
    CHECK(h_info_ll(c, "persistence", "wal_synced_seq") == seq);
    h_stop(s);
    START_WAL(s2, dd, "always");
    CONNECT(d, s2);
    if (!verify_round(d, w, 0, NULL)) return;
}

/* ---- corruption ---------------------------------------------------------- */

TEST(wal_corruption_refused_naming_the_file)
{
    SKIP_REF();
    START(tmp, NULL);
    char dd[400];
    data_dir_of(tmp, dd, sizeof(dd));
    START_WAL(s, dd, "always");
    CONNECT(c, s);
    for (int i = 0; i < 200; i++) EXPECT_CMD(c, "+OK", "SET key:%d value-%d", i, i);
    crash(s);   /* a clean stop would flush everything to the LSM and empty the WAL */
    char seg[600];
    CHECK(segment_path(dd, 0, seg, sizeof(seg)));
    struct stat st;
    CHECK(stat(seg, &st) == 0);
    /* flip one byte in the middle of the file */
    int fd = open(seg, O_RDWR);
    off_t at = st.st_size / 2;
    unsigned char b;
    CHECK(pread(fd, &b, 1, at) == 1);
    b ^= 0x40;
    CHECK(pwrite(fd, &b, 1, at) == 1);
    close(fd);
    char out[8192], wd[500];
    snprintf(wd, sizeof(wd), "%s/wal", dd);
    int rc = run_check(wd, out, sizeof(out));
    CHECKF(rc == 1 && strstr(out, seg) && strstr(out, "offset"), "strata-check rc=%d: %s", rc, out);

    char logp[600];
    snprintf(logp, sizeof(logp), "%s/refused.log", tmp->dir);
    int wst = run_expect_exit(tmp->dir, logp, dd, "--loglevel", "notice");
    CHECKF(wst != -1 && WIFEXITED(wst) && WEXITSTATUS(wst) != 0, "server did not refuse to start (status %d)", wst);
    CHECKF(file_contains(logp, seg) && file_contains(logp, "at offset"), "log does not name %s: see %s", seg,
           logp);
    CHECK(file_contains(logp, "wal-truncate-corrupt"));

    /* the directive starts anyway, with the records before the bad one */
    START_WALX(s2, dd, "always", "--wal-truncate-corrupt", "yes");
    CONNECT(d, s2);
    CHECK(wait_loaded(d));
    long long n = h_info_ll(d, "keyspace", "db0");
    (void)n;
    CMD(r, d, "DBSIZE");
    CHECKF(r->integer > 50 && r->integer < 200, "dbsize %lld after cutting at the middle", r->integer);
    EXPECT_CMD(d, "\"value-0\"", "GET key:0");
    EXPECT_CMD(d, "+OK", "SET new-after-cut 1");
    h_stop(s2);
    char kept[700];
    snprintf(kept, sizeof(kept), "%s.corrupt", seg);
    CHECK(stat(kept, &st) == 0);
    /* and it starts cleanly from then on */
    START_WAL(s3, dd, "always");
    CONNECT(e, s3);
    CHECK(wait_loaded(e));
    EXPECT_CMD(e, "\"1\"", "GET new-after-cut");
    EXPECT_CMD(e, "\"value-0\"", "GET key:0");
}

TEST(wal_torn_tail_truncated_at_start)
{
    SKIP_REF();
    START(tmp, NULL);
    char dd[400];
    data_dir_of(tmp, dd, sizeof(dd));
    START_WAL(s, dd, "always");
    CONNECT(c, s);
    for (int i = 0; i < 20; i++) EXPECT_CMD(c, "+OK", "SET key:%d value-%d", i, i);
    crash(s);   /* a clean stop would flush everything to the LSM and empty the WAL */
    char seg[600];
    CHECK(segment_path(dd, 0, seg, sizeof(seg)));
    struct stat st;
    CHECK(stat(seg, &st) == 0);
    CHECK(truncate(seg, st.st_size - 5) == 0);   /* the last SET, cut mid-record */
    /* aof-load-truncated no refuses */
    char logp[600];
    snprintf(logp, sizeof(logp), "%s/torn.log", tmp->dir);
    int wst = run_expect_exit(tmp->dir, logp, dd, "--aof-load-truncated", "no");
    CHECKF(wst != -1 && WIFEXITED(wst) && WEXITSTATUS(wst) != 0, "not refused (status %d)", wst);
    CHECK(file_contains(logp, seg));
    START_WAL(s2, dd, "always");
    CONNECT(d, s2);
    CHECK(wait_loaded(d));
    EXPECT_CMD(d, ":19", "DBSIZE");
    EXPECT_CMD(d, "(nil)", "GET key:19");
    EXPECT_CMD(d, "\"value-18\"", "GET key:18");
    CHECK(file_contains(h_path(s2, "stdout.log"), "truncated"));
}

/* ---- loading ------------------------------------------------------------- */

TEST(wal_loading_reply_during_recovery)
{
    SKIP_REF();
    START(tmp, NULL);
    char dd[400];
    data_dir_of(tmp, dd, sizeof(dd));
    START_WAL(s, dd, "no");
    CONNECT(c, s);
    for (int i = 0; i < 1500; i++) redisAppendCommand(c, "SET key:%d %d", i, i);
    for (int i = 0; i < 1500; i++) {
        redisReply *r;
        CHECK(redisGetReply(c, (void **)&r) == REDIS_OK);
        freeReplyObject(r);
    }
    crash(s);   /* a clean stop would flush everything to the LSM and empty the WAL */
    /* 1500 records x 1 ms: recovery takes 1.5 s */
    START_WALX(s2, dd, "no", "--key-load-delay", "1000");
    CONNECT(d, s2);
    EXPECT_CMD(d, "-LOADING Redis is loading the dataset in memory", "GET key:1");
    EXPECT_CMD(d, "-LOADING Redis is loading the dataset in memory", "SET x 1");
    EXPECT_CMD(d, "-LOADING Redis is loading the dataset in memory", "PING");
    CHECK(h_info_ll(d, "persistence", "loading") == 1);
    CHECK(h_info_ll(d, "persistence", "loading_total_bytes") > 0);
    /* a transaction is refused when queued, as in Redis */
    EXPECT_CMD(d, "+OK", "MULTI");
    EXPECT_CMD(d, "-LOADING Redis is loading the dataset in memory", "SET x 1");
    EXPECT_CMD(d, "-EXECABORT Transaction discarded because of previous errors.", "EXEC");
    CHECK(wait_loaded(d));
    EXPECT_CMD(d, ":1500", "DBSIZE");
    EXPECT_CMD(d, "\"1499\"", "GET key:1499");
    EXPECT_CMD(d, "+PONG", "PING");
    CHECK(file_contains(h_path(s2, "stdout.log"), "DB loaded from the write-ahead log"));
    /* progress is logged about every second: percent and keys/s */
    CHECK(file_contains(h_path(s2, "stdout.log"), "Loading the WAL: "));
    CHECK(file_contains(h_path(s2, "stdout.log"), "keys/s)"));
}

/* ---- appendonly at run time ------------------------------------------ */

TEST(wal_config_set_appendonly)
{
    SKIP_REF();
    START(tmp, NULL);
    char dd[400];
    data_dir_of(tmp, dd, sizeof(dd));
    h_stop(tmp);
    START(s, "--data-dir", dd, "--appendfsync", "always", NULL);
    CONNECT(c, s);
    CHECK(wait_loaded(c));   /* a data-dir starts the storage engine, which loads first */
    EXPECT_CMD(c, "+OK", "SET before 1");
    EXPECT_CMD(c, "+OK", "SET before-ttl 2 EX 1000");
    EXPECT_CMD(c, "+OK", "SELECT 7");
    EXPECT_CMD(c, "+OK", "SET other-db 3");
    EXPECT_CMD(c, "+OK", "SELECT 0");
    CHECK(h_info_ll(c, "persistence", "aof_enabled") == 0);
    EXPECT_CMD(c, "+OK", "CONFIG SET appendonly yes");
    CHECK(h_info_ll(c, "persistence", "aof_enabled") == 1);
    CHECK(h_info_ll(c, "persistence", "aof_rewrites") == 1);
    EXPECT_CMD(c, "+OK", "SET after 4");
    EXPECT_CMD(c, ":1", "DEL before");
    crash(s);
    START_WAL(s2, dd, "always");
    CONNECT(d, s2);
    CHECK(wait_loaded(d));
    EXPECT_CMD(d, ":0", "EXISTS before");
    EXPECT_CMD(d, "\"2\"", "GET before-ttl");
    EXPECT_RANGE(d, 990, 1000, "TTL before-ttl");
    EXPECT_CMD(d, "\"4\"", "GET after");
    EXPECT_CMD(d, "+OK", "SELECT 7");
    EXPECT_CMD(d, "\"3\"", "GET other-db");
    /* appendonly no stops logging: this write is not recovered */
    EXPECT_CMD(d, "+OK", "CONFIG SET appendonly no");
    CHECK(h_info_ll(d, "persistence", "aof_enabled") == 0);
    EXPECT_CMD(d, "+OK", "SET unlogged 1");
    crash(s2);
    START_WAL(s3, dd, "always");
    CONNECT(e, s3);
    CHECK(wait_loaded(e));
    EXPECT_CMD(e, "+OK", "SELECT 7");
    EXPECT_CMD(e, "\"3\"", "GET other-db");
    EXPECT_CMD(e, ":0", "EXISTS unlogged");
}

TEST(wal_info_fields)
{
    SKIP_REF();
    START(tmp, NULL);
    char dd[400];
    data_dir_of(tmp, dd, sizeof(dd));
    START_WAL(s, dd, "always");
    CONNECT(c, s);
    CHECK(wait_loaded(c));
    EXPECT_CMD(c, "+OK", "SET a 1");
    const char *info = h_info(c, "persistence");
    CHECK(info);
    const char *want[] = {"loading:0", "aof_enabled:1", "aof_rewrite_in_progress:0", "aof_last_write_status:ok",
                          "aof_last_bgrewrite_status:ok", "aof_current_size:", "aof_buffer_length:",
                          "wal_segments:1", "wal_last_seq:1", "wal_synced_seq:1", "wal_fsync_max_usec:",
                          "wal_last_fsync_time:", "wal_write_errors:0"};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        CHECKF(strstr(info, want[i]) != NULL, "INFO persistence lacks %s:\n%s", want[i], info);
}

/* ---- a full disk ----------------------------------------------------------- */

TEST(wal_disk_full_misconf_and_resume)
{
    SKIP_REF();
    START(tmp, NULL);
    char mnt[400];
    snprintf(mnt, sizeof(mnt), "%s/small", tmp->dir);
    mkdir(mnt, 0700);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
        char why[200];
        snprintf(why, sizeof(why), "cannot mount a small tmpfs (%s): disk-full test not run", strerror(errno));
        h_skip(why);
        return;
    }
    char dd[500];
    snprintf(dd, sizeof(dd), "%s/data", mnt);
    hserver *s = start_wal(H_LOC, dd, "always", NULL, NULL);
    if (!s) { umount2(mnt, MNT_DETACH); return; }
    redisContext *c = h_connect(s);
    hraw *w = h_raw_open(s);
    bool ok = c && w;
    /* fill the file system, leaving the WAL no room */
    char filler[600];
    snprintf(filler, sizeof(filler), "%s/filler", mnt);
    int fd = open(filler, O_WRONLY | O_CREAT, 0600);
    static char block[4096];
    memset(block, 'f', sizeof(block));
    while (fd >= 0 && write(fd, block, sizeof(block)) > 0) {}
    if (fd >= 0) close(fd);
    char big[3000];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    char cmd[3200], reply[4096];
    int held = -1;
    for (int i = 0; ok && i < 400 && held < 0; i++) {
        snprintf(cmd, sizeof(cmd), "SET held-%d %s\r\n", i, big);
        if (!h_raw_sends(w, cmd)) ok = false;
        int r = h_raw_reply(w, reply, sizeof(reply), 1500);
        if (r == 0) held = i;          /* no reply: held until the log takes it */
        else if (r < 0 || strcmp(reply, "+OK") != 0) ok = false;
    }
    if (ok && held >= 0) {
        /* writes are refused, reads go on */
        ok = h_expect_cmd(H_LOC, c, "-MISCONF Errors writing to the AOF file: No space left on device", "SET x 1") &&
             h_expect_cmd(H_LOC, c, "-MISCONF Errors writing to the AOF file: No space left on device", "PING") &&
             h_expect_cmd(H_LOC, c, "(nil)", "GET x") &&
             h_expect_cmd(H_LOC, c, ":1", "EXISTS held-0");
        const char *info = ok ? h_info(c, "persistence") : NULL;
        ok = ok && info && strstr(info, "aof_last_write_status:err");
        if (!ok && info) h_fail(H_LOC, "INFO during the error: %s", info);
        /* space is back: the held write is acknowledged, writes resume */
        unlink(filler);
        if (ok) ok = h_raw_reply(w, reply, sizeof(reply), 5000) == 1 && !strcmp(reply, "+OK");
        if (!ok && !h_failed()) h_fail(H_LOC, "held write not acknowledged after space came back: %s", reply);
        if (ok) ok = WAIT_FOR(h_info_ll(c, "persistence", "wal_write_errors") > 0 &&
                              strstr(h_info(c, "persistence"), "aof_last_write_status:ok"), 5000);
        if (ok) ok = h_expect_cmd(H_LOC, c, "+OK", "SET x 1");
        if (ok) {
            crash(s);
            hserver *s2 = start_wal(H_LOC, dd, "always", NULL, NULL);
            redisContext *d = s2 ? h_connect(s2) : NULL;
            ok = d && wait_loaded(d);
            char key[32];
            snprintf(key, sizeof(key), "held-%d", held);
            if (ok) ok = h_expect_cmd(H_LOC, d, ":1", "EXISTS %s", key) && h_expect_cmd(H_LOC, d, "\"1\"", "GET x");
            if (s2) h_stop(s2);
        }
    } else if (ok) {
        h_fail(H_LOC, "the disk never filled up");
    }
    if (s->running) h_stop(s);
    umount2(mnt, MNT_DETACH);
}
