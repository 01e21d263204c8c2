/* test_tls.c: TLS over real sockets (tls-port, docs/tls.md). A CA, a server
 * certificate and a client certificate are made with the openssl CLI in a
 * temporary directory on first use. Clients are redis-cli --tls (what users
 * run) and a small blocking OpenSSL client of this file (hiredis in Debian
 * ships no hiredis_ssl). Covered: redis-cli ping/set/get, 10,000 pipelined
 * commands, 1 MB values, a client that stops reading (the server must not
 * spin), a plain-text client on the TLS port, tls-auth-clients yes /
 * optional / no, MULTI and Pub/Sub over TLS, the plain port alongside, and
 * a refused configuration. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char certdir[64];
static SSL_CTX *ctx_cert, *ctx_nocert;

static void tcli_reset(void);

static void cleanup_certs(void)
{
    tcli_reset();
    if (certdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", certdir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", certdir);
    }
    SSL_CTX_free(ctx_cert);
    SSL_CTX_free(ctx_nocert);
}

static const char *cert(const char *name)
{
    static char buf[4][128];
    static int i;
    char *b = buf[i++ % 4];
    snprintf(b, 128, "%s/%s", certdir, name);
    return b;
}

/* Make the CA and both certificates once; false after failing the test. */
static bool certs(void)
{
    if (certdir[0])
        return true;
    snprintf(certdir, sizeof certdir, "/tmp/strata-tls.XXXXXX");
    if (!mkdtemp(certdir)) {
        certdir[0] = '\0';
        h_fail(H_LOC, "mkdtemp: %s", strerror(errno));
        return false;
    }
    atexit(cleanup_certs);
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "(cd '%s' && "
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 "
             "-subj '/CN=strata test CA' && "
             "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext && "
             "for n in server client; do "
             "openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj \"/CN=$n\" && "
             "openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
             "-out $n.crt -days 2 -extfile ext || exit 1; done) >/dev/null 2>&1",
             certdir);
    if (system(cmd) != 0) {
        h_fail(H_LOC, "openssl could not make the test certificates");
        return false;
    }
    for (int i = 0; i < 2; i++) {
        SSL_CTX *c = SSL_CTX_new(TLS_client_method());
        SSL_CTX_load_verify_locations(c, cert("ca.crt"), NULL);
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
        if (i == 0 && (SSL_CTX_use_certificate_file(c, cert("client.crt"), SSL_FILETYPE_PEM) <= 0 ||
                       SSL_CTX_use_PrivateKey_file(c, cert("client.key"), SSL_FILETYPE_PEM) <= 0)) {
            h_fail(H_LOC, "client certificate does not load");
            SSL_CTX_free(c);
            return false;
        }
        *(i == 0 ? &ctx_cert : &ctx_nocert) = c;
    }
    return true;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int tls_port;

/* A server with the plain port and a TLS port; auth is tls-auth-clients. */
static hserver *start_tls(const char *auth)
{
    if (!certs())
        return NULL;
    tls_port = free_port();
    char p[16];
    snprintf(p, sizeof p, "%d", tls_port);
    return h_start("--tls-port", p, "--tls-cert-file", cert("server.crt"),
                   "--tls-key-file", cert("server.key"), "--tls-ca-cert-file", cert("ca.crt"),
                   "--tls-auth-clients", auth, NULL);
}

#define START_TLS(var, auth)                                                \
    hserver *var = start_tls(auth);                                         \
    if (!var) return

/* ---- a blocking TLS client --------------------------------------------- */

typedef struct tcli {
    int fd;
    SSL *ssl;
} tcli;

#define MAX_TCLI 16
static tcli clis[MAX_TCLI];
static int nclis;

/* Clients of the previous test (it may have returned early). */
static void tcli_reset(void)
{
    for (int i = 0; i < nclis; i++) {
        SSL_free(clis[i].ssl);
        close(clis[i].fd);
    }
    nclis = 0;
    ERR_clear_error();
}

