/* unit.h: the unit tests' tiny framework, header-only (each test binary is
 * one .c file that includes it once). It owns the test registry, the
 * per-test runner and the checks.
 *
 * A test is a void function declared with TEST(name); it registers itself
 * at load time and tests run in file order. Checks record "file:line: what
 * was checked, the values seen" and let the test go on, so one run shows
 * every broken expectation of a test; the first is the FAIL line's reason,
 * the next few go to stderr. Each check is an expression that yields
 * whether it held, so a loop can stop at its first failure:
 *     if (!CHECK_EQ(got, want)) break;
 * REQUIRE(cond) returns from the test when cond is false (for a state
 * the rest of the test cannot survive). Checks may be called from worker
 * threads.
 *
 * Output (the contract tests/run-all.sh reads): one line per test,
 * "PASS name" or "FAIL name: reason", then "N passed, N failed"; exit
 * status 1 if anything failed. Arguments select tests whose name contains
 * one of them. A test that runs past its deadline (UNIT_TIMEOUT seconds,
 * tripled under STRATA_SLOW=1 for sanitizer builds) fails the run. */
#ifndef STRATA_UNIT_H
#define STRATA_UNIT_H

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef UNIT_TIMEOUT
#define UNIT_TIMEOUT 30
#endif
#define UNIT_MAX_TESTS 256
#define UNIT_MAX_REPORTED 8   /* failures of one test echoed to stderr */

typedef void unit_fn(void);

typedef struct unit_test {
    const char *name;
    int line;
    unit_fn *fn;
} unit_test;

static unit_test unit_tests[UNIT_MAX_TESTS];
static int unit_ntests;
static pthread_mutex_t unit_lock = PTHREAD_MUTEX_INITIALIZER;
static int unit_failures;              /* failed checks in the current test */
static char unit_reason[1024];         /* the first one */
static char unit_alarm_msg[512];       /* preformatted for the signal handler */

__attribute__((unused)) static void unit_register(const char *name, int line, unit_fn *fn) {
    if (unit_ntests == UNIT_MAX_TESTS) {
        fprintf(stderr, "unit.h: more than %d tests\n", UNIT_MAX_TESTS);
        abort();
    }
    unit_tests[unit_ntests++] = (unit_test){name, line, fn};
}

#define TEST(name)                                                          \
    static void test_##name(void);                                          \
    __attribute__((constructor)) static void unit_register_##name(void) {  \
        unit_register(#name, __LINE__, test_##name);                        \
    }                                                                       \
    static void test_##name(void)

__attribute__((unused, format(printf, 3, 4)))
static bool unit_fail(const char *file, int line, const char *fmt, ...) {
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&unit_lock);
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    if (unit_failures == 0)
        snprintf(unit_reason, sizeof(unit_reason), "%s:%d: %s", base, line, msg);
    if (unit_failures < UNIT_MAX_REPORTED) fprintf(stderr, "  %s:%d: %s\n", base, line, msg);
    unit_failures++;
    pthread_mutex_unlock(&unit_lock);
    return false;
}

/* Render bytes for a failure message: printable ASCII as is, the rest as
 * \xHH, cut at ~200 bytes. */
__attribute__((unused)) static const char *unit_repr(char *out, size_t outlen,
                                                     const void *p, size_t len) {
    const unsigned char *s = p;
    size_t n = 0;
    if (!p) {
        snprintf(out, outlen, "(null)");
        return out;
    }
    out[n++] = '"';
    for (size_t i = 0; i < len && n + 8 < outlen; i++) {
        if (i == 200) {
            n += (size_t)snprintf(out + n, outlen - n, "...(%zu bytes)", len);
            break;
        }
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\') out[n++] = (char)s[i];
        else n += (size_t)snprintf(out + n, outlen - n, "\\x%02x", s[i]);
    }
    if (n + 2 <= outlen) out[n++] = '"';
    out[n < outlen ? n : outlen - 1] = '\0';
    return out;
}

