/*
 * test_stores.c - the per-CPU stores (include/analloc.h, "Per-CPU stores")
 * from one thread: what a store hands out and in which order, where a freed
 * block goes, the batch moves, giving stores back before an allocation
 * fails, detaching, the cache's switch, analloc_check over the stores, and
 * every bad input with its error and nothing changed.  Several threads at
 * once: tests/test_threads.c; every result against the model:
 * tests/test_model.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analloc.h"
#include "testutil.h"
#include "testcheck.h"

#define PAGE 4096u

/* An allocator over `pages` pages of never-touched addresses (stores must
 * not touch managed memory), its metadata on the heap. */
struct arena {
    struct analloc a;
    void *meta;
    uintptr_t base;
    struct checked_hook hook;
};

static void arena_init(struct arena *t, size_t pages)
{
    size_t bytes = pages * PAGE, msize = analloc_meta_size(bytes, PAGE);
    t->meta = malloc(msize);
    assert_non_null(t->meta);
    t->base = fake_base(bytes, bytes);
    ASSERT_ERR(analloc_init(&t->a, (void *)t->base, bytes, PAGE, t->meta, msize), ANALLOC_OK);
    memset(&t->hook, 0, sizeof t->hook);
    t->hook.magic = HOOK_MAGIC;
    analloc_set_error_hook(&t->a, checked_hook_record, &t->hook);
}

static void arena_fini(struct arena *t)
{
    ASSERT_ERR(analloc_check(&t->a), ANALLOC_OK);
    free(t->meta);
}

static uintptr_t page_no(const struct arena *t, const void *p)
{
    return ((uintptr_t)p - t->base) / PAGE;
}

/* Does this build keep blocks in stores (64-bit targets with atomics)?
 * Elsewhere the per-CPU calls are the allocator's own: the tests of what a
 * store keeps check that instead. */
static bool build_has_stores(const struct analloc *a)
{
    struct analloc_stats st;
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(a, &st), ANALLOC_OK);
    return st.cpu_stores != 0;
}

static size_t stored(const struct analloc *a)
{
    struct analloc_stats st;
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(a, &st), ANALLOC_OK);
    return st.cached_blocks;
}

/* A bad call through a store: the error, the hook heard it, nothing changed. */
static void bad_free(struct arena *t, struct analloc_cpu *c, void *p, int want)
{
    struct snap sn;
    size_t calls = t->hook.calls;
    snap_take(&sn, &t->a);
    ASSERT_ERR(analloc_cpu_free(c, p), want);
    SNAP_SAME(&sn, &t->a, "a refused free through a store");
    snap_free(&sn);
    assert_int_equal(t->hook.calls, calls + 1u);
    assert_int_equal(t->hook.error, want);
    assert_ptr_equal(t->hook.ptr, p);
    ASSERT_ERR(analloc_check(&t->a), ANALLOC_OK);
}

/* A relax hook that counts its calls (ctx: an unsigned, or NULL). */
static void relax_count(void *ctx)
{
    if (ctx != NULL)
        (*(unsigned *)ctx)++;
}

