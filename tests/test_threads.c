/*
 * test_threads.c - the lock hooks (analloc_set_lock) and one allocator shared
 * by several threads.
 *
 * 1. Hook accounting: counting lock and unlock hooks prove that every public
 *    call that reads or changes the allocator takes the lock exactly once and
 *    releases it exactly once, on success and on every error path found under
 *    the lock (bad pointers, EBUSY, ELIMIT, ...); that calls refused on their
 *    arguments alone, and calls on an allocator that is not set up, call no
 *    hook; that the error hook, the walk callback and the dump's output run
 *    with the lock held; and what analloc_set_lock does with bad input.
 * 2. The hammer: four threads share one allocator over real memory, with a
 *    pthread mutex as lock hooks, and run thousands of mixed operations each.
 *    Every block is stamped with its thread's id and checked before it is
 *    freed or resized, so two threads handed the same memory are caught; at
 *    the end analloc_check passes and every byte is free again.
 *
 * Randomized cases print their seed; ANALLOC_SEED=n replays each thread's
 * sequence of operations (not the interleaving of the threads),
 * ANALLOC_QUICK=1 runs a quarter of the operations, ANALLOC_OPS=n sets the
 * operations per thread.
 *
 * Under ThreadSanitizer (make test-tsan) the hammer must run without a
 * report.  ANALLOC_RACE selects a negative control instead of the tests, for
 * a -fsanitize=thread build only; each must end in a data race report:
 *   ANALLOC_RACE=1      the hammer's core operations with the lock hooks
 *                       removed (set, then analloc_set_lock(a, NULL, NULL)),
 *                       threads running freely;
 *   ANALLOC_RACE=turns  the same, the threads taking turns (a relaxed atomic
 *                       hands the allocator on: no two calls overlap in time,
 *                       but nothing orders them for the sanitizer, as the
 *                       lock would);
 *   ANALLOC_RACE=set_debug  two threads calling analloc_set_debug with a
 *                       mutex as lock hooks: a regression check, which must
 *                       run clean (analloc_set_debug once read the debug
 *                       flags before it took the lock).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analloc.h"
#include "layout.h"
#include "testutil.h"
#include "testcheck.h"

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#ifndef UNDER_TSAN
#define UNDER_TSAN 0
#endif

static uint64_t g_seed;
static int g_quick;
static size_t g_ops; /* operations per thread in the hammer; 0: the default */

/* ---- Counting hooks --------------------------------------------------------- */

#define COUNTER_MAGIC 0x10C4C0DEu

/* Lock hooks that count, and a flag that is set by lock and cleared by
 * unlock.  `misuse` counts a lock while held, an unlock while not held, or a
 * wrong ctx. */
struct counter {
    unsigned magic;
    size_t locks, unlocks, misuse;
    bool held;
};

static void counter_lock(void *ctx)
{
    struct counter *c = ctx;
    if (c == NULL || c->magic != COUNTER_MAGIC) {
        abort(); /* the hook was given another ctx: nothing to count into */
    }
    if (c->held)
        c->misuse++;
    c->held = true;
    c->locks++;
}

static void counter_unlock(void *ctx)
{
    struct counter *c = ctx;
    if (c == NULL || c->magic != COUNTER_MAGIC)
        abort();
    if (!c->held)
        c->misuse++;
    c->held = false;
    c->unlocks++;
}

static void counter_reset(struct counter *c)
{
    c->magic = COUNTER_MAGIC;
    c->locks = c->unlocks = c->misuse = 0;
    c->held = false;
}

/* `expr` called lock and unlock `n` times each, and left the lock free. */
static void expect_pairs_(const struct counter *c, size_t l0, size_t u0, size_t n, const char *expr,
                          const char *file, int line)
{
    if (c->locks - l0 != n || c->unlocks - u0 != n || c->held || c->misuse != 0) {
        print_error("%s:%d: %s: %zu lock and %zu unlock calls (expected %zu each), lock %s, "
                    "%zu misuses\n",
                    file, line, expr, c->locks - l0, c->unlocks - u0, n,
                    c->held ? "left held" : "free", c->misuse);
        _fail(file, line);
    }
}

#define CALLS(c, n, expr)                                                  \
    do {                                                                   \
        size_t l0_ = (c)->locks, u0_ = (c)->unlocks;                       \
        expr;                                                              \
        expect_pairs_((c), l0_, u0_, (n), #expr, __FILE__, __LINE__);      \
    } while (0)
#define ONCE(c, expr) CALLS(c, 1, expr)
#define NEVER(c, expr) CALLS(c, 0, expr)

/* What the error hook, the walk callback and the dump's output saw. */
struct observer {
    const struct counter *lock;
    size_t calls, held, not_held;
    int last_error;
    const void *last_ptr;
    int stop_with; /* the walk callback returns this */
};

static void observe(struct observer *o)
{
    o->calls++;
    if (o->lock != NULL && o->lock->held)
        o->held++;
    else
        o->not_held++;
}

static void observer_hook(void *ctx, int error, const void *ptr)
{
    struct observer *o = ctx;
    observe(o);
    o->last_error = error;
    o->last_ptr = ptr;
}

static int observer_walk(void *ctx, void *block, size_t bytes, unsigned kind)
{
    struct observer *o = ctx;
    (void)block;
    (void)bytes;
    (void)kind;
    observe(o);
    return o->stop_with;
}

static void observer_out(void *ctx, const char *line)
{
    struct observer *o = ctx;
    (void)line;
    observe(o);
}

static void observer_init(struct observer *o, const struct counter *c)
{
    memset(o, 0, sizeof *o);
    o->lock = c;
}

/* ---- A small allocator over real memory, metadata outside ---------------- */

struct fixture {
    struct analloc A;
    unsigned char *base;
    unsigned char *meta;
    size_t page, total, meta_size;
};

static void fx_init(struct fixture *f, size_t page, size_t pages)
{
    memset(f, 0, sizeof *f);
    f->page = page;
    f->total = page * pages;
    size_t align = page;
    while (align < f->total) /* aligned to its size: positions are predictable */
        align <<= 1;
    f->base = xalloc_aligned(align, f->total);
    f->meta_size = analloc_meta_size(f->total, page);
    f->meta = xalloc_aligned(8, f->meta_size);
    ASSERT_ERR(analloc_init(&f->A, f->base, f->total, page, f->meta, f->meta_size), ANALLOC_OK);
}

static void fx_fini(struct fixture *f)
{
    free(f->base);
    free(f->meta);
}

static unsigned char *fx_page(const struct fixture *f, size_t i) { return f->base + i * f->page; }

/* A page-aligned address outside the arena and the metadata buffer. */
static void *fx_outside(const struct fixture *f)
{
    uintptr_t a = addr(f->base) + f->total + f->page, m = addr(f->meta);
    if (a >= m && a < m + f->meta_size)
        a = m + f->meta_size + f->page - (m + f->meta_size) % f->page;
    return ptr_at(a);
}

/* ---- 1. Hook accounting ----------------------------------------------------- */

/* analloc_set_lock with bad input: refused with EINVAL, nothing changed, and
 * the hooks in place (or none) keep working. */
static void test_set_lock_bad_input(void **state)
{
    struct fixture f;
    struct counter c1, c2;
    struct snap s;
    struct analloc zero, pattern;
    void *p;
    (void)state;
    counter_reset(&c1);
    counter_reset(&c2);

    /* no allocator, or one never set up */
    ASSERT_ERR(analloc_set_lock(NULL, counter_lock, counter_unlock, &c1), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_set_lock(NULL, NULL, NULL, NULL), ANALLOC_EINVAL);
    memset(&zero, 0, sizeof zero);
    memset(&pattern, 0x5A, sizeof pattern);
    {
        struct analloc z2, p2;
        memcpy(&z2, &zero, sizeof z2);
        memcpy(&p2, &pattern, sizeof p2);
        ASSERT_ERR(analloc_set_lock(&z2, counter_lock, counter_unlock, &c1), ANALLOC_EINVAL);
        ASSERT_ERR(analloc_set_lock(&z2, NULL, NULL, NULL), ANALLOC_EINVAL);
        ASSERT_ERR(analloc_set_lock(&p2, counter_lock, counter_unlock, &c1), ANALLOC_EINVAL);
        assert_memory_equal(&z2, &zero, sizeof zero);
        assert_memory_equal(&p2, &pattern, sizeof pattern);
    }
    assert_int_equal(c1.locks + c1.unlocks, 0);

    /* a live allocator without hooks: one hook without the other */
    fx_init(&f, 64, 64);
    snap_take(&s, &f.A);
    ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, NULL, &c1), ANALLOC_EINVAL);
    SNAP_SAME(&s, &f.A, "set_lock(lock, NULL)");
    ASSERT_ERR(analloc_set_lock(&f.A, NULL, counter_unlock, &c1), ANALLOC_EINVAL);
    SNAP_SAME(&s, &f.A, "set_lock(NULL, unlock)");
    ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, NULL, NULL), ANALLOC_EINVAL);
    SNAP_SAME(&s, &f.A, "set_lock(lock, NULL) with ctx NULL");
    snap_free(&s);
    p = analloc_alloc(&f.A, 1); /* still unlocked: no hook runs */
    assert_non_null(p);
    ASSERT_ERR(analloc_free(&f.A, p), ANALLOC_OK);
    assert_int_equal(c1.locks + c1.unlocks + c1.misuse, 0);

    /* a live allocator with hooks: a half pair changes nothing, c1 stays */
    ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, counter_unlock, &c1), ANALLOC_OK);
    assert_int_equal(c1.locks + c1.unlocks, 0); /* set_lock calls no hook */
    snap_take(&s, &f.A);
    ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, NULL, &c2), ANALLOC_EINVAL);
    SNAP_SAME(&s, &f.A, "set_lock(lock, NULL) over hooks");
    ASSERT_ERR(analloc_set_lock(&f.A, NULL, counter_unlock, &c2), ANALLOC_EINVAL);
    SNAP_SAME(&s, &f.A, "set_lock(NULL, unlock) over hooks");
    snap_free(&s);
    assert_int_equal(c1.locks + c1.unlocks, 0);
    ONCE(&c1, p = analloc_alloc(&f.A, 1));
    assert_non_null(p);
    ONCE(&c1, ASSERT_ERR(analloc_free(&f.A, p), ANALLOC_OK));
    assert_int_equal(c2.locks + c2.unlocks + c2.misuse, 0);
    fx_fini(&f);
}

/* Hooks get their ctx; set_lock replaces them; (NULL, NULL) removes them;
 * neither set_lock nor meta_bytes calls a hook. */
