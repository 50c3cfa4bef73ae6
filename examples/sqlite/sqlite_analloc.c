/*
 * sqlite_analloc.c - sqlite3_mem_methods over analloc (see sqlite_analloc.h).
 *
 * SQLite's contract for the methods (sqlite3.h, sqlite3_mem_methods):
 *   xMalloc(n)      n > 0; 8-byte aligned memory or NULL.  analloc's blocks
 *                   are aligned to their size, at least one page (>= 8).
 *   xFree(p)        p from xMalloc/xRealloc, never NULL.
 *   xRealloc(p, n)  n is always a value xRoundup returned; NULL leaves p live.
 *   xSize(p)        the usable size of a live allocation: the block's size.
 *   xRoundup(n)     what xMalloc(n) would really hand out: page * 2^k >= n.
 *   xInit(ctx)      at sqlite3_initialize; xShutdown(ctx) at sqlite3_shutdown.
 *
 * Negative controls for the test (never in a real build):
 *   -DSQLITE_ANALLOC_BREAK=1  xRealloc, when it grows a block, copies one byte
 *                             too few (alloc + short copy + free).
 *   -DSQLITE_ANALLOC_BREAK=2  xFree forgets every 4096th block (a leak).
 *
 * ANALLOC_TRACE=file (in the environment at xInit; "%p" in it becomes the
 * process id): a trace of every xMalloc, xFree and xRealloc, written under
 * the adapter's lock (tools/trace/README.md).
 */
#include "sqlite_analloc.h"

#include <limits.h>
#include <string.h>

#include <sqlite3.h>

#define TRACE_WRITER
#include "../../tools/trace/trace_format.h"

#ifndef SQLITE_ANALLOC_BREAK
#define SQLITE_ANALLOC_BREAK 0
#endif

static struct {
    unsigned char *heap;
    size_t size;
    size_t page;
    size_t largest;        /* page << depth, after xInit */
    int lock;
    sqlite3_mutex *mutex;
    analloc_t a;           /* == (analloc_t)heap once xInit has run */
    struct sqlite_analloc_stats st;
} g;

/* Bytes in live blocks: analloc keeps the free count (O(1)), so the
 * adapter needs no per-block bookkeeping and no analloc_mem_size on free. */
static size_t in_use(void)
{
    return g.st.managed_bytes - analloc_free_bytes(g.a);
}

/* The peak only rises when a block is handed out. */
static void note_peak(void)
{
    size_t u = in_use();
    if (u > g.st.peak)
        g.st.peak = u;
}

static void note_request(int n)
{
    if ((size_t)n > g.st.largest_request)
        g.st.largest_request = (size_t)n;
}

/* page * 2^k >= n, or 0 if no block of the arena is that large. */
static size_t block_size(size_t n)
{
    size_t b = g.page;
    while (b < n) {
        if (b >= g.largest)
            return 0;
        b <<= 1;
    }
    return b <= g.largest ? b : 0;
}

/* The adapter's lock (lock = 1), around each method's analloc calls and
 * counters together: one lock per call, counters exact. */
static void enter(void)
{
    if (g.mutex != NULL)
        sqlite3_mutex_enter(g.mutex);
}

static void leave(void)
{
    if (g.mutex != NULL)
        sqlite3_mutex_leave(g.mutex);
}

static void *x_malloc(int n)
{
    void *p;
    enter();
    note_request(n);
    p = analloc_alloc(g.a, (size_t)n);
    if (trace_w.state == 1)
        trace_rec(TRACE_ALLOC, (uint64_t)n, p, 0);
    if (p == NULL) {
        g.st.failures++;
    } else {
        g.st.mallocs++;
        note_peak();
    }
    leave();
    return p;
}

static void x_free(void *p)
{
    enter();
    g.st.frees++;
    if (trace_w.state == 1)
        trace_rec(TRACE_FREE, 0, p, 0);
#if SQLITE_ANALLOC_BREAK == 2
    if ((g.st.frees & 4095) != 0) /* else: the leak of the negative control */
#endif
        analloc_free(g.a, p);
    leave();
}

