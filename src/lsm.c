/* lsm.c: the LSM engine (contract: lsm.h; design: docs/compaction.md;
 * formats: docs/sstable_format.md, docs/manifest_format.md).
 *
 * It owns the set of live SSTables as refcounted versions, the flush
 * writer that adds level-0 files, point reads and merged scans over a
 * version, the logical -> physical database map, and the background
 * compaction thread (leveled: L0 -> L1 by file count, Ln -> Ln+1 by size).
 *
 * Locks, in nesting order (never taken in the other order):
 *   compact_mu  one compaction at a time (background thread or
 *               lsm_compact_all); held for a whole compaction, never by
 *               readers or flushes.
 *   edit_mu     serializes MANIFEST edits (flush commit, compaction
 *               install, drop/swap db); held across the MANIFEST write.
 *   mu          guards cur, every version's and file's refcount, the db
 *               map and the counters in the MANIFEST; held only for
 *               pointer and counter updates, never across I/O except the
 *               unlink of an obsolete file.
 *
 * Invariants:
 *  1. cur is the state the MANIFEST on disk describes (plus nothing): a new
 *     version is installed only after the MANIFEST naming it is durable.
 *  2. A reader takes a reference on cur under mu and then reads without
 *     any lock; a version never changes once built.
 *  3. A file is unlinked only when it is obsolete (a durable MANIFEST no
 *     longer names it) and no version references it.
 *  4. L0 files are ordered newest first and may overlap; in every level
 *     >= 1 files are sorted by key and do not overlap. For one key, a
 *     version in a lower level (and, in L0, a newer file) is newer, so
 *     merges resolve duplicates by source order, not by seq.
 *  5. Only compaction changes levels >= 1, and compactions are serialized
 *     (compact_mu); flushes only add to L0. So a compaction's view of the
 *     levels below L0 stays true while it runs.
 *  6. A tombstone (or an expired record, which is turned into one) is
 *     dropped only when no level deeper than the output holds a file
 *     overlapping the compaction's key range: otherwise it still hides an
 *     older version. */
#include "lsm.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bloom.h"
#include "fault.h"
#include "log.h"
#include "lsm_coding.h"
#include "manifest.h"
#include "memory.h"
#include "sstable.h"

#define LSM_LEVELS MANIFEST_LEVELS

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen,
                                                         const char *fmt, ...) {
    if (!err || !errlen) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct lsm_file {
    uint64_t number, size, entries;
    uint32_t smallest_db, largest_db;
    char *smallest, *largest; /* point into the table's properties */
    size_t smallest_len, largest_len;
    sst *table;
    char path[4096];
    int refs;      /* versions holding it (mu) */
    bool obsolete; /* a durable MANIFEST no longer names it (mu) */
} lsm_file;

typedef struct version {
    int refs;                      /* mu */
    int n[LSM_LEVELS];
    lsm_file **f[LSM_LEVELS];
} version;

struct lsm {
    lsm_opts o;
    int64_t expire_horizon_ms;  /* atomic; used when o.expire_horizon */
    char *dir;
    pthread_mutex_t mu, edit_mu, compact_mu;
    pthread_cond_t cv;
    version *cur;
    uint64_t next_file, durable_seq, db_edit_seq;
    uint32_t next_phys;
    int ndbs;
    uint32_t *phys;
    bool writer_open;
    /* compaction thread */
    pthread_t thr;
    bool thr_started, stopping, bg_work, compacting;
    char *compact_ptr[LSM_LEVELS]; /* round-robin: last key compacted per level */
    size_t compact_ptr_len[LSM_LEVELS];
    uint32_t compact_ptr_db[LSM_LEVELS];
    /* counters (atomics) */
    uint64_t compactions, compaction_read_bytes, compaction_written_bytes;
    uint64_t flushes, flushed_bytes, gets, bloom_negatives, block_reads;
    int last_bg_error;
};

struct lsm_writer {
    lsm *l;
    sst_writer *w;
    uint64_t number;
    char path[4096];
};

void lsm_opts_default(lsm_opts *o) {
    memset(o, 0, sizeof(*o));
    o->ndbs = 16;
    o->block_size = 4096;
    o->bloom_bits_per_key = 10;
    o->l0_compaction_trigger = 4;
    o->level1_bytes = 64ull << 20;
    o->target_file_bytes = 32ull << 20;
    o->background = true;
}

/* ---- files and versions ---- */

static int cmp_file_key(const lsm_file *f, uint32_t db, const char *k, size_t kl, bool largest) {
    return largest ? lsm_key_cmp(f->largest_db, f->largest, f->largest_len, db, k, kl)
                   : lsm_key_cmp(f->smallest_db, f->smallest, f->smallest_len, db, k, kl);
}

static bool file_contains(const lsm_file *f, uint32_t db, const char *k, size_t kl) {
    return f->entries && cmp_file_key(f, db, k, kl, false) <= 0 &&
           cmp_file_key(f, db, k, kl, true) >= 0;
}

static lsm_file *file_new(lsm *l, uint64_t number, sst *t) {
    lsm_file *f = calloc(1, sizeof(*f));
    if (!f) return NULL;
    const sst_props *p = sst_get_props(t);
    f->number = number;
    f->size = p->file_size;
    f->entries = p->entries;
    f->smallest_db = p->smallest_db;
    f->largest_db = p->largest_db;
    f->smallest = p->smallest;
    f->largest = p->largest;
    f->smallest_len = p->smallest_len;
    f->largest_len = p->largest_len;
    f->table = t;
    manifest_sst_path(f->path, sizeof(f->path), l->dir, number);
    return f;
}

static void do_file_unref(lsm_file *f) {
    if (--f->refs > 0) return;
    sst_close(f->table);
    if (f->obsolete) unlink(f->path);
    free(f);
}

static version *version_new(void) { return calloc(1, sizeof(version)); }

static void do_version_unref(version *v) {
    if (!v || --v->refs > 0) return;
    for (int lv = 0; lv < LSM_LEVELS; lv++) {
        for (int i = 0; i < v->n[lv]; i++) do_file_unref(v->f[lv][i]);
        free(v->f[lv]);
    }
    free(v);
}

static version *version_ref(lsm *l) {
    pthread_mutex_lock(&l->mu);
    version *v = l->cur;
    v->refs++;
    pthread_mutex_unlock(&l->mu);
    return v;
}

static void version_unref(lsm *l, version *v) {
    pthread_mutex_lock(&l->mu);
    do_version_unref(v);
    pthread_mutex_unlock(&l->mu);
}

static int cmp_files_by_key(const void *a, const void *b) {
    const lsm_file *x = *(lsm_file *const *)a, *y = *(lsm_file *const *)b;
    return lsm_key_cmp(x->smallest_db, x->smallest, x->smallest_len, y->smallest_db,
                       y->smallest, y->smallest_len);
}

static int cmp_files_newest_first(const void *a, const void *b) {
    const lsm_file *x = *(lsm_file *const *)a, *y = *(lsm_file *const *)b;
    return x->number < y->number ? 1 : x->number > y->number ? -1 : 0;
}

/* A copy of `base` without the files in `drop` and with `add` placed at
 * level `add_level`; every file referenced once more. Caller holds mu. */
static version *do_version_edit(const version *base, lsm_file **drop, int ndrop, lsm_file **add,
                                int nadd, int add_level) {
    version *v = version_new();
    if (!v) return NULL;
    for (int lv = 0; lv < LSM_LEVELS; lv++) {
        int cap = base->n[lv] + (lv == add_level ? nadd : 0);
        v->f[lv] = malloc((size_t)(cap ? cap : 1) * sizeof(lsm_file *));
        if (!v->f[lv]) {
            for (int k = 0; k < lv; k++) {
                for (int i = 0; i < v->n[k]; i++) v->f[k][i]->refs--;
                free(v->f[k]);
            }
            free(v);
            return NULL;
        }
        for (int i = 0; i < base->n[lv]; i++) {
            lsm_file *f = base->f[lv][i];
            bool dropped = false;
            for (int d = 0; d < ndrop && !dropped; d++) dropped = drop[d] == f;
            if (!dropped) v->f[lv][v->n[lv]++] = f;
        }
        if (lv == add_level)
            for (int i = 0; i < nadd; i++) v->f[lv][v->n[lv]++] = add[i];
        qsort(v->f[lv], (size_t)v->n[lv], sizeof(lsm_file *),
              lv == 0 ? cmp_files_newest_first : cmp_files_by_key);
        for (int i = 0; i < v->n[lv]; i++) v->f[lv][i]->refs++;
    }
    v->refs = 1;
    return v;
}

/* ---- MANIFEST ---- */

/* Writes the MANIFEST describing v with the given counters. Caller holds
 * edit_mu (not mu). */
static enum lsm_status do_write_manifest(lsm *l, const version *v, uint64_t durable_seq,
                                         uint64_t db_edit_seq, uint32_t next_phys,
                                         const uint32_t *phys, char *err, size_t errlen) {
    manifest m = {0};
    size_t n = 0;
    for (int lv = 0; lv < LSM_LEVELS; lv++) n += (size_t)v->n[lv];
    m.files = calloc(n ? n : 1, sizeof(*m.files));
    if (!m.files) return LSM_NOMEM;
    for (int lv = 0; lv < LSM_LEVELS; lv++)
        for (int i = 0; i < v->n[lv]; i++) {
            const lsm_file *f = v->f[lv][i];
            m.files[m.nfiles++] = (manifest_file){
                .level = lv, .number = f->number, .size = f->size, .entries = f->entries,
                .smallest_db = f->smallest_db, .largest_db = f->largest_db,
                .smallest = f->smallest, .largest = f->largest,
                .smallest_len = f->smallest_len, .largest_len = f->largest_len};
        }
    pthread_mutex_lock(&l->mu);
    m.next_file = l->next_file;
    pthread_mutex_unlock(&l->mu);
    m.durable_seq = durable_seq;
    m.db_edit_seq = db_edit_seq;
    m.next_phys = next_phys;
    m.ndbs = l->ndbs;
    m.phys = (uint32_t *)phys;
    enum lsm_status st = manifest_write(l->dir, &m, err, errlen);
    free(m.files);
    return st;
}

/* Installs `nv` as cur after the MANIFEST describing it was written; the
 * files in `obsolete` are no longer named. Caller holds edit_mu. */
static void install_version(lsm *l, version *nv, lsm_file **obsolete, int nobs) {
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < nobs; i++) obsolete[i]->obsolete = true;
    version *old = l->cur;
    l->cur = nv;
    do_version_unref(old);
    pthread_mutex_unlock(&l->mu);
}

