/* test_sstable.c: SSTable round trips (binary keys and values, empty and
 * 1 MB values, tombstones, expiry), point reads and iterators, and
 * corruption of a data block, the index and the footer reported with the
 * file name. */
#include <fcntl.h>
#include <sys/stat.h>

#include "bloom.h"
#include "sstable.h"
#include "unit.h"

static char tmpdir[256];

static const char *tpath(const char *name) {
    static char p[512];
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/strata-test-sst.XXXXXX");
        if (!mkdtemp(tmpdir)) abort();
    }
    snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
    return p;
}

/* Records of a deterministic table: key i is "k" + 4 bytes of i (binary,
 * with zero bytes) in db i/1000; every 7th a tombstone, every 5th with an
 * expiry, every 11th an empty value. */
#define NREC 5000
static void make_rec(int i, lsm_rec *r, char *kb, char *vb) {
    memset(r, 0, sizeof(*r));
    r->db = (uint32_t)(i / 1000);
    kb[0] = 'k';
    kb[1] = (char)(i >> 24);
    kb[2] = (char)(i >> 16);
    kb[3] = (char)(i >> 8);
    kb[4] = (char)i;
    r->key = kb;
    r->klen = 5;
    r->seq = (uint64_t)i * 3 + 1;
    r->flags = (uint8_t)(i & 7);
    r->expire_ms = i % 5 == 0 ? 1700000000000LL + i : -1;
    r->tombstone = i % 7 == 0;
    if (!r->tombstone) {
        int len = 0;
        if (i % 11) {
            len = snprintf(vb, 64, "value-%d-", i);
            memcpy(vb + len, "\x01\x00\xff", 3); /* binary tail */
            len += 3;
        }
        r->val = vb;
        r->vlen = (size_t)len;
    }
}

static bool write_table(const char *path, size_t block_size) {
    sst_writer *w;
    char err[256];
    if (!CHECK_EQ(sst_writer_open(path, block_size, 10, &w, err, sizeof(err)), LSM_OK)) return false;
    for (int i = 0; i < NREC; i++) {
        lsm_rec r;
        char kb[8], vb[80];
        make_rec(i, &r, kb, vb);
        if (!CHECK_EQ(sst_writer_add(w, &r, err, sizeof(err)), LSM_OK)) {
            sst_writer_abort(w);
            return false;
        }
    }
    sst_props pr;
    if (!CHECK_EQ(sst_writer_finish(w, &pr, err, sizeof(err)), LSM_OK)) return false;
    CHECK_EQ(pr.entries, NREC);
    CHECK_EQ(pr.smallest_db, 0);
    CHECK_EQ(pr.largest_db, (NREC - 1) / 1000);
    sst_props_free(&pr);
    return true;
}

