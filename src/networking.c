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
 *     that much (plus one batch) and the kernel's socket buffers; the
 *     client-output-buffer-limit (if set) closes it instead, as Redis does.
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
#include "log.h"
#include "memory.h"
#include "multi.h"
#include "server.h"
#include "util.h"

#define READ_CHUNK (16 * 1024)
#define BIG_ARG    (32 * 1024)
#define OUTPUT_BACKPRESSURE (4 * 1024 * 1024)
#define MAX_LISTENERS 16

typedef struct pending_conn {
    int fd;
    bool unix_sock;
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
    _Atomic uint64_t commands, in_bytes, out_bytes;
} __attribute__((aligned(64))) worker;

static worker *workers;
static int nworkers;
static unsigned next_worker;
static struct evconnlistener *listeners[MAX_LISTENERS];
static int nlisteners;
static _Atomic uint64_t connected, next_client_id = 1;
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static client *registry;

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);
static void client_free(client *c);

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
    }
}

static void client_new(worker *w, int fd, bool unix_sock) {
    client *c = xcalloc(1, sizeof(client));
    c->id = atomic_fetch_add(&next_client_id, 1);
    c->fd = fd;
    c->w = w;
    c->resp = 2;
    acl_client_init(c);
    c->ctime_ms = c->last_interaction_ms = util_ms();
    if (unix_sock) c->flags |= CLIENT_UNIX_SOCKET;
    resp_parser_init(&c->parser);
    fill_addrs(c, unix_sock);
    c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, on_read, c);
    c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, on_write, c);
    event_add(c->rev, NULL);
    /* thread-local list for timeouts and kills */
    c->reg_next = NULL;
    pthread_mutex_lock(&reg_lock);
    c->reg_next = registry;
    if (registry) registry->reg_prev = c;
    registry = c;
    pthread_mutex_unlock(&reg_lock);
}

static void client_free(client *c) {
    multi_client_reset(c);   /* unwatch before the memory goes: other threads flag watchers */
    pthread_mutex_lock(&reg_lock);
    if (c->reg_prev) c->reg_prev->reg_next = c->reg_next;
    else registry = c->reg_next;
    if (c->reg_next) c->reg_next->reg_prev = c->reg_prev;
    pthread_mutex_unlock(&reg_lock);
    event_free(c->rev);
    event_free(c->wev);
    close(c->fd);
    resp_parser_free(&c->parser);
    free(c->qbuf);
    free(c->obuf);
    free(c->name);
    free(c->lib_name);
    free(c->lib_ver);
    acl_client_free(c);
    free(c);
    atomic_fetch_sub(&connected, 1);
}

/* ---- output ------------------------------------------------------------ */

static bool cob_exceeded(client *c, size_t pending) {
    const cob_limit *l = &cfg.cob[COB_NORMAL];
    if (l->hard && pending >= (size_t)l->hard) return true;
    if (l->soft && pending >= (size_t)l->soft) {
        int64_t now = util_ms();
        if (!c->obuf_soft_since_ms) c->obuf_soft_since_ms = now;
        else if (now - c->obuf_soft_since_ms >= l->soft_seconds * 1000) return true;
    } else {
        c->obuf_soft_since_ms = 0;
    }
    return false;
}

/* Write what is pending; arm or disarm events. Returns false if the client
 * must be closed now. */
static bool flush_output(client *c) {
    while (c->osent < c->olen) {
        ssize_t n = write(c->fd, c->obuf + c->osent, c->olen - c->osent);
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
        if (event_pending(c->wev, EV_WRITE, NULL)) event_del(c->wev);
        if (c->flags & CLIENT_CLOSE_AFTER_REPLY) return false;
        if (!event_pending(c->rev, EV_READ, NULL)) event_add(c->rev, NULL);
        return true;
    }
    if (cob_exceeded(c, pending)) {
        log_warning("Client id=%llu addr=%s scheduled to be closed ASAP for overcoming of output buffer limits.",
                    (unsigned long long)c->id, c->addr);
        atomic_fetch_add(&srv.stats.client_obuf_limit_disconnections, 1);
        return false;
    }
    /* Compact so the buffer does not only grow while the peer drains. */
    if (c->osent > c->ocap / 2) {
        memmove(c->obuf, c->obuf + c->osent, pending);
        c->olen = pending;
        c->osent = 0;
    }
    if (!event_pending(c->wev, EV_WRITE, NULL)) event_add(c->wev, NULL);
    if (pending > OUTPUT_BACKPRESSURE && event_pending(c->rev, EV_READ, NULL)) event_del(c->rev);
    return true;
}

