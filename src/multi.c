/* multi.c: MULTI / EXEC / DISCARD / WATCH / UNWATCH and the registry of
 * watched keys. See multi.h for the model; docs/threads.md for the locks.
 *
 * Lock order: a shard lock (or all of them, during EXEC and whole-db
 * operations) is taken before watch_lock, never after: watch_touch_* run
 * under the shard lock of the key they report, and WATCH locks the key's
 * shard before registering it. watch_lock is a leaf otherwise.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "commands.h"
#include "keyspace.h"
#include "multi.h"
#include "util.h"

/* ---- the registry of watched keys --------------------------------------- */

typedef struct watched_key {
    struct watched_key *next;       /* hash chain */
    uint64_t hash;                  /* ks_key hash: the same one the keyspace uses */
    int db;
    size_t len;
    client **watchers;
    int nwatchers, cap;
    char key[];
} watched_key;

_Atomic unsigned long watch_nkeys;
static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static watched_key **wtab;
static size_t wsize;                /* power of two, 0 before the first WATCH */

static watched_key **wk_slot(int db, const ks_key *k) {
    if (!wsize) return NULL;
    watched_key **p = &wtab[k->hash & (wsize - 1)];
    for (; *p; p = &(*p)->next) {
        watched_key *w = *p;
        if (w->hash == k->hash && w->db == db && w->len == k->len &&
            memcmp(w->key, k->ptr, k->len) == 0)
            return p;
    }
    return p;   /* the empty link where it would go */
}

static void wtab_grow(void) {
    size_t nsize = wsize ? wsize * 2 : 64;
    watched_key **n = xcalloc(nsize, sizeof(*n));
    for (size_t i = 0; i < wsize; i++)
        for (watched_key *w = wtab[i], *next; w; w = next) {
            next = w->next;
            w->next = n[w->hash & (nsize - 1)];
            n[w->hash & (nsize - 1)] = w;
        }
    free(wtab);
    wtab = n;
    wsize = nsize;
}

static void flag_watchers(const watched_key *w) {
    for (int i = 0; i < w->nwatchers; i++)
        atomic_store_explicit(&w->watchers[i]->dirty_cas, true, memory_order_relaxed);
}

void watch_touch_slow(int db, const ks_key *k) {
    pthread_mutex_lock(&watch_lock);
    watched_key **p = wk_slot(db, k);
    if (p && *p) flag_watchers(*p);
    pthread_mutex_unlock(&watch_lock);
}

static void touch_where(bool (*pick)(const watched_key *w, void *priv), void *priv) {
    pthread_mutex_lock(&watch_lock);
    for (size_t i = 0; i < wsize; i++)
        for (watched_key *w = wtab[i]; w; w = w->next)
            if (pick(w, priv)) flag_watchers(w);
    pthread_mutex_unlock(&watch_lock);
}

typedef struct { int a, b; watch_present_fn *present; } touch_args;

static ks_key wk_key(const watched_key *w) {
    ks_key k = {w->key, w->len, w->hash};
    return k;
}

static bool pick_flushed(const watched_key *w, void *priv) {
    touch_args *t = priv;
    if (t->a >= 0 && w->db != t->a) return false;
    ks_key k = wk_key(w);
    return t->present(w->db, &k);
}

static bool pick_swapped(const watched_key *w, void *priv) {
    touch_args *t = priv;
    if (w->db != t->a && w->db != t->b) return false;
    ks_key k = wk_key(w);
    return t->present(t->a, &k) || t->present(t->b, &k);
}

void watch_touch_flush(int db, watch_present_fn *present) {
    if (!atomic_load_explicit(&watch_nkeys, memory_order_relaxed)) return;
    touch_args t = {db, db, present};
    touch_where(pick_flushed, &t);
}

void watch_touch_swap(int a, int b, watch_present_fn *present) {
    if (!atomic_load_explicit(&watch_nkeys, memory_order_relaxed)) return;
    touch_args t = {a, b, present};
    touch_where(pick_swapped, &t);
}

/* Register c as a watcher of (db, k). Caller holds k's shard lock, so no
 * write to k can slip between the client's read of it and the WATCH. */
