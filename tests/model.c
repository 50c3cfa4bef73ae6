/*
 * model.c - the reference model of the tests: the shadow-model engine of the
 * randomized model test and of the fuzz harness (see model.h for its
 * interface; the drivers are tests/test_model.c and tests/fuzz_analloc.c),
 * and the same model step by step (model_arena_*, at the end of this file)
 * for the hand-written tests of test_engine, test_placement and test_ranges.
 *
 * Each run draws a configuration (page size, arena size, used prefix, start
 * alignment, with_chunk or init with an external metadata buffer, real memory
 * or a never-touched fake address range) and then a sequence of alloc, free,
 * realloc, mem_size and deliberately bad calls.  After every step the
 * allocator is compared with a shadow model that knows nothing of the
 * engine's bit vectors:
 *
 *  - the live blocks, sorted by first page (and, for real arenas, a per-page
 *    owner array that must agree with them);
 *  - the block cache (analloc_set_cache), as one list per cached order: frees
 *    of those orders go in (the oldest goes back to the buddy system when the
 *    list is full), allocations of those orders take the newest, and an
 *    allocation or a realloc that finds no room drains it and tries again;
 *  - the free blocks of a binary buddy with eager merging are exactly the
 *    maximal aligned free runs, i.e. the canonical cut of every gap between
 *    live and cached blocks into aligned power-of-two blocks.  So the model
 *    predicts exactly whether an alloc of order k succeeds (an aligned run of
 *    2^k free pages exists, after a drain if need be), the address it returns
 *    (the newest cached block of its order, else the lowest among the
 *    smallest free blocks that fit), whether realloc grows in place, and what
 *    analloc_largest_free (the largest free block, cached blocks unmerged)
 *    and analloc_free_bytes report.
 *
 * Every live block of a real arena holds a pattern derived from its id, which
 * is verified at free, around realloc and at the end.  Bytes the allocator
 * must not write (guards around the chunk, the used prefix, slack, the
 * managed memory right after setup, the metadata buffer's slack) hold a
 * canary.  Bad pointers must return the exact error code, reach the error
 * hook and leave the struct and metadata byte-identical.  At the end of each
 * configuration (or when the source of randomness runs dry) everything is
 * freed in random order and the struct and the metadata must equal a
 * snapshot taken right after setup.
 *
 * Addresses are uint64_t throughout, as the engine's address-space calls
 * take them: a configuration may be an address space (analloc_space_init,
 * MODEL_SPACE: base 0, where address 0 is a block like any other, small
 * unaligned bases, bases above 4 GiB and near the top of the 64-bit space,
 * on 32-bit targets too), which every call reaches through the space calls,
 * ANALLOC_NO_ADDR standing for NULL; on an allocator over pointers
 * (MODEL_TWINS) each call goes through the pointer call or its space twin
 * at random, with the same prediction.  The model numbers pages as the
 * engine does (page numbers [lo, hi), never 0; src/internal.h, Addresses):
 * page p is at origin + p * page, where origin is 0 for pointers.  What the
 * model takes from the engine's struct (lo, hi, origin) it checks against
 * the contract first: the first and last page where the space's whole
 * pages are, and blocks aligned in addresses as in page numbers.
 *
 * Exact runs (MODEL_EXACT): analloc_alloc_exact takes a block of 2^k pages
 * as analloc_alloc (flags 0, natural alignment, the whole arena: the block
 * cache and its refill) or analloc_alloc_range would, then trims it to the
 * run, whose blocks (the binary digits of its page count, largest first)
 * the model holds as live blocks of their own, so that analloc_free,
 * mem_size and the canonical cut of the free pages treat them as any
 * other.  analloc_free_exact is predicted block by block from the live
 * blocks, as the engine checks them: the first bad block's error, or
 * ANALLOC_ESIZE for a live block of another order; then each freed as
 * analloc_free would, lowest first.
 *
 * All randomness comes from a struct model_source (a PRNG, or the fuzzer's
 * bytes); every broken expectation goes to a struct model_failure callback.
 * No test framework here: the fuzzer links without cmocka.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analloc.h"
#include "layout.h"
#include "model.h"
#include "testutil.h"
#define TESTCHECK_NO_CMOCKA
#include "testcheck.h"

/* ---- Settings -------------------------------------------------------------- */

#define GUARD 256u                   /* canary bytes around every buffer */
#define CANARY 0xC5u                 /* in and around real chunks */
#define META_CANARY 0x3Cu            /* around external metadata */
#define FULL_FILL 4096u              /* blocks up to this size get a full pattern */
#define REAL_MAX_BYTES ((size_t)16 << 20)
#define SMALL_ARENA 4096u            /* analloc_check after every step up to this */
#define OWNER_MAX_PAGES ((size_t)1 << 17)
#define SNAP_META_MAX ((size_t)64 << 10)
#define NONE ((size_t)-1)
#define FREE_PAGE UINT32_MAX
#define RESERVED_PAGE (UINT32_MAX - 1u)

/* ---- Pseudo-random numbers (tests/testutil.h's generator) ------------------ */

static uint64_t prng_draw(void *ctx, uint64_t n)
{
    uint64_t x = rng_next(ctx);
    return n == 0 ? x : x % n;
}

struct model_source model_source_prng(struct rng *r)
{
    return (struct model_source){.draw = prng_draw, .exhausted = NULL, .ctx = r};
}

/* ---- Randomness from bytes (the fuzzer) ------------------------------------ */

static uint64_t bytes_draw(void *ctx, uint64_t n)
{
    struct model_bytes *b = ctx;
    uint64_t x = 0, need = n - 1u; /* n == 0: all 64 bits */
    for (unsigned i = 0; need != 0; i++, need >>= 8) {
        if (b->pos < b->size)
            x |= (uint64_t)b->data[b->pos++] << (8u * i);
        else
            b->dry = true;
    }
    return n == 0 ? x : x % n;
}

static bool bytes_exhausted(void *ctx)
{
    const struct model_bytes *b = ctx;
    return b->dry || b->pos >= b->size;
}

struct model_source model_source_bytes(struct model_bytes *stream, const uint8_t *data,
                                       size_t size)
{
    *stream = (struct model_bytes){.data = data, .size = size, .pos = 0, .dry = false};
    return (struct model_source){.draw = bytes_draw, .exhausted = bytes_exhausted, .ctx = stream};
}

/* ---- Bits -------------------------------------------------------------------- */

static unsigned ctz64(uint64_t x) { return (unsigned)__builtin_ctzll((unsigned long long)x); }
static unsigned msb64(uint64_t x) { return 63u - (unsigned)__builtin_clzll((unsigned long long)x); }

#define SIZE_BITS (sizeof(size_t) * 8u)

/* ---- Configurations ------------------------------------------------------ */

enum mode { MODE_CHUNK, MODE_INIT, MODE_FAKE, MODE_SPACE };
static const char *const mode_name[] = {"with_chunk", "init", "init-fake", "space"};

struct blk {
    uintptr_t pfn;      /* first page (the engine's page number) */
    unsigned order;
    uint32_t id;        /* pattern identity; kept when realloc moves a block */
    size_t filled;      /* the pattern of a block of this many bytes is written */
    uint64_t run_pages; /* the first block of an exact run: the run's pages; else 0 */
};

/* A per-CPU store (model.h): its lists, [k][0] the oldest, and each block's
 * cache table entry. */
struct mstore {
    bool attached;
    unsigned n[ANALLOC_CPU_ORDERS];
    uintptr_t pfn[ANALLOC_CPU_ORDERS][ANALLOC_CPU_CAP(0)];
    unsigned entry[ANALLOC_CPU_ORDERS][ANALLOC_CPU_CAP(0)];
};

/* Every block the cache and the stores can hold, for model_walk. */
#define HELD_MAX (ANALLOC_CACHE_ORDERS * ANALLOC_CACHE_MAX + \
                  MODEL_STORES * ANALLOC_CPU_SLOTS)

/* The free blocks the model expects: the canonical cut of every gap. */
struct gaps {
    uint64_t orders;          /* bit m: some free block of order m */
    uintptr_t first[64];      /* lowest first page of a free block of order m */
    size_t count[64];         /* free blocks of order m */
    size_t free_pages, blocks;
};

struct run {
    /* identity, for messages */
    const struct model_class *klass;
    size_t index, step;
    const char *op;
    char desc[400];
    struct model_source src;
    struct model_failure failure;

    /* configuration */
    enum mode mode;
    size_t page, total, used, offset, meta_offset, want_pages;
    bool struct_in_chunk, zero_base;
    size_t ops, live_cap, check_every;
    uint64_t space_base, space_size;  /* MODE_SPACE: analloc_space_init's range */
    bool space;                       /* an address-space allocator */
    bool twins, exact;                /* model_class.api: MODEL_TWINS, MODEL_EXACT */
    uint64_t size_max;                /* the largest size a call takes: SIZE_MAX for the
                                         pointer calls, UINT64_MAX for a space's */

    /* memory: chunk (with_chunk) or base (init); buf is NULL for fake ranges */
    bool real;
    unsigned char *buf;
    size_t buf_size;
    uintptr_t chunk;
    unsigned char *metabuf;
    size_t metabuf_size;
    uintptr_t meta;
    size_t meta_size;
    struct analloc local;
    struct analloc *a;

    /* the model: pages [lo, hi) (the engine's numbers) at the addresses
     * [start, end); bytes [res_lo, res_hi) kept by setup (pointers only) */
    unsigned shift, depth;
    uintptr_t lo, hi;
    uint64_t origin, start, end, res_lo, res_hi, managed;
    size_t npages;
    struct blk *live;
    size_t nlive, live_max;
    uint32_t *owner;
    size_t live_pages;
    uint32_t next_id;
    uint64_t salt;
    uint64_t recent[16];
    size_t nrecent, recent_pos;
    struct gaps gaps;
    bool gaps_valid;
    unsigned cache_slots0;                  /* the block cache's size after setup */
    unsigned cache_slots;                   /* the block cache, per order: */
    unsigned ncached[ANALLOC_CACHE_ORDERS];
    uintptr_t cached[ANALLOC_CACHE_ORDERS][ANALLOC_CACHE_MAX]; /* [k][0] the oldest */
    unsigned cached_entry[ANALLOC_CACHE_ORDERS][ANALLOC_CACHE_MAX]; /* its table entry */
    unsigned cached_blocks;                 /* in the cache and the stores */
    size_t cached_pages;
    unsigned cache_bits;                    /* log2 of the cache table's entries */
    uintptr_t resv[ANALLOC_RESERVE_MAX][2]; /* reserved page ranges, sorted, merged */
    unsigned nresv;
    size_t resv_pages;
    unsigned phase;
    size_t phase_left;

    /* per-CPU stores (model.h): the model's, and the engine's (model_run_one) */
    unsigned stores_max;                    /* the class's; 0: no store operations */
    unsigned nstores;                       /* attached and listed (none at depth 0) */
    bool no_stores;                         /* a build without them (stats.cpu_stores 0) */
    struct mstore store[MODEL_STORES];
    struct analloc_cpu *cpu;                /* MODEL_STORES of them, or NULL */
    unsigned store_now;                     /* the store most calls go through */

    /* snapshots (tests/testcheck.h): after setup, and before a refused call */
    uintptr_t words; /* the metadata: [words, words + meta_bytes) */
    size_t meta_bytes;
    struct snap snap0, snap;
    size_t bad_ops;

    /* the error hook: the address it was told (the pointer's value, or
     * for an address space the uint64_t its argument points to) */
    size_t hook_calls;
    int hook_err;
    uint64_t hook_addr;

    /* statistics */
    size_t n_alloc_ok, n_alloc_fail, n_free, n_realloc_in_place, n_realloc_move,
        n_realloc_fail, n_bad, n_checks, n_mem_size, n_null;
    size_t n_placed_ok, n_placed_fail, n_reserve_ok, n_release_ok, n_reserve_fail, n_stats;
    size_t n_bad_error[MODEL_ERRORS];
    size_t n_cpu_alloc_ok, n_cpu_alloc_fail, n_cpu_free, n_cpu_bad, n_cpu_refill, n_cpu_spill,
        n_cpu_full, n_cpu_give_back, n_cpu_attach, n_cpu_detach, n_cpu_drain;
    size_t n_exact_ok, n_exact_fail, n_exact_free, n_exact_refused, n_twin, n_space_call,
        n_resize_ok, n_resize_fail, n_ptr_refused, n_zero;
};

/* ---- Failure reports ------------------------------------------------------- */

static void dump_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "    %s\n", line);
}

