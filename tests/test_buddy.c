/*
 * test_buddy.c - tests for the vectormaps front (include/analloc/buddy.h):
 * buddy_init, buddy_init_at, buddy_alloc, buddy_free, buddy_last_error.
 *
 * Built with the defaults: a 16 MiB area aligned to 16 MiB, 1 MiB blocks.
 * Capacity is measured from outside: allocate 1 MiB blocks until buddy_alloc
 * returns NULL, check them, and free them again.
 */
#include "analloc.h"
#include "analloc/buddy.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MIB ((uintptr_t)1 << 20)
#define AREA (16 * MIB)
#define MAX_BLOCKS 64

/* A live block: [start, start + size). */
struct span {
    uintptr_t start, size;
};

static void *at(uintptr_t addr)
{
    return (void *)addr;
}

static uintptr_t addr_of(const void *p)
{
    return (uintptr_t)p;
}

/* Start of the built-in area: its single 16 MiB block.  Resets the front. */
static uintptr_t static_area(void)
{
    buddy_init();
    void *p = buddy_alloc((uint32_t)AREA);
    assert_non_null(p);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    buddy_init();
    return addr_of(p);
}

/*
 * Allocate 1 MiB blocks until buddy_alloc fails; each must be 1 MiB aligned,
 * inside [lo, hi), distinct, and outside the `nlive` live blocks given as
 * (start, size) pairs.  Free them all (no error may be recorded) and return
 * how many there were.  Reads (and so resets) buddy_last_error.
 */
static size_t capacity_1mib(uintptr_t lo, uintptr_t hi, const struct span *live, size_t nlive)
{
    void *blocks[MAX_BLOCKS];
    size_t n = 0;
    assert_int_equal(buddy_last_error(), 0);
    for (;;) {
        void *p = buddy_alloc((uint32_t)MIB);
        if (p == NULL)
            break;
        assert_true(n < MAX_BLOCKS);
        uintptr_t a = addr_of(p);
        assert_int_equal(a % MIB, 0);
        assert_true(a >= lo && a + MIB <= hi);
        for (size_t i = 0; i < n; i++)
            assert_true(blocks[i] != p);
        for (size_t i = 0; i < nlive; i++)
            assert_true(a + MIB <= live[i].start || a >= live[i].start + live[i].size);
        blocks[n++] = p;
    }
    for (size_t i = 0; i < n; i++)
        buddy_free(blocks[i]);
    assert_int_equal(buddy_last_error(), 0);
    return n;
}

/* Capacity of the built-in area with no live block to avoid. */
static size_t capacity_static(uintptr_t base)
{
    return capacity_1mib(base, base + AREA, NULL, 0);
}

static int reset_front(void **state)
{
    (void)state;
    buddy_init();
    (void)buddy_last_error();
    return 0;
}

/* ---- Allocation on the built-in area -------------------------------------- */

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = addr_of(*(void *const *)a), y = addr_of(*(void *const *)b);
    return x < y ? -1 : x > y;
}

static void test_sixteen_1mib_blocks_then_the_17th_fails(void **state)
{
    (void)state;
    void *p[16];
    buddy_init();
    for (int i = 0; i < 16; i++) {
        p[i] = buddy_alloc(1u << 20);
        assert_non_null(p[i]);
        assert_int_equal(addr_of(p[i]) % MIB, 0);
    }
    assert_null(buddy_alloc(1u << 20));
    assert_null(buddy_alloc(1));
    assert_null(buddy_alloc(0));
    /* Distinct and inside one 16 MiB-aligned 16 MiB range: then, being
     * 1 MiB-aligned, they tile it exactly. */
    uintptr_t base = addr_of(p[0]) & ~(AREA - 1);
    for (int i = 0; i < 16; i++)
        assert_int_equal(addr_of(p[i]) & ~(AREA - 1), base);
    qsort(p, 16, sizeof(p[0]), cmp_ptr);
    for (int i = 0; i < 16; i++)
        assert_int_equal(addr_of(p[i]), base + (uintptr_t)i * MIB);
    for (int i = 0; i < 16; i++)
        buddy_free(p[i]);
    assert_int_equal(buddy_last_error(), 0);
    /* All free again: the same 16 blocks are available. */
    assert_int_equal(capacity_static(base), 16);
}

