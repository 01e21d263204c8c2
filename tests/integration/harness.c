/* harness.c: the integration test runner and its helpers (see harness.h
 * for the contract). It owns the server processes the tests start, the
 * per-run temporary directory (/tmp/strata-it-XXXXXX, one subdirectory per
 * server, kept for inspection when a test fails), the resources a test
 * holds (released when it returns), and the RESP2/RESP3 reader used on raw
 * sockets, written here because hiredis 0.14 predates RESP3. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- small growable string ---- */

typedef struct hstr {
    char *p;
    size_t len, cap;
} hstr;

static void hs_putn(hstr *s, const char *p, size_t n)
{
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 64;
        while (cap < s->len + n + 1)
            cap *= 2;
        char *np = realloc(s->p, cap);
        if (!np)
            abort();
        s->p = np;
        s->cap = cap;
    }
    memcpy(s->p + s->len, p, n);
    s->len += n;
    s->p[s->len] = '\0';
}

static void hs_puts(hstr *s, const char *p) { hs_putn(s, p, strlen(p)); }

static void hs_printf(hstr *s, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    hs_putn(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Quote bytes so that failure messages stay on one line and show
 * NUL/CR/LF exactly. */
static void hs_quote(hstr *s, const char *p, size_t n)
{
    hs_puts(s, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"' || ch == '\\') {
            char e[3] = { '\\', (char)ch, 0 };
            hs_puts(s, e);
        } else if (ch == '\r') {
            hs_puts(s, "\\r");
        } else if (ch == '\n') {
            hs_puts(s, "\\n");
        } else if (ch < 32 || ch >= 127) {
            hs_printf(s, "\\x%02x", ch);
        } else {
            hs_putn(s, (const char *)&ch, 1);
        }
    }
    hs_puts(s, "\"");
}

/* A copy of s shortened for a one-line message. */
static const char *clip(const char *s, char *buf, size_t cap)
{
    size_t n = strlen(s);
    if (n < cap) {
        memcpy(buf, s, n + 1);
    } else {
        memcpy(buf, s, cap - 4);
        strcpy(buf + cap - 4, "...");
    }
    return buf;
}

/* ---- state ---- */

typedef struct htest {
    const char *name, *file;
    h_test_fn *fn;
} htest;

static htest *tests;
static size_t ntests, captests;

enum { TR_SERVER, TR_CTX, TR_RAW, TR_REPLY, TR_MEM };
typedef struct tracked {
    int kind;
    void *p;
} tracked;

static tracked *trk;
static size_t ntrk, captrk;

static struct {
    const char *name;
    bool failed, skipped;
    char msg[1200];
    char skipmsg[200];
} cur;

static hserver *shared_srv;
static char root_dir[64];
static int server_seq;
static int npassed, nfailed;
static bool ref_mode;
static int slow = 1;
static const char *server_bin;

/* All servers ever started, so that the alarm handler can kill them. */
static hserver *all_servers[256];
static int nall_servers;

void h_register(const char *name, const char *file, h_test_fn *fn)
{
    if (ntests == captests) {
        captests = captests ? captests * 2 : 64;
        tests = realloc(tests, captests * sizeof *tests);
        if (!tests)
            abort();
    }
    tests[ntests++] = (htest){ name, file, fn };
}

static void track(int kind, void *p)
{
    if (ntrk == captrk) {
        captrk = captrk ? captrk * 2 : 64;
        trk = realloc(trk, captrk * sizeof *trk);
        if (!trk)
            abort();
    }
    trk[ntrk++] = (tracked){ kind, p };
}

void h_fail(const char *file, int line, const char *fmt, ...)
{
    if (cur.failed)
        return;
    cur.failed = true;
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    int n = snprintf(cur.msg, sizeof cur.msg, "%s:%d: ", base, line);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof cur.msg)
        vsnprintf(cur.msg + n, sizeof cur.msg - (size_t)n, fmt, ap);
    va_end(ap);
    /* Keep the contract of one line per test. */
    for (char *p = cur.msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

/* Add a note to the current test's failure (failing it if it passed). */
static void h_fail_note(const char *note)
{
    if (!cur.failed) {
        h_fail("(test end)", 0, "%s", note);
        return;
    }
    size_t n = strlen(cur.msg);
    snprintf(cur.msg + n, sizeof cur.msg - n, " [%s]", note);
}

bool h_failed(void) { return cur.failed; }

void h_skip(const char *why)
{
    cur.skipped = true;
    snprintf(cur.skipmsg, sizeof cur.skipmsg, "%s", why);
}

bool h_is_ref(void) { return ref_mode; }
int h_slow(void) { return slow; }

long long h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* ---- servers ---- */

static int pick_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

const char *h_path(hserver *s, const char *name)
{
    static char bufs[4][320];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, sizeof bufs[0], "%s/%s", s->dir, name);
    return b;
}

/* The last lines of the server's stdout/stderr, to stderr, so that a crash
 * report or sanitizer trace is visible in the run's output. */
static void print_tail(hserver *s)
{
    FILE *f = fopen(h_path(s, "stdout.log"), "r");
    if (!f)
        return;
    char *lines[40] = { 0 };
    int n = 0;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        free(lines[n % 40]);
        lines[n % 40] = strdup(line);
        n++;
    }
    fclose(f);
    fprintf(stderr, "# last lines of %s/stdout.log:\n", s->dir);
    for (int i = n > 40 ? n - 40 : 0; i < n; i++) {
        fprintf(stderr, "#   %s", lines[i % 40]);
        size_t l = strlen(lines[i % 40]);
        if (l == 0 || lines[i % 40][l - 1] != '\n')
            fputc('\n', stderr);
    }
    for (int i = 0; i < 40; i++)
        free(lines[i]);
}

