/*
 * sqlite_analloc.h - SQLite's memory allocator (sqlite3_mem_methods) over a
 * fixed heap managed by analloc, as embedded builds use it.
 *
 *   static unsigned char heap[8 << 20] __attribute__((aligned(8 << 20)));
 *   sqlite_analloc_config(heap, sizeof heap, SQLITE_ANALLOC_PAGE, 0);
 *   sqlite3_initialize();          // xInit sets analloc up over the heap
 *   ... use SQLite ...
 *   sqlite3_shutdown();            // every block is back in the heap
 *
 * sqlite_analloc_config must run before sqlite3_initialize (or after
 * sqlite3_shutdown): it calls sqlite3_config(SQLITE_CONFIG_MALLOC, ...).
 * SQLite keeps one global allocator, so the adapter's state is global too
 * (xMalloc, xSize and xRoundup receive no context pointer).
 *
 * Threads: analloc is single-threaded, so concurrent calls must be
 * serialised.  With memory statistics on (SQLITE_CONFIG_MEMSTATUS, the
 * default), SQLite calls xMalloc, xFree and xRealloc under its own
 * SQLITE_MUTEX_STATIC_MEM mutex (sqlite3Malloc, sqlite3_free, sqlite3Realloc)
 * in the serialized and multi-thread modes, but not xSize: sqlite3_msize and
 * sqlite3DbMallocSize call it with only the connection's mutex held, and
 * analloc_mem_size reads metadata that another thread's malloc or free may be
 * changing (memsys5's xSize reads one byte of the block's own, which is why
 * SQLite gets away with it there).  With statistics off nothing is locked.
 * So, `lock` in sqlite_analloc_config:
 *   lock = 1: each method takes SQLITE_MUTEX_STATIC_MEM2 (defined by SQLite,
 *             unused by it) around its analloc calls and the counters:
 *             safe whenever several threads use SQLite;
 *   lock = 0: no lock of its own: for programs where one thread uses SQLite,
 *             or SQLITE_THREADSAFE=0 builds.
 * In single-thread builds or modes SQLite's mutexes are no-ops anyway.
 */
#ifndef SQLITE_ANALLOC_H
#define SQLITE_ANALLOC_H

#include <stddef.h>
#include <stdint.h>

#include "analloc.h"

/* 64-byte pages (and memsys5 atoms in the benchmark): see README.md
 * ("Page size") for the measurements. */
#ifndef SQLITE_ANALLOC_PAGE
#define SQLITE_ANALLOC_PAGE 64
#endif

/* Counters.  Bytes are whole blocks, from analloc's own free count; xSize
 * reports whole blocks too, so with memory statistics on `in_use` and `peak`
 * equal SQLite's SQLITE_STATUS_MEMORY_USED value and high-water mark. */
struct sqlite_analloc_stats {
    size_t heap_bytes;    /* the buffer given to sqlite_analloc_config */
    size_t managed_bytes; /* allocatable bytes after analloc's metadata */
    size_t meta_bytes;    /* analloc's metadata, inside the heap */
    size_t in_use;        /* bytes in live blocks now */
    size_t peak;          /* the most bytes in live blocks at once */
    uint64_t mallocs;     /* successful xMalloc calls */
    uint64_t reallocs;    /* xRealloc calls that succeeded */
    uint64_t frees;       /* xFree calls (non-NULL) */
    uint64_t failures;    /* xMalloc / xRealloc that found no block */
    size_t largest_request; /* the largest xMalloc / xRealloc size */
};

/*
 * Install the adapter: SQLite's allocator becomes analloc over
 * [heap, heap + size) with pages of `page` bytes (a power of two, >= 8).
 * The struct analloc and its metadata go at the start of the heap; blocks
 * are aligned to their size in absolute addresses, so a heap aligned to a
 * large power of two lets the largest blocks be used.  `lock`: see
 * "Threads" above.  Returns SQLITE_OK,
 * SQLITE_MISUSE (bad arguments; SQLite already initialized) or what
 * sqlite3_config returns.  The heap is set up by xInit (sqlite3_initialize),
 * which fails with SQLITE_NOMEM if it cannot hold analloc's metadata.
 */
int sqlite_analloc_config(void *heap, size_t size, size_t page, int lock);

/* The allocator (valid between sqlite3_initialize and the next
 * sqlite_analloc_config: sqlite3_shutdown leaves it in place so a caller can
 * check that every block came back), or NULL before the first xInit. */
analloc_t sqlite_analloc_allocator(void);

/* A copy of the counters. */
void sqlite_analloc_stats(struct sqlite_analloc_stats *st);

/* Reset `peak` to `in_use` (to measure one phase). */
void sqlite_analloc_reset_peak(void);

#endif /* SQLITE_ANALLOC_H */
