/* harness.h: the integration tests' tiny framework. It owns the life of the
 * server processes under test (start on a free loopback port in a private
 * temporary directory, wait for PING, stop by pid with SIGTERM and insist on
 * exit status 0), the test registry and runner, and the assertions.
 *
 * Every test is a void function declared with TEST(name). An assertion that
 * fails records "file:line: what was sent, what was expected, what came
 * back" and returns from the test function, so a test stops at its first
 * failure. Everything a test obtains from the harness (servers, hiredis
 * contexts, raw sockets, replies) is tracked and released when the test
 * returns, whether it passed or not; servers a test started are stopped
 * then, and an unclean exit fails the test. The runner prints one line per
 * test, "PASS name" or "FAIL name: reason", and a last line
 * "N passed, N failed" (the contract tests/run-all.sh reads).
 *
 * Replies are compared as text renderings (see h_render), which keeps the
 * expected values readable and the failure messages exact:
 *   +OK   -ERR syntax error   :42   "bulk\x00"   (nil)   [a, b]
 * and for RESP3 over raw sockets: (null)  {k: v}  ~[a]  ,1.5  #t  (123
 * An expected text that starts with "glob:" is a pattern in which '*'
 * matches any run of characters and '?' one character.
 *
 * Expectations are redis-server 7.0.15's replies; a comment starting with
 * "DIFFERS:" marks the few places where strata is allowed to (or must)
 * answer differently, and says what strata must do there.
 *
 * Environment: REF=1 runs the tests against redis-server (to validate the
 * tests themselves); otherwise STRATA_SERVER, or $BUILD/strata-server
 * (BUILD defaults to "build"). STRATA_SLOW=1 (sanitizer builds) stretches
 * every timeout threefold. Arguments select tests by substring
 * ("integration protocol_ limits_maxclients"); -l lists them. Tests run on one thread; the harness is not
 * thread-safe (worker threads in a test must not use it). */
#ifndef STRATA_TEST_HARNESS_H
#define STRATA_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <hiredis/hiredis.h>

/* ---- registry ---- */

typedef void h_test_fn(void);
void h_register(const char *name, const char *file, h_test_fn *fn);

