/* test_resp.c: unit tests of the RESP request decoder (src/resp.c).
 *
 * Every command is parsed three ways and must come out the same: whole, fed
 * one byte more per call (each call in a fresh heap buffer of exactly the
 * bytes fed, so the buffer moves between calls and ASan catches any read
 * past the end), and from a buffer that is compacted and grown between
 * calls. Error texts and limits were checked against redis-server 7.0.15
 * over a raw socket; where strata differs on purpose or by accident the
 * test says so. */
#include "unit.h"

#include <limits.h>
#include "resp.h"
#include "util.h"

#define INLINE_MAX (64 * 1024)

static const resp_limits lim_auth = {512LL * 1024 * 1024, INT_MAX, INLINE_MAX};

/* The outcome of parsing one command, with the arguments copied out and
 * encoded as "len:bytes," so two parses compare with one memcmp. */
typedef struct result {
    enum resp_status st;
    size_t consumed;
    size_t at;         /* bytewise: bytes fed when the parser answered */
    int argc;
    char *enc;
    size_t enclen;
    bool nul_ok;       /* every argument NUL-terminated after bind */
    char err[128];
} result;

static void enc_add(char **enc, size_t *len, const char *p, size_t n) {
    char hdr[32];
    int h = snprintf(hdr, sizeof(hdr), "%zu:", n);
    *enc = xrealloc(*enc, *len + (size_t)h + n + 1);
    memcpy(*enc + *len, hdr, (size_t)h);
    memcpy(*enc + *len + h, p, n);
    (*enc)[*len + (size_t)h + n] = ',';
    *len += (size_t)h + n + 1;
}

static void result_free(result *r) {
    free(r->enc);
    r->enc = NULL;
}

/* Fill r from the parser's answer; buf is the buffer of the last call. */
static void collect(result *r, resp_parser *p, char *buf, enum resp_status st, size_t consumed) {
    r->st = st;
    r->argc = 0;
    r->enc = NULL;
    r->enclen = 0;
    r->nul_ok = true;
    r->err[0] = '\0';
    r->consumed = 0;
    if (st == RESP_ERROR) snprintf(r->err, sizeof(r->err), "%s", p->errmsg);
    if (st != RESP_OK && st != RESP_EMPTY) return;
    r->consumed = consumed;
    if (st == RESP_EMPTY) return;
    resp_bind_args(p, buf);
    r->argc = p->argc;
    for (int i = 0; i < p->argc; i++) {
        if (p->argv[i].ptr != buf + p->argv[i].off) r->nul_ok = false;
        if (p->argv[i].ptr[p->argv[i].len] != '\0') r->nul_ok = false;
        enc_add(&r->enc, &r->enclen, p->argv[i].ptr, p->argv[i].len);
    }
}

static result parse_whole(const char *in, size_t len, const resp_limits *lim) {
    resp_parser p;
    resp_parser_init(&p);
    char *buf = xmalloc(len);
    memcpy(buf, in, len);
    size_t consumed = 0;
    enum resp_status st = resp_parse(&p, buf, len, lim, &consumed);
    result r;
    collect(&r, &p, buf, st, consumed);
    r.at = len;
    free(buf);
    resp_parser_free(&p);
    return r;
}

/* Feed 0, 1, 2, ... bytes, same command start, each call in a new exact-size
 * allocation, until the parser answers something other than "again". */
static result parse_bytewise(const char *in, size_t len, const resp_limits *lim) {
    resp_parser p;
    resp_parser_init(&p);
    result r;
    memset(&r, 0, sizeof(r));
    r.st = RESP_AGAIN;
    for (size_t k = 0; k <= len; k++) {
        char *buf = xmalloc(k);
        memcpy(buf, in, k);
        size_t consumed = 0;
        enum resp_status st = resp_parse(&p, buf, k, lim, &consumed);
        if (st != RESP_AGAIN) {
            collect(&r, &p, buf, st, consumed);
            r.at = k;
            free(buf);
            break;
        }
        free(buf);
    }
    resp_parser_free(&p);
    return r;
}

/* Feed in three chunks through one buffer that is grown with realloc and
 * whose command is moved (as networking.c compacts its query buffer):
 * the command starts at offset 37 first, then at offset 3. */
