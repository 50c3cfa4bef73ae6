/*
 * test_engine.c - unit tests of every public function of analloc.h.
 *
 * Expectations come from the contract in analloc.h and from the reference
 * model, tests/model.c (the one test_model and the fuzzer use, step by step
 * here: the free blocks are the maximal aligned runs of free pages, which is
 * what a fully coalescing buddy system must hold), never from the engine's
 * own output.
 *
 * Randomized cases print their seed; ANALLOC_SEED=n replays a run, and
 * ANALLOC_QUICK=1 runs fewer operations (the sanitizer build sets it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analloc.h"
#include "layout.h"
#include "testutil.h"
#include "testcheck.h"
#include "model.h"

static uint64_t g_seed;
static int g_quick;

static size_t scaled(size_t n)
{
    return g_quick ? (n / 4 ? n / 4 : 1) : n;
}

/* analloc_largest_free, checked to change nothing (struct and metadata
 * byte for byte) and to agree with analloc_stats. */
static size_t largest_free_unchanged(struct analloc *a)
{
    struct snap sn;
    snap_take(&sn, a);
    size_t largest = analloc_largest_free(a);
    SNAP_SAME(&sn, a, "analloc_largest_free");
    snap_free(&sn);
    struct analloc_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(a, &st), ANALLOC_OK);
    assert_int_equal(largest, st.largest_free);
    return largest;
}

/* A rejected free: the right code, nothing changed, the hook heard it once. */
#define EXPECT_FREE_ERR(a, p, err, hl) expect_free_err_((a), (p), (err), (hl), #p, __FILE__, __LINE__)
static void expect_free_err_(analloc_t a, void *p, int err, struct checked_hook *hl, const char *what,
                             const char *file, int line)
{
    struct snap sn;
    size_t calls = hl ? hl->calls : 0;
    int r;
    snap_take(&sn, a);
    r = analloc_free(a, p);
    if (r != err) {
        print_error("%s:%d: analloc_free(%s = %p) returned %d (%s), expected %d (%s)\n", file, line,
                    what, p, r, analloc_strerror(r), err, analloc_strerror(err));
        _fail(file, line);
    }
    snap_same_(&sn, a, what, file, line);
    snap_free(&sn);
    if (hl) {
        if (hl->calls != calls + 1 || hl->error != err || hl->ptr != p) {
            print_error("%s:%d: error hook after free(%s = %p): %zu calls (expected %zu), last "
                        "error %d ptr %p (expected %d, %p)\n",
                        file, line, what, p, hl->calls - calls, (size_t)1, hl->error, hl->ptr, err,
                        p);
            _fail(file, line);
        }
    }
}

/* ---- the reference model: tests/model.c, page by page ---------------- */

/* The largest k such that some block of 2^k pages aligned to its size lies
 * inside pages [lo, lo + n). */
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

/* The model (tests/model.c) of an allocator, seen as pages 0 .. n - 1 of
 * its arena. */
struct model {
    uintptr_t lo;   /* absolute page number of model page 0 */
    size_t n;       /* pages */
    size_t page;
    unsigned depth; /* largest aligned order that fits */
    struct model_arena *ma;
};

static void model_failed(void *ctx, const char *msg)
{
    (void)ctx;
    fail_msg("%s", msg);
}

/* This test knows the buddy system alone: the allocator runs without the
 * block cache (the model and test_model cover the cache). */
static void model_from(struct model *m, analloc_t a)
{
    static const struct model_failure failure = {model_failed, NULL};
    ASSERT_ERR(analloc_set_cache(a, 0), ANALLOC_OK);
    m->ma = model_arena_new(a, 0, &failure);
    m->lo = model_arena_lo(m->ma);
    m->n = model_arena_pages(m->ma);
    m->page = a->page;
    m->depth = model_arena_depth(m->ma);
    assert_int_equal(m->depth, max_aligned_order(m->lo, m->n));
    assert_int_equal(m->depth, a->depth);
}

static void model_fini(struct model *m)
{
    model_arena_delete(m->ma);
    m->ma = NULL;
}

static void *model_ptr(const struct model *m, size_t i)
{
    return ptr_at((uintptr_t)(m->lo + i) * m->page);
}

/* Page i is in a live block. */
static int model_used(const struct model *m, size_t i)
{
    return model_arena_page(m->ma, m->lo + i, NULL, NULL) == ANALLOC_BLOCK_USED;
}

/* The order of the live block that starts at page i, or -1. */
static int model_ord(const struct model *m, size_t i)
{
    uintptr_t first;
    unsigned k;
    if (model_arena_page(m->ma, m->lo + i, &first, &k) != ANALLOC_BLOCK_USED || first != m->lo + i)
        return -1;
    return (int)k;
}

/* analloc_alloc(size) in the model: 1 and the block's first page, or 0. */
static int model_alloc(struct model *m, size_t size, size_t *iout)
{
    uintptr_t at;
    *iout = 0;
    if (model_arena_alloc(m->ma, size, &at, NULL, NULL) != MODEL_BLOCK)
        return 0;
    *iout = (size_t)(at / m->page - m->lo);
    return 1;
}

static void model_release(struct model *m, size_t i)
{
    model_arena_free(m->ma, (m->lo + i) * m->page);
}

/* 0: fails; 1: in place; 2: moved (new block taken before the old is freed). */
static int model_realloc(struct model *m, size_t i, size_t size, size_t *iout)
{
    uintptr_t at = (m->lo + i) * m->page, to;
    *iout = i;
    if (model_arena_realloc(m->ma, at, size, &to, NULL) != MODEL_BLOCK)
        return 0;
    *iout = (size_t)(to / m->page - m->lo);
    return to == at ? 1 : 2;
}

static void model_compare(const struct model *m, analloc_t a, const char *when)
{
    size_t fb = analloc_free_bytes(a), lf = analloc_largest_free(a);
    size_t efb = model_arena_free_bytes(m->ma), elf = model_arena_largest(m->ma);
    if (fb != efb || lf != elf)
        FAILF("%s: free_bytes %zu largest_free %zu, model expects %zu and %zu\n", when, fb, lf, efb,
              elf);
}

/* ---- block lists -------------------------------------------------------- */

struct blk {
    uintptr_t p;
    size_t s;
};

static int blk_cmp(const void *x, const void *y)
{
    const struct blk *u = x, *v = y;
    return u->p < v->p ? -1 : u->p > v->p;
}

/* Blocks are live, of their recorded size, aligned to it in absolute
 * addresses, inside the arena and disjoint; with `full`, they cover it. */
static void check_blocks(analloc_t a, struct blk *b, size_t n, int full)
{
    uintptr_t lo = addr(a->start), hi = lo + a->managed;
    size_t i, sum = 0;
    qsort(b, n, sizeof *b, blk_cmp);
    for (i = 0; i < n; i++) {
        size_t s = b[i].s;
        if (s < a->page || s % a->page != 0 || ((s / a->page) & (s / a->page - 1)) != 0)
            FAILF("block %#lx has size %zu, not page * 2^n\n", (unsigned long)b[i].p, s);
        if (b[i].p % s != 0)
            FAILF("block %#lx of %zu bytes is not aligned to its size\n", (unsigned long)b[i].p, s);
        if (b[i].p < lo || b[i].p + s > hi || b[i].p + s < b[i].p)
            FAILF("block %#lx + %zu outside the arena [%#lx, %#lx)\n", (unsigned long)b[i].p, s,
                  (unsigned long)lo, (unsigned long)hi);
        if (i > 0 && b[i - 1].p + b[i - 1].s > b[i].p)
            FAILF("blocks %#lx + %zu and %#lx overlap\n", (unsigned long)b[i - 1].p, b[i - 1].s,
                  (unsigned long)b[i].p);
        if (analloc_mem_size(a, ptr_at(b[i].p)) != s)
            FAILF("mem_size(%#lx) = %zu, expected %zu\n", (unsigned long)b[i].p,
                  analloc_mem_size(a, ptr_at(b[i].p)), s);
        sum += s;
    }
    if (full && sum != a->managed)
        FAILF("%zu blocks cover %zu bytes, managed is %zu\n", n, sum, a->managed);
}

/* Take the largest free block until none is left. */
static size_t fill_largest_first(analloc_t a, struct blk *b, size_t cap)
{
    size_t n = 0, s;
    while ((s = analloc_largest_free(a)) != 0) {
        void *p;
        assert_true(n < cap);
        p = analloc_alloc(a, s);
        if (p == NULL)
            FAILF("largest_free is %zu but alloc(%zu) returned NULL\n", s, s);
        assert_int_equal(analloc_mem_size(a, p), s);
        b[n].p = addr(p);
        b[n].s = s;
        n++;
    }
    assert_null(analloc_alloc(a, 0));
    assert_int_equal(analloc_free_bytes(a), 0);
    check_blocks(a, b, n, 1);
    return n;
}

static void free_blocks(analloc_t a, const struct blk *b, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        ASSERT_ERR(analloc_free(a, ptr_at(b[i].p)), ANALLOC_OK);
}

/* ---- setup checks ------------------------------------------------------- */

static void verify_chunk_setup(analloc_t a, const void *chunk, size_t total, size_t used,
                               size_t page)
{
    uintptr_t c = addr(chunk), meta = addr(TI_WORDS(a)), start = addr(a->start);
    uintptr_t end = align_down(c + total, page);
    size_t mb = analloc_meta_bytes(a);

    assert_int_equal(a->page, page);
    assert_int_equal(mb, TI_META_BYTES(a));
    assert_true(mb > 0);
    assert_true(mb <= analloc_meta_size(total, page));
    /* the metadata starts right after the used prefix, 8-byte aligned,
     * with the order table first */
    assert_int_equal(meta, align_up(c + used, 8));
    assert_int_equal(addr(ti_meta(a)), meta);
    assert_true(addr(TI_WORDS(a)) >= meta && addr(TI_WORDS(a)) < meta + mb);
    /* the arena starts on a page after the metadata and runs to the last
     * whole page of the chunk (that no whole page is lost between the
     * metadata and the arena is test_with_chunk_no_gap_after_metadata) */
    assert_int_equal(start % page, 0);
    assert_true(start >= align_up(meta + mb, page));
    assert_true(end > start);
    assert_int_equal(a->managed, end - start);
    assert_int_equal(a->depth, max_aligned_order(start / page, a->managed / page));
    assert_int_equal(analloc_free_bytes(a), a->managed);
    assert_int_equal(analloc_largest_free(a), page << a->depth);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
}

static void verify_ext_setup(analloc_t a, uintptr_t base, size_t total, size_t page,
                             const void *meta, size_t ms)
{
    uintptr_t first = align_up(base, page), end = align_down(base + total, page);
    size_t mb = analloc_meta_bytes(a);
    uintptr_t mlo = addr(ti_meta(a));
    if (first == 0)
        first = page; /* the page at address 0 is never handed out */
    assert_int_equal(a->page, page);
    assert_int_equal(addr(a->start), first);
    assert_int_equal(a->managed, end - first);
    assert_int_equal(a->depth, max_aligned_order(first / page, a->managed / page));
    assert_int_equal(mb, TI_META_BYTES(a));
    assert_true(mb > 0 && mb <= ms);
    assert_true(mlo >= addr(meta) && mlo + mb <= addr(meta) + ms);
    assert_int_equal(analloc_free_bytes(a), a->managed);
    assert_int_equal(analloc_largest_free(a), page << a->depth);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
}

/* An allocator over a fake range with its metadata in a heap buffer. */
struct ext {
    struct analloc a;
    void *meta;
    size_t ms;
};

static void ext_init(struct ext *e, uintptr_t base, size_t total, size_t page)
{
    e->ms = analloc_meta_size(total, page);
    assert_true(e->ms > 0);
    e->meta = malloc(e->ms);
    assert_non_null(e->meta);
    ASSERT_ERR(analloc_init(&e->a, ptr_at(base), total, page, e->meta, e->ms), ANALLOC_OK);
    verify_ext_setup(&e->a, base, total, page, e->meta, e->ms);
}

static void ext_fini(struct ext *e)
{
    free(e->meta);
}

static int bytes_are(const unsigned char *p, size_t n, unsigned char v)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != v)
            return 0;
    return 1;
}

/* ======================================================================
 * analloc_with_chunk
 * ====================================================================== */

/* The seed's layout: the analloc struct lives in the chunk's used prefix. */
static void test_with_chunk_struct_in_prefix(void **state)
{
    const size_t page = 64, total = 200 * 64 + 13;
    unsigned char *buf = xalloc_aligned(64, total + 64), *chunk = buf + 1, *p, *x;
    uintptr_t sa = align_up(addr(chunk), _Alignof(struct analloc));
    analloc_t a = ptr_at(sa);
    size_t used = (size_t)(sa - addr(chunk)) + sizeof(struct analloc) + 10, largest;
    (void)state;

    memset(buf, 0x5A, total + 64);
    ASSERT_ERR(analloc_with_chunk(a, chunk, total, used, page), ANALLOC_OK);
    /* the seed's formula for the largest block, on an analloc_t */
    largest = a->page << a->depth;
    assert_int_equal(largest, analloc_largest_free(a));
    verify_chunk_setup(a, chunk, total, used, page);
    /* the caller's bytes around the struct, and before the chunk, untouched */
    assert_int_equal(buf[0], 0x5A);
    for (p = chunk; p < (unsigned char *)a; p++)
        assert_int_equal(*p, 0x5A);
    for (p = (unsigned char *)(a + 1); p < chunk + used; p++)
        assert_int_equal(*p, 0x5A);

    x = analloc_alloc(a, 3 * page);
    assert_non_null(x);
    assert_int_equal(analloc_mem_size(a, x), 4 * page);
    assert_true(addr(x) >= addr(a->start) && addr(x) + 4 * page <= addr(a->start) + a->managed);
    ASSERT_ERR(analloc_free(a, a), ANALLOC_ERESERVED); /* the allocator's own storage */
    ASSERT_ERR(analloc_free(a, x), ANALLOC_OK);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    assert_int_equal(analloc_free_bytes(a), a->managed);
    free(buf);
}

/* One chunk configuration: set up, check the layout, fill, free, and check
 * that neither the used prefix nor the managed bytes were written. */
static void chunk_config(size_t page, size_t off, size_t total, size_t used)
{
    size_t align = page < 16 ? 16 : page, buflen = off + total + 16, ms, n;
    unsigned char *buf = xalloc_aligned(align, buflen), *chunk = buf + off;
    struct analloc al;
    analloc_t a = &al;
    struct snap s0;
    struct blk b[160];
    uintptr_t start;
    int r;

    ms = analloc_meta_size(total, page);
    assert_true(ms > 0);
    /* by the contract this chunk has room for the metadata and a page */
    if (total < used + ms + 2 * page + 8)
        FAILF("bad test config: page %zu total %zu used %zu meta_size %zu\n", page, total, used, ms);
    memset(buf, 0xA5, buflen);
    r = analloc_with_chunk(a, chunk, total, used, page);
    if (r != ANALLOC_OK)
        FAILF("with_chunk(chunk %% page = %zu, total %zu, used %zu, page %zu) = %d (%s)\n", off,
              total, used, page, r, analloc_strerror(r));
    verify_chunk_setup(a, chunk, total, used, page);
    start = addr(a->start);
    snap_take(&s0, a);

    n = fill_largest_first(a, b, 160);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    free_blocks(a, b, n);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    analloc_drain(a); /* cached pages back into the buddy system */
    SNAP_SAME(&s0, a, "fill and free all");
    snap_free(&s0);

    assert_true(bytes_are(buf, off + used, 0xA5));
    assert_true(bytes_are(ptr_at(start), addr(buf) + buflen - start, 0xA5));
    free(buf);
}

static void test_with_chunk_odd_starts_and_sizes(void **state)
{
    static const size_t offs[] = {0, 1, 3, 7, 8, 13, 4095};
    size_t i, j;
    (void)state;
    for (i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        size_t off = offs[i];
        chunk_config(64, off % 64, 64 * 137 + 5, 0);
        chunk_config(64, off % 64, 64 * 200 + 63, 17);
        chunk_config(4096, off, 4096 * 20 + 1, 0);
        chunk_config(4096, off, 4096 * 9 + 4095, 4096 + 3);
        for (j = 1; j < 8; j++)
            chunk_config(64, off % 64, 64 * (140 + j) + j * 9, j * 5);
    }
}

static void test_with_chunk_page_sizes(void **state)
{
    static const size_t pages[] = {1, 8, 64, 4096, 65536};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        size_t page = pages[i];
        size_t total = page == 1 ? 70001 : page * (page >= 4096 ? 12 : page >= 64 ? 300 : 3000) + page / 2 + 1;
        chunk_config(page, 0, total, 0);
        chunk_config(page, 1 % page, total, 3);
        chunk_config(page, (page / 2 + 1) % page, total + 7, 100);
        chunk_config(page, page - 1, total, 0);
    }
}

