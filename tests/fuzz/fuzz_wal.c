/* fuzz_wal.c: the WAL reader (src/wal_format.c, docs/wal_format.md) on
 * arbitrary bytes. The first input byte picks what the rest is:
 *   even: a record body, given to walf_decode_body directly (the body
 *         checksum would stop almost every mutation before the decoder,
 *         so this mode reaches the field parsing behind it). A body that
 *         decodes must encode and decode again to the same record.
 *   odd:  a whole segment file, walked with walf_open/walf_next as
 *         recovery and strata-check walk it. Records come out with
 *         strictly increasing offsets inside the file; the walk ends in
 *         END, or in TORN/CORRUPT/IO with a reason and an offset inside
 *         the file, never with a record past the end.
 *
 * Seeds: tests/fuzz/corpus/wal/, segments and bodies made by the encoder
 * itself (this file with -DFUZZ_WAL_SEEDS, linked like a unit test:
 * `./a.out tests/fuzz/corpus/wal`). */
#include "fuzz.h"

#include <string.h>
#include <unistd.h>
#include "wal_format.h"

#ifndef FUZZ_WAL_SEEDS
static bool same_rec(const wal_rec *a, const wal_rec *b) {
    return a->seq == b->seq && a->op == b->op && a->flags == b->flags && a->db == b->db && a->db2 == b->db2 &&
           a->expire_ms == b->expire_ms && a->offset == b->offset && a->klen == b->klen &&
           (!a->klen || !memcmp(a->key, b->key, a->klen)) && a->vlen == b->vlen &&
           (!a->vlen || !memcmp(a->val, b->val, a->vlen));
}

static void body_mode(const uint8_t *data, size_t size) {
    wal_rec r;
    if (!walf_decode_body(data, size, &r)) return;
    FUZZ_CHECK(r.klen <= size && r.vlen <= size);
    size_t n = walf_encoded_size(&r);
    FUZZ_CHECK(n >= WALF_REC_HDR);
    uint8_t *buf = malloc(n);
    FUZZ_CHECK(buf);
    FUZZ_CHECK(walf_encode(buf, &r) == n);
    wal_rec again;
    FUZZ_CHECK(walf_decode_body(buf + WALF_REC_HDR, n - WALF_REC_HDR, &again));
    FUZZ_CHECK(same_rec(&r, &again));
    free(buf);
}

static char path[64];

static void file_mode(const uint8_t *data, size_t size) {
    if (!path[0]) snprintf(path, sizeof(path), "/tmp/strata-fuzz-wal.%d", (int)getpid());
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f);
    if (size) fwrite(data, 1, size, f);
    fclose(f);
    walf_reader rd;
    enum walf_status st = walf_open(&rd, path);
    if (st != WALF_OK) {
        FUZZ_CHECK(st == WALF_TORN || st == WALF_CORRUPT || st == WALF_IO);
        FUZZ_CHECK(rd.err[0] != '\0');
        walf_close(&rd);   /* the contract: whatever walf_open returned */
        unlink(path);
        return;
    }
    FUZZ_CHECK(size >= WALF_HEADER_SIZE);
    size_t last = 0;
    wal_rec r;
    while ((st = walf_next(&rd, &r)) == WALF_OK) {
        FUZZ_CHECK(rd.off > last && rd.off <= size);
        last = rd.off;
        /* Pointers stay inside the mapping. */
        if (r.klen) FUZZ_CHECK((const uint8_t *)r.key >= rd.map && (const uint8_t *)r.key + r.klen <= rd.map + size);
        if (r.vlen) FUZZ_CHECK((const uint8_t *)r.val >= rd.map && (const uint8_t *)r.val + r.vlen <= rd.map + size);
    }
    FUZZ_CHECK(st == WALF_END || st == WALF_TORN || st == WALF_CORRUPT || st == WALF_IO);
    if (st == WALF_END) FUZZ_CHECK(rd.off == size);
    else FUZZ_CHECK(rd.err[0] != '\0' && rd.off <= size);
    walf_close(&rd);
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    if (data[0] % 2 == 0) body_mode(data + 1, size - 1);
    else file_mode(data + 1, size - 1);
    return 0;
}
#else
/* Seeds: one segment with a record of every op, the same cut short, and
 * each record's body on its own. */
static void put(const char *dir, const char *name, uint8_t mode, const uint8_t *p, size_t n) {
    char fp[512];
    snprintf(fp, sizeof(fp), "%s/%s", dir, name);
    FILE *f = fopen(fp, "wb");
    if (!f) exit(1);
    fputc(mode, f);
    fwrite(p, 1, n, f);
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    wal_rec recs[] = {
        {.seq = 1, .op = WALF_SET, .db = 0, .expire_ms = -1, .key = "k", .klen = 1, .val = "v", .vlen = 1},
        {.seq = 2, .op = WALF_SET, .db = 3, .flags = 2, .expire_ms = 1800000000000LL, .key = "key:1", .klen = 5,
         .val = "12345", .vlen = 5},
        {.seq = 3, .op = WALF_DEL, .db = 1, .key = "k", .klen = 1},
        {.seq = 4, .op = WALF_EXPIRE, .db = 0, .expire_ms = -1, .key = "key:1", .klen = 5},
        {.seq = 5, .op = WALF_SETRANGE, .db = 0, .offset = 7, .key = "k", .klen = 1, .val = "abc", .vlen = 3},
        {.seq = 6, .op = WALF_FLUSHDB, .db = 2},
        {.seq = 7, .op = WALF_FLUSHALL},
        {.seq = 8, .op = WALF_SWAPDB, .db = 0, .db2 = 1},
        {.seq = 9, .op = WALF_SNAP_BEGIN},
        {.seq = 10, .op = WALF_SNAP_END},
    };
    size_t nrec = sizeof(recs) / sizeof(recs[0]);
    uint8_t seg[4096];
    walf_header_encode(seg, 1);
    size_t off = WALF_HEADER_SIZE;
    for (size_t i = 0; i < nrec; i++) {
        size_t n = walf_encode(seg + off, &recs[i]);
        char name[32];
        snprintf(name, sizeof(name), "body-%zu", i);
        put(argv[1], name, 0, seg + off + WALF_REC_HDR, n - WALF_REC_HDR);
        off += n;
    }
    put(argv[1], "segment", 1, seg, off);
    put(argv[1], "segment-torn", 1, seg, off - 5);
    put(argv[1], "header-only", 1, seg, WALF_HEADER_SIZE);
    return 0;
}
#endif
