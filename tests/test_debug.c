/*
 * test_debug.c - analloc_set_debug: poisoning of freed blocks and filling of
 * fresh ones, over real memory (analloc_with_chunk and analloc_init).
 *
 * Every check compares whole buffers against an expected image kept by the
 * test: the guard bytes around the chunk, the used prefix, the alignment
 * slack and every managed page, so a fill that spills one byte past its
 * block, or lands where no fill belongs, is caught.  The metadata (which the
 * engine rewrites on every call) is left out of that image and proved
 * untouched another way: the same operations run twice over the same chunk,
 * once with the debug aids off and once on, must leave the same struct (but
 * for the debug setting) and the same metadata bytes after every call.
 *
 * This file is built without ANALLOC_ANNOTATE (as every normal build is), so
 * ANALLOC_DEBUG_ANNOTATE is refused; `make test-annotate` covers the
 * annotations themselves (tests/annotate/).
 *
 * The randomized case prints its seed; ANALLOC_SEED=n replays a run and
 * ANALLOC_QUICK=1 runs fewer operations.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analloc.h"
#include "layout.h"
#include "testutil.h"
#include "testcheck.h"

static uint64_t g_seed;
static int g_quick;

#define ALL_DEBUG (ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH | ANALLOC_DEBUG_ANNOTATE)
#define POISONS (ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH)

/* ---- fixture: an allocator over real memory, with guards ---------------- */

#define GUARD 512           /* bytes of guard before and after the chunk */
#define GUARD_BYTE 0xC5     /* guards, and every byte of the chunk at first */
#define META_GUARD_BYTE 0x3C

struct fx {
    struct analloc a;
    unsigned char *raw; /* guard + chunk + guard */
    size_t rawlen;
    unsigned char *chunk;
    size_t total, used, page;
    unsigned char *metaraw; /* analloc_init: guard + metadata buffer + guard */
    size_t metalen;
    unsigned char *expect; /* the image raw must hold (metadata excluded) */
};

/* The bytes of raw that are metadata: [*lo, *hi) as offsets in raw (empty
 * for analloc_init, whose metadata lives elsewhere). */
static void meta_span(const struct fx *f, size_t *lo, size_t *hi)
{
    uintptr_t m = addr(ti_meta(&f->a)), r = addr(f->raw);
    if (m >= r && m < r + f->rawlen) {
        *lo = (size_t)(m - r);
        *hi = *lo + TI_META_BYTES(&f->a);
        assert_true(*hi <= f->rawlen);
    } else {
        *lo = *hi = 0;
    }
}

static void fx_alloc_raw(struct fx *f, size_t total, size_t offset)
{
    f->total = total;
    f->rawlen = total + 2 * GUARD + offset;
    f->raw = xalloc_replayable(f->rawlen);
    memset(f->raw, GUARD_BYTE, f->rawlen);
    f->chunk = f->raw + GUARD + offset;
    f->expect = malloc(f->rawlen);
    assert_non_null(f->expect);
}

/* analloc_with_chunk over `total` bytes at GUARD + offset into a 4 KiB
 * aligned buffer, the first `used` bytes a pattern (the caller's). */
static void fx_chunk(struct fx *f, size_t page, size_t total, size_t used, size_t offset)
{
    memset(f, 0, sizeof *f);
    fx_alloc_raw(f, total, offset);
    f->used = used;
    f->page = page;
    for (size_t i = 0; i < used; i++)
        f->chunk[i] = (unsigned char)(0x40u + i * 7u);
    ASSERT_ERR(analloc_with_chunk(&f->a, f->chunk, total, used, page), ANALLOC_OK);
    memcpy(f->expect, f->raw, f->rawlen);
}

/* analloc_init over the chunk, metadata in a separate guarded buffer. */
static void fx_init(struct fx *f, size_t page, size_t total, size_t offset)
{
    memset(f, 0, sizeof *f);
    fx_alloc_raw(f, total, offset);
    f->page = page;
    size_t need = analloc_meta_size(total, page);
    assert_true(need > 0);
    f->metalen = need + 2 * GUARD;
    f->metaraw = xalloc_aligned(64, f->metalen);
    memset(f->metaraw, META_GUARD_BYTE, f->metalen);
    ASSERT_ERR(analloc_init(&f->a, f->chunk, total, page, f->metaraw + GUARD, need), ANALLOC_OK);
    memcpy(f->expect, f->raw, f->rawlen);
}

static void fx_fini(struct fx *f)
{
    free(f->raw);
    free(f->metaraw);
    free(f->expect);
    memset(f, 0, sizeof *f);
}

/* The expected image of [p, p + n), which lies in raw. */
static unsigned char *ex(const struct fx *f, const void *p)
{
    assert_true(addr(p) >= addr(f->raw) && addr(p) <= addr(f->raw) + f->rawlen);
    return f->expect + (addr(p) - addr(f->raw));
}

/* raw must equal the expected image outside the metadata; the metadata
 * buffer's guards (analloc_init) must be intact. */
#define MEM_SAME(f, what) mem_same_((f), (what), __FILE__, __LINE__)
static void mem_same_(const struct fx *f, const char *what, const char *file, int line)
{
    size_t mlo, mhi;
    meta_span(f, &mlo, &mhi);
    for (size_t i = 0; i < f->rawlen; i++) {
        if (i == mlo && mhi > mlo) {
            i = mhi - 1;
            continue;
        }
        if (f->raw[i] != f->expect[i]) {
            long off = (long)i - (long)(f->chunk - f->raw);
            long pg = addr(f->raw + i) >= addr(f->a.start)
                          ? (long)((addr(f->raw + i) - addr(f->a.start)) / f->page)
                          : -1;
            size_t run = 0;
            while (i + run < f->rawlen && f->raw[i + run] != f->expect[i + run])
                run++;
            print_error("%s:%d: %s: byte %ld of the chunk (page %ld of the arena) is %#x, "
                        "expected %#x (%zu bytes differ from there)\n",
                        file, line, what, off, pg, f->raw[i], f->expect[i], run);
            _fail(file, line);
        }
    }
    if (f->metaraw != NULL) {
        for (size_t i = 0; i < f->metalen; i++) {
            if (i == GUARD)
                i = f->metalen - GUARD;
            if (f->metaraw[i] != META_GUARD_BYTE) {
                print_error("%s:%d: %s: metadata guard byte %zu written\n", file, line, what, i);
                _fail(file, line);
            }
        }
    }
}