static void test_set_lock_replace_and_remove(void **state)
{
    struct fixture f;
    struct counter c1, c2;
    void *p;
    (void)state;
    counter_reset(&c1);
    counter_reset(&c2);
    fx_init(&f, 64, 64);

    ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, counter_unlock, &c1), ANALLOC_OK);
    ONCE(&c1, p = analloc_alloc(&f.A, 100));
    assert_non_null(p);
    NEVER(&c1, assert_true(analloc_meta_bytes(&f.A) > 0));
    /* the same hooks again, another ctx: only the new ctx counts */
    NEVER(&c1, ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, counter_unlock, &c2), ANALLOC_OK));
    ONCE(&c2, assert_int_equal(analloc_mem_size(&f.A, p), 128));
    assert_int_equal(c1.locks, 1);
    assert_int_equal(c1.unlocks, 1);
    /* removed: no hook at all */
    NEVER(&c2, ASSERT_ERR(analloc_set_lock(&f.A, NULL, NULL, NULL), ANALLOC_OK));
    assert_null(TI_LOCK(&f.A));
    assert_null(TI_UNLOCK(&f.A));
    NEVER(&c2, ASSERT_ERR(analloc_free(&f.A, p), ANALLOC_OK));
    NEVER(&c2, ASSERT_ERR(analloc_check(&f.A), ANALLOC_OK));
    /* removing with a ctx is removing too */
    ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, counter_unlock, &c1), ANALLOC_OK);
    ONCE(&c1, analloc_drain(&f.A));
    ASSERT_ERR(analloc_set_lock(&f.A, NULL, NULL, &c1), ANALLOC_OK);
    NEVER(&c1, analloc_drain(&f.A));
    NEVER(&c1, assert_int_equal(analloc_free_bytes(&f.A), f.A.managed));
    assert_int_equal(c1.misuse + c2.misuse, 0);
    fx_fini(&f);
}

static int walk_nothing(void *ctx, void *block, size_t bytes, unsigned kind)
{
    (void)ctx;
    (void)block;
    (void)bytes;
    (void)kind;
    return 0;
}

static void out_nothing(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

/* Every public call, on its success path: one lock, one unlock. */
static void test_lock_once_per_call(void **state)
{
    struct fixture f;
    struct counter c;
    struct observer o;
    struct analloc_stats st;
    unsigned char *p, *q, *r, *t, *u, *buddy;
    size_t n;
    int rc;
    (void)state;
    counter_reset(&c);
    fx_init(&f, 64, 256);
    const size_t page = f.page;
    ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, counter_unlock, &c), ANALLOC_OK);

    ONCE(&c, p = analloc_alloc(&f.A, 3 * page));
    assert_non_null(p);
    ONCE(&c, buddy = analloc_alloc(&f.A, 4 * page)); /* p's buddy: p cannot grow in place */
    assert_ptr_equal(buddy, p + 4 * page);
    ONCE(&c, q = analloc_alloc_flags(&f.A, page, 0));
    assert_non_null(q);
    ONCE(&c, r = analloc_alloc_flags(&f.A, page, ANALLOC_LOW));
    assert_non_null(r);
    ONCE(&c, t = analloc_alloc_flags(&f.A, 2 * page, ANALLOC_HIGH));
    assert_non_null(t);
    ONCE(&c, u = analloc_alloc_range(&f.A, page, 0, addr(fx_page(&f, 64)), addr(fx_page(&f, 128)), 0));
    assert_ptr_equal(u, fx_page(&f, 64));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, u), ANALLOC_OK));
    ONCE(&c, u = analloc_alloc_aligned(&f.A, page, 16 * page, ANALLOC_HIGH));
    assert_non_null(u);
    assert_int_equal(addr(u) % (16 * page), 0);
    ONCE(&c, assert_int_equal(analloc_mem_size(&f.A, p), 4 * page));
    /* Growing in place takes one section; moving takes two: the copy runs
     * between them, outside the lock. */
    unsigned char *before_realloc = p;
    CALLS(&c, 2, p = analloc_realloc(&f.A, p, 8 * page)); /* cannot grow here: moves */
    assert_non_null(p);
    assert_true(p != before_realloc);
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, buddy), ANALLOC_OK));
    ONCE(&c, p = analloc_realloc(&f.A, p, page)); /* shrinks in place */
    assert_non_null(p);
    unsigned char *grown;
    ONCE(&c, grown = analloc_realloc(&f.A, p, 8 * page)); /* grows back in place */
    assert_ptr_equal(grown, p);
    ONCE(&c, p = analloc_realloc(&f.A, p, page));
    assert_ptr_equal(p, grown);
    ONCE(&c, ASSERT_ERR(analloc_check(&f.A), ANALLOC_OK));
    ONCE(&c, n = analloc_free_bytes(&f.A));
    assert_true(n > 0 && n < f.A.managed);
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, q), ANALLOC_OK)); /* into the cache */
    ONCE(&c, analloc_drain(&f.A));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, r), ANALLOC_OK));
    ONCE(&c, n = analloc_largest_free(&f.A)); /* drains too */
    assert_true(n > 0);
    ONCE(&c, ASSERT_ERR(analloc_set_cache(&f.A, 2), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_set_cache(&f.A, ANALLOC_CACHE_MAX), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_reserve(&f.A, addr(fx_page(&f, 200)) + 5, 3 * page - 5), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_release(&f.A, addr(fx_page(&f, 201)), page), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_release(&f.A, addr(fx_page(&f, 200)), page), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_release(&f.A, addr(fx_page(&f, 202)), page), ANALLOC_OK));
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    ONCE(&c, ASSERT_ERR(analloc_stats(&f.A, &st), ANALLOC_OK));
    assert_int_equal(st.size, sizeof st);
    assert_int_equal(st.live_blocks, 3);
    ONCE(&c, rc = analloc_frag_index(&f.A, 0));
    assert_int_equal(rc, -1000);
    ONCE(&c, ASSERT_ERR(analloc_walk(&f.A, ANALLOC_BLOCK_ALL, walk_nothing, NULL), 0));
    observer_init(&o, &c);
    ONCE(&c, analloc_set_error_hook(&f.A, observer_hook, &o));
    ONCE(&c, analloc_set_error_hook(&f.A, NULL, NULL));
    ONCE(&c, ASSERT_ERR(analloc_set_debug(&f.A, ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH,
                                          0xdd, 0xee),
                        ANALLOC_OK));
    ONCE(&c, q = analloc_alloc(&f.A, page)); /* filled with 0xee after the lock section */
    assert_non_null(q);
    assert_int_equal(q[0], 0xee);
    assert_int_equal(q[page - 1], 0xee);
    /* Filled with 0xdd between two sections: the first validates the
     * pointer, the second frees the block. */
    CALLS(&c, 2, ASSERT_ERR(analloc_free(&f.A, q), ANALLOC_OK));
    assert_int_equal(q[0], 0xdd);
    ONCE(&c, ASSERT_ERR(analloc_set_debug(&f.A, 0, 0, 0), ANALLOC_OK));
    ONCE(&c, analloc_dump(&f.A, out_nothing, NULL, 0));
    ONCE(&c, analloc_dump(&f.A, out_nothing, NULL, 1000));
    ONCE(&c, q = analloc_realloc(&f.A, NULL, page)); /* is analloc_alloc */
    assert_non_null(q);
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, q), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, p), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, t), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, u), ANALLOC_OK));
    ONCE(&c, analloc_drain(&f.A));
    ONCE(&c, assert_int_equal(analloc_free_bytes(&f.A), f.A.managed));
    /* the calls that take no lock */
    NEVER(&c, assert_int_equal(analloc_meta_bytes(&f.A), TI_META_BYTES(&f.A)));
    NEVER(&c, ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, counter_unlock, &c), ANALLOC_OK));
    fx_fini(&f);
}

/* Error paths that the engine finds under the lock: one lock, one unlock
 * each, and the lock is free again afterwards. */