static void test_whole_area_block_after_freeing_all(void **state)
{
    (void)state;
    void *p[16];
    buddy_init();
    for (int i = 0; i < 16; i++)
        assert_non_null(p[i] = buddy_alloc(1u << 20));
    /* Free in an interleaved order so that merging happens at every level. */
    for (int i = 0; i < 16; i += 2)
        buddy_free(p[i]);
    assert_null(buddy_alloc(2u << 20));
    for (int i = 15; i >= 1; i -= 2)
        buddy_free(p[i]);
    assert_int_equal(buddy_last_error(), 0);

    void *big = buddy_alloc(16u << 20);
    assert_non_null(big);
    assert_int_equal(addr_of(big) % AREA, 0);
    uintptr_t base = addr_of(big);
    for (int i = 0; i < 16; i++)
        assert_true(addr_of(p[i]) >= base && addr_of(p[i]) < base + AREA);
    /* While it is live, nothing else fits. */
    assert_null(buddy_alloc(1u << 20));
    assert_null(buddy_alloc(0));
    buddy_free(big);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_static(base), 16);
    /* And it can be taken again. */
    assert_ptr_equal(buddy_alloc(16u << 20), big);
    buddy_free(big);
}

struct rounding_case {
    uint32_t request;
    uintptr_t block; /* expected block size */
};

static void test_sizes_round_up_to_powers_of_two(void **state)
{
    (void)state;
    const uint32_t M = 1u << 20;
    const struct rounding_case cases[] = {
        {1, MIB},
        {4096, MIB},
        {M - 1, MIB},
        {M, MIB},
        {M + 1, 2 * MIB},
        {2 * M, 2 * MIB},
        {2 * M + 1, 4 * MIB},
        {3 * M, 4 * MIB},
        {3 * M + 12345, 4 * MIB},
        {4 * M, 4 * MIB},
        {4 * M + 1, 8 * MIB},
        {5 * M, 8 * MIB},
        {7 * M + 1, 8 * MIB},
        {8 * M, 8 * MIB},
        {8 * M + 1, 16 * MIB},
        {9 * M, 16 * MIB},
        {15 * M, 16 * MIB},
        {16 * M, 16 * MIB},
    };
    uintptr_t base = static_area();
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        buddy_init();
        void *p = buddy_alloc(cases[c].request);
        if (p == NULL)
            fail_msg("buddy_alloc(%lu) returned NULL", (unsigned long)cases[c].request);
        uintptr_t a = addr_of(p);
        /* Aligned to the rounded size, inside the area. */
        assert_int_equal(a % cases[c].block, 0);
        assert_true(a >= base && a + cases[c].block <= base + AREA);
        /* It consumed exactly the rounded size: the rest stays allocatable in
         * 1 MiB blocks, none of them overlapping it. */
        const struct span live[] = {{a, cases[c].block}};
        size_t left = capacity_1mib(base, base + AREA, live, 1);
        if (left != 16 - cases[c].block / MIB)
            fail_msg("buddy_alloc(%lu): %zu MiB left, expected %lu", (unsigned long)cases[c].request,
                     left, (unsigned long)(16 - cases[c].block / MIB));
        buddy_free(p);
        assert_int_equal(buddy_last_error(), 0);
        assert_int_equal(capacity_static(base), 16);
    }
}

static void test_3mib_requests_take_4mib_each(void **state)
{
    (void)state;
    uintptr_t base = static_area();
    void *p[4];
    struct span live[4];
    for (int i = 0; i < 4; i++) {
        p[i] = buddy_alloc(3u << 20);
        assert_non_null(p[i]);
        assert_int_equal(addr_of(p[i]) % (4 * MIB), 0);
        live[i].start = addr_of(p[i]);
        live[i].size = 4 * MIB;
        for (int j = 0; j < i; j++)
            assert_true(p[j] != p[i]);
        assert_int_equal(capacity_1mib(base, base + AREA, live, (size_t)i + 1), 12 - 4 * (size_t)i);
    }
    /* Four 4 MiB blocks fill the area. */
    assert_null(buddy_alloc(3u << 20));
    assert_null(buddy_alloc(1));
    buddy_free(p[1]);
    buddy_free(p[2]);
    assert_int_equal(buddy_last_error(), 0);
    /* p[1] and p[2] are not buddies: no 8 MiB block, but 8 MiB in 1 MiB. */
    if (addr_of(p[1]) / (8 * MIB) != addr_of(p[2]) / (8 * MIB))
        assert_null(buddy_alloc(8u << 20));
    live[0].start = addr_of(p[0]);
    live[1].start = addr_of(p[3]);
    assert_int_equal(capacity_1mib(base, base + AREA, live, 2), 8);
    buddy_free(p[0]);
    buddy_free(p[3]);
    assert_int_equal(buddy_last_error(), 0);
    assert_non_null(buddy_alloc(16u << 20));
}

