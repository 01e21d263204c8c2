/* check_lsm.c: strata-check's LSM part: verify (and dump) SSTables, a
 * MANIFEST, or a whole LSM directory, reading the formats of
 * docs/sstable_format.md and docs/manifest_format.md through the engine's
 * own readers (src/sstable.c, src/manifest.c).
 *
 *   sst [--dump] <file>...     every checksum, record order, properties
 *   manifest [--dump] <file>   checksum and structure; --dump prints it
 *   dir [--dump] <lsm dir>     the MANIFEST and every file it names (full
 *                              verification), level invariants; files it
 *                              does not name are reported as orphans
 *
 * check_lsm_main(argc, argv): argv[0] is the subcommand (or, when it is not
 * one, the program name and argv[1] the subcommand). Exit status 0 when
 * everything verified, 1 when something is corrupt or unreadable, 2 on a
 * usage error. build/strata-check (tools/check/main.c) dispatches here. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lsm_coding.h"
#include "manifest.h"
#include "sstable.h"

int check_lsm_main(int argc, char **argv);

static int check_lsm_usage(FILE *e) {
    fprintf(e, "usage: sst [--dump] <file>... | manifest [--dump] <file> | dir [--dump] <lsm dir>\n");
    return 2;
}

static int check_sst(char **files, int n, bool dump, FILE *o, FILE *e) {
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char err[1024] = "";
        enum lsm_status st = sst_verify(files[i], dump ? o : NULL, err, sizeof(err));
        if (st) {
            fprintf(e, "CORRUPT %s\n", err[0] ? err : files[i]);
            rc = 1;
        } else {
            fprintf(o, "OK %s\n", files[i]);
        }
    }
    return rc;
}

static int check_manifest(const char *path, bool dump, FILE *o, FILE *e) {
    manifest m;
    char err[1024] = "";
    enum lsm_status st = manifest_read(path, &m, err, sizeof(err));
    if (st == LSM_NOTFOUND) {
        fprintf(e, "MISSING %s\n", path);
        return 1;
    }
    if (st) {
        fprintf(e, "CORRUPT %s\n", err);
        return 1;
    }
    if (dump) manifest_dump(&m, o);
    fprintf(o, "OK %s (%zu files)\n", path, m.nfiles);
    manifest_free(&m);
    return 0;
}

static int cmp_mf(const void *a, const void *b) {
    const manifest_file *x = *(manifest_file *const *)a, *y = *(manifest_file *const *)b;
    return lsm_key_cmp(x->smallest_db, x->smallest, x->smallest_len, y->smallest_db, y->smallest,
                       y->smallest_len);
}

static int check_dir(const char *dir, bool dump, FILE *o, FILE *e) {
    char mpath[4096], err[1024] = "";
    snprintf(mpath, sizeof(mpath), "%s/%s", dir, MANIFEST_NAME);
    manifest m;
    enum lsm_status st = manifest_read(mpath, &m, err, sizeof(err));
    if (st) {
        fprintf(e, "%s %s\n", st == LSM_NOTFOUND ? "MISSING" : "CORRUPT", err[0] ? err : mpath);
        return 1;
    }
    if (dump) manifest_dump(&m, o);
    int rc = 0;
    for (size_t i = 0; i < m.nfiles; i++) {
        const manifest_file *f = &m.files[i];
        char path[4096];
        manifest_sst_path(path, sizeof(path), dir, f->number);
        err[0] = '\0';
        st = sst_verify(path, NULL, err, sizeof(err));
        if (st) {
            fprintf(e, "CORRUPT %s\n", err[0] ? err : path);
            rc = 1;
            continue;
        }
        sst *t;
        if (sst_open(path, &t, err, sizeof(err)) == LSM_OK) {
            const sst_props *p = sst_get_props(t);
            if (p->file_size != f->size || p->entries != f->entries ||
                lsm_key_cmp(p->smallest_db, p->smallest, p->smallest_len, f->smallest_db,
                            f->smallest, f->smallest_len) ||
                lsm_key_cmp(p->largest_db, p->largest, p->largest_len, f->largest_db, f->largest,
                            f->largest_len)) {
                fprintf(e, "CORRUPT %s: size, entries or key range differ from the MANIFEST's\n",
                        path);
                rc = 1;
            } else {
                fprintf(o, "OK L%d %s (%llu entries, %llu bytes)\n", f->level, path,
                        (unsigned long long)f->entries, (unsigned long long)f->size);
            }
            sst_close(t);
        }
    }
    /* Levels >= 1: sorted runs, no two files overlapping. */
    for (int lv = 1; lv < MANIFEST_LEVELS; lv++) {
        manifest_file **fs = malloc((m.nfiles + 1) * sizeof(*fs));
        size_t n = 0;
        for (size_t i = 0; i < m.nfiles; i++)
            if (m.files[i].level == lv) fs[n++] = &m.files[i];
        qsort(fs, n, sizeof(*fs), cmp_mf);
        for (size_t i = 1; i < n; i++)
            if (lsm_key_cmp(fs[i - 1]->largest_db, fs[i - 1]->largest, fs[i - 1]->largest_len,
                            fs[i]->smallest_db, fs[i]->smallest, fs[i]->smallest_len) >= 0) {
                fprintf(e, "CORRUPT %s: files %06llu and %06llu overlap in level %d\n", mpath,
                        (unsigned long long)fs[i - 1]->number, (unsigned long long)fs[i]->number,
                        lv);
                rc = 1;
            }
        free(fs);
    }
    /* Orphans are what a crash leaves; the engine removes them at open. */
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".sst") != 0) continue;
        unsigned long long num = strtoull(de->d_name, NULL, 10);
        bool named = false;
        for (size_t i = 0; i < m.nfiles && !named; i++) named = m.files[i].number == num;
        if (!named) fprintf(o, "ORPHAN %s/%s (not in the MANIFEST; removed at next open)\n", dir,
                            de->d_name);
    }
    if (d) closedir(d);
    if (!rc) fprintf(o, "OK %s (%zu files)\n", dir, m.nfiles);
    manifest_free(&m);
    return rc;
}

static int check_lsm_run(int argc, char **argv, FILE *o, FILE *e) {
    int i = 0;
    if (argc > 0 && strcmp(argv[0], "sst") && strcmp(argv[0], "manifest") && strcmp(argv[0], "dir"))
        i = 1;
    if (i >= argc) return check_lsm_usage(e);
    const char *cmd = argv[i++];
    bool dump = false;
    if (i < argc && strcmp(argv[i], "--dump") == 0) {
        dump = true;
        i++;
    }
    int n = argc - i;
    if (n < 1) return check_lsm_usage(e);
    if (strcmp(cmd, "sst") == 0) return check_sst(argv + i, n, dump, o, e);
    if (n != 1) return check_lsm_usage(e);
    if (strcmp(cmd, "manifest") == 0) return check_manifest(argv[i], dump, o, e);
    if (strcmp(cmd, "dir") == 0) return check_dir(argv[i], dump, o, e);
    return check_lsm_usage(e);
}

int check_lsm_main(int argc, char **argv) { return check_lsm_run(argc, argv, stdout, stderr); }
