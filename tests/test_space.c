/*
 * test_space.c - address spaces and exact-size runs (include/analloc.h,
 * "Address spaces" and "Exact-size runs"): setting a space up and every
 * refusal, address 0 as a block, a space above 4 GiB (the point on 32-bit
 * targets: this file runs in the i386 cross suite too), the top of the
 * 64-bit space, runs and their tails, resizing in place, pointer calls on
 * a space and space calls on pointers, every bad input with its error and
 * nothing changed, and one random program run through both interfaces with
 * every result compared.  The shadow model drives both interfaces too
 * (tests/model.c).
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
#define GIB ((uint64_t)1 << 30)

/* A space allocator with its metadata on the heap, and an error hook that
 * copies the address it is given (it points to the caller's stack). */
struct space {
    struct analloc a;
    void *meta;
    size_t meta_size;
    size_t hook_calls;
    int hook_error;
    uint64_t hook_addr;
};

static void space_hook(void *ctx, int error, const void *p)
{
    struct space *t = ctx;
    t->hook_calls++;
    t->hook_error = error;
    memcpy(&t->hook_addr, p, sizeof t->hook_addr);
}

static void space_init(struct space *t, uint64_t base, uint64_t size, size_t page)
{
    memset(t, 0, sizeof *t);
    t->meta_size = analloc_space_meta_size(size, page);
    assert_true(t->meta_size != 0);
    t->meta = malloc(t->meta_size);
    assert_non_null(t->meta);
    ASSERT_ERR(analloc_space_init(&t->a, base, size, page, t->meta, t->meta_size), ANALLOC_OK);
    analloc_set_error_hook(&t->a, space_hook, t);
    ASSERT_ERR(analloc_check(&t->a), ANALLOC_OK);
}

static void space_fini(struct space *t)
{
    ASSERT_ERR(analloc_check(&t->a), ANALLOC_OK);
    free(t->meta);
}

static struct analloc_stats stats_of(const struct analloc *a)
{
    struct analloc_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    ASSERT_ERR(analloc_stats(a, &st), ANALLOC_OK);
    return st;
}

/* The hook heard exactly one more error, this one, about this address. */
static void heard(struct space *t, size_t *calls, int error, uint64_t at)
{
    assert_int_equal(t->hook_calls, *calls + 1u);
    assert_int_equal(t->hook_error, error);
    assert_true(t->hook_addr == at);
    *calls = t->hook_calls;
}

/* analloc_space_walk's callback: blocks in address order, none missing. */
struct walk_sum {
    uint64_t next, bytes, used;
    unsigned calls;
};

static int walk_add(void *ctx, uint64_t at, uint64_t bytes, unsigned kind)
{
    struct walk_sum *w = ctx;
    if (w->calls++ != 0 && at != w->next)
        return -100; /* a gap or an overlap */
    w->next = at + bytes;
    w->bytes += bytes;
    w->used += kind == ANALLOC_BLOCK_USED ? bytes : 0;
    return 0;
}

/* analloc_dump's output: keep the first line. */
static void first_line(void *ctx, const char *text)
{
    char *line = ctx;
    if (line[0] == '\0')
        snprintf(line, 256, "%s", text);
}

/* ---- Setting up --------------------------------------------------------------- */

/* Each refusal in the header's order, writing nothing: the struct (filled
 * with a pattern) and the buffer (another) compared byte for byte. */