static void test_alloc_zero_gives_smallest_block(void **state)
{
    (void)state;
    uintptr_t base = static_area();
    void *p = buddy_alloc(0);
    assert_non_null(p);
    assert_int_equal(addr_of(p) % MIB, 0);
    assert_true(addr_of(p) >= base && addr_of(p) < base + AREA);
    const struct span live[] = {{addr_of(p), MIB}};
    assert_int_equal(capacity_1mib(base, base + AREA, live, 1), 15);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    /* Sixteen size-0 requests fill the area. */
    void *q[16];
    for (int i = 0; i < 16; i++) {
        q[i] = buddy_alloc(0);
        assert_non_null(q[i]);
        for (int j = 0; j < i; j++)
            assert_true(q[j] != q[i]);
    }
    assert_null(buddy_alloc(0));
    for (int i = 0; i < 16; i++)
        buddy_free(q[i]);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_static(base), 16);
}

static void test_too_large_requests_fail_and_change_nothing(void **state)
{
    (void)state;
    uintptr_t base = static_area();
    const uint32_t too_large[] = {
        UINT32_MAX, (16u << 20) + 1, 17u << 20, 32u << 20, 1u << 31, (1u << 31) + 1, UINT32_MAX - (1u << 20),
    };
    for (size_t i = 0; i < sizeof(too_large) / sizeof(too_large[0]); i++)
        if (buddy_alloc(too_large[i]) != NULL)
            fail_msg("buddy_alloc(%lu) did not fail", (unsigned long)too_large[i]);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_static(base), 16);
    /* With part of the area in use, too. */
    void *p = buddy_alloc(1u << 20);
    assert_non_null(p);
    assert_null(buddy_alloc(UINT32_MAX));
    assert_null(buddy_alloc((16u << 20) + 1));
    assert_null(buddy_alloc(16u << 20)); /* fits the area, but it is not free */
    const struct span live[] = {{addr_of(p), MIB}};
    assert_int_equal(capacity_1mib(base, base + AREA, live, 1), 15);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_static(base), 16);
}

/* ---- Frees ---------------------------------------------------------------- */

static void test_free_null_is_a_noop(void **state)
{
    (void)state;
    uintptr_t base = static_area();
    buddy_free(NULL);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_static(base), 16);
    void *p = buddy_alloc(4u << 20);
    assert_non_null(p);
    buddy_free(NULL);
    buddy_free(NULL);
    assert_int_equal(buddy_last_error(), 0);
    const struct span live[] = {{addr_of(p), 4 * MIB}};
    assert_int_equal(capacity_1mib(base, base + AREA, live, 1), 12);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_static(base), 16);
}

static void test_double_free_reports_efree(void **state)
{
    (void)state;
    uintptr_t base = static_area();
    void *p = buddy_alloc(1u << 20);
    void *q = buddy_alloc(1u << 20);
    assert_non_null(p);
    assert_non_null(q);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    /* p is free (q, maybe its buddy, is live: no merge). */
    buddy_free(p);
    assert_int_equal(buddy_last_error(), ANALLOC_EFREE);
    assert_int_equal(buddy_last_error(), 0);
    const struct span live[] = {{addr_of(q), MIB}};
    assert_int_equal(capacity_1mib(base, base + AREA, live, 1), 15);
    /* q was not disturbed: it frees once, then is a double free too, after
     * merging into the whole free area. */
    buddy_free(q);
    assert_int_equal(buddy_last_error(), 0);
    buddy_free(q);
    assert_int_equal(buddy_last_error(), ANALLOC_EFREE);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), ANALLOC_EFREE);
    /* Every 1 MiB position of a fresh area is free. */
    for (uintptr_t a = base; a < base + AREA; a += MIB) {
        buddy_free(at(a));
        assert_int_equal(buddy_last_error(), ANALLOC_EFREE);
    }
    assert_int_equal(capacity_static(base), 16);
    /* A freed 16 MiB block, freed again. */
    void *big = buddy_alloc(16u << 20);
    assert_non_null(big);
    buddy_free(big);
    assert_int_equal(buddy_last_error(), 0);
    buddy_free(big);
    assert_int_equal(buddy_last_error(), ANALLOC_EFREE);
    assert_int_equal(capacity_static(base), 16);
}

