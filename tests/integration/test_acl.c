/* test_acl.c: ACLs over real sockets: users and passwords, on/off, command
 * and category rules, %R~/%W~ key patterns, AUTH and HELLO AUTH, pipelines
 * after a failed AUTH, ACL LOG, CLIENT LIST/KILL by user, disconnection of
 * a deleted user's clients, rule changes seen by clients on both reactor
 * threads (every server here runs --io-threads 2), and protected mode over
 * a non-loopback address of this machine. Expectations are redis-server
 * 7.0.15's (REF=1 runs them against it). */
#include "harness.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NOPERM_KEYS "-NOPERM this user has no permissions to access one of the keys used as arguments"
#define WRONGPASS "-WRONGPASS invalid username-password pair or user is disabled."
#define SECRET_SHA "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b"

TEST(acl_users_passwords_on_off)
{
    START(s, NULL);
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "ACL SETUSER app on >secret ~app:* +@all");
    EXPECT_CMD(admin, "[\"flags\", [\"on\"], \"passwords\", [\"" SECRET_SHA "\"], \"commands\", \"+@all\", "
               "\"keys\", \"~app:*\", \"channels\", \"\", \"selectors\", []]", "ACL GETUSER app");
    CONNECT(u, s);
    EXPECT_CMD(u, WRONGPASS, "AUTH app wrong");
    EXPECT_CMD(u, "\"default\"", "ACL WHOAMI");
    EXPECT_CMD(u, "+OK", "AUTH app secret");
    EXPECT_CMD(u, "\"app\"", "ACL WHOAMI");
    EXPECT_CMD(u, "+OK", "SET app:1 v");
    EXPECT_CMD(u, NOPERM_KEYS, "SET other v");
    /* off: no new logins, but a connection already authenticated goes on. */
    EXPECT_CMD(admin, "+OK", "ACL SETUSER app off");
    EXPECT_CMD(u, "\"v\"", "GET app:1");
    CONNECT(u2, s);
    EXPECT_CMD(u2, WRONGPASS, "AUTH app secret");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER app on >second");
    EXPECT_CMD(u2, "+OK", "AUTH app second");
    EXPECT_CMD(u2, "+OK", "AUTH app secret");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER app <secret");
    EXPECT_CMD(u2, WRONGPASS, "AUTH app secret");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER app #" SECRET_SHA);
    EXPECT_CMD(u2, "+OK", "AUTH app secret");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER app nopass");
    EXPECT_CMD(u2, "+OK", "AUTH app anything");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER app resetpass");
    EXPECT_CMD(u2, WRONGPASS, "AUTH app anything");
    EXPECT_CMD(u2, WRONGPASS, "AUTH app %s", "");
    /* A failed AUTH keeps the user the connection had. */
    EXPECT_CMD(u2, "\"app\"", "ACL WHOAMI");
    /* Users are listed in byte order of their names. */
    EXPECT_CMD(admin, "[\"app\", \"default\"]", "ACL USERS");
    EXPECT_CMD(admin, "-ERR The 'default' user cannot be removed", "ACL DELUSER app default");
    EXPECT_CMD(admin, "[\"app\", \"default\"]", "ACL USERS");
}