static void test_with_chunk_errors(void **state)
{
    const size_t page = 64, len = 16384;
    unsigned char *buf = xalloc_aligned(4096, len), *chunk;
    struct analloc z, zero;
    size_t t, used, ms;
    int r;
    (void)state;

    memset(&zero, 0, sizeof zero);
    memset(&z, 0, sizeof z);
    memset(buf, 0xC3, len);
#define WC_ERR(c, tot, u, pg, want)                                              \
    do {                                                                         \
        ASSERT_ERR(analloc_with_chunk(&z, (c), (tot), (u), (pg)), (want));       \
        assert_memory_equal(&z, &zero, sizeof z);                                \
        assert_true(bytes_are(buf, len, 0xC3));                                  \
    } while (0)

    ASSERT_ERR(analloc_with_chunk(NULL, buf, 4096, 0, page), ANALLOC_EINVAL);
    assert_true(bytes_are(buf, len, 0xC3));
    WC_ERR(NULL, 4096, 0, page, ANALLOC_EINVAL);
    WC_ERR(buf, 4096, 0, 0, ANALLOC_EINVAL);
    WC_ERR(buf, 4096, 0, 3, ANALLOC_EINVAL);
    WC_ERR(buf, 8192, 0, 4097, ANALLOC_EINVAL);
    WC_ERR(buf, 4096, 0, 6, ANALLOC_EINVAL);
    WC_ERR(buf, 4096, 0, 96, ANALLOC_EINVAL);
    WC_ERR(buf, 4096, 0, SIZE_MAX, ANALLOC_EINVAL);
    WC_ERR(buf, 4096, 0, (SIZE_MAX >> 1) + 2, ANALLOC_EINVAL);
    WC_ERR(buf, 4096, 4097, page, ANALLOC_EINVAL);
    WC_ERR(buf, 4096, SIZE_MAX, page, ANALLOC_EINVAL);
    /* ranges that wrap the address space */
    WC_ERR(buf, SIZE_MAX, 0, page, ANALLOC_EINVAL);
    WC_ERR(buf, (size_t)(UINTPTR_MAX - addr(buf)) + 2, 0, page, ANALLOC_EINVAL);
    WC_ERR(ptr_at(UINTPTR_MAX - 4095), 8192, 0, page, ANALLOC_EINVAL);
    /* too small for the metadata and one page */
    WC_ERR(buf, 0, 0, page, ANALLOC_ETOOSMALL);
    WC_ERR(buf, 100, 100, page, ANALLOC_ETOOSMALL);
    WC_ERR(buf, 4096, 4096, page, ANALLOC_ETOOSMALL);
    WC_ERR(buf, 4096, 0, 4096, ANALLOC_ETOOSMALL); /* aligned: metadata eats the only page */
    WC_ERR(buf, 8, 0, 1, ANALLOC_ETOOSMALL);
    WC_ERR(buf + 1, 64, 0, page, ANALLOC_ETOOSMALL);

    /* The smallest chunk that works holds exactly one page; every smaller
     * one is ETOOSMALL and changes nothing. */
    chunk = buf + 5;
    used = 3;
    ms = analloc_meta_size(used + 64 * page, page);
    assert_true(ms > 0);
    r = ANALLOC_ETOOSMALL;
    for (t = used; t <= used + ms + 2 * page + 8; t++) {
        r = analloc_with_chunk(&z, chunk, t, used, page);
        if (r == ANALLOC_OK)
            break;
        if (r != ANALLOC_ETOOSMALL)
            FAILF("with_chunk(total %zu, used %zu, page %zu) = %d, expected ETOOSMALL\n", t, used,
                  page, r);
        assert_memory_equal(&z, &zero, sizeof z);
        assert_true(bytes_are(buf, len, 0xC3));
    }
    if (r != ANALLOC_OK)
        FAILF("no chunk up to used + meta_size + 2 pages + 8 = %zu bytes works\n", t - 1);
    verify_chunk_setup(&z, chunk, t, used, page);
    assert_int_equal(z.managed, page);
    printf("   smallest chunk at +5 with used %zu, page %zu: %zu bytes (metadata %zu)\n", used,
           page, t, analloc_meta_bytes(&z));
#undef WC_ERR
    free(buf);
}

/* "Every whole page after [the metadata], to the end of the chunk, is
 * allocatable".  The metadata comes in 64-bit words and grows with the number
 * of pages, so with tiny pages the arena may have to start a few bytes after
 * the metadata ends: taking one more page can need one more word, which would
 * overlap that page.  What must hold is maximality: if the arena starts later
 * than the first page boundary after the metadata, then the metadata for the
 * arena one page larger (measured with analloc_init over that exact range)
 * must not fit before that page.  All configurations are tried, then every
 * violation is reported at once. */
static void test_with_chunk_no_gap_after_metadata(void **state)
{
    static const size_t pages[] = {1, 2, 4, 8, 16, 64, 4096};
    enum { NP = sizeof pages / sizeof pages[0] };
    size_t pi, off, used, bad = 0, tried = 0, gaps[NP] = {0}, lost[NP] = {0};
    (void)state;
    for (pi = 0; pi < NP; pi++)
        for (off = 0; off < 16; off++)
            for (used = 0; used < 20; used += 3) {
                size_t page = pages[pi];
                size_t total = page == 1 ? 70001 : page * (page >= 4096 ? 20 : 300) + page / 2 + 1;
                unsigned char *buf = xalloc_aligned(4096, off + total), *chunk = buf + off;
                struct analloc A, B;
                uintptr_t meta, want, start, end, bigger;
                size_t ms, mb2;
                void *m2;
                ASSERT_ERR(analloc_with_chunk(&A, chunk, total, used, page), ANALLOC_OK);
                meta = addr(TI_WORDS(&A));
                start = addr(A.start);
                end = start + A.managed;
                want = align_up(meta + TI_META_BYTES(&A), page);
                tried++;
                assert_true(start >= want);
                if (start == want) {
                    free(buf);
                    continue;
                }
                gaps[pi]++;
                if (start - want > lost[pi])
                    lost[pi] = (size_t)(start - want);
                /* the arena one page larger: does its metadata fit before it? */
                bigger = start - page;
                ms = analloc_meta_size((size_t)(end - bigger), page);
                m2 = malloc(ms);
                assert_non_null(m2);
                ASSERT_ERR(analloc_init(&B, ptr_at(bigger), (size_t)(end - bigger), page, m2, ms),
                           ANALLOC_OK);
                assert_int_equal(B.managed, A.managed + page);
                mb2 = analloc_meta_bytes(&B);
                if (meta + mb2 <= bigger) {
                    if (bad < 12)
                        print_error("page %zu, chunk %% 4096 = %zu, used %zu, total %zu: metadata "
                                    "[+%zu, +%zu), arena at +%zu; the arena from +%zu needs only "
                                    "%zu metadata bytes (ends at +%zu), so that page is lost\n",
                                    page, off, used, total, (size_t)(meta - addr(chunk)),
                                    (size_t)(meta + TI_META_BYTES(&A) - addr(chunk)),
                                    (size_t)(start - addr(chunk)), (size_t)(bigger - addr(chunk)),
                                    mb2, (size_t)(meta + mb2 - addr(chunk)));
                    bad++;
                }
                free(m2);
                free(buf);
            }
    for (pi = 0; pi < NP; pi++)
        if (gaps[pi])
            printf("   page %zu: %zu of %zu layouts start after a forced gap of up to %zu bytes\n",
                   pages[pi], gaps[pi], tried / NP, lost[pi]);
    if (bad)
        FAILF("%zu of %zu chunk layouts leave an allocatable page unused after the metadata\n",
              bad, tried);
}

/* A failed setup leaves a valid earlier allocator exactly as it was. */
static void test_failed_setup_keeps_allocator(void **state)
{
    const size_t page = 64, total = 64 * 50 + 9;
    unsigned char *buf = xalloc_aligned(64, total + 64), *other = xalloc_aligned(4096, 16384);
    struct analloc A;
    struct snap s;
    void *x, *y;
    size_t ms = analloc_meta_size(64 * 64, page);
    (void)state;

    ASSERT_ERR(analloc_with_chunk(&A, buf + 3, total, 10, page), ANALLOC_OK);
    x = analloc_alloc(&A, 2 * page);
    y = analloc_alloc(&A, page);
    assert_non_null(x);
    assert_non_null(y);
    memset(other, 0x99, 16384);
    snap_take(&s, &A);

#define KEEP(call, want)                                  \
    do {                                                  \
        ASSERT_ERR((call), (want));                       \
        SNAP_SAME(&s, &A, #call);                         \
        assert_true(bytes_are(other, 16384, 0x99));       \
    } while (0)

    KEEP(analloc_with_chunk(&A, NULL, 4096, 0, page), ANALLOC_EINVAL);
    KEEP(analloc_with_chunk(&A, other, 4096, 0, 0), ANALLOC_EINVAL);
    KEEP(analloc_with_chunk(&A, other, 4096, 0, 3), ANALLOC_EINVAL);
    KEEP(analloc_with_chunk(&A, other, 4096, 0, 4097), ANALLOC_EINVAL);
    KEEP(analloc_with_chunk(&A, other, 4096, 5000, page), ANALLOC_EINVAL);
    KEEP(analloc_with_chunk(&A, other, SIZE_MAX, 0, page), ANALLOC_EINVAL);
    KEEP(analloc_with_chunk(&A, other, 10, 0, page), ANALLOC_ETOOSMALL);
    KEEP(analloc_with_chunk(&A, other, 4096, 0, 4096), ANALLOC_ETOOSMALL);
    KEEP(analloc_init(&A, other + 8192, 64 * 64, 0, other, ms), ANALLOC_EINVAL);
    KEEP(analloc_init(&A, other + 8192, 64 * 64, 3, other, ms), ANALLOC_EINVAL);
    KEEP(analloc_init(&A, ptr_at(UINTPTR_MAX - 2 * page + 1), 4 * page, page, other, ms),
         ANALLOC_EINVAL);
    KEEP(analloc_init(&A, other + 8192, 64 * 64, page, other, ms - 1), ANALLOC_ETOOSMALL);
    KEEP(analloc_init(&A, other + 8192, 64 * 64, page, other, 0), ANALLOC_ETOOSMALL);
    KEEP(analloc_init(&A, other + 8192, 64 * 64, page, other + 8192 + 64, ms), ANALLOC_EOVERLAP);
    KEEP(analloc_init(&A, other + 8193, page, page, other, ms), ANALLOC_ETOOSMALL);
#undef KEEP
    snap_free(&s);

    ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
    assert_int_equal(analloc_mem_size(&A, x), 2 * page);
    ASSERT_ERR(analloc_free(&A, x), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&A, y), ANALLOC_OK);
    assert_int_equal(analloc_free_bytes(&A), A.managed);
    free(buf);
    free(other);
}

/* ======================================================================
 * analloc_meta_size and analloc_init
 * ====================================================================== */

static void test_meta_size_basics(void **state)
{
    (void)state;
    assert_int_equal(analloc_meta_size(4096, 0), 0);
    assert_int_equal(analloc_meta_size(4096, 3), 0);
    assert_int_equal(analloc_meta_size(4096, 6), 0);
    assert_int_equal(analloc_meta_size(8192, 4097), 0);
    assert_int_equal(analloc_meta_size(8192, SIZE_MAX), 0);
    assert_true(analloc_meta_size(4096, 64) > 0);
    assert_true(analloc_meta_size(1 << 20, 1) > 0);
    /* a function of (total, page) only */
    assert_int_equal(analloc_meta_size(12345, 64), analloc_meta_size(12345, 64));
    /* it holds at least the one bit per page a bit vector needs */
    assert_true(analloc_meta_size((size_t)1 << 20, 1) >= ((size_t)1 << 20) / 8);
}

/* meta_size is enough for every start address; one byte less is refused. */
static void test_init_meta_size_every_start(void **state)
{
    static const struct {
        size_t page, total;
    } cfg[] = {
        {1, 100},   {1, 1000},         {8, 8 * 50 + 3},    {64, 64 * 37 + 5},
        {64, 4096}, {64, 64 * 1000 + 63}, {4096, 4096 * 10 + 1}, {4096, 4096 * 100},
        {65536, 65536 * 5 + 7},
    };
    size_t c;
    (void)state;
    for (c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        size_t page = cfg[c].page, total = cfg[c].total, off, step;
        size_t ms = analloc_meta_size(total, page);
        unsigned char *buf, *meta;
        uintptr_t fb = fake_base(total + 2 * page, 1 << 20);
        assert_true(ms > 0);
        buf = xalloc_aligned(16, ms + 64);
        meta = buf + 16;
        step = page >= 64 ? page / 32 : 1;
        for (off = 0; off <= 2 * page; off += step) {
            struct analloc A;
            struct snap s;
            struct model m;
            size_t mi;
            void *p;
            uintptr_t base = fb + off;
            int r;
            memset(buf, 0xEE, ms + 64);
            r = analloc_init(&A, ptr_at(base), total, page, meta, ms);
            if (r != ANALLOC_OK)
                FAILF("init(base %% page %zu, total %zu, page %zu, meta_size(total, page) = %zu) "
                      "= %d (%s)\n",
                      off, total, page, ms, r, analloc_strerror(r));
            verify_ext_setup(&A, base, total, page, meta, ms);
            assert_true(bytes_are(buf, 16, 0xEE));
            assert_true(bytes_are(meta + ms, 48, 0xEE));
            snap_take(&s, &A);
            ASSERT_ERR(analloc_init(&A, ptr_at(base), total, page, meta, ms - 1), ANALLOC_ETOOSMALL);
            SNAP_SAME(&s, &A, "init with meta_size - 1");
            snap_free(&s);
            /* and it allocates where the model says */
            model_from(&m, &A);
            assert_true(model_alloc(&m, 0, &mi));
            p = analloc_alloc(&A, 0);
            assert_ptr_equal(p, model_ptr(&m, mi));
            ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
            model_fini(&m);
        }
        free(buf);
    }
}

static void test_init_unaligned_meta(void **state)
{
    static const size_t totals[] = {64 * 40 + 5, 64 * 333, 64 * 4096 + 1};
    const size_t page = 64;
    size_t t, off;
    (void)state;
    for (t = 0; t < sizeof totals / sizeof totals[0]; t++) {
        size_t total = totals[t], ms = analloc_meta_size(total, page);
        unsigned char *buf = xalloc_aligned(16, ms + 64);
        uintptr_t base = fake_base(total, 1 << 20) + 3 * page + 17;
        for (off = 1; off <= 7; off++) {
            struct analloc A;
            struct snap s;
            struct blk b[64];
            size_t n;
            unsigned char *meta = buf + 16 + off;
            int r;
            memset(buf, 0xEE, ms + 64);
            r = analloc_init(&A, ptr_at(base), total, page, meta, ms);
            if (r != ANALLOC_OK)
                FAILF("init with the metadata at an address = %zu mod 8 and meta_size %zu: %d (%s)\n",
                      off, ms, r, analloc_strerror(r));
            verify_ext_setup(&A, base, total, page, meta, ms);
            assert_int_equal(addr(ti_meta(&A)) % 8, 0);
            assert_true(bytes_are(buf, 16 + off, 0xEE));
            assert_true(bytes_are(meta + ms, 64 - 16 - off, 0xEE));
            snap_take(&s, &A);
            n = fill_largest_first(&A, b, 64);
            free_blocks(&A, b, n);
            analloc_drain(&A); /* cached pages back into the buddy system */
            SNAP_SAME(&s, &A, "fill and free with unaligned metadata");
            snap_free(&s);
            assert_true(bytes_are(meta + ms, 64 - 16 - off, 0xEE));
        }
        free(buf);
    }
}