static void test_space_init_errors(void **state)
{
    (void)state;
    struct analloc a, before;
    size_t msize = analloc_space_meta_size(64 * PAGE, PAGE);
    unsigned char *meta = malloc(msize), *meta_before = malloc(msize);
    assert_non_null(meta);
    assert_non_null(meta_before);
    memset(&a, 0x5a, sizeof a);
    memset(meta, 0xa5, msize);
    memcpy(&before, &a, sizeof a);
    memcpy(meta_before, meta, msize);
    const uint64_t top = UINT64_MAX - (PAGE - 1u); /* 2^64 - page */
    struct {
        struct analloc *a;
        uint64_t base, size;
        size_t page;
        void *meta;
        size_t meta_size;
        int want;
    } cases[] = {
        {NULL, 0, 64 * PAGE, PAGE, meta, msize, ANALLOC_EINVAL},
        {&a, 0, 64 * PAGE, PAGE, NULL, msize, ANALLOC_EINVAL},
        {&a, 0, 64 * PAGE, 3000, meta, msize, ANALLOC_EINVAL},           /* page */
        {&a, 0, 64 * PAGE, 0, meta, msize, ANALLOC_EINVAL},
        {&a, top - 64 * PAGE + 1u, 64 * PAGE, PAGE, meta, msize, ANALLOC_EINVAL}, /* reaches the last page */
        {&a, UINT64_MAX - 10u, 64 * PAGE, PAGE, meta, msize, ANALLOC_EINVAL},     /* wraps */
        {&a, 0, 64 * PAGE, PAGE, (void *)(UINTPTR_MAX - 15u), msize, ANALLOC_EINVAL}, /* buffer wraps */
        {&a, 0, (uint64_t)1 << 62, PAGE, meta, msize, ANALLOC_EINVAL},   /* more pages than fit */
        {&a, 0, 64 * PAGE, PAGE, meta, msize - 1u, ANALLOC_ETOOSMALL},
        {(struct analloc *)(void *)(meta + 8), 0, 64 * PAGE, PAGE, meta, msize, ANALLOC_EOVERLAP},
        {&a, 1, PAGE, PAGE, meta, msize, ANALLOC_ETOOSMALL},             /* no whole page */
        {&a, 5, 0, PAGE, meta, msize, ANALLOC_ETOOSMALL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int got = analloc_space_init(cases[i].a, cases[i].base, cases[i].size, cases[i].page,
                                     cases[i].meta, cases[i].meta_size);
        if (got != cases[i].want)
            fail_msg("case %zu: analloc_space_init returned %d, expected %d", i, got, cases[i].want);
        assert_int_equal(first_diff(&a, &before, sizeof a), SIZE_MAX);
        assert_int_equal(first_diff(meta, meta_before, msize), SIZE_MAX);
    }
    /* A space that ends at the last page (2^64 - page): its aligned
     * blocks are numbered as anywhere else. */
    struct space t;
    space_init(&t, top - 64 * PAGE, 64 * PAGE, PAGE);
    assert_true(analloc_space_alloc(&t.a, 64 * PAGE) == ANALLOC_NO_ADDR); /* none aligned inside */
    assert_true(analloc_space_alloc(&t.a, 32 * PAGE) == top - 63 * PAGE); /* 2^64 - 32 pages */
    assert_true(analloc_space_alloc(&t.a, PAGE) == top - 64 * PAGE);
    assert_true(analloc_space_alloc_range(&t.a, PAGE, 0, 0, ANALLOC_SPACE_END, ANALLOC_HIGH) ==
                top - PAGE);
    space_fini(&t);
    /* A space of one page: depth 0, no cache list of its own use. */
    space_init(&t, (uint64_t)7 << 40, PAGE, PAGE);
    assert_int_equal(t.a.depth, 0);
    assert_true(analloc_space_alloc(&t.a, PAGE) == (uint64_t)7 << 40);
    assert_true(analloc_space_alloc(&t.a, PAGE) == ANALLOC_NO_ADDR);
    ASSERT_ERR(analloc_space_free(&t.a, (uint64_t)7 << 40), ANALLOC_OK);
    space_fini(&t);
    /* analloc_space_meta_size: 0 where setup would refuse. */
    assert_int_equal(analloc_space_meta_size(64 * PAGE, 3000), 0);
    assert_int_equal(analloc_space_meta_size((uint64_t)1 << 62, PAGE), 0);
    assert_true(analloc_space_meta_size(0, PAGE) != 0);
    /* The largest page (2^62 bytes on 64-bit targets): no space of such
     * pages fits below 2^63 bytes. */
    const size_t huge_page = (size_t)1 << (sizeof(size_t) * 8u - 2u);
    ASSERT_ERR(analloc_space_init(&a, 0, (uint64_t)1 << 62, huge_page, meta, msize), ANALLOC_EINVAL);
    if (sizeof(size_t) == 8)
        assert_int_equal(analloc_space_meta_size(1u << 20, huge_page), 0);
    /* The constant bound holds the exact need, at every count and base. */
    for (uint64_t pages = 1; pages < ((uint64_t)1 << 29); pages = pages * 3u + (pages & 1u)) {
        size_t need = analloc_space_meta_size(pages * PAGE, PAGE);
        assert_true(need != 0 && need <= ANALLOC_SPACE_META_SIZE_MAX(pages));
    }
    free(meta);
    free(meta_before);
}

/* Address 0 is an ordinary block: handed out, sized, freed, found free. */
static void test_address_zero_is_a_block(void **state)
{
    (void)state;
    struct space t;
    space_init(&t, 0, 64 * PAGE, PAGE);
    assert_null(t.a.start);
    assert_int_equal(t.a.managed, 64 * PAGE);
    uint64_t x = analloc_space_alloc(&t.a, PAGE);
    assert_true(x == 0);
    assert_true(analloc_space_size(&t.a, 0) == PAGE);
    ASSERT_ERR(analloc_space_free(&t.a, 0), ANALLOC_OK);
    size_t calls = 0;
    ASSERT_ERR(analloc_space_free(&t.a, 0), ANALLOC_EFREE);
    heard(&t, &calls, ANALLOC_EFREE, 0);
    analloc_drain(&t.a);
    assert_true(analloc_space_alloc(&t.a, 64 * PAGE) == 0); /* the whole space */
    assert_true(analloc_space_alloc(&t.a, PAGE) == ANALLOC_NO_ADDR);
    ASSERT_ERR(analloc_space_free(&t.a, 0), ANALLOC_OK);
    ASSERT_ERR(analloc_space_free(&t.a, ANALLOC_NO_ADDR), ANALLOC_OK); /* as free(NULL) */
    assert_true(analloc_space_alloc_range(&t.a, PAGE, 0, 0, PAGE, 0) == 0);
    space_fini(&t);
}

/* A space of 64 GiB above 64 GiB: on a 32-bit target, the addresses and
 * sizes pass 4 GiB everywhere (page numbers stay 32-bit). */
static void test_space_above_4gib(void **state)
{
    (void)state;
    const uint64_t base = ((uint64_t)1 << 36) + 5u * PAGE, size = (uint64_t)1 << 36;
    struct space t;
    space_init(&t, base, size, PAGE);
    struct analloc_stats st = stats_of(&t.a);
    assert_int_equal(st.space, 1);
    assert_true(st.space_start == base && st.space_managed == size && st.space_free == size);
    assert_int_equal(st.managed_bytes, sizeof(size_t) < 8 ? SIZE_MAX : (size_t)size);
    assert_int_equal(t.a.managed, st.managed_bytes);
    /* The largest block, aligned to its 32 GiB: the only one inside. */
    uint64_t big = analloc_space_alloc(&t.a, (uint64_t)1 << 35);
    assert_true(big == ((uint64_t)1 << 36) + ((uint64_t)1 << 35));
    assert_true(analloc_space_size(&t.a, big) == (uint64_t)1 << 35);
    /* A run of 3 GiB from a 4 GiB block: the tail's GiB is free at once. */
    uint64_t run = 0;
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 3 * GIB, 0, 0, ANALLOC_SPACE_END, 0, &run),
               ANALLOC_OK);
    assert_true(run >= base && run % (4 * GIB) == 0);
    assert_true(analloc_space_size(&t.a, run) == 2 * GIB);
    assert_true(analloc_space_size(&t.a, run + 2 * GIB) == GIB);
    st = stats_of(&t.a);
    assert_true(st.space_used == ((uint64_t)1 << 35) + 3 * GIB);
    assert_true(st.space_free == size - st.space_used);
    /* Placement in a window above 4 GiB, from the top. */
    uint64_t hi = analloc_space_alloc_range(&t.a, PAGE, 0, base, base + GIB, ANALLOC_HIGH);
    assert_true(hi == base + GIB - PAGE);
    /* A walk sees addresses and sizes above 4 GiB, in order, covering the
     * space; the dump prints the 64-bit start. */
    struct walk_sum w = {0, 0, 0, 0};
    ASSERT_ERR(analloc_space_walk(&t.a, ANALLOC_BLOCK_ALL, walk_add, &w), 0);
    assert_true(w.next == base + size && w.bytes == size && w.used == st.space_used + PAGE);
    char line[256] = "";
    analloc_dump(&t.a, first_line, line, 0);
    assert_non_null(strstr(line, "at 0x0000001000005000"));
    ASSERT_ERR(analloc_space_free_exact(&t.a, run, 3 * GIB), ANALLOC_OK);
    ASSERT_ERR(analloc_space_free(&t.a, big), ANALLOC_OK);
    ASSERT_ERR(analloc_space_free(&t.a, hi), ANALLOC_OK);
    analloc_drain(&t.a);
    st = stats_of(&t.a);
    assert_true(st.space_free == size && st.space_largest_free == (uint64_t)1 << 35);
    space_fini(&t);
}

/* ---- Pointers and spaces --------------------------------------------------------- */

static int walk_ptr_count(void *ctx, void *block, size_t bytes, unsigned kind)
{
    (void)block, (void)bytes, (void)kind;
    ++*(unsigned *)ctx;
    return 0;
}

/* Every call that takes or returns a pointer refuses an address space, and
 * changes nothing (its numbers are not pointers). */
