/*
 * test_exhaustive.c - bounded-exhaustive testing beside the random kind:
 * every sequence of up to N operations on every small arena, each step
 * compared with the reference model (tests/model.c).
 *
 * The arenas: 1 to 16 pages of 4 KiB at every start offset modulo 16 pages
 * (from a boundary of 1 MiB), over a range nobody maps (analloc_init with
 * external metadata), with the block cache at its default and off.  The
 * operations, at every step: an allocation of each order the arena has, a
 * free of each live block, a double free (of the block freed last, when it
 * is not live again), and a drain.  After each one: the result is the
 * model's (address or error), analloc_check passes, analloc_walk reports the
 * model's blocks (every block, free, cached or used, with its order), every
 * cache list holds the model's blocks in the model's order, analloc_free_bytes
 * and analloc_largest_free are the model's, and a refused double free
 * changed no byte of the struct or the metadata.
 *
 * The search goes depth first, saving the allocator (struct and metadata
 * bytes) and the model at each depth and going back to them.  N is
 * EXHAUSTIVE_DEPTH, 6: 18.4 million sequences, 21.4 million steps, about
 * 15 s on one core; with ANALLOC_QUICK=1 (the sanitizer runs) one less,
 * 2.5 million sequences; ANALLOC_EXHAUSTIVE_N overrides both.  A failure
 * prints the arena and the operations that led to it.
 *
 * The stores-on variant attaches two per-CPU stores to each of the 256
 * arenas (the block cache goes off) and makes every allocation of each
 * order, every free of each live block and the double free through each
 * store (a block freed through the other store than it came from, a double
 * free into the other store), plus the drain; after each step every
 * store's lists and table entries are the model's too.  Its N is
 * EXHAUSTIVE_STORES_DEPTH, 4, plain and under ANALLOC_QUICK alike: 2.1
 * million sequences, 2.3 million steps, 3 s plain and 7 s under the
 * sanitizers (N = 5: 28 million sequences, 37 s plain);
 * ANALLOC_EXHAUSTIVE_STORES_N overrides it.  Tables this small have room
 * for every node (no bucket fills) and a few operations never fill a list:
 * test_model's stores-* classes cover spills and full buckets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analloc.h"
#include "layout.h"
#include "testutil.h"
#include "testcheck.h"
#include "model.h"

#ifndef EXHAUSTIVE_DEPTH
#define EXHAUSTIVE_DEPTH 6u
#endif
/* With two stores every alloc, free and double free is made through each:
 * about twice the operations per step.  N = 4: 2.1 million sequences, 3 s
 * plain, 7 s under the sanitizers (ANALLOC_QUICK: the same N); N = 5 would
 * take 37 s plain. */
#ifndef EXHAUSTIVE_STORES_DEPTH
#define EXHAUSTIVE_STORES_DEPTH 4u
#endif
#define MAX_DEPTH 8u
#define PAGE 4096u
#define MAX_PAGES 16u
#define MAX_BLOCKS 64u
#define META_WORDS (ANALLOC_META_SIZE_MAX(MAX_PAGES * PAGE, PAGE) / 8u)

enum op_kind { OP_ALLOC, OP_FREE, OP_DOUBLE, OP_DRAIN };
struct op {
    enum op_kind kind;
    unsigned arg;   /* the order (alloc), the live block's rank (free) */
    unsigned store; /* 0: the allocator's own call; 1 + i: through store i */
};

static const char *const op_names[] = {"alloc order", "free live block", "double free", "drain"};

/* The stores-on variant: NSTORES per-CPU stores attached after setup (the
 * cache goes off), every alloc, free and double free made through each. */
#define NSTORES 2u

/* One arena's search. */
struct search {
    struct analloc a;
    uint64_t meta[META_WORDS];
    size_t meta_bytes;
    struct model_arena *m;
    unsigned pages, offset, slots, depth_limit;
    /* the path: operations taken, and the addresses freed on the way */
    struct op path[MAX_DEPTH];
    uintptr_t freed[MAX_DEPTH];
    unsigned nfreed[MAX_DEPTH + 1u];
    /* the state at each depth, to go back to */
    struct analloc saved_a[MAX_DEPTH];
    uint64_t saved_meta[MAX_DEPTH][META_WORDS];
    struct model_arena *saved_m[MAX_DEPTH];
    uint64_t before_meta[META_WORDS]; /* around a refused free */
    unsigned nstores;                 /* attached: 0 or NSTORES */
    struct analloc_cpu cpu[NSTORES], saved_cpu[MAX_DEPTH][NSTORES];
    size_t steps, paths;
};

static struct search S;

static void model_failed(void *ctx, const char *msg)
{
    (void)ctx;
    fail_msg("%s", msg);
}

static const struct model_failure failure = {model_failed, NULL};

