/* slowlog.c: the slow log and the SLOWLOG command (GET, LEN, RESET, HELP).
 *
 * Entries are what Redis 7.0 keeps: id, unix time, duration in µs, the
 * arguments as the client sent them (at most SLOWLOG_MAX_ARGC, the last one
 * then saying how many more there were; strings longer than
 * SLOWLOG_MAX_STRING cut with "... (N more bytes)"), the client's address
 * and name. Newest first; trimmed to slowlog-max-len on every push.
 *
 * Threads: any reactor pushes; one mutex guards the list and the id
 * counter. An entry is one allocation built before the lock is taken, and
 * entries trimmed or reset are freed after it is released, so the lock is
 * held for a few pointer moves (or for a SLOWLOG GET's copy of the replies).
 */
#include "slowlog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "commands.h"
#include "config.h"
#include "util.h"

#define SLOWLOG_MAX_ARGC   32
#define SLOWLOG_MAX_STRING 128

typedef struct slice {
    const char *p;
    size_t len;
} slice;

typedef struct slowlog_entry {
    struct slowlog_entry *next, *prev;
    long long id;
    long long time;        /* unix seconds */
    long long duration;    /* µs */
    int argc;
    slice *argv;           /* points into the same allocation */
    slice addr, name;
} slowlog_entry;

static pthread_mutex_t sl_lock = PTHREAD_MUTEX_INITIALIZER;
static slowlog_entry *head, *tail;   /* newest, oldest */
static long long sl_len, next_id;

void slowlog_setup(void) {
    head = tail = NULL;
    sl_len = next_id = 0;
    config_watch("slowlog-max-len", slowlog_config_changed);
    config_watch("slowlog-log-slower-than", slowlog_config_changed);
}

static void free_list(slowlog_entry *e) {
    while (e) {
        slowlog_entry *next = e->next;
        free(e);
        e = next;
    }
}

void slowlog_teardown(void) {
    pthread_mutex_lock(&sl_lock);
    slowlog_entry *e = head;
    head = tail = NULL;
    sl_len = 0;
    pthread_mutex_unlock(&sl_lock);
    free_list(e);
}

/* Cut the oldest entries beyond max; returns them as a list to free. */
static slowlog_entry *do_trim(long long max) {
    slowlog_entry *cut = NULL;
    while (sl_len > max && tail) {
        slowlog_entry *e = tail;
        tail = e->prev;
        if (tail) tail->next = NULL;
        else head = NULL;
        e->next = cut;
        cut = e;
        sl_len--;
    }
    return cut;
}

/* Redis trims on every command while the log is enabled, so lowering
 * slowlog-max-len takes effect at once; commands.c only calls us for slow
 * commands, so the config change trims here. */
void slowlog_config_changed(void) {
    if (cfg.slowlog_log_slower_than < 0) return;
    pthread_mutex_lock(&sl_lock);
    slowlog_entry *cut = do_trim(cfg.slowlog_max_len);
    pthread_mutex_unlock(&sl_lock);
    free_list(cut);
}

void slowlog_push(client *c, int64_t duration_us) {
    int argc = c->argc < SLOWLOG_MAX_ARGC ? c->argc : SLOWLOG_MAX_ARGC;
    char more_args[64];
    if (argc < c->argc)
        snprintf(more_args, sizeof(more_args), "... (%d more arguments)", c->argc - argc + 1);

    /* Size the single allocation: header, argv slices, then the bytes. */
    const char *name = c->name ? c->name : "";
    size_t addr_len = strlen(c->addr), name_len = strlen(name);
    size_t bytes = sizeof(slowlog_entry) + sizeof(slice) * (size_t)argc + addr_len + name_len;
    for (int j = 0; j < argc; j++) {
        if (argc < c->argc && j == argc - 1) bytes += strlen(more_args);
        else if (c->argv[j].len > SLOWLOG_MAX_STRING) bytes += SLOWLOG_MAX_STRING + 32;
        else bytes += c->argv[j].len;
    }
    slowlog_entry *e = xmalloc(bytes);
    e->argc = argc;
    e->argv = (slice *)(e + 1);
    char *p = (char *)(e->argv + argc);
    for (int j = 0; j < argc; j++) {
        const char *src;
        size_t n;
        char cut[SLOWLOG_MAX_STRING + 32];
        if (argc < c->argc && j == argc - 1) {
            src = more_args;
            n = strlen(more_args);
        } else if (c->argv[j].len > SLOWLOG_MAX_STRING) {
            memcpy(cut, c->argv[j].ptr, SLOWLOG_MAX_STRING);
            n = SLOWLOG_MAX_STRING + (size_t)snprintf(cut + SLOWLOG_MAX_STRING, 32, "... (%zu more bytes)",
                                                      c->argv[j].len - SLOWLOG_MAX_STRING);
            src = cut;
        } else {
            src = c->argv[j].ptr;
            n = c->argv[j].len;
        }
        memcpy(p, src, n);
        e->argv[j] = (slice){p, n};
        p += n;
    }
    memcpy(p, c->addr, addr_len);
    e->addr = (slice){p, addr_len};
    p += addr_len;
    memcpy(p, name, name_len);
    e->name = (slice){p, name_len};
    e->duration = duration_us;
    e->time = (long long)time(NULL);
    e->prev = NULL;

    pthread_mutex_lock(&sl_lock);
    e->id = next_id++;
    e->next = head;
    if (head) head->prev = e;
    else tail = e;
    head = e;
    sl_len++;
    slowlog_entry *cut = do_trim(cfg.slowlog_max_len);
    pthread_mutex_unlock(&sl_lock);
    free_list(cut);
}

/* ---- SLOWLOG ------------------------------------------------------------ */

void cmd_slowlog_get(client *c) {
    long long count = 10;
    if (c->argc > 3) {
        reply_subcommand_syntax_error(c);
        return;
    }
    if (c->argc == 3) {
        /* Redis answers the same text whether the count is not a number
         * or below -1 (getRangeLongFromObjectOrReply with one message). */
        if (!util_str2ll(c->argv[2].ptr, c->argv[2].len, &count) || count < -1) {
            reply_error(c, "ERR count should be greater than or equal to -1");
            return;
        }
    }
    pthread_mutex_lock(&sl_lock);
    if (count == -1 || count > sl_len) count = sl_len;
    reply_array(c, count);
    slowlog_entry *e = head;
    for (long long i = 0; i < count; i++, e = e->next) {
        reply_array(c, 6);
        reply_int(c, e->id);
        reply_int(c, e->time);
        reply_int(c, e->duration);
        reply_array(c, e->argc);
        for (int j = 0; j < e->argc; j++) reply_bulk(c, e->argv[j].p, e->argv[j].len);
        reply_bulk(c, e->addr.p, e->addr.len);
        reply_bulk(c, e->name.p, e->name.len);
    }
    pthread_mutex_unlock(&sl_lock);
}

void cmd_slowlog_len(client *c) {
    pthread_mutex_lock(&sl_lock);
    long long n = sl_len;
    pthread_mutex_unlock(&sl_lock);
    reply_int(c, n);
}

void cmd_slowlog_reset(client *c) {
    pthread_mutex_lock(&sl_lock);
    slowlog_entry *e = head;
    head = tail = NULL;
    sl_len = 0;
    pthread_mutex_unlock(&sl_lock);
    free_list(e);
    reply_ok(c);
}

void cmd_slowlog_help(client *c) {
    static const char *const lines[] = {
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        NULL};
    reply_help(c, "SLOWLOG", lines);
}
