/* cmd_memory.c: the MEMORY command (USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE,
 * HELP): Redis 7.0's replies filled with strata's own numbers.
 *
 * USAGE is an entry's real cost (its allocation plus a bucket pointer,
 * docs/keyspace.md); STATS keeps every field name Redis reports, with 0 for
 * what strata does not have (replication backlog, AOF buffer, Lua and
 * function caches, cluster links, a separate expires table); the list is in
 * docs/introspection.md. The allocator figures come from jemalloc when
 * strata is built with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "client.h"
#include "commands.h"
#include "keyspace.h"
#include "networking.h"
#include "server.h"
#include "memory.h"
#include "util.h"

/* ---- MEMORY USAGE --------------------------------------------------------- */

void cmd_memory_usage(client *c) {
    /* SAMPLES is checked as Redis does, though a string has nothing to
     * sample: every value is one allocation, measured exactly. */
    for (int j = 3; j < c->argc; j++) {
        if (arg_is(c, j, "SAMPLES") && j + 1 < c->argc) {
            long long samples;
            if (!arg_ll(c, j + 1, &samples, NULL)) return;
            if (samples < 0) {
                reply_error(c, ERR_SYNTAX);
                return;
            }
            j++;
        } else {
            reply_error(c, ERR_SYNTAX);
            return;
        }
    }
    ks_key k = ks_key_make(c->argv[2].ptr, c->argv[2].len);
    ks_lock_key(&k);
    ks_entry *e = do_ks_find(c->db, &k, client_now_ms(c));
    size_t bytes = e ? ks_entry_mem(e) : 0;
    ks_unlock_key(&k);
    if (e) reply_int(c, (long long)bytes);
    else reply_null(c);
}

/* ---- MEMORY STATS / DOCTOR ----------------------------------------------- */

typedef struct mem_report {
    size_t peak, total, startup, clients;
    size_t db_overhead[1024];   /* per database with keys, else 0 */
    uint64_t db_keys[1024];
    size_t overhead, keys, dataset, bytes_per_key;
    float dataset_perc, peak_perc;
    size_t alloc_allocated, alloc_active, alloc_resident, rss;
    float alloc_frag, alloc_rss, rss_extra, frag;
    long long alloc_frag_bytes, alloc_rss_bytes, rss_extra_bytes, frag_bytes;
} mem_report;

static void gather(mem_report *m) {
    memset(m, 0, sizeof(*m));
    m->total = mem_refresh();
    m->peak = atomic_load(&srv.peak_memory);
    if (m->total > m->peak) m->peak = m->total;
    m->startup = srv.startup_memory;
    m->clients = net_clients_memory();
    m->overhead = m->startup + m->clients;
    int ndbs = ks_ndbs() < 1024 ? ks_ndbs() : 1024;
    for (int db = 0; db < ndbs; db++) {
        m->db_keys[db] = ks_dbsize(db);
        if (!m->db_keys[db]) continue;
        m->db_overhead[db] = ks_db_overhead(db);
        m->overhead += m->db_overhead[db];
        m->keys += m->db_keys[db];
    }
    m->dataset = m->total > m->overhead ? m->total - m->overhead : 0;
    size_t net = m->total > m->startup ? m->total - m->startup : 1;
    m->bytes_per_key = m->keys ? net / m->keys : 0;
    /* Redis computes the ratios in float; so do we, for the same digits. */
    m->dataset_perc = (float)m->dataset * 100 / (float)net;
    m->peak_perc = m->peak ? (float)m->total * 100 / (float)m->peak : 0;
    util_allocator_stats(&m->alloc_allocated, &m->alloc_active, &m->alloc_resident);
    m->rss = util_rss_bytes();
    if (m->alloc_allocated) {
        m->alloc_frag = (float)m->alloc_active / (float)m->alloc_allocated;
        m->alloc_frag_bytes = (long long)m->alloc_active - (long long)m->alloc_allocated;
    }
    if (m->alloc_active) {
        m->alloc_rss = (float)m->alloc_resident / (float)m->alloc_active;
        m->alloc_rss_bytes = (long long)m->alloc_resident - (long long)m->alloc_active;
    }
    if (m->alloc_resident) {
        m->rss_extra = (float)m->rss / (float)m->alloc_resident;
        m->rss_extra_bytes = (long long)m->rss - (long long)m->alloc_resident;
    }
    if (m->total) {
        m->frag = (float)m->rss / (float)m->total;
        m->frag_bytes = (long long)m->rss - (long long)m->total;
    }
}

static void field_int(client *c, const char *name, long long v) {
    reply_bulk_cstr(c, name);
    reply_int(c, v);
}

static void field_float(client *c, const char *name, float v) {
    reply_bulk_cstr(c, name);
    reply_double(c, (double)v);
}

