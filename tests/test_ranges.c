/*
 * test_ranges.c - reserved page ranges (analloc_reserve, analloc_release),
 * setup over a memory map with holes, growing an arena, analloc_stats,
 * analloc_frag_index, analloc_walk, and analloc_check against a corrupted
 * table of reserved ranges.
 *
 * Expectations come from the contract in analloc.h, from numbers worked out
 * by hand in each test, and from the reference model, tests/model.c (the
 * one test_model and the fuzzer use, step by step here: live, cached and
 * reserved blocks, the block cache's lists, and the free blocks a fully
 * coalescing buddy system holds, the maximal aligned runs of free pages).
 * The model never asks the engine.
 *
 * Arenas over fake addresses are never touched (see fake_base); arenas over
 * real memory fill holes with canaries and blocks with patterns.
 *
 * Randomized cases print their seed; ANALLOC_SEED=n replays a run, and
 * ANALLOC_QUICK=1 runs fewer operations (the sanitizer build sets it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "analloc.h"
#include "layout.h"
#include "testutil.h"
#include "testcheck.h"
#include "model.h"

#define CO ANALLOC_CACHE_ORDERS
#define RMAX ANALLOC_RESERVE_MAX
#define ANY_RC 12345 /* "whatever the model says" */

static uint64_t g_seed;
static int g_quick;

static size_t scaled(size_t n)
{
    return g_quick ? (n / 4 ? n / 4 : 1) : n;
}

/* Failures inside helpers report the caller's file and line. */
#define REQUIRE(cond, ...)                                                    \
    do {                                                                      \
        if (!(cond)) {                                                        \
            print_error("%s:%d: check failed: %s\n  ", file, line, #cond);    \
            print_error(__VA_ARGS__);                                         \
            print_error("\n");                                                \
            _fail(file, line);                                                \
        }                                                                     \
    } while (0)

#define CHECK_OK(a) ASSERT_ERR(analloc_check(a), ANALLOC_OK)

/* ---- the reference model: tests/model.c --------------------------------- */

/* The model of one allocator (tests/model.c), and its geometry. */
struct model {
    uintptr_t lo, hi; /* absolute page numbers */
    unsigned shift, depth;
    size_t page, n;
    struct model_arena *ma;
};

static void model_failed(void *ctx, const char *msg)
{
    (void)ctx;
    fail_msg("%s", msg);
}

/* The largest k such that a block of 2^k pages aligned to its size lies
 * inside [lo, hi). */
static unsigned m_depth(uintptr_t lo, uintptr_t hi)
{
    unsigned k = 0;
    while (k + 2u < 8u * sizeof(uintptr_t)) {
        uintptr_t size = (uintptr_t)1 << (k + 1u), first = align_up(lo, size);
        if (first < lo || first + size < first || first + size > hi)
            break;
        k++;
    }
    return k;
}

/* The model of a, just set up (the cache has ANALLOC_CACHE_DEFAULT slots). */
/* The block cache's slots in these tests: seven per list, so that a list
 * that runs empty takes one block (half a list of eight or more),
 * and the layouts the tests spell out are those of single allocations. */
#define TEST_CACHE_SLOTS 7u

static void m_init(struct model *m, analloc_t a)
{
    static const struct model_failure failure = {model_failed, NULL};
    memset(m, 0, sizeof *m);
    m->ma = model_arena_new(a, TEST_CACHE_SLOTS, &failure);
    m->page = a->page;
    while (((size_t)1 << m->shift) < m->page)
        m->shift++;
    m->lo = model_arena_lo(m->ma);
    m->n = model_arena_pages(m->ma);
    m->hi = m->lo + m->n;
    m->depth = model_arena_depth(m->ma);
    assert_int_equal(m->lo, addr(a->start) >> m->shift);
    assert_int_equal(m->depth, m_depth(m->lo, m->hi));
}

static void m_fini(struct model *m)
{
    model_arena_delete(m->ma);
    m->ma = NULL;
}

/* What absolute page p holds: ANALLOC_BLOCK_FREE (free, not cached), _USED,
 * _CACHED or _RESERVED; *first: the first page of its block. */
static unsigned m_page(const struct model *m, uintptr_t p, uintptr_t *first)
{
    return model_arena_page(m->ma, p, first, NULL);
}

/* The i-th live block in address order: its first page. */
static uintptr_t m_live(const struct model *m, size_t i)
{
    return model_arena_live_at(m->ma, i, NULL) >> m->shift;
}

/* The reserved ranges: maximal runs of reserved pages.  Returns the count;
 * stores at most max of them. */
static unsigned m_runs(const struct model *m, uintptr_t (*runs)[2], unsigned max)
{
    return model_arena_reserved(m->ma, runs, max);
}

static void m_drain(struct model *m) { model_arena_drain(m->ma); }

/* The expected statistics (size and meta_bytes aside). */
static void m_stats(const struct model *m, struct analloc_stats *st)
{
    model_arena_stats(m->ma, st);
}

/* ---- walking ------------------------------------------------------------- */

struct went {
    uintptr_t p;
    size_t bytes;
    unsigned kind;
};

struct wlist {
    struct went *e;
    size_t n, cap;
    size_t calls;
    size_t stop_at; /* 1-based call that returns stop_val; 0: never */
    int stop_val;
};

static void wl_add(struct wlist *w, uintptr_t p, size_t bytes, unsigned kind)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? 2u * w->cap : 64u;
        w->e = realloc(w->e, w->cap * sizeof *w->e);
        assert_non_null(w->e);
    }
    w->e[w->n].p = p;
    w->e[w->n].bytes = bytes;
    w->e[w->n].kind = kind;
    w->n++;
}

static void wl_fini(struct wlist *w)
{
    free(w->e);
    memset(w, 0, sizeof *w);
}

static int walk_collect(void *ctx, void *block, size_t bytes, unsigned kind)
{
    struct wlist *w = ctx;
    w->calls++;
    wl_add(w, addr(block), bytes, kind);
    return w->stop_at != 0 && w->calls == w->stop_at ? w->stop_val : 0;
}

static int walk_add(void *ctx, void *block, size_t bytes, unsigned kind)
{
    wl_add(ctx, addr(block), bytes, kind);
    return 0;
}

/* What analloc_walk must report, from the model. */
static void m_walk(const struct model *m, unsigned kinds, struct wlist *w)
{
    ASSERT_ERR(model_arena_walk(m->ma, kinds, walk_add, w), 0);
}

#define WL_SAME(got, want) wl_same_((got), (want), __FILE__, __LINE__)
static void wl_same_(const struct wlist *got, const struct wlist *want, const char *file, int line)
{
    size_t n = got->n < want->n ? got->n : want->n;
    for (size_t i = 0; i < n; i++)
        REQUIRE(got->e[i].p == want->e[i].p && got->e[i].bytes == want->e[i].bytes &&
                    got->e[i].kind == want->e[i].kind,
                "walk entry %zu: %#llx %zu B %s, expected %#llx %zu B %s", i,
                (unsigned long long)got->e[i].p, got->e[i].bytes, kind_name(got->e[i].kind),
                (unsigned long long)want->e[i].p, want->e[i].bytes, kind_name(want->e[i].kind));
    REQUIRE(got->n == want->n, "walk gave %zu entries, expected %zu", got->n, want->n);
}

/* ---- the harness: an allocator and its model ---------------------------- */

struct h {
    struct analloc a;
    unsigned char *meta; /* external metadata (analloc_init) */
    size_t meta_size;
    unsigned char *mem;  /* the chunk (analloc_with_chunk) */
    size_t mem_len;
    struct model m;
    struct checked_hook hook;
    int walk_every; /* compare the walk on every verify */
};

static void h_model(struct h *h)
{
    ASSERT_ERR(analloc_set_cache(&h->a, TEST_CACHE_SLOTS), ANALLOC_OK);
    unsigned shift = 0;
    while (((size_t)1 << shift) < h->a.page)
        shift++;
    m_init(&h->m, &h->a);
    assert_int_equal(h->m.shift, shift);
    assert_int_equal(h->m.depth, h->a.depth);
    h->hook.magic = HOOK_MAGIC;
    analloc_set_error_hook(&h->a, checked_hook_record, &h->hook);
    h->walk_every = 1;
}

/* Setup with external metadata over [base, base + total) (never touched). */
static void h_init_fake(struct h *h, uintptr_t base, size_t total, size_t page)
{
    memset(h, 0, sizeof *h);
    h->meta_size = analloc_meta_size(total, page);
    assert_true(h->meta_size > 0);
    h->meta = malloc(h->meta_size);
    assert_non_null(h->meta);
    ASSERT_ERR(analloc_init(&h->a, ptr_at(base), total, page, h->meta, h->meta_size), ANALLOC_OK);
    h_model(h);
}

/* Setup over real memory: a chunk of total bytes at an offset of `skew` from
 * a boundary of `align` bytes, the first `used` bytes the caller's. */
static void h_init_chunk(struct h *h, size_t align, size_t skew, size_t total, size_t used,
                         size_t page)
{
    memset(h, 0, sizeof *h);
    h->mem_len = total + skew;
    h->mem = xalloc_aligned(align, h->mem_len);
    memset(h->mem, 0, h->mem_len);
    ASSERT_ERR(analloc_with_chunk(&h->a, h->mem + skew, total, used, page), ANALLOC_OK);
    h_model(h);
}

static void h_fini(struct h *h)
{
    m_fini(&h->m);
    free(h->meta);
    free(h->mem);
    h->meta = h->mem = NULL;
}

/* Address of page i of the arena (relative to its first page). */
static uintptr_t PG(const struct h *h, size_t i)
{
    return (h->m.lo + i) << h->m.shift;
}

/* Absolute page number of arena page i. */
static uintptr_t RP(const struct h *h, size_t i)
{
    return h->m.lo + i;
}

/* Everything the engine says against the model. */
#define VERIFY(h) h_verify_((h), __FILE__, __LINE__)
static void h_verify_(struct h *h, const char *file, int line)
{
    analloc_t a = &h->a;
    struct model *m = &h->m;
    int rc = analloc_check(a);
    REQUIRE(rc == 0, "analloc_check returned %d (%s)", rc, analloc_strerror(rc));

    /* statistics, field by field */
    struct analloc_stats st;
    memset(&st, 0xA5, sizeof st);
    st.size = sizeof st;
    rc = analloc_stats(a, &st);
    REQUIRE(rc == 0, "analloc_stats returned %d", rc);
    struct analloc_stats ms;
    m_stats(m, &ms);
    size_t resp = ms.reserved_bytes >> m->shift;
    REQUIRE(st.size == sizeof st, "size %zu", st.size);
    REQUIRE(st.page == m->page, "page %zu", st.page);
    REQUIRE(st.managed_bytes == m->n << m->shift, "managed %zu", st.managed_bytes);
    REQUIRE(ms.managed_bytes == m->n << m->shift, "the model's managed %zu", ms.managed_bytes);
    REQUIRE(st.free_bytes == ms.free_bytes, "free_bytes %zu, expected %zu", st.free_bytes,
            ms.free_bytes);
    REQUIRE(analloc_free_bytes(a) == st.free_bytes, "analloc_free_bytes %zu",
            analloc_free_bytes(a));
    REQUIRE(st.used_bytes == ms.used_bytes, "used_bytes %zu, expected %zu", st.used_bytes,
            ms.used_bytes);
    REQUIRE(st.reserved_bytes == ms.reserved_bytes, "reserved_bytes %zu, expected %zu",
            st.reserved_bytes, ms.reserved_bytes);
    REQUIRE(st.cached_bytes == ms.cached_bytes, "cached_bytes %zu, expected %zu", st.cached_bytes,
            ms.cached_bytes);
    REQUIRE(st.free_bytes + st.used_bytes + st.reserved_bytes == st.managed_bytes,
            "free %zu + used %zu + reserved %zu != managed %zu", st.free_bytes, st.used_bytes,
            st.reserved_bytes, st.managed_bytes);
    REQUIRE(st.live_blocks == ms.live_blocks, "live_blocks %zu, expected %zu", st.live_blocks,
            ms.live_blocks);
    REQUIRE(st.cached_blocks == ms.cached_blocks, "cached_blocks %zu, expected %zu",
            st.cached_blocks, ms.cached_blocks);
    REQUIRE(st.largest_free == ms.largest_free, "largest_free %zu, expected %zu", st.largest_free,
            ms.largest_free);
    REQUIRE(st.meta_bytes == analloc_meta_bytes(a) && st.meta_bytes == TI_META_BYTES(a),
            "meta_bytes %zu", st.meta_bytes);
    REQUIRE(st.depth == m->depth, "depth %u, expected %u", st.depth, m->depth);
    uintptr_t runs[RMAX][2];
    unsigned nruns = m_runs(m, runs, RMAX);
    REQUIRE(st.reserved_ranges == nruns, "reserved_ranges %u, expected %u", st.reserved_ranges,
            nruns);
    for (unsigned k = 0; k < 64; k++)
        REQUIRE(st.free_blocks_of_order[k] == ms.free_blocks_of_order[k],
                "free_blocks_of_order[%u] %zu, expected %zu", k, st.free_blocks_of_order[k],
                ms.free_blocks_of_order[k]);
    /* (the unused orders past CO: test_stats_every_byte_defined) */
    for (unsigned k = 0; k < CO; k++)
        REQUIRE(st.cached_blocks_of_order[k] == ms.cached_blocks_of_order[k],
                "cached_blocks_of_order[%u] %zu, expected %zu", k, st.cached_blocks_of_order[k],
                ms.cached_blocks_of_order[k]);

    /* the table of reserved ranges */
    const struct analloc *s = a;
    REQUIRE(TI_RANGES(s) == nruns, "reserved %u, expected %u", TI_RANGES(s), nruns);
    REQUIRE(TI_RESERVED_PAGES(s) == resp, "reserved_pages %zu, expected %zu", TI_RESERVED_PAGES(s),
            resp);
    for (unsigned i = 0; i < RMAX; i++) {
        uintptr_t e0 = i < nruns ? runs[i][0] : 0, e1 = i < nruns ? runs[i][1] : 0;
        REQUIRE(TI_RESERVE(s, i, 0) == e0 && TI_RESERVE(s, i, 1) == e1,
                "reserve[%u] = [%#llx, %#llx), expected [%#llx, %#llx)", i,
                (unsigned long long)TI_RESERVE(s, i, 0), (unsigned long long)TI_RESERVE(s, i, 1),
                (unsigned long long)e0, (unsigned long long)e1);
    }

    /* the cache's lists, in order (orders past the arena's lists have none) */
    for (unsigned k = 0; k < CO; k++) {
        uintptr_t list[ANALLOC_CACHE_MAX];
        unsigned nc = model_arena_cached(m->ma, k, list);
        if (k >= s->internal.cache_orders) {
            REQUIRE(nc == 0, "the model caches order %u, which has no list", k);
            continue;
        }
        REQUIRE(TI_CACHED(s, k) == nc, "cached[%u] %u, expected %u", k, (unsigned)TI_CACHED(s, k), nc);
        for (unsigned i = 0; i < nc; i++)
            REQUIRE(TI_CACHE(s, k, i) == list[i], "cache[%u][%u]", k, i);
    }

    /* the fragmentation index of every order */
    for (unsigned k = 0; k <= m->depth + 1u; k++) {
        int want = model_arena_frag_index(m->ma, k);
        int got = analloc_frag_index(a, k);
        REQUIRE(got == want, "analloc_frag_index(%u) = %d, expected %d", k, got, want);
    }

    /* the walk, all kinds */
    if (h->walk_every) {
        struct wlist got = {0}, want = {0};
        rc = analloc_walk(a, ANALLOC_BLOCK_ALL, walk_collect, &got);
        REQUIRE(rc == 0, "analloc_walk returned %d", rc);
        m_walk(m, ANALLOC_BLOCK_ALL, &want);
        wl_same_(&got, &want, file, line);
        wl_fini(&got);
        wl_fini(&want);
    }

    /* every live block is one to mem_size */
    for (size_t i = 0; i < model_arena_live(m->ma); i++) {
        unsigned k;
        uintptr_t at = model_arena_live_at(m->ma, i, &k);
        size_t want = m->page << k;
        size_t got = analloc_mem_size(a, ptr_at(at));
        REQUIRE(got == want, "mem_size of page %zu: %zu, expected %zu",
                (size_t)((at >> m->shift) - m->lo), got, want);
    }
}

