/*
 * test_model.c - a randomized model test of the analloc engine.
 *
 * Each test case runs many random configurations (page size, arena size, used
 * prefix, start alignment, with_chunk or init with an external metadata
 * buffer, real memory or a never-touched fake address range) and on each a
 * random sequence of alloc, free, realloc, mem_size and deliberately bad
 * calls, every one checked against an exact shadow model.  The model is
 * tests/model.c (described there and in model.h); this file drives it from
 * tests/testutil.h's generator and reports its failures through cmocka.
 *
 * Environment: ANALLOC_SEED=n replays seed n (printed as "model seed=n");
 * ANALLOC_OPS=n sets the total number of operations over all test cases;
 * ANALLOC_QUICK=1 runs a tenth of the default; ANALLOC_CONFIG=i runs only
 * configuration i of each test case (failure messages name it).
 *
 * Every case drives both interfaces: each call of an allocator over pointers
 * goes through the pointer call or its address-space twin (analloc_space_*)
 * at random, with the same prediction; and exact runs (analloc_alloc_exact,
 * analloc_free_exact with right and wrong sizes, the run's blocks freed one
 * by one).  The space-* cases set up address spaces (analloc_space_init)
 * nobody touches: base 0, where address 0 is a block like any other, small
 * unaligned bases, bases above 4 GiB (on 32-bit targets too) and right below
 * the top of the 64-bit space, every call through the space calls, and now
 * and then a pointer call, which must refuse it.
 *
 * The stores-* cases drive up to four per-CPU stores (analloc_cpu_*) from
 * this one thread beside the plain calls: attach, detach, drain, alloc and
 * free through any store (a block freed through another store than the one
 * it came from, double frees into another store, spills, refills, full
 * table buckets, failing allocations that give every store back), each
 * result predicted by the model, and after every step each store's lists
 * and table entries compared with the engine's, besides the checks above.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model.h"
#include "testutil.h"

#define DEFAULT_TOTAL_OPS 2200000u

static uint64_t g_seed;
static size_t g_total_ops;
static bool g_only;
static size_t g_only_config;

/* The configuration running now, for failure messages. */
static size_t g_config;

static void fail_cmocka(void *ctx, const char *msg)
{
    (void)ctx;
    fail_msg("model seed=%llu %s\n  replay: ANALLOC_SEED=%llu ANALLOC_CONFIG=%zu "
             "./build/tests/test_model",
             (unsigned long long)g_seed, msg, (unsigned long long)g_seed, g_config);
}

/* ---- Test cases ------------------------------------------------------------------ */

/* Every class drives both interfaces (MODEL_TWINS: each call of an
 * allocator over pointers through the pointer call or its address-space
 * twin) and exact runs (MODEL_EXACT). */
#define API (MODEL_TWINS | MODEL_EXACT)

