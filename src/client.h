/* client.h: one connection's session state and its reply builder.
 *
 * A client belongs to exactly one reactor thread for its whole life; only
 * that thread touches it (CLIENT KILL/LIST from other threads go through the
 * registry in networking.c under its lock). Command handlers receive the
 * client, read c->argv, and append their reply with the reply_* functions;
 * they never see the socket.
 *
 * The reply_* functions encode for the client's protocol (c->resp 2 or 3)
 * and append to the output buffer, which networking.c writes once per read
 * batch. They never fail (out of memory aborts, as in Redis).
 */
#ifndef STRATA_CLIENT_H
#define STRATA_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "resp.h"

struct worker;
struct command;
struct acl_user;
struct acl_perm;
struct ps_client;

typedef struct client {
    uint64_t id;
    int fd;
    struct worker *w;          /* owning reactor thread */
    struct event *rev, *wev;   /* libevent read/write events */
    struct ssl_st *ssl;        /* TLS connection (tls.c), NULL on plain TCP/unix */

    /* session */
    int db;
    int resp;                  /* 2 or 3 */
    bool authenticated;        /* Redis's c->authenticated (see acl.h) */
    struct acl_user *user;     /* swapped under the registry lock (CLIENT LIST) */
    struct acl_perm *perm;     /* the user's rules as of acl_epoch (acl.c) */
    uint64_t acl_epoch;        /* acl epoch of perm */
    uint64_t acl_pass_epoch;   /* == the acl epoch while no check is needed, else 0 */
    char *name;                /* CLIENT SETNAME, malloc'd or NULL */
    char *lib_name, *lib_ver;  /* CLIENT SETINFO */
    int reply_mode;            /* CLIENT REPLY: 0 on, 1 off, 2 skip next */
    bool no_evict;
    unsigned flags;            /* CLIENT_* below */
    _Atomic int kill_requested; /* set by CLIENT KILL from any thread */

    /* current command: argv points into the query buffer */
    int argc;
    resp_arg *argv;
    const struct command *cmd, *lastcmd;

    /* input */
    char *qbuf;
    size_t qlen, qcap, qpos;   /* bytes held, capacity, parse position */
    resp_parser parser;
    size_t qbuf_peak;

    /* output */
    char *obuf;
    size_t olen, ocap, osent;
    int64_t obuf_soft_since_ms;

    /* The buffer sizes CLIENT LIST shows, as the owner thread last
     * published them (networking.c, after each flush): another thread's
     * CLIENT LIST reads these, never the fields above, which the owner
     * changes without a lock. */
    _Atomic size_t pub_qbuf, pub_qfree, pub_qcap, pub_qpeak, pub_obl, pub_ocap, pub_argcap;
    /* Its output buffer class (COB_NORMAL or COB_PUBSUB, as
     * net_client_type), published by pubsub.c's sync_client for CLIENT
     * LIST/KILL TYPE on other threads: c->flags is the owner's. */
    _Atomic int pub_type;

    /* Pub/Sub and MONITOR (pubsub.c). ps is written by the owner thread
     * under the pubsub lock; other threads reach it only through the
     * pubsub registry, under that lock. The counts are the owner's copy
     * for CLIENT LIST (a racy snapshot from other threads, like db). */
    struct ps_client *ps;
    int nsub, npsub, nssub;

    /* Output other threads produced for this client (published messages,
     * MONITOR lines), waiting for the owner thread to move it into obuf.
     * Guarded by the owner worker's inbox lock (networking.c). */
    char *xbuf;
    size_t xlen, xcap;
    bool xqueued, xoverflow;
    struct client *xnext;
    /* Owner-thread list of clients whose output someone else's command
     * produced, flushed from the worker's deliver event. */
    struct client *fprev, *fnext;
    bool fqueued;
    /* Owner-thread list of clients whose replies wait for the WAL commit
     * of the records their batch staged (CLIENT_WAL_WAIT, networking.c). */
    struct client *wprev, *wnext;

    /* bookkeeping for CLIENT LIST/INFO and timeout */
    char addr[64], laddr[64];
    int64_t ctime_ms, last_interaction_ms;
    uint64_t tot_cmds;
    uint64_t nerrors;          /* error replies sent (failed_calls accounting) */
    int64_t cmd_now_ms;        /* "now" for the running command */
    int64_t clock_us;          /* inside a read batch: when the previous
                                * command ended, which is when the next one
                                * starts (one clock read per command, not
                                * two); 0 outside a batch */

    /* CLIENT PAUSE: a held client keeps its parsed command in `parser` at
     * qpos (held_len bytes) and sits on its thread's FIFO of held clients. */
    size_t held_len;
    struct client *held_prev, *held_next;
    struct client *reg_prev, *reg_next; /* registry links (networking.c) */

    /* transactions (multi.c) */
    struct multi_state *mstate;          /* non-NULL between MULTI and EXEC */
    struct watched_key **watched;        /* the keys this client WATCHes */
    int nwatched, watched_cap;
    _Atomic bool dirty_cas;              /* set from any thread when one changes */
} client;

