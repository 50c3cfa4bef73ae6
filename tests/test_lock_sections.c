/*
 * test_lock_sections.c - a lock section does metadata work only.
 *
 * The lock hook takes every access right away from the managed memory
 * (mprotect PROT_NONE) and the unlock hook gives it back, so any byte of
 * managed memory that the library reads or writes inside a lock section
 * kills the test with SIGSEGV: the copy of a moving realloc, the fills of
 * the debug poisoning, the annotations.  Every call of the API runs here
 * with the debug fills on, and the results are checked outside the lock
 * (the copy arrived, the fills are where they belong).  The instruction
 * counts of the sections are measured by `make test-lock-sections`
 * (tests/lock_sections/).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "analloc.h"
#include "testutil.h"

#define PAGE 4096u
#define PAGES 1024u

struct guard {
    unsigned char *arena;
    size_t bytes;
    unsigned sections, depth;
};

static void protect(struct guard *g, int prot)
{
    if (mprotect(g->arena, g->bytes, prot) != 0)
        fail_msg("%s", "mprotect failed");
}

static void guard_lock(void *ctx)
{
    struct guard *g = ctx;
    if (g->depth++ != 0)
        fail_msg("%s", "lock taken twice");
    g->sections++;
    protect(g, PROT_NONE);
}

static void guard_unlock(void *ctx)
{
    struct guard *g = ctx;
    if (--g->depth != 0)
        fail_msg("%s", "unlock without lock");
    protect(g, PROT_READ | PROT_WRITE);
}

struct fixture {
    struct analloc a;
    struct guard g;
    uint64_t *meta;
};

static struct fixture *fixture_new(void)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    /* The arena aligned to its size, so that every block lands where the
     * test expects, whatever address mmap picks (4 KiB-aligned on i386). */
    f->g.bytes = (size_t)PAGES * PAGE;
    unsigned char *m = mmap(NULL, 2u * f->g.bytes, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    size_t head = (size_t)(((uintptr_t)0 - (uintptr_t)m) & (f->g.bytes - 1u));
    f->g.arena = m + head;
    if (head != 0)
        munmap(m, head);
    munmap(f->g.arena + f->g.bytes, f->g.bytes - head);
    size_t meta_size = analloc_meta_size(f->g.bytes, PAGE);
    f->meta = malloc(meta_size);
    assert_non_null(f->meta);
    assert_int_equal(analloc_init(&f->a, f->g.arena, f->g.bytes, PAGE, f->meta, meta_size), 0);
    assert_int_equal(analloc_set_lock(&f->a, guard_lock, guard_unlock, &f->g), 0);
    return f;
}

static void fixture_free(struct fixture *f)
{
    assert_int_equal(f->g.depth, 0);
    munmap(f->g.arena, f->g.bytes);
    free(f->meta);
    free(f);
}

static void all_bytes(const unsigned char *p, size_t n, unsigned char c, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != c)
            fail_msg("%s: byte %zu is %#x, expected %#x", what, i, p[i], c);
}

/* Sections a call took, checked against what the header promises. */
#define SECTIONS(f, n, expr)                                                       \
    do {                                                                           \
        unsigned before_ = (f)->g.sections;                                        \
        expr;                                                                      \
        if ((f)->g.sections - before_ != (n))                                      \
            fail_msg("%s: %u lock sections, expected %u", #expr,                   \
                     (f)->g.sections - before_, (unsigned)(n));                    \
    } while (0)

static int walk_count(void *ctx, void *block, size_t bytes, unsigned kind)
{
    (void)block;
    (void)bytes;
    (void)kind;
    ++*(size_t *)ctx;
    return 0;
}

static void dump_nothing(void *ctx, const char *line)
{
    (void)ctx;
    (void)line;
}

/* Every call with both fills on: the managed memory is out of reach inside
 * every lock section, and each fill and copy still happens. */
