/* cmd_server.c: connection and server commands: PING ECHO QUIT HELLO AUTH
 * SELECT RESET TIME INFO CONFIG CLIENT COMMAND SHUTDOWN. They read the
 * command table, the config table and the client registry; none of them
 * touches a socket directly. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "acl.h"
#include "client.h"
#include "commands.h"
#include "config.h"
#include "durability.h"
#include "evict.h"
#include "keyspace.h"
#include "memory.h"
#include "multi.h"
#include "networking.h"
#include "pubsub.h"
#include "server.h"
#include "slowlog.h"
#include "storage.h"
#include "util.h"

/* ---- connection -------------------------------------------------------- */

void cmd_ping(client *c) {
    if (c->argc > 2) {
        reply_error(c, "ERR wrong number of arguments for 'ping' command");
        return;
    }
    if ((c->flags & CLIENT_PUBSUB) && c->resp == 2) {
        /* A RESP2 subscriber reads everything as a message-like array. */
        reply_array(c, 2);
        reply_bulk(c, "pong", 4);
        if (c->argc == 1) reply_bulk(c, "", 0);
        else reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
        return;
    }
    if (c->argc == 1) reply_raw(c, "+PONG\r\n", 7);
    else reply_bulk(c, c->argv[1].ptr, c->argv[1].len);
}

void cmd_echo(client *c) { reply_bulk(c, c->argv[1].ptr, c->argv[1].len); }

void cmd_quit(client *c) {
    reply_ok(c);
    c->flags |= CLIENT_CLOSE_AFTER_REPLY;
}

void cmd_auth(client *c) {
    if (c->argc > 3) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    /* Copies, so that MONITOR shows "(redacted)" in their place whatever
     * the outcome. */
    resp_arg user_arg = c->argv[1], pass_arg = c->argv[c->argc - 1];
    for (int j = 1; j < c->argc; j++) client_redact_arg(c, j);
    if (c->argc == 2 && acl_default_nopass()) {
        reply_error(c, "ERR AUTH <password> called without any password configured for the default user. "
                       "Are you sure your configuration is correct?");
        return;
    }
    const char *user = c->argc == 3 ? user_arg.ptr : "default";
    size_t ulen = c->argc == 3 ? user_arg.len : 7;
    if (acl_authenticate(c, user, ulen, pass_arg.ptr, pass_arg.len)) reply_ok(c);
    else reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
}

