/*
 * test_bitvector.c - unit tests for include/analloc/bitvector.h.
 *
 * Built once per word type (-DBV_TYPE=uint8_t/uint16_t/uint32_t/uint64_t) and
 * once with -DBV_NO_BUILTINS (the portable word helpers).  Every function and
 * macro of the header is checked against a naive reference: a bool per bit,
 * and word values built one bit at a time.
 *
 * Environment: ANALLOC_SEED=n replays the randomized test with seed n (the
 * seed is printed as "seed=n"; the generator is tests/testutil.h's); ANALLOC_OPS=n sets the operations per vector
 * size of the differential test; ANALLOC_QUICK=1 runs fewer.
 */
#define BV_ENABLEMACROS
#include <analloc/bitvector.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

/* ---- Naive reference ---------------------------------------------------- */

#define WBITS ((size_t)BV_BITS)
#define ALL_ONES ((BV_TYPE)~(BV_TYPE)0)
/* A pattern for guard words: bits that no correct call writes there. */
#define GUARD ((BV_TYPE)0xA5C3A5C35A3C5A3Dull) /* bit 0 set */

#define STR2_(x) #x
#define STR_(x) STR2_(x)
#ifdef BV_NO_BUILTINS
#define BV_TYPE_NAME_ STR_(BV_TYPE) ", no builtins"
#else
#define BV_TYPE_NAME_ STR_(BV_TYPE)
#endif

/* Largest vector of the differential test and of the reference buffers. */
#define MAX_BITS 300u
#define MAX_WORDS ((MAX_BITS + 7u) / 8u + 2u) /* enough for uint8_t words */

/* A word with only bit j set, built without the header. */
static BV_TYPE naive_bit(size_t j)
{
    BV_TYPE m = 1;
    for (size_t k = 0; k < j; k++)
        m = (BV_TYPE)(m + m);
    return m;
}

/* A word with bits [lo, hi] set (inclusive; lo <= hi < WBITS). */
static BV_TYPE naive_span(size_t lo, size_t hi)
{
    BV_TYPE m = 0;
    for (size_t j = lo; j <= hi; j++)
        m |= naive_bit(j);
    return m;
}

static bool naive_get(const BV_TYPE *v, size_t i)
{
    return ((uint64_t)v[i / WBITS] >> (i % WBITS)) & 1u;
}

static unsigned naive_ctz(uint64_t x, unsigned width)
{
    for (unsigned i = 0; i < width; i++)
        if ((x >> i) & 1u)
            return i;
    return width;
}

static unsigned naive_msb(uint64_t x, unsigned width)
{
    for (unsigned i = width; i-- > 0;)
        if ((x >> i) & 1u)
            return i;
    return width;
}

static unsigned naive_popcount(uint64_t x)
{
    unsigned n = 0;
    for (; x; x >>= 1)
        n += (unsigned)(x & 1u);
    return n;
}

/* Words needed for n bits, counted without BV_SIZE. */
static size_t naive_words(size_t n)
{
    size_t w = 0;
    while (w * WBITS < n)
        w++;
    return w;
}

/* A vector surrounded by guard words: buf[0] and buf[1 + nwords ...]. */
struct gvec {
    BV_TYPE buf[MAX_WORDS + 4];
    BV_TYPE *v;
    size_t size;
    size_t nwords;
};

/* Prepare a guarded vector of `size` bits whose words are all `fill`. */
static void gvec_init(struct gvec *g, size_t size, BV_TYPE fill)
{
    g->size = size;
    g->nwords = naive_words(size);
    assert_true(g->nwords + 4 <= sizeof(g->buf) / sizeof(g->buf[0]));
    for (size_t i = 0; i < sizeof(g->buf) / sizeof(g->buf[0]); i++)
        g->buf[i] = GUARD;
    g->v = g->buf + 1;
    for (size_t i = 0; i < g->nwords; i++)
        g->v[i] = fill;
}

/* Store the bits of ref in g's words; padding bits are zero. */
static void gvec_load(struct gvec *g, const bool *ref)
{
    for (size_t i = 0; i < g->nwords; i++)
        g->v[i] = 0;
    for (size_t i = 0; i < g->size; i++)
        if (ref[i])
            g->v[i / WBITS] |= (BV_TYPE)((uint64_t)1 << (i % WBITS));
}

static void check_guards(const struct gvec *g)
{
    assert_int_equal(g->buf[0], GUARD);
    for (size_t i = g->nwords + 1; i < sizeof(g->buf) / sizeof(g->buf[0]); i++)
        assert_int_equal(g->buf[i], GUARD);
}

/* g holds exactly ref in [0, size), zero padding, and intact guards. */
static void check_matches(const struct gvec *g, const bool *ref)
{
    for (size_t i = 0; i < g->size; i++) {
        if (naive_get(g->v, i) != ref[i])
            fail_msg("size %zu: bit %zu is %d, expected %d", g->size, i,
                     (int)naive_get(g->v, i), (int)ref[i]);
    }
    for (size_t i = g->size; i < g->nwords * WBITS; i++) {
        if (naive_get(g->v, i))
            fail_msg("size %zu: padding bit %zu is set", g->size, i);
    }
    check_guards(g);
}

static size_t ref_next(const bool *ref, size_t size, size_t from)
{
    for (size_t i = from; i < size; i++)
        if (ref[i])
            return i;
    return size;
}

static size_t ref_prev(const bool *ref, size_t size, size_t from)
{
    if (size == 0)
        return 0;
    size_t i = from < size ? from : size - 1;
    for (;; i--) {
        if (ref[i])
            return i;
        if (i == 0)
            return size;
    }
}

static size_t ref_count(const bool *ref, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < size; i++)
        n += ref[i];
    return n;
}

/* ---- Pseudo-random numbers (tests/testutil.h) ----------------------------- */

/* One generator for the whole file: each test seeds it (most with a fixed
 * number, the differential test with the run's seed). */
static struct rng g_rng;
static uint64_t test_seed;

/* The run's seed (ANALLOC_SEED, printed once), into g_rng. */
static void seed_differential(void)
{
    static bool done;
    if (!done) {
        test_seed = seed_from_env();
        printf("seed=%llu (replay with ANALLOC_SEED=%llu)\n", (unsigned long long)test_seed,
               (unsigned long long)test_seed);
        fflush(stdout);
        done = true;
    }
    g_rng.s = test_seed;
}