static void test_poisoning_and_copies_outside_the_lock(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct analloc *a = &f->a;
    unsigned char *p, *q, *r;
    SECTIONS(f, 1, assert_int_equal(analloc_set_debug(a, ANALLOC_DEBUG_POISON_FREE |
                                                             ANALLOC_DEBUG_POISON_FRESH,
                                                         0xdf, 0xaf), 0));
    /* Fresh fill after the take. */
    SECTIONS(f, 1, p = analloc_alloc(a, 64u * PAGE));
    assert_non_null(p);
    all_bytes(p, 64u * PAGE, 0xaf, "fresh 64-page block");
    memset(p, 0x11, 64u * PAGE);
    /* A moving realloc: the new block taken in one section, the copy and the
     * fills outside, the old block freed in a second. */
    SECTIONS(f, 1, q = analloc_alloc(a, 64u * PAGE)); /* the buddy: p cannot grow */
    assert_non_null(q);
    SECTIONS(f, 2, r = analloc_realloc(a, p, 128u * PAGE));
    assert_non_null(r);
    assert_true(r != p);
    all_bytes(r, 64u * PAGE, 0x11, "copied half");
    all_bytes(r + 64u * PAGE, 64u * PAGE, 0xaf, "fresh half");
    all_bytes(p, 64u * PAGE, 0xdf, "the block a realloc left");
    /* Shrinking: the tail is filled between a validating section and the
     * section that frees it. */
    SECTIONS(f, 2, assert_ptr_equal(analloc_realloc(a, r, 16u * PAGE), r));
    all_bytes(r, 16u * PAGE, 0x11, "kept head");
    all_bytes(r + 16u * PAGE, 112u * PAGE, 0xdf, "freed tail");
    /* Growing in place: one section, then the fresh fill. */
    SECTIONS(f, 1, assert_ptr_equal(analloc_realloc(a, r, 128u * PAGE), r));
    all_bytes(r + 16u * PAGE, 112u * PAGE, 0xaf, "grown part");
    /* Free: fill between the sections. */
    SECTIONS(f, 2, assert_int_equal(analloc_free(a, q), 0));
    all_bytes(q, 64u * PAGE, 0xdf, "freed block");
    /* A bad free fills nothing and takes one section. */
    SECTIONS(f, 1, assert_int_equal(analloc_free(a, q), ANALLOC_EFREE));
    SECTIONS(f, 1, assert_int_equal(analloc_free(a, r + PAGE), ANALLOC_EINTERIOR));
    /* Small blocks go through the block cache. */
    for (unsigned i = 0; i < 20; i++) {
        SECTIONS(f, 1, p = analloc_alloc(a, PAGE));
        assert_non_null(p);
        all_bytes(p, PAGE, 0xaf, "fresh page");
        SECTIONS(f, 2, assert_int_equal(analloc_free(a, p), 0));
        all_bytes(p, PAGE, 0xdf, "freed page");
    }
    /* Placed and ranged allocation. */
    SECTIONS(f, 1, p = analloc_alloc_flags(a, 8u * PAGE, ANALLOC_HIGH));
    assert_non_null(p);
    all_bytes(p, 8u * PAGE, 0xaf, "high block");
    SECTIONS(f, 1, q = analloc_alloc_aligned(a, PAGE, 32u * PAGE, ANALLOC_LOW));
    assert_non_null(q);
    all_bytes(q, PAGE, 0xaf, "aligned page");
    /* Reserve and release never fill. */
    uintptr_t res = (uintptr_t)f->g.arena + 600u * PAGE;
    memset((void *)res, 0x77, 8u * PAGE);
    SECTIONS(f, 1, assert_int_equal(analloc_reserve(a, res, 8u * PAGE), 0));
    SECTIONS(f, 1, assert_int_equal(analloc_release(a, res, 8u * PAGE), 0));
    all_bytes((void *)res, 8u * PAGE, 0x77, "reserved and released pages");
    /* The read-only calls. */
    struct analloc_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    size_t blocks = 0;
    SECTIONS(f, 1, assert_int_equal(analloc_stats(a, &st), 0));
    SECTIONS(f, 1, assert_int_equal(analloc_walk(a, ANALLOC_BLOCK_ALL, walk_count, &blocks), 0));
    assert_true(blocks > 3);
    SECTIONS(f, 1, analloc_dump(a, dump_nothing, NULL, 0));
    SECTIONS(f, 1, assert_int_equal(analloc_check(a), 0));
    SECTIONS(f, 1, assert_int_equal(analloc_mem_size(a, r), 128u * PAGE));
    SECTIONS(f, 1, (void)analloc_frag_index(a, 3));
    SECTIONS(f, 1, (void)analloc_largest_free(a));
    SECTIONS(f, 1, (void)analloc_free_bytes(a));
    SECTIONS(f, 1, analloc_drain(a));
    SECTIONS(f, 1, assert_int_equal(analloc_set_debug(a, 0, 0, 0), 0));
    /* Without poisoning, a free is one section again. */
    SECTIONS(f, 1, assert_int_equal(analloc_free(a, r), 0));
    SECTIONS(f, 1, assert_int_equal(analloc_free(a, p), 0));
    SECTIONS(f, 1, assert_int_equal(analloc_free(a, q), 0));
    SECTIONS(f, 1, assert_int_equal(analloc_check(a), 0));
    fixture_free(f);
}

/* Many random operations of every size with the fills on: still no touch
 * of managed memory inside a section. */
static void test_random_operations_outside_the_lock(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct analloc *a = &f->a;
    assert_int_equal(analloc_set_debug(a, ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH,
                                       0x5a, 0xa5), 0);
    void *live[64] = {0};
    const char *env = getenv("ANALLOC_SEED");
    struct rng r = {env != NULL ? strtoull(env, NULL, 0) : 0x10c5ec7105ull};
    printf("   seed %llu (replay: ANALLOC_SEED=%llu)\n", (unsigned long long)r.s,
           (unsigned long long)r.s);
    for (unsigned step = 0; step < 4000; step++) {
        uint64_t x = rng_next(&r);
        unsigned i = (unsigned)(x % 64u), k = (unsigned)((x >> 8) % 8u);
        if (live[i] == NULL) {
            live[i] = analloc_alloc(a, (size_t)PAGE << k);
        } else if ((x >> 16) % 3u == 0) {
            void *n = analloc_realloc(a, live[i], (size_t)PAGE << k);
            if (n != NULL)
                live[i] = n;
        } else {
            assert_int_equal(analloc_free(a, live[i]), 0);
            live[i] = NULL;
        }
    }
    for (unsigned i = 0; i < 64; i++)
        if (live[i] != NULL)
            assert_int_equal(analloc_free(a, live[i]), 0);
    assert_int_equal(analloc_check(a), 0);
    fixture_free(f);
}