void cmd_hello(client *c) {
    long long ver = 0;
    int next = 1;
    if (c->argc >= 2) {
        if (!util_str2ll(c->argv[1].ptr, c->argv[1].len, &ver)) {
            reply_error(c, "ERR Protocol version is not an integer or out of range");
            return;
        }
        next = 2;
        if (ver < 2 || ver > 3) {
            reply_error(c, "NOPROTO unsupported protocol version");
            return;
        }
    }
    /* AUTH authenticates as it is parsed (Redis 7.0), and its arguments
     * are redacted for MONITOR even when it fails. */
    const char *setname = NULL;
    size_t setname_len = 0;
    for (int j = next; j < c->argc; j++) {
        int left = c->argc - j - 1;
        if (arg_is(c, j, "AUTH") && left >= 2) {
            /* Redis 7.0 authenticates as it meets the option, before
             * checking the ones after it. */
            resp_arg user = c->argv[j + 1], pass = c->argv[j + 2];
            client_redact_arg(c, j + 1);
            client_redact_arg(c, j + 2);
            if (!acl_authenticate(c, user.ptr, user.len, pass.ptr, pass.len)) {
                reply_error(c, "WRONGPASS invalid username-password pair or user is disabled.");
                return;
            }
            j += 2;
        } else if (arg_is(c, j, "SETNAME") && left >= 1) {
            setname = c->argv[j + 1].ptr;
            setname_len = c->argv[j + 1].len;
            j += 1;
        } else {
            reply_errorf(c, "ERR Syntax error in HELLO option '%s'", c->argv[j].ptr);
            return;
        }
    }
    if (!c->authenticated) {
        reply_error(c, "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                       "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
                       "select the RESP protocol version at the same time");
        return;
    }
    if (setname) {
        for (size_t i = 0; i < setname_len; i++)
            if (setname[i] < '!' || setname[i] > '~') {
                reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
        net_set_client_name(c, setname_len ? xstrndup(setname, setname_len) : NULL);
    }
    if (ver) {
        c->resp = (int)ver;
        pubsub_client_resp_changed(c);
    }
    reply_map(c, 7);
    reply_bulk_cstr(c, "server");
    reply_bulk_cstr(c, "redis");
    reply_bulk_cstr(c, "version");
    reply_bulk_cstr(c, STRATA_REDIS_COMPAT_VERSION);
    reply_bulk_cstr(c, "proto");
    reply_int(c, c->resp);
    reply_bulk_cstr(c, "id");
    reply_int(c, (long long)c->id);
    reply_bulk_cstr(c, "mode");
    reply_bulk_cstr(c, "standalone");
    reply_bulk_cstr(c, "role");
    reply_bulk_cstr(c, "master");
    reply_bulk_cstr(c, "modules");
    reply_array(c, 0);
}

void cmd_select(client *c) {
    long long db;
    if (!arg_ll(c, 1, &db, NULL)) return;
    if (db < 0 || db >= ks_ndbs()) {
        reply_error(c, ERR_DB_RANGE);
        return;
    }
    c->db = (int)db;
    reply_ok(c);
}

void cmd_reset(client *c) {
    multi_client_reset(c);
    /* Subscriptions and MONITOR end silently (no unsubscribe messages). */
    pubsub_client_reset(c);
    c->db = 0;
    c->resp = 2;
    c->reply_mode = 0;
    c->no_evict = false;
    acl_client_reset(c);
    net_set_client_name(c, NULL);
    reply_simple(c, "RESET");
}

void cmd_time(client *c) {
    int64_t us = util_us();
    reply_array(c, 2);
    reply_bulk_ll(c, us / 1000000);
    reply_bulk_ll(c, us % 1000000);
}

/* SAVE / BGSAVE / LASTSAVE: with the storage engine a "save" is a flush of
 * every dirty entry to level 0 (docs/storage.md): SAVE waits for one that
 * starts after it, BGSAVE starts one (or queues it behind the one
 * running) and returns. */
void cmd_save(client *c) {
    char err[512];
    if (storage_save(err, sizeof(err)) != 0) {
        reply_error(c, err);
        return;
    }
    reply_ok(c);
}

void cmd_bgsave(client *c) {
    if (c->argc > 2 || (c->argc == 2 && !arg_is(c, 1, "SCHEDULE"))) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (!storage_enabled()) {
        reply_error(c, "ERR persistence is off (set data-dir, or appendonly yes)");
        return;
    }
    storage_request_flush(STORAGE_FLUSH_SAVE);
    reply_simple(c, "Background saving started");
}

void cmd_lastsave(client *c) { reply_int(c, storage_lastsave()); }

void cmd_shutdown(client *c) {
    bool abort_ = false;
    for (int j = 1; j < c->argc; j++) {
        if (arg_is(c, j, "NOSAVE") || arg_is(c, j, "SAVE") || arg_is(c, j, "NOW") || arg_is(c, j, "FORCE"))
            continue;
        if (arg_is(c, j, "ABORT")) {
            abort_ = true;
            continue;
        }
        reply_error(c, ERR_SYNTAX);
        return;
    }
    if (abort_) {
        if (c->argc != 2) reply_error(c, ERR_SYNTAX);
        else reply_error(c, "ERR No shutdown in progress.");
        return;
    }
    /* Like Redis, no reply on success: the connection just closes. */
    server_request_shutdown(0);
    c->flags |= CLIENT_CLOSE_ASAP;
}

/* ---- INFO ---------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap * 2 + (size_t)(n > 0 ? n : 0) + 256;
        b->p = xrealloc(b->p, b->cap);
    }
}

static void human(char *buf, size_t len, double n) {
    const char *units = "BKMGTP";
    int u = 0;
    while (n >= 1024 && u < 5) {
        n /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, len, "%.0fB", n);
    else snprintf(buf, len, "%.2f%c", n, units[u]);
}

static bool want(int argc, resp_arg *argv, const char *section, bool deflt) {
    if (argc == 0) return deflt;
    for (int i = 0; i < argc; i++) {
        if (util_eq_nocase(argv[i].ptr, argv[i].len, section)) return true;
        if (util_eq_nocase(argv[i].ptr, argv[i].len, "all") ||
            util_eq_nocase(argv[i].ptr, argv[i].len, "everything"))
            return true;
        if (util_eq_nocase(argv[i].ptr, argv[i].len, "default") && deflt) return true;
    }
    return false;
}

static void info_section(sbuf *b, const char *title, bool *first) {
    sb_printf(b, "%s# %s\r\n", *first ? "" : "\r\n", title);
    *first = false;
}

void cmd_info(client *c) {
    int argc = c->argc - 1;
    resp_arg *argv = c->argv + 1;
    sbuf b = {xmalloc(4096), 0, 4096};
    bool first = true;
    int64_t now = util_ms();
    char h1[32], h2[32], h3[32];
    if (want(argc, argv, "server", true)) {
        struct utsname un;
        uname(&un);
        info_section(&b, "Server", &first);
        sb_printf(&b,
                  "redis_version:%s\r\nstrata_version:%s\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
                  "redis_build_id:0\r\nredis_mode:standalone\r\nos:%s %s %s\r\narch_bits:64\r\n"
                  "monotonic_clock:POSIX clock_gettime\r\nmultiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\n"
                  "gcc_version:%d.%d.%d\r\nprocess_id:%d\r\nprocess_supervised:no\r\nrun_id:%s\r\ntcp_port:%lld\r\n"
                  "server_time_usec:%lld\r\nuptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\nhz:%lld\r\n"
                  "configured_hz:%lld\r\nlru_clock:%lld\r\nexecutable:%s\r\nconfig_file:%s\r\nio_threads_active:%d\r\n",
                  STRATA_REDIS_COMPAT_VERSION, STRATA_VERSION, un.sysname, un.release, un.machine,
                  __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__, srv.pid, srv.runid, cfg.port,
                  (long long)util_us(), (long long)(now - srv.start_ms) / 1000,
                  (long long)(now - srv.start_ms) / 86400000, cfg.hz, cfg.hz,
                  (long long)((now / 1000) & 0xffffff), srv.executable, config_file_path(),
                  net_nthreads() > 1);
    }
    if (want(argc, argv, "clients", true)) {
        info_section(&b, "Clients", &first);
        sb_printf(&b,
                  "connected_clients:%llu\r\ncluster_connections:0\r\nmaxclients:%lld\r\n"
                  "client_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:%llu\r\n"
                  "tracking_clients:0\r\nclients_in_timeout_table:0\r\n",
                  (unsigned long long)net_connected_clients(), cfg.maxclients,
                  (unsigned long long)net_held_clients());
    }
    if (want(argc, argv, "memory", true)) {
        size_t used = mem_refresh(), rss = util_rss_bytes();
        size_t peak = atomic_load(&srv.peak_memory);
        if (used > peak) peak = used;
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        info_section(&b, "Memory", &first);
        human(h1, sizeof(h1), (double)used);
        human(h2, sizeof(h2), (double)rss);
        human(h3, sizeof(h3), (double)peak);
        sb_printf(&b,
                  "used_memory:%zu\r\nused_memory_human:%s\r\nused_memory_rss:%zu\r\nused_memory_rss_human:%s\r\n"
                  "used_memory_peak:%zu\r\nused_memory_peak_human:%s\r\ntotal_system_memory:%lld\r\n",
                  used, h1, rss, h2, peak, h3, (long long)pages * psz);
        unsigned long long maxmem = cfg.maxmemory;
        human(h1, sizeof(h1), (double)maxmem);
        sb_printf(&b,
                  "maxmemory:%llu\r\nmaxmemory_human:%s\r\nmaxmemory_policy:%s\r\nmem_fragmentation_ratio:%.2f\r\n"
                  "mem_not_counted_for_evict:%zu\r\nmem_allocator:%s\r\nlazyfree_pending_objects:0\r\n",
                  maxmem, h1, config_policy_name(cfg.maxmemory_policy),
                  used ? (double)rss / (double)used : 0.0, evict_not_counted(), mem_allocator_name());
    }
    if (want(argc, argv, "persistence", true)) {
        info_section(&b, "Persistence", &first);
        /* rdb_*: what monitoring tools read, mapped onto flushes (a flush
         * to level 0 is strata's "save", docs/storage.md). */
        storage_info si;
        storage_get_info(&si);
        char pbuf[4096];
        durability_info(pbuf, sizeof(pbuf));   /* loading, rdb_* (from si), aof_*, wal_* */
        sb_printf(&b, "%s", pbuf);
        if (si.enabled) {
            sb_printf(&b,
                      "lsm_enabled:1\r\nlsm_data_dir:%s\r\nlsm_levels:%d\r\nlsm_total_bytes:%llu\r\n"
                      "lsm_pending_compaction_bytes:%llu\r\nlsm_compacting:%d\r\nlsm_compactions:%llu\r\n",
                      storage_data_dir(), si.levels, (unsigned long long)si.total_bytes,
                      (unsigned long long)si.pending_compaction_bytes, si.compacting ? 1 : 0,
                      (unsigned long long)si.compactions);
            for (int i = 0; i < 8 && i < (si.levels > 0 ? si.levels : 1); i++)
                sb_printf(&b, "lsm_level%d:runs=%d,bytes=%llu\r\n", i, si.files[i], (unsigned long long)si.bytes[i]);
            sb_printf(&b,
                      "lsm_spilled_keys:%llu\r\nlsm_dirty_keys:%llu\r\nlsm_dirty_bytes:%llu\r\n"
                      "lsm_pending_tombstones:%llu\r\nlsm_flushes:%llu\r\nlsm_flushed_records:%llu\r\n"
                      "lsm_flush_failures:%llu\r\nlsm_spill_loads:%llu\r\nlsm_spill_load_errors:%llu\r\n"
                      "lsm_values_spilled:%llu\r\nlsm_gets:%llu\r\nlsm_bloom_negatives:%llu\r\nlsm_block_reads:%llu\r\n",
                      (unsigned long long)si.spilled_keys, (unsigned long long)si.dirty_keys,
                      (unsigned long long)si.dirty_bytes, (unsigned long long)si.pending_tombstones,
                      (unsigned long long)si.flushes, (unsigned long long)si.flushed_records,
                      (unsigned long long)si.flush_failures, (unsigned long long)si.spill_loads,
                      (unsigned long long)si.spill_load_errors, (unsigned long long)evict_stat_spilled(),
                      (unsigned long long)si.lsm_gets, (unsigned long long)si.bloom_negatives,
                      (unsigned long long)si.block_reads);
        } else {
            sb_printf(&b, "lsm_enabled:0\r\n");
        }
    }
    if (want(argc, argv, "stats", true)) {
        info_section(&b, "Stats", &first);
        sb_printf(&b,
                  "total_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
                  "instantaneous_ops_per_sec:%llu\r\ntotal_net_input_bytes:%llu\r\ntotal_net_output_bytes:%llu\r\n"
                  "rejected_connections:%llu\r\nexpired_keys:%llu\r\nevicted_keys:%llu\r\nevicted_clients:0\r\n"
                  "total_eviction_exceeded_time:%llu\r\ncurrent_eviction_exceeded_time:%llu\r\nkeyspace_hits:%llu\r\n"
                  "keyspace_misses:%llu\r\npubsub_channels:%lu\r\npubsub_patterns:%lu\r\npubsubshard_channels:%lu\r\n"
                  "total_error_replies:%llu\r\n"
                  "client_query_buffer_limit_disconnections:%llu\r\nclient_output_buffer_limit_disconnections:%llu\r\n",
                  (unsigned long long)srv.stats.total_connections, (unsigned long long)net_total_commands(),
                  (unsigned long long)atomic_load(&srv.ops_per_sec), (unsigned long long)net_input_bytes(),
                  (unsigned long long)net_output_bytes(), (unsigned long long)srv.stats.rejected_connections,
                  (unsigned long long)ks_stat_expired(), (unsigned long long)evict_stat_evicted(),
                  (unsigned long long)evict_stat_exceeded_total_ms(),
                  (unsigned long long)evict_stat_exceeded_current_ms(), (unsigned long long)ks_stat_hits(),
                  (unsigned long long)ks_stat_misses(), pubsub_nchannels(), pubsub_npatterns(),
                  pubsub_nshardchannels(), (unsigned long long)srv.stats.total_error_replies,
                  (unsigned long long)srv.stats.client_qbuf_limit_disconnections,
                  (unsigned long long)srv.stats.client_obuf_limit_disconnections);
    }
    if (want(argc, argv, "replication", true)) {
        info_section(&b, "Replication", &first);
        sb_printf(&b,
                  "role:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
                  "master_replid:%s\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n"
                  "master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\n"
                  "repl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
                  srv.runid);
    }
    if (want(argc, argv, "cpu", true)) {
        struct rusage self, kids;
        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_CHILDREN, &kids);
