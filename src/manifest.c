/* manifest.c: reading and atomically rewriting the MANIFEST snapshot; the
 * byte layout is docs/manifest_format.md, the contract manifest.h. */
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "lsm_coding.h"
#include "fault.h"
#include "log.h"

#define MANIFEST_MAX_BYTES (1u << 30)

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen,
                                                         const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void manifest_sst_path(char *out, size_t outlen, const char *dir, uint64_t number) {
    snprintf(out, outlen, "%s/%06llu.sst", dir, (unsigned long long)number);
}

static size_t encoded_size(const manifest *m) {
    size_t n = 16 + 8 * 3 + 4 + 4 + 4 * (size_t)m->ndbs + 4 + 8;
    for (size_t i = 0; i < m->nfiles; i++)
        n += 4 + 8 * 3 + 8 + m->files[i].smallest_len + 8 + m->files[i].largest_len;
    return n;
}

static unsigned char *put_key(unsigned char *p, uint32_t db, const char *k, size_t len) {
    enc_u32(p, db);
    enc_u32(p + 4, (uint32_t)len);
    if (len) memcpy(p + 8, k, len);
    return p + 8 + len;
}

static int fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fault_fsync(FAULT_SYNC_MANIFEST_DIR, fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

enum lsm_status manifest_write(const char *dir, const manifest *m, char *err, size_t errlen) {
    size_t len = encoded_size(m);
    unsigned char *b = malloc(len), *p = b;
    if (!b) return LSM_NOMEM;
    enc_u64(p, MANIFEST_MAGIC);
    enc_u32(p + 8, MANIFEST_VERSION);
    enc_u32(p + 12, (uint32_t)len);
    p += 16;
    enc_u64(p, m->next_file);
    enc_u64(p + 8, m->durable_seq);
    enc_u64(p + 16, m->db_edit_seq);
    enc_u32(p + 24, m->next_phys);
    enc_u32(p + 28, (uint32_t)m->ndbs);
    p += 32;
    for (int i = 0; i < m->ndbs; i++, p += 4) enc_u32(p, m->phys[i]);
    enc_u32(p, (uint32_t)m->nfiles);
    p += 4;
    for (size_t i = 0; i < m->nfiles; i++) {
        const manifest_file *f = &m->files[i];
        enc_u32(p, (uint32_t)f->level);
        enc_u64(p + 4, f->number);
        enc_u64(p + 12, f->size);
        enc_u64(p + 20, f->entries);
        p = put_key(p + 28, f->smallest_db, f->smallest, f->smallest_len);
        p = put_key(p, f->largest_db, f->largest, f->largest_len);
    }
    enc_u64(p, XXH3_64bits(b, (size_t)(p - b)));

    char tmp[4096], final[4096];
    snprintf(tmp, sizeof(tmp), "%s/%s", dir, MANIFEST_TMP_NAME);
    snprintf(final, sizeof(final), "%s/%s", dir, MANIFEST_NAME);
    enum lsm_status st = LSM_IO;
    const char *what = "open";
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) goto fail;
    what = "write";
    for (size_t off = 0; off < len;) {
        ssize_t k = write(fd, b + off, len - off);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) goto fail;
        off += (size_t)k;
    }
    what = "fsync";
    if (fault_fsync(FAULT_SYNC_MANIFEST, fd) != 0) goto fail;
    what = "close";
    int rc = close(fd);
    fd = -1;
    if (rc != 0) goto fail;
    fault_point(FAULT_AT_MANIFEST);
    what = "rename";
    if (rename(tmp, final) != 0) goto fail;
    /* After the rename the new MANIFEST is the one on disk: a restart after
     * a crash reads it, so the caller must treat the edit as done (and keep
     * the files it names). Reporting a failure here made the caller remove
     * the new SSTable the MANIFEST names, and the next start refused the
     * store ("named by the MANIFEST but missing"). A failed directory fsync
     * only means the rename is not yet known durable against power loss;
     * the next edit's directory fsync covers it. Log it and go on. */
    if (fsync_dir(dir) != 0)
        log_warning("LSM: fsync of the directory %s after the MANIFEST rename failed: %s (the edit stands; "
                    "it is durable against power loss once a later directory fsync succeeds)",
                    dir, strerror(errno));
    free(b);
    return LSM_OK;
fail:
    seterr(err, errlen, "%s: %s: %s", tmp, what, strerror(errno));
    if (fd >= 0) close(fd);
    unlink(tmp);
    free(b);
    return st;
}

static int get_key(const unsigned char **p, const unsigned char *end, uint32_t *db, char **k,
                   size_t *len) {
    if (end - *p < 8) return 0;
    *db = dec_u32(*p);
    uint32_t n = dec_u32(*p + 4);
    *p += 8;
    if ((size_t)(end - *p) < n) return 0;
    *k = malloc(n ? n : 1);
    if (!*k) return 0;
    if (n) memcpy(*k, *p, n);
    *len = n;
    *p += n;
    return 1;
}