static result parse_moving(const char *in, size_t len, const resp_limits *lim) {
    resp_parser p;
    resp_parser_init(&p);
    result r;
    memset(&r, 0, sizeof(r));
    r.st = RESP_AGAIN;
    size_t cuts[3] = {len / 3, 2 * len / 3, len};
    char *buf = xmalloc(37 + len + 1);
    memset(buf, '#', 37);
    size_t start = 37;
    for (int i = 0; i < 3; i++) {
        memcpy(buf + start, in, cuts[i]);
        size_t consumed = 0;
        enum resp_status st = resp_parse(&p, buf + start, cuts[i], lim, &consumed);
        if (st != RESP_AGAIN) {
            collect(&r, &p, buf + start, st, consumed);
            r.at = cuts[i];
            break;
        }
        /* compact to a new place, then let realloc move it if it likes */
        memmove(buf + 3, buf + start, cuts[i]);
        memset(buf, '$', 3);
        start = 3;
        buf = xrealloc(buf, 3 + len + 4096 * (size_t)(i + 1));
    }
    free(buf);
    resp_parser_free(&p);
    return r;
}

static bool same(const result *a, const result *b) {
    return a->st == b->st && a->consumed == b->consumed && a->argc == b->argc &&
           a->enclen == b->enclen && (a->enclen == 0 || memcmp(a->enc, b->enc, a->enclen) == 0) &&
           strcmp(a->err, b->err) == 0;
}

static const char *st_name(enum resp_status st) {
    switch (st) {
    case RESP_OK: return "OK";
    case RESP_AGAIN: return "AGAIN";
    case RESP_ERROR: return "ERROR";
    case RESP_EMPTY: return "EMPTY";
    }
    return "?";
}

/* Parse `in` the three ways; all must agree with each other and with the
 * expectation: status, consumed bytes, arguments (enc), error text. */
static void expect(const char *file, int line, const char *in, size_t len, const resp_limits *lim,
                   enum resp_status want_st, size_t want_consumed, const char *want_enc,
                   size_t want_enclen, const char *want_err) {
    result w = parse_whole(in, len, lim);
    result b = parse_bytewise(in, len, lim);
    result m = parse_moving(in, len, lim);
    char rin[1000], r1[1000], r2[1000];
    unit_repr(rin, sizeof(rin), in, len);
    if (w.st != want_st)
        unit_fail(file, line, "%s: status %s, want %s (err \"%s\")", rin, st_name(w.st),
                  st_name(want_st), w.err);
    else if (want_st == RESP_ERROR && strcmp(w.err, want_err) != 0)
        unit_fail(file, line, "%s: error \"%s\", want \"%s\"", rin, w.err, want_err);
    else if ((want_st == RESP_OK || want_st == RESP_EMPTY) && w.consumed != want_consumed)
        unit_fail(file, line, "%s: consumed %zu, want %zu", rin, w.consumed, want_consumed);
    else if (want_st == RESP_OK &&
             (w.enclen != want_enclen || memcmp(w.enc, want_enc, want_enclen) != 0))
        unit_fail(file, line, "%s: args %s, want %s", rin, unit_repr(r1, sizeof(r1), w.enc, w.enclen),
                  unit_repr(r2, sizeof(r2), want_enc, want_enclen));
    else if (!w.nul_ok)
        unit_fail(file, line, "%s: arguments not NUL-terminated in place", rin);
    if (!same(&w, &b))
        unit_fail(file, line, "%s: fed bytewise: %s %s \"%s\" at %zu, whole: %s %s \"%s\"", rin,
                  st_name(b.st), unit_repr(r1, sizeof(r1), b.enc, b.enclen), b.err, b.at,
                  st_name(w.st), unit_repr(r2, sizeof(r2), w.enc, w.enclen), w.err);
    else if ((b.st == RESP_OK || b.st == RESP_EMPTY) && b.at != b.consumed)
        unit_fail(file, line, "%s: fed bytewise, answered after %zu bytes, consumed %zu", rin,
                  b.at, b.consumed);
    if (!same(&w, &m))
        unit_fail(file, line, "%s: fed through a moving buffer: %s %s \"%s\", whole: %s", rin,
                  st_name(m.st), unit_repr(r1, sizeof(r1), m.enc, m.enclen), m.err, st_name(w.st));
    result_free(&w);
    result_free(&b);
    result_free(&m);
}

static void expect_args(const char *file, int line, const char *in, size_t len,
                        const resp_limits *lim, size_t consumed, const char *const *args) {
    char *enc = NULL;
    size_t enclen = 0;
    for (int i = 0; args[i]; i++) enc_add(&enc, &enclen, args[i], strlen(args[i]));
    expect(file, line, in, len, lim, RESP_OK, consumed, enc, enclen, NULL);
    free(enc);
}