/* Reserve or release through the engine and the model; want is the expected
 * code (the model must agree), or ANY_RC for whatever the model says.  A
 * refusal must change nothing; then everything is verified. */
#define H_RESERVE(h, ad, size, want) h_range_((h), 1, (ad), (size), (want), __FILE__, __LINE__)
#define H_RELEASE(h, ad, size, want) h_range_((h), 0, (ad), (size), (want), __FILE__, __LINE__)
static int h_range_(struct h *h, int reserve, uintptr_t ad, size_t size, int want,
                    const char *file, int line)
{
    struct snap sn;
    size_t hook_calls = h->hook.calls;
    int exp = reserve ? model_arena_reserve(h->m.ma, ad, size) : model_arena_release(h->m.ma, ad, size);
    REQUIRE(want == ANY_RC || exp == want, "the model says %d (%s) for %s(%#llx, %zu), the test %d",
            exp, analloc_strerror(exp), reserve ? "reserve" : "release", (unsigned long long)ad,
            size, want);
    snap_take(&sn, &h->a);
    int got = reserve ? analloc_reserve(&h->a, ad, size) : analloc_release(&h->a, ad, size);
    REQUIRE(got == exp, "%s(%#llx, %zu) returned %d (%s), expected %d (%s)",
            reserve ? "analloc_reserve" : "analloc_release", (unsigned long long)ad, size, got,
            analloc_strerror(got), exp, analloc_strerror(exp));
    if (got != ANALLOC_OK)
        snap_same_(&sn, &h->a, reserve ? "a refused reserve" : "a refused release", file, line);
    snap_free(&sn);
    REQUIRE(h->hook.calls == hook_calls, "the error hook was called by %s",
            reserve ? "reserve" : "release");
    h_verify_(h, file, line);
    return got;
}

/* Pages [i0, i1) of the arena, as a byte range touching exactly them. */
#define H_RESERVE_PAGES(h, i0, i1, want) \
    H_RESERVE((h), PG((h), (i0)), ((size_t)(i1) - (size_t)(i0)) << (h)->m.shift, (want))
#define H_RELEASE_PAGES(h, i0, i1, want) \
    H_RELEASE((h), PG((h), (i0)), ((size_t)(i1) - (size_t)(i0)) << (h)->m.shift, (want))

/* analloc_alloc(size), checked against the model's address. */
#define H_ALLOC(h, size) h_alloc_((h), (size), __FILE__, __LINE__)
static uintptr_t h_alloc_(struct h *h, size_t size, const char *file, int line)
{
    uintptr_t want;
    (void)model_arena_alloc(h->m.ma, size, &want, NULL, NULL);
    void *p = analloc_alloc(&h->a, size);
    REQUIRE(addr(p) == want, "analloc_alloc(%zu) = %p, expected %#llx", size, p,
            (unsigned long long)want);
    h_verify_(h, file, line);
    return addr(p);
}

#define H_FREE(h, p) h_free_((h), (p), __FILE__, __LINE__)
static void h_free_(struct h *h, uintptr_t p, const char *file, int line)
{
    model_arena_free(h->m.ma, p);
    int rc = analloc_free(&h->a, ptr_at(p));
    REQUIRE(rc == 0, "analloc_free(%#llx) returned %d (%s)", (unsigned long long)p, rc,
            analloc_strerror(rc));
    h_verify_(h, file, line);
}

#define H_SET_CACHE(h, slots)                                        \
    do {                                                             \
        unsigned slots_ = (slots);                                   \
        ASSERT_ERR(analloc_set_cache(&(h)->a, slots_), ANALLOC_OK);  \
        model_arena_set_cache((h)->m.ma, slots_);                    \
        VERIFY(h);                                                   \
    } while (0)

#define H_DRAIN(h)                   \
    do {                             \
        analloc_drain(&(h)->a);      \
        m_drain(&(h)->m);            \
        VERIFY(h);                   \
    } while (0)

/* Table entry i is exactly [first page, end page) of the arena. */
#define ENTRY_IS(h, i, p0, p1)                                                    \
    do {                                                                          \
        assert_int_equal(TI_RESERVE(&(h)->a, (i), 0), RP((h), (p0)));        \
        assert_int_equal(TI_RESERVE(&(h)->a, (i), 1), RP((h), (p1)));        \
    } while (0)

static size_t stat_field(analloc_t a, size_t offset)
{
    struct analloc_stats st;
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(a, &st), ANALLOC_OK);
    size_t v;
    memcpy(&v, (const unsigned char *)&st + offset, sizeof v);
    return v;
}
#define STAT(a, field) stat_field((a), offsetof(struct analloc_stats, field))

/* ======================================================================
 * 1. analloc_reserve / analloc_release
 * ====================================================================== */

/* Byte ranges are rounded outward to the pages they touch; adjacent
 * reservations merge, bridging ones join three into one. */
static void test_reserve_rounding_and_merging(void **state)
{
    struct h h;
    (void)state;
    h_init_fake(&h, fake_base(256u * 4096u, 4096), 256u * 4096u, 4096);
    assert_int_equal(h.a.depth, 8);
    assert_int_equal(STAT(&h.a, free_bytes), 256u * 4096u);

    /* 100 bytes into page 5, two pages long: pages 5, 6 and 7. */
    H_RESERVE(&h, PG(&h, 5) + 100u, 2u * 4096u, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 1);
    ENTRY_IS(&h, 0, 5, 8);
    assert_int_equal(TI_RESERVED_PAGES(&h.a), 3);
    assert_int_equal(analloc_free_bytes(&h.a), 253u * 4096u);
    assert_int_equal(STAT(&h.a, reserved_bytes), 3u * 4096u);
    assert_int_equal(STAT(&h.a, used_bytes), 0);
    /* pages 0-4 free: [0,4) and [4]; 8-255: one block of each order 3..7 */
    assert_int_equal(STAT(&h.a, largest_free), 128u * 4096u);

    /* One byte at the start of page 8: merges at the end. */
    H_RESERVE(&h, PG(&h, 8), 1, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 1);
    ENTRY_IS(&h, 0, 5, 9);
    /* The last byte of page 4: merges at the start. */
    H_RESERVE(&h, PG(&h, 5) - 1u, 1, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 1);
    ENTRY_IS(&h, 0, 4, 9);
    /* Two bytes across the boundary of pages 3 and 4: page 4 is reserved. */
    H_RESERVE(&h, PG(&h, 4) - 1u, 2, ANALLOC_EBUSY);
    /* Pages 20-22, apart: a second entry. */
    H_RESERVE(&h, PG(&h, 20) + 4095u, 2u * 4096u + 1u, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 2);
    ENTRY_IS(&h, 0, 4, 9);
    ENTRY_IS(&h, 1, 20, 23);
    /* Pages 9-19 bridge the two: one entry. */
    H_RESERVE_PAGES(&h, 9, 20, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 1);
    ENTRY_IS(&h, 0, 4, 23);
    assert_int_equal(TI_RESERVED_PAGES(&h.a), 19);
    assert_int_equal(TI_RESERVE(&h.a, 1, 0), 0);
    assert_int_equal(TI_RESERVE(&h.a, 1, 1), 0);
    /* Entries are kept sorted whatever the order of the calls. */
    H_RESERVE(&h, PG(&h, 255) + 4095u, 1, ANALLOC_OK); /* the last byte of the arena */
    H_RESERVE(&h, PG(&h, 0), 1, ANALLOC_OK);           /* the first byte */
    H_RESERVE(&h, PG(&h, 100) + 7u, 4096u, ANALLOC_OK); /* pages 100, 101 */
    assert_int_equal(TI_RANGES(&h.a), 4);
    ENTRY_IS(&h, 0, 0, 1);
    ENTRY_IS(&h, 1, 4, 23);
    ENTRY_IS(&h, 2, 100, 102);
    ENTRY_IS(&h, 3, 255, 256);
    assert_int_equal(TI_RESERVED_PAGES(&h.a), 1u + 19u + 2u + 1u);
    assert_int_equal(analloc_free_bytes(&h.a), (256u - 23u) * 4096u);

    /* Allocations never land in reserved pages: fill with single pages
     * (each address checked against the model). */
    size_t n = 0;
    while (H_ALLOC(&h, 4096) != 0)
        n++;
    assert_int_equal(n, 256u - 23u);
    h_fini(&h);
}

/* The whole arena reserved in one call, with byte ranges that start before
 * the first page's start and end after the last page's end inside a chunk's
 * partial pages: refused (ERANGE); exact pages accepted. */
static void test_reserve_whole_arena(void **state)
{
    struct h h;
    (void)state;
    h_init_fake(&h, fake_base(64u * 4096u, 4096) + 4096u, 64u * 4096u, 4096);
    H_RESERVE(&h, PG(&h, 0) - 1u, 64u * 4096u, ANALLOC_ERANGE);
    H_RESERVE(&h, PG(&h, 0) + 1u, 64u * 4096u, ANALLOC_ERANGE);
    H_RESERVE(&h, PG(&h, 0), 64u * 4096u, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 1);
    ENTRY_IS(&h, 0, 0, 64);
    assert_int_equal(analloc_free_bytes(&h.a), 0);
    assert_int_equal(analloc_largest_free(&h.a), 0);
    assert_null(analloc_alloc(&h.a, 1));
    for (unsigned k = 0; k <= h.a.depth; k++)
        assert_int_equal(analloc_frag_index(&h.a, k), 0); /* nothing free */
    H_RELEASE(&h, PG(&h, 0), 64u * 4096u, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 0);
    assert_int_equal(analloc_free_bytes(&h.a), 64u * 4096u);
    h_fini(&h);
}

/* free, realloc and mem_size of pointers into a reserved range. */
static void test_reserved_pointers_refused(void **state)
{
    struct h h;
    struct snap sn;
    const size_t al = 64u * 4096u;
    (void)state;
    /* Real memory (realloc copies): the metadata in the page before a
     * boundary of 64 pages, the arena the 64 pages after it. */
    h_init_chunk(&h, al, al - 4096u, 65u * 4096u, 0, 4096);
    assert_ptr_equal(h.a.start, h.mem + al);
    assert_int_equal(h.a.managed, 64u * 4096u);
    uintptr_t p0 = H_ALLOC(&h, 4096); /* page 0 */
    assert_int_equal(p0, PG(&h, 0));
    H_RESERVE_PAGES(&h, 1, 2, ANALLOC_OK);
    H_RESERVE_PAGES(&h, 16, 24, ANALLOC_OK);
    uintptr_t inside[] = {PG(&h, 1), PG(&h, 16), PG(&h, 17), PG(&h, 20), PG(&h, 23)};
    for (size_t i = 0; i < sizeof inside / sizeof *inside; i++) {
        void *q = ptr_at(inside[i]);
        size_t calls = h.hook.calls;
        snap_take(&sn, &h.a);
        ASSERT_ERR(analloc_free(&h.a, q), ANALLOC_ERESERVED);
        SNAP_SAME(&sn, &h.a, "free into a reserved range");
        assert_int_equal(h.hook.calls, calls + 1u);
        assert_int_equal(h.hook.error, ANALLOC_ERESERVED);
        assert_ptr_equal(h.hook.ptr, q);
        static const size_t sizes[] = {0, 1, 4096, 8192, 3u * 4096u, 64u * 4096u};
        for (size_t j = 0; j < sizeof sizes / sizeof *sizes; j++) {
            calls = h.hook.calls;
            assert_null(analloc_realloc(&h.a, q, sizes[j]));
            SNAP_SAME(&sn, &h.a, "realloc into a reserved range");
            assert_int_equal(h.hook.calls, calls + 1u);
            assert_int_equal(h.hook.error, ANALLOC_ERESERVED);
            assert_ptr_equal(h.hook.ptr, q);
        }
        calls = h.hook.calls;
        assert_int_equal(analloc_mem_size(&h.a, q), 0);
        SNAP_SAME(&sn, &h.a, "mem_size into a reserved range");
        assert_int_equal(h.hook.calls, calls); /* mem_size is silent */
        snap_free(&sn);
    }
    /* A pointer into a reserved page that is not page-aligned: ERESERVED,
     * as for the used prefix (reserved ranges are checked before alignment). */
    {
        void *q = ptr_at(PG(&h, 17) + 8u);
        size_t calls = h.hook.calls;
        snap_take(&sn, &h.a);
        ASSERT_ERR(analloc_free(&h.a, q), ANALLOC_ERESERVED);
        SNAP_SAME(&sn, &h.a, "misaligned free into a reserved range");
        assert_int_equal(h.hook.calls, calls + 1u);
        assert_int_equal(analloc_mem_size(&h.a, q), 0);
        snap_free(&sn);
    }
    /* The live block next to the reserved page cannot grow in place: it
     * moves to the lowest two-page block, [2, 4). */
    void *moved = analloc_realloc(&h.a, ptr_at(p0), 8192);
    assert_ptr_equal(moved, ptr_at(PG(&h, 2)));
    CHECK_OK(&h.a);
    assert_int_equal(analloc_mem_size(&h.a, moved), 8192);
    ASSERT_ERR(analloc_free(&h.a, ptr_at(p0)), ANALLOC_EFREE); /* page 0 went back */
    ASSERT_ERR(analloc_free(&h.a, moved), ANALLOC_OK);
    /* Released, the pages are free memory: a free of them is a double free. */
    ASSERT_ERR(analloc_release(&h.a, PG(&h, 16), 8u * 4096u), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&h.a, ptr_at(PG(&h, 16))), ANALLOC_EFREE);
    ASSERT_ERR(analloc_release(&h.a, PG(&h, 1), 4096), ANALLOC_OK);
    CHECK_OK(&h.a);
    analloc_drain(&h.a); /* the calls above bypassed the model: no H_DRAIN */
    assert_int_equal(analloc_largest_free(&h.a), 64u * 4096u);
    h_fini(&h);
}

/* Release of a head, a tail, a middle (which splits the range in two), a
 * whole entry; byte ranges rounded outward; refusals change nothing. */
