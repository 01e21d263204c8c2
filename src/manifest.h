/* manifest.h: the LSM engine's MANIFEST (docs/manifest_format.md): one
 * file, <dir>/MANIFEST, holding a complete snapshot of the engine's durable
 * state -- the SSTables per level with their key ranges and sizes, the next
 * file number, durable_seq, and the logical -> physical database map.
 *
 * Every change rewrites the whole snapshot atomically: write
 * MANIFEST.tmp, fsync it, rename over MANIFEST, fsync the directory. A
 * crash leaves either the old or the new snapshot, never a mix. The whole
 * file is covered by one XXH3-64 checksum; a file that fails it is refused
 * with LSM_CORRUPT and an err naming it.
 * Not thread-safe: the engine serializes writers (lsm.c's edit lock). */
#ifndef STRATA_MANIFEST_H
#define STRATA_MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lsm.h"

#define MANIFEST_NAME "MANIFEST"
#define MANIFEST_TMP_NAME "MANIFEST.tmp"
#define MANIFEST_MAGIC 0x31464e414d727473ULL /* bytes "strMANF1" on disk */
#define MANIFEST_VERSION 1
#define MANIFEST_LEVELS 7 /* levels 0..6 */

typedef struct manifest_file {
    int level;
    uint64_t number;   /* the file is <dir>/<number, 6+ digits>.sst */
    uint64_t size, entries;
    uint32_t smallest_db, largest_db;
    char *smallest, *largest;
    size_t smallest_len, largest_len;
} manifest_file;

typedef struct manifest {
    uint64_t next_file;   /* number the next new SSTable gets */
    uint64_t durable_seq; /* see lsm_durable_seq() */
    uint64_t db_edit_seq; /* seq of the last FLUSHDB/FLUSHALL/SWAPDB edit */
    uint32_t next_phys;   /* physical db id the next FLUSHDB hands out */
    int ndbs;
    uint32_t *phys;       /* [ndbs]: logical -> physical */
    size_t nfiles;
    manifest_file *files;
} manifest;

/* Writes m as <dir>/MANIFEST atomically (see above). */
enum lsm_status manifest_write(const char *dir, const manifest *m, char *err, size_t errlen);
/* Reads and checks a MANIFEST file into *m (allocated; manifest_free).
 * LSM_NOTFOUND if the file does not exist. */
enum lsm_status manifest_read(const char *path, manifest *m, char *err, size_t errlen);
/* Frees what manifest_read allocated. */
void manifest_free(manifest *m);
void manifest_dump(const manifest *m, FILE *f);
/* "<dir>/<number>.sst" into out. */
void manifest_sst_path(char *out, size_t outlen, const char *dir, uint64_t number);

#endif
