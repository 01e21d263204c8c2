/* wstream.h: the write stream. Every applied keyspace mutation becomes one
 * physical record (the state change, not the command) with a 64-bit
 * sequence number, assigned while the key's shard lock is held, so the
 * order of a key's records is the order of its changes. The records are
 * encoded straight into one in-memory log buffer, in WAL record format
 * (docs/wal_format.md), under a short mutex (`ws_lock`, inside the shard
 * locks), so the buffer is always in sequence order. The WAL (wal.c) takes
 * the buffer and writes it to disk outside every shard lock; replication
 * will read the same stream later.
 *
 * When the engine is off (no data-dir, appendonly no) the cost on the
 * write path is the relaxed load and branch of ws_on(); reads pay nothing.
 *
 * Emission points are in keyspace.c (do_ks_set, do_ks_write_at,
 * do_ks_delete, do_ks_set_expire, lazy and active expiry, do_ks_evict,
 * do_ks_move, flush and swap of databases). */
#ifndef STRATA_WSTREAM_H
#define STRATA_WSTREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern _Atomic int ws_enabled;

static inline bool ws_on(void) {
    return __builtin_expect(atomic_load_explicit(&ws_enabled, memory_order_relaxed) != 0, 0);
}

/* Record emitters. Caller holds the shard lock of the key (every shard
 * lock for flushdb/flushall/swapdb). `flags`: KS_RAW/KS_NOINT/KS_UNSHARED. */
void ws_log_set(int db, const char *key, size_t klen, const char *val, size_t vlen,
                int64_t expire_ms, unsigned flags);
void ws_log_del(int db, const char *key, size_t klen);
void ws_log_expire(int db, const char *key, size_t klen, int64_t expire_ms);
void ws_log_setrange(int db, const char *key, size_t klen, uint64_t offset, const char *data,
                     size_t dlen);
void ws_log_flushdb(int db);           /* db < 0: FLUSHALL */
void ws_log_swapdb(int a, int b);
void ws_log_marker(uint8_t op);        /* WALF_SNAP_BEGIN / WALF_SNAP_END */

/* The last sequence number assigned (lock-free). */
uint64_t ws_last_seq(void);
/* The last sequence number the calling thread emitted (0: none yet). */
uint64_t ws_thread_seq(void);

/* Start emitting; the next record gets seq last_seq + 1. Stop emitting
 * (records already buffered stay until taken). Called with every shard
 * lock held (wal.c), so no mutation is half logged. */
void ws_start(uint64_t last_seq);
void ws_stop(void);

/* The WAL writer takes what is buffered: the staged bytes are swapped
 * with *buf (which the caller owns afterwards; pass an empty buffer, its
 * capacity is reused). *hi gets the last seq in the taken bytes. */
typedef struct ws_buf {
    uint8_t *p;
    size_t len, cap;
} ws_buf;
void ws_take(ws_buf *buf, uint64_t *hi);
/* Bytes staged and not yet taken (INFO aof_buffer_length). */
size_t ws_pending_bytes(void);

void ws_teardown(void);

#endif