/* Undo a version that was built but whose MANIFEST failed: the files only
 * it holds (`fresh`) are removed. */
static void discard_version(lsm *l, version *nv, lsm_file **fresh, int nfresh) {
    pthread_mutex_lock(&l->mu);
    for (int i = 0; i < nfresh; i++) fresh[i]->obsolete = true;
    do_version_unref(nv);
    pthread_mutex_unlock(&l->mu);
}

/* ---- open / close ---- */

static int mkdir_p(const char *dir) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
    return 0;
}

static bool parse_sst_name(const char *name, uint64_t *num) {
    size_t n = strlen(name);
    if (n < 5 || strcmp(name + n - 4, ".sst") != 0) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n - 4; i++) {
        if (name[i] < '0' || name[i] > '9') return false;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *num = v;
    return true;
}

/* Removes what a crash can leave behind: SSTables no MANIFEST names (a
 * flush or compaction output written before its MANIFEST edit) and
 * MANIFEST.tmp. Raises next_file above any number seen. */
static void remove_orphans(lsm *l) {
    DIR *d = opendir(l->dir);
    if (!d) return;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d))) {
        uint64_t num;
        if (strcmp(e->d_name, MANIFEST_TMP_NAME) == 0) {
            snprintf(path, sizeof(path), "%s/%s", l->dir, e->d_name);
            unlink(path);
            continue;
        }
        if (!parse_sst_name(e->d_name, &num)) continue;
        if (num >= l->next_file) l->next_file = num + 1;
        bool named = false;
        for (int lv = 0; lv < LSM_LEVELS && !named; lv++)
            for (int i = 0; i < l->cur->n[lv] && !named; i++) named = l->cur->f[lv][i]->number == num;
        if (!named) {
            snprintf(path, sizeof(path), "%s/%s", l->dir, e->d_name);
            unlink(path);
        }
    }
    closedir(d);
}

static void *compaction_thread(void *arg);

