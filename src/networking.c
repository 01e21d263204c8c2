/* networking.c: listeners, reactor threads, and the life of a connection:
 * read -> parse -> run -> reply, with Redis's limits.
 *
 * Threads: the main thread accepts and hands the fd to a reactor thread
 * through that thread's queue (mutex + event_active). Everything else
 * about a client happens on its reactor thread. See docs/threads.md.
 *
 * Invariants:
 *  1. A client is touched only by its reactor thread, except through the
 *     registry (under reg_lock) for CLIENT LIST/KILL/SETNAME, and
 *     kill_requested, which any thread may set.
 *  2. Replies produced by one read batch leave in as few write(2) calls as
 *     the socket allows; EV_WRITE is armed only when a write was partial.
 *  3. A client with more than OUTPUT_BACKPRESSURE bytes pending is not read
 *     from until it drains, so a client that never reads holds at most
 *     that much (plus one batch) and the kernel's socket buffers. The
 *     client-output-buffer-limit closes it only when its limit is below
 *     what backpressure lets pile up (about OUTPUT_BACKPRESSURE less what
 *     the kernel absorbs); a larger limit is never reached, and the client
 *     is held, its memory bounded, instead of closed. Redis's default for
 *     normal clients (no limit) never closes it either.
 *  4. Output produced by another client's command (pub/sub messages,
 *     MONITOR lines) reaches a client's obuf only on its owner thread:
 *     directly when the producer runs there, otherwise through the owner's
 *     inbox (client.xbuf under inbox_lock) and a wake-up of its
 *     deliver_ev. Producers are serialized by the pubsub lock, and a
 *     producer drains its own thread's inbox before delivering directly
 *     (net_deliver_begin), so every client receives bytes in the order the
 *     producers took that lock. Since subscribers never read-block on
 *     their own input, the pubsub class of client-output-buffer-limit is
 *     enforced on every delivery, not only by backpressure.
 *  6. Write-ahead log (docs/durability.md): a reply never leaves before
 *     the records its command staged are committed per appendfsync. When
 *     a client's read batch staged records (the thread's last seq moved
 *     during it, past what the thread committed), the client is flagged CLIENT_WAL_WAIT and queued on
 *     the worker's wait list; flush_output writes nothing for it (other
 *     clients' replies, reads among them, are not held back). The
 *     worker's wal_ev, activated once per event-loop pass and run after
 *     the read callbacks of that pass, commits up to the thread's last seq
 *     (one write, one fsync under `always`, shared with other threads by
 *     group commit) and then sends every waiting client's output. If the
 *     commit fails the clients keep waiting and the cron retries: nothing
 *     is acknowledged that is not in the log.
 *  7. TLS (tls.c, docs/tls.md): a client with c->ssl reads and writes
 *     through tls_read/tls_write instead of read(2)/write(2); that is the
 *     only difference on the hot path: TLS clients have their own event
 *     callbacks (on_read_tls, on_write_tls), so the plain read path has
 *     no TLS test, and the write path one predictable branch on c->ssl. OpenSSL may need the other direction: a read
 *     that wants a writable socket arms wev (on_write then retries the
 *     read), a write that wants a readable one keeps rev armed and not
 *     wev (on_read then retries the write), so neither spins. OpenSSL
 *     can hold decrypted bytes the fd no longer signals: whenever rev is
 *     (re)armed with such bytes pending, it is activated by hand.
 *  5. CLIENT PAUSE: a command the pause covers is parsed but not run. The
 *     client is flagged CLIENT_HELD, keeps that command in its parser at
 *     qpos (held_len bytes), is not read from, and waits on its thread's
 *     FIFO of held clients. When the pause ends (a timer on each thread
 *     that holds someone, or CLIENT UNPAUSE waking every thread), each
 *     thread resumes its held clients in the order they were held, running
 *     the held command first and then whatever followed it in the buffer.
 */
#include "networking.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "acl.h"
#include "commands.h"
#include "config.h"
#include "evict.h"
#include "keyspace.h"
#include "latency.h"
#include "log.h"
#include "memory.h"
#include "multi.h"
#include "pubsub.h"
#include "server.h"
#include "util.h"
#include "durability.h"
#include "wal.h"
#include "wstream.h"
#include "tls.h"

#define READ_CHUNK (16 * 1024)
#define BIG_ARG    (32 * 1024)
#define OUTPUT_BACKPRESSURE (4 * 1024 * 1024)
#define UNAUTH_OUTPUT_MAX (16 * 1024)
#define MAX_LISTENERS 16

/* What a listener accepted (its evconnlistener arg). */
enum { CONN_TCP, CONN_UNIX, CONN_TLS };

typedef struct pending_conn {
    int fd;
    int kind;                        /* CONN_* */
} pending_conn;

typedef struct worker {
    int id;
    pthread_t tid;
    struct event_base *base;
    struct event *notify_ev, *cron_ev;
    pthread_mutex_t qlock;
    pending_conn *queue;
    size_t qlen, qcap;
    client *clients;                 /* this thread's clients (list) */
    client *held_head, *held_tail;   /* CLIENT PAUSE: held clients, FIFO */
    struct event *pause_ev;          /* resumes them when the pause ends */
    _Atomic uint64_t commands, in_bytes, out_bytes;
    /* Cross-thread delivery (invariant 4). inbox_lock guards xhead,
     * xsignaled and every queued client's xbuf/xlen/xqueued/xoverflow;
     * xpending mirrors "xhead != NULL" for a lock-free check by a
     * producer that holds the pubsub lock (no producer can enqueue
     * concurrently then, so the relaxed load is exact). */
    pthread_mutex_t inbox_lock;
    client *xhead;
    bool xsignaled;
    _Atomic int xpending;
    struct event *deliver_ev;
    client *fhead;                   /* owner-only: clients to flush */
    client *whead;                   /* owner-only: clients waiting for the WAL (invariant 6) */
    struct event *wal_ev;
    struct event *stop_ev;           /* net_teardown: leave the loop */
    bool wal_armed;
    uint64_t wal_done;               /* last seq of this thread known committed */
} __attribute__((aligned(64))) worker;

static worker *workers;
static int nworkers;
static unsigned next_worker;
static struct evconnlistener *listeners[MAX_LISTENERS];
static int nlisteners;
static _Atomic uint64_t connected, next_client_id = 1;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static client *registry;
static _Thread_local worker *my_worker;   /* NULL outside reactor threads */

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void on_read_tls(evutil_socket_t fd, short what, void *arg);
static void on_write_tls(evutil_socket_t fd, short what, void *arg);
static void client_free(client *c);
static void held_unlink(client *c);

/* ---- CLIENT PAUSE state --------------------------------------------------
 * pause_st.type is the one word every command's path reads (relaxed): zero
 * unless a pause was set, so the check costs one predictable branch.
 * Changes go through pause_lock. */
static struct {
    _Atomic int type;           /* NET_PAUSE_* */
    _Atomic int64_t end_ms;
} __attribute__((aligned(64))) pause_st;   /* a cache line of its own: read per command */
static pthread_mutex_t pause_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t held_count;            /* INFO blocked_clients */