static int tcp_connect(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = { 10 * h_slow(), 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Connect and handshake; NULL (without failing the test) if refused. */
static tcli *tls_try(bool with_cert, int rcvbuf)
{
    if (nclis == MAX_TCLI)
        return NULL;
    int fd = tcp_connect(tls_port, rcvbuf);
    if (fd < 0)
        return NULL;
    SSL *s = SSL_new(with_cert ? ctx_cert : ctx_nocert);
    SSL_set_fd(s, fd);
    SSL_set1_host(s, "127.0.0.1");
    clis[nclis] = (tcli){ fd, s };
    tcli *t = &clis[nclis++];
    if (SSL_connect(s) != 1)
        return NULL;
    return t;
}

#define TLS_OPEN(var, with_cert)                                            \
    tcli *var = tls_try((with_cert), 0);                                    \
    CHECKF(var, "TLS connect/handshake to port %d failed", tls_port)

static bool t_send(tcli *t, const void *p, size_t n)
{
    const char *b = p;
    while (n > 0) {
        int r = SSL_write(t->ssl, b, n > 1 << 20 ? 1 << 20 : (int)n);
        if (r <= 0)
            return false;
        b += r;
        n -= (size_t)r;
    }
    return true;
}

/* Read exactly n bytes into buf; how many arrived before EOF/error/timeout. */
static size_t t_read(tcli *t, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        int r = SSL_read(t->ssl, buf + got, n - got > 1 << 20 ? 1 << 20 : (int)(n - got));
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

/* The next bytes received are exactly exp. */
static bool t_expect_at(const char *file, int line, tcli *t, const char *exp, size_t n)
{
    char *buf = malloc(n + 1);
    size_t got = t_read(t, buf, n);
    bool ok = got == n && memcmp(buf, exp, n) == 0;
    if (!ok) {
        buf[got] = '\0';
        h_fail(file, line, "over TLS expected %zu bytes \"%.60s\", got %zu: \"%.60s\"", n, exp, got,
               buf);
    }
    free(buf);
    return ok;
}
#define T_EXPECT(t, exp)                                                    \
    do { if (!t_expect_at(H_LOC, (t), (exp), strlen(exp))) return; } while (0)
#define T_SEND(t, s)                                                        \
    CHECKF(t_send((t), (s), strlen(s)), "TLS send failed")

/* Run redis-cli --tls with args; its stdout (trailing newline cut). */
static bool cli(char *out, size_t cap, bool with_cert, const char *args)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "timeout %d redis-cli --tls --cacert '%s' %s%s%s%s%s -p %d %s 2>&1",
             10 * h_slow(), cert("ca.crt"), with_cert ? "--cert '" : "",
             with_cert ? cert("client.crt") : "", with_cert ? "' --key '" : "",
             with_cert ? cert("client.key") : "", with_cert ? "'" : "", tls_port, args);
    FILE *f = popen(cmd, "r");
    if (!f)
        return false;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return pclose(f) != -1;
}

/* utime + stime of pid in clock ticks. */
static long long cpu_ticks(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st) != 2)
        return -1;
    return ut + st;
}

/* ---- tests -------------------------------------------------------------- */

TEST(tls_redis_cli_and_plain_port)
{
    tcli_reset();
    START_TLS(s, "yes");
    char out[256];
    CHECK(cli(out, sizeof out, true, "ping"));
    CHECKF(!strcmp(out, "PONG"), "redis-cli --tls ping: %s", out);
    CHECK(cli(out, sizeof out, true, "set tlskey hello"));
    CHECKF(!strcmp(out, "OK"), "redis-cli --tls set: %s", out);
    CHECK(cli(out, sizeof out, true, "get tlskey"));
    CHECKF(!strcmp(out, "hello"), "redis-cli --tls get: %s", out);
    /* The plain port works alongside and sees the same data. */
    CONNECT(c, s);
    EXPECT_CMD(c, "\"hello\"", "GET tlskey");
    EXPECT_CMD(c, "+OK", "SET plainkey world");
    CHECK(cli(out, sizeof out, true, "get plainkey"));
    CHECKF(!strcmp(out, "world"), "redis-cli --tls get: %s", out);
    /* No certificate while tls-auth-clients is yes: refused. */
    CHECK(cli(out, sizeof out, false, "ping"));
    CHECKF(strcmp(out, "PONG") != 0, "a client without certificate got PONG");
    EXPECT_CMD(c, "+PONG", "PING");
}

