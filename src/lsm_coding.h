/* lsm_coding.h: byte-order and varint helpers shared by the on-disk formats
 * of the LSM engine (sstable.c, manifest.c). Every fixed-width integer on
 * disk is little-endian; varints are LevelDB's base-128 (7 bits per byte,
 * low group first, high bit = more). Header-only so each user inlines them. */
#ifndef STRATA_LSM_CODING_H
#define STRATA_LSM_CODING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void enc_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline void enc_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static inline uint32_t dec_u32(const unsigned char *p) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}
static inline uint64_t dec_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Writes at most 10 bytes; returns the count. */
static inline size_t enc_varint(unsigned char *p, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* Reads a varint from [*p, end); returns 0 on a truncated or overlong one. */
static inline int dec_varint(const unsigned char **p, const unsigned char *end, uint64_t *out) {
    uint64_t v = 0;
    for (int shift = 0; shift <= 63 && *p < end; shift += 7) {
        unsigned char b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/* Total order of the engine's keys: physical db, then key bytes, a key that
 * is a prefix of another sorting first. */
static inline int lsm_key_cmp(uint32_t adb, const char *a, size_t alen, uint32_t bdb,
                              const char *b, size_t blen) {
    if (adb != bdb) return adb < bdb ? -1 : 1;
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c) return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

#endif