#define TV(t) ((double)(t).tv_sec + (double)(t).tv_usec / 1e6)
        info_section(&b, "CPU", &first);
        sb_printf(&b,
                  "used_cpu_sys:%.6f\r\nused_cpu_user:%.6f\r\nused_cpu_sys_children:%.6f\r\n"
                  "used_cpu_user_children:%.6f\r\n",
                  TV(self.ru_stime), TV(self.ru_utime), TV(kids.ru_stime), TV(kids.ru_utime));
#undef TV
    }
    if (want(argc, argv, "commandstats", false)) {
        info_section(&b, "Commandstats", &first);
        for (int i = 0; i < command_count(); i++) {
            const command *top = command_at(i);
            for (int s = -1; s < top->nsubs; s++) {
                const command *cmd = s < 0 ? top : top->subs[s];
                command_stats st;
                command_stats_get(cmd, &st);
                if (!st.calls && !st.rejected_calls && !st.failed_calls) continue;
                sb_printf(&b, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,failed_calls=%llu\r\n",
                          cmd->name, (unsigned long long)st.calls, (unsigned long long)st.usec,
                          st.calls ? (double)st.usec / (double)st.calls : 0.0,
                          (unsigned long long)st.rejected_calls, (unsigned long long)st.failed_calls);
            }
        }
    }
    if (want(argc, argv, "keyspace", true)) {
        info_section(&b, "Keyspace", &first);
        for (int db = 0; db < ks_ndbs(); db++) {
            uint64_t keys = ks_dbsize(db);
            if (!keys) continue;
            sb_printf(&b, "db%d:keys=%llu,expires=%llu,avg_ttl=0\r\n", db, (unsigned long long)keys,
                      (unsigned long long)ks_expires_count(db));
        }
    }
    reply_verbatim(c, b.p, b.len, "txt");
    free(b.p);
}