TEST(round_trip_get_and_iterate) {
    const char *path = tpath("a.sst");
    REQUIRE(write_table(path, 512));
    sst *t;
    char err[256];
    REQUIRE(sst_open(path, &t, err, sizeof(err)) == LSM_OK);
    CHECK_EQ(sst_get_props(t)->entries, NREC);
    CHECK(sst_get_props(t)->data_blocks > 10);
    uint64_t neg = 0, reads = 0;
    for (int i = 0; i < NREC; i++) {
        lsm_rec want, got;
        char kb[8], vb[80], *val = NULL;
        make_rec(i, &want, kb, vb);
        enum lsm_status st = sst_get(t, want.db, kb, 5, bloom_hash(want.db, kb, 5), &got, &val,
                                     &neg, &reads, err, sizeof(err));
        if (!CHECK_EQ(st, LSM_OK)) break;
        CHECK_EQ(got.tombstone, want.tombstone);
        CHECK_EQ(got.seq, want.seq);
        CHECK_EQ(got.flags, want.flags);
        CHECK_EQ(got.expire_ms, want.expire_ms);
        if (!want.tombstone) CHECK_MEM(val, got.vlen, want.val, want.vlen);
        free(val);
    }
    CHECK_EQ(neg, 0);
    CHECK_EQ(reads, NREC);
    /* Absent keys: same key in another db, keys between, before, after. */
    int found = 0;
    for (int i = 0; i < 2000; i++) {
        lsm_rec got;
        char *val = NULL, kb[16];
        snprintf(kb, sizeof(kb), "x%d", i);
        enum lsm_status st = sst_get(t, (uint32_t)(i % 7), kb, strlen(kb),
                                     bloom_hash((uint32_t)(i % 7), kb, strlen(kb)), &got, &val,
                                     &neg, &reads, err, sizeof(err));
        found += st != LSM_NOTFOUND;
    }
    CHECK_EQ(found, 0);
    CHECK(neg > 1900); /* ~1% false positives */
    /* Full iteration and seeks. */
    sst_iter *it = sst_iter_new(t);
    int n = 0;
    for (sst_iter_first(it); sst_iter_valid(it); sst_iter_next(it), n++) {
        lsm_rec want;
        char kb[8], vb[80];
        make_rec(n, &want, kb, vb);
        const lsm_rec *r = sst_iter_rec(it);
        if (!CHECK_MEM(r->key, r->klen, kb, 5)) break;
        CHECK_EQ(r->db, want.db);
        if (!want.tombstone) CHECK_MEM(r->val, r->vlen, want.val, want.vlen);
    }
    CHECK_EQ(n, NREC);
    CHECK_EQ(sst_iter_status(it, NULL, 0), LSM_OK);
    char kb[8], vb[80];
    lsm_rec want;
    make_rec(2500, &want, kb, vb);
    sst_iter_seek(it, 2, kb, 5);
    CHECK(sst_iter_valid(it) && sst_iter_rec(it)->seq == want.seq);
    sst_iter_seek(it, 2, kb, 4); /* "k\0\0\x09": first is 2304 = 0x900 */
    CHECK(sst_iter_valid(it) && sst_iter_rec(it)->seq == 2304 * 3 + 1);
    sst_iter_seek(it, 2, "", 0);
    CHECK(sst_iter_valid(it) && sst_iter_rec(it)->seq == 2000 * 3 + 1);
    sst_iter_seek(it, 9, "", 0);
    CHECK(!sst_iter_valid(it));
    sst_iter_free(it);
    sst_close(t);
    CHECK_EQ(sst_verify(path, NULL, err, sizeof(err)), LSM_OK);
}

TEST(big_and_empty_values_and_empty_key) {
    const char *path = tpath("big.sst");
    sst_writer *w;
    char err[256];
    REQUIRE(sst_writer_open(path, 4096, 10, &w, err, sizeof(err)) == LSM_OK);
    size_t big = 1 << 20;
    char *bv = malloc(big), *rv = malloc(big);
    for (size_t i = 0; i < big; i++) bv[i] = (char)(i * 7 + (i >> 9));
    for (size_t i = 0; i < big; i++) rv[i] = (char)rand();
    lsm_rec r = {.db = 0, .key = "", .klen = 0, .val = "", .vlen = 0, .expire_ms = -1, .seq = 1};
    CHECK_EQ(sst_writer_add(w, &r, err, sizeof(err)), LSM_OK);
    r = (lsm_rec){.db = 0, .key = "big", .klen = 3, .val = bv, .vlen = big, .expire_ms = -1};
    CHECK_EQ(sst_writer_add(w, &r, err, sizeof(err)), LSM_OK);
    r = (lsm_rec){.db = 0, .key = "rand", .klen = 4, .val = rv, .vlen = big, .expire_ms = -1};
    CHECK_EQ(sst_writer_add(w, &r, err, sizeof(err)), LSM_OK);
    r = (lsm_rec){.db = 0, .key = "rand", .klen = 4, .val = "x", .vlen = 1, .expire_ms = -1};
    CHECK_EQ(sst_writer_add(w, &r, err, sizeof(err)), LSM_INVALID); /* duplicate key */
    r = (lsm_rec){.db = 0, .key = "z", .klen = 1, .val = "", .vlen = 0, .expire_ms = -1};
    CHECK_EQ(sst_writer_add(w, &r, err, sizeof(err)), LSM_OK);
    REQUIRE(sst_writer_finish(w, NULL, err, sizeof(err)) == LSM_OK);
    sst *t;
    REQUIRE(sst_open(path, &t, err, sizeof(err)) == LSM_OK);
    const char *keys[] = {"", "big", "rand", "z"};
    const char *vals[] = {"", bv, rv, ""};
    size_t lens[] = {0, big, big, 0};
    for (int i = 0; i < 4; i++) {
        lsm_rec got;
        char *val = NULL;
        size_t kl = strlen(keys[i]);
        CHECK_EQ(sst_get(t, 0, keys[i], kl, bloom_hash(0, keys[i], kl), &got, &val, NULL, NULL,
                         err, sizeof(err)),
                 LSM_OK);
        CHECK(val != NULL);
        CHECK_MEM(val, got.vlen, vals[i], lens[i]);
        free(val);
    }
    CHECK(sst_get_props(t)->file_size < big + big / 2); /* the regular value compressed */
    sst_close(t);
    free(bv);
    free(rv);
}

