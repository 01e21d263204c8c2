/* test_lsm.c: the LSM engine against a model: flushes, gets across levels
 * after many flushes and compactions (random ops, fixed seed), tombstones,
 * drop_db / swap_db, expiry, reopen, corruption of a block / index /
 * footer / MANIFEST reported by name, and recovery from a crash between an
 * SSTable write and its MANIFEST edit (orphan files removed). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "lsm.h"
#include "manifest.h"
#include "unit.h"
/* The checker (strata-check's LSM part) is tested here, against the
 * engine's files, through its FILE-parameterized entry point. */
#include "../../tools/check/check_lsm.c"

static char root[256];
static int dircount;

static const char *new_dir(void) {
    static char d[512];
    if (!root[0]) {
        snprintf(root, sizeof(root), "/tmp/strata-test-lsm.XXXXXX");
        if (!mkdtemp(root)) abort();
    }
    snprintf(d, sizeof(d), "%s/d%d/lsm", root, ++dircount);
    return d;
}

__attribute__((destructor)) static void cleanup(void) {
    char cmd[400];
    if (!root[0] || getenv("KEEP_TEST_DIRS")) return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t opt_level1 = 64 << 10, opt_target = 16 << 10;

static lsm *open_store(const char *dir, bool background) {
    lsm_opts o;
    lsm_opts_default(&o);
    o.dir = dir;
    o.ndbs = 4;
    o.block_size = 1024;
    o.l0_compaction_trigger = 4;
    o.level1_bytes = opt_level1;     /* small levels: many compactions */
    o.target_file_bytes = opt_target;
    o.background = background;
    lsm *l = NULL;
    char err[512];
    enum lsm_status st = lsm_open(&o, &l, err, sizeof(err));
    if (st != LSM_OK) fprintf(stderr, "  lsm_open: %d %s\n", st, err);
    return l;
}

/* Keys are binary: 0x00, index big-endian, 0xff. */
static size_t mkkey(char *k, int i) {
    k[0] = 0;
    k[1] = (char)(i >> 8);
    k[2] = (char)i;
    k[3] = (char)0xff;
    return 4;
}

/* A flush of (logical db, key index, value or tombstone) records. */
typedef struct op {
    int db, key;
    bool tomb;
    const char *val;
    size_t vlen;
    int64_t expire;
} op;

static int cmp_phys;
static lsm *cmp_lsm;
static int op_cmp(const void *a, const void *b) {
    const op *x = a, *y = b;
    uint32_t px = lsm_phys_db(cmp_lsm, x->db), py = lsm_phys_db(cmp_lsm, y->db);
    if (px != py) return px < py ? -1 : 1;
    return x->key - y->key;
}

static bool flush_ops(lsm *l, op *ops, int n, uint64_t seq) {
    cmp_lsm = l;
    (void)cmp_phys;
    qsort(ops, (size_t)n, sizeof(op), op_cmp);
    lsm_writer *w;
    if (!CHECK_EQ(lsm_flush_begin(l, &w), LSM_OK)) return false;
    for (int i = 0; i < n; i++) {
        char k[8];
        lsm_rec r = {.db = lsm_phys_db(l, ops[i].db), .key = k, .klen = mkkey(k, ops[i].key),
                     .val = ops[i].val, .vlen = ops[i].vlen, .expire_ms = ops[i].expire,
                     .seq = seq, .flags = (uint8_t)(ops[i].key & 3), .tombstone = ops[i].tomb};
        if (!CHECK_EQ(lsm_flush_add(w, &r), LSM_OK)) {
            lsm_flush_abort(w);
            return false;
        }
    }
    char err[512] = "";
    enum lsm_status st = lsm_flush_commit(w, seq, err, sizeof(err));
    if (st) fprintf(stderr, "  commit: %s\n", err);
    return CHECK_EQ(st, LSM_OK);
}

static bool expect_get(lsm *l, int db, int key, const char *val, size_t vlen) {
    char k[8], err[512] = "", *v = NULL;
    size_t got_len = 0;
    int64_t exp;
    uint8_t fl;
    enum lsm_status st = lsm_get(l, db, k, mkkey(k, key), now_ms(), &v, &got_len, &exp, &fl, err,
                                 sizeof(err));
    bool ok;
    if (!val) {
        ok = CHECK_EQ(st, LSM_NOTFOUND);
        if (!ok) fprintf(stderr, "  db %d key %d: %s\n", db, key, err);
    } else {
        ok = CHECK_EQ(st, LSM_OK);
        if (!ok) fprintf(stderr, "  db %d key %d: %s\n", db, key, err);
        else ok = CHECK_MEM(v, got_len, val, vlen) && CHECK_EQ(fl, key & 3);
    }
    free(v);
    return ok;
}

typedef struct scan_stats {
    int n, with_val, stop_after, progress_calls, lastdb, dbs_in_order;
    size_t big_len;
    uint64_t last_done, last_total;
} scan_stats;

static int scan_count(void *priv, const lsm_rec *r) {
    scan_stats *s = priv;
    s->n++;
    if (s->n == 1) s->dbs_in_order = 1;
    if ((int)r->db < s->lastdb) s->dbs_in_order = 0;
    s->lastdb = (int)r->db;
    s->with_val += r->val != NULL;
    if (r->vlen > s->big_len) s->big_len = r->vlen;
    return s->stop_after && s->n == s->stop_after ? 42 : 0;
}

static void scan_progress(void *priv, uint64_t done, uint64_t total) {
    scan_stats *s = priv;
    s->progress_calls++;
    s->last_done = done;
    s->last_total = total;
}

TEST(flush_get_reopen) {
    const char *d = new_dir();
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", d);
    lsm *l = open_store(dir, false);
    REQUIRE(l);
    CHECK_EQ(lsm_durable_seq(l), 0);
    op ops[3] = {{0, 1, false, "one", 3, -1}, {0, 2, false, "", 0, -1}, {1, 1, false, "db1", 3, -1}};
    REQUIRE(flush_ops(l, ops, 3, 10));
    CHECK_EQ(lsm_durable_seq(l), 10);
    expect_get(l, 0, 1, "one", 3);
    expect_get(l, 0, 2, "", 0);
    expect_get(l, 1, 1, "db1", 3);
    expect_get(l, 1, 2, NULL, 0);
    expect_get(l, 2, 1, NULL, 0);
    /* An empty flush still records durable_seq. */
    REQUIRE(flush_ops(l, ops, 0, 20));
    CHECK_EQ(lsm_durable_seq(l), 20);
    /* Only one writer at a time. */
    lsm_writer *w1, *w2;
    REQUIRE(lsm_flush_begin(l, &w1) == LSM_OK);
    CHECK_EQ(lsm_flush_begin(l, &w2), LSM_INVALID);
    lsm_flush_abort(w1);
    lsm_close(l);
    l = open_store(dir, false);
    REQUIRE(l);
    CHECK_EQ(lsm_durable_seq(l), 20);
    expect_get(l, 0, 1, "one", 3);
    expect_get(l, 1, 1, "db1", 3);
    lsm_stats st;
    lsm_get_stats(l, &st);
    CHECK_EQ(st.files[0], 1);
    CHECK_EQ(st.levels, 1);
    /* A 1 MB value through the engine, and scans: without values, with a
     * callback that stops early, with progress. */
    size_t big = 1 << 20;
    char *bv = malloc(big);
    for (size_t i = 0; i < big; i++) bv[i] = (char)(i % 251);
    op bo = {2, 7, false, bv, big, -1};
    REQUIRE(flush_ops(l, &bo, 1, 30));
    expect_get(l, 2, 7, bv, big);
    free(bv);
    scan_stats ss = {0};
    char err[256];
    CHECK_EQ(lsm_scan(l, false, now_ms(), scan_count, scan_progress, &ss, err, sizeof(err)), LSM_OK);
    CHECK_EQ(ss.n, 4);
    CHECK_EQ(ss.with_val, 0);
    CHECK_EQ(ss.big_len, big);
    CHECK(ss.progress_calls >= 1 && ss.last_done == ss.last_total && ss.last_total > 0);
    CHECK_EQ(ss.dbs_in_order, 1);
    ss = (scan_stats){.stop_after = 2};
    CHECK_EQ(lsm_scan(l, true, now_ms(), scan_count, NULL, &ss, err, sizeof(err)), 42);
    CHECK_EQ(ss.n, 2);
    CHECK_EQ(ss.with_val, 2);
    lsm_close(l);
}

/* ---- the model test ---- */

#define MKEYS 3000
#define MDBS 3
typedef struct mval {
    bool live;
    char *v;
    size_t len;
    int64_t expire;
} mval;
static mval model[MDBS][MKEYS];

static void model_set(int db, int key, const char *v, size_t len, int64_t exp) {
    mval *m = &model[db][key];
    free(m->v);
    m->v = NULL;
    m->live = v != NULL;
    if (v) {
        m->v = malloc(len ? len : 1);
        memcpy(m->v, v, len);
    }
    m->len = len;
    m->expire = exp;
}

static bool model_live(int db, int key, int64_t now) {
    const mval *m = &model[db][key];
    return m->live && (m->expire < 0 || m->expire >= now);
}

typedef struct scan_ctx {
    int n, bad, lastdb, lastkey;
} scan_ctx;

static int scan_check(void *priv, const lsm_rec *r) {
    scan_ctx *c = priv;
    if (r->db == 3) return 0; /* the background test's fixed keys */
    c->n++;
    if (r->klen != 4) {
        c->bad++;
        return 0;
    }
    int key = ((unsigned char)r->key[1] << 8) | (unsigned char)r->key[2];
    int db = (int)r->db;
    if (db < c->lastdb || (db == c->lastdb && key <= c->lastkey)) c->bad++;
    c->lastdb = db;
    c->lastkey = key;
    if (db >= MDBS || key >= MKEYS || !model_live(db, key, now_ms()) ||
        model[db][key].len != r->vlen || (r->val && memcmp(r->val, model[db][key].v, r->vlen)))
        c->bad++;
    return 0;
}

static void check_all(lsm *l, const char *when) {
    int bad = 0;
    int64_t now = now_ms();
    for (int db = 0; db < MDBS; db++)
        for (int k = 0; k < MKEYS; k++) {
            bool live = model_live(db, k, now);
            if (!expect_get(l, db, k, live ? model[db][k].v : NULL, model[db][k].len)) {
                fprintf(stderr, "  (%s)\n", when);
                if (++bad > 3) return;
            }
        }
    scan_ctx c = {0, 0, -1, -1};
    char err[256];
    CHECK_EQ(lsm_scan(l, true, now, scan_check, NULL, &c, err, sizeof(err)), LSM_OK);
    int want = 0;
    for (int db = 0; db < MDBS; db++)
        for (int k = 0; k < MKEYS; k++) want += model_live(db, k, now);
    CHECK_EQ(c.bad, 0);
    CHECK_EQ(c.n, want);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t xrand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void random_rounds(lsm *l, int rounds, uint64_t *seq, bool do_compact) {
    static char valbuf[40000];
    static bool marked[MDBS][MKEYS];
    op *ops = malloc(sizeof(op) * 800);
    for (int round = 0; round < rounds; round++) {
        int n = 50 + (int)(xrand() % 700);
        memset(marked, 0, sizeof(marked));
        int m = 0;
        for (int i = 0; i < n; i++) {
            int db = (int)(xrand() % MDBS), key = (int)(xrand() % MKEYS);
            if (marked[db][key]) continue;
            marked[db][key] = true;
            op *o = &ops[m++];
            *o = (op){.db = db, .key = key, .expire = -1};
            uint64_t r = xrand() % 100;
            if (r < 20) {
                o->tomb = true;
                model_set(db, key, NULL, 0, -1);
                continue;
            }
            size_t len = r < 25 ? 0 : r < 27 ? 20000 + xrand() % 15000 : xrand() % 100;
            char *v = malloc(len + 1);
            for (size_t j = 0; j < len; j++) v[j] = (char)(key + j * (*seq % 7 + 1));
            if (len > 8) memcpy(v, seq, 8);
            o->val = v;
            o->vlen = len;
            if (r >= 95) o->expire = r >= 98 ? now_ms() - 1000 : now_ms() + 3600000;
            model_set(db, key, v, len, o->expire);
        }
        (*seq)++;
        bool ok = flush_ops(l, ops, m, *seq);
        for (int i = 0; i < m; i++) free((char *)ops[i].val);
        if (!ok) break;
        uint64_t r = xrand() % 100;
        char err[256];
        if (r < 3) {
            int db = (int)(xrand() % MDBS);
            (*seq)++;
            CHECK_EQ(lsm_drop_db(l, db, *seq, err, sizeof(err)), LSM_OK);
            for (int k = 0; k < MKEYS; k++) model_set(db, k, NULL, 0, -1);
        } else if (r < 6) {
            int a = (int)(xrand() % MDBS), b = (int)(xrand() % MDBS);
            (*seq)++;
            CHECK_EQ(lsm_swap_db(l, a, b, *seq, err, sizeof(err)), LSM_OK);
            for (int k = 0; k < MKEYS; k++) {
                mval t = model[a][k];
                model[a][k] = model[b][k];
                model[b][k] = t;
            }
        }
        if (do_compact && round % 5 == 4) {
            enum lsm_status st = lsm_compact_all(l, err, sizeof(err));
            if (!CHECK_EQ(st, LSM_OK)) fprintf(stderr, "  compact: %s\n", err);
        }
        (void)valbuf;
    }
    free(ops);
}

TEST(model_random_ops_across_levels) {
    const char *d = new_dir();
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", d);
    opt_level1 = 16 << 10; /* L1 16 KB, L2 160 KB, L3 1.6 MB: four levels in use */
    opt_target = 8 << 10;
    lsm *l = open_store(dir, false);
    REQUIRE(l);
    uint64_t seq = 0;
    for (int phase = 0; phase < 4; phase++) {
        random_rounds(l, 25, &seq, true);
        check_all(l, "after compactions");
    }
    lsm_stats st;
    lsm_get_stats(l, &st);
    fprintf(stderr, "  levels %d files L0..L3 %d %d %d %d bytes %llu compactions %llu "
                    "read %llu written %llu flushed %llu\n",
            st.levels, st.files[0], st.files[1], st.files[2], st.files[3],
            (unsigned long long)st.total_bytes, (unsigned long long)st.compactions,
            (unsigned long long)st.compaction_read_bytes,
            (unsigned long long)st.compaction_written_bytes, (unsigned long long)st.flushed_bytes);
    CHECK(st.levels >= 4);
    CHECK(st.compactions > 5);
    CHECK(st.files[0] < 4);
    CHECK(st.gets > 0 && st.bloom_negatives > 0 && st.block_reads > 0);
    lsm_close(l);
    l = open_store(dir, false);
    REQUIRE(l);
    CHECK_EQ(lsm_durable_seq(l), seq - (seq > 0 && lsm_durable_seq(l) != seq));
    check_all(l, "after reopen");
    lsm_close(l);
    opt_level1 = 64 << 10;
    opt_target = 16 << 10;
    for (int db = 0; db < MDBS; db++)
        for (int k = 0; k < MKEYS; k++) model_set(db, k, NULL, 0, -1);
}

/* Readers keep reading while flushes and background compactions replace
 * the files under them. */
static int reader_stop; /* atomic */
static lsm *reader_lsm;
static void *reader(void *arg) {
    int *errors = arg;
    while (!__atomic_load_n(&reader_stop, __ATOMIC_RELAXED)) {
        for (int k = 0; k < 50; k++) {
            char key[8], *v = NULL, err[256];
            size_t vl;
            enum lsm_status st = lsm_get(reader_lsm, 3, key, mkkey(key, 5000 + k), now_ms(), &v,
                                         &vl, NULL, NULL, err, sizeof(err));
            /* Key 5000+k of db 3 (which the random ops leave alone) is written once in the first flush with value
             * "stable" and never changed. */
            if (st != LSM_OK || vl != 6 || memcmp(v, "stable", 6)) (*errors)++;
            free(v);
        }
    }
    return NULL;
}

TEST(background_compaction_with_concurrent_reads) {
    const char *d = new_dir();
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", d);
    lsm *l = open_store(dir, true);
    REQUIRE(l);
    op stable[50];
    for (int k = 0; k < 50; k++) stable[k] = (op){3, 5000 + k, false, "stable", 6, -1};
    REQUIRE(flush_ops(l, stable, 50, 1));
    reader_lsm = l;
    __atomic_store_n(&reader_stop, 0, __ATOMIC_RELAXED);
    int errors = 0;
    pthread_t t;
    pthread_create(&t, NULL, reader, &errors);
    uint64_t seq = 1;
    random_rounds(l, 40, &seq, false);
    /* Wait for the compaction thread to bring L0 under its trigger. */
    lsm_stats st;
    for (int i = 0; i < 200; i++) {
        lsm_get_stats(l, &st);
        if (st.files[0] < 4 && !st.compacting) break;
        usleep(50000);
    }
    __atomic_store_n(&reader_stop, 1, __ATOMIC_RELAXED);
    pthread_join(t, NULL);
    CHECK_EQ(errors, 0);
    CHECK(st.files[0] < 4);
    CHECK(st.compactions > 0);
    CHECK_EQ(st.last_bg_error, 0);
    check_all(l, "background");
    lsm_close(l);
    /* No file the MANIFEST does not name is left behind. */
    DIR *dd = opendir(dir);
    int nsst = 0;
    struct dirent *e;
    while ((e = readdir(dd)))
        if (strstr(e->d_name, ".sst")) nsst++;
    closedir(dd);
    int named = 0;
    for (int lv = 0; lv < 8; lv++) named += st.files[lv];
    lsm_get_stats(l = open_store(dir, false), &st);
    named = 0;
    for (int lv = 0; lv < 8; lv++) named += st.files[lv];
    CHECK_EQ(nsst, named);
    lsm_close(l);
    for (int db = 0; db < MDBS; db++)
        for (int k = 0; k < MKEYS; k++) model_set(db, k, NULL, 0, -1);
}

TEST(tombstones_and_expiry_hide_older_versions) {
    const char *d = new_dir();
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", d);
    lsm *l = open_store(dir, false);
    REQUIRE(l);
    char err[256];
    /* Old versions pushed to deep levels. */
    op old[4] = {{0, 1, false, "old1", 4, -1}, {0, 2, false, "old2", 4, -1},
                 {0, 3, false, "old3", 4, -1}, {0, 4, false, "old4", 4, -1}};
    REQUIRE(flush_ops(l, old, 4, 1));
    for (int i = 0; i < 4; i++) {
        op pad = {1, 100 + i, false, "pad", 3, -1};
        REQUIRE(flush_ops(l, &pad, 1, 2 + (uint64_t)i));
    }
    REQUIRE(lsm_compact_all(l, err, sizeof(err)) == LSM_OK);
    lsm_stats st;
    lsm_get_stats(l, &st);
    CHECK_EQ(st.files[0], 0);
    /* Newer: a tombstone, an expired value, a value expiring later. */
    op newer[3] = {{0, 1, true, NULL, 0, -1}, {0, 2, false, "gone", 4, now_ms() - 1},
                   {0, 3, false, "later", 5, now_ms() + 3600000}};
    REQUIRE(flush_ops(l, newer, 3, 10));
    expect_get(l, 0, 1, NULL, 0);
    expect_get(l, 0, 2, NULL, 0);
    expect_get(l, 0, 3, "later", 5);
    expect_get(l, 0, 4, "old4", 4);
    /* Compaction of L0 into L1 must not resurrect old1 / old2 (they sit
     * in the same range deeper, or are merged with them). */
    for (int i = 0; i < 3; i++) {
        op pad = {1, 200 + i, false, "pad", 3, -1};
        REQUIRE(flush_ops(l, &pad, 1, 11 + (uint64_t)i));
    }
    REQUIRE(lsm_compact_all(l, err, sizeof(err)) == LSM_OK);
    expect_get(l, 0, 1, NULL, 0);
    expect_get(l, 0, 2, NULL, 0);
    expect_get(l, 0, 3, "later", 5);
    /* Expiry read at a later now: */
    char k[8], *v = NULL;
    CHECK_EQ(lsm_get(l, 0, k, mkkey(k, 3), now_ms() + 7200000, &v, NULL, NULL, NULL, err,
                     sizeof(err)),
             LSM_NOTFOUND);
    int64_t exp = 0;
    CHECK_EQ(lsm_get(l, 0, k, mkkey(k, 3), now_ms(), &v, NULL, &exp, NULL, err, sizeof(err)),
             LSM_OK);
    CHECK(exp > now_ms());
    free(v);
    lsm_get_stats(l, &st);
    /* Everything merged into one level with nothing deeper: no tombstone
     * or expired record survives, only live keys: 3, 4 and the 7 pads. */
    scan_ctx dummy;
    (void)dummy;
    uint64_t entries = 0;
    int lv_used = st.levels - 1;
    char mpath[600];
    snprintf(mpath, sizeof(mpath), "%s/MANIFEST", dir);
    manifest m;
    REQUIRE(manifest_read(mpath, &m, err, sizeof(err)) == LSM_OK);
    for (size_t i = 0; i < m.nfiles; i++) entries += m.files[i].entries;
    int levels_seen = 0;
    for (int lv = 0; lv < 8; lv++) levels_seen += st.files[lv] > 0;
    if (levels_seen == 1) CHECK_EQ(entries, 9);
    (void)lv_used;
    manifest_free(&m);
    lsm_close(l);
}

TEST(drop_and_swap_db) {
    const char *d = new_dir();
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", d);
    lsm *l = open_store(dir, false);
    REQUIRE(l);
    char err[256];
    op ops[2] = {{0, 1, false, "zero", 4, -1}, {1, 1, false, "one", 3, -1}};
    REQUIRE(flush_ops(l, ops, 2, 5));
    uint32_t p0 = lsm_phys_db(l, 0), p1 = lsm_phys_db(l, 1);
    CHECK(p0 != p1);
    CHECK_EQ(lsm_swap_db(l, 0, 1, 6, err, sizeof(err)), LSM_OK);
    CHECK_EQ(lsm_phys_db(l, 0), p1);
    expect_get(l, 0, 1, "one", 3);
    expect_get(l, 1, 1, "zero", 4);
    /* A replayed edit (seq <= the last edit's) is a no-op. */
    CHECK_EQ(lsm_swap_db(l, 0, 1, 6, err, sizeof(err)), LSM_OK);
    expect_get(l, 0, 1, "one", 3);
    CHECK_EQ(lsm_drop_db(l, 0, 7, err, sizeof(err)), LSM_OK);
    CHECK(lsm_phys_db(l, 0) != p0 && lsm_phys_db(l, 0) != p1);
    expect_get(l, 0, 1, NULL, 0);
    expect_get(l, 1, 1, "zero", 4);
    CHECK_EQ(lsm_drop_db(l, 9, 8, err, sizeof(err)), LSM_INVALID);
    lsm_close(l);
    l = open_store(dir, false);
    REQUIRE(l);
    expect_get(l, 0, 1, NULL, 0);
    expect_get(l, 1, 1, "zero", 4);
    /* FLUSHALL, then the dead records are dropped by compaction. */
    CHECK_EQ(lsm_drop_db(l, -1, 9, err, sizeof(err)), LSM_OK);
    expect_get(l, 1, 1, NULL, 0);
    for (int i = 0; i < 4; i++) {
        op o = {2, 10 + i, false, "x", 1, -1};
        REQUIRE(flush_ops(l, &o, 1, 10 + (uint64_t)i));
    }
    CHECK_EQ(lsm_compact_all(l, err, sizeof(err)), LSM_OK);
    char mpath[600];
    snprintf(mpath, sizeof(mpath), "%s/MANIFEST", dir);
    manifest m;
    REQUIRE(manifest_read(mpath, &m, err, sizeof(err)) == LSM_OK);
    uint64_t entries = 0;
    for (size_t i = 0; i < m.nfiles; i++) entries += m.files[i].entries;
    CHECK_EQ(entries, 4);
    CHECK_EQ(m.db_edit_seq, 9);
    manifest_free(&m);
    lsm_close(l);
}

static void flip(const char *path, long off) {
    int fd = open(path, O_RDWR);
    unsigned char c = 0;
    if (off < 0) {
        struct stat sb;
        fstat(fd, &sb);
        off += (long)sb.st_size;
    }
    if (pread(fd, &c, 1, off) != 1) abort();
    c ^= 0x10;
    if (pwrite(fd, &c, 1, off) != 1) abort();
    close(fd);
}

/* A store with one L0 file (number 1) of 200 records; returns its path. */
static void make_store(char *dir, size_t dlen, char *sst, size_t slen) {
    snprintf(dir, dlen, "%s", new_dir());
    lsm *l = open_store(dir, false);
    op ops[200];
    for (int i = 0; i < 200; i++) ops[i] = (op){0, i, false, "some value text", 15, -1};
    flush_ops(l, ops, 200, 1);
    lsm_close(l);
    manifest_sst_path(sst, slen, dir, 1);
}

static void expect_open_refused(const char *dir, const char *name) {
    lsm_opts o;
    lsm_opts_default(&o);
    o.dir = dir;
    o.ndbs = 4;
    o.background = false;
    lsm *l = NULL;
    char err[512] = "";
    CHECK_EQ(lsm_open(&o, &l, err, sizeof(err)), LSM_CORRUPT);
    CHECK(strstr(err, name) != NULL);
    fprintf(stderr, "  (expected) %s\n", err);
    if (l) lsm_close(l);
}

TEST(corruption_refused_by_name) {
    char dir[512], sst[600], mpath[700], err[512];
    /* A data block: open succeeds (footer, index, bloom are fine), the
     * read of a key in that block fails naming the file and offset. */
    make_store(dir, sizeof(dir), sst, sizeof(sst));
    flip(sst, 5);
    lsm *l = open_store(dir, false);
    REQUIRE(l);
    char k[8], *v = NULL;
    CHECK_EQ(lsm_get(l, 0, k, mkkey(k, 0), now_ms(), &v, NULL, NULL, NULL, err, sizeof(err)),
             LSM_CORRUPT);
    CHECK(strstr(err, sst) && strstr(err, "offset 0"));
    fprintf(stderr, "  (expected) %s\n", err);
    /* Compaction refuses to propagate it too. */
    lsm_close(l);
    /* The footer. */
    make_store(dir, sizeof(dir), sst, sizeof(sst));
    flip(sst, -30);
    expect_open_refused(dir, sst);
    /* The index block (it starts right after the data blocks: find it from
     * the footer). */
    make_store(dir, sizeof(dir), sst, sizeof(sst));
    {
        int fd = open(sst, O_RDONLY);
        struct stat sb;
        fstat(fd, &sb);
        unsigned char f[8];
        if (pread(fd, f, 8, sb.st_size - 72) != 8) abort();
        close(fd);
        long off = 0;
        for (int i = 7; i >= 0; i--) off = off << 8 | f[i];
        flip(sst, off + 2);
    }
    expect_open_refused(dir, sst);
    /* A missing file. */
    make_store(dir, sizeof(dir), sst, sizeof(sst));
    unlink(sst);
    expect_open_refused(dir, sst);
    /* The MANIFEST. */
    make_store(dir, sizeof(dir), sst, sizeof(sst));
    snprintf(mpath, sizeof(mpath), "%s/MANIFEST", dir);
    flip(mpath, 20);
    expect_open_refused(dir, mpath);
    /* A truncated MANIFEST. */
    make_store(dir, sizeof(dir), sst, sizeof(sst));
    snprintf(mpath, sizeof(mpath), "%s/MANIFEST", dir);
    REQUIRE(truncate(mpath, 30) == 0);
    expect_open_refused(dir, mpath);
    /* A lost MANIFEST: the SSTables are not deleted as orphans. */
    make_store(dir, sizeof(dir), sst, sizeof(sst));
    snprintf(mpath, sizeof(mpath), "%s/MANIFEST", dir);
    REQUIRE(unlink(mpath) == 0);
    expect_open_refused(dir, mpath);
    CHECK(access(sst, F_OK) == 0);
}

TEST(crash_between_file_write_and_manifest_leaves_orphans_removed) {
    char dir[512], sst[600], orphan[700], tmp[700], err[256];
    make_store(dir, sizeof(dir), sst, sizeof(sst));
    /* A crash after an SSTable was written (fully or partly) but before
     * the MANIFEST naming it was renamed into place. */
    manifest_sst_path(orphan, sizeof(orphan), dir, 7);
    char cmd[2000];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", sst, orphan);
    REQUIRE(system(cmd) == 0);
    snprintf(tmp, sizeof(tmp), "%s/MANIFEST.tmp", dir);
    int fd = open(tmp, O_WRONLY | O_CREAT, 0644);
    REQUIRE(write(fd, "half a manifest", 15) == 15);
    close(fd);
    lsm *l = open_store(dir, false);
    REQUIRE(l);
    CHECK(access(orphan, F_OK) != 0);
    CHECK(access(tmp, F_OK) != 0);
    CHECK(access(sst, F_OK) == 0);
    expect_get(l, 0, 3, "some value text", 15);
    /* New files get numbers above any seen, so none is reused. */
    op o = {0, 500, false, "after", 5, -1};
    REQUIRE(flush_ops(l, &o, 1, 2));
    char next[700];
    manifest_sst_path(next, sizeof(next), dir, 8);
    CHECK(access(next, F_OK) == 0);
    expect_get(l, 0, 500, "after", 5);
    CHECK_EQ(lsm_compact_all(l, err, sizeof(err)), LSM_OK);
    lsm_close(l);
}

static int run_check(char *out, size_t outlen, int argc, char **argv) {
    FILE *o = tmpfile(), *e = tmpfile();
    int rc = check_lsm_run(argc, argv, o, e);
    size_t n = 0;
    FILE *fs[2] = {o, e};
    for (int i = 0; i < 2; i++) {
        rewind(fs[i]);
        n += fread(out + n, 1, outlen - 1 - n, fs[i]);
        fclose(fs[i]);
    }
    out[n] = '\0';
    return rc;
}

TEST(check_tool_verifies_and_dumps) {
    char dir[512], sst[600], mpath[700], orphan[700];
    static char out[1 << 16];
    make_store(dir, sizeof(dir), sst, sizeof(sst));
    snprintf(mpath, sizeof(mpath), "%s/MANIFEST", dir);
    char *a1[] = {"dir", "--dump", dir};
    CHECK_EQ(run_check(out, sizeof(out), 3, a1), 0);
    CHECK(strstr(out, "OK L0") && strstr(out, "next_file"));
    char *a2[] = {"strata-check", "sst", "--dump", sst};
    CHECK_EQ(run_check(out, sizeof(out), 4, a2), 0);
    CHECK(strstr(out, "key=\"\\x00\\x00\\x05\\xff\" seq=1") != NULL);
    CHECK(strstr(out, "val=\"some value text\"") != NULL);
    char *a3[] = {"manifest", "--dump", mpath};
    CHECK_EQ(run_check(out, sizeof(out), 3, a3), 0);
    CHECK(strstr(out, "L0 000001.sst") != NULL);
    /* An orphan is reported, not an error. */
    manifest_sst_path(orphan, sizeof(orphan), dir, 9);
    FILE *f = fopen(orphan, "w");
    fputs("junk", f);
    fclose(f);
    CHECK_EQ(run_check(out, sizeof(out), 3, a1), 0);
    CHECK(strstr(out, "ORPHAN") != NULL);
    /* A corrupt block: named. */
    flip(sst, 7);
    CHECK_EQ(run_check(out, sizeof(out), 3, a1), 1);
    CHECK(strstr(out, "CORRUPT") && strstr(out, sst));
    CHECK_EQ(run_check(out, sizeof(out), 4, a2), 1);
    flip(mpath, 30);
    CHECK_EQ(run_check(out, sizeof(out), 3, a3), 1);
    CHECK(strstr(out, mpath) != NULL);
    char *a4[] = {"sst"};
    CHECK_EQ(run_check(out, sizeof(out), 1, a4), 2);
}

TEST(background_error_recorded_and_retried) {
    char dir[512], err[512];
    snprintf(dir, sizeof(dir), "%s", new_dir());
    lsm *l = open_store(dir, false);
    REQUIRE(l);
    for (int i = 0; i < 4; i++) {
        op o = {0, i, false, "v", 1, -1};
        REQUIRE(flush_ops(l, &o, 1, 1 + (uint64_t)i));
    }
    lsm_close(l);
    /* Disk full from now on: the compaction the reopened store starts
     * fails, is recorded, and is retried; reads keep working. */
    __atomic_store_n(&sst_fault_errno, ENOSPC, __ATOMIC_RELAXED);
    l = open_store(dir, true);
    REQUIRE(l);
    lsm_stats st;
    for (int i = 0; i < 100; i++) {
        lsm_get_stats(l, &st);
        if (st.last_bg_error) break;
        usleep(20000);
    }
    CHECK_EQ(st.last_bg_error, ENOSPC);
    CHECK_EQ(st.files[0], 4);
    expect_get(l, 0, 2, "v", 1);
    /* A flush fails with a clear error and leaves nothing behind. */
    lsm_writer *w;
    REQUIRE(lsm_flush_begin(l, &w) == LSM_OK);
    char k[8];
    lsm_rec r = {.db = lsm_phys_db(l, 0), .key = k, .klen = mkkey(k, 99), .val = "x", .vlen = 1,
                 .expire_ms = -1, .seq = 9};
    enum lsm_status s1 = lsm_flush_add(w, &r);
    enum lsm_status s2 = lsm_flush_commit(w, 9, err, sizeof(err));
    CHECK(s1 == LSM_OK && s2 == LSM_IO);
    CHECK(strstr(err, "No space left") != NULL);
    CHECK_EQ(lsm_durable_seq(l), 4);
    /* Space is back: the retry succeeds within a few seconds. */
    __atomic_store_n(&sst_fault_errno, 0, __ATOMIC_RELAXED);
    for (int i = 0; i < 150; i++) {
        lsm_get_stats(l, &st);
        if (st.files[0] == 0 && st.last_bg_error == 0) break;
        usleep(20000);
    }
    CHECK_EQ(st.files[0], 0);
    CHECK_EQ(st.last_bg_error, 0);
    CHECK(st.compactions >= 1);
    for (int i = 0; i < 4; i++) expect_get(l, 0, i, "v", 1);
    lsm_close(l);
    DIR *dd = opendir(dir);
    int nsst = 0;
    struct dirent *e;
    while ((e = readdir(dd)))
        if (strstr(e->d_name, ".sst")) nsst++;
    closedir(dd);
    CHECK_EQ(nsst, st.files[1]);
}