static void model_fail(const struct run *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

static void model_fail(const struct run *r, int line, const char *fmt, ...)
{
    char msg[600], full[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->a != NULL && r->npages != 0 && r->npages <= 256 && ti_set_up(r->a))
        analloc_dump(r->a, dump_line, NULL, 128);
    if (r->klass != NULL)
        snprintf(full, sizeof full,
                 "test=%s config=%zu step=%zu op=%s (model.c:%d): %s\n  config: %s", r->klass->name,
                 r->index, r->step, r->op ? r->op : "-", line, msg, r->desc);
    else
        snprintf(full, sizeof full, "model: %s (model.c:%d): %s", r->op ? r->op : "-", line, msg);
    r->failure.report(r->failure.ctx, full);
    abort(); /* the callback must not return */
}

#define CHECK(r, cond, ...)                                                   \
    do {                                                                      \
        if (!(cond))                                                          \
            model_fail((r), __LINE__, __VA_ARGS__);                           \
    } while (0)

#define ULL(x) ((unsigned long long)(x))

/* ---- Randomness per run -------------------------------------------------- */

/* Any 64-bit number. */
static uint64_t rnd(struct run *r) { return r->src.draw(r->src.ctx, 0); }

/* Uniform-ish in [0, n); n > 0. */
static size_t below(struct run *r, size_t n)
{
    CHECK(r, n > 0, "model: a draw from an empty range");
    return (size_t)r->src.draw(r->src.ctx, n);
}

static bool chance(struct run *r, unsigned percent) { return below(r, 100) < percent; }

/* The source has run dry (draws are zeros now): loops that draw until a
 * chance fails must stop on this too. */
static bool dry(const struct run *r)
{
    return r->src.exhausted != NULL && r->src.exhausted(r->src.ctx);
}

/* The same for a 64-bit n > 0: sizes and addresses of an address space
 * (a draw of n takes the same bytes of a fuzz input as below's). */
static uint64_t below64(struct run *r, uint64_t n)
{
    CHECK(r, n > 0, "model: a draw from an empty range");
    return r->src.draw(r->src.ctx, n);
}

/* Log-uniform in [lo, hi] (1 <= lo <= hi). */
static size_t log_uniform(struct run *r, size_t lo, size_t hi)
{
    unsigned a = msb64(lo), b = msb64(hi);
    unsigned e = a + (unsigned)below(r, b - a + 1u);
    size_t from = (size_t)1 << e;
    size_t to = e + 1u >= SIZE_BITS ? SIZE_MAX : ((size_t)1 << (e + 1u)) - 1u;
    if (from < lo)
        from = lo;
    if (to > hi)
        to = hi;
    return from + below(r, to - from + 1u);
}

/* ---- The model: live blocks -------------------------------------------------- */

static uintptr_t pages_of(unsigned k) { return (uintptr_t)1 << k; }

/* ---- Addresses and byte counts (uint64_t on every target) ----------------------- */

/* The address of page pfn: the engine's page_addr (src/internal.h). */
static uint64_t addr_of(const struct run *r, uintptr_t pfn)
{
    return r->origin + ((uint64_t)pfn << r->shift);
}

/* The engine's number of the page that holds addr (modulo 2^64, as
 * addr_page computes it; in [lo, hi) only if the page is the arena's). */
static uint64_t page_number(const struct run *r, uint64_t addr)
{
    return (addr - r->origin) >> r->shift;
}

/* Bytes of a block of order k, of n pages. */
static uint64_t order_bytes(const struct run *r, unsigned k) { return (uint64_t)r->page << k; }
static uint64_t pages_bytes(const struct run *r, uint64_t n) { return n << r->shift; }

/* A byte count as the size_t getters give it: capped at SIZE_MAX (a space
 * on a 32-bit target may hold more). */
static size_t capped(uint64_t bytes) { return bytes > SIZE_MAX ? SIZE_MAX : (size_t)bytes; }

/* The pointer of an address (on an allocator over pointers it fits). */
static void *ptr_of(uint64_t addr) { return (void *)(uintptr_t)addr; }

/* Index of the live block holding page pfn; NONE if it is free. */
static size_t find_live(const struct run *r, uintptr_t pfn)
{
    size_t lo = 0, hi = r->nlive;
    while (lo < hi) { /* first index whose block starts after pfn */
        size_t mid = lo + (hi - lo) / 2u;
        if (r->live[mid].pfn <= pfn)
            lo = mid + 1u;
        else
            hi = mid;
    }
    if (lo == 0)
        return NONE;
    const struct blk *b = &r->live[lo - 1u];
    return pfn - b->pfn < pages_of(b->order) ? lo - 1u : NONE;
}

/* Index where a block starting at pfn goes in the sorted list. */
static size_t insert_pos(const struct run *r, uintptr_t pfn)
{
    size_t lo = 0, hi = r->nlive;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (r->live[mid].pfn < pfn)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return lo;
}

static void owner_set(struct run *r, uintptr_t pfn, uintptr_t n, uint32_t id, bool expect_free)
{
    if (r->owner == NULL)
        return;
    for (uintptr_t p = pfn; p < pfn + n; p++) {
        uint32_t *o = &r->owner[p - r->lo];
        CHECK(r, (*o == FREE_PAGE) == expect_free,
              "shadow: page %#llx is %s, expected %s (owner %u)", ULL(p),
              *o == FREE_PAGE ? "free" : "owned", expect_free ? "free" : "owned", (unsigned)*o);
        *o = id;
    }
}

static void model_insert(struct run *r, uintptr_t pfn, unsigned order, uint32_t id)
{
    CHECK(r, r->nlive < r->live_max, "model: too many live blocks");
    size_t i = insert_pos(r, pfn);
    memmove(&r->live[i + 1u], &r->live[i], (r->nlive - i) * sizeof r->live[0]);
    r->live[i] = (struct blk){.pfn = pfn, .order = order, .id = id, .filled = 0};
    r->nlive++;
    owner_set(r, pfn, pages_of(order), id, true);
    r->live_pages += (size_t)pages_of(order);
    r->gaps_valid = false;
}

static void model_remove(struct run *r, size_t i)
{
    struct blk b = r->live[i];
    memmove(&r->live[i], &r->live[i + 1u], (r->nlive - i - 1u) * sizeof r->live[0]);
    r->nlive--;
    owner_set(r, b.pfn, pages_of(b.order), FREE_PAGE, false);
    r->live_pages -= (size_t)pages_of(b.order);
    r->gaps_valid = false;
}

/* Change the order of live block i in place (it keeps its first page). */
static void model_resize(struct run *r, size_t i, unsigned to)
{
    struct blk *b = &r->live[i];
    uintptr_t old_n = pages_of(b->order), new_n = pages_of(to);
    if (new_n < old_n)
        owner_set(r, b->pfn + new_n, old_n - new_n, FREE_PAGE, false);
    else
        owner_set(r, b->pfn + old_n, new_n - old_n, b->id, true);
    r->live_pages = r->live_pages - (size_t)old_n + (size_t)new_n;
    b->order = to;
    r->gaps_valid = false;
}

/*
 * Walk the arena in address order, as analloc_walk does: live blocks
 * (ANALLOC_BLOCK_USED), cached blocks, reserved ranges (one call each), and
 * between them the free blocks a binary buddy with eager merging holds:
 * every maximal aligned run of free pages, i.e. the canonical cut of each gap.
 */
typedef void (*seg_fn)(struct run *r, void *ctx, uintptr_t pfn, uintptr_t pages, unsigned order,
                       unsigned kind);

static int blk_cmp(const void *x, const void *y)
{
    const struct blk *a = x, *b = y;
    return a->pfn < b->pfn ? -1 : a->pfn > b->pfn;
}

static void model_walk(struct run *r, seg_fn fn, void *ctx)
{
    struct blk cached[HELD_MAX]; /* the cache's blocks and the stores' (ANALLOC_BLOCK_CACHED) */
    size_t nc = 0, ci = 0, li = 0;
    unsigned ri = 0;
    for (unsigned k = 0; k < ANALLOC_CACHE_ORDERS; k++)
        for (unsigned x = 0; x < r->ncached[k]; x++)
            cached[nc++] = (struct blk){.pfn = r->cached[k][x], .order = k};
    for (unsigned i = 0; i < MODEL_STORES; i++)
        for (unsigned k = 0; r->store[i].attached && k < ANALLOC_CPU_ORDERS; k++)
            for (unsigned x = 0; x < r->store[i].n[k]; x++)
                cached[nc++] = (struct blk){.pfn = r->store[i].pfn[k][x], .order = k};
    if (nc > 1)
        qsort(cached, nc, sizeof cached[0], blk_cmp);
    uintptr_t p = r->lo;
    for (;;) {
        uintptr_t at = r->hi;
        int which = -1;
        if (li < r->nlive && r->live[li].pfn < at)
            at = r->live[li].pfn, which = 0;
        if (ci < nc && cached[ci].pfn < at)
            at = cached[ci].pfn, which = 1;
        if (ri < r->nresv && r->resv[ri][0] < at)
            at = r->resv[ri][0], which = 2;
        CHECK(r, at >= p, "model: live, cached or reserved pages overlap or leave the arena at %#llx",
              ULL(at));
        while (p < at) {
            unsigned m = ctz64(p), room = msb64(at - p);
            if (room < m)
                m = room;
            fn(r, ctx, p, pages_of(m), m, ANALLOC_BLOCK_FREE);
            p += pages_of(m);
        }
        if (which < 0)
            break;
        if (which == 0) {
            fn(r, ctx, at, pages_of(r->live[li].order), r->live[li].order, ANALLOC_BLOCK_USED);
            p = at + pages_of(r->live[li++].order);
        } else if (which == 1) {
            fn(r, ctx, at, pages_of(cached[ci].order), cached[ci].order, ANALLOC_BLOCK_CACHED);
            p = at + pages_of(cached[ci++].order);
        } else {
            fn(r, ctx, at, r->resv[ri][1] - at, 0, ANALLOC_BLOCK_RESERVED);
            p = r->resv[ri++][1];
        }
    }
}

static void gaps_add(struct run *r, void *ctx, uintptr_t pfn, uintptr_t pages, unsigned order,
                     unsigned kind)
{
    struct gaps *g = ctx;
    (void)r;
    if (kind != ANALLOC_BLOCK_FREE)
        return;
    g->free_pages += (size_t)pages;
    g->blocks++;
    if (((g->orders >> order) & 1u) == 0) {
        g->orders |= (uint64_t)1 << order;
        g->first[order] = pfn;
    }
    g->count[order]++;
}

static void gaps_compute(struct run *r)
{
    struct gaps *g = &r->gaps;
    memset(g, 0, sizeof *g);
    model_walk(r, gaps_add, g);
    r->gaps_valid = true;
}

static const struct gaps *gaps(struct run *r)
{
    if (!r->gaps_valid)
        gaps_compute(r);
    return &r->gaps;
}

/* ---- The model: the page cache ------------------------------------------------ */

/* Entry x of order k's list leaves the cache (it merges: the model's gaps
 * take it in). */
static void cache_remove(struct run *r, unsigned k, unsigned x)
{
    uintptr_t *list = r->cached[k];
    unsigned *entry = r->cached_entry[k];
    memmove(&list[x], &list[x + 1u], (r->ncached[k] - x - 1u) * sizeof list[0]);
    memmove(&entry[x], &entry[x + 1u], (r->ncached[k] - x - 1u) * sizeof entry[0]);
    r->ncached[k]--;
    r->cached_blocks--;
    r->cached_pages -= (size_t)pages_of(k);
    r->gaps_valid = false;
}

static uint64_t order_nodes_of(const struct run *r, unsigned m)
{
    return (uint64_t)(((r->hi - 1u) >> m) - (r->lo >> m) + 1u);
}

/* The cache table bucket of the order-k block at page pfn (src/layout.h,
 * cache_bucket): the engine hashes the node's free bit counted from the
 * metadata's first word, behind the fixed tables (the order table, the
 * cache's lists and table, the range table) and the lower orders' bits. */
static unsigned model_bucket(const struct run *r, unsigned k, uintptr_t pfn)
{
    unsigned lists = cache_list_orders(r->npages, r->depth);
    uint64_t fixed = ORDER_ROW * (r->depth + 2u) + ((uint64_t)1 << r->cache_bits) + RANGE_WORDS;
    for (unsigned c = 0; c < lists; c++)
        fixed += 1u + cache_cap(r->npages, ANALLOC_CACHE_MAX, c); /* a count and the slots of each list */
    uint64_t node = fixed * 64u + (uint64_t)((pfn >> k) - (r->lo >> k)), nodes = 0;
    for (unsigned m = 0; m <= r->depth; m++) {
        node += m < k ? order_nodes_of(r, m) : 0;
        nodes += order_nodes_of(r, m);
    }
    unsigned shift = 32u - r->cache_bits;
    bool room = nodes <= ((uint64_t)1 << r->cache_bits);
    return cache_bucket(node, room ? (uint32_t)1 << shift : CACHE_FIB, shift);
}

/* The capacity of order k's list (src/layout.h, cache_cap): cache_slots,
 * halving every two orders, at most an eighth of the arena; 0 for an order
 * without a list. */
static unsigned model_cap(const struct run *r, unsigned k)
{
    return k < cache_list_orders(r->npages, r->depth) ? cache_cap(r->npages, r->cache_slots, k) : 0u;
}

/* Blocks a refill takes or a spill gives back at once (src/analloc.c,
 * cache_batch): half of the list, at least one. */
static unsigned model_batch(const struct run *r, unsigned k)
{
    return model_cap(r, k) > 7u ? model_cap(r, k) / 2u : 1u;
}

/* A block of order k was freed into the cache (model_cap(r, k) > 0).  Its
 * key goes into the first free entry of its bucket of CACHE_WAYS; if all are
 * taken, it is not cached (false: it merges at once).  Else, if the list is
 * full, its model_batch oldest blocks go back first. */
static bool cache_put(struct run *r, unsigned k, uintptr_t pfn)
{
    unsigned b = model_bucket(r, k, pfn), taken = 0;
    for (unsigned c = 0; c < ANALLOC_CACHE_ORDERS; c++)
        for (unsigned x = 0; x < r->ncached[c]; x++) {
            unsigned e = r->cached_entry[c][x];
            if (e >= b && e < b + CACHE_WAYS)
                taken |= 1u << (e - b);
        }
    unsigned e = b;
    while (e < b + CACHE_WAYS && (taken >> (e - b) & 1u))
        e++;
    if (e == b + CACHE_WAYS)
        return false;
    if (r->ncached[k] == model_cap(r, k)) /* the oldest go back */
        for (unsigned n = model_batch(r, k); n > 0; n--)
            cache_remove(r, k, 0);
    r->cached_entry[k][r->ncached[k]] = e;
    r->cached[k][r->ncached[k]++] = pfn;
    r->cached_blocks++;
    r->cached_pages += (size_t)pages_of(k);
    r->gaps_valid = false;
    return true;
}

/* The newest block of order k leaves the cache (an allocation took it). */
static void cache_pop(struct run *r, unsigned k)
{
    r->ncached[k]--;
    r->cached_blocks--;
    r->cached_pages -= (size_t)pages_of(k);
    r->gaps_valid = false;
}

/* ---- The model: per-CPU stores (model.h) ------------------------------------ */

/* Does the library keep blocks in stores (stats.cpu_stores)?  Without
 * them (32-bit targets), every per-CPU call is the allocator's own. */
static bool build_has_stores(const struct analloc *a)
{
    struct analloc_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    return analloc_stats(a, &st) == 0 && st.cpu_stores != 0;
}

/* Orders a store keeps (src/internal.h, store_orders): the cache's lowest
 * ANALLOC_CPU_ORDERS, none in a one-page arena. */
static unsigned store_orders(const struct run *r)
{
    unsigned c = cache_list_orders(r->npages, r->depth);
    return r->depth >= 1 && !r->no_stores ? (c < ANALLOC_CPU_ORDERS ? c : ANALLOC_CPU_ORDERS) : 0u;
}

/* Blocks of order k in the stores. */
static unsigned stored_of_order(const struct run *r, unsigned k)
{
    unsigned n = 0;
    for (unsigned i = 0; i < MODEL_STORES && k < ANALLOC_CPU_ORDERS; i++)
        n += r->store[i].attached ? r->store[i].n[k] : 0u;
    return n;
}

/* Blocks of order k in the cache or a store (stats' cached_blocks_of_order). */
static unsigned held_of_order(const struct run *r, unsigned k)
{
    return (k < ANALLOC_CACHE_ORDERS ? r->ncached[k] : 0u) + stored_of_order(r, k);
}

/* Slot x of store i's list k leaves it (handed out, or merging: the model's
 * gaps take it in). */
static void store_remove(struct run *r, unsigned i, unsigned k, unsigned x)
{
    struct mstore *st = &r->store[i];
    memmove(&st->pfn[k][x], &st->pfn[k][x + 1u], (st->n[k] - x - 1u) * sizeof st->pfn[k][0]);
    memmove(&st->entry[k][x], &st->entry[k][x + 1u], (st->n[k] - x - 1u) * sizeof st->entry[k][0]);
    st->n[k]--;
    r->cached_blocks--;
    r->cached_pages -= (size_t)pages_of(k);
    r->gaps_valid = false;
}

/* Store i gives every block back (store_empty). */
static void store_empty(struct run *r, unsigned i)
{
    for (unsigned k = 0; k < ANALLOC_CPU_ORDERS; k++)
        while (r->store[i].n[k] > 0)
            store_remove(r, i, k, r->store[i].n[k] - 1u);
}

/* Every store gives its blocks back (stores_give_back). */
static void stores_give_back(struct run *r)
{
    for (unsigned i = 0; i < MODEL_STORES; i++)
        if (r->store[i].attached)
            store_empty(r, i);
}

/* Which ways of table bucket b hold a key: bit w for entry b + w.  The
 * cache's blocks and the stores' share the table (never at the same time:
 * the cache is off while a store is attached). */
static unsigned bucket_taken(const struct run *r, unsigned b)
{
    unsigned taken = 0;
    for (unsigned c = 0; c < ANALLOC_CACHE_ORDERS; c++)
        for (unsigned x = 0; x < r->ncached[c]; x++) {
            unsigned e = r->cached_entry[c][x];
            if (e >= b && e < b + CACHE_WAYS)
                taken |= 1u << (e - b);
        }
    for (unsigned i = 0; i < MODEL_STORES; i++)
        for (unsigned k = 0; r->store[i].attached && k < ANALLOC_CPU_ORDERS; k++)
            for (unsigned x = 0; x < r->store[i].n[k]; x++) {
                unsigned e = r->store[i].entry[k][x];
                if (e >= b && e < b + CACHE_WAYS)
                    taken |= 1u << (e - b);
            }
    return taken;
}

/* The first free entry of the order-k block at pfn's bucket; UINT_MAX if the
 * bucket is full. */
static unsigned store_way(const struct run *r, unsigned k, uintptr_t pfn)
{
    unsigned b = model_bucket(r, k, pfn), taken = bucket_taken(r, b);
    for (unsigned w = 0; w < CACHE_WAYS; w++)
        if ((taken >> w & 1u) == 0)
            return b + w;
    return UINT32_MAX;
}

/* Record the taken order-k block at pfn as the newest of store i's list k
 * (which has room): false, recording nothing, if its bucket is full
 * (store_record). */
static bool store_record(struct run *r, unsigned i, unsigned k, uintptr_t pfn)
{
    struct mstore *st = &r->store[i];
    unsigned e = store_way(r, k, pfn);
    CHECK(r, st->n[k] < ANALLOC_CPU_CAP(k), "model: store %u's list %u is full", i, k);
    if (e == UINT32_MAX)
        return false;
    st->pfn[k][st->n[k]] = pfn;
    st->entry[k][st->n[k]++] = e;
    r->cached_blocks++;
    r->cached_pages += (size_t)pages_of(k);
    r->gaps_valid = false;
    return true;
}

/* analloc_drain, and every search that gives up before it merges what is
 * held: the stores are given back, the cache merges. */
static void cache_empty(struct run *r)
{
    stores_give_back(r);
    if (r->cached_blocks != 0)
        r->gaps_valid = false;
    for (unsigned k = 0; k < ANALLOC_CACHE_ORDERS; k++) {
        r->cached_blocks -= r->ncached[k];
        r->cached_pages -= (size_t)r->ncached[k] << k;
        r->ncached[k] = 0;
    }
}

/* For a prediction that looks at the state after a drain: the counts of the
 * cache's and the stores' lists saved and set to 0 (what they hold counts as
 * free), or put back. */
struct aside {
    unsigned cache[ANALLOC_CACHE_ORDERS];
    unsigned store[MODEL_STORES][ANALLOC_CPU_ORDERS];
};

static void cache_set_aside(struct run *r, struct aside *saved, bool aside)
{
    for (unsigned c = 0; c < ANALLOC_CACHE_ORDERS; c++) {
        if (aside)
            saved->cache[c] = r->ncached[c];
        r->ncached[c] = aside ? 0u : saved->cache[c];
    }
    for (unsigned i = 0; i < MODEL_STORES; i++)
        for (unsigned k = 0; k < ANALLOC_CPU_ORDERS; k++) {
            if (aside)
                saved->store[i][k] = r->store[i].n[k];
            r->store[i].n[k] = aside ? 0u : saved->store[i][k];
        }
    r->gaps_valid = false;
}

/* The lowest first page among the smallest free blocks of order >= k in the
 * buddy system (cached blocks taken); 0 if none. */
static uintptr_t predict_buddy(struct run *r, unsigned k)
{
    if (k > r->depth)
        return 0;
    uint64_t fits = gaps(r)->orders & (~(uint64_t)0 << k);
    return fits == 0 ? 0 : r->gaps.first[ctz64(fits)];
}

/*
 * An allocation of order k took its block from the buddy system because its
 * list was empty (the engine's cache_refill): more blocks of the order
 * follow it into the list, each the lowest of the smallest free blocks,
 * until the list holds model_batch - 1, the buddy system has none or a
 * block's bucket is full (that block stays free); then
 * the list is turned over, so that they are handed out lowest first.
 */
static void model_refill(struct run *r, unsigned k)
{
    if (model_cap(r, k) == 0)
        return;
    for (unsigned i = 1, n = model_batch(r, k); i < n; i++) {
        uintptr_t b = predict_buddy(r, k);
        if (b == 0 || !cache_put(r, k, b)) /* none, or its bucket is full */
            break;
    }
    /* The list is turned over: the lowest on top, handed out first. */
    for (unsigned lo = 0, hi = r->ncached[k]; hi > lo + 1u; lo++, hi--) {
        uintptr_t p = r->cached[k][lo];
        unsigned e = r->cached_entry[k][lo];
        r->cached[k][lo] = r->cached[k][hi - 1u];
        r->cached_entry[k][lo] = r->cached_entry[k][hi - 1u];
        r->cached[k][hi - 1u] = p;
        r->cached_entry[k][hi - 1u] = e;
    }
}

/* First page the allocator must return for order k, 0 if it must fail, and
 * whether it drains the cache on the way (only when the buddy system has no
 * block without the cached blocks).  Changes nothing. */
static bool from_cache(const struct run *r, unsigned k)
{
    return k < ANALLOC_CACHE_ORDERS && r->ncached[k] > 0;
}

static uintptr_t predict(struct run *r, unsigned k, bool *drains)
{
    *drains = false;
    if (k > r->depth)
        return 0;
    if (from_cache(r, k))
        return r->cached[k][r->ncached[k] - 1u];
    uintptr_t want = predict_buddy(r, k);
    /* The engine merges the cache, or gives every store back, only if that
     * may help: free and cached (or stored) pages together at least the
     * request (drain_may_help). */
    if (want != 0 || r->cached_blocks == 0 || gaps(r)->free_pages + r->cached_pages < pages_of(k))
        return want;
    *drains = true;
    struct aside saved;
    cache_set_aside(r, &saved, true);
    want = predict_buddy(r, k);
    cache_set_aside(r, &saved, false);
    return want;
}

/* analloc_largest_free: the largest free block in the buddy system or in
 * the cache, which is not merged for it. */
static uint64_t model_largest(struct run *r)
{
    uint64_t o = gaps(r)->orders;
    for (unsigned k = 0; k < ANALLOC_CACHE_ORDERS; k++)
        o |= (uint64_t)(held_of_order(r, k) != 0) << k;
    return o == 0 ? 0 : order_bytes(r, msb64(o));
}

/* The smallest order whose blocks hold size bytes; depth + 1 if none. */
static unsigned model_order(const struct run *r, uint64_t size)
{
    unsigned m = 0;
    while (m <= r->depth && order_bytes(r, m) < size)
        m++;
    return m;
}

/* The pages of a run of `size` bytes (analloc_alloc_exact): 0 bytes is one
 * page. */
static uint64_t run_pages(const struct run *r, uint64_t size)
{
    return size == 0 ? 1u : ((size - 1u) >> r->shift) + 1u;
}

/* ---- Contents ------------------------------------------------------------------ */

static unsigned char *real_ptr(struct run *r, uint64_t addr, size_t n)
{
    uint64_t b = (uintptr_t)r->buf;
    CHECK(r, addr >= b && addr - b <= r->buf_size && n <= r->buf_size - (addr - b),
          "address %#llx (+%zu) is outside the test's buffer", ULL(addr), n);
    return r->buf + (size_t)(addr - b);
}

static unsigned char pat_byte(uint64_t v, size_t o)
{
    return (unsigned char)((v >> ((o & 7u) * 8u)) ^ ((o >> 3) * 0x9du));
}

/*
 * Write or verify the pattern of block `id` at addr for a block of n bytes,
 * only at offsets below limit.  Blocks up to FULL_FILL bytes are covered
 * entirely; larger ones at the head, the tail and 63 samples in between.
 */
static void pattern(struct run *r, uint64_t addr, uint32_t id, size_t n, size_t limit, bool write,
                    const char *what)
{
    if (!r->real || n == 0)
        return;
    size_t ranges[66][2], nr = 0;
    if (n <= FULL_FILL) {
        ranges[nr][0] = 0;
        ranges[nr++][1] = n;
    } else {
        ranges[nr][0] = 0;
        ranges[nr++][1] = 128;
        ranges[nr][0] = n - 128u;
        ranges[nr++][1] = n;
        for (size_t i = 1; i < 64; i++) {
            ranges[nr][0] = i * (n / 64u);
            ranges[nr++][1] = i * (n / 64u) + 16u;
        }
    }
    unsigned char *p = real_ptr(r, addr, n < limit ? n : limit);
    uint64_t v = rng_mix(r->salt ^ id);
    for (size_t i = 0; i < nr; i++) {
        size_t from = ranges[i][0], to = ranges[i][1] < limit ? ranges[i][1] : limit;
        for (size_t o = from; o < to; o++) {
            if (write) {
                p[o] = pat_byte(v, o);
            } else if (p[o] != pat_byte(v, o)) {
                CHECK(r, false, "%s: block %u at %#llx (%zu bytes) byte %zu is %#x, expected %#x",
                      what, (unsigned)id, ULL(addr), n, o, p[o], pat_byte(v, o));
            }
        }
    }
}

static void pattern_write(struct run *r, size_t i)
{
    struct blk *b = &r->live[i];
    size_t n = r->real ? r->page << b->order : 0; /* (real arenas fit size_t) */
    pattern(r, addr_of(r, b->pfn), b->id, n, n, true, "fill");
    b->filled = n;
}

static void pattern_verify(struct run *r, const struct blk *b, uint64_t addr, size_t limit,
                           const char *what)
{
    pattern(r, addr, b->id, b->filled, limit, false, what);
}

/* Bytes [from, to) of the buffer must all be the canary c. */
static void canary_verify(struct run *r, const unsigned char *base, size_t from, size_t to,
                          unsigned char c, const char *what)
{
    for (size_t i = from; i < to; i++)
        CHECK(r, base[i] == c, "%s: byte %zu of [%zu, %zu) at %p was overwritten (%#x)", what, i,
              from, to, (const void *)(base + i), base[i]);
}

/* Verify the canaries in and around the chunk (or base range) and the
 * metadata buffer; the managed range only if managed_too. */
static void canaries_verify(struct run *r, bool managed_too, const char *when)
{
    char what[128];
    if (r->real) {
        uintptr_t b = (uintptr_t)r->buf;
        /* Regions to skip, as byte offsets in buf: metadata, struct, managed. */
        size_t skip[3][2];
        size_t ns = 0;
        if (r->mode == MODE_CHUNK) {
            skip[ns][0] = r->words - b;
            skip[ns++][1] = r->words - b + r->meta_bytes;
            if (r->struct_in_chunk) {
                skip[ns][0] = (uintptr_t)r->a - b;
                skip[ns++][1] = (uintptr_t)r->a - b + sizeof *r->a;
            }
        }
        if (!managed_too) {
            skip[ns][0] = (size_t)(r->start - b);
            skip[ns++][1] = (size_t)(r->end - b);
        }
        /* Sort the (disjoint) skipped regions, then check the bytes between. */
        for (size_t i = 1; i < ns; i++)
            for (size_t j = i; j > 0 && skip[j][0] < skip[j - 1u][0]; j--) {
                size_t t0 = skip[j][0], t1 = skip[j][1];
                skip[j][0] = skip[j - 1u][0];
                skip[j][1] = skip[j - 1u][1];
                skip[j - 1u][0] = t0;
                skip[j - 1u][1] = t1;
            }
        snprintf(what, sizeof what, "%s: chunk canary (chunk at buffer offset %zu)", when,
                 (size_t)(r->chunk - b));
        /* The canary covers the chunk and GUARD bytes either side. */
        size_t pos = (size_t)(r->chunk - b) - GUARD;
        for (size_t i = 0; i <= ns; i++) {
            size_t to = i < ns ? skip[i][0] : (size_t)(r->chunk - b) + r->total + GUARD;
            CHECK(r, to >= pos, "test: overlapping canary regions");
            canary_verify(r, r->buf, pos, to, CANARY, what);
            if (i < ns)
                pos = skip[i][1];
        }
    }
    if (r->mode != MODE_CHUNK) {
        size_t mb = r->words - (uintptr_t)r->metabuf;
        snprintf(what, sizeof what, "%s: metadata buffer canary", when);
        canary_verify(r, r->metabuf, 0, mb, META_CANARY, what);
        canary_verify(r, r->metabuf, mb + r->meta_bytes, r->metabuf_size, META_CANARY, what);
    }
}

/* ---- Snapshots ------------------------------------------------------------------- */

/* Snapshots cost O(metadata): on every call only for small metadata. */
static bool snap_cheap(const struct run *r) { return r->meta_bytes <= SNAP_META_MAX; }

static void run_snap(struct run *r) { snap_fill(&r->snap, r->a); }

/* While a store is attached, every lock section moves the sequence counter
 * (src/internal.h, STORE_SEQ: the order table's spare word of row 0), even
 * a refused call's: the snapshot takes its present value. */
#define STORE_SEQ_WORD (ORDER_ROW - 1u)

static void snap_compare(struct run *r, struct snap *sn, const char *what)
{
    size_t ds, dm;
    char why[400];
    if (r->nstores > 0 && sn->len >= 8u * (STORE_SEQ_WORD + 1u))
        memcpy(sn->meta + 8u * STORE_SEQ_WORD, ti_meta(r->a) + 8u * STORE_SEQ_WORD, 8u);
    if (!snap_differs(sn, r->a, &ds, &dm))
        return;
    snap_describe(sn, r->a, ds, dm, why, sizeof why);
    CHECK(r, false, "%s changed the allocator:%s", what, why);
}

/* ---- The error hook ---------------------------------------------------------- */

/* The hook hears, for an address-space allocator, a pointer to the
 * address (valid during the call only: read it now); for an allocator over
 * pointers, the pointer, whichever call it came from. */
static void hook(void *ctx, int error, const void *ptr)
{
    struct run *r = ctx;
    r->hook_calls++;
    r->hook_err = error;
    r->hook_addr = r->space ? *(const uint64_t *)ptr : (uint64_t)(uintptr_t)ptr;
}

/* The error hook was called once, with `want` for addr, since `before`.
 * (On an allocator over pointers the model's addresses fit a pointer, so
 * that a space twin's address reaches the hook whole as the pointer.) */
static bool hooked_once(const struct run *r, size_t before, int want, uint64_t addr)
{
    return r->hook_calls == before + 1u && r->hook_err == want && r->hook_addr == addr;
}

/* The error hook heard `want` about addr, once, since it had heard `hooks`
 * calls (r->op names the call, after its "bad "). */
#define CHECK_HOOKED_ONCE(r, hooks, want, addr)                                              \
    CHECK(r, hooked_once(r, hooks, want, addr),                                              \
          "%s(%#llx): the error hook was called %zu times (last %d, %#llx), expected once "  \
          "with %d", (r)->op + 4, ULL(addr), (r)->hook_calls - (hooks), (r)->hook_err,       \
          ULL((r)->hook_addr), want)

/* ---- Sizes ------------------------------------------------------------------- */

/* A size whose order is exactly k (k <= depth): the boundaries or between. */
static uint64_t size_in_order(struct run *r, unsigned k)
{
    uint64_t hi = order_bytes(r, k);
    uint64_t lo = k == 0 ? 1 : order_bytes(r, k - 1u) + 1u;
    switch (below(r, 4)) {
    case 0: return hi;
    case 1: return lo;
    default: return lo + below64(r, hi - lo + 1u);
    }
}

/* A size no block holds (one a pointer call takes: size_max). */
static uint64_t size_too_large(struct run *r)
{
    uint64_t big = order_bytes(r, r->depth), max = r->size_max, x;
    switch (below(r, 5)) {
    case 0: x = big + 1u; break;
    case 1: x = big <= max / 2u ? big * 2u : max; break;
    case 2: x = r->managed + 1u + below64(r, r->managed); break;
    case 3: x = max; break;
    default: x = max - below64(r, 2u * (uint64_t)r->page); break;
    }
    return r->space ? x : (uint64_t)(size_t)x;
}

/* The skewed distribution: mostly small orders, sometimes any order, 0, or
 * too large. */
static uint64_t gen_size(struct run *r)
{
    size_t c = below(r, 1000);
    if (c < 30)
        return 0;
    if (c < 60)
        return size_too_large(r);
    if (c < 200)
        return size_in_order(r, (unsigned)below(r, r->depth + 1u));
    if (c < 230)
        return size_in_order(r, r->depth - (unsigned)below(r, r->depth < 3 ? r->depth + 1u : 3u));
    unsigned k = 0;
    while (k < r->depth && chance(r, 55))
        k++;
    return size_in_order(r, k);
}

/* ---- The engine's stores ------------------------------------------------------ */

/* A table entry's lock bit (src/internal.h, BUCKET_LOCKED): never set
 * between calls; a key never reaches it. */
#define MODEL_BUCKET_LOCKED ((uint64_t)1 << 63)

unsigned model_cpu_count(const struct analloc_cpu *c, unsigned k)
{
    return c->internal.count[k];
}

unsigned model_cpu_entry(const struct analloc_cpu *c, unsigned k, unsigned x)
{
    return (unsigned)STORE_SLOT(&c->internal, k, x) - 1u;
}

uintptr_t model_cpu_page(const struct analloc *a, const struct analloc_cpu *c, unsigned k,
                         unsigned x)
{
    uint64_t key = a->internal.table[model_cpu_entry(c, k, x)] & ~MODEL_BUCKET_LOCKED;
    return (uintptr_t)(key - c->internal.base[k]) << k;
}

/* Store i of the model against c, the engine's: NULL if they agree. */
static const char *store_compare(const struct run *r, unsigned i, const struct analloc_cpu *c)
{
    static char why[200];
    const struct mstore *st = &r->store[i];
    bool attached = c->a == r->a && c->internal.magic != 0;
    if (attached != st->attached || (!attached && c->a != NULL)) {
        snprintf(why, sizeof why, "store %u is %sattached (a %p), expected %s", i,
                 attached ? "" : "not ", (void *)c->a, st->attached ? "attached" : "not");
        return why;
    }
    for (unsigned k = 0; attached && k < ANALLOC_CPU_ORDERS; k++) {
        if (model_cpu_count(c, k) != st->n[k]) {
            snprintf(why, sizeof why, "store %u's list %u holds %u blocks, expected %u", i, k,
                     model_cpu_count(c, k), st->n[k]);
            return why;
        }
        for (unsigned x = 0; x < st->n[k]; x++)
            if (model_cpu_entry(c, k, x) != st->entry[k][x] ||
                model_cpu_page(r->a, c, k, x) != st->pfn[k][x]) {
                snprintf(why, sizeof why,
                         "store %u's list %u, slot %u: page %#llx in table entry %u, expected "
                         "page %#llx in entry %u", i, k, x, ULL(model_cpu_page(r->a, c, k, x)),
                         model_cpu_entry(c, k, x), ULL(st->pfn[k][x]), st->entry[k][x]);
                return why;
            }
    }
    return NULL;
}

/* ---- Checks after every step ----------------------------------------------------- */

/* The counters, and every cache list block by block (src/layout.h);
 * analloc_largest_free too if `largest`. */
static const char *store_compare(const struct run *r, unsigned i, const struct analloc_cpu *c);

static void check_counters(struct run *r, bool largest)
{
    unsigned listed = 0;
    for (unsigned k = 0; k < ANALLOC_CACHE_ORDERS; k++)
        listed += held_of_order(r, k);
    CHECK(r, listed == r->cached_blocks, "model: %u blocks in the lists, %u counted", listed,
          r->cached_blocks);
    for (unsigned k = 0; k < TI_CACHE_ORDERS(r->a); k++) {
        CHECK(r, TI_CACHED(r->a, k) == r->ncached[k], "cache list %u holds %zu blocks, expected %u",
              k, (size_t)TI_CACHED(r->a, k), r->ncached[k]);
        for (unsigned x = 0; x < r->ncached[k]; x++)
            CHECK(r, TI_CACHE(r->a, k, x) == r->cached[k][x],
                  "cache list %u, slot %u: page %#llx, expected %#llx", k, x,
                  ULL(TI_CACHE(r->a, k, x)), ULL(r->cached[k][x]));
    }
    for (unsigned i = 0; r->cpu != NULL && i < MODEL_STORES; i++) {
        const char *why = store_compare(r, i, &r->cpu[i]);
        CHECK(r, why == NULL, "%s", why);
    }
    size_t free_pages = r->npages - r->live_pages - r->resv_pages;
    size_t got = analloc_free_bytes(r->a);
    CHECK(r, got == capped(pages_bytes(r, free_pages)), "analloc_free_bytes = %zu, expected %zu",
          got, capped(pages_bytes(r, free_pages)));
    CHECK(r, gaps(r)->free_pages + r->cached_pages == free_pages,
          "model: gaps hold %zu pages and the cache %zu, counter %zu", r->gaps.free_pages,
          r->cached_pages, free_pages);
    if (largest) {
        got = analloc_largest_free(r->a);
        size_t want = capped(model_largest(r));
        CHECK(r, got == want, "analloc_largest_free = %zu, expected %zu", got, want);
    }
}

/* Now and then: often enough to test it, rarely enough to let the cache fill. */
static bool largest_now(struct run *r) { return chance(r, 5); }

/* An arena where analloc_check never runs (model_class). */
static bool lean(const struct run *r)
{
    return r->klass->lean_pages != 0 && r->npages > r->klass->lean_pages;
}

static void check_engine(struct run *r)
{
    int rc = analloc_check(r->a);
    r->n_checks++;
    CHECK(r, rc == 0, "analloc_check = %d (%s)", rc, analloc_strerror(rc));
}

/* ---- The calls: a pointer call or its address-space twin ---------------------
 * An address-space allocator takes every call through the space calls; one
 * over pointers through the pointer calls, or with MODEL_TWINS through
 * either at random: the same prediction, the address being the pointer's
 * value and ANALLOC_NO_ADDR standing for NULL.  A pointer call's arguments
 * fit its types: on an allocator over pointers every address and size the
 * model draws does (call_width). */

/* Does this call go through the address-space twin?  (No draw without
 * MODEL_TWINS: the calls of version 2 are drawn as they were.) */
static bool via_space(struct run *r)
{
    if (r->space) {
        r->n_space_call++;
        return true;
    }
    if (!r->twins || !chance(r, 50))
        return false;
    r->n_twin++;
    return true;
}

/* x as a pointer call takes it (size_t or uintptr_t, the same width): on
 * an allocator over pointers the model's numbers are the pointer calls'. */
static uint64_t call_width(const struct run *r, uint64_t x)
{
    return r->space ? x : (uint64_t)(uintptr_t)x;
}

/* A pointer call's result as an address. */
static uint64_t addr_or_none(const void *p)
{
    return p == NULL ? ANALLOC_NO_ADDR : (uint64_t)(uintptr_t)p;
}

static int call_free(struct run *r, bool sp, uint64_t addr)
{
    return sp ? analloc_space_free(r->a, addr) : analloc_free(r->a, ptr_of(addr));
}

static uint64_t call_size(struct run *r, bool sp, uint64_t addr)
{
    return sp ? analloc_space_size(r->a, addr) : (uint64_t)analloc_mem_size(r->a, ptr_of(addr));
}

static int call_reserve(struct run *r, bool sp, uint64_t addr, uint64_t size)
{
    return sp ? analloc_space_reserve(r->a, addr, size)
              : analloc_reserve(r->a, (uintptr_t)addr, (size_t)size);
}

static int call_release(struct run *r, bool sp, uint64_t addr, uint64_t size)
{
    return sp ? analloc_space_release(r->a, addr, size)
              : analloc_release(r->a, (uintptr_t)addr, (size_t)size);
}

static int call_free_exact(struct run *r, bool sp, uint64_t addr, uint64_t size)
{
    return sp ? analloc_space_free_exact(r->a, addr, size)
              : analloc_free_exact(r->a, ptr_of(addr), (size_t)size);
}

/* analloc_alloc_exact or its twin; *addr as it was unless it succeeds. */
static int call_alloc_exact(struct run *r, bool sp, uint64_t size, uint64_t align, uint64_t lo,
                            uint64_t hi, unsigned flags, uint64_t *addr)
{
    if (sp)
        return analloc_space_alloc_exact(r->a, size, align, lo, hi, flags, addr);
    void *p = ptr_of(*addr);
    int rc = analloc_alloc_exact(r->a, (size_t)size, (size_t)align, (uintptr_t)lo, (uintptr_t)hi,
                                 flags, &p);
    *addr = (uintptr_t)p;
    return rc;
}

/* ---- Operations ------------------------------------------------------------------ */

/* A block just returned at addr for order k (the model does not hold it
 * yet): aligned to its size in the allocator's addresses, inside the
 * arena, over no live block. */
static void check_new_block(struct run *r, uint64_t addr, unsigned k, const char *what)
{
    uint64_t size = order_bytes(r, k);
    CHECK(r, addr % size == 0, "%s: block %#llx of %llu bytes is not aligned to its size", what,
          ULL(addr), ULL(size));
    CHECK(r, addr >= r->start && addr - r->start <= r->managed - size,
          "%s: block [%#llx, +%llu) is outside the arena [%#llx, %#llx)", what, ULL(addr),
          ULL(size), ULL(r->start), ULL(r->end));
    uintptr_t pfn = (uintptr_t)page_number(r, addr);
    size_t i = find_live(r, pfn);
    CHECK(r, i == NONE, "%s: block %#llx overlaps live block %zu", what, ULL(addr), i);
    size_t j = insert_pos(r, pfn);
    CHECK(r, j == r->nlive || r->live[j].pfn >= pfn + pages_of(k),
          "%s: block [%#llx, +%llu) overlaps the live block at page %#llx", what, ULL(addr),
          ULL(size), ULL(r->live[j].pfn));
    if (r->owner != NULL)
        for (uintptr_t p = pfn; p < pfn + pages_of(k); p++)
            CHECK(r, r->owner[p - r->lo] == FREE_PAGE,
                  "%s: page %#llx of the new block belongs to block %u", what, ULL(p),
                  (unsigned)r->owner[p - r->lo]);
    r->n_zero += addr == 0;
}

/* mem_size (or analloc_space_size) of the live block at addr must be that
 * of order k. */
static void check_size(struct run *r, uint64_t addr, unsigned k, const char *what)
{
    bool sp = via_space(r);
    uint64_t got = call_size(r, sp, addr);
    CHECK(r, got == order_bytes(r, k), "%s(%#llx) %s = %llu, expected %llu",
          sp ? "space_size" : "mem_size", ULL(addr), what, ULL(got), ULL(order_bytes(r, k)));
}

static void op_alloc(struct run *r, bool via_realloc)
{
    bool sp = via_space(r);
    r->op = sp ? "space_alloc" : via_realloc ? "realloc(NULL)" : "alloc";
    uint64_t size = gen_size(r);
    unsigned k = model_order(r, size);
    /* Now and then, coherence with analloc_largest_free, whatever the model
     * says: a block no larger than it must be found. */
    size_t largest = 0;
    bool ask = largest_now(r);
    if (ask)
        largest = analloc_largest_free(r->a);
    bool drains;
    uintptr_t want = predict(r, k, &drains);
    /* A failure that drains the cache changes the metadata, legitimately. */
    bool snap = want == 0 && !drains && snap_cheap(r);
    if (snap)
        run_snap(r);
    uint64_t addr = sp             ? analloc_space_alloc(r->a, size)
                    : via_realloc ? addr_or_none(analloc_realloc(r->a, NULL, (size_t)size))
                                  : addr_or_none(analloc_alloc(r->a, (size_t)size));
    if (drains)
        cache_empty(r);
    CHECK(r, !ask || addr != ANALLOC_NO_ADDR || k > r->depth || order_bytes(r, k) > largest,
          "%s(%llu) failed but analloc_largest_free was %zu", r->op, ULL(size), largest);
    if (want == 0) {
        CHECK(r, addr == ANALLOC_NO_ADDR,
              "%s(%llu): order %u (depth %u, largest free %llu) returned %#llx, expected none",
              r->op, ULL(size), k, r->depth, ULL(model_largest(r)), ULL(addr));
        if (snap)
            snap_compare(r, &r->snap, "a failed alloc");
        r->n_alloc_fail++;
        return;
    }
    CHECK(r, addr != ANALLOC_NO_ADDR,
          "%s(%llu): order %u returned none, expected %#llx (largest free %llu, free pages %zu)",
          r->op, ULL(size), k, ULL(addr_of(r, want)), ULL(model_largest(r)),
          r->npages - r->live_pages);
    check_new_block(r, addr, k, r->op);
    CHECK(r, addr == addr_of(r, want),
          "%s(%llu): order %u returned %#llx, expected %#llx (%s)", r->op, ULL(size), k, ULL(addr),
          ULL(addr_of(r, want)),
          from_cache(r, k) ? "the newest cached block" : "lowest of the smallest free blocks");
    bool hit = from_cache(r, k);
    if (hit)
        cache_pop(r, k);
    uint32_t id = r->next_id++;
    model_insert(r, want, k, id);
    if (!hit && !drains)
        model_refill(r, k);
    check_size(r, addr, k, "of a new block");
    pattern_write(r, find_live(r, want));
    r->n_alloc_ok++;
}

static void recent_push(struct run *r, uint64_t addr)
{
    r->recent[r->recent_pos] = addr;
    r->recent_pos = (r->recent_pos + 1u) % 16u;
    if (r->nrecent < 16u)
        r->nrecent++;
}

/* The live block i was freed: it leaves the model, into the cache for a
 * cached order. */
static void model_free(struct run *r, size_t i)
{
    struct blk b = r->live[i];
    model_remove(r, i);
    if (model_cap(r, b.order) > 0)
        cache_put(r, b.order, b.pfn);
    recent_push(r, addr_of(r, b.pfn));
}

static void free_index(struct run *r, size_t i)
{
    struct blk b = r->live[i];
    uint64_t addr = addr_of(r, b.pfn);
    bool sp = via_space(r);
    pattern_verify(r, &b, addr, b.filled, "before free");
    int rc = call_free(r, sp, addr);
    CHECK(r, rc == 0, "%s(%#llx) of a live block of %llu bytes = %d (%s)",
          sp ? "space_free" : "free", ULL(addr), ULL(order_bytes(r, b.order)), rc,
          analloc_strerror(rc));
    model_free(r, i);
    r->n_free++;
}

static void op_free(struct run *r)
{
    r->op = "free";
    free_index(r, below(r, r->nlive));
}

static void op_mem_size(struct run *r)
{
    r->op = "mem_size";
    size_t i = below(r, r->nlive);
    check_size(r, addr_of(r, r->live[i].pfn), r->live[i].order, "of a live block");
}

/* What analloc_realloc does to live block i growing or shrinking to order
 * `to` (depth + 1: no order holds the size): fail, stay in place or move
 * (*want: the first page it moves to), and whether it drains the cache on
 * the way (*drains: the model's cache is emptied here, then).  Changes
 * nothing else. */
enum realloc_kind { RE_FAIL, RE_IN_PLACE, RE_MOVE };

/* The block holding page pfn in model_walk's terms: its first page, order
 * and kind. */
struct at_page {
    uintptr_t pfn, first;
    unsigned order, kind;
};

static void at_page_seg(struct run *r, void *ctx, uintptr_t pfn, uintptr_t pages, unsigned order,
                        unsigned kind)
{
    struct at_page *c = ctx;
    (void)r;
    if (c->pfn >= pfn && c->pfn - pfn < pages) {
        c->first = pfn;
        c->order = order;
        c->kind = kind;
    }
}

/* Can the live block at pfn grow in place from order k to order to, as the
 * engine's block_grow sees it: aligned to the new size, each buddy that
 * follows a free or cached block of its own order? */
static bool grow_fits(struct run *r, uintptr_t pfn, unsigned k, unsigned to)
{
    if ((pfn & (pages_of(to) - 1u)) != 0)
        return false;
    for (unsigned i = k; i < to; i++) {
        struct at_page c = {.pfn = pfn + pages_of(i), .kind = ANALLOC_BLOCK_USED};
        if (c.pfn >= r->hi)
            return false;
        model_walk(r, at_page_seg, &c);
        /* (a stored buddy is not taken: with a store attached, a cached block
         * is a store's) */
        if (c.first != c.pfn || c.order != i ||
            (c.kind != ANALLOC_BLOCK_FREE && (c.kind != ANALLOC_BLOCK_CACHED || r->nstores > 0)))
            return false;
    }
    return true;
}

/* A realloc of live block i to order `to`, predicted: in place (growing
 * into free and cached buddies, or after the cache is merged), a move to
 * *want (*hit: the new block comes from the cache), or a failure; *drains:
 * the cache is merged on the way.  Changes nothing: realloc_apply does. */
struct realloc_plan {
    enum realloc_kind kind;
    uintptr_t want;
    bool drains, hit;
};

static struct realloc_plan realloc_predict(struct run *r, size_t i, unsigned to)
{
    const struct blk b = r->live[i];
    struct realloc_plan p = {RE_FAIL, 0, false, false};
    if (to > r->depth)
        return p;
    if (to <= b.order || grow_fits(r, b.pfn, b.order, to)) {
        p.kind = RE_IN_PLACE;
        return p;
    }
    if (r->nstores > 0) {
        /* The cache is off: the buddy system's block, else every store is
         * given back, and then in place first, a new block second. */
        p.want = predict_buddy(r, to);
        if (p.want != 0) {
            p.kind = RE_MOVE;
            return p;
        }
        if (r->cached_blocks == 0 || gaps(r)->free_pages + r->cached_pages < pages_of(to))
            return p; /* giving the stores back cannot help (drain_may_help) */
        p.drains = true;
        struct aside saved;
        cache_set_aside(r, &saved, true);
        if (grow_fits(r, b.pfn, b.order, to))
            p.kind = RE_IN_PLACE;
        else if ((p.want = predict_buddy(r, to)) != 0)
            p.kind = RE_MOVE;
        cache_set_aside(r, &saved, false);
        return p;
    }
    p.hit = from_cache(r, to);
    p.want = predict(r, to, &p.drains);
    if (p.want != 0) {
        p.kind = RE_MOVE;
        return p;
    }
    if (p.drains) { /* the cache merged, in place again */
        struct aside saved;
        cache_set_aside(r, &saved, true);
        if (grow_fits(r, b.pfn, b.order, to))
            p.kind = RE_IN_PLACE;
        cache_set_aside(r, &saved, false);
    }
    return p;
}

/* Take the predicted step (the engine has made the call). */
static void realloc_apply(struct run *r, size_t i, unsigned to, const struct realloc_plan *p)
{
    struct blk b = r->live[i];
    if (p->drains)
        cache_empty(r);
    if (p->kind == RE_IN_PLACE) {
        /* the cached buddies it grows into leave the cache */
        for (unsigned c = 0; c < ANALLOC_CACHE_ORDERS; c++)
            for (unsigned x = r->ncached[c]; x-- > 0;)
                if (r->cached[c][x] >= b.pfn && r->cached[c][x] < b.pfn + pages_of(to))
                    cache_remove(r, c, x);
        model_resize(r, i, to);
    } else if (p->kind == RE_MOVE) {
        if (p->hit)
            cache_pop(r, to);
        model_insert(r, p->want, to, b.id);
        if (!p->hit && !p->drains)
            model_refill(r, to); /* the old block is still taken meanwhile */
        model_remove(r, find_live(r, b.pfn));
    }
}

/* What analloc_space_resize does to live block i, to order `to`: the code
 * it returns; *drains: the cache is merged (every store given back) on the
 * way.  In place as realloc, but where realloc would move it merges the
 * cache whenever that may help (drain_may_help), tries in place again, and
 * else refuses (ANALLOC_ENOMEM).  Changes nothing: realloc_apply does. */
static int resize_predict(struct run *r, size_t i, unsigned to, bool *drains)
{
    const struct blk b = r->live[i];
    *drains = false;
    if (to > r->depth)
        return ANALLOC_EINVAL;
    if (to <= b.order || grow_fits(r, b.pfn, b.order, to))
        return ANALLOC_OK;
    if (r->cached_blocks == 0 || gaps(r)->free_pages + r->cached_pages < pages_of(to))
        return ANALLOC_ENOMEM;
    *drains = true;
    struct aside saved;
    cache_set_aside(r, &saved, true);
    bool fits = grow_fits(r, b.pfn, b.order, to);
    cache_set_aside(r, &saved, false);
    return fits ? ANALLOC_OK : ANALLOC_ENOMEM;
}

/* analloc_space_resize of live block i to `size` bytes (order `to`): the
 * twin of realloc, in place only. */
static void op_resize(struct run *r, size_t i, uint64_t size, unsigned to)
{
    r->op = "space_resize";
    struct blk b = r->live[i];
    uint64_t addr = addr_of(r, b.pfn);
    unsigned k = b.order;
    bool drains;
    int want = resize_predict(r, i, to, &drains);
    pattern_verify(r, &b, addr, b.filled, "before resize");
    bool snap = want != ANALLOC_OK && !drains && snap_cheap(r);
    if (snap)
        run_snap(r);
    size_t hooks = r->hook_calls;
    int rc = analloc_space_resize(r->a, addr, size);
    CHECK(r, rc == want, "space_resize(%#llx of %llu, %llu) order %u -> %u = %d (%s), expected %d (%s)%s",
          ULL(addr), ULL(order_bytes(r, k)), ULL(size), k, to, rc, analloc_strerror(rc), want,
          analloc_strerror(want), drains ? " after merging the cache" : "");
    CHECK(r, r->hook_calls == hooks, "space_resize of a live block called the error hook");
    struct realloc_plan plan = {want == ANALLOC_OK ? RE_IN_PLACE : RE_FAIL, 0, drains, false};
    realloc_apply(r, i, to, &plan);
    size_t j = find_live(r, b.pfn);
    if (want != ANALLOC_OK) {
        check_size(r, addr, k, "after a refused resize");
        pattern_verify(r, &b, addr, b.filled, "after a refused resize");
        if (snap)
            snap_compare(r, &r->snap, "a refused resize");
        r->n_resize_fail++;
        return;
    }
    size_t keep = k < to ? r->page << k : r->page << to;
    pattern_verify(r, &b, addr, r->real ? keep : 0, "after resize");
    r->live[j].filled = b.filled;
    pattern_write(r, j);
    check_size(r, addr, to, "after resize");
    r->n_resize_ok++;
}

static void op_realloc(struct run *r)
{
    if (r->nlive == 0) {
        op_alloc(r, true);
        return;
    }
    r->op = "realloc";
    size_t i = below(r, r->nlive);
    struct blk b = r->live[i];
    uint64_t addr = addr_of(r, b.pfn);
    unsigned k = b.order, d = r->depth, to;
    uint64_t size;
    switch (below(r, 12)) {
    case 0:
        size = 0;
        break;
    case 1:
    case 2: /* shrink */
        size = size_in_order(r, k > 0 ? (unsigned)below(r, k) : 0);
        break;
    case 3:
    case 4: /* the same order */
        size = size_in_order(r, k);
        break;
    case 5:
    case 6:
    case 7:
    case 8: /* grow a little */
        to = k + 1u;
        while (chance(r, 40) && !dry(r))
            to++;
        size = to <= d ? size_in_order(r, to) : size_too_large(r);
        break;
    case 9: /* grow to any order */
        size = size_in_order(r, k + (unsigned)below(r, d - k + 1u));
        break;
    case 10:
        size = size_too_large(r);
        break;
    default:
        size = size_in_order(r, (unsigned)below(r, d + 1u));
        break;
    }
    to = model_order(r, size);
    if (via_space(r)) { /* realloc's twin never moves */
        op_resize(r, i, size, to);
        return;
    }

    struct realloc_plan plan = realloc_predict(r, i, to);
    enum realloc_kind kind = plan.kind;
    uintptr_t want = plan.want;
    bool drains = plan.drains;

    if (!r->real && kind == RE_MOVE) {
        if (drains) { /* a move copies the contents: never in a range nobody maps */
            cache_empty(r);
            analloc_drain(r->a); /* in step with the model, which has drained */
        }
        return;
    }
    pattern_verify(r, &b, addr, b.filled, "before realloc");
    bool snap = kind == RE_FAIL && !drains && snap_cheap(r);
    if (snap)
        run_snap(r);
    size_t hooks = r->hook_calls;
    void *q = analloc_realloc(r->a, ptr_of(addr), (size_t)size);
    uint64_t qa = (uintptr_t)q;
    if (to > d)
        r->hook_calls = hooks; /* the contract leaves the hook open for a size no block holds */
    const char *names[] = {"fail", "in place", "move"};
    if (kind == RE_FAIL) {
        CHECK(r, q == NULL, "realloc(%#llx of %llu, %llu): expected NULL (%s), got %p", ULL(addr),
              ULL(order_bytes(r, k)), ULL(size), to > d ? "no order holds the size" : "no room", q);
        check_size(r, addr, k, "after a failed realloc");
        pattern_verify(r, &b, addr, b.filled, "after a failed realloc");
        if (snap)
            snap_compare(r, &r->snap, "a failed realloc");
        realloc_apply(r, i, to, &plan);
        r->n_realloc_fail++;
        return;
    }
    CHECK(r, q != NULL, "realloc(%#llx of %llu, %llu) returned NULL, expected %s (order %u -> %u)",
          ULL(addr), ULL(order_bytes(r, k)), ULL(size), names[kind], k, to);
    size_t keep = k < to ? r->page << k : r->page << to;
    if (kind == RE_IN_PLACE) {
        CHECK(r, qa == addr, "realloc(%#llx, %llu) order %u -> %u moved to %#llx, expected in place",
              ULL(addr), ULL(size), k, to, ULL(qa));
        realloc_apply(r, i, to, &plan);
        pattern_verify(r, &b, addr, keep, "after realloc in place");
        r->n_realloc_in_place++;
    } else {
        CHECK(r, qa != addr, "realloc(%#llx, %llu) order %u -> %u stayed in place, expected a move",
              ULL(addr), ULL(size), k, to);
        check_new_block(r, qa, to, "realloc");
        CHECK(r, qa == addr_of(r, want),
              "realloc(%#llx, %llu) order %u -> %u moved to %#llx, expected %#llx", ULL(addr),
              ULL(size), k, to, ULL(qa), ULL(addr_of(r, want)));
        pattern_verify(r, &b, qa, keep, "contents copied by realloc");
        realloc_apply(r, i, to, &plan);
        recent_push(r, addr);
        r->n_realloc_move++;
    }
    size_t j = find_live(r, (uintptr_t)page_number(r, qa));
    r->live[j].filled = b.filled;
    pattern_write(r, j);
    check_size(r, qa, to, "after realloc");
}

/* The error the contract gives for addr, from the model; 0 for a live
 * block's start.  *li is the live block holding it, if any.  (The bytes
 * setup kept are pointers: an address space's numbers never meet them.) */
static int classify(struct run *r, uint64_t addr, size_t *li)
{
    *li = NONE;
    if (!r->space && addr >= r->res_lo && addr < r->res_hi)
        return ANALLOC_ERESERVED;
    uint64_t p = page_number(r, addr);
    if (p < r->lo || p >= r->hi)
        return ANALLOC_ERANGE;
    uintptr_t pfn = (uintptr_t)p;
    for (unsigned x = 0; x < r->nresv; x++)
        if (pfn >= r->resv[x][0] && pfn < r->resv[x][1])
            return ANALLOC_ERESERVED;
    if ((addr & (r->page - 1u)) != 0)
        return ANALLOC_EALIGN;
    size_t i = find_live(r, pfn);
    if (r->owner != NULL) {
        uint32_t o = r->owner[pfn - r->lo];
        CHECK(r, (o == FREE_PAGE) == (i == NONE) && (o == FREE_PAGE || o == r->live[i].id),
              "shadow: owner array (%u) and live list (%zu) disagree at page %#llx", (unsigned)o, i,
              ULL(pfn));
    }
    if (i == NONE)
        return ANALLOC_EFREE;
    *li = i;
    return r->live[i].pfn == pfn ? ANALLOC_OK : ANALLOC_EINTERIOR;
}

static uint64_t random_arena_byte(struct run *r)
{
    return r->start + below64(r, r->managed);
}

/* An address that is mostly not the start of a live block (classify
 * says).  On an allocator over pointers it fits a pointer. */
static uint64_t gen_bad_addr(struct run *r)
{
    size_t page = r->page;
    uint64_t top = r->space ? UINT64_MAX : UINTPTR_MAX;
    switch (below(r, 10)) {
    case 0: /* a double free of a recently freed block, or of a cached one */
        if (r->cached_blocks > 0 && chance(r, 50)) {
            unsigned k = (unsigned)below(r, ANALLOC_CACHE_ORDERS);
            while (held_of_order(r, k) == 0)
                k = (k + 1u) % ANALLOC_CACHE_ORDERS;
            size_t x = below(r, held_of_order(r, k));
            if (x < r->ncached[k])
                return addr_of(r, r->cached[k][x]);
            x -= r->ncached[k]; /* a store's */
            for (unsigned i = 0;; i++)
                if (r->store[i].attached && x < r->store[i].n[k])
                    return addr_of(r, r->store[i].pfn[k][x]);
                else if (r->store[i].attached)
                    x -= r->store[i].n[k];
        }
        if (r->nrecent > 0)
            return r->recent[below(r, r->nrecent)];
        return random_arena_byte(r);
    case 1: /* inside a live block */
        if (r->nlive > 0) {
            const struct blk *b = &r->live[below(r, r->nlive)];
            if (b->order > 0)
                return addr_of(r, b->pfn + 1u + (uintptr_t)below(r, (size_t)pages_of(b->order) - 1u));
        }
        return random_arena_byte(r);
    case 2: /* misaligned */
        if (page > 1 && r->nlive > 0)
            return addr_of(r, r->live[below(r, r->nlive)].pfn) + 1u + below(r, page - 1u);
        return random_arena_byte(r);
    case 3: /* just below the arena: the reserved prefix or outside (below 0: the top) */
        return call_width(r, r->start - 1u - below64(r, 4u * (uint64_t)page));
    case 4: /* at or past the end */
        return call_width(r, r->end + below64(r, 4u * (uint64_t)page));
    case 5: /* the used prefix or the metadata (for an address space, the
             * metadata buffer's pointer values: nothing special there) */
        return r->res_lo + below64(r, r->res_hi - r->res_lo);
    case 6: /* far away */
        switch (below(r, 3)) {
        case 0: return top - below64(r, 4u * (uint64_t)page);
        case 1: return r->space ? below(r, 4096) : 1u + below(r, 4096); /* (0 is NULL's) */
        default: return (uint64_t)1 << below(r, r->space ? 64u : sizeof(uintptr_t) * 8u);
        }
    case 7: /* any page of the arena */
        return addr_of(r, r->lo + below(r, r->npages));
    case 8: /* a buddy of a live block */
        if (r->nlive > 0) {
            const struct blk *b = &r->live[below(r, r->nlive)];
            return call_width(r, addr_of(r, b->pfn ^ pages_of(b->order)));
        }
        return random_arena_byte(r);
    default:
        return random_arena_byte(r);
    }
}

static void op_bad(struct run *r)
{
    uint64_t addr = gen_bad_addr(r);
    size_t li;
    int want = classify(r, addr, &li);
    /* Not a bad pointer after all; NULL and ANALLOC_NO_ADDR are op_null's
     * (address 0 of an allocator over pointers goes through a space call,
     * where it is an address outside the arena like any other). */
    if (want == ANALLOC_OK || (addr == 0 && !r->twins && !r->space) ||
        (r->space && addr == ANALLOC_NO_ADDR))
        return;
    bool sp = r->space || (r->twins && addr != ANALLOC_NO_ADDR && (addr == 0 || chance(r, 50)));
    r->n_twin += sp && !r->space;
    r->n_space_call += r->space;
    void *ptr = ptr_of(addr);
    bool snap = snap_cheap(r) || r->bad_ops % 64u == 0;
    r->bad_ops++;
    r->n_bad++;
    if (-want < MODEL_ERRORS)
        r->n_bad_error[-want]++;
    if (snap)
        run_snap(r);
    size_t hooks = r->hook_calls;
    switch (below(r, r->exact ? 5u : 4u)) {
    case 0:
    case 1: {
        r->op = sp ? "bad space_free" : "bad free";
        int rc = call_free(r, sp, addr);
        CHECK(r, rc == want, "%s(%#llx) = %d (%s), expected %d (%s)", r->op + 4, ULL(addr), rc,
              analloc_strerror(rc), want, analloc_strerror(want));
        CHECK_HOOKED_ONCE(r, hooks, want, addr);
        break;
    }
    case 2: {
        r->op = sp ? "bad space_resize" : "bad realloc";
        uint64_t size = gen_size(r);
        if (sp) {
            int rc = analloc_space_resize(r->a, addr, size);
            CHECK(r, rc == want, "space_resize(%#llx, %llu) = %d (%s), expected %d (%s)", ULL(addr),
                  ULL(size), rc, analloc_strerror(rc), want, analloc_strerror(want));
        } else {
            void *q = analloc_realloc(r->a, ptr, (size_t)size);
            CHECK(r, q == NULL, "realloc(%#llx, %llu) of a bad pointer (%s) returned %p", ULL(addr),
                  ULL(size), analloc_strerror(want), q);
        }
        CHECK_HOOKED_ONCE(r, hooks, want, addr);
        break;
    }
    case 4: {
        r->op = sp ? "bad space_free_exact" : "bad free_exact";
        uint64_t size = gen_size(r);
        int rc = call_free_exact(r, sp, addr, size);
        CHECK(r, rc == want, "%s(%#llx, %llu) = %d (%s), expected %d (%s)", r->op + 4, ULL(addr),
              ULL(size), rc, analloc_strerror(rc), want, analloc_strerror(want));
        CHECK_HOOKED_ONCE(r, hooks, want, addr);
        break;
    }
    default: {
        r->op = sp ? "bad space_size" : "bad mem_size";
        uint64_t got = call_size(r, sp, addr);
        CHECK(r, got == 0, "%s(%#llx) of a bad address (%s) = %llu", r->op + 4, ULL(addr),
              analloc_strerror(want), ULL(got));
        CHECK(r, r->hook_calls == hooks, "%s called the error hook", r->op + 4);
        break;
    }
    }
    if (snap)
        snap_compare(r, &r->snap, r->op);
    if (li != NONE)
        pattern_verify(r, &r->live[li], addr_of(r, r->live[li].pfn), r->live[li].filled,
                       "a bad call on an interior pointer");
}

/* ---- Per-CPU stores: the steps ------------------------------------------------ */

/*
 * analloc_cpu_alloc(store i, size), the step taken: the first page of the
 * block (0: NULL), inserted live with `id`.  *bad: NULL on the arguments
 * alone (a store not attached, no block that large), nothing changed;
 * *gave_back: every store was given back on the way.
 */
static uintptr_t store_alloc_step(struct run *r, unsigned i, uint64_t size, uint32_t id,
                                  unsigned *order, bool *gave_back, bool *bad)
{
    struct mstore *st = &r->store[i];
    unsigned k = model_order(r, size);
    *order = k;
    *gave_back = false;
    *bad = !st->attached;
    if (*bad)
        return 0;
    if (k < store_orders(r)) {
        if (st->n[k] > 0) { /* the newest */
            uintptr_t pfn = st->pfn[k][st->n[k] - 1u];
            store_remove(r, i, k, st->n[k] - 1u);
            model_insert(r, pfn, k, id);
            return pfn;
        }
        /* The refill: ANALLOC_CPU_BATCH(k) blocks as single allocations take
         * them; the first handed out, the others recorded while their
         * buckets have room; turned over to go out lowest first. */
        uintptr_t first = predict_buddy(r, k);
        if (first != 0) {
            model_insert(r, first, k, id);
            r->n_cpu_refill++;
            for (unsigned n = 1; n < ANALLOC_CPU_BATCH(k); n++) {
                uintptr_t b = predict_buddy(r, k);
                if (b == 0)
                    break;
                if (!store_record(r, i, k, b)) { /* given back (merged): the refill ends */
                    r->n_cpu_full++;
                    break;
                }
            }
            for (unsigned lo = 0, hi = st->n[k]; hi > lo + 1u; lo++, hi--) {
                uintptr_t p = st->pfn[k][lo];
                unsigned e = st->entry[k][lo];
                st->pfn[k][lo] = st->pfn[k][hi - 1u];
                st->entry[k][lo] = st->entry[k][hi - 1u];
                st->pfn[k][hi - 1u] = p;
                st->entry[k][hi - 1u] = e;
            }
            return first;
        }
    }
    /* analloc_alloc: no block that large, or the buddy system's (the cache
     * is off but in a one-page arena), else every store given back. */
    *bad = k > r->depth;
    if (*bad)
        return 0;
    bool drains;
    uintptr_t want = predict(r, k, &drains);
    if (drains) {
        *gave_back = r->nstores > 0;
        r->n_cpu_give_back += r->nstores > 0;
        cache_empty(r);
    }
    if (want == 0)
        return 0;
    bool hit = from_cache(r, k);
    if (hit)
        cache_pop(r, k);
    model_insert(r, want, k, id);
    if (!hit && !drains)
        model_refill(r, k);
    return want;
}

/*
 * analloc_cpu_free(store i, addr) for any addr, the step taken: the code it
 * returns.  *changed: the allocator changed (a full list spills before the
 * free is refused).  A live block of a kept order goes into store i unless
 * its bucket is full; the rest is analloc_free's (merging at once: the
 * cache is off).
 */
static int store_free_step(struct run *r, unsigned i, uint64_t addr, bool *changed)
{
    struct mstore *st = &r->store[i];
    *changed = false;
    if (!st->attached)
        return ANALLOC_EINVAL;
    if (addr == 0)
        return ANALLOC_OK;
    size_t li;
    int want = classify(r, addr, &li);
    uintptr_t pfn = (uintptr_t)page_number(r, addr);
    unsigned so = store_orders(r), k = want == ANALLOC_OK ? r->live[li].order : 0u;
    /* The store's own path (store_free): no reserved range, a live block of
     * a kept order at its start (a block held by a store is a double free:
     * analloc_free refuses it, nothing changed), whose bucket has room; a
     * full list gives its oldest back first. */
    if (r->nresv == 0 && want == ANALLOC_OK && k < so) {
        if (store_way(r, k, pfn) != UINT32_MAX) {
            if (st->n[k] == ANALLOC_CPU_CAP(k)) { /* the oldest go back first */
                for (unsigned n = 0; n < ANALLOC_CPU_BATCH(k); n++)
                    store_remove(r, i, k, 0);
                r->n_cpu_spill++;
            }
            bool recorded = store_record(r, i, k, pfn);
            if (!recorded) /* the spill only frees entries */
                model_fail(r, __LINE__, "store %u: no entry for page %#lx after a spill", i,
                           (unsigned long)pfn);
            model_remove(r, li);
            /* model_remove took the block out of the live pages and gaps; the
             * record counted it as cached */
            return ANALLOC_OK;
        }
        r->n_cpu_full++; /* merges at once */
    }
    want = classify(r, addr, &li);
    if (want != ANALLOC_OK)
        return want;
    struct blk b = r->live[li];
    model_remove(r, li);
    if (model_cap(r, b.order) > 0)
        cache_put(r, b.order, b.pfn);
    *changed = true;
    return ANALLOC_OK;
}

/* analloc_cpu_attach, _detach, _drain of store i, the step taken: the code. */
static int store_attach_step(struct run *r, unsigned i)
{
    if (r->store[i].attached)
        return ANALLOC_EBUSY;
    memset(&r->store[i], 0, sizeof r->store[i]);
    r->store[i].attached = true;
    /* (one page, or a build without stores: nothing to keep, no list of
     * stores, the cache as it is) */
    if (r->depth >= 1 && !r->no_stores) {
        if (r->nstores == 0) { /* the cache goes off */
            cache_empty(r);
            r->cache_slots = 0;
        }
        r->nstores++;
    }
    return ANALLOC_OK;
}

static int store_detach_step(struct run *r, unsigned i)
{
    if (!r->store[i].attached)
        return ANALLOC_EINVAL;
    store_empty(r, i);
    r->store[i].attached = false;
    if (r->depth >= 1 && !r->no_stores)
        r->nstores--;
    return ANALLOC_OK;
}

static void store_drain_step(struct run *r, unsigned i)
{
    if (r->store[i].attached)
        store_empty(r, i);
}

/* A store to call: the one in use (a CPU keeps running on its own for a
 * while, so that lists fill and spill), now and then another, mostly an
 * attached one (of the first stores_max). */
static unsigned pick_store(struct run *r)
{
    unsigned i = r->store_now;
    if (chance(r, 8) || (!r->store[i].attached && chance(r, 30))) {
        i = (unsigned)below(r, r->stores_max);
        if (chance(r, 90))
            for (unsigned n = 0; n < r->stores_max && !r->store[i].attached; n++)
                i = (i + 1u) % r->stores_max;
        if (chance(r, 50))
            r->store_now = i;
    }
    return i;
}

static void cpu_alloc_op(struct run *r, unsigned i)
{
    r->op = "cpu_alloc";
    uint64_t size = gen_size(r);
    unsigned k;
    bool gave_back, bad;
    uint32_t id = r->next_id;
    bool snap = snap_cheap(r) && chance(r, 10);
    if (snap)
        run_snap(r);
    void *p = analloc_cpu_alloc(&r->cpu[i], (size_t)size);
    uintptr_t want = store_alloc_step(r, i, size, id, &k, &gave_back, &bad);
    if (want == 0) {
        CHECK(r, p == NULL, "cpu_alloc(store %u, %llu): order %u returned %p, expected NULL%s", i,
              ULL(size), k, p, bad ? " (refused on its arguments)" : "");
        if (snap && bad)
            snap_compare(r, &r->snap, "a refused cpu_alloc");
        r->n_cpu_alloc_fail++;
        return;
    }
    r->next_id++;
    CHECK(r, addr_or_none(p) == addr_of(r, want),
          "cpu_alloc(store %u, %llu): order %u returned %p, expected %#llx%s", i, ULL(size), k, p,
          ULL(addr_of(r, want)), gave_back ? " (after every store was given back)" : "");
    check_size(r, addr_of(r, want), k, "of a new block");
    pattern_write(r, find_live(r, want));
    r->n_cpu_alloc_ok++;
}

static void cpu_free_at(struct run *r, unsigned i, size_t li)
{
    struct blk b = r->live[li];
    uint64_t addr = addr_of(r, b.pfn);
    pattern_verify(r, &b, addr, b.filled, "before cpu_free");
    int rc = analloc_cpu_free(&r->cpu[i], ptr_of(addr));
    bool changed;
    int want = store_free_step(r, i, addr, &changed);
    CHECK(r, rc == want, "cpu_free(store %u, %#llx) of a live block of %llu bytes = %d (%s), "
          "expected %d (%s)", i, ULL(addr), ULL(order_bytes(r, b.order)), rc, analloc_strerror(rc),
          want, analloc_strerror(want));
    if (rc == ANALLOC_OK) {
        recent_push(r, addr);
        r->n_cpu_free++;
    }
}

static void cpu_free_op(struct run *r, unsigned i)
{
    r->op = "cpu_free";
    cpu_free_at(r, i, below(r, r->nlive));
}

/* A CPU frees a batch of blocks of one order: its list fills and spills,
 * and the table's buckets fill. */
static void cpu_free_burst(struct run *r, unsigned i)
{
    r->op = "cpu_free burst";
    unsigned k = r->live[below(r, r->nlive)].order;
    for (size_t n = 8u + below(r, 40); n > 0 && r->nlive > 0 && !dry(r); n--) {
        size_t li = below(r, r->nlive), tries = 0;
        while (r->live[li].order != k && tries++ < r->nlive)
            li = (li + 1u) % r->nlive;
        if (r->live[li].order != k)
            break;
        cpu_free_at(r, i, li);
        check_counters(r, false);
    }
}

/* A bad pointer (a double free into any store, a stored block's, ...), a
 * free(NULL), or a store not attached. */
static void cpu_bad_op(struct run *r, unsigned i)
{
    r->op = "cpu_free bad";
    uint64_t addr = chance(r, 5) ? 0 : gen_bad_addr(r);
    size_t li;
    int cls = classify(r, addr, &li);
    if (addr != 0 && cls == ANALLOC_OK)
        return; /* not a bad pointer after all */
    bool snap = snap_cheap(r) || r->bad_ops % 64u == 0;
    r->bad_ops++;
    if (snap)
        run_snap(r);
    size_t hooks = r->hook_calls;
    int rc = analloc_cpu_free(&r->cpu[i], ptr_of(addr));
    bool changed;
    int want = store_free_step(r, i, addr, &changed);
    CHECK(r, rc == want,
          "cpu_free(store %u, %#llx) = %d (%s), expected %d (%s)", i, ULL(addr), rc,
          analloc_strerror(rc), want, analloc_strerror(want));
    bool hooked = want != ANALLOC_OK && want != ANALLOC_EINVAL;
    CHECK(r, hooked ? hooked_once(r, hooks, want, addr) : r->hook_calls == hooks,
          "cpu_free(store %u, %#llx): the error hook was called %zu times (last %d), expected %s",
          i, ULL(addr), r->hook_calls - hooks, r->hook_err, hooked ? "once" : "never");
    if (snap && !changed)
        snap_compare(r, &r->snap, "a refused cpu_free");
    if (want != ANALLOC_OK) {
        r->n_cpu_bad++;
        if (-want < MODEL_ERRORS)
            r->n_bad_error[-want]++;
    }
    if (li != NONE)
        pattern_verify(r, &r->live[li], addr_of(r, r->live[li].pfn), r->live[li].filled,
                       "a bad cpu_free on an interior pointer");
}

static void op_store(struct run *r)
{
    static const unsigned alloc_share[3] = {64, 20, 45}; /* of 88, by phase: fill, drain, steady */
    unsigned i = pick_store(r);
    size_t x = below(r, 100);
    size_t hooks = r->hook_calls;
    if (x < 3) {
        r->op = "cpu_attach"; /* mostly one not attached */
        for (unsigned n = 0; n < r->stores_max && r->store[i].attached && chance(r, 80); n++)
            i = (i + 1u) % r->stores_max;
        int rc = analloc_cpu_attach(r->a, &r->cpu[i]);
        int want = store_attach_step(r, i);
        CHECK(r, rc == want, "cpu_attach(store %u) = %d, expected %d", i, rc, want);
        r->n_cpu_attach += rc == 0;
    } else if (x < 4) {
        r->op = "cpu_detach";
        int rc = analloc_cpu_detach(&r->cpu[i]);
        int want = store_detach_step(r, i);
        CHECK(r, rc == want, "cpu_detach(store %u) = %d, expected %d", i, rc, want);
        r->n_cpu_detach += rc == 0;
    } else if (x < 5) {
        r->op = "cpu_drain";
        analloc_cpu_drain(&r->cpu[i]);
        store_drain_step(r, i);
        r->n_cpu_drain++;
    } else if (x < 12) {
        cpu_bad_op(r, i);
        return; /* (it checks the hook itself) */
    } else if (x < 14 && r->nlive > 0) {
        cpu_free_burst(r, i);
    } else if (r->nlive > 0 &&
               (x - 12u >= alloc_share[r->phase] || r->nlive + 1u >= r->live_cap)) {
        cpu_free_op(r, i);
    } else if (r->nlive + 1u < r->live_cap) {
        cpu_alloc_op(r, i);
    }
    CHECK(r, r->hook_calls == hooks, "the error hook was called by a valid call");
}

/* ---- Placement, reservations, statistics ------------------------------------- */

/* The best position for a placed request among the model's free blocks of
 * order >= ka: the lowest (highest) position that fits. */
struct place_ctx {
    unsigned k, ka;
    uintptr_t w0, w1;
    bool high, found;
    unsigned m;
    uintptr_t p;
};

static void place_seg(struct run *r, void *ctx, uintptr_t pfn, uintptr_t pages, unsigned order,
                      unsigned kind)
{
    struct place_ctx *c = ctx;
    (void)r;
    if (kind != ANALLOC_BLOCK_FREE || order < c->ka)
        return;
    uintptr_t from = pfn > c->w0 ? pfn : c->w0, end = pfn + pages, to = end < c->w1 ? end : c->w1;
    if (from >= to || to - from < pages_of(c->k))
        return;
    uintptr_t p = c->high ? (to - pages_of(c->k)) & ~(pages_of(c->ka) - 1u) : from;
    if (!c->found || (c->high ? p > c->p : p < c->p)) {
        c->found = true;
        c->m = order;
        c->p = p;
    }
}

static uintptr_t predict_placed(struct run *r, struct place_ctx *c)
{
    c->found = false;
    model_walk(r, place_seg, c);
    return c->found ? c->p : 0;
}

/* The request analloc_alloc_range(size, align, lo, hi, flags) makes (as
 * the engine's place_setup): ANALLOC_EINVAL for arguments no state could
 * satisfy (unknown flags, LOW with HIGH, align not a power of two, lo >=
 * hi, a size or alignment no block has), ANALLOC_ENOMEM when the window
 * holds no aligned place for the block, else ANALLOC_OK with the order,
 * alignment and page window in *c.  The window is cut to the arena in
 * addresses, then taken in pages relative to the origin. */
static int place_args(struct run *r, uint64_t size, uint64_t align, uint64_t lo, uint64_t hi,
                      unsigned flags, struct place_ctx *c)
{
    unsigned k = model_order(r, size);
    bool bad = (flags & ~(unsigned)(ANALLOC_LOW | ANALLOC_HIGH)) != 0 ||
               flags == (ANALLOC_LOW | ANALLOC_HIGH) || (align != 0 && (align & (align - 1u)) != 0) ||
               lo >= hi;
    *c = (struct place_ctx){.k = k, .ka = k, .high = (flags & ANALLOC_HIGH) != 0};
    if (bad || k > r->depth)
        return ANALLOC_EINVAL;
    if (align > order_bytes(r, k)) {
        c->ka = msb64(align) - r->shift;
        if (c->ka > r->depth)
            return ANALLOC_EINVAL;
    }
    uint64_t from = lo > r->start ? lo : r->start, to = hi < r->end ? hi : r->end;
    if (from >= to)
        return ANALLOC_ENOMEM;
    uintptr_t w0 = (uintptr_t)((from - r->origin + (r->page - 1u)) >> r->shift);
    uintptr_t w1 = (uintptr_t)((to - r->origin) >> r->shift);
    uintptr_t am = pages_of(c->ka) - 1u, up = (w0 + am) & ~am;
    c->w0 = up;
    c->w1 = w1;
    return w0 < w1 && up >= w0 && up < w1 && w1 - up >= pages_of(k) ? ANALLOC_OK : ANALLOC_ENOMEM;
}

/* The search of a placed request (place_args said ANALLOC_OK): the first
 * page of the block, 0 if none; *drains when the cache is merged (every
 * store given back) before it finds a block or gives up: the model's cache
 * is emptied here, then. */
static uintptr_t place_search(struct run *r, struct place_ctx *c, bool *drains)
{
    uintptr_t want = predict_placed(r, c);
    *drains = want == 0 && r->cached_blocks > 0 &&
              gaps(r)->free_pages + r->cached_pages >= pages_of(c->k);
    if (*drains) {
        cache_empty(r);
        want = predict_placed(r, c);
    }
    return want;
}

/* What analloc_alloc_range(size, align, lo, hi, flags) does (and
 * analloc_alloc_aligned, and analloc_alloc_flags with flags other than 0):
 * the first page of the block it must return, 0 for NULL.  *possible is
 * false when it fails on its arguments alone (nothing changes, not even the
 * cache); *drains when it drains the cache before it finds a block or gives
 * up (the model's cache is emptied here, then).  *ka: the order the block is
 * aligned to.  Changes nothing else. */
static uintptr_t placed_predict(struct run *r, uint64_t size, uint64_t align, uint64_t lo,
                                uint64_t hi, unsigned flags, unsigned *ka, bool *possible,
                                bool *drains)
{
    struct place_ctx c;
    *possible = place_args(r, size, align, lo, hi, flags, &c) == ANALLOC_OK;
    *drains = false;
    *ka = c.ka;
    return *possible ? place_search(r, &c, drains) : 0;
}

/* An alignment for a placed request of order k: natural (0), of any
 * order, beyond the block, any power of two, or not a power of two. */
static uint64_t gen_align(struct run *r, unsigned k)
{
    switch (below(r, 12)) {
    case 0: case 1: case 2: case 3: return 0;
    case 4: case 5: return call_width(r, (uint64_t)r->page << below(r, r->depth + 1u));
    case 6: case 7: case 8: return call_width(r, (uint64_t)r->page << (k + 1u + below(r, 3)));
    case 9: case 10: return (uint64_t)1 << below(r, r->space ? 64u : SIZE_BITS);
    default: return 3u << below(r, 8); /* bad */
    }
}

/* The window of a placed request: the whole space (lo 0, hi the calls'
 * end), a window inside or across the arena's start, or an empty one. */
static void gen_window(struct run *r, uint64_t *lo, uint64_t *hi)
{
    *lo = 0;
    *hi = r->space ? ANALLOC_SPACE_END : UINTPTR_MAX;
    switch (below(r, 8)) {
    case 0: case 1: case 2: break;
    case 3: case 4: case 5: case 6:
        *lo = r->start + below64(r, r->managed);
        *hi = call_width(r, *lo + 1u + below64(r, r->end - *lo + r->page));
        if (chance(r, 30))
            *lo = call_width(r, r->start - below64(r, 4u * (uint64_t)r->page));
        break;
    default:
        *lo = r->start + below64(r, r->managed);
        *hi = call_width(r, *lo - below64(r, 2u * (uint64_t)r->page));
        break;
    }
}

/* The window covers every address a call can name: the pointer call is
 * analloc_alloc_flags or _aligned; the space twin takes the space's end. */
static bool whole_window(const struct run *r, uint64_t lo, uint64_t hi)
{
    return lo == 0 && hi == (r->space ? ANALLOC_SPACE_END : UINTPTR_MAX);
}

static void op_placed(struct run *r)
{
    r->op = "alloc_range";
    uint64_t size = gen_size(r);
    unsigned k = model_order(r, size);
    unsigned flags;
    switch (below(r, 20)) {
    case 0: flags = ANALLOC_LOW | ANALLOC_HIGH; break; /* bad */
    case 1: flags = 4u << below(r, 8); break;          /* bad */
    case 2: case 3: case 4: flags = 0; break;
    default: flags = chance(r, 50) ? ANALLOC_LOW : ANALLOC_HIGH; break;
    }
    uint64_t align = gen_align(r, k), lo, hi;
    gen_window(r, &lo, &hi);
    unsigned ka;
    bool possible, drains;
    uintptr_t want = placed_predict(r, size, align, lo, hi, flags, &ka, &possible, &drains);
    bool snap = want == 0 && !drains && snap_cheap(r);
    if (snap)
        run_snap(r);
    bool whole = whole_window(r, lo, hi), sp = via_space(r);
    uint64_t got;
    if (sp) {
        r->op = "space_alloc_range";
        got = analloc_space_alloc_range(r->a, size, align, lo, whole ? ANALLOC_SPACE_END : hi, flags);
    } else {
        void *p = whole && align == 0 && flags != 0
                      ? analloc_alloc_flags(r->a, (size_t)size, flags)
                  : whole ? analloc_alloc_aligned(r->a, (size_t)size, (size_t)align, flags)
                          : analloc_alloc_range(r->a, (size_t)size, (size_t)align, (uintptr_t)lo,
                                                (uintptr_t)hi, flags);
        got = addr_or_none(p);
    }
    if (want == 0) {
        CHECK(r, got == ANALLOC_NO_ADDR,
              "%s(%llu, align %llu, [%#llx, %#llx), flags %#x) returned %#llx, expected none",
              r->op, ULL(size), ULL(align), ULL(lo), ULL(hi), flags, ULL(got));
        if (snap)
            snap_compare(r, &r->snap, "a failed placed alloc");
        r->n_placed_fail++;
        return;
    }
    CHECK(r, got == addr_of(r, want),
          "%s(%llu, align %llu, [%#llx, %#llx), flags %#x): got %#llx, expected %#llx "
          "(order %u, aligned to order %u)",
          r->op, ULL(size), ULL(align), ULL(lo), ULL(hi), flags, ULL(got), ULL(addr_of(r, want)),
          k, ka);
    check_new_block(r, got, k, r->op);
    uint32_t id = r->next_id++;
    model_insert(r, want, k, id);
    pattern_write(r, find_live(r, want));
    r->n_placed_ok++;
}

/* Pages [r0, r1) hold no live block and no reserved page (cached blocks
 * are free). */
struct busy_ctx {
    uintptr_t r0, r1;
    bool busy;
    unsigned first; /* the kind of the first block not free in [r0, r1), 0 if none */
};

static void busy_seg(struct run *r, void *ctx, uintptr_t pfn, uintptr_t pages, unsigned order,
                     unsigned kind)
{
    struct busy_ctx *c = ctx;
    (void)r;
    (void)order;
    if ((kind == ANALLOC_BLOCK_USED || kind == ANALLOC_BLOCK_RESERVED) && pfn < c->r1 &&
        pfn + pages > c->r0)
        c->busy = true;
    if (kind != ANALLOC_BLOCK_FREE && c->first == 0 && pfn < c->r1 && pfn + pages > c->r0)
        c->first = kind;
}

/* The pages of [addr, addr + size) as analloc_reserve and analloc_release
 * (sp: their space twins) see them, or the error they give for the range
 * itself: a range that wraps, or ends at the top, of the call's width is
 * refused (a 32-bit pointer call's width is the pointer's). */
static int model_page_range(const struct run *r, uint64_t addr, uint64_t size, bool sp,
                            uintptr_t *r0, uintptr_t *r1)
{
    uint64_t end = addr + size;
    if (size == 0 || end < addr || (!sp && (uintptr_t)end < (uintptr_t)addr))
        return ANALLOC_EINVAL;
    if (addr < r->start || end > r->end)
        return ANALLOC_ERANGE;
    *r0 = (uintptr_t)page_number(r, addr);
    *r1 = (uintptr_t)page_number(r, end - 1u) + 1u;
    return ANALLOC_OK;
}

/* A byte range covering pages [p0, p1), its ends moved inside the end pages. */
static void bytes_of_pages(struct run *r, uintptr_t p0, uintptr_t p1, uint64_t *addr, uint64_t *size)
{
    uint64_t a = addr_of(r, p0) + below(r, r->page);
    uint64_t last = addr_of(r, p1 - 1u) + below(r, r->page); /* in page p1 - 1 */
    if (last < a)
        last = a; /* one page */
    *addr = a;
    *size = last - a + 1u;
}

struct pick_ctx {
    size_t want, seen;
    uintptr_t pfn, pages;
};

static void pick_free(struct run *r, void *ctx, uintptr_t pfn, uintptr_t pages, unsigned order,
                      unsigned kind)
{
    struct pick_ctx *c = ctx;
    (void)r;
    (void)order;
    if (kind == ANALLOC_BLOCK_FREE && c->seen++ == c->want) {
        c->pfn = pfn;
        c->pages = pages;
    }
}

static void resv_remove_at(struct run *r, unsigned x)
{
    memmove(&r->resv[x], &r->resv[x + 1u], (r->nresv - x - 1u) * sizeof r->resv[0]);
    r->nresv--;
}

/* A reserve the model has accepted: the pages [r0, r1), and the reserved
 * ranges they join (nresv: none). */
struct resv_change {
    uintptr_t r0, r1;
    unsigned prev, next;
    bool gives_back; /* every store is given back first, whatever the outcome */
};

/* The code analloc_reserve(addr, size) must return; changes nothing.  Its
 * scan in address order meets a stored block before any busy one: every
 * store is given back, and it starts over (c->gives_back: reserve_gave_back
 * takes that step, even when the call then fails). */
static int reserve_predict(struct run *r, uint64_t addr, uint64_t size, bool sp,
                           struct resv_change *c)
{
    c->r0 = c->r1 = 0;
    c->prev = c->next = r->nresv;
    c->gives_back = false;
    int want = model_page_range(r, addr, size, sp, &c->r0, &c->r1);
    struct aside saved;
    if (want == ANALLOC_OK) {
        struct busy_ctx b = {.r0 = c->r0, .r1 = c->r1};
        model_walk(r, busy_seg, &b);
        c->gives_back = r->nstores > 0 && b.first == ANALLOC_BLOCK_CACHED;
        if (c->gives_back) {
            cache_set_aside(r, &saved, true);
            b.busy = false;
            model_walk(r, busy_seg, &b);
            cache_set_aside(r, &saved, false);
        }
        if (b.busy)
            want = ANALLOC_EBUSY;
    }
    if (want == ANALLOC_OK) {
        for (unsigned x = 0; x < r->nresv; x++) {
            if (r->resv[x][1] == c->r0)
                c->prev = x;
            if (r->resv[x][0] == c->r1)
                c->next = x;
        }
        if (c->prev == r->nresv && c->next == r->nresv && r->nresv == ANALLOC_RESERVE_MAX)
            want = ANALLOC_ELIMIT;
    }
    return want;
}

/* The stores given back by a reserve's scan (reserve_predict). */
static void reserve_gave_back(struct run *r, const struct resv_change *c)
{
    if (c->gives_back)
        stores_give_back(r);
}

/* Reserve the pages of an accepted reserve in the model. */
static void reserve_apply(struct run *r, const struct resv_change *c)
{
    uintptr_t r0 = c->r0, r1 = c->r1;
    unsigned prev = c->prev, next = c->next;
    /* Cached blocks in the range: the engine drains the whole cache. */
    for (unsigned k = 0; k < ANALLOC_CACHE_ORDERS; k++)
        for (unsigned x = 0; x < r->ncached[k]; x++)
            if (r->cached[k][x] < r1 && r->cached[k][x] + pages_of(k) > r0) {
                cache_empty(r);
                k = ANALLOC_CACHE_ORDERS - 1u;
                break;
            }
    if (prev < r->nresv && next < r->nresv) {
        r->resv[prev][1] = r->resv[next][1];
        resv_remove_at(r, next);
    } else if (prev < r->nresv) {
        r->resv[prev][1] = r1;
    } else if (next < r->nresv) {
        r->resv[next][0] = r0;
    } else {
        unsigned x = 0;
        while (x < r->nresv && r->resv[x][0] < r0)
            x++;
        memmove(&r->resv[x + 1u], &r->resv[x], (r->nresv - x) * sizeof r->resv[0]);
        r->resv[x][0] = r0;
        r->resv[x][1] = r1;
        r->nresv++;
    }
    if (r->owner != NULL)
        for (uintptr_t q = r0; q < r1; q++)
            r->owner[q - r->lo] = RESERVED_PAGE;
    r->resv_pages += (size_t)(r1 - r0);
    r->gaps_valid = false;
}

static void op_reserve(struct run *r)
{
    r->op = "reserve";
    uint64_t addr, size;
    switch (below(r, 12)) {
    case 0: addr = random_arena_byte(r), size = 0; break;
    case 1: /* wraps, or ends at the top */
        addr = (r->space ? UINT64_MAX : UINTPTR_MAX) - below64(r, 4u * (uint64_t)r->page);
        size = 8u * (uint64_t)r->page;
        break;
    case 9: case 10: case 11: /* right after or before a reserved range: they merge */
        if (r->nresv > 0 && r->nresv < ANALLOC_RESERVE_MAX) {
            unsigned x = (unsigned)below(r, r->nresv);
            uintptr_t p0 = chance(r, 50) ? r->resv[x][1] : r->resv[x][0] - 1u - below(r, 2);
            if (p0 >= r->lo && p0 + 2u <= r->hi) {
                bytes_of_pages(r, p0, p0 + 1u + below(r, 2), &addr, &size);
                break;
            }
        }
        /* fall through */
    case 2:
        addr = call_width(r, chance(r, 50) ? r->end + below64(r, 4u * (uint64_t)r->page)
                                           : r->start - 1u - below64(r, 2u * (uint64_t)r->page));
        size = 1u + below64(r, 4u * (uint64_t)r->page);
        break;
    case 3: case 4: case 5: case 6: { /* inside a free block: succeeds unless the table is full */
        if (gaps(r)->blocks == 0)
            return;
        struct pick_ctx c = {.want = below(r, r->gaps.blocks)};
        model_walk(r, pick_free, &c);
        uintptr_t p0 = c.pfn + below(r, c.pages), p1 = p0 + 1u + below(r, c.pfn + c.pages - p0);
        bytes_of_pages(r, p0, p1, &addr, &size);
        break;
    }
    default: /* anywhere in the arena, mostly busy */
        addr = random_arena_byte(r);
        size = 1u + below64(r, r->end - addr < 64u * (uint64_t)r->page ? r->end - addr
                                                                        : 64u * (uint64_t)r->page);
        break;
    }
    bool sp = via_space(r);
    if (sp)
        r->op = "space_reserve";
    struct resv_change c;
    int want = reserve_predict(r, addr, size, sp, &c);
    bool snap = want != ANALLOC_OK && !c.gives_back && snap_cheap(r);
    if (snap)
        run_snap(r);
    int rc = call_reserve(r, sp, addr, size);
    CHECK(r, rc == want, "%s(%#llx, %llu) = %d (%s), expected %d (%s)%s", r->op, ULL(addr),
          ULL(size), rc, analloc_strerror(rc), want, analloc_strerror(want),
          c.gives_back ? " after every store was given back" : "");
    reserve_gave_back(r, &c);
    if (want != ANALLOC_OK) {
        if (snap)
            snap_compare(r, &r->snap, "a refused reserve");
        r->n_reserve_fail++;
        return;
    }
    reserve_apply(r, &c);
    r->n_reserve_ok++;
}

/* Release [r0, r1), inside reserved range x, in the model. */
static void model_release(struct run *r, unsigned x, uintptr_t r0, uintptr_t r1)
{
    uintptr_t e0 = r->resv[x][0], e1 = r->resv[x][1];
    if (e0 == r0 && e1 == r1) {
        resv_remove_at(r, x);
    } else if (e0 == r0) {
        r->resv[x][0] = r1;
    } else if (e1 == r1) {
        r->resv[x][1] = r0;
    } else {
        memmove(&r->resv[x + 2u], &r->resv[x + 1u], (r->nresv - x - 1u) * sizeof r->resv[0]);
        r->resv[x][1] = r0;
        r->resv[x + 1u][0] = r1;
        r->resv[x + 1u][1] = e1;
        r->nresv++;
    }
    if (r->owner != NULL)
        for (uintptr_t q = r0; q < r1; q++)
            r->owner[q - r->lo] = FREE_PAGE;
    r->resv_pages -= (size_t)(r1 - r0);
    r->gaps_valid = false;
}

/* The code analloc_release(addr, size) must return; on ANALLOC_OK the
 * pages [*r0, *r1) lie in reserved range *x.  Changes nothing. */
static int release_predict(struct run *r, uint64_t addr, uint64_t size, bool sp, uintptr_t *r0,
                           uintptr_t *r1, unsigned *x)
{
    *r0 = *r1 = 0;
    *x = 0;
    int want = model_page_range(r, addr, size, sp, r0, r1);
    if (want == ANALLOC_OK) {
        while (*x < r->nresv && r->resv[*x][1] <= *r0)
            ++*x;
        if (*x == r->nresv || r->resv[*x][0] > *r0 || r->resv[*x][1] < *r1)
            want = ANALLOC_ENOTRESERVED;
        else if (r->resv[*x][0] < *r0 && *r1 < r->resv[*x][1] && r->nresv == ANALLOC_RESERVE_MAX)
            want = ANALLOC_ELIMIT;
    }
    return want;
}

static void op_release(struct run *r)
{
    r->op = "release";
    uint64_t addr, size;
    unsigned c = (unsigned)below(r, 10);
    if (r->nresv == 0 && c < 8)
        c = 8;
    if (c < 7) { /* part of one reserved range */
        unsigned x = (unsigned)below(r, r->nresv);
        uintptr_t e0 = r->resv[x][0], e1 = r->resv[x][1], p0 = e0, p1 = e1;
        switch (below(r, 4)) {
        case 0: break;
        case 1: p1 = e0 + 1u + below(r, e1 - e0); break;
        case 2: p0 = e0 + below(r, e1 - e0); break;
        default: p0 = e0 + below(r, e1 - e0); p1 = p0 + 1u + below(r, e1 - p0); break;
        }
        bytes_of_pages(r, p0, p1, &addr, &size);
    } else if (c == 7 && r->nresv >= 2) { /* across two ranges */
        unsigned x = (unsigned)below(r, r->nresv - 1u);
        bytes_of_pages(r, r->resv[x][0], r->resv[x + 1u][1], &addr, &size);
    } else if (c == 8) {
        addr = random_arena_byte(r);
        size = 1u + below64(r, 16u * (uint64_t)r->page);
    } else {
        addr = chance(r, 50) ? random_arena_byte(r) : call_width(r, r->end + below64(r, 4u * (uint64_t)r->page));
        size = chance(r, 50) ? 0 : 1u + below(r, r->page);
    }
    bool sp = via_space(r);
    if (sp)
        r->op = "space_release";
    uintptr_t r0 = 0, r1 = 0;
    unsigned x = 0;
    int want = release_predict(r, addr, size, sp, &r0, &r1, &x);
    bool snap = want != ANALLOC_OK && snap_cheap(r);
    if (snap)
        run_snap(r);
    int rc = call_release(r, sp, addr, size);
    CHECK(r, rc == want, "%s(%#llx, %llu) = %d (%s), expected %d (%s)", r->op, ULL(addr),
          ULL(size), rc, analloc_strerror(rc), want, analloc_strerror(want));
    if (want != ANALLOC_OK) {
        if (snap)
            snap_compare(r, &r->snap, "a refused release");
        r->n_reserve_fail++;
        return;
    }
    model_release(r, x, r0, r1);
    r->n_release_ok++;
}

/* analloc_walk (or analloc_space_walk) against model_walk, segment by
 * segment. */
struct walk_ctx {
    struct run *r;
    unsigned kinds;
    uintptr_t *pfn, *pages;
    unsigned *kind;
    size_t n, cap, seen;
};

static void walk_want(struct run *r, void *ctx, uintptr_t pfn, uintptr_t pages, unsigned order,
                      unsigned kind)
{
    struct walk_ctx *w = ctx;
    (void)order;
    if ((w->kinds & kind) == 0)
        return;
    if (w->n == w->cap) {
        w->cap = w->cap ? 2u * w->cap : 64u;
        w->pfn = realloc(w->pfn, w->cap * sizeof *w->pfn);
        w->pages = realloc(w->pages, w->cap * sizeof *w->pages);
        w->kind = realloc(w->kind, w->cap * sizeof *w->kind);
        CHECK(r, w->pfn != NULL && w->pages != NULL && w->kind != NULL, "out of memory");
    }
    w->pfn[w->n] = pfn;
    w->pages[w->n] = pages;
    w->kind[w->n++] = kind;
}

static int space_walk_got(void *ctx, uint64_t addr, uint64_t bytes, unsigned kind)
{
    struct walk_ctx *w = ctx;
    struct run *r = w->r;
    size_t i = w->seen++;
    CHECK(r, i < w->n, "walk: more than the %zu blocks expected (%#llx, %llu B, kind %u)", w->n,
          ULL(addr), ULL(bytes), kind);
    CHECK(r, addr == addr_of(r, w->pfn[i]) && bytes == pages_bytes(r, w->pages[i]) &&
                 kind == w->kind[i],
          "walk: block %zu is %#llx, %llu B, kind %u; expected %#llx, %llu B, kind %u", i,
          ULL(addr), ULL(bytes), kind, ULL(addr_of(r, w->pfn[i])),
          ULL(pages_bytes(r, w->pages[i])), w->kind[i]);
    return 0;
}

static int walk_got(void *ctx, void *block, size_t bytes, unsigned kind)
{
    return space_walk_got(ctx, (uintptr_t)block, bytes, kind);
}

/* What analloc_stats must report, but for size and meta_bytes (the
 * engine's, not the model's): the size_t byte counts capped at SIZE_MAX,
 * the space_* ones exact. */
static void stats_expected(struct run *r, struct analloc_stats *st)
{
    const struct gaps *g = gaps(r);
    size_t free_pages = r->npages - r->live_pages - r->resv_pages;
    memset(st, 0, sizeof *st);
    st->page = r->page;
    st->managed_bytes = capped(r->managed);
    st->free_bytes = capped(pages_bytes(r, free_pages));
    st->used_bytes = capped(pages_bytes(r, r->live_pages));
    st->reserved_bytes = capped(pages_bytes(r, r->resv_pages));
    st->cached_bytes = capped(pages_bytes(r, r->cached_pages));
    st->live_blocks = r->nlive;
    st->cached_blocks = r->cached_blocks;
    st->largest_free = capped(model_largest(r));
    st->depth = r->depth;
    st->reserved_ranges = r->nresv;
    for (unsigned m = 0; m <= r->depth && m < 64; m++)
        st->free_blocks_of_order[m] = g->count[m];
    for (unsigned k = 0; k < ANALLOC_CACHE_ORDERS; k++)
        st->cached_blocks_of_order[k] = held_of_order(r, k);
    st->space = r->space;
    st->space_start = r->start;
    st->space_managed = r->managed;
    st->space_free = pages_bytes(r, free_pages);
    st->space_used = pages_bytes(r, r->live_pages);
    st->space_reserved = pages_bytes(r, r->resv_pages);
    st->space_cached = pages_bytes(r, r->cached_pages);
    st->space_largest_free = model_largest(r);
}

/* Linux's fragmentation index for one order (order <= depth), as
 * analloc_frag_index must give it. */
static int frag_expected(struct run *r, unsigned order)
{
    const struct gaps *g = gaps(r);
    size_t free_pages = r->npages - r->live_pages - r->resv_pages;
    uint64_t blocks = g->blocks + r->cached_blocks, suitable = 0;
    for (unsigned m = order; m <= r->depth; m++)
        suitable += g->count[m] + held_of_order(r, m);
    uint64_t per = blocks == 0 ? 0 : (1000 + ((uint64_t)free_pages * 1000u >> order)) / blocks;
    return blocks == 0 ? 0 : suitable != 0 ? -1000 : per >= 1000 ? 0 : (int)(1000 - per);
}

static void op_stats(struct run *r)
{
    r->op = "stats";
    struct analloc_stats st, want;
    memset(&st, 0xA5, sizeof st);
    st.size = sizeof st;
    int rc = analloc_stats(r->a, &st);
    CHECK(r, rc == 0 && st.size == sizeof st, "analloc_stats = %d, size %zu", rc, st.size);
    stats_expected(r, &want);
    CHECK(r, st.free_bytes == want.free_bytes && st.used_bytes == want.used_bytes &&
                 st.reserved_bytes == want.reserved_bytes && st.cached_bytes == want.cached_bytes &&
                 st.live_blocks == want.live_blocks && st.cached_blocks == want.cached_blocks &&
                 st.reserved_ranges == want.reserved_ranges &&
                 st.managed_bytes == want.managed_bytes && st.page == want.page &&
                 st.depth == want.depth,
          "analloc_stats: free %zu used %zu reserved %zu cached %zu live %zu/%zu cached %zu/%zu "
          "ranges %u/%u",
          st.free_bytes, st.used_bytes, st.reserved_bytes, st.cached_bytes, st.live_blocks,
          want.live_blocks, st.cached_blocks, want.cached_blocks, st.reserved_ranges,
          want.reserved_ranges);
    CHECK(r, st.largest_free == want.largest_free, "analloc_stats: largest_free %zu, expected %zu",
          st.largest_free, want.largest_free);
    CHECK(r, st.space == want.space && st.space_start == want.space_start &&
                 st.space_managed == want.space_managed && st.space_free == want.space_free &&
                 st.space_used == want.space_used && st.space_reserved == want.space_reserved &&
                 st.space_cached == want.space_cached &&
                 st.space_largest_free == want.space_largest_free,
          "analloc_stats: space %u start %#llx managed %llu free %llu used %llu reserved %llu "
          "cached %llu largest %llu; expected %u %#llx %llu %llu %llu %llu %llu %llu",
          st.space, ULL(st.space_start), ULL(st.space_managed), ULL(st.space_free),
          ULL(st.space_used), ULL(st.space_reserved), ULL(st.space_cached),
          ULL(st.space_largest_free), want.space, ULL(want.space_start), ULL(want.space_managed),
          ULL(want.space_free), ULL(want.space_used), ULL(want.space_reserved),
          ULL(want.space_cached), ULL(want.space_largest_free));
    for (unsigned m = 0; m < 64; m++)
        CHECK(r, st.free_blocks_of_order[m] == want.free_blocks_of_order[m],
              "analloc_stats: %zu free blocks of order %u, expected %zu", st.free_blocks_of_order[m],
              m, want.free_blocks_of_order[m]);
    for (unsigned k = 0; k < ANALLOC_CACHE_ORDERS; k++)
        CHECK(r, st.cached_blocks_of_order[k] == want.cached_blocks_of_order[k],
              "analloc_stats: %zu cached blocks of order %u, expected %zu",
              st.cached_blocks_of_order[k], k, want.cached_blocks_of_order[k]);
    /* Linux's fragmentation index for one order. */
    unsigned order = (unsigned)below(r, r->depth + 1u);
    int wantf = frag_expected(r, order);
    int got = analloc_frag_index(r->a, order);
    CHECK(r, got == wantf, "analloc_frag_index(%u) = %d, expected %d", order, got, wantf);
    /* The walk, with a random set of kinds. */
    struct walk_ctx w = {.r = r, .kinds = 1u + (unsigned)below(r, ANALLOC_BLOCK_ALL)};
    model_walk(r, walk_want, &w);
    bool sp = via_space(r);
    rc = sp ? analloc_space_walk(r->a, w.kinds, space_walk_got, &w)
            : analloc_walk(r->a, w.kinds, walk_got, &w);
    CHECK(r, rc == 0 && w.seen == w.n, "%s = %d after %zu of %zu blocks",
          sp ? "analloc_space_walk" : "analloc_walk", rc, w.seen, w.n);
    free(w.pfn);
    free(w.pages);
    free(w.kind);
    r->n_stats++;
}

/* ---- Exact runs ------------------------------------------------------------------ */

/* The run of n pages at pfn (an order-k block just taken, held live) is
 * cut as block_trim cuts it: the live blocks of n's binary digits, largest
 * first; the rest of the block is free again (the canonical cut of the
 * gaps has it).  The blocks take consecutive ids from id. */
static void model_trim(struct run *r, uintptr_t pfn, uint64_t n, uint32_t id)
{
    model_remove(r, find_live(r, pfn));
    bool first = true;
    for (uint64_t left = n; left != 0; first = false) {
        unsigned m = msb64(left);
        model_insert(r, pfn, m, id++);
        r->live[find_live(r, pfn)].run_pages = first ? n : 0;
        pfn += pages_of(m);
        left -= pages_of(m);
    }
}

/* A run's size: mostly a few pages that are no power of two, sometimes a
 * power of two (one block), 0 (one page), any run the largest block holds,
 * or too large.  In bytes: the pages, or up to a page less. */
static uint64_t gen_run_size(struct run *r)
{
    uint64_t n;
    switch (below(r, 10)) {
    case 0: return 0;
    case 1: return size_too_large(r);
    case 2: n = pages_of((unsigned)below(r, r->depth + 1u)); break;
    case 3: case 4: n = 1u + below64(r, pages_of(r->depth)); break;
    default: n = 1u + below64(r, pages_of(r->depth < 6 ? r->depth : 6u)); break;
    }
    return pages_bytes(r, n) - (chance(r, 50) ? below(r, r->page) : 0u);
}

/* analloc_alloc_exact(size, align, lo, hi, flags) or its twin.  Flags 0, a
 * natural alignment and a window over the whole arena take the block of
 * 2^k pages as analloc_alloc does (the cache, its refill, the drain);
 * anything else as analloc_alloc_range. */
static void op_exact(struct run *r)
{
    bool sp = via_space(r);
    r->op = sp ? "space_alloc_exact" : "alloc_exact";
    uint64_t size = gen_run_size(r);
    unsigned k = model_order(r, size);
    uint64_t n = run_pages(r, size);
    unsigned flags = 0;
    switch (below(r, 10)) {
    case 0: flags = chance(r, 50) ? ANALLOC_LOW | ANALLOC_HIGH : 4u << below(r, 8); break; /* bad */
    case 1: case 2: flags = chance(r, 50) ? ANALLOC_LOW : ANALLOC_HIGH; break;
    default: break;
    }
    uint64_t align = chance(r, 70) ? 0 : gen_align(r, k), lo, hi;
    if (chance(r, 70)) {
        lo = 0;
        hi = sp ? ANALLOC_SPACE_END : UINTPTR_MAX;
    } else {
        gen_window(r, &lo, &hi);
        if (sp && whole_window(r, lo, hi))
            hi = ANALLOC_SPACE_END;
    }
    struct place_ctx c;
    int want_rc = place_args(r, size, align, lo, hi, flags, &c);
    bool plain = flags == 0 && c.ka == k && lo <= r->start && hi >= r->end;
    bool drains = false, hit = false;
    uintptr_t want = 0;
    if (want_rc == ANALLOC_OK) {
        if (plain) {
            hit = from_cache(r, k);
            want = predict(r, k, &drains);
        } else {
            want = place_search(r, &c, &drains); /* (drained here) */
        }
        if (want == 0)
            want_rc = ANALLOC_ENOMEM;
    }
    bool snap = want_rc != ANALLOC_OK && !drains && snap_cheap(r);
    if (snap)
        run_snap(r);
    const uint64_t untouched = call_width(r, 0x5A5A5A5A5A5A5A5Au) & ~(uint64_t)1;
    uint64_t got = untouched;
    int rc = call_alloc_exact(r, sp, size, align, lo, hi, flags, &got);
    if (plain && drains)
        cache_empty(r);
    CHECK(r, rc == want_rc,
          "%s(%llu = %llu pages, align %llu, [%#llx, %#llx), flags %#x) = %d (%s), expected %d (%s)",
          r->op, ULL(size), ULL(n), ULL(align), ULL(lo), ULL(hi), flags, rc, analloc_strerror(rc),
          want_rc, analloc_strerror(want_rc));
    if (want_rc != ANALLOC_OK) {
        CHECK(r, got == untouched, "%s failed but wrote %#llx", r->op, ULL(got));
        if (snap)
            snap_compare(r, &r->snap, "a failed exact allocation");
        r->n_exact_fail++;
        return;
    }
    CHECK(r, got == addr_of(r, want),
          "%s(%llu = %llu pages, align %llu, [%#llx, %#llx), flags %#x): got %#llx, expected %#llx "
          "(a block of order %u, %s)", r->op, ULL(size), ULL(n), ULL(align), ULL(lo), ULL(hi),
          flags, ULL(got), ULL(addr_of(r, want)), k,
          !plain ? "placed" : hit ? "the newest cached block" : "lowest of the smallest free blocks");
    check_new_block(r, got, k, r->op);
    if (plain && hit)
        cache_pop(r, k);
    uint32_t id = r->next_id;
    r->next_id += 64u; /* the run's blocks: at most one per order */
    model_insert(r, want, k, id);
    if (plain && !hit && !drains)
        model_refill(r, k);
    model_trim(r, want, n, id);
    for (uintptr_t p = want; p < want + n;) { /* each block of the run, largest first */
        size_t j = find_live(r, p);
        check_size(r, addr_of(r, p), r->live[j].order, "of a block of a new run");
        pattern_write(r, j);
        p += pages_of(r->live[j].order);
    }
    r->n_exact_ok++;
}

/* The code analloc_free_exact(addr, n pages) returns, as the engine checks
 * the run: the blocks of n's binary digits, largest first, each the start
 * of a live block of its order; the first that is not gives analloc_free's
 * error, or ANALLOC_ESIZE if it is live but of another order. */
static int run_predict(struct run *r, uint64_t addr, uint64_t n)
{
    for (uint64_t left = n; left != 0;) {
        size_t li;
        int err = classify(r, addr, &li);
        if (err != ANALLOC_OK)
            return err;
        unsigned k = r->live[li].order;
        if (k != msb64(left))
            return ANALLOC_ESIZE;
        left -= pages_of(k);
        addr += order_bytes(r, k);
    }
    return ANALLOC_OK;
}

/* analloc_free_exact or its twin on a live block: mostly the run it starts
 * with its size, sometimes the block alone, a page more or less, or any
 * size (other runs' blocks, free pages, the arena's end follow). */
static void op_free_exact(struct run *r)
{
    bool sp = via_space(r);
    r->op = sp ? "space_free_exact" : "free_exact";
    struct blk b = r->live[below(r, r->nlive)];
    uint64_t addr = addr_of(r, b.pfn), whole = b.run_pages != 0 ? b.run_pages : pages_of(b.order);
    uint64_t n;
    switch (below(r, 10)) {
    case 6: n = pages_of(b.order); break;
    case 7: n = whole + 1u; break;
    case 8: n = whole > 1u ? whole - 1u : 1u; break;
    case 9: n = 1u + below64(r, 2u * (uint64_t)pages_of(r->depth)); break;
    default: n = whole; break;
    }
    uint64_t size = pages_bytes(r, n) - (chance(r, 50) ? below(r, r->page) : 0u);
    if (n == 1 && chance(r, 30))
        size = 0;
    int want = run_predict(r, addr, n);
    bool snap = want != ANALLOC_OK && (snap_cheap(r) || r->bad_ops++ % 64u == 0);
    if (snap)
        run_snap(r);
    for (uintptr_t p = b.pfn, left = want == ANALLOC_OK ? (uintptr_t)n : 0; left != 0;) {
        const struct blk *x = &r->live[find_live(r, p)];
        pattern_verify(r, x, addr_of(r, p), x->filled, "before free_exact");
        left -= pages_of(x->order);
        p += pages_of(x->order);
    }
    size_t hooks = r->hook_calls;
    int rc = call_free_exact(r, sp, addr, size);
    CHECK(r, rc == want, "%s(%#llx, %llu = %llu pages) = %d (%s), expected %d (%s)", r->op,
          ULL(addr), ULL(size), ULL(n), rc, analloc_strerror(rc), want, analloc_strerror(want));
    if (want != ANALLOC_OK) {
        CHECK(r, hooked_once(r, hooks, want, addr),
              "%s(%#llx): the error hook was called %zu times (last %d, %#llx), expected once "
              "with %d", r->op, ULL(addr), r->hook_calls - hooks, r->hook_err, ULL(r->hook_addr),
              want);
        if (snap)
            snap_compare(r, &r->snap, "a refused free_exact");
        if (-want < MODEL_ERRORS)
            r->n_bad_error[-want]++;
        r->n_exact_refused++;
        return;
    }
    CHECK(r, r->hook_calls == hooks, "%s of a run called the error hook", r->op);
    for (uintptr_t p = b.pfn, left = (uintptr_t)n; left != 0;) { /* lowest first */
        size_t j = find_live(r, p);
        uintptr_t pages = pages_of(r->live[j].order);
        model_free(r, j);
        left -= pages;
        p += pages;
    }
    r->n_exact_free++;
}

/* ---- Pointer calls on an address space: refused ---------------------------------- */

static int walk_never(void *ctx, void *block, size_t bytes, unsigned kind)
{
    struct run *r = ctx;
    (void)block;
    (void)bytes;
    (void)kind;
    CHECK(r, false, "analloc_walk called back on an address space");
    return 1;
}

/* A pointer call on an address-space allocator: refused (NULL, 0 or
 * ANALLOC_EINVAL), changing nothing, the error hook never called. */
static void op_refused(struct run *r)
{
    r->op = "a pointer call on an address space";
    uint64_t addr = r->nlive > 0 ? addr_of(r, r->live[below(r, r->nlive)].pfn) : r->start;
    void *ptr = ptr_of(addr);
    size_t size = (size_t)below64(r, 4u * (uint64_t)r->page + 1u);
    bool snap = snap_cheap(r) || r->bad_ops++ % 64u == 0;
    if (snap)
        run_snap(r);
    size_t hooks = r->hook_calls;
    bool ok;
    switch (below(r, 12)) {
    case 0: ok = analloc_alloc(r->a, size) == NULL; break;
    case 1: ok = analloc_alloc_flags(r->a, size, ANALLOC_LOW) == NULL; break;
    case 2: ok = analloc_alloc_aligned(r->a, size, 0, 0) == NULL &&
                 analloc_alloc_range(r->a, size, 0, 0, UINTPTR_MAX, ANALLOC_HIGH) == NULL; break;
    case 3: ok = analloc_realloc(r->a, NULL, size) == NULL &&
                 analloc_realloc(r->a, ptr, size) == NULL; break;
    case 4: ok = analloc_free(r->a, ptr) == ANALLOC_EINVAL &&
                 analloc_free(r->a, NULL) == ANALLOC_EINVAL; break;
    case 5: ok = analloc_mem_size(r->a, ptr) == 0; break;
    case 6: ok = analloc_reserve(r->a, (uintptr_t)addr, r->page) == ANALLOC_EINVAL &&
                 analloc_release(r->a, (uintptr_t)addr, r->page) == ANALLOC_EINVAL; break;
    case 7: {
        void *q = r;
        ok = analloc_alloc_exact(r->a, size, 0, 0, UINTPTR_MAX, 0, &q) == ANALLOC_EINVAL && q == r &&
             analloc_free_exact(r->a, ptr, size) == ANALLOC_EINVAL;
        break;
    }
    case 8: ok = analloc_walk(r->a, ANALLOC_BLOCK_ALL, walk_never, r) == ANALLOC_EINVAL; break;
    case 9: /* debug fills are for CPU memory; 0 (none) is taken */
        ok = analloc_set_debug(r->a, ANALLOC_DEBUG_POISON_FREE, 1, 2) == ANALLOC_EINVAL &&
             analloc_set_debug(r->a, 0, 0, 0) == ANALLOC_OK;
        break;
    case 10: { /* per-CPU stores hand out pointers */
        struct analloc_cpu c;
        memset(&c, 0, sizeof c);
        ok = analloc_cpu_attach(r->a, &c) == ANALLOC_EINVAL && c.a == NULL &&
             analloc_cpu_alloc(&c, size) == NULL;
        break;
    }
    default: { /* the space twin of what a pointer call refuses: NO_ADDR is NULL */
        ok = analloc_space_free(r->a, ANALLOC_NO_ADDR) == ANALLOC_OK &&
             analloc_space_size(r->a, ANALLOC_NO_ADDR) == 0;
        break;
    }
    }
    CHECK(r, ok, "a pointer call was not refused");
    CHECK(r, r->hook_calls == hooks, "a refused pointer call called the error hook");
    if (snap)
        snap_compare(r, &r->snap, r->op);
    r->n_ptr_refused++;
}

static void op_null(struct run *r)
{
    switch (below(r, r->exact ? 6u : 5u)) {
    case 3:
        r->op = "drain";
        analloc_drain(r->a);
        cache_empty(r);
        break;
    case 4: {
        r->op = "set_cache";
        unsigned slots = (unsigned)below(r, ANALLOC_CACHE_MAX + 2u);
        int rc = analloc_set_cache(r->a, slots);
        if (slots > ANALLOC_CACHE_MAX) { /* refused, nothing changes */
            CHECK(r, rc == ANALLOC_EINVAL, "set_cache(%u) = %d, expected EINVAL", slots, rc);
            break;
        }
        if (r->nstores > 0) { /* refused while a store is attached */
            CHECK(r, rc == ANALLOC_EBUSY, "set_cache(%u) with %u stores attached = %d, expected "
                  "EBUSY", slots, r->nstores, rc);
            break;
        }
        CHECK(r, rc == 0, "set_cache(%u) = %d", slots, rc);
        cache_empty(r);
        r->cache_slots = slots;
        break;
    }
    case 5: { /* none is no run: 0, as free(NULL), and no hook */
        bool sp = via_space(r);
        r->op = sp ? "space_free_exact(ANALLOC_NO_ADDR)" : "free_exact(NULL)";
        int rc = sp ? analloc_space_free_exact(r->a, ANALLOC_NO_ADDR, r->page)
                    : analloc_free_exact(r->a, NULL, r->page);
        CHECK(r, rc == 0, "%s = %d, expected 0", r->op, rc);
        r->n_null++;
        break;
    }
    case 0: {
        bool sp = via_space(r);
        r->op = sp ? "space_free(ANALLOC_NO_ADDR)" : "free(NULL)";
        CHECK(r, call_free(r, sp, sp ? ANALLOC_NO_ADDR : 0) == 0, "%s failed", r->op);
        r->n_null++;
        break;
    }
    case 1: {
        bool sp = via_space(r);
        r->op = sp ? "space_size(ANALLOC_NO_ADDR)" : "mem_size(NULL)";
        CHECK(r, call_size(r, sp, sp ? ANALLOC_NO_ADDR : 0) == 0, "%s is not 0", r->op);
        r->n_null++;
        break;
    }
    default:
        op_alloc(r, true);
        break;
    }
}

/* ---- Setup ---------------------------------------------------------------------- */

static uintptr_t round_up(uintptr_t x, uintptr_t align) { return (x + align - 1u) & ~(align - 1u); }

/* A scratch struct filled with a pattern: failing setups must not change it. */
static void scratch_fill(struct analloc *s) { memset(s, 0x5A, sizeof *s); }

static void scratch_verify(struct run *r, const struct analloc *s, const char *what)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < sizeof *s; i++)
        CHECK(r, p[i] == 0x5A, "%s changed the struct at byte %zu", what, i);
}

