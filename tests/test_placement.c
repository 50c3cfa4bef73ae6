/*
 * test_placement.c - placed, range-restricted and over-aligned allocation:
 * analloc_alloc_flags, analloc_alloc_range and analloc_alloc_aligned.
 *
 * Expectations come from the contract in analloc.h, restated here as the
 * rules these tests check:
 *
 *  - analloc_alloc_flags(a, size, 0) is analloc_alloc: the block cache first
 *    (newest block of the order) for orders 0-3, then the lowest address
 *    among the free blocks of the smallest fitting order.
 *  - Placement is by address (analloc.h since commit c2d7d3f, "Placement by
 *    address"): ANALLOC_LOW takes the lowest address where the block fits,
 *    in a free block of any order (not best fit); ANALLOC_HIGH the highest,
 *    carved from the top of its free block (upper halves kept, lower halves
 *    freed).  Neither takes a block from the cache.
 *  - analloc_alloc_range(a, size, align, lo, hi, flags): a block of order k
 *    (size rounded up to page * 2^k) that starts at a multiple of
 *    A = max(align, block size) and lies wholly inside [lo, hi).  Candidate
 *    free blocks are those of order >= log2(A / page) only; among all their
 *    fitting positions the lowest (flags 0 or LOW) or the highest (HIGH)
 *    wins, whatever the candidate's order.  Only the block itself is taken:
 *    the rest of the carved free block stays free.
 *  - COST RULE (documented in analloc.h): because only free blocks at least
 *    A large are searched, a smaller free block that happens to start at an
 *    A-aligned address is NOT found.  E.g. a free single page at a 64 KiB
 *    boundary does not satisfy "one page aligned to 64 KiB" unless some free
 *    block of 64 KiB or more exists; the request returns NULL (or a position
 *    inside such a larger block, even a higher one).
 *    test_aligned_cost_rule shows exactly that.
 *  - If the search fails while the block cache holds blocks, the cache is
 *    drained (merged) and the search repeated.  A failure with an empty
 *    cache changes nothing; bad arguments (bad flags, align not a power of
 *    two, lo >= hi, a window that cannot hold an aligned block, a size or an
 *    alignment no block of the arena has, NULL or never set up allocator)
 *    return NULL and change nothing even while the cache holds blocks.
 *
 * The oracle is the reference model, tests/model.c (the one test_model and
 * the fuzzer use, step by step here).  The free blocks of a fully merging
 * buddy system are the canonical cut of each run of free pages into maximal
 * aligned blocks (no larger than page << depth); the model computes from
 * that, never from the engine, the exact address every request must return,
 * and every step compares the engine's walk (free, cached, used and
 * reserved blocks), analloc_free_bytes, analloc_check and the statistics
 * with it.  Hand-computed addresses are asserted too, and must agree with
 * the model.
 *
 * Fake (never touched) address ranges: 2^40 on 64-bit targets, a PROT_NONE
 * reservation on 32-bit ones, and a few fixed ranges around 16 MiB and
 * 4 GiB (64-bit only) for the DMA examples; their metadata is mmap'd so that
 * it lands far from them.
 *
 * Randomized cases print their seed; ANALLOC_SEED=n replays a run,
 * ANALLOC_OPS=n sets the operations per arena and ANALLOC_QUICK=1 runs fewer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "analloc.h"
#include "layout.h"
#include "testutil.h"
#include "testcheck.h"
#include "model.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

static uint64_t g_seed;
static int g_quick;
static size_t g_ops;

static size_t scaled(size_t n)
{
    if (g_ops)
        return g_ops;
    return g_quick ? (n / 4 ? n / 4 : 1) : n;
}

static unsigned log2u(uintptr_t x)
{
    unsigned k = 0;
    while (x > 1) {
        x >>= 1;
        k++;
    }
    return k;
}

/* ---- fake address ranges (fake_base: testcheck.h) ------------------------ */

/* An allocator over a fake range; its metadata is mmap'd (far from any fixed
 * low address the DMA tests use). */
struct ext {
    struct analloc a;
    void *meta;
    size_t ms, maplen;
};

static void ext_init(struct ext *e, uintptr_t base, size_t total, size_t page)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t sys = pg > 0 ? (size_t)pg : 4096;
    e->ms = analloc_meta_size(total, page);
    assert_true(e->ms > 0);
    e->maplen = (e->ms + sys - 1) / sys * sys;
    e->meta = mmap(NULL, e->maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(e->meta != MAP_FAILED);
    ASSERT_ERR(analloc_init(&e->a, ptr_at(base), total, page, e->meta, e->ms), ANALLOC_OK);
    {
        uintptr_t first = align_up(base, page), end = align_down(base + total, page);
        if (first == 0)
            first = page;
        assert_int_equal(addr(e->a.start), first);
        assert_int_equal(e->a.managed, end - first);
        assert_int_equal(e->a.page, page);
    }
    ASSERT_ERR(analloc_check(&e->a), ANALLOC_OK);
}

static void ext_fini(struct ext *e)
{
    munmap(e->meta, e->maplen);
}

/* ---- the shadow: tests/model.c, and the oracle ----------------------------- */

/* What a page holds, in the model. */
enum { SH_FREE, SH_LIVE, SH_CACHED, SH_RESV };

/* The model of one allocator (tests/model.c), seen as pages 0 .. n - 1 of
 * its arena. */
struct shadow {
    size_t page;
    unsigned shift, depth;
    uintptr_t lo; /* first allocatable pfn */
    size_t n;     /* pages */
    struct model_arena *ma;
};

struct blk {
    uintptr_t at;
    size_t bytes;
    unsigned kind;
};

struct blist {
    struct blk *b;
    size_t n, cap;
};

static void bl_push(struct blist *l, uintptr_t at, size_t bytes, unsigned kind)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->b = realloc(l->b, l->cap * sizeof *l->b);
        assert_non_null(l->b);
    }
    l->b[l->n].at = at;
    l->b[l->n].bytes = bytes;
    l->b[l->n].kind = kind;
    l->n++;
}

static void bl_free(struct blist *l)
{
    free(l->b);
    l->b = NULL;
    l->n = l->cap = 0;
}

static int walk_collect(void *ctx, void *block, size_t bytes, unsigned kind)
{
    bl_push(ctx, addr(block), bytes, kind);
    return 0;
}

/* The largest order of an aligned block inside pfns [lo, lo + n). */
static unsigned max_aligned_order(uintptr_t lo, size_t n)
{
    unsigned best = 0, k;
    for (k = 1; k < 8 * sizeof(uintptr_t) - 1; k++) {
        uintptr_t sz = (uintptr_t)1 << k, first;
        if (sz > n)
            break;
        first = align_up(lo, sz);
        if (first < lo)
            break;
        if (first - lo + sz <= n)
            best = k;
    }
    return best;
}

static void model_failed(void *ctx, const char *msg)
{
    (void)ctx;
    fail_msg("%s", msg);
}

/* The shadow of a, just set up (the cache has ANALLOC_CACHE_DEFAULT slots). */
static void sh_init(struct shadow *sh, analloc_t a)
{
    static const struct model_failure failure = {model_failed, NULL};
    memset(sh, 0, sizeof *sh);
    sh->page = a->page;
    sh->shift = log2u(a->page);
    sh->ma = model_arena_new(a, ANALLOC_CACHE_DEFAULT, &failure);
    sh->lo = model_arena_lo(sh->ma);
    sh->n = model_arena_pages(sh->ma);
    sh->depth = model_arena_depth(sh->ma);
    assert_int_equal(sh->lo, addr(a->start) >> sh->shift);
    assert_int_equal(sh->depth, max_aligned_order(sh->lo, sh->n));
    assert_int_equal(a->depth, sh->depth);
}

static void sh_fini(struct shadow *sh)
{
    model_arena_delete(sh->ma);
    sh->ma = NULL;
}

static uintptr_t sh_addr(const struct shadow *sh, size_t i)
{
    return (uintptr_t)(sh->lo + i) << sh->shift;
}

static uintptr_t sh_start(const struct shadow *sh) { return sh_addr(sh, 0); }
static uintptr_t sh_end(const struct shadow *sh) { return sh_addr(sh, sh->n); }

/* What page i holds (SH_*); *first and *order: its block (a reserved range:
 * its first page, order 0). */
static unsigned sh_page(const struct shadow *sh, size_t i, size_t *first, unsigned *order)
{
    uintptr_t f;
    unsigned k, kind = model_arena_page(sh->ma, sh->lo + i, &f, &k);
    if (first != NULL)
        *first = (size_t)(f - sh->lo);
    if (order != NULL)
        *order = k;
    return kind == ANALLOC_BLOCK_USED     ? SH_LIVE
           : kind == ANALLOC_BLOCK_CACHED ? SH_CACHED
           : kind == ANALLOC_BLOCK_FREE   ? SH_FREE
                                          : SH_RESV;
}

/* Every block of the arena, in address order, as analloc_walk must report
 * it: free blocks are the canonical cut of each run of free pages. */
static void sh_expected(const struct shadow *sh, struct blist *l)
{
    ASSERT_ERR(model_arena_walk(sh->ma, ANALLOC_BLOCK_ALL, walk_collect, l), 0);
}

/* The engine agrees with the shadow: check, free bytes, every block, the
 * counters. */
#define SH_CHECK(a, sh) sh_check_((a), (sh), __FILE__, __LINE__)
static void sh_check_(analloc_t a, const struct shadow *sh, const char *file, int line)
{
    struct blist want = {0}, got = {0};
    size_t free_bytes = model_arena_free_bytes(sh->ma), live = 0, cached = 0, resv = 0, i;
    struct analloc_stats st;
    int rc = analloc_check(a);
    if (rc != ANALLOC_OK) {
        print_error("%s:%d: analloc_check returned %d\n", file, line, rc);
        _fail(file, line);
    }
    if (analloc_free_bytes(a) != free_bytes) {
        print_error("%s:%d: analloc_free_bytes %zu, shadow %zu\n", file, line,
                    analloc_free_bytes(a), free_bytes);
        _fail(file, line);
    }
    sh_expected(sh, &want);
    ASSERT_ERR(analloc_walk(a, ANALLOC_BLOCK_ALL, walk_collect, &got), 0);
    for (i = 0; i < want.n || i < got.n; i++) {
        if (i >= want.n || i >= got.n || want.b[i].at != got.b[i].at ||
            want.b[i].bytes != got.b[i].bytes || want.b[i].kind != got.b[i].kind) {
            uintptr_t base = sh_start(sh);
            if (i < want.n)
                print_error("  expected block %zu: +%#lx, %zu bytes, %s\n", i,
                            (unsigned long)(want.b[i].at - base), want.b[i].bytes,
                            kind_name(want.b[i].kind));
            if (i < got.n)
                print_error("  walk gave block %zu: +%#lx, %zu bytes, %s\n", i,
                            (unsigned long)(got.b[i].at - base), got.b[i].bytes,
                            kind_name(got.b[i].kind));
            print_error("%s:%d: the arena's blocks differ from the shadow's (offsets from the "
                        "arena's start %#lx)\n",
                        file, line, (unsigned long)base);
            bl_free(&want);
            bl_free(&got);
            _fail(file, line);
        }
        live += want.b[i].kind == ANALLOC_BLOCK_USED;
        cached += want.b[i].kind == ANALLOC_BLOCK_CACHED;
        if (want.b[i].kind == ANALLOC_BLOCK_RESERVED)
            resv += want.b[i].bytes;
    }
    bl_free(&want);
    bl_free(&got);
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(a, &st), ANALLOC_OK);
    assert_int_equal(st.live_blocks, live);
    assert_int_equal(st.cached_blocks, cached);
    assert_int_equal(st.reserved_bytes, resv);
    assert_int_equal(st.free_bytes, free_bytes);
}