/* ---- Constants, types and sizes ------------------------------------------ */

/* File-scope declaration through BV_DECLARE. */
static BV_DECLARE(file_scope_vec, 100);
_Static_assert(sizeof(file_scope_vec) == BV_SIZE(100) * sizeof(BV_TYPE),
               "BV_DECLARE declares BV_SIZE(n) words");

static void test_bv_bits_and_types(void **state)
{
    (void)state;
    assert_int_equal(BV_BITS, sizeof(BV_TYPE) * 8u);
    assert_int_equal(BV_BITS, naive_msb(ALL_ONES, 64) + 1u);
    /* The word type really is unsigned and BV_BITS wide. */
    assert_true((BV_TYPE)-1 > 0);
    assert_int_equal(naive_popcount(ALL_ONES), BV_BITS);
    /* bv_type is a pointer to words; results have the documented types. */
    assert_true(_Generic((bv_type)0, BV_TYPE *: 1, default: 0));
    assert_true(_Generic(bv_index(0), size_t: 1, default: 0));
    assert_true(_Generic(bv_bit(0), size_t: 1, default: 0));
    assert_true(_Generic(bv_mask(0), BV_TYPE: 1, default: 0));
    assert_true(_Generic(bv_test(file_scope_vec, 0), BV_TYPE: 1, default: 0));
    assert_true(_Generic(BV_MASK(0), BV_TYPE: 1, default: 0));
    assert_true(_Generic(BV_INDEX(0), size_t: 1, default: 0));
    assert_true(_Generic(BV_BIT(0), size_t: 1, default: 0));
    assert_true(_Generic(bv_mask_from(0), BV_TYPE: 1, default: 0));
    assert_true(_Generic(bv_mask_through(0), BV_TYPE: 1, default: 0));
    assert_true(_Generic(file_scope_vec[0], BV_TYPE: 1, default: 0));
}

static void test_builtin_selection(void **state)
{
    (void)state;
#ifdef BV_NO_BUILTINS
    /* BV_NO_BUILTINS must force the portable fallback. */
    assert_int_equal(BV_HAVE_BUILTIN_SCAN, 0);
#elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__))
    assert_int_equal(BV_HAVE_BUILTIN_SCAN, 1);
#else
    assert_true(BV_HAVE_BUILTIN_SCAN == 0 || BV_HAVE_BUILTIN_SCAN == 1);
#endif
}

static void test_bv_size_and_declare(void **state)
{
    (void)state;
    assert_int_equal(BV_SIZE(0), 0);
    assert_int_equal(BV_SIZE(1), 1);
    assert_int_equal(BV_SIZE(BV_BITS - 1), 1);
    assert_int_equal(BV_SIZE(BV_BITS), 1);
    assert_int_equal(BV_SIZE(BV_BITS + 1), 2);
    assert_int_equal(BV_SIZE(2 * BV_BITS), 2);
    for (size_t n = 0; n <= 1000; n++)
        assert_int_equal(BV_SIZE(n), naive_words(n));
    /* int arguments and arguments that are expressions. */
    int k = 7;
    assert_int_equal(BV_SIZE(k + 1), naive_words(8));
    assert_int_equal(BV_SIZE(k ? 64 : 1), naive_words(64));
    /* Large sizes do not overflow before the division. */
    assert_int_equal(BV_SIZE((size_t)1 << 31), ((size_t)1 << 31) / WBITS);
    assert_int_equal(BV_SIZE(SIZE_MAX / 2), (SIZE_MAX / 2) / WBITS + 1u);

    /* BV_DECLARE in a function, with an initializer. */
    BV_DECLARE(local32, 32) = {0};
    BV_DECLARE(local1, 1);
    BV_DECLARE(local_odd, 3 * 8 + 5);
    assert_int_equal(sizeof(local32), naive_words(32) * sizeof(BV_TYPE));
    assert_int_equal(sizeof(local1), sizeof(BV_TYPE));
    assert_int_equal(sizeof(local_odd), naive_words(29) * sizeof(BV_TYPE));
    assert_int_equal(sizeof(file_scope_vec), naive_words(100) * sizeof(BV_TYPE));
    /* Static storage starts zeroed; the declared vector is usable. */
    assert_true(bv_none(file_scope_vec, 100));
    bv_set(file_scope_vec, 99);
    assert_int_equal(bv_last_set(file_scope_vec, 100), 99);
    bv_clearall(file_scope_vec, 100);
    assert_true(bv_none(local32, 32));
    bv_setall(local32, 32);
    assert_int_equal(bv_count(local32, 32), 32);
    bv_clearall(local1, 1);
    bv_set(local1, 0);
    assert_int_equal(bv_count(local1, 1), 1);
    bv_setall(local_odd, 29);
    assert_int_equal(bv_count(local_odd, 29), 29);
}

/* ---- bv_index, bv_bit, bv_mask and their macros --------------------------- */

static void test_index_bit_mask_small(void **state)
{
    (void)state;
    size_t word = 0, pos = 0;
    BV_TYPE mask = 1;
    for (size_t i = 0; i < 5 * WBITS + 3; i++) {
        assert_int_equal(bv_index(i), word);
        assert_int_equal(bv_bit(i), pos);
        assert_int_equal(bv_mask(i), mask);
        assert_int_equal(BV_INDEX(i), word);
        assert_int_equal(BV_BIT(i), pos);
        assert_int_equal(BV_MASK(i), mask);
        assert_int_equal(naive_popcount(bv_mask(i)), 1);
        /* Walk to the next bit without the header's arithmetic. */
        if (++pos == WBITS) {
            pos = 0;
            word++;
            mask = 1;
        } else {
            mask = (BV_TYPE)(mask + mask);
        }
    }
}