/* ---- CONFIG ---------------------------------------------------------------- */

typedef struct cfg_get_ctx {
    client *c;
    const char *literal;
    long n;
    const char *seen[128];
    int nseen;
} cfg_get_ctx;

static void cfg_get_one(void *priv, const char *name, const char *value) {
    cfg_get_ctx *x = priv;
    for (int i = 0; i < x->nseen; i++)
        if (x->seen[i] == name) return;
    if (x->nseen < 128) x->seen[x->nseen++] = name;
    /* A pattern without glob characters names one directive, and Redis
     * echoes it as the client spelled it (case included). */
    reply_bulk_cstr(x->c, x->literal ? x->literal : name);
    reply_bulk_cstr(x->c, value);
    x->n++;
}

void cmd_config_get(client *c) {
    cfg_get_ctx x = {.c = c};
    size_t h = reply_defer_len(c);
    for (int j = 2; j < c->argc; j++) {
        x.literal = strpbrk(c->argv[j].ptr, "*?[\\") ? NULL : c->argv[j].ptr;
        config_get(c->argv[j].ptr, cfg_get_one, &x);
    }
    reply_set_deferred_map(c, h, x.n);
}

void cmd_config_set(client *c) {
    if (c->argc % 2 != 0) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    int n = (c->argc - 2) / 2;
    const char *names[64], *values[64];
    if (n > 64) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    for (int i = 0; i < n; i++) {
        names[i] = c->argv[2 + 2 * i].ptr;
        values[i] = c->argv[3 + 2 * i].ptr;
        if (config_is_sensitive(names[i])) client_redact_arg(c, 3 + 2 * i);   /* values[i] keeps it */
    }
    char err[512];
    if (!config_set(n, names, values, err, sizeof(err))) {
        reply_error(c, err);
        return;
    }
    /* Redis applies a new maxmemory at once: evict now, not at the next
     * command (config.c knows no keyspace; the hook lives here). */
    for (int i = 0; i < n; i++)
        if (!strcasecmp(names[i], "maxmemory")) {
            evict_maxmemory_changed();
            break;
        }
    reply_ok(c);
}