static void sh_drain(struct shadow *sh) { model_arena_drain(sh->ma); }

/* ---- the checked calls ----------------------------------------------------- */

enum fn { F_RANGE, F_ALIGNED, F_FLAGS, F_ALLOC };

/* Outcomes of the checked calls, for the randomized tests' summary: a block,
 * NULL after a search (drained or not), NULL for bad arguments. */
static size_t g_got_block, g_got_none, g_got_drained, g_got_bad;
#define ORACLE UINTPTR_MAX /* "whatever the oracle says" */

static const char *fn_name(enum fn f)
{
    return f == F_RANGE ? "analloc_alloc_range"
           : f == F_ALIGNED ? "analloc_alloc_aligned"
           : f == F_FLAGS   ? "analloc_alloc_flags"
                            : "analloc_alloc";
}

/*
 * Call `f` and check it against the oracle (and against `want`, a
 * hand-computed address, 0 for NULL, or ORACLE): the address, mem_size, and
 * afterwards every block of the arena.  A NULL with nothing to drain must
 * change nothing at all.
 */
#define EXPECT(a, sh, f, size, align, lo, hi, flags, want) \
    expect_((a), (sh), (f), (size), (align), (lo), (hi), (flags), (want), __FILE__, __LINE__)
static void *expect_(analloc_t a, struct shadow *sh, enum fn f, size_t size, size_t align,
                     uintptr_t lo, uintptr_t hi, unsigned flags, uintptr_t want, const char *file,
                     int line)
{
    uintptr_t pred = 0;
    unsigned k = 0;
    bool drained = false, bad = false;
    struct snap sn;
    void *p;
    const uintptr_t base = sh_start(sh);

    if (f == F_ALIGNED || f == F_FLAGS) {
        lo = 0;
        hi = UINTPTR_MAX;
    }
    if (f == F_FLAGS)
        align = 0;
    enum model_got got = f == F_ALLOC || (f == F_FLAGS && flags == 0)
                             ? model_arena_alloc(sh->ma, size, &pred, &k, &drained)
                             : model_arena_alloc_range(sh->ma, size, align, lo, hi, flags, &pred,
                                                       &k, &drained);
    bad = got == MODEL_BAD;
    if (want != ORACLE && want != pred) {
        print_error("%s:%d: the test expects %#lx (+%#lx), the oracle %#lx (+%#lx)\n", file, line,
                    (unsigned long)want, (unsigned long)(want - base), (unsigned long)pred,
                    (unsigned long)(pred - base));
        _fail(file, line);
    }
    if (pred != 0)
        g_got_block++;
    else if (bad)
        g_got_bad++;
    else if (drained)
        g_got_drained++;
    else
        g_got_none++;
    snap_take(&sn, a);
    switch (f) {
    case F_RANGE: p = analloc_alloc_range(a, size, align, lo, hi, flags); break;
    case F_ALIGNED: p = analloc_alloc_aligned(a, size, align, flags); break;
    case F_FLAGS: p = analloc_alloc_flags(a, size, flags); break;
    default: p = analloc_alloc(a, size); break;
    }
    if (addr(p) != pred) {
        print_error("%s:%d: %s(size %#zx, align %#zx, lo %#lx, hi %#lx, flags %#x) returned %p "
                    "(+%#lx), expected %#lx (+%#lx)\n",
                    file, line, fn_name(f), size, align, (unsigned long)lo, (unsigned long)hi,
                    flags, p, (unsigned long)(addr(p) - base), (unsigned long)pred,
                    (unsigned long)(pred - base));
        snap_free(&sn);
        _fail(file, line);
    }
    if (p == NULL) {
        if (!drained)
            snap_same_(&sn, a, fn_name(f), file, line);
        else if (TI_CACHED_BLOCKS(a) != 0) {
            print_error("%s:%d: a failed request left %zu blocks in the cache\n", file, line,
                        TI_CACHED_BLOCKS(a));
            _fail(file, line);
        }
    } else if (analloc_mem_size(a, p) != (sh->page << k)) {
        print_error("%s:%d: mem_size %zu, expected %zu\n", file, line, analloc_mem_size(a, p),
                    sh->page << k);
        _fail(file, line);
    }
    snap_free(&sn);
    sh_check_(a, sh, file, line);
    return p;
}

#define FREE_OK(a, sh, p) free_ok_((a), (sh), (p), __FILE__, __LINE__)
static void free_ok_(analloc_t a, struct shadow *sh, void *p, const char *file, int line)
{
    int rc = analloc_free(a, p);
    if (rc != ANALLOC_OK) {
        print_error("%s:%d: analloc_free(%p) returned %d\n", file, line, p, rc);
        _fail(file, line);
    }
    model_arena_free(sh->ma, addr(p));
    sh_check_(a, sh, file, line);
}

/* Reserve [at, at + size) in both, expecting what the contract says. */
#define RESERVE(a, sh, at, size) reserve_((a), (sh), (at), (size), __FILE__, __LINE__)
static void reserve_(analloc_t a, struct shadow *sh, uintptr_t at, size_t size, const char *file,
                     int line)
{
    int want = model_arena_reserve(sh->ma, at, size), rc;
    rc = analloc_reserve(a, at, size);
    if (rc != want) {
        print_error("%s:%d: analloc_reserve(+%#lx, %zu) returned %d, expected %d\n", file, line,
                    (unsigned long)(at - sh_start(sh)), size, rc, want);
        _fail(file, line);
    }
    sh_check_(a, sh, file, line);
}

#define RELEASE(a, sh, at, size) release_((a), (sh), (at), (size), __FILE__, __LINE__)
static void release_(analloc_t a, struct shadow *sh, uintptr_t at, size_t size, const char *file,
                     int line)
{
    int want = model_arena_release(sh->ma, at, size);
    if (want != ANALLOC_OK) {
        print_error("%s:%d: test bug: the model refuses release(+%#lx, %zu): %d (%s)\n", file,
                    line, (unsigned long)(at - sh_start(sh)), size, want, analloc_strerror(want));
        _fail(file, line);
    }
    assert_err_(analloc_release(a, at, size), ANALLOC_OK, "analloc_release", file, line);
    sh_check_(a, sh, file, line);
}

#define SET_CACHE(a, sh, n) set_cache_((a), (sh), (n), __FILE__, __LINE__)
static void set_cache_(analloc_t a, struct shadow *sh, unsigned n, const char *file, int line)
{
    assert_err_(analloc_set_cache(a, n), ANALLOC_OK, "analloc_set_cache", file, line);
    model_arena_set_cache(sh->ma, n);
    sh_check_(a, sh, file, line);
}

/* Free every live block, release every reservation, drain: the arena must be
 * whole again (one block of page << depth, and the canonical cut). */
static void sh_free_all(analloc_t a, struct shadow *sh)
{
    uintptr_t ranges[ANALLOC_RESERVE_MAX][2];
    unsigned nr;
    while (model_arena_live(sh->ma) > 0) {
        uintptr_t at = model_arena_live_at(sh->ma, 0, NULL);
        ASSERT_ERR(analloc_free(a, ptr_at(at)), ANALLOC_OK);
        model_arena_free(sh->ma, at);
    }
    while ((nr = model_arena_reserved(sh->ma, ranges, ANALLOC_RESERVE_MAX)) > 0) {
        uintptr_t r0 = ranges[0][0] << sh->shift, r1 = ranges[0][1] << sh->shift;
        ASSERT_ERR(analloc_release(a, r0, (size_t)(r1 - r0)), ANALLOC_OK);
        ASSERT_ERR(model_arena_release(sh->ma, r0, (size_t)(r1 - r0)), ANALLOC_OK);
    }
    analloc_drain(a);
    sh_drain(sh);
    SH_CHECK(a, sh);
    assert_int_equal(analloc_free_bytes(a), a->managed);
    assert_int_equal(analloc_largest_free(a), a->page << a->depth);
}

/* A 16-page arena of 4 KiB pages aligned to 16 pages, every page allocated
 * one by one (lowest first). */
#define PG 4096u
static void full16(struct ext *e, struct shadow *sh, uintptr_t *base, unsigned slots)
{
    *base = fake_base(16 * PG, 16 * PG);
    ext_init(e, *base, 16 * PG, PG);
    sh_init(sh, &e->a);
    SET_CACHE(&e->a, sh, slots);
    for (size_t i = 0; i < 16; i++)
        EXPECT(&e->a, sh, F_ALLOC, PG, 0, 0, 0, 0, *base + i * PG);
}

/* ======================================================================
 * analloc_alloc_flags
 * ====================================================================== */

/* flags 0 is analloc_alloc: the cache first, newest block first; then the
 * lowest address of the smallest order.  A random run on two allocators
 * over the same range gives the same answers. */
static void test_flags_zero_is_alloc(void **state)
{
    struct ext e, f;
    struct shadow sh;
    uintptr_t base;
    void *got[64];
    size_t ngot = 0, i;
    struct rng r;
    (void)state;
    full16(&e, &sh, &base, ANALLOC_CACHE_DEFAULT);
    analloc_t a = &e.a;
    FREE_OK(a, &sh, ptr_at(base + 9 * PG));
    FREE_OK(a, &sh, ptr_at(base + 3 * PG));
    FREE_OK(a, &sh, ptr_at(base + 12 * PG));
    assert_int_equal(TI_CACHED(a, 0), 3);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, 0, base + 12 * PG); /* newest cached */
    EXPECT(a, &sh, F_FLAGS, 0, 0, 0, 0, 0, base + 3 * PG);   /* size 0: one page */
    EXPECT(a, &sh, F_FLAGS, 1, 0, 0, 0, 0, base + 9 * PG);
    EXPECT(a, &sh, F_FLAGS, 1, 0, 0, 0, 0, 0); /* full, empty cache: nothing changes */
    /* Pages 4 and 5 cached: a two-page request drains and takes 4-5. */
    FREE_OK(a, &sh, ptr_at(base + 4 * PG));
    FREE_OK(a, &sh, ptr_at(base + 5 * PG));
    EXPECT(a, &sh, F_FLAGS, 2 * PG, 0, 0, 0, 0, base + 4 * PG);
    assert_int_equal(TI_CACHED_BLOCKS(a), 0);
    EXPECT(a, &sh, F_FLAGS, 17 * PG, 0, 0, 0, 0, 0); /* larger than the arena */
    sh_free_all(a, &sh);

    /* The same random run through alloc_flags(0) on e and analloc_alloc on
     * f (another allocator over the same fake range). */
    ext_init(&f, base, 16 * PG, PG);
    rng_seed(&r, g_seed, "test_flags_zero_is_alloc", 1);
    for (i = 0; i < scaled(400); i++) {
        if (ngot > 0 && (rng_below(&r, 2) || ngot == 64)) {
            size_t j = rng_below(&r, ngot);
            ASSERT_ERR(analloc_free(&f.a, got[j]), ANALLOC_OK);
            FREE_OK(a, &sh, got[j]);
            got[j] = got[--ngot];
        } else {
            size_t sz = rng_below(&r, 6 * PG);
            void *p = EXPECT(a, &sh, F_FLAGS, sz, 0, 0, 0, 0, ORACLE);
            void *q = analloc_alloc(&f.a, sz);
            assert_ptr_equal(p, q);
            if (p)
                got[ngot++] = p;
        }
        assert_int_equal(TI_CACHED_BLOCKS(&f.a), TI_CACHED_BLOCKS(a));
        assert_int_equal(analloc_free_bytes(&f.a), analloc_free_bytes(a));
    }
    for (i = 0; i < ngot; i++)
        ASSERT_ERR(analloc_free(&f.a, got[i]), ANALLOC_OK);
    sh_free_all(a, &sh);
    sh_fini(&sh);
    ext_fini(&f);
    ext_fini(&e);
}

