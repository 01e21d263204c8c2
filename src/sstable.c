/* sstable.c: SSTable writer, reader and iterator. The byte layout is
 * specified in docs/sstable_format.md; the contract is sstable.h.
 *
 * Invariants:
 *  1. Records in a file are in strictly ascending (db, key) order, so one
 *     key has at most one record per file.
 *  2. Index entry i holds the last key of data block i; the first block
 *     whose last key is >= k is the only block that can hold k.
 *  3. Nothing read from disk is interpreted before its checksum is checked
 *     (footer, then each block's trailer). */
#include "sstable.h"

#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "bloom.h"
#include "fault.h"
#include "lsm_coding.h"

enum { BLK_RAW = 0, BLK_LZ4 = 1 };

int sst_fault_errno;
#define SST_MAX_RAW_BLOCK (1u << 30) /* refuse absurd raw lengths */
#define REC_TOMBSTONE 1
#define REC_EXPIRE 2

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen,
                                                         const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- byte buffers ---- */

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
} buf;

static int buf_reserve(buf *b, size_t more) {
    if (b->len + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p) return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}
static int buf_put(buf *b, const void *p, size_t n) {
    if (buf_reserve(b, n)) return -1;
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}
static int buf_varint(buf *b, uint64_t v) {
    if (buf_reserve(b, 10)) return -1;
    b->len += enc_varint(b->p + b->len, v);
    return 0;
}

/* ---- records ---- */

static int enc_rec(buf *b, const lsm_rec *r) {
    unsigned char kind = (r->tombstone ? REC_TOMBSTONE : 0) | (r->expire_ms >= 0 ? REC_EXPIRE : 0);
    size_t vlen = r->tombstone ? 0 : r->vlen;
    if (buf_varint(b, r->db) || buf_varint(b, r->klen) || buf_varint(b, vlen) ||
        buf_varint(b, r->seq) || buf_reserve(b, 10))
        return -1;
    b->p[b->len++] = kind;
    b->p[b->len++] = r->flags;
    if (kind & REC_EXPIRE) {
        if (buf_reserve(b, 8)) return -1;
        enc_u64(b->p + b->len, (uint64_t)r->expire_ms);
        b->len += 8;
    }
    if (buf_put(b, r->key, r->klen) || buf_put(b, r->val, vlen)) return -1;
    return 0;
}

/* Decodes one record from [*p, end); 0 if malformed. */
static int dec_rec(const unsigned char **p, const unsigned char *end, lsm_rec *r) {
    uint64_t db, klen, vlen, seq;
    if (!dec_varint(p, end, &db) || !dec_varint(p, end, &klen) || !dec_varint(p, end, &vlen) ||
        !dec_varint(p, end, &seq) || db > UINT32_MAX || end - *p < 2)
        return 0;
    unsigned char kind = *(*p)++;
    r->flags = *(*p)++;
    if (kind & ~(REC_TOMBSTONE | REC_EXPIRE)) return 0;
    r->expire_ms = -1;
    if (kind & REC_EXPIRE) {
        if (end - *p < 8) return 0;
        r->expire_ms = (int64_t)dec_u64(*p);
        *p += 8;
    }
    if ((uint64_t)(end - *p) < klen || (uint64_t)(end - *p) - klen < vlen) return 0;
    r->db = (uint32_t)db;
    r->seq = seq;
    r->tombstone = kind & REC_TOMBSTONE;
    r->key = (const char *)*p;
    r->klen = klen;
    *p += klen;
    r->val = r->tombstone ? NULL : (const char *)*p;
    r->vlen = vlen;
    *p += vlen;
    return 1;
}

static int dec_key(const unsigned char **p, const unsigned char *end, uint32_t *db,
                   const char **key, size_t *klen) {
    uint64_t d, n;
    if (!dec_varint(p, end, &d) || !dec_varint(p, end, &n) || d > UINT32_MAX ||
        (uint64_t)(end - *p) < n)
        return 0;
    *db = (uint32_t)d;
    *key = (const char *)*p;
    *klen = n;
    *p += n;
    return 1;
}

