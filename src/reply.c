/* reply.c: the reply builder. Encodes RESP2 or RESP3 (per client) into the
 * client's output buffer; networking.c sends the buffer once per read batch.
 * Also the strict argument parsers shared by every command, so that every
 * command rejects "01", " 1" and "+1" the way Redis does. */
#include "client.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "server.h"
#include "util.h"

static inline void ensure(client *c, size_t n) {
    if (c->olen + n <= c->ocap) return;
    size_t cap = c->ocap ? c->ocap : 16384;
    while (cap < c->olen + n) cap *= 2;
    c->obuf = xrealloc(c->obuf, cap);
    c->ocap = cap;
}

void reply_raw(client *c, const char *p, size_t n) {
    if (c->reply_mode != 0) return;  /* CLIENT REPLY OFF/SKIP */
    ensure(c, n);
    memcpy(c->obuf + c->olen, p, n);
    c->olen += n;
}

void reply_append(client *c, const char *p, size_t n) {
    ensure(c, n);
    memcpy(c->obuf + c->olen, p, n);
    c->olen += n;
}

/* "<prefix><number>\r\n", the header of most replies. */
static void reply_hdr(client *c, char prefix, long long n) {
    if (c->reply_mode != 0) return;
    ensure(c, 24);
    char *p = c->obuf + c->olen;
    *p++ = prefix;
    p += util_ll2str(p, n);
    *p++ = '\r';
    *p++ = '\n';
    c->olen = (size_t)(p - c->obuf);
}

void reply_ok(client *c) { reply_raw(c, "+OK\r\n", 5); }

void reply_simple(client *c, const char *s) {
    size_t n = strlen(s);
    if (c->reply_mode != 0) return;
    ensure(c, n + 3);
    c->obuf[c->olen++] = '+';
    memcpy(c->obuf + c->olen, s, n);
    c->olen += n;
    memcpy(c->obuf + c->olen, "\r\n", 2);
    c->olen += 2;
}

void reply_error(client *c, const char *msg) {
    /* An error text must be one line: newlines would break the protocol,
     * so they become spaces as Redis does. */
    size_t n = strlen(msg);
    atomic_fetch_add_explicit(&srv.stats.total_error_replies, 1, memory_order_relaxed);
    c->nerrors++;
    if (c->reply_mode != 0) return;
    bool has_code = msg[0] != '\0' && msg[0] != ' ';
    if (has_code) {
        /* A code is an upper-case first word (ERR, WRONGTYPE, NOAUTH...). */
        for (size_t i = 0; i < n && msg[i] != ' '; i++)
            if (!(msg[i] >= 'A' && msg[i] <= 'Z')) { has_code = false; break; }
    }
    ensure(c, n + 8);
    c->obuf[c->olen++] = '-';
    if (!has_code) {
        memcpy(c->obuf + c->olen, "ERR ", 4);
        c->olen += 4;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = msg[i];
        c->obuf[c->olen++] = (ch == '\r' || ch == '\n') ? ' ' : ch;
    }
    memcpy(c->obuf + c->olen, "\r\n", 2);
    c->olen += 2;
}

void reply_errorf(client *c, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    reply_error(c, buf);
}

void reply_int(client *c, long long v) { reply_hdr(c, ':', v); }

void reply_bulk(client *c, const char *p, size_t n) {
    if (c->reply_mode != 0) return;
    reply_hdr(c, '$', (long long)n);
    ensure(c, n + 2);
    memcpy(c->obuf + c->olen, p, n);
    c->olen += n;
    c->obuf[c->olen++] = '\r';
    c->obuf[c->olen++] = '\n';
}

void reply_bulk_cstr(client *c, const char *s) {
    if (!s) reply_null(c);
    else reply_bulk(c, s, strlen(s));
}

void reply_bulk_ll(client *c, long long v) {
    char buf[24];
    int n = util_ll2str(buf, v);
    reply_bulk(c, buf, (size_t)n);
}

void reply_null(client *c) {
    if (c->resp == 3) reply_raw(c, "_\r\n", 3);
    else reply_raw(c, "$-1\r\n", 5);
}

void reply_null_array(client *c) {
    if (c->resp == 3) reply_raw(c, "_\r\n", 3);
    else reply_raw(c, "*-1\r\n", 5);
}

void reply_array(client *c, long n) { reply_hdr(c, '*', n); }

void reply_push(client *c, long n) { reply_hdr(c, c->resp == 3 ? '>' : '*', n); }

void reply_map(client *c, long n) {
    if (c->resp == 3) reply_hdr(c, '%', n);
    else reply_hdr(c, '*', 2 * n);
}

void reply_set(client *c, long n) { reply_hdr(c, c->resp == 3 ? '~' : '*', n); }

void reply_double(client *c, double d) {
    char buf[64];
    int n;
    if (c->resp == 3) {
        if (isinf(d)) n = snprintf(buf, sizeof(buf), ",%s\r\n", d > 0 ? "inf" : "-inf");
        else n = snprintf(buf, sizeof(buf), ",%.17g\r\n", d);
        reply_raw(c, buf, (size_t)n);
    } else {
        n = util_d2str(buf, sizeof(buf), d);
        reply_bulk(c, buf, (size_t)n);
    }
}