static void test_lock_once_on_error_paths(void **state)
{
    struct fixture f;
    struct counter c;
    struct observer o;
    unsigned char *p, *q;
    size_t n = 0;
    int rc;
    (void)state;
    counter_reset(&c);
    fx_init(&f, 64, 256);
    const size_t page = f.page;
    ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, counter_unlock, &c), ANALLOC_OK);
    observer_init(&o, &c);
    ONCE(&c, analloc_set_error_hook(&f.A, observer_hook, &o));

    ONCE(&c, p = analloc_alloc_flags(&f.A, 4 * page, ANALLOC_LOW));
    assert_ptr_equal(p, fx_page(&f, 0));
    /* bad frees: each code, the hook once, under the lock */
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, p + 1), ANALLOC_EALIGN));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, p + page), ANALLOC_EINTERIOR));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, fx_page(&f, 100)), ANALLOC_EFREE));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, fx_outside(&f)), ANALLOC_ERANGE));
    ONCE(&c, ASSERT_ERR(analloc_reserve(&f.A, addr(fx_page(&f, 50)), page), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, fx_page(&f, 50)), ANALLOC_ERESERVED));
    assert_int_equal(o.calls, 5);
    assert_int_equal(o.not_held, 0);
    /* a freed block in the cache */
    ONCE(&c, q = analloc_alloc(&f.A, page));
    assert_non_null(q);
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, q), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, q), ANALLOC_EFREE));
    /* realloc of bad pointers (hook), too large, no memory (no hook) */
    ONCE(&c, assert_null(analloc_realloc(&f.A, p + page, page)));
    ONCE(&c, assert_null(analloc_realloc(&f.A, q, page)));
    assert_int_equal(o.calls, 8);
    ONCE(&c, assert_null(analloc_realloc(&f.A, p, SIZE_MAX)));
    ONCE(&c, assert_null(analloc_realloc(&f.A, p, f.A.managed)));
    /* a size no block of the arena has: refused on the arguments, no lock */
    NEVER(&c, assert_null(analloc_alloc(&f.A, SIZE_MAX)));
    NEVER(&c, assert_null(analloc_alloc(&f.A, f.A.managed + 1)));
    assert_int_equal(o.calls, 8);
    assert_int_equal(o.not_held, 0);
    /* mem_size of bad pointers: silent, but under the lock */
    ONCE(&c, assert_int_equal(analloc_mem_size(&f.A, p + page), 0));
    ONCE(&c, assert_int_equal(analloc_mem_size(&f.A, q), 0));
    ONCE(&c, assert_int_equal(analloc_mem_size(&f.A, fx_page(&f, 50)), 0));
    /* a window where nothing fits (found under the lock) */
    ONCE(&c, assert_null(analloc_alloc_range(&f.A, page, 0, addr(p), addr(p + 4 * page), 0)));
    /* reserve over an allocated page and over a reserved one */
    ONCE(&c, ASSERT_ERR(analloc_reserve(&f.A, addr(p) + 3 * page, 2 * page), ANALLOC_EBUSY));
    ONCE(&c, ASSERT_ERR(analloc_reserve(&f.A, addr(fx_page(&f, 49)), 3 * page), ANALLOC_EBUSY));
    ONCE(&c, ASSERT_ERR(analloc_release(&f.A, addr(fx_page(&f, 49)), 2 * page), ANALLOC_ENOTRESERVED));
    ONCE(&c, ASSERT_ERR(analloc_release(&f.A, addr(fx_page(&f, 50)), page), ANALLOC_OK));
    /* a full table of reserved ranges: 16 ranges of 3 pages */
    for (size_t i = 0; i < ANALLOC_RESERVE_MAX; i++)
        ONCE(&c, ASSERT_ERR(analloc_reserve(&f.A, addr(fx_page(&f, 60 + 5 * i)), 3 * page), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_reserve(&f.A, addr(fx_page(&f, 240)), page), ANALLOC_ELIMIT));
    ONCE(&c, ASSERT_ERR(analloc_release(&f.A, addr(fx_page(&f, 61)), page), ANALLOC_ELIMIT));
    for (size_t i = 0; i < ANALLOC_RESERVE_MAX; i++)
        ONCE(&c, ASSERT_ERR(analloc_release(&f.A, addr(fx_page(&f, 60 + 5 * i)), 3 * page), ANALLOC_OK));
    /* no memory at all */
    for (;;) {
        void *x;
        ONCE(&c, x = analloc_alloc(&f.A, 0));
        if (x == NULL)
            break;
        n++;
    }
    assert_true(n > 0);
    ONCE(&c, assert_null(analloc_alloc_flags(&f.A, page, ANALLOC_HIGH)));
    ONCE(&c, assert_null(analloc_alloc_aligned(&f.A, page, 0, 0)));
    ONCE(&c, assert_int_equal(analloc_largest_free(&f.A), 0));
    ONCE(&c, rc = analloc_frag_index(&f.A, 0));
    assert_int_equal(rc, 0);
    /* a walk stopped by its callback */
    o.stop_with = 7;
    o.calls = 0;
    ONCE(&c, ASSERT_ERR(analloc_walk(&f.A, ANALLOC_BLOCK_ALL, observer_walk, &o), 7));
    assert_int_equal(o.calls, 1);
    /* check on broken metadata */
    {
        uint64_t w = TI_WORDS(&f.A)[0];
        TI_WORDS(&f.A)[0] ^= 1;
        ONCE(&c, ASSERT_ERR(analloc_check(&f.A), ANALLOC_ECORRUPT));
        TI_WORDS(&f.A)[0] = w;
    }
    ONCE(&c, ASSERT_ERR(analloc_check(&f.A), ANALLOC_OK));
    assert_int_equal(o.not_held, 0);
    assert_int_equal(c.misuse, 0);
    fx_fini(&f);
}

/*
 * Calls refused on their arguments alone, which read nothing but the fields
 * fixed at setup: they return before taking the lock, and call no hook.
 * (The header says "every later call" runs under the lock; the engine's
 * section comment says every call "that reads or changes" the allocator.
 * This pins down the latter.)
 */
static void test_no_lock_for_rejected_arguments(void **state)
{
    struct fixture f;
    struct counter c;
    struct analloc_stats st;
    unsigned char *p;
    (void)state;
    counter_reset(&c);
    fx_init(&f, 64, 256);
    const size_t page = f.page;
    const uintptr_t lo = addr(f.base), hi = addr(f.base) + f.total;
    ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, counter_unlock, &c), ANALLOC_OK);
    ONCE(&c, p = analloc_alloc(&f.A, page));
    assert_non_null(p);

    NEVER(&c, ASSERT_ERR(analloc_free(&f.A, NULL), ANALLOC_OK));
    NEVER(&c, assert_int_equal(analloc_mem_size(&f.A, NULL), 0));
    NEVER(&c, assert_null(analloc_alloc_flags(&f.A, page, ANALLOC_LOW | ANALLOC_HIGH)));
    NEVER(&c, assert_null(analloc_alloc_flags(&f.A, page, 0x4)));
    NEVER(&c, assert_null(analloc_alloc_flags(&f.A, SIZE_MAX, ANALLOC_LOW)));
    NEVER(&c, assert_null(analloc_alloc_aligned(&f.A, page, 3 * page, 0)));
    NEVER(&c, assert_null(analloc_alloc_aligned(&f.A, page, f.A.managed * 4, 0)));
    NEVER(&c, assert_null(analloc_alloc_range(&f.A, page, 0, hi, lo, 0)));
    NEVER(&c, assert_null(analloc_alloc_range(&f.A, page, 0, lo, lo + page / 2, 0)));
    NEVER(&c, assert_null(analloc_alloc_range(&f.A, 4 * page, 0, lo, lo + 2 * page, 0)));
    NEVER(&c, ASSERT_ERR(analloc_set_cache(&f.A, ANALLOC_CACHE_MAX + 1), ANALLOC_EINVAL));
    NEVER(&c, ASSERT_ERR(analloc_reserve(&f.A, lo, 0), ANALLOC_EINVAL));
    NEVER(&c, ASSERT_ERR(analloc_reserve(&f.A, UINTPTR_MAX - 10, 100), ANALLOC_EINVAL));
    NEVER(&c, ASSERT_ERR(analloc_reserve(&f.A, hi, page), ANALLOC_ERANGE));
    NEVER(&c, ASSERT_ERR(analloc_release(&f.A, lo, 0), ANALLOC_EINVAL));
    NEVER(&c, ASSERT_ERR(analloc_release(&f.A, lo - page, page), ANALLOC_ERANGE));
    NEVER(&c, ASSERT_ERR(analloc_stats(&f.A, NULL), ANALLOC_EINVAL));
    st.size = 0;
    NEVER(&c, ASSERT_ERR(analloc_stats(&f.A, &st), ANALLOC_EINVAL));
    NEVER(&c, ASSERT_ERR(analloc_frag_index(&f.A, TI_DEPTH(&f.A) + 1), ANALLOC_EINVAL));
    NEVER(&c, ASSERT_ERR(analloc_walk(&f.A, ANALLOC_BLOCK_ALL, NULL, NULL), ANALLOC_EINVAL));
    NEVER(&c, ASSERT_ERR(analloc_walk(&f.A, 0x10, walk_nothing, NULL), ANALLOC_EINVAL));
    NEVER(&c, ASSERT_ERR(analloc_set_debug(&f.A, 0x80, 0, 0), ANALLOC_EINVAL));
#if !defined(ANALLOC_ANNOTATE)
    NEVER(&c, ASSERT_ERR(analloc_set_debug(&f.A, ANALLOC_DEBUG_ANNOTATE, 0, 0), ANALLOC_EINVAL));
#endif
    NEVER(&c, analloc_dump(&f.A, NULL, NULL, 0));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, p), ANALLOC_OK));
    fx_fini(&f);
}

/* Calls on an allocator that is not set up call no hook, even when the
 * struct holds hooks (a copy of a hooked allocator with its magic cleared). */
static void test_no_lock_on_unset_allocator(void **state)
{
    struct fixture f;
    struct counter c;
    struct observer o;
    struct analloc zero, dead;
    struct analloc_stats st;
    unsigned char *p;
    (void)state;
    counter_reset(&c);
    fx_init(&f, 64, 64);
    const size_t page = f.page;
    ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, counter_unlock, &c), ANALLOC_OK);
    ONCE(&c, p = analloc_alloc(&f.A, page));
    assert_non_null(p);
    memset(&zero, 0, sizeof zero);
    memcpy(&dead, &f.A, sizeof dead);
    TI_MAGIC(&dead) = 0;
    assert_ptr_equal(TI_LOCK(&dead), counter_lock);

    struct analloc *targets[3] = {NULL, &zero, &dead};
    for (size_t i = 0; i < 3; i++) {
        struct analloc *a = targets[i];
        observer_init(&o, &c);
        NEVER(&c, assert_null(analloc_alloc(a, page)));
        NEVER(&c, assert_null(analloc_alloc_flags(a, page, ANALLOC_HIGH)));
        NEVER(&c, assert_null(analloc_alloc_range(a, page, 0, addr(f.base), addr(f.base) + f.total, 0)));
        NEVER(&c, assert_null(analloc_alloc_aligned(a, page, 2 * page, 0)));
        NEVER(&c, ASSERT_ERR(analloc_free(a, p), ANALLOC_EINVAL));
        NEVER(&c, ASSERT_ERR(analloc_free(a, NULL), ANALLOC_EINVAL));
        NEVER(&c, assert_null(analloc_realloc(a, p, 2 * page)));
        NEVER(&c, assert_null(analloc_realloc(a, NULL, page)));
        NEVER(&c, assert_int_equal(analloc_mem_size(a, p), 0));
        NEVER(&c, ASSERT_ERR(analloc_check(a), ANALLOC_EINVAL));
        NEVER(&c, assert_int_equal(analloc_free_bytes(a), 0));
        NEVER(&c, assert_int_equal(analloc_largest_free(a), 0));
        NEVER(&c, analloc_drain(a));
        NEVER(&c, ASSERT_ERR(analloc_set_cache(a, 1), ANALLOC_EINVAL));
        NEVER(&c, ASSERT_ERR(analloc_reserve(a, addr(p), page), ANALLOC_EINVAL));
        NEVER(&c, ASSERT_ERR(analloc_release(a, addr(p), page), ANALLOC_EINVAL));
        memset(&st, 0, sizeof st);
        st.size = sizeof st;
        NEVER(&c, ASSERT_ERR(analloc_stats(a, &st), ANALLOC_EINVAL));
        NEVER(&c, ASSERT_ERR(analloc_frag_index(a, 0), ANALLOC_EINVAL));
        NEVER(&c, ASSERT_ERR(analloc_walk(a, ANALLOC_BLOCK_ALL, observer_walk, &o), ANALLOC_EINVAL));
        NEVER(&c, analloc_set_error_hook(a, observer_hook, &o));
        NEVER(&c, ASSERT_ERR(analloc_set_debug(a, 0, 0, 0), ANALLOC_EINVAL));
        NEVER(&c, analloc_dump(a, observer_out, &o, 0)); /* "not set up", unlocked */
        NEVER(&c, assert_int_equal(analloc_meta_bytes(a), 0));
        NEVER(&c, ASSERT_ERR(analloc_set_lock(a, counter_lock, counter_unlock, &c), ANALLOC_EINVAL));
        NEVER(&c, ASSERT_ERR(analloc_set_lock(a, NULL, NULL, NULL), ANALLOC_EINVAL));
        assert_int_equal(o.calls, 1); /* the dump's one line */
        assert_int_equal(o.not_held, 1);
    }
    assert_int_equal(TI_MAGIC(&zero), 0);
    assert_ptr_equal(TI_LOCK(&dead), counter_lock); /* set_lock refused it */
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, p), ANALLOC_OK));
    fx_fini(&f);
}