/* Write bytes into [p, p + n) (a live or free block: no annotations here)
 * and into the expected image. */
static void put(struct fx *f, void *p, unsigned char c, size_t n)
{
    memset(p, c, n);
    memset(ex(f, p), c, n);
}

/* A pattern that differs from byte to byte, so a copy at the wrong offset
 * shows. */
static void put_pattern(struct fx *f, void *p, size_t n, unsigned seed)
{
    unsigned char *d = p;
    for (size_t i = 0; i < n; i++)
        d[i] = (unsigned char)(seed * 131u + i * 29u + (i >> 8));
    memcpy(ex(f, p), p, n);
}

static size_t cached_blocks(analloc_t a)
{
    struct analloc_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(a, &st), ANALLOC_OK);
    return st.cached_blocks;
}

struct find_ctx {
    const void *block;
    unsigned kind;
};

static int find_block(void *ctx, void *block, size_t bytes, unsigned kind)
{
    struct find_ctx *c = ctx;
    (void)bytes;
    if (block == c->block) {
        c->kind = kind;
        return 1;
    }
    return 0;
}

/* The kind analloc_walk reports for the block that starts at p (0: none). */
static unsigned kind_of(analloc_t a, const void *p)
{
    struct find_ctx c = {p, 0};
    (void)analloc_walk(a, ANALLOC_BLOCK_ALL, find_block, &c);
    return c.kind;
}

/* ---- poisoning of freed blocks -------------------------------------------- */

/* Freeing a block fills all of it, and nothing else, with free_byte: blocks
 * of orders 0-3 that go to the block cache, larger ones that go to the buddy
 * system, blocks pushed out of a full cache, and with the cache off. */
static void test_free_poisons_block(void **state)
{
    (void)state;
    const size_t page = 64;
    struct fx f;
    fx_chunk(&f, page, (size_t)64 << 10, 100, 0);
    analloc_t a = &f.a;
    ASSERT_ERR(analloc_set_debug(a, ANALLOC_DEBUG_POISON_FREE, 0xDB, 0x5A), ANALLOC_OK);
    MEM_SAME(&f, "set_debug");
    for (unsigned k = 0; k <= 6; k++) {
        size_t n = page << k;
        unsigned char *p = analloc_alloc(a, n);
        unsigned char *q = analloc_alloc(a, n);
        assert_non_null(p);
        assert_non_null(q);
        MEM_SAME(&f, "alloc without POISON_FRESH"); /* no fill on alloc */
        put_pattern(&f, p, n, k);
        put(&f, q, 0x22, n);
        size_t before = cached_blocks(a);
        ASSERT_ERR(analloc_free(a, p), ANALLOC_OK);
        memset(ex(&f, p), 0xDB, n);
        MEM_SAME(&f, "free");
        assert_int_equal(cached_blocks(a), before + (k < ANALLOC_CACHE_ORDERS));
        assert_int_equal(kind_of(a, p), k < ANALLOC_CACHE_ORDERS ? ANALLOC_BLOCK_CACHED
                                                                 : ANALLOC_BLOCK_FREE);
        ASSERT_ERR(analloc_free(a, q), ANALLOC_OK);
        memset(ex(&f, q), 0xDB, n);
        MEM_SAME(&f, "free of the second block");
        ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    }
    /* A full cache: the oldest block goes back to the buddy system, still
     * poisoned; draining merges without refilling. */
    unsigned char *blk[ANALLOC_CACHE_MAX + 2];
    for (size_t i = 0; i < ANALLOC_CACHE_MAX + 2; i++) {
        blk[i] = analloc_alloc(a, page);
        assert_non_null(blk[i]);
        put(&f, blk[i], (unsigned char)(0x60 + i), page);
    }
    for (size_t i = 0; i < ANALLOC_CACHE_MAX + 2; i++) {
        ASSERT_ERR(analloc_free(a, blk[i]), ANALLOC_OK);
        memset(ex(&f, blk[i]), 0xDB, page);
        MEM_SAME(&f, "free into a full cache");
    }
    analloc_drain(a);
    MEM_SAME(&f, "drain");
    /* The cache off: an order-0 block goes straight to the buddy system. */
    ASSERT_ERR(analloc_set_cache(a, 0), ANALLOC_OK);
    unsigned char *p = analloc_alloc(a, 1);
    assert_non_null(p);
    put(&f, p, 0x77, page);
    ASSERT_ERR(analloc_free(a, p), ANALLOC_OK);
    memset(ex(&f, p), 0xDB, page);
    MEM_SAME(&f, "free, cache off");
    assert_int_equal(cached_blocks(a), 0);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    fx_fini(&f);
}

/* ---- filling of fresh blocks ---------------------------------------------- */

/* Every way a block is handed out fills all of it with fresh_byte: alloc,
 * a block from the cache, alloc_flags LOW and HIGH, alloc_aligned,
 * alloc_range, realloc(NULL); freeing with POISON_FRESH alone fills nothing. */
