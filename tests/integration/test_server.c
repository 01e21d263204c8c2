/* test_server.c: connection and server commands: PING ECHO HELLO AUTH
 * (with and without requirepass) RESET TIME INFO CONFIG GET/SET/RESETSTAT
 * CLIENT (ID SETNAME GETNAME LIST INFO KILL REPLY NO-EVICT) COMMAND (COUNT
 * INFO DOCS LIST GETKEYS) and SHUTDOWN, with Redis 7.0.15's exact replies. */
#include "harness.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

TEST(server_ping_echo)
{
    FRESH(c);
    EXPECT_CMD(c, "+PONG", "PING");
    EXPECT_CMD(c, "\"hello world\"", "PING %s", "hello world");
    EXPECT_CMD(c, "\"\"", "PING %s", "");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'ping' command", "PING a b");
    EXPECT_CMD(c, "\"x y\"", "ECHO %s", "x y");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'echo' command", "ECHO");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'echo' command", "ECHO a b");
}

TEST(server_hello_without_password)
{
    FRESH(c);
    EXPECT_CMD(c, "glob:[\"server\", \"*\", \"version\", \"*\", \"proto\", :2, \"id\", :*, "
               "\"mode\", \"standalone\", \"role\", \"master\", \"modules\", []]", "HELLO");
    EXPECT_CMD(c, "glob:[\"server\", *, \"proto\", :2, *]", "HELLO 2 SETNAME conn1");
    EXPECT_CMD(c, "\"conn1\"", "CLIENT GETNAME");
    /* The default user has no password: any password is accepted with a
     * user name, and the one-argument form is refused. */
    EXPECT_CMD(c, "glob:[\"server\", *]", "HELLO 2 AUTH default whatever");
    EXPECT_CMD(c, "+OK", "AUTH default whatever");
    EXPECT_CMD(c, "-ERR AUTH <password> called without any password configured for the "
               "default user. Are you sure your configuration is correct?", "AUTH x");
    EXPECT_CMD(c, "-WRONGPASS invalid username-password pair or user is disabled.", "AUTH a b");
    EXPECT_CMD(c, "-ERR syntax error", "AUTH a b c");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'auth' command", "AUTH");
    EXPECT_CMD(c, "-NOPROTO unsupported protocol version", "HELLO 4");
    EXPECT_CMD(c, "-NOPROTO unsupported protocol version", "HELLO 1");
    EXPECT_CMD(c, "-ERR Protocol version is not an integer or out of range", "HELLO foo");
    EXPECT_CMD(c, "-ERR Client names cannot contain spaces, newlines or special characters.",
               "HELLO 2 SETNAME %s", "a b");
    EXPECT_CMD(c, "-ERR Syntax error in HELLO option 'foo'", "HELLO 2 foo");
    EXPECT_CMD(c, "\"conn1\"", "CLIENT GETNAME");
}

