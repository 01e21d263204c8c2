/* fuzz.h: what every fuzz target in tests/fuzz/ shares. A target is one
 * file fuzz_<name>.c defining LLVMFuzzerTestOneInput (and, if it needs it,
 * fuzz_init). The same file is built two ways (Makefile):
 *   - with clang -fsanitize=fuzzer,address,undefined into
 *     build-fuzz/fuzz/fuzz_<name>, which `make fuzz` runs for FUZZ_SECONDS
 *     over tests/fuzz/corpus/<name>/ (tests/fuzz/run.sh);
 *   - with replay.c's main() into $(BUILD)/tests/test_fuzz_<name>, a unit
 *     test that `make test` and `make asan` run: it feeds every file of
 *     tests/fuzz/corpus/<name>/ and tests/fuzz/regress/<name>/ (crashes
 *     found once, kept forever) through the target.
 * Adding a target (the WAL and SSTable readers when they land) is adding
 * one fuzz_<name>.c and a seed directory; nothing else changes.
 * A target reports a broken invariant with FUZZ_CHECK, which aborts so
 * libFuzzer saves the input and the replay test fails. */
#ifndef STRATA_FUZZ_H
#define STRATA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,      \
                    __LINE__, #cond);                                       \
            abort();                                                        \
        }                                                                   \
    } while (0)

#endif