static void test_alloc_fills_fresh(void **state)
{
    (void)state;
    const size_t page = 128;
    struct fx f;
    fx_chunk(&f, page, (size_t)128 << 10, 40, 24);
    analloc_t a = &f.a;
    ASSERT_ERR(analloc_set_debug(a, ANALLOC_DEBUG_POISON_FRESH, 0xDB, 0xF5), ANALLOC_OK);
    MEM_SAME(&f, "set_debug");
    for (unsigned k = 0; k <= 7; k++) {
        size_t n = page << k;
        unsigned char *p = analloc_alloc(a, n - 1);
        assert_non_null(p);
        memset(ex(&f, p), 0xF5, n);
        MEM_SAME(&f, "alloc");
        put_pattern(&f, p, n, k);
        ASSERT_ERR(analloc_free(a, p), ANALLOC_OK);
        MEM_SAME(&f, "free without POISON_FREE"); /* untouched */
        unsigned char *q = analloc_alloc(a, n);
        if (k < ANALLOC_CACHE_ORDERS)
            assert_ptr_equal(q, p); /* the cached block */
        memset(ex(&f, q), 0xF5, n);
        MEM_SAME(&f, "alloc again");
        ASSERT_ERR(analloc_free(a, q), ANALLOC_OK);
    }
    void *b[6];
    b[0] = analloc_alloc_flags(a, page * 2, ANALLOC_LOW);
    b[1] = analloc_alloc_flags(a, page * 4, ANALLOC_HIGH);
    b[2] = analloc_alloc_aligned(a, page, page * 32, 0);
    b[3] = analloc_alloc_range(a, page * 2, 0, addr(a->start) + page * 100,
                               addr(a->start) + page * 200, ANALLOC_HIGH);
    b[4] = analloc_realloc(a, NULL, page * 8);
    b[5] = analloc_alloc(a, 0);
    for (size_t i = 0; i < 6; i++) {
        assert_non_null(b[i]);
        memset(ex(&f, b[i]), 0xF5, analloc_mem_size(a, b[i]));
    }
    MEM_SAME(&f, "alloc_flags, alloc_aligned, alloc_range, realloc(NULL), alloc(0)");
    /* Both on: free_byte on free, fresh_byte on alloc. */
    ASSERT_ERR(analloc_set_debug(a, POISONS, 0x0F, 0xF0), ANALLOC_OK);
    for (size_t i = 0; i < 6; i++) {
        size_t n = analloc_mem_size(a, b[i]);
        ASSERT_ERR(analloc_free(a, b[i]), ANALLOC_OK);
        memset(ex(&f, b[i]), 0x0F, n);
    }
    MEM_SAME(&f, "free with both");
    void *c = analloc_alloc(a, page);
    assert_non_null(c);
    memset(ex(&f, c), 0xF0, page);
    MEM_SAME(&f, "alloc with both");
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    fx_fini(&f);
}

/* ---- realloc -------------------------------------------------------------- */

/* Shrinking poisons exactly the freed tail and keeps the head. */
static void test_realloc_shrink_poisons_tail(void **state)
{
    (void)state;
    const size_t page = 64;
    for (int init = 0; init <= 1; init++) {
        struct fx f;
        if (init)
            fx_init(&f, page, (size_t)32 << 10, 8);
        else
            fx_chunk(&f, page, (size_t)32 << 10, 16, 0);
        analloc_t a = &f.a;
        ASSERT_ERR(analloc_set_debug(a, POISONS, 0xAB, 0xCD), ANALLOC_OK);
        unsigned char *p = analloc_alloc(a, page * 16);
        assert_non_null(p);
        memset(ex(&f, p), 0xCD, page * 16);
        put_pattern(&f, p, page * 16, 3);
        static const size_t to[] = {page * 8, page * 5, page * 2, 1, 0};
        size_t cur = page * 16;
        for (size_t i = 0; i < sizeof to / sizeof to[0]; i++) {
            size_t n = to[i] <= page ? page : block_for(to[i], page);
            assert_ptr_equal(analloc_realloc(a, p, to[i]), p);
            assert_int_equal(analloc_mem_size(a, p), n);
            memset(ex(&f, p + n), 0xAB, cur - n);
            MEM_SAME(&f, "realloc shrink");
            cur = n;
            ASSERT_ERR(analloc_check(a), ANALLOC_OK);
        }
        /* POISON_FRESH alone: a shrink fills nothing. */
        ASSERT_ERR(analloc_set_debug(a, ANALLOC_DEBUG_POISON_FRESH, 0xAB, 0xCD), ANALLOC_OK);
        unsigned char *q = analloc_alloc(a, page * 8);
        assert_non_null(q);
        memset(ex(&f, q), 0xCD, page * 8);
        put_pattern(&f, q, page * 8, 9);
        assert_ptr_equal(analloc_realloc(a, q, page), q);
        MEM_SAME(&f, "realloc shrink without POISON_FREE");
        fx_fini(&f);
    }
}

/* Growing in place fills the new tail with fresh_byte and keeps the old
 * contents, also when the buddy that is taken over sat in the block cache
 * (realloc drains it); POISON_FREE alone fills nothing. */
