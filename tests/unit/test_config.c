/* test_config.c: unit tests of src/config.c: defaults, the redis.conf
 * parser and `--name value` flags, CONFIG GET patterns, CONFIG SET's
 * all-or-nothing rule and error texts, and CONFIG REWRITE round trips.
 * Error texts were taken from redis-server 7.0.15's CONFIG SET replies;
 * where strata's directive table has other bounds than Redis (hz, port
 * mutability) only the message format is compared.
 * Files live in a private temporary directory removed after each test. */
#include "unit.h"

#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include "config.h"
#include "util.h"

static char tmpdir[256];

static void fresh(void) {
    /* /dev/shm when there is one: CONFIG REWRITE fsyncs */
    snprintf(tmpdir, sizeof(tmpdir), "%s/strata-unit-config-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        abort();
    }
    config_setup();
}

static void done(void) {
    config_teardown();
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "  could not remove %s\n", tmpdir);
}

static const char *path_of(const char *name) {
    static char p[4][400];
    static int i;
    i = (i + 1) % 4;
    snprintf(p[i], sizeof(p[i]), "%s/%s", tmpdir, name);
    return p[i];
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        abort();
    }
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = xmalloc(1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* config_load with stderr captured (it prints Redis's FATAL block there):
 * returns the result, and the text printed into err. */
static bool load_quiet(const char *path, int argc, char **argv, char *err, size_t errlen) {
    fflush(stderr);
    int saved = dup(2);
    const char *cap = path_of("stderr.txt");
    int fd = open(cap, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 2);
    close(fd);
    bool ok = config_load(path, argc, argv);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *text = read_file(cap);
    snprintf(err, errlen, "%s", text ? text : "");
    free(text);
    return ok;
}

/* CONFIG GET into one "name=value\n" string, in table order. */
typedef struct dump { char *s; size_t len, n; } dump;

static void dump_cb(void *priv, const char *name, const char *value) {
    dump *d = priv;
    size_t add = strlen(name) + strlen(value) + 2;
    d->s = xrealloc(d->s, d->len + add + 1);
    d->len += (size_t)sprintf(d->s + d->len, "%s=%s\n", name, value);
    d->n++;
}

static dump get_all(const char *pattern) {
    dump d = {xstrdup(""), 0, 0};
    config_get(pattern, dump_cb, &d);
    return d;
}

static char getbuf[4096];
static const char *get1(const char *name) {
    dump d = get_all(name);
    if (d.n != 1) snprintf(getbuf, sizeof(getbuf), "(%zu matches)", d.n);
    else {
        const char *eq = strchr(d.s, '=');
        snprintf(getbuf, sizeof(getbuf), "%.*s", (int)(strlen(eq + 1) - 1), eq + 1);
    }
    free(d.s);
    return getbuf;
}

static bool set_pairs(char *err, size_t errlen, int n, ...) {
    const char *names[16], *values[16];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        names[i] = va_arg(ap, const char *);
        values[i] = va_arg(ap, const char *);
    }
    va_end(ap);
    err[0] = '\0';
    return config_set(n, names, values, err, errlen);
}

/* ---- defaults ------------------------------------------------------------ */

TEST(config_defaults) {
    fresh();
    CHECK_EQ(cfg.port, 6379);
    CHECK_EQ(cfg.hz, 10);
    CHECK_EQ(cfg.databases, 16);
    CHECK_EQ(cfg.proto_max_bulk_len, 536870912);
    CHECK_EQ(cfg.client_query_buffer_limit, 1073741824);
    CHECK_EQ(cfg.tcp_backlog, 511);
    CHECK_EQ(cfg.tcp_keepalive, 300);
    CHECK_EQ(cfg.timeout, 0);
    CHECK_EQ(cfg.maxclients, 10000);
    CHECK_EQ(cfg.maxmemory, 0);
    CHECK_EQ(cfg.maxmemory_policy, MM_NOEVICTION);
    CHECK_EQ(cfg.maxmemory_samples, 5);
    CHECK_EQ(cfg.lfu_log_factor, 10);
    CHECK_EQ(cfg.lfu_decay_time, 1);
    CHECK_EQ(cfg.slowlog_log_slower_than, 10000);
    CHECK_EQ(cfg.slowlog_max_len, 128);
    CHECK(cfg.protected_mode);
    CHECK(!cfg.daemonize);
    CHECK(!cfg.appendonly);
    CHECK(cfg.active_expire);
    CHECK_STR(cfg.bind, "127.0.0.1 -::1");
    CHECK_STR(cfg.requirepass, "");
    CHECK_STR(cfg.dbfilename, "dump.rdb");
    CHECK_STR(cfg.appendfilename, "appendonly.aof");
    CHECK_EQ(cfg.cob[COB_NORMAL].hard, 0);
    CHECK_EQ(cfg.cob[COB_NORMAL].soft, 0);
    CHECK_EQ(cfg.cob[COB_NORMAL].soft_seconds, 0);
    CHECK_EQ(cfg.cob[COB_REPLICA].hard, 268435456);
    CHECK_EQ(cfg.cob[COB_REPLICA].soft, 67108864);
    CHECK_EQ(cfg.cob[COB_REPLICA].soft_seconds, 60);
    CHECK_EQ(cfg.cob[COB_PUBSUB].hard, 33554432);
    CHECK_EQ(cfg.cob[COB_PUBSUB].soft, 8388608);
    CHECK_EQ(cfg.cob[COB_PUBSUB].soft_seconds, 60);
    /* As CONFIG GET renders them (Redis's texts for the same defaults). */
    CHECK_STR(get1("client-output-buffer-limit"),
              "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    CHECK_STR(get1("appendfsync"), "everysec");
    CHECK_STR(get1("maxmemory-policy"), "noeviction");
    CHECK_STR(get1("loglevel"), "notice");
    CHECK_STR(get1("protected-mode"), "yes");
    CHECK_STR(get1("unixsocketperm"), "0");
    CHECK_STR(get1("save"), "");
    /* Before any file: no path, and REWRITE says so. */
    if (config_file_path()[0] == '\0') {
        char err[256];
        CHECK(!config_rewrite(err, sizeof(err)));
        CHECK_STR(err, "ERR The server is running without a config file");
    }
    done();
}

/* ---- loading --------------------------------------------------------------- */

TEST(config_load_file) {
    fresh();
    char text[2048];
    snprintf(text, sizeof(text),
             "# a comment\n"
             "   # an indented comment\n"
             "\n"
             "   \t\n"
             "port 7001\n"
             "  hz 20  \n"
             "maxmemory 100k\n"
             "proto-max-bulk-len 1gb\n"
             "client-query-buffer-limit 2MB\n"
             "maxmemory-policy ALLKEYS-LRU\n"
             "requirepass \"sec ret\\x21\"\n"
             "dbfilename 'my dump.rdb'\n"
             "logfile %s/strata.log\n"
             "save \"\"\n"
             "client-output-buffer-limit normal 1mb 512kb 2\n"
             "client-output-buffer-limit pubsub 32mb 8mb 60\n"
             "bind 127.0.0.1 ::1\n"
             "unixsocketperm 700\n"
             "protected-mode no\n"
             "appendfsync always\n"
             "databases 4\n"
             "keyspace-shards 16\n"
             "slowlog-log-slower-than -1\n"
             "TIMEOUT 30\r\n",        /* names without case; CRLF line */
             tmpdir);
    write_file(path_of("a.conf"), text);
    char err[4096];
    bool ok = load_quiet(path_of("a.conf"), 0, NULL, err, sizeof(err));
    if (!CHECK(ok)) fprintf(stderr, "%s", err);
    CHECK_EQ(cfg.port, 7001);
    CHECK_EQ(cfg.hz, 20);
    CHECK_EQ(cfg.maxmemory, 100000);
    CHECK_EQ(cfg.proto_max_bulk_len, 1073741824);
    CHECK_EQ(cfg.client_query_buffer_limit, 2097152);
    CHECK_EQ(cfg.maxmemory_policy, MM_ALLKEYS_LRU);
    CHECK_STR(cfg.requirepass, "sec ret!");
    CHECK_STR(cfg.dbfilename, "my dump.rdb");
    CHECK_STR(cfg.save, "");
    CHECK_EQ(cfg.cob[COB_NORMAL].hard, 1048576);
    CHECK_EQ(cfg.cob[COB_NORMAL].soft, 524288);
    CHECK_EQ(cfg.cob[COB_NORMAL].soft_seconds, 2);
    CHECK_EQ(cfg.cob[COB_PUBSUB].hard, 33554432);
    CHECK_EQ(cfg.cob[COB_PUBSUB].soft, 8388608);
    CHECK_EQ(cfg.cob[COB_REPLICA].hard, 268435456);   /* untouched class */
    CHECK_STR(get1("client-output-buffer-limit"),
              "normal 1048576 524288 2 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    CHECK_STR(cfg.bind, "127.0.0.1 ::1");
    CHECK_EQ(cfg.unixsocketperm, 0700);
    CHECK_STR(get1("unixsocketperm"), "700");
    CHECK(!cfg.protected_mode);
    CHECK_STR(get1("appendfsync"), "always");
    CHECK_EQ(cfg.databases, 4);
    CHECK_EQ(cfg.keyspace_shards, 16);
    CHECK_EQ(cfg.slowlog_log_slower_than, -1);
    CHECK_EQ(cfg.timeout, 30);
    CHECK(strstr(config_file_path(), "a.conf") != NULL);
    done();
}

/* redis.conf files commonly carry several save lines: Redis 7.0 keeps them
 * all (CONFIG GET save answers "900 1 300 10"), and `save ""` clears. */
TEST(config_load_save_lines) {
    fresh();
    write_file(path_of("s.conf"), "save 900 1\nsave 300 10\nsave 60 10000\n");
    char err[4096];
    if (!CHECK(load_quiet(path_of("s.conf"), 0, NULL, err, sizeof(err)))) fprintf(stderr, "%s", err);
    CHECK_STR(cfg.save, "900 1 300 10 60 10000");
    config_teardown();
    config_setup();
    write_file(path_of("s2.conf"), "save 900 1\nsave \"\"\nsave 60 5\n");
    CHECK(load_quiet(path_of("s2.conf"), 0, NULL, err, sizeof(err)));
    CHECK_STR(cfg.save, "60 5");
    config_teardown();
    config_setup();
    write_file(path_of("s3.conf"), "save 900 1\n");
    char *argv[] = {"--save", ""};
    CHECK(load_quiet(path_of("s3.conf"), 2, argv, err, sizeof(err)));
    CHECK_STR(cfg.save, "");
    done();
}

TEST(config_load_argv) {
    fresh();
    write_file(path_of("b.conf"), "port 7001\nhz 20\n");
    char *argv[] = {"--port", "7000", "--client-output-buffer-limit", "normal 1mb 512kb 2",
                    "--save", "", "--maxmemory", "1gb", "--bind", "127.0.0.1", "::1",
                    "--requirepass", "a b"};
    char err[4096];
    bool ok = load_quiet(path_of("b.conf"), 13, argv, err, sizeof(err));
    if (!CHECK(ok)) fprintf(stderr, "%s", err);
    CHECK_EQ(cfg.port, 7000);           /* the command line wins */
    CHECK_EQ(cfg.hz, 20);
    CHECK_EQ(cfg.cob[COB_NORMAL].hard, 1048576);
    CHECK_EQ(cfg.cob[COB_NORMAL].soft, 524288);
    CHECK_EQ(cfg.cob[COB_NORMAL].soft_seconds, 2);
    CHECK_STR(cfg.save, "");
    CHECK_EQ(cfg.maxmemory, 1073741824);
    CHECK_STR(cfg.bind, "127.0.0.1 ::1");
    CHECK_STR(cfg.requirepass, "a b");
    /* No file at all, flags only. */
    config_teardown();
    config_setup();
    char *argv2[] = {"--hz", "50", "--appendonly", "yes"};
    CHECK(load_quiet(NULL, 4, argv2, err, sizeof(err)));
    CHECK_EQ(cfg.hz, 50);
    CHECK(cfg.appendonly);
    done();
}

/* Each of these makes config_load fail with Redis's FATAL block. */
TEST(config_load_fatal) {
    fresh();
    static const struct { const char *text, *msg; } bad[] = {
        {"nosuch-directive 1\n", "Bad directive or wrong number of arguments"},
        {"hz abc\n", "Argument couldn't be parsed into an integer"},
        {"hz -1\n", "Argument must be between 0 and 2147483647 inclusive"},
        {"port 1 2\n", "wrong number of arguments"},
        {"port\n", "wrong number of arguments"},
        {"maxmemory 1x\n", "Argument must be a memory value"},
        {"protected-mode maybe\n", "Argument must be 'yes' or 'no'"},
        {"maxmemory-policy lru\n", "one of the following"},
        {"requirepass \"abc\n", "Unbalanced quotes in configuration line"},
        {"client-output-buffer-limit normal 1 2\n", "Wrong number of arguments in buffer limit configuration."},
        {"client-output-buffer-limit master 1 2 3\n", "Invalid client class specified in buffer limit configuration."},
        {"keyspace-shards 12\n", "power of two"},
        {"enable-debug-command maybe\n", "must be one of the following: no, yes, local"},
        {"latency-monitor-threshold -1\n", "must be between 0 and 9223372036854775807 inclusive"},
        {"# fine\nhz 10\nbogus\n", "at line 3"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        config_teardown();
        config_setup();
        write_file(path_of("bad.conf"), bad[i].text);
        char err[4096];
        bool ok = load_quiet(path_of("bad.conf"), 0, NULL, err, sizeof(err));
        if (!CHECK(!ok)) fprintf(stderr, "  accepted: %s", bad[i].text);
        else if (!CHECK(strstr(err, "*** FATAL CONFIG FILE ERROR") && strstr(err, bad[i].msg)))
            fprintf(stderr, "  for %s  printed: %s\n", bad[i].text, err);
    }
    char err[4096];
    CHECK(!load_quiet(path_of("does-not-exist.conf"), 0, NULL, err, sizeof(err)));
    char *argv[] = {"port", "7000"};                 /* no leading -- */
    CHECK(!load_quiet(NULL, 2, argv, err, sizeof(err)));
    char *argv2[] = {"--nosuch", "1"};
    CHECK(!load_quiet(NULL, 2, argv2, err, sizeof(err)));
    char *argv3[] = {"--hz", "fast"};
    CHECK(!load_quiet(NULL, 2, argv3, err, sizeof(err)));
    done();
}

/* ---- CONFIG GET ------------------------------------------------------------ */

TEST(config_get_patterns) {
    fresh();
    dump d = get_all("maxmemory*");
    CHECK_EQ(d.n, 4);
    CHECK_STR(d.s, "maxmemory=0\nmaxmemory-policy=noeviction\nmaxmemory-samples=5\n"
                   "maxmemory-eviction-tenacity=10\n");
    free(d.s);
    d = get_all("*");
    size_t all = d.n;
    CHECK(all >= 30);
    CHECK(strstr(d.s, "port=6379\n") != NULL);
    CHECK(strstr(d.s, "requirepass=\n") != NULL);
    free(d.s);
    d = get_all("HZ");                                 /* without case */
    CHECK_STR(d.s, "hz=10\n");
    free(d.s);
    d = get_all("?z");
    CHECK_STR(d.s, "hz=10\n");
    free(d.s);
    d = get_all("*limit*");
    CHECK_EQ(d.n, 2);
    CHECK(strstr(d.s, "client-query-buffer-limit=1073741824\n") != NULL);
    free(d.s);
    d = get_all("[pb]*");
    CHECK(strstr(d.s, "port=") && strstr(d.s, "bind=") && strstr(d.s, "protected-mode=") &&
          strstr(d.s, "pidfile=") && strstr(d.s, "proto-max-bulk-len="));
    CHECK(!strstr(d.s, "hz="));
    free(d.s);
    d = get_all("nosuch");
    CHECK_EQ(d.n, 0);
    free(d.s);
    d = get_all("");
    CHECK_EQ(d.n, 0);
    free(d.s);
    done();
}

/* ---- CONFIG SET ------------------------------------------------------------ */

TEST(config_set_values) {
    fresh();
    char err[512];
    CHECK(set_pairs(err, sizeof(err), 1, "hz", "42"));
    CHECK_EQ(cfg.hz, 42);
    CHECK(set_pairs(err, sizeof(err), 1, "maxmemory", "1mb"));
    CHECK_EQ(cfg.maxmemory, 1048576);
    CHECK(set_pairs(err, sizeof(err), 1, "MAXMEMORY", "01mb"));   /* Redis: OK */
    CHECK_EQ(cfg.maxmemory, 1048576);
    CHECK(set_pairs(err, sizeof(err), 1, "maxmemory", ""));       /* Redis: OK, 0 */
    CHECK_EQ(cfg.maxmemory, 0);
    CHECK(set_pairs(err, sizeof(err), 1, "maxmemory-policy", "Volatile-TTL"));
    CHECK_EQ(cfg.maxmemory_policy, MM_VOLATILE_TTL);
    CHECK(set_pairs(err, sizeof(err), 1, "protected-mode", "NO"));
    CHECK(!cfg.protected_mode);
    CHECK(set_pairs(err, sizeof(err), 1, "client-output-buffer-limit", "normal 1mb 512kb 2"));
    CHECK_STR(get1("client-output-buffer-limit"),
              "normal 1048576 524288 2 slave 268435456 67108864 60 pubsub 33554432 8388608 60");
    CHECK(set_pairs(err, sizeof(err), 1, "client-output-buffer-limit",
                    "replica 1 2 3 pubsub 4 5 6"));
    CHECK_STR(get1("client-output-buffer-limit"),
              "normal 1048576 524288 2 slave 1 2 3 pubsub 4 5 6");
    CHECK(set_pairs(err, sizeof(err), 1, "requirepass", "s3cret"));
    CHECK_STR(cfg.requirepass, "s3cret");
    CHECK(set_pairs(err, sizeof(err), 1, "slowlog-log-slower-than", "-1"));
    CHECK_EQ(cfg.slowlog_log_slower_than, -1);
    /* several at once */
    CHECK(set_pairs(err, sizeof(err), 3, "hz", "7", "timeout", "9", "requirepass", ""));
    CHECK_EQ(cfg.hz, 7);
    CHECK_EQ(cfg.timeout, 9);
    CHECK_STR(cfg.requirepass, "");
    /* a replaced string stays readable (old strings are retired, not freed) */
    const char *old = cfg.requirepass;
    CHECK(set_pairs(err, sizeof(err), 1, "requirepass", "next"));
    CHECK_STR(old, "");
    done();
}

/* The texts redis-server 7.0.15 replies (without the leading '-'). */
TEST(config_set_errors) {
    fresh();
    static const struct { const char *n1, *v1, *n2, *v2, *err; } cases[] = {
        {"hz", "abc", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"},
        {"maxmemory", "1x", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
        {"maxmemory", "-1", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
        {"maxmemory", "1.5mb", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
        {"maxmemory", "+1", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"},
        {"protected-mode", "maybe", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'protected-mode') - argument must be 'yes' or 'no'"},
        {"maxmemory-policy", "foo", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"},
        {"appendfsync", "foo", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: everysec, always, no"},
        {"loglevel", "foo", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning"},
        {"nosuch", "1", NULL, NULL,
         "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
        {"hz", "5", "hz", "6",
         "ERR CONFIG SET failed (possibly related to argument 'hz') - duplicate parameter"},
        {"hz", "5", "HZ", "6",
         "ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"},
        {"hz", "5", "daemonize", "yes",
         "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"},
        {"daemonize", "yes", "nosuch", "1",
         "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"},
        {"nosuch", "1", "daemonize", "yes",
         "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"},
        {"client-output-buffer-limit", "normal 1mb", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration."},
        {"client-output-buffer-limit", "foo 1 1 1", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Invalid client class specified in buffer limit configuration."},
        {"client-output-buffer-limit", "normal x 1 1", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration."},
        {"client-output-buffer-limit", "normal 1 1 -1", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Error in hard, soft or soft_seconds setting in buffer limit configuration."},
        {"proto-max-bulk-len", "1000", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"},
        {"timeout", "-1", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"},
        {"slowlog-log-slower-than", "-2", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1 and 9223372036854775807 inclusive"},
        {"latency-monitor-threshold", "-1", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'latency-monitor-threshold') - argument must be between 0 and 9223372036854775807 inclusive"},
        {"enable-debug-command", "yes", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config"},
        /* strata's bounds (Redis: 1..INT_MAX); the format is Redis's */
        {"hz", "5", "maxmemory-samples", "0",
         "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument must be between 1 and 2147483647 inclusive"},
        {"maxmemory-eviction-tenacity", "101", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'maxmemory-eviction-tenacity') - argument must be between 0 and 100 inclusive"},
        {"proto-max-bulk-len", "99999999999999999999999", NULL, NULL,
         "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[512] = "";
        bool ok = cases[i].n2 ? set_pairs(err, sizeof(err), 2, cases[i].n1, cases[i].v1,
                                          cases[i].n2, cases[i].v2)
                              : set_pairs(err, sizeof(err), 1, cases[i].n1, cases[i].v1);
        CHECK(!ok);
        if (!CHECK_STR(err, cases[i].err)) fprintf(stderr, "  case %zu\n", i);
        CHECK_EQ(cfg.hz, 10);          /* the "hz 5" of a failed pair never applied */
    }
    done();
}

/* Hooks run after a successful CONFIG SET of their directive, once per
 * change, and never for a failed one. */
static int hook_calls;
static long long hook_seen;
static void hook(void) {
    hook_calls++;
    hook_seen = cfg.slowlog_max_len;
}

TEST(config_watch_hooks) {
    fresh();
    hook_calls = 0;
    config_watch("slowlog-max-len", hook);
    config_watch("slowlog-max-len", hook);   /* registering twice is once */
    char err[512];
    CHECK(set_pairs(err, sizeof(err), 1, "slowlog-max-len", "7"));
    CHECK_EQ(hook_calls, 1);
    CHECK_EQ(hook_seen, 7);
    CHECK(set_pairs(err, sizeof(err), 1, "hz", "20"));
    CHECK_EQ(hook_calls, 1);
    CHECK(!set_pairs(err, sizeof(err), 2, "slowlog-max-len", "9", "hz", "x"));
    CHECK_EQ(hook_calls, 1);
    CHECK_EQ(cfg.slowlog_max_len, 7);
    CHECK(config_is_sensitive("requirepass"));
    CHECK(config_is_sensitive("REQUIREPASS"));
    CHECK(!config_is_sensitive("maxmemory"));
    CHECK(!config_is_sensitive("nosuch"));
    CHECK_STR(get1("enable-debug-command"), "no");
    CHECK_STR(get1("latency-monitor-threshold"), "0");
    char *argv[] = {"--enable-debug-command", "local", "--latency-monitor-threshold", "5"};
    CHECK(load_quiet(NULL, 4, argv, err, sizeof(err)));
    CHECK_EQ(cfg.enable_debug_cmd, PROTECTED_LOCAL);
    CHECK_EQ(cfg.latency_monitor_threshold, 5);
    done();
    /* teardown forgets the hooks */
    fresh();
    CHECK(set_pairs(err, sizeof(err), 1, "slowlog-max-len", "8"));
    CHECK_EQ(hook_calls, 1);
    done();
}

/* All or nothing: a bad value anywhere leaves every field as it was,
 * strings and the client-output-buffer-limit table included. */
TEST(config_set_all_or_nothing) {
    fresh();
    char err[512];
    const char *names[] = {"hz", "maxmemory", "requirepass", "client-output-buffer-limit",
                           "maxmemory-policy"};
    const char *vals[] = {"33", "5mb", "newpw", "normal 1 2 3", "bogus"};
    CHECK(!config_set(5, names, vals, err, sizeof(err)));
    CHECK(strstr(err, "'maxmemory-policy'") != NULL);
    CHECK_EQ(cfg.hz, 10);
    CHECK_EQ(cfg.maxmemory, 0);
    CHECK_STR(cfg.requirepass, "");
    CHECK_EQ(cfg.cob[COB_NORMAL].hard, 0);
    CHECK_EQ(cfg.maxmemory_policy, MM_NOEVICTION);
    /* The bad one first, the strings after. */
    const char *names2[] = {"timeout", "requirepass", "dbfilename"};
    const char *vals2[] = {"x", "pw", "other.rdb"};
    CHECK(!config_set(3, names2, vals2, err, sizeof(err)));
    CHECK_STR(cfg.requirepass, "");
    /* Then all good: all applied. */
    vals[4] = "allkeys-random";
    CHECK(config_set(5, names, vals, err, sizeof(err)));
    CHECK_EQ(cfg.hz, 33);
    CHECK_EQ(cfg.maxmemory, 5242880);
    CHECK_STR(cfg.requirepass, "newpw");
    CHECK_EQ(cfg.cob[COB_NORMAL].hard, 1);
    CHECK_EQ(cfg.cob[COB_NORMAL].soft, 2);
    CHECK_EQ(cfg.cob[COB_NORMAL].soft_seconds, 3);
    CHECK_EQ(cfg.maxmemory_policy, MM_ALLKEYS_RANDOM);
    done();
}

/* ---- CONFIG REWRITE ---------------------------------------------------------- */

TEST(config_rewrite_round_trip) {
    fresh();
    char text[2048];
    snprintf(text, sizeof(text),
             "# strata test config: this comment must survive\n"
             "port 7005\n"
             "\n"
             "hz 20\n"
             "# maxmemory 1gb (a commented-out directive stays a comment)\n"
             "save 900 1\n"
             "client-output-buffer-limit normal 0 0 0\n"
             "client-output-buffer-limit pubsub 32mb 8mb 60\n"
             "requirepass old\n"
             "hz 25\n"
             "logfile %s/strata.log\n",
             tmpdir);
    const char *path = path_of("rw.conf");
    write_file(path, text);
    char err[4096];
    if (!CHECK(load_quiet(path, 0, NULL, err, sizeof(err)))) fprintf(stderr, "%s", err);
    CHECK_EQ(cfg.hz, 25);                         /* the last one wins */
    CHECK(set_pairs(err, sizeof(err), 6, "hz", "42", "maxmemory", "2mb", "maxmemory-policy",
                    "allkeys-lfu", "requirepass", "p\"w \\ 'x'", "client-output-buffer-limit",
                    "normal 1mb 512kb 2", "appendonly", "yes"));
    CHECK(set_pairs(err, sizeof(err), 2, "save", "", "loglevel", "warning"));
    dump before = get_all("*");
    if (!CHECK(config_rewrite(err, sizeof(err)))) fprintf(stderr, "  %s\n", err);
    char *out = read_file(path);
    REQUIRE(out != NULL);
    CHECK(strstr(out, "# strata test config: this comment must survive\n") == out);
    CHECK(strstr(out, "# maxmemory 1gb (a commented-out directive stays a comment)\n") != NULL);
    /* one line per directive: the duplicate hz and cob lines are merged */
    int hz_lines = 0;
    for (const char *p = out; (p = strstr(p, "\nhz ")) != NULL; p++) hz_lines++;
    CHECK_EQ(hz_lines, 1);

    /* Load the rewritten file into fresh defaults: same configuration. */
    config_teardown();
    config_setup();
    bool ok = load_quiet(path, 0, NULL, err, sizeof(err));
    if (!CHECK(ok)) fprintf(stderr, "  rewritten file:\n%s\n  load said: %s\n", out, err);
    dump after = get_all("*");
    if (!CHECK_STR(after.s, before.s)) fprintf(stderr, "  rewritten file:\n%s\n", out);
    CHECK_EQ(cfg.port, 7005);
    CHECK_EQ(cfg.hz, 42);
    CHECK_STR(cfg.requirepass, "p\"w \\ 'x'");
    CHECK_STR(cfg.save, "");
    CHECK(cfg.appendonly);
    free(before.s);
    free(after.s);

    /* A second rewrite with nothing changed is a fixed point. */
    if (!CHECK(config_rewrite(err, sizeof(err)))) fprintf(stderr, "  %s\n", err);
    char *again = read_file(path);
    CHECK_STR(again, out);
    free(again);
    free(out);
    done();
}

/* Rewriting a file that sets nothing appends only what differs from the
 * defaults. */
TEST(config_rewrite_appends_changes) {
    fresh();
    const char *path = path_of("empty.conf");
    write_file(path, "# nothing here\n");
    char err[4096];
    CHECK(load_quiet(path, 0, NULL, err, sizeof(err)));
    CHECK(set_pairs(err, sizeof(err), 1, "maxmemory-samples", "9"));
    CHECK(config_rewrite(err, sizeof(err)));
    char *out = read_file(path);
    REQUIRE(out != NULL);
    CHECK(strncmp(out, "# nothing here\n", 15) == 0);
    CHECK(strstr(out, "maxmemory-samples") != NULL);
    CHECK(strstr(out, "\nhz ") == NULL);          /* unchanged: not written */
    CHECK(strstr(out, "\nport ") == NULL);
    config_teardown();
    config_setup();
    CHECK(load_quiet(path, 0, NULL, err, sizeof(err)));
    CHECK_EQ(cfg.maxmemory_samples, 9);
    free(out);
    done();
}

/* Other threads read cfg with plain loads at any time (config.h), so
 * CONFIG REWRITE must never store anything but the live values, not even
 * for a moment (a default requirepass of "" would let a client in). */
typedef struct reader {
    atomic_int stop;
    long reads, bad;
} reader;

static void *reader_fn(void *arg) {
    reader *r = arg;
    while (!atomic_load(&r->stop)) {
        long long mc = *(volatile long long *)&cfg.maxclients;
        long long hz = *(volatile long long *)&cfg.hz;
        const char *pw = *(const char *volatile *)&cfg.requirepass;
        if (mc != 777 || hz != 99 || !pw || strcmp(pw, "pw") != 0) r->bad++;
        r->reads++;
    }
    return NULL;
}

TEST(config_rewrite_leaves_live_values_alone) {
    fresh();
    const char *path = path_of("live.conf");
    write_file(path, "# only a comment\n");
    char err[4096];
    CHECK(load_quiet(path, 0, NULL, err, sizeof(err)));
    CHECK(set_pairs(err, sizeof(err), 3, "requirepass", "pw", "maxclients", "777", "hz", "99"));
    reader r = {0, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, reader_fn, &r);
    double t0 = unit_now();
    for (int i = 0; i < 200 && unit_now() - t0 < 0.3; i++) {
        write_file(path, "# only a comment\n");   /* so every directive is appended */
        if (!CHECK(config_rewrite(err, sizeof(err)))) break;
    }
    atomic_store(&r.stop, 1);
    pthread_join(th, NULL);
    if (!CHECK_EQ(r.bad, 0)) fprintf(stderr, "  %ld of %ld reads saw a default\n", r.bad, r.reads);
    done();
}

TEST(config_dump_defaults) {
    fresh();
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    config_dump_defaults(f);
    fclose(f);
    CHECK(strstr(buf, "# port 6379\n") != NULL);
    CHECK(strstr(buf, "# hz 10\n") != NULL);
    CHECK(strstr(buf, "# save \"\"\n") != NULL);
    /* Uncommented, the dump is a valid config file of the defaults. */
    char *conf = xmalloc(len + 1);
    size_t n = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "# ", 2) != 0) continue;
        const char *body = line + 2;
        size_t bl = strlen(body);
        /* directive lines start with a lower-case name followed by a space */
        size_t w = strspn(body, "abcdefghijklmnopqrstuvwxyz-");
        if (w == 0 || body[w] != ' ') continue;
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)w, body);
        dump d = get_all(name);
        bool known = d.n == 1;
        free(d.s);
        if (!known) continue;
        memcpy(conf + n, body, bl);
        n += bl;
        conf[n++] = '\n';
    }
    conf[n] = '\0';
    write_file(path_of("dump.conf"), conf);
    dump before = get_all("*");
    char err[4096];
    bool ok = load_quiet(path_of("dump.conf"), 0, NULL, err, sizeof(err));
    if (!CHECK(ok)) fprintf(stderr, "%s", err);
    dump after = get_all("*");
    CHECK_STR(after.s, before.s);
    free(before.s);
    free(after.s);
    free(conf);
    free(buf);
    done();
}

/* ---- protected paths (issue #6) ------------------------------------------- */

/* Redis 7.0: dir and dbfilename are protected configs, CONFIG SET changes
 * them only when enable-protected-configs allows it; the other paths are
 * immutable; file names cannot be paths. Texts from redis-server 7.0.15. */
TEST(config_protected_paths) {
    fresh();
    char err[512];
    static const char *const prot[] = {"dir", "dbfilename"};
    for (int i = 0; i < 2; i++) {
        char want[200];
        snprintf(want, sizeof(want),
                 "ERR CONFIG SET failed (possibly related to argument '%s') - can't set protected config", prot[i]);
        CHECK(!set_pairs(err, sizeof(err), 1, prot[i], "/tmp"));
        CHECK_STR(err, want);
        /* local: a local client may, config_set()'s (non-local) may not */
        const char *n = prot[i], *v = "/tmp";
        CHECK(!config_set_ex(1, &n, &v, false, err, sizeof(err)));
        CHECK_STR(err, want);
    }
    static const char *const imm[] = {"logfile", "pidfile", "unixsocket", "appendfilename",
                                      "enable-protected-configs"};
    for (int i = 0; i < 5; i++) {
        char want[200];
        snprintf(want, sizeof(want),
                 "ERR CONFIG SET failed (possibly related to argument '%s') - can't set immutable config", imm[i]);
        CHECK(!set_pairs(err, sizeof(err), 1, imm[i], "/tmp/x"));
        CHECK_STR(err, want);
    }
    CHECK_STR(get1("enable-protected-configs"), "no");

    /* enable-protected-configs local: only a local client. */
    config_teardown();
    config_setup();
    char *argv[] = {"--enable-protected-configs", "local"};
    CHECK(load_quiet(NULL, 2, argv, err, sizeof(err)));
    const char *n = "dbfilename", *v = "local.rdb";
    CHECK(!config_set_ex(1, &n, &v, false, err, sizeof(err)));
    CHECK(config_set_ex(1, &n, &v, true, err, sizeof(err)));
    CHECK_STR(cfg.dbfilename, "local.rdb");

    /* yes: any client; still no paths in file names, and dir must exist.
     * A failed pair changes nothing. */
    config_teardown();
    config_setup();
    char *argv2[] = {"--enable-protected-configs", "yes"};
    CHECK(load_quiet(NULL, 2, argv2, err, sizeof(err)));
    CHECK(!set_pairs(err, sizeof(err), 2, "hz", "20", "dbfilename", "../../etc/x.rdb"));
    CHECK_STR(err, "ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename");
    CHECK_EQ(cfg.hz, 10);
    CHECK_STR(cfg.dbfilename, "dump.rdb");
    CHECK(!set_pairs(err, sizeof(err), 2, "hz", "20", "dir", "/nonexistent/strata"));
    CHECK_STR(err, "ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory");
    CHECK_EQ(cfg.hz, 10);
    CHECK(!set_pairs(err, sizeof(err), 1, "dir", "/etc/passwd"));
    CHECK_STR(err, "ERR CONFIG SET failed (possibly related to argument 'dir') - Not a directory");
    char cwd[4096];
    REQUIRE(getcwd(cwd, sizeof(cwd)));
    CHECK(set_pairs(err, sizeof(err), 2, "dir", tmpdir, "dbfilename", "ok.rdb"));
    char now[4096];
    CHECK(getcwd(now, sizeof(now)) && strcmp(now, tmpdir) == 0);
    CHECK_STR(cfg.dir, tmpdir);
    CHECK_STR(cfg.dbfilename, "ok.rdb");
    REQUIRE(chdir(cwd) == 0);

    /* The file and the command line refuse paths too. */
    static const char *const bad[] = {"dbfilename a/b.rdb\n", "appendfilename ../wal\n"};
    static const char *const msg[] = {"dbfilename can't be a path, just a filename",
                                      "appendfilename can't be a path, just a filename"};
    for (int i = 0; i < 2; i++) {
        config_teardown();
        config_setup();
        write_file(path_of("bad.conf"), bad[i]);
        CHECK(!load_quiet(path_of("bad.conf"), 0, NULL, err, sizeof(err)));
        CHECK(strstr(err, msg[i]) != NULL);
    }
    done();
}
