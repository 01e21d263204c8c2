/* memory.c: the process's allocated-bytes figure (see memory.h for the
 * model and the contract every thread must keep).
 *
 * jemalloc: a table of registered threads, each slot holding the two
 * pointers jemalloc gives a thread to its own cumulative counters. Readers
 * load the pointers (acquire) and the counters (relaxed: each is one
 * aligned 64-bit word written only by its thread); the sum is as exact as
 * any instant's snapshot across threads can be. A thread that exits folds
 * its net bytes into `retired` and clears its slot first, so no reader
 * keeps using its counters after the thread is gone (the counters live in
 * the thread's TLS block, which glibc releases only when the thread is
 * joined, after the slot was cleared).
 */
#include "memory.h"

#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef USE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

/* Under ASan or TSan malloc is the sanitizer's, which mallinfo2 does not
 * see; both runtimes report their own figure. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define MEM_ASAN 1
/* From <sanitizer/allocator_interface.h>, which Debian's gcc does not ship. */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

#if defined(USE_JEMALLOC) && !defined(MEM_ASAN)
#define MEM_COUNTERS 1   /* the per-thread counters below are in use */
#endif

#define MEM_MAX_THREADS 256

typedef struct mem_slot {
    _Atomic(const uint64_t *) alloc;
    _Atomic(const uint64_t *) dealloc;
} mem_slot;

#ifdef MEM_COUNTERS
static mem_slot slots[MEM_MAX_THREADS];
static _Atomic int nslots;
static _Atomic int64_t retired;         /* net bytes of threads that exited */
static _Thread_local int my_slot = -1;
#endif
static _Atomic size_t cached;           /* libc: the last mallinfo2 figure */
static bool live;
static char allocator[64] = "libc";

void mem_thread_register(void) {
#ifdef MEM_COUNTERS
    if (my_slot >= 0 || !live) return;
    uint64_t *a = NULL, *d = NULL;
    size_t sz = sizeof(a);
    if (mallctl("thread.allocatedp", &a, &sz, NULL, 0) != 0) return;
    sz = sizeof(d);
    if (mallctl("thread.deallocatedp", &d, &sz, NULL, 0) != 0) return;
    int i = atomic_fetch_add(&nslots, 1);
    if (i >= MEM_MAX_THREADS) {
        /* More threads than slots: a configuration the server never makes
         * (io-threads is at most 128). Refuse to undercount silently. */
        fprintf(stderr, "strata: more than %d threads registered with memory accounting\n",
                MEM_MAX_THREADS);
        abort();
    }
    atomic_store_explicit(&slots[i].dealloc, d, memory_order_release);
    atomic_store_explicit(&slots[i].alloc, a, memory_order_release);
    my_slot = i;
#endif
}

void mem_thread_exit(void) {
#ifdef MEM_COUNTERS
    if (my_slot < 0) return;
    mem_slot *s = &slots[my_slot];
    const uint64_t *a = atomic_load(&s->alloc), *d = atomic_load(&s->dealloc);
    /* Clear the slot before folding, so a reader sees the bytes either in
     * the slot or in retired, briefly neither (an undercount of one
     * thread's net for an instant at shutdown), never twice. */
    atomic_store(&s->alloc, NULL);
    atomic_store(&s->dealloc, NULL);
    atomic_fetch_add(&retired, (int64_t)(*a - *d));
    my_slot = -1;
#endif
}

void mem_setup(void) {
#if defined(MEM_ASAN)
    live = true;
    snprintf(allocator, sizeof(allocator), "libc");
#elif defined(USE_JEMALLOC)
    const char *ver = NULL;
    size_t sz = sizeof(ver);
    if (mallctl("version", &ver, &sz, NULL, 0) == 0 && ver) {
        /* "5.3.0-0-g54eaed1d8b56b1aa528be3bdd1877e59c56fa90c" -> "5.3.0" */
        size_t n = strcspn(ver, "-");
        snprintf(allocator, sizeof(allocator), "jemalloc-%.*s", (int)n, ver);
    } else {
        snprintf(allocator, sizeof(allocator), "jemalloc");
    }
    uint64_t *p;
    sz = sizeof(p);
    live = mallctl("thread.allocatedp", &p, &sz, NULL, 0) == 0;
    mem_thread_register();
#else
    live = false;
#endif
    mem_refresh();
}

static size_t slow_read(void) {
#if defined(USE_JEMALLOC) && !defined(MEM_ASAN)
    /* jemalloc without per-thread stats: the merged stats, refreshed by
     * bumping the epoch (several microseconds: only from the cron). */
    uint64_t epoch = 1;
    size_t sz = sizeof(epoch);
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    size_t allocated = 0;
    sz = sizeof(allocated);
    if (mallctl("stats.allocated", &allocated, &sz, NULL, 0) == 0) return allocated;
    return 0;
#else
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
#endif
}

size_t mem_used(void) {
#if defined(MEM_ASAN)
    return __sanitizer_get_current_allocated_bytes();
#elif !defined(MEM_COUNTERS)
    return atomic_load_explicit(&cached, memory_order_relaxed);
#else
    if (!live) return atomic_load_explicit(&cached, memory_order_relaxed);
    int64_t sum = atomic_load_explicit(&retired, memory_order_relaxed);
    int n = atomic_load_explicit(&nslots, memory_order_acquire);
    if (n > MEM_MAX_THREADS) n = MEM_MAX_THREADS;
    for (int i = 0; i < n; i++) {
        const uint64_t *a = atomic_load_explicit(&slots[i].alloc, memory_order_acquire);
        const uint64_t *d = atomic_load_explicit(&slots[i].dealloc, memory_order_acquire);
        if (!a || !d) continue;
        sum += (int64_t)(__atomic_load_n(a, __ATOMIC_RELAXED) - __atomic_load_n(d, __ATOMIC_RELAXED));
    }
    /* Another thread may free what this one counted as allocated between
     * two loads; the figure is never negative. */
    return sum > 0 ? (size_t)sum : 0;
#endif
}

size_t mem_refresh(void) {
    if (live) return mem_used();
    size_t v = slow_read();
    atomic_store_explicit(&cached, v, memory_order_relaxed);
    return v;
}

bool mem_is_live(void) { return live; }

void mem_note_freed(size_t bytes) {
    if (live) return;
    /* Saturating subtract; a racing refresh simply wins. */
    size_t cur = atomic_load_explicit(&cached, memory_order_relaxed);
    while (!atomic_compare_exchange_weak(&cached, &cur, cur > bytes ? cur - bytes : 0)) {
    }
}

const char *mem_allocator_name(void) { return allocator; }
