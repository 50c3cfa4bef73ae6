/*
 * test_bad_input.c - every bad input of the catalogue in docs/errors.md (the
 * contracts are in include/analloc.h), each with proof that nothing
 * changed:
 *
 *  - a refused setup leaves the struct (zeroed, filled with a pattern, or a
 *    live allocator), the chunk and the metadata buffer byte for byte as they
 *    were (buffers are pre-filled with a pattern and compared);
 *  - a refused call on a live allocator leaves the whole struct analloc and
 *    the metadata bytes identical (snapshot + memcmp, tests/testcheck.h),
 *    the live blocks' contents too;
 *  - the exact error code, and the error hook called exactly once with that
 *    code and the pointer (bad pointers to analloc_free and analloc_realloc)
 *    or not at all (everything else);
 *  - NULL and never-set-up allocators: every function, with the documented
 *    answer (EINVAL, NULL, 0, a no-op, the "not set up" dump line);
 *  - the vectormaps front: buddy_free of bad pointers and failing
 *    buddy_init_at, with the front's static struct and metadata compared
 *    byte for byte.  The front keeps both private, so the test finds them:
 *    the metadata buffer is exactly the range where buddy_free reports
 *    ANALLOC_ERESERVED, and the struct is the struct analloc in .bss whose
 *    metadata pointer and reserved range are that buffer.
 *
 * Deterministic: no seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>

#include "analloc.h"
#include "layout.h"
#include "testutil.h"
#include "testcheck.h"
#include "analloc/buddy.h"

#define POOL_LEN ((size_t)256 << 10)
#define POOL_BYTE 0xC3
#define MIB ((uintptr_t)1 << 20)

static size_t bytes_differ(const unsigned char *p, size_t n, unsigned char v)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != v)
            return i;
    return (size_t)-1;
}

/* A pattern in a block, so that "same contents" can be checked. */
static void fill_pattern(void *p, size_t n, unsigned seed)
{
    unsigned char *b = p;
    size_t i;
    for (i = 0; i < n; i++)
        b[i] = (unsigned char)(seed * 31u + i * 7u + (i >> 8));
}

static int has_pattern(const void *p, size_t n, unsigned seed)
{
    const unsigned char *b = p;
    size_t i;
    for (i = 0; i < n; i++)
        if (b[i] != (unsigned char)(seed * 31u + i * 7u + (i >> 8)))
            return 0;
    return 1;
}

/* ---- fixtures: live allocators over real memory ---------------------------------- */

struct fx {
    unsigned char *buf, *chunk; /* chunk = base for init */
    size_t total, used, page;
    int init;
    unsigned char *metabuf, *meta;
    size_t meta_size;
    struct analloc local;
    analloc_t a;
    struct hook_log hl;
};

/* with_chunk: chunk at `off` from a 64 KiB boundary; the struct in the used
 * prefix if `struct_in_prefix`. */
static void fx_chunk(struct fx *f, size_t page, size_t off, size_t pages, size_t used,
                     int struct_in_prefix)
{
    memset(f, 0, sizeof *f);
    f->page = page;
    f->used = used;
    f->total = used + analloc_meta_size(used + 2 * pages * page + 64, page) + pages * page +
               (page > 2 ? page / 2 + 1 : 0);
    f->buf = xalloc_aligned((size_t)1 << 16, off + f->total + 64);
    memset(f->buf, 0xEE, off + f->total + 64);
    f->chunk = f->buf + off;
    f->a = &f->local;
    if (struct_in_prefix) {
        uintptr_t sa = align_up(addr(f->chunk), 16);
        assert_true(sa + sizeof(struct analloc) <= addr(f->chunk) + used);
        f->a = ptr_at(sa);
    }
    ASSERT_ERR(analloc_with_chunk(f->a, f->chunk, f->total, used, page), ANALLOC_OK);
    ASSERT_ERR(analloc_check(f->a), ANALLOC_OK);
    analloc_set_error_hook(f->a, hook_record, &f->hl);
}

/* init over real memory: base at `off` from a 64 KiB boundary, the metadata
 * `meta_off` bytes after a 16-byte boundary. */
static void fx_init(struct fx *f, size_t page, size_t off, size_t pages, size_t meta_off)
{
    memset(f, 0, sizeof *f);
    f->page = page;
    f->init = 1;
    f->total = pages * page + (page > 2 ? page / 2 + 1 : 0);
    f->buf = xalloc_aligned((size_t)1 << 16, off + f->total + 64);
    memset(f->buf, 0xEE, off + f->total + 64);
    f->chunk = f->buf + off;
    f->meta_size = analloc_meta_size(f->total, page);
    f->metabuf = xalloc_aligned(16, f->meta_size + meta_off + 16);
    memset(f->metabuf, 0x3C, f->meta_size + meta_off + 16);
    f->meta = f->metabuf + meta_off;
    f->a = &f->local;
    ASSERT_ERR(analloc_init(f->a, f->chunk, f->total, page, f->meta, f->meta_size), ANALLOC_OK);
    ASSERT_ERR(analloc_check(f->a), ANALLOC_OK);
    analloc_set_error_hook(f->a, hook_record, &f->hl);
}

static void fx_fini(struct fx *f)
{
    ASSERT_ERR(analloc_check(f->a), ANALLOC_OK);
    free(f->buf);
    free(f->metabuf);
}

static uintptr_t fx_start(const struct fx *f)
{
    return addr(f->a->start);
}

static uintptr_t fx_end(const struct fx *f)
{
    return addr(f->a->start) + f->a->managed;
}

/* ---- expectations on a live allocator --------------------------------------------- */

#define EXPECT_FREE_ERR(f, p, err) expect_free_err_((f), (p), (err), #p, __FILE__, __LINE__)
static void expect_free_err_(struct fx *f, void *p, int err, const char *what, const char *file,
                             int line)
{
    struct snap sn;
    size_t calls = f->hl.calls;
    int r;
    snap_take(&sn, f->a);
    r = analloc_free(f->a, p);
    if (r != err) {
        print_error("%s:%d: analloc_free(%s = %p) returned %d (%s), expected %d (%s)\n", file,
                    line, what, p, r, analloc_strerror(r), err, analloc_strerror(err));
        _fail(file, line);
    }
    snap_same_(&sn, f->a, what, file, line);
    snap_free(&sn);
    if (f->hl.calls != calls + 1 || f->hl.error != err || f->hl.ptr != p) {
        print_error("%s:%d: free(%s = %p): error hook called %zu times (last %d, %p), expected "
                    "once with %d, %p\n",
                    file, line, what, p, f->hl.calls - calls, f->hl.error, f->hl.ptr, err, p);
        _fail(file, line);
    }
}