static void watch_add(client *c, int db, const ks_key *k) {
    pthread_mutex_lock(&watch_lock);
    if (!wsize || atomic_load_explicit(&watch_nkeys, memory_order_relaxed) >= wsize) wtab_grow();
    watched_key **p = wk_slot(db, k);
    watched_key *w = *p;
    if (!w) {
        w = xcalloc(1, sizeof(*w) + k->len + 1);
        w->hash = k->hash;
        w->db = db;
        w->len = k->len;
        memcpy(w->key, k->ptr, k->len);
        *p = w;
        atomic_fetch_add_explicit(&watch_nkeys, 1, memory_order_relaxed);
    }
    for (int i = 0; i < w->nwatchers; i++)
        if (w->watchers[i] == c) goto out;   /* WATCH of a key already watched */
    if (w->nwatchers == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 2;
        w->watchers = xrealloc(w->watchers, sizeof(client *) * (size_t)w->cap);
    }
    w->watchers[w->nwatchers++] = c;
    if (c->nwatched == c->watched_cap) {
        c->watched_cap = c->watched_cap ? c->watched_cap * 2 : 4;
        c->watched = xrealloc(c->watched, sizeof(*c->watched) * (size_t)c->watched_cap);
    }
    c->watched[c->nwatched++] = w;
out:
    pthread_mutex_unlock(&watch_lock);
}

static void unwatch_all(client *c) {
    if (c->nwatched) {
        pthread_mutex_lock(&watch_lock);
        for (int i = 0; i < c->nwatched; i++) {
            watched_key *w = c->watched[i];
            for (int j = 0; j < w->nwatchers; j++)
                if (w->watchers[j] == c) {
                    w->watchers[j] = w->watchers[--w->nwatchers];
                    break;
                }
            if (w->nwatchers == 0) {
                ks_key k = wk_key(w);
                watched_key **p = wk_slot(w->db, &k);
                *p = w->next;
                free(w->watchers);
                free(w);
                atomic_fetch_sub_explicit(&watch_nkeys, 1, memory_order_relaxed);
            }
        }
        pthread_mutex_unlock(&watch_lock);
    }
    free(c->watched);
    c->watched = NULL;
    c->nwatched = c->watched_cap = 0;
    atomic_store_explicit(&c->dirty_cas, false, memory_order_relaxed);
}

/* ---- the transaction queue --------------------------------------------- */

typedef struct queued_cmd {
    const command *cmd;
    int argc;
    resp_arg *argv;          /* points into the same allocation */
} queued_cmd;

typedef struct multi_state {
    queued_cmd *q;
    int n, cap;
    bool dirty_exec;         /* a command was rejected while queueing */
    uint32_t cmd_flags;      /* the queued commands' flags, OR-ed (EXEC's OOM check) */
} multi_state;

static void multi_free(multi_state *ms) {
    if (!ms) return;
    for (int i = 0; i < ms->n; i++) free(ms->q[i].argv);
    free(ms->q);
    free(ms);
}

/* Copy argv (which points into the query buffer) into one allocation:
 * the resp_arg array, then each argument NUL-terminated. */
static resp_arg *argv_copy(int argc, const resp_arg *argv) {
    size_t bytes = sizeof(resp_arg) * (size_t)argc;
    for (int i = 0; i < argc; i++) bytes += argv[i].len + 1;
    resp_arg *out = xmalloc(bytes);
    char *p = (char *)(out + argc);
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i].ptr, argv[i].len);
        p[argv[i].len] = '\0';
        out[i].ptr = p;
        out[i].len = argv[i].len;
        out[i].off = 0;
        p += argv[i].len + 1;
    }
    return out;
}

void multi_flag_error(client *c) {
    if (c->mstate) c->mstate->dirty_exec = true;
}

bool multi_maybe_queue(client *c, const command *cmd) {
    command_proc *p = cmd->proc;
    if (p == cmd_exec || p == cmd_discard || p == cmd_multi || p == cmd_watch ||
        p == cmd_quit || p == cmd_reset)
        return false;
    if (cmd->flags & CMD_NO_MULTI) {
        reply_error(c, "ERR Command not allowed inside a transaction");
        multi_flag_error(c);
        return true;
    }
    multi_state *ms = c->mstate;
    /* A transaction already doomed (a rejected command, a touched watch)
     * keeps no copies: EXEC will not run them. Redis does the same, and
     * CLIENT LIST's multi= shows it. */
    if (ms->dirty_exec || atomic_load_explicit(&c->dirty_cas, memory_order_relaxed)) {
        reply_simple(c, "QUEUED");
        return true;
    }
    if (ms->n == ms->cap) {
        ms->cap = ms->cap ? ms->cap * 2 : 8;
        ms->q = xrealloc(ms->q, sizeof(queued_cmd) * (size_t)ms->cap);
    }
    ms->q[ms->n++] = (queued_cmd){cmd, c->argc, argv_copy(c->argc, c->argv)};
    ms->cmd_flags |= cmd->flags;
    reply_simple(c, "QUEUED");
    return true;
}

