/*
 * opcost.c - instructions per call of each operation, counted by callgrind
 * (bench/opcost.sh runs it; `make opcost`).
 *
 * One allocator over 2^16 pages of 4 KiB at an address range nobody maps
 * (external metadata), brought to a steady mixed state like the benchmark's
 * W2: blocks of 1 to 64 pages, about half the arena live.  Then each section
 * calls one operation CALLS times (with whatever undoes it, counted apart),
 * between CALLGRIND_ZERO_STATS and CALLGRIND_DUMP_STATS_AT(name).  The script
 * adds up the calls into analloc_* functions from outside the library, so
 * only instructions inside the library's public functions (and what they
 * call) are counted, never the harness.  The program prints, per section,
 * the name and the number of calls; the script divides.  Without
 * valgrind/callgrind.h it only runs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analloc.h"

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif
#ifndef HAVE_CALLGRIND
#define CALLGRIND_ZERO_STATS ((void)0)
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

#define LOG2_PAGES 16u
#define PAGE 4096u
#define CALLS 20000u
#define LIVE_MAX 20000u

#if UINTPTR_MAX > 0xffffffffu
#define BASE ((uintptr_t)0x100000000000ull) /* never mapped */
#else
#define BASE ((uintptr_t)0x40000000u) /* 256 MiB arena at 1 GiB: never touched */
#endif

static uint64_t rng_state = 0x0c05750c05750c05ull;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static struct analloc A;
static void *live[LIVE_MAX];
static size_t nlive;

/* Sizes of 1 to 64 pages, order k with probability about 2^-(k+1). */
static size_t mixed_size(void)
{
    unsigned k = 0;
    while (k < 6 && (rnd() & 1u))
        k++;
    return (size_t)PAGE << k;
}

static void fill_half(void)
{
    size_t pages = 0;
    while (pages < ((size_t)3 << LOG2_PAGES) / 4u && nlive < LIVE_MAX) {
        size_t size = mixed_size();
        void *p = analloc_alloc(&A, size);
        if (p == NULL)
            break;
        live[nlive++] = p;
        pages += size / PAGE;
    }
    while (analloc_free_bytes(&A) < ((size_t)PAGE << LOG2_PAGES) / 2u && nlive > 0) {
        size_t i = (size_t)(rnd() % nlive);
        analloc_free(&A, live[i]);
        live[i] = live[--nlive];
    }
}

static void section(const char *name, size_t calls)
{
    CALLGRIND_DUMP_STATS_AT(name);
    printf("%s %zu\n", name, calls);
}

static void nolock(void *ctx) { (void)ctx; }

/*
 * The worst single operations, each on an allocator brought to the state
 * that makes it longest, counted alone (one call per section):
 *  - a request with every cache list full and no free block of its size:
 *    it first merges every cached block (analloc_drain), and each of them
 *    merges as far up as it goes, since the blocks of each order lie side
 *    by side;
 *  - the first allocation of an empty arena: it splits the one block of the
 *    top order down to a page, and takes a quarter list more (the refill);
 *  - a free into a full list: a quarter of it merges (the spill), each
 *    block with its free buddy;
 *  - a free without the cache that merges from a page to the top order.
 */
static struct analloc W;
static void *wblocks[1u << LOG2_PAGES];

static void worst_setup(void *wmeta, size_t need)
{
    if (analloc_init(&W, (void *)BASE, (size_t)PAGE << LOG2_PAGES, PAGE, wmeta, need) != 0) {
        fprintf(stderr, "opcost: setup failed\n");
        exit(1);
    }
}