static void test_index_bit_mask_int_arguments(void **state)
{
    (void)state;
    /* Plain int literals and int variables, as the seed's API took. */
    assert_int_equal(bv_index(0), 0);
    assert_int_equal(bv_bit(0), 0);
    assert_int_equal(bv_mask(0), 1);
    assert_int_equal(bv_index(70), 70 / WBITS);
    assert_int_equal(bv_bit(70), 70 % WBITS);
    assert_int_equal(bv_mask(70), naive_bit(70 % WBITS));
    assert_int_equal(BV_INDEX(70), 70 / WBITS);
    assert_int_equal(BV_BIT(70), 70 % WBITS);
    assert_int_equal(BV_MASK(70), naive_bit(70 % WBITS));
    int i = 13;
    assert_int_equal(bv_index(i), 13 / WBITS);
    assert_int_equal(bv_bit(i), 13 % WBITS);
    assert_int_equal(bv_mask(i), naive_bit(13 % WBITS));
    assert_int_equal(BV_INDEX(i + 1), 14 / WBITS);
    assert_int_equal(BV_BIT(i + 1), 14 % WBITS);
    assert_int_equal(BV_MASK(i + 1), naive_bit(14 % WBITS));
    unsigned u = 31;
    assert_int_equal(bv_mask(u), naive_bit(31 % WBITS));
    assert_int_equal(BV_MASK(u), naive_bit(31 % WBITS));
    /* The top bit of a word. */
    assert_int_equal(bv_mask((int)BV_BITS - 1), naive_bit(WBITS - 1));
    assert_int_equal(BV_MASK((int)BV_BITS - 1), naive_bit(WBITS - 1));
}

static void check_large_index(size_t bit)
{
    size_t idx = bv_index(bit), pos = bv_bit(bit);
    assert_true(pos < WBITS);
    /* idx * WBITS + pos == bit, without overflow. */
    assert_true(idx <= SIZE_MAX / WBITS);
    assert_int_equal(idx * WBITS + pos, bit);
    assert_int_equal(bv_mask(bit), naive_bit(pos));
    assert_int_equal(BV_INDEX(bit), idx);
    assert_int_equal(BV_BIT(bit), pos);
    assert_int_equal(BV_MASK(bit), naive_bit(pos));
}

static void test_index_bit_mask_large(void **state)
{
    (void)state;
    size_t two31 = (size_t)1 << 31;
    assert_int_equal(bv_index(two31), two31 / WBITS);
    assert_int_equal(bv_bit(two31), 0);
    assert_int_equal(bv_mask(two31), 1);
    assert_int_equal(bv_index(two31 + 3), two31 / WBITS);
    assert_int_equal(bv_bit(two31 + 3), 3 % WBITS);
    assert_int_equal(bv_index(two31 - 1), two31 / WBITS - 1);
    assert_int_equal(bv_bit(two31 - 1), WBITS - 1);
    assert_int_equal(bv_mask(two31 - 1), naive_bit(WBITS - 1));
    /* SIZE_MAX + 1 is a multiple of every word width. */
    assert_int_equal(bv_index(SIZE_MAX - 1), SIZE_MAX / WBITS);
    assert_int_equal(bv_bit(SIZE_MAX - 1), WBITS - 2);
    assert_int_equal(bv_mask(SIZE_MAX - 1), naive_bit(WBITS - 2));
    assert_int_equal(bv_bit(SIZE_MAX), WBITS - 1);
    assert_int_equal(bv_mask(SIZE_MAX), naive_bit(WBITS - 1));
    assert_int_equal(BV_INDEX(SIZE_MAX - 1), SIZE_MAX / WBITS);
    assert_int_equal(BV_BIT(SIZE_MAX - 1), WBITS - 2);
    assert_int_equal(BV_MASK(SIZE_MAX - 1), naive_bit(WBITS - 2));

    check_large_index(two31);
    check_large_index(two31 - 1);
    check_large_index(two31 + 1);
    check_large_index((size_t)UINT32_MAX);
    check_large_index(SIZE_MAX);
    check_large_index(SIZE_MAX - 1);
    check_large_index(SIZE_MAX / 2);
#if SIZE_MAX > 0xffffffffu
    check_large_index((size_t)1 << 32);
    check_large_index(((size_t)1 << 40) + 5);
    check_large_index(((size_t)1 << 63) + 63);
#endif
    g_rng.s = 12345;
    for (int k = 0; k < 10000; k++)
        check_large_index((size_t)rng_next(&g_rng));
}

/* ---- bv_set, bv_clear, bv_test and their macros --------------------------- */

static void test_set_clear_test_single_bits(void **state)
{
    (void)state;
    const size_t size = 4 * WBITS + 5;
    struct gvec g;
    bool ref[MAX_BITS];
    for (size_t i = 0; i < size; i++) {
        /* Set one bit of a zero vector: only that bit changes. */
        gvec_init(&g, size, 0);
        memset(ref, 0, sizeof(ref));
        bv_set(g.v, i);
        ref[i] = true;
        check_matches(&g, ref);
        assert_int_equal(g.v[i / WBITS], naive_bit(i % WBITS));
        for (size_t j = 0; j < size; j++) {
            BV_TYPE t = bv_test(g.v, j);
            /* bv_test returns the bit's mask when set, 0 when clear. */
            assert_int_equal(t, j == i ? naive_bit(j % WBITS) : 0);
        }
        /* Setting again is idempotent. */
        bv_set(g.v, i);
        check_matches(&g, ref);
        bv_clear(g.v, i);
        ref[i] = false;
        check_matches(&g, ref);
        assert_int_equal(bv_test(g.v, i), 0);
        /* Clearing a clear bit is idempotent. */
        bv_clear(g.v, i);
        check_matches(&g, ref);

        /* Clear one bit of a full vector: only that bit changes. */
        gvec_init(&g, size, 0);
        for (size_t j = 0; j < size; j++)
            ref[j] = true;
        gvec_load(&g, ref);
        bv_clear(g.v, i);
        ref[i] = false;
        check_matches(&g, ref);
        for (size_t j = 0; j < size; j++)
            assert_int_equal(bv_test(g.v, j), j == i ? 0 : naive_bit(j % WBITS));
        bv_set(g.v, i);
        ref[i] = true;
        check_matches(&g, ref);
    }
}

static void test_set_clear_test_int_arguments(void **state)
{
    (void)state;
    BV_DECLARE(v, 80) = {0};
    bv_set(v, 0);
    bv_set(v, 9);
    bv_set(v, 79);
    assert_true(bv_test(v, 0));
    assert_true(bv_test(v, 9));
    assert_true(bv_test(v, 79));
    assert_false(bv_test(v, 8));
    assert_false(bv_test(v, 10));
    assert_int_equal(bv_count(v, 80), 3);
    bv_clear(v, 9);
    assert_false(bv_test(v, 9));
    int i = 42;
    bv_set(v, i);
    assert_true(bv_test(v, i));
    assert_int_equal(bv_next_set(v, 80, 1), 42);
    assert_int_equal(bv_prev_set(v, 80, 78), 42);
    bv_clear(v, i);
    assert_int_equal(bv_count(v, 80), 2);
    bv_setall(v, 80);
    bv_clear_range(v, 3, 70);
    assert_int_equal(bv_count(v, 80), 10);
    bv_set_range(v, 5, 2);
    assert_int_equal(bv_count(v, 80), 12);
    bv_toggleall(v, 80);
    assert_int_equal(bv_count(v, 80), 68);
    assert_int_equal(bv_first_set(v, 80), 3);
    assert_int_equal(bv_last_set(v, 80), 72);
    bv_clearall(v, 80);
    assert_true(bv_none(v, 80));
    /* bv_test on a vector through a const pointer. */
    const BV_TYPE *cv = v;
    bv_set(v, 50);
    assert_true(bv_test(cv, 50));
}