void multi_client_reset(client *c) {
    multi_free(c->mstate);
    c->mstate = NULL;
    unwatch_all(c);
}

int multi_queued(const client *c) {
    return c->mstate ? c->mstate->n : -1;
}

uint32_t multi_queued_flags(const client *c) {
    return c->mstate ? c->mstate->cmd_flags : 0;
}

void multi_teardown(void) {
    pthread_mutex_lock(&watch_lock);
    free(wtab);   /* every client was reset before: the chains are empty */
    wtab = NULL;
    wsize = 0;
    pthread_mutex_unlock(&watch_lock);
}

/* ---- commands ------------------------------------------------------------ */

void cmd_multi(client *c) {
    if (c->mstate) {
        reply_error(c, "ERR MULTI calls can not be nested");
        return;
    }
    c->mstate = xcalloc(1, sizeof(multi_state));
    reply_ok(c);
}

void cmd_discard(client *c) {
    if (!c->mstate) {
        reply_error(c, "ERR DISCARD without MULTI");
        return;
    }
    multi_client_reset(c);
    reply_ok(c);
}

void cmd_watch(client *c) {
    if (c->mstate) {
        reply_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    int64_t now = client_now_ms(c);
    for (int i = 1; i < c->argc; i++) {
        ks_key k = ks_key_make(c->argv[i].ptr, c->argv[i].len);
        ks_lock_key(&k);
        /* A key already expired is deleted now, so that its later removal
         * by expiry does not count as a change (Redis 7.0 behaves alike). */
        do_ks_find_meta(c->db, &k, now);
        watch_add(c, c->db, &k);
        ks_unlock_key(&k);
    }
    reply_ok(c);
}

void cmd_unwatch(client *c) {
    unwatch_all(c);
    reply_ok(c);
}

/* Watched keys that expired since WATCH count as touched: probing them
 * deletes them (do_ks_find), which flags this client. Every shard is held. */
static void probe_watched(client *c, int64_t now) {
    for (int i = 0; i < c->nwatched; i++) {
        ks_key k = wk_key(c->watched[i]);
        do_ks_find_meta(c->watched[i]->db, &k, now);
    }
}

/* The user's rules may have changed since the command was queued: check
 * again (the same one compare as command_resolve when nothing changed),
 * and answer a denial in Redis's words, as that command's reply. */
static bool exec_acl_allows(client *c, const command *cmd) {
    if (__builtin_expect(c->acl_pass_epoch == acl_epoch_now(), 1)) return true;
    int pos = 0;
    int r = acl_check_command(c, cmd, c->argc, c->argv, &pos);
    if (r == ACL_OK) return true;
    acl_log_denial(c, r, ACL_LOG_CTX_MULTI, cmd, c->argv, pos);
    const char *why = r == ACL_DENIED_CMD ? "no permission to execute the command or subcommand"
                    : r == ACL_DENIED_KEY ? "no permission to touch the specified keys"
                    : r == ACL_DENIED_CHANNEL ? "no permission to access one of the channels used as arguments"
                    : "no permission";
    reply_errorf(c, "NOPERM ACLs rules changed between the moment the transaction was "
                    "accumulated and the EXEC call. This command is no longer allowed for "
                    "the following reason: %s", why);
    return false;
}

void cmd_exec(client *c) {
    multi_state *ms = c->mstate;
    if (!ms) {
        reply_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (ms->dirty_exec) {
        reply_error(c, "EXECABORT Transaction discarded because of previous errors.");
        goto done;
    }
    /* All shards first: from here no other thread can touch a key, so the
     * dirty check and the queued commands see one state of the keyspace. */
    ks_exclusive_begin();
    probe_watched(c, client_now_ms(c));
    if (atomic_load_explicit(&c->dirty_cas, memory_order_relaxed)) {
        ks_exclusive_end();
        reply_null_array(c);
        goto done;
    }
    int saved_argc = c->argc;
    resp_arg *saved_argv = c->argv;
    const command *saved_cmd = c->cmd;
    reply_array(c, ms->n);
    for (int i = 0; i < ms->n; i++) {
        c->argc = ms->q[i].argc;
        c->argv = ms->q[i].argv;
        if (!exec_acl_allows(c, ms->q[i].cmd)) continue;
        command_exec(c, ms->q[i].cmd);
    }
    c->argc = saved_argc;
    c->argv = saved_argv;
    c->cmd = saved_cmd;
    ks_exclusive_end();
done:
    /* The state stays attached while the queue runs, so CLIENT LIST inside
     * the transaction shows flags=x and multi=N as in Redis. */
    c->mstate = NULL;
    multi_free(ms);
    unwatch_all(c);
}