/* ---- client lifecycle ------------------------------------------------- */

static void fill_addrs(client *c, bool unix_sock) {
    if (unix_sock) {
        snprintf(c->addr, sizeof(c->addr), "%s:0", cfg.unixsocket);
        snprintf(c->laddr, sizeof(c->laddr), "%s:0", cfg.unixsocket);
        return;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN];
    int port = 0;
    for (int i = 0; i < 2; i++) {
        sl = sizeof(ss);
        int r = i == 0 ? getpeername(c->fd, (struct sockaddr *)&ss, &sl)
                       : getsockname(c->fd, (struct sockaddr *)&ss, &sl);
        host[0] = '?';
        host[1] = '\0';
        if (r == 0 && ss.ss_family == AF_INET) {
            struct sockaddr_in *s = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
            port = ntohs(s->sin_port);
        } else if (r == 0 && ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
            port = ntohs(s->sin6_port);
        }
        char *dst = i == 0 ? c->addr : c->laddr;
        snprintf(dst, sizeof(c->addr), "%s:%d", host, port);
        /* enable-debug-command local: exactly these two, as in Redis */
        if (i == 0 && (!strcmp(host, "127.0.0.1") || !strcmp(host, "::1"))) c->flags |= CLIENT_LOCAL;
    }
}

static void client_new(worker *w, int fd, int kind) {
    bool unix_sock = kind == CONN_UNIX;
    struct ssl_st *ssl = NULL;
    if (kind == CONN_TLS && !(ssl = tls_conn_new(fd))) {
        log_warning("TLS: cannot create a connection object");
        close(fd);
        atomic_fetch_sub(&connected, 1);
        return;
    }
    client *c = xcalloc(1, sizeof(client));
    c->ssl = ssl;
    c->id = atomic_fetch_add(&next_client_id, 1);
    c->fd = fd;
    c->w = w;
    c->resp = 2;
    acl_client_init(c);
    c->ctime_ms = c->last_interaction_ms = util_ms();
    if (unix_sock) c->flags |= CLIENT_UNIX_SOCKET;
    resp_parser_init(&c->parser);
    fill_addrs(c, unix_sock);
    /* Invariant 7: TLS clients get their own callbacks, so the plain
     * read path has no TLS branch at all. */
    c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, ssl ? on_read_tls : on_read, c);
    c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, ssl ? on_write_tls : on_write, c);
    event_add(c->rev, NULL);
    /* thread-local list for timeouts and kills */
    c->reg_next = NULL;
    pthread_mutex_lock(&reg_lock);
    c->reg_next = registry;
    if (registry) registry->reg_prev = c;
    registry = c;
    pthread_mutex_unlock(&reg_lock);
}

static void flush_dequeue(client *c) {
    if (!c->fqueued) return;
    if (c->fprev) c->fprev->fnext = c->fnext;
    else c->w->fhead = c->fnext;
    if (c->fnext) c->fnext->fprev = c->fprev;
    c->fprev = c->fnext = NULL;
    c->fqueued = false;
}

static void wal_dequeue(client *c) {
    if (!(c->flags & CLIENT_WAL_WAIT)) return;
    if (c->wprev) c->wprev->wnext = c->wnext;
    else c->w->whead = c->wnext;
    if (c->wnext) c->wnext->wprev = c->wprev;
    c->wprev = c->wnext = NULL;
    c->flags &= ~CLIENT_WAL_WAIT;
}

static void client_free(client *c) {
    if (c->flags & CLIENT_HELD) held_unlink(c);
    wal_dequeue(c);
    multi_client_reset(c);   /* unwatch before the memory goes: other threads flag watchers */
    /* Leave every channel, pattern and the monitor list first: after
     * this no other thread can reach c to deliver to it (invariant 4). */
    if (c->ps) pubsub_client_free(c);
    flush_dequeue(c);
    pthread_mutex_lock(&reg_lock);
    if (c->reg_prev) c->reg_prev->reg_next = c->reg_next;
    else registry = c->reg_next;
    if (c->reg_next) c->reg_next->reg_prev = c->reg_prev;
    pthread_mutex_unlock(&reg_lock);
    event_free(c->rev);
    event_free(c->wev);
    if (c->ssl) tls_conn_free(c->ssl);
    close(c->fd);
    resp_parser_free(&c->parser);
    free(c->qbuf);
    free(c->obuf);
    free(c->xbuf);
    free(c->name);
    free(c->lib_name);
    free(c->lib_ver);
    acl_client_free(c);
    free(c);
    atomic_fetch_sub(&connected, 1);
}

/* ---- output ------------------------------------------------------------ */

int net_client_type(const client *c) {
    /* As Redis's getClientType: a MONITOR is a normal client unless it
     * also subscribed. */
    return (c->flags & CLIENT_PUBSUB) ? COB_PUBSUB : COB_NORMAL;
}

static void log_cob_close(client *c) {
    log_warning("Client id=%llu addr=%s scheduled to be closed ASAP for overcoming of output buffer limits.",
                (unsigned long long)c->id, c->addr);
    atomic_fetch_add(&srv.stats.client_obuf_limit_disconnections, 1);
}

static bool cob_exceeded(client *c, size_t pending) {
    int t = net_client_type(c);
    long long hard = CFG_LOAD(cob[t].hard), soft = CFG_LOAD(cob[t].soft);
    if (hard && pending >= (size_t)hard) return true;
    if (soft && pending >= (size_t)soft) {
        int64_t now = util_ms();
        if (!c->obuf_soft_since_ms) c->obuf_soft_since_ms = now;
        else if (now - c->obuf_soft_since_ms >= CFG_LOAD(cob[t].soft_seconds) * 1000) return true;
    } else {
        c->obuf_soft_since_ms = 0;
    }
    return false;
}

/* Arm rev again after backpressure or a pause (invariant 7: bytes OpenSSL
 * already decrypted will not make the fd readable). */
static void rev_resume(client *c) {
    event_add(c->rev, NULL);
    if (__builtin_expect(c->ssl != NULL, 0) && tls_pending(c->ssl)) event_active(c->rev, EV_READ, 0);
}

/* write(2) or its TLS counterpart (invariant 7). */
static ssize_t conn_write(client *c, const char *p, size_t n) {
    if (__builtin_expect(c->ssl == NULL, 1)) return write(c->fd, p, n);
    int want;
    ssize_t r = tls_write(c->ssl, p, n, &want);
    if (r < 0 && want == TLS_WANT_READ) c->flags |= CLIENT_TLS_WRITE_WANTS_READ;
    return r;
}

/* The TLS counterpart of read(2) (invariant 7). */
static ssize_t conn_read_tls(client *c, char *p, size_t n) {
    int want;
    ssize_t r = tls_read(c->ssl, p, n, &want);
    if (r < 0 && want == TLS_WANT_WRITE) {
        c->flags |= CLIENT_TLS_READ_WANTS_WRITE;
        if (!event_pending(c->wev, EV_WRITE, NULL)) event_add(c->wev, NULL);
    }
    return r;
}