/* `in` must be a string literal (sizeof gives its length, NULs included). */
#define EXPECT_ARGS(in, ...)                                                 \
    expect_args(__FILE__, __LINE__, in, sizeof(in) - 1, &lim_auth, sizeof(in) - 1, \
                (const char *const[]){__VA_ARGS__, NULL})
#define EXPECT_EMPTY(in) \
    expect(__FILE__, __LINE__, in, sizeof(in) - 1, &lim_auth, RESP_EMPTY, sizeof(in) - 1, NULL, 0, NULL)
#define EXPECT_ERR_LIM(in, lim, msg) \
    expect(__FILE__, __LINE__, in, sizeof(in) - 1, lim, RESP_ERROR, 0, NULL, 0, msg)
#define EXPECT_ERR(in, msg) EXPECT_ERR_LIM(in, &lim_auth, msg)
#define EXPECT_AGAIN_LIM(in, lim) \
    expect(__FILE__, __LINE__, in, sizeof(in) - 1, lim, RESP_AGAIN, 0, NULL, 0, NULL)

/* ---- multibulk ---------------------------------------------------------- */

TEST(resp_multibulk) {
    EXPECT_ARGS("*1\r\n$4\r\nPING\r\n", "PING");
    EXPECT_ARGS("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nb\r\n", "SET", "a", "b");
    EXPECT_ARGS("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", "ECHO", "");
    EXPECT_ARGS("*3\r\n$0\r\n\r\n$0\r\n\r\n$0\r\n\r\n", "", "", "");
    EXPECT_ARGS("*2\r\n$3\r\nGET\r\n$11\r\nhello world\r\n", "GET", "hello world");
    /* A bulk's content may hold '$', '*' and digits that look like protocol. */
    EXPECT_ARGS("*2\r\n$4\r\n*1\r\n\r\n$5\r\n$-1\r\n\r\n", "*1\r\n", "$-1\r\n");
}

TEST(resp_multibulk_binary) {
    static const char in[] = "*3\r\n$3\r\nSET\r\n$3\r\nk\0\n\r\n$6\r\n\r\n\0\r\xff\n\r\n";
    char *enc = NULL;
    size_t enclen = 0;
    enc_add(&enc, &enclen, "SET", 3);
    enc_add(&enc, &enclen, "k\0\n", 3);
    enc_add(&enc, &enclen, "\r\n\0\r\xff\n", 6);
    expect(__FILE__, __LINE__, in, sizeof(in) - 1, &lim_auth, RESP_OK, sizeof(in) - 1, enc,
           enclen, NULL);
    free(enc);
    /* Every byte value inside one bulk. */
    char all[256], cmd[400];
    for (int i = 0; i < 256; i++) all[i] = (char)i;
    int h = snprintf(cmd, sizeof(cmd), "*1\r\n$256\r\n");
    memcpy(cmd + h, all, 256);
    memcpy(cmd + h + 256, "\r\n", 2);
    enc = NULL;
    enclen = 0;
    enc_add(&enc, &enclen, all, 256);
    expect(__FILE__, __LINE__, cmd, (size_t)h + 258, &lim_auth, RESP_OK, (size_t)h + 258, enc,
           enclen, NULL);
    free(enc);
}

TEST(resp_multibulk_empty) {
    EXPECT_EMPTY("*0\r\n");
    EXPECT_EMPTY("*-1\r\n");
    EXPECT_EMPTY("*-5\r\n");              /* redis-server: ignored, next PING answered */
    /* Redis skips the two bytes after a bulk without checking them. */
    EXPECT_ARGS("*1\r\n$4\r\nPINGxx", "PING");
}

TEST(resp_multibulk_errors) {
    EXPECT_ERR("*abc\r\n", "Protocol error: invalid multibulk length");
    EXPECT_ERR("*3000000000\r\n", "Protocol error: invalid multibulk length");
    EXPECT_ERR("*2147483648\r\n", "Protocol error: invalid multibulk length");
    EXPECT_ERR("*01\r\n", "Protocol error: invalid multibulk length");
    EXPECT_ERR("*+1\r\n", "Protocol error: invalid multibulk length");
    EXPECT_ERR("*\r\n", "Protocol error: invalid multibulk length");
    EXPECT_ERR("* 1\r\n", "Protocol error: invalid multibulk length");
    EXPECT_ERR("*1\r\nx3\r\n", "Protocol error: expected '$', got 'x'");
    EXPECT_ERR("*2\r\n$1\r\na\r\n:1\r\n", "Protocol error: expected '$', got ':'");
    EXPECT_ERR("*1\r\n$-1\r\n", "Protocol error: invalid bulk length");
    EXPECT_ERR("*1\r\n$abc\r\n", "Protocol error: invalid bulk length");
    EXPECT_ERR("*1\r\n$+4\r\nPING\r\n", "Protocol error: invalid bulk length");
    EXPECT_ERR("*1\r\n$04\r\nPING\r\n", "Protocol error: invalid bulk length");
    EXPECT_ERR("*1\r\n$\r\n", "Protocol error: invalid bulk length");
    EXPECT_ERR("*1\r\n$536870913\r\n", "Protocol error: invalid bulk length");
    /* A huge but valid header waits for the data. */
    EXPECT_AGAIN_LIM("*1\r\n$536870912\r\n", &lim_auth);
    EXPECT_AGAIN_LIM("*2147483647\r\n", &lim_auth);
    resp_limits small = lim_auth;
    small.max_bulk_len = 1024 * 1024;
    EXPECT_ERR_LIM("*1\r\n$1048577\r\n", &small, "Protocol error: invalid bulk length");
    EXPECT_AGAIN_LIM("*1\r\n$1048576\r\n", &small);
}