/* Bytes of chunk needed past `used` for the metadata and `pages` pages. */
static size_t chunk_room(size_t pages, size_t page)
{
    size_t room = pages * page + 2u * page + 16u;
    for (int i = 0; i < 12; i++)
        room = analloc_meta_size(room, page) + pages * page + 2u * page + 16u;
    return room;
}

/* A buffer for the chunk (or base range) of run r, aligned to a power of two
 * at least its size, so that the arena's position relative to every buddy
 * boundary depends on the seed alone (not on where malloc put it): replays
 * see the same layout.  Only GUARD bytes either side of the chunk are
 * touched.  Returns the chunk. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
static bool running_on_valgrind(void)
{
#ifdef RUNNING_ON_VALGRIND
    return RUNNING_ON_VALGRIND != 0;
#else
    return false;
#endif
}

static unsigned char *real_buffer(struct run *r)
{
    size_t head = (size_t)round_up(GUARD, r->page * 64u);
    r->buf_size = head + r->offset + r->total + GUARD;
    size_t align = r->page * 64u;
    while (align < r->buf_size)
        align *= 2u;
    /* valgrind's posix_memalign refuses alignments above 16 MiB; there the
     * layout of the largest configurations depends on the heap, not only on
     * the seed. */
    if (running_on_valgrind() && align > ((size_t)16 << 20))
        align = (size_t)16 << 20;
    void *p = NULL;
    CHECK(r, posix_memalign(&p, align, r->buf_size) == 0, "out of memory (%zu bytes aligned to %zu)",
          r->buf_size, align);
    r->buf = p;
    unsigned char *chunk = r->buf + head + r->offset;
    r->chunk = (uintptr_t)chunk;
    memset(chunk - GUARD, CANARY, r->total + 2u * GUARD);
    return chunk;
}