/* Publish the sizes another thread's CLIENT LIST reads (client.h). */
static void publish_sizes(client *c) {
    atomic_store_explicit(&c->pub_qbuf, c->qlen - c->qpos, memory_order_relaxed);
    atomic_store_explicit(&c->pub_qfree, c->qcap - c->qlen, memory_order_relaxed);
    atomic_store_explicit(&c->pub_qcap, c->qcap, memory_order_relaxed);
    atomic_store_explicit(&c->pub_qpeak, c->qbuf_peak, memory_order_relaxed);
    atomic_store_explicit(&c->pub_obl, c->olen - c->osent, memory_order_relaxed);
    atomic_store_explicit(&c->pub_ocap, c->ocap, memory_order_relaxed);
    atomic_store_explicit(&c->pub_argcap, (size_t)c->parser.argcap, memory_order_relaxed);
}

static bool do_flush_output(client *c);

/* Write what is pending; arm or disarm events. Returns false if the client
 * must be closed now. */
static bool flush_output(client *c) {
    bool ok = do_flush_output(c);
    publish_sizes(c);
    return ok;
}

static bool do_flush_output(client *c) {
    if (c->flags & CLIENT_WAL_WAIT) return true;   /* invariant 6 */
    /* A client that has not authenticated may not make the server hold
     * more than one read buffer's worth of replies (16kB): Redis 7.0 closes
     * it too, so a flood of pipelined wrong AUTHs (or NOAUTH errors) from
     * a client that does not read costs at most this much each. */
    if (c->olen - c->osent > UNAUTH_OUTPUT_MAX && acl_auth_required(c)) {
        log_cob_close(c);
        return false;
    }
    while (c->osent < c->olen) {
        ssize_t n = conn_write(c, c->obuf + c->osent, c->olen - c->osent);
        if (n > 0) {
            c->osent += (size_t)n;
            atomic_fetch_add_explicit(&c->w->out_bytes, (uint64_t)n, memory_order_relaxed);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return false;
    }
    size_t pending = c->olen - c->osent;
    if (pending == 0) {
        c->olen = c->osent = 0;
        c->obuf_soft_since_ms = 0;
        /* Give back memory a big reply left behind. */
        if (c->ocap > 64 * 1024) {
            free(c->obuf);
            c->obuf = NULL;
            c->ocap = 0;
        }
        /* (Not while a TLS read waits for writability: invariant 7.) */
        if (event_pending(c->wev, EV_WRITE, NULL) && !(c->flags & CLIENT_TLS_READ_WANTS_WRITE)) event_del(c->wev);
        if (c->flags & CLIENT_CLOSE_AFTER_REPLY) return false;
        if (!(c->flags & CLIENT_HELD) && !event_pending(c->rev, EV_READ, NULL)) rev_resume(c);
        return true;
    }
    if (cob_exceeded(c, pending)) {
        log_cob_close(c);
        return false;
    }
    /* Compact so the buffer does not only grow while the peer drains. */
    if (c->osent > c->ocap / 2) {
        memmove(c->obuf, c->obuf + c->osent, pending);
        c->olen = pending;
        c->osent = 0;
    }
    if (__builtin_expect(c->flags & CLIENT_TLS_WRITE_WANTS_READ, 0)) {
        /* Invariant 7: wait for readability, not writability. */
        if (event_pending(c->wev, EV_WRITE, NULL) && !(c->flags & CLIENT_TLS_READ_WANTS_WRITE)) event_del(c->wev);
        if (!(c->flags & CLIENT_HELD) && !event_pending(c->rev, EV_READ, NULL)) event_add(c->rev, NULL);
        return true;
    }
    if (!event_pending(c->wev, EV_WRITE, NULL)) event_add(c->wev, NULL);
    if (pending > OUTPUT_BACKPRESSURE && event_pending(c->rev, EV_READ, NULL)) event_del(c->rev);
    return true;
}

static void process_input_at(client *c, int64_t now_us);
static void process_input(client *c) { process_input_at(c, 0); }

/* Backpressure (process_input stops once the peer is OUTPUT_BACKPRESSURE
 * behind) can leave complete commands in the query buffer. When a write
 * then drains the output completely, no write event will fire and the
 * peer may send nothing more (it waits for those replies): run them now,
 * as long as the output keeps draining. False if c must be freed. */
static bool drain_backlog(client *c) {
    while (c->olen == 0 && c->qpos < c->qlen &&
           !(c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP))) {
        size_t before = c->qpos, len = c->qlen;
        process_input(c);
        if (!flush_output(c)) return false;
        if (c->qpos == before && c->qlen == len) break;   /* an incomplete command: wait for input */
    }
    return !(c->flags & CLIENT_CLOSE_ASAP);
}

static void on_write(evutil_socket_t fd, short what, void *arg) {
    client *c = arg;
    if ((c->flags & CLIENT_CLOSE_ASAP) || !flush_output(c)) {
        client_free(c);
        return;
    }
    if (!drain_backlog(c)) client_free(c);
}

/* ---- input ------------------------------------------------------------- */

static bool pause_holds(client *c);
static void hold(client *c, size_t len);