/* Before AUTH, Redis allows at most 10 arguments of at most 16 KB. */
TEST(resp_unauthenticated_limits) {
    resp_limits un = lim_auth;
    un.max_multibulk_len = 10;
    EXPECT_ERR_LIM("*11\r\n", &un, "Protocol error: unauthenticated multibulk length");
    EXPECT_ERR_LIM("*3000000000\r\n", &un, "Protocol error: invalid multibulk length");
    EXPECT_AGAIN_LIM("*10\r\n", &un);
    EXPECT_ERR_LIM("*10\r\n$16385\r\n", &un, "Protocol error: unauthenticated bulk length");
    EXPECT_AGAIN_LIM("*2\r\n$4\r\nECHO\r\n$16384\r\n", &un);
    /* The bulk-length check comes first: Redis says "invalid" for these. */
    EXPECT_ERR_LIM("*1\r\n$536870913\r\n", &un, "Protocol error: invalid bulk length");
    EXPECT_ERR_LIM("*1\r\n$-3\r\n", &un, "Protocol error: invalid bulk length");
    /* Inline commands have no such limit (Redis answers -NOAUTH later). */
    expect_args(__FILE__, __LINE__, "A B C D E F G H I J K L\r\n", 25, &un, 25,
                (const char *const[]){"A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L",
                                      NULL});
}

/* Feed `n` bytes made by fill(); return the status and error text. */
static enum resp_status feed_big(size_t n, const char *prefix, char fill, char *err) {
    char *buf = xmalloc(n);
    size_t pl = strlen(prefix);
    memcpy(buf, prefix, pl);
    memset(buf + pl, fill, n - pl);
    resp_parser p;
    resp_parser_init(&p);
    size_t consumed;
    enum resp_status st = resp_parse(&p, buf, n, &lim_auth, &consumed);
    snprintf(err, 128, "%s", st == RESP_ERROR ? p.errmsg : "");
    resp_parser_free(&p);
    free(buf);
    return st;
}

/* redis-server 7.0: a request with no line end in its first 64 KB is an
 * error; exactly 64 KB still waits. */
TEST(resp_too_big_without_newline) {
    char err[128];
    CHECK_EQ(feed_big(INLINE_MAX, "", 'x', err), RESP_AGAIN);
    CHECK_EQ(feed_big(INLINE_MAX + 1, "", 'x', err), RESP_ERROR);
    CHECK_STR(err, "Protocol error: too big inline request");
    CHECK_EQ(feed_big(INLINE_MAX, "*", '1', err), RESP_AGAIN);
    CHECK_EQ(feed_big(INLINE_MAX + 1, "*", '1', err), RESP_ERROR);
    CHECK_STR(err, "Protocol error: too big mbulk count string");
    CHECK_EQ(feed_big(70000, "*1\r\n$", '1', err), RESP_ERROR);
    CHECK_STR(err, "Protocol error: too big bulk count string");
    CHECK_EQ(feed_big(4 + INLINE_MAX, "*1\r\n$", '1', err), RESP_AGAIN);
    CHECK_EQ(feed_big(4 + INLINE_MAX + 1, "*1\r\n$", '1', err), RESP_ERROR);

    /* The same, growing 1 KB per call: the limit applies to what has
     * accumulated, not to one read. */
    resp_parser p;
    resp_parser_init(&p);
    char *buf = xmalloc(INLINE_MAX + 2048);
    memset(buf, 'a', INLINE_MAX + 2048);
    enum resp_status st = RESP_AGAIN;
    size_t n = 0, consumed;
    while (st == RESP_AGAIN && n < INLINE_MAX + 2048) {
        n += 1024;
        st = resp_parse(&p, buf, n, &lim_auth, &consumed);
    }
    CHECK_EQ(st, RESP_ERROR);
    CHECK_EQ(n, INLINE_MAX + 1024);
    CHECK_STR(p.errmsg, "Protocol error: too big inline request");
    resp_parser_free(&p);

    /* A long inline line is fine when its newline is already there. */
    size_t big = 100000;
    char *line = xmalloc(big + 7);
    memcpy(line, "ECHO ", 5);
    memset(line + 5, 'z', big);
    memcpy(line + 5 + big, "\r\n", 2);
    resp_parser_init(&p);
    st = resp_parse(&p, line, big + 7, &lim_auth, &consumed);
    CHECK_EQ(st, RESP_OK);
    CHECK_EQ(consumed, big + 7);
    CHECK_EQ(p.argc, 2);
    CHECK_EQ(p.argv[1].len, big);
    resp_parser_free(&p);
    free(line);
    free(buf);
}