TEST(server_auth_requirepass)
{
    START(s, "--requirepass", "pw", NULL);
    RAW(r, s);
    /* Before AUTH everything but AUTH/HELLO/QUIT is refused. */
    SEND(r, "PING\r\nGET k\r\nCLIENT ID\r\nCOMMAND COUNT\r\n");
    EXPECT_RAW_BYTES(r, "-NOAUTH Authentication required.\r\n"
                        "-NOAUTH Authentication required.\r\n"
                        "-NOAUTH Authentication required.\r\n"
                        "-NOAUTH Authentication required.\r\n");
    SEND(r, "HELLO 3\r\n");
    EXPECT_RAW_BYTES(r, "-NOAUTH HELLO must be called with the client already authenticated, "
                        "otherwise the HELLO AUTH <user> <pass> option can be used to "
                        "authenticate the client and select the RESP protocol version at the "
                        "same time\r\n");
    SEND(r, "AUTH x\r\nAUTH default x\r\nHELLO 3 AUTH default x\r\n");
    EXPECT_RAW_BYTES(r, "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
                        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
                        "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
    SEND(r, "AUTH pw\r\nSET k v\r\nGET k\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n+OK\r\n$1\r\nv\r\n");
    /* RESET deauthenticates when a password is required. */
    SEND(r, "CLIENT SETNAME x\r\nSELECT 2\r\nRESET\r\nGET k\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n+OK\r\n+RESET\r\n-NOAUTH Authentication required.\r\n");
    SEND(r, "AUTH default pw\r\nCLIENT GETNAME\r\nGET k\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n$-1\r\n$1\r\nv\r\n");

    RAW(r3, s);
    SEND(r3, "HELLO 3 AUTH default pw\r\n");
    EXPECT_RAW_REPLY(r3, "glob:{\"server\": *, \"proto\": :3, *}");
    SEND(r3, "GET nokey\r\n");
    EXPECT_RAW_BYTES(r3, "_\r\n");

    /* Unauthenticated clients get small protocol limits: more than 10
     * arguments or a bulk over 16k closes the connection. */
    RAW(u1, s);
    SEND(u1, "*11\r\n");
    EXPECT_RAW_BYTES(u1, "-ERR Protocol error: unauthenticated multibulk length\r\n");
    EXPECT_CLOSED(u1);
    RAW(u2, s);
    SEND(u2, "*1\r\n$16385\r\n");
    EXPECT_RAW_BYTES(u2, "-ERR Protocol error: unauthenticated bulk length\r\n");
    EXPECT_CLOSED(u2);
    RAW(u3, s);
    SEND(u3, "*10\r\n$16384\r\n");
    CHECKF(h_raw_quiet(u3, 200), "*10 / $16384 before AUTH was refused");
    RAW(u4, s);
    SEND(u4, "AUTH pw\r\n*20\r\n");
    EXPECT_RAW_BYTES(u4, "+OK\r\n");
    CHECKF(h_raw_quiet(u4, 200), "*20 after AUTH was refused");

    RAW(q, s);
    SEND(q, "QUIT\r\n");
    EXPECT_RAW_BYTES(q, "+OK\r\n");
    EXPECT_CLOSED(q);

    /* hiredis view, and CONFIG SET requirepass takes effect for new
     * connections. */
    CONNECT(c, s);
    EXPECT_CMD(c, "-NOAUTH Authentication required.", "PING");
    EXPECT_CMD(c, "+OK", "AUTH pw");
    EXPECT_CMD(c, "+OK", "CONFIG SET requirepass pw2");
    EXPECT_CMD(c, "+PONG", "PING");
    CONNECT(c2, s);
    EXPECT_CMD(c2, "-WRONGPASS invalid username-password pair or user is disabled.", "AUTH pw");
    EXPECT_CMD(c2, "+OK", "AUTH pw2");
}

TEST(server_reset)
{
    FRESH(c);
    RAW(r, h_shared());
    SEND(r, "HELLO 3\r\n");
    EXPECT_RAW_REPLY(r, "glob:{*}");
    SEND(r, "CLIENT SETNAME n1\r\nSELECT 2\r\nSET k2 v\r\nRESET\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n+OK\r\n+OK\r\n+RESET\r\n");
    /* Back to db 0, no name, RESP2. */
    SEND(r, "GET k2\r\nCLIENT GETNAME\r\n");
    EXPECT_RAW_BYTES(r, "$-1\r\n$-1\r\n");
    SEND(r, "CLIENT REPLY OFF\r\nRESET\r\nPING\r\n");
    EXPECT_RAW_BYTES(r, "+RESET\r\n+PONG\r\n");
    SEND(r, "RESET x\r\n");
    EXPECT_RAW_BYTES(r, "-ERR wrong number of arguments for 'reset' command\r\n");
}

TEST(server_time)
{
    FRESH(c);
    long long before = h_now_ms();
    CMD(r, c, "TIME");
    long long after = h_now_ms();
    CHECKF(r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
           r->element[0]->type == REDIS_REPLY_STRING &&
           r->element[1]->type == REDIS_REPLY_STRING, "TIME: not an array of two bulks");
    long long sec = atoll(r->element[0]->str), usec = atoll(r->element[1]->str);
    CHECKF(usec >= 0 && usec < 1000000, "TIME microseconds %lld", usec);
    long long ms = sec * 1000 + usec / 1000;
    CHECKF(ms >= before - 5 && ms <= after + 5, "TIME %lld ms outside [%lld, %lld]",
           ms, before, after);
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'time' command", "TIME x");
}

TEST(server_info)
{
    FRESH(c);
    hserver *s = h_shared();
    const char *all = h_info(c, NULL);
    CHECK(all);
    const char *sections[] = { "# Server\r\n", "# Clients\r\n", "# Memory\r\n",
                               "# Persistence\r\n", "# Stats\r\n", "# Replication\r\n",
                               "# CPU\r\n", "# Keyspace\r\n" };
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        CHECKF(strstr(all, sections[i]), "INFO lacks section %.*s", (int)strlen(sections[i]) - 2,
               sections[i]);
    CHECKF(strncmp(all, "# Server\r\n", 10) == 0, "INFO does not start with # Server");
    /* Lines are CRLF-terminated "field:value" or "# Section" or empty. */
    char v[256];
    struct { const char *field, *pattern; } fields[] = {
        { "redis_version", "7.0.15" },
        { "redis_mode", "standalone" },
        { "arch_bits", "64" },
        { "uptime_in_seconds", "glob:*" },
        { "connected_clients", "glob:*" },
        { "used_memory", "glob:*" },
        { "total_connections_received", "glob:*" },
        { "total_commands_processed", "glob:*" },
        { "instantaneous_ops_per_sec", "glob:*" },
        { "keyspace_hits", "glob:*" },
        { "keyspace_misses", "glob:*" },
        { "expired_keys", "glob:*" },
        { "evicted_keys", "glob:*" },
        { "rejected_connections", "glob:*" },
        { "role", "master" },
        { "connected_slaves", "0" },
        { "used_cpu_sys", "glob:*" },
        { "used_cpu_user", "glob:*" },
        { "maxmemory", "0" },
        { "maxmemory_policy", "noeviction" },
        { "aof_enabled", "0" },
        { "loading", "0" },
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        CHECKF(h_info_field(all, fields[i].field, v, sizeof v), "INFO lacks %s", fields[i].field);
        CHECKF(h_match(fields[i].pattern, v), "INFO %s:%s, want %s", fields[i].field, v,
               fields[i].pattern);
    }
    CHECKF(h_info_field(all, "process_id", v, sizeof v) && atoi(v) == (int)s->pid,
           "INFO process_id:%s, want %d", v, (int)s->pid);
    CHECKF(h_info_field(all, "tcp_port", v, sizeof v) && atoi(v) == s->port,
           "INFO tcp_port:%s, want %d", v, s->port);
    CHECKF(h_info_field(all, "run_id", v, sizeof v) && strlen(v) == 40 &&
           strspn(v, "0123456789abcdef") == 40, "INFO run_id:%s", v);
    /* DIFFERS: strata adds strata_version to INFO server (Redis has no
     * such field); redis_version stays "7.0.15" for clients that gate
     * features on it. */
    if (!h_is_ref())
        CHECKF(h_info_field(all, "strata_version", v, sizeof v) && *v,
               "INFO lacks strata_version");
    for (const char *p = all; *p; ) {
        const char *nl = strstr(p, "\r\n");
        CHECKF(nl, "INFO: last line not CRLF-terminated: %.60s", p);
        int len = (int)(nl - p);
        CHECKF(len == 0 || p[0] == '#' || memchr(p, ':', (size_t)len),
               "INFO: malformed line %.*s", len, p);
        p = nl + 2;
    }

    /* Sections by name, case-insensitive, several at once (7.0). */
    const char *srv = h_info(c, "SERVER");
    CHECK(srv);
    CHECKF(strstr(srv, "# Server\r\n") && !strstr(srv, "# Clients"), "INFO SERVER: %.80s", srv);
    CMD(two, c, "INFO server clients");
    CHECKF(two->type == REDIS_REPLY_STRING && strstr(two->str, "# Server\r\n") &&
           strstr(two->str, "# Clients\r\n") && !strstr(two->str, "# Memory"),
           "INFO server clients: wrong sections");
    CMD(none, c, "INFO nosuch");
    EXPECT_REPLY(none, "\"\"");
    CMD(every, c, "INFO everything");
    CHECKF(every->type == REDIS_REPLY_STRING && strstr(every->str, "# Commandstats\r\n") &&
           strstr(every->str, "cmdstat_info:calls="), "INFO everything lacks commandstats");
    CMD(dflt, c, "INFO default");
    CHECKF(dflt->type == REDIS_REPLY_STRING && !strstr(dflt->str, "# Commandstats"),
           "INFO default has commandstats");

    /* Counters move. */
    long long cmds0 = h_info_ll(c, "stats", "total_commands_processed");
    EXPECT_CMD(c, "+PONG", "PING");
    EXPECT_CMD(c, "(nil)", "GET nokey");
    long long cmds1 = h_info_ll(c, "stats", "total_commands_processed");
    CHECKF(cmds1 >= cmds0 + 3, "total_commands_processed %lld -> %lld", cmds0, cmds1);
    /* Connections of earlier tests may still be closing. */
    CHECKF(WAIT_FOR(h_info_ll(c, "clients", "connected_clients") == 1, 2000),
           "connected_clients does not settle to 1");
    long long clients0 = h_info_ll(c, "clients", "connected_clients");
    CONNECT(c2, s);
    long long clients1 = h_info_ll(c2, "clients", "connected_clients");
    CHECKF(clients1 == clients0 + 1, "connected_clients %lld -> %lld with one more client",
           clients0, clients1);
}

/* A CONFIG GET reply as "name=value" pairs sorted, for comparison. */
static bool config_pairs(redisContext *c, const char *args, char *out, size_t cap)
{
    /* hiredis splits a format at spaces: one argument per name. */
    char fmt[256];
    snprintf(fmt, sizeof fmt, "CONFIG GET %s", args);
    redisReply *r = h_cmd(H_LOC, c, fmt);
    if (!r)
        return false;
    if (r->type != REDIS_REPLY_ARRAY || r->elements % 2) {
        char b[200];
        h_render(r, b, sizeof b);
        h_fail(H_LOC, "CONFIG GET %s: %s", args, b);
        return false;
    }
    size_t n = r->elements / 2;
    const char **pairs = calloc(n + 1, sizeof *pairs);
    char **bufs = calloc(n + 1, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        bufs[i] = malloc(strlen(r->element[2 * i]->str) + strlen(r->element[2 * i + 1]->str) + 2);
        sprintf(bufs[i], "%s=%s", r->element[2 * i]->str, r->element[2 * i + 1]->str);
        pairs[i] = bufs[i];
    }
    for (size_t i = 0; i + 1 < n; i++)      /* tiny insertion sort */
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(pairs[j], pairs[i]) < 0) {
                const char *t = pairs[i];
                pairs[i] = pairs[j];
                pairs[j] = t;
            }
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i)
            strncat(out, " ", cap - strlen(out) - 1);
        strncat(out, pairs[i], cap - strlen(out) - 1);
    }
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(pairs);
    return true;
}