static void test_init_overlap(void **state)
{
    const size_t page = 64, total = 64 * 64;
    const size_t len = 4 * 4096 + 2 * total;
    size_t ms = analloc_meta_size(total, page);
    unsigned char *big = xalloc_aligned(4096, len);
    unsigned char *base = big + 4096;
    struct ext e;
    struct snap s;
    struct analloc B;
    (void)state;

    /* a valid earlier allocator that every refusal must leave alone */
    ext_init(&e, fake_base(64 * page, 1 << 20), 64 * page, page);
    assert_true(ms >= 2 && ms + 2 * page < total);
    memset(big, 0x3C, len);
    snap_take(&s, &e.a);
#define OVL(m, sz)                                                                            \
    do {                                                                                      \
        ASSERT_ERR(analloc_init(&e.a, base, total, page, (m), (sz)), ANALLOC_EOVERLAP);       \
        SNAP_SAME(&s, &e.a, "overlapping init " #m);                                          \
        assert_true(bytes_are(big, len, 0x3C));                                               \
    } while (0)
    OVL(base + page, ms);               /* inside */
    OVL(base, ms);                      /* inside, at the start */
    OVL(base + total - ms, ms);         /* inside, at the end */
    OVL(base - ms / 2, ms);             /* straddling the start */
    OVL(base + total - ms / 2, ms);     /* straddling the end */
    OVL(base - ms + 1, ms);             /* one byte over the start */
    OVL(base + total - 1, ms);          /* one byte before the end */
    OVL(base - 64, total + 128);        /* covering the whole range */
#undef OVL
    snap_free(&s);
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    ext_fini(&e);

    /* adjacent on either side is fine */
    ASSERT_ERR(analloc_init(&B, base, total, page, base - ms, ms), ANALLOC_OK);
    verify_ext_setup(&B, addr(base), total, page, base - ms, ms);
    ASSERT_ERR(analloc_init(&B, base, total, page, base + total, ms), ANALLOC_OK);
    verify_ext_setup(&B, addr(base), total, page, base + total, ms);
    free(big);
}

static void test_init_errors(void **state)
{
    const size_t page = 64, total = 64 * 64;
    size_t ms = analloc_meta_size(total, page);
    unsigned char *meta = xalloc_aligned(64, ms + 64);
    uintptr_t base = fake_base(total, 1 << 20);
    struct analloc z, zero;
    (void)state;
    memset(&z, 0, sizeof z);
    memset(&zero, 0, sizeof zero);
    memset(meta, 0x11, ms + 64);
#define INIT_ERR(b, t, pg, m, sz, want)                                               \
    do {                                                                              \
        ASSERT_ERR(analloc_init(&z, ptr_at(b), (t), (pg), (m), (sz)), (want));        \
        assert_memory_equal(&z, &zero, sizeof z);                                     \
        assert_true(bytes_are(meta, ms + 64, 0x11));                                  \
    } while (0)
    ASSERT_ERR(analloc_init(NULL, ptr_at(base), total, page, meta, ms), ANALLOC_EINVAL);
    INIT_ERR(base, total, 0, meta, ms, ANALLOC_EINVAL);
    INIT_ERR(base, total, 3, meta, ms, ANALLOC_EINVAL);
    INIT_ERR(base, total * 2, 4097, meta, ms, ANALLOC_EINVAL);
    INIT_ERR(UINTPTR_MAX - 2 * page + 1, 4 * page, page, meta, ms, ANALLOC_EINVAL);
    INIT_ERR(base, SIZE_MAX, page, meta, ms, ANALLOC_EINVAL);
    INIT_ERR(base, total, page, NULL, ms, ANALLOC_EINVAL);
    INIT_ERR(base, total, page, meta, ms - 1, ANALLOC_ETOOSMALL);
    INIT_ERR(base, total, page, meta, 0, ANALLOC_ETOOSMALL);
    INIT_ERR(base + 1, page, page, meta, ms, ANALLOC_ETOOSMALL); /* no whole page */
    INIT_ERR(base, 0, page, meta, ms, ANALLOC_ETOOSMALL);
    INIT_ERR(0, page, page, meta, ms, ANALLOC_ETOOSMALL); /* only the page at 0 */
#undef INIT_ERR
    free(meta);
}

/* A range that contains address 0: that page is never handed out. */
static void test_init_address_zero(void **state)
{
    const size_t page = 4096, total = 64 * page;
    size_t ms = analloc_meta_size(total, page), i, s;
    void *meta = malloc(ms);
    struct analloc A;
    struct snap s0;
    (void)state;
    assert_non_null(meta);
    ASSERT_ERR(analloc_init(&A, NULL, total, page, meta, ms), ANALLOC_OK);
    verify_ext_setup(&A, 0, total, page, meta, ms);
    assert_ptr_equal(A.start, ptr_at(page));
    assert_int_equal(A.managed, 63 * page);
    assert_int_equal(A.depth, 5);
    assert_int_equal(analloc_largest_free(&A), 32 * page);
    snap_take(&s0, &A);

    /* one page at a time: pages 1..63 in address order */
    for (i = 1; i < 64; i++) {
        void *p = analloc_alloc(&A, page);
        if (p != ptr_at(i * page))
            FAILF("page alloc %zu returned %p, expected %p\n", i, p, ptr_at(i * page));
    }
    assert_null(analloc_alloc(&A, 0));
    assert_int_equal(analloc_free_bytes(&A), 0);
    assert_int_equal(analloc_mem_size(&A, NULL), 0);
    ASSERT_ERR(analloc_free(&A, NULL), ANALLOC_OK);
    assert_int_equal(analloc_free_bytes(&A), 0);
    ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
    for (i = 1; i < 64; i++)
        ASSERT_ERR(analloc_free(&A, ptr_at(i * page)), ANALLOC_OK);
    analloc_drain(&A); /* cached pages back into the buddy system */
    SNAP_SAME(&s0, &A, "page-by-page fill and free");

    /* largest first: 32, 16, 8, 4, 2, 1 pages, each at its own size */
    for (s = 32; s >= 1; s /= 2) {
        void *p = analloc_alloc(&A, analloc_largest_free(&A));
        assert_ptr_equal(p, ptr_at(s * page));
        assert_int_equal(analloc_mem_size(&A, p), s * page);
    }
    assert_int_equal(analloc_largest_free(&A), 0);
    for (s = 32; s >= 1; s /= 2)
        ASSERT_ERR(analloc_free(&A, ptr_at(s * page)), ANALLOC_OK);
    analloc_drain(&A); /* cached pages back into the buddy system */
    SNAP_SAME(&s0, &A, "largest-first fill and free");
    snap_free(&s0);
    free(meta);
}

/* 3 GiB + 5 pages: only the metadata, rounded up to a page, is lost. */
static void test_with_chunk_3gib(void **state)
{
    (void)state;
#if !HOST_64
    skip();
#else
    const size_t page = 4096, total = ((size_t)3 << 30) + 5 * page;
    void *chunk = mmap(NULL, total, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    struct analloc A;
    struct blk b[160];
    size_t ms, prefix, n;
    if (chunk == MAP_FAILED) {
        printf("   mmap of 3 GiB failed: skipped\n");
        skip();
    }
    ASSERT_ERR(analloc_with_chunk(&A, chunk, total, 0, page), ANALLOC_OK);
    ms = analloc_meta_size(total, page);
    prefix = (size_t)(addr(A.start) - addr(chunk));
    printf("   3 GiB + 5 pages: meta_bytes %zu, meta_size %zu, prefix %zu, %zu pages, depth %zu\n",
           analloc_meta_bytes(&A), ms, prefix, A.managed / page, A.depth);
    assert_int_equal(A.managed, total - prefix);
    assert_true(prefix < ms + page);
    assert_int_equal(prefix, align_up(analloc_meta_bytes(&A), page));
    verify_chunk_setup(&A, chunk, total, 0, page);
    n = fill_largest_first(&A, b, 160);
    ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
    free_blocks(&A, b, n);
    assert_int_equal(analloc_free_bytes(&A), A.managed);
    ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
    munmap(chunk, total);
#endif
}

/* ======================================================================
 * analloc_alloc
 * ====================================================================== */

static void test_alloc_sizes(void **state)
{
    static const size_t pages[] = {1, 64, 4096};
    size_t pi;
    (void)state;
    for (pi = 0; pi < sizeof pages / sizeof pages[0]; pi++) {
        size_t page = pages[pi], total = page == 1 ? 9000 : page * 100 + 7;
        unsigned char *buf = xalloc_aligned(page < 16 ? 16 : page, total + 8);
        struct analloc A;
        size_t largest, sizes[64], ns = 0, i, k;
        size_t bad[12], nb = 0;
        struct snap s;
        ASSERT_ERR(analloc_with_chunk(&A, buf + 3, total, 0, page), ANALLOC_OK);
        largest = A.page << A.depth;
        assert_int_equal(analloc_largest_free(&A), largest);
        sizes[ns++] = 0;
        sizes[ns++] = 1;
        if (page > 1)
            sizes[ns++] = page - 1;
        sizes[ns++] = page;
        sizes[ns++] = page + 1;
        sizes[ns++] = 3 * page;
        for (k = 1; (page << k) <= largest; k++) {
            sizes[ns++] = page << k;
            sizes[ns++] = (page << k) - 1;
            if ((page << k) < largest)
                sizes[ns++] = (page << k) + 1;
        }
        sizes[ns++] = largest;
        for (i = 0; i < ns; i++) {
            size_t want = block_for(sizes[i], page);
            void *p;
            if (want > largest)
                continue;
            p = analloc_alloc(&A, sizes[i]);
            if (p == NULL)
                FAILF("page %zu: alloc(%zu) on an empty arena returned NULL\n", page, sizes[i]);
            if (analloc_mem_size(&A, p) != want)
                FAILF("page %zu: alloc(%zu) gave a block of %zu bytes, expected %zu\n", page,
                      sizes[i], analloc_mem_size(&A, p), want);
            assert_int_equal(addr(p) % want, 0);
            assert_true(addr(p) >= addr(A.start) && addr(p) + want <= addr(A.start) + A.managed);
            ASSERT_ERR(analloc_free(&A, p), ANALLOC_OK);
            assert_int_equal(analloc_free_bytes(&A), A.managed);
        }
        /* too large: NULL, and nothing changes (no wrap-around in rounding) */
        bad[nb++] = largest + 1;
        bad[nb++] = largest * 2;
        bad[nb++] = SIZE_MAX;
        bad[nb++] = SIZE_MAX - page;
        bad[nb++] = SIZE_MAX - page + 1;
        bad[nb++] = SIZE_MAX - 2 * page + 2;
        bad[nb++] = (SIZE_MAX >> 1) + 1;
        bad[nb++] = SIZE_MAX >> 1;
        bad[nb++] = (SIZE_MAX >> 1) + 2;
        snap_take(&s, &A);
        for (i = 0; i < nb; i++) {
            void *p = analloc_alloc(&A, bad[i]);
            if (p != NULL)
                FAILF("page %zu: alloc(%zu) returned %p, expected NULL (largest block %zu)\n", page,
                      bad[i], p, largest);
            SNAP_SAME(&s, &A, "alloc too large");
        }
        snap_free(&s);
        free(buf);
    }
}

/* Random sizes at odd chunk starts until NULL, then pages until NULL: every
 * block is aligned to its size, nothing overlaps, the whole arena is used;
 * freeing everything restores the metadata byte for byte. */
static void test_alloc_alignment_fill(void **state)
{
    static const size_t pages[] = {1, 8, 64, 4096};
    static const size_t offs[] = {1, 3, 5, 7, 8, 100, 1001, 4095};
    struct rng r;
    size_t pi, oi;
    (void)state;
    rng_seed(&r, g_seed, "alloc_alignment_fill", 1);
    for (pi = 0; pi < sizeof pages / sizeof pages[0]; pi++)
        for (oi = 0; oi < sizeof offs / sizeof offs[0]; oi++) {
            size_t page = pages[pi], off = offs[oi] % (page < 16 ? 16 : page);
            size_t total = page == 1 ? 3000 + rng_below(&r, 2000)
                                     : page * (150 + rng_below(&r, 100)) + rng_below(&r, page);
            size_t used = rng_below(&r, 2 * page + 50), n = 0, cap, i;
            unsigned char *buf = xalloc_replayable(off + total);
            struct analloc A;
            struct snap s0;
            struct blk *b;
            void *p;
            ASSERT_ERR(analloc_with_chunk(&A, buf + off, total, used, page), ANALLOC_OK);
            verify_chunk_setup(&A, buf + off, total, used, page);
            snap_take(&s0, &A);
            cap = A.managed / page + 1;
            b = malloc(cap * sizeof *b);
            assert_non_null(b);
            for (;;) {
                size_t size = rng_below(&r, 8 * page + 1), want = block_for(size, page);
                p = analloc_alloc(&A, size);
                if (p == NULL)
                    break;
                assert_true(n < cap);
                if (analloc_mem_size(&A, p) != want)
                    FAILF("alloc(%zu) gave %zu bytes, expected %zu\n", size,
                          analloc_mem_size(&A, p), want);
                b[n].p = addr(p);
                b[n].s = want;
                n++;
            }
            while ((p = analloc_alloc(&A, 0)) != NULL) {
                assert_true(n < cap);
                b[n].p = addr(p);
                b[n].s = page;
                n++;
            }
            check_blocks(&A, b, n, 1);
            assert_int_equal(analloc_free_bytes(&A), 0);
            assert_int_equal(analloc_largest_free(&A), 0);
            ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
            for (i = n; i > 1; i--) { /* shuffle */
                size_t j = rng_below(&r, i);
                struct blk t = b[i - 1];
                b[i - 1] = b[j];
                b[j] = t;
            }
            for (i = 0; i < n; i++) {
                ASSERT_ERR(analloc_free(&A, ptr_at(b[i].p)), ANALLOC_OK);
                if (i % 37 == 0)
                    ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
            }
            assert_int_equal(analloc_free_bytes(&A), A.managed);
            analloc_drain(&A); /* cached pages back into the buddy system */
            assert_int_equal(largest_free_unchanged(&A), A.page << A.depth);
            SNAP_SAME(&s0, &A, "random fill and free in random order");
            snap_free(&s0);
            free(b);
            free(buf);
        }
}

/* Lowest address among the smallest free blocks that fit. */
static void test_alloc_lowest_address(void **state)
{
    const size_t page = 4096;
    struct ext e;
    uintptr_t base = fake_base(16 * page, 16 * page);
    analloc_t a;
    size_t i;
#define P(i) ptr_at(base + (uintptr_t)(i) * page)
#define ALLOC_AT(sz, i)                                                                     \
    do {                                                                                    \
        void *p_ = analloc_alloc(a, (sz));                                                  \
        if (p_ != P(i))                                                                     \
            FAILF("alloc(%zu) returned page %ld, expected page %d\n", (size_t)(sz),         \
                  p_ ? (long)((addr(p_) - base) / page) : -1L, (int)(i));                   \
    } while (0)
    (void)state;
    ext_init(&e, base, 16 * page, page);
    a = &e.a;
    ASSERT_ERR(analloc_set_cache(a, 0), ANALLOC_OK); /* the buddy system alone */
    for (i = 0; i < 16; i++)
        ALLOC_AT(page, i);
    assert_null(analloc_alloc(a, 0));
    ASSERT_ERR(analloc_free(a, P(9)), ANALLOC_OK);
    ASSERT_ERR(analloc_free(a, P(3)), ANALLOC_OK);
    ASSERT_ERR(analloc_free(a, P(12)), ANALLOC_OK);
    ALLOC_AT(1, 3);
    ALLOC_AT(0, 9);
    ALLOC_AT(page, 12);
    /* an order-1 block at 4 and an order-0 block at 10: the page comes from
     * the smaller block even though it is higher */
    ASSERT_ERR(analloc_free(a, P(4)), ANALLOC_OK);
    ASSERT_ERR(analloc_free(a, P(5)), ANALLOC_OK);
    ASSERT_ERR(analloc_free(a, P(10)), ANALLOC_OK);
    assert_int_equal(analloc_largest_free(a), 2 * page);
    ALLOC_AT(page, 10);
    ALLOC_AT(page, 4);
    ALLOC_AT(page, 5);
    /* an order-2 block at 8 and an order-1 block at 2 */
    for (i = 8; i < 12; i++)
        ASSERT_ERR(analloc_free(a, P(i)), ANALLOC_OK);
    ASSERT_ERR(analloc_free(a, P(2)), ANALLOC_OK);
    ASSERT_ERR(analloc_free(a, P(3)), ANALLOC_OK);
    assert_int_equal(analloc_largest_free(a), 4 * page);
    ALLOC_AT(2 * page, 2);
    ALLOC_AT(page + 1, 8);
    ALLOC_AT(page, 10);
    ALLOC_AT(page, 11);
    assert_null(analloc_alloc(a, 0));
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
#undef ALLOC_AT
#undef P
    ext_fini(&e);
}

/* ======================================================================
 * analloc_free, the error hook, analloc_strerror
 * ====================================================================== */

static void test_free_errors_chunk(void **state)
{
    const size_t page = 64, used = 100, total = 64 * 64 + 40;
    unsigned char *buf = xalloc_aligned(4096, total + 4096), *chunk = buf + 3;
    unsigned char *P, *Q, *R, *orders;
    struct analloc A, z, zero;
    analloc_t a = &A;
    struct checked_hook hl = {HOOK_MAGIC, 0, 0, NULL};
    uintptr_t start, end, X, X2, q;
    struct model m;
    size_t mb, mi, fi;
    (void)state;

    ASSERT_ERR(analloc_with_chunk(a, chunk, total, used, page), ANALLOC_OK);
    verify_chunk_setup(a, chunk, total, used, page);
    analloc_set_error_hook(a, checked_hook_record, &hl);
    start = addr(a->start);
    end = start + a->managed;
    mb = analloc_meta_bytes(a);
    orders = ti_meta(a);
    model_from(&m, a);
    P = analloc_alloc(a, 4 * page);
    Q = analloc_alloc(a, page);
    R = analloc_alloc(a, page);
    assert_true(model_alloc(&m, 4 * page, &mi));
    assert_ptr_equal(P, model_ptr(&m, mi));
    assert_true(model_alloc(&m, page, &mi));
    assert_ptr_equal(Q, model_ptr(&m, mi));
    assert_true(model_alloc(&m, page, &mi));
    assert_ptr_equal(R, model_ptr(&m, mi));
    model_release(&m, mi);
    ASSERT_ERR(analloc_free(a, R), ANALLOC_OK);
    assert_int_equal(hl.calls, 0);
    /* two free pages, by the model */
    for (fi = 0; model_used(&m, fi) || fi == mi; fi++)
        ;
    X = addr(model_ptr(&m, fi));
    for (fi = m.n - 1; model_used(&m, fi) || fi == mi || model_ptr(&m, fi) == ptr_at(X); fi--)
        ;
    X2 = addr(model_ptr(&m, fi));
    assert_int_equal(analloc_mem_size(a, ptr_at(X)), 0);
    assert_int_equal(analloc_mem_size(a, ptr_at(X2)), 0);

    {
        struct snap s;
        snap_take(&s, a);
        ASSERT_ERR(analloc_free(a, NULL), ANALLOC_OK);
        SNAP_SAME(&s, a, "free(NULL)");
        snap_free(&s);
        assert_int_equal(hl.calls, 0);
    }
    /* double free, interior, free memory */
    EXPECT_FREE_ERR(a, R, ANALLOC_EFREE, &hl);
    EXPECT_FREE_ERR(a, P + page, ANALLOC_EINTERIOR, &hl);
    EXPECT_FREE_ERR(a, P + 2 * page, ANALLOC_EINTERIOR, &hl);
    EXPECT_FREE_ERR(a, P + 3 * page, ANALLOC_EINTERIOR, &hl);
    EXPECT_FREE_ERR(a, ptr_at(X), ANALLOC_EFREE, &hl);
    EXPECT_FREE_ERR(a, ptr_at(X2), ANALLOC_EFREE, &hl);
    /* misaligned */
    EXPECT_FREE_ERR(a, P + 1, ANALLOC_EALIGN, &hl);
    EXPECT_FREE_ERR(a, P + page - 1, ANALLOC_EALIGN, &hl);
    EXPECT_FREE_ERR(a, P + page + 8, ANALLOC_EALIGN, &hl);
    EXPECT_FREE_ERR(a, Q + 8, ANALLOC_EALIGN, &hl);
    EXPECT_FREE_ERR(a, ptr_at(X + 1), ANALLOC_EALIGN, &hl);
    EXPECT_FREE_ERR(a, ptr_at(start + 1), ANALLOC_EALIGN, &hl);
    /* outside the arena */
    EXPECT_FREE_ERR(a, ptr_at(align_down(addr(chunk), page) - page), ANALLOC_ERANGE, &hl);
    EXPECT_FREE_ERR(a, ptr_at(align_down(addr(chunk), page) - 64 * page), ANALLOC_ERANGE, &hl);
    EXPECT_FREE_ERR(a, ptr_at(end), ANALLOC_ERANGE, &hl); /* the partial page at the end */
    EXPECT_FREE_ERR(a, ptr_at(align_up(addr(chunk) + total, page)), ANALLOC_ERANGE, &hl);
    EXPECT_FREE_ERR(a, ptr_at(align_up(addr(chunk) + total, page) + 10 * page), ANALLOC_ERANGE,
                    &hl);
    EXPECT_FREE_ERR(a, ptr_at(page), ANALLOC_ERANGE, &hl);
    EXPECT_FREE_ERR(a, ptr_at(align_down(UINTPTR_MAX, page)), ANALLOC_ERANGE, &hl);
    /* the used prefix and the metadata */
    EXPECT_FREE_ERR(a, chunk, ANALLOC_ERESERVED, &hl);
    EXPECT_FREE_ERR(a, chunk + 10, ANALLOC_ERESERVED, &hl);
    EXPECT_FREE_ERR(a, chunk + used - 1, ANALLOC_ERESERVED, &hl);
    EXPECT_FREE_ERR(a, orders, ANALLOC_ERESERVED, &hl);
    EXPECT_FREE_ERR(a, orders + 8, ANALLOC_ERESERVED, &hl);
    EXPECT_FREE_ERR(a, orders + mb - 1, ANALLOC_ERESERVED, &hl);
    for (q = align_up(addr(chunk), page); q < start; q += page)
        EXPECT_FREE_ERR(a, ptr_at(q), ANALLOC_ERESERVED, &hl);
    /* no allocator */
    ASSERT_ERR(analloc_free(NULL, P), ANALLOC_EINVAL);
    memset(&z, 0, sizeof z);
    memset(&zero, 0, sizeof zero);
    ASSERT_ERR(analloc_free(&z, P), ANALLOC_EINVAL);
    assert_memory_equal(&z, &zero, sizeof z);

    /* all of that left the allocator healthy */
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    assert_int_equal(analloc_mem_size(a, P), 4 * page);
    assert_int_equal(analloc_mem_size(a, Q), page);
    {
        size_t calls = hl.calls;
        ASSERT_ERR(analloc_free(a, P), ANALLOC_OK);
        ASSERT_ERR(analloc_free(a, Q), ANALLOC_OK);
        assert_int_equal(hl.calls, calls);
    }
    assert_int_equal(analloc_free_bytes(a), a->managed);
    model_fini(&m);
    free(buf);
}

/* In analloc_init mode the external metadata buffer is reserved. */
static void test_free_errors_external_meta(void **state)
{
    const size_t page = 8, total = 8 * 300;
    size_t ms = analloc_meta_size(total, page), mb;
    unsigned char *meta = xalloc_aligned(64, ms);
    uintptr_t base = fake_base(total, 1 << 20), q, mlo;
    struct analloc A;
    struct checked_hook hl = {HOOK_MAGIC, 0, 0, NULL};
    struct model m;
    size_t mi, fi;
    void *p;
    (void)state;
    ASSERT_ERR(analloc_init(&A, ptr_at(base), total, page, meta, ms), ANALLOC_OK);
    verify_ext_setup(&A, base, total, page, meta, ms);
    analloc_set_error_hook(&A, checked_hook_record, &hl);
    model_from(&m, &A);
    assert_true(model_alloc(&m, 3 * page, &mi));
    p = analloc_alloc(&A, 3 * page);
    assert_ptr_equal(p, model_ptr(&m, mi));
    for (fi = 0; model_used(&m, fi); fi++)
        ;
    mb = analloc_meta_bytes(&A);
    mlo = addr(ti_meta(&A));
    for (q = align_up(mlo, page); q < mlo + mb; q += page)
        EXPECT_FREE_ERR(&A, ptr_at(q), ANALLOC_ERESERVED, &hl);
    EXPECT_FREE_ERR(&A, ptr_at(mlo + 1), ANALLOC_ERESERVED, &hl);
    EXPECT_FREE_ERR(&A, ptr_at(mlo + mb - 1), ANALLOC_ERESERVED, &hl);
    EXPECT_FREE_ERR(&A, ptr_at(base - page), ANALLOC_ERANGE, &hl);
    EXPECT_FREE_ERR(&A, ptr_at(base + total), ANALLOC_ERANGE, &hl);
    EXPECT_FREE_ERR(&A, ptr_at(addr(p) + page), ANALLOC_EINTERIOR, &hl);
    EXPECT_FREE_ERR(&A, model_ptr(&m, fi), ANALLOC_EFREE, &hl);
    EXPECT_FREE_ERR(&A, ptr_at(addr(p) + 3), ANALLOC_EALIGN, &hl);
    ASSERT_ERR(analloc_free(&A, p), ANALLOC_OK);
    EXPECT_FREE_ERR(&A, p, ANALLOC_EFREE, &hl);
    ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
    model_fini(&m);
    free(meta);
}

static void test_error_hook(void **state)
{
    const size_t page = 64, total = 64 * 32 + 5;
    unsigned char *buf = xalloc_aligned(64, total + 8);
    struct analloc A;
    struct checked_hook h1 = {HOOK_MAGIC, 0, 0, NULL}, h2 = {HOOK_MAGIC, 0, 0, NULL};
    unsigned char *p, *q;
    (void)state;
    ASSERT_ERR(analloc_with_chunk(&A, buf + 7, total, 0, page), ANALLOC_OK);
    analloc_set_error_hook(&A, checked_hook_record, &h1);
    /* successful calls stay silent */
    p = analloc_alloc(&A, 2 * page);
    assert_non_null(p);
    ASSERT_ERR(analloc_free(&A, NULL), ANALLOC_OK);
    assert_int_equal(analloc_mem_size(&A, p), 2 * page);
    q = analloc_realloc(&A, p, page);
    assert_ptr_equal(q, p);
    ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
    (void)analloc_free_bytes(&A);
    (void)analloc_largest_free(&A);
    assert_int_equal(h1.calls, 0);
    /* each rejected free is heard once, with its code and pointer */
    ASSERT_ERR(analloc_free(&A, p + 1), ANALLOC_EALIGN);
    assert_int_equal(h1.calls, 1);
    ASSERT_ERR(h1.error, ANALLOC_EALIGN);
    assert_ptr_equal(h1.ptr, p + 1);
    ASSERT_ERR(analloc_free(&A, p), ANALLOC_OK);
    assert_int_equal(h1.calls, 1);
    ASSERT_ERR(analloc_free(&A, p), ANALLOC_EFREE);
    assert_int_equal(h1.calls, 2);
    ASSERT_ERR(h1.error, ANALLOC_EFREE);
    assert_ptr_equal(h1.ptr, p);
    /* an allocation that finds no memory is not an error */
    while (analloc_alloc(&A, 0) != NULL) {
    }
    assert_null(analloc_alloc(&A, page));
    assert_int_equal(h1.calls, 2);
    /* another hook replaces the first */
    analloc_set_error_hook(&A, checked_hook_record, &h2);
    ASSERT_ERR(analloc_free(&A, p + page / 2), ANALLOC_EALIGN);
    assert_int_equal(h1.calls, 2);
    assert_int_equal(h2.calls, 1);
    ASSERT_ERR(h2.error, ANALLOC_EALIGN);
    assert_ptr_equal(h2.ptr, p + page / 2);
    /* and NULL removes it */
    analloc_set_error_hook(&A, NULL, NULL);
    ASSERT_ERR(analloc_free(&A, p + 1), ANALLOC_EALIGN);
    assert_int_equal(h1.calls, 2);
    assert_int_equal(h2.calls, 1);
    free(buf);
}

static int contains_unknown(const char *s)
{
    const char *w = "unknown";
    size_t i, j;
    for (i = 0; s[i]; i++) {
        for (j = 0; w[j]; j++) {
            char c = s[i + j];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            if (c != w[j])
                break;
        }
        if (!w[j])
            return 1;
    }
    return 0;
}

static void test_strerror(void **state)
{
    static const int codes[] = {ANALLOC_OK,       ANALLOC_EINVAL,    ANALLOC_ETOOSMALL,
                                ANALLOC_EOVERLAP, ANALLOC_ERANGE,    ANALLOC_ERESERVED,
                                ANALLOC_EALIGN,   ANALLOC_EINTERIOR, ANALLOC_EFREE,
                                ANALLOC_ECORRUPT, ANALLOC_EBUSY,     ANALLOC_ENOTRESERVED,
                                ANALLOC_ELIMIT, ANALLOC_ENOMEM, ANALLOC_ESIZE};
    static const int unknown[] = {1, 2, -15, -16, -100, INT_MIN, INT_MAX};
    const size_t nc = sizeof codes / sizeof codes[0];
    const char *s[sizeof codes / sizeof codes[0]];
    size_t i, j;
    (void)state;
    for (i = 0; i < nc; i++) {
        s[i] = analloc_strerror(codes[i]);
        assert_non_null(s[i]);
        if (s[i][0] == '\0' || contains_unknown(s[i]))
            FAILF("strerror(%d) = \"%s\"\n", codes[i], s[i]);
    }
    for (i = 0; i < nc; i++)
        for (j = i + 1; j < nc; j++)
            if (strcmp(s[i], s[j]) == 0)
                FAILF("strerror(%d) and strerror(%d) are both \"%s\"\n", codes[i], codes[j], s[i]);
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *u = analloc_strerror(unknown[i]);
        assert_non_null(u);
        if (!contains_unknown(u))
            FAILF("strerror(%d) = \"%s\", expected an \"unknown error\" text\n", unknown[i], u);
        for (j = 0; j < nc; j++)
            assert_true(strcmp(u, s[j]) != 0);
    }
}

/* NULL and never-set-up allocators: refused, never dereferenced blindly. */
static void test_null_and_unset_allocator(void **state)
{
    struct analloc z, zero;
    unsigned char mem[256];
    void *p = mem + 64;
    (void)state;
    memset(&z, 0, sizeof z);
    memset(&zero, 0, sizeof zero);
    ASSERT_ERR(analloc_free(NULL, p), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_free(&z, p), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_check(NULL), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_check(&z), ANALLOC_EINVAL);
    assert_null(analloc_alloc(NULL, 64));
    assert_null(analloc_alloc(&z, 64));
    assert_null(analloc_alloc(&z, 0));
    assert_null(analloc_realloc(NULL, NULL, 64));
    assert_null(analloc_realloc(&z, NULL, 64));
    assert_null(analloc_realloc(&z, p, 64));
    assert_int_equal(analloc_mem_size(NULL, p), 0);
    assert_int_equal(analloc_mem_size(&z, p), 0);
    assert_int_equal(analloc_free_bytes(NULL), 0);
    assert_int_equal(analloc_free_bytes(&z), 0);
    assert_int_equal(analloc_largest_free(NULL), 0);
    assert_int_equal(analloc_largest_free(&z), 0);
    assert_int_equal(analloc_meta_bytes(NULL), 0);
    assert_int_equal(analloc_meta_bytes(&z), 0);
    assert_memory_equal(&z, &zero, sizeof z);
}

/* ======================================================================
 * analloc_realloc
 * ====================================================================== */

/* A real, aligned 16-page arena of 64-byte pages (init mode). */
struct real16 {
    unsigned char *mem;
    void *meta;
    struct analloc a;
};

static void real16_init(struct real16 *r)
{
    const size_t page = 64, total = 16 * 64;
    size_t ms = analloc_meta_size(total, page);
    r->mem = xalloc_aligned(total, total);
    r->meta = malloc(ms);
    assert_non_null(r->meta);
    ASSERT_ERR(analloc_init(&r->a, r->mem, total, page, r->meta, ms), ANALLOC_OK);
    verify_ext_setup(&r->a, addr(r->mem), total, page, r->meta, ms);
    assert_int_equal(r->a.depth, 4);
}

static void real16_fini(struct real16 *r)
{
    free(r->mem);
    free(r->meta);
}

static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)(seed + i * 7 + (i >> 8));
}

