/* commands.c: the command table (rows from commands.def), name lookup, the
 * checks every command passes before its handler runs (unknown command,
 * unknown subcommand, arity, authentication), and the call itself.
 * Error texts are Redis 7.0's, argument for argument. */
#include "commands.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "config.h"
#include "latency.h"
#include "server.h"
#include "slowlog.h"
#include "util.h"

#define NULLPROC NULL
static command table[] = {
#define CMD(n, p, a, fl, f, l, s, acl, proc, tips, ks, docs) \
    {n, p, a, fl, f, l, s, acl, proc, tips, sizeof(tips) - 1, ks, sizeof(ks) - 1, docs, \
     sizeof(docs) - 1, NULL, NULL, 0, 0},
#include "commands.def"
#undef CMD
};
#undef NULLPROC

#define NCMDS ((int)(sizeof(table) / sizeof(table[0])))
#define LOOKUP_SIZE 256   /* power of two, > 2x the top-level commands */

static const command *top[NCMDS];

/* Per-thread command counters, registered so INFO can sum them. */
#define MAX_STAT_THREADS 256
static command_stats *thread_stats[MAX_STAT_THREADS];
static _Atomic int nthread_stats;
static _Thread_local command_stats *my_stats;

/* Only the owning thread writes its counters; a relaxed store of load+n
 * keeps INFO's concurrent reads race-free without a locked instruction. */
#define STAT_ADD(field, n) __atomic_store_n(&(field), (field) + (n), __ATOMIC_RELAXED)

static command_stats *stats_of(const command *cmd) {
    if (!my_stats) {
        int i = atomic_fetch_add(&nthread_stats, 1);
        my_stats = xcalloc(NCMDS, sizeof(command_stats));
        if (i < MAX_STAT_THREADS) thread_stats[i] = my_stats;
    }
    return &my_stats[cmd->index];
}

void command_stats_get(const command *cmd, command_stats *out) {
    memset(out, 0, sizeof(*out));
    int n = atomic_load(&nthread_stats);
    for (int i = 0; i < n && i < MAX_STAT_THREADS; i++) {
        command_stats *s = thread_stats[i];
        if (!s) continue;
        out->calls += __atomic_load_n(&s[cmd->index].calls, __ATOMIC_RELAXED);
        out->usec += __atomic_load_n(&s[cmd->index].usec, __ATOMIC_RELAXED);
        out->rejected_calls += __atomic_load_n(&s[cmd->index].rejected_calls, __ATOMIC_RELAXED);
        out->failed_calls += __atomic_load_n(&s[cmd->index].failed_calls, __ATOMIC_RELAXED);
    }
}

void command_stats_reset(void) {
    int n = atomic_load(&nthread_stats);
    for (int i = 0; i < n && i < MAX_STAT_THREADS; i++)
        if (thread_stats[i])
            for (int j = 0; j < NCMDS; j++) {
                __atomic_store_n(&thread_stats[i][j].calls, 0, __ATOMIC_RELAXED);
                __atomic_store_n(&thread_stats[i][j].usec, 0, __ATOMIC_RELAXED);
                __atomic_store_n(&thread_stats[i][j].rejected_calls, 0, __ATOMIC_RELAXED);
                __atomic_store_n(&thread_stats[i][j].failed_calls, 0, __ATOMIC_RELAXED);
            }
}
static int ntop;
static const command *lookup_tab[LOOKUP_SIZE];
static void watch_update(void);

static uint32_t name_hash(const char *s, size_t len) {
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) h = (h ^ (uint8_t)tolower((unsigned char)s[i])) * 16777619u;
    return h;
}

void commands_setup(void) {
    ntop = 0;
    watch_update();
    config_watch("slowlog-log-slower-than", watch_update);
    config_watch("latency-monitor-threshold", watch_update);
    for (int i = 0; i < NCMDS; i++) table[i].index = i;
    for (int i = 0; i < NCMDS; i++) {
        command *c = &table[i];
        if (c->parent_name[0]) continue;
        top[ntop++] = c;
        uint32_t h = name_hash(c->name, strlen(c->name)) & (LOOKUP_SIZE - 1);
        while (lookup_tab[h]) h = (h + 1) & (LOOKUP_SIZE - 1);
        lookup_tab[h] = c;
    }
    for (int i = 0; i < NCMDS; i++) {
        command *c = &table[i];
        if (!c->parent_name[0]) continue;
        command *p = (command *)command_lookup(c->parent_name, strlen(c->parent_name));
        c->parent = p;
        p->subs = xrealloc(p->subs, sizeof(command *) * (size_t)(p->nsubs + 1));
        p->subs[p->nsubs++] = c;
    }
}

