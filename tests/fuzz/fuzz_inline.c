/* fuzz_inline.c: the inline command splitter (resp.c's split_inline, used
 * for inline commands and for every config file line) against a reference:
 * a direct transcription of the rules of Redis's sdssplitargs, kept here
 * and written independently of resp.c. The first line of the input (up to
 * '\n') is parsed as an inline command; the arguments, or the unbalanced
 * quotes error, must be what the reference gives. Lines holding a NUL byte
 * are only checked for memory safety: Redis works on C strings there, so
 * its answer is not a useful reference. */
#include "fuzz.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>
#include "resp.h"

#define MAXREF 4096

typedef struct refarg {
    char *s;
    size_t len;
} refarg;

static int hexval(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c - 'A' + 10;
}

/* sdssplitargs over a NUL-terminated line: the count of arguments, or -1
 * for unbalanced quotes. */
static int ref_split(const char *p, refarg *out, char *store) {
    int argc = 0;
    size_t w = 0;
    for (;;) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) return argc;
        int inq = 0, insq = 0, done = 0;
        size_t start = w;
        while (!done) {
            if (inq) {
                if (*p == '\\' && p[1] == 'x' && isxdigit((unsigned char)p[2]) &&
                    isxdigit((unsigned char)p[3])) {
                    store[w++] = (char)(hexval(p[2]) * 16 + hexval(p[3]));
                    p += 3;
                } else if (*p == '\\' && p[1]) {
                    p++;
                    char c;
                    switch (*p) {
                    case 'n': c = '\n'; break;
                    case 'r': c = '\r'; break;
                    case 't': c = '\t'; break;
                    case 'b': c = '\b'; break;
                    case 'a': c = '\a'; break;
                    default: c = *p; break;
                    }
                    store[w++] = c;
                } else if (*p == '"') {
                    if (p[1] && !isspace((unsigned char)p[1])) return -1;
                    done = 1;
                } else if (!*p) {
                    return -1;
                } else {
                    store[w++] = *p;
                }
            } else if (insq) {
                if (*p == '\\' && p[1] == '\'') {
                    p++;
                    store[w++] = '\'';
                } else if (*p == '\'') {
                    if (p[1] && !isspace((unsigned char)p[1])) return -1;
                    done = 1;
                } else if (!*p) {
                    return -1;
                } else {
                    store[w++] = *p;
                }
            } else {
                switch (*p) {
                case ' ': case '\n': case '\r': case '\t': case '\0': done = 1; break;
                case '"': inq = 1; break;
                case '\'': insq = 1; break;
                default: store[w++] = *p; break;
                }
            }
            if (*p) p++;
        }
        out[argc].s = store + start;
        out[argc].len = w - start;
        argc++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > MAXREF) return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    size_t linelen = nl ? (size_t)(nl - data) : size;
    /* What processInlineBuffer hands sdssplitargs: the line without its
     * "\r\n" or "\n". */
    size_t reflen = linelen && data[linelen - 1] == '\r' ? linelen - 1 : linelen;

    char *buf = malloc(linelen + 1);
    memcpy(buf, data, linelen);
    buf[linelen] = '\n';
    resp_parser p;
    resp_parser_init(&p);
    resp_parser_force_inline(&p);
    resp_limits lim = {LLONG_MAX, INT_MAX, SIZE_MAX};
    size_t consumed = 0;
    enum resp_status st = resp_parse(&p, buf, linelen + 1, &lim, &consumed);
    FUZZ_CHECK(st == RESP_OK || st == RESP_EMPTY || st == RESP_ERROR);
    if (st != RESP_ERROR) {
        FUZZ_CHECK(consumed == linelen + 1);
        resp_bind_args(&p, buf);
    }

    if (!memchr(data, '\0', reflen)) {
        char line[MAXREF + 1], store[MAXREF + 1];
        refarg ref[MAXREF];
        memcpy(line, data, reflen);
        line[reflen] = '\0';
        int n = ref_split(line, ref, store);
        if (n < 0) {
            FUZZ_CHECK(st == RESP_ERROR);
            FUZZ_CHECK(strcmp(p.errmsg, "Protocol error: unbalanced quotes in request") == 0);
        } else {
            FUZZ_CHECK(st != RESP_ERROR);
            FUZZ_CHECK(p.argc == n);
            FUZZ_CHECK((st == RESP_EMPTY) == (n == 0));
            for (int i = 0; i < n; i++) {
                FUZZ_CHECK(p.argv[i].len == ref[i].len);
                FUZZ_CHECK(memcmp(p.argv[i].ptr, ref[i].s, ref[i].len) == 0);
            }
        }
    }
    resp_parser_free(&p);
    free(buf);
    return 0;
}