enum lsm_status lsm_open(const lsm_opts *o, lsm **out, char *err, size_t errlen) {
    if (!o || !o->dir || !o->dir[0] || o->ndbs < 1) {
        seterr(err, errlen, "lsm: invalid options");
        return LSM_INVALID;
    }
    lsm *l = calloc(1, sizeof(*l));
    if (!l) return LSM_NOMEM;
    l->o = *o;
    lsm_opts def;
    lsm_opts_default(&def);
    if (!l->o.block_size) l->o.block_size = def.block_size;
    if (l->o.bloom_bits_per_key <= 0) l->o.bloom_bits_per_key = def.bloom_bits_per_key;
    if (l->o.l0_compaction_trigger <= 0) l->o.l0_compaction_trigger = def.l0_compaction_trigger;
    if (!l->o.level1_bytes) l->o.level1_bytes = def.level1_bytes;
    if (!l->o.target_file_bytes) l->o.target_file_bytes = def.target_file_bytes;
    l->dir = strdup(o->dir);
    l->o.dir = l->dir;
    pthread_mutex_init(&l->mu, NULL);
    pthread_mutex_init(&l->edit_mu, NULL);
    pthread_mutex_init(&l->compact_mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    enum lsm_status st = LSM_OK;
    manifest m = {0};
    l->cur = version_new();
    if (!l->dir || !l->cur) {
        st = LSM_NOMEM;
        goto fail;
    }
    l->cur->refs = 1;
    if (mkdir_p(l->dir) != 0) {
        seterr(err, errlen, "%s: mkdir: %s", l->dir, strerror(errno));
        st = LSM_IO;
        goto fail;
    }
    char mpath[4096];
    snprintf(mpath, sizeof(mpath), "%s/%s", l->dir, MANIFEST_NAME);
    st = manifest_read(mpath, &m, err, errlen);
    bool rewrite = false;
    if (st == LSM_NOTFOUND) {
        /* A new store. SSTables without a MANIFEST mean the MANIFEST was
         * lost, not a crash (the first MANIFEST is written before any
         * flush): refuse rather than delete them as orphans. */
        DIR *dd = opendir(l->dir);
        struct dirent *e;
        uint64_t num;
        int nsst = 0;
        while (dd && (e = readdir(dd)))
            nsst += parse_sst_name(e->d_name, &num);
        if (dd) closedir(dd);
        if (nsst) {
            seterr(err, errlen, "%s: missing, but %s holds %d SSTable(s)", mpath, l->dir, nsst);
            st = LSM_CORRUPT;
            goto fail;
        }
        m.next_file = 1;
        rewrite = true;
        st = LSM_OK;
    }
    if (st) goto fail;
    l->next_file = m.next_file;
    l->durable_seq = m.durable_seq;
    l->db_edit_seq = m.db_edit_seq;
    l->next_phys = m.next_phys;
    l->ndbs = m.ndbs > o->ndbs ? m.ndbs : o->ndbs;
    l->phys = malloc((size_t)l->ndbs * sizeof(uint32_t));
    if (!l->phys) {
        st = LSM_NOMEM;
        goto fail;
    }
    for (int i = 0; i < l->ndbs; i++) {
        if (i < m.ndbs) {
            l->phys[i] = m.phys[i];
        } else {
            /* A new logical db gets a physical id no record ever had. */
            l->phys[i] = l->next_phys++;
            rewrite = true;
        }
    }
    /* Open every file the MANIFEST names; each open checks the footer and
     * the index, bloom and properties blocks. */
    version *v = l->cur;
    for (int lv = 0; lv < LSM_LEVELS; lv++) {
        int cnt = 0;
        for (size_t i = 0; i < m.nfiles; i++) cnt += m.files[i].level == lv;
        v->f[lv] = malloc((size_t)(cnt ? cnt : 1) * sizeof(lsm_file *));
        if (!v->f[lv]) {
            st = LSM_NOMEM;
            goto fail;
        }
    }
    for (size_t i = 0; i < m.nfiles; i++) {
        const manifest_file *mf = &m.files[i];
        char path[4096];
        if (mf->level < 0 || mf->level >= LSM_LEVELS) {
            seterr(err, errlen, "%s: corrupt MANIFEST: level %d out of range", mpath, mf->level);
            st = LSM_CORRUPT;
            goto fail;
        }
        manifest_sst_path(path, sizeof(path), l->dir, mf->number);
        sst *t;
        if ((st = sst_open(path, &t, err, errlen))) {
            if (st == LSM_CORRUPT && access(path, F_OK) != 0)
                seterr(err, errlen, "%s: named by the MANIFEST but missing", path);
            goto fail;
        }
        if (sst_get_props(t)->file_size != mf->size || sst_get_props(t)->entries != mf->entries) {
            seterr(err, errlen, "%s: size or entry count differs from the MANIFEST's", path);
            sst_close(t);
            st = LSM_CORRUPT;
            goto fail;
        }
        lsm_file *f = file_new(l, mf->number, t);
        if (!f) {
            sst_close(t);
            st = LSM_NOMEM;
            goto fail;
        }
        f->refs = 1;
        v->f[mf->level][v->n[mf->level]++] = f;
    }
    for (int lv = 0; lv < LSM_LEVELS; lv++)
        qsort(v->f[lv], (size_t)v->n[lv], sizeof(lsm_file *),
              lv == 0 ? cmp_files_newest_first : cmp_files_by_key);
    remove_orphans(l);
    if (rewrite) {
        pthread_mutex_lock(&l->edit_mu);
        st = do_write_manifest(l, l->cur, l->durable_seq, l->db_edit_seq, l->next_phys, l->phys,
                               err, errlen);
        pthread_mutex_unlock(&l->edit_mu);
        if (st) goto fail;
    }
    manifest_free(&m);
    l->bg_work = true;
    if (l->o.background) {
        if (pthread_create(&l->thr, NULL, compaction_thread, l) != 0) {
            seterr(err, errlen, "lsm: cannot start the compaction thread");
            st = LSM_IO;
            goto fail_nomanifest;
        }
        l->thr_started = true;
    }
    *out = l;
    return LSM_OK;
fail:
    manifest_free(&m);
fail_nomanifest:
    lsm_close(l);
    return st;
}

void lsm_close(lsm *l) {
    if (!l) return;
    if (l->thr_started) {
        pthread_mutex_lock(&l->mu);
        /* atomic: a running compaction polls it without the mutex */
        __atomic_store_n(&l->stopping, true, __ATOMIC_RELAXED);
        pthread_cond_broadcast(&l->cv);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thr, NULL);
    }
    if (l->cur) {
        pthread_mutex_lock(&l->mu);
        do_version_unref(l->cur);
        pthread_mutex_unlock(&l->mu);
    }
    for (int i = 0; i < LSM_LEVELS; i++) free(l->compact_ptr[i]);
    pthread_mutex_destroy(&l->mu);
    pthread_mutex_destroy(&l->edit_mu);
    pthread_mutex_destroy(&l->compact_mu);
    pthread_cond_destroy(&l->cv);
    free(l->phys);
    free(l->dir);
    free(l);
}

