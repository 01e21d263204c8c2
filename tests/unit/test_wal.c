/* test_wal.c: the WAL format (round trip of every record kind), the
 * writer (write stream -> segments, rotation, wal_truncate_upto), and
 * replay's handling of torn tails and corruption: every cut of the last
 * record, flipped bytes in the middle, zero fill, gaps between segments.
 * Each test works in its own temporary directory. */
#include "unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "config.h"
#include "keyspace.h"
#include "wal.h"
#include "wal_format.h"
#include "wstream.h"

static char tdir[256];

/* config_setup allocates its strings: release the previous test's first. */
static void cfg_fresh(void) {
    config_teardown();
    config_setup();
}

static void fresh_dir(void) {
    snprintf(tdir, sizeof(tdir), "/tmp/strata-test-wal-XXXXXX");
    if (!mkdtemp(tdir)) abort();
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s/*", tdir);
    if (system(cmd)) {}
}

static void rm_dir(void) {
    config_teardown();
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tdir);
    if (system(cmd)) {}
}

/* Collects what replay applies. */
typedef struct got {
    int n;
    uint64_t seqs[4096];
    uint8_t ops[4096];
    char keys[4096][32];
} got;

static int collect(void *priv, const wal_rec *r) {
    got *g = priv;
    if (g->n < 4096) {
        g->seqs[g->n] = r->seq;
        g->ops[g->n] = r->op;
        snprintf(g->keys[g->n], 32, "%.*s", (int)r->klen, r->key ? r->key : "");
    }
    g->n++;
    return 0;
}

static enum wal_replay_status replay(uint64_t after, bool trunc, bool skip, bool repair, got *g,
                                     wal_replay_result *res, char *err, size_t errlen) {
    memset(g, 0, sizeof(*g));
    wal_replay_opts o = {.after_seq = after, .load_truncated = trunc, .skip_corrupt = skip, .repair = repair,
                         .apply = collect, .priv = g};
    return wal_replay(tdir, &o, res, err, errlen);
}

/* Write n SET records key0..key{n-1} through the write stream into a new
 * log and close it. */
static void write_log(int n, uint64_t segsize) {
    cfg_fresh();
    cfg.appendfsync = WAL_FSYNC_NO;
    wal_opts o = {.dir = tdir, .segment_size = segsize, .sync_thread = false};
    char err[256];
    REQUIRE(wal_open(&o, 0, err, sizeof(err)));
    ws_start(0);
    for (int i = 0; i < n; i++) {
        char k[32], v[64];
        int kl = snprintf(k, sizeof(k), "key%d", i), vl = snprintf(v, sizeof(v), "value-%d-xxxxxxxx", i);
        ws_log_set(0, k, (size_t)kl, v, (size_t)vl, -1, 0);
        if (i % 7 == 0) REQUIRE(wal_commit(ws_last_seq()));
    }
    REQUIRE(wal_commit(ws_last_seq()));
    ws_stop();
    wal_close();
}

static void seg_file(char *out, size_t cap, int idx) {
    uint64_t *starts;
    int n = wal_list_segments(tdir, &starts);
    if (idx < 0) idx += n;
    char name[64];
    walf_segment_name(name, sizeof(name), starts[idx]);
    snprintf(out, cap, "%s/%s", tdir, name);
    free(starts);
}

static off_t file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? st.st_size : -1;
}

static void flip_byte(const char *path, off_t off) {
    int fd = open(path, O_RDWR);
    unsigned char b;
    if (pread(fd, &b, 1, off) != 1) abort();
    b ^= 0x5a;
    if (pwrite(fd, &b, 1, off) != 1) abort();
    close(fd);
}