static void setup_chunk(struct run *r)
{
    size_t page = r->page;
    unsigned char *chunk = real_buffer(r);

    /* Failing setups change nothing, not even the chunk. */
    struct analloc s;
    scratch_fill(&s);
    int rc = analloc_with_chunk(&s, chunk, r->used + 8u, r->used, page);
    CHECK(r, rc == ANALLOC_ETOOSMALL, "with_chunk of a chunk too small = %d", rc);
    rc = analloc_with_chunk(&s, chunk, r->used, r->used + 1u, page);
    CHECK(r, rc == ANALLOC_EINVAL, "with_chunk with used > total = %d", rc);
    rc = analloc_with_chunk(&s, chunk, r->total, r->used, page * 3u);
    CHECK(r, rc == ANALLOC_EINVAL, "with_chunk with page %zu = %d", page * 3u, rc);
    scratch_verify(r, &s, "a failing with_chunk");
    canary_verify(r, chunk, 0, r->total, CANARY, "a failing with_chunk wrote the chunk");

    r->a = &r->local;
    if (r->struct_in_chunk)
        r->a = (struct analloc *)(void *)(chunk + (round_up(r->chunk, 16) - r->chunk));
    rc = analloc_with_chunk(r->a, chunk, r->total, r->used, page);
    CHECK(r, rc == 0, "analloc_with_chunk = %d (%s)", rc, analloc_strerror(rc));

    r->words = addr(ti_meta(r->a));
    r->meta_bytes = ti_meta_bytes(r->a);
    r->start = (uintptr_t)r->a->start;
    r->managed = r->a->managed;
    uintptr_t meta_end = r->words + r->meta_bytes;
    uintptr_t chunk_end = r->chunk + r->total;
    CHECK(r, r->words == round_up(r->chunk + r->used, 8),
          "the metadata is at %#llx, expected right after the used prefix at %#llx", ULL(r->words),
          ULL(round_up(r->chunk + r->used, 8)));
    CHECK(r, r->start % page == 0 && r->managed % page == 0 && r->managed > 0,
          "start %#llx / managed %llu not whole pages", ULL(r->start), ULL(r->managed));
    CHECK(r, r->start >= meta_end, "the arena %#llx overlaps the metadata [%#llx, %#llx)",
          ULL(r->start), ULL(r->words), ULL(meta_end));
    CHECK(r, r->start + r->managed == chunk_end / page * page,
          "the arena ends at %#llx, expected the last whole page of the chunk, %#llx",
          ULL(r->start + r->managed), ULL(chunk_end / page * page));
    /* Every whole page after the metadata is allocatable.  One more page
     * may need more metadata, so the page before the start is owed only if
     * the exact metadata of [start - page, end) still ends before it (asked
     * of a scratch analloc_init over that range, which it never touches). */
    if (r->start - page >= meta_end) {
        size_t need = analloc_meta_size((size_t)r->managed + page, page);
        void *tmp = malloc(need);
        CHECK(r, tmp != NULL, "out of memory");
        rc = analloc_init(&s, chunk + (size_t)(r->start - page - r->chunk), (size_t)r->managed + page,
                          page, tmp, need);
        size_t more = ti_meta_bytes(&s);
        free(tmp);
        CHECK(r, rc == 0, "scratch init for [start - page, end) = %d", rc);
        CHECK(r, r->words + more > r->start - page,
              "the page at %#llx lies wholly after the metadata (%zu bytes, ends %#llx; %zu "
              "bytes with that page) but is not allocatable",
              ULL(r->start - page), r->meta_bytes, ULL(meta_end), more);
    }
    CHECK(r, r->meta_bytes <= analloc_meta_size(r->total, page),
          "meta_bytes %zu above analloc_meta_size %zu", r->meta_bytes,
          analloc_meta_size(r->total, page));
    r->res_lo = r->chunk;
    r->res_hi = r->start;
}