/* realloc of a bad pointer: NULL, nothing changed, the hook heard `err` once. */
#define EXPECT_REALLOC_BAD(f, p, size, err) \
    expect_realloc_null_((f), (p), (size), (err), #p, __FILE__, __LINE__)
/* realloc that fails for the size (too large, no memory): NULL, nothing
 * changed, the hook not called. */
#define EXPECT_REALLOC_NULL(f, p, size) \
    expect_realloc_null_((f), (p), (size), 0, #p, __FILE__, __LINE__)
static void expect_realloc_null_(struct fx *f, void *p, size_t size, int err, const char *what,
                                 const char *file, int line)
{
    struct snap sn;
    size_t calls = f->hl.calls;
    void *q;
    snap_take(&sn, f->a);
    q = analloc_realloc(f->a, p, size);
    if (q != NULL) {
        print_error("%s:%d: analloc_realloc(%s = %p, %zu) returned %p, expected NULL\n", file, line,
                    what, p, size, q);
        _fail(file, line);
    }
    snap_same_(&sn, f->a, what, file, line);
    snap_free(&sn);
    if (err != 0 && (f->hl.calls != calls + 1 || f->hl.error != err || f->hl.ptr != p)) {
        print_error("%s:%d: realloc(%s = %p, %zu): error hook called %zu times (last %d, %p), "
                    "expected once with %d (%s)\n",
                    file, line, what, p, size, f->hl.calls - calls, f->hl.error, f->hl.ptr, err,
                    analloc_strerror(err));
        _fail(file, line);
    }
    if (err == 0 && f->hl.calls != calls) {
        print_error("%s:%d: realloc(%s = %p, %zu) called the error hook (%d); expected no call\n",
                    file, line, what, p, size, f->hl.error);
        _fail(file, line);
    }
}

#define EXPECT_MEM_SIZE_0(f, p) expect_mem_size_0_((f), (p), #p, __FILE__, __LINE__)
static void expect_mem_size_0_(struct fx *f, const void *p, const char *what, const char *file,
                               int line)
{
    struct snap sn;
    size_t calls = f->hl.calls, n;
    snap_take(&sn, f->a);
    n = analloc_mem_size(f->a, p);
    if (n != 0) {
        print_error("%s:%d: analloc_mem_size(%s = %p) = %zu, expected 0\n", file, line, what, p, n);
        _fail(file, line);
    }
    snap_same_(&sn, f->a, what, file, line);
    snap_free(&sn);
    if (f->hl.calls != calls) {
        print_error("%s:%d: mem_size(%s) called the error hook\n", file, line, what);
        _fail(file, line);
    }
}

#define EXPECT_ALLOC_NULL(f, size) expect_alloc_null_((f), (size), #size, __FILE__, __LINE__)
static void expect_alloc_null_(struct fx *f, size_t size, const char *what, const char *file,
                               int line)
{
    struct snap sn;
    size_t calls = f->hl.calls;
    void *q;
    snap_take(&sn, f->a);
    q = analloc_alloc(f->a, size);
    if (q != NULL) {
        print_error("%s:%d: analloc_alloc(%s = %zu) returned %p, expected NULL (largest block "
                    "%zu, largest free %zu)\n",
                    file, line, what, size, q, f->a->page << f->a->depth,
                    analloc_largest_free(f->a));
        _fail(file, line);
    }
    snap_same_(&sn, f->a, what, file, line);
    snap_free(&sn);
    if (f->hl.calls != calls) {
        print_error("%s:%d: alloc(%s) called the error hook\n", file, line, what);
        _fail(file, line);
    }
}

/* ======================================================================
 * Refused setups: analloc_with_chunk and analloc_init
 * ====================================================================== */

/* Chunks and metadata buffers of refused setups come from this pool (or are
 * addresses nobody maps): a refused setup writes none of it. */
static unsigned char *g_pool, *g_pool_ref;

#define POOL_INTACT() pool_intact_(__FILE__, __LINE__)
static void pool_intact_(const char *file, int line)
{
    size_t d = (size_t)-1;
    if (memcmp(g_pool, g_pool_ref, POOL_LEN) != 0)
        d = bytes_differ(g_pool, POOL_LEN, POOL_BYTE);
    if (d != (size_t)-1) {
        print_error("%s:%d: a refused setup wrote the chunk or metadata buffer (pool byte %zu)\n",
                    file, line, d);
        _fail(file, line);
    }
}

static int pool_setup(void **state)
{
    (void)state;
    g_pool = xalloc_aligned((size_t)1 << 16, POOL_LEN);
    g_pool_ref = malloc(POOL_LEN);
    assert_non_null(g_pool_ref);
    memset(g_pool, POOL_BYTE, POOL_LEN);
    memset(g_pool_ref, POOL_BYTE, POOL_LEN);
    return 0;
}

static int pool_teardown(void **state)
{
    (void)state;
    free(g_pool);
    free(g_pool_ref);
    g_pool = g_pool_ref = NULL;
    return 0;
}

struct setup_call {
    int init;
    uintptr_t chunk; /* the chunk (with_chunk) or base (init) */
    size_t total, used, page;
    uintptr_t meta;
    size_t meta_size;
};

static int do_setup(analloc_t a, const struct setup_call *c)
{
    if (c->init)
        return analloc_init(a, ptr_at(c->chunk), c->total, c->page, ptr_at(c->meta), c->meta_size);
    return analloc_with_chunk(a, ptr_at(c->chunk), c->total, c->used, c->page);
}

/*
 * A refused setup, on every kind of target: a NULL allocator, a zeroed
 * struct, a struct full of 0x5A (never set up), and a live allocator (its
 * struct in its chunk's used prefix, blocks allocated, a hook installed).
 * Each must return `want` and change nothing: struct, metadata, chunk,
 * metadata buffer, the live allocator's whole buffer; no hook call.
 */
#define WITH_CHUNK_REFUSED(chunk, total, used, page, want)                                \
    do {                                                                                  \
        struct setup_call c_ = {0, (uintptr_t)(chunk), (total), (used), (page), 0, 0};    \
        refused_(&c_, (want),                                                             \
                 "analloc_with_chunk(" #chunk ", " #total ", " #used ", " #page ")",      \
                 __FILE__, __LINE__);                                                     \
    } while (0)
#define INIT_REFUSED(base, total, page, meta, ms, want)                                   \
    do {                                                                                  \
        struct setup_call c_ = {1,      (uintptr_t)(base), (total), 0,                    \
                                (page), (uintptr_t)(meta), (ms)};                         \
        refused_(&c_, (want),                                                             \
                 "analloc_init(" #base ", " #total ", " #page ", " #meta ", " #ms ")",    \
                 __FILE__, __LINE__);                                                     \
    } while (0)

static void refused_(const struct setup_call *c, int want, const char *what, const char *file,
                     int line)
{
    struct analloc z, zero, pat, patc;
    struct fx live;
    struct snap sn;
    unsigned char *copy;
    size_t buflen, d;
    void *b1, *b2;
    int r;

    /* a NULL allocator */
    r = do_setup(NULL, c);
    if (r != ANALLOC_EINVAL) {
        print_error("%s:%d: %s on a NULL allocator returned %d, expected EINVAL\n", file, line,
                    what, r);
        _fail(file, line);
    }
    pool_intact_(file, line);

    /* zeroed, and never set up with a pattern */
    memset(&z, 0, sizeof z);
    memset(&zero, 0, sizeof zero);
    memset(&pat, 0x5A, sizeof pat);
    memcpy(&patc, &pat, sizeof pat);
    r = do_setup(&z, c);
    assert_err_(r, want, what, file, line);
    if ((d = first_diff(&z, &zero, sizeof z)) != (size_t)-1) {
        print_error("%s:%d: refused %s wrote byte %zu of a zeroed struct\n", file, line, what, d);
        _fail(file, line);
    }
    r = do_setup(&pat, c);
    assert_err_(r, want, what, file, line);
    if ((d = first_diff(&pat, &patc, sizeof pat)) != (size_t)-1) {
        print_error("%s:%d: refused %s wrote byte %zu of a never-set-up struct\n", file, line,
                    what, d);
        _fail(file, line);
    }
    pool_intact_(file, line);

    /* a live allocator */
    fx_chunk(&live, 64, 5, 40, sizeof(struct analloc) + 24, 1);
    b1 = analloc_alloc(live.a, 3 * 64);
    b2 = analloc_alloc(live.a, 64);
    assert_non_null(b1);
    assert_non_null(b2);
    fill_pattern(b1, 4 * 64, 1);
    buflen = 5 + live.total + 64;
    copy = malloc(buflen);
    assert_non_null(copy);
    memcpy(copy, live.buf, buflen);
    snap_take(&sn, live.a);
    r = do_setup(live.a, c);
    assert_err_(r, want, what, file, line);
    snap_same_(&sn, live.a, what, file, line);
    if ((d = first_diff(copy, live.buf, buflen)) != (size_t)-1) {
        print_error("%s:%d: refused %s changed the live allocator's chunk at byte %zu\n", file,
                    line, what, d);
        _fail(file, line);
    }
    if (live.hl.calls != 0) {
        print_error("%s:%d: refused %s called the live allocator's error hook\n", file, line, what);
        _fail(file, line);
    }
    snap_free(&sn);
    free(copy);
    assert_int_equal(analloc_mem_size(live.a, b1), 4 * 64);
    ASSERT_ERR(analloc_free(live.a, b1), ANALLOC_OK);
    ASSERT_ERR(analloc_free(live.a, b2), ANALLOC_OK);
    assert_int_equal(analloc_free_bytes(live.a), live.a->managed);
    fx_fini(&live);
    pool_intact_(file, line);
}

static void test_with_chunk_einval(void **state)
{
    unsigned char *buf = g_pool + 4096;
    uintptr_t top = UINTPTR_MAX - 4095;
    (void)state;
    /* a NULL allocator: EINVAL, whatever else is wrong (refused_ checks it too) */
    ASSERT_ERR(analloc_with_chunk(NULL, buf, 4096, 0, 64), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_with_chunk(NULL, NULL, 0, 1, 3), ANALLOC_EINVAL);
    POOL_INTACT();
    /* chunk NULL */
    WITH_CHUNK_REFUSED(NULL, 4096, 0, 64, ANALLOC_EINVAL);
    WITH_CHUNK_REFUSED(NULL, 0, 0, 64, ANALLOC_EINVAL);
    /* page 0 or not a power of two */
    WITH_CHUNK_REFUSED(buf, 4096, 0, 0, ANALLOC_EINVAL);
    WITH_CHUNK_REFUSED(buf, 4096, 0, 3, ANALLOC_EINVAL);
    WITH_CHUNK_REFUSED(buf, 4096, 0, 6, ANALLOC_EINVAL);
    WITH_CHUNK_REFUSED(buf, 4096, 0, 96, ANALLOC_EINVAL);
    WITH_CHUNK_REFUSED(buf, 8192, 0, 4097, ANALLOC_EINVAL);
    WITH_CHUNK_REFUSED(buf, 4096, 0, SIZE_MAX, ANALLOC_EINVAL);
    WITH_CHUNK_REFUSED(buf, 4096, 0, (SIZE_MAX >> 1) + 2, ANALLOC_EINVAL);
    /* used > total */
    WITH_CHUNK_REFUSED(buf, 4096, 4097, 64, ANALLOC_EINVAL);
    WITH_CHUNK_REFUSED(buf, 0, 1, 64, ANALLOC_EINVAL);
    WITH_CHUNK_REFUSED(buf, 4096, SIZE_MAX, 64, ANALLOC_EINVAL);
    /* a range that wraps the address space */
    WITH_CHUNK_REFUSED(buf, SIZE_MAX, 0, 64, ANALLOC_EINVAL);
    WITH_CHUNK_REFUSED(buf, (size_t)(UINTPTR_MAX - addr(buf)) + 2, 0, 64, ANALLOC_EINVAL);
    WITH_CHUNK_REFUSED(top, 8192, 0, 64, ANALLOC_EINVAL);
    /* A range that ends exactly at the top of the address space does not wrap,
     * but chunk + total is 0: refused as EINVAL too (the header: "ends at the top"). */
    WITH_CHUNK_REFUSED(top, 4096, 0, 64, ANALLOC_EINVAL);
    WITH_CHUNK_REFUSED(buf, (size_t)(UINTPTR_MAX - addr(buf)) + 1, 0, 64, ANALLOC_EINVAL);
#if HOST_64
    /* More pages than the target can describe (analloc_meta_size is 0): EINVAL,
     * ("more pages than the target can count"). */
    assert_int_equal(analloc_meta_size((size_t)1 << 62, 1), 0);
    WITH_CHUNK_REFUSED(buf, (size_t)1 << 62, 0, 1, ANALLOC_EINVAL);
#endif
}

static void test_with_chunk_etoosmall(void **state)
{
    unsigned char *buf = g_pool + 8192;
    struct analloc z, zero;
    size_t t, used, ms, page;
    int r = ANALLOC_ETOOSMALL;
    (void)state;
    WITH_CHUNK_REFUSED(buf, 0, 0, 64, ANALLOC_ETOOSMALL);
    WITH_CHUNK_REFUSED(buf, 100, 100, 64, ANALLOC_ETOOSMALL);       /* all used */
    WITH_CHUNK_REFUSED(buf, 4096, 4096, 64, ANALLOC_ETOOSMALL);
    /* the metadata would start at the end */
    WITH_CHUNK_REFUSED(buf + 1, 6, 1, 1, ANALLOC_ETOOSMALL);
    /* the metadata eats the only page */
    WITH_CHUNK_REFUSED(buf, 4096, 0, 4096, ANALLOC_ETOOSMALL);
    WITH_CHUNK_REFUSED(buf + 1, 64, 0, 64, ANALLOC_ETOOSMALL);      /* no whole page at all */
    WITH_CHUNK_REFUSED(buf, 8, 0, 1, ANALLOC_ETOOSMALL);
    WITH_CHUNK_REFUSED(buf, 40000, 0, 65536, ANALLOC_ETOOSMALL);
    /* a chunk at the top whose metadata position would wrap */
    WITH_CHUNK_REFUSED(UINTPTR_MAX - 2, 2, 1, 1, ANALLOC_ETOOSMALL);

    /* Every chunk one byte shorter than the smallest that works: ETOOSMALL,
     * nothing written (the zeroed struct and the pool are compared each
     * time).  The first success writes the pool, which is refilled. */
    for (page = 1; page <= 4096; page *= 8) {
        /* pages 1, 8, 64, 512, 4096 */
        used = 3;
        ms = analloc_meta_size(used + 1024 * page, page);
        memset(&zero, 0, sizeof zero);
        for (t = used; t <= used + ms + 2 * page + 8; t++) {
            memset(&z, 0, sizeof z);
            r = analloc_with_chunk(&z, buf + 5, t, used, page);
            if (r == ANALLOC_OK)
                break;
            if (r != ANALLOC_ETOOSMALL)
                FAILF("with_chunk(total %zu, used %zu, page %zu) = %d, expected ETOOSMALL\n", t,
                      used, page, r);
            assert_memory_equal(&z, &zero, sizeof z);
            /* around this chunk (the whole pool is compared below) */
            if (bytes_differ(buf, 5 + t + 64, POOL_BYTE) != (size_t)-1)
                FAILF("with_chunk(total %zu, used %zu, page %zu) = ETOOSMALL wrote the chunk\n",
                      t, used, page);
        }
        if (r != ANALLOC_OK)
            FAILF("page %zu: no chunk up to used + meta_size + 2 pages + 8 works\n", page);
        memset(buf, POOL_BYTE, 5 + t); /* the success wrote its metadata */
        POOL_INTACT();
        /* The smallest chunk that works holds exactly its metadata and one
         * page, for every page size (tiny pages included: the arena's start
         * is found from the exact metadata, not from a bound). */
        assert_int_equal(z.managed, page);
        /* one byte less, on every kind of target */
        WITH_CHUNK_REFUSED(buf + 5, t - 1, used, page, ANALLOC_ETOOSMALL);
    }
}

/* The struct must not lie where setup writes the metadata or in the memory
 * it hands out: EOVERLAP, and nothing written. */
static void test_struct_overlaps(void **state)
{
    (void)state;
    static _Alignas(4096) unsigned char chunk[8192];
    static uint64_t meta[512];
    /* with_chunk: right where the metadata goes (after a 64-byte prefix) */
    analloc_t a = (analloc_t)(void *)(chunk + 64);
    memset(chunk, 0x77, sizeof chunk);
    assert_int_equal(analloc_with_chunk(a, chunk, sizeof chunk, 64, 64), ANALLOC_EOVERLAP);
    for (size_t i = 0; i < sizeof chunk; i++)
        assert_int_equal(chunk[i], 0x77);
    /* with_chunk: in the managed pages */
    a = (analloc_t)(void *)(chunk + 4096);
    assert_int_equal(analloc_with_chunk(a, chunk, sizeof chunk, 64, 64), ANALLOC_EOVERLAP);
    /* with_chunk: in the used prefix is the seed's way, and works */
    a = (analloc_t)(void *)chunk;
    assert_int_equal(analloc_with_chunk(a, chunk, sizeof chunk, sizeof *a, 64), ANALLOC_OK);
    assert_int_equal(analloc_check(a), 0);
    /* init: inside the metadata buffer, and inside the managed range */
    a = (analloc_t)(void *)&meta[8];
    memset(meta, 0x77, sizeof meta);
    assert_int_equal(analloc_init(a, chunk, sizeof chunk, 64, meta, sizeof meta), ANALLOC_EOVERLAP);
    for (size_t i = 0; i < sizeof meta; i++)
        assert_int_equal(((unsigned char *)meta)[i], 0x77);
    a = (analloc_t)(void *)(chunk + 100);
    assert_int_equal(analloc_init(a, chunk, sizeof chunk, 64, meta, sizeof meta), ANALLOC_EOVERLAP);
}

static void test_init_einval(void **state)
{
    const size_t page = 64, total = 64 * 64;
    size_t ms = analloc_meta_size(total, page);
    unsigned char *meta = g_pool + 4096;
    uintptr_t base = (uintptr_t)1 << (HOST_64 ? 40 : 30), top = UINTPTR_MAX - 4095;
    (void)state;
    ASSERT_ERR(analloc_init(NULL, ptr_at(base), total, page, meta, ms), ANALLOC_EINVAL);
    POOL_INTACT();
    /* metadata NULL */
    INIT_REFUSED(base, total, page, NULL, ms, ANALLOC_EINVAL);
    INIT_REFUSED(base, total, page, NULL, 0, ANALLOC_EINVAL);
    /* bad page (checked before the metadata size) */
    INIT_REFUSED(base, total, 0, meta, ms, ANALLOC_EINVAL);
    INIT_REFUSED(base, total, 3, meta, ms, ANALLOC_EINVAL);
    INIT_REFUSED(base, total * 2, 4097, meta, ms, ANALLOC_EINVAL);
    INIT_REFUSED(base, total, SIZE_MAX, meta, 0, ANALLOC_EINVAL);
    /* the range wraps */
    INIT_REFUSED(UINTPTR_MAX - 2 * page + 1, 4 * page, page, meta, ms, ANALLOC_EINVAL);
    INIT_REFUSED(base, SIZE_MAX, page, meta, ms, ANALLOC_EINVAL);
    /* ends exactly at the top: does not wrap, but refused as EINVAL */
    INIT_REFUSED(top, 4096, page, meta, ms, ANALLOC_EINVAL);
    /* the metadata buffer wraps, or ends exactly at the top */
    INIT_REFUSED(base, total, page, UINTPTR_MAX - 10, ms, ANALLOC_EINVAL);
    INIT_REFUSED(base, total, page, UINTPTR_MAX - ms + 1, ms, ANALLOC_EINVAL);
#if HOST_64
    /* more pages than the target can describe */
    INIT_REFUSED(base, (size_t)1 << 62, 1, meta, 4096, ANALLOC_EINVAL);
    INIT_REFUSED(base, (size_t)1 << 62, 1, meta, SIZE_MAX >> 4, ANALLOC_EINVAL);
#endif
}

static void test_init_etoosmall(void **state)
{
    const size_t page = 64, total = 64 * 64;
    size_t ms = analloc_meta_size(total, page);
    unsigned char *meta = g_pool + 4096;
    uintptr_t base = (uintptr_t)1 << (HOST_64 ? 40 : 30);
    (void)state;
    INIT_REFUSED(base, total, page, meta, ms - 1, ANALLOC_ETOOSMALL);
    INIT_REFUSED(base, total, page, meta, 1, ANALLOC_ETOOSMALL);
    INIT_REFUSED(base, total, page, meta, 0, ANALLOC_ETOOSMALL);
    INIT_REFUSED(base + 3, total, page, meta, ms - 1, ANALLOC_ETOOSMALL);
    /* no whole page */
    INIT_REFUSED(base + 1, page, page, meta, ms, ANALLOC_ETOOSMALL);
    INIT_REFUSED(base, page - 1, page, meta, ms, ANALLOC_ETOOSMALL);
    INIT_REFUSED(base, 0, page, meta, ms, ANALLOC_ETOOSMALL);
    INIT_REFUSED(base + page - 1, page, page, meta, ms, ANALLOC_ETOOSMALL);
    INIT_REFUSED(base + 1, 2 * page - 2, page, meta, ms, ANALLOC_ETOOSMALL);
    INIT_REFUSED(0, page, page, meta, ms, ANALLOC_ETOOSMALL); /* only the page at address 0 */
    INIT_REFUSED(0, page + 5, page, meta, ms, ANALLOC_ETOOSMALL);
    /* too small and overlapping: ETOOSMALL is checked first */
    INIT_REFUSED(g_pool, total, page, g_pool + 64, ms - 1, ANALLOC_ETOOSMALL);
    /* total 0 with the metadata "inside": an empty range overlaps nothing */
    INIT_REFUSED(g_pool, 0, page, g_pool, ms, ANALLOC_ETOOSMALL);
}

static void test_init_eoverlap(void **state)
{
    const size_t page = 64, total = 64 * 64;
    size_t ms = analloc_meta_size(total, page);
    unsigned char *base = g_pool + 65536;
    (void)state;
    assert_true(ms > 2 && ms + 2 * page < total);
    INIT_REFUSED(base, total, page, base, ms, ANALLOC_EOVERLAP);              /* at the start */
    INIT_REFUSED(base, total, page, base + page, ms, ANALLOC_EOVERLAP);       /* inside */
    INIT_REFUSED(base, total, page, base + total - ms, ms, ANALLOC_EOVERLAP); /* at the end */
    INIT_REFUSED(base, total, page, base + total - 1, ms, ANALLOC_EOVERLAP);  /* last byte */
    INIT_REFUSED(base, total, page, base - ms + 1, ms, ANALLOC_EOVERLAP);     /* first byte */
    INIT_REFUSED(base, total, page, base - ms / 2, ms, ANALLOC_EOVERLAP);     /* straddling */
    INIT_REFUSED(base, total, page, base + total - ms / 2, ms, ANALLOC_EOVERLAP);
    INIT_REFUSED(base, total, page, base - 64, total + 128, ANALLOC_EOVERLAP); /* covering */
    /* in a partial page of the range, outside every allocatable page: still
     * the range */
    INIT_REFUSED(base + 1, total, page, base + 1, ms, ANALLOC_EOVERLAP);
}

/* ======================================================================
 * analloc_alloc
 * ====================================================================== */

/* Twin allocators over the same address range (never touched), with their
 * own metadata buffers: the same calls must leave the same metadata bytes. */
struct twin {
    struct analloc a[2];
    unsigned char *meta[2];
    size_t ms;
};

static void twin_init(struct twin *t, uintptr_t base, size_t total, size_t page)
{
    int i;
    t->ms = analloc_meta_size(total, page);
    for (i = 0; i < 2; i++) {
        t->meta[i] = xalloc_aligned(16, t->ms);
        ASSERT_ERR(analloc_init(&t->a[i], ptr_at(base), total, page, t->meta[i], t->ms),
                   ANALLOC_OK);
    }
}

static void twin_fini(struct twin *t)
{
    free(t->meta[0]);
    free(t->meta[1]);
}

#define TWIN_SAME(t, what) twin_same_((t), (what), __FILE__, __LINE__)
static void twin_same_(const struct twin *t, const char *what, const char *file, int line)
{
    const struct analloc *x = &t->a[0], *y = &t->a[1];
    size_t d = ti_meta_bytes(x) == ti_meta_bytes(y)
                   ? first_diff(ti_meta(x), ti_meta(y), ti_meta_bytes(x))
                   : 0;
    if (d != SIZE_MAX || TI_FREE_PAGES(x) != TI_FREE_PAGES(y) ||
        TI_TAKEN_BLOCKS(x) != TI_TAKEN_BLOCKS(y) || TI_FREE_ORDERS(x) != TI_FREE_ORDERS(y)) {
        print_error("%s:%d: %s: the two allocators differ (metadata byte %zd; free pages %zu/%zu, "
                    "live %zu/%zu)\n",
                    file, line, what, d == SIZE_MAX ? (ssize_t)-1 : (ssize_t)d, TI_FREE_PAGES(x),
                    TI_FREE_PAGES(y), TI_TAKEN_BLOCKS(x), TI_TAKEN_BLOCKS(y));
        _fail(file, line);
    }
}

/* Size 0 asks for one page: the same block and the same metadata as 1 byte
 * or a page; realloc(NULL, n) is alloc(n). */
static void test_alloc_size_zero(void **state)
{
    static const size_t pages[] = {1, 64, 4096};
    size_t i, j;
    (void)state;
    for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        size_t page = pages[i];
        struct twin t;
        /* alloc(0) against: alloc(1), alloc(page), realloc(NULL, 0) */
        static const int kinds[] = {1, 2, 3};
        twin_init(&t, ((uintptr_t)1 << (HOST_64 ? 40 : 30)) + 3 * page, 100 * page + 5, page);
        /* some state first: the same on both */
        for (j = 0; j < 2; j++) {
            void *x = analloc_alloc(&t.a[j], 3 * page), *y = analloc_alloc(&t.a[j], page);
            assert_non_null(x);
            assert_non_null(y);
            ASSERT_ERR(analloc_free(&t.a[j], x), ANALLOC_OK);
        }
        TWIN_SAME(&t, "the same calls");
        for (j = 0; j < sizeof kinds / sizeof kinds[0]; j++) {
            void *p0 = analloc_alloc(&t.a[0], 0), *p1;
            assert_non_null(p0);
            assert_int_equal(analloc_mem_size(&t.a[0], p0), page);
            p1 = kinds[j] == 1   ? analloc_alloc(&t.a[1], 1)
                 : kinds[j] == 2 ? analloc_alloc(&t.a[1], page)
                                 : analloc_realloc(&t.a[1], NULL, 0);
            assert_ptr_equal(p0, p1);
            TWIN_SAME(&t, "alloc(0) against alloc(1), alloc(page), realloc(NULL, 0)");
        }
        /* realloc(NULL, n) is alloc(n), for several n */
        for (j = 0; j < 6; j++) {
            size_t n = j * page + 1;
            void *p0 = analloc_realloc(&t.a[0], NULL, n), *p1 = analloc_alloc(&t.a[1], n);
            assert_ptr_equal(p0, p1);
            TWIN_SAME(&t, "realloc(NULL, n) against alloc(n)");
        }
        ASSERT_ERR(analloc_check(&t.a[0]), ANALLOC_OK);
        twin_fini(&t);
    }
}

/* Sizes no block holds, up to SIZE_MAX: NULL, nothing changed, no hook call.
 * Also sizes that a block of the arena could hold but no free block does. */
static void test_alloc_huge_sizes(void **state)
{
    static const size_t pages[] = {1, 64, 4096};
    size_t i, k;
    (void)state;
    for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        size_t page = pages[i], largest;
        struct fx f;
        void *blocks[4];
        fx_chunk(&f, page, 3, page == 4096 ? 40 : 300, 7, 0);
        largest = page << f.a->depth;
        assert_int_equal(analloc_largest_free(f.a), largest);
        for (k = 0; k < 2; k++) {
            EXPECT_ALLOC_NULL(&f, largest + 1);
            EXPECT_ALLOC_NULL(&f, largest * 2);
            EXPECT_ALLOC_NULL(&f, f.a->managed + 1);
            EXPECT_ALLOC_NULL(&f, SIZE_MAX);
            EXPECT_ALLOC_NULL(&f, SIZE_MAX - 1);
            EXPECT_ALLOC_NULL(&f, SIZE_MAX - page);
            EXPECT_ALLOC_NULL(&f, SIZE_MAX - page + 1);
            if (page > 1) /* with page 1 that would be 0 */
                EXPECT_ALLOC_NULL(&f, SIZE_MAX - page + 2);
            EXPECT_ALLOC_NULL(&f, SIZE_MAX - 2 * page + 2);
            EXPECT_ALLOC_NULL(&f, (SIZE_MAX >> 1) + 1);
            EXPECT_ALLOC_NULL(&f, SIZE_MAX >> 1);
            EXPECT_ALLOC_NULL(&f, (SIZE_MAX >> 1) + 2);
            /* then with part of the arena in use */
            blocks[k] = analloc_alloc(f.a, page);
            assert_non_null(blocks[k]);
        }
        /* no free block that large: NULL too (not a bad argument: no hook) */
        EXPECT_ALLOC_NULL(&f, analloc_largest_free(f.a) + 1);
        while (analloc_alloc(f.a, 0) != NULL) {
        }
        assert_int_equal(analloc_free_bytes(f.a), 0);
        EXPECT_ALLOC_NULL(&f, 0);
        EXPECT_ALLOC_NULL(&f, 1);
        EXPECT_ALLOC_NULL(&f, page);
        assert_int_equal(f.hl.calls, 0);
        fx_fini(&f);
    }
}

