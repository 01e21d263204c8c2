/* strata-check: offline verification of strata's on-disk files.
 *
 *   strata-check wal <segment file | wal directory> [--dump]
 *   strata-check sst|manifest|dir ...      (tools/check/check_lsm.c)
 *
 * Each subcommand verifies every checksum and exits non-zero naming the
 * first bad file and offset; --dump prints records readably. main.c only
 * dispatches. */
#include <stdio.h>
#include <string.h>

int check_wal_main(int argc, char **argv);

/* ---- LSM subcommands ------------------------------------------------------
 * tools/check/check_lsm.c (the LSM work) defines
 *     int check_lsm_main(int argc, char **argv);
 * for `strata-check sst|manifest|dir ...` (argv[0] is the subcommand).
 * The declaration is weak so that this file links without it too; the
 * Makefile builds every file of tools/check/ into strata-check. */
int check_lsm_main(int argc, char **argv) __attribute__((weak));

static void usage(void) {
    fprintf(stderr,
            "Usage: strata-check wal <file|dir> [--dump]   verify WAL segments (docs/wal_format.md)\n"
            "       strata-check sst [--dump] <file>...    verify SSTables (docs/sstable_format.md)\n"
            "       strata-check manifest [--dump] <file>  verify a MANIFEST (docs/manifest_format.md)\n"
            "       strata-check dir [--dump] <lsm dir>    the MANIFEST and every file it names\n"
            "Exit status: 0 all good, 1 corruption (file and offset printed); wal: 2 torn tail only,\n"
            "             3 I/O or usage error; sst/manifest/dir: 2 usage error.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage();
        return argc < 2 ? 3 : 0;
    }
    if (!strcmp(argv[1], "wal")) return check_wal_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "sst") || !strcmp(argv[1], "manifest") || !strcmp(argv[1], "dir")) {
        if (!check_lsm_main) {
            fprintf(stderr, "strata-check: '%s' is not built into this binary yet\n", argv[1]);
            return 3;
        }
        return check_lsm_main(argc - 1, argv + 1);
    }
    fprintf(stderr, "strata-check: unknown subcommand '%s'\n", argv[1]);
    usage();
    return 3;
}