static void test_store_bad_calls(void **state)
{
    struct arena t;
    struct analloc never;
    struct analloc_cpu c, d, zero;
    struct snap sn;
    (void)state;
    arena_init(&t, 256);
    memset(&never, 0, sizeof never);
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    memset(&zero, 0, sizeof zero);
    memset(&c, 0x5a, sizeof c); /* what a refused attach must leave as it is */
    struct analloc_cpu pattern = c;
    snap_take(&sn, &t.a);
    ASSERT_ERR(analloc_cpu_attach(NULL, &c), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_cpu_attach(&never, &c), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_cpu_attach(&t.a, NULL), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_cpu_detach(NULL), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_cpu_detach(&zero), ANALLOC_EINVAL);
    assert_null(analloc_cpu_alloc(NULL, PAGE));
    assert_null(analloc_cpu_alloc(&zero, PAGE));
    ASSERT_ERR(analloc_cpu_free(NULL, (void *)t.base), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_cpu_free(&zero, (void *)t.base), ANALLOC_EINVAL);
    analloc_cpu_drain(NULL);
    analloc_cpu_drain(&zero);
    ASSERT_ERR(analloc_cpu_free(&zero, NULL), ANALLOC_EINVAL); /* not attached wins over NULL */
    ASSERT_ERR(analloc_set_relax(NULL, relax_count, NULL), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_set_relax(&never, relax_count, NULL), ANALLOC_EINVAL);
    SNAP_SAME(&sn, &t.a, "calls with a NULL or unattached store");
    snap_free(&sn);
    assert_memory_equal(&c, &pattern, sizeof c);
    memset(&c, 0, sizeof c);

    ASSERT_ERR(analloc_cpu_attach(&t.a, &c), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &d), ANALLOC_OK);
    snap_take(&sn, &t.a);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &c), ANALLOC_EBUSY);
    if (build_has_stores(&t.a)) {
        ASSERT_ERR(analloc_set_cache(&t.a, 8), ANALLOC_EBUSY);
        ASSERT_ERR(analloc_set_relax(&t.a, relax_count, NULL), ANALLOC_EBUSY);
    }
    SNAP_SAME(&sn, &t.a, "attaching an attached store, set_cache and set_relax with stores");
    snap_free(&sn);
    ASSERT_ERR(analloc_cpu_free(&c, NULL), ANALLOC_OK);

    char *p = analloc_cpu_alloc(&c, PAGE), *q = analloc_cpu_alloc(&c, 4 * PAGE);
    char *big = analloc_cpu_alloc(&c, 64 * PAGE); /* order 6: the store's shortest list */
    assert_non_null(p);
    assert_non_null(q);
    assert_non_null(big);
    bad_free(&t, &c, p + 1, ANALLOC_EALIGN);
    bad_free(&t, &c, q + PAGE, ANALLOC_EINTERIOR);
    bad_free(&t, &c, big + PAGE, ANALLOC_EINTERIOR);
    bad_free(&t, &c, (char *)t.base + 256 * PAGE, ANALLOC_ERANGE);
    bad_free(&t, &c, (char *)t.base + 200 * PAGE, ANALLOC_EFREE); /* free in the buddy system */
    ASSERT_ERR(analloc_cpu_free(&c, p), ANALLOC_OK);
    bad_free(&t, &c, p, ANALLOC_EFREE); /* in this store */
    bad_free(&t, &d, p, ANALLOC_EFREE); /* in another store */
    assert_int_equal(analloc_free(&t.a, p), ANALLOC_EFREE);
    assert_int_equal(analloc_mem_size(&t.a, p), 0);
    assert_null(analloc_realloc(&t.a, p, 2 * PAGE));
    ASSERT_ERR(analloc_cpu_free(&d, q), ANALLOC_OK);
    bad_free(&t, &c, q, ANALLOC_EFREE);
    ASSERT_ERR(analloc_cpu_free(&d, big), ANALLOC_OK);
    bad_free(&t, &d, big, ANALLOC_EFREE);

    ASSERT_ERR(analloc_cpu_detach(&c), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_detach(&c), ANALLOC_EINVAL);
    assert_null(analloc_cpu_alloc(&c, PAGE));
    ASSERT_ERR(analloc_cpu_free(&c, p), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_cpu_detach(&d), ANALLOC_OK);
    assert_int_equal(analloc_free_bytes(&t.a), 256 * PAGE);
    /* with stores, the cache stays off until it is set again; without,
     * it was never touched */
    struct analloc_stats st;
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(&t.a, &st), ANALLOC_OK);
    assert_int_equal(st.cache_slots, st.cpu_stores ? 0u : 128u);
    ASSERT_ERR(analloc_set_cache(&t.a, 8), ANALLOC_OK);
    arena_fini(&t);
}

/* An empty list takes a batch: the lowest blocks, handed out lowest first;
 * a free goes to the freeing store and comes back first. */