/* The failure report: the arena and the operations up to depth d. */
__attribute__((format(printf, 2, 3))) static void fail_path(unsigned d, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("%u pages at offset %u, %u cache slots, %u stores; operations:\n", S.pages,
                S.offset, S.slots, S.nstores);
    for (unsigned i = 0; i <= d; i++)
        if (S.path[i].store != 0)
            print_error("  %u. %s %u through store %u\n", i + 1u, op_names[S.path[i].kind],
                        S.path[i].arg, S.path[i].store - 1u);
        else
            print_error("  %u. %s %u\n", i + 1u, op_names[S.path[i].kind], S.path[i].arg);
    fail_msg("%s", msg);
}

/* ---- Comparing the state ----------------------------------------------- */

struct blocks {
    size_t n;
    uintptr_t addr[MAX_BLOCKS];
    size_t bytes[MAX_BLOCKS];
    unsigned kind[MAX_BLOCKS];
};

static int collect(void *ctx, void *block, size_t bytes, unsigned kind)
{
    struct blocks *b = ctx;
    assert_true(b->n < MAX_BLOCKS);
    b->addr[b->n] = (uintptr_t)block;
    b->bytes[b->n] = bytes;
    b->kind[b->n++] = kind;
    return 0;
}

static void compare_state(unsigned d)
{
    int rc = analloc_check(&S.a);
    if (rc != ANALLOC_OK)
        fail_path(d, "analloc_check = %d (%s)", rc, analloc_strerror(rc));
    struct blocks got = {0}, want = {0};
    assert_int_equal(analloc_walk(&S.a, ANALLOC_BLOCK_ALL, collect, &got), 0);
    assert_int_equal(model_arena_walk(S.m, ANALLOC_BLOCK_ALL, collect, &want), 0);
    if (got.n != want.n)
        fail_path(d, "analloc_walk reports %zu blocks, the model %zu", got.n, want.n);
    for (size_t i = 0; i < got.n; i++)
        if (got.addr[i] != want.addr[i] || got.bytes[i] != want.bytes[i] ||
            got.kind[i] != want.kind[i])
            fail_path(d, "block %zu: %#llx + %zu %s, the model has %#llx + %zu %s", i,
                      (unsigned long long)got.addr[i], got.bytes[i], kind_name(got.kind[i]),
                      (unsigned long long)want.addr[i], want.bytes[i], kind_name(want.kind[i]));
    for (unsigned k = 0; k < TI_CACHE_ORDERS(&S.a); k++) {
        uintptr_t pages[ANALLOC_CACHE_MAX];
        unsigned n = model_arena_cached(S.m, k, pages);
        if (TI_CACHED(&S.a, k) != n)
            fail_path(d, "cache list %u holds %zu blocks, the model %u", k,
                      (size_t)TI_CACHED(&S.a, k), n);
        for (unsigned i = 0; i < n; i++)
            if (TI_CACHE(&S.a, k, i) != pages[i])
                fail_path(d, "cache list %u, slot %u: page %#llx, the model %#llx", k, i,
                          (unsigned long long)TI_CACHE(&S.a, k, i), (unsigned long long)pages[i]);
    }
    for (unsigned i = 0; i < S.nstores; i++) {
        const char *why = model_arena_store_compare(S.m, i, &S.cpu[i]);
        if (why != NULL)
            fail_path(d, "%s", why);
    }
    if (analloc_free_bytes(&S.a) != model_arena_free_bytes(S.m) ||
        analloc_largest_free(&S.a) != model_arena_largest(S.m))
        fail_path(d, "free bytes %zu (model %zu), largest free %zu (model %zu)",
                  analloc_free_bytes(&S.a), model_arena_free_bytes(S.m),
                  analloc_largest_free(&S.a), model_arena_largest(S.m));
}

/* ---- Operations -------------------------------------------------------- */

/* The operations possible in the present state, into ops; returns how many. */
static unsigned list_ops(unsigned d, struct op *ops)
{
    unsigned n = 0;
    /* plain calls without stores; with stores, the calls through each */
    unsigned s0 = S.nstores == 0 ? 0u : 1u, s1 = S.nstores == 0 ? 0u : S.nstores;
    for (unsigned s = s0; s <= s1; s++) {
        for (unsigned k = 0; k <= S.a.depth; k++)
            ops[n++] = (struct op){OP_ALLOC, k, s};
        for (unsigned i = 0; i < model_arena_live(S.m); i++)
            ops[n++] = (struct op){OP_FREE, i, s};
        if (S.nfreed[d] > 0) {
            uintptr_t last = S.freed[S.nfreed[d] - 1u];
            if (model_arena_classify(S.m, last) != ANALLOC_OK) /* not live again */
                ops[n++] = (struct op){OP_DOUBLE, 0, s};
        }
    }
    ops[n++] = (struct op){OP_DRAIN, 0, 0};
    return n;
}