/* ---- writer ---- */

struct sst_writer {
    int fd;
    char *path;
    size_t block_size;
    int bloom_bits;
    uint64_t off;
    buf block;         /* raw records of the block being filled */
    buf index;         /* encoded index entries */
    uint64_t nindex;
    uint64_t *hashes;
    size_t nhashes, hashcap;
    buf last;          /* last key added (for order and the index) */
    uint32_t last_db;
    sst_props props;
    bool any;
};

static enum lsm_status write_all(sst_writer *w, const void *p, size_t n, char *err,
                                 size_t errlen) {
    const char *c = p;
    while (n) {
        int fault = __atomic_load_n(&sst_fault_errno, __ATOMIC_RELAXED);
        ssize_t k = fault ? (errno = fault, -1) : write(w->fd, c, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            seterr(err, errlen, "%s: write: %s", w->path, strerror(errno));
            return LSM_IO;
        }
        c += k;
        n -= (size_t)k;
        w->off += (uint64_t)k;
    }
    return LSM_OK;
}

/* Writes payload + trailer; *off and *size receive the block handle. */
static enum lsm_status write_block(sst_writer *w, const unsigned char *raw, size_t rawlen,
                                   bool compress, uint64_t *off, uint64_t *size, char *err,
                                   size_t errlen) {
    size_t cap = (compress ? (size_t)LZ4_compressBound((int)rawlen) : rawlen) + SST_TRAILER_SIZE;
    unsigned char *out = malloc(cap ? cap : 1);
    if (!out) return LSM_NOMEM;
    size_t plen = rawlen;
    unsigned char type = BLK_RAW;
    if (compress && rawlen > 0) {
        int c = LZ4_compress_default((const char *)raw, (char *)out, (int)rawlen,
                                     LZ4_compressBound((int)rawlen));
        /* Keep lz4 only when it saves at least 1/8: otherwise the
         * decompression on every read buys nothing. */
        if (c > 0 && (size_t)c < rawlen - rawlen / 8) {
            plen = (size_t)c;
            type = BLK_LZ4;
        }
    }
    if (type == BLK_RAW && rawlen) memcpy(out, raw, rawlen);
    out[plen] = type;
    enc_u32(out + plen + 1, (uint32_t)rawlen);
    enc_u64(out + plen + 5, XXH3_64bits(out, plen + 5));
    *off = w->off;
    *size = plen;
    enum lsm_status st = write_all(w, out, plen + SST_TRAILER_SIZE, err, errlen);
    free(out);
    return st;
}

enum lsm_status sst_writer_open(const char *path, size_t block_size, int bloom_bits_per_key,
                                sst_writer **out, char *err, size_t errlen) {
    sst_writer *w = calloc(1, sizeof(*w));
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return LSM_NOMEM;
    }
    w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        seterr(err, errlen, "%s: open: %s", path, strerror(errno));
        free(w->path);
        free(w);
        return LSM_IO;
    }
    w->block_size = block_size ? block_size : 4096;
    w->bloom_bits = bloom_bits_per_key > 0 ? bloom_bits_per_key : 10;
    w->props.min_seq = UINT64_MAX;
    *out = w;
    return LSM_OK;
}

static enum lsm_status flush_data_block(sst_writer *w, char *err, size_t errlen) {
    if (!w->block.len) return LSM_OK;
    uint64_t off, size;
    enum lsm_status st = write_block(w, w->block.p, w->block.len, true, &off, &size, err, errlen);
    if (st) return st;
    w->props.data_blocks++;
    w->props.raw_bytes += w->block.len;
    if (buf_varint(&w->index, w->last_db) || buf_varint(&w->index, w->last.len) ||
        buf_put(&w->index, w->last.p, w->last.len) || buf_varint(&w->index, off) ||
        buf_varint(&w->index, size))
        return LSM_NOMEM;
    w->nindex++;
    w->block.len = 0;
    return LSM_OK;
}