static void test_macros_set_clear_test(void **state)
{
    (void)state;
    const size_t size = 3 * WBITS + 7;
    struct gvec g;
    bool ref[MAX_BITS];
    gvec_init(&g, size, 0);
    memset(ref, 0, sizeof(ref));
    /* Every bit, set and cleared through the macros, matches the functions. */
    for (size_t i = 0; i < size; i += 1) {
        BV_SET(g.v, i);
        ref[i] = true;
        check_matches(&g, ref);
        assert_true(BV_TEST(g.v, i));
        assert_int_equal((BV_TYPE)BV_TEST(g.v, i), bv_test(g.v, i));
        assert_int_equal((BV_TYPE)BV_TEST(g.v, i), naive_bit(i % WBITS));
    }
    for (size_t i = 0; i < size; i += 2) {
        BV_CLEAR(g.v, i);
        ref[i] = false;
        check_matches(&g, ref);
        assert_false(BV_TEST(g.v, i));
    }
    for (size_t i = 0; i < size; i++)
        assert_int_equal((BV_TYPE)BV_TEST(g.v, i), bv_test(g.v, i));
}

/* Regression: the seed's BV_TEST did not compile.  It must be an expression
 * usable wherever an integer is. */
static void test_macro_bv_test_is_expression(void **state)
{
    (void)state;
    BV_DECLARE(v, 40) = {0};
    BV_SET(v, 3);
    BV_SET(v, 5);
    BV_SET(v, 39);
    int hits = 0;
    if (BV_TEST(v, 3))
        hits++;
    if (!BV_TEST(v, 4))
        hits++;
    hits += BV_TEST(v, 5) ? 1 : 0;
    hits += BV_TEST(v, 3) && BV_TEST(v, 5);
    hits += !!BV_TEST(v, 39);
    hits += BV_TEST(v, 38) != 0;
    assert_int_equal(hits, 5);
    /* Arguments that are expressions are parenthesized. */
    int i = 2;
    assert_true(BV_TEST(v, i + 1));
    assert_false(BV_TEST(v, i * 2));
    assert_true(BV_TEST(v + 0, i ? 5 : 6));
    BV_CLEAR(v, i + 1);
    assert_false(BV_TEST(v, 3));
    BV_SET(v, i * 2);
    assert_true(BV_TEST(v, 4));
    /* On a const vector, and in a constant-free loop condition. */
    const BV_TYPE *cv = v;
    size_t n = 0;
    for (size_t b = 0; b < 40; b++)
        n += BV_TEST(cv, b) ? 1u : 0u;
    assert_int_equal(n, 3);
    /* The value of BV_TEST is the bit's mask. */
    assert_int_equal((BV_TYPE)BV_TEST(v, 39), naive_bit(39 % WBITS));
}

/* ---- bv_setall, bv_clearall, bv_toggleall ---------------------------------- */

static void test_setall_clearall(void **state)
{
    (void)state;
    struct gvec g;
    bool ref[MAX_BITS];
    for (size_t size = 0; size <= 4 * WBITS + 1; size++) {
        /* From zero, from all ones (padding included), from a pattern. */
        const BV_TYPE fills[] = {0, ALL_ONES, GUARD, (BV_TYPE)~GUARD};
        for (size_t f = 0; f < sizeof(fills) / sizeof(fills[0]); f++) {
            gvec_init(&g, size, fills[f]);
            bv_setall(g.v, size);
            for (size_t i = 0; i < size; i++)
                ref[i] = true;
            check_matches(&g, ref); /* padding zero, guards intact */
            assert_int_equal(bv_count(g.v, size), size);

            gvec_init(&g, size, fills[f]);
            bv_clearall(g.v, size);
            for (size_t i = 0; i < g.nwords; i++)
                assert_int_equal(g.v[i], 0); /* padding included */
            check_guards(&g);
        }
    }
    /* Size 0 touches no word at all. */
    gvec_init(&g, 0, 0);
    bv_setall(g.v, 0);
    check_guards(&g);
    bv_clearall(g.v, 0);
    check_guards(&g);
    bv_toggleall(g.v, 0);
    check_guards(&g);
}

/* Regression: the seed's bv_toggleall set every bit instead of inverting. */
static void test_toggleall_inverts(void **state)
{
    (void)state;
    struct gvec g;
    bool ref[MAX_BITS], orig[MAX_BITS];
    g_rng.s = 777;

    /* The seed's bug in its simplest form: a full vector toggles to empty. */
    gvec_init(&g, 2 * WBITS + 3, 0);
    bv_setall(g.v, g.size);
    bv_toggleall(g.v, g.size);
    assert_true(bv_none(g.v, g.size));
    for (size_t i = 0; i < g.nwords; i++)
        assert_int_equal(g.v[i], 0);
    bv_toggleall(g.v, g.size);
    assert_int_equal(bv_count(g.v, g.size), g.size);

    for (size_t size = 0; size <= 4 * WBITS + 1; size++) {
        for (int round = 0; round < 6; round++) {
            gvec_init(&g, size, 0);
            for (size_t i = 0; i < size; i++) {
                switch (round) {
                case 0: orig[i] = false; break;
                case 1: orig[i] = true; break;
                case 2: orig[i] = (i % 2) == 0; break;
                case 3: orig[i] = i == size - 1; break;
                default: orig[i] = (rng_next(&g_rng) & 1u) != 0; break;
                }
                ref[i] = orig[i];
            }
            gvec_load(&g, ref);
            bv_toggleall(g.v, size);
            for (size_t i = 0; i < size; i++)
                ref[i] = !orig[i];
            check_matches(&g, ref); /* each bit inverted, padding zero */
            assert_int_equal(bv_count(g.v, size), size - ref_count(orig, size));
            bv_toggleall(g.v, size);
            check_matches(&g, orig); /* twice is the identity */
        }
        /* Garbage in the padding does not survive a toggle. */
        gvec_init(&g, size, 0);
        for (size_t i = 0; i < size; i++)
            ref[i] = (rng_next(&g_rng) & 1u) != 0;
        gvec_load(&g, ref);
        if (g.nwords && size % WBITS)
            g.v[g.nwords - 1] |= naive_span(size % WBITS, WBITS - 1);
        bv_toggleall(g.v, size);
        for (size_t i = 0; i < size; i++)
            ref[i] = !ref[i];
        check_matches(&g, ref);
    }
}

