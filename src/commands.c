/* commands.c: the command table (rows from commands.def), name lookup, the
 * checks every command passes before its handler runs (unknown command,
 * unknown subcommand, arity, authentication, maxmemory), and the call
 * itself.
 * Error texts are Redis 7.0's, argument for argument. */
#include "commands.h"
#include "multi.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "acl.h"
#include "config.h"
#include "durability.h"
#include "evict.h"
#include "latency.h"
#include "pubsub.h"
#include "server.h"
#include "slowlog.h"
#include "storage.h"
#include "util.h"

#define NULLPROC NULL
static command table[] = {
#define CMD(n, p, a, fl, f, l, s, acl, proc, tips, ks, docs) \
    {n, p, a, fl, f, l, s, acl, proc, tips, sizeof(tips) - 1, ks, sizeof(ks) - 1, docs, \
     sizeof(docs) - 1, NULL, NULL, 0, 0, NULL, 0},
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

/* ---- key specs ------------------------------------------------------------ */

/* A minimal reader for the RESP3 key-spec blobs the generator wrote: maps,
 * arrays/sets, bulk and simple strings, integers. */
typedef struct blob {
    const char *p, *end;
} blob;

static long blob_len(blob *b) {
    long n = strtol(b->p + 1, NULL, 10);
    b->p = strchr(b->p, '\n') + 1;
    return n;
}

/* Reads a scalar: strings into (s, n), integers into *v. */
static void blob_scalar(blob *b, const char **s, size_t *n, long *v) {
    char t = *b->p;
    if (t == '$') {
        long len = blob_len(b);
        if (s) *s = b->p;
        if (n) *n = (size_t)len;
        b->p += len + 2;
    } else {
        const char *start = b->p + 1, *e = strchr(b->p, '\r');
        if (t == ':' && v) *v = strtol(start, NULL, 10);
        if (s) *s = start;
        if (n) *n = (size_t)(e - start);
        b->p = e + 2;
    }
}

static void blob_skip(blob *b) {
    char t = *b->p;
    if (t == '*' || t == '~' || t == '%') {
        long n = blob_len(b) * (t == '%' ? 2 : 1);
        for (long i = 0; i < n; i++) blob_skip(b);
    } else {
        blob_scalar(b, NULL, NULL, NULL);
    }
}

static bool blob_key_is(blob *b, const char *k) {
    const char *s;
    size_t n;
    blob_scalar(b, &s, &n, NULL);
    return n == strlen(k) && memcmp(s, k, n) == 0;
}

static const struct { const char *name; unsigned bit; } key_flag_names[] = {
    {"RO", KEY_RO}, {"RW", KEY_RW}, {"OW", KEY_OW}, {"RM", KEY_RM}, {"access", KEY_ACCESS},
    {"update", KEY_UPDATE}, {"insert", KEY_INSERT}, {"delete", KEY_DELETE},
    {"not_key", KEY_NOT_KEY}, {"incomplete", KEY_INCOMPLETE}, {"variable_flags", KEY_VARIABLE_FLAGS},
};

/* begin_search / find_keys: {type: <t>, spec: {k: v, ...}} */
static void parse_search(blob *b, key_spec *ks, bool begin) {
    long n = blob_len(b);
    char type[16] = "";
    for (long i = 0; i < n; i++) {
        if (blob_key_is(b, "type")) {
            const char *s;
            size_t len;
            blob_scalar(b, &s, &len, NULL);
            snprintf(type, sizeof(type), "%.*s", (int)len, s);
            continue;
        }
        long m = blob_len(b);   /* spec map (after "spec") */
        for (long j = 0; j < m; j++) {
            const char *k, *s;
            size_t kl, sl;
            long v = 0;
            blob_scalar(b, &k, &kl, NULL);
            blob_scalar(b, &s, &sl, &v);
#define IS(w) (kl == strlen(w) && memcmp(k, w, kl) == 0)
            if (begin && IS("index")) ks->bs_index = (int)v;
            else if (begin && IS("keyword")) ks->bs_keyword = xstrndup(s, sl);
            else if (begin && IS("startfrom")) ks->bs_startfrom = (int)v;
            else if (IS("lastkey")) ks->fk_lastkey = (int)v;
            else if (IS("keystep")) ks->fk_step = (int)v;
            else if (IS("limit")) ks->fk_limit = (int)v;
            else if (IS("keynumidx")) ks->fk_keynumidx = (int)v;
            else if (IS("firstkey")) ks->fk_firstkey = (int)v;
#undef IS
        }
    }
    if (!begin) ks->fk_keynum = strcmp(type, "keynum") == 0;
}

static void parse_key_specs(command *cmd) {
    blob b = {cmd->key_specs, cmd->key_specs + cmd->key_specs_len};
    long n = blob_len(&b);
    cmd->specs = n ? xcalloc((size_t)n, sizeof(key_spec)) : NULL;
    cmd->nspecs = (int)n;
    for (long i = 0; i < n; i++) {
        key_spec *ks = &cmd->specs[i];
        long fields = blob_len(&b);
        for (long f = 0; f < fields; f++) {
            const char *k;
            size_t kl;
            blob_scalar(&b, &k, &kl, NULL);
            if (kl == 5 && !memcmp(k, "flags", 5)) {
                long nf = blob_len(&b);
                for (long j = 0; j < nf; j++) {
                    const char *s;
                    size_t sl;
                    blob_scalar(&b, &s, &sl, NULL);
                    for (size_t x = 0; x < sizeof(key_flag_names) / sizeof(key_flag_names[0]); x++)
                        if (strlen(key_flag_names[x].name) == sl && !memcmp(key_flag_names[x].name, s, sl))
                            ks->flags |= key_flag_names[x].bit;
                }
            } else if (kl == 12 && !memcmp(k, "begin_search", 12)) {
                parse_search(&b, ks, true);
            } else if (kl == 9 && !memcmp(k, "find_keys", 9)) {
                parse_search(&b, ks, false);
            } else {
                blob_skip(&b);
            }
        }
    }
}

/* Redis's getKeysUsingKeySpecs (GET_KEYSPEC_DEFAULT): an argv that does
 * not fit a spec yields no keys at all (the command reports the error). */
int command_keys_with_flags(const command *cmd, int argc, const resp_arg *argv, key_ref *out, int max) {
    int n = 0;
    for (int s = 0; s < cmd->nspecs; s++) {
        const key_spec *ks = &cmd->specs[s];
        if (ks->flags & KEY_NOT_KEY) continue;
        int first = 0, last, step;
        if (!ks->bs_keyword) {
            first = ks->bs_index;
        } else {
            int start = ks->bs_startfrom > 0 ? ks->bs_startfrom : argc + ks->bs_startfrom;
            int end = ks->bs_startfrom > 0 ? argc - 1 : 1;
            for (int i = start; i != end; i = start <= end ? i + 1 : i - 1) {
                if (i >= argc || i < 1) break;
                if (util_eq_nocase(argv[i].ptr, argv[i].len, ks->bs_keyword)) {
                    first = i + 1;
                    break;
                }
            }
            if (!first) continue;
        }
        if (!ks->fk_keynum) {
            step = ks->fk_step;
            if (ks->fk_lastkey >= 0) last = first + ks->fk_lastkey;
            else if (!ks->fk_limit) last = argc + ks->fk_lastkey;
            else last = first + ((argc - first) / ks->fk_limit + ks->fk_lastkey);
        } else {
            step = ks->fk_step;
            long long numkeys;
            if (ks->fk_keynumidx >= argc - first) return 0;
            const resp_arg *a = &argv[first + ks->fk_keynumidx];
            if (!util_str2ll(a->ptr, a->len, &numkeys) || numkeys < 0) return 0;
            first += ks->fk_firstkey;
            last = first + (int)numkeys - 1;
        }
        if (last >= argc || last < first || first >= argc) return 0;
        if (step < 1) step = 1;
        for (int i = first; i <= last && n < max; i += step) {
            unsigned fl = ks->flags;
            /* SET's spec has variable flags: without GET it only overwrites. */
            if ((fl & KEY_VARIABLE_FLAGS) && !strcmp(cmd->name, "set")) {
                fl = KEY_OW | KEY_UPDATE;
                for (int j = 3; j < argc; j++)
                    if (util_eq_nocase(argv[j].ptr, argv[j].len, "GET")) fl = KEY_RW | KEY_ACCESS | KEY_UPDATE;
            }
            out[n].pos = i;
            out[n].flags = fl;
            n++;
        }
    }
    return n;
}

int command_table_size(void) { return NCMDS; }
const command *command_by_index(int i) { return &table[i]; }

void commands_setup(void) {
    ntop = 0;
    for (int i = 0; i < NCMDS; i++) parse_key_specs(&table[i]);
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
        for (int s = 0; s < table[i].nspecs; s++) free(table[i].specs[s].bs_keyword);
        free(table[i].specs);
        table[i].specs = NULL;
        table[i].nspecs = 0;
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

const command *command_lookup_fullname(const char *name, size_t len) {
    const char *bar = memchr(name, '|', len);
    if (!bar) return command_lookup(name, len);
    const command *p = command_lookup(name, (size_t)(bar - name));
    if (!p || !p->nsubs) return NULL;
    return sub_lookup(p, bar + 1, len - (size_t)(bar - name) - 1);
}

/* A known command refused before it runs (Redis's rejectCommand). A
 * refused EXEC also ends the transaction and says so, even outside MULTI. */
void command_reject(client *c, const command *cmd, const char *msg) {
    STAT_ADD(stats_of(cmd)->rejected_calls, 1);
    if (cmd->proc == cmd_exec) {
        if (!strncmp(msg, "ERR ", 4)) msg += 4;
        reply_errorf(c, "EXECABORT Transaction discarded because of: %s", msg);
        multi_client_reset(c);
        return;
    }
    reply_error(c, msg);
}

/* Why resolve() stopped. R_GATE is no refusal yet: authentication and
 * ACLs need acl_gate (a client of an unrestricted user whose rules did
 * not change since it last passed never gets there). */
enum { R_OK, R_UNKNOWN_SUB, R_UNKNOWN, R_ARITY, R_PROTECTED, R_GATE };

static bool protected_allowed(const client *c) {
    return cfg.enable_debug_cmd == PROTECTED_YES ||
           (cfg.enable_debug_cmd == PROTECTED_LOCAL && (c->flags & (CLIENT_UNIX_SOCKET | CLIENT_LOCAL)));
}

/* The checks in Redis 7.0's order: existence, arity, protected commands,
 * then authentication and ACLs. Sets *cmdp to what was found (for the
 * error texts and rejected_calls). */
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
    if (__builtin_expect(c->acl_pass_epoch != acl_epoch_now(), 0)) return R_GATE;
    return R_OK;
}

const command *command_peek(client *c) {
    const command *cmd;
    int why = resolve(c, &cmd);
    if (why == R_OK) return cmd;
    if (why != R_GATE) return NULL;
    /* What acl_gate would decide, without its log entry or reply. */
    if (acl_auth_required(c) && !(cmd->flags & CMD_NO_AUTH)) return NULL;
    int pos;
    return acl_check_command(c, cmd, c->argc, c->argv, &pos) == ACL_OK ? cmd : NULL;
}

/* The refusal for what resolve() stopped at, out of line so the common
 * path of command_resolve stays a lookup and a few tests. Returns the
 * command when the ACL gate lets it through. */
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
    case R_ARITY: {
        char msg[128];
        snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command", cmd->name);
        command_reject(c, cmd, msg);
        return NULL;
    }
    case R_PROTECTED:
        command_reject(c, cmd, "ERR DEBUG command not allowed. If the enable-debug-command option is set to "
                               "\"local\", you can run it from a local connection, otherwise you need to set "
                               "this option in the configuration file, and then restart the server.");
        return NULL;
    case R_GATE:
        /* Replies through command_reject when it refuses. */
        return acl_gate(c, cmd) ? cmd : NULL;
    }
    return NULL;
}