void cmd_config_resetstat(client *c) {
    ks_stat_reset();
    net_stat_reset();
    command_stats_reset();
    atomic_store(&srv.stats.total_connections, 0);
    atomic_store(&srv.stats.rejected_connections, 0);
    atomic_store(&srv.stats.total_error_replies, 0);
    atomic_store(&srv.stats.client_qbuf_limit_disconnections, 0);
    atomic_store(&srv.stats.client_obuf_limit_disconnections, 0);
    atomic_store(&srv.peak_memory, mem_refresh());
    evict_stat_reset();
    reply_ok(c);
}

void cmd_config_rewrite(client *c) {
    char err[512];
    if (config_rewrite(err, sizeof(err))) reply_ok(c);
    else reply_error(c, err);
}

void cmd_config_help(client *c) {
    static const char *const lines[] = {
        "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
        "RESETSTAT", "    Reset statistics reported by the INFO command.",
        "REWRITE", "    Rewrite the configuration file.", NULL};
    reply_help(c, "CONFIG", lines);
}

/* ---- CLIENT ------------------------------------------------------------------ */

void cmd_client_id(client *c) { reply_int(c, (long long)c->id); }

static bool valid_name(client *c, const resp_arg *a) {
    for (size_t i = 0; i < a->len; i++)
        if (a->ptr[i] < '!' || a->ptr[i] > '~') {
            reply_error(c, "ERR Client names cannot contain spaces, newlines or special characters.");
            return false;
        }
    return true;
}

void cmd_client_setname(client *c) {
    if (!valid_name(c, &c->argv[2])) return;
    net_set_client_name(c, c->argv[2].len ? xstrndup(c->argv[2].ptr, c->argv[2].len) : NULL);
    reply_ok(c);
}

void cmd_client_getname(client *c) {
    if (c->name) reply_bulk_cstr(c, c->name);
    else reply_null(c);
}

void cmd_client_setinfo(client *c) {
    bool is_name = arg_is(c, 2, "LIB-NAME"), is_ver = arg_is(c, 2, "LIB-VER");
    if (!is_name && !is_ver) {
        reply_errorf(c, "ERR Unrecognized option '%s'", c->argv[2].ptr);
        return;
    }
    for (size_t i = 0; i < c->argv[3].len; i++)
        if (c->argv[3].ptr[i] < '!' || c->argv[3].ptr[i] > '~') {
            reply_errorf(c, "ERR %s cannot contain spaces, newlines or special characters.",
                         is_name ? "lib-name" : "lib-ver");
            return;
        }
    char *v = c->argv[3].len ? xstrndup(c->argv[3].ptr, c->argv[3].len) : NULL;
    net_set_client_lib(c, is_name ? &c->lib_name : &c->lib_ver, v);
    reply_ok(c);
}

typedef struct list_ctx {
    client *c;
    sbuf *b;
    long long *ids;
    int nids;
    int type;                  /* -1 any, else a COB_* class (client type) */
} list_ctx;

/* TYPE names as Redis's getClientTypeByName; master/replica clients do not
 * exist here, so those types match nobody (TYPE_NONE). -2: unknown. */
#define TYPE_NONE 99
static int client_type_by_name(const client *c, int j) {
    if (arg_is(c, j, "normal")) return COB_NORMAL;
    if (arg_is(c, j, "pubsub")) return COB_PUBSUB;
    if (arg_is(c, j, "master") || arg_is(c, j, "replica") || arg_is(c, j, "slave")) return TYPE_NONE;
    return -2;
}

static void list_one(void *priv, client *other) {
    list_ctx *x = priv;
    if (x->nids) {
        bool found = false;
        for (int i = 0; i < x->nids; i++)
            if ((uint64_t)x->ids[i] == other->id) found = true;
        if (!found) return;
    }
    if (x->type >= 0 && net_client_type(other) != x->type) return;
    char line[1024];
    net_client_info(other, line, sizeof(line));
    sb_printf(x->b, "%s\n", line);
}

void cmd_client_list(client *c) {
    sbuf b = {xmalloc(1024), 0, 1024};
    long long ids[64];
    list_ctx x = {c, &b, ids, 0, -1};
    b.p[0] = '\0';
    for (int j = 2; j < c->argc; j++) {
        if (arg_is(c, j, "TYPE") && j + 1 < c->argc) {
            j++;
            x.type = client_type_by_name(c, j);
            if (x.type != -2) continue;
            reply_errorf(c, "ERR Unknown client type '%s'", c->argv[j].ptr);
            free(b.p);
            return;
        } else if (arg_is(c, j, "ID") && j + 1 < c->argc) {
            for (j++; j < c->argc && x.nids < 64; j++) {
                long long id;
                if (!util_str2ll(c->argv[j].ptr, c->argv[j].len, &id) || id <= 0) {
                    reply_error(c, "ERR Invalid client ID");
                    free(b.p);
                    return;
                }
                ids[x.nids++] = id;
            }
        } else {
            reply_error(c, ERR_SYNTAX);
            free(b.p);
            return;
        }
    }
    net_foreach_client(list_one, &x);
    reply_verbatim(c, b.p, b.len, "txt");
    free(b.p);
}

void cmd_client_info(client *c) {
    char line[1024];
    net_client_info(c, line, sizeof(line));
    size_t n = strlen(line);
    line[n++] = '\n';
    reply_verbatim(c, line, n, "txt");
}

typedef struct kill_ctx {
    client *self;
    const char *addr, *laddr;
    long long id;
    bool skipme;
    int type;                  /* -1 any, else a COB_* class */
    const char *user;
    long long maxage;
    long killed;
} kill_ctx;