static void test_release_parts(void **state)
{
    struct h h;
    (void)state;
    /* An arena that starts 3 pages past an aligned boundary. */
    h_init_fake(&h, fake_base(256u * 4096u, 4096) + 3u * 4096u, 256u * 4096u, 4096);
    H_RESERVE_PAGES(&h, 10, 90, ANALLOC_OK);
    ENTRY_IS(&h, 0, 10, 90);
    H_RELEASE_PAGES(&h, 10, 13, ANALLOC_OK); /* head */
    ENTRY_IS(&h, 0, 13, 90);
    H_RELEASE(&h, PG(&h, 85) + 4095u, 4u * 4096u + 1u, ANALLOC_OK); /* tail: pages 85-89 */
    ENTRY_IS(&h, 0, 13, 85);
    assert_int_equal(TI_RANGES(&h.a), 1);
    H_RELEASE(&h, PG(&h, 40) + 1u, 9u * 4096u, ANALLOC_OK); /* middle: pages 40-49 */
    assert_int_equal(TI_RANGES(&h.a), 2);
    ENTRY_IS(&h, 0, 13, 40);
    ENTRY_IS(&h, 1, 50, 85);
    assert_int_equal(TI_RESERVED_PAGES(&h.a), 27u + 35u);
    /* Not reserved, partly reserved, spanning two ranges: refused. */
    H_RELEASE_PAGES(&h, 0, 1, ANALLOC_ENOTRESERVED);
    H_RELEASE_PAGES(&h, 12, 14, ANALLOC_ENOTRESERVED);
    H_RELEASE_PAGES(&h, 39, 51, ANALLOC_ENOTRESERVED);
    H_RELEASE_PAGES(&h, 35, 55, ANALLOC_ENOTRESERVED);
    H_RELEASE_PAGES(&h, 13, 85, ANALLOC_ENOTRESERVED);
    H_RELEASE_PAGES(&h, 84, 86, ANALLOC_ENOTRESERVED);
    H_RELEASE_PAGES(&h, 45, 46, ANALLOC_ENOTRESERVED);
    H_RELEASE_PAGES(&h, 200, 256, ANALLOC_ENOTRESERVED);
    /* A live block is not reserved either. */
    uintptr_t live = H_ALLOC(&h, 4096);
    H_RELEASE(&h, live, 4096, ANALLOC_ENOTRESERVED);
    /* A middle of one page, then its neighbours one by one. */
    H_RELEASE_PAGES(&h, 60, 61, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 3);
    ENTRY_IS(&h, 1, 50, 60);
    ENTRY_IS(&h, 2, 61, 85);
    H_RELEASE_PAGES(&h, 59, 60, ANALLOC_OK);
    H_RELEASE_PAGES(&h, 61, 62, ANALLOC_OK);
    ENTRY_IS(&h, 1, 50, 59);
    ENTRY_IS(&h, 2, 62, 85);
    /* Whole entries: the table closes up. */
    H_RELEASE_PAGES(&h, 50, 59, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 2);
    ENTRY_IS(&h, 0, 13, 40);
    ENTRY_IS(&h, 1, 62, 85);
    H_RELEASE_PAGES(&h, 13, 40, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 1);
    ENTRY_IS(&h, 0, 62, 85);
    H_RELEASE_PAGES(&h, 62, 85, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 0);
    assert_int_equal(TI_RESERVED_PAGES(&h.a), 0);
    H_FREE(&h, live);
    H_DRAIN(&h);
    assert_int_equal(analloc_free_bytes(&h.a), 256u * 4096u);
    h_fini(&h);
}

/* Every refusal: the code, and nothing changed (H_RESERVE/H_RELEASE take a
 * snapshot and compare it byte for byte). */
static void test_reserve_release_errors(void **state)
{
    struct h h;
    (void)state;
    h_init_fake(&h, fake_base(128u * 4096u, 4096), 128u * 4096u, 4096);
    uintptr_t top = PG(&h, 128);
    /* EINVAL: size 0, wrapping, ending exactly at the top of the address
     * space; size 0 wins over a range outside the arena. */
    H_RESERVE(&h, PG(&h, 3), 0, ANALLOC_EINVAL);
    H_RESERVE(&h, 0, 0, ANALLOC_EINVAL);
    H_RESERVE(&h, UINTPTR_MAX, 0, ANALLOC_EINVAL);
    H_RESERVE(&h, PG(&h, 3), SIZE_MAX, ANALLOC_EINVAL);
    H_RESERVE(&h, UINTPTR_MAX - 10u, 100, ANALLOC_EINVAL);
    H_RESERVE(&h, UINTPTR_MAX - 4095u, 4096, ANALLOC_EINVAL); /* ends at 2^bits */
    H_RESERVE(&h, UINTPTR_MAX, 1, ANALLOC_EINVAL);
    H_RELEASE(&h, PG(&h, 3), 0, ANALLOC_EINVAL);
    H_RELEASE(&h, PG(&h, 3), SIZE_MAX, ANALLOC_EINVAL);
    H_RELEASE(&h, UINTPTR_MAX - 10u, 100, ANALLOC_EINVAL);
    H_RELEASE(&h, UINTPTR_MAX - 4095u, 4096, ANALLOC_EINVAL);
    /* ERANGE: below, straddling the start, straddling the end, beyond, the
     * last address, page 0. */
    H_RESERVE(&h, PG(&h, 0) - 4096u, 4096, ANALLOC_ERANGE);
    H_RESERVE(&h, PG(&h, 0) - 1u, 2, ANALLOC_ERANGE);
    H_RESERVE(&h, top - 1u, 2, ANALLOC_ERANGE);
    H_RESERVE(&h, top, 4096, ANALLOC_ERANGE);
    H_RESERVE(&h, top + 123456u, 1, ANALLOC_ERANGE);
    H_RESERVE(&h, UINTPTR_MAX - 1u, 1, ANALLOC_ERANGE);
    H_RESERVE(&h, 0, 1, ANALLOC_ERANGE);
    H_RESERVE(&h, PG(&h, 0), 129u * 4096u, ANALLOC_ERANGE);
    H_RELEASE(&h, PG(&h, 0) - 1u, 2, ANALLOC_ERANGE);
    H_RELEASE(&h, top - 1u, 2, ANALLOC_ERANGE);
    H_RELEASE(&h, top, 1, ANALLOC_ERANGE);
    H_RELEASE(&h, 0, 4096, ANALLOC_ERANGE);
    /* EBUSY: a page allocated (wholly, partly), reserved (exactly, partly,
     * a super-range). */
    uintptr_t p = H_ALLOC(&h, 4u * 4096u); /* pages 0-3 */
    assert_int_equal(p, PG(&h, 0));
    H_RESERVE(&h, p, 4096, ANALLOC_EBUSY);
    H_RESERVE(&h, p + 3u * 4096u + 4095u, 2, ANALLOC_EBUSY);
    H_RESERVE_PAGES(&h, 2, 10, ANALLOC_EBUSY);
    H_RESERVE_PAGES(&h, 0, 128, ANALLOC_EBUSY);
    H_RESERVE_PAGES(&h, 20, 30, ANALLOC_OK);
    H_RESERVE_PAGES(&h, 20, 30, ANALLOC_EBUSY);
    H_RESERVE_PAGES(&h, 25, 26, ANALLOC_EBUSY);
    H_RESERVE_PAGES(&h, 29, 31, ANALLOC_EBUSY);
    H_RESERVE_PAGES(&h, 19, 21, ANALLOC_EBUSY);
    H_RESERVE_PAGES(&h, 10, 40, ANALLOC_EBUSY);
    /* ENOTRESERVED: free pages, live pages, a super-range. */
    H_RELEASE_PAGES(&h, 40, 41, ANALLOC_ENOTRESERVED);
    H_RELEASE_PAGES(&h, 0, 1, ANALLOC_ENOTRESERVED);
    H_RELEASE_PAGES(&h, 19, 30, ANALLOC_ENOTRESERVED);
    H_RELEASE_PAGES(&h, 20, 31, ANALLOC_ENOTRESERVED);
    /* An allocator that was never set up, or NULL: EINVAL, nothing written. */
    struct analloc z;
    memset(&z, 0, sizeof z);
    struct analloc zc = z;
    ASSERT_ERR(analloc_reserve(&z, PG(&h, 0), 4096), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_release(&z, PG(&h, 0), 4096), ANALLOC_EINVAL);
    assert_memory_equal(&z, &zc, sizeof z);
    memset(&z, 0x5a, sizeof z);
    zc = z;
    ASSERT_ERR(analloc_reserve(&z, PG(&h, 0), 4096), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_release(&z, PG(&h, 0), 4096), ANALLOC_EINVAL);
    assert_memory_equal(&z, &zc, sizeof z);
    ASSERT_ERR(analloc_reserve(NULL, PG(&h, 0), 4096), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_release(NULL, PG(&h, 0), 4096), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_reserve(NULL, 0, 0), ANALLOC_EINVAL);
    h_fini(&h);
}

/* In analloc_with_chunk mode the used prefix and the metadata lie below the
 * arena: ERANGE for reserve and release; a pointer into the prefix stays
 * ERESERVED for free. */
static void test_reserve_chunk_prefix(void **state)
{
    struct h h;
    (void)state;
    h_init_chunk(&h, 4096, 8, 64u * 1024u, 300, 256);
    uintptr_t chunk = addr(h.mem) + 8u;
    H_RESERVE(&h, chunk, 1, ANALLOC_ERANGE);
    H_RESERVE(&h, chunk + 299u, 2, ANALLOC_ERANGE);
    H_RESERVE(&h, PG(&h, 0) - 1u, 1, ANALLOC_ERANGE); /* the slack before the first page */
    H_RELEASE(&h, chunk, 300, ANALLOC_ERANGE);
    /* the partial page at the end of the chunk */
    uintptr_t end = chunk + 64u * 1024u;
    if (end > PG(&h, h.m.n))
        H_RESERVE(&h, PG(&h, h.m.n), (size_t)(end - PG(&h, h.m.n)), ANALLOC_ERANGE);
    H_RESERVE(&h, PG(&h, 0), 256, ANALLOC_OK);
    H_RESERVE(&h, PG(&h, h.m.n - 1u), 256, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 2);
    ASSERT_ERR(analloc_free(&h.a, ptr_at(chunk + 16u)), ANALLOC_ERESERVED);
    ASSERT_ERR(analloc_free(&h.a, ptr_at(PG(&h, 0))), ANALLOC_ERESERVED);
    H_RELEASE(&h, PG(&h, 0), 256, ANALLOC_OK);
    H_RELEASE(&h, PG(&h, h.m.n - 1u), 256, ANALLOC_OK);
    h_fini(&h);
}

/* An arena whose last page ends one page below the top of the address
 * space (never touched): ranges at its end, ranges that end exactly at the
 * top (EINVAL) or run past the arena (ERANGE). */
static void test_reserve_top_of_address_space(void **state)
{
    struct h h;
    const size_t P = 4096;
    (void)state;
    uintptr_t base = UINTPTR_MAX - 64u * P + 2u; /* 1 byte past a page boundary */
    h_init_fake(&h, base, 63u * P - 1u, P);      /* ends at top - 1 page */
    assert_int_equal(h.m.n, 62); /* whole pages: [top - 63 pages, top - 1 page) */
    assert_int_equal(PG(&h, 62), UINTPTR_MAX - P + 1u);
    H_RESERVE(&h, PG(&h, 61), P, ANALLOC_OK);                  /* the last page */
    H_RESERVE(&h, PG(&h, 60) + 1u, P - 1u, ANALLOC_OK);        /* merges */
    ENTRY_IS(&h, 0, 60, 62);
    H_RESERVE(&h, PG(&h, 62), P, ANALLOC_EINVAL);              /* ends at 2^bits */
    H_RESERVE(&h, PG(&h, 62), P - 1u, ANALLOC_ERANGE);         /* the page past the arena */
    H_RESERVE(&h, PG(&h, 61), 2u * P - 1u, ANALLOC_ERANGE);
    H_RESERVE(&h, PG(&h, 61), 2u * P, ANALLOC_EINVAL);
    H_RELEASE(&h, PG(&h, 61), 2u * P, ANALLOC_EINVAL);
    H_RELEASE(&h, PG(&h, 61), 2u * P - 1u, ANALLOC_ERANGE);
    H_RELEASE(&h, PG(&h, 61) + 7u, 9, ANALLOC_OK);             /* tail */
    H_RESERVE(&h, PG(&h, 0), 61u * P, ANALLOC_EBUSY);          /* page 60 is reserved */
    H_RESERVE(&h, PG(&h, 0), 60u * P - 1u, ANALLOC_OK);        /* merges into one */
    ENTRY_IS(&h, 0, 0, 61);
    assert_int_equal(analloc_free_bytes(&h.a), P);
    assert_int_equal(H_ALLOC(&h, 1), PG(&h, 61));
    H_RELEASE(&h, PG(&h, 0), 61u * P, ANALLOC_OK);
    h_fini(&h);
}

/* ANALLOC_RESERVE_MAX separate ranges: another separate one is ELIMIT,
 * one that merges is not; a middle release needs a new entry: ELIMIT when
 * full; a refused reserve over cached pages does not drain the cache. */
static void test_reserve_limit(void **state)
{
    struct h h;
    (void)state;
    h_init_fake(&h, fake_base(256u * 4096u, 4096), 256u * 4096u, 4096);
    /* A page in the cache: page 0. */
    uintptr_t c = H_ALLOC(&h, 4096);
    assert_int_equal(c, PG(&h, 0));
    H_FREE(&h, c);
    assert_int_equal(TI_CACHED_BLOCKS(&h.a), 1);
    /* Ranges at pages 64 + 3i, one page each. */
    for (unsigned i = 0; i < RMAX; i++)
        H_RESERVE_PAGES(&h, 64u + 3u * i, 65u + 3u * i, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), RMAX);
    assert_int_equal(TI_CACHED_BLOCKS(&h.a), 1);
    uintptr_t last = 64u + 3u * (RMAX - 1u); /* the last range's page */
    H_RESERVE_PAGES(&h, 0, 1, ANALLOC_ELIMIT); /* the cache stays (snapshot) */
    assert_int_equal(TI_CACHED_BLOCKS(&h.a), 1);
    H_RESERVE_PAGES(&h, 200, 210, ANALLOC_ELIMIT);
    H_RESERVE_PAGES(&h, last + 2u, last + 3u, ANALLOC_ELIMIT);
    H_RESERVE_PAGES(&h, 0, 60, ANALLOC_ELIMIT);
    /* Adjacent to one: merges, the count stays. */
    H_RESERVE_PAGES(&h, last + 1u, last + 2u, ANALLOC_OK);
    H_RESERVE_PAGES(&h, 60, 64, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), RMAX);
    ENTRY_IS(&h, 0, 60, 65);
    /* Bridging two: the count drops. */
    H_RESERVE_PAGES(&h, 65, 67, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), RMAX - 1u);
    ENTRY_IS(&h, 0, 60, 68);
    /* Room for one more separate range. */
    H_RESERVE_PAGES(&h, 0, 1, ANALLOC_OK); /* over the cached page: drained */
    assert_int_equal(TI_CACHED_BLOCKS(&h.a), 0);
    assert_int_equal(TI_RANGES(&h.a), RMAX);
    H_RESERVE_PAGES(&h, 2, 3, ANALLOC_ELIMIT);
    /* A middle release needs an entry: refused while full; head, tail and
     * whole releases are not. */
    H_RELEASE_PAGES(&h, 62, 63, ANALLOC_ELIMIT);
    H_RELEASE_PAGES(&h, 61, 67, ANALLOC_ELIMIT);
    H_RELEASE_PAGES(&h, 60, 61, ANALLOC_OK);
    H_RELEASE_PAGES(&h, 67, 68, ANALLOC_OK);
    ENTRY_IS(&h, 1, 61, 67);
    assert_int_equal(TI_RANGES(&h.a), RMAX);
    H_RELEASE_PAGES(&h, 0, 1, ANALLOC_OK); /* a whole entry: one slot free */
    assert_int_equal(TI_RANGES(&h.a), RMAX - 1u);
    H_RELEASE_PAGES(&h, 62, 63, ANALLOC_OK); /* now the middle release fits */
    assert_int_equal(TI_RANGES(&h.a), RMAX);
    ENTRY_IS(&h, 0, 61, 62);
    ENTRY_IS(&h, 1, 63, 67);
    H_RELEASE_PAGES(&h, 64, 65, ANALLOC_ELIMIT);
    /* Release everything, in pieces. */
    while (TI_RANGES(&h.a) != 0) {
        uintptr_t e0 = TI_RESERVE(&h.a, 0, 0) - h.m.lo, e1 = TI_RESERVE(&h.a, 0, 1) - h.m.lo;
        H_RELEASE_PAGES(&h, e0 + (e1 - e0) / 2u, e1, ANALLOC_OK);
        if (TI_RESERVE(&h.a, 0, 0) - h.m.lo == e0)
            H_RELEASE_PAGES(&h, e0, e0 + (e1 - e0) / 2u, ANALLOC_OK);
    }
    H_DRAIN(&h);
    assert_int_equal(analloc_largest_free(&h.a), 256u * 4096u);
    h_fini(&h);
}