/* The error hook, the walk callback and every line of the dump run with the
 * lock held, and the lock is free again when the call returns. */
static void test_callbacks_run_under_lock(void **state)
{
    struct fixture f;
    struct counter c;
    struct observer hook, walk, out;
    unsigned char *p, *q;
    (void)state;
    counter_reset(&c);
    fx_init(&f, 64, 256);
    const size_t page = f.page;
    ASSERT_ERR(analloc_set_lock(&f.A, counter_lock, counter_unlock, &c), ANALLOC_OK);
    observer_init(&hook, &c);
    observer_init(&walk, &c);
    observer_init(&out, &c);
    ONCE(&c, analloc_set_error_hook(&f.A, observer_hook, &hook));

    ONCE(&c, p = analloc_alloc(&f.A, 2 * page));
    ONCE(&c, q = analloc_alloc(&f.A, page));
    assert_non_null(p);
    assert_non_null(q);
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, p + 3), ANALLOC_EALIGN));
    assert_ptr_equal(hook.last_ptr, p + 3);
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, p + page), ANALLOC_EINTERIOR));
    ONCE(&c, assert_null(analloc_realloc(&f.A, p + page, page)));
    ASSERT_ERR(hook.last_error, ANALLOC_EINTERIOR);
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, q), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, q), ANALLOC_EFREE));
    ONCE(&c, ASSERT_ERR(analloc_reserve(&f.A, addr(fx_page(&f, 200)), 2 * page), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, fx_page(&f, 201)), ANALLOC_ERESERVED));
    assert_int_equal(hook.calls, 5);
    assert_int_equal(hook.held, 5);
    assert_int_equal(hook.not_held, 0);

    ONCE(&c, ASSERT_ERR(analloc_walk(&f.A, ANALLOC_BLOCK_ALL, observer_walk, &walk), 0));
    assert_true(walk.calls >= 4); /* used, cached, reserved, free blocks */
    assert_int_equal(walk.held, walk.calls);
    ONCE(&c, ASSERT_ERR(analloc_walk(&f.A, ANALLOC_BLOCK_USED, observer_walk, &walk), 0));
    assert_int_equal(walk.not_held, 0);

    ONCE(&c, analloc_dump(&f.A, observer_out, &out, 0));
    assert_int_equal(out.calls, 3 + f.A.depth + 1); /* summary lines, one per order */
    assert_int_equal(out.held, out.calls);

    ONCE(&c, ASSERT_ERR(analloc_free(&f.A, p), ANALLOC_OK));
    ONCE(&c, ASSERT_ERR(analloc_release(&f.A, addr(fx_page(&f, 200)), 2 * page), ANALLOC_OK));
    ONCE(&c, analloc_drain(&f.A));
    ONCE(&c, assert_int_equal(analloc_free_bytes(&f.A), f.A.managed));
    assert_int_equal(hook.calls, 5);
    assert_int_equal(c.misuse, 0);
    fx_fini(&f);
}

/* ---- 2. The hammer ---------------------------------------------------------- */

#define NTHREADS 4
#define LIVE_MAX 32
#define RANGE_PAGES 13
#ifndef HAMMER_TIMEOUT
#define HAMMER_TIMEOUT 600 /* seconds; valgrind and qemu are slow */
#endif

/* A pthread mutex as lock hooks; the owner and the held flag are written
 * under the mutex, so a callback can check that its caller holds it. */
struct mlock {
    pthread_mutex_t m;
    pthread_t owner;
    bool held;
    size_t locks;
};

static void mlock_lock(void *ctx)
{
    struct mlock *l = ctx;
    if (pthread_mutex_lock(&l->m) != 0)
        abort();
    l->owner = pthread_self();
    l->held = true;
    l->locks++;
}

static void mlock_unlock(void *ctx)
{
    struct mlock *l = ctx;
    l->held = false;
    if (pthread_mutex_unlock(&l->m) != 0)
        abort();
}

/* Only meaningful under the lock (a callback of the engine). */
static bool mlock_mine(const struct mlock *l) { return l->held && pthread_equal(l->owner, pthread_self()); }

enum race_mode { RACE_NONE, RACE_FREE, RACE_TURNS };

struct shared {
    struct analloc *a;
    size_t page;
    uintptr_t start, end; /* the arena's pages */
    bool locked;          /* the mutex is installed as lock hooks */
    enum race_mode race;
    struct mlock lock;
    /* written by the error hook, under the lock */
    size_t hook_calls;
    size_t callback_unlocked; /* a callback that ran without its caller holding the lock */
    /* thread t's private range: reserved at the start, reserved and
     * released by t alone; range_reserved[t] is 1 only while it is */
    uintptr_t range_lo[NTHREADS], range_hi[NTHREADS];
    atomic_int range_reserved[NTHREADS];
    atomic_int stop;
    atomic_uint turn; /* RACE_TURNS: whose turn (relaxed: no ordering) */
    pthread_barrier_t start_line;
    pthread_mutex_t done_m; /* finished: workers done, for the watchdog */
    pthread_cond_t done_cv;
    unsigned finished;
    size_t ops;
};

struct blk {
    unsigned char *p;
    size_t size;
    uint32_t serial;
};

enum op {
    OP_ALLOC, OP_FREE, OP_REALLOC, OP_MEM_SIZE, OP_BAD_PTR, OP_STATS, OP_WALK, OP_RANGE,
    OP_LARGEST, OP_DRAIN, OP_FRAG, OP_FREE_BYTES, OP_SET_CACHE, OP_CHECK, OP_DUMP, OP_HOOK,
    OP_DEBUG, OP_COUNT
};

static const char *const op_names[OP_COUNT] = {
    "alloc", "free", "realloc", "mem_size", "bad ptr", "stats", "walk", "reserve/release",
    "largest_free", "drain", "frag_index", "free_bytes", "set_cache", "check", "dump",
    "set_error_hook", "set_debug"};

struct worker {
    struct shared *sh;
    unsigned id;
    pthread_t thread;
    struct rng rng;
    struct blk live[LIVE_MAX];
    size_t nlive;
    uint32_t serial;
    size_t done[OP_COUNT];
    size_t alloc_null; /* allocations and reallocs that found no memory */
    size_t bad_calls;  /* calls that must reach the error hook */
    int failed;
    char err[512];
};

static bool wfail(struct worker *w, const char *fmt, ...)
{
    va_list ap;
    if (!w->failed) {
        int n = snprintf(w->err, sizeof w->err, "thread %u: ", w->id);
        va_start(ap, fmt);
        vsnprintf(w->err + n, sizeof w->err - (size_t)n, fmt, ap);
        va_end(ap);
    }
    w->failed = 1;
    atomic_store(&w->sh->stop, 1);
    return false;
}

/* The word stamped at offset `off` of a block: the thread, the block's serial
 * and the offset; the last word of the block holds its complement. */
static uint64_t stamp_word(unsigned id, uint32_t serial, size_t off)
{
    return (uint64_t)(id + 1u) << 56 | (uint64_t)serial << 24 | (uint64_t)(off & 0xFFFFFFu);
}

static void stamp(const struct worker *w, const struct blk *b)
{
    const size_t page = w->sh->page;
    for (size_t off = 0; off < b->size; off += page) {
        uint64_t v = stamp_word(w->id, b->serial, off);
        memcpy(b->p + off, &v, sizeof v);
    }
    uint64_t v = ~stamp_word(w->id, b->serial, b->size);
    memcpy(b->p + b->size - sizeof v, &v, sizeof v);
}

/* The stamps of b in its first `bytes` bytes (the whole block: the end word
 * too) are intact. */
static bool stamps_intact(struct worker *w, const struct blk *b, const unsigned char *at, size_t bytes,
                          const char *when)
{
    const size_t page = w->sh->page;
    uint64_t v;
    for (size_t off = 0; off < bytes; off += page) {
        memcpy(&v, at + off, sizeof v);
        if (v != stamp_word(w->id, b->serial, off))
            return wfail(w, "%s: block %p (%zu bytes, serial %u): word at +%zu is %#llx, expected %#llx "
                            "(written by thread %u: two threads hold the same memory)",
                         when, (void *)b->p, b->size, (unsigned)b->serial, off, (unsigned long long)v,
                         (unsigned long long)stamp_word(w->id, b->serial, off),
                         (unsigned)(v >> 56) - 1u);
    }
    if (bytes == b->size) {
        memcpy(&v, at + b->size - sizeof v, sizeof v);
        if (v != ~stamp_word(w->id, b->serial, b->size))
            return wfail(w, "%s: block %p (%zu bytes): end word is %#llx", when, (void *)b->p, b->size,
                         (unsigned long long)v);
    }
    return true;
}

static bool overlaps(uintptr_t a0, uintptr_t a1, uintptr_t b0, uintptr_t b1) { return a0 < b1 && b0 < a1; }

/* A block just handed to this thread: inside the arena, aligned to its
 * size, of the size asked for, and not in a range some thread holds
 * reserved at this moment. */
static bool new_block_ok(struct worker *w, unsigned char *p, size_t size, const char *what)
{
    struct shared *sh = w->sh;
    uintptr_t x = addr(p);
    size_t want = block_for(size, sh->page);
    size_t got = analloc_mem_size(sh->a, p);
    if (got != want)
        return wfail(w, "%s(%zu) = %p: mem_size %zu, expected %zu", what, size, (void *)p, got, want);
    if (x < sh->start || x + want > sh->end || x % want != 0)
        return wfail(w, "%s(%zu) = %p: outside the arena or not aligned to %zu", what, size, (void *)p,
                     want);
    for (unsigned t = 0; t < NTHREADS; t++)
        if (overlaps(x, x + want, sh->range_lo[t], sh->range_hi[t]) &&
            atomic_load(&sh->range_reserved[t]))
            return wfail(w, "%s(%zu) = %p overlaps thread %u's reserved range", what, size, (void *)p, t);
    return true;
}

static bool keep_block(struct worker *w, unsigned char *p, size_t size)
{
    struct blk *b = &w->live[w->nlive++];
    b->p = p;
    b->size = block_for(size, w->sh->page);
    b->serial = ++w->serial & 0xFFFFFFFFu;
    stamp(w, b);
    return true;
}