static void test_realloc_grow_in_place(void **state)
{
    (void)state;
    const size_t page = 256;
    for (int init = 0; init <= 1; init++) {
        struct fx f;
        if (init)
            fx_init(&f, page, (size_t)256 << 10, 0);
        else
            fx_chunk(&f, page, (size_t)256 << 10, 300, 8);
        analloc_t a = &f.a;
        ASSERT_ERR(analloc_set_cache(a, 0), ANALLOC_OK);
        ASSERT_ERR(analloc_set_debug(a, POISONS, 0x99, 0x66), ANALLOC_OK);
        /* The lowest 16-page-aligned free block: its buddies are free. */
        unsigned char *p = analloc_alloc_aligned(a, page, page * 16, 0);
        assert_non_null(p);
        memset(ex(&f, p), 0x66, page);
        put_pattern(&f, p, page, 1);
        assert_ptr_equal(analloc_realloc(a, p, page * 2), p);
        memset(ex(&f, p + page), 0x66, page);
        MEM_SAME(&f, "grow 1 -> 2 pages");
        put_pattern(&f, p, page * 2, 2);
        assert_ptr_equal(analloc_realloc(a, p, page * 16), p);
        memset(ex(&f, p + page * 2), 0x66, page * 14);
        MEM_SAME(&f, "grow 2 -> 16 pages");
        ASSERT_ERR(analloc_check(a), ANALLOC_OK);
        ASSERT_ERR(analloc_free(a, p), ANALLOC_OK);
        memset(ex(&f, p), 0x99, page * 16);
        MEM_SAME(&f, "free");

        /* The buddy in the cache: realloc drains it and grows in place. */
        ASSERT_ERR(analloc_set_cache(a, 4), ANALLOC_OK);
        unsigned char *x = analloc_alloc_aligned(a, page, page * 16, 0);
        assert_non_null(x);
        unsigned char *y = analloc_alloc_range(a, page, 0, addr(x) + page, addr(x) + page * 2, 0);
        assert_ptr_equal(y, x + page);
        memset(ex(&f, x), 0x66, page * 2);
        put_pattern(&f, x, page, 5);
        put(&f, y, 0x12, page);
        ASSERT_ERR(analloc_free(a, y), ANALLOC_OK);
        memset(ex(&f, y), 0x99, page);
        assert_int_equal(kind_of(a, y), ANALLOC_BLOCK_CACHED);
        assert_ptr_equal(analloc_realloc(a, x, page * 2), x);
        memset(ex(&f, y), 0x66, page);
        MEM_SAME(&f, "grow over a cached buddy");
        assert_int_equal(cached_blocks(a), 0);

        /* POISON_FREE alone: the grown tail keeps what it held. */
        ASSERT_ERR(analloc_set_debug(a, ANALLOC_DEBUG_POISON_FREE, 0x99, 0x66), ANALLOC_OK);
        put(&f, x + page * 2, 0x31, page * 2); /* free memory, ours to scribble here */
        assert_ptr_equal(analloc_realloc(a, x, page * 4), x);
        MEM_SAME(&f, "grow without POISON_FRESH");
        ASSERT_ERR(analloc_check(a), ANALLOC_OK);
        fx_fini(&f);
    }
}

/* A realloc that moves: the new block holds the old contents then
 * fresh_byte, the old block is poisoned, nothing else changes. */
static void test_realloc_move_copies_and_poisons(void **state)
{
    (void)state;
    const size_t page = 64;
    for (int init = 0; init <= 1; init++) {
        struct fx f;
        if (init)
            fx_init(&f, page, (size_t)64 << 10, 16);
        else
            fx_chunk(&f, page, (size_t)64 << 10, 64, 0);
        analloc_t a = &f.a;
        ASSERT_ERR(analloc_set_debug(a, POISONS, 0xEE, 0x11), ANALLOC_OK);
        for (unsigned k = 0; k <= 3; k++) {
            size_t n = page << k;
            unsigned char *p = analloc_alloc_aligned(a, n, n * 2, 0);
            assert_non_null(p);
            unsigned char *blocker = analloc_alloc_range(a, n, 0, addr(p) + n, addr(p) + n * 2, 0);
            assert_ptr_equal(blocker, p + n);
            memset(ex(&f, p), 0x11, n);
            memset(ex(&f, blocker), 0x11, n);
            put_pattern(&f, p, n, 40 + k);
            put(&f, blocker, 0x5B, n);
            unsigned char *q = analloc_realloc(a, p, n * 4 - 7);
            assert_non_null(q);
            assert_true(q != p);
            assert_int_equal(analloc_mem_size(a, q), n * 4);
            memset(ex(&f, q), 0x11, n * 4);
            memcpy(ex(&f, q), ex(&f, p), n);
            memset(ex(&f, p), 0xEE, n);
            MEM_SAME(&f, "moving realloc");
            assert_int_equal(analloc_mem_size(a, p), 0);
            ASSERT_ERR(analloc_check(a), ANALLOC_OK);
            ASSERT_ERR(analloc_free(a, blocker), ANALLOC_OK);
            memset(ex(&f, blocker), 0xEE, n);
            ASSERT_ERR(analloc_free(a, q), ANALLOC_OK);
            memset(ex(&f, q), 0xEE, n * 4);
            MEM_SAME(&f, "free");
        }
        fx_fini(&f);
    }
}

/* ---- off ------------------------------------------------------------------- */

/* Flags 0 (after setup, and after being on): alloc, free, realloc in every
 * form and the cache leave memory exactly as the caller left it.  Setting
 * the poisoning flags fills nothing by itself either. */