static void test_pointer_calls_refuse_a_space(void **state)
{
    (void)state;
    struct space t;
    space_init(&t, 0, 64 * PAGE, PAGE);
    uint64_t x = analloc_space_alloc(&t.a, 2 * PAGE);
    assert_true(x == 0);
    struct snap sn;
    snap_take(&sn, &t.a);
    void *p = NULL;
    unsigned n = 0;
    struct analloc_cpu cpu;
    memset(&cpu, 0, sizeof cpu);
    assert_null(analloc_alloc(&t.a, PAGE));
    assert_null(analloc_alloc_flags(&t.a, PAGE, ANALLOC_HIGH));
    assert_null(analloc_alloc_range(&t.a, PAGE, 0, 0, UINTPTR_MAX, 0));
    assert_null(analloc_alloc_aligned(&t.a, PAGE, 4 * PAGE, 0));
    assert_null(analloc_realloc(&t.a, (void *)(uintptr_t)(2 * PAGE), PAGE));
    ASSERT_ERR(analloc_free(&t.a, (void *)(uintptr_t)PAGE), ANALLOC_EINVAL);
    assert_int_equal(analloc_mem_size(&t.a, (void *)(uintptr_t)PAGE), 0);
    ASSERT_ERR(analloc_alloc_exact(&t.a, PAGE, 0, 0, UINTPTR_MAX, 0, &p), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_free_exact(&t.a, (void *)(uintptr_t)PAGE, PAGE), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_reserve(&t.a, 8 * PAGE, PAGE), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_release(&t.a, 8 * PAGE, PAGE), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_walk(&t.a, ANALLOC_BLOCK_ALL, walk_ptr_count, &n), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_set_debug(&t.a, ANALLOC_DEBUG_POISON_FREE, 0xdd, 0xcc), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_cpu_attach(&t.a, &cpu), ANALLOC_EINVAL);
    assert_null(cpu.a);
    assert_null(p);
    assert_int_equal(n, 0);
    assert_int_equal(t.hook_calls, 0);
    SNAP_SAME(&sn, &t.a, "pointer calls on an address space");
    /* What takes any allocator does. */
    ASSERT_ERR(analloc_set_debug(&t.a, 0, 0, 0), ANALLOC_OK);
    ASSERT_ERR(analloc_set_cache(&t.a, 0), ANALLOC_OK);
    /* 62 pages free in 5 blocks (2, 4, 8, 16, 32 pages) */
    assert_int_equal(analloc_frag_index(&t.a, 6), 1000 - (1000 + 1000 * 62 / 64) / 5);
    snap_free(&sn);
    space_fini(&t);
}

/* The space calls on an allocator over pointers: addresses are the
 * pointers' values, and the two interfaces mix. */
static void test_space_calls_on_pointers(void **state)
{
    (void)state;
    size_t bytes = 64 * PAGE, msize = analloc_meta_size(bytes, PAGE);
    void *meta = malloc(msize);
    assert_non_null(meta);
    uintptr_t base = fake_base(bytes, bytes);
    struct analloc a;
    ASSERT_ERR(analloc_init(&a, (void *)base, bytes, PAGE, meta, msize), ANALLOC_OK);
    uint64_t x = analloc_space_alloc(&a, 3 * PAGE);
    assert_true(x == base);
    assert_int_equal(analloc_mem_size(&a, (void *)(uintptr_t)x), 4 * PAGE);
    void *p = analloc_alloc(&a, PAGE);
    assert_true(analloc_space_size(&a, (uintptr_t)p) == PAGE);
    ASSERT_ERR(analloc_space_free(&a, (uintptr_t)p), ANALLOC_OK);
    ASSERT_ERR(analloc_free(&a, (void *)(uintptr_t)x), ANALLOC_OK);
    uint64_t run = 0;
    ASSERT_ERR(analloc_space_alloc_exact(&a, 5 * PAGE, 0, 0, ANALLOC_SPACE_END, 0, &run), ANALLOC_OK);
    ASSERT_ERR(analloc_free_exact(&a, (void *)(uintptr_t)run, 5 * PAGE), ANALLOC_OK);
    /* The hook of an allocator over pointers hears pointers; an address no
     * pointer holds (on a 32-bit target), NULL. */
    struct checked_hook h;
    memset(&h, 0, sizeof h);
    h.magic = HOOK_MAGIC;
    analloc_set_error_hook(&a, checked_hook_record, &h);
    ASSERT_ERR(analloc_space_free(&a, base + PAGE / 2u), ANALLOC_EALIGN);
    assert_true(h.calls == 1 && h.ptr == (void *)(base + PAGE / 2u));
    ASSERT_ERR(analloc_space_free(&a, ((uint64_t)1 << 63) | base), ANALLOC_ERANGE);
    assert_true(h.calls == 2 && h.ptr == (sizeof(void *) < 8 ? NULL : (void *)(uintptr_t)(((uint64_t)1 << 63) | base)));
    analloc_set_error_hook(&a, NULL, NULL);
    ASSERT_ERR(analloc_space_reserve(&a, base + 60 * PAGE, 4 * PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_release(&a, base + 60 * PAGE, 4 * PAGE), ANALLOC_OK);
    struct analloc_stats st = stats_of(&a);
    assert_int_equal(st.space, 0);
    assert_true(st.space_start == base && st.space_free == bytes && st.free_bytes == bytes);
    ASSERT_ERR(analloc_check(&a), ANALLOC_OK);
    free(meta);
}

/* ---- Exact-size runs ---------------------------------------------------------------- */

/* A run is the blocks of its page count's binary digits, largest first,
 * and the tail is free at once; it frees whole or block by block. */
static void test_exact_runs(void **state)
{
    (void)state;
    struct space t;
    space_init(&t, 0, 64 * PAGE, PAGE);
    ASSERT_ERR(analloc_set_cache(&t.a, 0), ANALLOC_OK); /* addresses below: best fit, lowest */
    uint64_t r3 = 0, r5 = 0, r13 = 0;
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 3 * PAGE - 100, 0, 0, ANALLOC_SPACE_END, 0, &r3),
               ANALLOC_OK);
    assert_true(r3 == 0);
    assert_true(analloc_space_size(&t.a, 0) == 2 * PAGE);
    assert_true(analloc_space_size(&t.a, 2 * PAGE) == PAGE);
    assert_true(analloc_space_alloc(&t.a, PAGE) == 3 * PAGE); /* the tail: free */
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 5 * PAGE, 0, 0, ANALLOC_SPACE_END, 0, &r5),
               ANALLOC_OK);
    assert_true(r5 == 8 * PAGE); /* 4 + 1 pages; 3 free after it */
    assert_true(analloc_space_size(&t.a, r5) == 4 * PAGE);
    assert_true(analloc_space_size(&t.a, r5 + 4 * PAGE) == PAGE);
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 13 * PAGE, 0, 0, ANALLOC_SPACE_END, 0, &r13),
               ANALLOC_OK);
    assert_true(r13 == 16 * PAGE); /* 8 + 4 + 1 */
    struct analloc_stats st = stats_of(&t.a);
    assert_int_equal(st.used_bytes, (3 + 1 + 5 + 13) * PAGE);
    assert_int_equal(st.live_blocks, 2 + 1 + 2 + 3);
    /* A wrong size: ESIZE, nothing changed, the hook hears it. */
    struct snap sn;
    snap_take(&sn, &t.a);
    size_t calls = 0;
    ASSERT_ERR(analloc_space_free_exact(&t.a, r5, 6 * PAGE), ANALLOC_ESIZE);
    heard(&t, &calls, ANALLOC_ESIZE, r5);
    ASSERT_ERR(analloc_space_free_exact(&t.a, r5, 3 * PAGE), ANALLOC_ESIZE);
    heard(&t, &calls, ANALLOC_ESIZE, r5);
    ASSERT_ERR(analloc_space_free_exact(&t.a, r13, 14 * PAGE), ANALLOC_ESIZE); /* 8 + 4 + 2 */
    heard(&t, &calls, ANALLOC_ESIZE, r13);
    ASSERT_ERR(analloc_space_free_exact(&t.a, r13 + PAGE, 3 * PAGE), ANALLOC_EINTERIOR);
    heard(&t, &calls, ANALLOC_EINTERIOR, r13 + PAGE);
    ASSERT_ERR(analloc_space_free_exact(&t.a, 7 * PAGE, PAGE), ANALLOC_EFREE);
    heard(&t, &calls, ANALLOC_EFREE, 7 * PAGE);
    ASSERT_ERR(analloc_space_free_exact(&t.a, ANALLOC_NO_ADDR, PAGE), ANALLOC_OK); /* as free(NULL) */
    assert_int_equal(t.hook_calls, calls);
    SNAP_SAME(&sn, &t.a, "free_exact refused");
    snap_free(&sn);
    /* What the check cannot see (runs are not recorded, as the header
     * says): a size that is a prefix of the run's digits frees those
     * blocks; the rest stays live, a run of its own. */
    ASSERT_ERR(analloc_space_free_exact(&t.a, r13, 12 * PAGE), ANALLOC_OK); /* 8 + 4 */
    assert_true(analloc_space_size(&t.a, r13 + 12 * PAGE) == PAGE);
    ASSERT_ERR(analloc_space_free_exact(&t.a, r13 + 12 * PAGE, PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 13 * PAGE, 0, 0, ANALLOC_SPACE_END, 0, &r13),
               ANALLOC_OK);
    assert_true(r13 == 16 * PAGE);
    /* Whole, and block by block. */
    ASSERT_ERR(analloc_space_free_exact(&t.a, r13, 13 * PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_space_free(&t.a, r5 + 4 * PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_space_free(&t.a, r5), ANALLOC_OK);
    ASSERT_ERR(analloc_space_free_exact(&t.a, r3, 3 * PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_space_free(&t.a, 3 * PAGE), ANALLOC_OK);
    st = stats_of(&t.a);
    assert_int_equal(st.free_bytes, 64 * PAGE);
    assert_int_equal(st.largest_free, 64 * PAGE);
    /* A run of the whole space, and one page more: refused, no block holds it. */
    uint64_t all = 1;
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 64 * PAGE, 0, 0, ANALLOC_SPACE_END, 0, &all), ANALLOC_OK);
    assert_true(all == 0);
    ASSERT_ERR(analloc_space_free_exact(&t.a, all, 64 * PAGE), ANALLOC_OK);
    snap_take(&sn, &t.a);
    all = 77;
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 65 * PAGE, 0, 0, ANALLOC_SPACE_END, 0, &all), ANALLOC_EINVAL);
    assert_true(all == 77);
    SNAP_SAME(&sn, &t.a, "a run larger than the space");
    snap_free(&sn);
    space_fini(&t);
}