static void *x_realloc(void *p, int n)
{
    void *q;
    enter();
    note_request(n);
#if SQLITE_ANALLOC_BREAK == 1
    size_t old = analloc_mem_size(g.a, p);
    if ((size_t)n > old) {
        q = analloc_alloc(g.a, (size_t)n);
        if (q != NULL) {
            memcpy(q, p, old - 1); /* one byte too few */
            analloc_free(g.a, p);
        }
    } else
#endif
        q = analloc_realloc(g.a, p, (size_t)n);
    if (trace_w.state == 1)
        trace_rec(TRACE_REALLOC, (uint64_t)n, q, (uint64_t)(uintptr_t)p);
    if (q == NULL) {
        g.st.failures++;
    } else {
        g.st.reallocs++;
        note_peak();
    }
    leave();
    return q;
}

static int x_size(void *p)
{
    size_t n;
    enter();
    n = analloc_mem_size(g.a, p);
    leave();
    return (int)n;
}

static int x_roundup(int n)
{
    size_t b = block_size(n > 0 ? (size_t)n : 1);
    /* No block that large: any answer >= n will do, xMalloc fails anyway. */
    return b == 0 || b > (size_t)INT_MAX ? n : (int)b;
}

static int x_init(void *ctx)
{
    analloc_t a = (analloc_t)(void *)g.heap;
    (void)ctx;
    /* The struct analloc lives in the heap's used prefix (aligned: the heap
     * is at least 8-byte aligned, checked by sqlite_analloc_config). */
    if (analloc_with_chunk(a, g.heap, g.size, sizeof *a, g.page) != 0)
        return SQLITE_NOMEM;
    g.a = a;
    g.largest = a->page << a->depth;
    memset(&g.st, 0, sizeof g.st);
    g.st.heap_bytes = g.size;
    g.st.managed_bytes = a->managed;
    g.st.meta_bytes = analloc_meta_bytes(a);
    g.mutex = NULL;
    trace_open((uint32_t)g.page);
    if (g.lock) {
        /* A static mutex needs no allocation (a dynamic one would be
         * allocated by the allocator being set up).  SQLite defines
         * SQLITE_MUTEX_STATIC_MEM2 and no longer uses it; not
         * SQLITE_MUTEX_STATIC_MEM, which SQLite already holds around xMalloc,
         * xFree and xRealloc when memory statistics are on (not recursive).
         * In single-thread builds and modes this is a no-op mutex, or NULL. */
        g.mutex = sqlite3_mutex_alloc(SQLITE_MUTEX_STATIC_MEM2);
    }
    return SQLITE_OK;
}

static void x_shutdown(void *ctx)
{
    (void)ctx;
    if (trace_w.state == 1)
        trace_final();
    /* Nothing to give back: the heap is the caller's.  The allocator stays
     * readable so the caller can check that every block came back. */
    g.mutex = NULL;
}

static const sqlite3_mem_methods methods = {
    x_malloc, x_free, x_realloc, x_size, x_roundup, x_init, x_shutdown, NULL,
};

int sqlite_analloc_config(void *heap, size_t size, size_t page, int lock)
{
    if (heap == NULL || ((uintptr_t)heap & 7u) != 0 || page < 8 || (page & (page - 1)) != 0 ||
        size < sizeof(struct analloc))
        return SQLITE_MISUSE;
    g.heap = heap;
    g.size = size;
    g.page = page;
    g.lock = lock;
    g.a = NULL;
    memset(&g.st, 0, sizeof g.st);
    return sqlite3_config(SQLITE_CONFIG_MALLOC, &methods);
}

analloc_t sqlite_analloc_allocator(void)
{
    return g.a;
}

void sqlite_analloc_stats(struct sqlite_analloc_stats *st)
{
    *st = g.st;
    if (g.a != NULL)
        st->in_use = in_use();
}

void sqlite_analloc_reset_peak(void)
{
    if (g.a != NULL)
        g.st.peak = in_use();
}