TEST(wal_format_round_trip) {
    wal_rec recs[] = {
        {.seq = 1, .op = WALF_SET, .db = 3, .flags = 0x6, .expire_ms = 1700000000123LL, .key = "k\0ey", .klen = 4,
         .val = "v\r\nal", .vlen = 5},
        {.seq = 2, .op = WALF_SET, .db = 0, .expire_ms = -1, .key = "", .klen = 0, .val = "", .vlen = 0},
        {.seq = 3, .op = WALF_DEL, .db = 15, .key = "gone", .klen = 4},
        {.seq = 4, .op = WALF_EXPIRE, .db = 1, .expire_ms = -1, .key = "p", .klen = 1},
        {.seq = 5, .op = WALF_SETRANGE, .db = 2, .offset = 1ull << 33, .key = "s", .klen = 1, .val = "abc", .vlen = 3},
        {.seq = 6, .op = WALF_FLUSHDB, .db = 9},
        {.seq = 7, .op = WALF_FLUSHALL},
        {.seq = 8, .op = WALF_SWAPDB, .db = 4, .db2 = 7},
        {.seq = 9, .op = WALF_SNAP_BEGIN},
        {.seq = UINT64_MAX, .op = WALF_SNAP_END},
    };
    for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
        uint8_t buf[256];
        size_t n = walf_encode(buf, &recs[i]);
        CHECK_EQ(n, walf_encoded_size(&recs[i]));
        wal_rec d;
        REQUIRE(walf_decode_body(buf + WALF_REC_HDR, n - WALF_REC_HDR, &d));
        CHECK(d.seq == recs[i].seq);
        CHECK_EQ(d.op, recs[i].op);
        CHECK_EQ(d.db, recs[i].db);
        CHECK_EQ(d.db2, recs[i].db2);
        CHECK_EQ(d.flags, recs[i].flags);
        CHECK_EQ(d.offset, recs[i].offset);
        if (recs[i].op == WALF_SET || recs[i].op == WALF_EXPIRE) CHECK_EQ(d.expire_ms, recs[i].expire_ms);
        if (recs[i].key) CHECK_MEM(d.key, d.klen, recs[i].key, recs[i].klen);
        if (recs[i].val) CHECK_MEM(d.val, d.vlen, recs[i].val, recs[i].vlen);
        /* a truncated body never decodes */
        CHECK(!walf_decode_body(buf + WALF_REC_HDR, n - WALF_REC_HDR - 1, &d));
    }
    char name[64];
    uint64_t s;
    walf_segment_name(name, sizeof(name), 42);
    CHECK_STR(name, "00000000000000000042.wal");
    CHECK(walf_parse_segment_name(name, &s) && s == 42);
    CHECK(!walf_parse_segment_name("00000000000000000042.wal.corrupt", &s));
}

TEST(wal_write_and_replay) {
    fresh_dir();
    write_log(500, 0);
    got g;
    wal_replay_result res;
    char err[512];
    CHECK_EQ(replay(0, true, false, false, &g, &res, err, sizeof(err)), WAL_REPLAY_OK);
    CHECK_EQ(g.n, 500);
    CHECK_EQ(res.first_seq, 1);
    CHECK_EQ(res.last_seq, 500);
    CHECK_STR(g.keys[499], "key499");
    /* after_seq skips what the LSM already holds */
    CHECK_EQ(replay(450, true, false, false, &g, &res, err, sizeof(err)), WAL_REPLAY_OK);
    CHECK_EQ(g.n, 50);
    CHECK_EQ(g.seqs[0], 451);
    rm_dir();
}

TEST(wal_keyspace_emits_records) {
    fresh_dir();
    cfg_fresh();
    cfg.appendfsync = WAL_FSYNC_ALWAYS;
    ks_setup(16, 4);
    wal_opts o = {.dir = tdir, .segment_size = 0, .sync_thread = false};
    char err[512];
    REQUIRE(wal_open(&o, 0, err, sizeof(err)));
    ws_start(0);
    ks_key a = ks_key_make("a", 1), b = ks_key_make("b", 1);
    ks_lock_key(&a);
    do_ks_set(0, &a, "1", 1, KS_NO_EXPIRE, 0);            /* 1 SET */
    do_ks_write_at(0, &a, 1, "xy", 2);                    /* 2 SETRANGE */
    do_ks_set_expire(0, &a, 4102444800000LL);             /* 3 EXPIRE */
    ks_unlock_key(&a);
    ks_lock_key(&b);
    do_ks_set(0, &b, "2", 1, 1000, 0);                    /* 4 SET (expired long ago) */
    CHECK(do_ks_find(0, &b, 2000) == NULL);               /* 5 DEL: lazy expiry */
    ks_unlock_key(&b);
    ks_lock_key(&a);
    CHECK_EQ(do_ks_move(0, 1, &a, 0), 0);                 /* 6 DEL, 7 SET */
    ks_unlock_key(&a);
    ks_swapdb(0, 1);                                      /* 8 */
    ks_flushdb(2);                                        /* 9 */
    ks_flushall();                                        /* 10 */
    CHECK_EQ(ws_last_seq(), 10);
    CHECK(wal_commit(10));
    CHECK_EQ(wal_synced_seq(), 10);
    ws_stop();
    wal_close();
    got g;
    wal_replay_result res;
    CHECK_EQ(replay(0, true, false, false, &g, &res, err, sizeof(err)), WAL_REPLAY_OK);
    uint8_t want[] = {WALF_SET, WALF_SETRANGE, WALF_EXPIRE, WALF_SET, WALF_DEL, WALF_DEL, WALF_SET,
                      WALF_SWAPDB, WALF_FLUSHDB, WALF_FLUSHALL};
    REQUIRE(CHECK_EQ(g.n, 10));
    for (int i = 0; i < 10; i++) CHECK_EQ(g.ops[i], want[i]);
    ks_teardown();
    rm_dir();
}

