/* multi.h: transactions (MULTI / EXEC / DISCARD) and optimistic locking
 * (WATCH / UNWATCH).
 *
 * Between MULTI and EXEC a client's commands are checked (arity, auth...)
 * and queued with copies of their arguments. EXEC locks every keyspace
 * shard (ks_exclusive_begin), so no command of any other thread runs in
 * the middle of the transaction, then runs the queue.
 *
 * WATCH registers (db, key) in a process-wide registry. Every change to a
 * key (writes, deletes, expiry, FLUSHDB/FLUSHALL/SWAPDB of a db where it
 * exists) calls watch_touch_key from keyspace.c under the key's shard lock,
 * which marks the watching clients dirty; EXEC then replies a null array.
 * When nobody watches anything, the check costs one relaxed atomic load.
 */
#ifndef STRATA_MULTI_H
#define STRATA_MULTI_H

#include <stdatomic.h>
#include <stdbool.h>
#include "client.h"
#include "keyspace.h"

struct command;

/* Number of watched (db, key) records; 0 keeps the write path at one load. */
extern _Atomic unsigned long watch_nkeys;

void watch_touch_slow(int db, const ks_key *k);

/* A key of `db` was modified: flag its watchers. Caller holds k's shard lock. */
static inline void watch_touch_key(int db, const ks_key *k) {
    if (__builtin_expect(atomic_load_explicit(&watch_nkeys, memory_order_relaxed) != 0, 0))
        watch_touch_slow(db, k);
}

/* Whole-db changes, called by keyspace.c with every shard locked. `present`
 * tells whether a key is in a db's table (expired or not, as Redis's
 * dictFind). FLUSHDB/FLUSHALL (db -1) flag watchers of keys present in the
 * flushed db; SWAPDB flags watchers of keys of either db present in either. */
typedef bool watch_present_fn(int db, const ks_key *k);
void watch_touch_flush(int db, watch_present_fn *present);
void watch_touch_swap(int a, int b, watch_present_fn *present);

/* Called by command_call while c is inside MULTI. Returns true if the
 * command was queued (or rejected into the transaction) and must not run
 * now; false for the commands that run immediately (EXEC, DISCARD, MULTI,
 * WATCH, QUIT, RESET). */
bool multi_maybe_queue(client *c, const struct command *cmd);
/* A command was rejected before it could be queued (unknown, arity, auth):
 * EXEC will answer EXECABORT. */
void multi_flag_error(client *c);

/* Discard the transaction and the watched keys (RESET, client close). */
void multi_client_reset(client *c);

/* Number of queued commands, or -1 outside MULTI (CLIENT LIST multi=). */
int multi_queued(const client *c);
/* The command-table flags of the queued commands OR-ed together (0
 * outside MULTI): EXEC is refused under OOM when they include denyoom, and
 * CLIENT PAUSE WRITE holds an EXEC that would write. */
uint32_t multi_queued_flags(const client *c);

void multi_teardown(void);

#endif
