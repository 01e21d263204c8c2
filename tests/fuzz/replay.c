/* replay.c: the main() of test_fuzz_<name>, the unit test that replays a
 * fuzz target's committed inputs without libFuzzer: every file under
 * tests/fuzz/corpus/<name>/ and tests/fuzz/regress/<name>/ goes through
 * LLVMFuzzerTestOneInput once. A crash or a broken FUZZ_CHECK aborts the
 * binary (run-all.sh counts it as a failure); otherwise it prints one PASS
 * line per directory and the summary line. FUZZ_NAME is set by the
 * Makefile. Runs from the repository root, as run-all.sh does. */
#include "fuzz.h"

#include <dirent.h>
#include <string.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target"
#endif

static int replay_dir(const char *dir, int *nfiles) {
    DIR *d = opendir(dir);
    if (!d) return 0;   /* a target may have no regressions yet */
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        size_t cap = 1 << 16, len = 0;
        uint8_t *buf = malloc(cap);
        size_t n;
        while ((n = fread(buf + len, 1, cap - len, f)) > 0) {
            len += n;
            if (len == cap) buf = realloc(buf, cap *= 2);
        }
        fclose(f);
        /* An exact-size copy, so ASan sees any read past the input. */
        uint8_t *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        free(buf);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        (*nfiles)++;
    }
    closedir(d);
    return 1;
}

int main(void) {
    const char *kinds[] = {"corpus", "regress"};
    int pass = 0, fail = 0;
    for (int i = 0; i < 2; i++) {
        char dir[256];
        snprintf(dir, sizeof(dir), "tests/fuzz/%s/%s", kinds[i], FUZZ_NAME);
        int nfiles = 0;
        int found = replay_dir(dir, &nfiles);
        if (i == 0 && (!found || nfiles == 0)) {
            printf("FAIL fuzz_%s_corpus: no seed files in %s\n", FUZZ_NAME, dir);
            fail++;
            continue;
        }
        if (!found) continue;
        printf("PASS fuzz_%s_%s (%d files)\n", FUZZ_NAME, kinds[i], nfiles);
        pass++;
    }
    printf("%d passed, %d failed\n", pass, fail);
    return fail != 0;
}
