/* util.c: clocks, Redis-exact number parsing and formatting, glob matching
 * and allocation wrappers. The number rules matter: clients see them in
 * error replies ("value is not an integer or out of range") and in the text
 * of INCRBYFLOAT results, so they follow Redis's definitions exactly. */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <malloc.h>
#ifdef USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif
#ifdef __SANITIZE_ADDRESS__
size_t __sanitizer_get_current_allocated_bytes(void);   /* libasan */
#endif

int64_t util_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t util_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t util_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool util_str2ll(const char *s, size_t len, long long *out) {
    if (len == 0 || len > 20) return false;
    size_t i = 0;
    bool neg = false;
    if (len == 1 && s[0] == '0') { *out = 0; return true; }
    if (s[0] == '-') {
        neg = true;
        i = 1;
        if (len == 1) return false;
    }
    if (s[i] < '1' || s[i] > '9') return false;
    unsigned long long v = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (ULLONG_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1) return false;
        *out = (long long)(0 - v);
    } else {
        if (v > LLONG_MAX) return false;
        *out = (long long)v;
    }
    return true;
}

bool util_str2ld(const char *s, size_t len, long double *out) {
    char buf[5200];
    if (len == 0 || len >= sizeof(buf)) return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (isspace((unsigned char)buf[0])) return false;
    char *end;
    errno = 0;
    long double v = strtold(buf, &end);
    if ((size_t)(end - buf) != len || isnan(v)) return false;
    if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO))
        return false;
    *out = v;
    return true;
}

int util_ll2str(char *buf, long long v) {
    char tmp[24];
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
    int n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    int len = 0;
    if (v < 0) buf[len++] = '-';
    while (n) buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

int util_ld2str(char *buf, size_t len, long double v) {
    if (isinf(v)) {
        if (len < 5) return 0;
        return snprintf(buf, len, "%s", v > 0 ? "inf" : "-inf");
    }
    /* Redis's human mode: 17 digits after the point, then trim zeros so
     * 10.5 prints as "10.5" and 3e3 as "3000". */
    int n = snprintf(buf, len, "%.17Lf", v);
    if (n < 0 || (size_t)n >= len) return 0;
    if (strchr(buf, '.')) {
        char *p = buf + n - 1;
        while (*p == '0') { p--; n--; }
        if (*p == '.') n--;
        buf[n] = '\0';
    }
    if (n == 2 && buf[0] == '-' && buf[1] == '0') {  /* "-0" prints as "0" */
        buf[0] = '0';
        buf[1] = '\0';
        n = 1;
    }
    return n;
}

int util_d2str(char *buf, size_t len, double v) {
    if (isinf(v)) return snprintf(buf, len, "%s", v > 0 ? "inf" : "-inf");
    if (isnan(v)) return snprintf(buf, len, "nan");
    return snprintf(buf, len, "%.17g", v);
}

static bool glob_match(const char *p, size_t plen, const char *s, size_t slen,
                       bool nocase, int depth, bool *skip) {
    /* Recursion depth is bounded by the number of '*' runs; a pattern of
     * many stars against a long string is what makes naive matchers
     * exponential, so collapse consecutive stars first. */
    bool consumed = false;
    while (plen && slen) {
        consumed = true;
        switch (*p) {
        case '*':
            while (plen > 1 && p[1] == '*') { p++; plen--; }
            if (plen == 1) return true;
            if (depth > 1000) return false;
            for (size_t i = 0; i < slen; i++) {
                if (glob_match(p + 1, plen - 1, s + i, slen - i, nocase, depth + 1, skip))
                    return true;
                if (*skip) return false;
            }
            /* The rest of the pattern matches no suffix of the string, so
             * an earlier star eating more cannot help either: stop every
             * level (Redis's skipLongerMatches). Without this, "a*a*a*...b"
             * against a run of 'a' is exponential (CVE-2022-36021). */
            *skip = true;
            return false;
        case '?':
            break;
        case '[': {
            p++; plen--;
            bool neg = plen && *p == '^';
            if (neg) { p++; plen--; }
            bool match = false;
            while (plen && *p != ']') {
                if (*p == '\\' && plen >= 2) {
                    p++; plen--;
                    if (*p == *s) match = true;
                } else if (plen >= 3 && p[1] == '-') {
                    int a = (unsigned char)p[0], b = (unsigned char)p[2];
                    int c = (unsigned char)*s;
                    if (a > b) { int t = a; a = b; b = t; }
                    if (nocase) { a = tolower(a); b = tolower(b); c = tolower(c); }
                    if (c >= a && c <= b) match = true;
                    p += 2; plen -= 2;
                } else {
                    if (nocase ? tolower((unsigned char)*p) == tolower((unsigned char)*s)
                               : *p == *s)
                        match = true;
                }
                p++; plen--;
            }
            if (plen == 0) { /* unterminated class: Redis treats end as ']' */
                p--; plen++;
            }
            if (neg) match = !match;
            if (!match) return false;
            break;
        }
        case '\\':
            if (plen >= 2) { p++; plen--; }
            /* fallthrough */
        default:
            if (nocase ? tolower((unsigned char)*p) != tolower((unsigned char)*s) : *p != *s)
                return false;
            break;
        }
        p++; plen--;
        s++; slen--;
    }
    /* Trailing stars match the empty rest of the string, but only once
     * a character was consumed: Redis's matcher has "**" not match "". */
    if (consumed)
        while (plen && *p == '*') { p++; plen--; }
    return plen == 0 && slen == 0;
}

bool util_glob_match(const char *pat, size_t plen, const char *s, size_t slen, bool nocase) {
    /* KEYS and SCAN treat a lone "*" as "everything", even the empty key. */
    if (plen == 1 && pat[0] == '*') return true;
    bool skip = false;
    return glob_match(pat, plen, s, slen, nocase, 0, &skip);
}

bool util_eq_nocase(const char *s, size_t len, const char *word) {
    size_t wl = strlen(word);
    return wl == len && strncasecmp(s, word, len) == 0;
}

bool util_parse_memory(const char *s, unsigned long long *out) {
    /* Redis's memtoull, quirks included: digits then an optional unit;
     * no sign or space; no digits at all is 0 (CONFIG SET maxmemory ""
     * replies OK); more digits than fit saturate (strtoull), and the unit
     * multiplies modulo 2^64 ("18446744073709551615kb" is accepted). */
    const char *u = s;
    while (*u >= '0' && *u <= '9') u++;
    unsigned long long mul;
    if (!*u || !strcasecmp(u, "b")) mul = 1;
    else if (!strcasecmp(u, "k")) mul = 1000;
    else if (!strcasecmp(u, "kb")) mul = 1024;
    else if (!strcasecmp(u, "m")) mul = 1000 * 1000;
    else if (!strcasecmp(u, "mb")) mul = 1024 * 1024;
    else if (!strcasecmp(u, "g")) mul = 1000ULL * 1000 * 1000;
    else if (!strcasecmp(u, "gb")) mul = 1024ULL * 1024 * 1024;
    else return false;
    if (u - s >= 128) return false;      /* memtoull's digit buffer */
    unsigned long long v = 0;
    for (const char *p = s; p < u; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (ULLONG_MAX - d) / 10) {
            v = ULLONG_MAX;
            break;
        }
        v = v * 10 + d;
    }
    *out = v * mul;
    return true;
}