static void test_flags_zero_untouched(void **state)
{
    (void)state;
    const size_t page = 32;
    for (int round = 0; round < 2; round++) {
        struct fx f;
        fx_chunk(&f, page, (size_t)16 << 10, 50, 0);
        analloc_t a = &f.a;
        if (round == 1) {
            ASSERT_ERR(analloc_set_debug(a, POISONS, 0x01, 0x02), ANALLOC_OK);
            MEM_SAME(&f, "set_debug on");
            ASSERT_ERR(analloc_set_debug(a, 0, 0x01, 0x02), ANALLOC_OK);
            assert_int_equal(TI_POISON(a), 0);
        }
        /* Scribble a different pattern over every managed page. */
        put_pattern(&f, a->start, a->managed, 77);
        unsigned char *p = analloc_alloc(a, page * 8);
        unsigned char *c = analloc_alloc(a, page); /* to the cache and back */
        assert_non_null(p);
        assert_non_null(c);
        MEM_SAME(&f, "alloc, flags 0");
        ASSERT_ERR(analloc_free(a, c), ANALLOC_OK);
        MEM_SAME(&f, "free to the cache, flags 0");
        assert_ptr_equal(analloc_alloc(a, page), c);
        MEM_SAME(&f, "alloc from the cache, flags 0");
        assert_ptr_equal(analloc_realloc(a, p, page * 2), p);
        MEM_SAME(&f, "shrink, flags 0");
        assert_ptr_equal(analloc_realloc(a, p, page * 4), p);
        MEM_SAME(&f, "grow in place, flags 0");
        unsigned char *blocker =
            analloc_alloc_range(a, page * 4, 0, addr(p) + page * 4, addr(p) + page * 8, 0);
        assert_ptr_equal(blocker, p + page * 4);
        unsigned char *q = analloc_realloc(a, p, page * 8);
        assert_non_null(q);
        assert_true(q != p);
        memcpy(ex(&f, q), ex(&f, p), page * 4); /* the copy is the only write */
        MEM_SAME(&f, "moving realloc, flags 0");
        ASSERT_ERR(analloc_free(a, q), ANALLOC_OK);
        ASSERT_ERR(analloc_free(a, blocker), ANALLOC_OK);
        ASSERT_ERR(analloc_free(a, c), ANALLOC_OK);
        analloc_drain(a);
        MEM_SAME(&f, "free and drain, flags 0");
        /* Turning poisoning on fills no block that is already free. */
        ASSERT_ERR(analloc_set_debug(a, POISONS, 0x01, 0x02), ANALLOC_OK);
        MEM_SAME(&f, "set_debug on over free memory");
        ASSERT_ERR(analloc_check(a), ANALLOC_OK);
        fx_fini(&f);
    }
}

/* ---- reserve / release ------------------------------------------------------ */

/* analloc_release never fills the pages it gives back (they may be MMIO or
 * not there yet), nor does analloc_reserve; the released pages are filled
 * when they are handed out, as any block. */
static void test_release_never_fills(void **state)
{
    (void)state;
    const size_t page = 128;
    for (int init = 0; init <= 1; init++) {
        struct fx f;
        if (init)
            fx_init(&f, page, (size_t)64 << 10, 0);
        else
            fx_chunk(&f, page, (size_t)64 << 10, 200, 0);
        analloc_t a = &f.a;
        ASSERT_ERR(analloc_set_debug(a, POISONS, 0xA0, 0xB0), ANALLOC_OK);
        unsigned char *r = (unsigned char *)a->start + page * 40; /* free pages */
        ASSERT_ERR(analloc_reserve(a, addr(r), page * 24 - 5), ANALLOC_OK);
        MEM_SAME(&f, "reserve");
        put_pattern(&f, r, page * 24, 8); /* the caller's: a device, a table */
        ASSERT_ERR(analloc_release(a, addr(r) + page * 20, page * 4), ANALLOC_OK); /* one end */
        MEM_SAME(&f, "release of one end");
        ASSERT_ERR(analloc_release(a, addr(r) + page * 5, page * 3), ANALLOC_OK); /* a middle */
        MEM_SAME(&f, "release of the middle");
        ASSERT_ERR(analloc_release(a, addr(r), page * 5), ANALLOC_OK);
        ASSERT_ERR(analloc_release(a, addr(r) + page * 8, page * 12), ANALLOC_OK);
        MEM_SAME(&f, "release of the rest");
        ASSERT_ERR(analloc_check(a), ANALLOC_OK);
        /* Handed out: filled as any block. */
        unsigned char *p = analloc_alloc_range(a, page * 8, 0, addr(r), addr(r) + page * 24, 0);
        assert_non_null(p);
        assert_true(p >= r && p + page * 8 <= r + page * 24);
        memset(ex(&f, p), 0xB0, page * 8);
        MEM_SAME(&f, "alloc of released pages");
        ASSERT_ERR(analloc_free(a, p), ANALLOC_OK);
        memset(ex(&f, p), 0xA0, page * 8);
        MEM_SAME(&f, "free of released pages");
        fx_fini(&f);
    }
}

/* ---- twin runs: metadata and the used prefix are never written --------------- */

struct live {
    unsigned char *p;
    size_t n;
};

struct twin {
    uint64_t seed;
    size_t ops;
    int debug;                  /* 0: every set_debug call passes flags 0 */
    unsigned char **meta_after; /* run 0 records, run 1 compares */
    struct analloc *struct_after;
};

/* One randomized run over f: allocations of every kind, frees, reallocs,
 * cache changes, reserve/release, set_debug changes and scribbles on live and
 * free memory, with the expected image updated by the contract and compared
 * after every call.  Records (debug off) or compares (debug on) the struct
 * and the metadata after every operation. */