/* A request size: mostly a page or two, sometimes up to 2^10 pages. */
static size_t draw_size(struct worker *w)
{
    size_t r = rng_below(&w->rng, 100), order;
    if (r < 55)
        order = rng_below(&w->rng, 2);
    else if (r < 90)
        order = 2 + rng_below(&w->rng, 3);
    else if (r < 98)
        order = 5 + rng_below(&w->rng, 3);
    else
        order = 8 + rng_below(&w->rng, 3);
    return rng_below(&w->rng, (w->sh->page << order) + 1); /* 0 included */
}

static bool op_alloc(struct worker *w, bool all_kinds)
{
    struct shared *sh = w->sh;
    size_t size = draw_size(w);
    unsigned char *p;
    const char *what;
    size_t kind = all_kinds ? rng_below(&w->rng, 6) : rng_below(&w->rng, 2);
    switch (kind) {
    case 0:
        what = "alloc";
        p = analloc_alloc(sh->a, size);
        break;
    case 1:
        what = "realloc(NULL)";
        p = analloc_realloc(sh->a, NULL, size);
        break;
    case 2:
    case 3: {
        static const unsigned flags[3] = {0, ANALLOC_LOW, ANALLOC_HIGH};
        what = "alloc_flags";
        p = analloc_alloc_flags(sh->a, size, flags[rng_below(&w->rng, 3)]);
        break;
    }
    case 4: {
        size_t align = sh->page << rng_below(&w->rng, 7);
        what = "alloc_aligned";
        p = analloc_alloc_aligned(sh->a, size, align, rng_below(&w->rng, 2) ? ANALLOC_HIGH : 0);
        if (p != NULL && addr(p) % align != 0)
            return wfail(w, "alloc_aligned(%zu, %zu) = %p: not aligned", size, align, (void *)p);
        break;
    }
    default: {
        uintptr_t span = sh->end - sh->start;
        uintptr_t lo = sh->start + rng_below(&w->rng, span), hi = lo + 1 + rng_below(&w->rng, span);
        what = "alloc_range";
        p = analloc_alloc_range(sh->a, size, 0, lo, hi, rng_below(&w->rng, 2) ? ANALLOC_HIGH : 0);
        if (p != NULL && (addr(p) < lo || addr(p) + block_for(size, sh->page) > hi))
            return wfail(w, "alloc_range(%zu, [%#lx, %#lx)) = %p: outside the window", size,
                         (unsigned long)lo, (unsigned long)hi, (void *)p);
        break;
    }
    }
    if (p == NULL) {
        w->alloc_null++;
        return true;
    }
    if (!new_block_ok(w, p, size, what))
        return false;
    return keep_block(w, p, size);
}

static bool op_free(struct worker *w, size_t i)
{
    struct blk *b = &w->live[i];
    if (!stamps_intact(w, b, b->p, b->size, "before free"))
        return false;
    int rc = analloc_free(w->sh->a, b->p);
    if (rc != ANALLOC_OK)
        return wfail(w, "free(%p) = %d (%s)", (void *)b->p, rc, analloc_strerror(rc));
    w->live[i] = w->live[--w->nlive];
    return true;
}

static bool op_realloc(struct worker *w, size_t i)
{
    struct blk *b = &w->live[i];
    size_t size = draw_size(w);
    if (!stamps_intact(w, b, b->p, b->size, "before realloc"))
        return false;
    unsigned char *q = analloc_realloc(w->sh->a, b->p, size);
    if (q == NULL) { /* no memory: the block is unchanged */
        w->alloc_null++;
        size_t got = analloc_mem_size(w->sh->a, b->p);
        if (got != b->size)
            return wfail(w, "failed realloc(%p, %zu): mem_size %zu, was %zu", (void *)b->p, size, got,
                         b->size);
        return stamps_intact(w, b, b->p, b->size, "after a failed realloc");
    }
    if (!new_block_ok(w, q, size, "realloc"))
        return false;
    size_t want = block_for(size, w->sh->page);
    if (!stamps_intact(w, b, q, want < b->size ? want : b->size, "after realloc"))
        return false;
    b->p = q;
    b->size = want;
    b->serial = ++w->serial & 0xFFFFFFFFu;
    stamp(w, b);
    return true;
}

static void hammer_hook(void *ctx, int error, const void *ptr)
{
    struct shared *sh = ctx;
    (void)error;
    (void)ptr;
    if (sh->locked && !mlock_mine(&sh->lock))
        sh->callback_unlocked++;
    sh->hook_calls++;
}

/* What a walk saw, checked against this thread's blocks. */
struct walk_seen {
    struct worker *w;
    size_t bytes, mine, wrong_size, mine_not_used, blocks, unlocked;
};

static int hammer_walk(void *ctx, void *block, size_t bytes, unsigned kind)
{
    struct walk_seen *s = ctx;
    struct worker *w = s->w;
    if (w->sh->locked && !mlock_mine(&w->sh->lock))
        s->unlocked++;
    s->bytes += bytes;
    s->blocks++;
    for (size_t i = 0; i < w->nlive; i++) {
        const struct blk *b = &w->live[i];
        if (!overlaps(addr(b->p), addr(b->p) + b->size, addr(block), addr(block) + bytes))
            continue;
        if (kind != ANALLOC_BLOCK_USED)
            s->mine_not_used++;
        else if (b->p != block || b->size != bytes)
            s->wrong_size++;
        else
            s->mine++;
    }
    return 0;
}

struct dump_seen {
    const struct shared *sh;
    size_t lines, unlocked;
};

static void hammer_out(void *ctx, const char *line)
{
    struct dump_seen *d = ctx;
    if (d->sh->locked && !mlock_mine(&d->sh->lock))
        d->unlocked++;
    if (line != NULL && line[0] != '\0')
        d->lines++;
}

static bool op_other(struct worker *w, enum op op)
{
    struct shared *sh = w->sh;
    struct analloc *a = sh->a;
    int rc;
    size_t n;
    switch (op) {
    case OP_MEM_SIZE: {
        const struct blk *b = &w->live[rng_below(&w->rng, w->nlive)];
        if ((n = analloc_mem_size(a, b->p)) != b->size)
            return wfail(w, "mem_size(%p) = %zu, expected %zu", (void *)b->p, n, b->size);
        if (b->size > sh->page && (n = analloc_mem_size(a, b->p + sh->page)) != 0)
            return wfail(w, "mem_size(interior %p) = %zu", (void *)(b->p + sh->page), n);
        return true;
    }
    case OP_BAD_PTR: { /* bad pointers into this thread's own block */
        const struct blk *b = &w->live[rng_below(&w->rng, w->nlive)];
        if (rng_below(&w->rng, 2)) {
            if ((rc = analloc_free(a, b->p + 1)) != ANALLOC_EALIGN)
                return wfail(w, "free(misaligned %p) = %d", (void *)(b->p + 1), rc);
        } else if (b->size > sh->page) {
            if (analloc_realloc(a, b->p + sh->page, 1) != NULL)
                return wfail(w, "realloc(interior %p) succeeded", (void *)(b->p + sh->page));
        } else if ((rc = analloc_free(a, b->p + sh->page / 2)) != ANALLOC_EALIGN) {
            return wfail(w, "free(misaligned %p) = %d", (void *)(b->p + sh->page / 2), rc);
        }
        w->bad_calls++;
        return stamps_intact(w, b, b->p, b->size, "after a bad pointer");
    }
    case OP_STATS: {
        struct analloc_stats st;
        memset(&st, 0, sizeof st);
        st.size = sizeof st;
        if ((rc = analloc_stats(a, &st)) != ANALLOC_OK)
            return wfail(w, "stats = %d", rc);
        if (st.page != sh->page || st.managed_bytes != a->managed ||
            st.free_bytes + st.used_bytes + st.reserved_bytes != st.managed_bytes ||
            st.cached_bytes > st.free_bytes || st.largest_free > st.free_bytes ||
            st.live_blocks < w->nlive || st.reserved_ranges > NTHREADS)
            return wfail(w, "stats inconsistent: free %zu used %zu reserved %zu managed %zu cached %zu "
                            "largest %zu live %zu (mine %zu) ranges %u",
                         st.free_bytes, st.used_bytes, st.reserved_bytes, st.managed_bytes,
                         st.cached_bytes, st.largest_free, st.live_blocks, w->nlive,
                         st.reserved_ranges);
        return true;
    }
    case OP_WALK: {
        struct walk_seen s;
        memset(&s, 0, sizeof s);
        s.w = w;
        if ((rc = analloc_walk(a, ANALLOC_BLOCK_ALL, hammer_walk, &s)) != 0)
            return wfail(w, "walk = %d", rc);
        if (s.bytes != a->managed || s.mine != w->nlive || s.wrong_size || s.mine_not_used ||
            s.unlocked)
            return wfail(w, "walk: %zu bytes of %zu, %zu of my %zu blocks seen, %zu of wrong size, "
                            "%zu not used, %zu callbacks without the lock",
                         s.bytes, a->managed, s.mine, w->nlive, s.wrong_size, s.mine_not_used,
                         s.unlocked);
        return true;
    }
    case OP_RANGE: {
        unsigned t = w->id;
        uintptr_t lo = sh->range_lo[t];
        size_t len = sh->range_hi[t] - lo;
        if (atomic_load(&sh->range_reserved[t])) {
            atomic_store(&sh->range_reserved[t], 0);
            if ((rc = analloc_release(a, lo, len)) != ANALLOC_OK)
                return wfail(w, "release(own range) = %d", rc);
        } else {
            rc = analloc_reserve(a, lo, len);
            if (rc == ANALLOC_OK)
                atomic_store(&sh->range_reserved[t], 1);
            else if (rc != ANALLOC_EBUSY) /* EBUSY: another thread holds a block there */
                return wfail(w, "reserve(own range) = %d", rc);
        }
        return true;
    }
    case OP_LARGEST:
        n = analloc_largest_free(a);
        if (n > a->managed || (n != 0 && (n < sh->page || (n & (n - 1)) != 0)))
            return wfail(w, "largest_free = %zu", n);
        return true;
    case OP_DRAIN:
        analloc_drain(a);
        return true;
    case OP_FRAG:
        rc = analloc_frag_index(a, (unsigned)rng_below(&w->rng, a->depth + 1));
        if (rc < -1000 || rc > 1000)
            return wfail(w, "frag_index = %d", rc);
        return true;
    case OP_FREE_BYTES:
        n = analloc_free_bytes(a);
        if (n > a->managed || n % sh->page != 0)
            return wfail(w, "free_bytes = %zu", n);
        return true;
    case OP_SET_CACHE:
        if ((rc = analloc_set_cache(a, (unsigned)rng_below(&w->rng, ANALLOC_CACHE_MAX + 1))) != 0)
            return wfail(w, "set_cache = %d", rc);
        return true;
    case OP_CHECK:
        if ((rc = analloc_check(a)) != ANALLOC_OK)
            return wfail(w, "check = %d (%s)", rc, analloc_strerror(rc));
        return true;
    case OP_DUMP: {
        struct dump_seen d = {sh, 0, 0};
        analloc_dump(a, hammer_out, &d, rng_below(&w->rng, 130));
        if (d.lines != 3 + a->depth + 1 || d.unlocked)
            return wfail(w, "dump: %zu lines, %zu without the lock", d.lines, d.unlocked);
        return true;
    }
    case OP_HOOK:
        analloc_set_error_hook(a, hammer_hook, sh);
        return true;
    case OP_DEBUG: {
        /* Every thread: analloc_set_debug once read the flags before it took
         * the lock (see ANALLOC_RACE=set_debug). */
        static const unsigned flags[4] = {0, ANALLOC_DEBUG_POISON_FREE, ANALLOC_DEBUG_POISON_FRESH,
                                          ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH};
        if ((rc = analloc_set_debug(a, flags[rng_below(&w->rng, 4)], 0xdd, 0xee)) != ANALLOC_OK)
            return wfail(w, "set_debug = %d", rc);
        return true;
    }
    default:
        return wfail(w, "unknown operation %d", (int)op);
    }
}

