/* config.h: server configuration. One table of directives (config.c) feeds
 * the redis.conf-syntax file parser, `--name value` command-line flags,
 * CONFIG GET/SET/REWRITE, and the comments in conf/strata.conf.
 *
 * Reads of `cfg` fields from any thread are plain loads: a CONFIG SET of a
 * numeric field is a single aligned store, and string fields are swapped
 * under config's lock and freed only at shutdown (old strings are kept on a
 * retired list), so a reader never sees freed memory. */
#ifndef STRATA_CONFIG_H
#define STRATA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* maxmemory-policy values, in the order of config.c's name table. The
 * storage engine's `spill` policy (cold entries leave RAM for the SSTables
 * instead of being deleted) takes the next value, MM_SPILL; evict.c keeps a
 * case for every value (docs/eviction.md). */
enum maxmemory_policy {
    MM_NOEVICTION, MM_ALLKEYS_LRU, MM_ALLKEYS_LFU, MM_ALLKEYS_RANDOM,
    MM_VOLATILE_LRU, MM_VOLATILE_LFU, MM_VOLATILE_RANDOM, MM_VOLATILE_TTL,
    MM_SPILL,
    MM_POLICIES
};

enum { COB_NORMAL, COB_REPLICA, COB_PUBSUB, COB_CLASSES };

typedef struct cob_limit {
    long long hard, soft, soft_seconds;
} cob_limit;

typedef struct config {
    /* network */
    char *bind;                 /* space-separated addresses */
    long long port, tcp_backlog, tcp_keepalive, timeout, maxclients;
    char *unixsocket;
    long long unixsocketperm;   /* octal in the file */
    bool protected_mode;
    long long io_threads;
    /* process */
    bool daemonize;
    char *pidfile, *logfile, *dir;
    int loglevel;
    long long hz;
    /* keyspace */
    long long databases, keyspace_shards;
    bool active_expire;
    /* limits */
    long long proto_max_bulk_len, client_query_buffer_limit;
    cob_limit cob[COB_CLASSES];
    /* security */
    char *requirepass;          /* the default user's password (acl.c) */
    long long acllog_max_len;
    int acl_pubsub_default;     /* 0 resetchannels, 1 allchannels */
    /* memory and eviction (evict.c, docs/eviction.md) */
    unsigned long long maxmemory;   /* bytes of used_memory, 0 = no limit */
    long long maxmemory_samples, maxmemory_eviction_tenacity, lfu_log_factor, lfu_decay_time;
    int maxmemory_policy;
    bool maxmemory_policy_set;  /* named in the config file or flags (storage.c picks spill otherwise) */
    /* persistence: the WAL (docs/durability.md); save/dbfilename accepted only */
    char *save, *dbfilename, *appendfilename;
    bool appendonly;
    int appendfsync;            /* enum wal_fsync order: always, everysec, no */
    char *data_dir;             /* storage engine directory ("" = <dir>/strata-data when appendonly) */
    bool aof_load_truncated, wal_truncate_corrupt;
    long long wal_segment_size, key_load_delay;
    /* storage engine (storage.c, docs/storage.md) */
    long long flush_dirty_bytes, flush_interval_ms;
    long long lsm_block_size, lsm_bloom_bits_per_key, lsm_l0_compaction_trigger;
    long long lsm_level1_bytes, lsm_target_file_bytes;
    /* introspection */
    long long slowlog_log_slower_than, slowlog_max_len, latency_monitor_threshold;
    int enable_debug_cmd;       /* PROTECTED_* below */
} config;

/* enable-debug-command: who may run DEBUG (Redis 7.0's protected actions). */
enum { PROTECTED_NO, PROTECTED_YES, PROTECTED_LOCAL };

extern config cfg;

/* Call fn (on the thread that changed it, without config's lock held)
 * after every successful CONFIG SET of the directive. Modules register
 * in their setup and read the initial value from cfg themselves. At most
 * a few hooks per directive. */
typedef void config_hook_fn(void);
void config_watch(const char *name, config_hook_fn *fn);

/* True if the directive's value must never be shown (requirepass): CONFIG
 * SET redacts it from the slow log. */
bool config_is_sensitive(const char *name);

/* Defaults into cfg. */
void config_setup(void);
void config_teardown(void);

/* Load a redis.conf-syntax file, then apply argv-style overrides
 * ("--port", "7000", ...). On error prints Redis's
 * "*** FATAL CONFIG FILE ERROR ***" block to stderr and returns false. */
bool config_load(const char *path, int argc, char **argv);

/* CONFIG GET: calls fn for every directive matching the glob pattern. */
typedef void config_get_fn(void *priv, const char *name, const char *value);
void config_get(const char *pattern, config_get_fn *fn, void *priv);

/* CONFIG SET of several name/value pairs, all or nothing. On failure
 * writes Redis's error text (without "-") into err and returns false. */
bool config_set(int npairs, const char **names, const char **values,
                char *err, size_t errlen);

/* CONFIG REWRITE: rewrite the file we loaded from, keeping comments and
 * unknown lines, updating changed directives. */
bool config_rewrite(char *err, size_t errlen);

/* Write the directive table as commented defaults (conf/strata.conf). */
#include <stdio.h>
void config_dump_defaults(FILE *out);

/* The name of a maxmemory-policy value ("allkeys-lru"), for INFO. */
const char *config_policy_name(int policy);

/* Path of the loaded config file ("" if none), for INFO. */
const char *config_file_path(void);

#endif