uint64_t lsm_durable_seq(lsm *l) {
    pthread_mutex_lock(&l->mu);
    uint64_t s = l->durable_seq;
    pthread_mutex_unlock(&l->mu);
    return s;
}

uint32_t lsm_phys_db(lsm *l, int db) {
    pthread_mutex_lock(&l->mu);
    uint32_t p = db >= 0 && db < l->ndbs ? l->phys[db] : UINT32_MAX;
    pthread_mutex_unlock(&l->mu);
    return p;
}

/* ---- database map edits ---- */

static enum lsm_status db_edit(lsm *l, int a, int b, bool swap, uint64_t seq, char *err,
                               size_t errlen) {
    if (swap ? (a < 0 || b < 0 || a >= l->ndbs || b >= l->ndbs) : (a < -1 || a >= l->ndbs)) {
        seterr(err, errlen, "lsm: database index out of range");
        return LSM_INVALID;
    }
    pthread_mutex_lock(&l->edit_mu);
    pthread_mutex_lock(&l->mu);
    /* Replaying the WAL after a crash may repeat an edit the MANIFEST
     * already holds; seq 0 means "untagged" and always applies. */
    if (seq && seq <= l->db_edit_seq) {
        pthread_mutex_unlock(&l->mu);
        pthread_mutex_unlock(&l->edit_mu);
        return LSM_OK;
    }
    uint32_t *np = malloc((size_t)l->ndbs * sizeof(uint32_t));
    if (!np) {
        pthread_mutex_unlock(&l->mu);
        pthread_mutex_unlock(&l->edit_mu);
        return LSM_NOMEM;
    }
    memcpy(np, l->phys, (size_t)l->ndbs * sizeof(uint32_t));
    uint32_t next_phys = l->next_phys;
    if (swap) {
        uint32_t t = np[a];
        np[a] = np[b];
        np[b] = t;
    } else {
        for (int i = 0; i < l->ndbs; i++)
            if (a == -1 || a == i) np[i] = next_phys++;
    }
    uint64_t eseq = seq > l->db_edit_seq ? seq : l->db_edit_seq;
    version *v = l->cur;
    v->refs++;
    uint64_t dseq = l->durable_seq;
    pthread_mutex_unlock(&l->mu);
    enum lsm_status st = do_write_manifest(l, v, dseq, eseq, next_phys, np, err, errlen);
    pthread_mutex_lock(&l->mu);
    if (st == LSM_OK) {
        memcpy(l->phys, np, (size_t)l->ndbs * sizeof(uint32_t));
        l->next_phys = next_phys;
        l->db_edit_seq = eseq;
        l->bg_work = true; /* dead records can now be dropped */
    }
    do_version_unref(v);
    pthread_mutex_unlock(&l->mu);
    pthread_mutex_unlock(&l->edit_mu);
    free(np);
    return st;
}

enum lsm_status lsm_drop_db(lsm *l, int db, uint64_t seq, char *err, size_t errlen) {
    return db_edit(l, db, 0, false, seq, err, errlen);
}

enum lsm_status lsm_swap_db(lsm *l, int a, int b, uint64_t seq, char *err, size_t errlen) {
    return db_edit(l, a, b, true, seq, err, errlen);
}

/* ---- flush ---- */

static uint64_t alloc_file_number(lsm *l) {
    pthread_mutex_lock(&l->mu);
    uint64_t n = l->next_file++;
    pthread_mutex_unlock(&l->mu);
    return n;
}

enum lsm_status lsm_flush_begin(lsm *l, lsm_writer **out) {
    pthread_mutex_lock(&l->mu);
    if (l->writer_open) {
        pthread_mutex_unlock(&l->mu);
        return LSM_INVALID;
    }
    l->writer_open = true;
    pthread_mutex_unlock(&l->mu);
    lsm_writer *w = calloc(1, sizeof(*w));
    enum lsm_status st = LSM_NOMEM;
    if (w) {
        w->l = l;
        w->number = alloc_file_number(l);
        manifest_sst_path(w->path, sizeof(w->path), l->dir, w->number);
        st = sst_writer_open(w->path, l->o.block_size, l->o.bloom_bits_per_key, &w->w, NULL, 0);
    }
    if (st) {
        free(w);
        pthread_mutex_lock(&l->mu);
        l->writer_open = false;
        pthread_mutex_unlock(&l->mu);
        return st;
    }
    *out = w;
    return LSM_OK;
}

enum lsm_status lsm_flush_add(lsm_writer *w, const lsm_rec *r) {
    return sst_writer_add(w->w, r, NULL, 0);
}

static void writer_done(lsm_writer *w) {
    pthread_mutex_lock(&w->l->mu);
    w->l->writer_open = false;
    pthread_mutex_unlock(&w->l->mu);
    free(w);
}

void lsm_flush_abort(lsm_writer *w) {
    if (!w) return;
    sst_writer_abort(w->w);
    writer_done(w);
}

void lsm_set_expire_horizon(lsm *l, int64_t horizon_ms) {
    __atomic_store_n(&l->expire_horizon_ms, horizon_ms, __ATOMIC_RELAXED);
}

