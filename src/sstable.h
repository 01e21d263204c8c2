/* sstable.h: one immutable sorted table file (docs/sstable_format.md).
 *
 * A table holds records (lsm_rec, `db` = physical db id) in strictly
 * ascending (db, key) order: lz4-compressed data blocks, a sparse index
 * with one entry per block (the block's last key), a bloom filter over
 * every key, a properties block and a fixed-size footer. Every block ends in
 * a trailer with an XXH3-64 checksum; the footer has its own.
 *
 * Writer: single-threaded; the file is fsynced by sst_writer_finish.
 * Reader: sst_open loads footer, index, bloom and properties (all checked)
 * into memory; afterwards sst_get and iterators may run concurrently from
 * any thread (they use pread on a shared descriptor). The caller keeps the
 * table open while any iterator over it lives.
 * Errors: LSM_CORRUPT with err = "<file>: <what> at offset <n>", LSM_IO
 * with err = "<file>: <call>: <errno text>". `err` may be NULL. */
#ifndef STRATA_SSTABLE_H
#define STRATA_SSTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lsm.h"

#define SST_MAGIC 0x3130545353727473ULL /* bytes "strSST01" on disk */
#define SST_VERSION 1
#define SST_FOOTER_SIZE 72
#define SST_TRAILER_SIZE 13

typedef struct sst sst;
typedef struct sst_writer sst_writer;
typedef struct sst_iter sst_iter;

/* What the properties block says about a table. The key buffers are owned
 * by whoever filled the struct (sst_props_free for sst_writer_finish's). */
typedef struct sst_props {
    uint64_t entries, tombstones;
    uint64_t min_seq, max_seq;
    uint64_t data_blocks, raw_bytes; /* raw_bytes: uncompressed data */
    uint64_t file_size;
    uint32_t smallest_db, largest_db;
    char *smallest, *largest;
    size_t smallest_len, largest_len;
} sst_props;
void sst_props_free(sst_props *p);

enum lsm_status sst_writer_open(const char *path, size_t block_size, int bloom_bits_per_key,
                                sst_writer **out, char *err, size_t errlen);
/* LSM_INVALID if r does not sort strictly after the previous record. */
enum lsm_status sst_writer_add(sst_writer *w, const lsm_rec *r, char *err, size_t errlen);
uint64_t sst_writer_entries(const sst_writer *w);
uint64_t sst_writer_file_bytes(const sst_writer *w); /* bytes written so far */
/* Writes index, bloom, properties and footer, fsyncs and closes; frees w
 * whatever the result (on failure the file is removed). props may be NULL. */
enum lsm_status sst_writer_finish(sst_writer *w, sst_props *props, char *err, size_t errlen);
void sst_writer_abort(sst_writer *w); /* closes, removes the file, frees w */

enum lsm_status sst_open(const char *path, sst **out, char *err, size_t errlen);
void sst_close(sst *t);
const sst_props *sst_get_props(const sst *t);
const char *sst_path(const sst *t);

/* Point read (bloom, index binary search, one block). LSM_OK: *out holds the
 * record (key pointing at the caller's key); unless it is a tombstone,
 * *val is malloc'ed (never NULL, even for an empty value). hash is
 * bloom_hash(db, key, klen). Counters (may be NULL) are incremented. */
enum lsm_status sst_get(sst *t, uint32_t db, const char *key, size_t klen, uint64_t hash,
                        lsm_rec *out, char **val, uint64_t *bloom_negatives,
                        uint64_t *block_reads, char *err, size_t errlen);

/* Iterators read one block at a time. sst_iter_rec's pointers stay valid
 * until the next call that moves the iterator. */
sst_iter *sst_iter_new(sst *t);
void sst_iter_free(sst_iter *it);
void sst_iter_first(sst_iter *it);
void sst_iter_seek(sst_iter *it, uint32_t db, const char *key, size_t klen); /* first >= */
bool sst_iter_valid(const sst_iter *it);
void sst_iter_next(sst_iter *it);
const lsm_rec *sst_iter_rec(const sst_iter *it);
/* LSM_OK, or the error that stopped the iterator (it is then not valid). */
enum lsm_status sst_iter_status(const sst_iter *it, char *err, size_t errlen);
uint64_t sst_iter_bytes_read(const sst_iter *it); /* stored bytes read so far */

/* Test hook: while non-zero, every write of an SSTable writer fails with
 * this errno (disk full, EIO), so tests can drive the engine's error paths.
 * Read and written with __atomic builtins. */
extern int sst_fault_errno;

/* Check every checksum and the record order of a whole file; with dump
 * non-NULL print every record readably. */
enum lsm_status sst_verify(const char *path, FILE *dump, char *err, size_t errlen);

#endif