TEST(acl_commands_and_categories)
{
    START(s, NULL);
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "ACL SETUSER ro on nopass ~* -@all +@read +ping");
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "AUTH ro x");
    EXPECT_CMD(c, "(nil)", "GET k");
    EXPECT_CMD(c, "+PONG", "PING");
    EXPECT_CMD(c, "-NOPERM this user has no permissions to run the 'set' command", "SET k v");
    EXPECT_CMD(c, "-NOPERM this user has no permissions to run the 'config|get' command", "CONFIG GET hz");
    /* Unknown commands and arity errors come before permissions. */
    EXPECT_CMD(c, "-ERR unknown command 'NOSUCH', with args beginning with: ", "NOSUCH");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'set' command", "SET k");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER ro +config|get +select|0 +client -client|kill");
    EXPECT_CMD(c, "[\"hz\", \"10\"]", "CONFIG GET hz");
    EXPECT_CMD(c, "-NOPERM this user has no permissions to run the 'config|set' command", "CONFIG SET hz 10");
    EXPECT_CMD(c, "+OK", "SELECT 0");
    EXPECT_CMD(c, "+OK", "select 0");
    EXPECT_CMD(c, "-NOPERM this user has no permissions to run the 'select' command", "SELECT 1");
    EXPECT_CMD(c, "glob::*", "CLIENT ID");
    EXPECT_CMD(c, "-NOPERM this user has no permissions to run the 'client|kill' command", "CLIENT KILL ID 1");
    /* Categories: +@write and -@dangerous, then single commands back. */
    EXPECT_CMD(admin, "+OK", "ACL SETUSER ro +@all -@dangerous");
    EXPECT_CMD(c, "+OK", "SET k v");
    EXPECT_CMD(c, "-NOPERM this user has no permissions to run the 'flushall' command", "FLUSHALL");
    EXPECT_CMD(c, "-NOPERM this user has no permissions to run the 'keys' command", "KEYS *");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER ro +keys");
    EXPECT_CMD(c, "[\"k\"]", "KEYS *");
    /* Redis describes the bitmap, not the rules as typed: -@admin plus the
     * dangerous commands that are not admin commands (Redis's own table
     * names a few more of those than strata serves). */
    EXPECT_CMD(admin, "glob:[\"user default on nopass ~* &* +@all\", \"user ro on nopass ~* resetchannels +@all "
               "-@admin -*\"]", "ACL LIST");
    /* (in Redis's dict order, so one command at a time) */
    static const char *const dangerous[] = {"-flushdb", "-flushall", "-swapdb", "-info"};
    for (int i = 0; i < 4; i++) {
        char pat[64];
        snprintf(pat, sizeof(pat), "glob:*\"user ro *%s*", dangerous[i]);
        EXPECT_CMD(admin, pat, "ACL LIST");
    }
    EXPECT_CMD(admin, "glob:*\"user ro *", "ACL LIST");
    /* AUTH and HELLO are never denied (no_auth commands). */
    EXPECT_CMD(admin, "+OK", "ACL SETUSER ro nocommands");
    EXPECT_CMD(c, "-NOPERM this user has no permissions to run the 'ping' command", "PING");
    EXPECT_CMD(c, "+OK", "AUTH ro x");
    EXPECT_CMD(c, "glob:[\"server\", *]", "HELLO 2");
    EXPECT_CMD(c, "+OK", "AUTH default x");
    EXPECT_CMD(c, "+PONG", "PING");
}

TEST(acl_key_patterns_read_write)
{
    START(s, NULL);
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "MSET r:1 a w:1 b rw:1 c");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER kp on nopass +@all %s %s %s", "%R~r:*", "%W~w:*", "~rw:*");
    EXPECT_CMD(admin, "[\"flags\", [\"on\", \"nopass\"], \"passwords\", [], \"commands\", \"+@all\", "
               "\"keys\", \"%R~r:* %W~w:* ~rw:*\", \"channels\", \"\", \"selectors\", []]", "ACL GETUSER kp");
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "AUTH kp x");
    EXPECT_CMD(c, "\"a\"", "GET r:1");
    EXPECT_CMD(c, NOPERM_KEYS, "SET r:1 x");
    EXPECT_CMD(c, NOPERM_KEYS, "GET w:1");
    EXPECT_CMD(c, "+OK", "SET w:1 x");
    /* SET ... GET reads the key too. */
    EXPECT_CMD(c, NOPERM_KEYS, "SET w:1 y GET");
    EXPECT_CMD(c, "\"c\"", "SET rw:1 d GET");
    /* COPY reads its source and writes its destination. */
    EXPECT_CMD(c, ":1", "COPY r:1 w:2");
    EXPECT_CMD(c, NOPERM_KEYS, "COPY w:1 r:2");
    EXPECT_CMD(c, "[\"a\", \"d\"]", "MGET r:1 rw:1");
    EXPECT_CMD(c, NOPERM_KEYS, "MGET r:1 w:1");
    /* EXISTS neither reads nor writes the value: any pattern will do. */
    EXPECT_CMD(c, ":2", "EXISTS r:1 w:1");
    EXPECT_CMD(c, NOPERM_KEYS, "EXISTS other");
    EXPECT_CMD(c, NOPERM_KEYS, "DEL r:1");
    EXPECT_CMD(c, ":1", "DEL w:2");
    EXPECT_CMD(c, "+OK", "RENAME rw:1 w:3");
    EXPECT_CMD(c, NOPERM_KEYS, "RENAME w:3 rw:1");
    EXPECT_CMD(c, ":1", "INCR rw:n");
    EXPECT_CMD(c, NOPERM_KEYS, "INCR w:n");
    /* Commands without key arguments are not affected. */
    EXPECT_CMD(c, ":4", "DBSIZE");
    EXPECT_CMD(admin, "+OK", "ACL DRYRUN kp copy r:1 w:9");
    EXPECT_CMD(admin, "\"This user has no permissions to access the 'w:1' key\"", "ACL DRYRUN kp copy w:1 r:9");
    EXPECT_CMD(admin, "\"This user has no permissions to access the 'r:9' key\"", "ACL DRYRUN kp copy r:1 r:9");
}