enum lsm_status manifest_read(const char *path, manifest *m, char *err, size_t errlen) {
    memset(m, 0, sizeof(*m));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return LSM_NOTFOUND;
        seterr(err, errlen, "%s: open: %s", path, strerror(errno));
        return LSM_IO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        seterr(err, errlen, "%s: fstat: %s", path, strerror(errno));
        close(fd);
        return LSM_IO;
    }
    size_t len = (size_t)sb.st_size;
    if (len < 16 + 32 + 4 + 8 || len > MANIFEST_MAX_BYTES) {
        seterr(err, errlen, "%s: corrupt MANIFEST: bad size %zu", path, len);
        close(fd);
        return LSM_CORRUPT;
    }
    unsigned char *b = malloc(len);
    if (!b) {
        close(fd);
        return LSM_NOMEM;
    }
    ssize_t got = pread(fd, b, len, 0);
    close(fd);
    if (got != (ssize_t)len) {
        seterr(err, errlen, "%s: read: %s", path, got < 0 ? strerror(errno) : "short read");
        free(b);
        return LSM_IO;
    }
    const char *why = NULL;
    size_t at = 0;
    if (dec_u64(b) != MANIFEST_MAGIC) why = "bad magic";
    else if (dec_u32(b + 12) != len) why = "length does not match the file size", at = 12;
    else if (XXH3_64bits(b, len - 8) != dec_u64(b + len - 8)) why = "checksum mismatch", at = len - 8;
    else if (dec_u32(b + 8) != MANIFEST_VERSION) why = "unsupported version", at = 8;
    if (why) goto corrupt;
    const unsigned char *p = b + 16, *end = b + len - 8;
    m->next_file = dec_u64(p);
    m->durable_seq = dec_u64(p + 8);
    m->db_edit_seq = dec_u64(p + 16);
    m->next_phys = dec_u32(p + 24);
    uint32_t ndbs = dec_u32(p + 28);
    p += 32;
    why = "malformed body";
    if ((size_t)(end - p) / 4 < ndbs || ndbs > 1u << 20) goto corrupt;
    m->ndbs = (int)ndbs;
    m->phys = malloc((ndbs ? ndbs : 1) * sizeof(uint32_t));
    if (!m->phys) goto nomem;
    for (uint32_t i = 0; i < ndbs; i++, p += 4) m->phys[i] = dec_u32(p);
    if (end - p < 4) goto corrupt;
    uint32_t nf = dec_u32(p);
    p += 4;
    if ((size_t)(end - p) / 44 < nf) goto corrupt;
    m->files = calloc(nf ? nf : 1, sizeof(*m->files));
    if (!m->files) goto nomem;
    for (uint32_t i = 0; i < nf; i++) {
        manifest_file *f = &m->files[i];
        if (end - p < 28) goto corrupt;
        f->level = (int)dec_u32(p);
        f->number = dec_u64(p + 4);
        f->size = dec_u64(p + 12);
        f->entries = dec_u64(p + 20);
        p += 28;
        m->nfiles = i + 1;
        if (!get_key(&p, end, &f->smallest_db, &f->smallest, &f->smallest_len) ||
            !get_key(&p, end, &f->largest_db, &f->largest, &f->largest_len))
            goto corrupt;
        if (f->level < 0 || f->level >= MANIFEST_LEVELS || f->number >= m->next_file) goto corrupt;
    }
    if (p != end) goto corrupt;
    free(b);
    return LSM_OK;
corrupt:
    seterr(err, errlen, "%s: corrupt MANIFEST: %s (offset %zu)", path, why, at);
    free(b);
    manifest_free(m);
    return LSM_CORRUPT;
nomem:
    free(b);
    manifest_free(m);
    return LSM_NOMEM;
}

void manifest_free(manifest *m) {
    for (size_t i = 0; i < m->nfiles; i++) {
        free(m->files[i].smallest);
        free(m->files[i].largest);
    }
    free(m->files);
    free(m->phys);
    memset(m, 0, sizeof(*m));
}

static void dump_key(FILE *f, uint32_t db, const char *k, size_t len) {
    fprintf(f, "(%u,\"", db);
    for (size_t i = 0; i < len && i < 64; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') fputc(c, f);
        else fprintf(f, "\\x%02x", c);
    }
    fprintf(f, len > 64 ? "\"...)" : "\")");
}

void manifest_dump(const manifest *m, FILE *f) {
    fprintf(f, "next_file %llu\ndurable_seq %llu\ndb_edit_seq %llu\nnext_phys %u\ndbs %d:",
            (unsigned long long)m->next_file, (unsigned long long)m->durable_seq,
            (unsigned long long)m->db_edit_seq, m->next_phys, m->ndbs);
    for (int i = 0; i < m->ndbs; i++) fprintf(f, " %d->%u", i, m->phys[i]);
    fprintf(f, "\nfiles %zu\n", m->nfiles);
    for (size_t i = 0; i < m->nfiles; i++) {
        const manifest_file *mf = &m->files[i];
        fprintf(f, "L%d %06llu.sst size=%llu entries=%llu ", mf->level,
                (unsigned long long)mf->number, (unsigned long long)mf->size,
                (unsigned long long)mf->entries);
        dump_key(f, mf->smallest_db, mf->smallest, mf->smallest_len);
        fprintf(f, " .. ");
        dump_key(f, mf->largest_db, mf->largest, mf->largest_len);
        fputc('\n', f);
    }
}