enum lsm_status sst_writer_add(sst_writer *w, const lsm_rec *r, char *err, size_t errlen) {
    if (w->any &&
        lsm_key_cmp(w->last_db, (const char *)w->last.p, w->last.len, r->db, r->key, r->klen) >= 0) {
        seterr(err, errlen, "%s: records out of order", w->path);
        return LSM_INVALID;
    }
    if (!w->any) {
        w->props.smallest_db = r->db;
        w->props.smallest = malloc(r->klen ? r->klen : 1);
        if (!w->props.smallest) return LSM_NOMEM;
        if (r->klen) memcpy(w->props.smallest, r->key, r->klen);
        w->props.smallest_len = r->klen;
    }
    if (enc_rec(&w->block, r)) return LSM_NOMEM;
    w->last.len = 0;
    if (buf_put(&w->last, r->key, r->klen)) return LSM_NOMEM;
    w->last_db = r->db;
    w->any = true;
    if (w->nhashes == w->hashcap) {
        size_t cap = w->hashcap ? w->hashcap * 2 : 1024;
        uint64_t *h = realloc(w->hashes, cap * sizeof(*h));
        if (!h) return LSM_NOMEM;
        w->hashes = h;
        w->hashcap = cap;
    }
    w->hashes[w->nhashes++] = bloom_hash(r->db, r->key, r->klen);
    w->props.entries++;
    if (r->tombstone) w->props.tombstones++;
    if (r->seq < w->props.min_seq) w->props.min_seq = r->seq;
    if (r->seq > w->props.max_seq) w->props.max_seq = r->seq;
    if (w->block.len >= w->block_size) return flush_data_block(w, err, errlen);
    return LSM_OK;
}

uint64_t sst_writer_entries(const sst_writer *w) { return w->props.entries; }
uint64_t sst_writer_file_bytes(const sst_writer *w) { return w->off + w->block.len; }

static void writer_free(sst_writer *w) {
    free(w->block.p);
    free(w->index.p);
    free(w->hashes);
    free(w->last.p);
    sst_props_free(&w->props);
    free(w->path);
    free(w);
}

void sst_writer_abort(sst_writer *w) {
    if (!w) return;
    int e = errno; /* callers report the errno of the failure, not of this */
    if (w->fd >= 0) close(w->fd);
    unlink(w->path);
    writer_free(w);
    errno = e;
}