/* Placement of runs: a window, the top, an alignment; ENOMEM when no free
 * block of 2^k pages fits, with the cache merged first. */
static void test_exact_runs_placed(void **state)
{
    (void)state;
    struct space t;
    space_init(&t, 0, 64 * PAGE, PAGE);
    uint64_t r = 0;
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 3 * PAGE, 0, 0, ANALLOC_SPACE_END, ANALLOC_HIGH, &r),
               ANALLOC_OK);
    assert_true(r == 60 * PAGE); /* the top block of 4, the run at its start */
    uint64_t w = 0, none = 5;
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 6 * PAGE, 0, 16 * PAGE, 32 * PAGE, 0, &w), ANALLOC_OK);
    assert_true(w == 16 * PAGE);
    uint64_t al = 0;
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, PAGE, 8 * PAGE, 0, ANALLOC_SPACE_END, 0, &al),
               ANALLOC_OK);
    assert_true(al == 0); /* [0, 16) is free; [24, 32) too, higher */
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, PAGE, 32 * PAGE, 0, ANALLOC_SPACE_END, 0, &none),
               ANALLOC_ENOMEM); /* no free block of 32 pages or more */
    /* A window too small for the rounded block: ENOMEM, nothing changed. */
    struct snap sn;
    snap_take(&sn, &t.a);
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 5 * PAGE, 0, 40 * PAGE, 47 * PAGE, 0, &none),
               ANALLOC_ENOMEM);
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 33 * PAGE, 0, 0, ANALLOC_SPACE_END, 0, &none),
               ANALLOC_ENOMEM); /* no free block of 64 */
    assert_true(none == 5);
    SNAP_SAME(&sn, &t.a, "runs that find no block");
    snap_free(&sn);
    /* Freed into the cache, the blocks merge before a run fails. */
    ASSERT_ERR(analloc_space_free_exact(&t.a, r, 3 * PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_space_free_exact(&t.a, w, 6 * PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_space_free(&t.a, al), ANALLOC_OK);
    assert_true(stats_of(&t.a).cached_blocks != 0);
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 40 * PAGE, 0, 0, ANALLOC_SPACE_END, 0, &r), ANALLOC_OK);
    assert_true(r == 0);
    assert_true(stats_of(&t.a).free_bytes == 24 * PAGE);
    ASSERT_ERR(analloc_space_free_exact(&t.a, r, 40 * PAGE), ANALLOC_OK);
    space_fini(&t);
}

/* ---- Resizing in place --------------------------------------------------------------- */

