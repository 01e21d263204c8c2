/* bloom.c: bloom filters for SSTables; the format is in
 * docs/sstable_format.md ("Bloom block"), the contract in bloom.h. */
#include "bloom.h"

#include <string.h>
#include <xxhash.h>

uint64_t bloom_hash(uint32_t db, const char *key, size_t klen) {
    return XXH3_64bits_withSeed(klen ? key : "", klen, db);
}

static size_t bloom_bits(size_t n, int bits_per_key) {
    size_t bits = n * (size_t)(bits_per_key > 0 ? bits_per_key : 1);
    /* A tiny filter has a high false-positive rate whatever k is. */
    if (bits < 64) bits = 64;
    return (bits + 7) / 8 * 8;
}

size_t bloom_encoded_size(size_t n, int bits_per_key) {
    return bloom_bits(n, bits_per_key) / 8 + 1;
}

static int bloom_k(int bits_per_key) {
    /* k = ln 2 * bits/key minimises the false-positive rate. */
    int k = (int)(bits_per_key * 0.69);
    if (k < 1) k = 1;
    if (k > 30) k = 30;
    return k;
}

void bloom_build(const uint64_t *hashes, size_t n, int bits_per_key, unsigned char *out) {
    size_t nbits = bloom_bits(n, bits_per_key);
    int k = bloom_k(bits_per_key);
    memset(out, 0, nbits / 8);
    for (size_t i = 0; i < n; i++) {
        uint64_t h1 = hashes[i] & 0xffffffffu, h2 = hashes[i] >> 32;
        for (int j = 0; j < k; j++) {
            uint64_t bit = (h1 + (uint64_t)j * h2) % nbits;
            out[bit / 8] |= (unsigned char)(1u << (bit % 8));
        }
    }
    out[nbits / 8] = (unsigned char)k;
}

bool bloom_may_contain(const unsigned char *filter, size_t len, uint64_t hash) {
    if (len < 2) return true;
    size_t nbits = (len - 1) * 8;
    int k = filter[len - 1];
    if (k < 1 || k > 30) return true;
    uint64_t h1 = hash & 0xffffffffu, h2 = hash >> 32;
    for (int j = 0; j < k; j++) {
        uint64_t bit = (h1 + (uint64_t)j * h2) % nbits;
        if (!(filter[bit / 8] & (1u << (bit % 8)))) return false;
    }
    return true;
}