/* ======================================================================
 * analloc_free
 * ====================================================================== */

static void test_free_null_pointer(void **state)
{
    struct fx f;
    struct snap sn;
    void *p;
    (void)state;
    fx_chunk(&f, 64, 1, 64, 0, 0);
    p = analloc_alloc(f.a, 64);
    assert_non_null(p);
    snap_take(&sn, f.a);
    ASSERT_ERR(analloc_free(f.a, NULL), ANALLOC_OK);
    ASSERT_ERR(analloc_free(f.a, NULL), ANALLOC_OK);
    SNAP_SAME(&sn, f.a, "free(NULL)");
    snap_free(&sn);
    assert_int_equal(f.hl.calls, 0);
    ASSERT_ERR(analloc_free(f.a, p), ANALLOC_OK);
    fx_fini(&f);
}

/* The live blocks of the bad-pointer tests: P (4 pages) and Q (1 page) live,
 * R (1 page) freed, X a page never allocated, each with its contents. */
struct victims {
    unsigned char *P, *Q, *R, *X;
};

static void victims_make(struct fx *f, struct victims *v)
{
    size_t page = f->page;
    uintptr_t x;
    v->P = analloc_alloc(f->a, 4 * page);
    v->Q = analloc_alloc(f->a, page);
    v->R = analloc_alloc(f->a, page);
    assert_non_null(v->P);
    assert_non_null(v->Q);
    assert_non_null(v->R);
    ASSERT_ERR(analloc_free(f->a, v->R), ANALLOC_OK);
    /* a page never allocated: outside P, Q and R */
    for (x = fx_start(f); x < fx_end(f); x += page)
        if ((x < addr(v->P) || x >= addr(v->P) + 4 * page) && x != addr(v->Q) && x != addr(v->R))
            break;
    assert_true(x < fx_end(f));
    v->X = ptr_at(x);
    assert_int_equal(analloc_mem_size(f->a, v->X), 0);
    fill_pattern(v->P, 4 * page, 11);
    fill_pattern(v->Q, page, 12);
}

