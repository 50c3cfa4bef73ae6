/*
 * test_abi.c - a program built with other compile-time settings than the
 * library still gets a struct analloc of the library's size.
 *
 * The Makefile compiles this file with the tunables that used to shape the
 * struct (ANALLOC_RESERVE_MAX, ANALLOC_CACHE_MAX, ANALLOC_CACHE_ORDERS) set
 * to other values than the library's, and links it with the library as
 * built.  When those macros sized arrays inside the struct, the library
 * wrote past the end of this program's smaller struct: the guard bytes
 * behind it catch that, on the stack and in static storage.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analloc.h"

#define GUARD 0xa5
#define GUARD_BYTES 2048u
#define PAGE 4096u
#define PAGES 512u

/* The struct with guard bytes after it, as the caller's compiler lays it out. */
struct guarded {
    struct analloc a;
    unsigned char guard[GUARD_BYTES];
};

static void guard_fill(struct guarded *g) { memset(g->guard, GUARD, sizeof g->guard); }

static void guard_intact(const struct guarded *g)
{
    for (size_t i = 0; i < sizeof g->guard; i++)
        if (g->guard[i] != GUARD)
            fail_msg("the library wrote %zu bytes or more past this program's struct analloc "
                     "(sizeof %zu here)", i + 1u, sizeof g->a);
}

/* Exercise every table the struct used to hold: reserved ranges up to the
 * library's limit, cached blocks of each cached order, then a check. */
static void exercise(struct analloc *a)
{
    struct analloc_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    assert_int_equal(analloc_stats(a, &st), 0);
    assert_true(st.reserve_max >= 1u);
    uintptr_t base = (uintptr_t)a->start;
    size_t pages = a->managed / PAGE;
    assert_true(pages >= 2u * st.reserve_max + 64u);
    /* Ranges one page long, one page apart, at the top: as many as the
     * library holds, then one more, refused. */
    for (size_t i = 0; i < st.reserve_max; i++)
        assert_int_equal(analloc_reserve(a, base + (pages - 1u - 2u * i) * PAGE, PAGE), 0);
    assert_int_equal(analloc_reserve(a, base + (pages - 1u - 2u * st.reserve_max) * PAGE, PAGE),
                     ANALLOC_ELIMIT);
    /* Fill the block cache of every cached order that the arena has room
     * for, list by list. */
    void *blocks[64];
    for (unsigned k = 0; k < st.cache_orders; k++) {
        size_t n = st.cache_slots_max < 64u ? st.cache_slots_max : 64u;
        if ((n << k) > pages / 4u)
            break;
        for (size_t i = 0; i < n; i++)
            assert_non_null(blocks[i] = analloc_alloc(a, (size_t)PAGE << k));
        for (size_t i = 0; i < n; i++)
            assert_int_equal(analloc_free(a, blocks[i]), 0);
    }
    assert_int_equal(analloc_check(a), 0);
    for (size_t i = 0; i < st.reserve_max; i++)
        assert_int_equal(analloc_release(a, base + (pages - 1u - 2u * i) * PAGE, PAGE), 0);
    assert_int_equal(analloc_check(a), 0);
}

static void test_struct_on_the_stack(void **state)
{
    (void)state;
    unsigned char *chunk = aligned_alloc(PAGE, (size_t)PAGES * PAGE);
    assert_non_null(chunk);
    struct guarded g;
    guard_fill(&g);
    assert_int_equal(analloc_with_chunk(&g.a, chunk, (size_t)PAGES * PAGE, 0, PAGE), 0);
    guard_intact(&g);
    exercise(&g.a);
    guard_intact(&g);
    free(chunk);
}

static struct guarded g_static;

static void test_struct_in_static_storage(void **state)
{
    (void)state;
    size_t total = (size_t)PAGES * PAGE;
    size_t meta_size = analloc_meta_size(total, PAGE);
    void *meta = malloc(meta_size);
    assert_non_null(meta);
    guard_fill(&g_static);
    /* Addresses nobody maps: the allocator never touches them. */
    uintptr_t base = (uintptr_t)1 << (UINTPTR_MAX > 0xffffffffu ? 40 : 30);
    assert_int_equal(analloc_init(&g_static.a, (void *)base, total, PAGE, meta, meta_size), 0);
    guard_intact(&g_static);
    exercise(&g_static.a);
    guard_intact(&g_static);
    free(meta);
}

/* The library reports its version; the header it was built with is this one. */
static void test_version(void **state)
{
    (void)state;
    assert_int_equal(analloc_version(), ANALLOC_VERSION);
    assert_int_equal(ANALLOC_VERSION,
                     (ANALLOC_VERSION_MAJOR << 16) | (ANALLOC_VERSION_MINOR << 8) |
                         ANALLOC_VERSION_PATCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_struct_on_the_stack),
        cmocka_unit_test(test_struct_in_static_storage),
        cmocka_unit_test(test_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