/* ---- Between the sections of one call ------------------------------------------
 * A moving realloc copies between two lock sections, and a poisoned free
 * fills between two: another thread may free the same block in between.
 * The unlock hook below plays that thread: after the first section of the
 * call under test, it frees the block itself. */

struct interloper {
    struct analloc *a;
    void *victim;    /* freed by the unlock hook once, when armed */
    size_t then;     /* bytes it allocates after that, if not 0 */
    void *got;       /* ... and what that allocation returned */
    unsigned depth;
    int freed;       /* what that free returned */
    size_t hook_calls;
    int hook_error;
};

static void interloper_lock(void *ctx)
{
    struct interloper *t = ctx;
    t->depth++;
}

static void interloper_unlock(void *ctx)
{
    struct interloper *t = ctx;
    t->depth--;
    if (t->victim != NULL && t->depth == 0) {
        void *v = t->victim;
        t->victim = NULL;
        t->freed = analloc_free(t->a, v); /* "another thread", between the sections */
        if (t->then != 0)
            t->got = analloc_alloc(t->a, t->then);
    }
}

static void interloper_hook(void *ctx, int error, const void *ptr)
{
    struct interloper *t = ctx;
    (void)ptr;
    t->hook_calls++;
    t->hook_error = error;
}

static void test_block_freed_between_sections(void **state)
{
    (void)state;
    size_t bytes = 256u * PAGE, meta_size = analloc_meta_size(bytes, PAGE);
    unsigned char *arena = aligned_alloc(bytes, bytes); /* aligned to its size: blocks as planned */
    uint64_t *meta = malloc(meta_size);
    assert_non_null(arena);
    assert_non_null(meta);
    struct analloc a;
    struct interloper t = {.a = &a};
    assert_int_equal(analloc_init(&a, arena, bytes, PAGE, meta, meta_size), 0);
    assert_int_equal(analloc_set_lock(&a, interloper_lock, interloper_unlock, &t), 0);
    analloc_set_error_hook(&a, interloper_hook, &t);

    /* A moving realloc: the old block is freed by the interloper while the
     * contents are copied; the realloc's second section finds it free and
     * reports it (EFREE), and still returns the new block. */
    unsigned char *p = analloc_alloc(&a, PAGE), *buddy = analloc_alloc(&a, PAGE);
    assert_non_null(p);
    assert_non_null(buddy);
    memset(p, 0x3c, PAGE);
    t.victim = p;
    unsigned char *q = analloc_realloc(&a, p, 4u * PAGE);
    assert_non_null(q);
    assert_true(q != p);
    assert_int_equal(t.freed, 0);
    all_bytes(q, PAGE, 0x3c, "the copy");
    assert_int_equal(t.hook_calls, 1);
    assert_int_equal(t.hook_error, ANALLOC_EFREE);
    assert_int_equal(analloc_check(&a), 0);
    assert_int_equal(analloc_mem_size(&a, q), 4u * PAGE);

    /* A poisoned free: the interloper frees the block first, between the
     * validating section and the filling; the second lookup reports it. */
    assert_int_equal(analloc_set_debug(&a, ANALLOC_DEBUG_POISON_FREE, 0xdd, 0), 0);
    t.victim = buddy;
    assert_int_equal(analloc_free(&a, buddy), ANALLOC_EFREE);
    assert_int_equal(t.freed, 0);
    assert_int_equal(t.hook_calls, 2);
    assert_int_equal(analloc_check(&a), 0);

    /* The same where the block is freed and handed out again, as a larger
     * block, in between: the second lookup finds a live block of another
     * order at the pointer, which is not the block validated: EFREE, and
     * the new owner's block is left alone. */
    assert_int_equal(analloc_free(&a, q), 0);
    assert_int_equal(analloc_set_cache(&a, 0), 0); /* freed pages merge at once */
    unsigned char *r = analloc_alloc(&a, PAGE);
    assert_non_null(r);
    t.victim = r;
    t.then = 2u * PAGE;
    assert_int_equal(analloc_free(&a, r), ANALLOC_EFREE);
    assert_int_equal(t.freed, 0);
    assert_ptr_equal(t.got, r); /* the lowest two pages again */
    assert_int_equal(t.hook_calls, 3);
    assert_int_equal(analloc_mem_size(&a, r), 2u * PAGE);
    assert_int_equal(analloc_check(&a), 0);
    free(meta);
    free(arena);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_poisoning_and_copies_outside_the_lock),
        cmocka_unit_test(test_random_operations_outside_the_lock),
        cmocka_unit_test(test_block_freed_between_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