#define EXPECT_CONFIG(c, args, exp)                                         \
    do {                                                                    \
        char got_[2048];                                                    \
        if (!config_pairs((c), (args), got_, sizeof got_)) return;          \
        CHECKF(h_match((exp), got_), "CONFIG GET %s: expected %s, got %s", (args), (exp), got_); \
    } while (0)

TEST(server_config_get_set)
{
    START(s, NULL);
    CONNECT(c, s);
    char exp[512];
    snprintf(exp, sizeof exp, "port=%d", s->port);
    EXPECT_CONFIG(c, "port", exp);
    EXPECT_CONFIG(c, "maxclients", "maxclients=10000");
    EXPECT_CONFIG(c, "timeout", "timeout=0");
    EXPECT_CONFIG(c, "bind", "bind=127.0.0.1");
    EXPECT_CONFIG(c, "databases", "databases=16");
    EXPECT_CONFIG(c, "save", "save=");
    EXPECT_CONFIG(c, "appendonly", "appendonly=no");
    EXPECT_CONFIG(c, "requirepass", "requirepass=");
    EXPECT_CONFIG(c, "hz", "hz=10");
    EXPECT_CONFIG(c, "proto-max-bulk-len", "proto-max-bulk-len=536870912");
    EXPECT_CONFIG(c, "client-query-buffer-limit", "client-query-buffer-limit=1073741824");
    EXPECT_CONFIG(c, "client-output-buffer-limit", "client-output-buffer-limit=normal 0 0 0 "
                  "slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    EXPECT_CONFIG(c, "maxmemory-policy", "maxmemory-policy=noeviction");
    snprintf(exp, sizeof exp, "dir=%s", s->dir);
    EXPECT_CONFIG(c, "dir", exp);
    EXPECT_CONFIG(c, "nosuchparameter", "");
    /* Several names and glob patterns in one call. */
    EXPECT_CONFIG(c, "timeout databases", "databases=16 timeout=0");
    EXPECT_CONFIG(c, "proto*", "proto-max-bulk-len=536870912");
    EXPECT_CONFIG(c, "max*", "glob:*maxclients=10000*");
    EXPECT_CONFIG(c, "max*", "glob:*maxmemory=0*");
    EXPECT_CONFIG(c, "max*", "glob:*maxmemory-policy=noeviction*");
    EXPECT_CONFIG(c, "*-buffer-limit", "glob:client-output-buffer-limit=* client-query-buffer-limit=*");
    EXPECT_CONFIG(c, "hz hz", "hz=10");

    EXPECT_CMD(c, "+OK", "CONFIG SET timeout 5");
    EXPECT_CONFIG(c, "timeout", "timeout=5");
    EXPECT_CMD(c, "+OK", "CONFIG SET timeout 7 hz 20");
    EXPECT_CONFIG(c, "timeout hz", "hz=20 timeout=7");
    EXPECT_CMD(c, "+OK", "CONFIG SET maxmemory 10mb");
    EXPECT_CONFIG(c, "maxmemory", "maxmemory=10485760");
    EXPECT_CMD(c, "+OK", "CONFIG SET maxmemory 0");
    EXPECT_CMD(c, "+OK", "CONFIG SET MAXMEMORY-POLICY allkeys-lru");
    EXPECT_CONFIG(c, "maxmemory-policy", "maxmemory-policy=allkeys-lru");
    EXPECT_CMD(c, "+OK", "CONFIG SET client-output-buffer-limit %s", "normal 1mb 512kb 5");
    EXPECT_CONFIG(c, "client-output-buffer-limit", "client-output-buffer-limit=normal 1048576 "
                  "524288 5 slave 268435456 67108864 60 pubsub 33554432 8388608 60");

    EXPECT_CMD(c, "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
               "CONFIG SET foo 1");
    EXPECT_CMD(c, "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - "
               "argument couldn't be parsed into an integer", "CONFIG SET maxclients abc");
    EXPECT_CMD(c, "-ERR CONFIG SET failed (possibly related to argument 'timeout') - "
               "duplicate parameter", "CONFIG SET timeout 5 timeout 6");
    EXPECT_CMD(c, "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - "
               "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
               "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, "
               "noeviction", "CONFIG SET maxmemory-policy foo");
    EXPECT_CMD(c, "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'",
               "CONFIG SET hz 30 foo 1");
    /* All or nothing: the valid hz above was not applied. */
    EXPECT_CMD(c, "glob:-ERR CONFIG SET failed (possibly related to argument 'maxclients') - *",
               "CONFIG SET hz 30 maxclients abc");
    EXPECT_CONFIG(c, "hz", "hz=20");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'config|set' command", "CONFIG SET timeout");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'config|get' command", "CONFIG GET");
    EXPECT_CMD(c, "-ERR The server is running without a config file", "CONFIG REWRITE");
    EXPECT_CMD(c, "glob:[+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, "
               "+GET <pattern>, *]", "CONFIG HELP");

    /* CONFIG RESETSTAT zeroes the counters. */
    for (int i = 0; i < 20; i++)
        EXPECT_CMD(c, "+PONG", "PING");
    EXPECT_CMD(c, "(nil)", "GET nokey");
    EXPECT_CMD(c, "+OK", "CONFIG RESETSTAT");
    long long cmds = h_info_ll(c, "stats", "total_commands_processed");
    CHECKF(cmds >= 0 && cmds <= 2, "total_commands_processed after RESETSTAT: %lld", cmds);
    CHECKF(h_info_ll(c, "stats", "keyspace_misses") == 0, "keyspace_misses not reset");
    const char *every = h_info(c, "commandstats");
    CHECK(every);
    CHECKF(!strstr(every, "cmdstat_ping"), "commandstats not reset: %.200s", every);
}