static void setup_init(struct run *r)
{
    size_t page = r->page;
    uintptr_t base;
    unsigned char *basep = NULL;
    if (r->mode == MODE_INIT)
        basep = real_buffer(r);
    r->meta_size = analloc_meta_size(r->total, page);
    CHECK(r, r->meta_size > 0, "analloc_meta_size(%zu, %zu) = 0", r->total, page);
    r->metabuf_size = GUARD + r->meta_offset + r->meta_size + GUARD;
    r->metabuf = malloc(r->metabuf_size);
    CHECK(r, r->metabuf != NULL, "out of memory (%zu bytes)", r->metabuf_size);
    memset(r->metabuf, META_CANARY, r->metabuf_size);
    unsigned char *metap = r->metabuf + GUARD + r->meta_offset;
    r->meta = (uintptr_t)metap;

    if (r->mode == MODE_FAKE) {
        /* A range nobody maps, away from the metadata buffer. */
#if UINTPTR_MAX > 0xFFFFFFFFu
        static const uintptr_t bases[] = {(uintptr_t)1 << 44, (uintptr_t)1 << 45, (uintptr_t)3 << 44};
#else
        static const uintptr_t bases[] = {0x40000000u, 0x08000000u, 0x80000000u};
#endif
        base = 0;
        bool found = false;
        for (size_t i = 0; !found && i <= sizeof bases / sizeof bases[0]; i++) {
            if (i == 0 && !r->zero_base)
                continue;
            uintptr_t cand = (i == 0 ? 0 : bases[i - 1u]) + r->offset;
            if (r->meta + r->meta_size <= cand || r->meta >= cand + r->total) {
                base = cand;
                found = true;
            }
        }
        CHECK(r, found, "no fake range avoids the metadata buffer");
        r->chunk = base;
    } else {
        base = r->chunk;
    }
    void *basev = basep != NULL ? (void *)basep : (void *)base;

    /* Failing setups change nothing. */
    struct analloc s;
    scratch_fill(&s);
    int rc = analloc_init(&s, basev, r->total, page, metap, r->meta_size - 1u);
    CHECK(r, rc == ANALLOC_ETOOSMALL, "init with meta_size - 1 = %d", rc);
    rc = analloc_init(&s, basev, r->total, page * 3u, metap, r->meta_size);
    CHECK(r, rc == ANALLOC_EINVAL, "init with page %zu = %d", page * 3u, rc);
    if (basep != NULL && r->total >= r->meta_size) {
        rc = analloc_init(&s, basev, r->total, page, basep, r->meta_size);
        CHECK(r, rc == ANALLOC_EOVERLAP, "init with the metadata in the range = %d", rc);
    }
    scratch_verify(r, &s, "a failing analloc_init");
    canary_verify(r, r->metabuf, 0, r->metabuf_size, META_CANARY, "a failing init wrote metadata");
    if (r->real)
        canary_verify(r, basep, 0, r->total, CANARY, "a failing init wrote the range");

    r->a = &r->local;
    rc = analloc_init(r->a, basev, r->total, page, metap, r->meta_size);
    CHECK(r, rc == 0, "analloc_init = %d (%s)", rc, analloc_strerror(rc));

    r->words = addr(ti_meta(r->a));
    r->meta_bytes = ti_meta_bytes(r->a);
    r->start = (uintptr_t)r->a->start;
    r->managed = r->a->managed;
    uintptr_t lo = base / page + (base % page != 0), hi = (base + r->total) / page;
    if (lo == 0)
        lo = 1; /* the page at address 0 is never handed out */
    CHECK(r, r->start == lo * page && r->managed == (hi - lo) * page,
          "init: arena [%#llx, +%llu), expected [%#llx, +%zu)", ULL(r->start), ULL(r->managed),
          ULL(lo * page), (size_t)((hi - lo) * page));
    CHECK(r, r->words >= r->meta && r->words % 8u == 0 &&
                 r->words + r->meta_bytes <= r->meta + r->meta_size,
          "init: metadata [%#llx, +%zu) not 8-aligned inside the buffer [%#llx, +%zu)",
          ULL(r->words), r->meta_bytes, ULL(r->meta), r->meta_size);
    r->res_lo = r->meta;
    r->res_hi = r->meta + r->meta_size;
}

