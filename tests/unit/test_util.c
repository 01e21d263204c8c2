/* test_util.c: unit tests of src/util.c, the number and pattern rules that
 * clients see in replies. Expected values were taken from a real
 * redis-server 7.0.15 (INCRBY/INCRBYFLOAT/KEYS/CONFIG SET replies), not
 * derived from our own implementation. */
#include "unit.h"

#include <limits.h>
#include <math.h>
#include "util.h"

static bool s2ll(const char *s, long long *out) { return util_str2ll(s, strlen(s), out); }

TEST(util_str2ll_accepts) {
    static const struct { const char *s; long long v; } ok[] = {
        {"0", 0}, {"1", 1}, {"-1", -1}, {"10", 10}, {"1234567890", 1234567890},
        {"9223372036854775807", LLONG_MAX}, {"-9223372036854775808", LLONG_MIN},
        {"-9223372036854775807", -LLONG_MAX},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        long long v = 12345;
        if (CHECK(s2ll(ok[i].s, &v))) CHECK_EQ(v, ok[i].v);
    }
}

/* Every one of these is "ERR value is not an integer or out of range" for
 * INCRBY k <arg> on redis-server 7.0. */
TEST(util_str2ll_rejects) {
    static const char *bad[] = {
        "-0", "01", "00", "-01", " 1", "1 ", "+1", "", "-", "--1", "1a", "a1", "0x10", "1.0",
        "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "99999999999999999999", "-99999999999999999999", "123456789012345678901",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        long long v = 777;
        if (!CHECK(!s2ll(bad[i], &v))) fprintf(stderr, "  accepted \"%s\" as %lld\n", bad[i], v);
    }
    /* Length-delimited: bytes after len are not part of the number, and a
     * NUL inside is not a terminator. */
    long long v;
    CHECK(util_str2ll("123abc", 3, &v) && v == 123);
    CHECK(!util_str2ll("12\0" "3", 4, &v));
}

TEST(util_ll2str) {
    static const long long vals[] = {0, 1, -1, 9, 10, -10, 1000000, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        char buf[32], want[32];
        int n = util_ll2str(buf, vals[i]);
        snprintf(want, sizeof(want), "%lld", vals[i]);
        CHECK_STR(buf, want);
        CHECK_EQ(n, (long long)strlen(want));
        long long back;
        CHECK(util_str2ll(buf, (size_t)n, &back) && back == vals[i]);
    }
}

/* INCRBYFLOAT: parse both operands as Redis does (strtold), add in long
 * double, print in human mode. */
static const char *incrbyfloat(const char *a, const char *b, char *buf, size_t len) {
    long double x, y;
    if (!util_str2ld(a, strlen(a), &x) || !util_str2ld(b, strlen(b), &y)) return "(parse error)";
    if (util_ld2str(buf, len, x + y) == 0) return "(no room)";
    return buf;
}