static void test_store_batches_and_order(void **state)
{
    struct arena t;
    struct analloc_cpu c, d;
    void *p[40];
    (void)state;
    arena_init(&t, 1024);
    if (!build_has_stores(&t.a)) { /* the calls are analloc_alloc's and analloc_free's */
        print_message("no per-CPU stores in this build: %s skipped\n", __func__);
        arena_fini(&t);
        return;
    }
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &c), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &d), ANALLOC_OK);
    for (unsigned i = 0; i < 2 * ANALLOC_CPU_BATCH(0); i++) {
        p[i] = analloc_cpu_alloc(&c, PAGE);
        assert_non_null(p[i]);
        assert_int_equal(page_no(&t, p[i]), i); /* lowest first, batch after batch */
        assert_int_equal(stored(&t.a), (ANALLOC_CPU_BATCH(0) - 1u) - i % ANALLOC_CPU_BATCH(0));
    }
    /* two pages: the lowest fitting blocks, as analloc_alloc would */
    void *two = analloc_cpu_alloc(&d, 2 * PAGE);
    assert_int_equal(page_no(&t, two), 2 * ANALLOC_CPU_BATCH(0));
    assert_int_equal(analloc_mem_size(&t.a, two), 2 * PAGE);
    /* freed on d, allocated again on d (newest first), never on c */
    ASSERT_ERR(analloc_cpu_free(&d, p[3]), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_free(&d, p[7]), ANALLOC_OK);
    void *x = analloc_cpu_alloc(&c, PAGE);
    assert_true(x != p[3] && x != p[7]);
    assert_ptr_equal(analloc_cpu_alloc(&d, PAGE), p[7]);
    assert_ptr_equal(analloc_cpu_alloc(&d, PAGE), p[3]);
    ASSERT_ERR(analloc_check(&t.a), ANALLOC_OK);
    /* a full list gives its ANALLOC_CPU_BATCH(0) oldest back, merging */
    analloc_cpu_drain(&c);
    analloc_cpu_drain(&d);
    assert_int_equal(stored(&t.a), 0);
    for (unsigned i = 0; i < ANALLOC_CPU_CAP(0); i++)
        ASSERT_ERR(analloc_cpu_free(&d, p[i]), ANALLOC_OK);
    assert_int_equal(stored(&t.a), ANALLOC_CPU_CAP(0));
    ASSERT_ERR(analloc_cpu_free(&d, x), ANALLOC_OK);
    assert_int_equal(stored(&t.a), ANALLOC_CPU_CAP(0) - ANALLOC_CPU_BATCH(0) + 1u);
    for (unsigned i = 0; i < ANALLOC_CPU_BATCH(0); i++) /* the oldest: merged, free */
        assert_int_equal(analloc_free(&t.a, p[i]), ANALLOC_EFREE);
    for (unsigned i = ANALLOC_CPU_BATCH(0); i < ANALLOC_CPU_CAP(0); i++) /* kept */
        assert_ptr_equal(analloc_cpu_alloc(&d, PAGE), i == ANALLOC_CPU_BATCH(0) ? x : p[ANALLOC_CPU_CAP(0) + ANALLOC_CPU_BATCH(0) - i]);
    ASSERT_ERR(analloc_check(&t.a), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_detach(&c), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_detach(&d), ANALLOC_OK);
    arena_fini(&t);
}

/* An allocation that finds no block gives every store back first: through a
 * store, through analloc_alloc and analloc_alloc_range; the walk and the
 * stats count stored blocks as cached. */
static int count_cached(void *ctx, void *block, size_t bytes, unsigned kind)
{
    (void)block;
    if (kind == ANALLOC_BLOCK_CACHED)
        *(size_t *)ctx += bytes / PAGE;
    return 0;
}