/* An address space (MODEL_SPACE): analloc_space_init over [space_base,
 * + space_size), which nobody touches, with the metadata in a buffer of
 * its own; refused setups first, which must change nothing. */
static void setup_space(struct run *r)
{
    size_t page = r->page;
    uint64_t base = r->space_base, size = r->space_size;
    r->meta_size = analloc_space_meta_size(size, page);
    CHECK(r, r->meta_size > 0, "analloc_space_meta_size(%#llx, %zu) = 0", ULL(size), page);
    r->metabuf_size = GUARD + r->meta_offset + r->meta_size + GUARD;
    r->metabuf = malloc(r->metabuf_size);
    CHECK(r, r->metabuf != NULL, "out of memory (%zu bytes)", r->metabuf_size);
    memset(r->metabuf, META_CANARY, r->metabuf_size);
    unsigned char *metap = r->metabuf + GUARD + r->meta_offset;
    r->meta = (uintptr_t)metap;

    struct analloc s;
    scratch_fill(&s);
    int rc = analloc_space_init(&s, base, size, page, metap, r->meta_size - 1u);
    CHECK(r, rc == ANALLOC_ETOOSMALL, "space_init with meta_size - 1 = %d", rc);
    rc = analloc_space_init(&s, base, size, page * 3u, metap, r->meta_size);
    CHECK(r, rc == ANALLOC_EINVAL, "space_init with page %zu = %d", page * 3u, rc);
    uint64_t top = UINT64_MAX - (page - 1u); /* the last page of the 64-bit space */
    rc = analloc_space_init(&s, top - page, (uint64_t)page + 1u, page, metap, r->meta_size);
    CHECK(r, rc == ANALLOC_EINVAL, "space_init of a range into the last page = %d", rc);
    scratch_verify(r, &s, "a failing analloc_space_init");
    canary_verify(r, r->metabuf, 0, r->metabuf_size, META_CANARY, "a failing space_init wrote metadata");

    r->a = &r->local;
    rc = analloc_space_init(r->a, base, size, page, metap, r->meta_size);
    CHECK(r, rc == 0, "analloc_space_init = %d (%s)", rc, analloc_strerror(rc));
    r->words = addr(ti_meta(r->a));
    r->meta_bytes = ti_meta_bytes(r->a);
    CHECK(r, r->a->start == NULL && TI_SPACE(r->a) == 1, "space_init: start %p, space %llu",
          r->a->start, ULL(TI_SPACE(r->a)));
    CHECK(r, r->words >= r->meta && r->words % 8u == 0 &&
                 r->words + r->meta_bytes <= r->meta + r->meta_size,
          "space_init: metadata [%#llx, +%zu) not 8-aligned inside the buffer [%#llx, +%zu)",
          ULL(r->words), r->meta_bytes, ULL(r->meta), r->meta_size);
    /* (not the space's: bad addresses draw from the buffer's pointer values) */
    r->res_lo = r->meta;
    r->res_hi = r->meta + r->meta_size;
}