/* One operation: a weighted draw; operations on a block need one. */
static bool one_op(struct worker *w)
{
    const bool core = w->sh->race != RACE_NONE; /* negative controls: no hooks, no counters */
    size_t r = rng_below(&w->rng, 1000);
    enum op op;
    if (core)
        op = r < 450 ? OP_ALLOC : r < 750 ? OP_FREE : r < 900 ? OP_REALLOC : OP_MEM_SIZE;
    else if (r < 300)
        op = OP_ALLOC;
    else if (r < 530)
        op = OP_FREE;
    else if (r < 680)
        op = OP_REALLOC;
    else if (r < 760)
        op = OP_MEM_SIZE;
    else if (r < 790)
        op = OP_BAD_PTR;
    else if (r < 820)
        op = OP_STATS;
    else if (r < 826)
        op = OP_WALK;
    else if (r < 856)
        op = OP_RANGE;
    else if (r < 886)
        op = OP_LARGEST;
    else if (r < 906)
        op = OP_DRAIN;
    else if (r < 926)
        op = OP_FRAG;
    else if (r < 956)
        op = OP_FREE_BYTES;
    else if (r < 966)
        op = OP_SET_CACHE;
    else if (r < 970)
        op = OP_CHECK;
    else if (r < 972)
        op = OP_DUMP;
    else if (r < 982)
        op = OP_HOOK;
    else
        op = OP_DEBUG;
    if (w->nlive == LIVE_MAX && op == OP_ALLOC)
        op = OP_FREE;
    if (w->nlive == 0 && (op == OP_FREE || op == OP_REALLOC || op == OP_MEM_SIZE || op == OP_BAD_PTR))
        op = OP_ALLOC;
    w->done[op]++;
    switch (op) {
    case OP_ALLOC:
        return op_alloc(w, !core);
    case OP_FREE:
        return op_free(w, rng_below(&w->rng, w->nlive));
    case OP_REALLOC:
        return op_realloc(w, rng_below(&w->rng, w->nlive));
    default:
        return op_other(w, op);
    }
}

/* RACE_TURNS: wait for this thread's turn (or a failure somewhere). */
static void wait_turn(const struct worker *w)
{
    while (atomic_load_explicit(&w->sh->turn, memory_order_relaxed) % NTHREADS != w->id &&
           !atomic_load_explicit(&w->sh->stop, memory_order_relaxed))
        sched_yield();
}

/* RACE_TURNS: hand the allocator on, ordering nothing. */
static void pass_turn(const struct worker *w)
{
    atomic_fetch_add_explicit(&w->sh->turn, 1, memory_order_relaxed);
}

static void worker_done(struct shared *sh)
{
    pthread_mutex_lock(&sh->done_m);
    sh->finished++;
    pthread_cond_signal(&sh->done_cv);
    pthread_mutex_unlock(&sh->done_m);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    const bool turns = sh->race == RACE_TURNS;
    const size_t burst = 64;
    int rc = pthread_barrier_wait(&sh->start_line);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD) {
        wfail(w, "pthread_barrier_wait = %d", rc);
        worker_done(sh);
        return NULL;
    }
    if (turns)
        wait_turn(w);
    for (size_t i = 0; i < sh->ops && !atomic_load_explicit(&sh->stop, memory_order_relaxed); i++) {
        if (turns && i != 0 && i % burst == 0) {
            pass_turn(w);
            wait_turn(w);
        }
        if (!one_op(w))
            break;
    }
    /* give everything back (in its last turn): blocks, and the range if it
     * is reserved */
    while (!w->failed && w->nlive > 0)
        if (!op_free(w, w->nlive - 1))
            break;
    if (!w->failed && atomic_load(&sh->range_reserved[w->id])) {
        uintptr_t lo = sh->range_lo[w->id];
        atomic_store(&sh->range_reserved[w->id], 0);
        if ((rc = analloc_release(sh->a, lo, sh->range_hi[w->id] - lo)) != ANALLOC_OK)
            wfail(w, "final release = %d", rc);
    }
    if (turns)
        pass_turn(w);
    worker_done(sh);
    return NULL;
}

/* An arena for the hammer: over a chunk (the struct in its used prefix) or
 * with external metadata. */
struct arena {
    unsigned char *mem;
    unsigned char *meta;
    struct analloc *a;
};

static int arena_setup(struct arena *ar, bool with_chunk, size_t page, size_t total)
{
    memset(ar, 0, sizeof *ar);
    ar->mem = xalloc_aligned(4096, total + 64);
    if (with_chunk) {
        ar->a = (struct analloc *)(void *)ar->mem;
        return analloc_with_chunk(ar->a, ar->mem, total, sizeof *ar->a, page);
    }
    size_t meta_size = analloc_meta_size(total, page);
    ar->a = malloc(sizeof *ar->a);
    ar->meta = xalloc_aligned(8, meta_size);
    if (ar->a == NULL)
        abort();
    /* a start off the page grid: the partial first page is not managed */
    return analloc_init(ar->a, ar->mem + 24, total, page, ar->meta, meta_size);
}

static void arena_free(struct arena *ar, bool with_chunk)
{
    if (!with_chunk) {
        free(ar->a);
        free(ar->meta);
    }
    free(ar->mem);
}

/* Thread t's private range: RANGE_PAGES pages at (t + 1) / (NTHREADS + 1) of
 * the arena, three pages off a large block's start. */
static void ranges_setup(struct shared *sh)
{
    uintptr_t span = sh->end - sh->start;
    for (unsigned t = 0; t < NTHREADS; t++) {
        uintptr_t lo = sh->start + align_down(span / (NTHREADS + 1) * (t + 1), sh->page * 64) + 3 * sh->page;
        sh->range_lo[t] = lo;
        sh->range_hi[t] = lo + RANGE_PAGES * sh->page;
        atomic_init(&sh->range_reserved[t], 0);
    }
}

/* Run NTHREADS workers on sh; returns the number of failed workers and
 * prints the first failure. */
static int run_workers(struct shared *sh, struct worker *ws, uint64_t salt)
{
    int failed = 0;
    if (pthread_barrier_init(&sh->start_line, NULL, NTHREADS) != 0 ||
        pthread_mutex_init(&sh->done_m, NULL) != 0 || pthread_cond_init(&sh->done_cv, NULL) != 0)
        abort();
    sh->finished = 0;
    for (unsigned t = 0; t < NTHREADS; t++) {
        struct worker *w = &ws[t];
        memset(w, 0, sizeof *w);
        w->sh = sh;
        w->id = t;
        w->rng.s = g_seed ^ (salt * 0xD1B54A32D192ED03ull) ^ ((uint64_t)(t + 1) * 0x9E3779B97F4A7C15ull);
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            abort();
    }
    /* A lock hook left held (a missing unlock) would hang the test: give
     * up after HAMMER_TIMEOUT seconds.  Then a plain join, which every
     * checker (ThreadSanitizer, helgrind, DRD) understands. */
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += HAMMER_TIMEOUT;
    pthread_mutex_lock(&sh->done_m);
    while (sh->finished < NTHREADS) {
        int rc = pthread_cond_timedwait(&sh->done_cv, &sh->done_m, &deadline);
        if (rc != 0 && sh->finished < NTHREADS) {
            fprintf(stderr, "test_threads: %u of %d threads not finished after %d s "
                            "(pthread_cond_timedwait %d): a lock left held?\n",
                    NTHREADS - sh->finished, NTHREADS, HAMMER_TIMEOUT, rc);
            abort();
        }
    }
    pthread_mutex_unlock(&sh->done_m);
    for (unsigned t = 0; t < NTHREADS; t++)
        if (pthread_join(ws[t].thread, NULL) != 0)
            abort();
    pthread_barrier_destroy(&sh->start_line);
    pthread_cond_destroy(&sh->done_cv);
    pthread_mutex_destroy(&sh->done_m);
    for (unsigned t = 0; t < NTHREADS; t++)
        if (ws[t].failed) {
            if (failed++ == 0)
                print_error("%s\n", ws[t].err);
        }
    return failed;
}

static size_t hammer_ops(void)
{
    size_t n = g_ops ? g_ops : 20000;
    return g_quick && !g_ops ? n / 4 : n;
}

