/* resp.c: incremental RESP2 request decoder (multibulk and inline), with
 * Redis's limits and protocol error texts. No I/O and no knowledge of
 * commands: it turns bytes into argument offsets.
 *
 * Invariants:
 *  1. All positions kept in the parser (pos, scan, arg offsets) are relative
 *     to the start of the current command, so the caller may move the
 *     buffer between calls.
 *  2. Each byte is examined a bounded number of times however the command
 *     is split across reads: line searches resume at `scan`, and bulk data
 *     is never rescanned.
 */
#include "resp.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"


enum { S_START, S_MB_HEADER, S_BULK_HEADER, S_BULK_DATA, S_INLINE };


void resp_parser_init(resp_parser *p) {
    memset(p, 0, sizeof(*p));
    p->argcap = 16;
    p->argv = xmalloc(sizeof(resp_arg) * (size_t)p->argcap);
    resp_parser_reset(p);
}

void resp_parser_free(resp_parser *p) {
    free(p->argv);
    p->argv = NULL;
}

void resp_parser_reset(resp_parser *p) {
    p->state = S_START;
    p->multibulk = 0;
    p->bulklen = -1;
    p->scan = 0;
    p->pos = 0;
    p->argc = 0;
    /* A huge pipelined command should not pin a huge argv forever. */
    if (p->argcap > 1024) {
        p->argcap = 16;
        p->argv = xrealloc(p->argv, sizeof(resp_arg) * (size_t)p->argcap);
    }
}

void resp_parser_force_inline(resp_parser *p) { p->state = S_INLINE; }

static void push_arg(resp_parser *p, size_t off, size_t len) {
    if (p->argc == p->argcap) {
        p->argcap *= 2;
        p->argv = xrealloc(p->argv, sizeof(resp_arg) * (size_t)p->argcap);
    }
    p->argv[p->argc].off = off;
    p->argv[p->argc].len = len;
    p->argv[p->argc].ptr = NULL;
    p->argc++;
}

static enum resp_status fail(resp_parser *p, const char *msg) {
    snprintf(p->errmsg, sizeof(p->errmsg), "%s", msg);
    return RESP_ERROR;
}

/* Find "\r\n" (multibulk) at or after p->scan; returns offset of '\r' or -1. */
static long find_crlf(resp_parser *p, const char *buf, size_t len) {
    size_t from = p->scan > p->pos ? p->scan : p->pos;
    if (from >= len) return -1;
    const char *cr = memchr(buf + from, '\r', len - from);
    while (cr) {
        size_t at = (size_t)(cr - buf);
        if (at + 1 >= len) {
            p->scan = at;           /* maybe the '\n' is still coming */
            return -1;
        }
        if (cr[1] == '\n') return (long)at;
        cr = memchr(cr + 1, '\r', len - at - 1);
    }
    p->scan = len;
    return -1;
}

/* Split an inline line in place the way Redis's sdssplitargs does: spaces
 * separate, "..." with escapes (\n \r \t \b \a \\ \" \xHH), '...' with \'.
 * A closing quote must be followed by a space or the end. The output never
 * outgrows the input, so it is written over the line itself, each argument
 * NUL-terminated. Returns false on unbalanced quotes. */
static bool split_inline(resp_parser *p, char *line, size_t len) {
    size_t r = 0, w = 0;
    for (;;) {
        while (r < len && isspace((unsigned char)line[r])) r++;
        if (r >= len) return true;
        size_t start = w;
        bool inq = false, insq = false, done = false;
        while (!done) {
            if (inq) {
                if (r >= len) return false;
                if (line[r] == '\\' && r + 3 < len + 0 && line[r + 1] == 'x' &&
                    isxdigit((unsigned char)line[r + 2]) && isxdigit((unsigned char)line[r + 3])) {
                    char hex[3] = {line[r + 2], line[r + 3], 0};
                    line[w++] = (char)strtol(hex, NULL, 16);
                    r += 4;
                } else if (line[r] == '\\' && r + 1 < len) {
                    char c;
                    r++;
                    switch (line[r]) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: c = line[r]; break;
                    }
                    line[w++] = c;
                    r++;
                } else if (line[r] == '"') {
                    r++;
                    if (r < len && !isspace((unsigned char)line[r])) return false;
                    done = true;
                } else {
                    line[w++] = line[r++];
                }
            } else if (insq) {
                if (r >= len) return false;
                if (line[r] == '\\' && r + 1 < len && line[r + 1] == '\'') {
                    line[w++] = '\'';
                    r += 2;
                } else if (line[r] == '\'') {
                    r++;
                    if (r < len && !isspace((unsigned char)line[r])) return false;
                    done = true;
                } else {
                    line[w++] = line[r++];
                }
            } else {
                if (r >= len) { done = true; break; }
                switch (line[r]) {
                case ' ': case '\n': case '\r': case '\t': case '\0':
                    r++;   /* consume it, so the NUL below cannot land on unread input */
                    done = true;
                    break;
                case '"': inq = true; r++; break;
                case '\'': insq = true; r++; break;
                default: line[w++] = line[r++]; break;
                }
            }
        }
        push_arg(p, start, w - start);
        /* NUL after the argument: w < r holds here because a separator
         * or a closing quote was consumed, or w <= len at the end of the
         * line, where the caller guarantees a '\n' (or '\r') follows. */
        line[w++] = '\0';
    }
}

