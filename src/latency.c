/* latency.c: the latency monitor's time series and the LATENCY command
 * (LATEST, HISTORY, RESET, GRAPH, DOCTOR, HELP), with Redis 7.0's replies.
 *
 * A series per event name, created on its first sample; one sample per
 * second (a second sample in the same second keeps the larger latency), the
 * LATENCY_TS_LEN most recent kept in a ring. Events are few (a handful of
 * names), so they live in a small array in creation order and lookups are
 * linear. Every access holds lat_lock; replies are built under it, which is
 * cheap (at most 160 samples per event).
 *
 * GRAPH draws the same ASCII sparkline as Redis: four rows of three levels
 * each ('_', 'o', '#', with '|' below the top of a column), one column per
 * sample, oldest first, labelled vertically with the sample's age. DOCTOR
 * writes strata's own analysis; only its reply type (verbatim text) is
 * Redis's. */
#include "latency.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "client.h"
#include "commands.h"
#include "config.h"
#include "util.h"

#define MAX_EVENTS 32
#define GRAPH_COLS 80
#define GRAPH_ROWS 4

typedef struct sample {
    int32_t time;       /* unix seconds; 0 = empty slot */
    uint32_t latency;   /* ms */
} sample;

typedef struct series {
    char name[64];
    int idx;            /* next slot to write */
    uint32_t max;       /* all-time high */
    sample samples[LATENCY_TS_LEN];
} series;

static pthread_mutex_t lat_lock = PTHREAD_MUTEX_INITIALIZER;
static series *events[MAX_EVENTS];
static int nevents;

void latency_setup(void) { nevents = 0; }

void latency_teardown(void) {
    pthread_mutex_lock(&lat_lock);
    for (int i = 0; i < nevents; i++) free(events[i]);
    nevents = 0;
    pthread_mutex_unlock(&lat_lock);
}

/* Exact (case-sensitive) lookup, as Redis's HISTORY and GRAPH do. */
static series *do_find(const char *name, size_t len) {
    for (int i = 0; i < nevents; i++)
        if (strlen(events[i]->name) == len && memcmp(events[i]->name, name, len) == 0) return events[i];
    return NULL;
}

