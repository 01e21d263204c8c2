/* fuzz_resp.c: the RESP request decoder (src/resp.c) as networking.c
 * drives it: bytes arrive in pieces, resp_parse is called again from the
 * same command start with more bytes, a complete command is bound in place
 * and consumed, the parser is reset; a protocol error ends the stream.
 *
 * Input: byte 0 picks the limits (bit 0: an unauthenticated client's
 * multibulk/bulk limits; bit 1: tiny bulk and inline limits so the limit
 * paths are reached with small inputs), byte 1 seeds the read sizes; the
 * rest is the stream. The stream is parsed twice, once delivered whole and
 * once in pieces, and both must yield the same commands (the decoder's
 * promise that a split at any byte parses the same), except that a size
 * limit may trip in one delivery and not the other (Redis checks the
 * inline limit only while no newline has arrived). Each argument must lie
 * inside the bytes consumed. */
#include "fuzz.h"

#include <limits.h>
#include <string.h>
#include "resp.h"

typedef struct run {
    char *log;           /* the commands: "argc\0len\0bytes..." */
    size_t len, cap;
    int ncmds;
    int error;           /* 0, or 1 + whether it was a size limit */
    char errmsg[128];
} run;

static void log_bytes(run *r, const void *p, size_t n) {
    if (r->len + n > r->cap) {
        r->cap = (r->len + n) * 2 + 64;
        r->log = realloc(r->log, r->cap);
    }
    memcpy(r->log + r->len, p, n);
    r->len += n;
}

/* Feed `size` bytes of data to the parser in pieces whose sizes come from
 * seed (0: all at once), as on_read/process_input do. */
static void parse_stream(const uint8_t *data, size_t size, const resp_limits *lim,
                         unsigned seed, run *r) {
    resp_parser p;
    resp_parser_init(&p);
    /* The connection's buffer: an exact-size copy of what has arrived, so
     * ASan sees any access past it. */
    size_t start = 0, arrived = 0;
    unsigned x = seed * 2654435761u + 1;
    while (start < size) {
        size_t step;
        if (seed == 0) step = size - arrived;
        else {
            x = x * 1103515245u + 12345u;
            step = 1 + (x >> 16) % 7;
        }
        if (arrived + step > size) step = size - arrived;
        arrived += step;
        for (;;) {
            size_t have = arrived - start;
            if (have == 0) break;
            char *buf = malloc(have);
            memcpy(buf, data + start, have);
            /* The prefetch peek (networking.c) on the same bytes, before
             * resp_bind_args writes into them. */
            const char *pk = NULL;
            size_t pklen = 0, pcmd = 0;
            bool peeked = resp_peek_arg1(buf, have, &pk, &pklen, &pcmd);
            if (peeked) FUZZ_CHECK(pk >= buf && pklen <= have && (size_t)(pk - buf) <= have - pklen);
            size_t consumed = 0;
            enum resp_status st = resp_parse(&p, buf, have, lim, &consumed);
            if (st == RESP_AGAIN) {
                free(buf);
                break;
            }
            if (st == RESP_ERROR) {
                FUZZ_CHECK(strlen(p.errmsg) > 0 && strncmp(p.errmsg, "Protocol error", 14) == 0);
                r->error = 1 + (strstr(p.errmsg, "too big") != NULL);
                snprintf(r->errmsg, sizeof(r->errmsg), "%s", p.errmsg);
                free(buf);
                resp_parser_free(&p);
                return;
            }
            FUZZ_CHECK(consumed > 0 && consumed <= have);
            if (st == RESP_OK) {
                FUZZ_CHECK(p.argc > 0);
                /* Where the parser accepts a command the peek also read,
                 * both name the same first argument and length. */
                if (peeked && p.argc >= 2) {
                    FUZZ_CHECK(pk == buf + p.argv[1].off && pklen == p.argv[1].len);
                    if (pcmd) FUZZ_CHECK(pcmd == consumed);
                }
                resp_bind_args(&p, buf);
                int argc = p.argc;
                log_bytes(r, &argc, sizeof(argc));
                for (int i = 0; i < p.argc; i++) {
                    FUZZ_CHECK(p.argv[i].off + p.argv[i].len < consumed);
                    FUZZ_CHECK(p.argv[i].ptr[p.argv[i].len] == '\0');
                    log_bytes(r, &p.argv[i].len, sizeof(size_t));
                    log_bytes(r, p.argv[i].ptr, p.argv[i].len);
                }
                r->ncmds++;
            }
            free(buf);
            start += consumed;
            resp_parser_reset(&p);
            /* The parser keeps no state past a reset. */
            FUZZ_CHECK(resp_bulk_remaining(&p, 0) == 0);
        }
        if (arrived == size) break;
    }
    resp_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint8_t mode = data[0], seed = data[1];
    data += 2;
    size -= 2;
    resp_limits lim = {
        .max_bulk_len = (mode & 2) ? 64 : 512LL * 1024 * 1024,
        .max_multibulk_len = (mode & 1) ? 10 : INT_MAX,
        .max_inline_len = (mode & 2) ? 32 : 64 * 1024,
    };
    run whole = {0}, split = {0};
    parse_stream(data, size, &lim, 0, &whole);
    parse_stream(data, size, &lim, seed ? seed : 1, &split);
    /* Same commands up to where the shorter run stopped. */
    size_t common = whole.len < split.len ? whole.len : split.len;
    FUZZ_CHECK(common == 0 || memcmp(whole.log, split.log, common) == 0);
    if (!whole.error && !split.error) {
        FUZZ_CHECK(whole.len == split.len && whole.ncmds == split.ncmds);
    } else if (whole.error != split.error || whole.ncmds != split.ncmds) {
        /* Only a size limit may tell the two deliveries apart. */
        FUZZ_CHECK(whole.error == 2 || split.error == 2);
    } else {
        FUZZ_CHECK(strcmp(whole.errmsg, split.errmsg) == 0);
    }
    free(whole.log);
    free(split.log);
    return 0;
}