static const struct model_class classes[] = {
    {"tiny", 1, 1, 16, 220, 100, 600, SIZE_MAX, MODEL_REAL, 0, 0, 0, 0, API},
    {"small", 2, 17, 512, 420, 1000, 6000, SIZE_MAX, MODEL_REAL, 0, 0, 0, 0, API},
    {"medium", 3, 513, 4096, 60, 4000, 15000, SIZE_MAX, MODEL_REAL, 0, 0, 0, 0, API},
    {"large", 4, 4097, 70000, 200, 10000, 40000, 1500, MODEL_REAL, 0, 0, 0, 0, API},
    {"huge-fake", 5, (size_t)1 << 16, (size_t)1 << 22, 100, 8000, 30000, 600, MODEL_FAKE, 0, 0, 0, 0,
     API},
    /* per-CPU stores: 1 to 4 of them.  Arenas from about 20 pages hash the
     * cache table (small ones, 64 to 256 entries, fill buckets often); a
     * one-page arena has stores that keep nothing. */
    {"stores-tiny", 6, 1, 16, 60, 100, 600, SIZE_MAX, MODEL_REAL, 0, 0, 0, 4, API},
    {"stores-small", 7, 17, 1024, 200, 1000, 6000, SIZE_MAX, MODEL_REAL, 0, 0, 0, 4, API},
    {"stores-medium", 8, 1025, 8192, 60, 4000, 15000, 2000, MODEL_REAL, 0, 0, 0, 4, API},
    {"stores-fake", 9, 1025, (size_t)1 << 20, 40, 4000, 15000, 1500, MODEL_FAKE, 0, 0, 0, 4, API},
    /* address spaces (analloc_space_init): base 0, small unaligned bases,
     * bases above 4 GiB and below the top of the 64-bit space, pages of 1 B
     * to 1 GiB (on 32-bit targets too: sizes past 4 GiB there) */
    {"space-tiny", 10, 1, 16, 60, 100, 600, SIZE_MAX, MODEL_SPACE, 0, 0, 0, 0, API},
    {"space-small", 11, 17, 2048, 70, 1000, 6000, SIZE_MAX, MODEL_SPACE, 0, 0, 0, 0, API},
    {"space-huge", 12, (size_t)1 << 16, (size_t)1 << 22, 30, 8000, 30000, 600, MODEL_SPACE, 0, 0, 0,
     0, API},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run_class(const struct model_class *k)
{
    printf("model seed=%llu\n", (unsigned long long)g_seed);
    fflush(stdout);
    uint64_t budget = (uint64_t)g_total_ops * k->share_permille / 1000u;
    struct model_totals t = {0};
    const struct model_failure failure = {fail_cmocka, NULL};
    double t0 = now();
    for (size_t i = g_only ? g_only_config : 0; g_only ? i == g_only_config : t.configs == 0 || t.ops < budget;
         i++) {
        struct rng rng = {rng_mix(g_seed ^ rng_mix(((uint64_t)k->id << 40) ^ (uint64_t)i))};
        const struct model_source src = model_source_prng(&rng);
        g_config = i;
        model_run_one(k, i, &src, &failure, &t, NULL, 0);
    }
    printf("  %s: %zu configurations, %zu operations in %.2f s (alloc %zu ok / %zu failed, "
           "free %zu, realloc %zu in place / %zu moved / %zu failed, placed %zu ok / %zu failed, "
           "reserve %zu, release %zu, refused %zu, stats+walk %zu, bad pointers %zu, "
           "analloc_check %zu)\n",
           k->name, t.configs, t.ops, now() - t0, t.alloc_ok, t.alloc_fail, t.frees, t.re_in_place,
           t.re_move, t.re_fail, t.placed_ok, t.placed_fail, t.reserves, t.releases,
           t.range_refused, t.stats, t.bad, t.checks);
    printf("    exact runs: alloc %zu ok / %zu failed, free_exact %zu ok / %zu refused; space calls "
           "%zu (twins of pointer calls %zu), resize %zu in place / %zu refused, pointer calls "
           "refused %zu, blocks at address 0 %zu\n",
           t.exact_ok, t.exact_fail, t.exact_frees, t.exact_refused, t.space_calls, t.twin_calls,
           t.resize_ok, t.resize_fail, t.ptr_refused, t.zero_blocks);
    if (k->stores != 0)
        printf("    stores: alloc %zu ok / %zu failed, free %zu, bad %zu; refills %zu, spills %zu, "
               "full buckets %zu, give-backs of every store %zu; attach %zu, detach %zu, "
               "drain %zu\n",
               t.cpu_alloc_ok, t.cpu_alloc_fail, t.cpu_frees, t.cpu_bad, t.cpu_refills,
               t.cpu_spills, t.cpu_full_buckets, t.cpu_give_backs, t.cpu_attach, t.cpu_detach,
               t.cpu_drain);
    fflush(stdout);
}

static void test_model_tiny(void **state)
{
    (void)state;
    run_class(&classes[0]);
}

static void test_model_small(void **state)
{
    (void)state;
    run_class(&classes[1]);
}

static void test_model_medium(void **state)
{
    (void)state;
    run_class(&classes[2]);
}

static void test_model_large(void **state)
{
    (void)state;
    run_class(&classes[3]);
}

static void test_model_huge_fake(void **state)
{
    (void)state;
    run_class(&classes[4]);
}

static void test_model_stores_tiny(void **state)
{
    (void)state;
    run_class(&classes[5]);
}

static void test_model_stores_small(void **state)
{
    (void)state;
    run_class(&classes[6]);
}

static void test_model_stores_medium(void **state)
{
    (void)state;
    run_class(&classes[7]);
}

static void test_model_stores_fake(void **state)
{
    (void)state;
    run_class(&classes[8]);
}

static void test_model_space_tiny(void **state)
{
    (void)state;
    run_class(&classes[9]);
}

static void test_model_space_small(void **state)
{
    (void)state;
    run_class(&classes[10]);
}

static void test_model_space_huge(void **state)
{
    (void)state;
    run_class(&classes[11]);
}

static bool env_number(const char *name, unsigned long long *out)
{
    const char *s = getenv(name);
    if (s == NULL || *s == '\0')
        return false;
    *out = strtoull(s, NULL, 0);
    return true;
}

int main(void)
{
    unsigned long long v;
    if (env_number("ANALLOC_SEED", &v))
        g_seed = v;
    else
        g_seed = rng_mix((uint64_t)time(NULL) ^ ((uint64_t)clock() << 32));
    bool quick = env_number("ANALLOC_QUICK", &v) && v != 0;
    g_total_ops = env_number("ANALLOC_OPS", &v) ? (size_t)v
                                                : DEFAULT_TOTAL_OPS / (quick ? 10u : 1u);
    if (env_number("ANALLOC_CONFIG", &v)) {
        g_only = true;
        g_only_config = (size_t)v;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_tiny),
        cmocka_unit_test(test_model_small),
        cmocka_unit_test(test_model_medium),
        cmocka_unit_test(test_model_large),
        cmocka_unit_test(test_model_huge_fake),
        cmocka_unit_test(test_model_stores_tiny),
        cmocka_unit_test(test_model_stores_small),
        cmocka_unit_test(test_model_stores_medium),
        cmocka_unit_test(test_model_stores_fake),
        cmocka_unit_test(test_model_space_tiny),
        cmocka_unit_test(test_model_space_small),
        cmocka_unit_test(test_model_space_huge),
    };
    return cmocka_run_group_tests_name("analloc model", tests, NULL, NULL);
}
