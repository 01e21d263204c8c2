/* evict.h: maxmemory and the eviction policies (Redis 7.0's evict.c).
 *
 * While `maxmemory` is set, every command first calls evict_gate: if
 * used_memory (memory.h) is above the limit, keys are evicted per
 * `maxmemory-policy` until it is not, or until nothing evictable remains,
 * or until the time `maxmemory-eviction-tenacity` allows is spent (the
 * reactors' crons then carry on). When nothing could be evicted, commands
 * that may grow memory (the table's denyoom flag, anything queued inside
 * MULTI, an EXEC whose queue holds one) are refused with Redis's OOM error;
 * reads, DEL and the rest still run. With maxmemory 0 the only cost on
 * the command path is command_call's test of cfg.maxmemory.
 *
 * Any reactor thread may evict, several at once: each keeps its own
 * eviction pool (no shared state but the stats counters), takes one shard
 * lock at a time, and stops as soon as the shared used_memory figure is
 * under the limit, so concurrent evictors overshoot by a key or two, not
 * by a multiple. See docs/eviction.md.
 */
#ifndef STRATA_EVICT_H
#define STRATA_EVICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "client.h"

struct command;

#define EVICT_OOM_ERR "OOM command not allowed when used memory > 'maxmemory'."

enum evict_result {
    EVICT_OK,       /* under the limit (or no limit) */
    EVICT_RUNNING,  /* still over it, out of time for now: more evicting is scheduled */
    EVICT_FAIL,     /* over it, and nothing left that the policy may evict */
};

/* The gate of command_call, for every command while cfg.maxmemory != 0:
 * evicts as needed; returns false after refusing the command (OOM error;
 * inside MULTI the transaction is flagged, a refused EXEC aborts it). Runs
 * on the client's reactor thread, holding no lock. */
bool evict_gate(client *c, const struct command *cmd);

/* Redis's performEvictions: bring used_memory under maxmemory as far as
 * the policy and the time limit allow. Any reactor thread, holding no
 * shard lock (or all of them, inside EXEC). */
enum evict_result evict_perform(void);

/* CONFIG SET maxmemory: warn when the new limit is below used_memory, and
 * evict now, as Redis does. */
void evict_maxmemory_changed(void);

/* Reactor cron: carry on an eviction that ran out of time. */
void evict_cron(void);

/* A reactor thread ends: free its eviction pool. */
void evict_thread_exit(void);

/* INFO: mem_not_counted_for_evict (bytes of used_memory the limit ignores;
 * 0 until the WAL/replication buffers exist), evicted_keys, and the
 * eviction-exceeded times in ms (total, and the current episode). */
size_t evict_not_counted(void);
uint64_t evict_stat_evicted(void);
uint64_t evict_stat_spilled(void);      /* values moved to disk by policy spill */
/* Policy spill, from the flush thread: spill cold values for up to
 * budget_us while used_memory is over maxmemory, so the reactors rarely
 * have to (docs/storage.md). Holds one shard lock at a time. */
enum evict_result evict_spill_background(uint64_t budget_us);
/* A flush made entries clean: spilling may find candidates again (the
 * spill search backs off for a while after finding none). */
void evict_spill_kick(void);
uint64_t evict_stat_exceeded_total_ms(void);
uint64_t evict_stat_exceeded_current_ms(void);
void evict_stat_reset(void);

#endif