static void hammer(const char *name, uint64_t salt, bool with_chunk, size_t page, size_t total)
{
    struct arena ar;
    struct shared *sh = calloc(1, sizeof *sh);
    struct worker *ws = calloc(NTHREADS, sizeof *ws);
    size_t totals[OP_COUNT] = {0}, nulls = 0, bad = 0;
    struct timespec t0, t1;
    assert_non_null(sh);
    assert_non_null(ws);
    printf("[ %s ] seed %llu (replay: ANALLOC_SEED=%llu; each thread's operations replay, not their "
           "interleaving)\n",
           name, (unsigned long long)g_seed, (unsigned long long)g_seed);
    fflush(stdout);
    ASSERT_ERR(arena_setup(&ar, with_chunk, page, total), ANALLOC_OK);
    sh->a = ar.a;
    sh->page = page;
    sh->start = addr(ar.a->start);
    sh->end = sh->start + ar.a->managed;
    sh->ops = hammer_ops();
    sh->race = RACE_NONE;
    sh->locked = true;
    if (pthread_mutex_init(&sh->lock.m, NULL) != 0)
        abort();
    ASSERT_ERR(analloc_set_lock(sh->a, mlock_lock, mlock_unlock, &sh->lock), ANALLOC_OK);
    analloc_set_error_hook(sh->a, hammer_hook, sh);
    ranges_setup(sh);
    for (unsigned t = 0; t < NTHREADS; t++) { /* every thread starts with its range reserved */
        ASSERT_ERR(analloc_reserve(sh->a, sh->range_lo[t], sh->range_hi[t] - sh->range_lo[t]), ANALLOC_OK);
        atomic_store(&sh->range_reserved[t], 1);
    }
    atomic_init(&sh->stop, 0);
    atomic_init(&sh->turn, 0);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    int failed = run_workers(sh, ws, salt);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    for (unsigned t = 0; t < NTHREADS; t++) {
        for (unsigned k = 0; k < OP_COUNT; k++)
            totals[k] += ws[t].done[k];
        nulls += ws[t].alloc_null;
        bad += ws[t].bad_calls;
    }
    printf("[ %s ] page %zu, %zu KiB managed, %d threads x %zu operations in %.2f s, lock taken %zu "
           "times; %zu allocations found no memory\n  ",
           name, page, ar.a->managed >> 10, NTHREADS, sh->ops,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, sh->lock.locks,
           nulls);
    for (unsigned k = 0; k < OP_COUNT; k++)
        printf("%s %zu%s", op_names[k], totals[k], k + 1 < OP_COUNT ? ", " : "\n");
    fflush(stdout);
    if (failed)
        fail_msg("%s: %d of %d threads failed", name, failed, NTHREADS);

    /* all joined: the allocator is whole, empty, and heard every bad pointer */
    ASSERT_ERR(analloc_check(sh->a), ANALLOC_OK);
    assert_int_equal(sh->hook_calls, bad);
    assert_int_equal(sh->callback_unlocked, 0);
    assert_false(sh->lock.held);
    struct analloc_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(sh->a, &st), ANALLOC_OK);
    assert_int_equal(st.live_blocks, 0);
    assert_int_equal(st.reserved_bytes, 0);
    assert_int_equal(st.reserved_ranges, 0);
    assert_int_equal(analloc_free_bytes(sh->a), sh->a->managed);
    analloc_drain(sh->a);
    assert_int_equal(analloc_largest_free(sh->a), sh->page << sh->a->depth); /* all merged */
    ASSERT_ERR(analloc_check(sh->a), ANALLOC_OK);
    assert_int_equal(analloc_free_bytes(sh->a), sh->a->managed);
    assert_true(totals[OP_ALLOC] > 0 && totals[OP_FREE] > 0 && totals[OP_REALLOC] > 0);
    pthread_mutex_destroy(&sh->lock.m);
    arena_free(&ar, with_chunk);
    free(ws);
    free(sh);
}

#define MIB ((size_t)1 << 20)

static void test_hammer_chunk_page4096(void **state)
{
    (void)state;
    hammer("hammer_chunk_page4096", 11, true, 4096, 4 * MIB);
}

static void test_hammer_chunk_page64(void **state)
{
    (void)state;
    hammer("hammer_chunk_page64", 12, true, 64, 2 * MIB);
}

static void test_hammer_init_page4096(void **state)
{
    (void)state;
    hammer("hammer_init_page4096", 13, false, 4096, 4 * MIB);
}

static void test_hammer_init_page64(void **state)
{
    (void)state;
    hammer("hammer_init_page64", 14, false, 64, 2 * MIB);
}

/* ---- Negative controls (ANALLOC_RACE, -fsanitize=thread builds) ------------ */

/* The hammer's core operations without lock hooks.  Under ThreadSanitizer
 * (halt_on_error=1) the first unordered access ends the run with a report;
 * reaching the end means none was seen. */
static int race_hammer(enum race_mode mode)
{
    struct arena ar;
    struct shared *sh = calloc(1, sizeof *sh);
    struct worker *ws = calloc(NTHREADS, sizeof *ws);
    if (sh == NULL || ws == NULL || arena_setup(&ar, true, 4096, 4 * MIB) != ANALLOC_OK)
        abort();
    sh->a = ar.a;
    sh->page = 4096;
    sh->start = addr(ar.a->start);
    sh->end = sh->start + ar.a->managed;
    sh->ops = g_ops ? g_ops : 2000;
    sh->race = mode;
    sh->locked = false;
    if (pthread_mutex_init(&sh->lock.m, NULL) != 0)
        abort();
    /* installed, then removed: analloc_set_lock(a, NULL, NULL) must unlock */
    if (analloc_set_lock(sh->a, mlock_lock, mlock_unlock, &sh->lock) != ANALLOC_OK ||
        analloc_set_lock(sh->a, NULL, NULL, NULL) != ANALLOC_OK)
        abort();
    ranges_setup(sh);
    atomic_init(&sh->stop, 0);
    atomic_init(&sh->turn, 0);
    printf("race mode %s: %d threads x %zu operations on one allocator without lock hooks; "
           "ThreadSanitizer must report a data race\n",
           mode == RACE_TURNS ? "turns" : "free", NTHREADS, sh->ops);
    fflush(stdout);
    int failed = run_workers(sh, ws, 99);
    printf("race mode: finished, %d threads failed, check %d: no data race was reported\n", failed,
           analloc_check(sh->a));
    arena_free(&ar, true);
    free(ws);
    free(sh);
    return 0;
}

/* Two threads calling analloc_set_debug, with a mutex as lock hooks. */
static void *set_debug_loop(void *arg)
{
    struct analloc *a = arg;
    for (unsigned i = 0; i < 1000; i++)
        (void)analloc_set_debug(a, (i & 1) ? ANALLOC_DEBUG_POISON_FREE : 0, 0xdd, 0xee);
    return NULL;
}

static int race_set_debug(void)
{
    struct arena ar;
    struct mlock l;
    pthread_t t[2];
    memset(&l, 0, sizeof l);
    if (arena_setup(&ar, true, 4096, MIB) != ANALLOC_OK || pthread_mutex_init(&l.m, NULL) != 0 ||
        analloc_set_lock(ar.a, mlock_lock, mlock_unlock, &l) != ANALLOC_OK)
        abort();
    printf("race mode set_debug: two threads call analloc_set_debug under the lock hooks\n");
    fflush(stdout);
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t[i], NULL, set_debug_loop, ar.a) != 0)
            abort();
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("race mode set_debug: finished, no data race was reported\n");
    arena_free(&ar, true);
    return 0;
}


/* ---- Per-CPU stores from several threads ------------------------------------
 * Each thread allocates and frees through its own store (orders 0-4: 4 is
 * not a store's), tags every block with its owner and a serial number in
 * its first and last words and checks the tag before the free, and passes
 * some blocks to the next thread's mailbox, which frees them through its
 * own store.  A block handed out twice, or a stored block written, shows as
 * a broken tag.  At the end every store is detached (one from another
 * thread: CPU hot-unplug), and the allocator must be whole and empty.
 * With `locked` false (the ANALLOC_RACE=stores control) there are no lock
 * hooks: the slow paths race, and ThreadSanitizer must say so. */
#define STORE_BOX 32
struct store_shared {
    struct analloc *a;
    size_t page, ops;
    pthread_barrier_t start, done;
    pthread_mutex_t box_m;
    struct store_block {
        void *p;
        size_t bytes;
    } box[NTHREADS][STORE_BOX];
    unsigned box_n[NTHREADS];
    struct analloc_cpu cpu[NTHREADS];
};

struct store_worker {
    pthread_t thread;
    struct store_shared *sh;
    unsigned id;
    uint64_t seed;
    size_t allocs, frees, passed, nulls;
    bool failed;
    char err[200];
};

static void store_tag(void *p, size_t bytes, uint64_t tag)
{
    uint64_t *w = p;
    w[0] = tag;
    w[bytes / 8u - 1u] = ~tag;
}

static bool store_tag_ok(struct store_worker *w, const void *p, size_t bytes)
{
    const uint64_t *v = p;
    if (v[bytes / 8u - 1u] == ~v[0])
        return true;
    snprintf(w->err, sizeof w->err, "thread %u: block %p (%zu bytes) tag %#llx / %#llx broken", w->id,
             p, bytes, (unsigned long long)v[0], (unsigned long long)v[bytes / 8u - 1u]);
    w->failed = true;
    return false;
}

static bool store_free(struct store_worker *w, void *p, size_t bytes)
{
    struct store_shared *sh = w->sh;
    if (!store_tag_ok(w, p, bytes))
        return false;
    int err = analloc_cpu_free(&sh->cpu[w->id], p);
    if (err != ANALLOC_OK) {
        snprintf(w->err, sizeof w->err, "thread %u: free of %p: %d", w->id, p, err);
        return w->failed = true, false;
    }
    w->frees++;
    return true;
}

/* Free what other threads passed here. */
static void store_empty_box(struct store_worker *w)
{
    struct store_shared *sh = w->sh;
    struct store_block got[STORE_BOX];
    unsigned n;
    pthread_mutex_lock(&sh->box_m);
    n = sh->box_n[w->id];
    memcpy(got, sh->box[w->id], n * sizeof got[0]);
    sh->box_n[w->id] = 0;
    pthread_mutex_unlock(&sh->box_m);
    for (unsigned i = 0; i < n; i++)
        store_free(w, got[i].p, got[i].bytes);
}

static void *store_worker_main(void *arg)
{
    struct store_worker *w = arg;
    struct store_shared *sh = w->sh;
    struct rng r;
    struct store_block live[64];
    size_t nlive = 0, serial = 0;
    rng_seed(&r, w->seed, "stores", w->id);
    pthread_barrier_wait(&sh->start);
    for (size_t op = 0; op < sh->ops && !w->failed; op++) {
        if (nlive < 64 && (nlive == 0 || rng_below(&r, 2) == 0)) {
            size_t bytes = sh->page << rng_below(&r, 5);
            void *p = analloc_cpu_alloc(&sh->cpu[w->id], bytes);
            if (p == NULL) {
                w->nulls++;
                continue;
            }
            store_tag(p, bytes, (uint64_t)w->id << 56 | serial++);
            live[nlive].p = p;
            live[nlive++].bytes = bytes;
            w->allocs++;
        } else {
            size_t i = rng_below(&r, nlive);
            struct store_block b = live[i];
            live[i] = live[--nlive];
            unsigned to = (w->id + 1u) % NTHREADS;
            bool passed = false;
            if (rng_below(&r, 4) == 0) {
                pthread_mutex_lock(&sh->box_m);
                if (sh->box_n[to] < STORE_BOX) {
                    sh->box[to][sh->box_n[to]++] = b;
                    passed = true;
                }
                pthread_mutex_unlock(&sh->box_m);
            }
            if (passed)
                w->passed++;
            else
                store_free(w, b.p, b.bytes);
        }
        if (op % 16u == 0)
            store_empty_box(w);
    }
    while (nlive > 0) {
        nlive--;
        store_free(w, live[nlive].p, live[nlive].bytes);
    }
    pthread_barrier_wait(&sh->done); /* nothing is passed after this */
    store_empty_box(w);
    return NULL;
}