/* ---- inline --------------------------------------------------------------- */

TEST(resp_inline) {
    EXPECT_ARGS("PING\r\n", "PING");
    EXPECT_ARGS("PING\n", "PING");
    EXPECT_ARGS("SET a b\r\n", "SET", "a", "b");
    EXPECT_ARGS("  SET \t a   b  \r\n", "SET", "a", "b");
    EXPECT_ARGS("EC\rHO x\r\n", "EC", "HO", "x");     /* a bare CR separates */
    EXPECT_ARGS("a\vb c\r\n", "a\vb", "c");           /* \v separates only between args */
    EXPECT_ARGS("\va b\r\n", "a", "b");
    EXPECT_ARGS("x\r\r\n", "x");
    /* '*' only means multibulk at the very start. */
    EXPECT_ARGS(" *1\r\n", "*1");
    EXPECT_ARGS("GET *\r\n", "GET", "*");
}

TEST(resp_inline_empty) {
    EXPECT_EMPTY("\r\n");
    EXPECT_EMPTY("\n");
    EXPECT_EMPTY("   \r\n");
    EXPECT_EMPTY(" \t \n");
}

/* Quoting follows sdssplitargs (checked with ECHO against redis-server). */
TEST(resp_inline_quoting) {
    EXPECT_ARGS("SET \"a b\" 'x'\r\n", "SET", "a b", "x");
    EXPECT_ARGS("ECHO \"\"\r\n", "ECHO", "");
    EXPECT_ARGS("ECHO '' \"\"\r\n", "ECHO", "", "");
    EXPECT_ARGS("ECHO \"\\x41\\x4g\\\"\\n\"\r\n", "ECHO", "Ax4g\"\n");
    EXPECT_ARGS("ECHO \"\\x4A\\x6b\"\r\n", "ECHO", "Jk");
    EXPECT_ARGS("ECHO \"\\t\\r\\b\\a\\\\\\q\"\r\n", "ECHO", "\t\r\b\a\\q");
    EXPECT_ARGS("ECHO \"\\x\" \"\\x4\"\r\n", "ECHO", "x", "x4");
    EXPECT_ARGS("ECHO 'it\\'s'\r\n", "ECHO", "it's");
    EXPECT_ARGS("ECHO 'a\\nb\\x41'\r\n", "ECHO", "a\\nb\\x41");  /* no escapes in '' */
    EXPECT_ARGS("ECHO 'a \"b\"'\r\n", "ECHO", "a \"b\"");
    EXPECT_ARGS("ECHO \"it's\"\r\n", "ECHO", "it's");
    EXPECT_ARGS("ECHO a\"b\"\r\n", "ECHO", "ab");     /* glued: one argument */
    EXPECT_ARGS("ECHO a\"b c\"\r\n", "ECHO", "ab c");
    EXPECT_ARGS("ECHO a'b'\r\n", "ECHO", "ab");
    EXPECT_ARGS("ECHO \"a\"\t\"b\"\r\n", "ECHO", "a", "b");
    EXPECT_ARGS("\"SET\" \"k\" \"v\"\n", "SET", "k", "v");
    /* Escapes that make CR, LF and NUL bytes inside an argument. */
    static const char in[] = "SET \"k\\x00\\r\\n\" \"\\x00\"\r\n";
    char *enc = NULL;
    size_t enclen = 0;
    enc_add(&enc, &enclen, "SET", 3);
    enc_add(&enc, &enclen, "k\0\r\n", 4);
    enc_add(&enc, &enclen, "\0", 1);
    expect(__FILE__, __LINE__, in, sizeof(in) - 1, &lim_auth, RESP_OK, sizeof(in) - 1, enc,
           enclen, NULL);
    free(enc);
    static const char hi[] = "ECHO \"\\xff\\x80\"\r\n";
    enc = NULL;
    enclen = 0;
    enc_add(&enc, &enclen, "ECHO", 4);
    enc_add(&enc, &enclen, "\xff\x80", 2);
    expect(__FILE__, __LINE__, hi, sizeof(hi) - 1, &lim_auth, RESP_OK, sizeof(hi) - 1, enc, enclen,
           NULL);
    free(enc);
}