static int has_pattern(const unsigned char *p, size_t n, unsigned seed)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != (unsigned char)(seed + i * 7 + (i >> 8)))
            return 0;
    return 1;
}

static void test_realloc_basic(void **state)
{
    const size_t page = 64;
    struct real16 r;
    analloc_t a;
    unsigned char *p, *q, *n, *x, *y;
    struct snap s;
#define PG(i) (r.mem + (size_t)(i) * page)
    (void)state;
    real16_init(&r);
    a = &r.a;
    ASSERT_ERR(analloc_set_cache(a, 0), ANALLOC_OK); /* the buddy system alone */

    p = analloc_realloc(a, NULL, 1); /* realloc(NULL) allocates */
    assert_ptr_equal(p, PG(0));
    assert_int_equal(analloc_mem_size(a, p), page);
    assert_ptr_equal(analloc_realloc(a, p, 4 * page), PG(0)); /* grows in place */
    assert_int_equal(analloc_mem_size(a, p), 4 * page);
    assert_int_equal(analloc_free_bytes(a), 12 * page);
    assert_ptr_equal(analloc_realloc(a, p, 0), PG(0)); /* size 0: one page, in place */
    assert_int_equal(analloc_mem_size(a, p), page);
    assert_int_equal(analloc_free_bytes(a), 15 * page);
    snap_take(&s, a);
    assert_ptr_equal(analloc_realloc(a, p, page), p); /* same size: nothing to do */
    assert_ptr_equal(analloc_realloc(a, p, 0), p);
    SNAP_SAME(&s, a, "realloc to the same size");
    snap_free(&s);
    assert_ptr_equal(analloc_realloc(a, p, 5 * page), PG(0)); /* 8 pages, in place */
    assert_int_equal(analloc_mem_size(a, p), 8 * page);
    assert_int_equal(analloc_free_bytes(a), 8 * page);
    assert_ptr_equal(analloc_realloc(a, p, 2 * page), PG(0)); /* shrink frees the tail */
    assert_int_equal(analloc_mem_size(a, p), 2 * page);
    assert_int_equal(analloc_free_bytes(a), 14 * page);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    EXPECT_FREE_ERR(a, PG(2), ANALLOC_EFREE, NULL); /* the old tail is free memory */

    /* the buddy that follows is taken: the block moves to the lowest 4-page
     * block (allocated before the old one is freed) and keeps its bytes */
    q = analloc_alloc(a, page);
    assert_ptr_equal(q, PG(2));
    fill_pattern(p, 2 * page, 1);
    n = analloc_realloc(a, p, 3 * page);
    assert_ptr_equal(n, PG(4));
    assert_true(has_pattern(n, 2 * page, 1));
    assert_int_equal(analloc_mem_size(a, n), 4 * page);
    assert_int_equal(analloc_mem_size(a, p), 0);
    assert_int_equal(analloc_free_bytes(a), 11 * page);
    EXPECT_FREE_ERR(a, p, ANALLOC_EFREE, NULL);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    ASSERT_ERR(analloc_free(a, n), ANALLOC_OK);
    ASSERT_ERR(analloc_free(a, q), ANALLOC_OK);
    assert_int_equal(analloc_free_bytes(a), 16 * page);

    /* free buddies are not enough when the block is not aligned to the new
     * size: page 2 cannot grow to 4 pages in place */
    x = analloc_alloc(a, 2 * page);
    y = analloc_alloc(a, 2 * page);
    assert_ptr_equal(x, PG(0));
    assert_ptr_equal(y, PG(2));
    ASSERT_ERR(analloc_free(a, x), ANALLOC_OK);
    fill_pattern(y, 2 * page, 2);
    n = analloc_realloc(a, y, 4 * page);
    assert_ptr_equal(n, PG(4));
    assert_true(has_pattern(n, 2 * page, 2));
    assert_int_equal(analloc_mem_size(a, y), 0);
    ASSERT_ERR(analloc_free(a, n), ANALLOC_OK);

    /* growing over several free buddies at once */
    x = analloc_alloc(a, page);
    assert_ptr_equal(x, PG(0));
    y = analloc_alloc(a, 8 * page);
    assert_ptr_equal(y, PG(8));
    assert_ptr_equal(analloc_realloc(a, y, page), y);
    assert_int_equal(analloc_mem_size(a, y), page);
    fill_pattern(y, page, 3);
    assert_ptr_equal(analloc_realloc(a, y, 8 * page), PG(8));
    assert_true(has_pattern(y, page, 3));
    assert_int_equal(analloc_mem_size(a, y), 8 * page);
    ASSERT_ERR(analloc_free(a, x), ANALLOC_OK);
    ASSERT_ERR(analloc_free(a, y), ANALLOC_OK);
    assert_int_equal(analloc_free_bytes(a), 16 * page);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
#undef PG
    real16_fini(&r);
}