static void process_input(client *c);

static void on_write(evutil_socket_t fd, short what, void *arg) {
    client *c = arg;
    if (!flush_output(c)) {
        client_free(c);
        return;
    }
    /* Drained: run the commands that backpressure left in the buffer. */
    while (c->olen == 0 && c->qpos < c->qlen && !(c->flags & CLIENT_CLOSE_AFTER_REPLY)) {
        size_t before = c->qpos;
        process_input(c);
        if (!flush_output(c)) {
            client_free(c);
            return;
        }
        if (c->qpos == before) break;   /* an incomplete command: wait for input */
    }
}

/* ---- input ------------------------------------------------------------- */

static void process_input(client *c) {
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
        enum resp_status st = resp_parse(&c->parser, c->qbuf + c->qpos, c->qlen - c->qpos, &lim, &consumed);
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
    if (c->qpos == c->qlen) {
        c->qpos = c->qlen = 0;
        if (c->qcap > 4 * READ_CHUNK) {
            free(c->qbuf);
            c->qbuf = NULL;
            c->qcap = 0;
        }
    }
}

static void on_read(evutil_socket_t fd, short what, void *arg) {
    client *c = arg;
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
    ssize_t n = read(fd, c->qbuf + c->qlen, c->qcap - c->qlen);
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
    c->last_interaction_ms = util_ms();
    if (c->qlen - c->qpos > (size_t)cfg.client_query_buffer_limit) {
        log_warning("Closing client that reached max query buffer length: id=%llu addr=%s (qbuf initial bytes: \"%.32s\")",
                    (unsigned long long)c->id, c->addr, c->qbuf + c->qpos);
        atomic_fetch_add(&srv.stats.client_qbuf_limit_disconnections, 1);
        client_free(c);
        return;
    }
    if (c->qlen - c->qpos > c->qbuf_peak) c->qbuf_peak = c->qlen - c->qpos;
    process_input(c);
    if ((c->flags & CLIENT_CLOSE_ASAP) || !flush_output(c)) client_free(c);
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
    for (size_t i = 0; i < n; i++) client_new(w, q[i].fd, q[i].unix_sock);
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
    long long hz = cfg.hz > 0 ? cfg.hz : 10;
    if (cfg.active_expire) {
        uint64_t budget = (uint64_t)(1000000 / hz) / 4;   /* 25% of a tick */
        ks_active_expire((unsigned)w->id, (unsigned)nworkers, now, budget);
    }
    ks_rehash_step((unsigned)w->id, (unsigned)nworkers);
    evict_cron();
    /* A client that never reads never triggers on_write again, so the
     * output limits are also checked here. */
    client *over[64];
    int no = 0;
    pthread_mutex_lock(&reg_lock);
    for (client *c = registry; c && no < 64; c = c->reg_next)
        if (c->w == w && c->olen > c->osent && cob_exceeded(c, c->olen - c->osent)) over[no++] = c;
    pthread_mutex_unlock(&reg_lock);
    for (int i = 0; i < no; i++) {
        log_warning("Client id=%llu addr=%s closed for overcoming of output buffer limits.",
                    (unsigned long long)over[i]->id, over[i]->addr);
        atomic_fetch_add(&srv.stats.client_obuf_limit_disconnections, 1);
        client_free(over[i]);
    }
    if (cfg.timeout > 0) {
        client *idle[64];
        int ni = 0;
        pthread_mutex_lock(&reg_lock);
        for (client *c = registry; c && ni < 64; c = c->reg_next)
            if (c->w == w && now - c->last_interaction_ms > cfg.timeout * 1000 && c->olen == c->osent)
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
    char name[16];
    snprintf(name, sizeof(name), "strata-io-%d", w->id);
    pthread_setname_np(pthread_self(), name);
    mem_thread_register();
    event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
    evict_thread_exit();
    mem_thread_exit();
    return NULL;
}

/* ---- listeners ---------------------------------------------------------- */

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int slen,
                      void *arg) {
    bool unix_sock = arg != NULL;
    atomic_fetch_add(&srv.stats.total_connections, 1);
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
    w->queue[w->qlen++] = (pending_conn){fd, unix_sock};
    pthread_mutex_unlock(&w->qlock);
    event_active(w->notify_ev, EV_READ, 0);
}