const command *command_resolve(client *c) {
    const command *cmd;
    int why = resolve(c, &cmd);
    if (__builtin_expect(why != R_OK, 0) && !(cmd = reject(c, cmd, why))) return NULL;
    /* Subscribed and MONITOR clients: one test of a flag word we already
     * hold, almost never taken. */
    if (__builtin_expect((c->flags & (CLIENT_PUBSUB | CLIENT_MONITOR)) != 0, 0) &&
        !pubsub_check_context(c, cmd)) {
        STAT_ADD(stats_of(cmd)->rejected_calls, 1);
        return NULL;
    }
    return cmd;
}

/* ---- slow log and latency monitor trigger -------------------------------
 * One threshold in µs, the lower of slowlog-log-slower-than (when >= 0) and
 * latency-monitor-threshold (when > 0, in ms): command_exec compares the
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
        if (__builtin_expect(c->mstate != NULL, 0)) multi_flag_error(c);
        c->lastcmd = NULL;
        return;
    }
    /* maxmemory: evict before the command, refuse it if it may grow
     * memory and nothing could be evicted (evict.h). One test of a config
     * field that is 0 unless a limit is set. */
    if (__builtin_expect(cfg.maxmemory != 0, 0) && !evict_gate(c, cmd)) {
        c->lastcmd = cmd;
        return;
    }
    /* -MISCONF / -LOADING (durability.h): two relaxed loads, zero unless
     * the WAL failed or recovery runs. */
    if (__builtin_expect(durability_gate_needed() != 0, 0) && !durability_gate(c, cmd)) {
        c->lastcmd = cmd;
        return;
    }
    /* A failing flush (disk full, I/O error): writes are refused, reads
     * go on, as Redis does after a failed BGSAVE (docs/storage.md). */
    if (__builtin_expect(storage_writes_failing(), 0) && (cmd->flags & CMD_WRITE)) {
        command_reject(c, cmd, storage_write_error());
        if (c->mstate) multi_flag_error(c);
        c->lastcmd = cmd;
        return;
    }
    if (__builtin_expect(c->mstate != NULL, 0) && multi_maybe_queue(c, cmd)) return;
    command_exec(c, cmd);
}

void command_exec(client *c, const command *cmd) {
    c->cmd = cmd;
    /* In a batch the previous command's end time is this one's start: a
     * key that expires mid-pipeline is still judged at the command's own
     * start (to within the parse time), with one clock read per command. */
    int64_t start = c->clock_us ? c->clock_us : util_us();
    c->cmd_now_ms = start / 1000;
    uint64_t errors = c->nerrors;
    if (c->reply_mode == 2) c->reply_mode = 3;   /* CLIENT REPLY SKIP: this one */
    cmd->proc(c);
    if (c->reply_mode == 3) c->reply_mode = 0;
    /* MONITOR sees the command after it ran (its db, its redacted
     * arguments), as in Redis 7.0. Without monitors: one relaxed load of
     * a read-mostly line and a branch that is never taken. */
    if (__builtin_expect(pubsub_monitoring(), 0)) pubsub_feed_monitors(c, cmd);
    command_stats *st = stats_of(cmd);
    int64_t end = util_us();
    int64_t us = end - start;
    if (c->clock_us) c->clock_us = end;
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