static void victims_intact(struct fx *f, const struct victims *v)
{
    size_t page = f->page;
    assert_int_equal(analloc_mem_size(f->a, v->P), 4 * page);
    assert_int_equal(analloc_mem_size(f->a, v->Q), page);
    assert_true(has_pattern(v->P, 4 * page, 11));
    assert_true(has_pattern(v->Q, page, 12));
}

/* Apply `check` to one pointer of every kind; `check` gets the code a free of
 * it must return. */
typedef void (*bad_check)(struct fx *f, void *p, int err, const char *what, const char *file,
                          int line);
#define BAD(p, err) check(f, (p), (err), #p, __FILE__, __LINE__)

/* Far from the arena: ERANGE, unless the heap put the external metadata
 * buffer there (then ERESERVED, which bad_pointers_init covers). */
#define BAD_OUTSIDE(p)                                                                 \
    do {                                                                               \
        uintptr_t q_ = (p);                                                            \
        if (!(f->init && q_ >= addr(f->meta) && q_ - addr(f->meta) < f->meta_size))    \
            BAD(ptr_at(q_), ANALLOC_ERANGE);                                           \
    } while (0)

static void bad_pointers_common(struct fx *f, const struct victims *v, bad_check check)
{
    size_t page = f->page;
    uintptr_t start = fx_start(f), end = fx_end(f);
    /* a double free, free memory */
    BAD(v->R, ANALLOC_EFREE);
    BAD(v->X, ANALLOC_EFREE);
    /* inside a live block */
    BAD(v->P + page, ANALLOC_EINTERIOR);
    BAD(v->P + 2 * page, ANALLOC_EINTERIOR);
    BAD(v->P + 3 * page, ANALLOC_EINTERIOR);
    if (page > 1) { /* not aligned to a page */
        BAD(v->P + 1, ANALLOC_EALIGN);
        BAD(v->P + page - 1, ANALLOC_EALIGN);
        BAD(v->P + 2 * page + page / 2, ANALLOC_EALIGN);
        BAD(v->Q + page / 2, ANALLOC_EALIGN);
        BAD(v->X + 1, ANALLOC_EALIGN);
        BAD(ptr_at(start + 1), ANALLOC_EALIGN);
        BAD(ptr_at(end - 1), ANALLOC_EALIGN);
    }
    /* outside the managed range (ERANGE comes before EALIGN) */
    BAD(ptr_at(end), ANALLOC_ERANGE);
    BAD(ptr_at(end + 1), ANALLOC_ERANGE);
    BAD_OUTSIDE(align_up(addr(f->chunk) + f->total, page) + 8 * page);
    BAD_OUTSIDE(align_down(addr(f->chunk), page) - page);
    BAD_OUTSIDE(align_down(addr(f->chunk), page) - 64 * page - 3);
    BAD(ptr_at(page), ANALLOC_ERANGE);
    BAD(ptr_at(1), ANALLOC_ERANGE);
    BAD(ptr_at(align_down(UINTPTR_MAX, page)), ANALLOC_ERANGE);
    BAD(ptr_at(UINTPTR_MAX), ANALLOC_ERANGE);
}