/* Reserving pages that sit in the block cache (blocks of orders 0-3): the
 * cache is drained, the rest merges; an EBUSY over cached and live pages
 * leaves the cache alone. */
static void test_reserve_cached_blocks(void **state)
{
    struct h h;
    (void)state;
    h_init_fake(&h, fake_base(64u * 4096u, 4096), 64u * 4096u, 4096);
    uintptr_t b0 = H_ALLOC(&h, 4096), b1 = H_ALLOC(&h, 8192), b2 = H_ALLOC(&h, 16384),
              b3 = H_ALLOC(&h, 32768);
    assert_int_equal(b0, PG(&h, 0));
    assert_int_equal(b1, PG(&h, 2));
    assert_int_equal(b2, PG(&h, 4));
    assert_int_equal(b3, PG(&h, 8));
    H_FREE(&h, b0);
    H_FREE(&h, b1);
    H_FREE(&h, b2);
    H_FREE(&h, b3);
    assert_int_equal(TI_CACHED_BLOCKS(&h.a), 4);
    assert_int_equal(STAT(&h.a, cached_bytes), 15u * 4096u);
    assert_int_equal(STAT(&h.a, free_bytes), 64u * 4096u);
    /* EBUSY with a cached page and a live page: the cache stays. */
    uintptr_t live = H_ALLOC(&h, 65536); /* order 4: [16, 32) */
    assert_int_equal(live, PG(&h, 16));
    H_RESERVE_PAGES(&h, 12, 17, ANALLOC_EBUSY);
    assert_int_equal(TI_CACHED_BLOCKS(&h.a), 4);
    /* Page 5 of the cached four-page block [4, 8). */
    H_RESERVE_PAGES(&h, 5, 6, ANALLOC_OK);
    assert_int_equal(TI_CACHED_BLOCKS(&h.a), 0);
    assert_int_equal(STAT(&h.a, cached_bytes), 0);
    /* Free: [0,4) o2, [4] o0, [6,8) o1, [8,16) o3, [32,64) o5. */
    struct analloc_stats st;
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(&h.a, &st), ANALLOC_OK);
    static const size_t want[7] = {1, 1, 1, 1, 0, 1, 0};
    for (unsigned k = 0; k < 7; k++)
        assert_int_equal(st.free_blocks_of_order[k], want[k]);
    assert_int_equal(st.largest_free, 32u * 4096u);
    assert_int_equal(st.free_bytes, (64u - 16u - 1u) * 4096u);
    /* Reserving a whole cached block of order 3 and one of order 0. */
    H_FREE(&h, live);
    uintptr_t c3 = H_ALLOC(&h, 32768), c0 = H_ALLOC(&h, 4096);
    H_FREE(&h, c3);
    H_FREE(&h, c0);
    assert_int_equal(TI_CACHED_BLOCKS(&h.a), CO > 4 ? 3 : 2); /* the order-4 one too */
    H_RESERVE(&h, c3, 32768, ANALLOC_OK);
    assert_int_equal(TI_CACHED_BLOCKS(&h.a), 0);
    H_RESERVE(&h, c0, 4096, ANALLOC_OK);
    H_RELEASE(&h, c3, 32768, ANALLOC_OK);
    H_RELEASE(&h, c0, 4096, ANALLOC_OK);
    H_RELEASE_PAGES(&h, 5, 6, ANALLOC_OK);
    assert_int_equal(analloc_largest_free(&h.a), 64u * 4096u);
    h_fini(&h);
}

/* Random reserve, release, alloc, free, drain and cache sizes against the
 * model, on arenas of random shape and page size (fake memory). */
static void test_random_ranges_vs_model(void **state)
{
    struct rng r;
    (void)state;
    rng_seed(&r, g_seed, "random_ranges_vs_model", 1);
    size_t configs = scaled(16);
    for (size_t cfg = 0; cfg < configs; cfg++) {
        struct h h;
        size_t page = (size_t)1 << (6u + rng_below(&r, 7)); /* 64 .. 4096 */
        size_t pages = 1u + rng_below(&r, cfg % 3u == 0 ? 64u : 1500u);
        size_t sub = rng_below(&r, 4) == 0 ? rng_below(&r, page) : 0;
        size_t skew = rng_below(&r, 64) * page + sub;
        size_t total = pages * page + (sub ? page - sub : 0); /* still `pages` whole pages */
        h_init_fake(&h, fake_base(total + skew, 4096) + skew, total, page);
        h.walk_every = pages <= 600;
        size_t ops = scaled(700);
        for (size_t op = 0; op < ops; op++) {
            unsigned what = (unsigned)rng_below(&r, 100);
            if (what < 30) {
                unsigned k = (unsigned)rng_below(&r, h.m.depth + 2u);
                if (rng_below(&r, 2))
                    k = (unsigned)rng_below(&r, 3);
                size_t size = k == 0 ? 1u + rng_below(&r, page) : (page << (k - 1u)) + 1u +
                                                                        rng_below(&r, page << (k - 1u));
                (void)H_ALLOC(&h, size);
            } else if (what < 55) {
                size_t n = model_arena_live(h.m.ma);
                if (n == 0)
                    continue;
                H_FREE(&h, m_live(&h.m, rng_below(&r, n)) << h.m.shift);
            } else if (what < 75) {
                /* A random byte range around the arena. */
                size_t i0 = rng_below(&r, h.m.n + 4u);
                size_t len = 1u + rng_below(&r, rng_below(&r, 2) ? 4u : 1u + h.m.n / 4u);
                uintptr_t ad = PG(&h, 0) - 2u * page + (uintptr_t)i0 * page + rng_below(&r, page);
                size_t size = (len - 1u) * page + 1u + rng_below(&r, page);
                if (rng_below(&r, 50) == 0)
                    size = 0;
                (void)H_RESERVE(&h, ad, size, ANY_RC);
            } else if (what < 95) {
                uintptr_t runs[RMAX][2];
                unsigned n = m_runs(&h.m, runs, RMAX);
                if (n == 0 || rng_below(&r, 8) == 0) {
                    size_t i0 = rng_below(&r, h.m.n), len = 1u + rng_below(&r, 8);
                    (void)H_RELEASE(&h, PG(&h, i0) + rng_below(&r, page), len * page, ANY_RC);
                    continue;
                }
                unsigned i = (unsigned)rng_below(&r, n);
                uintptr_t e0 = runs[i][0] - h.m.lo, e1 = runs[i][1] - h.m.lo;
                uintptr_t a0 = e0 + rng_below(&r, e1 - e0);
                uintptr_t a1 = a0 + 1u + rng_below(&r, e1 - a0);
                switch (rng_below(&r, 4)) {
                case 0: a0 = e0; break; /* head */
                case 1: a1 = e1; break; /* tail */
                case 2: a0 = e0; a1 = e1; break; /* whole */
                default: break; /* anywhere, often a middle */
                }
                /* byte-granular: start anywhere in the first page, end
                 * anywhere in the last */
                uintptr_t ad = PG(&h, a0) + rng_below(&r, page);
                size_t room = (size_t)(PG(&h, a1) - ad);
                size_t size = room - rng_below(&r, room < page ? room : page);
                (void)H_RELEASE(&h, ad, size, ANY_RC); /* ELIMIT when full */
            } else if (what < 97) {
                H_DRAIN(&h);
            } else if (what < 99) {
                H_SET_CACHE(&h, (unsigned)rng_below(&r, ANALLOC_CACHE_MAX + 1u));
            } else {
                /* largest_free: the buddy system's, cached blocks unmerged */
                size_t got = analloc_largest_free(&h.a);
                VERIFY(&h);
                struct analloc_stats ms;
                m_stats(&h.m, &ms);
                assert_int_equal(got, ms.largest_free);
            }
        }
        h_fini(&h);
    }
}

/* ======================================================================
 * 2. Setup over a memory map with holes
 * ====================================================================== */

struct hole {
    uintptr_t ad;
    size_t size;
};

/* Does [p, p + n) overlap the pages touched by any hole? */
static bool touches_hole(const struct hole *holes, size_t nh, uintptr_t p, size_t n, unsigned shift)
{
    for (size_t i = 0; i < nh; i++) {
        uintptr_t h0 = align_down(holes[i].ad, (uintptr_t)1 << shift);
        uintptr_t h1 = align_up(holes[i].ad + holes[i].size, (uintptr_t)1 << shift);
        if (p < h1 && h0 < p + n)
            return true;
    }
    return false;
}

/* Fill the arena with random-size allocations until none fits, then with
 * pages; every block checked against the holes.  Returns the blocks. */
static size_t fill_arena(struct h *h, struct rng *r, const struct hole *holes, size_t nh,
                         uintptr_t *blocks, size_t max)
{
    size_t nb = 0;
    for (unsigned fails = 0; fails < 8 && nb < max;) {
        unsigned k = (unsigned)rng_below(r, 7);
        size_t size = k == 0 ? 1u + rng_below(r, h->m.page)
                             : (h->m.page << (k - 1u)) + 1u + rng_below(r, h->m.page << (k - 1u));
        uintptr_t p = H_ALLOC(h, size);
        if (p == 0) {
            fails++;
            continue;
        }
        assert_false(touches_hole(holes, nh, p, analloc_mem_size(&h->a, ptr_at(p)), h->m.shift));
        blocks[nb++] = p;
    }
    uintptr_t p;
    while (nb < max && (p = H_ALLOC(h, 1)) != 0) {
        assert_false(touches_hole(holes, nh, p, h->m.page, h->m.shift));
        blocks[nb++] = p;
    }
    assert_true(nb < max);
    assert_int_equal(analloc_free_bytes(&h->a), 0);
    return nb;
}

static void shuffle(struct rng *r, uintptr_t *v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(r, i);
        uintptr_t t = v[i - 1u];
        v[i - 1u] = v[j];
        v[j] = t;
    }
}

/* Stats of the whole, free arena: what a fresh allocator over the same
 * pages reports. */
static void expect_whole(struct h *h)
{
    struct analloc fresh;
    size_t total = h->a.managed, ms = analloc_meta_size(total, h->a.page);
    unsigned char *meta = malloc(ms);
    assert_non_null(meta);
    /* the same pages, described from the outside (never touched) */
    ASSERT_ERR(analloc_init(&fresh, h->a.start, total, h->a.page, meta, ms), ANALLOC_OK);
    struct analloc_stats s1, s2;
    s1.size = s2.size = sizeof s1;
    ASSERT_ERR(analloc_stats(&h->a, &s1), ANALLOC_OK);
    ASSERT_ERR(analloc_stats(&fresh, &s2), ANALLOC_OK);
    assert_int_equal(s1.free_bytes, total);
    assert_int_equal(s1.reserved_bytes, 0);
    assert_int_equal(s1.used_bytes, 0);
    assert_int_equal(s1.reserved_ranges, 0);
    assert_int_equal(s1.largest_free, s2.largest_free);
    assert_int_equal(s1.depth, s2.depth);
    assert_memory_equal(s1.free_blocks_of_order, s2.free_blocks_of_order,
                        sizeof s1.free_blocks_of_order);
    free(meta);
}

static void test_holes_fake_span(void **state)
{
    struct rng r;
    (void)state;
    rng_seed(&r, g_seed, "holes_fake_span", 2);
    for (unsigned round = 0; round < scaled(3); round++) {
        struct h h;
        const size_t page = 4096, pages = 3000;
        /* a span that starts 3 pages and 5 bytes past an aligned boundary */
        uintptr_t base = fake_base(pages * page + 2u * page, 4096) + 3u * page + 5u;
        h_init_fake(&h, base, pages * page, page);
        h.walk_every = 0;
        assert_int_equal(addr(h.a.start), base - 5u + page); /* the first whole page */
        /* Holes: the very start (up to a byte into page 7), odd middles, the
         * very end (from 5 bytes before page n-9 to the last byte). */
        struct hole holes[] = {
            {PG(&h, 0), 7u * page + 1u},
            {PG(&h, 333) + 17u, 50u * page + 3u},
            {PG(&h, 1024) - 1u, 2},
            {PG(&h, 1500) + 4095u, 1},
            {PG(&h, 2047), 1u + rng_below(&r, 3u * page)},
            {PG(&h, h.m.n - 9u) - 5u, (size_t)(PG(&h, h.m.n) - (PG(&h, h.m.n - 9u) - 5u))},
        };
        const size_t nh = sizeof holes / sizeof *holes;
        for (size_t i = 0; i < nh; i++)
            H_RESERVE(&h, holes[i].ad, holes[i].size, ANALLOC_OK);
        assert_int_equal(TI_RANGES(&h.a), nh);
        ENTRY_IS(&h, 0, 0, 8);
        ENTRY_IS(&h, 1, 333, 384);
        ENTRY_IS(&h, 2, 1023, 1025);
        ENTRY_IS(&h, 3, 1500, 1501);
        ENTRY_IS(&h, 5, h.m.n - 10u, h.m.n);
        VERIFY(&h);
        size_t max = pages + 1u, nb;
        uintptr_t *blocks = malloc(max * sizeof *blocks);
        assert_non_null(blocks);
        nb = fill_arena(&h, &r, holes, nh, blocks, max);
        assert_int_equal(STAT(&h.a, used_bytes), h.a.managed - TI_RESERVED_PAGES(&h.a) * page);
        VERIFY(&h);
        shuffle(&r, blocks, nb);
        for (size_t i = 0; i < nb; i++)
            H_FREE(&h, blocks[i]);
        H_DRAIN(&h);
        /* Release the holes: halves first, in a random order. */
        size_t order[sizeof holes / sizeof *holes];
        for (size_t i = 0; i < nh; i++)
            order[i] = i;
        for (size_t i = nh; i > 1; i--) {
            size_t j = rng_below(&r, i), t = order[i - 1u];
            order[i - 1u] = order[j];
            order[j] = t;
        }
        for (size_t oi = 0; oi < nh; oi++) {
            uintptr_t runs[RMAX][2];
            struct hole *ho = &holes[order[oi]];
            uintptr_t p0 = ho->ad >> h.m.shift;
            unsigned n = m_runs(&h.m, runs, RMAX), i;
            for (i = 0; i < n && !(runs[i][0] <= p0 && p0 < runs[i][1]); i++)
                ;
            assert_true(i < n);
            uintptr_t e0 = runs[i][0], e1 = runs[i][1];
            if (e1 - e0 >= 2u) {
                uintptr_t mid = e0 + (e1 - e0) / 2u;
                H_RELEASE(&h, e0 << h.m.shift, (size_t)(mid - e0) << h.m.shift, ANALLOC_OK);
                H_RELEASE(&h, (mid << h.m.shift) + 1u, (size_t)((e1 - mid) << h.m.shift) - 1u,
                          ANALLOC_OK);
            } else {
                H_RELEASE(&h, ho->ad, ho->size, ANALLOC_OK);
            }
        }
        expect_whole(&h);
        free(blocks);
        h_fini(&h);
    }
}