static void test_realloc_failure(void **state)
{
    const size_t page = 64;
    struct real16 r;
    analloc_t a;
    unsigned char *a1, *a2, *a3;
    struct snap s;
    static const size_t huge[] = {17 * 64, 32 * 64, SIZE_MAX, SIZE_MAX - 63, SIZE_MAX - 64,
                                  (SIZE_MAX >> 1) + 1};
    size_t i;
    (void)state;
    real16_init(&r);
    a = &r.a;
    a1 = analloc_alloc(a, 4 * page);
    a2 = analloc_alloc(a, 4 * page);
    a3 = analloc_alloc(a, 8 * page);
    assert_ptr_equal(a1, r.mem);
    assert_ptr_equal(a2, r.mem + 4 * page);
    assert_ptr_equal(a3, r.mem + 8 * page);
    fill_pattern(a1, 4 * page, 9);
    snap_take(&s, a);
    /* full arena: cannot grow in place, nowhere to move */
    assert_null(analloc_realloc(a, a1, 8 * page));
    SNAP_SAME(&s, a, "failed realloc (no memory)");
    snap_free(&s);
    assert_int_equal(analloc_mem_size(a, a1), 4 * page);
    assert_true(has_pattern(a1, 4 * page, 9));
    /* one buddy free, the next one not: still no */
    ASSERT_ERR(analloc_free(a, a2), ANALLOC_OK);
    analloc_drain(a); /* a2 was cached: the failing realloc would drain it */
    snap_take(&s, a);
    assert_null(analloc_realloc(a, a1, 16 * page));
    SNAP_SAME(&s, a, "failed realloc (second buddy used)");
    for (i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        void *q = analloc_realloc(a, a1, huge[i]);
        if (q != NULL)
            FAILF("realloc(%zu) returned %p, expected NULL\n", huge[i], q);
        SNAP_SAME(&s, a, "failed realloc (too large)");
    }
    snap_free(&s);
    assert_int_equal(analloc_mem_size(a, a1), 4 * page);
    assert_true(has_pattern(a1, 4 * page, 9));
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    real16_fini(&r);
}

static void test_realloc_invalid_ptr(void **state)
{
    const size_t page = 64;
    struct real16 r;
    analloc_t a;
    unsigned char *p, *dead;
    struct snap s;
    struct analloc z;
    void *bad[8];
    size_t i;
    (void)state;
    real16_init(&r);
    a = &r.a;
    p = analloc_alloc(a, 4 * page);
    dead = analloc_alloc(a, page);
    assert_non_null(p);
    assert_non_null(dead);
    ASSERT_ERR(analloc_free(a, dead), ANALLOC_OK);
    bad[0] = dead;                      /* freed */
    bad[1] = p + page;                  /* interior */
    bad[2] = p + 1;                     /* misaligned */
    bad[3] = r.mem - page;              /* before */
    bad[4] = r.mem + 16 * page;         /* after */
    bad[5] = ti_meta(a);              /* the metadata */
    bad[6] = r.mem + 12 * page;         /* free memory */
    bad[7] = ptr_at(page);              /* far away */
    snap_take(&s, a);
    for (i = 0; i < 8; i++) {
        void *q = analloc_realloc(a, bad[i], page);
        if (q != NULL)
            FAILF("realloc(bad pointer %zu = %p) returned %p, expected NULL\n", i, bad[i], q);
        SNAP_SAME(&s, a, "realloc of a bad pointer");
        q = analloc_realloc(a, bad[i], 2 * page);
        if (q != NULL)
            FAILF("realloc(bad pointer %zu = %p, 2 pages) returned %p, expected NULL\n", i, bad[i],
                  q);
        SNAP_SAME(&s, a, "realloc of a bad pointer");
    }
    snap_free(&s);
    assert_null(analloc_realloc(NULL, p, page));
    memset(&z, 0, sizeof z);
    assert_null(analloc_realloc(&z, p, page));
    assert_int_equal(analloc_mem_size(a, p), 4 * page);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    real16_fini(&r);
}

/* ======================================================================
 * analloc_mem_size
 * ====================================================================== */

static void test_mem_size(void **state)
{
    const size_t page = 64, total = 64 * 64 + 11;
    unsigned char *buf = xalloc_aligned(64, total + 8), *chunk = buf + 5, *P, *Q, *R;
    struct analloc A;
    analloc_t a = &A;
    struct snap s;
    struct model m;
    size_t mi, fi;
    uintptr_t end;
    (void)state;
    ASSERT_ERR(analloc_with_chunk(a, chunk, total, 20, page), ANALLOC_OK);
    end = addr(A.start) + A.managed;
    model_from(&m, a);
    P = analloc_alloc(a, 4 * page);
    Q = analloc_alloc(a, 1);
    R = analloc_alloc(a, 2 * page);
    assert_true(model_alloc(&m, 4 * page, &mi));
    assert_ptr_equal(P, model_ptr(&m, mi));
    assert_true(model_alloc(&m, 1, &mi));
    assert_ptr_equal(Q, model_ptr(&m, mi));
    assert_true(model_alloc(&m, 2 * page, &mi));
    assert_ptr_equal(R, model_ptr(&m, mi));
    model_release(&m, mi);
    ASSERT_ERR(analloc_free(a, R), ANALLOC_OK);
    for (fi = m.n; fi-- > 0 && model_used(&m, fi);)
        ;
    snap_take(&s, a);
    assert_int_equal(analloc_mem_size(a, P), 4 * page);
    assert_int_equal(analloc_mem_size(a, Q), page);
    assert_int_equal(analloc_mem_size(a, NULL), 0);
    assert_int_equal(analloc_mem_size(a, R), 0);
    assert_int_equal(analloc_mem_size(a, P + page), 0);
    assert_int_equal(analloc_mem_size(a, P + 3 * page), 0);
    assert_int_equal(analloc_mem_size(a, P + 1), 0);
    assert_int_equal(analloc_mem_size(a, Q + 1), 0);
    assert_int_equal(analloc_mem_size(a, model_ptr(&m, fi)), 0);
    assert_int_equal(analloc_mem_size(a, ptr_at(end)), 0);
    assert_int_equal(analloc_mem_size(a, ptr_at(align_down(addr(chunk), page) - page)), 0);
    assert_int_equal(analloc_mem_size(a, ptr_at(page)), 0);
    assert_int_equal(analloc_mem_size(a, chunk), 0);
    assert_int_equal(analloc_mem_size(a, ti_meta(a)), 0);
    SNAP_SAME(&s, a, "mem_size");
    snap_free(&s);
    model_fini(&m);
    free(buf);
}

/* ======================================================================
 * The random session against the model (also used with PROT_NONE memory)
 * ====================================================================== */

struct rlive {
    size_t i;
    unsigned char tag;
};

static size_t random_size(struct rng *r, const struct model *m)
{
    unsigned k = (unsigned)rng_below(r, m->depth + 1), k2 = (unsigned)rng_below(r, m->depth + 1);
    size_t lo, hi;
    if (rng_below(r, 60) == 0)
        return rng_below(r, 2) ? (m->page << m->depth) + 1 + rng_below(r, m->page)
                               : SIZE_MAX - rng_below(r, 2 * m->page);
    if (k2 < k)
        k = k2;
    hi = m->page << k;
    lo = k ? (m->page << (k - 1)) + 1 : 0;
    return lo + rng_below(r, hi - lo + 1);
}

static void tag_block(const struct model *m, size_t i, unsigned char tag)
{
    unsigned char *p = model_ptr(m, i);
    size_t bytes = m->page << model_ord(m, i);
    p[0] = tag;
    p[bytes - 1] = tag;
}

static void check_tag(const struct model *m, size_t i, unsigned char tag)
{
    const unsigned char *p = model_ptr(m, i);
    size_t bytes = m->page << model_ord(m, i);
    if (p[0] != tag || p[bytes - 1] != tag)
        FAILF("block %p lost its contents (tag %#x, found %#x and %#x)\n", (const void *)p, tag,
              p[0], p[bytes - 1]);
}

/* Random operations, each checked against the model.  `touch`: the memory is
 * real and the test writes to live blocks; otherwise nothing may touch it
 * (only shrinking reallocs, no contents checks). */
static void random_session(analloc_t a, struct model *m, struct rng *r, size_t ops, int touch,
                           const char *label)
{
    struct rlive *lv = calloc(m->n + 1, sizeof *lv);
    size_t nlive = 0, op, maxlive = 0;
    size_t n_alloc = 0, n_allocfail = 0, n_free = 0, n_re = 0, n_moved = 0, n_refail = 0;
    size_t n_bad = 0;
    struct snap s0;
    unsigned char nexttag = 1;
    assert_non_null(lv);
    snap_take(&s0, a);
    for (op = 0; op < ops; op++) {
        unsigned what = (unsigned)rng_below(r, 100);
        if (what < 40 || nlive == 0) {
            size_t size = random_size(r, m), mi;
            int ok = model_alloc(m, size, &mi);
            void *p;
            if (!ok) {
                struct snap s;
                snap_take(&s, a);
                p = analloc_alloc(a, size);
                if (p != NULL)
                    FAILF("%s op %zu: alloc(%zu) = %p, model has no block\n", label, op, size, p);
                SNAP_SAME(&s, a, "alloc that finds no block");
                snap_free(&s);
                n_allocfail++;
            } else {
                n_alloc++;
                p = analloc_alloc(a, size);
                if (p != model_ptr(m, mi))
                    FAILF("%s op %zu: alloc(%zu) = %p, model expects %p\n", label, op, size, p,
                          model_ptr(m, mi));
                lv[nlive].i = mi;
                lv[nlive].tag = nexttag++;
                if (touch)
                    tag_block(m, mi, lv[nlive].tag);
                nlive++;
                if (nlive > maxlive)
                    maxlive = nlive;
            }
        } else if (what < 70) {
            size_t j = rng_below(r, nlive), i = lv[j].i;
            if (touch)
                check_tag(m, i, lv[j].tag);
            model_release(m, i);
            ASSERT_ERR(analloc_free(a, model_ptr(m, i)), ANALLOC_OK);
            lv[j] = lv[--nlive];
            n_free++;
        } else if (what < 82) {
            size_t j = rng_below(r, nlive), i = lv[j].i, ni;
            size_t old = m->page << model_ord(m, i), size;
            unsigned char *p = model_ptr(m, i), *q;
            size = touch ? random_size(r, m) : rng_below(r, old + 1);
            if (touch)
                fill_pattern(p, old < 512 ? old : 512, lv[j].tag);
            if (!model_realloc(m, i, size, &ni)) {
                struct snap s;
                snap_take(&s, a);
                q = analloc_realloc(a, p, size);
                if (q != NULL)
                    FAILF("%s op %zu: realloc(%p, %zu) = %p, model says it fails\n", label, op,
                          (void *)p, size, (void *)q);
                SNAP_SAME(&s, a, "failed realloc");
                snap_free(&s);
                assert_int_equal(analloc_mem_size(a, p), old);
                if (touch && !has_pattern(p, old < 512 ? old : 512, lv[j].tag))
                    FAILF("%s op %zu: failed realloc changed the contents\n", label, op);
                n_refail++;
            } else {
                size_t nb = m->page << model_ord(m, ni), keep = old < nb ? old : nb;
                q = analloc_realloc(a, p, size);
                if (q != model_ptr(m, ni))
                    FAILF("%s op %zu: realloc(%p of %zu, %zu) = %p, model expects %p\n", label, op,
                          (void *)p, old, size, (void *)q, model_ptr(m, ni));
                if (touch && !has_pattern(q, keep < 512 ? keep : 512, lv[j].tag))
                    FAILF("%s op %zu: realloc lost the contents\n", label, op);
                n_moved += ni != i;
                n_re++;
                lv[j].i = ni;
            }
            if (touch)
                tag_block(m, lv[j].i, lv[j].tag);
        } else if (what < 92) {
            /* a page-aligned pointer that is not a live block start */
            size_t i = rng_below(r, m->n);
            void *p = model_ptr(m, i);
            if (model_ord(m, i) >= 0) {
                assert_int_equal(analloc_mem_size(a, p), m->page << model_ord(m, i));
            } else {
                expect_free_err_(a, p, model_used(m, i) ? ANALLOC_EINTERIOR : ANALLOC_EFREE, NULL,
                                 "random page", __FILE__, __LINE__);
                n_bad++;
                assert_int_equal(analloc_mem_size(a, p), 0);
                if (m->page > 1)
                    expect_free_err_(a, ptr_at(addr(p) + 1 + rng_below(r, m->page - 1)),
                                     ANALLOC_EALIGN, NULL, "random misaligned", __FILE__,
                                     __LINE__);
            }
        } else {
            size_t j = rng_below(r, nlive), i = lv[j].i;
            assert_int_equal(analloc_mem_size(a, model_ptr(m, i)), m->page << model_ord(m, i));
        }
        model_compare(m, a, label);
        if (op % 64 == 0)
            ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    }
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    printf("   %s: %zu ops: %zu allocs (+%zu refused), %zu frees, %zu reallocs (%zu moved, %zu "
           "refused), %zu bad frees, up to %zu live\n",
           label, ops, n_alloc, n_allocfail, n_free, n_re, n_moved, n_refail, n_bad, maxlive);
    while (nlive) {
        size_t i = lv[--nlive].i;
        if (touch)
            check_tag(m, i, lv[nlive].tag);
        model_release(m, i);
        ASSERT_ERR(analloc_free(a, model_ptr(m, i)), ANALLOC_OK);
    }
    model_compare(m, a, label);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    analloc_drain(a); /* cached pages back into the buddy system */
    SNAP_SAME(&s0, a, "a random session after freeing every block");
    snap_free(&s0);
    free(lv);
}

static void test_random_vs_model(void **state)
{
    static const struct {
        size_t page, off, pages, used;
    } cfg[] = {
        {64, 3, 300, 0}, {1, 5, 3000, 9}, {4096, 4000, 150, 100}, {8, 7, 1000, 64}, {64, 0, 256, 0},
        {16, 9, 513, 3},
    };
    struct rng r;
    size_t c;
    (void)state;
    rng_seed(&r, g_seed, "random_vs_model", 2);
    for (c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        size_t page = cfg[c].page, total = page * cfg[c].pages + cfg[c].off % page + 1;
        unsigned char *buf = xalloc_replayable(cfg[c].off + total);
        struct analloc A;
        struct model m;
        char label[64];
        ASSERT_ERR(analloc_with_chunk(&A, buf + cfg[c].off, total, cfg[c].used, page),
                   ANALLOC_OK);
        verify_chunk_setup(&A, buf + cfg[c].off, total, cfg[c].used, page);
        model_from(&m, &A);
        snprintf(label, sizeof label, "random page %zu pages %zu", page, m.n);
        random_session(&A, &m, &r, scaled(6000), 1, label);
        model_fini(&m);
        free(buf);
    }
}

/* Over PROT_NONE memory: any read or write of the managed range faults. */
static void test_never_touches_memory(void **state)
{
    const size_t page = 4096, len = 512 * 4096;
    unsigned char *region = mmap(NULL, len, PROT_NONE,
                                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    uintptr_t base;
    size_t total = len - 1000 - 3000, ms, n;
    void *meta;
    struct analloc A;
    struct model m;
    struct rng r;
    struct blk b[64];
    (void)state;
    assert_true(region != MAP_FAILED);
    rng_seed(&r, g_seed, "never_touches_memory", 3);
    base = addr(region) + 1000;
    ms = analloc_meta_size(total, page);
    meta = malloc(ms);
    assert_non_null(meta);
    ASSERT_ERR(analloc_init(&A, ptr_at(base), total, page, meta, ms), ANALLOC_OK);
    verify_ext_setup(&A, base, total, page, meta, ms);
    model_from(&m, &A);
    random_session(&A, &m, &r, scaled(4000), 0, "PROT_NONE");
    n = fill_largest_first(&A, b, 64);
    free_blocks(&A, b, n);
    ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
    model_fini(&m);
    free(meta);
    munmap(region, len);
}

/* ======================================================================
 * analloc_check
 * ====================================================================== */

static void test_check_healthy(void **state)
{
    const size_t page = 64, total = 64 * 90 + 21;
    unsigned char *buf = xalloc_aligned(64, total + 16);
    struct analloc A;
    struct rng r;
    void *live[128];
    size_t nlive = 0, op, ops = scaled(3000);
    (void)state;
    rng_seed(&r, g_seed, "check_healthy", 4);
    ASSERT_ERR(analloc_with_chunk(&A, buf + 9, total, 33, page), ANALLOC_OK);
    ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
    for (op = 0; op < ops; op++) {
        size_t w = rng_below(&r, 10);
        if (w < 5 && nlive < 128) {
            void *p = analloc_alloc(&A, rng_below(&r, 6 * page));
            if (p)
                live[nlive++] = p;
        } else if (w < 8 && nlive) {
            size_t j = rng_below(&r, nlive);
            ASSERT_ERR(analloc_free(&A, live[j]), ANALLOC_OK);
            live[j] = live[--nlive];
        } else if (nlive) {
            size_t j = rng_below(&r, nlive);
            void *q = analloc_realloc(&A, live[j], rng_below(&r, 8 * page));
            if (q)
                live[j] = q;
        }
        if (analloc_check(&A) != ANALLOC_OK)
            FAILF("check failed after healthy op %zu\n", op);
    }
    while (nlive)
        ASSERT_ERR(analloc_free(&A, live[--nlive]), ANALLOC_OK);
    ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
    free(buf);
}

static void dump_to_stderr(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "    | %s\n", line);
}

#define FLIP_LOG 4096
struct flip_shared {
    volatile size_t current;
    size_t undetected, und_bit[FLIP_LOG];
    int und_ret[FLIP_LOG];
    size_t unrestored, unr_bit[16];
    volatile int finished;
};