static void bad_pointers_chunk(struct fx *f, const struct victims *v, bad_check check)
{
    unsigned char *words = ti_meta(f->a);
    size_t mb = TI_META_BYTES(f->a);
    uintptr_t q;
    bad_pointers_common(f, v, check);
    /* the used prefix, the metadata, the slack up to the first page: reserved
     * (ERESERVED comes before ERANGE and EALIGN) */
    BAD(f->chunk, ANALLOC_ERESERVED);
    if (f->used > 0)
        BAD(f->chunk + f->used - 1, ANALLOC_ERESERVED);
    if (addr(f->a) >= addr(f->chunk) && addr(f->a) < addr(f->chunk) + f->used)
        BAD(f->a, ANALLOC_ERESERVED); /* the allocator's own struct */
    BAD(words, ANALLOC_ERESERVED);
    BAD(words + 1, ANALLOC_ERESERVED);
    BAD(words + mb - 1, ANALLOC_ERESERVED);
    if (words + mb < (unsigned char *)f->a->start)
        BAD(words + mb, ANALLOC_ERESERVED); /* slack after the metadata */
    BAD(ptr_at(fx_start(f) - 1), ANALLOC_ERESERVED);
    for (q = align_up(addr(f->chunk), f->page); q < fx_start(f); q += f->page)
        BAD(ptr_at(q), ANALLOC_ERESERVED);
}

static void bad_pointers_init(struct fx *f, const struct victims *v, bad_check check)
{
    unsigned char *words = ti_meta(f->a);
    size_t mb = TI_META_BYTES(f->a);
    bad_pointers_common(f, v, check);
    /* the metadata buffer, all meta_size bytes of it, is reserved */
    BAD(f->meta, ANALLOC_ERESERVED);
    BAD(words, ANALLOC_ERESERVED);
    BAD(words + mb - 1, ANALLOC_ERESERVED);
    BAD(f->meta + f->meta_size - 1, ANALLOC_ERESERVED);
    BAD(f->meta - 1, ANALLOC_ERANGE);
    BAD(f->meta + f->meta_size, ANALLOC_ERANGE);
    /* the partial pages at either end of [base, base + total) */
    if (addr(f->chunk) % f->page != 0)
        BAD(f->chunk, ANALLOC_ERANGE);
    if ((addr(f->chunk) + f->total) % f->page != 0)
        BAD(f->chunk + f->total - 1, ANALLOC_ERANGE);
}

static void free_check(struct fx *f, void *p, int err, const char *what, const char *file,
                       int line)
{
    expect_free_err_(f, p, err, what, file, line);
}

static void test_free_bad_pointers_with_chunk(void **state)
{
    static const struct {
        size_t page, off, pages, used;
        int in_prefix;
    } cfg[] = {
        {64, 3, 64, 100, 0},
        {64, 0, 40, sizeof(struct analloc) + 40, 1},
        {1, 5, 600, 9, 0},
        {4096, 4095, 20, 5000, 1},
        {16, 7, 300, 0, 0},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        struct fx f;
        struct victims v;
        fx_chunk(&f, cfg[i].page, cfg[i].off, cfg[i].pages, cfg[i].used, cfg[i].in_prefix);
        victims_make(&f, &v);
        bad_pointers_chunk(&f, &v, free_check);
        victims_intact(&f, &v);
        ASSERT_ERR(analloc_free(f.a, v.P), ANALLOC_OK);
        ASSERT_ERR(analloc_free(f.a, v.Q), ANALLOC_OK);
        EXPECT_FREE_ERR(&f, v.P, ANALLOC_EFREE); /* now a double free, after merging */
        assert_int_equal(analloc_free_bytes(f.a), f.a->managed);
        fx_fini(&f);
    }
}

static void test_free_bad_pointers_init(void **state)
{
    static const struct {
        size_t page, off, pages, meta_off;
    } cfg[] = {
        {64, 3, 64, 0}, {8, 0, 300, 5}, {1, 1, 500, 3}, {4096, 100, 16, 7},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        struct fx f;
        struct victims v;
        fx_init(&f, cfg[i].page, cfg[i].off, cfg[i].pages, cfg[i].meta_off);
        victims_make(&f, &v);
        bad_pointers_init(&f, &v, free_check);
        victims_intact(&f, &v);
        ASSERT_ERR(analloc_free(f.a, v.P), ANALLOC_OK);
        ASSERT_ERR(analloc_free(f.a, v.Q), ANALLOC_OK);
        fx_fini(&f);
    }
}