#define CLIENT_CLOSE_AFTER_REPLY 0x1   /* QUIT, protocol error */
#define CLIENT_CLOSE_ASAP        0x2   /* CLIENT KILL, output limit */
#define CLIENT_UNIX_SOCKET       0x4
#define CLIENT_PUBSUB            0x8   /* subscribed to a channel, pattern or shard channel */
#define CLIENT_MONITOR           0x10  /* MONITOR */
#define CLIENT_LOCAL             0x20  /* from 127.0.0.1 or ::1 (enable-debug-command local) */
#define CLIENT_HELD              0x40  /* CLIENT PAUSE holds its parsed command (networking.c) */
#define CLIENT_TLS_READ_WANTS_WRITE 0x100 /* SSL_read needs the socket writable (networking.c) */
#define CLIENT_TLS_WRITE_WANTS_READ 0x200 /* SSL_write needs the socket readable */
#define CLIENT_WAL_WAIT          0x80  /* output held until the WAL commit of its batch (networking.c) */

/* Raw append (already-encoded protocol bytes). */
void reply_raw(client *c, const char *p, size_t n);
/* Append bytes that are not the reply to this client's own command (a
 * published message, a MONITOR line): unconditional, the caller applies
 * CLIENT REPLY OFF/SKIP. Owner thread only. */
void reply_append(client *c, const char *p, size_t n);
/* The header of a push message: '>' in RESP3, an array in RESP2
 * (subscribe confirmations, messages). */
void reply_push(client *c, long n);

void reply_ok(client *c);
void reply_simple(client *c, const char *s);              /* +s */
void reply_error(client *c, const char *msg);             /* msg without "-"; "ERR " added when it has no code */
void reply_errorf(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void reply_int(client *c, long long v);
void reply_bulk(client *c, const char *p, size_t n);
void reply_bulk_cstr(client *c, const char *s);
void reply_bulk_ll(client *c, long long v);
void reply_null(client *c);                               /* $-1 or _ */
void reply_null_array(client *c);                         /* *-1 or _ */
void reply_array(client *c, long n);
void reply_map(client *c, long n);                        /* RESP2: array of 2n */
void reply_set(client *c, long n);                        /* RESP2: array */
void reply_double(client *c, double d);                   /* RESP2: bulk */
void reply_bool(client *c, bool b);                       /* RESP2: :1/:0 */
void reply_verbatim(client *c, const char *p, size_t n, const char *ext); /* RESP2: bulk */
/* A RESP3-encoded blob (from commands.def), converted for RESP2 clients. */
void reply_resp3_blob(client *c, const char *p, size_t n);

/* Redis's help layout: "<CMD> <subcommand> ... Subcommands are:", the
 * given lines (NULL-terminated), then HELP last. */
void reply_help(client *c, const char *cmd, const char *const *lines);
/* "unknown subcommand or wrong number of arguments for '<argv[1]>'. Try
 * <ARGV[0]> HELP." (Redis's addReplySubcommandSyntaxError). */
void reply_subcommand_syntax_error(client *c);

/* Deferred lengths, for replies whose element count is known only after
 * emitting them (SCAN, KEYS, COMMAND). */
size_t reply_defer_len(client *c);
void reply_set_deferred_array(client *c, size_t handle, long n);
void reply_set_deferred_map(client *c, size_t handle, long n);

/* Shared error texts (exactly Redis's). */
#define ERR_SYNTAX      "ERR syntax error"
#define ERR_NOT_INT     "ERR value is not an integer or out of range"
#define ERR_NOT_FLOAT   "ERR value is not a valid float"
#define ERR_WRONGTYPE   "WRONGTYPE Operation against a key holding the wrong kind of value"
#define ERR_NO_SUCH_KEY "ERR no such key"
#define ERR_DB_RANGE    "ERR DB index is out of range"
#define ERR_OVERFLOW    "ERR increment or decrement would overflow"

/* Hide argv[i] from MONITOR and the slow log (AUTH, HELLO AUTH, CONFIG SET
 * of a sensitive directive), as Redis's
 * redactClientCommandArgument does. Call after the handler has used the
 * argument: it points argv[i] at the constant "(redacted)". */
void client_redact_arg(client *c, int i);

/* Argument helpers: parse argv[i] as Redis does (strict: no spaces, no
 * leading '+', no leading zeros except "0"); on failure they reply the
 * given error (or ERR_NOT_INT / ERR_NOT_FLOAT when msg is NULL) and return
 * false. */
bool arg_ll(client *c, int i, long long *out, const char *msg);
bool arg_ld(client *c, int i, long double *out, const char *msg);
bool arg_is(const client *c, int i, const char *word);   /* case-insensitive */

/* The current database number, clamped; and "now" for this command. All
 * time checks of one command use the same instant, as Redis does. */
int64_t client_now_ms(const client *c);

#endif