static void test_interior_free_reports_einterior(void **state)
{
    (void)state;
    uintptr_t base = static_area();
    void *p = buddy_alloc(4u << 20);
    assert_non_null(p);
    uintptr_t a = addr_of(p);
    for (uintptr_t off = MIB; off < 4 * MIB; off += MIB) {
        buddy_free(at(a + off));
        assert_int_equal(buddy_last_error(), ANALLOC_EINTERIOR);
    }
    /* Nothing changed: p is still live, the rest still free. */
    const struct span live[] = {{a, 4 * MIB}};
    assert_int_equal(capacity_1mib(base, base + AREA, live, 1), 12);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_static(base), 16);

    /* Inside the whole-area block. */
    void *big = buddy_alloc(16u << 20);
    assert_non_null(big);
    for (uintptr_t off = MIB; off < AREA; off += MIB) {
        buddy_free(at(addr_of(big) + off));
        assert_int_equal(buddy_last_error(), ANALLOC_EINTERIOR);
    }
    assert_null(buddy_alloc(0)); /* still live */
    buddy_free(big);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_static(base), 16);
}

static void test_outside_free_reports_erange(void **state)
{
    (void)state;
    uintptr_t base = static_area();
    void *p = buddy_alloc(2u << 20);
    assert_non_null(p);
    int local = 0;
    void *heap = malloc(64);
    assert_non_null(heap);
    /* Far from the area (addresses next to it: see the next test). */
    const uintptr_t outside[] = {
        MIB,                      /* a low address */
        addr_of(&local),          /* the stack */
        addr_of(heap),            /* the heap */
        UINTPTR_MAX & ~(MIB - 1), /* the top of the address space */
        UINTPTR_MAX,
    };
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        buddy_free(at(outside[i]));
        int err = buddy_last_error();
        if (err != ANALLOC_ERANGE)
            fail_msg("buddy_free(%#lx) (area %#lx): error %d, expected ANALLOC_ERANGE (%d)",
                     (unsigned long)outside[i], (unsigned long)base, err, ANALLOC_ERANGE);
    }
    free(heap);
    const struct span live[] = {{addr_of(p), 2 * MIB}};
    assert_int_equal(capacity_1mib(base, base + AREA, live, 1), 14);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_static(base), 16);
}

/* Addresses just outside the built-in area are outside it too, whatever the
 * library keeps next to the area in memory (its static metadata, say). */
static void test_free_next_to_area_reports_erange(void **state)
{
    (void)state;
    uintptr_t base = static_area();
    const uintptr_t past[] = {
        base + AREA, /* one past the end */
        base + AREA + MIB, base + 2 * AREA,
        base - MIB,  /* just before the start */
        base - AREA,
    };
    /* The front's static metadata sits next to the area in .bss (before or
     * after it, depending on the link); a pointer that lands in it is
     * ANALLOC_ERESERVED, which is also a correct answer here. */
    for (size_t i = 0; i < sizeof(past) / sizeof(past[0]); i++) {
        buddy_free(at(past[i]));
        int err = buddy_last_error();
        if (err != ANALLOC_ERANGE && err != ANALLOC_ERESERVED)
            fail_msg("buddy_free(%#lx = area %+ld MiB): error %d, expected ANALLOC_ERANGE (%d)",
                     (unsigned long)past[i], (long)(intptr_t)(past[i] - base) / (long)MIB, err,
                     ANALLOC_ERANGE);
    }
    /* A stack address is neither the area nor the metadata. */
    int on_stack = 0;
    buddy_free(&on_stack);
    assert_int_equal(buddy_last_error(), ANALLOC_ERANGE);
    assert_int_equal(capacity_static(base), 16);
}