/* A range from address 0: the page at 0 is outside (ERANGE, before EALIGN). */
static void test_free_bad_pointers_page_zero(void **state)
{
    const size_t page = 4096;
    size_t ms = analloc_meta_size(16 * page, page);
    struct fx f;
    void *p;
    (void)state;
    memset(&f, 0, sizeof f);
    f.page = page;
    f.meta_size = ms;
    f.metabuf = f.meta = malloc(ms);
    assert_non_null(f.meta);
    f.a = &f.local;
    ASSERT_ERR(analloc_init(f.a, NULL, 16 * page, page, f.meta, ms), ANALLOC_OK);
    analloc_set_error_hook(f.a, hook_record, &f.hl);
    assert_ptr_equal(f.a->start, ptr_at(page));
    p = analloc_alloc(f.a, page);
    assert_ptr_equal(p, ptr_at(page));
    EXPECT_FREE_ERR(&f, ptr_at(1), ANALLOC_ERANGE);
    EXPECT_FREE_ERR(&f, ptr_at(page / 2), ANALLOC_ERANGE);
    EXPECT_FREE_ERR(&f, ptr_at(page - 1), ANALLOC_ERANGE);
    EXPECT_FREE_ERR(&f, ptr_at(page + 1), ANALLOC_EALIGN);
    EXPECT_FREE_ERR(&f, ptr_at(2 * page), ANALLOC_EFREE);
    EXPECT_MEM_SIZE_0(&f, ptr_at(page / 2));
    EXPECT_REALLOC_BAD(&f, ptr_at(page / 2), page, ANALLOC_ERANGE);
    ASSERT_ERR(analloc_free(f.a, p), ANALLOC_OK);
    ASSERT_ERR(analloc_check(f.a), ANALLOC_OK);
    free(f.meta);
}

/* ======================================================================
 * analloc_realloc
 * ====================================================================== */

static size_t g_realloc_size;

static void realloc_check(struct fx *f, void *p, int err, const char *what, const char *file,
                          int line)
{
    expect_realloc_null_(f, p, g_realloc_size, err, what, file, line);
}

/* A bad pointer: NULL, the hook hears the same code free would return (also
 * when the size is too large: the pointer is checked first), nothing changes,
 * the live blocks keep their contents. */
static void test_realloc_bad_pointer(void **state)
{
    size_t i, s;
    (void)state;
    for (i = 0; i < 4; i++) {
        struct fx f;
        struct victims v;
        size_t sizes[8], ns = 0, page;
        if (i == 0)
            fx_chunk(&f, 64, 3, 64, 100, 0);
        else if (i == 1)
            fx_chunk(&f, 1, 5, 600, sizeof(struct analloc) + 16, 1);
        else if (i == 2)
            fx_init(&f, 4096, 100, 16, 7);
        else
            fx_init(&f, 16, 9, 300, 3);
        page = f.page;
        victims_make(&f, &v);
        sizes[ns++] = 0;
        sizes[ns++] = 1;
        sizes[ns++] = page;
        sizes[ns++] = 4 * page;
        sizes[ns++] = page << f.a->depth;
        sizes[ns++] = (page << f.a->depth) + 1;
        sizes[ns++] = SIZE_MAX;
        for (s = 0; s < ns; s++) {
            g_realloc_size = sizes[s];
            if (f.init)
                bad_pointers_init(&f, &v, realloc_check);
            else
                bad_pointers_chunk(&f, &v, realloc_check);
        }
        victims_intact(&f, &v);
        ASSERT_ERR(analloc_free(f.a, v.P), ANALLOC_OK);
        ASSERT_ERR(analloc_free(f.a, v.Q), ANALLOC_OK);
        fx_fini(&f);
    }
}

/* Too large, or no room: NULL, the old block intact and allocated (same
 * size, same contents), nothing changed, no hook call. */
static void test_realloc_too_large_or_no_memory(void **state)
{
    static const size_t pages[] = {1, 64, 4096};
    size_t i;
    (void)state;
    for (i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        size_t page = pages[i], largest;
        struct fx f;
        unsigned char *p, *q;
        fx_init(&f, page, 7, page == 4096 ? 32 : 256, 1);
        largest = page << f.a->depth;
        p = analloc_alloc(f.a, 2 * page);
        assert_non_null(p);
        fill_pattern(p, 2 * page, 5);
        /* too large */
        EXPECT_REALLOC_NULL(&f, p, largest + 1);
        EXPECT_REALLOC_NULL(&f, p, largest * 2);
        EXPECT_REALLOC_NULL(&f, p, f.a->managed + 1);
        EXPECT_REALLOC_NULL(&f, p, SIZE_MAX);
        EXPECT_REALLOC_NULL(&f, p, SIZE_MAX - page + 1);
        EXPECT_REALLOC_NULL(&f, p, SIZE_MAX - page);
        EXPECT_REALLOC_NULL(&f, p, (SIZE_MAX >> 1) + 1);
        assert_int_equal(analloc_mem_size(f.a, p), 2 * page);
        assert_true(has_pattern(p, 2 * page, 5));
        /* no memory: fill everything else with pages, then ask for more */
        while ((q = analloc_alloc(f.a, 0)) != NULL)
            fill_pattern(q, page, 6);
        EXPECT_REALLOC_NULL(&f, p, 2 * page + 1);
        EXPECT_REALLOC_NULL(&f, p, 4 * page);
        EXPECT_REALLOC_NULL(&f, p, largest);
        assert_int_equal(analloc_mem_size(f.a, p), 2 * page);
        assert_true(has_pattern(p, 2 * page, 5));
        /* shrinking needs no memory: it still works, in place */
        assert_ptr_equal(analloc_realloc(f.a, p, 1), p);
        assert_int_equal(analloc_mem_size(f.a, p), page);
        assert_int_equal(f.hl.calls, 0);
        fx_fini(&f);
    }
}

/* Size 0: the block becomes one page, in place: the same as 1 byte or a
 * page, on twin allocators. */
static void test_realloc_size_zero(void **state)
{
    static const size_t pages[] = {1, 64, 4096};
    static const size_t froms[] = {1, 2, 8, 32};
    size_t i, j, w;
    (void)state;
    for (i = 0; i < sizeof pages / sizeof pages[0]; i++)
        for (j = 0; j < sizeof froms / sizeof froms[0]; j++)
            for (w = 0; w < 2; w++) {
                size_t page = pages[i];
                struct twin t;
                void *p0, *p1, *q0, *q1;
                twin_init(&t, ((uintptr_t)1 << (HOST_64 ? 40 : 30)) + 5 * page, 64 * page + 3,
                          page);
                p0 = analloc_alloc(&t.a[0], froms[j] * page);
                p1 = analloc_alloc(&t.a[1], froms[j] * page);
                assert_non_null(p0);
                assert_ptr_equal(p0, p1);
                q0 = analloc_realloc(&t.a[0], p0, 0);
                q1 = analloc_realloc(&t.a[1], p1, w == 0 ? 1 : page);
                assert_ptr_equal(q0, p0); /* in place */
                assert_ptr_equal(q1, p1);
                assert_int_equal(analloc_mem_size(&t.a[0], q0), page);
                TWIN_SAME(&t, "realloc(p, 0) against realloc(p, 1) and realloc(p, page)");
                ASSERT_ERR(analloc_check(&t.a[0]), ANALLOC_OK);
                twin_fini(&t);
            }
}

/* ======================================================================
 * analloc_mem_size
 * ====================================================================== */

static void mem_size_check(struct fx *f, void *p, int err, const char *what, const char *file,
                           int line)
{
    (void)err;
    expect_mem_size_0_(f, p, what, file, line);
}

static void test_mem_size_bad_pointers(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < 3; i++) {
        struct fx f;
        struct victims v;
        if (i == 0)
            fx_chunk(&f, 64, 3, 64, sizeof(struct analloc) + 16, 1);
        else if (i == 1)
            fx_init(&f, 8, 1, 300, 5);
        else
            fx_chunk(&f, 1, 0, 500, 0, 0);
        victims_make(&f, &v);
        EXPECT_MEM_SIZE_0(&f, NULL);
        if (f.init)
            bad_pointers_init(&f, &v, mem_size_check);
        else
            bad_pointers_chunk(&f, &v, mem_size_check);
        victims_intact(&f, &v);
        ASSERT_ERR(analloc_free(f.a, v.P), ANALLOC_OK);
        EXPECT_MEM_SIZE_0(&f, v.P); /* freed */
        ASSERT_ERR(analloc_free(f.a, v.Q), ANALLOC_OK);
        fx_fini(&f);
    }
}

/* ======================================================================
 * NULL and never-set-up allocators
 * ====================================================================== */

struct lines {
    size_t n;
    char first[128];
};

static void lines_out(void *ctx, const char *line)
{
    struct lines *L = ctx;
    if (L->n++ == 0) {
        strncpy(L->first, line, sizeof L->first - 1);
        L->first[sizeof L->first - 1] = '\0';
    }
}

/* Every function on `a` (NULL or never set up) gives the documented answer;
 * the caller compares *a afterwards. */