/* The CLIENT LIST line of the client with this id (copied), or "". */
static void client_line(redisContext *c, long long id, char *out, size_t cap)
{
    out[0] = '\0';
    redisReply *r = h_cmd(H_LOC, c, "CLIENT LIST");
    if (!r || r->type != REDIS_REPLY_STRING)
        return;
    char key[40];
    snprintf(key, sizeof key, "id=%lld ", id);
    for (char *p = r->str; p && *p; ) {
        char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (strncmp(p, key, strlen(key)) == 0) {
            if (n >= cap)
                n = cap - 1;
            memcpy(out, p, n);
            out[n] = '\0';
            return;
        }
        p = nl ? nl + 1 : NULL;
    }
}

TEST(server_client_commands)
{
    FRESH(c);
    hserver *s = h_shared();
    CMD(idr, c, "CLIENT ID");
    CHECKF(idr->type == REDIS_REPLY_INTEGER && idr->integer > 0, "CLIENT ID not a positive integer");
    long long id = idr->integer;
    CONNECT(c2, s);
    CMD(id2r, c2, "CLIENT ID");
    CHECKF(id2r->type == REDIS_REPLY_INTEGER && id2r->integer > id,
           "a later connection's CLIENT ID %lld is not above %lld", id2r->integer, id);
    long long id2 = id2r->integer;

    EXPECT_CMD(c, "(nil)", "CLIENT GETNAME");
    EXPECT_CMD(c, "+OK", "CLIENT SETNAME my-name");
    EXPECT_CMD(c, "\"my-name\"", "CLIENT GETNAME");
    EXPECT_CMD(c, "-ERR Client names cannot contain spaces, newlines or special characters.",
               "CLIENT SETNAME %s", "a b");
    EXPECT_CMD(c, "-ERR Client names cannot contain spaces, newlines or special characters.",
               "CLIENT SETNAME %s", "a\nb");
    EXPECT_CMD(c, "+OK", "SELECT 3");

    /* One line per client, with Redis's leading fields in Redis's order.
     * strata may append fields (7.2's lib-name= lib-ver=), hence the
     * trailing globs. */
    char line[1024], pat[512];
    client_line(c2, id, line, sizeof line);
    snprintf(pat, sizeof pat, "glob:id=%lld addr=127.0.0.1:* laddr=127.0.0.1:%d fd=* "
             "name=my-name age=* idle=* flags=N db=3 *", id, s->port);
    CHECKF(h_match(pat, line), "CLIENT LIST line: want %s, got '%s'", pat, line);
    client_line(c2, id2, line, sizeof line);
    CHECKF(h_match("glob:* cmd=client|list user=default *", line),
           "CLIENT LIST line for the caller lacks cmd=client|list user=default: %s", line);
    CMD(info, c, "CLIENT INFO");
    snprintf(pat, sizeof pat, "glob:id=%lld addr=127.0.0.1:* name=my-name * db=3 * "
             "cmd=client|info *\n", id);
    CHECKF(info->type == REDIS_REPLY_STRING && h_match(pat, info->str),
           "CLIENT INFO: want %s, got %s", pat, info->str ? info->str : "?");
    CHECKF(strchr(info->str, '\n') == info->str + info->len - 1, "CLIENT INFO is not one line");
    char idlist[64];
    snprintf(idlist, sizeof idlist, "%lld", id2);
    CMD(byid, c, "CLIENT LIST ID %s 999999999", idlist);
    snprintf(pat, sizeof pat, "glob:id=%lld *\n", id2);
    CHECKF(byid->type == REDIS_REPLY_STRING && h_match(pat, byid->str) &&
           strchr(byid->str, '\n') == byid->str + byid->len - 1,
           "CLIENT LIST ID %lld: %s", id2, byid->str ? byid->str : "?");
    CMD(normal, c, "CLIENT LIST TYPE normal");
    CHECKF(normal->type == REDIS_REPLY_STRING && strstr(normal->str, "flags=N"),
           "CLIENT LIST TYPE normal");
    EXPECT_CMD(c, "-ERR Unknown client type 'foo'", "CLIENT LIST TYPE foo");
    EXPECT_CMD(c, "-ERR Invalid client ID", "CLIENT LIST ID abc");

    /* KILL: by id (new form, counts), by address (old form, +OK). */
    RAW(victim, s);
    SEND(victim, "CLIENT ID\r\n");
    char vid[64];
    CHECK(h_raw_reply(victim, vid, sizeof vid, 5000) == 1 && vid[0] == ':');
    EXPECT_CMD(c, ":1", "CLIENT KILL ID %s", vid + 1);
    EXPECT_CLOSED(victim);
    EXPECT_CMD(c, ":0", "CLIENT KILL ID %s", vid + 1);
    EXPECT_CMD(c, "-ERR client-id should be greater than 0", "CLIENT KILL ID abc");
    RAW(victim2, s);
    SEND(victim2, "CLIENT INFO\r\n");
    char vinfo[1024];
    CHECK(h_raw_reply(victim2, vinfo, sizeof vinfo, 5000) == 1);
    char *addr = strstr(vinfo, "addr=");
    CHECK(addr);
    addr += 5;
    addr[strcspn(addr, " ")] = '\0';
    EXPECT_CMD(c, "+OK", "CLIENT KILL %s", addr);
    EXPECT_CLOSED(victim2);
    EXPECT_CMD(c, "-ERR No such client", "CLIENT KILL %s", addr);
    EXPECT_CMD(c, ":0", "CLIENT KILL ADDR 1.2.3.4:5");
    EXPECT_CMD(c, "-ERR No such client", "CLIENT KILL 1.2.3.4:5");
    EXPECT_CMD(c, "-ERR syntax error", "CLIENT KILL SKIPME maybe");
    /* SKIPME yes is the default: a client does not kill itself. */
    CMD(self, c, "CLIENT INFO");
    char myaddr[64];
    const char *a = strstr(self->str, "addr=");
    CHECK(a);
    snprintf(myaddr, sizeof myaddr, "%.*s", (int)strcspn(a + 5, " "), a + 5);
    EXPECT_CMD(c, ":0", "CLIENT KILL ADDR %s", myaddr);
    EXPECT_CMD(c, "+PONG", "PING");

    EXPECT_CMD(c, "+OK", "CLIENT NO-EVICT on");
    EXPECT_CMD(c, "+OK", "CLIENT NO-EVICT off");
    EXPECT_CMD(c, "-ERR syntax error", "CLIENT NO-EVICT foo");
    EXPECT_CMD(c, "glob:[+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, *]",
               "CLIENT HELP");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'client|id' command", "CLIENT ID x");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'client|reply' command", "CLIENT REPLY");
    EXPECT_CMD(c, "-ERR syntax error", "CLIENT REPLY foo");
    EXPECT_CMD(c, "+OK", "CLIENT SETNAME %s", "");
    EXPECT_CMD(c, "(nil)", "CLIENT GETNAME");
}