/* The largest block of the canonical cut of the 64-bit page numbers
 * [first, last) (address / page): the depth of an arena over them. */
static unsigned cut_depth(uint64_t first, uint64_t last)
{
    unsigned d = 0;
    for (uint64_t p = first; p < last;) {
        unsigned m = msb64(last - p);
        if (p != 0 && ctz64(p) < m)
            m = ctz64(p);
        d = m > d ? m : d;
        p += (uint64_t)1 << m;
    }
    return d;
}

/* An address space's page numbers, as the engine's struct has them (lo,
 * hi, origin), checked against the contract: the arena is the whole pages
 * of [base, base + size), numbered from 1 up (0 is no page). */
static void space_numbers(struct run *r)
{
    uint64_t base = r->space_base, end = base + r->space_size;
    uint64_t first = (base >> r->shift) + ((base & (r->page - 1u)) != 0), last = end >> r->shift;
    r->lo = TI_LO(r->a);
    r->hi = TI_HI(r->a);
    r->origin = TI_ORIGIN(r->a);
    r->start = addr_of(r, r->lo);
    r->end = addr_of(r, r->hi);
    r->managed = pages_bytes(r, r->hi - r->lo);
    CHECK(r, r->lo >= 1 && r->hi > r->lo && r->hi - r->lo == last - first &&
                 r->start == first << r->shift && r->end == last << r->shift,
          "space_init: pages [%#llx, %#llx) at origin %#llx are [%#llx, %#llx), expected the "
          "whole pages [%#llx, %#llx)", ULL(r->lo), ULL(r->hi), ULL(r->origin), ULL(r->start),
          ULL(r->end), ULL(first << r->shift), ULL(last << r->shift));
    CHECK(r, r->a->managed == capped(r->managed), "a->managed = %zu, expected %zu", r->a->managed,
          capped(r->managed));
}

/* An address space's configuration (MODEL_SPACE): the page, then a base
 * (0 or inside page 0, small and unaligned, above 4 GiB, anywhere, or right
 * below the top of the 64-bit space) and a size of about n whole pages. */
static void config_space(struct run *r, size_t n)
{
    static const size_t space_pages[] = {1, 2, 16, 64, 512, 4096, 65536, (size_t)1 << 20,
                                         (size_t)1 << 24, (size_t)1 << 30};
    r->mode = MODE_SPACE;
    r->page = space_pages[below(r, sizeof space_pages / sizeof space_pages[0])];
    uint64_t page = r->page, bytes = (uint64_t)n * page;
    uint64_t top = UINT64_MAX - (page - 1u); /* the last page, which no space reaches */
    uint64_t base, odd = page * (2u * below64(r, 1024) + 1u) + (chance(r, 50) ? below(r, page) : 0u);
    const char *where;
    switch (below(r, 8)) {
    case 0: case 1: base = chance(r, 60) ? 0 : below(r, page); where = "from address 0"; break;
    case 2: base = page * below(r, 64) + below(r, page); where = "low, unaligned"; break;
    case 3: base = ((uint64_t)1 << 32) + odd; where = "2^32 +"; break;
    case 4: base = ((uint64_t)1 << 40) + odd; where = "2^40 +"; break;
    case 5: base = ((uint64_t)1 << 52) + odd; where = "2^52 +"; break;
    case 6: base = below64(r, top - bytes - 2u * page); where = "anywhere"; break;
    default: /* ends at most a few pages below the top */
        base = top - (bytes + page - 1u) - page * below(r, 3) - (chance(r, 50) ? below(r, page) : 0u);
        where = "below the top";
        break;
    }
    uint64_t mis = (base & (page - 1u)) == 0 ? 0 : page - (base & (page - 1u));
    r->space_base = base;
    r->space_size = bytes + mis + below(r, page);
    if (top - base < r->space_size) /* the top case: as many whole pages at least */
        r->space_size = top - base;
    r->meta_offset = below(r, 8);
    snprintf(r->desc, sizeof r->desc, "space page=%zu pages~%zu base=%#llx (%s) size=%#llx "
             "meta_offset=%zu", r->page, n, ULL(base), where, ULL(r->space_size), r->meta_offset);
}

/* Pick the configuration of run r from its own random stream. */
static void config_generate(struct run *r, const struct model_class *k)
{
    static const size_t real_pages[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 8192, 65536};
    static const size_t fake_pages[] = {1, 2, 16, 64, 4096, 65536, (size_t)1 << 20};
    bool fake = k->kind == MODEL_FAKE;
    r->want_pages = log_uniform(r, k->min_pages, k->max_pages);
    size_t n = r->want_pages;
    r->space = k->kind == MODEL_SPACE;
    r->twins = (k->api & MODEL_TWINS) != 0;
    r->exact = (k->api & MODEL_EXACT) != 0;
    r->size_max = r->space ? UINT64_MAX : SIZE_MAX;
    r->live_cap = k->live_cap;
    if (r->space) {
        config_space(r, n);
        r->ops = k->ops_min + below(r, k->ops_max - k->ops_min + 1u);
        if (n > ((size_t)1 << 20)) /* analloc_check every 1000 steps costs O(pages) */
            r->ops = r->ops / (n >> 20);
        size_t len = strlen(r->desc);
        snprintf(r->desc + len, sizeof r->desc - len, " ops=%zu", r->ops);
        return;
    }
    if (fake) {
        r->mode = MODE_FAKE;
#if UINTPTR_MAX > 0xFFFFFFFFu
        size_t max_bytes = (size_t)1 << 40;
#else
        size_t max_bytes = 0x30000000u;
#endif
        do
            r->page = fake_pages[below(r, sizeof fake_pages / sizeof fake_pages[0])];
        while (r->page > max_bytes / (n + 2u));
    } else {
        size_t max_bytes = k->real_max_bytes != 0 ? k->real_max_bytes : REAL_MAX_BYTES;
        if (k->kind == MODEL_REAL)
            r->mode = chance(r, 50) ? MODE_CHUNK : MODE_INIT;
        else
            r->mode = k->kind == MODEL_CHUNK ? MODE_CHUNK : MODE_INIT;
        do
            r->page = real_pages[below(r, sizeof real_pages / sizeof real_pages[0])];
        while (r->page > max_bytes / n);
    }
    size_t page = r->page;

    /* The start: aligned, odd, or a random number of pages and bytes past an
     * address aligned to 64 pages (to 2^20 pages for fake ranges). */
    switch (below(r, 5)) {
    case 0: r->offset = 0; break;
    case 1: r->offset = below(r, page); break;
    case 2: r->offset = below(r, 64u * page) | 1u; break;
    default: r->offset = page * below(r, 64) + (chance(r, 50) ? below(r, page) : 0); break;
    }
    if (fake && chance(r, 50)) {
        size_t pages_off = chance(r, 50) ? below(r, (size_t)1 << 20)
                                         : ((size_t)1 << below(r, 21)) - (size_t)below(r, 2);
        r->offset = page * pages_off + (chance(r, 50) ? below(r, page) : 0);
    }
    if (fake && chance(r, 12)) { /* a range from address 0 (or inside page 0) */
        r->zero_base = true;
        r->offset = chance(r, 50) ? 0 : below(r, page);
    }
#if UINTPTR_MAX <= 0xFFFFFFFFu
    if (fake) /* keep the fake range below 4 GiB */
        r->offset %= 0x0C000000u;
#endif
    r->meta_offset = below(r, 8);

    if (r->mode == MODE_CHUNK) {
        switch (below(r, 6)) {
        case 0:
        case 1: r->used = 0; break;
        case 2: r->used = below(r, 64) | 1u; break;
        case 3: r->used = sizeof(struct analloc) + 16u + below(r, 64); break;
        case 4: r->used = below(r, 3u * page + 1u); break;
        default: r->used = 1u + below(r, n * page / 2u + 1u); break;
        }
        r->struct_in_chunk = r->used >= sizeof(struct analloc) + 16u && chance(r, 50);
        r->total = r->used + chunk_room(n, page) + below(r, page);
    } else {
        /* n whole pages, whatever the alignment of the start, and a tail. */
        size_t mis = (size_t)((r->offset % page) == 0 ? 0 : page - r->offset % page);
        r->total = n * page + mis + below(r, page);
        /* A range from address 0 loses page 0; one page more so that a
         * one-page arena is not empty (test_model's fake arenas are large). */
        if (r->zero_base && r->offset == 0 && n == 1)
            r->total += page;
        r->used = 0;
        r->struct_in_chunk = false;
    }
    r->real = r->mode != MODE_FAKE;
    r->ops = k->ops_min + below(r, k->ops_max - k->ops_min + 1u);
    if (n > ((size_t)1 << 20)) /* analloc_check every 1000 steps costs O(pages) */
        r->ops = r->ops / (n >> 20);
    r->live_cap = k->live_cap;
    snprintf(r->desc, sizeof r->desc,
             "%s page=%zu pages~%zu total=%zu used=%zu offset=%zu%s meta_offset=%zu "
             "struct_in_chunk=%d ops=%zu",
             mode_name[r->mode], page, n, r->total, r->used, r->offset,
             r->zero_base ? " from address 0" : "", r->meta_offset, (int)r->struct_in_chunk, r->ops);
}

/* Set up the allocator of run r and the model; check the setup. */
static void run_setup(struct run *r)
{
    r->op = "setup";
    if (r->mode == MODE_CHUNK)
        setup_chunk(r);
    else if (r->mode == MODE_SPACE)
        setup_space(r);
    else
        setup_init(r);
    struct analloc *a = r->a;
    r->shift = msb64(r->page);
    if (r->space) {
        space_numbers(r);
    } else {
        r->end = r->start + r->managed;
        r->lo = (uintptr_t)(r->start >> r->shift);
        r->hi = (uintptr_t)(r->end >> r->shift);
    }
    r->npages = (size_t)(r->hi - r->lo);
    size_t len = strlen(r->desc);
    snprintf(r->desc + len, sizeof r->desc - len, " -> pages [%#llx, %#llx) = %zu, start %#llx",
             ULL(r->lo), ULL(r->hi), r->npages, ULL(r->start));

    CHECK(r, a->page == r->page, "a->page = %zu, expected %zu", a->page, r->page);
    CHECK(r, analloc_meta_bytes(a) == r->meta_bytes, "analloc_meta_bytes = %zu, expected %zu",
          analloc_meta_bytes(a), r->meta_bytes);
    r->live_max = (r->npages < r->live_cap ? r->npages : r->live_cap) + 2u;
    r->live = calloc(r->live_max, sizeof r->live[0]);
    CHECK(r, r->live != NULL, "out of memory");
    if (r->real && r->npages <= OWNER_MAX_PAGES) {
        r->owner = malloc(r->npages * sizeof r->owner[0]);
        CHECK(r, r->owner != NULL, "out of memory");
        for (size_t i = 0; i < r->npages; i++)
            r->owner[i] = FREE_PAGE;
    }
    /* The depth: the largest aligned block in the empty arena. */
    gaps_compute(r);
    CHECK(r, r->gaps.orders != 0, "model: empty arena");
    r->depth = msb64(r->gaps.orders);
    r->cache_bits = cache_table_bits(r->npages, r->depth);
    r->no_stores = !build_has_stores(a);
    CHECK(r, a->depth == r->depth, "a->depth = %zu, expected %u", a->depth, r->depth);
    if (r->space) { /* blocks aligned in addresses as in page numbers */
        uint64_t base = r->space_base, end = base + r->space_size;
        unsigned d = cut_depth((base >> r->shift) + ((base & (r->page - 1u)) != 0), end >> r->shift);
        CHECK(r, r->depth == d && (r->origin & (order_bytes(r, d) - 1u)) == 0,
              "space_init: depth %u, origin %#llx; the space's largest aligned block has order %u",
              r->depth, ULL(r->origin), d);
    }
    CHECK(r, analloc_free_bytes(a) == capped(r->managed), "free bytes after setup = %zu, expected %zu",
          analloc_free_bytes(a), capped(r->managed));
    check_counters(r, true);
    if (!lean(r))
        check_engine(r);
    canaries_verify(r, true, "after setup");

    analloc_set_error_hook(a, hook, r);
    /* The page cache: mostly the default, sometimes none or a few slots. */
    size_t c = below(r, 8);
    r->cache_slots = c < 4 ? ANALLOC_CACHE_DEFAULT
                   : c == 4 ? 0u : c == 5 ? 1u : 2u + (unsigned)below(r, ANALLOC_CACHE_MAX - 1u);
    CHECK(r, analloc_set_cache(a, r->cache_slots) == 0, "analloc_set_cache(%u) failed",
          r->cache_slots);
    r->cache_slots0 = r->cache_slots;
    len = strlen(r->desc);
    snprintf(r->desc + len, sizeof r->desc - len, ", cache %u slots", r->cache_slots);
    r->snap0.meta = malloc(r->meta_bytes);
    r->snap.meta = malloc(r->meta_bytes);
    CHECK(r, r->snap0.meta != NULL && r->snap.meta != NULL, "out of memory");
    snap_fill(&r->snap0, a);
    size_t cp = r->klass->check_pages;
    if (cp == 0)
        r->check_every = r->npages <= SMALL_ARENA ? 1u : 1000u;
    else
        r->check_every = r->npages <= cp ? 1u : (r->npages + cp - 1u) / cp;
    r->next_id = 1;
    r->salt = rnd(r);
    /* Per-CPU stores: 1 to stores_max attached (the cache goes off). */
    r->stores_max = r->klass->stores < MODEL_STORES ? r->klass->stores : MODEL_STORES;
    if (r->stores_max > 0) {
        r->cpu = calloc(MODEL_STORES, sizeof r->cpu[0]);
        CHECK(r, r->cpu != NULL, "out of memory");
        unsigned n = 1u + (unsigned)below(r, r->stores_max);
        for (unsigned i = 0; i < n; i++) {
            int rc = analloc_cpu_attach(a, &r->cpu[i]);
            CHECK(r, rc == 0 && store_attach_step(r, i) == 0, "cpu_attach(store %u) = %d", i, rc);
        }
        len = strlen(r->desc);
        snprintf(r->desc + len, sizeof r->desc - len, ", %u of %u stores attached", n,
                 r->stores_max);
        check_counters(r, true);
    }
}

/* ---- One configuration ---------------------------------------------------------- */