static void twin_run(struct fx *f, struct twin *t)
{
    analloc_t a = &f->a;
    struct rng r = {t->seed};
    struct live lv[64];
    size_t nlive = 0;
    uintptr_t res[8][2];
    size_t nres = 0;
    unsigned flags = 0;
    unsigned char fb = 0, hb = 0;
    size_t maxn = a->managed / 8 > f->page ? a->managed / 8 : f->page;
    for (size_t op = 0; op < t->ops; op++) {
        unsigned what = (unsigned)rng_below(&r, 100);
        const char *name = "?";
        if (what < 30 && nlive < 64) {
            name = "alloc";
            size_t size = rng_below(&r, maxn) >> rng_below(&r, 8);
            unsigned how = (unsigned)rng_below(&r, 4);
            unsigned char *p;
            if (how == 0)
                p = analloc_alloc(a, size);
            else if (how == 1)
                p = analloc_alloc_flags(a, size, rng_below(&r, 2) ? ANALLOC_HIGH : ANALLOC_LOW);
            else if (how == 2)
                p = analloc_alloc_aligned(a, size, f->page << rng_below(&r, 6), 0);
            else
                p = analloc_realloc(a, NULL, size);
            if (p != NULL) {
                size_t n = analloc_mem_size(a, p);
                assert_true(n >= size && n >= f->page);
                if (flags & ANALLOC_DEBUG_POISON_FRESH)
                    memset(ex(f, p), hb, n);
                MEM_SAME(f, "alloc");
                if (rng_below(&r, 2))
                    put_pattern(f, p, n, (unsigned)op);
                lv[nlive].p = p;
                lv[nlive++].n = n;
            }
        } else if (what < 55 && nlive > 0) {
            name = "free";
            size_t i = rng_below(&r, nlive);
            ASSERT_ERR(analloc_free(a, lv[i].p), ANALLOC_OK);
            if (flags & ANALLOC_DEBUG_POISON_FREE)
                memset(ex(f, lv[i].p), fb, lv[i].n);
            MEM_SAME(f, "free");
            if (rng_below(&r, 4) == 0) /* scribble on the free block */
                put(f, lv[i].p, (unsigned char)rng_next(&r), lv[i].n);
            lv[i] = lv[--nlive];
        } else if (what < 75 && nlive > 0) {
            name = "realloc";
            size_t i = rng_below(&r, nlive);
            size_t size = rng_below(&r, maxn) >> rng_below(&r, 6);
            unsigned char *old = lv[i].p;
            size_t on = lv[i].n;
            unsigned char *p = analloc_realloc(a, old, size);
            if (p == NULL) {
                assert_int_equal(analloc_mem_size(a, old), on);
            } else {
                size_t n = analloc_mem_size(a, p);
                if (p == old && n < on) {
                    if (flags & ANALLOC_DEBUG_POISON_FREE)
                        memset(ex(f, p + n), fb, on - n);
                } else if (p == old && n > on) {
                    if (flags & ANALLOC_DEBUG_POISON_FRESH)
                        memset(ex(f, p + on), hb, n - on);
                } else if (p != old) {
                    assert_true(n > on);
                    if (flags & ANALLOC_DEBUG_POISON_FRESH)
                        memset(ex(f, p), hb, n);
                    memcpy(ex(f, p), ex(f, old), on);
                    if (flags & ANALLOC_DEBUG_POISON_FREE)
                        memset(ex(f, old), fb, on);
                }
                lv[i].p = p;
                lv[i].n = n;
            }
            MEM_SAME(f, "realloc");
        } else if (what < 80) {
            name = "set_debug";
            unsigned want = (unsigned)rng_below(&r, 4);
            unsigned char b1 = (unsigned char)rng_next(&r), b2 = (unsigned char)rng_next(&r);
            flags = t->debug ? want : 0;
            fb = b1;
            hb = b2;
            ASSERT_ERR(analloc_set_debug(a, flags, fb, hb), ANALLOC_OK);
            MEM_SAME(f, "set_debug");
        } else if (what < 84) {
            name = "cache";
            if (rng_below(&r, 2))
                analloc_drain(a);
            else
                ASSERT_ERR(analloc_set_cache(a, (unsigned)rng_below(&r, ANALLOC_CACHE_MAX + 1)),
                           ANALLOC_OK);
            MEM_SAME(f, "drain / set_cache");
        } else if (what < 90 && nres < 8) {
            name = "reserve";
            size_t pages = a->managed / f->page;
            uintptr_t at = addr(a->start) + rng_below(&r, pages) * f->page;
            size_t len = (rng_below(&r, 8) + 1) * f->page;
            if (at + len <= addr(a->start) + a->managed &&
                analloc_reserve(a, at, len) == ANALLOC_OK) {
                res[nres][0] = at;
                res[nres++][1] = len;
                if (rng_below(&r, 2))
                    put(f, ptr_at(at), (unsigned char)rng_next(&r), len);
            }
            MEM_SAME(f, "reserve");
        } else if (what < 95 && nres > 0) {
            name = "release";
            size_t i = rng_below(&r, nres);
            ASSERT_ERR(analloc_release(a, res[i][0], res[i][1]), ANALLOC_OK);
            MEM_SAME(f, "release");
            res[i][0] = res[--nres][0];
            res[i][1] = res[nres][1];
        } else if (nlive > 0) {
            name = "scribble";
            size_t i = rng_below(&r, nlive);
            put_pattern(f, lv[i].p, lv[i].n, (unsigned)rng_next(&r));
        }
        (void)name;
        if (op % 16 == 0)
            ASSERT_ERR(analloc_check(a), ANALLOC_OK);
        if (!t->debug) {
            t->meta_after[op] = malloc(ti_meta_bytes(a));
            assert_non_null(t->meta_after[op]);
            memcpy(t->meta_after[op], ti_meta(a), ti_meta_bytes(a));
            memcpy(&t->struct_after[op], a, sizeof *a);
        } else {
            struct analloc s;
            memcpy(&s, a, sizeof s);
            /* The fields the debug setting changes: the setting itself, and
             * the set-up mark's mode bit (the debug aids turn the inline paths
             * of alloc and free off). */
            TI_POISON(&s) = 0;
            TI_MAGIC(&s) = TI_MAGIC(&t->struct_after[op]);
            if (memcmp(&s, &t->struct_after[op], sizeof s) != 0 ||
                memcmp(t->meta_after[op], ti_meta(a), ti_meta_bytes(a)) != 0)
                FAILF("seed %llu op %zu (%s): struct or metadata differ from the run with the "
                      "debug aids off\n",
                      (unsigned long long)t->seed, op, name);
        }
    }
    while (nlive > 0) {
        ASSERT_ERR(analloc_free(a, lv[nlive - 1].p), ANALLOC_OK);
        if (flags & ANALLOC_DEBUG_POISON_FREE)
            memset(ex(f, lv[nlive - 1].p), fb, lv[nlive - 1].n);
        nlive--;
    }
    MEM_SAME(f, "final frees");
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
}