static void test_misaligned_free_reports_ealign(void **state)
{
    (void)state;
    uintptr_t base = static_area();
    void *p = buddy_alloc(1u << 20);
    assert_non_null(p);
    uintptr_t a = addr_of(p);
    /* Inside the live block, and inside free memory: not a multiple of 1 MiB. */
    uintptr_t free_mib = a == base ? base + 8 * MIB : base;
    const uintptr_t misaligned[] = {
        a + 1, a + 8, a + 4096, a + MIB / 2, a + MIB - 1,
        free_mib + 1, free_mib + 4096, free_mib + MIB / 2,
        base + AREA - 1, /* the last byte of the area */
    };
    for (size_t i = 0; i < sizeof(misaligned) / sizeof(misaligned[0]); i++) {
        buddy_free(at(misaligned[i]));
        int err = buddy_last_error();
        if (err != ANALLOC_EALIGN)
            fail_msg("buddy_free(area + %#lx): error %d, expected ANALLOC_EALIGN (%d)",
                     (unsigned long)(misaligned[i] - base), err, ANALLOC_EALIGN);
    }
    const struct span live[] = {{a, MIB}};
    assert_int_equal(capacity_1mib(base, base + AREA, live, 1), 15);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_static(base), 16);
}

static void test_last_error_resets_after_read(void **state)
{
    (void)state;
    uintptr_t base = static_area();
    assert_int_equal(buddy_last_error(), 0);
    buddy_free(at(base + 1));
    assert_int_equal(buddy_last_error(), ANALLOC_EALIGN);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(buddy_last_error(), 0);
    /* The last rejected free wins. */
    buddy_free(at(base + 1));
    buddy_free(at(base - MIB));
    assert_int_equal(buddy_last_error(), ANALLOC_ERANGE);
    assert_int_equal(buddy_last_error(), 0);
    /* A successful free is not a rejected one: the error stays until read. */
    void *p = buddy_alloc(0);
    assert_non_null(p);
    buddy_free(at(base - MIB));
    buddy_free(p);
    assert_int_equal(buddy_last_error(), ANALLOC_ERANGE);
    assert_int_equal(buddy_last_error(), 0);
    /* buddy_init clears it. */
    buddy_free(at(base + 3));
    buddy_init();
    assert_int_equal(buddy_last_error(), 0);
    /* Allocations do not set it, even when they fail. */
    assert_null(buddy_alloc(UINT32_MAX));
    assert_int_equal(buddy_last_error(), 0);
}

static void test_init_again_frees_everything(void **state)
{
    (void)state;
    uintptr_t base = static_area();
    for (int i = 0; i < 16; i++)
        assert_non_null(buddy_alloc(1u << 20));
    assert_null(buddy_alloc(0));
    buddy_init();
    assert_int_equal(capacity_static(base), 16);
    void *big = buddy_alloc(16u << 20);
    assert_non_null(big);
    assert_int_equal(addr_of(big), base);
    /* Again, with a mix of sizes live. */
    buddy_init();
    assert_non_null(buddy_alloc(3u << 20));
    assert_non_null(buddy_alloc(0));
    assert_non_null(buddy_alloc(5u << 20));
    buddy_init();
    assert_ptr_equal(buddy_alloc(16u << 20), at(base));
    buddy_init();
    assert_int_equal(capacity_static(base), 16);
}

/* ---- Caller regions ------------------------------------------------------- */