TEST(resp_inline_unbalanced) {
    static const char msg[] = "Protocol error: unbalanced quotes in request";
    EXPECT_ERR("ECHO \"a\r\n", msg);
    EXPECT_ERR("ECHO 'a\r\n", msg);
    EXPECT_ERR("ECHO \"a\"b\r\n", msg);      /* closing quote glued to more */
    EXPECT_ERR("ECHO 'a'b\r\n", msg);
    EXPECT_ERR("ECHO a\"b c\"d\r\n", msg);
    EXPECT_ERR("ECHO \"a\\\"\r\n", msg);     /* \" does not close */
    EXPECT_ERR("ECHO 'a\\'\r\n", msg);
    EXPECT_ERR("ECHO \"a\\\r\n", msg);       /* backslash at the end */
    EXPECT_ERR("\"\r\n", msg);
    EXPECT_ERR("'\n", msg);
}

/* A NUL byte inside an inline line. redis-server 7.0 never answers such a
 * line (it looks for the newline with strchr, which stops at the NUL, and
 * waits until the 64 KB limit). We only require that it neither hangs nor
 * reads outside the line, and that the next command is intact. */
TEST(resp_inline_nul_byte) {
    static const char in[] = "SET a\0b c\r\nPING\r\n";
    resp_parser p;
    resp_parser_init(&p);
    char *buf = xmalloc(sizeof(in) - 1);
    memcpy(buf, in, sizeof(in) - 1);
    size_t consumed = 0;
    enum resp_status st = resp_parse(&p, buf, sizeof(in) - 1, &lim_auth, &consumed);
    CHECK(st == RESP_OK || st == RESP_ERROR);
    if (st == RESP_OK) {
        CHECK_EQ(consumed, 11);
        CHECK(p.argc >= 1 && p.argc <= 4);
        for (int i = 0; i < p.argc; i++) CHECK(p.argv[i].off + p.argv[i].len <= 9);
        resp_parser_reset(&p);
        st = resp_parse(&p, buf + consumed, sizeof(in) - 1 - consumed, &lim_auth, &consumed);
        CHECK_EQ(st, RESP_OK);
        CHECK_EQ(p.argc, 1);
    }
    resp_parser_free(&p);
    free(buf);
}

/* ---- streams of commands ----------------------------------------------- */

TEST(resp_pipeline) {
    static const char in[] =
        "*1\r\n$4\r\nPING\r\n"
        "SET k \"v w\"\r\n"
        "\r\n"
        "*0\r\n"
        "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$3\r\nb\0c\r\n"
        "\n"
        "GET a\n"
        "*-1\r\n"
        "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n";
    static const struct { enum resp_status st; size_t consumed; int argc; const char *last; size_t lastlen; } want[] = {
        {RESP_OK, 14, 1, "PING", 4},
        {RESP_OK, 13, 3, "v w", 3},
        {RESP_EMPTY, 2, 0, NULL, 0},
        {RESP_EMPTY, 4, 0, NULL, 0},
        {RESP_OK, 29, 3, "b\0c", 3},
        {RESP_EMPTY, 1, 0, NULL, 0},
        {RESP_OK, 6, 2, "a", 1},
        {RESP_EMPTY, 5, 0, NULL, 0},
        {RESP_OK, 20, 2, "", 0},
    };
    size_t nwant = sizeof(want) / sizeof(want[0]);
    size_t total = sizeof(in) - 1;
    /* Whole buffer, then the same stream delivered in reads of every size
     * from 1 to 17 bytes (a read buffer that keeps unparsed bytes). */
    for (size_t chunk = 0; chunk <= 17; chunk++) {
        resp_parser p;
        resp_parser_init(&p);
        char *buf = xmalloc(total);
        size_t have = chunk ? 0 : total, pos = 0, i = 0;
        memcpy(buf, in, total);
        while (i < nwant) {
            size_t consumed = 0;
            enum resp_status st = resp_parse(&p, buf + pos, have - pos, &lim_auth, &consumed);
            if (st == RESP_AGAIN) {
                if (!CHECK(have < total)) break;
                have = have + chunk > total ? total : have + chunk;
                continue;
            }
            bool ok = CHECK_EQ(st, want[i].st) && CHECK_EQ(consumed, want[i].consumed);
            if (ok && st == RESP_OK) {
                resp_bind_args(&p, buf + pos);
                resp_arg *a = &p.argv[p.argc - 1];
                ok = CHECK_EQ(p.argc, want[i].argc) &&
                     CHECK_MEM(a->ptr, a->len, want[i].last, want[i].lastlen);
            }
            if (!ok) {
                fprintf(stderr, "  command %zu, chunk %zu\n", i, chunk);
                break;
            }
            pos += consumed;
            resp_parser_reset(&p);
            i++;
        }
        CHECK_EQ(pos, total);
        resp_parser_free(&p);
        free(buf);
    }
}