TEST(tls_pipeline_10k)
{
    tcli_reset();
    START_TLS(s, "yes");
    TLS_OPEN(t, true);
    enum { N = 10000 };
    size_t cap = (size_t)N * 40, len = 0, elen = 0;
    char *req = malloc(cap), *exp = malloc((size_t)N * 16);
    for (int i = 1; i <= N; i++) {
        len += (size_t)sprintf(req + len, "*2\r\n$4\r\nINCR\r\n$3\r\nctr\r\n");
        elen += (size_t)sprintf(exp + elen, ":%d\r\n", i);
    }
    bool sent = t_send(t, req, len);
    bool ok = sent && t_expect_at(H_LOC, t, exp, elen);
    free(req);
    free(exp);
    CHECKF(sent, "sending 10,000 pipelined commands over TLS failed");
    if (!ok)
        return;
    /* Inline commands too, in one write. */
    T_SEND(t, "PING\r\nGET ctr\r\n");
    T_EXPECT(t, "+PONG\r\n$5\r\n10000\r\n");
}

TEST(tls_large_values)
{
    tcli_reset();
    START_TLS(s, "yes");
    TLS_OPEN(t, true);
    enum { V = 1 << 20 };
    char *v = malloc(V), *req = malloc(V + 64), *exp = malloc(V + 32);
    for (int i = 0; i < V; i++)
        v[i] = (char)('a' + (i * 7 + i / 1000) % 26);
    size_t n = (size_t)sprintf(req, "*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n", V);
    memcpy(req + n, v, V);
    memcpy(req + n + V, "\r\n", 2);
    bool sent = t_send(t, req, n + V + 2) && t_send(t, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n", 22);
    size_t en = (size_t)sprintf(exp, "+OK\r\n$%d\r\n", V);
    memcpy(exp + en, v, V);
    memcpy(exp + en + V, "\r\n", 2);
    bool ok = sent && t_expect_at(H_LOC, t, exp, en + V + 2);
    free(v);
    free(req);
    free(exp);
    CHECKF(sent, "sending a 1 MB value over TLS failed");
    if (!ok)
        return;
    /* The plain port reads the same bytes. */
    CONNECT(c, s);
    EXPECT_CMD(c, ":1048576", "STRLEN big");
}

/* A TLS client asks for 24 MB and stops reading: the server keeps the rest
 * pending (backpressure) without spinning, serves others, and delivers
 * everything, in order, once the client reads again. */
TEST(tls_stalled_reader)
{
    tcli_reset();
    START_TLS(s, "yes");
    CONNECT(c, s);
    static char v[1 << 20];
    memset(v, 'x', sizeof v);
    redisReply *r = redisCommand(c, "SET big %b", v, sizeof v);
    CHECK(r && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    tcli *t = tls_try(true, 64 * 1024);
    CHECKF(t, "TLS connect failed");
    enum { N = 24 };
    for (int i = 0; i < N; i++)
        T_SEND(t, "*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n");
    /* An idle TLS client that was served once must not spin either. */
    TLS_OPEN(t2, true);
    T_SEND(t2, "PING\r\n");
    T_EXPECT(t2, "+PONG\r\n");
    h_sleep_ms(300);
    long long c0 = cpu_ticks(s->pid);
    h_sleep_ms(1000);
    long long c1 = cpu_ticks(s->pid);
    CHECK(c0 >= 0 && c1 >= 0);
    /* A spinning reactor burns ~100 ticks a second; idle is ~1 (cron). */
    CHECKF(c1 - c0 < 30 * h_slow(), "server used %lld ticks in 1 s with a stalled TLS reader",
           c1 - c0);
    EXPECT_CMD(c, "+PONG", "PING");
    T_SEND(t2, "PING\r\n");
    T_EXPECT(t2, "+PONG\r\n");
    /* Now read it all. */
    static char exp[(1 << 20) + 32];
    size_t en = (size_t)sprintf(exp, "$%d\r\n", 1 << 20);
    memcpy(exp + en, v, sizeof v);
    memcpy(exp + en + sizeof v, "\r\n", 2);
    for (int i = 0; i < N; i++)
        if (!t_expect_at(H_LOC, t, exp, en + sizeof v + 2))
            return;
    T_SEND(t, "PING\r\n");
    T_EXPECT(t, "+PONG\r\n");
}

/* A plain-text client on the TLS port is closed; TLS clients connected
 * before and after are unaffected. */
TEST(tls_plaintext_on_tls_port)
{
    tcli_reset();
    START_TLS(s, "yes");
    TLS_OPEN(t, true);
    int fd = tcp_connect(tls_port, 0);
    CHECK(fd >= 0);
    const char *req = "*1\r\n$4\r\nPING\r\n";
    ssize_t w = write(fd, req, strlen(req));
    bool closed = false, pong = false;
    char buf[4096];
    long long until = h_now_ms() + 5000 * h_slow();
    while (w > 0 && h_now_ms() < until) {
        struct pollfd p = { fd, POLLIN, 0 };
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (n <= 0) {
            closed = true;
            break;
        }
        buf[n] = '\0';
        if (strstr(buf, "PONG"))
            pong = true;
    }
    close(fd);
    CHECKF(!pong, "a plain-text client on the TLS port got PONG");
    CHECKF(closed, "a plain-text client on the TLS port was not closed");
    T_SEND(t, "PING\r\n");
    T_EXPECT(t, "+PONG\r\n");
    TLS_OPEN(t2, true);
    T_SEND(t2, "PING\r\n");
    T_EXPECT(t2, "+PONG\r\n");
    CONNECT(c, s);
    EXPECT_CMD(c, "+PONG", "PING");
}

TEST(tls_auth_clients)
{
    tcli_reset();
    /* yes: a client without certificate gets no reply. */
    START_TLS(s, "yes");
    tcli *t = tls_try(false, 0);
    if (t) {   /* TLS 1.3: the server judges the certificate after the client's handshake ends */
        char buf[16];
        /* The write may already fail (the server's alert came back). */
        if (t_send(t, "PING\r\n", 6))
            CHECKF(t_read(t, buf, 7) == 0, "tls-auth-clients yes answered a client without certificate");
    }
    TLS_OPEN(t1, true);
    T_SEND(t1, "PING\r\n");
    T_EXPECT(t1, "+PONG\r\n");
    CHECK(h_stop(s));
    /* optional: both are served. */
    START_TLS(s2, "optional");
    TLS_OPEN(t2, false);
    T_SEND(t2, "PING\r\n");
    T_EXPECT(t2, "+PONG\r\n");
    TLS_OPEN(t3, true);
    T_SEND(t3, "PING\r\n");
    T_EXPECT(t3, "+PONG\r\n");
    CHECK(h_stop(s2));
    /* no: no certificate requested. */
    START_TLS(s3, "no");
    TLS_OPEN(t4, false);
    T_SEND(t4, "PING\r\n");
    T_EXPECT(t4, "+PONG\r\n");
    CONNECT(c, s3);
    EXPECT_CMD(c, "glob:*tls-auth-clients*no*", "CONFIG GET tls-auth-clients");
    EXPECT_CMD(c, "glob:-ERR *can't set immutable config*", "CONFIG SET tls-cert-file /etc/passwd");
}

TEST(tls_multi_pubsub)
{
    tcli_reset();
    START_TLS(s, "yes");
    TLS_OPEN(t, true);
    T_SEND(t, "MULTI\r\nSET m 1\r\nINCR m\r\nEXEC\r\n");
    T_EXPECT(t, "+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n:2\r\n");
    TLS_OPEN(sub, true);
    T_SEND(sub, "SUBSCRIBE ch\r\n");
    T_EXPECT(sub, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    /* From the plain port and from TLS (clients spread over both threads). */
    CONNECT(c, s);
    EXPECT_CMD(c, ":1", "PUBLISH ch plain");
    T_EXPECT(sub, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nplain\r\n");
    T_SEND(t, "PUBLISH ch tls\r\n");
    T_EXPECT(t, ":1\r\n");
    T_EXPECT(sub, "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\ntls\r\n");
}

TEST(tls_bad_config_refused)
{
    tcli_reset();
    if (!certs())
        return;
    char p[16];
    snprintf(p, sizeof p, "%d", free_port());
    /* tls-port without a certificate, and a key that is not the cert's. */
    hserver *s = h_start_failing("--tls-port", p, "--tls-auth-clients", "no", NULL);
    CHECK(s && s->status != 0);
    s = h_start_failing("--tls-port", p, "--tls-cert-file", cert("server.crt"), "--tls-key-file",
                        cert("client.key"), "--tls-auth-clients", "no", NULL);
    CHECK(s && s->status != 0);
}