/* Real memory: holes hold canaries that no allocation, poisoning or
 * release may touch; every block holds its own pattern. */
static void test_holes_real_memory(void **state)
{
    struct rng r;
    struct h h;
    const size_t page = 256, total = 512u * 1024u;
    (void)state;
    rng_seed(&r, g_seed, "holes_real_memory", 3);
    h_init_chunk(&h, 4096, 24, total, 200, page);
    h.walk_every = 0;
    size_t n = h.m.n;
    struct hole holes[] = {
        {PG(&h, 0), 3u * page},                 /* the first pages */
        {PG(&h, 77) + 13u, 5u * page},          /* pages 77-82 */
        {PG(&h, 511) + 255u, 2},                /* pages 511-512 */
        {PG(&h, 1000), 1},                      /* page 1000 */
        {PG(&h, 1400) + 1u, 33u * page - 2u},   /* pages 1400-1432 */
        {PG(&h, n - 4u) + 100u, 4u * page - 100u}, /* the last 4 pages */
    };
    const size_t nh = sizeof holes / sizeof *holes;
    assert_true(n > 1500u);
    /* Poisoning on from the start: reserving and releasing must not fill. */
    ASSERT_ERR(analloc_set_debug(&h.a, ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH, 0xDD,
                                 0xEE),
               ANALLOC_OK);
    #define CHECK_HOLES()                                                                    \
        for (size_t i_ = 0; i_ < nh; i_++) {                                                 \
            uintptr_t h0_ = align_down(holes[i_].ad, page);                                  \
            uintptr_t h1_ = align_up(holes[i_].ad + holes[i_].size, page);                   \
            const unsigned char *q_ = ptr_at(h0_);                                           \
            for (size_t j_ = 0; j_ < (size_t)(h1_ - h0_); j_++)                              \
                if ((size_t)q_[j_] != 0xC0u + i_)                                            \
                    fail_msg("hole %zu byte %zu is %#x", i_, j_, q_[j_]);                    \
        }
    /* Canaries: each hole's whole pages hold 0xC0 + its index. */
    for (size_t i = 0; i < nh; i++) {
        uintptr_t h0 = align_down(holes[i].ad, page), h1 = align_up(holes[i].ad + holes[i].size, page);
        memset(ptr_at(h0), 0xC0 + (int)i, (size_t)(h1 - h0));
        H_RESERVE(&h, holes[i].ad, holes[i].size, ANALLOC_OK);
    }
    assert_int_equal(TI_RANGES(&h.a), nh);
    CHECK_HOLES();
    size_t max = n + 1u;
    uintptr_t *blocks = malloc(max * sizeof *blocks);
    assert_non_null(blocks);
    size_t nb = fill_arena(&h, &r, holes, nh, blocks, max);
    /* Fresh blocks were poisoned with 0xEE; give each its own pattern. */
    for (size_t i = 0; i < nb; i++) {
        unsigned char *b = ptr_at(blocks[i]);
        size_t sz = analloc_mem_size(&h.a, b);
        for (size_t j = 0; j < sz; j++)
            assert_int_equal(b[j], 0xEE);
        memset(b, (int)(i * 7u + 1u) & 0xff, sz);
    }
    CHECK_HOLES();
    for (size_t i = 0; i < nb; i++) {
        const unsigned char *b = ptr_at(blocks[i]);
        size_t sz = analloc_mem_size(&h.a, b);
        for (size_t j = 0; j < sz; j++)
            if ((size_t)b[j] != ((i * 7u + 1u) & 0xffu))
                fail_msg("block %zu byte %zu is %#x", i, j, b[j]);
    }
    /* Free all (the free poison 0xDD covers every non-hole page). */
    shuffle(&r, blocks, nb);
    for (size_t i = 0; i < nb; i++)
        H_FREE(&h, blocks[i]);
    CHECK_HOLES();
    for (size_t i = 0; i < n; i++) {
        if (m_page(&h.m, RP(&h, i), NULL) == ANALLOC_BLOCK_RESERVED)
            continue;
        const unsigned char *q = ptr_at(PG(&h, i));
        for (size_t j = 0; j < page; j++)
            if (q[j] != 0xDD)
                fail_msg("free page %zu byte %zu is %#x", i, j, q[j]);
    }
    /* Released memory is never filled (it may not be RAM yet). */
    for (size_t i = 0; i < nh; i++)
        H_RELEASE(&h, holes[i].ad, holes[i].size, ANALLOC_OK);
    CHECK_HOLES();
    #undef CHECK_HOLES
    H_DRAIN(&h);
    expect_whole(&h);
    /* The former holes are allocatable: every page again, fresh-poisoned. */
    nb = 0;
    uintptr_t p;
    while ((p = H_ALLOC(&h, page)) != 0)
        nb++;
    assert_int_equal(nb, n);
    for (size_t i = 0; i < nh; i++) {
        const unsigned char *q = ptr_at(align_down(holes[i].ad, page));
        assert_int_equal(q[0], 0xEE);
    }
    ASSERT_ERR(analloc_set_debug(&h.a, 0, 0, 0), ANALLOC_OK);
    free(blocks);
    h_fini(&h);
}

/* ======================================================================
 * 3. Growing the arena
 * ====================================================================== */

static void test_grow_tail(void **state)
{
    struct h h;
    const size_t P = 4096;
    (void)state;
    h_init_fake(&h, fake_base(1024u * P, 4096), 1024u * P, P);
    H_SET_CACHE(&h, 0);
    assert_int_equal(h.a.depth, 10);
    /* Only the first 256 pages are there yet. */
    H_RESERVE_PAGES(&h, 256, 1024, ANALLOC_OK);
    assert_int_equal(STAT(&h.a, largest_free), 256u * P);
    assert_null(analloc_alloc(&h.a, 257u * P));
    CHECK_OK(&h.a);
    uintptr_t p0 = H_ALLOC(&h, P);
    assert_int_equal(p0, PG(&h, 0));
    assert_int_equal(STAT(&h.a, largest_free), 128u * P);
    /* 256 more pages: a separate order-8 block (its buddy is split). */
    H_RELEASE_PAGES(&h, 256, 512, ANALLOC_OK);
    ENTRY_IS(&h, 0, 512, 1024);
    assert_int_equal(STAT(&h.a, largest_free), 256u * P);
    {
        struct analloc_stats st;
        st.size = sizeof st;
        ASSERT_ERR(analloc_stats(&h.a, &st), ANALLOC_OK);
        for (unsigned k = 0; k <= 10; k++) /* one free block per order up to 8 */
            assert_int_equal(st.free_blocks_of_order[k], k <= 8 ? 1u : 0u);
    }
    /* Freeing page 0 merges up to 512 pages. */
    H_FREE(&h, p0);
    assert_int_equal(STAT(&h.a, largest_free), 512u * P);
    assert_int_equal(STAT(&h.a, free_bytes), 512u * P);
    uintptr_t big = H_ALLOC(&h, 512u * P);
    assert_int_equal(big, PG(&h, 0));
    /* An odd step: pages 512-699 are [512,640) [640,672) [672,688) [688,696) [696,700). */
    H_RELEASE_PAGES(&h, 512, 700, ANALLOC_OK);
    ENTRY_IS(&h, 0, 700, 1024);
    assert_int_equal(STAT(&h.a, largest_free), 128u * P);
    assert_int_equal(STAT(&h.a, free_bytes), 188u * P);
    uintptr_t a7 = H_ALLOC(&h, 128u * P);
    assert_int_equal(a7, PG(&h, 512));
    H_FREE(&h, a7);
    /* The rest: everything from 512 merges into one order-9 block. */
    H_RELEASE(&h, PG(&h, 700) + 1u, 324u * P - 1u, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 0);
    assert_int_equal(STAT(&h.a, largest_free), 512u * P);
    {
        struct analloc_stats st;
        st.size = sizeof st;
        ASSERT_ERR(analloc_stats(&h.a, &st), ANALLOC_OK);
        for (unsigned k = 0; k <= 10; k++)
            assert_int_equal(st.free_blocks_of_order[k], k == 9 ? 1u : 0u);
    }
    H_FREE(&h, big);
    assert_int_equal(STAT(&h.a, largest_free), 1024u * P);
    assert_int_equal(H_ALLOC(&h, 1024u * P), PG(&h, 0));
    h_fini(&h);
}

static void test_grow_head(void **state)
{
    struct h h;
    const size_t P = 4096;
    (void)state;
    h_init_fake(&h, fake_base(1024u * P, 4096), 1024u * P, P);
    H_SET_CACHE(&h, 0);
    /* Only the last 256 pages are there yet. */
    H_RESERVE_PAGES(&h, 0, 768, ANALLOC_OK);
    assert_int_equal(STAT(&h.a, largest_free), 256u * P);
    uintptr_t p = H_ALLOC(&h, P);
    assert_int_equal(p, PG(&h, 768));
    /* The top of the reserved range: [600,608) [608,640) [640,768). */
    H_RELEASE_PAGES(&h, 600, 768, ANALLOC_OK);
    ENTRY_IS(&h, 0, 0, 600);
    assert_int_equal(STAT(&h.a, largest_free), 128u * P);
    assert_int_equal(STAT(&h.a, free_bytes), (168u + 255u) * P);
    /* New memory is allocatable: the lowest order-7 block is at 640. */
    uintptr_t q = H_ALLOC(&h, 128u * P);
    assert_int_equal(q, PG(&h, 640));
    H_FREE(&h, q);
    /* Freeing page 768 merges [768,1024) into order 8, not further (512-767 is partly reserved). */
    H_FREE(&h, p);
    assert_int_equal(STAT(&h.a, largest_free), 256u * P);
    /* The head, then the rest: the whole arena. */
    H_RELEASE_PAGES(&h, 0, 100, ANALLOC_OK);
    ENTRY_IS(&h, 0, 100, 600);
    assert_int_equal(STAT(&h.a, largest_free), 256u * P);
    H_RELEASE_PAGES(&h, 100, 512, ANALLOC_OK);
    ENTRY_IS(&h, 0, 512, 600);
    assert_int_equal(STAT(&h.a, largest_free), 512u * P); /* [0, 512) whole */
    H_RELEASE_PAGES(&h, 512, 600, ANALLOC_OK);
    assert_int_equal(TI_RANGES(&h.a), 0);
    assert_int_equal(STAT(&h.a, largest_free), 1024u * P);
    h_fini(&h);
}

/* Growing an arena of odd shape in random steps at both ends, against the
 * model, with allocations in between. */
static void test_grow_random_steps(void **state)
{
    struct rng r;
    (void)state;
    rng_seed(&r, g_seed, "grow_random_steps", 4);
    for (unsigned round = 0; round < scaled(8); round++) {
        struct h h;
        size_t page = 512, pages = 700u + rng_below(&r, 1400);
        uintptr_t base = fake_base(pages * page + 64u * page, 4096) + rng_below(&r, 64) * page;
        h_init_fake(&h, base, pages * page, page);
        size_t n = h.m.n, a0 = rng_below(&r, n / 2u), a1 = a0 + 1u + rng_below(&r, n - a0 - 1u);
        /* present: [a0, a1) */
        if (a0 > 0)
            H_RESERVE_PAGES(&h, 0, a0, ANALLOC_OK);
        if (a1 < n)
            H_RESERVE_PAGES(&h, a1, n, ANALLOC_OK);
        uintptr_t live[64];
        size_t nl = 0;
        while (a0 > 0 || a1 < n) {
            for (unsigned i = 0; i < 4 && nl < 64; i++) {
                uintptr_t p = H_ALLOC(&h, page << rng_below(&r, 4));
                if (p)
                    live[nl++] = p;
            }
            if (nl > 0 && rng_below(&r, 2)) {
                size_t i = rng_below(&r, nl);
                H_FREE(&h, live[i]);
                live[i] = live[--nl];
            }
            H_DRAIN(&h);
            size_t before = analloc_largest_free(&h.a);
            if (a1 < n && (a0 == 0 || rng_below(&r, 2))) {
                size_t step = 1u + rng_below(&r, n - a1);
                H_RELEASE_PAGES(&h, a1, a1 + step, ANALLOC_OK);
                a1 += step;
            } else {
                size_t step = 1u + rng_below(&r, a0);
                H_RELEASE_PAGES(&h, a0 - step, a0, ANALLOC_OK);
                a0 -= step;
            }
            /* Growing never shrinks the largest free block. */
            assert_true(STAT(&h.a, largest_free) >= before);
        }
        while (nl > 0)
            H_FREE(&h, live[--nl]);
        H_DRAIN(&h);
        expect_whole(&h);
        h_fini(&h);
    }
}

/* ======================================================================
 * 4. analloc_stats
 * ====================================================================== */

/* A hand-built state, every field worked out. */
static void test_stats_fields(void **state)
{
    struct h h;
    struct snap sn;
    const size_t P = 4096;
    (void)state;
    h_init_fake(&h, fake_base(64u * P, 4096), 64u * P, P);
    uintptr_t a1 = H_ALLOC(&h, P), a2 = H_ALLOC(&h, 3u * P), a3 = H_ALLOC(&h, 8u * P),
              a4 = H_ALLOC(&h, 1);
    assert_int_equal(a1, PG(&h, 0));
    assert_int_equal(a2, PG(&h, 4));
    assert_int_equal(a3, PG(&h, 8));
    assert_int_equal(a4, PG(&h, 1));
    H_FREE(&h, a4); /* cached */
    H_RESERVE_PAGES(&h, 32, 40, ANALLOC_OK);
    struct analloc_stats st;
    memset(&st, 0xA5, sizeof st);
    st.size = sizeof st;
    snap_take(&sn, &h.a);
    ASSERT_ERR(analloc_stats(&h.a, &st), ANALLOC_OK);
    SNAP_SAME(&sn, &h.a, "analloc_stats"); /* no drain */
    snap_free(&sn);
    assert_int_equal(st.size, sizeof st);
    assert_int_equal(st.page, P);
    assert_int_equal(st.managed_bytes, 64u * P);
    assert_int_equal(st.used_bytes, 13u * P);     /* 1 + 4 + 8 */
    assert_int_equal(st.reserved_bytes, 8u * P);
    assert_int_equal(st.free_bytes, 43u * P);     /* 64 - 13 - 8, the cached page included */
    assert_int_equal(st.cached_bytes, 1u * P);
    assert_int_equal(st.live_blocks, 3);
    assert_int_equal(st.cached_blocks, 1);
    assert_int_equal(st.largest_free, 16u * P);   /* [16,32) and [48,64) */
    assert_int_equal(st.meta_bytes, analloc_meta_bytes(&h.a));
    assert_true(st.meta_bytes > 0 && st.meta_bytes <= analloc_meta_size(64u * P, P));
    assert_int_equal(st.depth, 6);
    assert_int_equal(st.reserved_ranges, 1);
    /* free: [2,4) o1, [40,48) o3, [16,32) and [48,64) o4 */
    static const size_t fbo[64] = {0, 1, 0, 1, 2};
    for (unsigned k = 0; k < 64; k++)
        assert_int_equal(st.free_blocks_of_order[k], fbo[k]);
    static const size_t cbo[8] = {1};
    for (unsigned k = 0; k < CO; k++) /* past CO: test_stats_every_byte_defined */
        assert_int_equal(st.cached_blocks_of_order[k], cbo[k]);
    /* analloc_largest_free changes nothing; the drain merges page 1 (its
     * buddy is live: no larger block). */
    assert_int_equal(analloc_largest_free(&h.a), 16u * P);
    assert_int_equal(STAT(&h.a, cached_blocks), 1);
    H_DRAIN(&h);
    assert_int_equal(analloc_largest_free(&h.a), 16u * P);
    assert_int_equal(STAT(&h.a, cached_blocks), 0);
    assert_int_equal(STAT(&h.a, free_bytes), 43u * P);
    assert_int_equal(stat_field(&h.a, offsetof(struct analloc_stats, free_blocks_of_order)), 1u);
    /* free_bytes + used_bytes + reserved_bytes == managed_bytes, always */
    H_FREE(&h, a2);
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(&h.a, &st), ANALLOC_OK);
    assert_int_equal(st.free_bytes + st.used_bytes + st.reserved_bytes, st.managed_bytes);
    assert_int_equal(st.cached_blocks_of_order[2], 1);
    (void)a1;
    (void)a3;
    h_fini(&h);
}