/* now_us: the caller's fresh clock reading, or 0 to read it here. */
static void process_input_at(client *c, int64_t now_us) {
    if (c->flags & CLIENT_HELD) return;   /* only resume_held() lets it go */
    c->clock_us = now_us ? now_us : util_us();
    /* Invariant 6: did this batch of c stage WAL records? */
    uint64_t seq0 = ws_on() ? ws_thread_seq() : UINT64_MAX;
    resp_limits lim = {
        .max_bulk_len = cfg.proto_max_bulk_len,
        .max_multibulk_len = acl_auth_required(c) ? 10 : INT_MAX,
        .max_inline_len = 64 * 1024,
    };
    while (c->qpos < c->qlen && !(c->flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP))) {
        /* A pipeline of small commands with big replies: stop producing
         * once the peer is this far behind; on_write resumes. */
        if (c->olen - c->osent > OUTPUT_BACKPRESSURE) break;
        size_t consumed = 0;
        enum resp_status st;
        if (c->held_len) {
            /* Resuming after a pause: the parser still holds the command. */
            st = RESP_OK;
            consumed = c->held_len;
            c->held_len = 0;
        } else {
            st = resp_parse(&c->parser, c->qbuf + c->qpos, c->qlen - c->qpos, &lim, &consumed);
        }
        if (st == RESP_AGAIN) break;
        if (st == RESP_ERROR) {
            int save = c->reply_mode;
            c->reply_mode = 0;
            reply_error(c, c->parser.errmsg);
            c->reply_mode = save;
            log_verbose("Protocol error (%s) from client: id=%llu addr=%s", c->parser.errmsg,
                        (unsigned long long)c->id, c->addr);
            c->flags |= CLIENT_CLOSE_AFTER_REPLY;
            c->qpos = c->qlen;
            break;
        }
        if (st == RESP_OK) {
            resp_bind_args(&c->parser, c->qbuf + c->qpos);
            c->argc = c->parser.argc;
            c->argv = c->parser.argv;
            if (__builtin_expect(atomic_load_explicit(&pause_st.type, memory_order_relaxed) != 0, 0) &&
                pause_holds(c)) {
                hold(c, consumed);
                c->clock_us = 0;
                return;
            }
            /* Overlap the next commands' cache misses with this one: the
             * entry of the next command (its bucket was prefetched during
             * the previous command) and the bucket of the one after. */
            size_t rest = c->qlen - c->qpos - consumed;
            const char *nb = c->qbuf + c->qpos + consumed, *nk;
            size_t nklen, n1len, n2len;
            if (rest && resp_peek_arg1(nb, rest, &nk, &nklen, &n1len)) {
                ks_prefetch(c->db, nk, nklen, KS_PF_ENTRY);
                if (n1len && rest > n1len && resp_peek_arg1(nb + n1len, rest - n1len, &nk, &nklen, &n2len))
                    ks_prefetch(c->db, nk, nklen, KS_PF_BUCKET);
            }
            command_call(c);
            c->argc = 0;
            c->argv = NULL;
            atomic_fetch_add_explicit(&c->w->commands, 1, memory_order_relaxed);
        }
        c->qpos += consumed;
        resp_parser_reset(&c->parser);
        /* auth state may have changed the limits */
        lim.max_multibulk_len = acl_auth_required(c) ? 10 : INT_MAX;
    }
    c->clock_us = 0;
    /* Invariant 6: one predictable branch while the log is off. */
    if (ws_on() && ws_thread_seq() > seq0 && ws_thread_seq() > c->w->wal_done && !(c->flags & CLIENT_WAL_WAIT)) {
        worker *w = c->w;
        c->flags |= CLIENT_WAL_WAIT;
        c->wprev = NULL;
        c->wnext = w->whead;
        if (w->whead) w->whead->wprev = c;
        w->whead = c;
        if (!w->wal_armed) {
            w->wal_armed = true;
            event_active(w->wal_ev, EV_READ, 0);
        }
    }
    if (c->qpos == c->qlen) {
        c->qpos = c->qlen = 0;
        if (c->qcap > 4 * READ_CHUNK) {
            free(c->qbuf);
            c->qbuf = NULL;
            c->qcap = 0;
        }
    }
}

/* The read callback's body; tls is a constant in each caller, so the
 * plain instance (on_read) compiles without any TLS test (invariant 7). */
static inline __attribute__((always_inline)) void read_conn(client *c, bool tls) {
    /* Make room: compact the unparsed tail to the front, then grow. For a
     * big bulk argument, size the buffer once for the whole argument. */
    if (c->qpos > 0 && c->qpos == c->qlen) c->qpos = c->qlen = 0;
    if (c->qpos > 0 && (c->qcap - c->qlen < READ_CHUNK)) {
        memmove(c->qbuf, c->qbuf + c->qpos, c->qlen - c->qpos);
        c->qlen -= c->qpos;
        c->qpos = 0;
    }
    size_t want = READ_CHUNK;
    size_t missing = resp_bulk_remaining(&c->parser, c->qlen - c->qpos);
    if (missing > BIG_ARG) want = missing;
    if (c->qcap - c->qlen < want) {
        size_t cap = c->qlen + want;
        if (missing <= BIG_ARG && cap < c->qcap * 2) cap = c->qcap * 2;
        c->qbuf = xrealloc(c->qbuf, cap + 1);
        c->qcap = cap;
    }
    ssize_t n = tls ? conn_read_tls(c, c->qbuf + c->qlen, c->qcap - c->qlen)
                    : read(c->fd, c->qbuf + c->qlen, c->qcap - c->qlen);
    if (n == 0) {
        client_free(c);
        return;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        log_verbose("Reading from client: %s", strerror(errno));
        client_free(c);
        return;
    }
    c->qlen += (size_t)n;
    atomic_fetch_add_explicit(&c->w->in_bytes, (uint64_t)n, memory_order_relaxed);
    int64_t now_us = util_us();
    c->last_interaction_ms = now_us / 1000;
    if (c->qlen - c->qpos > (size_t)cfg.client_query_buffer_limit) {
        log_warning("Closing client that reached max query buffer length: id=%llu addr=%s (qbuf initial bytes: \"%.32s\")",
                    (unsigned long long)c->id, c->addr, c->qbuf + c->qpos);
        atomic_fetch_add(&srv.stats.client_qbuf_limit_disconnections, 1);
        client_free(c);
        return;
    }
    if (c->qlen - c->qpos > c->qbuf_peak) c->qbuf_peak = c->qlen - c->qpos;
    process_input_at(c, now_us);
    if ((c->flags & CLIENT_CLOSE_ASAP) || !flush_output(c) || !drain_backlog(c)) {
        client_free(c);
        return;
    }
    /* Invariant 7: a TLS record can hold more than one read took. */
    if (tls && event_pending(c->rev, EV_READ, NULL) && tls_pending(c->ssl)) event_active(c->rev, EV_READ, 0);
}

static void on_read(evutil_socket_t fd, short what, void *arg) { read_conn(arg, false); }

static void on_read_tls(evutil_socket_t fd, short what, void *arg) {
    client *c = arg;
    if (c->flags & CLIENT_TLS_WRITE_WANTS_READ) {
        /* Invariant 7: a write waited for this readability. */
        c->flags &= ~CLIENT_TLS_WRITE_WANTS_READ;
        if (!flush_output(c)) {
            client_free(c);
            return;
        }
        if (!event_pending(c->rev, EV_READ, NULL)) return;   /* backpressure again */
    }
    read_conn(c, true);
}

static void on_write_tls(evutil_socket_t fd, short what, void *arg) {
    client *c = arg;
    if (c->flags & CLIENT_TLS_READ_WANTS_WRITE) {
        /* Invariant 7: the socket is writable, retry the read. A later
         * pass of this event flushes (or disarms it). */
        c->flags &= ~CLIENT_TLS_READ_WANTS_WRITE;
        read_conn(c, true);
        return;
    }
    on_write(fd, what, arg);
}

/* ---- output produced by other clients' commands (invariant 4) ---------- */

/* Remember that c has output to send once the running callback is done. */
static void flush_enqueue(client *c) {
    if (c->fqueued) return;
    worker *w = c->w;
    bool was_empty = w->fhead == NULL;
    c->fprev = NULL;
    c->fnext = w->fhead;
    if (w->fhead) w->fhead->fprev = c;
    w->fhead = c;
    c->fqueued = true;
    if (was_empty) event_active(w->deliver_ev, EV_READ, 0);
}

static bool over_hard_limit(client *c, int cls, size_t extra) {
    long long hard = cfg.cob[cls].hard;
    return hard && c->olen - c->osent + extra >= (size_t)hard;
}

/* Move what other threads queued for w's clients into their obufs (on w's
 * thread, or at teardown when no reactor runs). */