static void worst_cases(void *wmeta, size_t need)
{
    struct analloc_stats st;
    st.size = sizeof st;

    /* The first allocation of an empty arena. */
    worst_setup(wmeta, need);
    CALLGRIND_ZERO_STATS;
    void *first = analloc_alloc(&W, PAGE);
    section("worst:first_alloc(split_from_the_top+refill)", 1);
    (void)first;

    /* Every list full, the rest of the arena in single pages, then a request
     * for the whole arena: drain and fail. */
    worst_setup(wmeta, need);
    analloc_stats(&W, &st);
    unsigned orders = st.cache_orders;
    size_t n = 0, cap[64];
    for (unsigned k = orders; k-- > 0;) {
        cap[k] = (size_t)st.cache_slots >> (k / 2u); /* the list's capacity: src/layout.h */
        for (size_t i = 0; i < cap[k]; i++)
            wblocks[n++] = analloc_alloc(&W, (size_t)PAGE << k);
    }
    size_t listed = n;
    analloc_drain(&W);
    void *p;
    while ((p = analloc_alloc(&W, PAGE)) != NULL)
        wblocks[n++] = p;
    for (size_t i = 0; i < listed; i++)
        analloc_free(&W, wblocks[i]);
    st.size = sizeof st;
    analloc_stats(&W, &st);
    /* A request of 2^9 pages: no free block that large, but the cached
     * pages would hold it, so every cached block merges first.  (A request
     * larger than the free and cached pages together fails at once.) */
    CALLGRIND_ZERO_STATS;
    p = analloc_alloc(&W, (size_t)PAGE << 9);
    section("worst:request_merging_every_cached_block(drain)", 1);
    printf("  (%zu cached blocks merged, the request %s)\n", st.cached_blocks,
           p == NULL ? "failed" : "succeeded");

    /* A full list of pages whose buddies are free: the next free spills. */
    worst_setup(wmeta, need);
    n = 0;
    while ((p = analloc_alloc(&W, PAGE)) != NULL)
        wblocks[n++] = p;
    st.size = sizeof st;
    analloc_stats(&W, &st);
    for (size_t i = 1; i < n && i < 2u * (size_t)st.cache_slots + 2u; i += 2) /* odd pages */
        analloc_free(&W, wblocks[i]);
    analloc_drain(&W); /* the odd pages free in the buddy system */
    for (size_t i = 0; i < 2u * (size_t)st.cache_slots; i += 2) /* even pages: the list fills */
        analloc_free(&W, wblocks[i]);
    CALLGRIND_ZERO_STATS;
    analloc_free(&W, wblocks[2u * (size_t)st.cache_slots]);
    section("worst:free_into_a_full_list(spill)", 1);

    /* No cache: the last page freed merges up to the top. */
    worst_setup(wmeta, need);
    analloc_set_cache(&W, 0);
    n = 0;
    while ((p = analloc_alloc(&W, PAGE)) != NULL)
        wblocks[n++] = p;
    for (size_t i = 1; i < n; i++)
        analloc_free(&W, wblocks[i]);
    CALLGRIND_ZERO_STATS;
    analloc_free(&W, wblocks[0]);
    section("worst:free_merging_to_the_top(no_cache)", 1);
}

/*
 * The two interfaces side by side: a pointer allocator P (analloc_init over
 * an address range nobody maps) and an address-space allocator S
 * (analloc_space_init over [0, the same size)), each of 2^16 pages aligned
 * to their number, brought to the same state by the same seeded sequence
 * (A's: blocks of 1 to 64 pages, about half live), then the same churn
 * through each: free a live block, allocate a page in its place, with the
 * block cache on (the default) and off.  Then on S, exact runs (an
 * alloc_exact + free_exact pair, a ring of runs freed oldest first) against
 * the power-of-two block that the same size gets from analloc_space_alloc
 * and analloc_space_free.
 */
static struct analloc P, S;
static void *plive[LIVE_MAX];
static uint64_t slive[LIVE_MAX];
static size_t pn, sn;

static void setup_fail(const char *what)
{
    fprintf(stderr, "opcost: %s failed\n", what);
    exit(1);
}