/* Every cut inside the last record is a torn tail: replay keeps the
 * records before it, and with repair truncates the file there. */
TEST(wal_torn_tail_every_cut) {
    fresh_dir();
    write_log(20, 0);
    char path[512];
    seg_file(path, sizeof(path), -1);
    off_t full = file_size(path);
    /* the last record's start: replay 19 records and ask where it stopped */
    char cmd[2000];
    snprintf(cmd, sizeof(cmd), "cp %s %s.orig", path, path);
    REQUIRE(system(cmd) == 0);
    got g;
    wal_replay_result res;
    char err[512];
    int cuts = 0;
    for (off_t cut = full - 1;; cut--) {
        snprintf(cmd, sizeof(cmd), "cp %s.orig %s && truncate -s %lld %s", path, path, (long long)cut, path);
        REQUIRE(system(cmd) == 0);
        enum wal_replay_status st = replay(0, true, false, false, &g, &res, err, sizeof(err));
        if (g.n < 19 || (g.n == 19 && st == WAL_REPLAY_OK && !res.truncated)) break;   /* at the record's start: done */
        cuts++;
        if (!CHECK_EQ(st, WAL_REPLAY_OK) || !CHECK(res.truncated) || !CHECK_EQ(g.n, 19)) break;
        /* refused when aof-load-truncated is no */
        st = replay(0, false, false, false, &g, &res, err, sizeof(err));
        if (!CHECK_EQ(st, WAL_REPLAY_CORRUPT) || !CHECK(strstr(err, path) != NULL)) break;
    }
    CHECK(cuts > 20);
    /* repair cuts the file at the record boundary; the next replay is clean */
    snprintf(cmd, sizeof(cmd), "cp %s.orig %s && truncate -s %lld %s", path, path, (long long)(full - 3), path);
    REQUIRE(system(cmd) == 0);
    CHECK_EQ(replay(0, true, false, true, &g, &res, err, sizeof(err)), WAL_REPLAY_OK);
    CHECK(res.truncated);
    CHECK_EQ(file_size(path), (off_t)res.bad_off);
    CHECK_EQ(replay(0, true, false, false, &g, &res, err, sizeof(err)), WAL_REPLAY_OK);
    CHECK(!res.truncated);
    CHECK_EQ(g.n, 19);
    rm_dir();
}

TEST(wal_zero_fill_tail_is_torn) {
    fresh_dir();
    write_log(5, 0);
    char path[512];
    seg_file(path, sizeof(path), -1);
    int fd = open(path, O_WRONLY | O_APPEND);
    char zeros[4096] = {0};
    REQUIRE(write(fd, zeros, sizeof(zeros)) == (ssize_t)sizeof(zeros));
    close(fd);
    got g;
    wal_replay_result res;
    char err[512];
    CHECK_EQ(replay(0, true, false, false, &g, &res, err, sizeof(err)), WAL_REPLAY_OK);
    CHECK(res.truncated);
    CHECK_EQ(g.n, 5);
    rm_dir();
}

/* A flipped byte anywhere in a record that is not the torn tail is
 * corruption: refused, naming the file and the record's offset; with
 * skip_corrupt the records before it are kept. */
TEST(wal_corruption_in_the_middle) {
    fresh_dir();
    write_log(30, 0);
    char path[512];
    seg_file(path, sizeof(path), -1);
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "cp %s %s.orig", path, path);
    REQUIRE(system(cmd) == 0);
    got g;
    wal_replay_result res;
    char err[512];
    /* find record 10's offset: replay with a cut at every record is
     * overkill; walk the file with the reader */
    walf_reader r;
    REQUIRE(walf_open(&r, path) == WALF_OK);
    wal_rec rec;
    size_t off10 = 0, end10 = 0;
    for (int i = 0; i < 10; i++) {
        off10 = r.off;
        REQUIRE(walf_next(&r, &rec) == WALF_OK);
        end10 = r.off;
    }
    walf_close(&r);
    for (size_t at = off10; at < end10; at++) {
        snprintf(cmd, sizeof(cmd), "cp %s.orig %s", path, path);
        REQUIRE(system(cmd) == 0);
        flip_byte(path, (off_t)at);
        enum wal_replay_status st = replay(0, true, false, false, &g, &res, err, sizeof(err));
        char want[64];
        snprintf(want, sizeof(want), "at offset %zu", off10);
        if (!CHECK_EQ(st, WAL_REPLAY_CORRUPT) || !CHECK(strstr(err, path) != NULL) ||
            !CHECK(strstr(err, want) != NULL) || !CHECK_EQ(g.n, 9)) {
            fprintf(stderr, "flip at %zu: %s\n", at, err);
            break;
        }
    }
    /* skip_corrupt + repair: start with the first 9, evidence kept */
    CHECK_EQ(replay(0, true, true, true, &g, &res, err, sizeof(err)), WAL_REPLAY_OK);
    CHECK(res.skipped_corrupt);
    CHECK_EQ(g.n, 9);
    char kept[600];
    snprintf(kept, sizeof(kept), "%s.corrupt", path);
    CHECK(file_size(kept) > 0);
    CHECK_EQ(replay(0, true, false, false, &g, &res, err, sizeof(err)), WAL_REPLAY_OK);
    CHECK_EQ(g.n, 9);
    /* a damaged header */
    snprintf(cmd, sizeof(cmd), "cp %s.orig %s", path, path);
    REQUIRE(system(cmd) == 0);
    flip_byte(path, 3);
    CHECK_EQ(replay(0, true, false, false, &g, &res, err, sizeof(err)), WAL_REPLAY_CORRUPT);
    CHECK(strstr(err, path) != NULL);
    rm_dir();
}

