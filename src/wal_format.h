/* wal_format.h: the byte layout of write-ahead log segments
 * (docs/wal_format.md): encoding records, and a reader that walks a
 * segment file verifying every checksum.
 *
 * This module does no writing to files and knows nothing of the server:
 * the WAL (wal.c), the write stream (wstream.c), strata-check and the unit
 * tests all use it. Integers are little-endian; checksums are XXH3_64bits.
 *
 * A segment is a 32-byte header followed by records:
 *   header: magic "STRATAWL" | version u32 | reserved u32 | start_seq u64 |
 *           XXH3_64 of the 24 bytes before it
 *   record: len u32 | lcheck u32 | checksum u64 | body (len bytes)
 *     lcheck   = low 32 bits of XXH3_64 of the 4 len bytes
 *     checksum = XXH3_64 of the body
 *     body     = seq u64 | op u8 | op fields
 */
#ifndef STRATA_WAL_FORMAT_H
#define STRATA_WAL_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WALF_MAGIC       "STRATAWL"
#define WALF_VERSION     1u
#define WALF_HEADER_SIZE 32
#define WALF_REC_HDR     16
/* A body longer than this is refused (keys and values are bounded by
 * proto-max-bulk-len, 512 MB by default, far below). */
#define WALF_MAX_BODY    (0xffffffffu - 64)

enum walf_op {
    WALF_SET = 1,       /* db u32 | flags u8 | expire i64 | klen u32 | key | vlen u32 | value */
    WALF_DEL = 2,       /* db u32 | klen u32 | key */
    WALF_EXPIRE = 3,    /* db u32 | expire i64 (-1: persist) | klen u32 | key */
    WALF_SETRANGE = 4,  /* db u32 | offset u64 | klen u32 | key | dlen u32 | data */
    WALF_FLUSHDB = 5,   /* db u32 */
    WALF_FLUSHALL = 6,  /* (nothing) */
    WALF_SWAPDB = 7,    /* a u32 | b u32 */
    WALF_SNAP_BEGIN = 8,/* (nothing): a full snapshot follows; replays as FLUSHALL */
    WALF_SNAP_END = 9,  /* (nothing): the snapshot is complete */
};

/* One decoded (or to-be-encoded) record. Pointers point into the buffer
 * the record was decoded from. Unused fields are zero. */
typedef struct wal_rec {
    uint64_t seq;
    uint8_t op;
    uint8_t flags;          /* SET: KS_RAW / KS_NOINT / KS_UNSHARED */
    uint32_t db, db2;       /* db2: SWAPDB's second db */
    int64_t expire_ms;      /* SET, EXPIRE: absolute unix ms or -1 */
    uint64_t offset;        /* SETRANGE */
    const char *key;
    size_t klen;
    const char *val;        /* SET value, SETRANGE data */
    size_t vlen;
} wal_rec;

const char *walf_op_name(uint8_t op);

/* Bytes the encoded record takes, header included. */
size_t walf_encoded_size(const wal_rec *r);
/* Encode header + body at out (walf_encoded_size(r) bytes); returns that
 * size. */
size_t walf_encode(uint8_t *out, const wal_rec *r);
/* Decode a body whose checksum was verified. false if malformed. */
bool walf_decode_body(const uint8_t *body, size_t len, wal_rec *r);

void walf_header_encode(uint8_t out[WALF_HEADER_SIZE], uint64_t start_seq);

/* Segment file names: "<start_seq as 20 decimal digits>.wal". */
void walf_segment_name(char *out, size_t cap, uint64_t start_seq);
bool walf_parse_segment_name(const char *name, uint64_t *start_seq);

/* ---- reading a segment ----------------------------------------------- */

enum walf_status {
    WALF_OK = 0,        /* a record was returned */
    WALF_END,           /* clean end of the file */
    WALF_TORN,          /* the file ends inside a record (or in zero fill) at `off` */
    WALF_CORRUPT,       /* a checksum or structure check failed at `off` */
    WALF_IO,            /* the file could not be read */
};

typedef struct walf_reader {
    char path[4096];
    const uint8_t *map;     /* the whole file, mapped read-only */
    size_t size;
    size_t off;             /* offset of the next record (of the bad one after TORN/CORRUPT) */
    uint64_t start_seq;     /* from the header */
    bool have_header;
    char err[256];          /* reason after TORN / CORRUPT / IO */
} walf_reader;

/* Open and verify the header. WALF_OK, or WALF_TORN (file shorter than a
 * header: a segment created by a crash before its header reached disk),
 * WALF_CORRUPT (bad magic/version/checksum) or WALF_IO, with r->err.
 * Call walf_close whatever it returned: a failed header check keeps the
 * mapping so the caller can still report on the bytes. */
enum walf_status walf_open(walf_reader *r, const char *path);
/* The next record into *rec (pointers into the mapping, valid until
 * walf_close). */
enum walf_status walf_next(walf_reader *r, wal_rec *rec);
void walf_close(walf_reader *r);

#endif