enum lsm_status sst_writer_finish(sst_writer *w, sst_props *props, char *err, size_t errlen) {
    enum lsm_status st = flush_data_block(w, err, errlen);
    uint64_t h[6] = {0};
    buf meta = {0};
    if (st) goto fail;
    /* Index: count, then the entries. */
    if (buf_varint(&meta, w->nindex) || buf_put(&meta, w->index.p, w->index.len)) {
        st = LSM_NOMEM;
        goto fail;
    }
    if ((st = write_block(w, meta.p, meta.len, false, &h[0], &h[1], err, errlen))) goto fail;
    /* Bloom. */
    meta.len = 0;
    size_t blen = bloom_encoded_size(w->nhashes, w->bloom_bits);
    if (buf_reserve(&meta, blen)) {
        st = LSM_NOMEM;
        goto fail;
    }
    bloom_build(w->hashes, w->nhashes, w->bloom_bits, meta.p);
    meta.len = blen;
    if ((st = write_block(w, meta.p, meta.len, false, &h[2], &h[3], err, errlen))) goto fail;
    /* Properties. */
    meta.len = 0;
    if (!w->any) w->props.min_seq = 0;
    if (buf_varint(&meta, w->props.entries) || buf_varint(&meta, w->props.tombstones) ||
        buf_varint(&meta, w->props.min_seq) || buf_varint(&meta, w->props.max_seq) ||
        buf_varint(&meta, w->props.data_blocks) || buf_varint(&meta, w->props.raw_bytes) ||
        buf_varint(&meta, w->props.smallest_db) || buf_varint(&meta, w->props.smallest_len) ||
        buf_put(&meta, w->props.smallest, w->props.smallest_len) ||
        buf_varint(&meta, w->last_db) || buf_varint(&meta, w->last.len) ||
        buf_put(&meta, w->last.p, w->last.len)) {
        st = LSM_NOMEM;
        goto fail;
    }
    if ((st = write_block(w, meta.p, meta.len, false, &h[4], &h[5], err, errlen))) goto fail;
    unsigned char foot[SST_FOOTER_SIZE];
    for (int i = 0; i < 6; i++) enc_u64(foot + 8 * i, h[i]);
    enc_u32(foot + 48, SST_VERSION);
    enc_u32(foot + 52, 0);
    enc_u64(foot + 56, XXH3_64bits(foot, 56));
    enc_u64(foot + 64, SST_MAGIC);
    if ((st = write_all(w, foot, sizeof(foot), err, errlen))) goto fail;
    if (fault_fsync(FAULT_SYNC_SST, w->fd) != 0) {
        seterr(err, errlen, "%s: fsync: %s", w->path, strerror(errno));
        st = LSM_IO;
        goto fail;
    }
    if (close(w->fd) != 0) {
        w->fd = -1;
        seterr(err, errlen, "%s: close: %s", w->path, strerror(errno));
        st = LSM_IO;
        goto fail;
    }
    w->fd = -1;
    free(meta.p);
    if (props) {
        *props = w->props;
        props->file_size = w->off;
        props->largest_db = w->last_db;
        props->largest = malloc(w->last.len ? w->last.len : 1);
        if (w->last.len && props->largest) memcpy(props->largest, w->last.p, w->last.len);
        props->largest_len = w->last.len;
        if (!props->largest) props->largest_len = 0;
        w->props.smallest = NULL; /* moved to *props */
    }
    writer_free(w);
    return LSM_OK;
fail:
    free(meta.p);
    sst_writer_abort(w);
    return st;
}

void sst_props_free(sst_props *p) {
    free(p->smallest);
    free(p->largest);
    p->smallest = p->largest = NULL;
}

/* ---- reader ---- */

typedef struct idx_ent {
    uint32_t db;
    const char *key;
    size_t klen;
    uint64_t off, size;
} idx_ent;

struct sst {
    int fd;
    char *path;
    uint64_t size;
    uint64_t data_end; /* first byte after the last data block */
    unsigned char *index_raw, *bloom, *props_raw;
    size_t bloom_len;
    idx_ent *idx;
    size_t nidx;
    sst_props props;
};

/* Reads the block at (off, size), checks its trailer; *raw is malloc'ed. */
static enum lsm_status read_block(const sst *t, uint64_t off, uint64_t size, unsigned char **raw,
                                  size_t *rawlen, char *err, size_t errlen) {
    if (off > t->size || size > t->size - off || t->size - off - size < SST_TRAILER_SIZE) {
        seterr(err, errlen, "%s: block handle out of range at offset %llu", t->path,
               (unsigned long long)off);
        return LSM_CORRUPT;
    }
    size_t n = (size_t)size + SST_TRAILER_SIZE;
    unsigned char *p = malloc(n);
    if (!p) return LSM_NOMEM;
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(t->fd, p + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            if (k < 0) seterr(err, errlen, "%s: pread: %s", t->path, strerror(errno));
            else seterr(err, errlen, "%s: short read at offset %llu", t->path,
                        (unsigned long long)off);
            free(p);
            return k < 0 ? LSM_IO : LSM_CORRUPT;
        }
        got += (size_t)k;
    }
    if (XXH3_64bits(p, size + 5) != dec_u64(p + size + 5)) {
        seterr(err, errlen, "%s: block checksum mismatch at offset %llu", t->path,
               (unsigned long long)off);
        free(p);
        return LSM_CORRUPT;
    }
    unsigned char type = p[size];
    uint32_t rl = dec_u32(p + size + 1);
    if (type == BLK_RAW && rl == size) {
        *raw = p;
        *rawlen = rl;
        return LSM_OK;
    }
    if (type != BLK_LZ4 || rl > SST_MAX_RAW_BLOCK) {
        seterr(err, errlen, "%s: bad block type %u at offset %llu", t->path, type,
               (unsigned long long)off);
        free(p);
        return LSM_CORRUPT;
    }
    unsigned char *out = malloc(rl ? rl : 1);
    if (!out) {
        free(p);
        return LSM_NOMEM;
    }
    int d = LZ4_decompress_safe((const char *)p, (char *)out, (int)size, (int)rl);
    free(p);
    if (d < 0 || (uint32_t)d != rl) {
        seterr(err, errlen, "%s: lz4 block does not decompress at offset %llu", t->path,
               (unsigned long long)off);
        free(out);
        return LSM_CORRUPT;
    }
    *raw = out;
    *rawlen = rl;
    return LSM_OK;
}