static int stores_run(bool locked, const char *name, size_t page, size_t total)
{
    struct arena ar;
    struct store_shared *sh = calloc(1, sizeof *sh);
    struct store_worker ws[NTHREADS];
    struct mlock lk;
    int failed = 0;
    assert_non_null(sh);
    memset(ws, 0, sizeof ws);
    memset(&lk, 0, sizeof lk);
    printf("[ %s ] seed %llu (each thread's operations replay, not their interleaving)\n", name,
           (unsigned long long)g_seed);
    fflush(stdout);
    ASSERT_ERR(arena_setup(&ar, false, page, total), ANALLOC_OK);
    sh->a = ar.a;
    sh->page = page;
    sh->ops = g_ops ? g_ops : (g_quick ? 5000 : 20000);
    if (pthread_mutex_init(&lk.m, NULL) != 0 || pthread_mutex_init(&sh->box_m, NULL) != 0 ||
        pthread_barrier_init(&sh->start, NULL, NTHREADS) != 0 ||
        pthread_barrier_init(&sh->done, NULL, NTHREADS) != 0)
        abort();
    if (locked)
        ASSERT_ERR(analloc_set_lock(sh->a, mlock_lock, mlock_unlock, &lk), ANALLOC_OK);
    for (unsigned t = 0; t < NTHREADS; t++)
        ASSERT_ERR(analloc_cpu_attach(sh->a, &sh->cpu[t]), ANALLOC_OK);
    for (unsigned t = 0; t < NTHREADS; t++) {
        ws[t].sh = sh;
        ws[t].id = t;
        ws[t].seed = g_seed;
        if (pthread_create(&ws[t].thread, NULL, store_worker_main, &ws[t]) != 0)
            abort();
    }
    size_t allocs = 0, passed = 0, nulls = 0;
    for (unsigned t = 0; t < NTHREADS; t++) {
        if (pthread_join(ws[t].thread, NULL) != 0)
            abort();
        if (ws[t].failed && failed++ == 0)
            print_error("%s\n", ws[t].err);
        allocs += ws[t].allocs;
        passed += ws[t].passed;
        nulls += ws[t].nulls;
    }
    printf("[ %s ] %d threads x %zu operations: %zu allocations (%zu found no memory), %zu blocks "
           "freed by another thread, lock taken %zu times\n",
           name, NTHREADS, sh->ops, allocs, nulls, passed, lk.locks);
    fflush(stdout);
    if (!locked)
        return failed; /* the control: what ThreadSanitizer said is the result */
    if (failed)
        fail_msg("%s: %d of %d threads failed", name, failed, NTHREADS);
    /* the stores hold blocks; check sees them; then each is given back */
    ASSERT_ERR(analloc_check(sh->a), ANALLOC_OK);
    assert_true(passed > 0 && allocs > 0);
    for (unsigned t = 0; t < NTHREADS; t++)
        ASSERT_ERR(analloc_cpu_detach(&sh->cpu[t]), ANALLOC_OK); /* from this thread: hot-unplug */
    ASSERT_ERR(analloc_check(sh->a), ANALLOC_OK);
    struct analloc_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(sh->a, &st), ANALLOC_OK);
    assert_int_equal(st.live_blocks, 0);
    if (!st.cpu_stores) /* no stores in this build: the cache holds what they would */
        analloc_drain(sh->a);
    ASSERT_ERR(analloc_stats(sh->a, &st), ANALLOC_OK);
    assert_int_equal(st.cached_blocks, 0);
    assert_int_equal(analloc_free_bytes(sh->a), sh->a->managed);
    assert_int_equal(analloc_largest_free(sh->a), sh->page << sh->a->depth);
    pthread_mutex_destroy(&lk.m);
    pthread_mutex_destroy(&sh->box_m);
    pthread_barrier_destroy(&sh->start);
    pthread_barrier_destroy(&sh->done);
    arena_free(&ar, false);
    free(sh);
    return 0;
}

static void test_stores_threads_page4096(void **state)
{
    (void)state;
    stores_run(true, "stores page 4096", 4096, (size_t)8 << 20);
}

/* A small arena: allocations fail and give every store back often. */
static void test_stores_threads_small_arena(void **state)
{
    (void)state;
    stores_run(true, "stores, small arena", 256, (size_t)256 << 10);
}

/* ---- The relax hook ---------------------------------------------------------- */

/* A lock hook whose second call waits at a gate that the relax hook opens. */
struct gate {
    pthread_mutex_t m;
    pthread_cond_t cv;
    unsigned calls, relaxed;
    bool waiting, open, timed_out;
};

static void gate_lock(void *ctx)
{
    struct gate *g = ctx;
    pthread_mutex_lock(&g->m);
    if (++g->calls == 2u) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 10; /* no relax call in 10 s: the test fails rather than hangs */
        g->waiting = true;
        pthread_cond_broadcast(&g->cv);
        while (!g->open)
            if (pthread_cond_timedwait(&g->cv, &g->m, &until) != 0)
                g->open = g->timed_out = true;
    }
    pthread_mutex_unlock(&g->m);
}

static void gate_unlock(void *ctx)
{
    (void)ctx;
}

static void gate_relax(void *ctx)
{
    struct gate *g = ctx;
    pthread_mutex_lock(&g->m);
    g->relaxed++;
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->m);
}

static void *gate_check(void *arg)
{
    return (void *)(intptr_t)analloc_check(arg);
}

/* A thread runs analloc_check, which holds every store's spinlock while its
 * second lock section waits at the gate; this thread's analloc_cpu_alloc
 * finds its store taken, pauses 63 times, calls the relax hook, which opens
 * the gate, and then gets its store and its page. */
static void test_relax_hook_called_while_a_store_is_held(void **state)
{
    struct fixture f;
    struct analloc_cpu c;
    struct gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, false, false, false};
    struct analloc_stats st;
    pthread_t t;
    void *ret;
    (void)state;
    fx_init(&f, 4096, 256);
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(&f.A, &st), ANALLOC_OK);
    if (!st.cpu_stores) {
        print_message("no per-CPU stores in this build: %s skipped\n", __func__);
        fx_fini(&f);
        return;
    }
    ASSERT_ERR(analloc_set_relax(&f.A, gate_relax, &g), ANALLOC_OK);
    memset(&c, 0, sizeof c);
    ASSERT_ERR(analloc_cpu_attach(&f.A, &c), ANALLOC_OK);
    ASSERT_ERR(analloc_set_lock(&f.A, gate_lock, gate_unlock, &g), ANALLOC_OK);
    assert_int_equal(pthread_create(&t, NULL, gate_check, &f.A), 0);
    pthread_mutex_lock(&g.m);
    while (!g.waiting)
        pthread_cond_wait(&g.cv, &g.m);
    pthread_mutex_unlock(&g.m);
    void *p = analloc_cpu_alloc(&c, 4096);
    assert_int_equal(pthread_join(t, &ret), 0);
    assert_int_equal((int)(intptr_t)ret, ANALLOC_OK);
    assert_non_null(p);
    assert_false(g.timed_out);
    assert_true(g.relaxed >= 1u);
    ASSERT_ERR(analloc_cpu_free(&c, p), ANALLOC_OK);
    ASSERT_ERR(analloc_cpu_detach(&c), ANALLOC_OK);
    ASSERT_ERR(analloc_check(&f.A), ANALLOC_OK);
    /* Removed: stores attached again spin with the pause only. */
    ASSERT_ERR(analloc_set_lock(&f.A, NULL, NULL, NULL), ANALLOC_OK);
    ASSERT_ERR(analloc_set_relax(&f.A, NULL, NULL), ANALLOC_OK);
    assert_true(f.A.internal.relax == NULL);
    fx_fini(&f);
}

static int race_main(const char *mode)
{
    if (!UNDER_TSAN) {
        fprintf(stderr, "test_threads: ANALLOC_RACE needs a -fsanitize=thread build (make test-tsan)\n");
        return 2;
    }
    if (strcmp(mode, "turns") == 0)
        return race_hammer(RACE_TURNS);
    if (strcmp(mode, "set_debug") == 0)
        return race_set_debug();
    if (strcmp(mode, "stores") == 0)
        return stores_run(false, "stores without lock hooks", 256, (size_t)256 << 10);
    return race_hammer(RACE_FREE);
}

int main(void)
{
    const char *o = getenv("ANALLOC_OPS"), *race = getenv("ANALLOC_RACE");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_lock_bad_input),
        cmocka_unit_test(test_set_lock_replace_and_remove),
        cmocka_unit_test(test_lock_once_per_call),
        cmocka_unit_test(test_lock_once_on_error_paths),
        cmocka_unit_test(test_no_lock_for_rejected_arguments),
        cmocka_unit_test(test_no_lock_on_unset_allocator),
        cmocka_unit_test(test_callbacks_run_under_lock),
        cmocka_unit_test(test_hammer_chunk_page4096),
        cmocka_unit_test(test_hammer_chunk_page64),
        cmocka_unit_test(test_hammer_init_page4096),
        cmocka_unit_test(test_hammer_init_page64),
        cmocka_unit_test(test_stores_threads_page4096),
        cmocka_unit_test(test_stores_threads_small_arena),
        cmocka_unit_test(test_relax_hook_called_while_a_store_is_held),
    };
    g_seed = seed_from_env();
    g_quick = quick_from_env();
    g_ops = o && *o ? (size_t)strtoull(o, NULL, 0) : 0;
    if (race && *race && strcmp(race, "0") != 0)
        return race_main(race);
    printf("test_threads: seed %llu (replay with ANALLOC_SEED=%llu)%s%s\n", (unsigned long long)g_seed,
           (unsigned long long)g_seed, g_quick ? ", quick" : "", UNDER_TSAN ? ", ThreadSanitizer" : "");
    fflush(stdout);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
