/* test_bloom.c: the SSTable bloom filter: no false negatives, and the
 * false-positive rate measured at 10 bits/key is near the ~1% theory. */
#include "bloom.h"
#include "unit.h"

static uint64_t *keys_hashes(size_t n, uint32_t db, size_t base) {
    uint64_t *h = malloc(n * sizeof(*h));
    char k[32];
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(k, sizeof(k), "key:%zu", base + i);
        h[i] = bloom_hash(db, k, (size_t)len);
    }
    return h;
}

TEST(no_false_negatives) {
    for (size_t n = 0; n <= 10000; n = n ? n * 10 : 1) {
        uint64_t *h = keys_hashes(n ? n : 1, 3, 0);
        size_t len = bloom_encoded_size(n, 10);
        unsigned char *f = malloc(len);
        bloom_build(h, n, 10, f);
        for (size_t i = 0; i < n; i++)
            if (!CHECK(bloom_may_contain(f, len, h[i]))) break;
        free(f);
        free(h);
    }
}

TEST(false_positive_rate_10_bits) {
    size_t n = 100000, probes = 200000;
    uint64_t *h = keys_hashes(n, 0, 0);
    size_t len = bloom_encoded_size(n, 10);
    unsigned char *f = malloc(len);
    bloom_build(h, n, 10, f);
    uint64_t *q = keys_hashes(probes, 0, n); /* keys never added */
    size_t fp = 0;
    for (size_t i = 0; i < probes; i++) fp += bloom_may_contain(f, len, q[i]);
    double rate = (double)fp / (double)probes;
    fprintf(stderr, "  bloom: 10 bits/key, %zu keys: false-positive rate %.3f%%\n", n, rate * 100);
    CHECK(rate < 0.015);
    CHECK(rate > 0.002); /* the filter is not degenerate (e.g. all bits set to 1 never fails) */
    free(q);
    free(h);
    free(f);
}

TEST(db_is_part_of_the_hash) {
    CHECK(bloom_hash(0, "k", 1) != bloom_hash(1, "k", 1));
    CHECK(bloom_hash(0, "", 0) == bloom_hash(0, NULL, 0));
}

TEST(malformed_filter_never_hides) {
    unsigned char f[9] = {0};
    CHECK(bloom_may_contain(f, 1, 42));
    f[8] = 0; /* k = 0 */
    CHECK(bloom_may_contain(f, 9, 42));
    f[8] = 99;
    CHECK(bloom_may_contain(f, 9, 42));
}