void reply_bool(client *c, bool b) {
    if (c->resp == 3) reply_raw(c, b ? "#t\r\n" : "#f\r\n", 4);
    else reply_raw(c, b ? ":1\r\n" : ":0\r\n", 4);
}

void reply_verbatim(client *c, const char *p, size_t n, const char *ext) {
    if (c->resp != 3) {
        reply_bulk(c, p, n);
        return;
    }
    reply_hdr(c, '=', (long long)n + 4);
    if (c->reply_mode != 0) return;
    ensure(c, n + 6);
    memcpy(c->obuf + c->olen, ext, 3);
    c->obuf[c->olen + 3] = ':';
    c->olen += 4;
    memcpy(c->obuf + c->olen, p, n);
    c->olen += n;
    c->obuf[c->olen++] = '\r';
    c->obuf[c->olen++] = '\n';
}

/* Deferred lengths: reserve room for the largest header, then move the
 * body down once the count is known. Body moves are rare (few commands
 * use this, and only once per reply). */
#define DEFER_ROOM 24

size_t reply_defer_len(client *c) {
    if (c->reply_mode != 0) return (size_t)-1;
    ensure(c, DEFER_ROOM);
    size_t h = c->olen;
    c->olen += DEFER_ROOM;
    return h;
}

static void set_deferred(client *c, size_t h, char prefix, long n) {
    if (h == (size_t)-1) return;
    char hdr[DEFER_ROOM];
    hdr[0] = prefix;
    int len = 1 + util_ll2str(hdr + 1, n);
    hdr[len++] = '\r';
    hdr[len++] = '\n';
    size_t body = h + DEFER_ROOM;
    memcpy(c->obuf + h, hdr, (size_t)len);
    memmove(c->obuf + h + len, c->obuf + body, c->olen - body);
    c->olen -= (size_t)(DEFER_ROOM - len);
}

void reply_set_deferred_array(client *c, size_t h, long n) { set_deferred(c, h, '*', n); }

void reply_set_deferred_map(client *c, size_t h, long n) {
    if (c->resp == 3) set_deferred(c, h, '%', n);
    else set_deferred(c, h, '*', 2 * n);
}

/* Re-encode one RESP3 value from the blob for a RESP2 client: maps become
 * flat arrays, sets arrays, booleans integers, null a null bulk. Returns
 * the position after the value. */
static const char *blob_to_resp2(client *c, const char *p) {
    const char *nl = strchr(p, '\r');
    long long n = strtoll(p + 1, NULL, 10);
    const char *next = nl + 2;
    switch (p[0]) {
    case '%':
        reply_hdr(c, '*', 2 * n);
        for (long long i = 0; i < 2 * n; i++) next = blob_to_resp2(c, next);
        return next;
    case '*': case '~':
        reply_hdr(c, '*', n);
        for (long long i = 0; i < n; i++) next = blob_to_resp2(c, next);
        return next;
    case '$':
        reply_raw(c, p, (size_t)(next - p) + (size_t)n + 2);
        return next + n + 2;
    case '#':
        reply_raw(c, p[1] == 't' ? ":1\r\n" : ":0\r\n", 4);
        return next;
    case '_':
        reply_raw(c, "$-1\r\n", 5);
        return next;
    default: /* + - : */
        reply_raw(c, p, (size_t)(next - p));
        return next;
    }
}

void reply_resp3_blob(client *c, const char *p, size_t n) {
    if (c->resp == 3) {
        reply_raw(c, p, n);
        return;
    }
    const char *end = p + n;
    while (p < end) p = blob_to_resp2(c, p);
}

void reply_help(client *c, const char *cmd, const char *const *lines) {
    int n = 0;
    while (lines[n]) n++;
    reply_array(c, n + 3);
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "%s <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", cmd);
    reply_simple(c, hdr);
    for (int i = 0; i < n; i++) reply_simple(c, lines[i]);
    reply_simple(c, "HELP");
    reply_simple(c, "    Prints this help.");
}

void reply_subcommand_syntax_error(client *c) {
    char cmd[64];
    size_t n = c->argv[0].len < sizeof(cmd) - 1 ? c->argv[0].len : sizeof(cmd) - 1;
    for (size_t i = 0; i < n; i++) {
        char ch = c->argv[0].ptr[i];
        cmd[i] = ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch;
    }
    cmd[n] = '\0';
    reply_errorf(c, "ERR unknown subcommand or wrong number of arguments for '%.128s'. Try %s HELP.",
                 c->argv[1].ptr, cmd);
}

bool arg_ll(client *c, int i, long long *out, const char *msg) {
    if (util_str2ll(c->argv[i].ptr, c->argv[i].len, out)) return true;
    reply_error(c, msg ? msg : ERR_NOT_INT);
    return false;
}

bool arg_ld(client *c, int i, long double *out, const char *msg) {
    if (util_str2ld(c->argv[i].ptr, c->argv[i].len, out)) return true;
    reply_error(c, msg ? msg : ERR_NOT_FLOAT);
    return false;
}

bool arg_is(const client *c, int i, const char *word) {
    return i < c->argc && util_eq_nocase(c->argv[i].ptr, c->argv[i].len, word);
}

int64_t client_now_ms(const client *c) { return c->cmd_now_ms; }

void client_redact_arg(client *c, int i) {
    static const char redacted[] = "(redacted)";
    c->argv[i].ptr = (char *)redacted;
    c->argv[i].len = sizeof(redacted) - 1;
}