/* ANALLOC_LOW: the lowest address that fits, in a free block of any order;
 * never from the cache (the cache only drains when nothing else fits). */
static void test_flags_low(void **state)
{
    struct ext e;
    struct shadow sh;
    uintptr_t base;
    (void)state;
    full16(&e, &sh, &base, 0);
    analloc_t a = &e.a;
    FREE_OK(a, &sh, ptr_at(base + 5 * PG)); /* buddy system: page 5 */
    SET_CACHE(a, &sh, ANALLOC_CACHE_DEFAULT);
    FREE_OK(a, &sh, ptr_at(base + 1 * PG)); /* cached: page 1 */
    assert_int_equal(TI_CACHED(a, 0), 1);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_LOW, base + 5 * PG); /* not the cached 1 */
    assert_int_equal(TI_CACHED(a, 0), 1);
    assert_int_equal(TI_CACHE(a, 0, 0), (base >> 12) + 1);
    /* Nothing free in the buddy system: LOW drains the cache and takes 1. */
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_LOW, base + 1 * PG);
    assert_int_equal(TI_CACHED_BLOCKS(a), 0);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_LOW, 0); /* full: nothing changes */

    SET_CACHE(a, &sh, 0);
    /* Free 8-11 (an order-2 block) and 14 (order 0). */
    for (unsigned i = 8; i < 12; i++)
        FREE_OK(a, &sh, ptr_at(base + i * PG));
    FREE_OK(a, &sh, ptr_at(base + 14 * PG));
    /* Plain allocation is best fit: the order-0 block at 14. */
    void *p14 = EXPECT(a, &sh, F_ALLOC, PG, 0, 0, 0, 0, base + 14 * PG);
    FREE_OK(a, &sh, p14);
    /* LOW is by address: page 8, carved from the order-2 block (9 and
     * 10-11 stay free), though 14 is a block of the exact size. */
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_LOW, base + 8 * PG);
    EXPECT(a, &sh, F_FLAGS, PG + 1, 0, 0, 0, ANALLOC_LOW, base + 10 * PG);
    EXPECT(a, &sh, F_FLAGS, 0, 0, 0, 0, ANALLOC_LOW, base + 9 * PG);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_LOW, base + 14 * PG);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_LOW, 0);
    sh_free_all(a, &sh);
    /* Whole arena: the lowest of everything. */
    EXPECT(a, &sh, F_FLAGS, 3 * PG, 0, 0, 0, ANALLOC_LOW, base);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_LOW, base + 4 * PG);
    EXPECT(a, &sh, F_FLAGS, 8 * PG, 0, 0, 0, ANALLOC_LOW, base + 8 * PG);
    EXPECT(a, &sh, F_FLAGS, 16 * PG, 0, 0, 0, ANALLOC_LOW, 0);
    sh_free_all(a, &sh);
    sh_fini(&sh);
    ext_fini(&e);
}

/* ANALLOC_HIGH: the highest position that fits, in a free block of any
 * order, carved from its top; the lower halves become free blocks. */
static void test_flags_high(void **state)
{
    struct ext e;
    struct shadow sh;
    uintptr_t base = fake_base(16 * PG, 16 * PG);
    struct analloc_stats st;
    (void)state;
    ext_init(&e, base, 16 * PG, PG);
    analloc_t a = &e.a;
    sh_init(&sh, a);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, base + 15 * PG);
    /* The lower halves are free: 0-7, 8-11, 12-13, 14. */
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(a, &st), ANALLOC_OK);
    for (unsigned k = 0; k < 4; k++)
        assert_int_equal(st.free_blocks_of_order[k], 1);
    assert_int_equal(st.free_blocks_of_order[4], 0);
    assert_int_equal(analloc_free_bytes(a), 15 * PG);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, base + 14 * PG); /* order 0 */
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, base + 13 * PG); /* top of 12-13 */
    EXPECT(a, &sh, F_FLAGS, 2 * PG, 0, 0, 0, ANALLOC_HIGH, base + 10 * PG); /* top of 8-11 */
    EXPECT(a, &sh, F_FLAGS, 8 * PG, 0, 0, 0, ANALLOC_HIGH, base);       /* 0-7 whole */
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, base + 12 * PG);
    EXPECT(a, &sh, F_FLAGS, 2 * PG, 0, 0, 0, ANALLOC_HIGH, base + 8 * PG);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, 0);
    assert_int_equal(analloc_free_bytes(a), 0);
    sh_free_all(a, &sh);

    /* Height wins over block size: a free page at 1 and a free order-2
     * block at 12.  Plain allocation (best fit) takes 1; HIGH takes 15, 14,
     * 13, 12 and only then 1. */
    SET_CACHE(a, &sh, 0);
    for (unsigned i = 0; i < 16; i++)
        EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_LOW, base + i * PG);
    FREE_OK(a, &sh, ptr_at(base + 1 * PG));
    for (unsigned i = 12; i < 16; i++)
        FREE_OK(a, &sh, ptr_at(base + i * PG));
    void *p1 = EXPECT(a, &sh, F_ALLOC, PG, 0, 0, 0, 0, base + 1 * PG);
    FREE_OK(a, &sh, p1);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, base + 15 * PG);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, base + 14 * PG);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, base + 13 * PG);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, base + 12 * PG);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, base + 1 * PG);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, 0);

    /* HIGH skips the cache: 15 cached, the buddy system's 8-9 serve first. */
    FREE_OK(a, &sh, ptr_at(base + 8 * PG));
    FREE_OK(a, &sh, ptr_at(base + 9 * PG));
    SET_CACHE(a, &sh, ANALLOC_CACHE_DEFAULT);
    FREE_OK(a, &sh, ptr_at(base + 15 * PG));
    assert_int_equal(TI_CACHED(a, 0), 1);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, base + 9 * PG);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, base + 8 * PG);
    assert_int_equal(TI_CACHED(a, 0), 1);
    EXPECT(a, &sh, F_FLAGS, PG, 0, 0, 0, ANALLOC_HIGH, base + 15 * PG); /* drained */
    assert_int_equal(TI_CACHED_BLOCKS(a), 0);
    sh_free_all(a, &sh);
    /* A fresh arena: HIGH of the whole arena is the arena. */
    EXPECT(a, &sh, F_FLAGS, 16 * PG, 0, 0, 0, ANALLOC_HIGH, base);
    EXPECT(a, &sh, F_FLAGS, 1, 0, 0, 0, ANALLOC_HIGH, 0);
    sh_free_all(a, &sh);
    EXPECT(a, &sh, F_FLAGS, 4 * PG + 1, 0, 0, 0, ANALLOC_HIGH, base + 8 * PG);
    EXPECT(a, &sh, F_FLAGS, 4 * PG, 0, 0, 0, ANALLOC_HIGH, base + 4 * PG);
    EXPECT(a, &sh, F_FLAGS, 4 * PG, 0, 0, 0, ANALLOC_HIGH, base);
    sh_free_all(a, &sh);
    sh_fini(&sh);
    ext_fini(&e);
}

/* ======================================================================
 * analloc_alloc_range: windows
 * ====================================================================== */

/* Lowest and highest positions inside a window, by address whatever the
 * order of the free block; byte windows that cut pages; windows that stick
 * out of the arena; only the block is taken. */
static void test_range_windows(void **state)
{
    const size_t n = 64;
    uintptr_t base = fake_base(n * PG, n * PG);
    struct ext e;
    struct shadow sh;
    (void)state;
    ext_init(&e, base, n * PG, PG);
    analloc_t a = &e.a;
    sh_init(&sh, a);
#define B(i) (base + (uintptr_t)(i) * PG)
    /* Fresh: one order-6 block.  Page 10 is carved out; 0-7, 8-9, 11, 12-15,
     * 16-31 and 32-63 stay free (the shadow check compares all of them). */
    EXPECT(a, &sh, F_RANGE, PG, 0, B(10), B(20), ANALLOC_LOW, B(10));
    assert_int_equal(analloc_free_bytes(a), (n - 1) * PG);
    /* HIGH in the same window: 19, the top of 16-31 (order 4), though 11
     * is a free page of the exact size.  The carve leaves 16-17, 18, 20-23
     * and 24-31 free. */
    EXPECT(a, &sh, F_RANGE, PG, 0, B(10), B(20), ANALLOC_HIGH, B(19));
    EXPECT(a, &sh, F_RANGE, PG, 0, B(10), B(20), 0, B(11)); /* flags 0: LOW */
    EXPECT(a, &sh, F_RANGE, PG, 0, B(10), B(20), ANALLOC_HIGH, B(18));
    /* Two pages in [13, 20): the first 2-aligned position is 14, inside
     * 12-15 (order 2); 12-13 stays free. */
    EXPECT(a, &sh, F_RANGE, 2 * PG, 0, B(13), B(20), ANALLOC_LOW, B(14));
    /* Byte bounds: [page 12 + 1 byte, page 14) holds page 13 only, free in
     * the order-1 block 12-13. */
    EXPECT(a, &sh, F_RANGE, PG, 0, B(12) + 1, B(14), ANALLOC_LOW, B(13));
    EXPECT(a, &sh, F_RANGE, PG, 0, B(12), B(13) - 1, ANALLOC_HIGH, 0); /* no whole page */
    EXPECT(a, &sh, F_RANGE, PG, 0, B(12), B(13), ANALLOC_HIGH, B(12));
    /* A window that starts below the arena and one that ends above it. */
    EXPECT(a, &sh, F_RANGE, PG, 0, base - 5 * PG, B(1), ANALLOC_HIGH, B(0));
    EXPECT(a, &sh, F_RANGE, 4 * PG, 0, B(60), B(n) + 12345, ANALLOC_HIGH, B(60));
    /* Eight pages from 40 up: 40, inside 32-47 (order 4), though 48-55 (left
     * by the carve of 60) is a free block of the exact size; HIGH below 64:
     * 48-55, above 24-31. */
    EXPECT(a, &sh, F_RANGE, 8 * PG, 0, B(40), UINTPTR_MAX, ANALLOC_LOW, B(40));
    EXPECT(a, &sh, F_RANGE, 8 * PG, 0, 0, B(64), ANALLOC_HIGH, B(48));
    /* Entirely outside: below, above, and a window in the middle that is
     * smaller than the block. */
    EXPECT(a, &sh, F_RANGE, PG, 0, base - 16 * PG, base, ANALLOC_LOW, 0);
    EXPECT(a, &sh, F_RANGE, PG, 0, B(n), B(n) + 16 * PG, ANALLOC_HIGH, 0);
    EXPECT(a, &sh, F_RANGE, 4 * PG, 0, B(32), B(36) - 1, ANALLOC_LOW, 0);
    EXPECT(a, &sh, F_RANGE, 4 * PG, 0, B(33), B(39), ANALLOC_LOW, 0); /* no aligned room */
    /* The free block 32-39 holds an aligned 4-page block in [34, 40): 36. */
    EXPECT(a, &sh, F_RANGE, 4 * PG, 0, B(34), B(40), ANALLOC_LOW, B(36));
    /* Window with room but no free block of order >= 3 there (0-7 was
     * carved): NULL, nothing changes. */
    EXPECT(a, &sh, F_RANGE, 8 * PG, 0, B(0), B(16), ANALLOC_LOW, 0);
    sh_free_all(a, &sh);
#undef B
    sh_fini(&sh);
    ext_fini(&e);
}