enum op {
    OP_ALLOC, OP_FREE, OP_REALLOC, OP_MEMSIZE, OP_BAD, OP_NULL, OP_PLACED, OP_RESERVE, OP_RELEASE,
    OP_STATS, OP_EXACT, OP_FREE_EXACT, OP_REFUSED, OP_COUNT
};

/* Per 100 steps, by phase: the calls of version 2 (model_class.api 0:
 * drawn as they were), and with exact runs (and, on an address space,
 * pointer calls that it refuses; elsewhere those steps are NULL calls). */
static const unsigned op_weights[3][OP_COUNT] = {
    {45, 10, 13, 5, 8, 4, 8, 3, 2, 2}, /* fill */
    {10, 50, 13, 5, 8, 4, 3, 2, 3, 2}, /* drain */
    {28, 28, 14, 5, 8, 4, 6, 3, 2, 2}, /* steady */
};
static const unsigned op_weights_exact[3][OP_COUNT] = {
    {38, 10, 12, 5, 7, 3, 7, 3, 2, 2, 8, 2, 1}, /* fill */
    {9, 42, 12, 5, 7, 3, 3, 2, 3, 2, 2, 9, 1},  /* drain */
    {24, 23, 13, 5, 7, 3, 6, 3, 2, 2, 5, 5, 2}, /* steady */
};

static enum op choose_op(struct run *r)
{
    if (r->phase_left == 0) {
        r->phase = (unsigned)below(r, 3);
        r->phase_left = 10u + below(r, r->npages < 64 ? 64u : 800u);
    }
    r->phase_left--;
    size_t x = below(r, 100);
    const unsigned *w = r->exact ? op_weights_exact[r->phase] : op_weights[r->phase];
    enum op op = OP_ALLOC;
    for (unsigned i = 0; i < OP_COUNT; i++) {
        if (x < w[i]) {
            op = (enum op)i;
            break;
        }
        x -= w[i];
    }
    if (op == OP_REFUSED && !r->space)
        op = OP_NULL;
    if ((op == OP_FREE || op == OP_MEMSIZE || op == OP_FREE_EXACT) && r->nlive == 0)
        op = OP_ALLOC;
    if ((op == OP_ALLOC || op == OP_NULL || op == OP_PLACED) && r->nlive + 1u >= r->live_cap)
        op = OP_FREE;
    if (op == OP_EXACT && r->nlive + r->depth + 1u >= r->live_cap) /* a run is up to depth blocks */
        op = r->nlive > 0 ? OP_FREE : OP_ALLOC;
    return op;
}

static void run_steps(struct run *r)
{
    for (r->step = 0; r->step < r->ops; r->step++) {
        if (dry(r))
            break; /* a byte stream ran dry: go on to the final checks */
        size_t hooks = r->hook_calls;
        if (r->stores_max > 0 && chance(r, 55)) { /* (no draw for a class without stores) */
            op_store(r);
            check_counters(r, largest_now(r));
            if ((r->check_every == 1 || r->step % r->check_every == 0) && !lean(r))
                check_engine(r);
            continue;
        }
        enum op op = choose_op(r);
        /* Any reserved range sends every store free to analloc_free: in a
         * class with stores, ranges are rarer. */
        if (op == OP_RESERVE && r->stores_max > 0 && chance(r, 75))
            op = OP_RELEASE;
        switch (op) {
        case OP_ALLOC: op_alloc(r, false); break;
        case OP_FREE: op_free(r); break;
        case OP_REALLOC: op_realloc(r); break;
        case OP_MEMSIZE: op_mem_size(r); r->n_mem_size++; break;
        case OP_BAD: op_bad(r); break;
        case OP_PLACED: op_placed(r); break;
        case OP_RESERVE: op_reserve(r); break;
        case OP_RELEASE: op_release(r); break;
        case OP_STATS: op_stats(r); break;
        case OP_EXACT: op_exact(r); break;
        case OP_FREE_EXACT: op_free_exact(r); break;
        case OP_REFUSED: op_refused(r); break;
        default: op_null(r); break;
        }
        if (op != OP_BAD && op != OP_FREE_EXACT)
            CHECK(r, r->hook_calls == hooks, "the error hook was called by a valid call");
        check_counters(r, largest_now(r));
        if ((r->check_every == 1 || r->step % r->check_every == 0) && !lean(r))
            check_engine(r);
    }
}

/* Free everything in random order: the allocator must be back to its state
 * right after setup, byte for byte. */
static void run_finish(struct run *r)
{
    r->op = "final check";
    if (!lean(r))
        check_engine(r);
    canaries_verify(r, false, "before the final frees");
    r->op = "detach all";
    for (unsigned i = 0; r->cpu != NULL && i < MODEL_STORES; i++)
        if (r->store[i].attached) {
            int rc = analloc_cpu_detach(&r->cpu[i]);
            CHECK(r, rc == 0 && store_detach_step(r, i) == 0, "cpu_detach(store %u) = %d", i, rc);
            check_counters(r, true);
        }
    r->op = "release all";
    while (r->nresv > 0) {
        unsigned x = (unsigned)below(r, r->nresv);
        uintptr_t r0 = r->resv[x][0], r1 = r->resv[x][1];
        int rc = call_release(r, via_space(r), addr_of(r, r0), pages_bytes(r, r1 - r0));
        CHECK(r, rc == 0, "release of reserved pages [%#llx, %#llx) = %d (%s)", ULL(r0), ULL(r1), rc,
              analloc_strerror(rc));
        model_release(r, x, r0, r1);
    }
    r->op = "free all";
    size_t n = 0, m = 0;
    while (r->nlive > 0) {
        free_index(r, below(r, r->nlive));
        size_t got = analloc_free_bytes(r->a);
        CHECK(r, got == capped(pages_bytes(r, r->npages - r->live_pages)),
              "analloc_free_bytes = %zu, expected %zu", got,
              capped(pages_bytes(r, r->npages - r->live_pages)));
        if (r->nlive < 1024u || ++n % 64u == 0)
            check_counters(r, largest_now(r));
        /* With check_pages 0 (test_model), n only counts once 1024 blocks
         * are live: below that every free is checked, up to 2^16 pages.
         * Otherwise the frees are checked like the steps. */
        if (r->klass->check_pages == 0 ? n % 256u == 0 && r->npages <= SMALL_ARENA * 16u
                                       : ++m % r->check_every == 0 && !lean(r))
            check_engine(r);
    }
    r->op = "after freeing everything";
    CHECK(r, analloc_free_bytes(r->a) == capped(r->managed), "free bytes %zu, expected all %zu",
          analloc_free_bytes(r->a), capped(r->managed));
    analloc_drain(r->a);
    cache_empty(r);
    size_t largest = analloc_largest_free(r->a);
    CHECK(r, largest == capped(order_bytes(r, r->depth)),
          "largest free %zu, expected the whole arena's largest block %zu", largest,
          capped(order_bytes(r, r->depth)));
    check_counters(r, true);
    if (!lean(r))
        check_engine(r);
    CHECK(r, analloc_set_cache(r->a, r->cache_slots0) == 0, "set_cache back to %u failed",
          r->cache_slots0);
    snap_compare(r, &r->snap0, "after freeing everything, compared with the setup");
    canaries_verify(r, false, "at the end");
}

static void run_release(struct run *r)
{
    free(r->buf);
    free(r->metabuf);
    free(r->live);
    free(r->owner);
    free(r->snap0.meta);
    free(r->snap.meta);
    free(r->cpu);
    free(r);
}

/* ---- One run ------------------------------------------------------------------- */

size_t model_run_one(const struct model_class *k, size_t index, const struct model_source *src,
                     const struct model_failure *failure, struct model_totals *t, char *desc,
                     size_t desc_size)
{
    struct run *r = calloc(1, sizeof *r);
    if (r == NULL) {
        failure->report(failure->ctx, "model: out of memory");
        abort();
    }
    r->klass = k;
    r->index = index;
    r->src = *src;
    r->failure = *failure;
    config_generate(r, k);
    run_setup(r);
    run_steps(r);
    run_finish(r);
    size_t steps = r->step;
    t->configs++;
    t->ops += steps;
    t->alloc_ok += r->n_alloc_ok;
    t->alloc_fail += r->n_alloc_fail;
    t->frees += r->n_free;
    t->re_in_place += r->n_realloc_in_place;
    t->re_move += r->n_realloc_move;
    t->re_fail += r->n_realloc_fail;
    t->bad += r->n_bad;
    t->checks += r->n_checks;
    t->mem_sizes += r->n_mem_size;
    t->nulls += r->n_null;
    t->placed_ok += r->n_placed_ok;
    t->placed_fail += r->n_placed_fail;
    t->reserves += r->n_reserve_ok;
    t->releases += r->n_release_ok;
    t->range_refused += r->n_reserve_fail;
    t->stats += r->n_stats;
    for (size_t e = 0; e < MODEL_ERRORS; e++)
        t->bad_error[e] += r->n_bad_error[e];
    t->cpu_alloc_ok += r->n_cpu_alloc_ok;
    t->cpu_alloc_fail += r->n_cpu_alloc_fail;
    t->cpu_frees += r->n_cpu_free;
    t->cpu_bad += r->n_cpu_bad;
    t->cpu_refills += r->n_cpu_refill;
    t->cpu_spills += r->n_cpu_spill;
    t->cpu_full_buckets += r->n_cpu_full;
    t->cpu_give_backs += r->n_cpu_give_back;
    t->cpu_attach += r->n_cpu_attach;
    t->cpu_detach += r->n_cpu_detach;
    t->cpu_drain += r->n_cpu_drain;
    t->exact_ok += r->n_exact_ok;
    t->exact_fail += r->n_exact_fail;
    t->exact_frees += r->n_exact_free;
    t->exact_refused += r->n_exact_refused;
    t->twin_calls += r->n_twin;
    t->space_calls += r->n_space_call;
    t->resize_ok += r->n_resize_ok;
    t->resize_fail += r->n_resize_fail;
    t->ptr_refused += r->n_ptr_refused;
    t->zero_blocks += r->n_zero;
    if (desc != NULL && desc_size > 0)
        snprintf(desc, desc_size, "%s", r->desc);
    run_release(r);
    return steps;
}

/* ---- The model, step by step ------------------------------------------------- */

/* A run without a configuration, a source of randomness or a driver: the
 * model alone, of an allocator a test has set up, fed one call at a time.
 * Its checks are the model's consistency (a test freeing a block the model
 * holds no record of, say); comparing with the engine is the caller's. */
struct model_arena {
    struct run r;
};

static unsigned model_shift(size_t page)
{
    unsigned s = 0;
    while (((size_t)1 << s) < page)
        s++;
    return s;
}

struct model_arena *model_arena_new(analloc_t a, unsigned cache_slots,
                                    const struct model_failure *failure)
{
    struct model_arena *m = calloc(1, sizeof *m);
    if (m == NULL) {
        failure->report(failure->ctx, "model: out of memory");
        abort();
    }
    struct run *r = &m->r;
    r->failure = *failure;
    r->op = "model_arena_new";
    r->a = a;
    for (unsigned k = 0; k < ANALLOC_CPU_ORDERS; k++) /* the stores' lists tile their slots */
        CHECK(r, (unsigned)(store_first_slot[k + 1u] - store_first_slot[k]) == ANALLOC_CPU_CAP(k) &&
                     store_first_slot[ANALLOC_CPU_ORDERS] == ANALLOC_CPU_SLOTS,
              "store_first_slot[%u] does not follow ANALLOC_CPU_CAP", k);
    r->page = a->page;
    r->shift = model_shift(a->page);
    r->size_max = SIZE_MAX;
    r->start = (uintptr_t)a->start;
    r->managed = a->managed;
    r->end = r->start + r->managed;
    r->lo = (uintptr_t)(r->start >> r->shift);
    r->hi = (uintptr_t)(r->end >> r->shift);
    r->npages = (size_t)(r->hi - r->lo);
    CHECK(r, ((size_t)1 << r->shift) == r->page && addr_of(r, r->lo) == r->start && r->npages > 0,
          "an arena of %zu pages of %zu bytes at %#llx", r->npages, r->page, ULL(r->start));
    r->live_max = r->npages + 2u;
    r->live = calloc(r->live_max, sizeof r->live[0]);
    CHECK(r, r->live != NULL, "out of memory");
    gaps_compute(r);
    r->depth = msb64(r->gaps.orders);
    r->cache_bits = cache_table_bits(r->npages, r->depth);
    r->no_stores = !build_has_stores(a);
    CHECK(r, a->depth == r->depth, "a->depth = %zu, expected %u", a->depth, r->depth);
    CHECK(r, cache_slots <= ANALLOC_CACHE_MAX, "%u cache slots", cache_slots);
    r->cache_slots = cache_slots;
    r->next_id = 1;
    return m;
}

void model_arena_delete(struct model_arena *m)
{
    if (m == NULL)
        return;
    free(m->r.live);
    free(m->r.owner);
    free(m);
}

void model_arena_assign(struct model_arena *dst, const struct model_arena *src)
{
    struct blk *live = dst->r.live;
    CHECK(&dst->r, src->r.a == dst->r.a && src->r.live_max == dst->r.live_max && src->r.owner == NULL &&
                       dst->r.owner == NULL,
          "model_arena_assign: two models of different allocators");
    dst->r = src->r;
    dst->r.live = live;
    memcpy(live, src->r.live, src->r.live_max * sizeof live[0]);
}

unsigned model_arena_depth(const struct model_arena *m) { return m->r.depth; }

uintptr_t model_arena_lo(const struct model_arena *m) { return m->r.lo; }

size_t model_arena_pages(const struct model_arena *m) { return m->r.npages; }

size_t model_arena_live(const struct model_arena *m) { return m->r.nlive; }

uintptr_t model_arena_live_at(const struct model_arena *m, size_t i, unsigned *order)
{
    const struct run *r = &m->r;
    CHECK(r, i < r->nlive, "live block %zu of %zu", i, r->nlive);
    if (order != NULL)
        *order = r->live[i].order;
    return (uintptr_t)addr_of(r, r->live[i].pfn);
}

unsigned model_arena_page(struct model_arena *m, uintptr_t pfn, uintptr_t *first, unsigned *order)
{
    struct run *r = &m->r;
    r->op = "model_arena_page";
    CHECK(r, pfn >= r->lo && pfn < r->hi, "page %#llx outside [%#llx, %#llx)", ULL(pfn),
          ULL(r->lo), ULL(r->hi));
    struct at_page c = {.pfn = pfn};
    model_walk(r, at_page_seg, &c);
    if (first != NULL)
        *first = c.first;
    if (order != NULL)
        *order = c.order;
    return c.kind;
}

enum model_got model_arena_alloc(struct model_arena *m, size_t size, uintptr_t *addr,
                                 unsigned *order, bool *drained)
{
    struct run *r = &m->r;
    r->op = "alloc";
    unsigned k = model_order(r, size);
    bool drains;
    uintptr_t want = predict(r, k, &drains);
    if (drains)
        cache_empty(r);
    *addr = 0;
    if (order != NULL)
        *order = k;
    if (drained != NULL)
        *drained = drains;
    if (k > r->depth)
        return MODEL_BAD;
    if (want == 0)
        return MODEL_NONE;
    bool hit = from_cache(r, k);
    if (hit)
        cache_pop(r, k);
    model_insert(r, want, k, r->next_id++);
    if (!hit && !drains)
        model_refill(r, k);
    *addr = (uintptr_t)addr_of(r, want);
    return MODEL_BLOCK;
}

enum model_got model_arena_alloc_range(struct model_arena *m, size_t size, size_t align,
                                       uintptr_t lo, uintptr_t hi, unsigned flags,
                                       uintptr_t *addr, unsigned *order, bool *drained)
{
    struct run *r = &m->r;
    r->op = "alloc_range";
    unsigned ka, k = model_order(r, size);
    bool possible, drains;
    uintptr_t want = placed_predict(r, size, align, lo, hi, flags, &ka, &possible, &drains);
    *addr = 0;
    if (order != NULL)
        *order = k;
    if (drained != NULL)
        *drained = drains;
    if (!possible)
        return MODEL_BAD;
    if (want == 0)
        return MODEL_NONE;
    model_insert(r, want, k, r->next_id++);
    *addr = (uintptr_t)addr_of(r, want);
    return MODEL_BLOCK;
}

/* The live block that starts at addr. */
static size_t live_at(struct run *r, uintptr_t addr)
{
    size_t i = find_live(r, (uintptr_t)page_number(r, addr));
    CHECK(r, i != NONE && addr_of(r, r->live[i].pfn) == addr,
          "%#llx is not the start of a live block of the model", ULL(addr));
    return i;
}

void model_arena_free(struct model_arena *m, uintptr_t addr)
{
    struct run *r = &m->r;
    r->op = "free";
    size_t i = live_at(r, addr);
    struct blk b = r->live[i];
    model_remove(r, i);
    if (model_cap(r, b.order) > 0)
        cache_put(r, b.order, b.pfn);
}

enum model_got model_arena_realloc(struct model_arena *m, uintptr_t addr, size_t size,
                                   uintptr_t *to, bool *drained)
{
    struct run *r = &m->r;
    r->op = "realloc";
    size_t i = live_at(r, addr);
    unsigned k = model_order(r, size);
    struct realloc_plan plan = realloc_predict(r, i, k);
    realloc_apply(r, i, k, &plan);
    if (drained != NULL)
        *drained = plan.drains;
    *to = plan.kind == RE_IN_PLACE ? addr : plan.kind == RE_MOVE ? (uintptr_t)addr_of(r, plan.want) : 0;
    if (plan.kind == RE_FAIL)
        return k > r->depth ? MODEL_BAD : MODEL_NONE;
    return MODEL_BLOCK;
}

int model_arena_reserve(struct model_arena *m, uintptr_t addr, size_t size)
{
    struct run *r = &m->r;
    r->op = "reserve";
    struct resv_change c;
    int want = reserve_predict(r, addr, size, false, &c);
    reserve_gave_back(r, &c);
    if (want == ANALLOC_OK)
        reserve_apply(r, &c);
    return want;
}

int model_arena_release(struct model_arena *m, uintptr_t addr, size_t size)
{
    struct run *r = &m->r;
    r->op = "release";
    uintptr_t r0, r1;
    unsigned x;
    int want = release_predict(r, addr, size, false, &r0, &r1, &x);
    if (want == ANALLOC_OK)
        model_release(r, x, r0, r1);
    return want;
}

void model_arena_drain(struct model_arena *m) { cache_empty(&m->r); }

int model_arena_set_cache(struct model_arena *m, unsigned slots)
{
    struct run *r = &m->r;
    r->op = "set_cache";
    CHECK(r, slots <= ANALLOC_CACHE_MAX, "%u cache slots", slots);
    if (r->nstores > 0)
        return ANALLOC_EBUSY;
    cache_empty(r);
    r->cache_slots = slots;
    return ANALLOC_OK;
}

size_t model_arena_largest(struct model_arena *m) { return capped(model_largest(&m->r)); }

size_t model_arena_free_bytes(const struct model_arena *m)
{
    const struct run *r = &m->r;
    return (r->npages - r->live_pages - r->resv_pages) << r->shift;
}

int model_arena_classify(struct model_arena *m, uintptr_t addr)
{
    size_t li;
    m->r.op = "classify";
    return classify(&m->r, addr, &li);
}

void model_arena_stats(struct model_arena *m, struct analloc_stats *st)
{
    stats_expected(&m->r, st);
}

int model_arena_frag_index(struct model_arena *m, unsigned order)
{
    return order > m->r.depth ? ANALLOC_EINVAL : frag_expected(&m->r, order);
}

/* analloc_walk's callback, fed from model_walk. */
struct arena_walk_ctx {
    unsigned kinds;
    int (*fn)(void *ctx, void *block, size_t bytes, unsigned kind);
    void *ctx;
    int stopped;
};

static void arena_walk_seg(struct run *r, void *ctx, uintptr_t pfn, uintptr_t pages,
                           unsigned order, unsigned kind)
{
    struct arena_walk_ctx *w = ctx;
    (void)order;
    if (w->stopped == 0 && (w->kinds & kind) != 0)
        w->stopped = w->fn(w->ctx, ptr_of(addr_of(r, pfn)), (size_t)pages_bytes(r, pages), kind);
}

int model_arena_walk(struct model_arena *m, unsigned kinds,
                     int (*fn)(void *ctx, void *block, size_t bytes, unsigned kind), void *ctx)
{
    struct arena_walk_ctx w = {.kinds = kinds, .fn = fn, .ctx = ctx};
    model_walk(&m->r, arena_walk_seg, &w);
    return w.stopped;
}

unsigned model_arena_reserved(const struct model_arena *m, uintptr_t (*ranges)[2], unsigned max)
{
    const struct run *r = &m->r;
    for (unsigned x = 0; x < r->nresv && x < max; x++) {
        ranges[x][0] = r->resv[x][0];
        ranges[x][1] = r->resv[x][1];
    }
    return r->nresv;
}

unsigned model_arena_cached(const struct model_arena *m, unsigned k, uintptr_t *pages)
{
    const struct run *r = &m->r;
    if (k >= ANALLOC_CACHE_ORDERS)
        return 0;
    for (unsigned x = 0; x < r->ncached[k]; x++)
        pages[x] = r->cached[k][x];
    return r->ncached[k];
}

/* ---- Per-CPU stores, step by step ------------------------------------------- */

static struct run *store_run(struct model_arena *m, unsigned i, const char *op)
{
    struct run *r = &m->r;
    r->op = op;
    CHECK(r, i < MODEL_STORES, "store %u of %u", i, MODEL_STORES);
    return r;
}

int model_arena_store_attach(struct model_arena *m, unsigned i)
{
    return store_attach_step(store_run(m, i, "cpu_attach"), i);
}

int model_arena_store_detach(struct model_arena *m, unsigned i)
{
    return store_detach_step(store_run(m, i, "cpu_detach"), i);
}

void model_arena_store_drain(struct model_arena *m, unsigned i)
{
    store_drain_step(store_run(m, i, "cpu_drain"), i);
}

enum model_got model_arena_store_alloc(struct model_arena *m, unsigned i, size_t size,
                                       uintptr_t *addr, unsigned *order, bool *gave_back)
{
    struct run *r = store_run(m, i, "cpu_alloc");
    unsigned k;
    bool back, bad;
    uintptr_t want = store_alloc_step(r, i, size, r->next_id, &k, &back, &bad);
    *addr = want == 0 ? 0 : (uintptr_t)addr_of(r, want);
    if (order != NULL)
        *order = k;
    if (gave_back != NULL)
        *gave_back = back;
    if (want == 0)
        return bad ? MODEL_BAD : MODEL_NONE;
    r->next_id++;
    return MODEL_BLOCK;
}

int model_arena_store_free(struct model_arena *m, unsigned i, uintptr_t addr, bool *changed)
{
    bool c;
    int rc = store_free_step(store_run(m, i, "cpu_free"), i, addr, &c);
    if (changed != NULL)
        *changed = c;
    return rc;
}

bool model_arena_store_attached(const struct model_arena *m, unsigned i)
{
    return i < MODEL_STORES && m->r.store[i].attached;
}

unsigned model_arena_stores(const struct model_arena *m)
{
    unsigned n = 0;
    for (unsigned i = 0; i < MODEL_STORES; i++)
        n += m->r.store[i].attached;
    return n;
}

unsigned model_arena_store_list(const struct model_arena *m, unsigned i, unsigned k,
                                uintptr_t *pages, unsigned *entries)
{
    const struct mstore *st = &m->r.store[i];
    if (i >= MODEL_STORES || k >= ANALLOC_CPU_ORDERS || !st->attached)
        return 0;
    for (unsigned x = 0; x < st->n[k]; x++) {
        pages[x] = st->pfn[k][x];
        if (entries != NULL)
            entries[x] = st->entry[k][x];
    }
    return st->n[k];
}

const char *model_arena_store_compare(const struct model_arena *m, unsigned i,
                                      const struct analloc_cpu *c)
{
    return i < MODEL_STORES ? store_compare(&m->r, i, c) : "no such store";
}