static void describe_bit(const struct analloc *a, size_t bit, char *out, size_t outlen)
{
    size_t wi = bit / 64, l;
    const uint16_t one = 1;
    size_t bitinword = *(const unsigned char *)&one == 1 ? bit % 64
                                                          : (bit % 8) + 8 * (7 - (bit / 8) % 8);
    for (l = 0; l < TI_LEVELS(a) && l < ANALLOC_MAX_LEVELS; l++) {
        size_t lw = TI_LEVEL_WORD(a, l), nw = (TI_LEVEL_BITS(a, l) + 63) / 64;
        if (wi >= lw && wi < lw + nw) {
            snprintf(out, outlen,
                     "byte %zu bit %zu: words[%zu] bit %zu = index level %zu bit %zu (of %zu)",
                     bit / 8, bit % 8, wi, bitinword, l, (wi - lw) * 64 + bitinword,
                     TI_LEVEL_BITS(a, l));
            return;
        }
    }
    size_t cw = (size_t)(TI_CACHEP(a) - TI_WORDS(a)), tw = (size_t)(TI_TABLEP(a) - TI_WORDS(a));
    size_t rw = tw + ((size_t)1 << TI_CACHE_BITS(a));
    if (wi >= TI_SPLIT_WORD(a)) {
        snprintf(out, outlen, "byte %zu bit %zu: words[%zu] bit %zu = split bit %zu", bit / 8,
                 bit % 8, wi, bitinword, (wi - TI_SPLIT_WORD(a)) * 64 + bitinword);
    } else if (wi >= rw) {
        snprintf(out, outlen, "byte %zu bit %zu: range table entry %zu, %s", bit / 8, bit % 8,
                 (wi - rw) / 2, (wi - rw) % 2 ? "end" : "first page");
    } else if (wi >= tw) {
        snprintf(out, outlen, "byte %zu bit %zu: cache table entry %zu", bit / 8, bit % 8, wi - tw);
    } else if (wi >= cw) {
        unsigned k = 0;
        size_t i = 0;
        ti_list_word(a, wi, &k, &i);
        snprintf(out, outlen, "byte %zu bit %zu: cache list of order %u, %s %zu", bit / 8,
                 bit % 8, k, i == 0 ? "count" : "slot", i == 0 ? 0 : i - 1u);
    } else {
        static const char *const entry[] = {"first index bit", "free count", "lowest free bit",
                                            "free-bit base", "split-word base", "cache list",
                                            "cache list capacity", "spare (zero)"};
        snprintf(out, outlen, "byte %zu bit %zu: order table row %zu: %s (depth %zu)%s", bit / 8,
                 bit % 8, wi / ORDER_ROW, entry[wi % ORDER_ROW], a->depth,
                 wi / ORDER_ROW > a->depth ? ", the end sentinel row" : "");
    }
}

/* Is the metadata bit in a cache slot or table entry that holds a block?
 * Such a word may be flipped into another live block of the same order:
 * nothing but the cache tells a cached block from a live one (test_limits.c
 * covers the cache with corruptions that can be told). */
static bool in_used_cache_slot(const struct analloc *a, size_t bit)
{
    size_t wi = bit / 64;
    size_t cw = (size_t)(TI_CACHEP(a) - TI_WORDS(a)), tw = (size_t)(TI_TABLEP(a) - TI_WORDS(a));
    if (wi >= tw)
        return wi < tw + ((size_t)1 << TI_CACHE_BITS(a)) && TI_WORDS(a)[wi] != 0; /* a key */
    if (wi < cw)
        return false;
    unsigned k;
    size_t i;
    return ti_list_word(a, wi, &k, &i) && i > 0 && i - 1u < TI_CACHED(a, k);
}

/* Flip every metadata bit in turn: check must call each one corruption, and
 * be happy again once it is flipped back.  Runs in a child so that a crash of
 * the checker on corrupt metadata is reported with its bit.  Returns the
 * number of problems, each reported on stderr. */
static size_t flip_all_bits(analloc_t a, const char *label)
{
    unsigned char *mb = ti_meta(a);
    size_t nbytes = TI_META_BYTES(a), i;
    struct flip_shared *sh;
    pid_t pid;
    int status = 0;
    char desc[160];

    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(sh != MAP_FAILED);
    memset(sh, 0, sizeof *sh);
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t bit;
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        signal(SIGILL, SIG_DFL);
        signal(SIGFPE, SIG_DFL);
        signal(SIGABRT, SIG_DFL);
        alarm(120);
        /* Restored from a copy, not flipped back: a check on a flipped list
         * of stores moves the sequence counter (src/internal.h, lock). */
        const uint64_t one = 1; /* the word's bit 0: in its first byte or its last */
        const size_t list_lock_bit = (TI_STORE_LIST_WORD * 8u + (*(const unsigned char *)&one ? 0u : 7u)) * 8u;
        unsigned char *saved = malloc(nbytes);
        assert_non_null(saved);
        memcpy(saved, mb, nbytes);
        for (bit = 0; bit < nbytes * 8; bit++) {
            int r;
            /* The list of stores' lock bit is a lock, which check cannot
             * tell from a caller holding it. */
            if (in_used_cache_slot(a, bit) || bit == list_lock_bit)
                continue;
            sh->current = bit;
            mb[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            r = analloc_check(a);
            memcpy(mb, saved, nbytes);
            if (r != ANALLOC_ECORRUPT) {
                if (sh->undetected < FLIP_LOG) {
                    sh->und_bit[sh->undetected] = bit;
                    sh->und_ret[sh->undetected] = r;
                }
                sh->undetected++;
            }
            if (analloc_check(a) != ANALLOC_OK) {
                if (sh->unrestored < 16)
                    sh->unr_bit[sh->unrestored] = bit;
                sh->unrestored++;
            }
        }
        sh->finished = 1;
        free(saved);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    printf("   %s: %zu metadata bytes, %zu bits flipped one at a time\n", label, nbytes,
           nbytes * 8);
    if (!sh->finished) {
        describe_bit(a, sh->current, desc, sizeof desc);
        print_error("%s: analloc_check crashed or hung (status %#x) with bit %zu flipped: %s\n",
                    label, (unsigned)status, (size_t)sh->current, desc);
    }
    if (sh->undetected) {
        print_error("%s: %zu single-bit flips NOT detected by analloc_check (by 64-bit word):\n",
                    label, sh->undetected);
        for (i = 0; i < sh->undetected && i < FLIP_LOG;) {
            size_t j = i, word = sh->und_bit[i] / 64;
            while (j < sh->undetected && j < FLIP_LOG && sh->und_bit[j] / 64 == word)
                j++;
            describe_bit(a, sh->und_bit[i], desc, sizeof desc);
            print_error("  metadata word %zu (bytes %zu..%zu): %zu undetected bits, first: %s -> "
                        "check returned %d\n",
                        word, word * 8, word * 8 + 7, j - i, desc, sh->und_ret[i]);
            i = j;
        }
        print_error("  allocator state (pages %zu, depth %zu, levels %u, split_word %zu):\n",
                    a->managed / a->page, a->depth, TI_LEVELS(a), TI_SPLIT_WORD(a));
        analloc_dump(a, dump_to_stderr, NULL, 0);
    }
    if (sh->unrestored)
        print_error("%s: %zu flips left check unhappy after flipping back (first bit %zu)\n",
                    label, sh->unrestored, sh->unr_bit[0]);
    {
        size_t problems = sh->undetected + sh->unrestored + !sh->finished;
        munmap(sh, sizeof *sh);
        ASSERT_ERR(analloc_check(a), ANALLOC_OK);
        return problems;
    }
}

static void test_check_bit_flips(void **state)
{
    const size_t page = 64, total = 45 * 64 + 11;
    unsigned char *buf = xalloc_aligned(64, total + 16);
    struct analloc A;
    struct ext e1, e2;
    struct rng r;
    void *p[8];
    size_t i, problems = 0;
    (void)state;
    rng_seed(&r, g_seed, "check_bit_flips", 5);

    /* a small chunk at an odd start with live and free blocks of several orders */
    ASSERT_ERR(analloc_with_chunk(&A, buf + 5, total, 7, page), ANALLOC_OK);
    p[0] = analloc_alloc(&A, page);
    p[1] = analloc_alloc(&A, 3 * page);
    p[2] = analloc_alloc(&A, page);
    p[3] = analloc_alloc(&A, 8 * page);
    p[4] = analloc_alloc(&A, page);
    p[5] = analloc_alloc(&A, 2 * page);
    for (i = 0; i < 6; i++)
        assert_non_null(p[i]);
    ASSERT_ERR(analloc_free(&A, p[2]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&A, p[5]), ANALLOC_OK);
    problems += flip_all_bits(&A, "45-page chunk");

    /* an aligned 256-page arena, half used */
    ext_init(&e1, fake_base(256 * 4096, 256 * 4096), 256 * 4096, 4096);
    for (i = 0; i < 40; i++) {
        void *q = analloc_alloc(&e1.a, (rng_below(&r, 4) + 1) * 4096);
        if (q && rng_below(&r, 3) == 0)
            ASSERT_ERR(analloc_free(&e1.a, q), ANALLOC_OK);
    }
    problems += flip_all_bits(&e1.a, "256-page aligned arena");
    ext_fini(&e1);

    /* an unaligned 1000-page arena (several index levels), random mix */
    ext_init(&e2, fake_base(1100 * 64, 1 << 20) + 5 * 64 + 3, 1000 * 64, 64);
    for (i = 0; i < 300; i++) {
        void *q = analloc_alloc(&e2.a, rng_below(&r, 5 * 64));
        if (q && rng_below(&r, 2) == 0)
            ASSERT_ERR(analloc_free(&e2.a, q), ANALLOC_OK);
    }
    problems += flip_all_bits(&e2.a, "1000-page unaligned arena");
    ext_fini(&e2);
    free(buf);
    if (problems)
        FAILF("%zu metadata bit flips were not handled (see above)\n", problems);
}

static void test_check_counters(void **state)
{
    const size_t page = 64, total = 64 * 60 + 3;
    unsigned char *buf = xalloc_aligned(64, total + 16);
    struct analloc A;
    size_t bad = 0;
    unsigned k;
    int r;
    (void)state;
    ASSERT_ERR(analloc_with_chunk(&A, buf + 1, total, 0, page), ANALLOC_OK);
    assert_non_null(analloc_alloc(&A, page));
    assert_non_null(analloc_alloc(&A, 4 * page));
    assert_non_null(analloc_alloc(&A, 2 * page));
    ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
#define CORRUPT(stmt, undo, what)                                                         \
    do {                                                                                  \
        stmt;                                                                             \
        r = analloc_check(&A);                                                            \
        undo;                                                                             \
        if (r != ANALLOC_ECORRUPT) {                                                      \
            print_error("%s: check returned %d, expected ECORRUPT\n", what, r);           \
            bad++;                                                                        \
        }                                                                                 \
        ASSERT_ERR(analloc_check(&A), ANALLOC_OK);                                        \
    } while (0)
    CORRUPT(TI_FREE_PAGES(&A)++, TI_FREE_PAGES(&A)--, "free_pages + 1");
    CORRUPT(TI_FREE_PAGES(&A)--, TI_FREE_PAGES(&A)++, "free_pages - 1");
    CORRUPT(TI_FREE_PAGES(&A) += 64, TI_FREE_PAGES(&A) -= 64, "free_pages + 64");
    CORRUPT(TI_TAKEN_BLOCKS(&A)++, TI_TAKEN_BLOCKS(&A)--, "taken_blocks + 1");
    CORRUPT(TI_TAKEN_BLOCKS(&A)--, TI_TAKEN_BLOCKS(&A)++, "taken_blocks - 1");
    for (k = 0; k < 64; k++) {
        char what[48];
        snprintf(what, sizeof what, "free_orders bit %u", k);
        CORRUPT(TI_FREE_ORDERS(&A) ^= (uint64_t)1 << k,
                TI_FREE_ORDERS(&A) ^= (uint64_t)1 << k, what);
    }
#undef CORRUPT
    assert_int_equal(bad, 0);
    free(buf);
}

/* ======================================================================
 * analloc_free_bytes, analloc_largest_free, analloc_meta_bytes
 * ====================================================================== */

static void test_stats_consistency(void **state)
{
    const size_t page = 64, total = 64 * 100 + 1;
    unsigned char *buf = xalloc_aligned(64, total + 64);
    struct analloc A;
    struct model m;
    size_t mb, i;
    void *p[4];
    (void)state;
    ASSERT_ERR(analloc_with_chunk(&A, buf + 11, total, 0, page), ANALLOC_OK);
    model_from(&m, &A);
    mb = analloc_meta_bytes(&A);
    assert_true(mb <= analloc_meta_size(total, page));
    model_compare(&m, &A, "fresh");
    for (i = 0; i < 4; i++) {
        size_t mi, before = analloc_free_bytes(&A);
        assert_true(model_alloc(&m, (i + 1) * page, &mi));
        p[i] = analloc_alloc(&A, (i + 1) * page);
        assert_ptr_equal(p[i], model_ptr(&m, mi));
        assert_int_equal(analloc_free_bytes(&A), before - block_for((i + 1) * page, page));
        model_compare(&m, &A, "after alloc");
        assert_int_equal(analloc_meta_bytes(&A), mb); /* fixed at setup */
    }
    for (i = 0; i < 4; i++) {
        size_t before = analloc_free_bytes(&A);
        model_release(&m, (addr(p[i]) / page) - m.lo);
        ASSERT_ERR(analloc_free(&A, p[i]), ANALLOC_OK);
        assert_int_equal(analloc_free_bytes(&A), before + block_for((i + 1) * page, page));
        model_compare(&m, &A, "after free");
        assert_int_equal(analloc_meta_bytes(&A), mb);
    }
    model_fini(&m);
    free(buf);
}

static void test_meta_bits_per_page(void **state)
{
#if HOST_64
    const size_t page = 4096;
#else
    const size_t page = 16;
#endif
    unsigned e, v;
    (void)state;
    printf("   %10s %12s %10s %12s\n", "pages", "meta_bytes", "bits/page", "meta_size");
    for (e = 10; e <= 20; e++)
        for (v = 0; v < 2; v++) {
            size_t n = (size_t)1 << e, total, ms, mb;
            uintptr_t base;
            void *meta, *p;
            struct analloc A;
            if (v) {
                if (e == 20)
                    continue;
                n += n / 2 + 1;
            }
            total = n * page;
            base = fake_base(total, page);
            ms = analloc_meta_size(total, page);
            assert_true(ms > 0);
            meta = malloc(ms);
            assert_non_null(meta);
            ASSERT_ERR(analloc_init(&A, ptr_at(base), total, page, meta, ms), ANALLOC_OK);
            assert_int_equal(A.managed, total);
            mb = analloc_meta_bytes(&A);
            struct analloc_stats st;
            memset(&st, 0, sizeof st);
            st.size = sizeof st;
            ASSERT_ERR(analloc_stats(&A, &st), ANALLOC_OK);
            size_t fixed = st.meta_fixed_bytes, grows = mb - fixed;
            printf("   %10zu %12zu %10.3f %12zu   (fixed %zu, the rest %.3f bits/page)\n", n, mb,
                   (double)mb * 8.0 / (double)n, ms, fixed, (double)grows * 8.0 / (double)n);
            /* What grows with the pages: at most 3.2 bits per page from 2^16 pages
             * on, 4.5 below (word rounding); the fixed part at most the cache's
             * and range tables' bound plus 40 bytes per order. */
            if (grows * 8 > (e >= 16 ? 32 * n / 10 : 9 * n / 2 + 64))
                FAILF("%zu pages: %zu metadata bytes that grow with the pages = %.3f bits/page\n",
                      n, grows, (double)grows * 8.0 / (double)n);
            if (fixed > ANALLOC_META_FIXED_MAX + 64u * (A.depth + 2u))
                FAILF("%zu pages: %zu fixed metadata bytes\n", n, fixed);
            assert_true(mb <= ms);
            /* the lowest of the smallest blocks: for 1.5 * 2^e + 1 pages that is
             * the single page at the end */
            p = analloc_alloc(&A, 0);
            assert_ptr_equal(p, ptr_at(v ? base + (n - 1) * page : base));
            ASSERT_ERR(analloc_free(&A, p), ANALLOC_OK);
            if (e <= 16 || !g_quick)
                ASSERT_ERR(analloc_check(&A), ANALLOC_OK);
            free(meta);
        }
}

/* ======================================================================
 * analloc_dump
 * ====================================================================== */

#define MAX_LINES 1100
struct lines {
    size_t n;
    char *v[MAX_LINES];
};

static void lines_out(void *ctx, const char *line)
{
    struct lines *L = ctx;
    size_t len;
    char *c;
    assert_non_null(line);
    if (L->n >= MAX_LINES) {
        L->n++;
        return;
    }
    len = strlen(line);
    c = malloc(len + 1);
    assert_non_null(c);
    memcpy(c, line, len + 1);
    while (len && (c[len - 1] == '\n' || c[len - 1] == '\r'))
        c[--len] = '\0';
    L->v[L->n++] = c;
}

static void lines_free(struct lines *L)
{
    size_t i;
    for (i = 0; i < L->n && i < MAX_LINES; i++)
        free(L->v[i]);
    L->n = 0;
}

/* The map characters analloc.h documents. */
static int map_char_ok(char c)
{
    return c != '\0' && strchr("FSUcR- ", c) != NULL;
}

/* Widths as analloc.h gives them: 0 means 64 positions, at most 128. */
static size_t dump_width(size_t width)
{
    return width == 0 ? 64 : width > 128 ? 128 : width;
}

/* The exact line of order k whose whole map is `map`: the order and the
 * block size, then the map between bars, cut to w positions and ended with
 * "..." instead of the closing bar when longer. */
static void order_line(char *out, size_t outlen, unsigned k, size_t page, const char *map, size_t w)
{
    size_t npos = strlen(map);
    snprintf(out, outlen, "  order %2u %12zu B |%.*s%s", k, page << k, (int)(npos < w ? npos : w),
             map, npos > w ? "..." : "|");
}

/* The expected map of order k for an aligned arena (lo aligned, n = 2^depth). */
static char *model_map(const struct model *m, unsigned k)
{
    size_t npos = m->n >> k, pos, i = 0;
    unsigned char *cord = malloc(m->n);
    char *ckind = malloc(m->n), *s = malloc(npos + 1);
    assert_non_null(cord);
    assert_non_null(ckind);
    assert_non_null(s);
    assert_int_equal(m->n, (size_t)1 << m->depth);
    assert_int_equal(m->lo & (((uintptr_t)1 << m->depth) - 1), 0);
    while (i < m->n) {
        unsigned bk = 0;
        uintptr_t first;
        unsigned kind = model_arena_page(m->ma, m->lo + i, &first, &bk);
        assert_int_equal(first, m->lo + i); /* the walk goes from block to block */
        assert_true(kind == ANALLOC_BLOCK_USED || kind == ANALLOC_BLOCK_FREE);
        memset(cord + i, (int)bk, (size_t)1 << bk);
        memset(ckind + i, kind == ANALLOC_BLOCK_USED ? 'U' : 'F', (size_t)1 << bk);
        i += (size_t)1 << bk;
    }
    for (pos = 0; pos < npos; pos++) {
        size_t j = pos << k;
        s[pos] = cord[j] > k ? '-' : cord[j] == k ? ckind[j] : 'S';
    }
    s[npos] = '\0';
    free(cord);
    free(ckind);
    return s;
}

/* Dump, and compare each order line, character for character, with the
 * line the model's map gives. */
static void check_dump_model(analloc_t a, const struct model *m, size_t width,
                             const char *const *literal)
{
    struct lines *L = calloc(1, sizeof *L);
    size_t w = dump_width(width);
    size_t norders = m->depth + 1, first, j, i;
    char want[256];
    assert_non_null(L);
    analloc_dump(a, lines_out, L, width);
    if (L->n > MAX_LINES || L->n < norders + 1)
        FAILF("dump wrote %zu lines; expected a summary and %zu order lines\n", L->n, norders);
    first = L->n - norders;
    for (i = 0; i < first; i++)
        if (L->v[i][0] == '\0')
            FAILF("dump summary line %zu is empty\n", i);
    for (j = 0; j < norders; j++) {
        unsigned k = (unsigned)(m->depth - j);
        const char *line = L->v[first + j];
        char *exp = model_map(m, k);
        if (literal && strcmp(literal[j], exp) != 0)
            FAILF("test bug: model map %s differs from the literal %s\n", exp, literal[j]);
        order_line(want, sizeof want, k, m->page, exp, w);
        if (strcmp(line, want) != 0)
            FAILF("dump (width %zu) order %u line\n  \"%s\", expected\n  \"%s\"\n", width, k,
                  line, want);
        free(exp);
    }
    lines_free(L);
    free(L);
}

static void test_dump_fresh_and_after_alloc(void **state)
{
    static const char *const fresh[] = {"F", "--", "----", "--------", "----------------"};
    static const char *const one[] = {"S", "SF", "SF--", "SF------", "UF--------------"};
    static const char *const two[] = {"S", "SF", "SF--", "US------", "--UF------------"};
    const size_t page = 4096;
    struct ext e;
    struct model m;
    size_t mi;
    void *p, *q;
    (void)state;
    ext_init(&e, fake_base(16 * page, 16 * page), 16 * page, page);
    model_from(&m, &e.a);
    check_dump_model(&e.a, &m, 0, fresh);
    p = analloc_alloc(&e.a, page);
    assert_true(model_alloc(&m, page, &mi));
    assert_ptr_equal(p, model_ptr(&m, mi));
    check_dump_model(&e.a, &m, 0, one);
    ASSERT_ERR(analloc_free(&e.a, p), ANALLOC_OK);
    model_release(&m, mi);
    check_dump_model(&e.a, &m, 0, fresh);
    p = analloc_alloc(&e.a, 2 * page);
    q = analloc_alloc(&e.a, page);
    assert_true(model_alloc(&m, 2 * page, &mi));
    assert_ptr_equal(p, model_ptr(&m, mi));
    assert_true(model_alloc(&m, page, &mi));
    assert_ptr_equal(q, model_ptr(&m, mi));
    check_dump_model(&e.a, &m, 0, two);
    model_fini(&m);
    ext_fini(&e);
}

static void test_dump_width_and_random(void **state)
{
    const size_t page = 64;
    struct ext e, u;
    struct model m;
    struct rng r;
    size_t op, ops = scaled(300), mi, i;
    void *live[256];
    size_t live_i[256], nlive = 0;
    struct lines *L;
    (void)state;
    rng_seed(&r, g_seed, "dump_width_and_random", 6);
    ext_init(&e, fake_base(256 * page, 256 * page), 256 * page, page);
    model_from(&m, &e.a);
    for (op = 0; op < ops; op++) {
        if (nlive == 0 || (rng_below(&r, 3) != 0 && nlive < 256)) {
            size_t size = rng_below(&r, 4 * page);
            void *p = analloc_alloc(&e.a, size);
            if (model_alloc(&m, size, &mi)) {
                assert_ptr_equal(p, model_ptr(&m, mi));
                live[nlive] = p;
                live_i[nlive++] = mi;
            } else {
                assert_null(p);
            }
        } else {
            size_t j = rng_below(&r, nlive);
            model_release(&m, live_i[j]);
            ASSERT_ERR(analloc_free(&e.a, live[j]), ANALLOC_OK);
            live[j] = live[nlive - 1];
            live_i[j] = live_i[--nlive];
        }
        if (op % 10 == 0) {
            check_dump_model(&e.a, &m, 0, NULL); /* 64: orders 0 and 1 truncated */
            check_dump_model(&e.a, &m, 8, NULL);
            check_dump_model(&e.a, &m, 64, NULL);
        }
    }
    model_fini(&m);
    ext_fini(&e);

    /* an unaligned arena: still a summary and depth + 1 order lines, each
     * with one documented map character per position of its order that
     * meets the arena (cut to the width), between bars or before "..." */
    ext_init(&u, fake_base(100 * page, 1 << 20) + 3 * page, 37 * page, page);
    assert_non_null(analloc_alloc(&u.a, page));
    for (size_t wi = 0; wi < 3; wi++) {
        static const size_t widths[] = {0, 8, 16};
        uintptr_t lo = addr(u.a.start) / page, hi = lo + u.a.managed / page;
        size_t w = dump_width(widths[wi]);
        L = calloc(1, sizeof *L);
        assert_non_null(L);
        analloc_dump(&u.a, lines_out, L, widths[wi]);
        assert_true(L->n >= u.a.depth + 2 && L->n <= MAX_LINES);
        for (op = L->n - (u.a.depth + 1); op < L->n; op++) {
            unsigned k = (unsigned)(u.a.depth - (op - (L->n - (u.a.depth + 1))));
            size_t npos = (size_t)(((hi - 1) >> k) - (lo >> k) + 1), shown = npos < w ? npos : w;
            const char *line = L->v[op], *tail = npos > w ? "..." : "|";
            char head[64], map[132];
            size_t hl = (size_t)snprintf(head, sizeof head, "  order %2u %12zu B |", k, page << k);
            if (strncmp(line, head, hl) != 0 || strlen(line + hl) != shown + strlen(tail) ||
                strcmp(line + hl + shown, tail) != 0)
                FAILF("unaligned arena, width %zu, order %u: line \"%s\" is not \"%s\" + %zu map "
                      "characters + \"%s\"\n",
                      widths[wi], k, line, head, shown, tail);
            memcpy(map, line + hl, shown);
            map[shown] = '\0';
            for (i = 0; i < shown; i++)
                if (!map_char_ok(map[i]))
                    FAILF("unaligned arena, width %zu, order %u: map \"%s\" has '%c' at %zu, not "
                          "one of analloc.h's F S U c R - and space\n",
                          widths[wi], k, map, map[i], i);
        }
        lines_free(L);
        free(L);
    }
    ext_fini(&u);
}

/* A width larger than every order shows every order whole, without "...". */
static void test_dump_wide(void **state)
{
    const size_t page = 64;
    static const size_t widths[] = {256, 300, 1000};
    struct ext e;
    struct model m;
    size_t i, mi;
    void *p;
    (void)state;
    ext_init(&e, fake_base(256 * page, 256 * page), 256 * page, page);
    model_from(&m, &e.a);
    p = analloc_alloc(&e.a, 3 * page);
    assert_true(model_alloc(&m, 3 * page, &mi));
    assert_ptr_equal(p, model_ptr(&m, mi));
    for (i = 0; i < sizeof widths / sizeof widths[0]; i++)
        check_dump_model(&e.a, &m, widths[i], NULL);
    model_fini(&m);
    ext_fini(&e);
}

/* ---------------------------------------------------------------------- */

/* ---- The block cache ----------------------------------------------------- */

/* A 16-page arena aligned to 16 pages, every page allocated one by one. */
static void cache_full16(struct ext *e, uintptr_t base, void **pg)
{
    ext_init(e, base, 16 * 4096, 4096);
    assert_int_equal(TI_CACHE_SLOTS(&e->a), ANALLOC_CACHE_DEFAULT);
    for (size_t i = 0; i < 16; i++) {
        pg[i] = analloc_alloc(&e->a, 4096);
        assert_ptr_equal(pg[i], ptr_at(base + i * 4096));
    }
    assert_null(analloc_alloc(&e->a, 1));
}

/* Freed blocks come back newest first for their order, then lowest address
 * first; cached buddies stay apart until a request needs them merged. */
static void test_cache_lifo(void **state)
{
    const uintptr_t base = fake_base(16 * 4096, 16 * 4096);
    struct ext e;
    void *pg[16];
    (void)state;
    cache_full16(&e, base, pg);
    ASSERT_ERR(analloc_free(&e.a, pg[9]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[3]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[12]), ANALLOC_OK);
    assert_int_equal(TI_CACHED(&e.a, 0), 3);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 3);
    assert_int_equal(analloc_free_bytes(&e.a), 3 * 4096); /* cached blocks are free */
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    assert_ptr_equal(analloc_alloc(&e.a, 4096), pg[12]);
    assert_ptr_equal(analloc_alloc(&e.a, 0), pg[3]);
    assert_ptr_equal(analloc_alloc(&e.a, 1), pg[9]);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 0);
    /* 4 and 5 are buddies, both cached, unmerged: a two-page request finds
     * no two-page block, drains the cache and takes the merged 4-5. */
    ASSERT_ERR(analloc_free(&e.a, pg[4]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[5]), ANALLOC_OK);
    assert_ptr_equal(analloc_alloc(&e.a, 2 * 4096), pg[4]);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 0);
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    /* A two-page block goes to order 1's list and comes back from it. */
    ASSERT_ERR(analloc_free(&e.a, pg[4]), ANALLOC_OK);
    assert_int_equal(TI_CACHED(&e.a, 1), 1);
    assert_int_equal(analloc_mem_size(&e.a, pg[4]), 0);
    assert_ptr_equal(analloc_alloc(&e.a, 2 * 4096), pg[4]);
    ASSERT_ERR(analloc_free(&e.a, pg[4]), ANALLOC_OK);
    /* A getter changes nothing: the cached block is the largest free one,
     * not merged with its free neighbours; analloc_drain merges it. */
    assert_int_equal(largest_free_unchanged(&e.a), 2 * 4096);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 1);
    analloc_drain(&e.a);
    assert_int_equal(largest_free_unchanged(&e.a), 2 * 4096);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 0);
    ASSERT_ERR(analloc_set_cache(&e.a, ANALLOC_CACHE_MAX), ANALLOC_OK);
    for (size_t i = 8; i < 16; i++)
        if (i != 9 && i != 12)
            ASSERT_ERR(analloc_free(&e.a, pg[i]), ANALLOC_OK);
    analloc_drain(&e.a); /* 8-15 but 9 and 12 free, merged as far as they go */
    assert_ptr_equal(analloc_realloc(&e.a, pg[9], 4096), pg[9]);
    ASSERT_ERR(analloc_free(&e.a, pg[9]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[12]), ANALLOC_OK);
    analloc_drain(&e.a);
    assert_int_equal(analloc_largest_free(&e.a), 8 * 4096);
    void *eight = analloc_alloc(&e.a, 8 * 4096);
    assert_ptr_equal(eight, pg[8]);
    ASSERT_ERR(analloc_free(&e.a, eight), ANALLOC_OK); /* order 3: cached if it is a cached order */
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), ANALLOC_CACHE_ORDERS > 3 ? 1 : 0);
    /* 0-7 are live: 16 pages cannot be found, and with 8 pages free and
     * cached the cache is not merged for it (that could not help). */
    assert_ptr_equal(analloc_alloc(&e.a, 16 * 4096), NULL);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), ANALLOC_CACHE_ORDERS > 3 ? 1 : 0);
    /* Four pages are found once the cache is merged: the 8-page block. */
    assert_ptr_equal(analloc_alloc_flags(&e.a, 4 * 4096, ANALLOC_HIGH), pg[12]);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 0);
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    ext_fini(&e);
}

