/* memory.h: how many bytes the process has allocated (INFO's used_memory,
 * and the figure `maxmemory` is compared with before every command).
 *
 * With jemalloc (the default build) the figure is exact and live: jemalloc
 * keeps, per thread, the cumulative bytes that thread allocated and freed
 * (`thread.allocatedp` / `thread.deallocatedp`, usable sizes, maintained on
 * every malloc/free anyway). Every thread that allocates registers once, and
 * mem_used() adds up allocated - deallocated over the registered threads:
 * a few loads, no lock, no system call (docs/eviction.md has the
 * measurements). Memory allocated on one thread and freed on another is
 * counted right, because only the sum matters.
 *
 * Under AddressSanitizer the figure comes from the sanitizer's allocator
 * (also live). A plain `make MALLOC=libc` build has no cheap live figure:
 * glibc's mallinfo2() walks the free lists (tens of ms on a fragmented
 * heap), so there mem_used() returns the value mem_refresh() last read,
 * which the server clock refreshes every 100 ms; eviction then also counts
 * the bytes it frees itself (evict.c).
 *
 * Contract: EVERY thread that may allocate or free must call
 * mem_thread_register() before its first allocation is freed elsewhere,
 * and mem_thread_exit() before it exits; a thread that frees memory the
 * reactors allocated without being registered makes used_memory drift up
 * (and eviction then evicts too much). The main thread registers in
 * mem_setup(), reactors in networking.c.
 */
#ifndef STRATA_MEMORY_H
#define STRATA_MEMORY_H

#include <stdbool.h>
#include <stddef.h>

void mem_setup(void);                /* registers the calling (main) thread */
void mem_thread_register(void);
void mem_thread_exit(void);

/* Allocated bytes, live (jemalloc, ASan) or as of the last refresh (libc).
 * Any thread, no lock. */
size_t mem_used(void);
/* Re-read the allocator where mem_used() is cached (libc); returns the
 * fresh figure. Cheap elsewhere. */
size_t mem_refresh(void);
/* True when mem_used() is live, false when it is the cached libc figure. */
bool mem_is_live(void);
/* Eviction freed `bytes`: lower the cached figure accordingly, so that the
 * next command does not evict the same amount again before the clock's
 * refresh (no-op when live). */
void mem_note_freed(size_t bytes);
/* "jemalloc-5.3.0", "libc", "libc (asan)": INFO's mem_allocator. */
const char *mem_allocator_name(void);

#endif
