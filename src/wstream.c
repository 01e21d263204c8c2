/* wstream.c: the write stream's sequence counter and in-memory log buffer
 * (see wstream.h). One mutex, ws_lock, guards the counter and the buffer;
 * it nests inside the shard locks and takes nothing inside itself, and is
 * held only to copy one encoded record (docs/threads.md). */
#include "wstream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "util.h"
#include "wal_format.h"

_Atomic int ws_enabled;

static struct {
    pthread_mutex_t lock;
    ws_buf buf;
    uint64_t seq;           /* last assigned, under lock */
} __attribute__((aligned(64))) ws = {.lock = PTHREAD_MUTEX_INITIALIZER};

static _Atomic uint64_t last_pub;          /* ws.seq, for lock-free readers */
static _Thread_local uint64_t tl_seq;

uint64_t ws_last_seq(void) { return atomic_load_explicit(&last_pub, memory_order_acquire); }
uint64_t ws_thread_seq(void) { return tl_seq; }

static void emit(wal_rec *r) {
    size_t n = walf_encoded_size(r);
    pthread_mutex_lock(&ws.lock);
    if (ws.buf.len + n > ws.buf.cap) {
        size_t cap = ws.buf.cap ? ws.buf.cap * 2 : 64 * 1024;
        while (cap < ws.buf.len + n) cap *= 2;
        ws.buf.p = xrealloc(ws.buf.p, cap);
        ws.buf.cap = cap;
    }
    r->seq = ++ws.seq;
    walf_encode(ws.buf.p + ws.buf.len, r);
    ws.buf.len += n;
    atomic_store_explicit(&last_pub, ws.seq, memory_order_release);
    pthread_mutex_unlock(&ws.lock);
    tl_seq = r->seq;
}

void ws_log_set(int db, const char *key, size_t klen, const char *val, size_t vlen,
                int64_t expire_ms, unsigned flags) {
    wal_rec r = {.op = WALF_SET, .db = (uint32_t)db, .flags = (uint8_t)flags, .expire_ms = expire_ms,
                 .key = key, .klen = klen, .val = val, .vlen = vlen};
    emit(&r);
}

void ws_log_del(int db, const char *key, size_t klen) {
    wal_rec r = {.op = WALF_DEL, .db = (uint32_t)db, .key = key, .klen = klen};
    emit(&r);
}

void ws_log_expire(int db, const char *key, size_t klen, int64_t expire_ms) {
    wal_rec r = {.op = WALF_EXPIRE, .db = (uint32_t)db, .expire_ms = expire_ms, .key = key, .klen = klen};
    emit(&r);
}

void ws_log_setrange(int db, const char *key, size_t klen, uint64_t offset, const char *data,
                     size_t dlen) {
    wal_rec r = {.op = WALF_SETRANGE, .db = (uint32_t)db, .offset = offset, .key = key, .klen = klen,
                 .val = data, .vlen = dlen};
    emit(&r);
}

void ws_log_flushdb(int db) {
    wal_rec r = {.op = db < 0 ? WALF_FLUSHALL : WALF_FLUSHDB, .db = db < 0 ? 0 : (uint32_t)db};
    emit(&r);
}

void ws_log_swapdb(int a, int b) {
    wal_rec r = {.op = WALF_SWAPDB, .db = (uint32_t)a, .db2 = (uint32_t)b};
    emit(&r);
}

void ws_log_marker(uint8_t op) {
    wal_rec r = {.op = op};
    emit(&r);
}

void ws_start(uint64_t last_seq) {
    pthread_mutex_lock(&ws.lock);
    ws.seq = last_seq;
    atomic_store(&last_pub, last_seq);
    pthread_mutex_unlock(&ws.lock);
    atomic_store(&ws_enabled, 1);
}

void ws_stop(void) { atomic_store(&ws_enabled, 0); }

void ws_take(ws_buf *buf, uint64_t *hi) {
    pthread_mutex_lock(&ws.lock);
    ws_buf t = ws.buf;
    ws.buf = *buf;
    ws.buf.len = 0;
    *buf = t;
    *hi = ws.seq;
    pthread_mutex_unlock(&ws.lock);
}

size_t ws_pending_bytes(void) {
    pthread_mutex_lock(&ws.lock);
    size_t n = ws.buf.len;
    pthread_mutex_unlock(&ws.lock);
    return n;
}

void ws_teardown(void) {
    atomic_store(&ws_enabled, 0);
    pthread_mutex_lock(&ws.lock);
    free(ws.buf.p);
    memset(&ws.buf, 0, sizeof(ws.buf));
    pthread_mutex_unlock(&ws.lock);
}