/* ---- 32-bit word helpers ---------------------------------------------------- */

static void test_ctz32_clz32_popcount32(void **state)
{
    (void)state;
    assert_int_equal(bv_ctz32(0), 32);
    assert_int_equal(bv_clz32(0), 32);
    assert_int_equal(bv_popcount32(0), 0);
    assert_int_equal(bv_ctz32(UINT32_MAX), 0);
    assert_int_equal(bv_clz32(UINT32_MAX), 0);
    assert_int_equal(bv_popcount32(UINT32_MAX), 32);
    for (unsigned i = 0; i < 32; i++) {
        uint32_t one = (uint32_t)1u << i;
        assert_int_equal(bv_ctz32(one), i);
        assert_int_equal(bv_clz32(one), 31 - i);
        assert_int_equal(bv_popcount32(one), 1);
        /* Bits above (for ctz) or below (for clz) do not matter. */
        assert_int_equal(bv_ctz32(UINT32_MAX << i), i);
        assert_int_equal(bv_clz32(UINT32_MAX >> i), i);
        assert_int_equal(bv_popcount32(UINT32_MAX << i), 32 - i);
        assert_int_equal(bv_popcount32(UINT32_MAX >> i), 32 - i);
        assert_int_equal(bv_popcount32(~one), 31);
        assert_int_equal(bv_ctz32(one | 0x80000000u), i);
        assert_int_equal(bv_clz32(one | 1u), 31 - i);
    }
    assert_int_equal(bv_popcount32(0x55555555u), 16);
    assert_int_equal(bv_popcount32(0xaaaaaaaau), 16);
    assert_int_equal(bv_popcount32(0x80000001u), 2);
    g_rng.s = 99;
    for (int k = 0; k < 100000; k++) {
        uint32_t x = (uint32_t)rng_word(&g_rng);
        if (k & 1)
            x >>= rng_below(&g_rng, 32);
        assert_int_equal(bv_ctz32(x), naive_ctz(x, 32));
        assert_int_equal(bv_clz32(x), x ? 31 - naive_msb(x, 32) : 32);
        assert_int_equal(bv_popcount32(x), naive_popcount(x));
    }
}

/* ---- BV_TYPE word helpers ---------------------------------------------------- */

static void test_word_helpers(void **state)
{
    (void)state;
    assert_int_equal(bv_ctz_word(0), BV_BITS);
    assert_int_equal(bv_msb_word(0), BV_BITS);
    assert_int_equal(bv_popcount_word(0), 0);
    assert_int_equal(bv_ctz_word(ALL_ONES), 0);
    assert_int_equal(bv_msb_word(ALL_ONES), BV_BITS - 1);
    assert_int_equal(bv_popcount_word(ALL_ONES), BV_BITS);
    for (size_t i = 0; i < WBITS; i++) {
        BV_TYPE one = naive_bit(i);
        assert_int_equal(bv_ctz_word(one), i);
        assert_int_equal(bv_msb_word(one), i);
        assert_int_equal(bv_popcount_word(one), 1);
        BV_TYPE from = naive_span(i, WBITS - 1);
        BV_TYPE through = naive_span(0, i);
        assert_int_equal(bv_ctz_word(from), i);
        assert_int_equal(bv_msb_word(from), WBITS - 1);
        assert_int_equal(bv_popcount_word(from), WBITS - i);
        assert_int_equal(bv_ctz_word(through), 0);
        assert_int_equal(bv_msb_word(through), i);
        assert_int_equal(bv_popcount_word(through), i + 1);
        assert_int_equal(bv_popcount_word((BV_TYPE)~one), WBITS - 1);
        /* One bit in each 32-bit half of a 64-bit word. */
        BV_TYPE two = (BV_TYPE)(one | naive_bit(WBITS - 1 - i));
        assert_int_equal(bv_ctz_word(two), i < WBITS - 1 - i ? i : WBITS - 1 - i);
        assert_int_equal(bv_msb_word(two), i > WBITS - 1 - i ? i : WBITS - 1 - i);
    }
    g_rng.s = 4242;
    for (int k = 0; k < 100000; k++) {
        BV_TYPE w = (BV_TYPE)rng_word(&g_rng);
        if (k & 1)
            w = (BV_TYPE)(w >> rng_below(&g_rng, WBITS));
        if (k % 3 == 0)
            w = (BV_TYPE)(w << rng_below(&g_rng, WBITS));
        assert_int_equal(bv_ctz_word(w), naive_ctz(w, (unsigned)WBITS));
        assert_int_equal(bv_msb_word(w), naive_msb(w, (unsigned)WBITS));
        assert_int_equal(bv_popcount_word(w), naive_popcount(w));
    }
}

static void test_mask_from_through(void **state)
{
    (void)state;
    assert_int_equal(bv_mask_from(0), ALL_ONES);
    assert_int_equal(bv_mask_through(WBITS - 1), ALL_ONES);
    assert_int_equal(bv_mask_through(0), 1);
    assert_int_equal(bv_mask_from(WBITS - 1), naive_bit(WBITS - 1));
    for (size_t p = 0; p < WBITS; p++) {
        assert_int_equal(bv_mask_from(p), naive_span(p, WBITS - 1));
        assert_int_equal(bv_mask_through(p), naive_span(0, p));
        /* from(p) and through(p - 1) split the word. */
        if (p > 0) {
            assert_int_equal(bv_mask_from(p) & bv_mask_through(p - 1), 0);
            assert_int_equal((BV_TYPE)(bv_mask_from(p) | bv_mask_through(p - 1)), ALL_ONES);
        }
    }
    /* int arguments. */
    assert_int_equal(bv_mask_from(1), naive_span(1, WBITS - 1));
    assert_int_equal(bv_mask_through(3), naive_span(0, 3));
}