static void oom(size_t n) {
    fprintf(stderr, "strata: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *xcalloc(size_t n, size_t m) {
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p) oom(n * m);
    return p;
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *xstrdup(const char *s) { return xstrndup(s, strlen(s)); }

char *xstrndup(const char *s, size_t n) {
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

size_t util_alloc_size(void *p) { return malloc_usable_size(p); }

size_t util_rss_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, rss = 0;
    if (fscanf(f, "%lu %lu", &size, &rss) != 2) rss = 0;
    fclose(f);
    return rss * (size_t)sysconf(_SC_PAGESIZE);
}

bool util_allocator_stats(size_t *allocated, size_t *active, size_t *resident) {
    *allocated = *active = *resident = 0;
#ifdef USE_JEMALLOC
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    sz = sizeof(size_t);
    return mallctl("stats.allocated", allocated, &sz, NULL, 0) == 0 &&
           mallctl("stats.active", active, &sz, NULL, 0) == 0 &&
           mallctl("stats.resident", resident, &sz, NULL, 0) == 0;
#else
    return false;
#endif
}

#ifdef USE_JEMALLOC
typedef struct stats_sink {
    util_text_fn *fn;
    void *priv;
} stats_sink;

static void stats_write(void *opaque, const char *s) {
    stats_sink *k = opaque;
    k->fn(k->priv, s, strlen(s));
}
#endif

bool util_allocator_report(util_text_fn *fn, void *priv) {
#ifdef USE_JEMALLOC
    stats_sink k = {fn, priv};
    malloc_stats_print(stats_write, &k, NULL);
    return true;
#else
    (void)fn;
    (void)priv;
    return false;
#endif
}

bool util_allocator_purge(void) {
#ifdef USE_JEMALLOC
    /* Give unused dirty pages of every arena back to the OS. */
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.purge", (unsigned)MALLCTL_ARENAS_ALL);
    return mallctl(name, NULL, NULL, NULL, 0) == 0;
#else
    malloc_trim(0);
    return true;
#endif
}