static void describe_status(int st, char *buf, size_t cap)
{
    if (WIFEXITED(st))
        snprintf(buf, cap, "exit status %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, cap, "killed by signal %d (%s)", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
    else
        snprintf(buf, cap, "wait status 0x%x", st);
}

/* Reap without blocking; true if the process has exited. */
static bool reap(hserver *s)
{
    if (!s->running)
        return true;
    int st;
    pid_t p = waitpid(s->pid, &st, WNOHANG);
    if (p == s->pid) {
        s->running = false;
        s->status = st;
        return true;
    }
    return false;
}

int h_wait_exit(hserver *s, int timeout_ms)
{
    long long deadline = mono_ms() + (long long)timeout_ms * slow;
    for (;;) {
        if (reap(s))
            return s->status;
        if (mono_ms() >= deadline)
            return -1;
        h_sleep_ms(10);
    }
}

/* Any RESP reply to a PING means the server is serving (with requirepass
 * it is -NOAUTH). */
static bool answers_ping(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        write(fd, "PING\r\n", 6) == 6) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        char b[64];
        if (poll(&pfd, 1, 1000 * slow) == 1) {
            ssize_t n = read(fd, b, sizeof b);
            ok = n > 0 && (b[0] == '+' || b[0] == '-');
        }
    }
    close(fd);
    return ok;
}

static hserver *start_argv_mode(const char *file, int line, int nextra,
                                const char **extra, bool expect_exit);

static hserver *start_argv(const char *file, int line, int nextra,
                           const char **extra)
{
    return start_argv_mode(file, line, nextra, extra, false);
}

static hserver *start_argv_mode(const char *file, int line, int nextra,
                                const char **extra, bool expect_exit)
{
    hserver *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    snprintf(s->dir, sizeof s->dir, "%s/s%d", root_dir, ++server_seq);
    if (mkdir(s->dir, 0700) != 0) {
        h_fail(file, line, "mkdir %s: %s", s->dir, strerror(errno));
        free(s);
        return NULL;
    }
    s->port = pick_port();
    if (s->port <= 0) {
        h_fail(file, line, "no free port");
        free(s);
        return NULL;
    }
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);

    const char *base[] = { server_bin, "--port", port, "--bind", "127.0.0.1",
                           "--save", "", "--appendonly", "no",
                           "--dir", s->dir, "--io-threads", "2" };
    size_t nbase = sizeof base / sizeof base[0];
    const char **argv = calloc(nbase + (size_t)nextra + 1, sizeof *argv);
    char **owned = calloc((size_t)nextra + 1, sizeof *owned);
    if (!argv || !owned)
        abort();
    memcpy(argv, base, sizeof base);
    for (int i = 0; i < nextra; i++) {
        if (strncmp(extra[i], "@/", 2) == 0) {
            owned[i] = malloc(strlen(s->dir) + strlen(extra[i]) + 1);
            if (!owned[i])
                abort();
            sprintf(owned[i], "%s/%s", s->dir, extra[i] + 2);
            argv[nbase + i] = owned[i];
        } else {
            argv[nbase + i] = extra[i];
        }
    }

    /* Record the command line next to the server's output. */
    FILE *cl = fopen(h_path(s, "cmdline"), "w");
    if (cl) {
        for (size_t i = 0; argv[i]; i++)
            fprintf(cl, "'%s' ", argv[i]);
        fputc('\n', cl);
        fclose(cl);
    }

    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        /* A server must not outlive a crashed or killed test runner. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int out = open(h_path(s, "stdout.log"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out >= 0) {
            dup2(out, 1);
            dup2(out, 2);
        }
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            dup2(devnull, 0);
        /* Client sockets the tests hold must not leak into the server:
         * an inherited copy would keep those connections open. */
        close_range(3, ~0U, 0);
        if (chdir(s->dir) != 0)
            _exit(126);
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < nextra; i++)
        free(owned[i]);
    free(owned);
    free(argv);
    if (pid < 0) {
        h_fail(file, line, "fork: %s", strerror(errno));
        free(s);
        return NULL;
    }
    s->pid = pid;
    s->running = true;
    if (nall_servers < (int)(sizeof all_servers / sizeof all_servers[0]))
        all_servers[nall_servers++] = s;

    long long deadline = mono_ms() + 10000LL * slow;
    for (;;) {
        if (expect_exit) {
            if (reap(s) || mono_ms() >= deadline)
                return s;
            h_sleep_ms(10);
            continue;
        }
        if (reap(s)) {
            char d[100];
            describe_status(s->status, d, sizeof d);
            h_fail(file, line, "server exited during start-up (%s); see %s/stdout.log",
                   d, s->dir);
            print_tail(s);
            return s;   /* tracked by the caller; freed at test end */
        }
        if (answers_ping(s->port))
            return s;
        if (mono_ms() >= deadline) {
            h_fail(file, line, "server did not answer PING on port %d within %ds",
                   s->port, 10 * slow);
            print_tail(s);
            return s;
        }
        h_sleep_ms(10);
    }
}

