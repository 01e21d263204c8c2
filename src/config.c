/* config.c: the one table of configuration directives, and everything that
 * reads it: the redis.conf-syntax file parser, `--name value` command-line
 * flags, CONFIG GET / SET / REWRITE, and tools/gen_conf (comments).
 * Error texts follow Redis 7.0 so scripts that parse them keep working. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "acl.h"
#include "log.h"
#include "resp.h"
#include "server.h"
#include "util.h"

config cfg;
static config defaults;      /* cfg as config_setup left it */

enum ctype { T_BOOL, T_INT, T_MEM, T_UMEM, T_STR, T_ENUM, T_COB, T_OCTAL };
/* T_MEM: a long long field read with memory units; T_UMEM: an unsigned
 * long long one (maxmemory: Redis takes up to 2^64-1 there). */
#define F_IMMUTABLE 0x1
#define F_SENSITIVE 0x2   /* value never echoed in errors/logs */

typedef struct directive {
    const char *name;
    enum ctype type;
    size_t off;
    long long min, max;
    const char *def;          /* default, as the config file would write it */
    unsigned flags;
    const char *const *enums; /* T_ENUM: names, index = stored value */
    const char *help;         /* one line for conf/strata.conf */
} directive;

static const char *const loglevels[] = {"debug", "verbose", "notice", "warning", NULL};
/* Indexed by enum maxmemory_policy; "spill" (storage engine: cold values
 * leave RAM for the SSTables) comes after Redis's eight. */
static const char *const policies[] = {"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random",
                                       "volatile-lru", "volatile-lfu", "volatile-random",
                                       "volatile-ttl", "spill", NULL};
_Static_assert(sizeof(policies) / sizeof(policies[0]) == MM_POLICIES + 1, "one name per policy");
static const char *const fsyncs[] = {"always", "everysec", "no", NULL};
static const char *const pubsub_defaults[] = {"resetchannels", "allchannels", NULL};
static const char *const protected_modes[] = {"no", "yes", "local", NULL};
/* Order in which Redis lists enum values in its error message (Redis's
 * text exactly, so "spill" is accepted but not listed). */
static const char *const policies_msg = "volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction";
static const char *const fsyncs_msg = "everysec, always, no";

