/* test_security.c: authentication and authorization on every command path
 * (inline and multibulk, pipelines, MULTI/EXEC, pub/sub), an AUTH brute
 * force that must not stall other clients, protected configs (file paths
 * through CONFIG SET), and loopback-only listening by default (issue #6).
 * Expectations are redis-server 7.0.15's (REF=1 runs them against it);
 * "DIFFERS:" marks the one place strata differs on purpose. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NOAUTH "-NOAUTH Authentication required."
#define WRONGPASS "-WRONGPASS invalid username-password pair or user is disabled."
#define NOPERM_KEYS "-NOPERM this user has no permissions to access one of the keys used as arguments"
#define NOPERM_CHANNELS "-NOPERM this user has no permissions to access one of the channels used as arguments"

/* Unauthenticated: every path answers NOAUTH and nothing runs. */
TEST(security_noauth_every_path)
{
    START(s, "--requirepass", "pw", NULL);
    RAW(r, s);
    /* Inline and multibulk, pipelined in one write. */
    SEND(r, "SET k inline\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nmulti\r\nMULTI\r\nSET k queued\r\nEXEC\r\n"
            "SUBSCRIBE ch\r\nPSUBSCRIBE *\r\nSSUBSCRIBE ch\r\nPUBLISH ch m\r\nCONFIG SET requirepass x\r\n"
            "FLUSHALL\r\nACL WHOAMI\r\nCLIENT LIST\r\nSELECT 1\r\n");
    for (int i = 0; i < 4; i++)
        EXPECT_RAW_REPLY(r, NOAUTH);
    EXPECT_RAW_REPLY(r, "-EXECABORT Transaction discarded because of: NOAUTH Authentication required.");
    for (int i = 0; i < 9; i++)
        EXPECT_RAW_REPLY(r, NOAUTH);
    SEND(r, "HELLO 3\r\n");
    EXPECT_RAW_REPLY(r, "-NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                        "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
                        "select the RESP protocol version at the same time");
    /* Before AUTH, a multibulk of more than 10 elements or a bulk of more
     * than 16kB is a protocol error (Redis 7.0). */
    SEND(r, "*11\r\n");
    EXPECT_RAW_REPLY(r, "-ERR Protocol error: unauthenticated multibulk length");
    EXPECT_CLOSED(r);
    RAW(r2, s);
    SEND(r2, "*2\r\n$4\r\nAUTH\r\n$20000\r\n");
    EXPECT_RAW_REPLY(r2, "-ERR Protocol error: unauthenticated bulk length");
    EXPECT_CLOSED(r2);
    /* Nothing ran. */
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "AUTH pw");
    EXPECT_CMD(admin, "(nil)", "GET k");
    EXPECT_CMD(admin, "[\"ch\", :0]", "PUBSUB NUMSUB ch");
    EXPECT_CMD(admin, ":0", "PUBSUB NUMPAT");
    EXPECT_CMD(admin, "[\"requirepass\", \"pw\"]", "CONFIG GET requirepass");
    /* After AUTH in the same write, the rest runs. */
    RAW(r3, s);
    SEND(r3, "AUTH pw\r\n*11\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
             "$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n");
    EXPECT_RAW_REPLY(r3, "+OK");
    EXPECT_RAW_REPLY(r3, "+OK");
    EXPECT_CMD(admin, ":5", "DBSIZE");
}

/* A restricted user inside MULTI: commands and keys are checked when
 * queued, and a refused one aborts the transaction. */