static void test_resize_in_place(void **state)
{
    (void)state;
    struct space t;
    space_init(&t, 0, 64 * PAGE, PAGE);
    ASSERT_ERR(analloc_set_cache(&t.a, 0), ANALLOC_OK);
    uint64_t x = analloc_space_alloc(&t.a, PAGE), y = analloc_space_alloc(&t.a, 2 * PAGE);
    assert_true(x == 0 && y == 2 * PAGE);
    ASSERT_ERR(analloc_space_resize(&t.a, x, 2 * PAGE), ANALLOC_OK); /* its buddy was free */
    assert_true(analloc_space_size(&t.a, x) == 2 * PAGE);
    struct snap sn;
    snap_take(&sn, &t.a);
    size_t calls = 0;
    ASSERT_ERR(analloc_space_resize(&t.a, x, 3 * PAGE), ANALLOC_ENOMEM); /* y is in the way */
    ASSERT_ERR(analloc_space_resize(&t.a, x, 128 * PAGE), ANALLOC_EINVAL);
    assert_int_equal(t.hook_calls, 0);
    ASSERT_ERR(analloc_space_resize(&t.a, x + PAGE, PAGE), ANALLOC_EINTERIOR);
    heard(&t, &calls, ANALLOC_EINTERIOR, x + PAGE);
    ASSERT_ERR(analloc_space_resize(&t.a, 5 * PAGE, PAGE), ANALLOC_EFREE);
    heard(&t, &calls, ANALLOC_EFREE, 5 * PAGE);
    ASSERT_ERR(analloc_space_resize(&t.a, ANALLOC_NO_ADDR, PAGE), ANALLOC_ERANGE);
    heard(&t, &calls, ANALLOC_ERANGE, ANALLOC_NO_ADDR);
    SNAP_SAME(&sn, &t.a, "resizes refused");
    snap_free(&sn);
    ASSERT_ERR(analloc_space_resize(&t.a, y, PAGE), ANALLOC_OK); /* shrinking: the tail is free */
    ASSERT_ERR(analloc_space_resize(&t.a, x, 4 * PAGE), ANALLOC_ENOMEM);
    ASSERT_ERR(analloc_space_free(&t.a, y), ANALLOC_OK);
    ASSERT_ERR(analloc_space_resize(&t.a, x, 4 * PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_space_resize(&t.a, x, 0), ANALLOC_OK); /* size 0: a page */
    assert_true(analloc_space_size(&t.a, x) == PAGE);
    ASSERT_ERR(analloc_space_free(&t.a, x), ANALLOC_OK);
    /* A cached buddy is absorbed, as by realloc. */
    ASSERT_ERR(analloc_set_cache(&t.a, 128), ANALLOC_OK);
    x = analloc_space_alloc(&t.a, PAGE);
    y = analloc_space_alloc(&t.a, PAGE);
    assert_true(y == x + PAGE);
    ASSERT_ERR(analloc_space_free(&t.a, y), ANALLOC_OK);
    ASSERT_ERR(analloc_space_resize(&t.a, x, 2 * PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_space_free(&t.a, x), ANALLOC_OK);
    space_fini(&t);
}

/* ---- Debug fills on runs and resizes ------------------------------------------------ */

/* Over real memory: a run's pages get the fresh byte (its tail does not:
 * it is free), a freed run the free byte, a block grown in place the fresh
 * byte on its new pages; all through the space calls on pointers too. */
static void test_runs_and_resizes_fill(void **state)
{
    (void)state;
    const size_t bytes = 64 * PAGE;
    unsigned char *chunk = xalloc_aligned(bytes, bytes + PAGE);
    struct analloc *a = (struct analloc *)(void *)chunk;
    ASSERT_ERR(analloc_with_chunk(a, chunk, bytes + PAGE, sizeof *a, PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_set_cache(a, 0), ANALLOC_OK);
    ASSERT_ERR(analloc_set_debug(a, ANALLOC_DEBUG_POISON_FREE | ANALLOC_DEBUG_POISON_FRESH, 0xdd,
                                 0xcc),
               ANALLOC_OK);
    void *p = NULL;
    memset(a->start, 0x11, a->managed);
    ASSERT_ERR(analloc_alloc_exact(a, 3 * PAGE, 0, 0, UINTPTR_MAX, 0, NULL), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_alloc_exact(a, 3 * PAGE, 0, 0, UINTPTR_MAX, 0, &p), ANALLOC_OK);
    unsigned char *c = p;
    for (size_t i = 0; i < 4 * PAGE; i++)
        if (c[i] != (i < 3 * PAGE ? 0xcc : 0x11))
            fail_msg("byte %zu of the run's block: %#x", i, c[i]);
    ASSERT_ERR(analloc_free_exact(a, p, 3 * PAGE), ANALLOC_OK);
    for (size_t i = 0; i < 3 * PAGE; i++)
        if (c[i] != 0xdd)
            fail_msg("byte %zu of the freed run: %#x", i, c[i]);
    ASSERT_ERR(analloc_free_exact(a, NULL, PAGE), ANALLOC_OK);
    /* Grown in place through the space call: the new pages are fresh. */
    uint64_t x = analloc_space_alloc_range(a, PAGE, 2 * PAGE, 0, ANALLOC_SPACE_END, 0);
    assert_true(x != ANALLOC_NO_ADDR); /* aligned to 2 pages: its buddy is free */
    c = (unsigned char *)(uintptr_t)x;
    memset(c, 0x22, PAGE);
    memset(c + PAGE, 0x33, PAGE);
    ASSERT_ERR(analloc_space_resize(a, x, 2 * PAGE), ANALLOC_OK);
    for (size_t i = 0; i < 2 * PAGE; i++)
        if (c[i] != (i < PAGE ? 0x22 : 0xcc))
            fail_msg("byte %zu of the grown block: %#x", i, c[i]);
    ASSERT_ERR(analloc_space_resize(a, x, PAGE), ANALLOC_OK); /* the tail is poisoned */
    for (size_t i = PAGE; i < 2 * PAGE; i++)
        if (c[i] != 0xdd)
            fail_msg("byte %zu of the shrunk tail: %#x", i, c[i]);
    ASSERT_ERR(analloc_space_free(a, x), ANALLOC_OK);
    ASSERT_ERR(analloc_check(a), ANALLOC_OK);
    free(chunk);
}

/* ---- Bad input ------------------------------------------------------------------------ */

/* Every refusal of the space calls: its error, the hook where a free's
 * would hear it, nothing changed. */
static void test_space_bad_input(void **state)
{
    (void)state;
    struct space t;
    const uint64_t base = ((uint64_t)5 << 32) + 3u * PAGE;
    space_init(&t, base, 61 * PAGE, PAGE);
    uint64_t x = analloc_space_alloc(&t.a, 4 * PAGE);
    assert_true(x == ((uint64_t)5 << 32) + 4u * PAGE);
    ASSERT_ERR(analloc_space_reserve(&t.a, base + 40 * PAGE, 3 * PAGE), ANALLOC_OK);
    struct snap sn;
    snap_take(&sn, &t.a);
    size_t calls = 0;
    struct analloc none;
    memset(&none, 0, sizeof none);
    uint64_t out = 9;
    /* Not set up. */
    assert_true(analloc_space_alloc(&none, PAGE) == ANALLOC_NO_ADDR);
    assert_true(analloc_space_alloc_range(&none, PAGE, 0, 0, ANALLOC_SPACE_END, 0) == ANALLOC_NO_ADDR);
    ASSERT_ERR(analloc_space_free(&none, x), ANALLOC_EINVAL);
    assert_true(analloc_space_size(&none, x) == 0);
    ASSERT_ERR(analloc_space_alloc_exact(&none, PAGE, 0, 0, ANALLOC_SPACE_END, 0, &out), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_free_exact(&none, x, PAGE), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_resize(&none, x, PAGE), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_reserve(&none, x, PAGE), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_release(&none, x, PAGE), ANALLOC_EINVAL);
    struct walk_sum w = {0, 0, 0, 0};
    ASSERT_ERR(analloc_space_walk(&none, ANALLOC_BLOCK_ALL, walk_add, &w), ANALLOC_EINVAL);
    /* Allocation arguments. */
    assert_true(analloc_space_alloc(&t.a, 128 * PAGE) == ANALLOC_NO_ADDR);
    assert_true(analloc_space_alloc(&t.a, UINT64_MAX) == ANALLOC_NO_ADDR);
    assert_true(analloc_space_alloc_range(&t.a, PAGE, 0, 0, ANALLOC_SPACE_END, 4) == ANALLOC_NO_ADDR);
    assert_true(analloc_space_alloc_range(&t.a, PAGE, 0, 0, ANALLOC_SPACE_END,
                                          ANALLOC_LOW | ANALLOC_HIGH) == ANALLOC_NO_ADDR);
    assert_true(analloc_space_alloc_range(&t.a, PAGE, 3 * PAGE, 0, ANALLOC_SPACE_END, 0) == ANALLOC_NO_ADDR);
    assert_true(analloc_space_alloc_range(&t.a, PAGE, 0, base + PAGE, base + PAGE, 0) == ANALLOC_NO_ADDR);
    assert_true(analloc_space_alloc_range(&t.a, PAGE, 0, 0, base, 0) == ANALLOC_NO_ADDR); /* below */
    assert_true(analloc_space_alloc_range(&t.a, PAGE, (uint64_t)1 << 40, 0, ANALLOC_SPACE_END, 0) ==
                ANALLOC_NO_ADDR); /* an alignment no block has */
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, PAGE, 0, 0, ANALLOC_SPACE_END, 0, NULL), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, PAGE, 0, 0, ANALLOC_SPACE_END, 8, &out), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, PAGE, 6 * PAGE, 0, ANALLOC_SPACE_END, 0, &out), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, PAGE, 0, 10, 10, 0, &out), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, 64 * PAGE, 0, 0, ANALLOC_SPACE_END, 0, &out), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_alloc_exact(&t.a, PAGE, 0, 0, base, 0, &out), ANALLOC_ENOMEM);
    assert_true(out == 9);
    assert_int_equal(t.hook_calls, 0);
    /* Frees, sizes, resizes of what is not a live block. */
    const struct {
        uint64_t at;
        int want;
    } frees[] = {
        {0, ANALLOC_ERANGE},
        {base - PAGE, ANALLOC_ERANGE},
        {base + 61 * PAGE, ANALLOC_ERANGE},
        {(uint64_t)1 << 32 | (x & 0xffffffffu), ANALLOC_ERANGE}, /* the address's low half */
        {base + 40 * PAGE, ANALLOC_ERESERVED},
        {base + 41 * PAGE + 1u, ANALLOC_ERESERVED},
        {x + 1u, ANALLOC_EALIGN},
        {x + PAGE, ANALLOC_EINTERIOR},
        {x + 4 * PAGE, ANALLOC_EFREE},
    };
    for (size_t i = 0; i < sizeof frees / sizeof frees[0]; i++) {
        ASSERT_ERR(analloc_space_free(&t.a, frees[i].at), frees[i].want);
        heard(&t, &calls, frees[i].want, frees[i].at);
        ASSERT_ERR(analloc_space_free_exact(&t.a, frees[i].at, PAGE), frees[i].want);
        heard(&t, &calls, frees[i].want, frees[i].at);
        ASSERT_ERR(analloc_space_resize(&t.a, frees[i].at, PAGE), frees[i].want);
        heard(&t, &calls, frees[i].want, frees[i].at);
        assert_true(analloc_space_size(&t.a, frees[i].at) == 0);
    }
    /* Ranges. */
    ASSERT_ERR(analloc_space_reserve(&t.a, base, 0), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_reserve(&t.a, UINT64_MAX - PAGE, 2 * PAGE), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_reserve(&t.a, base - PAGE, 2 * PAGE), ANALLOC_ERANGE);
    ASSERT_ERR(analloc_space_reserve(&t.a, base + 60 * PAGE, 2 * PAGE), ANALLOC_ERANGE);
    ASSERT_ERR(analloc_space_reserve(&t.a, x, PAGE), ANALLOC_EBUSY);
    ASSERT_ERR(analloc_space_reserve(&t.a, base + 42 * PAGE, PAGE), ANALLOC_EBUSY);
    ASSERT_ERR(analloc_space_release(&t.a, base + 50 * PAGE, PAGE), ANALLOC_ENOTRESERVED);
    ASSERT_ERR(analloc_space_release(&t.a, base, 0), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_walk(&t.a, 0x10, walk_add, &w), ANALLOC_EINVAL);
    ASSERT_ERR(analloc_space_walk(&t.a, ANALLOC_BLOCK_ALL, NULL, &w), ANALLOC_EINVAL);
    assert_int_equal(w.calls, 0);
    SNAP_SAME(&sn, &t.a, "space calls refused");
    snap_free(&sn);
    ASSERT_ERR(analloc_space_release(&t.a, base + 40 * PAGE, 3 * PAGE), ANALLOC_OK);
    ASSERT_ERR(analloc_space_free(&t.a, x), ANALLOC_OK);
    space_fini(&t);
}