__attribute__((unused)) static bool unit_check_eq(long long a, long long b, const char *as,
                                                  const char *bs, const char *file, int line) {
    if (a == b) return true;
    return unit_fail(file, line, "%s == %s: %lld != %lld", as, bs, a, b);
}

__attribute__((unused)) static bool unit_check_mem(const void *a, size_t alen, const void *b,
                                                   size_t blen, const char *as,
                                                   const char *file, int line) {
    if (a && b && alen == blen && memcmp(a, b, alen) == 0) return true;
    char ra[1000], rb[1000];
    return unit_fail(file, line, "%s: got %s, want %s", as, unit_repr(ra, sizeof(ra), a, alen),
                     unit_repr(rb, sizeof(rb), b, blen));
}

__attribute__((unused)) static bool unit_check_str(const char *a, const char *b, const char *as,
                                                  const char *file, int line) {
    return unit_check_mem(a, a ? strlen(a) : 0, b, b ? strlen(b) : 0, as, file, line);
}

#define CHECK(cond) ((cond) ? true : unit_fail(__FILE__, __LINE__, "CHECK(%s)", #cond))
#define CHECK_EQ(a, b) unit_check_eq((long long)(a), (long long)(b), #a, #b, __FILE__, __LINE__)
/* C strings (NULL never equals anything). */
#define CHECK_STR(a, b) unit_check_str((a), (b), #a, __FILE__, __LINE__)
/* Byte strings with lengths. */
#define CHECK_MEM(a, alen, b, blen) unit_check_mem((a), (alen), (b), (blen), #a, __FILE__, __LINE__)
#define REQUIRE(cond)                                                       \
    do {                                                                    \
        if (!CHECK(cond)) return;                                           \
    } while (0)

__attribute__((unused)) static bool unit_slow(void) {
    const char *s = getenv("STRATA_SLOW");
    return s && *s && strcmp(s, "0") != 0;
}

__attribute__((unused)) static double unit_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A hung test would hang the whole suite: fail loudly instead. Only
 * async-signal-safe calls here; the message was formatted beforehand. */
static void unit_on_alarm(int sig) {
    (void)sig;
    ssize_t w = write(STDOUT_FILENO, unit_alarm_msg, strlen(unit_alarm_msg));
    (void)w;
    _exit(1);
}

static int unit_cmp_line(const void *a, const void *b) {
    return ((const unit_test *)a)->line - ((const unit_test *)b)->line;
}

static bool unit_selected(const char *name, int argc, char **argv) {
    if (argc < 2) return true;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i])) return true;
    return false;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    qsort(unit_tests, (size_t)unit_ntests, sizeof(unit_test), unit_cmp_line);
    signal(SIGALRM, unit_on_alarm);
    unsigned timeout = UNIT_TIMEOUT * (unit_slow() ? 3 : 1);
    int passed = 0, failed = 0;
    for (int i = 0; i < unit_ntests; i++) {
        const unit_test *t = &unit_tests[i];
        if (!unit_selected(t->name, argc, argv)) continue;
        unit_failures = 0;
        unit_reason[0] = '\0';
        snprintf(unit_alarm_msg, sizeof(unit_alarm_msg),
                 "FAIL %s: still running after %u s\n%d passed, %d failed\n", t->name, timeout,
                 passed, failed + 1);
        alarm(timeout);
        double t0 = unit_now();
        t->fn();
        double dt = unit_now() - t0;
        alarm(0);
        if (unit_failures == 0) {
            passed++;
            printf("PASS %s\n", t->name);
        } else {
            failed++;
            if (unit_failures > UNIT_MAX_REPORTED)
                fprintf(stderr, "  (%d failed checks in all)\n", unit_failures);
            printf("FAIL %s: %s\n", t->name, unit_reason);
        }
        if (dt > 2.0) fprintf(stderr, "  %s took %.1f s\n", t->name, dt);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#endif