TEST(security_acl_multi)
{
    START(s, NULL);
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "ACL SETUSER lim on >lp ~app:* resetchannels +@all -flushall -config");
    RAW(r, s);
    SEND(r, "AUTH lim lp\r\nMULTI\r\nSET app:1 a\r\nSET other b\r\nFLUSHALL\r\nCONFIG GET dir\r\nEXEC\r\n");
    EXPECT_RAW_REPLY(r, "+OK");
    EXPECT_RAW_REPLY(r, "+OK");
    EXPECT_RAW_REPLY(r, "+QUEUED");
    EXPECT_RAW_REPLY(r, NOPERM_KEYS);
    EXPECT_RAW_REPLY(r, "-NOPERM this user has no permissions to run the 'flushall' command");
    EXPECT_RAW_REPLY(r, "-NOPERM this user has no permissions to run the 'config|get' command");
    EXPECT_RAW_REPLY(r, "-EXECABORT Transaction discarded because of previous errors.");
    EXPECT_CMD(admin, ":0", "DBSIZE");
    /* PUBLISH inside MULTI is checked against the channels too. */
    SEND(r, "MULTI\r\nSET app:2 b\r\nPUBLISH ch m\r\nEXEC\r\n");
    EXPECT_RAW_REPLY(r, "+OK");
    EXPECT_RAW_REPLY(r, "+QUEUED");
    EXPECT_RAW_REPLY(r, NOPERM_CHANNELS);
    EXPECT_RAW_REPLY(r, "-EXECABORT Transaction discarded because of previous errors.");
    SEND(r, "MULTI\r\nSET app:3 c\r\nGET app:3\r\nEXEC\r\n");
    EXPECT_RAW_REPLY(r, "+OK");
    EXPECT_RAW_REPLY(r, "+QUEUED");
    EXPECT_RAW_REPLY(r, "+QUEUED");
    EXPECT_RAW_REPLY(r, "[+OK, \"c\"]");
    EXPECT_CMD(admin, ":1", "DBSIZE");
}

/* Channel permissions on SUBSCRIBE, PSUBSCRIBE and PUBLISH; a subscriber
 * whose channels are revoked is disconnected. */
TEST(security_acl_pubsub)
{
    START(s, NULL);
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "ACL SETUSER lim on >lp ~* resetchannels &news &feed.* +@all");
    RAW(sub, s);
    SEND(sub, "AUTH lim lp\r\nSUBSCRIBE news\r\nSUBSCRIBE other\r\nPSUBSCRIBE feed.*\r\nPSUBSCRIBE *\r\n");
    EXPECT_RAW_REPLY(sub, "+OK");
    EXPECT_RAW_REPLY(sub, "[\"subscribe\", \"news\", :1]");
    EXPECT_RAW_REPLY(sub, NOPERM_CHANNELS);
    EXPECT_RAW_REPLY(sub, "[\"psubscribe\", \"feed.*\", :2]");
    EXPECT_RAW_REPLY(sub, NOPERM_CHANNELS);
    RAW(pub, s);
    SEND(pub, "AUTH lim lp\r\nPUBLISH other x\r\nPUBLISH news hello\r\nPUBLISH feed.a y\r\n");
    EXPECT_RAW_REPLY(pub, "+OK");
    EXPECT_RAW_REPLY(pub, NOPERM_CHANNELS);
    EXPECT_RAW_REPLY(pub, ":1");
    EXPECT_RAW_REPLY(pub, ":1");
    EXPECT_RAW_REPLY(sub, "[\"message\", \"news\", \"hello\"]");
    EXPECT_RAW_REPLY(sub, "[\"pmessage\", \"feed.*\", \"feed.a\", \"y\"]");
    EXPECT_CMD(admin, "[\"news\", :1, \"other\", :0]", "PUBSUB NUMSUB news other");
    /* Revoking the channels closes the subscriber (Redis 7.0), not the
     * publisher, which is subscribed to nothing. */
    EXPECT_CMD(admin, "+OK", "ACL SETUSER lim resetchannels &other");
    EXPECT_CLOSED(sub);
    SEND(pub, "PUBLISH other z\r\n");
    EXPECT_RAW_REPLY(pub, ":0");
    EXPECT_CMD(admin, "[\"news\", :0]", "PUBSUB NUMSUB news");
}

/* Thousands of wrong passwords from several connections, ten per round
 * trip: every one is refused, other clients keep getting answers quickly,
 * the ACL log stays bounded, and the right password works afterwards. */