static void fill_ptr(void)
{
    size_t pages = 0;
    while (pages < ((size_t)3 << LOG2_PAGES) / 4u && pn < LIVE_MAX) {
        size_t size = mixed_size();
        void *p = analloc_alloc(&P, size);
        if (p == NULL)
            break;
        plive[pn++] = p;
        pages += size / PAGE;
    }
    while (analloc_free_bytes(&P) < ((size_t)PAGE << LOG2_PAGES) / 2u && pn > 0) {
        size_t i = (size_t)(rnd() % pn);
        analloc_free(&P, plive[i]);
        plive[i] = plive[--pn];
    }
}

static void fill_space(void) /* fill_ptr through the space calls */
{
    size_t pages = 0;
    while (pages < ((size_t)3 << LOG2_PAGES) / 4u && sn < LIVE_MAX) {
        size_t size = mixed_size();
        uint64_t at = analloc_space_alloc(&S, size);
        if (at == ANALLOC_NO_ADDR)
            break;
        slive[sn++] = at;
        pages += size / PAGE;
    }
    while (analloc_free_bytes(&S) < ((size_t)PAGE << LOG2_PAGES) / 2u && sn > 0) {
        size_t i = (size_t)(rnd() % sn);
        analloc_space_free(&S, slive[i]);
        slive[i] = slive[--sn];
    }
}

/* The same churn through each interface: the same random draws for both. */
static void churn_both(const char *cache)
{
    char name[64];
    uint64_t draws = rng_state;
    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        size_t j = (size_t)(rnd() % pn);
        analloc_free(&P, plive[j]);
        plive[j] = analloc_alloc(&P, PAGE);
    }
    snprintf(name, sizeof name, "ptr:free+alloc,1_page,cache_%s", cache);
    section(name, CALLS);
    rng_state = draws;
    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        size_t j = (size_t)(rnd() % sn);
        analloc_space_free(&S, slive[j]);
        slive[j] = analloc_space_alloc(&S, PAGE);
    }
    snprintf(name, sizeof name, "space:free+alloc,1_page,cache_%s", cache);
    section(name, CALLS);
}

/* A ring of `ring` runs of `pages` pages, each freed and allocated again in
 * turn, oldest first; then the same with the power-of-two block. */
#define RING_MAX 64u
static void exact_vs_block(unsigned pages, unsigned ring, const char *cache)
{
    char name[80];
    uint64_t run[RING_MAX], size = (uint64_t)pages * PAGE;
    size_t refused = 0;
    for (unsigned r = 0; r < ring; r++)
        if (analloc_space_alloc_exact(&S, size, 0, 0, ANALLOC_SPACE_END, 0, &run[r]) != 0)
            setup_fail("a run's allocation");
    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        uint64_t *at = &run[i % ring];
        analloc_space_free_exact(&S, *at, size);
        refused += analloc_space_alloc_exact(&S, size, 0, 0, ANALLOC_SPACE_END, 0, at) != 0;
    }
    snprintf(name, sizeof name, "space:free_exact+alloc_exact,%u_pages,cache_%s", pages, cache);
    section(name, CALLS);
    for (unsigned r = 0; r < ring; r++)
        analloc_space_free_exact(&S, run[r], size);
    for (unsigned r = 0; r < ring; r++)
        run[r] = analloc_space_alloc(&S, size);
    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        uint64_t *at = &run[i % ring];
        analloc_space_free(&S, *at);
        *at = analloc_space_alloc(&S, size);
        refused += *at == ANALLOC_NO_ADDR;
    }
    snprintf(name, sizeof name, "space:free+alloc,%u_pages(its_block),cache_%s", pages, cache);
    section(name, CALLS);
    for (unsigned r = 0; r < ring; r++)
        analloc_space_free(&S, run[r]);
    if (refused != 0)
        printf("  (%zu requests of %u pages refused)\n", refused, pages);
}