static void test_init_at_caller_region(void **state)
{
    (void)state;
    const size_t size = 8u << 20;
    uintptr_t sbase = static_area();
    void *old = buddy_alloc(1u << 20); /* live in the built-in area */
    assert_non_null(old);
    void *region = aligned_alloc(size, size);
    assert_non_null(region);
    uintptr_t r = addr_of(region);

    assert_int_equal(buddy_init_at(region, size), 0);
    assert_int_equal(capacity_1mib(r, r + size, NULL, 0), 8);
    void *whole = buddy_alloc(8u << 20);
    assert_ptr_equal(whole, region);
    assert_null(buddy_alloc(0));
    buddy_free(whole);
    assert_int_equal(buddy_last_error(), 0);
    assert_null(buddy_alloc(16u << 20)); /* larger than the region */
    assert_null(buddy_alloc((8u << 20) + 1));

    void *p = buddy_alloc(2u << 20);
    assert_non_null(p);
    assert_true(addr_of(p) >= r && addr_of(p) + 2 * MIB <= r + size);
    assert_int_equal(addr_of(p) % (2 * MIB), 0);
    /* Bad frees against the region. */
    buddy_free(old); /* the built-in area is no longer managed */
    assert_int_equal(buddy_last_error(), ANALLOC_ERANGE);
    buddy_free(at(r + size));
    assert_int_equal(buddy_last_error(), ANALLOC_ERANGE);
    buddy_free(at(addr_of(p) + MIB));
    assert_int_equal(buddy_last_error(), ANALLOC_EINTERIOR);
    buddy_free(at(addr_of(p) + 100));
    assert_int_equal(buddy_last_error(), ANALLOC_EALIGN);
    const struct span live[] = {{addr_of(p), 2 * MIB}};
    assert_int_equal(capacity_1mib(r, r + size, live, 1), 6);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), ANALLOC_EFREE);
    assert_int_equal(capacity_1mib(r, r + size, NULL, 0), 8);

    /* buddy_init returns to the built-in area, all free. */
    buddy_init();
    assert_int_equal(capacity_static(sbase), 16);
    free(region);
}

/* Reserve `len` bytes of address space, PROT_NONE: any access faults. */
static void *reserve(size_t len)
{
    void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    return p;
}

static void test_init_at_too_large_keeps_previous_area(void **state)
{
    (void)state;
    uintptr_t sbase = static_area();
    void *res = reserve(64u << 20);
    assert_non_null(res);
    uintptr_t r = (addr_of(res) + AREA - 1) & ~(AREA - 1);

    void *p = buddy_alloc(1u << 20);
    assert_non_null(p);
    const size_t too_large[] = {(16u << 20) + 1, (16u << 20) + (1u << 20), 32u << 20, SIZE_MAX};
    for (size_t i = 0; i < sizeof(too_large) / sizeof(too_large[0]); i++)
        assert_int_equal(buddy_init_at(at(r), too_large[i]), ANALLOC_ETOOSMALL);
    /* The built-in area is still managed, with p still live. */
    const struct span live[] = {{addr_of(p), MIB}};
    assert_int_equal(capacity_1mib(sbase, sbase + AREA, live, 1), 15);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_static(sbase), 16);

    /* The same when the previous area is a caller region. */
    assert_int_equal(buddy_init_at(at(r), 8u << 20), 0);
    void *q = buddy_alloc(4u << 20);
    assert_non_null(q);
    assert_int_equal(buddy_init_at(at(r + AREA), 32u << 20), ANALLOC_ETOOSMALL);
    const struct span live_q[] = {{addr_of(q), 4 * MIB}};
    assert_int_equal(capacity_1mib(r, r + 8 * MIB, live_q, 1), 4);
    buddy_free(q);
    assert_int_equal(buddy_last_error(), 0);
    assert_ptr_equal(buddy_alloc(8u << 20), at(r));

    /* Exactly the largest size is accepted. */
    assert_int_equal(buddy_init_at(at(r), 16u << 20), 0);
    assert_int_equal(capacity_1mib(r, r + AREA, NULL, 0), 16);
    assert_ptr_equal(buddy_alloc(16u << 20), at(r));

    buddy_init();
    munmap(res, 64u << 20);
}

static void test_init_at_null_fails_keeps_previous_area(void **state)
{
    (void)state;
    uintptr_t sbase = static_area();
    void *p = buddy_alloc(2u << 20);
    assert_non_null(p);
    int rc = buddy_init_at(NULL, 8u << 20);
    assert_true(rc < 0);
    assert_true(rc >= ANALLOC_ECORRUPT); /* one of the ANALLOC_E* codes */
    rc = buddy_init_at(NULL, 0);
    assert_true(rc < 0);
    assert_true(rc >= ANALLOC_ECORRUPT);
    const struct span live[] = {{addr_of(p), 2 * MIB}};
    assert_int_equal(capacity_1mib(sbase, sbase + AREA, live, 1), 14);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_static(sbase), 16);
}