/* resp_bulk_remaining tells the reader how much of a big bulk is missing. */
TEST(resp_bulk_remaining) {
    resp_parser p;
    resp_parser_init(&p);
    char buf[64];
    memcpy(buf, "*2\r\n$3\r\nSET\r\n$10\r\nab", 20);
    size_t consumed;
    CHECK_EQ(resp_bulk_remaining(&p, 0), 0);
    CHECK_EQ(resp_parse(&p, buf, 20, &lim_auth, &consumed), RESP_AGAIN);
    /* 18 header bytes + 10 data + CRLF = 30; 20 are here. */
    CHECK_EQ(resp_bulk_remaining(&p, 20), 10);
    CHECK_EQ(resp_bulk_remaining(&p, 30), 0);
    memcpy(buf + 20, "cdefghij\r\n", 10);
    CHECK_EQ(resp_parse(&p, buf, 30, &lim_auth, &consumed), RESP_OK);
    CHECK_EQ(consumed, 30);
    resp_parser_reset(&p);
    CHECK_EQ(resp_bulk_remaining(&p, 0), 0);
    resp_parser_free(&p);
}

/* A big bulk fed one byte per call finishes in linear time: bulk data is
 * never rescanned. 4 MB, one call per byte. */
TEST(resp_big_bulk_bytewise) {
    size_t n = 4 << 20;
    char hdr[64];
    int h = snprintf(hdr, sizeof(hdr), "*2\r\n$3\r\nSET\r\n$%zu\r\n", n);
    size_t total = (size_t)h + n + 2;
    char *buf = xmalloc(total);
    memcpy(buf, hdr, (size_t)h);
    for (size_t i = 0; i < n; i++) buf[h + i] = (char)('a' + i % 26);
    memcpy(buf + h + n, "\r\n", 2);
    resp_parser p;
    resp_parser_init(&p);
    double t0 = unit_now();
    enum resp_status st = RESP_AGAIN;
    size_t k, consumed = 0;
    for (k = 1; k <= total && st == RESP_AGAIN; k++)
        st = resp_parse(&p, buf, k, &lim_auth, &consumed);
    double dt = unit_now() - t0;
    CHECK_EQ(st, RESP_OK);
    CHECK_EQ(k - 1, total);
    CHECK_EQ(consumed, total);
    resp_bind_args(&p, buf);
    CHECK_EQ(p.argv[1].len, n);
    CHECK(p.argv[1].ptr[0] == 'a' && p.argv[1].ptr[n - 1] == (char)('a' + (n - 1) % 26));
    if (!CHECK(dt < 3.0)) fprintf(stderr, "  %.2f s for %zu calls\n", dt, total);
    resp_parser_free(&p);
    free(buf);
}

/* Many arguments grow argv; reset gives a huge argv back and the parser
 * keeps working. Both encodings. */
