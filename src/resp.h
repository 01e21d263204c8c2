/* resp.h: the RESP request decoder. It does no I/O: feed it a buffer, get
 * back one complete command (argc/argv), "need more", or a protocol error
 * with Redis's exact text. Usable from tests and fuzzers without a socket.
 *
 * The parser is incremental: its state survives between calls, so a command
 * split at any byte boundary parses the same as one delivered whole. Argument
 * offsets are relative to the start of the command, so the caller may move
 * or grow the buffer between calls (compaction, realloc) as long as bytes
 * from the command start onward are kept.
 */
#ifndef STRATA_RESP_H
#define STRATA_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct resp_arg {
    char *ptr;       /* set by resp_bind_args; NUL-terminated in place */
    size_t len;
    size_t off;      /* offset from the command start */
} resp_arg;

enum resp_status {
    RESP_OK = 0,      /* one command complete */
    RESP_AGAIN,       /* need more bytes */
    RESP_ERROR,       /* protocol error: reply errmsg, then close */
    RESP_EMPTY,       /* an empty inline line: consumed, no command */
};

typedef struct resp_limits {
    long long max_bulk_len;        /* proto-max-bulk-len */
    long long max_multibulk_len;   /* 10 for unauthenticated clients (Redis 7.0), else INT_MAX */
    size_t max_inline_len;         /* PROTO_INLINE_MAX_SIZE (64k) */
} resp_limits;

typedef struct resp_parser {
    int state;
    long long multibulk;   /* elements announced */
    long long bulklen;     /* current bulk length, -1 when reading header */
    size_t scan;           /* where the current line search resumes (relative) */
    size_t pos;            /* next unparsed byte of the command (relative) */
    int argc, argcap;
    resp_arg *argv;
    char errmsg[128];
} resp_parser;

void resp_parser_init(resp_parser *p);
void resp_parser_free(resp_parser *p);
void resp_parser_reset(resp_parser *p);   /* after a command completes */
/* Treat the next command as an inline line even if it starts with '*'
 * (config files use the inline quoting rules). */
void resp_parser_force_inline(resp_parser *p);

/* Parse the command starting at buf[0] (buf holds len bytes). On RESP_OK
 * or RESP_EMPTY, *consumed is the command's size; argv offsets are valid.
 * On RESP_AGAIN, call again with the same start and more bytes. On
 * RESP_ERROR, p->errmsg holds the text to reply (without "-"). Inline
 * commands are unquoted in place, so buf must be writable. */
enum resp_status resp_parse(resp_parser *p, char *buf, size_t len,
                            const resp_limits *lim, size_t *consumed);

/* Point argv[i].ptr at buf + off and NUL-terminate each argument in place
 * (the byte after each bulk is its CR, which the parser has validated). */
void resp_bind_args(resp_parser *p, char *buf);

/* Bytes still missing to complete the bulk being read (0 if not in a
 * bulk): lets the reader allocate a big argument's buffer once. */
size_t resp_bulk_remaining(const resp_parser *p, size_t have);

/* A hint for prefetching, not a parse: if buf starts with a complete
 * multibulk header, command name and first argument ("*N\r\n$L\r\nNAME\r\n
 * $K\r\nKEY"), point *arg at that argument and return true; *cmdlen is
 * then the whole command's length if it has at most 8 arguments and all
 * of it is in buf, else 0. Malformed or partial input returns false; the
 * real parse still judges the bytes. */
bool resp_peek_arg1(const char *buf, size_t len, const char **arg, size_t *arglen, size_t *cmdlen);

#endif