/* The free block at the window's edge can be cut by it: LOW takes the part
 * inside if the block fits there, else the next block; HIGH mirrors. */
static void test_range_edge_blocks(void **state)
{
    const size_t n = 64;
    uintptr_t base = fake_base(n * PG, n * PG);
    struct ext e;
    struct shadow sh;
    void *p[4];
    (void)state;
    ext_init(&e, base, n * PG, PG);
    analloc_t a = &e.a;
    sh_init(&sh, a);
    SET_CACHE(a, &sh, 0);
#define B(i) (base + (uintptr_t)(i) * PG)
    /* Make 0-7 (order 3) and 16-23 (order 3) and 32-63 (order 5) free, the
     * rest live. */
    p[0] = EXPECT(a, &sh, F_ALLOC, 32 * PG, 0, 0, 0, 0, B(0));
    FREE_OK(a, &sh, p[0]);
    p[0] = EXPECT(a, &sh, F_RANGE, 8 * PG, 0, B(8), B(16), 0, B(8));
    p[1] = EXPECT(a, &sh, F_RANGE, 8 * PG, 0, B(24), B(32), 0, B(24));
    /* LOW, window [4, 64), two pages: 0-7 is cut to 4-7 and still holds
     * 4-5 (0-3 and 6-7 stay free). */
    p[2] = EXPECT(a, &sh, F_RANGE, 2 * PG, 0, B(4), B(n), ANALLOC_LOW, B(4));
    FREE_OK(a, &sh, p[2]);
    /* LOW, window [6, 64), four pages: 0-7 cut to 6-7 has no room; the next
     * order-3 block 16-23 gives 16-19. */
    p[2] = EXPECT(a, &sh, F_RANGE, 4 * PG, 0, B(6), B(n), ANALLOC_LOW, B(16));
    FREE_OK(a, &sh, p[2]);
    /* HIGH, window [0, 20), four pages: 16-23 cut to 16-19 holds 16-19. */
    p[2] = EXPECT(a, &sh, F_RANGE, 4 * PG, 0, B(0), B(20), ANALLOC_HIGH, B(16));
    FREE_OK(a, &sh, p[2]);
    /* HIGH, window [0, 18): 16-17 too small; 0-7 gives 4-7. */
    p[2] = EXPECT(a, &sh, F_RANGE, 4 * PG, 0, B(0), B(18), ANALLOC_HIGH, B(4));
    FREE_OK(a, &sh, p[2]);
    /* HIGH, window [2, 18): 16-17 too small; 0-7 cut to 2-7 gives 4-7. */
    p[2] = EXPECT(a, &sh, F_RANGE, 4 * PG, 0, B(2), B(18), ANALLOC_HIGH, B(4));
    FREE_OK(a, &sh, p[2]);
    /* HIGH, window [5, 18): no 4-aligned room in 5-7; order 5 (32-63) is
     * outside: NULL. */
    EXPECT(a, &sh, F_RANGE, 4 * PG, 0, B(5), B(18), ANALLOC_HIGH, 0);
    /* LOW, window [20, 40), four pages: 16-23 cut to 20-23 gives 20-23,
     * though 32-35 is in a larger block. */
    p[2] = EXPECT(a, &sh, F_RANGE, 4 * PG, 0, B(20), B(40), ANALLOC_LOW, B(20));
    /* HIGH in a window that cuts one block on both sides: [33, 47) of 32-63,
     * two pages: 44-45. */
    p[3] = EXPECT(a, &sh, F_RANGE, 2 * PG, 0, B(33), B(47), ANALLOC_HIGH, B(44));
    FREE_OK(a, &sh, p[3]);
    p[3] = EXPECT(a, &sh, F_RANGE, 2 * PG, 0, B(33), B(47), ANALLOC_LOW, B(34));
    FREE_OK(a, &sh, p[3]);
    FREE_OK(a, &sh, p[2]);
    FREE_OK(a, &sh, p[1]);
    FREE_OK(a, &sh, p[0]);
    sh_free_all(a, &sh);
#undef B
    sh_fini(&sh);
    ext_fini(&e);
}

/* ======================================================================
 * analloc_alloc_aligned: over-alignment
 * ====================================================================== */

/* One page aligned to 2 MiB in a 16 MiB arena of 4 KiB pages: the address
 * is a multiple of 2 MiB, the block is one page, free bytes drop by one
 * page, the rest of the 2 MiB (and more) stays free. */
static void test_aligned_2mib(void **state)
{
    const size_t total = 16 * MIB;
    uintptr_t base = fake_base(total, 16 * MIB);
    struct ext e;
    struct shadow sh;
    void *p;
    (void)state;
    ext_init(&e, base, total, PG);
    analloc_t a = &e.a;
    sh_init(&sh, a);
    assert_int_equal(a->depth, 12);
    p = EXPECT(a, &sh, F_ALIGNED, PG, 2 * MIB, 0, 0, ANALLOC_LOW, base);
    assert_int_equal(addr(p) % (2 * MIB), 0);
    assert_int_equal(analloc_mem_size(a, p), PG);
    assert_int_equal(analloc_free_bytes(a), total - PG);
    assert_int_equal(analloc_largest_free(a), 8 * MIB);
    /* The lowest 2 MiB position left: the order-9 block at 2 MiB (left by
     * the first carve). */
    EXPECT(a, &sh, F_ALIGNED, PG, 2 * MIB, 0, 0, ANALLOC_LOW, base + 2 * MIB);
    /* No order-9 block left: the order-10 block at 4 MiB; its carve leaves
     * an order-9 block at 6 MiB, the next answer. */
    EXPECT(a, &sh, F_ALIGNED, 1, 2 * MIB, 0, 0, 0, base + 4 * MIB);
    EXPECT(a, &sh, F_ALIGNED, 0, 2 * MIB, 0, 0, ANALLOC_LOW, base + 6 * MIB);
    assert_int_equal(analloc_free_bytes(a), total - 4 * PG);
    /* HIGH: only the order-11 block 8-16 MiB is a candidate; the highest
     * 2 MiB-aligned page in it is at 14 MiB. */
    EXPECT(a, &sh, F_ALIGNED, PG, 2 * MIB, 0, 0, ANALLOC_HIGH, base + 14 * MIB);
    EXPECT(a, &sh, F_ALIGNED, PG, 2 * MIB, 0, 0, ANALLOC_HIGH, base + 12 * MIB);
    /* 2 MiB aligned to 2 MiB is plain natural alignment (order 9): the
     * highest 2 MiB position left is the top of the order-10 block at
     * 8 MiB: 10 MiB; then 8 MiB. */
    EXPECT(a, &sh, F_ALIGNED, 2 * MIB, 2 * MIB, 0, 0, ANALLOC_HIGH, base + 10 * MIB);
    EXPECT(a, &sh, F_ALIGNED, 2 * MIB, 0, 0, 0, ANALLOC_HIGH, base + 8 * MIB);
    /* Alignments at or below the block size change nothing: 8 KiB with
     * align 1, 2, 4096 and 8192 is an order-1 block at the lowest free
     * 8 KiB position: 8 KiB (order 1), then 16 KiB (in the order-2 block
     * 16-32 KiB), 24 KiB (left by it), 32 KiB (order 3). */
    EXPECT(a, &sh, F_ALIGNED, 8 * KIB, 1, 0, 0, ANALLOC_LOW, base + 8 * KIB);
    EXPECT(a, &sh, F_ALIGNED, 8 * KIB, 2, 0, 0, ANALLOC_LOW, base + 16 * KIB);
    EXPECT(a, &sh, F_ALIGNED, 8 * KIB, PG, 0, 0, ANALLOC_LOW, base + 24 * KIB);
    EXPECT(a, &sh, F_ALIGNED, 8 * KIB, 8 * KIB, 0, 0, ANALLOC_LOW, base + 32 * KIB);
    /* Three pages (an order-2 block) aligned to 64 KiB, LOW and HIGH. */
    p = EXPECT(a, &sh, F_ALIGNED, 3 * PG, 64 * KIB, 0, 0, ANALLOC_LOW, base + 64 * KIB);
    assert_int_equal(analloc_mem_size(a, p), 4 * PG);
    EXPECT(a, &sh, F_ALIGNED, 3 * PG, 64 * KIB, 0, 0, ANALLOC_HIGH, ORACLE);
    /* The whole arena's alignment: only an order-12 block would do. */
    EXPECT(a, &sh, F_ALIGNED, PG, 16 * MIB, 0, 0, ANALLOC_LOW, 0);
    sh_free_all(a, &sh);
    EXPECT(a, &sh, F_ALIGNED, PG, 16 * MIB, 0, 0, ANALLOC_HIGH, base);
    /* 4 MiB-aligned, HIGH: 12 MiB, in the order-11 block 8-16 MiB (the
     * order-10 block 4-8 MiB is smaller but lower). */
    EXPECT(a, &sh, F_ALIGNED, PG, 4 * MIB, 0, 0, ANALLOC_HIGH, base + 12 * MIB);
    /* 1 MiB-aligned, HIGH: 15 MiB, in the order-9 block 14-16 MiB left by
     * that carve. */
    EXPECT(a, &sh, F_ALIGNED, 2 * PG, 1 * MIB, 0, 0, ANALLOC_HIGH, base + 15 * MIB);
    sh_free_all(a, &sh);
    /* Inside a window: 1 MiB-aligned pages in [3 MiB + 1, 9 MiB).  LOW
     * carves 4 MiB from the whole arena.  With the window ending one byte
     * before 8 MiB + 4 KiB, 8 MiB does not fit: HIGH takes 7 MiB (in the
     * order-9 block 6-8 MiB); then, up to 9 MiB: 8 MiB, 6, 5, and nothing
     * is left at a 1 MiB boundary in the window. */
    EXPECT(a, &sh, F_RANGE, PG, 1 * MIB, base + 3 * MIB + 1, base + 9 * MIB, ANALLOC_LOW,
           base + 4 * MIB);
    EXPECT(a, &sh, F_RANGE, PG, 1 * MIB, base + 3 * MIB + 1, base + 8 * MIB + PG - 1,
           ANALLOC_HIGH, base + 7 * MIB);
    EXPECT(a, &sh, F_RANGE, PG, 1 * MIB, base + 3 * MIB + 1, base + 9 * MIB, ANALLOC_HIGH,
           base + 8 * MIB);
    EXPECT(a, &sh, F_RANGE, PG, 1 * MIB, base + 3 * MIB + 1, base + 9 * MIB, ANALLOC_HIGH,
           base + 6 * MIB);
    EXPECT(a, &sh, F_RANGE, PG, 1 * MIB, base + 3 * MIB + 1, base + 9 * MIB, ANALLOC_HIGH,
           base + 5 * MIB);
    EXPECT(a, &sh, F_RANGE, PG, 1 * MIB, base + 3 * MIB + 1, base + 9 * MIB, ANALLOC_HIGH, 0);
    EXPECT(a, &sh, F_RANGE, PG, 1 * MIB, base + 3 * MIB + 1, base + 9 * MIB, ANALLOC_LOW, 0);
    sh_free_all(a, &sh);
    sh_fini(&sh);
    ext_fini(&e);
}