static void test_init_at_region_smaller_than_a_block_fails(void **state)
{
    (void)state;
    uintptr_t sbase = static_area();
    void *res = reserve(4u << 20);
    assert_non_null(res);
    uintptr_t r = (addr_of(res) + MIB - 1) & ~(MIB - 1);
    void *p = buddy_alloc(0);
    assert_non_null(p);
    /* No whole 1 MiB block inside: an error, and the previous area stays. */
    const size_t sizes[] = {0, 1, 4096, MIB - 1};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int rc = buddy_init_at(at(r), sizes[i]);
        if (rc >= 0)
            fail_msg("buddy_init_at(base, %zu) returned %d", sizes[i], rc);
    }
    int rc = buddy_init_at(at(r + 4096), MIB); /* straddles a block boundary */
    assert_true(rc < 0);
    const struct span live[] = {{addr_of(p), MIB}};
    assert_int_equal(capacity_1mib(sbase, sbase + AREA, live, 1), 15);
    buddy_free(p);
    assert_int_equal(buddy_last_error(), 0);
    /* One block exactly is enough. */
    assert_int_equal(buddy_init_at(at(r), MIB), 0);
    assert_ptr_equal(buddy_alloc(0), at(r));
    assert_null(buddy_alloc(0));
    buddy_init();
    munmap(res, 4u << 20);
}

/*
 * The library never touches the area: a PROT_NONE region, where any read or
 * write faults, can be managed, allocated and freed, bad frees included.
 */
static void test_init_at_prot_none_region_is_never_touched(void **state)
{
    (void)state;
    void *res = reserve(48u << 20);
    assert_non_null(res);
    uintptr_t r = (addr_of(res) + AREA - 1) & ~(AREA - 1);

    assert_int_equal(buddy_init_at(at(r), 16u << 20), 0);
    void *p[16];
    for (int i = 0; i < 16; i++) {
        p[i] = buddy_alloc(1u << 20);
        assert_non_null(p[i]);
        assert_true(addr_of(p[i]) >= r && addr_of(p[i]) < r + AREA);
        assert_int_equal(addr_of(p[i]) % MIB, 0);
    }
    assert_null(buddy_alloc(1u << 20));
    qsort(p, 16, sizeof(p[0]), cmp_ptr);
    for (int i = 0; i < 16; i++)
        assert_int_equal(addr_of(p[i]), r + (uintptr_t)i * MIB);
    for (int i = 0; i < 16; i++)
        buddy_free(p[i]);
    assert_int_equal(buddy_last_error(), 0);

    void *big = buddy_alloc(16u << 20);
    assert_ptr_equal(big, at(r));
    buddy_free(at(r + MIB));
    assert_int_equal(buddy_last_error(), ANALLOC_EINTERIOR);
    buddy_free(at(r + 5));
    assert_int_equal(buddy_last_error(), ANALLOC_EALIGN);
    buddy_free(at(r + AREA));
    assert_int_equal(buddy_last_error(), ANALLOC_ERANGE);
    buddy_free(big);
    assert_int_equal(buddy_last_error(), 0);
    buddy_free(big);
    assert_int_equal(buddy_last_error(), ANALLOC_EFREE);

    void *a = buddy_alloc(3u << 20);
    void *b = buddy_alloc(0);
    void *c = buddy_alloc(8u << 20);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    const struct span live[] = {{addr_of(a), 4 * MIB}, {addr_of(b), MIB}, {addr_of(c), 8 * MIB}};
    assert_int_equal(capacity_1mib(r, r + AREA, live, 3), 3);
    buddy_free(a);
    buddy_free(b);
    buddy_free(c);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_1mib(r, r + AREA, NULL, 0), 16);

    /* An 8 MiB region aligned to 8 MiB but not to 16 MiB. */
    uintptr_t r8 = r + AREA + 8 * MIB;
    assert_int_equal(buddy_init_at(at(r8), 8u << 20), 0);
    assert_int_equal(capacity_1mib(r8, r8 + 8 * MIB, NULL, 0), 8);
    assert_ptr_equal(buddy_alloc(8u << 20), at(r8));

    buddy_init();
    munmap(res, 48u << 20);
}