/* Paint the stack below the caller with a byte, so that a field the library
 * leaves unwritten shows up as that byte. */
static void __attribute__((noinline)) paint_stack(unsigned char v)
{
    volatile unsigned char buf[16384];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = v;
}

static void __attribute__((noinline)) stats_after_paint(analloc_t a, struct analloc_stats *st,
                                                        unsigned char v)
{
    paint_stack(v);
    memset(st, v, sizeof *st);
    st->size = sizeof *st;
    ASSERT_ERR(analloc_stats(a, st), ANALLOC_OK);
}

/* Every byte of a full-size result is defined: fields past the depth and
 * past the cached orders read 0, whatever was on the stack. */
static void test_stats_every_byte_defined(void **state)
{
    struct h h;
    struct analloc_stats s1, s2;
    (void)state;
    h_init_fake(&h, fake_base(100u * 4096u, 4096) + 4096u, 100u * 4096u, 4096);
    stats_after_paint(&h.a, &s1, 0xA5);
    stats_after_paint(&h.a, &s2, 0x5A);
    for (unsigned k = CO; k < 8; k++) {
        if (s1.cached_blocks_of_order[k] != 0)
            fail_msg("cached_blocks_of_order[%u] = %#zx: not written (stack garbage)", k,
                     s1.cached_blocks_of_order[k]);
    }
    for (unsigned k = h.a.depth + 1u; k < 64; k++)
        if (s1.free_blocks_of_order[k] != 0)
            fail_msg("free_blocks_of_order[%u] = %#zx: not written", k, s1.free_blocks_of_order[k]);
    if (memcmp(&s1, &s2, sizeof s1) != 0) {
        const unsigned char *b1 = (const unsigned char *)&s1, *b2 = (const unsigned char *)&s2;
        size_t i = 0;
        while (b1[i] == b2[i])
            i++;
        fail_msg("analloc_stats output depends on the stack: byte %zu of %zu is %#x or %#x", i,
                 sizeof s1, b1[i], b2[i]);
    }
    VERIFY(&h);
    h_fini(&h);
}

/* The size/version rule: a shorter st->size fills only that many bytes; a
 * larger one fills sizeof and says so; too small or NULL: EINVAL. */
static void test_stats_size_rule(void **state)
{
    struct h h;
    struct analloc_stats full;
    union {
        struct analloc_stats st;
        unsigned char b[sizeof(struct analloc_stats) + 64];
    } u;
    (void)state;
    h_init_fake(&h, fake_base(64u * 4096u, 4096), 64u * 4096u, 4096);
    (void)H_ALLOC(&h, 3u * 4096u);
    H_RESERVE_PAGES(&h, 40, 41, ANALLOC_OK);
    memset(&full, 0, sizeof full);
    full.size = sizeof full;
    ASSERT_ERR(analloc_stats(&h.a, &full), ANALLOC_OK);
    const unsigned char *fb = (const unsigned char *)&full;
    /* Bytes compared with the full result: up to the cached orders in use
     * (the rest is test_stats_every_byte_defined's). */
    const size_t defined = offsetof(struct analloc_stats, cached_blocks_of_order) + CO * sizeof(size_t);
    const size_t sizes[] = {sizeof(size_t),
                            2u * sizeof(size_t),
                            offsetof(struct analloc_stats, free_bytes) + 3u,
                            offsetof(struct analloc_stats, depth),
                            offsetof(struct analloc_stats, reserved_ranges) + 1u,
                            offsetof(struct analloc_stats, free_blocks_of_order) + 1u,
                            offsetof(struct analloc_stats, cached_blocks_of_order),
                            sizeof(struct analloc_stats) - 1u,
                            sizeof(struct analloc_stats)};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        memset(u.b, 0xA5, sizeof u.b);
        u.st.size = n;
        ASSERT_ERR(analloc_stats(&h.a, &u.st), ANALLOC_OK);
        assert_int_equal(u.st.size, n);
        size_t cmp = n < defined ? n : defined;
        if (cmp > sizeof(size_t))
            assert_memory_equal(u.b + sizeof(size_t), fb + sizeof(size_t), cmp - sizeof(size_t));
        for (size_t j = n; j < sizeof u.b; j++)
            if (u.b[j] != 0xA5)
                fail_msg("size %zu: byte %zu written (%#x)", n, j, u.b[j]);
    }
    /* Larger than the struct (a newer caller): sizeof filled and reported. */
    const size_t big[] = {sizeof(struct analloc_stats) + 1u, sizeof(struct analloc_stats) + 64u,
                          SIZE_MAX};
    for (size_t i = 0; i < sizeof big / sizeof *big; i++) {
        memset(u.b, 0xA5, sizeof u.b);
        u.st.size = big[i];
        ASSERT_ERR(analloc_stats(&h.a, &u.st), ANALLOC_OK);
        assert_int_equal(u.st.size, sizeof(struct analloc_stats));
        assert_memory_equal(u.b + sizeof(size_t), fb + sizeof(size_t), defined - sizeof(size_t));
        for (size_t j = sizeof(struct analloc_stats); j < sizeof u.b; j++)
            assert_int_equal(u.b[j], 0xA5);
    }
    /* EINVAL: NULL, size below sizeof(size_t), an allocator never set up;
     * the buffer is not written. */
    struct snap sn;
    snap_take(&sn, &h.a);
    ASSERT_ERR(analloc_stats(&h.a, NULL), ANALLOC_EINVAL);
    for (size_t n = 0; n < sizeof(size_t); n++) {
        memset(u.b, 0xA5, sizeof u.b);
        u.st.size = n;
        ASSERT_ERR(analloc_stats(&h.a, &u.st), ANALLOC_EINVAL);
        assert_int_equal(u.st.size, n);
        for (size_t j = sizeof(size_t); j < sizeof u.b; j++)
            assert_int_equal(u.b[j], 0xA5);
    }
    SNAP_SAME(&sn, &h.a, "refused analloc_stats");
    snap_free(&sn);
    struct analloc z;
    memset(&z, 0, sizeof z);
    memset(u.b, 0xA5, sizeof u.b);
    u.st.size = sizeof u.st;
    ASSERT_ERR(analloc_stats(&z, &u.st), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_stats(NULL, &u.st), ANALLOC_EINVAL);
    memset(&z, 0x5a, sizeof z);
    ASSERT_ERR(analloc_stats(&z, &u.st), ANALLOC_EINVAL);
    assert_int_equal(u.st.size, sizeof u.st);
    for (size_t j = sizeof(size_t); j < sizeof u.b; j++)
        assert_int_equal(u.b[j], 0xA5);
    h_fini(&h);
}

/* ======================================================================
 * 5. analloc_frag_index
 * ====================================================================== */

#define FRAG_IS(a, order, want) ASSERT_ERR(analloc_frag_index((a), (order)), (want))

static void test_frag_index_values(void **state)
{
    struct h h;
    const size_t P = 4096;
    uintptr_t pg[64];
    (void)state;
    h_init_fake(&h, fake_base(64u * P, 4096), 64u * P, P);
    /* Fresh: one free block of order 6 suits every order. */
    for (unsigned k = 0; k <= 6; k++)
        FRAG_IS(&h.a, k, -1000);
    /* Everything allocated: 0 (nothing free). */
    for (unsigned i = 0; i < 64; i++)
        pg[i] = H_ALLOC(&h, P);
    for (unsigned k = 0; k <= 6; k++)
        FRAG_IS(&h.a, k, 0);
    /* Pages 0, 2, 4, 6 free (in the cache): 4 blocks of order 0, 4 pages.
     * order 1: 1000 - (1000 + 4000/2)/4 = 1000 - 750 = 250
     * order 2: 1000 - (1000 + 4000/4)/4 = 500
     * order 3: 1000 - (1000 + 500)/4 = 625
     * order 4: 1000 - (1000 + 250)/4 = 1000 - 312 = 688
     * order 5: 1000 - (1000 + 125)/4 = 1000 - 281 = 719
     * order 6: 1000 - (1000 + 62)/4 = 1000 - 265 = 735 */
    for (unsigned i = 0; i < 8; i += 2)
        H_FREE(&h, pg[i]);
    assert_int_equal(TI_CACHED_BLOCKS(&h.a), 4);
    static const int four[7] = {-1000, 250, 500, 625, 688, 719, 735};
    for (unsigned k = 0; k <= 6; k++)
        FRAG_IS(&h.a, k, four[k]);
    /* The same, drained into the buddy system (nothing merges). */
    H_DRAIN(&h);
    for (unsigned k = 0; k <= 6; k++)
        FRAG_IS(&h.a, k, four[k]);
    /* Pages 8 and 9 freed into the cache: two more order-0 blocks, 6 pages.
     * order 1: 1000 - (1000 + 3000)/6 = 1000 - 666 = 334
     * order 2: 1000 - (1000 + 1500)/6 = 1000 - 416 = 584
     * order 3: 1000 - (1000 + 750)/6 = 1000 - 291 = 709
     * order 4: 1000 - (1000 + 375)/6 = 1000 - 229 = 771
     * order 5: 1000 - (1000 + 187)/6 = 1000 - 197 = 803
     * order 6: 1000 - (1000 + 93)/6 = 1000 - 182 = 818 */
    H_FREE(&h, pg[8]);
    H_FREE(&h, pg[9]);
    static const int six[7] = {-1000, 334, 584, 709, 771, 803, 818};
    for (unsigned k = 0; k <= 6; k++)
        FRAG_IS(&h.a, k, six[k]);
    /* Drained, 8 and 9 merge: 5 blocks (one of order 1), 6 pages.
     * order 1: -1000 (a block of order 1)
     * order 2: 1000 - (1000 + 1500)/5 = 500
     * order 3: 1000 - (1000 + 750)/5 = 650
     * order 4: 1000 - (1000 + 375)/5 = 725
     * order 5: 1000 - (1000 + 187)/5 = 1000 - 237 = 763
     * order 6: 1000 - (1000 + 93)/5 = 1000 - 218 = 782 */
    H_DRAIN(&h);
    static const int five[7] = {-1000, -1000, 500, 650, 725, 763, 782};
    for (unsigned k = 0; k <= 6; k++)
        FRAG_IS(&h.a, k, five[k]);
    /* A cached block of order 2 suits orders up to 2. */
    H_SET_CACHE(&h, ANALLOC_CACHE_MAX);
    H_FREE(&h, pg[12]);
    H_FREE(&h, pg[13]);
    H_FREE(&h, pg[14]);
    H_FREE(&h, pg[15]);
    H_DRAIN(&h); /* [12,16) merged: an order-2 block */
    uintptr_t b2 = H_ALLOC(&h, 4u * P);
    assert_int_equal(b2, PG(&h, 12));
    H_FREE(&h, b2);
    assert_int_equal(TI_CACHED(&h.a, 2), 1);
    /* 6 blocks: 0,2,4,6 o0, [8,10) o1, [12,16) o2 cached; 10 pages.
     * order 3: 1000 - (1000 + 1250)/6 = 1000 - 375 = 625 */
    FRAG_IS(&h.a, 2, -1000);
    FRAG_IS(&h.a, 3, 625);
    /* Reserved pages are not free: reserve all the free ones but page 0. */
    H_RESERVE_PAGES(&h, 2, 3, ANALLOC_OK);
    H_RESERVE_PAGES(&h, 4, 5, ANALLOC_OK);
    H_RESERVE_PAGES(&h, 6, 7, ANALLOC_OK);
    H_RESERVE_PAGES(&h, 8, 10, ANALLOC_OK);
    H_RESERVE_PAGES(&h, 12, 16, ANALLOC_OK); /* drains the cache */
    /* 1 block, 1 page: order 1: 1000 - (1000 + 500)/1 = -500 in Linux's
     * formula, clamped to 0 (see test_frag_index_single_free_block). */
    FRAG_IS(&h.a, 0, -1000);
    FRAG_IS(&h.a, 1, 0);
    FRAG_IS(&h.a, 2, 0);
    FRAG_IS(&h.a, 6, 0);
    H_RESERVE_PAGES(&h, 0, 1, ANALLOC_OK);
    for (unsigned k = 0; k <= 6; k++)
        FRAG_IS(&h.a, k, 0);
    /* EINVAL: order > depth; an allocator never set up. */
    FRAG_IS(&h.a, 7, ANALLOC_EINVAL);
    FRAG_IS(&h.a, 64, ANALLOC_EINVAL);
    FRAG_IS(&h.a, UINT_MAX, ANALLOC_EINVAL);
    struct analloc z;
    memset(&z, 0, sizeof z);
    FRAG_IS(&z, 0, ANALLOC_EINVAL);
    FRAG_IS(NULL, 0, ANALLOC_EINVAL);
    memset(&z, 0x5a, sizeof z);
    FRAG_IS(&z, 0, ANALLOC_EINVAL);
    h_fini(&h);
}

/* An arena of odd shape: depth below log2(pages); frag_index at depth is
 * valid, depth + 1 is not. */
static void test_frag_index_odd_arena(void **state)
{
    struct h h;
    const size_t P = 4096;
    (void)state;
    h_init_fake(&h, fake_base(200u * P, 4096) + 3u * P, 100u * P, P);
    /* pages 3..102: [3] [4,8) [8,16) [16,32) [32,64) [64,96) [96,100) [100,102) [102] */
    assert_int_equal(h.a.depth, 5);
    for (unsigned k = 0; k <= 5; k++)
        FRAG_IS(&h.a, k, -1000);
    FRAG_IS(&h.a, 6, ANALLOC_EINVAL);
    /* Take both order-5 blocks: 7 blocks, 36 pages left.
     * order 5: 1000 - (1000 + 36000/32)/7 = 1000 - 2125/7 = 1000 - 303 = 697 */
    uintptr_t x = H_ALLOC(&h, 32u * P), y = H_ALLOC(&h, 32u * P);
    assert_int_equal(x, PG(&h, 29));
    assert_int_equal(y, PG(&h, 61));
    FRAG_IS(&h.a, 5, 697);
    FRAG_IS(&h.a, 4, -1000);
    h_fini(&h);
}

/* One free block smaller than the request: Linux's formula with one block
 * gives 1000 - (1000 + 1000 * F / R) = -(1000 * F / R), below 0, and -1
 * (which is ANALLOC_EINVAL) when R / F is 512 to 999: analloc clamps it to
 * 0, "the request fails for lack of memory".  With two blocks the formula
 * is positive again. */
