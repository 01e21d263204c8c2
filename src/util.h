/* util.h: small helpers shared by every module: clocks, Redis-exact number
 * parsing and formatting, glob matching, growable byte buffers. */
#ifndef STRATA_UTIL_H
#define STRATA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t util_ms(void);       /* wall clock, unix ms */
int64_t util_us(void);       /* wall clock, unix us */
int64_t util_mono_us(void);  /* monotonic us, for durations */

/* Parse exactly like Redis's string2ll: optional '-', digits, no spaces, no
 * '+', no leading zeros (except "0"), no overflow. */
bool util_str2ll(const char *s, size_t len, long long *out);
/* Like Redis's string2ld (strtold, no spaces, not NaN). */
bool util_str2ld(const char *s, size_t len, long double *out);
/* Decimal formatting; returns the length written (buf >= 21 bytes). */
int util_ll2str(char *buf, long long v);
/* Redis's ld2string in LD_STR_HUMAN mode (INCRBYFLOAT replies): "%.17Lf"
 * with trailing zeros and a trailing dot removed. buf >= 5200 bytes is
 * never needed: returns 0 if it does not fit in len. */
int util_ld2str(char *buf, size_t len, long double v);
/* Redis's double formatting for RESP2 bulk doubles ("%.17g" style). */
int util_d2str(char *buf, size_t len, double v);

/* Glob-style match as Redis's KEYS/SCAN MATCH/CONFIG GET use it:
 * *, ?, [abc], [^a], [a-z], and \ escapes. */
bool util_glob_match(const char *pat, size_t plen, const char *s, size_t slen,
                     bool nocase);

/* Case-insensitive compare of a length-delimited string to a C string. */
bool util_eq_nocase(const char *s, size_t len, const char *word);

/* Memory units as redis.conf reads them (Redis's memtoull): 1k=1000,
 * 1kb=1024, m, mb, g, gb, b; digits only. Too many digits saturate and the
 * unit then wraps modulo 2^64, as in Redis; callers with a signed field
 * see such values as negative and reject them by their bounds. */
bool util_parse_memory(const char *s, unsigned long long *out);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Bytes the allocator really gave for p (malloc_usable_size). */
size_t util_alloc_size(void *p);
size_t util_rss_bytes(void);
/* jemalloc's stats.allocated / active / resident; false (all 0) under
 * libc. */
bool util_allocator_stats(size_t *allocated, size_t *active, size_t *resident);
/* The allocator's own report (jemalloc's malloc_stats_print), in pieces
 * passed to fn; false if the allocator has none. */
typedef void util_text_fn(void *priv, const char *p, size_t n);
bool util_allocator_report(util_text_fn *fn, void *priv);
/* Return unused pages to the OS (jemalloc arena purge, malloc_trim). */
bool util_allocator_purge(void);

#endif