TEST(security_auth_brute_force)
{
    START(s, "--requirepass", "right", NULL);
    CONNECT(good, s);
    EXPECT_CMD(good, "+OK", "AUTH right");
    EXPECT_CMD(good, "+OK", "SET guarded v");
    enum { CONNS = 4, ROUNDS = 250, BATCH = 10 };
    hraw *bad[CONNS];
    for (int i = 0; i < CONNS; i++) {
        bad[i] = h_raw_open(s);
        CHECK(bad[i]);
    }
    const size_t reply = strlen(WRONGPASS "\r\n");
    long long worst = 0, t0 = h_now_ms();
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < CONNS; i++) {
            char req[BATCH * 32];
            size_t len = 0;
            for (int j = 0; j < BATCH; j++)
                len += (size_t)snprintf(req + len, sizeof req - len, "AUTH guess%d-%d\r\n", round, j);
            CHECKF(h_raw_send(bad[i], req, len), "connection %d closed in round %d", i, round);
        }
        for (int i = 0; i < CONNS; i++) {
            CHECKF(h_raw_fill(bad[i], reply * BATCH, 5000) >= reply * BATCH, "connection %d: round %d unanswered",
                   i, round);
            for (int j = 0; j < BATCH; j++)
                CHECKF(!memcmp(bad[i]->buf + (size_t)j * reply, WRONGPASS "\r\n", reply),
                       "connection %d round %d: not WRONGPASS", i, round);
            CHECK(bad[i]->len == reply * BATCH);
            bad[i]->len = 0;
        }
        if (round % 10 == 0) {
            long long p0 = h_now_ms();
            EXPECT_CMD(good, "+PONG", "PING");
            if (h_now_ms() - p0 > worst)
                worst = h_now_ms() - p0;
        }
    }
    long long took = h_now_ms() - t0;
    CHECKF(worst < 250LL * h_slow(), "a PING took %lld ms during %d wrong AUTHs", worst, CONNS * ROUNDS * BATCH);
    CHECKF(took < 30000LL * h_slow(), "%d wrong AUTHs took %lld ms", CONNS * ROUNDS * BATCH, took);
    /* Identical failures share one ACL LOG entry, with a count. */
    CMD(log, good, "ACL LOG");
    CHECKF(log->type == REDIS_REPLY_ARRAY && log->elements >= 1 && log->elements <= 128,
           "ACL LOG has %zu entries", log->elements);
    long long count = -1;
    redisReply *e = log->element[0];
    for (size_t i = 0; e->type == REDIS_REPLY_ARRAY && i + 1 < e->elements; i += 2)
        if (!strcmp(e->element[i]->str, "count"))
            count = e->element[i + 1]->integer;
    CHECKF(count == CONNS * ROUNDS * BATCH, "the newest ACL LOG entry counts %lld failures, want %d", count,
           CONNS * ROUNDS * BATCH);
    /* No lockout: the right password works at once. */
    RAW(after, s);
    SEND(after, "AUTH right\r\nGET guarded\r\n");
    EXPECT_RAW_REPLY(after, "+OK");
    EXPECT_RAW_REPLY(after, "\"v\"");
}

/* An unauthenticated client may not pile up replies: 250 wrong AUTHs in
 * one write (16,000 bytes of errors) are answered, 300 (19,200) close the
 * connection with the output buffer log line, as redis-server 7.0 does. */
TEST(security_unauthenticated_output_limit)
{
    START(s, "--requirepass", "right", "--logfile", "@/strata.log", NULL);
    const size_t reply = strlen(WRONGPASS "\r\n");
    for (int pass = 0; pass < 2; pass++) {
        int n = pass ? 300 : 250;
        hraw *r = h_raw_open(s);
        CHECK(r);
        char *req = malloc((size_t)n * 16 + 1);
        CHECK(req);
        size_t len = 0;
        for (int j = 0; j < n; j++)
            len += (size_t)sprintf(req + len, "AUTH wrong%04d\r\n", j);
        bool sent = h_raw_send(r, req, len);
        free(req);
        CHECK(sent);
        if (!pass) {
            CHECKF(h_raw_fill(r, reply * (size_t)n, 5000) >= reply * (size_t)n, "%d wrong AUTHs: %zu reply bytes", n,
                   r->len);
            CHECK(h_raw_quiet(r, 100));
        } else {
            size_t got = 0;
            CHECKF(h_raw_wait_closed(r, 5000, &got), "%d wrong AUTHs in one write: still connected", n);
            CHECKF(got < reply * (size_t)n, "all %zu reply bytes came before the close", got);
        }
    }
    FILE *f = fopen(h_path(s, "strata.log"), "r");
    CHECKF(f, "no log file");
    char line[1024];
    int logged = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "scheduled to be closed ASAP for overcoming of output buffer limits"))
            logged++;
    fclose(f);
    CHECKF(logged == 1, "%d output buffer log lines, want 1", logged);
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "AUTH right");
}

/* CONFIG SET of file paths, over a real connection (the rules themselves:
 * tests/unit/test_config.c). */