static void inbox_drain(worker *w) {
    pthread_mutex_lock(&w->inbox_lock);
    client *list = w->xhead;
    w->xhead = NULL;
    w->xsignaled = false;
    atomic_store_explicit(&w->xpending, 0, memory_order_relaxed);
    for (client *c = list, *next; c; c = next) {
        next = c->xnext;
        c->xnext = NULL;
        c->xqueued = false;
        if (c->xoverflow || (c->xlen && !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) &&
                             over_hard_limit(c, net_client_type(c), c->xlen))) {
            log_cob_close(c);
            c->flags |= CLIENT_CLOSE_ASAP;
        } else if (c->xlen && c->reply_mode != 1 && !(c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY))) {
            if (c->olen == c->osent) {
                /* Nothing pending: adopt the inbox buffer as it is. */
                char *ob = c->obuf;
                size_t ocap = c->ocap;
                c->obuf = c->xbuf;
                c->ocap = c->xcap;
                c->olen = c->xlen;
                c->osent = 0;
                c->xbuf = ob;
                c->xcap = ocap;
            } else {
                reply_append(c, c->xbuf, c->xlen);
            }
        }
        c->xoverflow = false;
        c->xlen = 0;
        if (c->xcap > 64 * 1024) {
            free(c->xbuf);
            c->xbuf = NULL;
            c->xcap = 0;
        }
        flush_enqueue(c);
    }
    pthread_mutex_unlock(&w->inbox_lock);
}

void net_deliver_begin(void) {
    worker *w = my_worker;
    if (w && atomic_load_explicit(&w->xpending, memory_order_relaxed)) inbox_drain(w);
}

void net_deliver(client *c, const char *p, size_t n, int cls) {
    worker *w = c->w;
    if (w == my_worker) {
        /* Redis drops output for a client about to close, and for one
         * under CLIENT REPLY OFF or SKIP (during its skipped command). */
        if ((c->flags & (CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY)) || c->reply_mode == 1 ||
            c->reply_mode == 3)
            return;
        if (over_hard_limit(c, cls, n)) {
            log_cob_close(c);
            c->flags |= CLIENT_CLOSE_ASAP;
        } else {
            reply_append(c, p, n);
        }
        flush_enqueue(c);
        return;
    }
    bool wake;
    pthread_mutex_lock(&w->inbox_lock);
    if (!c->xoverflow) {
        long long hard = cfg.cob[cls].hard;
        if (hard && c->xlen + n >= (size_t)hard) {
            /* The owner closes it on the next drain; stop growing now. */
            c->xoverflow = true;
        } else {
            if (c->xlen + n > c->xcap) {
                size_t cap = c->xcap ? c->xcap : 4096;
                while (cap < c->xlen + n) cap *= 2;
                c->xbuf = xrealloc(c->xbuf, cap);
                c->xcap = cap;
            }
            memcpy(c->xbuf + c->xlen, p, n);
            c->xlen += n;
        }
    }
    if (!c->xqueued) {
        c->xqueued = true;
        c->xnext = w->xhead;
        w->xhead = c;
        atomic_store_explicit(&w->xpending, 1, memory_order_relaxed);
    }
    wake = !w->xsignaled;
    w->xsignaled = true;
    pthread_mutex_unlock(&w->inbox_lock);
    if (wake) event_active(w->deliver_ev, EV_READ, 0);
}

/* The worker's deliver event: take what other threads queued, then send
 * everything other clients' commands produced, resuming input that
 * backpressure held (the same path as a write event). */
static void on_deliver(evutil_socket_t fd, short what, void *arg) {
    worker *w = arg;
    if (atomic_load_explicit(&w->xpending, memory_order_relaxed)) inbox_drain(w);
    while (w->fhead) {
        client *c = w->fhead;
        flush_dequeue(c);
        on_write(c->fd, EV_WRITE, c);
    }
}

/* ---- CLIENT PAUSE ------------------------------------------------------- */

static void wake_all_paused(void) {
    for (int i = 0; i < nworkers; i++) event_active(workers[i].pause_ev, EV_TIMEOUT, 0);
}

/* End the pause if its time has come (any thread may notice first). */
static void pause_end_if_expired(int64_t now) {
    bool ended = false;
    pthread_mutex_lock(&pause_lock);
    if (atomic_load(&pause_st.type) && atomic_load(&pause_st.end_ms) <= now) {
        atomic_store(&pause_st.type, NET_PAUSE_NONE);
        atomic_store(&pause_st.end_ms, 0);
        ks_pause_expiry(false);
        ended = true;
    }
    pthread_mutex_unlock(&pause_lock);
    if (ended) wake_all_paused();
}

/* Does the pause cover the command c has just parsed? Redis 7.0's rules:
 * commands it would reject anyway (unknown, arity, NOAUTH) answer at once,
 * QUIT too; ALL covers the rest, WRITE only write and may-replicate
 * commands. The pausing client is not exempt, as in Redis. */
static bool pause_holds(client *c) {
    int type = atomic_load(&pause_st.type);
    int64_t now = util_ms();
    if (type == NET_PAUSE_NONE) return false;
    if (atomic_load(&pause_st.end_ms) <= now) {
        pause_end_if_expired(now);
        return false;
    }
    const command *cmd = command_peek(c);
    if (!cmd || cmd->proc == cmd_quit) return false;
    /* An EXEC writes if anything it would run writes (Redis 7.0). */
    uint32_t flags = cmd->flags | (cmd->proc == cmd_exec ? multi_queued_flags(c) : 0);
    if (type == NET_PAUSE_WRITE && !(flags & (CMD_WRITE | CMD_MAY_REPLICATE))) return false;
    c->cmd = cmd;   /* CLIENT LIST shows the held command, as Redis does */
    return true;
}

static void arm_pause_timer(worker *w) {
    int64_t left = atomic_load(&pause_st.end_ms) - util_ms();
    if (left < 1) left = 1;
    struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
    if (!evtimer_pending(w->pause_ev, NULL)) evtimer_add(w->pause_ev, &tv);
}

static void hold(client *c, size_t len) {
    worker *w = c->w;
    c->held_len = len;
    c->argc = 0;
    c->argv = NULL;
    c->flags |= CLIENT_HELD;
    c->held_next = NULL;
    c->held_prev = w->held_tail;
    if (w->held_tail) w->held_tail->held_next = c;
    else w->held_head = c;
    w->held_tail = c;
    atomic_fetch_add(&held_count, 1);
    /* Not read from while held: the query buffer stays as it is, so the
     * held command's arguments stay where the parser left them. */
    if (event_pending(c->rev, EV_READ, NULL)) event_del(c->rev);
    arm_pause_timer(w);
}

static void held_unlink(client *c) {
    worker *w = c->w;
    if (c->held_prev) c->held_prev->held_next = c->held_next;
    else w->held_head = c->held_next;
    if (c->held_next) c->held_next->held_prev = c->held_prev;
    else w->held_tail = c->held_prev;
    c->held_prev = c->held_next = NULL;
    c->flags &= ~CLIENT_HELD;
    atomic_fetch_sub(&held_count, 1);
}

/* The pause ended or changed: let this thread's held clients try again,
 * oldest first. A client the pause still covers is held again, behind the
 * others, so their order is kept. */