void cmd_memory_stats(client *c) {
    mem_report *m = xmalloc(sizeof(*m));
    gather(m);
    int ndbs = ks_ndbs() < 1024 ? ks_ndbs() : 1024, with_keys = 0;
    for (int db = 0; db < ndbs; db++) with_keys += m->db_keys[db] != 0;
    reply_map(c, 27 + with_keys);
    field_int(c, "peak.allocated", (long long)m->peak);
    field_int(c, "total.allocated", (long long)m->total);
    field_int(c, "startup.allocated", (long long)m->startup);
    field_int(c, "replication.backlog", 0);
    field_int(c, "clients.slaves", 0);
    field_int(c, "clients.normal", (long long)m->clients);
    field_int(c, "cluster.links", 0);
    field_int(c, "aof.buffer", 0);
    field_int(c, "lua.caches", 0);
    field_int(c, "functions.caches", 0);
    for (int db = 0; db < ndbs; db++) {
        if (!m->db_keys[db]) continue;
        char name[32];
        snprintf(name, sizeof(name), "db.%d", db);
        reply_bulk_cstr(c, name);
        reply_map(c, 3);
        field_int(c, "overhead.hashtable.main", (long long)m->db_overhead[db]);
        /* expiry lives inside the entry: no second table */
        field_int(c, "overhead.hashtable.expires", 0);
        field_int(c, "overhead.hashtable.slot-to-keys", 0);
    }
    field_int(c, "overhead.total", (long long)m->overhead);
    field_int(c, "keys.count", (long long)m->keys);
    field_int(c, "keys.bytes-per-key", (long long)m->bytes_per_key);
    field_int(c, "dataset.bytes", (long long)m->dataset);
    field_float(c, "dataset.percentage", m->dataset_perc);
    field_float(c, "peak.percentage", m->peak_perc);
    field_int(c, "allocator.allocated", (long long)m->alloc_allocated);
    field_int(c, "allocator.active", (long long)m->alloc_active);
    field_int(c, "allocator.resident", (long long)m->alloc_resident);
    field_float(c, "allocator-fragmentation.ratio", m->alloc_frag);
    field_int(c, "allocator-fragmentation.bytes", m->alloc_frag_bytes);
    field_float(c, "allocator-rss.ratio", m->alloc_rss);
    field_int(c, "allocator-rss.bytes", m->alloc_rss_bytes);
    field_float(c, "rss-overhead.ratio", m->rss_extra);
    field_int(c, "rss-overhead.bytes", m->rss_extra_bytes);
    field_float(c, "fragmentation", m->frag);
    field_int(c, "fragmentation.bytes", m->frag_bytes);
    free(m);
}

/* strata's own findings; Redis's reply type (verbatim text). */
void cmd_memory_doctor(client *c) {
    mem_report *m = xmalloc(sizeof(*m));
    gather(m);
    char buf[4096];
    size_t n = 0;
#define SAY(...) (n += (size_t)snprintf(buf + n, n < sizeof(buf) ? sizeof(buf) - n : 0, __VA_ARGS__))
    if (m->total < 5 * 1024 * 1024) {
        SAY("This instance holds %zu bytes, too little for a memory analysis to mean anything. "
            "Ask again once it holds some data.\n", m->total);
    } else {
        int issues = 0;
        if (m->peak_perc > 0 && m->peak_perc < 66.6f) {
            SAY("- Peak memory: the peak (%zu bytes) is more than 150%% of what is allocated now "
                "(%zu bytes). RSS may stay near the peak until the allocator returns pages; "
                "MEMORY PURGE asks it to.\n", m->peak, m->total);
            issues++;
        }
        if (m->alloc_frag > 1.1f && m->alloc_frag_bytes > 10 * 1024 * 1024) {
            SAY("- Allocator fragmentation: %.2f (%lld bytes) of the allocator's active pages "
                "hold no live data.\n", (double)m->alloc_frag, m->alloc_frag_bytes);
            issues++;
        }
        if (m->frag > 1.4f && m->frag_bytes > 10 * 1024 * 1024) {
            SAY("- High RSS: the process holds %.2f times the memory it has allocated (%lld "
                "bytes more).\n", (double)m->frag, m->frag_bytes);
            issues++;
        }
        if (m->clients > 200 * 1024 * 1024) {
            SAY("- Client buffers: connections hold %zu bytes of query and reply buffers; look "
                "for clients that do not read their replies (CLIENT LIST omem).\n", m->clients);
            issues++;
        }
        if (!issues) SAY("No memory problems found.\n");
    }
#undef SAY
    if (n >= sizeof(buf)) n = sizeof(buf) - 1;
    reply_verbatim(c, buf, n, "txt");
    free(m);
}

/* ---- MEMORY MALLOC-STATS / PURGE / HELP -------------------------------------- */

typedef struct grow {
    char *p;
    size_t len, cap;
} grow;

static void grow_put(void *priv, const char *p, size_t n) {
    grow *g = priv;
    if (g->len + n > g->cap) {
        g->cap = (g->len + n) * 2;
        g->p = xrealloc(g->p, g->cap);
    }
    memcpy(g->p + g->len, p, n);
    g->len += n;
}

void cmd_memory_malloc_stats(client *c) {
    grow g = {0};
    if (util_allocator_report(grow_put, &g)) reply_bulk(c, g.p, g.len);
    else reply_bulk_cstr(c, "Stats not supported for the current allocator");
    free(g.p);
}

void cmd_memory_purge(client *c) {
    if (util_allocator_purge()) reply_ok(c);
    else reply_error(c, "ERR Error purging dirty pages");
}

void cmd_memory_help(client *c) {
    static const char *const lines[] = {
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
        NULL};
    reply_help(c, "MEMORY", lines);
}