/* ---- bv_set_range, bv_clear_range ------------------------------------------- */

static void test_set_clear_range_exhaustive(void **state)
{
    (void)state;
    /* Spans several words for every word type (3 words of 64 bits, 17 of 8). */
    const size_t size = 2 * 64 + 7;
    struct gvec g;
    bool ref[MAX_BITS], base[MAX_BITS];
    g_rng.s = 31337;
    for (size_t i = 0; i < size; i++)
        base[i] = (rng_next(&g_rng) & 1u) != 0;
    for (size_t start = 0; start <= size; start++) {
        for (size_t count = 0; start + count <= size; count++) {
            /* set_range from empty, and over a random pattern. */
            for (int pattern = 0; pattern < 2; pattern++) {
                for (size_t i = 0; i < size; i++)
                    ref[i] = pattern ? base[i] : false;
                gvec_init(&g, size, 0);
                gvec_load(&g, ref);
                bv_set_range(g.v, start, count);
                for (size_t i = start; i < start + count; i++)
                    ref[i] = true;
                check_matches(&g, ref);

                /* clear_range from full, and over a random pattern. */
                for (size_t i = 0; i < size; i++)
                    ref[i] = pattern ? base[i] : true;
                gvec_load(&g, ref);
                bv_clear_range(g.v, start, count);
                for (size_t i = start; i < start + count; i++)
                    ref[i] = false;
                check_matches(&g, ref);
            }
        }
    }
}