static void every_call_refused(analloc_t a, unsigned char *mem)
{
    struct hook_log hl = {0, 0, NULL};
    struct lines L;
    void *p = mem + 64;
    ASSERT_ERR(analloc_check(a), ANALLOC_EINVAL);
    assert_null(analloc_alloc(a, 0));
    assert_null(analloc_alloc(a, 64));
    assert_null(analloc_alloc(a, SIZE_MAX));
    ASSERT_ERR(analloc_free(a, p), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_free(a, NULL), ANALLOC_EINVAL); /* the allocator is checked first */
    assert_null(analloc_realloc(a, NULL, 64));
    assert_null(analloc_realloc(a, NULL, 0));
    assert_null(analloc_realloc(a, p, 64));
    assert_null(analloc_realloc(a, p, 0));
    assert_int_equal(analloc_mem_size(a, p), 0);
    assert_int_equal(analloc_mem_size(a, NULL), 0);
    assert_int_equal(analloc_free_bytes(a), 0);
    assert_int_equal(analloc_largest_free(a), 0);
    assert_int_equal(analloc_meta_bytes(a), 0);
    ASSERT_ERR(analloc_set_cache(a, 0), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_set_cache(a, ANALLOC_CACHE_MAX), ANALLOC_EINVAL);
    analloc_drain(a); /* a no-op */
    /* set_error_hook is a no-op: the hook is not installed... */
    analloc_set_error_hook(a, hook_record, &hl);
    ASSERT_ERR(analloc_free(a, p), ANALLOC_EINVAL);
    assert_null(analloc_realloc(a, p, 64));
    assert_int_equal(hl.calls, 0);
    analloc_set_error_hook(a, NULL, NULL);
    /* dump: one line, "analloc: not set up"; with out NULL, nothing */
    memset(&L, 0, sizeof L);
    analloc_dump(a, lines_out, &L, 0);
    assert_int_equal(L.n, 1);
    assert_string_equal(L.first, "analloc: not set up");
    memset(&L, 0, sizeof L);
    analloc_dump(a, lines_out, &L, 1000);
    assert_int_equal(L.n, 1);
    analloc_dump(a, NULL, &L, 0);
    assert_int_equal(L.n, 1);
    /* memory was not touched */
    assert_true(bytes_differ(mem, 256, 0x77) == (size_t)-1);
}

static void test_null_allocator(void **state)
{
    unsigned char mem[256];
    (void)state;
    memset(mem, 0x77, sizeof mem);
    every_call_refused(NULL, mem);
}

static void test_never_set_up_allocator(void **state)
{
    static const int fills[] = {0x00, 0x5A, 0xFF, 0x01};
    unsigned char mem[256];
    size_t i;
    (void)state;
    memset(mem, 0x77, sizeof mem);
    for (i = 0; i < sizeof fills / sizeof fills[0]; i++) {
        struct analloc z, copy;
        memset(&z, fills[i], sizeof z);
        memcpy(&copy, &z, sizeof z);
        every_call_refused(&z, mem);
        assert_memory_equal(&z, &copy, sizeof z);
    }
    /* a struct after a refused setup is still never set up */
    {
        struct analloc z, copy;
        memset(&z, 0, sizeof z);
        ASSERT_ERR(analloc_with_chunk(&z, mem, 16, 0, 64), ANALLOC_ETOOSMALL);
        memcpy(&copy, &z, sizeof z);
        every_call_refused(&z, mem);
        assert_memory_equal(&z, &copy, sizeof z);
    }
}

/* Functions without an allocator: analloc_meta_size and analloc_strerror. */
static void test_meta_size_and_strerror_bad_input(void **state)
{
    (void)state;
    assert_int_equal(analloc_meta_size(4096, 0), 0);
    assert_int_equal(analloc_meta_size(4096, 3), 0);
    assert_int_equal(analloc_meta_size(4096, SIZE_MAX), 0);
#if HOST_64
    assert_int_equal(analloc_meta_size((size_t)1 << 62, 1), 0);
    assert_int_equal(analloc_meta_size(SIZE_MAX, 1), 0);
    assert_int_equal(analloc_meta_size(SIZE_MAX, 4), 0);
#endif
    assert_true(analloc_meta_size(0, 64) > 0); /* an upper bound, even for nothing */
    assert_string_equal(analloc_strerror(-15), analloc_strerror(1)); /* past the last code */
    assert_non_null(strstr(analloc_strerror(-15), "unknown"));
}

/* ======================================================================
 * The vectormaps front: buddy_free and buddy_init_at
 * ====================================================================== */

/* The front's private state, found from outside (see the file comment). */
struct front {
    uintptr_t meta_lo, meta_hi;  /* the static metadata buffer */
    const struct analloc *a;     /* the static allocator */
    struct analloc snap;
    unsigned char *meta_snap;
};

/* Is p in the front's metadata?  (buddy_free of a pointer changes nothing.) */
static int front_reserved(uintptr_t p)
{
    int e;
    (void)buddy_last_error();
    buddy_free(ptr_at(p));
    e = buddy_last_error();
    return e == ANALLOC_ERESERVED;
}

extern char __bss_start[], _end[];

#if defined(__clang__) || defined(__GNUC__)
#define NO_ASAN __attribute__((no_sanitize_address))
#else
#define NO_ASAN
#endif

/* Reads of .bss words between the sanitizer's redzones: not instrumented. */
NO_ASAN static uintptr_t read_word(uintptr_t p)
{
    return *(const volatile uintptr_t *)ptr_at(p);
}

/* Scan the readable words of [from, to) for a struct analloc whose metadata
 * pointer is `words` and whose reserved range is [lo, hi). */
NO_ASAN static void scan_for_struct(uintptr_t from, uintptr_t to, uintptr_t words, uintptr_t lo,
                                    uintptr_t hi, const struct analloc **found)
{
    const size_t ow = TI_OFFSET_WORDS;
    const size_t olo = TI_OFFSET_HELD_LO;
    const size_t ohi = TI_OFFSET_HELD_HI;
    uintptr_t x;
    for (x = align_up(from + ow, _Alignof(struct analloc)); x + sizeof(uintptr_t) <= to;
         x += _Alignof(struct analloc)) {
        uintptr_t s = x - ow;
        if (read_word(x) != words || s + sizeof(struct analloc) > to)
            continue;
        if (read_word(s + olo) == lo && read_word(s + ohi) == hi) {
            if (*found != NULL && *found != ptr_at(s))
                FAILF("two candidates for the front's struct analloc: %p and %#lx\n",
                      (const void *)*found, (unsigned long)s);
            *found = ptr_at(s);
        }
    }
}

/* The front's static struct lies in .bss, [__bss_start, _end), which may
 * contain unmapped holes (the 16 MiB-aligned area): scan only the readable
 * mappings, from /proc/self/maps. */
static const struct analloc *find_front_struct(uintptr_t words, uintptr_t lo, uintptr_t hi)
{
    const struct analloc *found = NULL;
    uintptr_t b0 = addr(__bss_start), b1 = addr(_end);
    char line[512];
    FILE *maps = fopen("/proc/self/maps", "r");
    if (maps == NULL)
        FAILF("cannot read /proc/self/maps\n");
    while (fgets(line, sizeof line, maps) != NULL) {
        unsigned long m0, m1;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &m0, &m1, perms) != 3 || perms[0] != 'r')
            continue;
        if (m1 <= b0 || m0 >= b1)
            continue;
        scan_for_struct(m0 > b0 ? m0 : b0, m1 < b1 ? m1 : b1, words, lo, hi, &found);
    }
    fclose(maps);
    return found;
}

/* Find the front's metadata (set up: call after buddy_init or buddy_init_at)
 * and struct. */
static void front_find(struct front *f)
{
    void *p = buddy_alloc(0);
    uintptr_t c, x, hit = 0, lo, hi;
    const uintptr_t window = 48 * MIB, step = 512;
    assert_non_null(p);
    c = addr(p);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    /* the metadata is static, near the static area in .bss */
    for (x = c > window ? c - window : step; x < c + window && x > step; x += step)
        if (front_reserved(x)) {
            hit = x;
            break;
        }
    if (hit == 0) {
        /* anywhere in .bss */
        for (x = align_up(addr(__bss_start), 8); x < addr(_end); x += 8)
            if (front_reserved(x)) {
                hit = x;
                break;
            }
    }
    if (hit == 0)
        FAILF("the front's metadata (ERESERVED) was not found near %p\n", p);
    for (lo = hit; front_reserved(lo - 1); lo--)
        ;
    for (hi = hit; front_reserved(hi); hi++)
        ;
    f->meta_lo = lo;
    f->meta_hi = hi;
    f->a = find_front_struct(align_up(lo, 8), lo, hi);
    if (f->a == NULL)
        FAILF("the front's struct analloc (metadata at %#lx) was not found in .bss\n",
              (unsigned long)lo);
    assert_int_equal(TI_META_BYTES(f->a) <= hi - lo, 1);
    f->meta_snap = malloc(hi - lo);
    assert_non_null(f->meta_snap);
    assert_int_equal(buddy_last_error(), 0);
}

static void front_snap(struct front *f)
{
    memcpy(&f->snap, f->a, sizeof f->snap);
    memcpy(f->meta_snap, ptr_at(f->meta_lo), f->meta_hi - f->meta_lo);
}

#define FRONT_SAME(f, what) front_same_((f), (what), __FILE__, __LINE__)
static void front_same_(const struct front *f, const char *what, const char *file, int line)
{
    size_t ds = first_diff(&f->snap, f->a, sizeof f->snap);
    size_t dm = first_diff(f->meta_snap, ptr_at(f->meta_lo), f->meta_hi - f->meta_lo);
    if (ds != (size_t)-1 || dm != (size_t)-1) {
        print_error("%s:%d: %s changed the front: struct byte %zd, metadata byte %zd\n", file,
                    line, what, ds == (size_t)-1 ? (ssize_t)-1 : (ssize_t)ds,
                    dm == (size_t)-1 ? (ssize_t)-1 : (ssize_t)dm);
        _fail(file, line);
    }
}

static void front_fini(struct front *f)
{
    free(f->meta_snap);
}