hserver *h_start_at(const char *file, int line, const char *arg, ...)
{
    const char *extra[64];
    int n = 0;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && n < 64; a = va_arg(ap, const char *))
        extra[n++] = a;
    va_end(ap);
    hserver *s = start_argv(file, line, n, extra);
    if (!s)
        return NULL;
    track(TR_SERVER, s);
    return h_failed() ? NULL : s;
}

hserver *h_start_failing_at(const char *file, int line, const char *arg, ...)
{
    const char *extra[64];
    int n = 0;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && n < 64; a = va_arg(ap, const char *))
        extra[n++] = a;
    va_end(ap);
    hserver *s = start_argv_mode(file, line, n, extra, true);
    if (!s)
        return NULL;
    track(TR_SERVER, s);
    if (s->running) {
        kill(s->pid, SIGKILL);
        h_wait_exit(s, 5000);
        s->checked = true;
        h_fail(file, line, "server pid %d kept running (expected it to refuse to start)", (int)s->pid);
        return NULL;
    }
    s->checked = true;
    return s;
}

hserver *h_shared_at(const char *file, int line)
{
    if (shared_srv && !reap(shared_srv))
        return shared_srv;
    if (shared_srv) {
        /* It died outside any test's watch; report and replace it. */
        char d[100];
        describe_status(shared_srv->status, d, sizeof d);
        h_fail(file, line, "shared server had died (%s)", d);
        return NULL;
    }
    hserver *s = start_argv(file, line, 0, NULL);
    if (!s)
        return NULL;
    s->shared = true;
    shared_srv = s;
    if (h_failed()) {
        if (!reap(s)) {
            kill(s->pid, SIGKILL);
            h_wait_exit(s, 5000);
        }
        return NULL;
    }
    return s;
}

static bool stop_server(hserver *s, const char *file, int line)
{
    s->checked = true;
    if (reap(s)) {
        char d[100];
        describe_status(s->status, d, sizeof d);
        if (!(WIFEXITED(s->status) && WEXITSTATUS(s->status) == 0)) {
            h_fail(file, line, "server pid %d had already exited: %s", (int)s->pid, d);
            print_tail(s);
            return false;
        }
        return true;
    }
    kill(s->pid, SIGTERM);
    int st = h_wait_exit(s, 5000);
    if (st == -1) {
        kill(s->pid, SIGKILL);
        h_wait_exit(s, 5000);
        h_fail(file, line, "server pid %d did not exit within %ds of SIGTERM",
               (int)s->pid, 5 * slow);
        print_tail(s);
        return false;
    }
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
        char d[100];
        describe_status(st, d, sizeof d);
        h_fail(file, line, "server pid %d after SIGTERM: %s (want exit status 0)",
               (int)s->pid, d);
        print_tail(s);
        return false;
    }
    return true;
}

bool h_stop_at(const char *file, int line, hserver *s)
{
    return stop_server(s, file, line);
}

long h_rss_kb(hserver *s)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)s->pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* ---- hiredis connections ---- */

static void set_timeouts(redisContext *c)
{
    struct timeval tv = { 10 * slow, 0 };
    redisSetTimeout(c, tv);
}