static enum lsm_status parse_meta(sst *t, uint64_t ioff, const unsigned char *ip, size_t ilen,
                                  uint64_t poff, const unsigned char *pp, size_t plen, char *err,
                                  size_t errlen) {
    const unsigned char *p = ip, *end = ip + ilen;
    uint64_t n;
    if (!dec_varint(&p, end, &n) || n > ilen) goto bad_index;
    t->idx = calloc(n ? n : 1, sizeof(*t->idx));
    if (!t->idx) return LSM_NOMEM;
    t->nidx = n;
    for (uint64_t i = 0; i < n; i++) {
        idx_ent *e = &t->idx[i];
        if (!dec_key(&p, end, &e->db, &e->key, &e->klen) || !dec_varint(&p, end, &e->off) ||
            !dec_varint(&p, end, &e->size))
            goto bad_index;
        if (e->off > t->data_end || e->size + SST_TRAILER_SIZE > t->data_end - e->off)
            goto bad_index;
        if (i && lsm_key_cmp(t->idx[i - 1].db, t->idx[i - 1].key, t->idx[i - 1].klen, e->db,
                             e->key, e->klen) >= 0)
            goto bad_index;
    }
    if (p != end) goto bad_index;
    p = pp;
    end = pp + plen;
    sst_props *pr = &t->props;
    const char *k;
    size_t kl;
    if (!dec_varint(&p, end, &pr->entries) || !dec_varint(&p, end, &pr->tombstones) ||
        !dec_varint(&p, end, &pr->min_seq) || !dec_varint(&p, end, &pr->max_seq) ||
        !dec_varint(&p, end, &pr->data_blocks) || !dec_varint(&p, end, &pr->raw_bytes) ||
        !dec_key(&p, end, &pr->smallest_db, &k, &kl))
        goto bad_props;
    pr->smallest = (char *)k;
    pr->smallest_len = kl;
    if (!dec_key(&p, end, &pr->largest_db, &k, &kl) || p != end) goto bad_props;
    pr->largest = (char *)k;
    pr->largest_len = kl;
    pr->file_size = t->size;
    if (pr->data_blocks != t->nidx) goto bad_props;
    return LSM_OK;
bad_index:
    seterr(err, errlen, "%s: malformed index block at offset %llu", t->path,
           (unsigned long long)ioff);
    return LSM_CORRUPT;
bad_props:
    seterr(err, errlen, "%s: malformed properties block at offset %llu", t->path,
           (unsigned long long)poff);
    return LSM_CORRUPT;
}

