/* wal_format.c: encoding and verified reading of WAL segments. The byte
 * layout is specified in docs/wal_format.md; this file is its only
 * implementation (the server, strata-check and the tests share it). */
#include "wal_format.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

static inline void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t get32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static inline uint64_t get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

const char *walf_op_name(uint8_t op) {
    switch (op) {
    case WALF_SET: return "SET";
    case WALF_DEL: return "DEL";
    case WALF_EXPIRE: return "EXPIRE";
    case WALF_SETRANGE: return "SETRANGE";
    case WALF_FLUSHDB: return "FLUSHDB";
    case WALF_FLUSHALL: return "FLUSHALL";
    case WALF_SWAPDB: return "SWAPDB";
    case WALF_SNAP_BEGIN: return "SNAPSHOT-BEGIN";
    case WALF_SNAP_END: return "SNAPSHOT-END";
    }
    return "?";
}

static size_t body_size(const wal_rec *r) {
    size_t n = 8 + 1;
    switch (r->op) {
    case WALF_SET: return n + 4 + 1 + 8 + 4 + r->klen + 4 + r->vlen;
    case WALF_DEL: return n + 4 + 4 + r->klen;
    case WALF_EXPIRE: return n + 4 + 8 + 4 + r->klen;
    case WALF_SETRANGE: return n + 4 + 8 + 4 + r->klen + 4 + r->vlen;
    case WALF_FLUSHDB: return n + 4;
    case WALF_SWAPDB: return n + 8;
    default: return n;
    }
}

/* A length-prefixed byte string (u32 length, bytes): keys, values, data. */
static uint8_t *put_bytes(uint8_t *p, const char *bytes, size_t len) {
    put32(p, (uint32_t)len);
    if (len) memcpy(p + 4, bytes, len);
    return p + 4 + len;
}

size_t walf_encoded_size(const wal_rec *r) { return WALF_REC_HDR + body_size(r); }

size_t walf_encode(uint8_t *out, const wal_rec *r) {
    size_t blen = body_size(r);
    uint8_t *b = out + WALF_REC_HDR, *p = b;
    put64(p, r->seq); p += 8;
    *p++ = r->op;
    switch (r->op) {
    case WALF_SET:
        put32(p, r->db); p += 4;
        *p++ = r->flags;
        put64(p, (uint64_t)r->expire_ms); p += 8;
        p = put_bytes(p, r->key, r->klen);
        p = put_bytes(p, r->val, r->vlen);
        break;
    case WALF_DEL:
        put32(p, r->db); p += 4;
        p = put_bytes(p, r->key, r->klen);
        break;
    case WALF_EXPIRE:
        put32(p, r->db); p += 4;
        put64(p, (uint64_t)r->expire_ms); p += 8;
        p = put_bytes(p, r->key, r->klen);
        break;
    case WALF_SETRANGE:
        put32(p, r->db); p += 4;
        put64(p, r->offset); p += 8;
        p = put_bytes(p, r->key, r->klen);
        p = put_bytes(p, r->val, r->vlen);
        break;
    case WALF_FLUSHDB:
        put32(p, r->db); p += 4;
        break;
    case WALF_SWAPDB:
        put32(p, r->db); p += 4;
        put32(p, r->db2); p += 4;
        break;
    default:
        break;
    }
    put32(out, (uint32_t)blen);
    put32(out + 4, (uint32_t)XXH3_64bits(out, 4));
    put64(out + 8, XXH3_64bits(b, blen));
    return WALF_REC_HDR + blen;
}

/* Bounds-checked field reads over the body. */
typedef struct cur {
    const uint8_t *p, *end;
    bool ok;
} cur;

static uint64_t c64(cur *c) {
    if (c->end - c->p < 8) { c->ok = false; return 0; }
    uint64_t v = get64(c->p);
    c->p += 8;
    return v;
}
static uint32_t c32(cur *c) {
    if (c->end - c->p < 4) { c->ok = false; return 0; }
    uint32_t v = get32(c->p);
    c->p += 4;
    return v;
}
static uint8_t c8(cur *c) {
    if (c->end - c->p < 1) { c->ok = false; return 0; }
    return *c->p++;
}
static const char *cbytes(cur *c, size_t *len) {
    size_t n = c32(c);
    if (!c->ok || (size_t)(c->end - c->p) < n) { c->ok = false; return NULL; }
    const char *s = (const char *)c->p;
    c->p += n;
    *len = n;
    return s;
}

bool walf_decode_body(const uint8_t *body, size_t len, wal_rec *r) {
    memset(r, 0, sizeof(*r));
    cur c = {body, body + len, true};
    r->seq = c64(&c);
    r->op = c8(&c);
    switch (r->op) {
    case WALF_SET:
        r->db = c32(&c);
        r->flags = c8(&c);
        r->expire_ms = (int64_t)c64(&c);
        r->key = cbytes(&c, &r->klen);
        r->val = cbytes(&c, &r->vlen);
        break;
    case WALF_DEL:
        r->db = c32(&c);
        r->key = cbytes(&c, &r->klen);
        break;
    case WALF_EXPIRE:
        r->db = c32(&c);
        r->expire_ms = (int64_t)c64(&c);
        r->key = cbytes(&c, &r->klen);
        break;
    case WALF_SETRANGE:
        r->db = c32(&c);
        r->offset = c64(&c);
        r->key = cbytes(&c, &r->klen);
        r->val = cbytes(&c, &r->vlen);
        break;
    case WALF_FLUSHDB:
        r->db = c32(&c);
        break;
    case WALF_SWAPDB:
        r->db = c32(&c);
        r->db2 = c32(&c);
        break;
    case WALF_FLUSHALL:
    case WALF_SNAP_BEGIN:
    case WALF_SNAP_END:
        break;
    default:
        return false;
    }
    return c.ok && c.p == c.end;
}