static void test_store_gives_back_before_failing(void **state)
{
    struct arena t;
    struct analloc_cpu c, d;
    size_t pages = 0;
    (void)state;
    arena_init(&t, 32);
    if (!build_has_stores(&t.a)) { /* the calls are analloc_alloc's and analloc_free's */
        print_message("no per-CPU stores in this build: %s skipped\n", __func__);
        arena_fini(&t);
        return;
    }
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &c), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &d), ANALLOC_OK);
    void *p = analloc_cpu_alloc(&c, PAGE), *q = analloc_cpu_alloc(&d, 2 * PAGE);
    assert_non_null(p);
    assert_non_null(q); /* c holds 15 pages, d the other 7 blocks of two: 30 of 32 handed out */
    ASSERT_ERR(analloc_walk(&t.a, ANALLOC_BLOCK_ALL, count_cached, &pages), 0);
    assert_int_equal(pages, 15 + 14);
    assert_int_equal(stored(&t.a), 15 + 7);
    ASSERT_ERR(analloc_cpu_free(&c, p), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_free(&c, q), ANALLOC_OK);
    void *all = analloc_alloc(&t.a, 32 * PAGE); /* every store given back, merged */
    assert_ptr_equal(all, (void *)t.base);
    assert_int_equal(stored(&t.a), 0);
    ASSERT_ERR(analloc_free(&t.a, all), ANALLOC_OK);
    p = analloc_cpu_alloc(&c, PAGE);
    q = analloc_alloc_range(&t.a, 16 * PAGE, 0, 0, UINTPTR_MAX, ANALLOC_HIGH);
    assert_ptr_equal(q, (char *)t.base + 16 * PAGE);
    ASSERT_ERR(analloc_free(&t.a, q), ANALLOC_OK);
    q = analloc_cpu_alloc(&d, 16 * PAGE); /* order 4: not a store's; c holds 15 pages */
    assert_ptr_equal(q, (char *)t.base + 16 * PAGE);
    void *r = analloc_cpu_alloc(&d, 8 * PAGE); /* order 3: d refills, c gives back */
    assert_ptr_equal(r, (char *)t.base + 8 * PAGE);
    ASSERT_ERR(analloc_free(&t.a, p), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_free(&c, q), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_free(&c, r), ANALLOC_OK);
    /* reserving a page of a stored block gives the stores back first */
    p = analloc_cpu_alloc(&d, PAGE);
    ASSERT_ERR(analloc_cpu_free(&d, p), ANALLOC_OK);
    assert_true(stored(&t.a) > 0);
    ASSERT_ERR(analloc_reserve(&t.a, (uintptr_t)p, PAGE), ANALLOC_OK);
    assert_int_equal(stored(&t.a), 0);
    ASSERT_ERR(analloc_check(&t.a), ANALLOC_OK);
    ASSERT_ERR(analloc_release(&t.a, (uintptr_t)p, PAGE), ANALLOC_OK);
    analloc_drain(&t.a); /* gives the stores back too */
    assert_int_equal(stored(&t.a), 0);
    assert_int_equal(analloc_largest_free(&t.a), 32 * PAGE);
    ASSERT_ERR(analloc_cpu_detach(&d), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_detach(&c), ANALLOC_OK);
    arena_fini(&t);
}

/* analloc_check verifies each store: a broken field or slot of any store is
 * ANALLOC_ECORRUPT, and the check is happy again once it is put back. */