TEST(acl_auth_hello_paths)
{
    START(s, NULL);
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "ACL SETUSER h on >pw ~* +@all");
    RAW(r, s);
    SEND(r, "HELLO 3 AUTH h wrong\r\n");
    EXPECT_RAW_REPLY(r, WRONGPASS);
    SEND(r, "HELLO 3 AUTH h pw SETNAME conn1\r\n");
    EXPECT_RAW_REPLY(r, "glob:{\"server\": \"redis\", *, \"proto\": :3, *}");
    SEND(r, "ACL WHOAMI\r\nCLIENT GETNAME\r\n");
    EXPECT_RAW_REPLY(r, "\"h\"");
    EXPECT_RAW_REPLY(r, "\"conn1\"");
    /* Redis 7.0 authenticates when it meets AUTH, so a syntax error after
     * it leaves the connection authenticated as the new user. */
    SEND(r, "HELLO 2 AUTH default x BOGUS\r\nACL WHOAMI\r\nHELLO 2 AUTH h nope\r\nACL WHOAMI\r\n");
    EXPECT_RAW_REPLY(r, "-ERR Syntax error in HELLO option 'BOGUS'");
    EXPECT_RAW_REPLY(r, "\"default\"");
    EXPECT_RAW_REPLY(r, WRONGPASS);
    EXPECT_RAW_REPLY(r, "\"default\"");
    SEND(r, "AUTH h pw\r\n");
    EXPECT_RAW_REPLY(r, "+OK");
    /* RESET goes back to the default user. */
    SEND(r, "RESET\r\nACL WHOAMI\r\n");
    EXPECT_RAW_REPLY(r, "+RESET");
    EXPECT_RAW_REPLY(r, "\"default\"");
    EXPECT_CMD(admin, "-ERR AUTH <password> called without any password configured for the default user. "
               "Are you sure your configuration is correct?", "AUTH pw");
    /* requirepass is the default user's password, at runtime too. */
    EXPECT_CMD(admin, "+OK", "CONFIG SET requirepass sesame");
    EXPECT_CMD(admin, "glob:*\"user default on #* ~* &* +@all\"*", "ACL LIST");
    CONNECT(n, s);
    EXPECT_CMD(n, "-NOAUTH Authentication required.", "PING");
    EXPECT_CMD(n, WRONGPASS, "AUTH wrong");
    EXPECT_CMD(n, "+OK", "AUTH sesame");
    EXPECT_CMD(n, "\"default\"", "ACL WHOAMI");
    CONNECT(n2, s);
    EXPECT_CMD(n2, "+OK", "AUTH h pw");
    EXPECT_CMD(n2, "+PONG", "PING");
    /* RESET deauthenticates now that the default user has a password. */
    EXPECT_CMD(n2, "+RESET", "RESET");
    EXPECT_CMD(n2, "-NOAUTH Authentication required.", "PING");
    EXPECT_CMD(admin, "+OK", "CONFIG SET requirepass %s", "");
    EXPECT_CMD(n2, "+PONG", "PING");
    EXPECT_CMD(admin, "glob:*\"user default on nopass ~* &* +@all\"*", "ACL LIST");
}