static void twin_case(int init, size_t page, size_t total, size_t used, size_t offset,
                      uint64_t salt)
{
    struct twin t;
    t.seed = g_seed ^ (salt * 0x9E3779B97F4A7C15ull);
    t.ops = g_quick ? 300 : 1500;
    t.meta_after = calloc(t.ops, sizeof *t.meta_after);
    t.struct_after = calloc(t.ops, sizeof *t.struct_after);
    assert_non_null(t.meta_after);
    assert_non_null(t.struct_after);
    struct fx f;
    if (init)
        fx_init(&f, page, total, offset);
    else
        fx_chunk(&f, page, total, used, offset);
    t.debug = 0;
    twin_run(&f, &t);
    /* The same chunk again, from scratch: the same addresses, the same
     * decisions, now with fills. */
    unsigned char *raw = f.raw, *metaraw = f.metaraw, *expect = f.expect;
    memset(raw, GUARD_BYTE, f.rawlen);
    memset(&f.a, 0, sizeof f.a); /* padding as in the first run */
    for (size_t i = 0; i < used && !init; i++)
        f.chunk[i] = (unsigned char)(0x40u + i * 7u);
    if (init) {
        memset(metaraw, META_GUARD_BYTE, f.metalen);
        ASSERT_ERR(analloc_init(&f.a, f.chunk, total, page, metaraw + GUARD,
                                f.metalen - 2 * GUARD),
                   ANALLOC_OK);
    } else {
        ASSERT_ERR(analloc_with_chunk(&f.a, f.chunk, total, used, page), ANALLOC_OK);
    }
    memcpy(expect, raw, f.rawlen);
    t.debug = 1;
    twin_run(&f, &t);
    for (size_t i = 0; i < t.ops; i++)
        free(t.meta_after[i]);
    free(t.meta_after);
    free(t.struct_after);
    fx_fini(&f);
}

/* Random operations with the poisoning on match, call for call, a run with it
 * off: the struct and the metadata (inside the chunk, or in its own buffer)
 * are byte for byte the same, so no fill ever lands in them, and the fills
 * change no decision; the used prefix, the slack before the first page and
 * the guards around the chunk and the metadata buffer never change. */
static void test_twin_runs_metadata_untouched(void **state)
{
    (void)state;
    twin_case(0, 64, (size_t)64 << 10, 100, 0, 1);
    twin_case(0, 1, (size_t)4 << 10, 3, 5, 2);     /* one-byte pages, odd prefix */
    twin_case(0, 8, (size_t)8 << 10, 0, 8, 3);     /* no prefix */
    twin_case(0, 4096, (size_t)256 << 10, 4000, 0, 4);
    twin_case(1, 64, (size_t)64 << 10, 0, 0, 5);
    twin_case(1, 16, (size_t)16 << 10, 0, 24, 6);  /* base not page-aligned */
}

/* ---- bad input -------------------------------------------------------------- */

static unsigned g_locks, g_unlocks;
static void count_lock(void *ctx)
{
    (void)ctx;
    g_locks++;
}
static void count_unlock(void *ctx)
{
    (void)ctx;
    g_unlocks++;
}

/* A refused call changes nothing: struct and metadata byte for byte, the
 * chunk, the debug setting in force (the old fill bytes keep being used),
 * no lock taken, the error hook not called. */
static void expect_refused(struct fx *f, unsigned flags, unsigned char b1, unsigned char b2,
                           struct hook_log *hl)
{
    struct snap sn;
    snap_take(&sn, &f->a);
    unsigned locks = g_locks, unlocks = g_unlocks;
    size_t calls = hl->calls;
    ASSERT_ERR(analloc_set_debug(&f->a, flags, b1, b2), ANALLOC_EINVAL);
    SNAP_SAME(&sn, &f->a, "refused analloc_set_debug");
    MEM_SAME(f, "refused analloc_set_debug");
    assert_int_equal(g_locks, locks);
    assert_int_equal(g_unlocks, unlocks);
    assert_int_equal(hl->calls, calls);
    snap_free(&sn);
}

/* Unknown flag bits, alone or with valid ones, and ANALLOC_DEBUG_ANNOTATE in
 * a build without ANALLOC_ANNOTATE: EINVAL, nothing changed, the setting in
 * force stays (with the debug aids off, and on). */