static int count_segments(void) {
    uint64_t *s;
    int n = wal_list_segments(tdir, &s);
    free(s);
    return n;
}

TEST(wal_rotation_and_truncate_upto) {
    fresh_dir();
    cfg_fresh();
    cfg.appendfsync = WAL_FSYNC_EVERYSEC;
    wal_opts o = {.dir = tdir, .segment_size = 4096, .sync_thread = false};
    char err[512];
    REQUIRE(wal_open(&o, 0, err, sizeof(err)));
    ws_start(0);
    char v[100];
    memset(v, 'v', sizeof(v));
    for (int i = 0; i < 400; i++) {
        char k[32];
        int kl = snprintf(k, sizeof(k), "key%d", i);
        ws_log_set(0, k, (size_t)kl, v, sizeof(v), -1, 0);
        REQUIRE(wal_commit(ws_last_seq()));
    }
    int n = count_segments();
    CHECK(n >= 10);
    wal_stats st;
    wal_get_stats(&st);
    CHECK_EQ(st.segments, n);
    /* every segment's name is the seq of its first record (invariant 5) */
    uint64_t *starts;
    int ns = wal_list_segments(tdir, &starts);
    for (int i = 0; i < ns; i++) {
        char path[512];
        seg_file(path, sizeof(path), i);
        walf_reader r;
        wal_rec rec;
        REQUIRE(walf_open(&r, path) == WALF_OK);
        if (walf_next(&r, &rec) == WALF_OK) CHECK_EQ(rec.seq, starts[i]);
        walf_close(&r);
    }
    /* truncating up to a seq inside segment 3 removes segments 0..2 only */
    uint64_t cut = starts[3] + 1;
    CHECK_EQ(wal_truncate_upto(cut), 3);
    CHECK_EQ(count_segments(), n - 3);
    free(starts);
    /* replay after the cut still sees a complete log from starts[3] */
    got g;
    wal_replay_result res;
    CHECK_EQ(replay(cut, true, false, false, &g, &res, err, sizeof(err)), WAL_REPLAY_OK);
    CHECK_EQ(g.n, 400 - (int)cut);
    /* needing records that were dropped is refused */
    CHECK_EQ(replay(0, true, false, false, &g, &res, err, sizeof(err)), WAL_REPLAY_CORRUPT);
    /* everything: the live segment rotates and all old ones go */
    CHECK(wal_truncate_upto(ws_last_seq()) >= 1);
    CHECK_EQ(count_segments(), 1);
    ws_log_set(0, "after", 5, "x", 1, -1, 0);
    REQUIRE(wal_commit(ws_last_seq()));
    ws_stop();
    wal_close();
    CHECK_EQ(replay(400, true, false, false, &g, &res, err, sizeof(err)), WAL_REPLAY_OK);
    CHECK_EQ(g.n, 1);
    CHECK_STR(g.keys[0], "after");
    rm_dir();
}

TEST(wal_missing_segment_is_corruption) {
    fresh_dir();
    write_log(300, 4096);
    REQUIRE(count_segments() >= 3);
    char path[512];
    seg_file(path, sizeof(path), 1);
    unlink(path);
    got g;
    wal_replay_result res;
    char err[512];
    CHECK_EQ(replay(0, true, false, false, &g, &res, err, sizeof(err)), WAL_REPLAY_CORRUPT);
    CHECK(strstr(err, "missing") != NULL);
    rm_dir();
}