/* A full list gives its oldest block back to the buddy system, merged. */
static void test_cache_eviction(void **state)
{
    const uintptr_t base = fake_base(16 * 4096, 16 * 4096);
    struct ext e;
    void *pg[16];
    (void)state;
    cache_full16(&e, base, pg);
    ASSERT_ERR(analloc_set_cache(&e.a, 2), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[1]), ANALLOC_OK); /* page 0 is live: 1 stays a page */
    ASSERT_ERR(analloc_free(&e.a, pg[6]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[7]), ANALLOC_OK); /* full: 1 goes back */
    assert_int_equal(TI_CACHED(&e.a, 0), 2);
    assert_int_equal(TI_CACHE(&e.a, 0, 0), addr(pg[6]) / 4096);
    assert_int_equal(TI_CACHE(&e.a, 0, 1), addr(pg[7]) / 4096);
    ASSERT_ERR(analloc_free(&e.a, pg[0]), ANALLOC_OK); /* 6 goes back; 0 is cached */
    ASSERT_ERR(analloc_free(&e.a, pg[11]), ANALLOC_OK); /* 7 goes back, merges with 6 */
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    assert_int_equal(analloc_free_bytes(&e.a), 5 * 4096);
    /* Cached: 0 and 11 (newest last); in the buddy system: page 1 and 6-7. */
    assert_ptr_equal(analloc_alloc(&e.a, 4096), pg[11]);
    assert_ptr_equal(analloc_alloc(&e.a, 4096), pg[0]);
    assert_ptr_equal(analloc_alloc(&e.a, 4096), pg[1]); /* the lowest free page */
    assert_ptr_equal(analloc_alloc(&e.a, 2 * 4096), pg[6]);
    assert_null(analloc_alloc(&e.a, 4096));
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    /* One slot: each free evicts the previous block of its order. */
    ASSERT_ERR(analloc_set_cache(&e.a, 1), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[2]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[3]), ANALLOC_OK); /* 2 goes back */
    assert_int_equal(TI_CACHED(&e.a, 0), 1);
    assert_ptr_equal(analloc_alloc(&e.a, 4096), pg[3]);
    assert_ptr_equal(analloc_alloc(&e.a, 4096), pg[2]);
    /* No cache: frees merge at once, allocations are lowest first. */
    ASSERT_ERR(analloc_set_cache(&e.a, 0), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[3]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[2]), ANALLOC_OK);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 0);
    assert_ptr_equal(analloc_alloc(&e.a, 2 * 4096), pg[2]); /* merged without a drain */
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    ext_fini(&e);
}

/* The cache table's buckets: four cached pages whose keys share a bucket
 * fill it; a double free of each, whichever entry it holds (after a spill
 * emptied the bucket, too), is EFREE with nothing changed; a page for a
 * full bucket is not cached: it merges at once.  (The
 * pages are found by hashing their keys as src/layout.h does.) */
static void double_free_refused(struct ext *e, uintptr_t page)
{
    struct snap sn;
    snap_take(&sn, &e->a);
    ASSERT_ERR(analloc_free(&e->a, ptr_at(page * 4096)), ANALLOC_EFREE);
    SNAP_SAME(&sn, &e->a, "a double free of a cached page");
    snap_free(&sn);
}