/* The allocator's metadata is the saved copy's but for the stores'
 * sequence counter (src/internal.h, STORE_SEQ: word ORDER_ROW - 1), which
 * every lock section moves while a store is attached. */
static bool meta_same(const uint64_t *before)
{
    for (size_t w = 0; w < S.meta_bytes / 8u; w++)
        if (before[w] != S.meta[w] && (S.nstores == 0 || w != ORDER_ROW - 1u))
            return false;
    return true;
}

static void apply(unsigned d, struct op o)
{
    S.path[d] = o;
    S.nfreed[d + 1u] = S.nfreed[d];
    switch (o.kind) {
    case OP_ALLOC: {
        uintptr_t want;
        enum model_got got;
        void *p;
        if (o.store != 0) {
            got = model_arena_store_alloc(S.m, o.store - 1u, (size_t)PAGE << o.arg, &want, NULL,
                                          NULL);
            p = analloc_cpu_alloc(&S.cpu[o.store - 1u], (size_t)PAGE << o.arg);
        } else {
            got = model_arena_alloc(S.m, (size_t)PAGE << o.arg, &want, NULL, NULL);
            p = analloc_alloc(&S.a, (size_t)PAGE << o.arg);
        }
        if ((uintptr_t)p != (got == MODEL_BLOCK ? want : 0))
            fail_path(d, "alloc returned %p, the model %#llx", p,
                      (unsigned long long)(got == MODEL_BLOCK ? want : 0));
        break;
    }
    case OP_FREE: {
        unsigned order;
        uintptr_t addr = model_arena_live_at(S.m, o.arg, &order);
        int rc;
        if (o.store != 0) {
            int want = model_arena_store_free(S.m, o.store - 1u, addr, NULL);
            if (want != ANALLOC_OK)
                fail_path(d, "the model refuses to free live block %#llx: %d",
                          (unsigned long long)addr, want);
            rc = analloc_cpu_free(&S.cpu[o.store - 1u], (void *)addr);
        } else {
            model_arena_free(S.m, addr);
            rc = analloc_free(&S.a, (void *)addr);
        }
        if (rc != ANALLOC_OK)
            fail_path(d, "free(%#llx) = %d (%s)", (unsigned long long)addr, rc,
                      analloc_strerror(rc));
        S.freed[S.nfreed[d + 1u]++] = addr;
        break;
    }
    case OP_DOUBLE: {
        uintptr_t addr = S.freed[S.nfreed[d] - 1u];
        int want = model_arena_classify(S.m, addr);
        struct analloc before = S.a;
        memcpy(S.before_meta, S.meta, S.meta_bytes);
        bool changed = false;
        int rc;
        if (o.store != 0) {
            int w = model_arena_store_free(S.m, o.store - 1u, addr, &changed);
            if (w != want)
                fail_path(d, "the model's store free of %#llx gives %d, its classify %d",
                          (unsigned long long)addr, w, want);
            rc = analloc_cpu_free(&S.cpu[o.store - 1u], (void *)addr);
        } else {
            rc = analloc_free(&S.a, (void *)addr);
        }
        if (rc != want || rc == ANALLOC_OK)
            fail_path(d, "free(%#llx) again = %d (%s), expected %d (%s)", (unsigned long long)addr,
                      rc, analloc_strerror(rc), want, analloc_strerror(want));
        if (!changed && (memcmp(&before, &S.a, sizeof before) != 0 || !meta_same(S.before_meta)))
            fail_path(d, "a refused free changed the allocator");
        break;
    }
    case OP_DRAIN:
        model_arena_drain(S.m);
        analloc_drain(&S.a);
        break;
    }
    S.steps++;
    compare_state(d);
}

static void search(unsigned d)
{
    if (d == S.depth_limit) {
        S.paths++;
        return;
    }
    struct op ops[MAX_BLOCKS];
    unsigned n = list_ops(d, ops);
    S.saved_a[d] = S.a;
    memcpy(S.saved_meta[d], S.meta, S.meta_bytes);
    memcpy(S.saved_cpu[d], S.cpu, sizeof S.cpu);
    model_arena_assign(S.saved_m[d], S.m);
    for (unsigned i = 0; i < n; i++) {
        apply(d, ops[i]);
        search(d + 1u);
        S.a = S.saved_a[d];
        memcpy(S.meta, S.saved_meta[d], S.meta_bytes);
        memcpy(S.cpu, S.saved_cpu[d], sizeof S.cpu); /* (they point at S.a and at each other) */
        model_arena_assign(S.m, S.saved_m[d]);
    }
}

/* ---- The arenas -------------------------------------------------------- */

