/* durability.h: the server's side of the WAL: which directory it lives in
 * (data-dir), recovery at start on a loader thread while clients get
 * -LOADING, the command gate (-LOADING, -MISCONF), CONFIG SET appendonly
 * at run time (a snapshot of the keyspace first, as Redis rewrites its
 * AOF), and INFO persistence. The log itself is wal.c; the records come
 * from the write stream (wstream.c). docs/durability.md. */
#ifndef STRATA_DURABILITY_H
#define STRATA_DURABILITY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "client.h"
#include "wal.h"

struct command;

extern _Atomic int dur_loading;   /* 1 while recovery runs */

/* Non-zero when a command may have to be refused (loading, or the WAL
 * cannot be written): two relaxed loads, normally both zero. */
static inline int durability_gate_needed(void) {
    return atomic_load_explicit(&dur_loading, memory_order_relaxed) | wal_error();
}
/* Redis's order: -MISCONF for write commands (and PING), then -LOADING for
 * commands without the loading flag. false: c was answered. */
bool durability_gate(client *c, const struct command *cmd);

/* Start: decide the directories (before listening). */
void durability_setup(void);
/* After the listeners are up: recover on a loader thread (or at once when
 * there is nothing to do). */
void durability_start(void);
void durability_teardown(void);

/* <data-dir> as resolved (data-dir, or <dir>/strata-data), "" when off. */
const char *durability_data_dir(void);

/* INFO persistence lines ("loading:0\r\n..."), NUL-terminated in buf. */
void durability_info(char *buf, size_t cap);

#endif