TEST(acl_pipeline_after_failed_auth)
{
    START(s, "--requirepass", "pw", NULL);
    RAW(r, s);
    SEND(r, "AUTH wrong\r\nGET k\r\nSET k v\r\nAUTH pw\r\nSET k v\r\nGET k\r\n");
    EXPECT_RAW_BYTES(r, WRONGPASS "\r\n-NOAUTH Authentication required.\r\n-NOAUTH Authentication required.\r\n"
                        "+OK\r\n+OK\r\n$1\r\nv\r\n");
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "AUTH pw");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER lim on >lp ~k* -@all +get +auth");
    /* Switching to a restricted user inside one batch: the next command
     * is already checked against that user. */
    RAW(r2, s);
    SEND(r2, "AUTH lim bad\r\nGET k\r\nAUTH lim lp\r\nSET k x\r\nGET k\r\nGET other\r\nAUTH pw\r\nSET k y\r\n");
    EXPECT_RAW_BYTES(r2, WRONGPASS "\r\n-NOAUTH Authentication required.\r\n+OK\r\n"
                         "-NOPERM this user has no permissions to run the 'set' command\r\n$1\r\nv\r\n"
                         NOPERM_KEYS "\r\n+OK\r\n+OK\r\n");
}

TEST(acl_log_entries)
{
    START(s, NULL);
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "ACL SETUSER lg on nopass ~k* -@all +get");
    CONNECT(c, s);
    EXPECT_CMD(c, "+OK", "AUTH lg x");
    EXPECT_CMD(c, "-NOPERM this user has no permissions to run the 'set' command", "SET k v");
    EXPECT_CMD(c, NOPERM_KEYS, "GET other");
    EXPECT_CMD(c, NOPERM_KEYS, "GET other");
    EXPECT_CMD(c, WRONGPASS, "AUTH nosuch pw");
    EXPECT_CMD(admin, "glob:[[\"count\", :1, \"reason\", \"auth\", \"context\", \"toplevel\", \"object\", \"AUTH\", "
               "\"username\", \"nosuch\", \"age-seconds\", \"*\", \"client-info\", \"id=* cmd=auth user=lg *\"], "
               "[\"count\", :2, \"reason\", \"key\", \"context\", \"toplevel\", \"object\", \"other\", "
               "\"username\", \"lg\", \"age-seconds\", \"*\", \"client-info\", \"* cmd=get user=lg *\"], "
               "[\"count\", :1, \"reason\", \"command\", \"context\", \"toplevel\", \"object\", \"set\", "
               "\"username\", \"lg\", \"age-seconds\", \"*\", \"client-info\", \"* cmd=set user=lg *\"]]",
               "ACL LOG");
    EXPECT_CMD(admin, "glob:[[\"count\", :1, \"reason\", \"auth\", *]]", "ACL LOG 1");
    EXPECT_CMD(admin, "+OK", "ACL LOG RESET");
    EXPECT_CMD(admin, "[]", "ACL LOG");
}

TEST(acl_client_list_and_kill_by_user)
{
    START(s, NULL);
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "ACL SETUSER cl on nopass +@all ~*");
    CONNECT(a, s);
    CONNECT(b, s);
    EXPECT_CMD(a, "+OK", "AUTH cl x");
    EXPECT_CMD(b, "+OK", "AUTH cl x");
    EXPECT_CMD(a, "glob:*user=cl *", "CLIENT INFO");
    EXPECT_CMD(admin, "glob:*user=default *user=cl *user=cl *", "CLIENT LIST");
    EXPECT_CMD(admin, "-ERR No such user 'nosuch'", "CLIENT KILL USER nosuch");
    EXPECT_CMD(admin, ":2", "CLIENT KILL USER cl");
    EXPECT_CMD(admin, ":0", "CLIENT KILL USER cl");
}

/* A deleted user's connections are closed, on both reactor threads; the
 * connection that deletes its own user gets the reply first. */
