/* check_wal.c: `strata-check wal <file|dir> [--dump]`: walk WAL segments
 * with the server's own reader (src/wal_format.c), verify every checksum
 * and that sequence numbers follow each other across segments, print the
 * first problem as "file offset: reason". Read-only: never repairs. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "wal_format.h"

static void put_bytes(const char *p, size_t n) {
    putchar('"');
    size_t shown = n > 200 ? 200 : n;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c >= 0x20 && c < 0x7f) putchar(c);
        else printf("\\x%02x", c);
    }
    putchar('"');
    if (shown < n) printf("...(%zu bytes)", n);
}

static void dump(const wal_rec *r) {
    printf("seq=%" PRIu64 " %s", r->seq, walf_op_name(r->op));
    switch (r->op) {
    case WALF_SET:
        printf(" db=%u key=", r->db);
        put_bytes(r->key, r->klen);
        printf(" value=");
        put_bytes(r->val, r->vlen);
        printf(" expire_ms=%" PRId64 " flags=0x%x", r->expire_ms, r->flags);
        break;
    case WALF_DEL:
        printf(" db=%u key=", r->db);
        put_bytes(r->key, r->klen);
        break;
    case WALF_EXPIRE:
        printf(" db=%u key=", r->db);
        put_bytes(r->key, r->klen);
        printf(" expire_ms=%" PRId64, r->expire_ms);
        break;
    case WALF_SETRANGE:
        printf(" db=%u key=", r->db);
        put_bytes(r->key, r->klen);
        printf(" offset=%" PRIu64 " data=", r->offset);
        put_bytes(r->val, r->vlen);
        break;
    case WALF_FLUSHDB: printf(" db=%u", r->db); break;
    case WALF_SWAPDB: printf(" a=%u b=%u", r->db, r->db2); break;
    default: break;
    }
    putchar('\n');
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int check_wal_main(int argc, char **argv) {
    const char *target = NULL;
    bool want_dump = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dump")) want_dump = true;
        else target = argv[i];
    }
    if (!target) {
        fprintf(stderr, "Usage: strata-check wal <file|dir> [--dump]\n");
        return 3;
    }
    char **files = NULL;
    int n = 0;
    struct stat st;
    if (stat(target, &st) != 0) {
        perror(target);
        return 3;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(target);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            uint64_t s;
            if (!walf_parse_segment_name(de->d_name, &s)) continue;
            files = realloc(files, sizeof(char *) * (size_t)(n + 1));
            size_t len = strlen(target) + strlen(de->d_name) + 2;
            files[n] = malloc(len);
            snprintf(files[n], len, "%s/%s", target, de->d_name);
            n++;
        }
        if (d) closedir(d);
        if (n) qsort(files, (size_t)n, sizeof(char *), cmp_str);   /* zero-padded: name order is seq order */
    } else {
        files = malloc(sizeof(char *));
        files[0] = strdup(target);
        n = 1;
    }
    int rc = 0;
    uint64_t expect = 0, total = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        walf_reader r;
        enum walf_status s = walf_open(&r, files[i]);
        uint64_t count = 0, first = 0, last = 0;
        if (s == WALF_OK && expect && r.start_seq != expect) {
            printf("BAD %s offset 0: records %" PRIu64 "..%" PRIu64 " are missing (segment gap)\n", files[i],
                   expect, r.start_seq - 1);
            rc = 1;
        }
        if (s == WALF_OK && !rc) expect = r.start_seq;
        wal_rec rec;
        while (s == WALF_OK && !rc) {
            size_t at = r.off;
            s = walf_next(&r, &rec);
            if (s != WALF_OK) break;
            if (rec.seq != expect) {
                printf("BAD %s offset %zu: record seq %" PRIu64 " where %" PRIu64 " was expected\n", files[i], at,
                       rec.seq, expect);
                rc = 1;
                break;
            }
            expect = rec.seq + 1;
            if (!first) first = rec.seq;
            last = rec.seq;
            count++;
            if (want_dump) dump(&rec);
        }
        if (!rc) {
            if (s == WALF_END) {
                printf("OK %s: %" PRIu64 " records", files[i], count);
                if (count) printf(", seq %" PRIu64 "..%" PRIu64, first, last);
                printf(", %zu bytes\n", r.size);
            } else if (s == WALF_TORN) {
                printf("TORN %s offset %zu: %s (%s)\n", files[i], r.off, r.err,
                       i == n - 1 ? "a crash mid-write; strata cuts it at start with aof-load-truncated yes"
                                  : "not the last segment: corruption");
                rc = i == n - 1 ? 2 : 1;
            } else if (s == WALF_IO) {
                printf("ERROR %s: %s\n", files[i], r.err);
                rc = 3;
            } else {
                printf("BAD %s offset %zu: %s\n", files[i], r.off, r.err);
                rc = 1;
            }
        }
        total += count;
        walf_close(&r);
    }
    if (rc == 0) printf("%d segment(s), %" PRIu64 " records, all checksums good\n", n, total);
    for (int i = 0; i < n; i++) free(files[i]);
    free(files);
    return rc;
}