static void run_arena(unsigned pages, unsigned offset, bool cache, unsigned stores, unsigned n)
{
    uintptr_t base = fake_base((size_t)MAX_PAGES * 2u * PAGE, (size_t)1 << 20) + (uintptr_t)offset * PAGE;
    S.meta_bytes = analloc_meta_size((size_t)pages * PAGE, PAGE);
    assert_true(S.meta_bytes > 0 && S.meta_bytes <= sizeof S.meta);
    ASSERT_ERR(analloc_init(&S.a, (void *)base, (size_t)pages * PAGE, PAGE, S.meta, S.meta_bytes),
               ANALLOC_OK);
    S.slots = cache ? ANALLOC_CACHE_DEFAULT : 0u;
    ASSERT_ERR(analloc_set_cache(&S.a, S.slots), ANALLOC_OK);
    S.pages = pages;
    S.offset = offset;
    S.depth_limit = n;
    S.nfreed[0] = 0;
    S.m = model_arena_new(&S.a, S.slots, &failure);
    for (unsigned d = 0; d < n; d++)
        S.saved_m[d] = model_arena_new(&S.a, S.slots, &failure);
    memset(S.cpu, 0, sizeof S.cpu);
    S.nstores = stores;
    for (unsigned i = 0; i < stores; i++) {
        ASSERT_ERR(analloc_cpu_attach(&S.a, &S.cpu[i]), ANALLOC_OK);
        ASSERT_ERR(model_arena_store_attach(S.m, i), ANALLOC_OK);
    }
    compare_state(0);
    search(0);
    for (unsigned i = 0; i < stores; i++) { /* (the struct and metadata were put back) */
        ASSERT_ERR(analloc_cpu_detach(&S.cpu[i]), ANALLOC_OK);
        ASSERT_ERR(model_arena_store_detach(S.m, i), ANALLOC_OK);
    }
    S.nstores = 0;
    if (stores != 0)
        compare_state(0);
    for (unsigned d = 0; d < n; d++)
        model_arena_delete(S.saved_m[d]);
    model_arena_delete(S.m);
}

static unsigned depth_of(const char *env, unsigned plain, unsigned quick)
{
    const char *s = getenv(env), *q = getenv("ANALLOC_QUICK");
    unsigned n = s != NULL && *s != '\0' ? (unsigned)strtoul(s, NULL, 0)
                 : q != NULL && *q != '\0' && *q != '0' ? quick
                                                       : plain;
    return n < 1u ? 1u : n > MAX_DEPTH ? MAX_DEPTH : n;
}

static unsigned depth_n(void)
{
    return depth_of("ANALLOC_EXHAUSTIVE_N", EXHAUSTIVE_DEPTH, EXHAUSTIVE_DEPTH - 1u);
}

static void test_every_sequence(void **state)
{
    (void)state;
    unsigned n = depth_n();
    clock_t t0 = clock();
    size_t steps = 0, paths = 0, arenas = 0;
    for (unsigned cache = 0; cache < 2; cache++)
        for (unsigned pages = 1; pages <= MAX_PAGES; pages++)
            for (unsigned offset = 0; offset < 16; offset++) {
                S.steps = S.paths = 0;
                run_arena(pages, offset, cache != 0, 0, n);
                steps += S.steps;
                paths += S.paths;
                arenas++;
            }
    printf("[ exhaustive ] every sequence of %u operations on %zu arenas (1-%u pages, every "
           "start modulo 16 pages, cache on and off): %zu sequences, %zu steps compared with "
           "the model in %.1f s\n",
           n, arenas, MAX_PAGES, paths, steps, (double)(clock() - t0) / CLOCKS_PER_SEC);
}

static void test_every_sequence_stores(void **state)
{
    (void)state;
    unsigned n = depth_of("ANALLOC_EXHAUSTIVE_STORES_N", EXHAUSTIVE_STORES_DEPTH,
                          EXHAUSTIVE_STORES_DEPTH);
    clock_t t0 = clock();
    size_t steps = 0, paths = 0, arenas = 0;
    for (unsigned pages = 1; pages <= MAX_PAGES; pages++)
        for (unsigned offset = 0; offset < 16; offset++) {
            S.steps = S.paths = 0;
            run_arena(pages, offset, true, NSTORES, n);
            steps += S.steps;
            paths += S.paths;
            arenas++;
        }
    printf("[ exhaustive ] every sequence of %u operations through %u per-CPU stores on %zu "
           "arenas (1-%u pages, every start modulo 16 pages): %zu sequences, %zu steps compared "
           "with the model in %.1f s\n",
           n, NSTORES, arenas, MAX_PAGES, paths, steps, (double)(clock() - t0) / CLOCKS_PER_SEC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_sequence),
        cmocka_unit_test(test_every_sequence_stores),
    };
    return cmocka_run_group_tests_name("analloc exhaustive", tests, NULL, NULL);
}
