/* bloom.h: the per-SSTable bloom filter (docs/sstable_format.md, "Bloom
 * block"). One 64-bit XXH3 hash per key; the k probe positions come from it
 * by double hashing (Kirsch & Mitzenmacher: g_i = h1 + i*h2), so building
 * and probing hash the key once. Pure functions over caller-owned buffers,
 * callable from any thread. */
#ifndef STRATA_BLOOM_H
#define STRATA_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The hash the filter is built from: XXH3_64bits of the key seeded with
 * the physical db id. */
uint64_t bloom_hash(uint32_t db, const char *key, size_t klen);

/* Bytes of the encoded filter for n keys at bits_per_key (>= 1). */
size_t bloom_encoded_size(size_t n, int bits_per_key);
/* Encode a filter over `hashes` into out (bloom_encoded_size bytes):
 * the bit array, then one byte k (number of probes). */
void bloom_build(const uint64_t *hashes, size_t n, int bits_per_key, unsigned char *out);
/* False only if the key is certainly absent. A malformed filter (len < 2,
 * or k out of range) answers true: it can never hide a key. */
bool bloom_may_contain(const unsigned char *filter, size_t len, uint64_t hash);

#endif