enum resp_status resp_parse(resp_parser *p, char *buf, size_t len,
                            const resp_limits *lim, size_t *consumed) {
    for (;;) {
        switch (p->state) {
        case S_START:
            if (len == 0) return RESP_AGAIN;
            p->state = buf[0] == '*' ? S_MB_HEADER : S_INLINE;
            break;

        case S_INLINE: {
            const char *nl = memchr(buf + p->scan, '\n', len - p->scan);
            if (!nl) {
                if (len > lim->max_inline_len)
                    return fail(p, "Protocol error: too big inline request");
                p->scan = len;
                return RESP_AGAIN;
            }
            size_t end = (size_t)(nl - buf);
            size_t linelen = end;
            if (linelen && buf[linelen - 1] == '\r') linelen--;
            if (!split_inline(p, buf, linelen)) {
                p->argc = 0;
                return fail(p, "Protocol error: unbalanced quotes in request");
            }
            *consumed = end + 1;
            return p->argc ? RESP_OK : RESP_EMPTY;
        }

        case S_MB_HEADER: {
            long cr = find_crlf(p, buf, len);
            if (cr < 0) {
                if (len > lim->max_inline_len)
                    return fail(p, "Protocol error: too big mbulk count string");
                return RESP_AGAIN;
            }
            long long n;
            if (!util_str2ll(buf + 1, (size_t)cr - 1, &n) || n > INT_MAX)
                return fail(p, "Protocol error: invalid multibulk length");
            if (n > lim->max_multibulk_len)
                return fail(p, "Protocol error: unauthenticated multibulk length");
            p->pos = (size_t)cr + 2;
            if (n <= 0) {
                *consumed = p->pos;
                return RESP_EMPTY;
            }
            p->multibulk = n;
            p->state = S_BULK_HEADER;
            break;
        }

        case S_BULK_HEADER: {
            if (p->pos >= len) return RESP_AGAIN;
            if (buf[p->pos] != '$') {
                snprintf(p->errmsg, sizeof(p->errmsg),
                         "Protocol error: expected '$', got '%c'", buf[p->pos]);
                return RESP_ERROR;
            }
            long cr = find_crlf(p, buf, len);
            if (cr < 0) {
                if (len - p->pos > lim->max_inline_len)
                    return fail(p, "Protocol error: too big bulk count string");
                return RESP_AGAIN;
            }
            long long n;
            if (!util_str2ll(buf + p->pos + 1, (size_t)cr - p->pos - 1, &n) || n < 0 ||
                n > lim->max_bulk_len)
                return fail(p, "Protocol error: invalid bulk length");
            if (lim->max_multibulk_len <= 10 && n > 16384)
                return fail(p, "Protocol error: unauthenticated bulk length");
            p->bulklen = n;
            p->pos = (size_t)cr + 2;
            p->state = S_BULK_DATA;
            break;
        }

        case S_BULK_DATA:
            /* Like Redis, the two bytes after the data are skipped, not
             * checked: clients in the wild rely on nothing else. */
            if (len - p->pos < (size_t)p->bulklen + 2) return RESP_AGAIN;
            push_arg(p, p->pos, (size_t)p->bulklen);
            p->pos += (size_t)p->bulklen + 2;
            p->scan = p->pos;
            p->bulklen = -1;
            if (--p->multibulk == 0) {
                *consumed = p->pos;
                return RESP_OK;
            }
            p->state = S_BULK_HEADER;
            break;
        }
    }
}

void resp_bind_args(resp_parser *p, char *buf) {
    for (int i = 0; i < p->argc; i++) {
        p->argv[i].ptr = buf + p->argv[i].off;
        p->argv[i].ptr[p->argv[i].len] = '\0';
    }
}

/* How many bytes of the current command have been parsed: networking.c
 * uses it to size reads of big bulks. */
size_t resp_bulk_remaining(const resp_parser *p, size_t have) {
    if (p->state != S_BULK_DATA) return 0;
    size_t need = p->pos + (size_t)p->bulklen + 2;
    return need > have ? need - have : 0;
}

/* Reads a "<c>digits\r\n" header at buf[*i]; the value, or -1. */
static long long peek_header(const char *buf, size_t len, size_t *i, char c) {
    size_t p = *i;
    if (p >= len || buf[p] != c) return -1;
    long long v = 0;
    int digits = 0;
    for (p++; p < len && buf[p] >= '0' && buf[p] <= '9' && digits < 10; p++, digits++)
        v = v * 10 + (buf[p] - '0');
    if (!digits || p + 1 >= len || buf[p] != '\r' || buf[p + 1] != '\n') return -1;
    *i = p + 2;
    return v;
}

bool resp_peek_arg1(const char *buf, size_t len, const char **arg, size_t *arglen, size_t *cmdlen) {
    size_t i = 0;
    *cmdlen = 0;
    long long argc = peek_header(buf, len, &i, '*');
    if (argc < 2) return false;
    long long n = peek_header(buf, len, &i, '$');
    if (n < 0 || (size_t)n + 2 > len - i) return false;
    i += (size_t)n + 2;
    long long k = peek_header(buf, len, &i, '$');
    if (k < 0 || (size_t)k > len - i) return false;
    *arg = buf + i;
    *arglen = (size_t)k;
    /* The command's length, for a peek at the one after it: short
     * commands only, so a peek stays a few dozen bytes of scanning. */
    if (argc > 8 || (size_t)k + 2 > len - i) return true;
    i += (size_t)k + 2;
    for (long long a = 2; a < argc; a++) {
        n = peek_header(buf, len, &i, '$');
        if (n < 0 || (size_t)n + 2 > len - i) return true;
        i += (size_t)n + 2;
    }
    *cmdlen = i;
    return true;
}