/* ---- One program, both interfaces ---------------------------------------------------------
 * The same random program runs on three allocators: over pointers at a
 * base B aligned to a power of two beyond the arena (A), over the numbers
 * [B + off, ...) (S), and over [off, ...) (Z, where address 0 is a block).
 * Their blocks line up, so every result must agree: A's and S's equal, Z's
 * B lower.  A uses the pointer calls, S and Z the space calls.  (A realloc
 * that moves has no space twin: the program only shrinks through it.) */

#define LIVE_MAX 96

struct trio {
    struct analloc a, s, z;
    void *meta[3];
    uint64_t b; /* A's and S's addresses are Z's + b */
};

static void trio_init(struct trio *t, size_t pages, size_t page, size_t off, unsigned cache)
{
    size_t bytes = pages * page;
    uintptr_t base = fake_base(16u << 20, 16u << 20);
    assert_true((base & ((16u << 20) - 1u)) == 0 && bytes + off * page <= (16u << 20));
    t->b = base;
    size_t msize = analloc_meta_size(bytes, page), ssize = analloc_space_meta_size(bytes, page);
    for (unsigned i = 0; i < 3; i++) {
        t->meta[i] = malloc(i == 0 ? msize : ssize);
        assert_non_null(t->meta[i]);
    }
    ASSERT_ERR(analloc_init(&t->a, (void *)(base + off * page), bytes, page, t->meta[0], msize), 0);
    ASSERT_ERR(analloc_space_init(&t->s, base + off * page, bytes, page, t->meta[1], ssize), 0);
    ASSERT_ERR(analloc_space_init(&t->z, off * page, bytes, page, t->meta[2], ssize), 0);
    ASSERT_ERR(analloc_set_cache(&t->a, cache), 0);
    ASSERT_ERR(analloc_set_cache(&t->s, cache), 0);
    ASSERT_ERR(analloc_set_cache(&t->z, cache), 0);
}