/* Before any buddy_init: nothing is managed. */
static void test_buddy_never_initialised(void **state)
{
    unsigned char mem[64];
    (void)state;
    assert_null(buddy_alloc(0));
    assert_null(buddy_alloc(1u << 20));
    assert_int_equal(buddy_last_error(), 0);
    buddy_free(NULL); /* NULL is ignored, set up or not */
    assert_int_equal(buddy_last_error(), 0);
    buddy_free(mem);
    assert_int_equal(buddy_last_error(), ANALLOC_EINVAL);
    assert_int_equal(buddy_last_error(), 0);
}

#define BUDDY_FREE_ERR(f, p, err)                                                  \
    do {                                                                           \
        int e_;                                                                    \
        front_snap(f);                                                             \
        buddy_free(p);                                                             \
        FRONT_SAME((f), "buddy_free(" #p ")");                                     \
        e_ = buddy_last_error();                                                   \
        if (e_ != (err))                                                           \
            FAILF("buddy_free(%s = %p): buddy_last_error() = %d (%s), expected %d (%s)\n", #p, \
                  (void *)(p), e_, analloc_strerror(e_), (err), analloc_strerror(err)); \
        assert_int_equal(buddy_last_error(), 0);                                   \
    } while (0)

static void test_buddy_free_bad_pointers(void **state)
{
    struct front f;
    unsigned char *P, *Q, *R, *X, *base;
    uintptr_t area_end, m;
    int on_stack = 0;
    (void)state;
    buddy_init();
    (void)buddy_last_error();
    front_find(&f);
    P = buddy_alloc(4u << 20);
    Q = buddy_alloc(1u << 20);
    R = buddy_alloc(1u << 20);
    assert_non_null(P);
    assert_non_null(Q);
    assert_non_null(R);
    buddy_free(R);
    assert_int_equal(buddy_last_error(), 0);
    base = f.a->start;
    area_end = addr(base) + f.a->managed;
    X = ptr_at(area_end - MIB);
    assert_true(X != P && X != Q && X != R);

    front_snap(&f);
    buddy_free(NULL);
    FRONT_SAME(&f, "buddy_free(NULL)");
    assert_int_equal(buddy_last_error(), 0);

    BUDDY_FREE_ERR(&f, R, ANALLOC_EFREE);
    BUDDY_FREE_ERR(&f, X, ANALLOC_EFREE);
    BUDDY_FREE_ERR(&f, P + MIB, ANALLOC_EINTERIOR);
    BUDDY_FREE_ERR(&f, P + 3 * MIB, ANALLOC_EINTERIOR);
    BUDDY_FREE_ERR(&f, P + 1, ANALLOC_EALIGN);
    BUDDY_FREE_ERR(&f, Q + MIB / 2, ANALLOC_EALIGN);
    BUDDY_FREE_ERR(&f, X + 4096, ANALLOC_EALIGN);
    /* past the area (the front's metadata may follow it in .bss) */
    m = area_end >= f.meta_lo && area_end < f.meta_hi ? f.meta_hi : area_end;
    BUDDY_FREE_ERR(&f, ptr_at(m), ANALLOC_ERANGE);
    m = addr(base) - MIB >= f.meta_lo && addr(base) - MIB < f.meta_hi ? f.meta_lo - 1
                                                                       : addr(base) - MIB;
    BUDDY_FREE_ERR(&f, ptr_at(m), ANALLOC_ERANGE);
    BUDDY_FREE_ERR(&f, ptr_at(UINTPTR_MAX), ANALLOC_ERANGE);
    BUDDY_FREE_ERR(&f, ptr_at(MIB), ANALLOC_ERANGE);
    BUDDY_FREE_ERR(&f, &on_stack, ANALLOC_ERANGE);
    m = f.meta_lo;
    BUDDY_FREE_ERR(&f, ptr_at(m), ANALLOC_ERESERVED);
    BUDDY_FREE_ERR(&f, ptr_at(f.meta_hi - 1), ANALLOC_ERESERVED);
    /* the last rejected free wins; a good free does not clear it */
    front_snap(&f);
    buddy_free(P + 1);
    buddy_free(R);
    FRONT_SAME(&f, "two bad frees");
    buddy_free(Q);
    assert_int_equal(buddy_last_error(), ANALLOC_EFREE);
    assert_int_equal(buddy_last_error(), 0);
    buddy_free(P);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(analloc_free_bytes(f.a), f.a->managed);
    buddy_init();
    front_fini(&f);
}

#define INIT_AT_ERR(f, b, size, err)                                                   \
    do {                                                                               \
        int r_;                                                                        \
        front_snap(f);                                                                 \
        r_ = buddy_init_at(ptr_at(b), (size));                                         \
        FRONT_SAME((f), "buddy_init_at(" #b ", " #size ")");                           \
        if (r_ != (err))                                                               \
            FAILF("buddy_init_at(%s, %s) = %d (%s), expected %d (%s)\n", #b, #size, r_, \
                  analloc_strerror(r_), (err), analloc_strerror(err));                 \
    } while (0)

static void init_at_errors(struct front *f, uintptr_t r)
{
    uintptr_t m = align_down(f->meta_lo, MIB);
    /* NULL base */
    INIT_AT_ERR(f, 0, 8u << 20, ANALLOC_EINVAL);
    INIT_AT_ERR(f, 0, 0, ANALLOC_EINVAL);
    INIT_AT_ERR(f, 0, SIZE_MAX, ANALLOC_EINVAL);
    /* above BUDDY_AREA_SIZE (16 MiB by default) */
    INIT_AT_ERR(f, r, (16u << 20) + 1, ANALLOC_ETOOSMALL);
    INIT_AT_ERR(f, r, 32u << 20, ANALLOC_ETOOSMALL);
    INIT_AT_ERR(f, r, SIZE_MAX, ANALLOC_ETOOSMALL);
    /* no whole block (the header: from analloc_init) */
    INIT_AT_ERR(f, r, 0, ANALLOC_ETOOSMALL);
    INIT_AT_ERR(f, r, 1, ANALLOC_ETOOSMALL);
    INIT_AT_ERR(f, r, MIB - 1, ANALLOC_ETOOSMALL);
    INIT_AT_ERR(f, r + 4096, MIB, ANALLOC_ETOOSMALL);
    /* a range that wraps (the header: EINVAL) */
    INIT_AT_ERR(f, UINTPTR_MAX - MIB + 1, 2 * MIB, ANALLOC_EINVAL);
    /* the range holds the front's own metadata (the header: EOVERLAP) */
    INIT_AT_ERR(f, m, 2 * MIB, ANALLOC_EOVERLAP);
    if (m > 4 * MIB)
        INIT_AT_ERR(f, m - 4 * MIB, 8 * MIB, ANALLOC_EOVERLAP);
}

static void test_buddy_init_at_errors(void **state)
{
    struct front f;
    void *res, *p, *q;
    uintptr_t r;
    size_t len = 64u << 20;
    (void)state;
    res = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    assert_true(res != MAP_FAILED);
    r = align_up(addr(res), 16 * MIB);

    /* the previous area is the built-in one, with a live block and a pending
     * error: all kept */
    buddy_init();
    (void)buddy_last_error();
    front_find(&f);
    p = buddy_alloc(2u << 20);
    assert_non_null(p);
    buddy_free(ptr_at(addr(p) + 1));
    init_at_errors(&f, r);
    assert_int_equal(buddy_last_error(), ANALLOC_EALIGN); /* still pending */
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);

    /* the previous area is a caller's region (never touched: PROT_NONE) */
    assert_int_equal(buddy_init_at(ptr_at(r), 8u << 20), 0);
    q = buddy_alloc(1u << 20);
    assert_ptr_equal(q, ptr_at(r));
    init_at_errors(&f, r + 16 * MIB);
    buddy_free(q);
    assert_int_equal(buddy_last_error(), 0);
    assert_ptr_equal(buddy_alloc(8u << 20), ptr_at(r));

    buddy_init();
    front_fini(&f);
    munmap(res, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* first: before anything calls buddy_init */
        cmocka_unit_test(test_buddy_never_initialised),
        cmocka_unit_test(test_with_chunk_einval),
        cmocka_unit_test(test_with_chunk_etoosmall),
        cmocka_unit_test(test_struct_overlaps),
        cmocka_unit_test(test_init_einval),
        cmocka_unit_test(test_init_etoosmall),
        cmocka_unit_test(test_init_eoverlap),
        cmocka_unit_test(test_alloc_size_zero),
        cmocka_unit_test(test_alloc_huge_sizes),
        cmocka_unit_test(test_free_null_pointer),
        cmocka_unit_test(test_free_bad_pointers_with_chunk),
        cmocka_unit_test(test_free_bad_pointers_init),
        cmocka_unit_test(test_free_bad_pointers_page_zero),
        cmocka_unit_test(test_realloc_bad_pointer),
        cmocka_unit_test(test_realloc_too_large_or_no_memory),
        cmocka_unit_test(test_realloc_size_zero),
        cmocka_unit_test(test_mem_size_bad_pointers),
        cmocka_unit_test(test_null_allocator),
        cmocka_unit_test(test_never_set_up_allocator),
        cmocka_unit_test(test_meta_size_and_strerror_bad_input),
        cmocka_unit_test(test_buddy_free_bad_pointers),
        cmocka_unit_test(test_buddy_init_at_errors),
    };
    return cmocka_run_group_tests_name("analloc bad input", tests, pool_setup, pool_teardown);
}
