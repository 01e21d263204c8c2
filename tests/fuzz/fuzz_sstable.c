/* fuzz_sstable.c: the SSTable reader (src/sstable.c, docs/sstable_format.md)
 * on arbitrary file contents. The input is written to a file and opened;
 * if it opens, every record is read back with an iterator and each one
 * must sort strictly after the one before (the format's promise), must be
 * found again by sst_get with the same value, and sst_verify must agree
 * that the file is sound; a corrupt block may stop the iterator, which
 * must then report LSM_CORRUPT or LSM_IO, never hand out a record. When it
 * does not open, the reader must say why (an error text).
 *
 * Every block carries an XXH3 checksum, so most mutations of a valid
 * table stop at a checksum: this target mainly proves the bounds checks
 * before and around them (footer, trailers, index, bloom, properties).
 *
 * Seeds: tests/fuzz/corpus/sstable/, four small tables made by the writer
 * itself (this file with -DFUZZ_SSTABLE_SEEDS, linked like a unit test:
 * `./a.out tests/fuzz/corpus/sstable`). */
#include "fuzz.h"

#include <string.h>
#include <unistd.h>
#include "bloom.h"
#include "sstable.h"

#ifndef FUZZ_SSTABLE_SEEDS
static int cmp_rec(const lsm_rec *a, const lsm_rec *b) {
    if (a->db != b->db) return a->db < b->db ? -1 : 1;
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = n ? memcmp(a->key, b->key, n) : 0;
    if (c) return c;
    return a->klen < b->klen ? -1 : a->klen > b->klen;
}

static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) snprintf(path, sizeof(path), "/tmp/strata-fuzz-sst.%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f);
    fwrite(data, 1, size, f);
    fclose(f);
    char err[512] = "";
    sst *t = NULL;
    enum lsm_status st = sst_open(path, &t, err, sizeof(err));
    if (st != LSM_OK) {
        FUZZ_CHECK(t == NULL || st == LSM_OK);
        FUZZ_CHECK(st == LSM_CORRUPT || st == LSM_IO || st == LSM_INVALID || st == LSM_NOMEM);
        FUZZ_CHECK(err[0] != '\0');
        unlink(path);
        return 0;
    }
    sst_iter *it = sst_iter_new(t);
    char *prev = NULL;
    lsm_rec prev_rec = {0};
    uint64_t n = 0;
    for (sst_iter_first(it); sst_iter_valid(it); sst_iter_next(it)) {
        const lsm_rec *r = sst_iter_rec(it);
        if (n) FUZZ_CHECK(cmp_rec(&prev_rec, r) < 0);
        free(prev);
        prev = malloc(r->klen ? r->klen : 1);
        memcpy(prev, r->key, r->klen);
        prev_rec = *r;
        prev_rec.key = prev;
        /* Found again by a point read, with the same value. */
        lsm_rec got;
        char *val = NULL;
        enum lsm_status gs = sst_get(t, r->db, r->key, r->klen, bloom_hash(r->db, r->key, r->klen), &got,
                                     &val, NULL, NULL, err, sizeof(err));
        FUZZ_CHECK(gs == LSM_OK || gs == LSM_CORRUPT || gs == LSM_IO);
        if (gs == LSM_OK) {
            FUZZ_CHECK(got.tombstone == r->tombstone && got.seq == r->seq);
            if (!r->tombstone) FUZZ_CHECK(got.vlen == r->vlen && (!r->vlen || !memcmp(val, r->val, r->vlen)));
        }
        free(val);
        n++;
    }
    free(prev);
    char ierr[512] = "";
    enum lsm_status is = sst_iter_status(it, ierr, sizeof(ierr));
    FUZZ_CHECK(is == LSM_OK || is == LSM_CORRUPT || is == LSM_IO);
    if (is != LSM_OK) FUZZ_CHECK(ierr[0] != '\0');
    sst_iter_free(it);
    sst_close(t);
    /* A table that read back whole verifies. */
    if (is == LSM_OK) {
        enum lsm_status vs = sst_verify(path, NULL, err, sizeof(err));
        if (vs != LSM_OK) {
            fprintf(stderr, "iterated %llu records without error, but sst_verify: %s\n", (unsigned long long)n, err);
            abort();
        }
    }
    unlink(path);
    return 0;
}
#else
/* Write a few valid tables into argv[1]: seeds for the fuzzer. */
int main(int argc, char **argv) {
    if (argc < 2) return 2;
    static const struct { int nrec, vlen, block, tomb_every; } shapes[] = {
        {0, 0, 4096, 0}, {1, 5, 4096, 0}, {20, 10, 256, 3}, {60, 40, 512, 7},
    };
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        char p[512], err[256];
        snprintf(p, sizeof(p), "%s/table-%zu", argv[1], s);
        sst_writer *w;
        if (sst_writer_open(p, (size_t)shapes[s].block, 10, &w, err, sizeof(err)) != LSM_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        for (int i = 0; i < shapes[s].nrec; i++) {
            char key[32], val[64];
            snprintf(key, sizeof(key), "key:%05d", i);
            memset(val, 'a' + i % 26, sizeof(val));
            lsm_rec r = {.db = (uint32_t)(i / 30), .key = key, .klen = strlen(key), .val = val,
                         .vlen = (size_t)shapes[s].vlen, .expire_ms = i % 5 ? 0 : 1700000000000LL + i,
                         .seq = (uint64_t)i + 1,
                         .tombstone = shapes[s].tomb_every && i % shapes[s].tomb_every == 0};
            if (r.tombstone) r.vlen = 0;
            if (sst_writer_add(w, &r, err, sizeof(err)) != LSM_OK) {
                fprintf(stderr, "%s\n", err);
                return 1;
            }
        }
        if (sst_writer_finish(w, NULL, err, sizeof(err)) != LSM_OK) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
    }
    return 0;
}
#endif