TEST(empty_table) {
    const char *path = tpath("empty.sst");
    sst_writer *w;
    char err[256];
    REQUIRE(sst_writer_open(path, 4096, 10, &w, err, sizeof(err)) == LSM_OK);
    REQUIRE(sst_writer_finish(w, NULL, err, sizeof(err)) == LSM_OK);
    sst *t;
    REQUIRE(sst_open(path, &t, err, sizeof(err)) == LSM_OK);
    lsm_rec got;
    char *val = NULL;
    CHECK_EQ(sst_get(t, 0, "a", 1, bloom_hash(0, "a", 1), &got, &val, NULL, NULL, err, sizeof(err)),
             LSM_NOTFOUND);
    sst_iter *it = sst_iter_new(t);
    sst_iter_first(it);
    CHECK(!sst_iter_valid(it));
    sst_iter_free(it);
    sst_close(t);
}

static void flip_byte(const char *path, long off) {
    int fd = open(path, O_RDWR);
    unsigned char c;
    if (pread(fd, &c, 1, off) != 1) abort();
    c ^= 0x40;
    if (pwrite(fd, &c, 1, off) != 1) abort();
    close(fd);
}

static long file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

/* Every corruption must be reported as LSM_CORRUPT naming the file. */
static void expect_corrupt(const char *path, bool at_open) {
    char err[512] = "";
    sst *t;
    enum lsm_status st = sst_open(path, &t, err, sizeof(err));
    if (!at_open) {
        if (!CHECK_EQ(st, LSM_OK)) return;
        sst_close(t);
        st = sst_verify(path, NULL, err, sizeof(err));
    }
    CHECK_EQ(st, LSM_CORRUPT);
    CHECK(strstr(err, path) != NULL);
    fprintf(stderr, "  (expected) %s\n", err);
}

TEST(corruption_detected_by_name) {
    const char *path = tpath("c.sst");
    char p[512];
    snprintf(p, sizeof(p), "%s", path);
    /* A data block: byte 10 lies in the first block. */
    REQUIRE(write_table(p, 512));
    flip_byte(p, 10);
    expect_corrupt(p, false);
    /* Point read of a key in that block fails too. */
    sst *t;
    char err[512];
    REQUIRE(sst_open(p, &t, err, sizeof(err)) == LSM_OK);
    lsm_rec want, got;
    char kb[8], vb[80], *val = NULL;
    make_rec(1, &want, kb, vb);
    CHECK_EQ(sst_get(t, 0, kb, 5, bloom_hash(0, kb, 5), &got, &val, NULL, NULL, err, sizeof(err)),
             LSM_CORRUPT);
    CHECK(strstr(err, "offset 0") != NULL);
    sst_close(t);
    /* The footer. */
    REQUIRE(write_table(p, 512));
    flip_byte(p, file_size(p) - 20);
    expect_corrupt(p, true);
    /* The magic. */
    REQUIRE(write_table(p, 512));
    flip_byte(p, file_size(p) - 1);
    expect_corrupt(p, true);
    /* The index block: its offset is the footer's first field. */
    REQUIRE(write_table(p, 512));
    int fd = open(p, O_RDONLY);
    unsigned char f[8];
    REQUIRE(pread(fd, f, 8, file_size(p) - SST_FOOTER_SIZE) == 8);
    close(fd);
    long ioff = 0;
    for (int i = 7; i >= 0; i--) ioff = ioff << 8 | f[i];
    flip_byte(p, ioff + 3);
    expect_corrupt(p, true);
    /* A truncated file. */
    REQUIRE(write_table(p, 512));
    REQUIRE(truncate(p, file_size(p) - 1) == 0);
    expect_corrupt(p, true);
}

__attribute__((destructor)) static void cleanup(void) {
    char cmd[300];
    if (!tmpdir[0]) return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
}