#define O(f) offsetof(config, f)
static const directive dirs[] = {
    {"bind", T_STR, O(bind), 0, 0, "127.0.0.1 -::1", 0, NULL, "addresses to listen on (space separated)"},
    {"port", T_INT, O(port), 0, 65535, "6379", F_IMMUTABLE, NULL, "TCP port, 0 to disable TCP"},
    {"tcp-backlog", T_INT, O(tcp_backlog), 0, INT_MAX, "511", F_IMMUTABLE, NULL, "listen(2) backlog"},
    {"tcp-keepalive", T_INT, O(tcp_keepalive), 0, INT_MAX, "300", 0, NULL, "SO_KEEPALIVE interval in seconds, 0 off"},
    {"timeout", T_INT, O(timeout), 0, INT_MAX, "0", 0, NULL, "close idle clients after N seconds, 0 never"},
    {"maxclients", T_INT, O(maxclients), 1, INT_MAX, "10000", 0, NULL, "maximum connected clients"},
    {"unixsocket", T_STR, O(unixsocket), 0, 0, "", F_IMMUTABLE, NULL, "path of a unix socket to listen on"},
    {"unixsocketperm", T_OCTAL, O(unixsocketperm), 0, 0777, "0", F_IMMUTABLE, NULL, "permissions of the unix socket (octal)"},
    {"protected-mode", T_BOOL, O(protected_mode), 0, 0, "yes", 0, NULL, "refuse non-loopback clients without a password"},
    {"io-threads", T_INT, O(io_threads), 0, 128, "0", F_IMMUTABLE, NULL, "reactor threads, 0 = online CPUs"},
    {"daemonize", T_BOOL, O(daemonize), 0, 0, "no", F_IMMUTABLE, NULL, "fork into the background"},
    {"pidfile", T_STR, O(pidfile), 0, 0, "", F_IMMUTABLE, NULL, "write the pid here"},
    {"logfile", T_STR, O(logfile), 0, 0, "", F_IMMUTABLE, NULL, "log file, empty for stdout"},
    {"loglevel", T_ENUM, O(loglevel), 0, 0, "notice", 0, loglevels, "debug, verbose, notice or warning"},
    {"dir", T_STR, O(dir), 0, 0, "", F_IMMUTABLE, NULL, "working directory (data files)"},
    {"hz", T_INT, O(hz), 0, INT_MAX, "10", 0, NULL, "background task frequency (active expiry)"},
    {"databases", T_INT, O(databases), 1, 1024, "16", F_IMMUTABLE, NULL, "number of databases"},
    {"keyspace-shards", T_INT, O(keyspace_shards), 1, 4096, "64", F_IMMUTABLE, NULL, "lock shards of the keyspace, a power of two"},
    {"active-expire-enabled", T_BOOL, O(active_expire), 0, 0, "yes", 0, NULL, "reclaim expired keys in the background"},
    {"proto-max-bulk-len", T_MEM, O(proto_max_bulk_len), 1024 * 1024, LLONG_MAX, "536870912", 0, NULL, "largest bulk string accepted"},
    {"client-query-buffer-limit", T_MEM, O(client_query_buffer_limit), 1024 * 1024, LLONG_MAX, "1073741824", 0, NULL, "largest query buffer per client"},
    {"client-output-buffer-limit", T_COB, O(cob), 0, 0, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60", 0, NULL, "<class> <hard> <soft> <soft seconds>"},
    {"requirepass", T_STR, O(requirepass), 0, 0, "", F_SENSITIVE, NULL, "the default user's password (empty: nopass)"},
    {"acllog-max-len", T_INT, O(acllog_max_len), 0, LLONG_MAX, "128", 0, NULL, "entries kept by ACL LOG"},
    {"acl-pubsub-default", T_ENUM, O(acl_pubsub_default), 0, 0, "resetchannels", 0, pubsub_defaults, "channels of new users: resetchannels or allchannels"},
    /* maxmemory*: docs/eviction.md */
    {"maxmemory", T_UMEM, O(maxmemory), 0, 0, "0", 0, NULL, "memory limit in bytes (used_memory), 0 none"},
    {"maxmemory-policy", T_ENUM, O(maxmemory_policy), 0, 0, "noeviction", 0, policies, "what to evict at maxmemory: noeviction, allkeys-lru/lfu/random, volatile-lru/lfu/random/ttl, spill (default with a data-dir)"},
    {"maxmemory-samples", T_INT, O(maxmemory_samples), 1, INT_MAX, "5", 0, NULL, "keys sampled per eviction round (LRU, LFU, TTL)"},
    {"maxmemory-eviction-tenacity", T_INT, O(maxmemory_eviction_tenacity), 0, 100, "10", 0, NULL, "eviction time per command, 0..100 (10: 500 us; 100: unbounded)"},
    {"lfu-log-factor", T_INT, O(lfu_log_factor), 0, INT_MAX, "10", 0, NULL, "LFU counter logarithm factor"},
    {"lfu-decay-time", T_INT, O(lfu_decay_time), 0, INT_MAX, "1", 0, NULL, "LFU counter decay period in minutes"},
    {"save", T_STR, O(save), 0, 0, "", 0, NULL, "snapshot schedule (accepted; snapshots arrive with the storage engine)"},
    {"dbfilename", T_STR, O(dbfilename), 0, 0, "dump.rdb", F_IMMUTABLE, NULL, "snapshot file name"},
    /* the write-ahead log: docs/durability.md, docs/wal_format.md */
    {"data-dir", T_STR, O(data_dir), 0, 0, "", F_IMMUTABLE, NULL, "storage engine directory: WAL in <data-dir>/wal, SSTables in <data-dir>/lsm; the engine is on when set (or with appendonly yes: <dir>/strata-data)"},
    {"appendonly", T_BOOL, O(appendonly), 0, 0, "no", 0, NULL, "write-ahead log: every write is logged before its reply leaves"},
    {"appendfilename", T_STR, O(appendfilename), 0, 0, "appendonly.aof", F_IMMUTABLE, NULL, "accepted for redis.conf compatibility (the WAL lives in <data-dir>/wal)"},
    {"appendfsync", T_ENUM, O(appendfsync), 0, 0, "everysec", 0, fsyncs, "always (fsync before replying, group commit), everysec (background, at most ~1 s lost) or no (the OS decides)"},
    {"aof-load-truncated", T_BOOL, O(aof_load_truncated), 0, 0, "yes", 0, NULL, "cut an incomplete last WAL record at start (a crash mid-write) instead of refusing to start"},
    {"wal-truncate-corrupt", T_BOOL, O(wal_truncate_corrupt), 0, 0, "no", 0, NULL, "start despite a corrupt WAL record: keep the records before it, set the rest aside (*.corrupt, *.skipped)"},
    {"wal-segment-size", T_MEM, O(wal_segment_size), 4096, LLONG_MAX, "67108864", 0, NULL, "start a new WAL segment once the live one reaches this size"},
    {"key-load-delay", T_INT, O(key_load_delay), 0, 1000000, "0", 0, NULL, "testing: sleep this many microseconds after each WAL record replayed at start"},
    /* storage engine: docs/storage.md */
    {"flush-dirty-bytes", T_MEM, O(flush_dirty_bytes), 1024, LLONG_MAX, "67108864", 0, NULL, "start a flush to level 0 once this many bytes were written since the last one"},
    {"flush-interval-ms", T_INT, O(flush_interval_ms), 10, LLONG_MAX, "10000", 0, NULL, "flush dirty entries at least this often (ms)"},
    {"lsm-block-size", T_MEM, O(lsm_block_size), 512, 16777216, "4096", F_IMMUTABLE, NULL, "SSTable data block size before compression"},
    {"lsm-bloom-bits-per-key", T_INT, O(lsm_bloom_bits_per_key), 0, 64, "10", F_IMMUTABLE, NULL, "bloom filter bits per key (10: ~1% false positives)"},
    {"lsm-l0-compaction-trigger", T_INT, O(lsm_l0_compaction_trigger), 1, 1000, "4", F_IMMUTABLE, NULL, "level-0 files that start a compaction"},
    {"lsm-level1-bytes", T_MEM, O(lsm_level1_bytes), 65536, LLONG_MAX, "67108864", F_IMMUTABLE, NULL, "level-1 target size; x10 per level below"},
    {"lsm-target-file-bytes", T_MEM, O(lsm_target_file_bytes), 65536, LLONG_MAX, "33554432", F_IMMUTABLE, NULL, "compaction output file size"},
    {"slowlog-log-slower-than", T_INT, O(slowlog_log_slower_than), -1, LLONG_MAX, "10000", 0, NULL, "slow log threshold in microseconds"},
    {"slowlog-max-len", T_INT, O(slowlog_max_len), 0, LONG_MAX, "128", 0, NULL, "slow log length"},
    {"latency-monitor-threshold", T_INT, O(latency_monitor_threshold), 0, LLONG_MAX, "0", 0, NULL, "record latency events of at least this many ms, 0 off"},
    {"enable-debug-command", T_ENUM, O(enable_debug_cmd), 0, 0, "no", F_IMMUTABLE, protected_modes, "allow DEBUG: no, yes, or local (loopback and unix socket clients)"},
};
#undef O
#define NDIRS (sizeof(dirs) / sizeof(dirs[0]))

static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
#define MAX_HOOKS 4
static config_hook_fn *hooks[NDIRS][MAX_HOOKS];
static char conf_path[4096];
static char **retired;       /* replaced strings, freed at teardown */
static size_t nretired;
static const char *cob_names[] = {"normal", "slave", "pubsub"};

static const directive *find_dir(const char *name) {
    for (size_t i = 0; i < NDIRS; i++)
        if (strcasecmp(dirs[i].name, name) == 0) return &dirs[i];
    /* Redis's old names for the replica class and friends. */
    return NULL;
}

void config_watch(const char *name, config_hook_fn *fn) {
    const directive *d = find_dir(name);
    if (!d) abort();   /* a module names a directive that does not exist */
    config_hook_fn **h = hooks[d - dirs];
    for (int i = 0; i < MAX_HOOKS; i++)
        if (!h[i] || h[i] == fn) {
            h[i] = fn;
            return;
        }
    abort();
}

bool config_is_sensitive(const char *name) {
    const directive *d = find_dir(name);
    return d && (d->flags & F_SENSITIVE);
}

static void *field(const directive *d) { return (char *)&cfg + d->off; }

static void set_str(const directive *d, const char *v) {
    char **f = field(d);
    if (*f) {
        retired = xrealloc(retired, sizeof(char *) * (nretired + 1));
        retired[nretired++] = *f;
    }
    *f = xstrdup(v);
}

static bool parse_cob(const char *v, cob_limit out[COB_CLASSES], char *err, size_t errlen) {
    char buf[1024];
    snprintf(buf, sizeof(buf), "%s", v);
    char *tok[64];
    int n = 0;
    for (char *s = strtok(buf, " \t"); s && n < 64; s = strtok(NULL, " \t")) tok[n++] = s;
    if (n % 4) {
        snprintf(err, errlen, "Wrong number of arguments in buffer limit configuration.");
        return false;
    }
    for (int i = 0; i < n; i += 4) {
        int cls = -1;
        if (!strcasecmp(tok[i], "normal")) cls = COB_NORMAL;
        else if (!strcasecmp(tok[i], "slave") || !strcasecmp(tok[i], "replica")) cls = COB_REPLICA;
        else if (!strcasecmp(tok[i], "pubsub")) cls = COB_PUBSUB;
        unsigned long long uhard = 0, usoft = 0;
        long long secs;
        bool ok = cls >= 0 && util_parse_memory(tok[i + 1], &uhard) &&
                  util_parse_memory(tok[i + 2], &usoft) && util_str2ll(tok[i + 3], strlen(tok[i + 3]), &secs);
        long long hard = (long long)uhard, soft = (long long)usoft;
        if (!ok || hard < 0 || soft < 0 || secs < 0) {
            snprintf(err, errlen, "Invalid client class specified in buffer limit configuration.");
            if (cls >= 0) snprintf(err, errlen, "Error in hard, soft or soft_seconds setting in buffer limit configuration.");
            return false;
        }
        out[cls].hard = hard;
        out[cls].soft = soft;
        out[cls].soft_seconds = secs;
    }
    return true;
}

/* Parse v into the directive's field. On failure, err gets the part of
 * Redis's message after "argument ... - ". */
static bool apply(const directive *d, const char *v, char *err, size_t errlen) {
    long long n;
    switch (d->type) {
    case T_BOOL:
        if (!strcasecmp(v, "yes")) *(bool *)field(d) = true;
        else if (!strcasecmp(v, "no")) *(bool *)field(d) = false;
        else {
            snprintf(err, errlen, "argument must be 'yes' or 'no'");
            return false;
        }
        return true;
    case T_INT:
        if (!util_str2ll(v, strlen(v), &n)) {
            snprintf(err, errlen, "argument couldn't be parsed into an integer");
            return false;
        }
        goto range;
    case T_MEM: {
        unsigned long long u;
        if (!util_parse_memory(v, &u)) {
            snprintf(err, errlen, "argument must be a memory value");
            return false;
        }
        n = (long long)u;   /* as Redis: too big becomes negative, out of range */
        goto range;
    }
    case T_UMEM: {
        unsigned long long u;
        if (!util_parse_memory(v, &u)) {
            snprintf(err, errlen, "argument must be a memory value");
            return false;
        }
        *(unsigned long long *)field(d) = u;
        return true;
    }
    case T_OCTAL: {
        char *end;
        errno = 0;
        n = strtoll(v, &end, 8);
        if (!*v || *end || errno) {
            snprintf(err, errlen, "argument couldn't be parsed into an integer");
            return false;
        }
        goto range;
    }
    range:
        if (n < d->min || n > d->max) {
            snprintf(err, errlen, "argument must be between %lld and %lld inclusive", d->min, d->max);
            return false;
        }
        if (!strcmp(d->name, "keyspace-shards") && (n & (n - 1))) {
            snprintf(err, errlen, "argument must be a power of two");
            return false;
        }
        /* Redis accepts any hz and clamps it to what the cron can do. */
        if (!strcmp(d->name, "hz")) n = n < 1 ? 1 : n > 500 ? 500 : n;
        *(long long *)field(d) = n;
        return true;
    case T_STR:
        set_str(d, v);
        return true;
    case T_ENUM:
        for (int i = 0; d->enums[i]; i++)
            if (!strcasecmp(d->enums[i], v)) {
                *(int *)field(d) = i;
                return true;
            }
        {
            /* Redis lists the values in its own table order, which is
             * ours except for these three. */
            char joined[256];
            size_t n = 0;
            joined[0] = '\0';
            for (int i = 0; d->enums[i] && n < sizeof(joined); i++)
                n += (size_t)snprintf(joined + n, sizeof(joined) - n, "%s%s", i ? ", " : "", d->enums[i]);
            const char *list = d->enums == policies        ? policies_msg
                             : d->enums == fsyncs          ? fsyncs_msg
                             : d->enums == pubsub_defaults ? "allchannels, resetchannels"
                                                           : joined;
            snprintf(err, errlen, "argument(s) must be one of the following: %s", list);
        }
        return false;
    case T_COB: {
        cob_limit tmp[COB_CLASSES];
        memcpy(tmp, cfg.cob, sizeof(tmp));
        if (!parse_cob(v, tmp, err, errlen)) return false;
        memcpy(cfg.cob, tmp, sizeof(tmp));
        return true;
    }
    }
    return false;
}

/* Render d's value as held in *c (the live cfg, or the defaults snapshot). */
static void format_from(const config *c, const directive *d, char *buf, size_t len) {
    const void *f = (const char *)c + d->off;
    switch (d->type) {
    case T_BOOL: snprintf(buf, len, "%s", *(const bool *)f ? "yes" : "no"); break;
    case T_INT: case T_MEM: snprintf(buf, len, "%lld", *(const long long *)f); break;
    case T_UMEM: snprintf(buf, len, "%llu", *(const unsigned long long *)f); break;
    case T_OCTAL: snprintf(buf, len, "%llo", *(const long long *)f); break;
    case T_STR: snprintf(buf, len, "%s", *(char *const *)f ? *(char *const *)f : ""); break;
    case T_ENUM: snprintf(buf, len, "%s", d->enums[*(const int *)f]); break;
    case T_COB: {
        size_t n = 0;
        for (int i = 0; i < COB_CLASSES; i++)
            n += (size_t)snprintf(buf + n, len - n, "%s%s %lld %lld %lld", i ? " " : "", cob_names[i],
                                  c->cob[i].hard, c->cob[i].soft, c->cob[i].soft_seconds);
        break;
    }
    }
}

static void format(const directive *d, char *buf, size_t len) { format_from(&cfg, d, buf, len); }

void config_setup(void) {
    memset(&cfg, 0, sizeof(cfg));
    char err[256];
    for (size_t i = 0; i < NDIRS; i++)
        if (!apply(&dirs[i], dirs[i].def, err, sizeof(err))) {
            fprintf(stderr, "bad default for %s: %s\n", dirs[i].name, err);
            abort();
        }
    /* REWRITE compares against this. Its strings are cfg's first ones,
     * which stay allocated (live or retired) until config_teardown. */
    defaults = cfg;
}

void config_teardown(void) {
    memset(hooks, 0, sizeof(hooks));
    for (size_t i = 0; i < NDIRS; i++)
        if (dirs[i].type == T_STR) {
            free(*(char **)field(&dirs[i]));
            *(char **)field(&dirs[i]) = NULL;
        }
    for (size_t i = 0; i < nretired; i++) free(retired[i]);
    free(retired);
    retired = NULL;
    nretired = 0;
}

/* Join argv[1..] with spaces: multi-word values (save, bind,
 * client-output-buffer-limit) arrive as several arguments in the file but
 * as one string through CONFIG SET. */
static void join(int argc, char **argv, char *out, size_t len) {
    size_t n = 0;
    out[0] = '\0';
    for (int i = 1; i < argc && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%s%s", i > 1 ? " " : "", argv[i]);
}

static bool fatal(int lineno, const char *line, const char *msg) {
    fprintf(stderr, "\n*** FATAL CONFIG FILE ERROR (strata %s) ***\n", STRATA_VERSION);
    if (lineno > 0) fprintf(stderr, "Reading the configuration file, at line %d\n", lineno);
    fprintf(stderr, ">>> '%s'\n%s\n", line, msg);
    return false;
}

static int save_lines;       /* `save` lines seen by the current config_load */

/* One directive from the file or the command line. */
static bool load_line(int lineno, const char *orig, int argc, char **argv) {
    const directive *d = find_dir(argv[0]);
    if (!d) return fatal(lineno, orig, "Bad directive or wrong number of arguments");
    bool multi = d->type == T_COB || !strcmp(d->name, "save") || !strcmp(d->name, "bind");
    if (argc < 2 || (!multi && argc != 2)) {
        /* `save ""` and `requirepass ""` arrive as one empty argument. */
        return fatal(lineno, orig, "wrong number of arguments");
    }
    char val[4096], err[256];
    join(argc, argv, val, sizeof(val));
    /* Redis keeps every `save` line of a load ("save 900 1" then "save 300
     * 10" is "900 1 300 10"); the first replaces the default, `save ""`
     * empties the list. */
    if (!strcmp(d->name, "save") && val[0] && save_lines++ && cfg.save && cfg.save[0]) {
        char both[4096];
        int bl = snprintf(both, sizeof(both), "%s %s", cfg.save, val);
        if (bl > 0 && (size_t)bl < sizeof(both)) memcpy(val, both, (size_t)bl + 1);
    }
    if (d->off == offsetof(config, maxmemory_policy)) cfg.maxmemory_policy_set = true;
    if (!apply(d, val, err, sizeof(err))) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%c%s", err[0] >= 'a' && err[0] <= 'z' ? err[0] - 32 : err[0], err + 1);
        return fatal(lineno, orig, msg);
    }
    return true;
}

/* Split one line the way redis.conf lines are split: reuse the RESP inline
 * splitter, which implements the same quoting rules. */
static int split_line(char *line, char **argv, int max, resp_parser *p) {
    size_t len = strlen(line);
    char *buf = xmalloc(len + 2);
    memcpy(buf, line, len);
    buf[len] = '\n';
    buf[len + 1] = '\0';
    resp_limits lim = {LLONG_MAX, LLONG_MAX, SIZE_MAX};
    size_t used;
    resp_parser_reset(p);
    resp_parser_force_inline(p);
    enum resp_status st = resp_parse(p, buf, len + 1, &lim, &used);
    int n = 0;
    if (st == RESP_OK) {
        resp_bind_args(p, buf);
        for (int i = 0; i < p->argc && n < max; i++) argv[n++] = xstrndup(p->argv[i].ptr, p->argv[i].len);
    } else if (st == RESP_ERROR) {
        n = -1;
    }
    free(buf);
    return n;
}

bool config_load(const char *path, int argc, char **argv) {
    save_lines = 0;
    resp_parser p;
    resp_parser_init(&p);
    bool ok = true;
    if (path && *path) {
        if (!realpath(path, conf_path)) snprintf(conf_path, sizeof(conf_path), "%s", path);
        FILE *f = fopen(path, "r");
        if (!f) {
            fprintf(stderr, "Fatal error, can't open config file '%s': %s\n", path, strerror(errno));
            resp_parser_free(&p);
            return false;
        }
        char line[8192];
        int lineno = 0;
        while (ok && fgets(line, sizeof(line), f)) {
            lineno++;
            line[strcspn(line, "\r\n")] = '\0';
            char *s = line;
            while (*s == ' ' || *s == '\t') s++;
            if (*s == '#' || *s == '\0') continue;
            char *av[64];
            int ac = split_line(s, av, 64, &p);
            if (ac < 0) ok = fatal(lineno, s, "Unbalanced quotes in configuration line");
            else if (ac > 0) ok = load_line(lineno, s, ac, av);
            for (int i = 0; i < ac; i++) free(av[i]);
        }
        fclose(f);
    }
    /* Command-line flags: "--name v1 v2 --other v". */
    for (int i = 0; ok && i < argc;) {
        if (strncmp(argv[i], "--", 2) != 0) {
            ok = fatal(0, argv[i], "Invalid argument: options must start with --");
            break;
        }
        int j = i + 1;
        while (j < argc && !(strncmp(argv[j], "--", 2) == 0 && argv[j][2] && find_dir(argv[j] + 2)))
            j++;
        char *av[64];
        int ac = 0;
        av[ac++] = argv[i] + 2;
        for (int k = i + 1; k < j && ac < 64; k++) av[ac++] = argv[k];
        char orig[512];
        join(ac, av, orig, sizeof(orig));
        char line[600];
        snprintf(line, sizeof(line), "%s %s", av[0], orig);
        ok = load_line(0, line, ac, av);
        i = j;
    }
    resp_parser_free(&p);
    return ok;
}

void config_get(const char *pattern, config_get_fn *fn, void *priv) {
    char buf[1024];
    pthread_mutex_lock(&cfg_lock);
    for (size_t i = 0; i < NDIRS; i++) {
        const directive *d = &dirs[i];
        if (!util_glob_match(pattern, strlen(pattern), d->name, strlen(d->name), true)) continue;
        format(d, buf, sizeof(buf));
        fn(priv, d->name, buf);
    }
    pthread_mutex_unlock(&cfg_lock);
}

bool config_set(int npairs, const char **names, const char **values, char *err, size_t errlen) {
    const directive *ds[64];
    if (npairs > 64) npairs = 64;
    for (int i = 0; i < npairs; i++) {
        ds[i] = find_dir(names[i]);
        if (!ds[i]) {
            snprintf(err, errlen, "ERR Unknown option or number of arguments for CONFIG SET - '%s'", names[i]);
            return false;
        }
        for (int j = 0; j < i; j++)
            if (ds[j] == ds[i]) {
                snprintf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - duplicate parameter", names[i]);
                return false;
            }
        if (ds[i]->flags & F_IMMUTABLE) {
            snprintf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - can't set immutable config", names[i]);
            return false;
        }
    }
    pthread_mutex_lock(&cfg_lock);
    /* All or nothing: apply on a copy first, so a bad value in the third
     * pair leaves the first two unchanged. String fields are only set on
     * the real cfg after every value parsed. */
    config saved = cfg;
    char msg[256];
    for (int i = 0; i < npairs; i++) {
        if (ds[i]->type == T_STR) continue;
        if (!apply(ds[i], values[i], msg, sizeof(msg))) {
            cfg = saved;
            pthread_mutex_unlock(&cfg_lock);
            snprintf(err, errlen, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", names[i], msg);
            return false;
        }
    }
    for (int i = 0; i < npairs; i++)
        if (ds[i]->type == T_STR) set_str(ds[i], values[i]);
    if (cfg.loglevel != saved.loglevel) log_setup(cfg.logfile, cfg.loglevel);
    pthread_mutex_unlock(&cfg_lock);
    /* requirepass is the default user's password (acl.c); cfg_lock is a
     * leaf, so the ACL change and the hooks (which may take their module's
     * lock) run after releasing it. */
    for (int i = 0; i < npairs; i++)
        if (!strcmp(ds[i]->name, "requirepass")) acl_set_requirepass(cfg.requirepass);
    for (int i = 0; i < npairs; i++)
        for (int h = 0; h < MAX_HOOKS && hooks[ds[i] - dirs][h]; h++) hooks[ds[i] - dirs][h]();
    return true;
}

const char *config_file_path(void) { return conf_path; }

const char *config_policy_name(int policy) {
    return policy >= 0 && policy < MM_POLICIES ? policies[policy] : "unknown";
}

/* A value as the file must spell it to read it back through the inline
 * splitter (Redis's sdscatrepr): in double quotes, with backslash, quote
 * and control bytes escaped. out >= 4 * strlen(v) + 3. */
static const char *quote(const char *v, char *out, size_t len) {
    size_t n = 0;
    out[n++] = '"';
    for (; *v && n + 6 < len; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == '\\' || c == '"') { out[n++] = '\\'; out[n++] = (char)c; }
        else if (c == '\n') { out[n++] = '\\'; out[n++] = 'n'; }
        else if (c == '\r') { out[n++] = '\\'; out[n++] = 'r'; }
        else if (c == '\t') { out[n++] = '\\'; out[n++] = 't'; }
        else if (c < 0x20 || c == 0x7f) n += (size_t)snprintf(out + n, len - n, "\\x%02x", c);
        else out[n++] = (char)c;
    }
    out[n++] = '"';
    out[n] = '\0';
    return out;
}

bool config_rewrite(char *err, size_t errlen) {
    if (!conf_path[0]) {
        snprintf(err, errlen, "ERR The server is running without a config file");
        return false;
    }
    FILE *f = fopen(conf_path, "r");
    if (!f) {
        snprintf(err, errlen, "ERR Rewriting config file: %s", strerror(errno));
        return false;
    }
    /* Keep every line; replace the first occurrence of each directive we
     * know with its current value and drop later duplicates; append the
     * directives that differ from their default and were not in the file. */
    bool seen[NDIRS] = {0};
    size_t cap = 1 << 16, len = 0;
    char *out = xmalloc(cap);
    char line[8192], val[1024];
    resp_parser p;
    resp_parser_init(&p);
    pthread_mutex_lock(&cfg_lock);
    while (fgets(line, sizeof(line), f)) {
        char copy[8192];
        snprintf(copy, sizeof(copy), "%s", line);
        copy[strcspn(copy, "\r\n")] = '\0';
        char *s = copy;
        while (*s == ' ' || *s == '\t') s++;
        char *av[64];
        int ac = (*s && *s != '#') ? split_line(s, av, 64, &p) : 0;
        const directive *d = ac > 0 ? find_dir(av[0]) : NULL;
        char outline[8300];
        if (d) {
            size_t di = (size_t)(d - dirs);
            if (seen[di]) outline[0] = '\0';
            else {
                seen[di] = true;
                char q[4200];
                format(d, val, sizeof(val));
                snprintf(outline, sizeof(outline), "%s %s\n", d->name, quote(val, q, sizeof(q)));
            }
        } else {
            snprintf(outline, sizeof(outline), "%s", line);
        }
        for (int i = 0; i < ac; i++) free(av[i]);
        size_t n = strlen(outline);
        if (len + n + 1 > cap) out = xrealloc(out, cap = (len + n + 1) * 2);
        memcpy(out + len, outline, n);
        len += n;
    }
    fclose(f);
    for (size_t i = 0; i < NDIRS; i++) {
        if (seen[i]) continue;
        /* Compare with the snapshot, never by applying the default to
         * cfg: other threads read cfg without the lock, and must not see
         * a default (an empty requirepass) even for a moment. */
        char def[1024];
        format(&dirs[i], val, sizeof(val));
        format_from(&defaults, &dirs[i], def, sizeof(def));
        if (strcmp(def, val) == 0) continue;
        char outline[4400], q[4200];
        int n = snprintf(outline, sizeof(outline), "%s %s\n", dirs[i].name, quote(val, q, sizeof(q)));
        if (len + (size_t)n + 1 > cap) out = xrealloc(out, cap = (len + (size_t)n + 1) * 2);
        memcpy(out + len, outline, (size_t)n);
        len += (size_t)n;
    }
    pthread_mutex_unlock(&cfg_lock);
    resp_parser_free(&p);
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", conf_path);
    FILE *w = fopen(tmp, "w");
    bool ok = w && fwrite(out, 1, len, w) == len && fflush(w) == 0 && fsync(fileno(w)) == 0;
    if (w) fclose(w);
    if (ok) ok = rename(tmp, conf_path) == 0;
    if (!ok) snprintf(err, errlen, "ERR Rewriting config file: %s", strerror(errno));
    free(out);
    return ok;
}

/* The table as conf/strata.conf comments (used by `strata-server --dump-conf`). */
void config_dump_defaults(FILE *out) {
    for (size_t i = 0; i < NDIRS; i++)
        /* multi-word defaults (bind, client-output-buffer-limit) are
         * several arguments of one line, as the file takes them */
        fprintf(out, "# %s\n# %s %s\n\n", dirs[i].help, dirs[i].name,
                dirs[i].def[0] ? dirs[i].def : "\"\"");
}