static void on_accept_error(struct evconnlistener *l, void *arg) {
    int err = EVUTIL_SOCKET_ERROR();
    /* EMFILE and friends: log and keep listening; libevent retries. */
    log_warning("Accepting client connection: %s", evutil_socket_error_to_string(err));
}

static bool listen_tcp(struct event_base *base, const char *addr) {
    bool optional = addr[0] == '-';
    if (optional) addr++;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    char port[16];
    snprintf(port, sizeof(port), "%lld", cfg.port);
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
        log_warning("Warning: Could not create server TCP listening socket %s:%lld: %s", addr, cfg.port,
                    strerror(e));
        return false;
    }
    freeaddrinfo(res);
    struct evconnlistener *l = evconnlistener_new(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE, -1, fd);
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
    struct evconnlistener *l = evconnlistener_new(base, on_accept, (void *)1, LEV_OPT_CLOSE_ON_FREE, -1, fd);
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
        w->notify_ev = event_new(w->base, -1, EV_PERSIST, on_notify, w);
        event_add(w->notify_ev, NULL);
        w->cron_ev = evtimer_new(w->base, on_cron, w);
        struct timeval tv = {0, 100000};
        event_add(w->cron_ev, &tv);
    }
    if (cfg.port > 0) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", cfg.bind);
        int ok = 0;
        for (char *save, *a = strtok_r(buf, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
            if (!listen_tcp(main_base, a)) return false;
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
    for (int i = 0; i < nworkers; i++) event_base_loopbreak(workers[i].base);
    for (int i = 0; i < nworkers; i++) pthread_join(workers[i].tid, NULL);
    /* Reactors are stopped: free every client, flushing what we can. */
    while (registry) {
        client *c = registry;
        if (c->olen > c->osent) {
            ssize_t n = write(c->fd, c->obuf + c->osent, c->olen - c->osent);
            (void)n;
        }
        client_free(c);
    }
    for (int i = 0; i < nworkers; i++) {
        worker *w = &workers[i];
        event_free(w->notify_ev);
        event_free(w->cron_ev);
        for (size_t j = 0; j < w->qlen; j++) close(w->queue[j].fd);
        free(w->queue);
        event_base_free(w->base);
        pthread_mutex_destroy(&w->qlock);
    }
    free(workers);
    workers = NULL;
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
    char flags[8];
    int nf = 0;
    if (c->flags & CLIENT_CLOSE_AFTER_REPLY) flags[nf++] = 'c';
    if (c->flags & CLIENT_UNIX_SOCKET) flags[nf++] = 'U';
    if (c->no_evict) flags[nf++] = 'e';
    if (c->mstate) flags[nf++] = 'x';
    if (atomic_load_explicit(&c->dirty_cas, memory_order_relaxed)) flags[nf++] = 'd';
    if (!nf) flags[nf++] = 'N';
    flags[nf] = '\0';
    const char *cmd = c->cmd ? c->cmd->name : "NULL";   /* running, else last run */
    static const char *modes[] = {"on", "off", "skip", "skip"};
    snprintf(buf, len,
             "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld flags=%s db=%d sub=0 psub=0 "
             "ssub=0 multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%zu rbp=%zu obl=%zu "
             "oll=0 omem=%zu tot-mem=%zu events=r cmd=%s user=%s redir=-1 resp=%d lib-name=%s lib-ver=%s",
             (unsigned long long)c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
             (long long)((now - c->ctime_ms) / 1000), (long long)((now - c->last_interaction_ms) / 1000),
             flags, c->db, multi_queued(c), c->qlen - c->qpos, c->qcap - c->qlen, c->qcap, c->qbuf_peak,
             c->olen - c->osent, c->ocap, c->qcap + c->ocap + sizeof(client), cmd, acl_client_username(c), c->resp,
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