TEST(acl_deluser_disconnects_clients)
{
    START(s, NULL);
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "ACL SETUSER gone on nopass +@all ~*");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER stays on nopass +@all ~*");
    hraw *r[4];
    for (int i = 0; i < 4; i++) {
        r[i] = h_raw_open(s);
        CHECK_OK();
        SEND(r[i], i == 3 ? "AUTH stays x\r\n" : "AUTH gone x\r\n");
        EXPECT_RAW_REPLY(r[i], "+OK");
    }
    EXPECT_CMD(admin, ":1", "ACL DELUSER gone nosuch");
    for (int i = 0; i < 3; i++) EXPECT_CLOSED(r[i]);
    SEND(r[3], "ACL WHOAMI\r\n");
    EXPECT_RAW_REPLY(r[3], "\"stays\"");
    RAW(self, s);
    SEND(self, "AUTH stays x\r\nACL DELUSER stays\r\nPING\r\n");
    EXPECT_RAW_BYTES(self, "+OK\r\n:1\r\n");
    EXPECT_CLOSED(self);
    EXPECT_CLOSED(r[3]);
    EXPECT_CMD(admin, "[\"default\"]", "ACL USERS");
    /* A recreated user with the same name is a new user. */
    EXPECT_CMD(admin, "+OK", "ACL SETUSER gone on nopass +@all ~*");
    RAW(again, s);
    SEND(again, "AUTH gone x\r\nPING\r\n");
    EXPECT_RAW_BYTES(again, "+OK\r\n+PONG\r\n");
}

/* Rules changed on one connection apply at once to the user's connections
 * on every reactor thread. */
TEST(acl_setuser_reaches_both_threads)
{
    START(s, NULL);
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "SET k v");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER t on nopass ~* +@all");
    redisContext *c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = h_connect(s);
        CHECK_OK();
        EXPECT_CMD(c[i], "+OK", "AUTH t x");
        EXPECT_CMD(c[i], "\"v\"", "GET k");
    }
    EXPECT_CMD(admin, "+OK", "ACL SETUSER t -get");
    for (int i = 0; i < 4; i++) {
        EXPECT_CMD(c[i], "-NOPERM this user has no permissions to run the 'get' command", "GET k");
        EXPECT_CMD(c[i], ":1", "EXISTS k");
    }
    EXPECT_CMD(admin, "+OK", "ACL SETUSER t +get resetkeys ~x*");
    for (int i = 0; i < 4; i++) {
        EXPECT_CMD(c[i], NOPERM_KEYS, "GET k");
        EXPECT_CMD(c[i], "(nil)", "GET x1");
    }
    /* The default user is a user like the others. */
    EXPECT_CMD(admin, "+OK", "ACL SETUSER default -flushall");
    EXPECT_CMD(admin, "-NOPERM this user has no permissions to run the 'flushall' command", "FLUSHALL");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER default +@all");
    EXPECT_CMD(admin, "+OK", "FLUSHALL");
}

typedef struct churn_arg {
    int port;
    _Atomic int stop;
    long rounds;
} churn_arg;

/* Another client thread rewrites and deletes users as fast as it can. */
static void *churn(void *p) {
    churn_arg *a = p;
    redisContext *c = redisConnect("127.0.0.1", a->port);
    if (!c || c->err) return NULL;
    while (!atomic_load(&a->stop)) {
        redisReply *r = redisCommand(c, "ACL SETUSER t %s", (a->rounds & 1) ? "-get" : "+get");
        if (!r) break;
        freeReplyObject(r);
        r = redisCommand(c, "ACL SETUSER tmp%ld on nopass +@all ~*", a->rounds % 4);
        if (r) freeReplyObject(r);
        r = redisCommand(c, "ACL DELUSER tmp%ld", (a->rounds + 2) % 4);
        if (r) freeReplyObject(r);
        a->rounds++;
    }
    redisFree(c);
    return NULL;
}

TEST(acl_concurrent_changes_two_threads)
{
    START(s, NULL);
    CONNECT(admin, s);
    EXPECT_CMD(admin, "+OK", "SET k v");
    EXPECT_CMD(admin, "+OK", "ACL SETUSER t on nopass ~* +@all");
    redisContext *c[2];
    for (int i = 0; i < 2; i++) {
        c[i] = h_connect(s);
        CHECK_OK();
        EXPECT_CMD(c[i], "+OK", "AUTH t x");
    }
    churn_arg a = {.port = s->port};
    pthread_t th;
    pthread_create(&th, NULL, churn, &a);
    long ok = 0, denied = 0;
    bool bad = false;
    char got[256] = "";
    for (int n = 0; n < 4000 && !bad; n++) {
        redisReply *r = redisCommand(c[n & 1], "GET k");
        if (!r) {
            bad = true;
            snprintf(got, sizeof(got), "I/O error");
            break;
        }
        if (r->type == REDIS_REPLY_STRING && !strcmp(r->str, "v")) ok++;
        else if (r->type == REDIS_REPLY_ERROR &&
                 !strcmp(r->str, "NOPERM this user has no permissions to run the 'get' command"))
            denied++;
        else {
            bad = true;
            h_render(r, got, sizeof(got));
        }
        freeReplyObject(r);
    }
    atomic_store(&a.stop, 1);
    pthread_join(th, NULL);
    CHECKF(!bad, "GET k under concurrent ACL SETUSER answered %s", got);
    CHECKF(a.rounds > 10, "the churn thread ran only %ld rounds", a.rounds);
    CHECKF(ok > 0 && (denied > 0 || a.rounds < 50), "ok=%ld denied=%ld rounds=%ld", ok, denied, a.rounds);
    EXPECT_CMD(c[0], "glob:*", "ACL SETUSER t +get");
    EXPECT_CMD(c[1], "\"v\"", "GET k");
}