void commands_teardown(void) {
    for (int i = 0; i < NCMDS; i++) {
        free(table[i].subs);
        table[i].subs = NULL;
        table[i].nsubs = 0;
    }
    memset(lookup_tab, 0, sizeof(lookup_tab));
}

const command *command_lookup(const char *name, size_t len) {
    uint32_t h = name_hash(name, len) & (LOOKUP_SIZE - 1);
    for (const command *c; (c = lookup_tab[h]) != NULL; h = (h + 1) & (LOOKUP_SIZE - 1))
        if (strlen(c->name) == len && strncasecmp(c->name, name, len) == 0) return c;
    return NULL;
}

static const command *sub_lookup(const command *p, const char *name, size_t len) {
    size_t plen = strlen(p->name);
    for (int i = 0; i < p->nsubs; i++) {
        const char *sn = p->subs[i]->name + plen + 1;
        if (strlen(sn) == len && strncasecmp(sn, name, len) == 0) return p->subs[i];
    }
    return NULL;
}

const char *command_fullname(const command *cmd) { return cmd->name; }

/* Why resolve() refused a command. */
enum { R_OK, R_UNKNOWN_SUB, R_UNKNOWN, R_ARITY, R_PROTECTED, R_NOAUTH };

static bool protected_allowed(const client *c) {
    return cfg.enable_debug_cmd == PROTECTED_YES ||
           (cfg.enable_debug_cmd == PROTECTED_LOCAL && (c->flags & (CLIENT_UNIX_SOCKET | CLIENT_LOCAL)));
}

/* The checks in Redis 7.0's order: existence, arity, protected commands,
 * authentication. Sets *cmdp to what was found (for the error texts and
 * rejected_calls) and returns R_OK or the reason it cannot run. */
static inline __attribute__((always_inline)) int resolve(const client *c, const command **cmdp) {
    const command *cmd = command_lookup(c->argv[0].ptr, c->argv[0].len);
    *cmdp = cmd;
    if (!cmd) return R_UNKNOWN;
    if (cmd->nsubs && c->argc >= 2) {
        const command *sub = sub_lookup(cmd, c->argv[1].ptr, c->argv[1].len);
        if (!sub) return R_UNKNOWN_SUB;
        *cmdp = cmd = sub;
    }
    if ((cmd->arity > 0 && cmd->arity != c->argc) || c->argc < -cmd->arity) return R_ARITY;
    if (__builtin_expect(cmd->flags & CMD_PROTECTED, 0) && !protected_allowed(c)) return R_PROTECTED;
    if (!c->authenticated && !(cmd->flags & CMD_NO_AUTH)) return R_NOAUTH;
    return R_OK;
}

const command *command_peek(const client *c) {
    const command *cmd;
    return resolve(c, &cmd) == R_OK ? cmd : NULL;
}

/* The error reply for a command resolve() refused: out of line, so the
 * common path of command_resolve stays a lookup and three tests. */
static const command *__attribute__((noinline, cold)) reject(client *c, const command *cmd, int why) {
    switch (why) {
    case R_UNKNOWN_SUB: {
        char upper[64];
        size_t n = strlen(cmd->name);
        for (size_t i = 0; i <= n && i < sizeof(upper); i++)
            upper[i] = (char)toupper((unsigned char)cmd->name[i]);
        reply_errorf(c, "ERR unknown subcommand '%.128s'. Try %s HELP.", c->argv[1].ptr, upper);
        return NULL;
    }
    case R_UNKNOWN: {
        char args[512];
        size_t used = 0;
        args[0] = '\0';
        for (int i = 1; i < c->argc && used < 128; i++) {
            int w = snprintf(args + used, sizeof(args) - used, "'%.*s' ",
                             (int)(128 - used), c->argv[i].ptr);
            if (w > 0) used += (size_t)w;
            if (used >= sizeof(args)) used = sizeof(args) - 1;
        }
        reply_errorf(c, "ERR unknown command '%.128s', with args beginning with: %s",
                     c->argv[0].ptr, args);
        return NULL;
    }
    case R_ARITY:
        reply_errorf(c, "ERR wrong number of arguments for '%s' command", cmd->name);
        break;
    case R_PROTECTED:
        reply_error(c, "ERR DEBUG command not allowed. If the enable-debug-command option is set to "
                       "\"local\", you can run it from a local connection, otherwise you need to set "
                       "this option in the configuration file, and then restart the server.");
        break;
    case R_NOAUTH:
        reply_error(c, "NOAUTH Authentication required.");
        break;
    }
    STAT_ADD(stats_of(cmd)->rejected_calls, 1);
    return NULL;
}