TEST(resp_many_args) {
    int nargs = 5000;
    size_t cap = (size_t)nargs * 16 + 32, n = 0;
    char *mb = xmalloc(cap), *il = xmalloc(cap);
    n = (size_t)snprintf(mb, cap, "*%d\r\n", nargs);
    size_t m = 0;
    for (int i = 0; i < nargs; i++) {
        char a[16];
        int al = snprintf(a, sizeof(a), "%d", i);
        n += (size_t)snprintf(mb + n, cap - n, "$%d\r\n%s\r\n", al, a);
        m += (size_t)snprintf(il + m, cap - m, "%s%s", i ? " " : "", a);
    }
    m += (size_t)snprintf(il + m, cap - m, "\r\n");
    const char *bufs[2] = {mb, il};
    size_t lens[2] = {n, m};
    resp_parser p;
    resp_parser_init(&p);
    for (int r = 0; r < 2; r++) {
        char *copy = xmalloc(lens[r]);
        memcpy(copy, bufs[r], lens[r]);
        size_t consumed;
        CHECK_EQ(resp_parse(&p, copy, lens[r], &lim_auth, &consumed), RESP_OK);
        CHECK_EQ(consumed, lens[r]);
        CHECK_EQ(p.argc, nargs);
        resp_bind_args(&p, copy);
        for (int i = 0; i < p.argc; i++) {
            char a[16];
            snprintf(a, sizeof(a), "%d", i);
            if (!CHECK_STR(p.argv[i].ptr, a)) break;
        }
        free(copy);
        resp_parser_reset(&p);
        CHECK(p.argcap <= 1024);
        char small[] = "*1\r\n$4\r\nPING\r\n";
        CHECK_EQ(resp_parse(&p, small, sizeof(small) - 1, &lim_auth, &consumed), RESP_OK);
        CHECK_EQ(p.argc, 1);
        resp_parser_reset(&p);
    }
    resp_parser_free(&p);
    free(mb);
    free(il);
}

/* config.c reuses the inline splitter for redis.conf lines, '*' or not. */
TEST(resp_force_inline) {
    resp_parser p;
    resp_parser_init(&p);
    char line[] = "*1 \"two words\"\n";
    size_t consumed;
    resp_parser_reset(&p);
    resp_parser_force_inline(&p);
    CHECK_EQ(resp_parse(&p, line, sizeof(line) - 1, &lim_auth, &consumed), RESP_OK);
    CHECK_EQ(p.argc, 2);
    resp_bind_args(&p, line);
    CHECK_STR(p.argv[0].ptr, "*1");
    CHECK_STR(p.argv[1].ptr, "two words");
    resp_parser_free(&p);
}

/* The prefetch peek (networking.c) finds argument 1 of a complete header
 * and declines anything partial or malformed, reading only len bytes (each
 * case in a heap buffer of exactly its length, so ASan sees overreads). */
static bool peek(const char *s, size_t n, const char **arg, size_t *alen) {
    char *copy = xmalloc(n ? n : 1);
    memcpy(copy, s, n);
    size_t cmdlen;
    bool ok = resp_peek_arg1(copy, n, arg, alen, &cmdlen);
    if (ok) *arg = s + (*arg - copy);
    free(copy);
    return ok;
}

TEST(resp_peek_arg1) {
    const char *arg = NULL;
    size_t alen = 0;
    const char full[] = "*3\r\n$3\r\nSET\r\n$5\r\nkey:1\r\n$1\r\nv\r\n";
    CHECK(peek(full, sizeof(full) - 1, &arg, &alen));
    CHECK_EQ(alen, 5);
    CHECK(arg && memcmp(arg, "key:1", 5) == 0);
    {
        size_t cl;
        char *copy = xmalloc(sizeof(full) - 1);
        memcpy(copy, full, sizeof(full) - 1);
        CHECK(resp_peek_arg1(copy, sizeof(full) - 1, &arg, &alen, &cl));
        CHECK_EQ(cl, sizeof(full) - 1);
        CHECK(resp_peek_arg1(copy, sizeof(full) - 2, &arg, &alen, &cl));
        CHECK_EQ(cl, 0);   /* last CRLF missing: length unknown */
        free(copy);
    }
    /* the key itself must be in the buffer; its CRLF need not */
    size_t upto = (size_t)(strstr(full, "key:1") - full) + 5;
    CHECK(peek(full, upto, &arg, &alen));
    for (size_t n = 0; n < upto; n++)
        if (!CHECK(!peek(full, n, &arg, &alen))) break;
    const char *bad[] = {"*1\r\n$4\r\nPING\r\n", "PING\r\n", "*2\r\n$3\r\nGET\r\n:5\r\n",
                         "*2\r\n$x\r\nGET\r\n$1\r\nk\r\n", "*2\r\n$3\nGET\r\n$1\r\nk\r\n",
                         "*2\r\n$99999999999\r\nGET\r\n$1\r\nk\r\n", "*2\r\n$3\r\nGET\r\n$-1\r\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!CHECK(!peek(bad[i], strlen(bad[i]), &arg, &alen))) break;
    const char empty[] = "*2\r\n$3\r\nGET\r\n$0\r\n\r\n";
    CHECK(peek(empty, sizeof(empty) - 1, &arg, &alen));
    CHECK_EQ(alen, 0);
}