/* A region not aligned to its size: blocks stay aligned to their own size in
 * absolute addresses, so [1 MiB, 9 MiB) (relative to a 16 MiB boundary) has
 * no 8 MiB block, but holds 1 + 2 + 4 + 1 MiB. */
static void test_init_at_region_not_aligned_to_its_size(void **state)
{
    (void)state;
    void *res = reserve(32u << 20);
    assert_non_null(res);
    uintptr_t r16 = (addr_of(res) + AREA - 1) & ~(AREA - 1);
    uintptr_t r = r16 + MIB;
    assert_int_equal(buddy_init_at(at(r), 8u << 20), 0);
    assert_int_equal(capacity_1mib(r, r + 8 * MIB, NULL, 0), 8);
    assert_null(buddy_alloc(8u << 20));
    void *p4 = buddy_alloc(4u << 20);
    assert_ptr_equal(p4, at(r16 + 4 * MIB));
    void *p2 = buddy_alloc(2u << 20);
    assert_ptr_equal(p2, at(r16 + 2 * MIB));
    assert_null(buddy_alloc(2u << 20));
    const struct span live[] = {{addr_of(p4), 4 * MIB}, {addr_of(p2), 2 * MIB}};
    assert_int_equal(capacity_1mib(r, r + 8 * MIB, live, 2), 2);
    buddy_free(p4);
    buddy_free(p2);
    assert_int_equal(buddy_last_error(), 0);
    assert_int_equal(capacity_1mib(r, r + 8 * MIB, NULL, 0), 8);
    buddy_init();
    munmap(res, 32u << 20);
}

/* The built-in area itself is never touched either: make it inaccessible
 * and run allocations and frees on it. */
static void test_static_area_is_never_touched(void **state)
{
    (void)state;
    uintptr_t base = static_area();
    if (mprotect(at(base), AREA, PROT_NONE) != 0)
        skip();
    buddy_init();
    void *p[16];
    for (int i = 0; i < 16; i++)
        assert_non_null(p[i] = buddy_alloc(0));
    assert_null(buddy_alloc(0));
    buddy_free(at(addr_of(p[3]) + 1));
    assert_int_equal(buddy_last_error(), ANALLOC_EALIGN);
    for (int i = 15; i >= 0; i--)
        buddy_free(p[i]);
    assert_int_equal(buddy_last_error(), 0);
    void *big = buddy_alloc(16u << 20);
    assert_ptr_equal(big, at(base));
    buddy_free(at(base + 2 * MIB));
    assert_int_equal(buddy_last_error(), ANALLOC_EINTERIOR);
    buddy_free(big);
    buddy_free(big);
    assert_int_equal(buddy_last_error(), ANALLOC_EFREE);
    buddy_init();
    assert_int_equal(mprotect(at(base), AREA, PROT_READ | PROT_WRITE), 0);
}

#define T(f) cmocka_unit_test_setup(f, reset_front)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_sixteen_1mib_blocks_then_the_17th_fails),
        T(test_whole_area_block_after_freeing_all),
        T(test_sizes_round_up_to_powers_of_two),
        T(test_3mib_requests_take_4mib_each),
        T(test_alloc_zero_gives_smallest_block),
        T(test_too_large_requests_fail_and_change_nothing),
        T(test_free_null_is_a_noop),
        T(test_double_free_reports_efree),
        T(test_interior_free_reports_einterior),
        T(test_outside_free_reports_erange),
        T(test_free_next_to_area_reports_erange),
        T(test_misaligned_free_reports_ealign),
        T(test_last_error_resets_after_read),
        T(test_init_again_frees_everything),
        T(test_init_at_caller_region),
        T(test_init_at_too_large_keeps_previous_area),
        T(test_init_at_null_fails_keeps_previous_area),
        T(test_init_at_region_smaller_than_a_block_fails),
        T(test_init_at_prot_none_region_is_never_touched),
        T(test_init_at_region_not_aligned_to_its_size),
        T(test_static_area_is_never_touched),
    };
    return cmocka_run_group_tests_name("buddy (vectormaps front)", tests, NULL, NULL);
}