static void trio_fini(struct trio *t)
{
    for (unsigned i = 0; i < 3; i++)
        free(t->meta[i]);
}

/* Z's result, as an address of A and S (none stays none). */
static uint64_t lifted(const struct trio *t, uint64_t z)
{
    return z == ANALLOC_NO_ADDR ? z : z + t->b;
}

#define AGREE(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond))                                                                         \
            fail_msg("seed %llu step %u: " __VA_ARGS__);                                     \
    } while (0)

static void compare_stats(const struct trio *t, uint64_t seed, unsigned step)
{
    struct analloc_stats x = stats_of(&t->a), y = stats_of(&t->s), z = stats_of(&t->z);
    if (getenv("SPACE_DEBUG"))
        printf("free %zu %zu %llu live %zu %zu %zu cached %zu %zu %zu largest %zu %zu res %zu %zu\n",
               x.free_bytes, y.free_bytes, (unsigned long long)z.space_free, x.live_blocks,
               y.live_blocks, z.live_blocks, x.cached_blocks, y.cached_blocks, z.cached_blocks,
               x.largest_free, z.largest_free, x.reserved_bytes, z.reserved_bytes);
    AGREE(x.free_bytes == y.free_bytes && y.space_free == z.space_free &&
              x.live_blocks == y.live_blocks && y.live_blocks == z.live_blocks &&
              x.cached_blocks == z.cached_blocks && x.largest_free == z.largest_free &&
              x.reserved_bytes == z.reserved_bytes,
          "stats differ", (unsigned long long)seed, step);
    for (unsigned k = 0; k < 64; k++)
        AGREE(x.free_blocks_of_order[k] == z.free_blocks_of_order[k] &&
                  y.free_blocks_of_order[k] == z.free_blocks_of_order[k],
              "free blocks of order %u differ", (unsigned long long)seed, step, k);
}