TEST(server_client_reply)
{
    FRESH(c);
    RAW(r, h_shared());
    /* OFF: no replies at all, not even to CLIENT REPLY OFF itself. */
    SEND(r, "CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nPING\r\nCLIENT REPLY ON\r\nGET a\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n$1\r\n1\r\n");
    /* SKIP: only the next command's reply is dropped. */
    SEND(r, "CLIENT REPLY SKIP\r\nSET b 2\r\nGET b\r\n");
    EXPECT_RAW_BYTES(r, "$1\r\n2\r\n");
    /* Errors are silenced too. */
    SEND(r, "CLIENT REPLY OFF\r\nNOSUCHCMD\r\nCLIENT REPLY ON\r\n");
    EXPECT_RAW_BYTES(r, "+OK\r\n");
    CHECKF(h_raw_quiet(r, 100), "stray bytes after CLIENT REPLY ON");
    EXPECT_CMD(c, "\"2\"", "GET b");
}

TEST(server_command_introspection)
{
    FRESH(c);
    CMD(count, c, "COMMAND COUNT");
    CHECKF(count->type == REDIS_REPLY_INTEGER && count->integer > 50, "COMMAND COUNT");
    CMD(list, c, "COMMAND LIST");
    /* COMMAND LIST names subcommands too ("config|get"); COUNT does not. */
    CHECKF(list->type == REDIS_REPLY_ARRAY && (long long)list->elements > count->integer,
           "COMMAND LIST has %zu names, COMMAND COUNT says %lld", list->elements, count->integer);
    CMD(all, c, "COMMAND");
    CHECKF(all->type == REDIS_REPLY_ARRAY && (long long)all->elements == count->integer,
           "COMMAND has %zu entries, COMMAND COUNT says %lld", all->elements, count->integer);
    const char *must[] = { "get", "set", "ping", "config", "client", "command", "scan",
                           "expire", "object", "lcs", "swapdb", "shutdown", "hello",
                           "config|get", "client|list", "object|encoding" };
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
        bool found = false;
        for (size_t j = 0; j < list->elements; j++)
            found |= strcmp(list->element[j]->str, must[i]) == 0;
        CHECKF(found, "COMMAND LIST lacks %s", must[i]);
    }
    CMD(ge, c, "COMMAND LIST FILTERBY PATTERN ge*");
    CHECK(ge->type == REDIS_REPLY_ARRAY);
    int hits = 0;
    for (size_t j = 0; j < ge->elements; j++) {
        CHECKF(strncmp(ge->element[j]->str, "ge", 2) == 0, "FILTERBY PATTERN ge* gave %s",
               ge->element[j]->str);
        hits += !strcmp(ge->element[j]->str, "get") + !strcmp(ge->element[j]->str, "getex") +
                !strcmp(ge->element[j]->str, "getdel") + !strcmp(ge->element[j]->str, "getset") +
                !strcmp(ge->element[j]->str, "getrange");
    }
    CHECKF(hits == 5, "FILTERBY PATTERN ge* found %d of get/getex/getdel/getset/getrange", hits);

    EXPECT_CMD(c, "glob:[[\"get\", :2, [+readonly, +fast], :1, :1, :1, [+@read, +@string, +@fast], "
               "[], [[\"flags\", [+RO, +access], \"begin_search\", *]], []]]", "COMMAND INFO get");
    EXPECT_CMD(c, "glob:[(nil), [\"set\", :-3, [+write, +denyoom], :1, :1, :1, *]]",
               "COMMAND INFO nosuch set");
    EXPECT_CMD(c, "glob:[[\"config\", :-2, [], :0, :0, :0, [+@slow], [], [], [*\"config|get\"*]]]",
               "COMMAND INFO config");
    EXPECT_CMD(c, "[\"get\", [\"summary\", \"Get the value of a key\", \"since\", \"1.0.0\", "
               "\"group\", \"string\", \"complexity\", \"O(1)\", \"arguments\", [[\"name\", "
               "\"key\", \"type\", \"key\", \"key_spec_index\", :0]]]]", "COMMAND DOCS get");
    EXPECT_CMD(c, "[]", "COMMAND DOCS nosuch");
    EXPECT_CMD(c, "[\"a\"]", "COMMAND GETKEYS SET a b");
    EXPECT_CMD(c, "[\"a\", \"b\"]", "COMMAND GETKEYS MSET a 1 b 2");
    EXPECT_CMD(c, "[\"k1\", \"k2\"]", "COMMAND GETKEYS LCS k1 k2 LEN");
    EXPECT_CMD(c, "[[\"a\", [+OW, +update]]]", "COMMAND GETKEYSANDFLAGS SET a b");
    EXPECT_CMD(c, "-ERR The command has no key arguments", "COMMAND GETKEYS PING x");
    EXPECT_CMD(c, "-ERR Invalid command specified", "COMMAND GETKEYS nosuch a");
    EXPECT_CMD(c, "-ERR Invalid number of arguments specified for command", "COMMAND GETKEYS SET a");
    EXPECT_CMD(c, "-ERR wrong number of arguments for 'command|getkeys' command", "COMMAND GETKEYS");
    EXPECT_CMD(c, "glob:[+COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, *]",
               "COMMAND HELP");
}

TEST(server_shutdown_command)
{
    START(s, "--pidfile", "@/server.pid", NULL);
    FILE *f = fopen(h_path(s, "server.pid"), "r");
    CHECKF(f, "no pidfile at %s", h_path(s, "server.pid"));
    int pid = 0;
    CHECKF(fscanf(f, "%d", &pid) == 1, "unreadable pidfile");
    fclose(f);
    CHECKF(pid == (int)s->pid, "pidfile says %d, server is %d", pid, (int)s->pid);
    CONNECT(c, s);
    EXPECT_CMD(c, "-ERR syntax error", "SHUTDOWN foo");
    EXPECT_CMD(c, "-ERR No shutdown in progress.", "SHUTDOWN ABORT");
    RAW(r, s);
    /* Success is silent: the connection just closes. */
    SEND(r, "SHUTDOWN NOSAVE\r\n");
    EXPECT_CLOSED(r);
    int st = h_wait_exit(s, 5000);
    CHECKF(st != -1, "server still running 5s after SHUTDOWN");
    CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "server exit status 0x%x after SHUTDOWN", st);
    CHECKF(access(h_path(s, "server.pid"), F_OK) != 0, "pidfile left after SHUTDOWN");
}