/* The cost rule: only free blocks at least `align` large are searched, so a
 * smaller free block that happens to start at an aligned address is not
 * found (finding it would need a scan of the smaller orders). */
static void test_aligned_cost_rule(void **state)
{
    struct ext e;
    struct shadow sh;
    uintptr_t base;
    (void)state;
    full16(&e, &sh, &base, 0);
    analloc_t a = &e.a;
    /* Free: page 0 alone (aligned to 64 KiB, the whole arena's alignment)
     * and the order-2 block 12-15. */
    FREE_OK(a, &sh, ptr_at(base));
    for (unsigned i = 12; i < 16; i++)
        FREE_OK(a, &sh, ptr_at(base + i * PG));
    /* 16 KiB-aligned page: only order >= 2 is searched, so page 12, not the
     * lower, equally aligned page 0. */
    void *p = EXPECT(a, &sh, F_ALIGNED, PG, 16 * KIB, 0, 0, ANALLOC_LOW, base + 12 * PG);
    FREE_OK(a, &sh, p);
    /* 32 KiB and 64 KiB: no free block of order 3 or 4 exists, so NULL
     * (with nothing changed) although page 0 is free and aligned. */
    EXPECT(a, &sh, F_ALIGNED, PG, 32 * KIB, 0, 0, ANALLOC_LOW, 0);
    EXPECT(a, &sh, F_ALIGNED, PG, 64 * KIB, 0, 0, ANALLOC_HIGH, 0);
    EXPECT(a, &sh, F_RANGE, PG, 64 * KIB, base, base + PG, ANALLOC_LOW, 0);
    /* The same page with its natural alignment is found. */
    EXPECT(a, &sh, F_RANGE, PG, 0, base, base + PG, ANALLOC_LOW, base);
    /* With the cache: a cached page at an aligned address is not found
     * either, but a failing search drains it and the merged block serves. */
    SET_CACHE(a, &sh, ANALLOC_CACHE_DEFAULT);
    for (unsigned i = 8; i < 12; i++)
        FREE_OK(a, &sh, ptr_at(base + i * PG)); /* cached pages 8..11, or the last ones */
    assert_int_equal(TI_CACHED(a, 0), TI_CACHE_CAP(a, 0) < 4 ? TI_CACHE_CAP(a, 0) : 4);
    EXPECT(a, &sh, F_ALIGNED, PG, 32 * KIB, 0, 0, ANALLOC_LOW, base + 8 * PG);
    assert_int_equal(TI_CACHED_BLOCKS(a), 0);
    sh_free_all(a, &sh);
    sh_fini(&sh);
    ext_fini(&e);
}

/* ======================================================================
 * DMA zones
 * ====================================================================== */

/* ISA DMA: below 16 MiB.  The arena [12 MiB + 3 pages + 100, 20 MiB - 5
 * pages - 7) straddles 16 MiB; its pages are [3076, 5114) (4 KiB pages),
 * cut as 3076 (order 2), 3080 (3), 3088 (4), 3104 (5), 3136 (6), 3200 (7),
 * 3328 (8), 3584 (9) below the limit and 4096 (9), 4608 (8), 4864 (7),
 * 4992 (6), 5056 (5), 5088 (4), 5104 (3), 5112 (1) above. */
static void test_isa_dma(void **state)
{
    const uintptr_t lim = (uintptr_t)16 << 20;
    const uintptr_t base = ((uintptr_t)12 << 20) + 3 * PG + 100;
    const size_t total = (size_t)((((uintptr_t)20 << 20) - 5 * PG - 7) - base);
    struct ext e;
    struct shadow sh;
    size_t i;
    void *p;
    (void)state;
    ext_init(&e, base, total, PG);
    analloc_t a = &e.a;
    sh_init(&sh, a);
    assert_int_equal(addr(a->start), (uintptr_t)3076 * PG);
    assert_int_equal(a->managed, (5114 - 3076) * PG);
    assert_int_equal(a->depth, 9);
    /* The cut above is the buddy system's: every free merges at once (the
     * block cache would keep a freed 64 KiB block aside). */
    SET_CACHE(a, &sh, 0);
#define PFN(i) ((uintptr_t)(i) * PG)
    /* 64 KiB below 16 MiB, lowest: 3088; highest: 16 MiB - 64 KiB. */
    p = EXPECT(a, &sh, F_RANGE, 64 * KIB, 0, 0, lim, ANALLOC_LOW, PFN(3088));
    FREE_OK(a, &sh, p);
    p = EXPECT(a, &sh, F_RANGE, 64 * KIB, 0, 0, lim, ANALLOC_HIGH, lim - 64 * KIB);
    FREE_OK(a, &sh, p);
    /* Fill the zone with 64 KiB blocks: 63 of them, at 3088 + 16 i. */
    for (i = 0; i < 63; i++)
        EXPECT(a, &sh, F_RANGE, 64 * KIB, 0, 0, lim, 0, PFN(3088 + 16 * i));
    /* Full: NULL, nothing changed, although the memory above is free. */
    EXPECT(a, &sh, F_RANGE, 64 * KIB, 0, 0, lim, ANALLOC_LOW, 0);
    EXPECT(a, &sh, F_RANGE, 64 * KIB, 0, 0, lim, ANALLOC_HIGH, 0);
    assert_true(analloc_free_bytes(a) >= (5114 - 4096) * PG);
    /* A plain allocation still finds the order-4 block above. */
    p = EXPECT(a, &sh, F_ALLOC, 64 * KIB, 0, 0, 0, 0, PFN(5088));
    FREE_OK(a, &sh, p);
    /* Pages 3076..3087 are left below the limit, as an order-2 and an
     * order-3 block: 12 one-page requests, HIGH from 3087 down, then none. */
    for (i = 0; i < 12; i++)
        EXPECT(a, &sh, F_RANGE, PG, 0, 0, lim, ANALLOC_HIGH, PFN(3087 - i));
    EXPECT(a, &sh, F_RANGE, 0, 0, 0, lim, ANALLOC_LOW, 0);
    assert_int_equal(analloc_free_bytes(a), (5114 - 4096) * PG);
    /* The 16 MiB boundary itself: a window [16 MiB - 4 KiB, 16 MiB + 4 KiB)
     * holds only page 4096 (free) and the full page 4095. */
    EXPECT(a, &sh, F_RANGE, PG, 0, lim - PG, lim + PG, ANALLOC_LOW, lim);
    /* Free one 64 KiB block below: it serves the next ISA request. */
    FREE_OK(a, &sh, ptr_at(PFN(3200)));
    EXPECT(a, &sh, F_RANGE, PG, 0, 0, lim, ANALLOC_HIGH, PFN(3215));
    EXPECT(a, &sh, F_RANGE, 32 * KIB, 0, 0, lim, ANALLOC_LOW, PFN(3200));
    EXPECT(a, &sh, F_RANGE, 32 * KIB, 0, 0, lim, ANALLOC_LOW, 0);
    sh_free_all(a, &sh);
#undef PFN
    sh_fini(&sh);
    ext_fini(&e);
}

/* 32-bit DMA: below 4 GiB.  The arena [4 GiB - 6 MiB - 3 pages, 4 GiB +
 * 10 MiB) of 4 KiB pages: pfns [1047037, 1051136). */
static void test_dma32(void **state)
{
    (void)state;
#if !HOST_64
    skip();
#else
    const uintptr_t lim = (uintptr_t)1 << 32;
    const uintptr_t base = lim - 6 * MIB - 3 * PG;
    const size_t total = 16 * MIB + 3 * PG;
    struct ext e;
    struct shadow sh;
    void *p;
    ext_init(&e, base, total, PG);
    analloc_t a = &e.a;
    sh_init(&sh, a);
    assert_int_equal(a->depth, 11);
    /* 2 MiB blocks below 4 GiB: three fit, at 4 GiB - 6, - 2 and - 4 MiB. */
    p = EXPECT(a, &sh, F_RANGE, 2 * MIB, 0, 0, lim, ANALLOC_LOW, lim - 6 * MIB);
    EXPECT(a, &sh, F_RANGE, 2 * MIB, 0, 0, lim, ANALLOC_HIGH, lim - 2 * MIB);
    EXPECT(a, &sh, F_RANGE, 2 * MIB, 0, 0, lim, ANALLOC_LOW, lim - 4 * MIB);
    EXPECT(a, &sh, F_RANGE, 2 * MIB, 0, 0, lim, ANALLOC_LOW, 0);
    EXPECT(a, &sh, F_RANGE, 2 * MIB, 0, 0, lim, ANALLOC_HIGH, 0);
    /* Three single pages remain below: 1047037 (order 0) and 1047038-9
     * (order 1). */
    EXPECT(a, &sh, F_RANGE, PG, 0, 0, lim, ANALLOC_HIGH, base + 2 * PG);
    EXPECT(a, &sh, F_RANGE, PG, 0, 0, lim, ANALLOC_LOW, base);
    EXPECT(a, &sh, F_RANGE, 0, 0, 0, lim, ANALLOC_LOW, base + PG);
    EXPECT(a, &sh, F_RANGE, PG, 0, 0, lim, ANALLOC_LOW, 0);
    assert_int_equal(analloc_free_bytes(a), 10 * MIB); /* all above the limit */
    /* Above 4 GiB: HIGH takes the top, an aligned request the next 1 MiB
     * boundary from the bottom. */
    EXPECT(a, &sh, F_FLAGS, 2 * MIB, 0, 0, 0, ANALLOC_HIGH, lim + 8 * MIB);
    EXPECT(a, &sh, F_RANGE, PG, MIB, lim, UINTPTR_MAX, ANALLOC_LOW, lim);
    EXPECT(a, &sh, F_RANGE, PG, MIB, lim, UINTPTR_MAX, ANALLOC_LOW, lim + MIB);
    /* Free a 2 MiB block below: over-aligned to 2 MiB, a page comes back
     * from it. */
    FREE_OK(a, &sh, p);
    EXPECT(a, &sh, F_RANGE, PG, 2 * MIB, 0, lim, ANALLOC_HIGH, lim - 6 * MIB);
    sh_free_all(a, &sh);
    sh_fini(&sh);
    ext_fini(&e);
#endif
}

/* ======================================================================
 * Odd arenas: with_chunk over real memory, init at odd addresses, holes
 * ====================================================================== */

/* Metadata inside the chunk: windows over the used prefix and the metadata
 * find nothing; an odd start and size; poisoning of a placed block touches
 * that block only. */