enum lsm_status sst_open(const char *path, sst **out, char *err, size_t errlen) {
    sst *t = calloc(1, sizeof(*t));
    if (!t || !(t->path = strdup(path))) {
        free(t);
        return LSM_NOMEM;
    }
    enum lsm_status st = LSM_OK;
    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (t->fd < 0 || fstat(t->fd, &sb) != 0) {
        seterr(err, errlen, "%s: open: %s", path, strerror(errno));
        st = errno == ENOENT ? LSM_CORRUPT : LSM_IO;
        goto fail;
    }
    t->size = (uint64_t)sb.st_size;
    unsigned char foot[SST_FOOTER_SIZE];
    if (t->size < SST_FOOTER_SIZE ||
        pread(t->fd, foot, sizeof(foot), (off_t)(t->size - SST_FOOTER_SIZE)) !=
            (ssize_t)sizeof(foot)) {
        seterr(err, errlen, "%s: file too short for a footer (%llu bytes)", path,
               (unsigned long long)t->size);
        st = LSM_CORRUPT;
        goto fail;
    }
    uint64_t foot_off = t->size - SST_FOOTER_SIZE;
    if (dec_u64(foot + 64) != SST_MAGIC) {
        seterr(err, errlen, "%s: bad magic in footer at offset %llu", path,
               (unsigned long long)foot_off);
        st = LSM_CORRUPT;
        goto fail;
    }
    if (XXH3_64bits(foot, 56) != dec_u64(foot + 56)) {
        seterr(err, errlen, "%s: footer checksum mismatch at offset %llu", path,
               (unsigned long long)foot_off);
        st = LSM_CORRUPT;
        goto fail;
    }
    if (dec_u32(foot + 48) != SST_VERSION) {
        seterr(err, errlen, "%s: unsupported version %u at offset %llu", path,
               dec_u32(foot + 48), (unsigned long long)foot_off);
        st = LSM_CORRUPT;
        goto fail;
    }
    uint64_t h[6];
    for (int i = 0; i < 6; i++) h[i] = dec_u64(foot + 8 * i);
    t->data_end = h[0];
    t->size = foot_off; /* blocks must lie before the footer */
    size_t ilen, blen, plen;
    if ((st = read_block(t, h[0], h[1], &t->index_raw, &ilen, err, errlen)) ||
        (st = read_block(t, h[2], h[3], &t->bloom, &blen, err, errlen)) ||
        (st = read_block(t, h[4], h[5], &t->props_raw, &plen, err, errlen)))
        goto fail;
    t->bloom_len = blen;
    t->size = (uint64_t)sb.st_size;
    if ((st = parse_meta(t, h[0], t->index_raw, ilen, h[4], t->props_raw, plen, err, errlen)))
        goto fail;
    *out = t;
    return LSM_OK;
fail:
    t->props.smallest = t->props.largest = NULL; /* point into props_raw */
    sst_close(t);
    return st;
}

void sst_close(sst *t) {
    if (!t) return;
    if (t->fd >= 0) close(t->fd);
    free(t->index_raw);
    free(t->bloom);
    free(t->props_raw);
    free(t->idx);
    free(t->path);
    free(t);
}

const sst_props *sst_get_props(const sst *t) { return &t->props; }
const char *sst_path(const sst *t) { return t->path; }