static void test_set_debug_bad_flags(void **state)
{
    (void)state;
    static const unsigned bad[] = {
        0x8u, 0x10u, 0x80u, 0x100u, 0x8000u, 0x10000u, 0x80000000u, ~0u,
        ~(unsigned)ALL_DEBUG, ANALLOC_DEBUG_POISON_FREE | 0x8u,
        POISONS | 0x40000000u, ALL_DEBUG | 0x8u,
#if !defined(ANALLOC_ANNOTATE)
        ANALLOC_DEBUG_ANNOTATE, ANALLOC_DEBUG_ANNOTATE | ANALLOC_DEBUG_POISON_FREE,
        ANALLOC_DEBUG_ANNOTATE | ANALLOC_DEBUG_POISON_FRESH, ALL_DEBUG,
#endif
    };
    for (int init = 0; init <= 1; init++) {
        struct fx f;
        struct hook_log hl = {0, 0, NULL};
        if (init)
            fx_init(&f, 64, (size_t)16 << 10, 0);
        else
            fx_chunk(&f, 64, (size_t)16 << 10, 64, 0);
        analloc_t a = &f.a;
        analloc_set_error_hook(a, hook_record, &hl);
        ASSERT_ERR(analloc_set_lock(a, count_lock, count_unlock, NULL), ANALLOC_OK);
        unsigned char *live = analloc_alloc(a, 64 * 4);
        unsigned char *cached = analloc_alloc(a, 64);
        assert_non_null(live);
        assert_non_null(cached);
        put_pattern(&f, live, 64 * 4, 1);
        ASSERT_ERR(analloc_free(a, cached), ANALLOC_OK); /* one block in the cache */
        for (int on = 0; on <= 1; on++) {
            if (on)
                ASSERT_ERR(analloc_set_debug(a, POISONS, 0x5E, 0xE5), ANALLOC_OK);
            for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                expect_refused(&f, bad[i], 0x11, 0x22, &hl);
            /* The setting in force is still the old one. */
            unsigned char *p = analloc_alloc(a, 64 * 2);
            assert_non_null(p);
            if (on)
                memset(ex(&f, p), 0xE5, 64 * 2);
            MEM_SAME(&f, "alloc after refusals");
            ASSERT_ERR(analloc_free(a, p), ANALLOC_OK);
            if (on)
                memset(ex(&f, p), 0x5E, 64 * 2);
            MEM_SAME(&f, "free after refusals");
        }
        assert_int_equal(g_locks, g_unlocks);
        assert_int_equal(hl.calls, 0);
        ASSERT_ERR(analloc_check(a), ANALLOC_OK);
        fx_fini(&f);
    }
#if defined(ANALLOC_ANNOTATE)
    print_message("built with ANALLOC_ANNOTATE: ANALLOC_DEBUG_ANNOTATE refusals skipped\n");
#endif
}

/* NULL and never-set-up allocators (zeroed, pattern-filled, and one whose
 * setup failed): EINVAL, the struct unchanged. */
static void test_set_debug_null_and_unset(void **state)
{
    (void)state;
    ASSERT_ERR(analloc_set_debug(NULL, 0, 0, 0), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_set_debug(NULL, ANALLOC_DEBUG_POISON_FREE, 0xAA, 0xBB), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_set_debug(NULL, ~0u, 0xAA, 0xBB), ANALLOC_EINVAL);
    static const unsigned flags[] = {0, ANALLOC_DEBUG_POISON_FREE, ANALLOC_DEBUG_POISON_FRESH,
                                     POISONS, ANALLOC_DEBUG_ANNOTATE, ~0u};
    for (int fill = 0; fill < 3; fill++) {
        struct analloc a, before;
        memset(&a, fill == 1 ? 0xA5 : 0, sizeof a);
        if (fill == 2) { /* a refused setup leaves it unset */
            unsigned char buf[64];
            ASSERT_ERR(analloc_with_chunk(&a, buf, sizeof buf, 0, 3), ANALLOC_EINVAL);
        }
        memcpy(&before, &a, sizeof a);
        for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
            ASSERT_ERR(analloc_set_debug(&a, flags[i], 0x12, 0x34), ANALLOC_EINVAL);
            assert_memory_equal(&a, &before, sizeof a);
        }
    }
}

/* Valid settings: every combination is accepted, flags 0 clears the fill
 * bytes too, and set_debug balances the lock hooks. */
static void test_set_debug_valid(void **state)
{
    (void)state;
    struct fx f;
    fx_chunk(&f, 64, (size_t)8 << 10, 0, 0);
    analloc_t a = &f.a;
    assert_int_equal(TI_POISON(a), 0); /* off after setup */
    ASSERT_ERR(analloc_set_lock(a, count_lock, count_unlock, NULL), ANALLOC_OK);
    unsigned locks = g_locks;
    for (unsigned fl = 0; fl <= POISONS; fl++) {
        ASSERT_ERR(analloc_set_debug(a, fl, 0xFF, 0x00), ANALLOC_OK);
        assert_int_equal(TI_POISON(a) != 0, fl != 0);
        MEM_SAME(&f, "set_debug");
    }
    assert_true(g_locks > locks);
    assert_int_equal(g_locks, g_unlocks);
    ASSERT_ERR(analloc_set_debug(a, 0, 0xFF, 0xEE), ANALLOC_OK);
    assert_int_equal(TI_POISON(a), 0);
    /* Fill bytes 0x00 and 0xFF are ordinary bytes. */
    ASSERT_ERR(analloc_set_debug(a, POISONS, 0x00, 0xFF), ANALLOC_OK);
    unsigned char *p = analloc_alloc(a, 64 * 2);
    assert_non_null(p);
    memset(ex(&f, p), 0xFF, 64 * 2);
    MEM_SAME(&f, "alloc, fresh 0xFF");
    ASSERT_ERR(analloc_free(a, p), ANALLOC_OK);
    memset(ex(&f, p), 0x00, 64 * 2);
    MEM_SAME(&f, "free, free byte 0x00");
    fx_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_free_poisons_block),
        cmocka_unit_test(test_alloc_fills_fresh),
        cmocka_unit_test(test_realloc_shrink_poisons_tail),
        cmocka_unit_test(test_realloc_grow_in_place),
        cmocka_unit_test(test_realloc_move_copies_and_poisons),
        cmocka_unit_test(test_flags_zero_untouched),
        cmocka_unit_test(test_release_never_fills),
        cmocka_unit_test(test_twin_runs_metadata_untouched),
        cmocka_unit_test(test_set_debug_bad_flags),
        cmocka_unit_test(test_set_debug_null_and_unset),
        cmocka_unit_test(test_set_debug_valid),
    };
    g_seed = seed_from_env();
    g_quick = quick_from_env();
    printf("test_debug: seed %llu (replay with ANALLOC_SEED=%llu)%s\n",
           (unsigned long long)g_seed, (unsigned long long)g_seed, g_quick ? ", quick" : "");
    fflush(stdout);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