static void run_program(uint64_t seed, size_t pages, size_t page, size_t off, unsigned cache,
                        unsigned steps)
{
    struct trio t;
    trio_init(&t, pages, page, off, cache);
    struct rng r;
    r.s = seed;
    uint64_t live[LIVE_MAX], size[LIVE_MAX]; /* Z's addresses; 0 pages: one block */
    bool run[LIVE_MAX];
    unsigned n = 0, ranges = 0;
    uint64_t zlo = off * page, zhi = zlo + pages * page;
    for (unsigned step = 0; step < steps; step++) {
        unsigned op = (unsigned)rng_below(&r, 10);
        uint64_t bytes = (uint64_t)rng_below(&r, (pages * page) / 4u + 1u) >> rng_below(&r, 8);
        if (getenv("SPACE_DEBUG"))
            printf("step %u op %u bytes %llu n %u pages %zu page %zu off %zu cache %u\n", step, op,
                   (unsigned long long)bytes, n, pages, page, off, cache);
        if (op <= 2 && n < LIVE_MAX) { /* a block, placed or not */
            uint64_t za, sa;
            void *p;
            if (op == 0) {
                p = analloc_alloc(&t.a, (size_t)bytes);
                sa = analloc_space_alloc(&t.s, bytes);
                za = analloc_space_alloc(&t.z, bytes);
            } else {
                uint64_t align = rng_below(&r, 3) == 0 ? (uint64_t)page << rng_below(&r, 8) : 0;
                uint64_t lo = zlo + rng_below(&r, pages) * page;
                lo -= lo != 0 ? rng_below(&r, 2) : 0; /* (a window below address 0 has no twin) */
                uint64_t hi = lo + 1u + rng_below(&r, pages * page);
                unsigned flags = (unsigned)rng_below(&r, 3);
                p = analloc_alloc_range(&t.a, (size_t)bytes, (size_t)align, (uintptr_t)(lo + t.b),
                                        (uintptr_t)(hi + t.b), flags);
                sa = analloc_space_alloc_range(&t.s, bytes, align, lo + t.b, hi + t.b, flags);
                za = analloc_space_alloc_range(&t.z, bytes, align, lo, hi, flags);
            }
            AGREE((p == NULL ? ANALLOC_NO_ADDR : (uintptr_t)p) == sa && sa == lifted(&t, za),
                  "alloc %llu: %p, %llx, %llx", (unsigned long long)seed, step,
                  (unsigned long long)bytes, p, (unsigned long long)sa, (unsigned long long)za);
            if (za != ANALLOC_NO_ADDR) {
                live[n] = za;
                run[n] = false;
                size[n++] = bytes;
            }
        } else if (op == 3 && n < LIVE_MAX) { /* a run */
            unsigned flags = (unsigned)rng_below(&r, 2) * ANALLOC_HIGH;
            void *p = NULL;
            uint64_t sa = ANALLOC_NO_ADDR, za = ANALLOC_NO_ADDR;
            int e1 = analloc_alloc_exact(&t.a, (size_t)bytes, 0, 0, UINTPTR_MAX, flags, &p);
            int e2 = analloc_space_alloc_exact(&t.s, bytes, 0, 0, ANALLOC_SPACE_END, flags, &sa);
            int e3 = analloc_space_alloc_exact(&t.z, bytes, 0, 0, ANALLOC_SPACE_END, flags, &za);
            AGREE(e1 == e2 && e2 == e3 && (e1 != 0 || ((uintptr_t)p == sa && sa == lifted(&t, za))),
                  "exact %llu: %d %d %d, %p %llx %llx", (unsigned long long)seed, step,
                  (unsigned long long)bytes, e1, e2, e3, p, (unsigned long long)sa,
                  (unsigned long long)za);
            if (e3 == 0) {
                live[n] = za;
                run[n] = true;
                size[n++] = bytes;
            }
        } else if (op <= 6 && n > 0) { /* free, whole or (a run) as blocks */
            unsigned i = (unsigned)rng_below(&r, n);
            uint64_t z = live[i];
            int e1, e2, e3;
            if (run[i] && rng_below(&r, 2)) {
                e1 = analloc_free_exact(&t.a, (void *)(uintptr_t)(z + t.b), (size_t)size[i]);
                e2 = analloc_space_free_exact(&t.s, z + t.b, size[i]);
                e3 = analloc_space_free_exact(&t.z, z, size[i]);
            } else if (run[i]) { /* the first block: the rest stays live as a shorter run */
                uint64_t first = analloc_space_size(&t.z, z);
                e1 = analloc_free(&t.a, (void *)(uintptr_t)(z + t.b));
                e2 = analloc_space_free(&t.s, z + t.b);
                e3 = analloc_space_free(&t.z, z);
                uint64_t left = (size[i] == 0 ? page : (size[i] + page - 1u) / page * page) - first;
                if (left != 0) {
                    live[n] = z + first;
                    run[n] = true;
                    size[n++] = left;
                }
            } else {
                e1 = analloc_free(&t.a, (void *)(uintptr_t)(z + t.b));
                e2 = analloc_space_free(&t.s, z + t.b);
                e3 = analloc_space_free(&t.z, z);
            }
            AGREE(e1 == 0 && e2 == 0 && e3 == 0, "free: %d %d %d", (unsigned long long)seed,
                  step, e1, e2, e3);
            if (rng_below(&r, 4) == 0) { /* and again: a double free, wherever it waits */
                e1 = analloc_free(&t.a, (void *)(uintptr_t)(z + t.b));
                e2 = analloc_space_free(&t.s, z + t.b);
                e3 = analloc_space_free(&t.z, z);
                AGREE(e1 == ANALLOC_EFREE && e2 == e1 && e3 == e1, "double free: %d %d %d",
                      (unsigned long long)seed, step, e1, e2, e3);
            }
            live[i] = live[--n];
            run[i] = run[n];
            size[i] = size[n];
        } else if (op == 7 && n > 0) { /* shrink or grow in place; bad frees */
            unsigned i = (unsigned)rng_below(&r, n);
            uint64_t z = live[i], to = (uint64_t)page << rng_below(&r, 4);
            if (!run[i]) {
                uint64_t had = analloc_space_size(&t.z, z);
                int e2 = analloc_space_resize(&t.s, z + t.b, to);
                int e3 = analloc_space_resize(&t.z, z, to);
                AGREE(e2 == e3, "resize: %d %d", (unsigned long long)seed, step, e2, e3);
                if (to <= had) { /* the pointer twin, in place */
                    void *p = analloc_realloc(&t.a, (void *)(uintptr_t)(z + t.b), (size_t)to);
                    AGREE((uintptr_t)p == z + t.b, "realloc", (unsigned long long)seed, step);
                } else { /* realloc would move: the space twin on pointers */
                    int e1 = analloc_space_resize(&t.a, z + t.b, to);
                    AGREE(e1 == e3, "resize A: %d", (unsigned long long)seed, step, e1);
                }
                if (e3 == 0)
                    size[i] = to;
            }
            /* Inside the block at z: misaligned, or its second page. */
            uint64_t bad = z + (analloc_space_size(&t.z, z) > page && rng_below(&r, 2) ? page : page / 2u);
            int e1 = analloc_free(&t.a, (void *)(uintptr_t)(bad + t.b));
            int e2 = analloc_space_free(&t.s, bad + t.b);
            int e3 = analloc_space_free(&t.z, bad);
            AGREE(e1 == e2 && e2 == e3 && (e1 == ANALLOC_EALIGN || e1 == ANALLOC_EINTERIOR),
                  "bad free: %d %d %d", (unsigned long long)seed, step, e1, e2, e3);
        } else if (op == 8) { /* reserve or release a range */
            uint64_t at = zlo + rng_below(&r, pages) * page, len = 1u + rng_below(&r, 4u * page);
            bool res = ranges == 0 || rng_below(&r, 2);
            int e1 = res ? analloc_reserve(&t.a, (uintptr_t)(at + t.b), (size_t)len)
                         : analloc_release(&t.a, (uintptr_t)(at + t.b), (size_t)len);
            int e2 = res ? analloc_space_reserve(&t.s, at + t.b, len)
                         : analloc_space_release(&t.s, at + t.b, len);
            int e3 = res ? analloc_space_reserve(&t.z, at, len) : analloc_space_release(&t.z, at, len);
            AGREE(e1 == e2 && e2 == e3, "%s: %d %d %d", (unsigned long long)seed, step,
                  res ? "reserve" : "release", e1, e2, e3);
            ranges += res && e1 == 0;
        } else if (op == 9) {
            compare_stats(&t, seed, step);
            if (rng_below(&r, 8) == 0) {
                analloc_drain(&t.a);
                analloc_drain(&t.s);
                analloc_drain(&t.z);
            }
        }
    }
    (void)zhi;
    compare_stats(&t, seed, steps);
    ASSERT_ERR(analloc_check(&t.a), 0);
    ASSERT_ERR(analloc_check(&t.s), 0);
    ASSERT_ERR(analloc_check(&t.z), 0);
    trio_fini(&t);
}

static void test_one_program_both_interfaces(void **state)
{
    (void)state;
    uint64_t seed = seed_from_env();
    if (getenv("SPACE_DEBUG"))
        setvbuf(stdout, NULL, _IONBF, 0);
    unsigned runs = quick_from_env() ? 100 : 1000;
    printf("   seed %llu (replay: ANALLOC_SEED=%llu)\n", (unsigned long long)seed,
           (unsigned long long)seed);
    for (unsigned i = 0; i < runs; i++) {
        struct rng r;
        r.s = rng_mix(seed ^ i);
        size_t page = (size_t)512 << rng_below(&r, 4);
        size_t pages = 1u + rng_below(&r, rng_below(&r, 2) ? 64 : 2048);
        size_t off = rng_below(&r, 256);
        unsigned cache = rng_below(&r, 3) == 0 ? 0 : 128;
        run_program(rng_next(&r), pages, page, off, cache, 400);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_space_init_errors),
        cmocka_unit_test(test_address_zero_is_a_block),
        cmocka_unit_test(test_space_above_4gib),
        cmocka_unit_test(test_pointer_calls_refuse_a_space),
        cmocka_unit_test(test_space_calls_on_pointers),
        cmocka_unit_test(test_exact_runs),
        cmocka_unit_test(test_exact_runs_placed),
        cmocka_unit_test(test_resize_in_place),
        cmocka_unit_test(test_runs_and_resizes_fill),
        cmocka_unit_test(test_space_bad_input),
        cmocka_unit_test(test_one_program_both_interfaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