#define TEST(name)                                                          \
    static void test_##name(void);                                          \
    __attribute__((constructor)) static void register_##name(void)          \
    {                                                                       \
        h_register(#name, __FILE__, test_##name);                           \
    }                                                                       \
    static void test_##name(void)

/* ---- the current test ---- */

/* Record a failure of the current test (only the first one is kept). */
void h_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool h_failed(void);
/* Skip the current test (printed as "SKIP name: why", counted nowhere). */
void h_skip(const char *why);

bool h_is_ref(void);        /* running against redis-server */
int h_slow(void);           /* timeout multiplier: 1, or 3 under STRATA_SLOW */
long long h_now_ms(void);   /* CLOCK_REALTIME in ms */
void h_sleep_ms(int ms);

/* ---- servers ---- */

typedef struct hserver {
    pid_t pid;
    int port;
    char dir[200];        /* private temporary directory, the server's cwd */
    bool running;
    bool shared;
    bool checked;         /* its exit was already judged (h_stop) */
    int status;           /* wait status once it exited */
} hserver;

/* Start a server with the default arguments
 *   --port P --bind 127.0.0.1 --save '' --appendonly no --dir D --io-threads 2
 * followed by extra arguments, NULL-terminated (h_start(NULL) for none). An extra argument that
 * starts with "@/" names a file in the server's directory ("@/x.pid").
 * Returns NULL after failing the test when the server does not answer PING
 * in time. The server is stopped (and must exit 0) when the test ends. */
hserver *h_start_at(const char *file, int line, const char *arg, ...);
#define h_start(...) h_start_at(__FILE__, __LINE__, __VA_ARGS__)
/* Start a server that must refuse to start: waits (up to 10 s) for it to
 * exit and returns it with its wait status in ->status (judged by the
 * caller; ->checked is set). Fails the test if it keeps running. */
hserver *h_start_failing_at(const char *file, int line, const char *arg, ...);
#define h_start_failing(...) h_start_failing_at(__FILE__, __LINE__, __VA_ARGS__)
/* The default server shared by tests that need no special configuration;
 * started on first use and stopped (and checked) after the last test. */
hserver *h_shared_at(const char *file, int line);
#define h_shared() h_shared_at(__FILE__, __LINE__)
/* SIGTERM, then wait for exit status 0; fails the test otherwise. */
bool h_stop_at(const char *file, int line, hserver *s);
#define h_stop(s) h_stop_at(__FILE__, __LINE__, (s))
/* Wait for the process to exit by itself; returns its wait status, or -1
 * if it is still running after timeout_ms (multiplied by h_slow()). */
int h_wait_exit(hserver *s, int timeout_ms);
/* Path of a file in the server's directory (static buffer, rotating). */
const char *h_path(hserver *s, const char *name);
/* Resident set size of the server process in kB, or -1. */
long h_rss_kb(hserver *s);

/* ---- hiredis connections (tracked) ---- */

/* NULL after failing the test. */
redisContext *h_connect_at(const char *file, int line, hserver *s);
redisContext *h_connect_unix_at(const char *file, int line, hserver *s,
                                const char *sockname);
#define h_connect(s) h_connect_at(__FILE__, __LINE__, (s))
#define h_connect_unix(s, name) h_connect_unix_at(__FILE__, __LINE__, (s), (name))
/* A connection to the shared server, db 0, after FLUSHALL. */
redisContext *h_fresh_at(const char *file, int line);
#define h_fresh() h_fresh_at(__FILE__, __LINE__)

/* Send one command and return its reply (freed when the test ends), or
 * NULL after failing the test on an I/O error. */
redisReply *h_cmd(const char *file, int line, redisContext *c,
                  const char *fmt, ...);
redisReply *h_cmd_argv(const char *file, int line, redisContext *c,
                       int argc, const char **argv, const size_t *lens);
/* Read the next reply without sending anything: a message pushed by
 * another connection's PUBLISH, the second confirmation of SUBSCRIBE a b.
 * Tracked like h_cmd's; NULL after failing the test. */
redisReply *h_read(const char *file, int line, redisContext *c);
bool h_expect_read(const char *file, int line, redisContext *c, const char *exp);
/* Compare the reply (rendered) with exp; fail with context on mismatch. */
bool h_expect_reply(const char *file, int line, const char *what,
                    const redisReply *r, const char *exp);
bool h_expect_cmd(const char *file, int line, redisContext *c,
                  const char *exp, const char *fmt, ...);
/* Like h_expect_cmd, with the elements of every array in the reply (nested
 * ones first) sorted by their rendering (KEYS, SCAN pages: order is
 * unspecified). */
bool h_expect_cmd_sorted(const char *file, int line, redisContext *c,
                         const char *exp, const char *fmt, ...);
/* The reply must be an integer in [lo, hi] (TTLs, clocks). */
bool h_expect_range(const char *file, int line, redisContext *c,
                    long long lo, long long hi, const char *fmt, ...);
bool h_expect_argv(const char *file, int line, redisContext *c,
                   const char *exp, int argc, const char **argv,
                   const size_t *lens);

/* Render a hiredis reply into buf (truncated to cap). */
void h_render(const redisReply *r, char *buf, size_t cap);
bool h_match(const char *exp, const char *got);

/* ---- raw sockets (tracked) ---- */

typedef struct hraw {
    int fd;
    char *buf;            /* bytes received and not yet consumed */
    size_t len, cap;
    bool eof;             /* peer closed (or reset) */
} hraw;

/* TCP with TCP_NODELAY; rcvbuf > 0 sets a small SO_RCVBUF (for clients
 * that never read). NULL after failing the test. */
hraw *h_raw_open_at(const char *file, int line, hserver *s, int rcvbuf);
hraw *h_raw_open_unix_at(const char *file, int line, hserver *s,
                         const char *sockname);
#define h_raw_open(s) h_raw_open_at(__FILE__, __LINE__, (s), 0)
#define h_raw_open_rcvbuf(s, n) h_raw_open_at(__FILE__, __LINE__, (s), (n))
#define h_raw_open_unix(s, name) h_raw_open_unix_at(__FILE__, __LINE__, (s), (name))
/* Write all bytes; false on error (peer gone). */
bool h_raw_send(hraw *r, const void *p, size_t n);
bool h_raw_sends(hraw *r, const char *s);
/* Read one RESP2/RESP3 reply and render it into out. Returns 1 on a
 * reply, 0 on timeout, -1 on EOF or unparsable bytes (out then holds what
 * was received, escaped). */
int h_raw_reply(hraw *r, char *out, size_t cap, int timeout_ms);
/* Wait until at least n bytes are buffered; returns how many are. */
size_t h_raw_fill(hraw *r, size_t n, int timeout_ms);
/* Read and discard until the peer closes; true if it did in time. */
bool h_raw_wait_closed(hraw *r, int timeout_ms, size_t *drained);
/* True if nothing arrives and the peer stays open for ms. */
bool h_raw_quiet(hraw *r, int ms);

bool h_expect_raw_reply(const char *file, int line, hraw *r,
                        const char *exp);
bool h_expect_raw_bytes(const char *file, int line, hraw *r,
                        const void *exp, size_t n);
bool h_expect_closed(const char *file, int line, hraw *r);

/* ---- assertions: each returns from the test function on failure ---- */

#define H_LOC __FILE__, __LINE__

#define CHECK(cond)                                                         \
    do { if (!(cond)) { h_fail(H_LOC, "check failed: %s", #cond); return; } } while (0)
#define CHECKF(cond, ...)                                                   \
    do { if (!(cond)) { h_fail(H_LOC, __VA_ARGS__); return; } } while (0)
/* Stop the test if a helper already failed it. */
#define CHECK_OK() do { if (h_failed()) return; } while (0)

/* EXPECT_CMD(c, "+OK", "SET %s %s", k, v) */
#define EXPECT_CMD(c, exp, ...)                                             \
    do { if (!h_expect_cmd(H_LOC, (c), (exp), __VA_ARGS__)) return; } while (0)
#define EXPECT_SORTED(c, exp, ...)                                          \
    do { if (!h_expect_cmd_sorted(H_LOC, (c), (exp), __VA_ARGS__)) return; } while (0)
/* EXPECT_RANGE(c, 99, 100, "TTL %s", k) */
#define EXPECT_RANGE(c, lo, hi, ...)                                        \
    do { if (!h_expect_range(H_LOC, (c), (lo), (hi), __VA_ARGS__)) return; } while (0)
/* EXPECT_ARGV(c, "+OK", argc, argv, lens) */
#define EXPECT_ARGV(c, exp, argc, argv, lens)                               \
    do { if (!h_expect_argv(H_LOC, (c), (exp), (argc), (argv), (lens))) return; } while (0)
/* EXPECT_READ(c, "[\"message\", \"ch\", \"hi\"]"): the next reply, unsent. */
#define EXPECT_READ(c, exp)                                                 \
    do { if (!h_expect_read(H_LOC, (c), (exp))) return; } while (0)
#define EXPECT_REPLY(r, exp)                                                \
    do { if (!h_expect_reply(H_LOC, "reply", (r), (exp))) return; } while (0)
/* Declares `redisReply *var` with the reply to a command. */
#define CMD(var, c, ...)                                                    \
    redisReply *var = h_cmd(H_LOC, (c), __VA_ARGS__);                       \
    if (!var) return
#define CONNECT(var, s)                                                     \
    redisContext *var = h_connect(s);                                       \
    if (!var) return
#define FRESH(var)                                                          \
    redisContext *var = h_fresh();                                          \
    if (!var) return
#define START(var, ...)                                                     \
    hserver *var = h_start(__VA_ARGS__);                                    \
    if (!var) return
#define RAW(var, s)                                                         \
    hraw *var = h_raw_open(s);                                              \
    if (!var) return

#define EXPECT_RAW_REPLY(r, exp)                                            \
    do { if (!h_expect_raw_reply(H_LOC, (r), (exp))) return; } while (0)
#define EXPECT_RAW_BYTES(r, exp)                                            \
    do { if (!h_expect_raw_bytes(H_LOC, (r), (exp), strlen(exp))) return; } while (0)
/* For expected bytes holding NULs. */
#define EXPECT_RAW_BYTESN(r, exp, n)                                        \
    do { if (!h_expect_raw_bytes(H_LOC, (r), (exp), (n))) return; } while (0)
#define EXPECT_CLOSED(r)                                                    \
    do { if (!h_expect_closed(H_LOC, (r))) return; } while (0)
#define SEND(r, s)                                                          \
    do { if (!h_raw_sends((r), (s))) { h_fail(H_LOC, "send failed: %s", #s); return; } } while (0)

/* Poll expr every 10 ms until it holds or ms (times h_slow()) elapse. */
#define WAIT_FOR(expr, ms)                                                  \
    ({ long long h_deadline_ = h_now_ms() + (long long)(ms) * h_slow();     \
       bool h_ok_;                                                          \
       while (!(h_ok_ = (expr)) && h_now_ms() < h_deadline_)                \
           h_sleep_ms(10);                                                  \
       h_ok_; })

/* A line "field:value" from an INFO reply; copies value into out. */
bool h_info_field(const char *info, const char *field, char *out, size_t cap);
/* INFO [section] from a connection, as a tracked string; NULL on error. */
const char *h_info_at(const char *file, int line, redisContext *c, const char *section);
#define h_info(c, section) h_info_at(__FILE__, __LINE__, (c), (section))
/* An integer field of INFO (LLONG_MIN when absent). */
long long h_info_ll_at(const char *file, int line, redisContext *c,
                      const char *section, const char *field);
#define h_info_ll(c, section, field) h_info_ll_at(__FILE__, __LINE__, (c), (section), (field))

#endif