static void kill_one(void *priv, client *other) {
    kill_ctx *k = priv;
    /* Already being closed by its thread: Redis would have freed it. */
    if (atomic_load(&other->kill_requested)) return;
    if (k->addr && strcmp(other->addr, k->addr) != 0) return;
    if (k->laddr && strcmp(other->laddr, k->laddr) != 0) return;
    if (k->id && (uint64_t)k->id != other->id) return;
    if (k->type >= 0 && net_client_type(other) != k->type) return;
    if (k->user && strcmp(k->user, acl_client_username(other)) != 0) return;
    if (k->maxage && (util_ms() - other->ctime_ms) / 1000 < k->maxage) return;
    if (other == k->self && k->skipme) return;
    if (other == k->self) k->self->flags |= CLIENT_CLOSE_AFTER_REPLY;
    else net_kill_client(other);
    k->killed++;
}

void cmd_client_kill(client *c) {
    kill_ctx k = {.self = c, .skipme = true, .type = -1};
    if (c->argc == 3) {
        /* old form: CLIENT KILL addr:port; the caller itself is fair game */
        k.addr = c->argv[2].ptr;
        k.skipme = false;
        net_foreach_client(kill_one, &k);
        if (k.killed == 0) reply_error(c, "ERR No such client");
        else reply_ok(c);
        return;
    }
    if (c->argc % 2 != 0) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    for (int j = 2; j < c->argc; j += 2) {
        const char *v = c->argv[j + 1].ptr;
        if (arg_is(c, j, "ID")) {
            if (!util_str2ll(v, c->argv[j + 1].len, &k.id) || k.id <= 0) {
                reply_error(c, "ERR client-id should be greater than 0");
                return;
            }
        } else if (arg_is(c, j, "ADDR")) {
            k.addr = v;
        } else if (arg_is(c, j, "LADDR")) {
            k.laddr = v;
        } else if (arg_is(c, j, "TYPE")) {
            k.type = client_type_by_name(c, j + 1);
            if (k.type == -2) {
                reply_errorf(c, "ERR Unknown client type '%s'", v);
                return;
            }
        } else if (arg_is(c, j, "USER")) {
            if (!acl_user_exists(v, c->argv[j + 1].len)) {
                reply_errorf(c, "ERR No such user '%s'", v);
                return;
            }
            k.user = v;
        } else if (arg_is(c, j, "SKIPME")) {
            if (arg_is(c, j + 1, "yes")) k.skipme = true;
            else if (arg_is(c, j + 1, "no")) k.skipme = false;
            else {
                reply_error(c, ERR_SYNTAX);
                return;
            }
        } else if (arg_is(c, j, "MAXAGE")) {
            if (!util_str2ll(v, c->argv[j + 1].len, &k.maxage) || k.maxage <= 0) {
                reply_error(c, ERR_SYNTAX);
                return;
            }
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    net_foreach_client(kill_one, &k);
    reply_int(c, k.killed);
}

void cmd_client_reply(client *c) {
    if (arg_is(c, 2, "ON")) {
        c->reply_mode = 0;
        reply_ok(c);
    } else if (arg_is(c, 2, "OFF")) {
        c->reply_mode = 1;
    } else if (arg_is(c, 2, "SKIP")) {
        if (c->reply_mode == 0 || c->reply_mode == 3) c->reply_mode = 2;
    } else {
        reply_error(c, ERR_SYNTAX);
    }
}

void cmd_client_no_evict(client *c) {
    if (arg_is(c, 2, "ON")) c->no_evict = true;
    else if (arg_is(c, 2, "OFF")) c->no_evict = false;
    else {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    reply_ok(c);
}

/* CLIENT PAUSE timeout [WRITE|ALL]: Redis 7.0's argument checks and texts. */
void cmd_client_pause(client *c) {
    long long ms;
    if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &ms)) {
        reply_error(c, "ERR timeout is not an integer or out of range");
        return;
    }
    if (ms < 0) {
        reply_error(c, "ERR timeout is negative");
        return;
    }
    int type = NET_PAUSE_ALL;
    if (c->argc == 4) {
        if (arg_is(c, 3, "WRITE")) type = NET_PAUSE_WRITE;
        else if (!arg_is(c, 3, "ALL")) {
            reply_error(c, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    } else if (c->argc > 4) {
        reply_subcommand_syntax_error(c);
        return;
    }
    /* As in Redis, 0 ms ends at once (but still makes a running WRITE
     * pause an ALL pause until its end), and a time past the clock's
     * range wraps around into the past. */
    int64_t end = ms ? (int64_t)((uint64_t)util_ms() + (uint64_t)ms) : 0;
    net_pause(type, end);
    reply_ok(c);
}

void cmd_client_unpause(client *c) {
    net_unpause();
    reply_ok(c);
}

void cmd_client_help(client *c) {
    static const char *const lines[] = {
        "GETNAME", "    Return the name of the current connection.",
        "ID", "    Return the ID of the current connection.",
        "INFO", "    Return information about the current client connection.",
        "KILL <ip:port>", "    Kill connection made from <ip:port>.",
        "KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are:",
        "    * ADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made from the specified address",
        "    * LADDR (<ip:port>|<unixsocket>:0)", "      Kill connections made to specified local address",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Kill connections by type.",
        "    * USER <username>", "      Kill connections authenticated by <username>.",
        "    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes).",
        "LIST [options ...]", "    Return information about client connections. Options:",
        "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)", "      Return clients of specified type.",
        "    * ID <client-id> [<client-id> ...]", "      Return clients of specified ids.",
        "UNPAUSE", "    Stop the current client pause, resuming traffic.",
        "PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
        "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
        "SETNAME <name>", "    Assign the name <name> to the current connection.",
        "SETINFO <LIB-NAME|LIB-VER> <value>", "    Set client library name or version.",
        "NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.", NULL};
    reply_help(c, "CLIENT", lines);
}

/* ---- COMMAND -------------------------------------------------------------------- */

static const struct { uint32_t bit; const char *name; } flag_names[] = {
    {CMD_WRITE, "write"}, {CMD_READONLY, "readonly"}, {CMD_DENYOOM, "denyoom"}, {CMD_ADMIN, "admin"},
    {CMD_PUBSUB, "pubsub"}, {CMD_NOSCRIPT, "noscript"}, {CMD_BLOCKING, "blocking"},
    {CMD_LOADING, "loading"}, {CMD_STALE, "stale"}, {CMD_SKIP_MONITOR, "skip_monitor"},
    {CMD_SKIP_SLOWLOG, "skip_slowlog"}, {CMD_ASKING, "asking"}, {CMD_FAST, "fast"},
    {CMD_NO_AUTH, "no_auth"}, {CMD_MAY_REPLICATE, "may_replicate"},
    {CMD_NO_MANDATORY_KEYS, "no_mandatory_keys"}, {CMD_NO_MULTI, "no_multi"},
    {CMD_MOVABLE_KEYS, "movablekeys"}, {CMD_ALLOW_BUSY, "allow_busy"},
};

static void reply_words_set(client *c, const char *words) {
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", words);
    long n = 0;
    for (char *s, *w = strtok_r(buf, " ", &s); w; w = strtok_r(NULL, " ", &s)) n++;
    reply_set(c, n);
    snprintf(buf, sizeof(buf), "%s", words);
    for (char *s, *w = strtok_r(buf, " ", &s); w; w = strtok_r(NULL, " ", &s)) reply_simple(c, w);
}

/* A blob whose top level is an array, sent as a set to RESP3 clients. */
static void reply_blob_as_set(client *c, const char *blob, size_t len) {
    if (c->resp == 3 && blob[0] == '*') {
        reply_raw(c, "~", 1);
        reply_raw(c, blob + 1, len - 1);
    } else {
        reply_resp3_blob(c, blob, len);
    }
}

static void reply_command_info(client *c, const command *cmd) {
    reply_array(c, 10);
    reply_bulk_cstr(c, cmd->name);
    reply_int(c, cmd->arity);
    long nf = 0;
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if (cmd->flags & flag_names[i].bit) nf++;
    reply_set(c, nf);
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++)
        if (cmd->flags & flag_names[i].bit) reply_simple(c, flag_names[i].name);
    reply_int(c, cmd->first_key);
    reply_int(c, cmd->last_key);
    reply_int(c, cmd->key_step);
    reply_words_set(c, cmd->acl_categories);
    /* Tips, key specs and subcommands are sets in RESP3 replies. */
    reply_blob_as_set(c, cmd->tips, cmd->tips_len);
    reply_blob_as_set(c, cmd->key_specs, cmd->key_specs_len);
    /* Redis sends an empty set when there are no subcommands, an array
     * otherwise. */
    if (cmd->nsubs) reply_array(c, cmd->nsubs);
    else reply_set(c, 0);
    for (int i = 0; i < cmd->nsubs; i++) reply_command_info(c, cmd->subs[i]);
}

static void reply_command_docs(client *c, const command *cmd) {
    /* The blob is a map; containers get one more field, "subcommands". */
    const char *p = cmd->docs;
    long n = strtol(p + 1, NULL, 10);
    const char *body = strchr(p, '\n') + 1;
    size_t body_len = cmd->docs_len - (size_t)(body - p);
    reply_map(c, n + (cmd->nsubs ? 1 : 0));
    reply_resp3_blob(c, body, body_len);
    if (cmd->nsubs) {
        reply_bulk_cstr(c, "subcommands");
        reply_map(c, cmd->nsubs);
        for (int i = 0; i < cmd->nsubs; i++) {
            reply_bulk_cstr(c, cmd->subs[i]->name);
            reply_command_docs(c, cmd->subs[i]);
        }
    }
}

void cmd_command(client *c) {
    int n = command_count();
    reply_array(c, n);
    for (int i = 0; i < n; i++) reply_command_info(c, command_at(i));
}

void cmd_command_count(client *c) { reply_int(c, command_count()); }

/* "config|get" or "config get" style lookups used by INFO and DOCS. */
static const command *lookup_full(const char *name, size_t len) {
    const char *bar = memchr(name, '|', len);
    if (!bar) return command_lookup(name, len);
    const command *p = command_lookup(name, (size_t)(bar - name));
    if (!p) return NULL;
    for (int i = 0; i < p->nsubs; i++)
        if (strlen(p->subs[i]->name) == len && strncasecmp(p->subs[i]->name, name, len) == 0)
            return p->subs[i];
    return NULL;
}

void cmd_command_info(client *c) {
    if (c->argc == 2) {
        cmd_command(c);
        return;
    }
    reply_array(c, c->argc - 2);
    for (int j = 2; j < c->argc; j++) {
        const command *cmd = lookup_full(c->argv[j].ptr, c->argv[j].len);
        if (cmd) reply_command_info(c, cmd);
        else reply_null(c);
    }
}

void cmd_command_docs(client *c) {
    if (c->argc == 2) {
        int n = command_count();
        reply_map(c, n);
        for (int i = 0; i < n; i++) {
            reply_bulk_cstr(c, command_at(i)->name);
            reply_command_docs(c, command_at(i));
        }
        return;
    }
    size_t h = reply_defer_len(c);
    long n = 0;
    for (int j = 2; j < c->argc; j++) {
        const command *cmd = lookup_full(c->argv[j].ptr, c->argv[j].len);
        if (!cmd) continue;
        reply_bulk_cstr(c, cmd->name);
        reply_command_docs(c, cmd);
        n++;
    }
    reply_set_deferred_map(c, h, n);
}

void cmd_command_list(client *c) {
    int mode = 0;   /* 0 all, 1 aclcat, 2 pattern, 3 module */
    const char *arg = NULL;
    if (c->argc == 5 && arg_is(c, 2, "FILTERBY")) {
        if (arg_is(c, 3, "ACLCAT")) mode = 1;
        else if (arg_is(c, 3, "PATTERN")) mode = 2;
        else if (arg_is(c, 3, "MODULE")) mode = 3;
        else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
        arg = c->argv[4].ptr;
    } else if (c->argc != 2) {
        reply_error(c, ERR_SYNTAX);
        return;
    }
    size_t h = reply_defer_len(c);
    long n = 0;
    for (int i = 0; i < command_count(); i++) {
        const command *top = command_at(i);
        for (int s = -1; s < top->nsubs; s++) {
            const command *cmd = s < 0 ? top : top->subs[s];
            if (mode == 3) continue;
            if (mode == 1) {
                char cat[64];
                snprintf(cat, sizeof(cat), "@%s", arg);
                const char *hit = strstr(cmd->acl_categories, cat);
                size_t cl = strlen(cat);
                if (!hit || (hit[cl] != '\0' && hit[cl] != ' ')) continue;
            }
            if (mode == 2 && !util_glob_match(arg, strlen(arg), cmd->name, strlen(cmd->name), true)) continue;
            reply_bulk_cstr(c, cmd->name);
            n++;
        }
    }
    reply_set_deferred_array(c, h, n);
}

/* COMMAND GETKEYS <cmd> <args...>: resolve like a real call, then report
 * the key positions from the table. */
static void getkeys(client *c, bool with_flags) {
    const command *cmd = command_lookup(c->argv[2].ptr, c->argv[2].len);
    int argc = c->argc - 2;
    if (cmd && cmd->nsubs && argc >= 2) {
        const command *p = cmd;
        cmd = NULL;
        for (int i = 0; i < p->nsubs; i++) {
            const char *sn = strchr(p->subs[i]->name, '|') + 1;
            if (util_eq_nocase(c->argv[3].ptr, c->argv[3].len, sn)) cmd = p->subs[i];
        }
    }
    if (!cmd) {
        reply_error(c, "ERR Invalid command specified");
        return;
    }
    if ((cmd->arity > 0 && cmd->arity != argc) || argc < -cmd->arity) {
        reply_error(c, "ERR Invalid number of arguments specified for command");
        return;
    }
    int idx[256];
    int n = command_get_keys(cmd, argc, idx, 256);
    if (n <= 0) {
        reply_error(c, "ERR The command has no key arguments");
        return;
    }
    reply_array(c, n);
    for (int i = 0; i < n; i++) {
        const resp_arg *a = &c->argv[2 + idx[i]];
        if (!with_flags) {
            reply_bulk(c, a->ptr, a->len);
            continue;
        }
        reply_array(c, 2);
        reply_bulk(c, a->ptr, a->len);
        /* SET's spec has variable flags: without GET it only overwrites. */
        if (!strcmp(cmd->name, "set")) {
            bool get = false;
            for (int j = 5; j < c->argc; j++)
                if (arg_is(c, j, "GET")) get = true;
            reply_set(c, get ? 3 : 2);
            reply_simple(c, get ? "RW" : "OW");
            if (get) reply_simple(c, "access");
            reply_simple(c, "update");
            continue;
        }
        /* Flags from the first key spec: its "flags" set is what Redis
         * reports for keys the spec covers. */
        const char *f = strstr(cmd->key_specs, "$5\r\nflags\r\n~");
        if (!f) {
            reply_set(c, 0);
            continue;
        }
        f += strlen("$5\r\nflags\r\n");
        long nf = strtol(f + 1, NULL, 10);
        const char *q = strchr(f, '\n') + 1;
        reply_set(c, nf);
        for (long k = 0; k < nf; k++) {
            const char *e = strchr(q, '\r');
            char word[32];
            snprintf(word, sizeof(word), "%.*s", (int)(e - q - 1), q + 1);
            reply_simple(c, word);
            q = e + 2;
        }
    }
}

void cmd_command_getkeys(client *c) { getkeys(c, false); }
void cmd_command_getkeysandflags(client *c) { getkeys(c, true); }

void cmd_command_help(client *c) {
    static const char *const lines[] = {
        "(no subcommand)", "    Return details about all Redis commands.",
        "COUNT", "    Return the total number of commands in this Redis server.",
        "LIST", "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>", "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full Redis command.",
        NULL};
    reply_help(c, "COMMAND", lines);
}