/* A non-loopback IPv4 address of this machine, or false. */
static bool local_address(char *out, size_t len) {
    struct ifaddrs *ifs, *i;
    if (getifaddrs(&ifs) != 0) return false;
    bool found = false;
    for (i = ifs; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
        struct sockaddr_in *sa = (struct sockaddr_in *)i->ifa_addr;
        if ((ntohl(sa->sin_addr.s_addr) >> 24) == 127) continue;
        inet_ntop(AF_INET, &sa->sin_addr, out, (socklen_t)len);
        found = true;
    }
    freeifaddrs(ifs);
    return found;
}

/* Connect to addr:port, send req (if any), read until the peer closes or
 * 500 ms of silence; returns the bytes and whether it closed. */
static bool talk(const char *addr, int port, const char *req, char *out, size_t cap, bool *closed) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, addr, &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0) close(fd);
        return false;
    }
    if (req && write(fd, req, strlen(req)) < 0) {
        close(fd);
        return false;
    }
    size_t n = 0;
    *closed = false;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 500 * h_slow()) <= 0) break;
        ssize_t r = read(fd, out + n, cap - 1 - n);
        if (r <= 0) {
            *closed = true;
            break;
        }
        n += (size_t)r;
        if (n >= cap - 1) break;
    }
    out[n] = '\0';
    close(fd);
    return true;
}

TEST(acl_protected_mode_non_loopback)
{
    char addr[64];
    if (!local_address(addr, sizeof(addr))) {
        /* tests/unit/test_acl.c covers the decision itself. */
        h_skip("no non-loopback IPv4 address on this machine");
        return;
    }
    START(s, "--bind", "127.0.0.1", addr, NULL);
    char buf[4096];
    bool closed;
    CHECKF(talk(addr, s->port, "PING\r\n", buf, sizeof(buf), &closed), "cannot connect to %s", addr);
    CHECKF(closed && !strncmp(buf, "-DENIED Redis is running in protected mode because protected mode is enabled "
                              "and no password is set for the default user. In this mode connections are only "
                              "accepted from the loopback interface.", 160) &&
           strstr(buf, "NOTE: You only need to do one of the above things in order for the server to start "
                       "accepting connections from the outside.\r\n") && !strstr(buf, "PONG"),
           "from %s: closed=%d, got %.200s", addr, closed, buf);
    CONNECT(local, s);
    EXPECT_CMD(local, "+PONG", "PING");
    EXPECT_CMD(local, "glob:*rejected_connections:1*", "INFO stats");
    /* A password on the default user lifts it... */
    EXPECT_CMD(local, "+OK", "ACL SETUSER default resetpass >pw");
    CHECK(talk(addr, s->port, "PING\r\nAUTH pw\r\nPING\r\n", buf, sizeof(buf), &closed));
    CHECKF(!closed && !strcmp(buf, "-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n"), "got %s", buf);
    EXPECT_CMD(local, "+OK", "ACL SETUSER default nopass");
    CHECK(talk(addr, s->port, "PING\r\n", buf, sizeof(buf), &closed));
    CHECKF(closed && !strncmp(buf, "-DENIED", 7), "got %.100s", buf);
    /* ...and so does protected-mode no. */
    EXPECT_CMD(local, "+OK", "CONFIG SET protected-mode no");
    CHECK(talk(addr, s->port, "PING\r\n", buf, sizeof(buf), &closed));
    CHECKF(!closed && !strcmp(buf, "+PONG\r\n"), "got %s", buf);
}