void latency_add_sample(const char *event, int64_t ms) {
    uint32_t lat = ms > UINT32_MAX ? UINT32_MAX : ms < 0 ? 0 : (uint32_t)ms;
    int32_t now = (int32_t)time(NULL);
    pthread_mutex_lock(&lat_lock);
    series *ts = do_find(event, strlen(event));
    if (!ts && nevents < MAX_EVENTS) {
        ts = xcalloc(1, sizeof(*ts));
        snprintf(ts->name, sizeof(ts->name), "%s", event);
        events[nevents++] = ts;
    }
    if (ts) {
        if (lat > ts->max) ts->max = lat;
        sample *prev = &ts->samples[(ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
        if (prev->time == now) {
            if (lat > prev->latency) prev->latency = lat;
        } else {
            ts->samples[ts->idx] = (sample){now, lat};
            ts->idx = (ts->idx + 1) % LATENCY_TS_LEN;
        }
    }
    pthread_mutex_unlock(&lat_lock);
}

void latency_add_sample_if_needed(const char *event, int64_t ms) {
    long long t = CFG_LOAD(latency_monitor_threshold);
    if (t > 0 && ms >= t) latency_add_sample(event, ms);
}

/* ---- LATENCY LATEST / HISTORY / RESET ------------------------------------ */

void cmd_latency_latest(client *c) {
    pthread_mutex_lock(&lat_lock);
    reply_array(c, nevents);
    for (int i = 0; i < nevents; i++) {
        series *ts = events[i];
        const sample *last = &ts->samples[(ts->idx + LATENCY_TS_LEN - 1) % LATENCY_TS_LEN];
        reply_array(c, 4);
        reply_bulk_cstr(c, ts->name);
        reply_int(c, last->time);
        reply_int(c, last->latency);
        reply_int(c, ts->max);
    }
    pthread_mutex_unlock(&lat_lock);
}

void cmd_latency_history(client *c) {
    pthread_mutex_lock(&lat_lock);
    series *ts = do_find(c->argv[2].ptr, c->argv[2].len);
    size_t h = reply_defer_len(c);
    long n = 0;
    for (int j = 0; ts && j < LATENCY_TS_LEN; j++) {
        const sample *s = &ts->samples[(ts->idx + j) % LATENCY_TS_LEN];
        if (!s->time) continue;
        reply_array(c, 2);
        reply_int(c, s->time);
        reply_int(c, s->latency);
        n++;
    }
    pthread_mutex_unlock(&lat_lock);
    reply_set_deferred_array(c, h, n);
}

/* Remove every event whose name matches (case-insensitively, as Redis's
 * RESET does), or all with name NULL; returns how many went. */
static int do_reset(const char *name, size_t len) {
    int removed = 0;
    for (int i = 0; i < nevents;) {
        if (!name || util_eq_nocase(name, len, events[i]->name)) {
            free(events[i]);
            memmove(&events[i], &events[i + 1], sizeof(events[0]) * (size_t)(nevents - i - 1));
            nevents--;
            removed++;
        } else {
            i++;
        }
    }
    return removed;
}

void cmd_latency_reset(client *c) {
    int n = 0;
    pthread_mutex_lock(&lat_lock);
    if (c->argc == 2) n = do_reset(NULL, 0);
    for (int j = 2; j < c->argc; j++) n += do_reset(c->argv[j].ptr, c->argv[j].len);
    pthread_mutex_unlock(&lat_lock);
    reply_int(c, n);
}

/* ---- text building ------------------------------------------------------ */

typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void put(text *t, const char *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = xrealloc(t->p, t->cap);
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void putf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(text *t, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0) put(t, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* ---- LATENCY GRAPH ------------------------------------------------------- */

typedef struct point {
    double v;
    char label[24];
} point;

/* One band of up to GRAPH_COLS columns: GRAPH_ROWS rows of bars scaled
 * between the whole graph's lo and hi, then (when there are labels) an
 * empty line and the labels written top to bottom. */
static void graph_band(text *t, const point *pts, int n, double lo, double hi) {
    static const char level[] = "_o#";
    const int per_row = 3, steps = per_row * GRAPH_ROWS;
    double span = hi - lo > 0 ? hi - lo : 1;
    char line[GRAPH_COLS + 1];
    for (int row = 0; row < GRAPH_ROWS; row++) {
        for (int j = 0; j < n; j++) {
            int step = (int)((double)(int)((pts[j].v - lo) * steps) / span);
            if (step < 0) step = 0;
            if (step >= steps) step = steps - 1;
            /* How far this column reaches into this row (rows count from
             * the top): below zero it does not, past the row it fills it. */
            int in_row = step - (GRAPH_ROWS - 1 - row) * per_row;
            line[j] = in_row < 0 ? ' ' : in_row < per_row ? level[in_row] : '|';
        }
        put(t, line, (size_t)n);
        put(t, "\n", 1);
    }
    bool labels = false;
    for (int j = 0; j < n; j++) labels |= pts[j].label[0] != '\0';
    if (!labels) return;
    memset(line, ' ', (size_t)n);
    put(t, line, (size_t)n);
    put(t, "\n", 1);
    for (size_t k = 0;; k++) {
        bool any = false;
        for (int j = 0; j < n; j++) {
            bool has = strlen(pts[j].label) > k;
            line[j] = has ? pts[j].label[k] : ' ';
            any |= has;
        }
        if (!any) break;
        put(t, line, (size_t)n);
        put(t, "\n", 1);
    }
}

static void do_graph(text *t, const series *ts) {
    point *pts = xmalloc(sizeof(point) * LATENCY_TS_LEN);
    int n = 0;
    uint32_t lo = 0, hi = 0;
    int64_t now = time(NULL);
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const sample *s = &ts->samples[(ts->idx + j) % LATENCY_TS_LEN];
        if (!s->time) continue;
        if (n == 0 || s->latency < lo) lo = s->latency;
        if (n == 0 || s->latency > hi) hi = s->latency;
        long long age = now - s->time;
        point *p = &pts[n++];
        p->v = s->latency;
        if (age < 60) snprintf(p->label, sizeof(p->label), "%llds", age);
        else if (age < 3600) snprintf(p->label, sizeof(p->label), "%lldm", age / 60);
        else if (age < 86400) snprintf(p->label, sizeof(p->label), "%lldh", age / 3600);
        else snprintf(p->label, sizeof(p->label), "%lldd", age / 86400);
    }
    putf(t, "%s - high %lu ms, low %lu ms (all time high %lu ms)\n", ts->name, (unsigned long)hi,
         (unsigned long)lo, (unsigned long)ts->max);
    for (int j = 0; j < GRAPH_COLS; j++) put(t, "-", 1);
    put(t, "\n", 1);
    for (int j = 0; j < n; j += GRAPH_COLS) {
        if (j) put(t, "\n", 1);
        graph_band(t, pts + j, n - j < GRAPH_COLS ? n - j : GRAPH_COLS, lo, hi);
    }
    free(pts);
}

void cmd_latency_graph(client *c) {
    text t = {0};
    pthread_mutex_lock(&lat_lock);
    series *ts = do_find(c->argv[2].ptr, c->argv[2].len);
    if (ts) do_graph(&t, ts);
    pthread_mutex_unlock(&lat_lock);
    if (!ts) reply_errorf(c, "ERR No samples available for event '%s'", c->argv[2].ptr);
    else reply_verbatim(c, t.p, t.len, "txt");
    free(t.p);
}

/* ---- LATENCY DOCTOR -------------------------------------------------------- */

typedef struct analysis {
    int samples;
    uint64_t avg, mad, min, max;
    double period;      /* seconds between spikes, on average */
} analysis;

static void analyze(const series *ts, analysis *a) {
    memset(a, 0, sizeof(*a));
    uint64_t sum = 0;
    int64_t oldest = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const sample *s = &ts->samples[j];
        if (!s->time) continue;
        if (a->samples == 0 || s->latency < a->min) a->min = s->latency;
        if (a->samples == 0 || s->latency > a->max) a->max = s->latency;
        if (!oldest || s->time < oldest) oldest = s->time;
        sum += s->latency;
        a->samples++;
    }
    if (!a->samples) return;
    a->avg = sum / (uint64_t)a->samples;
    int64_t span = (int64_t)time(NULL) - oldest;
    a->period = (double)(span > 0 ? span : 1) / a->samples;
    uint64_t dev = 0;
    for (int j = 0; j < LATENCY_TS_LEN; j++) {
        const sample *s = &ts->samples[j];
        if (!s->time) continue;
        dev += s->latency > a->avg ? s->latency - a->avg : a->avg - s->latency;
    }
    a->mad = dev / (uint64_t)a->samples;
}

static void do_doctor(text *t) {
    if (nevents == 0) {
        if (cfg.latency_monitor_threshold == 0)
            putf(t, "The latency monitor is off in this strata instance (latency-monitor-threshold "
                    "is 0). Turn it on with CONFIG SET latency-monitor-threshold <milliseconds>, "
                    "then ask again once the events you care about have happened.\n");
        else
            putf(t, "No latency event of %lld ms or more has been recorded since the monitor was "
                    "turned on or last reset.\n", cfg.latency_monitor_threshold);
        return;
    }
    bool slow_cmds = false, fast_cmds = false, expiry = false;
    putf(t, "Latency events recorded by this strata instance (threshold %lld ms):\n\n",
         cfg.latency_monitor_threshold);
    for (int i = 0; i < nevents; i++) {
        analysis a;
        analyze(events[i], &a);
        putf(t, "%d. %s: %d spikes, average %llu ms, mean deviation %llu ms, one every %.2f s; "
                "highest ever %lu ms.\n", i + 1, events[i]->name, a.samples,
             (unsigned long long)a.avg, (unsigned long long)a.mad, a.period,
             (unsigned long)events[i]->max);
        if (!strcmp(events[i]->name, "command")) slow_cmds = true;
        else if (!strcmp(events[i]->name, "fast-command")) fast_cmds = true;
        else if (!strcmp(events[i]->name, "expire-cycle")) expiry = true;
    }
    putf(t, "\nWhat to look at:\n\n");
    if (slow_cmds) {
        putf(t, "- Slow commands: SLOWLOG GET lists them with their arguments.");
        if (cfg.slowlog_log_slower_than < 0)
            putf(t, " The slow log is off: CONFIG SET slowlog-log-slower-than %lld turns it on at "
                    "this threshold.", cfg.latency_monitor_threshold * 1000);
        else if (cfg.slowlog_log_slower_than / 1000 > cfg.latency_monitor_threshold)
            putf(t, " It only keeps commands slower than %lld us: CONFIG SET slowlog-log-slower-than "
                    "%lld matches this threshold.", cfg.slowlog_log_slower_than,
                 cfg.latency_monitor_threshold * 1000);
        putf(t, " A command that runs long blocks every client of its reactor thread (io-threads), "
                "not the whole server.\n");
    }
    if (fast_cmds)
        putf(t, "- O(1) commands took milliseconds: the process did not get the CPU (load, a noisy "
                "neighbour, too many io-threads for the cores) or waited for a shard lock held by "
                "a long multi-key command.\n");
    if (expiry)
        putf(t, "- The active expire cycle took long: many keys expire at once. A higher hz spreads "
                "the work over more, shorter cycles.\n");
    if (!slow_cmds && !fast_cmds && !expiry) putf(t, "- No advice for these events.\n");
}

void cmd_latency_doctor(client *c) {
    text t = {0};
    pthread_mutex_lock(&lat_lock);
    do_doctor(&t);
    pthread_mutex_unlock(&lat_lock);
    reply_verbatim(c, t.p, t.len, "txt");
    free(t.p);
}

void cmd_latency_help(client *c) {
    static const char *const lines[] = {
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return an ASCII latency graph for the <event> class.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        NULL};
    reply_help(c, "LATENCY", lines);
}