static void wake_compaction(lsm *l) {
    pthread_mutex_lock(&l->mu);
    l->bg_work = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

enum lsm_status lsm_flush_commit(lsm_writer *w, uint64_t upto_seq, char *err, size_t errlen) {
    lsm *l = w->l;
    bool empty = sst_writer_entries(w->w) == 0;
    enum lsm_status st = sst_writer_finish(w->w, NULL, err, errlen);
    sst *t = NULL;
    lsm_file *f = NULL;
    if (st == LSM_OK && empty) unlink(w->path); /* nothing to install; durable_seq still moves */
    if (st == LSM_OK && !empty) {
        st = sst_open(w->path, &t, err, errlen);
        if (st == LSM_OK && !(f = file_new(l, w->number, t))) {
            sst_close(t);
            st = LSM_NOMEM;
        }
        if (st) unlink(w->path);
    }
    if (st) {
        writer_done(w);
        return st;
    }
    fault_point(FAULT_AT_FLUSH);
    pthread_mutex_lock(&l->edit_mu);
    pthread_mutex_lock(&l->mu);
    version *nv = f ? do_version_edit(l->cur, NULL, 0, &f, 1, 0) : l->cur;
    if (nv && !f) nv->refs++;
    uint64_t dseq = upto_seq > l->durable_seq ? upto_seq : l->durable_seq;
    uint64_t eseq = l->db_edit_seq;
    uint32_t next_phys = l->next_phys;
    pthread_mutex_unlock(&l->mu);
    if (!nv) {
        pthread_mutex_unlock(&l->edit_mu);
        sst_close(t);
        free(f);
        unlink(w->path);
        writer_done(w);
        return LSM_NOMEM;
    }
    /* The map cannot change while edit_mu is held. */
    st = do_write_manifest(l, nv, dseq, eseq, next_phys, l->phys, err, errlen);
    if (st == LSM_OK) {
        if (f) {
            install_version(l, nv, NULL, 0);
        } else {
            version_unref(l, nv);
        }
        pthread_mutex_lock(&l->mu);
        l->durable_seq = dseq;
        pthread_mutex_unlock(&l->mu);
        if (f) {
            __atomic_add_fetch(&l->flushes, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&l->flushed_bytes, f->size, __ATOMIC_RELAXED);
        }
    } else if (f) {
        discard_version(l, nv, &f, 1);
    } else {
        version_unref(l, nv);
    }
    pthread_mutex_unlock(&l->edit_mu);
    writer_done(w);
    if (st == LSM_OK && f) wake_compaction(l);
    return st;
}

/* ---- point reads ---- */

static bool is_expired(const lsm_rec *r, int64_t now_ms) {
    return r->expire_ms >= 0 && r->expire_ms < now_ms;
}

enum lsm_status lsm_get(lsm *l, int db, const char *key, size_t klen, int64_t now_ms,
                        char **val, size_t *vlen, int64_t *expire_ms, uint8_t *flags,
                        char *err, size_t errlen) {
    if (db < 0 || db >= l->ndbs) return LSM_INVALID;
    pthread_mutex_lock(&l->mu);
    version *v = l->cur;
    v->refs++;
    uint32_t pdb = l->phys[db];
    pthread_mutex_unlock(&l->mu);
    __atomic_add_fetch(&l->gets, 1, __ATOMIC_RELAXED);
    uint64_t h = bloom_hash(pdb, key, klen);
    enum lsm_status st = LSM_NOTFOUND;
    lsm_rec r;
    char *v_out = NULL;
    for (int lv = 0; lv < LSM_LEVELS && st == LSM_NOTFOUND; lv++) {
        if (lv == 0) {
            for (int i = 0; i < v->n[0] && st == LSM_NOTFOUND; i++) {
                lsm_file *f = v->f[0][i];
                if (!file_contains(f, pdb, key, klen)) continue;
                st = sst_get(f->table, pdb, key, klen, h, &r, &v_out, &l->bloom_negatives,
                             &l->block_reads, err, errlen);
            }
            continue;
        }
        /* Levels >= 1: the first file whose largest key is >= key. */
        int lo = 0, hi = v->n[lv];
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (cmp_file_key(v->f[lv][mid], pdb, key, klen, true) < 0) lo = mid + 1;
            else hi = mid;
        }
        if (lo < v->n[lv] && file_contains(v->f[lv][lo], pdb, key, klen))
            st = sst_get(v->f[lv][lo]->table, pdb, key, klen, h, &r, &v_out, &l->bloom_negatives,
                         &l->block_reads, err, errlen);
    }
    version_unref(l, v);
    if (st != LSM_OK) return st;
    if (r.tombstone || is_expired(&r, now_ms)) {
        free(v_out);
        return LSM_NOTFOUND;
    }
    if (val) *val = v_out;
    else free(v_out);
    if (vlen) *vlen = r.vlen;
    if (expire_ms) *expire_ms = r.expire_ms;
    if (flags) *flags = r.flags;
    return LSM_OK;
}

/* ---- merging iterator ---- */

/* One input of a merge: a single L0 file, or a whole level >= 1 read as
 * one sorted run (its files in key order, opened one at a time). */
typedef struct msrc {
    lsm_file **files;
    int nfiles, fi;
    sst_iter *it;
    uint64_t bytes_done; /* of files already finished */
} msrc;

typedef struct merger {
    msrc *s;
    int n;
    int cur;             /* source holding the current (newest) record, or -1 */
    enum lsm_status st;
    char err[512];
} merger;

static bool src_valid(const msrc *s) { return s->it && sst_iter_valid(s->it); }
static const lsm_rec *src_rec(const msrc *s) { return sst_iter_rec(s->it); }

static bool src_open_file(merger *m, msrc *s, int fi) {
    if (s->it) {
        s->bytes_done += sst_iter_bytes_read(s->it);
        sst_iter_free(s->it);
        s->it = NULL;
    }
    s->fi = fi;
    if (fi >= s->nfiles) return false;
    s->it = sst_iter_new(s->files[fi]->table);
    if (!s->it) {
        m->st = LSM_NOMEM;
        return false;
    }
    return true;
}

/* After the iterator moved: on error record it, at a file's end go on with
 * the next file. */
static void src_settle(merger *m, msrc *s) {
    while (s->it && !sst_iter_valid(s->it)) {
        enum lsm_status st = sst_iter_status(s->it, m->err, sizeof(m->err));
        if (st) {
            m->st = st;
            return;
        }
        if (!src_open_file(m, s, s->fi + 1)) return;
        sst_iter_first(s->it);
    }
}

static void merger_pick(merger *m) {
    m->cur = -1;
    if (m->st) return;
    for (int i = 0; i < m->n; i++) {
        if (!src_valid(&m->s[i])) continue;
        if (m->cur < 0) {
            m->cur = i;
            continue;
        }
        const lsm_rec *a = src_rec(&m->s[i]), *b = src_rec(&m->s[m->cur]);
        /* Strictly smaller only: on a tie the earlier (newer) source wins. */
        if (lsm_key_cmp(a->db, a->key, a->klen, b->db, b->key, b->klen) < 0) m->cur = i;
    }
}

static void merger_seek(merger *m, uint32_t db, const char *key, size_t klen, bool first) {
    for (int i = 0; i < m->n && !m->st; i++) {
        msrc *s = &m->s[i];
        int fi = 0;
        if (!first) {
            /* First file whose largest key is >= the target. */
            int lo = 0, hi = s->nfiles;
            while (lo < hi) {
                int mid = lo + (hi - lo) / 2;
                if (cmp_file_key(s->files[mid], db, key, klen, true) < 0) lo = mid + 1;
                else hi = mid;
            }
            fi = lo;
        }
        if (!src_open_file(m, s, fi)) continue;
        if (first) sst_iter_first(s->it);
        else sst_iter_seek(s->it, db, key, klen);
        src_settle(m, s);
    }
    merger_pick(m);
}

static bool merger_valid(const merger *m) { return !m->st && m->cur >= 0; }
static const lsm_rec *merger_rec(const merger *m) { return src_rec(&m->s[m->cur]); }