static void test_range_with_chunk(void **state)
{
    const size_t page = 64, total = 300 * 64 + 17, used = 77;
    unsigned char *buf = xalloc_aligned(4096, total + 64), *chunk = buf + 5, *m;
    struct analloc A;
    struct shadow sh;
    uintptr_t s0, end;
    size_t i;
    void *p, *q;
    (void)state;
    ASSERT_ERR(analloc_with_chunk(&A, chunk, total, used, page), ANALLOC_OK);
    analloc_t a = &A;
    sh_init(&sh, a);
    SH_CHECK(a, &sh);
    s0 = addr(a->start);
    end = s0 + a->managed;
    assert_true(s0 > addr(chunk) + used);
    /* Windows inside the prefix and the metadata: no room, NULL. */
    EXPECT(a, &sh, F_RANGE, 0, 0, addr(chunk), s0, ANALLOC_LOW, 0);
    EXPECT(a, &sh, F_RANGE, 0, 0, addr(chunk), s0 + page - 1, ANALLOC_HIGH, 0);
    /* A window from the chunk's start finds the first page. */
    EXPECT(a, &sh, F_RANGE, 0, 0, addr(chunk), s0 + page, ANALLOC_HIGH, s0);
    /* A series of placed requests, the oracle's answers. */
    EXPECT(a, &sh, F_RANGE, 3 * page, 0, addr(chunk), end, ANALLOC_HIGH, ORACLE);
    EXPECT(a, &sh, F_ALIGNED, page, 1024, 0, 0, ANALLOC_LOW, ORACLE);
    EXPECT(a, &sh, F_ALIGNED, page, 2048, 0, 0, ANALLOC_HIGH, ORACLE);
    EXPECT(a, &sh, F_RANGE, 5 * page, 512, s0 + 7 * page + 3, end - 9 * page, ANALLOC_LOW,
           ORACLE);
    EXPECT(a, &sh, F_RANGE, 5 * page, 512, s0 + 7 * page + 3, end - 9 * page, ANALLOC_HIGH,
           ORACLE);
    EXPECT(a, &sh, F_FLAGS, 2 * page, 0, 0, 0, ANALLOC_HIGH, ORACLE);
    EXPECT(a, &sh, F_FLAGS, 2 * page, 0, 0, 0, ANALLOC_LOW, ORACLE);
    /* Poisoning: fresh bytes fill exactly the placed block, free bytes exactly
     * the freed one; the rest of the managed memory keeps its pattern. */
    ASSERT_ERR(analloc_set_debug(a, ANALLOC_DEBUG_POISON_FRESH | ANALLOC_DEBUG_POISON_FREE, 0xEE,
                                 0xAB),
               ANALLOC_OK);
    m = ptr_at(s0);
    /* only free pages are ours to scribble on */
    for (i = 0; i < sh.n; i++)
        if (sh_page(&sh, i, NULL, NULL) == SH_FREE)
            memset(m + i * page, 0x5C, page);
    p = EXPECT(a, &sh, F_ALIGNED, 2 * page, 16 * page, 0, 0, ANALLOC_HIGH, ORACLE);
    assert_non_null(p);
    for (i = 0; i < sh.n; i++) {
        uintptr_t at = s0 + i * page;
        unsigned char want = at >= addr(p) && at < addr(p) + 2 * page ? 0xAB : 0x5C;
        if (sh_page(&sh, i, NULL, NULL) == SH_FREE || (at >= addr(p) && at < addr(p) + 2 * page))
            for (size_t b = 0; b < page; b++)
                if (m[i * page + b] != want)
                    FAILF("byte %zu of page %zu is %#x, expected %#x\n", b, i, m[i * page + b],
                          want);
    }
    SET_CACHE(a, &sh, 0);
    FREE_OK(a, &sh, p);
    for (i = 0; i < sh.n; i++) {
        uintptr_t at = s0 + i * page;
        unsigned char want = at >= addr(p) && at < addr(p) + 2 * page ? 0xEE : 0x5C;
        if (sh_page(&sh, i, NULL, NULL) == SH_FREE)
            for (size_t b = 0; b < page; b++)
                if (m[i * page + b] != want)
                    FAILF("byte %zu of page %zu is %#x, expected %#x\n", b, i, m[i * page + b],
                          want);
    }
    ASSERT_ERR(analloc_set_debug(a, 0, 0, 0), ANALLOC_OK);
    /* Fill the arena with over-aligned pages, HIGH, then LOW pages. */
    while ((q = EXPECT(a, &sh, F_ALIGNED, page, 8 * page, 0, 0, ANALLOC_HIGH, ORACLE)) != NULL)
        assert_int_equal(addr(q) % (8 * page), 0);
    while (EXPECT(a, &sh, F_FLAGS, page, 0, 0, 0, ANALLOC_LOW, ORACLE) != NULL)
        ;
    assert_int_equal(analloc_free_bytes(a), 0);
    sh_free_all(a, &sh);
    sh_fini(&sh);
    free(buf);
}

/* External metadata over an odd fake range: a start that is not a page
 * multiple, a size that is not a power of two, 64-byte pages; and the range
 * at address 0, whose page 0 is never handed out. */
static void test_range_init_odd(void **state)
{
    const size_t page = 64;
    uintptr_t base = fake_base(1100 * page, MIB) + 5 * page + 3;
    struct ext e;
    struct shadow sh;
    uintptr_t s0, end;
    (void)state;
    ext_init(&e, base, 1000 * page - 9, page);
    analloc_t a = &e.a;
    sh_init(&sh, a);
    s0 = addr(a->start);
    end = s0 + a->managed;
    assert_int_equal(s0, base - 3 + page);
    /* Pages [6, 1004) from a 64-page boundary: 6 (order 1), 8 (3), 16 (4),
     * 32 (5), 64 (6), 128 (7), 256 (8), 512 (8), 768 (7), 896 (6), 960 (5),
     * 992 (3), 1000 (2).  LOW: 6; HIGH: 1003, then 1002. */
    EXPECT(a, &sh, F_FLAGS, page, 0, 0, 0, ANALLOC_LOW, s0);
    EXPECT(a, &sh, F_FLAGS, page, 0, 0, 0, ANALLOC_HIGH, end - page);
    EXPECT(a, &sh, F_FLAGS, page, 0, 0, 0, ANALLOC_HIGH, end - 2 * page);
    EXPECT(a, &sh, F_ALIGNED, page, 4096, 0, 0, ANALLOC_LOW, align_up(s0, 4096));
    EXPECT(a, &sh, F_ALIGNED, page, 4096, 0, 0, ANALLOC_HIGH, ORACLE);
    EXPECT(a, &sh, F_ALIGNED, 100 * page, 0, 0, 0, ANALLOC_HIGH, ORACLE);
    EXPECT(a, &sh, F_RANGE, 7 * page, 1024, s0 + 100, end - 100, ANALLOC_LOW, ORACLE);
    EXPECT(a, &sh, F_RANGE, 7 * page, 1024, s0 + 100, end - 100, ANALLOC_HIGH, ORACLE);
    EXPECT(a, &sh, F_RANGE, page << a->depth, 0, 0, UINTPTR_MAX, ANALLOC_HIGH, ORACLE);
    EXPECT(a, &sh, F_RANGE, page << a->depth, 0, 0, UINTPTR_MAX, ANALLOC_LOW, ORACLE);
    EXPECT(a, &sh, F_ALIGNED, page, page << a->depth, 0, 0, ANALLOC_LOW, ORACLE);
    sh_free_all(a, &sh);
    sh_fini(&sh);
    ext_fini(&e);

    /* [0, 64 pages + 100): page 0 is excluded; the arena is pages 1..63 */
    {
        struct ext z;
        struct shadow zs;
        ext_init(&z, 0, 64 * PG + 100, PG);
        sh_init(&zs, &z.a);
        assert_int_equal(z.a.depth, 5);
        /* 64 KiB alignment: page 0 would do, but it is not in the arena. */
        EXPECT(&z.a, &zs, F_ALIGNED, PG, 64 * KIB, 0, 0, ANALLOC_LOW, 64 * KIB);
        EXPECT(&z.a, &zs, F_RANGE, PG, 0, 0, PG, ANALLOC_LOW, 0);      /* outside */
        EXPECT(&z.a, &zs, F_RANGE, PG, 0, 0, 2 * PG, ANALLOC_HIGH, PG); /* page 1 */
        EXPECT(&z.a, &zs, F_ALIGNED, PG, 128 * KIB, 0, 0, ANALLOC_LOW, 128 * KIB);
        EXPECT(&z.a, &zs, F_ALIGNED, PG, 128 * KIB, 0, 0, ANALLOC_LOW, 0); /* 0 is not one */
        EXPECT(&z.a, &zs, F_FLAGS, 32 * PG, 0, 0, 0, ANALLOC_HIGH, 0);
        sh_free_all(&z.a, &zs);
        EXPECT(&z.a, &zs, F_FLAGS, 32 * PG, 0, 0, 0, ANALLOC_HIGH, 32 * PG);
        sh_free_all(&z.a, &zs);
        sh_fini(&zs);
        ext_fini(&z);
    }
}

/* Holes made by analloc_reserve: placed requests go around them, windows
 * inside them find nothing, and released holes serve again. */
static void test_range_reserved_holes(void **state)
{
    const size_t n = 256;
    uintptr_t base = fake_base(n * PG, n * PG);
    struct ext e;
    struct shadow sh;
    (void)state;
    ext_init(&e, base, n * PG, PG);
    analloc_t a = &e.a;
    sh_init(&sh, a);
#define B(i) (base + (uintptr_t)(i) * PG)
    RESERVE(a, &sh, B(8), 16 * PG);      /* pages 8-23 */
    RESERVE(a, &sh, B(40) + 5, 1);       /* page 40 */
    RESERVE(a, &sh, B(128), 100 * PG);   /* 128-227 */
    RESERVE(a, &sh, B(250), 6 * PG - 1); /* 250-255 */
    /* 16-page blocks: 0-15 and 16-31 are broken, 32-47 too (40): 48. */
    EXPECT(a, &sh, F_FLAGS, 16 * PG, 0, 0, 0, ANALLOC_LOW, B(48));
    /* HIGH: no order-4 or order-5 block is left; the order-6 block 64-127
     * gives its top, 112 (228-249 holds only order 3 and smaller). */
    EXPECT(a, &sh, F_FLAGS, 16 * PG, 0, 0, 0, ANALLOC_HIGH, B(112));
    /* Over-aligned page at 64 KiB (16 pages): 0, 16 and 32 start no free
     * block of order >= 4 (holes at 8-23 and 40); the carve left 64-95
     * (order 5) and 96-111 (order 4): 64, the lowest. */
    EXPECT(a, &sh, F_ALIGNED, PG, 64 * KIB, 0, 0, ANALLOC_LOW, B(64));
    /* A window inside a hole: room, but nothing free: NULL, no change. */
    EXPECT(a, &sh, F_RANGE, PG, 0, B(130), B(200), ANALLOC_LOW, 0);
    EXPECT(a, &sh, F_RANGE, 0, 0, B(40), B(41), ANALLOC_HIGH, 0);
    /* Around the hole at 40: 32-39 (order 3), 41 (order 0), 42-43 (order
     * 1).  The window [38, 43) holds pages 38, 39, 41 and 42: HIGH 42; LOW
     * from 39: 39; HIGH 41; LOW 38; then nothing. */
    EXPECT(a, &sh, F_RANGE, PG, 0, B(38), B(43), ANALLOC_HIGH, B(42));
    EXPECT(a, &sh, F_RANGE, PG, 0, B(39), B(43), ANALLOC_LOW, B(39));
    EXPECT(a, &sh, F_RANGE, PG, 0, B(38), B(43), ANALLOC_HIGH, B(41));
    EXPECT(a, &sh, F_RANGE, PG, 0, B(38), B(43), ANALLOC_LOW, B(38));
    EXPECT(a, &sh, F_RANGE, PG, 0, B(38), B(43), ANALLOC_LOW, 0);
    /* Between the last two holes: [228, 250) HIGH, 8 pages: 240. */
    EXPECT(a, &sh, F_RANGE, 8 * PG, 0, B(200), B(256), ANALLOC_HIGH, B(240));
    EXPECT(a, &sh, F_RANGE, 8 * PG, 0, B(200), B(256), ANALLOC_HIGH, B(232));
    EXPECT(a, &sh, F_RANGE, 8 * PG, 0, B(200), B(256), ANALLOC_HIGH, 0);
    /* Release the big hole: the window serves now. */
    RELEASE(a, &sh, B(128), 100 * PG);
    EXPECT(a, &sh, F_RANGE, PG, 0, B(130), B(200), ANALLOC_LOW, B(130));
    EXPECT(a, &sh, F_RANGE, 16 * PG, 0, B(130), B(200), ANALLOC_LOW, B(144));
    EXPECT(a, &sh, F_ALIGNED, 32 * PG, 0, 0, 0, ANALLOC_HIGH, ORACLE);
    /* A reservation where a placed block stands is refused. */
    RESERVE(a, &sh, B(130), PG);
    sh_free_all(a, &sh);
#undef B
    sh_fini(&sh);
    ext_fini(&e);
}