TEST(util_ld2str_like_incrbyfloat) {
    /* value, increment, redis-server 7.0.15's INCRBYFLOAT reply */
    static const struct { const char *a, *b, *want; } cases[] = {
        {"10", "0.5", "10.5"},
        {"5.0e3", "0", "5000"},
        {"0", "5.0e3", "5000"},
        {"3.0000000000000001", "0", "3.0000000000000001"},
        {"0", "3.0000000000000001", "3.0000000000000001"},
        {"1.1", "2.2", "3.3"},
        {"0.1", "0.2", "0.3"},
        {"10.5", "0.1", "10.6"},
        {"-0", "0", "0"},
        {"0", "-0.0", "0"},
        {"1", "-1", "0"},
        {"0", "-1.5", "-1.5"},
        {"0", "1e-17", "0.00000000000000001"},
        {"0", "1.5e-15", "0.0000000000000015"},
        {"0", "0.00000000000000005", "0.00000000000000005"},
        {"0", "0.000000000000000005", "0"},
        {"0", "1e-20", "0"},
        {"7", "-1e-5", "6.99999"},
        {"17179869184", "0.5", "17179869184.5"},
        {"0", "123456789012345678901234567890", "123456789012345678899921813504"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[5200];
        const char *got = incrbyfloat(cases[i].a, cases[i].b, buf, sizeof(buf));
        if (!CHECK_STR(got, cases[i].want))
            fprintf(stderr, "  for %s + %s\n", cases[i].a, cases[i].b);
    }
    /* 1e300 prints all its digits (the long double nearest 1e300). */
    char buf[5200];
    CHECK_STR(incrbyfloat("0", "1e300", buf, sizeof(buf)),
              "1000000000000000000008997324079559193870523944273290747938260082321265646596"
              "1809357558491520837504971903503725086142748359035925561846729839130962605207"
              "4864628732713564184365329408425510760601678972665293237003055138294762099454"
              "0294772781889620606179267611627097410650567187386105690089424915104006144");
}

TEST(util_ld2str_edges) {
    char buf[64];
    CHECK_EQ(util_ld2str(buf, sizeof(buf), INFINITY), 3);
    CHECK_STR(buf, "inf");
    CHECK_EQ(util_ld2str(buf, sizeof(buf), -INFINITY), 4);
    CHECK_STR(buf, "-inf");
    CHECK_EQ(util_ld2str(buf, 4, -INFINITY), 0);          /* "-inf\0" needs 5 */
    CHECK_EQ(util_ld2str(buf, sizeof(buf), -0.0L), 1);
    CHECK_STR(buf, "0");
    CHECK_EQ(util_ld2str(buf, sizeof(buf), 100.0L), 3);   /* trailing "." removed */
    CHECK_STR(buf, "100");
    CHECK_EQ(util_ld2str(buf, sizeof(buf), -2.5L), 4);
    CHECK_STR(buf, "-2.5");
    /* No room: "%.17Lf" of 1.0 is 19 bytes plus the NUL. */
    CHECK_EQ(util_ld2str(buf, 10, 1.0L), 0);
    CHECK_EQ(util_ld2str(buf, 20, 1.0L), 1);
    CHECK_STR(buf, "1");
}

TEST(util_str2ld) {
    long double v;
    CHECK(util_str2ld("1.5", 3, &v) && v == 1.5L);
    CHECK(util_str2ld("5.0e3", 5, &v) && v == 5000.0L);
    CHECK(util_str2ld("-0", 2, &v) && v == 0);
    CHECK(util_str2ld("inf", 3, &v) && isinf(v));
    CHECK(!util_str2ld("nan", 3, &v));
    CHECK(!util_str2ld(" 1", 2, &v));
    CHECK(!util_str2ld("1 ", 2, &v));
    CHECK(!util_str2ld("", 0, &v));
    CHECK(!util_str2ld("1x", 2, &v));
    CHECK(!util_str2ld("1e999999", 8, &v));            /* overflow */
    CHECK(util_str2ld("1.5xyz", 3, &v) && v == 1.5L);  /* length-delimited */
}

static bool gm(const char *p, const char *s, bool nocase) {
    return util_glob_match(p, strlen(p), s, strlen(s), nocase);
}

/* Case-sensitive expectations checked with KEYS against redis-server 7.0. */
TEST(util_glob_like_redis_keys) {
    static const struct { const char *pat, *s; bool match; } cases[] = {
        {"*", "hello", true}, {"h?llo", "hello", true}, {"h?llo", "hllo", false},
        {"h[a-e]llo", "hello", true}, {"h[a-e]llo", "hfllo", false},
        {"h[^e]llo", "hello", false}, {"h[^e]llo", "hallo", true},
        {"h[e-a]llo", "hcllo", true},                       /* reversed range */
        {"h\\*llo", "h*llo", true}, {"h\\*llo", "hello", false},
        {"h[\\]]llo", "h]llo", true},
        {"h[ab", "ha", true}, {"h[ab", "hb", true}, {"h[ab", "h[", false},
        {"h[", "h", false}, {"h[", "h[", false},
        {"*a", "bba", true}, {"a\\", "a\\", true}, {"a\\", "a", false},
        {"[a-]", "-", false}, {"[a-]", "a", true}, {"[-a]", "-", true},
        {"[]a]", "]", false}, {"[]a]", "a", false},
        {"a*b*c", "axxbyyc", true}, {"a*b*c", "axxbyy", false},
        {"[^]]", "x", false}, {"[^]]", "]", false},
        {"H*", "hello", false}, {"[\\a-c]", "b", false}, {"[\\a-c]", "-", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (!CHECK_EQ(gm(cases[i].pat, cases[i].s, false), cases[i].match))
            fprintf(stderr, "  pattern '%s' string '%s'\n", cases[i].pat, cases[i].s);
}

TEST(util_glob_basics) {
    CHECK(gm("", "", false));
    CHECK(!gm("", "a", false));
    /* KEYS against the empty key on redis-server 7.0: "*" matches it (a
     * lone star is "everything"), "**" and "***" do not. */
    CHECK(gm("*", "", false));
    CHECK(!gm("**", "", false));
    CHECK(!gm("***", "", false));
    CHECK(!gm("*?", "", false));
    CHECK(gm("a*", "a", false));
    CHECK(gm("a**", "a", false));
    CHECK(!gm("?", "", false));
    CHECK(gm("???", "abc", false));
    CHECK(!gm("???", "abcd", false));
    CHECK(gm("*.txt", "notes.txt", false));
    CHECK(!gm("*.txt", "notes.txt.gz", false));
    CHECK(gm("user:*:name", "user:42:name", false));
    CHECK(gm("[abc]x", "cx", false));
    CHECK(!gm("[abc]x", "dx", false));
    CHECK(gm("[^a-c]", "d", false));
    CHECK(!gm("[^a-c]", "b", false));
    CHECK(gm("\\?", "?", false));
    CHECK(!gm("\\?", "x", false));
    CHECK(gm("a\\[b", "a[b", false));
    /* Binary-safe on both sides. */
    CHECK(util_glob_match("a?c", 3, "a\0c", 3, false));
    CHECK(util_glob_match("a\0*", 3, "a\0xyz", 5, false));
    CHECK(!util_glob_match("a\0*", 3, "a1xyz", 5, false));
}

/* CONFIG GET and COMMAND LIST FILTERBY PATTERN match without case. */
TEST(util_glob_nocase) {
    CHECK(gm("MAXMEMORY*", "maxmemory-policy", true));
    CHECK(!gm("MAXMEMORY*", "maxmemory-policy", false));
    CHECK(gm("H?", "hz", true));
    CHECK(gm("[A-C]x", "bX", true));
    CHECK(gm("[a-c]x", "BX", true));
    CHECK(gm("[^A-C]", "d", true));
    CHECK(!gm("[^A-C]", "b", true));
    CHECK(gm("[HZ]z", "hz", true));
}

/* "a*a*a*...b" against a long run of 'a' is exponential for a naive
 * backtracking matcher (Redis CVE-2022-36021); Redis answers at once. */
TEST(util_glob_pathological) {
    char pat[512], s[2048];
    size_t n = 0;
    for (int i = 0; i < 30; i++) { pat[n++] = 'a'; pat[n++] = '*'; }
    pat[n++] = 'b';
    pat[n] = '\0';
    memset(s, 'a', sizeof(s) - 1);
    s[sizeof(s) - 1] = '\0';
    double t0 = unit_now();
    CHECK(!gm(pat, s, false));
    CHECK(!gm("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", s, true));
    CHECK(!gm("*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?*?b", s, false));
    s[sizeof(s) - 2] = 'b';
    CHECK(gm(pat, s, false));
    double dt = unit_now() - t0;
    if (!CHECK(dt < 1.0)) fprintf(stderr, "  took %.2f s\n", dt);
}

TEST(util_parse_memory) {
    /* redis-server 7.0.15's CONFIG SET maxmemory accepts each of these and
     * CONFIG GET answers the value (memtoull). */
    static const struct { const char *s; unsigned long long v; } ok[] = {
        {"0", 0}, {"5", 5}, {"1b", 1}, {"1B", 1}, {"100k", 100000}, {"100K", 100000},
        {"1kb", 1024}, {"1kB", 1024}, {"1KB", 1024}, {"1m", 1000000}, {"1mb", 1048576},
        {"1MB", 1048576}, {"1g", 1000000000}, {"1gb", 1073741824ULL}, {"2GB", 2147483648ULL},
        {"512kb", 524288}, {"9223372036854775807", 9223372036854775807ULL},
        {"9223372036854775808", 9223372036854775808ULL},
        {"18446744073709551615", 18446744073709551615ULL},
        {"8589934591gb", 8589934591ULL * 1073741824ULL},
        /* leading zeros, and no digits at all */
        {"01mb", 1048576}, {"007", 7}, {"", 0}, {"mb", 0},
        /* strtoull saturates, then the unit wraps modulo 2^64 */
        {"18446744073709551616", 18446744073709551615ULL},
        {"99999999999999999999999", 18446744073709551615ULL},
        {"18446744073709551615kb", 18446744073709550592ULL},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        unsigned long long v = 42;
        if (!CHECK(util_parse_memory(ok[i].s, &v))) fprintf(stderr, "  rejected \"%s\"\n", ok[i].s);
        else if (!CHECK_EQ(v, ok[i].v)) fprintf(stderr, "  for \"%s\"\n", ok[i].s);
    }
    /* "argument must be a memory value" on redis-server 7.0.15 */
    static const char *bad[] = {"-1", "+1", " 1", "1 ", "1.5mb", "1x", "1 mb", "1mbb", "kb1",
                                "1tb", "-1mb", "-0", "0x10", "1bb",
                                /* memtoull's 128-byte digit buffer */
                                "00000000000000000000000000000000000000000000000000000000000000000000000000000000"
                                "000000000000000000000000000000000000000000000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned long long v = 0;
        if (!CHECK(!util_parse_memory(bad[i], &v)))
            fprintf(stderr, "  accepted \"%s\" as %llu\n", bad[i], v);
    }
}

TEST(util_eq_nocase) {
    CHECK(util_eq_nocase("GET", 3, "get"));
    CHECK(util_eq_nocase("gEt", 3, "GET"));
    CHECK(!util_eq_nocase("GETX", 3, "getx"));   /* length-delimited */
    CHECK(!util_eq_nocase("GE", 2, "get"));
    CHECK(!util_eq_nocase("GETS", 4, "get"));
    CHECK(util_eq_nocase("", 0, ""));
}

TEST(util_clocks_and_alloc) {
    int64_t ms = util_ms(), us = util_us();
    CHECK(ms > 1600000000000LL);
    CHECK(us / 1000 - ms >= -1000 && us / 1000 - ms <= 1000);
    int64_t m0 = util_mono_us();
    usleep(2000);
    CHECK(util_mono_us() - m0 >= 2000);
    char *p = xmalloc(100);
    CHECK(util_alloc_size(p) >= 100);
    p = xrealloc(p, 5000);
    CHECK(util_alloc_size(p) >= 5000);
    free(p);
    char *d = xstrndup("hello world", 5);
    CHECK_STR(d, "hello");
    free(d);
    d = xstrdup("");
    CHECK_STR(d, "");
    free(d);
    CHECK(util_rss_bytes() > 0);
}