/* Moves past the current key in every source (older versions included). */
static void merger_next(merger *m) {
    const lsm_rec *c = merger_rec(m);
    int cur = m->cur;
    for (int i = 0; i < m->n && !m->st; i++) {
        if (i == cur || !src_valid(&m->s[i])) continue;
        const lsm_rec *r = src_rec(&m->s[i]);
        if (lsm_key_cmp(r->db, r->key, r->klen, c->db, c->key, c->klen) == 0) {
            sst_iter_next(m->s[i].it);
            src_settle(m, &m->s[i]);
        }
    }
    /* The current source last: c points into its block until it moves. */
    if (!m->st) {
        sst_iter_next(m->s[cur].it);
        src_settle(m, &m->s[cur]);
    }
    merger_pick(m);
}

static uint64_t merger_bytes_read(const merger *m) {
    uint64_t n = 0;
    for (int i = 0; i < m->n; i++)
        n += m->s[i].bytes_done + (m->s[i].it ? sst_iter_bytes_read(m->s[i].it) : 0);
    return n;
}

static void merger_free(merger *m) {
    for (int i = 0; i < m->n; i++) sst_iter_free(m->s[i].it);
    free(m->s);
}

/* Sources over a whole version: each L0 file (newest first), then each
 * non-empty level. */
static enum lsm_status merger_init_version(merger *m, version *v) {
    memset(m, 0, sizeof(*m));
    m->s = calloc((size_t)(v->n[0] + LSM_LEVELS), sizeof(msrc));
    if (!m->s) return LSM_NOMEM;
    for (int i = 0; i < v->n[0]; i++) m->s[m->n++] = (msrc){.files = &v->f[0][i], .nfiles = 1};
    for (int lv = 1; lv < LSM_LEVELS; lv++)
        if (v->n[lv]) m->s[m->n++] = (msrc){.files = v->f[lv], .nfiles = v->n[lv]};
    return LSM_OK;
}

/* ---- scan ---- */

enum lsm_status lsm_scan(lsm *l, bool want_values, int64_t now_ms, lsm_scan_fn *fn,
                         lsm_progress_fn *progress, void *priv, char *err, size_t errlen) {
    pthread_mutex_lock(&l->mu);
    version *v = l->cur;
    v->refs++;
    int ndbs = l->ndbs;
    uint32_t *phys = malloc((size_t)ndbs * sizeof(uint32_t));
    if (phys) memcpy(phys, l->phys, (size_t)ndbs * sizeof(uint32_t));
    pthread_mutex_unlock(&l->mu);
    merger m;
    if (!phys || merger_init_version(&m, v)) {
        free(phys);
        version_unref(l, v);
        return LSM_NOMEM;
    }
    uint64_t total = 0;
    for (int lv = 0; lv < LSM_LEVELS; lv++)
        for (int i = 0; i < v->n[lv]; i++) total += v->f[lv][i]->size;
    double last = mono_s();
    uint64_t n = 0;
    int rc = 0;
    for (int db = 0; db < ndbs && !rc && !m.st; db++) {
        for (merger_seek(&m, phys[db], "", 0, false); merger_valid(&m) && !rc; merger_next(&m)) {
            const lsm_rec *r = merger_rec(&m);
            if (r->db != phys[db]) break;
            if (progress && (++n & 1023) == 0 && mono_s() - last >= 1.0) {
                last = mono_s();
                progress(priv, merger_bytes_read(&m), total);
            }
            if (r->tombstone || is_expired(r, now_ms)) continue;
            lsm_rec out = *r;
            out.db = (uint32_t)db;
            if (!want_values) out.val = NULL;
            rc = fn(priv, &out);
        }
    }
    enum lsm_status st = m.st;
    if (st) seterr(err, errlen, "%s", m.err);
    if (progress && !st && !rc) progress(priv, total, total);
    merger_free(&m);
    free(phys);
    version_unref(l, v);
    return rc ? (enum lsm_status)rc : st;
}

/* ---- compaction ---- */

static uint64_t level_target(const lsm *l, int lv) {
    uint64_t t = l->o.level1_bytes;
    for (int i = 1; i < lv; i++) t *= 10;
    return t;
}

static uint64_t level_bytes(const version *v, int lv) {
    uint64_t b = 0;
    for (int i = 0; i < v->n[lv]; i++) b += v->f[lv][i]->size;
    return b;
}

/* The level most in need of compaction (score >= 1), or -1. L0 scores by
 * file count (every L0 file is one more place a read must look), deeper
 * levels by bytes over their target. */
static int pick_level(const lsm *l, const version *v) {
    double best = 0;
    int lv_best = -1;
    for (int lv = 0; lv < LSM_LEVELS - 1; lv++) {
        double s = lv == 0 ? (double)v->n[0] / l->o.l0_compaction_trigger
                           : (double)level_bytes(v, lv) / (double)level_target(l, lv);
        if (s >= 1.0 && s > best) {
            best = s;
            lv_best = lv;
        }
    }
    return lv_best;
}

static bool ranges_overlap(const lsm_file *f, uint32_t sdb, const char *s, size_t sl, uint32_t ldb,
                           const char *lg, size_t ll) {
    return cmp_file_key(f, ldb, lg, ll, false) <= 0 && cmp_file_key(f, sdb, s, sl, true) >= 0;
}

typedef struct compaction {
    int level, out_level;
    lsm_file **in;   /* level inputs, then out_level inputs */
    int nin0, nin1;
    bool drop_tombstones;
} compaction;

static bool phys_live(const uint32_t *phys, int ndbs, uint32_t db) {
    for (int i = 0; i < ndbs; i++)
        if (phys[i] == db) return true;
    return false;
}

/* Runs one compaction if one is due; *did says whether it did. Caller
 * holds compact_mu. */