static void on_pause(evutil_socket_t fd, short what, void *arg) {
    worker *w = arg;
    pause_end_if_expired(util_ms());
    size_t n = 0;
    for (client *c = w->held_head; c; c = c->held_next) n++;
    while (n-- > 0 && w->held_head) {
        client *c = w->held_head;
        held_unlink(c);
        process_input(c);
        if ((c->flags & CLIENT_CLOSE_ASAP) || !flush_output(c)) client_free(c);
    }
    /* While a pause lasts, a thread that was woken keeps a timer for its
     * end, so the end is noticed (and expiry resumes) on time. */
    if (atomic_load(&pause_st.type)) arm_pause_timer(w);
}

void net_pause(int type, int64_t end_ms) {
    bool changed = false;
    pthread_mutex_lock(&pause_lock);
    int64_t now = util_ms();
    if (atomic_load(&pause_st.type) && atomic_load(&pause_st.end_ms) <= now) {
        atomic_store(&pause_st.type, NET_PAUSE_NONE);   /* the old one is over */
        atomic_store(&pause_st.end_ms, 0);
        ks_pause_expiry(false);
        changed = true;
    }
    /* A new pause, or a change to the running one, which can only make it
     * stronger (WRITE to ALL) or longer, as in Redis. */
    if (end_ms > now || atomic_load(&pause_st.type)) {
        if (end_ms > atomic_load(&pause_st.end_ms)) atomic_store(&pause_st.end_ms, end_ms);
        if (type > atomic_load(&pause_st.type)) atomic_store(&pause_st.type, type);
        ks_pause_expiry(true);
        changed = true;
    }
    pthread_mutex_unlock(&pause_lock);
    /* Every reactor re-checks its held clients (a WRITE pause that became
     * ALL holds more, not fewer) and, while the pause lasts, keeps a timer
     * for its end (on_pause). */
    if (changed) wake_all_paused();
}

void net_unpause(void) {
    pthread_mutex_lock(&pause_lock);
    atomic_store(&pause_st.type, NET_PAUSE_NONE);
    atomic_store(&pause_st.end_ms, 0);
    ks_pause_expiry(false);
    pthread_mutex_unlock(&pause_lock);
    wake_all_paused();
}

uint64_t net_held_clients(void) { return atomic_load(&held_count); }

/* ---- write-ahead log commit (invariant 6) ------------------------------- */

/* Commit what this thread staged, then let the waiting clients' replies
 * go. On failure they keep waiting; the cron calls this again. */
static void wal_release(worker *w) {
    uint64_t seq = ws_thread_seq();
    if (seq > w->wal_done) {
        if (!wal_commit(seq)) return;
        w->wal_done = seq;
    }
    client *list = w->whead;
    w->whead = NULL;
    for (client *c = list; c; c = c->wnext) c->flags &= ~CLIENT_WAL_WAIT;
    /* A client's own on_write may run more of its pipeline and queue it
     * again (on the new list); it cannot free another client. */
    for (client *c = list, *next; c; c = next) {
        next = c->wnext;
        c->wprev = c->wnext = NULL;
        on_write(c->fd, EV_WRITE, c);
    }
}

/* event_base_loopbreak from outside is lost when the worker has not yet
 * entered its loop (event_base_loop clears the flag on entry: a SIGTERM
 * right after start hung the join). An activated event is not lost: the
 * worker breaks from inside its loop whenever it gets there. */
static void on_stop(evutil_socket_t fd, short what, void *arg) {
    worker *w = arg;
    event_base_loopbreak(w->base);
}

static void on_wal(evutil_socket_t fd, short what, void *arg) {
    worker *w = arg;
    w->wal_armed = false;
    wal_release(w);
}

/* ---- reactor threads --------------------------------------------------- */

static void on_notify(evutil_socket_t fd, short what, void *arg) {
    worker *w = arg;
    pthread_mutex_lock(&w->qlock);
    size_t n = w->qlen;
    pending_conn *q = w->queue;
    w->queue = NULL;
    w->qlen = w->qcap = 0;
    pthread_mutex_unlock(&w->qlock);
    for (size_t i = 0; i < n; i++) client_new(w, q[i].fd, q[i].kind);
    free(q);
    /* Kills requested from other threads. */
    client *kill[64];
    int nk;
    do {
        nk = 0;
        pthread_mutex_lock(&reg_lock);
        for (client *c = registry; c && nk < 64; c = c->reg_next)
            if (c->w == w && atomic_load(&c->kill_requested)) kill[nk++] = c;
        pthread_mutex_unlock(&reg_lock);
        for (int i = 0; i < nk; i++) client_free(kill[i]);
    } while (nk == 64);
}

/* Per-thread cron: this thread's share of active expiry and rehashing, an
 * eviction that ran out of time, and idle-client timeouts. */
static void on_cron(evutil_socket_t fd, short what, void *arg) {
    worker *w = arg;
    int64_t now = util_ms();
    long long hz = CFG_LOAD(hz) > 0 ? CFG_LOAD(hz) : 10;
    /* While recovery runs the loader is the keyspace's only writer
     * (durability.c invariant 1). */
    bool loading = atomic_load_explicit(&dur_loading, memory_order_relaxed);
    if (w->whead || ws_thread_seq() > w->wal_done) wal_release(w);
    if (CFG_LOAD(active_expire) && !loading) {
        uint64_t budget = (uint64_t)(1000000 / hz) / 4;   /* 25% of a tick */
        int64_t t0 = util_mono_us();
        ks_active_expire((unsigned)w->id, (unsigned)nworkers, now, budget);
        latency_add_sample_if_needed("expire-cycle", (util_mono_us() - t0) / 1000);
    }
    ks_rehash_step((unsigned)w->id, (unsigned)nworkers);
    if (!loading) evict_cron();
    /* A client that never reads never triggers on_write again, so the
     * output limits are also checked here. */
    client *over[64];
    int no = 0;
    pthread_mutex_lock(&reg_lock);
    for (client *c = registry; c && no < 64; c = c->reg_next)
        if (c->w == w && c->olen > c->osent && cob_exceeded(c, c->olen - c->osent)) over[no++] = c;
    pthread_mutex_unlock(&reg_lock);
    for (int i = 0; i < no; i++) {
        log_cob_close(over[i]);
        client_free(over[i]);
    }
    long long timeout = CFG_LOAD(timeout);
    if (timeout > 0) {
        client *idle[64];
        int ni = 0;
        pthread_mutex_lock(&reg_lock);
        for (client *c = registry; c && ni < 64; c = c->reg_next)
            if (c->w == w && now - c->last_interaction_ms > timeout * 1000 && c->olen == c->osent &&
                !(c->flags & CLIENT_HELD))   /* Redis does not time out blocked clients */
                idle[ni++] = c;
        pthread_mutex_unlock(&reg_lock);
        for (int i = 0; i < ni; i++) {
            log_verbose("Closing idle client id=%llu", (unsigned long long)idle[i]->id);
            client_free(idle[i]);
        }
    }
    struct timeval tv = {0, (suseconds_t)(1000000 / hz)};
    event_add(w->cron_ev, &tv);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    my_worker = w;
    char name[16];
    snprintf(name, sizeof(name), "strata-io-%d", w->id);
    pthread_setname_np(pthread_self(), name);
    mem_thread_register();
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    pubsub_thread_exit();
    evict_thread_exit();
    mem_thread_exit();
    return NULL;
}