/* ======================================================================
 * The block cache and placed requests
 * ====================================================================== */

static void test_range_cache(void **state)
{
    struct ext e;
    struct shadow sh;
    uintptr_t base;
    struct snap sn;
    (void)state;
    full16(&e, &sh, &base, ANALLOC_CACHE_DEFAULT);
    analloc_t a = &e.a;
#define B(i) (base + (uintptr_t)(i) * PG)
    FREE_OK(a, &sh, ptr_at(B(0)));
    FREE_OK(a, &sh, ptr_at(B(1)));
    FREE_OK(a, &sh, ptr_at(B(6)));
    assert_int_equal(TI_CACHED(a, 0), 3);
    /* Nothing in the buddy system: the search fails, the cache drains
     * (0-1 merge), and the search runs again. */
    EXPECT(a, &sh, F_RANGE, PG, 0, B(0), B(16), ANALLOC_HIGH, B(6));
    assert_int_equal(TI_CACHED_BLOCKS(a), 0);
    /* A request that succeeds leaves the cache alone. */
    FREE_OK(a, &sh, ptr_at(B(9)));
    assert_int_equal(TI_CACHED(a, 0), 1);
    EXPECT(a, &sh, F_RANGE, PG, 0, B(0), B(16), ANALLOC_HIGH, B(1));
    assert_int_equal(TI_CACHED(a, 0), 1);
    /* A request that fails even merged: NULL, the cache drained, free
     * bytes the same. */
    size_t fb = analloc_free_bytes(a);
    EXPECT(a, &sh, F_RANGE, 2 * PG, 0, B(0), B(16), ANALLOC_LOW, 0);
    assert_int_equal(TI_CACHED_BLOCKS(a), 0);
    assert_int_equal(analloc_free_bytes(a), fb);
    /* Refusals that need no search change nothing, even with a full cache
     * (geometry: window outside, no aligned room; arguments). */
    FREE_OK(a, &sh, ptr_at(B(10)));
    FREE_OK(a, &sh, ptr_at(B(11)));
    assert_int_equal(TI_CACHED(a, 0), 2);
    snap_take(&sn, a);
    assert_null(analloc_alloc_range(a, PG, 0, B(16), B(20), ANALLOC_LOW));
    assert_null(analloc_alloc_range(a, 2 * PG, 0, B(9), B(11), ANALLOC_LOW));
    assert_null(analloc_alloc_range(a, PG, 3, B(0), B(16), ANALLOC_LOW));
    assert_null(analloc_alloc_range(a, PG, 0, B(4), B(4), ANALLOC_LOW));
    assert_null(analloc_alloc_range(a, PG, 0, 0, UINTPTR_MAX, ANALLOC_LOW | ANALLOC_HIGH));
    assert_null(analloc_alloc_aligned(a, 32 * PG, 0, 0));
    assert_null(analloc_alloc_aligned(a, PG, 32 * PG, 0));
    SNAP_SAME(&sn, a, "refused requests with a full cache");
    snap_free(&sn);
    /* Window [10, 12): two pages fit only merged; drained, then found. */
    EXPECT(a, &sh, F_RANGE, 2 * PG, 0, B(10), B(12), ANALLOC_LOW, B(10));
    sh_free_all(a, &sh);
#undef B
    sh_fini(&sh);
    ext_fini(&e);
}

/* ======================================================================
 * Bad input
 * ====================================================================== */

struct lockctr {
    int depth, max_depth;
    size_t locks, unlocks;
};

static void lk(void *ctx)
{
    struct lockctr *c = ctx;
    c->locks++;
    if (++c->depth > c->max_depth)
        c->max_depth = c->depth;
}

static void unlk(void *ctx)
{
    struct lockctr *c = ctx;
    c->unlocks++;
    c->depth--;
}

/* Each call returns NULL and changes neither the struct nor the metadata,
 * though the cache holds blocks (no drain); the hook is not called; the
 * lock hooks stay balanced. */