static void test_frag_index_single_free_block(void **state)
{
    struct h h;
    const size_t P = 4096;
    (void)state;
    h_init_fake(&h, fake_base(1024u * P, 4096), 1024u * P, P);
    assert_int_equal(h.a.depth, 10);
    H_RESERVE_PAGES(&h, 1, 1024, ANALLOC_OK); /* one free page: page 0 */
    static const int want[11] = {-1000, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (unsigned k = 0; k <= 10; k++)
        FRAG_IS(&h.a, k, want[k]);
    /* A free block of 4 pages: -(4000 / 2^k) for k > 2, clamped. */
    H_RELEASE_PAGES(&h, 1, 4, ANALLOC_OK);
    static const int want4[11] = {-1000, -1000, -1000, 0, 0, 0, 0, 0, 0, 0, 0};
    for (unsigned k = 0; k <= 10; k++)
        FRAG_IS(&h.a, k, want4[k]);
    h_fini(&h);
}

/* ======================================================================
 * 6. analloc_walk
 * ====================================================================== */

static int walk_count_only(void *ctx, void *block, size_t bytes, unsigned kind)
{
    (void)block;
    (void)bytes;
    (void)kind;
    ++*(size_t *)ctx;
    return 0;
}

struct dump_lines {
    char lines[80][256];
    size_t n;
};

static void dump_collect(void *ctx, const char *line)
{
    struct dump_lines *d = ctx;
    assert_true(d->n < 80);
    assert_true(strlen(line) < sizeof d->lines[0]);
    strcpy(d->lines[d->n++], line);
}

/* The map's characters for order k (NULL if the line is missing). */
static const char *dump_order(const struct dump_lines *d, unsigned k)
{
    for (size_t i = 0; i < d->n; i++) {
        unsigned kk;
        if (sscanf(d->lines[i], "  order %u", &kk) == 1 && kk == k) {
            const char *bar = strchr(d->lines[i], '|');
            return bar ? bar + 1 : NULL;
        }
    }
    return NULL;
}

/* Every walked block at its order in the dump: F, U, c, or R for each block
 * of a reserved range; 'S' above it, '-' below. */
static void walk_vs_dump(struct h *h)
{
    struct dump_lines d;
    struct wlist w = {0};
    d.n = 0;
    analloc_dump(&h->a, dump_collect, &d, 128);
    ASSERT_ERR(analloc_walk(&h->a, ANALLOC_BLOCK_ALL, walk_collect, &w), 0);
    unsigned shift = h->m.shift, depth = h->m.depth;
    for (size_t i = 0; i < w.n; i++) {
        uintptr_t p0 = w.e[i].p >> shift, p1 = p0 + (w.e[i].bytes >> shift);
        for (uintptr_t p = p0; p < p1; p++) {
            int found = -1;
            for (unsigned k = 0; k <= depth; k++) {
                const char *line = dump_order(&d, k);
                assert_non_null(line);
                char c = line[(p >> k) - (h->m.lo >> k)];
                if (c == 'S' || c == '-')
                    continue;
                if (found >= 0)
                    fail_msg("page %#llx: a block at orders %d and %u", (unsigned long long)p,
                             found, k);
                found = (int)k;
                char want = w.e[i].kind == ANALLOC_BLOCK_FREE     ? 'F'
                            : w.e[i].kind == ANALLOC_BLOCK_USED   ? 'U'
                            : w.e[i].kind == ANALLOC_BLOCK_CACHED ? 'c'
                                                                  : 'R';
                if (c != want)
                    fail_msg("page %#llx order %u: dump says '%c', walk says %s",
                             (unsigned long long)p, k, c, kind_name(w.e[i].kind));
                if (w.e[i].kind != ANALLOC_BLOCK_RESERVED) {
                    assert_int_equal((size_t)h->m.page << k, w.e[i].bytes);
                } else {
                    uintptr_t first = (p >> k) << k;
                    assert_true(first >= p0 && first + ((uintptr_t)1 << k) <= p1);
                }
                for (unsigned up = k + 1u; up <= depth; up++)
                    assert_int_equal(dump_order(&d, up)[(p >> up) - (h->m.lo >> up)], 'S');
                for (unsigned dn = 0; dn < k; dn++)
                    assert_int_equal(dump_order(&d, dn)[(p >> dn) - (h->m.lo >> dn)], '-');
            }
            if (found < 0)
                fail_msg("page %#llx: no block in the dump", (unsigned long long)p);
        }
    }
    wl_fini(&w);
}

static void test_walk_kinds_and_order(void **state)
{
    struct h h;
    struct snap sn;
    const size_t P = 4096;
    (void)state;
    h_init_fake(&h, fake_base(16u * P, 4096), 16u * P, P);
    uintptr_t p0 = H_ALLOC(&h, P), p1 = H_ALLOC(&h, 2u * P), p2 = H_ALLOC(&h, P);
    assert_int_equal(p0, PG(&h, 0));
    assert_int_equal(p1, PG(&h, 2));
    assert_int_equal(p2, PG(&h, 1));
    H_FREE(&h, p2); /* cached */
    H_RESERVE_PAGES(&h, 8, 11, ANALLOC_OK);
    const struct went all[] = {
        {PG(&h, 0), P, ANALLOC_BLOCK_USED},      {PG(&h, 1), P, ANALLOC_BLOCK_CACHED},
        {PG(&h, 2), 2u * P, ANALLOC_BLOCK_USED}, {PG(&h, 4), 4u * P, ANALLOC_BLOCK_FREE},
        {PG(&h, 8), 3u * P, ANALLOC_BLOCK_RESERVED}, {PG(&h, 11), P, ANALLOC_BLOCK_FREE},
        {PG(&h, 12), 4u * P, ANALLOC_BLOCK_FREE},
    };
    const size_t nall = sizeof all / sizeof *all;
    snap_take(&sn, &h.a);
    for (unsigned kinds = 0; kinds <= ANALLOC_BLOCK_ALL; kinds++) {
        struct wlist got = {0}, want = {0};
        for (size_t i = 0; i < nall; i++)
            if (all[i].kind & kinds)
                wl_add(&want, all[i].p, all[i].bytes, all[i].kind);
        ASSERT_ERR(analloc_walk(&h.a, kinds, walk_collect, &got), 0);
        WL_SAME(&got, &want);
        if (kinds == ANALLOC_BLOCK_ALL) {
            size_t sum = 0;
            for (size_t i = 0; i < got.n; i++)
                sum += got.e[i].bytes;
            assert_int_equal(sum, h.a.managed);
        }
        wl_fini(&got);
        wl_fini(&want);
    }
    SNAP_SAME(&sn, &h.a, "analloc_walk"); /* the walk changes nothing */
    snap_free(&sn);
    walk_vs_dump(&h);
    /* Two reserved ranges with a free page between: one call each. */
    H_RESERVE_PAGES(&h, 12, 13, ANALLOC_OK);
    H_RESERVE_PAGES(&h, 14, 16, ANALLOC_OK);
    {
        struct wlist got = {0};
        ASSERT_ERR(analloc_walk(&h.a, ANALLOC_BLOCK_RESERVED | ANALLOC_BLOCK_FREE, walk_collect,
                                &got), 0);
        const struct went want[] = {
            {PG(&h, 4), 4u * P, ANALLOC_BLOCK_FREE},      {PG(&h, 8), 3u * P, ANALLOC_BLOCK_RESERVED},
            {PG(&h, 11), P, ANALLOC_BLOCK_FREE},          {PG(&h, 12), P, ANALLOC_BLOCK_RESERVED},
            {PG(&h, 13), P, ANALLOC_BLOCK_FREE},          {PG(&h, 14), 2u * P, ANALLOC_BLOCK_RESERVED},
        };
        assert_int_equal(got.n, sizeof want / sizeof *want);
        for (size_t i = 0; i < got.n; i++) {
            assert_int_equal(got.e[i].p, want[i].p);
            assert_int_equal(got.e[i].bytes, want[i].bytes);
            assert_int_equal(got.e[i].kind, want[i].kind);
        }
        wl_fini(&got);
    }
    walk_vs_dump(&h);
    /* A reserved range merged from pieces of several blocks: still one call. */
    H_RESERVE_PAGES(&h, 13, 14, ANALLOC_OK);
    H_RESERVE_PAGES(&h, 11, 12, ANALLOC_OK);
    {
        struct wlist got = {0};
        ASSERT_ERR(analloc_walk(&h.a, ANALLOC_BLOCK_RESERVED, walk_collect, &got), 0);
        assert_int_equal(got.n, 1);
        assert_int_equal(got.e[0].p, PG(&h, 8));
        assert_int_equal(got.e[0].bytes, 8u * P);
        wl_fini(&got);
    }
    walk_vs_dump(&h);
    h_fini(&h);
}

static void test_walk_early_stop_and_errors(void **state)
{
    struct h h;
    const size_t P = 4096;
    (void)state;
    h_init_fake(&h, fake_base(16u * P, 4096), 16u * P, P);
    (void)H_ALLOC(&h, P);
    (void)H_ALLOC(&h, 2u * P);
    H_RESERVE_PAGES(&h, 8, 11, ANALLOC_OK);
    /* all: [0] U, [1] F, [2,4) U, [4,8) F, [8,11) R, [11] F, [12,16) F */
    static const int vals[] = {7, -5, 1, INT_MAX, INT_MIN, ANALLOC_EINVAL};
    for (size_t v = 0; v < sizeof vals / sizeof *vals; v++)
        for (size_t at = 1; at <= 7; at++) {
            struct wlist w = {0};
            w.stop_at = at;
            w.stop_val = vals[v];
            ASSERT_ERR(analloc_walk(&h.a, ANALLOC_BLOCK_ALL, walk_collect, &w), vals[v]);
            assert_int_equal(w.calls, at);
            wl_fini(&w);
        }
    /* Stop on the reserved range, walking only reserved and used. */
    {
        struct wlist w = {0};
        w.stop_at = 3;
        w.stop_val = 42;
        ASSERT_ERR(analloc_walk(&h.a, ANALLOC_BLOCK_RESERVED | ANALLOC_BLOCK_USED, walk_collect, &w),
                   42);
        assert_int_equal(w.calls, 3);
        assert_int_equal(w.e[2].kind, ANALLOC_BLOCK_RESERVED);
        assert_int_equal(w.e[2].bytes, 3u * P);
        wl_fini(&w);
    }
    /* EINVAL: NULL fn, unknown kinds, not set up; the callback is not called. */
    struct snap sn;
    size_t calls = 0;
    snap_take(&sn, &h.a);
    ASSERT_ERR(analloc_walk(&h.a, ANALLOC_BLOCK_ALL, NULL, &calls), ANALLOC_EINVAL);
    static const unsigned bad[] = {0x10u, 0x1fu, 0x80u, 0x100u, 0x80000000u, ~0u};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ASSERT_ERR(analloc_walk(&h.a, bad[i], walk_count_only, &calls), ANALLOC_EINVAL);
    assert_int_equal(calls, 0);
    /* kinds 0 is not unknown: nothing is visited. */
    ASSERT_ERR(analloc_walk(&h.a, 0, walk_count_only, &calls), 0);
    assert_int_equal(calls, 0);
    SNAP_SAME(&sn, &h.a, "analloc_walk");
    snap_free(&sn);
    struct analloc z;
    memset(&z, 0, sizeof z);
    ASSERT_ERR(analloc_walk(&z, ANALLOC_BLOCK_ALL, walk_count_only, &calls), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_walk(NULL, ANALLOC_BLOCK_ALL, walk_count_only, &calls), ANALLOC_EINVAL);
    memset(&z, 0x5a, sizeof z);
    ASSERT_ERR(analloc_walk(&z, ANALLOC_BLOCK_ALL, walk_count_only, &calls), ANALLOC_EINVAL);
    assert_int_equal(calls, 0);
    h_fini(&h);
}

/* Random states of an arena that fits the dump's width: walk == model and
 * walk == dump. */
static void test_walk_vs_dump_random(void **state)
{
    struct rng r;
    (void)state;
    rng_seed(&r, g_seed, "walk_vs_dump_random", 5);
    for (unsigned round = 0; round < scaled(40); round++) {
        struct h h;
        size_t page = 64, pages = 1u + rng_below(&r, 128);
        uintptr_t base = fake_base(256u * page, 4096) + rng_below(&r, 128) * page;
        h_init_fake(&h, base, pages * page, page);
        for (unsigned op = 0; op < 40; op++) {
            unsigned what = (unsigned)rng_below(&r, 4);
            if (what == 0) {
                (void)H_ALLOC(&h, page << rng_below(&r, 4));
            } else if (what == 1) {
                for (size_t i = 0; i < model_arena_live(h.m.ma); i++)
                    if (rng_below(&r, 3) == 0) {
                        H_FREE(&h, m_live(&h.m, i) << h.m.shift);
                        break;
                    }
            } else if (what == 2) {
                size_t i0 = rng_below(&r, h.m.n), len = 1u + rng_below(&r, 6);
                if (i0 + len > h.m.n)
                    len = h.m.n - i0;
                (void)H_RESERVE_PAGES(&h, i0, i0 + len, ANY_RC);
            } else {
                size_t i0 = rng_below(&r, h.m.n), len = 1u + rng_below(&r, 3);
                if (i0 + len > h.m.n)
                    len = h.m.n - i0;
                (void)H_RELEASE_PAGES(&h, i0, i0 + len, ANY_RC);
            }
            walk_vs_dump(&h);
        }
        h_fini(&h);
    }
}

/* ======================================================================
 * 7. Corruption of the reserved table
 * ====================================================================== */

/* Apply a corruption; check must say ECORRUPT; restore the struct and the
 * metadata; check must pass again. */
#define EXPECT_CORRUPT(hh, stmt)                                              \
    do {                                                                      \
        struct analloc saved_ = (hh)->a;                                      \
        unsigned char *meta_copy_ = malloc((hh)->meta_size);                  \
        assert_non_null(meta_copy_);                                          \
        memcpy(meta_copy_, (hh)->meta, (hh)->meta_size);                      \
        struct analloc *s_ = &(hh)->a;                      \
        stmt;                                                                 \
        int err_ = analloc_check(&(hh)->a);                                   \
        (hh)->a = saved_;                                                     \
        memcpy((hh)->meta, meta_copy_, (hh)->meta_size);                      \
        free(meta_copy_);                                                     \
        if (err_ != ANALLOC_ECORRUPT)                                         \
            fail_msg("%s: analloc_check returned %d", #stmt, err_);           \
        CHECK_OK(&(hh)->a);                                                   \
    } while (0)

/* Insert [e0, e1) (absolute pages) into the table, sorted, and count its
 * pages: a well-formed table that lies about the blocks. */
static void table_insert(struct analloc *s, uintptr_t e0, uintptr_t e1)
{
    unsigned i = 0;
    while (i < TI_RANGES(s) && TI_RESERVE(s, i, 0) < e0)
        i++;
    for (unsigned t = TI_RANGES(s); t > i; t--) {
        TI_RESERVE(s, t, 0) = TI_RESERVE(s, t - 1u, 0);
        TI_RESERVE(s, t, 1) = TI_RESERVE(s, t - 1u, 1);
    }
    TI_RESERVE(s, i, 0) = e0;
    TI_RESERVE(s, i, 1) = e1;
    TI_RANGES(s)++;
    TI_RESERVED_PAGES(s) += (size_t)(e1 - e0);
}

/* Remove entry i and its pages. */
static void table_remove(struct analloc *s, unsigned i)
{
    TI_RESERVED_PAGES(s) -= (size_t)(TI_RESERVE(s, i, 1) - TI_RESERVE(s, i, 0));
    for (unsigned t = i; t + 1u < TI_RANGES(s); t++) {
        TI_RESERVE(s, t, 0) = TI_RESERVE(s, t + 1u, 0);
        TI_RESERVE(s, t, 1) = TI_RESERVE(s, t + 1u, 1);
    }
    TI_RANGES(s)--;
    TI_RESERVE(s, TI_RANGES(s), 0) = TI_RESERVE(s, TI_RANGES(s), 1) = 0;
}

static void swap_entries(struct analloc *s, unsigned i, unsigned j)
{
    uintptr_t t0 = TI_RESERVE(s, i, 0), t1 = TI_RESERVE(s, i, 1);
    TI_RESERVE(s, i, 0) = TI_RESERVE(s, j, 0);
    TI_RESERVE(s, i, 1) = TI_RESERVE(s, j, 1);
    TI_RESERVE(s, j, 0) = t0;
    TI_RESERVE(s, j, 1) = t1;
}

/* Split entry i at page mid (inside it) into two adjacent entries. */
static void split_entry(struct analloc *s, unsigned i, uintptr_t mid)
{
    uintptr_t e1 = TI_RESERVE(s, i, 1);
    for (unsigned t = TI_RANGES(s); t > i + 1u; t--) {
        TI_RESERVE(s, t, 0) = TI_RESERVE(s, t - 1u, 0);
        TI_RESERVE(s, t, 1) = TI_RESERVE(s, t - 1u, 1);
    }
    TI_RESERVE(s, i, 1) = mid;
    TI_RESERVE(s, i + 1u, 0) = mid;
    TI_RESERVE(s, i + 1u, 1) = e1;
    TI_RANGES(s)++;
}

/* A block of the given kind that is not next to a reserved page: its first
 * page and pages, from the walk. */
static bool find_block(struct h *h, unsigned kind, size_t min_pages, uintptr_t *p0, uintptr_t *p1)
{
    struct wlist w = {0};
    bool found = false;
    ASSERT_ERR(analloc_walk(&h->a, ANALLOC_BLOCK_ALL, walk_collect, &w), 0);
    for (size_t i = 0; i < w.n && !found; i++) {
        if (w.e[i].kind != kind || (w.e[i].bytes >> h->m.shift) < min_pages)
            continue;
        if ((i > 0 && w.e[i - 1u].kind == ANALLOC_BLOCK_RESERVED) ||
            (i + 1u < w.n && w.e[i + 1u].kind == ANALLOC_BLOCK_RESERVED))
            continue;
        *p0 = w.e[i].p >> h->m.shift;
        *p1 = *p0 + (w.e[i].bytes >> h->m.shift);
        found = true;
    }
    wl_fini(&w);
    return found;
}

static void test_check_corrupted_reserved_table(void **state)
{
    struct h h;
    (void)state;
    /* An arena that starts 3 pages past an aligned boundary, with live,
     * free and cached blocks and three reserved ranges. */
    h_init_fake(&h, fake_base(600u * 4096u, 4096) + 3u * 4096u, 512u * 4096u, 4096);
    H_RESERVE_PAGES(&h, 200, 210, ANALLOC_OK); /* several blocks */
    H_RESERVE_PAGES(&h, 240, 241, ANALLOC_OK); /* one page */
    H_RESERVE_PAGES(&h, 300, 364, ANALLOC_OK); /* odd start: many blocks */
    H_RESERVE_PAGES(&h, 397, 413, ANALLOC_OK); /* absolute [400, 416): one block */
    for (unsigned i = 0; i < 24; i++)
        (void)H_ALLOC(&h, (size_t)4096u << (i % 5u));
    uintptr_t c1 = H_ALLOC(&h, 4096), c2 = H_ALLOC(&h, 8192);
    H_FREE(&h, c1);
    H_FREE(&h, c2);
    assert_int_equal(TI_CACHED_BLOCKS(&h.a), 2);
    CHECK_OK(&h.a);
    struct analloc *s = &h.a;
    assert_int_equal(TI_RANGES(s), 4);
    uintptr_t R0a = TI_RESERVE(s, 0, 0), R0b = TI_RESERVE(s, 0, 1);

    /* Unsorted. */
    EXPECT_CORRUPT(&h, swap_entries(s_, 0, 1));
    EXPECT_CORRUPT(&h, swap_entries(s_, 1, 2));
    EXPECT_CORRUPT(&h, swap_entries(s_, 0, 2));
    EXPECT_CORRUPT(&h, swap_entries(s_, 2, 3));
    /* Overlapping (the pages counted either way). */
    EXPECT_CORRUPT(&h, TI_RESERVE(s_, 1, 0) = R0b - 1u);
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 1, 0) = R0b - 1u,
                        TI_RESERVED_PAGES(s_) += RP(&h, 240) - (R0b - 1u)));
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 1, 0) = R0a, TI_RESERVE(s_, 1, 1) = R0b,
                        TI_RESERVED_PAGES(s_) -= 1u, TI_RESERVED_PAGES(s_) += R0b - R0a));
    /* Adjacent, not merged: split where the range's blocks meet, so that
     * every block lies wholly in one half.  The arena starts 3 pages past a
     * boundary: arena pages [200, 210) are absolute [203, 213), cut as 203,
     * [204, 208), [208, 212), 212; arena page 205 is absolute 208.  Arena
     * pages [300, 364) are cut at absolute 304, 320, 352, ...: arena 317 is
     * absolute 320. */
    EXPECT_CORRUPT(&h, split_entry(s_, 0, RP(&h, 205)));
    EXPECT_CORRUPT(&h, split_entry(s_, 2, RP(&h, 317)));
    EXPECT_CORRUPT(&h, split_entry(s_, 2, RP(&h, 301)));
    /* The count: too high (a zero entry counted), too low (an entry past
     * the count). */
    EXPECT_CORRUPT(&h, TI_RANGES(s_) = 5);
    EXPECT_CORRUPT(&h, TI_RANGES(s_) = RMAX);
    EXPECT_CORRUPT(&h, TI_RANGES(s_) = RMAX + 1u);
    EXPECT_CORRUPT(&h, TI_RANGES(s_) = UINT_MAX);
    EXPECT_CORRUPT(&h, TI_RANGES(s_) = 3);
    EXPECT_CORRUPT(&h, TI_RANGES(s_) = 0);
    /* A nonzero unused slot. */
    EXPECT_CORRUPT(&h, TI_RESERVE(s_, 4, 0) = RP(&h, 500));
    EXPECT_CORRUPT(&h, TI_RESERVE(s_, 4, 1) = RP(&h, 500));
    EXPECT_CORRUPT(&h, TI_RESERVE(s_, RMAX - 1u, 1) = 1u);
    EXPECT_CORRUPT(&h, TI_RESERVE(s_, 5, 0) = TI_RESERVE(s_, 5, 1) = RP(&h, 500));
    /* reserved_pages off by one either way, or zero. */
    EXPECT_CORRUPT(&h, TI_RESERVED_PAGES(s_) += 1u);
    EXPECT_CORRUPT(&h, TI_RESERVED_PAGES(s_) -= 1u);
    EXPECT_CORRUPT(&h, TI_RESERVED_PAGES(s_) = 0);
    /* Entries outside the arena or empty. */
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 0, 0) = TI_LO(s_) - 1u,
                        TI_RESERVED_PAGES(s_) += R0a - (TI_LO(s_) - 1u)));
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 3, 1) = TI_HI(s_) + 1u,
                        TI_RESERVED_PAGES(s_) += TI_HI(s_) + 1u - RP(&h, 413)));
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 1, 1) = TI_RESERVE(s_, 1, 0), TI_RESERVED_PAGES(s_) -= 1u));
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 1, 1) = TI_RESERVE(s_, 1, 0) - 1u,
                        TI_RESERVED_PAGES(s_) -= 2u));
    /* An entry lost: its blocks look live but are not counted. */
    EXPECT_CORRUPT(&h, table_remove(s_, 1));
    EXPECT_CORRUPT(&h, table_remove(s_, 0));
    /* Shrunk or grown by a page (pages adjusted). */
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 2, 1) -= 1u, TI_RESERVED_PAGES(s_) -= 1u));
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 2, 0) += 1u, TI_RESERVED_PAGES(s_) -= 1u));
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 0, 1) += 1u, TI_RESERVED_PAGES(s_) += 1u));
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 0, 0) -= 1u, TI_RESERVED_PAGES(s_) += 1u));
    /* Half of a reserved block, the pages adjusted: the block straddles the
     * entry's end or start (nothing else is wrong: the block is counted once). */
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 3, 1) -= 8u, TI_RESERVED_PAGES(s_) -= 8u));
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 3, 0) += 8u, TI_RESERVED_PAGES(s_) -= 8u));
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 3, 0) += 4u, TI_RESERVE(s_, 3, 1) -= 4u,
                        TI_RESERVED_PAGES(s_) -= 8u));
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 0, 0) += 1u, TI_RESERVE(s_, 0, 1) -= 1u,
                        TI_RESERVE(s_, 0, 1) -= 2u, TI_RESERVED_PAGES(s_) -= 4u));
    /* An entry covering a live block, a free block, a cached block; half a
     * live block. */
    uintptr_t b0, b1;
    assert_true(find_block(&h, ANALLOC_BLOCK_USED, 4, &b0, &b1));
    EXPECT_CORRUPT(&h, table_insert(s_, b0, b1));
    EXPECT_CORRUPT(&h, table_insert(s_, b0, b0 + (b1 - b0) / 2u));
    EXPECT_CORRUPT(&h, table_insert(s_, b0 + (b1 - b0) / 2u, b1));
    assert_true(find_block(&h, ANALLOC_BLOCK_USED, 1, &b0, &b1));
    EXPECT_CORRUPT(&h, table_insert(s_, b0, b1));
    assert_true(find_block(&h, ANALLOC_BLOCK_FREE, 2, &b0, &b1));
    EXPECT_CORRUPT(&h, table_insert(s_, b0, b1));
    EXPECT_CORRUPT(&h, table_insert(s_, b0, b0 + 1u));
    assert_true(find_block(&h, ANALLOC_BLOCK_CACHED, 1, &b0, &b1));
    EXPECT_CORRUPT(&h, table_insert(s_, b0, b1));
    assert_true(find_block(&h, ANALLOC_BLOCK_CACHED, 2, &b0, &b1));
    EXPECT_CORRUPT(&h, table_insert(s_, b0, b1));
    /* A whole arena's worth of entries that cover nothing reserved. */
    EXPECT_CORRUPT(&h, (TI_RESERVE(s_, 0, 0) = TI_LO(s_), TI_RESERVE(s_, 0, 1) = TI_HI(s_),
                        TI_RANGES(s_) = 1, TI_RESERVE(s_, 1, 0) = TI_RESERVE(s_, 1, 1) = 0,
                        TI_RESERVE(s_, 2, 0) = TI_RESERVE(s_, 2, 1) = 0,
                        TI_RESERVED_PAGES(s_) = (size_t)(TI_HI(s_) - TI_LO(s_))));
    /* A reserved block marked free in the tree (through a real release's
     * metadata, with the table left as it was). */
    {
        struct analloc before = h.a;
        unsigned char *meta_copy = malloc(h.meta_size);
        assert_non_null(meta_copy);
        memcpy(meta_copy, h.meta, h.meta_size);
        ASSERT_ERR(analloc_release(&h.a, PG(&h, 240), 4096), ANALLOC_OK);
        CHECK_OK(&h.a);
        /* metadata says free, table says reserved (the table is in the
         * metadata: restored from the copy) */
        struct analloc after = h.a;
        TI_RANGES(&h.a) = TI_RANGES(&before);
        TI_RESERVED_PAGES(&h.a) = TI_RESERVED_PAGES(&before);
        size_t table_at = (size_t)((unsigned char *)&TI_RESERVE(&h.a, 0, 0) -
                                   (unsigned char *)h.meta);
        memcpy((unsigned char *)h.meta + table_at, meta_copy + table_at, RANGE_WORDS * 8u);
        ASSERT_ERR(analloc_check(&h.a), ANALLOC_ECORRUPT);
        /* table says released, metadata says reserved */
        h.a = after;
        unsigned char *meta_after = malloc(h.meta_size);
        assert_non_null(meta_after);
        memcpy(meta_after, h.meta, h.meta_size);
        memcpy(h.meta, meta_copy, h.meta_size);
        memcpy((unsigned char *)h.meta + table_at, meta_after + table_at, RANGE_WORDS * 8u);
        ASSERT_ERR(analloc_check(&h.a), ANALLOC_ECORRUPT);
        memcpy(h.meta, meta_copy, h.meta_size);
        h.a = before;
        CHECK_OK(&h.a);
        free(meta_after);
        free(meta_copy);
    }
    VERIFY(&h);
    /* A full table: a count above ANALLOC_RESERVE_MAX over 16 valid
     * entries (nothing past the array to contradict it). */
    for (unsigned i = 0; TI_RANGES(&h.a) < RMAX; i++) {
        size_t pg = 420u + 2u * i;
        if (m_page(&h.m, RP(&h, pg), NULL) == ANALLOC_BLOCK_FREE &&
            m_page(&h.m, RP(&h, pg - 1u), NULL) != ANALLOC_BLOCK_RESERVED &&
            m_page(&h.m, RP(&h, pg + 1u), NULL) != ANALLOC_BLOCK_RESERVED)
            H_RESERVE_PAGES(&h, pg, pg + 1u, ANALLOC_OK);
    }
    EXPECT_CORRUPT(&h, TI_RANGES(s_) = RMAX + 1u);
    EXPECT_CORRUPT(&h, TI_RANGES(s_) = UINT_MAX);
    EXPECT_CORRUPT(&h, TI_RANGES(s_) = RMAX - 1u);
    EXPECT_CORRUPT(&h, swap_entries(s_, RMAX - 2u, RMAX - 1u));
    VERIFY(&h);
    h_fini(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reserve_rounding_and_merging),
        cmocka_unit_test(test_reserve_whole_arena),
        cmocka_unit_test(test_reserved_pointers_refused),
        cmocka_unit_test(test_release_parts),
        cmocka_unit_test(test_reserve_release_errors),
        cmocka_unit_test(test_reserve_chunk_prefix),
        cmocka_unit_test(test_reserve_top_of_address_space),
        cmocka_unit_test(test_reserve_limit),
        cmocka_unit_test(test_reserve_cached_blocks),
        cmocka_unit_test(test_random_ranges_vs_model),
        cmocka_unit_test(test_holes_fake_span),
        cmocka_unit_test(test_holes_real_memory),
        cmocka_unit_test(test_grow_tail),
        cmocka_unit_test(test_grow_head),
        cmocka_unit_test(test_grow_random_steps),
        cmocka_unit_test(test_stats_fields),
        cmocka_unit_test(test_stats_every_byte_defined),
        cmocka_unit_test(test_stats_size_rule),
        cmocka_unit_test(test_frag_index_values),
        cmocka_unit_test(test_frag_index_odd_arena),
        cmocka_unit_test(test_frag_index_single_free_block),
        cmocka_unit_test(test_walk_kinds_and_order),
        cmocka_unit_test(test_walk_early_stop_and_errors),
        cmocka_unit_test(test_walk_vs_dump_random),
        cmocka_unit_test(test_check_corrupted_reserved_table),
    };
    g_seed = seed_from_env();
    g_quick = quick_from_env();
    printf("test_ranges: seed %llu (replay with ANALLOC_SEED=%llu)%s\n",
           (unsigned long long)g_seed, (unsigned long long)g_seed, g_quick ? ", quick" : "");
    fflush(stdout);
    return cmocka_run_group_tests_name("ranges", tests, NULL, NULL);
}