const command *command_resolve(client *c) {
    const command *cmd;
    int why = resolve(c, &cmd);
    if (__builtin_expect(why == R_OK, 1)) return cmd;
    return reject(c, cmd, why);
}

/* ---- slow log and latency monitor trigger -------------------------------
 * One threshold in µs, the lower of slowlog-log-slower-than (when >= 0) and
 * latency-monitor-threshold (when > 0, in ms): command_call compares the
 * duration it already measured for commandstats with it, one branch that
 * is never taken with the defaults' 10 ms. watch() sorts out which of the
 * two wants the command. */
static struct {
    int64_t us;
} __attribute__((aligned(64))) watch_at = {INT64_MAX};   /* read per command: a line of its own */

static void watch_update(void) {
    int64_t t = INT64_MAX;
    if (cfg.slowlog_log_slower_than >= 0) t = cfg.slowlog_log_slower_than;
    long long lat = cfg.latency_monitor_threshold;
    if (lat > 0 && lat < INT64_MAX / 1000 && lat * 1000 < t) t = lat * 1000;
    __atomic_store_n(&watch_at.us, t, __ATOMIC_RELAXED);
}

static void __attribute__((noinline)) watch(client *c, const command *cmd, int64_t us) {
    long long lat = cfg.latency_monitor_threshold;
    /* Redis samples in whole milliseconds, and every command counts, even
     * those the slow log skips. */
    if (lat > 0 && us / 1000 >= lat)
        latency_add_sample((cmd->flags & CMD_FAST) ? "fast-command" : "command", us / 1000);
    long long slower = cfg.slowlog_log_slower_than;
    if (slower >= 0 && us >= slower && !(cmd->flags & CMD_SKIP_SLOWLOG)) slowlog_push(c, us);
}

void command_call(client *c) {
    const command *cmd = command_resolve(c);
    if (!cmd) {
        c->lastcmd = NULL;
        return;
    }
    c->cmd = cmd;
    int64_t start = util_us();
    c->cmd_now_ms = start / 1000;
    uint64_t errors = c->nerrors;
    if (c->reply_mode == 2) c->reply_mode = 3;   /* CLIENT REPLY SKIP: this one */
    cmd->proc(c);
    if (c->reply_mode == 3) c->reply_mode = 0;
    command_stats *st = stats_of(cmd);
    int64_t us = util_us() - start;
    STAT_ADD(st->calls, 1);
    STAT_ADD(st->usec, (uint64_t)us);
    if (c->nerrors != errors) STAT_ADD(st->failed_calls, 1);
    if (__builtin_expect(us >= __atomic_load_n(&watch_at.us, __ATOMIC_RELAXED), 0)) watch(c, cmd, us);
    c->lastcmd = cmd;
    c->tot_cmds++;
}

int command_count(void) { return ntop; }
const command *command_at(int i) { return top[i]; }

int command_get_keys(const command *cmd, int argc, int *idx, int max) {
    if (cmd->first_key <= 0) return 0;
    int last = cmd->last_key;
    if (last < 0) last = argc + last;
    if (last >= argc) return -1;
    int n = 0;
    for (int i = cmd->first_key; i <= last && n < max; i += cmd->key_step ? cmd->key_step : 1)
        idx[n++] = i;
    /* MSET-style commands must have whole key/value groups. */
    if (cmd->key_step > 1 && cmd->last_key < 0 && (argc - cmd->first_key) % cmd->key_step)
        return -1;
    return n;
}