/* ---- listeners ---------------------------------------------------------- */

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int slen,
                      void *arg) {
    int kind = (int)(intptr_t)arg;
    bool unix_sock = kind == CONN_UNIX;
    atomic_fetch_add(&srv.stats.total_connections, 1);
    if (kind == CONN_TLS && (atomic_load(&connected) >= (uint64_t)cfg.maxclients || acl_protected_mode_denies(sa))) {
        /* No plain-text explanation on a TLS port: just close. */
        close(fd);
        atomic_fetch_add(&srv.stats.rejected_connections, 1);
        return;
    }
    if (atomic_load(&connected) >= (uint64_t)cfg.maxclients) {
        static const char msg[] = "-ERR max number of clients reached\r\n";
        ssize_t w = write(fd, msg, sizeof(msg) - 1);
        (void)w;
        close(fd);
        atomic_fetch_add(&srv.stats.rejected_connections, 1);
        return;
    }
    if (!unix_sock && acl_protected_mode_denies(sa)) {
        /* Redis 7.0's protected mode: explain, then close. */
        ssize_t w = write(fd, ACL_DENIED_PROTECTED_MSG, strlen(ACL_DENIED_PROTECTED_MSG));
        (void)w;
        close(fd);
        atomic_fetch_add(&srv.stats.rejected_connections, 1);
        return;
    }
    atomic_fetch_add(&connected, 1);
    if (!unix_sock) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (cfg.tcp_keepalive > 0) {
            int iv = (int)cfg.tcp_keepalive;
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &iv, sizeof(iv));
            int intvl = iv / 3 ? iv / 3 : 1, cnt = 3;
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
        }
    }
    worker *w = &workers[next_worker++ % (unsigned)nworkers];
    pthread_mutex_lock(&w->qlock);
    if (w->qlen == w->qcap) {
        w->qcap = w->qcap ? w->qcap * 2 : 16;
        w->queue = xrealloc(w->queue, sizeof(pending_conn) * w->qcap);
    }
    w->queue[w->qlen++] = (pending_conn){fd, kind};
    pthread_mutex_unlock(&w->qlock);
    event_active(w->notify_ev, EV_READ, 0);
}

static void on_accept_error(struct evconnlistener *l, void *arg) {
    int err = EVUTIL_SOCKET_ERROR();
    /* EMFILE and friends: log and keep listening; libevent retries. */
    log_warning("Accepting client connection: %s", evutil_socket_error_to_string(err));
}

static bool listen_tcp(struct event_base *base, const char *addr, long long portnum, int kind) {
    bool optional = addr[0] == '-';
    if (optional) addr++;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    char port[24];
    snprintf(port, sizeof(port), "%lld", portnum);
    const char *host = strcmp(addr, "*") == 0 ? "0.0.0.0" : strcmp(addr, "::*") == 0 ? "::" : addr;
    if (getaddrinfo(host, port, &hints, &res) != 0) {
        log_warning("Could not resolve bind address %s", addr);
        return optional;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (res->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, (int)cfg.tcp_backlog) < 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        freeaddrinfo(res);
        if (optional && (e == EADDRNOTAVAIL || e == EAFNOSUPPORT || e == EPROTONOSUPPORT))
            return true;
        log_warning("Warning: Could not create server %sTCP listening socket %s:%lld: %s",
                    kind == CONN_TLS ? "TLS " : "", addr, portnum,
                    strerror(e));
        return false;
    }
    freeaddrinfo(res);
    struct evconnlistener *l = evconnlistener_new(base, on_accept, (void *)(intptr_t)kind, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (!l || nlisteners == MAX_LISTENERS) return false;
    evconnlistener_set_error_cb(l, on_accept_error);
    listeners[nlisteners++] = l;
    return true;
}

static bool listen_unix(struct event_base *base) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(cfg.unixsocket) >= sizeof(sa.sun_path)) {
        log_warning("Unix socket path too long: %s", cfg.unixsocket);
        return false;
    }
    strcpy(sa.sun_path, cfg.unixsocket);
    unlink(cfg.unixsocket);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, (int)cfg.tcp_backlog) < 0) {
        log_warning("Failed opening Unix socket: %s", strerror(errno));
        if (fd >= 0) close(fd);
        return false;
    }
    if (cfg.unixsocketperm) chmod(cfg.unixsocket, (mode_t)cfg.unixsocketperm);
    struct evconnlistener *l = evconnlistener_new(base, on_accept, (void *)(intptr_t)CONN_UNIX, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (!l || nlisteners == MAX_LISTENERS) return false;
    evconnlistener_set_error_cb(l, on_accept_error);
    listeners[nlisteners++] = l;
    return true;
}

bool net_setup(struct event_base *main_base) {
    nworkers = (int)cfg.io_threads;
    if (nworkers <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        nworkers = n > 0 ? (int)n : 1;
    }
    workers = aligned_alloc(64, sizeof(worker) * (size_t)nworkers);
    memset(workers, 0, sizeof(worker) * (size_t)nworkers);
    for (int i = 0; i < nworkers; i++) {
        worker *w = &workers[i];
        w->id = i;
        w->base = event_base_new();
        pthread_mutex_init(&w->qlock, NULL);
        pthread_mutex_init(&w->inbox_lock, NULL);
        w->notify_ev = event_new(w->base, -1, EV_PERSIST, on_notify, w);
        event_add(w->notify_ev, NULL);
        w->deliver_ev = event_new(w->base, -1, EV_PERSIST, on_deliver, w);
        event_add(w->deliver_ev, NULL);
        w->wal_ev = event_new(w->base, -1, EV_PERSIST, on_wal, w);
        event_add(w->wal_ev, NULL);
        w->stop_ev = event_new(w->base, -1, EV_PERSIST, on_stop, w);
        event_add(w->stop_ev, NULL);
        w->cron_ev = evtimer_new(w->base, on_cron, w);
        w->pause_ev = evtimer_new(w->base, on_pause, w);
        struct timeval tv = {0, 100000};
        event_add(w->cron_ev, &tv);
    }
    if (!tls_setup()) return false;
    for (int kind = CONN_TCP; kind <= CONN_TLS; kind += CONN_TLS - CONN_TCP) {
        long long port = kind == CONN_TLS ? cfg.tls_port : cfg.port;
        if (port <= 0) continue;
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", cfg.bind);
        int ok = 0;
        for (char *save, *a = strtok_r(buf, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
            if (!listen_tcp(main_base, a, port, kind)) return false;
            ok++;
        }
        if (!ok) return false;
    }
    if (cfg.unixsocket && cfg.unixsocket[0] && !listen_unix(main_base)) return false;
    for (int i = 0; i < nworkers; i++) pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]);
    return true;
}