static void interfaces(void)
{
    size_t total = (size_t)PAGE << LOG2_PAGES;
    size_t need = analloc_meta_size(total, PAGE);
    void *pmeta = malloc(need), *smeta = malloc(need);
    if (pmeta == NULL || smeta == NULL ||
        analloc_init(&P, (void *)BASE, total, PAGE, pmeta, need) != 0 ||
        analloc_space_init(&S, 0, total, PAGE, smeta, need) != 0)
        setup_fail("the interfaces' setup");
    struct analloc_stats st;
    st.size = sizeof st;
    analloc_stats(&S, &st);
    unsigned slots = st.cache_slots;
    uint64_t draws = rng_state; /* restored at the end: A's sections draw as without these */
    fill_ptr();
    rng_state = draws;
    fill_space();
    if (pn != sn || analloc_free_bytes(&P) != analloc_free_bytes(&S))
        setup_fail("the same state through both interfaces");
    churn_both("on");
    analloc_set_cache(&P, 0);
    analloc_set_cache(&S, 0);
    churn_both("off");
    printf("  (pointer and space allocators: %zu live blocks each, %zu bytes free)\n", pn,
           analloc_free_bytes(&S));
    analloc_set_cache(&S, slots);
    exact_vs_block(3, 64, "on");
    exact_vs_block(1000, 8, "on");
    analloc_set_cache(&S, 0);
    exact_vs_block(3, 64, "off");
    exact_vs_block(1000, 8, "off");
    free(pmeta);
    free(smeta);
    rng_state = draws;
}

static int count_block(void *ctx, void *block, size_t bytes, unsigned kind)
{
    (void)block;
    (void)bytes;
    (void)kind;
    ++*(size_t *)ctx;
    return 0;
}