/* First block whose last key is >= (db, key), or nidx. */
static size_t find_block(const sst *t, uint32_t db, const char *key, size_t klen) {
    size_t lo = 0, hi = t->nidx;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const idx_ent *e = &t->idx[mid];
        if (lsm_key_cmp(e->db, e->key, e->klen, db, key, klen) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

enum lsm_status sst_get(sst *t, uint32_t db, const char *key, size_t klen, uint64_t hash,
                        lsm_rec *out, char **val, uint64_t *bloom_negatives,
                        uint64_t *block_reads, char *err, size_t errlen) {
    if (!bloom_may_contain(t->bloom, t->bloom_len, hash)) {
        if (bloom_negatives) __atomic_add_fetch(bloom_negatives, 1, __ATOMIC_RELAXED);
        return LSM_NOTFOUND;
    }
    size_t b = find_block(t, db, key, klen);
    if (b == t->nidx) return LSM_NOTFOUND;
    unsigned char *raw;
    size_t rawlen;
    if (block_reads) __atomic_add_fetch(block_reads, 1, __ATOMIC_RELAXED);
    enum lsm_status st = read_block(t, t->idx[b].off, t->idx[b].size, &raw, &rawlen, err, errlen);
    if (st) return st;
    const unsigned char *p = raw, *end = raw + rawlen;
    st = LSM_NOTFOUND;
    while (p < end) {
        lsm_rec r;
        if (!dec_rec(&p, end, &r)) {
            seterr(err, errlen, "%s: malformed record in block at offset %llu", t->path,
                   (unsigned long long)t->idx[b].off);
            st = LSM_CORRUPT;
            break;
        }
        int c = lsm_key_cmp(r.db, r.key, r.klen, db, key, klen);
        if (c < 0) continue;
        if (c > 0) break;
        *out = r;
        out->key = key;
        if (!r.tombstone) {
            char *v = malloc(r.vlen ? r.vlen : 1);
            if (!v) {
                st = LSM_NOMEM;
                break;
            }
            if (r.vlen) memcpy(v, r.val, r.vlen);
            *val = v;
            out->val = v;
        }
        st = LSM_OK;
        break;
    }
    free(raw);
    return st;
}

/* ---- iterator ---- */

struct sst_iter {
    sst *t;
    size_t blk;               /* index of the loaded block */
    unsigned char *raw;
    size_t rawlen;
    const unsigned char *p;   /* next record in raw */
    lsm_rec cur;
    bool valid;
    enum lsm_status st;
    char err[256];
    uint64_t bytes_read;
};

sst_iter *sst_iter_new(sst *t) {
    sst_iter *it = calloc(1, sizeof(*it));
    if (it) it->t = t;
    return it;
}

void sst_iter_free(sst_iter *it) {
    if (!it) return;
    free(it->raw);
    free(it);
}

static bool load_block(sst_iter *it, size_t b) {
    free(it->raw);
    it->raw = NULL;
    it->valid = false;
    if (b >= it->t->nidx) return false;
    it->st = read_block(it->t, it->t->idx[b].off, it->t->idx[b].size, &it->raw, &it->rawlen,
                        it->err, sizeof(it->err));
    if (it->st) return false;
    it->bytes_read += it->t->idx[b].size + SST_TRAILER_SIZE;
    it->blk = b;
    it->p = it->raw;
    return true;
}

/* Decodes the next record, crossing into following blocks as needed. */
static void iter_advance(sst_iter *it) {
    for (;;) {
        if (!it->raw) {
            it->valid = false;
            return;
        }
        const unsigned char *end = it->raw + it->rawlen;
        if (it->p < end) {
            if (!dec_rec(&it->p, end, &it->cur)) {
                snprintf(it->err, sizeof(it->err),
                         "%s: malformed record in block at offset %llu", it->t->path,
                         (unsigned long long)it->t->idx[it->blk].off);
                it->st = LSM_CORRUPT;
                it->valid = false;
                return;
            }
            it->valid = true;
            return;
        }
        if (!load_block(it, it->blk + 1)) return;
    }
}

void sst_iter_first(sst_iter *it) {
    if (it->st) return;
    if (load_block(it, 0)) iter_advance(it);
}

void sst_iter_seek(sst_iter *it, uint32_t db, const char *key, size_t klen) {
    if (it->st) return;
    if (!load_block(it, find_block(it->t, db, key, klen))) return;
    for (iter_advance(it); it->valid; iter_advance(it))
        if (lsm_key_cmp(it->cur.db, it->cur.key, it->cur.klen, db, key, klen) >= 0) return;
}

bool sst_iter_valid(const sst_iter *it) { return it->valid; }
void sst_iter_next(sst_iter *it) {
    if (it->valid) iter_advance(it);
}
const lsm_rec *sst_iter_rec(const sst_iter *it) { return &it->cur; }
enum lsm_status sst_iter_status(const sst_iter *it, char *err, size_t errlen) {
    if (it->st) seterr(err, errlen, "%s", it->err);
    return it->st;
}
uint64_t sst_iter_bytes_read(const sst_iter *it) { return it->bytes_read; }

/* ---- verification ---- */

static void dump_bytes(FILE *f, const char *p, size_t n) {
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (i == 256) {
            fprintf(f, "...(%zu bytes)", n);
            break;
        }
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') fputc(c, f);
        else fprintf(f, "\\x%02x", c);
    }
    fputc('"', f);
}

enum lsm_status sst_verify(const char *path, FILE *dump, char *err, size_t errlen) {
    sst *t;
    enum lsm_status st = sst_open(path, &t, err, errlen);
    if (st) return st;
    const sst_props *pr = &t->props;
    if (dump) {
        fprintf(dump, "# %s: %llu bytes, %llu entries, %llu tombstones, %llu blocks, "
                      "raw %llu bytes, seq %llu..%llu\n",
                path, (unsigned long long)pr->file_size, (unsigned long long)pr->entries,
                (unsigned long long)pr->tombstones, (unsigned long long)pr->data_blocks,
                (unsigned long long)pr->raw_bytes, (unsigned long long)pr->min_seq,
                (unsigned long long)pr->max_seq);
    }
    sst_iter *it = sst_iter_new(t);
    if (!it) {
        sst_close(t);
        return LSM_NOMEM;
    }
    uint64_t n = 0, tomb = 0;
    lsm_rec prev = {0};
    char *pk = NULL;
    size_t pkcap = 0;
    for (sst_iter_first(it); sst_iter_valid(it); sst_iter_next(it)) {
        const lsm_rec *r = sst_iter_rec(it);
        if (n && lsm_key_cmp(prev.db, pk, prev.klen, r->db, r->key, r->klen) >= 0) {
            seterr(err, errlen, "%s: records out of order in block at offset %llu", path,
                   (unsigned long long)t->idx[it->blk].off);
            st = LSM_CORRUPT;
            break;
        }
        if (it->p == it->raw + it->rawlen) {
            /* Last record of its block: must be the index key. */
            const idx_ent *e = &t->idx[it->blk];
            if (lsm_key_cmp(e->db, e->key, e->klen, r->db, r->key, r->klen) != 0) {
                seterr(err, errlen, "%s: index key does not match block at offset %llu", path,
                       (unsigned long long)e->off);
                st = LSM_CORRUPT;
                break;
            }
        }
        if (r->klen > pkcap) {
            char *np = realloc(pk, r->klen);
            if (!np) {
                st = LSM_NOMEM;
                break;
            }
            pk = np;
            pkcap = r->klen;
        }
        if (r->klen) memcpy(pk, r->key, r->klen);
        if (n == 0 && lsm_key_cmp(pr->smallest_db, pr->smallest, pr->smallest_len, r->db, r->key,
                                  r->klen) != 0) {
            seterr(err, errlen, "%s: properties smallest key does not match the records", path);
            st = LSM_CORRUPT;
            break;
        }
        prev = *r;
        n++;
        if (r->tombstone) tomb++;
        if (dump) {
            fprintf(dump, "db=%u key=", r->db);
            dump_bytes(dump, r->key, r->klen);
            fprintf(dump, " seq=%llu flags=0x%02x expire_ms=%lld ", (unsigned long long)r->seq,
                    r->flags, (long long)r->expire_ms);
            if (r->tombstone) fprintf(dump, "TOMBSTONE\n");
            else {
                fprintf(dump, "vlen=%zu val=", r->vlen);
                dump_bytes(dump, r->val, r->vlen);
                fputc('\n', dump);
            }
        }
    }
    if (!st && (st = sst_iter_status(it, err, errlen)) == LSM_OK &&
        (n != pr->entries || tomb != pr->tombstones)) {
        seterr(err, errlen, "%s: properties say %llu entries, blocks hold %llu", path,
               (unsigned long long)pr->entries, (unsigned long long)n);
        st = LSM_CORRUPT;
    }
    if (!st && n &&
        lsm_key_cmp(pr->largest_db, pr->largest, pr->largest_len, prev.db, pk, prev.klen)) {
        seterr(err, errlen, "%s: properties largest key does not match the records", path);
        st = LSM_CORRUPT;
    }
    free(pk);
    sst_iter_free(it);
    sst_close(t);
    return st;
}