static enum lsm_status compact_once(lsm *l, bool *did, char *err, size_t errlen) {
    *did = false;
    pthread_mutex_lock(&l->mu);
    version *v = l->cur;
    v->refs++;
    int ndbs = l->ndbs;
    uint32_t *phys = malloc((size_t)ndbs * sizeof(uint32_t));
    if (phys) memcpy(phys, l->phys, (size_t)ndbs * sizeof(uint32_t));
    pthread_mutex_unlock(&l->mu);
    int lv = pick_level(l, v);
    if (lv < 0 || !phys) {
        free(phys);
        version_unref(l, v);
        return phys ? LSM_OK : LSM_NOMEM;
    }
    compaction c = {.level = lv, .out_level = lv + 1};
    c.in = malloc((size_t)(v->n[lv] + v->n[lv + 1] + 1) * sizeof(lsm_file *));
    if (!c.in) {
        free(phys);
        version_unref(l, v);
        return LSM_NOMEM;
    }
    /* Inputs from `lv`: all of L0 (its files overlap), or the next file
     * after the level's compaction pointer (round robin over the key space). */
    if (lv == 0) {
        for (int i = 0; i < v->n[0]; i++) c.in[c.nin0++] = v->f[0][i];
    } else {
        int pick = 0;
        if (l->compact_ptr[lv])
            while (pick < v->n[lv] &&
                   cmp_file_key(v->f[lv][pick], l->compact_ptr_db[lv], l->compact_ptr[lv],
                                l->compact_ptr_len[lv], false) <= 0)
                pick++;
        if (pick == v->n[lv]) pick = 0;
        c.in[c.nin0++] = v->f[lv][pick];
    }
    /* Key range of the inputs. */
    lsm_file *lo = c.in[0], *hi = c.in[0];
    for (int i = 1; i < c.nin0; i++) {
        if (cmp_files_by_key(&c.in[i], &lo) < 0) lo = c.in[i];
        if (lsm_key_cmp(c.in[i]->largest_db, c.in[i]->largest, c.in[i]->largest_len,
                        hi->largest_db, hi->largest, hi->largest_len) > 0)
            hi = c.in[i];
    }
    uint32_t sdb = lo->smallest_db, ldb = hi->largest_db;
    const char *sk = lo->smallest, *lk = hi->largest;
    size_t sl = lo->smallest_len, ll = hi->largest_len;
    for (int i = 0; i < v->n[lv + 1]; i++)
        if (ranges_overlap(v->f[lv + 1][i], sdb, sk, sl, ldb, lk, ll))
            c.in[c.nin0 + c.nin1++] = v->f[lv + 1][i];
    /* The output range may widen with L1 inputs; deeper overlap uses it. */
    for (int i = c.nin0; i < c.nin0 + c.nin1; i++) {
        lsm_file *f = c.in[i];
        if (cmp_file_key(f, sdb, sk, sl, false) < 0) {
            sdb = f->smallest_db;
            sk = f->smallest;
            sl = f->smallest_len;
        }
        if (lsm_key_cmp(f->largest_db, f->largest, f->largest_len, ldb, lk, ll) > 0) {
            ldb = f->largest_db;
            lk = f->largest;
            ll = f->largest_len;
        }
    }
    c.drop_tombstones = true;
    for (int d = c.out_level + 1; d < LSM_LEVELS && c.drop_tombstones; d++)
        for (int i = 0; i < v->n[d] && c.drop_tombstones; i++)
            if (ranges_overlap(v->f[d][i], sdb, sk, sl, ldb, lk, ll)) c.drop_tombstones = false;
    if (lv > 0) {
        lsm_file *p = c.in[0];
        free(l->compact_ptr[lv]);
        l->compact_ptr[lv] = malloc(p->largest_len ? p->largest_len : 1);
        if (l->compact_ptr[lv] && p->largest_len) memcpy(l->compact_ptr[lv], p->largest, p->largest_len);
        l->compact_ptr_len[lv] = p->largest_len;
        l->compact_ptr_db[lv] = p->largest_db;
    }

    __atomic_store_n(&l->compacting, true, __ATOMIC_RELAXED);
    /* Merge. Sources: L0 inputs one per file (newest first) or the one Ln
     * file, then the out_level inputs as one run. */
    merger m = {0};
    m.s = calloc((size_t)c.nin0 + 1, sizeof(msrc));
    lsm_file **outs = NULL;
    int nouts = 0, capouts = 0;
    sst_writer *w = NULL;
    uint64_t wnum = 0;
    enum lsm_status st = m.s ? LSM_OK : LSM_NOMEM;
    int64_t now = wall_ms();
    if (l->o.expire_horizon) {
        int64_t h = __atomic_load_n(&l->expire_horizon_ms, __ATOMIC_RELAXED);
        if (h < now) now = h;
    }
    uint64_t in_bytes = 0, out_bytes = 0;
    for (int i = 0; i < c.nin0 + c.nin1; i++) in_bytes += c.in[i]->size;
    if (!st) {
        for (int i = 0; i < c.nin0; i++) m.s[m.n++] = (msrc){.files = &c.in[i], .nfiles = 1};
        if (c.nin1) m.s[m.n++] = (msrc){.files = &c.in[c.nin0], .nfiles = c.nin1};
        merger_seek(&m, 0, "", 0, true);
    }
    uint64_t n = 0;
    for (; !st && merger_valid(&m); merger_next(&m)) {
        if ((++n & 1023) == 0 && __atomic_load_n(&l->stopping, __ATOMIC_RELAXED)) {
            st = LSM_IO; /* cancelled by lsm_close: leave the inputs as they are */
            seterr(err, errlen, "lsm: compaction cancelled by close");
            errno = 0;
            break;
        }
        lsm_rec r = *merger_rec(&m);
        if (!phys_live(phys, ndbs, r.db)) continue;
        if (is_expired(&r, now)) {
            /* Keep hiding any older version below: an expired record
             * becomes a tombstone until nothing deeper overlaps. */
            r.tombstone = true;
            r.val = NULL;
            r.vlen = 0;
            r.expire_ms = -1;
        }
        if (r.tombstone && c.drop_tombstones) continue;
        if (w && sst_writer_file_bytes(w) >= l->o.target_file_bytes) {
            sst_props pr;
            char path[4096];
            manifest_sst_path(path, sizeof(path), l->dir, wnum);
            st = sst_writer_finish(w, &pr, err, errlen);
            w = NULL;
            if (st) break;
            sst_props_free(&pr);
            sst *t;
            if ((st = sst_open(path, &t, err, errlen))) {
                unlink(path);
                break;
            }
            if (nouts == capouts) {
                capouts = capouts ? capouts * 2 : 8;
                lsm_file **no = realloc(outs, (size_t)capouts * sizeof(*outs));
                if (!no) {
                    sst_close(t);
                    unlink(path);
                    st = LSM_NOMEM;
                    break;
                }
                outs = no;
            }
            if (!(outs[nouts] = file_new(l, wnum, t))) {
                sst_close(t);
                unlink(path);
                st = LSM_NOMEM;
                break;
            }
            out_bytes += outs[nouts++]->size;
        }
        if (!w) {
            char path[4096];
            wnum = alloc_file_number(l);
            manifest_sst_path(path, sizeof(path), l->dir, wnum);
            if ((st = sst_writer_open(path, l->o.block_size, l->o.bloom_bits_per_key, &w, err,
                                      errlen)))
                break;
        }
        if ((st = sst_writer_add(w, &r, err, errlen))) break;
    }
    if (!st && m.st) {
        st = m.st;
        seterr(err, errlen, "%s", m.err);
    }
    if (!st && w) {
        /* The last output (same steps as a cut). */
        char path[4096];
        manifest_sst_path(path, sizeof(path), l->dir, wnum);
        st = sst_writer_finish(w, NULL, err, errlen);
        w = NULL;
        sst *t = NULL;
        if (!st && (st = sst_open(path, &t, err, errlen))) unlink(path);
        if (!st) {
            lsm_file **no = realloc(outs, (size_t)(nouts + 1) * sizeof(*outs));
            if (no) outs = no;
            if (!no || !(outs[nouts] = file_new(l, wnum, t))) {
                sst_close(t);
                unlink(path);
                st = LSM_NOMEM;
            } else {
                out_bytes += outs[nouts++]->size;
            }
        }
    }
    int saved_errno = errno;
    if (w) sst_writer_abort(w);
    merger_free(&m);
    if (st == LSM_OK) {
        fault_point(FAULT_AT_COMPACTION);
        pthread_mutex_lock(&l->edit_mu);
        pthread_mutex_lock(&l->mu);
        version *nv = do_version_edit(l->cur, c.in, c.nin0 + c.nin1, outs, nouts, c.out_level);
        uint64_t dseq = l->durable_seq, eseq = l->db_edit_seq;
        uint32_t next_phys = l->next_phys;
        pthread_mutex_unlock(&l->mu);
        if (!nv) st = LSM_NOMEM;
        else st = do_write_manifest(l, nv, dseq, eseq, next_phys, l->phys, err, errlen);
        saved_errno = errno;
        if (st == LSM_OK) {
            install_version(l, nv, c.in, c.nin0 + c.nin1);
            __atomic_add_fetch(&l->compactions, 1, __ATOMIC_RELAXED);
            __atomic_add_fetch(&l->compaction_read_bytes, in_bytes, __ATOMIC_RELAXED);
            __atomic_add_fetch(&l->compaction_written_bytes, out_bytes, __ATOMIC_RELAXED);
            *did = true;
            nouts = 0; /* owned by the version now */
        } else if (nv) {
            discard_version(l, nv, outs, nouts);
            nouts = 0;
        }
        pthread_mutex_unlock(&l->edit_mu);
    }
    for (int i = 0; i < nouts; i++) {
        /* Outputs never installed. */
        sst_close(outs[i]->table);
        unlink(outs[i]->path);
        free(outs[i]);
    }
    free(outs);
    free(c.in);
    free(phys);
    version_unref(l, v);
    __atomic_store_n(&l->compacting, false, __ATOMIC_RELAXED);
    errno = saved_errno;
    return st;
}