static void test_set_clear_range_word_boundaries(void **state)
{
    (void)state;
    BV_TYPE v[4];
    /* Ends exactly at a word boundary: the next word is untouched. */
    memset(v, 0, sizeof(v));
    bv_set_range(v, 3, WBITS - 3);
    assert_int_equal(v[0], naive_span(3, WBITS - 1));
    assert_int_equal(v[1], 0);
    /* One whole word, aligned. */
    memset(v, 0, sizeof(v));
    bv_set_range(v, WBITS, WBITS);
    assert_int_equal(v[0], 0);
    assert_int_equal(v[1], ALL_ONES);
    assert_int_equal(v[2], 0);
    /* Crossing one boundary by one bit on each side. */
    memset(v, 0, sizeof(v));
    bv_set_range(v, WBITS - 1, 2);
    assert_int_equal(v[0], naive_bit(WBITS - 1));
    assert_int_equal(v[1], 1);
    assert_int_equal(v[2], 0);
    /* Crossing two boundaries: last bit of word 0 through first of word 2. */
    memset(v, 0, sizeof(v));
    bv_set_range(v, WBITS - 1, WBITS + 2);
    assert_int_equal(v[0], naive_bit(WBITS - 1));
    assert_int_equal(v[1], ALL_ONES);
    assert_int_equal(v[2], 1);
    assert_int_equal(v[3], 0);
    /* Count 0 changes nothing, even at the end of the vector. */
    memset(v, 0, sizeof(v));
    bv_set_range(v, 4 * WBITS, 0);
    bv_set_range(v, 0, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(v[i], 0);

    /* The same for clear_range. */
    memset(v, 0xff, sizeof(v));
    bv_clear_range(v, 3, WBITS - 3);
    assert_int_equal(v[0], naive_span(0, 2));
    assert_int_equal(v[1], ALL_ONES);
    memset(v, 0xff, sizeof(v));
    bv_clear_range(v, WBITS, WBITS);
    assert_int_equal(v[0], ALL_ONES);
    assert_int_equal(v[1], 0);
    assert_int_equal(v[2], ALL_ONES);
    memset(v, 0xff, sizeof(v));
    bv_clear_range(v, WBITS - 1, WBITS + 2);
    assert_int_equal(v[0], naive_span(0, WBITS - 2));
    assert_int_equal(v[1], 0);
    assert_int_equal(v[2], naive_span(1, WBITS - 1));
    assert_int_equal(v[3], ALL_ONES);
    memset(v, 0xff, sizeof(v));
    bv_clear_range(v, 4 * WBITS, 0);
    bv_clear_range(v, 1, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(v[i], ALL_ONES);
    /* The whole vector. */
    bv_clear_range(v, 0, 4 * WBITS);
    for (int i = 0; i < 4; i++)
        assert_int_equal(v[i], 0);
    bv_set_range(v, 0, 4 * WBITS);
    for (int i = 0; i < 4; i++)
        assert_int_equal(v[i], ALL_ONES);
}

/* ---- Scans and counts ---------------------------------------------------- */

static void test_scans_on_empty_vector(void **state)
{
    (void)state;
    /* Size 0: every scan returns 0, counts are 0, and no word is read (the
     * words hold set bits that would be found if one were). */
    BV_TYPE v[2] = {ALL_ONES, ALL_ONES};
    assert_int_equal(bv_next_set(v, 0, 0), 0);
    assert_int_equal(bv_next_set(v, 0, 5), 0);
    assert_int_equal(bv_next_set(v, 0, SIZE_MAX), 0);
    assert_int_equal(bv_prev_set(v, 0, 0), 0);
    assert_int_equal(bv_prev_set(v, 0, 5), 0);
    assert_int_equal(bv_prev_set(v, 0, SIZE_MAX), 0);
    assert_int_equal(bv_first_set(v, 0), 0);
    assert_int_equal(bv_last_set(v, 0), 0);
    assert_int_equal(bv_count(v, 0), 0);
    assert_true(bv_none(v, 0));

    /* All-zero vectors of every size: nothing found, size returned. */
    struct gvec g;
    for (size_t size = 1; size <= 4 * WBITS + 1; size++) {
        gvec_init(&g, size, 0);
        assert_int_equal(bv_first_set(g.v, size), size);
        assert_int_equal(bv_last_set(g.v, size), size);
        assert_int_equal(bv_count(g.v, size), 0);
        assert_true(bv_none(g.v, size));
        for (size_t from = 0; from <= size + 1; from++) {
            assert_int_equal(bv_next_set(g.v, size, from), size);
            assert_int_equal(bv_prev_set(g.v, size, from), size);
        }
        check_guards(&g);
    }
}

static void test_scans_from_at_or_past_size(void **state)
{
    (void)state;
    struct gvec g;
    bool ref[MAX_BITS];
    for (size_t size = 1; size <= 3 * WBITS + 1; size++) {
        gvec_init(&g, size, 0);
        for (size_t i = 0; i < size; i++)
            ref[i] = true;
        gvec_load(&g, ref);
        /* next_set from >= size finds nothing even on a full vector. */
        assert_int_equal(bv_next_set(g.v, size, size), size);
        assert_int_equal(bv_next_set(g.v, size, size + 1), size);
        assert_int_equal(bv_next_set(g.v, size, size + WBITS), size);
        assert_int_equal(bv_next_set(g.v, size, SIZE_MAX), size);
        /* prev_set from >= size starts at the last bit. */
        assert_int_equal(bv_prev_set(g.v, size, size), size - 1);
        assert_int_equal(bv_prev_set(g.v, size, size + WBITS), size - 1);
        assert_int_equal(bv_prev_set(g.v, size, SIZE_MAX), size - 1);
        check_guards(&g);
    }
}

static void test_scans_find_highest_and_lowest_bit(void **state)
{
    (void)state;
    struct gvec g;
    for (size_t size = 1; size <= 4 * WBITS + 1; size++) {
        /* Only bit size-1 set. */
        gvec_init(&g, size, 0);
        bv_set(g.v, size - 1);
        assert_int_equal(bv_first_set(g.v, size), size - 1);
        assert_int_equal(bv_last_set(g.v, size), size - 1);
        assert_int_equal(bv_next_set(g.v, size, 0), size - 1);
        assert_int_equal(bv_next_set(g.v, size, size - 1), size - 1);
        assert_int_equal(bv_prev_set(g.v, size, size - 1), size - 1);
        assert_int_equal(bv_prev_set(g.v, size, SIZE_MAX), size - 1);
        assert_int_equal(bv_count(g.v, size), 1);
        assert_false(bv_none(g.v, size));
        if (size > 1)
            assert_int_equal(bv_prev_set(g.v, size, size - 2), size);
        /* Only bit 0 set. */
        gvec_init(&g, size, 0);
        bv_set(g.v, 0);
        assert_int_equal(bv_first_set(g.v, size), 0);
        assert_int_equal(bv_last_set(g.v, size), 0);
        assert_int_equal(bv_prev_set(g.v, size, size - 1), 0);
        assert_int_equal(bv_prev_set(g.v, size, 0), 0);
        assert_int_equal(bv_next_set(g.v, size, 1), size);
        assert_int_equal(bv_count(g.v, size), 1);
        assert_false(bv_none(g.v, size));
        /* Full vector. */
        gvec_init(&g, size, 0);
        bv_setall(g.v, size);
        assert_int_equal(bv_first_set(g.v, size), 0);
        assert_int_equal(bv_last_set(g.v, size), size - 1);
        assert_int_equal(bv_count(g.v, size), size);
        check_guards(&g);
    }
}

static void test_scans_single_bit_all_positions(void **state)
{
    (void)state;
    struct gvec g;
    const size_t max_size = 2 * WBITS + 3 > 70 ? 2 * WBITS + 3 : 70;
    for (size_t size = 1; size <= max_size; size++) {
        for (size_t p = 0; p < size; p++) {
            gvec_init(&g, size, 0);
            bv_set(g.v, p);
            for (size_t from = 0; from <= size + 1; from++) {
                size_t want_next = from <= p ? p : size;
                size_t clamped = from < size ? from : size - 1;
                size_t want_prev = clamped >= p ? p : size;
                assert_int_equal(bv_next_set(g.v, size, from), want_next);
                assert_int_equal(bv_prev_set(g.v, size, from), want_prev);
            }
            assert_int_equal(bv_first_set(g.v, size), p);
            assert_int_equal(bv_last_set(g.v, size), p);
            assert_int_equal(bv_count(g.v, size), 1);
            assert_false(bv_none(g.v, size));
        }
    }
}

/* Bits past `size` (padding) are outside the vector: scans and counts ignore
 * them even if a caller set them. */
static void test_scans_ignore_padding(void **state)
{
    (void)state;
    struct gvec g;
    for (size_t size = 1; size <= 3 * WBITS; size++) {
        if (size % WBITS == 0)
            continue;
        gvec_init(&g, size, 0);
        g.v[g.nwords - 1] = naive_span(size % WBITS, WBITS - 1);
        assert_int_equal(bv_first_set(g.v, size), size);
        assert_int_equal(bv_next_set(g.v, size, size - 1), size);
        assert_int_equal(bv_last_set(g.v, size), size);
        assert_int_equal(bv_prev_set(g.v, size, SIZE_MAX), size);
        assert_int_equal(bv_prev_set(g.v, size, size), size);
        assert_int_equal(bv_prev_set(g.v, size, size + 1), size);
        assert_int_equal(bv_count(g.v, size), 0);
        assert_true(bv_none(g.v, size));
        bv_set(g.v, size - 1);
        assert_int_equal(bv_last_set(g.v, size), size - 1);
        assert_int_equal(bv_prev_set(g.v, size, size), size - 1);
        assert_int_equal(bv_count(g.v, size), 1);

        /* Only the highest padding bit: a scan must not return it. */
        gvec_init(&g, size, 0);
        g.v[g.nwords - 1] = naive_bit(WBITS - 1);
        assert_int_equal(bv_first_set(g.v, size), size);
        assert_int_equal(bv_next_set(g.v, size, 0), size);
        assert_int_equal(bv_last_set(g.v, size), size);
        assert_int_equal(bv_prev_set(g.v, size, size), size);
        assert_int_equal(bv_count(g.v, size), 0);
        assert_true(bv_none(g.v, size));
        check_guards(&g);
    }
}

static void test_count_and_none(void **state)
{
    (void)state;
    struct gvec g;
    bool ref[MAX_BITS];
    g_rng.s = 2024;
    for (size_t size = 0; size <= MAX_BITS; size++) {
        gvec_init(&g, size, 0);
        bv_setall(g.v, size);
        assert_int_equal(bv_count(g.v, size), size);
        assert_true(bv_none(g.v, size) == (size == 0));
        bv_clearall(g.v, size);
        assert_int_equal(bv_count(g.v, size), 0);
        assert_true(bv_none(g.v, size));
        for (int round = 0; round < 4; round++) {
            size_t density = rng_below(&g_rng, 4);
            for (size_t i = 0; i < size; i++)
                ref[i] = rng_below(&g_rng, 4) < density;
            gvec_load(&g, ref);
            size_t want = ref_count(ref, size);
            assert_int_equal(bv_count(g.v, size), want);
            assert_true(bv_none(g.v, size) == (want == 0));
        }
        check_guards(&g);
    }
}

/* ---- Randomized differential test ----------------------------------------- */

static size_t ops_per_size(void)
{
    const char *s = getenv("ANALLOC_OPS");
    if (s && *s)
        return (size_t)strtoul(s, NULL, 0);
    s = getenv("ANALLOC_QUICK");
    return (s && *s && strcmp(s, "0") != 0) ? 60 : 200;
}

/* A random bit index in [0, size] or a little beyond, for scans. */
static size_t random_from(size_t size)
{
    switch (rng_below(&g_rng, 8)) {
    case 0: return size;
    case 1: return size + rng_below(&g_rng, 2 * WBITS + 1);
    case 2: return SIZE_MAX - rng_below(&g_rng, 2);
    default: return size ? rng_below(&g_rng, size) : 0;
    }
}

static void test_random_differential(void **state)
{
    (void)state;
    seed_differential();
    const size_t ops = ops_per_size();
    struct gvec g;
    bool ref[MAX_BITS];
    for (size_t size = 0; size <= MAX_BITS; size++) {
        gvec_init(&g, size, 0);
        for (size_t i = 0; i < size; i++)
            ref[i] = (rng_next(&g_rng) & 1u) != 0;
        gvec_load(&g, ref);
        for (size_t k = 0; k < ops; k++) {
            unsigned op = (unsigned)rng_below(&g_rng, 20);
            size_t a = size ? rng_below(&g_rng, size) : 0;
            size_t from = random_from(size);
            size_t got = 0, want = 0;
            bool query = false;
            switch (op) {
            case 0: case 1:
                if (!size) continue;
                bv_set(g.v, a); ref[a] = true;
                break;
            case 2: case 3:
                if (!size) continue;
                bv_clear(g.v, a); ref[a] = false;
                break;
            case 4:
                if (!size) continue;
                BV_SET(g.v, a); ref[a] = true;
                break;
            case 5:
                if (!size) continue;
                BV_CLEAR(g.v, a); ref[a] = false;
                break;
            case 6: {
                size_t start = rng_below(&g_rng, size + 1);
                size_t count = rng_below(&g_rng, size - start + 1);
                bv_set_range(g.v, start, count);
                for (size_t i = start; i < start + count; i++) ref[i] = true;
                break;
            }
            case 7: {
                size_t start = rng_below(&g_rng, size + 1);
                size_t count = rng_below(&g_rng, size - start + 1);
                bv_clear_range(g.v, start, count);
                for (size_t i = start; i < start + count; i++) ref[i] = false;
                break;
            }
            case 8:
                if (rng_below(&g_rng, 4)) continue; /* keep vectors interesting */
                bv_setall(g.v, size);
                for (size_t i = 0; i < size; i++) ref[i] = true;
                break;
            case 9:
                if (rng_below(&g_rng, 4)) continue;
                bv_clearall(g.v, size);
                for (size_t i = 0; i < size; i++) ref[i] = false;
                break;
            case 10:
                bv_toggleall(g.v, size);
                for (size_t i = 0; i < size; i++) ref[i] = !ref[i];
                break;
            case 11:
                if (!size) continue;
                query = true;
                got = bv_test(g.v, a) != 0;
                want = ref[a];
                if (bv_test(g.v, a) != (ref[a] ? naive_bit(a % WBITS) : 0))
                    fail_msg("seed=%llu size %zu: bv_test(%zu) wrong",
                             (unsigned long long)test_seed, size, a);
                if (((BV_TYPE)BV_TEST(g.v, a) != 0) != ref[a])
                    fail_msg("seed=%llu size %zu: BV_TEST(%zu) wrong",
                             (unsigned long long)test_seed, size, a);
                break;
            case 12: case 13:
                query = true;
                got = bv_next_set(g.v, size, from);
                want = ref_next(ref, size, from);
                break;
            case 14: case 15:
                query = true;
                got = bv_prev_set(g.v, size, from);
                want = ref_prev(ref, size, from);
                break;
            case 16:
                query = true;
                got = bv_first_set(g.v, size);
                want = ref_next(ref, size, 0);
                break;
            case 17:
                query = true;
                got = bv_last_set(g.v, size);
                want = size ? ref_prev(ref, size, size - 1) : 0;
                break;
            case 18:
                query = true;
                got = bv_count(g.v, size);
                want = ref_count(ref, size);
                break;
            default:
                query = true;
                got = bv_none(g.v, size);
                want = ref_count(ref, size) == 0;
                break;
            }
            if (query) {
                if (got != want)
                    fail_msg("seed=%llu size %zu op %u (from %zu, bit %zu): got %zu, want %zu",
                             (unsigned long long)test_seed, size, op, from, a, got, want);
            } else {
                check_matches(&g, ref);
            }
        }
        check_matches(&g, ref);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bv_bits_and_types),
        cmocka_unit_test(test_builtin_selection),
        cmocka_unit_test(test_bv_size_and_declare),
        cmocka_unit_test(test_index_bit_mask_small),
        cmocka_unit_test(test_index_bit_mask_int_arguments),
        cmocka_unit_test(test_index_bit_mask_large),
        cmocka_unit_test(test_set_clear_test_single_bits),
        cmocka_unit_test(test_set_clear_test_int_arguments),
        cmocka_unit_test(test_macros_set_clear_test),
        cmocka_unit_test(test_macro_bv_test_is_expression),
        cmocka_unit_test(test_setall_clearall),
        cmocka_unit_test(test_toggleall_inverts),
        cmocka_unit_test(test_ctz32_clz32_popcount32),
        cmocka_unit_test(test_word_helpers),
        cmocka_unit_test(test_mask_from_through),
        cmocka_unit_test(test_set_clear_range_exhaustive),
        cmocka_unit_test(test_set_clear_range_word_boundaries),
        cmocka_unit_test(test_scans_on_empty_vector),
        cmocka_unit_test(test_scans_from_at_or_past_size),
        cmocka_unit_test(test_scans_find_highest_and_lowest_bit),
        cmocka_unit_test(test_scans_single_bit_all_positions),
        cmocka_unit_test(test_scans_ignore_padding),
        cmocka_unit_test(test_count_and_none),
        cmocka_unit_test(test_random_differential),
    };
    return cmocka_run_group_tests_name("bitvector (BV_TYPE " BV_TYPE_NAME_ ")", tests, NULL, NULL);
}