#define BAD(a, call)                                                                      \
    do {                                                                                  \
        struct snap sn_;                                                                  \
        snap_take(&sn_, (a));                                                             \
        void *p_ = (call);                                                                \
        if (p_ != NULL)                                                                   \
            FAILF("%s returned %p, expected NULL\n", #call, p_);                          \
        SNAP_SAME(&sn_, (a), #call);                                                      \
        snap_free(&sn_);                                                                  \
        assert_int_equal(hl.calls, 0);                                                    \
        assert_int_equal(lc.locks, lc.unlocks);                                           \
        assert_int_equal(lc.depth, 0);                                                    \
    } while (0)

static void test_bad_input(void **state)
{
    const size_t n = 64;
    uintptr_t base = fake_base(n * PG, n * PG);
    struct ext e;
    struct hook_log hl = {0};
    struct lockctr lc = {0};
    struct analloc z;
    void *p[4];
    const size_t top = ~(SIZE_MAX >> 1); /* the largest power of two */
    unsigned bad_flags[] = {4u, 8u, 0x80000000u, ~0u, ANALLOC_LOW | ANALLOC_HIGH,
                            ANALLOC_LOW | ANALLOC_HIGH | 4u, ANALLOC_HIGH | 4u, ANALLOC_LOW | 16u};
    size_t bad_align[] = {3, 5, 6, 12, PG - 1, PG + 1, 3 * PG, 24576, SIZE_MAX, top + 1,
                          (size_t)0x55555555u};
    size_t i;
    (void)state;
    ext_init(&e, base, n * PG, PG);
    analloc_t a = &e.a;
#define B(i) (base + (uintptr_t)(i) * PG)
    analloc_set_error_hook(a, hook_record, &hl);
    ASSERT_ERR(analloc_set_lock(a, lk, unlk, &lc), ANALLOC_OK);
    /* Some state: live blocks, and blocks in the cache. */
    p[0] = analloc_alloc(a, PG);
    p[1] = analloc_alloc(a, PG);
    p[2] = analloc_alloc(a, 4 * PG);
    p[3] = analloc_alloc(a, 16 * PG);
    assert_ptr_equal(p[0], ptr_at(B(0)));
    assert_ptr_equal(p[3], ptr_at(B(16)));
    ASSERT_ERR(analloc_free(a, p[1]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(a, p[2]), ANALLOC_OK);
    assert_true(TI_CACHED_BLOCKS(a) >= 2); /* and what the allocations took beyond these */
    assert_true(lc.locks > 0);

    for (i = 0; i < sizeof bad_flags / sizeof *bad_flags; i++) {
        BAD(a, analloc_alloc_flags(a, PG, bad_flags[i]));
        BAD(a, analloc_alloc_range(a, PG, 0, B(0), B(n), bad_flags[i]));
        BAD(a, analloc_alloc_aligned(a, PG, 0, bad_flags[i]));
        BAD(a, analloc_alloc_aligned(a, PG, 16 * PG, bad_flags[i]));
    }
    for (i = 0; i < sizeof bad_align / sizeof *bad_align; i++) {
        BAD(a, analloc_alloc_range(a, PG, bad_align[i], B(0), B(n), ANALLOC_LOW));
        BAD(a, analloc_alloc_range(a, 0, bad_align[i], 0, UINTPTR_MAX, ANALLOC_HIGH));
        BAD(a, analloc_alloc_aligned(a, PG, bad_align[i], 0));
    }
    /* lo >= hi */
    BAD(a, analloc_alloc_range(a, PG, 0, B(4), B(4), ANALLOC_LOW));
    BAD(a, analloc_alloc_range(a, PG, 0, B(8), B(4), ANALLOC_HIGH));
    BAD(a, analloc_alloc_range(a, PG, 0, 0, 0, 0));
    BAD(a, analloc_alloc_range(a, PG, 0, UINTPTR_MAX, UINTPTR_MAX, 0));
    BAD(a, analloc_alloc_range(a, PG, 0, UINTPTR_MAX, 0, ANALLOC_LOW));
    /* Windows without room: outside the arena, inside one page, smaller
     * than the block, or with no aligned position for it. */
    BAD(a, analloc_alloc_range(a, PG, 0, 0, base, ANALLOC_LOW));
    BAD(a, analloc_alloc_range(a, PG, 0, B(n), UINTPTR_MAX, ANALLOC_HIGH));
    BAD(a, analloc_alloc_range(a, PG, 0, UINTPTR_MAX - 1, UINTPTR_MAX, ANALLOC_LOW));
    BAD(a, analloc_alloc_range(a, PG, 0, B(40) + 1, B(41) + 100, ANALLOC_LOW));
    BAD(a, analloc_alloc_range(a, 0, 0, B(40) + 1, B(41) - 1, ANALLOC_HIGH));
    BAD(a, analloc_alloc_range(a, 4 * PG, 0, B(40), B(44) - 1, ANALLOC_LOW));
    BAD(a, analloc_alloc_range(a, 4 * PG, 0, B(41), B(47), ANALLOC_HIGH));
    BAD(a, analloc_alloc_range(a, PG, 16 * PG, B(33), B(48), ANALLOC_LOW));
    BAD(a, analloc_alloc_range(a, PG, 32 * PG, B(33), B(n), ANALLOC_HIGH));
    BAD(a, analloc_alloc_range(a, PG, top, 0, UINTPTR_MAX, ANALLOC_LOW));
    /* Sizes and alignments no block of the arena has. */
    BAD(a, analloc_alloc_range(a, n * PG + 1, 0, 0, UINTPTR_MAX, ANALLOC_LOW));
    BAD(a, analloc_alloc_range(a, SIZE_MAX, 0, 0, UINTPTR_MAX, ANALLOC_HIGH));
    BAD(a, analloc_alloc_range(a, top, 0, 0, UINTPTR_MAX, 0));
    BAD(a, analloc_alloc_aligned(a, PG, 2 * n * PG, ANALLOC_LOW));
    BAD(a, analloc_alloc_aligned(a, PG, top, ANALLOC_HIGH));
    BAD(a, analloc_alloc_aligned(a, 2 * n * PG, 0, 0));
    BAD(a, analloc_alloc_aligned(a, SIZE_MAX, 0, ANALLOC_LOW));
    BAD(a, analloc_alloc_flags(a, n * PG + 1, 0));
    BAD(a, analloc_alloc_flags(a, n * PG + 1, ANALLOC_LOW));
    BAD(a, analloc_alloc_flags(a, SIZE_MAX, ANALLOC_HIGH));
    /* NULL and never set up allocators (zeroed, pattern-filled). */
    BAD(a, analloc_alloc_range(NULL, PG, 0, 0, UINTPTR_MAX, 0));
    BAD(a, analloc_alloc_aligned(NULL, PG, 2 * PG, ANALLOC_HIGH));
    BAD(a, analloc_alloc_flags(NULL, PG, 0));
    BAD(a, analloc_alloc_flags(NULL, PG, ANALLOC_LOW));
    BAD(a, analloc_alloc_flags(NULL, PG, ANALLOC_HIGH));
    for (int fill = 0; fill < 2; fill++) {
        struct analloc zz;
        memset(&z, fill ? 0xA5 : 0, sizeof z);
        memcpy(&zz, &z, sizeof z);
        assert_null(analloc_alloc_range(&z, PG, 0, 0, UINTPTR_MAX, 0));
        assert_null(analloc_alloc_range(&z, PG, 0, 0, UINTPTR_MAX, ANALLOC_HIGH));
        assert_null(analloc_alloc_aligned(&z, PG, 2 * PG, ANALLOC_LOW));
        assert_null(analloc_alloc_flags(&z, PG, 0));
        assert_null(analloc_alloc_flags(&z, PG, ANALLOC_LOW));
        assert_null(analloc_alloc_flags(&z, PG, ANALLOC_HIGH));
        assert_memory_equal(&z, &zz, sizeof z);
    }
    /* And the allocator still works, with placed calls taking the lock. */
    {
        size_t before = lc.locks;
        void *q = analloc_alloc_range(a, PG, 0, B(32), B(33), ANALLOC_HIGH);
        assert_ptr_equal(q, ptr_at(B(32)));
        assert_true(lc.locks > before);
        assert_int_equal(lc.locks, lc.unlocks);
        assert_int_equal(lc.max_depth, 1);
        ASSERT_ERR(analloc_free(a, q), ANALLOC_OK);
    }
    assert_int_equal(hl.calls, 0);
    ASSERT_ERR(analloc_set_lock(a, NULL, NULL, NULL), ANALLOC_OK);
    ASSERT_ERR(analloc_free(a, p[0]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(a, p[3]), ANALLOC_OK);
    analloc_drain(a);
    assert_int_equal(analloc_largest_free(a), n * PG);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
#undef B
    ext_fini(&e);
}

/* ======================================================================
 * Randomized, against the oracle
 * ====================================================================== */

struct rcfg {
    const char *name;
    int kind; /* 0 fake init, 1 with_chunk, 2 init at address 0 */
    size_t page, n_total, off, used;
};

static size_t rnd_pow2_upto(struct rng *r, size_t max)
{
    unsigned k = log2u(max);
    return (size_t)1 << rng_below(r, (size_t)k + 1);
}

static void random_run(const struct rcfg *c, struct rng *r, size_t ops, bool cache)
{
    struct ext e;
    struct analloc A;
    struct shadow sh;
    unsigned char *buf = NULL;
    analloc_t a;
    size_t op;
    if (c->kind == 1) {
        buf = xalloc_replayable(c->off + c->n_total + 64);
        ASSERT_ERR(analloc_with_chunk(&A, buf + c->off, c->n_total, c->used, c->page), ANALLOC_OK);
        a = &A;
    } else {
        uintptr_t b = c->kind == 2 ? 0 : fake_base(c->n_total + 2 * MIB, MIB) + c->off;
        ext_init(&e, b, c->n_total, c->page);
        a = &e.a;
    }
    sh_init(&sh, a);
    if (!cache)
        SET_CACHE(a, &sh, 0);
    const uintptr_t s0 = sh_start(&sh), s1 = sh_end(&sh);
    const size_t page = sh.page, big = page << sh.depth;
    const uintptr_t wlo = s0 > 8 * page ? s0 - 8 * page : 0;
    const uintptr_t span = (s1 - wlo) + 8 * page;
    for (op = 0; op < ops; op++) {
        size_t x = rng_below(r, 100);
        if (x < 45) {
            enum fn f = (enum fn)rng_below(r, 3); /* range, aligned, flags */
            size_t size, align;
            uintptr_t lo = 0, hi = UINTPTR_MAX;
            unsigned flags;
            size_t y = rng_below(r, 100);
            if (y < 50)
                size = rng_below(r, 4 * page + 1);
            else if (y < 97)
                size = rng_below(r, rnd_pow2_upto(r, big)) + 1;
            else
                size = y == 97 ? big + 1 : y == 98 ? big : SIZE_MAX;
            y = rng_below(r, 100);
            if (y < 30)
                align = 0;
            else if (y < 45)
                align = rnd_pow2_upto(r, page);
            else if (y < 95)
                align = rnd_pow2_upto(r, big);
            else if (y < 97)
                align = 2 * big;
            else
                align = 3 * page << rng_below(r, 3);
            y = rng_below(r, 100);
            flags = y < 20 ? 0 : y < 58 ? ANALLOC_LOW : y < 96 ? ANALLOC_HIGH
                    : y < 98 ? ANALLOC_LOW | ANALLOC_HIGH : 4u;
            if (f == F_RANGE && rng_below(r, 4) != 0) {
                lo = wlo + rng_below(r, span);
                hi = lo + rng_below(r, span);
                if (rng_below(r, 2)) {
                    lo = align_down(lo, page);
                    hi = align_down(hi, page);
                }
                if (rng_below(r, 20) == 0)
                    hi = lo - rng_below(r, 2); /* lo >= hi */
            }
            expect_(a, &sh, f, size, align, lo, hi, flags, ORACLE, __FILE__, __LINE__);
        } else if (x < 52) {
            size_t size = rng_below(r, 3 * page);
            expect_(a, &sh, F_ALLOC, size, 0, 0, 0, 0, ORACLE, __FILE__, __LINE__);
        } else if (x < 88) {
            /* free a random live block */
            size_t cnt = model_arena_live(sh.ma);
            if (cnt == 0)
                continue;
            uintptr_t at = model_arena_live_at(sh.ma, rng_below(r, cnt), NULL);
            free_ok_(a, &sh, ptr_at(at), __FILE__, __LINE__);
        } else if (x < 94) {
            uintptr_t ranges[ANALLOC_RESERVE_MAX][2];
            if (model_arena_reserved(sh.ma, ranges, ANALLOC_RESERVE_MAX) >= 8)
                continue;
            size_t i0 = rng_below(r, sh.n), len = 1 + rng_below(r, 8);
            if (i0 + len > sh.n)
                len = sh.n - i0;
            reserve_(a, &sh, sh_addr(&sh, i0) + rng_below(r, page), (len - 1) * page + 1,
                     __FILE__, __LINE__);
        } else if (x < 98) {
            /* release the reserved range at or after a random page (or the
             * first one, wrapping around) */
            uintptr_t ranges[ANALLOC_RESERVE_MAX][2];
            size_t pick = rng_below(r, sh.n);
            unsigned n = model_arena_reserved(sh.ma, ranges, ANALLOC_RESERVE_MAX), j = 0;
            if (n == 0)
                continue;
            while (j < n && ranges[j][1] - sh.lo <= pick)
                j++;
            if (j == n)
                j = 0;
            release_(a, &sh, ranges[j][0] << sh.shift, (size_t)(ranges[j][1] - ranges[j][0]) * page,
                     __FILE__, __LINE__);
        } else if (cache) {
            if (rng_below(r, 2)) {
                analloc_drain(a);
                sh_drain(&sh);
                SH_CHECK(a, &sh);
            } else {
                unsigned slots = (unsigned)rng_below(r, ANALLOC_CACHE_MAX + 1);
                SET_CACHE(a, &sh, slots);
            }
        }
    }
    sh_free_all(a, &sh);
    sh_fini(&sh);
    if (buf)
        free(buf);
    else
        ext_fini(&e);
}

static const struct rcfg g_cfgs[] = {
    {"fake, 4 KiB pages, 256 pages", 0, 4096, 256 * 4096, 0, 0},
    {"fake, odd start and size, 64-byte pages", 0, 64, 1000 * 64 - 9, 5 * 64 + 3, 0},
    {"with_chunk, 32-byte pages, odd start", 1, 32, 600 * 32 + 11, 7, 50},
    {"init at address 0, 4 KiB pages", 2, 4096, 64 * 4096 + 100, 0, 0},
    {"fake, 1-byte pages, odd", 0, 1, 777, 3, 0},
};

static void random_tests(const char *name, bool cache, uint64_t salt)
{
    struct rng r;
    rng_seed(&r, g_seed, name, salt);
    for (size_t c = 0; c < sizeof g_cfgs / sizeof *g_cfgs; c++) {
        g_got_block = g_got_none = g_got_drained = g_got_bad = 0;
        random_run(&g_cfgs[c], &r, scaled(4000), cache);
        printf("[ %s ] %s: %zu blocks, %zu NULL after a search (%zu after a drain), %zu bad "
               "arguments\n",
               name, g_cfgs[c].name, g_got_block, g_got_none + g_got_drained, g_got_drained,
               g_got_bad);
        fflush(stdout);
        assert_true(g_got_block > 0 && g_got_none + g_got_drained > 0 && g_got_bad > 0);
        if (cache && !g_quick)
            assert_true(g_got_drained > 0);
    }
}

/* Without the cache (every free merges at once) the oracle predicts every
 * placed request exactly. */
static void test_random_no_cache(void **state)
{
    (void)state;
    random_tests("test_random_no_cache", false, 2);
}

/* With the cache modelled too (LIFO per order, eviction of the oldest,
 * drains on failure and on reservations that touch a cached block). */
static void test_random_with_cache(void **state)
{
    (void)state;
    random_tests("test_random_with_cache", true, 3);
}

int main(void)
{
    const char *o = getenv("ANALLOC_OPS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags_zero_is_alloc),
        cmocka_unit_test(test_flags_low),
        cmocka_unit_test(test_flags_high),
        cmocka_unit_test(test_range_windows),
        cmocka_unit_test(test_range_edge_blocks),
        cmocka_unit_test(test_aligned_2mib),
        cmocka_unit_test(test_aligned_cost_rule),
        cmocka_unit_test(test_isa_dma),
        cmocka_unit_test(test_dma32),
        cmocka_unit_test(test_range_with_chunk),
        cmocka_unit_test(test_range_init_odd),
        cmocka_unit_test(test_range_reserved_holes),
        cmocka_unit_test(test_range_cache),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_random_no_cache),
        cmocka_unit_test(test_random_with_cache),
    };
    g_seed = seed_from_env();
    g_quick = quick_from_env();
    g_ops = o && *o ? (size_t)strtoull(o, NULL, 0) : 0;
    printf("test_placement: seed %llu (replay with ANALLOC_SEED=%llu)%s\n",
           (unsigned long long)g_seed, (unsigned long long)g_seed, g_quick ? ", quick" : "");
    fflush(stdout);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