void walf_header_encode(uint8_t out[WALF_HEADER_SIZE], uint64_t start_seq) {
    memcpy(out, WALF_MAGIC, 8);
    put32(out + 8, WALF_VERSION);
    put32(out + 12, 0);
    put64(out + 16, start_seq);
    put64(out + 24, XXH3_64bits(out, 24));
}

void walf_segment_name(char *out, size_t cap, uint64_t start_seq) {
    snprintf(out, cap, "%020" PRIu64 ".wal", start_seq);
}

bool walf_parse_segment_name(const char *name, uint64_t *start_seq) {
    if (strlen(name) != 24 || strcmp(name + 20, ".wal") != 0) return false;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') return false;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *start_seq = v;
    return true;
}

/* ---- reader ----------------------------------------------------------- */

enum walf_status walf_open(walf_reader *r, const char *path) {
    memset(r, 0, sizeof(*r));
    snprintf(r->path, sizeof(r->path), "%s", path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(r->err, sizeof(r->err), "open: %s", strerror(errno));
        return WALF_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(r->err, sizeof(r->err), "fstat: %s", strerror(errno));
        close(fd);
        return WALF_IO;
    }
    r->size = (size_t)st.st_size;
    if (r->size) {
        void *m = mmap(NULL, r->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            snprintf(r->err, sizeof(r->err), "mmap: %s", strerror(errno));
            close(fd);
            return WALF_IO;
        }
        r->map = m;
    }
    close(fd);
    if (r->size < WALF_HEADER_SIZE) {
        snprintf(r->err, sizeof(r->err), "file shorter than its header (%zu bytes)", r->size);
        return WALF_TORN;
    }
    const uint8_t *h = r->map;
    if (memcmp(h, WALF_MAGIC, 8) != 0) {
        snprintf(r->err, sizeof(r->err), "bad magic (not a strata WAL segment)");
        return WALF_CORRUPT;
    }
    if (get64(h + 24) != XXH3_64bits(h, 24)) {
        snprintf(r->err, sizeof(r->err), "header checksum mismatch");
        return WALF_CORRUPT;
    }
    if (get32(h + 8) != WALF_VERSION) {
        snprintf(r->err, sizeof(r->err), "unsupported version %u", get32(h + 8));
        return WALF_CORRUPT;
    }
    r->start_seq = get64(h + 16);
    r->have_header = true;
    r->off = WALF_HEADER_SIZE;
    return WALF_OK;
}

static bool all_zero(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

enum walf_status walf_next(walf_reader *r, wal_rec *rec) {
    if (!r->have_header) return WALF_IO;
    size_t left = r->size - r->off;
    if (left == 0) return WALF_END;
    const uint8_t *p = r->map + r->off;
    /* A tail of zeros: space the file system allocated for a write that
     * never landed (seen after power loss on some file systems). */
    if (all_zero(p, left)) {
        snprintf(r->err, sizeof(r->err), "%zu zero bytes at the end", left);
        return WALF_TORN;
    }
    if (left < WALF_REC_HDR) {
        snprintf(r->err, sizeof(r->err), "incomplete record header (%zu of %d bytes)", left, WALF_REC_HDR);
        return WALF_TORN;
    }
    uint32_t len = get32(p);
    if (get32(p + 4) != (uint32_t)XXH3_64bits(p, 4)) {
        snprintf(r->err, sizeof(r->err), "record length checksum mismatch");
        return WALF_CORRUPT;
    }
    if (len < 9 || len > WALF_MAX_BODY) {
        snprintf(r->err, sizeof(r->err), "impossible record length %u", len);
        return WALF_CORRUPT;
    }
    if (left - WALF_REC_HDR < len) {
        snprintf(r->err, sizeof(r->err), "incomplete record (%zu of %u body bytes)", left - WALF_REC_HDR,
                 len);
        return WALF_TORN;
    }
    const uint8_t *body = p + WALF_REC_HDR;
    if (get64(p + 8) != XXH3_64bits(body, len)) {
        snprintf(r->err, sizeof(r->err), "record checksum mismatch");
        return WALF_CORRUPT;
    }
    if (!walf_decode_body(body, len, rec)) {
        snprintf(r->err, sizeof(r->err), "malformed record body (op %u)", body[8]);
        return WALF_CORRUPT;
    }
    r->off += WALF_REC_HDR + len;
    return WALF_OK;
}

void walf_close(walf_reader *r) {
    if (r->map) munmap((void *)r->map, r->size);
    r->map = NULL;
}