static void test_cache_bucket_ways(void **state)
{
    const size_t n = 16384; /* about eight even pages per bucket */
    const uintptr_t base = fake_base(n * 4096, (size_t)16 << 20);
    struct ext e;
    (void)state;
    ext_init(&e, base, n * 4096, 4096);
    const struct analloc_internal *s = &e.a.internal;
    ASSERT_ERR(analloc_set_cache(&e.a, 8), ANALLOC_OK); /* order 0: 8 slots, spills of 4 */
    assert_int_equal(TI_CACHE_CAP(&e.a, 0), 8);
    assert_true(s->cache_mul == CACHE_FIB); /* hashed: more nodes than entries */
    /* Five pages in one bucket and five in others; no two of them buddies. */
    uintptr_t pick[5], other[5];
    unsigned npick = 0, nother = 0;
    unsigned bucket = cache_bucket(ORDER_BASE(s, 0) + s->lo, s->cache_mul, s->cache_shift);
    for (uintptr_t p = s->lo; p < s->hi && (npick < 5 || nother < 5); p += 2u) {
        if (cache_bucket(ORDER_BASE(s, 0) + p, s->cache_mul, s->cache_shift) == bucket) {
            if (npick < 5)
                pick[npick++] = p;
        } else if (nother < 5) {
            other[nother++] = p;
        }
    }
    assert_int_equal(npick, 5);
    for (unsigned i = 0; i < 10; i++) {
        uintptr_t p = i < 5 ? pick[i] : other[i - 5u];
        assert_ptr_equal(analloc_alloc_range(&e.a, 4096, 0, p * 4096, (p + 1u) * 4096, 0), ptr_at(p * 4096));
    }
    analloc_drain(&e.a);
    for (unsigned i = 0; i < 4; i++)
        ASSERT_ERR(analloc_free(&e.a, ptr_at(pick[i] * 4096)), ANALLOC_OK);
    for (unsigned w = 0; w < 4; w++) /* the bucket is full: way w holds page w */
        assert_int_equal(CACHE_KEY(s, bucket + w), ORDER_BASE(s, 0) + pick[w]);
    for (unsigned i = 0; i < 4; i++)
        double_free_refused(&e, pick[i]);
    /* Five more pages: the list is full at eight, the fifth spills the four
     * oldest, the picks: the bucket is empty again. */
    for (unsigned i = 0; i < 5; i++)
        ASSERT_ERR(analloc_free(&e.a, ptr_at(other[i] * 4096)), ANALLOC_OK);
    assert_int_equal(TI_CACHED(&e.a, 0), 5);
    for (unsigned w = 0; w < 4; w++)
        assert_int_equal(CACHE_KEY(s, bucket + w), 0);
    double_free_refused(&e, pick[3]); /* spilled: free pages */
    double_free_refused(&e, pick[0]);
    /* The bucket full again (the picks taken from the buddy system and
     * freed; the list spills the four others on the way); the fifth page,
     * live since the start, is not cached: it merges at once, and the bucket stays as it was. */
    for (unsigned i = 0; i < 4; i++)
        assert_ptr_equal(analloc_alloc_range(&e.a, 4096, 0, pick[i] * 4096, (pick[i] + 1u) * 4096, 0),
                         ptr_at(pick[i] * 4096));
    for (unsigned i = 0; i < 4; i++)
        ASSERT_ERR(analloc_free(&e.a, ptr_at(pick[i] * 4096)), ANALLOC_OK);
    assert_int_equal(TI_CACHED(&e.a, 0), 5);
    ASSERT_ERR(analloc_free(&e.a, ptr_at(pick[4] * 4096)), ANALLOC_OK);
    assert_int_equal(TI_CACHED(&e.a, 0), 5);
    for (unsigned w = 0; w < 4; w++)
        assert_int_equal(CACHE_KEY(s, bucket + w), ORDER_BASE(s, 0) + pick[w]);
    assert_true(analloc_mem_size(&e.a, ptr_at(pick[4] * 4096)) == 0); /* free, not cached */
    double_free_refused(&e, pick[4]);
    double_free_refused(&e, pick[1]);
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    ext_fini(&e);
}

/* Shape a fresh 16384-page arena of e for the two tests below: the cache
 * off, page lo taken, so that lo + 1 is the only free page and a refill of
 * order 0 hands it out and takes lo + 2 next (splitting the order-1 block
 * there); and four order-1 blocks high up whose keys share lo + 2's bucket
 * in the cache's table, each taken with its buddy (so that no free order-1
 * block appears), their first pages in pick.  Returns the bucket. */
static unsigned shape_refill_bucket(struct ext *e, uintptr_t pick[4])
{
    const size_t n = 16384;
    ext_init(e, fake_base(n * 4096, (size_t)16 << 20), n * 4096, 4096);
    const struct analloc_internal *s = &e->a.internal;
    assert_true(s->cache_mul == CACHE_FIB);
    ASSERT_ERR(analloc_set_cache(&e->a, 0), ANALLOC_OK);
    assert_ptr_equal(analloc_alloc(&e->a, 4096), ptr_at(s->lo * 4096));
    unsigned bucket = cache_bucket(ORDER_BASE(s, 0) + s->lo + 2u, s->cache_mul, s->cache_shift);
    unsigned npick = 0;
    for (uintptr_t j = (s->hi >> 1) - 2u; j > (s->lo >> 1) + 64u && npick < 4; j -= 2u)
        if (cache_bucket(ORDER_BASE(s, 1) + j, s->cache_mul, s->cache_shift) == bucket)
            pick[npick++] = j << 1;
    assert_int_equal(npick, 4);
    for (unsigned i = 0; i < 4; i++)
        for (uintptr_t q = pick[i]; q < pick[i] + 4u; q += 2u)
            assert_ptr_equal(analloc_alloc_range(&e->a, 2 * 4096, 0, q * 4096, (q + 2u) * 4096, 0),
                             ptr_at(q * 4096));
    return bucket;
}

/* A refill keeps blocks only while their buckets have room: the block
 * after the one handed out finds its bucket full (four cached blocks of
 * order 1 whose keys share it), goes back, and the refill ends there. */
static void test_cache_refill_stops_at_full_bucket(void **state)
{
    struct ext e;
    uintptr_t pick[4];
    (void)state;
    unsigned bucket = shape_refill_bucket(&e, pick);
    const struct analloc_internal *s = &e.a.internal;
    uintptr_t second = s->lo + 2u;
    ASSERT_ERR(analloc_set_cache(&e.a, 8), ANALLOC_OK); /* order 0: 8 slots, refills of 4 */
    for (unsigned i = 0; i < 4; i++)
        ASSERT_ERR(analloc_free(&e.a, ptr_at(pick[i] * 4096)), ANALLOC_OK);
    assert_int_equal(TI_CACHED(&e.a, 1), 4);
    for (unsigned w = 0; w < 4; w++) /* the bucket is full */
        assert_true(CACHE_KEY(s, bucket + w) != 0);
    assert_int_equal(TI_CACHED(&e.a, 0), 0);
    assert_ptr_equal(analloc_alloc(&e.a, 4096), ptr_at((s->lo + 1u) * 4096));
    assert_int_equal(TI_CACHED(&e.a, 0), 0); /* the refill kept nothing */
    assert_true(analloc_mem_size(&e.a, ptr_at(second * 4096)) == 0); /* free again */
    assert_ptr_equal(analloc_alloc(&e.a, 4096), ptr_at(second * 4096));
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    ext_fini(&e);
}

/* The same for a per-CPU store's refill: four blocks that another store
 * holds fill the bucket of the second block the refill takes. */
static void test_store_refill_stops_at_full_bucket(void **state)
{
    struct ext e;
    struct analloc_cpu c, d;
    struct analloc_stats st;
    uintptr_t pick[4];
    (void)state;
    unsigned bucket = shape_refill_bucket(&e, pick);
    const struct analloc_internal *s = &e.a.internal;
    uintptr_t second = s->lo + 2u;
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(&e.a, &st), ANALLOC_OK);
    if (!st.cpu_stores) {
        print_message("no per-CPU stores in this build: %s skipped\n", __func__);
        ext_fini(&e);
        return;
    }
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    ASSERT_ERR(analloc_cpu_attach(&e.a, &c), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_attach(&e.a, &d), ANALLOC_OK);
    for (unsigned i = 0; i < 4; i++)
        ASSERT_ERR(analloc_cpu_free(&d, ptr_at(pick[i] * 4096)), ANALLOC_OK);
    assert_int_equal(d.internal.count[1], 4);
    for (unsigned w = 0; w < 4; w++) /* the bucket is full */
        assert_true((CACHE_KEY(s, bucket + w) & ~((uint64_t)1 << 63)) != 0);
    assert_ptr_equal(analloc_cpu_alloc(&c, 4096), ptr_at((s->lo + 1u) * 4096));
    assert_int_equal(c.internal.count[0], 0); /* the refill kept nothing */
    assert_true(analloc_mem_size(&e.a, ptr_at(second * 4096)) == 0); /* free again */
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_detach(&c), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_detach(&d), ANALLOC_OK);
    ext_fini(&e);
}

/* A request fails only when no block exists with every cached block merged;
 * realloc drains too before it gives up growing in place. */
static void test_cache_drains_before_failing(void **state)
{
    const uintptr_t base = fake_base(16 * 4096, 16 * 4096);
    const unsigned slots = ANALLOC_CACHE_MAX;
    struct ext e;
    void *pg[16];
    struct snap sn;
    (void)state;
    cache_full16(&e, base, pg);
    ASSERT_ERR(analloc_set_cache(&e.a, slots), ANALLOC_OK);
    for (size_t i = 0; i < 16; i++)
        ASSERT_ERR(analloc_free(&e.a, pg[i]), ANALLOC_OK);
    /* The list holds the last pages it has room for (a sixteenth of the
     * arena plus two, here: slots at most), one going back for each page
     * freed into a full list (a list of fewer than eight slots spills one
     * at a time); they merged as far as their buddies allowed. */
    unsigned cap = (unsigned)TI_CACHE_CAP(&e.a, 0);
    assert_int_equal(cap, slots < 3 ? slots : 3);
    assert_int_equal(TI_CACHED(&e.a, 0), cap);
    assert_int_equal(TI_CACHE(&e.a, 0, 0), addr(pg[16 - cap]) / 4096);
    assert_int_equal(analloc_free_bytes(&e.a), 16 * 4096);
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    /* The whole arena is one block once merged. */
    assert_ptr_equal(analloc_alloc(&e.a, 16 * 4096), pg[0]);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 0);
    ASSERT_ERR(analloc_free(&e.a, pg[0]), ANALLOC_OK); /* order 4: merges at once */
    /* realloc: page 0 live, page 1 cached; growing 0 to two pages drains
     * and grows in place. */
    assert_ptr_equal(analloc_alloc(&e.a, 4096), pg[0]);
    assert_ptr_equal(analloc_alloc(&e.a, 4096), pg[1]);
    ASSERT_ERR(analloc_free(&e.a, pg[1]), ANALLOC_OK);
    assert_int_equal(TI_CACHED(&e.a, 0), 1);
    assert_ptr_equal(analloc_realloc(&e.a, pg[0], 2 * 4096), pg[0]);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 0);
    assert_int_equal(analloc_mem_size(&e.a, pg[0]), 2 * 4096);
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    /* Pages 0-1 cached as a two-page block: an eight-page request takes 8-15
     * from the buddy system, the next one drains and takes 0-7. */
    ASSERT_ERR(analloc_free(&e.a, pg[0]), ANALLOC_OK);
    assert_int_equal(TI_CACHED(&e.a, 1), 1);
    assert_ptr_equal(analloc_alloc(&e.a, 8 * 4096), pg[8]);
    assert_ptr_equal(analloc_alloc(&e.a, 8 * 4096), pg[0]);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 0);
    /* A request that fails with an empty cache changes nothing. */
    snap_take(&sn, &e.a);
    assert_null(analloc_alloc(&e.a, 4096));
    SNAP_SAME(&sn, &e.a, "a failed alloc with an empty cache");
    snap_free(&sn);
    /* analloc_largest_free changes nothing: it reports the buddy system's
     * largest block, the cached pages unmerged; after a drain, the merged one. */
    ASSERT_ERR(analloc_free(&e.a, pg[8]), ANALLOC_OK);
    assert_ptr_equal(analloc_alloc(&e.a, 4096), pg[8]);
    assert_ptr_equal(analloc_alloc(&e.a, 4096), pg[9]);
    ASSERT_ERR(analloc_free(&e.a, pg[8]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[9]), ANALLOC_OK);
    assert_int_equal(TI_CACHED(&e.a, 0), 2);
    assert_true(largest_free_unchanged(&e.a) < 8 * 4096);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 2);
    analloc_drain(&e.a);
    assert_int_equal(largest_free_unchanged(&e.a), 8 * 4096);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 0);
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    ext_fini(&e);
}

/* Freeing a cached block, or a pointer inside one, is a double free,
 * reported and harmless; the dump shows cached blocks as 'c';
 * analloc_set_cache refuses bad sizes. */
static void test_cache_double_free_and_errors(void **state)
{
    const uintptr_t base = fake_base(16 * 4096, 16 * 4096);
    struct ext e;
    void *pg[16];
    struct checked_hook hl = {HOOK_MAGIC, 0, 0, NULL};
    struct snap sn;
    struct lines *L = calloc(1, sizeof *L);
    (void)state;
    assert_non_null(L);
    cache_full16(&e, base, pg);
    analloc_set_error_hook(&e.a, checked_hook_record, &hl);
    ASSERT_ERR(analloc_free(&e.a, pg[5]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[7]), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&e.a, pg[6]), ANALLOC_OK);
    analloc_drain(&e.a); /* 6-7 merge */
    assert_ptr_equal(analloc_alloc(&e.a, 2 * 4096), pg[6]);
    ASSERT_ERR(analloc_free(&e.a, pg[6]), ANALLOC_OK); /* cached, order 1 */
    ASSERT_ERR(analloc_free(&e.a, pg[3]), ANALLOC_OK); /* cached, order 0 */
    EXPECT_FREE_ERR(&e.a, pg[3], ANALLOC_EFREE, &hl);
    EXPECT_FREE_ERR(&e.a, pg[6], ANALLOC_EFREE, &hl);
    EXPECT_FREE_ERR(&e.a, pg[7], ANALLOC_EFREE, &hl); /* inside the cached block */
    EXPECT_FREE_ERR(&e.a, pg[5], ANALLOC_EFREE, &hl); /* free in the buddy system */
    snap_take(&sn, &e.a);
    assert_int_equal(analloc_mem_size(&e.a, pg[3]), 0);
    assert_int_equal(analloc_mem_size(&e.a, pg[7]), 0);
    assert_null(analloc_realloc(&e.a, pg[6], 4 * 4096));
    assert_int_equal(hl.error, ANALLOC_EFREE);
    assert_ptr_equal(hl.ptr, pg[6]);
    ASSERT_ERR(analloc_set_cache(&e.a, ANALLOC_CACHE_MAX + 1), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_set_cache(&e.a, ~0u), ANALLOC_EINVAL);
    SNAP_SAME(&sn, &e.a, "bad calls on cached blocks");
    snap_free(&sn);
    ASSERT_ERR(analloc_set_cache(NULL, 1), ANALLOC_EINVAL);
    analloc_drain(NULL); /* nothing to do, no crash */
    /* The dump: the cached page at order 0, the cached pair at order 1. */
    analloc_dump(&e.a, lines_out, L, 0);
    assert_true(L->n >= 2);
    assert_non_null(strstr(L->v[1], "cached blocks 2"));
    assert_non_null(strstr(L->v[L->n - 2], "|SSScSSSS|"));
    assert_non_null(strstr(L->v[L->n - 1], "|UUUcUF--UUUUUUUU|"));
    lines_free(L);
    free(L);
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    analloc_drain(&e.a);
    assert_int_equal(TI_CACHED_BLOCKS(&e.a), 0);
    EXPECT_FREE_ERR(&e.a, pg[3], ANALLOC_EFREE, &hl); /* now free in the buddy system */
    EXPECT_FREE_ERR(&e.a, pg[7], ANALLOC_EFREE, &hl);
    ASSERT_ERR(analloc_check(&e.a), ANALLOC_OK);
    ext_fini(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_with_chunk_struct_in_prefix),
        cmocka_unit_test(test_with_chunk_odd_starts_and_sizes),
        cmocka_unit_test(test_with_chunk_page_sizes),
        cmocka_unit_test(test_with_chunk_errors),
        cmocka_unit_test(test_with_chunk_no_gap_after_metadata),
        cmocka_unit_test(test_failed_setup_keeps_allocator),
        cmocka_unit_test(test_with_chunk_3gib),
        cmocka_unit_test(test_meta_size_basics),
        cmocka_unit_test(test_init_meta_size_every_start),
        cmocka_unit_test(test_init_unaligned_meta),
        cmocka_unit_test(test_init_overlap),
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_init_address_zero),
        cmocka_unit_test(test_alloc_sizes),
        cmocka_unit_test(test_alloc_alignment_fill),
        cmocka_unit_test(test_alloc_lowest_address),
        cmocka_unit_test(test_cache_lifo),
        cmocka_unit_test(test_cache_eviction),
        cmocka_unit_test(test_cache_bucket_ways),
        cmocka_unit_test(test_cache_refill_stops_at_full_bucket),
        cmocka_unit_test(test_store_refill_stops_at_full_bucket),
        cmocka_unit_test(test_cache_drains_before_failing),
        cmocka_unit_test(test_cache_double_free_and_errors),
        cmocka_unit_test(test_free_errors_chunk),
        cmocka_unit_test(test_free_errors_external_meta),
        cmocka_unit_test(test_error_hook),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_null_and_unset_allocator),
        cmocka_unit_test(test_realloc_basic),
        cmocka_unit_test(test_realloc_failure),
        cmocka_unit_test(test_realloc_invalid_ptr),
        cmocka_unit_test(test_mem_size),
        cmocka_unit_test(test_random_vs_model),
        cmocka_unit_test(test_never_touches_memory),
        cmocka_unit_test(test_check_healthy),
        cmocka_unit_test(test_check_bit_flips),
        cmocka_unit_test(test_check_counters),
        cmocka_unit_test(test_stats_consistency),
        cmocka_unit_test(test_meta_bits_per_page),
        cmocka_unit_test(test_dump_fresh_and_after_alloc),
        cmocka_unit_test(test_dump_width_and_random),
        cmocka_unit_test(test_dump_wide),
    };
    g_seed = seed_from_env();
    g_quick = quick_from_env();
    printf("test_engine: seed %llu (replay with ANALLOC_SEED=%llu)%s\n",
           (unsigned long long)g_seed, (unsigned long long)g_seed, g_quick ? ", quick" : "");
    fflush(stdout);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