TEST(security_protected_configs)
{
    START(s, NULL);
    CONNECT(c, s);
    EXPECT_CMD(c, "-ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config",
               "CONFIG SET dir /tmp");
    EXPECT_CMD(c, "-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config",
               "CONFIG SET dbfilename x.rdb");
    static const char *const imm[] = {"logfile", "pidfile", "unixsocket", "appendfilename",
                                      "enable-protected-configs"};
    for (int i = 0; i < 5; i++) {
        char want[200];
        snprintf(want, sizeof want,
                 "-ERR CONFIG SET failed (possibly related to argument '%s') - can't set immutable config", imm[i]);
        EXPECT_CMD(c, want, "CONFIG SET %s /tmp/strata-x", imm[i]);
    }
    EXPECT_CMD(c, "[\"enable-protected-configs\", \"no\"]", "CONFIG GET enable-protected-configs");
    /* local: this loopback client may. */
    START(s2, "--enable-protected-configs", "local", NULL);
    CONNECT(c2, s2);
    EXPECT_CMD(c2, "+OK", "CONFIG SET dbfilename other.rdb");
    EXPECT_CMD(c2, "-ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, "
                   "just a filename", "CONFIG SET dbfilename ../../etc/x.rdb");
    char sub[300];
    snprintf(sub, sizeof sub, "%s/sub", s2->dir);
    CHECK(mkdir(sub, 0700) == 0);
    EXPECT_CMD(c2, "+OK", "CONFIG SET dir %s", sub);
    char want[400];
    snprintf(want, sizeof want, "[\"dir\", \"%s\"]", sub);
    EXPECT_CMD(c2, want, "CONFIG GET dir");
    EXPECT_CMD(c2, "-ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory",
               "CONFIG SET dir /nonexistent/strata");
    EXPECT_CMD(c2, want, "CONFIG GET dir");
}

/* ---- loopback by default ---- */

/* The local addresses (hex, as /proc/net/tcp{,6} print them) of sockets
 * listening on port, space-separated. */
static void listening_on(int port, char *out, size_t cap)
{
    out[0] = '\0';
    const char *files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
    for (int f = 0; f < 2; f++) {
        FILE *fp = fopen(files[f], "r");
        if (!fp)
            continue;
        char line[512];
        while (fgets(line, sizeof line, fp)) {
            char local[64], remote[64];
            unsigned lport, st;
            if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%*x %x", local, &lport, remote, &st) != 4)
                continue;
            if ((int)lport == port && st == 0x0A)
                snprintf(out + strlen(out), cap - strlen(out), "%s ", local);
        }
        fclose(fp);
    }
}

TEST(security_bind_loopback_by_default)
{
    if (h_is_ref()) {
        /* DIFFERS: redis-server without a config file binds "* -::*";
         * strata's default (and conf/strata.conf) is "127.0.0.1 -::1". */
        h_skip("redis-server's built-in default bind is * -::*");
        return;
    }
    /* Start the server without --bind (the harness always passes one). */
    START(probe, NULL);
    CHECK(h_stop(probe));
    const char *bin = getenv("STRATA_SERVER");
    char path[300], abs[4096];
    if (!bin || !*bin) {
        snprintf(path, sizeof path, "%s/strata-server", getenv("BUILD") ? getenv("BUILD") : "build");
        bin = path;
    }
    CHECKF(realpath(bin, abs), "no server binary at %s", bin);
    bin = abs;   /* the child changes directory first */
    int port = probe->port;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        if (chdir(probe->dir) != 0)
            _exit(126);
        execl(bin, bin, "--port", portstr, "--save", "", "--appendonly", "no", (char *)NULL);
        _exit(127);
    }
    CHECK(pid > 0);
    char addrs[1024] = "";
    bool up = WAIT_FOR((listening_on(port, addrs, sizeof addrs), addrs[0] != '\0'), 10000);
    /* Give a second listener (IPv6) its moment too. */
    h_sleep_ms(200);
    listening_on(port, addrs, sizeof addrs);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECKF(up, "the server did not listen on port %d", port);
    /* 127.0.0.1 and ::1 only: nothing on 0.0.0.0, ::, or an outside address. */
    char *save = NULL;
    int n = 0;
    for (char *a = strtok_r(addrs, " ", &save); a; a = strtok_r(NULL, " ", &save), n++)
        CHECKF(!strcmp(a, "0100007F") || !strcmp(a, "00000000000000000000000001000000"),
               "listening on %s (hex, /proc/net/tcp order) besides loopback", a);
    CHECK(n >= 1);
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d after SIGTERM", status);
}