static void test_store_check_corruption(void **state)
{
    struct arena t;
    struct analloc_cpu c, d;
    size_t bad = 0;
    (void)state;
    arena_init(&t, 512);
    if (!build_has_stores(&t.a)) { /* the calls are analloc_alloc's and analloc_free's */
        print_message("no per-CPU stores in this build: %s skipped\n", __func__);
        arena_fini(&t);
        return;
    }
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &c), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &d), ANALLOC_OK);
    void *p = analloc_cpu_alloc(&d, PAGE), *q = analloc_cpu_alloc(&d, 2 * PAGE);
    ASSERT_ERR(analloc_cpu_free(&c, p), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_free(&c, q), ANALLOC_OK);
    ASSERT_ERR(analloc_check(&t.a), ANALLOC_OK);
    unsigned char *bytes = (unsigned char *)&c.internal;
    /* every byte of c's internals but the lock (a lock, not state) */
    for (size_t i = 0; i < sizeof c.internal; i++) {
        if (i >= offsetof(struct analloc_cpu_internal, lock) &&
            i < offsetof(struct analloc_cpu_internal, lock) + sizeof c.internal.lock)
            continue;
        if (i >= offsetof(struct analloc_cpu_internal, next) &&
            i < offsetof(struct analloc_cpu_internal, next) + sizeof c.internal.next)
            continue; /* a pointer: followed, like the hooks (the list's first is checked) */
        unsigned char was = bytes[i];
        bytes[i] ^= 0x01;
        int r = analloc_check(&t.a);
        bytes[i] = was;
        if (r != ANALLOC_ECORRUPT) {
            print_error("store byte %zu flipped: check returned %d\n", i, r);
            bad++;
        }
        ASSERT_ERR(analloc_check(&t.a), ANALLOC_OK);
    }
    assert_int_equal(bad, 0);
    c.a = NULL;
    ASSERT_ERR(analloc_check(&t.a), ANALLOC_ECORRUPT);
    c.a = &t.a;
    ASSERT_ERR(analloc_cpu_detach(&c), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_detach(&d), ANALLOC_OK);
    arena_fini(&t);
}

/* A refused free changes nothing even when the list it would go to is
 * full (the spill comes after the checks); a small arena's top-order block
 * (no split ancestor) is kept like any other. */
static void test_store_full_list_and_small_arena(void **state)
{
    struct arena t, u;
    struct analloc_cpu c, d, e;
    void *p[ANALLOC_CPU_CAP(0) + 1];
    (void)state;
    arena_init(&t, 256);
    if (!build_has_stores(&t.a)) {
        print_message("no per-CPU stores in this build: %s skipped\n", __func__);
        arena_fini(&t);
        return;
    }
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &c), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &d), ANALLOC_OK);
    for (unsigned i = 0; i <= ANALLOC_CPU_CAP(0); i++)
        p[i] = analloc_alloc(&t.a, PAGE);
    for (unsigned i = 0; i < ANALLOC_CPU_CAP(0); i++)
        ASSERT_ERR(analloc_cpu_free(&c, p[i]), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_free(&d, p[ANALLOC_CPU_CAP(0)]), ANALLOC_OK);
    bad_free(&t, &c, p[ANALLOC_CPU_CAP(0)], ANALLOC_EFREE); /* c's list is full: no spill */
    bad_free(&t, &c, p[0], ANALLOC_EFREE);
    assert_int_equal(stored(&t.a), ANALLOC_CPU_CAP(0) + 1u);
    ASSERT_ERR(analloc_cpu_detach(&c), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_detach(&d), ANALLOC_OK);
    arena_fini(&t);

    arena_init(&u, 4); /* depth 2: the block of 4 pages is a root */
    memset(&e, 0, sizeof e);
    ASSERT_ERR(analloc_cpu_attach(&u.a, &e), ANALLOC_OK);
    void *q = analloc_cpu_alloc(&e, 4 * PAGE);
    assert_ptr_equal(q, (void *)u.base);
    ASSERT_ERR(analloc_cpu_free(&e, q), ANALLOC_OK);
    assert_int_equal(stored(&u.a), 1); /* kept */
    bad_free(&u, &e, q, ANALLOC_EFREE);
    assert_ptr_equal(analloc_cpu_alloc(&e, 4 * PAGE), q);
    ASSERT_ERR(analloc_cpu_free(&e, q), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_detach(&e), ANALLOC_OK);
    arena_fini(&u);
}

/* The paths around the stores: a reserved range or debug fills send a
 * store's free to analloc_free; large blocks are the allocator's; a request
 * that even every stored page could not hold fails without taking the
 * stores back (as the cache is not merged for it). */