enum lsm_status lsm_compact_all(lsm *l, char *err, size_t errlen) {
    enum lsm_status st = LSM_OK;
    pthread_mutex_lock(&l->compact_mu);
    for (bool did = true; did && st == LSM_OK;) st = compact_once(l, &did, err, errlen);
    pthread_mutex_unlock(&l->compact_mu);
    return st;
}

static void *compaction_thread(void *arg) {
    lsm *l = arg;
    mem_thread_register();
    pthread_setname_np(pthread_self(), "strata-lsm");
    pthread_mutex_lock(&l->mu);
    while (!l->stopping) {
        if (!l->bg_work) {
            pthread_cond_wait(&l->cv, &l->mu);
            continue;
        }
        l->bg_work = false;
        pthread_mutex_unlock(&l->mu);
        char err[512];
        bool did = false;
        pthread_mutex_lock(&l->compact_mu);
        enum lsm_status st = compact_once(l, &did, err, sizeof(err));
        int e = errno;
        pthread_mutex_unlock(&l->compact_mu);
        pthread_mutex_lock(&l->mu);
        if (st != LSM_OK && !l->stopping) {
            /* Record and retry later (disk full, say): never abort. */
            __atomic_store_n(&l->last_bg_error,
                             st == LSM_IO && e ? e : st == LSM_NOMEM ? ENOMEM : EIO,
                             __ATOMIC_RELAXED);
            log_warning("LSM background compaction failed: %s (retrying in 1 s)", err);
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_cond_timedwait(&l->cv, &l->mu, &ts);
            l->bg_work = true;
        } else if (st == LSM_OK) {
            if (did) {
                __atomic_store_n(&l->last_bg_error, 0, __ATOMIC_RELAXED);
                l->bg_work = true; /* maybe more is due */
            }
        }
    }
    pthread_mutex_unlock(&l->mu);
    mem_thread_exit();
    return NULL;
}

/* ---- stats ---- */

void lsm_get_stats(lsm *l, lsm_stats *st) {
    memset(st, 0, sizeof(*st));
    version *v = version_ref(l);
    for (int lv = 0; lv < LSM_LEVELS; lv++) {
        st->files[lv] = v->n[lv];
        st->bytes[lv] = level_bytes(v, lv);
        st->total_bytes += st->bytes[lv];
        if (v->n[lv]) st->levels = lv + 1;
        if (lv == 0 && v->n[0] >= l->o.l0_compaction_trigger) st->pending_compaction_bytes += st->bytes[0];
        if (lv > 0 && lv < LSM_LEVELS - 1 && st->bytes[lv] > level_target(l, lv))
            st->pending_compaction_bytes += st->bytes[lv] - level_target(l, lv);
    }
    version_unref(l, v);
    st->compacting = __atomic_load_n(&l->compacting, __ATOMIC_RELAXED);
    st->compactions = __atomic_load_n(&l->compactions, __ATOMIC_RELAXED);
    st->compaction_read_bytes = __atomic_load_n(&l->compaction_read_bytes, __ATOMIC_RELAXED);
    st->compaction_written_bytes = __atomic_load_n(&l->compaction_written_bytes, __ATOMIC_RELAXED);
    st->flushes = __atomic_load_n(&l->flushes, __ATOMIC_RELAXED);
    st->flushed_bytes = __atomic_load_n(&l->flushed_bytes, __ATOMIC_RELAXED);
    st->gets = __atomic_load_n(&l->gets, __ATOMIC_RELAXED);
    st->bloom_negatives = __atomic_load_n(&l->bloom_negatives, __ATOMIC_RELAXED);
    st->block_reads = __atomic_load_n(&l->block_reads, __ATOMIC_RELAXED);
    st->last_bg_error = __atomic_load_n(&l->last_bg_error, __ATOMIC_RELAXED);
}