redisContext *h_connect_at(const char *file, int line, hserver *s)
{
    if (!s)
        return NULL;
    struct timeval tv = { 5 * slow, 0 };
    redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
    if (!c || c->err) {
        h_fail(file, line, "connect to port %d: %s", s->port,
               c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    set_timeouts(c);
    track(TR_CTX, c);
    return c;
}

redisContext *h_connect_unix_at(const char *file, int line, hserver *s,
                                const char *sockname)
{
    struct timeval tv = { 5 * slow, 0 };
    redisContext *c = redisConnectUnixWithTimeout(h_path(s, sockname), tv);
    if (!c || c->err) {
        h_fail(file, line, "connect to %s: %s", h_path(s, sockname),
               c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    set_timeouts(c);
    track(TR_CTX, c);
    return c;
}

redisContext *h_fresh_at(const char *file, int line)
{
    hserver *s = h_shared_at(file, line);
    if (!s)
        return NULL;
    redisContext *c = h_connect_at(file, line, s);
    if (!c)
        return NULL;
    if (!h_expect_cmd(file, line, c, "+OK", "FLUSHALL"))
        return NULL;
    return c;
}

/* ---- rendering ---- */

static void render(hstr *s, const redisReply *r)
{
    if (!r) {
        hs_puts(s, "(no reply)");
        return;
    }
    switch (r->type) {
    case REDIS_REPLY_STATUS:
        hs_puts(s, "+");
        hs_putn(s, r->str, r->len);
        break;
    case REDIS_REPLY_ERROR:
        hs_puts(s, "-");
        hs_putn(s, r->str, r->len);
        break;
    case REDIS_REPLY_INTEGER:
        hs_printf(s, ":%lld", r->integer);
        break;
    case REDIS_REPLY_NIL:
        hs_puts(s, "(nil)");
        break;
    case REDIS_REPLY_STRING:
        hs_quote(s, r->str, r->len);
        break;
    case REDIS_REPLY_ARRAY:
        hs_puts(s, "[");
        for (size_t i = 0; i < r->elements; i++) {
            if (i)
                hs_puts(s, ", ");
            render(s, r->element[i]);
        }
        hs_puts(s, "]");
        break;
    default:
        hs_printf(s, "(type %d)", r->type);
    }
}

void h_render(const redisReply *r, char *buf, size_t cap)
{
    hstr s = { 0 };
    render(&s, r);
    clip(s.p ? s.p : "", buf, cap);
    free(s.p);
}

static bool glob_match(const char *p, const char *s)
{
    for (; *p; p++, s++) {
        if (*p == '*') {
            while (p[1] == '*')
                p++;
            if (!p[1])
                return true;
            for (; *s; s++)
                if (glob_match(p + 1, s))
                    return true;
            return false;
        }
        if (!*s || (*p != '?' && *p != *s))
            return false;
    }
    return *s == '\0';
}

bool h_match(const char *exp, const char *got)
{
    if (strncmp(exp, "glob:", 5) == 0)
        return glob_match(exp + 5, got);
    return strcmp(exp, got) == 0;
}

/* The command as text, for messages: arguments separated by spaces, each
 * quoted only if it needs it. */
static void describe_argv(hstr *s, int argc, const char **argv, const size_t *lens)
{
    for (int i = 0; i < argc && s->len < 300; i++) {
        if (i)
            hs_puts(s, " ");
        size_t n = lens ? lens[i] : strlen(argv[i]);
        bool plain = n > 0;
        for (size_t j = 0; j < n; j++) {
            unsigned char ch = (unsigned char)argv[i][j];
            if (ch <= ' ' || ch >= 127 || ch == '"' || ch == '\\' || ch == '\'')
                plain = false;
        }
        if (plain)
            hs_putn(s, argv[i], n > 200 ? 200 : n);
        else
            hs_quote(s, argv[i], n > 200 ? 200 : n);
    }
}

/* Decode a formatted RESP command back into argv text for messages. */
static void describe_formatted(hstr *s, const char *cmd, int len)
{
    const char *p = cmd, *end = cmd + len;
    if (p >= end || *p != '*')
        return;
    long argc = strtol(p + 1, NULL, 10);
    p = strchr(p, '\n');
    for (long i = 0; p && i < argc && p + 1 < end; i++) {
        p++;
        long n = strtol(p + 1, NULL, 10);
        p = strchr(p, '\n');
        if (!p || p + 1 + n > end)
            return;
        const char *a = p + 1;
        size_t l = (size_t)n;
        describe_argv(s, 1, &a, &l);
        if (i + 1 < argc)
            hs_puts(s, " ");
        p = a + n + 1;
    }
}

static bool compare(const char *file, int line, const char *what,
                    const redisReply *r, const char *exp)
{
    hstr got = { 0 };
    render(&got, r);
    bool ok = h_match(exp, got.p);
    if (!ok) {
        char a[400], b[400];
        h_fail(file, line, "%s: expected %s, got %s", what,
               clip(exp, a, sizeof a), clip(got.p, b, sizeof b));
    }
    free(got.p);
    return ok;
}

bool h_expect_reply(const char *file, int line, const char *what,
                    const redisReply *r, const char *exp)
{
    return compare(file, line, what, r, exp);
}

static redisReply *send_formatted(const char *file, int line, redisContext *c,
                                  const char *cmd, int len, hstr *desc)
{
    if (!c)
        return NULL;
    redisReply *r = NULL;
    if (redisAppendFormattedCommand(c, cmd, (size_t)len) != REDIS_OK ||
        redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
        h_fail(file, line, "%s: I/O error: %s", desc->p ? desc->p : "?",
               c->errstr[0] ? c->errstr : "no reply");
        return NULL;
    }
    track(TR_REPLY, r);
    return r;
}

static redisReply *vcmd(const char *file, int line, redisContext *c,
                        hstr *desc, const char *fmt, va_list ap)
{
    char *cmd = NULL;
    int len = redisvFormatCommand(&cmd, fmt, ap);
    if (len < 0) {
        h_fail(file, line, "bad command format %s", fmt);
        return NULL;
    }
    describe_formatted(desc, cmd, len);
    redisReply *r = send_formatted(file, line, c, cmd, len, desc);
    free(cmd);
    return r;
}

redisReply *h_cmd(const char *file, int line, redisContext *c, const char *fmt, ...)
{
    hstr desc = { 0 };
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(file, line, c, &desc, fmt, ap);
    va_end(ap);
    free(desc.p);
    return r;
}

redisReply *h_cmd_argv(const char *file, int line, redisContext *c,
                       int argc, const char **argv, const size_t *lens)
{
    hstr desc = { 0 };
    describe_argv(&desc, argc, argv, lens);
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    redisReply *r = len < 0 ? NULL : send_formatted(file, line, c, cmd, len, &desc);
    free(cmd);
    free(desc.p);
    return r;
}

redisReply *h_read(const char *file, int line, redisContext *c)
{
    if (!c)
        return NULL;
    redisReply *r = NULL;
    if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
        h_fail(file, line, "reading a reply: I/O error: %s",
               c->errstr[0] ? c->errstr : "no reply");
        return NULL;
    }
    track(TR_REPLY, r);
    return r;
}

bool h_expect_read(const char *file, int line, redisContext *c, const char *exp)
{
    redisReply *r = h_read(file, line, c);
    return r && compare(file, line, "next reply", r, exp);
}

bool h_expect_cmd(const char *file, int line, redisContext *c,
                  const char *exp, const char *fmt, ...)
{
    hstr desc = { 0 };
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(file, line, c, &desc, fmt, ap);
    va_end(ap);
    bool ok = r && compare(file, line, desc.p ? desc.p : fmt, r, exp);
    free(desc.p);
    return ok;
}

static int cmp_rendered(const void *a, const void *b)
{
    hstr x = { 0 }, y = { 0 };
    render(&x, *(redisReply *const *)a);
    render(&y, *(redisReply *const *)b);
    int d = strcmp(x.p, y.p);
    free(x.p);
    free(y.p);
    return d;
}

static void sort_arrays(redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY)
        return;
    for (size_t i = 0; i < r->elements; i++)
        sort_arrays(r->element[i]);
    if (r->elements > 1)
        qsort(r->element, r->elements, sizeof *r->element, cmp_rendered);
}

bool h_expect_cmd_sorted(const char *file, int line, redisContext *c,
                         const char *exp, const char *fmt, ...)
{
    hstr desc = { 0 };
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(file, line, c, &desc, fmt, ap);
    va_end(ap);
    if (r)
        sort_arrays(r);
    bool ok = r && compare(file, line, desc.p ? desc.p : fmt, r, exp);
    free(desc.p);
    return ok;
}

bool h_expect_range(const char *file, int line, redisContext *c,
                    long long lo, long long hi, const char *fmt, ...)
{
    hstr desc = { 0 };
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = vcmd(file, line, c, &desc, fmt, ap);
    va_end(ap);
    bool ok = r && r->type == REDIS_REPLY_INTEGER && r->integer >= lo && r->integer <= hi;
    if (r && !ok) {
        char got[200];
        h_render(r, got, sizeof got);
        h_fail(file, line, "%s: expected an integer in [%lld, %lld], got %s",
               desc.p ? desc.p : fmt, lo, hi, got);
    }
    free(desc.p);
    return ok;
}

bool h_expect_argv(const char *file, int line, redisContext *c,
                   const char *exp, int argc, const char **argv,
                   const size_t *lens)
{
    hstr desc = { 0 };
    describe_argv(&desc, argc, argv, lens);
    char *cmd = NULL;
    int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    redisReply *r = len < 0 ? NULL : send_formatted(file, line, c, cmd, len, &desc);
    bool ok = r && compare(file, line, desc.p, r, exp);
    free(cmd);
    free(desc.p);
    return ok;
}

/* ---- INFO ---- */

bool h_info_field(const char *info, const char *field, char *out, size_t cap)
{
    size_t fl = strlen(field);
    for (const char *p = info; p && *p; ) {
        if (strncmp(p, field, fl) == 0 && p[fl] == ':') {
            const char *v = p + fl + 1;
            size_t n = strcspn(v, "\r\n");
            if (n >= cap)
                n = cap - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return false;
}

const char *h_info_at(const char *file, int line, redisContext *c, const char *section)
{
    redisReply *r = section ? h_cmd(file, line, c, "INFO %s", section)
                            : h_cmd(file, line, c, "INFO");
    if (!r)
        return NULL;
    if (r->type != REDIS_REPLY_STRING) {
        char b[200];
        h_render(r, b, sizeof b);
        h_fail(file, line, "INFO %s: expected a bulk string, got %s",
               section ? section : "", b);
        return NULL;
    }
    return r->str;
}

long long h_info_ll_at(const char *file, int line, redisContext *c,
                      const char *section, const char *field)
{
    const char *info = h_info_at(file, line, c, section);
    char v[64];
    if (!info || !h_info_field(info, field, v, sizeof v))
        return LLONG_MIN;
    return strtoll(v, NULL, 10);
}

/* ---- raw sockets ---- */

static hraw *raw_wrap(int fd)
{
    hraw *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->fd = fd;
    track(TR_RAW, r);
    return r;
}

hraw *h_raw_open_at(const char *file, int line, hserver *s, int rcvbuf)
{
    if (!s)
        return NULL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    /* Before connect(), so that the advertised window is small too. */
    if (fd >= 0 && rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(s->port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        h_fail(file, line, "raw connect to port %d: %s", s->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return raw_wrap(fd);
}

hraw *h_raw_open_unix_at(const char *file, int line, hserver *s, const char *sockname)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof a.sun_path, "%s", h_path(s, sockname));
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        h_fail(file, line, "raw connect to %s: %s", a.sun_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    return raw_wrap(fd);
}

bool h_raw_send(hraw *r, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(r->fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

bool h_raw_sends(hraw *r, const char *s) { return h_raw_send(r, s, strlen(s)); }

/* One read into the buffer, waiting at most ms. Returns bytes read, 0 on
 * timeout, -1 on EOF/error (r->eof set). */
static ssize_t raw_read_some(hraw *r, int ms)
{
    if (r->eof)
        return -1;
    struct pollfd pfd = { r->fd, POLLIN, 0 };
    int pr = poll(&pfd, 1, ms < 0 ? 0 : ms);
    if (pr <= 0)
        return 0;
    if (r->cap - r->len < 65536) {
        r->cap = r->cap ? r->cap * 2 : 131072;
        r->buf = realloc(r->buf, r->cap);
        if (!r->buf)
            abort();
    }
    ssize_t n = recv(r->fd, r->buf + r->len, r->cap - r->len, 0);
    if (n <= 0) {
        r->eof = true;
        return -1;
    }
    r->len += (size_t)n;
    return n;
}

static void raw_consume(hraw *r, size_t n)
{
    memmove(r->buf, r->buf + n, r->len - n);
    r->len -= n;
}

/* Parse one RESP2/RESP3 value at *pos. 1 complete, 0 need more, -1 bad. */
static int parse_value(const char *b, size_t len, size_t *pos, hstr *out)
{
    size_t start = *pos;
    if (start >= len)
        return 0;
    const char *nl = memmem(b + start, len - start, "\r\n", 2);
    if (!nl)
        return 0;
    char type = b[start];
    const char *line = b + start + 1;
    size_t llen = (size_t)(nl - line);
    size_t after = (size_t)(nl - b) + 2;
    char num[32];
    long long n = 0;
    if (strchr("$*%~>=!|", type)) {
        if (llen == 0 || llen >= sizeof num)
            return -1;
        memcpy(num, line, llen);
        num[llen] = '\0';
        char *e;
        n = strtoll(num, &e, 10);
        if (*e)
            return -1;
    }
    switch (type) {
    case '+': case '-': case ':': case ',': case '#': case '(':
        hs_putn(out, &type, 1);
        hs_putn(out, line, llen);
        *pos = after;
        return 1;
    case '_':
        hs_puts(out, "(null)");
        *pos = after;
        return 1;
    case '$': case '=': case '!':
        if (n < 0) {
            hs_puts(out, "(nil)");
            *pos = after;
            return 1;
        }
        if (len < after + (size_t)n + 2)
            return 0;
        if (type == '!') {
            hs_puts(out, "-");
            hs_putn(out, b + after, (size_t)n);
        } else {
            if (type == '=')
                hs_puts(out, "=");
            hs_quote(out, b + after, (size_t)n);
        }
        *pos = after + (size_t)n + 2;
        return 1;
    case '*': case '~': case '>': case '%': case '|': {
        if (n < 0) {
            hs_puts(out, "(nil)");
            *pos = after;
            return 1;
        }
        bool map = type == '%' || type == '|';
        const char *open = type == '*' ? "[" : type == '~' ? "~[" :
                           type == '>' ? ">[" : type == '%' ? "{" : "|{";
        hs_puts(out, open);
        size_t p = after;
        for (long long i = 0; i < (map ? 2 * n : n); i++) {
            if (i)
                hs_puts(out, map && i % 2 ? ": " : ", ");
            int rc = parse_value(b, len, &p, out);
            if (rc != 1)
                return rc;
        }
        hs_puts(out, map ? "}" : "]");
        if (type == '|') {
            /* An attribute precedes the value it annotates. */
            hs_puts(out, " ");
            int rc = parse_value(b, len, &p, out);
            if (rc != 1)
                return rc;
        }
        *pos = p;
        return 1;
    }
    default:
        return -1;
    }
}

int h_raw_reply(hraw *r, char *out, size_t cap, int timeout_ms)
{
    long long deadline = mono_ms() + (long long)timeout_ms * slow;
    for (;;) {
        hstr s = { 0 };
        size_t pos = 0;
        int rc = r->len ? parse_value(r->buf, r->len, &pos, &s) : 0;
        if (rc == 1) {
            clip(s.p, out, cap);
            free(s.p);
            raw_consume(r, pos);
            return 1;
        }
        free(s.p);
        if (rc == 0 && !r->eof) {
            long long left = deadline - mono_ms();
            if (left <= 0) {
                hstr q = { 0 };
                hs_puts(&q, "(timeout) ");
                hs_quote(&q, r->buf ? r->buf : "", r->len);
                clip(q.p, out, cap);
                free(q.p);
                return 0;
            }
            raw_read_some(r, (int)left);
            continue;
        }
        hstr q = { 0 };
        hs_puts(&q, rc == -1 ? "(unparsable) " : "");
        hs_quote(&q, r->buf ? r->buf : "", r->len);
        hs_puts(&q, r->eof ? " (closed)" : "");
        clip(q.p, out, cap);
        free(q.p);
        return -1;
    }
}

size_t h_raw_fill(hraw *r, size_t n, int timeout_ms)
{
    long long deadline = mono_ms() + (long long)timeout_ms * slow;
    while (r->len < n && !r->eof) {
        long long left = deadline - mono_ms();
        if (left <= 0)
            break;
        raw_read_some(r, (int)left);
    }
    return r->len;
}

bool h_raw_wait_closed(hraw *r, int timeout_ms, size_t *drained)
{
    long long deadline = mono_ms() + (long long)timeout_ms * slow;
    size_t total = 0;
    for (;;) {
        total += r->len;
        r->len = 0;
        if (r->eof)
            break;
        long long left = deadline - mono_ms();
        if (left <= 0)
            break;
        raw_read_some(r, (int)left);
    }
    if (drained)
        *drained = total;
    return r->eof;
}

bool h_raw_quiet(hraw *r, int ms)
{
    size_t before = r->len;
    long long deadline = mono_ms() + ms;
    while (!r->eof && r->len == before) {
        long long left = deadline - mono_ms();
        if (left <= 0)
            break;
        raw_read_some(r, (int)left);
    }
    return !r->eof && r->len == before;
}

bool h_expect_raw_reply(const char *file, int line, hraw *r, const char *exp)
{
    char got[2048];
    int rc = h_raw_reply(r, got, sizeof got, 5000);
    if (rc == 1 && h_match(exp, got))
        return true;
    char a[400], b[400];
    h_fail(file, line, "raw reply: expected %s, got %s", clip(exp, a, sizeof a),
           clip(got, b, sizeof b));
    return false;
}

bool h_expect_raw_bytes(const char *file, int line, hraw *r, const void *exp, size_t n)
{
    h_raw_fill(r, n, 5000);
    if (r->len >= n && memcmp(r->buf, exp, n) == 0) {
        raw_consume(r, n);
        return true;
    }
    hstr e = { 0 }, g = { 0 };
    hs_quote(&e, exp, n);
    hs_quote(&g, r->buf ? r->buf : "", r->len);
    char a[400], b[400];
    h_fail(file, line, "raw bytes: expected %s, got %s%s", clip(e.p, a, sizeof a),
           clip(g.p, b, sizeof b), r->eof ? " (closed)" : "");
    free(e.p);
    free(g.p);
    return false;
}

bool h_expect_closed(const char *file, int line, hraw *r)
{
    size_t drained = 0;
    size_t pending = r->len;
    if (h_raw_wait_closed(r, 3000, &drained))
        return true;
    h_fail(file, line, "expected the server to close the connection; still open "
           "after %ds (%zu unread bytes)", 3 * slow, drained ? drained : pending);
    return false;
}

/* ---- runner ---- */

static void release_tracked(void)
{
    /* Connections first, so that servers stop with no clients attached
     * (and their exit does not race our reads). */
    for (size_t i = 0; i < ntrk; i++) {
        if (!trk[i].p)
            continue;
        switch (trk[i].kind) {
        case TR_CTX:
            redisFree(trk[i].p);
            trk[i].p = NULL;
            break;
        case TR_RAW: {
            hraw *r = trk[i].p;
            close(r->fd);
            free(r->buf);
            free(r);
            trk[i].p = NULL;
            break;
        }
        case TR_REPLY:
            freeReplyObject(trk[i].p);
            trk[i].p = NULL;
            break;
        case TR_MEM:
            free(trk[i].p);
            trk[i].p = NULL;
            break;
        }
    }
    for (size_t i = 0; i < ntrk; i++) {
        if (trk[i].kind != TR_SERVER || !trk[i].p)
            continue;
        hserver *s = trk[i].p;
        if (!s->checked || s->running)
            stop_server(s, "(test end)", 0);   /* reports an unclean exit */
        for (int j = 0; j < nall_servers; j++)
            if (all_servers[j] == s)
                all_servers[j] = NULL;
        free(s);
    }
    ntrk = 0;
}

static void alarm_handler(int sig)
{
    (void)sig;
    char b[512];
    int n = snprintf(b, sizeof b, "FAIL %s: timed out after %ds\n%d passed, %d failed\n",
                     cur.name ? cur.name : "?", 90 * slow, npassed, nfailed + 1);
    if (write(1, b, (size_t)n) < 0)
        _exit(1);
    for (int i = 0; i < nall_servers; i++)
        if (all_servers[i] && all_servers[i]->running)
            kill(all_servers[i]->pid, SIGKILL);
    _exit(1);
}

/* A crash of the shared server belongs to the test that caused it. After a
 * failed test the server may be dying (a segfault takes a moment to reap)
 * or hung: ask it, and if it does not answer, replace it so that the next
 * tests are not failed by the wreck. */
static void check_shared_health(void)
{
    if (!shared_srv)
        return;
    bool dead = reap(shared_srv);
    if (!dead && cur.failed && !answers_ping(shared_srv->port))
        dead = h_wait_exit(shared_srv, 2000) != -1;
    if (!dead && cur.failed && !answers_ping(shared_srv->port)) {
        kill(shared_srv->pid, SIGKILL);
        h_wait_exit(shared_srv, 5000);
        fprintf(stderr, "# %s: shared server pid %d stopped answering; killed it\n",
                cur.name, (int)shared_srv->pid);
        dead = true;
        h_fail_note("shared server stopped answering PING");
    } else if (dead) {
        char d[100];
        describe_status(shared_srv->status, d, sizeof d);
        fprintf(stderr, "# %s: shared server pid %d died: %s\n", cur.name,
                (int)shared_srv->pid, d);
        print_tail(shared_srv);
        char note[160];
        snprintf(note, sizeof note, "shared server died: %s", d);
        h_fail_note(note);
    }
    if (dead) {
        for (int j = 0; j < nall_servers; j++)
            if (all_servers[j] == shared_srv)
                all_servers[j] = NULL;
        free(shared_srv);
        shared_srv = NULL;
    }
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    remove(path);
    return 0;
}

static void report(const char *name)
{
    if (cur.skipped && !cur.failed) {
        printf("SKIP %s: %s\n", name, cur.skipmsg);
    } else if (cur.failed) {
        printf("FAIL %s: %s\n", name, cur.msg);
        nfailed++;
    } else {
        printf("PASS %s\n", name);
        npassed++;
    }
    fflush(stdout);
}

static bool selected(const char *name, int argc, char **argv)
{
    if (argc <= 1)
        return true;
    for (int i = 1; i < argc; i++)
        if (strstr(name, argv[i]))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (argc > 1 && (strcmp(argv[1], "-l") == 0 || strcmp(argv[1], "--list") == 0)) {
        for (size_t i = 0; i < ntests; i++)
            printf("%s\t%s\n", tests[i].name, tests[i].file);
        free(tests);
        return 0;
    }

    /* The concurrency test holds 1,000+ sockets; servers inherit this. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 16384) {
        rl.rlim_cur = rl.rlim_max < 16384 ? rl.rlim_max : 16384;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    ref_mode = getenv("REF") && strcmp(getenv("REF"), "1") == 0;
    if (getenv("STRATA_SLOW") && strcmp(getenv("STRATA_SLOW"), "1") == 0)
        slow = 3;
    static char binbuf[PATH_MAX];
    if (ref_mode) {
        server_bin = "redis-server";
    } else if (getenv("STRATA_SERVER") && *getenv("STRATA_SERVER")) {
        server_bin = getenv("STRATA_SERVER");
    } else {
        const char *build = getenv("BUILD") && *getenv("BUILD") ? getenv("BUILD") : "build";
        snprintf(binbuf, sizeof binbuf, "%s/strata-server", build);
        server_bin = binbuf;
    }
    if (!ref_mode) {
        if (access(server_bin, X_OK) != 0) {
            printf("FAIL harness: no server binary at %s (set STRATA_SERVER, "
                   "BUILD, or REF=1)\n0 passed, 1 failed\n", server_bin);
            free(tests);
            return 1;
        }
        /* Servers run in their own directory: make the path absolute. */
        if (server_bin[0] != '/' && realpath(server_bin, binbuf))
            server_bin = binbuf;
    }

    strcpy(root_dir, "/tmp/strata-it-XXXXXX");
    if (!mkdtemp(root_dir)) {
        printf("FAIL harness: mkdtemp: %s\n0 passed, 1 failed\n", strerror(errno));
        free(tests);
        return 1;
    }

    struct sigaction sa = { .sa_handler = alarm_handler };
    sigaction(SIGALRM, &sa, NULL);
    long long t0 = mono_ms();

    for (size_t i = 0; i < ntests; i++) {
        if (!selected(tests[i].name, argc, argv))
            continue;
        memset(&cur, 0, sizeof cur);
        cur.name = tests[i].name;
        long long ts = mono_ms();
        alarm(90 * (unsigned)slow);
        tests[i].fn();
        alarm(0);
        check_shared_health();
        release_tracked();
        long long el = mono_ms() - ts;
        if (el > 3000)
            fprintf(stderr, "# %s took %lld ms\n", tests[i].name, el);
        report(tests[i].name);
    }

    if (shared_srv) {
        memset(&cur, 0, sizeof cur);
        cur.name = "harness_shared_server_shutdown";
        alarm(90 * (unsigned)slow);
        stop_server(shared_srv, __FILE__, __LINE__);
        alarm(0);
        free(shared_srv);
        shared_srv = NULL;
        report(cur.name);
    }

    fprintf(stderr, "# integration: %lld ms\n", mono_ms() - t0);
    if (nfailed == 0)
        nftw(root_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "# server directories kept in %s\n", root_dir);
    free(tests);
    free(trk);
    printf("%d passed, %d failed\n", npassed, nfailed);
    return nfailed ? 1 : 0;
}