static void test_store_side_paths(void **state)
{
    struct arena t;
    struct analloc_cpu c;
    (void)state;
    arena_init(&t, 1024);
    if (!build_has_stores(&t.a)) {
        print_message("no per-CPU stores in this build: %s skipped\n", __func__);
        arena_fini(&t);
        return;
    }
    memset(&c, 0, sizeof c);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &c), ANALLOC_OK);
    void *big = analloc_cpu_alloc(&c, 256 * PAGE); /* order 8: not a store's */
    void *p = analloc_cpu_alloc(&c, PAGE), *q = analloc_cpu_alloc(&c, PAGE);
    assert_non_null(big);
    size_t held = stored(&t.a);
    assert_int_equal(held, ANALLOC_CPU_BATCH(0) - 2u);
    /* too large for the free and stored pages together: NULL, stores kept */
    assert_null(analloc_alloc(&t.a, 1024 * PAGE));
    assert_null(analloc_cpu_alloc(&c, 1024 * PAGE));
    assert_null(analloc_alloc_range(&t.a, 1024 * PAGE, 0, 0, UINTPTR_MAX, ANALLOC_LOW));
    assert_null(analloc_realloc(&t.a, big, 1024 * PAGE));
    assert_int_equal(stored(&t.a), held);
    ASSERT_ERR(analloc_free(&t.a, big), ANALLOC_OK); /* a large block, stores attached */
    /* a reserved range: a store's free is analloc_free's (it merges) */
    ASSERT_ERR(analloc_reserve(&t.a, t.base + 200 * PAGE, PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_free(&c, p), ANALLOC_OK);
    assert_int_equal(stored(&t.a), held);
    assert_int_equal(analloc_free(&t.a, p), ANALLOC_EFREE);
    ASSERT_ERR(analloc_release(&t.a, t.base + 200 * PAGE, PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_free(&c, q), ANALLOC_OK);
    assert_int_equal(stored(&t.a), held + 1u);
    ASSERT_ERR(analloc_cpu_detach(&c), ANALLOC_OK);
    arena_fini(&t);

    /* debug fills (real memory): allocations and frees are the allocator's */
    struct analloc r;
    struct analloc_cpu d;
    unsigned char *mem = xalloc_aligned(PAGE, 64 * PAGE);
    ASSERT_ERR(analloc_with_chunk(&r, mem, 64 * PAGE, 0, PAGE), ANALLOC_OK);
    memset(&d, 0, sizeof d);
    ASSERT_ERR(analloc_cpu_attach(&r, &d), ANALLOC_OK);
    ASSERT_ERR(analloc_set_debug(&r, ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH, 0xdd, 0xaa), ANALLOC_OK);
    unsigned char *x = analloc_cpu_alloc(&d, PAGE);
    assert_non_null(x);
    assert_int_equal(x[0], 0xaa);
    ASSERT_ERR(analloc_cpu_free(&d, x), ANALLOC_OK);
    assert_int_equal(x[0], 0xdd);
    assert_int_equal(stored(&r), 0);
    ASSERT_ERR(analloc_set_debug(&r, 0, 0, 0), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_detach(&d), ANALLOC_OK);
    ASSERT_ERR(analloc_check(&r), ANALLOC_OK);
    free(mem);
}

/* A store over an arena of one page keeps nothing; calls are the
 * allocator's own. */
static void test_store_one_page(void **state)
{
    struct arena t;
    struct analloc_cpu c;
    (void)state;
    arena_init(&t, 1);
    memset(&c, 0, sizeof c);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &c), ANALLOC_OK);
    void *p = analloc_cpu_alloc(&c, PAGE);
    assert_ptr_equal(p, (void *)t.base);
    assert_null(analloc_cpu_alloc(&c, PAGE));
    ASSERT_ERR(analloc_cpu_free(&c, p), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_free(&c, p), ANALLOC_EFREE);
    ASSERT_ERR(analloc_cpu_detach(&c), ANALLOC_OK);
    arena_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_bad_calls),
        cmocka_unit_test(test_store_batches_and_order),
        cmocka_unit_test(test_store_gives_back_before_failing),
        cmocka_unit_test(test_store_check_corruption),
        cmocka_unit_test(test_store_full_list_and_small_arena),
        cmocka_unit_test(test_store_side_paths),
        cmocka_unit_test(test_store_one_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