void net_teardown(void) {
    for (int i = 0; i < nlisteners; i++) evconnlistener_free(listeners[i]);
    nlisteners = 0;
    if (cfg.unixsocket && cfg.unixsocket[0]) {
        log_notice("Removing the unix socket file.");
        unlink(cfg.unixsocket);
    }
    for (int i = 0; i < nworkers; i++) event_active(workers[i].stop_ev, EV_READ, 0);
    for (int i = 0; i < nworkers; i++) pthread_join(workers[i].tid, NULL);
    /* Reactors are stopped: free every client, flushing what we can. */
    for (int i = 0; i < nworkers; i++) inbox_drain(&workers[i]);
    /* Replies still waiting for the log leave only if it takes them now. */
    bool committed = !ws_on() || wal_commit(ws_last_seq());
    while (registry) {
        client *c = registry;
        if (c->olen > c->osent && (committed || !(c->flags & CLIENT_WAL_WAIT))) {
            ssize_t n = conn_write(c, c->obuf + c->osent, c->olen - c->osent);
            (void)n;
        }
        client_free(c);
    }
    for (int i = 0; i < nworkers; i++) {
        worker *w = &workers[i];
        event_free(w->notify_ev);
        event_free(w->deliver_ev);
        event_free(w->wal_ev);
        event_free(w->stop_ev);
        event_free(w->cron_ev);
        event_free(w->pause_ev);
        for (size_t j = 0; j < w->qlen; j++) close(w->queue[j].fd);
        free(w->queue);
        event_base_free(w->base);
        pthread_mutex_destroy(&w->qlock);
        pthread_mutex_destroy(&w->inbox_lock);
    }
    free(workers);
    workers = NULL;
    tls_teardown();
}

int net_nthreads(void) { return nworkers; }
uint64_t net_connected_clients(void) { return atomic_load(&connected); }

static uint64_t sum_worker(size_t off) {
    uint64_t n = 0;
    for (int i = 0; i < nworkers; i++)
        n += atomic_load_explicit((_Atomic uint64_t *)((char *)&workers[i] + off), memory_order_relaxed);
    return n;
}

uint64_t net_total_commands(void) { return sum_worker(offsetof(worker, commands)); }
uint64_t net_input_bytes(void) { return sum_worker(offsetof(worker, in_bytes)); }
uint64_t net_output_bytes(void) { return sum_worker(offsetof(worker, out_bytes)); }

void net_stat_reset(void) {
    for (int i = 0; i < nworkers; i++) {
        atomic_store(&workers[i].commands, 0);
        atomic_store(&workers[i].in_bytes, 0);
        atomic_store(&workers[i].out_bytes, 0);
    }
}

static void add_client_mem(void *priv, client *c) {
    /* Any thread may ask: the published sizes (client.h). */
    *(uint64_t *)priv += sizeof(client) + atomic_load_explicit(&c->pub_qcap, memory_order_relaxed) +
                         atomic_load_explicit(&c->pub_ocap, memory_order_relaxed) +
                         (uint64_t)atomic_load_explicit(&c->pub_argcap, memory_order_relaxed) * sizeof(resp_arg);
}

uint64_t net_clients_memory(void) {
    uint64_t n = 0;
    net_foreach_client(add_client_mem, &n);
    return n;
}

void net_foreach_client(net_client_fn *fn, void *priv) {
    pthread_mutex_lock(&reg_lock);
    /* Oldest first, as CLIENT LIST orders by id. */
    client *last = registry;
    while (last && last->reg_next) last = last->reg_next;
    for (client *c = last; c; c = c->reg_prev) fn(priv, c);
    pthread_mutex_unlock(&reg_lock);
}

void net_client_info(client *c, char *buf, size_t len) {
    int64_t now = util_ms();
    char flags[16];
    int nf = 0;
    if (c->flags & CLIENT_MONITOR) flags[nf++] = 'O';
    if (c->flags & CLIENT_PUBSUB) flags[nf++] = 'P';
    if (c->flags & CLIENT_HELD) flags[nf++] = 'b';   /* blocked by CLIENT PAUSE */
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) flags[nf++] = 'c';
    if (c->flags & CLIENT_UNIX_SOCKET) flags[nf++] = 'U';
    if (c->no_evict) flags[nf++] = 'e';
    if (c->mstate) flags[nf++] = 'x';
    if (atomic_load_explicit(&c->dirty_cas, memory_order_relaxed)) flags[nf++] = 'd';
    if (!nf) flags[nf++] = 'N';
    flags[nf] = '\0';
    const char *cmd = c->cmd ? c->cmd->name : "NULL";   /* running, else last run */
    /* A client of this thread (the caller itself, say) is read live;
     * another thread's through what its owner published. */
    size_t qbuf, qfree, qcap, qpeak, obl, ocap;
    if (c->w == my_worker) {
        qbuf = c->qlen - c->qpos, qfree = c->qcap - c->qlen, qcap = c->qcap;
        qpeak = c->qbuf_peak, obl = c->olen - c->osent, ocap = c->ocap;
    } else {
        qbuf = atomic_load_explicit(&c->pub_qbuf, memory_order_relaxed);
        qfree = atomic_load_explicit(&c->pub_qfree, memory_order_relaxed);
        qcap = atomic_load_explicit(&c->pub_qcap, memory_order_relaxed);
        qpeak = atomic_load_explicit(&c->pub_qpeak, memory_order_relaxed);
        obl = atomic_load_explicit(&c->pub_obl, memory_order_relaxed);
        ocap = atomic_load_explicit(&c->pub_ocap, memory_order_relaxed);
    }
    static const char *modes[] = {"on", "off", "skip", "skip"};
    snprintf(buf, len,
             "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=%d psub=%d "
             "ssub=%d multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=%zu obl=%zu "
             "oll=0 omem=%zu tot-mem=%zu events=r cmd=%s user=%s redir=-1 resp=%d lib-name=%s lib-ver=%s",
             (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
             (long long)((now - c->ctime_ms) / 1000), (long long)((now - c->last_interaction_ms) / 1000),
             flags, c->db, c->nsub, c->npsub, c->nssub, multi_queued(c), qbuf, qfree,
             qcap, qpeak, obl, ocap, qcap + ocap + sizeof(client), cmd,
             acl_client_username(c), c->resp,
             c->lib_name ? c->lib_name : "", c->lib_ver ? c->lib_ver : "");
    (void)modes;
}

void net_kill_client(client *c) {
    atomic_store(&c->kill_requested, 1);
    event_active(c->w->notify_ev, EV_READ, 0);
}

void net_set_client_name(client *c, char *name) {
    pthread_mutex_lock(&reg_lock);
    char *old = c->name;
    c->name = name;
    pthread_mutex_unlock(&reg_lock);
    free(old);
}

void net_swap_client_user(client *c, void **field, void *val) {
    pthread_mutex_lock(&reg_lock);
    *field = val;
    pthread_mutex_unlock(&reg_lock);
}

void net_set_client_lib(client *c, char **field, char *val) {
    pthread_mutex_lock(&reg_lock);
    char *old = *field;
    *field = val;
    pthread_mutex_unlock(&reg_lock);
    free(old);
}