int main(void)
{
    size_t total = (size_t)PAGE << LOG2_PAGES;
    size_t need = analloc_meta_size(total, PAGE);
    void *meta = malloc(need);
    if (meta == NULL || analloc_init(&A, (void *)BASE, total, PAGE, meta, need) != 0) {
        fprintf(stderr, "opcost: setup failed\n");
        return 1;
    }
    fill_half();

    /* Each pair section: an operation and the free that undoes it. */
    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        size_t j = (size_t)(rnd() % nlive);
        analloc_free(&A, live[j]);
        live[j] = analloc_alloc(&A, PAGE);
    }
    section("free+alloc,1_page", CALLS);

    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        size_t j = (size_t)(rnd() % nlive);
        analloc_free(&A, live[j]);
        live[j] = analloc_alloc(&A, mixed_size());
    }
    section("free+alloc,1-64_pages", CALLS);

    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        size_t j = (size_t)(rnd() % nlive);
        analloc_free(&A, live[j]);
        live[j] = analloc_alloc_flags(&A, mixed_size(), ANALLOC_LOW);
    }
    section("free+alloc_flags,LOW,1-64_pages", CALLS);

    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        size_t j = (size_t)(rnd() % nlive);
        analloc_free(&A, live[j]);
        live[j] = analloc_alloc_flags(&A, mixed_size(), ANALLOC_HIGH);
    }
    section("free+alloc_flags,HIGH,1-64_pages", CALLS);

    /* A DMA-style window: the first 64 MiB of the arena. */
    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        size_t j = (size_t)(rnd() % nlive);
        analloc_free(&A, live[j]);
        live[j] = analloc_alloc_range(&A, mixed_size(), 0, BASE, BASE + ((uintptr_t)64 << 20), 0);
    }
    section("free+alloc_range,below_64MiB,1-64_pages", CALLS);

    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        size_t j = (size_t)(rnd() % nlive);
        analloc_free(&A, live[j]);
        live[j] = analloc_alloc_aligned(&A, PAGE, (size_t)64 << 10, 0);
    }
    section("free+alloc_aligned,1_page_at_64KiB", CALLS);

    /* The live set now holds NULLs where requests failed: refill them. */
    for (size_t j = 0; j < nlive; j++)
        if (live[j] == NULL)
            live[j] = analloc_alloc(&A, PAGE);

    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++)
        (void)analloc_mem_size(&A, live[i % nlive]);
    section("mem_size", CALLS);

    CALLGRIND_ZERO_STATS;
    size_t done = 0;
    for (unsigned i = 0; i < CALLS; i++) {
        uintptr_t at = BASE + (uintptr_t)(rnd() % ((size_t)1 << LOG2_PAGES)) * PAGE;
        size_t size = (size_t)(1u + rnd() % 16u) * PAGE;
        if (analloc_reserve(&A, at, size) == 0) {
            analloc_release(&A, at, size);
            done++;
        }
    }
    section("reserve+release,1-16_pages(most_refused:busy)", CALLS);
    printf("  (%zu of them reserved and released)\n", done);

    CALLGRIND_ZERO_STATS;
    struct analloc_stats st;
    for (unsigned i = 0; i < CALLS; i++) {
        st.size = sizeof st;
        (void)analloc_stats(&A, &st);
    }
    section("stats", CALLS);

    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++)
        (void)analloc_frag_index(&A, i % (A.depth + 1u));
    section("frag_index", CALLS);

    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++)
        (void)analloc_largest_free(&A);
    section("largest_free", CALLS);

    size_t blocks = 0;
    CALLGRIND_ZERO_STATS;
    (void)analloc_walk(&A, ANALLOC_BLOCK_ALL, count_block, &blocks);
    section("walk,all_kinds", 1);
    printf("  (%zu blocks)\n", blocks);

    CALLGRIND_ZERO_STATS;
    (void)analloc_check(&A);
    section("check", 1);

    interfaces();

    /* The same churn without and then with (empty) lock hooks. */
    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        size_t j = (size_t)(rnd() % nlive);
        analloc_free(&A, live[j]);
        live[j] = analloc_alloc(&A, PAGE);
    }
    section("free+alloc,1_page,again", CALLS);
    analloc_set_lock(&A, nolock, nolock, NULL);
    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        size_t j = (size_t)(rnd() % nlive);
        analloc_free(&A, live[j]);
        live[j] = analloc_alloc(&A, PAGE);
    }
    section("free+alloc,1_page,with_lock_hooks", CALLS);

    /* The same through a per-CPU store (the lock hooks still set). */
    static struct analloc_cpu cpu;
    if (analloc_cpu_attach(&A, &cpu) != 0) {
        fprintf(stderr, "opcost: attach failed\n");
        return 1;
    }
    for (unsigned i = 0; i < CALLS / 4u; i++) { /* warm the store */
        size_t j = (size_t)(rnd() % nlive);
        analloc_cpu_free(&cpu, live[j]);
        live[j] = analloc_cpu_alloc(&cpu, PAGE);
    }
    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        size_t j = (size_t)(rnd() % nlive);
        analloc_cpu_free(&cpu, live[j]);
        live[j] = analloc_cpu_alloc(&cpu, PAGE);
    }
    section("cpu_free+cpu_alloc,1_page", CALLS);
    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) {
        size_t j = (size_t)(rnd() % nlive);
        analloc_cpu_free(&cpu, live[j]);
        live[j] = analloc_cpu_alloc(&cpu, (size_t)(1u << (rnd() % 4u)) * PAGE);
    }
    section("cpu_free+cpu_alloc,1-8_pages", CALLS);
    void *same = analloc_cpu_alloc(&cpu, PAGE);
    CALLGRIND_ZERO_STATS;
    for (unsigned i = 0; i < CALLS; i++) { /* the common path alone: W1's pattern */
        analloc_cpu_free(&cpu, same);
        same = analloc_cpu_alloc(&cpu, PAGE);
    }
    section("cpu_free+cpu_alloc,same_page", CALLS);
    analloc_cpu_free(&cpu, same);
    CALLGRIND_ZERO_STATS;
    analloc_cpu_detach(&cpu);
    section("cpu_detach", 1);
    analloc_set_cache(&A, 128);
    worst_cases(meta, need);
    free(meta);
    return 0;
}
